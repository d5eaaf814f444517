/**
 * scripts/generate.mjs, the launcher `npm run generate` runs: it bundles scripts/generate.ts into a
 * cache under node_modules/.cache and runs that under plain Node. Checked in a throwaway copy of the
 * repository: it reads and writes the copy's generated/ (not the bundle's folder, not this
 * repository's), and an edit to any generator module is what runs next, never a stale bundle.
 */
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyRepo, ROOT, type Run } from "../support/repo-copy.js";

function launch(dir: string, args: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(dir, "scripts/generate.mjs"), ...args],
      { cwd: dir, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("node scripts/generate.mjs", () => {
  let repo: ReturnType<typeof copyRepo>;
  beforeAll(() => {
    repo = copyRepo();
  });
  afterAll(() => repo.remove());

  it("is what the generate scripts of package.json run", () => {
    const { scripts } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    const generators = Object.entries(scripts).filter(([name]) => /^generate(:|$)/.test(name));
    expect(generators.length).toBeGreaterThan(1);
    for (const [name, command] of generators) expect(command, name).toMatch(/^node scripts\/generate\.mjs\b/);
  });

  it("--check passes on the committed output, and a run writes the copy's generated/", async () => {
    const check = await launch(repo.dir, ["--check"]);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
    const target = path.join(repo.dir, "generated/dingtalk/schema.ts");
    const expected = readFileSync(target, "utf8");
    rmSync(target);
    const run = await launch(repo.dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("generated/dingtalk/schema.ts");
    expect(readFileSync(target, "utf8")).toBe(expected);
    expect(readFileSync(path.join(ROOT, "generated/dingtalk/schema.ts"), "utf8")).toBe(expected);
  });

  it("runs an edited generator module at once, and the original again once it is restored", async () => {
    // A module deep in the import graph: the header line of every generated TypeScript file.
    const module = path.join(repo.dir, "scripts/steps/header.ts");
    const original = readFileSync(module, "utf8");
    const edited = original.replace("Do not edit:", "Do not edit (edited generator):");
    expect(edited, "the test's edit must change the module").not.toBe(original);
    try {
      writeFileSync(module, edited);
      const run = await launch(repo.dir, ["--check"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("generated/dingtalk/operations.ts");
      expect(run.stderr).toContain("generated/workplus/schema.ts");
    } finally {
      writeFileSync(module, original);
    }
    const run = await launch(repo.dir, ["--check"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("fails on a broken spec with file and line, like the generator run from source", async () => {
    const spec = path.join(repo.dir, "specs/workplus/openapi.yaml");
    const original = readFileSync(spec, "utf8");
    try {
      writeFileSync(spec, original.replace("\npaths:\n", "\npaths:\n  /broken: [unclosed\n"));
      const run = await launch(repo.dir);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/specs\/workplus\/openapi\.yaml:\d+:\d+/);
      expect(run.stderr).toContain("generated/ was not changed");
    } finally {
      writeFileSync(spec, original);
    }
  });
});
