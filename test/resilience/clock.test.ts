/**
 * A call's timeout is measured on a monotonic clock: the wall clock stepped back or forward while a
 * call waits for its token (NTP, a VM resumed) neither lengthens the call nor starves its request.
 */
import { createDingTalk, TimeoutError } from "imspec/dingtalk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { delay, json, ScriptedServer } from "../support/scripted-server.js";

const SETTINGS = "/v1.0/contact/seniorSettings";
let server: ScriptedServer;
const realNow = Date.now;

beforeEach(async () => {
  server = await new ScriptedServer().start();
  // The token comes after 300 ms; the clock is stepped while the call waits for it.
  server.on("POST", "/v1.0/oauth2/accessToken", async (_req, res) => {
    await delay(300);
    json(res, 200, { accessToken: "tok-clock-0001", expireIn: 7200 });
  });
});
afterEach(async () => {
  Date.now = realNow;
  await server.stop();
});

const client = () =>
  createDingTalk({
    appKey: "ding-app",
    appSecret: "s3cret-app",
    baseUrl: server.url,
    rateLimit: false,
    retry: false,
  });

/** Steps the wall clock by `ms` after `after` ms. */
function stepClock(ms: number, after: number): void {
  setTimeout(() => {
    Date.now = () => realNow() + ms;
  }, after);
}

describe("a wall clock stepped during a call", () => {
  it("set back 10 s: the call still ends at its 1 s timeout", async () => {
    server.on("GET", SETTINGS, () => {}); // never answers
    stepClock(-10_000, 150);
    const started = performance.now();
    const error = await client()
      .contact.listSeniorSettings({ seniorStaffId: "1" }, { timeout: 1_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it("set forward 5 s: the request still gets what is left of its timeout", async () => {
    server.on("GET", SETTINGS, async (_req, res) => {
      await delay(200);
      json(res, 200, { seniorStaffId: "1", protectScenes: [], seniorWhiteList: [] });
    });
    stepClock(5_000, 150);
    await expect(
      client().contact.listSeniorSettings({ seniorStaffId: "1" }, { timeout: 1_500 }),
    ).resolves.toMatchObject({ seniorStaffId: "1" });
  });
});

describe("the longest timeout, after a wait for the rate budget", () => {
  it("stays within what a timer holds: no call times out at once, no overflow warning", async () => {
    server.on("GET", SETTINGS, (_req, res) =>
      json(res, 200, { seniorStaffId: "1", protectScenes: [], seniorWhiteList: [] }),
    );
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      // A token at hand: all of a call's time before it is sent is its wait for the budget.
      const dt = createDingTalk({
        accessToken: "tok-clock-0001",
        baseUrl: server.url,
        retry: false,
        timeout: 2 ** 31 - 1,
        rateLimit: { "app-operation": { calls: 10, seconds: 0.1 } },
      });
      const calls = Array.from({ length: 100 }, () => dt.contact.listSeniorSettings({ seniorStaffId: "1" }));
      const settled = await Promise.allSettled(calls);
      expect(settled.filter((s) => s.status === "rejected")).toEqual([]);
      expect(warnings.filter((w) => w.name === "TimeoutOverflowWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });
});
