/**
 * `npm run dist`: compiles src/ and generated/ into dist/, the only folder the package ships.
 *
 *   dist/src/…, dist/generated/…            ES modules + .d.ts   (tsconfig.build.json)
 *   dist/cjs/src/…, dist/cjs/generated/…    CommonJS + .d.ts     (tsconfig.build.cjs.json)
 *   dist/cjs/package.json                   {"type": "commonjs"}: Node and TypeScript read the
 *                                           files under dist/cjs as CommonJS, although the
 *                                           package itself is "type": "module"
 *   dist/generated/<api>/openapi.json       the bundled specs, for the mock server
 *
 * Both trees keep the repository layout (rootDir "."), so `src/x` → `../../generated/y` imports
 * and the mock's `generated/<api>/openapi.json` lookups resolve the same way in dist/ as in the
 * repository. dist/ is emptied first: a module deleted from src/ must not linger in the package.
 * No source or declaration maps: they would point at .ts files the package does not ship.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const DIST = path.join(ROOT, "dist");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

function compile(project: string): void {
  const run = spawnSync(process.execPath, [tsc, "-p", project], { cwd: ROOT, stdio: "inherit" });
  if (run.status !== 0) {
    console.error(`dist: tsc -p ${project} failed`);
    process.exit(run.status ?? 1);
  }
}

rmSync(DIST, { recursive: true, force: true });
compile("tsconfig.build.json");
compile("tsconfig.build.cjs.json");
writeFileSync(path.join(DIST, "cjs/package.json"), `${JSON.stringify({ type: "commonjs" }, null, 2)}\n`);

for (const api of readdirSync(path.join(ROOT, "generated"), { withFileTypes: true })) {
  const spec = path.join(ROOT, "generated", api.name, "openapi.json");
  if (!api.isDirectory() || !existsSync(spec)) continue;
  mkdirSync(path.join(DIST, "generated", api.name), { recursive: true });
  copyFileSync(spec, path.join(DIST, "generated", api.name, "openapi.json"));
}
console.log("dist/ written (ESM, CommonJS, .d.ts, bundled specs).");
