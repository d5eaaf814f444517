/**
 * When to try again, and how long to wait. Pure functions: the table-driven tests feed them
 * statuses, codes and methods.
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

/**
 * DingTalk throttling answers: the gateway refuses these before the API does any work, so a retry
 * is safe for every method. Quota exhaustion (`ApiCountLimitForOrg`) is not here: it lasts a month.
 */
export const DINGTALK_THROTTLE_CODES: ReadonlySet<string> = new Set([
  "Forbidden.AccessDenied.QpsLimitForApi",
  "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
  "Forbidden.AccessDenied.QpsLimitForSuitekeyAndOrgAndApi",
  "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi",
  "Forbidden.AccessDenied.QpmLimitForSuitekeyAndOrgAndApi",
  "system.busy",
  "systemBusy",
]);

/**
 * DingTalk's per-IP flood ban (more than 10 000 calls from one egress IP in 20 s blocks it for about
 * 5 minutes) answers `{status: 1111, wait, source, punish: "deny", uuid}` without a `code`: the
 * error gets this code. Never retried: the ban outlasts any backoff, and calls during it prolong it.
 */
export const DINGTALK_IP_BAN_CODE = "1111";

export type Failure =
  /** The request never left: connection refused, host not found. */
  | { kind: "not-sent" }
  /** The connection failed after the request may have been sent (reset, closed), or it timed out. */
  | { kind: "network" }
  | { kind: "timeout" }
  /** The server answered with an error. */
  | { kind: "answer"; status: number; code?: string | number | undefined };

/** Whether a failure of a call with this method may be retried. */
export function isRetryable(failure: Failure, idempotent: boolean): boolean {
  switch (failure.kind) {
    case "not-sent":
      return true;
    case "network":
    case "timeout":
      return idempotent;
    case "answer": {
      const { status, code } = failure;
      if (code === DINGTALK_IP_BAN_CODE) return false;
      if (typeof code === "string" && DINGTALK_THROTTLE_CODES.has(code)) return true;
      // 429 and 503 say the server refused the request before doing any work.
      if (status === 429 || status === 503) return true;
      // A 502/504 may come after the backend acted: like any other 5xx, only idempotent calls.
      if (status >= 500)
        return idempotent && code !== "parameter.userNotExists" && code !== "parameter.orgNotExists";
      return false;
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

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 && !signal?.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
