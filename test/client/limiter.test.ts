import { randomBytes } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type Budget,
  createRateLimiter,
  type LimiterStore,
  MemoryLimiterStore,
} from "../../src/core/limiter.js";

const budget = (key: string, calls: number, windowMs = 1_000): Budget => ({ key, calls, windowMs });

describe("MemoryLimiterStore: GCRA without a burst", () => {
  it.each([
    // [calls per 1 000 ms, take times, answer to each take (0 = taken, else ms to wait)]
    ["an idle budget lets the first call go at once", 4, [0], [0]],
    ["then one call per windowMs / calls", 4, [0, 0, 100, 250, 250], [0, 250, 150, 0, 250]],
    ["a refused take moves nothing on", 2, [0, 10, 20, 499, 500], [0, 490, 480, 1, 0]],
    ["idle time is not saved up into a burst", 2, [0, 5_000, 5_000, 5_499, 5_500], [0, 0, 500, 1, 0]],
    ["fractional intervals and times round the wait up", 3, [0, 1, 333.25, 333.5], [0, 333, 1, 0]],
  ])("%s", async (_, calls, times, answers) => {
    const store = new MemoryLimiterStore();
    const got: number[] = [];
    for (const t of times) got.push(await store.take([budget("k", calls)], t));
    expect(got).toEqual(answers);
  });

  it("all or nothing: a call takes from every budget, or from none, and waits for the longest", async () => {
    const store = new MemoryLimiterStore();
    const op = budget("app:op", 1, 1_000); // one call per 1 000 ms
    const ip = budget("ip", 10, 1_000); // one call per 100 ms
    expect(await store.take([op, ip], 0)).toBe(0);
    // `op` is spent until 1 000: the call waits for it and takes nothing from `ip`.
    expect(await store.take([op, ip], 100)).toBe(900);
    expect(await store.take([op, ip], 200)).toBe(800);
    // Had the refused calls taken from `ip`, these would wait.
    expect(await store.take([ip], 200)).toBe(0);
    expect(await store.take([ip], 300)).toBe(0);
    // Both spent: the wait is the longer one.
    expect(await store.take([op, ip], 350)).toBe(650);
    // Budgets of other keys are untouched.
    expect(await store.take([budget("app:other", 1)], 350)).toBe(0);
  });

  it("budgets of one key with different windows count apart (per minute and per hour)", async () => {
    const store = new MemoryLimiterStore();
    const minute = budget("app:op", 10, 60_000); // a call per 6 s
    const hour = budget("app:op", 60, 3_600_000); // a call per 60 s
    expect(await store.take([minute, hour], 0)).toBe(0);
    expect(await store.take([minute, hour], 6_000)).toBe(54_000);
    expect(await store.take([minute], 6_000)).toBe(0);
    expect(await store.take([minute, hour], 60_000)).toBe(0);
  });

  it("never more than `calls` in any windowMs, and no call refused that would have kept to that and to the pace", async () => {
    // An async property: fc.assert returns a promise, which the test must await for its runs to count.
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 60 }),
        async (calls, windowMs, gaps) => {
          const store = new MemoryLimiterStore();
          const interval = windowMs / calls;
          const taken: number[] = [];
          let t = 0;
          for (const gap of gaps) {
            t += gap;
            const wait = await store.take([budget("k", calls, windowMs)], t);
            const last = taken[taken.length - 1];
            // The pace: the next call goes exactly `interval` after the last one, or at once when idle.
            expect(wait).toBe(
              last === undefined || last + interval <= t ? 0 : Math.ceil(last + interval - t),
            );
            if (wait === 0) taken.push(t);
            expect(taken.filter((x) => x > t - windowMs).length).toBeLessThanOrEqual(calls);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("forgets a budget once it is idle again: keys that come and go are not kept for good", async () => {
    // The in-process limiter is shared by every client of the process: one made per tenant adds its
    // app's budgets, which outlive the client. An idle budget is the same as one never taken.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const store = new MemoryLimiterStore();
    const round = (r: number) => {
      for (let i = 0; i < 1_000; i++)
        store.takeNow([budget(`app-${randomBytes(500).toString("hex")}:op`, 20, 1_050)], r * 10_000);
    };
    round(0);
    gc();
    const before = process.memoryUsage().heapUsed;
    // 40 000 keys of 1 000 characters: 40 MB and more if each were kept.
    for (let r = 1; r <= 40; r++) round(r);
    gc();
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(15 << 20);
    // Forgetting changes no answer: a budget still spent is still spent.
    const kept = budget("app:kept", 1, 60_000);
    expect(store.takeNow([kept], 500_000)).toBe(0);
    for (let r = 51; r <= 53; r++) round(r); // more keys than any sweep waits for
    expect(store.takeNow([kept], 530_001)).toBe(29_999);
  });
});

describe("createRateLimiter (injected clock)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const limiter = (store?: LimiterStore) =>
    createRateLimiter({ now: () => Date.now(), ...(store && { store }) });

  /** Starts `n` acquires on `budgets`, recording when (fake ms) each one resolved and with what. */
  function start(
    rl: ReturnType<typeof createRateLimiter>,
    budgets: Budget[],
    n: number,
    signal?: AbortSignal,
  ) {
    const done: Array<{ i: number; at: number; waited: number }> = [];
    const promises = Array.from({ length: n }, (_, i) =>
      rl.acquire(budgets, signal).then((waited) => {
        done.push({ i, at: Date.now(), waited });
      }),
    );
    return { done, all: Promise.allSettled(promises) };
  }

  it("a call within its budget goes at once, with 0 ms waited", async () => {
    const rl = limiter();
    await expect(rl.acquire([budget("k", 5)])).resolves.toBe(0);
    await expect(rl.acquire([])).resolves.toBe(0);
  });

  it("over budget, calls wait their turn and resolve with the ms they waited, in order (FIFO)", async () => {
    const rl = limiter();
    const { done, all } = start(rl, [budget("k", 2)], 7);
    await vi.advanceTimersByTimeAsync(3_500);
    await all;
    expect(done.map((d) => d.i)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(done.map((d) => d.at)).toEqual([0, 500, 1_000, 1_500, 2_000, 2_500, 3_000]);
    expect(done.map((d) => d.waited)).toEqual([0, 500, 1_000, 1_500, 2_000, 2_500, 3_000]);
  });

  it("a call that arrives later never overtakes earlier waiters of the same budgets", async () => {
    const rl = limiter();
    const order: string[] = [];
    const b = [budget("k", 1, 100)];
    const first = Array.from({ length: 3 }, (_, i) => rl.acquire(b).then(() => order.push(`early-${i}`)));
    await vi.advanceTimersByTimeAsync(150);
    // At 150 ms `early-2` still waits for its turn at 200: `late` goes after it.
    const late = rl.acquire(b).then(() => order.push("late"));
    await vi.advanceTimersByTimeAsync(500);
    await Promise.all([...first, late]);
    expect(order).toEqual(["early-0", "early-1", "early-2", "late"]);
  });

  it("all or nothing through acquire: a call needing two budgets waits for both", async () => {
    const rl = limiter();
    const op = budget("app:op", 2, 1_000); // a call per 500 ms
    const ip = budget("ip", 3, 3_000); // a call per 1 000 ms
    await rl.acquire([op]); // op only, at 0: the next op call may go at 500
    const { done, all } = start(rl, [op, ip], 3);
    await vi.advanceTimersByTimeAsync(5_000);
    await all;
    // The first waits for op (500) and ip (0) → 500; then ip paces them: 1 500, 2 500.
    expect(done.map((d) => d.at)).toEqual([500, 1_500, 2_500]);
  });

  it("calls of other operations are not held up by a waiter they share only the IP budget with", async () => {
    const rl = limiter();
    const ip = budget("ip", 100, 1_000); // a call per 10 ms
    await rl.acquire([budget("app:a", 1), ip]);
    const blocked = rl.acquire([budget("app:a", 1), ip]);
    const other = rl.acquire([budget("app:b", 1), ip]);
    await vi.advanceTimersByTimeAsync(1_000);
    // `app:b` waited for the IP budget's pace only, not for the `app:a` call ahead of it.
    await expect(other).resolves.toBe(10);
    await expect(blocked).resolves.toBe(1_000);
  });

  it("abort while waiting rejects with the signal's reason at once, and takes no budget", async () => {
    const rl = limiter();
    const b = [budget("k", 1)];
    await rl.acquire(b); // the budget is spent until 1 000
    const controller = new AbortController();
    const aborted = rl.acquire(b, controller.signal);
    const { done, all } = start(rl, b, 2);
    await vi.advanceTimersByTimeAsync(300);
    const reason = new Error("caller gave up");
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    expect(Date.now()).toBe(300);
    await vi.advanceTimersByTimeAsync(3_000);
    await all;
    // Had the aborted call taken the slot at 1 000, the others would go at 2 000 and 3 000.
    expect(done.map((d) => d.at)).toEqual([1_000, 2_000]);
  });

  it("aborting a waiter in the middle of the queue keeps the others' order and times", async () => {
    const rl = limiter();
    const b = [budget("k", 1)];
    const controllers = Array.from({ length: 4 }, () => new AbortController());
    const order: number[] = [];
    const settled = Promise.allSettled(
      controllers.map((c, i) => rl.acquire(b, c.signal).then(() => order.push(i))),
    );
    controllers[2]?.abort("not needed");
    await vi.advanceTimersByTimeAsync(5_000);
    const outcomes = await settled;
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect(order).toEqual([0, 1, 3]);
    expect(Date.now()).toBe(5_000);
  });

  it("a signal aborted before the call rejects without asking the store", async () => {
    const takes: number[] = [];
    const store: LimiterStore = {
      take: async (_, now) => {
        takes.push(now);
        return 0;
      },
    };
    const reason = new Error("already aborted");
    await expect(limiter(store).acquire([budget("k", 1)], AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(takes).toEqual([]);
  });

  it("a long-lived signal collects one listener however many calls wait on it, and none stays armed", async () => {
    const rl = limiter();
    const controller = new AbortController();
    const added = vi.spyOn(controller.signal, "addEventListener");
    const { all } = start(rl, [budget("k", 100)], 5, controller.signal);
    await vi.advanceTimersByTimeAsync(100);
    await all;
    expect(added).toHaveBeenCalledTimes(1);
    // The calls went: aborting now must reach none of them (nothing to reject, nothing unhandled).
    controller.abort(new Error("late"));
    await expect(all).resolves.toBeDefined();
  });

  it("a store that fails lets the call go: the limiter never fails a call", async () => {
    const store: LimiterStore = { take: () => Promise.reject(new Error("store down")) };
    await expect(limiter(store).acquire([budget("k", 1)])).resolves.toBe(0);
  });

  it("rejects a budget that could never be met", async () => {
    const rl = limiter();
    await expect(rl.acquire([budget("k", 0)])).rejects.toBeInstanceOf(RangeError);
    await expect(rl.acquire([budget("k", 1.5)])).rejects.toBeInstanceOf(RangeError);
    await expect(rl.acquire([budget("k", 1, 0)])).rejects.toBeInstanceOf(RangeError);
  });

  it("only the head of a queue asks the store, once per wait", async () => {
    const inner = new MemoryLimiterStore();
    let takes = 0;
    const store: LimiterStore = {
      take: (b, now) => {
        takes++;
        return inner.take(b, now);
      },
    };
    const rl = limiter(store);
    const { all } = start(rl, [budget("k", 10)], 30);
    await vi.advanceTimersByTimeAsync(3_000);
    await all;
    // 30 takes that succeed plus one refused take per wait (29), not one per waiter per wait.
    expect(takes).toBe(59);
  });

  describe("the only waiter leaves and a new call comes before the queue's server has noticed", () => {
    // "Cancel the previous request, start a new one" (typeahead): the abort and the next call come
    // in one turn, before the server of the queue has resumed to find it empty.

    it("one server per queue: the store is asked once per wait", async () => {
      const inner = new MemoryLimiterStore();
      const takes: number[] = [];
      const store: LimiterStore = {
        take: (b, now) => {
          takes.push(now);
          return inner.take(b, now);
        },
      };
      const rl = limiter(store);
      const b = [budget("k", 1, 1_000)];
      await rl.acquire(b); // spent until 1 000
      const first = new AbortController();
      rl.acquire(b, first.signal).catch(() => {});
      await vi.advanceTimersByTimeAsync(10);
      first.abort();
      const second = rl.acquire(b);
      await vi.advanceTimersByTimeAsync(2_000);
      await second;
      // The first call; the aborted one, refused; the second, refused at 10 and taken at 1 000.
      expect(takes).toEqual([0, 0, 10, 1_000]);
    });

    it("no timer stays armed once every waiter has left", async () => {
      const rl = limiter();
      const b = [budget("k", 1, 60_000)];
      await rl.acquire(b); // spent for a minute
      const first = new AbortController();
      rl.acquire(b, first.signal).catch(() => {});
      await vi.advanceTimersByTimeAsync(10);
      first.abort();
      const next = new AbortController();
      const second = rl.acquire(b, next.signal).catch(() => "aborted");
      await vi.advanceTimersByTimeAsync(10);
      next.abort();
      expect(await second).toBe("aborted");
      await vi.advanceTimersByTimeAsync(0);
      expect(vi.getTimerCount()).toBe(0);
    });

    it("a call queued behind the budget is not overtaken by a later uncontended one", async () => {
      const rl = limiter();
      const b = [budget("k", 1, 1_000)];
      await rl.acquire(b); // next at 1 000
      // A caller's own timer at 2 000, set before any of the limiter's sleeps that end then.
      let late: boolean | undefined;
      setTimeout(() => {
        late = rl.tryAcquire(b);
      }, 2_000);
      const first = new AbortController();
      rl.acquire(b, first.signal).catch(() => {});
      await vi.advanceTimersByTimeAsync(0);
      first.abort();
      const next = new AbortController();
      rl.acquire(b, next.signal).catch(() => {});
      await vi.advanceTimersByTimeAsync(500);
      next.abort();
      await vi.advanceTimersByTimeAsync(0);
      const order: string[] = [];
      const third = rl.acquire(b).then(() => order.push("third"));
      await vi.advanceTimersByTimeAsync(100);
      const fourth = rl.acquire(b).then((waited) => order.push(`fourth after ${waited}`)); // due at 2 000
      await vi.advanceTimersByTimeAsync(3_000);
      await Promise.all([third, fourth]);
      // The fourth has queued since 600 for the slot at 2 000: a call at 2 000 goes after it.
      expect(late).toBe(false);
      expect(order).toEqual(["third", "fourth after 1400"]);
    });
  });
});

describe("createRateLimiter (its own clock)", () => {
  it("under a budget far above the call rate, calls do not wait, not even several within one ms", async () => {
    const rl = createRateLimiter();
    // A call per µs: with a ms clock, every call after the first within one ms would wait 1 ms
    // (2 000 calls: about 2 s); with a sub-ms clock they go as fast as they come.
    const budgets = [budget("app:op", 1e6), budget("ip", 2e7, 20_000)];
    const started = performance.now();
    for (let i = 0; i < 2_000; i++) await rl.acquire(budgets);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it("a store's take that never answers holds up only its callers: once they leave, the next call goes", async () => {
    let takes = 0;
    const store: LimiterStore = {
      take: () => (++takes === 1 ? new Promise<number>(() => {}) : Promise.resolve(0)),
    };
    const rl = createRateLimiter({ store });
    const budgets = [budget("k", 10)];
    const first = new AbortController();
    const left = rl.acquire(budgets, first.signal).catch((error: unknown) => `left: ${String(error)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    first.abort("gave up"); // as the engine does at the call's deadline
    expect(await left).toBe("left: gave up");
    const later = await Promise.race([
      rl.acquire(budgets).then(() => "went"),
      new Promise((resolve) => setTimeout(() => resolve("still waiting after 1 s"), 1_000)),
    ]);
    expect({ later, takes }).toEqual({ later: "went", takes: 2 });
  });
});
