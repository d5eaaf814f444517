import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { operations } from "../../generated/dingtalk/operations.js";
import {
  buildGuide,
  GUIDE_PATH,
  type GuideOperation,
  guideOperations,
  literal,
  renderGuide,
  sdkModuleOf,
} from "../../scripts/migration/guide.js";
import { readSdkModule } from "../../scripts/migration/sdk.js";
import { ROOT } from "../support/repo-copy.js";

const guide = buildGuide();
/** The operations the guide covers, as the spec and the operation table give them. */
const covered = guideOperations(
  JSON.parse(readFileSync(path.join(ROOT, "generated/dingtalk/openapi.json"), "utf8")) as Record<
    string,
    unknown
  >,
  operations as unknown as Parameters<typeof guideOperations>[1],
);
const inGit = (() => {
  try {
    execFileSync("git", ["ls-files", "--error-unmatch", GUIDE_PATH], { cwd: ROOT, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe(GUIDE_PATH, () => {
  it("is up to date with the spec, the operation table and the installed SDK", () => {
    const committed = readFileSync(path.join(ROOT, GUIDE_PATH), "utf8");
    // On failure: `npm run migration:docs` rewrites the guide.
    expect(committed === guide, `${GUIDE_PATH} is stale: run npm run migration:docs`).toBe(true);
  });

  // `npm run build` rewrites the guide, so in CI (drift gate, build, test) the working copy is always
  // fresh: what must be fresh is the guide git holds. The index, so a staged guide counts as committed.
  it.skipIf(!inGit)("is up to date in git (staged or committed), not only in the working copy", () => {
    const held = execFileSync("git", ["show", `:${GUIDE_PATH}`], { cwd: ROOT, encoding: "utf8" });
    expect(
      held === guide,
      `${GUIDE_PATH} in git is stale: run npm run migration:docs (or npm run build) and commit it`,
    ).toBe(true);
  });

  it("has one section for each operation with an SDK counterpart, under the SDK's own names", () => {
    const sections = [...guide.matchAll(/^### (\w+)$/gm)].map((m) => m[1]);
    expect(sections).toEqual(covered.map((op) => op.operationId));
    for (const name of [
      "UpdateDeptSettngTailFirst",
      "UpdateEmpAttrbuteVisibilitySetting",
      "ListSeniorSettings",
    ]) {
      expect(guide).toContain(`official name \`${name}\``);
    }
    expect(guide).toContain(
      "client.updateDeptSettngTailFirstWithOptions(request, headers, new $Util.RuntimeOptions({}))",
    );
    expect(guide).toContain('client.getUserWithOptions("z21HjQliSzpw0Yxxxx", headers,');
    expect(guide).toContain("client.getLatestDingIndexWithOptions(headers, new $Util.RuntimeOptions({}))");
  });

  it("names only SDK members that exist in the installed @alicloud/dingtalk", () => {
    const sdk = readSdkModule("contact_1_0");
    for (const [, name] of guide.matchAll(/client\.(\w+WithOptions)\(/g))
      expect(sdk.methods.has(name as string)).toBe(true);
    for (const [, name] of guide.matchAll(/\$dingtalkcontact_1_0\.(\w+)\(/g)) {
      expect(sdk.classes.has(name as string), name).toBe(true);
    }
  });

  it("shows imspec calls that type-check against the client", () => {
    const blocks = [...guide.matchAll(/^imspec:\n\n```ts\n([\s.\S]*?)\n```$/gm)].map((m) => m[1] as string);
    expect(blocks).toHaveLength(covered.length);
    const dir = mkdtempSync(path.join(tmpdir(), "imspec-guide-"));
    try {
      const file = path.join(dir, "guide.mts");
      const entry = path.join(ROOT, "src/dingtalk/index.js");
      writeFileSync(
        file,
        [
          `import { createDingTalk } from ${JSON.stringify(entry)};`,
          "declare const userAccessToken: string;",
          'const dt = createDingTalk({ rateLimit: false, appKey: "ding", appSecret: "secret" });',
          ...blocks.map((code, i) => `export async function example${i}() {\n${code}\n}`),
        ].join("\n"),
      );
      const config = ts.getParsedCommandLineOfConfigFile(
        path.join(ROOT, "tsconfig.json"),
        {},
        {
          ...ts.sys,
          onUnRecoverableConfigFileDiagnostic: () => {},
        },
      );
      const program = ts.createProgram([file], { ...config?.options, noEmit: true, noUnusedLocals: false });
      const problems = ts
        .getPreEmitDiagnostics(program)
        .filter((d) => d.file?.fileName === file)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      expect(problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("renderGuide", () => {
  it("names one SDK client per module when the guide needs several, and passes a user token to every page", () => {
    const contact = covered[0] as GuideOperation;
    const todo: GuideOperation = {
      operationId: "queryOrgTodoTasks",
      sdkOperation: "QueryOrgTodoTasks",
      summary: "The org's to-do tasks of a user",
      method: "POST",
      path: "/v1.0/todo/users/{unionId}/org/tasks/query",
      params: [
        ["unionId", "u1"],
        ["isDone", false],
        ["nextToken", "0"],
      ],
      row: {
        method: "POST",
        path: "/v1.0/todo/users/{unionId}/org/tasks/query",
        tag: "todo",
        params: { unionId: "path", isDone: "body", nextToken: "body" },
        token: "user",
        pagination: { itemsField: "todoCards", cursorParam: "nextToken" },
      },
    };
    const sdks = new Map(["contact_1_0", "todo_1_0"].map((m) => [m, readSdkModule(m)] as const));
    const text = renderGuide([contact, todo], sdks);
    expect(text.match(/^const \w+ = new dingtalk\w+\(config\);$/gm)).toEqual([
      "const contact10Client = new dingtalkcontact_1_0(config);",
      "const todo10Client = new dingtalktodo_1_0(config);",
    ]);
    expect(text).not.toMatch(/^const client = /m);
    expect(text).toContain(
      `contact10Client.${contact.sdkOperation.replace(/^./, (c) => c.toLowerCase())}WithOptions(`,
    );
    expect(text).toContain('todo10Client.queryOrgTodoTasksWithOptions("u1", request, headers,');
    expect(text).toContain(
      'for await (const item of dt.todo.queryOrgTodoTasks.iterate({ unionId: "u1", isDone: false }, { accessToken: userAccessToken })) console.log(item);',
    );
  });
});

describe("sdkModuleOf", () => {
  it.each([
    ["/v1.0/contact/seniorSettings", "contact_1_0"],
    ["/v1.0/oauth2/accessToken", "oauth2_1_0"],
    ["/v2.0/contact/users/{id}", "contact_2_0"],
  ])("%s → %s", (pathname, module) => {
    expect(sdkModuleOf(pathname)).toBe(module);
  });

  it("refuses a path without a version and product", () => {
    expect(() => sdkModuleOf("/topapi/v2/user/get")).toThrow(/not a \/vN.N/);
  });
});

describe("literal", () => {
  it.each<[Array<[string, unknown]>, string]>([
    [[], "{}"],
    [[["enable", true]], "{ enable: true }"],
    [[["hideFields", ["a", "b"]]], '{ hideFields: ["a", "b"] }'],
    [[["x-key", 1]], '{ "x-key": 1 }'],
    [
      [
        ["seniorStaffId", "013349365367-1094322561"],
        ["permitStaffIds", ["manager8723", "manager8724"]],
        ["open", true],
      ],
      '{\n  seniorStaffId: "013349365367-1094322561",\n  permitStaffIds: ["manager8723", "manager8724"],\n  open: true,\n}',
    ],
  ])("%j → %s", (entries, want) => {
    expect(literal(entries)).toBe(want);
  });
});
