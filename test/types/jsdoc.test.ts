import path from "node:path";
import { Project, SyntaxKind } from "ts-morph";
import { expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** What an editor shows when hovering a client method: the spec's summary and description. */
it("client methods carry the spec's summary and description as JSDoc", () => {
  const project = new Project({
    tsConfigFilePath: path.join(ROOT, "tsconfig.json"),
    skipAddingFilesFromTsConfig: true,
  });
  const file = project.createSourceFile(
    path.join(ROOT, "test-output/jsdoc-probe.ts"),
    [
      'import { createDingTalk } from "imspec/dingtalk";',
      'import { createWorkPlus } from "imspec/workplus";',
      "const dt = createDingTalk({ accessToken: 't' });",
      "const wp = createWorkPlus({ baseUrl: 'https://x', accessToken: 't' });",
      "dt.contact.listSeniorSettings;",
      "wp.apps.listAdmins;",
    ].join("\n"),
    { overwrite: true },
  );
  const docs = file
    .getDescendantsOfKind(SyntaxKind.PropertyAccessExpression)
    .filter((p) => ["listSeniorSettings", "listAdmins"].includes(p.getName()))
    .map((p) => {
      const symbol = p.getNameNode().getSymbolOrThrow();
      return symbol.compilerSymbol
        .getDocumentationComment(project.getTypeChecker().compilerObject)
        .map((d) => d.text)
        .join("");
    });
  expect(docs[0]).toContain("获取用户高管模式设置");
  expect(docs[0]).toContain("`GET /v1.0/contact/seniorSettings`");
  expect(docs[0]).toContain("official SDK: `ListSeniorSettings`");
  expect(docs[1]).toContain("应用管理员信息");
  expect(docs[1]).toContain("`GET /v1/apps/{appId}/admins`");
});
