/** The Redis clients the stores accept, and the one way they send a raw command. */
import { ConfigError } from "../core/errors.js";

/** What the stores need of an ioredis client (`new Redis(…)`, also a Cluster): raw commands. */
export interface IoRedisLike {
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
}

/** What the stores need of a node-redis client (`createClient(…)`, v4 or later): raw commands. */
export interface NodeRedisLike {
  sendCommand(args: string[]): Promise<unknown>;
}

export type RedisClientLike = IoRedisLike | NodeRedisLike;

export type Send = (...args: Array<string | number>) => Promise<unknown>;

/** An integer answer of a script (a client may give it as digits or a bigint), else NaN. */
export const integerOf = (answer: unknown): number =>
  typeof answer === "number" ||
  typeof answer === "bigint" ||
  (typeof answer === "string" && /^\d+$/.test(answer))
    ? Number(answer)
    : Number.NaN;

/**
 * A raw-command sender over `client`; a ConfigError naming `who` for anything else. Its commands
 * always answer with a promise: a client that throws instead fails that command, not the store.
 */
export function sender(client: RedisClientLike, who: string): Send {
  // ioredis also has a `sendCommand`, with another signature: test for its `call` first.
  if (typeof (client as IoRedisLike | undefined)?.call === "function") {
    const c = client as IoRedisLike;
    return async (command, ...args) => c.call(String(command), ...args);
  }
  if (typeof (client as NodeRedisLike | undefined)?.sendCommand === "function") {
    const c = client as NodeRedisLike;
    return async (...args) => c.sendCommand(args.map(String));
  }
  throw new ConfigError(`${who}: give an ioredis or node-redis client`);
}

/**
 * Whether a failure is Redis's own answer, an error reply: ioredis's `ReplyError`, node-redis's
 * `ErrorReply` (and its `SimpleError`, `BlobError`), told by name along the prototype chain.
 */
export function isReply(error: unknown): boolean {
  try {
    if ((error as { name?: unknown } | null)?.name === "ReplyError") return true;
    let proto = error !== null && typeof error === "object" ? Object.getPrototypeOf(error) : null;
    for (let depth = 0; proto && depth < 8; depth++, proto = Object.getPrototypeOf(proto)) {
      const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
      if (name === "ErrorReply" || name === "ReplyError") return true;
    }
  } catch {
    // A Proxy or getter that throws: not an answer this store can read.
  }
  return false;
}

/** A client of the caller's that has been closed (ioredis `quit()`, node-redis `quit()`/not connected). */
export function isClosed(client: RedisClientLike): boolean {
  try {
    const c = client as { status?: unknown; isOpen?: unknown };
    return c.status === "end" || c.isOpen === false;
  } catch {
    return false;
  }
}

/**
 * The error code of a Redis reply (`WRONGTYPE`, `NOPERM`, `OOM`, …), also where Redis before 7 wraps
 * it in a script's error: the one word of Redis's message that is the store's to repeat (the rest
 * may quote a key or a user).
 */
export function replyCode(error: unknown): string | undefined {
  const said = (error as { message?: unknown } | null)?.message;
  if (typeof said !== "string") return undefined;
  return (
    /\b(WRONGTYPE|NOPERM|NOAUTH|WRONGPASS|OOM|READONLY|MISCONF|NOSCRIPT|BUSY|LOADING|MASTERDOWN|CLUSTERDOWN|CROSSSLOT|TRYAGAIN)\b/.exec(
      said,
    )?.[1] ?? /^([A-Z]{2,})\b/.exec(said)?.[1]
  );
}
