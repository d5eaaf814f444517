import { operationsFile, print } from "../lib/builders.js";
import { type ApiInfo, extractApi } from "../lib/extract.js";
import { located } from "../lib/preflight.js";
import type { ApiEntry } from "../lib/registry.js";
import type { Bundled } from "./bundle.js";
import { header } from "./header.js";

/** `extractApi` of an API's bundle; a rule it breaks is reported at the spec's `file:line:col`. */
export function extractLocated(api: ApiEntry, bundled: Bundled): ApiInfo {
  return located(api.root, () => extractApi(bundled.document));
}

/** Step `operations`: plain data from the bundle → ts-morph structures → `generated/<api>/operations.ts`. */
export function operationsStep(
  api: ApiEntry,
  bundled: Bundled,
): { files: Map<string, string>; info: ApiInfo } {
  const info = extractLocated(api, bundled);
  const text = print(operationsFile(info, api.name), header(api));
  return { files: new Map([[`generated/${api.name}/operations.ts`, text]]), info };
}
