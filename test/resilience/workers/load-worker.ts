/**
 * The client side of the load test: one process with one client, started by
 * test/resilience/load.test.ts as `node --expose-gc --import tsx` so it can force a collection and
 * measure its own heap. Each round makes its calls with `concurrency` in flight and, just before the
 * round's middle call starts, asks the parent (which runs the mock server) to expire every token and
 * waits for the answer. A warm-up round takes every code path once (first token, refusal, refresh,
 * replay) so lazily compiled code and the connection pool are in place; then the heap is measured,
 * the measured round of `calls` calls runs, and the heap is measured again.
 * Every log event and every error is checked for planted secrets as it arrives (nothing is kept,
 * so the check does not grow the heap it measures).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { LogEvent } from "../../../src/core/options.js";
import { leaked, MOCK_TOKEN_SHAPE, shown } from "../secrets.js";

export interface LoadConfig {
  /** The API: its entry module is src/<api>/index.ts. */
  api: string;
  /** The entry module's client factory (`create…`). */
  createName: string;
  /** The client's options, logger aside: they make it manage its own app token. */
  options: Record<string, unknown>;
  /** The operation every call makes, its method group and parameters. */
  tag: string;
  operationId: string;
  params: Record<string, unknown>;
  calls: number;
  concurrency: number;
  warmup: number;
  secret: string;
}

export interface LoadReport {
  ok: number;
  /** One line per failed call (name and message), at most 20. */
  failures: string[];
  failed: number;
  /** Calls whose result differed from the first result. */
  wrongResults: number;
  unhandled: string[];
  heapStart: number;
  heapEnd: number;
  /** The longest call, in ms. */
  slowestMs: number;
  runMs: number;
  logEvents: number;
  tokenReplacedEvents: number;
  /** Log lines or errors that showed a planted secret or a token. */
  leaks: string[];
  /** The token the client held after the warm-up, and after the measured round. */
  tokens: string[];
  /** How many times the parent was asked to expire the tokens. */
  expiries: number;
  /** Calls made in all, the warm-up included. */
  calls: number;
}

const config = JSON.parse(process.env.IMSPEC_LOAD ?? "{}") as LoadConfig;
const unhandled: string[] = [];
process.on("unhandledRejection", (reason) => {
  unhandled.push(String(reason));
});

const leaks: string[] = [];
const planted = [config.secret];
let logEvents = 0;
let tokenReplacedEvents = 0;
function check(where: string, text: string): void {
  if (leaks.length >= 20) return;
  const found = leaked(text, planted);
  if (found.length || MOCK_TOKEN_SHAPE.test(text)) leaks.push(`${where}: ${text.slice(0, 300)}`);
}
const logger = (event: LogEvent) => {
  logEvents++;
  if (event.tokenReplaced) tokenReplacedEvents++;
  check("log", JSON.stringify(event));
};

/** The call under test, and the token the client's managed cache holds now. */
type Method = (params: Record<string, unknown>) => Promise<unknown>;
interface LoadClient {
  appToken: { get(): Promise<string> };
  [tag: string]: unknown;
}
const entry = (await import(`../../../src/${config.api}/index.ts`)) as Record<
  string,
  (options: Record<string, unknown>) => LoadClient
>;
const create = entry[config.createName];
if (!create) throw new Error(`src/${config.api}/index.ts exports no ${config.createName}`);
const client = create({ ...config.options, logger });
const method = (client[config.tag] as Record<string, Method> | undefined)?.[config.operationId];
if (!method) throw new Error(`the ${config.api} client has no ${config.tag}.${config.operationId}`);
const call = () => method(config.params);
const tokenOf = () => client.appToken.get();

/** The parent's answer to a request for expiry. */
function expireTokens(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (message === "expired") {
        process.off("message", onMessage);
        resolve();
      }
    };
    process.on("message", onMessage);
    process.send?.("expire");
  });
}

async function heapAfterGc(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc");
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    gc();
    await sleep(20);
    least = Math.min(least, process.memoryUsage().heapUsed);
  }
  return least;
}

async function main(): Promise<LoadReport> {
  let failed = 0;
  const failures: string[] = [];
  let expected: string | undefined;
  let wrongResults = 0;
  let slowestMs = 0;
  const tokens: string[] = [];

  let expiries = 0;
  let calls = 0;
  /**
   * Runs `count` calls with `concurrency` lanes; every token is expired before call `count / 2`
   * starts, and the calls after it wait until the parent says it is done.
   */
  const run = async (count: number) => {
    const expireAt = Math.floor(count / 2);
    let gate: Promise<void> | undefined;
    let next = 0;
    let ok = 0;
    const lane = async () => {
      for (let i = next++; i < count; i = next++) {
        if (i === expireAt) {
          expiries++;
          gate = expireTokens();
        }
        if (i >= expireAt) await gate;
        calls++;
        const started = performance.now();
        try {
          const result = JSON.stringify(await call());
          expected ??= result;
          if (result !== expected) wrongResults++;
          ok++;
        } catch (error) {
          failed++;
          if (failures.length < 20) failures.push(`${(error as Error)?.name}: ${(error as Error)?.message}`);
          check("error", shown(error));
        }
        slowestMs = Math.max(slowestMs, performance.now() - started);
      }
    };
    await Promise.all(Array.from({ length: config.concurrency }, lane));
    return ok;
  };

  await run(config.warmup);
  tokens.push(await tokenOf());
  const heapStart = await heapAfterGc();

  const started = performance.now();
  const ok = await run(config.calls);
  const runMs = Math.round(performance.now() - started);
  tokens.push(await tokenOf());

  const heapEnd = await heapAfterGc();
  return {
    ok,
    failures,
    failed,
    wrongResults,
    unhandled,
    heapStart,
    heapEnd,
    slowestMs: Math.round(slowestMs),
    runMs,
    logEvents,
    tokenReplacedEvents,
    leaks,
    tokens,
    expiries,
    calls,
  };
}

main().then(
  (report) => process.send?.({ report }, () => process.exit(0)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
