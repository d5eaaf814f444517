import { describe, expect, it } from "vitest";
import { profile } from "../../generated/wecom/operations.js";
import { classify, type Situation } from "../../src/core/engine.js";
import { ApiError, ParseError } from "../../src/core/errors.js";
import { Redactor } from "../../src/core/redact.js";
import { RETRY_DEFAULTS } from "../../src/core/retry.js";

const situation: Situation = {
  op: { method: "GET", path: "/cgi-bin/user/get", idempotent: true, token: "app" },
  attempt: 1,
  retry: { ...RETRY_DEFAULTS, maxAttempts: 1 },
  canReplay: false,
  timeout: 1000,
  maxBytes: 1 << 20,
  random: () => 0,
  baseUrl: "http://127.0.0.1",
};
const answer = (body: string) => ({ status: 200, statusText: "OK", headers: {}, body });
const verdictOf = (body: string) =>
  classify({ answer: answer(body) }, profile, situation, new Redactor(), ApiError);

describe("an envelope whose status is optional (WeCom's errcode)", () => {
  it("a body without the status field, or with the success status, is data", () => {
    expect(verdictOf('{"userid":"a"}').kind).toBe("data");
    expect(verdictOf('{"errcode":0,"userid":"a"}').kind).toBe("data");
  });

  for (const body of [
    '{"errcode":"oops"}',
    '{"errcode":40014.5}',
    '{"errcode":null}',
    '{"errcode":true}',
    "[60111]",
    "[1,2]",
  ]) {
    it(`${body}: a status of the wrong type, or no object, is a ParseError, not data`, () => {
      const verdict = verdictOf(body);
      expect(verdict.kind).toBe("error");
      expect((verdict as { error: unknown }).error).toBeInstanceOf(ParseError);
    });
  }

  for (const body of [
    `{"errcode":${"9".repeat(400)}}`,
    '{"errcode":"99999999999999999999"}',
    '{"errcode":12345678901234567890}',
  ]) {
    it(`${body.slice(0, 40)}: a status beyond 2^53 (rounded, or Infinity) is a ParseError, not a code`, () => {
      const verdict = verdictOf(body);
      expect(verdict.kind).toBe("error");
      expect((verdict as { error: unknown }).error).toBeInstanceOf(ParseError);
    });
  }

  it("an empty body is said to be empty, a ParseError", () => {
    const verdict = verdictOf("");
    expect(verdict.kind).toBe("error");
    const error = (verdict as { error: Error }).error;
    expect(error).toBeInstanceOf(ParseError);
    expect(error.message).toMatch(/the body is empty, where the `errcode` envelope was expected/);
  });
});
