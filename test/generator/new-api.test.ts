/**
 * A new API is a spec, one redocly.yaml entry and a profile of a few lines: in a copy of the
 * repository, a made-up API (an http bearer scheme, an error body of its own) is added that way,
 * generated, and called through the mock. The contract-coverage test then demands its contract()
 * calls, and passes once they are written: the one hand step.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyRepo, ROOT, type Run, runGenerate } from "../support/repo-copy.js";

const FIXTURE = path.join(ROOT, "test/fixtures/new-api");
let repo: ReturnType<typeof copyRepo>;

function vitest(dir: string, files: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      path.join(ROOT, "node_modules/.bin/vitest"),
      ["run", "--typecheck.enabled=false", ...files],
      {
        cwd: dir,
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, CI: "1", NO_COLOR: "1", FORCE_COLOR: "0" },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  // Named with a "-" and a digit, as the registry allows: the entry point, the mock's URL and the
  // contract suite's error class (ChatterV2Error) must all follow such a name.
  repo = copyRepo(["src", "test", "vitest.config.ts"]);
  mkdirSync(path.join(repo.dir, "specs/chatter"), { recursive: true });
  mkdirSync(path.join(repo.dir, "src/chatter-v2"), { recursive: true });
  cpSync(path.join(FIXTURE, "openapi.yaml"), path.join(repo.dir, "specs/chatter/openapi.yaml"));
  cpSync(path.join(FIXTURE, "index.ts"), path.join(repo.dir, "src/chatter-v2/index.ts"));
  const registry = path.join(repo.dir, "redocly.yaml");
  writeFileSync(
    registry,
    `${readFileSync(registry, "utf8")}  chatter-v2:\n    root: specs/chatter/openapi.yaml\n`,
  );
}, 60_000);
afterAll(() => repo?.remove());

describe("adding an API", () => {
  it("takes a profile of at most 40 lines", () => {
    expect(
      readFileSync(path.join(FIXTURE, "index.ts"), "utf8").trimEnd().split("\n").length,
    ).toBeLessThanOrEqual(40);
  });

  it("generates its table and profile: bearer auth and its own error fields", async () => {
    const run = await runGenerate(repo.dir);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const table = readFileSync(path.join(repo.dir, "generated/chatter-v2/operations.ts"), "utf8");
    expect(table).toMatch(/in: "header",\s+name: "authorization",\s+scheme: "Bearer"/);
    expect(table).toMatch(/code: \["fault"\],\s+message: \["detail"\],\s+requestId: \["trace"\]/);
  }, 120_000);

  it("the coverage test names the missing contract() calls", async () => {
    const run = await vitest(repo.dir, ["test/contract/coverage.test.ts"]);
    expect(run.code).not.toBe(0);
    // Printed inside an assertion diff, where quotes are escaped.
    expect(run.stdout + run.stderr).toMatch(/contract\(current, \\?"chatter-v2\\?", \\?"getRoom\\?"/);
  }, 240_000);

  it("with them written, the contract suite passes through the mock: bearer sent, errors typed", async () => {
    for (const name of ["chatter-v2-auth", "chatter-v2-rooms"])
      cpSync(
        path.join(FIXTURE, `${name}.contract.ts`),
        path.join(repo.dir, "test/contract", `${name}.test.ts`),
      );
    await passes([
      "test/contract/coverage.test.ts",
      "test/contract/chatter-v2-auth.test.ts",
      "test/contract/chatter-v2-rooms.test.ts",
    ]);
  }, 240_000);

  it("the suites that run over every API of the registry pass with it too", async () => {
    // Broken answers for each operation, the mock's routing message, its printed token request: none
    // may assume the three APIs, their order, their token field or examples the checklist does not ask for.
    await passes([
      "test/contract/transport.test.ts",
      "test/contract/mock-server.test.ts",
      "test/mock/odd-requests.test.ts",
    ]);
  }, 240_000);

  /** Every one of `files` passes in the copy with the API added. */
  async function passes(files: string[]): Promise<void> {
    const run = await vitest(repo.dir, files);
    expect(run.stdout + run.stderr).toMatch(new RegExp(`Test Files\\s+${files.length} passed`));
    expect(run.code).toBe(0);
  }
});
