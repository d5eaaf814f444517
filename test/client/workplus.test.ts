import { inspect } from "node:util";
import { ConfigError, createWorkPlus, ParseError, statusCodes, WorkPlusError } from "imspec/workplus";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { delay, json, ScriptedServer } from "../support/scripted-server.js";

const SECRET = "planted-client-secret-77aa";
const ADMINS = { records: [{ id: 829, name: "XXX", username: "lizj" }], total_counts: 1 };

let server: ScriptedServer;
let issued: number;

/**
 * A WorkPlus-shaped server: POST /v1/token issues tok-N and, like the real one, invalidates the
 * previous token; app endpoints answer 10011 for anything but the newest token.
 */
beforeEach(async () => {
  server = await new ScriptedServer().start();
  issued = 0;
  server.on("POST", "/v1/token", async (req, res) => {
    const body = JSON.parse(req.body) as Record<string, string>;
    if (body.client_secret !== SECRET)
      return json(res, 200, { status: 202104, message: `应用认证失败 ${body.client_secret}` });
    issued++;
    await delay(20);
    json(res, 200, {
      status: 0,
      message: "Everything is ok.",
      result: {
        access_token: `wp-token-${issued}-0123456789`,
        refresh_token: `wp-token-${issued}-0123456789`,
        issued_time: Date.now(),
        expire_time: Date.now() + 30 * 86_400_000,
        client_id: "c",
      },
    });
  });
  server.on(
    "GET",
    (p) => /^\/v1\/apps\/[^/]+\/admins$/.test(p),
    (req, res) => {
      if (req.query.get("access_token") !== `wp-token-${issued}-0123456789`)
        return json(res, 200, { status: 10011, message: "token not found." });
      json(res, 200, { status: 0, message: "ok", result: ADMINS });
    },
  );
});
afterEach(async () => {
  vi.useRealTimers();
  await server.stop();
});

function client(extra: Record<string, unknown> = {}) {
  return createWorkPlus({
    baseUrl: server.url,
    domainId: "atwork",
    clientId: "app-key",
    clientSecret: SECRET,
    orgId: "org-1",
    retry: { baseDelayMs: 1 },
    ...extra,
  } as Parameters<typeof createWorkPlus>[0]);
}

describe("createWorkPlus", () => {
  it("100 concurrent calls on a cold cache make exactly one token request", async () => {
    const wp = client();
    const results = await Promise.all(
      Array.from({ length: 100 }, () => wp.apps.listAdmins({ appId: "app-1" })),
    );
    expect(results.every((r) => r.total_counts === 1)).toBe(true);
    expect(server.count("POST", "/v1/token")).toBe(1);
    const [tokenRequest] = server.requests;
    expect(JSON.parse(tokenRequest?.body ?? "")).toEqual({
      grant_type: "client_credentials",
      scope: "app",
      domain_id: "atwork",
      client_id: "app-key",
      client_secret: SECRET,
      org_id: "org-1",
    });
  });

  it("unwraps the envelope's result and sends access_token in the query", async () => {
    const admins = await client().apps.listAdmins({ appId: "app-1", name: "li" });
    expect(admins).toEqual(ADMINS);
    const call = server.requests.at(-1);
    expect(call?.query.get("access_token")).toBe("wp-token-1-0123456789");
    expect(call?.query.get("name")).toBe("li");
  });

  it("a domain app sends owner_id instead of org_id", async () => {
    await createWorkPlus({
      baseUrl: server.url,
      domainId: "atwork",
      clientId: "app-key",
      clientSecret: SECRET,
      ownerId: "atwork",
    }).apps.listAdmins({ appId: "a" });
    expect(JSON.parse(server.requests[0]?.body ?? "")).toMatchObject({ owner_id: "atwork" });
    expect(JSON.parse(server.requests[0]?.body ?? "")).not.toHaveProperty("org_id");
  });

  it("status 10011 (token replaced elsewhere) invalidates the token, refreshes once and replays once", async () => {
    const wp = client();
    await wp.apps.listAdmins({ appId: "app-1" });
    issued++; // another process fetched a token: ours is now invalid
    await expect(wp.apps.listAdmins({ appId: "app-1" })).resolves.toEqual(ADMINS);
    expect(server.count("POST", "/v1/token")).toBe(2);
  });

  it("a token refused late in an attempt is replaced within the replay's own timeout", async () => {
    const wp = client({ timeout: 1_000 });
    await wp.apps.listAdmins({ appId: "app-1" });
    issued++;
    // The refusal comes 800 ms into a 1 s attempt and the new token takes 450 ms: together past the
    // first attempt's deadline, well within the replay's.
    server.on("GET", "/v1/apps/app-1/admins", async (req, res) => {
      if (req.query.get("access_token") === `wp-token-${issued}-0123456789`)
        return json(res, 200, { status: 0, message: "ok", result: ADMINS });
      await delay(800);
      json(res, 200, { status: 10011, message: "token not found." });
    });
    server.on("POST", "/v1/token", async (_req, res) => {
      await delay(450);
      issued++;
      json(res, 200, {
        status: 0,
        message: "ok",
        result: { access_token: `wp-token-${issued}-0123456789`, expire_time: Date.now() + 86_400_000 },
      });
    });
    await expect(wp.apps.listAdmins({ appId: "app-1" })).resolves.toEqual(ADMINS);
    expect(server.count("POST", "/v1/token")).toBe(2);
  });

  it("a burst of 10011 answers shares one refresh", async () => {
    const wp = client();
    await wp.apps.listAdmins({ appId: "app-1" });
    issued++;
    await Promise.all(Array.from({ length: 50 }, () => wp.apps.listAdmins({ appId: "app-1" })));
    expect(server.count("POST", "/v1/token")).toBe(2);
  });

  it("never loops on 10011: the second refusal is thrown as WorkPlusError", async () => {
    server.on(
      "GET",
      (p) => p.endsWith("/admins"),
      (_req, res) => json(res, 200, { status: 10011, message: "token not found." }),
    );
    const error = (await client()
      .apps.listAdmins({ appId: "app-1" })
      .catch((e: unknown) => e)) as WorkPlusError;
    expect(error).toBeInstanceOf(WorkPlusError);
    expect(error).toMatchObject({
      code: statusCodes.TOKEN_NOT_FOUND,
      status: 200,
      operationId: "listAdmins",
      path: "/v1/apps/{appId}/admins",
    });
    expect(server.requests.filter((r) => r.pathname.endsWith("/admins"))).toHaveLength(2);
  });

  it("other non-zero statuses are WorkPlusError with the status and message, not retried", async () => {
    server.on(
      "GET",
      (p) => p.endsWith("/scope-views"),
      (_req, res) => json(res, 200, { status: 202102, message: "没有对应的应用" }),
    );
    await expect(client().apps.listScopeViews({ appId: "nope" })).rejects.toMatchObject({
      name: "WorkPlusError",
      code: statusCodes.NO_SUCH_APP,
      message: expect.stringContaining("没有对应的应用"),
    });
    expect(server.requests.filter((r) => r.pathname.endsWith("/scope-views"))).toHaveLength(1);
  });

  it("a body without the envelope is a ParseError", async () => {
    server.on(
      "GET",
      (p) => p.endsWith("/scope-views"),
      (_req, res) => json(res, 200, [{ id: 1 }]),
    );
    await expect(client().apps.listScopeViews({ appId: "a" })).rejects.toBeInstanceOf(ParseError);
  });

  it.each([
    ["a quoted integer", "0", "data"],
    ["a quoted error status", " 10042 ", "error"],
    ["an empty string", "", "parse"],
    ["a hex string", "0x0", "parse"],
    ["a fraction", 0.5, "parse"],
    ["a boolean", false, "parse"],
  ])("an envelope status that is %s (%j) → %s", async (_what, status, outcome) => {
    server.on(
      "GET",
      (p) => p.endsWith("/scope-views"),
      (_req, res) => json(res, 200, { status, message: "m", result: [{ id: "1" }] }),
    );
    const call = client({ retry: false }).apps.listScopeViews({ appId: "a" });
    if (outcome === "data") await expect(call).resolves.toEqual([{ id: "1" }]);
    else if (outcome === "error")
      await expect(call).rejects.toMatchObject({ name: "WorkPlusError", code: 10042 });
    else await expect(call).rejects.toBeInstanceOf(ParseError);
  });

  it("sourceType applies per client and can be overridden per call", async () => {
    server.on(
      "GET",
      (p) => p.endsWith("/scope-views"),
      (_req, res) => json(res, 200, { status: 0, message: "ok", result: [] }),
    );
    const wp = client({ sourceType: "ISV" });
    await wp.apps.listScopeViews({ appId: "a", org_id: "312" });
    expect(server.requests.at(-1)?.query.get("source_type")).toBe("ISV");
    await wp.apps.listScopeViews({ appId: "a", source_type: "NATIVE" });
    expect(server.requests.at(-1)?.query.get("source_type")).toBe("NATIVE");
    await client().apps.listScopeViews({ appId: "a" });
    expect(server.requests.at(-1)?.query.has("source_type")).toBe(false);
    // Params that are no object are refused as on any client, never spread into one.
    const sent = server.requests.length;
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    for (const params of [null, "appId", ["a"], 5, revoked])
      await expect(wp.apps.listScopeViews(params as never)).rejects.toBeInstanceOf(ConfigError);
    expect(server.requests).toHaveLength(sent);
  });

  it("caches the token until expire_time minus the margin", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const wp = client({ tokenMarginMs: 60_000 });
    await wp.apps.listAdmins({ appId: "a" });
    vi.setSystemTime(Date.now() + 30 * 86_400_000 - 120_000);
    await wp.apps.listAdmins({ appId: "a" });
    expect(server.count("POST", "/v1/token")).toBe(1);
    vi.setSystemTime(Date.now() + 90_000);
    await wp.apps.listAdmins({ appId: "a" });
    expect(server.count("POST", "/v1/token")).toBe(2);
  });

  it("keeps appId inside its path segment", async () => {
    const wp = client();
    for (const id of ["a/b", "x?access_token=evil", "a#b", "应用 1"]) {
      await expect(wp.apps.listAdmins({ appId: id })).resolves.toEqual(ADMINS);
      expect(server.requests.at(-1)?.url.startsWith(`/v1/apps/${encodeURIComponent(id)}/admins?`)).toBe(true);
      expect(server.requests.at(-1)?.query.getAll("access_token")).toEqual(["wp-token-1-0123456789"]);
    }
    await expect(wp.apps.listAdmins({ appId: ".." })).rejects.toBeInstanceOf(ConfigError);
  });

  it("requires a baseUrl and complete credentials", () => {
    expect(() => createWorkPlus({} as never)).toThrow(ConfigError);
    for (const options of [null, "https://im.example.cn", [server.url]])
      expect(() => createWorkPlus(options as never)).toThrow(/options must be an object/);
    expect(() =>
      createWorkPlus({ baseUrl: server.url, domainId: "d", clientId: "c", clientSecret: "s" } as never),
    ).toThrow(/orgId/);
  });

  it("never shows the client secret or the token in errors or logs", async () => {
    const lines: string[] = [];
    server.on(
      "GET",
      (p) => p.endsWith("/scope-views"),
      (req, res) =>
        json(res, 200, {
          status: 202102,
          message: `no app for access_token=${req.query.get("access_token")}`,
        }),
    );
    const wp = client({ logger: (e: unknown) => lines.push(JSON.stringify(e)) });
    const error = (await wp.apps.listScopeViews({ appId: "a" }).catch((e: unknown) => e)) as WorkPlusError;
    const wrong = (await client({ clientSecret: "wrong-secret-4321" })
      .apps.listAdmins({ appId: "a" })
      .catch((e: unknown) => e)) as WorkPlusError;
    expect(wrong).toMatchObject({
      code: statusCodes.APP_AUTHENTICATION_FAILED,
      operationId: "getAccessToken",
    });
    for (const e of [error, wrong]) {
      const shown = [
        e.message,
        e.stack,
        JSON.stringify(e),
        inspect(e, { depth: 8, showHidden: true }),
        JSON.stringify(e.body),
        ...lines,
      ].join("\n");
      expect(shown).not.toContain(SECRET);
      expect(shown).not.toContain("wrong-secret-4321");
      expect(shown).not.toContain("wp-token-1-0123456789");
    }
  });
});
