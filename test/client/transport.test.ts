/**
 * The transport seam, `(request) → {status, headers, body}`, against real node:http servers on
 * 127.0.0.1: every case runs on both implementations, `nodeTransport()` (the default on Node) and
 * `fetchTransport(globalThis.fetch)`. What goes on the wire, what comes back, connection reuse,
 * decoding, and how every failure surfaces: a `TransportFailure` of kind timeout, too-large or
 * network, or the caller's own abort reason.
 */
import type { ServerResponse } from "node:http";
import {
  brotliCompressSync,
  constants,
  createBrotliCompress,
  deflateRawSync,
  deflateSync,
  gzipSync,
} from "node:zlib";
import { createDingTalk } from "imspec/dingtalk";
import { nodeTransport } from "imspec/node";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  boundedTransport,
  fetchTransport,
  type Transport,
  TransportFailure,
  type TransportRequest,
} from "../../src/core/transport.js";
import { FaultServer } from "../support/fault-server.js";
import { delay, type Received, ScriptedServer } from "../support/scripted-server.js";

interface Subject {
  transport: Transport;
  close(): void;
  /**
   * Connections that sequential calls open: one for node:http's pool; two for Node's fetch, which
   * (undici) releases a connection only after the caller has read the body, so the next call at once
   * takes a second one, and the two then alternate.
   */
  sequentialSockets: number;
}

const TRANSPORTS: Array<[string, () => Subject]> = [
  [
    "nodeTransport()",
    () => {
      const transport = nodeTransport();
      return { transport, close: () => transport.destroy(), sequentialSockets: 1 };
    },
  ],
  [
    "fetchTransport(globalThis.fetch)",
    () => ({ transport: fetchTransport(globalThis.fetch), close() {}, sequentialSockets: 2 }),
  ],
];

/** What `settle` gives for a rejection: the reason itself. */
const settle = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

/** 128 MiB of one byte, brotli-compressed: about 200 bytes on the wire. Built in 1 MiB steps. */
function brotliBomb(): Promise<Buffer> {
  const compress = createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
  const parts: Buffer[] = [];
  compress.on("data", (part: Buffer) => parts.push(part));
  const chunk = Buffer.alloc(1 << 20, 0x61);
  for (let i = 0; i < 128; i++) compress.write(chunk);
  compress.end();
  return new Promise((resolve, reject) => {
    compress.on("end", () => resolve(Buffer.concat(parts)));
    compress.on("error", reject);
  });
}

/** The highest RSS seen (sampled every 5 ms) while `work` runs, over the RSS before it. */
async function rssGrowth(work: () => Promise<unknown>): Promise<number> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, process.memoryUsage().rss) - before;
}

let bomb: Buffer;
beforeAll(async () => {
  bomb = await brotliBomb();
});

describe.each(TRANSPORTS)("%s", (_name, make) => {
  let server: ScriptedServer;
  let subject: Subject;
  /** The client port of each request the server answered: one port, one connection. */
  let ports: Array<number | undefined>;

  beforeEach(async () => {
    server = await new ScriptedServer().start();
    subject = make();
    ports = [];
  });
  afterEach(async () => {
    subject.close();
    await server.stop();
  });

  /** Routes every method on every path to `handler`, recording the client port. */
  const serve = (handler: (req: Received, res: ServerResponse) => void | Promise<void>) => {
    for (const method of ["GET", "POST", "PUT", "DELETE", "HEAD"])
      server.on(
        method,
        () => true,
        (req, res) => {
          ports.push(res.socket?.remotePort);
          return handler(req, res);
        },
      );
  };

  const send = (over: Partial<TransportRequest> = {}) =>
    subject.transport({
      url: `${server.url}/a`,
      method: "GET",
      headers: {},
      body: undefined,
      signal: undefined,
      timeout: 5_000,
      maxBytes: 10 * 1024 * 1024,
      ...over,
    });

  it("an answer is plain data to its reader: headers survive a spread, JSON and a Proxy", async () => {
    serve(
      (_req, res) => void res.writeHead(200, { "x-one": "1", "content-type": "application/json" }).end("{}"),
    );
    const answer = await send();
    const expected = { status: 200, body: "{}" };
    expect({ ...answer }).toMatchObject({ ...expected, headers: expect.objectContaining({ "x-one": "1" }) });
    expect(JSON.parse(JSON.stringify(answer))).toMatchObject({ ...expected, headers: { "x-one": "1" } });
    expect(new Proxy(answer, {}).headers["x-one"]).toBe("1");
    expect(Object.keys(answer)).toEqual(expect.arrayContaining(["status", "headers", "body"]));
  });

  const failure = async (over: Partial<TransportRequest> = {}) => {
    const outcome = await settle(send(over));
    if (!("error" in outcome)) throw new Error(`no failure: ${JSON.stringify(outcome.value)}`);
    return outcome.error;
  };

  describe("requests and answers", () => {
    it("sends a GET with its query and headers, and returns status, status text, headers and body", async () => {
      serve((_req, res) => {
        res.writeHead(200, "Fine", { "content-type": "application/json", "X-Echo": "yes" });
        res.end('{"a":"钉"}');
      });
      const answer = await send({
        url: `${server.url}/v1/items?a=1&b=%E4%B8%AD&c[d]=e`,
        headers: { "x-token": "t-1", accept: "application/json" },
      });
      expect(answer).toMatchObject({ status: 200, statusText: "Fine", body: '{"a":"钉"}' });
      expect(answer.headers["content-type"]).toBe("application/json");
      expect(answer.headers["x-echo"]).toBe("yes");
      expect(Object.keys(answer.headers).every((name) => name === name.toLowerCase())).toBe(true);
      const [seen] = server.requests;
      expect(seen?.method).toBe("GET");
      expect(seen?.url).toBe("/v1/items?a=1&b=%E4%B8%AD&c[d]=e");
      expect(seen?.headers["x-token"]).toBe("t-1");
      expect(seen?.headers.accept).toBe("application/json");
      expect(seen?.headers.host).toBe(new URL(server.url).host);
      expect(seen?.body).toBe("");
    });

    it("sends a POST body with its content type and length", async () => {
      serve((_req, res) => void res.end("{}"));
      const payload = JSON.stringify({ name: "李雷", ids: [1, 2] });
      await send({ method: "POST", headers: { "content-type": "application/json" }, body: payload });
      const [seen] = server.requests;
      expect(seen?.method).toBe("POST");
      expect(seen?.body).toBe(payload);
      expect(seen?.headers["content-type"]).toBe("application/json");
      expect(seen?.headers["content-length"]).toBe(String(Buffer.byteLength(payload)));
    });

    it("joins repeated answer headers with a comma, set-cookie too", async () => {
      serve((_req, res) => {
        res.writeHead(200, [
          ["X-Id", "a"],
          ["x-id", "b"],
          ["Set-Cookie", "a=1"],
          ["set-cookie", "b=2"],
        ]);
        res.end("x");
      });
      const answer = await send();
      expect(answer.headers["x-id"]).toBe("a, b");
      expect(answer.headers["set-cookie"]).toBe("a=1, b=2");
    });

    it("returns a 3xx as it is, without following it", async () => {
      serve((req, res) => {
        if (req.pathname === "/moved") res.writeHead(302, { location: "/target" }).end("see /target");
        else res.end("target");
      });
      const answer = await send({ url: `${server.url}/moved` });
      expect(answer.status).toBe(302);
      expect(answer.headers.location).toBe("/target");
      expect(answer.body).toBe("see /target");
      expect(server.requests.map((r) => r.url)).toEqual(["/moved"]);
    });

    it.each([
      ["gzip", gzipSync],
      ["deflate", deflateSync],
      ["br", brotliCompressSync],
    ] as const)("decodes a %s body", async (encoding, compress) => {
      const text = JSON.stringify({ encoding, filler: "钉钉".repeat(2000) });
      serve((_req, res) => {
        const bytes = compress(Buffer.from(text));
        res.writeHead(200, {
          "content-type": "application/json",
          "content-encoding": encoding,
          "content-length": String(bytes.length),
        });
        res.end(bytes);
      });
      expect((await send()).body).toBe(text);
      // The connection went back to the pool after a decoded body.
      expect((await send()).body).toBe(text);
      expect(new Set(ports).size).toBeLessThanOrEqual(subject.sequentialSockets);
    });

    it("decodes a deflate body sent raw, without its zlib wrapper, as browsers and fetch do", async () => {
      const text = JSON.stringify({ encoding: "raw deflate", filler: "钉钉".repeat(2000) });
      serve((_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "deflate" });
        res.end(deflateRawSync(Buffer.from(text)));
      });
      expect((await send()).body).toBe(text);
      expect((await send()).body).toBe(text);
    });

    it.each([
      ["gzip, br", (b: Buffer) => brotliCompressSync(gzipSync(b))],
      ["GZIP ,Br", (b: Buffer) => brotliCompressSync(gzipSync(b))],
      ["deflate, gzip", (b: Buffer) => gzipSync(deflateSync(b))],
      [["br", "gzip"], (b: Buffer) => gzipSync(brotliCompressSync(b))],
      [["gzip", "gzip, deflate"], (b: Buffer) => deflateSync(gzipSync(gzipSync(b)))],
    ] as Array<[string | string[], (bytes: Buffer) => Buffer]>)(
      "decodes a body of codings %j, undone in the reverse order of their application",
      async (encoding, compress) => {
        const text = JSON.stringify({ encoding, filler: "钉钉".repeat(2000) });
        serve((_req, res) => {
          // An array: the header sent as that many lines.
          res.setHeader("content-encoding", encoding);
          res.writeHead(200, { "content-type": "application/json" });
          res.end(compress(Buffer.from(text)));
        });
        expect((await send()).body).toBe(text);
        // The connection went back to the pool after a body decoded through several codings.
        expect((await send()).body).toBe(text);
        expect(new Set(ports).size).toBeLessThanOrEqual(subject.sequentialSockets);
      },
    );

    it.each(["gzip, compress", "compress, gzip", "gzip, constructor", "gzip,"])(
      "passes a body of codings %s, one of them unknown, through as it came, as fetch does",
      async (encoding) => {
        const bytes = gzipSync('{"idxTotal":1}');
        serve((_req, res) => {
          res.writeHead(200, { "content-type": "application/json", "content-encoding": encoding });
          res.end(bytes);
        });
        expect((await send()).body).toBe(new TextDecoder().decode(bytes));
      },
    );

    it("a body of more than five codings: network, as fetch refuses it", async () => {
      serve((_req, res) => {
        res.writeHead(200, { "content-encoding": "gzip, gzip, gzip, gzip, gzip, gzip" });
        res.end([1, 2, 3, 4, 5, 6].reduce((bytes) => gzipSync(bytes), Buffer.from("{}")));
      });
      const error = await failure();
      expect(error).toBeInstanceOf(TransportFailure);
      expect((error as TransportFailure).kind).toBe("network");
    });

    it("decodes five codings, the most fetch takes", async () => {
      serve((_req, res) => {
        res.writeHead(200, { "content-encoding": "gzip, gzip, br, gzip, deflate" });
        res.end(deflateSync(gzipSync(brotliCompressSync(gzipSync(gzipSync("{}"))))));
      });
      expect((await send()).body).toBe("{}");
    });

    it("an empty body labelled with several codings is an empty answer", async () => {
      serve((_req, res) => {
        res.writeHead(200, { "content-encoding": "gzip, br", "content-length": "0" });
        res.end();
      });
      expect((await send()).body).toBe("");
      expect((await send({ method: "DELETE" })).body).toBe("");
    });

    it.each(["constructor", "__proto__", "toString", "identity", "compress"])(
      "passes a body of encoding %s through as it came",
      async (encoding) => {
        serve((_req, res) => {
          res.writeHead(200, { "content-type": "application/json", "content-encoding": encoding });
          res.end('{"idxTotal":1}');
        });
        expect((await send()).body).toBe('{"idxTotal":1}');
      },
    );

    it.each([
      ["a 204", 204, { "content-length": "0" }],
      ["a 200 with content-length 0", 200, { "content-length": "0" }],
      ["a chunked 200 with no bytes", 200, {}],
    ] as const)("%s labelled gzip is an empty answer, not a broken stream", async (_case, status, extra) => {
      serve((_req, res) => {
        res.writeHead(status, { "content-encoding": "gzip", ...extra });
        res.end();
      });
      const answer = await send();
      expect([answer.status, answer.body]).toEqual([status, ""]);
    });

    it("decodes UTF-8 as TextDecoder does: a BOM dropped, a character split across chunks, bad bytes replaced", async () => {
      serve(async (req, res) => {
        if (req.pathname === "/bom") return void res.end(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]));
        if (req.pathname === "/bad") return void res.end(Buffer.from([0x41, 0xff, 0xc3, 0x28]));
        const bytes = Buffer.from("钉钉");
        res.write(bytes.subarray(0, 2));
        await delay(10);
        res.end(bytes.subarray(2));
      });
      expect((await send({ url: `${server.url}/bom` })).body).toBe("{}");
      expect((await send({ url: `${server.url}/bad` })).body).toBe("A\uFFFD\uFFFD(");
      expect((await send({ url: `${server.url}/split` })).body).toBe("钉钉");
    });

    it("returns an empty body for 204 and for HEAD, and keeps the connection usable", async () => {
      serve((req, res) => {
        if (req.pathname === "/empty") return void res.writeHead(204, { "x-kind": "no-content" }).end();
        res.writeHead(200, { "content-type": "text/plain", "content-length": "5" });
        res.end(req.method === "HEAD" ? undefined : "hello");
      });
      const empty = await send({ url: `${server.url}/empty`, method: "DELETE" });
      expect(empty).toMatchObject({ status: 204, body: "" });
      expect(empty.headers["x-kind"]).toBe("no-content");
      const head = await send({ url: `${server.url}/page`, method: "HEAD" });
      expect(head).toMatchObject({ status: 200, body: "" });
      expect(head.headers["content-length"]).toBe("5");
      expect((await send({ url: `${server.url}/page` })).body).toBe("hello");
      expect(new Set(ports).size).toBeLessThanOrEqual(subject.sequentialSockets);
    });

    it("reuses one keep-alive connection for sequential calls", async () => {
      serve((_req, res) => void res.end("{}"));
      for (let i = 0; i < 5; i++) await send({ url: `${server.url}/n/${i}` });
      expect(ports).toHaveLength(5);
      expect(new Set(ports).size).toBeLessThanOrEqual(subject.sequentialSockets);
      expect(server.requests[0]?.headers.connection).toBe("keep-alive");
    });

    it("reads a large body to its end", async () => {
      const big = "x".repeat(4 * 1024 * 1024);
      serve((_req, res) => void res.end(big));
      expect((await send()).body.length).toBe(big.length);
    });
  });

  describe("failures", () => {
    it("a refused connection: network, errno ECONNREFUSED", async () => {
      const url = await FaultServer.refusedUrl();
      const error = await failure({ url: `${url}/x` });
      expect(error).toBeInstanceOf(TransportFailure);
      expect(error).toMatchObject({ kind: "network", errno: "ECONNREFUSED" });
    });

    it.each([
      ["a reset before the answer", (res: ServerResponse) => res.socket?.resetAndDestroy()],
      [
        "a reset mid-body",
        (res: ServerResponse) => {
          res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
          res.write('{"partial":');
          setTimeout(() => res.socket?.resetAndDestroy(), 20);
        },
      ],
      [
        "a chunked body cut",
        (res: ServerResponse) => {
          res.writeHead(200, { "content-type": "text/plain" });
          res.write("first chunk");
          setTimeout(() => res.socket?.destroy(), 20);
        },
      ],
      [
        "a gzip body cut",
        (res: ServerResponse) => {
          const bytes = gzipSync("钉钉".repeat(5000));
          res.writeHead(200, { "content-encoding": "gzip", "content-length": String(bytes.length) });
          res.write(bytes.subarray(0, bytes.length >> 1));
          setTimeout(() => res.socket?.resetAndDestroy(), 20);
        },
      ],
      [
        "a body that is not gzip",
        (res: ServerResponse) => {
          res.writeHead(200, { "content-encoding": "gzip", "content-length": "12" });
          res.end("not gzip at all".slice(0, 12));
        },
      ],
    ])("%s: network, at once", async (_case, answer) => {
      serve((_req, res) => answer(res));
      const started = Date.now();
      const error = await failure({ timeout: 3_000 });
      expect(error).toBeInstanceOf(TransportFailure);
      expect((error as TransportFailure).kind).toBe("network");
      expect(Date.now() - started).toBeLessThan(1_500);
    });

    it.each([
      ["no answer", () => {}],
      [
        "a body that stalls",
        (res: ServerResponse) => {
          res.writeHead(200, { "content-length": "100" });
          res.write("slow");
        },
      ],
    ])("%s: timeout when the time is up, and the connection is dropped", async (_case, answer) => {
      let closed = false;
      serve((req, res) => {
        if (req.pathname === "/next") return void res.end("next");
        res.on("close", () => {
          closed = true;
        });
        answer(res);
      });
      const started = Date.now();
      const error = await failure({ timeout: 80 });
      expect(error).toBeInstanceOf(TransportFailure);
      expect((error as TransportFailure).kind).toBe("timeout");
      expect(Date.now() - started).toBeLessThan(1_500);
      expect((await send({ url: `${server.url}/next` })).body).toBe("next");
      expect(new Set(ports).size).toBe(2);
      await expect.poll(() => closed).toBe(true);
    });

    it("an abort before the request: rejects with the signal's reason, nothing sent", async () => {
      serve((_req, res) => void res.end("{}"));
      const reason = new Error("caller gave up");
      const error = await failure({ signal: AbortSignal.abort(reason) });
      expect(error).toBe(reason);
      await delay(20);
      expect(server.requests).toHaveLength(0);
    });

    it.each([
      ["before the answer", () => {}],
      [
        "during the body",
        (res: ServerResponse) => {
          res.writeHead(200, { "content-type": "text/plain", "content-length": "1000" });
          res.write("part");
        },
      ],
    ])("an abort %s: rejects with the signal's reason, the request destroyed", async (_case, answer) => {
      let arrived!: () => void;
      const seen = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      let closed = false;
      serve((_req, res) => {
        res.on("close", () => {
          closed = true;
        });
        answer(res);
        arrived();
      });
      const controller = new AbortController();
      const reason = new Error("deadline");
      const call = settle(send({ signal: controller.signal }));
      await seen;
      await delay(10);
      controller.abort(reason);
      expect(await call).toEqual({ error: reason });
      expect(((await call) as { error: unknown }).error).toBe(reason);
      await expect.poll(() => closed).toBe(true);
    });

    it("an abort without a reason: rejects with an AbortError DOMException", async () => {
      serve(() => {});
      const controller = new AbortController();
      const call = settle(send({ signal: controller.signal }));
      setTimeout(() => controller.abort(), 20);
      const { error } = (await call) as { error: unknown };
      expect(error).toBeInstanceOf(DOMException);
      expect((error as DOMException).name).toBe("AbortError");
    });
  });

  describe("a body over maxBytes: too-large at once, nothing buffered, the connection closed", () => {
    const MAX = 1024 * 1024;

    it("announced by content-length", async () => {
      let closed = false;
      serve((_req, res) => {
        res.on("close", () => {
          closed = true;
        });
        res.writeHead(200, { "content-length": String(200 * 1024 * 1024) });
        res.write("x".repeat(1024));
      });
      const started = Date.now();
      const error = await failure({ maxBytes: MAX, timeout: 5_000 });
      expect(error).toBeInstanceOf(TransportFailure);
      expect((error as TransportFailure).kind).toBe("too-large");
      expect(Date.now() - started).toBeLessThan(1_500);
      await expect.poll(() => closed).toBe(true);
    });

    it("sent in chunks without a length", async () => {
      let closed = false;
      let written = 0;
      serve((_req, res) => {
        res.on("close", () => {
          closed = true;
        });
        res.writeHead(200, { "content-type": "text/plain" });
        const chunk = Buffer.alloc(64 * 1024, 0x78);
        const pump = () => {
          while (!closed && written < 512 * 1024 * 1024) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
        };
        pump();
      });
      let error: unknown;
      const growth = await rssGrowth(async () => {
        error = await failure({ maxBytes: MAX, timeout: 5_000 });
      });
      expect(error).toBeInstanceOf(TransportFailure);
      expect((error as TransportFailure).kind).toBe("too-large");
      await expect.poll(() => closed).toBe(true);
      expect(written).toBeLessThan(64 * 1024 * 1024);
      expect(growth).toBeLessThan(48 * 1024 * 1024);
    });

    it.each([
      { name: "a brotli bomb: a few hundred bytes decoding to 128 MiB", encoding: "br", body: () => bomb },
      {
        // Its decoded bytes counted as the last coding gives them.
        name: "a brotli bomb under gzip: the cap counts what the last coding gives",
        encoding: "br, gzip",
        body: () => gzipSync(bomb),
      },
    ])("$name", async ({ encoding, body }) => {
      const sent = body();
      expect(sent.length).toBeLessThan(1024);
      let closed = false;
      serve((_req, res) => {
        res.on("close", () => {
          closed = true;
        });
        res.writeHead(200, { "content-encoding": encoding, "content-type": "text/plain" });
        res.write(sent);
        // Kept open: a transport that waited for the end would hang until its timeout.
      });
      const started = Date.now();
      let error: unknown;
      const growth = await rssGrowth(async () => {
        error = await failure({ maxBytes: MAX, timeout: 5_000 });
      });
      expect(error).toBeInstanceOf(TransportFailure);
      expect((error as TransportFailure).kind).toBe("too-large");
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(growth).toBeLessThan(48 * 1024 * 1024);
      await expect.poll(() => closed).toBe(true);
    });

    it("exactly maxBytes is accepted", async () => {
      serve((_req, res) => void res.end("y".repeat(MAX)));
      expect((await send({ maxBytes: MAX })).body.length).toBe(MAX);
    });
  });
});

describe("nodeTransport() only", () => {
  const get = (transport: Transport, url: string, maxBytes = 1024) =>
    transport({
      url,
      method: "GET",
      headers: {},
      body: undefined,
      signal: undefined,
      timeout: 5_000,
      maxBytes,
    });

  it("reads a status text in Latin-1 (Node's fetch reads it as UTF-8)", async () => {
    const server = await new ScriptedServer().start();
    const transport = nodeTransport();
    try {
      server.on("GET", "/a", (_req, res) => void res.writeHead(418, "Caf\u00e9 ferm\u00e9").end("{}"));
      const answer = await get(transport, `${server.url}/a`);
      expect(answer).toMatchObject({ status: 418, statusText: "Caf\u00e9 ferm\u00e9", body: "{}" });
    } finally {
      transport.destroy();
      await server.stop();
    }
  });

  it("a gzip stream that ends before its trailer, in a body of the announced length: network", async () => {
    // Node's fetch (undici, like browsers) flushes what it could decode and hands that over.
    const server = await new ScriptedServer().start();
    const transport = nodeTransport();
    try {
      server.on("GET", "/a", (_req, res) => {
        const bytes = gzipSync("钉钉".repeat(5000)).subarray(0, 40);
        res.writeHead(200, { "content-encoding": "gzip", "content-length": String(bytes.length) });
        res.end(bytes);
      });
      const error = await get(transport, `${server.url}/a`, 1024 * 1024).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransportFailure);
      expect((error as TransportFailure).kind).toBe("network");
    } finally {
      transport.destroy();
      await server.stop();
    }
  });

  it("skips identity in a list of codings (Node's fetch passes such a body through undecoded)", async () => {
    const server = await new ScriptedServer().start();
    const transport = nodeTransport();
    try {
      server.on("GET", "/a", (_req, res) => {
        res.writeHead(200, { "content-encoding": "identity, gzip, identity" });
        res.end(gzipSync('{"idxTotal":1}'));
      });
      expect((await get(transport, `${server.url}/a`)).body).toBe('{"idxTotal":1}');
    } finally {
      transport.destroy();
      await server.stop();
    }
  });

  describe("idle pooled connections", () => {
    /** A server answering `/a` with `headers`, which records each connection and whether it closed. */
    async function pool(headers: Record<string, string> = {}, delayMs = 0) {
      const server = await new ScriptedServer().start();
      const sockets: Array<{ closed: boolean }> = [];
      const seen = new WeakSet<object>();
      server.on("GET", "/a", async (_req, res) => {
        const socket = res.socket;
        if (socket && !seen.has(socket)) {
          seen.add(socket);
          const entry = { closed: false };
          sockets.push(entry);
          socket.once("close", () => {
            entry.closed = true;
          });
        }
        if (delayMs) await delay(delayMs);
        res.writeHead(200, headers).end("{}");
      });
      return { server, sockets, url: `${server.url}/a` };
    }

    it("one idle for keepAliveTimeout is closed, and the next call opens another", async () => {
      const { server, sockets, url } = await pool();
      const transport = nodeTransport({ keepAliveTimeout: 50 });
      try {
        await get(transport, url);
        await get(transport, url);
        expect(sockets).toEqual([{ closed: false }]);
        await expect.poll(() => sockets[0]?.closed).toBe(true);
        await get(transport, url);
        expect(sockets).toEqual([{ closed: true }, { closed: false }]);
      } finally {
        transport.destroy();
        await server.stop();
      }
    });

    it("one in use is not idle: an answer slower than keepAliveTimeout is read, on the same connection", async () => {
      const { server, sockets, url } = await pool({}, 200);
      const transport = nodeTransport({ keepAliveTimeout: 50 });
      try {
        await expect(get(transport, url)).resolves.toMatchObject({ status: 200, body: "{}" });
        const second = get(transport, url);
        await expect(second).resolves.toMatchObject({ status: 200, body: "{}" });
        expect(sockets).toEqual([{ closed: false }]);
      } finally {
        transport.destroy();
        await server.stop();
      }
    });

    it("one closed while an older one stays pooled is never handed to the next call", async () => {
      // Two connections at once: the one answered last (the next taken: the pool is last in, first
      // out) is told `timeout=2` and closes after a second, while the other stays open.
      const server = await new ScriptedServer().start();
      const connections: object[] = [];
      const closed = new WeakSet<object>();
      const held: Array<() => void> = [];
      server.on("GET", "/a", async (_req, res) => {
        const socket = res.socket as NonNullable<typeof res.socket>;
        connections.push(socket);
        socket.once("close", () => closed.add(socket));
        if (connections.length > 2) return void res.end("{}");
        const second = connections.length === 2;
        await new Promise<void>((resolve) => held.push(resolve));
        res.writeHead(200, second ? { "keep-alive": "timeout=2" } : {}).end("{}");
      });
      const transport = nodeTransport({ keepAliveTimeout: 60_000 });
      try {
        const both = Promise.all([get(transport, `${server.url}/a`), get(transport, `${server.url}/a`)]);
        await expect.poll(() => held.length).toBe(2);
        held[0]?.();
        await delay(30);
        held[1]?.();
        await both;
        const [first, second] = connections as [object, object];
        await expect.poll(() => closed.has(second), { timeout: 5_000 }).toBe(true);
        await expect(get(transport, `${server.url}/a`)).resolves.toMatchObject({ status: 200 });
        expect(connections[2], "the connection still open").toBe(first);
      } finally {
        transport.destroy();
        await server.stop();
      }
    });

    it("the server's Keep-Alive timeout, less a second, when shorter; timeout=1 is not kept at all", async () => {
      const shorter = await pool({ "keep-alive": "timeout=2" });
      const once = await pool({ "keep-alive": "timeout=1" });
      const transport = nodeTransport({ keepAliveTimeout: 60_000 });
      try {
        await get(transport, shorter.url);
        expect(shorter.sockets).toEqual([{ closed: false }]);
        await expect.poll(() => shorter.sockets[0]?.closed, { timeout: 5_000 }).toBe(true);
        await get(transport, once.url);
        await get(transport, once.url);
        expect(once.sockets).toHaveLength(2);
      } finally {
        transport.destroy();
        await Promise.all([shorter.server.stop(), once.server.stop()]);
      }
    });
  });

  it("destroy() closes the pooled connections", async () => {
    const server = await new ScriptedServer().start();
    const transport = nodeTransport();
    try {
      let closed = false;
      server.on("GET", "/a", (_req, res) => {
        res.socket?.once("close", () => {
          closed = true;
        });
        res.end("{}");
      });
      await get(transport, `${server.url}/a`);
      expect(closed).toBe(false);
      transport.destroy();
      await expect.poll(() => closed).toBe(true);
    } finally {
      transport.destroy();
      await server.stop();
    }
  });
});

describe("a client over either transport", () => {
  const TOKEN = "tok-either-transport-1234";
  const scenarios: Record<string, (res: ServerResponse, n: number) => void> = {
    success: (res) =>
      res
        .writeHead(200, { "content-type": "application/json", "x-acs-request-id": "R-1" })
        .end('{"ok":true}'),
    "an API error that echoes the token": (res) =>
      res
        .writeHead(400, `Bad ${TOKEN}`, { "content-type": "application/json", "x-echo": TOKEN })
        .end(JSON.stringify({ code: "parameter.error", message: `token ${TOKEN}`, requestid: "R-2" })),
    "HTML with 200": (res) => res.writeHead(200, { "content-type": "text/html" }).end("<html></html>"),
    "503 then success": (res, n) => {
      if (n === 0) res.writeHead(503, { "retry-after": "0" }).end("{}");
      else res.end('{"second":true}');
    },
    "a reset mid-body": (res) => {
      res.writeHead(200, { "content-length": "500" });
      res.write('{"cut');
      setTimeout(() => res.socket?.resetAndDestroy(), 10);
    },
    "a body over maxResponseBytes": (res) => res.end(JSON.stringify({ filler: "x".repeat(4096) })),
    "no answer (timeout)": () => {},
  };

  /** What a caller sees: data, request id, status, headers and text; or the error's safe fields. */
  async function outcomeOf(subject: Subject, scenario: string, signal?: AbortSignal) {
    const server = await new ScriptedServer().start();
    let n = 0;
    server.on(
      "GET",
      () => true,
      (_req, res) => scenarios[scenario]?.(res, n++),
    );
    const dt = createDingTalk({
      rateLimit: false,
      accessToken: TOKEN,
      baseUrl: server.url,
      transport: subject.transport,
      timeout: 150,
      maxResponseBytes: 1024,
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
    });
    try {
      const { data, requestId, response } = await dt.contact
        .getLatestDingIndex({}, signal ? { signal } : {})
        .withResponse();
      const headers = [...response.headers].filter(([name]) => name !== "date");
      return { data, requestId, status: response.status, headers, text: await response.text(), n };
    } catch (error) {
      const e = error as Error & Record<string, unknown>;
      const json = (e as unknown as { toJSON(): Record<string, unknown> }).toJSON();
      const { errno: _errno, message: _message, ...fields } = json;
      return {
        // A connection error names the errno: ECONNRESET on node:http, undici's code on fetch.
        fields: e.name === "ConnectionError" ? fields : json,
        headers: e.headers instanceof Headers ? [...e.headers].filter(([h]) => h !== "date") : undefined,
        body: e.body,
        n,
      };
    } finally {
      subject.close();
      await server.stop();
    }
  }

  const [[, node], [, fetch]] = TRANSPORTS as [[string, () => Subject], [string, () => Subject]];

  it.each(Object.keys(scenarios))("%s: the same outcome", async (scenario) => {
    const overNode = await outcomeOf(node(), scenario);
    expect(overNode).toEqual(await outcomeOf(fetch(), scenario));
    expect(JSON.stringify(overNode)).not.toContain(TOKEN);
  });

  it.each(TRANSPORTS)(
    "over %s, a withResponse() result is plain data: spread, JSON and a Proxy keep requestId",
    async (_, make) => {
      const server = await new ScriptedServer().start();
      server.on(
        "GET",
        () => true,
        (_req, res) => scenarios.success?.(res, 0),
      );
      const subject = make();
      try {
        const dt = createDingTalk({
          rateLimit: false,
          accessToken: TOKEN,
          baseUrl: server.url,
          transport: subject.transport,
        });
        const result = await dt.contact.getLatestDingIndex({}).withResponse();
        expect({ ...result }).toMatchObject({ data: { ok: true }, requestId: "R-1" });
        expect({ ...result }.response.status).toBe(200);
        expect(JSON.parse(JSON.stringify(result))).toMatchObject({ data: { ok: true }, requestId: "R-1" });
        const proxied = new Proxy(result, {});
        expect(proxied.requestId).toBe("R-1");
        expect(await proxied.response.json()).toEqual({ ok: true });
        expect(Object.keys(result)).toEqual(["data", "response", "requestId"]);
      } finally {
        subject.close();
        await server.stop();
      }
    },
  );

  it("an abort during the call: AbortError either way", async () => {
    for (const make of [node, fetch]) {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 20);
      const result = await outcomeOf(make(), "no answer (timeout)", controller.signal);
      expect(result).toMatchObject({ fields: { name: "AbortError" } });
      // Sent at most once (on a loaded machine the abort may come before the request arrives): never retried.
      expect(result.n).toBeLessThanOrEqual(1);
    }
  });

  it("this package's own transports, given as options, are not wrapped again: they bound themselves", () => {
    const own = [nodeTransport(), fetchTransport()];
    for (const transport of own) expect(boundedTransport(transport)).toBe(transport);
    const custom: Transport = async () => ({ status: 204, headers: {}, body: "" });
    expect(boundedTransport(custom)).not.toBe(custom);
    (own[0] as ReturnType<typeof nodeTransport>).destroy();
  });

  it("a transport option's body is held to maxBytes in the UTF-8 bytes it is, a lone surrogate's 3 among them", async () => {
    const request = (maxBytes: number): TransportRequest => ({
      url: "https://api.example.invalid/a",
      method: "GET",
      headers: {},
      body: undefined,
      signal: undefined,
      timeout: 1_000,
      maxBytes,
    });
    const over = async (body: string, maxBytes: number) => {
      const custom: Transport = async () => ({ status: 200, headers: {}, body });
      return boundedTransport(custom)(request(maxBytes)).then(
        () => false,
        (error: unknown) => error instanceof TransportFailure && error.kind === "too-large",
      );
    };
    // Each as TextEncoder (and every UTF-8 encoder) writes it: U+FFFD for a surrogate that pairs with none.
    for (const body of [
      "\ud800".repeat(400),
      "\udc00".repeat(400),
      "\udc00\ud800".repeat(200),
      "钉😀\ud800".repeat(100),
    ]) {
      const bytes = new TextEncoder().encode(body).length;
      expect(await over(body, bytes - 1), JSON.stringify(body.slice(0, 4))).toBe(true);
      expect(await over(body, bytes), JSON.stringify(body.slice(0, 4))).toBe(false);
    }
  });

  it("an answer header no Headers object takes (not Latin-1) is left out of the error, which stays typed", async () => {
    const transport: Transport = async () => ({
      status: 400,
      headers: { "x-message": "失败", "x-acs-request-id": "R-9", "content-type": "application/json" },
      body: JSON.stringify({ code: "invalid.param", message: "bad", requestid: "R-9" }),
    });
    const dt = createDingTalk({ rateLimit: false, accessToken: TOKEN, transport, retry: false });
    const error = await dt.contact.getLatestDingIndex().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "DingTalkError", code: "invalid.param", requestId: "R-9" });
    expect([...(error as { headers: Headers }).headers.keys()]).toEqual(["content-type", "x-acs-request-id"]);
  });

  it("a fetch or transport option that ignores its signal and timeout cannot hold the call", async () => {
    const server = await new ScriptedServer().start();
    server.on(
      "GET",
      () => true,
      () => {},
    ); // never answers
    const inner = nodeTransport();
    const deaf = {
      fetch: {
        fetch: ((url, init) => globalThis.fetch(url, { ...init, signal: null })) as typeof globalThis.fetch,
      },
      transport: { transport: ((r) => inner({ ...r, signal: undefined, timeout: 60_000 })) as Transport },
    };
    try {
      for (const [option, given] of Object.entries(deaf)) {
        const dt = createDingTalk({ rateLimit: false, accessToken: TOKEN, baseUrl: server.url, ...given });
        const call = (options: { timeout?: number; signal?: AbortSignal }) =>
          dt.contact.getLatestDingIndex({}, { retry: false, ...options }).catch((e: unknown) => e);
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 50);
        // Each ends at its bound (the test's timeout would catch one that does not), with its own error.
        expect(await call({ timeout: 150 }), option).toMatchObject({ name: "TimeoutError", timeoutMs: 150 });
        expect(await call({ signal: controller.signal }), option).toMatchObject({ name: "AbortError" });
      }
    } finally {
      inner.destroy();
      await server.stop();
    }
  }, 10_000);

  it("a transport option that ignores maxBytes cannot hand over an answer past maxResponseBytes", async () => {
    const server = await new ScriptedServer().start();
    // Over the cap of 1,024 bytes: in characters (ASCII), or only in UTF-8 bytes (600 × 3).
    const bodies = [
      JSON.stringify({ filler: "x".repeat(4096) }),
      JSON.stringify({ filler: "钉".repeat(600) }),
    ];
    let answered = 0;
    server.on(
      "GET",
      () => true,
      (_req, res) => void res.end(bodies[answered++]),
    );
    const inner = nodeTransport();
    const transport: Transport = (r) => inner({ ...r, maxBytes: 64 * 1024 * 1024 });
    try {
      const dt = createDingTalk({
        rateLimit: false,
        accessToken: TOKEN,
        baseUrl: server.url,
        transport,
        maxResponseBytes: 1024,
      });
      for (const body of bodies) {
        const error = await dt.contact.getLatestDingIndex().catch((e: unknown) => e);
        expect(error, body.slice(0, 20)).toMatchObject({ name: "ResponseTooLargeError", maxBytes: 1024 });
      }
      // Final, as over this package's own transports: never retried.
      expect(answered).toBe(2);
      // Within it in bytes (300 × 3 and the JSON around them): data, as before.
      bodies.push(JSON.stringify({ filler: "钉".repeat(300) }));
      await expect(dt.contact.getLatestDingIndex()).resolves.toEqual({ filler: "钉".repeat(300) });
    } finally {
      inner.destroy();
      await server.stop();
    }
  });

  it("a fetch option whose answer understates its content-length is still cut at maxResponseBytes", async () => {
    // The platform's fetch reads a body of the length announced; a fetch of one's own (a wrapper, a
    // mock) may answer with any body under any header: it is counted as it is read.
    let pulled = 0;
    const fetch = async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            pulled += 64 * 1024;
            controller.enqueue(new Uint8Array(64 * 1024).fill(0x61));
            if (pulled >= 256 * 1024 * 1024) controller.close();
          },
        }),
        { headers: { "content-length": "2" } },
      );
    const dt = createDingTalk({
      rateLimit: false,
      accessToken: TOKEN,
      baseUrl: "http://127.0.0.1:9",
      fetch,
      maxResponseBytes: 1024 * 1024,
    });
    const error = await dt.contact.getLatestDingIndex().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ResponseTooLargeError", maxBytes: 1024 * 1024 });
    // Stopped soon after the cap: a few chunks the stream queued ahead, not its 256 MiB.
    expect(pulled).toBeLessThan(4 * 1024 * 1024);
  });

  it("a refused connection: ConnectionError before sending, retried, the same either way", async () => {
    const url = await FaultServer.refusedUrl();
    const run = (subject: Subject) =>
      createDingTalk({
        rateLimit: false,
        accessToken: TOKEN,
        baseUrl: url,
        transport: subject.transport,
        retry: { baseDelayMs: 1, maxDelayMs: 2 },
      })
        .contact.getLatestDingIndex()
        .catch((e: unknown) => JSON.stringify(e))
        .finally(() => subject.close());
    const overNode = await run(node());
    expect(overNode).toBe(await run(fetch()));
    expect(JSON.parse(overNode as string)).toMatchObject({
      name: "ConnectionError",
      errno: "ECONNREFUSED",
      beforeSend: true,
      attempts: 3,
    });
  });

  it("a network error fetch makes of an answer (a 407) has a reason in its message", async () => {
    const server = await new ScriptedServer().start();
    server.on(
      "GET",
      () => true,
      (_req, res) => {
        res.writeHead(407, { "content-type": "application/json" }).end('{"code":"proxy","message":"no"}');
      },
    );
    const subject = fetch();
    try {
      const error = await createDingTalk({
        rateLimit: false,
        accessToken: TOKEN,
        baseUrl: server.url,
        transport: subject.transport,
        retry: false,
      })
        .contact.getLatestDingIndex()
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "ConnectionError" });
      // undici's own network error has an empty reason under "fetch failed".
      expect((error as Error).message).toMatch(/ failed: \S/);
    } finally {
      subject.close();
      await server.stop();
    }
  });

  it("a failure whose causes loop back on themselves is read a few causes deep, not forever", () => {
    const looped = new Error("");
    looped.cause = new Error("inner", { cause: looped });
    expect(new TransportFailure("network", looped).message).toBe("inner");
    const self = new Error("");
    self.cause = self;
    expect(new TransportFailure("network", self).message).toBe("network");
  });
});
