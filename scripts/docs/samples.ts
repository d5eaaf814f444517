import type { ApiInfo, OperationInfo } from "../lib/extract.js";
import type { ClientDoc } from "./clients.js";
import { baseUrlOf, bodyExample, operationObject, type SampleParam, sampleParams } from "./examples.js";

/**
 * The code samples shown next to each operation: a TypeScript call through the imspec client and
 * the same request as curl, both filled with the spec's example values. They are added to the
 * bundled document as `x-codeSamples` when the docs are built, never written into specs/.
 */

type Json = Record<string, unknown>;

export interface CodeSample {
  lang: string;
  label: string;
  source: string;
}

/**
 * Redoc's code panel shows about this many monospace characters before it scrolls sideways, in a
 * window 1440 px wide (fewer in a narrower one).
 */
const WIDTH = 64;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** An expression inside a literal, printed as is: `{ accessToken: user }`. */
export class Code {
  constructor(readonly text: string) {}
}

interface Style {
  /** Object keys: bare where TypeScript allows it, always quoted for JSON. */
  key(name: string): string;
  /** Flat objects: `{ a: 1 }` in TypeScript, `{"a":1}` in JSON. */
  open: string;
  close: string;
  separator: string;
  colon: string;
}

const TS: Style = {
  key: (name) => (IDENTIFIER.test(name) ? name : JSON.stringify(name)),
  open: "{ ",
  close: " }",
  separator: ", ",
  colon: ": ",
};
const JSON_STYLE: Style = {
  key: (name) => JSON.stringify(name),
  open: "{",
  close: "}",
  separator: ",",
  colon: ":",
};

function literal(value: unknown, style: Style, indent: string, room: number): string {
  if (value instanceof Code) return value.text;
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
  const inner = `${indent}  `;
  const flatEntries = (colon: string) =>
    Array.isArray(value)
      ? value.map((item) => literal(item, style, inner, WIDTH - inner.length))
      : Object.entries(value).map(([key, item]) => {
          const name = style.key(key);
          return `${name}${colon}${literal(item, style, inner, WIDTH - inner.length - name.length - 3)}`;
        });
  const entries = flatEntries(style.colon);
  if (entries.length === 0) return Array.isArray(value) ? "[]" : "{}";
  const [open, close] = Array.isArray(value) ? ["[", "]"] : [style.open, style.close];
  const flat = `${open}${entries.join(style.separator)}${close}`;
  if (flat.length <= room && !flat.includes("\n")) return flat;
  const lines = flatEntries(": ").map((e) => `${inner}${e},`);
  // JSON has no trailing commas.
  if (style === JSON_STYLE) lines[lines.length - 1] = (lines.at(-1) ?? "").replace(/,$/, "");
  return `${open.trim()}\n${lines.join("\n")}\n${indent}${close.trim()}`;
}

/**
 * A JSON value as a TypeScript literal: on one line when it fits in `room` characters (what is left
 * of the line after the code before it), else one entry per line, nested values indented from `indent`.
 */
export function tsLiteral(value: unknown, indent = "", room = WIDTH - indent.length): string {
  return literal(value, TS, indent, room);
}

/** The same layout as JSON, for request bodies. */
export function jsonLiteral(value: unknown, indent = "", room = WIDTH - indent.length): string {
  return literal(value, JSON_STYLE, indent, room);
}

function objectOf(params: SampleParam[]): Json {
  return Object.fromEntries(params.map((p) => [p.name, p.value]));
}

/**
 * The lines that import and create the client, filled from the app-token request's examples: its
 * body example (DingTalk, WorkPlus) or its required query parameters' (WeCom's GET gettoken).
 */
export function clientSetup(doc: Json, api: ApiInfo, client: ClientDoc): string {
  const tokenOp = api.operations.find((o) => o.operationId === client.appToken.operationId);
  const example = tokenOp ? objectOf(sampleParams(doc, tokenOp)) : {};
  const options: Json = client.needsBaseUrl ? { baseUrl: baseUrlOf(doc) } : {};
  for (const [option, field] of Object.entries(client.appToken.options)) {
    if (Object.hasOwn(example, field)) options[option] = example[field];
  }
  const prefix = `const ${client.variable} = ${client.factory}(`;
  const servers = Array.isArray(doc.servers) ? doc.servers : [];
  const template = String((servers[0] as Json | undefined)?.url ?? "");
  return [
    `import { ${client.factory} } from "${client.module}";`,
    "",
    // A server that is a template has no one address: its default is the spec's example, not yours.
    ...(client.needsBaseUrl
      ? [`// baseUrl: your deployment's API root (the spec's server, ${template}, with its default).`]
      : []),
    `${prefix}${tsLiteral(options, "", WIDTH - prefix.length - 2)});`,
  ].join("\n");
}

/** `dt.contact.listSeniorSettings`: how the client names an operation. */
export function clientMethod(client: ClientDoc, op: OperationInfo): string {
  return `${client.variable}.${op.tag}.${op.operationId}`;
}

/**
 * `prefix target(args)` + `suffix`: on one line when it fits, else the one argument laid out over
 * several lines, or one argument per line.
 */
function call(prefix: string, target: string, args: unknown[], suffix: string): string {
  const head = `${prefix}${target}(`;
  const flat = args.map((a) => tsLiteral(a, "", Number.POSITIVE_INFINITY)).join(", ");
  if (args.length === 0 || head.length + flat.length + 1 + suffix.length <= WIDTH)
    return `${head}${flat})${suffix}`;
  if (args.length === 1) return `${head}${tsLiteral(args[0], "", 0)})${suffix}`;
  return `${head}\n${args.map((a) => `  ${tsLiteral(a, "  ")},`).join("\n")}\n)${suffix}`;
}

/** The TypeScript sample: create the client, then call the operation's method with the example values. */
export function typescriptSample(doc: Json, api: ApiInfo, client: ClientDoc, op: OperationInfo): string {
  const params = sampleParams(doc, op);
  const method = clientMethod(client, op);
  const lines = [clientSetup(doc, api, client), ""];
  const args: unknown[] = params.length > 0 ? [objectOf(params)] : [];

  if (op.operationId === client.appToken.operationId) {
    lines.push("// The client calls this itself and caches the token.");
  } else if (op.operationId === client.userToken?.operationId) {
    const u = client.userToken;
    lines.push(
      `// ${client.variable}.${u.exchange}(code) and`,
      `// ${client.variable}.${u.refresh}(refreshToken) call this for you.`,
    );
  }
  if (op.token === "user" && client.userToken) {
    lines.push(
      "// A user token, from the OAuth2 redirect's authorization code, in a session that renews it:",
      `const user = ${client.variable}.${client.userToken.session}(`,
      `  await ${client.variable}.${client.userToken.exchange}(${JSON.stringify(userCode(doc, api, client))}),`,
      ");",
    );
    if (args.length === 0) args.push({});
    args.push({ accessToken: new Code("user") });
  }
  lines.push(call(op.success.hasBody ? "const result = await " : "await ", method, args, ";"));
  if (op.pagination) {
    lines.push(
      "",
      "// Or every item of every page:",
      call("const items = ", `${method}.iterate`, fromFirstPage(args, op.pagination.cursorParam), ";"),
      "for await (const item of items) console.log(item);",
    );
  }
  return lines.join("\n");
}

/**
 * The arguments of an `iterate` sample: those of the single call without the cursor, which the
 * example may show (a page's, mid-listing, that a server refuses as one it did not hand out): a
 * listing of every page starts without one.
 */
function fromFirstPage(args: unknown[], cursorParam: string): unknown[] {
  const [params, ...rest] = args;
  if (params === undefined || params instanceof Code) return args;
  const kept = Object.fromEntries(Object.entries(params as Json).filter(([name]) => name !== cursorParam));
  return Object.keys(kept).length === 0 && rest.length === 0 ? [] : [kept, ...rest];
}

/** The authorization code from the user-token request's body example. */
function userCode(doc: Json, api: ApiInfo, client: ClientDoc): string {
  const op = api.operations.find((o) => o.operationId === client.userToken?.operationId);
  const example = op ? bodyExample(doc, operationObject(doc, op).operation) : undefined;
  const code = example?.[client.userToken?.codeField ?? ""];
  return typeof code === "string" ? code : "<code>";
}

/** RFC 3986 unreserved characters only, so a URL is safe inside double quotes in a shell. */
function encode(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** A POSIX shell word in single quotes: nothing inside is expanded. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Shell variables the curl samples expect the reader to set. */
const TOKEN_VARIABLE = { app: "$ACCESS_TOKEN", user: "$USER_ACCESS_TOKEN" } as const;

/** The curl sample: the same request as the TypeScript sample, token from a shell variable. */
export function curlSample(doc: Json, api: ApiInfo, op: OperationInfo): string {
  const params = sampleParams(doc, op);
  const path = op.path.replace(/\{([^}]+)\}/g, (whole, name: string) => {
    const param = params.find((p) => p.in === "path" && p.name === name);
    return param ? encode(param.value) : whole;
  });
  const query = params.filter((p) => p.in === "query").map((p) => `${p.name}=${encode(p.value)}`);
  const token = op.token === "none" ? undefined : TOKEN_VARIABLE[op.token];
  if (token && api.auth?.in === "query") query.push(`${api.auth.name}=${token}`);
  const url = `${baseUrlOf(doc)}${path}${query.length ? `?${query.join("&")}` : ""}`;
  // Double quotes so the token variable expands; everything else in the URL is percent-encoded.
  const words = [op.method === "GET" ? "curl" : `curl -X ${op.method}`, token ? `"${url}"` : shellQuote(url)];
  const options: string[] = [];
  if (token && api.auth?.in === "header") options.push(`-H "${api.auth.name}: ${token}"`);
  for (const p of params.filter((p) => p.in === "header"))
    options.push(`-H ${shellQuote(`${p.name}: ${p.value}`)}`);
  const body = params.filter((p) => p.in === "body");
  if (op.sources.body && body.length > 0) {
    options.push(
      "-H 'Content-Type: application/json'",
      `-d ${shellQuote(jsonLiteral(objectOf(body), "  ", WIDTH - 8))}`,
    );
  }
  return [words.join(" "), ...options.map((o) => `  ${o}`)].join(" \\\n");
}

/**
 * A copy of the bundled document with a TypeScript and a curl sample on every operation, ahead of
 * any the spec already has. Labels match the languages configured for Redoc in redoc.ts.
 */
export function withCodeSamples(doc: Json, api: ApiInfo, client: ClientDoc): Json {
  const copy = structuredClone(doc);
  for (const op of api.operations) {
    const { operation } = operationObject(copy, op);
    const existing = Array.isArray(operation["x-codeSamples"]) ? operation["x-codeSamples"] : [];
    const samples: CodeSample[] = [
      { lang: "TypeScript", label: "TypeScript", source: typescriptSample(doc, api, client, op) },
      { lang: "Shell", label: "curl", source: curlSample(doc, api, op) },
    ];
    operation["x-codeSamples"] = [...samples, ...existing];
  }
  return copy;
}
