import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { type Config, lintConfig, loadConfig } from "@redocly/openapi-core";
import { parse } from "yaml";
import { problemsError, SpecError } from "./problems.js";

/**
 * The repository root: every path the generator prints or writes is relative to it. Two folders up
 * from this file; the bundled generator, which runs from node_modules/.cache, is told the root by
 * its launcher (scripts/generate.mjs) instead.
 */
export const ROOT: string =
  (globalThis as { imspecRoot?: string }).imspecRoot ?? path.resolve(import.meta.dirname, "../..");

export interface ApiEntry {
  /** Registry key in redocly.yaml, e.g. `dingtalk`; also the folder name under generated/. */
  name: string;
  /** Root spec file, relative to ROOT, e.g. `specs/dingtalk/openapi.yaml`. */
  root: string;
  /** Redocly config scoped to this API (its lint rules). */
  config: Config;
}

/**
 * What an API's name may be. It is a path segment (generated/<api>/, src/<api>/) and the package's
 * entry point imspec/<api>: `../x` would write outside generated/, and `a b` or `WeCom` beside
 * `wecom` (one folder on a case-insensitive file system) would give an entry point nobody can
 * import or two APIs that overwrite each other.
 */
const API_NAME = /^[a-z0-9][a-z0-9_-]*$/;
/** Device names Windows reserves: no folder may be called so there, whatever its case. */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/;

/**
 * src/<name>/ is a folder of the package that is no API's (the core, the mock, the Redis stores…):
 * it has no entry point that reads generated/<name>/. An API's own folder reads it, or is not written yet.
 */
function otherFolder(name: string): "no entry" | "other entry" | undefined {
  const folder = path.join(ROOT, "src", name);
  if (!existsSync(folder)) return undefined;
  if (!statSync(folder).isDirectory()) return "other entry";
  const entry = path.join(folder, "index.ts");
  if (existsSync(entry))
    return readFileSync(entry, "utf8").includes(`generated/${name}/`) ? undefined : "other entry";
  // Made ahead of its profile (empty, or a README): not yet this API's, but not the package's either.
  return readdirSync(folder).some((file) => file.endsWith(".ts")) ? "other entry" : "no entry";
}

/**
 * The lint rules whose checks the generator relies on: it reads only the `x-imspec-*` values that
 * `imspec/extensions` lets through (scripts/redocly/imspec-plugin.js). Off, for one API or all, a
 * typo or a value of the wrong type would generate a client without a word.
 */
const RELIED_ON = ["imspec/extensions"] as const;
/** The OpenAPI versions the rules are set for: the plugin's rules apply to every OpenAPI 3 spec. */
const OAS3 = ["oas3_0", "oas3_1", "oas3_2"] as const;

/** What Redocly reads a rule's setting as: a severity, or an object whose `severity` defaults to error. */
function severityOf(settings: unknown): unknown {
  if (settings === undefined) return "off"; // Redocly's getRuleSettings: a rule unset is off
  return typeof settings === "object" && settings !== null
    ? ((settings as { severity?: unknown }).severity ?? "error")
    : settings;
}

/** Every rule `config` sets for an OpenAPI 3 version, with its severity. */
function* severities(config: Config): Generator<[rule: string, severity: unknown]> {
  const byVersion = config.rules as unknown as Record<string, Record<string, unknown> | undefined>;
  for (const version of OAS3)
    for (const [rule, settings] of Object.entries(byVersion[version] ?? {}))
      yield [rule, severityOf(settings)];
}

/** `config` turns `rule` off for some OpenAPI 3 version. */
function turnsOff(config: Config, rule: string): boolean {
  const byVersion = config.rules as unknown as Record<string, Record<string, unknown> | undefined>;
  return OAS3.some((version) => severityOf(byVersion[version]?.[rule]) === "off");
}

/**
 * Where the registry as written sets `rule` for the API `name`: its own rules (`rules`, or those of
 * one version, `oas3_1Rules`), else those of every API; else (an extended file sets it) its entry.
 */
function settingOf(written: unknown, name: string, rule: string): string[] {
  const keys = ["rules", ...OAS3.map((version) => `${version}Rules`)];
  const places = [["apis", name], []].flatMap((base) => keys.map((key) => [...base, key, rule]));
  const holds = (at: string[]) => {
    let node = written;
    for (const key of at) {
      if (!node || typeof node !== "object" || !Object.hasOwn(node, key)) return false;
      node = (node as Record<string, unknown>)[key];
    }
    return true;
  };
  return places.find(holds) ?? ["apis", name];
}

/**
 * The severities a run acts on. Redocly takes any other (`eror`) without a word and gives the
 * rule's problems that severity, which the lint step, stopping for errors and warnings, ignores:
 * the rule would be off, unsaid.
 */
const SEVERITIES = new Set(["error", "warn", "off"]);

/**
 * Reads the one registry of APIs, redocly.yaml. Adding an API is adding one `apis:` entry there;
 * nothing else lists them.
 */
export async function loadRegistry(configPath = path.join(ROOT, "redocly.yaml")): Promise<ApiEntry[]> {
  const config = await loadConfig({ configPath });
  const apis = config.resolvedConfig.apis ?? {};
  const entries = Object.keys(apis)
    .sort()
    .map((name) => {
      // Each refusal names its place in the registry (`at`), which the pipeline turns into a line.
      const entry = ["apis", name];
      if (!API_NAME.test(name)) {
        throw new SpecError(
          `API name ${JSON.stringify(name)} is not usable as a folder name (generated/<api>/, src/<api>/) ` +
            'and entry point (imspec/<api>): use lowercase letters, digits, "-" and "_", starting with a letter or digit',
          entry,
        );
      }
      if (WINDOWS_DEVICE.test(name))
        throw new SpecError(
          `API name ${JSON.stringify(name)} is a device name on Windows, where generated/${name}/ cannot be made: choose another`,
          entry,
        );
      const other = otherFolder(name);
      if (other)
        throw new SpecError(
          `API name ${JSON.stringify(name)} is taken by src/${name}/, a folder that is no API's ` +
            (other === "no entry"
              ? `(it has no index.ts): if it is to be this API's, remove it until this generate succeeds, then write src/${name}/index.ts importing generated/${name}/; else choose another name`
              : `(its entry point imspec/${name}, if any, is another): choose another`),
          entry,
        );
      const root: unknown = apis[name]?.root;
      if (root === undefined || root === null || root === "")
        throw new SpecError(`API "${name}" has no root (the path of its spec)`, entry);
      if (typeof root !== "string")
        throw new SpecError(
          `API "${name}": its root must be the path of its spec, not ${JSON.stringify(root)}`,
          [...entry, "root"],
        );
      // The first line of every generated file names the root in a `//` comment: a line break would
      // end it, and what follows would be read as code.
      if ([...root].some((c) => c < " " || c === "\u007f" || c === "\u2028" || c === "\u2029"))
        throw new SpecError(
          `API "${name}": its root ${JSON.stringify(root)} holds a line break or another control character, which the first line of each generated file cannot show: rename it`,
          [...entry, "root"],
        );
      const file = path.resolve(path.dirname(configPath), root);
      const stats = statSync(file, { throwIfNoEntry: false });
      if (!stats || stats.isDirectory())
        throw new SpecError(
          `API "${name}": its root ${path.relative(ROOT, file)} ${stats ? "is a folder, not the spec file in it" : "does not exist"}`,
          [...entry, "root"],
        );
      const own = config.forAlias(name);
      // Where in the file as written (Redocly's resolved config copies the registry's rules into
      // every API's): read only for the error that names it.
      const ruleAt = (rule: string) => settingOf(parse(readFileSync(configPath, "utf8")), name, rule);
      for (const [rule, severity] of severities(own))
        if (!SEVERITIES.has(severity as string))
          throw new SpecError(
            `the rule ${rule} is set to ${JSON.stringify(severity)} (for ${name}): a rule is error, warn or off`,
            ruleAt(rule),
          );
      for (const rule of RELIED_ON) {
        if (!turnsOff(own, rule)) continue;
        throw new SpecError(
          `API "${name}" turns the rule ${rule} off, and generate reads only the x-imspec-* values it checks: set it to error`,
          ruleAt(rule),
        );
      }
      return {
        name,
        root: path.relative(ROOT, file),
        config: own,
      };
    });
  // Then Redocly's own check of the file, for what the checks above do not name: a rule it does not
  // know (`no-such-rul: error`) or a key out of place would be dropped, the rule off without a word
  // (lint:specs only warns).
  const problems = await lintConfig({ config });
  if (problems.length) throw problemsError(`${path.relative(ROOT, configPath)} check`, problems);
  return entries;
}
