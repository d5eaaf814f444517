/**
 * Answers that are broken on the wire, for every operation of both APIs: each becomes a typed
 * imspec error (an API error, a ParseError or a ConnectionError), never a crash or a hang.
 */
import { ApiError, ConnectionError, createDingTalk, type ImspecError, ParseError } from "imspec/dingtalk";
import { type MockAnswer, type MockApi, type MockServer, startMockServer } from "imspec/mock";
import { createWorkPlus } from "imspec/workplus";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { APIS, callOperation, needsUserToken, operationsOf, successOf } from "./support.js";

let mock: MockServer;
/**
 * The two dialects these suites know how to check answer by answer (a plain error body; an
 * envelope with its result): a sample, not the list of APIs, which the contract files cover each.
 */
const SAMPLE = ["dingtalk", "workplus"] as const;
const clients: Record<(typeof SAMPLE)[number], object> = { dingtalk: {}, workplus: {} };

beforeAll(async () => {
  mock = await startMockServer();
  clients.dingtalk = createDingTalk({
    rateLimit: false,
    baseUrl: mock.urls.dingtalk,
    accessToken: mock.issueToken("dingtalk"),
    retry: false,
  });
  clients.workplus = createWorkPlus({
    baseUrl: mock.urls.workplus,
    accessToken: mock.issueToken("workplus"),
    retry: false,
  });
});
afterAll(() => mock?.stop());
beforeEach(() => mock.clearScripts());

/** The success example as it goes on the wire, or a stand-in for operations without a body. */
function successText(api: MockApi, operationId: string): string {
  const example = successOf(api, operationId).examples[0];
  return JSON.stringify(example?.value ?? { status: 0, message: "ok", result: {} });
}

const HTML = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";

interface Case {
  name: string;
  answer: (api: MockApi, operationId: string) => MockAnswer;
  expected: (api: MockApi) => new (...args: never[]) => ImspecError;
  check?: (error: ImspecError, api: MockApi) => void;
}

const cases: Case[] = [
  {
    name: "502 with an HTML body",
    answer: () => ({ status: 502, raw: HTML, headers: { "content-type": "text/html" } }),
    expected: () => ApiError,
    check: (error, api) => {
      expect(error).toMatchObject({ status: 502, api });
      if (api === "workplus") expect(error).toMatchObject({ code: 502 });
    },
  },
  {
    name: "an empty body with an error status",
    answer: () => ({ status: 500, raw: "" }),
    expected: () => ApiError,
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

for (const api of SAMPLE) {
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

    if (api === "workplus") {
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
