/** Keeps secrets out of everything the client shows (error messages and bodies, log events): known
 * values wherever they occur, also percent-encoded, JSON-escaped or in base64 (alone, or after a prefix
 * such as Basic auth's `key:`), and values under secret-like names even when the value is not known. */
const MASK = "[redacted]";
const MAX_REMEMBERED = 32;
// Secrets under 4 characters are not looked for: such values occur in words and numbers ("200", "id"),
// masking them would mangle every message, and so short a secret is guessed in 10^6 tries anyway.
const MIN_SECRET = 4;
/** Forms longer than this are searched for one by one: a pattern of 32 such would be too large to build. */
const MAX_IN_PATTERN = 1024;
const MAX_DEPTH = 100; // deeper, an error body is cut (and marked): JSON.stringify and inspect survive
const NAMES = "token|secret|ticket|password|passwd";
const SCHEMES = "bearer|basic";
/** A name whose value is a secret: `access_token`, `clientSecret`, `suiteTicket`, … */
export const SECRET_NAME = new RegExp(`(?:${NAMES})$`, "i");
const PATTERNS: Array<[RegExp, string]> = [
  // name=value and "name": "value" in query strings, headers and JSON text, for any secret-like name.
  // The name's suffix only (`access_token` matches at `token`): a `[\w-]*` prefix would backtrack
  // quadratically over a long run of word characters (a 1 MiB message took minutes).
  [new RegExp(`((?:${NAMES})["']?\\s*[:=]\\s*["']?)[^\\s"'&,;}]+`, "gi"), `$1${MASK}`],
  [new RegExp(`(\\b(?:${SCHEMES})\\s+)[\\w.~+/=-]+`, "gi"), `$1${MASK}`],
];
/** What every PATTERNS match contains: one scan rules most text out. */
const MAY_MATCH = new RegExp(`${NAMES}|${SCHEMES}`, "i");
const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);
type Slot = Record<string, unknown>;
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Every form a secret may be echoed in; never throws, whatever the secret holds or its length. */
function forms(secret: string): string[] {
  const out = new Set([secret, JSON.stringify(secret).slice(1, -1)]);
  try {
    out.add(encodeURIComponent(secret));
  } catch {
    // A lone surrogate has no percent-encoded form: the client could not have sent one either.
  }
  out.add(new URLSearchParams({ s: secret }).toString().slice(2));
  let binary = "";
  for (const byte of new TextEncoder().encode(secret)) binary += String.fromCharCode(byte);
  // base64 after 0, 1 or 2 bytes of anything: the characters set by the secret alone, both alphabets.
  for (let shift = 0; shift < 3; shift++) {
    const b64 = btoa("\0".repeat(shift) + binary);
    const core = b64.slice(Math.ceil((shift * 4) / 3), Math.floor(((shift + binary.length) * 4) / 3));
    if (core.length >= MIN_SECRET) out.add(core).add(core.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return [...out];
}

export class Redactor {
  readonly #pinned: string[] = []; // from the client's options (app, client secrets): kept for good
  readonly #secrets: string[] = []; // rotating (access, refresh tokens): the newest 32
  #pattern: RegExp | null | undefined; // every form of every secret, longest first; rebuilt on change
  #long: string[] = []; // forms too long to share one pattern (its size is bounded), in each letter case

  /** Remembers a secret from the options for good; `add` one that rotates (the 32 last added are kept). */
  pin = (secret: string | undefined | null): void => this.#learn(secret, this.#pinned, Number.MAX_VALUE);
  add = (secret: string | undefined | null): void =>
    this.#pinned.includes(secret as string) ? undefined : this.#learn(secret, this.#secrets, MAX_REMEMBERED);

  /** A secret learnt again is the newest again: the one in use is the last to be forgotten. */
  #learn(secret: unknown, list: string[], keep: number): void {
    if (typeof secret !== "string" || secret.length < MIN_SECRET || list.at(-1) === secret) return;
    const at = list.indexOf(secret);
    if (at >= 0) return void list.push(...list.splice(at, 1)); // the pattern has it already
    if (list.push(secret) > keep) list.shift();
    this.#pattern = undefined;
  }

  text(input: string): string {
    if (this.#pattern === undefined) {
      const all = [...this.#pinned, ...this.#secrets].flatMap(forms).sort((a, b) => b.length - a.length);
      const short = all.filter((form) => form.length <= MAX_IN_PATTERN);
      // Searched for as written and in either letter case (percent-encodings differ in their hex digits').
      this.#long = [
        ...new Set(
          all
            .filter((form) => form.length > MAX_IN_PATTERN)
            .flatMap((form) => [form, form.toLowerCase(), form.toUpperCase()]),
        ),
      ];
      this.#pattern = short.length ? new RegExp(short.map(literal).join("|"), "gi") : null;
    }
    let known = String(input);
    // Nothing shorter than the shortest secret can hold one, nor a `name=value` or `Bearer x`.
    if (known.length < MIN_SECRET) return known;
    for (const form of this.#long) known = known.split(form).join(MASK);
    if (this.#pattern) known = known.replace(this.#pattern, MASK);
    if (!MAY_MATCH.test(known)) return known;
    return PATTERNS.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), known);
  }

  headers(input: Headers): Headers {
    return new Headers([...input].map(([name, value]): [string, string] => [name, this.text(value)]));
  }

  /** A redacted copy of JSON-like data that JSON.stringify and util.inspect survive: cut at MAX_DEPTH
   * (so the recursion is bounded too), cycles and repeats marked, bigints as strings. */
  value(input: unknown): unknown {
    const seen = new Set<object>();
    // A large body repeats its keys in every item: each is looked at once (null: a key left out).
    const keys = new Map<string, { out: string; secret: boolean } | null>();
    const keyOf = (k: string) => {
      let out = keys.get(k);
      if (out === undefined) {
        out = UNSAFE_KEYS.has(k) ? null : { out: this.text(k), secret: SECRET_NAME.test(k) };
        keys.set(k, out);
      }
      return out;
    };
    const copy = (from: unknown, depth: number): unknown => {
      if (typeof from === "string") return this.text(from);
      if (from === null || typeof from !== "object")
        return typeof from === "bigint" ? String(from) : typeof from === "function" ? undefined : from;
      if (seen.has(from)) return "[circular]";
      if (depth >= MAX_DEPTH) return "[too deep]";
      seen.add(from);
      try {
        if (Array.isArray(from)) return Array.from(from, (v) => copy(v, depth + 1));
        const out: Slot = {};
        for (const k of Object.keys(from)) {
          const key = keyOf(k);
          const v = (from as Slot)[k];
          if (key) out[key.out] = key.secret && typeof v === "string" ? MASK : copy(v, depth + 1);
        }
        return out;
      } catch {
        return MASK; // a getter or proxy that throws
      }
    };
    return copy(input, 0);
  }
}
