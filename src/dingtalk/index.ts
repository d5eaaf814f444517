/**
 * `imspec/dingtalk`: the DingTalk new server API (api.dingtalk.com, v1.0) client.
 *
 * @example
 * const dt = createDingTalk({ appKey: "ding…", appSecret: process.env.DINGTALK_APP_SECRET! });
 * const settings = await dt.contact.listSeniorSettings({ seniorStaffId: "013349365367-1094322561" });
 */
import { type Operations, operations, profile } from "../../generated/dingtalk/operations.js";
import type { components, paths } from "../../generated/dingtalk/schema.js";
import {
  type Client,
  type ClientOptions,
  checkCredential,
  createClient,
  credential,
  INTERNALS,
  type Internals,
  inHeader,
  storedToken,
  warningEvent,
} from "../core/client.js";
import { emit, TOKEN_SOURCE } from "../core/engine.js";
import { ApiError, type ApiErrorFields, ConfigError, ERROR_CLASS, ParseError } from "../core/errors.js";
import type { CommonClientOptions, RenewableToken, RequestOptions } from "../core/options.js";
import { TokenCache } from "../core/token.js";
import { checkFunction, readFields, readOptions } from "../core/validate.js";

export * from "../core/public.js";
export type { components, Operations, paths };
export { operations, profile };

/** The code of DingTalk's per-IP flood ban (a refusal in the spec's `x-imspec-errors`): never retried. */
export const DINGTALK_IP_BAN_CODE: string = profile.errors.refusals[0].code;
/** DingTalk's throttling codes (the spec's `x-imspec-errors.throttled`): retried after a backoff. */
export const DINGTALK_THROTTLE_CODES: ReadonlySet<string> = new Set(profile.errors.throttled);

/** A DingTalk refusal: `{code, message, requestid, accessdenieddetail}` (or the IP ban, code "1111"). */
export class DingTalkError extends ApiError {
  static override readonly [ERROR_CLASS]: string = "DingTalkError";
  override name = "DingTalkError";
  declare readonly code: string | undefined;
  /** The permission points the token lacks (`accessdenieddetail.requiredScopes`), on 403 answers. */
  readonly requiredScopes: string[] | undefined;

  constructor(fields: Omit<ApiErrorFields, "api"> & { api?: string }) {
    // DingTalk's codes are strings; a body that gives a number (a proxy's, the old API's) is read
    // as its text, so `code` is what its type says.
    const code = typeof fields.code === "number" ? String(fields.code) : fields.code;
    super({ ...fields, code, api: profile.api });
    const body = (fields.body ?? {}) as Record<string, { requiredScopes?: unknown } | undefined>;
    // The gateway reads both spellings (alibabacloud-go/gateway-dingtalk ModifyResponse).
    const scopes = (body.accessdenieddetail ?? body.AccessDeniedDetail)?.requiredScopes;
    // Names only: an item that is not one (an object, a nested list) is left out, never thrown on.
    this.requiredScopes = Array.isArray(scopes)
      ? scopes.filter((s) => typeof s === "string" || typeof s === "number").map(String)
      : undefined;
  }
}

/** Internal app: the app token comes from POST /v1.0/oauth2/accessToken. */
export interface AppCredentials {
  appKey: string;
  appSecret: string;
}

/** The options of a client without an app token: no field of a token source given. */
type NoAppToken = {
  [K in "appKey" | "appSecret" | "suiteKey" | "suiteSecret" | "authCorpId" | "suiteTicket"]?: undefined;
} & { accessToken?: undefined; getAccessToken?: undefined };

export type DingTalkOptions = CommonClientOptions &
  (
    | AppCredentials
    /** Third-party enterprise app; `suiteTicket` is the latest ticket DingTalk pushed, or a function that reads it. */
    | {
        suiteKey: string;
        suiteSecret: string;
        authCorpId: string;
        suiteTicket: string | (() => string | Promise<string>);
      }
    /** A token you manage yourself: used as is, never refreshed. */
    | { accessToken: string }
    /** Your own provider, asked before each call; asked again once if the server refuses a token. */
    | { getAccessToken: () => string | Promise<string> }
    /**
     * No app token: every call passes `{ accessToken }` in its options. None of the others' fields:
     * part of a source (`appKey` without `appSecret`) is a ConfigError, not a client without one.
     */
    | NoAppToken
  ) & {
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
   * A function returning a valid user token, refreshed (once, shared) `tokenMarginMs` before it
   * expires (at most half its lifetime early; while that refresh fails, the token until it
   * expires): pass it as `{ accessToken }`. A token the server refuses (revoked, expired early) is
   * refreshed once and the call replayed with the new one; a refresh the server refuses too (the
   * user withdrew the authorization) fails the call with that refusal, a DingTalkError of
   * `getUserAccessToken`: the user has to sign in again. A `token` that is not a UserToken (or an
   * `onRefresh` that is not a function) is a ConfigError here, not at the session's first call.
   * `onRefresh` gets each new token, to be saved; its promise is not awaited, and if it throws or
   * rejects the new token is used all the same and the client's logger gets a warning.
   */
  session(token: UserToken, onRefresh?: (token: UserToken) => unknown): RenewableToken;
}

export type DingTalk = Client<Operations, typeof operations> & { readonly userTokens: UserTokens };

/**
 * Where getUserAccessToken's answer (the spec's UserAccessToken) holds the token and its lifetime; a
 * lifetime it lacks is the spec's default for DingTalk's tokens.
 */
const USER_TOKEN = {
  operation: "getUserAccessToken",
  token: "accessToken",
  expires: { field: "expireIn", unit: "s", epoch: false },
  defaultLifetime: profile.tokens[0].defaultLifetime,
} as const;

/** The fields of a UserToken, read from what a session is given. */
const USER_TOKEN_FIELDS = [
  "accessToken",
  "refreshToken",
  "expiresAt",
  "corpId",
] as const satisfies ReadonlyArray<keyof UserToken>;

/**
 * A session's token, read once by name (a database row's fields may be getters), and its callback,
 * checked when the session is made: something else is a ConfigError
 * (naming no value: a token's are secrets), not a TypeError at its first call, nor a refresh sent
 * without a refresh token, nor one sent on every call for an expiry that is not a number.
 */
function sessionToken(given: unknown, onRefresh: unknown): UserToken {
  const token = readFields("userTokens.session: token", given, USER_TOKEN_FIELDS);
  const { accessToken, refreshToken, expiresAt } = token;
  if (typeof accessToken !== "string" || typeof refreshToken !== "string" || !accessToken || !refreshToken)
    throw new ConfigError(
      "userTokens.session: the token's accessToken and refreshToken must be non-empty strings",
    );
  if (typeof expiresAt !== "number" || Number.isNaN(expiresAt))
    throw new ConfigError("userTokens.session: the token's expiresAt must be a number (epoch ms)");
  checkFunction("userTokens.session: onRefresh", onRefresh);
  return token as UserToken;
}

export function createDingTalk(options: DingTalkOptions = {}): DingTalk {
  // Read once: nothing below meets a getter of the caller's.
  const o = readOptions("options", options) as ClientOptions & {
    appKey?: unknown;
    appSecret?: unknown;
    clientId?: unknown;
    clientSecret?: unknown;
  };
  // The OAuth client's own credentials, checked as the app's are (`createClient` checks those).
  for (const name of ["clientId", "clientSecret"] as const) checkCredential(name, o[name]);
  const client = createClient<Operations, typeof operations>(
    { profile, operations, error: DingTalkError },
    o,
  );
  const margin = o.tokenMarginMs ?? 300_000;
  const clientId = o.clientId ?? o.appKey;
  const clientSecret = o.clientSecret ?? o.appSecret;
  const { redactor, engine } = (client as unknown as Record<symbol, Internals>)[INTERNALS] as Internals;
  const { logger } = engine.options;
  // When each user token this client fetched was obtained: a session refreshes one at most half its
  // lifetime early, as the app token is (a 2-minute token under a 5-minute margin, else, every call).
  const obtained = new WeakMap<UserToken, number>();
  const userToken = async (body: { code: string } | { refreshToken: string }, call?: RequestOptions) => {
    const [name, value] = Object.entries(body)[0] as [string, unknown];
    // Never sent without it: the server's refusal would not say which argument was missing.
    if (typeof value !== "string" || value === "")
      throw new ConfigError(`userTokens: the ${name} must be a non-empty string`);
    // Functions among them (as a token source's options may be) are asked here, each time.
    const id = await credential(clientId);
    const secret = await credential(clientSecret);
    if (typeof id !== "string" || !id || typeof secret !== "string" || !secret)
      throw new ConfigError("User tokens need clientId and clientSecret (or appKey and appSecret)");
    const grantType = "code" in body ? "authorization_code" : "refresh_token";
    const r = await client.oauth2.getUserAccessToken(
      { clientId: id, clientSecret: secret, grantType, ...body },
      call,
    );
    const site = { operationId: "getUserAccessToken" };
    // Read as an app token is read: checked, its lifetime a number or the default.
    const { accessToken, expiresAt, obtainedAt } = storedToken(USER_TOKEN, r, site, inHeader(profile));
    const refreshToken = (r as Partial<typeof r> | null | undefined)?.refreshToken;
    if (typeof refreshToken !== "string")
      throw new ParseError("getUserAccessToken answered without a usable `refreshToken`", site, 200);
    redactor.add(accessToken);
    redactor.add(refreshToken);
    const corpId = typeof r.corpId === "string" ? r.corpId : undefined;
    const token = { accessToken, refreshToken, expiresAt, corpId };
    obtained.set(token, obtainedAt ?? Date.now());
    return token;
  };
  const userTokens: UserTokens = {
    exchangeCode: (code, call) => userToken({ code }, call),
    refresh: (refreshToken, call) => userToken({ refreshToken }, call),
    session: (given, onRefresh) => {
      const initial = sessionToken(given, onRefresh);
      redactor.add(initial.accessToken);
      redactor.add(initial.refreshToken);
      // The app token's cache: one refresh shared by the callers, the margin capped at half the
      // lifetime, and while an early refresh fails the held token until its real expiry.
      let current = initial;
      const stored = (t: UserToken) => ({
        accessToken: t.accessToken,
        expiresAt: t.expiresAt,
        obtainedAt: obtained.get(t),
      });
      const cache = new TokenCache({
        key: "userToken",
        marginMs: margin,
        initial: { ...stored(initial), obtainedAt: obtained.get(given) },
        inHeader: inHeader(profile),
        fetch: async () => {
          current = await userToken({ refreshToken: current.refreshToken });
          // The new token is good whatever onRefresh does with it: a throw or a rejection (a
          // database refusing the write) is the logger's warning, by its class only (its message
          // may quote the token), never the call's failure nor an unhandled rejection.
          const saved = current;
          new Promise((resolve) => resolve(onRefresh?.(saved))).catch((error: unknown) => {
            let named: string = typeof error;
            try {
              if (error instanceof Error) named = String(error.name);
            } catch {
              // A name that throws when read: its type says enough.
            }
            const warning = `userTokens.session: onRefresh failed (${named}); the new token is used, but was not saved`;
            emit(
              logger,
              warningEvent(profile.api, "getUserAccessToken", operations.getUserAccessToken, warning),
            );
          });
          return stored(current);
        },
      });
      // The cache itself to the engine (TOKEN_SOURCE), which bounds its waits by the call's.
      return Object.assign(() => cache.get(), {
        replace: (refused: string) => cache.replace(refused),
        [TOKEN_SOURCE]: cache,
      });
    },
  };
  return Object.assign(client, { userTokens });
}
