import { defaultTransport } from "#default-transport";
import type { WithResponse } from "./api-promise.js";
import { Engine, type OperationRef, type Profile, type Request, type TokenSource } from "./engine.js";
import {
  ApiError,
  type ApiErrorClass,
  type CallSite,
  ConfigError,
  ImspecError,
  ParseError,
} from "./errors.js";
import { type Budget, createRateLimiter, type RateLimiter } from "./limiter.js";
import { createMethods, type MethodGroups, type OperationRow, type OperationTable } from "./methods.js";
import type { CommonClientOptions, RequestOptions } from "./options.js";
import { Redactor } from "./redact.js";
import { type StoredToken, TokenCache, tokenKey } from "./token.js";
import { fetchTransport } from "./transport.js";
import { validateOptions } from "./validate.js";

/** One way to get an app token, from the spec's `x-imspec-token` (scripts/README.md). */
export interface TokenSpec {
  readonly operation: string;
  readonly options: Readonly<Record<string, string>>;
  readonly optional: readonly string[];
  readonly fixed: Readonly<Record<string, string | number | boolean>>;
  readonly secrets: readonly string[];
  readonly token: string;
  readonly expires?: { readonly field: string; readonly unit: "s" | "ms"; readonly epoch: boolean };
  readonly defaultLifetime: number;
}

export interface RateLimitSpec {
  readonly calls: number;
  readonly seconds: number;
  readonly scope: "app" | "app-operation" | "ip";
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

let shared: RateLimiter | undefined;
/** One in-process limiter for every client without a store: budgets are keyed by app, so they share correctly. */
function sharedLimiter(): RateLimiter {
  shared ??= createRateLimiter();
  return shared;
}
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

/** A rate-limit override: a positive number (an integer for calls), else the documented value. */
function override(name: string, value: unknown, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== "number" ||
    !(value > 0) ||
    !Number.isFinite(value) ||
    (integer && !Number.isInteger(value))
  )
    throw new ConfigError(`${name} must be a positive ${integer ? "integer" : "number"}`);
  return value;
}

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

/** The token a source's answer holds, and when it expires. */
function storedToken(spec: TokenSpec, answer: unknown, site: CallSite): StoredToken {
  const token = (answer as Record<string, unknown> | undefined)?.[spec.token];
  if (typeof token !== "string" || token.length === 0)
    throw new ParseError(`${spec.operation} answered without a ${spec.token}`, site, 200);
  const now = Date.now();
  const raw = spec.expires && numberOf((answer as Record<string, unknown>)[spec.expires.field]);
  const ms = raw === undefined ? undefined : raw * (spec.expires?.unit === "s" ? 1000 : 1);
  const expiresAt =
    ms === undefined ? now + spec.defaultLifetime * 1000 : spec.expires?.epoch ? ms : now + ms;
  return { accessToken: token, expiresAt, obtainedAt: now };
}

// Each row's parameters as a list, made once: a method call then walks it without allocating.
const paramLists = new WeakMap<OperationRow, { list: Array<[string, string]>; body: boolean }>();

/** The request a method sends, built from its row and params. */
function requestOf(
  base: string,
  row: OperationRow,
  params: Record<string, unknown>,
  site: CallSite,
): Request {
  let compiled = paramLists.get(row);
  if (!compiled) {
    const list = Object.entries(row.params);
    compiled = { list, body: list.some(([, where]) => where === "body") };
    paramLists.set(row, compiled);
  }
  let path = row.path;
  let query = "";
  const headers: Record<string, string> = {};
  const body: Record<string, unknown> | undefined = compiled.body ? {} : undefined;
  for (const [name, where] of compiled.list) {
    const value = Object.hasOwn(params, name) ? params[name] : undefined;
    if (value === undefined) continue;
    if (where === "path") path = path.replace(`{${name}}`, () => pathSegment(name, value, site));
    else if (where === "query")
      for (const pair of queryPairs(name, value, site)) query += `${query ? "&" : "?"}${pair}`;
    else if (where === "header") headers[name] = String(value);
    else (body as Record<string, unknown>)[name] = value;
  }
  if (path.includes("{") && /\{[^}]+\}/.test(path))
    throw new ConfigError(`A path parameter of ${row.path} is missing`, site);
  let text: string | undefined;
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    try {
      text = JSON.stringify(body);
    } catch (error) {
      throw new ConfigError(`The body cannot be serialized: ${(error as Error).message}`, site);
    }
  }
  return { url: base + path + query, method: row.method, headers, body: text };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function encoded(name: string, value: string, site: CallSite): string {
  if (LONE_SURROGATE.test(value))
    throw new ConfigError(`Parameter "${name}" is not well-formed Unicode (a lone surrogate)`, site);
  return encodeURIComponent(value);
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
  key = encoded(name, name, site).replace(/%5B/g, "[").replace(/%5D/g, "]"),
): string[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value))
    return value.flatMap((v) =>
      typeof v === "object" && v !== null ? nested(name, site) : queryPairs(name, v, site, key),
    );
  if (typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) =>
      typeof v === "object" && v !== null
        ? nested(name, site)
        : queryPairs(name, v, site, `${key}[${encoded(name, k, site)}]`),
    );
  return [`${key}=${encoded(name, String(value), site)}`];
}

function nested(name: string, site: CallSite): never {
  throw new ConfigError(`Query parameter "${name}" nests arrays or objects, which cannot be sent`, site);
}

/**
 * Builds a client for one API from its generated table and profile: methods grouped by tag, the
 * managed app token, retries, typed errors, the rate limiter. `createDingTalk`, `createWorkPlus` and
 * `createWeCom` are this plus a few lines of their own; a new API needs nothing more.
 */
export function createClient<
  Ops,
  Table extends OperationTable,
  Options extends ClientOptions = ClientOptions,
>(api: ApiDefinition<Table>, clientOptions: Options = {} as Options): Client<Ops, Table> {
  const options = validateOptions({
    ...clientOptions,
    baseUrl: clientOptions.baseUrl ?? api.profile.servers[0],
  }) as ClientOptions & Record<string, unknown> & { baseUrl: string };
  const { profile, operations } = api;
  const name = profile.api;
  const baseUrl = options.baseUrl;
  const base = new URL(baseUrl);
  const redactor = new Redactor();
  for (const spec of profile.tokens) for (const s of spec.secrets) redactor.pin(options[s] as string);
  redactor.pin(options.accessToken);
  const limits = options.rateLimit;
  let limiter: RateLimiter | undefined;
  if (
    limits !== false &&
    profile.rateLimits.length + Object.values(operations).filter((r) => "rateLimits" in r).length
  )
    limiter = limits?.store ? createRateLimiter({ store: limits.store }) : sharedLimiter();
  let appToken: TokenSource | undefined;
  const engine = new Engine({
    profile,
    origin: base.origin,
    transport: options.transport ?? (options.fetch ? fetchTransport(options.fetch) : defaultTransport()),
    timeout: options.timeout ?? 10_000,
    retry: options.retry,
    headers: options.headers,
    appToken: () => appToken,
    redactor,
    logger: options.logger,
    random: (options.random as (() => number) | undefined) ?? Math.random,
    maxBytes: options.maxResponseBytes ?? DEFAULT_MAX_BYTES,
    limiter,
    errorClass: api.error ?? ApiError,
  });

  const source = profile.tokens.find((spec) =>
    Object.values(spec.options).every((o) => spec.optional.includes(o) || options[o] !== undefined),
  );
  // Identity of the app for token keys and budgets: the source's non-secret options.
  const identity: Record<string, string> = {};
  for (const o of Object.values(source?.options ?? {}))
    if (!source?.secrets.includes(o) && typeof options[o] === "string") identity[o] = options[o] as string;
  const app = tokenKey(name, baseUrl, identity);

  const budgetsOf = (operationId: string, row: OperationRow): Budget[] =>
    [...profile.rateLimits, ...((row.rateLimits as readonly RateLimitSpec[] | undefined) ?? [])].map(
      (limit) => {
        const changed = limits ? limits[limit.scope] : undefined;
        const calls = override(`rateLimit.${limit.scope}.calls`, changed?.calls, limit.calls, true);
        const seconds = override(`rateLimit.${limit.scope}.seconds`, changed?.seconds, limit.seconds, false);
        const key =
          limit.scope === "ip" ? `ip:${base.origin}` : limit.scope === "app" ? app : `${app}:${operationId}`;
        // A little wider than documented: the server counts arrivals, which jitter behind our sends.
        return { key: `${key}:${calls}/${seconds}`, calls, windowMs: seconds * 1000 + 50 };
      },
    );
  const refs = new Map<string, OperationRef>();
  const refOf = (operationId: string, row: OperationRow): OperationRef => {
    let ref = refs.get(operationId);
    if (!ref) {
      ref = {
        operationId,
        method: row.method,
        path: row.path,
        idempotent: row.idempotent,
        token: row.token,
        noBody: row.noBody,
      };
      if (limiter) ref.budgets = budgetsOf(operationId, row);
      refs.set(operationId, ref);
    }
    return ref;
  };

  // The parameters of each token operation that carry a secret (`corpsecret`): a direct call of that
  // operation may pass one the options never gave, and an error may echo it.
  const secretParams = new Map<string, string[]>();
  for (const spec of profile.tokens) {
    const fields = Object.entries(spec.options).filter(([, option]) => spec.secrets.includes(option));
    if (fields.length)
      secretParams.set(
        spec.operation,
        fields.map(([fieldName]) => fieldName),
      );
  }

  const methods = createMethods<Ops, Table>(
    operations,
    async (operationId, row, params, callOptions: RequestOptions) => {
      const ref = refOf(operationId, row);
      for (const fieldName of secretParams.get(operationId) ?? []) redactor.add(params[fieldName] as string);
      try {
        const sent = await engine.send(requestOf(baseUrl, row, params, ref), ref, callOptions);
        return responseOf(sent.data, sent.answer, sent);
      } catch (error) {
        if (error instanceof ImspecError) throw error;
        throw new ConfigError(
          redactor.text(`${row.method} ${row.path}: ${(error as Error)?.message ?? String(error)}`),
          ref,
        );
      }
    },
  );

  let cache: TokenCache | undefined;
  if (source) {
    const row = operations[source.operation] as OperationRow;
    const group =
      (methods as Record<string, Record<string, (p: unknown) => Promise<unknown>>>)[row.tag] ?? {};
    cache = new TokenCache({
      key: app,
      store: options.tokenStore,
      marginMs: options.tokenMarginMs ?? api.tokenMarginMs ?? 300_000,
      onToken: (t) => redactor.add(t),
      onWarning: (warning) =>
        options.logger?.({
          api: name,
          operationId: source.operation,
          method: row.method,
          path: row.path,
          attempt: 0,
          durationMs: 0,
          warning,
        }),
      fetch: async () => {
        const params: Record<string, unknown> = { ...source.fixed };
        for (const [fieldName, option] of Object.entries(source.options)) {
          const given = options[option];
          const value = typeof given === "function" ? await given() : given;
          if (typeof value === "string") redactor.add(source.secrets.includes(option) ? value : undefined);
          if (value !== undefined) params[fieldName] = value;
        }
        return storedToken(source, await group[source.operation]?.(params), refOf(source.operation, row));
      },
    });
    const c = cache;
    appToken = {
      get: (b) => c.get(b),
      peek: () => c.peek(),
      replace: (rejected, b) => c.replace(rejected, b),
    };
  } else if (options.accessToken !== undefined) {
    const token = options.accessToken;
    appToken = { get: async () => token, peek: () => token };
  } else if (typeof options.getAccessToken === "function") {
    const provider = options.getAccessToken;
    appToken = { get: async () => provider(), replace: async () => provider() };
  } else {
    // Some of a source's options but not all: say which are missing rather than sending no token.
    for (const spec of profile.tokens) {
      const required = Object.values(spec.options).filter((o) => !spec.optional.includes(o));
      const missing = required.filter((o) => options[o] === undefined);
      if (missing.length < required.length)
        throw new ConfigError(
          `${name}: ${required.join(", ")} are all required (missing: ${missing.join(", ")})`,
        );
    }
  }

  const client = {
    ...methods,
    appToken: {
      get: () =>
        appToken ? appToken.get() : Promise.reject(new ConfigError("This client has no app token source")),
      clear: async () => {
        await cache?.clear();
      },
    },
  };
  const internals: Internals = { engine, refOf, operations, baseUrl, redactor };
  Object.defineProperty(client, INTERNALS, { value: internals });
  return client as Client<Ops, Table>;
}

/** The data with its answer; the Response is built only if asked for, the request id read when read. */
export function responseOf(
  data: unknown,
  answer: Sent["answer"],
  requestId: string | undefined | Pick<Sent, "requestId">,
): WithResponse<unknown> {
  let response: Response | undefined;
  return {
    data,
    get response() {
      response ??= new Response(
        answer.body.length && answer.status !== 204 && answer.status !== 205 ? answer.body : null,
        {
          status: answer.status,
          ...(answer.statusText ? { statusText: answer.statusText } : {}),
          headers: answer.headers as Record<string, string>,
        },
      );
      return response;
    },
    get requestId() {
      return typeof requestId === "object" ? requestId.requestId : requestId;
    },
  };
}

type Sent = import("./engine.js").Sent;
