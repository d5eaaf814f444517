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

  it("finds a long integer wherever its digits fall: every run of 15 to 17 digits at every offset", () => {
    // The scan looks at one character in 16 and reads the digits around it: no offset may slip through.
    const big = "98765432109876531"; // 16 and 17 digits: odd, so no double holds them
    for (let length = 15; length <= 17; length++)
      for (let pad = 0; pad < 40; pad++) {
        const digits = big.slice(0, length);
        const text = `{"${"k".repeat(pad)}":${digits},"t":"1${"0".repeat(pad % 20)}"}`;
        const value = (parseJson(text) as Record<string, unknown>)["k".repeat(pad)];
        expect(value).toBe(String(Number(digits)) === digits ? Number(digits) : digits);
      }
  });

  it("reads an answer with a string of millions of characters beside an int64 (no stack overflow)", () => {
    // A regular expression over the strings kept one backtrack entry per character: past about 8.4
    // million it overflowed, and a valid answer under the 10 MiB cap read as "not JSON".
    const blob = "A".repeat(9_000_000);
    const text = `{"blob":"${blob}","escaped":"a\\\\\\"b 12345678901234567890","id":1234567890123456789}`;
    expect(parseJson(text)).toEqual({
      blob,
      escaped: 'a\\"b 12345678901234567890',
      id: "1234567890123456789",
    });
  });

  it("refuses text that is not JSON: a string never closed is skipped in one pass, not rescanned from each quote", () => {
    // 200 KB of escaped quotes, then long digits: a scan that rescanned from every quote took tens
    // of seconds here, the event loop frozen past any timeout.
    const hostile = `"${'\\"'.repeat(100_000)}1234567890123456`;
    expect(() => parseJson(hostile)).toThrow(SyntaxError);
  });
});
