/**
 * What users of the official SDK (@alicloud/dingtalk) found against the mock, each checked with
 * that SDK and with our client:
 * - updateDeptSettingTailFirst answered 200 with an empty body, and the SDK throws on it: the spec
 *   now allows an optional JSON body (`x-imspec-optional-body`) and the mock answers `{}`;
 * - response enums that DingTalk extends (`x-imspec-open-enum`) take values the spec does not list;
 * - a bad maxResults is answered with the documented 405 params.invalid, not 400 parameter.error;
 * - getApplyInviteInfo's inviteUrl may be null.
 * The SDK cannot put a path prefix before /v1.0, so it reaches the mock's /dingtalk through a
 * loopback server that adds it.
 */
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { createDingTalk, type DingTalk, DingTalkError } from "imspec/dingtalk";
import { type MockServer, startMockServer } from "imspec/mock";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { expectMatchesSchema, type Json, schemaErrors, successOf } from "./support.js";

const require = createRequire(import.meta.url);
const contact =
  require("@alicloud/dingtalk/contact_1_0") as typeof import("@alicloud/dingtalk/dist/contact_1_0/client.js");
const { Config } = require("@alicloud/openapi-client") as typeof import("@alicloud/openapi-client");
const { RuntimeOptions } = require("@alicloud/tea-util") as typeof import("@alicloud/tea-util");

let mock: MockServer;
let proxy: Server;
let sdk: InstanceType<typeof contact.default>;
let dt: DingTalk;
let token: string;

beforeAll(async () => {
  mock = await startMockServer();
  token = mock.issueToken("dingtalk");
  dt = createDingTalk({ rateLimit: false, baseUrl: mock.urls.dingtalk, accessToken: token, retry: false });
  // Forwards every request to the mock's /dingtalk prefix, as it came (less the hop-by-hop headers).
  const hopByHop = new Set(["host", "connection", "keep-alive", "transfer-encoding", "content-length"]);
  proxy = createServer(async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k, v]) => typeof v === "string" && !hopByHop.has(k)),
      ) as Record<string, string>;
      const answer = await fetch(`${mock.urls.dingtalk}${req.url ?? "/"}`, {
        method: req.method ?? "GET",
        headers,
        body: chunks.length ? Buffer.concat(chunks) : null,
      });
      const body = Buffer.from(await answer.arrayBuffer());
      const out = Object.fromEntries([...answer.headers].filter(([k]) => !hopByHop.has(k)));
      res.writeHead(answer.status, { ...out, "content-length": String(body.length) });
      res.end(body);
    } catch (error) {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`test proxy: ${(error as Error).message}`);
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const { port } = proxy.address() as AddressInfo;
  sdk = new contact.default(new Config({ endpoint: `127.0.0.1:${port}`, protocol: "http" }));
});
afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve));
  await mock?.stop();
});
beforeEach(() => mock.clearScripts());

const runtime = () => new RuntimeOptions({ autoretry: false, maxAttempts: 1 });
const caught = <T>(promise: Promise<T>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as Record<string, unknown>,
  );

describe("updateDeptSettingTailFirst: an optional JSON body, {} by default", () => {
  const call = () =>
    sdk.updateDeptSettngTailFirstWithOptions(
      new contact.UpdateDeptSettngTailFirstRequest({ enable: true }),
      new contact.UpdateDeptSettngTailFirstHeaders({ xAcsDingtalkAccessToken: token }),
      runtime(),
    );

  test("the official SDK accepts the mock's answer", async () => {
    const response = await call();
    expect(response.statusCode).toBe(200);
  });

  test("the SDK throws on the empty body the mock used to send (so the test above can fail)", async () => {
    mock.script("dingtalk", "updateDeptSettingTailFirst", { raw: "" });
    const error = await caught(call());
    expect(error).toBeInstanceOf(SyntaxError);
    expect(String((error as unknown as Error).message)).toMatch(/JSON/);
    expect(mock.requests.at(-1)).toMatchObject({ operationId: "updateDeptSettingTailFirst", status: 200 });
  });

  test("our client: {} by default, undefined for an empty body; both match the spec", async () => {
    const { data, response } = await dt.contact.updateDeptSettingTailFirst({ enable: true }).withResponse();
    expect(data).toEqual({});
    await expectMatchesSchema("dingtalk", "updateDeptSettingTailFirst", response);
    expect(successOf("dingtalk", "updateDeptSettingTailFirst").optionalBody).toBe(true);
    mock.script("dingtalk", "updateDeptSettingTailFirst", { raw: "" });
    await expect(dt.contact.updateDeptSettingTailFirst({ enable: true })).resolves.toBeUndefined();
  });
});

describe("open enums: a value DingTalk adds later is an answer, not an error", () => {
  const added = {
    seniorStaffId: "u1",
    protectScenes: ["CHAT", "AI_ASSISTANT"],
    seniorWhiteList: [{ id: "1", type: 7, name: "a kind added later" }],
  };

  test("listSeniorSettings: the SDK, our client and the spec all take it", async () => {
    mock.script("dingtalk", "listSeniorSettings", { body: added, times: 2 });
    const response = await sdk.listSeniorSettingsWithOptions(
      new contact.ListSeniorSettingsRequest({ seniorStaffId: "u1" }),
      new contact.ListSeniorSettingsHeaders({ xAcsDingtalkAccessToken: token }),
      runtime(),
    );
    expect(response.body?.protectScenes).toEqual(["CHAT", "AI_ASSISTANT"]);
    const { data, response: ours } = await dt.contact
      .listSeniorSettings({ seniorStaffId: "u1" })
      .withResponse();
    expect(data).toEqual(added);
    await expectMatchesSchema("dingtalk", "listSeniorSettings", ours);
  });

  test.each([
    ["listEmpAttributeVisibility", { hasMore: false, nextCursor: 1, list: [{ hideFields: ["nickname"] }] }],
    [
      "getApplyInviteInfo",
      {
        inviteSwitch: true,
        searchNameInvite: true,
        orgApplyCodeInvite: true,
        linkInvite: true,
        auditType: 2,
        empApplyJoinDept: false,
      },
    ],
  ])("%s: the spec takes an unlisted value", (operationId, body) => {
    const pointer = successOf("dingtalk", operationId).schemaPointer as string;
    expect(schemaErrors("dingtalk", pointer, body)).toEqual([]);
  });

  test("an open enum is still an enum for the values of the wrong type", () => {
    const pointer = successOf("dingtalk", "getApplyInviteInfo").schemaPointer as string;
    const errors = schemaErrors("dingtalk", pointer, {
      inviteSwitch: true,
      searchNameInvite: true,
      orgApplyCodeInvite: true,
      linkInvite: true,
      auditType: "two",
      empApplyJoinDept: false,
    });
    expect(errors.join("; ")).toMatch(/\/auditType must be integer/);
  });

  test("requests still use the listed values: the mock refuses an unknown scene", async () => {
    const error = await dt.contact
      .updateSeniorSetting({ seniorStaffId: "x", open: true, protectScenes: ["LUNCH"] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DingTalkError);
    expect(error).toMatchObject({ status: 400, code: "parameter.error" });
  });
});

describe("a bad maxResults: the documented 405 params.invalid", () => {
  test("the official SDK sees the documented code and status", async () => {
    const error = await caught(
      sdk.listEmpAttributeVisibilityWithOptions(
        new contact.ListEmpAttributeVisibilityRequest({ nextToken: -1, maxResults: 101 }),
        new contact.ListEmpAttributeVisibilityHeaders({ xAcsDingtalkAccessToken: token }),
        runtime(),
      ),
    );
    expect(error).toMatchObject({ code: "params.invalid", statusCode: 405 });
  });

  test("our client throws it as documented, naming the parameter", async () => {
    const error = await dt.contact
      .listEmpAttributeVisibility({ nextToken: -1, maxResults: 101 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DingTalkError);
    expect(error).toMatchObject({ status: 405, code: "params.invalid" });
    expect((error as Error).message).toContain("maxResults");
  });
});

describe("getApplyInviteInfo: inviteUrl is null when inviting is off", () => {
  const off: Json = {
    inviteSwitch: false,
    searchNameInvite: false,
    orgApplyCodeInvite: false,
    linkInvite: false,
    inviteUrl: null,
    auditType: 0,
    empApplyJoinDept: false,
  };

  test("the spec, our client and the SDK take it", async () => {
    mock.script("dingtalk", "getApplyInviteInfo", { body: off, times: 2 });
    const { data, response } = await dt.contact.getApplyInviteInfo().withResponse();
    expect(data.inviteUrl).toBeNull();
    await expectMatchesSchema("dingtalk", "getApplyInviteInfo", response);
    const sdkAnswer = await sdk.getApplyInviteInfoWithOptions(
      new contact.GetApplyInviteInfoRequest({}),
      new contact.GetApplyInviteInfoHeaders({ xAcsDingtalkAccessToken: token }),
      runtime(),
    );
    expect(sdkAnswer.body?.inviteSwitch).toBe(false);
  });

  test("a number there is still refused by the spec", () => {
    const pointer = successOf("dingtalk", "getApplyInviteInfo").schemaPointer as string;
    expect(schemaErrors("dingtalk", pointer, { ...off, inviteUrl: 5 }).join("; ")).toMatch(
      /\/inviteUrl must be/,
    );
  });
});
