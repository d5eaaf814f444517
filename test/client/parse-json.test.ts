import { describe, expect, it } from "vitest";
import { parseJson } from "../../src/core/engine.js";

describe("parseJson", () => {
  it("keeps an int64 beyond 2^53 as its exact digits, and leaves strings and safe numbers alone", () => {
    expect(parseJson('{"id":12345678901234567890,"n":1234567890123456,"s":"12345678901234567890"}')).toEqual({
      id: "12345678901234567890",
      n: 1234567890123456,
      s: "12345678901234567890",
    });
  });

  it("refuses text that is not JSON before rewriting it: a string never closed is one parse, not a rescan per quote", () => {
    // 200 KB of escaped quotes, then long digits: the rewrite alone would rescan from every quote
    // (tens of seconds, the event loop frozen past any timeout).
    const hostile = `"${'\\"'.repeat(100_000)}1234567890123456`;
    expect(() => parseJson(hostile)).toThrow(SyntaxError);
  });
});
