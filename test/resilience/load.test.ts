/**
 * Load: 2,000 calls with 100 in flight against the loopback mock server, every token expired in the
 * middle of the run (at call 1,000). Every call must succeed, the mock must see exactly one token request per
 * expiry (plus the first), each refused call is replayed once, nothing rejects unhandled, no planted
 * secret or token shows in a log event or an error, and the client's heap after a forced collection
 * is back within 10% of where it started.
 *
 * The client runs in a child process (`node --expose-gc --import tsx`, see workers/load-worker.ts)
 * so it can force a collection and measure its own heap without the test runner's; the mock runs
 * here, where the test counts what it received. A warm-up round of 1,000 calls (with its own expiry
 * at call 500) comes first, so the heap is measured once every code path has run: the first token,
 * the refusal, the shared refresh and the replay. Each run is bounded: the child is killed and the
 * test fails if it has not reported within LOAD_BOUND_MS.
 */
import path from "node:path";
import { type MockApi, type MockServer, startMockServer } from "imspec/mock";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { loadEntries, managedOptions, plainRead } from "../contract/entries.js";
import { APIS, sampleParams } from "../contract/support.js";
import { collectUnhandledRejections } from "../support/unhandled.js";
import { type ForkedWorker, forkWorker, stopWorkers, within } from "../support/workers.js";
import { MOCK_TOKEN_SHAPE } from "./secrets.js";
import { LOAD } from "./sizes.js";
import type { LoadConfig, LoadReport } from "./workers/load-worker.js";

const WORKER = path.join(import.meta.dirname, "workers/load-worker.ts");
const { calls: CALLS, inFlight: CONCURRENCY } = LOAD;
const WARMUP = 1_000;
/**
 * The whole run of one API (process start, warm-up, 2,000 calls, collections) must end within this.
 * It takes 3 to 10 s on a 2-core machine, the slower figure with other work running.
 */
const LOAD_BOUND_MS = 40_000;
/** No single call may take longer than this (a call waits at most for one token refresh and a replay). */
const CALL_BOUND_MS = 5_000;
const HEAP_SLACK = 0.1;

/** The app secret each client is given: planted, so it must never show. */
const secretOf = (api: string) => `planted-load-${api}-secret-V8n3Kq`;
const entries = await loadEntries();

const unhandled = collectUnhandledRejections();
afterAll(() => {
  unhandled.stop();
  expect(unhandled.reasons).toEqual([]);
});

let mock: MockServer | undefined;
let child: ForkedWorker<LoadReport> | undefined;
afterEach(async () => {
  if (child) await stopWorkers([child]);
  child = undefined;
  await mock?.stop();
  mock = undefined;
});

/** Starts the client process; expires the mock's tokens when it asks; resolves with its report. */
async function runLoad(
  api: MockApi,
  operationId: string,
  server: MockServer,
): Promise<{ report: LoadReport; expiries: number }> {
  const entry = entries[api];
  const secret = secretOf(api);
  const config: LoadConfig = {
    api,
    createName: entry.createName,
    // Pacing would stretch 2,000 calls over minutes: this run is about tokens, not budgets.
    options: { ...managedOptions(entry, secret), baseUrl: server.urls[api], rateLimit: false },
    tag: plainRead(entry).tag,
    operationId,
    params: sampleParams(api, operationId),
    calls: CALLS,
    concurrency: CONCURRENCY,
    warmup: WARMUP,
    secret,
  };
  const worker = forkWorker<LoadReport>(
    `the ${api} load process`,
    WORKER,
    { IMSPEC_LOAD: JSON.stringify(config) },
    ["--expose-gc"],
  );
  child = worker;
  let expiries = 0;
  worker.child.on("message", (message) => {
    if (message !== "expire") return;
    server.expireTokens(api);
    expiries++;
    worker.child.send("expired");
  });
  const report = await within(LOAD_BOUND_MS, `the ${api} load run`, worker.report);
  return { report, expiries };
}

// Every API of redocly.yaml, each through its first plain read (a GET that takes the app token).
describe.each(APIS)("load: %s", (api) => {
  const { operationId } = plainRead(entries[api]);
  it(
    `${CALLS} calls of ${operationId}, ${CONCURRENCY} in flight, every token expired at call ${CALLS / 2}`,
    async () => {
      const server = await startMockServer();
      mock = server;
      const started = Date.now();
      const { report, expiries } = await runLoad(api, operationId, server);
      const elapsed = Date.now() - started;

      // Every call (warm-up included) succeeded with the same result, the spec example's.
      expect(report.failures).toEqual([]);
      expect(report.failed).toBe(0);
      expect(report.ok).toBe(CALLS);
      expect(report.calls).toBe(WARMUP + CALLS);
      expect(report.wrongResults).toBe(0);

      // One token request for the cold cache (100 calls at once), exactly one more per expiry.
      expect(expiries).toBe(2);
      expect(report.expiries).toBe(expiries);
      expect(server.tokenRequests(api)).toBe(1 + expiries);
      expect(report.tokens[0]).not.toBe(report.tokens[1]);
      // The tokens have the shape the worker looks for in every log line and error.
      for (const token of report.tokens) expect(token).toMatch(MOCK_TOKEN_SHAPE);
      // The calls refused with an expired token were replayed once each, and only they: the mock saw
      // every call once plus one replay per refusal; the log has one event per request.
      const replays = report.tokenReplacedEvents;
      expect(replays).toBeGreaterThanOrEqual(expiries);
      expect(replays).toBeLessThanOrEqual(2 * CONCURRENCY * expiries);
      expect(server.count(api, operationId)).toBe(report.calls + replays);
      expect(report.logEvents).toBe(report.calls + replays + server.tokenRequests(api));

      expect(report.unhandled).toEqual([]);
      expect(report.leaks).toEqual([]);

      // The heap returns to where it started once the run's garbage is collected.
      expect(
        report.heapEnd,
        `heap ${(report.heapStart / 1e6).toFixed(1)} MB → ${(report.heapEnd / 1e6).toFixed(1)} MB`,
      ).toBeLessThanOrEqual(report.heapStart * (1 + HEAP_SLACK));

      expect(report.slowestMs).toBeLessThan(CALL_BOUND_MS);
      expect(elapsed).toBeLessThan(LOAD_BOUND_MS);
    },
    LOAD_BOUND_MS + 10_000,
  );
});
