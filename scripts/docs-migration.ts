/**
 * `npm run migration:docs`: writes docs/migrating-from-alicloud-dingtalk.md from the DingTalk spec,
 * the operation table and the installed `@alicloud/dingtalk` (see scripts/migration/guide.ts).
 * `--check` compares instead of writing and exits 1 when the committed guide is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { located } from "./lib/preflight.js";
import { SpecError } from "./lib/problems.js";
import { loadRegistry, ROOT } from "./lib/registry.js";
import { buildGuide, GUIDE_PATH } from "./migration/guide.js";

const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } });
const file = path.join(ROOT, GUIDE_PATH);
// The guide is the DingTalk spec's: a value of it the SDK does not know is named at its line.
const spec = (await loadRegistry()).find((entry) => entry.name === "dingtalk");
let guide: string;
try {
  guide = spec ? located(spec.root, buildGuide) : buildGuide();
} catch (error) {
  if (!(error instanceof SpecError)) throw error;
  console.error(`migration:docs: ${error.message}`);
  process.exit(1);
}
let current: string | undefined;
try {
  current = readFileSync(file, "utf8");
} catch {
  current = undefined;
}

if (values.check) {
  if (current === guide) {
    console.log(`${GUIDE_PATH} is up to date.`);
  } else {
    console.error(`${GUIDE_PATH} is stale: run \`npm run migration:docs\` and commit the result.`);
    process.exitCode = 1;
  }
} else if (current === guide) {
  console.log(`No changes (${GUIDE_PATH} is up to date).`);
} else {
  writeFileSync(file, guide);
  console.log(`Wrote ${GUIDE_PATH}.`);
}
