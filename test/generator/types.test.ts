/**
 * The types step runs openapi-typescript's transform without `openapiTS`'s own lint and bundle
 * (scripts/steps/types.ts). Its output must stay byte-identical to `openapiTS`'s: on every API of
 * the registry, and on a small document with the constructs the specs do not use yet.
 */
import openapiTS, { astToString } from "openapi-typescript";
import { describe, expect, it } from "vitest";
import { loadRegistry } from "../../scripts/lib/registry.js";
import { bundleStep } from "../../scripts/steps/bundle.js";
import { schemaTypes } from "../../scripts/steps/types.js";

async function viaOpenapiTS(document: Record<string, unknown>): Promise<string> {
  const ast = await openapiTS(structuredClone(document) as unknown as Parameters<typeof openapiTS>[0], {
    silent: true,
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

  it("leaves the bundled document as it was", () => {
    const copy = structuredClone(constructs);
    schemaTypes(constructs);
    expect(constructs).toEqual(copy);
  });
});
