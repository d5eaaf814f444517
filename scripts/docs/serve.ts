/**
 * `npm run docs:serve`: builds the site, serves it on 127.0.0.1 (`--port N`, or `PORT`, else a free
 * port) and rebuilds whenever something changes under specs/, in redocly.yaml or in any other folder a
 * spec file or its `$ref`s are in (lib/watch.ts). A broken spec prints its error and keeps the last
 * good site; reload the page after "rebuilt".
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { watchSpecs } from "../lib/watch.js";
import { buildSite, DEFAULT_OUT, shown } from "./site.js";
import { serveDir } from "./static-server.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT ?? "0" },
    host: { type: "string", default: "127.0.0.1" },
    out: { type: "string" },
  },
});
const outDir = path.resolve(values.out ?? DEFAULT_OUT);
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`docs:serve: --port must be a port number (0 picks a free one), not "${values.port}"`);
  process.exit(2);
}

function report(error: unknown): void {
  console.error(error instanceof Error && error.name === "SpecError" ? error.message : error);
}

// Builds run one after another: a change during a build queues one more build, never a parallel one.
let running: Promise<void> = Promise.resolve();
function rebuild(reason: string): Promise<void> {
  running = running.then(async () => {
    const started = Date.now();
    try {
      await buildSite({ outDir });
      console.log(`${reason} (${Date.now() - started} ms)`);
    } catch (error) {
      report(error);
      console.error("docs: build failed; serving the last good site.");
    }
  });
  return running;
}

// Handled from the start: a signal during the first build ends through exit, so its temporary
// files go (site.ts).
let stop = async () => process.exit(0);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stop());

await rebuild("built");
const server = await serveDir(outDir, { host: values.host, port });
console.log(`Serving ${shown(outDir)} at ${server.url} (watching specs/ …)`);

const unwatch = watchSpecs((file) => rebuild(`rebuilt after a change to ${file}`));
stop = async () => {
  unwatch();
  await server.close();
  process.exit(0);
};
