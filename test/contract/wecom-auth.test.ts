/**
 * Contract of the WeCom `auth` operation: the token is fetched with a GET (corpid, corpsecret in the
 * query), and neither the secret nor the token shows in any error, log event or serialized error.
 */
import { type MockServer, startMockServer } from "imspec/mock";
import {
  createWeCom,
  type LogEvent,
  MemoryTokenStore,
  operations,
  statusCodes,
  WeComError,
} from "imspec/wecom";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { INTERNALS, type Internals } from "../../src/core/client.js";
import { leaked, shown } from "../resilience/secrets.js";
import { contract } from "./support.js";

const SECRET = "planted-wecom-corpsecret-Q7m2";
/** A token the mock never issued, handed out by a scripted gettoken answer. */
const PLANTED_TOKEN = "planted-wecom-access-token-X4k9";
let mock: MockServer;
const current = () => mock;

beforeAll(async () => {
  mock = await startMockServer();
});
afterAll(() => mock?.stop());
afterEach(() => mock.clearScripts());

describe("auth.getAccessToken", () => {
  contract(current, "wecom", "getAccessToken", (o) =>
    createWeCom({ rateLimit: false, baseUrl: mock.urls.wecom, accessToken: "unused" }).auth.getAccessToken(
      { corpid: "ww-contract", corpsecret: SECRET },
      o,
    ),
  );

  test("the client fetches its token with a GET and sends it as the access_token query parameter", async () => {
    const wc = createWeCom({
      rateLimit: false,
      baseUrl: mock.urls.wecom,
      corpId: "ww-contract",
      corpSecret: SECRET,
    });
    await wc.department.listDepartmentIds({});
    const token = mock.requests.findLast((r) => r.operationId === "getAccessToken");
    expect(token?.method).toBe("GET");
    expect(token?.query.get("corpid")).toBe("ww-contract");
    expect(token?.query.get("corpsecret")).toBe(SECRET);
    expect(token?.body).toBe("");
    expect(token?.outcome).toBe("answered");
    const call = mock.requests.findLast((r) => r.operationId === "listDepartmentIds");
    expect(call?.query.get("access_token")).toBe(await wc.appToken.get());
    // The token travels in the query only: no header carries it.
    expect(JSON.stringify(call?.headers)).not.toContain(await wc.appToken.get());
  });

  test("two apps of one company share a token store, not a token: each secret gets its own", async () => {
    const tokenStore = new MemoryTokenStore();
    const app = (corpSecret: string) =>
      createWeCom({
        rateLimit: false,
        baseUrl: mock.urls.wecom,
        corpId: "ww-two-apps",
        corpSecret,
        tokenStore,
      });
    const before = mock.tokenRequests("wecom");
    const [contacts, other, again] = [
      app(`${SECRET}-contacts`),
      app(`${SECRET}-other`),
      app(`${SECRET}-contacts`),
    ];
    await contacts.department.listDepartmentIds({});
    await other.department.listDepartmentIds({});
    await again.department.listDepartmentIds({});
    expect(await other.appToken.get()).not.toBe(await contacts.appToken.get());
    // The same app in another client (another process, through a shared store) reuses its token.
    expect(await again.appToken.get()).toBe(await contacts.appToken.get());
    expect(mock.tokenRequests("wecom") - before).toBe(2);
    const secrets = mock.requests
      .filter((r) => r.operationId === "getAccessToken" && r.query.get("corpid") === "ww-two-apps")
      .map((r) => r.query.get("corpsecret"));
    expect(secrets).toEqual([`${SECRET}-contacts`, `${SECRET}-other`]);
  });

  test("two apps of one company count against the company's budgets together", () => {
    const app = (corpSecret: string) =>
      createWeCom({ baseUrl: mock.urls.wecom, corpId: "ww-two-apps", corpSecret }) as unknown as Record<
        symbol,
        Internals
      >;
    const budgets = (client: Record<symbol, Internals>) =>
      client[INTERNALS]?.refOf("getUser", operations.getUser).budgets?.map((b) => b.key);
    const [contacts, other] = [budgets(app(`${SECRET}-contacts`)), budgets(app(`${SECRET}-other`))];
    expect(contacts?.length).toBeGreaterThan(0);
    expect(other).toEqual(contacts);
    expect(JSON.stringify(contacts)).not.toContain(SECRET);
  });

  test("companies on one origin share its per-IP budgets of each operation, and only those", () => {
    const keys = (corpId: string, operationId: "getUser" | "getDepartment") =>
      (
        createWeCom({ baseUrl: mock.urls.wecom, corpId, corpSecret: SECRET }) as unknown as Record<
          symbol,
          Internals
        >
      )[INTERNALS]
        ?.refOf(operationId, operations[operationId])
        .budgets?.map((b) => b.key) ?? [];
    const byIp = (list: string[]) => list.filter((k) => k.startsWith("ip:"));
    const [one, two] = [keys("ww-company-one", "getUser"), keys("ww-company-two", "getUser")];
    // Two per company (minute, hour), two per IP, as the spec declares.
    expect([one.length, byIp(one).length]).toEqual([4, 2]);
    expect(byIp(two)).toEqual(byIp(one));
    expect(one.filter((k) => !k.startsWith("ip:"))).not.toEqual(two.filter((k) => !k.startsWith("ip:")));
    // Another operation counts apart, at the same origin too.
    expect(byIp(keys("ww-company-one", "getDepartment"))).not.toContain(byIp(one)[0]);
    expect(byIp(one).every((k) => k.includes(new URL(mock.urls.wecom).host))).toBe(true);
    // The operation is this API's: another API served at the origin has its own `getUser`.
    expect(byIp(one).every((k) => k.includes(":wecom.getUser:"))).toBe(true);
  });

  test("an override that makes two budgets alike leaves one, charged once a call", () => {
    const client = createWeCom({
      baseUrl: mock.urls.wecom,
      corpId: "ww-company-one",
      corpSecret: SECRET,
      // The minute and the hour budget per IP, both made 1,000 calls a minute.
      rateLimit: { "ip-operation": { calls: 1000, seconds: 60 } },
    }) as unknown as Record<symbol, Internals>;
    const budgets = client[INTERNALS]?.refOf("getUser", operations.getUser).budgets ?? [];
    expect(budgets.map((b) => [b.key.startsWith("ip:"), b.calls, b.windowMs])).toEqual([
      [false, 10000, 60_050],
      [false, 150000, 3_600_050],
      [true, 1000, 60_050],
    ]);
  });

  test("a secret that tells apps apart must be a string: a function is a ConfigError", () => {
    expect(() =>
      createWeCom({
        baseUrl: mock.urls.wecom,
        corpId: "ww-two-apps",
        corpSecret: (() => SECRET) as unknown as string,
      }),
    ).toThrow(
      expect.objectContaining({
        name: "ConfigError",
        message: expect.stringMatching(/^corpSecret must be a string/),
      }),
    );
  });

  test("corpsecret and access_token appear in no error, log event or serialized error", async () => {
    const events: LogEvent[] = [];
    const wc = createWeCom({
      rateLimit: false,
      baseUrl: mock.urls.wecom,
      corpId: "ww-contract",
      corpSecret: SECRET,
      logger: (e) => void events.push(e),
    });
    const error = await wc.user
      .getUser(
        { userid: "nobody" },
        { headers: { Prefer: "code=200, example=errorUseridNotFound" }, retry: false },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeComError);
    const token = await wc.appToken.get();
    const seen = [
      String(error),
      (error as Error).message,
      JSON.stringify(error),
      JSON.stringify(events),
    ].join("\n");
    expect(seen).not.toContain(SECRET);
    expect(seen).not.toContain(token);
  });

  test("planted secrets and tokens stay out of every error, log event and serialized form, whatever the server echoes", async () => {
    const events: LogEvent[] = [];
    const thrown: unknown[] = [];
    const settle = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => void thrown.push(e),
      );
    const wc = createWeCom({
      rateLimit: false,
      baseUrl: mock.urls.wecom,
      corpId: "ww-planted",
      corpSecret: SECRET,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      logger: (e) => void events.push(e),
    });
    const echo = (what: string) => `echo corpsecret=${SECRET} access_token=${what} raw ${SECRET} ${what}`;

    // gettoken refuses, echoing the secret (and the query it was sent in).
    mock.script("wecom", "getAccessToken", {
      error: statusCodes.INVALID_SECRET,
      message: echo(SECRET),
      headers: { "x-echo": `corpsecret=${SECRET}` },
    });
    await settle(wc.user.getUser({ userid: "zhangsan" }));
    // The refusal would stand for a second (no gettoken sent meanwhile): the secret is mended.
    await wc.appToken.clear();
    // gettoken hands out a token the mock never issued: the call is refused, the token replaced, the call replayed.
    mock.script("wecom", "getAccessToken", {
      body: { errcode: 0, errmsg: "ok", access_token: PLANTED_TOKEN, expires_in: 7200 },
    });
    await wc.user.getUser({ userid: "zhangsan" });
    const issued = await wc.appToken.get();
    expect(issued).not.toBe(PLANTED_TOKEN);
    expect(events.some((e) => e.tokenReplaced)).toBe(true);
    // Errors whose errmsg echoes both tokens; a throttled one retried; a dropped connection; a timeout.
    const both = echo(`${issued} ${PLANTED_TOKEN}`);
    mock.script("wecom", "getUser", { error: statusCodes.NO_PRIVILEGE, message: both });
    await settle(wc.user.getUser({ userid: "zhangsan" }));
    mock.script("wecom", "getUser", { error: statusCodes.SYSTEM_BUSY, message: both, times: 2 });
    await settle(wc.user.getUser({ userid: "zhangsan" }));
    mock.script("wecom", "getUser", { drop: "mid-body", raw: echo(issued) });
    await settle(wc.user.getUser({ userid: "zhangsan" }, { retry: false }));
    mock.script("wecom", "getUser", { delayMs: 300 });
    await settle(wc.user.getUser({ userid: "zhangsan" }, { retry: false, timeout: 50 }));
    mock.script("wecom", "getUser", {
      raw: `<html>${echo(issued)}</html>`,
      headers: { "content-type": "text/html" },
    });
    await settle(wc.user.getUser({ userid: "zhangsan" }, { retry: false }));
    // The token operation called directly, with the secret as a parameter.
    mock.script("wecom", "getAccessToken", { error: statusCodes.INVALID_SECRET, message: echo(SECRET) });
    await settle(wc.auth.getAccessToken({ corpid: "ww-planted", corpsecret: SECRET }, { retry: false }));

    expect(thrown.map((e) => (e as Error).name)).toEqual([
      "WeComError",
      "WeComError",
      "WeComError",
      "ConnectionError",
      "TimeoutError",
      "ParseError",
      "WeComError",
    ]);
    expect(thrown[2]).toMatchObject({ code: statusCodes.SYSTEM_BUSY, attempts: 2 });
    const seen = [...thrown.map(shown), JSON.stringify(events)].join("\n");
    expect(leaked(seen, [SECRET, PLANTED_TOKEN, issued])).toEqual([]);
    // The errmsg is still shown, with the secrets masked.
    expect((thrown[1] as Error).message).toContain("echo corpsecret=");
  });

  test("a refused secret is not sent again by every call: they fail with its refusal until a pause ends", async () => {
    // WeCom blocks an IP that sends a wrong secret too often (reference §4): ten calls, one gettoken.
    const wc = createWeCom({
      rateLimit: false,
      baseUrl: mock.urls.wecom,
      corpId: "ww-paused",
      corpSecret: SECRET,
    });
    mock.script("wecom", "getAccessToken", { error: statusCodes.INVALID_SECRET, times: 100 });
    const count = (operationId: string) => mock.requests.filter((r) => r.operationId === operationId).length;
    const before = { token: count("getAccessToken"), calls: count("getUser") };
    for (let i = 0; i < 10; i++) {
      const error = await wc.user.getUser({ userid: "zhangsan" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WeComError);
      expect(error).toMatchObject({ code: statusCodes.INVALID_SECRET, operationId: "getAccessToken" });
    }
    expect(count("getAccessToken") - before.token).toBe(1);
    expect(count("getUser") - before.calls).toBe(0);
  });

  test("a corpsecret passed to getAccessToken directly is kept out of its error too, though the client was not given it", async () => {
    const other = "planted-direct-corpsecret-M3v8";
    const events: LogEvent[] = [];
    const wc = createWeCom({
      rateLimit: false,
      baseUrl: mock.urls.wecom,
      accessToken: "a-token-of-its-own",
      logger: (e) => void events.push(e),
    });
    mock.script("wecom", "getAccessToken", {
      error: statusCodes.INVALID_SECRET,
      message: `invalid credential: ${other}`,
    });
    const error = await wc.auth
      .getAccessToken({ corpid: "ww-direct", corpsecret: other }, { retry: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeComError);
    expect(error).toMatchObject({ code: statusCodes.INVALID_SECRET });
    expect(mock.requests.at(-1)?.query.get("corpsecret")).toBe(other);
    expect(leaked([shown(error), JSON.stringify(events)].join("\n"), [other])).toEqual([]);
  });
});
