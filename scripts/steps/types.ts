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

/**
 * A value no spec lists, added to each open enum before the transform: openapi-typescript's
 * `postTransform` hook sees the type it made but not the schema (and its `path` is not a JSON
 * pointer: properties and items share their parent's), so the value marks the type to open.
 */
const OPEN = "x-imspec-open-enum: any other value";

/** A copy of the document in which every `x-imspec-open-enum: true` enum also lists `OPEN`. */
export function markOpenEnums<T>(document: T): T {
  const mark = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(mark);
    if (!node || typeof node !== "object") return node;
    // Not `out[key] = …`: a property named `__proto__` (a field a spec may name) would set the
    // copy's prototype instead, and the field would be missing from the types without a word.
    const out: Record<string, unknown> = Object.fromEntries(
      Object.entries(node).map(([key, value]) => [key, mark(value)]),
    );
    if (out["x-imspec-open-enum"] === true && Array.isArray(out.enum)) out.enum = [...out.enum, OPEN];
    return out;
  };
  return mark(document) as T;
}

/**
 * openapi-typescript's `postTransform` hook for `x-imspec-open-enum: true` (scripts/README.md): the
 * listed values are the known ones, so the type also accepts any other value of the enum's type,
 * while editors still offer the known ones. Works on a document marked by `markOpenEnums`.
 *
 * @example
 * // enum: [CHAT, CALL], x-imspec-open-enum: true  →  "CHAT" | "CALL" | (string & {})
 * // type: integer, enum: [1, 2, 3], x-imspec-open-enum: true  →  1 | 2 | 3 | (number & {})
 */
export const openEnums: NonNullable<OpenapiTS.OpenAPITSOptions["postTransform"]> = (type) => {
  const t = ts();
  if (!t.isUnionTypeNode(type)) return undefined;
  // openapi-typescript prints a string literal as an identifier holding its JSON (lib/ts.ts tsLiteral).
  const isOpen = (node: import("typescript").Node) =>
    (t.isIdentifier(node) && node.text === JSON.stringify(OPEN)) ||
    (t.isLiteralTypeNode(node) && t.isStringLiteral(node.literal) && node.literal.text === OPEN);
  if (!type.types.some(isOpen)) return undefined;
  const known = type.types.filter((node) => !isOpen(node));
  const isNull = (node: import("typescript").Node) =>
    t.isLiteralTypeNode(node) && node.literal.kind === t.SyntaxKind.NullKeyword;
  // Numbers when every listed value is one (`null` aside), strings otherwise.
  const numeric =
    known.some((node) => t.isLiteralTypeNode(node) && !isNull(node)) &&
    known.every((node) => isNull(node) || (t.isLiteralTypeNode(node) && !t.isStringLiteral(node.literal)));
  const { factory, SyntaxKind } = t;
  const other = factory.createParenthesizedType(
    factory.createIntersectionTypeNode([
      factory.createKeywordTypeNode(numeric ? SyntaxKind.NumberKeyword : SyntaxKind.StringKeyword),
      factory.createTypeLiteralNode([]),
    ]),
  );
  return factory.createUnionTypeNode([...known, other]);
};

/**
 * openapi-typescript's `transform` hook for `format: int64` integers: the client parses a value
 * beyond 2^53 as its exact digits (a string), so the type says `number | string`.
 *
 * @example
 * // type: integer, format: int64  →  number | string
 */
export const int64: NonNullable<OpenapiTS.OpenAPITSOptions["transform"]> = (schema) => {
  const types = [(schema as { type?: unknown }).type].flat();
  // An enum's values are small: its literal types stay.
  if ((schema as { format?: unknown }).format !== "int64" || !types.includes("integer") || "enum" in schema)
    return undefined;
  const { factory, SyntaxKind } = ts();
  const members: import("typescript").TypeNode[] = [
    factory.createKeywordTypeNode(SyntaxKind.NumberKeyword),
    factory.createKeywordTypeNode(SyntaxKind.StringKeyword),
  ];
  if (types.includes("null")) members.push(factory.createLiteralTypeNode(factory.createNull()));
  return factory.createUnionTypeNode(members);
};

/** The TypeScript compiler openapi-typescript uses, loaded with it. */
function ts(): typeof import("typescript") {
  return createRequire(import.meta.url)("typescript") as typeof import("typescript");
}

/** The context `openapiTS(schema, { silent: true, transform: int64, postTransform: openEnums })` passes to `transformSchema`. */
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
    postTransform: openEnums,
    propertiesRequiredByDefault: false,
    // The Redocly config of openapiTS's own lint and bundle; the transforms do not read it.
    redoc: undefined as unknown as OpenapiTS.GlobalContext["redoc"],
    silent: true,
    transform: int64,
    transformProperty: undefined,
    makePathsEnum: false,
    generatePathParams: false,
    readWriteMarkers: false,
    resolve: ($ref) => resolveRef(schema, $ref, { silent: true }),
  };
}

/** The text of `generated/<api>/schema.ts` below its header line: openapi-typescript's types of the document. */
export function schemaTypes(document: Record<string, unknown>): string {
  // The transform may mutate its input; give it a copy of the bundled document (open enums marked).
  const schema = markOpenEnums(document) as unknown as OpenapiTS.OpenAPI3;
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
