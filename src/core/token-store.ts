/**
 * Where tokens are kept (the store seam, an in-memory store) and under which key. The cache that
 * fetches and refreshes them is `token.ts`, which re-exports all of this.
 */
export interface StoredToken {
  accessToken: string;
  expiresAt: number; // epoch ms after which the server no longer accepts the token
  obtainedAt?: number | undefined; // epoch ms when fetched: with `expiresAt`, the token's lifetime
}

/**
 * The longest token a source may answer. Real ones are far shorter (WeCom reserves 512 bytes, the
 * others send 32 to a few hundred characters). One of megabytes is a broken or hostile server's: it
 * would be sent with every call, and learning it (the redactor builds its encoded forms) blocks the process.
 */
const MAX_TOKEN_LENGTH = 8192;

/** Half a UTF-16 pair: a string holding one has no UTF-8 form, so cannot be sent. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a token cannot be used, or `undefined` when it can: too long, not well-formed Unicode, or
 * holding a control character (a line break cannot be sent in a header; no platform issues one); for
 * a token sent in a header (`inHeader`), also a character past U+00FF, which no header carries (a
 * query percent-encodes it). The one rule for a token a source answers and for one read back from a
 * store: a token every call fails with before reaching a server is never refused, so never replaced.
 */
export function whyUnusable(token: string, inHeader = false): string | undefined {
  if (token.length > MAX_TOKEN_LENGTH)
    return `is ${token.length} characters long (at most ${MAX_TOKEN_LENGTH} are taken)`;
  if (LONE_SURROGATE.test(token)) return "cannot be sent (not well-formed Unicode)";
  if (/\p{Cc}/u.test(token)) return "cannot be sent (it holds a control character)";
  if (inHeader && /[^\0-\xff]/.test(token))
    return "cannot be sent in a header (it holds a character past U+00FF)";
  return undefined;
}

/** A token read back from a store that could have been answered: a non-empty string `whyUnusable` takes. */
export function usableToken(token: unknown, inHeader = false): token is string {
  return typeof token === "string" && token !== "" && whyUnusable(token, inHeader) === undefined;
}

export interface TokenStore {
  get(key: string): Promise<StoredToken | undefined>;
  set(key: string, token: StoredToken): Promise<void>;
  /** Deletes the stored token, only if it is still `accessToken` when given. */
  delete(key: string, accessToken?: string): Promise<void>;
  /** Optional cross-process lock: a release function once held, or `undefined` after `waitMs`. */
  lock?(key: string, ttlMs: number, waitMs: number): Promise<(() => Promise<void>) | undefined>;
}

export class MemoryTokenStore implements TokenStore {
  readonly #tokens = new Map<string, StoredToken>();
  get = async (key: string) => this.#tokens.get(key);
  set = async (key: string, token: StoredToken) => void this.#tokens.set(key, token);
  delete = async (key: string, accessToken?: string) => {
    if (accessToken === undefined || this.#tokens.get(key)?.accessToken === accessToken)
      this.#tokens.delete(key);
  };
}

/**
 * Whose token a source issues: its request fields with their options, every option but the secrets,
 * and the secrets that tell apps apart (`identifying`). The client keys its tokens by these options;
 * the mock keys the tokens it issues by these fields.
 */
export function ownerOptions(source: {
  readonly options: Readonly<Record<string, string>>;
  readonly secrets: readonly string[];
  readonly identifying?: readonly string[] | undefined;
}): Array<[field: string, option: string]> {
  return Object.entries(source.options).filter(
    ([, option]) => !source.secrets.includes(option) || !!source.identifying?.includes(option),
  );
}

/**
 * The store key of one app's token. `identity` is hashed (64-bit FNV-1a), never in clear: a secret
 * among it tells two apps apart without showing, and the secrets these platforms issue (32 to 64
 * random characters) are far longer than the hash can pin down.
 */
export function tokenKey(api: string, baseUrl: string, identity: Readonly<Record<string, string>>): string {
  // Origin (lower-case host, no default port) and path (one host may serve deployments under several
  // prefixes); never credentials, query or fragment. Not a URL: hashed, in case it holds a password.
  const url = URL.canParse(baseUrl) ? new URL(baseUrl) : undefined;
  const base = url ? url.origin + url.pathname.replace(/\/{2,}/g, "/").replace(/\/+$/, "") : fnv1a64(baseUrl);
  // Sorted [name, value] pairs as JSON: `a:b`+`c` and `a`+`b:c` encode differently.
  const entries = Object.entries(identity).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${encodeURIComponent(api)}:${base}:${fnv1a64(JSON.stringify(entries))}`;
}

/** 64-bit FNV-1a of the UTF-8 bytes, 16 hex digits: synchronous and the same in every runtime. */
function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text))
    hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return hash.toString(16).padStart(16, "0");
}
