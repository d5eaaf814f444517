import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What a test records of each request the server received. */
export interface Received {
  method: string;
  /** Raw request target as sent on the wire (path and query, undecoded). */
  url: string;
  pathname: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: string;
}

export type Handler = (req: Received, res: ServerResponse) => void | Promise<void>;

/**
 * A real HTTP server on 127.0.0.1 (ephemeral port) whose answers each test scripts: a route table
 * of handlers, every request recorded. No global fetch is mocked anywhere.
 */
export class ScriptedServer {
  readonly requests: Received[] = [];
  #routes: Array<{ method: string; test: (pathname: string) => boolean; handler: Handler }> = [];
  #server: Server;
  #sockets = new Set<Socket>();
  url = "";

  /** `options` go to node:http's createServer (`maxHeaderSize` for request targets of megabytes). */
  constructor(options: ServerOptions = {}) {
    this.#server = createServer(options, (req, res) => void this.#handle(req, res));
    this.#server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Routes `METHOD path` (exact path, or a predicate) to a handler; later routes win. */
  on(method: string, path: string | ((pathname: string) => boolean), handler: Handler): this {
    const test = typeof path === "string" ? (p: string) => p === path : path;
    this.#routes.unshift({ method, test, handler });
    return this;
  }

  count(method: string, pathname: string): number {
    return this.requests.filter((r) => r.method === method && r.pathname === pathname).length;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const received: Received = {
      method: req.method ?? "GET",
      url: req.url ?? "/",
      pathname: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
    };
    this.requests.push(received);
    const route = this.#routes.find((r) => r.method === received.method && r.test(received.pathname));
    if (!route) {
      json(res, 404, {
        code: "test.noRoute",
        message: `no route for ${received.method} ${received.pathname}`,
      });
      return;
    }
    try {
      await route.handler(received, res);
    } catch (error) {
      if (!res.headersSent) json(res, 599, { code: "test.handlerFailed", message: String(error) });
    }
  }
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json;charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
