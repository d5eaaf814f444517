/**
 * `imspec/workplus`: the WorkPlus (BeeWorks since 2025) open API client, for self-hosted deployments.
 *
 * @example
 * const wp = createWorkPlus({ baseUrl: "https://im.example.cn", domainId: "atwork", clientId, clientSecret, orgId });
 * const { records } = await wp.apps.listAdmins({ appId });
 */
import type { Client } from "openapi-fetch";
import {
  auth,
  envelope,
  type Operations,
  operations,
  statusCodes,
  statusMessages,
} from "../../generated/workplus/operations.js";
import type { components, paths } from "../../generated/workplus/schema.js";
import { createCore } from "../core/client.js";
import type { ApiProfile, TokenSource } from "../core/engine.js";
import { ConfigError, ParseError } from "../core/errors.js";
import type { MethodGroups } from "../core/methods.js";
import type { CommonClientOptions } from "../core/options.js";
import { Redactor } from "../core/redact.js";
import { TokenCache } from "../core/token.js";

export { APIPromise, type WithResponse } from "../core/api-promise.js";
export {
  AbortError,
  ApiError,
  ConfigError,
  ConnectionError,
  ImspecError,
  ParseError,
  TimeoutError,
  WorkPlusError,
} from "../core/errors.js";
export type { LogEvent, Logger, RequestOptions } from "../core/options.js";
export type { RetryOptions } from "../core/retry.js";
export { MemoryTokenStore, type StoredToken, type TokenStore } from "../core/token.js";
export type { components, Operations, paths };
export { operations, statusCodes, statusMessages };

export type SourceType = "NATIVE" | "ISV";

/** App credentials from the admin console. Give `orgId` for an org app, `ownerId` (= domainId) for a domain app. */
export type WorkPlusCredentials = {
  domainId: string;
  clientId: string;
  clientSecret: string;
} & ({ orgId: string; ownerId?: undefined } | { ownerId: string; orgId?: undefined });

export type WorkPlusOptions = CommonClientOptions & {
  /** The deployment's API root, e.g. `https://im.example.cn` (self-hosted: there is no public default). */
  baseUrl: string;
  /** Sent as `source_type` on the operations that take it, unless a call passes its own. Default NATIVE (server side). */
  sourceType?: SourceType | undefined;
} & (
    | WorkPlusCredentials
    /** A token you manage yourself: used as is. */
    | { accessToken: string }
    /** Your own provider; asked again once if the server answers 10011. */
    | { getAccessToken: () => string | Promise<string> }
  );

export interface WorkPlus extends MethodGroups<Operations, typeof operations> {
  /** The typed openapi-fetch client, with the same auth, retries and typed errors (bodies stay enveloped). */
  readonly raw: Client<paths>;
  readonly appToken: { get(): Promise<string>; clear(): Promise<void> };
}

/** WorkPlus says 10011 "token not found." for a token that expired or was replaced by a newer one. */
export function isWorkPlusTokenRejected(status: number, body: unknown): boolean {
  const value =
    body && typeof body === "object" ? (body as Record<string, unknown>)[envelope.statusField] : undefined;
  return Number(value) === statusCodes.TOKEN_NOT_FOUND || status === 401;
}

const profile: ApiProfile = { api: "workplus", auth, envelope, tokenRejected: isWorkPlusTokenRejected };

/** WorkPlus tokens live ~30 days; refresh a little earlier than the server would expire them. */
const DEFAULT_MARGIN_MS = 10 * 60_000;

function epochMs(value: unknown): number | undefined {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^\d+$/.test(value)
        ? Number(value)
        : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

export function createWorkPlus(options: WorkPlusOptions): WorkPlus {
  if (!options?.baseUrl)
    throw new ConfigError("createWorkPlus: baseUrl is required (WorkPlus is self-hosted)");
  const redactor = new Redactor();
  for (const key of ["clientSecret", "accessToken"]) {
    const value = (options as unknown as Record<string, unknown>)[key];
    if (typeof value === "string") redactor.pin(value);
  }
  let appToken: TokenSource | undefined;
  const sourceType = options.sourceType;
  const core = createCore<paths, Operations, typeof operations>(operations, profile, options.baseUrl, {
    ...options,
    redactor,
    appToken: () => appToken,
  });
  // A client-wide source_type: added to every operation that declares the parameter, unless given.
  const methods = sourceType ? withDefaultParam(core.methods, "source_type", sourceType) : core.methods;

  let cache: TokenCache | undefined;
  if ("clientId" in options && options.clientId !== undefined) {
    const { domainId, clientId, clientSecret, orgId, ownerId } = options;
    if (!domainId || !clientSecret || (!orgId && !ownerId)) {
      throw new ConfigError(
        "createWorkPlus: domainId, clientId, clientSecret and one of orgId / ownerId are required",
      );
    }
    cache = new TokenCache({
      key: `workplus:${options.baseUrl}:${domainId}:${clientId}:${orgId ?? ownerId}`,
      store: options.tokenStore,
      marginMs: options.tokenMarginMs ?? DEFAULT_MARGIN_MS,
      onToken: (t) => redactor.add(t),
      fetch: async () => {
        const r = await core.methods.auth.getAccessToken({
          grant_type: "client_credentials",
          scope: "app",
          domain_id: domainId,
          client_id: clientId,
          client_secret: clientSecret,
          ...(orgId ? { org_id: orgId } : { owner_id: ownerId as string }),
        });
        const token: unknown = r?.access_token;
        if (typeof token !== "string" || token.length === 0) {
          throw new ParseError(
            "getAccessToken answered without an access_token",
            { operationId: "getAccessToken" },
            200,
          );
        }
        const expiresAt = epochMs(r.expire_time) ?? Date.now() + 24 * 3600_000;
        return { accessToken: token, expiresAt };
      },
    });
    const c = cache;
    appToken = { get: () => c.get(), replace: (rejected) => c.replace(rejected) };
  } else if ("accessToken" in options && options.accessToken) {
    const token = options.accessToken;
    appToken = { get: async () => token };
  } else if ("getAccessToken" in options && options.getAccessToken) {
    const provider = options.getAccessToken;
    appToken = { get: async () => provider(), replace: async () => provider() };
  }

  return {
    ...methods,
    raw: core.raw,
    appToken: {
      get: () =>
        appToken ? appToken.get() : Promise.reject(new ConfigError("This client has no app token source")),
      clear: async () => {
        await cache?.clear();
      },
    },
  };
}

function withDefaultParam<G extends object>(groups: G, name: string, value: unknown): G {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [tag, group] of Object.entries(groups)) {
    out[tag] = {};
    for (const [id, method] of Object.entries(group as Record<string, (...a: unknown[]) => unknown>)) {
      const row = (operations as Record<string, { params: Record<string, string> }>)[id];
      if (!row || !Object.hasOwn(row.params, name)) {
        (out[tag] as Record<string, unknown>)[id] = method;
        continue;
      }
      const wrapped = (params: Record<string, unknown> = {}, o?: unknown) =>
        method(params[name] === undefined ? { ...params, [name]: value } : params, o);
      (out[tag] as Record<string, unknown>)[id] = Object.assign(wrapped, method);
    }
  }
  return out as G;
}
