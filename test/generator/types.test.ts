/**
 * The types step runs openapi-typescript's transform without `openapiTS`'s own lint and bundle
 * (scripts/steps/types.ts). Its output must stay byte-identical to `openapiTS`'s: on every API of
 * the registry, and on a small document with the constructs the specs do not use yet.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import openapiTS, { astToString } from "openapi-typescript";
import { describe, expect, it } from "vitest";
import { loadRegistry, ROOT } from "../../scripts/lib/registry.js";
import { bundleStep } from "../../scripts/steps/bundle.js";
import { int64, markOpenEnums, openEnums, schemaTypes } from "../../scripts/steps/types.js";

/** What `openapiTS` prints with the step's options: int64 as `number | string`, open enums (`x-imspec-open-enum`). */
async function viaOpenapiTS(document: Record<string, unknown>): Promise<string> {
  const ast = await openapiTS(markOpenEnums(document) as unknown as Parameters<typeof openapiTS>[0], {
    silent: true,
    transform: int64,
    postTransform: openEnums,
  });
  return astToString(ast);
}

const constructs: Record<string, unknown> = {
  openapi: "3.1.0",
  info: { title: "constructs", version: "1" },
  paths: {
    "/pets/{petId}": {
      parameters: [{ name: "petId", in: "path", required: true, schema: { type: "string" } }],
      get: {
        operationId: "getPet",
        parameters: [
          { name: "fields", in: "query", schema: { type: "array", items: { type: "string" } } },
          { name: "x-trace", in: "header", schema: { type: "string" } },
        ],
        responses: {
          "200": {
            description: "ok",
            headers: { "x-rate": { schema: { type: "integer" } } },
            content: { "application/json": { schema: { $ref: "#/components/schemas/Pet" } } },
          },
          default: {
            description: "error",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
          },
        },
      },
      put: {
        operationId: "putPet",
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/Pet" } } },
        },
        responses: { "204": { description: "done" } },
      },
    },
  },
  components: {
    schemas: {
      Pet: {
        oneOf: [{ $ref: "#/components/schemas/Cat" }, { $ref: "#/components/schemas/Dog" }],
        discriminator: { propertyName: "kind", mapping: { cat: "#/components/schemas/Cat" } },
      },
      Base: {
        type: "object",
        required: ["kind"],
        properties: {
          kind: { type: "string" },
          name: { type: ["string", "null"], description: "The name, if any.", default: "rex" },
          tags: { type: "object", additionalProperties: { type: "string" } },
          born: { type: "string", format: "date-time", deprecated: true },
        },
      },
      Cat: {
        allOf: [
          { $ref: "#/components/schemas/Base" },
          { type: "object", properties: { lives: { type: "integer", enum: [7, 9] } } },
        ],
      },
      Dog: {
        allOf: [
          { $ref: "#/components/schemas/Base" },
          { type: "object", properties: { good: { const: true } } },
        ],
      },
      Error: {
        type: "object",
        properties: {
          code: { type: "string", enum: ["a", "b"] },
          list: { type: "array", items: {}, minItems: 1 },
        },
        additionalProperties: false,
      },
    },
  },
};

/** A document whose one component schema is `schema`; the step's line for it. */
function typeOf(schema: Record<string, unknown>): string {
  const text = schemaTypes({
    openapi: "3.1.0",
    info: { title: "t", version: "1" },
    paths: {},
    components: { schemas: { T: schema } },
  });
  const line = text.split("\n").find((l) => l.trimStart().startsWith("T: "));
  if (!line) throw new Error(`no type T in:\n${text}`);
  return line.trim().replace(/^T: /, "").replace(/;$/, "");
}

describe("x-imspec-open-enum: the known values, and any other of the enum's type", () => {
  const open = { "x-imspec-open-enum": true };
  it.each([
    ["a string enum", { type: "string", enum: ["A", "B"], ...open }, '"A" | "B" | (string & {})'],
    ["an integer enum", { type: "integer", enum: [1, 2, 3], ...open }, "1 | 2 | 3 | (number & {})"],
    ["a negative number", { type: "number", enum: [-1, 0.5], ...open }, "-1 | 0.5 | (number & {})"],
    ["one value", { type: "string", enum: ["ONLY"], ...open }, '"ONLY" | (string & {})'],
    [
      "a nullable integer enum",
      { type: ["integer", "null"], enum: [0, 1, null], ...open },
      "0 | 1 | null | (number & {})",
    ],
    ["a closed enum stays closed", { type: "string", enum: ["A", "B"] }, '"A" | "B"'],
    ["false is not open", { type: "string", enum: ["A"], "x-imspec-open-enum": false }, '"A"'],
    [
      "array items",
      { type: "array", items: { type: "integer", enum: [1, 2], ...open } },
      "(1 | 2 | (number & {}))[]",
    ],
    [
      "an anyOf branch",
      {
        anyOf: [
          { type: "string", enum: ["name"], ...open },
          { type: "string", pattern: "^[0-9]+$" },
        ],
      },
      '("name" | (string & {})) | string',
    ],
  ])("%s", (_case, schema, want) => {
    expect(typeOf(schema)).toBe(want);
  });

  it("a property: the object's other members are left alone", () => {
    const schema = {
      type: "object",
      required: ["kind"],
      properties: { kind: { type: "integer", enum: [1, 2], ...open }, name: { type: "string", enum: ["x"] } },
    };
    const text = schemaTypes({
      openapi: "3.1.0",
      info: { title: "t", version: "1" },
      paths: {},
      components: { schemas: { T: schema } },
    });
    expect(text).toContain("kind: 1 | 2 | (number & {});");
    expect(text).toContain('name?: "x";');
  });

  it("the generated DingTalk types accept a value DingTalk adds later, and still list the known ones", () => {
    const text = readFileSync(path.join(ROOT, "generated/dingtalk/schema.ts"), "utf8");
    expect(text).toMatch(/ProtectScene: "DING_SMS" \| [^;]*"CALL_CENTER" \| \(string & \{\}\);/);
    expect(text).toContain("auditType: 0 | 1 | (number & {});");
    expect(text).toContain("type?: 1 | 2 | 3 | (number & {});");
    expect(text).toMatch(/HideField: string \| \("name" \| [^;]*"job_number" \| \(string & \{\}\)\);/);
    expect(text).not.toContain("x-imspec-open-enum: any other value");
  });
});

describe("the types step", () => {
  it("prints what openapiTS prints, for every API of the registry", async () => {
    for (const api of await loadRegistry()) {
      const { document } = await bundleStep(api);
      expect(schemaTypes(document), api.name).toBe(await viaOpenapiTS(document));
    }
  });

  it("prints what openapiTS prints for discriminators, compositions, enums, nullable and maps", async () => {
    expect(schemaTypes(constructs)).toBe(await viaOpenapiTS(constructs));
  });

  it("keeps a property named __proto__, as openapiTS does", async () => {
    // As the bundled document holds it (JSON.parse makes it an own property), and as a spec may name a field.
    const document = JSON.parse(
      JSON.stringify({
        openapi: "3.1.0",
        info: { title: "t", version: "1" },
        paths: {},
        components: { schemas: { T: { type: "object", properties: { name: { type: "string" } } } } },
      }).replace('"properties":{', '"properties":{"__proto__":{"type":"integer"},'),
    ) as Record<string, unknown>;
    const text = schemaTypes(document);
    expect(text).toContain("__proto__?: number;");
    expect(text).toContain("name?: string;");
    expect(text).toBe(astToString(await openapiTS(document as never, { silent: true, transform: int64 })));
  });

  it("leaves the bundled document as it was", () => {
    const copy = structuredClone(constructs);
    schemaTypes(constructs);
    expect(constructs).toEqual(copy);
  });
});
