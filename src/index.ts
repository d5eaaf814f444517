/** `imspec`: both clients. Import `imspec/dingtalk` or `imspec/workplus` to load only one. */

export {
  AbortError,
  ApiError,
  ConfigError,
  ConnectionError,
  ImspecError,
  ParseError,
  TimeoutError,
} from "./core/errors.js";
export type { LogEvent, Logger, RequestOptions } from "./core/options.js";
export type { StoredToken, TokenStore } from "./core/token.js";
export { createDingTalk, type DingTalk, DingTalkError, type DingTalkOptions } from "./dingtalk/index.js";
export { createWorkPlus, type WorkPlus, WorkPlusError, type WorkPlusOptions } from "./workplus/index.js";
