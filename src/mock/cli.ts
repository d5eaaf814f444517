#!/usr/bin/env node
/**
 * `imspec mock --port 4010 [--host 127.0.0.1] [--token-lifetime SECONDS] [--no-watch] [--quiet]`:
 * serves every API of the bundled specs until Ctrl-C (SIGINT) or SIGTERM. Loads nothing but
 * node: modules until it starts a server, so `--help` works without the optional peers.
 */
import { parseArgs } from "node:util";
import { type MockRequest, startMockServer } from "./server.js";
import { usageLines } from "./usage.js";

const USAGE = `Usage: imspec mock [--port 4010] [--host 127.0.0.1] [--token-lifetime SECONDS] [--no-watch] [--quiet]

Serves every API of the bundled specs (generated/<api>/openapi.json), each under /<api>:
requests are checked against the spec, answers are the spec's examples (pick one with
"Prefer: example=NAME" or "Prefer: code=NNN", NNN an HTTP status).

  --port            port to listen on (0 picks a free one; default 4010)
  --host            interface to listen on (default 127.0.0.1)
  --token-lifetime  lifetime of issued tokens in seconds (default: what each token
                    operation's example shows)
  --no-watch        do not reload an API when its bundled spec is rewritten
                    (in this repository: by npm run generate)
  --quiet           do not log each request

Needs the optional peer dependencies ajv, ajv-formats and openapi-backend.`;

function fail(message: string): never {
  process.stderr.write(`imspec: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function integer(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) fail(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

/**
 * Control characters and bidi overrides as `\uXXXX`: the problems name the request's own parameters
 * and fields, decoded, so a line break would end the line and start one of the sender's making, and
 * an ESC sequence would drive the terminal (clear it, recolour what follows).
 */
const shown = (text: string): string =>
  text.replace(
    /[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

/** One line per request; the path only, since a token may travel in the query string. */
function logLine(r: MockRequest): string {
  const status = r.status === undefined ? "dropped" : String(r.status);
  const what = [r.operationId, r.outcome === "answered" ? "" : r.outcome].filter(Boolean).join(" ");
  const why = r.problems.length ? `: ${r.problems.join("; ")}` : "";
  return `${shown(`${r.method} /${r.api ?? ""}${r.api ? r.path : r.path.slice(1)} → ${status} ${what}${why}`)}\n`;
}

const OPTIONS = {
  port: { type: "string", default: "4010" },
  host: { type: "string", default: "127.0.0.1" },
  "token-lifetime": { type: "string" },
  "no-watch": { type: "boolean", default: false },
  quiet: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    fail((error as Error).message);
  }
}

async function main(argv: string[]): Promise<void> {
  const parsed = parse(argv);
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (positionals[0] !== "mock" || positionals.length > 1)
    fail(positionals.length ? `unknown command: ${positionals.join(" ")}` : "missing command: mock");

  const port = integer("port", values.port, 0, 65_535) ?? 4010;
  const lifetime = integer("token-lifetime", values["token-lifetime"], 1, 10 * 365 * 24 * 3600);
  const mock = await startMockServer({
    port,
    host: values.host,
    tokenLifetimeSeconds: lifetime,
    watch: !values["no-watch"],
    onReload: ({ api, error }) =>
      error
        ? process.stderr.write(`imspec mock: kept the previous ${api} spec: ${error.message}\n`)
        : process.stdout.write(`imspec mock: reloaded ${api}\n`),
    onRequest: values.quiet ? undefined : (r) => process.stdout.write(logLine(r)),
  }).catch((error: Error & { code?: unknown }) => {
    // Not a mistake in the command line: no usage text, which would bury the one line that matters.
    if (
      (error as { syscall?: unknown })?.syscall === "listen" &&
      (error.code === "EADDRINUSE" || error.code === "EACCES")
    ) {
      process.stderr.write(
        `imspec: cannot listen on ${values.host.includes(":") ? `[${values.host}]` : values.host}:${port} (${error.code}): ${
          error.code === "EADDRINUSE" ? "another server (an earlier mock?) holds it" : "not allowed"
        }; pick another port with --port, or --port 0 for a free one\n`,
      );
      process.exit(1);
    }
    return fail(`cannot start the mock server: ${error.message}`);
  });

  process.stdout.write(
    [
      "imspec mock server: answers from the specs, every request checked against them",
      ...mock.apis.flatMap((api) => [
        "",
        ...usageLines(api, mock.documentOf(api), mock.urlOf(api), lifetime),
      ]),
      "",
      "Pick another documented answer with -H 'Prefer: example=NAME' or -H 'Prefer: code=NNN' (an HTTP status).",
      values["no-watch"] ? "" : "Watching the bundled specs: an API is reloaded when its spec is rewritten.",
      "Press Ctrl-C to stop.",
      "",
    ].join("\n"),
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // A second signal while stopping means "now".
    if (stopping) process.exit(130);
    stopping = true;
    void mock.stop().then(() => {
      process.stdout.write(`imspec mock server stopped (${signal}).\n`);
      process.exitCode = 0;
    });
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`imspec: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
