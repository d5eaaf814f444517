/**
 * Each token refusal answered with the code the platform answers for it: the code its spec's
 * `x-imspec-errors.tokenInvalid.reasons` names for the reason, else as before (the documented 401
 * for a missing token where there is one, else the first `tokenInvalid` code). A reason naming a
 * code that is not one of `codes` stops the server, naming the value.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { type MockServer, startMockServer } from "imspec/mock";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

type Json = Record<string, unknown>;

let mock: MockServer;

beforeAll(async () => {
  mock = await startMockServer();
});
afterAll(() => mock?.stop());

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, body: (await res.json()) as Json };
}

/** A token the mock issued already expired. */
const expired = (api: "dingtalk" | "wecom" | "workplus") => mock.issueToken(api, { lifetimeSeconds: 0 });

describe("WeCom: the code of each refusal, as the error-code page gives it", () => {
  const user = (token?: string) =>
    `${mock.urls.wecom}/cgi-bin/user/get?userid=zhangsan${token === undefined ? "" : `&access_token=${token}`}`;

  test("no access_token: 41001, with its documented message", async () => {
    expect(await get(user())).toEqual({
      status: 200,
      body: { errcode: 41001, errmsg: "缺少access_token参数" },
    });
    expect(mock.requests.at(-1)).toMatchObject({ operationId: "getUser", outcome: "unauthorized" });
    expect(await get(user(""))).toMatchObject({ status: 200, body: { errcode: 41001 } });
  });

  test("an expired access_token: 42001, with its documented message", async () => {
    expect(await get(user(expired("wecom")))).toEqual({
      status: 200,
      body: { errcode: 42001, errmsg: "access_token已过期" },
    });
  });

  test("an access_token it never issued: 40014, as before", async () => {
    expect(await get(user("not-a-token"))).toMatchObject({ status: 200, body: { errcode: 40014 } });
    expect(await get(user(mock.issueToken("workplus")))).toMatchObject({ body: { errcode: 40014 } });
  });
});

describe("APIs whose spec names no reasons answer as before", () => {
  const dingtalk = (token?: string) =>
    get(
      `${mock.urls.dingtalk}/v1.0/contact/dingIndexs`,
      token === undefined ? {} : { "x-acs-dingtalk-access-token": token },
    );
  const workplus = (token?: string) =>
    get(`${mock.urls.workplus}/v1/apps/a/admins${token === undefined ? "" : `?access_token=${token}`}`);

  test("DingTalk: 401 unauthorized without a token, 400 InvalidAuthentication for any other refusal", async () => {
    expect(await dingtalk()).toMatchObject({ status: 401, body: { code: "unauthorized" } });
    for (const token of ["not-a-token", expired("dingtalk"), mock.issueToken("dingtalk", { kind: "user" })])
      expect(await dingtalk(token)).toMatchObject({ status: 400, body: { code: "InvalidAuthentication" } });
  });

  test("WorkPlus: 10011 token not found for every refusal, with HTTP 200", async () => {
    for (const token of [undefined, "not-a-token", expired("workplus")])
      expect(await workplus(token)).toEqual({
        status: 200,
        body: { status: 10011, message: "token not found." },
      });
  });
});

describe("a spec whose reasons cannot be used is refused, naming the value", () => {
  const wecom = (): Json =>
    JSON.parse(readFileSync(path.join(import.meta.dirname, "../../generated/wecom/openapi.json"), "utf8"));
  const withReasons = (reasons: unknown): Json => {
    const spec = wecom();
    const errors = spec["x-imspec-errors"] as { tokenInvalid: Json };
    errors.tokenInvalid.reasons = reasons;
    return spec;
  };

  test.each([
    [
      { missing: "40001" },
      /x-imspec-errors\.tokenInvalid\.reasons\.missing must be one of tokenInvalid\.codes \(40014, 42001, 41001\) \(API broken\)/,
    ],
    [{ stale: "42001" }, /x-imspec-errors\.tokenInvalid\.reasons\.stale is not a known field/],
    [["41001"], /x-imspec-errors\.tokenInvalid\.reasons must be an object/],
  ])("%j", async (reasons, message) => {
    await expect(startMockServer({ documents: { broken: withReasons(reasons) } })).rejects.toThrow(message);
  });
});

describe("a refusal no reason names", () => {
  test("gets the first tokenInvalid code no reason claims, not the code of another reason", async () => {
    const spec = JSON.parse(
      readFileSync(path.join(import.meta.dirname, "../../generated/wecom/openapi.json"), "utf8"),
    ) as Json;
    const errors = spec["x-imspec-errors"] as { tokenInvalid: { codes: unknown[]; reasons: Json } };
    // The missing token's code listed first: an unknown token must still not be called missing.
    errors.tokenInvalid.codes = ["41001", "42001", "40014"];
    errors.tokenInvalid.reasons = { missing: "41001", expired: "42001" };
    const own = await startMockServer({ documents: { reordered: spec } });
    try {
      const url = `${own.url}/reordered/cgi-bin/user/get?userid=zhangsan&access_token=not-a-token`;
      expect(await get(url)).toMatchObject({ status: 200, body: { errcode: 40014 } });
      expect(await get(url.replace("&access_token=not-a-token", ""))).toMatchObject({
        body: { errcode: 41001 },
      });
    } finally {
      await own.stop();
    }
  });
});
