import { type FSWatcher, readFileSync, watch } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { ROOT } from "./registry.js";

const SPECS = path.join(ROOT, "specs");

/**
 * The folders outside specs/ that hold a spec file: the roots redocly.yaml names and every file the
 * last run read (generated/manifest.json lists them, with the files their `$ref`s reach). Either
 * file may be missing or broken meanwhile: what it cannot tell is not watched until it can.
 */
function otherFolders(): string[] {
  const files: string[] = [];
  try {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, "generated/manifest.json"), "utf8"));
    for (const api of Object.values<{ files?: object }>(manifest.apis ?? {}))
      files.push(...Object.keys(api.files ?? {}));
  } catch {
    // No manifest yet, or one being written: the registry's roots below still count.
  }
  try {
    const registry = parse(readFileSync(path.join(ROOT, "redocly.yaml"), "utf8"));
    for (const api of Object.values<{ root?: unknown }>(registry?.apis ?? {}))
      if (typeof api?.root === "string") files.push(api.root);
  } catch {
    // A broken registry: its run says so, and the next burst reads it again.
  }
  const folders = new Set(files.map((file) => path.dirname(path.resolve(ROOT, file))));
  return [...folders].filter((folder) => path.relative(SPECS, folder).startsWith(".."));
}

/**
 * Watches specs/, redocly.yaml and any other folder that holds a spec file, and calls `changed`
 * once after each burst of changes (editors save in bursts: a temporary file, a rename, a write),
 * 150 ms after the last. A file saved by writing a new one and renaming it over the old (as many
 * editors and git do) leaves a watch on the old file: every burst arms the watchers anew. The end
 * of each run `changed` starts (a promise) adds the folders it read that are not watched yet, and
 * closes none: a save just after a run is seen by the watchers already there. With `now`, runs
 * `changed` once at the start too. Returns what stops watching.
 */
export function watchSpecs(changed: (file: string) => unknown, { now = false } = {}): () => void {
  let timer: NodeJS.Timeout | undefined;
  let watchers: FSWatcher[] = [];
  /** The other folders watched since the last arming. */
  let folders = new Set<string>();
  let stopped = false;
  const run = (file: string) => {
    const ran = changed(file);
    if (ran instanceof Promise) ran.finally(() => stopped || widen()).catch(() => {});
  };
  const onChange = (_event: string, file: string | Buffer | null) => {
    if (file && !/\.(ya?ml|json)$/.test(String(file))) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      arm();
      run(file ? String(file) : "specs/");
    }, 150);
  };
  const widen = () => {
    for (const folder of otherFolders()) {
      if (folders.has(folder)) continue;
      try {
        watchers.push(watch(folder, onChange));
        folders.add(folder);
      } catch {
        // Gone since the run read it: the run after the next change says what is missing.
      }
    }
  };
  const arm = (): boolean => {
    for (const watcher of watchers) watcher.close();
    watchers = [];
    folders = new Set();
    try {
      watchers.push(watch(SPECS, { recursive: true }, onChange));
      watchers.push(watch(path.join(ROOT, "redocly.yaml"), onChange));
    } catch {
      // A file missing (replaced by a rename, a checkout): watch again a little later, the watcher
      // already made closed then with the others, and run once it is back. The run that found it
      // missing has said so: no run, and no message, every half second meanwhile.
      timer = setTimeout(() => arm() && run("redocly.yaml"), 500);
      return false;
    }
    widen();
    return true;
  };
  arm();
  if (now) run("");
  return () => {
    stopped = true;
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
