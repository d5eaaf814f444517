/**
 * `npm run generate`: specs → generated/. Steps (each also runs alone with `--step NAME`, running
 * the steps before it in memory and writing only its own output):
 *
 *   lint        Redocly lint with redocly.yaml's rules                 (writes nothing)
 *   bundle      resolve $refs into one document per API                (writes nothing)
 *   document    the bundled document as JSON → generated/<api>/openapi.json
 *   types       openapi-typescript → generated/<api>/schema.ts
 *   operations  ts-morph           → generated/<api>/operations.ts
 *   manifest    spec hashes, tool versions → generated/manifest.json, generated/README.md
 *
 * Flags: `--check` compares instead of writing (exit 1 and the stale files when generated/ is out
 * of date); `--watch` regenerates on every change under specs/, to redocly.yaml or in any other
 * folder a spec file or its `$ref`s are in (lib/watch.ts); `--api NAME` limits to one API.
 * Every output is computed before anything is written, so a broken spec leaves generated/ as it was.
 *
 * `npm run generate` runs this file through scripts/generate.mjs, which bundles it (cached by content)
 * and runs the bundle under plain Node; `npx tsx scripts/generate.ts` runs it from source.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./lib/registry.js";
import { watchSpecs } from "./lib/watch.js";
import { listGenerated, produce, STEPS, type Step, writeOutputs } from "./pipeline.js";

const USAGE = `Usage: npm run generate -- [--check] [--watch] [--step ${STEPS.join("|")}] [--api NAME] [--help]`;

function args() {
  try {
    return parseArgs({
      options: {
        check: { type: "boolean", default: false },
        watch: { type: "boolean", default: false },
        step: { type: "string" },
        api: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}
const values = args();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const step = (values.step ?? "manifest") as Step;
if (!STEPS.includes(step)) {
  console.error(`Unknown step "${values.step}".\n${USAGE}`);
  process.exit(2);
}

async function once(): Promise<number> {
  const outputs = await produce({ step, only: values.step !== undefined, api: values.api });
  // A step that writes nothing (lint, bundle) ran and passed: neither "up to date" nor "no changes".
  if (!outputs.size) {
    console.log(
      `The ${step} step passed; it writes nothing in generated/${values.check ? ", so nothing was compared" : ""}.`,
    );
    return 0;
  }
  if (values.check) {
    const { stale, extra } = await listGenerated(
      outputs,
      values.step === undefined && values.api === undefined,
    );
    if (stale.length === 0 && extra.length === 0) {
      console.log(`generated/ is up to date (${outputs.size} files).`);
      return 0;
    }
    const folder = await stat(path.join(ROOT, "generated")).catch(() => undefined);
    if (folder && !folder.isDirectory()) {
      console.error("generated/ is a file, not a folder: remove it, then run `npm run generate`.");
      return 1;
    }
    console.error("generated/ is stale:");
    for (const file of stale) console.error(`  ${file}`);
    for (const file of extra) console.error(`  ${file} (no longer generated)`);
    console.error("Run `npm run generate` and commit the result.");
    return 1;
  }
  const { written, removed } = await writeOutputs(
    outputs,
    values.step === undefined && values.api === undefined,
  );
  const list = (files: string[]) => files.map((f) => `\n  ${f}`).join("");
  if (written.length) console.log(`Updated ${written.length} file(s):${list(written)}`);
  if (removed.length) console.log(`Removed ${removed.length} file(s) no longer generated:${list(removed)}`);
  if (!written.length && !removed.length) console.log(`No changes (${outputs.size} files up to date).`);
  return 0;
}

function report(error: unknown): void {
  // A broken spec or an output that cannot be written: the message says where; a stack would not help.
  const told = error instanceof Error && (error.name === "SpecError" || error.name === "OutputError");
  console.error(told ? error.message : error);
}

if (values.watch) {
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = running.then(async () => {
      const started = Date.now();
      try {
        await once();
        console.log(`(${Date.now() - started} ms) watching specs/ …`);
      } catch (error) {
        report(error);
        const partly = (error as { partly?: boolean })?.partly;
        console.error(`generated/ ${partly ? "partly updated" : "left unchanged"}; still watching specs/ …`);
      }
    });
    // The watcher arms again when this run ends: it may have read files in folders not watched yet.
    return running;
  };
  watchSpecs(run, { now: true });
} else {
  once().then(
    (code) => process.exit(code),
    (error) => {
      report(error);
      console.error(
        (error as { partly?: boolean })?.partly
          ? "generate failed; generated/ is partly updated: run it again once the cause is gone."
          : "generate failed; generated/ was not changed.",
      );
      process.exit(1);
    },
  );
}
