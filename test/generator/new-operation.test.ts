/**
 * Adding an operation is `npm run build` and one contract() call: in a copy of the repository, one
 * operation is added to the DingTalk spec, the build runs (generate, types, docs site, migration
 * guide, dist), the coverage test names the missing contract() call, and once it is written the
 * coverage, docs and package suites pass with no other edit.
 */
import { execFile, execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type Run } from "../support/repo-copy.js";

let dir = "";
const OPERATION = "getDingIndexHistory";

function run(command: string, args: string[], timeout: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: dir,
        timeout,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, CI: "1", NO_COLOR: "1", FORCE_COLOR: "0" },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) || 1 : 0, stdout, stderr }),
    );
  });
}
const vitest = (files: string[]) =>
  run(path.join(ROOT, "node_modules/.bin/vitest"), ["run", "--typecheck.enabled=false", ...files], 600_000);

/** The spec with one more operation: a copy of getLatestDingIndex under a path of its own. */
function withOperation(spec: string): string {
  const start = spec.indexOf("  /v1.0/contact/dingIndexs:\n");
  const next = spec.slice(start + 1).search(/\n {2}\/v1\.0\//);
  const block = spec.slice(start, next < 0 ? undefined : start + 1 + next + 1);
  const added = block
    .replace("/v1.0/contact/dingIndexs:", "/v1.0/contact/dingIndexs/history:")
    .replace("operationId: getLatestDingIndex", `operationId: ${OPERATION}`)
    .replace(/\n\s+x-sdk-operation: \S+/, "")
    .replace(/summary: .*/, "summary: 钉钉指数历史 (DingTalk index history)");
  return spec.slice(0, start) + added + spec.slice(start);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "imspec-op-"));
  // What a clone has: the tracked files, and node_modules as `npm ci` would leave it.
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" })
    .split("\0")
    .filter(Boolean);
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    try {
      cpSync(path.join(ROOT, file), path.join(dir, file));
    } catch {
      // A tracked file deleted in the working tree.
    }
  }
  symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  const spec = path.join(dir, "specs/dingtalk/openapi.yaml");
  writeFileSync(spec, withOperation(readFileSync(spec, "utf8")));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("adding an operation", () => {
  it("builds with `npm run build` alone", async () => {
    const build = await run("npm", ["run", "build"], 900_000);
    expect(build.stderr + build.stdout).not.toMatch(/\berror\b.*generated\//i);
    expect(build.code, build.stderr.slice(-2000)).toBe(0);
    expect(readFileSync(path.join(dir, "generated/dingtalk/operations.ts"), "utf8")).toContain(
      `${OPERATION}: {`,
    );
  }, 900_000);

  it("the coverage test names the one contract() call to write", async () => {
    const result = await vitest(["test/contract/coverage.test.ts"]);
    expect(result.code).not.toBe(0);
    // Printed inside an assertion diff, where quotes are escaped.
    expect(result.stdout + result.stderr).toMatch(
      new RegExp(`contract\\(current, \\\\?"dingtalk\\\\?", \\\\?"${OPERATION}`),
    );
  }, 600_000);

  it("with that call written, the coverage, docs and package suites pass", async () => {
    const file = path.join(dir, "test/contract/dingtalk-contact.test.ts");
    writeFileSync(
      file,
      `${readFileSync(file, "utf8")}\ndescribe("contact.${OPERATION}", () => {\n  contract(current, "dingtalk", "${OPERATION}", (o) => dt.contact.${OPERATION}({}, o));\n});\n`,
    );
    const result = await vitest([
      "test/contract/coverage.test.ts",
      "test/contract/dingtalk-contact.test.ts",
      "test/docs",
      "test/package",
    ]);
    expect(result.code, (result.stdout + result.stderr).slice(-4000)).toBe(0);
  }, 900_000);
});
