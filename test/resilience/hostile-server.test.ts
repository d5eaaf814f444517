/**
 * Every call ends, nothing leaks, nothing crashes: hostile answers and careless callers, on both
 * transports (node:http, the default on Node, and fetch). Each case is a real loopback server.
 */
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import {
  ApiError,
  type ApiErrorFields,
  createClient,
  createDingTalk,
  type DingTalkOptions,
  ImspecError,
  type LogEvent,
  type Operations,
  operations,
  ParseError,
  type paths,
  profile,
} from "imspec/dingtalk";
import { rawClient } from "imspec/raw";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { queryPairs } from "../../src/core/client.js";
import { fetchTransport } from "../../src/core/transport.js";
import { FaultServer } from "../support/fault-server.js";
import { delay, json, ScriptedServer } from "../support/scripted-server.js";
import { collectUnhandledRejections } from "../support/unhandled.js";

const TOKEN = "hostile-token-0123456789";
const transports = [
  { name: "node:http", options: {} },
  { name: "fetch", options: { transport: fetchTransport(globalThis.fetch) } },
];

describe.each(transports)("on $name", ({ options: transport }) => {
  let server: ScriptedServer;
  const client = (extra: Record<string, unknown> = {}) =>
    createDingTalk({
      baseUrl: server.url,
      appKey: "app",
      appSecret: "app-secret-hostile",
      rateLimit: false,
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      ...transport,
      ...extra,
    } as DingTalkOptions);
  beforeEach(async () => {
    server = await new ScriptedServer().start();
    server.on("POST", "/v1.0/oauth2/accessToken", (_req, res) => {
      json(res, 200, { accessToken: TOKEN, expireIn: 7200 });
    });
  });
  afterEach(() => server.stop());

  describe("bounded bodies", () => {
    it("a brotli body that decodes to 200 MB is refused at the cap, at once, never retried", async () => {
      const bomb = brotliCompressSync(Buffer.alloc(200 * 1024 * 1024, 0x20), {
        params: { [constants.BROTLI_PARAM_QUALITY]: 4 },
      });
      expect(bomb.length).toBeLessThan(200_000);
      server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "br" });
        res.end(bomb);
      });
      const before = process.memoryUsage().rss;
      const error = await client({ maxResponseBytes: 1024 * 1024 })
        .contact.getLatestDingIndex()
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "ResponseTooLargeError", maxBytes: 1024 * 1024, attempts: 1 });
      expect(server.count("GET", "/v1.0/contact/dingIndexs")).toBe(1);
      expect(process.memoryUsage().rss - before).toBeLessThan(150 * 1024 * 1024);
    });

    it("an endless body ends at the cap, not at the timeout", async () => {
      server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (res.write(chunk)) if (res.destroyed) return;
          if (!res.destroyed) res.once("drain", pump);
        };
        res.on("error", () => {});
        pump();
      });
      const started = Date.now();
      const error = await client({ maxResponseBytes: 4 * 1024 * 1024, timeout: 20_000 })
        .contact.getLatestDingIndex()
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "ResponseTooLargeError" });
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    /** The error of a call refused with a 400 and `body`. */
    const refusedWith = (body: unknown) => {
      server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => json(res, 400, body));
      return client()
        .contact.getLatestDingIndex()
        .catch((e: unknown) => e);
    };

    it("an error body of 8 MB is a typed error with its code and message; the rest of it is cut, not walked", async () => {
      const items = Array.from({ length: 120_000 }, (_, i) => ({ id: i, name: `user ${i}`, echo: TOKEN }));
      const error = await refusedWith({
        items,
        code: "parameter.error",
        message: `no such index (${TOKEN})`,
      });
      expect(error).toMatchObject({ name: "DingTalkError", status: 400, code: "parameter.error" });
      expect((error as Error).message).toContain("parameter.error: no such index ([redacted])");
      const body = (error as { body: { items: unknown[] } }).body;
      expect(body.items.at(-1)).toBe("[cut]");
      expect(JSON.stringify(body)).not.toContain(TOKEN);
    });

    it("a code of 2.2 MB is cut, and the message and request id beside it stay", async () => {
      const error = await refusedWith({
        code: "E".repeat(2_200_000),
        message: "small message",
        requestid: "R-1",
      });
      expect(error).toMatchObject({ name: "DingTalkError", code: "[cut]", requestId: "R-1" });
      expect((error as Error).message).toContain("[cut]: small message");
    });

    it("an error body of 400,000 fields before its code keeps the code, message and request id", async () => {
      const fields = Object.fromEntries(Array.from({ length: 400_000 }, (_, i) => [`f${i}`, i]));
      const error = await refusedWith({
        ...fields,
        code: "parameter.error",
        message: `no such index (${TOKEN})`,
        requestid: "R-7",
      });
      expect(error).toMatchObject({ name: "DingTalkError", code: "parameter.error", requestId: "R-7" });
      expect((error as Error).message).toContain("no such index ([redacted])");
      expect((error as { body: Record<string, unknown> }).body["[cut]"]).toBe("[cut]");
    });

    it("a content-length over the cap is refused before the body is read", async () => {
      server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": String(3 * 1024 ** 3) });
        res.write("{");
      });
      const error = await client()
        .contact.getLatestDingIndex()
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "ResponseTooLargeError", maxBytes: 10 * 1024 * 1024 });
    });

    it.each([0, -1, Number.NaN, 2 ** 40, 1.5])(
      "maxResponseBytes %s is a ConfigError at construction",
      (n) => {
        expect(() => client({ maxResponseBytes: n })).toThrow(/maxResponseBytes/);
      },
    );
  });

  describe("cancellation and bounds cover the token", () => {
    it("a POST aborted while its token is fetched is never sent", async () => {
      server.on("POST", "/v1.0/oauth2/accessToken", async (_req, res) => {
        await delay(300);
        json(res, 200, { accessToken: TOKEN, expireIn: 7200 });
      });
      server.on("POST", "/v1.0/contact/seniorSettings", (_req, res) => json(res, 200, {}));
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      const call = client().contact.updateSeniorSetting(
        { seniorStaffId: "u1", open: true },
        { signal: controller.signal },
      );
      await expect(call).rejects.toMatchObject({ name: "AbortError" });
      await delay(500);
      expect(server.count("POST", "/v1.0/contact/seniorSettings")).toBe(0);
    });

    it("a token slower than one attempt's timeout is waited for by the next attempt: one token request, one call sent", async () => {
      server.on("POST", "/v1.0/oauth2/accessToken", async (_req, res) => {
        await delay(250);
        json(res, 200, { accessToken: TOKEN, expireIn: 7200 });
      });
      server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => json(res, 200, { dingIndex: ["1"] }));
      server.on("POST", "/v1.0/contact/seniorSettings", (_req, res) => json(res, 200, {}));
      const events: LogEvent[] = [];
      // The token request has the client's 5 s; each attempt of the call, 100 ms (and 100 ms more for
      // the token request's own error to come first).
      const dt = client({ timeout: 5_000, logger: (e: LogEvent) => events.push(e) });
      const [read, written] = await Promise.all([
        dt.contact.getLatestDingIndex({}, { timeout: 100 }),
        // Not idempotent, and retried all the same: nothing was sent.
        dt.contact.updateSeniorSetting({ seniorStaffId: "u1", open: true }, { timeout: 100 }),
      ]);
      expect(read).toEqual({ dingIndex: ["1"] });
      expect(written).toBeUndefined();
      expect(server.count("POST", "/v1.0/oauth2/accessToken")).toBe(1);
      expect(server.count("GET", "/v1.0/contact/dingIndexs")).toBe(1);
      expect(server.count("POST", "/v1.0/contact/seniorSettings")).toBe(1);
      const waits = events.filter((e) => e.operationId !== "getAccessToken" && e.status === undefined);
      expect(waits.length).toBeGreaterThanOrEqual(2);
      for (const e of waits)
        expect(e).toMatchObject({ error: "TimeoutError", retryInMs: expect.any(Number) });
    });

    it("the wait for a token ends the call once its attempts are spent", async () => {
      server.on("POST", "/v1.0/oauth2/accessToken", async () => {
        await delay(5_000);
      });
      const started = Date.now();
      const error = await client({
        timeout: 10_000,
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
      })
        .contact.updateSeniorSetting({ seniorStaffId: "u1", open: true }, { timeout: 150 })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "TimeoutError", attempts: 2 });
      expect((error as Error).message).toMatch(/waited for its token after 150 ms/);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(server.count("POST", "/v1.0/contact/seniorSettings")).toBe(0);
    });

    it("the token wait obeys the call's timeout", async () => {
      server.on("POST", "/v1.0/oauth2/accessToken", async () => {
        await delay(5_000);
      });
      const started = Date.now();
      const error = await client({ timeout: 300, retry: false })
        .contact.getLatestDingIndex()
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "TimeoutError" });
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it("raw honours the Request's signal", async () => {
      server.on("GET", "/v1.0/contact/dingIndexs", async (_req, res) => {
        await delay(2_000);
        json(res, 200, {});
      });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      const started = Date.now();
      const outcome = await rawClient<paths>(client())
        .GET("/v1.0/contact/dingIndexs", { signal: controller.signal })
        .catch((e: unknown) => e);
      expect(outcome).toMatchObject({ name: "AbortError" });
      expect(Date.now() - started).toBeLessThan(1_500);
    });

    it("raw sends the token only to the configured origin", async () => {
      const other = await new ScriptedServer().start();
      try {
        other.on("GET", "/steal", (_req, res) => json(res, 200, {}));
        const raw = rawClient<paths>(client({ accessToken: TOKEN, appKey: undefined, appSecret: undefined }));
        const outcome = await (raw.GET as (p: string, o?: object) => Promise<unknown>)(
          `${other.url}/steal`,
        ).catch((e: unknown) => e);
        expect(outcome).toBeInstanceOf(Error);
        expect(JSON.stringify(other.requests)).not.toContain(TOKEN);
      } finally {
        await other.stop();
      }
    });
  });

  describe("ids and cursors beyond 2^53", () => {
    it("a listed int64 id and cursor round-trip exactly: list → next page → delete", async () => {
      const id = "9007199254740993";
      server.on("GET", "/v1.0/contact/staffAttributes/visibilitySettings", (req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        if (req.query.get("nextToken") === "-1")
          return void res.end(`{"hasMore":true,"nextCursor":9007199254740995,"list":[{"id":${id}}]}`);
        expect(req.query.get("nextToken")).toBe("9007199254740995");
        res.end('{"hasMore":false,"list":[]}');
      });
      server.on(
        "DELETE",
        (p) => p.startsWith("/v1.0/contact/staffAttributes/visibilitySettings/"),
        (_req, res) => json(res, 200, { result: true }),
      );
      const dt = client();
      const items: Array<{ id?: number | string }> = [];
      for await (const item of dt.contact.listEmpAttributeVisibility.iterate({ maxResults: 10 }))
        items.push(item);
      expect(items).toEqual([{ id }]);
      await dt.contact.deleteEmpAttributeVisibility({ settingId: items[0]?.id as string });
      expect(server.requests.at(-1)?.pathname).toBe(`/v1.0/contact/staffAttributes/visibilitySettings/${id}`);
    });
  });

  describe("ids beyond 2^53 through raw", () => {
    it("raw reads a listed int64 id as its exact digits, as the method does", async () => {
      const id = "9007199254740993";
      server.on("GET", "/v1.0/contact/staffAttributes/visibilitySettings", (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(`{"hasMore":false,"list":[{"id":${id},"small":12,"text":"${id}9"}]}`);
      });
      const dt = client();
      const listed = await dt.contact.listEmpAttributeVisibility({ maxResults: 10 });
      expect(listed?.list?.[0]?.id).toBe(id);
      const { data } = await rawClient<paths>(dt).GET("/v1.0/contact/staffAttributes/visibilitySettings", {
        params: { query: { maxResults: 10 } },
      });
      expect(data?.list?.[0]).toEqual({ id, small: 12, text: `${id}9` });
    });
  });

  describe("retry timing", () => {
    it.each(["0", "Sat, 01 Jan 2000 00:00:00 GMT"])(
      "Retry-After %s falls back to backoff and retries",
      async (after) => {
        let n = 0;
        server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
          if (++n === 1) {
            res.writeHead(429, { "content-type": "application/json", "retry-after": after });
            return void res.end(JSON.stringify({ code: "system.busy", message: "busy" }));
          }
          json(res, 200, {});
        });
        await expect(client().contact.getLatestDingIndex()).resolves.toEqual({});
        expect(n).toBe(2);
      },
    );
  });

  describe("compressed answers", () => {
    const gzipped = (text: string) => (_req: unknown, res: import("node:http").ServerResponse) => {
      const body = gzipSync(text);
      res.writeHead(200, {
        "content-type": "application/json",
        "content-encoding": "gzip",
        "content-length": body.length,
      });
      res.end(body);
    };

    it("an empty 200 body sent gzipped is no data through raw, as through the method", async () => {
      // An operation whose spec allows its body to be absent (x-imspec-optional-body).
      const visibility = "/v1.0/contact/staffAttributes/visibilitySettings/{settingId}" as const;
      server.on(
        "DELETE",
        (p) => p.startsWith("/v1.0/contact/staffAttributes/visibilitySettings/"),
        gzipped(""),
      );
      const dt = client();
      await expect(dt.contact.deleteEmpAttributeVisibility({ settingId: 7 })).resolves.toBeUndefined();
      const raw = await rawClient<paths>(dt).DELETE(visibility, { params: { path: { settingId: 7 } } });
      expect(raw.data).toBeUndefined();
      expect(raw.response.status).toBe(200);
    });

    it.each([
      [
        "empty",
        (_req: unknown, res: import("node:http").ServerResponse) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end();
        },
      ],
      ["empty, sent gzipped", gzipped("")],
    ])(
      "a 200 body %s where the spec wants one is a ParseError, through the method and raw",
      async (_, answer) => {
        server.on("GET", "/v1.0/contact/dingIndexs", answer);
        const dt = client();
        const error = await dt.contact.getLatestDingIndex().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ParseError);
        expect(error).toMatchObject({ status: 200, operationId: "getLatestDingIndex" });
        expect(String(error)).toMatch(/the body is empty, where the operation's JSON was expected/);
        const raw = await rawClient<paths>(dt)
          .GET("/v1.0/contact/dingIndexs")
          .catch((e: unknown) => e);
        expect(raw).toBeInstanceOf(ParseError);
      },
    );

    it("through raw, an empty answer to a path or method the spec does not list is no data, not a ParseError", async () => {
      server.on("DELETE", "/v1.0/some/unlisted/thing", (_req, res) => {
        res.writeHead(204);
        res.end();
      });
      server.on("HEAD", "/v1.0/contact/dingIndexs", (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end();
      });
      const raw = rawClient<paths>(client());
      const deleted = await raw.request("delete" as never, "/v1.0/some/unlisted/thing" as never);
      expect(deleted.response.status).toBe(204);
      expect(deleted.data).toBeUndefined();
      const head = await raw.HEAD("/v1.0/contact/dingIndexs" as never);
      expect(head.response.status).toBe(200);
      expect(head.data).toBeUndefined();
    });

    it("a brotli body cut short is an error, never data", async () => {
      server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "br" });
        res.end(brotliCompressSync('{"idxTotal":5}').subarray(0, 1));
      });
      const error = await client({ retry: false })
        .contact.getLatestDingIndex()
        .catch((e: unknown) => e);
      // node:http's decoder says the stream ended early (a ConnectionError); Node's fetch gives what
      // it decoded before the end, nothing here, without a word: a ParseError, as any empty body.
      expect(error).toBeInstanceOf(ImspecError);
      expect(error).toMatchObject({ name: expect.stringMatching(/^(ConnectionError|ParseError)$/) });
    });

    it("the Response holds the decoded body, and no header says it is still encoded", async () => {
      server.on("GET", "/v1.0/contact/dingIndexs", gzipped('{"statDate":"20261122"}'));
      const { response } = await client().contact.getLatestDingIndex().withResponse();
      expect(response.headers.get("content-encoding")).toBeNull();
      expect(response.headers.get("content-length")).toBeNull();
      expect(response.headers.get("content-type")).toBe("application/json");
      expect(await response.json()).toEqual({ statDate: "20261122" });
    });
  });

  describe("bytes after a whole answer", () => {
    // A 204 or 304 whose server wrote a body anyway, or stray bytes after a body of the length it
    // gave: the answer arrived whole, only the connection is unusable past it.
    it.each([
      ["a 204 with a body", "HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\nhello"],
      ["a 200 with stray bytes after its body", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}GARBAGE"],
    ])("%s: the POST succeeded, sent once", async (_case, raw) => {
      server.on("POST", "/v1.0/contact/seniorSettings", (_req, res) => void res.socket?.write(raw));
      const sent = client().contact.updateSeniorSetting({ seniorStaffId: "u1", open: true });
      await expect(sent).resolves.toBeUndefined();
      expect(server.count("POST", "/v1.0/contact/seniorSettings")).toBe(1);
    });

    it("a 304 with a body is the typed refusal of a 304, sent once", async () => {
      server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
        res.socket?.write("HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\n\r\nhello");
      });
      const error = await client()
        .contact.getLatestDingIndex()
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "DingTalkError", status: 304 });
      expect(server.count("GET", "/v1.0/contact/dingIndexs")).toBe(1);
    });
  });

  describe("connection errors", () => {
    it("name the origin they tried (never credentials), keep the cause, and say ECONNREFUSED", async () => {
      const url = await FaultServer.refusedUrl();
      const error = await client({
        baseUrl: url,
        retry: false,
        accessToken: TOKEN,
        appKey: undefined,
        appSecret: undefined,
      })
        .contact.getLatestDingIndex()
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "ConnectionError", errno: "ECONNREFUSED", beforeSend: true });
      expect((error as Error).message).toContain(new URL(url).origin);
      expect((error as Error).cause).toBeInstanceOf(Error);
      expect(JSON.stringify(error) + String(error)).not.toContain(TOKEN);
    });
  });

  describe("fields that cannot be turned into text", () => {
    const UNPRINTABLE = '{"toString":1,"valueOf":1}';

    it("a refusal's field whose toString throws, or nested 100,000 deep, is data, not a ConfigError", async () => {
      const bodies = [`{"status":${UNPRINTABLE}}`, `{"status":${"[".repeat(100_000)}${"]".repeat(100_000)}}`];
      let next = 0;
      server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(bodies[next++]);
      });
      const dt = client();
      expect(await dt.contact.getLatestDingIndex()).toEqual({ status: { toString: 1, valueOf: 1 } });
      expect(await dt.contact.getLatestDingIndex()).toHaveProperty("status");
    });

    it("an API's error class that throws on an answer gives a ParseError, not its own exception", async () => {
      server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) =>
        json(res, 400, { code: "parameter.error" }),
      );
      class Fussy extends ApiError {
        constructor(fields: ApiErrorFields) {
          super(fields);
          throw new TypeError("this class cannot read that body");
        }
      }
      const api = createClient<Operations, typeof operations>(
        { profile, operations, error: Fussy },
        { baseUrl: server.url, accessToken: TOKEN, rateLimit: false, ...transport },
      );
      const error = await api.contact.getLatestDingIndex().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ParseError);
      expect(error).toMatchObject({
        status: 400,
        message: expect.stringMatching(/→ 400: the answer cannot be read$/),
      });
    });

    it("required scopes that are not names are left out of the typed error", async () => {
      server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
        res.writeHead(403, { "content-type": "application/json" });
        res.end(
          `{"code":"Forbidden.AccessDenied.AccessTokenPermissionDenied","message":"no","accessdenieddetail":{"requiredScopes":[${UNPRINTABLE},"qyapi_get_member",[1]]}}`,
        );
      });
      const error = await client()
        .contact.getLatestDingIndex()
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        name: "DingTalkError",
        status: 403,
        requiredScopes: ["qyapi_get_member"],
      });
    });

    it.each([
      ["an empty body", ""],
      ["null", "null"],
      ["a number", "42"],
      ["no refresh token", '{"accessToken":"user-token-1234","expireIn":7200}'],
    ])("a user-token answer of %s is a ParseError", async (_case, body) => {
      server.on("POST", "/v1.0/oauth2/userAccessToken", (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(body);
      });
      const dt = client();
      for (const call of [
        () => dt.userTokens.exchangeCode("code-1234"),
        () => dt.userTokens.refresh("r-1234"),
      ])
        expect(await call().catch((e: unknown) => e)).toBeInstanceOf(ParseError);
    });

    it("a user token's lifetime that is not a number is the default one, not NaN", async () => {
      server.on("POST", "/v1.0/oauth2/userAccessToken", (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(`{"accessToken":"user-token-1234","refreshToken":"r-5678","expireIn":${UNPRINTABLE}}`);
      });
      const lifetime = (profile.tokens[0]?.defaultLifetime ?? 0) * 1000;
      const before = Date.now();
      const token = await client().userTokens.exchangeCode("code-1234");
      expect(token.expiresAt).toBeGreaterThanOrEqual(before + lifetime);
      expect(token.expiresAt).toBeLessThanOrEqual(Date.now() + lifetime);
    });
  });

  describe("small things with real effects", () => {
    it("a logger that returns a rejected promise does not crash anything", async () => {
      const unhandled = collectUnhandledRejections();
      server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => json(res, 200, {}));
      await client({
        logger: async () => Promise.reject(new Error("logger down")),
      }).contact.getLatestDingIndex();
      await delay(50);
      unhandled.stop();
      expect(unhandled.reasons).toEqual([]);
    });

    it("200 calls on one signal give no MaxListenersExceededWarning", async () => {
      const warnings: Error[] = [];
      const onWarning = (w: Error) => warnings.push(w);
      process.on("warning", onWarning);
      server.on("GET", "/v1.0/contact/dingIndexs", async (_req, res) => {
        await delay(20);
        json(res, 200, {});
      });
      const signal = new AbortController().signal;
      const dt = client();
      await Promise.all(
        Array.from({ length: 200 }, () => dt.contact.getLatestDingIndex(undefined, { signal })),
      );
      await delay(20);
      process.off("warning", onWarning);
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
    });

    it.each(["host", "Content-Length", "transfer-encoding", "connection"])(
      "the framing header %s from options is refused, and nothing is sent",
      async (name) => {
        server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => json(res, 200, {}));
        const call = client({ headers: { [name]: "evil" } }).contact.getLatestDingIndex();
        await expect(call).rejects.toMatchObject({ name: "ConfigError" });
        expect(server.count("GET", "/v1.0/contact/dingIndexs")).toBe(0);
      },
    );

    it("query keys are percent-encoded like values: an object key cannot add a parameter", () => {
      expect(queryPairs("filter", { "a&access_token=x": "1", plain: "v w" })).toEqual([
        "filter[a%26access_token%3Dx]=1",
        "filter[plain]=v%20w",
      ]);
    });
  });
});
