/**
 * What `imspec mock` prints for each API it serves: where it is, how to get a token and how to
 * call an operation with it, all read from the served document.
 */
import type { OpenApiDocument } from "./documents.js";
import { operationsById, profileOf, type TokenPlace } from "./profile.js";

type Json = Record<string, unknown>;

const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

function firstExample(node: Json | undefined): unknown {
  if (!node) return undefined;
  if ("example" in node) return node.example;
  const examples = node.examples;
  if (Array.isArray(examples)) return examples[0];
  if (examples && typeof examples === "object") {
    const first = Object.values(examples as Record<string, Json>)[0];
    return first && "value" in first ? first.value : undefined;
  }
  return undefined;
}

function locate(
  document: OpenApiDocument,
  operationId: string,
): { method: string; path: string } | undefined {
  for (const [p, item] of Object.entries((document.paths ?? {}) as Record<string, Json>)) {
    for (const [method, op] of Object.entries(item))
      if ((op as Json | undefined)?.operationId === operationId)
        return { method: method.toUpperCase(), path: p };
  }
  return undefined;
}

/**
 * `path` with its required path parameters filled in and its required query parameters, from the
 * spec's examples (the path item's and the operation's); `complete` is false when one has none.
 */
function filled(path: string, item: Json | undefined, op: Json) {
  const parameters = [...((item?.parameters ?? []) as Json[]), ...((op.parameters ?? []) as Json[])];
  let target = path;
  const query = new URLSearchParams();
  let complete = true;
  for (const parameter of parameters) {
    if (!parameter.required) continue;
    const value = firstExample(parameter) ?? firstExample(parameter.schema as Json | undefined);
    if (value === undefined) complete = false;
    else if (parameter.in === "path")
      target = target.replace(`{${String(parameter.name)}}`, encodeURIComponent(String(value)));
    else if (parameter.in === "query") query.set(String(parameter.name), String(value));
  }
  return { target, query, complete };
}

/** A GET call of an operation that takes an app token, with the spec's parameter examples. */
function sampleCall(document: OpenApiDocument, url: string, place: TokenPlace): string | undefined {
  for (const [p, item] of Object.entries((document.paths ?? {}) as Record<string, Json>)) {
    const op = item.get as Json | undefined;
    const security = (op?.security ?? document.security ?? []) as Record<string, unknown>[];
    if (!op || !security.some((s) => place.scheme in s)) continue;
    const { target, query, complete } = filled(p, item, op);
    if (!complete) continue;
    let header = "";
    if (place.in === "query") query.set(place.name, "<token>");
    else
      header = ` -H ${quote(place.in === "bearer" ? "Authorization: Bearer <token>" : `${place.name}: <token>`)}`;
    const search = query.size ? `?${query.toString().replace("%3Ctoken%3E", "<token>")}` : "";
    return `  curl -s ${quote(`${url}${target}${search}`)}${header}`;
  }
  return undefined;
}

/** The lines `imspec mock` prints for one served API. */
export function usageLines(
  api: string,
  document: OpenApiDocument,
  url: string,
  lifetimeSeconds?: number,
): string[] {
  const profile = profileOf(document);
  const title = String((document.info as Json | undefined)?.title ?? api);
  const lines = [`${api}  ${url}  (${title})`];
  const issuing = [...profile.tokens.values()].find((t) => t.kind === "app");
  const operation = issuing ? operationsById(document).get(issuing.operationId) : undefined;
  const where = issuing ? locate(document, issuing.operationId) : undefined;
  if (issuing && operation && where) {
    const media = (
      (operation.requestBody as Json | undefined)?.content as Record<string, Json> | undefined
    )?.["application/json"];
    const body = firstExample(media);
    const data =
      body === undefined ? "" : ` -H 'content-type: application/json' -d ${quote(JSON.stringify(body))}`;
    // Its required parameters too (WeCom's gettoken takes corpid and corpsecret in the query).
    const item = (document.paths as Record<string, Json> | undefined)?.[where.path];
    const { target, query } = filled(where.path, item, operation);
    const search = query.size ? `?${query}` : "";
    const seconds = lifetimeSeconds ?? issuing.lifetimeSeconds;
    lines.push(
      `  a token (any credentials work; it lives ${seconds} s, field ${issuing.token}):`,
      `  curl -s -X ${where.method} ${quote(`${url}${target}${search}`)}${data}`,
    );
  }
  const place = profile.places.find((p) => p.kind === "app");
  const call = place ? sampleCall(document, url, place) : undefined;
  if (call) lines.push("  then call an operation with it:", call);
  return lines;
}
