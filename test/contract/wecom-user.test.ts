/**
 * Contract of every WeCom `user` operation against the mock, plus the dialect: errcode ≠ 0 is a
 * WeComError with errcode and errmsg, an expired token is refreshed once and the call replayed,
 * throttled codes are retried and never-retry codes are not, and listUserIds pages over next_cursor
 * (a body parameter; there is no has-more field).
 */
import { type MockServer, startMockServer } from "imspec/mock";
import { createWeCom, profile, statusCodes, type WeCom, WeComError } from "imspec/wecom";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { contract } from "./support.js";

let mock: MockServer;
let wc: WeCom;
const current = () => mock;

beforeAll(async () => {
  mock = await startMockServer();
  wc = createWeCom({
    rateLimit: false,
    baseUrl: mock.urls.wecom,
    corpId: "ww-contract",
    corpSecret: "s-contract",
  });
});
afterAll(() => mock?.stop());
afterEach(() => mock.clearScripts());

/** A client that retries at once: these tests count attempts, not waits. */
const retrying = () =>
  createWeCom({
    rateLimit: false,
    baseUrl: mock.urls.wecom,
    corpId: "ww-contract",
    corpSecret: "s-contract",
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
  });

const sent = (operationId: string) => mock.requests.filter((r) => r.operationId === operationId).length;

describe("user.getUser", () => {
  contract(current, "wecom", "getUser", (o) => wc.user.getUser({ userid: "zhangsan" }, o));

  test("an expired token is refreshed once and the call replayed", async () => {
    const client = createWeCom({
      rateLimit: false,
      baseUrl: mock.urls.wecom,
      corpId: "ww-expiring",
      corpSecret: "s",
    });
    await client.user.getUser({ userid: "zhangsan" });
    const stale = await client.appToken.get();
    const before = mock.tokenRequests("wecom");
    mock.expireToken(stale);
    await expect(client.user.getUser({ userid: "zhangsan" })).resolves.toHaveProperty("userid");
    expect(mock.tokenRequests("wecom") - before).toBe(1);
    expect(await client.appToken.get()).not.toBe(stale);
    const calls = mock.requests.filter((r) => r.operationId === "getUser").slice(-2);
    expect(calls.map((r) => r.query.get("access_token"))).toEqual([stale, await client.appToken.get()]);
  });

  test("a token refused again after the refresh is thrown: one refresh, one replay, no more", async () => {
    const client = retrying();
    await client.user.getUser({ userid: "zhangsan" });
    const tokensBefore = mock.tokenRequests("wecom");
    const callsBefore = sent("getUser");
    mock.script("wecom", "getUser", { error: statusCodes.ACCESS_TOKEN_EXPIRED, times: 2 });
    const error = await client.user.getUser({ userid: "zhangsan" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeComError);
    expect(error).toMatchObject({ code: statusCodes.ACCESS_TOKEN_EXPIRED, status: 200 });
    expect(mock.tokenRequests("wecom") - tokensBefore).toBe(1);
    expect(sent("getUser") - callsBefore).toBe(2);
  });

  test("errcode ≠ 0 is a WeComError with the errcode as code and the errmsg in its message", async () => {
    mock.script("wecom", "getUser", { error: statusCodes.USERID_NOT_FOUND, message: "userid not found" });
    const error = await wc.user.getUser({ userid: "nobody" }, { retry: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeComError);
    expect(error).toMatchObject({ api: "wecom", code: 60111, status: 200, operationId: "getUser" });
    expect((error as Error).message).toContain("userid not found");
    const body = (error as WeComError).body as Record<string, unknown>;
    expect(body).toMatchObject({ errcode: 60111, errmsg: "userid not found" });
  });

  test("a never-retry errcode (no privilege) is a WeComError with errcode and errmsg, sent once", async () => {
    const before = mock.requests.filter((r) => r.operationId === "getUser").length;
    const error = await wc.user
      .getUser({ userid: "zhangsan" }, { headers: { Prefer: "code=200, example=errorNoPrivilege" } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeComError);
    expect(error).toMatchObject({ code: 60011, status: 200 });
    expect(mock.requests.filter((r) => r.operationId === "getUser").length - before).toBe(1);
  });

  // The spec's throttled codes (x-imspec-errors.throttled): the server refused before doing any work.
  test.each(profile.errors.throttled.map(Number))(
    "a throttled errcode %i is retried, and the retry's answer returned",
    async (code) => {
      const client = retrying();
      mock.script("wecom", "getUser", { error: code });
      const before = sent("getUser");
      await expect(client.user.getUser({ userid: "zhangsan" })).resolves.toHaveProperty("userid");
      expect(sent("getUser") - before).toBe(2);
      const [refused, answered] = mock.requests.filter((r) => r.operationId === "getUser").slice(-2);
      // WeCom throttles with HTTP 200 and the code in the body: the code alone made the retry.
      expect(refused).toMatchObject({ outcome: "scripted", status: 200 });
      expect(answered).toMatchObject({ outcome: "answered", status: 200 });
    },
  );

  test.each(profile.errors.throttled.map(Number))(
    "a throttled errcode %i is retried on a POST too (listUserIds), up to maxAttempts",
    async (code) => {
      const client = retrying();
      mock.script("wecom", "listUserIds", { error: code, times: Number.POSITIVE_INFINITY });
      const before = sent("listUserIds");
      const error = await client.user.listUserIds({ limit: 10 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WeComError);
      expect(error).toMatchObject({ code, attempts: 3 });
      expect(sent("listUserIds") - before).toBe(3);
    },
  );

  // No privilege, untrusted IP, frequency limit: retrying cannot help (x-imspec-errors.neverRetry).
  test.each([statusCodes.NO_PRIVILEGE, statusCodes.UNTRUSTED_IP, statusCodes.API_FREQ_OUT_OF_LIMIT])(
    "a never-retry errcode %i is thrown after one attempt, though the client retries",
    async (code) => {
      expect(profile.errors.neverRetry).toContain(String(code));
      const client = retrying();
      mock.script("wecom", "getUser", { error: code });
      const before = sent("getUser");
      const error = await client.user.getUser({ userid: "zhangsan" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WeComError);
      expect(error).toMatchObject({ code, status: 200, attempts: 1 });
      expect(sent("getUser") - before).toBe(1);
    },
  );
});

describe("user.listUserIds", () => {
  contract(current, "wecom", "listUserIds", (o) => wc.user.listUserIds({ limit: 10000 }, o));

  const page = (next_cursor: string | undefined, ...userids: string[]) => ({
    errcode: 0,
    errmsg: "ok",
    ...(next_cursor === undefined ? {} : { next_cursor }),
    dept_user: userids.map((userid) => ({ userid, department: 1 })),
  });
  const cursorsSent = (count: number) =>
    mock.requests
      .filter((r) => r.operationId === "listUserIds")
      .slice(-count)
      .map((r) => (JSON.parse(r.body) as { cursor?: string }).cursor);

  test("iterate() follows next_cursor in the body until it comes back empty", async () => {
    mock.script(
      "wecom",
      "listUserIds",
      { body: page("cursor-1", "zhangsan", "lisi") },
      { body: page("cursor-2", "wangwu") },
      { body: page("", "zhaoliu") },
    );
    const userids: unknown[] = [];
    for await (const row of wc.user.listUserIds.iterate({ limit: 2 }))
      userids.push((row as { userid?: string }).userid);
    expect(userids).toEqual(["zhangsan", "lisi", "wangwu", "zhaoliu"]);
    expect(cursorsSent(3)).toEqual([undefined, "cursor-1", "cursor-2"]);
    for (const r of mock.requests.filter((q) => q.operationId === "listUserIds").slice(-3)) {
      expect(r.problems).toEqual([]);
      expect(JSON.parse(r.body)).toMatchObject({ limit: 2 });
      expect(r.query.has("cursor")).toBe(false);
    }
  });

  test("iterate() ends when next_cursor is absent, with no further request", async () => {
    mock.script(
      "wecom",
      "listUserIds",
      { body: page("cursor-1", "zhangsan") },
      { body: page(undefined, "lisi") },
    );
    const before = sent("listUserIds");
    const userids: unknown[] = [];
    for await (const row of wc.user.listUserIds.iterate()) userids.push((row as { userid?: string }).userid);
    expect(userids).toEqual(["zhangsan", "lisi"]);
    expect(sent("listUserIds") - before).toBe(2);
    expect(cursorsSent(2)).toEqual([undefined, "cursor-1"]);
  });

  test("an errcode on a later page (invalid cursor) ends iterate() with a WeComError", async () => {
    mock.script(
      "wecom",
      "listUserIds",
      { body: page("cursor-1", "zhangsan") },
      { error: statusCodes.INVALID_CURSOR },
    );
    const userids: unknown[] = [];
    const error = await (async () => {
      for await (const row of wc.user.listUserIds.iterate({}, { retry: false }))
        userids.push((row as { userid?: string }).userid);
    })().catch((e: unknown) => e);
    expect(userids).toEqual(["zhangsan"]);
    expect(error).toBeInstanceOf(WeComError);
    expect(error).toMatchObject({ code: statusCodes.INVALID_CURSOR, operationId: "listUserIds" });
  });
});

describe("user.getUserIdByMobile", () => {
  contract(
    current,
    "wecom",
    "getUserIdByMobile",
    (o) => wc.user.getUserIdByMobile({ mobile: "13430388888" }, o),
    {
      requestExample: "documented",
    },
  );
});
