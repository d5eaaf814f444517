import { onAbort } from "./transport.js";
import { MAX_WAIT_MS } from "./validate.js";

/**
 * When to try again, and how long to wait. Pure functions: the table-driven tests feed them
 * statuses, codes and methods. Which codes mean "throttled" or "never retry" is the API's fact,
 * read from its spec (`x-imspec-errors`).
 */

export interface RetryOptions {
  /** Attempts in all, the first included. Default 3; 1 turns retries off. */
  maxAttempts?: number;
  /** Backoff base in ms: attempt n waits a random time in [0, min(maxDelayMs, baseDelayMs·2^(n-1))]. Default 250. */
  baseDelayMs?: number;
  /** Cap of one backoff wait in ms. Default 8000. */
  maxDelayMs?: number;
  /** A `Retry-After` longer than this (ms) is not waited for: the error is thrown instead. Default 60000. */
  maxRetryAfterMs?: number;
}

export const RETRY_DEFAULTS: Required<RetryOptions> = {
  maxAttempts: 3,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

/** The API's codes that change the rule (generated `profile.errors`). */
export interface RetryCodes {
  readonly throttled: readonly string[];
  readonly neverRetry: readonly string[];
}

const NONE: RetryCodes = { throttled: [], neverRetry: [] };

/** Whether `code` is one of `patterns` (a trailing `*` matches any code with that prefix). */
export function matches(code: unknown, patterns: readonly string[]): boolean {
  if (code === undefined || code === null) return false;
  const text = String(code);
  return patterns.some((p) => (p.endsWith("*") ? text.startsWith(p.slice(0, -1)) : text === p));
}

export type Failure =
  /** The request never left: connection refused, host not found. */
  | { kind: "not-sent" }
  /** The connection failed after the request may have been sent (reset, closed), or it timed out. */
  | { kind: "network" }
  | { kind: "timeout" }
  /** The server answered with an error. */
  | { kind: "answer"; status: number; code?: string | number | undefined };

/** Whether a failure of a call with this method may be retried. */
export function isRetryable(failure: Failure, idempotent: boolean, codes: RetryCodes = NONE): boolean {
  switch (failure.kind) {
    case "not-sent":
      return true;
    case "network":
    case "timeout":
      return idempotent;
    case "answer": {
      const { status, code } = failure;
      if (matches(code, codes.neverRetry)) return false;
      if (matches(code, codes.throttled)) return true;
      // 429 and 503 say the server refused the request before doing any work.
      if (status === 429 || status === 503) return true;
      // A 502/504 may come after the backend acted: like any other 5xx, only idempotent calls.
      return status >= 500 && idempotent;
    }
  }
}

/** Full-jitter exponential backoff (attempt counts from 1 for the first retry). */
export function backoffMs(
  attempt: number,
  options: Required<RetryOptions>,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** `Retry-After` as ms: delta-seconds or an HTTP date; `undefined` when absent or unreadable. */
export function retryAfterMs(
  header: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * How long to wait before attempt `attempt + 1`, or `undefined` to give up. A positive
 * `Retry-After` is honoured with jitter on top (so a thousand throttled callers do not come back
 * in lockstep); `0`, a past date or an unreadable value fall back to jittered backoff.
 */
export function retryDelay(
  attempt: number,
  options: Required<RetryOptions>,
  retryAfter: string | null | undefined,
  random: () => number = Math.random,
): number | undefined {
  if (attempt >= options.maxAttempts) return undefined;
  const asked = retryAfterMs(retryAfter);
  if (asked === undefined || asked === 0) return backoffMs(attempt, options, random);
  if (asked > options.maxRetryAfterMs) return undefined;
  // Never past the longest wait a timer honours: a longer one would fire at once.
  return Math.min(asked + Math.floor(random() * Math.min(asked, options.baseDelayMs)), MAX_WAIT_MS);
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const off =
      signal &&
      onAbort(signal, () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    const timer = setTimeout(() => {
      off?.();
      resolve();
    }, ms);
  });
}
