import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * A throwaway copy of the parts of the repository the generator reads and writes (specs, scripts,
 * redocly.yaml, generated/), with node_modules linked in. Tests break specs here, never in the
 * working tree.
 */
export function copyRepo(extra: readonly string[] = []): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), "imspec-repo-"));
  const parts = ["specs", "scripts", "generated", "redocly.yaml", "package.json", "tsconfig.json", ...extra];
  for (const part of parts) {
    cpSync(path.join(ROOT, part), path.join(dir, part), { recursive: true });
  }
  symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the generator (as `npm run generate` does) in `dir`; `env` is added to the environment. */
export function runGenerate(
  dir: string,
  args: string[] = [],
  timeoutMs = 60_000,
  env: Record<string, string> = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      path.join(ROOT, "node_modules/.bin/tsx"),
      [path.join(dir, "scripts/generate.ts"), ...args],
      { cwd: dir, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
