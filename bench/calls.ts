/**
 * Per-call cost and throughput of every client against the loopback server (bench/server.ts).
 *
 * Per call: each client makes `calls` sequential calls per round; rounds alternate the clients
 * (A B C, then B C A, then C A B, …) so a slow patch of a shared machine hits every client alike.
 * The figure is the median over rounds of (round time / calls), with the spread of the rounds. The
 * order turns by one place each round: in a fixed order a client always followed the same one and
 * paid for what that one left (its garbage, its sockets' timers), the same bias in every round.
 *
 * Throughput: `inFlight` calls kept in flight until `calls` are done or `maxMs` has passed,
 * whichever is first; again alternating rounds, median calls/s.
 */
import { isDeepStrictEqual } from "node:util";
import type { BenchClient } from "./clients.js";
import { examples } from "./server.js";
import { median, spread } from "./stats.js";

export interface PerCallRow {
  id: string;
  label: string;
  /** µs per call (wall time), one value per round. */
  rounds: number[];
  medianUs: number;
  spread: number;
  /** µs of this process's CPU time (user + system) per call, one value per round. */
  cpuRounds: number[];
  cpuMedianUs: number;
  cpuSpread: number;
}

export interface ThroughputRow {
  id: string;
  label: string;
  inFlight: number;
  /** calls/s, one value per round. */
  rounds: number[];
  median: number;
  spread: number;
}

/** Every client must answer the documented example: a client that skipped work would not. */
export async function sanityCheck(clients: BenchClient[]): Promise<void> {
  const expected = examples().seniorSettings;
  for (const client of clients) {
    const got = await client.call();
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(got)), expected)) {
      throw new Error(`${client.label} answered ${JSON.stringify(got)}, not the documented example`);
    }
  }
}

/** Round `round`'s order: the clients turned by one place per round, so none always follows the same one. */
export function turn<T>(clients: readonly T[], round: number): T[] {
  const at = round % clients.length;
  return [...clients.slice(at), ...clients.slice(0, at)];
}

/** Wall and CPU µs of `calls` sequential calls. */
async function sequential(client: BenchClient, calls: number): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await client.call();
  const wall = Number(process.hrtime.bigint() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: used.user + used.system };
}

export async function warmUp(clients: BenchClient[], calls: number): Promise<void> {
  for (const client of clients) await sequential(client, calls);
}

export async function perCall(
  clients: BenchClient[],
  options: { rounds: number; calls: number },
): Promise<PerCallRow[]> {
  const wall = new Map<string, number[]>(clients.map((c) => [c.id, []]));
  const cpu = new Map<string, number[]>(clients.map((c) => [c.id, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (const client of turn(clients, round)) {
      const us = await sequential(client, options.calls);
      wall.get(client.id)?.push(us.wall / options.calls);
      cpu.get(client.id)?.push(us.cpu / options.calls);
    }
  }
  return clients.map((c) => {
    const rounds = wall.get(c.id) ?? [];
    const cpuRounds = cpu.get(c.id) ?? [];
    return {
      id: c.id,
      label: c.label,
      rounds,
      medianUs: median(rounds),
      spread: spread(rounds),
      cpuRounds,
      cpuMedianUs: median(cpuRounds),
      cpuSpread: spread(cpuRounds),
    };
  });
}

/** `calls` calls (or as many as `maxMs` allows), `inFlight` at a time: calls/s and CPU µs per call. */
export async function load(
  client: BenchClient,
  inFlight: number,
  calls: number,
  maxMs: number,
): Promise<{ rate: number; cpuUs: number }> {
  let started = 0;
  let done = 0;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + maxMs;
  const worker = async () => {
    while (started < calls && performance.now() < deadline) {
      started++;
      await client.call();
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const used = process.cpuUsage(cpu);
  return { rate: done / ((performance.now() - t0) / 1000), cpuUs: (used.user + used.system) / done };
}

export async function throughput(
  clients: BenchClient[],
  options: { inFlight: number[]; rounds: number; calls: number; maxMs: number },
): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const inFlight of options.inFlight) {
    // A short untimed run opens the connections this level needs.
    for (const client of clients) await load(client, inFlight, inFlight * 20, options.maxMs);
    const samples = new Map<string, number[]>(clients.map((c) => [c.id, []]));
    for (let round = 0; round < options.rounds; round++) {
      for (const client of turn(clients, round)) {
        samples.get(client.id)?.push((await load(client, inFlight, options.calls, options.maxMs)).rate);
      }
    }
    for (const c of clients) {
      const rounds = samples.get(c.id) ?? [];
      rows.push({
        id: c.id,
        label: c.label,
        inFlight,
        rounds,
        median: median(rounds),
        spread: spread(rounds),
      });
    }
  }
  return rows;
}
