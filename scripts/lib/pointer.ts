/**
 * JSON pointers in a `$ref`'s fragment (RFC 6901 §6): each segment percent-decoded, then `~1` and
 * `~0` unescaped. One reading for preflight, the bundle and the generator.
 */

/** The keys a fragment's pointer names (`/a~1b/c%7Bd%7D` → `a/b`, `c{d}`); a URIError for a % that starts no escape. */
export function pointerKeys(pointer: string): string[] {
  return pointer
    .split("/")
    .slice(1)
    .map((s) => decodeURIComponent(s).replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** The pointer that names `keys`, without percent escapes (`a/b` → `/a~1b`). */
export function pointerOf(keys: readonly string[]): string {
  return keys.map((k) => `/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}
