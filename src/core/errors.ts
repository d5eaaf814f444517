/**
 * One small hierarchy, built by one factory (`apiErrorFrom`):
 *
 *   ImspecError
 *   ├─ ApiError            the server answered and said no (status, code, message, requestId, …);
 *   │                      each API folder subclasses it (DingTalkError, WorkPlusError, …)
 *   ├─ ConnectionError     no usable answer: refused, reset, closed mid-body
 *   ├─ TimeoutError        the per-attempt timeout elapsed (token wait included)
 *   ├─ AbortError          the caller's AbortSignal fired
 *   ├─ ParseError          an answer that is not the JSON it should be (HTML, truncated, empty)
 *   ├─ ResponseTooLargeError  the body passed `maxResponseBytes`
 *   └─ ConfigError         the client was set up or called in a way that cannot work
 *
 * No error carries a secret: messages are built from redacted parts, `cause` is never the raw
 * transport error (which may hold the request URL), and `toJSON` lists only safe fields.
 * `instanceof` holds across the ES module and CommonJS builds of this package: each class carries a
 * registered-symbol brand that `Symbol.hasInstance` also accepts.
 */

/** The brand an error class carries (`static readonly [ERROR_CLASS] = "MyError"`), one per class. */
export const ERROR_CLASS: unique symbol = Symbol.for("imspec.errorClass") as never;

/**
 * `instanceof` for a class that carries a brand: an instance of the class itself, or an object whose
 * prototype chain holds a class of the same brand (the class as the other build of the package made it).
 */
export function isBranded(cls: object, value: unknown): boolean {
  if (Function.prototype[Symbol.hasInstance].call(cls, value)) return true;
  if (!Object.hasOwn(cls, ERROR_CLASS) || typeof value !== "object" || value === null) return false;
  const brand = (cls as Record<symbol, unknown>)[ERROR_CLASS];
  for (let p = Object.getPrototypeOf(value); p; p = Object.getPrototypeOf(p)) {
    const ctor = p.constructor as Record<symbol, unknown> | undefined;
    if (ctor && Object.hasOwn(ctor, ERROR_CLASS) && ctor[ERROR_CLASS] === brand) return true;
  }
  return false;
}

/** Where a failure happened: enough to find the call, never the URL with its query string. */
export interface CallSite {
  operationId?: string | undefined;
  method?: string | undefined;
  /** The path template from the spec (`/v1/apps/{appId}/admins`), not the concrete URL. */
  path?: string | undefined;
}

export class ImspecError extends Error {
  static readonly [ERROR_CLASS]: string = "ImspecError";
  override name = "ImspecError";
  readonly operationId: string | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  /** How many attempts were made before this error was thrown. */
  attempts = 1;

  constructor(message: string, site: CallSite = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.operationId = site.operationId;
    this.method = site.method;
    this.path = site.path;
  }

  /** True for instances of this class from either build of the package (same brand on the chain). */
  // biome-ignore-start lint/complexity/noThisInStatic: `this` is the class `instanceof` asks about (a subclass too), not ImspecError
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isBranded(this, value);
  } // biome-ignore-end lint/complexity/noThisInStatic: see above

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, message: this.message };
    for (const key of Object.keys(this)) {
      const value = (this as Record<string, unknown>)[key];
      if (value !== undefined && key !== "body" && key !== "cause") out[key] = value;
    }
    return out;
  }
}

export interface ApiErrorFields extends CallSite {
  api: string;
  /** HTTP status of the answer. */
  status: number;
  /** The API's error code (a string, or the envelope's number: the HTTP status when the body has none). */
  code: string | number | undefined;
  message: string;
  requestId?: string | undefined;
  /** The parsed error body, with known secrets redacted. */
  body?: unknown;
  headers?: Headers | undefined;
}

export class ApiError extends ImspecError {
  static override readonly [ERROR_CLASS]: string = "ApiError";
  override name = "ApiError";
  readonly api: string;
  readonly status: number;
  readonly code: string | number | undefined;
  readonly requestId: string | undefined;
  /** The parsed error body, with known secrets redacted. Not enumerable: it can be large. */
  declare readonly body: unknown;
  declare readonly headers: Headers | undefined;

  constructor(fields: ApiErrorFields) {
    const where = [fields.method, fields.path].filter(Boolean).join(" ");
    const code = fields.code === undefined || fields.code === fields.status ? "" : ` ${fields.code}`;
    const request = fields.requestId ? ` (request id ${fields.requestId})` : "";
    super(`${fields.api} ${where} → ${fields.status}${code}: ${fields.message}${request}`, fields);
    this.api = fields.api;
    this.status = fields.status;
    this.code = fields.code;
    this.requestId = fields.requestId;
    Object.defineProperty(this, "body", { value: fields.body, enumerable: false });
    Object.defineProperty(this, "headers", { value: fields.headers, enumerable: false });
  }
}

export type ApiErrorClass = new (fields: ApiErrorFields) => ApiError;

export class ConnectionError extends ImspecError {
  static override readonly [ERROR_CLASS]: string = "ConnectionError";
  override name = "ConnectionError";
  /** The system error code when there was one (`ECONNREFUSED`, `ECONNRESET`, …). */
  readonly errno: string | undefined;
  /** True when the request certainly never reached the server (refused, unresolvable). */
  readonly beforeSend: boolean;

  constructor(
    message: string,
    site: CallSite,
    errno: string | undefined,
    beforeSend: boolean,
    cause?: Error,
  ) {
    super(message, site, cause ? { cause } : undefined);
    this.errno = errno;
    this.beforeSend = beforeSend;
  }
}

export class TimeoutError extends ImspecError {
  static override readonly [ERROR_CLASS]: string = "TimeoutError";
  override name = "TimeoutError";
  readonly timeoutMs: number;
  /** True when the call was never sent: it ran out of time waiting for its token or rate budget. */
  readonly beforeSend: boolean;
  constructor(timeoutMs: number, site: CallSite, what = "timed out", beforeSend = false) {
    super(`${site.method ?? ""} ${site.path ?? ""} ${what} after ${timeoutMs} ms`.trim(), site);
    this.timeoutMs = timeoutMs;
    this.beforeSend = beforeSend;
  }
}

export class AbortError extends ImspecError {
  static override readonly [ERROR_CLASS]: string = "AbortError";
  override name = "AbortError";
  constructor(site: CallSite) {
    super(`${site.method ?? ""} ${site.path ?? ""} was aborted by the caller`.trim(), site);
  }
}

export class ParseError extends ImspecError {
  static override readonly [ERROR_CLASS]: string = "ParseError";
  override name = "ParseError";
  readonly status: number;
  readonly requestId: string | undefined;
  constructor(message: string, site: CallSite, status: number, requestId?: string) {
    super(message, site);
    this.status = status;
    this.requestId = requestId;
  }
}

export class ResponseTooLargeError extends ImspecError {
  static override readonly [ERROR_CLASS]: string = "ResponseTooLargeError";
  override name = "ResponseTooLargeError";
  constructor(
    readonly maxBytes: number,
    site: CallSite,
  ) {
    super(`${site.method ?? ""} ${site.path ?? ""}: the answer is over ${maxBytes} bytes`.trim(), site);
  }
}

/** A paginated read that cannot be completed: a cursor came back twice, or pages stayed empty. */
export class PaginationError extends ImspecError {
  static override readonly [ERROR_CLASS]: string = "PaginationError";
  override name = "PaginationError";
}

export class ConfigError extends ImspecError {
  static override readonly [ERROR_CLASS]: string = "ConfigError";
  override name = "ConfigError";
}

/**
 * What a thrown value says: its message, else its text. Never throws itself: a value with no text
 * (an object without a prototype, a getter that throws) is named by its type.
 */
export function textOf(value: unknown): string {
  try {
    return String((value as Error)?.message ?? value);
  } catch {
    return `a thrown ${typeof value} without a message`;
  }
}

/** The first of `fields` the body has as a non-empty string or a number. */
export function field(body: unknown, fields: readonly string[]): string | number | undefined {
  if (!body || typeof body !== "object") return undefined;
  for (const name of fields) {
    const value = (body as Record<string, unknown>)[name];
    if (
      (typeof value === "string" && value.length > 0) ||
      (typeof value === "number" && Number.isFinite(value))
    )
      return value;
  }
  return undefined;
}

/** What the factory reads of an API's error dialect (generated `profile.errors`). */
export interface ErrorDialect {
  readonly code: readonly string[];
  readonly message: readonly string[];
  readonly requestId: readonly string[];
  readonly requestIdHeader: readonly string[];
}

/**
 * The fields of a body that the dialect reads (code, message, request id), alone: taken from the
 * whole body, before a copy of it is cut short (`Redactor.value`), so a huge body keeps them.
 */
export function dialectFields(body: unknown, dialect: ErrorDialect): Record<string, unknown> | undefined {
  if (!body || typeof body !== "object") return undefined;
  const out: Record<string, unknown> = {};
  for (const names of [dialect.code, dialect.message, dialect.requestId]) {
    const name = names.find((n) => field(body, [n]) !== undefined);
    if (name !== undefined) out[name] = (body as Record<string, unknown>)[name];
  }
  return out;
}

/**
 * The factory: an answer the server refused → the API's error class. `body` is the parsed (and
 * redacted) JSON body, or `undefined` when it was not JSON; `fields` its `dialectFields`, redacted,
 * where the code, message and request id are read; `override` is a refusal's code and message.
 */
export function apiErrorFrom(
  api: string,
  dialect: ErrorDialect,
  answer: { status: number; statusText: string; headers: Headers; body: unknown; fields: unknown },
  site: CallSite,
  ErrorClass: ApiErrorClass = ApiError,
  override: { code?: string | number | undefined; message?: string } = {},
): ApiError {
  const { status, headers, body, fields } = answer;
  const fromHeader = dialect.requestIdHeader.map((h) => headers.get(h)).find((v) => v);
  return new ErrorClass({
    ...site,
    api,
    status,
    code: override.code ?? field(fields, dialect.code),
    message:
      override.message ?? String(field(fields, dialect.message) ?? (answer.statusText || `HTTP ${status}`)),
    requestId: String(field(fields, dialect.requestId) ?? fromHeader ?? "") || undefined,
    body,
    headers,
  });
}
