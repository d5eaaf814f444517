import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { createDingTalk } from "imspec/dingtalk";
import { RedisLimiterStore } from "imspec/redis";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createRateLimiter } from "../../src/core/limiter.js";
import { freePort, type RedisServer, startRedis } from "../support/redis-server.js";
import { type ForkedWorker, forkWorker, stopWorkers, within } from "../support/workers.js";
import type { WorkerConfig, WorkerReport } from "./workers/limiter-worker.js";

const WORKER = path.join(import.meta.dirname, "workers/limiter-worker.ts");
/** The documented per-app, per-API budget (reference dingtalk-contact.md §5.3, the spec's x-imspec-rate-limits). */
const QPS = 20;
/**
 * Added to each window by the workers: a call let go at the very edge of a window reaches the server
 * some ms later than the call it replaces did, on a machine shared with other tests.
 */
const MARGIN_MS = 50;

let redis: RedisServer;
let prefix: string;
let testNumber = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
beforeEach(() => {
  prefix = `{rate-test-${++testNumber}}:`;
});

/**
 * A DingTalk-shaped gateway on loopback: at most `limit` accepted calls per key in any 1 000 ms
 * (a sliding window, the strictest reading of "20 calls/s"); over it, DingTalk's 403 answer.
 */
async function gateway(options: { limit: number; key: (pathname: string) => string }) {
  const accepted = new Map<string, number[]>();
  const arrivals: Array<{ key: string; at: number; throttled: boolean }> = [];
  const server: Server = createServer((req, res) => {
    const at = performance.now();
    if (req.url === "/warm-up") return void res.end("{}");
    const key = options.key(new URL(req.url ?? "/", "http://x").pathname);
    const times = accepted.get(key) ?? [];
    accepted.set(key, times);
    while (times.length && (times[0] as number) <= at - 1_000) times.shift();
    const throttled = times.length >= options.limit;
    arrivals.push({ key, at, throttled });
    res.setHeader("content-type", "application/json");
    if (throttled) {
      res.statusCode = 403;
      res.end(
        JSON.stringify({
          code: "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
          message: "App api flow control limit",
          requestid: `req-${arrivals.length}`,
        }),
      );
      return;
    }
    times.push(at);
    res.end(JSON.stringify({ result: true }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrivals,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const DEFAULTS = {
  operations: 1,
  limiter: true,
  limits: [{ calls: QPS, seconds: 1, scope: "app-operation" as const }],
  marginMs: MARGIN_MS,
  expectedProcesses: 1,
  commandTimeoutMs: 500,
  retryMs: 5_000,
};

let workers: Array<ForkedWorker<WorkerReport>> = [];
afterEach(async () => {
  await stopWorkers(workers);
  workers = [];
});

function startWorker(
  config: Omit<WorkerConfig, "redisUrl" | "prefix" | keyof typeof DEFAULTS> & Partial<WorkerConfig>,
): ForkedWorker<WorkerReport> {
  const worker = forkWorker<WorkerReport>(config.worker, WORKER, {
    IMSPEC_WORKER: JSON.stringify({ ...DEFAULTS, redisUrl: redis.url, prefix, ...config }),
  });
  workers.push(worker);
  return worker;
}

/** Starts the workers, waits until all are ready, says `go` to all, returns their reports. */
async function run(configs: Array<Parameters<typeof startWorker>[0]>, during?: () => Promise<void>) {
  const started = configs.map(startWorker);
  await within(20_000, "workers ready", Promise.all(started.map((w) => w.ready)));
  for (const w of started) w.child.send("go");
  const reports = Promise.all(started.map((w) => w.report));
  await during?.();
  return within(25_000, "workers done", reports);
}

/** The most calls of one key that arrived within any `windowMs`. */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[j] as number) <= (sorted[i] as number) - windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe("RedisLimiterStore against a real redis-server", () => {
  const clients: Redis[] = [];
  const client = () => {
    const c = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    c.on("error", () => undefined);
    clients.push(c);
    return c;
  };
  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
  });

  it("the script: an idle budget lets a call go, the next waits windowMs / calls; keys expire when idle", async () => {
    const store = new RedisLimiterStore(client(), { prefix });
    const b = [{ key: "app-1:op", calls: 4, windowMs: 1_000 }];
    expect(await store.take(b, 0)).toBe(0);
    const wait = await store.take(b, 0);
    expect(wait).toBeGreaterThan(200);
    expect(wait).toBeLessThanOrEqual(250);
    const ttl = await client().pttl(`${prefix}app-1:op:1000`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(250);
    await new Promise((r) => setTimeout(r, wait));
    expect(await store.take(b, 0)).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(await client().exists(`${prefix}app-1:op:1000`)).toBe(0);
  });

  it("all or nothing across keys, atomically: a refused call takes from none of its budgets", async () => {
    const store = new RedisLimiterStore(client(), { prefix });
    const op = { key: "app-1:op", calls: 1, windowMs: 5_000 };
    const ip = { key: "ip", calls: 5, windowMs: 5_000 }; // a call per 1 000 ms
    expect(await store.take([op, ip], 0)).toBe(0);
    for (let i = 0; i < 5; i++) expect(await store.take([op, ip], 0)).toBeGreaterThan(4_000);
    // Had the refused calls taken from `ip`, its next call would be 5 s away, not 1.
    const wait = await store.take([ip], 0);
    expect(wait).toBeGreaterThan(800);
    expect(wait).toBeLessThanOrEqual(1_000);
  });

  it("a budget of more calls than Redis's clock can tell apart (an override meaning 'no limit') is taken, not an error", async () => {
    // 1e9 calls a second: a call every 1e-6 ms, under the resolution of a ms timestamp near 1.7e12,
    // so the key's next time is the server's time itself and its expiry would be 0 ms.
    const logs: string[] = [];
    const store = new RedisLimiterStore(client(), { prefix, logger: (m) => logs.push(m) });
    const ip = { key: "ip", calls: 2, windowMs: 10_000 };
    const huge = { key: "app-1", calls: 1_000_000_000, windowMs: 1_050 };
    expect(await store.take([ip, huge], 0)).toBe(0);
    expect(await store.take([huge], 0)).toBe(0);
    // The budgets stay shared through Redis: the IP-wide one is counted there, not in this process.
    expect(logs).toEqual([]);
    expect(store.local).toBe(false);
    expect(await store.take([ip, huge], 0)).toBeGreaterThan(4_000);
  });

  it("a time further ahead than one pace (Redis's clock set back since it was written) costs one pace, not the jump", async () => {
    const logs: string[] = [];
    const raw = client();
    const store = new RedisLimiterStore(client(), { prefix, logger: (m) => logs.push(m) });
    const b = [{ key: "jumped", calls: 10, windowMs: 1_000 }]; // a call per 100 ms
    const [seconds] = await raw.time();
    // Written an hour ahead of Redis's clock now: as its clock, set back by an hour, leaves every
    // key (and the key's expiry with it, which Redis keeps as a time too).
    const hourAhead = Number(seconds) * 1000 + 3_600_000;
    await raw.set(`${prefix}jumped:1000`, String(hourAhead), "PX", 3_600_000);
    const wait = await store.take(b, 0);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(101);
    await new Promise((r) => setTimeout(r, wait + 5));
    expect(await store.take(b, 0)).toBe(0);
    // And on at the budget's pace, counted in Redis.
    expect(await store.take(b, 0)).toBeGreaterThan(50);
    expect(store.local).toBe(false);
    expect(logs).toEqual([]);
  });

  it.each(["inf", "nan", "-nan", "1e999"])(
    "a budget key holding %s (no time Redis could have written) never lets every call go",
    async (value) => {
      const raw = client();
      const store = new RedisLimiterStore(client(), { prefix, logger() {} });
      const b = [{ key: "odd", calls: 2, windowMs: 1_000 }]; // a call per 500 ms
      await raw.set(`${prefix}odd:1000`, value, "PX", 60_000);
      const waits: number[] = [];
      for (let i = 0; i < 4; i++) waits.push(await store.take(b, Date.now()));
      // At most one of four goes within the half second, wherever they are counted.
      expect(waits.filter((w) => w === 0).length, waits.join(", ")).toBeLessThanOrEqual(1);
    },
  );

  it("processes share the budget: two stores on one key keep to one pace", async () => {
    const a = new RedisLimiterStore(client(), { prefix });
    const b = new RedisLimiterStore(client(), { prefix });
    const budget = [{ key: "shared", calls: 2, windowMs: 1_000 }];
    expect(await a.take(budget, 0)).toBe(0);
    expect(await b.take(budget, 0)).toBeGreaterThan(400);
  });

  it("Redis unreachable: limits locally at 1/expectedProcesses, says so once, never fails", async () => {
    const logs: string[] = [];
    const port = await freePort();
    const down = new Redis(`redis://:secret-pw@127.0.0.1:${port}`, {
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    });
    down.on("error", () => undefined);
    clients.push(down);
    const store = new RedisLimiterStore(down, {
      prefix,
      expectedProcesses: 4,
      commandTimeoutMs: 300,
      logger: (m) => logs.push(m),
    });
    const b = [{ key: "k", calls: 20, windowMs: 1_000 }];
    const started = performance.now();
    const answers: number[] = [];
    for (let i = 0; i < 8; i++) answers.push(await store.take(b, Date.now()));
    expect(performance.now() - started).toBeLessThan(1_500);
    // 20 / 4 = 5 calls per 1 000 ms in this process: one per 200 ms.
    expect(answers[0]).toBe(0);
    expect(answers[1]).toBeGreaterThan(150);
    expect(answers[1]).toBeLessThanOrEqual(200);
    expect(store.local).toBe(true);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/limiting in this process at 1\/4/);
    expect(logs[0]).not.toContain("secret-pw");
    expect(logs[0]).not.toContain(String(port));
  });

  it("Redis unreachable, a budget of fewer calls than processes: the local shares still add up to it", async () => {
    const down = {
      call: async () => {
        throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
      },
    };
    const store = new RedisLimiterStore(down, { expectedProcesses: 4, logger() {} });
    // 2 calls a second for 4 processes: half a call a second each, a call every 2 s.
    const b = [{ key: "k", calls: 2, windowMs: 1_000 }];
    expect(await store.take(b, 0)).toBe(0);
    const wait = await store.take(b, 0);
    expect(wait).toBeGreaterThan(1_900);
    expect(wait).toBeLessThanOrEqual(2_000);
  });

  it("an answer that is not the script's integer (nil, empty, a list, below 0, over a pace) grants nothing: the store counts locally", async () => {
    // A negative integer is what Redis makes of a Lua infinity (-2⁶³), never a wait the script gives;
    // nor is one longer than the budget's pace (60 s here), which held every call until its timeout.
    for (const answer of [null, undefined, "", [], {}, "ok", -1, -(2 ** 63), 10 ** 12, "60002"]) {
      const logs: string[] = [];
      const store = new RedisLimiterStore({ call: async () => answer }, { logger: (m) => logs.push(m) });
      const b = [{ key: "k", calls: 1, windowMs: 60_000 }];
      expect(await store.take(b, Date.now())).toBe(0);
      // The minute's one call is taken: the next waits, counted here, not granted by the answer.
      expect(await store.take(b, Date.now())).toBeGreaterThan(50_000);
      expect(store.local).toBe(true);
      expect(logs).toHaveLength(1);
    }
  });

  it("a client that throws instead of rejecting: counted locally, then back on Redis once it answers", async () => {
    let broken = true;
    const store = new RedisLimiterStore(
      {
        call: (command: string) => {
          if (broken) throw new Error("connection is closed");
          return Promise.resolve(command === "PING" ? "PONG" : 0);
        },
      },
      { retryMs: 50, logger() {} },
    );
    const b = [{ key: "k", calls: 1_000, windowMs: 1_000 }];
    const pause = () => new Promise((r) => setTimeout(r, 80));
    expect(await store.take(b, Date.now())).toBe(0);
    expect(store.local).toBe(true);
    await pause();
    // The probe meets the throw too: this take is still counted locally, and the probe is tried again.
    expect(await store.take(b, Date.now())).toBe(0);
    broken = false;
    await pause();
    await store.take(b, Date.now());
    await pause();
    expect(store.local).toBe(false);
  });

  it("a Redis that answers but refuses the script (an ACL without EVAL) stays local, said once, not back and forth", async () => {
    const admin = client();
    const user = `no-scripts-${testNumber}`;
    await admin.call("ACL", "SETUSER", user, "on", ">user-pw", "~*", "+@all", "-eval", "-evalsha");
    const limited = new Redis(`redis://${user}:user-pw@127.0.0.1:${redis.port}`, { maxRetriesPerRequest: 1 });
    limited.on("error", () => undefined);
    clients.push(limited);
    const logs: string[] = [];
    const store = new RedisLimiterStore(limited, { prefix, retryMs: 50, logger: (m) => logs.push(m) });
    const b = [{ key: "k", calls: 1_000, windowMs: 1_000 }];
    // A take every 10 ms for half a second: ten times the store asks Redis again.
    for (const until = Date.now() + 500; Date.now() < until; ) {
      expect(await store.take(b, Date.now())).toBeLessThanOrEqual(1);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(store.local).toBe(true);
    expect(logs, logs.join("\n")).toHaveLength(1);
    expect(logs[0]).toMatch(/failed \(ReplyError\)/);
    // Refused for every key alike: naming one would send the operator after the wrong thing.
    expect(logs[0]).not.toContain(prefix);
  });

  it("a key error as Redis before 7 words it (wrapped in ERR Error running script): the key is named too", async () => {
    const logs: string[] = [];
    const refusing = {
      call: async () => {
        throw Object.assign(
          new Error(
            "ERR Error running script (call to f_0123abcd): @user_script:5: WRONGTYPE Operation against a key holding the wrong kind of value",
          ),
          { name: "ReplyError" },
        );
      },
    };
    const store = new RedisLimiterStore(refusing, { prefix, logger: (m) => logs.push(m) });
    expect(await store.take([{ key: "old", calls: 1_000, windowMs: 1_000 }], Date.now())).toBeLessThanOrEqual(
      1,
    );
    expect(logs, logs.join("\n")).toHaveLength(1);
    expect(logs[0]).toContain(`failed (ReplyError): WRONGTYPE on key "${prefix}old:1000";`);
  });

  it("a budget key the client's ACL does not allow: the fallback names the keys of the take, and no password", async () => {
    const admin = client();
    const user = `other-keys-${testNumber}`;
    await admin.call("ACL", "SETUSER", user, "on", ">user-pw", "~other:*", "+@all");
    const limited = new Redis(`redis://${user}:user-pw@127.0.0.1:${redis.port}`, { maxRetriesPerRequest: 1 });
    limited.on("error", () => undefined);
    clients.push(limited);
    const logs: string[] = [];
    const store = new RedisLimiterStore(limited, { prefix, logger: (m) => logs.push(m) });
    const b = [
      { key: "a", calls: 1_000, windowMs: 1_000 },
      { key: "b", calls: 1_000, windowMs: 60_000 },
    ];
    expect(await store.take(b, Date.now())).toBeLessThanOrEqual(1);
    expect(store.local).toBe(true);
    expect(logs, logs.join("\n")).toHaveLength(1);
    // Redis does not say which of the two it refused.
    expect(logs[0]).toContain(
      `failed (ReplyError): NOPERM on one of the keys "${prefix}a:1000", "${prefix}b:60000";`,
    );
    expect(logs[0]).not.toContain("user-pw");
    expect(logs[0]).not.toContain("127.0.0.1");
  });

  it.each([
    ["a list", (raw: Redis, key: string) => raw.rpush(key, "not a time")],
    ["a hash", (raw: Redis, key: string) => raw.hset(key, "at", "1")],
  ])(
    "a budget key holding %s (no string) stays local while it does, said once, not back and forth",
    async (_, write) => {
      const raw = client();
      const logs: string[] = [];
      const store = new RedisLimiterStore(client(), { prefix, retryMs: 50, logger: (m) => logs.push(m) });
      const bad = [{ key: "typed", calls: 1_000, windowMs: 1_000 }];
      const good = [{ key: "fine", calls: 1_000, windowMs: 1_000 }];
      await write(raw, `${prefix}typed:1000`);
      // Takes of the broken budget and of a sound one, every 10 ms for half a second: ten times the
      // store asks Redis again.
      for (const until = Date.now() + 500; Date.now() < until; ) {
        expect(await store.take(bad, Date.now())).toBeLessThanOrEqual(1);
        expect(await store.take(good, Date.now())).toBeLessThanOrEqual(1);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(store.local).toBe(true);
      expect(logs, logs.join("\n")).toHaveLength(1);
      expect(logs[0]).toMatch(/failed \(ReplyError\)/);
      // Named, so that it can be found and deleted; the server is not.
      expect(logs[0]).toContain(`: WRONGTYPE on key "${prefix}typed:1000";`);
      expect(logs[0]).not.toContain("127.0.0.1");
      // Once the key is gone, the store is back on Redis within retryMs or so, and says so once.
      await raw.del(`${prefix}typed:1000`);
      for (let i = 0; i < 20 && store.local; i++) {
        await new Promise((r) => setTimeout(r, 20));
        await store.take(bad, Date.now());
      }
      expect(store.local).toBe(false);
      expect(logs, logs.join("\n")).toHaveLength(2);
      expect(logs[1]).toMatch(/answers again/);
    },
  );

  it("a budget key holding a string that is no time is read as an idle budget's: no fallback, nothing logged", async () => {
    const raw = client();
    const logs: string[] = [];
    const store = new RedisLimiterStore(client(), { prefix, logger: (m) => logs.push(m) });
    const b = [{ key: "text", calls: 2, windowMs: 1_000 }]; // a call per 500 ms
    await raw.set(`${prefix}text:1000`, "not a time");
    const before = performance.now();
    expect(await store.take(b, Date.now())).toBeLessThanOrEqual(501);
    const second = await store.take(b, Date.now());
    // The first take counted: the second waits out the rest of its 500 ms, less what passed between
    // the two (at most what the two round trips took, however loaded the machine).
    expect(second).toBeGreaterThan(500 - (performance.now() - before) - 5);
    expect(second).toBeLessThanOrEqual(501);
    expect(store.local).toBe(false);
    expect(logs).toEqual([]);
  });

  it("the wall clock set back while limiting locally: Redis is still asked again every retryMs", async () => {
    let broken = true;
    const store = new RedisLimiterStore(
      {
        call: async () => {
          if (broken) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
          return 0;
        },
      },
      { retryMs: 50, logger() {} },
    );
    const b = [{ key: "k", calls: 1_000, windowMs: 1_000 }];
    expect(await store.take(b, Date.now())).toBe(0);
    expect(store.local).toBe(true);
    broken = false;
    // An NTP step (or a VM resumed) sets the clock an hour back.
    const wall = Date.now;
    const jumped = vi.spyOn(Date, "now").mockImplementation(() => wall() - 3_600_000);
    try {
      for (let i = 0; i < 10 && store.local; i++) {
        await new Promise((r) => setTimeout(r, 60));
        await store.take(b, Date.now());
      }
      expect(store.local).toBe(false);
    } finally {
      jumped.mockRestore();
    }
  });

  it("the wall clock set forward while Redis is asked: the local pace is not pushed on by the jump", async () => {
    let ahead = 0;
    const wall = Date.now;
    const jumped = vi.spyOn(Date, "now").mockImplementation(() => wall() + ahead);
    try {
      const store = new RedisLimiterStore(
        {
          call: async () => {
            ahead = 3_600_000; // stepped an hour on while the command was out
            throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
          },
        },
        { logger() {} },
      );
      const b = [{ key: "k", calls: 10, windowMs: 1_000 }];
      // The limiter's own clock, which no step moves.
      const now = () => performance.timeOrigin + performance.now();
      expect(await store.take(b, now())).toBe(0);
      expect(await store.take(b, now())).toBeLessThanOrEqual(100);
    } finally {
      jumped.mockRestore();
    }
  });

  it("falling back after Redis had its time, the local pace starts then: no two calls at once", async () => {
    // A Redis that never answers: the first takes wait out commandTimeoutMs, then count locally.
    const store = new RedisLimiterStore(
      { call: () => new Promise(() => {}) },
      { commandTimeoutMs: 300, logger() {} },
    );
    const limiter = createRateLimiter({ store });
    const b = [{ key: "k", calls: 5, windowMs: 1_000 }];
    const started = performance.now();
    const at: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, () => limiter.acquire(b).then(() => at.push(performance.now() - started))),
    );
    at.sort((x, y) => x - y);
    // One per 200 ms from the fallback on: in no 1 000 ms more than 5, and no two together.
    const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThan(150);
    expect((at[5] as number) - (at[0] as number)).toBeGreaterThanOrEqual(950);
  });

  it("Redis frozen (SIGSTOP): the take ends within commandTimeoutMs, locally; after SIGCONT the store goes back to Redis", async () => {
    const logs: string[] = [];
    const store = new RedisLimiterStore(client(), {
      prefix,
      commandTimeoutMs: 200,
      retryMs: 300,
      logger: (m) => logs.push(m),
    });
    const b = [{ key: "k", calls: 100_000, windowMs: 1_000 }];
    expect(await store.take(b, Date.now())).toBe(0);
    const pid = await redisPid();
    process.kill(pid, "SIGSTOP");
    try {
      const started = performance.now();
      expect(await store.take(b, Date.now())).toBeLessThanOrEqual(1);
      expect(performance.now() - started).toBeLessThan(450);
      for (let i = 0; i < 20; i++) expect(await store.take(b, Date.now())).toBeLessThanOrEqual(1);
      expect(store.local).toBe(true);
      // A probe while Redis is still frozen times out in the background; calls never wait for it.
      await new Promise((r) => setTimeout(r, 350));
      const during = performance.now();
      await store.take(b, Date.now());
      expect(performance.now() - during).toBeLessThan(50);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await backOnRedis(store);
    expect(logs.filter((m) => m.includes("failed"))).toHaveLength(1);
    expect(logs.filter((m) => m.includes("answers again"))).toHaveLength(1);
  });

  it("a healthy Redis answers a take however little time its caller has left: the budget stays shared", async () => {
    const a = new RedisLimiterStore(client(), { prefix });
    // A healthy Redis a few ms away, as over a network: slower than a caller with no time left.
    const near = client();
    const distant = {
      call: async (command: string, ...args: Array<string | number>) => {
        await new Promise((r) => setTimeout(r, 5));
        return near.call(command, ...args);
      },
    };
    const b = new RedisLimiterStore(distant, { prefix });
    const budget = [{ key: "late", calls: 1, windowMs: 5_000 }];
    expect(await a.take(budget, 0)).toBe(0);
    // A queued call's later takes come past half its time (`within` ≤ 0): still Redis's answer, a
    // wait, not a local share that knows nothing of process a's call.
    for (const within of [0, -100, Number.NaN])
      expect(await b.take(budget, 0, within)).toBeGreaterThan(4_000);
    expect(b.local).toBe(false);
  });

  it("Redis frozen: a call whose timeout is under commandTimeoutMs still goes, limited locally", async () => {
    const server = await gateway({ limit: 1_000, key: (p) => p });
    const logs: string[] = [];
    // commandTimeoutMs stays at its default, 500 ms: longer than the calls' 300 ms timeout.
    const store = new RedisLimiterStore(client(), { prefix, retryMs: 300, logger: (m) => logs.push(m) });
    const dt = createDingTalk({
      baseUrl: server.url,
      accessToken: "tok",
      rateLimit: { store },
      timeout: 300,
    });
    const pid = await redisPid();
    try {
      await dt.contact.getLatestDingIndex();
      process.kill(pid, "SIGSTOP");
      // Redis has half of each call's time to answer; then the call is limited in this process.
      for (let i = 0; i < 3; i++)
        await expect(dt.contact.getLatestDingIndex()).resolves.toEqual({ result: true });
      expect(server.arrivals).toHaveLength(4);
      // The command's own timeout still decides that Redis is down: once, in the background.
      await new Promise((r) => setTimeout(r, 600));
      expect(store.local).toBe(true);
    } finally {
      process.kill(pid, "SIGCONT");
      await server.stop();
    }
    await backOnRedis(store);
    expect(logs.filter((m) => m.includes("failed"))).toHaveLength(1);
  });
});

/** Takes until the store is back on Redis (it probes every `retryMs`), for at most 3 s. */
async function backOnRedis(store: RedisLimiterStore): Promise<void> {
  const b = [{ key: "k", calls: 100_000, windowMs: 1_000 }];
  const until = Date.now() + 3_000;
  while (store.local && Date.now() < until) {
    await store.take(b, Date.now());
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(store.local).toBe(false);
}

async function redisPid(): Promise<number> {
  const c = new Redis(redis.url);
  try {
    const info = await c.info("server");
    return Number(/process_id:(\d+)/.exec(info)?.[1]);
  } finally {
    c.disconnect();
  }
}

describe("4 processes share one budget through Redis (loopback gateway at 20 calls/s per key)", () => {
  const WORKERS = 4;
  const CALLS = 200;
  const OPERATIONS = 8;

  it(`${WORKERS} × ${CALLS} calls over ${OPERATIONS} operations: no throttled answer, ≥ 85% of the allowed rate; without the limiter, throttled`, async () => {
    const server = await gateway({ limit: QPS, key: (p) => p });
    try {
      const configs = (limiter: boolean) =>
        Array.from({ length: WORKERS }, (_, i) => ({
          worker: `w${i}`,
          serverUrl: server.url,
          calls: CALLS,
          operations: OPERATIONS,
          limiter,
          // As a deployment of 4 processes would say: should Redis be slow to answer on this busy
          // machine, each process limits itself to a quarter.
          expectedProcesses: WORKERS,
        }));
      const reports = await run(configs(true));
      const arrivals = [...server.arrivals];
      expect(reports.map((r) => r.failures)).toEqual(reports.map(() => []));
      const throttled = reports.reduce((n, r) => n + r.throttled, 0);
      expect(reports.reduce((n, r) => n + r.ok, 0)).toBe(WORKERS * CALLS);
      expect(throttled).toBe(0);
      // The rate each key achieved at the server: (calls − 1) / (last − first).
      const rates = [...new Set(arrivals.map((a) => a.key))].map((key) => {
        const times = arrivals.filter((a) => a.key === key).map((a) => a.at);
        return (times.length - 1) / ((Math.max(...times) - Math.min(...times)) / 1_000);
      });
      const slowest = Math.min(...rates);
      expect(rates).toHaveLength(OPERATIONS);
      expect(slowest).toBeGreaterThanOrEqual(0.85 * QPS);

      // The control: the same calls without the limiter.
      server.arrivals.length = 0;
      await new Promise((r) => setTimeout(r, 1_100));
      const control = await run(configs(false));
      const controlThrottled = control.reduce((n, r) => n + r.throttled, 0);
      // How many depends on how fast this machine serves the burst: a quarter is far beyond any noise.
      expect(controlThrottled).toBeGreaterThan((WORKERS * CALLS) / 4);
      console.info(
        `rate-limit: with the limiter ${throttled} throttled, slowest key at ${slowest.toFixed(2)} calls/s (${((slowest / QPS) * 100).toFixed(1)}% of ${QPS}), mean ${(rates.reduce((a, b) => a + b, 0) / rates.length).toFixed(2)}; without it ${controlThrottled} of ${WORKERS * CALLS} throttled`,
      );
    } finally {
      await server.stop();
    }
  }, 90_000);

  it("IP guard (scaled down to 50 calls / 1 s, scope ip): a burst of 120 is spread out, not sent at once", async () => {
    const IP_CALLS = 50;
    const server = await gateway({ limit: IP_CALLS, key: () => "ip" });
    try {
      const configs = (limiter: boolean) =>
        Array.from({ length: 2 }, (_, i) => ({
          worker: `w${i}`,
          serverUrl: server.url,
          calls: 60,
          operations: 6,
          limiter,
          limits: [{ calls: IP_CALLS, seconds: 1, scope: "ip" as const }],
        }));
      const reports = await run(configs(true));
      const times = server.arrivals.map((a) => a.at);
      expect(reports.map((r) => [r.ok, r.throttled, r.failures])).toEqual(reports.map(() => [60, 0, []]));
      expect(busiestWindow(times, 1_000)).toBeLessThanOrEqual(IP_CALLS);
      // Paced at one call per ~21 ms: about 24 in the first 500 ms, 120 over about 2.5 s.
      const first = Math.min(...times);
      expect(times.filter((t) => t < first + 500).length).toBeLessThanOrEqual(IP_CALLS / 2);
      expect(Math.max(...times) - first).toBeGreaterThanOrEqual(2_000);
      expect(Math.max(...times) - first).toBeLessThan(4_000);

      server.arrivals.length = 0;
      await new Promise((r) => setTimeout(r, 1_100));
      const control = await run(configs(false));
      expect(control.reduce((n, r) => n + r.throttled, 0)).toBeGreaterThanOrEqual(120 - IP_CALLS);
    } finally {
      await server.stop();
    }
  }, 60_000);

  it("Redis frozen mid-run (SIGSTOP): the calls go on through the local fallback, logged once per process", async () => {
    const server = await gateway({ limit: 40, key: (p) => p });
    const pid = await redisPid();
    let frozenAt = 0;
    let thawedAt = 0;
    try {
      const configs = Array.from({ length: 2 }, (_, i) => ({
        worker: `w${i}`,
        serverUrl: server.url,
        calls: 80,
        limits: [{ calls: 40, seconds: 1, scope: "app-operation" as const }],
        expectedProcesses: 2,
        commandTimeoutMs: 200,
        retryMs: 1_000,
      }));
      const reports = await run(configs, async () => {
        await new Promise((r) => setTimeout(r, 700));
        process.kill(pid, "SIGSTOP");
        frozenAt = Date.now();
        await new Promise((r) => setTimeout(r, 2_000));
        process.kill(pid, "SIGCONT");
        thawedAt = Date.now();
      });
      expect(reports.map((r) => [r.ok + r.throttled, r.failures])).toEqual(reports.map(() => [80, []]));
      for (const r of reports) {
        expect(r.logs.filter((m) => m.includes("failed"))).toHaveLength(1);
        // No send waited for the frozen Redis: the longest pause between two sends stays far below the freeze.
        const sent = [...r.sentAt].sort((a, b) => a - b);
        const gaps = sent.slice(1).map((t, i) => t - (sent[i] as number));
        expect(Math.max(...gaps)).toBeLessThan(1_000);
        // Calls were sent while Redis was frozen.
        expect(sent.filter((t) => t > frozenAt + 300 && t < thawedAt).length).toBeGreaterThan(10);
      }
      const throttled = reports.reduce((n, r) => n + r.throttled, 0);
      console.info(
        `rate-limit: Redis frozen for ${thawedAt - frozenAt} ms mid-run: ${reports.reduce((n, r) => n + r.ok, 0)} ok, ${throttled} throttled, longest send gap per process ${reports.map((r) => Math.max(...r.sentAt.slice(1).map((t, i) => t - (r.sentAt[i] as number)))).join(", ")} ms`,
      );
    } finally {
      process.kill(pid, "SIGCONT");
      await server.stop();
    }
  }, 60_000);
});
