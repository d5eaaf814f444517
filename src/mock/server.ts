import { type FSWatcher, watch } from "node:fs";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  validateHeaderName,
  validateHeaderValue,
} from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Duplex } from "node:stream";
import type { Context, Document, OpenAPIBackend } from "openapi-backend";
import { MAX_WAIT_MS } from "../core/validate.js";
import { Dialect, json, type Reply } from "./dialect.js";
import {
  apisIn,
  findGenerated,
  type MockApi,
  type OpenApiDocument,
  readDocument,
  specFile,
} from "./documents.js";
import { type Choice, choose, endListing, hasContent, isFinalStatus, parsePrefer } from "./examples.js";
import { loadPeers, type Peers } from "./peers.js";
import { type AjvError, type Problem, problem, problemsFromAjv } from "./problems.js";
import {
  type Code,
  dataPart,
  type MockProfile,
  profileOf,
  type TokenOperation,
  type TokenPlace,
} from "./profile.js";
import { ownerOf, requirementProblems, tokenAnswer, tokenIn } from "./token-endpoints.js";
import { type TokenCheck, type TokenKind, TokenRegistry } from "./tokens.js";

type Json = Record<string, unknown>;

/** An API's name: one the bundled specs know (typed), or any other a server was given documents for. */
export type ApiName = MockApi | (string & {});

export interface MockServerOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number | undefined;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string | undefined;
  /**
   * Lifetime of the tokens the token operations issue, in seconds (above 0): one number for every
   * API, or one per API. Default: what the token operation's success example shows
   * (`x-imspec-mock.tokens` may set it), else the `x-imspec-token` source's `defaultLifetime`.
   */
  tokenLifetimeSeconds?: number | Readonly<Record<string, number>> | undefined;
  /** The clock tokens expire by (epoch ms). Tests pass their own to expire tokens without waiting. */
  now?: (() => number) | undefined;
  /**
   * The folder of bundled specs to serve: every API of its `manifest.json` (else every
   * `<api>/openapi.json` in it). Default: the `generated/` folder of this package.
   */
  generated?: string | undefined;
  /**
   * Serve these documents, by API name, instead of the bundled spec of that name or besides the
   * bundled ones (for example a spec with an extra operation, or another API).
   */
  documents?: Readonly<Record<string, OpenApiDocument>> | undefined;
  /** Watch the bundled spec files and reload an API when its file changes (`npm run mock` does). */
  watch?: boolean | undefined;
  /** Called after each reload a watched change caused, with the error when the new spec was refused. */
  onReload?: ((event: { api: string; error?: Error }) => void) | undefined;
  /** Called after each request is answered (the CLI logs with it). */
  onRequest?: ((request: MockRequest) => void) | undefined;
  /**
   * How many requests `requests` keeps, oldest dropped first. Default 1000. The oldest also go while
   * the kept bodies hold over 64 MiB together (the newest request always stays). Counts are kept apart.
   */
  keepRequests?: number | undefined;
}

/**
 * A scripted answer for the next call(s) of one operation. The request is still routed, checked
 * against the spec and authenticated first; the script replaces only the answer. Fields combine:
 * `{ error: 10011, delayMs: 50 }` is that error sent after 50 ms.
 */
export interface MockAnswer {
  /** HTTP status, 200 to 999 (node:http sends any three digits). Default: that of the chosen example or error, else 200. */
  status?: number | undefined;
  /** A JSON body. */
  body?: unknown;
  /** A body sent byte for byte: an HTML error page, truncated JSON, `""` for an empty body. */
  raw?: string | Uint8Array | undefined;
  /** Extra response headers (`content-type` here replaces the default `application/json`). */
  headers?: Record<string, string> | undefined;
  /** One of the operation's named examples, as `Prefer: example=NAME`. */
  example?: string | undefined;
  /** The documented response for this status (200 to 999), as `Prefer: code=NNN`. */
  code?: number | undefined;
  /**
   * An error as the real API sends it: a code (`"system.busy"`, `"InvalidAuthentication"`) or an
   * envelope status (`10011`). The operation's example with that code is used when there is one,
   * else any operation's; otherwise the body is built in the API's error fields.
   */
  error?: string | number | undefined;
  /** The error's message, instead of the documented one. */
  message?: string | undefined;
  /** Wait this long before answering, in ms (at most 2³¹ − 1, what a timer holds). */
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
  /** Which API's prefix the path started with; undefined for paths outside every API's. */
  api: ApiName | undefined;
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

const MAX_BODY_BYTES = 1 << 20;
/** How many characters of request bodies the records keep at most, all records together. */
const MAX_KEPT_BODIES = 64 << 20;
/** How long the watcher waits for more writes before reloading (the generator writes several files). */
const RELOAD_DEBOUNCE_MS = 150;

/** Per request: what the handlers need besides openapi-backend's context. */
interface Exchange {
  url: URL;
  /** Also carries the request's headers and body. */
  record: MockRequest;
  auth: TokenCheck | undefined;
  /** Query values declared JSON that are none: taken out before openapi-backend saw them. */
  undecoded: Problem[];
}

interface Served {
  api: string;
  /** The bundled spec file it was read from; undefined for a document given in the options. */
  file: string | undefined;
  /** The dereferenced document (openapi-backend's copy). */
  document: OpenApiDocument;
  backend: OpenAPIBackend;
  profile: MockProfile;
  dialect: Dialect;
  /** Lifetime of the tokens `issueToken` makes. */
  lifetimeMs: number;
  /** Query parameters that carry a token (apiKey in query): not operation parameters. */
  authQuery: Set<string>;
}

interface Scripted {
  answer: MockAnswer;
  left: number;
}

/**
 * Why a scripted answer cannot be used as written, checked when it is queued: sent, an interim
 * status (1xx, as `status` or as `code`) or a header the HTTP layer refuses left the call waiting,
 * a delay a timer cannot hold (or NaN) answered at once, a `times` of 0, NaN or 1.5 spent the
 * answer on calls not asked for, and a body JSON cannot hold (a BigInt, a cycle) or a `raw` that is
 * no bytes answered a 500 while the request was recorded as answered with the scripted status.
 */
function answerProblem(answer: MockAnswer): string | undefined {
  if (answer === null || typeof answer !== "object") return "an answer is an object ({ status, body, … })";
  const { times, status, code, body, raw, delayMs, drop, headers } = answer;
  if (times !== undefined && times !== Number.POSITIVE_INFINITY && !(Number.isInteger(times) && times >= 1))
    return "times must be an integer from 1, or Infinity";
  if (status !== undefined && !isFinalStatus(status)) return "status must be an integer from 200 to 999";
  // The documented response for `code` is sent with that status, as `Prefer: code=` is.
  if (code !== undefined && !isFinalStatus(code)) return "code must be an integer from 200 to 999";
  if (raw !== undefined && typeof raw !== "string" && !(raw instanceof Uint8Array))
    return "raw must be a string or a Uint8Array";
  if (body !== undefined) {
    let text: string | undefined;
    try {
      text = JSON.stringify(body);
    } catch (error) {
      return `body cannot be sent as JSON: ${(error as Error).message.split("\n")[0]}`;
    }
    if (text === undefined) return "body cannot be sent as JSON";
  }
  if (delayMs !== undefined && !(typeof delayMs === "number" && delayMs >= 0 && delayMs <= MAX_WAIT_MS))
    return `delayMs must be a number from 0 to ${MAX_WAIT_MS}`;
  if (drop !== undefined && drop !== "before-response" && drop !== "mid-body")
    return 'drop must be "before-response" or "mid-body"';
  for (const [name, value] of Object.entries(headers ?? {})) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch (error) {
      return `headers.${name} cannot be sent: ${(error as Error).message}`;
    }
  }
  return undefined;
}

/**
 * Why the example or code a scripted answer names cannot be answered by `operation`, when the
 * answer is built from them (no `error`, `body` or `raw`): sent, the call got the refusal of a
 * `Prefer` header it never sent, and the script was spent.
 */
function undocumented(operation: Json, answer: MockAnswer): string | undefined {
  const { example, code, error, body, raw } = answer;
  if (error !== undefined || body !== undefined || raw !== undefined) return undefined;
  if (example === undefined && code === undefined) return undefined;
  const chosen = choose(operation, { example, code });
  return typeof chosen === "string" ? chosen.replace(/^Prefer: /, "") : undefined;
}

/**
 * ajv in the JSON Schema dialect of OpenAPI 3.1 (2020-12) for openapi-backend, whose own ajv speaks
 * draft-07 and would skip 2019/2020 keywords such as `prefixItems` or `dependentRequired` silently.
 * `strict: false` because OpenAPI adds keywords (`example`, `x-*`) that are not JSON Schema.
 */
function ajv2020(peers: Peers, options: object) {
  const ajv = new peers.Ajv2020({ ...options, strict: false, allErrors: true });
  peers.addFormats(ajv);
  return ajv;
}

/** A token lifetime in seconds the token answers can state and the clock can reach. */
const isLifetime = (seconds: unknown): boolean =>
  typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0;

/**
 * Calls a listener of the options (`onRequest`, `onReload`). One that throws, or an async one that
 * rejects, must not break the server: thrown from a watcher's timer or left unhandled, its error
 * ended the process.
 */
function notify<T>(listener: ((event: T) => void) | undefined, event: T): void {
  try {
    const done: unknown = listener?.(event);
    if (done instanceof Promise) done.catch(() => {});
  } catch {
    // The listener's own bug: the answer, or the reload, stands.
  }
}

/** The token of a request, from where the scheme puts it. */
function decodes(pathname: string): boolean {
  try {
    decodeURIComponent(pathname);
    return true;
  } catch {
    return false;
  }
}

/**
 * The operation's deepObject query parameters put together from the pairs the clients send
 * (`filter[from]=ann`) into the object openapi-backend validates: it read `filter[from]` as a
 * parameter of that name, which no spec has, and refused the request.
 */
function foldDeepObjects(operation: unknown, query: Record<string, unknown>): void {
  const parameters = ((operation as Json | undefined)?.parameters ?? []) as Json[];
  for (const { name, in: where, style } of parameters) {
    if (where !== "query" || style !== "deepObject" || typeof name !== "string") continue;
    const fields: Array<[string, unknown]> = [];
    for (const key of Object.keys(query)) {
      if (!key.startsWith(`${name}[`) || !key.endsWith("]")) continue;
      fields.push([key.slice(name.length + 1, -1), query[key]]);
      delete query[key];
    }
    // Own properties, even `__proto__` (fromEntries defines them); and a prototype, for
    // openapi-backend's String() of each query value.
    if (fields.length > 0) query[name] = Object.fromEntries(fields);
  }
}

/**
 * The operation's header parameters typed as lists, read as the clients send them (simple style,
 * `tags: a,b`) into the list openapi-backend validates: it took the line as one string and refused
 * it. Returns the headers to validate, a copy when one changed.
 */
function splitHeaderLists(
  operation: unknown,
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[] | undefined> {
  const parameters = ((operation as Json | undefined)?.parameters ?? []) as Json[];
  let out = headers;
  for (const { name, in: where, schema } of parameters) {
    const type = (schema as Json | undefined)?.type;
    const list = type === "array" || (Array.isArray(type) && type.includes("array"));
    if (where !== "header" || !list || typeof name !== "string") continue;
    const value = headers[name.toLowerCase()];
    if (typeof value !== "string") continue;
    if (out === headers) out = { ...headers };
    out[name.toLowerCase()] = value.split(",").map((item) => item.trim());
  }
  return out;
}

/** A query parameter declared with `content: application/json`: its value is JSON text. */
const isJsonQuery = (parameter: Json): boolean =>
  parameter.in === "query" && Boolean((parameter.content as Json | undefined)?.["application/json"]);

/**
 * The operation's query parameters declared with `content: application/json`, decoded once, here:
 * openapi-backend JSON.parsed them on each of its reads of the request, uncaught, so a value that
 * is no JSON, or a JSON string (parsed again after validation), answered a 500 that quoted the
 * value. A value that is no JSON is taken out; the problems returned name it, never quote it.
 */
function decodeJsonQuery(operation: unknown, query: Record<string, unknown>): Problem[] {
  const parameters = ((operation as Json | undefined)?.parameters ?? []) as Json[];
  const problems: Problem[] = [];
  for (const parameter of parameters) {
    const { name } = parameter;
    if (!isJsonQuery(parameter) || typeof name !== "string" || typeof query[name] !== "string") continue;
    try {
      query[name] = JSON.parse(query[name] as string);
    } catch {
      delete query[name];
      problems.push(problem("query", name, "invalid", "is not valid JSON"));
    }
  }
  return problems;
}

/** openapi-backend's router, made to leave the query values `decodeJsonQuery` decoded as they are. */
function leaveJsonQuery(router: OpenAPIBackend["router"]): void {
  const parse = router.parseRequest.bind(router);
  router.parseRequest = (request, operation) =>
    parse(
      request,
      operation && {
        ...operation,
        parameters: (operation.parameters ?? []).filter((p) => !isJsonQuery(p as unknown as Json)),
      },
    );
}

function tokenOf(place: TokenPlace, exchange: Exchange): string | undefined {
  if (place.in === "query") return exchange.url.searchParams.get(place.name) ?? undefined;
  const raw = exchange.record.headers[place.name.toLowerCase()];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (place.in === "header" || value === undefined) return value;
  // Another scheme, or more than one token, is a token the mock never issued.
  return /^Bearer\s+(\S+)\s*$/i.exec(value)?.[1] ?? value;
}

/**
 * A real HTTP server that answers every API of the bundled specs, each under `/<name>`:
 * openapi-backend routes each request to its operation and validates it; answers are the spec's
 * examples, picked by `Prefer` or scripted per test; how it refuses a request, a token or a path,
 * and how it issues tokens, comes from the spec's x-imspec-* extensions.
 */
export class MockServer {
  /** `http://127.0.0.1:PORT`. */
  url = "";
  /** Each API's base URL, what a client takes as `baseUrl` (`urlOf` for any served API). */
  readonly urls: Readonly<Record<MockApi, string>> = {} as Record<MockApi, string>;
  readonly #options: MockServerOptions;
  readonly #tokens: TokenRegistry;
  readonly #now: () => number;
  readonly #served: Served[] = [];
  readonly #scripts = new Map<string, Scripted[]>();
  readonly #counts = new Map<string, number>();
  readonly #requests: MockRequest[] = [];
  /** The characters of the bodies in `#requests`. */
  #keptBodies = 0;
  readonly #waits = new Set<() => void>();
  readonly #watchers: FSWatcher[] = [];
  readonly #reloadTimers = new Map<string, NodeJS.Timeout>();
  /** Per API, the last reload started and the one whose document is served. */
  readonly #loads = new Map<string, { started: number; served: number }>();
  readonly #server: Server;
  #peers: Peers | undefined;
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
    // node:http hands CONNECT (a client that takes the mock for a proxy) to this event only, and
    // closes the connection without a word when nobody listens.
    this.#server.on("connect", (req: IncomingMessage, socket: Duplex) => this.#refuseConnect(req, socket));
  }

  /** A CONNECT request: a 405 like an unknown path's 404, then the connection closed. */
  #refuseConnect(req: IncomingMessage, socket: Duplex): void {
    socket.on("error", () => undefined);
    const status = 405;
    const body = JSON.stringify({
      message: "imspec mock: CONNECT is not served; every API is under /<name>",
    });
    socket.end(
      `HTTP/1.1 ${status} Method Not Allowed\r\ncontent-type: application/json;charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    this.#record({
      api: undefined,
      operationId: undefined,
      method: "CONNECT",
      path: req.url ?? "",
      query: new URLSearchParams(),
      headers: req.headers,
      body: "",
      status,
      outcome: "not-found",
      problems: [],
    });
  }

  /** Starts a mock server; resolves once it listens. */
  static async start(options: MockServerOptions = {}): Promise<MockServer> {
    // node:http reads an empty host as "every interface": a test's mock would listen beyond loopback.
    if (options.host !== undefined && (typeof options.host !== "string" || options.host.trim() === ""))
      throw new Error("imspec mock: host must name an interface (default 127.0.0.1), not be empty");
    // node:http takes a port that is no number ("abc") for the path of a Unix socket: the mock
    // would listen there, in the working directory, and name its URL http://undefined:undefined.
    const { port } = options;
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65_535))
      throw new Error("imspec mock: port must be an integer from 0 to 65535 (0 picks a free one)");
    // NaN or Infinity answered `expires_in: null` and made tokens that never expire; 0 or less,
    // tokens refused as expired as they were issued.
    const lifetimes = options.tokenLifetimeSeconds;
    for (const [api, seconds] of Object.entries(
      typeof lifetimes === "number" ? { "": lifetimes } : (lifetimes ?? {}),
    ))
      if (!isLifetime(seconds))
        throw new Error(
          `imspec mock: tokenLifetimeSeconds${api ? `.${api}` : ""} must be a positive number of seconds`,
        );
    // NaN would keep every request (`length > NaN` is never true), and memory with them.
    const keep = options.keepRequests;
    if (keep !== undefined && !(Number.isInteger(keep) && keep >= 0))
      throw new Error("imspec mock: keepRequests must be a whole number of requests, 0 or more");
    const mock = new MockServer(options);
    mock.#peers = await loadPeers();
    const given = options.documents ?? {};
    let generated = options.generated;
    if (generated === undefined) {
      try {
        generated = findGenerated();
      } catch (error) {
        // Documents of its own are enough: then there is just nothing bundled to serve besides them.
        if (Object.keys(given).length === 0) throw error;
      }
    }
    const fromFiles = generated === undefined ? [] : apisIn(generated);
    if (generated !== undefined && fromFiles.length === 0 && Object.keys(given).length === 0)
      throw new Error(`imspec mock: no <api>/openapi.json in ${generated}`);
    for (const api of [...new Set([...fromFiles, ...Object.keys(given)])].sort()) {
      if (!/^[A-Za-z0-9][\w.-]*$/.test(api)) throw new Error(`imspec mock: "${api}" cannot be a path prefix`);
      const document = given[api];
      const file = document || generated === undefined ? undefined : specFile(generated, api);
      mock.#served.push(await mock.#serve(api, document ?? readDocument(file as string), file));
    }
    await new Promise<void>((resolve, reject) => {
      mock.#server.once("error", reject);
      mock.#server.listen(port ?? 0, options.host ?? "127.0.0.1", () => {
        mock.#server.off("error", reject);
        resolve();
      });
    });
    const address = mock.#server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    mock.url = `http://${host}:${address.port}`;
    const urls = mock.urls as Record<string, string>;
    for (const served of mock.#served) urls[served.api] = `${mock.url}/${served.api}`;
    if (options.watch) mock.#watch();
    return mock;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo | null)?.port ?? 0;
  }

  /** The names of the APIs served, each under `/<name>`. */
  get apis(): string[] {
    return this.#served.map((s) => s.api);
  }

  /** The base URL of a served API; throws for one the server does not serve. */
  urlOf(api: ApiName): string {
    return `${this.url}/${this.#servedFor(api).api}`;
  }

  /** The document an API is served from, dereferenced. */
  documentOf(api: ApiName): OpenApiDocument {
    return this.#servedFor(api).document;
  }

  /** The requests received, oldest first (at most `keepRequests` of them, their bodies 64 MiB at most). */
  get requests(): readonly MockRequest[] {
    return this.#requests;
  }

  /** How many requests reached `operationId` of `api` (or any of its operations), valid or not. */
  count(api: ApiName, operationId?: string): number {
    if (operationId !== undefined) return this.#counts.get(`${api}:${operationId}`) ?? 0;
    let total = 0;
    for (const [key, n] of this.#counts) if (key.startsWith(`${api}:`)) total += n;
    return total;
  }

  /** How many requests reached the token operations of `api`, or of every API. */
  tokenRequests(api?: ApiName): number {
    let total = 0;
    for (const served of this.#served) {
      if (api !== undefined && served.api !== api) continue;
      for (const operationId of served.profile.tokens.keys()) total += this.count(served.api, operationId);
    }
    return total;
  }

  /**
   * Queues answers for the next calls of `operationId` (`"*"`: any operation of `api`), used in
   * order; each is used `times` times (default once). Scripts for an operation win over `"*"`.
   * Throws for an API or operation the server does not serve, and for an answer that cannot be
   * sent as written or names an example or code the operation does not document (then none of
   * `answers` is queued).
   */
  script(api: ApiName, operationId: string, ...answers: MockAnswer[]): this {
    const served = this.#servedFor(api);
    // A misspelt name would keep its answers queued for a call that never comes, and the test
    // would get the spec's answer without a word.
    const operation = operationId === "*" ? undefined : served.backend.getOperation(operationId);
    if (operationId !== "*" && !operation)
      throw new Error(`imspec mock: ${served.api} has no operation ${operationId}`);
    answers.forEach((answer, i) => {
      const why =
        answerProblem(answer) ?? (operation ? undocumented(operation as unknown as Json, answer) : undefined);
      if (why) throw new Error(`imspec mock: script(${served.api}, ${operationId}), answer ${i + 1}: ${why}`);
    });
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
    this.#keptBodies = 0;
    this.#counts.clear();
  }

  /** Scripts, recorded requests, counts and tokens: all gone. */
  reset(): void {
    this.clearScripts();
    this.clearRequests();
    this.#tokens.clear();
  }

  /** Issues a token without a request, as if the API's token operation had been called. */
  issueToken(
    api: ApiName,
    options: { kind?: TokenKind; owner?: string; lifetimeSeconds?: number } = {},
  ): string {
    const served = this.#servedFor(api);
    // 0 is a token already expired, as a test may want; NaN was one that never expires.
    const seconds = options.lifetimeSeconds;
    if (seconds !== undefined && !(isLifetime(seconds) || seconds === 0))
      throw new Error("imspec mock: issueToken: lifetimeSeconds must be a number of seconds from 0");
    return this.#tokens.issue(served.api, {
      kind: options.kind ?? "app",
      owner: options.owner ?? "issueToken",
      lifetimeMs: seconds !== undefined ? seconds * 1000 : served.lifetimeMs,
    }).token;
  }

  /** Makes every token of `api` (or of every API) expire now. */
  expireTokens(api?: ApiName): void {
    this.#tokens.expireAll(api);
  }

  /** Makes one token expire now; false if the mock never issued it. */
  expireToken(token: string): boolean {
    return this.#tokens.expire(token);
  }

  /**
   * Reads the bundled spec of `api` (or of every API served from a file) again and serves it from
   * the next request on. Tokens, scripts and records stay. A spec that cannot be served is refused
   * (the error says why) and the previous one stays in service.
   */
  async reload(api?: ApiName): Promise<void> {
    for (const { api: name, file } of [...this.#served]) {
      if ((api !== undefined && name !== api) || file === undefined) continue;
      // Reloads of one API may overlap (a watched change and a call, two calls): the one that read
      // the file last wins, whichever builds its router first; one that fails undoes none before it.
      const loads = this.#loads.get(name) ?? { started: 0, served: 0 };
      this.#loads.set(name, loads);
      const ticket = ++loads.started;
      const next = await this.#serve(name, readDocument(file), file);
      if (ticket < loads.served) continue;
      loads.served = ticket;
      const at = this.#served.findIndex((s) => s.api === name);
      if (at >= 0) this.#served[at] = next;
    }
  }

  /** Stops listening, drops open connections and answers nothing more. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const watcher of this.#watchers) watcher.close();
    for (const timer of this.#reloadTimers.values()) clearTimeout(timer);
    for (const wake of this.#waits) wake();
    this.#waits.clear();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #servedFor(api: string): Served {
    const served = this.#served.find((s) => s.api === api);
    if (!served) throw new Error(`imspec mock: no API named ${api} (served: ${this.apis.join(", ")})`);
    return served;
  }

  /** Watches each spec file's folder (editors and the generator replace files, which a file watch misses). */
  #watch(): void {
    for (const served of this.#served) {
      if (!served.file) continue;
      const { api, file } = served;
      const watcher = watch(path.dirname(file), (_event, name) => {
        if (name !== null && name !== path.basename(file)) return;
        clearTimeout(this.#reloadTimers.get(api));
        this.#reloadTimers.set(
          api,
          setTimeout(() => {
            this.#reloadTimers.delete(api);
            if (this.#stopped) return;
            this.reload(api).then(
              () => notify(this.#options.onReload, { api }),
              (error: Error) => notify(this.#options.onReload, { api, error }),
            );
          }, RELOAD_DEBOUNCE_MS),
        );
      });
      watcher.on("error", (error) => notify(this.#options.onReload, { api, error }));
      this.#watchers.push(watcher);
    }
  }

  #lifetimeMs(api: string, operation: TokenOperation | undefined): number {
    const option = this.#options.tokenLifetimeSeconds;
    const seconds =
      typeof option === "number" ? option : (option?.[api] ?? operation?.lifetimeSeconds ?? 7200);
    return seconds * 1000;
  }

  async #serve(api: string, given: OpenApiDocument, file: string | undefined): Promise<Served> {
    const peers = this.#peers ?? (await loadPeers());
    const backend = new peers.OpenAPIBackend({
      // openapi-backend dereferences the document in place: give it a copy.
      definition: structuredClone(given) as unknown as Document,
      apiRoot: `/${api}`,
      // Without `quick` openapi-backend validates the document against the OpenAPI 3.0 schema,
      // which rejects 3.1 syntax; Redocly lint already checks the specs.
      quick: true,
      strict: true,
      coerceTypes: true,
      customizeAjv: (_ajv, options) => ajv2020(peers, options) as never,
      handlers: {
        postRoutingHandler: (c: Context, x: Exchange) => this.#routed(api, c, x),
        notFound: (_c: Context, x: Exchange) => this.#notFound(served, x),
        methodNotAllowed: (_c: Context, x: Exchange) => this.#notFound(served, x),
        unauthorizedHandler: (c: Context, x: Exchange) => {
          x.record.outcome = "unauthorized";
          const operation = c.operation as unknown as Json | undefined;
          return served.dialect.unauthorized(
            operation,
            x.auth ?? "unknown",
            this.#placeOf(served, operation),
          );
        },
        validationFail: (c: Context, x: Exchange) =>
          this.#invalid(
            served,
            c.operation as unknown as Json,
            x,
            problemsFromAjv((c.validation.errors ?? []) as AjvError[]),
          ),
      },
    });
    await backend.init();
    leaveJsonQuery(backend.router);
    const document = backend.definition as unknown as OpenApiDocument;
    let profile: MockProfile;
    try {
      profile = profileOf(document);
    } catch (error) {
      throw new Error(`${(error as Error).message} (API ${api}${file ? `, ${file}` : ""})`);
    }
    const firstAppToken = [...profile.tokens.values()].find((t) => t.kind === "app");
    const served: Served = {
      api,
      file,
      document,
      backend,
      profile,
      dialect: new Dialect(profile, document),
      lifetimeMs: this.#lifetimeMs(api, firstAppToken),
      authQuery: new Set(profile.places.filter((p) => p.in === "query").map((p) => p.name)),
    };

    for (const place of profile.places) {
      backend.registerSecurityHandler(place.scheme, (_c: Context, x: Exchange) => {
        const check = this.#tokens.check(api, tokenOf(place, x), place.kind);
        if (check !== "ok") x.auth ??= check;
        return check === "ok";
      });
    }
    for (const operation of backend.getOperations()) {
      if (!operation.operationId) continue;
      backend.register(operation.operationId, (c: Context, x: Exchange) => this.#answer(served, c, x));
    }
    return served;
  }

  /** Where the operation's first security requirement carries its token. */
  #placeOf(served: Served, operation: Json | undefined): TokenPlace | undefined {
    const security = (operation?.security ?? served.document.security ?? []) as Record<string, unknown>[];
    const scheme = Object.keys(security[0] ?? {})[0];
    return served.profile.places.find((p) => p.scheme === scheme);
  }

  #routed(api: string, context: Context, exchange: Exchange): void {
    const operationId = context.operation?.operationId;
    if (!operationId) return;
    exchange.record.operationId = operationId;
    const key = `${api}:${operationId}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  #notFound(served: Served, exchange: Exchange): Reply {
    exchange.record.outcome = "not-found";
    return served.dialect.notFound(exchange.record.method, exchange.record.path);
  }

  #invalid(served: Served, operation: Json | undefined, exchange: Exchange, found: Problem[]): Reply {
    // A value taken out as no JSON is what any "is required" of its parameter means.
    const { undecoded } = exchange;
    const problems = [
      ...undecoded,
      ...found.filter((p) => !undecoded.some((u) => u.where === p.where && u.field === p.field)),
    ];
    exchange.record.outcome = "invalid";
    exchange.record.problems = problems.map((p) => p.text);
    return served.dialect.invalid(operation, problems, this.#parameterCode(served, operation, problems[0]));
  }

  /** The answer a parameter's bad value gets, when the spec names one (`x-imspec-invalid`). */
  #parameterCode(served: Served, operation: Json | undefined, first: Problem | undefined): Code | undefined {
    if (!operation || !first || first.where === "body") return undefined;
    const pathItem = Object.values((served.document.paths ?? {}) as Record<string, Json>).find((item) =>
      Object.values(item).some((op) => (op as Json | undefined)?.operationId === operation.operationId),
    );
    const parameters = [
      ...((pathItem?.parameters ?? []) as Json[]),
      ...((operation.parameters ?? []) as Json[]),
    ];
    // Header names are case-insensitive: openapi-backend reports a header by its name in lower case.
    const named = (name: unknown) =>
      first.where === "header"
        ? String(name).toLowerCase() === first.field.toLowerCase()
        : name === first.field;
    const found = parameters.find((p) => p.in === first.where && named(p.name));
    const code = found?.["x-imspec-invalid"];
    return typeof code === "string" || typeof code === "number" ? code : undefined;
  }

  #takeScript(api: string, operationId: string): MockAnswer | undefined {
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
    const { api, dialect, profile } = served;
    const operation = context.operation as unknown as Json;
    const operationId = String(operation.operationId);
    const body = (context.request.requestBody ?? {}) as Json;
    const issuing = profile.tokens.get(operationId);

    const problems = [
      ...this.#contentTypeProblems(operation, exchange),
      ...requirementProblems(profile.requires.get(operationId) ?? [], body),
    ];
    if (problems.length || exchange.undecoded.length)
      return this.#invalid(served, operation, exchange, problems);

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
        return this.#invalid(served, operation, exchange, [
          { field: "Prefer", where: "header", kind: "invalid", text: chosen },
        ]);
      }
      const preferred = prefer.example !== undefined || prefer.code !== undefined;
      // A token operation may take its credentials in the query (a GET) as well as in the body:
      // whose token it is, and what `set` copies from the request, come from either.
      reply =
        issuing && !preferred
          ? this.#issue(served, issuing, chosen, { ...context.request.query, ...body })
          : this.#fromExample(served, operationId, chosen, issuing);
      if (!preferred && !issuing && chosen.entry.status < 300) {
        const sentOf = (name: string) => context.request.query[name] ?? body[name];
        endListing(operation, dataPart(reply.body, served.profile.envelope), sentOf);
      }
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

  #fromExample(served: Served, operationId: string, choice: Choice, issuing?: TokenOperation): Reply {
    const { entry, example } = choice;
    if (example) {
      const body = structuredClone(example.value);
      // An example token served as is becomes a real one, so the calls after it work.
      const token =
        issuing && entry.status < 300 ? tokenIn(issuing, served.profile.envelope, body) : undefined;
      if (issuing && token) {
        this.#tokens.issue(served.api, {
          kind: issuing.kind,
          owner: `example:${token}`,
          lifetimeMs: this.#lifetimeMs(served.api, issuing),
          token,
        });
      }
      return json(entry.status, body);
    }
    if (!hasContent(entry.response)) return { status: entry.status, headers: {} };
    // A response with a schema but no example: openapi-backend makes one up from the schema.
    // A copy: what openapi-backend answers may be the schema's own example (kept by reference), which
    // `endListing` would empty for every later request.
    return json(
      entry.status,
      structuredClone(served.backend.mockResponseForOperation(operationId, { code: entry.status }).mock),
    );
  }

  /** `request`: the request's query parameters and body fields. */
  #issue(served: Served, issuing: TokenOperation, choice: Choice, request: Json): Reply {
    const now = this.#now();
    const lifetimeMs = this.#lifetimeMs(served.api, issuing);
    const { token, expiresAt } = this.#tokens.issue(served.api, {
      kind: issuing.kind,
      owner: ownerOf(issuing, request),
      lifetimeMs,
      ...(issuing.reuse ? { reuse: true } : {}),
      ...(issuing.replace ? { replace: true } : {}),
    });
    const example = choice.example?.value;
    const template =
      example && typeof example === "object" && !Array.isArray(example) ? (example as Json) : {};
    return json(
      choice.entry.status,
      tokenAnswer(issuing, served.profile.envelope, template, { token, expiresAt, lifetimeMs, now }, request),
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
    // A target starting with `//` is a path too: resolved against a base, `//other/<api>/…` would
    // be the host `other` and the path `/<api>/…`. A proxy's absolute URL stays one.
    const target = req.url ?? "/";
    const url = URL.parse(
      target.startsWith("/") ? `http://mock.invalid${target}` : target,
      "http://mock.invalid",
    );
    // A target no URL can be made of (`http://[::1/x`) is the client's mistake, not the mock's.
    if (!url) {
      res.writeHead(400, { "content-type": "text/plain;charset=utf-8" });
      res.end("imspec mock: the request target is not a path or a URL");
      return;
    }
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
      const where = this.#served.map(
        (s, i) => `${s.profile.title || s.api}${i === 0 ? " is" : ""} under /${s.api}`,
      );
      reply = json(404, { message: `imspec mock: no API at ${url.pathname}; ${where.join(", ")}` });
    } else {
      // The token query parameter is checked by the security handlers, not as an operation parameter.
      // No prototype: `__proto__` or `constructor` is a name like any other (one the spec refuses).
      const query: Record<string, string | string[]> = Object.create(null);
      for (const [name, value] of url.searchParams) {
        if (served.authQuery.has(name)) continue;
        const seen = query[name];
        query[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
      }
      const exchange: Exchange = { url, record, auth: undefined, undecoded: [] };
      const request = {
        method,
        path: url.pathname,
        query,
        headers: req.headers as Record<string, string | string[]>,
        // An empty body is no body: openapi-backend would try to parse "" as JSON.
        body: body.length ? body : undefined,
      };
      // A path that does not decode (`%E0%A4%A`) names no operation: the API's own not-found answer.
      if (!decodes(url.pathname)) reply = this.#notFound(served, exchange);
      else {
        const operation = served.backend.matchOperation(request);
        request.headers = splitHeaderLists(operation, request.headers) as Record<string, string | string[]>;
        foldDeepObjects(operation, query);
        exchange.undecoded = decodeJsonQuery(operation, query);
        reply = (await served.backend.handleRequest(request, exchange)) as Reply;
      }
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
    const kept = this.#requests;
    kept.push(record);
    this.#keptBodies += record.body.length;
    // The oldest go past `keep`, and while the bodies kept hold more than MAX_KEPT_BODIES (the
    // newest always stays): a thousand bodies of nearly 1 MiB each were a GiB of heap.
    let drop = 0;
    while (
      drop < kept.length &&
      (kept.length - drop > keep || (this.#keptBodies > MAX_KEPT_BODIES && drop < kept.length - 1))
    )
      this.#keptBodies -= (kept[drop++] as MockRequest).body.length;
    if (drop) kept.splice(0, drop);
    notify(this.#options.onRequest, record);
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

/** Starts a mock server for every API of the bundled specs (see `MockServer`). */
export function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  return MockServer.start(options);
}
