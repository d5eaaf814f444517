import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import type { Transport, TransportRequest } from "../../src/core/transport.js";
import { validateOptions } from "../../src/core/validate.js";
import { createDingTalk } from "../../src/dingtalk/index.js";
import { rawClient } from "../../src/raw/index.js";
import { RedisLimiterStore } from "../../src/redis/limiter.js";
import { createWeCom } from "../../src/wecom/index.js";
import { createWorkPlus } from "../../src/workplus/index.js";
import { entryOf } from "../contract/entries.js";
import { APIS } from "../support/specs.js";

/** The ConfigError `validateOptions` throws for `options` (fails the test if it throws none). */
function refusal(options: unknown): ConfigError {
  try {
    validateOptions(options as never);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe("validateOptions", () => {
  it("normalises baseUrl: trailing slashes dropped, host lower-cased, default port dropped", () => {
    expect(validateOptions({ baseUrl: "https://API.Example.com:443/base//" }).baseUrl).toBe(
      "https://api.example.com/base",
    );
    expect(validateOptions({ baseUrl: "http://127.0.0.1:8080/" }).baseUrl).toBe("http://127.0.0.1:8080");
  });

  it("passes other options through, and good values unchanged", () => {
    const fetch = globalThis.fetch;
    const good = {
      timeout: 2_500,
      tokenMarginMs: 0,
      maxResponseBytes: 1_048_576,
      retry: { maxAttempts: 3 },
      fetch,
    };
    expect(validateOptions(good)).toEqual(good);
    expect(validateOptions({ retry: false })).toEqual({ retry: false });
    expect(validateOptions({})).toEqual({});
  });

  it.each([
    ["ftp://files.example.com", /baseUrl must use http or https/],
    ["file:///etc/passwd", /baseUrl must use http or https/],
    ["javascript:alert(1)", /baseUrl must use http or https/],
    ["api.example.com", /baseUrl must be an absolute URL/],
    ["https://h.example/?x=1", /baseUrl must not have a query or fragment/],
    ["https://h.example/#top", /baseUrl must not have a query or fragment/],
    ["https://h.example/?", /baseUrl must not have a query or fragment/],
  ])("refuses baseUrl %s", (baseUrl, message) => {
    expect(refusal({ baseUrl }).message).toMatch(message);
  });

  it("refuses a baseUrl with credentials without printing them", () => {
    for (const baseUrl of [
      "https://admin:s3cret-pw-77@h.example",
      "https://token-abc123@h.example/x?access_token=t0k",
    ]) {
      const error = refusal({ baseUrl });
      expect(error.message).toMatch(/baseUrl must not hold credentials/);
      expect(`${error.message} ${error.stack} ${JSON.stringify(error)}`).not.toMatch(/s3cret|token-abc|t0k/);
    }
  });

  it.each([
    ["timeout", { timeout: 0 }],
    ["timeout", { timeout: -1 }],
    ["timeout", { timeout: Number.NaN }],
    ["timeout", { timeout: Number.POSITIVE_INFINITY }],
    ["timeout", { timeout: 2 ** 31 }],
    ["timeout", { timeout: "1000" }],
    ["tokenMarginMs", { tokenMarginMs: -5 }],
    ["tokenMarginMs", { tokenMarginMs: Number.NaN }],
    ["maxResponseBytes", { maxResponseBytes: 0 }],
    ["maxResponseBytes", { maxResponseBytes: 1.5 }],
    ["maxResponseBytes", { maxResponseBytes: 2 ** 31 }],
    ["maxResponseBytes", { maxResponseBytes: 64 * 1024 * 1024 + 1 }],
    ["retry.maxAttempts", { retry: { maxAttempts: 0 } }],
    ["retry.maxAttempts", { retry: { maxAttempts: 2.5 } }],
    ["retry.maxAttempts", { retry: { maxAttempts: Number.POSITIVE_INFINITY } }],
    ["retry.baseDelayMs", { retry: { baseDelayMs: -1 } }],
    ["retry.maxDelayMs", { retry: { maxDelayMs: Number.NaN } }],
    ["retry.maxRetryAfterMs", { retry: { maxRetryAfterMs: 1e20 } }],
    ["retry", { retry: true }],
    ["retry", { retry: null }],
    ["options", null],
  ])("refuses a bad %s and names it (%j)", (name, options) => {
    expect(refusal(options).message.startsWith(`${name} must be`)).toBe(true);
  });
});

/** The error `run` throws or rejects with (fails the test if it ends without one). */
async function failure(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error("no error");
}

/** Values that are not objects, as a careless or untyped caller passes them. */
const NOT_OBJECTS: Array<[string, unknown]> = [
  ["null", null],
  ["a string", "appKey=x"],
  ["a number", 5],
  ["a boolean", true],
  ["an array", []],
];

/** Values given where a function belongs. */
const NOT_FUNCTIONS: Array<[string, unknown]> = [
  ["a number", 5],
  ["a string", "fetch"],
  ["an object", {}],
];
const FUNCTION_OPTIONS = ["transport", "fetch", "logger", "getAccessToken", "random"];

describe("options that are not an object", () => {
  it.each(NOT_OBJECTS)("validateOptions refuses %s", (kind, options) => {
    expect(refusal(options).message).toBe(`options must be an object (got ${kind})`);
  });

  it.each(NOT_OBJECTS)("createDingTalk and createWeCom refuse %s with a ConfigError", (kind, options) => {
    for (const create of [createDingTalk, createWeCom]) {
      const error = (() => {
        try {
          create(options as never);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(`options must be an object (got ${kind})`);
    }
  });

  it("undefined still means the defaults", () => {
    expect(() => createDingTalk(undefined)).not.toThrow();
    expect(() => createWeCom(undefined as never)).not.toThrow();
  });
});

describe("options that must be functions", () => {
  const cases = FUNCTION_OPTIONS.flatMap((name) =>
    NOT_FUNCTIONS.map(([kind, value]) => [name, kind, value] as [string, string, unknown]),
  );

  it.each(cases)("validateOptions refuses a %s that is %s, naming it", (name, kind, value) => {
    expect(refusal({ [name]: value }).message).toBe(`${name} must be a function (got ${kind})`);
  });

  it.each(cases)("a client given a %s that is %s is refused when made", (name, kind, value) => {
    expect(() => createDingTalk({ [name]: value } as never)).toThrow(
      new ConfigError(`${name} must be a function (got ${kind})`),
    );
  });

  it("accepts functions, and leaves undefined ones to their defaults", () => {
    const fn = () => undefined;
    const given = Object.fromEntries(FUNCTION_OPTIONS.map((name) => [name, fn]));
    expect(validateOptions(given)).toEqual(given);
    expect(() => createDingTalk(given as never)).not.toThrow();
    // null means none, as it does for params and call options (`logger: debug ? log : null`).
    for (const absent of [undefined, null]) {
      const none = Object.fromEntries(FUNCTION_OPTIONS.map((name) => [name, absent]));
      expect(() => createDingTalk(none as never)).not.toThrow();
    }
  });
});

describe("a method's params and options, and its paginators'", () => {
  const PAGE = { list: [{ id: 1 }, { id: 2 }], hasMore: false };

  it("a body number JSON cannot write (NaN, ±Infinity), at any depth, is a ConfigError naming its field; nothing is sent", async () => {
    const sent: TransportRequest[] = [];
    const transport: Transport = async (request) => {
      sent.push(request);
      return { status: 200, headers: {}, body: '{"errcode":0,"errmsg":"ok","dept_user":[]}' };
    };
    const wc = createWeCom({ accessToken: "given-token", transport, rateLimit: false, retry: false });
    const limits: unknown[] = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    for (const limit of limits) {
      const error = await wc.user.listUserIds({ limit: limit as number }).catch((e: unknown) => e);
      expect(error, String(limit)).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(
        `POST /cgi-bin/user/list_id: the body cannot be serialized: its field "limit" is ${limit}, which JSON writes as null: give a finite number`,
      );
      const nested = await wc.user
        .listUserIds({ cursor: { deep: [1, limit] } as unknown as string })
        .catch((e: unknown) => e);
      expect((nested as Error).message).toMatch(/its field "1" is /);
    }
    expect(sent).toEqual([]);
    // A null the caller gave is sent as null; a finite number as it is.
    await wc.user.listUserIds({ cursor: null as unknown as string, limit: 10 });
    expect(sent.map((r) => r.body)).toEqual(['{"cursor":null,"limit":10}']);
  });

  /** A DingTalk client over a transport that answers one page and records what it was sent. */
  function listing() {
    const sent: TransportRequest[] = [];
    const transport: Transport = async (request) => {
      sent.push(request);
      return { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(PAGE) };
    };
    const dt = createDingTalk({ accessToken: "given-token", transport, rateLimit: false, retry: false });
    return { method: dt.contact.listEmpAttributeVisibility, sent };
  }

  it("null params or options mean none, in the method and its paginators alike", async () => {
    const { method, sent } = listing();
    const none = null as never;
    const items = async (it: AsyncIterable<unknown>) => {
      const out: unknown[] = [];
      for await (const item of it) out.push(item);
      return out;
    };
    // Each call with null, then the same call without: the same answer from the same request.
    const pairs: Array<[() => Promise<unknown>, () => Promise<unknown>]> = [
      [() => method(none), () => method()],
      [() => method({}, none), () => method({})],
      [() => method.pages(none).next(), () => method.pages().next()],
      [() => method.pages({}, none).next(), () => method.pages({}).next()],
      [() => items(method.iterate(none, none)), () => items(method.iterate())],
    ];
    for (const [withNull, without] of pairs) {
      sent.length = 0;
      const answers = [await withNull(), await without()];
      expect(answers[0]).toEqual(answers[1]);
      expect(sent).toHaveLength(2);
      expect(sent[0]?.url).toBe(sent[1]?.url);
    }
  });

  const BAD = NOT_OBJECTS.filter(([kind]) => kind !== "null").flatMap(([kind, value]) => [
    ["params", kind, [value]] as const,
    ["options", kind, [{}, value]] as const,
  ]);
  type Listing = ReturnType<typeof listing>["method"];
  const CALLS: Array<[string, (m: Listing, args: readonly unknown[]) => unknown]> = [
    ["the method", (m, args) => (m as (...a: unknown[]) => unknown)(...args)],
    ["pages", (m, args) => (m.pages as (...a: unknown[]) => AsyncIterator<unknown>)(...args).next()],
    ["iterate", (m, args) => (m.iterate as (...a: unknown[]) => AsyncIterator<unknown>)(...args).next()],
  ];

  it.each(
    CALLS.flatMap(([call, run]) =>
      BAD.map(
        ([what, kind, args]) =>
          [call, what, kind, run, args] as [
            string,
            string,
            string,
            (typeof CALLS)[number][1],
            readonly unknown[],
          ],
      ),
    ),
  )(
    "%s refuses %s that is %s: a ConfigError naming it, nothing sent",
    async (_call, what, kind, run, args) => {
      const { method, sent } = listing();
      const error = await failure(() => run(method, args));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(
        `listEmpAttributeVisibility: ${what} must be an object (got ${kind})`,
      );
      expect(error).toMatchObject({ operationId: "listEmpAttributeVisibility" });
      expect(sent).toEqual([]);
    },
  );

  it("a revoked Proxy as params or options is a ConfigError in each of them, nothing sent", async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const { method, sent } = listing();
    for (const [, run] of CALLS)
      for (const [what, args] of [
        ["params", [proxy]],
        ["options", [{}, proxy]],
      ] as const) {
        const error = await failure(() => run(method, args));
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toBe(
          `listEmpAttributeVisibility: ${what} cannot be read (a revoked Proxy)`,
        );
      }
    expect(sent).toEqual([]);
  });

  it("params or options that throw when read (a getter, a Proxy trap) are a ConfigError in each of them, nothing sent", async () => {
    const trap = () => {
      throw new Error("read-trap-shown");
    };
    const getter = (name: string) => Object.defineProperty({}, name, { enumerable: true, get: trap });
    const proxy = new Proxy({ maxResults: 1, timeout: 1 }, { get: trap });
    const { method, sent } = listing();
    for (const [, run] of CALLS)
      for (const args of [
        [getter("maxResults")],
        [getter("nextToken")],
        [proxy],
        [{}, getter("timeout")],
        [{}, proxy],
      ]) {
        const error = await failure(() => run(method, args));
        expect(error).toBeInstanceOf(ConfigError);
        expect(error).toMatchObject({ operationId: "listEmpAttributeVisibility" });
      }
    expect(sent).toEqual([]);
  });

  it("a paginator lists what its params were when it started: changing them meanwhile changes no page", async () => {
    const sent: TransportRequest[] = [];
    const transport: Transport = async (request) => {
      sent.push(request);
      const page = { list: [{ id: sent.length }], hasMore: sent.length < 3, nextCursor: sent.length };
      return { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(page) };
    };
    const dt = createDingTalk({ accessToken: "given-token", transport, rateLimit: false, retry: false });
    const params: Record<string, unknown> = { maxResults: 2 };
    for await (const _ of dt.contact.listEmpAttributeVisibility.pages(params as never))
      params.maxResults = 50;
    expect(sent.map((r) => new URL(r.url).searchParams.get("maxResults"))).toEqual(["2", "2", "2"]);
  });

  it("report a refusal as a rejection, as every other failure of theirs: never a throw at the call", async () => {
    const { method } = listing();
    const plain = (method as (p: unknown) => Promise<unknown>)("bad");
    const pages = (method.pages as (p: unknown) => AsyncIterator<unknown>)("bad");
    const items = (method.iterate as (p: unknown) => AsyncIterator<unknown>)("bad");
    await expect(plain).rejects.toBeInstanceOf(ConfigError);
    await expect(pages.next()).rejects.toBeInstanceOf(ConfigError);
    await expect(items.next()).rejects.toBeInstanceOf(ConfigError);
  });
});

describe("the rateLimit option, checked when the client is made, whatever budgets the API declares", () => {
  // WorkPlus declares none, and a client with a token of its own makes no token request at creation.
  const make = (rateLimit: unknown) => () =>
    createWorkPlus({
      baseUrl: "https://workplus.example.com",
      accessToken: "given-token",
      rateLimit: rateLimit as never,
    });

  it.each([
    ["true", true, /^rateLimit must be an object \(got a boolean\)/],
    [
      "a scope misspelt",
      { "ip-operations": { calls: 10 } },
      /^rateLimit\.ip-operations is no scope: give store, or one of app, app-operation, ip, ip-operation/,
    ],
    ["a scope that is a number", { ip: 10 }, /^rateLimit\.ip must be an object/],
    ["no calls", { "app-operation": { calls: 0 } }, /^rateLimit\.app-operation\.calls/],
    ["a fraction of a call", { app: { calls: 1.5 } }, /^rateLimit\.app\.calls/],
    [
      "a window no timer can wait out",
      { "ip-operation": { seconds: 1e306 } },
      /^rateLimit\.ip-operation\.seconds/,
    ],
  ])("refuses %s, naming it", (_name, rateLimit, message) => {
    expect(make(rateLimit)).toThrow(
      expect.objectContaining({ name: "ConfigError", message: expect.stringMatching(message) }),
    );
  });

  it.each([
    ["false", false],
    ["undefined", undefined],
    [
      "every scope, a store, and a scope left undefined",
      {
        app: { calls: 5 },
        "app-operation": { seconds: 2 },
        ip: {},
        "ip-operation": undefined,
        store: undefined,
      },
    ],
  ])("accepts %s", (_name, rateLimit) => {
    expect(make(rateLimit)).not.toThrow();
  });

  it.each([
    ["an empty list", { "app-operation": [] }, /^rateLimit\.app-operation must list 1 to 16 budgets/],
    [
      "a listed budget without its window",
      { "app-operation": [{ calls: 20_000, seconds: 60 }, { calls: 300_000 }] },
      /^rateLimit\.app-operation\[1\] must give both calls and seconds/,
    ],
    ["a listed budget that is a number", { ip: [600] }, /^rateLimit\.ip\[0\] must be an object/],
    [
      "a listed budget of no calls",
      { ip: [{ calls: 0, seconds: 1 }] },
      /^rateLimit\.ip\[0\]\.calls must be an integer/,
    ],
  ])("refuses %s, naming it", (_name, rateLimit, message) => {
    expect(make(rateLimit)).toThrow(
      expect.objectContaining({ name: "ConfigError", message: expect.stringMatching(message) }),
    );
  });

  it("a list replaces the scope's budgets with its own: a higher edition's minute and hour", async () => {
    const taken: string[][] = [];
    const store = {
      async take(budgets: ReadonlyArray<{ key: string; calls: number; windowMs: number }>) {
        taken.push(budgets.filter((b) => !b.key.startsWith("ip:")).map((b) => `${b.calls}/${b.windowMs}`));
        return 0;
      },
    };
    const transport: Transport = async () => ({
      status: 200,
      headers: {},
      body: '{"errcode":0,"errmsg":"ok","userid":"zhangsan"}',
    });
    const budgets = async (rateLimit: Record<string, unknown>) => {
      taken.length = 0;
      const wc = createWeCom({ accessToken: "given-token", transport, rateLimit: { store, ...rateLimit } });
      await wc.user.getUser({ userid: "zhangsan" });
      return taken.at(-1);
    };
    // As documented (10,000 a minute, 150,000 an hour), each window 50 ms wider.
    expect(await budgets({})).toEqual(["10000/60050", "150000/3600050"]);
    expect(
      await budgets({
        "app-operation": [
          { calls: 20_000, seconds: 60 },
          { calls: 300_000, seconds: 3600 },
        ],
      }),
    ).toEqual(["20000/60050", "300000/3600050"]);
    // Numbers alone change every budget of the scope alike, which then count as one.
    expect(await budgets({ "app-operation": { calls: 20_000 } })).toEqual(["20000/60050", "20000/3600050"]);
    // Read when the client is made: changing the list afterwards changes nothing.
    const list = [{ calls: 5, seconds: 1 }];
    taken.length = 0;
    const wc = createWeCom({
      accessToken: "given-token",
      transport,
      rateLimit: { store, "app-operation": list },
    });
    list[0] = { calls: 7, seconds: 1 };
    await wc.user.getUser({ userid: "zhangsan" });
    expect(taken.at(-1)).toEqual(["5/1050"]);
  });
});

describe("the tokenStore option, checked when the client is made", () => {
  const make = (tokenStore: unknown) => () =>
    createWorkPlus({
      baseUrl: "https://workplus.example.com",
      domainId: "atwork",
      clientId: "wp-app",
      clientSecret: "wp-secret-0123456789abcdef",
      orgId: "org-1",
      tokenStore: tokenStore as never,
    });
  const none = async (): Promise<undefined> => undefined;
  // What a Redis client has of a store's methods: get and set, but del, not delete, and no lock.
  const redisClientLike = { get: none, set: none, del: none };

  it.each<[string, unknown]>([
    ["a Redis client passed as it is", redisClientLike],
    ["a URL", "redis://127.0.0.1:6379"],
    ["an object without delete", { get: none, set: none }],
    ["a store whose lock is not a function", { get: none, set: none, delete: none, lock: true }],
  ])("refuses %s", (_name, tokenStore) => {
    expect(make(tokenStore)).toThrow(
      expect.objectContaining({ name: "ConfigError", message: expect.stringMatching(/^tokenStore must be/) }),
    );
  });

  it.each<[string, unknown]>([
    ["undefined", undefined],
    ["null", null],
    ["a store without lock", { get: none, set: none, delete: none }],
  ])("accepts %s", (_name, tokenStore) => {
    expect(make(tokenStore)).not.toThrow();
  });
});

describe("RedisLimiterStore's arguments", () => {
  const redis = { call: async () => 0 };

  it.each(NOT_OBJECTS)("refuses options that are %s", async (kind, options) => {
    const error = await failure(() => new RedisLimiterStore(redis, options as never));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(`RedisLimiterStore: options must be an object (got ${kind})`);
  });

  it.each([
    [
      "a logger that is not a function",
      { logger: "console" },
      "RedisLimiterStore: logger must be a function",
    ],
    ["a prefix that is not a string", { prefix: 7 }, "RedisLimiterStore: prefix must be a string"],
  ])("refuses %s, naming it", async (_name, options, message) => {
    const error = await failure(() => new RedisLimiterStore(redis, options as never));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });

  it.each([...NOT_OBJECTS, ["an object without call or sendCommand", {}] as [string, unknown]])(
    "refuses a client that is %s",
    async (_kind, client) => {
      const error = await failure(() => new RedisLimiterStore(client as never));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/RedisLimiterStore: give an ioredis or node-redis client/);
    },
  );

  it("undefined options mean the defaults", () => {
    expect(new RedisLimiterStore(redis, undefined).local).toBe(false);
    expect(new RedisLimiterStore(redis).local).toBe(false);
  });
});

describe("rawClient's argument", () => {
  it.each([
    ...NOT_OBJECTS,
    ["undefined", undefined] as [string, unknown],
    ["a plain object", {}] as [string, unknown],
  ])("refuses %s with a ConfigError", async (_kind, client) => {
    const error = await failure(() => rawClient(client as never));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/rawClient needs a client made by imspec/);
  });
});

/** What `create(options)` throws, or undefined. */
const thrown = (create: (o: Record<string, unknown>) => unknown, options: Record<string, unknown>) => {
  try {
    create(options);
  } catch (error) {
    return error;
  }
};

describe("a credential that is empty or not text", () => {
  const baseUrl = "http://127.0.0.1:9";
  /**
   * The API's client factory, and each of its token sources: the spec, its options, all of them given
   * as strings of their own (`full`), and the options of the API's other sources.
   */
  const sourcesOf = async (api: string) => {
    const { create, profile } = await entryOf(api);
    const every = profile.tokens.flatMap((t) => Object.values(t.options));
    const sources = profile.tokens.map((spec) => {
      const options = Object.values(spec.options);
      const full = Object.fromEntries(options.map((o) => [o, `${o}-value`]));
      return { spec, options, full, others: every.filter((o) => !options.includes(o)) };
    });
    return { create, sources };
  };
  /** The app token request of a client made with `options`: how it failed, and how many requests it sent. */
  const tokenRequest = async (
    create: (o: Record<string, unknown>) => unknown,
    options: Record<string, unknown>,
  ) => {
    let sent = 0;
    /** What each request carried: its URL and body. */
    const carried: string[] = [];
    const fetch = async (input: string | URL | Request, init?: RequestInit) => {
      sent++;
      const request = new Request(input, init);
      carried.push(`${request.url} ${await request.text()}`);
      return new Response("{}");
    };
    const client = create({ ...options, baseUrl, fetch }) as { appToken: { get(): Promise<string> } };
    const error = await client.appToken.get().catch((e: unknown) => e);
    return { error, sent, carried };
  };

  // `process.env.SECRET ?? ""` with the variable unset: named at once, not sent as a wrong secret.
  it.each(APIS)(
    '%s: a required option of the token source in use given as "" is a ConfigError naming it',
    async (api) => {
      const { create, sources } = await sourcesOf(api);
      for (const { spec, options, full, others } of sources) {
        expect(thrown(create, { ...full, baseUrl })).toBeUndefined();
        for (const option of options.filter((o) => !spec.optional.includes(o))) {
          const refused = thrown(create, { ...full, [option]: "", baseUrl });
          expect(refused, `${api} ${option}`).toBeInstanceOf(ConfigError);
          expect((refused as Error).message).toBe(`${api}: ${option} is an empty string`);
        }
        // An optional one may be empty (WorkPlus's owner_id beside an org_id), as may one of a source
        // not in use (a DingTalk suiteTicket beside appKey and appSecret).
        for (const option of spec.optional)
          expect(thrown(create, { ...full, [option]: "", baseUrl }), `${api} ${option}`).toBeUndefined();
        for (const option of others)
          expect(thrown(create, { ...full, [option]: "", baseUrl }), `${api} ${option}`).toBeUndefined();
      }
      expect(() => create({ accessToken: "", baseUrl })).toThrow(`${api}: accessToken is an empty string`);
    },
  );

  it.each(APIS)(
    '%s: a required option given as a function that returns "" fails the token request, nothing sent',
    async (api) => {
      const { create, sources } = await sourcesOf(api);
      for (const { spec, options, full } of sources) {
        // An `identifying` secret is a string, never a function: it tells the app's token apart.
        const identifying = spec.identifying ?? [];
        const required = options.filter((o) => !spec.optional.includes(o) && !identifying.includes(o));
        for (const option of required) {
          const { error, sent } = await tokenRequest(create, { ...full, [option]: async () => "" });
          expect(error, `${api} ${option}`).toBeInstanceOf(ConfigError);
          expect((error as Error).message).toBe(`${spec.operation}: ${option} gave an empty string`);
          expect(sent).toBe(0);
        }
      }
    },
  );

  // An all-digit secret read from JSON or YAML config: a number, which would be sent unredacted and
  // left out of the app's keys (two apps, one token).
  it.each(APIS)(
    "%s: each token source option given as a number or an object is a ConfigError naming it, not its value",
    async (api) => {
      const { create, sources } = await sourcesOf(api);
      for (const { options, full } of sources) {
        for (const option of options)
          for (const value of [918273645, { secret: 918273645 }, true]) {
            const refused = thrown(create, { ...full, [option]: value, baseUrl });
            expect(refused, `${api} ${option} ${typeof value}`).toBeInstanceOf(ConfigError);
            expect((refused as Error).message).toMatch(new RegExp(`^${option} must be a string`));
            expect((refused as Error).message).not.toContain("918273645");
          }
      }
    },
  );

  it.each(APIS)(
    "%s: a function giving a number, or nothing for a required option, fails the token request by name, nothing sent",
    async (api) => {
      const { create, sources } = await sourcesOf(api);
      for (const { spec, options, full } of sources) {
        const identifying = spec.identifying ?? [];
        for (const option of options.filter((o) => !identifying.includes(o))) {
          // A suite ticket not pushed yet: undefined, never a request sent without it.
          const gives: Array<[unknown, string]> = [[918273645, "a number"]];
          if (!spec.optional.includes(option)) gives.push([undefined, "undefined"], [null, "null"]);
          for (const [value, kind] of gives) {
            const { error, sent } = await tokenRequest(create, { ...full, [option]: async () => value });
            expect(error, `${api} ${option} ${kind}`).toBeInstanceOf(ConfigError);
            expect((error as Error).message).toBe(`${spec.operation}: ${option} gave ${kind}, not a string`);
            expect(sent).toBe(0);
          }
        }
      }
    },
  );

  // JSON writes an absent value as null: an optional option given so is absent, not refused nor sent;
  // a required one leaves its source incomplete (refused), and one of a source not in use is none.
  it.each(APIS)(
    "%s: an optional option given as null is left out; a required one is refused; another source's is none",
    async (api) => {
      const { create, sources } = await sourcesOf(api);
      for (const { spec, full, others } of sources) {
        for (const option of others)
          expect(thrown(create, { ...full, [option]: null, baseUrl }), `${api} ${option}`).toBeUndefined();
        for (const [field, option] of Object.entries(spec.options)) {
          const refused = thrown(create, { ...full, [option]: null, baseUrl });
          if (!spec.optional.includes(option)) {
            expect(refused, `${api} ${option}`).toBeInstanceOf(ConfigError);
            continue;
          }
          expect(refused, `${api} ${option}`).toBeUndefined();
          const { carried } = await tokenRequest(create, { ...full, [option]: null });
          expect(carried).toHaveLength(1);
          expect(carried[0]).not.toContain(field);
        }
      }
    },
  );
});

describe("the client's accessToken and appToken.get()", () => {
  const baseUrl = "http://127.0.0.1:9";
  it.each(APIS)(
    "%s: an accessToken that is not a string is a ConfigError naming it, not its value",
    async (api) => {
      const { create } = await entryOf(api);
      for (const accessToken of [918273645, { token: "x" }, true, async () => "tok-fn"]) {
        const refused = thrown(create, { accessToken, baseUrl });
        expect(refused, `${api} ${typeof accessToken}`).toBeInstanceOf(ConfigError);
        expect((refused as Error).message).toMatch(/^accessToken must be the token as a string/);
        expect((refused as Error).message).not.toContain("918273645");
      }
    },
  );

  it.each(APIS)("%s: an accessToken given as null is none: the client has no app token", async (api) => {
    const { create } = await entryOf(api);
    const client = create({ accessToken: null, baseUrl }) as { appToken: { get(): Promise<string> } };
    const error = await client.appToken.get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe("This client has no app token source");
  });

  it.each(APIS)(
    "%s: appToken.get() fails as a method does: a provider's throw is a redacted ConfigError, a non-string no token",
    async (api) => {
      const { create } = await entryOf(api);
      const secret = "provider-secret-31337";
      for (const [getAccessToken, message] of [
        [
          () => {
            throw new TypeError(`vault down: ${secret}`);
          },
          /^appToken\.get\(\): vault down: \[redacted\]$/,
        ],
        [async () => Promise.reject(undefined), /^appToken\.get\(\): /],
        [async () => 42, /^appToken\.get\(\): the token provider returned no token$/],
        [async () => "", /^appToken\.get\(\): the token provider returned no token$/],
      ] as const) {
        const client = create({ getAccessToken, baseUrl, clientSecret: secret, appSecret: secret }) as {
          appToken: { get(): Promise<unknown> };
        };
        const error = await client.appToken.get().catch((e: unknown) => e);
        expect(error, `${api} ${String(message)}`).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toMatch(message);
        expect((error as Error).message).not.toContain(secret);
      }
    },
  );
});

describe("options that throw when read (a getter, a Proxy trap)", () => {
  const boom = () => {
    throw new Error("read-trap-shown");
  };
  /** `fields` and a field `name` whose getter throws. */
  const withGetter = (fields: object, name: string) =>
    Object.defineProperty({ ...fields }, name, { enumerable: true, get: boom });

  it.each(APIS)("%s: a ConfigError when the client is made, never the caller's own error", async (api) => {
    const { create } = await entryOf(api);
    for (const options of [
      withGetter({ baseUrl: "http://127.0.0.1:9" }, "timeout"),
      { baseUrl: "http://127.0.0.1:9", retry: new Proxy({ maxAttempts: 2 }, { get: boom }) },
      { baseUrl: "http://127.0.0.1:9", headers: new Proxy({}, { ownKeys: boom }) },
      { baseUrl: "http://127.0.0.1:9", rateLimit: new Proxy({}, { get: boom, ownKeys: boom }) },
      // Settings objects not copied whole: one without a prototype, and a class instance.
      {
        baseUrl: "http://127.0.0.1:9",
        retry: Object.create(null, { maxAttempts: { enumerable: true, get: boom } }),
      },
      {
        baseUrl: "http://127.0.0.1:9",
        retry: new (class {
          get maxAttempts() {
            return boom();
          }
        })(),
      },
      new Proxy({ baseUrl: "http://127.0.0.1:9" }, { get: boom }),
    ]) {
      let error: unknown;
      try {
        create(options);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/cannot be read \(a getter or Proxy threw\)/);
    }
  });

  it("settings that read well once and throw after are read once, when the client is made", async () => {
    // A class instance is not copied: its fields are read where it is checked, and only there.
    const once = (name: string, value: unknown) => {
      let reads = 0;
      return new (class {
        constructor() {
          Object.defineProperty(this, name, {
            enumerable: true,
            get: () => {
              if (++reads > 1) throw new TypeError(`${name} read twice`);
              return value;
            },
          });
        }
      })();
    };
    const transport: Transport = async () => ({
      status: 200,
      headers: {},
      body: '{"errcode":0,"errmsg":"ok","userid":"zhangsan"}',
    });
    const wc = createWeCom({
      accessToken: "given-token",
      transport,
      retry: once("maxAttempts", 2) as never,
      rateLimit: once("app-operation", { calls: 5_000 }) as never,
    });
    await expect(wc.user.getUser({ userid: "zhangsan" })).resolves.toMatchObject({ userid: "zhangsan" });
  });

  it("a rateLimit given as a class instance is read through its getters: its store, scopes and app name", async () => {
    const taken: string[] = [];
    const store = {
      async take(budgets: ReadonlyArray<{ key: string; calls: number; windowMs: number }>) {
        for (const b of budgets)
          if (!b.key.startsWith("ip:")) taken.push(`${b.key} ${b.calls}/${b.windowMs}`);
        return 0;
      },
    };
    class Limits {
      get store() {
        return store;
      }
      get "app-operation"() {
        return [{ calls: 5, seconds: 1 }];
      }
      get appName() {
        return "named-app";
      }
    }
    const transport: Transport = async () => ({
      status: 200,
      headers: {},
      body: '{"errcode":0,"errmsg":"ok","userid":"zhangsan"}',
    });
    const wc = createWeCom({ accessToken: "given-token", transport, rateLimit: new Limits() as never });
    await wc.user.getUser({ userid: "zhangsan" });
    expect(taken).toEqual([expect.stringMatching(/ 5\/1050$/)]);
    // The same budget as the same settings given as a plain object: the app name was read too.
    const plain = { store, "app-operation": [{ calls: 5, seconds: 1 }], appName: "named-app" };
    const other = { ...plain, appName: "another-app" };
    await createWeCom({ accessToken: "given-token", transport, rateLimit: plain }).user.getUser({
      userid: "z",
    });
    await createWeCom({ accessToken: "given-token", transport, rateLimit: other }).user.getUser({
      userid: "z",
    });
    expect(taken[1]).toBe(taken[0]);
    expect(taken[2]).not.toBe(taken[0]);
  });

  it("a retry given as a class instance is read through its getters, not ignored", async () => {
    let sent = 0;
    const transport: Transport = async () => {
      sent++;
      return { status: 200, headers: {}, body: '{"errcode":-1,"errmsg":"system busy"}' };
    };
    class OneAttempt {
      get maxAttempts() {
        return 1;
      }
    }
    const wc = createWeCom({
      accessToken: "given-token",
      transport,
      rateLimit: false,
      retry: new OneAttempt(),
    });
    await expect(wc.user.getUser({ userid: "zhangsan" })).rejects.toMatchObject({ attempts: 1 });
    expect(sent).toBe(1);
    const busy = createWeCom({ accessToken: "given-token", transport, rateLimit: false });
    await expect(
      busy.user.getUser({ userid: "zhangsan" }, { retry: new OneAttempt() }),
    ).rejects.toMatchObject({ attempts: 1 });
    expect(sent).toBe(2);
    // A call's retry is read once, field by field: the number checked is the number used.
    const reads: string[] = [];
    const counted = new Proxy(
      { maxAttempts: 1 },
      {
        get: (t, k) => {
          reads.push(String(k));
          return Reflect.get(t, k);
        },
      },
    );
    await expect(busy.user.getUser({ userid: "zhangsan" }, { retry: counted })).rejects.toMatchObject({
      attempts: 1,
    });
    expect(reads.filter((k) => k === "maxAttempts")).toHaveLength(1);
  });

  it("WorkPlus with sourceType: params that throw when read are a rejection, as without it", async () => {
    const options = { baseUrl: "http://127.0.0.1:9", accessToken: "tok-abcdefgh", rateLimit: false } as const;
    const params = withGetter({}, "appId");
    for (const wp of [createWorkPlus(options), createWorkPlus({ ...options, sourceType: "NATIVE" })]) {
      let call: Promise<unknown> | undefined;
      expect(() => {
        call = wp.apps.listScopeViews(params as never);
      }).not.toThrow();
      await expect(call).rejects.toBeInstanceOf(ConfigError);
    }
  });

  it("DingTalk userTokens.session: a token that throws when read is a ConfigError", () => {
    const dt = createDingTalk({ appKey: "k", appSecret: "s3cret-v" });
    const token = withGetter({ refreshToken: "r-123456", expiresAt: 0 }, "accessToken");
    expect(() => dt.userTokens.session(token as never)).toThrow(ConfigError);
  });
});
