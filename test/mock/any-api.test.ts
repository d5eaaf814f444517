/**
 * The mock names no API: a spec it has never seen, with its own error fields, a bearer token and
 * its own token operation, is served from its x-imspec-* extensions alone, beside the bundled
 * APIs. A spec whose mock extension it cannot use is refused with a sentence naming the value.
 */
import { type MockServer, startMockServer } from "imspec/mock";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

type Json = Record<string, unknown>;

const TRACE = "7F3C2B1A-0000-4000-8000-000000000001";

/** A small spec of a made-up chat API, written the way specs/<api>/openapi.yaml are. */
function chatSpec(): Json {
  const error = (code: string, message: string) => ({ error_code: code, error: message, trace: TRACE });
  const errorResponse = (description: string, name: string, value: Json) => ({
    description,
    content: {
      "application/json": { schema: { $ref: "#/components/schemas/Error" }, examples: { [name]: { value } } },
    },
  });
  return {
    openapi: "3.1.0",
    info: { title: "Chatter API", version: "1" },
    security: [{ bearer: [] }],
    "x-imspec-errors": {
      code: ["error_code"],
      message: ["error"],
      requestId: ["trace"],
      requestIdHeader: ["x-trace-id"],
      tokenInvalid: { statuses: [401], codes: ["auth.bad*"] },
    },
    "x-imspec-mock": { invalid: { code: "input.bad" } },
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          "x-imspec-token-kind": "app",
          "x-imspec-token": [
            {
              operation: "createToken",
              options: { key: "key", secret: "secret" },
              secrets: ["secret"],
              token: "access",
              expires: { field: "ttl", unit: "s" },
              defaultLifetime: 600,
            },
          ],
        },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error_code", "error"],
          properties: {
            error_code: { type: "string" },
            error: { type: "string" },
            trace: { type: "string" },
          },
        },
      },
    },
    paths: {
      "/auth/token": {
        post: {
          operationId: "createToken",
          security: [],
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["key", "secret"],
                  properties: { key: { type: "string" }, secret: { type: "string" } },
                },
                example: { key: "k", secret: "s" },
              },
            },
          },
          responses: {
            "200": {
              description: "a token",
              content: { "application/json": { example: { access: "example-token", ttl: 900 } } },
            },
          },
        },
      },
      "/messages": {
        get: {
          operationId: "listMessages",
          parameters: [
            // Header names are case-insensitive: the request's arrive in lower case.
            {
              name: "X-Page-Size",
              in: "header",
              "x-imspec-invalid": "page.bad",
              schema: { type: "integer" },
            },
            // Sent as filter[from]=ann&filter[limit]=5, as the clients send a query object.
            {
              name: "filter",
              in: "query",
              style: "deepObject",
              explode: true,
              schema: {
                type: "object",
                additionalProperties: false,
                properties: { from: { type: "string" }, limit: { type: "integer", maximum: 10 } },
              },
            },
            // A JSON value in the query: where={"room":"r1"}, topic="news".
            {
              name: "where",
              in: "query",
              content: {
                "application/json": { schema: { type: "object", properties: { room: { type: "string" } } } },
              },
            },
            { name: "topic", in: "query", content: { "application/json": { schema: { type: "string" } } } },
            // A list in a header, as the clients send one: simple style, `x-ids: 1,2`.
            { name: "X-Ids", in: "header", schema: { type: "array", items: { type: "integer" } } },
          ],
          responses: {
            "200": {
              description: "messages",
              content: { "application/json": { example: { messages: [{ id: "m1", text: "hi" }] } } },
            },
            "400": errorResponse("bad page", "page.bad", error("page.bad", "the page size is not valid")),
          },
        },
      },
      // Listings: a cursor in the query that ends empty, one in the body beside a has-more flag.
      "/threads": {
        get: {
          operationId: "listThreads",
          parameters: [{ name: "after", in: "query", schema: { type: "string" } }],
          "x-imspec-pagination": { cursorParam: "after", cursorField: "next", itemsField: "threads" },
          responses: {
            "200": {
              description: "threads",
              content: { "application/json": { example: { threads: [{ id: "t1" }], next: "c2" } } },
            },
          },
        },
      },
      // The example on the schema, not the media: openapi-backend hands it out by reference.
      "/topics": {
        get: {
          operationId: "listTopics",
          parameters: [{ name: "after", in: "query", schema: { type: "string" } }],
          "x-imspec-pagination": { cursorParam: "after", cursorField: "next", itemsField: "topics" },
          responses: {
            "200": {
              description: "topics",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: { topics: { type: "array" }, next: { type: "string" } },
                    example: { topics: [{ id: "x1" }], next: "n2" },
                  },
                },
              },
            },
          },
        },
      },
      "/posts/search": {
        post: {
          operationId: "searchPosts",
          requestBody: {
            content: {
              "application/json": {
                schema: { type: "object", properties: { from: { type: "integer" } } },
                example: {},
              },
            },
          },
          "x-imspec-pagination": {
            cursorParam: "from",
            cursorField: "cursor",
            hasMoreField: "more",
            itemsField: "posts",
          },
          responses: {
            "200": {
              description: "posts",
              content: {
                "application/json": {
                  example: { posts: [{ id: "p1" }, { id: "p2" }], cursor: 7, more: true },
                },
              },
            },
          },
        },
      },
      "/rooms": {
        get: {
          operationId: "listRooms",
          parameters: [{ name: "limit", in: "query", schema: { type: "integer", maximum: 50 } }],
          responses: {
            "200": {
              description: "rooms",
              content: { "application/json": { example: { rooms: [{ id: "r1", name: "general" }] } } },
            },
            "400": errorResponse("bad input", "input.bad", error("input.bad", "the input is not valid")),
            "401": errorResponse("no token", "auth.missing", error("auth.missing", "a token is needed")),
            "403": errorResponse(
              "token refused",
              "auth.bad_token",
              error("auth.bad_token", "the token is not valid"),
            ),
          },
        },
      },
    },
  };
}

let mock: MockServer;
let base: string;

beforeAll(async () => {
  mock = await startMockServer({ documents: { chatter: chatSpec() } });
  base = mock.urlOf("chatter");
});
afterAll(() => mock?.stop());

async function get(target: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${target}`, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
}

describe("an API the mock has never seen, served from its extensions", () => {
  test("is served under its own name, beside the bundled APIs", () => {
    expect(mock.apis).toContain("chatter");
    expect(mock.apis.length).toBeGreaterThan(1);
    expect(base).toBe(`${mock.url}/chatter`);
    expect(() => mock.urlOf("nothing")).toThrow(/no API named nothing \(served: .*chatter/);
  });

  test("its token operation issues tokens in its own fields, with the example's lifetime", async () => {
    const res = await fetch(`${base}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key: "app-1", secret: "s" }),
    });
    const body = (await res.json()) as Json;
    expect(res.status).toBe(200);
    expect(body).toEqual({ access: expect.stringMatching(/^[0-9a-f]{32}$/), ttl: 900 });
    expect(mock.tokenRequests("chatter")).toBe(1);

    const rooms = await get("/rooms", { authorization: `Bearer ${String(body.access)}` });
    expect(rooms).toMatchObject({ status: 200, body: { rooms: [{ id: "r1", name: "general" }] } });
    expect(rooms.headers.get("x-trace-id")).toMatch(/^[0-9A-F-]{36}$/);
  });

  test("a missing bearer token gets the documented 401, naming the header", async () => {
    const res = await get("/rooms");
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error_code: "auth.missing",
      error: "a token is needed: the header authorization is missing",
      trace: expect.stringMatching(/^[0-9A-F-]{36}$/),
    });
    expect(res.headers.get("x-trace-id")).toBe(res.body.trace);
    expect(mock.requests.at(-1)).toMatchObject({
      api: "chatter",
      operationId: "listRooms",
      outcome: "unauthorized",
    });
  });

  test("an unknown or malformed token gets the first tokenInvalid code, with its documented status", async () => {
    for (const authorization of ["Bearer nope", "Basic abc", `Bearer ${mock.issueToken("chatter")} extra`]) {
      const res = await get("/rooms", { authorization });
      expect(res.status, authorization).toBe(403);
      expect(res.body).toMatchObject({ error_code: "auth.bad_token", error: "the token is not valid" });
    }
  });

  test("a request that breaks the spec gets the code x-imspec-mock names, with its documented status", async () => {
    const res = await get("/rooms?limit=51", { authorization: `Bearer ${mock.issueToken("chatter")}` });
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe("input.bad");
    expect(res.body.error).toMatch(/^the input is not valid: query parameter limit must be <= 50/);
  });

  test("a bad header value gets the code its x-imspec-invalid names, whatever the case of its name", async () => {
    const token = mock.issueToken("chatter");
    const res = await get("/messages", { authorization: `Bearer ${token}`, "x-page-size": "many" });
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe("page.bad");
    expect(res.body.error).toMatch(/^the page size is not valid: header x-page-size must be integer/);
  });

  test("a deepObject query parameter is read as the object its name[key]=value pairs make", async () => {
    const authorization = `Bearer ${mock.issueToken("chatter")}`;
    const ok = await get("/messages?filter[from]=ann&filter%5Blimit%5D=5", { authorization });
    expect(ok).toMatchObject({ status: 200, body: { messages: [{ id: "m1", text: "hi" }] } });
    const over = await get("/messages?filter[limit]=50", { authorization });
    expect(over.status).toBe(400);
    expect(over.body.error).toMatch(/query parameter filter\.limit must be <= 10/);
    const unknown = await get("/messages?filter[to]=bob", { authorization });
    expect(unknown.body.error).toMatch(/query parameter filter\.to is not in the spec for this operation/);
  });

  test("a query parameter declared with content is read as JSON; a value that is none is refused by name", async () => {
    const authorization = `Bearer ${mock.issueToken("chatter")}`;
    const where = encodeURIComponent(JSON.stringify({ room: "r1" }));
    const ok = await get(`/messages?where=${where}&topic=${encodeURIComponent('"news"')}`, { authorization });
    expect(ok).toMatchObject({ status: 200, body: { messages: [{ id: "m1", text: "hi" }] } });

    const before = mock.count("chatter", "listMessages");
    for (const target of [
      "/messages?where=garbage",
      "/messages?topic=news-secret-1",
      "/messages?where=%7B",
    ]) {
      const res = await get(target, { authorization });
      const name = target.includes("topic") ? "topic" : "where";
      expect(res.status, target).toBe(400);
      expect(res.body).toEqual({
        error_code: "input.bad",
        error: `the input is not valid: query parameter ${name} is not valid JSON`,
        trace: expect.stringMatching(/^[0-9A-F-]{36}$/),
      });
      expect(mock.requests.at(-1)).toMatchObject({
        api: "chatter",
        operationId: "listMessages",
        status: 400,
        outcome: "invalid",
        problems: [`query parameter ${name} is not valid JSON`],
      });
    }
    expect(mock.count("chatter", "listMessages")).toBe(before + 3);
    // The token is checked first, as for any other request that breaks the spec.
    expect((await get("/messages?where=garbage")).body.error_code).toBe("auth.bad_token");
    expect(mock.requests.at(-1)).toMatchObject({ operationId: "listMessages", outcome: "unauthorized" });
  });

  test("a header typed as a list is read as the comma-separated values the clients send", async () => {
    const authorization = `Bearer ${mock.issueToken("chatter")}`;
    for (const ids of ["1", "1,2", "1, 2 ,3"])
      expect((await get("/messages", { authorization, "x-ids": ids })).status, ids).toBe(200);
    const bad = await get("/messages", { authorization, "x-ids": "1,two" });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/header x-ids/);
  });

  test("a listing asked for with the cursor its example hands out gets the last page", async () => {
    const authorization = `Bearer ${mock.issueToken("chatter")}`;
    const first = { threads: [{ id: "t1" }], next: "c2" };
    expect((await get("/threads", { authorization })).body).toEqual(first);
    // Without a has-more field, an empty cursor ends the listing.
    expect((await get("/threads?after=c2", { authorization })).body).toEqual({ threads: [], next: "" });
    // Any other cursor: the example, as before.
    expect((await get("/threads?after=c9", { authorization })).body).toEqual(first);
    // Asked for by name, the example is sent as it is.
    const named = await get("/threads?after=c2", { authorization, prefer: "example=example" });
    expect(named.body).toEqual(first);

    // Ended for one request only: the spec's example stays as it is for the next.
    const topics = { topics: [{ id: "x1" }], next: "n2" };
    expect((await get("/topics", { authorization })).body).toEqual(topics);
    expect((await get("/topics?after=n2", { authorization })).body).toEqual({ topics: [], next: "" });
    expect((await get("/topics", { authorization })).body).toEqual(topics);

    const search = async (body: Json) => {
      const res = await fetch(`${base}/posts/search`, {
        method: "POST",
        headers: { authorization, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const page = { posts: [{ id: "p1" }, { id: "p2" }], cursor: 7, more: true };
    expect(await search({})).toEqual({ status: 200, body: page });
    // A cursor in the body, a number: the has-more flag ends the listing.
    expect(await search({ from: 7 })).toEqual({ status: 200, body: { posts: [], cursor: 7, more: false } });
    expect(await search({ from: 8 })).toEqual({ status: 200, body: page });
  });

  test("an unknown path: 404 in the API's error fields", async () => {
    const res = await get("/nothing");
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error_code: 404, error: "no operation GET /nothing" });
  });

  test("a scripted error it documents, and one it does not", async () => {
    const token = mock.issueToken("chatter");
    mock.script("chatter", "listRooms", { error: "input.bad" }, { error: "rooms.gone", message: "gone" });
    expect(await get("/rooms", { authorization: `Bearer ${token}` })).toMatchObject({
      status: 400,
      body: { error_code: "input.bad", trace: TRACE },
    });
    expect(await get("/rooms", { authorization: `Bearer ${token}` })).toMatchObject({
      status: 400,
      body: { error_code: "rooms.gone", error: "gone" },
    });
  });
});

describe("a token operation that takes its credentials in the query", () => {
  test("tells apps apart by them, and copies them into its answer", async () => {
    const spec = chatSpec();
    const paths = spec.paths as Json;
    const post = (paths["/auth/token"] as Json).post as Json;
    const inQuery = (name: string) => ({ name, in: "query", required: true, schema: { type: "string" } });
    paths["/auth/token"] = {
      get: {
        operationId: post.operationId,
        security: post.security,
        parameters: [inQuery("key"), inQuery("secret")],
        responses: post.responses,
      },
    };
    spec["x-imspec-mock"] = { tokens: { createToken: { reuse: true, set: { key: "request" } } } };
    const server = await startMockServer({ documents: { chatter: spec } });
    try {
      const token = async (key: string) => {
        const res = await fetch(`${server.urlOf("chatter")}/auth/token?key=${key}&secret=s`);
        return (await res.json()) as Json;
      };
      const first = await token("app-1");
      expect(first).toMatchObject({ access: expect.stringMatching(/^[0-9a-f]{32}$/), key: "app-1" });
      // Within its lifetime the same app gets its token again (reuse); another app, one of its own.
      expect((await token("app-1")).access).toBe(first.access);
      const other = await token("app-2");
      expect(other).toMatchObject({ key: "app-2" });
      expect(other.access).not.toBe(first.access);
    } finally {
      await server.stop();
    }
  });
});

describe("a spec whose mock extensions cannot be used is refused, naming the value", () => {
  test.each([
    [
      { tokens: { nope: {} } },
      /x-imspec-mock\.tokens\.nope names no operation of the document \(API chatter\)/,
    ],
    [{ invalid: { status: 99 } }, /x-imspec-mock\.invalid\.status must be an HTTP status/],
    [
      { tokens: { listRooms: { set: { a: "later" } } } },
      /x-imspec-mock\.tokens\.listRooms\.set\.a must be one of token, random, issuedAt, request/,
    ],
    [{ requires: { listRooms: [{ when: {} }] } }, /x-imspec-mock\.requires\.listRooms\.0 needs `anyOf/],
    [{ invalid: { code: "x" }, extra: true }, /x-imspec-mock\.extra is not a known field/],
  ])("%j", async (extension, message) => {
    const spec = chatSpec();
    spec["x-imspec-mock"] = extension;
    await expect(startMockServer({ documents: { chatter: spec } })).rejects.toThrow(message);
  });
});
