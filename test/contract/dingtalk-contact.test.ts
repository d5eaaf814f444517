/**
 * Contract of every `contact` operation: called through the generated client method against the
 * mock, which checks the request against the spec; the answer the client accepted matches the
 * response schema; the typed result equals the spec's example; each documented error example
 * becomes a DingTalkError with its code, status and request id.
 */
import { createDingTalk, type DingTalk, DingTalkError } from "imspec/dingtalk";
import { type MockServer, startMockServer } from "imspec/mock";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { contract } from "./support.js";

let mock: MockServer;
let dt: DingTalk;
let userToken: string;
const current = () => mock;

beforeAll(async () => {
  mock = await startMockServer();
  dt = createDingTalk({
    rateLimit: false,
    baseUrl: mock.urls.dingtalk,
    appKey: "contract-app",
    appSecret: "contract-secret",
  });
  userToken = (await dt.userTokens.exchangeCode("abcd")).accessToken;
});
afterAll(() => mock?.stop());

describe("contact.updateSeniorSetting", () => {
  contract(
    current,
    "dingtalk",
    "updateSeniorSetting",
    (o) =>
      dt.contact.updateSeniorSetting(
        {
          seniorStaffId: "013349365367-1094322561",
          open: true,
          permitStaffIds: ["manager8723"],
          permitDeptIds: [12345],
          permitTagIds: [11111],
          protectScenes: ["CHAT"],
        },
        o,
      ),
    { requestExample: "default" },
  );
});

describe("contact.listSeniorSettings", () => {
  contract(current, "dingtalk", "listSeniorSettings", (o) =>
    dt.contact.listSeniorSettings({ seniorStaffId: "013349365367-1094322561" }, o),
  );
});

describe("contact.deleteEmpAttributeVisibility", () => {
  contract(current, "dingtalk", "deleteEmpAttributeVisibility", (o) =>
    dt.contact.deleteEmpAttributeVisibility({ settingId: 10001 }, o),
  );

  test("accepts the body the official SDKs do not model being absent", async () => {
    mock.script("dingtalk", "deleteEmpAttributeVisibility", { raw: "" });
    await expect(dt.contact.deleteEmpAttributeVisibility({ settingId: 10001 })).resolves.toBeUndefined();
  });
});

describe("contact.listEmpAttributeVisibility", () => {
  contract(current, "dingtalk", "listEmpAttributeVisibility", (o) =>
    dt.contact.listEmpAttributeVisibility({ nextToken: -1, maxResults: 10 }, o),
  );

  test("iterate() reads every page until hasMore is false", async () => {
    const page = (hasMore: boolean, id: number) => ({ hasMore, nextCursor: id, list: [{ id }] });
    mock.script(
      "dingtalk",
      "listEmpAttributeVisibility",
      { body: page(true, 1) },
      { body: page(true, 2) },
      { body: page(false, 3) },
    );
    const ids: unknown[] = [];
    for await (const item of dt.contact.listEmpAttributeVisibility.iterate({ maxResults: 100 }))
      ids.push(item.id);
    expect(ids).toEqual([1, 2, 3]);
    const cursors = mock.requests
      .filter((r) => r.operationId === "listEmpAttributeVisibility")
      .slice(-3)
      .map((r) => r.query.get("nextToken"));
    expect(cursors).toEqual(["-1", "1", "2"]);
  });
});

describe("contact.updateEmpAttributeVisibilitySetting", () => {
  contract(
    current,
    "dingtalk",
    "updateEmpAttributeVisibilitySetting",
    (o) =>
      dt.contact.updateEmpAttributeVisibilitySetting(
        {
          id: 12364,
          name: "隐藏Field1",
          description: "部门A的人隐藏字段Field1",
          objectStaffIds: ["123456"],
          objectDeptIds: [111],
          objectTagIds: [222],
          hideFields: ["12837", "name"],
          excludeStaffIds: ["userId"],
          excludeDeptIds: [111],
          excludeTagIds: [222],
          active: true,
        },
        o,
      ),
    { requestExample: "default" },
  );
});

describe("contact.getDingIdByMigrationDingId", () => {
  contract(current, "dingtalk", "getDingIdByMigrationDingId", (o) =>
    dt.contact.getDingIdByMigrationDingId({ migrationDingId: "$:LWCP_v1:$yyyy" }, o),
  );
});

describe("contact.getUnionIdByMigrationUnionId", () => {
  contract(current, "dingtalk", "getUnionIdByMigrationUnionId", (o) =>
    dt.contact.getUnionIdByMigrationUnionId({ migrationUnionId: "yyyy" }, o),
  );
});

describe("contact.getMigrationDingIdByDingId", () => {
  contract(current, "dingtalk", "getMigrationDingIdByDingId", (o) =>
    dt.contact.getMigrationDingIdByDingId({ dingId: "$:LWCP_v1:$yyyy" }, o),
  );
});

describe("contact.getMigrationUnionIdByUnionId", () => {
  contract(current, "dingtalk", "getMigrationUnionIdByUnionId", (o) =>
    dt.contact.getMigrationUnionIdByUnionId({ unionId: "yyyy" }, o),
  );
});

describe("contact.getApplyInviteInfo", () => {
  contract(current, "dingtalk", "getApplyInviteInfo", (o) =>
    dt.contact.getApplyInviteInfo({ inviterUserId: "user123", deptId: 6612366 }, o),
  );
});

describe("contact.getLatestDingIndex", () => {
  contract(current, "dingtalk", "getLatestDingIndex", (o) => dt.contact.getLatestDingIndex({}, o));
});

describe("contact.getUser", () => {
  contract(current, "dingtalk", "getUser", (o) =>
    dt.contact.getUser({ unionId: "z21HjQliSzpw0Yxxxx" }, { ...o, accessToken: userToken }),
  );

  test("an app token is refused: getUser needs the user's own token", async () => {
    const appToken = await dt.appToken.get();
    const error = await dt.contact.getUser({ unionId: "me" }, { accessToken: appToken }).catch((e) => e);
    expect(error).toBeInstanceOf(DingTalkError);
    expect(error).toMatchObject({ status: 400, code: "InvalidAuthentication" });
  });
});

describe("contact.updateDeptSettingTailFirst", () => {
  contract(
    current,
    "dingtalk",
    "updateDeptSettingTailFirst",
    (o) => dt.contact.updateDeptSettingTailFirst({ enable: true }, o),
    { requestExample: "default" },
  );
});
