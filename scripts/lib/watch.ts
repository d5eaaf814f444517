import { type FSWatcher, watch } from "node:fs";
import path from "node:path";
import { ROOT } from "./registry.js";

/**
 * Watches specs/ and redocly.yaml, and calls `changed` once after each burst of changes (editors save
 * in bursts: a temporary file, a rename, a write), 150 ms after the last. A file saved by writing a
 * new one and renaming it over the old (as many editors and git do) leaves a watch on the old file:
 * every burst arms the watchers anew. Returns what stops watching.
 */
export function watchSpecs(changed: (file: string) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let watchers: FSWatcher[] = [];
  const onChange = (_event: string, file: string | Buffer | null) => {
    if (file && !/\.(ya?ml|json)$/.test(String(file))) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      arm();
      changed(file ? String(file) : "specs/");
    }, 150);
  };
  const arm = (): boolean => {
    for (const watcher of watchers) watcher.close();
    watchers = [];
    try {
      watchers.push(watch(path.join(ROOT, "specs"), { recursive: true }, onChange));
      watchers.push(watch(path.join(ROOT, "redocly.yaml"), onChange));
      return true;
    } catch {
      // A file missing (replaced by a rename, a checkout): watch again a little later, the watcher
      // already made closed then with the others, and run once it is back. The run that found it
      // missing has said so: no run, and no message, every half second meanwhile.
      timer = setTimeout(() => arm() && changed("redocly.yaml"), 500);
      return false;
    }
  };
  arm();
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
