import { type ChildProcess, spawn } from "node:child_process";
import { createServer, connect as netConnect } from "node:net";

/** A port nobody listens on right now: bind 127.0.0.1:0, read the port, close. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * A throwaway `redis-server` on a free loopback port: no persistence, no config file. (It has no
 * `--port 0`, hence the free-port probe; should another process take the port in between, the
 * start fails and is tried again on another.)
 */
export async function startRedis(binary = "redis-server"): Promise<RedisServer> {
  let lastOutput = "";
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      binary,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout?.on("data", (d) => {
      output += d;
    });
    child.stderr?.on("data", (d) => {
      output += d;
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    let spawnError: Error | undefined;
    child.once("error", (error) => {
      spawnError = error;
    });
    const until = Date.now() + 10_000;
    while (Date.now() < until && child.exitCode === null && !spawnError) {
      if (await answersPing(port)) {
        return {
          port,
          url: `redis://127.0.0.1:${port}`,
          async stop() {
            if (child.exitCode === null) child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
            await exited;
            clearTimeout(timer);
          },
        };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (spawnError) throw new Error(`cannot start ${binary}: ${spawnError.message}`);
    child.kill("SIGKILL");
    await exited;
    lastOutput = output;
  }
  throw new Error(`redis-server did not start:\n${lastOutput}`);
}
