/**
 * The contract suite covers the specs exactly: every operation of the bundled spec of every API of
 * redocly.yaml (generated/<api>/openapi.json) has a `contract(…)` test in its `<api>-<tag>.test.ts` file, and
 * every `contract(…)` names an operation that exists. Also: every documented error response has an
 * example, since `contract()` turns each example into a test. The checker is tested first, on specs
 * and sources made up for the purpose, so a check that cannot fail would be noticed.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { registryApis } from "../support/specs.js";
import {
  contractCalls,
  contractCallsIn,
  coverageProblems,
  type FoundCalls,
  type SpecEntry,
} from "./coverage.js";
import { APIS, operationsOf, responsesOf } from "./support.js";

const CONTRACT_DIR = import.meta.dirname;

/** Every operation of every API of redocly.yaml: an API whose spec is not bundled throws, it is not skipped. */
function specEntries(apis: readonly string[] = APIS): SpecEntry[] {
  return apis.flatMap((api) =>
    operationsOf(api as (typeof APIS)[number]).map(({ operationId, tag }) => ({ api, operationId, tag })),
  );
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
    // Compared with what the suite lacks already (the suite test below reports that), one more.
    const found = contractCallsIn(CONTRACT_DIR);
    const before = coverageProblems(specEntries(), found);
    const extended = [...specEntries(), { api: "dingtalk", operationId: "fakeOperation", tag: "contact" }];
    const problems = coverageProblems(extended, found).filter((p) => !before.includes(p));
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

describe("the APIs it covers come from redocly.yaml", () => {
  test("a new API in the registry without a contract file fails the check, naming the calls to add", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "imspec-registry-"));
    try {
      const file = path.join(dir, "redocly.yaml");
      writeFileSync(
        file,
        "apis:\n  dingtalk:\n    root: a.yaml\n  zulip:\n    root: z.yaml\n  workplus:\n    root: b.yaml\n",
      );
      expect(registryApis(file)).toEqual(["dingtalk", "workplus", "zulip"]);
      const spec = [
        // Every API the real registry has (their contract files exist), plus the new one.
        ...specEntries(),
        { api: "zulip", operationId: "listStreams", tag: "streams" },
      ];
      const problems = coverageProblems(spec, contractCallsIn(CONTRACT_DIR));
      // The new API's problem, named; (a copy of the repository may lack other contracts: not this test's).
      expect(problems.filter((p) => p.includes("zulip"))).toEqual([
        'zulip listStreams has no contract test: add contract(current, "zulip", "listStreams", …) to zulip-streams.test.ts',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an API of the registry whose spec is not bundled is an error, not an API with nothing to test", () => {
    expect(() => specEntries(["not-generated"])).toThrow(
      /generated\/not-generated\/openapi.json is missing: redocly.yaml lists not-generated; run npm run generate/,
    );
  });

  test("the suite covers exactly the APIs of redocly.yaml", () => {
    expect(APIS).toEqual(registryApis());
    expect(APIS.length).toBeGreaterThan(0);
  });
});

describe("the contract suite", () => {
  test("has a contract test for every operation of every API of redocly.yaml, and none for operations they lack", () => {
    const spec = specEntries();
    for (const api of APIS) expect(spec.filter((o) => o.api === api).length, api).toBeGreaterThan(0);
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
