/**
 * `RedisLimiterStore`: rate-limit budgets shared by every process of an app through Redis, so that
 * four processes at 20 calls/s each do not make 80 calls/s against a 20 calls/s budget.
 *
 * @example
 * import { RedisLimiterStore } from "imspec/redis";
 * import { Redis } from "ioredis";
 * // One store per process, on the connection the process already has; give it to the client's
 * // rate-limit options. Four processes run this app: each limits itself to a quarter without Redis.
 * const store = new RedisLimiterStore(new Redis(process.env.REDIS_URL), { expectedProcesses: 4 });
 *
 * One Lua script takes a call from every budget of the call at once, or from none: the same
 * algorithm as `MemoryLimiterStore` (GCRA without a burst: one time per key, calls evenly paced),
 * timed by the Redis server's clock (`TIME`), so the processes' clocks need not agree. Each key
 * expires as soon as its budget is idle again.
 *
 * Redis is never a reason for a call to fail or hang: every command is bounded by
 * `commandTimeoutMs`. When Redis errs or does not answer in time, the store limits in this process
 * instead (each budget's calls divided by `expectedProcesses`, so the processes together stay about
 * within it), says so once through the logger, and asks Redis again every `retryMs` in the
 * background; when Redis answers, the budgets are shared again.
 */
import { createHash } from "node:crypto";
import { ConfigError } from "../core/errors.js";
import { type Budget, type LimiterStore, MemoryLimiterStore } from "../core/limiter.js";
import { checked, checkFunction, checkObject, MAX_WAIT_MS } from "../core/validate.js";
import { integerOf, type RedisClientLike, replyCode, type Send, sender } from "./client.js";

/**
 * KEYS: one key per budget, holding the earliest time (server ms) its next call may go; ARGV: per
 * key the ms between calls (`windowMs / calls`). Returns 0 when taken, else the ms until the latest
 * of those times. Each key expires once its time has passed: an absent key is an idle budget. PX is
 * 1 ms at least: a pace finer than the clock's resolution (10⁹ calls a second) adds nothing to `now`,
 * and `PX 0` would fail the script after it had set the keys before.
 *
 * No take leaves a time more than one pace ahead (and the 1 ms `%.3f` may round up by). A time
 * further ahead was written under a clock since set back (the key's expiry is a time too, as far
 * off), or is no number at all (`nan`, `inf`: not ours): each would hold every call for as long, or
 * let every call go. Such a key is set one pace from now, as if a call had just been taken.
 */
export const TAKE_SCRIPT = `local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local at = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local pace = tonumber(ARGV[i])
  local v = tonumber(redis.call("GET", key) or now)
  if not v or v ~= v or v > now + pace + 1 then
    v = now + pace
    redis.call("SET", key, string.format("%.3f", v), "PX", math.max(1, math.ceil(pace)))
  end
  at[i] = v
  wait = math.max(wait, v - now)
end
if wait > 0 then return math.ceil(wait) end
for i, key in ipairs(KEYS) do
  local next = math.max(at[i], now) + tonumber(ARGV[i])
  redis.call("SET", key, string.format("%.3f", next), "PX", math.max(1, math.ceil(next - now)))
end
return 0`;

const TAKE_SHA = createHash("sha1").update(TAKE_SCRIPT).digest("hex");

export interface RedisLimiterStoreOptions {
  /**
   * Prepended to every budget key. Default `{imspec:rate}:`: the braces put every limiter key in one
   * Redis Cluster hash slot, as a script that takes several budgets at once needs.
   */
  prefix?: string | undefined;
  /** How many processes share the budgets: while Redis is unreachable each takes 1/n of every budget. Default 1. */
  expectedProcesses?: number | undefined;
  /** The longest a Redis command may take before the store limits locally, in ms. Default 500. */
  commandTimeoutMs?: number | undefined;
  /** While limiting locally, how often to ask Redis again, in ms. Default 5000. */
  retryMs?: number | undefined;
  /** Told when the store falls back to local limits, and when it is back on Redis. Default `console.warn`. */
  logger?: ((message: string) => void) | undefined;
}

/** An option checked like every other, else its default. */
const option = (value: number | undefined, fallback: number, name: string, max = MAX_WAIT_MS): number =>
  checked(`RedisLimiterStore: ${name}`, value, fallback, 1, max);

/**
 * The store's own time (ms): how long Redis had, and when to ask it again. Monotonic, as the
 * limiter's: a wall clock set back an hour left the store local for the hour, and one set forward
 * while Redis was asked pushed the local pace on by as much.
 */
const elapsed = (): number => performance.now();

/** The least time a take gives Redis however little its caller has left (a healthy one answers in a few ms). */
const MIN_WITHIN_MS = 50;

/** `promise`'s value, or what `late` returns (or throws) if it has none after `ms`. */
function inTime<T, L>(promise: Promise<T>, ms: number, late: () => L): Promise<T | L> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const lateOne = new Promise<L>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(late());
      } catch (error) {
        reject(error);
      }
    }, ms);
  });
  return Promise.race([promise, lateOne]).finally(() => clearTimeout(timer));
}

/**
 * One process's share of a budget while it limits locally: `calls / processes` a window, rounded
 * down so the shares never add up to more. A budget of fewer calls than processes cannot give each
 * a whole call a window: each gets one call per `processes / calls` windows, the same pace in all.
 */
function shareOf(b: Budget, processes: number): Budget {
  const calls = Math.floor(b.calls / processes);
  return calls >= 1 ? { ...b, calls } : { ...b, calls: 1, windowMs: (b.windowMs * processes) / b.calls };
}

export class RedisLimiterStore implements LimiterStore {
  readonly #send: Send;
  readonly #prefix: string;
  readonly #processes: number;
  readonly #timeoutMs: number;
  readonly #retryMs: number;
  readonly #log: (message: string) => void;
  /** Where budgets are counted while Redis is unreachable, and for callers that cannot wait for it. */
  readonly #memory = new MemoryLimiterStore();
  /** Set while Redis is unreachable. */
  #down = false;
  #retryAt = 0;
  #probing = false;
  /** The budgets of the last take Redis failed: what the store asks it again with. */
  #failed: readonly Budget[] = [];

  /** `client`: a connected ioredis (also Cluster) or node-redis client; the store never closes it. */
  constructor(client: RedisClientLike, options: RedisLimiterStoreOptions = {}) {
    this.#send = sender(client, "RedisLimiterStore");
    checkObject("RedisLimiterStore: options", options);
    if (options.prefix !== undefined && typeof options.prefix !== "string")
      throw new ConfigError("RedisLimiterStore: prefix must be a string");
    checkFunction("RedisLimiterStore: logger", options.logger);
    this.#prefix = options.prefix ?? "{imspec:rate}:";
    this.#processes = Math.ceil(
      option(options.expectedProcesses, 1, "expectedProcesses", Number.MAX_SAFE_INTEGER),
    );
    this.#timeoutMs = option(options.commandTimeoutMs, 500, "commandTimeoutMs");
    this.#retryMs = option(options.retryMs, 5_000, "retryMs");
    const logger = options.logger ?? ((message: string) => console.warn(message));
    this.#log = (message) => {
      try {
        // A logger that returns a rejected promise must not become an unhandled rejection.
        void Promise.resolve(logger(message) as unknown).catch(() => undefined);
      } catch {
        // A broken logger must not break the call.
      }
    };
  }

  /** Whether budgets are counted locally right now (Redis unreachable). */
  get local(): boolean {
    return this.#down;
  }

  async take(budgets: readonly Budget[], now: number, within?: number): Promise<number> {
    const asked = elapsed();
    if (!this.#down) {
      const taken = this.#take(budgets).catch((error: unknown) => void this.#fallBack(error, budgets));
      // A caller that cannot wait `commandTimeoutMs` is limited locally once Redis has had its time;
      // the command goes on, and its timeout still decides whether Redis is down.
      // Never under MIN_WITHIN_MS: a queued call's later takes have little time left, and a healthy
      // Redis must still be the one that answers them, or the processes would share no budget.
      const bound = Number.isFinite(within) ? Math.max(within as number, MIN_WITHIN_MS) : this.#timeoutMs;
      const wait = await (bound >= this.#timeoutMs ? taken : inTime(taken, bound, () => undefined));
      if (wait !== undefined) return wait;
    } else this.#probe();
    const share = budgets.map((b) => shareOf(b, this.#processes));
    // `now` was read before Redis had its time: counted from then, a burst would go at once.
    // Whole ms, as `now` may be (Date.now()): a fraction more would read as one ms more to wait.
    return this.#memory.take(share, now + Math.floor(elapsed() - asked));
  }

  async #take(budgets: readonly Budget[]): Promise<number> {
    const keys = budgets.map((b) => this.#keyOf(b));
    const args = budgets.map((b) => String(b.windowMs / b.calls));
    let answer: unknown;
    try {
      answer = await this.#bounded("EVALSHA", TAKE_SHA, keys.length, ...keys, ...args);
    } catch (error) {
      // The first take on a server (or after SCRIPT FLUSH) loads the script.
      if (!String((error as Error)?.message).startsWith("NOSCRIPT")) throw error;
      answer = await this.#bounded("EVAL", TAKE_SCRIPT, keys.length, ...keys, ...args);
    }
    // The script answers an integer from 0: anything else (nil, "", an array, which Number() reads
    // as 0, or one below 0, read as none to wait) is not Redis granting the take, and would let every
    // call through. Nor does it answer a wait longer than the longest pace of the take (it sets no
    // time further ahead, and the 1 ms `%.3f` may round up by): such a wait held every call of the
    // budgets until its timeout.
    const wait = integerOf(answer);
    const longest = budgets.reduce((most, b) => Math.max(most, b.windowMs / b.calls), 0);
    if (!Number.isFinite(wait) || wait < 0 || wait > Math.ceil(longest) + 1)
      throw new TypeError("unexpected answer to the rate-limit script");
    return wait;
  }

  /** A budget's Redis key. One key may have budgets of several windows (per minute and per hour): each counts apart. */
  #keyOf(b: Budget): string {
    return `${this.#prefix}${b.key}:${b.windowMs}`;
  }

  /** One command, rejected after `commandTimeoutMs` (the command itself may still complete later). */
  #bounded(...args: Array<string | number>): Promise<unknown> {
    return inTime(this.#send(...args), this.#timeoutMs, () => {
      throw new Error(`no answer within ${this.#timeoutMs} ms`);
    });
  }

  #fallBack(error: unknown, budgets: readonly Budget[]): void {
    this.#failed = budgets;
    this.#retryAt = elapsed() + this.#retryMs;
    if (this.#down) return;
    this.#down = true;
    // The reason names no host, port or password: an error code, a class name, or the timeout.
    const e = error as { code?: unknown; name?: unknown; message?: unknown };
    let reason = typeof e?.name === "string" ? e.name : "Error";
    if (typeof e?.code === "string") reason = e.code;
    else if (String(e?.message).startsWith("no answer")) reason = String(e.message);
    // An error about the take's keys (one of another type, one the client's ACL does not allow)
    // names them, so that the operator can find the key and delete it. They hold no secret: the API,
    // its origin, a hash of the app's ids, the operation. Redis does not say which of several it was.
    const message = typeof e?.message === "string" ? e.message : "";
    const code = replyCode(error);
    let keys = "";
    if (code === "WRONGTYPE" || (code === "NOPERM" && /\bkeys?\b/.test(message))) {
      const names = budgets.map((b) => JSON.stringify(this.#keyOf(b)));
      keys = `: ${code} on ${names.length > 1 ? "one of the keys" : "key"} ${names.join(", ")}`;
    }
    this.#log(
      `imspec: the Redis rate-limit store failed (${reason})${keys}; limiting in this process at 1/${this.#processes} of each budget, asking Redis again every ${this.#retryMs / 1000} s`,
    );
  }

  /**
   * While local: asks Redis once per `retryMs`, in the background, and goes back to it when it
   * answers. What it asks is the take that failed, over the same budgets: a Redis that answers PING
   * but refuses the script (an ACL without EVAL), or a budget's key of another type (a list: the
   * script's GET fails on it), is still down for the budgets, and going back to it would fail the
   * next take and log both again, every `retryMs`. The take that answers takes a call of those
   * budgets in Redis, once per return: the processes count one call more, never one less.
   */
  #probe(): void {
    if (this.#probing || elapsed() < this.#retryAt) return;
    this.#probing = true;
    this.#take(this.#failed).then(
      () => {
        this.#probing = false;
        this.#down = false;
        this.#log("imspec: the Redis rate-limit store answers again; budgets are shared again");
      },
      () => {
        this.#probing = false;
        this.#retryAt = elapsed() + this.#retryMs;
      },
    );
  }
}
