/**
 * Values at the edges, from the server or the caller, that once escaped as untyped errors, hangs,
 * crashed processes or shown secrets: tokens that are not well-formed Unicode or are 300,000
 * characters long (refused: no platform's token is longer than 8 KiB), options past what a timer can wait, rate-limit stores that break their contract,
 * signals that are not signals, status lines `Response` refuses, object cursors, and secrets in
 * request bodies. Every call ends in data or a typed error within CALL_BOUND_MS, against a real
 * node:http server on 127.0.0.1, and nothing rejects unhandled.
 */

import { ApiError, PaginationError } from "imspec";
import type { paths as DingTalkPaths } from "imspec/dingtalk";
import {
  ConfigError,
  ConnectionError,
  createDingTalk,
  DingTalkError,
  type LogEvent,
  ParseError,
  TimeoutError,
} from "imspec/dingtalk";
import { nodeTransport } from "imspec/node";
import { rawClient } from "imspec/raw";
import { createWeCom, type paths as WeComPaths } from "imspec/wecom";
import { createWorkPlus } from "imspec/workplus";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { json, type Received, ScriptedServer } from "../support/scripted-server.js";
import { collectUnhandledRejections } from "../support/unhandled.js";
import { leaked, settler, shown } from "./secrets.js";

const CALL_BOUND_MS = 8_000;
const SECRET = "planted-edge-app-secret-Tq4";
const thrown: unknown[] = [];
const settle = settler(CALL_BOUND_MS, thrown);
const unhandled = collectUnhandledRejections();
afterAll(() => {
  unhandled.stop();
  expect(unhandled.reasons).toEqual([]);
});

let server: ScriptedServer;
beforeEach(async () => {
  server = await new ScriptedServer().start();
});
afterEach(async () => {
  await server.stop();
});

const TOKEN_PATH = "/v1.0/oauth2/accessToken";
const INVITES = "/v1.0/contact/invites/infos";
const apiRequests = () => server.requests.filter((r) => r.pathname !== TOKEN_PATH);
const issue = (token: string) =>
  server.on("POST", TOKEN_PATH, (_req, res) => json(res, 200, { accessToken: token, expireIn: 7200 }));
const dingtalk = (extra: Record<string, unknown> = {}) =>
  createDingTalk({
    rateLimit: false,
    retry: false,
    appKey: "edge-app",
    appSecret: SECRET,
    baseUrl: server.url,
    ...extra,
  } as Parameters<typeof createDingTalk>[0]);
const invites = (dt: ReturnType<typeof dingtalk>, options = {}) =>
  dt.contact.getApplyInviteInfo({ inviterUserId: "u" }, options);
/** Every request to INVITES refused with the token it carried in the message. */
const echoToken = () =>
  server.on("GET", INVITES, (req: Received, res) =>
    json(res, 400, { code: "invalid.param", message: `bad ${req.headers["x-acs-dingtalk-access-token"]}` }),
  );

describe("tokens the server should not have sent", () => {
  it("a token that is not well-formed Unicode is a ParseError, and nothing is sent with it", async () => {
    server.on("POST", TOKEN_PATH, (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"accessToken":"tok\\ud800en-1234","expireIn":7200}');
    });
    echoToken();
    for (let i = 0; i < 2; i++) {
      const { error } = await settle(invites(dingtalk()));
      expect(error).toBeInstanceOf(ParseError);
      expect((error as Error).message).toMatch(/not well-formed Unicode/);
    }
    expect(apiRequests()).toEqual([]);
  });

  it("a token holding a control character is a ParseError, and nothing is sent with it", async () => {
    // A line break cannot be sent in a header, and a tab or DEL is no platform's: each call would
    // fail before any server could refuse the token and have it replaced.
    for (const token of ["tok\r\nen-1234", "tok\ten-1234", "tok\u007fen-1234"]) {
      server.on("POST", TOKEN_PATH, (_req, res) => json(res, 200, { accessToken: token, expireIn: 7200 }));
      echoToken();
      const { error } = await settle(invites(dingtalk()));
      expect(error, JSON.stringify(token)).toBeInstanceOf(ParseError);
      expect((error as Error).message).toMatch(/accessToken cannot be sent \(it holds a control character\)/);
    }
    expect(apiRequests()).toEqual([]);
  });

  it("a token holding a character past U+00FF is a ParseError, and nothing is sent with it", async () => {
    // A header carries Latin-1 at most: every call would fail before any server could refuse it.
    for (const token of ["tok-令牌-123456", "tok-\u{1F511}-123456"]) {
      issue(token);
      echoToken();
      const { error } = await settle(invites(dingtalk()));
      expect(error, JSON.stringify(token)).toBeInstanceOf(ParseError);
      expect((error as Error).message).toMatch(/accessToken cannot be sent in a header/);
    }
    expect(apiRequests()).toEqual([]);
  });

  it("the same token where it goes in the query (WeCom): used, percent-encoded, as the server gave it", async () => {
    const token = "tok-令牌-123456";
    server.on("GET", "/cgi-bin/gettoken", (_req, res) =>
      json(res, 200, { errcode: 0, errmsg: "ok", access_token: token, expires_in: 7200 }),
    );
    server.on("GET", "/cgi-bin/department/simplelist", (_req, res) =>
      json(res, 200, { errcode: 0, errmsg: "ok", department_id: [{ id: 1, parentid: 0, order: 1 }] }),
    );
    const wc = createWeCom({ baseUrl: server.url, corpId: "corp", corpSecret: SECRET, rateLimit: false });
    const { error } = await settle(wc.department.listDepartmentIds({}));
    expect(error).toBeUndefined();
    const sent = server.requests.find((r) => r.pathname === "/cgi-bin/department/simplelist");
    expect(sent?.query.get("access_token")).toBe(token);
  });

  it("a token read back from a store of one's own that could not be sent is fetched anew, and the call goes", async () => {
    for (const accessToken of ["tok\r\nen-1234", "tok-令牌-123456", 42, ""]) {
      const stored = { accessToken, expiresAt: Date.now() + 3_600_000 };
      const saved: unknown[] = [];
      const tokenStore = {
        get: async () => stored,
        set: async (_key: string, token: unknown) => void saved.push(token),
        delete: async () => undefined,
      };
      issue("tok-fresh-1234");
      server.on("GET", INVITES, (req: Received, res) =>
        json(res, 200, { token: req.headers["x-acs-dingtalk-access-token"] }),
      );
      const { data, error } = await settle(invites(dingtalk({ tokenStore })));
      expect(error, JSON.stringify(accessToken)).toBeUndefined();
      expect(data).toEqual({ token: "tok-fresh-1234" });
      expect(saved).toMatchObject([{ accessToken: "tok-fresh-1234" }]);
    }
  });

  it("a per-call query token that is not well-formed Unicode is a ConfigError, not a URIError", async () => {
    const wp = createWorkPlus({ baseUrl: server.url, accessToken: "unused-token", retry: false });
    const { error } = await settle(wp.apps.listAdmins({ appId: "a" }, { accessToken: "tok\ud800en" }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(server.requests).toEqual([]);
  });

  it("a 300,000-character token is a typed error that does not show it, and nothing is sent with it", async () => {
    const huge = `tok-${"A1b2".repeat(75_000)}`;
    issue(huge);
    echoToken();
    for (let i = 0; i < 2; i++) {
      const { error } = await settle(invites(dingtalk()));
      expect(error).toBeInstanceOf(ParseError);
      expect((error as Error).message).toMatch(/300004 characters long/);
      expect(leaked(shown(error), [huge])).toEqual([]);
    }
    expect(apiRequests()).toEqual([]);
  });
});

describe("secrets in request bodies", () => {
  it("DingTalk's clientSecret, the OAuth code and a refresh token never show in the errors they cause", async () => {
    const clientSecret = "planted-client-secret-Wk2";
    const code = "planted-oauth-code-Hy7";
    const refreshToken = "planted-refresh-token-Pn3";
    server.on("POST", "/v1.0/oauth2/userAccessToken", (req: Received, res) => {
      const body = JSON.parse(req.body) as Record<string, string>;
      json(res, 400, {
        code: "invalid.param",
        message: `client ${body.clientSecret} code ${body.code} refresh ${body.refreshToken}`,
      });
    });
    const dt = dingtalk({ clientId: "edge-client", clientSecret });
    const outcomes = [
      await settle(dt.userTokens.exchangeCode(code)),
      await settle(dt.userTokens.refresh(refreshToken)),
    ];
    for (const { error } of outcomes) {
      expect(error).toBeInstanceOf(DingTalkError);
      expect(leaked(shown(error), [clientSecret, code, refreshToken])).toEqual([]);
    }
  });

  it("through raw as through the method: the secrets a request's body or query carries are masked", async () => {
    const clientSecret = "planted-raw-client-secret-Vb3";
    const code = "planted-raw-oauth-code-Jm8";
    const corpSecret = "planted-raw-corp-secret-Xd4";
    server.on("POST", "/v1.0/oauth2/userAccessToken", (req: Received, res) => {
      const body = JSON.parse(req.body) as Record<string, string>;
      json(res, 400, { code: "invalid.param", message: `client ${body.clientSecret} code ${body.code}` });
    });
    server.on("GET", "/cgi-bin/gettoken", (req: Received, res) =>
      json(res, 200, { errcode: 40001, errmsg: `invalid credential ${req.query.get("corpsecret")}` }),
    );
    const dt = createDingTalk({ rateLimit: false, retry: false, baseUrl: server.url, accessToken: "unused" });
    const wc = createWeCom({ rateLimit: false, retry: false, baseUrl: server.url, accessToken: "unused" });
    const body = { clientId: "edge-client", clientSecret, code, grantType: "authorization_code" };
    const outcomes = [
      await settle(rawClient<DingTalkPaths>(dt).POST("/v1.0/oauth2/userAccessToken", { body } as never)),
      await settle(
        rawClient<WeComPaths>(wc).GET("/cgi-bin/gettoken", {
          params: { query: { corpid: "edge-corp", corpsecret: corpSecret } },
        } as never),
      ),
    ];
    for (const { error } of outcomes) {
      expect(error).toBeInstanceOf(ApiError);
      expect(leaked(shown(error), [clientSecret, code, corpSecret])).toEqual([]);
    }
  });

  it("a suite ticket from a function stays masked while 40 calls with tokens of their own come and go", async () => {
    const ticket = "planted-suite-ticket-Lr8";
    const dt = createDingTalk({
      rateLimit: false,
      retry: false,
      baseUrl: server.url,
      suiteKey: "edge-suite",
      suiteSecret: SECRET,
      authCorpId: "corp",
      suiteTicket: () => ticket,
    });
    const error = await echoedWhileOthersRun(dt, "/v1.0/oauth2/corpAccessToken", "suiteTicket", () =>
      invites(dt),
    );
    expect(error).toBeInstanceOf(DingTalkError);
    expect(leaked(shown(error), [ticket])).toEqual([]);
  });

  it("an OAuth code stays masked while 40 calls with tokens of their own come and go", async () => {
    const code = "planted-oauth-code-in-flight-Qe6";
    const dt = dingtalk();
    const error = await echoedWhileOthersRun(dt, "/v1.0/oauth2/userAccessToken", "code", () =>
      dt.userTokens.exchangeCode(code),
    );
    expect(error).toBeInstanceOf(DingTalkError);
    expect(leaked(shown(error), [code])).toEqual([]);
  });
});

/**
 * `call` reaches `path`, which holds its answer until 40 calls with tokens of their own have come and
 * gone, then refuses it echoing the body's `field`; resolves with the error `call` ended in.
 */
async function echoedWhileOthersRun(
  dt: ReturnType<typeof dingtalk>,
  path: string,
  field: string,
  call: () => Promise<unknown>,
): Promise<unknown> {
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  server.on("POST", path, async (req: Received, res) => {
    const body = JSON.parse(req.body) as Record<string, string>;
    await held;
    json(res, 400, { code: "invalid.param", message: `${field} ${body[field]} refused` });
  });
  server.on("GET", INVITES, (_req, res) => json(res, 200, { ok: true }));
  const pending = settle(call());
  while (!server.requests.some((r) => r.pathname === path))
    await new Promise((resolve) => setTimeout(resolve, 5));
  for (let i = 0; i < 40; i++) await settle(invites(dt, { accessToken: `per-call-token-${i}-Zs5` }));
  release();
  return (await pending).error;
}

describe("per-call options are checked like the client's", () => {
  beforeEach(() => {
    issue("edge-token-1234");
    server.on("GET", INVITES, (_req, res) => json(res, 503, { code: "system.busy", message: "busy" }));
  });

  it.each([
    ["a timeout past what a timer can wait", { timeout: 3e9 }],
    ["a timeout of NaN", { timeout: Number.NaN }],
    ["endless attempts", { retry: { maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: -1 } }],
    ["a retry that is not an object", { retry: "always" }],
    ["a signal that is not an AbortSignal", { signal: {} }],
    ["a signal-shaped string", { signal: "abort" }],
  ])("%s is a ConfigError and nothing is sent", async (_name, options) => {
    const started = Date.now();
    const { error } = await settle(invites(dingtalk({ timeout: 200 }), options));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ operationId: "getApplyInviteInfo" });
    expect(apiRequests()).toEqual([]);
    expect(Date.now() - started).toBeLessThan(CALL_BOUND_MS);
    // Whatever timer a refused signal could have left armed has fired by now, harmlessly.
    await new Promise((resolve) => setTimeout(resolve, 300));
  });
});

describe("option values at the edge of what is allowed", () => {
  beforeEach(() => issue("edge-token-1234"));

  it("retry settings left undefined keep their defaults: three attempts, not endless", async () => {
    server.on("GET", INVITES, (_req, res) => json(res, 503, { code: "system.busy", message: "busy" }));
    const retry = { maxAttempts: undefined, baseDelayMs: 1, maxDelayMs: 2 };
    for (const dt of [dingtalk({ retry }), dingtalk({ retry: undefined })]) {
      server.requests.length = 0;
      const { error } = await settle(invites(dt, { retry }));
      expect(error).toBeInstanceOf(DingTalkError);
      expect(apiRequests()).toHaveLength(3);
    }
  });

  it("the longest timeout allowed waits for a cold token instead of failing at once", async () => {
    server.on("GET", INVITES, (_req, res) => json(res, 200, { ok: true }));
    const { error, data } = await settle(invites(dingtalk({ timeout: 2 ** 31 - 1 })));
    expect(error).toBeUndefined();
    expect(data).toEqual({ ok: true });
  });
});

describe("rate-limit options and stores", () => {
  beforeEach(() => {
    issue("edge-token-1234");
    server.on("GET", INVITES, (_req, res) => json(res, 200, { ok: true }));
  });

  it.each([
    ["a window no timer can wait out", { "app-operation": { seconds: 1e306 } }],
    ["infinite calls", { "app-operation": { calls: Number.POSITIVE_INFINITY } }],
    ["a store without take", { store: {} }],
    ["a store that is null", { store: null }],
  ])("%s is a ConfigError when the client is made", (_name, rateLimit) => {
    expect(() => dingtalk({ rateLimit })).toThrow(ConfigError);
  });

  it.each([
    ["answers a number, not a promise", () => 0],
    [
      "throws",
      () => {
        throw new Error("store down");
      },
    ],
    ["answers NaN", async () => Number.NaN],
    ["answers a string", async () => "soon"],
  ])("a store that %s lets the calls go, as a failing store does", async (_name, take) => {
    const dt = dingtalk({ rateLimit: { store: { take } }, timeout: 1_000 });
    const outcomes = await Promise.all([settle(invites(dt)), settle(invites(dt))]);
    expect(outcomes.map((o) => o.error)).toEqual([undefined, undefined]);
    expect(apiRequests()).toHaveLength(2);
  });

  it("a store that answers an endless wait holds the call to its timeout, not a spinning loop", async () => {
    let takes = 0;
    const take = async () => {
      takes++;
      return Number.POSITIVE_INFINITY;
    };
    const dt = dingtalk({ rateLimit: { store: { take } }, timeout: 300 });
    const { error } = await settle(invites(dt));
    expect(error).toBeInstanceOf(TimeoutError);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // One wait, the longest a timer can hold, then the call left: not a take per millisecond.
    expect(takes).toBe(1);
    expect(apiRequests()).toEqual([]);
  });

  it("a call its budget held back for most of its timeout is then sent with a timeout of its own", async () => {
    // The second call waits about a second for its budget, then the server takes 400 ms: with what
    // the wait left of 1.3 s, it would reach the server only to time out, its outcome unknown.
    server.on("GET", INVITES, async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 400));
      json(res, 200, { ok: true });
    });
    const dt = dingtalk({ timeout: 1_300, rateLimit: { "app-operation": { calls: 1, seconds: 1 } } });
    const outcomes = await Promise.all([settle(invites(dt)), settle(invites(dt))]);
    expect(outcomes.map((o) => o.error)).toEqual([undefined, undefined]);
    expect(apiRequests()).toHaveLength(2);
  });

  it("the token wait still counts against the exchange when the budget held the call a moment", async () => {
    // The token comes after 800 ms of a 1 s timeout; the budget holds the second call about a ms.
    server.on("GET", INVITES, () => {}); // never answers
    server.on("POST", TOKEN_PATH, (_req, res) => {
      setTimeout(() => json(res, 200, { accessToken: "slow-token-Zs5-0123456789", expireIn: 7200 }), 800);
    });
    const dt = dingtalk({ timeout: 1_000, rateLimit: { "app-operation": { calls: 1_000, seconds: 1 } } });
    const started = Date.now();
    const ended = (p: Promise<{ error?: unknown }>) =>
      p.then((o) => ({ error: o.error, ms: Date.now() - started }));
    const outcomes = await Promise.all([ended(settle(invites(dt))), ended(settle(invites(dt)))]);
    for (const { error, ms } of outcomes) {
      expect(error).toBeInstanceOf(TimeoutError);
      // About 1 000 ms: the budget's moment is not a whole new timeout.
      expect(ms).toBeLessThan(1_500);
    }
  });

  it("a call held by its budget logs how long, and so does one whose wait ran out", async () => {
    server.on("GET", INVITES, (_req, res) => json(res, 200, { ok: true }));
    const events: LogEvent[] = [];
    const logger = (e: LogEvent) => events.push(e);
    const held = dingtalk({ logger, rateLimit: { "app-operation": { calls: 1, seconds: 1 } } });
    await Promise.all([settle(invites(held)), settle(invites(held))]);
    const waits = events.filter((e) => e.operationId === "getApplyInviteInfo").map((e) => e.rateLimitedMs);
    // The first is not held by the operation's budget (the IP-wide one paces every call by 2 ms).
    expect(waits[0] ?? 0).toBeLessThan(100);
    expect(waits[1]).toBeGreaterThan(500);
    events.length = 0;
    const short = dingtalk({
      logger,
      timeout: 300,
      rateLimit: { "app-operation": { calls: 1, seconds: 1 } },
    });
    const outcomes = await Promise.all([settle(invites(short)), settle(invites(short))]);
    expect(outcomes[1]?.error).toBeInstanceOf(TimeoutError);
    const ranOut = events.find((e) => e.error === "TimeoutError");
    expect(ranOut?.rateLimitedMs).toBeGreaterThanOrEqual(250);
  });

  it("calls that time out waiting for their budget leave the queue: a later call is not held behind them", async () => {
    const dt = dingtalk({ timeout: 300, rateLimit: { "app-operation": { calls: 1, seconds: 1 } } });
    const burst = await Promise.all(Array.from({ length: 6 }, () => settle(invites(dt))));
    const timedOut = burst.filter((o) => o.error instanceof TimeoutError);
    expect(timedOut.length).toBeGreaterThan(0);
    for (const { error } of timedOut) expect((error as Error).message).toMatch(/rate budget/);
    // The budget has been idle for over a window: the next call goes at once.
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    const started = Date.now();
    const { error } = await settle(invites(dt));
    expect(error).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(300);
    expect(apiRequests()).toHaveLength(burst.length - timedOut.length + 1);
  });
});

describe("answers the fetch API would refuse", () => {
  it("a DEL in the status line: the data, and a Response without the reason phrase", async () => {
    server.on("GET", INVITES, (_req, res) => {
      res.socket?.end(
        'HTTP/1.1 200 OK\x7f\r\ncontent-type: application/json\r\ncontent-length: 10\r\nconnection: close\r\n\r\n{"a":true}',
      );
    });
    const dt = createDingTalk({ baseUrl: server.url, accessToken: "edge-token-1234", rateLimit: false });
    const { data, response } = await invites(dt).withResponse();
    expect(data).toEqual({ a: true });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ a: true });
  });
});

describe("answers no operation asks for", () => {
  it("a 101 Switching Protocols is a ConnectionError at once, not a wait for the timeout", async () => {
    server.on("GET", INVITES, (_req, res) => {
      res.socket?.write("HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n\r\n");
    });
    const dt = createDingTalk({
      baseUrl: server.url,
      accessToken: "edge-token-1234",
      rateLimit: false,
      timeout: 5_000,
      retry: false,
    });
    const started = Date.now();
    const { error } = await settle(invites(dt));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("nodeTransport used directly", () => {
  it("a request it cannot make unsubscribes from the signal: a later abort reaches the other listeners", async () => {
    const send = nodeTransport();
    const controller = new AbortController();
    let other = false;
    controller.signal.addEventListener("abort", () => {
      other = true;
    });
    const failed = await send({
      url: `${server.url}${INVITES}`,
      method: "GET",
      headers: { "x-bad": "a\r\nb" },
      body: undefined,
      signal: controller.signal,
      timeout: 1_000,
      maxBytes: 1_000,
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(Error);
    controller.abort();
    expect(other).toBe(true);
    send.destroy();
  });
});

describe("nodeTransport options", () => {
  it.each([
    ["keepAliveTimeout", { keepAliveTimeout: -1 }],
    ["keepAliveTimeout", { keepAliveTimeout: Number.POSITIVE_INFINITY }],
    ["keepAliveTimeout", { keepAliveTimeout: "abc" }],
    ["maxSockets", { maxSockets: 0 }],
    ["maxSockets", { maxSockets: 1.5 }],
    ["keepAlive", { keepAlive: "yes" }],
  ])("a bad %s is a ConfigError when the transport is made", (_name, options) => {
    expect(() => nodeTransport(options as Parameters<typeof nodeTransport>[0])).toThrow(ConfigError);
  });

  it("Infinity sockets and a whole-number idle timeout are taken", () => {
    nodeTransport({ maxSockets: Number.POSITIVE_INFINITY, keepAliveTimeout: 1_000 }).destroy();
  });
});

describe("pagination", () => {
  it("an object cursor, new at every page, ends in a PaginationError instead of an endless listing", async () => {
    server.on("GET", "/cgi-bin/gettoken", (_req, res) =>
      json(res, 200, { errcode: 0, errmsg: "ok", access_token: "edge-token-1234", expires_in: 7200 }),
    );
    server.on("POST", "/cgi-bin/user/list_id", (_req, res) =>
      json(res, 200, {
        errcode: 0,
        errmsg: "ok",
        next_cursor: { c: 1 },
        dept_user: [{ userid: "u1", department: 1 }],
      }),
    );
    const wc = createWeCom({ baseUrl: server.url, corpId: "corp", corpSecret: SECRET, rateLimit: false });
    let items = 0;
    const listing = (async () => {
      for await (const _ of wc.user.listUserIds.iterate({ limit: 1 })) if (++items > 100) break;
    })();
    const { error } = await settle(listing);
    expect(error).toBeInstanceOf(PaginationError);
    expect((error as Error).message).toMatch(/not a string or a number/);
    expect(items).toBe(1);
  });
});

describe("values thrown that have no text", () => {
  // An object without a prototype cannot be made a string; a message getter may throw.
  const textless = () => [
    Object.create(null),
    Object.defineProperty({}, "message", {
      get() {
        throw new Error("no message today");
      },
    }),
  ];

  it("a token provider that rejects with one: a ConfigError, not a TypeError", async () => {
    for (const value of textless()) {
      const dt = dingtalk({
        appKey: undefined,
        appSecret: undefined,
        getAccessToken: async () => Promise.reject(value),
      });
      const { error } = await settle(invites(dt));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/a thrown object without a message/);
    }
    expect(apiRequests()).toEqual([]);
  });

  it("a transport or a fetch that fails with one: a ConnectionError, retried as a network failure", async () => {
    for (const value of textless()) {
      let attempts = 0;
      const fail = async () => {
        attempts++;
        throw value;
      };
      for (const option of [{ transport: fail }, { fetch: fail }]) {
        attempts = 0;
        const dt = dingtalk({ ...option, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
        const { error } = await settle(invites(dt, { accessToken: "given" }));
        expect(error).toBeInstanceOf(ConnectionError);
        // The fetch transport names the failure itself ("network"); a transport's own failure has no text.
        if ("transport" in option)
          expect((error as Error).message).toMatch(/a thrown object without a message/);
        expect(attempts).toBe(2);
      }
    }
  });

  it("rawClient: a body, query or path that throws one, or is one: a ConfigError, nothing sent", async () => {
    const api = rawClient(dingtalk({ accessToken: "given-token-1234" })) as unknown as Record<
      string,
      (...args: unknown[]) => Promise<unknown>
    >;
    for (const value of textless()) {
      const throwing = {
        toJSON() {
          throw value;
        },
      };
      const query = Object.defineProperty({}, "a", {
        enumerable: true,
        get() {
          throw value;
        },
      });
      const calls = [
        () => api.POST?.("/v1.0/contact/seniorSettings", { body: throwing }),
        () => api.GET?.("/v1.0/contact/dingIndexs", { params: { query } }),
        () => api.GET?.(value),
        () => api.request?.(value, "/v1.0/contact/dingIndexs"),
      ];
      for (const call of calls) {
        const { error } = await settle(Promise.resolve().then(call));
        expect(error).toBeInstanceOf(ConfigError);
      }
    }
    expect(server.requests).toEqual([]);
  });
});

describe("a transport that resolves with what is not an answer", () => {
  it.each([
    ["null", null],
    ["a number", 42],
    ["no status", { body: "{}", headers: {} }],
    ["a status that is text", { status: "200", body: "{}", headers: {} }],
    ["a body that is not text", { status: 200, body: 5, headers: {} }],
    ["no headers", { status: 200, body: "{}", headers: null }],
  ])("%s: a ConnectionError, with a logger or without, never data", async (_case, answer) => {
    for (const logger of [undefined, () => {}]) {
      const dt = dingtalk({ transport: async () => answer, logger });
      const { data, error } = await settle(invites(dt, { accessToken: "given-token-1234" }));
      expect(data).toBeUndefined();
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(/no answer/);
    }
  });

  const throwing = Object.defineProperty({}, "retry-after", {
    enumerable: true,
    get() {
      throw new Error("a getter that throws");
    },
  });
  it.each([
    ["a number", { "retry-after": 5 }],
    ["an array", { "x-acs-request-id": ["a", "b"] }],
    ["a getter that throws", throwing],
  ])(
    "a header value that is not text (%s): a ConnectionError, retried, never a ConfigError",
    async (_case, headers) => {
      let attempts = 0;
      const transport = async () => {
        attempts++;
        return { status: 503, statusText: "", headers, body: "{}" };
      };
      const dt = dingtalk({ transport, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
      const { error } = await settle(invites(dt, { accessToken: "given-token-1234" }));
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(/a header that is not text/);
      expect(attempts).toBe(2);
    },
  );
});
