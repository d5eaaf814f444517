import type { ServerResponse } from "node:http";
import { freePort } from "./redis-server.js";
import { json, type Received, ScriptedServer } from "./scripted-server.js";

/**
 * What one request gets from a fault-injecting route. Every fault is something a real network or
 * gateway does: the connection dropped with a TCP reset before or in the middle of the answer, an
 * answer that never comes, error statuses with JSON or HTML bodies, `Retry-After`.
 */
export type Fault =
  /** The route's normal answer. */
  | { kind: "ok" }
  /** TCP reset after the request arrived, before a byte of the answer. */
  | { kind: "reset" }
  /** Status line, headers (with the full `content-length`) and half the body, then a TCP reset. */
  | { kind: "truncate"; status?: number; body: unknown }
  /** Never answers (the socket stays open until the client gives up or the server stops). */
  | { kind: "hang" }
  | {
      kind: "json";
      status: number;
      body: unknown | ((req: Received) => unknown);
      headers?: Record<string, string>;
      /** The reason phrase of the status line (servers may put anything there). */
      statusText?: string | ((req: Received) => string);
    }
  | { kind: "html"; status: number; text: string; headers?: Record<string, string> };

export type OkHandler = (req: Received, res: ServerResponse) => void | Promise<void>;

/**
 * A ScriptedServer whose routes play a script of faults: the n-th request to a route gets the n-th
 * fault, and every request after the script gets `then` (the route's normal answer by default).
 * Every request is recorded, raw URL included, so tests count attempts at the server.
 */
export class FaultServer extends ScriptedServer {
  /** A loopback URL where nothing listens: connections are refused. */
  static async refusedUrl(): Promise<string> {
    return `http://127.0.0.1:${await freePort()}`;
  }

  route(
    method: string,
    path: string | ((pathname: string) => boolean),
    ok: OkHandler,
    script: Fault[] = [],
    then: Fault = { kind: "ok" },
  ): this {
    let n = 0;
    return this.on(method, path, (req, res) => {
      const fault = script[n++] ?? then;
      return play(fault, req, res, ok);
    });
  }
}

export function play(fault: Fault, req: Received, res: ServerResponse, ok: OkHandler): void | Promise<void> {
  switch (fault.kind) {
    case "ok":
      return ok(req, res);
    case "reset":
      res.socket?.resetAndDestroy();
      return;
    case "truncate": {
      const text = JSON.stringify(fault.body);
      res.writeHead(fault.status ?? 200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
      });
      res.write(text.slice(0, Math.floor(text.length / 2)));
      // Let the partial body reach the client before the reset.
      setTimeout(() => res.socket?.resetAndDestroy(), 20);
      return;
    }
    case "hang":
      return;
    case "json": {
      const body =
        typeof fault.body === "function" ? (fault.body as (r: Received) => unknown)(req) : fault.body;
      if (fault.statusText !== undefined)
        res.statusMessage = typeof fault.statusText === "function" ? fault.statusText(req) : fault.statusText;
      return json(res, fault.status, body, fault.headers);
    }
    case "html":
      res.writeHead(fault.status, { "content-type": "text/html; charset=utf-8", ...fault.headers });
      res.end(fault.text);
      return;
  }
}
