/**
 * Contract of the `auth` operation (the app token), and the token behaviour the mock makes real:
 * an app holds one token at a time, so a new one invalidates the previous one, and a refused token
 * answers 10011 "token not found." with HTTP 200.
 */
import { INVALID_REQUEST_CODE, type MockServer, startMockServer } from "imspec/mock";
import { createWorkPlus, MemoryTokenStore, type WorkPlus, WorkPlusError } from "imspec/workplus";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { contract, expectMatchesSchema, expectValidRequest } from "./support.js";

const APP_ID = "92bc3faa-12bd-4afc-9962-01f2410f0bee";
let mock: MockServer;
let wp: WorkPlus;
const current = () => mock;
let clock = Date.now();

const credentials = {
  grant_type: "client_credentials",
  scope: "app",
  domain_id: "atwork",
  client_id: "92bc3faa-12bd-4afc-9962-01f2410f0bee",
  client_secret: "5tAkUIt1rrnP0WNLg7BWYuuqwzn3xRoO",
} as const;

function client(clientId: string, baseUrl = mock.urls.workplus): WorkPlus {
  return createWorkPlus({
    baseUrl,
    domainId: "atwork",
    clientId,
    clientSecret: "secret",
    orgId: "org",
    // Each client its own store: two processes of the same app, not one shared cache.
    tokenStore: new MemoryTokenStore(),
  });
}

beforeAll(async () => {
  mock = await startMockServer({ now: () => clock });
  wp = client("contract-app");
});
afterAll(() => mock?.stop());

describe("auth.getAccessToken", () => {
  contract(
    current,
    "workplus",
    "getAccessToken",
    (o) => wp.auth.getAccessToken({ ...credentials, org_id: "85939199-6424-4f28-84d4-fce2aedf0e64" }, o),
    { requestExample: "orgApp" },
  );

  test("the domain-app form matches the spec's domainApp example", async () => {
    await wp.auth.getAccessToken(
      { ...credentials, owner_id: "atwork" },
      { headers: { Prefer: "example=ok" } },
    );
    const request = expectValidRequest(mock, "workplus", "getAccessToken");
    expect(JSON.parse(request.body)).toEqual({ ...credentials, owner_id: "atwork" });
  });

  test("issues a token valid for 30 days that the other operations accept", async () => {
    const { data, response } = await wp.auth
      .getAccessToken({ ...credentials, client_id: "issuing", org_id: "o" })
      .withResponse();
    await expectMatchesSchema("workplus", "getAccessToken", response);
    expect(data.access_token).toMatch(/^[0-9a-f]{32}$/);
    expect(data.refresh_token).toBe(data.access_token);
    expect(data.client_id).toBe("issuing");
    expect(Number(data.expire_time) - Number(data.issued_time)).toBe(30 * 24 * 3600_000);
    const other = createWorkPlus({ baseUrl: mock.urls.workplus, accessToken: String(data.access_token) });
    await expect(other.apps.listAdmins({ appId: APP_ID })).resolves.toMatchObject({ total_counts: 1 });
  });

  test("a new token invalidates the previous one of the same app", async () => {
    const body = { ...credentials, client_id: "one-app", org_id: "o" };
    const first = await wp.auth.getAccessToken(body);
    const other = await wp.auth.getAccessToken({ ...body, client_id: "another-app" });
    const second = await wp.auth.getAccessToken(body);
    expect(second.access_token).not.toBe(first.access_token);
    const call = (token: unknown) =>
      createWorkPlus({ baseUrl: mock.urls.workplus, accessToken: String(token) }).apps.listAdmins({
        appId: APP_ID,
      });
    await expect(call(first.access_token)).rejects.toMatchObject({ code: 10011, status: 200 });
    await expect(call(second.access_token)).resolves.toBeDefined();
    await expect(call(other.access_token)).resolves.toBeDefined();
  });

  test("two clients of one app: the replaced one gets 10011 and recovers with a new token", async () => {
    const a = client("shared-app");
    const b = client("shared-app");
    await a.apps.listAdmins({ appId: APP_ID });
    await b.apps.listAdmins({ appId: APP_ID });
    const before = mock.tokenRequests("workplus");
    await expect(a.apps.listAdmins({ appId: APP_ID })).resolves.toBeDefined();
    expect(mock.tokenRequests("workplus") - before).toBe(1);
    const refused = mock.requests.filter(
      (r) => r.operationId === "listAdmins" && r.outcome === "unauthorized",
    );
    expect(refused.length).toBeGreaterThan(0);
  });

  test("a client makes exactly 1 token request for many calls", async () => {
    const c = client("once");
    const before = mock.tokenRequests("workplus");
    await Promise.all([c.apps.listAdmins({ appId: APP_ID }), c.apps.listScopeViews({ appId: APP_ID })]);
    await c.apps.listSuperAdmins({ appId: APP_ID });
    expect(mock.tokenRequests("workplus") - before).toBe(1);
  });

  test("an expired token answers 10011 with HTTP 200", async () => {
    const short = await startMockServer({ now: () => clock, tokenLifetimeSeconds: { workplus: 60 } });
    try {
      const token = mock.issueToken("workplus");
      expect(token).toMatch(/^[0-9a-f]{32}$/);
      const issued = await client("short", short.urls.workplus).auth.getAccessToken({
        ...credentials,
        org_id: "o",
      });
      expect(Number(issued.expire_time) - Number(issued.issued_time)).toBe(60_000);
      const call = () =>
        createWorkPlus({
          baseUrl: short.urls.workplus,
          accessToken: String(issued.access_token),
        }).apps.listAdmins({ appId: APP_ID }, { retry: false });
      await expect(call()).resolves.toBeDefined();
      clock += 60_000;
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkPlusError);
      expect(error).toMatchObject({
        code: 10011,
        status: 200,
        message: expect.stringMatching(/token not found/),
      });
    } finally {
      await short.stop();
    }
  });

  test("a call without access_token answers 10011", async () => {
    const res = await fetch(`${mock.urls.workplus}/v1/apps/${APP_ID}/admins`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 10011, message: "token not found." });
  });

  test("neither org_id nor owner_id: refused, naming them", async () => {
    const error = await wp.auth.getAccessToken({ ...credentials }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkPlusError);
    expect(error).toMatchObject({ code: INVALID_REQUEST_CODE, status: 200 });
    expect((error as WorkPlusError).message).toMatch(/org_id or owner_id is required/);
  });
});
