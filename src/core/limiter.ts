/** Client-side rate limits (`x-imspec-rate-limits`, a `Budget` per scope). Names no API, no Node built-in. */
import { ConfigError } from "./errors.js";
import { onAbort } from "./transport.js";
import { MAX_WAIT_MS } from "./validate.js";

/** One budget a call must fit in: at most `calls` per `windowMs` for this key. */
export interface Budget {
  key: string;
  calls: number;
  windowMs: number;
}
/** Where budgets are counted: in this process, or shared (Redis). */
export interface LimiterStore {
  /**
   * Takes one call from every budget at once if all allow it now (all or nothing); else returns ms
   * until it may be tried again (> 0). `within`: the ms the caller can wait for the answer; a shared
   * store that cannot answer in that time answers from its local share instead.
   */
  take(budgets: readonly Budget[], now: number, within?: number): Promise<number>;
  /** The same, synchronously, for a store that needs no I/O: lets an uncontended call go without a promise. */
  takeNow?(budgets: readonly Budget[], now: number): number;
}
export interface RateLimiter {
  /** Takes the budgets now if nobody waits for them and the store answers synchronously; false: use `acquire`. */
  tryAcquire(budgets: readonly Budget[]): boolean;
  /** Resolves with the ms waited once the call may go; rejects with signal.reason if the signal aborts while waiting (the call is then never sent and takes no budget). Waiters of one key are served first-in, first-out (fair queueing: never drops or reorders a caller's calls). `deadline` (`Date.now()` ms): by when a shared store must answer this call's take (`LimiterStore.take`'s `within`). */
  acquire(budgets: readonly Budget[], signal?: AbortSignal, deadline?: number): Promise<number>;
}

/** Below this many budgets a store keeps idle ones: sweeping a small map costs more than it saves. */
const SWEEP_MIN = 1_024;

/**
 * GCRA without a burst: per key the earliest time the next call may go, moved `windowMs / calls` on
 * by each call. No `windowMs` (half-open) then holds more than `calls`, the strictest way a server may
 * count "N per window", and calls arrive evenly paced, never in the bursts a sliding window (or GCRA
 * with a burst allowance b: up to calls + b − 1 per window) lets go at once. O(1) per budget.
 */
export class MemoryLimiterStore implements LimiterStore {
  readonly #next = new Map<string, number>();
  /** The size at which idle budgets are forgotten: twice what was left after the last sweep. */
  #sweepAt = SWEEP_MIN;

  async take(budgets: readonly Budget[], now: number): Promise<number> {
    return this.takeNow(budgets, now);
  }

  takeNow(budgets: readonly Budget[], now: number): number {
    let wait = 0;
    for (const b of budgets) wait = Math.max(wait, (this.#next.get(slot(b)) ?? now) - now);
    if (wait > 0) return Math.ceil(wait);
    for (const b of budgets)
      this.#next.set(slot(b), Math.max(this.#next.get(slot(b)) ?? now, now) + b.windowMs / b.calls);
    if (this.#next.size >= this.#sweepAt) this.#sweep(now);
    return 0;
  }

  /**
   * Forgets every budget whose next call may go by `now`: idle, as if never taken (an absent key
   * answers the same). Budgets of clients made and dropped (one per tenant) would otherwise stay for
   * good. Amortized O(1): the next sweep comes once the map has doubled.
   */
  #sweep(now: number): void {
    for (const [key, at] of this.#next) if (at <= now) this.#next.delete(key);
    this.#sweepAt = Math.max(SWEEP_MIN, 2 * this.#next.size);
  }
}

// One key may have budgets of several windows (per minute and per hour): each counts apart. Budgets
// live as long as their operation, so the slot name is made once.
const slots = new WeakMap<Budget, string>();
function slot(b: Budget): string {
  let name = slots.get(b);
  if (name === undefined) {
    name = `${b.key} ${b.windowMs}`;
    slots.set(b, name);
  }
  return name;
}
const ids = new WeakMap<readonly Budget[], string>();
const valid = (b: Budget) =>
  Number.isInteger(b.calls) && b.calls >= 1 && b.windowMs > 0 && b.windowMs <= MAX_WAIT_MS;
/** A store's answer as a wait: a number of ms up to MAX_WAIT_MS; anything else, as a failure, lets the call go. */
const waitOf = (answer: unknown) =>
  typeof answer === "number" && answer > 0 ? Math.min(Math.ceil(answer), MAX_WAIT_MS) : 0;

/** `deadline` (`Date.now()` ms): when the store must have answered the waiter's take. */
type Waiter = {
  budgets: readonly Budget[];
  since: number;
  deadline?: number | undefined;
  go(ms: number): void;
};
/**
 * `serving`: its server runs (it may not have noticed yet that its last waiter left); `wake`: tells
 * the server its head has left, during the head's take or its wait.
 */
type Queue = { waiters: Waiter[]; wake?: () => void; serving?: boolean };

function idOf(budgets: readonly Budget[]): string {
  let id = ids.get(budgets);
  if (id === undefined) {
    id = budgets.map((b) => b.key).join("\n");
    ids.set(budgets, id);
  }
  return id;
}

/**
 * Serves a queue head by head: only the head asks the store, and waits out its answer. `emptied` is
 * called once the server finds no head: in the turn the last head goes, or later when its last
 * waiter aborted; a call that comes before then joins this queue, and a call after it starts a queue
 * of its own. One promise per head, no AbortController: the queued path costs a few µs.
 */
async function serveQueue(store: LimiterStore, now: () => number, queue: Queue, emptied: () => void) {
  for (let head = queue.waiters[0]; head; head = queue.waiters[0]) {
    // Woken when the head leaves: during its take too, so that a store that never answers holds up
    // only the callers that wait for it, not every later call of the key.
    const left = new Promise<0>((resolve) => {
      queue.wake = () => resolve(0);
    });
    // Called in a promise: a store that throws, or answers other than with a promise, cannot escape.
    const taken = Promise.resolve(head.budgets)
      .then((budgets) => store.take(budgets, now(), head.deadline && head.deadline - Date.now()))
      .then(waitOf, () => 0);
    const wait = await Promise.race([taken, left]);
    // A head aborted during the take has left (rejected); a budget that take got stays spent.
    if (queue.waiters[0] !== head) continue;
    if (wait > 0) await pause(wait, left);
    else if (queue.waiters.shift()) head.go(Math.max(0, now() - head.since));
  }
  emptied();
}

/** `ms`, or less if `cut` settles first. */
function pause(ms: number, cut: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void cut.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Calls with the same budget keys form one queue, served in arrival order; only its head asks the
 * store. Other key lists queue apart: a call held back by its operation's budget does not hold up
 * other operations through a budget they share (IP-wide); the store keeps that one exact. A store
 * that fails lets the call go.
 */
export function createRateLimiter(options: { store?: LimiterStore; now?: () => number } = {}): RateLimiter {
  if (options.store !== undefined && typeof options.store?.take !== "function")
    throw new ConfigError("rateLimit.store must have a take(budgets, now) method (a LimiterStore)");
  const store = options.store ?? new MemoryLimiterStore();
  // Sub-ms: with Date.now, a second call of a key within one ms would wait even under a large budget.
  const now = options.now ?? (() => performance.timeOrigin + performance.now());
  const queues = new Map<string, Queue>();
  const serve = (id: string, queue: Queue) => {
    queue.serving = true;
    queues.set(id, queue);
    void serveQueue(store, now, queue, () => {
      queue.serving = false;
      queues.delete(id);
    });
  };
  return {
    tryAcquire(budgets) {
      if (!store.takeNow || !budgets.every(valid) || queues.has(idOf(budgets))) return false;
      try {
        return store.takeNow(budgets, now()) === 0;
      } catch {
        return true; // as in `acquire`: a store that fails lets the call go
      }
    },
    acquire: (budgets, signal, deadline) =>
      new Promise<number>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        if (!budgets.every(valid))
          return reject(new RangeError("rate limit: calls must be a positive integer, windowMs > 0"));
        if (!budgets.length) return resolve(0);
        const id = idOf(budgets);
        const queue = queues.get(id) ?? { waiters: [] };
        const aborted = () => {
          const at = queue.waiters.indexOf(waiter);
          if (at < 0) return;
          queue.waiters.splice(at, 1);
          if (at === 0) queue.wake?.();
          reject(signal?.reason);
        };
        const go = (ms: number) => {
          off?.();
          resolve(ms);
        };
        const waiter: Waiter = { budgets, since: now(), deadline, go };
        const off = signal && onAbort(signal, aborted);
        // One server per queue: a waiter that comes as the last one leaves joins the running server.
        queue.waiters.push(waiter);
        if (!queue.serving) serve(id, queue);
      }),
  };
}
