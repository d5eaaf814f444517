/**
 * docs/migrating-from-alicloud-dingtalk.md, rendered from:
 *   - the bundled DingTalk spec (generated/dingtalk/openapi.json): each operation's `x-sdk-operation`
 *     (the official SDK's name for it), summary, parameters and their examples;
 *   - the operation table (generated/dingtalk/operations.ts): method group, token kind, pagination;
 *   - the installed `@alicloud/dingtalk` declarations (./sdk.ts): the real `XxxWithOptions`
 *     parameters and `XxxRequest` fields.
 * `renderGuide` is pure; `buildGuide` reads the three inputs. The prose around the operation
 * sections is written here once; everything per operation comes from the inputs.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { operations as table } from "../../generated/dingtalk/operations.js";
import { DEFAULT_TIMEOUT_MS } from "../../src/core/client.js";
import { RETRY_DEFAULTS } from "../../src/core/retry.js";
import { bodyExample, parameterExample } from "../docs/examples.js";
import { deref } from "../lib/extract.js";
import { SpecError } from "../lib/problems.js";
import { ROOT } from "../lib/registry.js";
import { readSdkModule, type SdkModule } from "./sdk.js";

export const GUIDE_PATH = "docs/migrating-from-alicloud-dingtalk.md";
const SPEC_PATH = "generated/dingtalk/openapi.json";

type Json = Record<string, unknown>;
type Row = {
  readonly method: string;
  readonly path: string;
  readonly tag: string;
  readonly params: Readonly<Record<string, string>>;
  readonly token: string;
  readonly idempotent?: boolean;
  readonly noBody?: boolean;
  readonly pagination?: { readonly itemsField: string; readonly cursorParam: string };
  readonly sdkOperation?: string;
};

/** One operation, as the guide needs it. */
export interface GuideOperation {
  operationId: string;
  sdkOperation: string;
  summary: string;
  method: string;
  path: string;
  row: Row;
  /** Parameter name → example value (spec examples; required ones without an example get a placeholder). */
  params: Array<[string, unknown]>;
}

/** Reads the operations of the spec that call the API with a token (the token endpoints are not API calls). */
export function guideOperations(document: Json, rows: Readonly<Record<string, Row>>): GuideOperation[] {
  const out: GuideOperation[] = [];
  for (const [pathname, item] of Object.entries((document.paths ?? {}) as Record<string, Json>)) {
    const shared = (item.parameters ?? []) as unknown[];
    for (const [method, value] of Object.entries(item)) {
      const op = value as Json;
      if (typeof op?.operationId !== "string") continue;
      const row = rows[op.operationId];
      if (!row) throw new Error(`${op.operationId}: not in the operation table (run npm run generate)`);
      if (row.token === "none") continue;
      const sdkOperation = op["x-sdk-operation"];
      // An operation the official SDK does not have: there is nothing to migrate from.
      if (typeof sdkOperation !== "string") continue;
      if (row.sdkOperation !== undefined && row.sdkOperation !== sdkOperation) {
        throw new Error(
          `${op.operationId}: the operation table says ${row.sdkOperation}, the spec ${sdkOperation}`,
        );
      }
      const params: Array<[string, unknown]> = [];
      for (const raw of [...shared, ...((op.parameters ?? []) as unknown[])]) {
        const p = deref<Json>(document, raw) as Json;
        const found = parameterExample(document, p);
        if (found) params.push([String(p.name), found.value]);
        else if (p.required) params.push([String(p.name), `<${String(p.name)}>`]);
      }
      params.push(...Object.entries(bodyExample(document, op) ?? {}));
      out.push({
        operationId: op.operationId,
        sdkOperation,
        summary: String(op.summary ?? op.operationId),
        method: method.toUpperCase(),
        path: pathname,
        row,
        params,
      });
    }
  }
  return out.sort((a, b) => a.operationId.localeCompare(b.operationId));
}

/** The SDK module of an operation: product and version from the path, `/v1.0/contact/…` → `contact_1_0`. */
export function sdkModuleOf(pathname: string): string {
  const match = /^\/v(\d+)\.(\d+)\/([^/]+)\//.exec(pathname);
  if (!match) throw new Error(`${pathname}: not a /vN.N/<product>/ path`);
  return `${match[3]}_${match[1]}_${match[2]}`;
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
const identifier = /^[A-Za-z_$][\w$]*$/;

/** A value as TypeScript source, spaced the way the project's formatter prints it. */
export function source(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(source).join(", ")}]`;
  if (value && typeof value === "object") return literal(Object.entries(value), "", Number.POSITIVE_INFINITY);
  return JSON.stringify(value);
}

/** A TypeScript object literal: on one line when short, else one property a line. */
export function literal(entries: Array<[string, unknown]>, indent = "", width = 72): string {
  if (entries.length === 0) return "{}";
  const parts = entries.map(([k, v]) => `${identifier.test(k) ? k : JSON.stringify(k)}: ${source(v)}`);
  const oneLine = `{ ${parts.join(", ")} }`;
  if (oneLine.length + indent.length <= width) return oneLine;
  return `{\n${parts.map((p) => `${indent}  ${p},`).join("\n")}\n${indent}}`;
}

/** The SDK client of `module`: `client` when the guide needs one, else one name per module. */
function clientOf(module: string, modules: readonly string[]): string {
  return modules.length > 1
    ? `${module.replace(/_(\w)/g, (_, c: string) => c.toUpperCase())}Client`
    : "client";
}

function sdkCall(
  op: GuideOperation,
  sdk: SdkModule,
  ns: string,
  client: string,
): { code: string; notes: string[] } {
  const name = `${lowerFirst(op.sdkOperation)}WithOptions`;
  const parameters = sdk.methods.get(name);
  if (!parameters)
    throw new SpecError(
      `${op.operationId}: x-sdk-operation "${op.sdkOperation}" names no operation of @alicloud/dingtalk ${sdk.version} ${sdk.module} (it has no Client.${name}): give the SDK's own name`,
      ["paths", op.path, op.method.toLowerCase(), "x-sdk-operation"],
    );
  const lines: string[] = [];
  const args: string[] = [];
  const notes: string[] = [];
  const byName = new Map(op.params);
  const inPath = Object.entries(op.row.params)
    .filter(([, where]) => where === "path")
    .map(([n]) => n);
  for (const p of parameters) {
    if (p.name === "headers") {
      lines.push(`const headers = new ${ns}.${p.type}({});`);
      lines.push(
        op.row.token === "user"
          ? "headers.xAcsDingtalkAccessToken = userAccessToken; // a *user* token you obtained and refresh yourself"
          : "headers.xAcsDingtalkAccessToken = accessToken; // fetched, cached and refreshed by you",
      );
      args.push("headers");
    } else if (p.name === "runtime") {
      args.push("new $Util.RuntimeOptions({})");
    } else if (p.name === "request") {
      const fields = sdk.classes.get(p.type);
      if (!fields) throw new Error(`@alicloud/dingtalk ${sdk.version}: no class ${p.type}`);
      const given = op.params.filter(([n]) => !inPath.includes(n) && fields.includes(n));
      for (const n of Object.keys(op.row.params)) {
        if (!inPath.includes(n) && !fields.includes(n)) {
          notes.push(`\`${n}\` is in the spec but not in the SDK's \`${p.type}\` (${sdk.version}).`);
        }
      }
      for (const field of fields) {
        if (!op.row.params[field]) notes.push(`the SDK's \`${p.type}.${field}\` is not in the spec.`);
      }
      lines.push(`const request = new ${ns}.${p.type}(${literal(given)});`);
      args.push("request");
    } else {
      // A path parameter: the SDK takes it as a positional string argument.
      const value = byName.get(p.name);
      args.push(JSON.stringify(value === undefined ? `<${p.name}>` : String(value)));
    }
  }
  const call = `${client}.${name}(${args.join(", ")})`;
  lines.push(op.row.noBody ? `await ${call};` : `const { body } = await ${call};`);
  return { code: lines.join("\n"), notes };
}

function imspecCall(op: GuideOperation): string {
  const group = `dt.${op.row.tag}.${op.operationId}`;
  // A user token goes with every call of the operation, each page's too.
  const withToken = (params: Array<[string, unknown]>) => {
    const args = params.length > 0 ? [literal(params)] : [];
    if (op.row.token === "user")
      args.push(...(args.length ? [] : ["{}"]), "{ accessToken: userAccessToken }");
    return args.join(", ");
  };
  const call = `${group}(${withToken(op.params)})`;
  const lines = [op.row.noBody ? `await ${call};` : `const body = await ${call};`];
  if (op.row.pagination) {
    const rest = op.params.filter(([n]) => n !== op.row.pagination?.cursorParam);
    lines.push(
      `// or every item of every page (imspec follows the cursor until \`hasMore\` is false):`,
      `for await (const item of ${group}.iterate(${withToken(rest)})) console.log(item);`,
    );
  }
  return lines.join("\n");
}

const fence = (code: string) => `\`\`\`ts\n${code}\n\`\`\``;

/** "Setting up": one client per SDK module against one imspec client. */
function setupSection(modules: string[]): string[] {
  return [
    "## Setting up",
    "",
    "The official SDK: one client per product module, and an access token you fetch, cache and refresh yourself. Its setup as its own samples write it, in TypeScript compiled to CommonJS with `esModuleInterop` (the SDK ships CommonJS without type declarations for its subpaths; an ES module reaches the class as the module's `default.default`):",
    "",
    fence(
      [
        'import * as $OpenApi from "@alicloud/openapi-client";',
        'import * as $Util from "@alicloud/tea-util";',
        ...modules.map((m) => `import dingtalk${m}, * as $dingtalk${m} from "@alicloud/dingtalk/${m}";`),
        "",
        "const config = new $OpenApi.Config({});",
        'config.protocol = "https";',
        'config.regionId = "central";',
        ...modules.map((m) => `const ${clientOf(m, modules)} = new dingtalk${m}(config);`),
        "// In CommonJS JavaScript the client class is the module's `default` export:",
        ...modules.map(
          (m) => `// const ${m} = require("@alicloud/dingtalk/${m}"); new ${m}.default(config);`,
        ),
      ].join("\n"),
    ),
    "",
    "imspec: one client for every DingTalk operation, which fetches and refreshes the app token itself.",
    "",
    fence(
      [
        'import { createDingTalk } from "imspec/dingtalk";',
        "",
        'const dt = createDingTalk({ appKey: "ding…", appSecret: process.env.DINGTALK_APP_SECRET! });',
        "// A third-party (ISV) app: createDingTalk({ suiteKey, suiteSecret, authCorpId, suiteTicket }).",
        "// A token you manage yourself: createDingTalk({ accessToken }) or createDingTalk({ getAccessToken }).",
      ].join("\n"),
    ),
    "",
  ];
}

/** One operation: the SDK call and the imspec call, and what differs. */
function operationSection(op: GuideOperation, sdks: Map<string, SdkModule>, modules: string[]): string[] {
  const module = sdkModuleOf(op.path);
  const sdk = sdks.get(module);
  if (!sdk) throw new Error(`no SDK module ${module}`);
  const { code, notes } = sdkCall(op, sdk, `$dingtalk${module}`, clientOf(module, modules));
  const out = [
    "",
    `### ${op.operationId}`,
    "",
    `${op.summary} · \`${op.method} ${op.path}\` · official name \`${op.sdkOperation}\``,
    "",
    "`@alicloud/dingtalk`:",
    "",
    fence(code),
    "",
    "imspec:",
    "",
    fence(imspecCall(op)),
  ];
  if (op.row.token === "user") {
    out.push(
      "",
      "This operation needs a *user* access token. imspec gets one with " +
        "`dt.userTokens.exchangeCode(code)`; `dt.userTokens.session(token)` returns a function that " +
        "refreshes it before it expires (and once more when the server refuses it), which can be passed " +
        "as `accessToken`.",
    );
  }
  if (notes.length) out.push("", ...notes.map((n) => `- ${n.charAt(0).toUpperCase()}${n.slice(1)}`));
  return out;
}

/** The whole guide. Pure: the same inputs give the same bytes. */
export function renderGuide(ops: GuideOperation[], sdks: Map<string, SdkModule>): string {
  const version = [...sdks.values()][0]?.version ?? "?";
  const modules = [...new Set(ops.map((op) => sdkModuleOf(op.path)))].sort();
  const out: string[] = [];
  out.push(
    `<!-- Generated by \`npm run migration:docs\` from ${SPEC_PATH}, generated/dingtalk/operations.ts and @alicloud/dingtalk ${version}. Do not edit: change the spec or scripts/migration/ and rerun. -->`,
    "",
    "# Migrating from `@alicloud/dingtalk`",
    "",
    `This guide puts each call of the official DingTalk SDK (\`@alicloud/dingtalk\` ${version}, module${modules.length > 1 ? "s" : ""} ${modules.map((m) => `\`${m}\``).join(", ")}) next to the same call with \`imspec/dingtalk\`, for the ${ops.length} operations imspec covers. Names on the SDK side are the SDK's own, misspellings included (\`UpdateDeptSettngTailFirst\`, \`UpdateEmpAttrbuteVisibilitySetting\`); the spec records them as \`x-sdk-operation\`.`,
    "",
    ...setupSection(modules),
    "## The operations",
    "",
    "| official SDK (`client.…WithOptions`) | imspec | HTTP | token |",
    "| --- | --- | --- | --- |",
  );
  for (const op of ops) {
    out.push(
      `| \`${lowerFirst(op.sdkOperation)}WithOptions\` | [\`dt.${op.row.tag}.${op.operationId}\`](#${op.operationId.toLowerCase()}) | \`${op.method} ${op.path}\` | ${op.row.token} |`,
    );
  }
  out.push(
    "",
    "Every SDK call returns `{ headers, statusCode, body }`; an imspec method returns the body itself, or " +
      "nothing for operations without one. For the response and its request id, add `.withResponse()`: " +
      "`const { data, response, requestId } = await dt.contact.getLatestDingIndex().withResponse();`.",
  );
  for (const op of ops) out.push(...operationSection(op, sdks, modules));
  out.push("", ...PROSE);
  return `${out.join("\n")}\n`;
}

/** The methods of the DingTalk operations that are retried after a failure that may have reached the server. */
function idempotentMethods(): string[] {
  const rows: readonly Row[] = Object.values(table);
  return [...new Set(rows.filter((row) => row.idempotent).map((row) => row.method.toUpperCase()))].sort();
}

const PROSE = [
  "## Tokens",
  "",
  "| | `@alicloud/dingtalk` | imspec |",
  "| --- | --- | --- |",
  "| getting the app token | call `oauth2_1_0` `getAccessToken(new GetAccessTokenRequest({ appKey, appSecret }))` yourself | `createDingTalk({ appKey, appSecret })` fetches it on the first call that needs it |",
  "| sending it | set `xAcsDingtalkAccessToken` on a new `XxxHeaders` for every call | added to every request as `x-acs-dingtalk-access-token` |",
  "| caching | yours to write (the token lives 7200 s, and the token endpoint is throttled) | kept until 5 minutes before it expires (`tokenMarginMs`); concurrent calls share one token request |",
  "| several processes | yours to write | pass a shared `tokenStore` (get/set/delete, optional lock) |",
  "| expired or revoked token | the call fails with `InvalidAuthentication`; you refetch and retry | the token is dropped, a new one fetched once, and the call replayed once |",
  "| third-party apps | `getCorpAccessToken` with the latest suiteTicket, yourself | `createDingTalk({ suiteKey, suiteSecret, authCorpId, suiteTicket })`, where `suiteTicket` may be a function |",
  "| user tokens | `getUserToken` with `grantType`, and your own refresh | `dt.userTokens.exchangeCode(code)`, `.refresh(refreshToken)`, `.session(token)` |",
  "",
  "## Errors",
  "",
  "The SDK throws a `ResponseError` (from `@alicloud/tea-typescript`) for any 4xx/5xx answer, and whatever the HTTP " +
    "library throws for network failures and timeouts. imspec throws one of a small set of classes, all " +
    "subclasses of `ImspecError`:",
  "",
  "| what you read in the SDK's error | imspec |",
  "| --- | --- |",
  '| `err.code` (`"InvalidAuthentication"`, `"Forbidden.AccessDenied.QpsLimitForApi"`, …) | `err.code` on a `DingTalkError`; each operation\'s documented codes are the union `Operations[tag][operationId]["errors"]` |',
  "| `err.statusCode` | `err.status` |",
  '| `err.message` (`"code: 400, <message> request id: <id>"`) | `err.message`: API, method, path template, status, code, the server\'s message and the request id |',
  "| `err.data.requestid` | `err.requestId` |",
  "| `err.accessDeniedDetail.requiredScopes` | `err.requiredScopes` |",
  "| `err.data` (the parsed body) | `err.body` (the parsed body, secrets redacted) |",
  "| a network error from `httpx` | `ConnectionError` (`err.errno`, `err.beforeSend`) |",
  "| `ReadTimeout(…)` | `TimeoutError` (`err.timeoutMs`) |",
  "| — | `AbortError` (your `signal` fired), `ParseError` (an answer that is not the JSON it should be), `ConfigError` (a client or call that cannot work) |",
  "",
  "No imspec error carries a secret: app secrets and tokens are redacted from messages, bodies and log events.",
  "",
  "## Retries and timeouts",
  "",
  "In `@alicloud/openapi-client`'s `execute`, the path every DingTalk call takes, only a `RetryError` is " +
    "retried, and nothing on that path raises one: throttling (`Forbidden.AccessDenied.QpsLimitForApi`), " +
    "5xx answers and network failures reach your code on the first attempt, whatever `RuntimeOptions` " +
    "`autoretry`, `maxAttempts` and `backoffPolicy` say. Timeouts are `readTimeout` and `connectTimeout` " +
    "(3 s each by default in `httpx`) on the `Config` or on `RuntimeOptions`.",
  "",
  `imspec retries by default (${RETRY_DEFAULTS.maxAttempts} attempts in all, exponential backoff with full jitter, \`Retry-After\` honoured):`,
  "",
  "- throttling answers (the `QpsLimit…` codes, `system.busy`, 429, 503) for every method, since the gateway refused them before doing any work;",
  `- other 5xx answers, timeouts and dropped connections only for idempotent methods (${idempotentMethods().join(", ")});`,
  "- a connection that was refused before anything was sent, for every method.",
  "",
  `Each attempt has its own timeout (${DEFAULT_TIMEOUT_MS / 1000} s by default). Per client or per call:`,
  "",
  fence(
    [
      "const dt = createDingTalk({ appKey, appSecret, timeout: 5_000, retry: { maxAttempts: 5 } });",
      "await dt.contact.listSeniorSettings({ seniorStaffId }, { retry: false, signal: AbortSignal.timeout(2_000) });",
    ].join("\n"),
  ),
];

/** Reads the spec, the operation table and the installed SDK, and renders the guide. */
export function buildGuide(): string {
  const document = JSON.parse(readFileSync(path.join(ROOT, SPEC_PATH), "utf8")) as Json;
  const ops = guideOperations(document, table as unknown as Record<string, Row>);
  const sdks = new Map<string, SdkModule>();
  for (const module of new Set(ops.map((op) => sdkModuleOf(op.path))))
    sdks.set(module, readSdkModule(module));
  return renderGuide(ops, sdks);
}
