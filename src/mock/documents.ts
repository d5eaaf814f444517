import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The APIs the mock serves, each under its own path prefix (`/dingtalk`, `/workplus`). */
export const MOCK_APIS = ["dingtalk", "workplus"] as const;
export type MockApi = (typeof MOCK_APIS)[number];

/** A parsed OpenAPI 3.1 document (the bundled spec, or one a test built). */
export type OpenApiDocument = Record<string, unknown>;

/**
 * How many folders above this module to look for `generated/<api>/openapi.json`. The copies this
 * must find: `src/mock` → `../../generated` (the repository, via tsx), `dist/src/mock` →
 * `dist/generated` (the ES build) and `dist/cjs/src/mock` → `dist/generated` (the CommonJS build,
 * which has no JSON of its own). Any higher would risk reading another project's `generated/`.
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
export function specCandidates(api: MockApi, from: string = moduleDir()): string[] {
  const out: string[] = [];
  for (let dir = from, level = 0; level <= LEVELS_UP; level++) {
    out.push(path.join(dir, "generated", api, "openapi.json"));
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return out;
}

/** Reads `generated/<api>/openapi.json`, the spec bundled by `npm run generate`. */
export function loadDocument(api: MockApi): OpenApiDocument {
  const candidates = specCandidates(api);
  const found = candidates.find((file) => existsSync(file));
  if (!found) {
    throw new Error(
      `imspec mock: cannot find the bundled ${api} spec (generated/${api}/openapi.json). Looked in:\n  ${candidates.join("\n  ")}`,
    );
  }
  return JSON.parse(readFileSync(found, "utf8")) as OpenApiDocument;
}
