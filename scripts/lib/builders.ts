import { createRequire } from "node:module";
import type {
  ImportDeclarationStructure,
  InterfaceDeclarationStructure,
  OptionalKind,
  PropertySignatureStructure,
  StatementStructures,
  VariableStatementStructure,
} from "ts-morph";
import type { ApiInfo, OperationInfo } from "./extract.js";

type TsMorph = typeof import("ts-morph");
let loaded: TsMorph | undefined;
/**
 * ts-morph, loaded on first use (a run that stops before the operations step never pays for it),
 * with require: it is CommonJS, and an import would make Node scan its source for exports first.
 */
function tsMorph(): TsMorph {
  loaded ??= createRequire(import.meta.url)("ts-morph") as TsMorph;
  return loaded;
}

/**
 * Small pure builders from the extracted data to ts-morph structures, and one `print` that turns
 * the structures into text. Each builder's JSDoc shows a sample of what it emits.
 */

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * A key as an object literal spells it. `__proto__`, bare or quoted, would set the object's
 * prototype instead of a property (and a number there is dropped without a word): it is computed.
 */
function propertyName(key: string): string {
  if (key === "__proto__") return '["__proto__"]';
  return IDENTIFIER.test(key) ? key : JSON.stringify(key);
}

/** `{ a: 1, "b-c": [true] }`: a deterministic TypeScript literal for plain JSON-like data. */
export function literal(value: unknown, indent = ""): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (value.every((v) => v === null || typeof v !== "object"))
      return `[${value.map((v) => literal(v)).join(", ")}]`;
    return `[\n${value.map((v) => `${inner}${literal(v, inner)},`).join("\n")}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return "{}";
  const lines = entries.map(([k, v]) => `${inner}${propertyName(k)}: ${literal(v, inner)},`);
  return `{\n${lines.join("\n")}\n${indent}}`;
}

/** `GetUser` → `GetUser`, `oauth2` → `Oauth2`. */
export function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function escapeDoc(text: string): string {
  return text.replace(/\*\//g, "*\\/").trim();
}

/**
 * The JSDoc of one method: summary, description, then a line of facts.
 * @example
 * 获取用户高管模式设置 (Get an employee's executive-mode settings)
 *
 * `GET /v1.0/contact/seniorSettings` · token: app · official SDK: `ListSeniorSettings`
 */
export function operationDoc(op: OperationInfo): string {
  const parts: string[] = [];
  if (op.summary) parts.push(escapeDoc(op.summary));
  if (op.description) parts.push(escapeDoc(op.description));
  const facts = [`\`${op.method} ${op.path}\``, `token: ${op.token}`];
  if (op.sdkOperation) facts.push(`official SDK: \`${op.sdkOperation}\``);
  if (op.pagination) facts.push(`paginated by \`${op.pagination.cursorParam}\``);
  // A path may hold `*/` (`*` is a URL path character), and so may an SDK name: escaped as the prose is.
  parts.push(escapeDoc(facts.join(" · ")));
  if (op.deprecated) parts.push("@deprecated See the spec's description.");
  return parts.join("\n\n");
}

/**
 * The runtime row of one operation.
 * @example
 * { method: "GET", path: "/v1.0/contact/seniorSettings", tag: "contact",
 *   params: { seniorStaffId: "query" }, idempotent: true, token: "app" }
 */
export function operationRow(op: OperationInfo): Record<string, unknown> {
  return {
    method: op.method,
    path: op.path,
    tag: op.tag,
    params: Object.fromEntries(op.params.map((p) => [p.name, p.in])),
    ...(op.success.hasBody ? {} : { noBody: true }),
    ...(op.success.optionalBody ? { optionalBody: true } : {}),
    ...(op.openBody ? { openBody: true } : {}),
    idempotent: op.idempotent,
    token: op.token,
    ...(op.pagination ? { pagination: op.pagination } : {}),
    ...(op.rateLimits ? { rateLimits: op.rateLimits } : {}),
  };
}

/**
 * The params type of one operation: the intersection of its parameter sources as
 * openapi-typescript typed them.
 * @example
 * NonNullable<Schema["listSeniorSettings"]["parameters"]["query"]>
 */
export function paramsType(op: OperationInfo): string {
  const base = `Schema[${JSON.stringify(op.operationId)}]`;
  const parts: string[] = [];
  for (const source of ["path", "query", "header"] as const) {
    if (op.sources[source]) parts.push(`NonNullable<${base}["parameters"][${JSON.stringify(source)}]>`);
  }
  if (op.sources.body) parts.push(`NonNullable<${base}["requestBody"]>["content"]["application/json"]`);
  return parts.length ? parts.join(" & ") : "Record<string, never>";
}

/**
 * The result type of one operation: the success body, unwrapped from the envelope if the API has one.
 * @example
 * Schema["listSeniorSettings"]["responses"][200]["content"]["application/json"]
 * EnvelopeResult<SuccessBranch<Schema["listAdmins"]["responses"][200]["content"]["application/json"], "status", 0, false>, "result">
 * SuccessBranch<Schema["getUser"]["responses"][200]["content"]["application/json"], "errcode", 0, true>
 */
export function resultType(op: OperationInfo, api: ApiInfo): string {
  if (!op.success.hasBody) return "void";
  let body = `Schema[${JSON.stringify(op.operationId)}]["responses"][${op.success.status}]["content"]["application/json"]`;
  if (api.envelope) {
    const { statusField, resultField, successStatus, statusOptional } = api.envelope;
    body = `${SUCCESS_BRANCH}<${body}, ${JSON.stringify(statusField)}, ${successStatus}, ${statusOptional === true}>`;
    // Not `[…]["result"]`: a body that declares no result field (one object, its status any
    // integer) would make the generated file fail to compile.
    if (resultField) body = `${ENVELOPE_RESULT}<${body}, ${JSON.stringify(resultField)}>`;
  }
  return op.success.optionalBody ? `${body} | undefined` : body;
}

const SUCCESS_BRANCH = "SuccessBranch";
const ENVELOPE_RESULT = "EnvelopeResult";

/**
 * The branches of an envelope body that the client reads as a success (src/core/engine.ts): the
 * status is exactly the success value or, where the envelope lets it be left out, absent; with none
 * (one object whose status is `0 | 1`, say), the whole body, as the client returns it and spec:diff
 * reads it. Not `Extract<Body, { status?: 0 }>`: a branch without the status field is no match for that.
 * @example
 * type SuccessBranch<Body, Field extends string, Ok, Optional extends boolean> = [SuccessBranches<…>] extends [never] ? Body : SuccessBranches<…>;
 */
function successBranch(): StatementStructures[] {
  const typeParameters = [
    { name: "Body" },
    { name: "Field", constraint: "string" },
    { name: "Ok" },
    { name: "Optional", constraint: "boolean" },
  ];
  const branches = "SuccessBranches<Body, Field, Ok, Optional>";
  return [
    {
      kind: tsMorph().StructureKind.TypeAlias,
      name: "SuccessBranches",
      docs: ["The branches of an envelope body whose `Field` is exactly `Ok` or, where `Optional`, absent."],
      typeParameters,
      type: [
        "Body extends unknown",
        "? Field extends keyof Body",
        "  ? [Exclude<Body[Field], undefined>] extends [Ok] ? Body : never",
        "  : Optional extends true ? Body : never",
        ": never",
      ].join("\n"),
    },
    {
      kind: tsMorph().StructureKind.TypeAlias,
      name: SUCCESS_BRANCH,
      isExported: true,
      docs: [
        "What the client returns of an envelope body: the branches it reads as a success, or the whole body when no branch says so.",
      ],
      typeParameters,
      type: `[${branches}] extends [never] ? Body : ${branches}`,
    },
  ];
}

/**
 * The envelope's result field of each success branch, as the client reads it (`body[resultField]`):
 * `undefined` for a branch that declares no such field, anything for a body of unknown shape.
 */
function envelopeResult(): StatementStructures {
  return {
    kind: tsMorph().StructureKind.TypeAlias,
    name: ENVELOPE_RESULT,
    isExported: true,
    docs: [
      "The envelope's `Field` of each branch of `Body`, as the client reads it: `undefined` where a branch declares no such field.",
    ],
    typeParameters: [{ name: "Body" }, { name: "Field", constraint: "string" }],
    type: [
      "unknown extends Body",
      "? unknown",
      ": Body extends unknown",
      "  ? Field extends keyof Body ? Body[Field] : undefined",
      "  : never",
    ].join("\n"),
  };
}

function errorsType(op: OperationInfo, api: ApiInfo): string {
  const values = api.envelope ? op.statusCodes.map(String) : op.errorCodes.map((e) => JSON.stringify(e.code));
  return values.length ? [...new Set(values)].join(" | ") : "never";
}

/**
 * One tag's interface: each operation's params, result and documented error codes.
 * @example
 * export interface ContactOperations {
 *   /** 获取用户高管模式设置 … *\/
 *   listSeniorSettings: { params: …; result: …; errors: "parameter.error" | "system.error" };
 * }
 */
export function tagInterface(tag: ApiInfo["tags"][number], api: ApiInfo): InterfaceDeclarationStructure {
  const properties: OptionalKind<PropertySignatureStructure>[] = api.operations
    .filter((op) => op.tag === tag.name)
    .map((op) => ({
      name: op.operationId,
      docs: [operationDoc(op)],
      type: `{\n  params: ${paramsType(op)};\n  result: ${resultType(op, api)};\n  errors: ${errorsType(op, api)};\n}`,
    }));
  const docs = [tag.displayName, tag.description].filter((d): d is string => !!d).map(escapeDoc);
  return {
    kind: tsMorph().StructureKind.Interface,
    name: `${pascal(tag.name)}Operations`,
    isExported: true,
    docs: [
      docs.length
        ? `${docs.join("\n\n")}\n\nOperations of the \`${tag.name}\` tag.`
        : `Operations of the \`${tag.name}\` tag.`,
    ],
    properties,
  };
}

function constant(name: string, value: string, doc: string): VariableStatementStructure {
  return {
    kind: tsMorph().StructureKind.VariableStatement,
    isExported: true,
    declarationKind: tsMorph().VariableDeclarationKind.Const,
    docs: [doc],
    declarations: [{ name, initializer: value }],
  };
}

/**
 * Everything `src/core` needs to know about the API besides its operations, from the x-imspec-*
 * extensions (scripts/README.md).
 * @example
 * { api: "workplus", servers: ["https://{host}"], auth: { in: "query", name: "access_token" },
 *   envelope: { statusField: "status", … }, errors: { code: ["status"], … }, tokens: [ … ], rateLimits: [] }
 */
export function profileOf(name: string, api: ApiInfo): Record<string, unknown> {
  return {
    api: name,
    servers: api.servers,
    auth: api.auth,
    envelope: api.envelope,
    errors: api.errors,
    tokens: api.tokens,
    rateLimits: api.rateLimits,
  };
}

/** All statements of `generated/<api>/operations.ts`. */
export function operationsFile(api: ApiInfo, name: string): StatementStructures[] {
  const imports: ImportDeclarationStructure = {
    kind: tsMorph().StructureKind.ImportDeclaration,
    isTypeOnly: true,
    moduleSpecifier: "./schema.js",
    namedImports: [{ name: "operations", alias: "Schema" }],
  };
  const statements: StatementStructures[] = [imports];
  if (api.envelope) statements.push(...successBranch());
  if (api.envelope?.resultField) statements.push(envelopeResult());
  statements.push(constant("title", `${JSON.stringify(api.title)} as const`, "The spec's `info.title`."));
  statements.push(
    constant(
      "servers",
      `${literal(api.servers)} as const`,
      "The spec's server URLs; the first is the default base URL.",
    ),
  );
  statements.push(
    constant(
      "profile",
      `${literal(profileOf(name, api))} as const`,
      "What this API is besides its operations: where the token goes, how it is obtained, how errors look, which codes mean what, and the documented call budgets (the spec's x-imspec-* extensions). `src/core` reads it.",
    ),
  );
  if (api.statusCodes.length) {
    statements.push(
      constant(
        "statusCodes",
        `${literal(Object.fromEntries(api.statusCodes.map((c) => [c.name, c.status])))} as const`,
        "The documented non-zero envelope statuses (`x-imspec-status-codes`), by name.",
      ),
    );
    statements.push(
      constant(
        "statusMessages",
        `${literal(Object.fromEntries(api.statusCodes.map((c) => [String(c.status), c.description ? `${c.message} ${c.description}`.trim() : c.message])))} as const`,
        "What each documented envelope status means, as the docs say it.",
      ),
    );
  }
  const rows = Object.fromEntries(api.operations.map((op) => [op.operationId, operationRow(op)]));
  statements.push(
    constant(
      "operations",
      `${literal(rows)} as const`,
      "The operation table: one row per operationId with method, path, tag, where each parameter goes, the success status, whether a retry is safe and which token it needs. `src/core/methods.ts` turns it into methods.",
    ),
  );
  for (const tag of api.tags) statements.push(tagInterface(tag, api));
  statements.push({
    kind: tsMorph().StructureKind.Interface,
    name: "Operations",
    isExported: true,
    docs: ["Every tag's operations, keyed by tag: the shape of the client's method groups."],
    properties: api.tags.map((tag) => ({ name: tag.name, type: `${pascal(tag.name)}Operations` })),
  });
  statements.push({
    kind: tsMorph().StructureKind.TypeAlias,
    name: "OperationId",
    isExported: true,
    type: "keyof typeof operations",
  });
  return statements;
}

let project: InstanceType<TsMorph["Project"]> | undefined;
let printed = 0;

/** Prints statements with fixed formatting settings: the same structures always give the same bytes. */
export function print(statements: StatementStructures[], header: string): string {
  const { IndentationText, Project, QuoteKind } = tsMorph();
  project ??= new Project({
    useInMemoryFileSystem: true,
    skipLoadingLibFiles: true,
    manipulationSettings: {
      indentationText: IndentationText.TwoSpaces,
      quoteKind: QuoteKind.Double,
      useTrailingCommas: true,
      insertSpaceAfterOpeningAndBeforeClosingNonemptyBraces: true,
    },
  });
  // A fresh file name each time: the formatter's language service caches by name.
  const file = project.createSourceFile(`out-${printed++}.ts`, { statements });
  // TypeScript's own formatter, with fixed settings: re-indents the literal initializers.
  file.formatText({ indentSize: 2, tabSize: 2, convertTabsToSpaces: true, ensureNewLineAtEndOfFile: true });
  const text = file.getFullText();
  project.removeSourceFile(file);
  return `${header}\n${text.endsWith("\n") ? text : `${text}\n`}`;
}
