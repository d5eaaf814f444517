import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { extractApi, type OperationInfo } from "../../scripts/lib/extract.js";
import { SpecError } from "../../scripts/lib/problems.js";
import { type ApiEntry, loadRegistry, ROOT } from "../../scripts/lib/registry.js";
import { bundleStep } from "../../scripts/steps/bundle.js";

type Doc = Record<string, unknown>;

/** A minimal OpenAPI 3.1 document around the given paths and components. */
function doc(paths: Doc, extra: Doc = {}): Doc {
  return {
    openapi: "3.1.0",
    info: { title: "T", version: "1" },
    security: [{ app: [] }],
    components: {
      securitySchemes: {
        app: { type: "apiKey", in: "header", name: "x-token", "x-imspec-token-kind": "app" },
        user: { type: "apiKey", in: "header", name: "x-token", "x-imspec-token-kind": "user" },
      },
      ...((extra.components as Doc) ?? {}),
    },
    paths,
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== "components")),
  };
}

const ok = { "200": { description: "OK", content: { "application/json": { schema: { type: "object" } } } } };

/** A token sent in the query, as WorkPlus and WeCom send theirs. */
const QUERY_TOKEN = { type: "apiKey", in: "query", name: "access_token", "x-imspec-token-kind": "app" };

function op(fields: Doc): Doc {
  return { operationId: "doThing", tags: ["things"], responses: ok, ...fields };
}

/** A document of one POST operation whose JSON request body has `schema`. */
function withBody(schema: Doc, extra: Doc = {}): Doc {
  const requestBody = { content: { "application/json": { schema } } };
  return doc({ "/a": { post: op({ requestBody }) } }, extra);
}

/** A document of one GET operation at `path` that takes `parameters`. */
function withParameters(parameters: Doc[], extra: Doc = {}, path = "/a"): Doc {
  return doc({ [path]: { get: op({ parameters }) } }, extra);
}

function only(d: Doc): OperationInfo {
  const [first] = extractApi(d).operations;
  if (!first) throw new Error("no operation");
  return first;
}

describe("extractApi: operation table data", () => {
  const cases: Array<{ name: string; given: Doc; want: Partial<OperationInfo> }> = [
    {
      name: "query parameters keep their names and required-ness",
      given: doc({
        "/v1/x": {
          get: op({
            parameters: [
              { name: "seniorStaffId", in: "query", required: true, schema: { type: "string" } },
              { name: "permissionCode", in: "query", schema: { type: "string" } },
            ],
          }),
        },
      }),
      want: {
        method: "GET",
        params: [
          { name: "seniorStaffId", in: "query", required: true },
          { name: "permissionCode", in: "query", required: false },
        ],
        idempotent: true,
        token: "app",
      },
    },
    {
      name: "path-level parameters apply, path parameters are always required",
      given: doc({
        "/v1/apps/{appId}": {
          parameters: [{ name: "appId", in: "path", required: true, schema: { type: "string" } }],
          get: op({}),
        },
      }),
      want: { params: [{ name: "appId", in: "path", required: true }], path: "/v1/apps/{appId}" },
    },
    {
      name: "JSON body properties are flattened into params; POST is not idempotent",
      given: doc({
        "/v1/x": {
          post: op({
            requestBody: {
              required: true,
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    required: ["open"],
                    properties: { open: { type: "boolean" }, ids: { type: "array" } },
                  },
                },
              },
            },
          }),
        },
      }),
      want: {
        method: "POST",
        params: [
          { name: "open", in: "body", required: true },
          { name: "ids", in: "body", required: false },
        ],
        idempotent: false,
        sources: { path: false, query: false, header: false, body: true, bodyRequired: true },
      },
    },
    {
      name: "security: [] makes an operation anonymous",
      given: doc({ "/v1/token": { post: op({ security: [] }) } }),
      want: { token: "none" },
    },
    {
      name: "a user-token scheme marks the operation as needing a user token",
      given: doc({ "/v1/me": { get: op({ security: [{ user: [] }] }) } }),
      want: { token: "user" },
    },
    {
      name: "a 200 without content has no body; x-imspec-optional-body is kept",
      given: doc({
        "/v1/a": {
          delete: op({
            responses: {
              "200": { description: "OK", "x-imspec-optional-body": true, content: ok["200"].content },
            },
          }),
        },
      }),
      want: { success: { status: 200, hasBody: true, optionalBody: true }, idempotent: true },
    },
    {
      name: "extensions: official SDK name and pagination",
      given: doc({
        "/v1/list": {
          get: op({
            "x-sdk-operation": "ListThings",
            parameters: [{ name: "nextToken", in: "query", schema: { type: "integer" } }],
            "x-imspec-pagination": {
              cursorParam: "nextToken",
              cursorField: "nextCursor",
              hasMoreField: "hasMore",
              itemsField: "list",
              firstCursor: -1,
            },
          }),
        },
      }),
      want: {
        sdkOperation: "ListThings",
        pagination: {
          cursorParam: "nextToken",
          cursorField: "nextCursor",
          hasMoreField: "hasMore",
          itemsField: "list",
          firstCursor: -1,
        },
      },
    },
    {
      name: "documented error codes come from the error responses' examples",
      given: doc({
        "/v1/e": {
          get: op({
            responses: {
              ...ok,
              "400": {
                description: "Bad",
                content: {
                  "application/json": {
                    examples: { a: { value: { code: "parameter.error", message: "m" } } },
                  },
                },
              },
              "500": {
                description: "Err",
                content: {
                  "application/json": { examples: { b: { value: { code: "system.error", message: "m" } } } },
                },
              },
            },
          }),
        },
      }),
      want: {
        errorCodes: [
          { status: 400, code: "parameter.error" },
          { status: 500, code: "system.error" },
        ],
      },
    },
    {
      name: "documented error codes are read from the API's own code field, numbers as numbers",
      given: doc(
        {
          "/v1/e": {
            get: op({
              responses: {
                ...ok,
                "400": {
                  description: "Bad",
                  content: {
                    "application/json": {
                      examples: {
                        a: { value: { error_code: "room.missing", code: "not.this" } },
                        b: { value: { error_code: 4001 } },
                        c: { value: { code: "nor.this" } },
                      },
                    },
                  },
                },
              },
            }),
          },
        },
        { "x-imspec-errors": { code: ["error_code"] } },
      ),
      want: {
        errorCodes: [
          { status: 400, code: 4001 },
          { status: 400, code: "room.missing" },
        ],
      },
    },
  ];

  for (const { name, given, want } of cases) {
    it(name, () => {
      expect(only(given)).toMatchObject(want);
    });
  }
});

describe("extractApi: specs it refuses", () => {
  const cases: Array<{ name: string; given: Doc; error: RegExp }> = [
    {
      name: "missing operationId",
      given: doc({ "/a": { get: { tags: ["t"], responses: ok } } }),
      error: /GET \/a: operationId is missing/,
    },
    {
      name: "duplicate operationId",
      given: doc({ "/a": { get: op({}) }, "/b": { get: op({}) } }),
      error: /operationId "doThing" is used by both GET \/a and GET \/b/,
    },
    {
      name: "operationId that would pollute prototypes",
      given: doc({ "/a": { get: op({ operationId: "constructor" }) } }),
      error: /not a usable method name/,
    },
    {
      name: "two schemes in one header, one with a Bearer prefix and one without",
      given: doc(
        { "/a": { get: op({}) } },
        {
          components: {
            securitySchemes: {
              app: { type: "apiKey", in: "header", name: "Authorization", "x-imspec-token-kind": "app" },
              user: { type: "http", scheme: "bearer", "x-imspec-token-kind": "user" },
            },
          },
        },
      ),
      error:
        /securitySchemes\.user: all schemes of one API must put the token in the same place, under the same name, with the same prefix: header Authorization, then header authorization \(Bearer\)/,
    },
    {
      name: "two schemes in the query under names that differ in letter case",
      given: doc(
        { "/a": { get: op({}) } },
        {
          components: {
            securitySchemes: {
              app: QUERY_TOKEN,
              user: { ...QUERY_TOKEN, name: "Access_Token", "x-imspec-token-kind": "user" },
            },
          },
        },
      ),
      error: /securitySchemes\.user: all schemes of one API .*: query access_token, then query Access_Token/,
    },
    {
      name: "undeclared path parameter",
      given: doc({ "/a/{id}": { get: op({}) } }),
      error: /path parameter \{id\} is not declared/,
    },
    {
      // Redocly's path-parameters-defined says so too, but a registry may turn it off: the client
      // would drop the value the method's type requires.
      name: "a declared path parameter the path does not hold",
      given: doc({
        "/a": {
          get: op({ parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }] }),
        },
      }),
      error: /GET \/a: the path parameter "id" is not in the path/,
    },
    {
      // Redocly's security-defined says so too, but a registry may turn it off: it was an app token.
      name: "a security requirement naming no scheme of the document",
      given: doc({ "/a": { get: op({ security: [{ noSuchScheme: [] }] }) } }),
      error:
        /GET \/a: security names the scheme "noSuchScheme", which components\.securitySchemes does not define/,
    },
    {
      name: "body property colliding with a query parameter",
      given: doc({
        "/a": {
          post: op({
            parameters: [{ name: "id", in: "query", schema: { type: "string" } }],
            requestBody: {
              content: {
                "application/json": { schema: { type: "object", properties: { id: { type: "string" } } } },
              },
            },
          }),
        },
      }),
      error: /body parameter "id" collides with the query parameter/,
    },
    {
      name: "operation without a tag",
      given: doc({ "/a": { get: { operationId: "a", responses: ok } } }),
      error: /needs a tag/,
    },
    {
      name: "no 2xx response",
      given: doc({ "/a": { get: op({ responses: { "400": { description: "x" } } }) } }),
      error: /declares no 2xx response/,
    },
    {
      name: "a 2XX range for its only success",
      given: doc({ "/a": { get: op({ responses: { "2XX": { description: "x" } } }) } }),
      error: /declares its success as the range 2XX: give the status the server answers/,
    },
    {
      name: "malformed envelope extension",
      given: doc({ "/a": { get: op({}) } }, { "x-imspec-envelope": { statusField: "status" } }),
      error: /x-imspec-envelope needs/,
    },
    {
      // statusMessages holds one message a status: the first one's was dropped without a word.
      name: "a documented status listed twice",
      given: doc(
        { "/a": { get: op({}) } },
        {
          "x-imspec-status-codes": [
            { status: 202101, name: "APP_ALREADY_EXISTS", message: "app already exists" },
            { status: 202101, name: "UNSUPPORTED_APP_OPERATION", message: "unsupported app operation" },
          ],
        },
      ),
      error:
        /x-imspec-status-codes: the status 202101 is listed twice \(APP_ALREADY_EXISTS, UNSUPPORTED_APP_OPERATION\)/,
    },
    {
      // The client writes the token there: the method's type would ask for a value it overwrites.
      name: "a parameter where the token goes",
      given: doc(
        {
          "/a": {
            get: op({ parameters: [{ name: "access_token", in: "query", schema: { type: "string" } }] }),
          },
        },
        { components: { securitySchemes: { app: QUERY_TOKEN } } },
      ),
      error: /doThing: the query parameter "access_token" is where the security scheme puts the access token/,
    },
    {
      name: "a path-level parameter where the token goes",
      given: doc(
        {
          "/a": {
            parameters: [{ name: "access_token", in: "query", required: true, schema: { type: "string" } }],
            get: op({}),
          },
        },
        { components: { securitySchemes: { app: QUERY_TOKEN } } },
      ),
      error: /doThing: the query parameter "access_token" is where the security scheme puts the access token/,
    },
    {
      // The client sends a path value as it is (`simple`): it sent `/a/5` where the spec says `/a/.5`.
      name: "a path parameter in a style the client does not send",
      given: withParameters(
        [{ name: "id", in: "path", required: true, style: "label", schema: { type: "string" } }],
        {},
        "/a/{id}",
      ),
      error: /doThing: parameter "id" is sent as style: label, which the clients do not send/,
    },
    {
      // The client repeats an array (`ids=1&ids=2`) where the spec says `ids=1,2`.
      name: "a query array not exploded",
      given: withParameters([
        { name: "ids", in: "query", explode: false, schema: { type: "array", items: { type: "integer" } } },
      ]),
      error: /doThing: parameter "ids" is sent as explode: false, which the clients do not send/,
    },
    {
      name: "a query array pipe-delimited",
      given: withParameters([
        {
          name: "ids",
          in: "query",
          style: "pipeDelimited",
          explode: false,
          schema: { type: "array", items: { type: "string" } },
        },
      ]),
      error: /doThing: parameter "ids" is sent as style: pipeDelimited, which the clients do not send/,
    },
    {
      // The client sends a query object as `f[k]=v` (deepObject); form, the default, is `k=v`.
      name: "a query object in style form",
      given: withParameters([
        { name: "f", in: "query", schema: { type: "object", properties: { k: { type: "string" } } } },
      ]),
      error: /doThing: parameter "f" is sent as style: form \(an object\), which the clients do not send/,
    },
    {
      // An object only through `allOf` and `$ref` (no `type` of its own) is still sent as `f[k]=v`.
      name: "a query object in style form, an object only through allOf and $ref",
      given: withParameters(
        [
          {
            name: "f",
            in: "query",
            schema: { description: "a filter", allOf: [{ $ref: "#/components/schemas/Filter" }] },
          },
        ],
        { components: { schemas: { Filter: { type: "object", properties: { k: { type: "string" } } } } } },
      ),
      error: /doThing: parameter "f" is sent as style: form \(an object\), which the clients do not send/,
    },
    {
      name: "a query array not exploded, an array only through a $ref to an allOf",
      given: withParameters(
        [{ name: "ids", in: "query", explode: false, schema: { $ref: "#/components/schemas/Ids" } }],
        {
          components: {
            schemas: {
              Ids: { allOf: [{ $ref: "#/components/schemas/IntList" }], maxItems: 10 },
              IntList: { type: "array", items: { type: "integer" } },
            },
          },
        },
      ),
      error: /doThing: parameter "ids" is sent as explode: false, which the clients do not send/,
    },
    {
      // Every branch is an object: whichever the caller gives, it goes out as `f[k]=v`.
      name: "a query object in style form, an object in every branch of its oneOf",
      given: withParameters([
        {
          name: "f",
          in: "query",
          schema: {
            oneOf: [
              { type: "object", properties: { a: { type: "string" } } },
              { allOf: [{ type: "object", properties: { b: { type: "string" } } }] },
            ],
          },
        },
      ]),
      error: /doThing: parameter "f" is sent as style: form \(an object\), which the clients do not send/,
    },
    {
      // A schema that includes itself through allOf (no $ref-only cycle, which bundling refuses):
      // the walk stops, and what it met on the way is enough.
      name: "a query object in style form, through an allOf that includes itself",
      given: withParameters([{ name: "f", in: "query", schema: { $ref: "#/components/schemas/A" } }], {
        components: {
          schemas: {
            A: { allOf: [{ $ref: "#/components/schemas/B" }] },
            B: { allOf: [{ $ref: "#/components/schemas/A" }, { type: "object" }] },
          },
        },
      }),
      error: /doThing: parameter "f" is sent as style: form \(an object\), which the clients do not send/,
    },
    {
      // The client never encodes a parameter as JSON: an object went out as `f[k]=v`.
      name: "a parameter whose value is a media type (content)",
      given: withParameters([
        { name: "f", in: "query", content: { "application/json": { schema: { type: "object" } } } },
      ]),
      error: /doThing: parameter "f" is sent as content \(application\/json\), which the clients do not send/,
    },
    {
      name: "dangling local $ref",
      given: doc({ "/a": { get: op({ parameters: [{ $ref: "#/components/parameters/Nope" }] }) } }),
      error: /Unresolved reference/,
    },
    ...(["oneOf", "anyOf"] as const).map((key) => ({
      // The clients could not tell which of the params are the body's fields.
      name: `a request body with ${key}`,
      given: withBody({
        type: "object",
        properties: { name: { type: "string" } },
        [key]: [{ properties: { a: { type: "string" } } }, { properties: { b: { type: "integer" } } }],
      }),
      error: new RegExp(`doThing: a request body of several shapes \\(${key}\\) is not supported`),
    })),
    {
      name: "servers on a path item",
      given: doc({ "/a": { servers: [{ url: "https://other.example" }], get: op({}) } }),
      error: /GET \/a: servers of its own are not supported/,
    },
    {
      name: "servers on an operation",
      given: doc({ "/a": { get: op({ servers: [{ url: "https://other.example" }] }) } }),
      error: /GET \/a: servers of its own are not supported/,
    },
    {
      name: "a first 2xx answer that is not JSON",
      given: doc({
        "/a": {
          get: op({
            responses: {
              "200": { description: "OK", content: { "text/plain": { schema: { type: "string" } } } },
            },
          }),
        },
      }),
      error: /doThing: its 200 answer is text\/plain: the clients read JSON answers only/,
    },
    ...[
      ["path", "array", { type: "array", items: { type: "string" } }],
      ["path", "boolean", { type: "boolean" }],
      ["path", "object", { type: "object" }],
      ["header", "object", { type: "object" }],
    ].map(([where, type, schema]) => ({
      name: `a ${where} parameter typed ${type}`,
      given: withParameters(
        [{ name: "p", in: where, required: true, schema }],
        {},
        where === "path" ? "/a/{p}" : "/a",
      ),
      error: new RegExp(`parameter "p" is typed ${type}, which the clients cannot send in a ${where}`),
    })),
    ...["then", "toJSON"].flatMap((name) => [
      {
        name: `operationId ${name}`,
        given: doc({ "/a": { get: op({ operationId: name }) } }),
        error: new RegExp(`operationId "${name}" is not a usable method name: `),
      },
      {
        name: `tag ${name}`,
        given: doc({ "/a": { get: op({ tags: [name] }) } }),
        error: new RegExp(`tag "${name}" is not usable as a method group: `),
      },
    ]),
    {
      name: "operationIds of one tag that differ only by case",
      given: doc({
        "/a": { get: op({ operationId: "getRoom" }) },
        "/b": { get: op({ operationId: "getroom" }) },
      }),
      error: /operationIds "getRoom" and "getroom" differ only by case/,
    },
    ...[42, "", " ", ["GetUser"]].map((value) => ({
      name: `x-sdk-operation ${JSON.stringify(value)}`,
      given: doc({ "/a": { get: op({ "x-sdk-operation": value }) } }),
      error: /x-sdk-operation must be the official SDK's operation name/,
    })),
  ];
  for (const { name, given, error } of cases) {
    it(name, () => {
      expect(() => extractApi(given)).toThrow(error);
    });
  }

  it("accepts what the clients can send: a nullable path parameter, an 'a or b' body, a body that is a map, ids equal but for case in two tags", () => {
    const nullable = withParameters(
      [{ name: "p", in: "path", required: true, schema: { type: ["string", "null"] } }],
      {},
      "/a/{p}",
    );
    expect(only(nullable).params).toEqual([{ name: "p", in: "path", required: true }]);
    const either = withBody({
      type: "object",
      properties: { mobile: { type: "string" }, email: { type: "string" } },
      oneOf: [{ required: ["mobile"] }, { required: ["email"] }],
    });
    expect(only(either).params.map((p) => p.name)).toEqual(["mobile", "email"]);
    const map = only(withBody({ type: "object", additionalProperties: { type: "string" } }));
    expect(map).toMatchObject({ openBody: true, params: [] });
    const twoTags = doc({
      "/a": { get: op({ operationId: "getUser", tags: ["users"] }) },
      "/b": { get: op({ operationId: "GetUser", tags: ["admin"] }) },
    });
    expect(extractApi(twoTags).operations).toHaveLength(2);
  });

  it("reads a request body's fields through allOf, each required where any part requires it", () => {
    const components = {
      schemas: { Topic: { type: "object", required: ["topic"], properties: { topic: { type: "string" } } } },
    };
    const info = only(
      withBody(
        {
          type: "object",
          required: ["name", "note"],
          properties: { name: { type: "string" } },
          additionalProperties: false,
          allOf: [{ $ref: "#/components/schemas/Topic" }, { properties: { note: { type: "string" } } }],
        },
        { components },
      ),
    );
    expect(info.params).toEqual([
      { name: "name", in: "body", required: true },
      { name: "topic", in: "body", required: true },
      { name: "note", in: "body", required: true },
    ]);
  });

  it.each([
    ["additionalProperties: true", { additionalProperties: true }],
    ["additionalProperties: a schema", { additionalProperties: { type: "string" } }],
    ["patternProperties", { patternProperties: { "^x-": { type: "string" } } }],
    ["additionalProperties in an allOf member", { allOf: [{ additionalProperties: {} }] }],
  ])("a request body that takes other fields (%s) is open: the clients send them too", (_name, extra) => {
    const info = only(withBody({ type: "object", properties: { name: { type: "string" } }, ...extra }));
    expect(info).toMatchObject({ openBody: true, params: [{ name: "name", in: "body", required: false }] });
    const closed = only(
      withBody({ type: "object", properties: { name: { type: "string" } }, additionalProperties: false }),
    );
    expect(closed.openBody).toBeUndefined();
  });

  it("accepts the serializations the clients send: repeated arrays, deepObject objects, simple paths", () => {
    const parameters = [
      { name: "id", in: "path", required: true, style: "simple", schema: { type: "integer" } },
      { name: "ids", in: "query", style: "form", schema: { type: "array", items: { type: "string" } } },
      { name: "f", in: "query", style: "deepObject", explode: true, schema: { type: "object" } },
      // A single value is written the same whatever explode says.
      { name: "q", in: "query", explode: false, schema: { type: "string" } },
    ];
    const info = only(withParameters(parameters, {}, "/a/{id}"));
    expect(info.params.map((p) => p.name)).toEqual(["id", "ids", "f", "q"]);
  });

  it("accepts a deepObject object through allOf, and a value whose oneOf branches are not all objects", () => {
    const parameters = [
      {
        name: "f",
        in: "query",
        style: "deepObject",
        schema: { allOf: [{ $ref: "#/components/schemas/F" }] },
      },
      // A string or an object: not an object the client always writes as one.
      { name: "g", in: "query", schema: { oneOf: [{ type: "string" }, { $ref: "#/components/schemas/F" }] } },
    ];
    const components = { schemas: { F: { type: "object", properties: { k: { type: "string" } } } } };
    const info = only(withParameters(parameters, { components }));
    expect(info.params.map((p) => p.name)).toEqual(["f", "g"]);
  });

  // The client's method groups are a plain object filled with `groups[tag] ??= {}`: a tag that every
  // object inherits finds the inherited function there, and its methods would be hung on that
  // built-in, shared by every object of the process, rather than on a group of the client.
  it.each(Object.getOwnPropertyNames(Object.prototype))(
    "a tag, operationId or parameter named %s, which every object inherits",
    (inherited) => {
      const withTag = doc({ "/a": { get: op({ tags: [inherited] }) } });
      expect(() => extractApi(withTag)).toThrow(/is not usable as a TypeScript property name/);
      const withId = doc({ "/a": { get: op({ operationId: inherited }) } });
      expect(() => extractApi(withId)).toThrow(/is not a usable method name/);
      const parameters = [{ name: inherited, in: "query", schema: { type: "string" } }];
      const withParameter = doc({ "/a": { get: op({ parameters }) } });
      expect(() => extractApi(withParameter)).toThrow(/is not usable as a TypeScript property name/);
    },
  );
});

describe("extractApi: $ref pointers", () => {
  /** The bundle of a spec whose `components:` and `paths:` are these lines, one app token scheme beside them. */
  async function bundled(components: string[], paths: string[]) {
    const dir = mkdtempSync(path.join(tmpdir(), "imspec-pointer-"));
    try {
      const file = path.join(dir, "openapi.yaml");
      const head = [
        "openapi: 3.1.0",
        "info: {title: t, version: '1'}",
        "security: [{app: []}]",
        "components:",
      ];
      const scheme = [
        "  securitySchemes:",
        "    app: {type: apiKey, in: header, name: x-token, x-imspec-token-kind: app}",
      ];
      writeFileSync(file, [...head, ...scheme, ...components, "paths:", ...paths, ""].join("\n"));
      const [entry] = await loadRegistry();
      return (await bundleStep({ ...(entry as ApiEntry), root: path.relative(ROOT, file) })).document;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("reads a pointer written as a URI fragment, its {braces} percent-encoded: the bundle writes it plainly", async () => {
    const listed =
      "responses:\n        '200':\n          description: OK\n          content: {application/json: {schema: {type: array}}}";
    const param = "parameters: [{name: appId, in: path, required: true, schema: {type: string}}]";
    const document = await bundled(
      [],
      [
        "  /v1/apps/{appId}/admins:",
        "    get:",
        `      operationId: listAdmins\n      tags: [apps]\n      ${param}\n      ${listed}`,
        "  /v1/apps/{appId}/super-admins:",
        "    get:",
        `      operationId: listSuperAdmins\n      tags: [apps]\n      ${param}`,
        "      responses:",
        "        '200': {$ref: '#/paths/~1v1~1apps~1%7BappId%7D~1admins/get/responses/200'}",
      ],
    );
    // Written as every reader resolves it: the mock's resolver reads a pointer as it is written.
    expect(JSON.stringify(document)).toContain('"#/paths/~1v1~1apps~1{appId}~1admins/get/responses/200"');
    const ops = extractApi(document).operations;
    const success = { status: 200, hasBody: true, optionalBody: false };
    expect(ops.find((o) => o.operationId === "listAdmins")?.success).toEqual(success);
    expect(ops.find((o) => o.operationId === "listSuperAdmins")?.success).toEqual(success);
  });

  it("reads %2F as a / inside a key, and a key holding a % or # through its escapes", async () => {
    const document = await bundled(
      [
        "  parameters:",
        "    a/b: {name: slashed, in: query, schema: {type: string}}",
        "    rate%: {name: percent, in: query, schema: {type: string}}",
      ],
      [
        "  /a:",
        "    get:",
        "      operationId: getA",
        "      tags: [things]",
        "      parameters: [{$ref: '#/components/parameters/a%2Fb'}, {$ref: '#/components/parameters/rate%25'}]",
        "      responses: {'200': {description: OK, content: {application/json: {schema: {type: object}}}}}",
      ],
    );
    const text = JSON.stringify(document);
    expect(text).toContain('"#/components/parameters/a~1b"');
    expect(text).toContain('"#/components/parameters/rate%25"');
    const [op] = extractApi(document).operations;
    expect(op?.params.map((p) => p.name)).toEqual(["slashed", "percent"]);
  });
});

describe("extractApi: document-level data", () => {
  it("reads auth location, envelope, status codes and tags", () => {
    const api = extractApi(
      doc(
        { "/a": { get: op({}) } },
        {
          tags: [
            { name: "things", "x-displayName": "Things", description: "All things" },
            { name: "unused" },
          ],
          "x-imspec-envelope": {
            statusField: "status",
            messageField: "message",
            resultField: "result",
            successStatus: 0,
          },
          "x-imspec-status-codes": [
            { status: 202102, message: "", description: "no such app" },
            { status: 10011, message: "token not found." },
          ],
        },
      ),
    );
    expect(api.auth).toEqual({ in: "header", name: "x-token" });
    expect(api.envelope).toEqual({
      statusField: "status",
      messageField: "message",
      resultField: "result",
      successStatus: 0,
    });
    expect(api.statusCodes.map((c) => [c.status, c.name])).toEqual([
      [10011, "TOKEN_NOT_FOUND"],
      [202102, "STATUS_202102"],
    ]);
    expect(api.tags).toEqual([{ name: "things", displayName: "Things", description: "All things" }]);
  });

  it("names a status by its number when its message has no letter to name it by", () => {
    // WorkPlus documents most statuses in Chinese alone: each was STATUS_, and two failed as one name.
    const api = extractApi(
      doc(
        { "/a": { get: op({}) } },
        {
          "x-imspec-status-codes": [
            { status: 202101, message: "应用已存在" },
            { status: 202102, message: "没有对应的应用" },
          ],
        },
      ),
    );
    expect(api.statusCodes.map((c) => [c.status, c.name])).toEqual([
      [202101, "STATUS_202101"],
      [202102, "STATUS_202102"],
    ]);
  });
});

describe("extractApi: the answer fields x-imspec-pagination names", () => {
  const paginated = (schema: Doc, schemas: Doc = {}) =>
    doc(
      {
        "/things": {
          get: op({
            parameters: [{ name: "cursor", in: "query", schema: { type: "string" } }],
            "x-imspec-pagination": { cursorParam: "cursor", cursorField: "next", itemsField: "items" },
            responses: { "200": { description: "OK", content: { "application/json": { schema } } } },
          }),
        },
      },
      { components: { schemas } },
    );

  it("must be declared by the 2xx schema, through allOf, oneOf and anyOf", () => {
    const items = { type: "array", items: { type: "string" } };
    expect(() =>
      extractApi(
        paginated({ allOf: [{ properties: { next: { type: "string" } } }, { properties: { items } }] }),
      ),
    ).not.toThrow();
    expect(() => extractApi(paginated({ properties: { nxt: { type: "string" }, items } }))).toThrow(
      /x-imspec-pagination\.cursorField "next" is not a field of its 2xx answer \(nxt, items\)/,
    );
  });

  it.each([
    [
      "cursorField",
      { next: { type: "array" }, items: { type: "array" } },
      /cursorField "next" is typed array/,
    ],
    [
      "itemsField",
      { next: { type: "string" }, items: { type: "integer" } },
      /itemsField "items" is typed integer/,
    ],
    [
      "hasMoreField",
      { next: { type: "string" }, items: { type: "array" }, more: { type: "integer" } },
      /hasMoreField "more" is typed integer, where the clients read a boolean/,
    ],
  ])("a %s of a type the clients do not read it as is refused", (_key, properties, error) => {
    const d = paginated({ properties });
    const operation = ((d.paths as Doc)["/things"] as Doc).get as Doc;
    (operation["x-imspec-pagination"] as Doc).hasMoreField = "more" in properties ? "more" : undefined;
    if (!("more" in properties)) delete (operation["x-imspec-pagination"] as Doc).hasMoreField;
    expect(() => extractApi(d)).toThrow(error);
    // Nullable is read as the type it is.
    const fine = paginated({
      properties: { next: { type: ["string", "null"] }, items: { type: "array" }, more: { type: "boolean" } },
    });
    expect(() => extractApi(fine)).not.toThrow();
  });

  it("a schema that takes other names too, or one that refers to itself, is read without hanging", () => {
    expect(() =>
      extractApi(paginated({ properties: { items: { type: "array" } }, additionalProperties: true })),
    ).not.toThrow();
    const loop = { allOf: [{ $ref: "#/components/schemas/Loop" }, { $ref: "#/components/schemas/Loop" }] };
    const listed = { properties: { next: { type: "string" }, items: { type: "array" } } };
    expect(() =>
      extractApi(paginated({ allOf: [{ $ref: "#/components/schemas/Loop" }, listed] }, { Loop: loop })),
    ).not.toThrow();
  });
});

describe("extractApi: the request fields x-imspec-token names", () => {
  /** An API whose app token comes from `getToken` (a query parameter and a body field) with `source`. */
  const sourced = (source: Doc) =>
    doc(
      {
        "/token": {
          post: op({
            operationId: "getToken",
            tags: ["auth"],
            security: [],
            parameters: [{ name: "corp_id", in: "query", schema: { type: "string" } }],
            requestBody: {
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: { secret: { type: "string" }, grant_type: { type: "string" } },
                  },
                },
              },
            },
          }),
        },
      },
      {
        components: {
          securitySchemes: {
            app: {
              type: "apiKey",
              in: "header",
              name: "x-token",
              "x-imspec-token-kind": "app",
              "x-imspec-token": [
                {
                  operation: "getToken",
                  options: { corp_id: "corpId", secret: "secret" },
                  token: "token",
                  defaultLifetime: 7200,
                  ...source,
                },
              ],
            },
          },
        },
      },
    );

  it("are the token operation's parameters, wherever they go", () => {
    const api = extractApi(sourced({ fixed: { grant_type: "client_credentials" } }));
    expect(api.tokens[0]?.options).toEqual({ corp_id: "corpId", secret: "secret" });
  });

  it.each([
    ["an option's field", { options: { corpid: "corpId", secret: "secret" } }, "options", "corpid"],
    ["a fixed field", { fixed: { grant_typ: "client_credentials" } }, "fixed", "grant_typ"],
  ])("%s the request does not have: refused, at the field", (_case, source, key, field) => {
    // The client sends only the operation's parameters: a misspelt one was dropped without a word,
    // and the token request failed against the real server.
    const error = (() => {
      try {
        extractApi(sourced(source));
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).message).toBe(
      `securitySchemes.app.x-imspec-token.0: ${key} "${field}" is not a parameter of getToken (corp_id, secret, grant_type)`,
    );
    expect((error as SpecError).at).toEqual([
      "components",
      "securitySchemes",
      "app",
      "x-imspec-token",
      0,
      key,
      field,
    ]);
  });
});

describe("extractApi: the fields x-imspec-mock names", () => {
  const answer = {
    type: "object",
    properties: {
      status: { type: "integer", const: 0 },
      message: { type: "string" },
      result: { type: "object", properties: { token: { type: "string" }, ttl: { type: "integer" } } },
    },
  };
  const request = {
    allOf: [
      { type: "object", properties: { kind: { type: "string" }, code: { type: "string" } } },
      { properties: { orgId: { type: "string" }, ownerId: { type: "string" } } },
    ],
  };
  const mocked = (mock: Doc, body: Doc | null = request) =>
    doc(
      {
        "/token": {
          post: op({
            operationId: "issue",
            security: [],
            parameters: [{ name: "scope", in: "query", schema: { type: "string" } }],
            ...(body
              ? {
                  requestBody: {
                    content: {
                      "application/json": {
                        schema: { type: "object", properties: { kind: { type: "string" } }, ...body },
                      },
                    },
                  },
                }
              : {}),
            responses: { "200": { description: "OK", content: { "application/json": { schema: answer } } } },
          }),
        },
      },
      {
        "x-imspec-envelope": {
          statusField: "status",
          messageField: "message",
          resultField: "result",
          successStatus: 0,
        },
        "x-imspec-mock": mock,
      },
    );
  const tokens = (own: Doc) => ({ tokens: { issue: own } });
  const requires = (...rules: Doc[]) => ({ requires: { issue: rules } });

  it("accepts the fields of the answer's result and of the request body, through allOf", () => {
    const mock = {
      ...tokens({ token: "token", expires: { field: "ttl", unit: "s" }, set: { ttl: "issuedAt" } }),
      ...requires({ when: { kind: "code" }, field: "code" }, { anyOf: ["orgId", "ownerId"] }),
    };
    expect(() => extractApi(mocked(mock))).not.toThrow();
  });

  const refused: Array<[string, Doc, RegExp]> = [
    [
      "a token field of the envelope, not of its result",
      tokens({ token: "status" }),
      /x-imspec-mock\.tokens\.issue: token "status" is not a field of issue's 2xx answer \(token, ttl\)/,
    ],
    [
      "a lifetime field",
      tokens({ expires: { field: "expires", unit: "s" } }),
      /x-imspec-mock\.tokens\.issue: expires\.field "expires" is not a field of issue's 2xx answer \(token, ttl\)/,
    ],
    [
      "a field the mock sets",
      tokens({ set: { ttl: "issuedAt", refresh: "random" } }),
      /x-imspec-mock\.tokens\.issue: set "refresh" is not a field of issue's 2xx answer \(token, ttl\)/,
    ],
    [
      "a rule's field",
      requires({ when: { kind: "code" }, field: "cod" }),
      /x-imspec-mock\.requires\.issue\.0: field "cod" is not a field of issue's request body \(kind, code, orgId, ownerId\)/,
    ],
    [
      "a rule's condition",
      requires({ anyOf: ["orgId", "ownerId"] }, { when: { knd: "code" }, field: "code" }),
      /x-imspec-mock\.requires\.issue\.1: when "knd" is not a field of issue's request body/,
    ],
    [
      "a rule's alternative naming a query parameter (the mock reads the body only)",
      requires({ anyOf: ["orgId", "scope"] }),
      /x-imspec-mock\.requires\.issue\.0: anyOf "scope" is not a field of issue's request body \(kind, code, orgId, ownerId\)/,
    ],
  ];
  for (const [name, mock, error] of refused) {
    it(`${name}: refused when the schema does not declare it`, () => {
      expect(() => extractApi(mocked(mock))).toThrow(error);
    });
  }

  it("a rule on an operation without a request body names no field of it", () => {
    expect(() => extractApi(mocked(requires({ anyOf: ["orgId", "ownerId"] }), null))).toThrow(
      /anyOf "orgId" is not a field of issue's request body \(none\)/,
    );
  });

  it("a body that takes other names too accepts any, and an unknown operation is left to the lint rule", () => {
    const open = { additionalProperties: true };
    expect(() => extractApi(mocked(requires({ anyOf: ["a", "b"] }), open))).not.toThrow();
    expect(() =>
      extractApi(mocked({ tokens: { nope: { token: "x" } }, requires: { nope: [] } })),
    ).not.toThrow();
  });
});

describe("extractApi: an envelope body has a success branch", () => {
  const error = {
    type: "object",
    required: ["status", "message"],
    properties: { status: { type: "integer", not: { const: 0 } }, message: { type: "string" } },
  };
  const enveloped = (success: Doc, envelope: Doc = {}) =>
    doc(
      {
        "/a": {
          get: op({
            responses: {
              "200": {
                description: "OK",
                content: { "application/json": { schema: { oneOf: [success, error] } } },
              },
            },
          }),
        },
      },
      {
        "x-imspec-envelope": {
          statusField: "status",
          messageField: "message",
          successStatus: 0,
          ...envelope,
        },
      },
    );
  const data = { type: "object", properties: { id: { type: "string" } } };
  const withStatus = (status: Doc) => ({
    allOf: [data, { type: "object", properties: { status, message: { type: "string" } } }],
  });

  it("accepts a branch whose status is exactly the success value (const, or an enum of it)", () => {
    expect(() => extractApi(enveloped(withStatus({ type: "integer", const: 0 })))).not.toThrow();
    expect(() => extractApi(enveloped(withStatus({ enum: [0] })))).not.toThrow();
  });

  it("accepts a status narrowed by an allOf, as a $ref beside a description is written", () => {
    const success = withStatus({ allOf: [{ $ref: "#/components/schemas/Ok" }], description: "0: done" });
    const d = enveloped(success);
    (d.components as Doc).schemas = { Ok: { type: "integer", const: 0 } };
    expect(() => extractApi(d)).not.toThrow();
    // Narrowed to another value, or to more than the one, it is no success branch still.
    (d.components as Doc).schemas = { Ok: { type: "integer", enum: [0, 5] } };
    expect(() => extractApi(d)).toThrow(/no branch of its 200 answer is a success/);
  });

  it("accepts a branch without the status where the envelope lets it be left out", () => {
    expect(() => extractApi(enveloped(data, { statusOptional: true }))).not.toThrow();
  });

  it("accepts one object, whose status is read at run time", () => {
    const single = doc(
      {
        "/a": {
          get: op({
            responses: {
              "200": {
                description: "OK",
                content: { "application/json": { schema: withStatus({ type: "integer", enum: [0, 5] }) } },
              },
            },
          }),
        },
      },
      { "x-imspec-envelope": { statusField: "status", messageField: "message", successStatus: 0 } },
    );
    expect(() => extractApi(single)).not.toThrow();
  });

  it("accepts a branch that could hold any field (not judged)", () => {
    expect(() => extractApi(enveloped({ type: "object", additionalProperties: true }))).not.toThrow();
  });

  const refused: Array<[string, Doc, Doc, RegExp]> = [
    [
      "a status of any integer",
      withStatus({ type: "integer" }),
      {},
      /doThing: no branch of its 200 answer is a success: give one branch `status` with `const: 0` \(x-imspec-envelope\)/,
    ],
    ["a status that may be another value", withStatus({ enum: [0, 5] }), {}, /no branch of its 200 answer/],
    [
      "no status where the envelope requires one",
      data,
      {},
      /give one branch `status` with `const: 0` \(x-imspec-envelope\)$/,
    ],
    [
      "no success branch where the status may be left out",
      withStatus({ type: "integer" }),
      { statusOptional: true },
      /`const: 0`, or leave the field out of it/,
    ],
  ];
  for (const [name, success, envelope, message] of refused) {
    it(`refuses ${name}, pointing at the answer's schema`, () => {
      let thrown: unknown;
      try {
        extractApi(enveloped(success, envelope));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(SpecError);
      expect((thrown as SpecError).message).toMatch(message);
      expect((thrown as SpecError).at).toEqual([
        "paths",
        "/a",
        "get",
        "responses",
        "200",
        "content",
        "application/json",
        "schema",
      ]);
    });
  }
});

describe("extractApi: the body fields x-imspec-errors and x-imspec-envelope name", () => {
  // Every answer with HTTP 200: `{ ok: 1, … }` or `{ ok: 0, error: { code, msg } }`.
  const answer = {
    type: "object",
    properties: {
      ok: { type: "integer", enum: [0, 1] },
      msg: { type: "string" },
      error: { type: "object", properties: { code: { type: "string" }, msg: { type: "string" } } },
    },
  };
  const api = (extensions: Doc, schema: Doc = answer) =>
    doc(
      {
        "/a": {
          get: op({
            responses: { "200": { description: "OK", content: { "application/json": { schema } } } },
          }),
        },
      },
      extensions,
    );
  const envelope = { statusField: "ok", messageField: "msg", successStatus: 1 };

  it("are fields some answer declares; a list may add spellings no schema shows", () => {
    expect(() =>
      extractApi(api({ "x-imspec-envelope": envelope, "x-imspec-errors": { code: ["ok", "Ok"] } })),
    ).not.toThrow();
  });

  const refused: Array<[string, Doc, RegExp, string[]]> = [
    [
      "a nested error code",
      { "x-imspec-envelope": envelope, "x-imspec-errors": { code: ["error.code"] } },
      /x-imspec-errors\.code: "error\.code" is not a field of any answer of the document \(a name is a key at the top level of the body: a dotted name is not a path\)/,
      ["x-imspec-errors", "code"],
    ],
    [
      "a nested envelope message",
      { "x-imspec-envelope": { ...envelope, messageField: "error.msg" } },
      /x-imspec-envelope\.messageField: "error\.msg" is not a field of any answer/,
      ["x-imspec-envelope", "messageField"],
    ],
    [
      "a request id no answer carries",
      { "x-imspec-errors": { requestId: ["requestId", "request_id"] } },
      /x-imspec-errors\.requestId: "requestId", "request_id" is not a field of any answer of the document$/,
      ["x-imspec-errors", "requestId"],
    ],
  ];
  for (const [name, extensions, error, at] of refused) {
    it(`${name}: refused, at the extension`, () => {
      const thrown = (() => {
        try {
          extractApi(api(extensions));
        } catch (e) {
          return e as Error & { at?: unknown };
        }
        return undefined;
      })();
      expect(thrown?.message).toMatch(error);
      expect(thrown?.at).toEqual(at);
    });
  }

  it("an answer that takes other names too accepts any", () => {
    const open = { ...answer, additionalProperties: true };
    expect(() => extractApi(api({ "x-imspec-errors": { code: ["error.code"] } }, open))).not.toThrow();
  });
});
