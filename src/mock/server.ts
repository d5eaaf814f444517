import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { type Context, type Document, OpenAPIBackend } from "openapi-backend";
import { type Dialect, dingtalkDialect, json, type Reply, workplusDialect } from "./dialects.js";
import { loadDocument, MOCK_APIS, type MockApi, type OpenApiDocument } from "./documents.js";
import { type Choice, choose, hasContent, parsePrefer } from "./examples.js";
import { type AjvError, type Problem, problem, problemsFromAjv } from "./problems.js";
import { TOKEN_ENDPOINTS, type TokenEndpoint } from "./token-endpoints.js";
import { type TokenCheck, type TokenKind, TokenRegistry } from "./tokens.js";

type Json = Record<string, unknown>;

export interface MockServerOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number | undefined;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string | undefined;
  /**
   * Lifetime of the tokens the token endpoints issue, in seconds: one number for both APIs, or one
   * per API. Default: DingTalk 7200 (its documented lifetime), WorkPlus 30 days (the example's).
   */
  tokenLifetimeSeconds?: number | Partial<Record<MockApi, number>> | undefined;
  /** The clock tokens expire by (epoch ms). Tests pass their own to expire tokens without waiting. */
  now?: (() => number) | undefined;
  /** Serve these documents instead of the bundled specs (for example a spec with an extra operation). */
  documents?: Partial<Record<MockApi, OpenApiDocument>> | undefined;
  /** Called after each request is answered (the CLI logs with it). */
  onRequest?: ((request: MockRequest) => void) | undefined;
  /** How many requests `requests` keeps, oldest dropped first. Default 1000. Counts are kept apart. */
  keepRequests?: number | undefined;
}

/**
 * A scripted answer for the next call(s) of one operation. The request is still routed, checked
 * against the spec and authenticated first; the script replaces only the answer. Fields combine:
 * `{ error: 10011, delayMs: 50 }` is a WorkPlus token refusal sent after 50 ms.
 */
export interface MockAnswer {
  /** HTTP status. Default: that of the chosen example or error, else 200. */
  status?: number | undefined;
  /** A JSON body. */
  body?: unknown;
  /** A body sent byte for byte: an HTML error page, truncated JSON, `""` for an empty body. */
  raw?: string | Uint8Array | undefined;
  /** Extra response headers (`content-type` here replaces the default `application/json`). */
  headers?: Record<string, string> | undefined;
  /** One of the operation's named examples, as `Prefer: example=NAME`. */
  example?: string | undefined;
  /** The documented response for this status, as `Prefer: code=NNN`. */
  code?: number | undefined;
  /**
   * An error as the real API sends it: a DingTalk `code` (`"Forbidden.AccessDenied.QpsLimitForApi"`,
   * `"system.busy"`, `"InvalidAuthentication"`) or a WorkPlus envelope status (`10011`, `202104`).
   * The operation's example with that code is used when there is one.
   */
  error?: string | number | undefined;
  /** The error's message, instead of the documented one. */
  message?: string | undefined;
  /** Wait this long before answering. */
  delayMs?: number | undefined;
  /**
   * Break the connection: `"before-response"` closes it without an answer, `"mid-body"` sends the
   * status, the headers and half of the body, then resets it.
   */
  drop?: "before-response" | "mid-body" | undefined;
  /** How many calls this answer is for. Default 1; `Infinity` for every call until cleared. */
  times?: number | undefined;
}

/** What the mock recorded of one request. */
export interface MockRequest {
  /** Which API's prefix the path started with; undefined for paths outside both. */
  api: MockApi | undefined;
  /** The operation the method and path matched. */
  operationId: string | undefined;
  method: string;
  /** The path below the API prefix: `/v1.0/contact/seniorSettings`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
  /** The HTTP status answered; undefined when the connection was dropped first. */
  status: number | undefined;
  /**
   * `answered` from the spec, `scripted` by `script()`, or refused: `invalid` (the request broke
   * the spec), `unauthorized` (token), `not-found` (no such operation).
   */
  outcome: "answered" | "scripted" | "invalid" | "unauthorized" | "not-found";
  /** Why the request was refused as invalid, one sentence per field. */
  problems: string[];
}

const DEFAULT_LIFETIME_S: Record<MockApi, number> = { dingtalk: 7200, workplus: 30 * 24 * 3600 };
const MAX_BODY_BYTES = 1 << 20;

/** Per request: what the handlers need besides openapi-backend's context. */
interface Exchange {
  url: URL;
  /** Also carries the request's headers and body. */
  record: MockRequest;
  auth: TokenCheck | undefined;
}

interface Served {
  api: MockApi;
  backend: OpenAPIBackend;
  dialect: Dialect;
  lifetimeMs: number;
  /** Query parameters that carry a token (WorkPlus `access_token`): not operation parameters. */
  authQuery: Set<string>;
}

interface Scripted {
  answer: MockAnswer;
  left: number;
}

/**
 * ajv in the JSON Schema dialect of OpenAPI 3.1 (2020-12) for openapi-backend, whose own ajv speaks
 * draft-07 and would skip 2019/2020 keywords such as `prefixItems` or `dependentRequired` silently.
 * `strict: false` because OpenAPI adds keywords (`example`, `x-*`) that are not JSON Schema.
 */
function ajv2020(options: object) {
  const ajv = new Ajv2020({ ...options, strict: false, allErrors: true });
  addFormats.default(ajv);
  return ajv;
}

/**
 * A real HTTP server that answers DingTalk under `/dingtalk` and WorkPlus under `/workplus` from
 * their specs: openapi-backend routes each request to its operation and validates it; answers are
 * the spec's examples, picked by `Prefer` or scripted per test.
 */
export class MockServer {
  /** `http://127.0.0.1:PORT`. */
  url = "";
  /** Each API's base URL, what a client takes as `baseUrl`. */
  readonly urls: Record<MockApi, string> = { dingtalk: "", workplus: "" };
  readonly #options: MockServerOptions;
  readonly #tokens: TokenRegistry;
  readonly #now: () => number;
  readonly #served: Served[] = [];
  readonly #scripts = new Map<string, Scripted[]>();
  readonly #counts = new Map<string, number>();
  readonly #requests: MockRequest[] = [];
  readonly #waits = new Set<() => void>();
  readonly #server: Server;
  #stopped = false;

  private constructor(options: MockServerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#tokens = new TokenRegistry(this.#now);
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        // Only a bug in the mock gets here: answer it rather than leave the client hanging.
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain;charset=utf-8" });
        res.end(`imspec mock: ${(error as Error)?.message ?? String(error)}`);
      });
    });
  }

  /** Starts a mock server; resolves once it listens. */
  static async start(options: MockServerOptions = {}): Promise<MockServer> {
    const mock = new MockServer(options);
    for (const api of MOCK_APIS) mock.#served.push(await mock.#serve(api));
    await new Promise<void>((resolve, reject) => {
      mock.#server.once("error", reject);
      mock.#server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
        mock.#server.off("error", reject);
        resolve();
      });
    });
    const address = mock.#server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    mock.url = `http://${host}:${address.port}`;
    for (const api of MOCK_APIS) mock.urls[api] = `${mock.url}/${api}`;
    return mock;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo | null)?.port ?? 0;
  }

  /** The requests received, oldest first (at most `keepRequests` of them). */
  get requests(): readonly MockRequest[] {
    return this.#requests;
  }

  /** How many requests reached `operationId` of `api` (or any of its operations), valid or not. */
  count(api: MockApi, operationId?: string): number {
    if (operationId !== undefined) return this.#counts.get(`${api}:${operationId}`) ?? 0;
    let total = 0;
    for (const [key, n] of this.#counts) if (key.startsWith(`${api}:`)) total += n;
    return total;
  }

  /** How many requests reached the token endpoints of `api`, or of both APIs. */
  tokenRequests(api?: MockApi): number {
    let total = 0;
    for (const name of api ? [api] : MOCK_APIS) {
      for (const operationId of Object.keys(TOKEN_ENDPOINTS[name])) total += this.count(name, operationId);
    }
    return total;
  }

  /**
   * Queues answers for the next calls of `operationId` (`"*"`: any operation of `api`), used in
   * order; each is used `times` times (default once). Scripts for an operation win over `"*"`.
   */
  script(api: MockApi, operationId: string, ...answers: MockAnswer[]): this {
    const key = `${api}:${operationId}`;
    const queue = this.#scripts.get(key) ?? [];
    for (const answer of answers) queue.push({ answer, left: answer.times ?? 1 });
    this.#scripts.set(key, queue);
    return this;
  }

  clearScripts(): void {
    this.#scripts.clear();
  }

  /** Forgets the recorded requests and zeroes the counts. */
  clearRequests(): void {
    this.#requests.length = 0;
    this.#counts.clear();
  }

  /** Scripts, recorded requests, counts and tokens: all gone. */
  reset(): void {
    this.clearScripts();
    this.clearRequests();
    this.#tokens.clear();
  }

  /** Issues a token without a request, as if the API's token endpoint had been called. */
  issueToken(
    api: MockApi,
    options: { kind?: TokenKind; owner?: string; lifetimeSeconds?: number } = {},
  ): string {
    const served = this.#servedFor(api);
    return this.#tokens.issue(api, {
      kind: options.kind ?? "app",
      owner: options.owner ?? "issueToken",
      lifetimeMs: options.lifetimeSeconds !== undefined ? options.lifetimeSeconds * 1000 : served.lifetimeMs,
    }).token;
  }

  /** Makes every token of `api` (or of both APIs) expire now. */
  expireTokens(api?: MockApi): void {
    this.#tokens.expireAll(api);
  }

  /** Makes one token expire now; false if the mock never issued it. */
  expireToken(token: string): boolean {
    return this.#tokens.expire(token);
  }

  /** Stops listening, drops open connections and answers nothing more. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const wake of this.#waits) wake();
    this.#waits.clear();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #servedFor(api: MockApi): Served {
    const served = this.#served.find((s) => s.api === api);
    if (!served) throw new Error(`imspec mock: unknown API ${api}`);
    return served;
  }

  async #serve(api: MockApi): Promise<Served> {
    const document = this.#options.documents?.[api] ?? loadDocument(api);
    const dialect = api === "dingtalk" ? dingtalkDialect() : workplusDialect(document);
    const lifetime = this.#options.tokenLifetimeSeconds;
    const seconds = typeof lifetime === "number" ? lifetime : (lifetime?.[api] ?? DEFAULT_LIFETIME_S[api]);
    const schemes = ((document.components as Json | undefined)?.securitySchemes ?? {}) as Record<
      string,
      Json
    >;
    const authQuery = new Set(
      Object.values(schemes)
        .filter((s) => s.type === "apiKey" && s.in === "query")
        .map((s) => String(s.name)),
    );

    const backend = new OpenAPIBackend({
      // openapi-backend dereferences the document in place: give it a copy.
      definition: structuredClone(document) as unknown as Document,
      apiRoot: `/${api}`,
      // Without `quick` openapi-backend validates the document against the OpenAPI 3.0 schema,
      // which rejects 3.1 syntax; Redocly lint already checks the specs.
      quick: true,
      strict: true,
      coerceTypes: true,
      customizeAjv: (_ajv, options) => ajv2020(options) as never,
      handlers: {
        postRoutingHandler: (c: Context, x: Exchange) => this.#routed(api, c, x),
        notFound: (_c: Context, x: Exchange) => this.#notFound(dialect, x),
        methodNotAllowed: (_c: Context, x: Exchange) => this.#notFound(dialect, x),
        unauthorizedHandler: (_c: Context, x: Exchange) => {
          x.record.outcome = "unauthorized";
          return dialect.unauthorized(x.auth ?? "unknown");
        },
        validationFail: (c: Context, x: Exchange) =>
          this.#invalid(dialect, x, problemsFromAjv((c.validation.errors ?? []) as AjvError[])),
      },
    });
    await backend.init();

    for (const [name, scheme] of Object.entries(schemes)) {
      if (scheme.type !== "apiKey") continue;
      const kind: TokenKind = scheme["x-imspec-token-kind"] === "user" ? "user" : "app";
      const where = scheme.in === "query" ? "query" : "header";
      const key = String(scheme.name);
      backend.registerSecurityHandler(name, (_c: Context, x: Exchange) => {
        const raw = where === "query" ? x.url.searchParams.get(key) : x.record.headers[key.toLowerCase()];
        const token = Array.isArray(raw) ? raw[0] : (raw ?? undefined);
        const check = this.#tokens.check(api, token, kind);
        if (check !== "ok") x.auth ??= check;
        return check === "ok";
      });
    }
    const served: Served = { api, backend, dialect, lifetimeMs: seconds * 1000, authQuery };
    for (const operation of backend.getOperations()) {
      if (!operation.operationId) continue;
      backend.register(operation.operationId, (c: Context, x: Exchange) => this.#answer(served, c, x));
    }
    return served;
  }

  #routed(api: MockApi, context: Context, exchange: Exchange): void {
    const operationId = context.operation?.operationId;
    if (!operationId) return;
    exchange.record.operationId = operationId;
    const key = `${api}:${operationId}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  #notFound(dialect: Dialect, exchange: Exchange): Reply {
    exchange.record.outcome = "not-found";
    return dialect.notFound(exchange.record.method, exchange.record.path);
  }

  #invalid(dialect: Dialect, exchange: Exchange, problems: Problem[]): Reply {
    exchange.record.outcome = "invalid";
    exchange.record.problems = problems.map((p) => p.text);
    return dialect.invalid(problems);
  }

  #takeScript(api: MockApi, operationId: string): MockAnswer | undefined {
    for (const key of [`${api}:${operationId}`, `${api}:*`]) {
      const queue = this.#scripts.get(key);
      const next = queue?.[0];
      if (!queue || !next) continue;
      next.left--;
      if (next.left <= 0) queue.shift();
      return next.answer;
    }
    return undefined;
  }

  /** The answer to a request that routed, authenticated and matched the schema. */
  #answer(served: Served, context: Context, exchange: Exchange): Reply {
    const { api, dialect } = served;
    const operation = context.operation as unknown as Json;
    const operationId = String(operation.operationId);
    const body = (context.request.requestBody ?? {}) as Json;
    const endpoint = TOKEN_ENDPOINTS[api][operationId];

    const problems = [...this.#contentTypeProblems(operation, exchange), ...(endpoint?.check?.(body) ?? [])];
    if (problems.length) return this.#invalid(dialect, exchange, problems);

    const script = this.#takeScript(api, operationId);
    exchange.record.outcome = script ? "scripted" : "answered";
    let reply: Reply;
    if (script?.error !== undefined) {
      reply = dialect.error(operation, script.error, script.message);
    } else if (script && (script.body !== undefined || script.raw !== undefined)) {
      reply = { status: 200, headers: {}, body: script.body, raw: script.raw };
    } else {
      const prefer =
        script?.example !== undefined || script?.code !== undefined
          ? { example: script.example, code: script.code }
          : parsePrefer(exchange.record.headers.prefer);
      const chosen = choose(operation, prefer);
      if (typeof chosen === "string") {
        return this.#invalid(dialect, exchange, [
          { field: "Prefer", where: "header", kind: "invalid", text: chosen },
        ]);
      }
      const preferred = prefer.example !== undefined || prefer.code !== undefined;
      reply =
        endpoint && !preferred
          ? this.#issue(served, endpoint, chosen, body)
          : this.#fromExample(served, operationId, chosen, endpoint);
    }
    if (script?.status !== undefined) reply.status = script.status;
    if (script?.headers) reply.headers = { ...reply.headers, ...script.headers };
    if (script?.delayMs !== undefined) reply.delayMs = script.delayMs;
    if (script?.drop !== undefined) reply.drop = script.drop;
    return reply;
  }

  /** The spec declares only `application/json` bodies: say so when a body comes as something else. */
  #contentTypeProblems(operation: Json, exchange: Exchange): Problem[] {
    const requestBody = operation.requestBody as Json | undefined;
    if (!requestBody || exchange.record.body.length === 0) return [];
    const declared = Object.keys((requestBody.content ?? {}) as Json);
    const sent = String(exchange.record.headers["content-type"] ?? "")
      .split(";")[0]
      ?.trim()
      .toLowerCase();
    if (!sent || declared.includes(sent)) return [];
    return [problem("header", "content-type", "invalid", `must be ${declared.join(" or ")} (got ${sent})`)];
  }

  #fromExample(served: Served, operationId: string, choice: Choice, endpoint?: TokenEndpoint): Reply {
    const { entry, example } = choice;
    if (example) {
      const body = structuredClone(example.value);
      // An example token served as is becomes a real one, so the calls after it work.
      const token = endpoint && entry.status < 300 ? endpoint.tokenIn(body) : undefined;
      if (endpoint && token) {
        this.#tokens.issue(served.api, {
          kind: endpoint.kind,
          owner: `example:${token}`,
          lifetimeMs: served.lifetimeMs,
          token,
        });
      }
      return json(entry.status, body);
    }
    if (!hasContent(entry.response)) return { status: entry.status, headers: {} };
    // A response with a schema but no example: openapi-backend makes one up from the schema.
    return json(
      entry.status,
      served.backend.mockResponseForOperation(operationId, { code: entry.status }).mock,
    );
  }

  #issue(served: Served, endpoint: TokenEndpoint, choice: Choice, body: Json): Reply {
    const now = this.#now();
    const { token, expiresAt } = this.#tokens.issue(served.api, {
      kind: endpoint.kind,
      owner: endpoint.owner(body),
      lifetimeMs: served.lifetimeMs,
      ...(endpoint.reuse ? { reuse: true } : {}),
      ...(endpoint.replace ? { replace: true } : {}),
    });
    const template = (choice.example?.value ?? {}) as Json;
    return json(
      choice.entry.status,
      endpoint.answer(template, { token, expiresAt, lifetimeMs: served.lifetimeMs, now }, body),
    );
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { "content-type": "text/plain;charset=utf-8", connection: "close" });
        res.end("imspec mock: request body over 1 MiB");
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks).toString("utf8");
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", "http://mock.invalid");
    const served = this.#served.find(
      (s) => url.pathname === `/${s.api}` || url.pathname.startsWith(`/${s.api}/`),
    );
    const record: MockRequest = {
      api: served?.api,
      operationId: undefined,
      method,
      path: served ? url.pathname.slice(served.api.length + 1) || "/" : url.pathname,
      query: new URLSearchParams(url.search),
      headers: req.headers,
      body,
      status: undefined,
      outcome: "not-found",
      problems: [],
    };

    let reply: Reply;
    if (!served) {
      reply = json(404, {
        message: `imspec mock: no API at ${url.pathname}; DingTalk is under /dingtalk, WorkPlus under /workplus`,
      });
    } else {
      // The token query parameter is checked by the security handlers, not as an operation parameter.
      const query: Record<string, string | string[]> = {};
      for (const [name, value] of url.searchParams) {
        if (served.authQuery.has(name)) continue;
        const seen = query[name];
        query[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
      }
      const exchange: Exchange = { url, record, auth: undefined };
      reply = (await served.backend.handleRequest(
        {
          method,
          path: url.pathname,
          query,
          headers: req.headers as Record<string, string | string[]>,
          // An empty body is no body: openapi-backend would try to parse "" as JSON.
          body: body.length ? body : undefined,
        },
        exchange,
      )) as Reply;
      reply = served.dialect.finish(reply);
    }

    if (reply.delayMs !== undefined && reply.delayMs > 0) await this.#sleep(reply.delayMs);
    if (this.#stopped) {
      req.socket.destroy();
      return;
    }
    record.status = reply.drop === "before-response" ? undefined : reply.status;
    this.#record(record);
    this.#send(req, res, reply);
  }

  #send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
    if (reply.drop === "before-response") {
      req.socket.destroy();
      return;
    }
    const payload =
      reply.raw !== undefined
        ? Buffer.from(reply.raw)
        : reply.body !== undefined
          ? Buffer.from(JSON.stringify(reply.body))
          : Buffer.alloc(0);
    const headers: Record<string, string | number> = { "content-length": payload.length };
    if (reply.raw !== undefined || reply.body !== undefined)
      headers["content-type"] = "application/json;charset=utf-8";
    for (const [name, value] of Object.entries(reply.headers)) headers[name.toLowerCase()] = value;
    res.writeHead(reply.status, headers);
    if (reply.drop === "mid-body") {
      // The status line and headers promise `content-length` bytes; half of them arrive, then a reset.
      res.write(payload.subarray(0, Math.floor(payload.length / 2)), () => {
        setImmediate(() => res.socket?.resetAndDestroy());
      });
      return;
    }
    res.end(payload);
  }

  #record(record: MockRequest): void {
    const keep = this.#options.keepRequests ?? 1000;
    this.#requests.push(record);
    if (this.#requests.length > keep) this.#requests.splice(0, this.#requests.length - keep);
    try {
      this.#options.onRequest?.(record);
    } catch {
      // A failing listener must not break the answer.
    }
  }

  /** Waits `ms`, or until the server stops. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#waits.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#waits.add(wake);
    });
  }
}

/** Starts a mock server for both APIs (see `MockServer`). */
export function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  return MockServer.start(options);
}
