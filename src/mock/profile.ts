/**
 * What the mock reads from a served document's x-imspec-* extensions: how the API says no, where
 * its tokens go, which operations issue them, and the few facts only the mock needs
 * (`x-imspec-mock`, src/mock/README.md). Nothing here names an API: every fact comes from the spec.
 */
import { ownerOptions } from "../core/token-store.js";
import type { OpenApiDocument } from "./documents.js";
import { examplesOf, responsesOf } from "./examples.js";
import { REFUSALS, type TokenCheck, type TokenKind } from "./tokens.js";

type Json = Record<string, unknown>;

/** A code as the API sends it: a string (`"InvalidAuthentication"`) or an envelope status (`10011`). */
export type Code = string | number;

/** Where a security scheme carries the token. */
export interface TokenPlace {
  scheme: string;
  kind: TokenKind;
  /** `header` and `query` for apiKey schemes, `bearer` for `http` bearer (`Authorization: Bearer …`). */
  in: "header" | "query" | "bearer";
  /** The header or query parameter name (`authorization` for bearer). */
  name: string;
}

/** A rule the spec states in prose only, checked after the schema (`x-imspec-mock.requires`). */
export type Requirement = { when: Json; field: string } | { anyOf: string[]; note: string | undefined };

/** How the mock issues tokens from one operation. */
export interface TokenOperation {
  operationId: string;
  kind: TokenKind;
  /** Response field (after the envelope's `resultField`) that holds the token. */
  token: string;
  expires: { field: string; unit: "s" | "ms"; epoch: boolean } | undefined;
  /** Request fields that say whose token it is (the source's non-secret options and `identifying` secrets). */
  ownerFields: string[];
  /** Asking again within the lifetime returns the same token, extended. */
  reuse: boolean;
  /** A new token revokes the previous ones of the same owner. */
  replace: boolean;
  /** Response fields filled when issuing: `token`, `random`, `issuedAt` or `request` (the request's field of that name). */
  set: Record<string, "token" | "random" | "issuedAt" | "request">;
  /** Seconds: `x-imspec-mock.tokens.<op>.lifetime`, else what the success example shows, else `defaultLifetime`. */
  lifetimeSeconds: number;
}

export interface Envelope {
  statusField: string;
  messageField: string;
  resultField: string | undefined;
  successStatus: Code;
}

/** A `tokenInvalid` code without its trailing `*`, and whether it had one. */
export interface TokenCode {
  code: string;
  prefix: boolean;
}

export interface ErrorAnswer {
  status: number | undefined;
  code: Code | undefined;
  message: string | undefined;
}

export interface MockProfile {
  /** A short name for messages: the first word of `info.title`. */
  title: string;
  envelope: Envelope | undefined;
  codeField: string;
  messageField: string;
  requestIdField: string | undefined;
  requestIdHeader: string | undefined;
  tokenInvalidStatuses: number[];
  /** The first `tokenInvalid` code, without its trailing `*`. */
  tokenInvalidCode: string | undefined;
  /** Whether that code ended in `*`: any documented code it begins is one. */
  tokenInvalidPrefix: boolean;
  /** The `tokenInvalid` code answered for a refusal reason, when `tokenInvalid.reasons` names one. */
  tokenInvalidReasons: Map<TokenCheck, TokenCode>;
  /** Documented envelope statuses and their messages (`x-imspec-status-codes`). */
  statusMessages: Map<string, string>;
  places: TokenPlace[];
  tokens: Map<string, TokenOperation>;
  invalid: ErrorAnswer;
  missing: { code: string; message: string } | undefined;
  notFound: ErrorAnswer;
  requires: Map<string, Requirement[]>;
}

const SET_VALUES = ["token", "random", "issuedAt", "request"] as const;

class ExtensionError extends Error {
  constructor(where: string, what: string) {
    super(`imspec mock: ${where} ${what}`);
  }
}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isCode = (v: unknown): v is Code =>
  (typeof v === "string" && v.length > 0) || (typeof v === "number" && Number.isFinite(v));
const firstOf = (v: unknown): string | undefined =>
  typeof v === "string" ? v : Array.isArray(v) && typeof v[0] === "string" ? v[0] : undefined;

function object(value: unknown, where: string): Json {
  if (value === undefined) return {};
  if (!isObject(value)) throw new ExtensionError(where, "must be an object");
  return value;
}

function known(value: Json, keys: readonly string[], where: string): void {
  for (const key of Object.keys(value))
    if (!keys.includes(key))
      throw new ExtensionError(`${where}.${key}`, `is not a known field (known: ${keys.join(", ")})`);
}

function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "")
    throw new ExtensionError(where, "must be a non-empty string");
  return value;
}

/** `x-imspec-errors.tokenInvalid.reasons`: each reason's code, one of `tokenInvalid.codes`. */
function tokenReasons(tokenInvalid: Json): Map<TokenCheck, TokenCode> {
  const where = "x-imspec-errors.tokenInvalid.reasons";
  const reasons = object(tokenInvalid.reasons, where);
  known(reasons, REFUSALS, where);
  const codes = Array.isArray(tokenInvalid.codes) ? tokenInvalid.codes.map(String) : [];
  const out = new Map<TokenCheck, TokenCode>();
  for (const [reason, code] of Object.entries(reasons)) {
    if (!isCode(code) || !codes.includes(String(code)))
      throw new ExtensionError(
        `${where}.${reason}`,
        `must be one of tokenInvalid.codes (${codes.join(", ")})`,
      );
    out.set(reason as TokenCheck, {
      code: String(code).replace(/\*$/, ""),
      prefix: String(code).endsWith("*"),
    });
  }
  return out;
}

function errorAnswer(value: unknown, where: string): ErrorAnswer {
  const raw = object(value, where);
  known(raw, ["status", "code", "message"], where);
  if (
    raw.status !== undefined &&
    !(Number.isInteger(raw.status) && Number(raw.status) >= 100 && Number(raw.status) <= 599)
  )
    throw new ExtensionError(`${where}.status`, "must be an HTTP status (100-599)");
  if (raw.code !== undefined && !isCode(raw.code))
    throw new ExtensionError(`${where}.code`, "must be a string or a number");
  return {
    status: raw.status as number | undefined,
    code: raw.code as Code | undefined,
    message: optionalString(raw.message, `${where}.message`),
  };
}

function requirements(value: unknown, where: string, operationIds: Set<string>): Map<string, Requirement[]> {
  const out = new Map<string, Requirement[]>();
  for (const [operationId, rules] of Object.entries(object(value, where))) {
    const at = `${where}.${operationId}`;
    if (!operationIds.has(operationId)) throw new ExtensionError(at, "names no operation of the document");
    if (!Array.isArray(rules) || rules.length === 0) throw new ExtensionError(at, "must be a non-empty list");
    out.set(
      operationId,
      rules.map((rule, i): Requirement => {
        const ruleAt = `${at}.${i}`;
        const raw = object(rule, ruleAt);
        if (Array.isArray(raw.anyOf)) {
          known(raw, ["anyOf", "note"], ruleAt);
          if (raw.anyOf.length < 2 || !raw.anyOf.every((f) => typeof f === "string" && f !== ""))
            throw new ExtensionError(`${ruleAt}.anyOf`, "must list at least two field names");
          return { anyOf: raw.anyOf as string[], note: optionalString(raw.note, `${ruleAt}.note`) };
        }
        known(raw, ["when", "field"], ruleAt);
        const field = optionalString(raw.field, `${ruleAt}.field`);
        if (!field || !isObject(raw.when) || Object.keys(raw.when).length === 0)
          throw new ExtensionError(ruleAt, "needs `anyOf: [fields]`, or `when: {field: value}` and `field`");
        return { when: raw.when, field };
      }),
    );
  }
  return out;
}

function placesOf(document: OpenApiDocument): TokenPlace[] {
  const schemes = ((document.components as Json | undefined)?.securitySchemes ?? {}) as Record<string, Json>;
  const out: TokenPlace[] = [];
  for (const [scheme, raw] of Object.entries(schemes)) {
    const kind: TokenKind = raw["x-imspec-token-kind"] === "user" ? "user" : "app";
    if (raw.type === "apiKey" && (raw.in === "header" || raw.in === "query") && typeof raw.name === "string")
      out.push({ scheme, kind, in: raw.in, name: raw.name });
    else if (raw.type === "http" && String(raw.scheme).toLowerCase() === "bearer")
      out.push({ scheme, kind, in: "bearer", name: "authorization" });
    else
      throw new ExtensionError(
        `components.securitySchemes.${scheme}`,
        `(type ${String(raw.type)}) is not supported: use apiKey in a header or the query, or http bearer`,
      );
  }
  return out;
}

/** Every operation of the document by operationId. */
export function operationsById(document: OpenApiDocument): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const item of Object.values((document.paths ?? {}) as Record<string, Json>)) {
    for (const operation of Object.values(item)) {
      if (isObject(operation) && typeof operation.operationId === "string")
        out.set(operation.operationId, operation);
    }
  }
  return out;
}

/** Follows local `$ref`s (the bundled documents keep some). */
export function deref(document: OpenApiDocument, node: unknown): Json {
  let current = node as Json;
  for (let hops = 0; isObject(current) && typeof current.$ref === "string" && hops < 32; hops++) {
    const ref = current.$ref as string;
    if (!ref.startsWith("#/")) break;
    current = ref
      .slice(2)
      .split("/")
      .reduce<unknown>(
        (acc, key) => (isObject(acc) ? acc[key.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined),
        document,
      ) as Json;
  }
  return current;
}

/** The success example of an operation (first 2xx response, first example), its token part unwrapped. */
function successExample(operation: Json): Json | undefined {
  const success = responsesOf(operation).find((e) => e.status >= 200 && e.status < 300);
  const value = success ? examplesOf(success.response)[0]?.value : undefined;
  return isObject(value) ? value : undefined;
}

function tokenOperations(
  document: OpenApiDocument,
  mock: Json,
  envelope: Envelope | undefined,
  operations: Map<string, Json>,
): Map<string, TokenOperation> {
  const sources = new Map<string, { kind: TokenKind; source: Json }>();
  const schemes = ((document.components as Json | undefined)?.securitySchemes ?? {}) as Record<string, Json>;
  for (const scheme of Object.values(schemes)) {
    const kind: TokenKind = scheme["x-imspec-token-kind"] === "user" ? "user" : "app";
    const list = scheme["x-imspec-token"];
    if (!Array.isArray(list)) continue;
    for (const source of list)
      if (isObject(source) && typeof source.operation === "string" && !sources.has(source.operation))
        sources.set(source.operation, { kind, source });
  }
  const extra = object(mock.tokens, "x-imspec-mock.tokens");
  const out = new Map<string, TokenOperation>();
  for (const operationId of new Set([...sources.keys(), ...Object.keys(extra)])) {
    const where = `x-imspec-mock.tokens.${operationId}`;
    const operation = operations.get(operationId);
    if (!operation) throw new ExtensionError(where, "names no operation of the document");
    const own = object(extra[operationId], where);
    known(own, ["kind", "token", "expires", "lifetime", "reuse", "replace", "set"], where);
    const source = sources.get(operationId)?.source ?? {};
    const kind = own.kind ?? sources.get(operationId)?.kind ?? "app";
    if (kind !== "app" && kind !== "user") throw new ExtensionError(`${where}.kind`, "must be app or user");
    const rawExpires = own.expires ?? source.expires;
    let expires: TokenOperation["expires"];
    if (rawExpires !== undefined) {
      const e = object(rawExpires, `${where}.expires`);
      if (typeof e.field !== "string" || (e.unit !== "s" && e.unit !== "ms"))
        throw new ExtensionError(`${where}.expires`, "needs `field` and `unit` (s or ms)");
      expires = { field: e.field, unit: e.unit, epoch: e.epoch === true };
    }
    const set: TokenOperation["set"] = {};
    for (const [field, value] of Object.entries(object(own.set, `${where}.set`))) {
      if (!SET_VALUES.includes(value as (typeof SET_VALUES)[number]))
        throw new ExtensionError(`${where}.set.${field}`, `must be one of ${SET_VALUES.join(", ")}`);
      set[field] = value as TokenOperation["set"][string];
    }
    const token =
      optionalString(own.token, `${where}.token`) ?? optionalString(source.token, "x-imspec-token.token");
    if (!token) throw new ExtensionError(where, "needs `token`: the response field that holds the token");
    // Whose token, as the client tells them apart (an option marked optional ends with `?`).
    const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
    const options = Object.entries(isObject(source.options) ? source.options : {}).map(([field, option]) => [
      field,
      String(option).replace(/\?$/, ""),
    ]);
    const ownerFields = ownerOptions({
      options: Object.fromEntries(options),
      secrets: list(source.secrets),
      identifying: list(source.identifying),
    }).map(([field]) => field);
    if (own.lifetime !== undefined && !(typeof own.lifetime === "number" && own.lifetime > 0))
      throw new ExtensionError(`${where}.lifetime`, "must be a positive number of seconds");
    const lifetimeSeconds =
      (own.lifetime as number | undefined) ??
      exampleLifetime(successExample(operation), envelope, token, expires, set) ??
      (typeof source.defaultLifetime === "number" ? source.defaultLifetime : 7200);
    out.set(operationId, {
      operationId,
      kind,
      token,
      expires,
      ownerFields,
      reuse: own.reuse === true,
      replace: own.replace === true,
      set,
      lifetimeSeconds,
    });
  }
  return out;
}

/** A success body's data (a token operation's token, a page): the envelope's `resultField`, or the body itself. */
export function dataPart(body: unknown, envelope: Envelope | undefined): Json | undefined {
  if (!isObject(body)) return undefined;
  if (!envelope) return body;
  if (body[envelope.statusField] !== envelope.successStatus) return undefined;
  if (!envelope.resultField) return body;
  const result = body[envelope.resultField];
  return isObject(result) ? result : undefined;
}

/**
 * The lifetime the spec's own success example shows, in seconds: the `expires` field itself, or
 * for an epoch, its distance from the field the mock fills with the issue time.
 */
function exampleLifetime(
  example: Json | undefined,
  envelope: Envelope | undefined,
  token: string,
  expires: TokenOperation["expires"],
  set: TokenOperation["set"],
): number | undefined {
  const part = dataPart(example, envelope);
  if (!part || !expires || typeof part[token] !== "string") return undefined;
  const value = part[expires.field];
  if (typeof value !== "number") return undefined;
  let amount = value;
  if (expires.epoch) {
    const issuedField = Object.keys(set).find((f) => set[f] === "issuedAt");
    const issued = issuedField === undefined ? undefined : part[issuedField];
    if (typeof issued !== "number") return undefined;
    amount = value - issued;
  }
  const seconds = expires.unit === "ms" ? amount / 1000 : amount;
  return seconds > 0 ? seconds : undefined;
}

/** Reads the document's extensions; throws, naming the extension, on a value it cannot use. */
export function profileOf(document: OpenApiDocument): MockProfile {
  const errors = object(document["x-imspec-errors"], "x-imspec-errors");
  const rawEnvelope = document["x-imspec-envelope"];
  let envelope: Envelope | undefined;
  if (rawEnvelope !== undefined) {
    const e = object(rawEnvelope, "x-imspec-envelope");
    if (typeof e.statusField !== "string" || typeof e.messageField !== "string" || !isCode(e.successStatus))
      throw new ExtensionError("x-imspec-envelope", "needs statusField, messageField and successStatus");
    envelope = {
      statusField: e.statusField,
      messageField: e.messageField,
      resultField: typeof e.resultField === "string" ? e.resultField : undefined,
      successStatus: e.successStatus,
    };
  }
  const tokenInvalid = object(errors.tokenInvalid, "x-imspec-errors.tokenInvalid");
  const statuses = Array.isArray(tokenInvalid.statuses) ? tokenInvalid.statuses.map(Number) : [];
  // A refusal no reason names gets the first code no reason claims (an unknown token is not
  // "missing"), else the first code.
  const codes: unknown[] = Array.isArray(tokenInvalid.codes) ? tokenInvalid.codes : [];
  const claimed = new Set(
    Object.values(isObject(tokenInvalid.reasons) ? tokenInvalid.reasons : {}).map(String),
  );
  const firstCode = codes.find((code) => !claimed.has(String(code))) ?? codes[0];

  const mock = object(document["x-imspec-mock"], "x-imspec-mock");
  known(mock, ["invalid", "missing", "notFound", "tokens", "requires"], "x-imspec-mock");
  let missing: MockProfile["missing"];
  if (mock.missing !== undefined) {
    const m = object(mock.missing, "x-imspec-mock.missing");
    known(m, ["code", "message"], "x-imspec-mock.missing");
    const code = optionalString(m.code, "x-imspec-mock.missing.code");
    const message = optionalString(m.message, "x-imspec-mock.missing.message");
    if (!code || !message) throw new ExtensionError("x-imspec-mock.missing", "needs `code` and `message`");
    missing = { code, message };
  }

  const statusMessages = new Map<string, string>();
  for (const entry of (Array.isArray(document["x-imspec-status-codes"])
    ? document["x-imspec-status-codes"]
    : []) as Json[])
    if (isObject(entry) && typeof entry.message === "string")
      statusMessages.set(String(entry.status), entry.message);

  const operations = operationsById(document);
  const title =
    typeof (document.info as Json | undefined)?.title === "string"
      ? String((document.info as Json).title)
      : "";
  return {
    title: title.split(/\s+/)[0] ?? "",
    envelope,
    codeField: firstOf(errors.code) ?? envelope?.statusField ?? "code",
    messageField: firstOf(errors.message) ?? envelope?.messageField ?? "message",
    requestIdField: firstOf(errors.requestId),
    requestIdHeader: firstOf(errors.requestIdHeader)?.toLowerCase(),
    tokenInvalidStatuses: statuses,
    tokenInvalidCode: firstCode === undefined ? undefined : String(firstCode).replace(/\*$/, ""),
    tokenInvalidPrefix: String(firstCode ?? "").endsWith("*"),
    tokenInvalidReasons: tokenReasons(tokenInvalid),
    statusMessages,
    places: placesOf(document),
    tokens: tokenOperations(document, mock, envelope, operations),
    invalid: errorAnswer(mock.invalid, "x-imspec-mock.invalid"),
    missing,
    notFound: errorAnswer(mock.notFound, "x-imspec-mock.notFound"),
    requires: requirements(mock.requires, "x-imspec-mock.requires", new Set(operations.keys())),
  };
}
