/**
 * The package as users get it: built once, packed with `npm pack`, checked with publint and attw,
 * installed offline into a fresh project, then loaded by an ES module and a CommonJS consumer that
 * call a loopback server, and type-checked by a consumer under moduleResolution bundler and nodenext.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/repo-copy.js";
import { json, ScriptedServer } from "../support/scripted-server.js";
import {
  apiNames,
  CORE_ENTRIES,
  copyFixtures,
  hasOtherNode,
  installConsumer,
  must,
  node,
  OTHER_NODE_MAJORS,
  otherNode,
  pack,
  run,
  tsc,
} from "./consumer-project.js";

/** The bound of one type-check of the consumer (5–15 s alone, longer beside the other test files). */
const TSC_MS = 90_000;
const DINGTALK_TOKEN = "smoke-dingtalk-app-token";
const WORKPLUS_TOKEN = "smoke-workplus-app-token";
const SETTINGS = { seniorStaffId: "013349365367-1094322561", protectScenes: ["CHAT"], seniorWhiteList: [] };
const ADMINS = { records: [{ user_id: "53419de6c13a494b85187f20116338f1", name: "Admin" }], total_counts: 1 };

const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  exports: Record<string, unknown>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  bin: Record<string, string>;
  engines: { node: string };
  license: string;
};
/** redocly.yaml's APIs, each an entry point `imspec/<api>` through the `./*` pattern. */
const APIS = await apiNames();
/** Every entry point a consumer imports: the core ones and one per API. */
const entries = [...CORE_ENTRIES, ...APIS.map((api) => `./${api}`)];
/** Entry points a browser or app bundle may import: no Node built-ins, no optional peers. */
const UNIVERSAL = entries.filter((entry) => !["./mock", "./node", "./redis"].includes(entry));
/** The optional peers the consumer scenario needs: the mock server's (it passes its own Redis client). */
const MOCK_PEERS = ["openapi-backend", "ajv", "ajv-formats"];

/**
 * Node arguments that print where `#default-transport` resolves from the ES build and from the
 * CommonJS build of the installed package (dist/cjs/package.json carries its own `imports`).
 */
const DEFAULT_TRANSPORT = [
  "--experimental-import-meta-resolve",
  "--no-warnings",
  "--input-type=module",
  "-e",
  `import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
const pkg = path.dirname(createRequire(path.join(process.cwd(), "x.js")).resolve("imspec/package.json"));
const cjs = createRequire(path.join(pkg, "dist/cjs/src/core/client.js")).resolve("#default-transport");
const parent = pathToFileURL(path.join(pkg, "dist/src/core/client.js")).href;
const esm = fileURLToPath(import.meta.resolve("#default-transport", parent));
console.log([esm, cjs].map((file) => path.relative(pkg, file).split(path.sep).join("/")).join(" "));`,
];
const NODE_TRANSPORTS = "dist/src/core/node-transport.js dist/cjs/src/core/node-transport.js";

/** Bare package names a built file imports or requires (`node:` built-ins included). */
function importsOf(file: string): string[] {
  // Comments may show imports (usage examples in JSDoc): only code counts.
  const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
  const found = new Set<string>();
  for (const m of text.matchAll(
    /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)["']([^"'.][^"']*)["']/gm,
  )) {
    const spec = m[1] as string;
    found.add(
      spec.startsWith("node:")
        ? spec
        : spec
            .split("/")
            .slice(0, spec.startsWith("@") ? 2 : 1)
            .join("/"),
    );
  }
  return [...found];
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".js") ? [path.join(dir, e.name)] : [],
  );
}

let work: string;
let consumer: string;
/** A second consumer with none of the optional peers installed. */
let bare: string;
let tarball: string;
let files: string[];
let server: ScriptedServer;

function startServer(): Promise<ScriptedServer> {
  const s = new ScriptedServer();
  s.on("POST", "/v1.0/oauth2/accessToken", (req, res) => {
    const body = JSON.parse(req.body) as { appKey?: string; appSecret?: string };
    if (body.appKey !== "dingsmokeapp" || body.appSecret !== "smoke-app-secret") {
      return json(res, 400, { code: "invalidClientIdOrSecret", message: "bad credentials", requestid: "r0" });
    }
    json(res, 200, { accessToken: DINGTALK_TOKEN, expireIn: 7200 });
  });
  s.on("GET", "/v1.0/contact/seniorSettings", (req, res) => {
    if (req.headers["x-acs-dingtalk-access-token"] !== DINGTALK_TOKEN) {
      return json(res, 401, { code: "InvalidAuthentication", message: "bad token", requestid: "r1" });
    }
    if (req.query.get("seniorStaffId") === "nobody") {
      return json(res, 400, { code: "parameter.error", message: "参数错误", requestid: "r2" });
    }
    json(res, 200, { ...SETTINGS, seniorStaffId: req.query.get("seniorStaffId") });
  });
  s.on("POST", "/v1/token", (req, res) => {
    const body = JSON.parse(req.body) as { client_id?: string; client_secret?: string };
    if (body.client_id !== "smoke-client" || body.client_secret !== "smoke-client-secret") {
      return json(res, 200, { status: 202104, message: "应用认证失败" });
    }
    json(res, 200, {
      status: 0,
      message: "Everything is ok.",
      result: { access_token: WORKPLUS_TOKEN, expire_time: Date.now() + 3_600_000 },
    });
  });
  s.on(
    "GET",
    (p) => /^\/v1\/apps\/[^/]+\/admins$/.test(p),
    (req, res) => {
      if (req.query.get("access_token") !== WORKPLUS_TOKEN) {
        return json(res, 200, { status: 10011, message: "token not found." });
      }
      json(res, 200, { status: 0, message: "Everything is ok.", result: ADMINS });
    },
  );
  return s.start();
}

beforeAll(async () => {
  must(
    await run(path.join(ROOT, "node_modules/.bin/tsx"), ["scripts/dist.ts"], { cwd: ROOT }),
    "npm run dist",
  );
  work = mkdtempSync(path.join(tmpdir(), "imspec-package-"));
  ({ tarball, files } = await pack(work));
  consumer = path.join(work, "consumer");
  await installConsumer(consumer, tarball, MOCK_PEERS);
  copyFixtures(consumer, APIS);
  bare = path.join(work, "bare");
  await installConsumer(bare, tarball);
  server = await startServer();
}, 240_000);

afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("ships dist/, the changelog and the licence, and nothing of the sources", () => {
    const outside = files.filter(
      (f) => !f.startsWith("dist/") && !["package.json", "README.md", "CHANGELOG.md", "LICENSE"].includes(f),
    );
    expect(outside).toEqual([]);
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    expect(files).toContain("CHANGELOG.md");
    // The licence package.json names travels with the code, as MIT asks.
    expect(files).toContain("LICENSE");
    expect(readFileSync(path.join(ROOT, "LICENSE"), "utf8")).toMatch(
      new RegExp(`^${manifest.license} License`),
    );
  });

  it("ships each generated declaration once, with its JSDoc, and the bundled specs minified", () => {
    const declarations = files.filter((f) => /^dist\/(cjs\/)?generated\/.+\.d\.ts$/.test(f));
    const names = declarations.map((f) => f.replace(/^dist\/(cjs\/)?/, ""));
    expect(names.length).toBeGreaterThanOrEqual(4);
    expect(new Set(names).size).toBe(names.length);
    // What an editor shows on `dt.contact.listSeniorSettings`, whichever tree the types come from.
    const installed = path.join(consumer, "node_modules/imspec");
    const operations = declarations.find((f) => f.endsWith("dingtalk/operations.d.ts")) as string;
    expect(readFileSync(path.join(installed, operations), "utf8")).toMatch(
      /\/\*\*\n\s+\* 获取用户高管模式设置[^\n]*\n[\s\S]*?\*\/\n\s+listSeniorSettings: \{/,
    );
    const specs = files.filter((f) => f.endsWith("/openapi.json"));
    expect(specs.length).toBeGreaterThanOrEqual(2);
    for (const spec of specs) {
      const text = readFileSync(path.join(installed, spec), "utf8");
      expect(JSON.stringify(JSON.parse(text)), spec).toBe(text);
    }
  });

  it("passes publint with no message at any level but the nested `imports` Node does read", async () => {
    const data = readFileSync(tarball);
    const tarballData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    const { messages, pkg } = await publint({
      pack: { tarball: tarballData },
      level: "suggestion",
      strict: true,
    });
    // publint holds that Node ignores `imports` in a nested package.json; Node resolves `#…` against
    // the nearest package.json (its package scope), which for dist/cjs is dist/cjs/package.json: the
    // CommonJS build's `#default-transport` needs it, and test (d) checks Node resolves it there.
    const nestedImports = (m: (typeof messages)[number]) =>
      m.code === "NESTED_PACKAGE_JSON_FIELD_IGNORED" &&
      m.args.field === "imports" &&
      m.args.filePath === "./dist/cjs/package.json";
    expect(messages.filter(nestedImports)).toHaveLength(1);
    expect(
      messages.filter((m) => !nestedImports(m)).map((m) => `${m.type}: ${formatMessage(m, pkg) ?? m.code}`),
    ).toEqual([]);
  });

  // attw cannot enumerate the entries behind the `./*` pattern (it prints "(wildcard)"): it is given
  // the core entries and redocly.yaml's APIs, and must have resolved each of them.
  it("passes attw with no problem under node10, node16 (CJS and ESM) and bundler", async () => {
    const result = await run(
      path.join(ROOT, "node_modules/.bin/attw"),
      [tarball, "--format", "ascii", "--entrypoints", ...entries],
      { cwd: work },
    );
    expect(result.stdout + result.stderr).toContain("No problems found");
    expect(result.code).toBe(0);
    for (const entry of entries) {
      const block = result.stdout.split(`"${path.posix.join("imspec", entry)}"`)[1]?.split("***")[0] ?? "";
      expect(block, entry).toMatch(
        /node10: 🟢[\s\S]*node16 \(from CJS\): 🟢 \(CJS\)[\s\S]*node16 \(from ESM\): 🟢 \(ESM\)[\s\S]*bundler: 🟢/,
      );
    }
  });
});

describe("a consumer project with the tarball installed offline", () => {
  const expected = {
    apis: APIS,
    core: { createClient: "function", fetchTransport: "function", apiClients: [] },
    settings: SETTINGS,
    admins: ADMINS,
    refused: {
      name: "DingTalkError",
      code: "parameter.error",
      status: 400,
      isDingTalkError: true,
      isImspecError: true,
    },
    viaNodeTransport: "013349365367-1094322561",
    viaRaw: "013349365367-1094322561",
    // The store's key: its prefix, the API, the token endpoint's origin, a hash of the credentials.
    stored: [expect.stringMatching(/^smoke:token:dingtalk:http:\/\/127\.0\.0\.1:\d+:[0-9a-f]{16}$/)],
    fromMock: { seniorStaffId: "013349365367-1094322561", admins: 1 },
  };

  it("(a) an ES module imports every entry point (each API of redocly.yaml) and calls the server", async () => {
    const before = server.requests.length;
    const result = must(
      await node(["esm-consumer.mjs"], consumer, {
        IMSPEC_TEST_URL: server.url,
        IMSPEC_APIS: JSON.stringify(APIS),
      }),
      "esm",
    );
    expect(JSON.parse(result.stdout)).toEqual({ format: "esm", ...expected });
    const seen = server.requests.slice(before);
    expect(seen.some((r) => r.headers["x-acs-dingtalk-access-token"] === DINGTALK_TOKEN)).toBe(true);
    expect(seen.some((r) => r.query.get("access_token") === WORKPLUS_TOKEN)).toBe(true);
  });

  it("(b) a CommonJS module require()s every entry point and calls the server", async () => {
    const result = must(
      await node(["cjs-consumer.cjs"], consumer, {
        IMSPEC_TEST_URL: server.url,
        IMSPEC_APIS: JSON.stringify(APIS),
      }),
      "cjs",
    );
    expect(JSON.parse(result.stdout)).toEqual({ format: "cjs", ...expected });
    // The CommonJS build, not require(esm): the same code works on Node versions without it.
    const resolved = must(
      await node(["-p", 'require.resolve("imspec/dingtalk")'], consumer),
      "require.resolve",
    ).stdout.trim();
    expect(path.relative(consumer, resolved).split(path.sep).join("/")).toBe(
      "node_modules/imspec/dist/cjs/src/dingtalk/index.js",
    );
  });

  for (const major of OTHER_NODE_MAJORS)
    it.skipIf(!hasOtherNode(major))(`(a, b, d) the same consumers run on Node.js ${major}`, async () => {
      const binary = otherNode(major);
      const version = must(
        await run(binary, ["--version"], { cwd: consumer }),
        `node ${major}`,
      ).stdout.trim();
      expect(version).toMatch(new RegExp(`^v${major}\\.`));
      const env = { IMSPEC_TEST_URL: server.url, IMSPEC_APIS: JSON.stringify(APIS) };
      for (const [file, format] of [
        ["esm-consumer.mjs", "esm"],
        ["cjs-consumer.cjs", "cjs"],
      ] as const) {
        const result = must(
          await run(binary, [file], { cwd: consumer, env, timeoutMs: 30_000 }),
          `${format} on node ${major}`,
        );
        expect(JSON.parse(result.stdout)).toEqual({ format, ...expected });
      }
      const dual = must(
        await run(binary, ["dual-consumer.mjs"], { cwd: consumer, env, timeoutMs: 30_000 }),
        `dual on node ${major}`,
      );
      expect(Object.values(JSON.parse(dual.stdout))).not.toContain(false);
      expect(
        must(
          await run(binary, [...DEFAULT_TRANSPORT], { cwd: consumer }),
          `transport on node ${major}`,
        ).stdout.trim(),
      ).toBe(NODE_TRANSPORTS);
    });

  it("(d) the CommonJS and the ES build in one process: errors are instanceof both ways, one rate budget", async () => {
    const result = must(await node(["dual-consumer.mjs"], consumer, { IMSPEC_TEST_URL: server.url }), "dual");
    expect(JSON.parse(result.stdout)).toEqual({
      twoBuilds: true,
      esmErrorIsCjsDingTalkError: true,
      cjsErrorIsEsmDingTalkError: true,
      esmErrorIsCjsImspecError: true,
      cjsErrorIsEsmImspecError: true,
      plainApiErrorIsNotDingTalkError: true,
      cjsTransportFailureIsEsmTooLarge: true,
      esmTransportFailureIsCjsTooLarge: true,
      oneRateBudget: true,
    });
  });

  it("(d) under Node, both builds resolve #default-transport to the node:http transport", async () => {
    const result = must(await node([...DEFAULT_TRANSPORT], consumer), "#default-transport");
    expect(result.stdout.trim()).toBe(NODE_TRANSPORTS);
  });

  // Each its own test, with its own time: one tsc run is 5–15 s, more on a busy machine.
  for (const [what, project] of [
    ["a TypeScript consumer type-checks under moduleResolution bundler", "bundler"],
    ["a TypeScript consumer type-checks under moduleResolution nodenext, as ESM and as CommonJS", "nodenext"],
    ["the Node-only entry points type-check under nodenext with @types/node", "node"],
    ["every entry point type-checks under moduleResolution node16 (CommonJS)", "node16"],
    ["every entry point type-checks under moduleResolution node10 (CommonJS)", "node10"],
  ]) {
    it(`(c) ${what}`, { timeout: TSC_MS }, async () => {
      must(await tsc(`tsconfig.${project}.json`, consumer), `tsc (${project})`);
    });
  }

  it("runs the mock server from the `imspec` bin", async () => {
    const bin = path.join(consumer, "node_modules/.bin/imspec");
    const result = must(await run(bin, ["--help"], { cwd: consumer }), "imspec --help");
    expect(result.stdout).toContain("Usage: imspec mock");
  });

  it("(e) without the optional peers, `imspec mock --help` works and `imspec mock` names what to install", async () => {
    const bin = path.join(bare, "node_modules/.bin/imspec");
    for (const peer of MOCK_PEERS)
      expect(() => readFileSync(path.join(bare, "node_modules", peer, "package.json"))).toThrow();
    const help = must(await run(bin, ["mock", "--help"], { cwd: bare }), "imspec mock --help (no peers)");
    expect(help.stdout).toContain("Usage: imspec mock");
    const started = await run(bin, ["mock", "--port", "0"], { cwd: bare, timeoutMs: 30_000 });
    expect(started.code).not.toBe(0);
    for (const peer of MOCK_PEERS) expect(started.stderr).toContain(peer);
    expect(started.stderr).toContain("npm install");
  });

  it("(f) a one-call browser app bundles to the fetch transport, without openapi-fetch", async () => {
    const result = await build({
      entryPoints: [path.join(consumer, "browser-consumer.mjs")],
      absWorkingDir: consumer,
      bundle: true,
      platform: "browser",
      format: "esm",
      minify: true,
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain("node_modules/imspec/dist/src/core/transport.js");
    expect(inputs.filter((i) => /node-transport|openapi-fetch|\/raw\//.test(i))).toEqual([]);
    const code = result.outputFiles[0]?.contents ?? new Uint8Array();
    expect(Buffer.from(code).toString("utf8")).not.toMatch(/["']node:/);
    const size = { minified: code.byteLength, gzipped: gzipSync(code, { level: 9 }).byteLength };
    writeFileSync(path.join(work, "browser-size.json"), JSON.stringify(size));
    console.log(
      `one-call browser bundle (imspec/dingtalk): ${size.minified} B minified, ${size.gzipped} B min+gzip`,
    );
    expect(size.gzipped).toBeLessThan(40_000);
  });

  it.each(UNIVERSAL)("bundles %s for the browser without Node built-ins or optional peers", async (entry) => {
    const specifier = path.posix.join("imspec", entry);
    const result = await build({
      stdin: { contents: `export * from ${JSON.stringify(specifier)};`, resolveDir: consumer, loader: "js" },
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    }).catch((error: { errors?: Array<{ text: string }> }) => {
      throw new Error(
        `${specifier} does not bundle for the browser:\n${error.errors?.map((e) => e.text).join("\n")}`,
      );
    });
    const inputs = Object.keys(result.metafile.inputs).filter((i) => i !== "<stdin>");
    const foreign = inputs.filter(
      (i) => !/node_modules\/(imspec|openapi-fetch|openapi-typescript-helpers)\//.test(i),
    );
    expect(foreign).toEqual([]);
    expect(inputs.filter((i) => /imspec\/dist\/src\/(mock|node|redis)\//.test(i))).toEqual([]);
  });
});

describe("package.json", () => {
  it("exports the root, a ./* pattern and package.json: no API is named outside redocly.yaml", () => {
    expect(Object.keys(manifest.exports)).toEqual([".", "./*", "./package.json"]);
    expect(JSON.stringify(manifest.exports)).not.toMatch(new RegExp(APIS.join("|")));
    for (const entry of [".", "./*"]) {
      const conditions = manifest.exports[entry] as Record<string, Record<string, string>>;
      expect(Object.keys(conditions)).toEqual(["import", "require"]);
      for (const condition of Object.values(conditions))
        expect(Object.keys(condition)).toEqual(["types", "default"]);
    }
    expect(manifest.bin.imspec).toBe("./dist/src/mock/cli.js");
    expect(manifest.engines.node).toBe(">=20.19.0");
  });

  it("depends on what the universal entry points import, and on the rest only as optional peers", () => {
    const built = path.join(ROOT, "dist/src");
    const universal = new Set<string>();
    const nodeOnly = new Set<string>();
    for (const file of walk(built)) {
      const bucket = /^(mock|node|redis)[\\/]/.test(path.relative(built, file)) ? nodeOnly : universal;
      for (const name of importsOf(file)) bucket.add(name);
    }
    // `node:` built-ins and the package's own `#` imports are not dependencies.
    const external = (names: Set<string>) =>
      [...names].filter((n) => !n.startsWith("node:") && !n.startsWith("#")).sort();
    expect(external(universal)).toEqual(Object.keys(manifest.dependencies).sort());
    const peers = Object.keys(manifest.peerDependencies).sort();
    expect(external(nodeOnly).filter((n) => !(n in manifest.dependencies))).toEqual(peers);
    for (const peer of peers) expect(manifest.peerDependenciesMeta[peer]?.optional).toBe(true);
  });
});
