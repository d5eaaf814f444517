/**
 * What was wrong with a request, in words that name the field: built from the ajv errors
 * openapi-backend reports, and from the few checks the spec states only in prose.
 */

export type Place = "path" | "query" | "header" | "body";

export interface Problem {
  /** The field as a caller writes it: `seniorStaffId`, `permitStaffIds[0]`, `body`. */
  field: string;
  where: Place;
  /** `missing`: a required value is absent; `invalid`: present but wrong; `unknown`: not in the spec. */
  kind: "missing" | "invalid" | "unknown";
  /** `query parameter seniorStaffId is required`, `body field open must be boolean`, … */
  text: string;
}

/** The shape of an ajv error, as much of it as is read here. */
export interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string | undefined;
}

const NOUN: Record<Place, string> = {
  path: "path parameter",
  query: "query parameter",
  header: "header",
  body: "body field",
};

const PLACES: Record<string, Place> = { path: "path", query: "query", header: "header", requestBody: "body" };

function fieldName(segments: string[]): string {
  let out = "";
  for (const segment of segments)
    out += /^\d+$/.test(segment) ? `[${segment}]` : out ? `.${segment}` : segment;
  return out;
}

function describe(error: AjvError): string {
  const { keyword, params } = error;
  if (keyword === "enum" && Array.isArray(params.allowedValues))
    return `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
  if (keyword === "const") return `must be ${JSON.stringify(params.allowedValue)}`;
  return error.message ?? keyword;
}

export function problem(where: Place, field: string, kind: Problem["kind"], what: string): Problem {
  const text =
    field === "body" && where === "body" ? `the request body ${what}` : `${NOUN[where]} ${field} ${what}`;
  return { field, where, kind, text };
}

/**
 * One problem per field, in the order ajv met them. Alternatives (`anyOf`, `oneOf`) report every
 * branch's error: they are joined with "or" rather than listed as separate problems, and the
 * summary "must match a schema in anyOf" is kept only when nothing more precise was said.
 */
export function problemsFromAjv(errors: readonly AjvError[]): Problem[] {
  const byField = new Map<string, { where: Place; field: string; kind: Problem["kind"]; texts: string[] }>();
  const add = (where: Place, field: string, kind: Problem["kind"], text: string) => {
    const key = `${where}:${field}`;
    const entry = byField.get(key) ?? { where, field, kind, texts: [] };
    if (!entry.texts.includes(text)) entry.texts.push(text);
    if (kind !== "invalid") entry.kind = kind;
    byField.set(key, entry);
  };
  for (const error of errors) {
    const segments = error.instancePath.split("/").slice(1).map(decodePointer);
    if (error.keyword === "parse") {
      // The parser's own message quotes the body around the fault, a secret in it too: its position only.
      const at = /at position (\d+)/.exec(error.message ?? "")?.[1];
      add("body", "body", "invalid", `is not valid JSON${at === undefined ? "" : ` (at position ${at})`}`);
      continue;
    }
    if (segments.length === 0) {
      if (error.keyword === "required" && error.params.missingProperty === "requestBody")
        add("body", "body", "missing", "is required");
      else add("body", "body", "invalid", describe(error));
      continue;
    }
    const where = PLACES[segments[0] as string];
    if (!where) continue;
    const rest = segments.slice(1);
    if (error.keyword === "required" && typeof error.params.missingProperty === "string") {
      add(where, fieldName([...rest, error.params.missingProperty]), "missing", "is required");
    } else if (
      error.keyword === "additionalProperties" &&
      typeof error.params.additionalProperty === "string"
    ) {
      add(
        where,
        fieldName([...rest, error.params.additionalProperty]),
        "unknown",
        "is not in the spec for this operation",
      );
    } else {
      add(where, rest.length ? fieldName(rest) : "body", "invalid", describe(error));
    }
  }
  return [...byField.values()].map(({ where, field, kind, texts }) => {
    const precise = texts.filter((t) => !/^must match (a|exactly one) schema in (anyOf|oneOf)$/.test(t));
    return problem(where, field, kind, (precise.length ? precise : texts).join(" or "));
  });
}

function decodePointer(segment: string): string {
  return segment.replace(/~1/g, "/").replace(/~0/g, "~");
}
