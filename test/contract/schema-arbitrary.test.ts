/**
 * The JSON Schema → fast-check generator the property tests rely on: every schema of both specs
 * yields only values the spec's own validator (ajv, 2020-12) accepts, the keywords it knows are
 * honoured, and a keyword it does not know is refused instead of ignored.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { SchemaArbitraries } from "./schema-arbitrary.js";
import { APIS, type Json, schemaErrors, specOf } from "./support.js";

const SEED = 20_251_128;

describe.each(APIS)("every schema of the %s spec", (api) => {
  const arbitraries = new SchemaArbitraries(specOf(api));
  const names = Object.keys(((specOf(api).components as Json).schemas ?? {}) as Json);

  test.each(names)("%s: generated values are valid", (name) => {
    const pointer = `#/components/schemas/${name}`;
    fc.assert(
      fc.property(arbitraries.of({ $ref: pointer }), (value) => {
        expect(schemaErrors(api, pointer, value)).toEqual([]);
      }),
      { numRuns: 100, seed: SEED },
    );
  });
});

describe("keywords", () => {
  const arbitraries = new SchemaArbitraries({});
  const sample = (schema: Json) => fc.sample(arbitraries.of(schema), { numRuns: 200, seed: SEED });

  test("maxItems, minItems and items", () => {
    for (const value of sample({ type: "array", minItems: 1, maxItems: 2, items: { const: 7 } })) {
      expect(value).toSatisfy((v: unknown[]) => v.length >= 1 && v.length <= 2 && v.every((x) => x === 7));
    }
  });

  test("required and optional properties; no others without additionalProperties", () => {
    const values = sample({
      type: "object",
      required: ["id"],
      properties: { id: { type: "integer" }, note: { type: "string" } },
    }) as Json[];
    for (const value of values) {
      expect(Number.isInteger(value.id)).toBe(true);
      expect(Object.keys(value).every((k) => k === "id" || k === "note")).toBe(true);
    }
    expect(values.some((v) => "note" in v)).toBe(true);
    expect(values.some((v) => !("note" in v))).toBe(true);
  });

  test("oneOf, allOf, const, enum, not and type lists", () => {
    const schema = {
      oneOf: [
        { allOf: [{ type: "object", required: ["status"] }, { properties: { status: { const: 0 } } }] },
        {
          type: "object",
          required: ["status"],
          properties: { status: { type: "integer", not: { const: 0 } } },
        },
      ],
    };
    const statuses = (sample(schema) as Json[]).map((v) => v.status);
    expect(statuses).toContain(0);
    expect(statuses.filter((s) => s !== 0).every((s) => Number.isInteger(s))).toBe(true);
    for (const v of sample({ type: ["integer", "string"], enum: [1, "a", true] }))
      expect([1, "a"]).toContain(v);
  });

  test("a pattern", () => {
    for (const v of sample({ type: "string", pattern: "^[0-9]+$" })) expect(v).toMatch(/^[0-9]+$/);
  });

  test("recursion through $ref ends", () => {
    const tree = new SchemaArbitraries(
      {
        components: {
          schemas: {
            Node: {
              type: "object",
              properties: { children: { type: "array", items: { $ref: "#/components/schemas/Node" } } },
            },
          },
        },
      },
      { maxDepth: 2 },
    );
    const depth = (n: Json): number =>
      1 + Math.max(0, ...((n.children ?? []) as Json[]).map((c) => depth(c)));
    const values = fc.sample(tree.of({ $ref: "#/components/schemas/Node" }), { numRuns: 200, seed: SEED });
    for (const v of values) expect(depth(v as Json)).toBeLessThanOrEqual(4);
  });

  test("an unknown keyword is refused, not ignored", () => {
    expect(() => arbitraries.of({ type: "object", patternProperties: { "^x": {} } })).toThrow(
      /patternProperties is not supported/,
    );
    expect(() => arbitraries.of({ type: "string", not: { pattern: "a" } })).toThrow(/not.*pattern/);
  });
});
