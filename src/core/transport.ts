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

/**
 * A header value or status text the platform accepts (`Headers`, `new Response()`): tabs, visible
 * ASCII and Latin-1; no CR, LF or NUL.
 */
export const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export interface WholeRequest {
  url: URL;
  method: string;
  /**
   * Lower-case names to values, already checked and normalised as `Headers` would (the engine
   * does it): a plain record, so that no `Headers` is built per call only to be copied back.
   */
  headers: Readonly<Record<string, string>>;
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
  /**
   * The header lines as received, names and values alternating (node:http's `rawHeaders`). The
   * engine reads a few of them per call; a `Headers` is built from them only when one is needed
   * (an error, `.withResponse()`), with `headersFrom`.
   */
  rawHeaders: readonly string[];
  text: string;
}

export interface WholeReader {
  [readWhole](request: WholeRequest): Promise<WholeAnswer>;
}

export function readerOf(fetch: unknown): WholeReader[typeof readWhole] | undefined {
  const reader = (fetch as Partial<WholeReader> | undefined)?.[readWhole];
  return typeof reader === "function" ? reader.bind(fetch) : undefined;
}

/**
 * One header from raw pairs, read as `Headers.get` reads it: the name matched without regard to
 * case, repeated lines joined with ", ", `null` when absent. `name` must be lower-case.
 */
export function rawHeader(raw: readonly string[], name: string): string | null {
  let value: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length !== name.length || key.toLowerCase() !== name) continue;
    const line = raw[i + 1] as string;
    value = value === null ? line : `${value}, ${line}`;
  }
  return value;
}

/** The `Headers` that raw pairs make, as `fetch` would build them for a `Response`. */
export function headersFrom(raw: readonly string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  return headers;
}

export function timeoutReason(): DOMException {
  return new DOMException("The operation was aborted due to timeout", "TimeoutError");
}

export function isTimeoutReason(error: unknown): boolean {
  return error instanceof DOMException && error.name === "TimeoutError";
}
