/**
 * `npm run bench:compare -- <git revision>`: the default client as built now against the same client
 * built from another revision, side by side in one process, with the node:http floor beside them:
 * what a change to the hot path buys, measured the only way the numbers mean something on a shared
 * machine. Alternating rounds of `calls` calls kept `inFlight` in flight; median calls/s and the
 * process's CPU µs per call, and the two builds' ratio paired round by round (what a change of a few
 * percent shows in). The other revision is built in a temporary git worktree (its `npm run
 * dist`, with this checkout's node_modules) that is removed afterwards. Loopback only, bounded in calls.
 *
 *   npm run bench:compare -- HEAD~1                       # 64 in flight, 11 rounds of 4,000 calls
 *   npm run bench:compare -- v0.1.0 --in-flight 1,16,64 --rounds 7
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { load, sanityCheck, turn, warmUp } from "./calls.js";
import { type BenchClient, type Factory, imspec, loadImspec, nodeHttp } from "./clients.js";
import { startServer } from "./server.js";
import { buildDist } from "./size.js";
import { fmt, median, paired, pct, ratio, spread, table } from "./stats.js";

const ROOT = path.join(import.meta.dirname, "..");
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "in-flight": { type: "string", default: "64" },
    rounds: { type: "string", default: "11" },
    calls: { type: "string", default: "4000" },
  },
});
const against = positionals[0];
if (!against) {
  console.error(
    "usage: npm run bench:compare -- <git revision> [--in-flight 1,16,64] [--rounds N] [--calls N]",
  );
  process.exit(2);
}
const levels = (values["in-flight"] ?? "64").split(",").map(Number);
const rounds = Number(values.rounds);
const calls = Number(values.calls);
if (![...levels, rounds, calls].every((n) => Number.isInteger(n) && n > 0 && n <= 100_000)) {
  console.error("--in-flight, --rounds and --calls take whole numbers from 1 to 100,000");
  process.exit(2);
}

/** Builds `revision` in a temporary worktree; returns its folder and the function that removes it. */
function buildRevision(revision: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), "imspec-compare-"));
  rmSync(dir, { recursive: true });
  const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, stdio: "pipe" });
  git("worktree", "add", "--detach", dir, revision);
  const remove = () => {
    git("worktree", "remove", "--force", dir);
  };
  try {
    symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    execFileSync(path.join(ROOT, "node_modules/.bin/tsx"), ["scripts/dist.ts"], { cwd: dir, stdio: "pipe" });
  } catch (error) {
    remove();
    throw error;
  }
  return { dir, remove };
}

/** The two builds' ratio round by round (`paired`): a difference of a few percent shows where the medians' spreads hide it. */
function pairedLine(
  mine: { rate: number[]; cpu: number[] } | undefined,
  theirs: { rate: number[]; cpu: number[] } | undefined,
): string {
  if (!mine || !theirs) return "";
  const of = (a: number[], b: number[]) => {
    const r = paired(a, b);
    return `${fmt(r.median, 3)}× (quartiles ${fmt(r.q1, 3)}–${fmt(r.q3, 3)})`;
  };
  return `Paired by round, this checkout ÷ ${against}: CPU per call ${of(mine.cpu, theirs.cpu)}, calls/s ${of(mine.rate, theirs.rate)}.`;
}

console.error(`building dist/ and ${against}`);
await buildDist();
const other = buildRevision(against);
const server = await startServer();
try {
  const base = new URL(server.url);
  const entry = pathToFileURL(path.join(other.dir, "dist/src/dingtalk/index.js")).href;
  const otherFactory = ((await import(entry)) as { createDingTalk: Factory }).createDingTalk;
  const clients: BenchClient[] = [
    nodeHttp(base),
    { ...imspec(base, await loadImspec(), "default"), label: "imspec (this checkout)" },
    { ...imspec(base, otherFactory, "default"), id: "other", label: `imspec (${against})` },
  ];
  await sanityCheck(clients);
  await warmUp(clients, 1_000);
  for (const inFlight of levels) {
    const samples = new Map(clients.map((c) => [c.id, { rate: [] as number[], cpu: [] as number[] }]));
    for (let round = 0; round < rounds; round++)
      for (const client of turn(clients, round)) {
        const { rate, cpuUs: cpu } = await load(client, inFlight, calls, Number.POSITIVE_INFINITY);
        samples.get(client.id)?.rate.push(rate);
        samples.get(client.id)?.cpu.push(cpu);
      }
    const floor = samples.get(clients[0]?.id ?? "") ?? { rate: [1], cpu: [1] };
    const rows = clients.map((c) => {
      const s = samples.get(c.id) ?? { rate: [], cpu: [] };
      return [
        c.label,
        `${fmt(median(s.rate))} ${pct(spread(s.rate))}`,
        ratio(paired(s.rate, floor.rate).median),
        `${fmt(median(s.cpu), 1)} ${pct(spread(s.cpu))}`,
        ratio(paired(s.cpu, floor.cpu).median),
      ];
    });
    console.log(
      `\n### ${inFlight} in flight (median of ${rounds} alternating rounds of ${fmt(calls)} calls)\n`,
    );
    console.log(
      table([["client", "calls/s", "× floor", "CPU µs/call", "× floor"], ...rows], ["l", "r", "r", "r", "r"]),
    );
    console.log(`\n${pairedLine(samples.get("imspec"), samples.get("other"))}`);
  }
  for (const c of clients) await c.close();
} finally {
  await server.stop();
  other.remove();
}
