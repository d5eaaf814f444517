/**
 * Contract of every `apps` operation: called through the generated client method against the mock,
 * which checks the request (and its `access_token`) against the spec; the answer the client accepted
 * matches the response schema; the typed result equals the example's `result`; each documented
 * `error…` example becomes a WorkPlusError with its envelope status.
 */
import { INVALID_REQUEST_CODE, type MockServer, startMockServer } from "imspec/mock";
import { createWorkPlus, type WorkPlus, WorkPlusError } from "imspec/workplus";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { contract } from "./support.js";

const APP_ID = "92bc3faa-12bd-4afc-9962-01f2410f0bee";
let mock: MockServer;
let wp: WorkPlus;
const current = () => mock;

beforeAll(async () => {
  mock = await startMockServer();
  wp = createWorkPlus({
    baseUrl: mock.urls.workplus,
    domainId: "atwork",
    clientId: "contract-app",
    clientSecret: "contract-secret",
    orgId: "85939199-6424-4f28-84d4-fce2aedf0e64",
  });
});
afterAll(() => mock?.stop());

describe("apps.listScopeViews", () => {
  contract(current, "workplus", "listScopeViews", (o) =>
    wp.apps.listScopeViews({ appId: APP_ID, org_id: "312", source_type: "NATIVE" }, o),
  );
});

describe("apps.listAdmins", () => {
  contract(current, "workplus", "listAdmins", (o) => wp.apps.listAdmins({ appId: APP_ID, name: "XXX" }, o));

  test("a source_type outside the enum is refused with HTTP 200 and an envelope naming it", async () => {
    const token = await wp.appToken.get();
    const res = await fetch(
      `${mock.urls.workplus}/v1/apps/${APP_ID}/admins?source_type=OTHER&access_token=${token}`,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: number; message: string };
    expect(body.status).toBe(INVALID_REQUEST_CODE);
    expect(body.message).toMatch(/source_type/);
  });
});

describe("apps.listSuperAdmins", () => {
  contract(current, "workplus", "listSuperAdmins", (o) =>
    wp.apps.listSuperAdmins({ appId: APP_ID, source_type: "ISV" }, o),
  );

  test("a client-wide sourceType reaches the request", async () => {
    const isv = createWorkPlus({
      baseUrl: mock.urls.workplus,
      accessToken: mock.issueToken("workplus"),
      sourceType: "ISV",
    });
    await isv.apps.listSuperAdmins({ appId: APP_ID });
    const request = mock.requests.findLast((r) => r.operationId === "listSuperAdmins");
    expect(request?.query.get("source_type")).toBe("ISV");
  });

  test("a business status scripted for one call becomes a WorkPlusError", async () => {
    mock.script("workplus", "listSuperAdmins", { error: 202012 });
    const error = await wp.apps.listSuperAdmins({ appId: APP_ID }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkPlusError);
    expect(error).toMatchObject({
      code: 202012,
      status: 200,
      message: expect.stringMatching(/没有对应的雇员/),
    });
  });
});
