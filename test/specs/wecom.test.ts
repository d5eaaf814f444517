/**
 * The WeCom contacts spec (specs/wecom/) states the facts of the reference pages: six operations,
 * the gettoken token source (GET, corpid + corpsecret, 7200 s), errcode/errmsg beside the data, and
 * which errcodes mean an invalid token, throttling or a refusal a retry cannot change. The spec is
 * bundled here the way the generator bundles it, so the test does not depend on generated/.
 */
import path from "node:path";
import { bundle, loadConfig } from "@redocly/openapi-core";
import { beforeAll, describe, expect, it } from "vitest";
import { loadRegistry } from "../../scripts/lib/registry.js";
import { deref, type Json, METHODS, ROOT, validatorFor } from "../support/specs.js";

const ROOT_SPEC = "specs/wecom/openapi.yaml";

let doc: Json;
let validate: ReturnType<typeof validatorFor>;

beforeAll(async () => {
  const config = await loadConfig({ configPath: path.join(ROOT, "redocly.yaml") });
  const result = await bundle({
    ref: path.join(ROOT, ROOT_SPEC),
    config: config.forAlias("wecom"),
    dereference: false,
  });
  expect(result.problems.filter((p) => p.severity === "error")).toEqual([]);
  doc = result.bundle.parsed as Json;
  validate = validatorFor(doc);
});

interface Op {
  method: string;
  path: string;
  operation: Json;
}

function operations(): Op[] {
  const out: Op[] = [];
  for (const [p, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined;
      if (operation) out.push({ method: method.toUpperCase(), path: p, operation });
    }
  }
  return out;
}

function op(operationId: string): Op {
  const found = operations().find((o) => o.operation.operationId === operationId);
  if (!found) throw new Error(`no operation ${operationId}`);
  return found;
}

/** The 200 response's JSON media of an operation. */
function media(operationId: string): Json {
  const response = deref(doc, (op(operationId).operation.responses as Json)["200"]);
  return (response.content as Json)["application/json"] as Json;
}

/** Every property a schema declares, through `$ref`s and `allOf`. */
function propertiesOf(schema: unknown): Json {
  const node = deref(doc, schema);
  const own = { ...((node.properties as Json | undefined) ?? {}) };
  for (const part of (node.allOf as unknown[] | undefined) ?? []) Object.assign(own, propertiesOf(part));
  return own;
}

/** The branch of a response's `oneOf` that describes success (its errcode is `const: 0`). */
function successBranch(operationId: string): unknown {
  const branches = deref(doc, media(operationId).schema).oneOf as unknown[] | undefined;
  // WeCom answers errors with HTTP 200: its 200 body is either the data or the error envelope.
  expect(
    branches,
    `${operationId}: the 200 schema is a oneOf of a success branch (SuccessStatus and the data) and ErrorEnvelope`,
  ).toBeInstanceOf(Array);
  const success = (branches as unknown[]).filter(
    (b) => (deref(doc, propertiesOf(b).errcode) as Json).const === 0,
  );
  expect(success, `${operationId}: one success branch`).toHaveLength(1);
  return success[0];
}

function examples(operationId: string): Record<string, unknown> {
  const all = (media(operationId).examples as Json | undefined) ?? {};
  return Object.fromEntries(Object.entries(all).map(([name, ex]) => [name, deref(doc, ex).value]));
}

const errors = () => doc["x-imspec-errors"] as Json;
const statusCodes = () =>
  doc["x-imspec-status-codes"] as Array<{ status: number; name: string; message: string }>;
const sorted = (codes: unknown[]) => codes.map(String).sort();

describe("WeCom spec: registry and operations", () => {
  it("is registered in redocly.yaml with its root spec", async () => {
    const entry = (await loadRegistry()).find((api) => api.name === "wecom");
    expect(entry?.root).toBe(ROOT_SPEC);
  });

  it("has the reference's six operations, with their methods, paths and tags", () => {
    const got = operations().map(
      (o) => `${o.method} ${o.path} ${o.operation.operationId} ${(o.operation.tags as string[])[0]}`,
    );
    // The reference's six; an operation added to the spec later needs no edit here.
    expect(got).toEqual(
      expect.arrayContaining([
        "GET /cgi-bin/department/get getDepartment department",
        "GET /cgi-bin/department/simplelist listDepartmentIds department",
        "GET /cgi-bin/gettoken getAccessToken auth",
        "GET /cgi-bin/user/get getUser user",
        "POST /cgi-bin/user/getuserid getUserIdByMobile user",
        "POST /cgi-bin/user/list_id listUserIds user",
      ]),
    );
    expect(doc.servers).toEqual([expect.objectContaining({ url: "https://qyapi.weixin.qq.com" })]);
  });

  it("puts each request field where the docs say", () => {
    const query = (id: string) =>
      ((op(id).operation.parameters as unknown[]) ?? []).map((p) => deref(doc, p));
    const user = query("getUser");
    expect(user.map((p) => [p.name, p.in, p.required, (p.schema as Json).type])).toEqual([
      ["userid", "query", true, "string"],
    ]);
    expect(query("listDepartmentIds").map((p) => [p.name, p.required, (p.schema as Json).type])).toEqual([
      ["id", false, "integer"],
    ]);
    expect(query("getDepartment").map((p) => [p.name, p.required, (p.schema as Json).type])).toEqual([
      ["id", true, "integer"],
    ]);
    const body = (id: string) =>
      deref(
        doc,
        ((deref(doc, op(id).operation.requestBody).content as Json)["application/json"] as Json).schema,
      );
    const listBody = body("listUserIds");
    expect(Object.keys(listBody.properties as Json).sort()).toEqual(["cursor", "limit"]);
    expect(listBody.required ?? []).toEqual([]);
    expect((listBody.properties as Json).limit).toMatchObject({
      type: "integer",
      minimum: 1,
      maximum: 10000,
    });
    const mobileBody = body("getUserIdByMobile");
    expect(mobileBody.required).toEqual(["mobile"]);
    expect((mobileBody.properties as Json).mobile).toMatchObject({
      type: "string",
      minLength: 5,
      maxLength: 32,
    });
  });

  it("types userids as strings and department ids as integers", () => {
    const user = propertiesOf(successBranch("getUser"));
    expect((user.userid as Json).type).toBe("string");
    expect((user.department as Json).items).toEqual({ type: "integer" });
    const dept = propertiesOf(deref(doc, propertiesOf(successBranch("getDepartment")).department));
    expect([(dept.id as Json).type, (dept.parentid as Json).type]).toEqual(["integer", "integer"]);
    expect((dept.department_leader as Json).items).toEqual({ type: "string" });
    const rows = deref(doc, (propertiesOf(successBranch("listUserIds")).dept_user as Json).items);
    // Either shape of a row (userid, or open_userid in the third-party edition) types them alike.
    for (const shape of rows.anyOf as Json[]) {
      const row = deref(doc, shape);
      expect(((row.properties as Json).department as Json).type).toBe("integer");
      expect(((row.properties as Json).userid as Json).type).toBe("string");
      expect(((row.properties as Json).open_userid as Json).type).toBe("string");
    }
    expect((propertiesOf(successBranch("getUserIdByMobile")).userid as Json).type).toBe("string");
  });
});

describe("WeCom spec: the token", () => {
  it("gets it anonymously with GET /cgi-bin/gettoken?corpid=…&corpsecret=…", () => {
    const { method, path: p, operation } = op("getAccessToken");
    expect([method, p]).toEqual(["GET", "/cgi-bin/gettoken"]);
    expect(operation.security).toEqual([]);
    expect(operation.requestBody).toBeUndefined();
    const params = (operation.parameters as unknown[]).map((x) => deref(doc, x));
    expect(params.map((x) => [x.name, x.in, x.required]).sort()).toEqual([
      ["corpid", "query", true],
      ["corpsecret", "query", true],
    ]);
    const token = propertiesOf(successBranch("getAccessToken"));
    expect((token.access_token as Json).maxLength).toBe(512);
    expect((token.expires_in as Json).type).toBe("integer");
    expect(examples("getAccessToken").ok).toEqual({
      errcode: 0,
      errmsg: "ok",
      access_token: "accesstoken000001",
      expires_in: 7200,
    });
  });

  it("sends it as the access_token query parameter, and says how to get it (7200 s by default)", () => {
    const schemes = (doc.components as Json).securitySchemes as Json;
    expect(Object.keys(schemes)).toEqual(["accessToken"]);
    const scheme = schemes.accessToken as Json;
    expect([scheme.type, scheme.in, scheme.name, scheme["x-imspec-token-kind"]]).toEqual([
      "apiKey",
      "query",
      "access_token",
      "app",
    ]);
    expect(scheme["x-imspec-token"]).toEqual([
      {
        operation: "getAccessToken",
        options: { corpid: "corpId", corpsecret: "corpSecret" },
        secrets: ["corpSecret"],
        identifying: ["corpSecret"],
        token: "access_token",
        expires: { field: "expires_in", unit: "s" },
        defaultLifetime: 7200,
      },
    ]);
    expect(doc.security).toEqual([{ accessToken: [] }]);
    for (const { operation } of operations()) {
      if (operation.operationId !== "getAccessToken") expect(operation.security).toBeUndefined();
    }
  });
});

describe("WeCom spec: errcode and errmsg beside the data", () => {
  it("declares the envelope without a result field, a success without errcode allowed", () => {
    expect(doc["x-imspec-envelope"]).toEqual({
      statusField: "errcode",
      messageField: "errmsg",
      successStatus: 0,
      // Some endpoints leave errcode/errmsg out of a success (reference §1).
      statusOptional: true,
    });
  });

  it("gives every operation a success schema with errcode (const 0) and errmsg beside its data", () => {
    // The reference's data fields of its six operations; another operation is checked for the status.
    const data: Record<string, string[]> = {
      getAccessToken: ["access_token", "expires_in"],
      getUser: ["userid", "name", "department", "gender", "status"],
      listUserIds: ["next_cursor", "dept_user"],
      getUserIdByMobile: ["userid"],
      listDepartmentIds: ["department_id"],
      getDepartment: ["department"],
    };
    for (const { operation } of operations()) {
      const id = operation.operationId as string;
      const props = propertiesOf(successBranch(id));
      expect(Object.keys(props), id).toEqual(
        expect.arrayContaining(["errcode", "errmsg", ...(data[id] ?? [])]),
      );
      expect(deref(doc, props.errcode), id).toMatchObject({ type: "integer", const: 0 });
      expect(deref(doc, props.errmsg), id).toMatchObject({ type: "string" });
    }
  });

  it("shows, per operation, a documented success example and error examples answered with HTTP 200", () => {
    for (const { operation } of operations()) {
      const id = operation.operationId as string;
      const all = examples(id);
      const schema = media(id).schema;
      expect((all.ok as Json).errcode, id).toBe(0);
      const errorNames = Object.keys(all).filter((n) => n.startsWith("error"));
      expect(errorNames.length, id).toBeGreaterThan(0);
      const documented = operation["x-imspec-status-codes"] as number[];
      for (const [name, value] of Object.entries(all)) {
        expect(validate(schema, value), `${id} ${name}`).toEqual([]);
        if (!name.startsWith("error")) continue;
        const code = (value as Json).errcode as number;
        expect(code, `${id} ${name}`).not.toBe(0);
        expect(documented, `${id} ${name}`).toContain(code);
        // An error body must not pass for a success body.
        expect(validate(successBranch(id), value).length, `${id} ${name}`).toBeGreaterThan(0);
      }
    }
  });

  it("validates every request example too, and rejects bodies that break the schemas", () => {
    for (const id of ["listUserIds", "getUserIdByMobile"]) {
      const m = (deref(doc, op(id).operation.requestBody).content as Json)["application/json"] as Json;
      for (const [name, ex] of Object.entries(m.examples as Json))
        expect(validate(m.schema, deref(doc, ex).value), `${id} ${name}`).toEqual([]);
      expect(validate(m.schema, { limit: 0, mobile: "1" }).length, id).toBeGreaterThan(0);
    }
    expect(
      validate(media("getUser").schema, { errcode: 0, errmsg: "ok", department: ["1"] }).length,
    ).toBeGreaterThan(0);
    expect(validate(media("getUser").schema, { errcode: 60111 }).length).toBeGreaterThan(0);
  });

  it("accepts both shapes where the sources disagree", () => {
    const user = media("getUser").schema;
    // gender: a string in the documented example, a number in the text.
    expect(validate(user, { errcode: 0, errmsg: "ok", userid: "a", gender: "1" })).toEqual([]);
    expect(validate(user, { errcode: 0, errmsg: "ok", userid: "a", gender: 1 })).toEqual([]);
    // main_department: an integer in the examples, a string in WxJava.
    expect(validate(user, { errcode: 0, errmsg: "ok", main_department: "1" })).toEqual([]);
    // Some endpoints leave errcode/errmsg out on success (global error-code page).
    expect(validate(user, { userid: "zhangsan", name: "张三" })).toEqual([]);
    // list_id rows: userid (internal, 代开发) or open_userid (third-party edition), never neither.
    const page = media("listUserIds").schema;
    const body = (row: Json) => ({ errcode: 0, errmsg: "ok", next_cursor: "", dept_user: [row] });
    expect(validate(page, body({ userid: "zhangsan", department: 1 }))).toEqual([]);
    expect(validate(page, body({ open_userid: "woAAAAAAAA", department: 1 }))).toEqual([]);
    expect(validate(page, body({ department: 1 })).length).toBeGreaterThan(0);
  });
});

describe("WeCom spec: what each errcode means to a client", () => {
  it("refreshes the token on 40014, 42001 and 41001, and only on those", () => {
    expect(sorted((errors().tokenInvalid as Json).codes as unknown[])).toEqual(["40014", "41001", "42001"]);
    expect((errors().tokenInvalid as Json).statuses).toBeUndefined();
  });

  it("backs off and retries on -1 (system busy) and 45033 (concurrency), not on 45009", () => {
    expect(sorted(errors().throttled as unknown[])).toEqual(["-1", "45033"]);
  });

  it("never retries configuration, permission, not-found and frequency-block answers", () => {
    expect(sorted(errors().neverRetry as unknown[])).toEqual(
      sorted([
        40001, 40003, 40013, 40035, 40058, 45009, 46004, 48002, 48005, 48009, 60003, 60011, 60020, 60111,
        60123,
      ]),
    );
  });

  it("puts each code in one class, and documents every classified code", () => {
    const classes = [(errors().tokenInvalid as Json).codes, errors().throttled, errors().neverRetry].map(
      (c) => (c as unknown[]).map(String),
    );
    const all = classes.flat();
    expect(new Set(all).size).toBe(all.length);
    const documented = new Set(statusCodes().map((c) => String(c.status)));
    expect(all.filter((c) => !documented.has(c))).toEqual([]);
  });

  it("reads code and message from errcode/errmsg, and claims no request id", () => {
    expect(errors().code).toEqual(["errcode"]);
    expect(errors().message).toEqual(["errmsg"]);
    expect(errors().requestId).toBeUndefined();
    expect(errors().requestIdHeader).toBeUndefined();
  });

  it("documents the errcodes with unique names, and each operation's codes among them", () => {
    const byStatus = new Map(statusCodes().map((c) => [c.status, c.name]));
    expect(byStatus.size).toBe(statusCodes().length);
    expect(new Set(statusCodes().map((c) => c.name)).size).toBe(statusCodes().length);
    expect(
      Object.fromEntries(
        [-1, 40001, 40014, 41001, 42001, 45009, 45033, 60011, 60020, 60111, 701105].map((s) => [
          s,
          byStatus.get(s),
        ]),
      ),
    ).toEqual({
      "-1": "SYSTEM_BUSY",
      "40001": "INVALID_SECRET",
      "40014": "INVALID_ACCESS_TOKEN",
      "41001": "ACCESS_TOKEN_MISSING",
      "42001": "ACCESS_TOKEN_EXPIRED",
      "45009": "API_FREQ_OUT_OF_LIMIT",
      "45033": "API_CONCURRENCY_OUT_OF_LIMIT",
      "60011": "NO_PRIVILEGE",
      "60020": "UNTRUSTED_IP",
      "60111": "USERID_NOT_FOUND",
      "701105": "INVALID_CURSOR",
    });
    for (const { operation } of operations()) {
      const codes = operation["x-imspec-status-codes"] as number[];
      expect(codes.length, operation.operationId as string).toBeGreaterThan(0);
      expect(
        codes.filter((c) => !byStatus.has(c)),
        operation.operationId as string,
      ).toEqual([]);
    }
    expect(op("getAccessToken").operation["x-imspec-status-codes"]).toEqual(
      expect.arrayContaining([40001, 40013, 41002, 41004]),
    );
    expect(op("getUser").operation["x-imspec-status-codes"]).toEqual(
      expect.arrayContaining([60111, 60011, 48009]),
    );
    expect(op("getUserIdByMobile").operation["x-imspec-status-codes"]).toEqual(
      expect.arrayContaining([46004]),
    );
  });
});

describe("WeCom spec: rate limits and pagination", () => {
  it("declares the per-corp and per-IP, per-API budgets on the contacts operations and none on gettoken", () => {
    expect(doc["x-imspec-rate-limits"]).toBeUndefined();
    expect(op("getAccessToken").operation["x-imspec-rate-limits"]).toBeUndefined();
    for (const id of ["getUser", "listUserIds", "getUserIdByMobile", "listDepartmentIds", "getDepartment"]) {
      expect(op(id).operation["x-imspec-rate-limits"], id).toEqual([
        { calls: 10000, seconds: 60, scope: "app-operation", code: "45009" },
        { calls: 150000, seconds: 3600, scope: "app-operation", code: "45009" },
        { calls: 20000, seconds: 60, scope: "ip-operation", code: "45009" },
        { calls: 600000, seconds: 3600, scope: "ip-operation", code: "45009" },
      ]);
    }
  });

  it("pages listUserIds by cursor → next_cursor over dept_user, with no invented has-more field", () => {
    const pagination = op("listUserIds").operation["x-imspec-pagination"] as Json;
    expect(pagination).toEqual({
      cursorParam: "cursor",
      cursorField: "next_cursor",
      itemsField: "dept_user",
    });
    const page = propertiesOf(successBranch("listUserIds"));
    expect(Object.keys(page).sort()).toEqual(["dept_user", "errcode", "errmsg", "next_cursor"]);
    expect((page.next_cursor as Json).type).toBe("string");
    const ok = examples("listUserIds").ok as Json;
    expect(ok.next_cursor).toBe("aaaaaaaaa");
    expect(ok.dept_user).toEqual([
      { userid: "zhangsan", department: 1 },
      { userid: "zhangsan", department: 2 },
      { userid: "lisi", department: 2 },
    ]);
  });
});
