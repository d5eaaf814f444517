/** Keeps secrets out of everything the client shows (error messages and bodies, log events): known
 * values wherever they occur (header names and JSON numbers included), also percent-encoded, JSON-escaped
 * or in base64 (alone, or after a prefix such as Basic auth's `key:`), and values under secret-like names
 * even when the value is not known. */
const MASK = "[redacted]";
const MAX_REMEMBERED = 32;
// Secrets under 4 characters are not looked for: such values occur in words and numbers ("200", "id"),
// masking them would mangle every message, and so short a secret is guessed in 10^6 tries anyway.
const MIN_SECRET = 4;
/** Forms longer than this are searched for one by one: a pattern of 32 such would be too large to build. */
const MAX_IN_PATTERN = 1024;
/** A secret longer than this gets no encoded forms: building them for one of megabytes would block the
 * process for seconds. Every form is at least as long as the secret, so any text at least that long is
 * masked whole instead; real secrets are far shorter (tokens at most 512 bytes). */
const MAX_DERIVED = 64 * 1024;
/** What a header name is masked to: a valid HTTP token (a Headers object refuses `[redacted]`). */
const NAME_MASK = "redacted";
const NOT_IN_TOKEN = /[^!#$%&'*+.^`|~\w-]/g;
const MAX_DEPTH = 100; // deeper, an error body is cut (and marked): JSON.stringify and inspect survive
/** Values, and characters of strings and keys, copied from one error body; past either the rest is
 * cut (and marked), a string whole, never a part of one (a secret's prefix would show): a body of
 * megabytes took longer to redact whole than a call's timeout (0.3 s at 8.5 MB). Each object's own
 * scalars are copied before its nested values. */
const MAX_VALUES = 100_000;
const MAX_CHARS = 2 * 1024 * 1024;
const CUT = "[cut]";
const NAMES = "token|secret|ticket|password|passwd|(?:api|private|secret|access)[-_]?key";
const SCHEMES = "bearer|basic";
/** A name whose value is a secret: `access_token`, `clientSecret`, `suiteTicket`, `tokens`, `apiKey`, … */
export const SECRET_NAME = new RegExp(`(?:${NAMES})s?$`, "i");
/** Headers whose values are credentials whatever their names say. */
const CREDENTIAL_HEADER = /^(?:set-cookie|cookie|authorization|proxy-authorization)$/i;
/**
 * The secrets request headers carry: the value of each header named like a secret (`x-api-key`) or
 * carrying credentials (`proxy-authorization`), and the credential after its auth scheme.
 */
export function headerSecrets(headers: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== "string" || !(SECRET_NAME.test(name) || CREDENTIAL_HEADER.test(name))) continue;
    out.push(value);
    const credential = /^[\w-]+ +(\S+)\s*$/.exec(value.trim())?.[1];
    if (credential) out.push(credential);
  }
  return out;
}
/** A secret-like name and what ties a value to it in text: `token=`, `"clientSecret": `. */
const NAMED = `(?:${NAMES})s?["']?\\s*[:=]\\s*`;
/** A list or an object after a secret-like name: masked whole by `masked`, to its matching bracket. */
const LISTED = new RegExp(`(${NAMED})[[{]`, "gi");
const PATTERNS: Array<[RegExp, string]> = [
  // name=value and "name": "value" in query strings, headers and JSON text, for any secret-like name.
  // The name's suffix only (`access_token` matches at `token`): a `[\w-]*` prefix would backtrack
  // quadratically over a long run of word characters (a 1 MiB message took minutes).
  // A quoted value may start with a bracket (`"password": "{x}"`); a bare one that does is a list or
  // an object, masked whole before these run.
  [new RegExp(`(${NAMED}(?:["']|(?![\\[{])))[^\\s"'&,;}]+`, "gi"), `$1${MASK}`],
  [new RegExp(`(\\b(?:${SCHEMES})\\s+)[\\w.~+/=-]+`, "gi"), `$1${MASK}`],
];
/** What every LISTED and PATTERNS match contains: one scan rules most text out. */
const MAY_MATCH = new RegExp(`${NAMES}|${SCHEMES}`, "i");
const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);
/** What is left as it is under a secret-like name (`"has_token": false`); anything else, a list or
 * an object of secrets included, is masked whole. */
const PLAIN = new Set(["boolean", "undefined"]);
type Slot = Record<string, unknown>;
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Where the list or object opened at `from` ends: past its matching bracket, else at the text's end.
 * Scanned once, char by char: a pattern cannot count nesting, and one that stopped at the first
 * closer showed "y" in `[["x"], "y"]`. A closer that matches no opener is taken as part of the value,
 * and so is the rest of a quote that is never closed, an apostrophe's too (too much masked, never too
 * little). */
function closing(text: string, from: number): number {
  const closers: string[] = [];
  for (let at = from; at < text.length; at++) {
    const c = text[at];
    if (c === '"' || c === "'") {
      // Brackets in a string are its text, single-quoted as text that is not JSON prints it
      // (`["a]b", "y"]`, `['a]b', 'y']`: one list each), and `\"` or `\'` does not end it.
      for (at++; at < text.length && text[at] !== c; at++) if (text[at] === "\\") at++;
    } else if (c === "[") closers.push("]");
    else if (c === "{") closers.push("}");
    else if (c === closers.at(-1)) {
      closers.pop();
      if (!closers.length) return at + 1;
    }
  }
  return text.length;
}

/** The text with each list or object after a secret-like name masked; the search goes on past it. */
function masked(text: string): string {
  let out = "";
  let done = 0;
  LISTED.lastIndex = 0;
  for (let m = LISTED.exec(text); m; m = LISTED.exec(text)) {
    const value = m.index + (m[1] as string).length;
    out += text.slice(done, value) + MASK;
    done = LISTED.lastIndex = closing(text, value);
  }
  return out + text.slice(done);
}

const upperHex = (text: string) => text.replace(/%[\da-f]{2}/gi, (hex) => hex.toUpperCase());

/**
 * The text with each of `forms` masked, found where the text has its percent-encodings in upper case
 * (a copy as long: a place in one is the same in the other). One search per form, no pattern: a long
 * case-insensitive one is quadratic on a run of one letter.
 */
function maskedLong(text: string, forms: readonly string[]): string {
  let out = text;
  let read = upperHex(text);
  for (const form of forms) {
    let at = form.length > read.length ? -1 : read.indexOf(form);
    if (at < 0) continue;
    let nextOut = "";
    let nextRead = "";
    let done = 0;
    for (; at >= 0; at = read.indexOf(form, done)) {
      nextOut += out.slice(done, at) + MASK;
      nextRead += read.slice(done, at) + MASK;
      done = at + form.length;
    }
    out = nextOut + out.slice(done);
    read = nextRead + read.slice(done);
  }
  return out;
}

/** Every form a secret may be echoed in; never throws, whatever the secret holds or its length. */
function forms(secret: string): string[] {
  const out = new Set([secret, JSON.stringify(secret).slice(1, -1)]);
  try {
    out.add(encodeURIComponent(secret));
  } catch {
    // A lone surrogate has no percent-encoded form: the client could not have sent one either.
  }
  out.add(new URLSearchParams({ s: secret }).toString().slice(2));
  const bytes = new TextEncoder().encode(secret);
  let binary = "";
  // In slices: one character at a time took seconds on a secret of megabytes.
  for (let at = 0; at < bytes.length; at += 8192)
    binary += String.fromCharCode(...bytes.subarray(at, at + 8192));
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
  #numbers = new Set<number>(); // the secrets a JSON number can echo ("123456789"), as numbers
  #range = [0, -1]; // the least and the greatest of them: most numbers are ruled out by two comparisons
  #whole = Number.POSITIVE_INFINITY; // the shortest secret past MAX_DERIVED: any text as long is masked

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

  /** The pattern and the rest, from the secrets known now; run again once they change. */
  #build(): void {
    if (this.#pattern !== undefined) return;
    const secrets = [...this.#pinned, ...this.#secrets];
    // Each also without the whitespace around it: a header value goes out trimmed (a token read with
    // a space or a newline), and a server echoes what it read.
    const derived = secrets.flatMap((s) => {
      if (s.length > MAX_DERIVED) return [];
      const trimmed = s.trim();
      return trimmed !== s && trimmed.length >= MIN_SECRET ? [s, trimmed] : [s];
    });
    this.#whole = Number.POSITIVE_INFINITY;
    for (const s of secrets) if (s.length > MAX_DERIVED) this.#whole = Math.min(this.#whole, s.length);
    // As JSON.parse reads them back: "123456789" and 123456789.0 are both 123456789.
    this.#numbers = new Set(derived.filter((s) => String(Number(s)) === s).map(Number));
    this.#range = this.#numbers.size ? [Math.min(...this.#numbers), Math.max(...this.#numbers)] : [0, -1];
    const all = derived.flatMap(forms).sort((a, b) => b.length - a.length);
    const short = all.filter((form) => form.length <= MAX_IN_PATTERN);
    // Searched for as written and in either letter case, each percent-encoding's hex digits in upper
    // case: the text's are read so too, whatever the case of the secret's own letters.
    this.#long = [
      ...new Set(
        all
          .filter((form) => form.length > MAX_IN_PATTERN)
          .flatMap((form) => [form, form.toLowerCase(), form.toUpperCase()].map(upperHex)),
      ),
    ].sort((a, b) => b.length - a.length);
    this.#pattern = short.length ? new RegExp(short.map(literal).join("|"), "gi") : null;
  }

  text(input: string): string {
    this.#build();
    let known = String(input);
    // Nothing shorter than the shortest secret can hold one, nor a `name=value` or `Bearer x`.
    if (known.length < MIN_SECRET) return known;
    if (known.length >= this.#whole) return MASK;
    // A form longer than the text cannot be in it (the shortest is the last): with tokens of 8 KiB,
    // searching every short value of a body for each of their forms took seconds.
    if ((this.#long.at(-1)?.length ?? Number.POSITIVE_INFINITY) <= known.length)
      known = maskedLong(known, this.#long);
    if (this.#pattern) known = known.replace(this.#pattern, MASK);
    if (!MAY_MATCH.test(known)) return known;
    return PATTERNS.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), masked(known));
  }

  /** Names masked too (a server may answer a header named after a token), as valid header names. */
  headers(input: Headers | Readonly<Record<string, string>>): Headers {
    const out = new Headers();
    for (const [name, value] of input instanceof Headers ? input : Object.entries(input)) {
      const masked = this.text(name).split(MASK).join(NAME_MASK).replace(NOT_IN_TOKEN, "-") || NAME_MASK;
      try {
        // A header named like a secret (`x-refreshed-access-token`) holds one, known or not.
        out.append(masked, SECRET_NAME.test(name) || CREDENTIAL_HEADER.test(name) ? MASK : this.text(value));
      } catch {
        // A header the copy refuses is left out: never an error in place of the error being made.
      }
    }
    return out;
  }

  /** A redacted copy of JSON-like data that JSON.stringify and util.inspect survive: cut at MAX_DEPTH
   * and past MAX_VALUES or MAX_CHARS (so the work is bounded too), cycles and repeats marked, bigints
   * as strings. */
  value(input: unknown): unknown {
    this.#build();
    const text = (s: string) => this.text(s);
    return new BodyCopy(text, this.#whole, this.#numbers, this.#range as [number, number]).copy(input, 0);
  }
}

/** One redacted copy of a body, with what it may still spend and what it has met. */
class BodyCopy {
  #left = MAX_VALUES;
  #chars = MAX_CHARS;
  readonly #seen = new Set<object>();
  /** A large body repeats its keys in every item: each is looked at once (null: a key left out). */
  readonly #keys = new Map<string, { out: string; secret: boolean } | null>();

  constructor(
    readonly text: (s: string) => string,
    readonly whole: number,
    readonly numbers: ReadonlySet<number>,
    readonly range: readonly [number, number],
  ) {}

  #spend(length: number): boolean {
    this.#chars -= length;
    return this.#chars >= 0;
  }

  #spent(): boolean {
    return this.#left <= 0 || this.#chars < 0;
  }

  #key(k: string) {
    let out = this.#keys.get(k);
    if (out === undefined) {
      out = UNSAFE_KEYS.has(k) ? null : { out: this.text(k), secret: SECRET_NAME.test(k) };
      this.#keys.set(k, out);
    }
    return out;
  }

  /** A text as long as a secret past MAX_DERIVED is masked whole by `text` at no cost: not charged. */
  #string(from: string): string {
    return from.length >= this.whole ? MASK : this.#spend(from.length) ? this.text(from) : CUT;
  }

  #scalar(from: unknown): unknown {
    if (typeof from === "string") return this.#string(from);
    // A secret of digits echoed as a JSON number: looked up, not scanned (a body holds many numbers).
    if (typeof from === "number")
      return from >= this.range[0] && from <= this.range[1] && this.numbers.has(from) ? MASK : from;
    if (typeof from === "bigint") return this.#string(String(from));
    return typeof from === "function" ? undefined : from;
  }

  copy(from: unknown, depth: number): unknown {
    if (from === null || typeof from !== "object") return this.#scalar(from);
    if (this.#seen.has(from)) return "[circular]";
    if (depth >= MAX_DEPTH) return "[too deep]";
    this.#seen.add(from);
    try {
      return Array.isArray(from) ? this.#list(from, depth) : this.#object(from as Slot, depth);
    } catch {
      return MASK; // a getter or proxy that throws
    }
  }

  #list(from: unknown[], depth: number): unknown[] {
    const out: unknown[] = [];
    for (const v of from) {
      if (this.#spent()) return [...out, CUT];
      this.#left--;
      out.push(this.copy(v, depth + 1));
    }
    return out;
  }

  /** Scalars first, objects after (in their places): a code or message beside a huge list stays.
   * Two keys redacted alike: the last one's value, as in the order of keys. */
  #object(from: Slot, depth: number): Slot {
    const out: Slot = {};
    const later = new Map<string, unknown>();
    for (const k of Object.keys(from)) {
      if (this.#spent() || (!this.#keys.has(k) && !this.#spend(k.length)))
        return Object.assign(out, { [CUT]: CUT });
      this.#left--;
      const key = this.#key(k);
      const v = from[k];
      if (!key) continue;
      later.delete(key.out);
      if (key.secret && v !== null && !PLAIN.has(typeof v)) out[key.out] = MASK;
      else if (v !== null && typeof v === "object") {
        out[key.out] = CUT; // its place in the order of keys, filled below while values are left
        later.set(key.out, v);
      } else out[key.out] = this.#scalar(v);
    }
    for (const [k, v] of later) if (!this.#spent()) out[k] = this.copy(v, depth + 1);
    return out;
  }
}
