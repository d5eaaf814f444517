import path from "node:path";
import { getLineColLocation, type NormalizedProblem, Source } from "@redocly/openapi-core";
import { ROOT } from "./registry.js";

/** A spec problem the generator refuses to go past; its message already names file and line. */
export class SpecError extends Error {
  override name = "SpecError";
  /** Where in the bundled document, for a message that names no line yet (`locate` finds it). */
  at?: ReadonlyArray<string | number> | undefined;
  constructor(message: string, at?: ReadonlyArray<string | number>) {
    super(message);
    this.at = at;
  }
}

/**
 * The source Redocly's positions are offsets into. Its YAML parser drops a leading byte-order mark,
 * but it counts lines in the text with the mark: every problem of such a file was a column to the
 * left, and one at the start of a line was put at the end of the line before. A stand-in without
 * the mark, made once per file, counts as the parser does.
 */
const withoutBom = new WeakMap<Source, Source>();
function parsedSource(source: Source): Source {
  if (!source.body.startsWith("\uFEFF")) return source;
  let stripped = withoutBom.get(source);
  if (!stripped) {
    stripped = new Source(source.absoluteRef, source.body.slice(1), source.mimeType);
    withoutBom.set(source, stripped);
  }
  return stripped;
}

/** `specs/dingtalk/openapi.yaml:12:5: message (rule)`: the form editors and CI logs link to. */
export function formatProblem(problem: NormalizedProblem): string {
  const location = problem.location[0];
  let where = "(unknown location)";
  let { message } = problem;
  if (location) {
    const file = path.relative(ROOT, location.source.absoluteRef);
    try {
      const source = parsedSource(location.source);
      const { start, end } = getLineColLocation({ ...location, source });
      where = `${file}:${start.line}:${start.col}`;
      // Redocly says which file it could not read, but not which place in a file it could not find.
      if (
        problem.ruleId === "no-unresolved-refs" &&
        message === "Can't resolve $ref" &&
        end?.line === start.line
      ) {
        const line = source.body.split(/\r?\n/)[start.line - 1] ?? "";
        const text = line.slice(start.col - 1, end.col - 1);
        // The value alone, or the `$ref` of a flow or JSON mapping around it.
        const inner = /\$ref["']?\s*:\s*(?:"([^"]*)"|'([^']*)'|([^\s,}]+))/.exec(text);
        const ref = inner ? (inner[1] ?? inner[2] ?? inner[3]) : text.replace(/^(["'])(.*)\1,?$/, "$2");
        if (ref) message = `Can't resolve $ref ${JSON.stringify(ref)}: no such place in that file`;
      }
    } catch {
      where = `${file}#${location.pointer ?? ""}`;
    }
  }
  return `${where}: ${message} (${problem.ruleId})`;
}

export function problemsError(step: string, problems: NormalizedProblem[]): SpecError {
  // Once each: Redocly reports a place again for each path that reaches it (a missing file's $ref
  // inside an example shared by several operations).
  const lines = [...new Set(problems.map((p) => `  ${p.severity}: ${formatProblem(p)}`))];
  return new SpecError(`${step} failed with ${lines.length} problem(s):\n${lines.join("\n")}`);
}

/**
 * Turns what a parser throws (a YAML syntax error, an unreadable file) into a SpecError that names
 * `file:line:col`, the same form as lint problems.
 */
export function toSpecError(error: unknown, file: string): SpecError {
  if (error instanceof SpecError) return error;
  const e = error as { message?: string; line?: number; col?: number; source?: { absoluteRef?: string } };
  const message = String(e?.message ?? error);
  const inline = message.match(/^(.*?) in "(.+?)" \((\d+):(\d+)\)$/s);
  if (inline) {
    const [, what, where, line, col] = inline;
    return new SpecError(`${path.relative(ROOT, where as string)}:${line}:${col}: ${what}`);
  }
  if (typeof e?.line === "number" && Number.isFinite(e.line)) {
    const source = e.source?.absoluteRef ? path.relative(ROOT, e.source.absoluteRef) : file;
    return new SpecError(`${source}:${e.line}:${e.col ?? 1}: ${message.replace(/ \(\d+:\d+\)$/, "")}`);
  }
  if (error instanceof RangeError && /call stack/i.test(message)) {
    return new SpecError(`${file}: the spec nests too deeply to read (${message})`);
  }
  return new SpecError(`${file}: ${message}`);
}
