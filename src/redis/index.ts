/**
 * `imspec/redis`: a `TokenStore` in Redis, so several processes running the same app share one
 * token. WorkPlus invalidates an app's previous token whenever a new one is fetched, so processes
 * that each fetched their own would keep invalidating each other; DingTalk merely wastes requests.
 *
 * @example
 * import { createRedisTokenStore } from "imspec/redis";
 * const tokenStore = createRedisTokenStore({ url: process.env.REDIS_URL });
 * const wp = createWorkPlus({ baseUrl, domainId, clientId, clientSecret, orgId, tokenStore });
 *
 * The lock is `SET key id PX ttl` if the key is absent (a script, so that a try sent again after
 * its answer was lost finds the lock its own): one process fetches while the others poll for the lock and
 * then reread the token it stored. The holder renews the lock while it is alive, and releases it
 * with a script that deletes the key only if it still holds the holder's id, so a late release
 * never frees a lock another process took since. A holder that crashes stops renewing: the others
 * are blocked at most `lockTtlMs`. A try that fails (no answer in time, connection lost) may have
 * taken the lock all the same, or take it once a frozen Redis is back: it is released in the
 * background, again while Redis does not answer, and once more after it does.
 *
 * Every command ends within `commandTimeoutMs` (connecting within `connectTimeoutMs`): a frozen Redis
 * gives a typed TimeoutError, and the token cache goes on from memory. A connection the store opened
 * is closed when a command times out in it, and the next command opens another; `close()` closes it
 * for good. Keys are `<prefix>token:<key>` and `<prefix>lock:<key>`: no token key can be mistaken for a
 * lock key, whatever the key holds.
 */
import { randomUUID } from "node:crypto";
import { ConfigError, ConnectionError, TimeoutError } from "../core/errors.js";
import { sleep } from "../core/retry.js";
import type { StoredToken, TokenStore } from "../core/token.js";
import { usableToken } from "../core/token-store.js";
import { checked, MAX_WAIT_MS } from "../core/validate.js";
import {
  type IoRedisLike,
  integerOf,
  isClosed,
  isReply,
  type RedisClientLike,
  replyCode,
  type Send,
  sender,
} from "./client.js";

export type { StoredToken, TokenStore } from "../core/token.js";
export type { IoRedisLike, NodeRedisLike, RedisClientLike } from "./client.js";
export { RedisLimiterStore, type RedisLimiterStoreOptions, TAKE_SCRIPT } from "./limiter.js";

export type RedisTokenStoreOptions = {
  /** Prepended to every key (`<prefix>token:<key>`, `<prefix>lock:<key>`). Default `imspec:`. */
  prefix?: string | undefined;
  /** Longest wait for one command's answer, in ms. Default 1 000. */
  commandTimeoutMs?: number | undefined;
  /** Longest wait for the connection the store opens from `url`, in ms. Default 2 000. */
  connectTimeoutMs?: number | undefined;
  /**
   * How long a lock lives without renewal, in ms: the longest a crashed holder can block the other
   * processes. Default: what the token cache asks for (10 000). At least 3 × `commandTimeoutMs`.
   */
  lockTtlMs?: number | undefined;
} & (
  | {
      /** A connected client of your own (ioredis or node-redis). The store never closes it. */
      client: RedisClientLike;
      url?: undefined;
    }
  | {
      /** `redis://[:password@]host:port/db`: the store opens its own ioredis connection on first use. */
      url: string;
      client?: undefined;
    }
);

export interface RedisTokenStore extends TokenStore {
  /**
   * Closes the connection the store opened from `url`, for good: later calls fail with a
   * ConnectionError. Does nothing to a client you passed in.
   */
  close(): Promise<void>;
}

/** Deletes KEYS[1] only while it holds ARGV[1]: a lock released by its holder, nobody else. */
export const RELEASE_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;

/**
 * Takes the lock KEYS[1] for ARGV[1] (1), or finds it held by another (0). A lock that already holds
 * ARGV[1] is taken too, for ARGV[2] ms: the answer to the first try was lost with its connection and
 * the client sent it again (ioredis resends what was unanswered). A plain `SET NX` would answer
 * "held" then, and every process would wait for this one's lock to lapse.
 */
const TAKE_LOCK_SCRIPT = `local v = redis.call("GET", KEYS[1])
if v == ARGV[1] then redis.call("PEXPIRE", KEYS[1], ARGV[2]) return 1 end
if v then return 0 end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
return 1`;

/** Extends KEYS[1] to ARGV[2] ms only while it holds ARGV[1]. */
const RENEW_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`;

/**
 * Deletes the token stored at KEYS[1] only if its `accessToken` is ARGV[1], so a call that saw its
 * token refused cannot delete a newer token another process stored meanwhile. An entry that is not
 * valid JSON is left alone (reads treat it as absent; the next write replaces it).
 */
export const COMPARE_AND_DELETE_SCRIPT = `local v = redis.call("GET", KEYS[1])
if not v then return 0 end
local ok, t = pcall(cjson.decode, v)
if ok and type(t) == "table" and t.accessToken == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`;

/** Deletes KEYS[1] only while it holds another type than a string (the store writes strings only). */
const DELETE_WRONG_TYPE_SCRIPT = `local t = redis.call("TYPE", KEYS[1])
if type(t) == "table" then t = t.ok end
if t ~= "string" and t ~= "none" then return redis.call("DEL", KEYS[1]) end
return 0`;

const DEFAULT_PREFIX = "imspec:";
/** PX takes a 64-bit integer; no token lives longer than a year, whatever its expiry says. */
const MAX_TTL_MS = 365 * 86_400_000;
const DEFAULT_LOCK_TTL_MS = 10_000;
/** Lock polling: starts short (the holder usually finishes in one token request), grows to a cap. */
const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 250;

type OwnedClient = IoRedisLike & {
  /** What ioredis read from the url: `db` is the database it selects on every connection. */
  options?: { db?: unknown };
  /** The connection's socket, a new one on each connect. */
  stream?: {
    on(event: "data", listener: (chunk: Buffer) => void): unknown;
    pause(): unknown;
    resume(): unknown;
    destroy(): unknown;
  };
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: "error" | "connect", listener: () => void): unknown;
};

/**
 * Most bytes the store's own connection reads toward one reply. Its replies are a token and its
 * expiry, a lock's owner, a count: a few kB, and a stored value of megabytes is read to be refused
 * as no token. ioredis buffers a reply until it is whole, so a hostile server's bulk string of
 * 512 MB took 1.7 GB of memory and blocked the event loop, and every call in the process, for over
 * a second once it arrived.
 */
const MAX_REPLY_BYTES = 16 << 20;
/** Bytes read since the last reply a command of the store got, per connection of its own. */
const unreplied = new WeakMap<OwnedClient, { bytes: number; paused: boolean }>();

/**
 * A command of the store got its reply, a value or an error: the bytes read so far made a reply.
 * The chunk that crossed the cap may have held the end of it; the socket is read again.
 */
function replied(client: OwnedClient | undefined): void {
  const meter = client && unreplied.get(client);
  if (!meter) return;
  meter.bytes = 0;
  if (meter.paused) {
    meter.paused = false;
    client.stream?.resume();
  }
}

/** Closes a connection of ours now, socket and all: ioredis's disconnect() only half-closes it. */
function drop(client: OwnedClient): void {
  client.disconnect();
  client.stream?.destroy();
}
type RedisConstructor = new (
  url: string,
  options: { maxRetriesPerRequest: number; connectTimeout: number },
) => OwnedClient;

/** `work`, or a TimeoutError after `ms`: a frozen Redis (accepting connections, never answering) ends here. */
function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(ms, { operationId: "tokenStore" });
      error.message = `Redis token store: no answer to ${what} within ${ms} ms`;
      reject(error);
    }, ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** A whole number of ms, checked like every option, or `fallback`. */
const ms = <F extends number | undefined>(value: number | undefined, name: string, fallback: F) =>
  checked(`createRedisTokenStore: ${name}`, value, fallback, 1, MAX_WAIT_MS, true);

/** A Redis failure as the library's typed error; the message names no host or password. */
function storeError(error: unknown): ConnectionError {
  const e = error as { code?: unknown; name?: unknown };
  const errno = typeof e?.code === "string" ? e.code : replyCode(error);
  const kind = typeof e?.name === "string" ? e.name : "Error";
  return new ConnectionError(
    `Redis token store failed: ${errno ?? kind}`,
    { operationId: "tokenStore" },
    errno,
    true,
  );
}

/** An answer no Redis gives to `command`: a typed error, never read as "no token" or "held". */
function unexpected(command: string): ConnectionError {
  return new ConnectionError(
    `Redis token store: unexpected answer to ${command}`,
    { operationId: "tokenStore" },
    undefined,
    false,
  );
}

/** GET's answer as text (a client may give bytes), undefined for none; anything else is no GET answer. */
function textOf(answer: unknown): string | undefined {
  if (answer === null || answer === undefined || typeof answer === "string") return answer ?? undefined;
  if (answer instanceof Uint8Array) return new TextDecoder().decode(answer);
  throw unexpected("GET");
}

function parse(text: string | undefined): StoredToken | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<StoredToken> | null;
    if (
      value &&
      // One the client would refuse from a source: every call of every process would fail with it.
      usableToken(value.accessToken) &&
      typeof value.expiresAt === "number" &&
      Number.isFinite(value.expiresAt)
    ) {
      // `obtainedAt` gives the token's lifetime, which caps the cache's refresh margin: without it
      // a process that reads a short-lived token here would think it stale and fetch its own.
      const { obtainedAt } = value;
      return typeof obtainedAt === "number" && Number.isFinite(obtainedAt)
        ? { accessToken: value.accessToken, expiresAt: value.expiresAt, obtainedAt }
        : { accessToken: value.accessToken, expiresAt: value.expiresAt };
    }
  } catch {
    // Not ours, or corrupt: treated as absent, replaced by the next write.
  }
  return undefined;
}

/** Failures no retry mends: Redis's own refusals (a reply), and commands on a closed store. */
const lasting = new WeakSet<Error>();
function lastingError(error: ConnectionError): ConnectionError {
  lasting.add(error);
  return error;
}

/**
 * The url's database, selected once more before the connection is used. ioredis selects it on every
 * connection, but when Redis refuses (it has fewer databases) it only emits an error and goes on in
 * database 0, where the token would sit among whatever else lives there.
 */
async function selected(client: OwnedClient, send: Send, timeoutMs: number): Promise<void> {
  const db = client.options?.db;
  if (typeof db !== "number" || db === 0) return;
  try {
    // Bounded like every command: a frozen Redis never answers it, and the connection (and every
    // `close()`, which waits for it) would wait with it.
    await within(send("SELECT", db), timeoutMs, "SELECT");
  } catch (error) {
    if (error instanceof TimeoutError) throw error;
    if (!isReply(error)) throw storeError(error);
    throw new ConfigError(`createRedisTokenStore: Redis refused database ${db}, the one the url names`);
  }
}

/** The store's own ioredis connection to `url`; a url ioredis cannot read is a ConfigError. */
function opened(Redis: RedisConstructor, url: string, connectTimeout: number): OwnedClient {
  let client: OwnedClient;
  try {
    // A few retries per command, not ioredis's 20: a call waiting on a token should fail in
    // seconds when Redis is down, not hang.
    // ioredis's own commandTimeout is left off: `within` bounds each command with a typed error.
    client = new Redis(url, { maxRetriesPerRequest: 2, connectTimeout });
  } catch {
    // Never the error itself: Node's URL error carries the url, password and all, as `input`.
    throw new ConfigError("createRedisTokenStore: url is not one ioredis can read (redis://…)");
  }
  // Connection errors also fail the commands that were waiting; without a listener ioredis
  // would print each one as an unhandled error event.
  client.on("error", () => undefined);
  // Past the cap the socket is no longer read: the command waits out its timeout, which drops the
  // connection (a TimeoutError, as for a reply without end), holding what it read meanwhile.
  const meter = { bytes: 0, paused: false };
  unreplied.set(client, meter);
  client.on("connect", () => {
    const stream = client.stream;
    meter.bytes = 0;
    meter.paused = false;
    stream?.on("data", (chunk: Buffer) => {
      meter.bytes += chunk.length;
      if (meter.bytes <= MAX_REPLY_BYTES || meter.paused) return;
      meter.paused = true;
      stream.pause();
    });
  });
  return client;
}

/** Redis commands, each bounded: over the given client, or one made from the url on first use. */
function commands(options: RedisTokenStoreOptions, commandTimeout: number, connectTimeout: number) {
  let owned: OwnedClient | undefined;
  let connecting: Promise<Send> | undefined;
  let closed = false;
  const given = options.client ? sender(options.client, "createRedisTokenStore") : undefined;
  const connect = (): Promise<Send> => {
    if (given) return Promise.resolve(given);
    // Closed for good: a connection opened after `close()` (a token request that ends during a
    // shutdown stores its token and releases its lock) would be closed by nobody, and keep the
    // process alive.
    if (closed)
      return Promise.reject(
        lastingError(
          new ConnectionError("Redis token store is closed", { operationId: "tokenStore" }, undefined, true),
        ),
      );
    connecting ??= (async () => {
      let mod: { Redis?: RedisConstructor; default?: RedisConstructor };
      try {
        // Loaded only here: users who pass their own client need not install ioredis.
        mod = (await import("ioredis")) as unknown as typeof mod;
      } catch {
        throw new ConfigError(
          "createRedisTokenStore({ url }) needs the ioredis package: npm install ioredis (or pass { client })",
        );
      }
      const Redis = mod.Redis ?? mod.default;
      if (!Redis) throw new ConfigError("createRedisTokenStore: the ioredis package has no Redis export");
      const client = opened(Redis, options.url as string, connectTimeout);
      owned = client;
      const send = sender(client, "createRedisTokenStore");
      await selected(client, send, commandTimeout).catch((error: unknown) => {
        // Not kept: the next command opens a connection again, unless Redis refused the database (a
        // ConfigError, as a missing ioredis): that failure stays, every command failing with it at
        // once rather than opening a connection to be refused again.
        if (owned === client) {
          owned = undefined;
          if (!(error instanceof ConfigError)) connecting = undefined;
        }
        client.disconnect();
        throw error;
      });
      return send;
    })();
    return connecting;
  };
  const run = async (...args: Array<string | number>): Promise<unknown> => {
    const send = await within(connect(), connectTimeout, "connect");
    const client = owned;
    try {
      const reply = await within(send(...args), commandTimeout, String(args[0]));
      replied(client);
      return reply;
    } catch (error) {
      if (!(error instanceof TimeoutError)) {
        // Redis's refusal is a reply too; a lost connection is not, and its client's meter goes on
        // counting toward a reply on the next one.
        if (isReply(error)) {
          replied(client);
          throw lastingError(storeError(error));
        }
        // A client of the caller's that is closed stays so: no command of the store's goes through it.
        if (options.client && isClosed(options.client)) throw lastingError(storeError(error));
        throw storeError(error);
      }
      // A connection of ours that did not answer in time is dropped with all it holds: the commands
      // queued in it, and a reply still coming in (a hostile server can send one without end, and
      // ioredis would buffer every byte of it). The next command opens another.
      if (client && owned === client) {
        owned = undefined;
        connecting = undefined;
      }
      if (client) drop(client);
      throw error;
    }
  };

  const close = async () => {
    closed = true;
    if (!connecting) return;
    await connecting.catch(() => undefined);
    // QUIT waits for Redis's answer: a frozen Redis gets the socket closed instead.
    const client = owned;
    await within(client?.quit() ?? Promise.resolve(), commandTimeout, "QUIT").catch(
      () => client && drop(client),
    );
    owned = undefined;
    connecting = undefined;
  };
  return { run, close };
}

/** How long a release after a failed take is tried again while Redis answers nothing. */
const RELEASE_TRIES_MS = 60_000;

/**
 * Frees the lock `held` for `id` in the background after a take that failed; its own failure changes
 * nothing, and it frees nothing but this id. The take may not have run yet: a frozen Redis that is
 * back runs what its sockets hold, a take in a connection dropped on its timeout included, and not
 * necessarily before a release sent on another connection. So the release is sent again while
 * Redis gives no answer in time (for a minute at most), then once more one command time after it
 * answered, when whatever Redis held from before has run.
 */
function releaseAfterFailedTake(run: Send, held: string, id: string, commandMs: number): void {
  const release = () => run("EVAL", RELEASE_SCRIPT, 1, held, id);
  // Not `sleep` (core/retry.ts): a pause of work in the background must not keep the process alive.
  const pause = () => new Promise<void>((resolve) => setTimeout(resolve, commandMs).unref());
  const until = performance.now() + RELEASE_TRIES_MS;
  void (async () => {
    for (;;) {
      try {
        await release();
        break;
      } catch (error) {
        // Tried again whatever kept it from Redis (no answer, a connection lost or refused): the take
        // may have run all the same, its answer lost. Not once Redis refused it, or the store closed.
        const again =
          error instanceof TimeoutError || (error instanceof ConnectionError && !lasting.has(error));
        if (!again || performance.now() >= until) return;
      }
      await pause();
    }
    await pause();
    await release();
  })().catch(() => undefined);
}

/**
 * Takes the lock `held` (TAKE_LOCK_SCRIPT), polling with backoff until `waitMs` has passed; renews it while
 * held. Resolves with its release, or undefined when it was not taken in time.
 */
async function takeLock(run: Send, held: string, ttl: number, waitMs: number, commandMs: number) {
  const id = randomUUID();
  // Monotonic: by the wall clock, one set back meanwhile stretched the wait by as much.
  const deadline = performance.now() + (waitMs > 0 ? Math.min(waitMs, MAX_TTL_MS) : 0);
  let pause = POLL_FIRST_MS;
  for (let polls = 0; ; polls++) {
    let taken: number;
    try {
      taken = integerOf(await run("EVAL", TAKE_LOCK_SCRIPT, 1, held, id, ttl));
      // Read as "held", any other answer would keep the token cache waiting for a lock nobody holds.
      if (taken !== 0 && taken !== 1) throw unexpected("the lock script");
    } catch (error) {
      // The script may have run all the same, or may yet (its answer late, lost or garbled): the lock
      // would hold an id nobody renews or releases, and every process would wait a whole TTL for it.
      releaseAfterFailedTake(run, held, id, commandMs);
      throw error;
    }
    if (taken === 1) break;
    const left = deadline - performance.now();
    // Bounded twice: by the deadline, and by a poll count in case the clock misbehaves.
    if (left <= 0 || polls > 10_000) return undefined;
    await sleep(Math.min(left, pause * (0.5 + Math.random() / 2)));
    pause = Math.min(POLL_MAX_MS, pause * 2);
  }
  // Renew while held, so a token request slower than the TTL keeps the lock; a crashed holder
  // stops renewing and the lock lapses within one TTL.
  const renewal = setInterval(
    () => {
      run("EVAL", RENEW_SCRIPT, 1, held, id, ttl).then(
        (renewed) => {
          // Read as the lock was taken: a client may give the integer as digits or a bigint.
          if (integerOf(renewed) !== 1) clearInterval(renewal);
        },
        () => {
          // Redis unreachable: the lock lapses by itself; nothing to do here.
        },
      );
    },
    Math.max(1, Math.floor(ttl / 3)),
  );
  renewal.unref();
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    clearInterval(renewal);
    try {
      await run("EVAL", RELEASE_SCRIPT, 1, held, id);
    } catch {
      // The token is already stored; an unreleased lock lapses within one TTL.
    }
  };
}

export function createRedisTokenStore(options: RedisTokenStoreOptions): RedisTokenStore {
  if (!options || (!options.client && !options.url))
    throw new ConfigError("createRedisTokenStore: give a client or a url");
  // Never echoed: a URL may hold a password. A number would be taken by ioredis as a port of
  // localhost, another Redis than meant; an object, as its options.
  if (!options.client && typeof options.url !== "string")
    throw new ConfigError("createRedisTokenStore: url must be a string (redis://…)");
  if (options.prefix != null && typeof options.prefix !== "string")
    throw new ConfigError("createRedisTokenStore: prefix must be a string");
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const tokenKey = (key: string) => `${prefix}token:${key}`;
  const lockTtl = ms(options.lockTtlMs, "lockTtlMs", undefined);
  const commandTimeout = ms(options.commandTimeoutMs, "commandTimeoutMs", 1_000);
  // Renewed every third of its life: a renewal that takes a whole command timeout must still land.
  const shortestLockTtl = 3 * commandTimeout;
  if (lockTtl !== undefined && lockTtl < shortestLockTtl)
    throw new ConfigError(
      `createRedisTokenStore: lockTtlMs must be at least 3 × commandTimeoutMs (${shortestLockTtl}), or the lock lapses between renewals`,
    );
  const connectTimeout = ms(options.connectTimeoutMs, "connectTimeoutMs", 2_000);
  const { run, close } = commands(options, commandTimeout, connectTimeout);

  /**
   * `work` on one of the store's keys; a key that holds another type than the store writes there (a
   * list under the same prefix) is garbage to the store: deleted, then `work` once more, where every
   * command on it would fail for good, and with it the sharing of the token.
   */
  const onKey = async <T>(key: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if ((error as { errno?: unknown }).errno !== "WRONGTYPE") throw error;
      // Only while it is still of another type: another process may have mended it and taken the
      // lock (or stored a token) since, which a plain DEL would take from it.
      await run("EVAL", DELETE_WRONG_TYPE_SCRIPT, 1, key);
      return work();
    }
  };

  return {
    async get(key) {
      const stored = tokenKey(key);
      return onKey(stored, async () => parse(textOf(await run("GET", stored))));
    },

    async set(key, token) {
      // Redis drops the entry when the token expires: 1 ms at least (PX refuses 0), a year at most,
      // and 1 ms for an expiry that is not a number (never `PX NaN`).
      const left = Math.ceil(token.expiresAt - Date.now());
      const ttl = Number.isFinite(left) ? Math.min(MAX_TTL_MS, Math.max(1, left)) : 1;
      const { accessToken, expiresAt, obtainedAt } = token;
      const value = JSON.stringify({ accessToken, expiresAt, obtainedAt });
      await run("SET", tokenKey(key), value, "PX", ttl);
    },

    async delete(key, accessToken) {
      if (accessToken === undefined) await run("DEL", tokenKey(key));
      else {
        const stored = tokenKey(key);
        await onKey(stored, () => run("EVAL", COMPARE_AND_DELETE_SCRIPT, 1, stored, accessToken));
      }
    },

    async lock(key, ttlMs, waitMs) {
      const asked = Math.round(lockTtl ?? ttlMs);
      const given = asked > 0 && asked <= MAX_TTL_MS ? asked : DEFAULT_LOCK_TTL_MS; // NaN included
      // However short the TTL the token cache asks for.
      const ttl = Math.max(given, shortestLockTtl);
      const held = `${prefix}lock:${key}`;
      return onKey(held, () => takeLock(run, held, ttl, waitMs, commandTimeout));
    },

    close,
  };
}
