/**
 * The clients under test. Each makes the same request, GET /v1.0/contact/seniorSettings with the
 * `seniorStaffId` query and the access-token header, and resolves to the parsed JSON body, so every
 * row of the table pays for the same work: send, receive, parse.
 */
import { Agent, get } from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import createClient from "openapi-fetch";
import type { paths } from "../generated/dingtalk/schema.js";
import type { createDingTalk as CreateDingTalk } from "../src/dingtalk/index.js";
import { SENIOR_SETTINGS_PATH, SENIOR_STAFF_ID, TOKEN_HEADER } from "./server.js";

export interface BenchClient {
  id: string;
  label: string;
  call: () => Promise<unknown>;
  close: () => Promise<void>;
}

/** The app token the raw clients send; the imspec clients fetch their own from the server once. */
const TOKEN = "fw8ef8we8f76e6f7s8dxxxx";

export function nodeHttp(base: URL): BenchClient {
  const agent = new Agent({ keepAlive: true });
  const path = `${SENIOR_SETTINGS_PATH}?seniorStaffId=${SENIOR_STAFF_ID}`;
  const options = {
    host: base.hostname,
    port: base.port,
    path,
    agent,
    headers: { [TOKEN_HEADER]: TOKEN, accept: "application/json" },
  };
  return {
    id: "node-http",
    label: "node:http keep-alive agent (floor)",
    call: () =>
      new Promise((resolve, reject) => {
        get(options, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
            } catch (error) {
              reject(error);
            }
          });
          res.on("error", reject);
        }).on("error", reject);
      }),
    close: async () => agent.destroy(),
  };
}

function undici(base: URL, lib: typeof import("undici")): BenchClient {
  const dispatcher = new lib.Agent();
  const url = `${base.origin}${SENIOR_SETTINGS_PATH}?seniorStaffId=${SENIOR_STAFF_ID}`;
  const headers = { [TOKEN_HEADER]: TOKEN, accept: "application/json" };
  return {
    id: "undici",
    label: "undici.request",
    call: async () => (await lib.request(url, { headers, dispatcher })).body.json(),
    close: () => dispatcher.close(),
  };
}

function globalFetch(base: URL): BenchClient {
  const url = `${base.origin}${SENIOR_SETTINGS_PATH}?seniorStaffId=${SENIOR_STAFF_ID}`;
  const headers = { [TOKEN_HEADER]: TOKEN, accept: "application/json" };
  return {
    id: "fetch",
    label: "global fetch",
    call: async () => (await fetch(url, { headers })).json(),
    close: async () => {},
  };
}

function openapiFetch(base: URL): BenchClient {
  const client = createClient<paths>({ baseUrl: base.origin, headers: { [TOKEN_HEADER]: TOKEN } });
  return {
    id: "openapi-fetch",
    label: "bare openapi-fetch (global fetch)",
    call: async () => {
      const { data, error } = await client.GET(SENIOR_SETTINGS_PATH, {
        params: { query: { seniorStaffId: SENIOR_STAFF_ID } },
      });
      if (error) throw new Error(JSON.stringify(error));
      return data;
    },
    close: async () => {},
  };
}

/**
 * The client's rate limiter stays on, with budgets far above what the benchmark sends: the documented
 * 20 calls/s per operation would measure the budget, not the client. Its per-call work is counted.
 */
export const UNLIMITED = { "app-operation": { calls: 1e9, seconds: 1 }, ip: { calls: 1e9, seconds: 1 } };

export type Factory = typeof CreateDingTalk;

/**
 * `imspec/dingtalk` as built (`npm run dist`, which `npm run bench` runs first): what users run,
 * compiled by tsc, with `#default-transport` resolved by the package's own `imports` (bench/tsconfig.json
 * keeps tsx from mapping it back to the sources).
 */
export async function loadImspec(): Promise<Factory> {
  const entry = pathToFileURL(path.join(import.meta.dirname, "../dist/src/dingtalk/index.js")).href;
  return ((await import(entry)) as { createDingTalk: Factory }).createDingTalk;
}

/**
 * The default client (no transport option: node:http keep-alive on Node, through `#default-transport`),
 * or the fetch path (what browsers and edge runtimes get, here over Node's global fetch).
 */
export function imspec(base: URL, createDingTalk: Factory, via: "default" | "fetch"): BenchClient {
  const dt = createDingTalk({
    appKey: "dingbench",
    appSecret: "bench-app-secret",
    baseUrl: base.origin,
    rateLimit: UNLIMITED,
    ...(via === "fetch" ? { fetch: globalThis.fetch } : {}),
  });
  return {
    id: via === "fetch" ? "imspec-fetch" : "imspec",
    label:
      via === "fetch"
        ? "imspec createDingTalk (fetch: globalThis.fetch)"
        : "imspec createDingTalk (default: node:http)",
    call: () => dt.contact.listSeniorSettings({ seniorStaffId: SENIOR_STAFF_ID }),
    close: async () => {},
  };
}

/** The official SDK, pointed at the loopback server with its own Config (`endpoint`, `protocol`). */
function officialSdk(base: URL): BenchClient {
  // The SDK is CommonJS with `exports.default`: require gives the same objects its users get.
  const require = createRequire(import.meta.url);
  const contact =
    require("@alicloud/dingtalk/contact_1_0") as typeof import("@alicloud/dingtalk/dist/contact_1_0/client.js");
  const { Config } = require("@alicloud/openapi-client") as typeof import("@alicloud/openapi-client");
  const { RuntimeOptions } = require("@alicloud/tea-util") as typeof import("@alicloud/tea-util");
  const client = new contact.default(new Config({ endpoint: base.host, protocol: "http" }));
  return {
    id: "official-sdk",
    label: "@alicloud/dingtalk contact_1_0",
    call: async () => {
      // What the SDK's users write per call: request, headers (the token is theirs to manage), runtime.
      const response = await client.listSeniorSettingsWithOptions(
        new contact.ListSeniorSettingsRequest({ seniorStaffId: SENIOR_STAFF_ID }),
        new contact.ListSeniorSettingsHeaders({ xAcsDingtalkAccessToken: TOKEN }),
        new RuntimeOptions({}),
      );
      return response.body;
    },
    close: async () => {},
  };
}

/** Every client, in table order; the first is the floor the others are compared with. */
export async function createClients(baseUrl: string): Promise<BenchClient[]> {
  const base = new URL(baseUrl);
  // Loading the undici package installs its own Agent as the global dispatcher unless one is set,
  // and Node's fetch would then run on undici 7 instead of its built-in copy. One fetch first makes
  // Node install its own, so "global fetch" below is the fetch every Node user gets.
  await (await fetch("data:,")).text();
  const lib = await import("undici");
  const createDingTalk = await loadImspec();
  return [
    nodeHttp(base),
    undici(base, lib),
    globalFetch(base),
    openapiFetch(base),
    imspec(base, createDingTalk, "default"),
    imspec(base, createDingTalk, "fetch"),
    officialSdk(base),
  ];
}
