import { describe, expect, it } from "vitest";
import { literal } from "../../scripts/lib/builders.js";

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
