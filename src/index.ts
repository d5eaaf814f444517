/**
 * `imspec`: the API-neutral core: `createClient` (a client for any API generated from a spec), the
 * error classes, transports and types. Each API's client is its own entry point: `imspec/<api>`.
 */
export * from "./core/public.js";
