/**
 * `npm run spec:diff`: the changes to the specs since a git ref that would break callers of the
 * generated clients (see scripts/spec-diff/compare.ts for what counts). Exits 1 when there is one,
 * unless `--allow-breaking` is given (for a release that names them in CHANGELOG.md).
 *
 *   npm run spec:diff                      compare with the base (below)
 *   npm run spec:diff -- --base main       compare with any ref: a tag, a branch, a commit
 *   npm run spec:diff -- --allow-breaking  report, exit 0
 *   npm run spec:diff -- --json            the changes as JSON
 *
 * The base is the most recent tag reachable from HEAD (the last release). Before the first tag it
 * is HEAD: the comparison then shows what the uncommitted spec edits would break. A ref that names no
 * commit, or a shallow clone (no tags, no history), is an error (exit 2): read as a base without APIs,
 * every API would pass for new and every breaking change go unseen.
 *
 * Both sides are bundled with @redocly/openapi-core from the spec files themselves (not from
 * generated/), so an edit is checked before `npm run generate`. The base's files are read with
 * `git archive REF` into a temporary folder; the base's redocly.yaml says which APIs it had.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { bundle, createConfig } from "@redocly/openapi-core";
import { parse } from "yaml";
import { checkedRegistry } from "./lib/preflight.js";
import { ROOT } from "./lib/registry.js";
import { compareApis } from "./spec-diff/compare.js";

type Json = Record<string, unknown>;

function git(args: string[]): string {
  return execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** The most recent tag reachable from HEAD, else HEAD. */
function defaultBase(): { ref: string; why: string } {
  // A shallow clone has neither the tags nor the commits behind them: HEAD would pass for the base.
  if (git(["rev-parse", "--is-shallow-repository"]).trim() === "true")
    throw new Error(
      "spec:diff: this is a shallow clone, without the last release to compare with: fetch the history and tags (git fetch --unshallow --tags) or give --base",
    );
  try {
    return { ref: git(["describe", "--tags", "--abbrev=0"]).trim(), why: "the last tag" };
  } catch {
    return { ref: "HEAD", why: "no tag yet: the last commit" };
  }
}

/** Whether `ref:file` exists; a ref that names no commit is an error, not a base without APIs. */
function existsAt(ref: string, file: string): boolean {
  try {
    git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  } catch {
    throw new Error(
      `spec:diff: no commit is named ${JSON.stringify(ref)} here (a shallow clone lacks older ones)`,
    );
  }
  try {
    git(["cat-file", "-e", `${ref}:${file}`]);
    return true;
  } catch {
    return false;
  }
}

async function bundleFile(file: string): Promise<Json> {
  // No lint rules: bundling only resolves $refs, and the base may predate the current rules.
  const result = await bundle({ ref: file, config: await createConfig({}), dereference: false });
  const errors = result.problems.filter((p) => p.severity === "error");
  if (errors.length) throw new Error(`${file}: ${errors.map((e) => e.message).join("; ")}`);
  return result.bundle.parsed as Json;
}

/** The APIs at `ref`, bundled: name → document. */
async function specsAt(ref: string): Promise<Map<string, Json>> {
  // Before the registry was written there were no APIs; any other failure to read it is an error.
  if (!existsAt(ref, "redocly.yaml")) return new Map();
  const registry = (parse(git(["show", `${ref}:redocly.yaml`])) ?? {}) as {
    apis?: Record<string, { root?: string }>;
  };
  const dir = mkdtempSync(path.join(tmpdir(), "imspec-spec-diff-"));
  try {
    // As the registry is read now: `./specs/x.yaml` is `specs/x.yaml`.
    const roots = Object.entries(registry.apis ?? {}).flatMap(
      ([name, api]): Array<[string, string]> =>
        typeof api.root === "string" ? [[name, path.posix.normalize(api.root)]] : [],
    );
    // Each root's top folder whole: a spec may refer to files beside its own folder (specs/shared/).
    const folders = [
      ...new Set(roots.map(([, root]) => (root.includes("/") ? root.slice(0, root.indexOf("/")) : "."))),
    ];
    // Every file of them in one archive, unpacked once: not a `git show` per file.
    const files = folders.length
      ? git(["ls-tree", "-r", "--name-only", ref, "--", ...folders])
          .split("\n")
          .filter(Boolean)
      : [];
    if (files.length) {
      const archive = execFileSync("git", ["archive", "--format=tar", ref, "--", ...folders], {
        cwd: ROOT,
        maxBuffer: 1 << 30,
      });
      execFileSync("tar", ["-x", "-C", dir], { input: archive });
    }
    const out = new Map<string, Json>();
    for (const [name, root] of roots) {
      // Registered before its spec was written: the API did not exist yet at that ref.
      if (!files.includes(root)) continue;
      out.set(name, await bundleFile(path.join(dir, root)));
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function specsNow(): Promise<Map<string, Json>> {
  const out = new Map<string, Json>();
  for (const api of await checkedRegistry()) out.set(api.name, await bundleFile(path.join(ROOT, api.root)));
  return out;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      base: { type: "string" },
      "allow-breaking": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const base = values.base ? { ref: values.base, why: "--base" } : defaultBase();
  const results = compareApis(await specsAt(base.ref), await specsNow());
  const all = [...results.values()].flat();
  const breaking = all.filter((c) => c.severity === "breaking").length;

  if (values.json) {
    console.log(JSON.stringify({ base: base.ref, apis: Object.fromEntries(results) }, null, 2));
  } else {
    console.log(`spec:diff: ${base.ref} (${base.why}) → working tree`);
    for (const [api, changes] of results) {
      if (changes.length === 0) continue;
      console.log(`\n${api}`);
      for (const c of changes)
        console.log(`  ${c.severity.padEnd(8)}  ${c.operation}  ${c.at}: ${c.message}`);
    }
    console.log(
      all.length === 0
        ? "\nNo changes callers would notice."
        : `\n${breaking} breaking, ${all.filter((c) => c.severity === "caution").length} caution, ${all.filter((c) => c.severity === "added").length} added.`,
    );
    if (breaking > 0) {
      console.log(
        'Name each breaking change in CHANGELOG.md under "Unreleased" → "Breaking" and bump the version as its policy says.',
      );
    }
  }
  return breaking > 0 && !values["allow-breaking"] ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  },
);
