/**
 * Generator cost, always in a throwaway copy of the repository (generated/ here is never touched).
 *
 * - Full regeneration of both specs: `node scripts/generate.mjs` in the copy, generated/ removed
 *   first so every file is computed and written, against the bare openapi-typescript CLI run on
 *   the same two root specs (one process each, as `npx openapi-typescript` would be run).
 * - Scaling: synthetic DingTalk-shaped specs (bench/synthetic.ts) of growing size; the time to
 *   generate them, and the time `tsc --noEmit` takes on a small consumer that imports
 *   `createDingTalk` built over each.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { copyRepo, ROOT } from "../test/support/repo-copy.js";
import { median } from "./stats.js";
import { writeSyntheticSpec } from "./synthetic.js";

const OPENAPI_TS = path.join(ROOT, "node_modules/openapi-typescript/bin/cli.js");
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");
const SPECS = ["specs/dingtalk/openapi.yaml", "specs/workplus/openapi.yaml"];

const CHILD_CPU = path.join(ROOT, "bench/child-cpu.mjs");

interface Timing {
  /** Wall ms, process start included. */
  wall: number;
  /** CPU ms (user + system) of the process doing the work. */
  cpu: number;
}

/**
 * Runs `runner [runnerArgs…] bench/child-cpu.mjs script [args…]` to its end: wall time from here,
 * CPU time as the working process reports it. Throws on a non-zero exit.
 */
function timed(
  runner: string,
  runnerArgs: string[],
  script: string,
  args: string[],
  cwd: string,
): Promise<Timing> {
  const cpuFile = path.join(
    tmpdir(),
    `imspec-bench-cpu-${process.pid}-${Math.random().toString(36).slice(2)}.json`,
  );
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      runner,
      [...runnerArgs, CHILD_CPU, script, ...args],
      {
        cwd,
        timeout: 120_000,
        maxBuffer: 32 * 1024 * 1024,
        env: { ...process.env, BENCH_CPU_FILE: cpuFile },
      },
      (error, out, err) => {
        const wall = performance.now() - started;
        if (error) {
          reject(new Error(`${path.basename(script)} ${args.join(" ")} failed:\n${out}\n${err}`));
          return;
        }
        try {
          const { user, system } = JSON.parse(readFileSync(cpuFile, "utf8")) as {
            user: number;
            system: number;
          };
          rmSync(cpuFile, { force: true });
          resolve({ wall, cpu: (user + system) / 1000 });
        } catch (cause) {
          reject(new Error(`${path.basename(script)} reported no CPU time`, { cause }));
        }
      },
    );
  });
}

/** The generator as `npm run generate` runs it: node scripts/generate.mjs, in the copy. */
const generate = (dir: string, args: string[] = []) =>
  timed(process.execPath, [], path.join(dir, "scripts/generate.mjs"), args, dir);
/** A plain Node script (openapi-typescript's CLI, tsc). */
const nodeScript = (script: string, args: string[], cwd: string) =>
  timed(process.execPath, [], script, args, cwd);

export interface RegenerateResult {
  /** One timing per round. */
  imspec: Timing[];
  /** `openapi-typescript --redocly`: both specs in one process (the baseline of the target). */
  openapiTypescript: Timing[];
  /** `openapi-typescript <spec> -o <file>`, one process per spec (summed). */
  openapiTypescriptPerSpec: Timing[];
  imspecMs: Timing;
  openapiTypescriptMs: Timing;
  openapiTypescriptPerSpecMs: Timing;
}

export interface ScalingRow {
  operations: number;
  generate: Timing[];
  tsc: Timing[];
  generateMs: Timing;
  tscMs: Timing;
}

const medianOf = (timings: Timing[]): Timing => ({
  wall: median(timings.map((t) => t.wall)),
  cpu: median(timings.map((t) => t.cpu)),
});

export interface GenerationResult {
  regenerate: RegenerateResult;
  scaling: ScalingRow[];
}

/**
 * A Redocly config for the bare CLI: the same two APIs, each with its output file, and no rules
 * or plugins (openapi-typescript reads `redocly.yaml` from its working directory).
 */
function bareConfig(dir: string): string {
  const folder = path.join(dir, "bare");
  mkdirSync(folder, { recursive: true });
  const apis = SPECS.map((spec) => {
    const name = path.basename(path.dirname(spec));
    return `  ${name}:\n    root: ${path.join(dir, spec)}\n    x-openapi-ts:\n      output: ${path.join(folder, `${name}.ts`)}\n`;
  });
  writeFileSync(path.join(folder, "redocly.yaml"), `apis:\n${apis.join("")}`);
  return folder;
}

async function regenerate(dir: string, rounds: number, deadline: number): Promise<RegenerateResult> {
  const imspec: Timing[] = [];
  const onePerSpec: Timing[] = [];
  const oneProcess: Timing[] = [];
  const bare = bareConfig(dir);
  const empty = path.join(dir, "bare-single");
  mkdirSync(empty, { recursive: true });
  for (let round = 0; round < rounds && (round === 0 || performance.now() < deadline); round++) {
    rmSync(path.join(dir, "generated"), { recursive: true, force: true });
    imspec.push(await generate(dir));
    // `openapi-typescript --redocly redocly.yaml`: both APIs in one process.
    oneProcess.push(await nodeScript(OPENAPI_TS, ["--redocly", "redocly.yaml"], bare));
    // `openapi-typescript <spec> -o <file>`, once per spec (run where no redocly.yaml is found).
    const total: Timing = { wall: 0, cpu: 0 };
    for (const spec of SPECS) {
      const target = path.join(bare, `${path.basename(path.dirname(spec))}-single.ts`);
      const t = await nodeScript(OPENAPI_TS, [path.join(dir, spec), "-o", target], empty);
      total.wall += t.wall;
      total.cpu += t.cpu;
    }
    onePerSpec.push(total);
  }
  return {
    imspec,
    openapiTypescript: oneProcess,
    openapiTypescriptPerSpec: onePerSpec,
    imspecMs: medianOf(imspec),
    openapiTypescriptMs: medianOf(oneProcess),
    openapiTypescriptPerSpecMs: medianOf(onePerSpec),
  };
}

/** A consumer that uses the client the way an application does: the real spec's call and a synthetic one. */
function writeConsumer(dir: string): void {
  writeFileSync(
    path.join(dir, "consumer.ts"),
    [
      'import { createDingTalk } from "./src/dingtalk/index.js";',
      "",
      'const dt = createDingTalk({ appKey: "dingbench", appSecret: "bench-app-secret" });',
      'const settings = await dt.contact.listSeniorSettings({ seniorStaffId: "013349365367-1094322561" });',
      "console.log(settings.seniorWhiteList?.[0]?.name);",
      "const page = await dt.contact.listEmpAttributeVisibility({ maxResults: 10 });",
      "console.log(page.nextCursor);",
      "",
    ].join("\n"),
  );
  // The repository's compiler options with only the alias the sources need (`#default-transport`, which
  // package.json maps to dist/); only the consumer is listed.
  const { compilerOptions } = JSON.parse(readFileSync(path.join(ROOT, "tsconfig.json"), "utf8")) as {
    compilerOptions: Record<string, unknown>;
  };
  compilerOptions.paths = { "#default-transport": ["./src/core/node-transport.ts"] };
  writeFileSync(
    path.join(dir, "tsconfig.consumer.json"),
    `${JSON.stringify({ compilerOptions: { ...compilerOptions, noEmit: true }, files: ["consumer.ts"] }, null, 2)}\n`,
  );
}

async function scaling(
  dir: string,
  sizes: number[],
  rounds: number,
  deadline: number,
): Promise<ScalingRow[]> {
  cpSync(path.join(ROOT, "src"), path.join(dir, "src"), { recursive: true });
  writeConsumer(dir);
  const samples = new Map<number, { generate: Timing[]; tsc: Timing[] }>(
    sizes.map((n) => [n, { generate: [], tsc: [] }]),
  );
  // Alternating rounds, as for the clients: 50 200 800 50 200 800 …
  for (let round = 0; round < rounds && (round === 0 || performance.now() < deadline); round++) {
    for (const size of sizes) {
      writeSyntheticSpec(path.join(dir, "specs/dingtalk"), size);
      rmSync(path.join(dir, "generated/dingtalk"), { recursive: true, force: true });
      const s = samples.get(size);
      s?.generate.push(await generate(dir, ["--api", "dingtalk"]));
      s?.tsc.push(await nodeScript(TSC, ["-p", "tsconfig.consumer.json"], dir));
    }
  }
  return sizes.map((operations) => {
    const s = samples.get(operations) ?? { generate: [], tsc: [] };
    return {
      operations,
      generate: s.generate,
      tsc: s.tsc,
      generateMs: medianOf(s.generate),
      tscMs: medianOf(s.tsc),
    };
  });
}

/**
 * Rounds after the first start only while the section is inside `budgetMs` (each part gets half),
 * so a slow machine gets fewer rounds rather than a run that never ends.
 */
export async function generation(options: {
  rounds: number;
  sizes: number[];
  scalingRounds: number;
  budgetMs: number;
}): Promise<GenerationResult> {
  const copy = copyRepo();
  const start = performance.now();
  try {
    const regen = await regenerate(copy.dir, options.rounds, start + options.budgetMs / 2);
    const scale = await scaling(copy.dir, options.sizes, options.scalingRounds, start + options.budgetMs);
    return { regenerate: regen, scaling: scale };
  } finally {
    copy.remove();
  }
}
