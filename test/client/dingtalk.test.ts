import { inspect } from "node:util";
import type { paths as DingTalkPaths } from "imspec/dingtalk";
import {
  AbortError,
  type AccessTokenInput,
  APIPromise,
  ConfigError,
  ConnectionError,
  createDingTalk,
  DingTalkError,
  type LogEvent,
  ParseError,
  type RenewableToken,
  TimeoutError,
} from "imspec/dingtalk";
import { rawClient } from "imspec/raw";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { delay, json, ScriptedServer } from "../support/scripted-server.js";

const SETTINGS = {
  seniorStaffId: "013349365367-1094322561",
  protectScenes: ["CHAT"],
  seniorWhiteList: [{ id: "1234", type: 3, name: "测试角色" }],
};
const SECRET = "planted-app-secret-6f1c2d";

let server: ScriptedServer;
let tokens: number;

/** A DingTalk-shaped server: token endpoint issuing tok-1, tok-2, …; settings needing a current token. */
beforeEach(async () => {
  server = await new ScriptedServer().start();
  tokens = 0;
  server.on("POST", "/v1.0/oauth2/accessToken", async (req, res) => {
    const body = JSON.parse(req.body) as { appKey?: string; appSecret?: string };
    if (body.appSecret !== SECRET)
      return json(res, 400, {
        code: "invalidClientIdOrSecret",
        message: `bad secret ${body.appSecret}`,
        requestid: "R-TOKEN",
      });
    tokens++;
    await delay(20);
    json(res, 200, { accessToken: `tok-${tokens}-abcdef`, expireIn: 7200 });
  });
  server.on("GET", "/v1.0/contact/seniorSettings", (req, res) => {
    if (req.headers["x-acs-dingtalk-access-token"] !== `tok-${tokens}-abcdef`) {
      return json(res, 400, {
        code: "InvalidAuthentication",
        message: "不合法的access_token",
        requestid: "R-AUTH",
      });
    }
    json(res, 200, SETTINGS, { "x-acs-request-id": "REQ-42" });
  });
});
afterEach(async () => {
  vi.useRealTimers();
  await server.stop();
});

function client(extra: Parameters<typeof createDingTalk>[0] = {}) {
  return createDingTalk({
    rateLimit: false,
    appKey: "ding-app",
    appSecret: SECRET,
    baseUrl: server.url,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...extra,
  } as Parameters<typeof createDingTalk>[0]);
}

describe("createDingTalk: tokens", () => {
  it("100 concurrent calls on a cold cache make exactly one token request", async () => {
    const dt = client();
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        dt.contact.listSeniorSettings({ seniorStaffId: "013349365367-1094322561" }),
      ),
    );
    expect(results).toHaveLength(100);
    expect(results.every((r) => r.seniorStaffId === SETTINGS.seniorStaffId)).toBe(true);
    expect(server.count("POST", "/v1.0/oauth2/accessToken")).toBe(1);
    expect(server.count("GET", "/v1.0/contact/seniorSettings")).toBe(100);
  });

  it("sends the token in x-acs-dingtalk-access-token and the appKey/appSecret as JSON", async () => {
    const dt = client();
    await dt.contact.listSeniorSettings({ seniorStaffId: "u1" });
    const [tokenRequest, call] = server.requests;
    expect(JSON.parse(tokenRequest?.body ?? "")).toEqual({ appKey: "ding-app", appSecret: SECRET });
    expect(tokenRequest?.headers["content-type"]).toMatch(/application\/json/);
    expect(call?.headers["x-acs-dingtalk-access-token"]).toBe("tok-1-abcdef");
    expect(call?.url).toBe("/v1.0/contact/seniorSettings?seniorStaffId=u1");
  });

  it("refreshes the token before it expires (expireIn minus the margin)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const dt = client({ tokenMarginMs: 60_000 } as never);
    await dt.contact.listSeniorSettings({ seniorStaffId: "u1" });
    vi.setSystemTime(Date.now() + (7200 - 61) * 1000);
    await dt.contact.listSeniorSettings({ seniorStaffId: "u1" });
    expect(server.count("POST", "/v1.0/oauth2/accessToken")).toBe(1);
    vi.setSystemTime(Date.now() + 2_000);
    await dt.contact.listSeniorSettings({ seniorStaffId: "u1" });
    expect(server.count("POST", "/v1.0/oauth2/accessToken")).toBe(2);
    expect(server.requests.at(-1)?.headers["x-acs-dingtalk-access-token"]).toBe("tok-2-abcdef");
  });

  it("replays once with a new token when the server says the token is invalid", async () => {
    const dt = client();
    await dt.contact.listSeniorSettings({ seniorStaffId: "u1" });
    tokens++; // the server now expects tok-2: the cached tok-1 is "expired"
    const result = await dt.contact.listSeniorSettings({ seniorStaffId: "u1" });
    expect(result).toEqual(SETTINGS);
    // tok-3 was issued by the refresh; the server accepts the newest token only.
    expect(server.count("POST", "/v1.0/oauth2/accessToken")).toBe(2);
    expect(server.count("GET", "/v1.0/contact/seniorSettings")).toBe(3);
  });

  it("never loops: a token refused again after the replay is thrown as DingTalkError", async () => {
    server.on("GET", "/v1.0/contact/seniorSettings", (_req, res) =>
      json(res, 401, { code: "InvalidAuthentication", message: "不合法的access_token", requestid: "R-401" }),
    );
    const dt = client();
    const error = await dt.contact.listSeniorSettings({ seniorStaffId: "u1" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DingTalkError);
    expect(error).toMatchObject({
      status: 401,
      code: "InvalidAuthentication",
      requestId: "R-401",
      operationId: "listSeniorSettings",
    });
    expect(server.count("GET", "/v1.0/contact/seniorSettings")).toBe(2);
    expect(server.count("POST", "/v1.0/oauth2/accessToken")).toBe(2);
  });

  it("100 concurrent calls refused with the same token share one refresh", async () => {
    const dt = client();
    await dt.contact.listSeniorSettings({ seniorStaffId: "u1" });
    tokens++;
    await Promise.all(
      Array.from({ length: 100 }, () => dt.contact.listSeniorSettings({ seniorStaffId: "u1" })),
    );
    expect(server.count("POST", "/v1.0/oauth2/accessToken")).toBe(2);
  });

  it("a static accessToken is used as is and not replaced", async () => {
    const dt = createDingTalk({ rateLimit: false, accessToken: "tok-1-abcdef", baseUrl: server.url });
    tokens = 1;
    await expect(dt.contact.listSeniorSettings({ seniorStaffId: "u1" })).resolves.toEqual(SETTINGS);
    tokens = 2;
    await expect(dt.contact.listSeniorSettings({ seniorStaffId: "u1" })).rejects.toMatchObject({
      code: "InvalidAuthentication",
    });
    expect(server.count("POST", "/v1.0/oauth2/accessToken")).toBe(0);
  });

  it("a custom getAccessToken provider is asked again once when its token is refused", async () => {
    tokens = 1;
    const provided: string[] = [];
    const dt = createDingTalk({
      rateLimit: false,
      baseUrl: server.url,
      getAccessToken: () => {
        const token = provided.length === 0 ? "stale-token" : `tok-${tokens}-abcdef`;
        provided.push(token);
        return token;
      },
    });
    await expect(dt.contact.listSeniorSettings({ seniorStaffId: "u1" })).resolves.toEqual(SETTINGS);
    expect(provided).toEqual(["stale-token", "tok-1-abcdef"]);
  });

  it("a token provider that gives no token is a ConfigError before anything is sent, never a loop", async () => {
    const none = [() => undefined, async () => undefined, () => null, () => ""];
    for (const provider of none) {
      // The client's provider (asked again when its token is refused), or the call's own.
      for (const own of [false, true]) {
        const given = own ? {} : { getAccessToken: provider as never };
        const dt = client({ appKey: undefined, appSecret: undefined, ...given });
        const perCall = own ? { accessToken: provider as never } : {};
        // Bounded, so that a call that would loop ends here instead.
        const signal = AbortSignal.timeout(1000);
        const call = dt.contact.listSeniorSettings({ seniorStaffId: "u1" }, { ...perCall, signal });
        await expect(call).rejects.toBeInstanceOf(ConfigError);
        await expect(call).rejects.toThrow(/returned no token/);
      }
    }
    expect(server.count("GET", "/v1.0/contact/seniorSettings")).toBe(0);
  });

  it("third-party apps get the corp token with suiteKey, suiteSecret, authCorpId and suiteTicket", async () => {
    server.on("POST", "/v1.0/oauth2/corpAccessToken", (req, res) => {
      tokens++;
      json(res, 200, { accessToken: `tok-${tokens}-abcdef`, expireIn: 7200, echo: JSON.parse(req.body) });
    });
    const dt = createDingTalk({
      rateLimit: false,
      baseUrl: server.url,
      suiteKey: "suite",
      suiteSecret: "suite-secret-1234",
      authCorpId: "ding-corp",
      suiteTicket: async () => "ticket-xyz-123",
    });
    await expect(dt.contact.listSeniorSettings({ seniorStaffId: "u1" })).resolves.toEqual(SETTINGS);
    expect(JSON.parse(server.requests[0]?.body ?? "")).toEqual({
      suiteKey: "suite",
      suiteSecret: "suite-secret-1234",
      authCorpId: "ding-corp",
      suiteTicket: "ticket-xyz-123",
    });
  });

  it("getUser needs a user token: a ConfigError without one, the header with one", async () => {
    server.on(
      "GET",
      (p) => p.startsWith("/v1.0/contact/users/"),
      (req, res) =>
        json(res, 200, {
          nick: "张三",
          unionId: decodeURIComponent(req.pathname.split("/").pop() ?? ""),
          token: req.headers["x-acs-dingtalk-access-token"],
        }),
    );
    const dt = client();
    // @ts-expect-error the options and their accessToken are required: an untyped caller gets a ConfigError
    await expect(dt.contact.getUser({ unionId: "me" })).rejects.toBeInstanceOf(ConfigError);
    const user = await dt.contact.getUser({ unionId: "me" }, { accessToken: "user-token-123456" });
    expect(user).toMatchObject({ nick: "张三", unionId: "me", token: "user-token-123456" });
    expect(server.count("POST", "/v1.0/oauth2/accessToken")).toBe(0);
  });

  it("exchanges an OAuth code for a user token and refreshes it in a session", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const grants: unknown[] = [];
    server.on("POST", "/v1.0/oauth2/userAccessToken", (req, res) => {
      const body = JSON.parse(req.body) as Record<string, string>;
      grants.push(body);
      json(res, 200, {
        accessToken: `user-${grants.length}-token`,
        refreshToken: `refresh-${grants.length}-token`,
        expireIn: 7200,
        corpId: "ding-corp",
      });
    });
    const dt = client();
    const token = await dt.userTokens.exchangeCode("auth-code-1");
    expect(token).toMatchObject({
      accessToken: "user-1-token",
      refreshToken: "refresh-1-token",
      corpId: "ding-corp",
    });
    expect(grants[0]).toEqual({
      clientId: "ding-app",
      clientSecret: SECRET,
      grantType: "authorization_code",
      code: "auth-code-1",
    });
    const session = dt.userTokens.session(token);
    await expect(session()).resolves.toBe("user-1-token");
    vi.setSystemTime(Date.now() + 7200 * 1000);
    const [a, b] = await Promise.all([session(), session()]);
    expect([a, b]).toEqual(["user-2-token", "user-2-token"]);
    expect(grants[1]).toEqual({
      clientId: "ding-app",
      clientSecret: SECRET,
      grantType: "refresh_token",
      refreshToken: "refresh-1-token",
    });
  });

  it("the OAuth client's credentials: text, or a function asked at each exchange; null is none; anything else refused by name", async () => {
    const grants: Record<string, unknown>[] = [];
    server.on("POST", "/v1.0/oauth2/userAccessToken", (req, res) => {
      grants.push(JSON.parse(req.body) as Record<string, unknown>);
      json(res, 200, { accessToken: "user-1-token", refreshToken: "refresh-1-token", expireIn: 7200 });
    });
    const exchanged = { grantType: "authorization_code", code: "auth-code-1" };
    // appKey and appSecret stand in for clientId and clientSecret; given as functions, asked here.
    await client({
      appKey: async () => "ding-app",
      appSecret: async () => SECRET,
    } as never).userTokens.exchangeCode("auth-code-1");
    // clientId as JSON writes an absent one: appKey stands in; clientSecret as a function: asked.
    await client({
      clientId: null,
      clientSecret: async () => "oauth-secret",
    } as never).userTokens.exchangeCode("auth-code-1");
    expect(grants).toEqual([
      { clientId: "ding-app", clientSecret: SECRET, ...exchanged },
      { clientId: "ding-app", clientSecret: "oauth-secret", ...exchanged },
    ]);
    // An all-digit secret read from JSON config is a number: never sent, nor shown.
    for (const name of ["clientId", "clientSecret"])
      for (const value of [918273645, { id: 918273645 }, true]) {
        let error: unknown;
        try {
          client({ [name]: value });
        } catch (e) {
          error = e;
        }
        expect(error, `${name} ${typeof value}`).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toMatch(new RegExp(`^${name} must be a string`));
        expect((error as Error).message).not.toContain("918273645");
      }
    expect(grants).toHaveLength(2);
  });

  it("a session takes a token whose fields are getters or inherited (a database row), read once", async () => {
    const users = userServer();
    const dt = client();
    const token = await dt.userTokens.exchangeCode("auth-code-1");
    let reads = 0;
    class Row {
      get accessToken() {
        reads++;
        return token.accessToken;
      }
      get refreshToken() {
        return token.refreshToken;
      }
      get expiresAt() {
        return token.expiresAt;
      }
    }
    const session = dt.userTokens.session(new Row() as never);
    await expect(dt.contact.getUser({ unionId: "me" }, { accessToken: session })).resolves.toMatchObject({
      token: "user-1-token",
    });
    expect(reads).toBe(1);
    expect(users.grants()).toBe(1);
  });

  it("a session keeps a short-lived user token until half its lifetime, not one refresh per call", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    let grants = 0;
    server.on("POST", "/v1.0/oauth2/userAccessToken", (_req, res) => {
      grants++;
      // 2 minutes: shorter than the default 5-minute margin (a mock server's --token-lifetime 120).
      json(res, 200, {
        accessToken: `user-${grants}-token`,
        refreshToken: `refresh-${grants}-token`,
        expireIn: 120,
      });
    });
    const dt = client();
    const session = dt.userTokens.session(await dt.userTokens.exchangeCode("auth-code-1"));
    for (let i = 0; i < 3; i++) await expect(session()).resolves.toBe("user-1-token");
    expect(grants).toBe(1);
    vi.setSystemTime(Date.now() + 61_000);
    await expect(session()).resolves.toBe("user-2-token");
    await expect(session()).resolves.toBe("user-2-token");
    expect(grants).toBe(2);
  });

  it("a session whose early refresh fails gives the token that is still valid, until it expires", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    let grants = 0;
    let down = false;
    server.on("POST", "/v1.0/oauth2/userAccessToken", (_req, res) => {
      if (down) return json(res, 400, { code: "serviceUnavailable", message: "try later", requestid: "R-U" });
      grants++;
      json(res, 200, {
        accessToken: `user-${grants}-token`,
        refreshToken: `refresh-${grants}-token`,
        expireIn: 7200,
      });
    });
    const dt = client();
    const session = dt.userTokens.session(await dt.userTokens.exchangeCode("auth-code-1"));
    down = true;
    // Inside the margin, 100 s before expiry: the refresh fails, the token still works.
    vi.setSystemTime(Date.now() + (7200 - 100) * 1000);
    await expect(session()).resolves.toBe("user-1-token");
    const tried = server.count("POST", "/v1.0/oauth2/userAccessToken");
    // Not asked again on every call while it fails: a pause, as for the app token.
    await expect(session()).resolves.toBe("user-1-token");
    expect(server.count("POST", "/v1.0/oauth2/userAccessToken")).toBe(tried);
    vi.setSystemTime(Date.now() + 10_000);
    down = false;
    await expect(session()).resolves.toBe("user-2-token");
    // Past its real expiry, a failed refresh is the caller's error.
    down = true;
    vi.setSystemTime(Date.now() + 7201 * 1000);
    await expect(session()).rejects.toBeInstanceOf(DingTalkError);
  });

  it("a session of something that is not a user token is a ConfigError, never a TypeError at its first call", () => {
    const dt = client();
    const valid = { accessToken: "user-token-123456", refreshToken: "refresh-token-98765", expiresAt: 0 };
    for (const [token, onRefresh] of [
      [null, undefined],
      [undefined, undefined],
      ["user-token-123456", undefined],
      [{}, undefined],
      [{ ...valid, refreshToken: undefined }, undefined],
      [{ ...valid, refreshToken: "" }, undefined],
      [{ ...valid, accessToken: "" }, undefined],
      [{ ...valid, expiresAt: "2030-01-01" }, undefined],
      [{ ...valid, expiresAt: Number.NaN }, undefined],
      [valid, "not a function"],
    ]) {
      let thrown: unknown;
      try {
        void dt.userTokens
          .session(token as never, onRefresh as never)()
          .catch(() => undefined);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(token)).toBeInstanceOf(ConfigError);
      expect(String((thrown as Error).message)).not.toMatch(/user-token-123456|refresh-token-98765/);
    }
    expect(server.count("POST", "/v1.0/oauth2/userAccessToken")).toBe(0);
  });

  /** getUser accepting only `valid()` user tokens; the grant endpoint issuing user-1-token, user-2-token, … */
  function userServer(grant: (n: number) => string = (n) => `user-${n}-token`) {
    let grants = 0;
    const valid = new Set<string>();
    /** How a token not in `valid` is refused: status and body. */
    const refusal = {
      status: 401,
      body: { code: "InvalidAuthentication", message: "token revoked", requestid: "R-U" } as object,
    };
    server.on("POST", "/v1.0/oauth2/userAccessToken", (_req, res) => {
      grants++;
      valid.add(grant(grants));
      json(res, 200, { accessToken: grant(grants), refreshToken: `refresh-${grants}-token`, expireIn: 7200 });
    });
    server.on(
      "GET",
      (p) => p.startsWith("/v1.0/contact/users/"),
      (req, res) => {
        const token = String(req.headers["x-acs-dingtalk-access-token"]);
        if (!valid.has(token)) return json(res, refusal.status, refusal.body);
        json(res, 200, { nick: "张三", unionId: "me", token });
      },
    );
    return { valid, refusal, grants: () => grants };
  }

  it("a session whose token the server refuses refreshes it once, shared, and replays the calls", async () => {
    const users = userServer();
    const dt = client();
    const refreshed: string[] = [];
    const session = dt.userTokens.session(await dt.userTokens.exchangeCode("auth-code-1"), (t) =>
      refreshed.push(t.accessToken),
    );
    await expect(dt.contact.getUser({ unionId: "me" }, { accessToken: session })).resolves.toMatchObject({
      token: "user-1-token",
    });
    // Revoked on the server long before its expiry: three calls at once see the refusal.
    users.valid.delete("user-1-token");
    const answers = await Promise.all(
      [1, 2, 3].map(() => dt.contact.getUser({ unionId: "me" }, { accessToken: session })),
    );
    expect(answers.map((a) => (a as { token: string }).token)).toEqual(Array(3).fill("user-2-token"));
    expect(users.grants()).toBe(2);
    expect(refreshed).toEqual(["user-2-token"]);
    await expect(session()).resolves.toBe("user-2-token");
  });

  it("an expired user token in the error table's words (400 accesstoken.expired) is refreshed; 400 invalidAccessToken (no access) is not", async () => {
    const users = userServer();
    const dt = client();
    const session = dt.userTokens.session(await dt.userTokens.exchangeCode("auth-code-1"));
    users.valid.clear();
    users.refusal.status = 400;
    users.refusal.body = { code: "accesstoken.expired", message: "用户accessToken过期", requestid: "R-U" };
    await expect(dt.contact.getUser({ unionId: "me" }, { accessToken: session })).resolves.toMatchObject({
      token: "user-2-token",
    });
    expect(users.grants()).toBe(2);
    // 无权访问: the app may not read this user, whatever its token; a new one changes nothing.
    users.valid.clear();
    users.refusal.body = { code: "invalidAccessToken", message: "无权访问", requestid: "R-U" };
    const error = await dt.contact
      .getUser({ unionId: "me" }, { accessToken: session })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DingTalkError);
    expect(error).toMatchObject({ status: 400, code: "invalidAccessToken" });
    expect(users.grants()).toBe(2);
  });

  it.each([
    [
      "throws",
      (t: { accessToken: string }) => {
        throw new Error(`Key (access_token)=(${t.accessToken}) already exists`);
      },
    ],
    [
      "rejects",
      async (t: { accessToken: string }) => {
        await delay(5);
        throw new Error(`could not save ${t.accessToken}`);
      },
    ],
  ])("a session whose onRefresh %s keeps the new token and warns, naming no token", async (_, onRefresh) => {
    const users = userServer((n) => `user-${n}-secret-token`);
    const events: LogEvent[] = [];
    const dt = client({ logger: (e: LogEvent) => events.push(e) });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const session = dt.userTokens.session(await dt.userTokens.exchangeCode("auth-code-1"), onRefresh);
      users.valid.delete("user-1-secret-token");
      const user = await dt.contact.getUser({ unionId: "me" }, { accessToken: session });
      expect(user).toMatchObject({ token: "user-2-secret-token" });
      await delay(30);
      expect(unhandled).toEqual([]);
      const warnings = events.filter((e) => e.warning);
      expect(warnings).toEqual([
        expect.objectContaining({
          operationId: "getUserAccessToken",
          warning: expect.stringContaining("onRefresh failed (Error)"),
        }),
      ]);
      expect(JSON.stringify(events)).not.toContain("secret-token");
      await expect(session()).resolves.toBe("user-2-secret-token");
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("user tokens a client fetched are redacted from its errors, even from calls that did not send them", async () => {
    userServer((n) => `user-${n}-secret-token`);
    server.on("GET", "/v1.0/contact/seniorSettings", (_req, res) =>
      json(res, 400, {
        code: "parameter.error",
        message: "seen: user-1-secret-token refresh-1-token user-2-secret-token refresh-2-token",
        requestid: "R-E",
      }),
    );
    const dt = client();
    await dt.userTokens.exchangeCode("auth-code-1");
    await dt.userTokens.refresh("refresh-1-token");
    // An app-token call: neither user token was sent with it.
    const error = await dt.contact.listSeniorSettings({ seniorStaffId: "1" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DingTalkError);
    expect((error as Error).message).toContain("seen: ");
    expect(inspect(error, { depth: null })).not.toMatch(/secret-token|refresh-[12]-token/);
  });

  it("a session whose early refresh hangs sends the token it still holds, within the call's timeout", async () => {
    const users = userServer();
    users.valid.add("held-user-token");
    // The refresh is asked for and never answered.
    server.on("POST", "/v1.0/oauth2/userAccessToken", () => {});
    const dt = client({ tokenMarginMs: 60_000 });
    // Inside the margin (30 s left of a 2-hour token): a refresh is due, and the token still works.
    const obtainedAt = Date.now() - 7170_000;
    const session = dt.userTokens.session({
      accessToken: "held-user-token",
      refreshToken: "refresh-held-token",
      expiresAt: obtainedAt + 7200_000,
    });
    const started = performance.now();
    const user = await dt.contact.getUser({ unionId: "me" }, { accessToken: session, timeout: 300 });
    expect(user).toMatchObject({ token: "held-user-token" });
    // One attempt's wait, not three timeouts in a row.
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(server.count("GET", "/v1.0/contact/users/me")).toBe(1);
    expect(server.count("POST", "/v1.0/oauth2/userAccessToken")).toBe(1);
  });

  it("a session's refresh that brings back the refused token ends the call with the refusal, not a loop", async () => {
    const users = userServer(() => "same-user-token");
    const dt = client();
    const session = dt.userTokens.session(await dt.userTokens.exchangeCode("auth-code-1"));
    users.valid.clear();
    const error = await dt.contact
      .getUser({ unionId: "me" }, { accessToken: session })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DingTalkError);
    expect(error).toMatchObject({ status: 401, code: "InvalidAuthentication" });
    // One refresh; the token it brought is the refused one, so it is not sent again.
    expect(users.grants()).toBe(2);
    expect(server.count("GET", "/v1.0/contact/users/me")).toBe(1);
  });

  it("a plain token function is asked once per attempt and never replayed", async () => {
    userServer();
    const dt = client();
    let asked = 0;
    const get = async () => {
      asked++;
      return "not-a-valid-token";
    };
    await expect(dt.contact.getUser({ unionId: "me" }, { accessToken: get })).rejects.toMatchObject({
      status: 401,
      code: "InvalidAuthentication",
    });
    expect(asked).toBe(1);
  });

  it("a RenewableToken of one's own: what its replace gives decides the replay", async () => {
    const users = userServer();
    users.valid.add("good-token");
    const dt = client();
    const call = (accessToken: AccessTokenInput) =>
      dt.contact.getUser({ unionId: "me" }, { accessToken }).catch((e: unknown) => e);
    const renewable = (replace: (refused: string) => unknown) =>
      Object.assign(async () => "refused-token", { replace }) as RenewableToken;
    // Another token: replayed with it, once.
    let asked: string[] = [];
    /** A replace that records the refused token and gives `next`. */
    const giving = (next: string) => async (refused: string) => {
      asked.push(refused);
      return next;
    };
    await expect(call(renewable(giving("good-token")))).resolves.toMatchObject({ token: "good-token" });
    expect(asked).toEqual(["refused-token"]);
    // A second refusal of the replacement is the call's error: one replay, not a loop.
    asked = [];
    expect(await call(renewable(giving("also-refused")))).toMatchObject({
      status: 401,
      code: "InvalidAuthentication",
    });
    expect(asked).toEqual(["refused-token"]);
    // A replace that fails: a ConfigError saying why (typed and redacted, as a token function's
    // failure is); one that gives no text: a ConfigError too.
    const failure = new Error("the user store is down");
    const failing = [
      () => Promise.reject(failure),
      () => {
        throw failure;
      },
    ];
    for (const replace of failing) {
      const error = await call(renewable(replace));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain("the user store is down");
    }
    for (const bad of [undefined, "", 42])
      expect(await call(renewable(async () => bad))).toBeInstanceOf(ConfigError);
    // A `replace` that cannot be read: a plain token function, never replayed.
    const odd = Object.defineProperty(async () => "refused-token", "replace", {
      get() {
        throw new Error("no");
      },
    });
    expect(await call(odd)).toMatchObject({ status: 401 });
    expect(server.count("GET", "/v1.0/contact/users/me")).toBe(2 + 2 + 1 + 1 + 3 + 1);
  });

  it("a call aborted while its RenewableToken finds another token is never sent again", async () => {
    userServer();
    const dt = client();
    const controller = new AbortController();
    let release: (token: string) => void = () => undefined;
    const token = Object.assign(async () => "refused-token", {
      replace: () => {
        controller.abort();
        return new Promise<string>((resolve) => {
          release = resolve;
        });
      },
    });
    const error = await dt.contact
      .getUser({ unionId: "me" }, { accessToken: token, signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    release("good-token");
    await delay(50);
    expect(server.count("GET", "/v1.0/contact/users/me")).toBe(1);
  });

  it("exchangeCode and refresh without a code or refresh token are ConfigErrors, nothing sent", async () => {
    const dt = client();
    for (const value of [undefined, null, "", 42, { code: "x" }]) {
      await expect(dt.userTokens.exchangeCode(value as never)).rejects.toBeInstanceOf(ConfigError);
      await expect(dt.userTokens.refresh(value as never)).rejects.toBeInstanceOf(ConfigError);
    }
    expect(server.requests).toHaveLength(0);
  });
});

describe("createDingTalk: errors", () => {
  it("maps {code, message, requestid, accessdenieddetail} to DingTalkError", async () => {
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) =>
      json(res, 403, {
        code: "Forbidden.AccessDenied.AccessTokenPermissionDenied",
        message: "没有调用该接口的权限",
        requestid: "R-403",
        accessdenieddetail: { requiredScopes: ["Contact.Common.Read"] },
      }),
    );
    const error = (await client()
      .contact.getLatestDingIndex()
      .catch((e: unknown) => e)) as DingTalkError;
    expect(error).toBeInstanceOf(DingTalkError);
    expect(error).toMatchObject({
      status: 403,
      code: "Forbidden.AccessDenied.AccessTokenPermissionDenied",
      requestId: "R-403",
      requiredScopes: ["Contact.Common.Read"],
      method: "GET",
      path: "/v1.0/contact/dingIndexs",
      operationId: "getLatestDingIndex",
      attempts: 1,
    });
    expect(error.message).toContain("R-403");
  });

  it("takes the request id from x-acs-request-id when the body has none", async () => {
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) =>
      json(
        res,
        400,
        { code: "invalidParameter.param.empty", message: "参数为空" },
        { "x-acs-request-id": "HDR-1" },
      ),
    );
    await expect(client().contact.getLatestDingIndex()).rejects.toMatchObject({
      requestId: "HDR-1",
      code: "invalidParameter.param.empty",
    });
  });

  it("a non-JSON error page becomes a typed error, a non-JSON success a ParseError", async () => {
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
      res.writeHead(400, { "content-type": "text/html" });
      res.end("<html>denied</html>");
    });
    await expect(client().contact.getLatestDingIndex()).rejects.toMatchObject({
      name: "DingTalkError",
      status: 400,
      code: undefined,
    });
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>not json</html>");
    });
    await expect(client().contact.getLatestDingIndex()).rejects.toBeInstanceOf(ParseError);
  });

  it("a connection refused is a ConnectionError after the bounded retries", async () => {
    const closed = await new ScriptedServer().start();
    await closed.stop();
    const dt = createDingTalk({
      rateLimit: false,
      accessToken: "t-123456",
      baseUrl: closed.url,
      retry: { baseDelayMs: 1 },
    });
    const error = (await dt.contact.getLatestDingIndex().catch((e: unknown) => e)) as ConnectionError;
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ errno: "ECONNREFUSED", beforeSend: true, attempts: 3 });
  });
});

describe("createDingTalk: retries, timeouts, abort", () => {
  it("retries 503 and 429 then succeeds; honours Retry-After", async () => {
    let calls = 0;
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
      calls++;
      if (calls === 1) return json(res, 503, { code: "ServiceUnavailable", message: "busy" });
      if (calls === 2)
        return json(res, 429, { code: "system.busy", message: "请求太频繁" }, { "retry-after": "0.2" });
      json(res, 200, { statDate: "20210412", idxTotal: 888 });
    });
    const events: LogEvent[] = [];
    const result = await client({
      logger: (e: LogEvent) => events.push(e),
    } as never).contact.getLatestDingIndex();
    expect(result).toMatchObject({ statDate: "20210412" });
    expect(calls).toBe(3);
    const dingIndex = events.filter((e) => e.operationId === "getLatestDingIndex");
    expect(dingIndex.map((e) => [e.attempt, e.status])).toEqual([
      [1, 503],
      [2, 429],
      [3, 200],
    ]);
    expect(dingIndex[1]?.retryInMs).toBe(200);
  });

  it("does not wait for a Retry-After longer than maxRetryAfterMs", async () => {
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) =>
      json(res, 429, { code: "system.busy", message: "slow down" }, { "retry-after": "3600" }),
    );
    await expect(client().contact.getLatestDingIndex()).rejects.toMatchObject({ status: 429, attempts: 1 });
  });

  it("retries DingTalk throttling codes even for POST, but not other POST failures", async () => {
    let calls = 0;
    server.on("POST", "/v1.0/contact/seniorSettings", (_req, res) => {
      calls++;
      if (calls === 1)
        return json(res, 403, { code: "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", message: "qps" });
      json(res, 200, {});
    });
    await expect(
      client().contact.updateSeniorSetting({ seniorStaffId: "u1", open: true }),
    ).resolves.toBeUndefined();
    expect(calls).toBe(2);
    server.on("POST", "/v1.0/contact/seniorSettings", (_req, res) => {
      calls++;
      json(res, 500, { code: "system.error", message: "更新错误" });
    });
    calls = 0;
    await expect(
      client().contact.updateSeniorSetting({ seniorStaffId: "u1", open: true }),
    ).rejects.toMatchObject({ status: 500, attempts: 1 });
    expect(calls).toBe(1);
  });

  it("never retries quota exhaustion or permission errors", async () => {
    for (const code of [
      "Forbidden.AccessDenied.ApiCountLimitForOrg",
      "Forbidden.AccessDenied.AccessTokenPermissionDenied",
    ]) {
      let calls = 0;
      server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
        calls++;
        json(res, 403, { code, message: "no" });
      });
      await expect(client().contact.getLatestDingIndex()).rejects.toMatchObject({ code });
      expect(calls).toBe(1);
    }
  });

  it("times out each attempt (TimeoutError) and retries idempotent calls within the bound", async () => {
    let calls = 0;
    server.on("GET", "/v1.0/contact/dingIndexs", () => {
      calls++; // never answers
    });
    // The token given: a token request slower than 100 ms on a busy machine would spend the first
    // attempt's time before anything is sent (the wait for a token counts against the attempt).
    const error = await client({ timeout: 100 } as never)
      .contact.getLatestDingIndex({}, { accessToken: "given-token" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ timeoutMs: 100, attempts: 3 });
    expect(calls).toBe(3);
  });

  it("the caller's abort stops the call and its retries at once", async () => {
    let calls = 0;
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
      calls++;
      json(res, 503, { code: "busy", message: "busy" }, { "retry-after": "30" });
    });
    const controller = new AbortController();
    const pending = client({ retry: { maxRetryAfterMs: 60_000 } } as never).contact.getLatestDingIndex(
      {},
      { signal: controller.signal },
    );
    await delay(150);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    expect(calls).toBe(1);
    await expect(
      client().contact.getLatestDingIndex({}, { signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(AbortError);
  });

  it("per-call retry: false makes a single attempt", async () => {
    let calls = 0;
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
      calls++;
      json(res, 503, { code: "busy", message: "busy" });
    });
    await expect(client().contact.getLatestDingIndex({}, { retry: false })).rejects.toMatchObject({
      status: 503,
      attempts: 1,
    });
    expect(calls).toBe(1);
  });
});

describe("createDingTalk: requests", () => {
  it("keeps path parameters inside their segment: / ? # spaces and Chinese", async () => {
    server.on(
      "DELETE",
      (p) => p.startsWith("/v1.0/contact/staffAttributes/visibilitySettings/"),
      (_req, res) => json(res, 200, { result: true }),
    );
    server.on(
      "GET",
      (p) => p.startsWith("/v1.0/contact/users/"),
      (_req, res) => json(res, 200, {}),
    );
    const dt = client();
    for (const id of ["a/b", "a?b=c", "a#b", "a b", "张三", "%2F", "../admin"]) {
      await dt.contact.getUser({ unionId: id }, { accessToken: "user-token-1" });
      const received = server.requests.at(-1);
      expect(received?.url).toBe(`/v1.0/contact/users/${encodeURIComponent(id)}`);
      expect(received?.query.toString()).toBe("");
    }
    for (const id of ["..", "."]) {
      await expect(
        dt.contact.getUser({ unionId: id }, { accessToken: "user-token-1" }),
      ).rejects.toBeInstanceOf(ConfigError);
    }
    await expect(dt.contact.deleteEmpAttributeVisibility({ settingId: 1001 })).resolves.toEqual({
      result: true,
    });
    expect(server.requests.at(-1)?.url).toBe("/v1.0/contact/staffAttributes/visibilitySettings/1001");
  });

  it("an empty 200 body is undefined where the spec allows it (deleteEmpAttributeVisibility)", async () => {
    server.on(
      "DELETE",
      (p) => p.startsWith("/v1.0/contact/staffAttributes/visibilitySettings/"),
      (_req, res) => {
        res.writeHead(200);
        res.end();
      },
    );
    await expect(client().contact.deleteEmpAttributeVisibility({ settingId: 7 })).resolves.toBeUndefined();
  });

  it("refuses CR/LF in header values (no header injection)", async () => {
    const dt = client();
    await expect(
      dt.contact.getLatestDingIndex({}, { headers: { "x-extra": "a\r\nx-injected: 1" } }),
    ).rejects.toBeInstanceOf(ConfigError);
    expect(server.requests.some((r) => r.headers["x-injected"] !== undefined)).toBe(false);
  });

  it("sends extra headers per client and per call", async () => {
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => json(res, 200, {}));
    await client({ headers: { "x-client": "c" } } as never).contact.getLatestDingIndex(
      {},
      { headers: { "x-call": "1" } },
    );
    expect(server.requests.at(-1)?.headers).toMatchObject({ "x-client": "c", "x-call": "1" });
  });

  it("withResponse() gives the data, the raw Response and the request id", async () => {
    const { data, response, requestId } = await client()
      .contact.listSeniorSettings({ seniorStaffId: "u1" })
      .withResponse();
    expect(data).toEqual(SETTINGS);
    expect(response.status).toBe(200);
    expect(requestId).toBe("REQ-42");
  });

  it("withResponse() is one result however often asked, before or after the data is awaited", async () => {
    const call = client().contact.listSeniorSettings({ seniorStaffId: "u1" });
    const first = call.withResponse();
    expect(call.withResponse()).toBe(first);
    expect(await call).toEqual(SETTINGS);
    const result = await first;
    expect(result.data).toBe(await call);
    expect({ ...result }).toMatchObject({ data: SETTINGS, requestId: "REQ-42" });
    expect(result.response).toBe(result.response);
    // A promise of a ready result, as the public constructor takes it, is returned as given.
    const given = Promise.resolve({ data: 1, response: new Response(null), requestId: undefined });
    const made = new APIPromise(given);
    expect(made.withResponse()).toBe(given);
    expect(await made).toBe(1);
  });

  it("a failed call whose withResponse() was asked for and dropped rejects only where it is awaited", async () => {
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) =>
      json(res, 400, { code: "parameter.error", message: "bad", requestid: "R-1" }),
    );
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", listener);
    try {
      const call = client().contact.getLatestDingIndex();
      call.withResponse(); // looked at, then dropped
      await expect(call).rejects.toMatchObject({ code: "parameter.error" });
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Asked for again, the result still rejects where it is awaited.
      await expect(call.withResponse()).rejects.toMatchObject({ code: "parameter.error" });
    } finally {
      process.off("unhandledRejection", listener);
    }
    expect(unhandled).toEqual([]);
  });

  it("the raw openapi-fetch client has the same auth and typed errors", async () => {
    const dt = client();
    const { data } = await rawClient<DingTalkPaths>(dt).GET("/v1.0/contact/seniorSettings", {
      params: { query: { seniorStaffId: "u1" } },
    });
    expect(data).toEqual(SETTINGS);
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) =>
      json(res, 400, { code: "parameter.error", message: "参数错误", requestid: "R-RAW" }),
    );
    await expect(rawClient<DingTalkPaths>(dt).GET("/v1.0/contact/dingIndexs")).rejects.toMatchObject({
      name: "DingTalkError",
      code: "parameter.error",
      operationId: "getLatestDingIndex",
    });
  });

  it("the raw client reads a 205 sent with a body as no content, not as a body cut short", async () => {
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
      res.writeHead(205, { "content-type": "application/json", "content-length": "2" });
      res.end("{}");
    });
    const { data, error, response } = await rawClient<DingTalkPaths>(client()).GET(
      "/v1.0/contact/dingIndexs",
    );
    expect(response.status).toBe(205);
    expect(data).toBeUndefined();
    expect(error).toBeUndefined();
  });

  it("a numeric code in an error body is read as its text: DingTalkError's code is a string", async () => {
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) =>
      json(res, 400, { code: 40001, message: "bad", requestid: "R-NUM" }),
    );
    const error = await client()
      .contact.getLatestDingIndex()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DingTalkError);
    expect((error as DingTalkError).code).toBe("40001");
  });

  it("a raw request to an operation that takes a user token sends the token its header carries", async () => {
    server.on(
      "GET",
      (p) => p.startsWith("/v1.0/contact/users/"),
      (req, res) => json(res, 200, { nick: "张三", token: req.headers["x-acs-dingtalk-access-token"] }),
    );
    const api = rawClient<DingTalkPaths>(client());
    const { data } = await api.GET("/v1.0/contact/users/{unionId}", {
      params: { path: { unionId: "me" } },
      headers: { "x-acs-dingtalk-access-token": "user-token-123456" },
    });
    expect(data).toMatchObject({ nick: "张三", token: "user-token-123456" });
    expect(server.count("POST", "/v1.0/oauth2/accessToken")).toBe(0);
    // Without one it is refused as the method refuses it, saying where the token goes.
    const refused = api.GET("/v1.0/contact/users/{unionId}", { params: { path: { unionId: "me" } } });
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(refused).rejects.toThrow(/user access token.*x-acs-dingtalk-access-token header/);
    expect(server.count("GET", "/v1.0/contact/users/me")).toBe(1);
  });

  it("a raw request to a path the spec does not list counts against the API's budgets", async () => {
    const taken: string[][] = [];
    const store = {
      take: async (budgets: ReadonlyArray<{ key: string }>) => {
        taken.push(budgets.map((b) => b.key));
        return 0;
      },
    };
    server.on("GET", "/v1.0/contact/unlisted/1", (_req, res) => json(res, 200, { ok: 1 }));
    server.on("GET", "/v1.0/contact/unlisted/2", (_req, res) => json(res, 200, { ok: 2 }));
    const dt = createDingTalk({
      accessToken: "tok-given-abcdef",
      baseUrl: server.url,
      retry: false,
      rateLimit: { store },
    });
    const raw = rawClient<Record<string, never>>(dt) as unknown as {
      GET(path: string): Promise<{ data?: unknown }>;
    };
    await raw.GET("/v1.0/contact/unlisted/1");
    await raw.GET("/v1.0/contact/unlisted/2");
    const listed = await dt.contact.getLatestDingIndex().catch(() => undefined);
    expect(listed).toBeUndefined(); // no route: refused, but only after its budgets were taken
    // Both unlisted paths: the per-IP budget every call shares, and one per-operation budget of their own.
    expect(taken[0]?.some((k) => k.startsWith("ip:"))).toBe(true);
    expect(taken[1]).toEqual(taken[0]);
    const perOperation = (keys: string[] | undefined) => keys?.find((k) => !k.startsWith("ip:"));
    expect(perOperation(taken[0])).toContain("(unlisted)");
    expect(perOperation(taken[2])).not.toEqual(perOperation(taken[0]));
  });

  it("iterates every item of every page and stops without an extra request", async () => {
    const pages: Record<string, { list: Array<{ id: number }>; hasMore: boolean; nextCursor: number }> = {
      "-1": { list: [{ id: 1 }, { id: 2 }], hasMore: true, nextCursor: 10 },
      "10": { list: [{ id: 3 }], hasMore: true, nextCursor: 20 },
      "20": { list: [{ id: 4 }], hasMore: false, nextCursor: 30 },
    };
    server.on("GET", "/v1.0/contact/staffAttributes/visibilitySettings", (req, res) =>
      json(res, 200, pages[req.query.get("nextToken") ?? ""] ?? { list: [], hasMore: false, nextCursor: 0 }),
    );
    const ids: number[] = [];
    for await (const item of client().contact.listEmpAttributeVisibility.iterate({ maxResults: 2 }))
      ids.push(item.id as number);
    expect(ids).toEqual([1, 2, 3, 4]);
    const listCalls = server.requests.filter(
      (r) => r.pathname === "/v1.0/contact/staffAttributes/visibilitySettings",
    );
    expect(listCalls.map((r) => r.query.get("nextToken"))).toEqual(["-1", "10", "20"]);
    expect(listCalls.every((r) => r.query.get("maxResults") === "2")).toBe(true);
  });

  it("stops paginating when the server repeats a cursor, with a PaginationError (the listing is incomplete)", async () => {
    server.on("GET", "/v1.0/contact/staffAttributes/visibilitySettings", (_req, res) =>
      json(res, 200, { list: [{ id: 1 }], hasMore: true, nextCursor: -1 }),
    );
    const pages: unknown[] = [];
    const paging = (async () => {
      for await (const page of client().contact.listEmpAttributeVisibility.pages()) pages.push(page);
    })();
    await expect(paging).rejects.toMatchObject({ name: "PaginationError" });
    expect(pages).toHaveLength(1);
  });
});

describe("createDingTalk: secrets", () => {
  it("never shows the app secret or tokens in errors or log lines", async () => {
    const lines: string[] = [];
    server.on("GET", "/v1.0/contact/dingIndexs", (req, res) =>
      json(res, 400, {
        code: "parameter.error",
        message: `bad token ${req.headers["x-acs-dingtalk-access-token"]} for ${SECRET}`,
        requestid: "R-S",
      }),
    );
    const dt = client({ logger: (e: LogEvent) => lines.push(JSON.stringify(e)) } as never);
    const error = (await dt.contact.getLatestDingIndex().catch((e: unknown) => e)) as DingTalkError;
    const wrong = (await createDingTalk({
      rateLimit: false,
      appKey: "k",
      appSecret: "wrong-secret-98765",
      baseUrl: server.url,
    })
      .contact.getLatestDingIndex()
      .catch((e: unknown) => e)) as DingTalkError;
    expect(wrong).toMatchObject({ code: "invalidClientIdOrSecret", operationId: "getAccessToken" });
    for (const e of [error, wrong]) {
      const shown = [
        e.message,
        e.stack,
        JSON.stringify(e),
        inspect(e, { depth: 8, showHidden: true }),
        String(e.cause),
        JSON.stringify(e.body),
        ...lines,
      ].join("\n");
      expect(shown).not.toContain(SECRET);
      expect(shown).not.toContain("wrong-secret-98765");
      expect(shown).not.toContain("tok-1-abcdef");
    }
    expect(JSON.stringify(error.body)).toContain("[redacted]");
  });
});
