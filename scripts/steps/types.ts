import openapiTS, { astToString } from "openapi-typescript";
import { SpecError } from "../lib/problems.js";
import type { ApiEntry } from "../lib/registry.js";
import type { Bundled } from "./bundle.js";
import { header } from "./header.js";

/** Step `types`: openapi-typescript (Node API) → `generated/<api>/schema.ts`. */
export async function typesStep(api: ApiEntry, bundled: Bundled): Promise<Map<string, string>> {
  let ast: Awaited<ReturnType<typeof openapiTS>>;
  try {
    // openapi-typescript may mutate its input; give it a copy of the bundled document.
    ast = await openapiTS(structuredClone(bundled.document) as unknown as Parameters<typeof openapiTS>[0], {
      silent: true,
    });
  } catch (error) {
    throw new SpecError(`openapi-typescript could not type ${api.root}: ${(error as Error).message}`);
  }
  return new Map([[`generated/${api.name}/schema.ts`, `${header(api)}\n${astToString(ast)}`]]);
}
