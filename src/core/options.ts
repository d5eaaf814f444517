import type { RateLimitSpec } from "./client.js";
import type { LimiterStore } from "./limiter.js";
import type { RetryOptions } from "./retry.js";
import type { TokenStore } from "./token.js";
import type { Transport } from "./transport.js";

/** What the logger hook receives after each attempt. Never holds a token or a secret. */
export interface LogEvent {
  api: string;
  operationId: string | undefined;
  method: string;
  /**
   * The spec's path template (`/v1/apps/{appId}/admins`), never the concrete URL; for an
   * `imspec/raw` call to a path the spec does not list, that path, redacted, without its query.
   */
  path: string;
  /**
   * 1, then one more for each retry. A replay with a new token after the server refused one is no
   * retry: it keeps the number (the event before it has `tokenReplaced`), as the error's `attempts` does.
   */
  attempt: number;
  durationMs: number;
  status?: number | undefined;
  requestId?: string | undefined;
  /** Error class and code when the attempt failed. */
  error?: string | undefined;
  /** Set when another attempt follows: how long the client waits first. */
  retryInMs?: number | undefined;
  /** Set when the token was refused and the call is replayed with a new one. */
  tokenReplaced?: boolean | undefined;
  /** How long the rate limiter held the attempt back, when it did. */
  rateLimitedMs?: number | undefined;
  /** Something about the client rather than the call (a fallback taken, a value clamped). */
  warning?: string | undefined;
}

/** Called after every attempt; a returned promise is not awaited, and its rejection is ignored. */
export type Logger = (event: LogEvent) => void;

/**
 * A token, or a function asked for one before each attempt. A function that also has a
 * `replace(refused)` method (a `RenewableToken`, what DingTalk's `userTokens.session` returns) is
 * asked once for another when the server refuses the token it gave, and the call is replayed with
 * it, as a call with the client's app token is.
 */
export type AccessTokenInput = string | (() => string | Promise<string>);

/** A token function that can swap a token the server refused for another. */
export interface RenewableToken {
  (): Promise<string>;
  replace(refused: string): Promise<string>;
}

/** Per-call options, the last argument of every method. */
export interface RequestOptions {
  /** Aborts the call, token wait, rate-limit wait and retries included, at once. */
  signal?: AbortSignal | undefined;
  /**
   * Per-attempt timeout in ms (default: the client's, 10 000); the token wait counts against it. A
   * wait for the rate budget is held to it too, but does not count against the exchange after it.
   */
  timeout?: number | undefined;
  /** Retry overrides for this call, or `false` for a single attempt. */
  retry?: RetryOptions | false | undefined;
  /** Extra request headers. */
  headers?: Record<string, string> | undefined;
  /**
   * The access token for this call, instead of the client's managed one. Operations that need a
   * *user* token require it.
   */
  accessToken?: AccessTokenInput | undefined;
}

/**
 * A scope's budgets changed: its documented ones with other numbers (`{ calls }`, `{ seconds }` or
 * both, each budget of the scope alike), or a list that replaces them, each with its own numbers
 * (a higher edition's minute and hour budgets: `[{ calls, seconds: 60 }, { calls, seconds: 3600 }]`).
 */
export type RateLimitOverrides = Partial<
  Record<
    RateLimitSpec["scope"],
    { calls?: number; seconds?: number } | ReadonlyArray<{ calls: number; seconds: number }>
  >
>;

/** Options every client takes. */
export interface CommonClientOptions {
  /** Overrides the spec's server URL (http or https; no credentials, query or fragment). */
  baseUrl?: string | undefined;
  /**
   * Per-attempt timeout in ms. Default 10 000. A wait for the rate budget is held to it, but does
   * not count against the exchange after it.
   */
  timeout?: number | undefined;
  retry?: RetryOptions | false | undefined;
  /** Headers sent with every request (not `host`, `content-length`, `transfer-encoding`, `connection`). */
  headers?: Record<string, string> | undefined;
  /**
   * How requests go out. Default: node:http keep-alive on Node, `fetch` elsewhere. Pass
   * `fetchTransport(fetch)` (or just `fetch`) for a fetch of your own.
   */
  transport?: Transport | undefined;
  /** A fetch function to send requests with (shorthand for `transport: fetchTransport(fetch)`). */
  fetch?: typeof globalThis.fetch | undefined;
  /**
   * Most bytes of a decoded answer body. Default 10 MiB, at most 64 MiB. The body is parsed after it
   * arrives, outside `timeout`: a larger cap is a longer pause on a hostile answer.
   */
  maxResponseBytes?: number | undefined;
  /** Called after every attempt; secrets are already redacted. */
  logger?: Logger | undefined;
  /** Where managed tokens are kept (default: in memory). Share one store to share one token. */
  tokenStore?: TokenStore | undefined;
  /** Refresh a managed token this many ms before it expires. Default: the API's (5 minutes unless its entry point sets another). */
  tokenMarginMs?: number | undefined;
  /**
   * The client-side rate limiter over the spec's budgets (`x-imspec-rate-limits`): `false` turns it
   * off; overrides change a scope's numbers (a higher edition has higher limits); `store` shares one
   * budget between processes (`RedisLimiterStore` from `imspec/redis`).
   */
  rateLimit?:
    | false
    | (RateLimitOverrides & {
        store?: LimiterStore | undefined;
        /**
         * The app the `app` and `app-operation` budgets count this client's calls against. Default: the
         * app the client's credentials name; with an `accessToken` string, that token; with a token
         * function or `getAccessToken`, one app per API and base URL. Give every client of one app
         * the same name when they get their tokens differently (credentials in one process, a token
         * of your own in another), and apps whose tokens come from functions names of their own.
         */
        appName?: string | undefined;
      })
    | undefined;
}
