/**
 * Choosing an answer from the spec: the operation's responses, their named examples, and the
 * `Prefer` header that picks one (`Prefer: example=NAME`, `Prefer: code=NNN`, or both, the
 * convention of Stoplight Prism).
 */

type Json = Record<string, unknown>;

export interface Prefer {
  example?: string | undefined;
  code?: number | undefined;
  /** A preference that cannot be met as written (`code=5OO`): answered as a bad request, never ignored. */
  unusable?: string | undefined;
}

/**
 * A status the mock can answer with: a final one. node:http sends any three digits, and a 1xx goes
 * out as an interim answer that leaves the client waiting for the real one.
 */
export const isFinalStatus = (status: number): boolean =>
  Number.isInteger(status) && status >= 200 && status <= 999;

/** Reads `Prefer: code=429, example=systemBusy`; other preferences (`return=minimal`) are ignored. */
export function parsePrefer(header: string | string[] | undefined): Prefer {
  const out: Prefer = {};
  const text = Array.isArray(header) ? header.join(",") : (header ?? "");
  for (const part of text.split(/[,;]/)) {
    const match = /^\s*([A-Za-z-]+)\s*=\s*"?([^"]*)"?\s*$/.exec(part);
    if (!match) continue;
    const key = (match[1] as string).toLowerCase();
    const value = match[2] as string;
    if (key === "example") out.example = value;
    else if (key !== "code") continue;
    else if (!/^\d{3}$/.test(value))
      out.unusable = `Prefer: code=${value} is not an HTTP status (three digits)`;
    else if (!isFinalStatus(Number(value)))
      out.unusable = `Prefer: code=${value} is not a final HTTP status (200 to 999)`;
    else out.code = Number(value);
  }
  return out;
}

/** One documented response of an operation. */
export interface ResponseEntry {
  /** The key in `responses`: "200", "4XX" or "default". */
  key: string;
  /** The status to send: the key itself, or x00 for a range, or 500 for "default". */
  status: number;
  /** The (dereferenced) Response Object. */
  response: Json;
}

export interface NamedExample {
  name: string;
  value: unknown;
}

function statusOf(key: string): number {
  if (/^\d{3}$/.test(key)) return Number(key);
  if (/^[1-5]XX$/i.test(key)) return Number(key[0]) * 100;
  return 500;
}

/** The operation's responses, successes first, then by status. */
export function responsesOf(operation: Json): ResponseEntry[] {
  const responses = (operation.responses ?? {}) as Record<string, Json>;
  const entries = Object.entries(responses).map(([key, response]) => ({
    key,
    status: statusOf(key),
    response,
  }));
  const rank = (e: ResponseEntry) => (e.status >= 200 && e.status < 300 ? 0 : 1);
  return entries.sort((a, b) => rank(a) - rank(b) || a.status - b.status);
}

/** The response documented for `code`: the exact key, else its range (`4XX`), else `default`. */
function responseFor(all: readonly ResponseEntry[], code: number): ResponseEntry | undefined {
  const exact = all.find((e) => e.key === String(code));
  const range = all.find((e) => e.key.toUpperCase() === `${String(code)[0]}XX`);
  const fallback = all.find((e) => e.key === "default");
  const found = exact ?? range ?? fallback;
  return found && { ...found, status: code };
}

function jsonContent(response: Json): Json | undefined {
  const content = response.content as Record<string, Json> | undefined;
  if (!content) return undefined;
  return content["application/json"] ?? Object.values(content)[0];
}

/** Whether the response documents a body at all. */
export function hasContent(response: Json): boolean {
  return jsonContent(response) !== undefined;
}

/** The response's examples in document order (`examples` by name, or a single `example`). */
export function examplesOf(response: Json): NamedExample[] {
  const media = jsonContent(response);
  if (!media) return [];
  const examples = media.examples as Record<string, Json> | undefined;
  if (examples) {
    return Object.entries(examples)
      .filter(([, example]) => example && "value" in example)
      .map(([name, example]) => ({ name, value: example.value }));
  }
  return "example" in media ? [{ name: "example", value: media.example }] : [];
}

export interface Choice {
  entry: ResponseEntry;
  /** The example to send; undefined when the response has none (no body, or a schema only). */
  example: NamedExample | undefined;
}

/**
 * The answer `prefer` asks for, or a sentence saying why there is none. Without a preference: the
 * first success response and its first example.
 */
export function choose(operation: Json, prefer: Prefer): Choice | string {
  const all = responsesOf(operation);
  const documented = all.map((e) => e.key).join(", ");
  let entry: ResponseEntry | undefined;
  if (prefer.unusable) return prefer.unusable;
  if (prefer.code !== undefined) {
    entry = responseFor(all, prefer.code);
    if (!entry)
      return `Prefer: code=${prefer.code} is not documented for this operation (documented: ${documented})`;
  } else if (prefer.example !== undefined) {
    for (const candidate of all) {
      const example = examplesOf(candidate.response).find((e) => e.name === prefer.example);
      if (example) return { entry: candidate, example };
    }
    const names = all.flatMap((e) => examplesOf(e.response).map((x) => x.name));
    return `Prefer: example=${prefer.example} is not an example of this operation (examples: ${[...new Set(names)].join(", ")})`;
  } else {
    entry = all.find((e) => e.status >= 200 && e.status < 300) ?? all[0];
    if (!entry) return "the operation documents no response";
  }
  const examples = examplesOf(entry.response);
  if (prefer.example !== undefined) {
    const example = examples.find((e) => e.name === prefer.example);
    if (!example) {
      return `Prefer: example=${prefer.example} is not an example of the ${entry.key} response (examples: ${examples.map((e) => e.name).join(", ") || "none"})`;
    }
    return { entry, example };
  }
  return { entry, example: examples[0] };
}

/**
 * A paginated operation's success example asked for with the cursor that example hands out: made
 * the last page, in place: its items emptied and its cursor ended (`hasMoreField` false, else the
 * cursor `""`, which ends a listing without one). A client that follows the cursors then reads the
 * example's items once and stops, where the same page again would repeat the cursor for ever.
 * `data` is the body's data part (the envelope's result); `sentOf` reads a request value by name
 * (the query's, else the body's).
 */
export function endListing(operation: Json, data: Json | undefined, sentOf: (name: string) => unknown): void {
  const pagination = operation["x-imspec-pagination"] as Json | undefined;
  if (!data || !pagination) return;
  const { cursorParam, cursorField, hasMoreField, itemsField } = pagination as Record<string, unknown>;
  if (typeof cursorParam !== "string" || typeof cursorField !== "string" || typeof itemsField !== "string")
    return;
  const sent = sentOf(cursorParam);
  if (sent === undefined || sent === null) return;
  const cursor = data[cursorField];
  if (cursor === undefined || cursor === null || cursor === "" || String(cursor) !== String(sent)) return;
  if (typeof hasMoreField === "string" && data[hasMoreField] === false) return;
  if (Array.isArray(data[itemsField])) data[itemsField] = [];
  if (typeof hasMoreField === "string") data[hasMoreField] = false;
  else data[cursorField] = "";
}
