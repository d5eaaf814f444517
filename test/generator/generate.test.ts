import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyRepo, ROOT, runGenerate } from "../support/repo-copy.js";
import { APIS } from "../support/specs.js";

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
    // src/ too: the registry refuses an API named after one of its folders that is no API's.
    repo = copyRepo(["src"]);
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

  it("--check of a step that writes nothing says it compared nothing, not that generated/ is up to date", async () => {
    const file = path.join(repo.dir, "generated", APIS[0] as string, "operations.ts");
    const original = readFileSync(file, "utf8");
    try {
      writeFileSync(file, `${original}// stale\n`);
      const bundle = await runGenerate(repo.dir, ["--check", "--step", "bundle"]);
      expect(bundle.code).toBe(0);
      expect(bundle.stdout).toContain(
        "The bundle step passed; it writes nothing in generated/, so nothing was compared.",
      );
      expect(bundle.stdout).not.toContain("up to date");
      const run = await runGenerate(repo.dir, ["--step", "bundle"]);
      expect(run.code).toBe(0);
      expect(run.stdout.trim()).toBe("The bundle step passed; it writes nothing in generated/.");
      expect((await runGenerate(repo.dir, ["--check"])).code).toBe(1);
    } finally {
      writeFileSync(file, original);
    }
  });

  it("--api NAME regenerates that API alone: the manifest keeps the others, and --check agrees", async () => {
    for (const api of APIS) {
      const check = await runGenerate(repo.dir, ["--check", "--api", api]);
      expect(check.stderr, api).toBe("");
      expect(check.code).toBe(0);
    }
    const api = APIS.at(-1) as string;
    const spec = path.join(repo.dir, "specs", api, "openapi.yaml");
    const original = readFileSync(spec, "utf8");
    const before = fingerprint(repo.dir);
    try {
      // A comment: the spec's hash changes, and nothing else.
      writeFileSync(spec, `${original}# edited\n`);
      const run = await runGenerate(repo.dir, ["--api", api]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/Updated 1 file\(s\):\s+generated\/manifest\.json\s*$/);
      const manifest = JSON.parse(readFileSync(path.join(repo.dir, "generated/manifest.json"), "utf8"));
      expect(Object.keys(manifest.apis)).toEqual([...APIS]);
      const full = await runGenerate(repo.dir, ["--check"]);
      expect(full.stderr).toBe("");
      expect(full.code).toBe(0);
    } finally {
      writeFileSync(spec, original);
      await runGenerate(repo.dir);
    }
    expect(fingerprint(repo.dir)).toBe(before);

    // Without a manifest to keep the others' entries from, --api refuses rather than drop them.
    const manifest = path.join(repo.dir, "generated/manifest.json");
    const kept = readFileSync(manifest, "utf8");
    try {
      writeFileSync(manifest, "{ not json");
      const run = await runGenerate(repo.dir, ["--api", api]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        /generated\/manifest\.json cannot be read, so --api cannot keep the other APIs' entries/,
      );
      expect(readFileSync(manifest, "utf8")).toBe("{ not json");
    } finally {
      writeFileSync(manifest, kept);
    }
  });

  it("refuses a $ref to a URL at its file and line, without fetching it", async () => {
    const { createServer } = await import("node:http");
    const spec = path.join(repo.dir, "specs/workplus/openapi.yaml");
    const components = readFileSync(path.join(repo.dir, "specs/workplus/components.yaml"), "utf8");
    let requests = 0;
    const server = createServer((_request, response) => {
      requests++;
      response.end(components);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const original = readFileSync(spec, "utf8");
    const before = fingerprint(repo.dir);
    try {
      writeFileSync(
        spec,
        original.replace(
          "$ref: ./components.yaml#/parameters/EmployeeName",
          `$ref: http://127.0.0.1:${port}/components.yaml#/parameters/EmployeeName`,
        ),
      );
      const run = await runGenerate(repo.dir);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(
        /specs\/workplus\/openapi\.yaml:\d+:\d+: the \$ref at #\/paths\/\S+ is a URL \(http:\/\/127\.0\.0\.1:\d+\/components\.yaml#/,
      );
      expect(run.stderr, "a user's mistake, not a crash: no stack trace").not.toMatch(/^\s+at /m);
      expect(run.stderr).toContain("generated/ was not changed");
      expect(requests, "the generator must not reach the network").toBe(0);
      expect(fingerprint(repo.dir)).toBe(before);
    } finally {
      writeFileSync(spec, original);
      server.close();
    }
  });

  /**
   * With `obstruct` in place (it returns what undoes it), an edit's generate fails with `message`,
   * says generated/ was not changed, and it is not: no byte, no temporary file.
   */
  async function failsLeavingGenerated(obstruct: () => () => void, message: RegExp) {
    const spec = path.join(repo.dir, "specs/workplus/openapi.yaml");
    const original = readFileSync(spec, "utf8");
    const undo = obstruct();
    const before = fingerprint(repo.dir);
    try {
      writeFileSync(spec, original.replace("(List the app's admins)", "(List the admins of an app)"));
      const run = await runGenerate(repo.dir);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(message);
      expect(run.stderr, "an I/O failure, reported, not a crash").not.toMatch(/^\s+at /m);
      expect(run.stderr).toContain("generated/ was not changed");
      expect(fingerprint(repo.dir)).toBe(before);
      expect(readdirSync(path.join(repo.dir, "generated"), { recursive: true })).not.toContainEqual(
        expect.stringMatching(/\.tmp$/),
      );
    } finally {
      writeFileSync(spec, original);
      undo();
    }
  }

  it("writes nothing when one output cannot be written, and says which and why", async () => {
    // A file where the API's folder should be: its outputs cannot be written, as in a read-only
    // folder (which does not stop root, who may run the tests). generated/manifest.json, which
    // comes first and can be written, must not be, or it would vouch for outputs never written.
    await failsLeavingGenerated(() => {
      const folder = path.join(repo.dir, "generated/workplus");
      const saved = path.join(repo.dir, "workplus.saved");
      renameSync(folder, saved);
      writeFileSync(folder, "not a folder\n");
      return () => {
        rmSync(folder, { force: true });
        renameSync(saved, folder);
      };
    }, /generated\/workplus\/\S+: cannot be written \(E[A-Z]+/);
  });

  it("an output that cannot be replaced: those replaced before it are put back, no temporary file is left, generated/ is as it was", async () => {
    // A folder where an output file should be: its temporary file is written, its rename fails
    // (as a file another process holds open on Windows would), after outputs listed before it.
    await failsLeavingGenerated(() => {
      const schema = path.join(repo.dir, "generated/workplus/schema.ts");
      const saved = path.join(repo.dir, "schema.saved");
      renameSync(schema, saved);
      mkdirSync(path.join(schema, "in-the-way"), { recursive: true });
      return () => {
        rmSync(schema, { recursive: true, force: true });
        renameSync(saved, schema);
      };
    }, /generated\/workplus\/schema\.ts: cannot be replaced \(E[A-Z]+.*\); put back as they were: generated\/manifest\.json/);
  });

  /**
   * Runs generate after a spec edit with `fault` (CommonJS run before the generator, with `fsp`,
   * node:fs/promises, in scope) patching the file system calls it names: what another run, a
   * signal or a busy file would do at that moment, at that moment.
   */
  async function generateWithFault(fault: string) {
    const spec = path.join(repo.dir, "specs/workplus/openapi.yaml");
    const original = readFileSync(spec, "utf8");
    const preload = path.join(repo.dir, "fault.cjs");
    writeFileSync(
      preload,
      `const fsp = require("node:fs/promises");\n${fault}\nrequire("node:module").syncBuiltinESMExports();\n`,
    );
    try {
      writeFileSync(spec, original.replace("(List the app's admins)", "(List the admins of an app)"));
      return await runGenerate(repo.dir, [], 60_000, { NODE_OPTIONS: `--require ${preload}` });
    } finally {
      writeFileSync(spec, original);
      rmSync(preload, { force: true });
    }
  }

  /** A fault that runs `what` (statements, `await` allowed) once, before the run's first rename. */
  const atFirstRename = (what: string) => `
      const rename = fsp.rename;
      let done = false;
      fsp.rename = async (from, to) => {
        if (!done) {
          done = true;${what}
        }
        return rename(from, to);
      };`;

  const temporaries = () =>
    readdirSync(path.join(repo.dir, "generated"), { recursive: true }).filter((f) =>
      /\.tmp$/.test(String(f)),
    );

  it.each([
    [
      "a SIGINT while outputs are replaced waits for the last one: no temporary file, no half-written generated/",
      1,
    ],
    ["a signal delivered twice at once (the terminal's and a wrapper's) is still held", 2],
  ])("%s", async (_name, signals) => {
    const run = await generateWithFault(
      atFirstRename(`
          for (let i = 0; i < ${signals}; i++) process.kill(process.pid, "SIGINT");
          await new Promise((resolve) => setTimeout(resolve, 100));`),
    );
    expect(run.code, run.stderr).not.toBe(0);
    expect(temporaries()).toEqual([]);
    expect(run.stderr).toMatch(/^generate: stopped \(SIGINT\) once every output was in place/m);
    // Every output of the edited spec is in place: the run finished its writes before ending.
    const check = await runGenerate(repo.dir, ["--check"]);
    expect(check.stderr).toMatch(/generated\/workplus\/operations\.ts/);
    expect(readFileSync(path.join(repo.dir, "generated/workplus/operations.ts"), "utf8")).toContain(
      "(List the admins of an app)",
    );
    const restore = await runGenerate(repo.dir);
    expect(restore.code, restore.stderr).toBe(0);
  });

  it("a second Ctrl-C a moment later ends a run whose write hangs", async () => {
    const started = Date.now();
    const run = await generateWithFault(
      atFirstRename(`
          process.kill(process.pid, "SIGINT");
          await new Promise((resolve) => setTimeout(resolve, 700));
          process.kill(process.pid, "SIGINT");
          // A write that hangs (bounded here, so that a run still holding ends by itself).
          await new Promise((resolve) => setTimeout(resolve, 40_000));`),
    );
    expect(run.code, run.stderr).not.toBe(0);
    // Ended by the second signal, not once the hanging write came back.
    expect(Date.now() - started).toBeLessThan(30_000);
    // Its temporary files gone with it, and what it left said.
    expect(temporaries()).toEqual([]);
    expect(run.stderr).toMatch(/^generate: stopped before replacing any output: generated\/ is as it was$/m);
    const restore = await runGenerate(repo.dir);
    expect(restore.code, restore.stderr).toBe(0);
  }, 90_000);

  it("a spec file gone before the manifest hashes it (a checkout during the run) is named, no stack trace", async () => {
    const before = fingerprint(repo.dir);
    // Read once by preflight; the second read is the manifest's, after bundling.
    const run = await generateWithFault(`
      const fs = require("node:fs");
      const read = fs.readFileSync;
      let reads = 0;
      fs.readFileSync = function (file, ...rest) {
        if (String(file).endsWith("specs/workplus/components.yaml") && ++reads === 2)
          throw Object.assign(new Error("ENOENT: no such file or directory, open '" + file + "'"), { code: "ENOENT" });
        return read.call(this, file, ...rest);
      };`);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /^specs\/workplus\/components\.yaml: read by this run, then no longer readable \(ENOENT\): it changed during the run; run generate again$/m,
    );
    expect(run.stderr, "a file that changed, not a crash").not.toMatch(/^\s+at /m);
    expect(run.stderr).toContain("generated/ was not changed");
    expect(fingerprint(repo.dir)).toBe(before);
  });

  it("the files of an API no longer in redocly.yaml are removed with their folder, and reported as removed", async () => {
    const gone = path.join(repo.dir, "generated/retired");
    mkdirSync(path.join(gone, "deeper"), { recursive: true });
    writeFileSync(path.join(gone, "schema.ts"), "// no longer generated\n");
    writeFileSync(path.join(gone, "deeper/operations.ts"), "// no longer generated\n");
    const run = await runGenerate(repo.dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^Removed 2 file\(s\) no longer generated:\n {2}generated\/retired\/deeper\/operations\.ts\n {2}generated\/retired\/schema\.ts$/m,
    );
    expect(run.stdout).not.toMatch(/Updated/);
    expect(existsSync(gone)).toBe(false);
    expect(existsSync(path.join(repo.dir, "generated/dingtalk"))).toBe(true);
  });

  it("a symlink left in generated/ is stale to --check and removed by generate, its target left alone", async () => {
    const target = path.join(repo.dir, "outside.txt");
    writeFileSync(target, "kept\n");
    const link = path.join(repo.dir, "generated/linked.ts");
    symlinkSync(target, link);
    const check = await runGenerate(repo.dir, ["--check"]);
    expect(check.code).not.toBe(0);
    expect(check.stdout + check.stderr).toContain("generated/linked.ts");
    const run = await runGenerate(repo.dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Removed 1 file\(s\) no longer generated:\n {2}generated\/linked\.ts$/m);
    expect(existsSync(link)).toBe(false);
    expect(readFileSync(target, "utf8")).toBe("kept\n");
    rmSync(target);
  });

  it("a symlink loop or a dangling link in generated/ is stray too, not a crash", async () => {
    const loop = path.join(repo.dir, "generated/loop.ts");
    const dangling = path.join(repo.dir, "generated/dangling.ts");
    symlinkSync(loop, loop);
    symlinkSync(path.join(repo.dir, "nowhere"), dangling);
    const run = await runGenerate(repo.dir);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/generated\/loop\.ts/);
    expect(run.stdout).toMatch(/generated\/dangling\.ts/);
    expect(readdirSync(path.join(repo.dir, "generated"))).not.toContain("loop.ts");
  });

  it("an API's outputs kept in a folder elsewhere, symlinked into generated/, are written through the link", async () => {
    const folder = path.join(repo.dir, "generated/wecom");
    const elsewhere = path.join(repo.dir, "wecom-outputs");
    renameSync(folder, elsewhere);
    symlinkSync(elsewhere, folder, "dir");
    try {
      const run = await runGenerate(repo.dir);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).not.toMatch(/Removed/);
      expect(existsSync(path.join(folder, "operations.ts"))).toBe(true);
      expect((await runGenerate(repo.dir, ["--check"])).code).toBe(0);
    } finally {
      rmSync(folder, { force: true });
      renameSync(elsewhere, folder);
    }
  });

  it("--check on a generated/ that is a file says so, not that every output is stale", async () => {
    const generated = path.join(repo.dir, "generated");
    renameSync(generated, `${generated}.away`);
    try {
      writeFileSync(generated, "not a folder\n");
      const run = await runGenerate(repo.dir, ["--check"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^generated\/ is a file, not a folder: remove it/m);
      expect(run.stderr).not.toMatch(/is stale/);
    } finally {
      rmSync(generated, { force: true });
      renameSync(`${generated}.away`, generated);
    }
  });

  it("a stale file another run removed first is no failure", async () => {
    const stale = path.join(repo.dir, "generated/stale.ts");
    writeFileSync(stale, "// no longer generated\n");
    const run = await generateWithFault(`
      const rm = fsp.rm;
      fsp.rm = async (file, options) => {
        if (String(file).endsWith("stale.ts")) await rm(file); // the other run
        return rm(file, options);
      };`);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/generated\/stale\.ts/);
    expect((await runGenerate(repo.dir)).code).toBe(0);
  });

  it("a stale file that cannot be removed is named, with the outputs already replaced said so, no stack trace", async () => {
    const stale = path.join(repo.dir, "generated/stale.ts");
    writeFileSync(stale, "// no longer generated\n");
    try {
      const run = await generateWithFault(`
        const rm = fsp.rm;
        fsp.rm = async (file, options) => {
          if (String(file).endsWith("stale.ts"))
            throw Object.assign(new Error("EBUSY: resource busy or locked, rm '" + file + "'"), { code: "EBUSY" });
          return rm(file, options);
        };`);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(
        /^generated\/stale\.ts: no longer generated, and cannot be removed \(EBUSY/m,
      );
      expect(run.stderr, "an I/O failure, reported, not a crash").not.toMatch(/^\s+at |\{$/m);
      expect(run.stderr).toContain("generated/ is partly updated");
      expect(temporaries()).toEqual([]);
    } finally {
      rmSync(stale, { force: true });
      expect((await runGenerate(repo.dir)).code).toBe(0);
    }
  });

  /** The line of redocly.yaml that sets imspec/extensions for every API, 1-based. */
  const extensionsRuleLine =
    readFileSync(path.join(ROOT, "redocly.yaml"), "utf8").split("\n").indexOf("  imspec/extensions: error") +
    1;

  /** The line of workplus' root spec that `servers:` stands on, 1-based. */
  const serversLine =
    readFileSync(path.join(ROOT, "specs/workplus/openapi.yaml"), "utf8").split("\n").indexOf("servers:") + 1;

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
      name: "a tag named like the client's own appToken",
      file: "specs/workplus/openapi.yaml",
      edit: (t) =>
        t.replaceAll("tags: [apps]", "tags: [appToken]").replace("  - name: apps\n", "  - name: appToken\n"),
      message: /specs\/workplus\/openapi\.yaml:\d+:\d+: GET \S+: tag "appToken" is the client's own property/,
    },
    {
      name: "two tags that differ in the case of their first letter",
      file: "specs/workplus/openapi.yaml",
      edit: (t) => t.replace("tags: [apps]", "tags: [Apps]"),
      message:
        /specs\/workplus\/openapi\.yaml:\d+:\d+: tags "Apps" and "apps" would both be typed as AppsOperations/,
    },
    {
      name: "a success body typed as JSON in another spelling",
      file: "specs/workplus/openapi.yaml",
      edit: (t) =>
        t.replace(
          "(inferred, see the API's description; 10011 token not found. / 访问令牌不存在).\n          content:\n            application/json:",
          "(inferred, see the API's description; 10011 token not found. / 访问令牌不存在).\n          content:\n            application/json; charset=utf-8:",
        ),
      message:
        /specs\/workplus\/openapi\.yaml:\d+:\d+: the media type "application\/json; charset=utf-8": the clients read a JSON body as "application\/json"/,
    },
    {
      name: "a request body typed as JSON in another spelling",
      file: "specs/workplus/openapi.yaml",
      edit: (t) =>
        t.replace(
          "requestBody:\n        required: true\n        content:\n          application/json:",
          "requestBody:\n        required: true\n        content:\n          application/merge-patch+json:",
        ),
      message:
        /specs\/workplus\/openapi\.yaml:\d+:\d+: the media type "application\/merge-patch\+json": the clients read a JSON body as "application\/json"/,
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
      // The client sent `/v1/apps/42/admins` where the spec says `/v1/apps/.42/admins`.
      name: "a parameter in a style the clients do not send, in a shared components file",
      file: "specs/workplus/components.yaml",
      edit: (t) =>
        t.replace("    name: appId\n    in: path\n", "    name: appId\n    in: path\n    style: label\n"),
      message:
        /^specs\/workplus\/components\.yaml:\d+:5: \w+: parameter "appId" is sent as style: label, which the clients do not send/m,
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
      // It generated an optional client option named "".
      name: "a token source's option that names no option",
      file: "specs/workplus/openapi.yaml",
      edit: (t) => t.replace("            owner_id: ownerId?", '            owner_id: "?"'),
      message:
        /^ {2}error: specs\/workplus\/openapi\.yaml:\d+:\d+: x-imspec-token\.0\.options\.owner_id must be a client option's name/m,
    },
    {
      name: "an identifying option that is not a secret",
      file: "specs/wecom/openapi.yaml",
      edit: (t) => t.replace("identifying: [corpSecret]", "identifying: [corpId]"),
      message:
        /specs\/wecom\/openapi\.yaml:\d+:\d+: x-imspec-token\.0\.identifying: "corpId" is not one of the source's secrets/,
    },
    {
      name: "an optional body on an error response",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) => t.replace('        "400":\n', '        "400":\n          x-imspec-optional-body: true\n'),
      message:
        /specs\/dingtalk\/openapi\.yaml:\d+:\d+: x-imspec-optional-body belongs on the operation's first 2xx response \(200\), not on 400/,
    },
    {
      name: "a pagination field its answer does not have",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) => t.replace("cursorField: nextCursor", "cursorField: nextCursr"),
      message:
        /specs\/dingtalk\/openapi\.yaml:\d+:\d+: listEmpAttributeVisibility: x-imspec-pagination\.cursorField "nextCursr" is not a field of its 2xx answer/,
    },
    {
      name: "a token field its answer (inside the envelope) does not have",
      file: "specs/workplus/openapi.yaml",
      edit: (t) => t.replace("          token: access_token", "          token: acess_token"),
      message:
        /specs\/workplus\/openapi\.yaml:\d+:\d+: securitySchemes\.\w+\.x-imspec-token\.0: token "acess_token" is not a field of getAccessToken's 2xx answer/,
    },
    {
      name: "a token request field the token operation does not have",
      file: "specs/workplus/openapi.yaml",
      edit: (t) => t.replace("            client_id: clientId\n", "            clientid: clientId\n"),
      message:
        /^specs\/workplus\/openapi\.yaml:\d+:13: securitySchemes\.\w+\.x-imspec-token\.0: options "clientid" is not a parameter of getAccessToken \([^)]*client_id/m,
    },
    {
      name: "a fixed token request field the token operation does not have",
      file: "specs/workplus/openapi.yaml",
      edit: (t) =>
        t.replace("fixed: { grant_type: client_credentials", "fixed: { grant_typ: client_credentials"),
      message:
        /^specs\/workplus\/openapi\.yaml:\d+:\d+: securitySchemes\.\w+\.x-imspec-token\.0: fixed "grant_typ" is not a parameter of getAccessToken/m,
    },
    {
      name: "a token lifetime field its answer does not have",
      file: "specs/wecom/openapi.yaml",
      edit: (t) =>
        t.replace("expires: { field: expires_in, unit: s }", "expires: { field: expires_inn, unit: s }"),
      message:
        /specs\/wecom\/openapi\.yaml:\d+:\d+: securitySchemes\.\w+\.x-imspec-token\.0: expires\.field "expires_inn" is not a field of getAccessToken's 2xx answer/,
    },
    {
      name: "a mock token field its answer does not have",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) =>
        t.replace(
          "      kind: user\n      token: accessToken\n",
          "      kind: user\n      token: accesToken\n",
        ),
      message:
        /specs\/dingtalk\/openapi\.yaml:\d+:\d+: x-imspec-mock\.tokens\.getUserAccessToken: token "accesToken" is not a field of getUserAccessToken's 2xx answer \(accessToken, /,
    },
    {
      name: "a mock token lifetime field its answer does not have",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) =>
        t.replace(
          "      expires: { field: expireIn, unit: s }\n      set:",
          "      expires: { field: expiresIn, unit: s }\n      set:",
        ),
      message:
        /specs\/dingtalk\/openapi\.yaml:\d+:\d+: x-imspec-mock\.tokens\.getUserAccessToken: expires\.field "expiresIn" is not a field of getUserAccessToken's 2xx answer/,
    },
    {
      name: "a field the mock sets that the answer (inside the envelope) does not have",
      file: "specs/workplus/openapi.yaml",
      edit: (t) => t.replace("set: { refresh_token: token,", "set: { refreshToken: token,"),
      message:
        /specs\/workplus\/openapi\.yaml:\d+:\d+: x-imspec-mock\.tokens\.getAccessToken: set "refreshToken" is not a field of getAccessToken's 2xx answer \([^)]*refresh_token/,
    },
    {
      name: "a mock rule's field the request does not have",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) => t.replace("        field: code\n", "        field: authCode\n"),
      message:
        /specs\/dingtalk\/openapi\.yaml:\d+:\d+: x-imspec-mock\.requires\.getUserAccessToken\.0: field "authCode" is not a field of getUserAccessToken's request body \([^)]*grantType/,
    },
    {
      name: "a mock rule's condition on a field the request does not have",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) => t.replace("when: { grantType: refresh_token }", "when: { grant_type: refresh_token }"),
      message:
        /specs\/dingtalk\/openapi\.yaml:\d+:\d+: x-imspec-mock\.requires\.getUserAccessToken\.1: when "grant_type" is not a field of getUserAccessToken's request body/,
    },
    {
      name: "a mock rule's alternative the request does not have",
      file: "specs/workplus/openapi.yaml",
      edit: (t) => t.replace("anyOf: [org_id, owner_id]", "anyOf: [org_id, ownerId]"),
      message:
        /specs\/workplus\/openapi\.yaml:\d+:\d+: x-imspec-mock\.requires\.getAccessToken\.0: anyOf "ownerId" is not a field of getAccessToken's request body \([^)]*owner_id/,
    },
    {
      name: "a rate limit with an unknown scope",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) => t.replace("scope: app-operation", "scope: planet"),
      message:
        /specs\/dingtalk\/openapi\.yaml:\d+:\d+: x-imspec-rate-limits\.0\.scope must be one of app, app-operation, ip/,
    },
    {
      // matchesAll of no field is true: every answer, success or not, would be this refusal.
      name: "a refusal whose match names no field",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) => t.replace("    - match: { status: 1111 }", "    - match: {}"),
      message:
        /^ {2}error: specs\/dingtalk\/openapi\.yaml:\d+:14: x-imspec-errors\.refusals\.0\.match must name at least one field/m,
    },
    {
      name: "a token refusal reason whose code is not one of tokenInvalid's codes",
      file: "specs/wecom/openapi.yaml",
      edit: (t) => t.replace('reasons: { missing: "41001",', 'reasons: { missing: "40001",'),
      message:
        /^ {2}error: specs\/wecom\/openapi\.yaml:\d+:\d+: x-imspec-errors\.tokenInvalid\.reasons\.missing: "40001" is not one of tokenInvalid\.codes \(40014, 42001, 41001\)/m,
    },
    {
      name: "an API without an envelope whose errors name no code field",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) => t.replace("x-imspec-errors:\n  code: [code, Code]\n", "x-imspec-errors:\n"),
      message:
        /^ {2}error: specs\/dingtalk\/openapi\.yaml:\d+:1: x-imspec-errors\.code is required without x-imspec-envelope/m,
    },
    {
      name: "a token refusal reason the mock does not know",
      file: "specs/wecom/openapi.yaml",
      edit: (t) => t.replace('reasons: { missing: "41001",', 'reasons: { absent: "41001",'),
      message:
        /^ {2}error: specs\/wecom\/openapi\.yaml:\d+:\d+: x-imspec-errors\.tokenInvalid\.reasons\.absent is not a known field/m,
    },
    {
      name: "a token refusal reason's code that is a list",
      file: "specs/wecom/openapi.yaml",
      edit: (t) => t.replace('reasons: { missing: "41001",', 'reasons: { missing: ["41001"],'),
      message:
        /^ {2}error: specs\/wecom\/openapi\.yaml:\d+:\d+: x-imspec-errors\.tokenInvalid\.reasons\.missing must be a string or a number/m,
    },
    {
      name: "a misspelled extension",
      file: "specs/wecom/openapi.yaml",
      edit: (t) => t.replace(/^x-imspec-envelope:/m, "x-imspec-envelop:"),
      message:
        /specs\/wecom\/openapi\.yaml:\d+:\d+: x-imspec-envelop is not an extension the generator reads/,
    },
    {
      name: "a $ref to a place its file does not have, named in the message",
      file: "specs/wecom/openapi.yaml",
      edit: (t) =>
        t.replace(
          "$ref: ./components.yaml#/examples/TokenOk",
          "$ref: './components.yaml#/examples/TokenNope'",
        ),
      message:
        /specs\/wecom\/openapi\.yaml:\d+:\d+: Can't resolve \$ref "\.\/components\.yaml#\/examples\/TokenNope": no such place in that file/,
    },
    {
      // A slip in the prefix: no x-imspec-* rule would look at it, and the budget would be gone.
      name: "a misspelled extension prefix",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) => t.replace(/^x-imspec-rate-limits:/m, "x-imsepc-rate-limits:"),
      message:
        /specs\/dingtalk\/openapi\.yaml:\d+:1: x-imsepc-rate-limits looks like a misspelled x-imspec-\* extension/,
    },
    {
      name: "an extension out of its place",
      file: "specs/wecom/openapi.yaml",
      edit: (t) => t.replace(/^x-imspec-envelope:/m, "x-imspec-optional-body: true\nx-imspec-envelope:"),
      message: /specs\/wecom\/openapi\.yaml:\d+:\d+: x-imspec-optional-body belongs on Response, not on Root/,
    },
    {
      name: "a misspelled pagination field",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) => t.replace("hasMoreField: hasMore", "hasMorField: hasMore"),
      message:
        /specs\/dingtalk\/openapi\.yaml:\d+:\d+: x-imspec-pagination\.hasMorField is not a known field/,
    },
    {
      name: "an open-enum flag that is not a boolean, in a shared components file",
      file: "specs/dingtalk/components.yaml",
      edit: (t) => t.replace("x-imspec-open-enum: true", 'x-imspec-open-enum: "yes"'),
      message: /specs\/dingtalk\/components\.yaml:\d+:\d+: x-imspec-open-enum must be true or false/,
    },
    {
      // It was typed `true | (number & {})`: the type of a number, for a boolean.
      name: "an open-enum flag on an enum of booleans",
      file: "specs/workplus/components.yaml",
      edit: (t) =>
        t.replace(
          "      total_counts:\n        type: integer\n",
          "      total_counts:\n        type: integer\n      flag:\n        type: boolean\n        enum: [true]\n        x-imspec-open-enum: true\n",
        ),
      message:
        /^ {2}error: specs\/workplus\/components\.yaml:\d+:\d+: x-imspec-open-enum opens an enum of strings or of numbers, and this one lists true/m,
    },
    {
      name: "an operation's status code the document does not list",
      file: "specs/wecom/openapi.yaml",
      edit: (t) =>
        t.replace("x-imspec-status-codes: [-1, 40001, 40013", "x-imspec-status-codes: [-1, 40001, 77777"),
      message:
        /specs\/wecom\/openapi\.yaml:\d+:\d+: x-imspec-status-codes: 77777 is not among the document's/,
    },
    {
      name: "a security scheme that does not say which token it carries",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) => t.replace("      x-imspec-token-kind: user\n", ""),
      message: /specs\/dingtalk\/openapi\.yaml:\d+:\d+: The scheme needs x-imspec-token-kind/,
    },
    {
      name: "two security schemes that put the token in different places",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) =>
        t.replace(
          "    userAccessToken:\n      type: apiKey\n      in: header",
          "    userAccessToken:\n      type: apiKey\n      in: query",
        ),
      message:
        /specs\/dingtalk\/openapi\.yaml:\d+:\d+: securitySchemes\.userAccessToken: all schemes of one API must put the token in the same place/,
    },
    {
      name: "a mock answer whose status is not an HTTP status",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) => t.replace(/(notFound:\n\s+status:) 404/, "$1 four-oh-four"),
      message:
        /specs\/dingtalk\/openapi\.yaml:\d+:\d+: x-imspec-mock\.notFound\.status must be an HTTP status/,
    },
    {
      name: "a pagination cursor that is no parameter (found after lint, still with its line)",
      file: "specs/dingtalk/openapi.yaml",
      edit: (t) => t.replace("cursorParam: nextToken", "cursorParam: cursr"),
      message:
        /specs\/dingtalk\/openapi\.yaml:\d+:\d+: listEmpAttributeVisibility: x-imspec-pagination\.cursorParam "cursr" is not a query or body parameter/,
    },
    {
      name: "two status codes with one constant name",
      file: "specs/wecom/openapi.yaml",
      edit: (t) => t.replace("    name: SYSTEM_BUSY", "    name: INVALID_SECRET"),
      message:
        /specs\/wecom\/openapi\.yaml:\d+:\d+: x-imspec-status-codes: the name INVALID_SECRET is used twice/,
    },
    {
      // Redocly's parser drops the mark but counted lines with it: this was put at the end of the line before.
      name: "a key out of place in a spec saved with a byte-order mark",
      file: "specs/workplus/openapi.yaml",
      edit: (t) => `\uFEFF${t.replace("\nservers:\n", "\nfoo: 1\nservers:\n")}`,
      message: new RegExp(
        `^  error: specs/workplus/openapi\\.yaml:${serversLine}:1: Property \`foo\` is not expected here`,
        "m",
      ),
    },
    {
      // generate reads only the x-imspec-* values that rule lets through: off, a typo or a value of
      // the wrong type would generate without a word.
      name: "a registry entry that turns off the rule checking the x-imspec-* extensions",
      file: "redocly.yaml",
      edit: (t) =>
        t.replace(/^( {2}dingtalk:\n {4}root: [^\n]*\n)/m, "$1    rules:\n      imspec/extensions: off\n"),
      message:
        /^redocly\.yaml:\d+:7: API "dingtalk" turns the rule imspec\/extensions off, and generate reads only the x-imspec-\* values it checks/m,
    },
    {
      name: "a registry that turns off the rule checking the x-imspec-* extensions for every API",
      file: "redocly.yaml",
      edit: (t) => t.replace("  imspec/extensions: error\n", "  imspec/extensions: off\n"),
      message: new RegExp(
        `^redocly\\.yaml:${extensionsRuleLine}:3: API "dingtalk" turns the rule imspec/extensions off, and generate reads only the x-imspec-\\* values it checks`,
        "m",
      ),
    },
    {
      name: "a documented status listed twice",
      file: "specs/workplus/openapi.yaml",
      edit: (t) =>
        t.replace(
          "  - status: 202103\n    name: UNSUPPORTED_APP_OPERATION",
          "  - status: 202101\n    name: UNSUPPORTED_APP_OPERATION",
        ),
      message:
        /^specs\/workplus\/openapi\.yaml:\d+:5: x-imspec-status-codes: the status 202101 is listed twice/m,
    },
    {
      // Redocly ran the rule and gave its problems that severity, which no run stops for: a
      // misspelt x-imspec-* name then generated a client without a word.
      name: "a registry that gives a rule a severity Redocly does not have",
      file: "redocly.yaml",
      edit: (t) => t.replace("  imspec/extensions: error\n", "  imspec/extensions: eror\n"),
      message: new RegExp(
        `^redocly\\.yaml:${extensionsRuleLine}:3: the rule imspec/extensions is set to "eror" \\(for dingtalk\\): a rule is error, warn or off`,
        "m",
      ),
    },
    {
      name: "a registry entry without a root",
      file: "redocly.yaml",
      edit: (t) => t.replace(/( {2}wecom:\n) {4}root: [^\n]*\n/, "$1    x: 1\n"),
      message: /^redocly\.yaml:\d+:3: API "wecom" has no root/m,
    },
    {
      name: "a registry entry whose root does not exist",
      file: "redocly.yaml",
      edit: (t) => t.replace("root: specs/wecom/openapi.yaml", "root: specs/wecom/opneapi.yaml"),
      message: /^redocly\.yaml:\d+:5: API "wecom": its root specs\/wecom\/opneapi\.yaml does not exist/m,
    },
    {
      // Named on the first line of every generated file, a `//` comment: the rest would be code.
      name: "a registry entry whose root holds a line break",
      file: "redocly.yaml",
      edit: (t) => t.replace("root: specs/wecom/openapi.yaml", 'root: "specs/we\\ncom/openapi.yaml"'),
      message:
        /^redocly\.yaml:\d+:5: API "wecom": its root "specs\/we\\ncom\/openapi\.yaml" holds a line break/m,
    },
    {
      name: "a registry entry whose root is no path",
      file: "redocly.yaml",
      edit: (t) => t.replace("root: specs/wecom/openapi.yaml", "root: 42"),
      message: /^redocly\.yaml:\d+:5: API "wecom": its root must be the path of its spec, not 42/m,
    },
    {
      name: "a registry entry whose name climbs out of generated/",
      file: "redocly.yaml",
      edit: (t) => t.replace(/^ {2}wecom:$/m, "  ../wecom:"),
      message: /^redocly\.yaml:\d+:3: API name "\.\.\/wecom" is not usable as a folder name/m,
    },
    {
      name: "a registry entry whose name is no package subpath",
      file: "redocly.yaml",
      edit: (t) => t.replace(/^ {2}wecom:$/m, '  "we com":'),
      message: /^redocly\.yaml:\d+:3: API name "we com" is not usable as a folder name/m,
    },
    {
      name: "a registry entry whose name is a Windows device name",
      file: "redocly.yaml",
      edit: (t) => t.replace(/^ {2}wecom:$/m, "  aux:"),
      message: /^redocly\.yaml:\d+:3: API name "aux" is a device name on Windows/m,
    },
    {
      name: "a registry entry named after a folder of src/ that is no API's",
      file: "redocly.yaml",
      edit: (t) => t.replace(/^ {2}wecom:$/m, "  redis:"),
      message: /^redocly\.yaml:\d+:3: API name "redis" is taken by src\/redis\/, a folder that is no API's/m,
    },
    {
      // Once and where it is: Redocly reported it once for every $ref to the file, with each error it caused.
      name: "a key twice in one map of a $ref'd file",
      file: "specs/workplus/components.yaml",
      edit: (t) =>
        t.replace(
          "  TokenRequest:\n    type: object\n",
          "  TokenRequest:\n    type: object\n    type: object\n",
        ),
      message:
        /^specs\/workplus\/components\.yaml:\d+:5: duplicated mapping key type: a key appears once in a map\ngenerate failed/m,
    },
    {
      name: "a root spec that is a list",
      file: "specs/workplus/openapi.yaml",
      edit: (t) => `- ${t.split("\n").join("\n  ")}`,
      message:
        /^specs\/workplus\/openapi\.yaml:1:1: an OpenAPI document is a mapping \(openapi, info, paths, …\), not a list$/m,
    },
    {
      name: "a registry that extends a config at a URL, which Redocly would fetch",
      file: "redocly.yaml",
      edit: (t) =>
        t.replace(
          "  - recommended-strict\n",
          "  - recommended-strict\n  - https://user:secret@example.com/redocly.yaml\n",
        ),
      message:
        /^redocly\.yaml:\d+:5: extends is a URL \(https:\/\/example\.com\/redocly\.yaml\): .*never reaches the network$/m,
    },
    {
      name: "a registry that lists no API",
      file: "redocly.yaml",
      edit: (t) => t.replace(/^apis:[\s\S]*/m, "apis: {}\n"),
      message: /^redocly\.yaml: lists no API under `apis:`/m,
    },
    {
      // Redocly drops it (lint:specs only warns): the rule the author meant to turn on would be off.
      name: "a registry turning on a rule Redocly does not know",
      file: "redocly.yaml",
      edit: (t) => t.replace(/^rules:\n/m, "rules:\n  no-such-rule: error\n"),
      message: /^ {2}error: redocly\.yaml:\d+:3: Property `no-such-rule` is not expected here/m,
    },
    {
      name: "a registry that is not YAML",
      file: "redocly.yaml",
      edit: (t) => t.replace(/^apis:/m, "apis: [\n"),
      message: /redocly\.yaml:\d+:\d+: /,
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
        expect(run.stderr, "a user's mistake, not a crash: no stack trace").not.toMatch(/^\s+at /m);
        expect(run.stderr).toContain("generated/ was not changed");
        expect(fingerprint(repo.dir)).toBe(before);
      } finally {
        writeFileSync(target, original);
      }
    });
  }

  it("a schema property or header named like x-insp… is a name of the spec's own, not a misspelled extension", async () => {
    const file = path.join(repo.dir, "specs/workplus/components.yaml");
    const original = readFileSync(file, "utf8");
    const edited = original.replace(
      "      total_counts:\n        type: integer\n",
      "      total_counts:\n        type: integer\n      x-inspection-id:\n        type: string\n",
    );
    expect(edited).not.toBe(original);
    try {
      writeFileSync(file, edited);
      const run = await runGenerate(repo.dir);
      expect(run.stderr).not.toMatch(/misspelled/);
      expect(run.code, run.stderr).toBe(0);
    } finally {
      writeFileSync(file, original);
      await runGenerate(repo.dir);
    }
  });

  it("fails on a new API whose src/ folder was made before its profile, saying what to do", async () => {
    const registry = path.join(repo.dir, "redocly.yaml");
    const folder = path.join(repo.dir, "src/teamchat");
    const original = readFileSync(registry, "utf8");
    const before = fingerprint(repo.dir);
    try {
      mkdirSync(folder);
      writeFileSync(path.join(folder, "README.md"), "# teamchat\n");
      writeFileSync(registry, original.replace(/^ {2}wecom:$/m, "  teamchat:"));
      const run = await runGenerate(repo.dir);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(
        /^redocly\.yaml:\d+:3: API name "teamchat" is taken by src\/teamchat\/, a folder that is no API's \(it has no index\.ts\): if it is to be this API's, remove it until this generate succeeds/m,
      );
      expect(run.stderr).toContain("generated/ was not changed");
      expect(fingerprint(repo.dir)).toBe(before);
    } finally {
      writeFileSync(registry, original);
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("fails on a URL that a local file the registry extends extends in turn, at its line", async () => {
    const registry = path.join(repo.dir, "redocly.yaml");
    const base = path.join(repo.dir, "base-config.yaml");
    const original = readFileSync(registry, "utf8");
    const before = fingerprint(repo.dir);
    try {
      // Each extends the other too: each file is read once.
      writeFileSync(base, "extends:\n  - ./redocly.yaml\n  - http://127.0.0.1:9/nested.yaml\n");
      writeFileSync(
        registry,
        original.replace("  - recommended-strict\n", "  - recommended-strict\n  - ./base-config.yaml\n"),
      );
      const run = await runGenerate(repo.dir);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(
        /^base-config\.yaml:3:5: extends is a URL \(http:\/\/127\.0\.0\.1:9\/nested\.yaml\)/m,
      );
      expect(run.stderr).toContain("generated/ was not changed");
    } finally {
      writeFileSync(registry, original);
      rmSync(base, { force: true });
    }
    expect(fingerprint(repo.dir)).toBe(before);
  });
});

describe("npm run generate: a mistyped command line", () => {
  let repo: ReturnType<typeof copyRepo>;
  beforeAll(() => {
    repo = copyRepo();
  });
  afterAll(() => repo.remove());

  for (const [args, code, message] of [
    [["--chek"], 2, /Unknown option '--chek'[\s\S]*Usage: npm run generate/],
    [["--api"], 2, /argument missing[\s\S]*Usage: npm run generate/],
    [["--step", "nope"], 2, /Unknown step "nope"[\s\S]*Usage: npm run generate/],
    [["--api", "nope"], 1, /No API named "nope" in redocly\.yaml \(it lists: [a-z]/],
  ] as const) {
    it(`${args.join(" ")}: exit ${code}, a message and the usage, no stack trace`, async () => {
      const run = await runGenerate(repo.dir, [...args]);
      expect(run.code).toBe(code);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/^\s+at /m);
    });
  }

  it("--help and -h: the usage on stdout, exit 0", async () => {
    for (const flag of ["--help", "-h"]) {
      const run = await runGenerate(repo.dir, [flag]);
      expect(run.code, flag).toBe(0);
      expect(run.stdout).toMatch(/^Usage: npm run generate -- \[--check\]/);
      expect(run.stderr).toBe("");
    }
  });
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
  /** The watcher in `dir`, as `npm run generate:watch` runs it: the launcher, which runs the bundled generator. */
  async function startWatch(dir: string) {
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [path.join(dir, "scripts/generate.mjs"), "--watch"], { cwd: dir });
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
    /** Waits for a run after `from` that rewrote WorkPlus's table, which then holds `marker`. */
    const rewrote = async (marker: string, from: number) => {
      await waitFor(/generated\/workplus\/operations\.ts[\s\S]*watching specs\//, from);
      expect(readFileSync(path.join(dir, "generated/workplus/operations.ts"), "utf8")).toContain(marker);
    };
    return { child, waitFor, rewrote, output: () => out };
  }

  /** In the copy at `dir`, the WorkPlus spec moved to a folder of its own and the registry pointed there. */
  function workplusOutside(dir: string): string {
    renameSync(path.join(dir, "specs/workplus"), path.join(dir, "apis-workplus"));
    const registry = path.join(dir, "redocly.yaml");
    writeFileSync(
      registry,
      readFileSync(registry, "utf8").replace("specs/workplus/openapi.yaml", "apis-workplus/openapi.yaml"),
    );
    return path.join(dir, "apis-workplus/openapi.yaml");
  }

  it("regenerates on a change to a spec kept outside specs/", async () => {
    const repo = copyRepo();
    const spec = workplusOutside(repo.dir);
    const { child, waitFor, rewrote, output } = await startWatch(repo.dir);
    const original = readFileSync(spec, "utf8");
    try {
      await waitFor(/watching specs\//, 0);
      const mark = output().length;
      writeFileSync(spec, original.replace("(List the app's admins)", "(Outside specs/)"));
      await rewrote("(Outside specs/)", mark);
    } finally {
      child.kill();
      repo.remove();
    }
  }, 120_000);

  it("follows what a failed run could not read: a $ref'd file written later, a folder removed and made again", async () => {
    const repo = copyRepo();
    const workplus = workplusOutside(repo.dir);
    const { child, waitFor, rewrote, output } = await startWatch(repo.dir);
    const wecom = path.join(repo.dir, "specs/wecom/openapi.yaml");
    const wecomText = readFileSync(wecom, "utf8");
    const workplusText = readFileSync(workplus, "utf8");
    try {
      await waitFor(/watching specs\//, 0);
      // An example moved to a file (and a folder) that does not exist yet: the run fails on it.
      let mark = output().length;
      const ref = "$ref: ./components.yaml#/examples/TokenOk";
      expect(wecomText).toContain(ref);
      writeFileSync(wecom, wecomText.replace(ref, "$ref: ../../shared/examples.yaml#/TokenOk"));
      await waitFor(/still watching specs\//, mark);
      expect(output().slice(mark)).toMatch(/specs\/wecom\/openapi\.yaml:\d+:\d+: Can't resolve \$ref/);
      // Written: the next run reads it, with no other save.
      mark = output().length;
      mkdirSync(path.join(repo.dir, "shared"));
      writeFileSync(
        path.join(repo.dir, "shared/examples.yaml"),
        "TokenOk:\n  value:\n    errcode: 0\n    errmsg: ok\n    access_token: accesstoken000042\n    expires_in: 7200\n",
      );
      await waitFor(/generated\/wecom\/openapi\.json[\s\S]*watching specs\//, mark);
      expect(readFileSync(path.join(repo.dir, "generated/wecom/openapi.json"), "utf8")).toContain(
        "accesstoken000042",
      );
      // The folder outside specs/ removed, then back: still watched.
      mark = output().length;
      renameSync(path.join(repo.dir, "apis-workplus"), path.join(repo.dir, "apis-workplus.away"));
      await waitFor(/still watching specs\//, mark);
      mark = output().length;
      renameSync(path.join(repo.dir, "apis-workplus.away"), path.join(repo.dir, "apis-workplus"));
      await waitFor(/generated\/|watching specs\//, mark);
      mark = output().length;
      writeFileSync(workplus, workplusText.replace("(List the app's admins)", "(Back again)"));
      await rewrote("(Back again)", mark);
    } finally {
      child.kill();
      repo.remove();
    }
  }, 120_000);

  it("a $ref to a named pipe is reported, not read by the watcher until the end of time", async () => {
    const repo = copyRepo();
    const spec = path.join(repo.dir, "specs/wecom/openapi.yaml");
    const ref = "$ref: ./components.yaml#/examples/TokenOk";
    execFileSync("mkfifo", [path.join(repo.dir, "specs/wecom/pipe.yaml")]);
    writeFileSync(spec, readFileSync(spec, "utf8").replace(ref, "$ref: ./pipe.yaml#/TokenOk"));
    const { child, waitFor, output } = await startWatch(repo.dir);
    try {
      await waitFor(/still watching specs\//, 0);
      expect(output()).toMatch(/pipe\.yaml/);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill();
      repo.remove();
    }
  }, 120_000);

  it("watches a spec folder symlinked into specs/, says when one moves out, and survives folders that flicker", async () => {
    const repo = copyRepo();
    const elsewhere = path.join(repo.dir, "elsewhere");
    mkdirSync(elsewhere);
    renameSync(path.join(repo.dir, "specs/workplus"), path.join(elsewhere, "workplus"));
    symlinkSync(path.join(elsewhere, "workplus"), path.join(repo.dir, "specs/workplus"), "dir");
    const { child, waitFor, rewrote, output } = await startWatch(repo.dir);
    const spec = path.join(repo.dir, "specs/workplus/openapi.yaml");
    const original = readFileSync(spec, "utf8");
    try {
      await waitFor(/watching specs\//, 0);
      let mark = output().length;
      writeFileSync(spec, original.replace("(List the app's admins)", "(Through a symlink)"));
      await waitFor(/generated\/workplus\/operations\.ts[\s\S]*watching specs\//, mark);
      // Folders made and removed faster than a recursive watch reads them: no crash.
      for (let i = 0; i < 200; i++) {
        mkdirSync(path.join(repo.dir, `specs/t${i}/s`), { recursive: true });
        writeFileSync(path.join(repo.dir, `specs/t${i}/s/a.yaml`), "a: 1\n");
        rmSync(path.join(repo.dir, `specs/t${i}`), { recursive: true });
      }
      await new Promise((r) => setTimeout(r, 1_000));
      expect(child.exitCode, output()).toBeNull();
      // A spec folder moved out of specs/ (a folder event alone): the run says what is missing.
      mark = output().length;
      renameSync(path.join(repo.dir, "specs/wecom"), path.join(elsewhere, "wecom"));
      // A run still going when the folder moved (one the flicker started) may fail first on another
      // of its files ("read by this run, then no longer readable"): the next one names the root.
      await waitFor(/specs\/wecom\/openapi\.yaml[^\n]*\n[\s\S]*still watching specs\//, mark);
      expect(output().slice(mark)).toMatch(/specs\/wecom\/openapi\.yaml/);
      renameSync(path.join(elsewhere, "wecom"), path.join(repo.dir, "specs/wecom"));
      mark = output().length;
      writeFileSync(spec, original.replace("(List the app's admins)", "(Still watched)"));
      await rewrote("(Still watched)", mark);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill();
      repo.remove();
    }
  }, 120_000);

  it("regenerates on a spec change, reports a broken spec and keeps watching", async () => {
    const repo = copyRepo();
    const { child, waitFor, output } = await startWatch(repo.dir);
    const spec = path.join(repo.dir, "specs/workplus/openapi.yaml");
    const original = readFileSync(spec, "utf8");
    try {
      await waitFor(/watching specs\//, 0);
      let mark = output().length;
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
      mark = output().length;
      writeFileSync(spec, original.replace("\npaths:\n", "\npaths:\n  /broken: [unclosed\n"));
      await waitFor(/still watching specs\//, mark);
      expect(output().slice(mark)).toMatch(/specs\/workplus\/openapi\.yaml:\d+:\d+/);
      expect(fingerprint(repo.dir)).toBe(before);
      mark = output().length;
      writeFileSync(spec, original);
      await waitFor(/generated\/workplus\/operations\.ts[\s\S]*watching specs\//, mark);
      // Saved as many editors and git save: a new file renamed over the old one. Then edited in
      // place again: that later edit is seen too.
      mark = output().length;
      const replacement = `${spec}.new`;
      writeFileSync(replacement, original.replace("(List the app's admins)", "(Renamed over)"));
      renameSync(replacement, spec);
      await waitFor(/generated\/workplus\/operations\.ts[\s\S]*watching specs\//, mark);
      mark = output().length;
      writeFileSync(spec, original.replace("(List the app's admins)", "(Edited after the rename)"));
      await waitFor(/generated\/workplus\/operations\.ts[\s\S]*watching specs\//, mark);
      expect(readFileSync(path.join(repo.dir, "generated/workplus/operations.ts"), "utf8")).toContain(
        "(Edited after the rename)",
      );
      // The registry gone for a while: said once, not every half second, and run again once it is back.
      const registry = path.join(repo.dir, "redocly.yaml");
      mark = output().length;
      renameSync(registry, `${registry}.away`);
      await waitFor(/still watching specs\//, mark);
      await new Promise((r) => setTimeout(r, 1_600));
      expect(
        output()
          .slice(mark)
          .match(/still watching specs\//g),
      ).toHaveLength(1);
      mark = output().length;
      renameSync(`${registry}.away`, registry);
      writeFileSync(spec, original.replace("(List the app's admins)", "(After the registry came back)"));
      await waitFor(/generated\/workplus\/operations\.ts[\s\S]*watching specs\//, mark);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill();
      repo.remove();
    }
  }, 120_000);
});
