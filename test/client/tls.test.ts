/**
 * The node:http transport over TLS, against a real HTTPS server on 127.0.0.1 whose certificate
 * (test/fixtures/tls, self-signed for 127.0.0.1, made for these tests only) no public CA signed:
 * what a self-hosted WorkPlus behind a private CA looks like. The default pool refuses it with a
 * typed error; an `httpsAgent` of the caller's own trusts it, directly or through a CONNECT proxy
 * (https-proxy-agent, the proxy a loopback server of this file).
 */

import { once } from "node:events";
import { readFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  Agent as HttpAgent,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, Agent as HttpsAgent } from "node:https";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import path from "node:path";
import { HttpsProxyAgent } from "https-proxy-agent";
import { ConfigError, ConnectionError, createDingTalk } from "imspec/dingtalk";
import { nodeTransport } from "imspec/node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const FIXTURES = path.join(import.meta.dirname, "../fixtures/tls");
const ca = readFileSync(path.join(FIXTURES, "cert.pem"));
const SECRET = "planted-app-secret-9d3e1f";
const TOKEN = "tls-token-4b8a2c77";
const SETTINGS = { seniorStaffId: "u1", protectScenes: ["CHAT"] };

let server: ReturnType<typeof createHttpsServer>;
let proxy: ReturnType<typeof createHttpServer>;
let origin: string;
let proxyUrl: string;
/** TLS connections the server accepted, and the proxy's tunnels (their targets). */
let connections: number;
let tunnels: string[];

function answer(req: IncomingMessage, res: ServerResponse): void {
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  if (req.method === "POST" && req.url === "/v1.0/oauth2/accessToken")
    send(200, { accessToken: TOKEN, expireIn: 7200 });
  else if (
    req.url?.startsWith("/v1.0/contact/seniorSettings") &&
    req.headers["x-acs-dingtalk-access-token"] === TOKEN
  )
    send(200, SETTINGS);
  else send(401, { code: "InvalidAuthentication", message: "no token", requestid: "R-TLS" });
}

beforeAll(async () => {
  server = createHttpsServer({ cert: ca, key: readFileSync(path.join(FIXTURES, "key.pem")) }, (req, res) => {
    req.resume();
    req.on("end", () => answer(req, res));
  });
  server.on("secureConnection", () => connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A CONNECT proxy that tunnels to loopback only: nothing of these tests leaves the machine.
  proxy = createHttpServer((_req, res) => res.writeHead(405).end());
  proxy.on("connect", (req: IncomingMessage, client: import("node:stream").Duplex, head: Buffer) => {
    const [host, port] = (req.url ?? "").split(":");
    if (host !== "127.0.0.1") return client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
    tunnels.push(req.url ?? "");
    const upstream = connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  proxy.listen(0, "127.0.0.1");
  await once(proxy, "listening");
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  proxy.closeAllConnections();
  await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => proxy.close(r))]);
});

beforeEach(() => {
  connections = 0;
  tunnels = [];
});

const client = (transport: ReturnType<typeof nodeTransport>) =>
  createDingTalk({ appKey: "ding-app", appSecret: SECRET, baseUrl: origin, transport, retry: false });

describe("nodeTransport over TLS", () => {
  it("the default pool refuses a certificate it cannot verify: a typed ConnectionError naming no secret", async () => {
    const transport = nodeTransport();
    try {
      const error = await client(transport)
        .contact.listSeniorSettings({ seniorStaffId: "u1" })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).errno).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
      expect((error as Error).message).toContain("DEPTH_ZERO_SELF_SIGNED_CERT");
      expect(JSON.stringify(error) + String((error as Error).stack)).not.toContain(SECRET);
    } finally {
      transport.destroy();
    }
  });

  it("an httpsAgent of the caller's trusting a private CA: the calls go over one kept-alive connection", async () => {
    const agent = new HttpsAgent({ ca, keepAlive: true, timeout: 4000 });
    const transport = nodeTransport({ httpsAgent: agent });
    const dt = client(transport);
    for (let i = 0; i < 3; i++)
      await expect(dt.contact.listSeniorSettings({ seniorStaffId: "u1" })).resolves.toEqual(SETTINGS);
    // The token request and three calls, one after the other: one TLS handshake.
    expect(connections).toBe(1);
    // The agent is the caller's: the transport's destroy() leaves its pooled connection open.
    transport.destroy();
    expect(Object.values(agent.freeSockets).flat()).toHaveLength(1);
    await expect(dt.contact.listSeniorSettings({ seniorStaffId: "u1" })).resolves.toEqual(SETTINGS);
    expect(connections).toBe(1);
    agent.destroy();
  });

  it("through a CONNECT proxy (https-proxy-agent): tunnelled to the server, TLS end to end", async () => {
    // https-proxy-agent takes the TLS options for the server from the request, and the server here
    // has a private CA: given to it the way a proxy to a public API (DingTalk, WeCom) needs no CA at all.
    class TrustingProxyAgent extends HttpsProxyAgent<string> {
      override connect(
        req: Parameters<HttpsProxyAgent<string>["connect"]>[0],
        opts: Parameters<HttpsProxyAgent<string>["connect"]>[1],
      ) {
        return super.connect(req, { ...opts, ca } as typeof opts);
      }
    }
    const agent = new TrustingProxyAgent(proxyUrl, { keepAlive: true });
    const transport = nodeTransport({ httpsAgent: agent });
    try {
      const dt = client(transport);
      await expect(dt.contact.listSeniorSettings({ seniorStaffId: "u1" })).resolves.toEqual(SETTINGS);
      await expect(dt.contact.listSeniorSettings({ seniorStaffId: "u1" })).resolves.toEqual(SETTINGS);
      expect(tunnels.length).toBeGreaterThanOrEqual(1);
      expect(new Set(tunnels)).toEqual(new Set([new URL(origin).host]));
      expect(connections).toBe(tunnels.length);
    } finally {
      agent.destroy();
    }
  });

  it("an agent option that is not an http.Agent, or one of the other protocol, is a ConfigError", () => {
    expect(() => nodeTransport({ httpsAgent: new HttpAgent() })).toThrow(
      /httpsAgent must be an agent for https: URLs/,
    );
    expect(() => nodeTransport({ httpAgent: new HttpsAgent() })).toThrow(
      /httpAgent must be an agent for http: URLs/,
    );
    // A proxy agent serves both.
    for (const name of ["httpAgent", "httpsAgent"])
      nodeTransport({ [name]: new HttpsProxyAgent(proxyUrl) }).destroy();
    for (const value of [{}, "agent", 1, null, { addRequest() {} }])
      for (const name of ["httpAgent", "httpsAgent"])
        expect(() => nodeTransport({ [name]: value } as never), `${name}: ${String(value)}`).toThrow(
          ConfigError,
        );
  });
});
