/**
 * One "server process" of an app in the Redis test: a WorkPlus client whose token lives in Redis.
 * Started by test/resilience/redis.test.ts with `node --import tsx`; talks to it over IPC:
 * sends `ready`, waits for `go`, makes its calls all at once, sends the outcome, exits.
 */
import { createRedisTokenStore } from "../../../src/redis/index.js";
import { createWorkPlus } from "../../../src/workplus/index.js";

interface Config {
  worker: string;
  serverUrl: string;
  redisUrl: string;
  prefix: string;
  lockTtlMs: number;
  calls: number;
}

export interface WorkerReport {
  worker: string;
  ok: number;
  failures: string[];
  tokens: string[];
}

const config = JSON.parse(process.env.IMSPEC_WORKER ?? "{}") as Config;

const store = createRedisTokenStore({
  url: config.redisUrl,
  prefix: config.prefix,
  lockTtlMs: config.lockTtlMs,
  // A renewal must land within a third of the lock's life.
  commandTimeoutMs: Math.floor(config.lockTtlMs / 3),
});
const wp = createWorkPlus({
  baseUrl: config.serverUrl,
  domainId: "atwork",
  clientId: "shared-app",
  clientSecret: "worker-client-secret-5150",
  orgId: "org-1",
  tokenStore: store,
  // Lets the server tell which process sent a request (the token request in particular).
  headers: { "x-worker": config.worker },
  retry: { baseDelayMs: 5, maxDelayMs: 50 },
});

// Open the Redis connection before `go`, so the calls race on the lock, not on connecting.
await store.get("warm-up");

// The parent may die without telling us: never outlive it for long.
const watchdog = setTimeout(() => process.exit(3), 60_000);
watchdog.unref();
const onDisconnect = () => process.exit(4);
process.on("disconnect", onDisconnect);

process.once("message", async (message) => {
  if (message !== "go") return;
  const outcomes = await Promise.allSettled(
    Array.from({ length: config.calls }, () => wp.apps.listAdmins({ appId: "app-1" })),
  );
  const report: WorkerReport = {
    worker: config.worker,
    ok: outcomes.filter((o) => o.status === "fulfilled").length,
    failures: outcomes.flatMap((o) =>
      o.status === "rejected" ? [`${(o.reason as Error)?.name}: ${(o.reason as Error)?.message}`] : [],
    ),
    tokens: [await wp.appToken.get()],
  };
  await store.close();
  process.off("disconnect", onDisconnect);
  process.send?.({ report }, () => process.disconnect?.());
});
process.send?.("ready");
