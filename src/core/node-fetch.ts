import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Readable, Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";

/**
 * A `fetch` over node:http / node:https with a keep-alive connection pool, for Node servers that
 * call an API often. Node's global fetch (undici) builds and tears down several web-platform
 * objects per call; on loopback it costs about 1.5× a keep-alive node:http request (see
 * BENCHMARKS.md). This function does the same job with node:http and returns a real `Response`.
 *
 * Differences from the global fetch, all deliberate for an API client:
 * - redirects are never followed: a 3xx comes back as it is (`redirect: "error"` rejects instead);
 * - no cookies, no cache, no CORS; nothing is added to the request but `host` and `content-length`.
 *
 * Failures reject like the global fetch: `TypeError("fetch failed")` whose `cause` is the system
 * error (`code: "ECONNREFUSED"`, …); an aborted signal rejects with `signal.reason`; a connection
 * lost mid-body errors the body stream with `TypeError("terminated")` and the system error as cause.
 */

export interface NodeFetchOptions {
  /** Reuse connections between calls. Default true. */
  keepAlive?: boolean | undefined;
  /** Most connections open at once per origin. Default Infinity (node:http's default). */
  maxSockets?: number | undefined;
  /**
   * Close a pooled connection after this many idle ms. Default 4000: below the 5 s most servers
   * keep an idle connection, so the client closes first rather than writing to a closed socket.
   * A server's `Keep-Alive: timeout=N` hint shortens it further.
   */
  keepAliveTimeout?: number | undefined;
}

export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface NodeFetch extends FetchFunction {
  /** Closes every pooled connection, idle or busy. */
  destroy(): void;
}

/** Statuses whose Response must have a null body (Fetch standard, "null body status"). */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

function fetchFailed(cause: unknown): TypeError {
  return new TypeError("fetch failed", { cause });
}

function isRequest(input: unknown): input is Request {
  return typeof input === "object" && input !== null && !(input instanceof URL) && "url" in input;
}

/** The request body as bytes, with the content type fetch would give it. */
async function bytesOf(body: BodyInit): Promise<{ bytes: Uint8Array; type: string | null }> {
  if (typeof body === "string") return { bytes: Buffer.from(body), type: "text/plain;charset=UTF-8" };
  if (body instanceof Uint8Array) return { bytes: body, type: null };
  // Everything else (ArrayBuffer, views, Blob, URLSearchParams, FormData, streams): let the
  // platform serialize it exactly as fetch would, boundary and content type included.
  const carrier = new Response(body);
  return { bytes: new Uint8Array(await carrier.arrayBuffer()), type: carrier.headers.get("content-type") };
}

function outgoingHeaders(init: HeadersInit | undefined): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  if (!init) return out;
  const entries: Iterable<[string, string]> =
    init instanceof Headers || Array.isArray(init)
      ? (init as Iterable<[string, string]>)
      : Object.entries(init as Record<string, string>);
  for (const [name, value] of entries) {
    const key = name.toLowerCase();
    const previous = out[key];
    out[key] = previous === undefined ? value : `${previous}, ${value}`;
  }
  return out;
}

function decoderFor(encoding: string | undefined): Transform | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case "gzip":
    case "x-gzip":
      return createGunzip();
    case "deflate":
      return createInflate();
    case "br":
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

/**
 * Creates a fetch-compatible function with its own connection pool.
 *
 * @example
 * const dt = createDingTalk({ appKey, appSecret, fetch: createNodeFetch() });
 */
export function createNodeFetch(options: NodeFetchOptions = {}): NodeFetch {
  const agentOptions = {
    keepAlive: options.keepAlive ?? true,
    maxSockets: options.maxSockets ?? Number.POSITIVE_INFINITY,
    timeout: options.keepAliveTimeout ?? 4000,
    scheduling: "lifo" as const,
  };
  const agents = { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) };

  async function nodeFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const request = isRequest(input) ? input : undefined;
    const url = new URL(request ? request.url : String(input));
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw fetchFailed(new Error(`unsupported protocol ${url.protocol}`));
    }
    if (url.username || url.password) {
      throw new TypeError("Request cannot be constructed from a URL that includes credentials");
    }
    const method = (init.method ?? request?.method ?? "GET").toUpperCase();
    const signal = init.signal ?? request?.signal ?? undefined;
    const redirect = init.redirect ?? request?.redirect ?? "follow";
    const headers = outgoingHeaders(init.headers ?? request?.headers);

    let body: BodyInit | null | undefined = init.body;
    if (body === undefined && request?.body) body = await request.arrayBuffer();
    let bytes: Uint8Array | undefined;
    if (body !== undefined && body !== null) {
      if (method === "GET" || method === "HEAD") {
        throw new TypeError("Request with GET/HEAD method cannot have body.");
      }
      const serialized = await bytesOf(body);
      bytes = serialized.bytes;
      if (serialized.type && headers["content-type"] === undefined) headers["content-type"] = serialized.type;
      headers["content-length"] = String(bytes.byteLength);
    }
    signal?.throwIfAborted();

    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      let finished = false;
      let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
      let source: Readable | undefined;

      const finish = () => {
        finished = true;
        signal?.removeEventListener("abort", onAbort);
      };
      // Before the answer: reject the call. After it: error the body stream. Either way the
      // connection is destroyed, so it never returns to the pool half-read.
      const fail = (error: unknown) => {
        if (finished) return;
        finish();
        if (!settled) {
          settled = true;
          reject(error);
        } else {
          controller?.error(error);
        }
      };
      const onAbort = () => {
        fail(signal?.reason);
        req.destroy();
        (source as Readable | undefined)?.destroy?.();
      };

      const send = url.protocol === "https:" ? httpsRequest : httpRequest;
      let req: ReturnType<typeof httpRequest>;
      try {
        req = send(url, {
          method,
          headers,
          agent: url.protocol === "https:" ? agents.https : agents.http,
        });
      } catch (error) {
        // Invalid header names or values are refused by node:http before anything is sent.
        reject(new TypeError((error as Error).message, { cause: error }));
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });

      req.on("error", (error) =>
        fail(settled ? new TypeError("terminated", { cause: error }) : fetchFailed(error)),
      );
      req.on("response", (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (redirect === "error" && REDIRECT_STATUS.has(status)) {
          res.destroy();
          fail(fetchFailed(new Error(`unexpected redirect (${status}) to ${res.headers.location ?? "?"}`)));
          return;
        }
        const responseHeaders = new Headers();
        const raw = res.rawHeaders;
        for (let i = 0; i < raw.length; i += 2)
          responseHeaders.append(raw[i] as string, raw[i + 1] as string);
        const nullBody = method === "HEAD" || NULL_BODY_STATUS.has(status);

        let stream: ReadableStream<Uint8Array> | null = null;
        if (nullBody) {
          res.resume();
          res.once("end", finish);
        } else {
          const decoder = decoderFor(res.headers["content-encoding"]);
          source = decoder ? res.pipe(decoder) : res;
          if (decoder) res.once("error", (error) => decoder.destroy(error));
          const from = source as Readable;
          stream = new ReadableStream<Uint8Array>({
            start(c) {
              controller = c;
              from.on("data", (chunk: Buffer) => {
                if (finished) return;
                c.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
                if ((c.desiredSize ?? 1) <= 0) from.pause();
              });
              from.once("end", () => {
                if (finished) return;
                finish();
                c.close();
              });
              from.once("error", (error) => fail(new TypeError("terminated", { cause: error })));
              // A connection closed before the body's end without an error event.
              from.once("close", () => {
                if (!finished) fail(new TypeError("terminated", { cause: new Error("other side closed") }));
              });
            },
            pull() {
              from.resume();
            },
            cancel() {
              finish();
              from.destroy();
              res.destroy();
            },
          });
        }
        let response: Response;
        try {
          response = new Response(stream, {
            status,
            statusText: res.statusMessage ?? "",
            headers: responseHeaders,
          });
        } catch (error) {
          // Response refuses statuses outside 200–599.
          res.destroy();
          fail(fetchFailed(error));
          return;
        }
        Object.defineProperty(response, "url", { value: url.href });
        settled = true;
        resolve(response);
      });
      req.end(bytes);
    });
  }

  return Object.assign(nodeFetch, {
    destroy(): void {
      agents.http.destroy();
      agents.https.destroy();
    },
  });
}
