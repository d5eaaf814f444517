import { randomBytes } from "node:crypto";
/** An app (organisation) token or a user (personal) token (`x-imspec-token-kind` of the security scheme). */
export type TokenKind = "app" | "user";

/** Why a token is refused (`x-imspec-errors.tokenInvalid.reasons` may name the code of each). */
export const REFUSALS = ["missing", "unknown", "expired", "revoked", "wrong-kind"] as const;

/** Why a token was refused, or "ok". */
export type TokenCheck = "ok" | (typeof REFUSALS)[number];

const PRUNE_AT = 10_000;

interface TokenRecord {
  api: string;
  kind: TokenKind;
  /** Whose token it is: the issuing operation and the request's owner fields (`ownerFields`). */
  owner: string;
  expiresAt: number;
  revoked: boolean;
}

export interface IssueOptions {
  kind: TokenKind;
  owner: string;
  lifetimeMs: number;
  /** Asking again within the lifetime returns the same token, its lifetime extended (`x-imspec-mock.tokens.<op>.reuse`). */
  reuse?: boolean;
  /** One token at a time: a new one revokes the previous ones of the owner (`x-imspec-mock.tokens.<op>.replace`). */
  replace?: boolean;
  /** Use this token string instead of a random one (an example's token served as is). */
  token?: string;
}

/** The tokens the mock issued, per API, checked on every call that needs one. */
export class TokenRegistry {
  readonly #tokens = new Map<string, TokenRecord>();
  readonly #now: () => number;
  /**
   * The size that makes the next prune. It doubles with the live tokens left after one: rescanning
   * them all on every issue made each token cost as much as all the tokens before it.
   */
  #pruneAt = PRUNE_AT;

  constructor(now: () => number) {
    this.#now = now;
  }

  issue(api: string, options: IssueOptions): { token: string; expiresAt: number } {
    const now = this.#now();
    const expiresAt = now + options.lifetimeMs;
    if (options.reuse && options.token === undefined) {
      for (const [token, record] of this.#tokens) {
        if (this.#matches(record, api, options) && !record.revoked && now < record.expiresAt) {
          record.expiresAt = expiresAt;
          return { token, expiresAt };
        }
      }
    }
    if (options.replace) {
      for (const [token, record] of this.#tokens) {
        if (this.#matches(record, api, options) && token !== options.token) record.revoked = true;
      }
    }
    if (this.#tokens.size >= this.#pruneAt) {
      this.#prune(now);
      this.#pruneAt = Math.max(PRUNE_AT, 2 * this.#tokens.size);
    }
    const token = options.token ?? randomBytes(16).toString("hex");
    this.#tokens.set(token, { api, kind: options.kind, owner: options.owner, expiresAt, revoked: false });
    return { token, expiresAt };
  }

  check(api: string, token: string | undefined, kind: TokenKind): TokenCheck {
    if (token === undefined || token === "") return "missing";
    const record = this.#tokens.get(token);
    if (!record || record.api !== api) return "unknown";
    if (record.revoked) return "revoked";
    if (this.#now() >= record.expiresAt) return "expired";
    return record.kind === kind ? "ok" : "wrong-kind";
  }

  /** Makes every token of `api` (or of every API) expire now. */
  expireAll(api?: string): void {
    const now = this.#now();
    for (const record of this.#tokens.values()) {
      if (api === undefined || record.api === api) record.expiresAt = Math.min(record.expiresAt, now);
    }
  }

  /** Makes one token expire now; false when the mock never issued it. */
  expire(token: string): boolean {
    const record = this.#tokens.get(token);
    if (record) record.expiresAt = Math.min(record.expiresAt, this.#now());
    return record !== undefined;
  }

  clear(): void {
    this.#tokens.clear();
    this.#pruneAt = PRUNE_AT;
  }

  /** Forgets dead tokens so a long-running mock does not grow; they are refused either way. */
  #prune(now: number): void {
    for (const [token, record] of this.#tokens) {
      if (record.revoked || now >= record.expiresAt) this.#tokens.delete(token);
    }
  }

  #matches(record: TokenRecord, api: string, options: IssueOptions): boolean {
    return record.api === api && record.owner === options.owner && record.kind === options.kind;
  }
}
