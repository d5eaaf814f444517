/**
 * The one seam between the engine and the network: a request goes in, the whole answer comes out.
 * Two implementations: `fetchTransport` (any `fetch`: browsers, Deno, Bun, edge runtimes) here, and
 * `nodeTransport` (node:http keep-alive) in node-transport.ts, the default on Node through the
 * package's `node` import condition (`#default-transport`). No Node built-ins in this file.
 */
import { ERROR_CLASS, isBranded } from "./errors.js";

export interface TransportRequest {
  url: string;
  method: string;
  /** Lower-case names, already checked by the engine. */
  headers: Readonly<Record<string, string>>;
  body: string | undefined;
  /** The caller's signal: once aborted, the exchange rejects with its reason. */
  signal: AbortSignal | undefined;
  /** ms from the call to the body's end; then the exchange rejects with a `timeout` failure. */
  timeout: number;
  /** Most decoded body bytes accepted; more rejects with a `too-large` failure at once. */
  maxBytes: number;
}

export interface TransportResponse {
  status: number;
  statusText?: string | undefined;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Readonly<Record<string, string>>;
  /** The body decoded as UTF-8. */
  body: string;
}

export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

const HEADERS = Symbol("imspec.headers");
interface Lazy {
  [HEADERS]: {
    source: unknown;
    read: (source: unknown) => Record<string, string>;
    record?: Record<string, string>;
  };
}
/** One getter for every answer: no closure per answer, so an answer holds only its header source. */
const LAZY_HEADERS: PropertyDescriptorMap = {
  headers: {
    enumerable: true,
    get(this: Lazy) {
      const lazy = this[HEADERS];
      lazy.record ??= lazy.read(lazy.source);
      return lazy.record;
    },
  },
};

/**
 * An answer whose header record is built from the transport's own form of them (`source`, read by
 * `read`) when first asked for: most answers never are. A plain object whose `headers` is an own
 * getter shared by all answers, not a literal's getter: that getter's closure kept the whole
 * exchange alive (the message, its socket state, the body's chunks) as long as the answer, and at 64
 * calls in flight made half of all allocations outlive young-generation collections (BENCHMARKS.md).
 */
export function answerOf<S>(
  status: number,
  statusText: string | undefined,
  source: S,
  read: (source: S) => Record<string, string>,
  body: string,
): TransportResponse {
  const lazy = { source, read: read as (source: unknown) => Record<string, string> };
  const answer = { status, statusText, body, [HEADERS]: lazy } as Partial<TransportResponse> & Lazy;
  return Object.defineProperties(answer, LAZY_HEADERS) as TransportResponse & Lazy;
}

/**
 * Why an exchange produced no answer: `errno` is the system error code when there was one, the
 * message the innermost cause's (it may quote the URL: the engine redacts it). `instanceof` holds
 * for the other build's failures too: a transport one build made may serve a client of the other.
 */
export class TransportFailure extends Error {
  static readonly [ERROR_CLASS]: string = "TransportFailure";
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isBranded(TransportFailure, value);
  }
  override name = "TransportFailure";
  readonly errno: string | undefined;
  constructor(
    readonly kind: "timeout" | "too-large" | "network",
    cause?: unknown,
  ) {
    // The innermost reason given, a few causes deep at most (a chain may loop back on itself): fetch
    // wraps the system error, and a network error of its own (a 407 is one) has an empty reason.
    let message: string = kind;
    let inner = cause;
    for (let depth = 0; depth < 8 && inner instanceof Error; depth++, inner = inner.cause)
      if (typeof inner.message === "string" && inner.message !== "") message = inner.message;
    super(message);
    this.errno = errnoOf(cause);
  }
}

const listeners = new WeakMap<AbortSignal, Set<() => void>>();
/**
 * Runs `fn` when `signal` aborts; returns the function that unsubscribes it. One listener per signal
 * however many calls share it, so a signal shared by thousands of calls never warns.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let set = listeners.get(signal);
  if (!set) {
    const fns = new Set<() => void>();
    set = fns;
    listeners.set(signal, fns);
    signal.addEventListener("abort", () => {
      for (const f of fns) f();
    });
  }
  set.add(fn);
  return () => set.delete(fn);
}

function errnoOf(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Reads at most `max` bytes of a fetch body, decoded; cancels the stream past that. `framed`: the
 * platform's own fetch, whose body is the length its content-length says (a fetch of one's own may
 * answer with any body under any header).
 */
async function capped(response: Response, max: number, framed: boolean): Promise<string> {
  if (Number(response.headers.get("content-length")) > max) {
    response.body?.cancel().catch(() => {});
    throw new TransportFailure("too-large");
  }
  // A length within the cap and no encoding: the body cannot outgrow it, and text() is the fast path.
  const identity = !response.headers.get("content-encoding");
  if (!response.body || (framed && identity && response.headers.get("content-length") !== null))
    return typeof response.text === "function" ? response.text() : "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.byteLength;
    if (size > max) {
      reader.cancel().catch(() => {});
      throw new TransportFailure("too-large");
    }
    text += decoder.decode(value, { stream: true });
  }
}

/** Headers as a record; Headers yields each set-cookie line apart: they are joined as node:http's are. */
function recordOf(fetched: Headers): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  fetched.forEach((value, name) => {
    out[name] = name in out ? `${out[name]}, ${value}` : value;
  });
  return out;
}

/**
 * Runs `exchange` and settles at the first of its answer, the timeout and the caller's abort: an
 * exchange that ignores its signal (a `fetch` or transport given as an option) cannot hold the call
 * past its bound. `stop` is told why when the exchange is given up on.
 */
function settled(
  request: TransportRequest,
  exchange: () => Promise<TransportResponse>,
  stop?: (reason: unknown) => void,
): Promise<TransportResponse> {
  const { signal } = request;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      off?.();
    };
    const end = (reason: unknown) => {
      done();
      reject(reason);
      stop?.(reason);
    };
    const off = signal ? onAbort(signal, () => end(signal.reason)) : undefined;
    const timer = setTimeout(() => end(new TransportFailure("timeout")), request.timeout);
    exchange().then((answer) => {
      done();
      resolve(answer);
    }, end);
  });
}

/** One exchange over `fetch`: redirects are not followed, the body is read whole. */
async function fetched(
  fetch: typeof globalThis.fetch,
  request: TransportRequest,
  signal: AbortSignal,
  framed: boolean,
): Promise<TransportResponse> {
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers as Record<string, string>,
      ...(request.body === undefined ? {} : { body: request.body }),
      signal,
      redirect: "manual",
    });
    const body = await capped(response, request.maxBytes, framed);
    return answerOf(response.status, response.statusText, response.headers, recordOf, body);
  } catch (error) {
    throw error instanceof TransportFailure ? error : new TransportFailure("network", error);
  }
}

/** Transports that end at their request's bound by themselves: this package's own. */
const selfBounded = new WeakSet<Transport>();
export function markBounded<T extends Transport>(transport: T): T {
  selfBounded.add(transport);
  return transport;
}

/** The transport over a `fetch` function. */
export function fetchTransport(fetch: typeof globalThis.fetch = globalThis.fetch): Transport {
  const framed = fetch === globalThis.fetch;
  return markBounded((request) => {
    const controller = new AbortController();
    const abort = (reason: unknown) => controller.abort(reason);
    return settled(request, () => fetched(fetch, request, controller.signal, framed), abort);
  });
}

/** Whether `text` is over `max` bytes in UTF-8: counted only when its length leaves it in doubt. */
function overBytes(text: string, max: number): boolean {
  if (text.length > max) return true;
  if (text.length * 3 <= max) return false;
  let bytes = 0;
  for (let i = 0; i < text.length && bytes <= max; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    // A surrogate pair is 4 bytes; a surrogate that pairs with none is written as U+FFFD, 3.
    else if (c <= 0xdbff && c >= 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes > max;
}

/**
 * What a transport given as an option resolved with, when it is an answer; anything else (`null`, a
 * status that is text, no headers) fails the exchange, as a transport that rejects does: read as an
 * answer, it was data (a body that is not text read as none) or a crash of whatever read it first.
 * A body over the request's `maxBytes` is a `too-large` failure, whether the transport read it whole or not.
 */
function answerFrom(value: unknown, maxBytes: number): TransportResponse {
  const answer = value as Partial<TransportResponse> | null;
  if (
    typeof answer === "object" &&
    answer !== null &&
    Number.isInteger(answer.status) &&
    typeof answer.body === "string" &&
    typeof answer.headers === "object" &&
    answer.headers !== null
  ) {
    // Held to the cap as this package's transports are: a body past it is not parsed.
    if (overBytes(answer.body, maxBytes)) throw new TransportFailure("too-large");
    if (!textHeaders(answer.headers))
      throw new TransportFailure(
        "network",
        new Error("the transport resolved with a header that is not text"),
      );
    return answer as TransportResponse;
  }
  throw new TransportFailure(
    "network",
    new Error("the transport resolved with no answer (an integer status, headers and a text body)"),
  );
}

/** Every header value text (`"retry-after": 5` is none), each read once: a getter that throws is a no. */
function textHeaders(headers: object): boolean {
  try {
    for (const name in headers)
      if (typeof (headers as Record<string, unknown>)[name] !== "string") return false;
    return true;
  } catch {
    return false;
  }
}

/** A transport given as an option, held to its request's bound whatever it does with the signal. */
export function boundedTransport(transport: Transport): Transport {
  if (selfBounded.has(transport)) return transport;
  return (request) => settled(request, async () => answerFrom(await transport(request), request.maxBytes));
}

/** What `#default-transport` gives where there is no node:http: the global fetch. */
export const defaultTransport = (): Transport => fetchTransport();
