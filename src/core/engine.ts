import {
  AbortError,
  type ApiError,
  type ApiName,
  apiErrorFrom,
  type CallSite,
  ConfigError,
  ConnectionError,
  ImspecError,
  ParseError,
  TimeoutError,
} from "./errors.js";
import type { Logger, RequestOptions } from "./options.js";
import type { Redactor } from "./redact.js";
import {
  backoffMs,
  type Failure,
  isRetryable,
  RETRY_DEFAULTS,
  type RetryOptions,
  retryAfterMs,
  sleep,
} from "./retry.js";
import {
  HEADER_VALUE,
  headersFrom,
  isTimeoutReason,
  rawHeader,
  readerOf,
  type readWhole,
  type WholeReader,
  type WholeRequest,
} from "./transport.js";

/**
 * The one place a request goes out and an answer comes back: auth, per-attempt timeout, retries
 * with backoff, token replay, and the mapping of every failure to a typed error. The methods build
 * the request from the operation table; the `raw` client's openapi-fetch calls `send` as its fetch.
 */

export type TokenKind = "none" | "app" | "user";

/** A source of tokens; `replace` (optional) returns a token other than one the server refused. */
export interface TokenSource {
  get(): Promise<string>;
  replace?(rejected: string): Promise<string>;
}

export interface Envelope {
  readonly statusField: string;
  readonly messageField: string;
  readonly resultField: string;
  readonly successStatus: number;
}

/** What differs between APIs, read from the generated tables and the API's folder. */
export interface ApiProfile {
  api: ApiName;
  auth: { readonly in: "header" | "query"; readonly name: string } | undefined;
  envelope: Envelope | undefined;
  /** Whether an answer (status and parsed body) says the token is invalid or expired. */
  tokenRejected(status: number, body: unknown): boolean;
  /** Whether a 2xx answer's parsed body is a refusal all the same (DingTalk's IP ban page). */
  refused?(status: number, body: unknown): boolean;
}

export interface OperationRef {
  operationId: string | undefined;
  method: string;
  path: string;
  idempotent: boolean;
  token: TokenKind;
  noBody?: boolean | undefined;
}

export interface EngineOptions {
  profile: ApiProfile;
  fetch: typeof globalThis.fetch;
  timeout: number;
  retry: RetryOptions | false | undefined;
  headers: Record<string, string> | undefined;
  /** The client's app-token source, read at call time (it may be wired after the engine). */
  appToken: () => TokenSource | undefined;
  redactor: Redactor;
  logger: Logger | undefined;
  random?: () => number;
}

/**
 * A request as the engine sends it: built from the operation table by the methods, or taken from
 * openapi-fetch's Request by the `raw` client. The engine adds the client's and the call's headers
 * and the token.
 */
export interface RequestSpec {
  url: URL;
  method: string;
  headers: Headers | Record<string, string>;
  body: string | undefined;
}

export interface Sent {
  response: Response;
  /** The parsed JSON body (the whole envelope for envelope APIs), `undefined` for an empty body. */
  data: unknown;
  requestId: string | undefined;
}

const NOT_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
]);

function errnoOf(error: unknown): string | undefined {
  for (
    let e = error, depth = 0;
    e && typeof e === "object" && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

function retrySettings(
  client: RetryOptions | false | undefined,
  call: RetryOptions | false | undefined,
): Required<RetryOptions> {
  if (call === false || (call === undefined && client === false))
    return { ...RETRY_DEFAULTS, maxAttempts: 1 };
  return { ...RETRY_DEFAULTS, ...(client || {}), ...(call || {}) };
}

function tokenSourceOf(input: NonNullable<RequestOptions["accessToken"]>): TokenSource {
  return { get: async () => (typeof input === "function" ? await input() : input) };
}

/** A header name Headers accepts (an HTTP token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * A header value Headers keeps exactly as given: accepted, and with no space or tab at either end
 * (Headers trims those).
 */
const KEPT_VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/;

/** Drops the spaces and tabs at either end of a value, as Headers does. */
function trimmedValue(value: string): string {
  return value.replace(/^[\t ]+|[\t ]+$/g, "");
}

/** Adds a value under a lower-case name as Headers combines repeats: joined with ", ". */
function combine(record: Record<string, string>, name: string, value: string): void {
  record[name] = name in record ? `${record[name]}, ${value}` : value;
}

/**
 * The request's headers with the client's and the call's set over them, as a plain record of
 * lower-case names: what `new Headers(base)` followed by `set` of each would hold, without building
 * one per call. Names and values that Headers would refuse or rewrite are left to a real Headers,
 * so its errors and its normalisation are exactly those of the platform.
 */
export function requestHeaders(
  base: Headers | Readonly<Record<string, string>>,
  client: Readonly<Record<string, string>> | undefined,
  call: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  // No prototype, so that a header named `constructor` or `__proto__` is a header like any other.
  const out: Record<string, string> = Object.create(null);
  const kept = (name: string, value: unknown) =>
    typeof value === "string" && HEADER_NAME.test(name) && KEPT_VALUE.test(value);
  let plain = true;
  if (base instanceof Headers) {
    // Already checked and normalised; only set-cookie comes back as more than one entry.
    for (const [name, value] of base) combine(out, name, value);
  } else {
    for (const name of Object.keys(base)) {
      const value = base[name] as string;
      // Headers reads a record through a plain object, where `__proto__` is no key: it drops it.
      if (!kept(name, value) || name === "__proto__") plain = false;
      combine(out, name.toLowerCase(), value);
    }
  }
  for (const extra of [client, call]) {
    if (!extra) continue;
    for (const name of Object.keys(extra)) {
      const value = extra[name] as string;
      if (!kept(name, value)) plain = false;
      out[name.toLowerCase()] = value;
    }
  }
  if (plain) return out;
  const headers = new Headers(base);
  for (const [k, v] of Object.entries(client ?? {})) headers.set(k, v);
  for (const [k, v] of Object.entries(call ?? {})) headers.set(k, v);
  const normalised: Record<string, string> = Object.create(null);
  for (const [name, value] of headers) combine(normalised, name, value);
  return normalised;
}

/**
 * An envelope's status as a number: an integer, or a string of digits (some gateways quote it).
 * Anything else (`""`, `"0x0"`, `1.5`, `true`) is not a status, so never taken for success.
 */
function envelopeStatus(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) ? value : undefined;
  if (typeof value === "string" && /^\s*-?\d+\s*$/.test(value)) return Number(value);
  return undefined;
}

/**
 * What `send` resolves to. The body was read to parse it, so `response` is a new Response carrying
 * the same status, headers and text. It is built on first use: a Response with a body costs about
 * as much as the rest of the client's own work per call (Node creates a web stream for it), and
 * most calls only want `data`. A body on a null-body status (204, 205) is refused at once, as
 * building the Response eagerly would.
 */
function sentOf(res: Answer, data: unknown, requestId: string | undefined): Sent {
  let response: Response | undefined;
  const raw = res.text;
  const build = () =>
    new Response(raw.length ? raw : null, {
      status: res.status,
      statusText: res.statusText,
      headers: headersOf(res),
    });
  if (raw.length && (res.status === 204 || res.status === 205)) response = build();
  return {
    get response() {
      response ??= build();
      return response;
    },
    data,
    requestId,
  };
}

/**
 * An answer read whole: its headers as raw pairs from the whole-answer entry, or as the `Headers`
 * of a fetch Response. Raw pairs become a `Headers` on first use (`headersOf`); the success path
 * only reads a few of them (`headerOf`).
 */
interface Answer {
  status: number;
  statusText: string;
  headers: Headers | readonly string[];
  text: string;
}

function headerOf(res: Answer, name: string): string | null {
  return res.headers instanceof Headers ? res.headers.get(name) : rawHeader(res.headers, name);
}

function headersOf(res: Answer): Headers {
  if (!(res.headers instanceof Headers)) res.headers = headersFrom(res.headers);
  return res.headers;
}

/** How one attempt ended: the whole answer, or the error that ended it and whether the timeout did. */
type Outcome = { answer: Answer } | { cause: unknown; timedOut: boolean };

export class Engine {
  readonly #o: EngineOptions;
  readonly #random: () => number;
  /** The configured fetch's whole-answer entry (createNodeFetch has one), when it has one. */
  readonly #readWhole: WholeReader[typeof readWhole] | undefined;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#random = options.random ?? Math.random;
    this.#readWhole = readerOf(options.fetch);
  }

  get profile(): ApiProfile {
    return this.#o.profile;
  }

  #tokenSource(
    op: OperationRef,
    options: RequestOptions,
  ): { source: TokenSource; managed: boolean } | undefined {
    if (op.token === "none" || !this.#o.profile.auth) return undefined;
    if (options.accessToken !== undefined)
      return { source: tokenSourceOf(options.accessToken), managed: false };
    if (op.token === "user") {
      throw new ConfigError(
        `${op.operationId ?? op.path} needs a user access token: pass it as { accessToken } in the call options`,
        this.#site(op),
      );
    }
    const source = this.#o.appToken();
    if (!source) {
      throw new ConfigError(
        "No access token: give the client credentials, an accessToken or getAccessToken",
        this.#site(op),
      );
    }
    return { source, managed: source.replace !== undefined };
  }

  /** An error answer as the typed error gets it: everything a server may echo a secret in, redacted. */
  #refusal(res: Answer, body: unknown) {
    const { redactor } = this.#o;
    return {
      status: res.status,
      statusText: redactor.text(res.statusText),
      headers: redactor.headers(headersOf(res)),
      body: redactor.value(body),
    };
  }

  #site(op: OperationRef): CallSite {
    return { operationId: op.operationId, method: op.method, path: op.path };
  }

  #log(
    event: Omit<Parameters<Logger>[0], "api" | "operationId" | "method" | "path">,
    op: OperationRef,
  ): void {
    if (!this.#o.logger) return;
    try {
      this.#o.logger({
        api: this.#o.profile.api,
        operationId: op.operationId,
        method: op.method,
        path: op.path,
        ...event,
      });
    } catch {
      // A broken logger must not break the call.
    }
  }

  /**
   * One attempt on the wire, read to the body's end. A fetch with a whole-answer entry is asked
   * through it; any other fetch gets an AbortController that the timeout and the caller's signal
   * both abort, and its Response is read with `text()`.
   */
  async #exchange(request: WholeRequest): Promise<Outcome> {
    if (this.#readWhole) {
      try {
        const { status, statusText, rawHeaders, text } = await this.#readWhole(request);
        return { answer: { status, statusText, headers: rawHeaders, text } };
      } catch (cause) {
        return { cause, timedOut: isTimeoutReason(cause) };
      }
    }
    const { signal, timeout } = request;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeout);
    const onAbort = () => controller.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await this.#o.fetch(request.url.href, {
        method: request.method,
        headers: request.headers,
        body: request.body ?? null,
        signal: controller.signal,
        redirect: "manual",
      });
      const text = await response.text();
      const { status, statusText, headers } = response;
      return { answer: { status, statusText, headers, text } };
    } catch (cause) {
      return { cause, timedOut };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Sends `request` for `op`, with retries; resolves only on success. */
  async send(request: RequestSpec, op: OperationRef, options: RequestOptions = {}): Promise<Sent> {
    const site = this.#site(op);
    const { profile, redactor } = this.#o;
    const retry = retrySettings(this.#o.retry, options.retry);
    const timeout = options.timeout ?? this.#o.timeout;
    const signal = options.signal;
    const body = request.body;
    let headers: Record<string, string>;
    try {
      headers = requestHeaders(request.headers, this.#o.headers, options.headers);
    } catch (error) {
      // Headers refuses CR/LF and other invalid characters: a header-injection attempt stops here.
      throw new ConfigError(`Invalid request header: ${redactor.text((error as Error).message)}`, site);
    }
    const auth = this.#tokenSource(op, options);
    let replayed = false;
    /** The token `replace` returned, used by the replay without asking the source again. */
    let replacement: string | undefined;

    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw this.#finish(new AbortError(site), attempt);
      let token: string | undefined;
      if (auth) {
        token = replacement ?? (await auth.source.get());
        replacement = undefined;
        if (typeof token !== "string" || token.length === 0)
          throw new ConfigError("The token provider returned no token", site);
        redactor.add(token);
      }
      let url = request.url;
      if (token && profile.auth?.in === "query") {
        url = new URL(url);
        url.searchParams.set(profile.auth.name, token);
      } else if (token && profile.auth) {
        // Headers would refuse such a token with a TypeError that quotes it: refuse it first, unquoted.
        if (!HEADER_VALUE.test(token))
          throw this.#finish(new ConfigError("The access token is not a valid header value", site), attempt);
        headers[profile.auth.name.toLowerCase()] = trimmedValue(token);
      }

      const started = performance.now();
      const outcome = await this.#exchange({ url, method: request.method, headers, body, signal, timeout });
      const durationMs = Math.round(performance.now() - started);

      if (!("answer" in outcome)) {
        const { cause, timedOut } = outcome;
        if (signal?.aborted) throw this.#finish(new AbortError(site), attempt);
        let error: ImspecError;
        let failure: Failure;
        if (timedOut) {
          error = new TimeoutError(timeout, site);
          failure = { kind: "timeout" };
        } else {
          const errno = errnoOf(cause);
          const beforeSend = errno !== undefined && NOT_SENT.has(errno);
          const reason = redactor.text((cause as Error)?.message ?? String(cause));
          error = new ConnectionError(
            `${op.method} ${op.path} failed: ${errno ?? reason}`,
            site,
            errno,
            beforeSend,
          );
          failure = { kind: beforeSend ? "not-sent" : "network" };
        }
        const delay = await this.#shouldRetry(failure, op, retry, attempt, undefined);
        this.#log({ attempt, durationMs, error: error.name, retryInMs: delay }, op);
        if (delay === undefined) throw this.#finish(error, attempt);
        await this.#wait(delay, signal, site, attempt);
        continue;
      }

      const res = outcome.answer;
      const raw = res.text;
      const ok = res.status >= 200 && res.status < 300;
      let data: unknown;
      let parsed = true;
      if (raw.length > 0) {
        try {
          data = JSON.parse(raw);
        } catch {
          parsed = false;
        }
      }
      const headerId = headerOf(res, "x-acs-request-id") ?? headerOf(res, "x-request-id");
      // A server may echo anything in a header or status line, the token included.
      const requestId = headerId === null ? undefined : redactor.text(headerId);
      let apiError: ApiError | undefined;
      if (!ok) {
        apiError = apiErrorFrom(profile.api, this.#refusal(res, parsed ? data : undefined), site);
      } else if (!parsed) {
        const type = redactor.text(headerOf(res, "content-type") ?? "no content type");
        this.#log({ attempt, durationMs, status: res.status, requestId, error: "ParseError" }, op);
        throw this.#finish(
          new ParseError(
            `${op.method} ${op.path} → ${res.status}: the body is not JSON (${type}, ${raw.length} bytes)`,
            site,
            res.status,
            requestId,
          ),
          attempt,
        );
      } else if (profile.refused?.(res.status, data)) {
        apiError = apiErrorFrom(profile.api, this.#refusal(res, data), site);
      } else if (profile.envelope && !op.noBody) {
        const env = profile.envelope;
        const record = data && typeof data === "object" ? (data as Record<string, unknown>) : undefined;
        const status = envelopeStatus(record?.[env.statusField]);
        if (status === undefined) {
          this.#log({ attempt, durationMs, status: res.status, requestId, error: "ParseError" }, op);
          throw this.#finish(
            new ParseError(
              `${op.method} ${op.path} → ${res.status}: the body has no integer \`${env.statusField}\` envelope`,
              site,
              res.status,
              requestId,
            ),
            attempt,
          );
        }
        if (status !== env.successStatus) {
          apiError = apiErrorFrom(profile.api, this.#refusal(res, data), site);
        }
      }

      if (!apiError) {
        // The one log event every call has: not even built without a logger.
        if (this.#o.logger) this.#log({ attempt, durationMs, status: res.status, requestId }, op);
        return sentOf(res, data, requestId);
      }

      if (auth?.managed && token && !replayed && profile.tokenRejected(res.status, data)) {
        // The token was refused: drop it, get another (shared by every call that saw the same
        // refusal) and replay this call once. A second refusal is thrown, never looped on.
        replayed = true;
        this.#log(
          {
            attempt,
            durationMs,
            status: res.status,
            requestId,
            error: `${apiError.name} ${apiError.code}`,
            tokenReplaced: true,
          },
          op,
        );
        const replace = auth.source.replace as (rejected: string) => Promise<string>;
        const fresh = await replace.call(auth.source, token);
        if (fresh === token) throw this.#finish(apiError, attempt);
        replacement = fresh;
        attempt--;
        continue;
      }

      const delay = await this.#shouldRetry(
        { kind: "answer", status: res.status, code: apiError.code },
        op,
        retry,
        attempt,
        headerOf(res, "retry-after"),
      );
      this.#log(
        {
          attempt,
          durationMs,
          status: res.status,
          requestId,
          error: `${apiError.name} ${apiError.code ?? ""}`.trim(),
          retryInMs: delay,
        },
        op,
      );
      if (delay === undefined) throw this.#finish(apiError, attempt);
      await this.#wait(delay, signal, site, attempt);
    }
  }

  async #shouldRetry(
    failure: Failure,
    op: OperationRef,
    retry: Required<RetryOptions>,
    attempt: number,
    retryAfter: string | null | undefined,
  ): Promise<number | undefined> {
    if (attempt >= retry.maxAttempts || !isRetryable(failure, op.idempotent)) return undefined;
    const asked = retryAfterMs(retryAfter);
    if (asked !== undefined) return asked <= retry.maxRetryAfterMs ? asked : undefined;
    return backoffMs(attempt, retry, this.#random);
  }

  async #wait(ms: number, signal: AbortSignal | undefined, site: CallSite, attempt: number): Promise<void> {
    try {
      await sleep(ms, signal);
    } catch {
      throw this.#finish(new AbortError(site), attempt);
    }
  }

  #finish<E extends ImspecError>(error: E, attempts: number): E {
    error.attempts = attempts;
    return error;
  }
}

/** True for errors this library throws; anything else reaching a caller is a bug. */
export function isImspecError(error: unknown): error is ImspecError {
  return error instanceof ImspecError;
}
