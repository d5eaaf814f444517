/** Access tokens: fetched once, shared, refreshed before they expire. One token request in flight;
 * every call refused with the same token shares one replacement. A token is used until `expiresAt -
 * marginMs` (the margin capped at half its lifetime), and while that early refresh fails, until its
 * real expiry. Invalidation is compare-and-delete. Stores are pluggable (memory by default); a failing
 * one is skipped for a while. Each caller's wait is bounded by its signal and deadline (`TokenWait`). */
import { ApiError, ConfigError, TimeoutError } from "./errors.js";
import { sleep } from "./retry.js";
import { MemoryTokenStore, type StoredToken, type TokenStore, usableToken } from "./token-store.js";
import { onAbort } from "./transport.js";
import { MAX_WAIT_MS } from "./validate.js";

export { MemoryTokenStore, type StoredToken, type TokenStore, tokenKey } from "./token-store.js";

/** Bounds of one caller's wait for a token: its call's AbortSignal and deadline (epoch ms, `Date.now()`). */
export type TokenWait = { signal?: AbortSignal | undefined; deadline?: number | undefined };

export interface TokenCacheOptions {
  key: string;
  fetch: () => Promise<StoredToken>;
  /** A token already held (a user token handed in): used, and refreshed, as one the cache fetched. */
  initial?: StoredToken | undefined;
  store?: TokenStore | undefined;
  marginMs: number; // refresh this long before expiry
  now?: () => number;
  onToken?: (token: string) => void; // every token fetched or read, so the redactor learns it
  lockTtlMs?: number; // lock lifetime: a crashed holder blocks the others at most this long
  lockWaitMs?: number; // longest wait while another process holds and renews the lock (60 000)
  storeWaitMs?: number; // longest wait for one store call: a frozen store counts as failed (5 000)
  /** Told once of each kind of trouble (nonsense expiry, failing store); never given a secret. */
  onWarning?: ((message: string) => void) | undefined;
  /** The token goes in a header: one read back from the store must be one a header can carry. */
  inHeader?: boolean | undefined;
}

// Lifetimes outside 10 s…1 year are nonsense (tokens live hours to 30 days): 10 s still means one
// request per 5 s, not per call. A failed store or early refresh is left alone 5 s (a frozen Redis
// costs one timeout, not one per call). The lock is awaited in 250 ms slices, rereading the store.
const MIN_LIFETIME_MS = 10_000;
const MAX_LIFETIME_MS = 365 * 86_400_000;
const PAUSE_MS = 5_000;
const LOCK_SLICE_MS = 250;
/**
 * After the server refused a token request, the next waits 1 s, then twice as long after each
 * refusal in a row, up to 30 s; meanwhile calls fail with that refusal, nothing sent. A wrong secret
 * is otherwise sent once per call, and some platforms block the IP that sends it too often (WeCom:
 * for an hour); a token endpoint in trouble is not asked by every call either.
 */
const REFUSED_FIRST_MS = 1_000;
const REFUSED_MAX_MS = 30_000;
/**
 * The cache's own time for its pauses and lock waits (ms): monotonic. By the wall clock, one set
 * back an hour kept a store that had failed aside for the hour, and slept a lock wait as long.
 */
const elapsed = (): number => performance.now();

export class TokenCache {
  readonly #o: TokenCacheOptions;
  readonly #store: TokenStore;
  #current: StoredToken | undefined;
  #inflight: { rejected: string | undefined; promise: Promise<string> } | undefined;
  #retryAt = 0; // after an early refresh failed, no other before this (`now()`)
  #storePausedUntil = 0; // `elapsed()`
  #insisted = { token: "", until: 0 }; // a refused token the server handed back, and until when
  #refused: { error: unknown; until: number; pauseMs: number } | undefined; // the last token request's refusal (`elapsed()`)
  readonly #warned = new Set<string>();
  fetches = 0; // token requests this cache made (not reads from a shared store)

  constructor(options: TokenCacheOptions) {
    this.#o = options;
    this.#store = options.store ?? new MemoryTokenStore();
    this.#current = options.initial;
  }

  #now = (): number => (this.#o.now ?? Date.now)();
  #valid = (token?: StoredToken): token is StoredToken => !!token && this.#now() < token.expiresAt;

  /** Outside the refresh margin (capped at half the token's lifetime); an expiry of NaN never is. */
  #fresh(token: StoredToken | undefined, rejected?: string): token is StoredToken {
    const left = (token?.expiresAt ?? 0) - this.#now();
    const margin = Math.min(
      this.#o.marginMs,
      ((token?.expiresAt ?? 0) - (token?.obtainedAt ?? -Infinity)) / 2,
    );
    return token?.accessToken !== rejected && left > margin;
  }

  /** The cached token while no refresh is due: what `get` would resolve with at once. */
  peek(): string | undefined {
    const held = this.#current;
    if (this.#fresh(held) || (this.#valid(held) && this.#now() < this.#retryAt)) return held.accessToken;
    return undefined;
  }

  /** A valid token: the cached one, or the result of the one refresh in flight. */
  get(wait: TokenWait = {}): Promise<string> {
    const held = this.peek();
    if (held !== undefined) return Promise.resolve(held);
    // While a token still valid is held, its early refresh is waited for half the caller's time at
    // most: a refresh that hangs leaves the rest to the call the held token is sent with.
    const left = (wait.deadline ?? Number.NaN) - Date.now();
    const halved = this.#valid(this.#current) && left > 0;
    const shared = this.#start(undefined);
    const bound = halved ? { ...wait, deadline: Date.now() + left / 2 } : wait;
    return this.#wait(shared, bound).catch((error: unknown) => {
      // An early refresh that failed or outlasted this call's bound: the cached token still works.
      if (!wait.signal?.aborted && this.#valid(this.#current)) return this.#current.accessToken;
      // It expired during the halved wait: the rest of the caller's time is the refresh's again.
      if (halved && !wait.signal?.aborted && error instanceof TimeoutError) return this.#wait(shared, wait);
      throw error;
    });
  }

  /** Drops `rejected`; another valid token, or what one shared refresh brought (maybe the same again). */
  replace(rejected: string, wait: TokenWait = {}): Promise<string> {
    const insisted = this.#insisted.token === rejected && this.#now() < this.#insisted.until;
    if (this.#current?.accessToken === rejected && !insisted) this.#current = undefined;
    if (this.#valid(this.#current)) return Promise.resolve(this.#current.accessToken);
    return this.#wait(this.#start(rejected), wait);
  }

  /** Forgets the token everywhere (memory and store). */
  async clear(): Promise<void> {
    this.#current = undefined;
    // A fresh start: the next call asks the server again (credentials mended meanwhile, say).
    this.#refused = undefined;
    await this.#safely(() => this.#store.delete(this.#o.key));
  }

  #start(rejected: string | undefined): Promise<string> {
    const prev = this.#inflight;
    if (prev && (rejected === undefined || prev.rejected === rejected)) return prev.promise;
    // A refresh that began before this refusal may bring the refused token: run after it.
    const promise: Promise<string> = (prev ? prev.promise.catch(() => undefined) : Promise.resolve())
      .then(() => this.#refresh(rejected))
      .finally(() => {
        if (this.#inflight?.promise === promise) this.#inflight = undefined;
      });
    this.#inflight = { rejected, promise };
    return promise;
  }

  /** The shared promise within one caller's bounds; its listener and timer go either way. */
  #wait(shared: Promise<string>, { signal, deadline }: TokenWait): Promise<string> {
    const ms = (deadline ?? Number.NaN) - Date.now();
    if (!signal && !(ms <= MAX_WAIT_MS)) return shared; // no bound, or longer than setTimeout can wait
    let timer: ReturnType<typeof setTimeout> | undefined;
    let off: (() => void) | undefined;
    return new Promise<string>((resolve, reject) => {
      if (ms <= MAX_WAIT_MS)
        timer = setTimeout(
          () => reject(new TimeoutError(ms, { operationId: "accessToken" }, undefined, true)),
          ms,
        );
      if (signal?.aborted) reject(signal.reason);
      off = signal && onAbort(signal, () => reject(signal.reason));
      shared.then(resolve, reject);
    }).finally(() => {
      clearTimeout(timer);
      off?.();
    });
  }

  async #refresh(rejected: string | undefined): Promise<string> {
    const { key, lockTtlMs = 10_000, lockWaitMs = 60_000 } = this.#o;
    // Chained after a refresh that brought another token: that one will do.
    const held = this.#current;
    if (rejected !== undefined && this.#valid(held) && held.accessToken !== rejected) return held.accessToken;
    if (rejected !== undefined) await this.#safely(() => this.#store.delete(key, rejected));
    const lock = this.#store.lock?.bind(this.#store);
    const until = elapsed() + lockWaitMs;
    let release: (() => Promise<void>) | undefined;
    try {
      // Reread the store around each lock attempt: a fetch would invalidate a token another process
      // stored (WorkPlus keeps one per app). Wait while the lock is held (renewed; a crashed holder's lapses).
      for (let slice = 0; ; slice = LOCK_SLICE_MS) {
        const found = await this.#safely(() => this.#store.get(key));
        // Only one that could have been answered: a token of the user's own store that every call
        // would fail with before reaching a server (a number, a line break) is fetched anew. Another
        // process's expiry is kept unless it is further away than any token lives.
        const stored =
          found && found.accessToken !== rejected && usableToken(found.accessToken, this.#o.inHeader)
            ? { ...found, expiresAt: Math.min(found.expiresAt, this.#now() + MAX_LIFETIME_MS) }
            : undefined;
        if (this.#fresh(found, rejected) && stored) return this.#use(stored);
        // After a refusal, none is asked for until the pause ends: no lock, no request. A token
        // another client stored is taken (one still valid, inside its refresh margin too). Not
        // while a valid token is held, whose early refresh has a pause of its own (`#retryAt`).
        const refused = this.#refused;
        if (refused && elapsed() < refused.until && !this.#valid(this.#current)) {
          if (this.#valid(stored)) return this.#use(stored);
          throw refused.error;
        }
        if (release || !lock || elapsed() >= until || elapsed() < this.#storePausedUntil) break;
        const asked = elapsed();
        release = await this.#safely(
          () => lock(key, lockTtlMs, slice),
          (late) => typeof late === "function" && late(),
        );
        // A store that says "held" at once, not after the slice, is asked again a slice later: never
        // in a loop that would starve every other timer of the process.
        if (!release && slice > 0) await sleep(asked + slice - elapsed());
      }
      this.fetches++;
      const token = this.#sane(await this.#o.fetch(), this.#now());
      await this.#safely(() => this.#store.set(key, token));
      this.#retryAt = 0;
      this.#refused = undefined;
      // The server handed the refused token back: later refusals of it get it again, not another request.
      if (token.accessToken === rejected) this.#insisted = { token: rejected, until: this.#now() + PAUSE_MS };
      return this.#use(token);
    } catch (error) {
      this.#retryAt = this.#now() + PAUSE_MS;
      // A new refusal (not the one a call in the pause is given again) doubles the pause.
      if (error instanceof ApiError && error !== this.#refused?.error) {
        const pauseMs = Math.min(REFUSED_MAX_MS, 2 * (this.#refused?.pauseMs ?? REFUSED_FIRST_MS / 2));
        this.#refused = { error, until: elapsed() + pauseMs, pauseMs };
        this.#warn(`token request refused: calls fail with that refusal for ${pauseMs} ms, nothing sent`);
      }
      throw error;
    } finally {
      // Nobody waits for the release; a release that throws or answers no promise changes nothing.
      if (release)
        void Promise.resolve(release)
          .then((r) => r())
          .catch(() => undefined);
    }
  }

  /**
   * A store call; a failure, or no answer within `storeWaitMs`, pauses the store for a while and the
   * cache goes on from memory (a custom store that never answers cannot hold the refresh forever).
   */
  async #safely<T>(call: () => Promise<T>, late?: (value: T) => unknown): Promise<T | undefined> {
    if (elapsed() < this.#storePausedUntil) return undefined;
    const waitMs = this.#o.storeWaitMs ?? PAUSE_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let gaveUp = false;
    const frozen = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(waitMs, {})), waitMs);
    });
    try {
      const answer = Promise.resolve().then(call);
      // What answers after we gave up is handed to `late` (a lock taken too late is released).
      answer.then((value) => gaveUp && late?.(value)).catch(() => undefined);
      return await Promise.race([answer, frozen]);
    } catch (error) {
      gaveUp = true;
      // A store set up wrong (ioredis not installed, a database Redis refuses) heals by no waiting: in
      // memory, each process would fetch its own token, and WorkPlus's revoke each other's. Said at once.
      if (error instanceof ConfigError) throw error;
      this.#storePausedUntil = elapsed() + PAUSE_MS;
      // The error's code too where it has one (`ECONNREFUSED`, Redis's `NOPERM`, `OOM`): what to mend.
      const code = (error as { errno?: unknown } | null)?.errno;
      const named = typeof code === "string" && /^[A-Z][A-Z0-9_]{1,31}$/.test(code) ? ` ${code}` : "";
      this.#warn(`token store failed (${(error as Error)?.name}${named}); memory only for ${PAUSE_MS} ms`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The fetched token with its expiry in range: epoch seconds read as such, the rest clamped. */
  #sane(token: StoredToken, started: number): StoredToken {
    let at = Number(token.expiresAt);
    if (at > 1e9 && at < 1e11) at *= 1000; // 2001…5138 in seconds is 1970 in ms
    const lifetime = at - started;
    const clamped = Math.min(MAX_LIFETIME_MS, Math.max(MIN_LIFETIME_MS, lifetime || 0));
    if (clamped !== lifetime) this.#warn(`token expiry out of range: used for ${clamped} ms`);
    return { accessToken: token.accessToken, expiresAt: started + clamped, obtainedAt: started };
  }

  /** Each kind of warning once; a throwing or rejecting callback is ignored. */
  #warn(message: string): void {
    const kind = message.replace(/\d+/g, "");
    if (this.#warned.has(kind) || !this.#warned.add(kind)) return;
    new Promise((r) => r(this.#o.onWarning?.(message))).catch(() => undefined);
  }

  #use(token: StoredToken): string {
    this.#o.onToken?.(token.accessToken);
    this.#current = token;
    return token.accessToken;
  }
}
