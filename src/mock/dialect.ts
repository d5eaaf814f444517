import { randomUUID } from "node:crypto";
import type { OpenApiDocument } from "./documents.js";
import { examplesOf, responsesOf } from "./examples.js";
import type { Problem } from "./problems.js";
import { type Code, deref, type MockProfile, operationsById, type TokenPlace } from "./profile.js";
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
 * The code an API that names none (`x-imspec-mock.invalid.code`) answers a request that breaks the
 * spec with: an envelope status, since such APIs document no HTTP status for it. 400 because it
 * reads as "bad request" to anyone who sees it.
 */
export const INVALID_REQUEST_CODE = 400;

/** The code of an unknown path or method when `x-imspec-mock.notFound` names none. */
const NOT_FOUND_CODE = 404;

/** A documented error example: where it is, and its code and message fields. */
interface Documented {
  status: number;
  value: Json;
  code: unknown;
  message: unknown;
}

/** How one API says "no", read from its spec (`x-imspec-errors`, `x-imspec-envelope`, `x-imspec-mock`). */
export class Dialect {
  readonly #profile: MockProfile;
  readonly #operations: Json[];

  /** `document` must be dereferenced (examples and responses inline). */
  constructor(profile: MockProfile, document: OpenApiDocument) {
    this.#profile = profile;
    this.#operations = [...operationsById(document).values()].map((op) => ({
      ...op,
      responses: Object.fromEntries(
        Object.entries((op.responses ?? {}) as Json).map(([k, r]) => [k, deref(document, r)]),
      ),
    }));
  }

  /** An error body in the API's own fields: `{code, message, requestid}`, or the envelope `{status, message}`. */
  body(code: Code, message: string): Json {
    const p = this.#profile;
    const body: Json = { [p.codeField]: code, [p.messageField]: message };
    if (p.requestIdField) body[p.requestIdField] = randomUUID().toUpperCase();
    return body;
  }

  /**
   * The HTTP status and documented message of `code`: from the operation's example with that code
   * (by body field or by example name), else any operation's, else from the documented example
   * whose code shares the longest dotted prefix (`Forbidden.AccessDenied.*`). An envelope API
   * answers every error with HTTP 200.
   */
  lookup(
    operation: Json | undefined,
    code: Code,
    prefix = false,
  ): { documented: Documented | undefined; status: number } {
    const documented =
      this.#find(operation, code, false) ?? (prefix ? this.#find(operation, code, true) : undefined);
    const p = this.#profile;
    // The example may sit under an illustrative 4XX/5XX response (WeCom's errcode -1 does): its body
    // is the envelope the API sends, but the API sends it with HTTP 200.
    if (p.envelope) return { documented, status: 200 };
    if (documented) return { documented, status: documented.status };
    return { documented, status: this.#nearest(String(code)) ?? 400 };
  }

  /** The request does not match the spec. */
  invalid(operation: Json | undefined, problems: readonly Problem[], parameterCode?: Code): Reply {
    const p = this.#profile;
    const all = problems.map((x) => x.text).join("; ");
    const first = problems[0];
    const invalidCode = p.invalid.code ?? INVALID_REQUEST_CODE;
    const fallback = this.lookup(operation, invalidCode);
    const status = p.invalid.status ?? fallback.status;
    if (parameterCode !== undefined) {
      // The parameter names the answer its bad values get (`x-imspec-invalid`), as documented.
      const own = this.lookup(operation, parameterCode);
      const message = stringOr(own.documented?.message, String(parameterCode));
      return json(own.documented ? own.status : status, this.body(parameterCode, `${message}: ${all}`));
    }
    if (first?.kind === "missing" && p.missing) {
      const fill = (text: string) => text.replaceAll("{field}", first.field);
      return json(status, this.body(fill(p.missing.code), `${fill(p.missing.message)} (${all})`));
    }
    const message = p.invalid.message ?? stringOr(fallback.documented?.message, "invalid request");
    return json(status, this.body(invalidCode, `${message}: ${all}`));
  }

  /**
   * The access token is missing, unknown, expired, replaced or of the wrong kind. A refusal whose
   * reason `tokenInvalid.reasons` names gets that code. Otherwise a missing token gets the
   * operation's documented response for a `tokenInvalid` status (a 401) when it has one; any other
   * refusal, and a missing token without one, gets the first `tokenInvalid` code. The code comes
   * with the status and message of its documented example (for `Code*`, the first documented code
   * that begins so), else its `x-imspec-status-codes` message.
   */
  unauthorized(operation: Json | undefined, reason: TokenCheck, place: TokenPlace | undefined): Reply {
    const p = this.#profile;
    const own = p.tokenInvalidReasons.get(reason);
    if (!own && reason === "missing" && operation) {
      const documented = this.#missingToken(operation, place);
      if (documented) return documented;
    }
    const code = own?.code ?? p.tokenInvalidCode ?? String(p.tokenInvalidStatuses[0] ?? 401);
    const prefix = own ? own.prefix : p.tokenInvalidPrefix;
    const { documented, status: documentedStatus } = this.lookup(operation, code, prefix);
    if (documented) {
      return json(
        documentedStatus,
        this.body(documented.code as Code, stringOr(documented.message, "invalid access token")),
      );
    }
    const numeric = /^\d+$/.test(code) && p.envelope ? Number(code) : code;
    const status = p.envelope ? 200 : (p.tokenInvalidStatuses[0] ?? 401);
    return json(status, this.body(numeric, p.statusMessages.get(code) ?? "invalid access token"));
  }

  /** No operation has this method and path. */
  notFound(method: string, path: string): Reply {
    const { status, code, message } = this.#profile.notFound;
    return json(
      status ?? 404,
      this.body(code ?? NOT_FOUND_CODE, message ?? `no operation ${method} ${path}`),
    );
  }

  /** An error as the API sends it: the documented example with that code, else one built like it. */
  error(operation: Json, code: Code, message?: string): Reply {
    const p = this.#profile;
    const { documented, status } = this.lookup(operation, code);
    if (documented) {
      const body = structuredClone(documented.value);
      if (message !== undefined) body[p.messageField] = message;
      return json(status, body);
    }
    return json(status, this.body(code, message ?? p.statusMessages.get(String(code)) ?? String(code)));
  }

  /** Adds what every answer of this API carries: the request-id header. */
  finish(reply: Reply): Reply {
    const p = this.#profile;
    if (!p.requestIdHeader) return reply;
    const body = reply.body as Json | undefined;
    const inBody = p.requestIdField && isObject(body) ? body[p.requestIdField] : undefined;
    const id = typeof inBody === "string" ? inBody : randomUUID().toUpperCase();
    return { ...reply, headers: { [p.requestIdHeader]: id, ...reply.headers } };
  }

  /** The operation's documented response for a `tokenInvalid` status, naming where the token goes. */
  #missingToken(operation: Json, place: TokenPlace | undefined): Reply | undefined {
    const p = this.#profile;
    const responses = (operation.responses ?? {}) as Record<string, Json>;
    for (const status of p.tokenInvalidStatuses) {
      const response = responses[String(status)];
      const example = response ? examplesOf(response)[0]?.value : undefined;
      if (!isObject(example)) continue;
      const message = stringOr(example[p.messageField], "unauthorized");
      const where = place
        ? `: the ${place.in === "query" ? "query parameter" : "header"} ${place.name} is missing`
        : "";
      return json(status, this.body(example[p.codeField] as Code, `${message}${where}`));
    }
    return undefined;
  }

  #find(operation: Json | undefined, code: Code, prefix: boolean): Documented | undefined {
    const wanted = String(code);
    const scan = (op: Json): Documented | undefined => {
      for (const entry of responsesOf(op)) {
        for (const example of examplesOf(entry.response)) {
          const value = example.value;
          if (!isObject(value)) continue;
          const found = value[this.#profile.codeField];
          const isError = this.#profile.envelope
            ? found !== undefined && found !== this.#profile.envelope.successStatus
            : entry.status >= 400;
          if (!isError) continue;
          const matches = prefix ? String(found).startsWith(wanted) : String(found) === wanted;
          if (matches || (!prefix && example.name === wanted && found !== undefined))
            return { status: entry.status, value, code: found, message: value[this.#profile.messageField] };
        }
      }
      return undefined;
    };
    if (operation) {
      const own = scan(operation);
      if (own) return own;
    }
    for (const op of this.#operations) {
      const found = scan(op);
      if (found) return found;
    }
    return undefined;
  }

  /** The status of the documented code sharing the most leading dotted segments with `code`. */
  #nearest(code: string): number | undefined {
    const segments = code.split(".");
    let best: { shared: number; status: number } | undefined;
    for (const op of this.#operations) {
      for (const entry of responsesOf(op)) {
        if (entry.status < 400) continue;
        for (const example of examplesOf(entry.response)) {
          const other = isObject(example.value) ? example.value[this.#profile.codeField] : undefined;
          if (typeof other !== "string") continue;
          const theirs = other.split(".");
          let shared = 0;
          while (
            shared < segments.length - 1 &&
            shared < theirs.length - 1 &&
            segments[shared] === theirs[shared]
          )
            shared++;
          if (shared > 0 && (!best || shared > best.shared)) best = { shared, status: entry.status };
        }
      }
    }
    return best?.status;
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" && value !== "" ? value : fallback;
}
