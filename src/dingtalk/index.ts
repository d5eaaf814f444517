/**
 * `imspec/dingtalk`: the DingTalk new server API (api.dingtalk.com, v1.0) client.
 *
 * @example
 * const dt = createDingTalk({ appKey: "ding…", appSecret: process.env.DINGTALK_APP_SECRET! });
 * const settings = await dt.contact.listSeniorSettings({ seniorStaffId: "013349365367-1094322561" });
 */
import type { Client } from "openapi-fetch";
import { auth, type Operations, operations, servers } from "../../generated/dingtalk/operations.js";
import type { components, paths } from "../../generated/dingtalk/schema.js";
import { createCore } from "../core/client.js";
import type { ApiProfile, TokenSource } from "../core/engine.js";
import { ConfigError, isDingTalkIpBan, ParseError } from "../core/errors.js";
import type { MethodGroups } from "../core/methods.js";
import type { CommonClientOptions, RequestOptions } from "../core/options.js";
import { Redactor } from "../core/redact.js";
import { type StoredToken, TokenCache } from "../core/token.js";

export { APIPromise, type WithResponse } from "../core/api-promise.js";
export {
  AbortError,
  ApiError,
  ConfigError,
  ConnectionError,
  DingTalkError,
  ImspecError,
  ParseError,
  TimeoutError,
} from "../core/errors.js";
export type { LogEvent, Logger, RequestOptions } from "../core/options.js";
export { DINGTALK_IP_BAN_CODE, DINGTALK_THROTTLE_CODES, type RetryOptions } from "../core/retry.js";
export { MemoryTokenStore, type StoredToken, type TokenStore } from "../core/token.js";
export type { components, Operations, paths };
export { operations };

/** Internal app: the app token comes from POST /v1.0/oauth2/accessToken. */
export interface AppCredentials {
  appKey: string;
  appSecret: string;
}

/** Third-party enterprise app: the corp token comes from POST /v1.0/oauth2/corpAccessToken. */
export interface SuiteCredentials {
  suiteKey: string;
  suiteSecret: string;
  authCorpId: string;
  /** The latest suiteTicket DingTalk pushed (every ~5 hours): a value, or a function that reads it. */
  suiteTicket: string | (() => string | Promise<string>);
}

export type DingTalkAuth =
  | AppCredentials
  | SuiteCredentials
  /** A token you manage yourself: used as is, never refreshed. */
  | { accessToken: string }
  /** Your own provider, asked before each call (cache in it). Asked again once if the server refuses a token. */
  | { getAccessToken: () => string | Promise<string> }
  /** No app token: every call passes `{ accessToken }` in its options. */
  | Record<never, never>;

export type DingTalkOptions = CommonClientOptions &
  DingTalkAuth & {
    /** OAuth client id/secret for user tokens; default: appKey/appSecret. */
    clientId?: string | undefined;
    clientSecret?: string | undefined;
  };

/** A user access token from POST /v1.0/oauth2/userAccessToken. */
export interface UserToken {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms. */
  expiresAt: number;
  corpId?: string | undefined;
}

export interface UserTokens {
  /** Exchanges an OAuth2 authorization code for a user token. */
  exchangeCode(code: string, options?: RequestOptions): Promise<UserToken>;
  /** Gets a new user token with a refresh token. */
  refresh(refreshToken: string, options?: RequestOptions): Promise<UserToken>;
  /**
   * A function that returns a valid user access token, refreshing it (once, shared) shortly before
   * it expires. Pass it as `{ accessToken: session }` to calls that need a user token.
   */
  session(token: UserToken, onRefresh?: (token: UserToken) => void): () => Promise<string>;
}

export interface DingTalk extends MethodGroups<Operations, typeof operations> {
  /** The typed openapi-fetch client, with the same auth, retries and typed errors. */
  readonly raw: Client<paths>;
  readonly userTokens: UserTokens;
  /** The managed app token: read it, or forget it (the next call fetches a new one). */
  readonly appToken: { get(): Promise<string>; clear(): Promise<void> };
}

const TOKEN_LIFETIME_FALLBACK_S = 7200;
const DEFAULT_MARGIN_MS = 5 * 60_000;

/** DingTalk refuses a bad or expired token with 401, or 400/401/403 `InvalidAuthentication`. */
export function isDingTalkTokenRejected(status: number, body: unknown): boolean {
  const code = body && typeof body === "object" ? (body as { code?: unknown }).code : undefined;
  if (
    typeof code === "string" &&
    /^InvalidAuthentication|^invalid\.?access_?token|token\.?(invalid|expired)/i.test(code)
  )
    return true;
  return status === 401;
}

const profile: ApiProfile = {
  api: "dingtalk",
  auth,
  envelope: undefined,
  tokenRejected: isDingTalkTokenRejected,
  // The IP ban can come with HTTP 200: a success status, but no answer to the call.
  refused: (_status, body) => isDingTalkIpBan(body),
};

function has(options: object, key: string): boolean {
  return Object.hasOwn(options, key) && (options as Record<string, unknown>)[key] !== undefined;
}

/** The token endpoints mark no response field required: check what a token needs. */
function tokenOf(
  r: { accessToken?: string | undefined; expireIn?: number | undefined },
  operationId: string,
): StoredToken {
  if (typeof r.accessToken !== "string" || r.accessToken.length === 0) {
    throw new ParseError(`${operationId} answered without an accessToken`, { operationId }, 200);
  }
  return {
    accessToken: r.accessToken,
    expiresAt: Date.now() + (r.expireIn ?? TOKEN_LIFETIME_FALLBACK_S) * 1000,
  };
}

export function createDingTalk(options: DingTalkOptions = {}): DingTalk {
  const redactor = new Redactor();
  for (const key of ["appSecret", "suiteSecret", "clientSecret", "accessToken", "suiteTicket"]) {
    const value = (options as Record<string, unknown>)[key];
    if (typeof value === "string") redactor.pin(value);
  }
  const margin = options.tokenMarginMs ?? DEFAULT_MARGIN_MS;
  let appToken: TokenSource | undefined;
  let cache: TokenCache | undefined;

  const core = createCore<paths, Operations, typeof operations>(
    operations,
    profile,
    options.baseUrl ?? servers[0],
    {
      ...options,
      redactor,
      appToken: () => appToken,
    },
  );
  const { oauth2 } = core.methods;

  if (has(options, "appKey") || has(options, "appSecret")) {
    const { appKey, appSecret } = options as AppCredentials;
    if (!appKey || !appSecret)
      throw new ConfigError("createDingTalk: appKey and appSecret are both required");
    cache = new TokenCache({
      key: `dingtalk:app:${appKey}`,
      store: (options as CommonClientOptions).tokenStore,
      marginMs: margin,
      onToken: (t) => redactor.add(t),
      fetch: async () => {
        return tokenOf(await oauth2.getAccessToken({ appKey, appSecret }), "getAccessToken");
      },
    });
  } else if (has(options, "suiteKey")) {
    const { suiteKey, suiteSecret, authCorpId, suiteTicket } = options as SuiteCredentials;
    if (!suiteSecret || !authCorpId || !suiteTicket) {
      throw new ConfigError("createDingTalk: suiteKey needs suiteSecret, authCorpId and suiteTicket");
    }
    cache = new TokenCache({
      key: `dingtalk:corp:${suiteKey}:${authCorpId}`,
      store: (options as CommonClientOptions).tokenStore,
      marginMs: margin,
      onToken: (t) => redactor.add(t),
      fetch: async () => {
        const ticket = typeof suiteTicket === "function" ? await suiteTicket() : suiteTicket;
        redactor.add(ticket);
        return tokenOf(
          await oauth2.getCorpAccessToken({ suiteKey, suiteSecret, authCorpId, suiteTicket: ticket }),
          "getCorpAccessToken",
        );
      },
    });
  } else if (has(options, "accessToken")) {
    const token = (options as { accessToken: string }).accessToken;
    appToken = { get: async () => token };
  } else if (has(options, "getAccessToken")) {
    const provider = (options as { getAccessToken: () => string | Promise<string> }).getAccessToken;
    appToken = { get: async () => provider(), replace: async () => provider() };
  }
  if (cache) {
    const c = cache;
    appToken = { get: () => c.get(), replace: (rejected) => c.replace(rejected) };
  }

  const loose = options as Partial<AppCredentials> & { clientId?: string; clientSecret?: string };
  const clientId = loose.clientId ?? loose.appKey;
  const clientSecret = loose.clientSecret ?? loose.appSecret;
  const userToken = async (
    body: { code: string } | { refreshToken: string },
    callOptions?: RequestOptions,
  ): Promise<UserToken> => {
    if (!clientId || !clientSecret)
      throw new ConfigError("User tokens need clientId and clientSecret (or appKey and appSecret)");
    const grantType = "code" in body ? "authorization_code" : "refresh_token";
    const r = await oauth2.getUserAccessToken({ clientId, clientSecret, grantType, ...body }, callOptions);
    const token = tokenOf(r, "getUserAccessToken");
    if (typeof r.refreshToken !== "string")
      throw new ParseError(
        "getUserAccessToken answered without a refreshToken",
        { operationId: "getUserAccessToken" },
        200,
      );
    redactor.add(r.refreshToken);
    return { ...token, refreshToken: r.refreshToken, corpId: r.corpId };
  };
  const userTokens: UserTokens = {
    exchangeCode: (code, o) => userToken({ code }, o),
    refresh: (refreshToken, o) => userToken({ refreshToken }, o),
    session(initial, onRefresh) {
      let current = initial;
      let inflight: Promise<string> | undefined;
      return () => {
        if (Date.now() < current.expiresAt - margin) return Promise.resolve(current.accessToken);
        inflight ??= userToken({ refreshToken: current.refreshToken })
          .then((next) => {
            current = next;
            onRefresh?.(next);
            return next.accessToken;
          })
          .finally(() => {
            inflight = undefined;
          });
        return inflight;
      };
    },
  };

  return {
    ...core.methods,
    raw: core.raw,
    userTokens,
    appToken: {
      get: () =>
        appToken ? appToken.get() : Promise.reject(new ConfigError("This client has no app token source")),
      clear: async () => {
        await cache?.clear();
      },
    },
  };
}
