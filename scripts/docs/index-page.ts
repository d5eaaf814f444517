import type { ApiInfo, OperationInfo } from "../lib/extract.js";
import type { ClientDoc } from "./clients.js";
import { baseUrlOf } from "./examples.js";
import { operationAnchor } from "./redoc.js";
import { clientMethod, clientSetup, curlSample } from "./samples.js";

/**
 * The site's index.html, generated from the same data as the API pages: the registry's APIs, their
 * bundled specs and operation tables, and how each client is created (clients.ts). Nothing in it
 * is written by hand except the connecting sentences.
 */

type Json = Record<string, unknown>;

export interface IndexApi {
  /** Registry key; the API page is `<name>.html`. */
  name: string;
  document: Json;
  info: ApiInfo;
  client: ClientDoc;
}

const TOKEN_LABEL = { none: "none", app: "app token", user: "user token" } as const;

/** Escapes text for HTML element content and double-quoted attributes. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function code(text: string): string {
  return `<code>${esc(text)}</code>`;
}

/** Code for a narrow table cell: a long path or method name may break after a `/` or a `.`. */
function breakableCode(text: string): string {
  return `<code>${esc(text).replace(/([/.])(?=.)/g, "$1<wbr>")}</code>`;
}

/** A count and its noun, singular for one: "1 operation", "16 operations". */
export function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function list(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

function opLink(api: IndexApi, op: OperationInfo, text: string): string {
  return `<a href="${esc(`${api.name}.html${operationAnchor(op.tag, op.operationId)}`)}">${text}</a>`;
}

function operationRows(api: IndexApi, ops: OperationInfo[], columns: "all" | "short"): string {
  return ops
    .map((op) => {
      // The official SDK's name sits under the client method: users migrating from the SDK search for it.
      const sdk =
        columns === "all" && op.sdkOperation ? `<div class="sdk">SDK: ${code(op.sdkOperation)}</div>` : "";
      const cells = [
        `<td class="method">${esc(op.method)}</td>`,
        `<td>${breakableCode(op.path)}</td>`,
        `<td>${opLink(api, op, breakableCode(clientMethod(api.client, op)))}${sdk}</td>`,
        `<td>${esc(op.summary ?? "")}${op.deprecated ? " <em>(deprecated)</em>" : ""}</td>`,
      ];
      if (columns === "all") cells.push(`<td class="token">${TOKEN_LABEL[op.token]}</td>`);
      return `<tr data-operation-id="${esc(op.operationId)}">${cells.join("")}</tr>`;
    })
    .join("\n");
}

function table(head: string[], body: string): string {
  return `<table>\n<thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** "What the client does for you", then the raw endpoints, for one API. */
function tokenSection(api: IndexApi): string {
  const { info, client, document } = api;
  const v = client.variable;
  const tokenOp = info.operations.find((o) => o.operationId === client.appToken.operationId);
  const where = info.auth
    ? `in the ${info.auth.in === "header" ? "header" : "query parameter"} ${code(info.auth.name)}`
    : "where the spec's security scheme says";
  const options = list(Object.keys(client.appToken.options).map(code));
  const parts = [
    "<h3>Access tokens</h3>",
    `<p><strong>What the client does for you.</strong> Given ${options}, ${code(`${client.factory}()`)} ` +
      `gets the app token itself with ${tokenOp ? opLink(api, tokenOp, code(`${tokenOp.method} ${tokenOp.path}`)) : "its token request"}, ` +
      "keeps it until shortly before it expires (one token request at a time, shared by concurrent calls), " +
      `asks for a new one once if the server rejects it, and sends it ${where} on every call. ` +
      `Read it with ${code(`${v}.appToken.get()`)}; pass ${code("{ accessToken }")} or ${code("{ getAccessToken }")} ` +
      "instead of credentials to manage tokens yourself.</p>",
  ];
  const userOps = info.operations.filter((o) => o.token === "user");
  if (client.userToken && userOps.length > 0) {
    const u = client.userToken;
    parts.push(
      `<p><strong>User tokens.</strong> ${list(userOps.map((o) => opLink(api, o, code(clientMethod(client, o)))))} ` +
        `${userOps.length === 1 ? "needs" : "need"} the user's own token: get it with ${code(`${v}.${u.exchange}(code)`)} from the OAuth2 authorization code, ` +
        `keep it in ${code(`${v}.${u.session}(token, onRefresh)`)}, which renews it when it expires or is refused (and hands each new one to ${code("onRefresh")}, to be saved), ` +
        `and pass that session as ${code("{ accessToken }")} in the call's options. ${code(`${v}.${u.refresh}(refreshToken)`)} renews one by hand.</p>`,
    );
  }
  const anonymous = info.operations.filter((o) => o.token === "none");
  parts.push(
    `<p><strong>The raw token endpoints.</strong> They take no access token:</p>`,
    table(["Method", "Path", "Client method", "Summary"], operationRows(api, anonymous, "short")),
  );
  if (tokenOp)
    parts.push(
      `<p>The app token with curl:</p>`,
      `<pre><code>${esc(curlSample(document, info, tokenOp))}</code></pre>`,
    );
  return parts.join("\n");
}

function apiSection(api: IndexApi): string {
  const { info, document } = api;
  const rawInfo = (document.info ?? {}) as Json;
  const summary = typeof rawInfo.summary === "string" ? `<p>${esc(rawInfo.summary)}</p>` : "";
  // The spec's tag order, then any tag an operation uses without declaring it.
  const declared = new Set(info.tags.map((t) => t.name));
  const undeclared = [...new Set(info.operations.map((o) => o.tag))].filter((t) => !declared.has(t));
  const tags: ApiInfo["tags"] = [...info.tags, ...undeclared.map((name) => ({ name }))];
  const rows = tags
    .map((tag) => {
      const ops = info.operations.filter((o) => o.tag === tag.name);
      if (ops.length === 0) return "";
      const label = tag.displayName ? `${tag.displayName} · ` : "";
      const heading = `<tr class="tag"><th colspan="5">${esc(label)}${code(`${api.client.variable}.${tag.name}`)}</th></tr>`;
      return `${heading}\n${operationRows(api, ops, "all")}`;
    })
    .join("\n");
  return [
    `<section id="${esc(api.name)}">`,
    `<h2><a href="${esc(api.name)}.html">${esc(info.title)}</a> <small>${esc(info.version)}</small></h2>`,
    summary,
    `<p>${counted(info.operations.length, "operation")} · base URL ${code(baseUrlOf(document))} · ` +
      `<a href="${esc(api.name)}.html">full reference</a>, each operation with a TypeScript and a curl sample.</p>`,
    "<h3>Create the client</h3>",
    `<pre><code>${esc(clientSetup(document, info, api.client))}</code></pre>`,
    tokenSection(api),
    "<h3>Operations</h3>",
    table(["Method", "Path", "Client method", "Summary", "Token"], rows),
    "</section>",
  ].join("\n");
}

const STYLE = `
body { margin: 0; font: 15px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827; background: #fff; }
header, main, footer { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 32px; }
h1 { font-size: 2.2em; margin: 0 0 8px; }
h2 { margin-top: 48px; border-bottom: 1px solid #e5e7eb; padding-bottom: 6px; }
h2 small { color: #6b7280; font-weight: normal; font-size: 0.6em; }
a { color: #1d4ed8; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.88em; }
td code { overflow-wrap: break-word; }
pre { background: #f3f4f6; padding: 12px 16px; border-radius: 6px; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid #e5e7eb; }
tr.tag th { background: #f9fafb; padding-top: 14px; }
td.method { font-weight: 600; font-size: 0.85em; }
td.token { white-space: nowrap; }
div.sdk { color: #6b7280; font-size: 0.85em; }
ul.apis li { margin: 4px 0; }
footer { color: #6b7280; padding-bottom: 32px; margin-top: 48px; }
`;

/** The whole index page. `description` introduces the project (package.json's description). */
export function renderIndex(apis: IndexApi[], description: string): string {
  const links = apis
    .map(
      (api) =>
        `<li><a href="${esc(api.name)}.html">${esc(api.info.title)}</a>: ${counted(api.info.operations.length, "operation")}, ` +
        `${code(`import { ${api.client.factory} } from "${api.client.module}"`)}</li>`,
    )
    .join("\n");
  return (
    `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imspec: API reference</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>imspec</h1>
<p>${esc(description)}</p>
<p>Each client's methods come from its spec's operation table: ${code("client.<tag>.<operationId>(params, options)")}, ` +
    `with path, query and body parameters in one typed object. The clients get and renew access tokens themselves, ` +
    `retry when it is safe, and turn error answers into typed errors.</p>
<ul class="apis">
${links}
</ul>
</header>
<main>
${apis.map(apiSection).join("\n")}
</main>
<footer>Generated by ${code("npm run docs")} from the specs listed in ${code("redocly.yaml")}.</footer>
</body>
</html>
`
  );
}
