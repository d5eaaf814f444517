/**
 * Synthetic DingTalk-shaped specs of any size, for the generator's scaling benchmark.
 *
 * The real DingTalk spec (specs/dingtalk/openapi.yaml, 16 operations) is the template: copy 0 is
 * the spec itself, unchanged, so `src/dingtalk/index.ts` still compiles against the output; copy k
 * repeats every path under `/v1.0/s<k>/…`, with operationIds, SDK names and tags suffixed `S<k>` /
 * `<k>`. Every operation therefore keeps a real one's parameters, request body, examples, error
 * responses, pagination and security, and the result passes the same redocly.yaml lint rules.
 * components.yaml is copied as it is: every copy shares its schemas, as a larger API shares its
 * common types.
 *
 *   tsx bench/synthetic.ts 200 /tmp/spec-200   # writes openapi.yaml + components.yaml there
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";

const ROOT = path.resolve(import.meta.dirname, "..");
const SOURCE = path.join(ROOT, "specs/dingtalk");
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

type Json = Record<string, unknown>;

/** Operations in the template spec. */
export function templateOperations(): number {
  const spec = parse(readFileSync(path.join(SOURCE, "openapi.yaml"), "utf8")) as Json;
  let count = 0;
  for (const item of Object.values(spec.paths as Record<string, Json>)) {
    for (const method of METHODS) if (item[method]) count++;
  }
  return count;
}

/** The synthetic spec as a document (its `$ref`s point at `./components.yaml`). */
export function syntheticSpec(operations: number): Json {
  const spec = parse(readFileSync(path.join(SOURCE, "openapi.yaml"), "utf8")) as Json;
  const template = spec.paths as Record<string, Json>;
  const templateTags = spec.tags as Array<Json & { name: string }>;
  const paths: Record<string, Json> = {};
  const tags: Json[] = [];
  let left = operations;
  for (let copy = 0; left > 0; copy++) {
    const usedTags = new Set<string>();
    for (const [pathName, item] of Object.entries(template)) {
      if (left === 0) break;
      const next: Json = {};
      for (const [key, value] of Object.entries(structuredClone(item))) {
        if (!(METHODS as readonly string[]).includes(key)) {
          next[key] = value;
          continue;
        }
        if (left === 0) continue;
        const operation = value as Json & { operationId: string; tags: string[] };
        if (copy > 0) {
          operation.operationId = `${operation.operationId}S${copy}`;
          const sdk = operation["x-sdk-operation"];
          if (typeof sdk === "string") operation["x-sdk-operation"] = `${sdk}S${copy}`;
          operation.tags = operation.tags.map((tag) => `${tag}${copy}`);
        }
        for (const tag of operation.tags) usedTags.add(tag);
        next[key] = operation;
        left--;
      }
      if (Object.keys(next).some((k) => (METHODS as readonly string[]).includes(k))) {
        paths[copy === 0 ? pathName : pathName.replace(/^\/v1\.0\//, `/v1.0/s${copy}/`)] = next;
      }
    }
    for (const tag of templateTags) {
      const name = copy === 0 ? tag.name : `${tag.name}${copy}`;
      if (usedTags.has(name)) tags.push({ ...structuredClone(tag), name });
    }
  }
  return { ...spec, tags, paths };
}

/** Writes `openapi.yaml` (synthetic) and `components.yaml` (the template's) into `dir`. */
export function writeSyntheticSpec(dir: string, operations: number): void {
  mkdirSync(dir, { recursive: true });
  const header = `# Synthetic: ${operations} operations made by bench/synthetic.ts from specs/dingtalk/openapi.yaml.\n`;
  writeFileSync(
    path.join(dir, "openapi.yaml"),
    header + stringify(syntheticSpec(operations), { lineWidth: 0, aliasDuplicateObjects: false }),
  );
  copyFileSync(path.join(SOURCE, "components.yaml"), path.join(dir, "components.yaml"));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [count, dir] = process.argv.slice(2);
  const n = Number(count);
  if (!Number.isInteger(n) || n < 1 || !dir) {
    console.error("usage: tsx bench/synthetic.ts OPERATIONS DIR");
    process.exit(2);
  }
  writeSyntheticSpec(path.resolve(dir), n);
  console.log(`${n} operations → ${path.resolve(dir)}/openapi.yaml`);
}
