import { rmSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { checkedRegistry, preflight } from "../lib/preflight.js";
import { ROOT } from "../lib/registry.js";
import { bundleStep } from "../steps/bundle.js";
import { lintStep } from "../steps/lint.js";
import { extractLocated } from "../steps/operations.js";
import { clientOf } from "./clients.js";
import { type IndexApi, renderIndex } from "./index-page.js";
import { renderApiPage } from "./redoc.js";
import { withCodeSamples } from "./samples.js";

/**
 * Builds the docs site: `<api>.html` for every API in redocly.yaml, and `index.html`. Specs are
 * bundled afresh with the generator's own bundle step (not read from generated/), so the site
 * follows the specs while `npm run docs:serve` watches them, and the operation data comes from
 * the same extractor that writes the operation tables.
 */

export const DEFAULT_OUT = path.join(ROOT, "site");
/** The end of every API page's title: how a later build knows a page as its own (by its title only). */
const PAGE_MARK = " · imspec";
const OWN_PAGE = new RegExp(`<title>[^<]*${PAGE_MARK}</title>`);

/** A path as the docs commands print it: relative to the repository when inside it, else absolute. */
export function shown(file: string): string {
  const relative = path.relative(ROOT, file);
  return relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
}

/**
 * What builds under way have made and not yet removed (work folders, pages being written): removed
 * as the process exits, so a build ended by a signal leaves nothing behind. docs and docs:serve
 * exit on SIGINT and SIGTERM (Node's default on a signal skips `exit` handlers).
 */
const temporaries = new Set<string>();
process.once("exit", () => {
  for (const file of temporaries) rmSync(file, { recursive: true, force: true });
});

export async function buildSite(options: { outDir?: string } = {}): Promise<string[]> {
  const outDir = path.resolve(options.outDir ?? DEFAULT_OUT);
  const workDir = await mkdtemp(path.join(tmpdir(), "imspec-docs-"));
  temporaries.add(workDir);
  try {
    const registry = await checkedRegistry();
    const apis: IndexApi[] = [];
    for (const entry of registry) {
      // Checked as generate checks it (preflight, lint, the rules read after bundling), each mistake
      // reported at its file:line:col: the site never shows a spec generate would refuse.
      preflight(entry.root);
      await lintStep(entry);
      const bundled = await bundleStep(entry);
      const { document } = bundled;
      apis.push({
        name: entry.name,
        document,
        info: extractLocated(entry, bundled),
        client: clientOf(entry.name, document),
      });
    }
    const pages = await Promise.all(
      apis.map(async (api) => {
        const html = await renderApiPage({
          name: api.name,
          title: `${api.info.title}${PAGE_MARK}`,
          document: withCodeSamples(api.document, api.info, api.client),
          workDir,
        });
        return [`${api.name}.html`, html] as const;
      }),
    );
    const { description = "" } = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as {
      description?: string;
    };
    const files = new Map<string, string>([...pages, ["index.html", renderIndex(apis, description)]]);
    // Every page is built before any is written, so a broken spec leaves the previous site whole;
    // each write is a rename, so a server never sends a half-written page.
    await mkdir(outDir, { recursive: true });
    for (const [name, content] of files) {
      const target = path.join(outDir, name);
      const temporary = path.join(outDir, `.${name}.${process.pid}.tmp`);
      temporaries.add(temporary);
      await writeFile(temporary, content);
      await rename(temporary, target);
      temporaries.delete(temporary);
    }
    // A page of an API no longer in redocly.yaml goes too; an HTML file this build did not write is
    // left alone (the folder may be one of the user's).
    for (const entry of await readdir(outDir, { withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith(".html") || files.has(entry.name)) continue;
      const file = path.join(outDir, entry.name);
      if (OWN_PAGE.test(await readFile(file, "utf8"))) await rm(file, { force: true });
    }
    return [...files.keys()].map((name) => path.join(outDir, name));
  } finally {
    await rm(workDir, { recursive: true, force: true });
    temporaries.delete(workDir);
  }
}
