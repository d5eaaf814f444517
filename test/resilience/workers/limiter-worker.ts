/**
 * One "server process" of an app in the rate-limit test: a limiter whose budgets live in Redis, and
 * a plain HTTP call after each `acquire` (the limiter alone, without the client engine). Started by
 * test/resilience/rate-limit.test.ts with `node --import tsx`; talks to it over IPC: sends `ready`,
 * waits for `go`, starts all its calls at once, sends the outcome, exits.
 */
import { Agent, request } from "node:http";
import { Redis } from "ioredis";
import { type Budget, createRateLimiter } from "../../../src/core/limiter.js";
import { RedisLimiterStore } from "../../../src/redis/index.js";

export interface WorkerConfig {
  worker: string;
  serverUrl: string;
  redisUrl: string;
  prefix: string;
  calls: number;
  /** Call i goes to operation `op<i % operations>`. */
  operations: number;
  /** Without the limiter: every call is sent at once (the test's control run). */
  limiter: boolean;
  /** The declared budgets (as in `x-imspec-rate-limits`). */
  limits: Array<{ calls: number; seconds: number; scope: "app-operation" | "ip" }>;
  /** Added to every window: calls let go at the window's edge reach the server a few ms apart. */
  marginMs: number;
  expectedProcesses: number;
  commandTimeoutMs: number;
  retryMs: number;
}

export interface WorkerReport {
  worker: string;
  ok: number;
  throttled: number;
  failures: string[];
  /** What the store told its logger. */
  logs: string[];
  /** Date.now() at each send, in send order. */
  sentAt: number[];
  maxWaitedMs: number;
}

const config = JSON.parse(process.env.IMSPEC_WORKER ?? "{}") as WorkerConfig;

const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
// Errors also reach the commands that were waiting; without a listener ioredis prints each one.
redis.on("error", () => undefined);
const logs: string[] = [];
const limiter = createRateLimiter({
  store: new RedisLimiterStore(redis, {
    prefix: config.prefix,
    expectedProcesses: config.expectedProcesses,
    commandTimeoutMs: config.commandTimeoutMs,
    retryMs: config.retryMs,
    logger: (message) => logs.push(message),
  }),
});

const budgets = (operation: string): Budget[] =>
  config.limits.map((l) => ({
    key: l.scope === "ip" ? "ip:127.0.0.1" : `app-1:${operation}`,
    calls: l.calls,
    windowMs: l.seconds * 1000 + config.marginMs,
  }));

/** A keep-alive GET (node:http costs a third of the CPU of Node 20's fetch per call): status and JSON body. */
const agent = new Agent({ keepAlive: true, maxSockets: 32 });
const get = (url: string) =>
  new Promise<{ status: number; body: { code?: string } }>((resolve, reject) => {
    const req = request(url, { agent, headers: { "x-worker": config.worker } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || "{}") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });

// Connect to Redis and open the server connections before `go`, so the calls race on the budgets,
// not on connecting: a call that lingers between `acquire` and the server is what the window's
// margin must absorb.
await redis.ping();
await Promise.all(Array.from({ length: 32 }, () => get(`${config.serverUrl}/warm-up`)));

// The parent may die without telling us: never outlive it for long.
const watchdog = setTimeout(() => process.exit(3), 60_000);
watchdog.unref();
const onDisconnect = () => process.exit(4);
process.on("disconnect", onDisconnect);

process.once("message", async (message) => {
  if (message !== "go") return;
  const report: WorkerReport = {
    worker: config.worker,
    ok: 0,
    throttled: 0,
    failures: [],
    logs,
    sentAt: [],
    maxWaitedMs: 0,
  };
  await Promise.all(
    Array.from({ length: config.calls }, async (_, i) => {
      const operation = `op${i % config.operations}`;
      try {
        if (config.limiter) {
          const waited = await limiter.acquire(budgets(operation));
          report.maxWaitedMs = Math.max(report.maxWaitedMs, waited);
        }
        report.sentAt.push(Date.now());
        const { status, body } = await get(`${config.serverUrl}/v1.0/${operation}`);
        if (status === 200) report.ok++;
        else if (body.code === "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi") report.throttled++;
        else report.failures.push(`${status} ${body.code}`);
      } catch (error) {
        report.failures.push(`${(error as Error)?.name}: ${(error as Error)?.message}`);
      }
    }),
  );
  redis.disconnect();
  agent.destroy();
  process.off("disconnect", onDisconnect);
  process.send?.({ report }, () => process.disconnect?.());
});
process.send?.("ready");
