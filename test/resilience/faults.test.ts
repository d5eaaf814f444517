/**
 * Faults: every call against a misbehaving server ends in data or a typed error within a stated
 * bound, with exactly the attempts the README's retry table promises (counted at the server), and
 * no secret or token in anything the client shows.
 *
 * Each test has its own server, its own clients and its own record of what the client showed, and
 * checks that record for secrets itself: any test runs alone (`-t`) or in any order.
 *
 * The counts are exact because an attempt ends only the way its case means it to: an answer is
 * never given up on (the per-attempt timeout is ANSWER_TIMEOUT_MS, far above any loopback answer
 * on a loaded machine), and only a request the server never answers reaches a short timeout
 * (HANG_TIMEOUT_MS, set for that call alone). Backoff jitter changes when an attempt is made,
 * never how many.
 *
 * The bound: a call makes at most `maxAttempts` (3) attempts for the token and 3 for itself, plus
 * one replay with one more token request after a refused token; each attempt lasts at most the
 * per-attempt timeout, each wait at most `maxDelayMs` or an honoured `Retry-After`. With the
 * settings below a faulted call ends in under 4 s; CALL_BOUND_MS adds room for a loaded machine.
 */
import {
  ConnectionError,
  createDingTalk,
  DINGTALK_IP_BAN_CODE,
  DingTalkError,
  type LogEvent,
  ParseError,
  TimeoutError,
} from "imspec/dingtalk";
import { createWorkPlus, ImspecError, statusCodes, WorkPlusError } from "imspec/workplus";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Fault, FaultServer } from "../support/fault-server.js";
import { json, type Received } from "../support/scripted-server.js";
import { settler, shown } from "./secrets.js";

const DT_SECRET = "planted-dt-app-secret-Q7v2Lx9";
const WP_SECRET = "planted-wp-client-secret-M4k8Rz3";
/** The per-attempt timeout of every answered request: never reached on loopback. */
const ANSWER_TIMEOUT_MS = 10_000;
/** The per-attempt timeout of a call whose case is a request left unanswered. */
const HANG_TIMEOUT_MS = 1_000;
const RETRY = { baseDelayMs: 5, maxDelayMs: 20 };
const CALL_BOUND_MS = 8_000;
/** The whole file, every case and burst included. */
const SUITE_BOUND_MS = 60_000;
const suiteStarted = performance.now();

/** Everything the client showed during one test (reset before each): checked for secrets after it. */
const issuedTokens: string[] = [];
const thrown: unknown[] = [];
const logLines: string[] = [];
const logger = (event: LogEvent) => logLines.push(JSON.stringify(event));

const PATHS = {
  dtToken: "/v1.0/oauth2/accessToken",
  dtGet: "/v1.0/contact/dingIndexs",
  dtPost: "/v1.0/contact/seniorSettings",
  wpToken: "/v1/token",
  wpGet: "/v1/apps/app-1/admins",
} as const;
type Route = keyof typeof PATHS;
const METHOD: Record<Route, string> = {
  dtToken: "POST",
  dtGet: "GET",
  dtPost: "POST",
  wpToken: "POST",
  wpGet: "GET",
};

function tokenIn(req: Received): string {
  return String(req.headers["x-acs-dingtalk-access-token"] ?? req.query.get("access_token") ?? "none");
}

/** Error bodies in each API's shape that echo the request's token and the app's secret back. */
const dtError = (code: string) => (req: Received) => ({
  code,
  message: `${code}: token ${tokenIn(req)} refused; appSecret ${DT_SECRET}`,
  requestid: "R-FAULT",
});
const wpError = (status: number) => (req: Received) => ({
  status,
  message: `error ${status} for access_token ${tokenIn(req)} (client_secret ${WP_SECRET})`,
});
const BAN = {
  status: 1111,
  wait: 300,
  source: "dingtalk-gateway",
  punish: "deny",
  uuid: "6c1f6b1e-3d5a-4c22-9a0b-ban",
};
const BAN_PAGE = "<!DOCTYPE html><html><body><h1>访问被拒绝</h1><p>您的 IP 访问过于频繁</p></body></html>";

let server: FaultServer;
let issued: number;

/** The normal answers of both APIs; each test puts a script of faults in front of one route. */
function ok(route: Route) {
  return (req: Received, res: import("node:http").ServerResponse) => {
    switch (route) {
      case "dtToken":
      case "wpToken": {
        const token = `${route === "dtToken" ? "dt" : "wp"}-tok-${++issued}-${Math.random().toString(36).slice(2, 10)}`;
        issuedTokens.push(token);
        if (route === "dtToken") return json(res, 200, { accessToken: token, expireIn: 7200 });
        return json(res, 200, {
          status: 0,
          message: "Everything is ok.",
          result: { access_token: token, expire_time: Date.now() + 3_600_000 },
        });
      }
      case "dtGet":
        return json(res, 200, { statDate: "20261122", idxTotal: 888 });
      case "dtPost":
        return json(res, 200, {});
      case "wpGet":
        // Like WorkPlus: only the newest token is valid.
        if (tokenIn(req) !== issuedTokens.at(-1)) return json(res, 200, wpError(10011)(req));
        return json(res, 200, { status: 0, message: "ok", result: { records: [], total_counts: 0 } });
    }
  };
}

beforeEach(async () => {
  issuedTokens.length = 0;
  thrown.length = 0;
  logLines.length = 0;
  server = await new FaultServer().start();
  issued = 0;
  for (const route of Object.keys(PATHS) as Route[]) server.route(METHOD[route], PATHS[route], ok(route));
});
afterEach(async () => {
  await server.stop();
  // The test ran with planted secrets and a server echoing them: none may show anywhere.
  expect(thrown.length + logLines.length, "errors or log lines to check").toBeGreaterThan(0);
  const planted = [DT_SECRET, WP_SECRET, ...issuedTokens.filter((t) => !t.includes("rotated-elsewhere"))];
  for (const error of thrown) {
    expect(error).toBeInstanceOf(ImspecError);
    const text = shown(error);
    for (const secret of planted)
      expect(text, `${(error as Error).name}: ${(error as Error).message}`).not.toContain(secret);
  }
  const log = logLines.join("\n");
  for (const secret of planted) expect(log).not.toContain(secret);
});

function script(route: Route, faults: Fault[], afterwards: Fault = { kind: "ok" }): void {
  server.route(METHOD[route], PATHS[route], ok(route), faults, afterwards);
}

function dingtalk(extra: Record<string, unknown> = {}) {
  return createDingTalk({
    rateLimit: false,
    appKey: "ding-app",
    appSecret: DT_SECRET,
    baseUrl: server.url,
    timeout: ANSWER_TIMEOUT_MS,
    retry: RETRY,
    logger,
    ...extra,
  } as Parameters<typeof createDingTalk>[0]);
}

function workplus(extra: Record<string, unknown> = {}) {
  return createWorkPlus({
    baseUrl: server.url,
    domainId: "atwork",
    clientId: "wp-app",
    clientSecret: WP_SECRET,
    orgId: "org-1",
    timeout: ANSWER_TIMEOUT_MS,
    retry: RETRY,
    logger,
    ...extra,
  } as Parameters<typeof createWorkPlus>[0]);
}

/**
 * The call under test for a route: the token routes are reached through an API call. `timeout`,
 * when given, is the per-attempt timeout of the faulted route only: the call's own option for an
 * API route, the client's (which its token request uses) for a token route.
 */
function call(route: Route, timeout?: number): Promise<unknown> {
  const options = timeout === undefined ? {} : { timeout };
  switch (route) {
    case "dtToken":
      return dingtalk(options).contact.getLatestDingIndex();
    case "dtGet":
      return dingtalk().contact.getLatestDingIndex({}, options);
    case "dtPost":
      return dingtalk().contact.updateSeniorSetting({ seniorStaffId: "u1", open: true }, options);
    case "wpToken":
      return workplus(options).apps.listAdmins({ appId: "app-1" });
    case "wpGet":
      return workplus().apps.listAdmins({ appId: "app-1" }, options);
  }
}

/** Awaits a call within the bound; records what it threw for the secret check. */
const settle = settler(CALL_BOUND_MS, thrown);

type ErrorClass = abstract new (...args: never[]) => Error;
interface Case {
  name: string;
  route: Route;
  faults: Fault[];
  /** What the route answers once `faults` are used up. */
  afterwards?: Fault;
  /** `"data"`, or the error class and fields the call ends with. */
  want: "data" | [ErrorClass, Record<string, unknown>];
  /** Requests the faulted route receives for one call (README: attempts and replays). */
  attempts: number;
}

const reset: Fault = { kind: "reset" };
const truncate: Fault = {
  kind: "truncate",
  body: { statDate: "20261122", idxTotal: 888, pad: "x".repeat(4096) },
};
const hang: Fault = { kind: "hang" };
const dtStatus = (status: number, code: string, headers?: Record<string, string>): Fault => ({
  kind: "json",
  status,
  body: dtError(code),
  ...(headers ? { headers } : {}),
});
const forever = (fault: Fault): Pick<Case, "faults" | "afterwards"> => ({ faults: [], afterwards: fault });

const QPS_CODES = [
  "Forbidden.AccessDenied.QpsLimitForApi",
  "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
  "Forbidden.AccessDenied.QpsLimitForSuitekeyAndOrgAndApi",
  "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi",
  "Forbidden.AccessDenied.QpmLimitForSuitekeyAndOrgAndApi",
];

const cases: Case[] = [
  // Connection reset before the answer: the request may have been applied, so GET only.
  {
    name: "GET reset every time",
    route: "dtGet",
    ...forever(reset),
    want: [ConnectionError, { beforeSend: false }],
    attempts: 3,
  },
  { name: "GET reset once, then answered", route: "dtGet", faults: [reset], want: "data", attempts: 2 },
  {
    name: "POST reset",
    route: "dtPost",
    ...forever(reset),
    want: [ConnectionError, { beforeSend: false }],
    attempts: 1,
  },
  {
    name: "WorkPlus GET reset every time",
    route: "wpGet",
    ...forever(reset),
    want: [ConnectionError, {}],
    attempts: 3,
  },
  {
    name: "token POST reset (DingTalk)",
    route: "dtToken",
    ...forever(reset),
    want: [ConnectionError, { operationId: "getAccessToken" }],
    attempts: 1,
  },
  {
    name: "token POST reset (WorkPlus)",
    route: "wpToken",
    ...forever(reset),
    want: [ConnectionError, { operationId: "getAccessToken" }],
    attempts: 1,
  },
  // Reset in the middle of the body.
  {
    name: "GET body cut every time",
    route: "dtGet",
    ...forever(truncate),
    want: [ConnectionError, {}],
    attempts: 3,
  },
  {
    name: "GET body cut twice, then whole",
    route: "dtGet",
    faults: [truncate, truncate],
    want: "data",
    attempts: 3,
  },
  { name: "POST body cut", route: "dtPost", ...forever(truncate), want: [ConnectionError, {}], attempts: 1 },
  { name: "WorkPlus GET body cut once", route: "wpGet", faults: [truncate], want: "data", attempts: 2 },
  // A server that never answers: per-attempt timeout.
  {
    name: "GET never answered",
    route: "dtGet",
    ...forever(hang),
    want: [TimeoutError, { timeoutMs: HANG_TIMEOUT_MS }],
    attempts: 3,
  },
  { name: "GET unanswered once", route: "dtGet", faults: [hang], want: "data", attempts: 2 },
  { name: "POST never answered", route: "dtPost", ...forever(hang), want: [TimeoutError, {}], attempts: 1 },
  {
    name: "WorkPlus GET never answered",
    route: "wpGet",
    ...forever(hang),
    want: [TimeoutError, {}],
    attempts: 3,
  },
  {
    name: "token POST never answered (WorkPlus)",
    route: "wpToken",
    ...forever(hang),
    want: [TimeoutError, {}],
    attempts: 1,
  },
  {
    name: "token POST never answered (DingTalk)",
    route: "dtToken",
    ...forever(hang),
    want: [TimeoutError, { operationId: "getAccessToken", timeoutMs: HANG_TIMEOUT_MS }],
    attempts: 1,
  },
  {
    name: "token POST body cut (DingTalk)",
    route: "dtToken",
    ...forever({ kind: "truncate", body: { accessToken: "dt-cut-token-000000", expireIn: 7200 } }),
    want: [ConnectionError, { operationId: "getAccessToken" }],
    attempts: 1,
  },
  {
    name: "token POST body cut (WorkPlus)",
    route: "wpToken",
    ...forever({ kind: "truncate", body: { status: 0, result: { access_token: "wp-cut-token-000000" } } }),
    want: [ConnectionError, { operationId: "getAccessToken" }],
    attempts: 1,
  },
  // 5xx bursts, then recovery.
  {
    name: "GET 500, 502, then 200",
    route: "dtGet",
    faults: [dtStatus(500, "system.error"), dtStatus(502, "BadGateway")],
    want: "data",
    attempts: 3,
  },
  {
    name: "GET 504 burst longer than the attempts",
    route: "dtGet",
    ...forever(dtStatus(504, "GatewayTimeout")),
    want: [DingTalkError, { status: 504 }],
    attempts: 3,
  },
  {
    name: "POST 500",
    route: "dtPost",
    ...forever(dtStatus(500, "system.error")),
    want: [DingTalkError, { status: 500, code: "system.error" }],
    attempts: 1,
  },
  {
    name: "POST 502",
    route: "dtPost",
    ...forever(dtStatus(502, "BadGateway")),
    want: [DingTalkError, { status: 502 }],
    attempts: 1,
  },
  {
    name: "POST 503 once, then 200 (refused before any work)",
    route: "dtPost",
    faults: [dtStatus(503, "ServiceUnavailable")],
    want: "data",
    attempts: 2,
  },
  {
    name: "POST 503 burst",
    route: "dtPost",
    ...forever(dtStatus(503, "ServiceUnavailable")),
    want: [DingTalkError, { status: 503 }],
    attempts: 3,
  },
  {
    name: "token POST 503 once (DingTalk)",
    route: "dtToken",
    faults: [dtStatus(503, "ServiceUnavailable")],
    want: "data",
    attempts: 2,
  },
  {
    name: "token POST 503, 429, then 200 (WorkPlus)",
    route: "wpToken",
    faults: [
      { kind: "html", status: 503, text: "<h1>503</h1>" },
      { kind: "json", status: 429, body: wpError(429), headers: { "retry-after": "0.05" } },
    ],
    want: "data",
    attempts: 3,
  },
  {
    name: "WorkPlus GET 502, 503, then 200",
    route: "wpGet",
    faults: [
      { kind: "json", status: 502, body: wpError(502) },
      { kind: "html", status: 503, text: "<h1>503</h1>" },
    ],
    want: "data",
    attempts: 3,
  },
  {
    name: "WorkPlus GET HTTP 500 HTML page every time",
    route: "wpGet",
    ...forever({ kind: "html", status: 500, text: "<h1>nginx</h1>" }),
    want: [WorkPlusError, { status: 500, code: 500 }],
    attempts: 3,
  },
  {
    name: "WorkPlus token 202104 (bad credentials)",
    route: "wpToken",
    ...forever({ kind: "json", status: 200, body: wpError(202104) }),
    want: [WorkPlusError, { code: 202104 }],
    attempts: 1,
  },
  // 429 with Retry-After.
  {
    name: "GET 429 Retry-After 0.2, then 200",
    route: "dtGet",
    faults: [dtStatus(429, "system.busy", { "retry-after": "0.2" })],
    want: "data",
    attempts: 2,
  },
  {
    name: "POST 429 Retry-After 0.1 every time",
    route: "dtPost",
    ...forever(dtStatus(429, "system.busy", { "retry-after": "0.1" })),
    want: [DingTalkError, { status: 429 }],
    attempts: 3,
  },
  {
    name: "GET 429 Retry-After an hour: not waited for",
    route: "dtGet",
    ...forever(dtStatus(429, "system.busy", { "retry-after": "3600" })),
    want: [DingTalkError, { status: 429 }],
    attempts: 1,
  },
  {
    name: "GET 429 Retry-After as an HTTP date",
    route: "dtGet",
    faults: [dtStatus(429, "system.busy", { "retry-after": new Date(Date.now() + 1_000).toUTCString() })],
    want: "data",
    attempts: 2,
  },
  {
    name: "WorkPlus GET 429 Retry-After 0.1, then 200",
    route: "wpGet",
    faults: [{ kind: "json", status: 429, body: wpError(429), headers: { "retry-after": "0.1" } }],
    want: "data",
    attempts: 2,
  },
  // DingTalk throttling codes: refused by the gateway before any work, so retried even for POST.
  ...QPS_CODES.map(
    (code): Case => ({
      name: `POST 403 ${code} twice, then 200`,
      route: "dtPost",
      faults: [dtStatus(403, code), dtStatus(403, code)],
      want: "data",
      attempts: 3,
    }),
  ),
  {
    name: "POST 403 QpsLimitForApi every time",
    route: "dtPost",
    ...forever(dtStatus(403, QPS_CODES[0] as string)),
    want: [DingTalkError, { code: QPS_CODES[0] }],
    attempts: 3,
  },
  // The DingTalk per-IP flood ban: an answer with no error code, lasting minutes. Never retried
  // whatever its HTTP status: every call during the ban only prolongs it.
  {
    name: "IP ban, 403 JSON",
    route: "dtGet",
    ...forever({ kind: "json", status: 403, body: BAN }),
    want: [DingTalkError, { status: 403, code: DINGTALK_IP_BAN_CODE }],
    attempts: 1,
  },
  {
    name: "IP ban, 200 JSON",
    route: "dtGet",
    ...forever({ kind: "json", status: 200, body: BAN }),
    want: [DingTalkError, { status: 200, code: DINGTALK_IP_BAN_CODE }],
    attempts: 1,
  },
  {
    name: "IP ban, 200 JSON on an operation without a body",
    route: "dtPost",
    ...forever({ kind: "json", status: 200, body: BAN }),
    want: [DingTalkError, { code: DINGTALK_IP_BAN_CODE }],
    attempts: 1,
  },
  {
    name: "IP ban, 503 JSON",
    route: "dtGet",
    ...forever({ kind: "json", status: 503, body: BAN }),
    want: [DingTalkError, { status: 503, code: DINGTALK_IP_BAN_CODE }],
    attempts: 1,
  },
  {
    name: "IP ban, 429 JSON with Retry-After",
    route: "dtPost",
    ...forever({ kind: "json", status: 429, body: BAN, headers: { "retry-after": "1" } }),
    want: [DingTalkError, { code: DINGTALK_IP_BAN_CODE }],
    attempts: 1,
  },
  {
    name: "IP ban on the token endpoint",
    route: "dtToken",
    ...forever({ kind: "json", status: 403, body: BAN }),
    want: [DingTalkError, { code: DINGTALK_IP_BAN_CODE, operationId: "getAccessToken" }],
    attempts: 1,
  },
  // As an HTML page: a 200 page is not the JSON it should be; a non-2xx page is a DingTalkError
  // without a code, retried only as the table says for its status (a 503: 3 attempts with backoff).
  {
    name: "IP ban, 200 HTML page",
    route: "dtGet",
    ...forever({ kind: "html", status: 200, text: BAN_PAGE }),
    want: [ParseError, { status: 200 }],
    attempts: 1,
  },
  {
    name: "IP ban, 403 HTML page",
    route: "dtPost",
    ...forever({ kind: "html", status: 403, text: BAN_PAGE }),
    want: [DingTalkError, { status: 403, code: undefined }],
    attempts: 1,
  },
  {
    name: "IP ban, 503 HTML page",
    route: "dtGet",
    ...forever({ kind: "html", status: 503, text: BAN_PAGE }),
    want: [DingTalkError, { status: 503 }],
    attempts: 3,
  },
];

describe("faults: one call each, attempts counted at the server", () => {
  it.each(cases)("$name → $attempts attempt(s)", async ({ route, faults, afterwards, want, attempts }) => {
    script(route, faults, afterwards);
    const hangs = [...faults, afterwards].some((fault) => fault?.kind === "hang");
    const outcome = await settle(call(route, hangs ? HANG_TIMEOUT_MS : undefined));
    if (want === "data") {
      expect(outcome.error).toBeUndefined();
    } else {
      const [type, fields] = want;
      expect(outcome.error).toBeInstanceOf(type);
      expect(outcome.error).toBeInstanceOf(ImspecError);
      expect(outcome.error).toMatchObject(fields);
    }
    expect(server.count(METHOD[route], PATHS[route])).toBe(attempts);
  });

  it("connection refused: retried (the request never left), for POST too, then a ConnectionError", async () => {
    const refused = await FaultServer.refusedUrl();
    const events: LogEvent[] = [];
    const viaToken = await settle(
      createDingTalk({
        rateLimit: false,
        appKey: "ding-app",
        appSecret: DT_SECRET,
        baseUrl: refused,
        retry: RETRY,
        logger: (e) => {
          events.push(e);
          logger(e);
        },
      }).contact.updateSeniorSetting({ seniorStaffId: "u1", open: true }),
    );
    expect(viaToken.error).toMatchObject({
      name: "ConnectionError",
      errno: "ECONNREFUSED",
      beforeSend: true,
      attempts: 3,
      operationId: "getAccessToken",
    });
    expect(events.map((e) => [e.operationId, e.attempt])).toEqual([
      ["getAccessToken", 1],
      ["getAccessToken", 2],
      ["getAccessToken", 3],
    ]);
    for (const wp of [
      createWorkPlus({ baseUrl: refused, accessToken: "wp-static-token-0001", retry: RETRY, logger }),
      workplus({ baseUrl: refused }),
    ]) {
      const outcome = await settle(wp.apps.listAdmins({ appId: "app-1" }));
      expect(outcome.error).toMatchObject({ name: "ConnectionError", errno: "ECONNREFUSED", attempts: 3 });
    }
    const post = await settle(
      createDingTalk({
        rateLimit: false,
        accessToken: "dt-static-token-0001",
        baseUrl: refused,
        retry: RETRY,
        logger,
      }).contact.updateSeniorSetting({ seniorStaffId: "u1", open: true }),
    );
    expect(post.error).toMatchObject({
      name: "ConnectionError",
      operationId: "updateSeniorSetting",
      attempts: 3,
    });
  });

  it("a connection error names the URL the call went to, the base URL's path included", async () => {
    // A self-hosted server under a path (WorkPlus at https://host/api): the message names that path.
    const base = `${await FaultServer.refusedUrl()}/im/api`;
    const outcome = await settle(
      createWorkPlus({ baseUrl: base, accessToken: "wp-static-token-0002", retry: false }).apps.listAdmins({
        appId: "app-1",
      }),
    );
    expect(outcome.error).toMatchObject({ name: "ConnectionError", errno: "ECONNREFUSED" });
    expect((outcome.error as Error).message).toBe(`GET ${base}/v1/apps/{appId}/admins failed: ECONNREFUSED`);
  });

  it("a 429 Retry-After is waited for before the next attempt", async () => {
    const seen: number[] = [];
    server.on("GET", PATHS.dtGet, (req, res) => {
      seen.push(Date.now());
      return seen.length === 1
        ? json(res, 429, dtError("system.busy")(req), { "retry-after": "0.3" })
        : json(res, 200, { statDate: "20261122" });
    });
    expect((await settle(dingtalk().contact.getLatestDingIndex())).error).toBeUndefined();
    expect(seen).toHaveLength(2);
    expect((seen[1] as number) - (seen[0] as number)).toBeGreaterThanOrEqual(280);
  });
});

/** Requests to a route grouped by the `x-call` header each call carries. */
function attemptsPerCall(route: Route): Map<string, Received[]> {
  const byCall = new Map<string, Received[]>();
  for (const r of server.requests) {
    if (r.method !== METHOD[route] || r.pathname !== PATHS[route]) continue;
    const id = String(r.headers["x-call"]);
    byCall.set(id, [...(byCall.get(id) ?? []), r]);
  }
  return byCall;
}

describe("faults: bursts across concurrent calls", () => {
  it("a 503 burst then recovery: each of 30 GETs ends in data or a 503 after exactly 3 attempts", async () => {
    const refusals = 45;
    script(
      "dtGet",
      Array.from({ length: refusals }, () => dtStatus(503, "ServiceUnavailable")),
    );
    const dt = dingtalk();
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        settle(dt.contact.getLatestDingIndex({}, { headers: { "x-call": `c${i}` } })),
      ),
    );
    // The script refuses the first 45 requests to arrive, whichever call sent them; every later
    // one is answered. So each call's attempts are refusals up to its last, which decides how it ends.
    const arrival = server.requests.filter((r) => r.method === "GET" && r.pathname === PATHS.dtGet);
    const refused = (request: Received | undefined) =>
      request !== undefined && arrival.indexOf(request) < refusals;
    const perCall = attemptsPerCall("dtGet");
    outcomes.forEach((outcome, i) => {
      const attempts = perCall.get(`c${i}`) ?? [];
      expect(attempts.slice(0, -1).every(refused), `c${i}: every attempt before the last refused`).toBe(true);
      if (outcome.error) {
        expect(outcome.error).toMatchObject({ name: "DingTalkError", status: 503, attempts: 3 });
        expect(attempts).toHaveLength(3);
        expect(refused(attempts.at(-1))).toBe(true);
      } else {
        expect(attempts.length).toBeGreaterThanOrEqual(1);
        expect(attempts.length).toBeLessThanOrEqual(3);
        expect(refused(attempts.at(-1)), `c${i}: its data came from an answered attempt`).toBe(false);
      }
    });
    // Each of the 45 refusals was followed by another attempt or ended a call; each call that got
    // data made one attempt past them.
    expect(arrival).toHaveLength(refusals + outcomes.filter((o) => !o.error).length);
    expect([...perCall.values()].flat()).toHaveLength(arrival.length);
    expect(server.count("POST", PATHS.dtToken)).toBe(1);
  });

  it("WorkPlus 10011 in a burst: one shared token refresh, each call replayed at most once", async () => {
    const wp = workplus();
    await settle(wp.apps.listAdmins({ appId: "app-1" }));
    const before = server.requests.length;
    // The next 40 requests are refused as "token not found." whatever token they carry.
    script(
      "wpGet",
      Array.from({ length: 40 }, () => ({ kind: "json", status: 200, body: wpError(10011) }) as Fault),
    );
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        settle(wp.apps.listAdmins({ appId: "app-1" }, { headers: { "x-call": `c${i}` } })),
      ),
    );
    const perCall = attemptsPerCall("wpGet");
    // The script refuses the first 40 requests to arrive, whichever call sent them; after it, a
    // request with the old token is refused too (like WorkPlus), one with the new token answered.
    const arrival = server.requests.slice(before).filter((r) => r.pathname === PATHS.wpGet);
    for (const [i, outcome] of outcomes.entries()) {
      const attempts = perCall.get(`c${i}`) ?? [];
      // Refused, then exactly one replay with the refreshed token, never more.
      expect(attempts).toHaveLength(2);
      const [first, replay] = attempts as [Received, Received];
      expect(replay.query.get("access_token")).not.toBe(first.query.get("access_token"));
      const replayRefused = arrival.indexOf(replay) < 40;
      if (replayRefused)
        expect(outcome.error).toMatchObject({ name: "WorkPlusError", code: statusCodes.TOKEN_NOT_FOUND });
      else expect(outcome.error).toBeUndefined();
    }
    expect(arrival).toHaveLength(60);
    expect(outcomes.some((o) => !o.error)).toBe(true);
    expect(server.requests.slice(before).filter((r) => r.pathname === PATHS.wpToken)).toHaveLength(1);
  });

  it("an IP-banned token endpoint: 50 concurrent calls share one token request and all fail typed", async () => {
    script("dtToken", [], { kind: "json", status: 403, body: BAN });
    const dt = dingtalk();
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () => settle(dt.contact.getLatestDingIndex())),
    );
    expect(
      outcomes.every((o) => o.error instanceof DingTalkError && o.error.code === DINGTALK_IP_BAN_CODE),
    ).toBe(true);
    expect(server.count("POST", PATHS.dtToken)).toBe(1);
    expect(server.count("GET", PATHS.dtGet)).toBe(0);
  });
});

describe("faults: secrets echoed by the server", () => {
  it("status lines and headers that echo the token are redacted too", async () => {
    const echo = (req: Received) => `Bad ${tokenIn(req)}`;
    server.on("GET", PATHS.dtGet, (req, res) => {
      res.statusMessage = echo(req);
      res.writeHead(400, {
        "content-type": "text/html",
        "x-echo": tokenIn(req),
        "x-acs-request-id": tokenIn(req),
      });
      res.end("<h1>bad request</h1>");
    });
    server.on("GET", PATHS.wpGet, (req, res) => {
      res.statusMessage = echo(req);
      res.writeHead(500, {
        "content-type": "text/html",
        "x-echo": tokenIn(req),
        "x-request-id": tokenIn(req),
      });
      res.end("<h1>error</h1>");
    });
    const dt = await settle(dingtalk().contact.getLatestDingIndex());
    const wp = await settle(workplus({ retry: false }).apps.listAdmins({ appId: "app-1" }));
    expect(dt.error).toBeInstanceOf(DingTalkError);
    expect(wp.error).toBeInstanceOf(WorkPlusError);
    // Checked here too (not only at the end) so the failure names the case.
    for (const e of [dt.error, wp.error]) expect(shown(e)).not.toMatch(/(dt|wp)-tok-/);
  });

  it("the app secret stays redacted after many token rotations", async () => {
    // Each call is refused once (a new token), so the client goes through 40 tokens.
    const wp = workplus();
    for (let i = 0; i < 40; i++) {
      issuedTokens.push(`wp-rotated-elsewhere-${i}`); // another process fetched: ours is stale
      await settle(wp.apps.listAdmins({ appId: "app-1" }));
    }
    // The first call gets the first token; each later one is refused once, gets a new token and
    // is replayed with it.
    expect(server.count("POST", PATHS.wpToken)).toBe(40);
    expect(server.count("GET", PATHS.wpGet)).toBe(1 + 39 * 2);
    script("wpGet", [], { kind: "json", status: 200, body: wpError(202102) });
    const outcome = await settle(wp.apps.listAdmins({ appId: "app-1" }));
    expect(outcome.error).toBeInstanceOf(WorkPlusError);
    expect(shown(outcome.error)).not.toContain(WP_SECRET);
  });
});

afterAll(() => {
  // Measured from the file's start, so it holds for any subset of its tests too.
  expect(performance.now() - suiteStarted, "the fault suite's total time").toBeLessThan(SUITE_BOUND_MS);
});
