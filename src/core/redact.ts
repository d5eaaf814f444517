/**
 * Keeps secrets (app secrets, client secrets, access tokens) out of everything the client shows:
 * error messages and bodies, log events. Known secret values are replaced wherever they occur, and
 * token-shaped parts of URLs and headers are masked even when their value is not known.
 */
const MASK = "[redacted]";
const MAX_REMEMBERED = 32;
const PATTERNS: Array<[RegExp, string]> = [
  [/(access_token=)[^&#\s"']+/gi, `$1${MASK}`],
  [/(x-acs-dingtalk-access-token["']?\s*[:=]\s*["']?)[^\s"',;]+/gi, `$1${MASK}`],
  [
    /("?(?:appSecret|app_secret|clientSecret|client_secret|suiteSecret|accessToken|access_token|refreshToken|refresh_token)"?\s*[:=]\s*"?)[^"\s,}&]+/gi,
    `$1${MASK}`,
  ],
];

export class Redactor {
  /** Secrets from the client's options (app and client secrets): kept for the client's life. */
  readonly #pinned: string[] = [];
  /** Secrets that rotate (access and refresh tokens): the newest 32 are kept. */
  readonly #secrets: string[] = [];

  /** Remembers a secret from the options for good. Short values are ignored. */
  pin(secret: string | undefined | null): void {
    if (typeof secret !== "string" || secret.length < 6 || this.#pinned.includes(secret)) return;
    this.#pinned.push(secret);
  }

  /** Remembers a rotating secret (the newest 32 are kept). Short values are ignored. */
  add(secret: string | undefined | null): void {
    if (typeof secret !== "string" || secret.length < 6 || this.#secrets.includes(secret)) return;
    if (this.#pinned.includes(secret)) return;
    this.#secrets.push(secret);
    if (this.#secrets.length > MAX_REMEMBERED) this.#secrets.shift();
  }

  text(input: string): string {
    let out = input;
    for (const list of [this.#pinned, this.#secrets])
      for (const secret of list) if (out.includes(secret)) out = out.split(secret).join(MASK);
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  }

  /** A copy of the headers with every value redacted. */
  headers(input: Headers): Headers {
    const out = new Headers();
    for (const [name, value] of input) out.append(name, this.text(value));
    return out;
  }

  /** A deep copy of JSON-like data with every string redacted; prototype keys are dropped. */
  value(input: unknown, depth = 0): unknown {
    if (typeof input === "string") return this.text(input);
    if (input === null || typeof input !== "object" || depth > 32) return input;
    if (Array.isArray(input)) return input.map((v) => this.value(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(input)) {
      if (key === "__proto__" || key === "constructor" || key === "prototype") continue;
      out[key] = this.value(value, depth + 1);
    }
    return out;
  }
}
