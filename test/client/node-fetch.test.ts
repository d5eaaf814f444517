/**
 * createNodeFetch against real node:http servers on 127.0.0.1 (ephemeral ports): what goes on the
 * wire, what comes back, connection reuse, decoding, and how every failure surfaces.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { createDingTalk } from "imspec/dingtalk";
import { createNodeFetch, type NodeFetch } from "imspec/node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { headersFrom, isTimeoutReason, readerOf, readWhole } from "../../src/core/transport.js";
import { FaultServer } from "../support/fault-server.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  remotePort: number | undefined;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A node:http server whose answer each test sets; it records every request and every socket. */
class TestServer {
  readonly seen: Seen[] = [];
  readonly sockets = new Set<Socket>();
  connections = 0;
  handler: Handler = (_req, res) => res.end("ok");
  url = "";
  #server: Server;

  constructor() {
    this.#server = createServer({ keepAlive: true }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        this.seen.push({
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body,
          remotePort: req.socket.remotePort,
        });
        this.handler(req, res, body);
      });
    });
    this.#server.keepAliveTimeout = 30_000;
    this.#server.on("connection", (socket: Socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<this> {
    this.#server.listen(0, "127.0.0.1");
    await once(this.#server, "listening");
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

let server: TestServer;
let nodeFetch: NodeFetch;

beforeEach(async () => {
  server = await new TestServer().start();
  nodeFetch = createNodeFetch();
});
afterEach(async () => {
  nodeFetch.destroy();
  await server.stop();
});

const echo: Handler = (req, res, body) => {
  res.writeHead(200, { "content-type": "application/json", "x-echo": "yes" });
  res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
};

describe("requests and responses", () => {
  it("sends a GET with its query and headers, and returns status, headers and body", async () => {
    server.handler = echo;
    const response = await nodeFetch(`${server.url}/v1/items?a=1&b=%E4%B8%AD`, {
      headers: { "X-Token": "t-1", accept: "application/json" },
    });
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(200);
    expect(response.ok).toBe(true);
    expect(response.url).toBe(`${server.url}/v1/items?a=1&b=%E4%B8%AD`);
    expect(response.headers.get("x-echo")).toBe("yes");
    expect(response.headers.get("content-type")).toBe("application/json");
    const echoed = (await response.json()) as {
      method: string;
      url: string;
      headers: Record<string, string>;
    };
    expect(echoed.method).toBe("GET");
    expect(echoed.url).toBe("/v1/items?a=1&b=%E4%B8%AD");
    expect(echoed.headers["x-token"]).toBe("t-1");
    expect(echoed.headers.accept).toBe("application/json");
    expect(echoed.headers.host).toBe(new URL(server.url).host);
  });

  it("sends a POST body with its content type and length", async () => {
    server.handler = echo;
    const payload = JSON.stringify({ name: "李雷", ids: [1, 2] });
    const response = await nodeFetch(new URL(`${server.url}/v1/items`), {
      method: "POST",
      headers: new Headers({ "content-type": "application/json" }),
      body: payload,
    });
    const echoed = (await response.json()) as {
      method: string;
      headers: Record<string, string>;
      body: string;
    };
    expect(echoed.method).toBe("POST");
    expect(echoed.body).toBe(payload);
    expect(echoed.headers["content-type"]).toBe("application/json");
    expect(echoed.headers["content-length"]).toBe(String(Buffer.byteLength(payload)));
  });

  it("gives string, form and byte bodies the content type fetch would", async () => {
    server.handler = echo;
    const sent = async (body: BodyInit) =>
      ((await (await nodeFetch(server.url, { method: "PUT", body })).json()) as {
        headers: Record<string, string>;
        body: string;
      }) ?? {};
    const text = await sent("plain");
    expect(text.body).toBe("plain");
    expect(text.headers["content-type"]).toBe("text/plain;charset=UTF-8");
    const form = await sent(new URLSearchParams({ a: "1", b: "x y" }));
    expect(form.body).toBe("a=1&b=x+y");
    expect(form.headers["content-type"]).toBe("application/x-www-form-urlencoded;charset=UTF-8");
    const bytes = await sent(new TextEncoder().encode("raw"));
    expect(bytes.body).toBe("raw");
    expect(bytes.headers["content-type"]).toBeUndefined();
    expect(bytes.headers["content-length"]).toBe("3");
  });

  it("accepts a Request: its method, headers and body", async () => {
    server.handler = echo;
    const request = new Request(`${server.url}/from-request`, {
      method: "POST",
      headers: { "x-from": "request", "content-type": "application/json" },
      body: '{"ok":true}',
    });
    const echoed = (await (await nodeFetch(request)).json()) as {
      method: string;
      url: string;
      headers: Record<string, string>;
      body: string;
    };
    expect(echoed).toMatchObject({ method: "POST", url: "/from-request", body: '{"ok":true}' });
    expect(echoed.headers["x-from"]).toBe("request");
  });

  it("refuses a body on GET like fetch does", async () => {
    await expect(nodeFetch(server.url, { method: "GET", body: "x" })).rejects.toThrow(TypeError);
    expect(server.seen).toHaveLength(0);
  });

  it("reuses one keep-alive connection for sequential calls", async () => {
    server.handler = echo;
    for (let i = 0; i < 5; i++) {
      const response = await nodeFetch(`${server.url}/n/${i}`);
      await response.arrayBuffer();
    }
    expect(server.seen).toHaveLength(5);
    expect(server.connections).toBe(1);
    expect(new Set(server.seen.map((s) => s.remotePort)).size).toBe(1);
    expect(server.seen[0]?.headers.connection).toBe("keep-alive");
  });

  it.each([
    ["gzip", gzipSync],
    ["deflate", deflateSync],
    ["br", brotliCompressSync],
  ] as const)("decodes a %s body", async (encoding, compress) => {
    const text = JSON.stringify({ encoding, filler: "钉钉".repeat(2000) });
    server.handler = (_req, res) => {
      const bytes = compress(Buffer.from(text));
      res.writeHead(200, {
        "content-type": "application/json",
        "content-encoding": encoding,
        "content-length": String(bytes.length),
      });
      res.end(bytes);
    };
    const response = await nodeFetch(server.url);
    expect(await response.text()).toBe(text);
    // The connection went back to the pool after a decoded body.
    await (await nodeFetch(server.url)).text();
    expect(server.connections).toBe(1);
  });

  it("returns a null body for 204 and for HEAD, and keeps the connection usable", async () => {
    server.handler = (req, res) => {
      if (req.url === "/empty") {
        res.writeHead(204, { "x-kind": "no-content" });
        res.end();
        return;
      }
      res.writeHead(200, { "content-type": "text/plain", "content-length": "5" });
      res.end(req.method === "HEAD" ? undefined : "hello");
    };
    const empty = await nodeFetch(`${server.url}/empty`, { method: "DELETE" });
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    expect(empty.headers.get("x-kind")).toBe("no-content");
    const head = await nodeFetch(`${server.url}/page`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
    expect(head.headers.get("content-length")).toBe("5");
    const after = await nodeFetch(`${server.url}/page`);
    expect(await after.text()).toBe("hello");
    expect(server.connections).toBe(1);
  });
});

describe("redirects", () => {
  beforeEach(() => {
    server.handler = (req, res) => {
      if (req.url === "/moved") {
        res.writeHead(302, { location: "/target" });
        res.end("see /target");
        return;
      }
      res.end("target");
    };
  });

  it("returns a 3xx as it is, without following it", async () => {
    const response = await nodeFetch(`${server.url}/moved`);
    expect(response.status).toBe(302);
    expect(response.redirected).toBe(false);
    expect(response.headers.get("location")).toBe("/target");
    expect(await response.text()).toBe("see /target");
    expect(server.seen.map((s) => s.url)).toEqual(["/moved"]);
  });

  it('rejects a 3xx with redirect: "error"', async () => {
    const call = nodeFetch(`${server.url}/moved`, { redirect: "error" });
    await expect(call).rejects.toThrow(TypeError);
    await expect(call).rejects.toThrow("fetch failed");
    expect(server.seen.map((s) => s.url)).toEqual(["/moved"]);
  });
});

describe("failures", () => {
  it('rejects a refused connection with TypeError("fetch failed") and cause ECONNREFUSED', async () => {
    const url = await FaultServer.refusedUrl();
    const error = await nodeFetch(`${url}/x`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe("fetch failed");
    expect(((error as TypeError).cause as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });

  it("rejects with the signal's reason when aborted before the request", async () => {
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    controller.abort(reason);
    await expect(nodeFetch(server.url, { signal: controller.signal })).rejects.toBe(reason);
    expect(server.seen).toHaveLength(0);
  });

  it("rejects with the signal's reason when aborted during the request", async () => {
    let arrived!: () => void;
    const seen = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    server.handler = () => arrived(); // never answers
    const controller = new AbortController();
    const reason = new Error("deadline");
    const call = nodeFetch(server.url, { signal: controller.signal });
    await seen;
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
  });

  it("rejects with an AbortError DOMException when aborted without a reason", async () => {
    server.handler = () => {};
    const controller = new AbortController();
    const call = nodeFetch(server.url, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe("AbortError");
  });

  it("errors the body read with a TypeError when the connection is cut mid-body", async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const response = await nodeFetch(server.url);
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow(TypeError);
  });

  it("errors the body read with a TypeError when a chunked body is cut", async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first chunk");
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const response = await nodeFetch(server.url);
    await expect(response.text()).rejects.toThrow(TypeError);
  });

  it("errors the body read with the signal's reason when aborted after the headers", async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "1000" });
      res.write("part");
    };
    const controller = new AbortController();
    const reason = new Error("stop reading");
    const response = await nodeFetch(server.url, { signal: controller.signal });
    const reading = response.text();
    controller.abort(reason);
    await expect(reading).rejects.toBe(reason);
  });

  it("reads a large body to its end, and a cancelled body does not break the next call", async () => {
    const big = "x".repeat(4 * 1024 * 1024);
    server.handler = (req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(req.url === "/small" ? "small" : big);
    };
    expect((await (await nodeFetch(`${server.url}/big`)).text()).length).toBe(big.length);
    const cancelled = await nodeFetch(`${server.url}/big`);
    await cancelled.body?.cancel();
    expect(await (await nodeFetch(`${server.url}/small`)).text()).toBe("small");
  });

  it("destroy() closes the pooled connections", async () => {
    await (await nodeFetch(server.url)).text();
    expect(server.sockets.size).toBe(1);
    const [socket] = server.sockets;
    const closed = once(socket as Socket, "close");
    nodeFetch.destroy();
    await closed;
    expect(server.sockets.size).toBe(0);
  });
});

describe("as the transport of a client", () => {
  it("createDingTalk with fetch: createNodeFetch() calls end to end", async () => {
    const settings = {
      seniorStaffId: "013349365367-1094322561",
      protectScenes: ["CHAT"],
      seniorWhiteList: [{ id: "1234", type: 3, name: "测试角色" }],
    };
    server.handler = (req, res, body) => {
      res.setHeader("content-type", "application/json");
      if (req.method === "POST" && req.url === "/v1.0/oauth2/accessToken") {
        const { appKey, appSecret } = JSON.parse(body) as { appKey: string; appSecret: string };
        if (appKey !== "ding-app" || appSecret !== "node-fetch-secret") {
          res.statusCode = 400;
          res.end(JSON.stringify({ code: "invalidClientIdOrSecret", message: "bad", requestid: "R1" }));
          return;
        }
        res.end(JSON.stringify({ accessToken: "tok-node-fetch", expireIn: 7200 }));
        return;
      }
      if (req.headers["x-acs-dingtalk-access-token"] !== "tok-node-fetch") {
        res.statusCode = 401;
        res.end(JSON.stringify({ code: "InvalidAuthentication", message: "bad token", requestid: "R2" }));
        return;
      }
      res.setHeader("x-acs-request-id", "REQ-NODE-FETCH");
      res.end(JSON.stringify(settings));
    };
    const dt = createDingTalk({
      appKey: "ding-app",
      appSecret: "node-fetch-secret",
      baseUrl: server.url,
      fetch: nodeFetch,
    });
    const first = await dt.contact.listSeniorSettings({ seniorStaffId: settings.seniorStaffId });
    expect(first).toEqual(settings);
    const { data, requestId } = await dt.contact
      .listSeniorSettings({ seniorStaffId: settings.seniorStaffId })
      .withResponse();
    expect(data).toEqual(settings);
    expect(requestId).toBe("REQ-NODE-FETCH");
    expect(server.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "POST /v1.0/oauth2/accessToken",
      "GET /v1.0/contact/seniorSettings?seniorStaffId=013349365367-1094322561",
      "GET /v1.0/contact/seniorSettings?seniorStaffId=013349365367-1094322561",
    ]);
    expect(server.connections).toBe(1);
  });
});

describe("the whole-answer entry the clients use", () => {
  /** The answer as `fetch` + `text()` gives it, and as the whole-answer entry gives it. */
  async function viaFetch(url: string, init: RequestInit = {}) {
    const response = await nodeFetch(url, { ...init, redirect: "manual" });
    const text = await response.text();
    return { status: response.status, statusText: response.statusText, headers: [...response.headers], text };
  }
  async function viaReader(url: string, init: { method?: string; body?: string; signal?: AbortSignal } = {}) {
    const read = readerOf(nodeFetch);
    if (!read) throw new Error("createNodeFetch() has no whole-answer entry");
    const answer = await read({
      url: new URL(url),
      method: init.method ?? "GET",
      headers: { "x-test": "1" },
      body: init.body,
      signal: init.signal,
      timeout: 5_000,
    });
    const { status, statusText, rawHeaders, text } = answer;
    return { status, statusText, headers: [...headersFrom(rawHeaders)], text };
  }
  const settle = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (e: unknown) => e,
    );

  it("is there on createNodeFetch(), not on the global fetch", () => {
    expect(readerOf(nodeFetch)).toBeTypeOf("function");
    expect(readerOf(globalThis.fetch)).toBeUndefined();
    expect(readerOf(() => {})).toBeUndefined();
  });

  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
  it.each([
    [
      "JSON",
      (res: ServerResponse) => res.writeHead(200, { "content-type": "application/json" }).end('{"a":1}'),
    ],
    ["a UTF-8 BOM", (res: ServerResponse) => res.end(Buffer.concat([BOM, Buffer.from('{"a":"中"}')]))],
    ["bytes that are not UTF-8", (res: ServerResponse) => res.end(Buffer.from([0x41, 0xff, 0xc3, 0x28]))],
    ["an empty body", (res: ServerResponse) => res.writeHead(200, { "content-length": "0" }).end()],
    ["204", (res: ServerResponse) => res.writeHead(204, { "x-kind": "none" }).end()],
    [
      "a 302 (not followed)",
      (res: ServerResponse) => res.writeHead(302, { location: "/elsewhere" }).end("see"),
    ],
    [
      "a status text in Latin-1",
      (res: ServerResponse) => res.writeHead(418, "Caf\u00e9 ferm\u00e9").end("{}"),
    ],
    [
      "duplicate headers",
      (res: ServerResponse) =>
        res
          .writeHead(200, [
            ["x-id", "a"],
            ["x-id", "b"],
          ])
          .end("x"),
    ],
    [
      "a chunked body",
      (res: ServerResponse) => {
        res.write("part one, ");
        setTimeout(() => res.end("part two"), 5);
      },
    ],
    [
      "a gzip body",
      (res: ServerResponse) =>
        res.writeHead(200, { "content-encoding": "gzip" }).end(gzipSync("钉钉".repeat(500))),
    ],
    [
      "a br body",
      (res: ServerResponse) =>
        res.writeHead(200, { "content-encoding": "br" }).end(brotliCompressSync("x".repeat(999))),
    ],
  ])("hands over what fetch + text() would: %s", async (_name, answer) => {
    server.handler = (_req, res) => answer(res);
    expect(await viaReader(`${server.url}/a`)).toEqual(await viaFetch(`${server.url}/a`));
  });

  it("hands over a HEAD answer with an empty text, and sends a body like fetch", async () => {
    server.handler = echo;
    const head = await viaReader(`${server.url}/h`, { method: "HEAD" });
    expect(head).toMatchObject({ status: 200, text: "" });
    const posted = await viaReader(`${server.url}/p`, { method: "POST", body: '{"n":"李"}' });
    const seen = server.seen.at(-1);
    expect(seen?.body).toBe('{"n":"李"}');
    expect(seen?.headers["content-length"]).toBe(String(Buffer.byteLength('{"n":"李"}')));
    expect(seen?.headers["content-type"]).toBe("text/plain;charset=UTF-8");
    expect(seen?.headers["x-test"]).toBe("1");
    expect(posted.status).toBe(200);
    await expect(viaReader(server.url, { body: "x" })).rejects.toThrow(TypeError);
  });

  it("fails as fetch + text() fail: refused, cut mid-body, closed early, a status Response refuses", async () => {
    const refusedUrl = await FaultServer.refusedUrl();
    const refused = (await settle(viaReader(refusedUrl))) as TypeError;
    expect(refused).toBeInstanceOf(TypeError);
    expect(refused.message).toBe("fetch failed");
    expect((refused.cause as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");

    server.handler = (_req, res) => {
      res.writeHead(200, { "content-length": "1000" });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const cut = (await settle(viaReader(server.url))) as TypeError;
    expect(cut).toBeInstanceOf(TypeError);
    expect(cut.message).toBe("terminated");
    expect(String((await settle(viaFetch(server.url))) as Error)).toBe(String(cut));

    server.handler = (_req, res) => res.socket?.end("HTTP/1.1 600 Odd\r\ncontent-length: 2\r\n\r\n{}");
    const odd = (await settle(viaReader(server.url))) as TypeError;
    const oddFetch = (await settle(viaFetch(server.url))) as TypeError;
    expect(odd).toBeInstanceOf(TypeError);
    expect(odd.message).toBe("fetch failed");
    expect(String(odd.cause)).toBe(String(oddFetch.cause));
  });

  it("rejects with the signal's reason, before or during the exchange", async () => {
    const before = new AbortController();
    const reason = new Error("caller gave up");
    before.abort(reason);
    expect(await settle(viaReader(server.url, { signal: before.signal }))).toBe(reason);
    expect(server.seen).toHaveLength(0);

    server.handler = (_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("part");
    };
    const during = new AbortController();
    const reading = settle(viaReader(server.url, { signal: during.signal }));
    setTimeout(() => during.abort(reason), 30);
    expect(await reading).toBe(reason);
  });

  it("rejects with a TimeoutError DOMException when the timeout elapses, and drops the connection", async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("slow");
    };
    const read = readerOf(nodeFetch);
    const started = Date.now();
    const error = await settle(
      read?.({
        url: new URL(server.url),
        method: "GET",
        headers: {},
        body: undefined,
        signal: undefined,
        timeout: 50,
      }) ?? Promise.resolve(),
    );
    expect(isTimeoutReason(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
    server.handler = (_req, res) => res.end("next");
    expect((await viaReader(server.url)).text).toBe("next");
    expect(server.connections).toBe(2);
  });
});

describe("a client over createNodeFetch() behaves as over its fetch function", () => {
  const TOKEN = "tok-whole-answer-1234";
  const scenarios: Record<string, Handler> = {
    success: (_req, res) =>
      res
        .writeHead(200, { "content-type": "application/json", "x-acs-request-id": "R-1" })
        .end('{"ok":true}'),
    "an API error that echoes the token": (_req, res) =>
      res
        .writeHead(400, `Bad ${TOKEN}`, { "content-type": "application/json", "x-echo": TOKEN })
        .end(JSON.stringify({ code: "parameter.error", message: `token ${TOKEN}`, requestid: "R-2" })),
    "HTML with 200": (_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html></html>"),
    "503 then success": (() => {
      let n = 0;
      return (_req: IncomingMessage, res: ServerResponse) => {
        if (n++ % 2 === 0) res.writeHead(503, { "retry-after": "0" }).end("{}");
        else res.end('{"second":true}');
      };
    })(),
    "a reset mid-body": (_req, res) => {
      res.writeHead(200, { "content-length": "500" });
      res.write('{"cut');
      setTimeout(() => res.socket?.destroy(), 10);
    },
    "a status Response refuses": (_req, res) =>
      res.socket?.end("HTTP/1.1 600 Odd\r\ncontent-length: 2\r\n\r\n{}"),
    "no answer (timeout)": () => {},
  };

  async function outcomeOf(fetch: typeof globalThis.fetch, scenario: string, signal?: AbortSignal) {
    const handler = scenarios[scenario] as Handler;
    server.handler = handler;
    const seen = server.seen.length;
    const dt = createDingTalk({
      accessToken: TOKEN,
      baseUrl: server.url,
      fetch,
      timeout: 80,
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
    });
    try {
      const { data, requestId, response } = await dt.contact
        .getLatestDingIndex({}, signal ? { signal } : {})
        .withResponse();
      return {
        data,
        requestId,
        status: response.status,
        headers: [...response.headers].filter(([name]) => name !== "date"),
        text: await response.text(),
        requests: server.seen.length - seen,
      };
    } catch (error) {
      const e = error as Error & Record<string, unknown>;
      return {
        error: e.name,
        json: JSON.stringify(e),
        headers: e.headers instanceof Headers ? [...e.headers].filter(([n]) => n !== "date") : undefined,
        body: e.body,
        requests: server.seen.length - seen,
      };
    }
  }

  it.each(Object.keys(scenarios))("%s", async (scenario) => {
    const plain = ((input: string | URL | Request, init?: RequestInit) =>
      nodeFetch(input, init)) as typeof globalThis.fetch;
    const whole = await outcomeOf(nodeFetch as typeof globalThis.fetch, scenario);
    const fetched = await outcomeOf(plain, scenario);
    expect(whole).toEqual(fetched);
    expect(JSON.stringify(whole)).not.toContain(TOKEN);
  });

  it("a refused connection: ConnectionError before sending, retried, the same either way", async () => {
    const url = await FaultServer.refusedUrl();
    const plain = ((input: string | URL | Request, init?: RequestInit) =>
      nodeFetch(input, init)) as typeof globalThis.fetch;
    const run = (fetch: typeof globalThis.fetch) =>
      createDingTalk({ accessToken: TOKEN, baseUrl: url, fetch, retry: { baseDelayMs: 1, maxDelayMs: 2 } })
        .contact.getLatestDingIndex()
        .catch((e: unknown) => JSON.stringify(e));
    const whole = await run(nodeFetch as typeof globalThis.fetch);
    expect(whole).toBe(await run(plain));
    expect(JSON.parse(whole as string)).toMatchObject({
      name: "ConnectionError",
      errno: "ECONNREFUSED",
      beforeSend: true,
      attempts: 3,
    });
  });

  it("an abort during the call: AbortError either way", async () => {
    const plain = ((input: string | URL | Request, init?: RequestInit) =>
      nodeFetch(input, init)) as typeof globalThis.fetch;
    for (const fetch of [nodeFetch as typeof globalThis.fetch, plain]) {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 20);
      const result = await outcomeOf(fetch, "no answer (timeout)", controller.signal);
      expect(result).toMatchObject({ error: "AbortError", requests: 1 });
    }
  });

  it("the client asks the whole-answer entry, not the fetch function", async () => {
    server.handler = (_req, res) => res.end('{"via":"reader"}');
    const onlyReader = Object.assign(
      () => {
        throw new Error("the fetch function was called");
      },
      { [readWhole]: readerOf(nodeFetch) },
    ) as unknown as typeof globalThis.fetch;
    const dt = createDingTalk({ accessToken: TOKEN, baseUrl: server.url, fetch: onlyReader });
    expect(await dt.contact.getLatestDingIndex()).toEqual({ via: "reader" });
  });
});
