import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { type Duplex, type Readable, Transform } from "node:stream";
import { urlToHttpOptions } from "node:url";
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from "node:zlib";
import { ConfigError } from "./errors.js";
import {
  answerOf,
  markBounded,
  onAbort,
  type Transport,
  TransportFailure,
  type TransportRequest,
  type TransportResponse,
} from "./transport.js";
import { check, MAX_WAIT_MS } from "./validate.js";

/**
 * The transport over node:http / node:https with a keep-alive pool: about a third of the CPU of
 * Node's global fetch per call (BENCHMARKS.md). Redirects are not followed; gzip, deflate and br
 * bodies are decoded (several codings in turn), and the decoded bytes are counted against the cap as
 * they arrive, so neither a compression bomb nor an endless body can exhaust memory.
 */

export interface NodeTransportOptions {
  /** Reuse connections between calls. Default true. */
  keepAlive?: boolean | undefined;
  /** Most connections open at once per origin. Default Infinity. */
  maxSockets?: number | undefined;
  /** Close a pooled connection after this many idle ms. Default 4000 (below most servers' 5 s). */
  keepAliveTimeout?: number | undefined;
  /**
   * An agent of your own for `https:` URLs: a private CA or a client certificate (`new
   * https.Agent({ ca, keepAlive: true, timeout: 4000 })`), or a proxy (`new
   * HttpsProxyAgent(proxyUrl, { keepAlive: true, timeout: 4000 })` of https-proxy-agent). Used as it
   * is: its pool and idle time are its own (the options above do not apply to it; without a
   * `timeout` it keeps an idle connection until the server or a NAT drops it, and the next call on
   * it fails), and `destroy()` leaves it open.
   */
  httpsAgent?: HttpAgent | undefined;
  /** The same for `http:` URLs (a proxy: `new HttpProxyAgent(proxyUrl)` of http-proxy-agent). */
  httpAgent?: HttpAgent | undefined;
}

export interface NodeTransport extends Transport {
  /** Closes every pooled connection. */
  destroy(): void;
}

/**
 * One stream over decoding stages made when the first bytes come (none for an empty body, which is
 * empty, not broken), each piped into the next and the last one's bytes pushed out; given up on (a
 * body over the cap), no stage decodes on.
 */
function decoding(stagesFor: (first: Buffer) => Transform[]): NodeJS.ReadWriteStream {
  let stages: Transform[] | undefined;
  const out: Transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!stages) {
        if (chunk.length === 0) return callback();
        stages = stagesFor(chunk);
        for (let i = 1; i < stages.length; i++) (stages[i - 1] as Transform).pipe(stages[i] as Transform);
        (stages[stages.length - 1] as Transform).on("data", (data: Buffer) => out.push(data));
        for (const stage of stages) stage.on("error", (error) => out.destroy(error));
      }
      (stages[0] as Transform).write(chunk, callback);
    },
    flush(callback) {
      if (!stages) return callback();
      (stages[stages.length - 1] as Transform).once("end", () => callback());
      (stages[0] as Transform).end();
    },
    destroy(error, callback) {
      for (const stage of stages ?? []) stage.destroy();
      callback(error);
    },
  });
  return out;
}

/**
 * `deflate` as servers send it: zlib-wrapped (RFC 1950, what the name means) or raw (RFC 1951, what
 * some send), told apart by the first byte as fetch and browsers do: a raw body is not a broken stream.
 */
const createDeflateDecoder = () =>
  decoding((first) => [((first[0] as number) & 0x0f) === 0x08 ? createInflate() : createInflateRaw()]);

/** A Map: an encoding named `constructor` or `__proto__` finds nothing, as any other unknown one. */
const DECODERS = new Map<string, () => NodeJS.ReadWriteStream>([
  ["gzip", createGunzip],
  ["x-gzip", createGunzip],
  ["deflate", createDeflateDecoder],
  ["br", createBrotliDecompress],
]);
const utf8 = new TextDecoder();
/** Most codings one answer may list, as Node's fetch allows: each is a decoder, and memory. */
const MAX_CODINGS = 5;

/**
 * The decoder for a Content-Encoding value, as Node's fetch reads it: codings undone in the reverse
 * order of their application, `identity` skipped; undefined (the body as it came) when one is
 * unknown; null when there are more than MAX_CODINGS.
 */
function decoderOf(encoding: string): (() => NodeJS.ReadWriteStream) | undefined | null {
  if (!encoding.includes(",")) return DECODERS.get(encoding.trim().toLowerCase());
  const codings = encoding.toLowerCase().split(",");
  if (codings.length > MAX_CODINGS) return null;
  const makers: Array<() => NodeJS.ReadWriteStream> = [];
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = (codings[i] as string).trim();
    if (coding === "identity") continue;
    const make = DECODERS.get(coding);
    if (!make) return undefined;
    makers.push(make);
  }
  // Several codings undone in turn, in the order they run (the reverse of the header's).
  return makers.length > 1
    ? () => decoding(() => makers.map((make) => make() as unknown as Transform))
    : makers[0];
}

/** Header `name` (lower-case) from node:http's raw list, repeated lines joined as in `headersOf`. */
function header(raw: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2)
    if ((raw[i] as string).length === name.length && (raw[i] as string).toLowerCase() === name)
      value = value === undefined ? raw[i + 1] : `${value}, ${raw[i + 1]}`;
  return value;
}

function headersOf(raw: readonly string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    out[name] = name in out ? `${out[name]}, ${raw[i + 1]}` : (raw[i + 1] as string);
  }
  return out;
}

const ORIGIN = /^https?:\/\/[^/?#]*/i;

/**
 * Reads an answer whole, decoded, its decoded bytes counted against the cap as they arrive; calls
 * `done` once with the answer or the failure. Returns the stream read, for the caller to destroy.
 */
function readResponse(
  res: IncomingMessage,
  maxBytes: number,
  done: (error: unknown, answer?: TransportResponse) => void,
  settled: () => boolean,
): Readable | undefined {
  // Our record of the lines, not res.headers (node:http builds that one lazily, and would build it
  // twice), and only when asked for: most answers need just these two.
  const raw = res.rawHeaders;
  if (Number(header(raw, "content-length")) > maxBytes) return void done(new TransportFailure("too-large"));
  const encoding = header(raw, "content-encoding");
  const make = encoding === undefined ? undefined : decoderOf(encoding);
  if (make === null)
    return void done(new TransportFailure("network", new Error(`more than ${MAX_CODINGS} content codings`)));
  const decoder = make?.() as Readable | undefined;
  const stream = decoder ? res.pipe(decoder as unknown as NodeJS.WritableStream & Readable) : res;
  // An empty body labelled gzip (a 204, a 200 with no content) is empty, not a broken stream.
  let received = 0;
  if (decoder) {
    res.on("error", (error) => decoder.destroy(error));
    res.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const finish = () => {
    let text: string;
    try {
      text = utf8.decode(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    } catch (error) {
      return done(new TransportFailure("too-large", error));
    }
    done(undefined, answerOf(res.statusCode ?? 0, res.statusMessage, raw, headersOf, text));
  };
  stream.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) done(new TransportFailure("too-large"));
    else chunks.push(chunk);
  });
  stream.on("error", (error) =>
    decoder && received === 0 && res.complete ? finish() : done(new TransportFailure("network", error)),
  );
  // Closes after every answer too: build the failure (two stack traces) only when it is one.
  stream.on(
    "close",
    () => settled() || done(new TransportFailure("network", new Error("other side closed"))),
  );
  stream.on("end", finish);
  return stream;
}

const IDLE = Symbol("imspec.idle");
type Pooled = Duplex & {
  [IDLE]?: ReturnType<typeof setTimeout> | undefined;
  _httpMessage?: { res?: IncomingMessage } | null;
};

function closeIdle(socket: Pooled): void {
  if (socket.destroyed) return;
  // Destroyed, then out of the pool: node:http takes a socket out of its free list only once it is
  // no longer writable, and would otherwise hand this one to the next request (its own
  // freeSocketErrorListener does the same, in this order).
  socket.destroy();
  socket.emit("agentRemove");
}

/**
 * Closes a pooled connection once it has been idle `ms` (or what the server's `Keep-Alive: timeout=N`
 * allows, less a second, as node:http reads it): a timer per idle connection, armed when the agent
 * keeps it and cleared when a request takes it. The agent's own `timeout` option closes idle
 * connections too, but also re-arms a socket timer and a listener on every request (about 7% of a
 * call's CPU at 64 in flight, BENCHMARKS.md).
 */
function idleClose<A extends HttpAgent>(agent: A, ms: number): A {
  // What node:http calls (its types say `keepSocketAlive` returns nothing; it returns whether to keep).
  const hooks = agent as unknown as {
    keepSocketAlive(socket: Pooled): boolean;
    reuseSocket(socket: Pooled, request: unknown): void;
  };
  const keep = hooks.keepSocketAlive;
  const reuse = hooks.reuseSocket;
  hooks.keepSocketAlive = function (socket) {
    const kept = keep.call(this, socket);
    const hint = /^timeout=(\d+)/.exec(String(socket._httpMessage?.res?.headers["keep-alive"] ?? ""))?.[1];
    const idle = hint === undefined ? ms : Math.min(ms, Number(hint) * 1000 - 1000);
    if (kept === false || idle <= 0) return false;
    socket[IDLE] = setTimeout(closeIdle, idle, socket).unref();
    return true;
  };
  hooks.reuseSocket = function (socket, request) {
    clearTimeout(socket[IDLE]);
    reuse.call(this, socket, request);
  };
  return agent;
}

/** The agents' settings, from options checked like every other option. */
function settingsOf(options: NodeTransportOptions) {
  if (options === null || typeof options !== "object")
    throw new ConfigError("nodeTransport: options must be an object");
  // Infinity sockets is node:http's own default, and allowed; any other count is a whole number.
  if (options.maxSockets !== Number.POSITIVE_INFINITY)
    check("nodeTransport: maxSockets", options.maxSockets, 1, Number.MAX_SAFE_INTEGER, true);
  check("nodeTransport: keepAliveTimeout", options.keepAliveTimeout, 1, MAX_WAIT_MS);
  if (options.keepAlive !== undefined && typeof options.keepAlive !== "boolean")
    throw new ConfigError("nodeTransport: keepAlive must be a boolean");
  for (const [name, protocol] of [
    ["httpAgent", "http:"],
    ["httpsAgent", "https:"],
  ] as const) {
    const agent: unknown = options[name];
    if (agent === undefined) continue;
    if (!(agent instanceof HttpAgent))
      throw new ConfigError(`nodeTransport: ${name} must be an http.Agent (an https.Agent, a proxy agent)`);
    // node:http's and node:https's agents each serve one protocol (their own `protocol`), and
    // node:http refuses every request through the other's; a proxy agent serves both.
    if (Object.hasOwn(agent, "protocol") && (agent as { protocol?: unknown }).protocol !== protocol)
      throw new ConfigError(`nodeTransport: ${name} must be an agent for ${protocol} URLs`);
  }
  return {
    keepAlive: options.keepAlive ?? true,
    maxSockets: options.maxSockets ?? Number.POSITIVE_INFINITY,
    scheduling: "lifo" as const,
    idleMs: options.keepAliveTimeout ?? 4000,
  };
}

type Target = ReturnType<typeof urlToHttpOptions>;
type Agents = { http: HttpAgent; https: HttpAgent };

/** A URL as node:http options: each origin parsed once (a URL per call, and node:http's copy of it, cost ~3% of a call). */
function targets(): (url: string) => { target: Target; path: string } {
  const origins = new Map<string, Target>();
  return (url) => {
    const origin = ORIGIN.exec(url)?.[0] ?? url;
    let target = origins.get(origin);
    if (!target) {
      if (origins.size > 64) origins.clear();
      target = urlToHttpOptions(new URL(origin));
      origins.set(origin, target);
    }
    let path = url.slice(origin.length);
    // What the client builds is already a valid target; anything else goes through URL's rules.
    if (!/^\/[!$-~]*$/.test(path)) {
      const parsed = new URL(url);
      path = parsed.pathname + parsed.search;
    }
    return { target, path };
  };
}

/** One exchange over the pool: ends once, with the answer or the failure, and tears down what it made. */
function exchange(
  agents: Agents,
  targetOf: (url: string) => { target: Target; path: string },
  { url, method, headers, body, signal, timeout, maxBytes }: TransportRequest,
): Promise<TransportResponse> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const { target, path } = targetOf(url);
    const https = target.protocol === "https:";
    const outgoing: Record<string, string | number> = { "accept-encoding": "gzip, deflate, br", ...headers };
    if (body !== undefined) outgoing["content-length"] = Buffer.byteLength(body);
    let settled = false;
    let stream: Readable | undefined;
    let req: ReturnType<typeof httpRequest> | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const end = (error: unknown, value?: TransportResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      off?.();
      if (error === undefined) resolve(value as TransportResponse);
      else {
        reject(error);
        req?.destroy();
        stream?.destroy();
      }
    };
    // Subscribed first: nothing is created or armed yet if the signal cannot be listened to; a
    // request that cannot be made ends the exchange (and the subscription) at once.
    const off = signal ? onAbort(signal, () => end(signal.reason)) : undefined;
    try {
      const { protocol, hostname, port } = target;
      const agent = https ? agents.https : agents.http;
      const options = { protocol, hostname, port, path, method, headers: outgoing, agent };
      req = (https ? httpsRequest : httpRequest)(options);
    } catch (error) {
      return end(error);
    }
    timer = setTimeout(() => end(new TransportFailure("timeout")), timeout);
    let response: IncomingMessage | undefined;
    // A parse error once the answer is whole (a 204 or 304 sent with a body, stray bytes after a
    // body of the length given) is about the connection, not this answer: node:http closes the
    // connection, and the answer's body still ends. fetch reads such an answer the same way.
    req.on("error", (error) => response?.complete || end(new TransportFailure("network", error)));
    req.on("response", (res: IncomingMessage) => {
      response = res;
      try {
        stream = readResponse(res, maxBytes, end, () => settled);
      } catch (error) {
        // Whatever an answer holds, a failure of this exchange, never a throw out of node:http's event.
        end(new TransportFailure("network", error));
      }
    });
    // No operation asks for another protocol: a 101 is a broken answer, not a wait until the timeout.
    req.on("upgrade", (_res: IncomingMessage, socket: { destroy(): void }) => {
      socket.destroy();
      end(new TransportFailure("network", new Error("the server switched protocols (101)")));
    });
    req.end(body);
  });
}

export function nodeTransport(options: NodeTransportOptions = {}): NodeTransport {
  const { idleMs, ...settings } = settingsOf(options);
  // The caller's agents are theirs: neither hooked for idle closing nor destroyed here.
  const own: HttpAgent[] = [];
  const ours = <A extends HttpAgent>(agent: A) => {
    own.push(agent);
    return idleClose(agent, idleMs);
  };
  const agents: Agents = {
    http: options.httpAgent ?? ours(new HttpAgent(settings)),
    https: options.httpsAgent ?? ours(new HttpsAgent(settings)),
  };
  const targetOf = targets();
  const send: Transport = (request) => exchange(agents, targetOf, request);
  return Object.assign(markBounded(send), {
    destroy() {
      for (const agent of own) agent.destroy();
    },
  });
}

/** What `#default-transport` gives on Node. */
export const defaultTransport = (): Transport => nodeTransport();
