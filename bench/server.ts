/**
 * The loopback server every client is measured against: node:http on 127.0.0.1 (ephemeral port,
 * keep-alive), answering the spec's documented examples with bodies serialized once at start, so
 * the server's own work is as small and as constant as it can be.
 *
 * It runs in a child process: the client under test then has one core to itself and the server the
 * other, and a slow client cannot be flattered by sharing its event loop with the server.
 */
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(import.meta.dirname, "..");

/** `seniorStaffId` of the documented example (components.parameters.SeniorStaffId). */
export const SENIOR_STAFF_ID = "013349365367-1094322561";
export const SENIOR_SETTINGS_PATH = "/v1.0/contact/seniorSettings";
export const TOKEN_PATH = "/v1.0/oauth2/accessToken";
/** The token header of the spec's `appAccessToken` scheme. */
export const TOKEN_HEADER = "x-acs-dingtalk-access-token";

type Json = Record<string, unknown>;

function exampleOf(spec: Json, pathName: string, method: string): unknown {
  const paths = spec.paths as Record<string, Record<string, Json>>;
  const responses = paths[pathName]?.[method]?.responses as Record<string, Json> | undefined;
  const content = responses?.["200"]?.content as Record<string, Json> | undefined;
  const examples = content?.["application/json"]?.examples as Record<string, { value: unknown }> | undefined;
  const value = examples?.default?.value;
  if (value === undefined) throw new Error(`no default 200 example for ${method} ${pathName}`);
  return value;
}

/** The documented 200 examples of the two operations the benchmark calls. */
export function examples(): { seniorSettings: Json; token: { accessToken: string; expireIn: number } } {
  const spec = JSON.parse(readFileSync(path.join(ROOT, "generated/dingtalk/openapi.json"), "utf8")) as Json;
  return {
    seniorSettings: exampleOf(spec, SENIOR_SETTINGS_PATH, "get") as Json,
    token: exampleOf(spec, TOKEN_PATH, "post") as { accessToken: string; expireIn: number },
  };
}

function serve(): void {
  const { seniorSettings, token } = examples();
  const answer = (status: number, body: unknown) => {
    const bytes = Buffer.from(JSON.stringify(body));
    return {
      status,
      bytes,
      headers: {
        "content-type": "application/json;charset=utf-8",
        "content-length": String(bytes.length),
        "x-acs-request-id": "30EE8654-1AA2-7D88-8248-9518547248AA",
      },
    };
  };
  const ok = answer(200, seniorSettings);
  const tokenOk = answer(200, token);
  // Every client must send the query and the token header: a request that forgets either gets the
  // documented error, so a client that skipped work could not pass the benchmark's sanity check.
  const missingParam = answer(400, {
    code: "parameter.error",
    message: "参数错误",
    requestid: "30EE8654-1AA2-7D88-8248-9518547248AA",
  });
  const unauthorized = answer(401, {
    code: "InvalidAuthentication",
    message: "不合法的access_token",
    requestid: "30EE8654-1AA2-7D88-8248-9518547248AA",
  });
  const notFound = answer(404, { code: "bench.notFound", message: "not found" });
  const counts = { seniorSettings: 0, token: 0, other: 0 };

  const send = (res: ServerResponse, a: ReturnType<typeof answer>) => {
    res.writeHead(a.status, a.headers);
    res.end(a.bytes);
  };
  const server = createServer({ keepAlive: true }, (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q === -1 ? url : url.slice(0, q);
    if (req.method === "GET" && pathname === SENIOR_SETTINGS_PATH) {
      counts.seniorSettings++;
      req.resume();
      if (!req.headers[TOKEN_HEADER]) return send(res, unauthorized);
      if (!url.includes(`seniorStaffId=${SENIOR_STAFF_ID}`)) return send(res, missingParam);
      return send(res, ok);
    }
    if (req.method === "POST" && pathname === TOKEN_PATH) {
      counts.token++;
      req.resume();
      req.on("end", () => send(res, tokenOk));
      return;
    }
    counts.other++;
    req.resume();
    send(res, notFound);
  });
  // Connections stay open across rounds; the clients' agents decide when to close them.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  server.listen(0, "127.0.0.1", () => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  });
  process.on("message", (message) => {
    if (message === "counts") process.send?.({ counts });
  });
  process.on("disconnect", () => process.exit(0));
}

export interface LoopbackServer {
  url: string;
  port: number;
  /** Requests the server answered so far, by route. */
  counts(): Promise<{ seniorSettings: number; token: number; other: number }>;
  stop(): Promise<void>;
}

/** Starts the server in a child process and resolves once it listens. */
export function startServer(): Promise<LoopbackServer> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ["--serve"], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
    child.once("message", (message) => {
      const { port } = message as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        counts: () =>
          new Promise((ok) => {
            const onMessage = (m: unknown) => {
              if (m && typeof m === "object" && "counts" in m) {
                child.off("message", onMessage);
                ok((m as { counts: { seniorSettings: number; token: number; other: number } }).counts);
              }
            };
            child.on("message", onMessage);
            child.send("counts");
          }),
        stop: () =>
          new Promise((ok) => {
            child.removeAllListeners("exit");
            child.once("exit", () => ok());
            child.disconnect();
          }),
      });
    });
  });
}

if (process.argv.includes("--serve") && process.send) serve();
