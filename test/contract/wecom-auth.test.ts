/**
 * Contract of the WeCom `auth` operation: the token is fetched with a GET (corpid, corpsecret in the
 * query), and neither the secret nor the token shows in any error, log event or serialized error.
 */
import { type MockServer, startMockServer } from "imspec/mock";
import { createWeCom, type LogEvent, WeComError } from "imspec/wecom";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { contract } from "./support.js";

const SECRET = "planted-wecom-corpsecret-Q7m2";
let mock: MockServer;
const current = () => mock;

beforeAll(async () => {
  mock = await startMockServer();
});
afterAll(() => mock?.stop());

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
    const token = mock.requests.find((r) => r.operationId === "getAccessToken");
    expect(token?.method).toBe("GET");
    expect(token?.query.get("corpid")).toBe("ww-contract");
    const call = mock.requests.findLast((r) => r.operationId === "listDepartmentIds");
    expect(call?.query.get("access_token")).toBe(await wc.appToken.get());
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
});
