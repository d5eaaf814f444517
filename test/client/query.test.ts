/**
 * The URL a method sends, given → want: query values and names percent-encoded, arrays repeated,
 * deepObject objects as `name[key]=value`, null and undefined dropped; what cannot be sent (nested
 * arrays or objects, lone surrogates, `.` and `..` as a path segment) is a ConfigError and nothing
 * is sent. A recording transport sees each request; one test checks the wire with a real server.
 */
import { type ApiProfile, ConfigError, createClient, type Transport, type TransportRequest } from "imspec";
import { createDingTalk, type paths as DingTalkPaths, profile as dingTalkProfile } from "imspec/dingtalk";
import { rawClient } from "imspec/raw";
import { createWorkPlus } from "imspec/workplus";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { json, ScriptedServer } from "../support/scripted-server.js";

const BASE = "https://api.example.com/base";

/** A transport that records each request and answers `{}`. */
function recorder(body = "{}") {
  const sent: TransportRequest[] = [];
  const transport: Transport = async (request) => {
    sent.push(request);
    return { status: 200, headers: { "content-type": "application/json" }, body };
  };
  return { sent, transport };
}

/**
 * A small API of our own: one path parameter, query parameters with awkward names, a body of its
 * properties alone and one that takes other fields too (`openBody`).
 */
const profile: ApiProfile = { ...dingTalkProfile, api: "test", tokens: [], rateLimits: [], auth: undefined };
const operations = {
  getItem: {
    method: "GET",
    path: "/items/{id}/parts/{part}",
    tag: "items",
    params: { id: "path", part: "path" },
    idempotent: true,
    token: "none",
  },
  listItems: {
    method: "GET",
    path: "/items",
    tag: "items",
    params: { q: "query", ids: "query", filter: "query", "page[size]": "query", "a b&c=d": "query" },
    idempotent: true,
    token: "none",
  },
  createItem: {
    method: "POST",
    path: "/items",
    tag: "items",
    params: { name: "body", dryRun: "query" },
    idempotent: false,
    token: "none",
  },
  tagItem: {
    method: "POST",
    path: "/items/tags",
    tag: "items",
    params: { name: "body" },
    openBody: true,
    idempotent: false,
    token: "none",
  },
} as const;

interface ItemsOperations {
  items: {
    getItem: { params: { id: unknown; part: unknown }; result: unknown };
    listItems: { params: Record<string, unknown>; result: unknown };
    createItem: { params: Record<string, unknown>; result: unknown };
    tagItem: { params: Record<string, unknown>; result: unknown };
  };
}

function testClient() {
  const { sent, transport } = recorder();
  const client = createClient<ItemsOperations, typeof operations>(
    { profile, operations },
    { baseUrl: BASE, transport, retry: false },
  );
  return { sent, items: client.items };
}

/** The URL the call handed to the transport, or the error it failed with (nothing sent then). */
async function urlOf(call: (c: ReturnType<typeof testClient>["items"]) => Promise<unknown>) {
  const { sent, items } = testClient();
  try {
    await call(items);
  } catch (error) {
    expect(sent).toHaveLength(0);
    return error;
  }
  expect(sent).toHaveLength(1);
  return sent[0]?.url;
}

const query = (params: Record<string, unknown>) => urlOf((items) => items.listItems(params));

describe("query values", () => {
  it.each<[unknown, string]>([
    ["x", "q=x"],
    ["x y", "q=x%20y"],
    ["a+b", "q=a%2Bb"],
    ["a&b=c", "q=a%26b%3Dc"],
    ["?x#frag", "q=%3Fx%23frag"],
    ["50%", "q=50%25"],
    ["a/b", "q=a%2Fb"],
    ["'~!*()", "q='~!*()"],
    ["[x]", "q=%5Bx%5D"],
    ["中", "q=%E4%B8%AD"],
    ["😀", "q=%F0%9F%98%80"],
    ["", "q="],
    [0, "q=0"],
    [-0, "q=0"],
    [1.5, "q=1.5"],
    [true, "q=true"],
    [false, "q=false"],
  ])("%j → %s", async (given, want) => {
    expect(await query({ q: given })).toBe(`${BASE}/items?${want}`);
  });

  it.each([null, undefined])("%s → the parameter is left out", async (given) => {
    expect(await query({ q: given })).toBe(`${BASE}/items`);
    expect(await query({ q: given, ids: "1" })).toBe(`${BASE}/items?ids=1`);
  });
});

describe("query names, arrays and deepObject", () => {
  it.each<[Record<string, unknown>, string]>([
    [{ ids: ["1", "2", "a&b"] }, "ids=1&ids=2&ids=a%26b"],
    [{ ids: [1, true, "x y"] }, "ids=1&ids=true&ids=x%20y"],
    [{ ids: [] }, ""],
    [{ ids: [null, "x", undefined] }, "ids=x"],
    [{ filter: { name: "li", page: 2 } }, "filter[name]=li&filter[page]=2"],
    [{ filter: { "a b": "x&y", 中: "文" } }, "filter[a%20b]=x%26y&filter[%E4%B8%AD]=%E6%96%87"],
    [{ filter: { "a]": 1, "[b": 2 } }, "filter[a%5D]=1&filter[%5Bb]=2"],
    [{ filter: { gone: null, kept: 0 } }, "filter[kept]=0"],
    [{ filter: {} }, ""],
    [{ "page[size]": 20 }, "page[size]=20"],
    [{ "a b&c=d": "v" }, "a%20b%26c%3Dd=v"],
    [
      { q: "x", ids: ["1", "2"], filter: { k: "v" }, "page[size]": 5 },
      "q=x&ids=1&ids=2&filter[k]=v&page[size]=5",
    ],
  ])("%j → %s", async (given, want) => {
    expect(await query(given)).toBe(`${BASE}/items${want ? `?${want}` : ""}`);
  });

  it.each<[string, Record<string, unknown>]>([
    ["an array in an array", { ids: [["a"]] }],
    ["an object in an array", { ids: [{ a: 1 }] }],
    ["an array in an object", { filter: { k: [1, 2] } }],
    ["an object in an object", { filter: { k: { deeper: 1 } } }],
  ])("%s: a ConfigError naming the parameter, nothing sent", async (_case, given) => {
    const error = await query(given);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(`"${Object.keys(given)[0]}"`);
  });

  it.each<[string, Record<string, unknown>]>([
    ["a Date", { q: new Date(0) }],
    ["a Map", { filter: new Map([["k", "v"]]) }],
    ["a Set", { ids: new Set(["1", "2"]) }],
    ["a URLSearchParams", { filter: new URLSearchParams("k=v") }],
    ["a function", { q: () => "x" }],
    ["a symbol", { q: Symbol("x") }],
    ["a function in an array", { ids: ["1", () => "2"] }],
    ["a function in an object", { filter: { k: () => "v" } }],
    ["NaN", { q: Number.NaN }],
    ["Infinity in an array", { ids: [1, Number.POSITIVE_INFINITY] }],
    ["-Infinity in an object", { filter: { k: Number.NEGATIVE_INFINITY } }],
  ])(
    "%s: a ConfigError naming the parameter, not a parameter left out or source code sent",
    async (_case, given) => {
      const error = await query(given);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain(`"${Object.keys(given)[0]}"`);
    },
  );

  it("an object made by a class is a deepObject of its own fields, as a literal is", async () => {
    class Filter {
      name = "li";
      page = 2;
    }
    expect(await query({ filter: new Filter() })).toBe(`${BASE}/items?filter[name]=li&filter[page]=2`);
    expect(await query({ filter: Object.assign(Object.create(null), { k: "v" }) })).toBe(
      `${BASE}/items?filter[k]=v`,
    );
  });

  it.each<[string, Record<string, unknown>]>([
    ["in a value", { q: "a\uD800b" }],
    ["a low one in a value", { q: "\uDC00" }],
    ["in an array item", { ids: ["ok", "\uD83D"] }],
    ["in a deepObject key", { filter: { "k\uD800": "v" } }],
    ["in a deepObject value", { filter: { k: "\uDFFF" } }],
  ])("a lone surrogate %s: a ConfigError, nothing sent", async (_case, given) => {
    const error = await query(given);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain("lone surrogate");
  });

  it("a well-formed surrogate pair is encoded", async () => {
    expect(await query({ q: "\uD83D\uDE00" })).toBe(`${BASE}/items?q=%F0%9F%98%80`);
  });
});

describe("path parameters", () => {
  const path = (id: unknown, part: unknown = "p") => urlOf((items) => items.getItem({ id, part }));

  it.each<[unknown, string]>([
    ["abc", "abc"],
    ["a b", "a%20b"],
    ["a/b", "a%2Fb"],
    ["../x", "..%2Fx"],
    ["?x", "%3Fx"],
    ["#x", "%23x"],
    ["%2e%2e", "%252e%252e"],
    ["...", "..."],
    [".a", ".a"],
    ["中", "%E4%B8%AD"],
    [12, "12"],
    [0, "0"],
  ])("%j → /items/%s/parts/p", async (given, want) => {
    expect(await path(given)).toBe(`${BASE}/items/${want}/parts/p`);
  });

  it.each([".", ".."])("%j: a ConfigError, since it would change the request path", async (given) => {
    const error = await path("x", given);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('"part"');
    expect((error as ConfigError).message).toContain("change the request path");
  });

  it.each<[string, unknown]>([
    ["an empty string", ""],
    ["undefined", undefined],
    ["null", null],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["a boolean", true],
    ["an object", { a: 1 }],
    ["a lone surrogate", "\uD800"],
  ])("%s: a ConfigError, nothing sent", async (_case, given) => {
    expect(await path(given)).toBeInstanceOf(ConfigError);
  });
});

describe("through the API clients", () => {
  it("DingTalk: the query of listSeniorSettings, the token in a header", async () => {
    const { sent, transport } = recorder();
    const dt = createDingTalk({ accessToken: "token-123456", transport, rateLimit: false });
    await dt.contact.listSeniorSettings({ seniorStaffId: "013349365367-1094322561", permissionCode: "a b" });
    expect(sent[0]?.url).toBe(
      "https://api.dingtalk.com/v1.0/contact/seniorSettings?seniorStaffId=013349365367-1094322561&permissionCode=a%20b",
    );
  });

  it("raw: the query follows the methods' rules, a Date or NaN a ConfigError with nothing sent", async () => {
    const { sent, transport } = recorder();
    const dt = createDingTalk({ accessToken: "token-123456", transport, rateLimit: false });
    const raw = rawClient<DingTalkPaths>(dt);
    await raw.GET("/v1.0/contact/seniorSettings", {
      params: { query: { seniorStaffId: "u 1", permissionCode: ["a", "b"] as unknown as string } },
    });
    expect(sent[0]?.url).toBe(
      "https://api.dingtalk.com/v1.0/contact/seniorSettings?seniorStaffId=u%201&permissionCode=a&permissionCode=b",
    );
    for (const seniorStaffId of [new Date(0), Number.NaN, () => "x"]) {
      const error = await raw
        .GET("/v1.0/contact/seniorSettings", { params: { query: { seniorStaffId: seniorStaffId as never } } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
    }
    expect(sent).toHaveLength(1);
  });

  it("WorkPlus: path and query together, the token appended to the query", async () => {
    const { sent, transport } = recorder(
      '{"status":0,"message":"ok","result":{"records":[],"total_counts":0}}',
    );
    const wp = createWorkPlus({
      baseUrl: "http://im.example.cn/api/",
      accessToken: "wp-token-abcdef",
      transport,
      rateLimit: false,
    });
    await wp.apps.listAdmins({ appId: "a/b c", name: "李 雷" });
    expect(sent[0]?.url).toBe(
      "http://im.example.cn/api/v1/apps/a%2Fb%20c/admins?name=%E6%9D%8E%20%E9%9B%B7&access_token=wp-token-abcdef",
    );
  });

  it("a base URL with a {template} is refused, nothing sent", async () => {
    const { sent, transport } = recorder();
    const error = await Promise.resolve()
      .then(() =>
        createDingTalk({ baseUrl: "https://{host}.example.com", accessToken: "token-123456", transport }),
      )
      .then((dt) => dt.contact.getLatestDingIndex())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(sent).toHaveLength(0);
  });
});

describe("on the wire (default transport, a real server)", () => {
  let server: ScriptedServer;
  beforeEach(async () => {
    server = await new ScriptedServer().start();
    server.on(
      "GET",
      () => true,
      (_req, res) => json(res, 200, {}),
    );
  });
  afterEach(async () => {
    await server.stop();
  });

  it("the server receives the path and query the method built", async () => {
    const { sent, transport } = recorder();
    const api = { profile, operations };
    const build = createClient<ItemsOperations, typeof operations>(api, {
      baseUrl: server.url,
      transport,
      retry: false,
    });
    const live = createClient<ItemsOperations, typeof operations>(api, { baseUrl: server.url, retry: false });
    const params = { q: "x y&z", ids: ["1", "中"], filter: { "a b": "c" }, "page[size]": 3 };
    await build.items.listItems(params);
    await live.items.listItems(params);
    const url = new URL(sent[0]?.url ?? "");
    expect(server.requests[0]?.url).toBe(`${url.pathname}${url.search}`);
  });
});

describe("request bodies", () => {
  const bodies = async (operationId: "createItem" | "tagItem", params: Record<string, unknown>) => {
    const { sent, items } = testClient();
    await items[operationId](params);
    return { url: sent[0]?.url, body: JSON.parse(sent[0]?.body ?? "null") as unknown };
  };

  it("a body that takes other fields (additionalProperties) gets every key the table does not place", async () => {
    const params = JSON.parse('{"name":"n","dryRun":true,"color":"red","__proto__":{"x":1},"gone":null}');
    params.skipped = undefined;
    const { url, body } = await bodies("tagItem", params);
    expect(url).toBe(`${BASE}/items/tags`);
    // __proto__ is a field like any other, sent as one; null is a value, undefined is none.
    expect(body).toEqual(
      JSON.parse('{"name":"n","dryRun":true,"color":"red","__proto__":{"x":1},"gone":null}'),
    );
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
  });

  it("a body of its properties alone sends those, each other key where the table puts it", async () => {
    const { url, body } = await bodies("createItem", { name: "n", dryRun: true, color: "red" });
    expect(url).toBe(`${BASE}/items?dryRun=true`);
    expect(body).toEqual({ name: "n" });
  });
});
