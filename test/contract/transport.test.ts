/**
 * Answers that are broken on the wire, for every operation of every API of redocly.yaml: each
 * becomes a typed imspec error (an API error, a ParseError or a ConnectionError), never a crash or a
 * hang. Nothing here names an API: clients come from each entry module, expectations from its
 * generated `profile`.
 */
import { ApiError, ConnectionError, type ImspecError, ParseError, type Transport } from "imspec";
import { type MockAnswer, type MockApi, type MockServer, startMockServer } from "imspec/mock";
import { rawClient } from "imspec/raw";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { loadEntries } from "./entries.js";
import { APIS, callOperation, needsUserToken, operationsOf, successOf } from "./support.js";

/** Each API's client factory, error class and profile (test/contract/entries.ts). */
const entries = await loadEntries();
let mock: MockServer;
const clients = {} as Record<MockApi, object>;

beforeAll(async () => {
  mock = await startMockServer();
  for (const api of APIS)
    clients[api] = entries[api].create({
      rateLimit: false,
      baseUrl: mock.urls[api],
      accessToken: mock.issueToken(api),
      retry: false,
    });
});
afterAll(() => mock?.stop());
beforeEach(() => mock.clearScripts());

/** The success example as it goes on the wire, or a stand-in (a success envelope) for operations without one. */
function successText(api: MockApi, operationId: string): string {
  const example = successOf(api, operationId).examples[0];
  if (example) return JSON.stringify(example.value);
  const { envelope } = entries[api].profile;
  const standIn: Record<string, unknown> = {};
  if (envelope) {
    standIn[envelope.statusField] = envelope.successStatus;
    standIn[envelope.messageField] = "ok";
    if (envelope.resultField) standIn[envelope.resultField] = {};
  }
  return JSON.stringify(standIn);
}

const HTML = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";

interface Case {
  name: string;
  answer: (api: MockApi, operationId: string) => MockAnswer;
  expected: (api: MockApi) => abstract new (...args: never[]) => ImspecError;
  check?: (error: ImspecError, api: MockApi) => void;
}

const cases: Case[] = [
  {
    name: "502 with an HTML body",
    answer: () => ({ status: 502, raw: HTML, headers: { "content-type": "text/html" } }),
    expected: (api) => entries[api].ErrorClass,
    check: (error, api) => {
      expect(error).toBeInstanceOf(ApiError);
      // An envelope API's code is the HTTP status when the body has no envelope; otherwise there is none.
      const code = entries[api].profile.envelope ? 502 : undefined;
      expect(error).toMatchObject({ status: 502, api, code });
    },
  },
  {
    name: "an empty body with an error status",
    answer: () => ({ status: 500, raw: "" }),
    expected: (api) => entries[api].ErrorClass,
    check: (error) => expect(error).toMatchObject({ status: 500 }),
  },
  {
    name: "truncated JSON",
    answer: (api, id) => {
      const text = successText(api, id);
      return { raw: text.slice(0, Math.floor(text.length / 2)) };
    },
    expected: () => ParseError,
    check: (error) => expect(error).toMatchObject({ status: 200 }),
  },
  {
    name: "the wrong content type (an HTML page with 200)",
    answer: () => ({ raw: HTML, headers: { "content-type": "text/html;charset=utf-8" } }),
    expected: () => ParseError,
    check: (error) => expect(error.message).toMatch(/not JSON \(text\/html/),
  },
  {
    name: "the connection reset in the middle of the body",
    answer: (api, id) => ({ raw: successText(api, id), drop: "mid-body" }),
    expected: () => ConnectionError,
  },
];

for (const api of APIS) {
  describe(api, () => {
    const ids = operationsOf(api).map((o) => o.operationId);
    for (const c of cases) {
      test.each(ids)(`${c.name} → typed error (%s)`, async (operationId) => {
        mock.script(api, operationId, c.answer(api, operationId));
        // getUser takes the user's own token; an app client refuses to call it without one.
        const options = needsUserToken(api, operationId)
          ? { accessToken: mock.issueToken(api, { kind: "user" }) }
          : {};
        const error = await callOperation(clients[api], api, operationId, options).then(
          (data) => ({ resolved: data }),
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(c.expected(api));
        expect(error).toMatchObject({ operationId });
        c.check?.(error as ImspecError, api);
      });
    }

    // Every answer of an envelope API carries its status: an empty 200 has none (optional or not,
    // the status may be left out of an object only).
    if (entries[api].profile.envelope) {
      test.each(ids)(
        "an empty body with 200 → ParseError: there is no envelope (%s)",
        async (operationId) => {
          mock.script(api, operationId, { raw: "" });
          await expect(callOperation(clients[api], api, operationId)).rejects.toBeInstanceOf(ParseError);
        },
      );
    }
  });
}

// Through raw, a path the spec does not list promises no body, envelope or not: an empty answer
// (a HEAD, a 204) is no data.
describe("raw: an empty answer to a path the spec does not list", () => {
  test.each(APIS)("%s: no data, not a ParseError", async (api) => {
    const transport: Transport = async () => ({ status: 200, headers: {}, body: "" });
    const client = entries[api].create({
      rateLimit: false,
      baseUrl: mock.urls[api],
      accessToken: "given-token",
      retry: false,
      transport,
    });
    const raw = rawClient<Record<string, never>>(client);
    for (const [method, status] of [
      ["HEAD", 200],
      ["DELETE", 200],
    ] as const) {
      const answer = await raw.request(method.toLowerCase() as never, "/not/in/the/spec" as never);
      expect(answer.response.status, `${api} ${method}`).toBe(status);
      expect(answer.data, `${api} ${method}`).toBeUndefined();
    }
  });
});
