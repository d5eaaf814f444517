import { existsSync, type FSWatcher, readFileSync, realpathSync, watch } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { reachedFiles } from "./preflight.js";
import { ROOT } from "./registry.js";

const SPECS = path.join(ROOT, "specs");

/** Where a path really is (a symlink followed), or the path itself while it does not exist. */
function real(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/** The files the registry's roots reach through `$ref`s, found or missing (`reachedFiles`). */
function specFiles(): string[] {
  const files: string[] = [];
  try {
    const registry = parse(readFileSync(path.join(ROOT, "redocly.yaml"), "utf8"));
    for (const api of Object.values<{ root?: unknown }>(registry?.apis ?? {}))
      if (typeof api?.root === "string") files.push(...reachedFiles(api.root));
  } catch {
    // A broken registry: its run says so, and the next burst reads it again.
  }
  return files;
}

/**
 * The folders, by where they really are, that hold a spec file and that the watch of specs/ does
 * not cover: outside it, or reached through a symlink in it (a recursive watch does not follow one).
 */
function otherFolders(): string[] {
  const specs = real(SPECS);
  const folders = new Set(specFiles().map((file) => real(path.dirname(file))));
  return [...folders].filter((folder) => {
    const relative = path.relative(specs, folder);
    return relative.startsWith("..") || path.isAbsolute(relative);
  });
}

/**
 * Watches specs/, redocly.yaml and any other folder that holds a spec file, and calls `changed`
 * once after each burst of changes (editors save in bursts: a temporary file, a rename, a write),
 * 150 ms after the last. A file saved by writing a new one and renaming it over the old (as many
 * editors and git do) leaves a watch on the old file: every burst arms the watchers anew. The end
 * of each run `changed` starts (a promise) adds the folders it read that are not watched yet, and
 * closes none: a save just after a run is seen by the watchers already there. A folder that does
 * not exist (yet, or any more) is awaited from the nearest one that does. A watcher that fails (a
 * folder made and removed faster than the recursive watch reads it) is armed anew, never a crash.
 * With `now`, runs `changed` once at the start too. Returns what stops watching.
 */
export function watchSpecs(changed: (file: string) => unknown, { now = false } = {}): () => void {
  let timer: NodeJS.Timeout | undefined;
  let watchers: FSWatcher[] = [];
  /** The other folders watched (or awaited) since the last arming. */
  let folders = new Set<string>();
  let stopped = false;
  const run = (file: string) => {
    const ran = changed(file);
    if (ran instanceof Promise) ran.finally(() => stopped || widen()).catch(() => {});
  };
  /** One run after a burst, with every watcher armed anew. */
  const trigger = (file: string) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      arm();
      run(file);
    }, 150);
  };
  // A spec file, or a name without an extension (a folder moved in or out); not an editor's
  // temporary files (`.openapi.yaml.swp`, `openapi.yaml~`).
  const onChange = (_event: string, file: string | Buffer | null) => {
    const name = file ? String(file) : "";
    if (name && !/\.(ya?ml|json)$/.test(name) && /[.~]/.test(path.basename(name))) return;
    trigger(name || "specs/");
  };
  const add = (watcher: FSWatcher) => {
    watcher.on("error", () => {
      watcher.close();
      trigger("specs/");
    });
    watchers.push(watcher);
  };
  /** Watches `folder`, or while it is missing the nearest folder above it, for its coming back. */
  const watchFolder = (folder: string) => {
    let missing = folder;
    while (!existsSync(path.dirname(missing)) && path.dirname(missing) !== missing)
      missing = path.dirname(missing);
    try {
      if (missing === folder && existsSync(folder)) add(watch(folder, onChange));
      else {
        const name = path.basename(missing);
        // Any name on a platform that gives none, and in either case where names are not told apart by it.
        const awaited = (file: string | Buffer | null) =>
          !file || String(file).toLowerCase() === name.toLowerCase();
        add(watch(path.dirname(missing), (_event, file) => awaited(file) && trigger(name)));
      }
      folders.add(folder);
    } catch {
      // Gone since it was looked at: the next burst looks again.
    }
  };
  const widen = () => {
    for (const folder of otherFolders()) if (!folders.has(folder)) watchFolder(folder);
  };
  const arm = (): boolean => {
    for (const watcher of watchers) watcher.close();
    watchers = [];
    folders = new Set();
    try {
      add(watch(SPECS, { recursive: true }, onChange));
      add(watch(path.join(ROOT, "redocly.yaml"), onChange));
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
