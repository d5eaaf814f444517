/**
 * `npm run dist`: compiles src/ and generated/ into dist/, the only folder the package ships.
 *
 *   dist/src/…, dist/generated/…            ES modules + .d.ts   (tsconfig.build.json)
 *   dist/cjs/src/…, dist/cjs/generated/…    CommonJS + .d.ts     (tsconfig.build.cjs.json)
 *   dist/cjs/package.json                   {"type": "commonjs", "imports": …}: Node and TypeScript read
 *                                           the files under dist/cjs as CommonJS, although the
 *                                           package itself is "type": "module"; `imports` is the
 *                                           root's, rewritten for dist/cjs (see cjsImports)
 *   dist/generated/<api>/openapi.json       the bundled specs (minified), for the mock server
 *
 * The declarations of generated/ are pure types and come out byte-identical in both trees, so they
 * ship once, under dist/cjs/generated: the ES declarations import them from there (an ES module may
 * import a CommonJS one; the other way round a CommonJS declaration could not import an ES one).
 *
 * Both trees keep the repository layout (rootDir "."), so `src/x` → `../../generated/y` imports
 * and the mock's `generated/<api>/openapi.json` lookups resolve the same way in dist/ as in the
 * repository. dist/ is emptied first: a module deleted from src/ must not linger in the package.
 * No source or declaration maps: they would point at .ts files the package does not ship.
 *
 * Each tree takes two compiler runs: the declarations (type-checked, JSDoc kept: editors show it),
 * then the JavaScript without comments (`--noCheck`: the first run checked the same program). tsc
 * drops every comment under `removeComments`, bundler annotations and legal notices included, so
 * when a source holds one of those the JavaScript keeps its comments.
 *
 * `--skip-typecheck`: every run is `--noCheck`. `npm run build` passes it because its `compile`
 * step has just type-checked the whole repository (src/, generated/, scripts/, test/) under
 * tsconfig.json; `npm run dist` alone (and `prepack`) checks as described above.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { "skip-typecheck": { type: "boolean", default: false } } });
const check = !values["skip-typecheck"];

const ROOT = path.resolve(import.meta.dirname, "..");
const DIST = path.join(ROOT, "dist");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

/** Comments the JavaScript must keep: bundler annotations (`@__PURE__`, `webpackIgnore: …`) and legal notices. */
const KEPT_COMMENT =
  /[@#]__(?:PURE|NO_SIDE_EFFECTS)__|\bwebpack[A-Z]\w*:|@vite-ignore|\/\*!|@license|@preserve/;

function tscRun(project: string, flags: string[]): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tsc, "-p", project, ...flags], { cwd: ROOT, stdio: "inherit" });
    child.on("close", (code) => {
      if (code === 0) return resolve();
      console.error(`dist: tsc -p ${project} ${flags.join(" ")} failed`);
      process.exit(code ?? 1);
    });
  });
}

/** Declarations first (the type check, unless skipped), then the JavaScript, with or without its comments. */
async function compile(project: string, keepComments: boolean): Promise<void> {
  await tscRun(project, ["--emitDeclarationOnly", ...(check ? [] : ["--noCheck"])]);
  await tscRun(project, [
    "--declaration",
    "false",
    "--noCheck",
    ...(keepComments ? [] : ["--removeComments"]),
  ]);
}

/** Every file under `dir` (absolute paths) whose name ends with `suffix`. */
function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/**
 * Ships the declarations of generated/ once: checks that the two trees' copies are identical,
 * points the ES declarations at the CommonJS ones and removes the ES copies.
 */
function shareGeneratedDeclarations(): void {
  const esm = path.join(DIST, "generated");
  const cjs = path.join(DIST, "cjs/generated");
  const shared = new Set<string>();
  for (const file of filesUnder(esm, ".d.ts")) {
    const twin = path.join(cjs, path.relative(esm, file));
    if (!existsSync(twin) || readFileSync(twin, "utf8") !== readFileSync(file, "utf8")) {
      console.error(`dist: ${path.relative(ROOT, file)} differs from its CommonJS twin; both are kept`);
      continue;
    }
    shared.add(file.replace(/\.d\.ts$/, ".js"));
  }
  // `from "../../generated/x/operations.js"` and `import("…")` in the ES declarations.
  const specifier = /(\bfrom\s*|\bimport\s*\(\s*)(["'])(\.{1,2}\/[^"']*)\2/g;
  for (const file of filesUnder(DIST, ".d.ts")) {
    if (!path.relative(cjs, file).startsWith("..") || shared.has(file.replace(/\.d\.ts$/, ".js"))) continue;
    const text = readFileSync(file, "utf8");
    const rewritten = text.replace(specifier, (whole, lead: string, quote: string, spec: string) => {
      const target = path.resolve(path.dirname(file), spec);
      if (!shared.has(target)) return whole;
      const moved = path.relative(path.dirname(file), path.join(cjs, path.relative(esm, target)));
      return `${lead}${quote}${moved.split(path.sep).join("/")}${quote}`;
    });
    if (rewritten !== text) writeFileSync(file, rewritten);
  }
  for (const file of shared) rmSync(file.replace(/\.js$/, ".d.ts"));
}

/**
 * Declarations that read a type from a JSON file (`import type manifest from "…/manifest.json"`,
 * for the mock's API names) get the type written out instead: TypeScript resolves a JSON import
 * only under `resolveJsonModule`, which moduleResolution node16 and node10 leave off, so a consumer
 * that checks the package's declarations would fail on it (TS2732). The one use they make of it,
 * `keyof (typeof manifest)["apis"]`, becomes the union of those names; any other is an error here.
 */
function inlineJsonTypes(): void {
  const jsonImport = /^import type (\w+) from (["'])(\.{1,2}\/[^"']*\.json)\2;\n/m;
  for (const file of filesUnder(DIST, ".d.ts")) {
    const text = readFileSync(file, "utf8");
    const found = jsonImport.exec(text);
    if (!found) continue;
    const [line, name, , spec] = found as unknown as [string, string, string, string];
    const json = JSON.parse(readFileSync(path.resolve(path.dirname(file), spec), "utf8")) as {
      apis?: Record<string, unknown>;
    };
    const union = Object.keys(json.apis ?? {})
      .map((key) => JSON.stringify(key))
      .join(" | ");
    const rewritten = text.replace(line, "").replaceAll(`keyof (typeof ${name})["apis"]`, union || "never");
    if (new RegExp(`\\b${name}\\b`).test(rewritten.replace(/\/\*[\s\S]*?\*\//g, ""))) {
      console.error(
        `dist: ${path.relative(ROOT, file)} reads ${spec} in a way the declarations cannot inline`,
      );
      process.exit(1);
    }
    writeFileSync(file, rewritten);
  }
}

/**
 * The root package.json's `imports` as seen from dist/cjs: a `require("#…")` there resolves against
 * dist/cjs/package.json, the nearest one. Only `require` branches are kept (everything under dist/cjs
 * is CommonJS) and `./dist/cjs/x` targets become `./x`. `{ node: { import, require }, import, require }`
 * → `{ node: "./src/…/node-transport.js", default: "./src/…/transport.js" }`.
 */
function cjsImports(imports: Record<string, unknown>): Record<string, unknown> {
  const target = (value: unknown, where: string): unknown => {
    if (typeof value === "string") {
      if (!value.startsWith("./dist/cjs/"))
        throw new Error(`dist: imports ${where} → ${value} is outside dist/cjs`);
      return `./${value.slice("./dist/cjs/".length)}`;
    }
    if (value === null || typeof value !== "object")
      throw new Error(`dist: imports ${where} is not a target`);
    const kept = Object.entries(value).filter(([condition]) => condition !== "import");
    const out = Object.fromEntries(
      kept.map(([condition, sub]) => [
        condition === "require" ? "default" : condition,
        target(sub, `${where}.${condition}`),
      ]),
    );
    const keys = Object.keys(out);
    return keys.length === 1 && keys[0] === "default" ? out.default : out;
  };
  return Object.fromEntries(Object.entries(imports).map(([key, value]) => [key, target(value, key)]));
}

const kept = ["src", "generated"]
  .flatMap((dir) => filesUnder(path.join(ROOT, dir), ".ts"))
  .filter((file) => KEPT_COMMENT.test(readFileSync(file, "utf8")));
if (kept.length) {
  console.log(
    `dist: comments kept in the JavaScript (${kept.map((f) => path.relative(ROOT, f)).join(", ")} ${kept.length > 1 ? "hold" : "holds"} annotations or legal notices)`,
  );
}

rmSync(DIST, { recursive: true, force: true });
await Promise.all([
  compile("tsconfig.build.json", kept.length > 0),
  compile("tsconfig.build.cjs.json", kept.length > 0),
]);
const { imports } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  imports?: Record<string, unknown>;
};
writeFileSync(
  path.join(DIST, "cjs/package.json"),
  `${JSON.stringify({ type: "commonjs", imports: cjsImports(imports ?? {}) }, null, 2)}\n`,
);
shareGeneratedDeclarations();
inlineJsonTypes();

for (const api of readdirSync(path.join(ROOT, "generated"), { withFileTypes: true })) {
  const spec = path.join(ROOT, "generated", api.name, "openapi.json");
  if (!api.isDirectory() || !existsSync(spec)) continue;
  mkdirSync(path.join(DIST, "generated", api.name), { recursive: true });
  // Minified: the mock server parses it, nobody reads it.
  writeFileSync(
    path.join(DIST, "generated", api.name, "openapi.json"),
    JSON.stringify(JSON.parse(readFileSync(spec, "utf8"))),
  );
}
console.log("dist/ written (ESM, CommonJS, .d.ts, bundled specs).");
