import createClient, { type Client } from "openapi-fetch";
import type { WithResponse } from "./api-promise.js";
import {
  type ApiProfile,
  Engine,
  type EngineOptions,
  type OperationRef,
  type RequestSpec,
  type Sent,
} from "./engine.js";
import { type CallSite, ConfigError, ImspecError, ParseError } from "./errors.js";
import {
  createMethods,
  type Invoke,
  type MethodGroups,
  type OperationRow,
  type OperationTable,
} from "./methods.js";
import type { CommonClientOptions, RequestOptions } from "./options.js";
import type { Redactor } from "./redact.js";

/** Lone surrogates cannot be percent-encoded (`encodeURIComponent` throws a URIError). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Path parameters are percent-encoded one segment each. `.` and `..` are refused outright: URL
 * parsers resolve them (even as `%2e%2e`), which would move the request to another path.
 */
export function safePathSerializer(pathname: string, params: Record<string, unknown>): string {
  return pathname.replace(/\{([^{}]+)\}/g, (_, name: string) => {
    const value = Object.hasOwn(params ?? {}, name) ? params[name] : undefined;
    if (typeof value === "number" && Number.isFinite(value)) return String(value);
    if (typeof value !== "string" || value.length === 0) {
      throw new ConfigError(`Path parameter "${name}" must be a non-empty string or a finite number`, {
        path: pathname,
      });
    }
    if (LONE_SURROGATE.test(value)) {
      throw new ConfigError(`Path parameter "${name}" is not well-formed Unicode (a lone surrogate)`, {
        path: pathname,
      });
    }
    if (value === "." || value === "..") {
      throw new ConfigError(
        `Path parameter "${name}" cannot be "${value}": it would change the request path`,
        { path: pathname },
      );
    }
    return encodeURIComponent(value);
  });
}

const NESTED =
  "Deeply-nested arrays/objects aren\u2019t supported. Provide your own `querySerializer()` to handle these.";

function queryPair(name: string, value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "object") throw new Error(NESTED);
  return `${name}=${encodeURIComponent(value as string)}`;
}

/**
 * The query string (without `?`) exactly as openapi-fetch's default `querySerializer` writes it:
 * `null` and `undefined` values and empty arrays are left out; an array repeats its name
 * (`form`, `explode`: `ids=1&ids=2`); an object becomes `deepObject` (`filter[name]=li`); values
 * are percent-encoded with `encodeURIComponent`, names are not. Arrays or objects inside those
 * throw, as openapi-fetch does. test/client/query.test.ts compares the two.
 */
export function serializeQuery(query: Record<string, unknown>): string {
  const search: string[] = [];
  for (const name in query) {
    const value = query[name];
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      if (value.length > 0) search.push(value.map((v) => queryPair(name, v)).join("&"));
    } else if (typeof value === "object") {
      const pairs: string[] = [];
      for (const key in value)
        pairs.push(queryPair(`${name}[${key}]`, (value as Record<string, unknown>)[key]));
      search.push(pairs.join("&"));
    } else {
      search.push(queryPair(name, value));
    }
  }
  return search.join("&");
}

const JSON_CONTENT: Readonly<Record<string, string>> = { "content-type": "application/json" };

/**
 * Header parameters over the JSON content type, as openapi-fetch merges them (`null` removes a
 * header, an array repeats it), and the content type a Request gives a string body without one.
 */
function headersOf(header: Record<string, unknown>, hasBody: boolean): Headers {
  const headers = new Headers(hasBody ? JSON_CONTENT : undefined);
  for (const [name, value] of Object.entries(header)) {
    if (value === null) headers.delete(name);
    else if (Array.isArray(value)) for (const v of value) headers.append(name, v as string);
    else headers.set(name, value as string);
  }
  if (hasBody && !headers.has("content-type")) headers.set("content-type", "text/plain;charset=UTF-8");
  return headers;
}

/** Finds the operation a raw (openapi-fetch) request is for, by method and path template. */
function operationMatcher(table: OperationTable, basePath: string) {
  const rows = Object.entries(table).map(([operationId, row]) => {
    const pattern = row.path
      .split(/\{[^{}]+\}/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join("[^/]+");
    return { operationId, row, regex: new RegExp(`^${pattern}$`) };
  });
  return (method: string, pathname: string): { operationId: string; row: OperationRow } | undefined => {
    const path = basePath && pathname.startsWith(basePath) ? pathname.slice(basePath.length) : pathname;
    return rows.find((r) => r.row.method === method && r.regex.test(path));
  };
}

function refOf(operationId: string | undefined, row: OperationRow): OperationRef {
  return {
    operationId,
    method: row.method,
    path: row.path,
    idempotent: row.idempotent,
    token: row.token,
    noBody: row.noBody,
  };
}

export interface Core<Paths extends {}, Ops, Table> {
  methods: MethodGroups<Ops, Table>;
  raw: Client<Paths>;
  engine: Engine;
}

/**
 * What building a request throws (before the engine sends anything: a query value that cannot be
 * encoded, a header Headers refuses) becomes a ConfigError; after an answer, a ParseError. The
 * message is redacted: a runtime error may quote the value it refused.
 */
function typed(error: unknown, site: CallSite, answered: boolean, redactor: Redactor): ImspecError {
  if (error instanceof ImspecError) return error;
  const message = redactor.text(`${site.method} ${site.path}: ${(error as Error)?.message ?? String(error)}`);
  return answered ? new ParseError(message, site, 0) : new ConfigError(message, site);
}

const CLIENT_METHODS = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "request"];

/** The openapi-fetch client, whose calls reject only with ImspecErrors. */
function typedClient<Paths extends {}>(client: Client<Paths>, redactor: Redactor): Client<Paths> {
  const wrapped: Record<string, unknown> = { ...client };
  for (const name of CLIENT_METHODS) {
    const method = (client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name];
    if (typeof method !== "function") continue;
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await method.apply(client, args);
      } catch (error) {
        const [first, second] = args;
        const path = name === "request" ? String(second) : String(first);
        const verb = name === "request" ? String(first).toUpperCase() : name;
        throw typed(error, { operationId: undefined, method: verb, path }, false, redactor);
      }
    };
  }
  return wrapped as unknown as Client<Paths>;
}

/**
 * Wires one API: the table as methods, each building its request and handing it to the engine;
 * and the `raw` openapi-fetch client, with the engine as its fetch.
 */
export function createCore<Paths extends {}, Ops, Table extends OperationTable>(
  table: Table,
  profile: ApiProfile,
  baseUrl: string,
  options: CommonClientOptions & Pick<EngineOptions, "appToken" | "redactor" | "random">,
): Core<Paths, Ops, Table> {
  const engine = new Engine({
    profile,
    fetch: options.fetch ?? globalThis.fetch,
    timeout: options.timeout ?? 10_000,
    retry: options.retry,
    headers: options.headers,
    appToken: options.appToken,
    redactor: options.redactor,
    logger: options.logger,
    ...(options.random ? { random: options.random } : {}),
  });
  const base = baseUrl.replace(/\/+$/, "");
  const match = operationMatcher(table, new URL(base).pathname.replace(/\/+$/, ""));

  const client = createClient<Paths>({
    baseUrl: base,
    pathSerializer: safePathSerializer,
    fetch: async (input: Request) => {
      const url = new URL(input.url);
      const found = match(input.method, url.pathname);
      const ref: OperationRef = found
        ? refOf(found.operationId, found.row)
        : {
            operationId: undefined,
            method: input.method,
            path: url.pathname,
            idempotent: ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].includes(input.method),
            token: "app",
          };
      const body = input.body ? await input.text() : undefined;
      const request = { url, method: input.method, headers: input.headers, body };
      return (await engine.send(request, ref)).response;
    },
  });

  const raw = typedClient(client, options.redactor);

  /**
   * A method's request, built from the operation table as openapi-fetch builds it from the same
   * parameters (headers, body, path, query, then the Request's checks: the same order, the same
   * errors), without the Request it would create only for the engine to take apart again.
   */
  const requestOf = (
    row: OperationRow,
    path: Record<string, unknown>,
    query: Record<string, unknown>,
    header: Record<string, unknown>,
    body: Record<string, unknown> | undefined,
  ): RequestSpec => {
    let headers: Headers | Record<string, string> = body === undefined ? {} : JSON_CONTENT;
    let form = false;
    if (Object.keys(header).length > 0) {
      headers = headersOf(header, body !== undefined);
      form = headers.get("content-type") === "application/x-www-form-urlencoded";
    }
    let text: string | undefined;
    if (body !== undefined)
      text = form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body);
    // The path serializer sees the base URL too, as in openapi-fetch: a `{…}` in it is refused.
    let target = safePathSerializer(`${base}${row.path}`, path);
    const search = serializeQuery(query);
    if (search) target += `?${search}`;
    if (text !== undefined && (row.method === "GET" || row.method === "HEAD"))
      throw new TypeError("Request with GET/HEAD method cannot have body.");
    // Parsed here, once: the URL the engine sends is the one a Request would have normalized.
    return { url: new URL(target), method: row.method, headers, body: text };
  };

  const invoke: Invoke = async (
    operationId,
    row,
    params,
    callOptions: RequestOptions,
  ): Promise<WithResponse<unknown>> => {
    const path: Record<string, unknown> = {};
    const query: Record<string, unknown> = {};
    const header: Record<string, unknown> = {};
    let body: Record<string, unknown> | undefined;
    for (const [name, where] of Object.entries(row.params)) {
      if (!Object.hasOwn(params, name)) continue;
      const value = params[name];
      if (value === undefined) continue;
      if (where === "path") path[name] = value;
      else if (where === "query") query[name] = value;
      else if (where === "header") header[name] = value;
      else {
        body ??= {};
        body[name] = value;
      }
    }
    if (!body && Object.values(row.params).includes("body")) body = {};
    const ref = refOf(operationId, row);
    // A value that cannot be serialized (a nested query array, a BigInt in the body, a header
    // Headers refuses) stops the call before anything is sent. The engine throws typed errors;
    // what a token provider throws is wrapped the same way.
    let sent: Sent;
    try {
      sent = await engine.send(requestOf(row, path, query, header, body), ref, callOptions);
    } catch (error) {
      throw typed(error, ref, false, options.redactor);
    }
    let data = sent.data;
    if (row.noBody) data = undefined;
    else if (profile.envelope) data = (data as Record<string, unknown>)[profile.envelope.resultField];
    return {
      data,
      // A getter: the Response is built only if the caller asks for it (see Sent).
      get response() {
        return sent.response;
      },
      requestId: sent.requestId,
    };
  };

  return { methods: createMethods<Ops, Table>(table, invoke), raw, engine };
}
