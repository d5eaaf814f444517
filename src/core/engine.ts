import {
  AbortError,
  ApiError,
  type ApiErrorClass,
  apiErrorFrom,
  type CallSite,
  ConfigError,
  ConnectionError,
  dialectFields,
  type ErrorDialect,
  field,
  ImspecError,
  ParseError,
  ResponseTooLargeError,
  TimeoutError,
  textOf,
} from "./errors.js";
import type { Budget, RateLimiter } from "./limiter.js";
import type { LogEvent, Logger, RenewableToken, RequestOptions } from "./options.js";
import { headerSecrets, type Redactor } from "./redact.js";
import {
  isRetryable,
  matches,
  RETRY_DEFAULTS,
  type RetryCodes,
  type RetryOptions,
  retryDelay,
  sleep,
} from "./retry.js";
import { onAbort, type Transport, TransportFailure, type TransportResponse } from "./transport.js";
import { checkHeaders, checkRetry, checkTimeout, givenRetry, MAX_WAIT_MS } from "./validate.js";

/**
 * The one place a request goes out and an answer comes back. `classify` decides what an answer (or
 * a failure) means, as a pure function of the API's profile; `Engine.send` is the short loop around
 * it: token, rate limit, transport, classify, then return, replay, wait or throw.
 */

export type TokenKind = "none" | "app" | "user";

/** What an API is besides its operations: generated from its spec (`generated/<api>/operations.ts`). */
export interface Profile {
  readonly api: string;
  readonly servers: readonly string[];
  readonly auth?:
    | { readonly in: "header" | "query"; readonly name: string; readonly scheme?: string }
    | undefined;
  readonly envelope?:
    | {
        readonly statusField: string;
        readonly messageField: string;
        readonly resultField?: string;
        readonly successStatus: number;
        readonly statusOptional?: boolean;
      }
    | undefined;
  readonly errors: ErrorDialect &
    RetryCodes & {
      readonly tokenInvalid: { readonly statuses: readonly number[]; readonly codes: readonly string[] };
      readonly refusals: ReadonlyArray<{
        readonly match: Readonly<Record<string, string | number | boolean>>;
        readonly code: string;
        readonly message: string;
      }>;
    };
}

/**
 * A token function may carry the source behind it under this key (a DingTalk user-token session:
 * its cache). The engine then reads that source as it reads the app token's: waits bounded by the
 * call, and the token still held while a refresh outlasts them.
 */
export const TOKEN_SOURCE: unique symbol = Symbol.for("imspec.tokenSource");

/** Waits bounded by the call: its signal and what is left of its timeout (`deadline`: epoch ms, `Date.now()`). */
export interface Bound {
  signal?: AbortSignal | undefined;
  deadline?: number | undefined;
}

/**
 * The clock of a call's own bounds: monotonic. By the wall clock, a clock set back 10 s during a
 * call's token wait gave it 10 s more, and one set forward sent its request with a millisecond left.
 */
const clock = (): number => performance.now();

/** A deadline of `clock()` as the epoch ms (`Date.now()`) the token cache and the limiter take, now. */
const epoch = (deadline: number): number => Date.now() + (deadline - clock());

/** A source of tokens; `replace` (optional) returns a token other than one the server refused. */
export interface TokenSource {
  get(bound?: Bound): Promise<string>;
  /** The token if one is at hand without waiting (`get` would resolve with it at once). */
  peek?(): string | undefined;
  replace?(rejected: string, bound?: Bound): Promise<string>;
}

export interface OperationRef extends CallSite {
  method: string;
  path: string;
  idempotent: boolean;
  token: TokenKind;
  noBody?: boolean | undefined;
  optionalBody?: boolean | undefined;
  budgets?: readonly Budget[] | undefined;
  /** The parameters whose values are secrets (client.ts `secretParamsOf`). */
  secretParams?: readonly string[] | undefined;
}

export interface Request {
  url: string;
  method: string;
  headers: Readonly<Record<string, string>>;
  body: string | undefined;
  /** Secrets the request carries (a client secret in its body): masked in whatever its answer brings back. */
  secrets?: readonly string[] | undefined;
}

export interface Sent {
  /** The data: unwrapped from the envelope, `undefined` for an operation without a body. */
  data: unknown;
  answer: TransportResponse;
  requestId: string | undefined;
}

/** Hands `event` to the logger: one that throws or rejects breaks nothing (a call, a refresh). */
export function emit(logger: Logger | undefined, event: LogEvent): void {
  try {
    const out: unknown = logger?.(event);
    if (out && typeof (out as Promise<void>).then === "function")
      (out as Promise<void>).then(undefined, () => {});
  } catch {
    // A broken logger is the logger's problem.
  }
}

export interface EngineOptions {
  profile: Profile;
  /** The base URL (normalised: no trailing slash), named in connection errors. */
  baseUrl: string;
  transport: Transport;
  timeout: number;
  retry: RetryOptions | false | undefined;
  headers: Readonly<Record<string, string>> | undefined;
  /** The client's app-token source, read at call time. */
  appToken: () => TokenSource | undefined;
  redactor: Redactor;
  logger: Logger | undefined;
  random: () => number;
  maxBytes: number;
  limiter: RateLimiter | undefined;
  errorClass: ApiErrorClass;
}

export type Verdict =
  | ({ kind: "data" } & Sent)
  | { kind: "error"; error: ImspecError }
  | { kind: "retry"; error: ImspecError; delayMs: number }
  | { kind: "replay"; error: ApiError };

/** What one attempt came to: an answer, or the failure that stopped it. */
export type Outcome = { answer: TransportResponse } | { failure: unknown };

export interface Situation {
  op: OperationRef;
  attempt: number;
  retry: Required<RetryOptions>;
  /** A managed token was used and not replayed yet. */
  canReplay: boolean;
  timeout: number;
  maxBytes: number;
  random: () => number;
  /** The base URL, to name in connection errors (never credentials: they are refused). */
  baseUrl: string;
}

const NOT_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
]);
/** Headers the transport writes itself: one from the options could split or smuggle a request. */
const FRAMING = new Set(["host", "content-length", "transfer-encoding", "connection"]);
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Tabs, visible ASCII and Latin-1: no CR, LF or NUL. */
export const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** An envelope status: an integer, or a string of digits. Anything else (`""`, `"0x0"`) is none. */
function statusOf(value: unknown): number | undefined {
  // Beyond 2^53 a status is rounded (or Infinity, JSON's null): no code an API documents.
  const status = typeof value === "string" && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  return Number.isSafeInteger(status) ? (status as number) : undefined;
}

const isDigit = (text: string, i: number) => (text.charCodeAt(i) - 48) >>> 0 <= 9;

/** `[A-Za-z0-9_]`: a character a number token cannot run into. */
function isWord(c: number): boolean {
  return (c - 48) >>> 0 <= 9 || ((c | 32) - 97) >>> 0 <= 25 || c === 95;
}

/**
 * Whether `text` holds 16 digits in a row. Any such run covers one of the indexes 15, 31, 47, …: the
 * scan looks at those alone and reads around a digit it finds there: 14 times faster than
 * `/\d{16}/` on the benchmark's answer of 125 characters, where the pattern cost 70% of JSON.parse itself.
 */
function hasLongDigitRun(text: string): boolean {
  for (let i = 15; i < text.length; i += 16) {
    if (!isDigit(text, i)) continue;
    let start = i;
    let end = i;
    while (start > 0 && isDigit(text, start - 1)) start--;
    while (end + 1 < text.length && isDigit(text, end + 1)) end++;
    if (end - start >= 15) return true;
    i = end;
  }
  return false;
}

/** The index after the string that opens at `open` (its closing quote's, plus one), or the end of a string never closed. */
function stringEnd(text: string, open: number): number {
  for (let from = open + 1; ; ) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return text.length;
    let escapes = 0;
    while (quote - escapes - 1 > open && text.charCodeAt(quote - escapes - 1) === 92) escapes++;
    if (escapes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/**
 * JSON text with each integer a number cannot hold exactly (an int64 id or cursor beyond 2^53) written
 * as its exact digits in a string: what JSON.parse then reads is not a rounded number. One pass that
 * skips strings whole (a string never closed runs to the end): linear whatever the text, and with no
 * regular expression, whose backtracking over a string of millions of characters overflows the stack.
 */
export function exactJson(text: string): string {
  if (!hasLongDigitRun(text)) return text;
  let out = "";
  let copied = 0;
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      i = stringEnd(text, i);
      continue;
    }
    const before = i === 0 ? 0 : text.charCodeAt(i - 1);
    // A number token begins here: a sign or a digit, not inside a word or another number.
    if (
      (c !== 45 && !isDigit(text, i)) ||
      isWord(before) ||
      before === 46 ||
      before === 43 ||
      before === 45
    ) {
      i++;
      continue;
    }
    const first = c === 45 ? i + 1 : i;
    let end = first;
    while (end < text.length && isDigit(text, end)) end++;
    const after = end < text.length ? text.charCodeAt(end) : 0;
    if (end - first >= 16 && !isWord(after) && after !== 46) {
      const token = text.slice(i, end);
      if (String(Number(token)) !== token) {
        out += `${text.slice(copied, i)}"${token}"`;
        copied = end;
      }
    }
    i = Math.max(end, i + 1);
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * JSON.parse, but an integer a number cannot hold exactly becomes its exact digits as a string instead
 * of a rounded number (`exactJson`): sent back as a path or query value, it names the same record.
 */
export function parseJson(text: string): unknown {
  return JSON.parse(exactJson(text));
}

/** Every field of `match` is in `data` as that value (a string, number or boolean: never an object's `toString`). */
function matchesAll(match: Readonly<Record<string, unknown>>, data: Record<string, unknown>): boolean {
  for (const key in match) {
    const value = data[key];
    if (value === null || typeof value === "object" || String(value) !== String(match[key])) return false;
  }
  return true;
}

/** An error verdict, or a retry after the backoff (or `Retry-After`) when the error may be retried. */
function retryOr(s: Situation, error: ImspecError, retryable: boolean, retryAfter?: string): Verdict {
  const delayMs = retryable ? retryDelay(s.attempt, s.retry, retryAfter, s.random) : undefined;
  return delayMs === undefined ? { kind: "error", error } : { kind: "retry", error, delayMs };
}

/**
 * What one attempt's outcome means. Pure but for the random jitter it is given. An answer that
 * cannot even be looked at (a field whose `toString` throws, an error class that trips on the body)
 * is a ParseError, never a throw.
 */
export function classify(
  outcome: Outcome,
  profile: Profile,
  s: Situation,
  redactor: Redactor,
  ErrorClass: ApiErrorClass,
): Verdict {
  if ("failure" in outcome) return failureVerdict(outcome.failure, s, redactor);
  let read: Verdict | ApiError;
  try {
    read = readAnswer(outcome.answer, profile, s.op, redactor, ErrorClass);
  } catch {
    const { op } = s;
    const { status } = outcome.answer;
    return {
      kind: "error",
      error: new ParseError(`${op.method} ${op.path} → ${status}: the answer cannot be read`, op, status),
    };
  }
  // Received first: an ordinary instanceof, where ApiError's (which accepts the other build's errors) walks the chain.
  if (read instanceof Received || !(read instanceof ApiError)) return read;
  const invalid = profile.errors.tokenInvalid;
  if (s.canReplay && (invalid.statuses.includes(read.status) || matches(read.code, invalid.codes)))
    return { kind: "replay", error: read };
  const failure = { kind: "answer" as const, status: read.status, code: read.code };
  const retryable = isRetryable(failure, s.op.idempotent, profile.errors);
  return retryOr(s, read, retryable, outcome.answer.headers["retry-after"]);
}

/** No answer: a timeout, a body over the cap, or a connection that failed (before sending or after). */
function failureVerdict(failure: unknown, s: Situation, redactor: Redactor): Verdict {
  const { op } = s;
  // A wait for the token or the budget that ran out: nothing was sent, so tried again whatever the
  // method, as a refused connection is (a token request slower than one attempt goes on meanwhile).
  if (isWaitOver(failure)) return retryOr(s, failure, true);
  const kind = failure instanceof TransportFailure ? failure.kind : "network";
  if (kind === "timeout") return retryOr(s, new TimeoutError(s.timeout, op), op.idempotent);
  if (kind === "too-large") return { kind: "error", error: new ResponseTooLargeError(s.maxBytes, op) };
  // A system code (`ECONNREFUSED`) as it is; a custom fetch's code may quote the request URL.
  const code = failure instanceof TransportFailure ? failure.errno : undefined;
  const errno = code === undefined ? undefined : redactor.text(code);
  const detail = redactor.text(textOf(failure));
  const error = new ConnectionError(
    redactor.text(`${op.method} ${s.baseUrl}${op.path} failed: ${errno ?? detail}`),
    op,
    errno,
    errno !== undefined && NOT_SENT.has(errno),
    new Error(detail),
  );
  return retryOr(s, error, isRetryable({ kind: error.beforeSend ? "not-sent" : "network" }, op.idempotent));
}

/**
 * An answer read: its data, a final error (a refusal such as an IP ban, a body that is not what it
 * should be), or the API's refusal for `classify` to retry, replay or throw.
 */
function readAnswer(
  answer: TransportResponse,
  profile: Profile,
  op: OperationRef,
  redactor: Redactor,
  ErrorClass: ApiErrorClass,
): Verdict | ApiError {
  const { status, body } = answer;
  let data: unknown;
  let parsed = true;
  try {
    data = body.length ? parseJson(body) : undefined;
  } catch {
    parsed = false;
  }
  // The code is the envelope status when there is one, read from the body: redacted like the rest
  // (a server may echo an all-digit token or secret there).
  const refuse = (override: { code?: string | number | undefined; message?: string } = {}) =>
    apiErrorFrom(
      profile.api,
      profile.errors,
      {
        status,
        statusText: redactor.text(answer.statusText ?? ""),
        headers: redactor.headers(answer.headers),
        body: redactor.value(parsed ? data : undefined),
        fields: parsed ? redactedFields(dialectFields(data, profile.errors), redactor) : undefined,
      },
      op,
      ErrorClass,
      { ...override, code: redactor.value(override.code) as string | number | undefined },
    );
  const object = data && typeof data === "object" ? (data as Record<string, unknown>) : undefined;
  const refusal = object && profile.errors.refusals.find((r) => matchesAll(r.match, object));
  if (refusal) return { kind: "error", error: refuse(refusal) };
  const env = profile.envelope;
  const code = env && statusOf(object?.[env.statusField]);
  // An envelope API's code is the envelope status, or the HTTP status when the body has none.
  if (status < 200 || status >= 300) return refuse(env ? { code: code ?? status } : {});
  // An answer with no body where none may come (an operation without one, or one whose body is
  // optional: raw's unlisted paths, a HEAD) has no envelope to read either; any other empty one is
  // no answer the operation's types promise.
  const noneDue = op.noBody || (op.optionalBody && !body.length);
  const enveloped = env && !noneDue ? env : undefined;
  let why: string | undefined;
  if (!parsed) {
    const type = redactor.text(answer.headers["content-type"] ?? "no content type");
    why = `the body is not JSON (${type}, ${body.length} bytes)`;
  } else if (enveloped && code === undefined) {
    // Optional means absent, from an object: a status of the wrong type (`"oops"`, `null`) is no success.
    const absent = object && !Array.isArray(object) && !Object.hasOwn(object, enveloped.statusField);
    if (!(enveloped.statusOptional && absent))
      why = body.length
        ? `the body has no integer \`${enveloped.statusField}\` envelope`
        : `the body is empty, where the \`${enveloped.statusField}\` envelope was expected`;
  } else if (!body.length && !noneDue) {
    why = "the body is empty, where the operation's JSON was expected";
  }
  if (why !== undefined) return unreadable(answer, data, profile, op, redactor, why);
  if (enveloped && code !== undefined && code !== enveloped.successStatus) return refuse({ code });
  const result = op.noBody ? undefined : env?.resultField ? object?.[env.resultField] : data;
  return new Received(result, answer, data, profile, redactor);
}

/** A success answer the client cannot read: a ParseError, final. */
function unreadable(
  answer: TransportResponse,
  data: unknown,
  profile: Profile,
  op: OperationRef,
  redactor: Redactor,
  why: string,
): Verdict {
  const requestId = requestIdOf(answer, data, profile, redactor);
  return {
    kind: "error",
    error: new ParseError(`${op.method} ${op.path} → ${answer.status}: ${why}`, op, answer.status, requestId),
  };
}

/**
 * Each field's value redacted apart, with a budget of its own: one of megabytes does not cut the
 * others. Not the names: they are the spec's, and a secret that happens to spell one (`code`) would
 * hide the code, and with it whether the token is to be refreshed.
 */
function redactedFields(fields: Record<string, unknown> | undefined, redactor: Redactor) {
  if (!fields) return undefined;
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, redactor.value(v)]));
}

/** The request id of an answer (its body parsed as `data`), redacted. */
function requestIdOf(answer: TransportResponse, data: unknown, profile: Profile, redactor: Redactor) {
  const id =
    field(data, profile.errors.requestId) ??
    profile.errors.requestIdHeader.map((h) => answer.headers[h]).find((v) => v);
  return id === undefined ? undefined : redactor.text(String(id));
}

/**
 * A successful answer's data. Its request id is found and redacted when first read: most callers
 * never ask for it on success, and the search and the redactor's scan cost about a tenth of the
 * client's own work per call. A class, not a literal with a getter,
 * for the reason given at `answerOf` (transport.ts).
 */
class Received implements Sent {
  readonly kind = "data" as const;
  readonly #body: unknown;
  readonly #profile: Profile;
  readonly #redactor: Redactor;
  #requestId: { id: string | undefined } | undefined;
  constructor(
    readonly data: unknown,
    readonly answer: TransportResponse,
    body: unknown,
    profile: Profile,
    redactor: Redactor,
  ) {
    this.#body = body;
    this.#profile = profile;
    this.#redactor = redactor;
  }
  get requestId(): string | undefined {
    this.#requestId ??= { id: requestIdOf(this.answer, this.#body, this.#profile, this.#redactor) };
    return this.#requestId.id;
  }
}

/**
 * Races `promise` (a token or budget being waited for, `wait.what`) against the call's signal and
 * deadline; the loser's rejection is swallowed, and `wait.giveUp` tells the waited-for side the call
 * has left. Its timeout is one before anything was sent.
 */
function bounded<T>(
  promise: Promise<T>,
  op: OperationRef,
  bound: { signal?: AbortSignal | undefined; deadline: number },
  timeout: number,
  wait: { what: string; giveUp?: () => void },
): Promise<T> {
  promise.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let off: (() => void) | undefined;
    const settle = () => {
      clearTimeout(timer);
      off?.();
    };
    const stop = (error: ImspecError) => {
      settle();
      wait.giveUp?.();
      reject(error);
    };
    if (bound.signal?.aborted) return stop(new AbortError(op));
    off = bound.signal && onAbort(bound.signal, () => stop(new AbortError(op)));
    timer = setTimeout(
      () => stop(new TimeoutError(timeout, op, `waited for ${wait.what}`, true)),
      Math.min(bound.deadline - clock(), MAX_WAIT_MS),
    );
    promise.then(
      (value) => {
        settle();
        resolve(value);
      },
      (error) => {
        settle();
        reject(error);
      },
    );
  });
}

/** A token to wait for: a new one for the one refused, or the source's. */
function tokenFor(
  source: TokenSource,
  refused: { token: string } | undefined,
  op: OperationRef,
  call: { signal: AbortSignal | undefined; deadline: number },
  timeout: number,
): Promise<string> {
  // The token request has its own timeout, started a moment later: let its error, which names it,
  // be the one reported.
  const bound = { signal: call.signal, deadline: call.deadline + 100 };
  const given = { signal: call.signal, deadline: epoch(bound.deadline) };
  const token = refused && source.replace ? source.replace(refused.token, given) : source.get(given);
  // The cache's own end of the same wait, named as this call's.
  const named = token.catch((error: unknown) => {
    throw isWaitOver(error) ? new TimeoutError(timeout, op, "waited for its token", true) : error;
  });
  return bounded(named, op, bound, timeout, { what: "its token" });
}

/** Waits for the operation's rate budgets, within the call's bound; a call that gives up leaves the queue. */
function budgetWait(
  limiter: RateLimiter,
  op: OperationRef,
  bound: { signal?: AbortSignal | undefined; deadline: number },
  timeout: number,
): Promise<number> {
  const leave = new AbortController();
  // A shared store (Redis) that is slow to answer may hold half of what is left, not all of it.
  const storeBy = Date.now() + (bound.deadline - clock()) / 2;
  const waiting = limiter.acquire(op.budgets as readonly Budget[], leave.signal, storeBy);
  return bounded(waiting, op, bound, timeout, { what: "its rate budget", giveUp: () => leave.abort() });
}

/** A wait for a token or a budget that ran out, before anything was sent. */
function isWaitOver(failure: unknown): failure is TimeoutError {
  return failure instanceof TimeoutError && failure.beforeSend;
}

/** An AbortSignal, from this realm or another (duck-typed: what the transports use of it). */
function isSignal(value: unknown): value is AbortSignal {
  const s = value as AbortSignal | null;
  return (
    typeof s === "object" &&
    s !== null &&
    typeof s.aborted === "boolean" &&
    typeof s.addEventListener === "function"
  );
}

/** What stays the same across a call's attempts. */
interface Call {
  request: Request;
  op: OperationRef;
  headers: Record<string, string>;
  auth: { source: TokenSource; managed: boolean } | undefined;
  signal: AbortSignal | undefined;
  timeout: number;
}
/** A token the server refused, and its refusal. */
type Refused = { token: string; error: ApiError };
/** One attempt's outcome, the token it was sent with, and how long it waited for its budget. */
type Attempt = { outcome: Outcome; token: string | undefined; waited: number };

/** `retry: false`: one attempt. */
const ONCE: Required<RetryOptions> = { ...RETRY_DEFAULTS, maxAttempts: 1 };

const answered = (answer: TransportResponse): Outcome => ({ answer });
const unanswered = (failure: unknown): Outcome => ({ failure });

/** The error as thrown, with the number of attempts made. */
function failed(error: ImspecError, attempt: number): ImspecError {
  error.attempts = attempt;
  return error;
}

export class Engine {
  readonly #o: EngineOptions;

  readonly #retry: Required<RetryOptions>;
  /** The client's retry settings over the defaults, even under `retry: false`: a call's go over them. */
  readonly #given: Required<RetryOptions>;
  #lastToken: string | undefined;
  /** The app token source as `#tokenSource` gives it, made once. */
  #app: { readonly source: TokenSource; readonly managed: boolean } | undefined;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#given = { ...RETRY_DEFAULTS, ...givenRetry(options.retry || undefined) };
    this.#retry = options.retry === false ? ONCE : this.#given;
  }

  get options(): EngineOptions {
    return this.#o;
  }

  /** The request's headers, the client's and the call's over them, checked and lower-cased. */
  #headers(
    base: Readonly<Record<string, string>>,
    call: Record<string, string> | undefined,
    op: OperationRef,
  ) {
    const out: Record<string, string> = Object.create(null);
    this.#merge(out, base, false, op);
    if (this.#o.headers) this.#merge(out, this.#o.headers, true, op);
    checkHeaders(call, op);
    if (call) this.#merge(out, call, true, op);
    return out;
  }

  #merge(out: Record<string, string>, extra: object, checked: boolean, op: OperationRef): void {
    for (const [name, value] of Object.entries(extra)) {
      const key = name.toLowerCase();
      if (!HEADER_NAME.test(name) || typeof value !== "string" || !HEADER_VALUE.test(value))
        throw new ConfigError(`Invalid request header ${JSON.stringify(this.#o.redactor.text(name))}`, op);
      if (checked && FRAMING.has(key))
        throw new ConfigError(`The ${key} header is the transport's to write, not an option's`, op);
      out[key] = value.replace(/^[\t ]+|[\t ]+$/g, "");
    }
  }

  #tokenSource(
    op: OperationRef,
    options: RequestOptions,
  ): { source: TokenSource; managed: boolean } | undefined {
    if (op.token === "none" || !this.#o.profile.auth) return undefined;
    const given = options.accessToken;
    if (given !== undefined) {
      if (typeof given !== "function")
        return { source: { get: async () => given, peek: () => given }, managed: false };
      // A renewable token is managed as the app token is: a refusal is replaced once and replayed.
      let replace: unknown;
      let own: Partial<TokenSource> | undefined;
      try {
        replace = (given as Partial<RenewableToken>).replace;
        own = (given as { [TOKEN_SOURCE]?: Partial<TokenSource> })[TOKEN_SOURCE];
      } catch {
        // A property that cannot be read is none: a plain token function.
      }
      if (typeof own?.get === "function")
        return { source: own as TokenSource, managed: typeof own.replace === "function" };
      const source: TokenSource = { get: async () => given() };
      if (typeof replace === "function") source.replace = async (refused) => replace.call(given, refused);
      return { source, managed: source.replace !== undefined };
    }
    if (op.token === "user") {
      const { in: where, name } = this.#o.profile.auth;
      throw new ConfigError(
        `${op.operationId ?? op.path} needs a user access token: pass it as { accessToken } in the call options (a raw request: in its ${name} ${where === "query" ? "query parameter" : "header"})`,
        op,
      );
    }
    const source = this.#o.appToken();
    if (!source)
      throw new ConfigError(
        "No access token: give the client credentials, an accessToken or getAccessToken",
        op,
      );
    if (this.#app?.source !== source) this.#app = { source, managed: source.replace !== undefined };
    return this.#app;
  }

  /** The URL and headers with the token where the profile puts it. */
  #authorize(
    url: string,
    headers: Record<string, string>,
    token: string | undefined,
    op: OperationRef,
  ): string {
    const auth = this.#o.profile.auth;
    // `#attempt` has refused a token that is no text: undefined is a call without one.
    if (token === undefined || !auth) return url;
    if (auth.in === "query") {
      // Appended as the query was written (%20, brackets kept): URLSearchParams would rewrite it all.
      const key = encodeURIComponent(auth.name);
      const [head, query] = url.split("?") as [string, string | undefined];
      const kept = query?.split("&").filter((pair) => pair.split("=")[0] !== key) ?? [];
      let value: string;
      try {
        value = encodeURIComponent(token);
      } catch {
        throw new ConfigError("The access token is not well-formed Unicode", op);
      }
      kept.push(`${key}=${value}`);
      this.#lastToken = token;
      return `${head}?${kept.join("&")}`;
    }
    const value = auth.scheme ? `${auth.scheme} ${token}` : token;
    // The same token call after call: checked once.
    if (token !== this.#lastToken && !HEADER_VALUE.test(value))
      throw new ConfigError("The access token is not a valid header value", op);
    this.#lastToken = token;
    headers[auth.name.toLowerCase()] = value.trim();
    return url;
  }

  /** One log event per attempt; a logger that throws or rejects does not break the call. */
  #log(
    op: OperationRef,
    attempt: number,
    started: number,
    outcome: Outcome,
    verdict: Verdict,
    waited: number,
  ) {
    const error = "error" in verdict ? (verdict.error as ApiError) : undefined;
    const event: LogEvent = {
      api: this.#o.profile.api,
      operationId: op.operationId,
      method: op.method,
      path: op.path,
      attempt,
      durationMs: Math.round(performance.now() - started),
      status: "answer" in outcome ? outcome.answer.status : undefined,
      requestId: "requestId" in verdict ? verdict.requestId : error?.requestId,
      error: error && `${error.name} ${error.code ?? ""}`.trim(),
      retryInMs: verdict.kind === "retry" ? verdict.delayMs : undefined,
      tokenReplaced: verdict.kind === "replay" || undefined,
      rateLimitedMs: waited || undefined,
    };
    emit(this.#o.logger, event);
  }

  /** The request's retry settings: the client's, or the call's over the defaults and the client's. */
  #retryFor(retry: RequestOptions["retry"], op: OperationRef): Required<RetryOptions> {
    if (retry === undefined) return this.#retry;
    if (retry === false) return ONCE;
    // Read once, by name, then checked as read: a getter is not asked twice (and cannot answer
    // the check one number and the call another).
    const given = retry !== null && typeof retry === "object" ? givenRetry(retry) : retry;
    checkRetry(given, op);
    return { ...this.#given, ...(given as RetryOptions) };
  }

  /** One exchange with the server: its answer, or the failure that stopped it (never a rejection). */
  #exchange(
    request: Request,
    url: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    deadline: number,
  ): Promise<Outcome> {
    try {
      const exchanged = this.#o.transport({
        url,
        method: request.method,
        headers,
        body: request.body,
        signal,
        // Within what a timer can hold: a wait for the budget may add a fraction of a millisecond.
        timeout: Math.min(MAX_WAIT_MS, Math.max(1, deadline - clock())),
        maxBytes: this.#o.maxBytes,
      });
      // Not an async function: one promise fewer per call.
      return exchanged.then(answered, unanswered);
    } catch (failure) {
      return Promise.resolve({ failure });
    }
  }

  /**
   * One attempt: its token, its budget, the exchange. A wait for either that ran out is its outcome
   * too, before anything was sent: `classify` has another attempt wait again.
   */
  async #attempt(call: Call, attempt: number, refused: Refused | undefined): Promise<Attempt> {
    const { request, op, headers, auth, signal, timeout } = call;
    const o = this.#o;
    const deadline = clock() + timeout;
    const replacing = refused && auth?.source.replace ? refused : undefined;
    let token: string | undefined;
    let waited = 0;
    let budgetFrom: number | undefined;
    try {
      token =
        auth &&
        ((replacing ? undefined : auth.source.peek?.()) ??
          (await tokenFor(auth.source, replacing, op, { signal, deadline }, timeout)));
      // A provider that gave nothing (or no text): never sent without its token (nor replayed without end).
      if (auth && (typeof token !== "string" || token.length === 0))
        throw new ConfigError("The token provider returned no token", op);
      if (refused && token === refused.token) throw failed(refused.error, attempt);
      if (op.budgets?.length && o.limiter && !o.limiter.tryAcquire(op.budgets)) {
        budgetFrom = clock();
        waited = await budgetWait(o.limiter, op, { signal, deadline }, timeout);
      }
    } catch (failure) {
      if (!isWaitOver(failure)) throw failure;
      // A wait for the budget that ran out is logged with how long it held the call, as one that ended.
      return {
        outcome: { failure },
        token: undefined,
        waited: budgetFrom === undefined ? 0 : clock() - budgetFrom,
      };
    }
    // An aborted call is never sent, however late the abort came.
    if (signal?.aborted) throw failed(new AbortError(op), attempt);
    const url = this.#authorize(request.url, headers, token, op);
    // The wait for the budget does not count against the exchange (the token wait does): sent with
    // what that wait left, a call could reach the server only to time out, its outcome unknown.
    const outcome = await this.#exchange(request, url, headers, signal, deadline + waited);
    if ("failure" in outcome && signal?.aborted) throw failed(new AbortError(op), attempt);
    return { outcome, token, waited };
  }

  /** Sends `request` for `op`, with retries; resolves only on success. */
  async send(request: Request, op: OperationRef, options: RequestOptions = {}): Promise<Sent> {
    const o = this.#o;
    const timeout = options.timeout ?? o.timeout;
    if (options.timeout !== undefined) checkTimeout(timeout, op);
    const retry = this.#retryFor(options.retry, op);
    const signal = options.signal ?? undefined;
    if (signal !== undefined && !isSignal(signal)) throw new ConfigError("signal must be an AbortSignal", op);
    const headers = this.#headers(request.headers, options.headers, op);
    // The request's secrets and those the call's own headers carry (an API key, credentials):
    // learnt after each attempt, as its token is.
    const carried = options.headers
      ? [...(request.secrets ?? []), ...headerSecrets(options.headers)]
      : request.secrets;
    const call: Call = { request, op, headers, auth: this.#tokenSource(op, options), signal, timeout };
    let replayed = false;
    // A token the server refused: its replacement is waited for within the replay's own timeout.
    let refused: Refused | undefined;
    for (let attempt = 1; ; attempt++) {
      const started = o.logger ? performance.now() : 0;
      if (signal?.aborted) throw failed(new AbortError(op), attempt);
      const { outcome, token, waited } = await this.#attempt(call, attempt, refused);
      if (token !== undefined) {
        // A refusal stays one until a token came for it.
        refused = undefined;
        // Learnt again as the answer is read: however many tokens other calls brought meanwhile,
        // this one is among those the redactor keeps while the error and log event are written.
        o.redactor.add(token);
      }
      if (carried) for (const secret of carried) o.redactor.add(secret);
      const canReplay = !!call.auth?.managed && !replayed;
      const { baseUrl, maxBytes, random } = o;
      const situation = { op, attempt, retry, timeout, baseUrl, maxBytes, random, canReplay };
      const verdict = classify(outcome, o.profile, situation, o.redactor, o.errorClass);
      if (o.logger) this.#log(op, attempt, started, outcome, verdict, waited);
      if (verdict.kind === "data") return verdict;
      if (verdict.kind === "error") throw failed(verdict.error, attempt);
      if (verdict.kind === "replay" && token !== undefined) {
        // The token was refused: one new token (shared by every call that saw the same refusal), one replay.
        replayed = true;
        refused = { token, error: verdict.error };
        attempt--;
        continue;
      }
      await sleep((verdict as { delayMs: number }).delayMs, signal).catch(() => {
        throw failed(new AbortError(op), attempt);
      });
    }
  }
}

/** True for errors this library throws; anything else reaching a caller is a bug. */
export function isImspecError(error: unknown): error is ImspecError {
  return error instanceof ImspecError;
}

export { ApiError };
