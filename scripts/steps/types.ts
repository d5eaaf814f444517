import { createRequire } from "node:module";
import type * as OpenapiTS from "openapi-typescript";
import { SpecError } from "../lib/problems.js";
import type { ApiEntry } from "../lib/registry.js";
import type { Bundled } from "./bundle.js";
import { header } from "./header.js";

/*
 * openapi-typescript's `openapiTS(document)` is three things: a Redocly lint and bundle of the
 * document (with its own copy of @redocly/openapi-core, loaded for that alone), a context of default
 * options, and `transformSchema`. The lint and bundle repeat the lint and bundle steps, so this step
 * runs the transform alone, with the context `openapiTS` builds when given no options.
 * test/generator/types.test.ts checks that the output is byte-identical to `openapiTS`'s.
 *
 * The modules are loaded with require from the CommonJS build: the ES build imports `typescript`, a
 * large CommonJS file that Node would then scan for its exports, which costs as much again as
 * loading it.
 */
interface Transform {
  transformSchema: typeof OpenapiTS.transformSchema;
  resolveRef: typeof OpenapiTS.resolveRef;
  scanDiscriminators: typeof OpenapiTS.scanDiscriminators;
  astToString: typeof OpenapiTS.astToString;
}
let loaded: Transform | undefined;
/** The transform's modules, loaded on first use: a run that stops before this step never pays for them. */
function transform(): Transform {
  if (!loaded) {
    const load = createRequire(import.meta.url);
    const utils = load("openapi-typescript/dist/lib/utils.cjs") as Transform;
    loaded = {
      transformSchema: load("openapi-typescript/dist/transform/index.cjs") as Transform["transformSchema"],
      resolveRef: utils.resolveRef,
      scanDiscriminators: utils.scanDiscriminators,
      astToString: (load("openapi-typescript/dist/lib/ts.cjs") as Transform).astToString,
    };
  }
  return loaded;
}

/** The context `openapiTS(schema, { silent: true })` passes to `transformSchema`. */
function defaultContext(schema: OpenapiTS.OpenAPI3): OpenapiTS.GlobalContext {
  const { resolveRef, scanDiscriminators } = transform();
  return {
    additionalProperties: false,
    alphabetize: false,
    arrayLength: false,
    defaultNonNullable: true,
    discriminators: scanDiscriminators(schema, { silent: true }),
    emptyObjectsUnknown: false,
    enum: false,
    enumValues: false,
    conditionalEnums: false,
    dedupeEnums: false,
    excludeDeprecated: false,
    exportType: false,
    immutable: false,
    rootTypes: false,
    rootTypesNoSchemaPrefix: false,
    rootTypesKeepCasing: false,
    injectFooter: [],
    pathParamsAsTypes: false,
    postTransform: undefined,
    propertiesRequiredByDefault: false,
    // The Redocly config of openapiTS's own lint and bundle; the transforms do not read it.
    redoc: undefined as unknown as OpenapiTS.GlobalContext["redoc"],
    silent: true,
    transform: undefined,
    transformProperty: undefined,
    makePathsEnum: false,
    generatePathParams: false,
    readWriteMarkers: false,
    resolve: ($ref) => resolveRef(schema, $ref, { silent: true }),
  };
}

/** The text of `generated/<api>/schema.ts` below its header line: openapi-typescript's types of the document. */
export function schemaTypes(document: Record<string, unknown>): string {
  // The transform may mutate its input; give it a copy of the bundled document.
  const schema = structuredClone(document) as unknown as OpenapiTS.OpenAPI3;
  const { astToString, transformSchema } = transform();
  return astToString(transformSchema(schema, defaultContext(schema)));
}

/** Step `types`: openapi-typescript → `generated/<api>/schema.ts`. */
export async function typesStep(api: ApiEntry, bundled: Bundled): Promise<Map<string, string>> {
  let text: string;
  try {
    text = schemaTypes(bundled.document);
  } catch (error) {
    throw new SpecError(`openapi-typescript could not type ${api.root}: ${(error as Error).message}`);
  }
  return new Map([[`generated/${api.name}/schema.ts`, `${header(api)}\n${text}`]]);
}
