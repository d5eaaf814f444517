/**
 * The mock server itself: it routes and validates by the spec (OpenAPI 3.1 keywords included),
 * refuses tokens the way each API does, answers with the spec's examples (picked by `Prefer`) and
 * with scripted answers, and records what it received.
 */

import { connect } from "node:net";
import path from "node:path";
import {
  ConnectionError,
  createDingTalk,
  type DingTalk,
  DingTalkError,
  ParseError,
  TimeoutError,
} from "imspec/dingtalk";
import {
  INVALID_REQUEST_CODE,
  type MockApi,
  type MockRequest,
  type MockServer,
  startMockServer,
} from "imspec/mock";
import { createWorkPlus, WorkPlusError } from "imspec/workplus";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { specCandidates } from "../../src/mock/documents.js";
import { loadEntries } from "./entries.js";
import { APIS, type Json, specOf } from "./support.js";

let mock: MockServer;
/** A token the mock issued to each API: `call` sends it where the API's profile puts it. */
const tokens = {} as Record<MockApi, string>;
let token: string;
let wpToken: string;
const entries = await loadEntries();
let dt: DingTalk;

beforeAll(async () => {
  mock = await startMockServer();
  for (const api of APIS) tokens[api] = mock.issueToken(api);
  token = tokens.dingtalk;
  wpToken = tokens.workplus;
  dt = createDingTalk({ rateLimit: false, baseUrl: mock.urls.dingtalk, accessToken: token, retry: false });
});
afterAll(() => mock?.stop());
beforeEach(() => mock.clearScripts());

interface Answer {
  status: number;
  headers: Headers;
  body: Json;
}

async function call(
  api: MockApi,
  method: string,
  pathAndQuery: string,
  init: { body?: unknown; raw?: string; headers?: Record<string, string>; auth?: boolean } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  let target = `${mock.urls[api]}${pathAndQuery}`;
  const auth = entries[api].profile.auth;
  if (init.auth !== false && auth) {
    const value = tokens[api];
    if (auth.in === "header") headers[auth.name] ??= auth.scheme ? `${auth.scheme} ${value}` : value;
    else target += `${target.includes("?") ? "&" : "?"}${auth.name}=${value}`;
  }
  let body: string | undefined = init.raw;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetch(target, { method, headers, body: body ?? null });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Json) : {} };
}

const last = (): MockRequest => mock.requests.at(-1) as MockRequest;

function cyclic(): Json {
  const value: Json = {};
  value.self = value;
  return value;
}

describe("request validation, DingTalk: 400 with a message naming the field", () => {
  test("a missing required query parameter", async () => {
    const res = await call("dingtalk", "GET", "/v1.0/contact/seniorSettings");
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: "MissingseniorStaffId",
      message: expect.stringMatching(/seniorStaffId/),
    });
    expect(res.body.requestid).toMatch(/^[0-9A-F-]{36}$/);
    expect(res.headers.get("x-acs-request-id")).toBe(res.body.requestid);
    expect(last()).toMatchObject({
      api: "dingtalk",
      operationId: "listSeniorSettings",
      outcome: "invalid",
      problems: ["query parameter seniorStaffId is required"],
    });
  });

  test.each([
    ["query, wrong type", "GET", "/v1.0/contact/invites/infos?deptId=ten", undefined, "deptId"],
    ["query, not in the spec", "GET", "/v1.0/contact/dingIndexs?page=2", undefined, "page"],
    [
      "path, wrong type",
      "DELETE",
      "/v1.0/contact/staffAttributes/visibilitySettings/abc",
      undefined,
      "settingId",
    ],
    ["body, wrong type", "POST", "/v1.0/contact/depts/settings/priorities", { enable: "yes" }, "enable"],
    [
      "body, item outside the enum",
      "POST",
      "/v1.0/contact/seniorSettings",
      { seniorStaffId: "x", open: true, protectScenes: ["LUNCH"] },
      "protectScenes[0]",
    ],
    [
      "body, item matching no alternative",
      "POST",
      "/v1.0/contact/staffAttributes/visibilitySettings",
      { hideFields: ["nickname"] },
      "hideFields[0]",
    ],
  ])("%s", async (_case, method, target, body, field) => {
    const res = await call("dingtalk", method, target, body === undefined ? {} : { body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("parameter.error");
    expect(res.body.message).toContain(field);
  });

  test.each([
    ["wrong type", "maxResults=ten", "maxResults"],
    ["over the maximum", "maxResults=101", "maxResults"],
    ["under the minimum", "maxResults=0", "maxResults"],
    ["cursor of the wrong type", "nextToken=abc", "nextToken"],
  ])("a paging parameter, %s: the documented 405 params.invalid, naming it", async (_case, query, field) => {
    // The spec documents 405 params.invalid for bad paging values (x-imspec-invalid on the parameters).
    const res = await call("dingtalk", "GET", `/v1.0/contact/staffAttributes/visibilitySettings?${query}`);
    expect(res.status).toBe(405);
    expect(res.body.code).toBe("params.invalid");
    expect(res.body.message).toMatch(/^无效的分页请求参数nextToken和maxResults: /);
    expect(res.body.message).toContain(field);
    expect(last()).toMatchObject({ operationId: "listEmpAttributeVisibility", outcome: "invalid" });
  });

  test("a missing required body field, and several problems at once", async () => {
    const res = await call("dingtalk", "POST", "/v1.0/contact/seniorSettings", {
      body: { seniorStaffId: 1, permitDeptIds: ["a"] },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("Missingopen");
    expect(last().problems).toEqual([
      "body field open is required",
      "body field seniorStaffId must be string",
      "body field permitDeptIds[0] must be integer",
    ]);
  });

  test("a missing body, a body that is not JSON, a body of another content type", async () => {
    const missing = await call("dingtalk", "POST", "/v1.0/contact/depts/settings/priorities");
    expect(missing.body).toMatchObject({
      code: "Missingbody",
      message: expect.stringMatching(/request body is required/),
    });
    const broken = await call("dingtalk", "POST", "/v1.0/contact/depts/settings/priorities", {
      raw: '{"enable": tru',
      headers: { "content-type": "application/json" },
    });
    expect(broken.status).toBe(400);
    expect(broken.body.message).toMatch(/request body is not valid JSON/);
    const form = await call("dingtalk", "POST", "/v1.0/contact/depts/settings/priorities", {
      raw: '{"enable":true}',
      headers: { "content-type": "text/plain" },
    });
    expect(form.status).toBe(400);
    expect(form.body.message).toMatch(/content-type must be application\/json \(got text\/plain\)/);
  });
});

describe("request validation, WorkPlus: HTTP 200, a non-zero status, a message naming the field", () => {
  test("query parameter outside its enum", async () => {
    const res = await call("workplus", "GET", "/v1/apps/app-1/scope-views?source_type=PARTNER");
    expect(res.status).toBe(200);
    expect(res.body.status).toBe(INVALID_REQUEST_CODE);
    expect(res.body.message).toMatch(/source_type must be one of "NATIVE", "ISV"/);
  });

  test("token request missing fields", async () => {
    const res = await call("workplus", "POST", "/v1/token", {
      body: { grant_type: "password", scope: "app" },
      auth: false,
    });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe(INVALID_REQUEST_CODE);
    for (const field of ["domain_id", "client_id", "client_secret", "grant_type"])
      expect(res.body.message).toContain(field);
  });
});

describe("OpenAPI 3.1 keywords in request schemas", () => {
  // A spec with one more operation whose parameters and body use 3.1 (JSON Schema 2020-12) keywords.
  let custom: MockServer;
  let customToken: string;
  beforeAll(async () => {
    const doc = structuredClone(specOf("dingtalk")) as Json;
    (doc.paths as Json)["/v1.0/test/keywords"] = {
      post: {
        operationId: "tryKeywords",
        tags: ["contact"],
        parameters: [
          { name: "id", in: "query", required: true, schema: { type: ["integer", "string"] } },
          { name: "mode", in: "query", schema: { const: "fast" } },
        ],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: {
                type: "object",
                required: ["kind"],
                properties: {
                  kind: { const: "demo" },
                  note: { type: ["string", "null"] },
                  pair: {
                    type: "array",
                    prefixItems: [{ type: "string" }, { type: "integer" }],
                    items: false,
                  },
                  from: { type: "string" },
                  until: { type: "string" },
                },
                dependentRequired: { from: ["until"] },
              },
            },
          },
        },
        responses: {
          "200": { description: "ok", content: { "application/json": { example: { done: true } } } },
        },
      },
    };
    custom = await startMockServer({ documents: { dingtalk: doc } });
    customToken = custom.issueToken("dingtalk");
  });
  afterAll(() => custom?.stop());

  async function send(query: string, body: unknown) {
    const res = await fetch(`${custom.urls.dingtalk}/v1.0/test/keywords?${query}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-acs-dingtalk-access-token": customToken },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  }

  test("a request that uses them correctly is answered", async () => {
    const valid = { kind: "demo", note: null, pair: ["a", 1], from: "x", until: "y" };
    expect(await send("id=7&mode=fast", valid)).toEqual({ status: 200, body: { done: true } });
    expect((await send("id=abc", { kind: "demo", note: "text" })).status).toBe(200);
  });

  test.each([
    ["type: [integer, string] on a missing value", "mode=fast", { kind: "demo" }, "id"],
    ["const in a query parameter", "id=1&mode=slow", { kind: "demo" }, "mode"],
    ["const in the body", "id=1", { kind: "other" }, "kind"],
    ['type: [string, "null"]', "id=1", { kind: "demo", note: 5 }, "note"],
    ["prefixItems", "id=1", { kind: "demo", pair: [1, "a"] }, "pair[0]"],
    ["prefixItems with items: false", "id=1", { kind: "demo", pair: ["a", 1, 2] }, "pair"],
    ["dependentRequired", "id=1", { kind: "demo", from: "x" }, "until"],
  ])("%s is enforced", async (_case, query, body, field) => {
    const res = await send(query, body);
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(field);
  });
});

describe("tokens", () => {
  test("DingTalk: unknown token → 400 InvalidAuthentication, a user token on an app operation too", async () => {
    const unknown = await call("dingtalk", "GET", "/v1.0/contact/dingIndexs", {
      headers: { "x-acs-dingtalk-access-token": "not-a-token" },
    });
    expect(unknown).toMatchObject({ status: 400, body: { code: "InvalidAuthentication" } });
    const user = mock.issueToken("dingtalk", { kind: "user" });
    const wrongKind = await call("dingtalk", "GET", "/v1.0/contact/dingIndexs", {
      headers: { "x-acs-dingtalk-access-token": user },
    });
    expect(wrongKind).toMatchObject({ status: 400, body: { code: "InvalidAuthentication" } });
    const ok = await call("dingtalk", "GET", "/v1.0/contact/users/me", {
      headers: { "x-acs-dingtalk-access-token": user },
    });
    expect(ok.status).toBe(200);
  });

  test("a token of one API is unknown to the other", async () => {
    const res = await call("dingtalk", "GET", "/v1.0/contact/dingIndexs", {
      headers: { "x-acs-dingtalk-access-token": wpToken },
    });
    expect(res.body.code).toBe("InvalidAuthentication");
  });

  test("expireTokens() expires every token of one API only", async () => {
    const dtToken = mock.issueToken("dingtalk");
    const keep = mock.issueToken("workplus");
    mock.expireTokens("dingtalk");
    const refused = await call("dingtalk", "GET", "/v1.0/contact/dingIndexs", {
      headers: { "x-acs-dingtalk-access-token": dtToken },
    });
    expect(refused.body.code).toBe("InvalidAuthentication");
    const res = await fetch(`${mock.urls.workplus}/v1/apps/a/admins?access_token=${keep}`);
    expect(((await res.json()) as Json).status).toBe(0);
    token = tokens.dingtalk = mock.issueToken("dingtalk");
    dt = createDingTalk({ rateLimit: false, baseUrl: mock.urls.dingtalk, accessToken: token, retry: false });
  });

  test("many live tokens: dead ones are looked for once their number doubles, and no live one is lost", async () => {
    // Past 10,000 tokens the registry looked for dead ones on every issue: with all of them live,
    // each token cost a scan of all before it, and 50,000 took seconds of the event loop. A dead
    // token is forgotten only when they are looked for (expireToken then no longer knows it).
    const fresh = await startMockServer();
    try {
      const first = fresh.issueToken("dingtalk");
      for (let i = 0; i < 10_000; i++) fresh.issueToken("dingtalk"); // past the first look, all live
      const dead = fresh.issueToken("dingtalk");
      expect(fresh.expireToken(dead)).toBe(true);
      for (let i = 0; i < 100; i++) fresh.issueToken("dingtalk");
      expect(fresh.expireToken(dead)).toBe(true); // not looked for again yet: still known
      for (let i = 0; i < 10_000; i++) fresh.issueToken("dingtalk"); // the number has doubled
      expect(fresh.expireToken(dead)).toBe(false); // looked for, and forgotten
      const res = await fetch(`${fresh.urls.dingtalk}/v1.0/contact/dingIndexs`, {
        headers: { "x-acs-dingtalk-access-token": first },
      });
      expect(res.status).toBe(200);
    } finally {
      await fresh.stop();
    }
  });

  test("expireToken() reports whether the mock issued the token", () => {
    expect(mock.expireToken("never-issued")).toBe(false);
    expect(mock.expireToken(mock.issueToken("workplus"))).toBe(true);
  });
});

describe("Prefer picks the answer", () => {
  test("example=NAME, from whichever response documents it", async () => {
    const res = await call("dingtalk", "GET", "/v1.0/contact/staffAttributes/visibilitySettings", {
      headers: { prefer: "example=documented" },
    });
    expect(res).toMatchObject({ status: 200, body: { hasMore: true } });
    const forbidden = await call("dingtalk", "GET", "/v1.0/contact/dingIndexs", {
      headers: { prefer: "example=Forbidden.AccessDenied.IpNotInWhiteList" },
    });
    expect(forbidden).toMatchObject({
      status: 403,
      body: { code: "Forbidden.AccessDenied.IpNotInWhiteList" },
    });
  });

  test("code=NNN, and both together for a name used by two responses", async () => {
    const code = await call("dingtalk", "GET", "/v1.0/contact/dingIndexs", {
      headers: { prefer: "code=500" },
    });
    expect(code).toMatchObject({ status: 500, body: { code: "invalid.system.errror" } });
    const both = await call(
      "dingtalk",
      "GET",
      "/v1.0/contact/orgAccount/getDingIdByMigrationDingIds?migrationDingId=a",
      {
        headers: { prefer: "code=500, example=system.busy" },
      },
    );
    expect(both).toMatchObject({ status: 500, body: { code: "system.busy" } });
    const first = await call(
      "dingtalk",
      "GET",
      "/v1.0/contact/orgAccount/getDingIdByMigrationDingIds?migrationDingId=a",
      {
        headers: { prefer: "example=system.busy" },
      },
    );
    expect(first.status).toBe(429);
  });

  test("WorkPlus: an error example with HTTP 200, and a status in a documented range", async () => {
    const error = await call("workplus", "GET", "/v1/apps/a/admins", {
      headers: { prefer: "example=errorTokenNotFound" },
    });
    expect(error).toEqual({
      status: 200,
      headers: expect.anything(),
      body: { status: 10011, message: "token not found." },
    });
    const range = await call("workplus", "GET", "/v1/apps/a/admins", { headers: { prefer: "code=503" } });
    expect(range).toMatchObject({ status: 503, body: { status: 500, message: "Internal Server Error" } });
  });

  test("an example or code the operation does not document is refused, listing what it does", async () => {
    const name = await call("dingtalk", "GET", "/v1.0/contact/dingIndexs", {
      headers: { prefer: "example=nope" },
    });
    expect(name.status).toBe(400);
    expect(name.body.message).toMatch(
      /example=nope is not an example of this operation \(examples: default, /,
    );
    const code = await call("dingtalk", "GET", "/v1.0/contact/dingIndexs", {
      headers: { prefer: "code=418" },
    });
    expect(code.body.message).toMatch(/code=418 is not documented for this operation \(documented: 200, 400/);
    for (const prefer of ["code=5OO", "code=abc"]) {
      const bad = await call("dingtalk", "GET", "/v1.0/contact/dingIndexs", { headers: { prefer } });
      expect(bad.status, prefer).toBe(400);
      expect(bad.body.message).toContain(`Prefer: ${prefer} is not an HTTP status (three digits)`);
    }
  });

  test("an operation without a body in its success response answers none", async () => {
    const res = await fetch(`${mock.urls.dingtalk}/v1.0/contact/seniorSettings`, {
      method: "POST",
      headers: { "x-acs-dingtalk-access-token": token, "content-type": "application/json" },
      body: '{"seniorStaffId":"x","open":false}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("0");
    expect(await res.text()).toBe("");
  });

  test("an optional body (x-imspec-optional-body) is answered with its example: {} by default", async () => {
    const res = await fetch(`${mock.urls.dingtalk}/v1.0/contact/depts/settings/priorities`, {
      method: "POST",
      headers: { "x-acs-dingtalk-access-token": token, "content-type": "application/json" },
      body: '{"enable":false}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.text()).toBe("{}");
  });
});

describe("scripted answers", () => {
  test("status and body for the next call only, then the spec again", async () => {
    mock.script("dingtalk", "getLatestDingIndex", { status: 201, body: { idxTotal: 1 } });
    await expect(dt.contact.getLatestDingIndex().withResponse()).resolves.toMatchObject({
      data: { idxTotal: 1 },
      response: { status: 201 },
    });
    expect(last().outcome).toBe("scripted");
    await expect(dt.contact.getLatestDingIndex()).resolves.toMatchObject({ idxTotal: 888 });
    expect(last().outcome).toBe("answered");
  });

  test("answers are used in order, each `times` times; an operation's own beat `*`", async () => {
    mock.script("dingtalk", "*", { body: { from: "any" }, times: Number.POSITIVE_INFINITY });
    mock.script("dingtalk", "getLatestDingIndex", { body: { n: 1 }, times: 2 }, { body: { n: 2 } });
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await dt.contact.getLatestDingIndex());
    expect(got).toEqual([{ n: 1 }, { n: 1 }, { n: 2 }, { from: "any" }]);
    await expect(dt.contact.getApplyInviteInfo()).resolves.toEqual({ from: "any" });
    mock.clearScripts();
    await expect(dt.contact.getApplyInviteInfo()).resolves.toMatchObject({ inviteSwitch: true });
  });

  test("a raw body with its own content type", async () => {
    mock.script("dingtalk", "getLatestDingIndex", {
      status: 502,
      raw: "<html><body>Bad Gateway</body></html>",
      headers: { "content-type": "text/html" },
    });
    const res = await fetch(`${mock.urls.dingtalk}/v1.0/contact/dingIndexs`, {
      headers: { "x-acs-dingtalk-access-token": token },
    });
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toBe("text/html");
    expect(await res.text()).toBe("<html><body>Bad Gateway</body></html>");
    expect(last()).toMatchObject({ status: 502, outcome: "scripted" });
  });

  test("a script still needs a valid request: the spec is checked first", async () => {
    mock.script("dingtalk", "listSeniorSettings", { body: { scripted: true } });
    const res = await call("dingtalk", "GET", "/v1.0/contact/seniorSettings");
    expect(res.status).toBe(400);
    await expect(dt.contact.listSeniorSettings({ seniorStaffId: "x" })).resolves.toEqual({ scripted: true });
  });

  test("DingTalk throttling codes: the documented example, and the client retries them", async () => {
    mock.script("dingtalk", "getLatestDingIndex", { error: "Forbidden.AccessDenied.QpsLimitForApi" });
    const res = await call("dingtalk", "GET", "/v1.0/contact/dingIndexs");
    expect(res).toMatchObject({ status: 403, body: { code: "Forbidden.AccessDenied.QpsLimitForApi" } });

    const retrying = createDingTalk({
      rateLimit: false,
      baseUrl: mock.urls.dingtalk,
      accessToken: token,
      retry: { baseDelayMs: 1 },
    });
    mock.script(
      "dingtalk",
      "getLatestDingIndex",
      { error: "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi" },
      { error: "system.busy" },
    );
    const before = mock.count("dingtalk", "getLatestDingIndex");
    await expect(retrying.contact.getLatestDingIndex()).resolves.toMatchObject({ idxTotal: 888 });
    expect(mock.count("dingtalk", "getLatestDingIndex") - before).toBe(3);
  });

  test("DingTalk: a code the operation does not document gets a status that fits it", async () => {
    mock.script(
      "dingtalk",
      "getLatestDingIndex",
      { error: "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi" },
      { error: "ruleNum.exceed.limit", message: "too many" },
    );
    await expect(dt.contact.getLatestDingIndex()).rejects.toMatchObject({
      status: 403,
      code: "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi",
    });
    await expect(dt.contact.getLatestDingIndex()).rejects.toMatchObject({
      status: 400,
      code: "ruleNum.exceed.limit",
      message: expect.stringMatching(/too many/),
    });
  });

  test("WorkPlus business statuses; 10011 makes a managed client fetch a new token and replay", async () => {
    const wp = createWorkPlus({
      baseUrl: mock.urls.workplus,
      domainId: "d",
      clientId: "scripted-10011",
      clientSecret: "s",
      orgId: "o",
    });
    await wp.apps.listAdmins({ appId: "a" });
    mock.script("workplus", "listAdmins", { error: 10011 });
    const before = mock.tokenRequests("workplus");
    await expect(wp.apps.listAdmins({ appId: "a" })).resolves.toMatchObject({ total_counts: 1 });
    expect(mock.tokenRequests("workplus") - before).toBe(1);

    mock.script("workplus", "listAdmins", { error: 202104 }, { error: 999999, message: "custom" });
    await expect(wp.apps.listAdmins({ appId: "a" })).rejects.toMatchObject({
      code: 202104,
      message: expect.stringMatching(/应用认证失败/),
    });
    const custom = await wp.apps.listAdmins({ appId: "a" }).catch((e: unknown) => e);
    expect(custom).toBeInstanceOf(WorkPlusError);
    expect(custom).toMatchObject({ code: 999999, status: 200, message: expect.stringMatching(/custom/) });
  });

  test("delay: the client's timeout fires first", async () => {
    mock.script("dingtalk", "getLatestDingIndex", { delayMs: 2_000 });
    const error = await dt.contact.getLatestDingIndex({}, { timeout: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
  });

  test("a connection dropped before the answer, or in the middle of the body", async () => {
    mock.script("dingtalk", "getLatestDingIndex", { drop: "before-response" }, { drop: "mid-body" });
    const before = await dt.contact.getLatestDingIndex().catch((e: unknown) => e);
    expect(before).toBeInstanceOf(ConnectionError);
    expect(last().status).toBeUndefined();
    const middle = await dt.contact.getLatestDingIndex().catch((e: unknown) => e);
    expect(middle).toBeInstanceOf(ConnectionError);
    expect(last().status).toBe(200);
  });

  test("an empty scripted body on an error status", async () => {
    mock.script("dingtalk", "getLatestDingIndex", { status: 503, raw: "" });
    const error = await dt.contact.getLatestDingIndex().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DingTalkError);
    expect(error).toMatchObject({ status: 503, code: undefined });
  });

  test("a truncated JSON body", async () => {
    mock.script("dingtalk", "getLatestDingIndex", { raw: '{"statDate":"2021' });
    await expect(dt.contact.getLatestDingIndex()).rejects.toBeInstanceOf(ParseError);
  });

  test("a script for an API or operation the server does not serve is refused, not kept unused", async () => {
    expect(() => mock.script("dingtalk", "getLatestDingIdx", { body: { n: 1 } })).toThrow(
      /imspec mock: dingtalk has no operation getLatestDingIdx/,
    );
    expect(() => mock.script("dingtak", "*", { body: { n: 1 } })).toThrow(/no API named dingtak/);
    // Nothing was queued: the next call gets the spec's answer.
    await expect(dt.contact.getLatestDingIndex()).resolves.toMatchObject({ idxTotal: 888 });
  });

  test("a scripted status past 599 is sent as given: any three digits test a client's unknown statuses", async () => {
    mock.script("dingtalk", "getLatestDingIndex", { status: 799, body: { code: "odd", message: "odd" } });
    const res = await fetch(`${mock.urls.dingtalk}/v1.0/contact/dingIndexs`, {
      headers: { "x-acs-dingtalk-access-token": token },
    });
    expect(res.status).toBe(799);
  });

  test.each([
    ["times: 0", { times: 0 }, "times must be an integer from 1, or Infinity"],
    ["times: NaN", { times: Number.NaN }, "times must be an integer from 1, or Infinity"],
    ["times: 1.5", { times: 1.5 }, "times must be an integer from 1, or Infinity"],
    ["an interim status", { status: 103 }, "status must be an integer from 200 to 999"],
    ["a status of four digits", { status: 1000 }, "status must be an integer from 200 to 999"],
    ["an interim code", { code: 101 }, "code must be an integer from 200 to 999"],
    ["a code of four digits", { code: 1000 }, "code must be an integer from 200 to 999"],
    ["a header value with a line break", { headers: { "x-note": "a\nb" } }, "headers.x-note cannot be sent"],
    ["a header name with a space", { headers: { "x note": "b" } }, "headers.x note cannot be sent"],
    ["delayMs: -1", { delayMs: -1 }, "delayMs must be a number from 0 to 2147483647"],
    ["delayMs: NaN", { delayMs: Number.NaN }, "delayMs must be a number from 0 to 2147483647"],
    [
      "delayMs past what a timer holds",
      { delayMs: 2 ** 31 },
      "delayMs must be a number from 0 to 2147483647",
    ],
    ["an unknown drop", { drop: "sideways" as "mid-body" }, 'drop must be "before-response" or "mid-body"'],
    ["a body with a BigInt", { body: { n: 1n } }, "body cannot be sent as JSON: "],
    ["a body with a cycle", { body: cyclic() }, "body cannot be sent as JSON: "],
    ["a body JSON drops", { body: () => 1 }, "body cannot be sent as JSON"],
    ["a raw body that is no bytes", { raw: 5 as unknown as string }, "raw must be a string or a Uint8Array"],
    [
      "an example the operation does not have",
      { body: undefined, example: "nope" },
      "example=nope is not an example of this operation (examples: ",
    ],
    [
      "a code the operation does not document",
      { body: undefined, code: 418 },
      "code=418 is not documented for this operation (documented: ",
    ],
  ])("a scripted answer that cannot be sent as written is refused: %s", async (_case, bad, why) => {
    // Sent, these hung the call (an interim status, a header the HTTP layer refuses), answered at
    // once (a delay a timer cannot hold, NaN), or kept or spent the script unasked (times).
    expect(() =>
      mock.script("dingtalk", "getLatestDingIndex", { body: { n: 1 } }, { body: { n: 2 }, ...bad }),
    ).toThrow(`imspec mock: script(dingtalk, getLatestDingIndex), answer 2: ${why}`);
    // None of the answers was queued.
    await expect(dt.contact.getLatestDingIndex({}, { timeout: 2_000 })).resolves.toMatchObject({
      idxTotal: 888,
    });
  });

  test.each([
    ["null", null],
    ["a string", "ok"],
  ])(
    "a scripted answer that is %s, not an object, is refused with a sentence, not a TypeError",
    (_name, bad) => {
      expect(() => mock.script("dingtalk", "getLatestDingIndex", bad as never)).toThrow(
        "imspec mock: script(dingtalk, getLatestDingIndex), answer 1: an answer is an object ({ status, body, … })",
      );
    },
  );
});

describe("routing", () => {
  test("outside every API's prefix", async () => {
    const res = await fetch(`${mock.url}/v1.0/contact/dingIndexs`);
    expect(res.status).toBe(404);
    const message = String(((await res.json()) as Json).message);
    // Every API of the registry, in the order of their titles: DingTalk need not come first.
    expect(message).toMatch(/^imspec mock: no API at \/v1\.0\/contact\/dingIndexs; \S.* is under \/\S+, /);
    expect(message).toMatch(/DingTalk (is )?under \/dingtalk/);
    expect(message).toContain("WorkPlus under /workplus");
    for (const api of APIS) expect(message).toContain(` under /${api}`);
    expect(last()).toMatchObject({ api: undefined, outcome: "not-found" });
  });

  test("DingTalk: unknown path or method → 404 InvalidAction.NotFound, as api.dingtalk.com answers", async () => {
    for (const [method, target] of [
      ["GET", "/v1.0/contact/nothing"],
      ["PUT", "/v1.0/contact/dingIndexs"],
    ] as const) {
      const res = await call("dingtalk", method, target);
      expect(res).toMatchObject({ status: 404, body: { code: "InvalidAction.NotFound" } });
    }
  });

  test("WorkPlus: unknown path → 404", async () => {
    const res = await call("workplus", "GET", "/v1/nothing");
    expect(res).toMatchObject({ status: 404, body: { status: 404 } });
  });

  test("a path that starts with two slashes is read as a path, not as a host and a path", async () => {
    const headers = { "x-acs-dingtalk-access-token": token };
    const doubled = await fetch(`${mock.url}//dingtalk/v1.0/contact/dingIndexs`, { headers });
    expect(doubled.status).toBe(404);
    expect(((await doubled.json()) as Json).message).toMatch(
      /^imspec mock: no API at \/\/dingtalk\/v1\.0\/contact\/dingIndexs; .*DingTalk (is )?under \/dingtalk/,
    );
    const hosted = await fetch(`${mock.url}//other/dingtalk/v1.0/contact/dingIndexs`, { headers });
    expect(hosted.status).toBe(404);
    expect(last()).toMatchObject({
      api: undefined,
      path: "//other/dingtalk/v1.0/contact/dingIndexs",
      outcome: "not-found",
    });
  });

  test("a request target no URL can be made of is a 400, not the 500 of the mock's own faults", async () => {
    const { port } = new URL(mock.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () =>
        socket.end("GET http://[::1/x HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"),
      );
      let text = "";
      socket.on("data", (chunk) => {
        text += chunk.toString("latin1");
      });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain("imspec mock: the request target is not a path or a URL");
  });

  test("a path that does not percent-decode names no operation: the API's own 404, not a crash", async () => {
    const dingtalk = await call("dingtalk", "GET", "/v1.0/contact/users/%E0%A4%A");
    expect(dingtalk).toMatchObject({ status: 404, body: { code: "InvalidAction.NotFound" } });
    const workplus = await call("workplus", "GET", "/v1/apps/%E0%A4%A/scope-views");
    expect(workplus).toMatchObject({ status: 404, body: { status: 404 } });
    expect(last()).toMatchObject({ api: "workplus", outcome: "not-found" });
  });
});

describe("records and counts", () => {
  test("count() and tokenRequests() count every request routed to an operation, valid or not", async () => {
    const fresh = await startMockServer({ keepRequests: 2 });
    try {
      const wrong = await fetch(`${fresh.urls.dingtalk}/v1.0/oauth2/accessToken`, { method: "POST" });
      expect(wrong.status).toBe(400);
      const client = createDingTalk({
        rateLimit: false,
        baseUrl: fresh.urls.dingtalk,
        appKey: "a",
        appSecret: "b",
      });
      await client.contact.getLatestDingIndex();
      await client.contact.getLatestDingIndex();
      expect(fresh.count("dingtalk", "getAccessToken")).toBe(2);
      expect(fresh.tokenRequests("dingtalk")).toBe(2);
      expect(fresh.tokenRequests("workplus")).toBe(0);
      expect(fresh.count("dingtalk")).toBe(4);
      expect(fresh.requests.map((r) => r.operationId)).toEqual(["getLatestDingIndex", "getLatestDingIndex"]);
      fresh.reset();
      expect(fresh.tokenRequests()).toBe(0);
      expect(fresh.requests).toEqual([]);
      // The tokens went too: the client's token is refused, so it fetches a new one and replays.
      await expect(client.contact.getLatestDingIndex({}, { retry: false })).resolves.toBeDefined();
      expect(fresh.tokenRequests("dingtalk")).toBe(1);
      expect(fresh.requests.at(-1)).toMatchObject({ operationId: "getLatestDingIndex", outcome: "answered" });
    } finally {
      await fresh.stop();
    }
  });

  test("the bodies kept are bounded in size as the requests are in number: big bodies cannot exhaust the heap", async () => {
    // 1 000 bodies just under the 1 MiB cap each, all kept, held a GiB: enough to end a mock whose
    // heap is smaller (a container's). 80 of them show the bound without sending the GiB.
    const fresh = await startMockServer({});
    try {
      const big = "a".repeat(1 << 20);
      for (let i = 0; i < 80; i += 8)
        await Promise.all(
          Array.from({ length: 8 }, (_, j) =>
            fetch(`${fresh.urls.dingtalk}/v1.0/oauth2/accessToken`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: `"${i + j}${big}"`.slice(0, (1 << 20) - 8),
            }).then((res) => res.arrayBuffer()),
          ),
        );
      const kept = fresh.requests.reduce((sum, r) => sum + r.body.length, 0);
      expect(kept).toBeLessThanOrEqual(64 << 20);
      // The newest are the ones kept, whole; every request still counted.
      expect(fresh.requests.at(-1)?.body.length).toBe((1 << 20) - 8);
      expect(fresh.count("dingtalk", "getAccessToken")).toBe(80);
      // Small bodies are kept by the number again once the big ones are cleared.
      fresh.clearRequests();
      await fetch(`${fresh.urls.dingtalk}/v1.0/oauth2/accessToken`, { method: "POST", body: "{}" });
      expect(fresh.requests).toHaveLength(1);
    } finally {
      await fresh.stop();
    }
  });

  test("onRequest sees each answered request", async () => {
    const seen: string[] = [];
    const fresh = await startMockServer({
      onRequest: (r) => seen.push(`${r.method} ${r.api}${r.path} ${r.status} ${r.outcome}`),
    });
    try {
      await fetch(`${fresh.urls.workplus}/v1/apps/x/admins`);
      expect(seen).toEqual(["GET workplus/v1/apps/x/admins 200 unauthorized"]);
    } finally {
      await fresh.stop();
    }
  });

  test("an onRequest that rejects does not end the process, and the answer stands", async () => {
    const unhandled: unknown[] = [];
    const seen = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", seen);
    const fresh = await startMockServer({
      onRequest: async () => {
        throw new Error("listener bug");
      },
    });
    try {
      const res = await fetch(`${fresh.urls.workplus}/v1/apps/x/admins`);
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", seen);
      await fresh.stop();
    }
  });

  test.each([
    ["empty", ""],
    ["blank", "  "],
    ["not a string", 0],
  ])("a host that is %s is refused: node:http would listen on every interface", async (_name, host) => {
    await expect(startMockServer({ host: host as string })).rejects.toThrow(
      "imspec mock: host must name an interface (default 127.0.0.1), not be empty",
    );
  });

  test.each([
    ["a name", "abc"],
    ["negative", -1],
    ["past 65535", 70_000],
    ["not an integer", 1.5],
  ])(
    "a port that is %s is refused: node:http would take a name for a Unix socket's path",
    async (_name, port) => {
      await expect(startMockServer({ port: port as number })).rejects.toThrow(
        "imspec mock: port must be an integer from 0 to 65535 (0 picks a free one)",
      );
    },
  );

  test.each([
    ["NaN", Number.NaN],
    ["negative", -1],
    ["not whole", 2.5],
  ])("keepRequests that is %s is refused: NaN kept every request", async (_name, keepRequests) => {
    await expect(startMockServer({ keepRequests })).rejects.toThrow(
      "imspec mock: keepRequests must be a whole number of requests, 0 or more",
    );
  });

  test.each([
    ["NaN", Number.NaN, ""],
    ["Infinity", Number.POSITIVE_INFINITY, ""],
    ["0", 0, ""],
    ["negative, for one API", { workplus: -5 }, ".workplus"],
  ])(
    "a token lifetime that is %s is refused: answered, it said expires_in null or issued dead tokens",
    async (_name, tokenLifetimeSeconds, where) => {
      await expect(startMockServer({ tokenLifetimeSeconds })).rejects.toThrow(
        `imspec mock: tokenLifetimeSeconds${where} must be a positive number of seconds`,
      );
    },
  );

  test.each([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["negative", -1],
  ])(
    "issueToken with a lifetime that is %s is refused; 0 is a token expired at once",
    async (_name, lifetimeSeconds) => {
      expect(() => mock.issueToken("dingtalk", { lifetimeSeconds })).toThrow(
        "imspec mock: issueToken: lifetimeSeconds must be a number of seconds from 0",
      );
      const expired = mock.issueToken("dingtalk", { lifetimeSeconds: 0 });
      const res = await fetch(`${mock.urls.dingtalk}/v1.0/contact/dingIndexs`, {
        headers: { "x-acs-dingtalk-access-token": expired },
      });
      expect(res.status).toBe(400); // DingTalk's InvalidAuthentication
    },
  );

  test("stop() ends a pending delayed answer and frees the port", async () => {
    const fresh = await startMockServer();
    const client = createDingTalk({
      rateLimit: false,
      baseUrl: fresh.urls.dingtalk,
      accessToken: fresh.issueToken("dingtalk"),
      retry: false,
    });
    fresh.script("dingtalk", "getLatestDingIndex", { delayMs: 60_000 });
    const pending = client.contact.getLatestDingIndex().catch((e: unknown) => e);
    while (fresh.count("dingtalk", "getLatestDingIndex") === 0) await new Promise((r) => setImmediate(r));
    await fresh.stop();
    expect(await pending).toBeInstanceOf(ConnectionError);
  });
});

describe("the bundled specs are found from src/ and from the dist/ layouts", () => {
  test.each([
    ["/pkg/src/mock", "/pkg/generated/dingtalk/openapi.json"],
    ["/pkg/dist/src/mock", "/pkg/dist/generated/dingtalk/openapi.json"],
    ["/pkg/dist/cjs/src/mock", "/pkg/dist/generated/dingtalk/openapi.json"],
  ])("from %s", (from, wanted) => {
    expect(specCandidates("dingtalk", path.normalize(from))).toContain(path.normalize(wanted));
  });
});
