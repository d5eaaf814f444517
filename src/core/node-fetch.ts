import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Readable, Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import {
  HEADER_VALUE,
  headersFrom,
  rawHeader,
  readWhole,
  timeoutReason,
  type WholeAnswer,
  type WholeRequest,
} from "./transport.js";

/**
 * A `fetch` over node:http / node:https with a keep-alive connection pool, for Node servers that
 * call an API often. Node's global fetch (undici) builds and tears down several web-platform
 * objects per call; on loopback it costs two to three times a keep-alive node:http request (see
 * BENCHMARKS.md). This function does the same job with node:http and returns a real `Response`.
 *
 * Differences from the global fetch, all deliberate for an API client:
 * - redirects are never followed: a 3xx comes back as it is (`redirect: "error"` rejects instead);
 * - no cookies, no cache, no CORS; nothing is added to the request but `host` and `content-length`.
 *
 * Failures reject like the global fetch: `TypeError("fetch failed")` whose `cause` is the system
 * error (`code: "ECONNREFUSED"`, …); an aborted signal rejects with `signal.reason`; a connection
 * lost mid-body errors the body stream with `TypeError("terminated")` and the system error as cause.
 *
 * The clients use a second entry point when it is there (`readWhole`, see transport.ts): the same
 * request, resolved at the body's end with the status, headers and decoded text, without the
 * `ReadableStream` and `Response` the engine would only read back at once. Both share everything
 * below but how the body is delivered, so they fail in the same ways.
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
/** Decodes like `response.text()`: UTF-8, a leading BOM dropped, bad bytes replaced. */
const utf8 = new TextDecoder();

function fetchFailed(cause: unknown): TypeError {
  return new TypeError("fetch failed", { cause });
}

function terminated(cause: unknown): TypeError {
  return new TypeError("terminated", { cause });
}

function isRequest(input: unknown): input is Request {
  return typeof input === "object" && input !== null && !(input instanceof URL) && "url" in input;
}

/** The URL checks fetch makes before anything is sent. */
function checkTarget(url: URL): void {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw fetchFailed(new Error(`unsupported protocol ${url.protocol}`));
  }
  if (url.username || url.password) {
    throw new TypeError("Request cannot be constructed from a URL that includes credentials");
  }
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

function refuseBody(method: string): void {
  if (method === "GET" || method === "HEAD") {
    throw new TypeError("Request with GET/HEAD method cannot have body.");
  }
}

/** Sets the body's length and, unless the request has one, its content type. */
function withBody(headers: OutgoingHttpHeaders, bytes: Uint8Array, type: string | null): void {
  if (type && headers["content-type"] === undefined) headers["content-type"] = type;
  headers["content-length"] = String(bytes.byteLength);
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

/**
 * The target `http.request(url)` derives from a URL (node's `urlToHttpOptions`), built directly:
 * that conversion copies every field of the URL on each request.
 */
function targetOf(url: URL): { protocol: string; hostname: string; port?: number; path: string } {
  const { hostname, port } = url;
  const target = {
    protocol: url.protocol,
    // An IPv6 literal is bracketed in a URL, not in a host to connect to.
    hostname: hostname.startsWith("[") ? hostname.slice(1, -1) : hostname,
    path: `${url.pathname}${url.search}`,
  };
  return port === "" ? target : { ...target, port: Number(port) };
}

function decoderFor(encoding: string | null): Transform | undefined {
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

interface Exchange {
  url: URL;
  method: string;
  headers: OutgoingHttpHeaders;
  bytes: Uint8Array | undefined;
  signal: AbortSignal | undefined;
  redirect: RequestRedirect;
  /** Ms until the exchange is abandoned with a TimeoutError; none when undefined. */
  timeout?: number | undefined;
}

/**
 * An answer's status line, checked as `new Response()` checks it, and its header lines as received
 * (a streamed answer builds its `Headers` from them; a whole answer hands them over as they are).
 */
interface Head {
  status: number;
  statusText: string;
  rawHeaders: readonly string[];
}

/** What a delivery (streaming or whole) can do with the exchange it is given. */
interface Call<T> {
  resolve(value: T): void;
  /** The exchange is over (body read or dropped): stop listening for abort and timeout. */
  finish(): void;
  readonly finished: boolean;
  /** Fails the call: rejects it, or once it has resolved, hands the error to `afterResolve`. */
  fail(error: unknown): void;
  /** Where a failure goes once the promise has resolved (a streaming body). */
  afterResolve?: (error: unknown) => void;
}

/**
 * `deliver` is called once the head has been checked, with the decoded body (`null` for a null-body
 * answer, which is drained here). It resolves the call now (a stream) or at the body's end (whole).
 * The body's errors and a connection closed before its end fail the call with `TypeError("terminated")`.
 */
type Deliver<T> = (head: Head, body: Readable | null, call: Call<T>, res: IncomingMessage) => void;

function exchange<T>(
  agents: { http: HttpAgent; https: HttpsAgent },
  ex: Exchange,
  deliver: Deliver<T>,
): Promise<T> {
  const { url, method, signal, timeout } = ex;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    /** The head arrived: a connection error from now on cuts the body short. */
    let answered = false;
    let finished = false;
    let source: Readable | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const call: Call<T> = {
      resolve(value) {
        settled = true;
        resolve(value);
      },
      finish() {
        finished = true;
        signal?.removeEventListener("abort", onAbort);
        clearTimeout(timer);
      },
      get finished() {
        return finished;
      },
      // Before the answer: reject the call. After it: error the body. Either way the connection
      // is destroyed, so it never returns to the pool half-read.
      fail(error) {
        if (finished) return;
        call.finish();
        if (!settled) {
          settled = true;
          reject(error);
        } else {
          call.afterResolve?.(error);
        }
      },
    };
    const abandon = (reason: unknown) => {
      call.fail(reason);
      req.destroy();
      source?.destroy();
    };
    const onAbort = () => abandon(signal?.reason);

    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    let req: ReturnType<typeof httpRequest>;
    try {
      req = send({
        ...targetOf(url),
        method,
        headers: ex.headers,
        agent: url.protocol === "https:" ? agents.https : agents.http,
      });
    } catch (error) {
      // Invalid header names or values are refused by node:http before anything is sent.
      reject(new TypeError((error as Error).message, { cause: error }));
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeout !== undefined) timer = setTimeout(() => abandon(timeoutReason()), timeout);

    req.on("error", (error) => call.fail(answered ? terminated(error) : fetchFailed(error)));
    req.on("response", (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const statusText = res.statusMessage ?? "";
      if (ex.redirect === "error" && REDIRECT_STATUS.has(status)) {
        res.destroy();
        call.fail(
          fetchFailed(new Error(`unexpected redirect (${status}) to ${res.headers.location ?? "?"}`)),
        );
        return;
      }
      // `new Response()` refuses these; the fetch call fails with its error as the cause.
      const refused =
        status < 200 || status > 599
          ? new RangeError('init["status"] must be in the range of 200 to 599, inclusive.')
          : HEADER_VALUE.test(statusText)
            ? undefined
            : new TypeError("Invalid statusText");
      if (refused) {
        res.destroy();
        call.fail(fetchFailed(refused));
        return;
      }
      const rawHeaders = res.rawHeaders;
      answered = true;

      if (method === "HEAD" || NULL_BODY_STATUS.has(status)) {
        res.resume();
        res.once("end", call.finish);
        deliver({ status, statusText, rawHeaders }, null, call, res);
        return;
      }
      const decoder = decoderFor(rawHeader(rawHeaders, "content-encoding"));
      const body: Readable = decoder ? res.pipe(decoder) : res;
      if (decoder) res.once("error", (error) => decoder.destroy(error));
      source = body;
      body.once("error", (error) => call.fail(terminated(error)));
      // A connection closed before the body's end without an error event.
      body.once("close", () => {
        if (!finished) call.fail(terminated(new Error("other side closed")));
      });
      deliver({ status, statusText, rawHeaders }, body, call, res);
    });
    req.end(ex.bytes);
  });
}

/** Delivers the answer as a `Response` with a streaming body, as soon as the head is in. */
function streamed(url: URL): Deliver<Response> {
  return (head, body, call, res) => {
    let stream: ReadableStream<Uint8Array> | null = null;
    if (body) {
      stream = new ReadableStream<Uint8Array>({
        start(c) {
          call.afterResolve = (error) => c.error(error);
          body.on("data", (chunk: Buffer) => {
            if (call.finished) return;
            c.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
            if ((c.desiredSize ?? 1) <= 0) body.pause();
          });
          body.once("end", () => {
            if (call.finished) return;
            call.finish();
            c.close();
          });
        },
        pull() {
          body.resume();
        },
        cancel() {
          call.finish();
          body.destroy();
          res.destroy();
        },
      });
    }
    const { status, statusText } = head;
    const response = new Response(stream, { status, statusText, headers: headersFrom(head.rawHeaders) });
    Object.defineProperty(response, "url", { value: url.href });
    call.resolve(response);
  };
}

/** Delivers the answer at the body's end, its text decoded as `response.text()` would. */
const whole: Deliver<WholeAnswer> = (head, body, call) => {
  if (!body) {
    // A null body reads as "" at once; what is left of the exchange only drains the connection.
    call.finish();
    call.resolve({ ...head, text: "" });
    return;
  }
  const chunks: Buffer[] = [];
  body.on("data", (chunk: Buffer) => {
    if (!call.finished) chunks.push(chunk);
  });
  body.once("end", () => {
    if (call.finished) return;
    call.finish();
    const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    call.resolve({ ...head, text: utf8.decode(bytes) });
  });
};

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
    checkTarget(url);
    const method = (init.method ?? request?.method ?? "GET").toUpperCase();
    const signal = init.signal ?? request?.signal ?? undefined;
    const redirect = init.redirect ?? request?.redirect ?? "follow";
    const headers = outgoingHeaders(init.headers ?? request?.headers);

    let body: BodyInit | null | undefined = init.body;
    if (body === undefined && request?.body) body = await request.arrayBuffer();
    let bytes: Uint8Array | undefined;
    if (body !== undefined && body !== null) {
      refuseBody(method);
      const serialized = await bytesOf(body);
      bytes = serialized.bytes;
      withBody(headers, bytes, serialized.type);
    }
    signal?.throwIfAborted();
    return exchange(agents, { url, method, headers, bytes, signal, redirect }, streamed(url));
  }

  /** What the engine calls instead: the same request as `nodeFetch(url, { redirect: "manual", … })`. */
  async function readWholeAnswer(request: WholeRequest): Promise<WholeAnswer> {
    const { url, method, signal, timeout } = request;
    checkTarget(url);
    // A copy: the engine sends the same record again on a retry, and the body adds its length here.
    const headers: OutgoingHttpHeaders = { ...request.headers };
    let bytes: Uint8Array | undefined;
    if (request.body !== undefined) {
      refuseBody(method);
      bytes = Buffer.from(request.body);
      withBody(headers, bytes, "text/plain;charset=UTF-8");
    }
    signal?.throwIfAborted();
    return exchange(agents, { url, method, headers, bytes, signal, redirect: "manual", timeout }, whole);
  }

  return Object.assign(nodeFetch, {
    destroy(): void {
      agents.http.destroy();
      agents.https.destroy();
    },
    [readWhole]: readWholeAnswer,
  });
}
