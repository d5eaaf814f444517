/**
 * Hostile input to the clients: path parameters that try to leave their segment, CR/LF and other
 * characters that would inject headers, megabyte-sized values, and JSON answers carrying
 * `__proto__` / `constructor` / `prototype` keys. Requests are checked as a real node:http server on
 * 127.0.0.1 received them (the raw request target, undecoded). Every call ends in data or a typed
 * error within CALL_BOUND_MS, and no planted secret or token shows in any error or log line.
 *
 * test/client/*.test.ts already covers `/ ? # ../admin`, spaces, Chinese and `%2F` in DingTalk's
 * unionId, `/ ? # ..` in WorkPlus's appId, and CR/LF in a per-call DingTalk header; this file
 * covers the rest.
 */
import type { paths as DingTalkPaths } from "imspec/dingtalk";
import {
  ConfigError,
  createDingTalk,
  DingTalkError,
  ImspecError,
  type LogEvent,
  ParseError,
} from "imspec/dingtalk";
import type { MockApi } from "imspec/mock";
import { rawClient } from "imspec/raw";
import type { paths as WorkPlusPaths } from "imspec/workplus";
import { createWorkPlus, WorkPlusError } from "imspec/workplus";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadEntries, plainRead } from "../contract/entries.js";
import { APIS, callOperation, type Json } from "../contract/support.js";
import { json, type Received, ScriptedServer } from "../support/scripted-server.js";
import { leaked, settler, shown } from "./secrets.js";

const DT_SECRET = "planted-hostile-dt-secret-R5t9Zc";
const WP_SECRET = "planted-hostile-wp-secret-H3m6Yd";
/** Tokens given to the clients directly (providers, options): planted as well. */
const GIVEN_TOKEN = "planted-given-token-K2w8Nb";
const CALL_BOUND_MS = 8_000;
const RETRY = { baseDelayMs: 1, maxDelayMs: 5 };
const MB = 1 << 20;

const issuedTokens: string[] = [];
const thrown: unknown[] = [];
const logLines: string[] = [];
const logger = (event: LogEvent) => logLines.push(JSON.stringify(event));

let server: ScriptedServer;
let issued = 0;

const SETTINGS = { seniorStaffId: "u1", protectScenes: ["CHAT"], seniorWhiteList: [] };
const ADMINS = { records: [{ id: 829, name: "XXX", username: "lizj" }], total_counts: 1 };

function issue(prefix: string): string {
  const token = `${prefix}-hostile-tok-${++issued}-${Math.random().toString(36).slice(2, 10)}`;
  issuedTokens.push(token);
  return token;
}

/** The normal answers of both APIs' endpoints the tests call. */
function answerNormally(target: ScriptedServer): ScriptedServer {
  target.on("POST", "/v1.0/oauth2/accessToken", (_req, res) =>
    json(res, 200, { accessToken: issue("dt"), expireIn: 7200 }),
  );
  target.on(
    "GET",
    (p) => p.startsWith("/v1.0/contact/users/"),
    (_req, res) => json(res, 200, { nick: "n" }),
  );
  target.on("GET", "/v1.0/contact/seniorSettings", (_req, res) => json(res, 200, SETTINGS));
  target.on("POST", "/v1.0/contact/seniorSettings", (_req, res) => json(res, 200, {}));
  target.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => json(res, 200, { idxTotal: 1 }));
  target.on("POST", "/v1/token", (_req, res) =>
    json(res, 200, {
      status: 0,
      message: "ok",
      result: { access_token: issue("wp"), expire_time: Date.now() + 3_600_000 },
    }),
  );
  target.on(
    "GET",
    (p) => /^\/v1\/apps\/[^/]+\/(admins|super-admins)$/.test(p),
    (_req, res) => json(res, 200, { status: 0, message: "ok", result: ADMINS }),
  );
  target.on(
    "GET",
    (p) => /^\/v1\/apps\/[^/]+\/scope-views$/.test(p),
    (_req, res) => json(res, 200, { status: 0, message: "ok", result: [] }),
  );
  return target;
}

beforeEach(async () => {
  server = answerNormally(await new ScriptedServer().start());
});
afterEach(async () => {
  await server.stop();
});

function dingtalk(extra: Record<string, unknown> = {}, baseUrl = server.url) {
  const auth =
    "accessToken" in extra || "getAccessToken" in extra ? {} : { appKey: "ding-app", appSecret: DT_SECRET };
  return createDingTalk({ rateLimit: false, ...auth, baseUrl, retry: RETRY, logger, ...extra } as Parameters<
    typeof createDingTalk
  >[0]);
}

function workplus(extra: Record<string, unknown> = {}, baseUrl = server.url) {
  const auth =
    "accessToken" in extra || "getAccessToken" in extra
      ? {}
      : { domainId: "atwork", clientId: "wp-app", clientSecret: WP_SECRET, orgId: "org-1" };
  return createWorkPlus({ ...auth, baseUrl, retry: RETRY, logger, ...extra } as Parameters<
    typeof createWorkPlus
  >[0]);
}

/** Each API's client factory and generated table (test/contract/entries.ts). */
const entries = await loadEntries();

/** Awaits a call within the bound: its data, or the error it threw (kept for the secret check). */
const settle = settler(CALL_BOUND_MS, thrown);

const TOKEN_PATHS = new Set(["/v1/token", "/v1.0/oauth2/accessToken"]);
const isTokenRequest = (url: string) => TOKEN_PATHS.has(url.split("?")[0] ?? "");
/** Requests the server got for an API path (the token endpoints left out). */
const apiRequests = () => server.requests.filter((r) => !isTokenRequest(r.url));

const hasEvilHeader = (r: Received) =>
  Object.keys(r.headers).some((name) => name.includes("evil")) ||
  Object.values(r.headers).some((value) => String(value).includes("evil"));

describe("path parameters: each value stays inside its own segment", () => {
  /** Values that would move the request elsewhere if they were not encoded as one segment. */
  const HOSTILE = [
    "a/../b",
    "../../v1.0/oauth2/accessToken",
    "..%2F..%2Fadmin",
    "%2e%2e",
    "%2E%2E%2F",
    ".%2e",
    "...",
    " .. ",
    "./",
    "/..",
    "..\\..\\",
    "a/./b",
    "a?access_token=evil#frag",
    "%",
    "%zz",
    "a;b=c",
    "a&b=c",
    "a+b",
    "@evil.example",
    "//evil.example/x",
    "http://evil.example/",
    "\r\nx-evil: 1",
    "\t",
    "\u0000",
    "张三/../李四",
    "🙂",
    "\u202Eevil",
    "\uFEFF..",
  ];

  interface Target {
    name: string;
    call: (id: string) => Promise<unknown>;
    raw: (id: string) => Promise<unknown>;
    /** The request target around the parameter's segment. */
    before: string;
    after: string;
  }
  /** Every operation with a path parameter, and where the parameter sits in the request target. */
  const targets: Target[] = [
    {
      name: "DingTalk getUser",
      call: (id: string) => dingtalk().contact.getUser({ unionId: id }, { accessToken: GIVEN_TOKEN }),
      raw: (id: string) =>
        rawClient<DingTalkPaths>(dingtalk()).GET("/v1.0/contact/users/{unionId}", {
          params: { path: { unionId: id } },
          headers: { "x-acs-dingtalk-access-token": GIVEN_TOKEN },
        } as never),
      before: "/v1.0/contact/users/",
      after: "",
    },
    ...(
      [
        ["listAdmins", "admins"],
        ["listSuperAdmins", "super-admins"],
        ["listScopeViews", "scope-views"],
      ] as const
    ).map(([op, segment]) => ({
      name: `WorkPlus ${op}`,
      call: (id: string) => workplus().apps[op]({ appId: id }),
      raw: (id: string) =>
        rawClient<WorkPlusPaths>(workplus()).GET(
          `/v1/apps/{appId}/${segment}` as "/v1/apps/{appId}/admins",
          { params: { path: { appId: id } } } as never,
        ),
      before: "/v1/apps/",
      after: `/${segment}`,
    })),
  ];

  it.each(targets)("$name: hostile values are sent percent-encoded, one segment each", async (target) => {
    for (const id of HOSTILE) {
      const before = server.requests.length;
      const outcome = await settle(target.call(id));
      expect(outcome.error, JSON.stringify(id)).toBeUndefined();
      const sent = server.requests.slice(before).filter((r) => !isTokenRequest(r.url));
      expect(sent, JSON.stringify(id)).toHaveLength(1);
      const [request] = sent as [Received];
      const [pathPart, queryPart = ""] = request.url.split("?") as [string, string?];
      expect(pathPart, JSON.stringify(id)).toBe(`${target.before}${encodeURIComponent(id)}${target.after}`);
      // The segment decodes back to exactly the value; nothing leaked into the query.
      const segments = pathPart.split("/");
      const expected = `${target.before}x${target.after}`.split("/");
      expect(segments).toHaveLength(expected.length);
      expect(decodeURIComponent(segments[target.before.split("/").length - 1] as string)).toBe(id);
      expect(new URLSearchParams(queryPart).getAll("access_token").length).toBeLessThanOrEqual(1);
      expect(request.query.get("b")).toBeNull();
      expect(hasEvilHeader(request)).toBe(false);
    }
  });

  it.each(targets)(
    '$name: ".", ".." and "" are refused with a ConfigError before any request',
    async (target) => {
      for (const id of [".", "..", ""]) {
        for (const run of [target.call, target.raw]) {
          const before = apiRequests().length;
          const outcome = await settle(run(id));
          expect(outcome.error, JSON.stringify(id)).toBeInstanceOf(ConfigError);
          expect(apiRequests()).toHaveLength(before);
        }
      }
    },
  );

  const LONE_SURROGATES = ["\uD800", "a\uDFFFb"];

  it.each(targets)(
    "$name: a value that is not well-formed Unicode is a typed error, nothing sent",
    async (target) => {
      for (const id of LONE_SURROGATES) {
        const outcome = await settle(target.call(id));
        expect(outcome.error, `${JSON.stringify(id)}: ${String(outcome.error)}`).toBeInstanceOf(ImspecError);
      }
      expect(apiRequests()).toHaveLength(0);
    },
  );

  it("the raw clients: a path value that is not well-formed Unicode is a typed error, nothing sent", async () => {
    for (const target of targets) {
      for (const id of LONE_SURROGATES) {
        const outcome = await settle(target.raw(id));
        expect(
          outcome.error,
          `${target.name} ${JSON.stringify(id)}: ${String(outcome.error)}`,
        ).toBeInstanceOf(ImspecError);
      }
    }
    expect(apiRequests()).toHaveLength(0);
  });

  it("a query value that is not well-formed Unicode is a typed error, from the methods and the raw client", async () => {
    const wp = workplus();
    for (const name of LONE_SURROGATES) {
      const method = await settle(wp.apps.listAdmins({ appId: "app-1", name }));
      expect(method.error, `method ${JSON.stringify(name)}: ${String(method.error)}`).toBeInstanceOf(
        ImspecError,
      );
      const raw = await settle(
        rawClient<WorkPlusPaths>(wp).GET("/v1/apps/{appId}/admins", {
          params: { path: { appId: "app-1" }, query: { name } },
        }),
      );
      expect(raw.error, `raw ${JSON.stringify(name)}: ${String(raw.error)}`).toBeInstanceOf(ImspecError);
    }
    expect(apiRequests()).toHaveLength(0);
  });

  it("numeric path parameters must be finite", async () => {
    for (const settingId of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const outcome = await settle(dingtalk().contact.deleteEmpAttributeVisibility({ settingId }));
      expect(outcome.error).toBeInstanceOf(ConfigError);
    }
    expect(apiRequests()).toHaveLength(0);
  });

  it("query values cannot add parameters or replace the WorkPlus token", async () => {
    const name = "li&access_token=evil&source_type=ISV#frag";
    const outcome = await settle(workplus().apps.listAdmins({ appId: "app-1", name }));
    expect(outcome.error).toBeUndefined();
    const request = apiRequests().at(-1) as Received;
    expect(request.query.get("name")).toBe(name);
    expect(request.query.getAll("access_token")).toEqual([issuedTokens.at(-1)]);
    expect(request.query.getAll("source_type")).toEqual([]);
  });
});

describe("headers: CR/LF and other invalid characters never reach the wire", () => {
  const BAD_VALUES = ["a\r\nx-evil: 1", "a\nx-evil: 1", "a\rx-evil: 1", "a\u0000x-evil"];
  const BAD_NAMES = ["x-a\r\nx-evil", "x evil", "x-evil:1", "x-évil"];
  /** The API's first plain read, from a client with a token of its own and `client` options over it. */
  const call = async (api: MockApi, o: { headers?: Record<string, string>; client?: Json }) => {
    const entry = entries[api];
    const client = entry.create({
      rateLimit: false,
      accessToken: GIVEN_TOKEN,
      baseUrl: server.url,
      retry: RETRY,
      logger,
      ...o.client,
    });
    const { operationId } = plainRead(entry);
    return callOperation(client, api, operationId, o.headers ? { headers: o.headers } : {});
  };

  it.each(APIS)(
    "%s: per-call and per-client header values and names are refused with a ConfigError",
    async (api) => {
      const headers = [
        ...BAD_VALUES.map((value) => ({ "x-extra": value })),
        ...BAD_NAMES.map((name) => ({ [name]: "1" })),
      ];
      for (const h of headers) {
        for (const outcome of [
          await settle(call(api, { headers: h })),
          await settle(call(api, { client: { headers: h } })),
        ]) {
          expect(outcome.error, JSON.stringify(h)).toBeInstanceOf(ConfigError);
        }
      }
      expect(server.requests).toEqual([]);
    },
  );

  const EVIL_TOKENS = [`${GIVEN_TOKEN}\r\nx-evil: 1`, `${GIVEN_TOKEN}\nx-evil: 1`, `${GIVEN_TOKEN}令牌`];

  it("DingTalk: a token with CR/LF or non-Latin-1 characters, from any source, is a ConfigError that does not show it", async () => {
    for (const token of EVIL_TOKENS) {
      const sources: Array<() => Promise<unknown>> = [
        () => dingtalk({ getAccessToken: () => token }).contact.getLatestDingIndex(),
        () => dingtalk({ accessToken: token }).contact.getLatestDingIndex(),
        () => dingtalk().contact.getLatestDingIndex({}, { accessToken: token }),
        () =>
          rawClient<DingTalkPaths>(dingtalk({ getAccessToken: async () => token })).GET(
            "/v1.0/contact/dingIndexs",
          ),
      ];
      for (const [i, source] of sources.entries()) {
        const outcome = await settle(source());
        expect(outcome.error, `source ${i}: ${String(outcome.error)}`).toBeInstanceOf(ConfigError);
        const text = shown(outcome.error);
        expect(text, `source ${i}`).not.toContain(GIVEN_TOKEN);
      }
    }
    expect(apiRequests()).toHaveLength(0);
    expect(server.requests.some(hasEvilHeader)).toBe(false);
  });

  it("DingTalk: a token endpoint answering a token with CR/LF gets a typed error, no injected header, no token shown", async () => {
    const evil = `${GIVEN_TOKEN}\r\nx-evil: 1`;
    server.on("POST", "/v1.0/oauth2/accessToken", (_req, res) =>
      json(res, 200, { accessToken: evil, expireIn: 7200 }),
    );
    const outcome = await settle(dingtalk().contact.getLatestDingIndex());
    expect(outcome.error).toBeInstanceOf(ImspecError);
    expect(shown(outcome.error)).not.toContain(GIVEN_TOKEN);
    expect(apiRequests()).toHaveLength(0);
    expect(server.requests.some(hasEvilHeader)).toBe(false);
  });

  it("WorkPlus: a token with CR/LF travels percent-encoded in the query, never as a header", async () => {
    for (const token of EVIL_TOKENS) {
      const before = apiRequests().length;
      const outcome = await settle(
        workplus({ getAccessToken: () => token }).apps.listAdmins({ appId: "app-1" }),
      );
      expect(outcome.error).toBeUndefined();
      const sent = apiRequests().slice(before);
      expect(sent).toHaveLength(1);
      const request = sent[0] as Received;
      expect(request.url).not.toMatch(/[\r\n]/);
      expect(request.query.getAll("access_token")).toEqual([token]);
      expect(hasEvilHeader(request)).toBe(false);
    }
  });
});

describe("huge values", () => {
  /** 1 MiB of characters that all need encoding, with separators that must stay inside the value. */
  const HUGE = "a/?#&=%. 张".repeat(Math.ceil(MB / 11)).slice(0, MB);

  it("1 MiB path, query and body values arrive whole at a server that takes them", async () => {
    // A server that takes request targets and headers of several megabytes.
    const big = answerNormally(await new ScriptedServer({ maxHeaderSize: 16 * MB }).start());
    try {
      const dt = dingtalk({}, big.url);
      const wp = workplus({}, big.url);
      expect(
        (await settle(dt.contact.getUser({ unionId: HUGE }, { accessToken: GIVEN_TOKEN }))).error,
      ).toBeUndefined();
      expect((await settle(wp.apps.listAdmins({ appId: HUGE, name: HUGE }))).error).toBeUndefined();
      expect(
        (await settle(dt.contact.updateSeniorSetting({ seniorStaffId: HUGE, open: true }))).error,
      ).toBeUndefined();
      const [user, admins, update] = big.requests.filter((r) => !isTokenRequest(r.url)) as [
        Received,
        Received,
        Received,
      ];
      expect(user.url).toBe(`/v1.0/contact/users/${encodeURIComponent(HUGE)}`);
      expect(admins.url.startsWith(`/v1/apps/${encodeURIComponent(HUGE)}/admins?`)).toBe(true);
      const query = new URLSearchParams(admins.url.split("?")[1]);
      expect(query.get("name")).toBe(HUGE);
      expect(query.getAll("access_token")).toHaveLength(1);
      expect(JSON.parse(update.body)).toMatchObject({ seniorStaffId: HUGE, open: true });
    } finally {
      await big.stop();
    }
  });

  it("a server that refuses a 1 MiB request target (431) gives a typed error after one attempt", async () => {
    const dt = await settle(dingtalk().contact.getUser({ unionId: HUGE }, { accessToken: GIVEN_TOKEN }));
    const wp = await settle(workplus().apps.listAdmins({ appId: "app-1", name: HUGE }));
    expect(dt.error).toBeInstanceOf(DingTalkError);
    expect(dt.error).toMatchObject({ status: 431, attempts: 1 });
    expect(wp.error).toBeInstanceOf(WorkPlusError);
    expect(wp.error).toMatchObject({ status: 431, attempts: 1 });
  });

  it("a 1 MiB error message that echoes the secret and the token is redacted all the way through", async () => {
    server.on("GET", "/v1.0/contact/dingIndexs", (req, res) =>
      json(res, 400, {
        code: "parameter.error",
        message: `${"x".repeat(MB)} token ${req.headers["x-acs-dingtalk-access-token"]} secret ${DT_SECRET}`,
      }),
    );
    const outcome = await settle(dingtalk().contact.getLatestDingIndex());
    expect(outcome.error).toBeInstanceOf(DingTalkError);
    expect(leaked(shown(outcome.error), [DT_SECRET, ...issuedTokens])).toEqual([]);
  });
});

describe("prototype pollution: __proto__, constructor and prototype keys in JSON answers", () => {
  const POISON =
    '"__proto__":{"polluted":1,"isAdmin":true},"constructor":{"prototype":{"polluted":2}},"prototype":{"polluted":3}';

  function raw(method: string, path: string | ((p: string) => boolean), status: number, text: string) {
    server.on(method, path, (_req, res) => {
      res.writeHead(status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
      });
      res.end(text);
    });
  }

  const POISON_KEYS = new Set(["__proto__", "constructor", "prototype"]);

  /**
   * Nothing in the global prototypes, and nothing inherited by what the client returned: every
   * object has a plain prototype, and none has `polluted` or `isAdmin` unless the answer put it
   * there as its own data (under one of the poison keys, where JSON.parse keeps it as a plain key).
   */
  function expectUnpolluted(...values: unknown[]): void {
    const probe: Record<string, unknown> = {};
    expect(probe.polluted).toBeUndefined();
    expect(probe.isAdmin).toBeUndefined();
    expect(Object.hasOwn(Object.prototype, "polluted")).toBe(false);
    expect(Object.hasOwn(Object.prototype, "isAdmin")).toBe(false);
    expect(Object.hasOwn(Array.prototype, "polluted")).toBe(false);
    const walk = (value: unknown, depth: number, underPoisonKey: boolean): void => {
      if (!value || typeof value !== "object" || depth > 8) return;
      expect([Object.prototype, Array.prototype, null]).toContain(Object.getPrototypeOf(value));
      const v = value as Record<string, unknown>;
      if (!underPoisonKey) {
        expect(v.polluted).toBeUndefined();
        expect(v.isAdmin).toBeUndefined();
      }
      for (const [key, child] of Object.entries(value))
        walk(child, depth + 1, underPoisonKey || POISON_KEYS.has(key));
    };
    for (const value of values) walk(value, 0, false);
  }

  afterEach(() => {
    // Should a test have polluted the prototype, it must not poison the tests after it.
    delete (Object.prototype as Record<string, unknown>).polluted;
    delete (Object.prototype as Record<string, unknown>).isAdmin;
  });

  it("DingTalk: a success body, nested items and the raw client", async () => {
    raw(
      "GET",
      "/v1.0/contact/seniorSettings",
      200,
      `{${POISON},"seniorStaffId":"u1","seniorWhiteList":[{${POISON},"id":"1","type":3,"name":"n"}]}`,
    );
    const dt = dingtalk();
    const method = await settle(dt.contact.listSeniorSettings({ seniorStaffId: "u1" }));
    const viaRaw = await settle(
      rawClient<DingTalkPaths>(dt).GET("/v1.0/contact/seniorSettings", {
        params: { query: { seniorStaffId: "u1" } },
      } as never),
    );
    expect(method.error).toBeUndefined();
    expect(viaRaw.error).toBeUndefined();
    expect(method.data?.seniorStaffId).toBe("u1");
    expectUnpolluted(method.data, (viaRaw.data as { data?: unknown } | undefined)?.data);
  });

  it("DingTalk: an error body keeps its own code and drops the prototype keys", async () => {
    raw("GET", "/v1.0/contact/dingIndexs", 400, `{${POISON},"code":"parameter.error","message":"bad"}`);
    raw(
      "POST",
      "/v1.0/contact/seniorSettings",
      403,
      '{"__proto__":{"code":"Forbidden.AccessDenied.QpsLimitForApi","requestid":"R-EVIL"},"message":"no"}',
    );
    const dt = dingtalk();
    const get = await settle(dt.contact.getLatestDingIndex());
    expect(get.error).toBeInstanceOf(DingTalkError);
    expect(get.error).toMatchObject({ code: "parameter.error", status: 400 });
    const body = (get.error as DingTalkError).body as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["code", "message"]);
    // A throttling code only in `__proto__` is not the answer's code: not retried as throttling.
    const post = await settle(dt.contact.updateSeniorSetting({ seniorStaffId: "u1", open: true }));
    expect(post.error).toBeInstanceOf(DingTalkError);
    expect(post.error).toMatchObject({ code: undefined, status: 403, attempts: 1 });
    expect((post.error as DingTalkError).requestId).not.toBe("R-EVIL");
    expect(server.count("POST", "/v1.0/contact/seniorSettings")).toBe(1);
    expectUnpolluted((get.error as DingTalkError).body, (post.error as DingTalkError).body);
  });

  it("DingTalk: a token answer with the token only under __proto__ is a ParseError", async () => {
    raw(
      "POST",
      "/v1.0/oauth2/accessToken",
      200,
      '{"__proto__":{"accessToken":"proto-token-123456","expireIn":7200}}',
    );
    const outcome = await settle(dingtalk().contact.getLatestDingIndex());
    expect(outcome.error).toBeInstanceOf(ParseError);
    expect(apiRequests()).toHaveLength(0);
    expectUnpolluted();
  });

  it("WorkPlus: a success envelope, its result and nested records", async () => {
    raw(
      "GET",
      (p) => p.endsWith("/admins"),
      200,
      `{${POISON},"status":0,"message":"ok","result":{${POISON},"records":[{${POISON},"id":1,"username":"u"}],"total_counts":1}}`,
    );
    const wp = workplus();
    const method = await settle(wp.apps.listAdmins({ appId: "app-1" }));
    const viaRaw = await settle(
      rawClient<WorkPlusPaths>(wp).GET("/v1/apps/{appId}/admins", {
        params: { path: { appId: "app-1" } },
      } as never),
    );
    expect(method.error).toBeUndefined();
    expect(viaRaw.error).toBeUndefined();
    expect(method.data?.records?.[0]?.username).toBe("u");
    expectUnpolluted(method.data, (viaRaw.data as { data?: unknown } | undefined)?.data);
  });

  it("WorkPlus: an envelope whose status or result is only under __proto__ is not a success", async () => {
    raw(
      "GET",
      (p) => p.endsWith("/admins"),
      200,
      '{"__proto__":{"status":0,"result":{"records":[]}},"message":"ok"}',
    );
    const outcome = await settle(workplus().apps.listAdmins({ appId: "app-1" }));
    expect(outcome.error).toBeInstanceOf(ParseError);
    expectUnpolluted();
  });

  it("WorkPlus: an error envelope keeps its own status and drops the prototype keys", async () => {
    raw(
      "GET",
      (p) => p.endsWith("/super-admins"),
      200,
      `{${POISON},"status":202102,"message":"no such app"}`,
    );
    raw(
      "GET",
      (p) => p.endsWith("/scope-views"),
      200,
      '{"__proto__":{"status":10011},"status":202102,"message":"m"}',
    );
    const wp = workplus();
    const a = await settle(wp.apps.listSuperAdmins({ appId: "app-1" }));
    const b = await settle(wp.apps.listScopeViews({ appId: "app-1" }));
    for (const outcome of [a, b]) {
      expect(outcome.error).toBeInstanceOf(WorkPlusError);
      expect(outcome.error).toMatchObject({ code: 202102 });
    }
    expect(Object.keys((a.error as WorkPlusError).body as object).sort()).toEqual(["message", "status"]);
    // 10011 only under __proto__ is not a token refusal: no refresh, no replay.
    expect(server.count("POST", "/v1/token")).toBe(1);
    expectUnpolluted((a.error as WorkPlusError).body, (b.error as WorkPlusError).body);
  });

  it("WorkPlus: a token answer with the token only under __proto__ is a typed error, and no call goes out with it", async () => {
    raw(
      "POST",
      "/v1/token",
      200,
      '{"status":0,"message":"ok","result":{"__proto__":{"access_token":"proto-token-123456","expire_time":99999999999999}}}',
    );
    const outcome = await settle(workplus().apps.listAdmins({ appId: "app-1" }));
    expect(outcome.error).toBeInstanceOf(ImspecError);
    expect(apiRequests()).toHaveLength(0);
    expectUnpolluted();
  });
});

afterAll(() => {
  // Every error this file provoked, and every log line, against every planted secret and token.
  expect(thrown.length + logLines.length).toBeGreaterThan(0);
  const planted = [DT_SECRET, WP_SECRET, GIVEN_TOKEN, ...issuedTokens];
  for (const error of thrown) {
    expect(error).toBeInstanceOf(ImspecError);
    expect(leaked(shown(error), planted), `${(error as Error).name}: ${(error as Error).message}`).toEqual(
      [],
    );
  }
  expect(leaked(logLines.join("\n"), planted)).toEqual([]);
});
