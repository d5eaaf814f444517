import ts from "typescript";
import { describe, expect, it } from "vitest";
import { literal, operationsFile, print } from "../../scripts/lib/builders.js";
import { extractApi } from "../../scripts/lib/extract.js";

/** What a printed literal is at run time, as the generated module evaluates it. */
const evaluate = (text: string): unknown => new Function(`return (${text});`)();

describe("literal", () => {
  it("gives back the data it prints, keys and values alike", () => {
    const data = { a: 1, "b-c": [true, null, "x"], nested: { list: [{ k: "v" }] }, empty: {} };
    expect(evaluate(literal(data))).toEqual(data);
  });

  it("keeps a key named __proto__ as a property, not as the object's prototype", () => {
    // As a spec can hold it (a refusal's `match: { __proto__: 1111 }`): bare or quoted, the key
    // would set the prototype, and the match, left empty, would match every answer.
    const data = JSON.parse('{"match":{"__proto__":1111},"fixed":{"__proto__":{"a":1}}}') as Record<
      string,
      Record<string, unknown>
    >;
    const printed = evaluate(literal(data)) as typeof data;
    expect(Object.keys(printed.match ?? {})).toEqual(["__proto__"]);
    expect(Object.getOwnPropertyDescriptor(printed.match, "__proto__")?.value).toBe(1111);
    expect(Object.getPrototypeOf(printed.fixed)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(printed.fixed, "__proto__")?.value).toEqual({ a: 1 });
  });
});

describe("operationsFile", () => {
  /** Syntax errors of a printed file, as TypeScript parses it. */
  const syntaxErrors = (text: string): string[] => {
    const output = ts.transpileModule(text, { reportDiagnostics: true, fileName: "operations.ts" });
    return (output.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  };

  it("keeps a `*/` in a path or an official SDK name inside the method's JSDoc", () => {
    // `*` is a legal character of a URL path, and x-sdk-operation is any string.
    const info = extractApi({
      openapi: "3.1.0",
      info: { title: "T", version: "1" },
      paths: {
        "/files/*/{id}": {
          get: {
            operationId: "getFile",
            tags: ["files"],
            security: [],
            "x-sdk-operation": "Get*/File",
            parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
            responses: { "200": { description: "OK", content: { "application/json": { schema: {} } } } },
          },
        },
      },
    });
    const text = print(operationsFile(info, "t"), "// header");
    expect(syntaxErrors(text)).toEqual([]);
    expect(text).toContain('path: "/files/*/{id}"');
  });
});
