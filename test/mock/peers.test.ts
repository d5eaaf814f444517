/**
 * ajv, ajv-formats and openapi-backend are optional peers: `imspec mock --help` works without them,
 * and `imspec mock` says which packages to install. The CLI runs from a copy of src/mock (with the
 * src/core it imports) and generated/ in a folder where none of them can be resolved.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ROOT } from "../support/specs.js";

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "imspec-peers-"));
  mkdirSync(path.join(dir, "src"), { recursive: true });
  for (const folder of ["mock", "core"])
    cpSync(path.join(ROOT, "src", folder), path.join(dir, "src", folder), { recursive: true });
  for (const entry of readdirSync(path.join(ROOT, "generated"), { withFileTypes: true })) {
    if (entry.isDirectory())
      cpSync(
        path.join(ROOT, "generated", entry.name, "openapi.json"),
        path.join(dir, "generated", entry.name, "openapi.json"),
      );
  }
  cpSync(path.join(ROOT, "generated", "manifest.json"), path.join(dir, "generated", "manifest.json"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // tsx is resolved from the repository (the working directory); everything the CLI imports, from the copy.
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(dir, "src", "mock", "cli.ts"), ...args],
      { cwd: ROOT, timeout: 20_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

describe("without ajv, ajv-formats and openapi-backend", () => {
  test("the copy cannot resolve them (or this test would prove nothing)", async () => {
    const probe = await new Promise<string>((resolve) => {
      execFile(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          'import("openapi-backend").then(() => console.log("found"), (e) => console.log(e.code))',
        ],
        { cwd: dir },
        (_error, stdout) => resolve(stdout.trim()),
      );
    });
    expect(probe).toBe("ERR_MODULE_NOT_FOUND");
  });

  test("imspec mock --help prints the usage", async () => {
    const run = await cli(["--help"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: imspec mock /);
    expect(run.stdout).toContain("ajv, ajv-formats and openapi-backend");
  });

  test("imspec mock says which packages to install", async () => {
    const run = await cli(["mock", "--port", "0", "--no-watch"]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      "cannot start the mock server: the mock server needs the optional peer dependencies ajv, ajv-formats, openapi-backend",
    );
    expect(run.stderr).toContain('npm install --save-dev ajv ajv-formats "openapi-backend@>=5.20.1 <5.21.0"');
    expect(run.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND| {4}at /);
  });
});
