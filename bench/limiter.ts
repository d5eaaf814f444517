/**
 * What the rate limiter costs a call that it never holds back: budgets far above the call rate
 * (DingTalk's two scopes, app-operation and IP, at a billion calls per window), in-memory store.
 *
 * Cases, measured in alternating rounds (A B C D A B C D …) like bench/calls.ts:
 *   nothing          an awaited empty async step, the least any extra step costs
 *   acquire          `limiter.acquire(budgets)` alone
 *   call             one keep-alive node:http GET to the loopback server (bench/server.ts), body parsed
 *   acquire + call   the same call behind `acquire`
 * Figures are the median over rounds of µs per call (wall), with the spread of the rounds.
 */
import { Agent, get } from "node:http";
import { type Budget, createRateLimiter } from "../src/core/limiter.js";
import { SENIOR_SETTINGS_PATH, SENIOR_STAFF_ID, TOKEN_HEADER } from "./server.js";
import { median, spread } from "./stats.js";

export interface LimiterRow {
  id: "nothing" | "acquire" | "call" | "acquire+call";
  label: string;
  /** µs per call (wall time), one value per round. */
  rounds: number[];
  medianUs: number;
  spread: number;
}

const BUDGETS: Budget[] = [
  { key: "dingtalk:app-key:contact.listSeniorSettings", calls: 1e9, windowMs: 1_000 },
  { key: "dingtalk:ip", calls: 1e9, windowMs: 20_000 },
];

const MICRO = 25;

/** One keep-alive GET of the documented operation, resolving to the parsed body (the bench's floor client). */
function loopbackCall(serverUrl: string, agent: Agent): () => Promise<unknown> {
  const base = new URL(serverUrl);
  const options = {
    host: base.hostname,
    port: base.port,
    path: `${SENIOR_SETTINGS_PATH}?seniorStaffId=${SENIOR_STAFF_ID}`,
    agent,
    headers: { [TOKEN_HEADER]: "bench-token", accept: "application/json" },
  };
  return () =>
    new Promise((resolve, reject) => {
      get(options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          } catch (error) {
            reject(error);
          }
        });
        res.on("error", reject);
      }).on("error", reject);
    });
}

/** Runs the cases; with `serverUrl` (bench/server.ts), also with and without a loopback call. */
export async function limiterCost(options: {
  rounds: number;
  calls: number;
  serverUrl?: string | undefined;
}): Promise<LimiterRow[]> {
  const limiter = createRateLimiter();
  const nothing = async () => undefined;
  const agent = new Agent({ keepAlive: true });
  const call = options.serverUrl ? loopbackCall(options.serverUrl, agent) : undefined;
  // The steps alone are so short that they run `MICRO` times as often per round as the calls.
  const cases: Array<{ id: LimiterRow["id"]; label: string; n: number; run: () => Promise<unknown> }> = [
    { id: "nothing", label: "an awaited empty async step", n: MICRO, run: nothing },
    {
      id: "acquire",
      label: "`acquire()`, 2 budgets far above the rate",
      n: MICRO,
      run: () => limiter.acquire(BUDGETS),
    },
  ];
  if (call) {
    cases.push(
      { id: "call", label: "one loopback call (node:http keep-alive)", n: 1, run: call },
      {
        id: "acquire+call",
        label: "`acquire()` then the same call",
        n: 1,
        run: async () => {
          await limiter.acquire(BUDGETS);
          return call();
        },
      },
    );
  }
  const samples = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  // Warm-up, untimed: lets the JIT settle on each case.
  try {
    for (const c of cases) for (let i = 0; i < options.calls * c.n; i++) await c.run();
    for (let round = 0; round < options.rounds; round++) {
      for (const c of cases) {
        const calls = options.calls * c.n;
        const started = process.hrtime.bigint();
        for (let i = 0; i < calls; i++) await c.run();
        samples.get(c.id)?.push(Number(process.hrtime.bigint() - started) / 1000 / calls);
      }
    }
  } finally {
    agent.destroy();
  }
  return cases.map((c) => {
    const rounds = samples.get(c.id) ?? [];
    return { id: c.id, label: c.label, rounds, medianUs: median(rounds), spread: spread(rounds) };
  });
}
