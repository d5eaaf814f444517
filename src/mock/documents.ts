import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
// Types only: the API names, as the generator derived them from redocly.yaml. `tsc` copies the
// manifest next to the declarations, so the names stay known in dist/ too.
import type manifest from "../../generated/manifest.json";

/**
 * The name of an API the bundled specs describe (a key of `generated/manifest.json`'s `apis`), each
 * served under `/<name>`. A server started on other documents serves other names too: every method
 * that takes an API also takes a plain string.
 */
export type MockApi = keyof (typeof manifest)["apis"];

/** A parsed OpenAPI 3.1 document (the bundled spec, or one a test built). */
export type OpenApiDocument = Record<string, unknown>;

/**
 * How many folders above this module to look for `generated/`. The copies this must find:
 * `src/mock` → `../../generated` (the repository, via tsx), `dist/src/mock` → `dist/generated` (the
 * ES build) and `dist/cjs/src/mock` → `dist/generated` (the CommonJS build, which has no JSON of its
 * own). Any higher would risk reading another project's `generated/`.
 */
const LEVELS_UP = 4;

/**
 * This module's folder. The CommonJS build has `__dirname`; ES modules do not, and `import.meta`
 * cannot be written here because the same file is also compiled to CommonJS, where it is a syntax
 * error. The first stack frame of an Error made here names this file in both module systems.
 */
function moduleDir(): string {
  if (typeof __dirname === "string") return __dirname;
  const original = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_error, frames) => frames;
    const frames = new Error().stack as unknown as NodeJS.CallSite[];
    const file = frames[0]?.getFileName();
    if (!file) return process.cwd();
    return path.dirname(file.startsWith("file:") ? fileURLToPath(file) : file);
  } finally {
    Error.prepareStackTrace = original;
  }
}

/** Where `api`'s bundled spec may be, nearest first. */
export function specCandidates(api: string, from: string = moduleDir()): string[] {
  return generatedCandidates(from).map((dir) => path.join(dir, api, "openapi.json"));
}

/** The `generated/` folders this module may be next to, nearest first. */
function generatedCandidates(from: string): string[] {
  const out: string[] = [];
  for (let dir = from, level = 0; level <= LEVELS_UP; level++) {
    out.push(path.join(dir, "generated"));
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return out;
}

/**
 * The nearest `generated/` folder that holds the `<api>/openapi.json` of its APIs: the folder the
 * mock serves by default. (The CommonJS build has a `generated/manifest.json` of its own, which
 * `tsc` copies for the types, but no specs: those are one folder up, in `dist/generated`.)
 */
export function findGenerated(from: string = moduleDir()): string {
  const candidates = generatedCandidates(from);
  const found = candidates.find((dir) => {
    const apis = apisIn(dir);
    return apis.length > 0 && apis.every((api) => existsSync(specFile(dir, api)));
  });
  if (!found) {
    throw new Error(
      `imspec mock: cannot find the bundled specs (generated/<api>/openapi.json, written by npm run generate). Looked in:\n  ${candidates.join("\n  ")}`,
    );
  }
  return found;
}

/**
 * The APIs a `generated/` folder holds: the `apis` of its `manifest.json` (the generator writes
 * them from redocly.yaml), else every sub-folder with an `openapi.json`. Sorted.
 */
export function apisIn(generated: string): string[] {
  const manifestFile = path.join(generated, "manifest.json");
  if (existsSync(manifestFile)) {
    let apis: unknown;
    try {
      apis = (JSON.parse(readFileSync(manifestFile, "utf8")) as { apis?: unknown }).apis;
    } catch (error) {
      throw new Error(`imspec mock: ${manifestFile} is not JSON: ${(error as Error).message}`);
    }
    if (!apis || typeof apis !== "object" || Array.isArray(apis))
      throw new Error(`imspec mock: ${manifestFile} has no "apis" object`);
    return Object.keys(apis).sort();
  }
  if (!existsSync(generated)) return [];
  return readdirSync(generated, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(generated, entry.name, "openapi.json")))
    .map((entry) => entry.name)
    .sort();
}

/** The bundled spec file of `api` in a `generated/` folder. */
export function specFile(generated: string, api: string): string {
  return path.join(generated, api, "openapi.json");
}

/** Reads and parses one bundled spec, with an error that names the file. */
export function readDocument(file: string): OpenApiDocument {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`imspec mock: cannot read ${file}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new Error(`imspec mock: ${file} is not JSON: ${(error as Error).message}`);
  }
  if (!document || typeof document !== "object" || Array.isArray(document) || !("paths" in document))
    throw new Error(`imspec mock: ${file} is not an OpenAPI document (no "paths")`);
  return document as OpenApiDocument;
}
