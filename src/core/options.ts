import type { RetryOptions } from "./retry.js";
import type { TokenStore } from "./token.js";

/** What the logger hook receives after each attempt. Never holds a token or a secret. */
export interface LogEvent {
  api: "dingtalk" | "workplus";
  operationId: string | undefined;
  method: string;
  /** The spec's path template (`/v1/apps/{appId}/admins`), never the concrete URL. */
  path: string;
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
}

export type Logger = (event: LogEvent) => void;

/** A token or something that supplies one. */
export type AccessTokenInput = string | (() => string | Promise<string>);

/** Per-call options, the last argument of every method. */
export interface RequestOptions {
  /** Aborts the call, retries included, at once. */
  signal?: AbortSignal | undefined;
  /** Per-attempt timeout in ms (default: the client's, 10 000). */
  timeout?: number | undefined;
  /** Retry overrides for this call, or `false` for a single attempt. */
  retry?: RetryOptions | false | undefined;
  /** Extra request headers. */
  headers?: Record<string, string> | undefined;
  /**
   * The access token for this call, instead of the client's managed one. Operations that need a
   * *user* token (DingTalk `getUser`) require it.
   */
  accessToken?: AccessTokenInput | undefined;
}

/** Options every client takes. */
export interface CommonClientOptions {
  /** Overrides the spec's server URL. */
  baseUrl?: string | undefined;
  /** Per-attempt timeout in ms. Default 10 000. */
  timeout?: number | undefined;
  retry?: RetryOptions | false | undefined;
  /** Headers sent with every request. */
  headers?: Record<string, string> | undefined;
  /** The fetch implementation (default: global fetch). Any `(Request | URL | string, RequestInit) => Promise<Response>`. */
  fetch?: typeof globalThis.fetch | undefined;
  /** Called after every attempt; secrets are already redacted. */
  logger?: Logger | undefined;
  /** Where managed tokens are kept (default: in memory). Share one store to share one token. */
  tokenStore?: TokenStore | undefined;
  /** Refresh a managed token this many ms before it expires. */
  tokenMarginMs?: number | undefined;
}
