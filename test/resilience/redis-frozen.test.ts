/**
 * The Redis token store against a real redis-server that is frozen (SIGSTOP: connections are still
 * accepted, nothing is answered), and the lock wait that follows a live holder's renewals.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { createRedisTokenStore, type RedisTokenStore } from "imspec/redis";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ImspecError } from "../../src/core/errors.js";
import { TokenCache } from "../../src/core/token.js";
import { type RedisServer, startRedis } from "../support/redis-server.js";
import { delay } from "../support/scripted-server.js";
import { settler } from "./secrets.js";

const COMMAND_MS = 300;
const CONNECT_MS = 500;
/** A store call on a frozen Redis: its timeout plus room for a loaded machine. */
const STORE_BOUND_MS = COMMAND_MS + CONNECT_MS + 700;
const settle = settler(5_000, []);

let redis: RedisServer;
let pid: number;
let prefix = "frozen-0:";
let n = 0;
const stores: RedisTokenStore[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const raw = new Redis(redis.url);
  pid = Number(/process_id:(\d+)/.exec(await raw.info("server"))?.[1]);
  raw.disconnect();
});
afterAll(async () => {
  process.kill(pid, "SIGCONT");
  await redis?.stop();
});
afterEach(async () => {
  process.kill(pid, "SIGCONT");
  prefix = `frozen-${++n}:`;
  await Promise.all(stores.splice(0).map((s) => settle(s.close())));
  for (const c of clients.splice(0)) c.disconnect();
});

function store(): RedisTokenStore {
  const s = createRedisTokenStore({
    url: redis.url,
    prefix,
    commandTimeoutMs: COMMAND_MS,
    connectTimeoutMs: CONNECT_MS,
  });
  stores.push(s);
  return s;
}

/** How many EVALs Redis has run so far. */
async function evalCalls(raw: Redis): Promise<number> {
  return Number(/cmdstat_eval:calls=(\d+)/.exec(await raw.info("commandstats"))?.[1] ?? 0);
}

/** Runs `work` and returns how it ended and how long it took. */
async function timed<T>(work: Promise<T>) {
  const started = performance.now();
  const outcome = await settle(work);
  return { ...outcome, ms: performance.now() - started };
}

describe("Redis frozen (SIGSTOP)", () => {
  it("every store call ends within its bound with a typed error naming no host", async () => {
    const s = store();
    await s.set("k", { accessToken: "tok-before", expiresAt: Date.now() + 60_000 });
    process.kill(pid, "SIGSTOP");
    const calls: Array<[string, () => Promise<unknown>]> = [
      ["get", () => s.get("k")],
      ["set", () => s.set("k", { accessToken: "tok-x", expiresAt: Date.now() + 60_000 })],
      ["delete", () => s.delete("k", "tok-before")],
      ["lock", () => s.lock?.("k", 1_000, 0) ?? Promise.resolve()],
      ["get on a new connection", () => store().get("k")],
    ];
    for (const [name, call] of calls) {
      const { error, ms } = await timed(call());
      expect(error, name).toBeInstanceOf(ImspecError);
      expect(error, name).toMatchObject({ name: "TimeoutError" });
      expect(String((error as Error).message)).not.toContain(String(redis.port));
      expect(ms, name).toBeLessThan(STORE_BOUND_MS);
    }
    const closed = await timed(s.close());
    expect(closed.ms).toBeLessThan(STORE_BOUND_MS);
  });

  it("a url naming a database: the first command, and close(), end within their bounds too", async () => {
    // The store selects the url's database before its first command: frozen, Redis never answers that.
    const s = createRedisTokenStore({
      url: `${redis.url}/3`,
      prefix,
      commandTimeoutMs: COMMAND_MS,
      connectTimeoutMs: CONNECT_MS,
    });
    stores.push(s);
    process.kill(pid, "SIGSTOP");
    const first = await timed(s.get("k"));
    expect(first.error).toMatchObject({ name: "TimeoutError" });
    expect(first.ms).toBeLessThan(STORE_BOUND_MS);
    const closed = await timed(s.close());
    expect(closed.error).toBeUndefined();
    expect(closed.ms).toBeLessThan(STORE_BOUND_MS);
  });

  it("the token cache goes on from memory: one token request, one slow call, then none", async () => {
    const s = store();
    await s.get("warm-up");
    process.kill(pid, "SIGSTOP");
    let fetches = 0;
    const warnings: string[] = [];
    const cache = new TokenCache({
      key: "k",
      store: s,
      marginMs: 1_000,
      onWarning: (m) => warnings.push(m),
      fetch: async () => ({ accessToken: `tok-${++fetches}`, expiresAt: Date.now() + 60_000 }),
    });
    const first = await timed(cache.get());
    expect(first.data).toBe("tok-1");
    expect(first.ms).toBeLessThan(STORE_BOUND_MS);
    const burst = await timed(Promise.all(Array.from({ length: 50 }, () => cache.get())));
    expect(burst.data).toEqual(Array(50).fill("tok-1"));
    expect(burst.ms).toBeLessThan(100);
    // A refused token is replaced at once too: the store is left alone for a while after failing.
    const replaced = await timed(cache.replace("tok-1"));
    expect(replaced.data).toBe("tok-2");
    expect(replaced.ms).toBeLessThan(100);
    expect(warnings).toHaveLength(1);
  });

  const makers: Array<[string, () => RedisTokenStore]> = [
    ["its own connection (url)", () => store()],
    [
      "a client of your own",
      () => {
        const client = new Redis(redis.url);
        clients.push(client);
        return createRedisTokenStore({ client, prefix, commandTimeoutMs: COMMAND_MS });
      },
    ],
  ];
  // Back at once: the take runs, then the release. Back after several command timeouts: the
  // releases sent meanwhile timed out too (those of the store's own connection on connections it
  // dropped), and Redis runs the take from its socket once it is back, after them or not.
  it.each(makers.flatMap(([how, make]) => [0, 4 * COMMAND_MS].map((late) => [how, late, make] as const)))(
    "a lock take that timed out and ran once Redis was back (%s, %i ms later) leaves no lock to lapse",
    async (_, late, make) => {
      const s = make();
      const raw = new Redis(redis.url);
      clients.push(raw);
      await s.get("warm-up"); // connected: the take is sent at once, and waits in Redis's socket
      const before = await evalCalls(raw);
      process.kill(pid, "SIGSTOP");
      const taken = await timed(s.lock?.("k", 10_000, 0) ?? Promise.resolve(undefined));
      await delay(late);
      process.kill(pid, "SIGCONT");
      expect(taken.error).toMatchObject({ name: "TimeoutError" });
      const key = `${prefix}lock:k`;
      // The last release goes one command time after Redis answered one: Redis may run the take,
      // waiting in the socket of a connection the store dropped, just after a release it answered
      // (the key absent a moment, then held again), so the wait goes on past that last release.
      const gone = async () => {
        for (let waited = 0; waited < 3_000 && (await raw.exists(key)); waited += 20) await delay(20);
      };
      await gone();
      await delay(2 * COMMAND_MS);
      await gone();
      // Not held for the 10 s of its TTL, by an id no process renews or releases.
      expect(await raw.exists(key)).toBe(0);
      // Redis ran the take, and a release after it: the key is gone because it was released.
      expect(await evalCalls(raw)).toBeGreaterThanOrEqual(before + 2);
    },
  );
});

/** A token store whose own connection goes to `server`, listening on a free loopback port. */
async function storeOver(server: Server): Promise<RedisTokenStore> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return createRedisTokenStore({
    url: `redis://127.0.0.1:${port}`,
    commandTimeoutMs: COMMAND_MS,
    connectTimeoutMs: CONNECT_MS,
  });
}

describe("a hostile Redis (a loopback server speaking just enough RESP)", () => {
  it("a reply without end is not buffered past the command's timeout: the store closes that connection", async () => {
    // Answers the first command with the header of a 2 GB bulk string, then streams it as fast as
    // the socket takes it: ioredis buffers a reply until it is whole.
    const sockets: Array<{ socket: Socket; closed: boolean }> = [];
    const server = createServer((socket) => {
      const entry = { socket, closed: false };
      sockets.push(entry);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        entry.closed = true;
      });
      socket.once("data", () => {
        socket.write("$2000000000\r\n");
        const chunk = Buffer.alloc(1 << 20, 97);
        const pump = () => {
          while (!socket.destroyed && socket.write(chunk));
        };
        socket.on("drain", pump);
        pump();
      });
    });
    const s = await storeOver(server);
    try {
      const first = await timed(s.get("k"));
      expect(first.error).toMatchObject({ name: "TimeoutError" });
      expect(first.ms).toBeLessThan(STORE_BOUND_MS);
      for (let waited = 0; waited < 2_000 && !sockets[0]?.closed; waited += 20) await delay(20);
      expect(sockets[0]?.closed, "the connection that streamed the endless reply").toBe(true);
      // The store goes on: the next command opens a connection of its own, bounded the same way.
      const second = await timed(s.get("k"));
      expect(second.error).toMatchObject({ name: "TimeoutError" });
      expect(sockets).toHaveLength(2);
    } finally {
      await settle(s.close());
      for (const { socket } of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

/**
 * A loopback server answering ioredis's handshake as a Redis without RESP3 does (HELLO unknown,
 * CLIENT SETINFO, INFO for the ready check) and every other command with `refuse()`'s error reply.
 */
function refusingRedis(refuse: () => string): { server: Server; sockets: Socket[] } {
  const handshake: Record<string, string> = {
    HELLO: "-ERR unknown command 'HELLO'\r\n",
    CLIENT: "+OK\r\n",
    INFO: "$9\r\nloading:0\r\n",
  };
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => undefined);
    let pending = "";
    socket.on("data", (chunk: Buffer) => {
      pending += chunk.toString("latin1");
      for (let command = firstCommand(pending); command; command = firstCommand(pending)) {
        pending = pending.slice(command.length);
        socket.write(handshake[command.name] ?? refuse());
      }
    });
  });
  return { server, sockets };
}

/** `count` SETs one after another over `server`: how each ended, as `name: message`. */
async function refusedSets(server: Server, count: number): Promise<string[]> {
  const s = await storeOver(server);
  try {
    const seen: string[] = [];
    for (let i = 0; i < count; i++) {
      const { error } = await settle(s.set("k", { accessToken: "tok-x", expiresAt: Date.now() + 60_000 }));
      seen.push(`${(error as Error)?.name}: ${(error as Error)?.message}`);
    }
    return seen;
  } finally {
    await settle(s.close());
  }
}

describe("a Redis whose answers are large errors (a loopback server speaking just enough RESP)", () => {
  const refused = "ConnectionError: Redis token store failed: ERR";
  let fake: { server: Server; sockets: Socket[] } | undefined;
  afterEach(async () => {
    if (!fake) return;
    for (const socket of fake.sockets) socket.destroy();
    const { server } = fake;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fake = undefined;
  });

  it("each answer counts toward its own reply: the store's cap never stops a connection that keeps answering", async () => {
    // An error of 1 MB to every command: twenty of them are more than the cap, each well under it.
    const refusal = `-ERR ${"x".repeat(1 << 20)}\r\n`;
    fake = refusingRedis(() => refusal);
    // Every one an answer from Redis, read and refused; none waited out its command timeout.
    expect(await refusedSets(fake.server, 20)).toEqual(Array(20).fill(refused));
    expect(fake.sockets).toHaveLength(1);
  });

  it("a reply that ends in the chunk reaching the cap is read, and so is the next", async () => {
    // README: the store's own connection reads at most 16 MiB toward one reply.
    const cap = 16 << 20;
    // The second refusal is sent whole, its closing \r the first byte past the cap (ioredis's
    // parser ends a simple error there): however the socket splits it, the chunk that crosses the
    // cap also ends the reply. The first and third are short.
    const refusals = ["-ERR first\r\n", `-ERR ${"x".repeat(cap - 5)}\r\n`, "-ERR third\r\n"];
    fake = refusingRedis(() => refusals.shift() ?? "-ERR more\r\n");
    expect(await refusedSets(fake.server, 3)).toEqual(Array(3).fill(refused));
    expect(fake.sockets).toHaveLength(1);
  });
});

describe("a node-redis client of the caller's that refuses the lock, or is closed", () => {
  // node-redis's error replies are ErrorReply (a plain Error by name), its closed client's failures
  // ClientClosedError: told apart from a connection lost for a while by the class and isOpen.
  class ErrorReply extends Error {}
  class ClientClosedError extends Error {}
  it.each([
    [
      "refuses EVAL",
      true,
      () => new ErrorReply("NOPERM this user has no permissions to run the 'eval' command"),
    ],
    ["is closed", false, () => new ClientClosedError("The client is closed")],
  ])("a take it %s is released once at most, not tried again for a minute", async (_, isOpen, failure) => {
    const sent: string[] = [];
    const client = {
      isOpen,
      async sendCommand(args: string[]) {
        sent.push(args[0] as string);
        throw failure();
      },
    };
    const s = createRedisTokenStore({ client, prefix, commandTimeoutMs: 100 });
    const taken = await settle(s.lock?.("k", 10_000, 0) ?? Promise.resolve(undefined));
    expect(taken.error).toMatchObject({ name: "ConnectionError" });
    await delay(600); // six command times: a release tried again would have come by now
    expect(sent).toEqual(["EVAL", "EVAL"]);
  });
});

describe("a Redis that refuses the lock (a loopback server speaking just enough RESP)", () => {
  it("a refused take is released once, and a refused release is not sent again", async () => {
    let evals = 0;
    const fake = refusingRedis(() => {
      evals++;
      return "-NOPERM this user has no permissions to run the 'eval' command\r\n";
    });
    const s = await storeOver(fake.server);
    try {
      const taken = await settle(s.lock?.("k", 10_000, 0) ?? Promise.resolve(undefined));
      expect(taken.error).toMatchObject({ name: "ConnectionError", errno: "NOPERM" });
      // Several command times: a release tried again would have come by now.
      await delay(4 * COMMAND_MS);
      expect(evals).toBe(2);
    } finally {
      await settle(s.close());
      for (const socket of fake.sockets) socket.destroy();
      await new Promise<void>((resolve) => fake.server.close(() => resolve()));
    }
  });
});

/** The first whole RESP command in `text` (an array of bulk strings): its name and length, if whole. */
function firstCommand(text: string): { name: string; length: number } | undefined {
  const head = /^\*(\d+)\r\n/.exec(text);
  if (!head) return undefined;
  let at = head[0].length;
  let name = "";
  for (let i = 0; i < Number(head[1]); i++) {
    const bulk = /^\$(\d+)\r\n/.exec(text.slice(at));
    if (!bulk) return undefined;
    const start = at + bulk[0].length;
    const end = start + Number(bulk[1]);
    if (text.length < end + 2) return undefined;
    if (i === 0) name = text.slice(start, end).toUpperCase();
    at = end + 2;
  }
  return { name, length: at };
}

describe("a connection lost with a reply (a loopback proxy in front of the real redis-server)", () => {
  it("a lock taken whose answer was lost is the store's own when its command is sent again", async () => {
    // Forwards both ways, but cuts both connections instead of passing on the answer to the first
    // command that names a lock key (the one taking it): Redis has run it, the store never hears
    // so, and its client (ioredis resends what was unanswered) sends it again on a new connection.
    const sockets: Socket[] = [];
    let cut = 0;
    const proxy = createServer((near) => {
      const far = connect(redis.port, "127.0.0.1");
      let cutting = false;
      sockets.push(near, far);
      for (const s of [near, far]) s.on("error", () => undefined);
      near.on("close", () => far.destroy());
      far.on("close", () => near.destroy());
      near.on("data", (d) => {
        if (cut === 0 && String(d).includes(`${prefix}lock:`)) cutting = true;
        far.write(d);
      });
      far.on("data", (d) => {
        if (!cutting) return void near.write(d);
        cut++;
        near.destroy();
        far.destroy();
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const { port } = proxy.address() as { port: number };
    const s = createRedisTokenStore({ url: `redis://127.0.0.1:${port}`, prefix });
    stores.push(s);
    try {
      let fetches = 0;
      const cache = new TokenCache({
        key: "k",
        store: s,
        marginMs: 1_000,
        fetch: async () => ({ accessToken: `tok-${++fetches}`, expiresAt: Date.now() + 60_000 }),
      });
      const got = await timed(cache.get());
      expect(cut).toBe(1);
      expect(got.data).toBe("tok-1");
      // Not held up until its own lock lapsed (lockTtlMs, 10 s), as by another process's.
      expect(got.ms).toBeLessThan(5_000);
      const raw = new Redis(redis.url);
      try {
        expect(await raw.exists(`${prefix}lock:k`)).toBe(0); // and released
      } finally {
        raw.disconnect();
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
  it("a lock take whose answer never came is released once Redis can be reached again, though it could not be at first", async () => {
    // Forwards both ways, but passes on nothing Redis answers to the command taking the lock: Redis
    // has run it, the store times out. From then on, until told otherwise, every new connection is
    // cut as it opens (a failover, a proxy restarting): the release fails, and not by a timeout.
    const sockets: Socket[] = [];
    let withheld = false;
    let refusing = false;
    let refused = 0;
    const proxy = createServer((near) => {
      near.on("error", () => undefined);
      if (refusing) {
        refused++;
        return void near.destroy();
      }
      const far = connect(redis.port, "127.0.0.1");
      let taking = false;
      sockets.push(near, far);
      far.on("error", () => undefined);
      near.on("close", () => far.destroy());
      far.on("close", () => near.destroy());
      near.on("data", (d) => {
        if (!withheld && String(d).includes(`${prefix}lock:`)) withheld = taking = refusing = true;
        far.write(d);
      });
      far.on("data", (d) => void (taking || near.write(d)));
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const { port } = proxy.address() as { port: number };
    // A command time well past ioredis's three tries to connect (about 150 ms): the first release
    // fails with them, not by its own timeout.
    const commandTimeoutMs = 1_000;
    const s = createRedisTokenStore({ url: `redis://127.0.0.1:${port}`, prefix, commandTimeoutMs });
    stores.push(s);
    const raw = new Redis(redis.url);
    clients.push(raw);
    try {
      await s.get("warm-up");
      const taken = await timed(s.lock?.("k", 20_000, 0) ?? Promise.resolve(undefined));
      expect(taken.error).toMatchObject({ name: "TimeoutError" });
      const key = `${prefix}lock:k`;
      expect(await raw.exists(key)).toBe(1); // Redis ran the take
      for (let waited = 0; waited < 3_000 && refused < 3; waited += 20) await delay(20);
      expect(refused).toBeGreaterThanOrEqual(3);
      await delay(200);
      refusing = false;
      // Released well before its 20 s TTL: tried again once a command time after the failure.
      for (let waited = 0; waited < 5_000 && (await raw.exists(key)); waited += 20) await delay(20);
      expect(await raw.exists(key)).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});

describe("Redis: expiries and the lock wait", () => {
  it("a token whose expiry is not a number is stored with a sane TTL, never PX NaN", async () => {
    const s = store();
    const cache = new TokenCache({
      key: "nan",
      store: s,
      marginMs: 1_000,
      fetch: async () => ({ accessToken: "tok-nan", expiresAt: Number.NaN }),
    });
    expect((await settle(cache.get())).data).toBe("tok-nan");
    await s.set("raw-nan", { accessToken: "tok-raw", expiresAt: Number.NaN });
    const raw = new Redis(redis.url);
    try {
      const ttl = await raw.pttl(`${prefix}token:nan`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(10_000);
    } finally {
      raw.disconnect();
    }
  });

  it("a waiter follows the holder's renewals: a token request slower than the lock TTL is still the only one", async () => {
    let fetches = 0;
    const slowFetch = async () => {
      fetches++;
      await delay(2_000);
      return { accessToken: `tok-${fetches}`, expiresAt: Date.now() + 60_000 };
    };
    // A TTL well under the fetch, but with room for a renewal on a loaded machine.
    const options = { key: "k", marginMs: 1_000, lockTtlMs: 600, fetch: slowFetch };
    const a = new TokenCache({ ...options, store: store() });
    const b = new TokenCache({ ...options, store: store() });
    const first = a.get();
    await delay(100); // a holds the lock and is fetching
    const started = performance.now();
    const second = await timed(b.get({ deadline: Date.now() + 5_000 }));
    expect(await first).toBe("tok-1");
    expect(second.data).toBe("tok-1");
    expect(fetches).toBe(1);
    expect(performance.now() - started).toBeLessThan(3_500);
  });

  it("a lock wait ends when it should though the wall clock is set back meanwhile", async () => {
    const holder = store();
    const release = await holder.lock?.("k", 1_000, 0);
    const wall = Date.now;
    let back = 0;
    const jumped = vi.spyOn(Date, "now").mockImplementation(() => wall() - back);
    try {
      const waiter = store();
      const waiting = waiter.lock?.("k", 1_000, 300);
      back = 3_600_000; // an NTP step, once the wait has begun
      const waited = await timed(waiting ?? Promise.resolve(undefined));
      // Not held: the wait ends after its 300 ms, not after thousands of polls.
      expect(waited.data).toBeUndefined();
      expect(waited.error).toBeUndefined();
      expect(waited.ms).toBeLessThan(2_000);
    } finally {
      jumped.mockRestore();
      await release?.();
    }
  });

  it("a waiter gives up at its own deadline, not at a fixed lock wait", async () => {
    const holder = store();
    const release = await holder.lock?.("k", 300, 0);
    try {
      const cache = new TokenCache({
        key: "k",
        store: store(),
        marginMs: 1_000,
        lockTtlMs: 300,
        fetch: async () => ({ accessToken: "tok-waiter", expiresAt: Date.now() + 60_000 }),
      });
      const waited = await timed(cache.get({ deadline: Date.now() + 400 }));
      expect(waited.error).toMatchObject({ name: "TimeoutError" });
      expect(waited.ms).toBeLessThan(1_000);
    } finally {
      await release?.();
    }
  });
});

describe("a hostile Redis with a reply of 256 MB", () => {
  it("is read no further than the store's cap: the command times out, and no call is held up by it", async () => {
    // A whole reply, sent as fast as the socket takes it: ioredis would buffer all of it, then
    // build one string of it, the event loop blocked meanwhile.
    const size = 256 << 20;
    let written = 0;
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.on("error", () => undefined);
      socket.once("data", () => {
        socket.write(`$${size}\r\n`);
        const chunk = Buffer.alloc(1 << 20, 97);
        const pump = () => {
          while (!socket.destroyed && written < size) {
            written += chunk.length;
            if (!socket.write(chunk)) return;
          }
          if (written >= size) socket.write("\r\n");
        };
        socket.on("drain", pump);
        pump();
      });
    });
    const s = await storeOver(server);
    // A timer beside it fires on time: the event loop is never held by the reply.
    let late = 0;
    let last = performance.now();
    const ticks = setInterval(() => {
      const now = performance.now();
      late = Math.max(late, now - last - 20);
      last = now;
    }, 20);
    try {
      const first = await timed(s.get("k"));
      expect(first.error).toMatchObject({ name: "TimeoutError" });
      expect(first.ms).toBeLessThan(STORE_BOUND_MS);
      await delay(200);
      // What the kernel's buffers took before the client stopped reading, far from the whole.
      expect(written).toBeLessThan(64 << 20);
      expect(late).toBeLessThan(500);
    } finally {
      clearInterval(ticks);
      await settle(s.close());
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
