/**
 * What the contract files share: the bundled specs, their operations, responses and examples, a
 * response validator in OpenAPI 3.1's JSON Schema dialect (2020-12), and the one helper that turns
 * an operation's documented answers into tests.
 */
import { randomUUID } from "node:crypto";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { type APIPromise, type DingTalkError, ImspecError, type RequestOptions } from "imspec/dingtalk";
import type { MockApi, MockServer } from "imspec/mock";
import { expect, test } from "vitest";
import {
  APIS,
  bundled,
  type Json,
  operationsOf as operationsIn,
  type SpecOperation,
} from "../support/specs.js";

export type { Json, SpecOperation };
/** Every API of redocly.yaml (test/support/specs.ts reads it). */
export { APIS };

const documents = new Map<MockApi, Json>();

/** The bundled spec (`generated/<api>/openapi.json`), as the mock serves it; read once per file. */
export function specOf(api: MockApi): Json {
  let doc = documents.get(api);
  if (!doc) {
    doc = bundled(api);
    documents.set(api, doc);
  }
  return doc;
}

export function operationsOf(api: MockApi): SpecOperation[] {
  return operationsIn(api, specOf(api));
}

export function operationOf(api: MockApi, operationId: string): SpecOperation {
  const found = operationsOf(api).find((o) => o.operationId === operationId);
  if (!found) throw new Error(`${api} has no operation ${operationId}`);
  return found;
}

const escapePointer = (segment: string) => segment.replace(/~/g, "~0").replace(/\//g, "~1");

/** Follows a local `$ref` chain; returns the node and the JSON pointer it lives at. */
export function resolve(api: MockApi, node: unknown, pointer: string): { node: Json; pointer: string } {
  let current = node as Json;
  let at = pointer;
  while (current && typeof current.$ref === "string") {
    at = current.$ref;
    current = at
      .slice(2)
      .split("/")
      .reduce<unknown>(
        (acc, key) => (acc as Json)[key.replace(/~1/g, "/").replace(/~0/g, "~")],
        specOf(api),
      ) as Json;
  }
  return { node: current, pointer: at };
}

export interface NamedExample {
  name: string;
  value: unknown;
}

export interface DocumentedResponse {
  /** The key in `responses`: "200", "4XX". */
  key: string;
  /** A concrete status for the key (400 for "4XX"). */
  status: number;
  response: Json;
  /** JSON pointer of the body schema, when the response has a body. */
  schemaPointer: string | undefined;
  examples: NamedExample[];
  /** `x-imspec-optional-body`: the body may be missing although a schema is given. */
  optionalBody: boolean;
}

export function responsesOf(api: MockApi, operationId: string): DocumentedResponse[] {
  const op = operationOf(api, operationId);
  const base = `#/paths/${escapePointer(op.path)}/${op.method.toLowerCase()}/responses`;
  return Object.entries(op.operation.responses as Record<string, unknown>).map(([key, raw]) => {
    const { node: response, pointer } = resolve(api, raw, `${base}/${escapePointer(key)}`);
    const media = (response.content as Record<string, Json> | undefined)?.["application/json"];
    const examples = Object.entries((media?.examples ?? {}) as Record<string, unknown>).map(([name, ex]) => ({
      name,
      value: resolve(api, ex, "").node.value,
    }));
    return {
      key,
      status: /^\d{3}$/.test(key) ? Number(key) : Number(key[0]) * 100,
      response,
      schemaPointer: media?.schema ? `${pointer}/content/application~1json/schema` : undefined,
      examples,
      optionalBody: response["x-imspec-optional-body"] === true,
    };
  });
}

export function successOf(api: MockApi, operationId: string): DocumentedResponse {
  const found = responsesOf(api, operationId).find((r) => r.status >= 200 && r.status < 300);
  if (!found) throw new Error(`${api} ${operationId} documents no success response`);
  return found;
}

/** The request body example of an operation, by name. */
export function requestExample(api: MockApi, operationId: string, name = "default"): unknown {
  const op = operationOf(api, operationId);
  const body = resolve(api, op.operation.requestBody, "").node;
  const examples = ((body.content as Record<string, Json>)["application/json"]?.examples ?? {}) as Json;
  return resolve(api, examples[name], "").node.value;
}

const validators = new Map<MockApi, Ajv2020>();

/**
 * The spec as answers are checked against it: an enum marked `x-imspec-open-enum` lists the known
 * values, not all (scripts/README.md), so it checks the type only. Requests keep the closed list.
 */
export function withOpenEnums<T>(node: T): T {
  if (Array.isArray(node)) return node.map(withOpenEnums) as T;
  if (!node || typeof node !== "object") return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) out[key] = withOpenEnums(value);
  if (out["x-imspec-open-enum"] === true) delete out.enum;
  return out as T;
}

/** ajv with the whole spec registered, so a schema is validated with its `#/components/…` references. */
function ajvFor(api: MockApi): Ajv2020 {
  let ajv = validators.get(api);
  if (!ajv) {
    // `strict: false`: OpenAPI adds keywords (`example`, `x-*`) that JSON Schema does not know.
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema(withOpenEnums(specOf(api)), `https://imspec.test/${api}.json`);
    validators.set(api, ajv);
  }
  return ajv;
}

const compiled = new Map<string, ValidateFunction>();

/** Why `body` does not match the schema at `pointer`; empty when it does. */
export function schemaErrors(api: MockApi, pointer: string, body: unknown): string[] {
  const key = `${api}${pointer}`;
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajvFor(api).compile({ $ref: `https://imspec.test/${api}.json${pointer}` });
    compiled.set(key, validate);
  }
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
}

/** The documented response for an HTTP status: the exact key, else its range. */
export function responseFor(
  api: MockApi,
  operationId: string,
  status: number,
): DocumentedResponse | undefined {
  const all = responsesOf(api, operationId);
  return all.find((r) => r.key === String(status)) ?? all.find((r) => r.key === `${String(status)[0]}XX`);
}

/** Checks an answer the client accepted against the schema documented for its status. */
export async function expectMatchesSchema(
  api: MockApi,
  operationId: string,
  response: Response,
): Promise<void> {
  const documented = responseFor(api, operationId, response.status);
  expect(documented, `${operationId} documents status ${response.status}`).toBeDefined();
  const text = await response.clone().text();
  if (!documented?.schemaPointer) {
    expect(text).toBe("");
    return;
  }
  if (text === "" && documented.optionalBody) return;
  expect(schemaErrors(api, documented.schemaPointer, JSON.parse(text))).toEqual([]);
}

/** The last request the mock recorded for an operation: it must have passed the mock's checks. */
export function expectValidRequest(mock: MockServer, api: MockApi, operationId: string) {
  const request = mock.requests.findLast((r) => r.api === api && r.operationId === operationId);
  expect(request, `the mock received ${api} ${operationId}`).toBeDefined();
  expect(request?.problems).toEqual([]);
  expect(["answered", "scripted"]).toContain(request?.outcome);
  return request as NonNullable<typeof request>;
}

/** How a test calls one operation through the client; `options` carries `Prefer` and `retry`. */
export type Call = (options: RequestOptions) => APIPromise<unknown>;

export interface ContractOptions {
  /** The name of the request example `call` sends: the body the mock received must equal it. */
  requestExample?: string;
}

/** The envelope statuses an API's spec documents (`x-imspec-status-codes`). */
export function documentedStatuses(api: MockApi): { status: number; name: string; message: string }[] {
  return ((specOf(api)["x-imspec-status-codes"] ?? []) as Json[]).map((entry) => ({
    status: Number(entry.status),
    name: String(entry.name),
    message: String(entry.message),
  }));
}

/** How an API answers, as its spec says (`x-imspec-envelope`, `x-imspec-errors`). */
export interface Dialect {
  /** The envelope, when every answer carries a status. */
  envelope: { statusField: string; resultField: string | undefined; successStatus: unknown } | undefined;
  /** The body field of the error code (the envelope's status when the spec names none). */
  codeField: string;
  /** The body field of the request id, when errors carry one. */
  requestIdField: string | undefined;
  /** The body field of the error message. */
  messageField: string;
  /** The answer header of the request id, when the API sends one. */
  requestIdHeader: string | undefined;
}

const first = (v: unknown): string | undefined =>
  typeof v === "string" ? v : Array.isArray(v) && typeof v[0] === "string" ? v[0] : undefined;

export function dialectOf(api: MockApi): Dialect {
  const doc = specOf(api);
  const errors = (doc["x-imspec-errors"] ?? {}) as Json;
  const raw = doc["x-imspec-envelope"] as Json | undefined;
  const envelope = raw
    ? {
        statusField: String(raw.statusField),
        resultField: typeof raw.resultField === "string" ? raw.resultField : undefined,
        successStatus: raw.successStatus,
      }
    : undefined;
  return {
    envelope,
    codeField: first(errors.code) ?? envelope?.statusField ?? "code",
    requestIdField: first(errors.requestId),
    messageField: first(errors.message) ?? (raw ? String(raw.messageField) : "message"),
    requestIdHeader: first(errors.requestIdHeader),
  };
}

/**
 * The API's error class, `<Api>Error` from `imspec/<api>` (DingTalkError, WorkPlusError, and
 * TeamChatError for `team-chat`: a class name has no "-" or "_").
 */
async function errorClassOf(api: MockApi): Promise<abstract new (...args: never[]) => unknown> {
  const module = (await import(`imspec/${api}`)) as Record<string, unknown>;
  const name = `${api.replace(/[-_]/g, "")}error`;
  const found = Object.values(module).find(
    (v) => typeof v === "function" && v.name.toLowerCase() === name && v.prototype instanceof ImspecError,
  );
  if (!found) throw new Error(`imspec/${api} exports no ${api} error class (<Api>Error)`);
  return found as abstract new (
    ...args: never[]
  ) => unknown;
}

/**
 * The contract of one operation, as tests; what differs between APIs is read from the spec:
 * - every success example: the client's typed result equals it (with an envelope's `resultField`,
 *   that field), the answer it accepted matches the response schema, and the mock found the
 *   request valid;
 * - every documented error example: the client throws the API's error class (`<Api>Error`) with
 *   the example's code (`x-imspec-errors.code`, else the envelope status), message, HTTP status
 *   and request id (the body's `x-imspec-errors.requestId` field when it has one, else the
 *   `requestIdHeader` header);
 * - an envelope API: every documented envelope status (`x-imspec-status-codes`) answered with
 *   HTTP 200 becomes the API's error with that code and the documented message.
 */
export function contract(
  mock: () => MockServer,
  api: MockApi,
  operationId: string,
  call: Call,
  options: ContractOptions = {},
): void {
  const dialect = dialectOf(api);
  const { envelope } = dialect;
  const success = successOf(api, operationId);
  const successExamples = success.examples.length ? success.examples : [undefined];
  for (const example of successExamples) {
    const value = example?.value as Json | undefined;
    if (value && envelope && value[envelope.statusField] !== envelope.successStatus) continue;
    const wanted = value && envelope?.resultField ? value[envelope.resultField] : example?.value;
    test(`answers the ${example ? `"${example.name}" example` : "documented empty body"}`, async () => {
      const headers = example ? { Prefer: `example=${example.name}` } : undefined;
      const { data, response } = await call({ headers }).withResponse();
      const request = expectValidRequest(mock(), api, operationId);
      if (options.requestExample !== undefined) {
        expect(JSON.parse(request.body)).toEqual(requestExample(api, operationId, options.requestExample));
      }
      expect(response.status).toBe(success.status);
      await expectMatchesSchema(api, operationId, response);
      expect(data).toEqual(wanted);
    });
  }

  for (const documented of responsesOf(api, operationId)) {
    for (const example of documented.examples) {
      const value = example.value as Json;
      const isError =
        documented.status >= 400 ||
        (envelope !== undefined && value[envelope.statusField] !== envelope.successStatus);
      if (!isError) continue;
      const bodyRequestId = dialect.requestIdField ? value[dialect.requestIdField] : undefined;
      test(`throws the typed error of ${documented.key} "${example.name}"`, async () => {
        const prefer = `code=${documented.status}, example=${example.name}`;
        const error = await call({ headers: { Prefer: prefer }, retry: false }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expectValidRequest(mock(), api, operationId);
        expect(error).toBeInstanceOf(ImspecError);
        expect((error as Error).message).toContain(String(value[dialect.messageField]));
        expect(error).toBeInstanceOf(await errorClassOf(api));
        expect(error).toMatchObject({
          code: value[dialect.codeField],
          status: documented.status,
          operationId,
        });
        if (bodyRequestId !== undefined) expect(error).toMatchObject({ requestId: bodyRequestId });
        if ("requiredScopes" in (error as object)) {
          const detail = value.accessdenieddetail as Json | undefined;
          expect((error as DingTalkError).requiredScopes).toEqual(detail?.requiredScopes);
        }
      });

      test(`${documented.key} "${example.name}" carries the request id of its answer`, async () => {
        // A token of the call's own: a refused one is thrown, not replaced and replayed.
        const headerId = randomUUID();
        mock().script(api, operationId, {
          code: documented.status,
          example: example.name,
          headers: dialect.requestIdHeader ? { [dialect.requestIdHeader]: headerId } : {},
        });
        const error = await call({ retry: false, accessToken: mock().issueToken(api) }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(mock().requests.at(-1)).toMatchObject({ operationId, outcome: "scripted" });
        expect(error).toBeInstanceOf(await errorClassOf(api));
        // A body that names the request wins; without one, the header does.
        const fromHeader = dialect.requestIdHeader ? headerId : undefined;
        expect(error).toMatchObject({ status: documented.status, requestId: bodyRequestId ?? fromHeader });
      });
    }
  }

  if (!envelope) return;
  test.each(documentedStatuses(api))(
    "a documented envelope status $status ($name) becomes the API's error",
    async ({ status, message }) => {
      // An envelope API answers errors with HTTP 200 (an example under 4XX would bring its own status).
      mock().script(api, operationId, { error: status, status: 200 });
      const error = await call({ retry: false, accessToken: mock().issueToken(api) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(mock().requests.at(-1)).toMatchObject({ operationId, outcome: "scripted" });
      expect(error).toBeInstanceOf(await errorClassOf(api));
      expect(error).toMatchObject({ code: status, status: 200, operationId });
      // The mock answers with a documented example of that status when there is one (its own
      // wording), else with the status list's message.
      const shown = exampleMessages(specOf(api), envelope.statusField, dialect.messageField, status);
      expect([message, ...shown].some((m) => (error as Error).message.includes(m))).toBe(true);
    },
  );
}

/** The messages of every example in the document whose status field is `status`. */
function exampleMessages(doc: Json, statusField: string, messageField: string, status: number): string[] {
  const out: string[] = [];
  const stack: unknown[] = [doc];
  while (stack.length) {
    const node = stack.pop();
    if (!node || typeof node !== "object") continue;
    const value = (node as Json).value as Json | undefined;
    if (
      value &&
      typeof value === "object" &&
      value[statusField] === status &&
      typeof value[messageField] === "string"
    )
      out.push(value[messageField] as string);
    stack.push(...Object.values(node as Json));
  }
  return out;
}

function exampleOfParameter(api: MockApi, parameter: Json): unknown {
  const schema = resolve(api, parameter.schema, "").node;
  if ("example" in parameter) return parameter.example;
  if (Array.isArray(schema.examples)) return schema.examples[0];
  return schema.default;
}

/** A value of a path parameter's type, for one whose spec shows none. */
function standInOf(api: MockApi, parameter: Json): unknown {
  if (parameter.in !== "path") return undefined;
  const type = resolve(api, parameter.schema, "").node?.type;
  return type === "integer" || type === "number" ? 1 : "x1";
}

/**
 * Parameters the spec itself vouches for: each parameter's example (or default) and the first
 * request body example, merged the way the client takes them (one flat object). A path parameter
 * with neither gets a stand-in of its type: the client refuses an empty path segment before
 * anything is sent, and the spec need not show an example of every path parameter.
 */
export function sampleParams(api: MockApi, operationId: string): Json {
  const op = operationOf(api, operationId);
  const out: Json = {};
  const pathItem = (specOf(api).paths as Record<string, Json>)[op.path] as Json;
  const parameters = [
    ...((pathItem.parameters ?? []) as unknown[]),
    ...((op.operation.parameters ?? []) as unknown[]),
  ];
  for (const raw of parameters) {
    const parameter = resolve(api, raw, "").node;
    const value = exampleOfParameter(api, parameter) ?? standInOf(api, parameter);
    if (value !== undefined) out[String(parameter.name)] = value;
  }
  if (op.operation.requestBody) {
    const body = resolve(api, op.operation.requestBody, "").node;
    const examples = ((body.content as Record<string, Json>)["application/json"]?.examples ?? {}) as Json;
    const first = Object.values(examples)[0];
    if (first) Object.assign(out, resolve(api, first, "").node.value as Json);
  }
  return out;
}

type AnyMethod = (params: Json, options?: RequestOptions) => APIPromise<unknown>;

/** Whether the operation's security asks for a user token (`x-imspec-token-kind: user`). */
export function needsUserToken(api: MockApi, operationId: string): boolean {
  const { operation } = operationOf(api, operationId);
  const schemes = ((specOf(api).components as Json | undefined)?.securitySchemes ?? {}) as Record<
    string,
    Json
  >;
  const security = (operation.security ?? specOf(api).security ?? []) as Record<string, unknown>[];
  return security.some((requirement) =>
    Object.keys(requirement).some((name) => schemes[name]?.["x-imspec-token-kind"] === "user"),
  );
}

/** Calls any operation by name, with the spec's sample parameters (for table-driven tests). */
export function callOperation(
  client: object,
  api: MockApi,
  operationId: string,
  options: RequestOptions = {},
): APIPromise<unknown> {
  const { tag } = operationOf(api, operationId);
  const method = (client as Record<string, Record<string, AnyMethod>>)[tag]?.[operationId];
  if (!method) throw new Error(`the ${api} client has no ${tag}.${operationId}`);
  return method(sampleParams(api, operationId), options);
}
