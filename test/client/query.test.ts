/**
 * The methods build their requests from the operation table without openapi-fetch: these tests hold
 * them to what openapi-fetch builds from the same parameters (its default query serializer, the
 * URL its Request normalizes, the JSON body), for any value the specs' parameter types allow.
 */
import fc from "fast-check";
import { ConfigError, createDingTalk } from "imspec/dingtalk";
import { createWorkPlus } from "imspec/workplus";
import { createFinalURL, createQuerySerializer } from "openapi-fetch";
import { describe, expect, it } from "vitest";
import { safePathSerializer, serializeQuery } from "../../src/core/client.js";

const openapiFetchQuery = createQuerySerializer();

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);

/** The outcome of a serializer: its string, or the class and message of what it threw. */
function outcome(serialize: () => string): { ok: string } | { threw: string } {
  try {
    return { ok: serialize() };
  } catch (error) {
    return { threw: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

/** Strings with every character class that encodes differently: reserved, unicode, lone surrogates. */
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom(
    "",
    " ",
    "a b",
    "a+b",
    "a&b=c",
    "?x",
    "#frag",
    "50%",
    "'quoted'",
    "(x)",
    "~!*",
    "中文",
    "😀",
  ),
);
const primitive = fc.oneof(
  text,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constantFrom(null, undefined, 0, -0, Number.NaN),
);
const value = fc.oneof(
  primitive,
  fc.array(primitive, { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 4 }), primitive, { maxKeys: 3 }),
  // Nested values openapi-fetch refuses.
  fc.array(fc.array(primitive, { maxLength: 2 }), { minLength: 1, maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.array(primitive), { minKeys: 1, maxKeys: 2 }),
);
const query = fc.dictionary(fc.string({ maxLength: 6 }), value, { maxKeys: 5 });

describe("serializeQuery", () => {
  it("writes what openapi-fetch's default querySerializer writes, or throws what it throws", () => {
    fc.assert(
      fc.property(query, (q) => {
        expect(outcome(() => serializeQuery(q))).toEqual(outcome(() => openapiFetchQuery(q)));
      }),
      { numRuns: 2_000 },
    );
  });

  it.each([
    [{ a: "x y", b: 1, c: true, d: false }, "a=x%20y&b=1&c=true&d=false"],
    [{ ids: ["1", "2", "a&b"] }, "ids=1&ids=2&ids=a%26b"],
    [{ ids: [] as string[], skip: null, gone: undefined, n: 0 }, "n=0"],
    [{ filter: { name: "li", page: 2 } }, "filter[name]=li&filter[page]=2"],
    [{ q: "'~!*()" }, "q='~!*()"],
    [{ q: "中" }, "q=%E4%B8%AD"],
  ])("%j → %s", (input, expected) => {
    expect(serializeQuery(input)).toBe(expected);
    expect(openapiFetchQuery(input)).toBe(expected);
  });
});

/** A fetch that records what the client asks for and answers every call with `body`. */
function recorder(body: unknown) {
  const seen: Array<{ url: string; method: string; headers: Headers; body: string | null }> = [];
  const fetch = async (input: string | URL | Request, init: RequestInit = {}) => {
    seen.push({
      url: String(input),
      method: init.method ?? "GET",
      headers: new Headers(init.headers),
      body: (init.body as string | null | undefined) ?? null,
    });
    return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
  };
  return { seen, fetch: fetch as typeof globalThis.fetch };
}

/** The URL of the Request openapi-fetch would have built for the same call. */
function openapiFetchUrl(
  base: string,
  path: string,
  params: { path?: Record<string, unknown>; query?: Record<string, unknown> },
): string {
  const url = createFinalURL(path, {
    baseUrl: base,
    params,
    querySerializer: openapiFetchQuery,
    pathSerializer: safePathSerializer,
  });
  return new Request(url).url;
}

describe("the URL a method sends", () => {
  const BASE = "https://API.DingTalk.com:443/";

  it("is the one openapi-fetch's Request would have: query values of any text", async () => {
    const { seen, fetch } = recorder({});
    const dt = createDingTalk({ baseUrl: BASE, accessToken: "token-123456", fetch, retry: false });
    await fc.assert(
      fc.asyncProperty(text, async (seniorStaffId) => {
        seen.length = 0;
        const call = dt.contact.listSeniorSettings({ seniorStaffId }).then(
          () => "sent",
          (error: unknown) => error,
        );
        const expected = outcome(() =>
          openapiFetchUrl("https://API.DingTalk.com:443", "/v1.0/contact/seniorSettings", {
            query: { seniorStaffId },
          }),
        );
        const result = await call;
        if ("threw" in expected) {
          // A lone surrogate cannot be percent-encoded: refused before sending, as before.
          expect(result).toBeInstanceOf(ConfigError);
          expect(seen).toHaveLength(0);
        } else {
          expect(result).toBe("sent");
          expect(seen[0]?.url).toBe(expected.ok);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("is the one openapi-fetch's Request would have: path and query together, token in the query", async () => {
    const { seen, fetch } = recorder({ status: 0, message: "ok", result: { records: [], total_counts: 0 } });
    const base = "http://im.example.cn/api/";
    const wp = createWorkPlus({ baseUrl: base, accessToken: "wp-token-abcdef", fetch, retry: false });
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1 }).filter((s) => s !== "." && s !== ".." && wellFormed(s)),
        fc.option(text, { nil: undefined }),
        async (appId, name) => {
          seen.length = 0;
          await wp.apps.listAdmins({ appId, ...(name === undefined ? {} : { name }) }).catch(() => {});
          if (name !== undefined && !wellFormed(name)) {
            expect(seen).toHaveLength(0);
            return;
          }
          const expected = new URL(
            openapiFetchUrl("http://im.example.cn/api", "/v1/apps/{appId}/admins", {
              path: { appId },
              query: name === undefined ? {} : { name },
            }),
          );
          expected.searchParams.set("access_token", "wp-token-abcdef");
          expect(seen[0]?.url).toBe(expected.toString());
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a base URL with a {template} is refused as openapi-fetch's path serializer refused it", async () => {
    const { seen, fetch } = recorder({});
    const dt = createDingTalk({ baseUrl: "https://{host}.example.com", accessToken: "token-123456", fetch });
    const error = await dt.contact.getLatestDingIndex().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('Path parameter "host"');
    expect(seen).toHaveLength(0);
  });
});

describe("the body and headers a method sends", () => {
  it("a JSON body with content-type application/json; none on a GET", async () => {
    const { seen, fetch } = recorder({});
    const dt = createDingTalk({
      accessToken: "token-123456",
      fetch,
      headers: { "x-client": "c" },
    });
    await dt.contact.updateSeniorSetting(
      { seniorStaffId: "u1", open: true, protectScenes: ["CHAT", "CALL"] },
      { headers: { "x-call": "d" } },
    );
    await dt.contact.getLatestDingIndex();
    const [post, get] = seen;
    expect(post?.method).toBe("POST");
    expect(post?.body).toBe(
      JSON.stringify({ seniorStaffId: "u1", open: true, protectScenes: ["CHAT", "CALL"] }),
    );
    expect(Object.fromEntries(post?.headers ?? [])).toEqual({
      "content-type": "application/json",
      "x-acs-dingtalk-access-token": "token-123456",
      "x-call": "d",
      "x-client": "c",
    });
    expect(get?.body).toBeNull();
    expect(Object.fromEntries(get?.headers ?? [])).toEqual({
      "x-acs-dingtalk-access-token": "token-123456",
      "x-client": "c",
    });
  });

  it("a body openapi-fetch could not serialize is a ConfigError, and nothing is sent", async () => {
    const { seen, fetch } = recorder({});
    const dt = createDingTalk({ accessToken: "token-123456", fetch });
    const error = await dt.contact
      .updateSeniorSetting({ seniorStaffId: "u1", open: 1n as never })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/^POST \/v1\.0\/contact\/seniorSettings: .*BigInt/);
    const nested = await dt.contact
      .listSeniorSettings({ seniorStaffId: [["a"]] as never })
      .catch((e: unknown) => e);
    expect(nested).toBeInstanceOf(ConfigError);
    expect((nested as ConfigError).message).toContain("Deeply-nested arrays/objects");
    expect(seen).toHaveLength(0);
  });
});
