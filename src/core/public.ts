/** What every API entry point (`imspec/<api>`) and `imspec` itself export besides the API's own. */
export { APIPromise, type WithResponse } from "./api-promise.js";
export {
  type ApiDefinition,
  type ApiProfile,
  type AppToken,
  type Client,
  type ClientOptions,
  createClient,
} from "./client.js";
export type { Profile } from "./engine.js";
export {
  AbortError,
  ApiError,
  type ApiErrorFields,
  ConfigError,
  ConnectionError,
  ERROR_CLASS,
  ImspecError,
  PaginationError,
  ParseError,
  ResponseTooLargeError,
  TimeoutError,
} from "./errors.js";
export type { Budget, LimiterStore } from "./limiter.js";
export type { PageOptions } from "./methods.js";
export type {
  AccessTokenInput,
  LogEvent,
  Logger,
  RateLimitOverrides,
  RenewableToken,
  RequestOptions,
} from "./options.js";
export type { RetryOptions } from "./retry.js";
export { MemoryTokenStore, type StoredToken, type TokenStore } from "./token.js";
export {
  fetchTransport,
  type Transport,
  type TransportRequest,
  type TransportResponse,
} from "./transport.js";
