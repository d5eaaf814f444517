import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { ROOT } from "../lib/registry.js";
import { hashLinks } from "./links.js";
import { assertOffline, removeBadgeLogo } from "./offline.js";

/**
 * One API page: `redocly build-docs` (Redoc 3) on a bundled document. It runs through the CLI's bin
 * because @redocly/cli has no Node API for build-docs.
 */

/** Redoc options (`--openapi`). Redoc 3 shows only the code samples whose label is listed here. */
export const REDOC_OPTIONS = {
  codeSamples: {
    languages: [
      { lang: "TypeScript", label: "TypeScript" },
      { lang: "Shell", label: "curl" },
      // Redoc's own panel with the request-body example, for operations that have one.
      { lang: "payload", label: "Payload" },
    ],
  },
  // Open every level of JSON examples, so nested example values (an org tree's names) are visible.
  jsonSamplesExpandLevel: "all",
};

const TEMPLATE = path.join(import.meta.dirname, "template.hbs");

/** Redoc 3's deep link to an operation: `#/<tag>/<operationid>`, lower-cased. */
export function operationAnchor(tag: string, operationId: string): string {
  return `#/${tag.toLowerCase()}/${operationId.toLowerCase()}`;
}

function redoclyBin(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve("@redocly/cli/package.json");
  const { bin } = require(manifest) as { bin: Record<string, string> };
  return path.join(path.dirname(manifest), bin.redocly ?? "bin/cli.js");
}

/**
 * Renders `document` to an offline HTML page and returns it. `workDir` holds the CLI's input and
 * output files; the caller removes it.
 */
export async function renderApiPage(options: {
  name: string;
  title: string;
  document: Record<string, unknown>;
  workDir: string;
}): Promise<string> {
  const { name, title, document, workDir } = options;
  const input = path.join(workDir, `${name}.openapi.json`);
  const redocOptions = path.join(workDir, `${name}.redoc.json`);
  const output = path.join(workDir, `${name}.html`);
  await writeFile(input, JSON.stringify(document));
  await writeFile(redocOptions, JSON.stringify(REDOC_OPTIONS));
  const args = [
    redoclyBin(),
    "build-docs",
    input,
    "--inlineBundle",
    `--template=${TEMPLATE}`,
    `--openapi=${redocOptions}`,
    `--title=${title}`,
    `--output=${output}`,
  ];
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      {
        cwd: ROOT,
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
        // Telemetry off: the CLI would report the run, and the page would report its visitors.
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      },
      (error, _stdout, stderr) => {
        if (error) reject(new Error(`redocly build-docs failed for ${name}:\n${stderr || error.message}`));
        else resolve();
      },
    );
  });
  const html = hashLinks(removeBadgeLogo(await readFile(output, "utf8")), `${name}.html`);
  assertOffline(html, `${name}.html`);
  return html;
}
