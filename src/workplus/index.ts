/**
 * `imspec/workplus`: the WorkPlus (BeeWorks since 2025) open API client, for self-hosted deployments.
 *
 * @example
 * const wp = createWorkPlus({ baseUrl: "https://im.example.cn", domainId: "atwork", clientId, clientSecret, orgId });
 * const { records } = await wp.apps.listAdmins({ appId });
 */
import {
  type Operations,
  operations,
  profile,
  statusCodes,
  statusMessages,
} from "../../generated/workplus/operations.js";
import type { components, paths } from "../../generated/workplus/schema.js";
import { type Client, type ClientOptions, createClient } from "../core/client.js";
import { ApiError, type ApiErrorFields, ConfigError, ERROR_CLASS } from "../core/errors.js";
import type { CommonClientOptions } from "../core/options.js";
import { isRecord, readOptions } from "../core/validate.js";

export * from "../core/public.js";
export type { components, Operations, paths };
export { operations, profile, statusCodes, statusMessages };

/** A WorkPlus refusal: the envelope's `status` (e.g. 10011), or the HTTP status when the body had none. */
export class WorkPlusError extends ApiError {
  static override readonly [ERROR_CLASS]: string = "WorkPlusError";
  override name = "WorkPlusError";
  declare readonly code: number;
  constructor(fields: Omit<ApiErrorFields, "api"> & { api?: string }) {
    super({ ...fields, api: profile.api });
  }
}

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

export type WorkPlus = Client<Operations, typeof operations>;

export function createWorkPlus(given: WorkPlusOptions): WorkPlus {
  const options = readOptions("createWorkPlus: options", given);
  if (!options.baseUrl)
    throw new ConfigError("createWorkPlus: baseUrl is required (WorkPlus is self-hosted)");
  const o = options as ClientOptions & Partial<WorkPlusCredentials>;
  if (o.clientId !== undefined && !o.orgId && !o.ownerId)
    throw new ConfigError("createWorkPlus: one of orgId / ownerId is required with clientId");
  // WorkPlus tokens live ~30 days: refresh a little earlier than the server would expire them.
  const client = createClient<Operations, typeof operations>(
    { profile, operations, error: WorkPlusError, tokenMarginMs: 600_000 },
    o,
  );
  const { sourceType } = options;
  if (!sourceType) return client;
  // A client-wide source_type: added to every operation that declares the parameter, unless given.
  for (const [id, row] of Object.entries(operations)) {
    if (!("source_type" in row.params)) continue;
    const group =
      (client as unknown as Record<string, Record<string, (p?: object, c?: object) => unknown>>)[row.tag] ??
      {};
    const method = group[id] as (p?: object, c?: object) => unknown;
    group[id] = Object.assign(
      // Params that are not an object, or that cannot be read, are left to the method, which
      // refuses them as a rejection.
      (p?: { source_type?: string } | null, c?: object) => {
        let given = p as object | undefined;
        try {
          if (p == null || (isRecord(p) && p.source_type === undefined))
            given = { ...p, source_type: sourceType };
        } catch {
          // Given as it is: the method reads the getter that threw again, and says so.
        }
        return method(given, c);
      },
      method,
    );
  }
  return client;
}
