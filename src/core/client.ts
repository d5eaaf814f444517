import createClient, { type Client } from "openapi-fetch";
import type { WithResponse } from "./api-promise.js";
import { type ApiProfile, Engine, type EngineOptions, type OperationRef, type Sent } from "./engine.js";
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

/**
 * Path parameters are percent-encoded one segment each. `.` and `..` are refused outright: URL
 * parsers resolve them (even as `%2e%2e`), which would move the request to another path.
 */
/** Lone surrogates cannot be percent-encoded (`encodeURIComponent` throws a URIError). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
function isWellFormed(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

export function safePathSerializer(pathname: string, params: Record<string, unknown>): string {
  return pathname.replace(/\{([^{}]+)\}/g, (_, name: string) => {
    const value = Object.hasOwn(params ?? {}, name) ? params[name] : undefined;
    if (typeof value === "number" && Number.isFinite(value)) return String(value);
    if (typeof value !== "string" || value.length === 0) {
      throw new ConfigError(`Path parameter "${name}" must be a non-empty string or a finite number`, {
        path: pathname,
      });
    }
    if (!isWellFormed(value)) {
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
 * What openapi-fetch throws itself (before the engine sends anything: a query value it cannot
 * encode, a header Headers refuses) becomes a ConfigError; after an answer, a ParseError. The
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

/** Wires one API: openapi-fetch for requests, the engine as its fetch, the table as methods. */
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
      const found = match(input.method, new URL(input.url).pathname);
      const ref: OperationRef = found
        ? refOf(found.operationId, found.row)
        : {
            operationId: undefined,
            method: input.method,
            path: new URL(input.url).pathname,
            idempotent: ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].includes(input.method),
            token: "app",
          };
      return (await engine.send(input, ref)).response;
    },
  });

  const raw = typedClient(client, options.redactor);

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
    let sent: Sent | undefined;
    const ref = refOf(operationId, row);
    try {
      // openapi-fetch serializes the request; the engine sends it. `parseAs: "stream"` leaves the
      // body alone: the engine has already parsed it once.
      const loose = raw as unknown as {
        request(method: string, path: string, init: unknown): Promise<unknown>;
      };
      await loose.request(row.method.toLowerCase(), row.path, {
        params: { path, query, header },
        ...(body ? { body } : {}),
        parseAs: "stream",
        fetch: async (request: Request) => {
          sent = await engine.send(request, ref, callOptions);
          // openapi-fetch's reading of this answer is not used (`sent` is): an empty 204 takes its
          // shortest path, and the real Response is built only if the caller asks for it.
          return new Response(null, { status: 204 });
        },
      });
    } catch (error) {
      // Anything else escaping openapi-fetch would be an untyped crash: wrap it.
      throw typed(error, ref, sent !== undefined, options.redactor);
    }
    if (!sent) throw new ParseError(`${row.method} ${row.path}: no response`, ref, 0);
    let data = sent.data;
    if (row.noBody) data = undefined;
    else if (profile.envelope) data = (data as Record<string, unknown>)[profile.envelope.resultField];
    const answer = sent;
    return {
      data,
      get response() {
        return answer.response;
      },
      requestId: answer.requestId,
    };
  };

  return { methods: createMethods<Ops, Table>(table, invoke), raw, engine };
}
