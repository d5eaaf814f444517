import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../../src/core/errors.js";
import { MemoryTokenStore, type StoredToken, TokenCache } from "../../src/core/token.js";

function cacheWith(options: { store?: MemoryTokenStore; now?: () => number; delayMs?: number } = {}) {
  let n = 0;
  let clock = 1_000_000;
  const cache = new TokenCache({
    key: "k",
    marginMs: 1000,
    store: options.store,
    now: options.now ?? (() => clock),
    fetch: async (): Promise<StoredToken> => {
      n++;
      await new Promise((r) => setTimeout(r, options.delayMs ?? 5));
      return { accessToken: `t${n}`, expiresAt: clock + 10_000 };
    },
  });
  return { cache, fetched: () => n, advance: (ms: number) => (clock += ms) };
}

describe("TokenCache", () => {
  it("makes one request for any number of concurrent gets", async () => {
    const { cache, fetched } = cacheWith();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => cache.get()));
    expect(new Set(tokens)).toEqual(new Set(["t1"]));
    expect(fetched()).toBe(1);
  });

  it("refreshes once the margin before expiry is reached", async () => {
    const { cache, fetched, advance } = cacheWith();
    await cache.get();
    advance(8_999);
    expect(await cache.get()).toBe("t1");
    advance(2);
    expect(await cache.get()).toBe("t2");
    expect(fetched()).toBe(2);
  });

  it("a token that lives shorter than twice the margin is used for half its life, not refetched per call", async () => {
    let n = 0;
    let clock = 1_000_000;
    const cache = new TokenCache({
      key: "short",
      marginMs: 300_000, // 5 min, against a 60 s token
      now: () => clock,
      fetch: async () => ({ accessToken: `s${++n}`, expiresAt: clock + 60_000 }),
    });
    expect(await cache.get()).toBe("s1");
    clock += 29_999;
    expect(await cache.get()).toBe("s1");
    clock += 2;
    expect(await cache.get()).toBe("s2");
    expect(n).toBe(2);
    // A token read from a shared store without obtainedAt keeps the configured margin (1 s here).
    const store = new MemoryTokenStore();
    await store.set("k", { accessToken: "old", expiresAt: clock + 500 });
    const { cache: other } = cacheWith({ store, now: () => clock });
    expect(await other.get()).toBe("t1");
  });

  it("an early refresh that hangs is waited for half the caller's time, then the held token is given", async () => {
    const cache = new TokenCache({
      key: "k",
      marginMs: 60_000,
      // Inside the margin: 30 s left, a refresh due.
      initial: { accessToken: "held", expiresAt: Date.now() + 30_000 },
      fetch: () => new Promise<StoredToken>(() => {}),
    });
    const started = Date.now();
    const deadline = started + 400;
    await expect(cache.get({ deadline })).resolves.toBe("held");
    // Back with time left for the call that sends it (half of it, less the timers' lateness).
    expect(Date.now()).toBeLessThan(deadline - 100);
    // Without a valid token to fall back on, the whole wait is the caller's: no half measure.
    const cold = new TokenCache({
      key: "k",
      marginMs: 1000,
      fetch: () => new Promise<StoredToken>(() => {}),
    });
    const coldStart = Date.now();
    await expect(cold.get({ deadline: coldStart + 200 })).rejects.toMatchObject({ beforeSend: true });
    expect(Date.now() - coldStart).toBeGreaterThanOrEqual(195);
  });

  it("a held token that expires during the halved wait: the refresh gets the rest of the caller's time", async () => {
    const cache = new TokenCache({
      key: "k",
      marginMs: 60_000,
      // Inside the margin and about to expire: the wait is halved, and the token is gone before it ends.
      initial: { accessToken: "held", expiresAt: Date.now() + 150 },
      fetch: () =>
        new Promise<StoredToken>((resolve) =>
          setTimeout(() => resolve({ accessToken: "new", expiresAt: Date.now() + 60_000 }), 500),
        ),
    });
    await expect(cache.get({ deadline: Date.now() + 1_000 })).resolves.toBe("new");
  });

  it("replace() drops only the refused token, and concurrent replaces share one request", async () => {
    const { cache, fetched } = cacheWith();
    await cache.get();
    const replaced = await Promise.all(Array.from({ length: 20 }, () => cache.replace("t1")));
    expect(new Set(replaced)).toEqual(new Set(["t2"]));
    expect(fetched()).toBe(2);
    // A late caller refused with the old token gets the current one, without another request.
    expect(await cache.replace("t1")).toBe("t2");
    expect(fetched()).toBe(2);
  });

  it("replace() during a refresh that hands out the refused token refreshes again", async () => {
    const store = new MemoryTokenStore();
    await store.set("k", { accessToken: "stale", expiresAt: Number.MAX_SAFE_INTEGER });
    const { cache, fetched } = cacheWith({ store });
    const first = cache.get(); // reads "stale" from the store
    const second = cache.replace("stale");
    expect(await first).toBe("stale");
    expect(await second).toBe("t1");
    expect(fetched()).toBe(1);
    expect((await store.get("k"))?.accessToken).toBe("t1");
  });

  it("uses a token another process put in the shared store instead of fetching", async () => {
    const store = new MemoryTokenStore();
    const a = cacheWith({ store });
    const b = cacheWith({ store });
    expect(await a.cache.get()).toBe("t1");
    expect(await b.cache.get()).toBe("t1");
    expect(a.fetched() + b.fetched()).toBe(1);
  });

  it("a store that never answers, or whose lock release is not a promise, does not hold the refresh", async () => {
    const never = new Promise<never>(() => {});
    const warnings: string[] = [];
    let fetches = 0;
    const frozen = {
      get: () => never,
      set: () => never,
      delete: () => never,
      lock: async () => () => undefined as unknown as Promise<void>,
    };
    const cache = new TokenCache({
      key: "k",
      marginMs: 1000,
      store: frozen,
      storeWaitMs: 50,
      onWarning: (w) => warnings.push(w),
      fetch: async () => ({ accessToken: `t${++fetches}`, expiresAt: Date.now() + 60_000 }),
    });
    const started = Date.now();
    expect(await cache.get()).toBe("t1");
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(warnings.join()).toMatch(/token store failed/);

    const released = new TokenCache({
      key: "k",
      marginMs: 1000,
      store: {
        ...new MemoryTokenStore(),
        get: async () => undefined,
        set: async () => {},
        delete: async () => {},
        lock: async () => () => undefined as unknown as Promise<void>,
      },
      fetch: async () => ({ accessToken: "t-released", expiresAt: Date.now() + 60_000 }),
    });
    expect(await released.get()).toBe("t-released");
  });

  it("a lock that is taken after the store's wait ran out is released, and clear() does not hang", async () => {
    let released = 0;
    const store = {
      get: async () => undefined,
      set: async () => {},
      delete: () => new Promise<void>(() => {}),
      lock: () =>
        new Promise<() => Promise<void>>((resolve) =>
          setTimeout(
            () =>
              resolve(async () => {
                released++;
              }),
            150,
          ),
        ),
    };
    const cache = new TokenCache({
      key: "k",
      marginMs: 1000,
      store,
      storeWaitMs: 50,
      fetch: async () => ({ accessToken: "t-late", expiresAt: Date.now() + 60_000 }),
    });
    expect(await cache.get()).toBe("t-late");
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(released).toBe(1);
    const started = Date.now();
    await cache.clear();
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("a store whose lock() answers 'held' at once is asked once a slice, not in a loop that starves timers", async () => {
    const inner = new MemoryTokenStore();
    await inner.set("k", { accessToken: "old", expiresAt: 0 });
    let locks = 0;
    const started = Date.now();
    const store = {
      get: inner.get,
      set: inner.set,
      delete: inner.delete,
      // Held by someone else for 600 ms, said at once each time; then taken.
      lock: async () => {
        locks++;
        return Date.now() - started < 600 ? undefined : async () => {};
      },
    };
    let ticks = 0;
    const tick = setInterval(() => ticks++, 20);
    const cache = new TokenCache({
      key: "k",
      marginMs: 1000,
      store,
      fetch: async () => ({ accessToken: "new", expiresAt: Date.now() + 60_000 }),
    });
    try {
      expect(await cache.get()).toBe("new");
    } finally {
      clearInterval(tick);
    }
    // One try at once, then one a slice (250 ms): a handful, where a loop made hundreds of thousands.
    expect(locks).toBeLessThanOrEqual(6);
    expect(ticks).toBeGreaterThanOrEqual(10);
  });

  it("after the server refuses a token request, calls fail with that refusal, the next request 1 s, 2 s, … 30 s later", async () => {
    vi.useFakeTimers({ toFake: ["performance", "Date"] });
    try {
      let asked = 0;
      let refusing = true;
      const warnings: string[] = [];
      const refusal = () =>
        new ApiError({ api: "t", status: 200, code: 40001, message: "invalid credential" });
      const cache = new TokenCache({
        key: "k",
        marginMs: 1000,
        onWarning: (w) => warnings.push(w),
        fetch: async () => {
          asked++;
          if (refusing) throw refusal();
          return { accessToken: `t${asked}`, expiresAt: Date.now() + 60_000 };
        },
      });
      const first = await cache.get().catch((e: unknown) => e);
      expect(first).toBeInstanceOf(ApiError);
      // Twenty calls in the pause: the same refusal, nothing sent.
      for (let i = 0; i < 20; i++) expect(await cache.get().catch((e: unknown) => e)).toBe(first);
      expect(asked).toBe(1);
      // Each refusal in a row doubles the pause, up to 30 s.
      for (const pauseMs of [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]) {
        vi.advanceTimersByTime(pauseMs - 1);
        await cache.get().catch(() => undefined);
        const before = asked;
        vi.advanceTimersByTime(1);
        await cache.get().catch(() => undefined);
        expect(asked, `after ${pauseMs} ms`).toBe(before + 1);
      }
      expect(warnings).toHaveLength(1);
      // clear() starts afresh: the next call asks at once; a token ends the pauses.
      refusing = false;
      await cache.clear();
      expect(await cache.get()).toBe(`t${asked}`);
      refusing = true;
      await cache.clear();
      await cache.get().catch(() => undefined);
      const after = asked;
      vi.advanceTimersByTime(1_000);
      await cache.get().catch(() => undefined);
      expect(asked).toBe(after + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("in the pause after a refusal, a token another client stored is used, no request sent", async () => {
    const store = new MemoryTokenStore();
    let asked = 0;
    const refusal = new ApiError({ api: "t", status: 503, code: 503, message: "unavailable" });
    const cache = new TokenCache({
      key: "k",
      marginMs: 1000,
      store,
      fetch: async () => {
        asked++;
        throw refusal;
      },
    });
    expect(await cache.get().catch((e: unknown) => e)).toBe(refusal);
    // Another process (or client) got a token and stored it: read, though no request may go yet.
    await store.set("k", { accessToken: "from-elsewhere", expiresAt: Date.now() + 60_000 });
    expect(await cache.get()).toBe("from-elsewhere");
    expect(asked).toBe(1);
    // One inside its refresh margin (500 ms left, the margin 1 s) is still valid: used too, in the pause.
    const again = new TokenCache({
      key: "k2",
      marginMs: 1000,
      store,
      fetch: async () => {
        asked++;
        throw refusal;
      },
    });
    expect(await again.get().catch((e: unknown) => e)).toBe(refusal);
    await store.set("k2", { accessToken: "nearly-due", expiresAt: Date.now() + 500 });
    expect(await again.get()).toBe("nearly-due");
    expect(asked).toBe(2);
  });

  it("a refresh queued behind one in flight that is refused sends nothing: it gets that refusal", async () => {
    let asked = 0;
    const refusal = new ApiError({ api: "t", status: 400, code: 40001, message: "invalid credential" });
    const cache = new TokenCache({
      key: "k",
      marginMs: 1000,
      initial: { accessToken: "held", expiresAt: Date.now() + 60_000 },
      fetch: async () => {
        asked++;
        await new Promise((r) => setTimeout(r, 20));
        throw refusal;
      },
    });
    // "held" refused: a refresh in flight; then another token refused, its refresh queued after it.
    const first = cache.replace("held").catch((e: unknown) => e);
    const second = cache.replace("another").catch((e: unknown) => e);
    expect(await first).toBe(refusal);
    expect(await second).toBe(refusal);
    expect(asked).toBe(1);
  });

  it("a token request that fails without the server's refusal (the network, a timeout) is not paused", async () => {
    let asked = 0;
    const cache = new TokenCache({
      key: "k",
      marginMs: 1000,
      fetch: async () => {
        asked++;
        throw new TypeError("fetch failed");
      },
    });
    for (let i = 0; i < 3; i++) await cache.get().catch(() => undefined);
    expect(asked).toBe(3);
  });

  it("the memory store deletes compare-and-delete", async () => {
    const store = new MemoryTokenStore();
    await store.set("k", { accessToken: "new", expiresAt: 1 });
    await store.delete("k", "old");
    expect(await store.get("k")).toEqual({ accessToken: "new", expiresAt: 1 });
    await store.delete("k", "new");
    expect(await store.get("k")).toBeUndefined();
  });
});
