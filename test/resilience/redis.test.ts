import type { ServerResponse } from "node:http";
import path from "node:path";
import { inspect } from "node:util";
import { ConfigError, ConnectionError } from "imspec";
import { createDingTalk } from "imspec/dingtalk";
import { createRedisTokenStore, RedisLimiterStore, type RedisTokenStore } from "imspec/redis";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TokenCache } from "../../src/core/token.js";
import { freePort, type RedisServer, startRedis } from "../support/redis-server.js";
import { delay, json, ScriptedServer } from "../support/scripted-server.js";
import { type ForkedWorker, forkWorker, stopWorkers, within } from "../support/workers.js";
import { SHARED_TOKEN } from "./sizes.js";
import type { WorkerReport } from "./workers/redis-worker.js";

const WORKER = path.join(import.meta.dirname, "workers/redis-worker.ts");
const { processes: WORKERS, calls: CALLS } = SHARED_TOKEN;

let redis: RedisServer;
/** Each test gets keys of its own, so no test sees another's token or lock. */
let prefix: string;
let testNumber = 0;
const stores: RedisTokenStore[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
beforeEach(() => {
  prefix = `test-${++testNumber}:`;
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

function store(options: { lockTtlMs?: number; commandTimeoutMs?: number } = {}): RedisTokenStore {
  const s = createRedisTokenStore({ url: redis.url, prefix, ...options });
  stores.push(s);
  return s;
}

const later = (ms: number) => Date.now() + ms;

describe("createRedisTokenStore: the store", () => {
  it("round-trips a token and lets Redis expire it with the token", async () => {
    const s = store();
    expect(await s.get("k")).toBeUndefined();
    await s.set("k", { accessToken: "tok-a", expiresAt: later(60_000) });
    expect(await s.get("k")).toMatchObject({ accessToken: "tok-a" });
    // When the token was fetched travels with it: the cache caps its refresh margin by it.
    const fetched = { accessToken: "tok-a", expiresAt: later(60_000), obtainedAt: Date.now() };
    await s.set("k", fetched);
    expect(await s.get("k")).toEqual(fetched);
    const raw = new Redis(redis.url);
    try {
      const ttl = await raw.pttl(`${prefix}token:k`);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      // Whatever else is found under the key reads as "no token", never as a crash.
      await raw.set(`${prefix}token:k`, "not json");
      expect(await s.get("k")).toBeUndefined();
      await raw.set(`${prefix}token:k`, JSON.stringify({ accessToken: 42 }));
      expect(await s.get("k")).toBeUndefined();
    } finally {
      raw.disconnect();
    }
  });

  it("compare-and-delete removes the token only while it is the one refused", async () => {
    const s = store();
    await s.set("k", { accessToken: "tok-new", expiresAt: later(60_000) });
    await s.delete("k", "tok-old");
    expect(await s.get("k")).toMatchObject({ accessToken: "tok-new" });
    await s.delete("k", "tok-new");
    expect(await s.get("k")).toBeUndefined();
    // A value that merely contains the token, or is not JSON, is not deleted by it.
    await s.set("k", { accessToken: "tok-new-2", expiresAt: later(60_000) });
    await s.delete("k", "tok-new");
    expect(await s.get("k")).toMatchObject({ accessToken: "tok-new-2" });
    const raw = new Redis(redis.url);
    try {
      await raw.set(`${prefix}token:j`, "tok-x");
      await s.delete("j", "tok-x");
      expect(await raw.get(`${prefix}token:j`)).toBe("tok-x");
    } finally {
      raw.disconnect();
    }
    await s.delete("k");
    expect(await s.get("k")).toBeUndefined();
  });

  it("lock: one holder; others wait at most waitMs; release frees it for the next", async () => {
    const a = store();
    const b = store();
    const releaseA = await a.lock?.("k", 5_000, 0);
    expect(releaseA).toBeTypeOf("function");
    expect(await b.lock?.("k", 5_000, 0)).toBeUndefined();
    const started = Date.now();
    expect(await b.lock?.("k", 5_000, 300)).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const waiting = b.lock?.("k", 5_000, 5_000);
    setTimeout(() => void releaseA?.(), 100);
    const releaseB = await waiting;
    expect(releaseB).toBeTypeOf("function");
    await releaseB?.();
  });

  it("a lock whose holder stopped renewing lapses after lockTtlMs, and a late release frees nothing", async () => {
    const raw = new Redis(redis.url);
    try {
      // A holder that crashed: its lock is in Redis, nobody renews it.
      await raw.set(`${prefix}lock:k`, "crashed-holder", "PX", 300, "NX");
      const started = Date.now();
      const release = await store({ lockTtlMs: 300, commandTimeoutMs: 100 }).lock?.("k", 10_000, 5_000);
      expect(release).toBeTypeOf("function");
      expect(Date.now() - started).toBeLessThan(5_000);
      // The crashed holder comes back and "releases": the script sees another id and keeps the lock.
      const { RELEASE_SCRIPT } = await import("imspec/redis");
      expect(await raw.eval(RELEASE_SCRIPT, 1, `${prefix}lock:k`, "crashed-holder")).toBe(0);
      expect(await store().lock?.("k", 10_000, 0)).toBeUndefined();
      await release?.();
      expect(await raw.exists(`${prefix}lock:k`)).toBe(0);
    } finally {
      raw.disconnect();
    }
  });

  it("a live holder keeps its lock past lockTtlMs (renewal), so a slow token request stays exclusive", async () => {
    const release = await store({ lockTtlMs: 150, commandTimeoutMs: 50 }).lock?.("k", 150, 0);
    await new Promise((r) => setTimeout(r, 600));
    expect(await store().lock?.("k", 150, 0)).toBeUndefined();
    await release?.();
    const next = await store().lock?.("k", 150, 0);
    expect(next).toBeTypeOf("function");
    await next?.();
  });

  it.each([
    ["digits", (n: number): unknown => String(n)],
    ["a bigint", (n: number): unknown => BigInt(n)],
  ])("a client that answers integers as %s renews its lock as it took it", async (_, integer) => {
    const client = new Redis(redis.url);
    try {
      // A client that maps Redis integers to a type of its own: the lock is taken through integerOf.
      const mapping = {
        call: async (command: string, ...args: Array<string | number>) => {
          const answer = await client.call(command, ...args);
          return typeof answer === "number" ? integer(answer) : answer;
        },
      };
      const holder = createRedisTokenStore({ client: mapping, prefix, lockTtlMs: 150, commandTimeoutMs: 50 });
      const release = await holder.lock?.("k", 150, 0);
      expect(release).toBeTypeOf("function");
      await new Promise((r) => setTimeout(r, 600));
      // Renewal that stopped at its first answer let the lock lapse while the holder still ran.
      expect(await store().lock?.("k", 150, 0)).toBeUndefined();
      await release?.();
      expect(await client.exists(`${prefix}lock:k`)).toBe(0);
    } finally {
      client.disconnect();
    }
  });

  it("a cache that waited for the lock in vain rereads the store before fetching", async () => {
    const holder = store();
    const release = await holder.lock?.("k", 10_000, 0);
    let fetches = 0;
    const cache = new TokenCache({
      key: "k",
      store: store(),
      marginMs: 0,
      lockTtlMs: 600,
      fetch: async () => {
        fetches++;
        return { accessToken: "tok-second", expiresAt: later(60_000) };
      },
    });
    // The holder stores its token while the cache waits, but keeps the lock past the wait.
    setTimeout(() => void holder.set("k", { accessToken: "tok-first", expiresAt: later(60_000) }), 200);
    await expect(cache.get()).resolves.toBe("tok-first");
    expect(fetches).toBe(0);
    await release?.();
  });

  it("takes a client of your own (ioredis) and leaves it open", async () => {
    const client = new Redis(redis.url);
    try {
      const s = createRedisTokenStore({ client, prefix });
      await s.set("k", { accessToken: "tok-own", expiresAt: later(60_000) });
      expect(JSON.parse((await client.get(`${prefix}token:k`)) ?? "{}")).toMatchObject({
        accessToken: "tok-own",
      });
      await s.close();
      expect(await client.ping()).toBe("PONG");
    } finally {
      client.disconnect();
    }
  });

  it("takes a node-redis-shaped client (sendCommand)", async () => {
    const client = new Redis(redis.url);
    try {
      const sent: string[][] = [];
      const nodeRedisLike = {
        sendCommand: (args: string[]) => {
          sent.push(args);
          const [command, ...rest] = args;
          return client.call(command as string, ...rest);
        },
      };
      const s = createRedisTokenStore({ client: nodeRedisLike, prefix });
      await s.set("k", { accessToken: "tok-nr", expiresAt: later(60_000) });
      expect(await s.get("k")).toMatchObject({ accessToken: "tok-nr" });
      expect(sent.every((args) => args.every((a) => typeof a === "string"))).toBe(true);
    } finally {
      client.disconnect();
    }
  });

  it("closed while a token request runs: what comes after the close opens no connection again", async () => {
    const raw = new Redis(redis.url);
    const connections = async () =>
      String(await raw.client("LIST"))
        .trim()
        .split("\n").length;
    try {
      const s = store();
      let answer: (token: { accessToken: string; expiresAt: number }) => void = () => undefined;
      let fetching: () => void = () => undefined;
      const fetched = new Promise<void>((resolve) => {
        fetching = resolve;
      });
      const cache = new TokenCache({
        key: "k",
        store: s,
        marginMs: 0,
        fetch: () => {
          fetching();
          return new Promise((resolve) => {
            answer = resolve;
          });
        },
      });
      const token = cache.get();
      await fetched; // the store's connection is open, its lock held
      expect(await connections()).toBe(2);
      await s.close();
      // Shutting down: the token request still ends, and the cache stores the token and releases
      // the lock through the closed store.
      answer({ accessToken: "tok-late", expiresAt: later(60_000) });
      await expect(token).resolves.toBe("tok-late");
      const after = await s.get("k").catch((e: unknown) => e);
      expect(after).toBeInstanceOf(ConnectionError);
      expect(String((after as Error).message)).toMatch(/closed/);
      await new Promise((r) => setTimeout(r, 100));
      // A connection opened again would be closed by nobody, and would keep the process alive.
      expect(await connections()).toBe(1);
    } finally {
      raw.disconnect();
    }
  });

  it("Redis down: a typed ConnectionError within seconds, no host in the message", async () => {
    const port = await freePort();
    const s = createRedisTokenStore({ url: `redis://:redis-password-xyz@127.0.0.1:${port}`, prefix });
    stores.push(s);
    const error = await s.get("k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(String((error as Error).message)).not.toContain("redis-password-xyz");
    expect(String((error as Error).message)).not.toContain(String(port));
  });

  it.each([
    ["a port out of range", "redis://:redis-password-xyz@127.0.0.1:99999999"],
    ["a password with a broken escape", "redis://:redis-password-%zz@127.0.0.1:6379"],
  ])("a url ioredis cannot read (%s): a ConfigError naming neither url nor password", async (_, url) => {
    const s = createRedisTokenStore({ url, prefix });
    stores.push(s);
    for (const attempt of [1, 2]) {
      const error = await s.get("k").catch((e: unknown) => e);
      expect(error, `attempt ${attempt}`).toBeInstanceOf(ConfigError);
      expect(String((error as Error).message)).toMatch(/createRedisTokenStore: url/);
      // Node's URL error carries its input (the url, password and all) as a property.
      expect(inspect(error)).not.toContain("redis-password-");
    }
  });
});

describe("createRedisTokenStore({ url }): the url's database", () => {
  it("keeps the token in the database the url names", async () => {
    const s = createRedisTokenStore({ url: `${redis.url}/3`, prefix });
    stores.push(s);
    await s.set("k", { accessToken: "tok-db3", expiresAt: later(60_000) });
    const raw = new Redis(redis.url);
    try {
      expect(await raw.exists(`${prefix}token:k`)).toBe(0);
      await raw.select(3);
      expect(await raw.exists(`${prefix}token:k`)).toBe(1);
    } finally {
      raw.disconnect();
    }
  });

  it("a store set up wrong fails the token request with its ConfigError, not a token of this process's own", async () => {
    // Kept in memory instead, each process would fetch its own token: WorkPlus's revoke each other's.
    const s = createRedisTokenStore({ url: `${redis.url}/99`, prefix });
    stores.push(s);
    const warnings: string[] = [];
    let fetches = 0;
    const cache = new TokenCache({
      key: "k",
      store: s,
      marginMs: 1_000,
      onWarning: (w) => warnings.push(w),
      fetch: async () => ({ accessToken: `tok-${++fetches}`, expiresAt: later(60_000) }),
    });
    const raw = new Redis(redis.url);
    const connections = async () =>
      Number(/total_connections_received:(\d+)/.exec(await raw.info("stats"))?.[1] ?? Number.NaN);
    try {
      const before = await connections();
      for (let attempt = 1; attempt <= 10; attempt++) {
        const error = await cache.get().catch((e: unknown) => e);
        expect(error, `attempt ${attempt}`).toBeInstanceOf(ConfigError);
        expect(String((error as Error).message)).toMatch(/refused database 99/);
      }
      // Refused once: not a connection opened, and refused again, for each of the ten.
      expect((await connections()) - before).toBe(1);
    } finally {
      raw.disconnect();
    }
    expect(fetches).toBe(0);
    expect(warnings).toEqual([]);
  });

  it("a database Redis does not have is a ConfigError, and nothing goes to database 0", async () => {
    // redis-server has 16 databases unless told otherwise; ioredis alone would go on in database 0.
    const s = createRedisTokenStore({ url: `${redis.url}/99`, prefix });
    stores.push(s);
    for (const attempt of [1, 2]) {
      const error = await s
        .set("k", { accessToken: "tok-99", expiresAt: later(60_000) })
        .catch((e: unknown) => e);
      expect(error, `attempt ${attempt}`).toBeInstanceOf(ConfigError);
      expect(String((error as Error).message)).toMatch(/refused database 99/);
    }
    const raw = new Redis(redis.url);
    try {
      expect(await raw.exists(`${prefix}token:k`)).toBe(0);
    } finally {
      raw.disconnect();
    }
  });
});

describe("a Redis whose answers are not what the command gives", () => {
  // A list, a number, a boolean: what no GET and no lock script answers (a proxy or a look-alike
  // server that does not speak Redis, or a client mapping types of its own).
  it.each([
    ["a list", ["OK"]],
    ["a number", 42],
    ["an object", {}],
    ["a boolean", true],
    ["a status", "OK"],
  ])(
    "%s: a typed error, and the token cache fetches at once rather than wait for the lock",
    async (_, answer) => {
      const s = createRedisTokenStore({ client: { call: async () => answer }, prefix });
      if (typeof answer !== "string") {
        const read = await s.get("k").catch((e: unknown) => e);
        expect(read).toBeInstanceOf(ConnectionError);
      }
      const locked = await s.lock?.("k", 10_000, 0).catch((e: unknown) => e);
      expect(locked).toBeInstanceOf(ConnectionError);
      expect(String((locked as Error).message)).toMatch(/unexpected answer/);
      let fetches = 0;
      const cache = new TokenCache({
        key: "k",
        store: s,
        marginMs: 0,
        fetch: async () => ({ accessToken: `tok-${++fetches}`, expiresAt: later(60_000) }),
      });
      const started = performance.now();
      // Read as "held by another process", the lock kept the cache polling until its wait ran out.
      await expect(cache.get({ deadline: later(3_000) })).resolves.toBe("tok-1");
      expect(performance.now() - started).toBeLessThan(2_000);
    },
  );
});

describe("a Redis that answers with an error", () => {
  it("a token or lock key of another type (a list under the same prefix) is replaced: the token is shared again", async () => {
    const client = new Redis(redis.url);
    try {
      await client.rpush(`${prefix}token:k`, "stray");
      await client.rpush(`${prefix}lock:k`, "stray");
      let fetches = 0;
      const warnings: string[] = [];
      const cacheOf = () =>
        new TokenCache({
          key: "k",
          store: store(),
          marginMs: 0,
          onWarning: (message) => void warnings.push(message),
          fetch: async () => ({ accessToken: `tok-${++fetches}`, expiresAt: later(60_000) }),
        });
      // Two processes' caches: one token between them, stored where the list was.
      await expect(cacheOf().get()).resolves.toBe("tok-1");
      await expect(cacheOf().get()).resolves.toBe("tok-1");
      expect(fetches).toBe(1);
      expect(await client.type(`${prefix}token:k`)).toBe("string");
      expect(await client.exists(`${prefix}lock:k`)).toBe(0);
      expect(warnings).toEqual([]);
    } finally {
      client.disconnect();
    }
  });

  it("the repair never deletes a lock another process took since the refusal (it checks the type again)", async () => {
    const real = new Redis(redis.url);
    const key = `${prefix}lock:k`;
    try {
      await real.rpush(key, "stray");
      let raced = false;
      // Between this store's refusal and its repair, another process mends the key and takes the lock.
      const client = {
        call: async (command: string, ...args: Array<string | number>) => {
          try {
            return await real.call(command, ...args);
          } catch (error) {
            if (!raced && /WRONGTYPE/.test(String(error))) {
              raced = true;
              await real.del(key);
              await real.set(key, "other-process-lock", "PX", 10_000);
            }
            throw error;
          }
        },
      };
      const s = createRedisTokenStore({ client, prefix });
      await expect(s.lock?.("k", 10_000, 0)).resolves.toBeUndefined();
      expect(raced).toBe(true);
      expect(await real.get(key)).toBe("other-process-lock");
    } finally {
      real.disconnect();
    }
  });

  it("a command Redis refuses (an ACL without EVAL) is named by its code in the warning, never the user", async () => {
    const client = new Redis(redis.url);
    const user = `no-eval-${prefix.replace(/\W/g, "")}`;
    try {
      await client.call("ACL", "SETUSER", user, "on", ">pw-of-no-eval", "~*", "+@all", "-eval", "-evalsha");
      const s = createRedisTokenStore({
        url: redis.url.replace("redis://", `redis://${user}:pw-of-no-eval@`),
        prefix,
      });
      stores.push(s);
      const refused = await s.lock?.("k", 10_000, 0).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ConnectionError);
      expect((refused as ConnectionError).errno).toBe("NOPERM");
      expect(String((refused as Error).message)).toBe("Redis token store failed: NOPERM");
      const warnings: string[] = [];
      const cache = new TokenCache({
        key: "k",
        store: s,
        marginMs: 0,
        onWarning: (message) => void warnings.push(message),
        fetch: async () => ({ accessToken: "tok-1", expiresAt: later(60_000) }),
      });
      await expect(cache.get()).resolves.toBe("tok-1");
      expect(warnings).toEqual([expect.stringMatching(/^token store failed \(ConnectionError NOPERM\)/)]);
      expect(warnings.join("")).not.toMatch(/no-eval|pw-of/);
    } finally {
      await client.call("ACL", "DELUSER", user).catch(() => undefined);
      client.disconnect();
    }
  });
});

describe("a lock take that ran but whose answer is not read", () => {
  it("a garbled answer to a take that did take the lock: released, no lock left to lapse", async () => {
    const raw = new Redis(redis.url);
    let real: unknown;
    // Passes every command to Redis; the take's answer (the one script that SETs) comes back as no integer.
    const client = {
      call: async (command: string, ...args: Array<string | number>) => {
        const answer = await raw.call(command, ...args);
        if (command !== "EVAL" || !String(args[0]).includes('"SET"')) return answer;
        real = answer;
        return "garbled";
      },
    };
    try {
      const s = createRedisTokenStore({ client, prefix });
      const locked = await s.lock?.("k", 10_000, 0).catch((e: unknown) => e);
      expect(locked).toBeInstanceOf(ConnectionError);
      expect(real).toBe(1); // Redis did take it
      const key = `${prefix}lock:k`;
      for (let waited = 0; waited < 2_000 && (await raw.exists(key)); waited += 20) await delay(20);
      expect(await raw.exists(key)).toBe(0);
    } finally {
      raw.disconnect();
    }
  });
});

describe("a stored token no token source could have given", () => {
  // Written there by a broken or hostile Redis, or by something else sharing the key space.
  const unusable: Array<[string, string]> = [
    ["of megabytes (over 8 192 characters)", "x".repeat(2_000_000)],
    ["with a line break", "dt-token-abc\r\nx-injected: 1"],
    ["with a lone surrogate", "dt-token-\ud800"],
  ];
  it.each(unusable)(
    "a token %s reads as no token: the next process fetches its own and its calls go",
    async (_, bad) => {
      const server = new ScriptedServer();
      let issued = 0;
      server.on("POST", "/v1.0/oauth2/accessToken", (_req, res) =>
        json(res, 200, { accessToken: `dt-token-${++issued}-0123456789`, expireIn: 7200 }),
      );
      server.on("GET", "/v1.0/contact/dingIndexs", (req, res) =>
        String(req.headers["x-acs-dingtalk-access-token"]).startsWith("dt-token-")
          ? json(res, 200, { dingIndexList: [] })
          : json(res, 401, { code: "InvalidAuthentication", message: "bad token" }),
      );
      await server.start();
      const raw = new Redis(redis.url);
      try {
        const make = () =>
          createDingTalk({
            appKey: "ding-app",
            appSecret: "dt-secret-0123456789abcdef",
            baseUrl: server.url,
            tokenStore: store(),
            rateLimit: false,
            timeout: 2_000,
          });
        await make().contact.getLatestDingIndex();
        const [key] = await raw.keys(`${prefix}token:*`);
        expect(key).toBeDefined();
        await raw.set(
          key as string,
          JSON.stringify({ accessToken: bad, expiresAt: later(3_600_000) }),
          "PX",
          3_600_000,
        );
        // Read as it is, the token would be the one every call of every process sends for an hour:
        // refused by the transport (431, an invalid header) before any server could say it is bad.
        expect(await store().get(key?.slice(`${prefix}token:`.length) as string)).toBeUndefined();
        await expect(make().contact.getLatestDingIndex()).resolves.toBeDefined();
        expect(issued).toBe(2);
      } finally {
        raw.disconnect();
        await server.stop();
      }
    },
  );
});

/** A WorkPlus-shaped server: each token request invalidates the previous token, as the real one does. */
function workplusServer(options: { stallFirstToken?: boolean } = {}) {
  const server = new ScriptedServer();
  let issued = 0;
  const tokenRequests: string[] = [];
  const stalled: ServerResponse[] = [];
  let onStall: (worker: string) => void = () => undefined;
  const firstStall = new Promise<string>((resolve) => {
    onStall = resolve;
  });
  server.on("POST", "/v1/token", (req, res) => {
    tokenRequests.push(String(req.headers["x-worker"]));
    if (options.stallFirstToken && tokenRequests.length === 1) {
      // The token request of the process about to be killed: never answered.
      stalled.push(res);
      onStall(String(req.headers["x-worker"]));
      return;
    }
    issued++;
    json(res, 200, {
      status: 0,
      message: "Everything is ok.",
      result: { access_token: `wp-shared-${issued}-0123456789`, expire_time: later(3_600_000) },
    });
  });
  server.on(
    "GET",
    (p) => p.endsWith("/admins"),
    (req, res) => {
      if (req.query.get("access_token") !== `wp-shared-${issued}-0123456789`)
        return json(res, 200, { status: 10011, message: "token not found." });
      json(res, 200, { status: 0, message: "ok", result: { records: [], total_counts: 0 } });
    },
  );
  return {
    server,
    tokenRequests,
    firstStall,
    release: () => {
      for (const res of stalled) res.destroy();
    },
  };
}

function startWorker(name: string, serverUrl: string, lockTtlMs: number) {
  return forkWorker<WorkerReport>(name, WORKER, {
    IMSPEC_WORKER: JSON.stringify({
      worker: name,
      serverUrl,
      redisUrl: redis.url,
      prefix,
      lockTtlMs,
      calls: CALLS,
    }),
  });
}

describe("store options", () => {
  const bad: Array<[string, () => unknown, RegExp]> = [
    [
      "a token store without client or url",
      () => createRedisTokenStore({} as never),
      /give a client or a url/,
    ],
    [
      "a token store over something that is not a client",
      () => createRedisTokenStore({ client: {} as never }),
      /ioredis or node-redis/,
    ],
    [
      "a token store whose url is a port number (ioredis would take it as localhost's)",
      () => createRedisTokenStore({ url: 6379 as never }),
      /createRedisTokenStore: url must be a string/,
    ],
    [
      "a token store whose url is an object",
      () => createRedisTokenStore({ url: { host: "127.0.0.1" } as never }),
      /createRedisTokenStore: url must be a string/,
    ],
    [
      "a token store whose prefix is not a string (a Symbol fails every key it makes)",
      () => createRedisTokenStore({ url: "redis://127.0.0.1:1", prefix: Symbol("p") as never }),
      /createRedisTokenStore: prefix must be a string/,
    ],
    [
      "a token store with a zero command timeout",
      () => createRedisTokenStore({ url: "redis://127.0.0.1:1", commandTimeoutMs: 0 }),
      /commandTimeoutMs/,
    ],
    [
      "a token store with a fractional lock TTL",
      () => createRedisTokenStore({ url: "redis://127.0.0.1:1", lockTtlMs: 1.5 }),
      /lockTtlMs/,
    ],
    [
      "a token store whose lock would lapse between renewals (TTL under 3 command timeouts)",
      () => createRedisTokenStore({ url: "redis://127.0.0.1:1", lockTtlMs: 2_999 }),
      /lockTtlMs must be at least 3 × commandTimeoutMs \(3000\)/,
    ],
    [
      "a limiter store over null",
      () => new RedisLimiterStore(null as never),
      /RedisLimiterStore: .*ioredis or node-redis/,
    ],
    [
      "a limiter store with a NaN retry",
      () => new RedisLimiterStore({ call: async () => 0 }, { retryMs: Number.NaN }),
      /retryMs/,
    ],
    [
      "a limiter store expecting -1 processes",
      () => new RedisLimiterStore({ call: async () => 0 }, { expectedProcesses: -1 }),
      /expectedProcesses/,
    ],
  ];
  it.each(bad)("%s is a ConfigError naming the option", (_, make, message) => {
    let thrown: unknown;
    try {
      make();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(message);
  });
});

describe("4 processes, one token (real redis-server)", () => {
  let workers: Array<ForkedWorker<WorkerReport>> = [];
  afterEach(async () => {
    await stopWorkers(workers);
    workers = [];
  });

  it(`${WORKERS} processes × ${CALLS} concurrent calls on a cold cache make exactly 1 token request`, async () => {
    const { server, tokenRequests } = workplusServer();
    await server.start();
    try {
      workers = Array.from({ length: WORKERS }, (_, i) => startWorker(`w${i}`, server.url, 5_000));
      await within(20_000, "workers ready", Promise.all(workers.map((w) => w.ready)));
      for (const w of workers) w.child.send("go");
      const reports = await within(20_000, "workers done", Promise.all(workers.map((w) => w.report)));
      expect(reports.map((r) => [r.ok, r.failures])).toEqual(reports.map(() => [CALLS, []]));
      expect(tokenRequests).toHaveLength(1);
      expect(new Set(reports.flatMap((r) => r.tokens))).toEqual(new Set(["wp-shared-1-0123456789"]));
      expect(server.requests.filter((r) => r.pathname.endsWith("/admins"))).toHaveLength(WORKERS * CALLS);
    } finally {
      await server.stop();
    }
  });

  it("killing the process that holds the lock mid-fetch blocks the others only until the lock lapses", async () => {
    const lockTtlMs = 1_000;
    const { server, tokenRequests, firstStall, release } = workplusServer({ stallFirstToken: true });
    await server.start();
    try {
      workers = Array.from({ length: WORKERS }, (_, i) => startWorker(`w${i}`, server.url, lockTtlMs));
      await within(20_000, "workers ready", Promise.all(workers.map((w) => w.ready)));
      for (const w of workers) w.child.send("go");
      // The lock holder is the one whose token request reached the server; kill it there.
      const holderName = await within(10_000, "first token request", firstStall);
      const holder = workers.find((w) => w.name === holderName);
      expect(holder).toBeDefined();
      holder?.child.kill("SIGKILL");
      expect(await holder?.exit).toMatchObject({ signal: "SIGKILL" });
      const others = workers.filter((w) => w !== holder);
      // Had they waited out their 10 s lock wait instead, each would have fetched a token of its
      // own: the count below tells the two apart, the bound only proves that it stops.
      const reports = await within(20_000, "the other workers", Promise.all(others.map((w) => w.report)));
      expect(reports.map((r) => [r.ok, r.failures])).toEqual(reports.map(() => [CALLS, []]));
      // The stalled request of the dead holder, then exactly one more, from whoever took the lock next.
      expect(tokenRequests).toHaveLength(2);
      expect(tokenRequests[1]).not.toBe(holderName);
      expect(new Set(reports.flatMap((r) => r.tokens))).toEqual(new Set(["wp-shared-1-0123456789"]));
    } finally {
      release();
      await server.stop();
    }
  });
});
