/**
 * JSON Schema → fast-check arbitrary, for the subset of OpenAPI 3.1 schemas the specs use: `$ref`
 * (local, recursion bounded by depth), `type` (one or a list), object `properties` / `required` /
 * `additionalProperties`, array `items` / `minItems` / `maxItems`, `enum`, `const`, `oneOf`, `anyOf`,
 * `allOf`, `not` (of `const` / `enum` / `type`), string `pattern` / `minLength` / `maxLength`,
 * `minimum` / `maximum`. A keyword outside that subset throws, so a spec that starts using one is
 * noticed here instead of generating values that silently miss it.
 */
import fc from "fast-check";

type Json = Record<string, unknown>;
type Schema = Json | boolean;

/** Keywords that only annotate: they constrain nothing a generator has to honour. */
const ANNOTATIONS = new Set([
  "description",
  "title",
  "summary",
  "examples",
  "example",
  "default",
  "deprecated",
  "readOnly",
  "writeOnly",
  "externalDocs",
  "$comment",
  // int32/int64/float/double: ranges are not enforced by the specs' validators either.
  "format",
]);

const CONSTRAINTS = new Set([
  "$ref",
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "minItems",
  "maxItems",
  "enum",
  "const",
  "oneOf",
  "anyOf",
  "allOf",
  "not",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
]);

const JSON_TYPES = ["null", "boolean", "integer", "number", "string", "array", "object"] as const;
type JsonType = (typeof JSON_TYPES)[number];

export interface ArbitraryOptions {
  /** How many `$ref`s deep a value may go before optional parts are left out (recursive schemas). */
  maxDepth?: number;
  /** Upper bound on generated array lengths (a schema's `maxItems` lowers it). */
  maxItems?: number;
  /** Upper bound on generated string lengths. */
  maxLength?: number;
}

/** A JSON value a test can put on the wire: no `-0`, no `NaN`, no `undefined`. */
export function jsonValue(maxDepth = 2): fc.Arbitrary<unknown> {
  return fc.jsonValue({ maxDepth }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
}

function typeOfValue(value: unknown): JsonType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value as JsonType;
}

function typesOf(schema: Json): JsonType[] | undefined {
  if (schema.type === undefined) return undefined;
  const list = (Array.isArray(schema.type) ? schema.type : [schema.type]) as string[];
  for (const t of list) {
    if (!(JSON_TYPES as readonly string[]).includes(t)) throw new Error(`unknown JSON Schema type ${t}`);
  }
  return list as JsonType[];
}

function hasType(types: JsonType[], value: unknown): boolean {
  const t = typeOfValue(value);
  return types.includes(t) || (t === "integer" && types.includes("number"));
}

/** Refuses a `not` subschema the generator cannot honour: only `const`, `enum` and `type` are. */
function checkSimple(schema: Json): void {
  for (const key of Object.keys(schema)) {
    if (ANNOTATIONS.has(key)) continue;
    if (key !== "const" && key !== "enum" && key !== "type")
      throw new Error(`\`not\` with ${key} is not supported by the generator`);
  }
}

/** Whether `value` matches a `not` subschema (checked by `checkSimple`). */
function matchesSimple(schema: Json, value: unknown): boolean {
  const same = (a: unknown) => JSON.stringify(a) === JSON.stringify(value);
  if ("const" in schema && !same(schema.const)) return false;
  if (Array.isArray(schema.enum) && !schema.enum.some(same)) return false;
  const types = typesOf(schema);
  if (types && !hasType(types, value)) return false;
  return true;
}

/** The arbitrary builder for one document (its `#/components/...` references resolve against it). */
export class SchemaArbitraries {
  readonly #document: Json;
  readonly #maxDepth: number;
  readonly #maxItems: number;
  readonly #maxLength: number;

  constructor(document: Json, options: ArbitraryOptions = {}) {
    this.#document = document;
    this.#maxDepth = options.maxDepth ?? 3;
    this.#maxItems = options.maxItems ?? 4;
    this.#maxLength = options.maxLength ?? 16;
  }

  /** The schema at a JSON pointer of the document (`#/components/schemas/Error`). */
  at(pointer: string): Json {
    if (!pointer.startsWith("#/")) throw new Error(`only local references are supported: ${pointer}`);
    const node = pointer
      .slice(2)
      .split("/")
      .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
      .reduce<unknown>((acc, key) => (acc as Json | undefined)?.[key], this.#document);
    if (node === undefined) throw new Error(`unresolved reference ${pointer}`);
    return node as Json;
  }

  /** Values valid against `schema`. */
  of(schema: Schema): fc.Arbitrary<unknown> {
    return this.#build(schema, 0);
  }

  #deref(schema: Json): Json {
    let current = schema;
    for (let hops = 0; typeof current.$ref === "string"; hops++) {
      if (hops > 32) throw new Error(`reference loop at ${String(current.$ref)}`);
      const { $ref, ...siblings } = current;
      const target = this.at($ref as string);
      current = Object.keys(siblings).some((k) => !ANNOTATIONS.has(k))
        ? { allOf: [target, siblings] }
        : target;
    }
    return current;
  }

  #check(schema: Json): void {
    for (const key of Object.keys(schema)) {
      if (ANNOTATIONS.has(key) || CONSTRAINTS.has(key) || key.startsWith("x-")) continue;
      throw new Error(`JSON Schema keyword ${key} is not supported by the generator`);
    }
  }

  /**
   * Folds `allOf` into one schema: properties merged (a property in several parts becomes the
   * `allOf` of its parts), `required` united, `type` and `enum` intersected, `not`s kept together.
   */
  #merge(parts: Json[]): Json {
    const out: Json = {};
    const properties: Record<string, Json[]> = {};
    const required = new Set<string>();
    const nots: Json[] = [];
    const alternatives: Json[] = [];
    for (const raw of parts) {
      let part = this.#deref(raw);
      if (Array.isArray(part.allOf)) {
        const { allOf, ...rest } = part;
        part = this.#merge([rest, ...(allOf as Json[])]);
      }
      this.#check(part);
      for (const [key, value] of Object.entries(part)) {
        if (ANNOTATIONS.has(key) || key.startsWith("x-")) continue;
        switch (key) {
          case "properties":
            for (const [name, sub] of Object.entries(value as Record<string, Json>)) {
              const list = properties[name] ?? [];
              list.push(sub);
              properties[name] = list;
            }
            break;
          case "required":
            for (const name of value as string[]) required.add(name);
            break;
          case "type": {
            const mine = typesOf(part) ?? [];
            const seen = out.type as JsonType[] | undefined;
            out.type = seen
              ? seen.filter((t) => mine.includes(t) || (t === "integer" && mine.includes("number")))
              : mine;
            break;
          }
          case "enum": {
            const seen = out.enum as unknown[] | undefined;
            const list = value as unknown[];
            out.enum = seen
              ? seen.filter((a) => list.some((b) => JSON.stringify(a) === JSON.stringify(b)))
              : list;
            break;
          }
          case "not":
            nots.push(value as Json);
            break;
          case "oneOf":
          case "anyOf":
            // One alternative list per part: each becomes an allOf branch below.
            alternatives.push({ [key]: value });
            break;
          case "maxItems":
          case "maxLength":
          case "maximum":
            out[key] = Math.min(Number(out[key] ?? Number.POSITIVE_INFINITY), Number(value));
            break;
          case "minItems":
          case "minLength":
          case "minimum":
            out[key] = Math.max(Number(out[key] ?? Number.NEGATIVE_INFINITY), Number(value));
            break;
          case "additionalProperties":
            out.additionalProperties =
              out.additionalProperties === false || value === false
                ? false
                : (out.additionalProperties ?? value);
            break;
          case "items":
            out.items = out.items === undefined ? value : { allOf: [out.items, value] };
            break;
          default:
            if (key in out && JSON.stringify(out[key]) !== JSON.stringify(value))
              throw new Error(`allOf parts disagree on ${key}`);
            out[key] = value;
        }
      }
    }
    if (Object.keys(properties).length) {
      out.properties = Object.fromEntries(
        Object.entries(properties).map(([name, subs]) => [
          name,
          subs.length === 1 ? (subs[0] as Json) : { allOf: subs },
        ]),
      );
    }
    if (required.size) out.required = [...required];
    if (nots.length === 1) out.not = nots[0];
    else if (nots.length > 1) out.not = { anyOf: nots };
    if (alternatives.length === 1) Object.assign(out, alternatives[0]);
    else if (alternatives.length > 1)
      throw new Error("allOf with several oneOf/anyOf parts is not supported");
    return out;
  }

  #build(input: Schema, depth: number): fc.Arbitrary<unknown> {
    if (input === true) return jsonValue();
    if (input === false) throw new Error("the schema `false` has no valid value");
    const viaRef = typeof input.$ref === "string";
    let schema = this.#deref(input);
    const nextDepth = viaRef ? depth + 1 : depth;
    if (Array.isArray(schema.allOf)) {
      const { allOf, ...rest } = schema;
      schema = this.#merge([rest, ...(allOf as Json[])]);
    }
    this.#check(schema);

    // Alternatives: each branch with the schema's other keywords applied to it.
    for (const key of ["oneOf", "anyOf"] as const) {
      const branches = schema[key];
      if (!Array.isArray(branches)) continue;
      const { [key]: _, ...rest } = schema;
      const shared = Object.keys(rest).some((k) => !ANNOTATIONS.has(k) && !k.startsWith("x-"));
      return fc.oneof(
        ...(branches as Json[]).map((branch) =>
          this.#build(shared ? { allOf: [rest, branch] } : branch, nextDepth),
        ),
      );
    }

    const not = schema.not as Json | undefined;
    const base = this.#plain(schema, nextDepth);
    if (!not) return base;
    const excluded = Array.isArray(not.anyOf) ? (not.anyOf as Json[]) : [not];
    for (const n of excluded) checkSimple(n);
    return base.filter((value) => !excluded.some((n) => matchesSimple(n, value)));
  }

  /** A schema without alternatives: const, enum, or values of its type(s). */
  #plain(schema: Json, depth: number): fc.Arbitrary<unknown> {
    const types = typesOf(schema);
    if ("const" in schema) return fc.constant(structuredClone(schema.const));
    if (Array.isArray(schema.enum)) {
      const allowed = types ? schema.enum.filter((v) => hasType(types, v)) : schema.enum;
      if (allowed.length === 0) throw new Error("an enum with no value of the declared type");
      return fc.constantFrom(...allowed.map((v) => structuredClone(v) as unknown));
    }
    const kinds = types ?? this.#impliedTypes(schema);
    if (!kinds) return jsonValue();
    return fc.oneof(...kinds.map((t) => this.#ofType(t, schema, depth)));
  }

  /** Without `type`: the type the other keywords imply, or any JSON value. */
  #impliedTypes(schema: Json): JsonType[] | undefined {
    if (schema.properties || schema.required || schema.additionalProperties !== undefined) return ["object"];
    if (schema.items || schema.maxItems !== undefined || schema.minItems !== undefined) return ["array"];
    if (schema.pattern !== undefined || schema.minLength !== undefined || schema.maxLength !== undefined)
      return ["string"];
    return undefined;
  }

  #ofType(type: JsonType, schema: Json, depth: number): fc.Arbitrary<unknown> {
    switch (type) {
      case "null":
        return fc.constant(null);
      case "boolean":
        return fc.boolean();
      case "integer": {
        const min = typeof schema.minimum === "number" ? Math.ceil(schema.minimum) : undefined;
        const max = typeof schema.maximum === "number" ? Math.floor(schema.maximum) : undefined;
        return fc.oneof(
          fc.integer({ min: min ?? -(2 ** 31), max: max ?? 2 ** 31 - 1 }),
          fc.integer({
            min: min ?? Number.MIN_SAFE_INTEGER,
            max: max ?? Number.MAX_SAFE_INTEGER,
          }),
        );
      }
      case "number": {
        const min = typeof schema.minimum === "number" ? schema.minimum : undefined;
        const max = typeof schema.maximum === "number" ? schema.maximum : undefined;
        return fc
          .double({
            noNaN: true,
            noDefaultInfinity: true,
            ...(min !== undefined ? { min } : {}),
            ...(max !== undefined ? { max } : {}),
          })
          .map((v) => (Object.is(v, -0) ? 0 : v));
      }
      case "string": {
        const minLength = typeof schema.minLength === "number" ? schema.minLength : 0;
        const maxLength = Math.max(
          minLength,
          Math.min(
            typeof schema.maxLength === "number" ? schema.maxLength : this.#maxLength,
            this.#maxLength,
          ),
        );
        if (typeof schema.pattern === "string") {
          const pattern = new RegExp(schema.pattern);
          return fc
            .stringMatching(pattern)
            .filter(
              (s) => s.length >= minLength && (schema.maxLength === undefined || s.length <= maxLength),
            );
        }
        return fc.string({ unit: "binary", minLength, maxLength });
      }
      case "array": {
        const minLength = typeof schema.minItems === "number" ? schema.minItems : 0;
        const cap =
          typeof schema.maxItems === "number" ? Math.min(schema.maxItems, this.#maxItems) : this.#maxItems;
        const maxLength = depth > this.#maxDepth ? minLength : Math.max(minLength, cap);
        if (maxLength === 0) return fc.constant([]);
        const items = schema.items === undefined ? jsonValue(1) : this.#build(schema.items as Schema, depth);
        return fc.array(items, { minLength, maxLength });
      }
      case "object":
        return this.#object(schema, depth);
    }
  }

  #object(schema: Json, depth: number): fc.Arbitrary<unknown> {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const required = new Set((schema.required ?? []) as string[]);
    const deep = depth > this.#maxDepth;
    const model: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [name, sub] of Object.entries(properties)) {
      // Past the depth limit only required properties are generated: recursion has to end.
      if (deep && !required.has(name)) continue;
      model[name] = this.#build(sub, depth);
    }
    for (const name of required) {
      // A required property the schema does not describe: any JSON value will do.
      model[name] ??= jsonValue(1);
    }
    const record = fc.record(model, {
      requiredKeys: [...required].filter((k) => k in model),
      noNullPrototype: true,
    });
    const extra = schema.additionalProperties;
    if (extra === undefined || extra === false || deep) return record;
    const known = new Set(Object.keys(properties));
    const values = extra === true ? jsonValue(1) : this.#build(extra as Schema, depth + 1);
    const keys = fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !known.has(k));
    return fc
      .tuple(record, fc.dictionary(keys, values, { maxKeys: 3, noNullPrototype: true }))
      .map(([fixed, more]) => ({ ...(more as Json), ...(fixed as Json) }));
  }
}
