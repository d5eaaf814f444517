import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  Parser,
  parseDocument,
  visit,
  type YAMLError,
} from "yaml";
import { nearPrefix } from "../redocly/imspec-plugin.js";
import { pointerKeys } from "./pointer.js";
import { SpecError, toSpecError } from "./problems.js";
import { type ApiEntry, loadRegistry, ROOT } from "./registry.js";

/** Longest chain of `$ref`s pointing at `$ref`s that a spec may hold (the specs use 1 or 2). */
export const MAX_REF_CHAIN = 64;
/**
 * Deepest nesting of `$ref`s (a schema whose property is a `$ref` to a schema whose property is …)
 * that a spec may hold. The specs nest 4 deep; Redocly's recursive walkers overflow the stack
 * somewhere past 250.
 */
export const MAX_REF_DEPTH = 100;
/**
 * How far YAML aliases may expand, as the yaml package counts it (each use of an anchor, times the
 * aliases inside what it names): one small anchor may stand in 1,000 places, and an alias bomb is
 * stopped a few levels in, long before it holds a million nodes.
 */
export const MAX_ALIAS_COUNT = 1_000;

interface Loaded {
  doc: Document;
  lines: LineCounter;
  value: unknown;
}

type Json = Record<string, unknown>;

/**
 * Checks the spec files before Redocly reads them, for what would make it hang, overflow its stack
 * or report a problem without a line:
 * - YAML aliases that expand without bound (a few lines can stand for 10^9 nodes);
 * - `$ref` cycles with nothing in between (`A: {$ref: B}`, `B: {$ref: A}`), and `$ref` chains
 *   longer than MAX_REF_CHAIN;
 * - `$ref`s nested deeper than MAX_REF_DEPTH;
 * - YAML that does not parse, reported where the mistake is (see syntaxError);
 * - `$ref`s to a URL, which Redocly would fetch.
 * A schema that refers to itself from inside (a tree node whose `children` are nodes) is fine.
 * A file that cannot be read is left to Redocly, which says so.
 */
export function preflight(rootFile: string): void {
  const files = new Map<string, Loaded | undefined>();
  const load = (file: string): Loaded | undefined => {
    if (files.has(file)) return files.get(file);
    let loaded: Loaded | undefined;
    try {
      loaded = parse(file, readText(file));
    } catch (error) {
      if (error instanceof SpecError) throw error;
      loaded = undefined; // unreadable: the linter says so
    }
    files.set(file, loaded);
    return loaded;
  };

  const root = path.resolve(ROOT, rootFile);
  if (isSpecial(root)) throw new SpecError(`${path.relative(ROOT, root)}: ${NOT_A_FILE}`);
  // Redocly says "must be JSON object, got object" of a list (named here at its line), and "got
  // undefined" of an empty file (named here as empty: it has no line to name).
  const top = load(root);
  if (top && (top.value === null || top.value === undefined))
    throw new SpecError(
      `${path.relative(ROOT, root)}: the file is empty (comments at most): an OpenAPI document is a mapping (openapi, info, paths, …)`,
    );
  if (top && top.value !== null && (typeof top.value !== "object" || Array.isArray(top.value))) {
    const kind = Array.isArray(top.value) ? "a list" : `a ${typeof top.value}`;
    const at = where(root, top.lines, top.doc.contents?.range?.[0] ?? 0);
    throw new SpecError(`${at}: an OpenAPI document is a mapping (openapi, info, paths, …), not ${kind}`);
  }
  const queue = [root];
  const queued = new Set(queue);
  const known = new Map<string, number>(); // `file#pointer` → $refs between it and a value
  while (queue.length > 0) {
    const file = queue.shift() as string;
    const loaded = load(file);
    if (!loaded) continue;
    refuseInPlace(file, loaded);
    for (const { segments, ref } of refsIn(loaded.value)) {
      const target = targetAt({ file, segments }, ref, load);
      // Redocly would fetch a URL (lint and bundle each, with no bound on how long), and what it
      // got would change the output with nothing in the repository changing: no spec file to hash
      // in the manifest, no reproducible build. The specs refer only to files beside them.
      if (!target) {
        throw chainError(
          { file, segments },
          load,
          `is a URL (${withoutUser(ref)}): a spec may refer only to its own files, so generating never reaches the network`,
        );
      }
      if (!queued.has(target.file)) {
        if (isSpecial(target.file))
          throw chainError(
            { file, segments },
            load,
            `names ${path.relative(ROOT, target.file)}: ${NOT_A_FILE}`,
          );
        queued.add(target.file);
        queue.push(target.file);
      }
      followChain(file, segments, load, known);
    }
  }
  checkDepth(root, load);
}

/**
 * The files `rootFile` reaches through `$ref`s, itself first, found or missing (a `$ref` to a file
 * not written yet names one to wait for): what a watcher watches. Read as `preflight` reads them,
 * without refusing anything: a file that is no regular file, does not read or does not parse names
 * nothing further. At most `max` files.
 */
export function reachedFiles(rootFile: string, max = 2_000): string[] {
  const seen = new Set<string>();
  const queue = [path.resolve(ROOT, rootFile)];
  for (let i = 0; i < queue.length && seen.size < max; i++) {
    const file = queue[i] as string;
    if (seen.has(file)) continue;
    seen.add(file);
    let value: unknown;
    try {
      if (isSpecial(file)) continue;
      value = parse(file, readText(file))?.value;
    } catch {
      continue; // missing or broken: generate says what is wrong with it
    }
    for (const { ref } of refsIn(value)) {
      try {
        const target = targetOf(file, ref);
        if (target) queue.push(target.file);
      } catch {
        // A $ref that does not decode: generate names it where it stands.
      }
    }
  }
  return [...seen];
}

/**
 * Checks redocly.yaml before Redocly reads it, as the spec files are checked: aliases that expand
 * without bound, a key twice, YAML that does not parse, each where it is. An `extends` that is a
 * URL is refused: Redocly would fetch it, and generating never reaches the network. A local file it
 * extends is checked so too, and what that one extends, each file once; any of them that is no
 * regular file (a pipe, a device) is refused before it is read, as a spec's `$ref` is.
 */
export function preflightRegistry(file: string, seen = new Set<string>()): void {
  seen.add(file);
  if (isSpecial(file)) throw new SpecError(`${path.relative(ROOT, file)}: ${NOT_A_FILE}`);
  const loaded = parse(file, readText(file)) as Loaded;
  for (const { node, at } of objectsIn(loaded.value)) {
    const extended = Array.isArray(node) ? undefined : (node as Json).extends;
    if (extended === undefined) continue;
    for (const [i, item] of (Array.isArray(extended) ? extended : [extended]).entries()) {
      if (typeof item !== "string") continue;
      const segments = Array.isArray(extended) ? [...at, "extends", i] : [...at, "extends"];
      const here = whereAt(file, loaded, segments);
      if (URL_SCHEME.test(item))
        throw new SpecError(
          `${here}: extends is a URL (${withoutUser(item)}): the registry may extend only Redocly's rulesets and local files, so generating never reaches the network`,
        );
      // A ruleset's name (`recommended`) is no file; a path that is none is Redocly's to report.
      const local = path.resolve(path.dirname(file), item);
      if (isSpecial(local)) throw new SpecError(`${here}: extends ${item}: ${NOT_A_FILE}`);
      if (!seen.has(local) && statSync(local, { throwIfNoEntry: false })?.isFile())
        preflightRegistry(local, seen);
    }
  }
}

/** `error`, when it is a SpecError about a place in the document read from `rootFile`, with that place's `file:line:col`. */
function placed(rootFile: string, error: unknown): unknown {
  if (!(error instanceof SpecError && error.at)) return error;
  return new SpecError(`${locate(rootFile, error.at)}: ${error.message}`);
}

/** `run()`, a SpecError it throws about a place in `rootFile`'s document named by that place's `file:line:col`. */
export function located<T>(rootFile: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw placed(rootFile, error);
  }
}

/**
 * The registry as every command reads it: redocly.yaml checked first (`preflightRegistry`), each
 * mistake in it reported at its `file:line:col`, and a registry listing no API refused.
 */
export async function checkedRegistry(): Promise<ApiEntry[]> {
  const file = "redocly.yaml";
  const registry = await Promise.resolve()
    .then(() => {
      preflightRegistry(path.join(ROOT, file));
      return loadRegistry();
    })
    .catch((error) => {
      // An entry at fault is named by its place in the file.
      throw toSpecError(placed(file, error), file);
    });
  if (registry.length === 0)
    throw new SpecError(
      `${file}: lists no API under \`apis:\` (\`<api>: { root: specs/<api>/openapi.yaml }\`)`,
    );
  return registry;
}

/**
 * Walks the `$ref`s from the root document down, depth first, and refuses nesting deeper than
 * MAX_REF_DEPTH. A `$ref` back to a place being walked (a recursive schema) ends that branch.
 * Each place's height (the deepest nesting below it) is kept, so each is walked once.
 */
function checkDepth(root: string, load: (file: string) => Loaded | undefined): void {
  const height = new Map<string, number>();
  const walking = new Set<string>();
  type Place = { file: string; segments: string[] };
  const tooDeep = (via: Place) =>
    chainError(via, load, `is nested more than ${MAX_REF_DEPTH} $refs deep below the root document`);
  const visit = (place: Place, via: Place | undefined, depth: number): number => {
    const key = `${place.file}#/${place.segments.join("/")}`;
    if (walking.has(key)) return 0;
    const known = height.get(key);
    if (known !== undefined) {
      if (via && depth + known > MAX_REF_DEPTH) throw tooDeep(via);
      return known;
    }
    if (via && depth > MAX_REF_DEPTH) throw tooDeep(via);
    walking.add(key);
    let deepest = 0;
    for (const { segments, ref } of refsIn(lookup(load(place.file)?.value, place.segments), place.segments)) {
      const target = targetAt({ file: place.file, segments }, ref, load);
      if (!target || !load(target.file)) continue;
      deepest = Math.max(deepest, 1 + visit(target, { file: place.file, segments }, depth + 1));
    }
    walking.delete(key);
    height.set(key, deepest);
    return deepest;
  };
  visit({ file: root, segments: [] }, undefined, 0);
}

const NOT_A_FILE = "not a regular file (a device, a pipe or a socket), which may never end: a spec is a file";

/**
 * A path that is neither a file nor a folder: reading /dev/zero or a named pipe never ends (the
 * parsers would fill the memory or wait forever). A folder or a missing file is left to Redocly.
 */
function isSpecial(file: string): boolean {
  try {
    const stats = statSync(file, { throwIfNoEntry: false });
    return stats !== undefined && !stats.isFile() && !stats.isDirectory();
  } catch {
    return false; // unreadable: the linter says so
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A spec file's text. A byte that is not UTF-8 (a file saved as GBK or Latin-1) is refused where it
 * is: Redocly reads it as U+FFFD, which would go on into generated/ and the docs without a word.
 */
function readText(file: string): string {
  const bytes = readFileSync(file);
  try {
    return UTF8.decode(bytes);
  } catch {
    // The lossy text matches the file up to the first bad byte, so the first U+FFFD that the file
    // does not spell out (as EF BF BD) is where it is.
    const lossy = bytes.toString("utf8");
    let offset = 0; // in bytes, of lossy[from]
    for (let from = 0, i = lossy.indexOf("\uFFFD"); i >= 0; from = i + 1, i = lossy.indexOf("\uFFFD", from)) {
      offset += Buffer.byteLength(lossy.slice(from, i));
      if (bytes[offset] !== 0xef || bytes[offset + 1] !== 0xbf || bytes[offset + 2] !== 0xbd) {
        const at = whereInText(file, lossy, i);
        const byte = `0x${(bytes[offset] ?? 0).toString(16).padStart(2, "0")}`;
        throw new SpecError(`${at}: a byte that is not UTF-8 (${byte}): a spec file must be UTF-8 text`);
      }
      offset += 3;
    }
    return lossy;
  }
}

function parse(file: string, text: string): Loaded | undefined {
  const nul = text.indexOf("\u0000");
  if (nul >= 0) {
    const at = whereInText(file, text, nul);
    throw new SpecError(`${at}: a null byte (U+0000): a spec file must be text`);
  }
  const lines = new LineCounter();
  // A key twice in one map, refused here, once and where it is: Redocly would report it once for
  // every $ref to the file, with each error it causes beside it.
  // `<<` may repeat: Redocly's parser reads it as a YAML merge key, as many as a map has.
  const uniqueKeys = (a: unknown, b: unknown) =>
    a === b || (isScalar(a) && isScalar(b) && a.value === b.value && a.value !== "<<");
  // Merge keys applied, as Redocly's parser applies them: a `$ref` a merge brings in is checked too.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys, merge: true });
  // A syntax error first: it may be what makes a key seem repeated (an unclosed bracket takes in
  // the lines after it).
  const first = doc.errors.find((e) => e.code !== "DUPLICATE_KEY") ?? doc.errors[0];
  if (first) throw syntaxError(file, text, lines, first, doc);
  // A quoted string spells any character through an escape (`"\0"`, `"\e[31m"`): one that is no
  // text would go on into the generated TypeScript and docs, as the raw byte (refused above) would.
  // A lone surrogate (`"\ud83d"`) is no character either: written out, it becomes U+FFFD, and the
  // output would never match what generating it again produces.
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== "string") return;
      const control = [...node.value].find(isControl);
      const lone = control === undefined ? LONE_SURROGATE.exec(node.value)?.[0] : undefined;
      const at = where(file, lines, node.range?.[0] ?? 0);
      if (lone !== undefined)
        throw new SpecError(
          `${at}: a lone surrogate (\\u${lone.charCodeAt(0).toString(16)}) in a string: half of a character, not text`,
        );
      if (control === undefined) return;
      const code = `U+${control.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
      throw new SpecError(
        `${at}: a control character (${code}) in a string: a spec is text (a tab or a line break aside)`,
      );
    },
  });
  refuseSelfAliases(file, lines, doc);
  try {
    return { doc, lines, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (error) {
    // A merge of what is no map is named where it is; too many aliases, where the bomb starts.
    const at = badMerge(doc) ?? bombStart(doc);
    throw new SpecError(`${where(file, lines, at)}: ${(error as Error).message}`);
  }
}

/** A merge (`<<: …`): with `merge` on, the parser gives its key a symbol for a value. */
const isMerge = (pair: { key: unknown }): boolean => isScalar(pair.key) && typeof pair.key.value === "symbol";

/** Where a merge key (`<<`) takes what is no map (a scalar, or a list with one): its value's offset. */
function badMerge(doc: Document): number | undefined {
  const sourceOf = aliasSources(doc);
  const isMapLike = (node: unknown): boolean => isMap(isAlias(node) ? sourceOf.get(node) : node);
  let found: number | undefined;
  visit(doc, {
    Pair(_key, pair) {
      if (!isMerge(pair)) return;
      const value = pair.value;
      if (isSeq(value) ? value.items.every(isMapLike) : isMapLike(value)) return;
      found =
        (value as { range?: number[] } | null)?.range?.[0] ?? (pair.key as { range?: number[] }).range?.[0];
      return visit.BREAK;
    },
  });
  return found;
}

/** A high surrogate with no low one after it, or a low one with no high one before it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * An alias inside the node its anchor names (`&a {b: *a}`, a recursive schema written with anchors
 * rather than `$ref`): the structure it stands for has no end, and every walk of it would run for
 * ever. Refused where the alias is.
 */
function refuseSelfAliases(file: string, lines: LineCounter, doc: Document): void {
  const sourceOf = aliasSources(doc);
  visit(doc, {
    Alias(_key, node, path) {
      const source = sourceOf.get(node);
      if (source && path.includes(source))
        throw new SpecError(
          `${where(file, lines, node.range?.[0] ?? 0)}: the alias *${node.source} is inside the node &${node.source} names: a structure without end (a recursive schema is a $ref to itself)`,
        );
    },
  });
}

/**
 * What each alias stands for: the last anchor of its name before it, from one walk in document
 * order, not a walk of the whole document per alias as `Alias.resolve` does.
 */
function aliasSources(doc: Document): Map<Alias, Node> {
  const sourceOf = new Map<Alias, Node>();
  const latest = new Map<string, Node>();
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        const source = latest.get(node.source);
        if (source) sourceOf.set(node, source);
      } else if (node.anchor) latest.set(node.anchor, node);
    },
  });
  return sourceOf;
}

/**
 * Where an alias bomb starts: the first alias, in the file, among the one whose expansion went past
 * MAX_ALIAS_COUNT and those its anchors hold, however deep. Not merely the file's first alias,
 * which may be a small anchor used lawfully above the bomb.
 */
function bombStart(doc: Document): number {
  const culprit = culpritAlias(doc);
  if (!culprit) return 0;
  const seen = new Set<Alias>([culprit]);
  const queue = [culprit];
  const sourceOf = aliasSources(doc);
  for (let i = 0; i < queue.length; i++) {
    const source = sourceOf.get(queue[i] as Alias);
    if (!source) continue;
    visit(source, {
      Alias(_key, node) {
        if (!seen.has(node)) {
          seen.add(node);
          queue.push(node);
        }
      },
    });
  }
  let first = Number.POSITIVE_INFINITY;
  for (const alias of seen) first = Math.min(first, alias.range?.[0] ?? 0);
  return first;
}

/**
 * The alias whose expansion went past MAX_ALIAS_COUNT: the document converted again, each alias's
 * conversion watched, the innermost one that throws kept.
 */
function culpritAlias(doc: Document): Alias | undefined {
  let culprit: Alias | undefined;
  visit(doc, {
    Alias(_key, node) {
      const own = node.toJSON;
      node.toJSON = function (this: Alias, ...args: Parameters<Alias["toJSON"]>) {
        try {
          return own.apply(this, args);
        } catch (error) {
          culprit ??= this;
          throw error;
        }
      };
    },
  });
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch {
    // Thrown again, as expected: `culprit` is where.
  }
  return culprit;
}

/** A character no text holds: C0 controls but tab, line feed and carriage return, and DEL. */
function isControl(char: string): boolean {
  const code = char.charCodeAt(0);
  return (code < 0x20 && char !== "\t" && char !== "\n" && char !== "\r") || code === 0x7f;
}

/** Where a bracket or quote is opened, and what must close it. */
interface Opener {
  offset: number;
  what: string;
  closer: string;
}

const FLOW_OPENERS: Record<string, Omit<Opener, "offset">> = {
  "flow-seq-start": { what: "flow sequence", closer: "]" },
  "flow-map-start": { what: "flow mapping", closer: "}" },
};

/** The `[`, `{` or quote the parser never saw closed (the innermost, the last opened), if any. */
function unclosedIn(text: string): Opener | undefined {
  let found: Opener | undefined;
  const walk = (node: unknown): void => {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    const token = node as { type?: string; offset?: number; source?: string; start?: unknown; end?: unknown };
    if (token.type === "flow-collection") {
      const start = token.start as { type: string; offset: number };
      const opener = FLOW_OPENERS[start.type];
      const closed =
        Array.isArray(token.end) && token.end.some((t: { type?: string }) => /-end$/.test(t.type ?? ""));
      if (opener && !closed && (!found || start.offset > found.offset))
        found = { offset: start.offset, ...opener };
    }
    if (token.type === "double-quoted-scalar" || token.type === "single-quoted-scalar") {
      const quote = token.type === "double-quoted-scalar" ? '"' : "'";
      const source = token.source ?? "";
      const body = source.slice(1);
      const closed = quote === '"' ? /(^|[^\\])(\\\\)*"$/.test(body) : /'$/.test(body.replace(/''/g, ""));
      if (!closed && token.offset !== undefined && (!found || token.offset > found.offset))
        found = {
          offset: token.offset,
          what: `${quote === '"' ? "double" : "single"}-quoted string`,
          closer: quote,
        };
    }
    for (const value of Object.values(token)) if (typeof value === "object") walk(value);
  };
  walk([...new Parser().parse(text)]);
  return found;
}

/** The key a DUPLICATE_KEY error points at, as the map holds it; quoted unless it is a plain word. */
function keyAt(doc: Document, offset: number): string | undefined {
  let key: string | undefined;
  visit(doc, {
    Pair(_key, pair) {
      if (!isScalar(pair.key) || pair.key.range?.[0] !== offset) return;
      key = String(pair.key.value);
      return visit.BREAK;
    },
  });
  return key === undefined || /^[\w.$/{}-]+$/.test(key) ? key : JSON.stringify(key);
}

/**
 * A YAML syntax error as `file:line:col: message`. The parser notices an unclosed `[`, `{` or quote
 * only where the text can no longer belong to it, a line or more later; the error then points at
 * the bracket or quote that was opened and what would close it. Other errors keep the parser's
 * own position and first line of message.
 */
function syntaxError(
  file: string,
  text: string,
  lines: LineCounter,
  error: YAMLError,
  doc: Document,
): SpecError {
  const unclosed =
    error.code === "MISSING_CHAR" || error.code === "BAD_INDENT" ? unclosedIn(text) : undefined;
  if (unclosed && unclosed.offset < error.pos[0]) {
    const opener = text[unclosed.offset];
    const found = lines.linePos(error.pos[0]);
    return new SpecError(
      `${where(file, lines, unclosed.offset)}: YAML syntax error: unclosed ${opener}: this ${unclosed.what} ` +
        `has no closing ${unclosed.closer} (the parser gave up at line ${found.line}, column ${found.col})`,
    );
  }
  if (error.code === "DUPLICATE_KEY") {
    const key = keyAt(doc, error.pos[0]) ?? /^[^\n:]*/.exec(text.slice(error.pos[0]))?.[0].trim() ?? "";
    return new SpecError(
      `${where(file, lines, error.pos[0])}: duplicated mapping key ${key}: a key appears once in a map`,
    );
  }
  const said = (error.message.split("\n")[0] ?? error.code).replace(/ at line \d+, column \d+:?$/, "");
  // The parser recursed out of stack: say what the spec does, not what the parser ran out of.
  const message = /call stack/i.test(said) ? "the YAML nesting is too deep to read" : said;
  return new SpecError(`${where(file, lines, error.pos[0])}: YAML syntax error: ${message}`);
}

/**
 * `file:line:col` of a place in the bundled document (its path from the root, as the generator
 * reads it), found in the spec files by following `$ref`s from the root file; where the path leaves
 * the files (bundling moved it), the last place on it that they hold.
 */
export function locate(rootFile: string, at: ReadonlyArray<string | number>): string {
  let file = path.resolve(ROOT, rootFile);
  let loaded = parse(file, readFileSync(file, "utf8")) as Loaded;
  let node: unknown = loaded.doc.contents;
  let offset = 0;
  const rest = at.map(String);
  for (let hops = 0; hops < MAX_REF_CHAIN; ) {
    const ref = isMap(node) ? node.get("$ref") : undefined;
    const target = typeof ref === "string" ? targetOf(file, ref) : undefined;
    if (target) {
      const next = parse(target.file, readFileSync(target.file, "utf8"));
      if (!next) break;
      [file, loaded, node, offset, hops] = [target.file, next, next.doc.contents, 0, hops + 1];
      rest.unshift(...target.segments);
      continue;
    }
    const segment = rest.shift();
    const pair = pairNamed(node, segment);
    const item = isSeq(node) ? node.items[Number(segment)] : undefined;
    const start = pair
      ? (pair.key as { range?: number[] }).range?.[0]
      : (item as { range?: number[] })?.range?.[0];
    if (segment === undefined || start === undefined) break;
    [node, offset] = [pair ? pair.value : item, start];
  }
  return where(file, loaded.lines, offset);
}

/** `file:line:col` of `index` in a text the YAML parser has not read (a byte it must not see). */
function whereInText(file: string, text: string, index: number): string {
  const before = text.slice(0, index).split("\n");
  return `${path.relative(ROOT, file)}:${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
}

function where(file: string, lines: LineCounter, offset: number): string {
  const { line, col } = lines.linePos(offset);
  return `${path.relative(ROOT, file)}:${line}:${col}`;
}

/** The pair of a map whose key is `segment`, compared as text as a path holds it (`200:` unquoted is a number). */
function pairNamed(node: unknown, segment: string | undefined) {
  return isMap(node) ? node.items.find((p) => isScalar(p.key) && String(p.key.value) === segment) : undefined;
}

/** `file:line:col` of the node at `segments` in a loaded file (its start when there is none). */
function whereAt(file: string, loaded: Loaded, segments: ReadonlyArray<unknown>): string {
  const start = (node: unknown) => (node as { range?: number[] } | null)?.range?.[0];
  let node: unknown = loaded.doc.contents;
  let offset = start(node) ?? 0;
  for (const segment of segments.map(String)) {
    const pair = pairNamed(node, segment);
    const item = isSeq(node) ? node.items[Number(segment)] : undefined;
    if (!pair && item === undefined) {
      // A key a merge brought in: where the merge (`<<`) is.
      const merge = isMap(node) ? node.items.find(isMerge) : undefined;
      offset = start(merge?.key) ?? offset;
      break;
    }
    node = pair ? pair.value : item;
    offset = start(node) ?? start(pair?.key) ?? offset;
  }
  return where(file, loaded.lines, offset);
}

/**
 * Every object and list in `value`, in document order, with its path from the document root;
 * `skip(key, at, child, names)` leaves out the subtree under `key` of the object at `at`, told
 * whether that object's keys are names (`names`: a map of properties, responses, components…)
 * rather than an OpenAPI or JSON Schema object's own keywords.
 */
function* objectsIn(
  value: unknown,
  segments: string[] = [],
  skip: (key: string, at: string[], child: unknown, names: boolean) => boolean = () => false,
): Generator<{ node: object; at: string[] }> {
  const stack: Array<{ node: unknown; at: string[]; names: boolean }> = [
    { node: value, at: segments, names: false },
  ];
  while (stack.length > 0) {
    const { node, at, names } = stack.pop() as { node: unknown; at: string[]; names: boolean };
    if (!node || typeof node !== "object") continue;
    yield { node, at };
    // Pushed in reverse so they come off the stack in document order.
    const entries = Object.entries(node);
    const list = Array.isArray(node);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i] as [string, unknown];
      if (skip(key, at, child, names)) continue;
      // A keyword that holds a map of names: its keys are names, whatever they spell.
      stack.push({ node: child, at: [...at, key], names: !list && !names && NAME_MAPS.has(key) });
    }
  }
}

/** Keywords whose value is a map of names (a property named `default` is no default value). */
const NAME_MAPS = new Set([
  "paths",
  "webhooks",
  "schemas",
  "responses",
  "parameters",
  "examples",
  "requestBodies",
  "headers",
  "securitySchemes",
  "links",
  "callbacks",
  "pathItems",
  "content",
  "encoding",
  "variables",
  "mapping",
  "properties",
  "patternProperties",
  "dependentSchemas",
  "$defs",
  "definitions",
]);

/** Every object holding a string `$ref`, in document order, with its path from the document root. */
function* refsIn(value: unknown, segments: string[] = []): Generator<{ segments: string[]; ref: string }> {
  for (const { node, at } of objectsIn(value, segments))
    if (!Array.isArray(node) && typeof (node as Json).$ref === "string")
      yield { segments: at, ref: (node as Json).$ref as string };
}

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:/i;
/** A URL as a message may show it: never the user and password it may carry. */
const withoutUser = (url: string) => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");

/**
 * Where a spec holds data, not references: an `externalValue` key there is a field of an example.
 * A keyword only, never a name that spells one; a schema's `examples` is a list of data, a media
 * type's a map of Example objects, whose `value` is data.
 */
const DATA = new Set(["example", "default", "enum", "const"]);
const isData = (key: string, at: string[], child: unknown, names: boolean) =>
  !names &&
  (DATA.has(key) ||
    (key === "examples" && Array.isArray(child)) ||
    (key === "value" && at.at(-2) === "examples"));

/**
 * What a spec file may not hold where it is not data, each refused where it stands, in one walk:
 * - an example's `externalValue` or a discriminator's `mapping` that is a URL: Redocly fetches them,
 *   as it would a `$ref` to a URL;
 * - an `x-imspec-*` key beside a `$ref`: OpenAPI 3.1 allows keys there, but the generator and the
 *   linter read the schema the `$ref` names, so the key would be ignored without a word (an open
 *   enum would close).
 */
function refuseInPlace(file: string, loaded: Loaded): void {
  const isUrl = (value: unknown): value is string => typeof value === "string" && URL_SCHEME.test(value);
  const remote = (segments: string[], what: string, url: string) =>
    new SpecError(
      `${whereAt(file, loaded, segments)}: ${what} is a URL (${withoutUser(url)}): a spec may refer only to its own files, so generating never reaches the network`,
    );
  for (const { node, at } of objectsIn(loaded.value, [], isData)) {
    const { externalValue, mapping, $ref } = node as Json;
    if (isUrl(externalValue)) throw remote([...at, "externalValue"], "externalValue", externalValue);
    if (at.at(-1) === "discriminator" && mapping && typeof mapping === "object")
      for (const [k, v] of Object.entries(mapping))
        if (isUrl(v)) throw remote([...at, "mapping", k], "a discriminator mapping", v);
    const beside =
      typeof $ref === "string" && !Array.isArray(node) ? Object.keys(node).find(nearPrefix) : undefined;
    if (beside !== undefined)
      throw new SpecError(
        `${whereAt(file, loaded, [...at, beside])}: ${beside} beside a $ref is not read: the generator reads the target's keys; put it on the schema the $ref names`,
      );
  }
}

/** A `$ref` whose `%` starts no escape (`#/C/100%`): named where it stands by whoever follows it. */
class MalformedRef extends Error {}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new MalformedRef(text);
  }
}

/** The file and JSON-pointer segments a `$ref` names; undefined for remote references. */
function targetOf(from: string, ref: string): { file: string; segments: string[] } | undefined {
  const hash = ref.indexOf("#");
  const filePart = hash === -1 ? ref : ref.slice(0, hash);
  if (URL_SCHEME.test(filePart)) return undefined;
  const pointer = hash === -1 ? "" : ref.slice(hash + 1);
  const file = filePart ? path.resolve(path.dirname(from), decoded(filePart)) : from;
  try {
    return { file, segments: pointerKeys(pointer) };
  } catch {
    throw new MalformedRef(pointer);
  }
}

/** `targetOf` the `$ref` that stands at `place`; one that does not decode is refused there. */
function targetAt(
  place: { file: string; segments: string[] },
  ref: string,
  load: (file: string) => Loaded | undefined,
): { file: string; segments: string[] } | undefined {
  try {
    return targetOf(place.file, ref);
  } catch (error) {
    if (!(error instanceof MalformedRef)) throw error;
    throw chainError(
      place,
      load,
      `is no URI reference (${withoutUser(ref)}): a % starts an escape, and a % itself is written %25`,
    );
  }
}

function lookup(value: unknown, segments: string[]): unknown {
  let node = value;
  for (const segment of segments) {
    if (!node || typeof node !== "object" || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Json)[segment];
  }
  return node;
}

/**
 * Follows `$ref` → `$ref` → … from one `$ref` until it reaches something else, a cycle or the limit.
 * `known` remembers, for each place already walked, how many `$ref`s lie between it and a value,
 * so a long chain is walked once however many of its links are visited first.
 */
function followChain(
  file: string,
  segments: string[],
  load: (file: string) => Loaded | undefined,
  known: Map<string, number>,
): void {
  const start = { file, segments };
  const tooLong = () =>
    chainError(start, load, `starts a chain of more than ${MAX_REF_CHAIN} $refs that point at $refs`);
  const visited: Array<{ key: string; isRef: boolean }> = [];
  const seen = new Set<string>();
  let refs = 0;
  let rest = 0; // $refs beyond the place the walk stopped at
  let current = start;
  for (;;) {
    const key = `${current.file}#/${current.segments.join("/")}`;
    const cached = known.get(key);
    if (cached !== undefined) {
      rest = cached;
      break;
    }
    if (seen.has(key)) {
      throw chainError(
        current,
        load,
        "is circular: its chain of $refs comes back to it without reaching a value",
      );
    }
    seen.add(key);
    const node = lookup(load(current.file)?.value, current.segments) as Json | undefined;
    const ref = node && typeof node === "object" ? node.$ref : undefined;
    visited.push({ key, isRef: typeof ref === "string" });
    if (typeof ref !== "string") break;
    if (++refs > MAX_REF_CHAIN) throw tooLong();
    const target = targetAt(current, ref, load);
    if (!target) break; // a remote reference: not followed
    current = target;
  }
  let count = rest;
  for (let i = visited.length - 1; i >= 0; i--) {
    const { key, isRef } = visited[i] as { key: string; isRef: boolean };
    if (isRef) count++;
    known.set(key, count);
  }
  if (count > MAX_REF_CHAIN) throw tooLong();
}

function chainError(
  start: { file: string; segments: string[] },
  load: (file: string) => Loaded | undefined,
  what: string,
): SpecError {
  const loaded = load(start.file) as Loaded;
  const pointer = `#/${start.segments.map((s) => s.replace(/~/g, "~0").replace(/\//g, "~1")).join("/")}`;
  return new SpecError(
    `${whereAt(start.file, loaded, [...start.segments, "$ref"])}: the $ref at ${pointer} ${what}`,
  );
}
