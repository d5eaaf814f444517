import { operationsFile, print } from "../lib/builders.js";
import { type ApiInfo, extractApi } from "../lib/extract.js";
import type { ApiEntry } from "../lib/registry.js";
import type { Bundled } from "./bundle.js";
import { header } from "./header.js";

/** Step `operations`: plain data from the bundle → ts-morph structures → `generated/<api>/operations.ts`. */
export function operationsStep(
  api: ApiEntry,
  bundled: Bundled,
): { files: Map<string, string>; info: ApiInfo } {
  const info = extractApi(bundled.document);
  const text = print(operationsFile(info, api.name), header(api));
  return { files: new Map([[`generated/${api.name}/operations.ts`, text]]), info };
}
