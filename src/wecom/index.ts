/**
 * `imspec/wecom`: the WeCom (企业微信) contacts API client (qyapi.weixin.qq.com).
 *
 * @example
 * const wc = createWeCom({ corpId: "ww…", corpSecret: process.env.WECOM_SECRET! });
 * const user = await wc.user.getUser({ userid: "zhangsan" });
 */
import {
  type Operations,
  operations,
  profile,
  statusCodes,
  statusMessages,
} from "../../generated/wecom/operations.js";
import type { components, paths } from "../../generated/wecom/schema.js";
import { type Client, createClient } from "../core/client.js";
import { ApiError, type ApiErrorFields, ERROR_CLASS } from "../core/errors.js";
import type { CommonClientOptions } from "../core/options.js";

export * from "../core/public.js";
export type { components, Operations, paths };
export { operations, profile, statusCodes, statusMessages };

/** A WeCom refusal: `errcode` ≠ 0 (usually with HTTP 200), with its `errmsg`. */
export class WeComError extends ApiError {
  static override readonly [ERROR_CLASS]: string = "WeComError";
  override name = "WeComError";
  declare readonly code: number;
  constructor(fields: Omit<ApiErrorFields, "api"> & { api?: string }) {
    super({ ...fields, api: profile.api });
  }
}

export type WeComOptions = CommonClientOptions &
  /** The corp id and the secret of the app (or of the contacts sync "app"). */
  (
    | { corpId: string; corpSecret: string }
    /** A token you manage yourself: used as is. */
    | { accessToken: string }
    /** Your own provider; asked again once if the server says the token is invalid or expired. */
    | { getAccessToken: () => string | Promise<string> }
  );

export type WeCom = Client<Operations, typeof operations>;

export function createWeCom(options: WeComOptions): WeCom {
  return createClient<Operations, typeof operations>({ profile, operations, error: WeComError }, options);
}
