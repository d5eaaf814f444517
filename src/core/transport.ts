/**
 * A shorter way from a request to its answer than `fetch` + `response.text()`, for fetch functions
 * that offer one (`createNodeFetch()` does). The engine reads every answer whole before it parses
 * it, so a `ReadableStream` and a `Response` per call would only be taken apart again; a fetch
 * function with this symbol-keyed entry hands over the status, headers and text directly. The
 * `Response` a caller may ask for (`.withResponse()`) is built from them on first use.
 *
 * The key is a registered symbol (`Symbol.for`), so the ESM and CommonJS builds of this package
 * recognise each other's fetch functions. No Node built-ins here: the clients import this module.
 */
export const readWhole: unique symbol = Symbol.for("imspec.readWhole") as never;

export interface WholeRequest {
  url: URL;
  method: string;
  headers: Headers;
  body: string | undefined;
  /** Rejects with `signal.reason` once aborted, as `fetch` does. */
  signal: AbortSignal | undefined;
  /**
   * Per-attempt timeout in ms, from the call until the body's end. When it elapses the request is
   * destroyed and the promise rejects with a `TimeoutError` DOMException (`isTimeoutReason`), as
   * `fetch` would with `AbortSignal.timeout(ms)` as its signal.
   */
  timeout: number;
}

/** An answer whose body has been read and decoded as `response.text()` would. */
export interface WholeAnswer {
  status: number;
  statusText: string;
  headers: Headers;
  text: string;
}

export interface WholeReader {
  [readWhole](request: WholeRequest): Promise<WholeAnswer>;
}

export function readerOf(fetch: unknown): WholeReader[typeof readWhole] | undefined {
  const reader = (fetch as Partial<WholeReader> | undefined)?.[readWhole];
  return typeof reader === "function" ? reader.bind(fetch) : undefined;
}

export function timeoutReason(): DOMException {
  return new DOMException("The operation was aborted due to timeout", "TimeoutError");
}

export function isTimeoutReason(error: unknown): boolean {
  return error instanceof DOMException && error.name === "TimeoutError";
}
