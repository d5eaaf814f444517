import { describe, expect, it } from "vitest";
import { profile } from "../../generated/dingtalk/operations.js";
import { classify, type Situation } from "../../src/core/engine.js";
import { ApiError, TimeoutError } from "../../src/core/errors.js";
import { Redactor } from "../../src/core/redact.js";
import {
  backoffMs,
  type Failure,
  isRetryable,
  RETRY_DEFAULTS,
  retryAfterMs,
  retryDelay,
} from "../../src/core/retry.js";
import { TransportFailure } from "../../src/core/transport.js";
import { MAX_WAIT_MS } from "../../src/core/validate.js";

describe("isRetryable", () => {
  const cases: Array<[string, Failure, boolean, boolean]> = [
    // [case, failure, idempotent method?, retried?]
    ["refused before sending, POST", { kind: "not-sent" }, false, true],
    ["reset after sending, GET", { kind: "network" }, true, true],
    ["reset after sending, POST", { kind: "network" }, false, false],
    ["timeout, GET", { kind: "timeout" }, true, true],
    ["timeout, POST", { kind: "timeout" }, false, false],
    ["429, POST", { kind: "answer", status: 429, code: "system.busy" }, false, true],
    ["503, POST", { kind: "answer", status: 503 }, false, true],
    ["502, GET", { kind: "answer", status: 502 }, true, true],
    ["502, POST", { kind: "answer", status: 502 }, false, false],
    ["504, GET", { kind: "answer", status: 504 }, true, true],
    ["500 system.error, GET", { kind: "answer", status: 500, code: "system.error" }, true, true],
    ["500 system.error, POST", { kind: "answer", status: 500, code: "system.error" }, false, false],
    [
      "500 user does not exist, GET",
      { kind: "answer", status: 500, code: "parameter.userNotExists" },
      true,
      false,
    ],
    [
      "403 QpsLimitForApi, POST",
      { kind: "answer", status: 403, code: "Forbidden.AccessDenied.QpsLimitForApi" },
      false,
      true,
    ],
    [
      "403 QpsLimitForAppkeyAndApi, POST",
      { kind: "answer", status: 403, code: "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi" },
      false,
      true,
    ],
    [
      "403 QpmLimitForAppkeyAndApi, POST",
      { kind: "answer", status: 403, code: "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi" },
      false,
      true,
    ],
    ["500 system.busy, POST", { kind: "answer", status: 500, code: "system.busy" }, false, true],
    [
      "403 monthly quota, GET",
      { kind: "answer", status: 403, code: "Forbidden.AccessDenied.ApiCountLimitForOrg" },
      true,
      false,
    ],
    [
      "403 permission denied, GET",
      { kind: "answer", status: 403, code: "Forbidden.AccessDenied.AccessTokenPermissionDenied" },
      true,
      false,
    ],
    ["400 parameter.error, GET", { kind: "answer", status: 400, code: "parameter.error" }, true, false],
    ["404, GET", { kind: "answer", status: 404 }, true, false],
    ["WorkPlus 202102 in HTTP 200, GET", { kind: "answer", status: 200, code: 202102 }, true, false],
  ];
  it.each(cases)("%s", (_name, failure, idempotent, retried) => {
    // The throttling and never-retry codes are DingTalk's, read from its spec.
    expect(isRetryable(failure, idempotent, profile.errors)).toBe(retried);
  });
});

describe("backoffMs", () => {
  it("is full jitter under an exponential ceiling, capped", () => {
    const top = () => 0.999_999;
    expect([1, 2, 3, 4].map((n) => backoffMs(n, RETRY_DEFAULTS, top))).toEqual([249, 499, 999, 1999]);
    expect(backoffMs(20, RETRY_DEFAULTS, top)).toBe(RETRY_DEFAULTS.maxDelayMs - 1);
    expect(backoffMs(3, RETRY_DEFAULTS, () => 0)).toBe(0);
  });
});

describe("retryAfterMs", () => {
  const now = Date.parse("2026-11-22T00:00:00Z");
  it.each([
    ["2", 2000],
    ["0.5", 500],
    ["Sun, 22 Nov 2026 00:00:03 GMT", 3000],
    ["Sat, 21 Nov 2026 00:00:00 GMT", 0],
    ["soon", undefined],
    [null, undefined],
  ] as Array<[string | null, number | undefined]>)("%s → %s", (header, want) => {
    expect(retryAfterMs(header, now)).toBe(want);
  });
});

describe("retryDelay", () => {
  const at = (n: number) => () => n;
  it("honours a positive Retry-After with jitter on top, so throttled callers do not retry in lockstep", () => {
    expect(retryDelay(1, RETRY_DEFAULTS, "2", at(0))).toBe(2000);
    expect(retryDelay(1, RETRY_DEFAULTS, "2", at(0.5))).toBe(2125);
    const spread = new Set(
      Array.from({ length: 50 }, (_, i) => retryDelay(1, RETRY_DEFAULTS, "1", at(i / 50))),
    );
    expect(spread.size).toBeGreaterThan(40);
  });
  it("falls back to jittered backoff for Retry-After 0, a past date or nonsense", () => {
    for (const header of ["0", "Sat, 01 Jan 2000 00:00:00 GMT", "soon", null])
      expect(retryDelay(2, RETRY_DEFAULTS, header, at(0.5)), String(header)).toBe(250);
  });
  it("gives up past maxAttempts or a Retry-After over maxRetryAfterMs", () => {
    expect(retryDelay(3, RETRY_DEFAULTS, null, at(0.5))).toBeUndefined();
    expect(retryDelay(1, RETRY_DEFAULTS, "61", at(0.5))).toBeUndefined();
  });
  it("never asks for a wait longer than a timer honours, jitter included", () => {
    const longest = { ...RETRY_DEFAULTS, maxRetryAfterMs: MAX_WAIT_MS };
    expect(retryDelay(1, longest, String((MAX_WAIT_MS - 1) / 1000), at(0.999))).toBe(MAX_WAIT_MS);
  });
});

describe("classify: an attempt that ended without an answer", () => {
  const post = {
    method: "POST",
    path: "/v1.0/contact/seniorSettings",
    idempotent: false,
    token: "app",
  } as const;
  const situation = (attempt: number): Situation => ({
    op: post,
    attempt,
    retry: { ...RETRY_DEFAULTS, maxAttempts: 3 },
    canReplay: true,
    timeout: 100,
    maxBytes: 1 << 20,
    random: () => 0,
    baseUrl: "http://127.0.0.1",
  });
  const verdict = (failure: unknown, attempt = 1) =>
    classify({ failure }, profile, situation(attempt), new Redactor(), ApiError);
  const waited = (what: string) => new TimeoutError(100, post, `waited for ${what}`, true);

  it.each(["its token", "its rate budget"])(
    "a wait for %s that ran out: retried, even a POST (nothing was sent)",
    (what) => {
      const v = verdict(waited(what));
      expect(v).toMatchObject({ kind: "retry", error: { name: "TimeoutError", beforeSend: true } });
      expect(verdict(waited(what), 3)).toMatchObject({ kind: "error", error: { beforeSend: true } });
    },
  );

  it("an exchange that timed out: a POST is not retried (it may have reached the server)", () => {
    expect(verdict(new TransportFailure("timeout"))).toMatchObject({
      kind: "error",
      error: { name: "TimeoutError", beforeSend: false },
    });
  });
});
