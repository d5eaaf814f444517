import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { MockApi } from "imspec/mock";
import { parse } from "yaml";

export const ROOT = path.resolve(import.meta.dirname, "../..");
/** An API of the registry; typed as the names generated/manifest.json knows. */
export type ApiName = MockApi;
export type Json = Record<string, unknown>;

/** The `apis:` keys of redocly.yaml, the one registry of APIs, sorted. */
export function registryApis(file = path.join(ROOT, "redocly.yaml")): string[] {
  const apis = (parse(readFileSync(file, "utf8")) as { apis?: unknown } | null)?.apis;
  if (!apis || typeof apis !== "object" || Array.isArray(apis) || Object.keys(apis).length === 0)
    throw new Error(`${path.relative(ROOT, file)} has no apis: entries`);
  return Object.keys(apis).sort();
}

/** Every API of redocly.yaml. A new entry is tested everywhere this is iterated, whatever it lacks. */
export const APIS = registryApis() as readonly ApiName[];

/** The bundled spec, as the generator wrote it. */
export function bundled(api: ApiName): Json {
  const file = path.join(ROOT, "generated", api, "openapi.json");
  if (!existsSync(file))
    throw new Error(
      `${path.relative(ROOT, file)} is missing: redocly.yaml lists ${api}; run npm run generate`,
    );
  return JSON.parse(readFileSync(file, "utf8")) as Json;
}

export const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"] as const;

export interface SpecOperation {
  api: ApiName;
  method: string;
  path: string;
  operationId: string;
  tag: string;
  operation: Json;
}

export function operationsOf(api: ApiName, doc: Json = bundled(api)): SpecOperation[] {
  const out: SpecOperation[] = [];
  for (const [p, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined;
      if (!operation) continue;
      out.push({
        api,
        method: method.toUpperCase(),
        path: p,
        operationId: operation.operationId as string,
        tag: (operation.tags as string[])[0] as string,
        operation,
      });
    }
  }
  return out;
}

/**
 * An ajv (JSON Schema 2020-12, OpenAPI 3.1's dialect) that knows the spec's components, so
 * `#/components/...` references resolve. `strict: false` because OpenAPI adds keywords such as
 * `example` and `x-*` that are not JSON Schema vocabulary.
 */
export function validatorFor(doc: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats.default(ajv);
  ajv.addSchema({ ...doc, $id: "spec" }, "spec");
  return (schema: unknown, value: unknown): string[] => {
    const validate = ajv.compile(withRefsTo(schema));
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

/** Rewrites local refs (`#/components/...`) to point into the registered spec. */
function withRefsTo(schema: unknown): Json {
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node && typeof node === "object") {
      return Object.fromEntries(
        Object.entries(node).map(([k, v]) => [
          k,
          k === "$ref" && typeof v === "string" && v.startsWith("#/") ? `spec${v}` : rewrite(v),
        ]),
      );
    }
    return node;
  };
  return rewrite(schema) as Json;
}

/** Follows one local `$ref`. */
export function deref(doc: Json, node: unknown): Json {
  let current = node as Json;
  while (current && typeof current.$ref === "string") {
    current = (current.$ref as string)
      .slice(2)
      .split("/")
      .reduce<unknown>((acc, key) => (acc as Json)[key.replace(/~1/g, "/").replace(/~0/g, "~")], doc) as Json;
  }
  return current;
}
