/**
 * The token cache under stress, against a real loopback token endpoint: bursts of refusals, a token
 * endpoint that fails during an early refresh, expiries that make no sense, callers that give up.
 * Every wait is bounded by `settle`; a call still running at its bound fails the test.
 */
import { createDingTalk } from "imspec/dingtalk";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ImspecError } from "../../src/core/errors.js";
import { MemoryTokenStore, type StoredToken, TokenCache, type TokenStore } from "../../src/core/token.js";
import { delay, json, ScriptedServer } from "../support/scripted-server.js";
import { collectUnhandledRejections } from "../support/unhandled.js";
import { settler } from "./secrets.js";

const BOUND_MS = 3_000;
const thrown: unknown[] = [];
const settle = settler(BOUND_MS, thrown);

let server: ScriptedServer;
/** What the token endpoint answers next: a token and its `expiresAt`, or a failure status. */
let answer: { status: number; token?: string; expiresAt?: unknown; delayMs?: number };

beforeEach(async () => {
  answer = { status: 200, token: "tok-same", expiresAt: Date.now() + 3_600_000 };
  server = await new ScriptedServer().start();
  server.on("POST", "/token", async (_req, res) => {
    if (answer.delayMs) await delay(answer.delayMs);
    if (answer.status !== 200) return json(res, answer.status, { message: "token endpoint down" });
    json(res, 200, { accessToken: answer.token, expiresAt: answer.expiresAt });
  });
});
afterEach(async () => {
  await server.stop();
});

const tokenRequests = () => server.count("POST", "/token");

/** The token request the client would make: a real HTTP round trip to the loopback server. */
async function fetchToken(): Promise<StoredToken> {
  const res = await fetch(`${server.url}/token`, { method: "POST" });
  const body = (await res.json()) as { accessToken: string; expiresAt: number; message?: string };
  if (!res.ok) throw new ImspecError(`token request failed: ${res.status}`);
  return { accessToken: body.accessToken, expiresAt: body.expiresAt };
}

function cache(extra: Partial<ConstructorParameters<typeof TokenCache>[0]> = {}) {
  return new TokenCache({ key: "app", marginMs: 60_000, fetch: fetchToken, ...extra });
}

describe("TokenCache: a burst of refusals", () => {
  it("20 concurrent replace() of one refused token make one token request, even when the same token comes back", async () => {
    const c = cache();
    expect((await settle(c.get())).data).toBe("tok-same");
    const replaced = await settle(Promise.all(Array.from({ length: 20 }, () => c.replace("tok-same"))));
    // The server handed the refused token back: every caller gets it (the engine then throws after its
    // one replay) and the cache made one request for all of them, not one per caller in sequence.
    expect(replaced.data).toEqual(Array(20).fill("tok-same"));
    expect(tokenRequests()).toBe(2);
    // A second burst of the same refusal moments later: the server's answer is known, no request at all.
    await settle(Promise.all(Array.from({ length: 20 }, () => c.replace("tok-same"))));
    expect(tokenRequests()).toBe(2);
  });

  it("a refusal during a refresh that brings the refused token again is answered by one more request", async () => {
    const store = new MemoryTokenStore();
    await store.set("app", { accessToken: "tok-stale", expiresAt: Date.now() + 3_600_000 });
    const c = cache({ store });
    answer = { status: 200, token: "tok-new", expiresAt: Date.now() + 3_600_000, delayMs: 30 };
    const reads = Array.from({ length: 10 }, () => c.get());
    const replaced = await settle(Promise.all(Array.from({ length: 10 }, () => c.replace("tok-stale"))));
    expect(await Promise.all(reads)).toEqual(Array(10).fill("tok-stale"));
    expect(replaced.data).toEqual(Array(10).fill("tok-new"));
    expect(tokenRequests()).toBe(1);
  });
});

describe("TokenCache: an early refresh that fails", () => {
  it("keeps the cached token until its real expiry, and retries later rather than per call", async () => {
    let clock = Date.now();
    answer.expiresAt = clock + 120_000;
    const c = cache({ now: () => clock });
    expect(await c.get()).toBe("tok-same");
    clock += 90_000; // inside the 60 s margin, 30 s before the real expiry
    answer = { status: 503 };
    const burst = await settle(Promise.all(Array.from({ length: 50 }, () => c.get())));
    expect(burst.data).toEqual(Array(50).fill("tok-same"));
    expect(tokenRequests()).toBe(2); // the first fetch and one early refresh, not 50
    clock += 6_000; // later: one more attempt
    expect(await c.get()).toBe("tok-same");
    expect(tokenRequests()).toBe(3);
    clock += 30_000; // past the real expiry: the failure reaches the caller
    expect((await settle(c.get())).error).toBeInstanceOf(ImspecError);
    answer = { status: 200, token: "tok-next", expiresAt: clock + 120_000 };
    expect(await c.get()).toBe("tok-next");
  });
});

describe("TokenCache: expiries that make no sense", () => {
  const now = Date.now();
  const cases: Array<[string, unknown]> = [
    ["0", 0],
    ["negative", -5],
    ["NaN (null on the wire)", null],
    ["a string", "soon"],
    ["a numeric string in the past", "7200"],
    ["epoch seconds", Math.floor(now / 1000) + 7200],
    ["absurdly large", 1e300],
  ];
  it.each(cases)("%s: clamped, reported once, one token request for 100 calls", async (_name, expiresAt) => {
    answer.expiresAt = expiresAt;
    const warnings: string[] = [];
    const c = cache({ marginMs: 1_000, onWarning: (m) => warnings.push(m) });
    for (let i = 0; i < 100; i++) expect(await c.get()).toBe("tok-same");
    expect(tokenRequests()).toBe(1);
    if (expiresAt === Math.floor(now / 1000) + 7200) expect(warnings).toEqual([]);
    else expect(warnings).toHaveLength(1);
    expect(warnings.join()).not.toContain("tok-same");
  });

  it("a warning callback that throws or rejects is ignored", async () => {
    answer.expiresAt = 0;
    const unhandled = collectUnhandledRejections();
    try {
      let calls = 0;
      const throwing = cache({
        onWarning: () => {
          calls++;
          throw new Error("logger broke");
        },
      });
      expect(await throwing.get()).toBe("tok-same");
      const rejecting = cache({
        key: "other",
        onWarning: async () => Promise.reject(new Error(`${++calls}`)),
      });
      expect(await rejecting.get()).toBe("tok-same");
      await delay(20);
      expect(calls).toBe(2);
      expect(unhandled.reasons).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });
});

describe("TokenCache: each caller's bound", () => {
  it("an aborted waiter rejects at once with the signal's reason; the shared refresh goes on for the others", async () => {
    answer.delayMs = 400;
    const c = cache();
    const controller = new AbortController();
    const started = performance.now();
    const aborted = settle(c.get({ signal: controller.signal }));
    const others = settle(Promise.all([c.get(), c.get({ deadline: Date.now() + 2_000 })]));
    setTimeout(() => controller.abort(new Error("caller gave up")), 50);
    const a = await aborted;
    expect(performance.now() - started).toBeLessThan(300);
    expect((a.error as Error).message).toBe("caller gave up");
    expect((await others).data).toEqual(["tok-same", "tok-same"]);
    expect(tokenRequests()).toBe(1);
    // Already aborted: rejected without waiting at all.
    const gone = AbortSignal.abort(new Error("already"));
    expect((await settle(c.replace("tok-same", { signal: gone }))).error).toMatchObject({
      message: "already",
    });
  });

  it("a deadline ends the wait with a TimeoutError; a later call gets the token without another request", async () => {
    answer.delayMs = 400;
    const c = cache();
    const started = performance.now();
    const late = await settle(c.get({ deadline: Date.now() + 100 }));
    expect(performance.now() - started).toBeLessThan(350);
    expect(late.error).toMatchObject({ name: "TimeoutError" });
    expect(await c.get()).toBe("tok-same");
    expect(tokenRequests()).toBe(1);
  });

  it("a store that fails is skipped: the cache works from memory and says so once", async () => {
    const failing: TokenStore = {
      get: () => Promise.reject(new Error("store down")),
      set: () => Promise.reject(new Error("store down")),
      delete: () => Promise.reject(new Error("store down")),
      lock: () => Promise.reject(new Error("store down")),
    };
    const warnings: string[] = [];
    const c = cache({ store: failing, onWarning: (m) => warnings.push(m) });
    for (let i = 0; i < 20; i++) expect(await c.get()).toBe("tok-same");
    expect(await c.replace("tok-other")).toBe("tok-same");
    expect(tokenRequests()).toBe(1);
    expect(warnings).toHaveLength(1);
  });
});

describe("TokenCache: the wall clock set back (an NTP step, a VM resumed)", () => {
  let back = 0;
  let jumped: { mockRestore(): void } | undefined;
  beforeEach(() => {
    back = 0;
    const wall = Date.now;
    jumped = vi.spyOn(Date, "now").mockImplementation(() => wall() - back);
  });
  afterEach(() => jumped?.mockRestore());

  it("during a lock wait: the cache still takes the token another process stores, not an hour later", async () => {
    const shared = new MemoryTokenStore();
    let locks = 0;
    const store: TokenStore = {
      get: (key) => shared.get(key),
      set: (key, token) => shared.set(key, token),
      delete: (key, token) => shared.delete(key, token),
      // Held by another process, said at once; the clock steps an hour back during the second wait.
      lock: async () => {
        if (++locks === 2) back = 3_600_000;
        return undefined;
      },
    };
    const c = cache({ store, marginMs: 0 });
    setTimeout(
      () => void shared.set("app", { accessToken: "tok-theirs", expiresAt: Date.now() + 60_000 }),
      400,
    );
    const got = await settle(c.get({ deadline: Date.now() + 2_500 }));
    expect(got.data).toBe("tok-theirs");
    expect(tokenRequests()).toBe(0);
  });

  it("after a store failure: the store is asked again once its pause is over, not once the clock is back", async () => {
    let failing = true;
    let reads = 0;
    const store: TokenStore = {
      get: async () => {
        reads++;
        if (failing) throw new Error("store down");
        return undefined;
      },
      set: async () => undefined,
      delete: async () => undefined,
    };
    const c = cache({ store });
    expect((await settle(c.get())).data).toBe("tok-same"); // the store failed: paused for 5 s
    failing = false;
    back = 3_600_000;
    await delay(5_300);
    const before = reads;
    expect((await settle(c.replace("tok-same"))).data).toBe("tok-same");
    expect(reads).toBeGreaterThan(before);
  }, 15_000);
});

describe.each([
  { name: "fetch", options: { fetch: globalThis.fetch } },
  { name: "node:http", options: {} },
])("a client ($name) whose refused token comes back again", ({ options }) => {
  it("20 concurrent calls: one shared replacement request, then a typed error each, no loop", async () => {
    server.on("POST", "/v1.0/oauth2/accessToken", (_req, res) =>
      json(res, 200, { accessToken: "tok-refused-0123456789", expireIn: 7200 }),
    );
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) =>
      json(res, 401, { code: "InvalidAuthentication", message: "token invalid", requestid: "R-401" }),
    );
    const dt = createDingTalk({
      rateLimit: false,
      appKey: "ding-app",
      appSecret: "app-secret-0451",
      baseUrl: server.url,
      ...options,
    });
    const started = performance.now();
    const outcomes = await settle(
      Promise.allSettled(Array.from({ length: 20 }, () => dt.contact.getLatestDingIndex())),
    );
    expect(performance.now() - started).toBeLessThan(BOUND_MS);
    for (const outcome of outcomes.data ?? []) {
      expect(outcome.status).toBe("rejected");
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({
        name: "DingTalkError",
        code: "InvalidAuthentication",
      });
    }
    expect(server.count("POST", "/v1.0/oauth2/accessToken")).toBe(2);
    // Each call made its one attempt; given back the very token refused, the engine throws at once.
    expect(server.count("GET", "/v1.0/contact/dingIndexs")).toBe(20);
  });
});
