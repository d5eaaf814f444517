import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyRepo, ROOT, runGenerate } from "../support/repo-copy.js";

/** sha256 of every file under generated/, to prove a failed run changed no byte. */
function fingerprint(dir: string): string {
  const hash = createHash("sha256");
  const base = path.join(dir, "generated");
  for (const entry of readdirSync(base, { recursive: true, withFileTypes: true }).sort((a, b) =>
    path.join(a.parentPath, a.name).localeCompare(path.join(b.parentPath, b.name)),
  )) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    hash.update(path.relative(base, file)).update(readFileSync(file));
  }
  return hash.digest("hex");
}

describe("npm run generate", () => {
  let repo: ReturnType<typeof copyRepo>;
  beforeAll(() => {
    repo = copyRepo();
  });
  afterAll(() => repo.remove());

  it("--check passes on the committed output, and a second run changes no byte", async () => {
    const check = await runGenerate(repo.dir, ["--check"]);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
    const before = fingerprint(repo.dir);
    const run = await runGenerate(repo.dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/No changes/);
    expect(fingerprint(repo.dir)).toBe(before);
  });

  it("--check fails and names the stale files after a spec edit, and generate fixes it", async () => {
    const spec = path.join(repo.dir, "specs/workplus/openapi.yaml");
    const original = readFileSync(spec, "utf8");
    try {
      writeFileSync(
        spec,
        original.replace(
          "summary: 应用管理员信息 (List the app's admins)",
          "summary: 应用管理员信息 (List the admins of an app)",
        ),
      );
      const check = await runGenerate(repo.dir, ["--check"]);
      expect(check.code).toBe(1);
      expect(check.stderr).toContain("generated/workplus/operations.ts");
      expect(check.stderr).toContain("Run `npm run generate`");
      const run = await runGenerate(repo.dir);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("generated/workplus/operations.ts");
      expect((await runGenerate(repo.dir, ["--check"])).code).toBe(0);
    } finally {
      writeFileSync(spec, original);
      await runGenerate(repo.dir);
    }
  });

  /** Each case breaks one spec file; generate must fail naming file and line, and leave generated/ alone. */
  const broken: Array<{ name: string; file: string; edit: (text: string) => string; message: RegExp }> = [
    {
      name: "malformed YAML",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) => t.replace(/\npaths:\n/, "\npaths:\n  /broken: [unclosed\n"),
      message: /specs\/dingtalk\/openapi\.yaml:\d+:\d+/,
    },
    {
      name: "a dangling $ref",
      file: "specs/workplus/openapi.yaml",
      edit: (t) =>
        t.replace(
          "$ref: ./components.yaml#/parameters/SourceType",
          "$ref: ./components.yaml#/parameters/NoSuchParameter",
        ),
      message: /specs\/workplus\/openapi\.yaml:\d+:\d+: Can't resolve \$ref/,
    },
    {
      name: "a duplicate operationId",
      file: "specs/workplus/openapi.yaml",
      edit: (t) => t.replace("operationId: listSuperAdmins", "operationId: listAdmins"),
      message: /specs\/workplus\/openapi\.yaml:\d+:\d+: .*(operationId|unique)/i,
    },
    {
      name: "a missing operationId",
      file: "specs/workplus/openapi.yaml",
      edit: (t) => t.replace(/\n\s+operationId: listScopeViews/, ""),
      message: /specs\/workplus\/openapi\.yaml:\d+:\d+: .*operationId/,
    },
    {
      name: "a security scheme the clients cannot send",
      file: "specs/workplus/openapi.yaml",
      edit: (t) =>
        t.replace(
          "      type: apiKey\n      in: query",
          "      type: http\n      scheme: digest\n      in: query",
        ),
      message: /specs\/workplus\/openapi\.yaml:\d+:\d+: Security scheme type "http".*not supported/,
    },
    {
      name: "an unknown token lifetime unit",
      file: "specs/workplus/openapi.yaml",
      edit: (t) => t.replace("unit: ms, epoch: true", "unit: minutes, epoch: true"),
      message:
        /specs\/workplus\/openapi\.yaml:\d+:\d+: x-imspec-token\.0\.expires\.unit must be one of s, ms/,
    },
    {
      name: "a token source naming no operation",
      file: "specs/workplus/openapi.yaml",
      edit: (t) => t.replace("        - operation: getAccessToken", "        - operation: getTokenPlease"),
      message:
        /specs\/workplus\/openapi\.yaml:\d+:\d+: x-imspec-token: no operation has the operationId "getTokenPlease"/,
    },
    {
      name: "a rate limit with an unknown scope",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) => t.replace("scope: app-operation", "scope: planet"),
      message:
        /specs\/dingtalk\/openapi\.yaml:\d+:\d+: x-imspec-rate-limits\.0\.scope must be one of app, app-operation, ip/,
    },
  ];

  for (const { name, file, edit, message } of broken) {
    it(`fails on ${name} with file and line, leaving generated/ untouched`, async () => {
      const target = path.join(repo.dir, file);
      const original = readFileSync(target, "utf8");
      const edited = edit(original);
      expect(edited, "the test's edit must change the spec").not.toBe(original);
      const before = fingerprint(repo.dir);
      try {
        writeFileSync(target, edited);
        const run = await runGenerate(repo.dir);
        expect(run.code).not.toBe(0);
        expect(run.stderr).toMatch(message);
        expect(run.stderr).toContain("generated/ was not changed");
        expect(fingerprint(repo.dir)).toBe(before);
      } finally {
        writeFileSync(target, original);
      }
    });
  }
});

describe("generated output", () => {
  it("starts every file with a line saying it is generated and how to regenerate it", () => {
    const base = path.join(ROOT, "generated");
    const files = readdirSync(base, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const entry of files) {
      const first = readFileSync(path.join(entry.parentPath, entry.name), "utf8").split("\n")[0];
      expect(first, entry.name).toMatch(/Generated by `npm run generate`/);
    }
  });
});

describe("npm run generate -- --watch", () => {
  it("regenerates on a spec change, reports a broken spec and keeps watching", async () => {
    const { spawn } = await import("node:child_process");
    const repo = copyRepo();
    // As `npm run generate:watch` runs it: the launcher, which runs the bundled generator.
    const child = spawn(process.execPath, [path.join(repo.dir, "scripts/generate.mjs"), "--watch"], {
      cwd: repo.dir,
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    /** Waits until the output (after `from`) matches, within a bound. */
    const waitFor = async (pattern: RegExp, from: number, ms = 30_000) => {
      const until = Date.now() + ms;
      while (!pattern.test(out.slice(from))) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; output:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const spec = path.join(repo.dir, "specs/workplus/openapi.yaml");
    const original = readFileSync(spec, "utf8");
    try {
      await waitFor(/watching specs\//, 0);
      let mark = out.length;
      writeFileSync(
        spec,
        original.replace(
          "summary: 应用管理员信息 (List the app's admins)",
          "summary: 应用管理员信息 (List admins)",
        ),
      );
      await waitFor(/generated\/workplus\/operations\.ts[\s\S]*watching specs\//, mark);
      expect(readFileSync(path.join(repo.dir, "generated/workplus/operations.ts"), "utf8")).toContain(
        "(List admins)",
      );
      const before = fingerprint(repo.dir);
      mark = out.length;
      writeFileSync(spec, original.replace("\npaths:\n", "\npaths:\n  /broken: [unclosed\n"));
      await waitFor(/still watching specs\//, mark);
      expect(out.slice(mark)).toMatch(/specs\/workplus\/openapi\.yaml:\d+:\d+/);
      expect(fingerprint(repo.dir)).toBe(before);
      mark = out.length;
      writeFileSync(spec, original);
      await waitFor(/generated\/workplus\/operations\.ts[\s\S]*watching specs\//, mark);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill();
      repo.remove();
    }
  });
});
