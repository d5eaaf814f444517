/**
 * One small hierarchy, built by one factory (`apiErrorFrom`):
 *
 *   ImspecError
 *   ├─ ApiError            the server answered and said no (status, code, message, requestId, …)
 *   │  ├─ DingTalkError    non-2xx `{code, message, requestid, accessdenieddetail}`
 *   │  └─ WorkPlusError    `{status ≠ 0, message}` envelope (usually with HTTP 200)
 *   ├─ ConnectionError     no usable answer: refused, reset, closed mid-body
 *   ├─ TimeoutError        the per-attempt timeout elapsed
 *   ├─ AbortError          the caller's AbortSignal fired
 *   ├─ ParseError          an answer that is not the JSON it should be (HTML, truncated, empty)
 *   └─ ConfigError         the client was set up or called in a way that cannot work
 *
 * No error carries a secret: messages are built from redacted parts, `cause` is never the raw
 * transport error (which may hold the request URL), and `toJSON` lists only safe fields.
 */

import { DINGTALK_IP_BAN_CODE } from "./retry.js";

export type ApiName = "dingtalk" | "workplus";

/** Where a failure happened: enough to find the call, never the URL with its query string. */
export interface CallSite {
  operationId?: string | undefined;
  method?: string | undefined;
  /** The path template from the spec (`/v1/apps/{appId}/admins`), not the concrete URL. */
  path?: string | undefined;
}

export class ImspecError extends Error {
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
  api: ApiName;
  /** HTTP status of the answer. */
  status: number;
  /** The API's error code: DingTalk's `code` string, WorkPlus's envelope `status` number. */
  code: string | number | undefined;
  message: string;
  requestId?: string | undefined;
  /** The parsed error body, with known secrets redacted. */
  body?: unknown;
  headers?: Headers | undefined;
}

export class ApiError extends ImspecError {
  override name = "ApiError";
  readonly api: ApiName;
  readonly status: number;
  readonly code: string | number | undefined;
  readonly requestId: string | undefined;
  /** The parsed error body, with known secrets redacted. Not enumerable: it can be large. */
  declare readonly body: unknown;
  declare readonly headers: Headers | undefined;

  constructor(fields: ApiErrorFields) {
    const where = [fields.method, fields.path].filter(Boolean).join(" ");
    const code = fields.code === undefined ? "" : ` ${fields.code}`;
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

export class DingTalkError extends ApiError {
  override name = "DingTalkError";
  declare readonly code: string | undefined;
  /** The permission points the token lacks (`accessdenieddetail.requiredScopes`), on 403 answers. */
  readonly requiredScopes: string[] | undefined;

  constructor(
    fields: Omit<ApiErrorFields, "api" | "code"> & {
      code: string | undefined;
      requiredScopes?: string[] | undefined;
    },
  ) {
    super({ ...fields, api: "dingtalk" });
    this.requiredScopes = fields.requiredScopes;
  }
}

export class WorkPlusError extends ApiError {
  override name = "WorkPlusError";
  /** The envelope's `status` (e.g. 10011), or the HTTP status when the body had no envelope. */
  declare readonly code: number;

  constructor(fields: Omit<ApiErrorFields, "api" | "code"> & { code: number }) {
    super({ ...fields, api: "workplus" });
  }
}

export class ConnectionError extends ImspecError {
  override name = "ConnectionError";
  /** The system error code when there was one (`ECONNREFUSED`, `ECONNRESET`, …). */
  readonly errno: string | undefined;
  /** True when the request certainly never reached the server (refused, unresolvable). */
  readonly beforeSend: boolean;

  constructor(message: string, site: CallSite, errno: string | undefined, beforeSend: boolean) {
    super(message, site);
    this.errno = errno;
    this.beforeSend = beforeSend;
  }
}

export class TimeoutError extends ImspecError {
  override name = "TimeoutError";
  readonly timeoutMs: number;
  constructor(timeoutMs: number, site: CallSite) {
    super(`${site.method ?? ""} ${site.path ?? ""} timed out after ${timeoutMs} ms`.trim(), site);
    this.timeoutMs = timeoutMs;
  }
}

export class AbortError extends ImspecError {
  override name = "AbortError";
  constructor(site: CallSite) {
    super(`${site.method ?? ""} ${site.path ?? ""} was aborted by the caller`.trim(), site);
  }
}

export class ParseError extends ImspecError {
  override name = "ParseError";
  readonly status: number;
  readonly requestId: string | undefined;
  constructor(message: string, site: CallSite, status: number, requestId?: string) {
    super(message, site);
    this.status = status;
    this.requestId = requestId;
  }
}

export class ConfigError extends ImspecError {
  override name = "ConfigError";
}

type Json = Record<string, unknown>;

function pick(body: Json, ...keys: string[]): unknown {
  for (const key of keys) if (body[key] !== undefined && body[key] !== null) return body[key];
  return undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0
    ? value
    : typeof value === "number"
      ? String(value)
      : undefined;
}

/** Whether a DingTalk body is the per-IP flood ban (`{status: 1111, wait, punish: "deny", …}`). */
export function isDingTalkIpBan(body: unknown): boolean {
  if (!body || typeof body !== "object" || Array.isArray(body)) return false;
  const b = body as Json;
  return String(b.status) === DINGTALK_IP_BAN_CODE && (typeof b.punish === "string" || b.wait !== undefined);
}

/**
 * The factory: turns an answer the server refused into the API's error class. `body` is the parsed
 * JSON body, or `undefined` when the body was not JSON (an HTML error page, an empty body).
 */
export function apiErrorFrom(
  api: ApiName,
  answer: { status: number; statusText?: string; headers?: Headers; body: unknown },
  site: CallSite,
): ApiError {
  const body = (answer.body && typeof answer.body === "object" ? answer.body : {}) as Json;
  const fallback = answer.statusText || `HTTP ${answer.status}`;
  const headers = answer.headers;
  if (api === "dingtalk") {
    // The gateway reads both spellings (alibabacloud-go/gateway-dingtalk ModifyResponse).
    const detail = pick(body, "accessdenieddetail", "AccessDeniedDetail") as Json | undefined;
    const scopes =
      detail && Array.isArray(detail.requiredScopes) ? detail.requiredScopes.map(String) : undefined;
    const ban = isDingTalkIpBan(body);
    return new DingTalkError({
      ...site,
      status: answer.status,
      code: asString(pick(body, "code", "Code")) ?? (ban ? DINGTALK_IP_BAN_CODE : undefined),
      message:
        asString(pick(body, "message", "Message")) ??
        (ban
          ? `the egress IP is blocked for calling too often (wait ${asString(body.wait) ?? "?"} s)`
          : fallback),
      requestId:
        asString(pick(body, "requestid", "RequestId", "requestId")) ??
        headers?.get("x-acs-request-id") ??
        undefined,
      body: answer.body,
      headers,
      requiredScopes: scopes,
    });
  }
  const status =
    typeof body.status === "number" ? body.status : Number.parseInt(String(body.status ?? ""), 10);
  return new WorkPlusError({
    ...site,
    status: answer.status,
    code: Number.isFinite(status) && status !== 0 ? status : answer.status,
    message: asString(body.message) ?? fallback,
    requestId: headers?.get("x-request-id") ?? undefined,
    body: answer.body,
    headers,
  });
}
