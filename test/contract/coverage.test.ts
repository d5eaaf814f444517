/**
 * The contract suite covers the specs exactly: every operation of both bundled specs
 * (generated/<api>/openapi.json) has a `contract(…)` test in its `<api>-<tag>.test.ts` file, and
 * every `contract(…)` names an operation that exists. Also: every documented error response has an
 * example, since `contract()` turns each example into a test. The checker is tested first, on specs
 * and sources made up for the purpose, so a check that cannot fail would be noticed.
 */
import { describe, expect, test } from "vitest";
import {
  contractCalls,
  contractCallsIn,
  coverageProblems,
  type FoundCalls,
  type SpecEntry,
} from "./coverage.js";
import { APIS, operationsOf, responsesOf } from "./support.js";

const CONTRACT_DIR = import.meta.dirname;

function specEntries(): SpecEntry[] {
  return APIS.flatMap((api) => operationsOf(api).map(({ operationId, tag }) => ({ api, operationId, tag })));
}

describe("the checker", () => {
  const spec: SpecEntry[] = [
    { api: "dingtalk", operationId: "getUser", tag: "contact" },
    { api: "workplus", operationId: "listAdmins", tag: "apps" },
  ];
  const covered: FoundCalls = {
    calls: [
      { file: "dingtalk-contact.test.ts", line: 3, api: "dingtalk", operationId: "getUser" },
      { file: "workplus-apps.test.ts", line: 5, api: "workplus", operationId: "listAdmins" },
    ],
    uncheckable: [],
  };

  test("finds nothing wrong when each operation has its contract", () => {
    expect(coverageProblems(spec, covered)).toEqual([]);
  });

  test("reports an operation of the spec without a contract test", () => {
    const extended = [...spec, { api: "workplus", operationId: "deleteEverything", tag: "apps" }];
    expect(coverageProblems(extended, covered)).toEqual([
      'workplus deleteEverything has no contract test: add contract(current, "workplus", "deleteEverything", …) to workplus-apps.test.ts',
    ]);
  });

  test("reports the real suite as incomplete against a spec with one more operation", () => {
    const extended = [...specEntries(), { api: "dingtalk", operationId: "fakeOperation", tag: "contact" }];
    const problems = coverageProblems(extended, contractCallsIn(CONTRACT_DIR));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^dingtalk fakeOperation has no contract test/);
  });

  test("reports a contract for an operation the spec does not have", () => {
    const found: FoundCalls = {
      ...covered,
      calls: [
        ...covered.calls,
        { file: "dingtalk-contact.test.ts", line: 40, api: "dingtalk", operationId: "getUsr" },
      ],
    };
    expect(coverageProblems(spec, found)).toEqual([
      "dingtalk-contact.test.ts:40: contract() tests dingtalk getUsr, which is not an operation of the dingtalk spec",
    ]);
  });

  test("reports a contract in another file than its API and tag's", () => {
    const found: FoundCalls = {
      calls: [
        { file: "dingtalk-oauth2.test.ts", line: 9, api: "dingtalk", operationId: "getUser" },
        { file: "workplus-apps.test.ts", line: 5, api: "workplus", operationId: "listAdmins" },
      ],
      uncheckable: [],
    };
    expect(coverageProblems(spec, found)).toEqual([
      "dingtalk-oauth2.test.ts:9: the contract of dingtalk getUser belongs in dingtalk-contact.test.ts",
    ]);
  });

  test("reads contract() calls from source, not from comments or strings", () => {
    const source = [
      'import { contract } from "./support.js";',
      '// contract(current, "dingtalk", "commentedOut", (o) => call(o));',
      '/* contract(current, "dingtalk", "blockComment", (o) => call(o)); */',
      'const text = \'contract(current, "dingtalk", "inAString", (o) => call(o))\';',
      'describe("contact.getUser", () => {',
      "  contract(",
      "    current,",
      '    "dingtalk",',
      '    "getUser",',
      '    (o) => dt.contact.getUser({ unionId: "me" }, o),',
      "  );",
      '  contract(current, `workplus`, `listAdmins`, (o) => wp.apps.listAdmins({ appId: "a" }, o));',
      "});",
    ].join("\n");
    expect(contractCalls("dingtalk-contact.test.ts", source)).toEqual({
      calls: [
        { file: "dingtalk-contact.test.ts", line: 6, api: "dingtalk", operationId: "getUser" },
        { file: "dingtalk-contact.test.ts", line: 12, api: "workplus", operationId: "listAdmins" },
      ],
      uncheckable: [],
    });
  });

  test("reports a contract() whose API or operationId is computed: it cannot be checked", () => {
    const source = 'for (const id of ids) contract(current, "dingtalk", id, (o) => call(id, o));\n';
    const found = contractCalls("dingtalk-contact.test.ts", source);
    expect(found.calls).toEqual([]);
    expect(coverageProblems([], found)).toEqual([
      'dingtalk-contact.test.ts:1: contract(current, "dingtalk", id, (o) => call(id, o)) — the API and operationId must be string literals for the coverage check',
    ]);
  });
});

describe("the contract suite", () => {
  test("has a contract test for every operation of both specs, and none for operations they lack", () => {
    const spec = specEntries();
    expect(spec.filter((o) => o.api === "dingtalk").length).toBeGreaterThan(0);
    expect(spec.filter((o) => o.api === "workplus").length).toBeGreaterThan(0);
    const found = contractCallsIn(CONTRACT_DIR);
    expect(coverageProblems(spec, found)).toEqual([]);
  });

  test("every documented error response has an example for contract() to answer with", () => {
    const missing = APIS.flatMap((api) =>
      operationsOf(api).flatMap(({ operationId }) =>
        responsesOf(api, operationId)
          .filter((r) => r.status >= 400 && r.examples.length === 0)
          .map((r) => `${api} ${operationId} ${r.key}`),
      ),
    );
    expect(missing).toEqual([]);
  });
});
