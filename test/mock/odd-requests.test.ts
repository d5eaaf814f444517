/**
 * Requests a client or a person with curl may send the mock that the spec does not foresee: each gets
 * the API's own refusal or a plain 400, never an untyped 500 or an answer that never ends. And the
 * token request `imspec mock` prints for each API works as printed.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { connect, createServer } from "node:net";
import path from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type MockServer, startMockServer } from "imspec/mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usageLines } from "../../src/mock/usage.js";
import { APIS, ROOT } from "../support/specs.js";

type Json = Record<string, unknown>;

/** An API whose operation documents a `default` response, as many specs do. */
const withDefault: Json = {
  openapi: "3.1.0",
  info: { title: "Def", version: "1" },
  paths: {
    "/ping": {
      get: {
        operationId: "ping",
        responses: {
          "200": { description: "ok", content: { "application/json": { example: { ok: true } } } },
          default: {
            description: "error",
            content: { "application/json": { example: { code: "x", message: "y" } } },
          },
        },
      },
    },
  },
};

let mock: MockServer;
beforeAll(async () => {
  mock = await startMockServer({ documents: { def: withDefault } });
});
afterAll(() => mock?.stop());

describe("a query key named like an object's own members", () => {
  it.each([
    ["__proto__ once", "&__proto__=a"],
    ["__proto__ twice", "&__proto__=a&__proto__=b"],
    ["constructor", "&constructor=x"],
  ])("%s: refused as a parameter the spec does not have, in the API's envelope", async (_, extra) => {
    const token = mock.issueToken("wecom");
    const res = await fetch(
      `${mock.urlOf("wecom")}/cgi-bin/user/get?userid=zhangsan&access_token=${token}${extra}`,
    );
    expect(res.status).toBe(200); // WeCom answers errors in the envelope, with HTTP 200
    expect((await res.json()) as Json).toMatchObject({ errcode: 400 });
  });
});

describe("Prefer: code= on an operation with a default response", () => {
  it.each(["000", "102", "199"])("code=%s is no final status: a 400 at once", async (code) => {
    const res = await fetch(`${mock.urlOf("def")}/ping`, {
      headers: { prefer: `code=${code}` },
      signal: AbortSignal.timeout(5_000),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(`Prefer: code=${code} is not a final HTTP status`);
  });

  it("code=503 is served from the default response", async () => {
    const res = await fetch(`${mock.urlOf("def")}/ping`, { headers: { prefer: "code=503" } });
    expect(res.status).toBe(503);
  });
});

describe("the token request printed for each API", () => {
  it("works as printed, and answers a token", async () => {
    // Every API of redocly.yaml is served beside the test's own document: a line for each, none left out.
    const apis = mock.apis.filter((api) => api !== "def");
    expect(apis).toEqual([...APIS]);
    for (const lines of apis.map((api) => usageLines(api, mock.documentOf(api), mock.urlOf(api)))) {
      // `a token (…; it lives 7200 s, field accessToken):` then the curl line; the field is the spec's.
      const at = lines.findIndex((l) => l.includes("curl -s -X"));
      const field = /, field (\S+)\):$/.exec(lines[at - 1] ?? "")?.[1];
      const line = lines[at] ?? "";
      expect(at, lines.join("\n")).toBeGreaterThan(0);
      expect(field, lines.join("\n")).toBeDefined();
      const m = /-X (\w+) '([^']+)'(?: -H 'content-type: application\/json' -d '(.*)')?$/.exec(line.trim());
      expect(m, line).toBeTruthy();
      const [, method, url, data] = m as RegExpExecArray;
      const res = await fetch(url as string, {
        method: method as string,
        ...(data ? { headers: { "content-type": "application/json" }, body: data } : {}),
      });
      const body = JSON.stringify(await res.json());
      expect(body, line).toContain(`"${field}":"`);
    }
  });
});

describe("a request body that is not JSON", () => {
  // JSON.parse's message quotes the text around the fault: a secret typed unquoted, or a body that
  // is nothing but a secret, would be sent back in the refusal and printed on the request's log line.
  const SECRET = "Zq8planted-app-secret";
  const seen = (text: string) => [SECRET, SECRET.slice(0, 5)].filter((s) => text.includes(s));
  it.each([
    [
      "a secret unquoted",
      "dingtalk",
      "/v1.0/oauth2/accessToken",
      `{"appKey": "ding-app", "appSecret": ${SECRET}}`,
    ],
    ["nothing but a secret", "dingtalk", "/v1.0/oauth2/accessToken", SECRET],
    [
      "a secret unquoted",
      "workplus",
      "/v1/token",
      `{"grant_type": "client_credentials", "client_secret": ${SECRET}}`,
    ],
    [
      "a body cut short",
      "dingtalk",
      "/v1.0/oauth2/accessToken",
      `{"appKey": "ding-app", "appSecret": "${SECRET}"`,
    ],
  ])(
    "%s (%s %s): refused as not valid JSON, its text quoted neither in the answer nor in the record",
    async (_what, api, path, body) => {
      const res = await fetch(`${mock.urlOf(api)}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const answer = await res.text();
      expect(answer).toContain("request body is not valid JSON");
      const problems = mock.requests.at(-1)?.problems.join("\n") ?? "";
      expect(problems).toContain("request body is not valid JSON");
      expect(seen(answer)).toEqual([]);
      expect(seen(problems)).toEqual([]);
    },
  );
});

describe("a scripted code that is no final status", () => {
  it.each([100, 101, 199])("code: %i is refused when queued, not sent as an interim answer", async (code) => {
    // Sent, the documented (default) response went out as a 1xx: the call waited for an answer
    // that never came.
    expect(() => mock.script("def", "ping", { code })).toThrow(
      "imspec mock: script(def, ping), answer 1: code must be an integer from 200 to 999",
    );
    const res = await fetch(`${mock.urlOf("def")}/ping`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(200);
  });
});

describe("the request log of imspec mock", () => {
  it("shows a request's control characters escaped: a query name cannot forge lines or drive the terminal", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "src", "mock", "cli.ts"), "mock", "--port", "0", "--no-watch"],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    const until = async (seen: () => boolean) => {
      for (const end = Date.now() + 20_000; !seen(); await new Promise((r) => setTimeout(r, 20)))
        if (Date.now() > end || child.exitCode !== null)
          throw new Error(`not seen in time:\n${out.slice(-600)}\n${err}`);
    };
    try {
      await until(() => /http:\/\/127\.0\.0\.1:\d+\/wecom/.test(out));
      const base = /http:\/\/127\.0\.0\.1:\d+\/wecom/.exec(out)?.[0];
      // ESC [2J clears the screen; the line break would start a log line of the sender's own.
      const issued = await fetch(`${base}/cgi-bin/gettoken?corpid=ww1234567890abcdef&corpsecret=s`);
      const token = ((await issued.json()) as Json).access_token;
      const res = await fetch(
        `${base}/cgi-bin/user/get?userid=a&access_token=${token}&%1b%5b2JEVIL%0aGET%20/forged=1`,
      );
      expect(res.status).toBe(200);
      await until(() => out.includes("EVIL"));
      const logged = out.slice(out.lastIndexOf("\n", out.indexOf("EVIL")) + 1);
      expect(logged.replaceAll("\n", "")).not.toMatch(/\p{Cc}/u);
      expect(logged.split("\n").filter(Boolean)).toHaveLength(1);
      expect(logged).toContain("\\u001b[2JEVIL\\u000aGET /forged");
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
  });
});

describe("imspec mock on a port another server holds", () => {
  it("says so in one line, exit 1, without the usage text a command-line mistake gets", async () => {
    const holder = createServer().listen(0, "127.0.0.1");
    await once(holder, "listening");
    const { port } = holder.address() as { port: number };
    try {
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          path.join(ROOT, "src", "mock", "cli.ts"),
          "mock",
          "--port",
          String(port),
          "--no-watch",
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 },
      );
      let err = "";
      child.stderr.on("data", (d) => {
        err += d;
      });
      const [code] = await once(child, "exit");
      expect(code).toBe(1);
      expect(err).toMatch(
        new RegExp(`^imspec: cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\): another server`),
      );
      expect(err).toContain("--port 0");
      expect(err).not.toContain("Usage:");
    } finally {
      holder.close();
    }
  });
});

describe("token requests whose owner fields are odd", () => {
  const workplusToken = async (fields: Json) => {
    const res = await fetch(`${mock.urlOf("workplus")}/v1/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "client_credentials", scope: "app", client_secret: "s", ...fields }),
    });
    return ((await res.json()) as { result: { access_token: string } }).result.access_token;
  };
  const works = async (token: string) =>
    ((await (await fetch(`${mock.urlOf("workplus")}/v1/apps/a/admins?access_token=${token}`)).json()) as Json)
      .status;

  it("two apps whose fields differ only in where a colon falls are two owners: neither replaces the other's token", async () => {
    // WorkPlus keeps one token per app: a token request revokes the app's previous token.
    const first = await workplusToken({ domain_id: "d:x", client_id: "c", org_id: "o" });
    const second = await workplusToken({ domain_id: "d", client_id: "x:c", org_id: "o" });
    expect(second).not.toBe(first);
    expect(await works(second)).toBe(0);
    expect(await works(first)).toBe(0);
  });

  it("tokens asked for with field values of nearly a MiB do not keep the values for the tokens' lifetime", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const big = "k".repeat((1 << 20) - 200);
    const ask = (i: number) =>
      fetch(`${mock.urlOf("dingtalk")}/v1.0/oauth2/accessToken`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ appKey: `${i}-${big}`, appSecret: "s" }),
      }).then((res) => res.arrayBuffer());
    await ask(-1);
    mock.clearRequests();
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 60; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => ask(i + j)));
    mock.clearRequests(); // the records' bodies are bounded apart
    gc();
    // 60 owners of a MiB each were 60 MiB held for two hours; a few MiB of other garbage is allowed.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(20 << 20);
  });
});

describe("a CONNECT request (a client that takes the mock for a proxy)", () => {
  it("gets an answer, 405 in JSON, not a connection closed without one; and is recorded", async () => {
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(mock.port, "127.0.0.1");
      let text = "";
      const timer = setTimeout(() => socket.destroy(), 5_000);
      socket.on("data", (d) => {
        text += d;
      });
      socket.on("error", () => undefined);
      socket.on("close", () => {
        clearTimeout(timer);
        resolve(text);
      });
      socket.write("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    });
    expect(answer).toMatch(/^HTTP\/1\.1 405 /);
    expect(answer).toMatch(/content-type: application\/json/i);
    expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toMatchObject({
      message: expect.stringContaining("CONNECT"),
    });
    expect(mock.requests.at(-1)).toMatchObject({ method: "CONNECT", status: 405, outcome: "not-found" });
    const res = await fetch(`${mock.urlOf("def")}/ping`);
    expect(res.status).toBe(200);
  });
});
