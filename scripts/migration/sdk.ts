/**
 * Reads the official DingTalk SDK (`@alicloud/dingtalk`, a devDependency) the way a migrating user
 * meets it: the `XxxWithOptions` method of one product module's Client (its parameters, in order) and
 * the fields of each `XxxRequest` class. Read from the SDK's own declaration files, so the guide
 * names only what the installed version has, and a renamed or removed SDK member shows up as a
 * changed guide.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import ts from "typescript";

export interface SdkParameter {
  name: string;
  type: string;
}

export interface SdkModule {
  /** `@alicloud/dingtalk`'s version. */
  version: string;
  /** The product module, e.g. `contact_1_0` (`@alicloud/dingtalk/contact_1_0`). */
  module: string;
  /** Client methods by name (`listSeniorSettingsWithOptions`) → parameters in order. */
  methods: Map<string, SdkParameter[]>;
  /** Exported classes by name (`ListSeniorSettingsRequest`) → their instance property names. */
  classes: Map<string, string[]>;
}

const require = createRequire(import.meta.url);

/** Parses the declarations of one module of the SDK, e.g. `contact_1_0`. */
export function readSdkModule(module: string): SdkModule {
  const root = path.dirname(require.resolve("@alicloud/dingtalk/package.json"));
  const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
    version: string;
  };
  const file = path.join(root, "dist", module, "client.d.ts");
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false);
  const methods = new Map<string, SdkParameter[]>();
  const classes = new Map<string, string[]>();
  for (const statement of source.statements) {
    if (!ts.isClassDeclaration(statement) || !statement.name) continue;
    const isClient = statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword) ?? false;
    const properties: string[] = [];
    for (const member of statement.members) {
      const name = member.name && ts.isIdentifier(member.name) ? member.name.text : undefined;
      if (!name) continue;
      const isStatic = ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Static;
      if (ts.isPropertyDeclaration(member) && !isStatic) properties.push(name);
      if (isClient && ts.isMethodDeclaration(member)) {
        methods.set(
          name,
          member.parameters.map((p) => ({
            name: p.name.getText(source),
            type: p.type ? p.type.getText(source) : "any",
          })),
        );
      }
    }
    if (!isClient) classes.set(statement.name.text, properties);
  }
  return { version, module, methods, classes };
}
