/**
 * Worker processes for the multi-process tests: `node --import tsx <file>` with an IPC channel, a
 * `ready` message, then a `{ report }` message before it exits.
 *
 * A worker that sends its report and exits right away races two events in the parent: the child's
 * exit (SIGCHLD) and the last bytes on the IPC channel. Node may emit `exit` first and the report's
 * `message` after it. So a worker counts as gone only once it has exited *and* its channel has
 * closed (`disconnect`, emitted after every message read from it): only then is a missing report
 * really missing.
 */
import { type ChildProcess, fork } from "node:child_process";
import { ROOT } from "./repo-copy.js";

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ForkedWorker<Report> {
  name: string;
  child: ChildProcess;
  /** Resolves on the worker's `ready`; rejects if it is gone first. */
  ready: Promise<void>;
  /** Resolves with the worker's report; rejects if it is gone without one. */
  report: Promise<Report>;
  /** Resolves once the worker has exited and its channel has closed. */
  exit: Promise<Exit>;
}

export function forkWorker<Report>(
  name: string,
  file: string,
  env: Record<string, string>,
  execArgv: string[] = [],
): ForkedWorker<Report> {
  const child = fork(file, [], {
    cwd: ROOT,
    execArgv: [...execArgv, "--import", "tsx"],
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // A process that could not be started (EAGAIN, EMFILE) emits `error` and may never emit `exit`.
  const failed = new Promise<Exit>((resolve) =>
    child.once("error", () => resolve({ code: null, signal: null })),
  );
  const exited = Promise.race([
    failed,
    new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
  ]);
  const closed = Promise.race([
    failed,
    new Promise<void>((resolve) => {
      child.once("disconnect", () => resolve());
      // A channel that failed to open never emits `disconnect`; `close` follows every exit.
      child.once("close", () => resolve());
    }),
  ]);
  const exit = Promise.all([exited, closed]).then(([e]) => e);
  const ready = new Promise<void>((resolve, reject) => {
    child.on("message", (m) => m === "ready" && resolve());
    void exit.then((e) => reject(new Error(`${name} exited (${e.code ?? e.signal}) before ready`)));
  });
  const report = new Promise<Report>((resolve, reject) => {
    child.on("message", (m) => {
      if (m && typeof m === "object" && "report" in m) resolve((m as { report: Report }).report);
    });
    void exit.then((e) => reject(new Error(`${name} exited (${e.code ?? e.signal}) without a report`)));
  });
  // A killed worker's report never comes: that rejection is expected, not unhandled.
  ready.catch(() => undefined);
  report.catch(() => undefined);
  return { name, child, ready, report, exit };
}

/** Kills the workers still running and waits (at most 10 s) until each is gone. */
export async function stopWorkers(workers: Array<ForkedWorker<unknown>>): Promise<void> {
  for (const w of workers)
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
  await within(10_000, "stopping the workers", Promise.all(workers.map((w) => w.exit)));
}

/** Rejects after `ms` so a stuck worker fails the test with a message instead of hanging it. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
    }),
  ]);
}
