import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { SpecError, toSpecError } from "./lib/problems.js";
import { loadRegistry, ROOT } from "./lib/registry.js";
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
  const registry = await loadRegistry().catch((error) => {
    throw toSpecError(error, "redocly.yaml");
  });
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

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(ROOT, dir), { withFileTypes: true, recursive: true }).catch(
    () => [],
  );
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
    .sort();
}

async function read(file: string): Promise<string | undefined> {
  return readFile(path.join(ROOT, file), "utf8").catch(() => undefined);
}

/** Which outputs differ from disk, and (for a full run) which files under generated/ nobody produces any more. */
export async function listGenerated(
  outputs: Map<string, string>,
  full: boolean,
): Promise<{ stale: string[]; extra: string[] }> {
  const stale: string[] = [];
  for (const [file, content] of outputs) if ((await read(file)) !== content) stale.push(file);
  const extra = full ? (await filesUnder("generated")).filter((f) => !outputs.has(f)) : [];
  return { stale, extra };
}

/** An output that cannot be written; its message names the file and the reason, and nothing was written. */
export class OutputError extends Error {
  override name = "OutputError";
  /** Some outputs were replaced before the failure (a rename failed): generated/ is not as it was. */
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
export async function writeOutputs(outputs: Map<string, string>, full: boolean): Promise<string[]> {
  const { stale, extra } = await listGenerated(outputs, full);
  const staged: Array<{ temporary: string; target: string }> = [];
  const made: string[] = []; // folders this run created, to remove if it writes nothing
  for (const file of stale) {
    const target = path.join(ROOT, file);
    const temporary = `${target}.${process.pid}.tmp`;
    try {
      const dir = await mkdir(path.dirname(target), { recursive: true });
      if (dir) made.push(dir);
      staged.push({ temporary, target });
      await writeFile(temporary, outputs.get(file) as string);
    } catch (error) {
      const undo = [...staged.map((s) => s.temporary), ...made.reverse()];
      for (const leftover of undo) await rm(leftover, { recursive: true, force: true }).catch(() => {});
      throw new OutputError(`${file}: cannot be written (${(error as Error).message})`);
    }
  }
  // A rename fails only in rare cases (a file locked on Windows): the rest are not left as litter.
  for (const [i, { temporary, target }] of staged.entries()) {
    try {
      await rename(temporary, target);
    } catch (error) {
      for (const left of staged.slice(i)) await rm(left.temporary, { force: true }).catch(() => {});
      const done = staged.slice(0, i).map((s) => path.relative(ROOT, s.target));
      const file = path.relative(ROOT, target);
      throw new OutputError(
        `${file}: cannot be replaced (${(error as Error).message}); replaced before it: ${done.join(", ") || "none"}`,
        done.length > 0,
      );
    }
  }
  for (const file of extra) await rm(path.join(ROOT, file));
  return [...stale, ...extra];
}
