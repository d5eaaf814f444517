import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { clientOf } from "../../scripts/docs/clients.js";
import { baseUrlOf, placeholder, sampleParams, schemaExample } from "../../scripts/docs/examples.js";
import { assertOffline, removeBadgeLogo } from "../../scripts/docs/offline.js";
import {
  curlSample,
  jsonLiteral,
  shellQuote,
  tsLiteral,
  typescriptSample,
} from "../../scripts/docs/samples.js";
import { fileFor } from "../../scripts/docs/static-server.js";
import { extractApi } from "../../scripts/lib/extract.js";
import { loadRegistry } from "../../scripts/lib/registry.js";
import { bundleStep } from "../../scripts/steps/bundle.js";
import { ROOT } from "../support/repo-copy.js";

type Doc = Record<string, unknown>;

/** A one-operation OpenAPI 3.1 document: `GET|POST /things/{id}` with the given parts. */
function doc(operation: Doc, extra: Doc = {}): Doc {
  return {
    openapi: "3.1.0",
    info: { title: "T", version: "1" },
    servers: [{ url: "https://{host}/api/", variables: { host: { default: "example.test" } } }],
    security: [{ app: [] }],
    components: {
      securitySchemes: {
        app: { type: "apiKey", in: "header", name: "x-token", "x-imspec-token-kind": "app" },
      },
    },
    paths: {
      "/things/{id}": {
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "integer" }, example: 7 }],
        ...operation,
      },
    },
    ...extra,
  };
}

const ok = { "200": { description: "OK", content: { "application/json": { schema: { type: "object" } } } } };

describe("example values", () => {
  const cases: Array<{ name: string; schema: Doc; want: unknown }> = [
    { name: "3.1 examples win over example", schema: { examples: ["a"], example: "b" }, want: "a" },
    { name: "then example", schema: { example: "b", default: "c" }, want: "b" },
    { name: "then default", schema: { default: "c", enum: ["d"] }, want: "c" },
    { name: "then the first enum value", schema: { enum: ["d", "e"] }, want: "d" },
    { name: "a false example is an example", schema: { example: false }, want: false },
    {
      name: "composed schemas: the first branch that has one",
      schema: { allOf: [{}, { example: 3 }] },
      want: 3,
    },
  ];
  it.each(cases)("$name", ({ schema, want }) => {
    expect(schemaExample({}, schema)).toEqual({ value: want });
  });

  it("no example: a placeholder typed like the schema", () => {
    expect(schemaExample({}, { type: "string" })).toBeUndefined();
    expect(placeholder({}, { type: "string" }, "name")).toBe("<name>");
    expect(placeholder({}, { type: ["integer", "null"] }, "n")).toBe(0);
    expect(placeholder({}, { type: "array" }, "xs")).toEqual([]);
  });

  it("the base URL fills server variables with their defaults", () => {
    expect(baseUrlOf(doc({}))).toBe("https://example.test/api");
  });

  it("samples send the required parameters and the body example's fields, nothing else", () => {
    const d = doc({
      post: {
        operationId: "saveThing",
        tags: ["things"],
        parameters: [
          { name: "q", in: "query", required: true, schema: { type: "string", examples: ["x y"] } },
          { name: "opt", in: "query", schema: { type: "string" }, example: "skipped" },
        ],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: {
                type: "object",
                required: ["name", "size"],
                properties: {
                  name: { type: "string" },
                  size: { type: "integer", example: 3 },
                  note: { type: "string" },
                  extra: { type: "string", example: "not in the body example" },
                },
              },
              examples: { first: { value: { name: "it's $HOME", note: "n" } } },
            },
          },
        },
        responses: ok,
      },
    });
    const [op] = extractApi(d).operations;
    if (!op) throw new Error("no operation");
    expect(sampleParams(d, op)).toEqual([
      { name: "id", in: "path", value: 7 },
      { name: "q", in: "query", value: "x y" },
      { name: "name", in: "body", value: "it's $HOME" },
      { name: "size", in: "body", value: 3 },
      { name: "note", in: "body", value: "n" },
    ]);
    const curl = curlSample(d, extractApi(d), op);
    expect(curl).toBe(
      [
        `curl -X POST "https://example.test/api/things/7?q=x%20y" \\`,
        `  -H "x-token: $ACCESS_TOKEN" \\`,
        `  -H 'Content-Type: application/json' \\`,
        `  -d '{"name":"it'\\''s $HOME","size":3,"note":"n"}'`,
      ].join("\n"),
    );
  });
});

describe("literals and quoting", () => {
  it("prints TypeScript on one line when it fits, else one entry per line", () => {
    expect(tsLiteral({ a: 1, "b-c": ["x"] })).toBe(`{ a: 1, "b-c": ["x"] }`);
    expect(tsLiteral({ a: "x".repeat(40), b: "y".repeat(40) })).toBe(
      `{\n  a: "${"x".repeat(40)}",\n  b: "${"y".repeat(40)}",\n}`,
    );
    expect(tsLiteral({})).toBe("{}");
  });

  it("prints JSON without trailing commas", () => {
    expect(jsonLiteral({ a: 1 })).toBe(`{"a":1}`);
    expect(jsonLiteral({ a: "x".repeat(40), b: [1] }, "", 20)).toBe(
      `{\n  "a": "${"x".repeat(40)}",\n  "b": [1]\n}`,
    );
  });

  it("single-quotes shell words so nothing expands", () => {
    expect(shellQuote(`a'b $c`)).toBe(`'a'\\''b $c'`);
  });
});

describe("offline pages", () => {
  it("replaces the badge logo and accepts a page built without telemetry", () => {
    const page = `<img src="https://cdn.redoc.ly/redoc/logo-mini.svg"><script>const __redoc_options = {"disableTelemetry":true};</script>`;
    const fixed = removeBadgeLogo(page);
    expect(fixed).not.toContain("cdn.redoc.ly");
    expect(() => assertOffline(fixed, "page")).not.toThrow();
  });

  const leaks: Array<[string, string]> = [
    ["a script file", `<script src="/x.js"></script>`],
    ["an external <link>", `<link rel="stylesheet" href="https://fonts.example/css">`],
    ["an external CSS url()", `<style>body { background: url(//cdn.example/a.png) }</style>`],
    ["telemetry", `<script>const __redoc_options = {"disableTelemetry":false};</script>`],
  ];
  it.each(leaks)("refuses %s", (what, page) => {
    expect(() => assertOffline(page, "page")).toThrow(what);
  });

  it("the static server never serves a file outside its folder", () => {
    expect(fileFor("/srv/site", "/index.html")).toBe("/srv/site/index.html");
    expect(fileFor("/srv/site", "/../etc/passwd")).toBe("/srv/site/etc/passwd");
    expect(fileFor("/srv/site", "/%2e%2e/%2e%2e/etc/passwd")).toBe("/srv/site/etc/passwd");
    expect(fileFor("/srv/site", "/%E0%A4%A")).toBeUndefined();
  });
});

describe("the TypeScript samples of the real specs", () => {
  it("type-check against the clients", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "imspec-samples-"));
    try {
      const files: string[] = [];
      for (const entry of await loadRegistry()) {
        const { document } = await bundleStep(entry);
        const info = extractApi(document);
        for (const op of info.operations) {
          // .mts: an ES module wherever it lives, so the samples' top-level await is allowed.
          const file = path.join(dir, `${entry.name}.${op.operationId}.mts`);
          writeFileSync(file, `${typescriptSample(document, info, clientOf(entry.name, document), op)}\n`);
          files.push(file);
        }
      }
      expect(files.length).toBeGreaterThan(0);
      const config = ts.getParsedCommandLineOfConfigFile(
        path.join(ROOT, "tsconfig.json"),
        {},
        {
          ...ts.sys,
          onUnRecoverableConfigFileDiagnostic: (d) => {
            throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
          },
        },
      );
      if (!config) throw new Error("tsconfig.json did not parse");
      const program = ts.createProgram(files, { ...config.options, noEmit: true });
      const problems = ts
        .getPreEmitDiagnostics(program)
        .filter((d) => d.file && files.includes(path.resolve(d.file.fileName)))
        .map((d) => {
          const where = d.file?.getLineAndCharacterOfPosition(d.start ?? 0);
          const name = path.basename(d.file?.fileName ?? "");
          return `${name}:${(where?.line ?? 0) + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
        });
      expect(problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("'every item of every page' starts at the first page: the example's cursor is not passed", async () => {
    let paginated = 0;
    for (const entry of await loadRegistry()) {
      const { document } = await bundleStep(entry);
      const info = extractApi(document);
      for (const op of info.operations) {
        if (!op.pagination) continue;
        paginated++;
        const sample = typescriptSample(document, info, clientOf(entry.name, document), op);
        const iterate = sample.slice(sample.indexOf(".iterate("));
        expect(iterate, `${entry.name}.${op.operationId}`).not.toMatch(
          new RegExp(`\\b${op.pagination.cursorParam}\\s*:`),
        );
      }
    }
    // WeCom's listUserIds, whose body example carries a cursor, among them.
    expect(paginated).toBeGreaterThanOrEqual(2);
  });
});
