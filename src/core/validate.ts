/**
 * Client options checked once, at construction, so a careless value fails there with a ConfigError
 * naming the option, instead of later as a hang (`timeout: NaN`), a loop (`maxAttempts: Infinity`) or
 * a leak (a base URL with a password, echoed in an error). Messages never repeat a URL: it may hold
 * credentials or a token in its query.
 */
import type { ClientOptions } from "./client.js";
import { type CallSite, ConfigError } from "./errors.js";
import type { RetryOptions } from "./retry.js";

export interface CheckedOptions {
  baseUrl?: string | undefined;
  timeout?: number | undefined;
  retry?: RetryOptions | false | undefined;
  headers?: Readonly<Record<string, string>> | undefined;
  tokenMarginMs?: number | undefined;
  maxResponseBytes?: number | undefined;
  tokenStore?: unknown;
  accessToken?: unknown;
}

/** The longest wait `setTimeout` honours (a longer one fires at once, which would spin). */
export const MAX_WAIT_MS = 2 ** 31 - 1;
/**
 * The largest answer a client may be told to take. Parsing is synchronous, outside the call's
 * timeout, and JSON of the worst shape (`[[],[],…]`) grows about 14 times in the heap: 64 MiB parses
 * in seconds into under 1 GiB, where 512 MiB (about the longest string there can be) ran out of memory.
 */
const MAX_BYTES = 64 * 1024 * 1024;
/** More attempts than this is a loop, not a retry policy. */
const MAX_ATTEMPTS = 100;

/** A ConfigError naming the option unless `value` is undefined or a number from `min` to `max`. */
export function check(
  name: string,
  value: unknown,
  min: number,
  max: number,
  integer = false,
  site?: CallSite,
): void {
  if (value === undefined) return;
  const ok =
    typeof value === "number" && value >= min && value <= max && (!integer || Number.isInteger(value));
  if (!ok)
    throw new ConfigError(
      `${name} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}`,
      site,
    );
}

/** What `value` is, for a message: `null`, `undefined`, `an array`, `a string`, `a number`, … */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;
}

/**
 * A copy of the options a caller gave, read once: their fields, and those of `headers` when plain (a
 * class instance is kept as given, and read through `guarded`; `retry` and `rateLimit` are read by
 * name when the client is made). A getter or Proxy trap that throws meanwhile is a ConfigError naming
 * `name`, not the caller's own error (whose message may quote a value).
 */
export function readOptions<T>(name: string, given: T): T {
  checkObject(name, given);
  return guarded(name, () => {
    const copy: Record<string, unknown> = { ...(given as object) };
    const { headers } = copy;
    const proto = isRecord(headers) ? Object.getPrototypeOf(headers) : undefined;
    if (proto === Object.prototype || proto === null) copy.headers = { ...(headers as object) };
    return copy as T;
  });
}

/** `fields` of what a caller gave, read by name (inherited ones and getters too), once. */
export function readFields<K extends string>(
  name: string,
  given: unknown,
  fields: readonly K[],
): Record<K, unknown> {
  checkObject(name, given);
  return guarded(name, () =>
    Object.fromEntries(fields.map((f) => [f, (given as Record<string, unknown>)[f]])),
  ) as Record<K, unknown>;
}

/**
 * `read()`, which reads what a caller gave: a throw that is not one of imspec's own ConfigErrors (a
 * getter or Proxy trap of the caller's) is a ConfigError naming `name`, never the caller's error.
 */
export function guarded<T>(name: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    let own = false;
    try {
      own = error instanceof ConfigError;
    } catch {
      // a thrown revoked Proxy: not ours
    }
    if (own) throw error;
    throw new ConfigError(`${name} cannot be read (a getter or Proxy threw)`);
  }
}

/** An object, not null or an array, that can be read (a revoked Proxy cannot). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  try {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** A ConfigError naming `name` unless `value` is an object (not null, not an array). */
export function checkObject(name: string, value: unknown, site?: CallSite): void {
  if (isRecord(value)) return;
  let kind: string;
  try {
    kind = kindOf(value);
  } catch {
    throw new ConfigError(`${name} cannot be read (a revoked Proxy)`, site);
  }
  throw new ConfigError(`${name} must be an object (got ${kind})`, site);
}

/**
 * A `headers` option (the client's or a call's): null or undefined for none, else an object of
 * names and values. A Headers, a Map or an array lists no names as an object's entries, so its
 * headers would be dropped, and a string's characters would be sent as headers named 0, 1, 2, ….
 */
export function checkHeaders(value: unknown, site?: CallSite): void {
  if (value === undefined || value === null) return;
  let kind: string | undefined;
  try {
    // The collections whose entries an object's are not; any other object (a class's too, such as
    // another library's header record with a tag of its own) is read by its own fields.
    if (typeof value !== "object") kind = kindOf(value);
    else if (Array.isArray(value)) kind = "a list";
    else if (value instanceof Map) kind = "a Map";
    else if (typeof Headers !== "undefined" && value instanceof Headers) kind = "a Headers";
  } catch {
    throw new ConfigError("headers cannot be read (a revoked Proxy)", site);
  }
  if (kind) throw new ConfigError(`headers must be an object of names and values (got ${kind})`, site);
}

/** A ConfigError naming `name` unless `value` is a function, or null or undefined for none. */
export function checkFunction(name: string, value: unknown, site?: CallSite): void {
  if (value != null && typeof value !== "function")
    throw new ConfigError(`${name} must be a function (got ${kindOf(value)})`, site);
}

/** The keys of `T` whose value, when given, can only be a function. */
type FunctionKeys<T> = {
  [K in keyof T]-?: NonNullable<T[K]> extends (...args: never[]) => unknown ? K : never;
}[keyof T];

/**
 * The client options that must be functions: every one `ClientOptions` types as a function (the
 * compiler refuses this record if one is missing or another is listed), and `random`, the retry
 * jitter (tests fix it).
 */
const FUNCTION_OPTIONS: Record<FunctionKeys<ClientOptions & { random?: () => number }>, true> = {
  transport: true,
  fetch: true,
  logger: true,
  getAccessToken: true,
  random: true,
};

/** An option's value, checked as `check` does, or `fallback` when it is not given. */
export function checked<F extends number | undefined>(
  name: string,
  value: unknown,
  fallback: F,
  min: number,
  max: number,
  integer = false,
): number | F {
  check(name, value, min, max, integer);
  return (value as number | undefined) ?? fallback;
}

/** `http(s)://host[:port][/path]`: no credentials, query or fragment; the trailing slash dropped. */
function baseUrlOf(value: unknown): string {
  if (typeof value !== "string" || !URL.canParse(value))
    throw new ConfigError("baseUrl must be an absolute URL");
  const url = new URL(value);
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new ConfigError("baseUrl must use http or https");
  if (url.username || url.password)
    throw new ConfigError("baseUrl must not hold credentials (user:password@): pass them as options");
  if (url.search || url.hash || /[?#]/.test(value))
    throw new ConfigError("baseUrl must not have a query or fragment");
  if (/[{}]/.test(value)) throw new ConfigError("baseUrl is a template ({…}): give the server's real URL");
  return url.origin + url.pathname.replace(/\/+$/, "");
}

/** A `timeout` (the client's or a call's): a ConfigError unless it is a wait `setTimeout` can honour. */
export function checkTimeout(value: unknown, site?: CallSite): void {
  check("timeout", value, 1, MAX_WAIT_MS, false, site);
}

/** A `retry` option (the client's or a call's): false, or bounded numbers. */
export function checkRetry(retry: unknown, site?: CallSite): void {
  if (retry === undefined || retry === false) return;
  if (retry === null || typeof retry !== "object")
    throw new ConfigError("retry must be an object or false", site);
  const r = retry as RetryOptions;
  check("retry.maxAttempts", r.maxAttempts, 1, MAX_ATTEMPTS, true, site);
  check("retry.baseDelayMs", r.baseDelayMs, 0, MAX_WAIT_MS, false, site);
  check("retry.maxDelayMs", r.maxDelayMs, 0, MAX_WAIT_MS, false, site);
  check("retry.maxRetryAfterMs", r.maxRetryAfterMs, 0, MAX_WAIT_MS, false, site);
}

/**
 * A `tokenStore` option: none, or an object with a TokenStore's methods. A Redis client passed as
 * it is has `get` and `set` of its own, but they keep no token another process can read: each
 * process would fetch its own (WorkPlus: each fetch invalidates the others' token).
 */
export function checkTokenStore(value: unknown): void {
  if (value === undefined || value === null) return;
  let ok = false;
  try {
    ok =
      isRecord(value) &&
      ["get", "set", "delete"].every((name) => typeof value[name] === "function") &&
      (value.lock == null || typeof value.lock === "function");
  } catch {
    // a getter that throws: no store
  }
  if (!ok)
    throw new ConfigError(
      "tokenStore must be a TokenStore (get, set and delete methods; lock optional), such as createRedisTokenStore's: a Redis client is not one",
    );
}

/** Every retry setting by name: the compiler refuses this record if one is missing. */
const RETRY_FIELDS = Object.keys({
  maxAttempts: true,
  baseDelayMs: true,
  maxDelayMs: true,
  maxRetryAfterMs: true,
} satisfies Record<keyof RetryOptions, true>) as Array<keyof RetryOptions>;

/**
 * The retry settings given, read once each by name (a class's getters too, which own keys would
 * miss), without the ones left undefined (which would erase a default when spread).
 */
export function givenRetry(retry: RetryOptions | undefined): RetryOptions {
  const out: RetryOptions = {};
  if (retry === null || typeof retry !== "object") return out;
  for (const key of RETRY_FIELDS) {
    const value = retry[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** The options, checked (ConfigError on the first bad one) and normalised; others are passed through. */
export function validateOptions<T extends CheckedOptions>(options: T): T {
  checkObject("options", options);
  for (const name of Object.keys(FUNCTION_OPTIONS))
    checkFunction(name, (options as Record<string, unknown>)[name]);
  checkTimeout(options.timeout);
  checkHeaders(options.headers);
  check("tokenMarginMs", options.tokenMarginMs, 0, MAX_WAIT_MS);
  check("maxResponseBytes", options.maxResponseBytes, 1, MAX_BYTES, true);
  checkRetry(options.retry);
  checkTokenStore(options.tokenStore);
  // The client's fixed token is text: a number or object would be sent as its string form, and
  // `appToken.get()` would give it typed as a string. A function is `getAccessToken`.
  if (options.accessToken != null && typeof options.accessToken !== "string")
    throw new ConfigError(
      `accessToken must be the token as a string, not ${kindOf(options.accessToken)} (a function goes in getAccessToken)`,
    );
  return options.baseUrl === undefined ? options : { ...options, baseUrl: baseUrlOf(options.baseUrl) };
}
