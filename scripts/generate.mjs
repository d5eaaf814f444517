#!/usr/bin/env node
/**
 * The launcher of `npm run generate`: runs scripts/generate.ts under plain Node.
 *
 * The generator's cost is mostly loading its tools (Redocly, openapi-typescript with TypeScript,
 * ts-morph with its own TypeScript), and loading them through a TypeScript loader's hooks roughly
 * doubles that. So the generator's own modules are bundled once with esbuild into one ES module
 * (packages stay external and load from node_modules as usual) and that file is imported here.
 *
 * The bundle is cached under node_modules/.cache/imspec/generate/, named by a sha256 of everything
 * it is built from: every file under scripts/, tsconfig.json, this launcher and esbuild's version.
 * Any change to any of them gives a new name, so a stale bundle is never run; the build also fails
 * if the generator ever imports a file outside scripts/, which the hash would not cover. Being
 * named by content, the bundle does not depend on where the repository is: the root is handed to
 * it in `globalThis.imspecRoot` (read by scripts/lib/registry.ts), since the bundle's own location
 * says nothing about it.
 *
 * On Node 22 and later, Node's compile cache (node_modules/.cache/imspec/v8) also keeps the compiled
 * code of those tools between runs.
 *
 * `tsx scripts/generate.ts` runs the same generator from source, without the cache.
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import module from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = path.resolve(import.meta.dirname, "..");
const SCRIPTS = path.join(ROOT, "scripts");
const ENTRY = path.join(SCRIPTS, "generate.ts");
const CACHE = path.join(ROOT, "node_modules/.cache/imspec/generate");
/** Cached bundles not used for a day are removed when a new one is built (a run marks its bundle used). */
const KEEP_UNUSED_MS = 24 * 60 * 60 * 1000;

/** sha256 over the names and bytes of every input of the bundle. */
function inputsHash() {
  const hash = createHash("sha256");
  const files = readdirSync(SCRIPTS, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
  files.push(path.join(ROOT, "tsconfig.json"), path.join(ROOT, "node_modules/esbuild/package.json"));
  for (const file of files.sort()) {
    hash.update(path.relative(ROOT, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex").slice(0, 32);
}

/** Builds the bundle into `target` (through a temporary file and a rename, so readers never see half of it). */
async function build(target) {
  const { build: esbuild } = await import("esbuild");
  const result = await esbuild({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    write: false,
    metafile: true,
    logLevel: "warning",
    outfile: target,
  });
  const outside = Object.keys(result.metafile.inputs)
    .map((input) => path.resolve(ROOT, input))
    .filter((input) => path.relative(SCRIPTS, input).startsWith(".."));
  if (outside.length) {
    throw new Error(
      `scripts/generate.mjs: the generator imports files outside scripts/ (${outside
        .map((file) => path.relative(ROOT, file))
        .join(", ")}); its cache key covers only scripts/, so it would run stale code when they change.`,
    );
  }
  const [output] = result.outputFiles;
  mkdirSync(CACHE, { recursive: true });
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, output.contents);
  renameSync(temporary, target);
  prune(path.basename(target));
}

/** Removes the cached bundles (and leftover temporary files) that have not been used for a day. */
function prune(keep) {
  const now = Date.now();
  for (const name of readdirSync(CACHE)) {
    if (name === keep) continue;
    const file = path.join(CACHE, name);
    try {
      if (now - statSync(file).mtimeMs > KEEP_UNUSED_MS) rmSync(file, { force: true });
    } catch {
      // Removed meanwhile by another run.
    }
  }
}

// Node 22.1+: reuse the compiled code of the tools between runs (not available on Node 20).
module.enableCompileCache?.(path.join(ROOT, "node_modules/.cache/imspec/v8"));
const bundle = path.join(CACHE, `${inputsHash()}.mjs`);
if (!existsSync(bundle)) await build(bundle);
else {
  try {
    const now = new Date();
    utimesSync(bundle, now, now); // marks it used (see prune)
  } catch {
    // A read-only cache still works; it is just never pruned.
  }
}
globalThis.imspecRoot = ROOT;
await import(pathToFileURL(bundle).href);
