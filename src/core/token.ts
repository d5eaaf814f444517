/**
 * Access tokens: fetched once, shared, refreshed before they expire.
 *
 * - Single flight: however many calls need a token at once, one token request is in flight.
 * - Early refresh: a token is used until `expiresAt - marginMs` (the margin capped at half the
 *   token's lifetime), then replaced.
 * - Invalidation is compare-and-delete: a call that was told "token invalid" drops only the token
 *   it used, so a token another call (or process) fetched meanwhile survives.
 * - Stores are pluggable (memory by default) so several processes can share one token. A store that
 *   can `lock` lets one process fetch while the others wait for its result.
 */

export interface StoredToken {
  accessToken: string;
  /** Epoch ms after which the server no longer accepts the token. */
  expiresAt: number;
  /** Epoch ms when the token was fetched; with `expiresAt` it gives the token's lifetime. */
  obtainedAt?: number | undefined;
}

export interface TokenStore {
  get(key: string): Promise<StoredToken | undefined>;
  set(key: string, token: StoredToken): Promise<void>;
  /** Deletes the stored token, only if it is still `accessToken` when given. */
  delete(key: string, accessToken?: string): Promise<void>;
  /**
   * Optional cross-process lock around a fetch: resolves to a release function once held, or to
   * `undefined` if not held within `waitMs` (the caller then rereads the store and fetches anyway).
   */
  lock?(key: string, ttlMs: number, waitMs: number): Promise<(() => Promise<void>) | undefined>;
}

export class MemoryTokenStore implements TokenStore {
  readonly #tokens = new Map<string, StoredToken>();
  async get(key: string): Promise<StoredToken | undefined> {
    return this.#tokens.get(key);
  }
  async set(key: string, token: StoredToken): Promise<void> {
    this.#tokens.set(key, token);
  }
  async delete(key: string, accessToken?: string): Promise<void> {
    if (accessToken === undefined || this.#tokens.get(key)?.accessToken === accessToken)
      this.#tokens.delete(key);
  }
}

export interface TokenCacheOptions {
  key: string;
  fetch: () => Promise<StoredToken>;
  store?: TokenStore | undefined;
  /** Refresh this long before expiry. */
  marginMs: number;
  now?: () => number;
  /** Called with every token fetched or read, so the redactor learns it. */
  onToken?: (token: string) => void;
  /** Lock lifetime when the store can lock (a crashed holder blocks others at most this long). */
  lockTtlMs?: number;
}

export class TokenCache {
  readonly #options: TokenCacheOptions;
  readonly #store: TokenStore;
  readonly #now: () => number;
  #current: StoredToken | undefined;
  #inflight: Promise<string> | undefined;
  /** Token requests this cache made (not reads from a shared store). */
  fetches = 0;

  constructor(options: TokenCacheOptions) {
    this.#options = options;
    this.#store = options.store ?? new MemoryTokenStore();
    this.#now = options.now ?? Date.now;
  }

  #fresh(token: StoredToken | undefined, rejected?: string): token is StoredToken {
    if (!token || token.accessToken === rejected) return false;
    // A token that lives shorter than twice the margin is used for the first half of its life,
    // not refetched on every call.
    const lifetime =
      token.obtainedAt === undefined ? Number.POSITIVE_INFINITY : token.expiresAt - token.obtainedAt;
    return this.#now() < token.expiresAt - Math.min(this.#options.marginMs, lifetime / 2);
  }

  /** A valid token: the cached one, or the result of the one token request in flight. */
  get(): Promise<string> {
    if (this.#fresh(this.#current)) return Promise.resolve(this.#current.accessToken);
    this.#inflight ??= this.#refresh(undefined).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /**
   * Drops `rejected` (a token the server refused) and returns a valid token that differs from it:
   * one another call already fetched, or a new one. All callers that saw the same refusal share it.
   */
  replace(rejected: string): Promise<string> {
    if (this.#current?.accessToken === rejected) this.#current = undefined;
    if (this.#fresh(this.#current, rejected)) return Promise.resolve(this.#current.accessToken);
    // A refresh that started before the refusal may still hand out the refused token: wait for it,
    // then refresh again (it has settled, so the next call starts a fresh request).
    if (this.#inflight)
      return this.#inflight.then((token) => (token === rejected ? this.replace(rejected) : token));
    this.#inflight = this.#store
      .delete(this.#options.key, rejected)
      .then(() => this.#refresh(rejected))
      .finally(() => {
        this.#inflight = undefined;
      });
    return this.#inflight;
  }

  /** Forgets the token everywhere (memory and store). */
  async clear(): Promise<void> {
    this.#current = undefined;
    await this.#store.delete(this.#options.key);
  }

  async #refresh(rejected: string | undefined): Promise<string> {
    const { key } = this.#options;
    const stored = await this.#store.get(key);
    if (this.#fresh(stored, rejected)) return this.#use(stored);
    const release = await this.#store.lock?.(
      key,
      this.#options.lockTtlMs ?? 10_000,
      this.#options.lockTtlMs ?? 10_000,
    );
    try {
      if (this.#store.lock) {
        // Another process may have fetched while we waited for the lock, whether or not we got it
        // in time: a fetch now would invalidate its token (WorkPlus keeps one token per app).
        const again = await this.#store.get(key);
        if (this.#fresh(again, rejected)) return this.#use(again);
      }
      this.fetches++;
      const started = this.#now();
      const fetched = await this.#options.fetch();
      const token = fetched.obtainedAt === undefined ? { ...fetched, obtainedAt: started } : fetched;
      this.#options.onToken?.(token.accessToken);
      await this.#store.set(key, token);
      return this.#use(token);
    } finally {
      await release?.();
    }
  }

  #use(token: StoredToken): string {
    this.#options.onToken?.(token.accessToken);
    this.#current = token;
    return token.accessToken;
  }
}
