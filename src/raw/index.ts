/**
 * `imspec/raw`: the typed openapi-fetch client over any imspec client, with the same auth, retries,
 * rate limits and typed errors. Its own entry point, so that a consumer that only calls methods does
 * not bundle openapi-fetch.
 *
 * @example
 * import { createDingTalk, type paths } from "imspec/dingtalk";
 * import { rawClient } from "imspec/raw";
 * const api = rawClient<paths>(createDingTalk({ appKey, appSecret }));
 * const { data } = await api.GET("/v1.0/contact/seniorSettings", { params: { query: { seniorStaffId } } });
 */
import createFetchClient, { type Client } from "openapi-fetch";
import { INTERNALS, type Internals, pathSegment, queryPairs, responseFrom } from "../core/client.js";
import { exactJson, HEADER_NAME, HEADER_VALUE, type OperationRef, type Profile } from "../core/engine.js";
import { type CallSite, ConfigError, ImspecError, textOf } from "../core/errors.js";
import type { OperationRow } from "../core/methods.js";

const METHODS = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "request"] as const;
const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]);

/** The operation a raw request is for, by method and path: the methods' own ref (the same budgets). */
function router(operations: Internals["operations"], refOf: Internals["refOf"]) {
  const rows = Object.entries(operations).map(([operationId, row]) => ({
    ref: refOf(operationId, row),
    regex: new RegExp(
      `^${row.path
        .split(/\{[^{}]+\}/)
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join("[^/]+")}$`,
    ),
  }));
  return (method: string, path: string): OperationRef | undefined =>
    rows.find((r) => r.ref.method === method && r.regex.test(path))?.ref;
}

/**
 * What is wrong with the headers of a request's init that a method would refuse, checked before the fetch
 * API's Headers sees it: its error for a bad value quotes the value, which may be a secret. Read as
 * openapi-fetch reads them: `headers` and `params.header`, any object but a Headers by its entries
 * (an array's too), a list value as one value per item, null and undefined as none. A Headers
 * object is already checked.
 */
function badHeader(init: unknown): string | undefined {
  const given = init as { headers?: unknown; params?: { header?: unknown } } | null | undefined;
  for (const headers of [given?.headers, given?.params?.header]) {
    if (headers === null || typeof headers !== "object" || headers instanceof Headers) continue;
    // openapi-fetch lists a list by its indexes: `[["x-a", "1"]]` would go out as a header named 0.
    if (Array.isArray(headers)) return "headers must be an object of names and values, not a list";
    for (const [name, value] of Object.entries(headers))
      for (const one of Array.isArray(value) ? value : [value]) {
        if (one === null || one === undefined) continue;
        const text = String(one).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
        if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(text))
          return `Invalid request header ${JSON.stringify(name)}`;
      }
  }
  return undefined;
}

/**
 * The token a raw request carries where the API takes it (the profile's header, or query parameter),
 * taken out of its headers: it is the call's `accessToken`, as a method's option. A request cannot
 * pass options, and an operation that takes a user token is refused without one. The engine writes
 * it back where it goes (a query parameter of that name is replaced), learning it as a secret.
 */
function givenToken(auth: Profile["auth"], headers: Record<string, string>, url: URL): string | undefined {
  if (!auth) return undefined;
  if (auth.in === "query") return url.searchParams.get(auth.name) || undefined;
  const name = auth.name.toLowerCase();
  const value = headers[name];
  if (value === undefined) return undefined;
  delete headers[name];
  const scheme = auth.scheme ? `${auth.scheme.toLowerCase()} ` : "";
  const token = scheme && value.toLowerCase().startsWith(scheme) ? value.slice(scheme.length).trim() : value;
  return token || undefined;
}

/**
 * The values of the operation's secret parameters (`corpsecret`, a body's `clientSecret` or OAuth
 * `code`) this request carries, in its query, headers or JSON body: learnt as a method's call learns
 * them, so that an answer echoing one shows it nowhere.
 */
function secretsOf(
  ref: OperationRef,
  url: URL,
  headers: Record<string, string>,
  body: string | undefined,
): string[] | undefined {
  if (!ref.secretParams) return undefined;
  let fields: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = body === undefined ? undefined : JSON.parse(body);
    if (parsed && typeof parsed === "object") fields = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: no fields to read.
  }
  const found = ref.secretParams.flatMap((name) => [
    ...url.searchParams.getAll(name),
    headers[name.toLowerCase()],
    fields && Object.hasOwn(fields, name) ? fields[name] : undefined,
  ]);
  return found.filter((value): value is string => typeof value === "string");
}

export function rawClient<Paths extends {}>(client: object): Client<Paths> {
  // An untyped caller's null or undefined is refused below, as anything else that is not a client.
  const internals = (client as Record<symbol, Internals | undefined> | null | undefined)?.[INTERNALS];
  if (!internals)
    throw new ConfigError("rawClient needs a client made by imspec (createDingTalk, createClient, …)");
  const { engine, operations, baseUrl, redactor, refOf } = internals;
  const base = new URL(baseUrl);
  const origin = base.origin;
  const basePath = base.pathname.replace(/\/+$/, "");
  const route = router(operations, refOf);
  const { auth } = engine.options.profile;
  // A path the spec does not list still counts against the API's budgets: its per-app and per-IP
  // ones as any call, its per-operation ones shared by every unlisted path (never more than one
  // operation's worth of calls).
  const unlisted: OperationRow = {
    method: "GET",
    path: "/",
    tag: "",
    params: {},
    idempotent: true,
    token: "app",
  };
  const { budgets } = refOf("(unlisted)", unlisted);
  const fetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    // The token goes only where the client was configured to send it.
    if (url.origin !== origin) throw new ConfigError(`rawClient sends only to ${origin}`);
    const path = url.pathname.startsWith(basePath) ? url.pathname.slice(basePath.length) : url.pathname;
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const accessToken = givenToken(auth, headers, url);
    // A path the spec does not list has no template: its own path stands in the logs and errors,
    // redacted (a token given with this request is learnt first; the query is never in it).
    redactor.add(accessToken);
    const ref: OperationRef = route(request.method, path) ?? {
      method: request.method,
      path: redactor.text(path),
      idempotent: IDEMPOTENT.has(request.method),
      token: "app",
      // No spec says what it answers: an empty body (a HEAD, a 204) is no data, not a ParseError.
      optionalBody: true,
      ...(budgets ? { budgets } : {}),
    };
    const body = request.body ? await request.text() : undefined;
    // The caller's headers, as a method call's: over the client's, and never one the transport
    // frames the request with (a transfer-encoding beside its content-length smuggles a request).
    const secrets = secretsOf(ref, url, headers, body);
    const outgoing = { url: url.href, method: request.method, headers: {}, body, secrets };
    const sent = await engine.send(outgoing, ref, {
      signal: request.signal,
      headers,
      ...(accessToken === undefined ? {} : { accessToken }),
    });
    // Envelope bodies stay enveloped: raw gives the whole answer, as the spec types it. openapi-fetch
    // parses the body again: an integer beyond 2^53 goes to it as its digits in a string, as a method
    // reads it, not as a number JSON.parse would round (another record's id).
    const { status, statusText, headers: answered, body: text } = sent.answer;
    return responseFrom({ status, statusText, headers: answered, body: exactJson(text) });
  };
  const inner = createFetchClient<Paths>({
    baseUrl,
    fetch,
    pathSerializer: (p, params) =>
      p.replace(/\{([^{}]+)\}/g, (_, n: string) => pathSegment(n, (params as Record<string, unknown>)?.[n])),
    // The methods' query rules: a Date, NaN or a function is a ConfigError, not dropped or sent as text.
    querySerializer: (query) =>
      Object.entries(query ?? {})
        .flatMap(([n, v]) => queryPairs(n, v))
        .join("&"),
  });
  const wrapped: Record<string, unknown> = { ...inner };
  for (const name of METHODS) {
    const method = (inner as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name];
    wrapped[name] = async (...args: unknown[]) => {
      // As the caller wrote it, query included: redacted, as the message is.
      // textOf: a path or method that cannot be made text (a getter or toString that throws) is a
      // ConfigError too, never a TypeError from the handler itself.
      const siteOf = (): CallSite =>
        name === "request"
          ? { method: redactor.text(textOf(args[0]).toUpperCase()), path: redactor.text(textOf(args[1])) }
          : { method: name, path: redactor.text(textOf(args[0])) };
      try {
        const bad = badHeader(args[name === "request" ? 2 : 1]);
        if (bad !== undefined) throw new ConfigError(redactor.text(bad), siteOf());
        return await method?.apply(inner, args);
      } catch (error) {
        if (error instanceof ImspecError) throw error;
        const site = siteOf();
        const said = textOf(error);
        // The fetch API's Headers quotes the value it refuses: a header may carry a credential.
        const message = /^Headers\./.test(said) ? "a request header the fetch API refuses" : said;
        throw new ConfigError(redactor.text(`${site.method} ${site.path}: ${message}`), site);
      }
    };
  }
  return wrapped as unknown as Client<Paths>;
}
