/**
 * Property-based tests of every API's client (redocly.yaml), per operation: answers generated from
 * the spec's response schemas (valid ones, documented errors, and mutated or broken ones) served by a
 * scripted loopback server. Whatever comes back, a call either returns data or throws a typed imspec
 * error; a valid success answer is returned as it is (an envelope's result field, when it has one).
 * Nothing here names an API: the client factory and error class come from the API's entry module,
 * and what its answers mean (code, message and request-id fields, envelope) from its generated
 * `profile`. The seed is fixed, so a failure prints a seed and a path that reproduce it
 * (`fc.assert(..., { seed, path })`).
 */
import type { ServerResponse } from "node:http";
import fc from "fast-check";
import { ApiError, ConnectionError, ImspecError, ParseError, TimeoutError } from "imspec";
import type { MockApi } from "imspec/mock";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { ScriptedServer } from "../support/scripted-server.js";
import { collectUnhandledRejections } from "../support/unhandled.js";
import { loadEntries } from "./entries.js";
import { jsonValue, SchemaArbitraries } from "./schema-arbitrary.js";
import {
  APIS,
  callOperation,
  type DocumentedResponse,
  type Json,
  operationsOf,
  responsesOf,
  schemaErrors,
  specOf,
  successOf,
} from "./support.js";

/** Each API's client factory, error class and profile (test/contract/entries.ts). */
const entries = await loadEntries();

/** Fixed, so every run of the suite checks the same cases and a failure reproduces. */
const SEED = 20_251_128;
const RUNS = 200;
/** The scripted server always answers at once: anything slower than this is a client bug. */
const TIMEOUT_MS = 2_000;
const TOKEN = "property-test-token";

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

type Outcome = { kind: "data"; data: unknown } | { kind: "error"; error: unknown };

let server: ScriptedServer;
let next: Answer = { status: 200, headers: {}, body: "" };
const clients = {} as Record<MockApi, object>;
let unhandled: ReturnType<typeof collectUnhandledRejections> | undefined;

/** Statuses whose answers carry no body, whatever the server writes (RFC 9110 §15.3.5, §15.4.5). */
const NO_BODY_STATUSES = new Set([204, 205, 304]);

function answer(res: ServerResponse): void {
  res.writeHead(next.status, next.headers);
  res.end(NO_BODY_STATUSES.has(next.status) ? "" : next.body);
}

beforeAll(async () => {
  unhandled = collectUnhandledRejections();
  server = await new ScriptedServer().start();
  for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH"])
    server.on(
      method,
      () => true,
      (_r, res) => answer(res),
    );
  const common = {
    baseUrl: server.url,
    accessToken: TOKEN,
    retry: false,
    timeout: TIMEOUT_MS,
    rateLimit: false,
  } as const;
  for (const api of APIS) clients[api] = entries[api].create(common);
});
afterAll(async () => {
  unhandled?.stop();
  await server?.stop();
});
afterEach(() => {
  server.requests.length = 0;
});

async function call(api: MockApi, operationId: string, given: Answer): Promise<Outcome> {
  next = given;
  // The token is passed per call too: getUser takes a user token and has no client-wide one.
  return callOperation(clients[api], api, operationId, {
    accessToken: TOKEN,
    retry: false,
    timeout: TIMEOUT_MS,
  }).then(
    (data) => ({ kind: "data", data }),
    (error: unknown) => ({ kind: "error", error }),
  );
}

const arbitraries = Object.fromEntries(
  APIS.map((api) => [api, new SchemaArbitraries(specOf(api))]),
) as Record<MockApi, SchemaArbitraries>;

const isOk = (status: number) => status >= 200 && status < 300;
const errorClass = (api: MockApi) => entries[api].ErrorClass;
const jsonHeaders = { "content-type": "application/json;charset=utf-8" };

/** The header an API's answers carry their request id in, when the spec names one. */
const requestIdHeader = (api: MockApi): string | undefined => entries[api].profile.errors.requestIdHeader[0];

/** The first of `names` the body holds as a non-empty string or a finite number (the core reads error fields so). */
function firstField(body: Json, names: readonly string[]): string | number | undefined {
  for (const name of names) {
    const value = body[name];
    if (
      (typeof value === "string" && value.length > 0) ||
      (typeof value === "number" && Number.isFinite(value))
    )
      return value;
  }
  return undefined;
}

/**
 * The error code an API gives a refused answer, as its profile says: an envelope API's is the
 * envelope status (an integer), else the HTTP status; any other API's is the body's code field.
 */
function expectedCode(api: MockApi, body: Json, status: number): string | number | undefined {
  const { envelope, errors } = entries[api].profile;
  if (!envelope) return firstField(body, errors.code);
  const value = body[envelope.statusField];
  return typeof value === "number" && Number.isInteger(value) ? value : status;
}

/**
 * The request id an error carries: the body's request-id field (as text) when the profile names one
 * and the body has it, else the request-id header when the API has one.
 */
function expectedRequestId(api: MockApi, body: Json, headerId: string | undefined): string | undefined {
  const fromBody = firstField(body, entries[api].profile.errors.requestId);
  return fromBody !== undefined ? String(fromBody) : requestIdHeader(api) ? headerId : undefined;
}

/**
 * Whether a success response's body is the envelope's error branch: its status is not the success
 * status (an absent status is success where the envelope makes it optional).
 */
function isEnvelopeError(api: MockApi, body: unknown): boolean {
  const { envelope } = entries[api].profile;
  if (!envelope || !body || typeof body !== "object") return false;
  const status = (body as Json)[envelope.statusField];
  return !(status === envelope.successStatus || (status === undefined && envelope.statusOptional === true));
}

/** The schema of a documented response's JSON body, or undefined when it has none. */
function schemaOf(api: MockApi, documented: DocumentedResponse): Json | undefined {
  return documented.schemaPointer ? arbitraries[api].at(documented.schemaPointer) : undefined;
}

/** Bodies valid against the success response's schema; `undefined` for a response without a body. */
function successBodies(api: MockApi, operationId: string): fc.Arbitrary<unknown> {
  const success = successOf(api, operationId);
  const schema = schemaOf(api, success);
  if (!schema) return fc.constant(undefined);
  const bodies = arbitraries[api].of(schema);
  return success.optionalBody ? fc.oneof(bodies, fc.constant(undefined)) : bodies;
}

// ---------------------------------------------------------------------------------------------
// Mutations of a valid body: a field dropped, a value of the wrong type, a field added.

interface Slot {
  parent: Json | unknown[] | undefined;
  key: string | number | undefined;
  value: unknown;
}

function slotsOf(value: unknown): Slot[] {
  const out: Slot[] = [{ parent: undefined, key: undefined, value }];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        out.push({ parent: node, key: i, value: item });
        walk(item);
      });
    } else if (node && typeof node === "object") {
      for (const [key, item] of Object.entries(node)) {
        out.push({ parent: node as Json, key, value: item });
        walk(item);
      }
    }
  };
  walk(value);
  return out;
}

const kindOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

type Mutation =
  | { kind: "drop"; pick: number }
  | { kind: "retype"; pick: number; value: unknown }
  | { kind: "extra"; pick: number; key: string; value: unknown };

/** The body fields the API's profile gives a meaning: its error fields and its envelope's. */
function meaningfulFields(api: MockApi): string[] {
  const { envelope, errors } = entries[api].profile;
  const fields = [...errors.code, ...errors.message, ...errors.requestId];
  if (envelope) fields.push(envelope.statusField, envelope.messageField);
  if (envelope?.resultField) fields.push(envelope.resultField);
  return [...new Set(fields)];
}

function mutations(api: MockApi): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.record({ kind: fc.constant("drop" as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant("retype" as const), pick: fc.nat(), value: jsonValue(1) }),
    fc.record({
      kind: fc.constant("extra" as const),
      pick: fc.nat(),
      key: fc.oneof(
        fc.constantFrom("__proto__", "constructor", ...meaningfulFields(api)),
        fc.string({ maxLength: 8 }),
      ),
      value: jsonValue(1),
    }),
  );
}

function mutate(body: unknown, mutation: Mutation): unknown {
  const copy = structuredClone(body);
  const slots = slotsOf(copy);
  if (mutation.kind === "drop") {
    const fields = slots.filter((s) => s.parent && !Array.isArray(s.parent));
    const slot = fields[mutation.pick % Math.max(fields.length, 1)];
    if (slot) delete (slot.parent as Json)[slot.key as string];
    return copy;
  }
  if (mutation.kind === "retype") {
    const slot = slots[mutation.pick % slots.length] as Slot;
    // A value of another JSON type than the one it replaces.
    const value =
      kindOf(mutation.value) !== kindOf(slot.value)
        ? mutation.value
        : kindOf(slot.value) === "string"
          ? 0
          : "wrong type";
    if (!slot.parent) return value;
    if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = value;
    else Object.defineProperty(slot.parent, slot.key as string, { value, enumerable: true, writable: true });
    return copy;
  }
  const objects = slots.filter((s) => kindOf(s.value) === "object");
  const slot = objects[mutation.pick % Math.max(objects.length, 1)];
  if (!slot) return copy;
  Object.defineProperty(slot.value as Json, mutation.key, {
    value: mutation.value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

const CONTENT_TYPES = [
  "application/json",
  "application/json;charset=utf-8",
  "application/problem+json",
  "text/html;charset=utf-8",
  "text/plain",
  "application/xml",
  "application/octet-stream",
];

/** Answers of every sort around a valid body: broken on purpose in one or more ways. */
function brokenAnswers(api: MockApi, operationId: string): fc.Arbitrary<Answer> {
  const success = successOf(api, operationId);
  const valid = success.schemaPointer ? successBodies(api, operationId) : jsonValue(2);
  const text = (v: unknown) => JSON.stringify(v) ?? "";
  const body: fc.Arbitrary<string | Uint8Array> = fc.oneof(
    fc.tuple(valid, mutations(api)).map(([v, m]) => text(mutate(v, m))),
    fc.tuple(valid, fc.nat()).map(([v, n]) => {
      const full = text(v);
      return full.slice(0, n % Math.max(full.length, 1));
    }),
    valid.map(text),
    jsonValue(3).map(text),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.uint8Array({ maxLength: 64 }),
    fc.constantFrom("", " ", "null", "[]", "<html><body>502 Bad Gateway</body></html>", "\ufeff{}"),
  );
  const status = fc.oneof(
    fc.constant(success.status),
    fc.integer({ min: 200, max: 599 }),
    fc.integer({ min: 200, max: 999 }),
  );
  const contentType = fc.option(fc.constantFrom(...CONTENT_TYPES), { nil: undefined });
  const requestId = fc.option(fc.uuid(), { nil: undefined });
  return fc
    .record({ status, body, contentType, requestId })
    .map(({ status, body, contentType, requestId }) => {
      const headers: Record<string, string> = {};
      if (contentType !== undefined) headers["content-type"] = contentType;
      const idHeader = requestIdHeader(api);
      if (requestId !== undefined && idHeader) headers[idHeader] = requestId;
      return { status, headers, body };
    });
}

/** Whether the client can parse a body as JSON: UTF-8 text, empty or JSON. */
function parses(body: string | Uint8Array): boolean {
  // Encoding then decoding replaces what the wire cannot carry (lone surrogates) as the server does.
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const text = new TextDecoder().decode(bytes);
  if (text.length === 0) return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function expectTyped(outcome: Outcome, status: number): void {
  if (outcome.kind === "data") return;
  expect(outcome.error).toBeInstanceOf(ImspecError);
  // The scripted server always sends a whole answer at once: no timeout, no broken connection.
  expect(outcome.error).not.toBeInstanceOf(TimeoutError);
  // A 407 is an answer like any other on the node:http transport (fetch alone turns it into a failure).
  expect(outcome.error, `status ${status}`).not.toBeInstanceOf(ConnectionError);
}

for (const api of APIS) {
  describe(api, () => {
    for (const { operationId } of operationsOf(api)) {
      const success = successOf(api, operationId);
      const errors = responsesOf(api, operationId).filter((r) => r.status >= 400);

      test(`${operationId}: a valid success answer is returned as it is`, async () => {
        await fc.assert(
          fc.asyncProperty(successBodies(api, operationId), async (body) => {
            if (body !== undefined && success.schemaPointer) {
              // The generator is checked too: its values must be valid per the spec.
              expect(schemaErrors(api, success.schemaPointer, body)).toEqual([]);
            }
            const outcome = await call(api, operationId, {
              status: success.status,
              headers: body === undefined ? {} : jsonHeaders,
              body: body === undefined ? "" : JSON.stringify(body),
            });
            const { envelope } = entries[api].profile;
            if (isEnvelopeError(api, body)) {
              // The schema's other branch: the error envelope, with the success status.
              expect(outcome.kind).toBe("error");
              const error = (outcome as { error: unknown }).error;
              expect(error).toBeInstanceOf(errorClass(api));
              expect(error).toMatchObject({
                status: success.status,
                code: (body as Json)[envelope?.statusField as string],
                operationId,
              });
              return;
            }
            const wanted = envelope?.resultField && body ? (body as Json)[envelope.resultField] : body;
            expect(outcome).toEqual({ kind: "data", data: wanted });
          }),
          { numRuns: RUNS, seed: SEED },
        );
      });

      test.skipIf(errors.length === 0)(
        `${operationId}: a documented error answer becomes the API's typed error`,
        async () => {
          const cases = fc.oneof(
            ...errors.map((documented) => {
              const schema = schemaOf(api, documented);
              const status = /^\d{3}$/.test(documented.key)
                ? fc.constant(documented.status)
                : fc.integer({ min: documented.status, max: documented.status + 99 });
              const body = schema ? arbitraries[api].of(schema) : fc.constant(undefined);
              return fc.record({
                documented: fc.constant(documented),
                status,
                body,
                headerId: fc.option(fc.uuid(), { nil: undefined }),
              });
            }),
          );
          await fc.assert(
            fc.asyncProperty(cases, async ({ documented, status, body, headerId }) => {
              if (body !== undefined && documented.schemaPointer)
                expect(schemaErrors(api, documented.schemaPointer, body)).toEqual([]);
              const idHeader = requestIdHeader(api);
              const headers: Record<string, string> = body === undefined ? {} : { ...jsonHeaders };
              if (headerId !== undefined && idHeader) headers[idHeader] = headerId;
              const outcome = await call(api, operationId, {
                status,
                headers,
                body: body === undefined ? "" : JSON.stringify(body),
              });
              expect(outcome.kind).toBe("error");
              const error = (outcome as { error: unknown }).error;
              expect(error).toBeInstanceOf(errorClass(api));
              const b = (body ?? {}) as Json;
              expect(error).toMatchObject({
                status,
                code: expectedCode(api, b, status),
                requestId: expectedRequestId(api, b, headerId),
                operationId,
              });
            }),
            { numRuns: RUNS, seed: SEED },
          );
        },
      );

      test(`${operationId}: any answer, however broken, gives data or a typed error`, async () => {
        await fc.assert(
          fc.asyncProperty(brokenAnswers(api, operationId), async (given) => {
            const outcome = await call(api, operationId, given);
            expectTyped(outcome, given.status);
            if (!isOk(given.status)) {
              // Any status outside 2xx is the API's error, with that status.
              expect(outcome.kind).toBe("error");
              const error = (outcome as { error: unknown }).error;
              expect(error).toBeInstanceOf(ApiError);
              expect(error).toBeInstanceOf(errorClass(api));
              expect(error).toMatchObject({ status: given.status, operationId });
              return;
            }
            const sent = NO_BODY_STATUSES.has(given.status) ? "" : given.body;
            if (!parses(sent) && success.schemaPointer) {
              // A 2xx body that is not JSON at all.
              expect(outcome.kind).toBe("error");
              expect((outcome as { error: unknown }).error).toBeInstanceOf(ParseError);
            }
          }),
          { numRuns: RUNS, seed: SEED },
        );
      });
    }
  });
}

test("no call left an unhandled rejection behind", async () => {
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(unhandled?.reasons).toEqual([]);
});
