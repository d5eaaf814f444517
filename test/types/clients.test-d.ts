import type { paths as DingTalkPaths } from "imspec/dingtalk";
import { type APIPromise, createDingTalk, DingTalkError, type PageOptions } from "imspec/dingtalk";
import { rawClient } from "imspec/raw";
import { createWorkPlus, statusCodes } from "imspec/workplus";
import { assertType, describe, expectTypeOf, it } from "vitest";
import type { SuccessBranch } from "../../generated/wecom/operations.js";
import type { EnvelopeResult } from "../../generated/workplus/operations.js";
import type { MethodGroups } from "../../src/core/methods.js";

const dt = createDingTalk({ appKey: "k", appSecret: "s" });
const wp = createWorkPlus({
  baseUrl: "https://im.example.cn",
  domainId: "d",
  clientId: "c",
  clientSecret: "s",
  orgId: "o",
});

describe("DingTalk method types", () => {
  it("takes the spec's parameters and returns the spec's success body", () => {
    const call = dt.contact.listSeniorSettings({ seniorStaffId: "u1" });
    expectTypeOf(call).toEqualTypeOf<
      APIPromise<{
        seniorStaffId?: string;
        protectScenes?: Array<
          | "DING_SMS"
          | "DING_MSG"
          | "CHAT"
          | "CONFERENCE_VIDEO"
          | "CONFERENCE"
          | "VIDEO_CALL"
          | "CONFERENCE_VOIP"
          | "CALL"
          | "SEARCH"
          | "CALL_CENTER"
          // An open enum (x-imspec-open-enum): the day DingTalk adds a scene, it still type-checks.
          | (string & {})
        >;
        seniorWhiteList?: Array<{ id?: string; type?: 1 | 2 | 3 | (number & {}); name?: string }>;
      }>
    >;
    expectTypeOf<Awaited<typeof call>>().toHaveProperty("seniorWhiteList");
    expectTypeOf(dt.contact.getLatestDingIndex)
      .parameter(0)
      .toEqualTypeOf<Record<string, never> | undefined>();
    expectTypeOf(dt.contact.updateSeniorSetting).returns.toEqualTypeOf<APIPromise<void>>();
    expectTypeOf(dt.contact.updateEmpAttributeVisibilitySetting({})).resolves.toHaveProperty("result");
  });

  it("rejects wrong and missing parameters", () => {
    // @ts-expect-error seniorStaffId is required
    dt.contact.listSeniorSettings({});
    // @ts-expect-error seniorStaffId is a string
    dt.contact.listSeniorSettings({ seniorStaffId: 42 });
    // @ts-expect-error unknown parameter name
    dt.contact.listSeniorSettings({ seniorStaffId: "u", seniorStaff: "x" });
    // @ts-expect-error open is required in the body
    dt.contact.updateSeniorSetting({ seniorStaffId: "u" });
    // @ts-expect-error protectScenes takes scene names (open: any string), not numbers
    dt.contact.updateSeniorSetting({ seniorStaffId: "u", open: true, protectScenes: [42] });
    // @ts-expect-error maxResults is a number
    dt.contact.listEmpAttributeVisibility({ maxResults: "100" });
    // @ts-expect-error no such method
    dt.contact.listSeniorSetting;
    // @ts-expect-error getLatestDingIndex takes no parameter: a name given is a mistake, not ignored
    dt.contact.getLatestDingIndex({ deptId: 1 });
    assertType(dt.contact.getLatestDingIndex({}));
    assertType(
      dt.contact.updateSeniorSetting({
        seniorStaffId: "u",
        open: false,
        permitDeptIds: [1, 2],
        protectScenes: ["CHAT"],
      }),
    );
  });

  it("takes undefined for an optional parameter (exactOptionalPropertyTypes), never for a required one", () => {
    // The client sends no member whose value is undefined: typed so, a value that may be absent passes.
    const maxResults = [100, undefined][Math.floor(Math.random() * 2)];
    assertType(dt.contact.listEmpAttributeVisibility({ maxResults }));
    assertType(dt.contact.listEmpAttributeVisibility.iterate({ maxResults }));
    // @ts-expect-error seniorStaffId is required: undefined is no value
    dt.contact.listSeniorSettings({ seniorStaffId: undefined });
    assertType(dt.contact.updateSeniorSetting({ seniorStaffId: "u", open: true, protectScenes: undefined }));
    // @ts-expect-error open is required in the body
    dt.contact.updateSeniorSetting({ seniorStaffId: "u", open: undefined });
    // An open body (additionalProperties: `[key: string]: …`) loosens its named members too.
    type Open = {
      params: { q?: string } & { name: string; note?: string; [key: string]: unknown };
      result: unknown;
    };
    const open = {} as MethodGroups<{ things: { tagThing: Open } }, { tagThing: { readonly token: "none" } }>;
    const maybe = [undefined, "x"][Math.floor(Math.random() * 2)];
    assertType(open.things.tagThing({ name: "n", q: maybe, note: maybe, color: "red" }));
    // @ts-expect-error name is required: undefined is no value
    open.things.tagThing({ name: maybe });
  });

  it("requires the accessToken of an operation that takes a user token, as the client does", () => {
    // @ts-expect-error getUser takes a user token: without options it is a ConfigError at run time
    dt.contact.getUser({ unionId: "me" });
    // @ts-expect-error options without accessToken are refused too
    dt.contact.getUser({ unionId: "me" }, { timeout: 5_000 });
    assertType(dt.contact.getUser({ unionId: "me" }, { accessToken: async () => "user-token" }));
    // Operations that take the app token keep their options optional.
    assertType(dt.contact.listSeniorSettings({ seniorStaffId: "u" }));
  });

  it("types paginated items and per-call options", () => {
    const items = dt.contact.listEmpAttributeVisibility.iterate({ maxResults: 100 });
    expectTypeOf(items).toEqualTypeOf<
      AsyncIterableIterator<
        NonNullable<Awaited<ReturnType<typeof dt.contact.listEmpAttributeVisibility>>["list"]>[number]
      >
    >();
    assertType(
      dt.contact.getUser(
        { unionId: "me" },
        {
          accessToken: "user-token",
          timeout: 5_000,
          retry: { maxAttempts: 2 },
          signal: AbortSignal.timeout(1000),
        },
      ),
    );
    // @ts-expect-error timeout is a number of ms
    dt.contact.getUser({ unionId: "me" }, { timeout: "5s" });
    // A listing's options are exported, for a wrapper that passes them on.
    expectTypeOf(dt.contact.listEmpAttributeVisibility.pages)
      .parameter(1)
      .toEqualTypeOf<PageOptions | undefined>();
    expectTypeOf<PageOptions["maxEmptyPages"]>().toEqualTypeOf<number | undefined>();
  });

  it("exposes typed errors and the raw client", async () => {
    const err = new DingTalkError({ status: 400, code: "parameter.error", message: "m" });
    expectTypeOf(err.code).toEqualTypeOf<string | undefined>();
    expectTypeOf(err.requestId).toEqualTypeOf<string | undefined>();
    expectTypeOf(err.status).toEqualTypeOf<number>();
    const raw = await rawClient<DingTalkPaths>(dt).GET("/v1.0/contact/seniorSettings", {
      params: { query: { seniorStaffId: "u" } },
    });
    // The same body as the method's result, field by field: openapi-fetch's response types rewrite an
    // open enum's `string & {}` member, so the whole types are no longer identical.
    type Method = Awaited<ReturnType<typeof dt.contact.listSeniorSettings>>;
    type Raw = NonNullable<typeof raw.data>;
    expectTypeOf<Raw["seniorStaffId"]>().toEqualTypeOf<Method["seniorStaffId"]>();
    expectTypeOf<NonNullable<Raw["seniorWhiteList"]>[number]["name"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<"CHAT">().toExtend<NonNullable<Raw["protectScenes"]>[number]>();
    // @ts-expect-error not a path of the spec
    rawClient<DingTalkPaths>(dt).GET("/v1.0/contact/nothing");
  });
});

describe("DingTalk client options", () => {
  it("takes one whole token source, or none", () => {
    assertType(createDingTalk());
    assertType(createDingTalk({ baseUrl: "https://api.dingtalk.com", clientId: "c", clientSecret: "s" }));
    assertType(createDingTalk({ accessToken: "t" }));
    assertType(createDingTalk({ suiteKey: "k", suiteSecret: "s", authCorpId: "c", suiteTicket: () => "t" }));
  });

  it("rejects part of a token source, which the client refuses with a ConfigError", () => {
    // @ts-expect-error appSecret is missing
    createDingTalk({ appKey: "k" });
    // @ts-expect-error an appSecret that may be undefined (an unset environment variable)
    createDingTalk({ appKey: "k", appSecret: undefined as string | undefined });
    // @ts-expect-error suiteTicket is missing
    createDingTalk({ suiteKey: "k", suiteSecret: "s", authCorpId: "c" });
  });
});

describe("WorkPlus method types", () => {
  it("returns the unwrapped result", () => {
    expectTypeOf(wp.apps.listAdmins({ appId: "a" })).resolves.toHaveProperty("total_counts");
    expectTypeOf(wp.apps.listScopeViews({ appId: "a" })).resolves.toBeArray();
    expectTypeOf(statusCodes.TOKEN_NOT_FOUND).toEqualTypeOf<10011>();
  });

  it("rejects wrong parameters", () => {
    // @ts-expect-error appId is required
    wp.apps.listAdmins({});
    // @ts-expect-error source_type is NATIVE or ISV
    wp.apps.listAdmins({ appId: "a", source_type: "OTHER" });
    assertType(wp.apps.listAdmins({ appId: "a", name: "li", source_type: "ISV" }));
  });

  it("requires credentials with orgId or ownerId", () => {
    // @ts-expect-error baseUrl is required for a self-hosted API
    createWorkPlus({ domainId: "d", clientId: "c", clientSecret: "s", orgId: "o" });
    // @ts-expect-error orgId and ownerId are exclusive
    createWorkPlus({
      baseUrl: "https://x",
      domainId: "d",
      clientId: "c",
      clientSecret: "s",
      orgId: "o",
      ownerId: "d",
    });
  });
});

describe("the success branch of an envelope body (generated SuccessBranch)", () => {
  type Error = { errcode: number; errmsg: string };
  it("keeps the branch whose status is exactly the success value, drops the error branch", () => {
    type Ok = { errcode?: 0; errmsg?: string; userid: string };
    expectTypeOf<SuccessBranch<Ok | Error, "errcode", 0, true>>().toEqualTypeOf<Ok>();
    expectTypeOf<SuccessBranch<(Ok & { extra: 1 }) | Error, "errcode", 0, false>>().toEqualTypeOf<
      Ok & { extra: 1 }
    >();
  });

  it("keeps a branch without the status field only where the envelope lets the status be left out", () => {
    // Extract<Body, { errcode?: 0 }> gives never for it: a type with only optional fields is no match for one without them.
    type Bare = { department_id: number[] };
    type Listed = { errcode?: 0; department_id: number[] };
    expectTypeOf<SuccessBranch<Bare | Error, "errcode", 0, true>>().toEqualTypeOf<Bare>();
    expectTypeOf<SuccessBranch<Bare | Listed | Error, "errcode", 0, false>>().toEqualTypeOf<Listed>();
  });

  it("drops a branch whose status may be another value; with no success branch, the whole body", () => {
    type Maybe = { status: 0 | 5; result: string };
    type Exact = { status: 0; result: number };
    expectTypeOf<SuccessBranch<Maybe | Exact, "status", 0, false>>().toEqualTypeOf<Exact>();
    // One object whose status is read at run time (`ok: 0 | 1`, an integer): the client returns it.
    expectTypeOf<SuccessBranch<Maybe, "status", 0, false>>().toEqualTypeOf<Maybe>();
    expectTypeOf<SuccessBranch<{ status: number; result: string }, "status", 0, false>>().toEqualTypeOf<{
      status: number;
      result: string;
    }>();
  });
});

describe("the result field of an envelope's success (generated EnvelopeResult)", () => {
  it("is the success branch's result field, the error branch dropped", () => {
    type Ok = { status: 0; message: string; result: { id: string } };
    type Failed = { status: number; message: string; result?: unknown };
    expectTypeOf<EnvelopeResult<SuccessBranch<Ok | Failed, "status", 0, false>, "result">>().toEqualTypeOf<{
      id: string;
    }>();
  });

  it("is undefined for a body that declares no result field, as the client reads it, never a type error", () => {
    // One object whose status is any integer: SuccessBranch gives the whole body, which has no `result`.
    type Bare = { status: number; message: string };
    expectTypeOf<
      EnvelopeResult<SuccessBranch<Bare, "status", 0, false>, "result">
    >().toEqualTypeOf<undefined>();
    expectTypeOf<
      EnvelopeResult<
        SuccessBranch<{ status: 0; result: string } | { status: 0 }, "status", 0, false>,
        "result"
      >
    >().toEqualTypeOf<string | undefined>();
  });

  it("is unknown for a body of unknown shape (a schema of `{}`)", () => {
    expectTypeOf<
      EnvelopeResult<SuccessBranch<unknown, "status", 0, false>, "result">
    >().toEqualTypeOf<unknown>();
  });
});

describe("the paginators of an operation (generated MethodGroups)", () => {
  type Listing = {
    params: { deptId: number; cursor: string; size?: number };
    result: { items?: string[]; next?: string };
  };
  type Row<Token extends string> = {
    readonly token: Token;
    readonly pagination: { readonly cursorParam: "cursor"; readonly itemsField: "items" };
  };
  const app = {} as MethodGroups<{ dept: { list: Listing } }, { list: Row<"app"> }>;
  const user = {} as MethodGroups<{ dept: { list: Listing } }, { list: Row<"user"> }>;

  it("require the params the method requires, as a listing without them cannot be sent either", () => {
    // @ts-expect-error deptId is required: the method refuses to compile without it, so do its paginators
    app.dept.list.pages();
    // @ts-expect-error deptId is required
    app.dept.list.iterate(undefined, { timeout: 1 });
    // @ts-expect-error deptId is required
    app.dept.list.iterate({ size: 10 });
    // @ts-expect-error deptId is required
    user.dept.list.pages({ size: 10 }, { accessToken: "t" });
  });

  it("leave the cursor out: the listing starts from the first page (or the spec's firstCursor)", () => {
    assertType(app.dept.list.pages({ deptId: 1 }));
    assertType(app.dept.list.iterate({ deptId: 1, cursor: "c" }, { maxEmptyPages: 3 }));
    assertType(user.dept.list.iterate({ deptId: 1 }, { accessToken: "t" }));
    // @ts-expect-error the cursor is a string
    app.dept.list.pages({ deptId: 1, cursor: 1 });
    // @ts-expect-error unknown parameter name
    app.dept.list.pages({ deptId: 1, depth: 2 });
    // The method itself still takes the params as the spec says them.
    // @ts-expect-error cursor is required in a single call
    app.dept.list({ deptId: 1 });
    expectTypeOf(app.dept.list.iterate({ deptId: 1 })).toEqualTypeOf<AsyncIterableIterator<string>>();
  });
});
