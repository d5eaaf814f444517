/**
 * Contract of every WeCom `user` operation against the mock, plus the dialect: errcode ≠ 0 is a
 * WeComError with errcode and errmsg, an expired token is refreshed once and the call replayed,
 * never-retry codes are not retried, and listUserIds pages over next_cursor.
 */
import { type MockServer, startMockServer } from "imspec/mock";
import { createWeCom, type WeCom, WeComError } from "imspec/wecom";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
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

  test("a never-retry errcode (no privilege) is a WeComError with errcode and errmsg, sent once", async () => {
    const before = mock.requests.filter((r) => r.operationId === "getUser").length;
    const error = await wc.user
      .getUser({ userid: "zhangsan" }, { headers: { Prefer: "code=200, example=errorNoPrivilege" } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeComError);
    expect(error).toMatchObject({ code: 60011, status: 200 });
    expect(mock.requests.filter((r) => r.operationId === "getUser").length - before).toBe(1);
  });
});

describe("user.listUserIds", () => {
  contract(current, "wecom", "listUserIds", (o) => wc.user.listUserIds({ limit: 10000 }, o));
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
