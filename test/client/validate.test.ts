import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import { validateOptions } from "../../src/core/validate.js";

/** The ConfigError `validateOptions` throws for `options` (fails the test if it throws none). */
function refusal(options: unknown): ConfigError {
  try {
    validateOptions(options as never);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe("validateOptions", () => {
  it("normalises baseUrl: trailing slashes dropped, host lower-cased, default port dropped", () => {
    expect(validateOptions({ baseUrl: "https://API.Example.com:443/base//" }).baseUrl).toBe(
      "https://api.example.com/base",
    );
    expect(validateOptions({ baseUrl: "http://127.0.0.1:8080/" }).baseUrl).toBe("http://127.0.0.1:8080");
  });

  it("passes other options through, and good values unchanged", () => {
    const fetch = globalThis.fetch;
    const good = {
      timeout: 2_500,
      tokenMarginMs: 0,
      maxResponseBytes: 1_048_576,
      retry: { maxAttempts: 3 },
      fetch,
    };
    expect(validateOptions(good)).toEqual(good);
    expect(validateOptions({ retry: false })).toEqual({ retry: false });
    expect(validateOptions({})).toEqual({});
  });

  it.each([
    ["ftp://files.example.com", /baseUrl must use http or https/],
    ["file:///etc/passwd", /baseUrl must use http or https/],
    ["javascript:alert(1)", /baseUrl must use http or https/],
    ["api.example.com", /baseUrl must be an absolute URL/],
    ["https://h.example/?x=1", /baseUrl must not have a query or fragment/],
    ["https://h.example/#top", /baseUrl must not have a query or fragment/],
    ["https://h.example/?", /baseUrl must not have a query or fragment/],
  ])("refuses baseUrl %s", (baseUrl, message) => {
    expect(refusal({ baseUrl }).message).toMatch(message);
  });

  it("refuses a baseUrl with credentials without printing them", () => {
    for (const baseUrl of [
      "https://admin:s3cret-pw-77@h.example",
      "https://token-abc123@h.example/x?access_token=t0k",
    ]) {
      const error = refusal({ baseUrl });
      expect(error.message).toMatch(/baseUrl must not hold credentials/);
      expect(`${error.message} ${error.stack} ${JSON.stringify(error)}`).not.toMatch(/s3cret|token-abc|t0k/);
    }
  });

  it.each([
    ["timeout", { timeout: 0 }],
    ["timeout", { timeout: -1 }],
    ["timeout", { timeout: Number.NaN }],
    ["timeout", { timeout: Number.POSITIVE_INFINITY }],
    ["timeout", { timeout: 2 ** 31 }],
    ["timeout", { timeout: "1000" }],
    ["tokenMarginMs", { tokenMarginMs: -5 }],
    ["tokenMarginMs", { tokenMarginMs: Number.NaN }],
    ["maxResponseBytes", { maxResponseBytes: 0 }],
    ["maxResponseBytes", { maxResponseBytes: 1.5 }],
    ["maxResponseBytes", { maxResponseBytes: 2 ** 31 }],
    ["retry.maxAttempts", { retry: { maxAttempts: 0 } }],
    ["retry.maxAttempts", { retry: { maxAttempts: 2.5 } }],
    ["retry.maxAttempts", { retry: { maxAttempts: Number.POSITIVE_INFINITY } }],
    ["retry.baseDelayMs", { retry: { baseDelayMs: -1 } }],
    ["retry.maxDelayMs", { retry: { maxDelayMs: Number.NaN } }],
    ["retry.maxRetryAfterMs", { retry: { maxRetryAfterMs: 1e20 } }],
    ["retry", { retry: true }],
    ["retry", { retry: null }],
    ["options", null],
  ])("refuses a bad %s and names it (%j)", (name, options) => {
    expect(refusal(options).message.startsWith(`${name} must be`)).toBe(true);
  });
});
