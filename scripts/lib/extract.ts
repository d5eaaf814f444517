import { pointerKeys } from "./pointer.js";
import { SpecError } from "./problems.js";

/**
 * Plain data read from a bundled OpenAPI document: everything the operation-table builders need,
 * nothing ts-morph specific. Pure functions only, so the table-driven tests can feed documents in
 * and compare the data that comes out.
 */

export type HttpMethod = "GET" | "PUT" | "POST" | "DELETE" | "OPTIONS" | "HEAD" | "PATCH" | "TRACE";
export type ParamLocation = "path" | "query" | "header" | "body";
export type TokenKind = "none" | "app" | "user";

export interface Envelope {
  statusField: string;
  messageField: string;
  /** Where the data is; without it the data is the body itself, beside the status. */
  resultField?: string;
  successStatus: number;
  /** A body without the status field is a success too (some endpoints leave it out). */
  statusOptional?: boolean;
}

/** A documented call budget (`x-imspec-rate-limits`). */
export interface RateLimit {
  calls: number;
  seconds: number;
  scope: "app" | "app-operation" | "ip" | "ip-operation";
  code?: string;
}

/** One way to get an app token (`x-imspec-token`). */
export interface TokenSource {
  operation: string;
  /** Request field → client option. */
  options: Record<string, string>;
  /** Options that may be left out. */
  optional: string[];
  fixed: Record<string, string | number | boolean>;
  secrets: string[];
  /** Secrets that tell apps apart: hashed into the app's key. */
  identifying?: string[];
  token: string;
  expires?: { field: string; unit: "s" | "ms"; epoch: boolean };
  defaultLifetime: number;
}

/** How the API says no (`x-imspec-errors`, with the envelope's fields as defaults). */
export interface Errors {
  code: string[];
  message: string[];
  requestId: string[];
  requestIdHeader: string[];
  tokenInvalid: { statuses: number[]; codes: string[] };
  throttled: string[];
  neverRetry: string[];
  refusals: Array<{ match: Record<string, string | number | boolean>; code: string; message: string }>;
}

export interface Pagination {
  cursorParam: string;
  cursorField: string;
  /** Without it, there are more pages while the answer's cursor is a non-empty value. */
  hasMoreField?: string;
  itemsField: string;
  firstCursor?: number | string;
}

export interface StatusCode {
  status: number;
  name: string;
  message: string;
  description?: string;
}

export interface OperationInfo {
  operationId: string;
  method: HttpMethod;
  path: string;
  tag: string;
  summary?: string;
  description?: string;
  deprecated: boolean;
  /** Every key the caller passes in the one params object, and where it goes on the wire. */
  params: Array<{ name: string; in: ParamLocation; required: boolean }>;
  /** Which parameter sources exist, to type the params object as their intersection. */
  sources: { path: boolean; query: boolean; header: boolean; body: boolean; bodyRequired: boolean };
  /** The JSON body takes fields besides those `params` names (`additionalProperties`): any other key goes there. */
  openBody?: true;
  /** The first 2xx status, and whether it has a JSON body. */
  success: { status: number; hasBody: boolean; optionalBody: boolean };
  /** Safe to retry after a failure that may have reached the server (RFC 9110 idempotent methods). */
  idempotent: boolean;
  token: TokenKind;
  pagination?: Pagination;
  sdkOperation?: string;
  /** Budgets of this operation alone (`x-imspec-rate-limits` on the operation). */
  rateLimits?: RateLimit[];
  /** Documented error codes: the code field's value (`x-imspec-errors.code`) in error-response examples. */
  errorCodes: Array<{ status: number; code: string | number }>;
  /** Documented envelope status codes (`x-imspec-status-codes` on the operation). */
  statusCodes: number[];
}

export interface ApiInfo {
  title: string;
  version: string;
  servers: string[];
  /** Where the access token goes: one place per API (`scheme` for `Authorization: <scheme> <token>`). */
  auth?: { in: "header" | "query"; name: string; scheme?: string };
  envelope?: Envelope;
  errors: Errors;
  tokens: TokenSource[];
  rateLimits: RateLimit[];
  statusCodes: StatusCode[];
  tags: Array<{ name: string; displayName?: string; description?: string }>;
  operations: OperationInfo[];
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
const IDEMPOTENT = new Set<HttpMethod>(["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]);
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/**
 * Names that would shadow or pollute object prototypes if used as method or parameter keys: every
 * member of Object.prototype, and `prototype`. The client's method groups are a plain object filled
 * with `groups[tag] ??= {}`, so a tag that every object inherits (`isPrototypeOf`) would find the
 * built-in function there and hang its methods on it, for every object of the process to see.
 */
const FORBIDDEN_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), "prototype"]);

/** Names a method or tag group may not take besides those, and why: the language calls them. */
const PROTOCOL_KEYS = new Map([
  ["then", "it would make the client a thenable, which `await` calls"],
  ["toJSON", "JSON.stringify would call it on any object holding the client"],
]);

/**
 * What a client holds besides its tag groups (`Client` in src/core/client.ts): a tag of one of these
 * names would have its group replaced by that property, while its type still promised the methods.
 */
const CLIENT_KEYS = new Set(["appToken"]);

type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Follows a local `#/components/...` reference in a bundled document. */
export function deref<T = Json>(doc: Json, node: unknown): T | undefined {
  let current = node;
  for (let hops = 0; isObject(current) && typeof current.$ref === "string"; hops++) {
    if (hops > 32) throw new SpecError(`Reference cycle at ${String(current.$ref)}`);
    const ref = current.$ref;
    if (!ref.startsWith("#/")) throw new SpecError(`Unbundled reference ${ref}: bundle the document first`);
    // Read as preflight and Redocly read it: the bundle keeps the escapes of a key holding a % or #.
    current = keysOf(ref)?.reduce<unknown>((acc, key) => (isObject(acc) ? acc[key] : undefined), doc);
    if (current === undefined) throw new SpecError(`Unresolved reference ${ref}`);
  }
  return current as T | undefined;
}

/** The keys a local `$ref` names; undefined for a % that starts no escape (preflight refuses it first). */
function keysOf(ref: string): string[] | undefined {
  try {
    return pointerKeys(ref.slice(1));
  } catch {
    return undefined;
  }
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function tokenKindOf(doc: Json, operation: Json, where: string, at: ReadonlyArray<string>): TokenKind {
  const own = Array.isArray(operation.security);
  const security = (own ? operation.security : doc.security) as unknown;
  if (!Array.isArray(security) || security.length === 0) return "none";
  const schemes = schemesOf(doc);
  const kinds = new Set<TokenKind>();
  for (const requirement of security) {
    if (!isObject(requirement)) continue;
    const names = Object.keys(requirement);
    if (names.length === 0) kinds.add("none");
    for (const name of names) {
      // Redocly's security-defined says so too, but a registry may turn it off.
      if (!Object.hasOwn(schemes, name))
        throw new SpecError(
          `${where}: security names the scheme "${name}", which components.securitySchemes does not define`,
          own ? [...at, "security"] : ["security"],
        );
      const scheme = deref<Json>(doc, schemes[name]);
      kinds.add(scheme?.["x-imspec-token-kind"] === "user" ? "user" : "app");
    }
  }
  if (kinds.has("user")) return "user";
  if (kinds.has("app")) return "app";
  return "none";
}

function schemesOf(doc: Json): Json {
  return (
    isObject(doc.components) && isObject(doc.components.securitySchemes) ? doc.components.securitySchemes : {}
  ) as Json;
}

function authOf(doc: Json): ApiInfo["auth"] {
  let auth: ApiInfo["auth"];
  for (const [name, raw] of Object.entries(schemesOf(doc))) {
    const scheme = deref<Json>(doc, raw);
    let place: ApiInfo["auth"];
    if (scheme?.type === "apiKey" && (scheme.in === "header" || scheme.in === "query") && str(scheme.name))
      place = { in: scheme.in, name: scheme.name as string };
    else if (scheme?.type === "http" && String(scheme.scheme).toLowerCase() === "bearer")
      place = { in: "header", name: "authorization", scheme: "Bearer" };
    else
      throw new SpecError(
        `securitySchemes.${name}: only apiKey schemes in a header or the query, and http bearer, are supported`,
        ["components", "securitySchemes", name],
      );
    // One way for every token: the client sends each as the profile says. Header names are
    // compared in any letter case, as HTTP does; query names as they are, as servers read them.
    const named = (a: string, b: string) =>
      place.in === "header" ? a.toLowerCase() === b.toLowerCase() : a === b;
    if (auth && (auth.in !== place.in || !named(auth.name, place.name) || auth.scheme !== place.scheme)) {
      throw new SpecError(
        `securitySchemes.${name}: all schemes of one API must put the token in the same place, under the same name, with the same prefix: ${describeAuth(auth)}, then ${describeAuth(place)}`,
        ["components", "securitySchemes", name],
      );
    }
    auth = place;
  }
  return auth;
}

/** How a scheme sends its token, for a message: `header authorization (Bearer)`, `query access_token`. */
const describeAuth = (auth: NonNullable<ApiInfo["auth"]>) =>
  `${auth.in} ${auth.name}${auth.scheme ? ` (${auth.scheme})` : ""}`;

const list = (value: unknown): string[] =>
  value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(String);

/** `x-imspec-errors`, its shape checked by the lint rule `imspec/extensions`. */
function errorsOf(raw: unknown, envelope: Envelope | undefined): Errors {
  const e = isObject(raw) ? raw : {};
  const invalid = isObject(e.tokenInvalid) ? e.tokenInvalid : {};
  return {
    code: e.code === undefined && envelope ? [envelope.statusField] : list(e.code),
    message: e.message === undefined && envelope ? [envelope.messageField] : list(e.message),
    requestId: list(e.requestId),
    requestIdHeader: list(e.requestIdHeader).map((h) => h.toLowerCase()),
    tokenInvalid: {
      statuses: (Array.isArray(invalid.statuses) ? invalid.statuses : []) as number[],
      codes: list(invalid.codes),
    },
    throttled: list(e.throttled),
    neverRetry: list(e.neverRetry),
    refusals: (Array.isArray(e.refusals) ? e.refusals : []).filter(isObject).map((r) => ({
      match: r.match as Record<string, string | number | boolean>,
      code: String(r.code),
      message: String(r.message),
    })),
  };
}

/** The app token sources: `x-imspec-token` on the security schemes, in the order they appear. */
function tokensOf(doc: Json, operations: OperationInfo[], envelope: Envelope | undefined): TokenSource[] {
  const sources: TokenSource[] = [];
  for (const [name, raw] of Object.entries(schemesOf(doc))) {
    const entries = deref<Json>(doc, raw)?.["x-imspec-token"];
    for (const [i, entry] of (Array.isArray(entries) ? entries.filter(isObject) : []).entries()) {
      const op = operations.find((o) => o.operationId === entry.operation);
      if (op?.token !== "none")
        throw new SpecError(
          `securitySchemes.${name}.x-imspec-token: ${String(entry.operation)} must be an operation with security: []`,
          ["components", "securitySchemes", name, "x-imspec-token"],
        );
      const options: Record<string, string> = {};
      const optional: string[] = [];
      for (const [field, option] of Object.entries(isObject(entry.options) ? entry.options : {})) {
        const bare = String(option).replace(/\?$/, "");
        if (bare !== String(option)) optional.push(bare);
        options[field] = bare;
      }
      const expires = isObject(entry.expires) ? entry.expires : undefined;
      const at = ["components", "securitySchemes", name, "x-imspec-token", i];
      const fixed = isObject(entry.fixed) ? entry.fixed : {};
      // The client sends only the operation's parameters: a field that is none would be dropped.
      requireFields(
        new Map(op.params.map((p) => [p.name, []])),
        `securitySchemes.${name}.x-imspec-token.${i}: `,
        op.operationId,
        [
          ...Object.keys(options).map((field) => ["options", field, [...at, "options", field]] as const),
          ...Object.keys(fixed).map((field) => ["fixed", field, [...at, "fixed", field]] as const),
        ],
        "a parameter",
      );
      requireAnswerFields(
        doc,
        op,
        envelope,
        `securitySchemes.${name}.x-imspec-token.${i}: `,
        `${op.operationId}'s`,
        [
          ["token", String(entry.token), [...at, "token"]],
          ["expires.field", expires && String(expires.field), [...at, "expires", "field"]],
        ],
      );
      sources.push({
        operation: op.operationId,
        options,
        optional,
        fixed: fixed as TokenSource["fixed"],
        secrets: list(entry.secrets),
        ...(list(entry.identifying).length ? { identifying: list(entry.identifying) } : {}),
        token: String(entry.token),
        ...(expires
          ? {
              expires: {
                field: String(expires.field),
                unit: expires.unit === "ms" ? ("ms" as const) : ("s" as const),
                epoch: expires.epoch === true,
              },
            }
          : {}),
        defaultLifetime: Number(entry.defaultLifetime),
      });
    }
  }
  return sources;
}

function rateLimitsOf(raw: unknown): RateLimit[] {
  return (Array.isArray(raw) ? raw : []).filter(isObject).map((r) => ({
    calls: Number(r.calls),
    seconds: Number(r.seconds),
    scope: r.scope as RateLimit["scope"],
    ...(r.code === undefined ? {} : { code: String(r.code) }),
  }));
}

function envelopeOf(raw: unknown, where: string): Envelope | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) throw new SpecError(`${where}: x-imspec-envelope must be an object`);
  const envelope: { [K in keyof Envelope]?: Envelope[K] | undefined } = {
    statusField: str(raw.statusField),
    messageField: str(raw.messageField),
    resultField: str(raw.resultField),
    successStatus: raw.successStatus as number,
  };
  if (
    !envelope.statusField ||
    !envelope.messageField ||
    (raw.resultField !== undefined && !envelope.resultField) ||
    typeof envelope.successStatus !== "number"
  ) {
    throw new SpecError(
      `${where}: x-imspec-envelope needs statusField, messageField (strings), successStatus (number) and optionally resultField (string)`,
    );
  }
  if (!envelope.resultField) delete envelope.resultField;
  if (raw.statusOptional === true) envelope.statusOptional = true;
  return envelope as Envelope;
}

function paginationOf(raw: unknown, where: string): Pagination | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) throw new SpecError(`${where}: x-imspec-pagination must be an object`);
  const fields = ["cursorParam", "cursorField", "itemsField"] as const;
  for (const field of fields) {
    if (!str(raw[field])) throw new SpecError(`${where}: x-imspec-pagination.${field} must be a string`);
  }
  const pagination: Pagination = {
    cursorParam: raw.cursorParam as string,
    cursorField: raw.cursorField as string,
    itemsField: raw.itemsField as string,
  };
  if (raw.hasMoreField !== undefined) {
    if (!str(raw.hasMoreField))
      throw new SpecError(`${where}: x-imspec-pagination.hasMoreField must be a string`);
    pagination.hasMoreField = raw.hasMoreField as string;
  }
  if (typeof raw.firstCursor === "number" || typeof raw.firstCursor === "string")
    pagination.firstCursor = raw.firstCursor;
  return pagination;
}

/** `token not found.` → `TOKEN_NOT_FOUND`, used when a status code carries no explicit name. */
export function constantName(text: string): string {
  const name = text
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toUpperCase();
  return /^[A-Z]/.test(name) ? name : `STATUS_${name}`;
}

function statusCodesOf(raw: unknown): StatusCode[] {
  if (!Array.isArray(raw)) return [];
  const codes: StatusCode[] = [];
  const seen = new Set<string>();
  for (const [i, entry] of raw.entries()) {
    const at = ["x-imspec-status-codes", i];
    if (!isObject(entry) || typeof entry.status !== "number") {
      throw new SpecError("x-imspec-status-codes: each entry needs a numeric `status`", at);
    }
    const message = str(entry.message) ?? "";
    // A message with no ASCII letter or digit (one in Chinese alone) names nothing: the status does.
    const name =
      str(entry.name) ?? constantName(/[A-Za-z0-9]/.test(message) ? message : `status ${entry.status}`);
    if (seen.has(name)) throw new SpecError(`x-imspec-status-codes: the name ${name} is used twice`, at);
    seen.add(name);
    // statusMessages holds one message a status: another entry's would be dropped without a word.
    const twin = codes.find((c) => c.status === entry.status);
    if (twin)
      throw new SpecError(
        `x-imspec-status-codes: the status ${entry.status} is listed twice (${twin.name}, ${name})`,
        at,
      );
    const code: StatusCode = { status: entry.status, name, message };
    const description = str(entry.description);
    if (description) code.description = description;
    codes.push(code);
  }
  return codes.sort((a, b) => a.status - b.status);
}

/** The media type of a content map that is some spelling of JSON, if any. */
function jsonKey(content: unknown): string | undefined {
  if (!isObject(content)) return undefined;
  return Object.keys(content).find((type) => /^application\/(.+\+)?json\b/.test(type));
}

function jsonMedia(content: unknown): Json | undefined {
  const key = jsonKey(content);
  return key ? ((content as Json)[key] as Json) : undefined;
}

/**
 * A body the clients type and send (the request's, the first 2xx answer's) is `application/json`
 * itself: the generated types index that key, and another spelling of JSON (`; charset=utf-8`,
 * `+json`) would compile to a type that does not exist.
 */
function plainJson(content: unknown, at: ReadonlyArray<string>): void {
  const key = jsonKey(content);
  if (key !== undefined && !Object.hasOwn(content as Json, "application/json"))
    throw new SpecError(
      `the media type "${key}": the clients read a JSON body as "application/json" (JSON is UTF-8 by definition, no charset needed)`,
      [...at, "content", key],
    );
}

/**
 * The codes of an operation's error-response examples: in each, the first of the API's code fields
 * (`x-imspec-errors.code`) it has, as the client reads it.
 */
function errorCodesOf(
  doc: Json,
  responses: Json,
  codeFields: readonly string[],
): OperationInfo["errorCodes"] {
  const codes: OperationInfo["errorCodes"] = [];
  for (const [status, raw] of Object.entries(responses)) {
    if (!/^[45]\d\d$/.test(status)) continue;
    const media = jsonMedia(deref<Json>(doc, raw)?.content);
    for (const example of Object.values((media?.examples as Json | undefined) ?? {})) {
      const value = deref<Json>(doc, example)?.value;
      if (!isObject(value)) continue;
      const code = value[codeFields.find((field) => Object.hasOwn(value, field)) ?? ""];
      if (typeof code === "string" || (typeof code === "number" && Number.isFinite(code)))
        codes.push({ status: Number(status), code });
    }
  }
  const unique = new Map(codes.map((c) => [`${c.status} ${typeof c.code} ${c.code}`, c]));
  return [...unique.values()].sort(
    (a, b) => a.status - b.status || String(a.code).localeCompare(String(b.code)),
  );
}

/** Why a name a spec gives is refused, beyond its not being an identifier. */
const inherited = (key: string) =>
  FORBIDDEN_KEYS.has(key) ? " (every JavaScript object has a member of that name)" : "";

function checkKey(key: string, what: string): void {
  if (!IDENTIFIER.test(key) || FORBIDDEN_KEYS.has(key)) {
    throw new SpecError(`${what} "${key}" is not usable as a TypeScript property name${inherited(key)}`);
  }
}

/** An operation's method name and tag, checked as usable TypeScript names. */
function namesOf(operation: Json, where: string): { operationId: string; tag: string } {
  const operationId = str(operation.operationId);
  if (!operationId) throw new SpecError(`${where}: operationId is missing`);
  if (!IDENTIFIER.test(operationId) || FORBIDDEN_KEYS.has(operationId)) {
    throw new SpecError(
      `${where}: operationId "${operationId}" is not a usable method name${inherited(operationId)}`,
    );
  }
  if (PROTOCOL_KEYS.has(operationId))
    throw new SpecError(
      `${where}: operationId "${operationId}" is not a usable method name: ${PROTOCOL_KEYS.get(operationId)}`,
    );
  const tags = Array.isArray(operation.tags)
    ? operation.tags.filter((t): t is string => typeof t === "string")
    : [];
  const tag = tags[0];
  if (!tag) throw new SpecError(`${where} (${operationId}): needs a tag (methods are grouped by tag)`);
  checkKey(tag, `${where}: tag`);
  if (PROTOCOL_KEYS.has(tag))
    throw new SpecError(`${where}: tag "${tag}" is not usable as a method group: ${PROTOCOL_KEYS.get(tag)}`);
  if (CLIENT_KEYS.has(tag)) {
    throw new SpecError(
      `${where}: tag "${tag}" is the client's own property (client.${tag}), which would hide the tag's methods`,
    );
  }
  return { operationId, tag };
}

/**
 * An operation that sends the access token may not declare a parameter where the token goes: the
 * client writes the token there over whatever the caller gave, and the method's type would still
 * ask the caller for it.
 */
function refuseAuthParameter(doc: Json, op: OperationInfo, auth: NonNullable<ApiInfo["auth"]>): void {
  if (op.token === "none") return;
  const header = auth.in === "header";
  const isAuth = (p: Json | undefined) =>
    p?.in === auth.in &&
    typeof p.name === "string" &&
    (header ? p.name.toLowerCase() === auth.name.toLowerCase() : p.name === auth.name);
  const owners: Array<[Json | undefined, string[]]> = [
    [operationNodeOf(doc, op), ["paths", op.path, op.method.toLowerCase()]],
    [deref<Json>(doc, (doc.paths as Json)[op.path]), ["paths", op.path]],
  ];
  for (const [owner, at] of owners) {
    const list = Array.isArray(owner?.parameters) ? owner.parameters : [];
    const i = list.findIndex((p) => isAuth(deref<Json>(doc, p)));
    if (i >= 0)
      throw new SpecError(
        `${op.operationId}: the ${auth.in} parameter "${auth.name}" is where the security scheme puts the access token, which the client writes: leave it out of the operation`,
        [...at, "parameters", i],
      );
  }
}

/** How deep `typesOf` follows `allOf`, `oneOf` and `anyOf`: a schema may include itself through them. */
const MAX_TYPE_DEPTH = 8;

/**
 * The JSON types a schema gives its values, through `$ref`s: its own `type`, each of its `allOf`
 * members' (all hold), and those every branch of its `oneOf` or `anyOf` has. A schema that is an
 * object only through `allOf: [{ $ref: Filter }]` is serialized as one all the same.
 */
function typesOf(doc: Json, raw: unknown, depth = 0): Set<unknown> {
  const schema = deref<Json>(doc, raw);
  const types = new Set<unknown>();
  if (!isObject(schema) || depth > MAX_TYPE_DEPTH) return types;
  for (const type of [schema.type].flat()) if (type !== undefined) types.add(type);
  for (const member of Array.isArray(schema.allOf) ? schema.allOf : [])
    for (const type of typesOf(doc, member, depth + 1)) types.add(type);
  for (const key of ["oneOf", "anyOf"]) {
    const branches = Array.isArray(schema[key]) ? schema[key] : [];
    const [first, ...rest] = branches.map((branch) => typesOf(doc, branch, depth + 1));
    for (const type of first ?? []) if (rest.every((other) => other.has(type))) types.add(type);
  }
  return types;
}

/**
 * How a parameter's value goes on the wire is how the clients write it (src/core/client.ts): a path
 * or header value as it is (`simple`), a query array repeated (`ids=1&ids=2`, `form` exploded), a
 * query object as `f[k]=v` (`deepObject`), never a value encoded as a media type (`content`). A spec
 * that says otherwise would get a client sending what the server does not read, without a word.
 */
function refuseSerialization(doc: Json, parameter: Json, what: string, at: ReadonlyArray<string | number>) {
  const types = typesOf(doc, parameter.schema);
  const { style, explode } = parameter;
  let said: [string, string] | undefined;
  if (isObject(parameter.content))
    said = ["content", `content (${Object.keys(parameter.content).join(", ")})`];
  else if (parameter.in !== "query") {
    if (style !== undefined && style !== "simple") said = ["style", `style: ${String(style)}`];
    // What the clients write there: a path segment is a string or a number, a header value text
    // (an array joined with commas, as simple style says); an object has no such form.
    // `null` beside a type (`type: [string, "null"]`) is a value the clients leave out, as any other.
    const unsendable = [...types].filter((type) =>
      parameter.in === "path"
        ? !["string", "integer", "number", "null"].includes(String(type))
        : type === "object",
    );
    if (!said && unsendable.length > 0)
      throw new SpecError(
        `${what} is typed ${unsendable.join(", ")}, which the clients cannot send in a ${String(parameter.in)}: ${parameter.in === "path" ? "a path segment is a string or a number" : "a header value is text, or a list of values"}`,
        [...at, "schema"],
      );
  } else if (types.has("object")) {
    if (style !== "deepObject") said = ["style", `style: ${String(style ?? "form")} (an object)`];
  } else if (types.has("array")) {
    if (style !== undefined && style !== "form") said = ["style", `style: ${String(style)}`];
    else if (explode === false) said = ["explode", "explode: false"];
  }
  if (said)
    throw new SpecError(
      `${what} is sent as ${said[1]}, which the clients do not send: they send path and header values as they are (simple), query arrays repeated (form, exploded) and query objects as deepObject`,
      [...at, said[0]],
    );
}

/** The parameters a path item or an operation lists, each with where it stands. */
function declaredIn(doc: Json, owner: Json, at: ReadonlyArray<string>) {
  return (Array.isArray(owner.parameters) ? owner.parameters : []).map((raw, i) => ({
    parameter: deref<Json>(doc, raw) as Json,
    at: [...at, "parameters", i],
  }));
}

/**
 * An operation's parameters, path-level and its own, then its JSON body's properties: one namespace,
 * so a name used twice (in two locations) is an error. `seen` maps each name to its location.
 */
function paramsOf(
  doc: Json,
  pathItem: Json,
  operation: Json,
  at: { where: string; path: string; methodKey: string; operationId: string },
) {
  const { where, path, operationId } = at;
  const params: OperationInfo["params"] = [];
  const sources = { path: false, query: false, header: false, body: false, bodyRequired: false };
  const seen = new Map<string, ParamLocation>();
  const add = (name: string, location: ParamLocation, required: boolean) => {
    checkKey(name, `${operationId}: parameter`);
    const previous = seen.get(name);
    if (previous) {
      throw new SpecError(
        `${operationId}: the ${location} parameter "${name}" collides with the ${previous} parameter of the same name`,
      );
    }
    seen.set(name, location);
    params.push({ name, in: location, required });
  };
  const declared = [
    ...declaredIn(doc, pathItem, ["paths", path]),
    ...declaredIn(doc, operation, ["paths", path, at.methodKey]),
  ];
  // Operation-level parameters override path-level ones with the same name and location.
  const byKey = new Map<string, (typeof declared)[number]>();
  for (const entry of declared) byKey.set(`${entry.parameter.in} ${entry.parameter.name}`, entry);
  for (const { parameter, at: place } of byKey.values()) {
    const location = parameter.in;
    const name = str(parameter.name);
    if (!name) throw new SpecError(`${operationId}: a parameter has no name`);
    if (location === "cookie") throw new SpecError(`${operationId}: cookie parameters are not supported`);
    if (location !== "path" && location !== "query" && location !== "header") {
      throw new SpecError(
        `${operationId}: parameter "${name}" has an unknown location "${String(location)}"`,
      );
    }
    refuseSerialization(doc, parameter, `${operationId}: parameter "${name}"`, place);
    sources[location] = true;
    add(name, location, location === "path" || parameter.required === true);
  }
  const templated = new Set<string>();
  for (const match of path.matchAll(/\{([^}]+)\}/g)) {
    const name = match[1] as string;
    if (seen.get(name) !== "path")
      throw new SpecError(`${where}: the path parameter {${name}} is not declared`);
    templated.add(name);
  }
  // The client puts a path parameter where its `{name}` is: one the path does not hold, which the
  // method's type still requires, would be dropped.
  for (const [name, location] of seen)
    if (location === "path" && !templated.has(name))
      throw new SpecError(`${where}: the path parameter "${name}" is not in the path`);
  const requestBody = deref<Json>(doc, operation.requestBody);
  if (requestBody) {
    plainJson(requestBody.content, ["paths", path, at.methodKey, "requestBody"]);
    const media = jsonMedia(requestBody.content);
    if (!media) throw new SpecError(`${operationId}: only JSON request bodies are supported`);
    const mediaType = jsonKey(requestBody.content) as string;
    const schemaAt = ["paths", path, at.methodKey, "requestBody", "content", mediaType, "schema"];
    const fields = requestFieldsOf(doc, media.schema, schemaAt, operationId);
    if (fields.names.size === 0 && !fields.open) {
      throw new SpecError(
        `${operationId}: the request body must be an object schema with properties`,
        schemaAt,
      );
    }
    sources.body = true;
    sources.bodyRequired = requestBody.required === true;
    for (const name of fields.names) add(name, "body", fields.required.has(name));
    if (fields.open) return { params, sources, seen, openBody: true as const };
  }
  return { params, sources, seen };
}

/**
 * The fields of a request body's object schema: its own properties and those of its `allOf`
 * members, each required where any of them requires it; `open` when it takes others too
 * (`additionalProperties`, `patternProperties`), which the clients then send in the body as well. A
 * body of one of several shapes (`oneOf`, `anyOf`) is refused where it says so: the clients could
 * not tell which fields are the body's.
 */
function requestFieldsOf(
  doc: Json,
  raw: unknown,
  at: ReadonlyArray<string | number>,
  operationId: string,
  depth = 0,
): { names: Set<string>; required: Set<string>; open: boolean } {
  const schema = deref<Json>(doc, raw);
  const fields = { names: new Set<string>(), required: new Set<string>(), open: false };
  if (!isObject(schema) || depth > 16) return fields;
  // Branches that only require one set of fields or another ("a or b") are one shape; branches that
  // declare fields or types of their own are several.
  const shaped = (branch: unknown) => {
    const b = deref<Json>(doc, branch);
    return (
      isObject(b) &&
      ["properties", "type", "additionalProperties", "patternProperties", "allOf", "oneOf", "anyOf"].some(
        (k) => b[k] !== undefined,
      )
    );
  };
  for (const key of ["oneOf", "anyOf"])
    if (Array.isArray(schema[key]) ? schema[key].some(shaped) : schema[key] !== undefined)
      throw new SpecError(
        `${operationId}: a request body of several shapes (${key}) is not supported: the clients send the fields its properties (and its allOf members') name, and those its additionalProperties allow`,
        [...at, key],
      );
  const { additionalProperties, patternProperties } = schema;
  fields.open =
    (additionalProperties !== undefined && additionalProperties !== false) || isObject(patternProperties);
  if (isObject(schema.properties)) for (const name of Object.keys(schema.properties)) fields.names.add(name);
  for (const name of Array.isArray(schema.required) ? schema.required : [])
    if (typeof name === "string") fields.required.add(name);
  const members = Array.isArray(schema.allOf) ? schema.allOf : [];
  for (const [i, member] of members.entries()) {
    const inner = requestFieldsOf(doc, member, [...at, "allOf", i], operationId, depth + 1);
    for (const name of inner.names) fields.names.add(name);
    for (const name of inner.required) fields.required.add(name);
    fields.open ||= inner.open;
  }
  return fields;
}

/** The key of the first 2xx response, the one the clients read (spec:diff reads the same one). */
export function successKeyOf(responses: Json): string | undefined {
  return Object.keys(responses)
    .filter((code) => /^2\d\d$/.test(code))
    .sort()[0];
}

/** The first 2xx response: its status, and whether it has a (possibly optional) JSON body. The
 * client and the mock read that one only: `x-imspec-optional-body` on any other would be ignored. */
function successOf(
  doc: Json,
  responses: Json,
  operationId: string,
  at: ReadonlyArray<string>,
): OperationInfo["success"] {
  const successKey = successKeyOf(responses);
  for (const code of Object.keys(responses))
    if (code !== successKey && deref<Json>(doc, responses[code])?.["x-imspec-optional-body"] !== undefined)
      throw new SpecError(
        `x-imspec-optional-body belongs on the operation's first 2xx response (${successKey ?? "it has none"}), not on ${code}`,
        [...at, "responses", code, "x-imspec-optional-body"],
      );
  if (!successKey) {
    // A range says "some 2xx" where the client and the mock need the one the server gives.
    const range = Object.keys(responses).find((code) => /^2xx$/i.test(code));
    throw new SpecError(
      range
        ? `${operationId}: declares its success as the range ${range}: give the status the server answers (200, 201, …)`
        : `${operationId}: declares no 2xx response`,
      range ? [...at, "responses", range] : undefined,
    );
  }
  const successResponse = deref<Json>(doc, responses[successKey]) ?? {};
  plainJson(successResponse.content, [...at, "responses", successKey]);
  const content = successResponse.content;
  if (isObject(content) && Object.keys(content).length > 0 && !jsonMedia(content))
    throw new SpecError(
      `${operationId}: its ${successKey} answer is ${Object.keys(content).join(", ")}: the clients read JSON answers only, and would drop this one's body`,
      [...at, "responses", successKey, "content"],
    );
  return {
    status: Number(successKey),
    hasBody: jsonMedia(successResponse.content) !== undefined,
    optionalBody: successResponse["x-imspec-optional-body"] === true,
  };
}

export function extractOperation(
  doc: Json,
  path: string,
  methodKey: (typeof METHODS)[number],
  pathItem: Json,
  codeFields: readonly string[] = ["code"],
): OperationInfo {
  const operation = deref<Json>(doc, pathItem[methodKey]) as Json;
  const method = methodKey.toUpperCase() as HttpMethod;
  const where = `${method} ${path}`;
  // The clients send every operation to one base URL (the document's server, or the baseUrl option).
  for (const [owner, place] of [
    [pathItem, ["paths", path, "servers"]],
    [operation, ["paths", path, methodKey, "servers"]],
  ] as const)
    if (owner.servers !== undefined)
      throw new SpecError(
        `${where}: servers of its own are not supported: the clients send every operation to the document's servers (or the baseUrl option)`,
        place,
      );
  const sdk = operation["x-sdk-operation"];
  if (sdk !== undefined && (typeof sdk !== "string" || sdk.trim() === ""))
    throw new SpecError(
      `${where}: x-sdk-operation must be the official SDK's operation name, as text (such as GetUser)`,
      ["paths", path, methodKey, "x-sdk-operation"],
    );
  const { operationId, tag } = namesOf(operation, where);
  const { params, sources, seen, openBody } = paramsOf(doc, pathItem, operation, {
    where,
    path,
    methodKey,
    operationId,
  });
  const responses = (deref<Json>(doc, operation.responses) ?? {}) as Json;
  const info: OperationInfo = {
    operationId,
    method,
    path,
    tag,
    deprecated: operation.deprecated === true,
    params,
    sources,
    success: successOf(doc, responses, operationId, ["paths", path, methodKey]),
    idempotent: IDEMPOTENT.has(method),
    token: tokenKindOf(doc, operation, where, ["paths", path, methodKey]),
    errorCodes: errorCodesOf(doc, responses, codeFields),
    statusCodes: Array.isArray(operation["x-imspec-status-codes"])
      ? (operation["x-imspec-status-codes"] as unknown[])
          .filter((n): n is number => typeof n === "number")
          .sort((a, b) => a - b)
      : [],
  };
  if (openBody) info.openBody = true;
  const summary = str(operation.summary);
  if (summary) info.summary = summary;
  const description = str(operation.description);
  if (description) info.description = description;
  const pagination = paginationOf(operation["x-imspec-pagination"], operationId);
  if (pagination) {
    const where = seen.get(pagination.cursorParam);
    if (where !== "query" && where !== "body") {
      throw new SpecError(
        `${operationId}: x-imspec-pagination.cursorParam "${pagination.cursorParam}" is not a query or body parameter`,
        ["paths", path, method.toLowerCase(), "x-imspec-pagination", "cursorParam"],
      );
    }
    info.pagination = pagination;
  }
  const sdkOperation = str(operation["x-sdk-operation"]);
  if (sdkOperation) info.sdkOperation = sdkOperation;
  const rateLimits = rateLimitsOf(operation["x-imspec-rate-limits"]);
  if (rateLimits.length) info.rateLimits = rateLimits;
  return info;
}

/**
 * The property names a schema declares, its own and those of its `allOf`, `oneOf` and `anyOf`
 * members; `undefined` when it declares none or a member could hold anything (then no field can be
 * said to be missing).
 */
function fieldsOf(doc: Json, raw: unknown, seen = new Set<unknown>()): Map<string, unknown[]> | undefined {
  const schema = deref<Json>(doc, raw);
  if (!isObject(schema)) return undefined;
  // Met before (a cycle, or one reached twice): its fields are in already. Each schema is read once.
  if (seen.has(schema)) return new Map();
  seen.add(schema);
  // A schema that takes names besides its properties names no missing field.
  if (schema.additionalProperties || isObject(schema.patternProperties)) return undefined;
  // Each field with every schema it has (an error branch may declare `result: null` beside the data).
  const fields = new Map<string, unknown[]>();
  const add = (name: string, schemas: unknown[]) =>
    fields.set(name, [...(fields.get(name) ?? []), ...schemas]);
  for (const [name, value] of Object.entries(isObject(schema.properties) ? schema.properties : {}))
    add(name, [value]);
  let known = isObject(schema.properties);
  for (const key of ["allOf", "oneOf", "anyOf"]) {
    for (const member of Array.isArray(schema[key]) ? schema[key] : []) {
      const inner = fieldsOf(doc, member, seen);
      if (inner === undefined && key !== "allOf") return undefined;
      if (inner === undefined) continue;
      known = true;
      for (const [name, schemas] of inner) add(name, schemas);
    }
  }
  return known ? fields : undefined;
}

/**
 * What a listing reads from each page, as the clients read it (src/core/methods.ts): the has-more
 * flag compared with `true`, the items as a list, the cursor as a string or a number. A field of
 * another type would end the listing after one page, or list nothing, without a word.
 */
function checkPageFieldTypes(
  doc: Json,
  op: OperationInfo,
  fields: ReturnType<typeof dataFieldsOf>,
  at: ReadonlyArray<string>,
): void {
  const pagination = op.pagination as Pagination;
  const wanted: Array<[keyof Pagination, string | undefined, string[], string]> = [
    ["hasMoreField", pagination.hasMoreField, ["boolean"], "a boolean"],
    ["itemsField", pagination.itemsField, ["array"], "a list"],
    ["cursorField", pagination.cursorField, ["string", "integer", "number"], "a string or a number"],
  ];
  for (const [key, name, allowed, said] of wanted) {
    if (name === undefined) continue;
    const types = new Set<string>();
    for (const schema of fields?.get(name) ?? [])
      for (const type of typesOf(doc, schema)) types.add(String(type));
    types.delete("null");
    const other = [...types].filter((type) => !allowed.includes(type));
    if (other.length > 0)
      throw new SpecError(
        `${op.operationId}: x-imspec-pagination.${key} "${name}" is typed ${[...types].join(", ")}, where the clients read ${said}`,
        [...at, key],
      );
  }
}

/** The operation object of the bundled document that `op` was read from. */
function operationNodeOf(doc: Json, op: OperationInfo): Json | undefined {
  return deref<Json>(doc, deref<Json>(doc, (doc.paths as Json)[op.path])?.[op.method.toLowerCase()]);
}

/** The schema of an operation's first 2xx JSON body, as written (a `$ref` still one). */
function successSchemaOf(doc: Json, op: OperationInfo): unknown {
  const responses = deref<Json>(doc, operationNodeOf(doc, op)?.responses) ?? {};
  return jsonMedia(deref<Json>(doc, responses[String(op.success.status)])?.content)?.schema;
}

/** The fields of an operation's data: its first 2xx JSON body, inside the envelope's `resultField`. */
function dataFieldsOf(doc: Json, op: OperationInfo, envelope: Envelope | undefined) {
  const body = fieldsOf(doc, successSchemaOf(doc, op));
  if (!envelope?.resultField) return body;
  // The fields of whichever of the result's schemas declare some (not the error branch's `null`).
  const results = (body?.get(envelope.resultField) ?? []).map((schema) => fieldsOf(doc, schema));
  const declared = results.filter((fields) => fields !== undefined);
  return declared.length ? new Map(declared.flatMap((fields) => [...fields])) : undefined;
}

/**
 * `schema` admits exactly `value` (`const`, or an `enum` of that one value), as the spec says a
 * success; or one of its `allOf` does, which narrows it as much (`allOf: [{ $ref: Ok }]` beside a
 * description): the generated type and spec:diff read such a status as the value too.
 */
function isExactly(doc: Json, raw: unknown, value: number, seen = new Set<unknown>()): boolean {
  const schema = deref<Json>(doc, raw);
  if (!isObject(schema) || seen.has(schema)) return false;
  seen.add(schema);
  if (Object.hasOwn(schema, "const")) return schema.const === value;
  if (Array.isArray(schema.enum)) return schema.enum.length === 1 && schema.enum[0] === value;
  return Array.isArray(schema.allOf) && schema.allOf.some((part) => isExactly(doc, part, value, seen));
}

/**
 * An envelope API's first 2xx JSON body that is a union (`oneOf`/`anyOf`) has a branch the client
 * reads as a success: its status exactly the success value, or absent where the envelope lets it be
 * (the generated `SuccessBranch` and src/core/engine.ts read a body the same way). Without one, the
 * method's result type would be the error branches too. A body that is one object is the data as it
 * is (its status is read at run time); a branch that could hold any field is not judged.
 */
function requireSuccessBranch(doc: Json, op: OperationInfo, envelope: Envelope): void {
  if (!op.success.hasBody) return;
  const status = String(op.success.status);
  const schema = deref<Json>(doc, successSchemaOf(doc, op));
  if (!isObject(schema)) return;
  const union = [
    ...(Array.isArray(schema.oneOf) ? schema.oneOf : []),
    ...(Array.isArray(schema.anyOf) ? schema.anyOf : []),
  ];
  if (union.length === 0) return;
  const succeeds = union.some((branch) => {
    const fields = fieldsOf(doc, branch);
    if (!fields) return true;
    const given = fields.get(envelope.statusField);
    if (!given) return envelope.statusOptional === true;
    return given.some((s) => isExactly(doc, s, envelope.successStatus));
  });
  if (!succeeds)
    throw new SpecError(
      `${op.operationId}: no branch of its ${status} answer is a success: give one branch \`${envelope.statusField}\` with \`const: ${envelope.successStatus}\`${envelope.statusOptional ? ", or leave the field out of it" : ""} (x-imspec-envelope)`,
      [
        "paths",
        op.path,
        op.method.toLowerCase(),
        "responses",
        status,
        "content",
        "application/json",
        "schema",
      ],
    );
}

/** The fields of an operation's JSON request body: none without a body. */
function bodyFieldsOf(doc: Json, op: OperationInfo) {
  const media = jsonMedia(deref<Json>(doc, operationNodeOf(doc, op)?.requestBody)?.content);
  return media ? fieldsOf(doc, media.schema) : new Map<string, unknown[]>();
}

/** Each field an extension names: its label, the field, and where it stands in the document. */
type NamedFields = ReadonlyArray<readonly [string, string | undefined, ReadonlyArray<string | number>]>;

/**
 * The fields an extension names are fields of the schema they belong to (`fields`, from `fieldsOf`;
 * `undefined` when any name would do): a typo would otherwise pass every check, then fail against
 * the real server or make the mock misbehave. `prefix` and `what` word the message.
 */
function requireFields(
  fields: Map<string, unknown[]> | undefined,
  prefix: string,
  what: string,
  named: NamedFields,
  kind = "a field",
): void {
  if (!fields) return;
  for (const [label, name, at] of named)
    if (name !== undefined && !fields.has(name))
      throw new SpecError(
        `${prefix}${label} "${name}" is not ${kind} of ${what} (${[...fields.keys()].join(", ") || "none"})`,
        at,
      );
}

/**
 * The answer fields an extension names (a page's cursor, items and has-more; a token's field and
 * lifetime, for the client or the mock) are fields of the operation's data.
 */
function requireAnswerFields(
  doc: Json,
  op: OperationInfo,
  envelope: Envelope | undefined,
  prefix: string,
  whose: string,
  named: NamedFields,
): void {
  requireFields(dataFieldsOf(doc, op, envelope), prefix, `${whose} 2xx answer`, named);
}

/**
 * The fields `x-imspec-mock` names: a token operation's `token`, `expires.field` and the keys of
 * `set` are fields of its 2xx answer; a `requires` rule's `field`, `when` keys and `anyOf` names
 * are fields of its JSON request body (the mock checks the body only). Nothing else reads them
 * before the mock serves the API. An operation the document does not have is the lint rule's to
 * report.
 */
function checkMockFields(doc: Json, operations: OperationInfo[], envelope: Envelope | undefined): void {
  const mock = isObject(doc["x-imspec-mock"]) ? doc["x-imspec-mock"] : {};
  const byId = new Map(operations.map((op) => [op.operationId, op]));
  for (const [id, own] of Object.entries(isObject(mock.tokens) ? mock.tokens : {})) {
    const op = byId.get(id);
    if (!op || !isObject(own)) continue;
    const at = ["x-imspec-mock", "tokens", id];
    const expires = isObject(own.expires) ? own.expires : {};
    const set = Object.keys(isObject(own.set) ? own.set : {});
    requireAnswerFields(doc, op, envelope, `x-imspec-mock.tokens.${id}: `, `${id}'s`, [
      ["token", str(own.token), [...at, "token"]],
      ["expires.field", str(expires.field), [...at, "expires", "field"]],
      ...set.map((key) => ["set", key, [...at, "set", key]] as const),
    ]);
  }
  for (const [id, rules] of Object.entries(isObject(mock.requires) ? mock.requires : {})) {
    const op = byId.get(id);
    if (!op || !Array.isArray(rules)) continue;
    const fields = bodyFieldsOf(doc, op);
    for (const [i, rule] of rules.entries()) {
      if (!isObject(rule)) continue;
      const at = ["x-imspec-mock", "requires", id, i];
      const when = Object.keys(isObject(rule.when) ? rule.when : {});
      const anyOf = Array.isArray(rule.anyOf) ? rule.anyOf.map(String) : [];
      requireFields(fields, `x-imspec-mock.requires.${id}.${i}: `, `${id}'s request body`, [
        ["field", str(rule.field), [...at, "field"]],
        ...when.map((key) => ["when", key, [...at, "when", key]] as const),
        ...anyOf.map((name, j) => ["anyOf", name, [...at, "anyOf", j]] as const),
      ]);
    }
  }
}

/**
 * The fields of every JSON answer the document declares, of every status; `undefined` when one of
 * them could hold any name (then no field can be said to be missing).
 */
function answerFieldsOf(doc: Json, operations: OperationInfo[]): Set<string> | undefined {
  const names = new Set<string>();
  for (const op of operations) {
    const responses = deref<Json>(doc, operationNodeOf(doc, op)?.responses) ?? {};
    for (const raw of Object.values(responses)) {
      const media = jsonMedia(deref<Json>(doc, raw)?.content);
      if (!media) continue;
      const fields = fieldsOf(doc, media.schema);
      if (!fields) return undefined;
      for (const name of fields.keys()) names.add(name);
    }
  }
  return names;
}

/**
 * The body fields `x-imspec-errors` and `x-imspec-envelope` name are keys at the top level of an
 * answer (`error.code` is a key of that name, not a path into `error`): each list names at least one
 * field some answer of the document declares. A list that names none would never be read: every
 * refusal without its code or message, no token refusal recognised, nothing retried by its code. A
 * list may add spellings no schema shows (a gateway's `Code` beside the API's `code`).
 */
function checkDialectFields(doc: Json, operations: OperationInfo[]): void {
  const declared = answerFieldsOf(doc, operations);
  if (!declared) return;
  const named: Array<[string, string]> = [
    ["x-imspec-envelope", "statusField"],
    ["x-imspec-envelope", "messageField"],
    ["x-imspec-envelope", "resultField"],
    ["x-imspec-errors", "code"],
    ["x-imspec-errors", "message"],
    ["x-imspec-errors", "requestId"],
  ];
  for (const [extension, key] of named) {
    const own = isObject(doc[extension]) ? (doc[extension] as Json)[key] : undefined;
    const names = list(own);
    if (names.length === 0 || names.some((name) => declared.has(name))) continue;
    const dotted = names.some((name) => name.includes("."))
      ? " (a name is a key at the top level of the body: a dotted name is not a path)"
      : "";
    throw new SpecError(
      `${extension}.${key}: ${names.map((n) => `"${n}"`).join(", ")} is not a field of any answer of the document${dotted}`,
      [extension, key],
    );
  }
}

/** Reads a bundled (single-file) OpenAPI 3.1 document into plain data. */
export function extractApi(doc: Json): ApiInfo {
  const info = isObject(doc.info) ? doc.info : {};
  const operations: OperationInfo[] = [];
  const ids = new Map<string, string>();
  const anchors = new Map<string, string>(); // docs anchor, lower-cased → the operationId it links to
  // Each tag's methods are typed as the interface `${Tag}Operations` (lib/builders.ts): two tags that
  // differ only in their first letter's case would share one, and TypeScript merges the two
  // declarations into it without a word, giving each group the other's methods.
  const tagTypes = new Map<string, string>();
  const envelope = envelopeOf(doc["x-imspec-envelope"], "document");
  const errors = errorsOf(doc["x-imspec-errors"], envelope);
  for (const [path, raw] of Object.entries(isObject(doc.paths) ? doc.paths : {})) {
    const pathItem = deref<Json>(doc, raw) ?? {};
    for (const method of METHODS) {
      if (!pathItem[method]) continue;
      let op: OperationInfo;
      try {
        // No code field named (the lint rule demands one; a document read alone): `code`.
        op = extractOperation(doc, path, method, pathItem, errors.code.length ? errors.code : undefined);
      } catch (error) {
        if (error instanceof SpecError) error.at ??= ["paths", path, method];
        throw error;
      }
      const other = ids.get(op.operationId);
      if (other)
        throw new SpecError(
          `operationId "${op.operationId}" is used by both ${other} and ${op.method} ${op.path}`,
          ["paths", path, method, "operationId"],
        );
      ids.set(op.operationId, `${op.method} ${op.path}`);
      // The docs site's anchors (Redoc's, `#/<tag>/<operationid>`) are lower case: two operations of
      // one tag whose ids differ only by case share one.
      const anchor = `${op.tag}/${op.operationId}`.toLowerCase();
      const twinId = anchors.get(anchor);
      anchors.set(anchor, op.operationId);
      if (twinId !== undefined)
        throw new SpecError(
          `operationIds "${twinId}" and "${op.operationId}" differ only by case: the docs site would link both to one entry`,
          ["paths", path, method, "operationId"],
        );
      const tagType = `${op.tag.charAt(0).toUpperCase()}${op.tag.slice(1)}Operations`;
      const twin = tagTypes.get(tagType);
      if (twin !== undefined && twin !== op.tag) {
        const [one, other] = [op.tag, twin].sort();
        throw new SpecError(
          `tags "${one}" and "${other}" would both be typed as ${tagType}: name them apart`,
          ["paths", path, method, "tags"],
        );
      }
      tagTypes.set(tagType, op.tag);
      operations.push(op);
    }
  }
  operations.sort((a, b) => a.operationId.localeCompare(b.operationId));
  const tags = (Array.isArray(doc.tags) ? doc.tags : []).filter(isObject).map((t) => {
    const tag: ApiInfo["tags"][number] = { name: String(t.name) };
    const displayName = str(t["x-displayName"]);
    if (displayName) tag.displayName = displayName;
    const description = str(t.description);
    if (description) tag.description = description;
    return tag;
  });
  for (const op of operations) {
    if (!tags.some((t) => t.name === op.tag)) tags.push({ name: op.tag });
  }
  const api: ApiInfo = {
    title: str(info.title) ?? "API",
    version: str(info.version) ?? "",
    servers: (Array.isArray(doc.servers) ? doc.servers : []).filter(isObject).map((s) => String(s.url)),
    statusCodes: statusCodesOf(doc["x-imspec-status-codes"]),
    tags: tags.filter((t) => operations.some((op) => op.tag === t.name)),
    operations,
    errors,
    tokens: tokensOf(doc, operations, envelope),
    rateLimits: rateLimitsOf(doc["x-imspec-rate-limits"]),
  };
  const auth = authOf(doc);
  if (auth) api.auth = auth;
  if (envelope) api.envelope = envelope;
  for (const op of operations) {
    if (envelope) requireSuccessBranch(doc, op, envelope);
    if (auth) refuseAuthParameter(doc, op, auth);
    const { pagination } = op;
    if (!pagination) continue;
    const at = ["paths", op.path, op.method.toLowerCase(), "x-imspec-pagination"];
    const keys = ["cursorField", "itemsField", "hasMoreField"] as const;
    // Read once: each field must be there, and of the type the clients read it as.
    const fields = dataFieldsOf(doc, op, envelope);
    requireFields(
      fields,
      `${op.operationId}: `,
      "its 2xx answer",
      keys.map((key) => [`x-imspec-pagination.${key}`, pagination[key], [...at, key]] as const),
    );
    checkPageFieldTypes(doc, op, fields, at);
  }
  checkMockFields(doc, operations, envelope);
  checkDialectFields(doc, operations);
  return api;
}
