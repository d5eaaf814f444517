import { defaultTransport } from "#default-transport";
import type { WithResponse } from "./api-promise.js";
import {
  type Bound,
  Engine,
  type EngineOptions,
  HEADER_VALUE,
  type OperationRef,
  type Profile,
  type Request,
  type Sent,
  type TokenSource,
} from "./engine.js";
import {
  ApiError,
  type ApiErrorClass,
  type CallSite,
  ConfigError,
  ImspecError,
  ParseError,
  textOf,
} from "./errors.js";
import { type Budget, createRateLimiter, type RateLimiter } from "./limiter.js";
import {
  createMethods,
  type Invoke,
  type MethodGroups,
  type OperationRow,
  type OperationTable,
} from "./methods.js";
import type { CommonClientOptions, LogEvent, RequestOptions } from "./options.js";
import { headerSecrets, Redactor, SECRET_NAME } from "./redact.js";
import { type StoredToken, TokenCache, tokenKey } from "./token.js";
import { ownerOptions, whyUnusable } from "./token-store.js";
import { boundedTransport, fetchTransport, type TransportResponse } from "./transport.js";
import {
  check,
  checkObject,
  givenRetry,
  guarded,
  kindOf,
  MAX_WAIT_MS,
  readOptions,
  validateOptions,
} from "./validate.js";

/** One way to get an app token, from the spec's `x-imspec-token` (scripts/README.md). */
export interface TokenSpec {
  readonly operation: string;
  readonly options: Readonly<Record<string, string>>;
  readonly optional: readonly string[];
  readonly fixed: Readonly<Record<string, string | number | boolean>>;
  readonly secrets: readonly string[];
  /** Secrets that tell apps apart where the other options do not: hashed into the app's key. */
  readonly identifying?: readonly string[] | undefined;
  readonly token: string;
  readonly expires?: { readonly field: string; readonly unit: "s" | "ms"; readonly epoch: boolean };
  readonly defaultLifetime: number;
}

/** Whose calls count together: an app's, one operation's of an app, or everything sent to the base
 * URL's origin (an IP's), in all or of one operation. */
export const SCOPES = ["app", "app-operation", "ip", "ip-operation"] as const;

export interface RateLimitSpec {
  readonly calls: number;
  readonly seconds: number;
  readonly scope: (typeof SCOPES)[number];
}

/** The generated profile (`generated/<api>/operations.ts`) with its token sources and budgets. */
export interface ApiProfile extends Profile {
  readonly tokens: readonly TokenSpec[];
  readonly rateLimits: readonly RateLimitSpec[];
}

/** What `createClient` needs: the generated table and profile, and what is truly the API's own. */
export interface ApiDefinition<Table extends OperationTable> {
  profile: ApiProfile;
  operations: Table;
  /** The API's error class (a subclass of ApiError). */
  error?: ApiErrorClass | undefined;
  /** Default token margin in ms (default 5 minutes). */
  tokenMarginMs?: number | undefined;
}

/** Client options: the common ones, the token source's options, or a token of your own. */
export type ClientOptions = CommonClientOptions & {
  accessToken?: string | undefined;
  getAccessToken?: (() => string | Promise<string>) | undefined;
};

export interface AppToken {
  /** The managed app token (fetched if need be). */
  get(): Promise<string>;
  /** Forgets it: the next call fetches a new one. */
  clear(): Promise<void>;
}

export type Client<Ops, Table> = MethodGroups<Ops, Table> & { readonly appToken: AppToken };

/** Where `imspec/raw` finds a client's engine, table and base URL. */
export const INTERNALS = Symbol.for("imspec.client");
export interface Internals {
  engine: Engine;
  /** The engine's view of an operation (its budgets included). */
  refOf(operationId: string, row: OperationRow): OperationRef;
  operations: OperationTable;
  baseUrl: string;
  redactor: Redactor;
}

/**
 * One in-process limiter for every client without a store: budgets are keyed by app, so they share
 * correctly. Held under a registered symbol, so that the ES module and CommonJS builds of this
 * package in one process count one budget, not one each (`.v1`: the limiter's shape, to change if it does).
 */
const SHARED_LIMITER = Symbol.for("imspec.sharedLimiter.v1");
function sharedLimiter(): RateLimiter {
  const holder = globalThis as { [SHARED_LIMITER]?: RateLimiter };
  holder[SHARED_LIMITER] ??= createRateLimiter();
  return holder[SHARED_LIMITER];
}
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
/** An attempt's timeout when the client's options give none. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** The longest window a timer can wait out: about 24 days. */
const MAX_WINDOW_S = Math.floor((MAX_WAIT_MS - 50) / 1000);

/** The number of a token lifetime field: a number or a string of digits. */
function numberOf(value: unknown): number | undefined {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^\d+$/.test(value)
        ? Number(value)
        : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Whether the API's tokens go in a header (a query carries any text, a header Latin-1 at most). */
export const inHeader = (profile: Profile): boolean => profile.auth?.in === "header";

/** The token a source's answer holds, and when it expires; a ParseError for an answer without a usable one. */
export function storedToken(
  spec: Pick<TokenSpec, "operation" | "token" | "expires" | "defaultLifetime">,
  answer: unknown,
  site: CallSite,
  header: boolean,
): StoredToken {
  const token = (answer as Record<string, unknown> | undefined)?.[spec.token];
  if (typeof token !== "string" || token.length === 0)
    throw new ParseError(`${spec.operation} answered without a usable \`${spec.token}\``, site, 200);
  const why = whyUnusable(token, header);
  if (why) throw new ParseError(`${spec.operation}'s ${spec.token} ${why}`, site, 200);
  const now = Date.now();
  const raw = spec.expires && numberOf((answer as Record<string, unknown>)[spec.expires.field]);
  const ms = raw === undefined ? undefined : raw * (spec.expires?.unit === "s" ? 1000 : 1);
  const expiresAt =
    ms === undefined ? now + spec.defaultLifetime * 1000 : spec.expires?.epoch ? ms : now + ms;
  return { accessToken: token, expiresAt, obtainedAt: now };
}

/** A row's parameters, made once: a method call then walks them without allocating. */
interface Compiled {
  /** Name, where it goes, and for a query parameter its encoded name once it was sent. */
  list: Array<[name: string, where: string, key?: string]>;
  body: boolean;
  /** The path has `{…}` templates to fill. */
  template: boolean;
}
const compiledRows = new WeakMap<OperationRow, Compiled>();

function compiledOf(row: OperationRow): Compiled {
  let compiled = compiledRows.get(row);
  if (!compiled) {
    const list = Object.entries(row.params).map(([name, where]): Compiled["list"][number] => [name, where]);
    const body = row.openBody === true || list.some(([, where]) => where === "body");
    compiled = { list, body, template: row.path.includes("{") };
    compiledRows.set(row, compiled);
  }
  return compiled;
}

/** The request a method sends, built from its row and params. */
function requestOf(
  base: string,
  row: OperationRow,
  params: Record<string, unknown>,
  site: CallSite,
): Request {
  const compiled = compiledOf(row);
  let path = row.path;
  let query = "";
  const headers: Record<string, string> = {};
  const body: Record<string, unknown> | undefined = compiled.body ? {} : undefined;
  for (const param of compiled.list) {
    const [name, where] = param;
    const value = Object.hasOwn(params, name) ? params[name] : undefined;
    if (value === undefined) continue;
    if (where === "path") path = path.replace(`{${name}}`, () => pathSegment(name, value, site));
    else if (where === "query") {
      param[2] ??= queryKey(name, site);
      for (const pair of queryPairs(name, value, site, param[2])) query += `${query ? "&" : "?"}${pair}`;
    } else if (where === "header") headers[name] = String(value);
    else (body as Record<string, unknown>)[name] = value;
  }
  // A body that takes fields besides its properties: every other key of the params is one of them
  // (defined, not assigned: a key named __proto__ is a field, not the body's prototype).
  if (row.openBody)
    for (const name of Object.keys(params))
      if (!Object.hasOwn(row.params, name) && params[name] !== undefined)
        Object.defineProperty(body, name, { value: params[name], enumerable: true, writable: true });
  if (compiled.template && /\{[^}]+\}/.test(path))
    throw new ConfigError(`A path parameter of ${row.path} is missing`, site);
  let text: string | undefined;
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    try {
      text = JSON.stringify(body);
      // JSON writes NaN and Infinity as null: a field the caller gave as a number would go out as
      // none. Looked for only when a null was written (a second pass, with a replacer, finds it).
      if (text.includes("null")) JSON.stringify(body, finiteNumbers);
    } catch (error) {
      // Not a ConfigError here: the invoker makes one of it, redacted (a toJSON's message is the caller's).
      throw new Error(`the body cannot be serialized: ${textOf(error)}`);
    }
  }
  return { url: base + path + query, method: row.method, headers, body: text };
}

/** A JSON.stringify replacer that refuses a number JSON cannot write (NaN, ±Infinity), by its field's name. */
function finiteNumbers(key: string, value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value))
    throw new Error(`its field "${key}" is ${value}, which JSON writes as null: give a finite number`);
  return value;
}

function encoded(name: string, value: string, site: CallSite): string {
  try {
    // It throws (a URIError) for a lone surrogate and nothing else: the test of a pattern beforehand
    // cost more than the encoding.
    return encodeURIComponent(value);
  } catch {
    throw new ConfigError(`Parameter "${name}" is not well-formed Unicode (a lone surrogate)`, site);
  }
}

/** One path segment: percent-encoded, never `.` or `..` (which would move the request). */
export function pathSegment(name: string, value: unknown, site: CallSite = {}): string {
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value !== "string" || value.length === 0)
    throw new ConfigError(`Path parameter "${name}" must be a non-empty string or a finite number`, site);
  if (value === "." || value === "..")
    throw new ConfigError(
      `Path parameter "${name}" cannot be "${value}": it would change the request path`,
      site,
    );
  return encoded(name, value, site);
}

/**
 * `form`/`explode` arrays (`ids=1&ids=2`), `deepObject` objects (`f[k]=v`); names encoded like values,
 * the brackets of a name kept, a deepObject key's own brackets encoded (`f[a%5D]`) so the key keeps its end.
 */
export function queryPairs(
  name: string,
  value: unknown,
  site: CallSite = {},
  key = queryKey(name, site),
): string[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value))
    return value.flatMap((v) =>
      typeof v === "object" && v !== null ? nested(name, site) : queryPairs(name, v, site, key),
    );
  if (typeof value === "object") {
    // A Date, Map, Set or URLSearchParams has no own fields to list: it would vanish from the query.
    if (Object.prototype.toString.call(value) !== "[object Object]") unsendable(name, value, site);
    return Object.entries(value).flatMap(([k, v]) =>
      typeof v === "object" && v !== null
        ? nested(name, site)
        : queryPairs(name, v, site, `${key}[${encoded(name, k, site)}]`),
    );
  }
  // String() of a function is its source, of a symbol its description: neither is the caller's value.
  if (typeof value === "function" || typeof value === "symbol") unsendable(name, value, site);
  // NaN and Infinity are no numbers a server reads, as in a path.
  if (typeof value === "number" && !Number.isFinite(value))
    throw new ConfigError(`Query parameter "${name}" must be a finite number, not ${value}`, site);
  return [`${key}=${encoded(name, String(value), site)}`];
}

/** A query parameter's name as sent: encoded, its brackets kept. */
function queryKey(name: string, site: CallSite): string {
  return encoded(name, name, site).replace(/%5B/g, "[").replace(/%5D/g, "]");
}

function unsendable(name: string, value: object | symbol, site: CallSite): never {
  const kind = typeof value === "object" ? Object.prototype.toString.call(value).slice(8, -1) : typeof value;
  throw new ConfigError(
    `Query parameter "${name}" is a ${kind}, which cannot be sent: give a string, number or boolean, or an array or object of them`,
    site,
  );
}

function nested(name: string, site: CallSite): never {
  throw new ConfigError(`Query parameter "${name}" nests arrays or objects, which cannot be sent`, site);
}

type Options = ClientOptions & Record<string, unknown> & { baseUrl: string };

/**
 * The `rateLimit` option, checked whatever budgets the API has (`false`, or known scopes and a
 * store) and read once: a copy of plain numbers, which the budgets of every operation are made from
 * later, when no getter of the caller's is read again.
 */
function rateLimitOf(limits: Options["rateLimit"]): Options["rateLimit"] {
  if (limits === undefined || limits === false) return limits;
  checkObject("rateLimit", limits);
  // A name it owns that is none of these is a scope misspelt; the known ones are read by name,
  // once each (a class's getters too, which its own keys would miss).
  for (const name of Object.keys(limits))
    if (name !== "store" && name !== "appName" && !(SCOPES as readonly string[]).includes(name))
      throw new ConfigError(`rateLimit.${name} is no scope: give store, or one of ${SCOPES.join(", ")}`);
  const given = limits as Record<string, unknown>;
  const { store, appName } = given;
  if (appName !== undefined && (typeof appName !== "string" || appName.trim() === ""))
    throw new ConfigError(
      "rateLimit.appName must be a non-empty string: the app whose budgets the calls spend",
    );
  const out: Record<string, unknown> = { store, appName };
  for (const scope of SCOPES) {
    const numbers = given[scope];
    if (numbers === undefined) continue;
    if (!isBudgetList(numbers)) {
      out[scope] = budgetNumbers(`rateLimit.${scope}`, numbers, false);
      continue;
    }
    if (numbers.length === 0 || numbers.length > 16)
      throw new ConfigError(`rateLimit.${scope} must list 1 to 16 budgets ({ calls, seconds })`);
    out[scope] = numbers.map((budget, i) => budgetNumbers(`rateLimit.${scope}[${i}]`, budget, true));
  }
  return out as Options["rateLimit"];
}

/** A scope's override that lists its budgets (`Array.isArray` narrows no readonly array). */
const isBudgetList = (value: unknown): value is ReadonlyArray<{ calls: number; seconds: number }> =>
  Array.isArray(value);

/** One budget's numbers, checked and copied; in a list, both are given. */
function budgetNumbers(name: string, given: unknown, both: boolean): { calls?: number; seconds?: number } {
  checkObject(name, given);
  const { calls, seconds } = given as { calls?: unknown; seconds?: unknown };
  if (both && (calls === undefined || seconds === undefined))
    throw new ConfigError(
      `${name} must give both calls and seconds: a budget of a list has no documented numbers`,
    );
  check(`${name}.calls`, calls, 1, Number.MAX_SAFE_INTEGER, true);
  check(`${name}.seconds`, seconds, 0.001, MAX_WINDOW_S);
  return {
    ...(calls === undefined ? {} : { calls: calls as number }),
    ...(seconds === undefined ? {} : { seconds: seconds as number }),
  };
}

/** The limiter, when the spec has budgets and the options do not turn it off. */
function limiterFor(
  api: ApiDefinition<OperationTable>,
  limits: Options["rateLimit"],
): RateLimiter | undefined {
  const budgets =
    api.profile.rateLimits.length + Object.values(api.operations).filter((r) => "rateLimits" in r).length;
  if (limits === false || !budgets) return undefined;
  return limits?.store === undefined ? sharedLimiter() : createRateLimiter({ store: limits.store });
}

/** An operation's budgets: the API's and its own, with the options' overrides, keyed by app or IP. */
function budgetsFor(
  limits: Exclude<Options["rateLimit"], false>,
  specs: readonly RateLimitSpec[],
  keys: { app: string; origin: string; operation: string },
): Budget[] {
  const budgets = new Map<string, Budget>();
  for (const limit of specs) {
    // The override was checked and copied with the options (rateLimitOf): a list replaces the
    // scope's budgets, numbers change each of them.
    const changed = limits ? limits[limit.scope] : undefined;
    const numbers: ReadonlyArray<{ calls: number; seconds: number }> = isBudgetList(changed)
      ? changed
      : [{ calls: changed?.calls ?? limit.calls, seconds: changed?.seconds ?? limit.seconds }];
    const whose = limit.scope.startsWith("ip") ? `ip:${keys.origin}` : keys.app;
    // An operation of one API, whoever else serves an operation of that name at the origin.
    const key = limit.scope.endsWith("-operation") ? `${whose}:${keys.operation}` : whose;
    for (const { calls, seconds } of numbers) {
      // A little wider than documented: the server counts arrivals, which jitter behind our sends.
      // Two budgets an override made the same are one, not one charged twice.
      const budget = `${key}:${calls}/${seconds}`;
      budgets.set(budget, { key: budget, calls, windowMs: seconds * 1000 + 50 });
    }
  }
  return [...budgets.values()];
}

/**
 * The parameters of an operation that carry a secret: those the spec's token sources mark
 * (`corpsecret`), any whose name ends like a secret's (`clientSecret`, `refreshToken`,
 * `suiteTicket`), the pagination cursor aside, and a token endpoint's `code`. A direct call may pass one the options never gave, and
 * an error may echo it.
 */
function secretParamsOf(profile: ApiProfile, operationId: string, row: OperationRow): string[] {
  const marked = profile.tokens
    .filter((spec) => spec.operation === operationId)
    .flatMap((spec) => Object.entries(spec.options).filter(([, option]) => spec.secrets.includes(option)))
    .map(([field]) => field);
  // An OAuth authorization code, at an operation that needs no token (a token endpoint), is one too.
  const named = Object.keys(row.params).filter(
    (name) =>
      (SECRET_NAME.test(name) && name !== row.pagination?.cursorParam) ||
      (name === "code" && row.token === "none"),
  );
  return [...new Set([...marked, ...named])];
}

/**
 * The client's app token: a managed cache over the spec's token source the options fill (`managed`),
 * a fixed token, or a provider. None when the options give no way to get one (calls then pass their own);
 * a ConfigError when they give part of a source, rather than sending no token.
 */
function appTokenFor(
  profile: ApiProfile,
  options: Options,
  redactor: Redactor,
  managed:
    | { spec: TokenSpec; key: string; marginMs: number; fetch: () => Promise<StoredToken>; row: OperationRow }
    | undefined,
): { source: TokenSource | undefined; cache: TokenCache | undefined } {
  // An empty credential (an environment variable that is not set, read as `?? ""`) is refused here
  // by name, rather than sent and refused by the server as a wrong one, or sent as no token at all:
  // a fixed token, or a required option of the source in use (an optional one may be empty, as
  // WorkPlus's owner_id beside an org_id).
  const required = managed ? requiredOf(managed.spec) : [];
  const empty = ["accessToken", ...required].find((o) => options[o] === "");
  if (empty) throw new ConfigError(`${profile.api}: ${empty} is an empty string`);
  if (managed) {
    const { spec, key, marginMs, fetch, row } = managed;
    const cache = new TokenCache({
      key,
      store: options.tokenStore,
      marginMs,
      onToken: (t) => redactor.add(t),
      onWarning: (warning) => options.logger?.(warningEvent(profile.api, spec.operation, row, warning)),
      inHeader: inHeader(profile),
      fetch,
    });
    const source = {
      get: (b?: Bound) => cache.get(b),
      peek: () => cache.peek(),
      replace: (r: string, b?: Bound) => cache.replace(r, b),
    };
    return { source, cache };
  }
  if (options.accessToken != null) {
    const fixed = options.accessToken;
    return { source: { get: async () => fixed, peek: () => fixed }, cache: undefined };
  }
  if (typeof options.getAccessToken === "function") {
    const provider = options.getAccessToken;
    return { source: { get: async () => provider(), replace: async () => provider() }, cache: undefined };
  }
  for (const spec of profile.tokens) {
    const required = requiredOf(spec);
    const missing = required.filter((o) => options[o] == null);
    if (missing.length < required.length)
      throw new ConfigError(
        `${profile.api}: ${required.join(", ")} are all required (missing: ${missing.join(", ")})`,
      );
  }
  return { source: undefined, cache: undefined };
}

/** The engine over the options: transport, timeout, retries, headers, logger, body cap. */
function engineFor(
  api: ApiDefinition<OperationTable>,
  options: Options,
  parts: Pick<EngineOptions, "redactor" | "limiter" | "baseUrl" | "appToken">,
): Engine {
  return new Engine({
    ...parts,
    profile: api.profile,
    transport: options.transport
      ? boundedTransport(options.transport)
      : options.fetch
        ? fetchTransport(options.fetch)
        : defaultTransport(),
    timeout: options.timeout ?? DEFAULT_TIMEOUT_MS,
    retry: options.retry,
    headers: options.headers,
    logger: options.logger,
    random: (options.random as (() => number) | undefined) ?? Math.random,
    maxBytes: options.maxResponseBytes ?? DEFAULT_MAX_BYTES,
    errorClass: api.error ?? ApiError,
  });
}

/** The options a token source cannot go without. */
const requiredOf = (spec: TokenSpec): string[] =>
  Object.values(spec.options).filter((o) => !spec.optional.includes(o));

/** A managed token's fetch: the token operation called with the options' values (a function's result). */
function tokenFetch(
  spec: TokenSpec,
  options: Options,
  call: (params: Record<string, unknown>) => Promise<unknown> | undefined,
  site: CallSite,
  header: boolean,
): () => Promise<StoredToken> {
  return async () => {
    const params: Record<string, unknown> = { ...spec.fixed };
    for (const [field, option] of Object.entries(spec.options)) {
      const value = await credential(options[option]);
      // What a function gives is checked as a value given is (`checkCredentials`, `appTokenFor`), at
      // each token request: a required one that gives nothing is refused, not sent without.
      const optional = spec.optional.includes(option);
      if (value == null && optional) continue;
      if (value === "" && !optional)
        throw new ConfigError(`${spec.operation}: ${option} gave an empty string`, site);
      if (typeof value !== "string")
        throw new ConfigError(`${spec.operation}: ${option} gave ${kindOf(value)}, not a string`, site);
      params[field] = value; // secrets among them: the call's secretParams
    }
    return storedToken(spec, await call(params), site, header);
  };
}

/** A failure as the caller gets it: an ImspecError as it is, anything else a ConfigError, redacted, saying where. */
function typed(error: unknown, redactor: Redactor, where: string, site?: CallSite): ImspecError {
  if (error instanceof ImspecError) return error;
  return new ConfigError(redactor.text(`${where}: ${textOf(error)}`), site);
}

/** What a method call runs: its request built and sent; anything but an ImspecError becomes a ConfigError (`typed`). */
function invoker(engine: Engine, refOf: Internals["refOf"], baseUrl: string, redactor: Redactor): Invoke {
  const invoke = async (
    operationId: string,
    row: OperationRow,
    params: Record<string, unknown>,
    callOptions: RequestOptions,
  ): Promise<Sent> => {
    const ref = refOf(operationId, row);
    try {
      const request = requestOf(baseUrl, row, params, ref);
      // The engine learns them as the answer is read, as it does the token.
      if (ref.secretParams)
        request.secrets = ref.secretParams.map((name) => params[name]).filter((v) => typeof v === "string");
      return await engine.send(request, ref, callOptions);
    } catch (error) {
      throw typed(error, redactor, `${row.method} ${row.path}`, ref);
    }
  };
  return Object.assign(invoke, { result: responseOf as (answer: never) => WithResponse<unknown> });
}

/** The spec's token source whose options are all given (null is none, as JSON writes an absent value). */
function sourceOf(profile: ApiProfile, options: Options): TokenSpec | undefined {
  return profile.tokens.find((spec) =>
    Object.values(spec.options).every((o) => spec.optional.includes(o) || options[o] != null),
  );
}

let clients = 0;
/** A key part no other client has, in this process or another. */
const unshared = (): string => `unshared:${++clients}:${Math.random().toString(36).slice(2)}:${Date.now()}`;

/**
 * The app's keys: of its budgets, the API, the base URL and the token source's non-secret options;
 * of its token, those and its `identifying` secrets too (hashed with the rest). One company's apps
 * may differ only in their secret: each secret gets a token of its own, while the platform counts
 * the calls of the company's apps together.
 */
function appKeysOf(profile: ApiProfile, source: TokenSpec | undefined, options: Options) {
  const identity: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  for (const [, o] of source ? ownerOptions(source) : []) {
    const value = options[o];
    // A function cannot be told apart from another app's: this client's token is its own, never
    // another company's through a shared store; its calls spend the budgets of the API and base URL
    // that every such client spends (as a token function's do), unless `rateLimit.appName` names it.
    if (typeof value === "function") secrets[o] = unshared();
    else if (typeof value !== "string") continue;
    else if (source?.secrets.includes(o)) secrets[o] = value;
    else identity[o] = value;
  }
  return {
    budgets: tokenKey(profile.api, options.baseUrl, budgetIdentity(source, identity, options)),
    token: tokenKey(profile.api, options.baseUrl, { ...identity, ...secrets }),
  };
}

/**
 * Whose budgets a client's calls spend: the app `rateLimit.appName` names; else the app its credentials
 * name; else, for a token given as a string, that token (hashed into the key with the rest: one
 * token, one app); else one app per API and base URL, which a token function cannot tell apart.
 */
function budgetIdentity(source: TokenSpec | undefined, identity: Record<string, string>, options: Options) {
  const named = options.rateLimit ? options.rateLimit.appName : undefined;
  if (named !== undefined) return { "rateLimit.appName": named };
  if (source) return identity;
  return typeof options.accessToken === "string" ? { accessToken: options.accessToken } : identity;
}

/** The engine's view of each operation, made on its first call: its secret parameters and budgets. */
function refsFor(
  api: ApiDefinition<OperationTable>,
  options: Options,
  limited: boolean,
  keys: { app: string; origin: string },
): Internals["refOf"] {
  const refs = new Map<string, OperationRef>();
  return (operationId, row) => {
    let ref = refs.get(operationId);
    if (!ref) {
      const { method, path, idempotent, token, noBody, optionalBody } = row;
      ref = { operationId, method, path, idempotent, token, noBody, optionalBody };
      const secretParams = secretParamsOf(api.profile, operationId, row);
      if (secretParams.length) ref.secretParams = secretParams;
      if (limited) {
        const own = (row.rateLimits as readonly RateLimitSpec[] | undefined) ?? [];
        const specs = [...api.profile.rateLimits, ...own];
        const operation = `${api.profile.api}.${operationId}`;
        ref.budgets = budgetsFor(options.rateLimit || undefined, specs, { ...keys, operation });
      }
      refs.set(operationId, ref);
    }
    return ref;
  };
}

/** A log event about the client rather than a call (a fallback taken, a value clamped), for `operationId`. */
export function warningEvent(api: string, operationId: string, row: OperationRow, warning: string): LogEvent {
  return { api, operationId, method: row.method, path: row.path, attempt: 0, durationMs: 0, warning };
}

/**
 * The token sources' options, where given, are text or a function that gives it: an all-digit secret
 * or key read from JSON or YAML comes as a number, which would be sent unredacted and left out of
 * the app's keys (two such apps would share one token). An `identifying` secret is text only: it
 * tells the app's token apart. Null is none, as JSON writes an absent value (`sourceOf`). Refused by
 * name, never with its value.
 */
function checkCredentials(profile: ApiProfile, options: Options): void {
  for (const spec of profile.tokens)
    for (const o of Object.values(spec.options)) {
      const value = options[o];
      if (spec.identifying?.includes(o) && value != null && typeof value !== "string")
        throw new ConfigError(`${o} must be a string: it tells this app's token apart from other apps'`);
      checkCredential(o, value);
    }
}

/** One credential option: none (undefined, or null as JSON writes it), text, or a function that gives it. */
export function checkCredential(name: string, value: unknown): void {
  if (value != null && typeof value !== "string" && typeof value !== "function")
    throw new ConfigError(`${name} must be a string or a function that gives one, not ${kindOf(value)}`);
}

/** A credential option's value: what its function gives, asked now, or the value given. */
export const credential = async (given: unknown): Promise<unknown> =>
  typeof given === "function" ? given() : given;

/**
 * Builds a client for one API from its generated table and profile: methods grouped by tag, the
 * managed app token, retries, typed errors, the rate limiter. `createDingTalk`, `createWorkPlus` and
 * `createWeCom` are this plus a few lines of their own; a new API needs nothing more.
 */
export function createClient<Ops, Table extends OperationTable, O extends ClientOptions = ClientOptions>(
  api: ApiDefinition<Table>,
  clientOptions: O = {} as O,
): Client<Ops, Table> {
  // Read once: nothing below meets a getter of the caller's.
  return buildClient<Ops, Table>(api, readOptions("options", clientOptions));
}

function buildClient<Ops, Table extends OperationTable>(
  api: ApiDefinition<Table>,
  clientOptions: ClientOptions,
): Client<Ops, Table> {
  // A settings object that is a class instance is read here, not copied: guarded as the copy was.
  const { options, headerPins } = guarded("options", () => {
    // Read once, here, and checked as read: the engine and each operation's budgets use these
    // copies, never the caller's objects again.
    const { retry } = clientOptions;
    const checked = validateOptions({
      ...clientOptions,
      baseUrl: clientOptions.baseUrl ?? api.profile.servers[0],
      ...(retry !== null && typeof retry === "object" ? { retry: givenRetry(retry) } : {}),
    }) as Options;
    checked.rateLimit = rateLimitOf(checked.rateLimit);
    return { options: checked, headerPins: headerSecrets(checked.headers ?? {}) };
  });
  const { profile, operations } = api;
  checkCredentials(profile, options);
  const { baseUrl } = options;
  const origin = new URL(baseUrl).origin;
  const redactor = new Redactor();
  // Secrets among the options are kept for good: the spec's, and any option named like one.
  for (const spec of profile.tokens) for (const s of spec.secrets) redactor.pin(options[s] as string);
  for (const [name, value] of Object.entries(options))
    if (SECRET_NAME.test(name) && typeof value === "string") redactor.pin(value);
  for (const secret of headerPins) redactor.pin(secret);
  const limiter = limiterFor(api, options.rateLimit);
  let appToken: TokenSource | undefined;
  const engine = engineFor(api, options, { redactor, limiter, baseUrl, appToken: () => appToken });

  const source = sourceOf(profile, options);
  const keys = appKeysOf(profile, source, options);
  const refOf = refsFor(api, options, limiter !== undefined, { app: keys.budgets, origin });
  const methods = createMethods<Ops, Table>(operations, invoker(engine, refOf, baseUrl, redactor));

  let managed: Parameters<typeof appTokenFor>[3];
  if (source) {
    const row = operations[source.operation] as OperationRow;
    const group = (methods as Record<string, Record<string, (p: unknown) => Promise<unknown>>>)[row.tag];
    const call = (params: Record<string, unknown>) => group?.[source.operation]?.(params);
    const fetch = tokenFetch(source, options, call, refOf(source.operation, row), inHeader(profile));
    const marginMs = options.tokenMarginMs ?? api.tokenMarginMs ?? 300_000;
    managed = { spec: source, key: keys.token, marginMs, fetch, row };
  }
  const { source: tokenSource, cache } = appTokenFor(profile, options, redactor, managed);
  appToken = tokenSource;

  const client = {
    ...methods,
    appToken: {
      get: async () => {
        if (!appToken) throw new ConfigError("This client has no app token source");
        let token: unknown;
        try {
          token = await appToken.get();
        } catch (error) {
          // As a method call's failure (a credential function may quote its secret).
          throw typed(error, redactor, "appToken.get()");
        }
        // What a method would refuse to send, it does not give here as a string either.
        if (typeof token !== "string" || token === "")
          throw new ConfigError("appToken.get(): the token provider returned no token");
        return token;
      },
      clear: async () => {
        await cache?.clear();
      },
    },
  };
  const internals: Internals = { engine, refOf, operations, baseUrl, redactor };
  Object.defineProperty(client, INTERNALS, { value: internals });
  return client as Client<Ops, Table>;
}

/**
 * A sent call's data with its answer; the Response is built only if asked for. Made only when
 * `.withResponse()` is called (APIPromise), so its getters may close over the call: they are off
 * the path of a plain `await`.
 */
export function responseOf(sent: Sent): WithResponse<unknown> {
  let response: Response | undefined;
  return {
    data: sent.data,
    get response() {
      response ??= responseFrom(sent.answer);
      return response;
    },
    get requestId() {
      return sent.requestId;
    },
  };
}

/**
 * The answer as a fetch `Response`. node:http takes some status lines and header lines that `Response`
 * refuses (a DEL in the reason phrase): those are left out rather than thrown at the reader. The body
 * is the decoded text: the encoding and length of a compressed one no longer describe it, and are
 * left out too (a reader that trusts that length, such as `imspec/raw`'s, would parse an empty body).
 */
export function responseFrom(answer: TransportResponse): Response {
  const body = answer.body.length && answer.status !== 204 && answer.status !== 205 ? answer.body : null;
  const { statusText } = answer;
  const init = {
    status: answer.status,
    ...(statusText && HEADER_VALUE.test(statusText) ? { statusText } : {}),
  };
  let lines = answer.headers as Record<string, string>;
  // The length given must be the body's: decoded, or dropped (a 205 sent with a body), openapi-fetch
  // would read the length the server gave and fail to parse what is not there.
  const emptied = (answer.status === 204 || answer.status === 205) && lines["content-length"] !== undefined;
  if (lines["content-encoding"] !== undefined || emptied) {
    const { "content-encoding": _encoding, "content-length": _length, ...rest } = lines;
    lines = rest;
  }
  try {
    return new Response(body, { ...init, headers: lines });
  } catch {
    const headers = new Headers();
    for (const [name, value] of Object.entries(lines))
      try {
        headers.append(name, value);
      } catch {
        // A header line the fetch API cannot hold.
      }
    return new Response(body, { ...init, headers });
  }
}
