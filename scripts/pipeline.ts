import { type Dirent, rmSync, statSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { checkedRegistry } from "./lib/preflight.js";
import { SpecError } from "./lib/problems.js";
import { ROOT } from "./lib/registry.js";
import { type Bundled, bundleStep } from "./steps/bundle.js";
import { documentStep } from "./steps/document.js";
import { lintStep } from "./steps/lint.js";
import { manifestOnDisk, manifestStep } from "./steps/manifest.js";
import { operationsStep } from "./steps/operations.js";
import { typesStep } from "./steps/types.js";

export const STEPS = ["lint", "bundle", "document", "types", "operations", "manifest"] as const;
export type Step = (typeof STEPS)[number];

/**
 * Runs the steps up to `step` for every API in the registry (or one) and returns every output as
 * `path → content`, without touching the disk. With `only`, returns just that step's outputs.
 */
export async function produce(
  options: { step?: Step; only?: boolean; api?: string | undefined } = {},
): Promise<Map<string, string>> {
  const last = STEPS.indexOf(options.step ?? "manifest");
  const wants = (s: Step) => STEPS.indexOf(s) <= last && (!options.only || s === options.step);
  const registry = await checkedRegistry();
  const apis = options.api ? registry.filter((a) => a.name === options.api) : registry;
  if (apis.length === 0) {
    const known = registry.map((a) => a.name).join(", ");
    throw new SpecError(`No API named "${options.api}" in redocly.yaml (it lists: ${known})`);
  }
  const outputs = new Map<string, string>();
  const done: Array<{ name: string; root: string; bundled: Bundled; operations: number }> = [];
  // Lint every API before generating any, so one run reports the problems of all specs.
  const lintErrors: string[] = [];
  for (const api of apis) {
    try {
      await lintStep(api);
    } catch (error) {
      lintErrors.push((error as Error).message);
    }
  }
  if (lintErrors.length) throw new SpecError(lintErrors.join("\n"));
  if (last < STEPS.indexOf("bundle")) return outputs;
  for (const api of apis) {
    const bundled = await bundleStep(api);
    if (last < STEPS.indexOf("document")) continue;
    if (wants("document")) for (const [f, c] of documentStep(api, bundled)) outputs.set(f, c);
    if (last < STEPS.indexOf("types")) continue;
    if (wants("types")) for (const [f, c] of await typesStep(api, bundled)) outputs.set(f, c);
    if (last < STEPS.indexOf("operations")) continue;
    const ops = operationsStep(api, bundled);
    if (wants("operations")) for (const [f, c] of ops.files) outputs.set(f, c);
    done.push({ name: api.name, root: api.root, bundled, operations: ops.info.operations.length });
  }
  if (wants("manifest") && done.length) {
    // One API (`--api`): the others keep their entries, as their generated files stay as they are.
    const order = registry.map((a) => a.name);
    const kept = options.api ? manifestOnDisk() : {};
    for (const [f, c] of manifestStep(done, order, kept)) outputs.set(f, c);
  }
  return new Map([...outputs].sort(([a], [b]) => a.localeCompare(b)));
}

/** Whether a symlink leads to a folder; one that leads nowhere or loops (ELOOP) does not. */
function linksToFolder(link: string): boolean {
  try {
    return statSync(link).isDirectory();
  } catch {
    return false;
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(ROOT, dir), { withFileTypes: true, recursive: true }).catch(
    () => [],
  );
  // A file, or anything else that is no folder: a symlink or a socket left in generated/ is as stray
  // as a file. Not a symlink to a folder (an API's outputs kept elsewhere): the run writes through it.
  const folder = (e: Dirent) =>
    e.isDirectory() || (e.isSymbolicLink() && linksToFolder(path.join(e.parentPath, e.name)));
  return entries
    .filter((e) => !folder(e))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
    .sort();
}

/** Which outputs differ from disk, and (for a full run) which files under generated/ nobody produces any more. */
export async function listGenerated(
  outputs: Map<string, string>,
  full: boolean,
): Promise<{ stale: string[]; extra: string[]; previous: Map<string, string | null> }> {
  const stale: string[] = [];
  // What each stale output held (null: no such file), to put back if a later one cannot be replaced.
  const previous = new Map<string, string | null>();
  for (const [file, content] of outputs) {
    const before = await readFile(path.join(ROOT, file), "utf8").catch((error: NodeJS.ErrnoException) =>
      error?.code === "ENOENT" ? null : undefined,
    );
    if (before === content) continue;
    stale.push(file);
    if (before !== undefined) previous.set(file, before);
  }
  const extra = full ? (await filesUnder("generated")).filter((f) => !outputs.has(f)) : [];
  return { stale, extra, previous };
}

/** Removes what a failed run left (temporary files, folders it made), whatever can be removed. */
async function removeAll(paths: string[]): Promise<void> {
  for (const leftover of paths) await rm(leftover, { recursive: true, force: true }).catch(() => {});
}

/** Puts back what each output held before this run; returns those it could not. */
async function putBack(files: string[], previous: Map<string, string | null>): Promise<string[]> {
  const failed: string[] = [];
  for (const file of files) {
    const before = previous.get(file);
    try {
      if (before === undefined) throw new Error("unreadable before this run");
      if (before === null) await rm(path.join(ROOT, file), { force: true });
      else await writeFile(path.join(ROOT, file), before);
    } catch {
      failed.push(file);
    }
  }
  return failed;
}

/** An output that cannot be written; its message names the file and the reason, and nothing was written. */
export class OutputError extends Error {
  override name = "OutputError";
  /** Some outputs were replaced before the failure and could not be put back: generated/ is not as it was. */
  constructor(
    message: string,
    readonly partly = false,
  ) {
    super(message);
  }
}

/**
 * Writes the changed outputs (each through a temporary file and a rename) and removes orphans.
 * Every temporary file is written before any output is replaced: one that cannot be written (a
 * read-only folder, a full disk) then leaves generated/ as it was, rather than with some outputs
 * new and others old (generated/manifest.json, written first, vouching for files never written).
 */
/** What a run changed in generated/: the outputs written, and the files no longer generated, removed. */
export interface Changes {
  written: string[];
  removed: string[];
}

export async function writeOutputs(outputs: Map<string, string>, full: boolean): Promise<Changes> {
  // Ctrl-C between two renames would leave generated/ half old, half new, and temporary files in it:
  // the signal waits until every output is in place (or put back), a few milliseconds, then ends
  // the process as it would have. Another signal, half a second or more after the first, ends it at
  // once: a write that hangs (a frozen network drive) must not leave a process no Ctrl-C ends. One
  // sooner is the same request, delivered twice (by the terminal and by a wrapper that forwards it).
  let held: { signal: NodeJS.Signals; at: number } | undefined;
  let holding = true;
  const release = (): boolean => {
    if (!holding) return false;
    holding = false;
    for (const signal of HELD_SIGNALS) process.off(signal, hold);
    return true;
  };
  const progress: Progress = { temporaries: new Set(), replaced: 0, total: 0 };
  const hold = (signal: NodeJS.Signals) => {
    if (!held) held = { signal, at: Date.now() };
    else if (Date.now() - held.at >= INSIST_MS && release()) {
      abandon(progress);
      process.kill(process.pid, signal);
    }
  };
  for (const signal of HELD_SIGNALS) process.on(signal, hold);
  try {
    return await replaceOutputs(outputs, full, progress);
  } finally {
    if (release() && held) {
      // Said before the held signal ends the process, which no summary of the run would follow.
      if (progress.replaced === progress.total)
        process.stderr.write(
          `generate: stopped (${held.signal}) once every output was in place: generated/ is up to date\n`,
        );
      process.kill(process.pid, held.signal);
    }
  }
}

/** How far the replacing got: the temporary files not yet renamed, and the outputs replaced. */
interface Progress {
  temporaries: Set<string>;
  replaced: number;
  total: number;
}

/**
 * A run ended at once by an insisting signal: its temporary files removed (synchronously, before
 * the signal ends the process) and what it leaves said, so that nothing is left unexplained.
 */
function abandon({ temporaries, replaced, total }: Progress): void {
  for (const temporary of temporaries) rmSync(temporary, { force: true });
  process.stderr.write(
    replaced === 0
      ? "generate: stopped before replacing any output: generated/ is as it was\n"
      : `generate: stopped after replacing ${replaced} of ${total} outputs: generated/ is partly updated; run generate again\n`,
  );
}

const HELD_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** How long after a held signal another one means "end now" rather than the same one twice. */
const INSIST_MS = 500;

async function replaceOutputs(
  outputs: Map<string, string>,
  full: boolean,
  progress: Progress,
): Promise<Changes> {
  const { stale, extra, previous } = await listGenerated(outputs, full);
  progress.total = stale.length;
  const staged: Array<{ temporary: string; target: string }> = [];
  const made: string[] = []; // folders this run created, to remove if it writes nothing
  for (const file of stale) {
    const target = path.join(ROOT, file);
    const temporary = `${target}.${process.pid}.tmp`;
    try {
      const dir = await mkdir(path.dirname(target), { recursive: true });
      if (dir) made.push(dir);
      staged.push({ temporary, target });
      progress.temporaries.add(temporary);
      await writeFile(temporary, outputs.get(file) as string);
    } catch (error) {
      await removeAll([...staged.map((s) => s.temporary), ...made.reverse()]);
      throw new OutputError(`${file}: cannot be written (${(error as Error).message})`);
    }
  }
  // A rename fails only in rare cases (a file locked on Windows): the rest are not left as litter,
  // and the outputs replaced before it get their old contents back.
  for (const [i, { temporary, target }] of staged.entries()) {
    try {
      await rename(temporary, target);
      progress.temporaries.delete(temporary);
      progress.replaced++;
    } catch (error) {
      await removeAll(staged.slice(i).map((s) => s.temporary));
      const done = staged.slice(0, i).map((s) => path.relative(ROOT, s.target));
      const kept = await putBack(done, previous);
      if (!kept.length) await removeAll(made.reverse());
      const file = path.relative(ROOT, target);
      const why = `${file}: cannot be replaced (${(error as Error).message})`;
      throw kept.length
        ? new OutputError(`${why}; replaced before it and not put back: ${kept.join(", ")}`, true)
        : new OutputError(
            `${why}; ${done.length ? `put back as they were: ${done.join(", ")}` : "nothing was replaced"}`,
          );
    }
  }
  for (const [i, file] of extra.entries()) {
    try {
      // `force`: a file already gone (another run removed it) is as good as removed.
      await rm(path.join(ROOT, file), { force: true });
    } catch (error) {
      throw new OutputError(
        `${file}: no longer generated, and cannot be removed (${(error as Error).message})`,
        stale.length > 0 || i > 0,
      );
    }
  }
  await removeEmptied(extra);
  return { written: stale, removed: extra };
}

/** The folders under generated/ that removing `files` left empty (an API no longer in redocly.yaml). */
async function removeEmptied(files: string[]): Promise<void> {
  const generated = path.join(ROOT, "generated");
  const folders = new Set(files.map((file) => path.dirname(path.join(ROOT, file))));
  // Deepest first, so a parent is tried once its children are gone; rmdir refuses one that is not empty.
  for (const folder of [...folders].sort((a, b) => b.length - a.length)) {
    for (let dir = folder; dir.startsWith(`${generated}${path.sep}`); dir = path.dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty, or gone with a deeper folder's walk, which went on above it
      }
    }
  }
}
