/**
 * Contract of the `oauth2` (access token) operations, and the token behaviour the mock makes real:
 * tokens issued with a lifetime, reused within it, refused once expired or of the wrong kind, and
 * the client's cache asking for exactly one.
 */
import { createDingTalk, type DingTalk, DingTalkError } from "imspec/dingtalk";
import { type MockServer, startMockServer } from "imspec/mock";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { contract, expectMatchesSchema, expectValidRequest } from "./support.js";

let mock: MockServer;
let dt: DingTalk;
const current = () => mock;
let clock = Date.now();

beforeAll(async () => {
  mock = await startMockServer({ now: () => clock });
  dt = createDingTalk({
    rateLimit: false,
    baseUrl: mock.urls.dingtalk,
    appKey: "contract-app",
    appSecret: "contract-secret",
  });
});
afterAll(() => mock?.stop());

const TOKEN = /^[0-9a-f]{32}$/;
const app = (appKey: string) =>
  createDingTalk({
    rateLimit: false,
    baseUrl: mock.urls.dingtalk,
    appKey,
    appSecret: "s",
    retry: { baseDelayMs: 1 },
  });

describe("oauth2.getAccessToken", () => {
  contract(
    current,
    "dingtalk",
    "getAccessToken",
    (o) => dt.oauth2.getAccessToken({ appKey: "dingeqqpkv3xxxxxx", appSecret: "GT-lsu-taDAxxxsTsxxxx" }, o),
    { requestExample: "default" },
  );

  test("issues a token that the other operations accept, valid for 7200 s", async () => {
    const { data, response } = await dt.oauth2
      .getAccessToken({ appKey: "fresh", appSecret: "s" })
      .withResponse();
    expectValidRequest(mock, "dingtalk", "getAccessToken");
    await expectMatchesSchema("dingtalk", "getAccessToken", response);
    expect(data.accessToken).toMatch(TOKEN);
    expect(data.expireIn).toBe(7200);
    const settings = dt.contact.listSeniorSettings(
      { seniorStaffId: "x" },
      { accessToken: String(data.accessToken) },
    );
    await expect(settings).resolves.toMatchObject({ seniorStaffId: "013349365367-1094322561" });
  });

  test("asking again within the lifetime returns the same token (the spec says so)", async () => {
    const first = await dt.oauth2.getAccessToken({ appKey: "again", appSecret: "s" });
    const second = await dt.oauth2.getAccessToken({ appKey: "again", appSecret: "s" });
    const other = await dt.oauth2.getAccessToken({ appKey: "another", appSecret: "s" });
    expect(second.accessToken).toBe(first.accessToken);
    expect(other.accessToken).not.toBe(first.accessToken);
  });

  test("a client makes exactly 1 token request for many calls, concurrent ones included", async () => {
    const client = app("single-flight");
    const before = mock.tokenRequests("dingtalk");
    await Promise.all([
      client.contact.getLatestDingIndex(),
      client.contact.getLatestDingIndex(),
      client.contact.listSeniorSettings({ seniorStaffId: "x" }),
    ]);
    await client.contact.getApplyInviteInfo();
    expect(mock.tokenRequests("dingtalk") - before).toBe(1);
  });

  test("an expired token is refused with 400 InvalidAuthentication; the client fetches one more and replays", async () => {
    const client = app("expiring");
    await client.contact.getLatestDingIndex();
    const stale = await client.appToken.get();
    const before = mock.tokenRequests("dingtalk");
    mock.expireToken(stale);

    const refused = await fetch(`${mock.urls.dingtalk}/v1.0/contact/dingIndexs`, {
      headers: { "x-acs-dingtalk-access-token": stale },
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ code: "InvalidAuthentication" });

    await expect(client.contact.getLatestDingIndex()).resolves.toMatchObject({ statDate: "20210412" });
    expect(mock.tokenRequests("dingtalk") - before).toBe(1);
    expect(await client.appToken.get()).not.toBe(stale);
  });

  test("tokens expire after the lifetime, by the mock's clock", async () => {
    const short = await startMockServer({ now: () => clock, tokenLifetimeSeconds: 60 });
    try {
      const client = createDingTalk({
        rateLimit: false,
        baseUrl: short.urls.dingtalk,
        appKey: "k",
        appSecret: "s",
      });
      const token = await client.oauth2.getAccessToken({ appKey: "k", appSecret: "s" });
      expect(token.expireIn).toBe(60);
      const call = () =>
        client.contact.getLatestDingIndex({}, { accessToken: String(token.accessToken), retry: false });
      await expect(call()).resolves.toBeDefined();
      clock += 60_000;
      await expect(call()).rejects.toMatchObject({ status: 400, code: "InvalidAuthentication" });
    } finally {
      await short.stop();
    }
  });

  test("a call without a token is refused with 401", async () => {
    const res = await fetch(`${mock.urls.dingtalk}/v1.0/contact/dingIndexs`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "unauthorized" });
    expect(res.headers.get("x-acs-request-id")).toBeTruthy();
  });
});

describe("oauth2.getCorpAccessToken", () => {
  contract(
    current,
    "dingtalk",
    "getCorpAccessToken",
    (o) =>
      dt.oauth2.getCorpAccessToken(
        {
          suiteKey: "suitep1f5lzyglm7fryxxxx",
          suiteSecret: "_FP5PpZF3irDKjxxx",
          authCorpId: "ding123456",
          suiteTicket: "1f5lzyglm7fryxxxx",
        },
        o,
      ),
    { requestExample: "default" },
  );

  test("asking again within the lifetime returns a new token, and the first still works (the spec says so)", async () => {
    const input = { suiteKey: "again", suiteSecret: "s", authCorpId: "ding123456", suiteTicket: "t" };
    const first = await dt.oauth2.getCorpAccessToken(input);
    const second = await dt.oauth2.getCorpAccessToken(input);
    expect(second.accessToken).not.toBe(first.accessToken);
    for (const { accessToken } of [first, second])
      await expect(
        dt.contact.listSeniorSettings({ seniorStaffId: "x" }, { accessToken: String(accessToken) }),
      ).resolves.toMatchObject({ seniorStaffId: "013349365367-1094322561" });
  });

  test("a third-party app client gets its organisation's token once", async () => {
    const client = createDingTalk({
      rateLimit: false,
      baseUrl: mock.urls.dingtalk,
      suiteKey: "suite",
      suiteSecret: "secret",
      authCorpId: "ding123456",
      suiteTicket: async () => "ticket",
    });
    const before = mock.tokenRequests("dingtalk");
    const corpBefore = mock.count("dingtalk", "getCorpAccessToken");
    await client.contact.getLatestDingIndex();
    await client.contact.getLatestDingIndex();
    expect(mock.tokenRequests("dingtalk") - before).toBe(1);
    // That one request was the organisation's token, not the app's.
    expect(mock.count("dingtalk", "getCorpAccessToken") - corpBefore).toBe(1);
  });
});

describe("oauth2.getUserAccessToken", () => {
  contract(
    current,
    "dingtalk",
    "getUserAccessToken",
    (o) =>
      dt.oauth2.getUserAccessToken(
        { clientId: "dingxxx", clientSecret: "1234", code: "abcd", grantType: "authorization_code" },
        o,
      ),
    { requestExample: "default" },
  );

  test("the refresh grant matches the spec's refresh example", async () => {
    await dt.oauth2.getUserAccessToken(
      { clientId: "dingxxx", clientSecret: "1234", refreshToken: "abcd", grantType: "refresh_token" },
      { headers: { Prefer: "example=default" } },
    );
    const request = expectValidRequest(mock, "dingtalk", "getUserAccessToken");
    expect(JSON.parse(request.body)).toEqual({
      clientId: "dingxxx",
      clientSecret: "1234",
      refreshToken: "abcd",
      grantType: "refresh_token",
    });
  });

  test("issues user tokens that getUser accepts, and refreshes them", async () => {
    const token = await dt.userTokens.exchangeCode("code-1");
    expect(token.accessToken).toMatch(TOKEN);
    const user = await dt.contact.getUser({ unionId: "me" }, { accessToken: token.accessToken });
    expect(user).toMatchObject({ nick: "zhangsan" });
    const next = await dt.userTokens.refresh(token.refreshToken);
    expect(next.accessToken).not.toBe(token.accessToken);
    await expect(
      dt.contact.getUser({ unionId: "me" }, { accessToken: next.accessToken }),
    ).resolves.toBeDefined();
  });

  test("a user token is not an app token", async () => {
    const token = await dt.userTokens.exchangeCode("code-2");
    const error = await dt.contact
      .getLatestDingIndex({}, { accessToken: token.accessToken })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DingTalkError);
    expect(error).toMatchObject({ status: 400, code: "InvalidAuthentication" });
  });

  test("the authorization_code grant without a code is refused, naming code", async () => {
    const error = await dt.oauth2
      .getUserAccessToken({ clientId: "dingxxx", clientSecret: "1234", grantType: "authorization_code" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DingTalkError);
    expect(error).toMatchObject({ status: 400, code: "Missingcode" });
    expect((error as DingTalkError).message).toMatch(
      /\bcode\b.*required when grantType is authorization_code/,
    );
  });
});
