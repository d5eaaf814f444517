/**
 * `npm run docs`: builds the docs site into site/ (or `--out DIR`) from the APIs in redocly.yaml:
 * one Redoc page per API with TypeScript and curl samples, and an index page. The pages load
 * nothing from any other host. See site.ts for the steps.
 */
import { parseArgs } from "node:util";
import { buildSite, DEFAULT_OUT, shown } from "./site.js";

const { values } = parseArgs({ options: { out: { type: "string" } } });
// Ended by a signal through exit, so that the build's temporary files go (site.ts); each page is
// written by a rename, so the site holds whole pages, old or new.
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const)
  process.once(signal, () => {
    console.error("docs: interrupted.");
    process.exit(code);
  });
const started = Date.now();
try {
  const files = await buildSite({ outDir: values.out ?? DEFAULT_OUT });
  console.log(`Built ${files.length} pages in ${Date.now() - started} ms:`);
  for (const file of files) console.log(`  ${shown(file)}`);
} catch (error) {
  // Spec problems already read as `file:line:col message`; anything else keeps its stack.
  console.error(error instanceof Error && error.name === "SpecError" ? error.message : error);
  console.error("docs: build failed; the site was not changed.");
  process.exitCode = 1;
}
