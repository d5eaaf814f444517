import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { requestHeaders } from "../../src/core/engine.js";
import { headersFrom, rawHeader } from "../../src/core/transport.js";

/**
 * The engine and the whole-answer entry pass headers as plain records and raw pairs instead of
 * `Headers`; these check that they hold exactly what a `Headers` would.
 */

/** What the engine used to build: a Headers from the request's, with the client's and the call's set. */
function viaHeaders(
  base: Headers | Record<string, string>,
  client: Record<string, string> | undefined,
  call: Record<string, string> | undefined,
): [string, string][] | string {
  try {
    const headers = new Headers(base);
    for (const [k, v] of Object.entries(client ?? {})) headers.set(k, v);
    for (const [k, v] of Object.entries(call ?? {})) headers.set(k, v);
    const out: Record<string, string> = Object.create(null);
    for (const [k, v] of headers) out[k] = k in out ? `${out[k]}, ${v}` : v;
    return Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1));
  } catch (error) {
    return (error as Error).message;
  }
}

function viaRecord(
  base: Headers | Record<string, string>,
  client: Record<string, string> | undefined,
  call: Record<string, string> | undefined,
): [string, string][] | string {
  try {
    return Object.entries(requestHeaders(base, client, call)).sort(([a], [b]) => (a < b ? -1 : 1));
  } catch (error) {
    return (error as Error).message;
  }
}

const names = fc.oneof(
  fc.constantFrom("x-a", "X-A", "content-type", "Content-Type", "constructor", "__proto__", "toString"),
  fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,8}$/),
  fc.string({ maxLength: 6 }),
);
const values = fc.oneof(
  fc.stringMatching(/^[\t\x20-\x7e\x80-\xff]{0,10}$/),
  fc.constantFrom(" padded ", "\ttab\t", "v\r\n", "\r\nv", "a\nb", "nul\0", "中文", "", " "),
  fc.string({ maxLength: 6 }),
);
const record = fc.dictionary(names, values, { maxKeys: 4 });

describe("request headers as a plain record", () => {
  it("hold what new Headers(request) + set(client) + set(call) holds, or fail with its error", () => {
    fc.assert(
      fc.property(
        record,
        fc.option(record, { nil: undefined }),
        fc.option(record, { nil: undefined }),
        (b, c, d) => {
          expect(viaRecord(b, c, d)).toEqual(viaHeaders(b, c, d));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("take a Headers as it is, set-cookie lines joined", () => {
    const base = new Headers([
      ["Set-Cookie", "a=1"],
      ["set-cookie", "b=2"],
      ["X-Id", "1"],
      ["x-id", "2"],
    ]);
    expect(viaRecord(base, { "X-Client": "c" }, { "x-id": "3" })).toEqual(
      viaHeaders(base, { "X-Client": "c" }, { "x-id": "3" }),
    );
    expect(requestHeaders(base, undefined, undefined)).toEqual({ "set-cookie": "a=1, b=2", "x-id": "1, 2" });
  });

  it("treat names like constructor and __proto__ as headers", () => {
    const out = requestHeaders({ constructor: "a" }, { __proto__: "b" } as Record<string, string>, undefined);
    expect(Object.keys(out).sort()).toEqual(["constructor"]);
    const own = requestHeaders({}, JSON.parse('{"__proto__":"b","toString":"c"}'), undefined);
    expect({ ...own }).toEqual(JSON.parse('{"__proto__":"b","tostring":"c"}'));
  });
});

describe("answer headers as raw pairs", () => {
  const pairs = fc.array(
    fc.tuple(
      fc.constantFrom("X-Request-Id", "x-request-id", "Content-Type", "Set-Cookie", "retry-after", "x-other"),
      fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,6}[\x21-\x7e])?$/),
    ),
    { maxLength: 6 },
  );

  it("read as Headers.get reads them, and make the same Headers", () => {
    fc.assert(
      fc.property(pairs, (list) => {
        const raw = list.flat();
        const headers = new Headers(list);
        for (const name of ["x-request-id", "content-type", "set-cookie", "retry-after", "x-absent"])
          expect(rawHeader(raw, name)).toBe(headers.get(name));
        expect([...headersFrom(raw)]).toEqual([...headers]);
      }),
      { numRuns: 1_000 },
    );
  });
});
