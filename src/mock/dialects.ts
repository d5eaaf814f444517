import { randomUUID } from "node:crypto";
import type { MockApi, OpenApiDocument } from "./documents.js";
import { examplesOf, responsesOf } from "./examples.js";
import type { Problem } from "./problems.js";
import type { TokenCheck } from "./tokens.js";

type Json = Record<string, unknown>;

/** What the mock sends back for one request. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  /** A JSON value; with neither `body` nor `raw` the answer has no body. */
  body?: unknown;
  /** Bytes sent as they are (not JSON-encoded). */
  raw?: string | Uint8Array | undefined;
  delayMs?: number | undefined;
  drop?: "before-response" | "mid-body" | undefined;
}

export function json(status: number, body: unknown): Reply {
  return { status, headers: {}, body };
}

/**
 * WorkPlus documents no status for a malformed request (its docs list only 10011 and the six-digit
 * business codes), so the mock answers HTTP 200 with this envelope status and a message naming the
 * field. 400 was chosen because it reads as "bad request" to anyone who sees it.
 */
export const WORKPLUS_INVALID_REQUEST_STATUS = 400;

/** How one API says "no": its error body, its HTTP statuses, its token refusals. */
export interface Dialect {
  readonly api: MockApi;
  /** The request does not match the spec. */
  invalid(problems: readonly Problem[]): Reply;
  /** The access token is missing, unknown, expired, replaced or of the wrong kind. */
  unauthorized(reason: TokenCheck): Reply;
  /** No operation has this method and path. */
  notFound(method: string, path: string): Reply;
  /** An error the real API sends: DingTalk's `code`, WorkPlus's envelope `status`. */
  error(operation: Json, error: string | number, message?: string): Reply;
  /** Adds what every answer of this API carries. */
  finish(reply: Reply): Reply;
}

/** The operation's example whose name or body names `error` (a code, or an envelope status). */
function exampleFor(operation: Json, matches: (name: string, value: Json) => boolean) {
  for (const entry of responsesOf(operation)) {
    for (const example of examplesOf(entry.response)) {
      const value = example.value as Json;
      if (value && typeof value === "object" && matches(example.name, value)) return { entry, example };
    }
  }
  return undefined;
}

/**
 * The HTTP status of a DingTalk code the operation does not document: throttling is a 403
 * `Forbidden.AccessDenied.*` or a 429 `system.busy`; anything else reads as a parameter error.
 */
function undocumentedStatus(code: string): number {
  if (code.startsWith("Forbidden.")) return 403;
  if (/^system\.?busy$/i.test(code)) return 429;
  if (code === "unauthorized") return 401;
  if (/error$/i.test(code)) return 500;
  return 400;
}

/**
 * DingTalk (api.dingtalk.com v1.0): every 4xx/5xx body is `{code, message, requestid}` and the
 * gateway adds an `x-acs-request-id` header (specs/dingtalk/openapi.yaml, info.description).
 */
export function dingtalkDialect(): Dialect {
  const requestId = () => randomUUID().toUpperCase();
  const error = (status: number, code: string, message: string): Reply =>
    json(status, { code, message, requestid: requestId() });
  return {
    api: "dingtalk",
    invalid(problems) {
      const first = problems[0];
      const all = problems.map((p) => p.text).join("; ");
      // The gateway names a missing value `Missing<name>`, "<name> is mandatory for this action."
      // (a real answer: aliyun/alibabacloud-php-sdk#36, "Missingbody"); other parameter errors
      // use the documented `parameter.error`.
      if (first?.kind === "missing") {
        const name = first.field === "body" ? "body" : first.field;
        return error(400, `Missing${name}`, `${name} is mandatory for this action. (${all})`);
      }
      return error(400, "parameter.error", `参数错误: ${all}`);
    },
    unauthorized(reason) {
      // The spec: 401 when the token is missing; an invalid or expired token gives 400
      // InvalidAuthentication "不合法的access_token", as seen on the wire.
      if (reason === "missing")
        return error(401, "unauthorized", "未授权: the x-acs-dingtalk-access-token header is missing");
      return error(400, "InvalidAuthentication", "不合法的access_token");
    },
    notFound() {
      // What api.dingtalk.com answers for an unknown path or method (aliyun/alibabacloud-go-sdk#5).
      return error(
        404,
        "InvalidAction.NotFound",
        "Specified api is not found, please check your url and method.",
      );
    },
    error(operation, code, message) {
      const name = String(code);
      const found = exampleFor(operation, (n, v) => n === name || v.code === name);
      if (found) {
        const body = { ...(found.example.value as Json) };
        if (message !== undefined) body.message = message;
        return json(found.entry.status, body);
      }
      return error(undocumentedStatus(name), name, message ?? name);
    },
    finish(reply) {
      const body = reply.body as Json | undefined;
      const id =
        body && typeof body === "object" && typeof body.requestid === "string" ? body.requestid : requestId();
      return { ...reply, headers: { "x-acs-request-id": id, ...reply.headers } };
    },
  };
}

/**
 * WorkPlus: every body is the envelope `{status, message, result}` and errors come back with HTTP 200
 * (specs/workplus/openapi.yaml, info.description); 10011 "token not found." for a bad token.
 */
export function workplusDialect(document: OpenApiDocument): Dialect {
  const documented = new Map<number, string>();
  for (const entry of (document["x-imspec-status-codes"] ?? []) as Json[]) {
    if (typeof entry.status === "number" && typeof entry.message === "string")
      documented.set(entry.status, entry.message);
  }
  const envelope = (status: number, message: string): Reply => json(200, { status, message });
  return {
    api: "workplus",
    invalid(problems) {
      return envelope(
        WORKPLUS_INVALID_REQUEST_STATUS,
        `invalid request: ${problems.map((p) => p.text).join("; ")}`,
      );
    },
    unauthorized() {
      return envelope(10011, documented.get(10011) ?? "token not found.");
    },
    notFound(method, path) {
      return json(404, { status: 404, message: `no operation ${method} ${path}` });
    },
    error(operation, code, message) {
      const status = Number(code);
      const found = exampleFor(operation, (_n, v) => v.status === status);
      if (found && message === undefined) return json(found.entry.status, found.example.value);
      return envelope(status, message ?? documented.get(status) ?? `error ${status}`);
    },
    finish(reply) {
      return reply;
    },
  };
}
