/**
 * What the rate limiter costs a call that it never holds back: budgets far above the call rate
 * (DingTalk's two scopes, app-operation and IP, at a billion calls per window), in-memory store.
 *
 * Cases, measured in alternating rounds like bench/calls.ts (the order turned by one each round):
 *   nothing          an awaited empty async step, the least any extra step costs
 *   tryAcquire       the synchronous take an uncontended call gets (what the engine does first)
 *   acquire          `limiter.acquire(budgets)`, the queued path a contended call takes
 *   layer, on / off  a whole imspec call (dist/) over an in-memory transport: the client's own work
 *                    per call (method, engine, token, classify, parse), with the limiter on and off
 *   call             one keep-alive node:http GET to the loopback server (bench/server.ts), body parsed
 *   acquire + call   the same call behind `acquire`
 * Figures are the median over rounds of µs per call (wall), with the spread of the rounds.
 */
import { Agent, get } from "node:http";
import { type Budget, createRateLimiter } from "../src/core/limiter.js";
import { turn } from "./calls.js";
import { loadImspec, UNLIMITED } from "./clients.js";
import { examples, SENIOR_SETTINGS_PATH, SENIOR_STAFF_ID, TOKEN_HEADER } from "./server.js";
import { median, spread } from "./stats.js";

export interface LimiterRow {
  id: "nothing" | "tryAcquire" | "acquire" | "layer-on" | "layer-off" | "call" | "acquire+call";
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

/** An imspec DingTalk client whose transport answers from memory: what is left is the client's own work. */
async function inMemoryClient(limited: boolean) {
  const createDingTalk = await loadImspec();
  const { seniorSettings, token } = examples();
  const answer = (body: unknown) => ({
    status: 200,
    headers: { "content-type": "application/json", "x-acs-request-id": "bench" },
    body: JSON.stringify(body),
  });
  const settings = answer(seniorSettings);
  const tokenAnswer = answer(token);
  const dt = createDingTalk({
    appKey: "dingbench",
    appSecret: "bench-app-secret",
    rateLimit: limited ? UNLIMITED : false,
    transport: async (request) => (request.url.includes("/oauth2/") ? tokenAnswer : settings),
  });
  return () => dt.contact.listSeniorSettings({ seniorStaffId: SENIOR_STAFF_ID });
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
      id: "tryAcquire",
      label: "`tryAcquire()` (the uncontended path), 2 budgets far above the rate",
      n: MICRO,
      run: async () => limiter.tryAcquire(BUDGETS),
    },
    {
      id: "acquire",
      label: "`acquire()` (the queued path), 2 budgets far above the rate",
      n: MICRO,
      run: () => limiter.acquire(BUDGETS),
    },
    {
      id: "layer-on",
      label: "imspec call over an in-memory transport, limiter on",
      n: MICRO,
      run: await inMemoryClient(true),
    },
    {
      id: "layer-off",
      label: "imspec call over an in-memory transport, limiter off",
      n: MICRO,
      run: await inMemoryClient(false),
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
      for (const c of turn(cases, round)) {
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
