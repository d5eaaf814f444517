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

  it("refuses text that is not JSON: a string never closed is skipped in one pass, not rescanned from each quote", () => {
    // 200 KB of escaped quotes, then long digits: a scan that rescanned from every quote took tens
    // of seconds here, the event loop frozen past any timeout.
    const hostile = `"${'\\"'.repeat(100_000)}1234567890123456`;
    expect(() => parseJson(hostile)).toThrow(SyntaxError);
  });
});
