/**
 * Redaction without holes: a secret echoed at any depth, percent-encoded, in base64 (alone or as
 * Basic auth's `key:secret`) or under a secret-like name never shows; a hostile error body (cycles,
 * 100 000 levels deep, bigints, throwing toJSON) can always be JSON.stringify-ed and inspected,
 * within a bound.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { inspect, promisify } from "node:util";
import { createDingTalk, DingTalkError, ParseError, type paths } from "imspec/dingtalk";
import { startMockServer } from "imspec/mock";
import { rawClient } from "imspec/raw";
import { createWeCom } from "imspec/wecom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redactor } from "../../src/core/redact.js";
import { loadEntries } from "../contract/entries.js";
import { APIS, callOperation } from "../contract/support.js";
import { ROOT } from "../support/repo-copy.js";
import { json, type Received, ScriptedServer } from "../support/scripted-server.js";
import { leaked, settler, shown } from "./secrets.js";

const run = promisify(execFile);
const WORKER = path.join(import.meta.dirname, "workers/redact-worker.ts");
const SECRET = "planted/app+secret=Zq8";
const TOKEN = "tok-9f8e7d6c5b4a39281706f5e4d3c2b1a0";

/** A body that holds `value` `depth` levels down. */
function nested(depth: number, value: unknown): unknown {
  let body: unknown = value;
  for (let i = 0; i < depth; i++) body = { level: i, inner: body };
  return body;
}

/** Every form of the secret a server could echo back. */
function echoes(secret: string, key = "ding-app"): string[] {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return [
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    b64(secret),
    b64(`${key}:${secret}`),
    Buffer.from(`${key}:${secret}`).toString("base64url"),
    b64(`x${secret}`),
    b64(`xy${secret}`),
  ];
}

describe("Redactor", () => {
  const redactor = new Redactor();
  redactor.pin(SECRET);
  redactor.add(TOKEN);

  it("masks a token 40 (and 99) levels deep", () => {
    for (const depth of [40, 99]) {
      const out = JSON.stringify(redactor.value(nested(depth, `echo ${TOKEN}`)));
      expect(leaked(out, [TOKEN]), `depth ${depth}`).toEqual([]);
      expect(out).toContain("[redacted]");
    }
  });

  it.each(echoes(SECRET).map((e, i) => [i, e]))("masks echo form %i of a secret (%s)", (_i, echo) => {
    const text = redactor.text(`Authorization: Basic ${echo}; got ${echo}.`);
    expect(leaked(text, [echo, SECRET])).toEqual([]);
    expect(JSON.stringify(redactor.value({ message: `saw ${echo}` }))).not.toContain(echo);
  });

  it("masks short secrets from 4 characters; shorter ones are left, as documented", () => {
    const r = new Redactor();
    r.pin("k9Zx");
    r.pin("ab1");
    expect(r.text("secret k9Zx in base64 azlaeA== and ab1")).toBe(
      "secret [redacted] in base64 [redacted]A== and ab1",
    );
  });

  it("masks a secret used as a key, in every item of a list that repeats it", () => {
    const items = Array.from({ length: 3 }, (_, i) => ({ [TOKEN]: i, [`x ${SECRET}`]: "v", id: i }));
    const out = JSON.stringify(redactor.value({ items }));
    expect(leaked(out, [TOKEN, SECRET])).toEqual([]);
    expect(redactor.value({ items })).toEqual({
      items: [0, 1, 2].map((i) => ({ "[redacted]": i, "x [redacted]": "v", id: i })),
    });
  });

  it("masks secret-like names and auth schemes in any letter case", () => {
    const r = new Redactor();
    for (const text of ["ACCESS_TOKEN=never-seen-5", "Client-Secret: never-seen-6", "BEARER never-seen-7"])
      expect(r.text(`got ${text}.`), text).not.toMatch(/never-seen/);
    expect(r.text("abc")).toBe("abc");
  });

  it("masks a value under a secret-like name even when the value was never learnt", () => {
    const r = new Redactor();
    const body = r.value({ error: { access_token: "never-seen-1", appSecret: "never-seen-2", list: [1] } });
    expect(JSON.stringify(body)).not.toMatch(/never-seen/);
    expect(r.text('{"refresh_token":"never-seen-3"} x-api-token: never-seen-4')).not.toMatch(/never-seen/);
    expect(body).toEqual({ error: { access_token: "[redacted]", appSecret: "[redacted]", list: [1] } });
  });

  it("masks a list or an object under a secret-like name whole; a flag or null stays", () => {
    const r = new Redactor();
    const body = r.value({
      refresh_token: ["never-seen-8", "never-seen-9"],
      clientSecret: { value: "never-seen-10", expires: 7200 },
      suiteTicket: 1234567,
      need_token: false,
      access_token: null,
    });
    expect(body).toEqual({
      refresh_token: "[redacted]",
      clientSecret: "[redacted]",
      suiteTicket: "[redacted]",
      need_token: false,
      access_token: null,
    });
    expect(r.text('{"refresh_token": ["never-seen-11"], "x": 1}')).not.toMatch(/never-seen/);
  });

  it("masks every item of a list and an object after a secret-like name in text; plural names and API keys too", () => {
    const r = new Redactor();
    const text = r.text(
      '{"refresh_token": ["a-1234", "never-seen-13"], "secret": {"v": "never-seen-14"}, "x": "kept"} tokens=never-seen-15',
    );
    expect(text).not.toMatch(/never-seen/);
    expect(text).toContain('"x": "kept"');
    expect(
      r.value({
        access_tokens: ["never-seen-16"],
        apiKey: "never-seen-17",
        secret_key: 1,
        appKey: "ding-app",
      }),
    ).toEqual({
      access_tokens: "[redacted]",
      apiKey: "[redacted]",
      secret_key: "[redacted]",
      appKey: "ding-app", // an app's name, not a secret
    });
  });

  // Masked through the matching bracket, whatever nests inside or a string holds; what follows stays.
  it.each([
    ['{"tokens": [["x"], "LEAKED"]}', '{"tokens": [redacted]}'],
    ['tokens={"a":{"b":1},"c":"LEAKED"}', "tokens=[redacted]"],
    [
      '{"refresh_tokens": [{"scopes": ["read"], "v": "LEAKED"}], "x": 1}',
      '{"refresh_tokens": [redacted], "x": 1}',
    ],
    ['"tokens": ["a]b", "LEAKED"], "x": 1', '"tokens": [redacted], "x": 1'],
    ['"secret": {"a": "}\\"]", "b": "LEAKED"} x', '"secret": [redacted] x'],
    ['tokens=[{"a": 1]}, "LEAKED"] code=1', "tokens=[redacted] code=1"],
    ['got tokens=[["a"], "LEAKED"', "got tokens=[redacted]"],
    ["tokens=[[1]] and code=42", "tokens=[redacted] and code=42"],
    ['token=[[1]] x secret={"a":{"b":"LEAKED"}} y', "token=[redacted] x secret=[redacted] y"],
    // Single-quoted, as text that is not JSON prints strings (a Python dict, a log line).
    ["{'refresh_token': ['x]y', 'LEAKED'], 'code': 40001}", "{'refresh_token': [redacted], 'code': 40001}"],
    ["tokens=[['a]'], 'LEAKED'] code=1", "tokens=[redacted] code=1"],
    ["secret={'a': '}', 'b': 'LEAKED'} x", "secret=[redacted] x"],
    ["tokens=['it\\'s]', 'LEAKED'] x", "tokens=[redacted] x"],
    ['tokens=["it\'s", \'a]\', "LEAKED"] x', "tokens=[redacted] x"],
    ["got tokens=[['a]b', 'LEAKED", "got tokens=[redacted]"],
  ])(
    "masks a list or an object after a secret-like name in text to its matching bracket: %s",
    (text, out) => {
      expect(new Redactor().text(text)).toBe(out);
    },
  );

  // Quoted, a value that starts with a bracket is a string, and masked as one.
  it.each([
    ['{"password": "{LEAKED}"}', '{"password": "[redacted]}"}'],
    ["token='[LEAKED' x", "token='[redacted]' x"],
    ['"clientSecret": "[LEAKED]", "x": 1', '"clientSecret": "[redacted]", "x": 1'],
  ])("masks a quoted value that starts with a bracket: %s", (text, out) => {
    expect(new Redactor().text(text)).toBe(out);
  });

  it("masks lists after secret-like names in megabytes of text in one pass, closed or not", () => {
    const r = new Redactor();
    const deep = "[".repeat(2 * 1024 * 1024);
    expect(r.text(`tokens=${deep}`)).toBe("tokens=[redacted]");
    expect(r.text(`tokens=["${"\\".repeat(2 * 1024 * 1024)}`)).toBe("tokens=[redacted]");
    expect(r.text("tokens=[[1]] and ".repeat(150_000))).toBe("tokens=[redacted] and ".repeat(150_000));
  });

  // Each hostile body in a process of its own, killed at the bound: a redactor that recurses or
  // grows exponentially fails here instead of freezing the runner.
  it.each(["cycles", "deep", "wide", "odd"])(
    "survives a hostile body (%s): stringify and inspect work",
    async (name) => {
      const { stdout } = await run(process.execPath, ["--import", "tsx", WORKER, name, TOKEN], {
        cwd: ROOT,
        timeout: 15_000,
      }).catch((error: { killed?: boolean }) => ({
        stdout: JSON.stringify({ error: `killed: ${error.killed}` }),
      }));
      const result = JSON.parse(stdout) as {
        error?: string;
        leaked?: boolean;
        circular?: boolean;
        deep?: boolean;
      };
      expect(result.error).toBeUndefined();
      expect(result.leaked).toBe(false);
      if (name === "cycles") expect(result.circular).toBe(true);
      if (name === "deep") expect(result.deep).toBe(true);
    },
  );

  it("forgets the rotating secret learnt longest ago, and one learnt again is the newest again", () => {
    const r = new Redactor();
    const rotating = Array.from({ length: 33 }, (_, i) => `rotating-token-${i}-Vb4`);
    const [oldest, second] = rotating as [string, string];
    for (const token of rotating.slice(0, 32)) r.add(token);
    r.add(oldest); // in use again: now the newest
    r.add(rotating[32]);
    expect(r.text(`a ${oldest} b`)).toBe("a [redacted] b");
    expect(r.text(`a ${second} b`)).toBe(`a ${second} b`);
  });

  it("masks a secret too long to share the pattern, in any letter case of its percent-encoding", () => {
    const long = "秘密".repeat(400); // 800 characters, 7,200 percent-encoded
    const r = new Redactor();
    r.add(long);
    const lower = encodeURIComponent(long).toLowerCase();
    for (const echo of [long, encodeURIComponent(long), lower])
      expect(leaked(r.text(`x=${echo}`), [echo])).toEqual([]);
  });

  it("masks a long secret with letters of its own, its percent-encoding's hex digits in either case", () => {
    const long = "Tok/en+Zq8=".repeat(120); // 1,320 characters, its letters in both cases
    const r = new Redactor();
    r.add(long);
    const encoded = encodeURIComponent(long);
    const lowerHex = encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase());
    expect(lowerHex).not.toBe(encoded.toLowerCase());
    for (const echo of [encoded, lowerHex, long.toUpperCase(), Buffer.from(long).toString("base64")])
      expect(r.text(`x=${echo} y`)).toBe("x=[redacted] y");
  });

  it("masks a secret in a header name, as a name a Headers object takes, in any letter case", () => {
    const r = new Redactor();
    r.pin(SECRET);
    r.add(TOKEN);
    const b64url = Buffer.from(SECRET).toString("base64url");
    const names = [
      `x-echo-${TOKEN.toUpperCase()}`,
      `x-b64-${b64url}`,
      TOKEN,
      `x-${encodeURIComponent(TOKEN)}`,
    ];
    const input = new Headers(names.map((name): [string, string] => [name, `v ${TOKEN}`]));
    input.append("x-plain", "kept");
    const out = [...r.headers(input)];
    const text = JSON.stringify(out).toLowerCase();
    expect(leaked(text, [TOKEN, b64url.toLowerCase()])).toEqual([]);
    for (const [name] of out) expect(name).toMatch(/^[!#$%&'*+.^_`|~0-9a-z-]+$/);
    expect(out).toContainEqual(["x-plain", "kept"]);
    expect(out).toContainEqual(["x-echo-redacted", "v [redacted]"]);
  });

  it("masks the value of a header named like a secret, or carrying credentials, even one never learnt", () => {
    const out = new Redactor().headers({
      "x-refreshed-access-token": "never-seen-12",
      "x-api-key": "never-seen-18",
      "set-cookie": "session=never-seen-19; HttpOnly",
      "x-trace": "kept",
    });
    expect([...out]).toEqual([
      ["set-cookie", "[redacted]"],
      ["x-api-key", "[redacted]"],
      ["x-refreshed-access-token", "[redacted]"],
      ["x-trace", "kept"],
    ]);
  });

  it("masks a secret echoed as a JSON number, and no number that is not one", () => {
    const r = new Redactor();
    r.pin("123456789");
    r.pin("4242");
    r.add("9876543210");
    const body = JSON.parse(
      '{"code":123456789,"list":[9876543210,12345678,4242.0,424],"float":1.23456789e8,"id":123456789012}',
    );
    expect(r.value({ ...body, big: 123456789n, app_secret: 55555555 })).toEqual({
      code: "[redacted]",
      list: ["[redacted]", 12345678, "[redacted]", 424],
      float: "[redacted]",
      id: 123456789012,
      big: "[redacted]",
      app_secret: "[redacted]", // under a secret-like name: masked though never learnt
    });
    // A rotating secret forgotten is no longer looked for, as numbers as in text.
    for (let i = 0; i < 32; i++) r.add(`rotating-token-${i}-Vb4`);
    expect(r.value([9876543210, 123456789])).toEqual([9876543210, "[redacted]"]);
  });

  it("learns a secret of megabytes at once, and masks any text long enough to hold it", () => {
    const huge = `pinned-${"秘S3cr+t/".repeat(2_000_000)}`; // 16 M characters, 40 M percent-encoded
    const r = new Redactor();
    const started = performance.now();
    r.pin(huge);
    r.add(TOKEN);
    expect(r.text(`short ${TOKEN} text`)).toBe("short [redacted] text");
    const ms = performance.now() - started;
    expect(ms, "pin and the first text() block the event loop").toBeLessThan(1_000);
    for (const echo of [huge, encodeURIComponent(huge), Buffer.from(huge).toString("base64")])
      expect(r.text(`got ${echo}`)).toBe("[redacted]");
    expect(r.value({ message: `x${huge}`, n: 1 })).toEqual({ message: "[redacted]", n: 1 });
  });

  it("cuts a body past 100 000 values, and marks the cut; the top level's own values stay wherever they stand", () => {
    const items = Array.from({ length: 300_000 }, (_, i) => ({ id: i, note: `echo ${TOKEN}` }));
    const out = redactor.value({ items, code: "busy", message: `refused ${TOKEN}`, page: { next: 2 } }) as {
      items: unknown[];
      code: string;
      message: string;
      page: unknown;
    };
    expect(out).toMatchObject({ code: "busy", message: "refused [redacted]", page: "[cut]" });
    expect(Object.keys(out)).toEqual(["items", "code", "message", "page"]);
    expect(out.items.length).toBeLessThan(100_000);
    expect(out.items.at(-1)).toBe("[cut]");
    expect(out.items[0]).toEqual({ id: 0, note: "echo [redacted]" });
    expect(leaked(JSON.stringify(out), [TOKEN])).toEqual([]);
    // Under the bound nothing is cut.
    const small = redactor.value({ items: items.slice(0, 1_000) }) as { items: unknown[] };
    expect(small.items).toHaveLength(1_000);
    expect(JSON.stringify(small)).not.toContain("[cut]");
  });

  it("cuts past 2 MiB of characters too: a string over the rest is cut whole, never a prefix of it", () => {
    const line = `token=a ${TOKEN} `.repeat(12); // each of these costs the patterns most
    const out = redactor.value({ code: "busy", items: Array.from({ length: 99_000 }, () => line) }) as {
      code: string;
      items: unknown[];
    };
    expect(out.code).toBe("busy");
    expect(out.items.length).toBeLessThan(5_000);
    expect(out.items.at(-1)).toBe("[cut]");
    const long = TOKEN.repeat(70_000); // 2.5 M characters, ending in a whole token
    const cut = redactor.value({ message: "first", detail: long, after: "kept?" });
    expect(cut).toEqual({ message: "first", detail: "[cut]", "[cut]": "[cut]" });
  });

  it("32 tokens of 8,000 characters do not make each of 100,000 short values slow to redact", () => {
    const r = new Redactor();
    const tokens = Array.from({ length: 32 }, (_, i) => `${"b".repeat(8_000)}${i}`);
    for (const t of tokens) r.add(t);
    const body = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, `v${i}`]));
    const started = performance.now();
    const out = r.value({ echo: `got ${tokens[7]}`, ...body }) as Record<string, unknown>;
    // 11 s when every value was split by every form of every token, whatever its length.
    expect(performance.now() - started, "redacting 100,000 short values").toBeLessThan(5_000);
    expect(out.k99).toBe("v99");
    expect(out.echo).toBe("got [redacted]");
    expect(r.text(`got ${tokens[7]}`)).toBe("got [redacted]");
  });

  it("two keys that redact alike: the last one's value, whichever is nested", () => {
    const r = new Redactor();
    r.pin("s3cretValue99");
    expect(r.value({ s3cretValue99: { x: 1 }, S3CRETVALUE99: "plain" })).toEqual({ "[redacted]": "plain" });
    expect(r.value({ S3CRETVALUE99: "plain", s3cretValue99: { x: 1 } })).toEqual({ "[redacted]": { x: 1 } });
  });

  it("keeps the order of keys and of array items", () => {
    expect(JSON.stringify(new Redactor().value({ b: 1, a: [1, 2, { d: 1, c: 2 }] }))).toBe(
      '{"b":1,"a":[1,2,{"d":1,"c":2}]}',
    );
  });
});

describe.each([
  { name: "fetch", options: { fetch: globalThis.fetch } },
  { name: "node:http", options: {} },
])("a client ($name) shows no echoed secret", ({ options }) => {
  let server: ScriptedServer;
  const thrown: unknown[] = [];
  const settle = settler(8_000, thrown);

  beforeAll(async () => {
    server = await new ScriptedServer().start();
    server.on("POST", "/v1.0/oauth2/accessToken", (_req, res) =>
      json(res, 200, { accessToken: TOKEN, expireIn: 7200 }),
    );
    // The error body echoes the token and the secret at depth 40, encoded every way.
    server.on("GET", "/v1.0/contact/dingIndexs", (req: Received, res) => {
      const token = String(req.headers["x-acs-dingtalk-access-token"]);
      const forms = [...echoes(token), ...echoes(SECRET)];
      json(res, 400, {
        code: "parameter.error",
        message: `refused ${forms.join(" ")}`,
        requestid: "R-1",
        detail: nested(40, { forms, auth: `Basic ${Buffer.from(`ding-app:${SECRET}`).toString("base64")}` }),
      });
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  it("in the error, its message, body, JSON and inspect", async () => {
    const dt = createDingTalk({
      rateLimit: false,
      appKey: "ding-app",
      appSecret: SECRET,
      baseUrl: server.url,
      ...options,
    });
    const { error } = await settle(dt.contact.getLatestDingIndex());
    expect(error).toMatchObject({ name: "DingTalkError", code: "parameter.error" });
    const text = `${shown(error)}\n${inspect((error as { body?: unknown }).body, { depth: null })}`;
    expect(leaked(text, [...echoes(TOKEN), ...echoes(SECRET)])).toEqual([]);
  });
});

describe("a fetch that fails with a code of its own", () => {
  it("shows no secret of the request URL it quotes, in the errno or anywhere else", async () => {
    const CORP_SECRET = "corp-secret-0a1b2c3d4e5f";
    // A custom fetch (a proxy agent, an instrumented wrapper) whose failure's code quotes the URL:
    // WeCom sends the corp secret and the token in the query string.
    const fetch = (async (url: string | URL | Request) => {
      const href = String(url);
      if (href.includes("/cgi-bin/gettoken") && !href.includes("fail"))
        return Response.json({ errcode: 0, errmsg: "ok", access_token: TOKEN, expires_in: 7200 });
      const cause = Object.assign(new Error("proxy refused"), { code: `EPROXY ${href}` });
      throw new TypeError("fetch failed", { cause });
    }) as typeof globalThis.fetch;
    const wecom = (corpId: string) =>
      createWeCom({
        corpId,
        corpSecret: CORP_SECRET,
        baseUrl: "http://127.0.0.1:9",
        fetch,
        rateLimit: false,
        retry: false,
      });
    const failures = [
      await wecom("fail")
        .auth.getAccessToken({ corpid: "fail", corpsecret: CORP_SECRET })
        .catch((e: unknown) => e),
      await wecom("fail")
        .user.getUser({ userid: "zhangsan" })
        .catch((e: unknown) => e),
      await wecom("ww-1")
        .user.getUser({ userid: "zhangsan" })
        .catch((e: unknown) => e),
    ];
    for (const error of failures) {
      expect(error).toMatchObject({ name: "ConnectionError", errno: expect.stringMatching(/^EPROXY /) });
      expect(leaked(shown(error), [CORP_SECRET, TOKEN])).toEqual([]);
    }
  });
});

describe("a body the client cannot serialize", () => {
  it("is a ConfigError whose message, quoting the value's own error, shows no secret; nothing is sent", async () => {
    const server = await new ScriptedServer().start();
    try {
      const dt = createDingTalk({ rateLimit: false, accessToken: TOKEN, baseUrl: server.url });
      // A value whose toJSON throws with the token in its message (a caller's own code may do so).
      const enable = {
        toJSON() {
          throw new Error(`cannot serialize for ${TOKEN}`);
        },
      } as unknown as boolean;
      const error = await dt.contact.updateDeptSettingTailFirst({ enable }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({
        name: "ConfigError",
        message: expect.stringMatching(/cannot be serialized/),
      });
      expect(leaked(shown(error), [TOKEN])).toEqual([]);
      expect(server.requests).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});

describe("a token in flight stays masked however many others were learnt meanwhile", () => {
  let server: ScriptedServer;
  const thrown: unknown[] = [];
  const settle = settler(8_000, thrown);
  afterAll(async () => {
    await server?.stop();
  });

  it("40 calls with tokens of their own come and go while a managed-token call waits for its answer", async () => {
    server = await new ScriptedServer().start();
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived = () => {};
    const inFlight = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    server.on("POST", "/v1.0/oauth2/accessToken", (_req, res) =>
      json(res, 200, { accessToken: TOKEN, expireIn: 7200 }),
    );
    // Every call is refused with its own token in the message, the managed one once the others are done.
    server.on("GET", "/v1.0/contact/dingIndexs", async (req: Received, res) => {
      const token = String(req.headers["x-acs-dingtalk-access-token"]);
      if (token === TOKEN) {
        arrived();
        await held;
      }
      json(res, 400, { code: "parameter.error", message: `refused ${token}`, requestid: "R-1" });
    });
    const logs: string[] = [];
    const dt = createDingTalk({
      rateLimit: false,
      appKey: "ding-app",
      appSecret: SECRET,
      baseUrl: server.url,
      retry: false,
      logger: (event) => logs.push(JSON.stringify(event)),
    });
    const first = settle(dt.contact.getLatestDingIndex());
    await inFlight;
    const others = Array.from({ length: 40 }, (_, i) => `per-call-token-${i}-x7Qm`);
    for (const accessToken of others) {
      const { error } = await settle(dt.contact.getLatestDingIndex({}, { accessToken }));
      expect(leaked(shown(error), [accessToken])).toEqual([]);
    }
    release();
    const { error } = await first;
    expect(error).toMatchObject({ name: "DingTalkError", code: "parameter.error" });
    expect(leaked(`${shown(error)}\n${logs.join("\n")}`, [TOKEN])).toEqual([]);
  });
});

describe.each([
  { name: "fetch", options: { fetch: globalThis.fetch } },
  { name: "node:http", options: {} },
])("a client ($name) shows no secret a hostile server echoes", ({ options }) => {
  let server: ScriptedServer;
  const thrown: unknown[] = [];
  const settle = settler(8_000, thrown);
  let issued = TOKEN;
  const DIGITS_SECRET = "123456789";
  const DIGITS_TOKEN = "4815162342";
  beforeAll(async () => {
    server = await new ScriptedServer().start();
    server.on("POST", "/v1.0/oauth2/accessToken", (_req, res) =>
      json(res, 200, { accessToken: issued, expireIn: 7200 }),
    );
  });
  afterAll(async () => {
    await server.stop();
  });
  const apiRequests = () => server.requests.filter((r) => r.pathname !== "/v1.0/oauth2/accessToken");
  const dingtalk = (appSecret = SECRET) =>
    createDingTalk({
      rateLimit: false,
      retry: false,
      appKey: "ding-app",
      appSecret,
      baseUrl: server.url,
      ...options,
    });

  it("in the names of the answer's headers", async () => {
    issued = TOKEN;
    const b64url = Buffer.from(SECRET).toString("base64url");
    server.on("GET", "/v1.0/contact/dingIndexs", (req: Received, res) => {
      const token = String(req.headers["x-acs-dingtalk-access-token"]);
      json(
        res,
        400,
        { code: "parameter.error", message: "refused", requestid: "R-1" },
        {
          [`X-Echo-${token}`]: "1",
          [token]: "2",
          [`x-b64-${b64url}`]: "3",
        },
      );
    });
    const { error } = await settle(dingtalk().contact.getLatestDingIndex());
    expect(error).toBeInstanceOf(DingTalkError);
    const headers = [...((error as DingTalkError).headers ?? [])];
    const text = `${shown(error)}\n${inspect(headers)}`.toLowerCase();
    expect(leaked(text, [TOKEN, b64url.toLowerCase()])).toEqual([]);
    expect(headers).toContainEqual(["x-echo-redacted", "1"]);
  });

  it("a secret that spells a field's name hides neither its code nor the refresh that code asks for", async () => {
    // A short secret (from 4 characters) that is the name of DingTalk's code field.
    let tokens = 0;
    server.on("POST", "/v1.0/oauth2/accessToken", (_req, res) =>
      json(res, 200, { accessToken: `tok-named-field-${++tokens}`, expireIn: 7200 }),
    );
    try {
      server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) =>
        json(res, 400, { code: "parameter.error", message: "refused", requestid: "R-2" }),
      );
      const { error } = await settle(dingtalk("code").contact.getLatestDingIndex());
      expect(error).toMatchObject({ name: "DingTalkError", code: "parameter.error", requestId: "R-2" });
      // The code that says "token invalid" is read so: the token is replaced and the call replayed.
      let calls = 0;
      server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) =>
        ++calls === 1
          ? json(res, 401, { code: "InvalidAuthentication", message: "expired" })
          : json(res, 200, { idxTotal: 3 }),
      );
      const before = tokens;
      const { data } = await settle(dingtalk("code").contact.getLatestDingIndex());
      expect(data).toEqual({ idxTotal: 3 });
      expect(tokens - before).toBe(2);
    } finally {
      server.on("POST", "/v1.0/oauth2/accessToken", (_req, res) =>
        json(res, 200, { accessToken: issued, expireIn: 7200 }),
      );
    }
  });

  it("without the whitespace around them: a token goes out trimmed, and a secret is echoed so", async () => {
    const token = "tok-trimmed-on-the-wire-5e4d";
    const secret = "app-secret-read-with-its-newline-7Qx";
    server.on("GET", "/v1.0/contact/dingIndexs", (req: Received, res) =>
      json(res, 400, {
        code: "parameter.error",
        message: `<${req.headers["x-acs-dingtalk-access-token"]}> refused; appSecret <${secret}>`,
      }),
    );
    for (const given of [` ${token}\t`, `${token} `]) {
      const client = createDingTalk({
        rateLimit: false,
        retry: false,
        baseUrl: server.url,
        getAccessToken: () => given,
        appSecret: `${secret}\n`,
        ...options,
      } as Parameters<typeof createDingTalk>[0]);
      const { error } = await settle(client.contact.getLatestDingIndex());
      expect(error).toBeInstanceOf(DingTalkError);
      expect((error as Error).message).toContain("<[redacted]> refused");
      expect(leaked(shown(error), [token, secret])).toEqual([]);
    }
  });

  it("from request headers named like secrets or credentials, the client's and a call's", async () => {
    const clientKey = "client-header-api-key-4Rt";
    const callToken = "call-header-proxy-token-8Wq";
    const basic = Buffer.from("proxy-user:proxy-password-2Zm").toString("base64");
    server.on("GET", "/v1.0/contact/dingIndexs", (req: Received, res) =>
      json(res, 400, {
        code: "parameter.error",
        message: `<${req.headers["x-api-key"]}> <${req.headers["x-proxy-token"]}> <${String(req.headers["proxy-authorization"]).split(" ")[1]}>`,
      }),
    );
    const client = createDingTalk({
      rateLimit: false,
      retry: false,
      baseUrl: server.url,
      accessToken: TOKEN,
      headers: { "X-Api-Key": clientKey, "proxy-authorization": `Basic ${basic}` },
      ...options,
    });
    const { error } = await settle(
      client.contact.getLatestDingIndex({}, { headers: { "x-proxy-token": callToken } }),
    );
    expect(error).toBeInstanceOf(DingTalkError);
    expect((error as Error).message).toContain("<[redacted]> <[redacted]> <[redacted]>");
    expect(leaked(shown(error), [clientKey, callToken, basic])).toEqual([]);
    const raw = await rawClient<paths>(client)
      .GET("/v1.0/contact/dingIndexs", { headers: { "x-proxy-token": `${callToken}-raw` } })
      .catch((e: unknown) => e);
    expect(leaked(shown(raw), [clientKey, `${callToken}-raw`, basic])).toEqual([]);
  });

  it("as JSON numbers: an app secret and a token of digits", async () => {
    issued = DIGITS_TOKEN;
    server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
      const text = `{"code":"parameter.error","message":"refused","requestid":"R-1","echo":[${DIGITS_SECRET},${DIGITS_TOKEN}.0],"detail":{"appKey":"ding-app","seen":1.23456789e8,"token":${DIGITS_TOKEN}}}`;
      res.writeHead(400, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    });
    const { error } = await settle(dingtalk(DIGITS_SECRET).contact.getLatestDingIndex());
    expect(error).toBeInstanceOf(DingTalkError);
    expect((error as DingTalkError).body).toMatchObject({ echo: ["[redacted]", "[redacted]"] });
    const text = `${shown(error)}\n${inspect((error as { body?: unknown }).body, { depth: null })}`;
    expect(leaked(text, [DIGITS_SECRET, DIGITS_TOKEN])).toEqual([]);
  });

  it("a token answer too long to be a token is a ParseError that does not show it; nothing is sent with it", async () => {
    server.on("GET", "/v1.0/contact/dingIndexs", (req: Received, res) =>
      json(res, 400, {
        code: "parameter.error",
        message: `refused ${req.headers["x-acs-dingtalk-access-token"]}`,
      }),
    );
    const before = apiRequests().length;
    for (const length of [8193, 9 * 1024 * 1024]) {
      issued = `tok-${"A1b2".repeat(Math.ceil(length / 4))}`.slice(0, length);
      const { error } = await settle(dingtalk().contact.getLatestDingIndex());
      expect(error, `a token of ${length}`).toBeInstanceOf(ParseError);
      expect((error as Error).message).toMatch(/accessToken is \d+ characters long/);
      expect(leaked(shown(error), [issued.slice(0, 64)])).toEqual([]);
    }
    expect(apiRequests().length).toBe(before);
    // At the bound, a token is taken (and masked in what the server echoes).
    issued = `tok-${"A1b2".repeat(2048)}`.slice(0, 8192);
    const { error } = await settle(dingtalk().contact.getLatestDingIndex());
    expect(error).toBeInstanceOf(DingTalkError);
    expect(leaked(shown(error), [issued])).toEqual([]);
  });
});

const entries = await loadEntries();
const ENVELOPED = APIS.filter((api) => entries[api].profile.envelope);

describe.each(ENVELOPED)("%s: an envelope status that echoes a secret of digits", (api) => {
  it("shows it nowhere: not in the code, the message, the JSON or the log event", async () => {
    const DIGITS = "4815162342";
    const mock = await startMockServer();
    try {
      const { profile, create, operations, ErrorClass } = entries[api];
      const env = profile.envelope as NonNullable<typeof profile.envelope>;
      // The first token source's options, its secrets all digits.
      const [source] = profile.tokens;
      const credentials = Object.fromEntries(
        Object.values(source?.options ?? {}).map((o) => [o, source?.secrets.includes(o) ? DIGITS : `x-${o}`]),
      );
      const operationId = Object.keys(operations).find((id) => operations[id]?.token === "app") as string;
      const raw = `{"${env.statusField}":"${DIGITS}","${env.messageField}":"refused"}`;
      mock.script(api, operationId, { raw }, { raw, status: 400 });
      const logs: string[] = [];
      const client = create({
        ...credentials,
        baseUrl: mock.urls[api],
        rateLimit: false,
        retry: false,
        logger: (e: unknown) => void logs.push(JSON.stringify(e)),
      });
      for (const status of [200, 400]) {
        const error = await callOperation(client, api, operationId).catch((e: unknown) => e);
        expect(error, `HTTP ${status}`).toBeInstanceOf(ErrorClass);
        expect(error).toMatchObject({ status, code: "[redacted]" });
        expect(leaked(`${shown(error)}\n${logs.join("\n")}`, [DIGITS])).toEqual([]);
      }
    } finally {
      await mock.stop();
    }
  });
});

describe("imspec/raw: a request's own path and query", () => {
  it("a wrapper error's path field shows no token the caller put in the query", async () => {
    const dt = createDingTalk({ rateLimit: false, accessToken: TOKEN, baseUrl: "http://127.0.0.1:9" });
    const raw = rawClient<paths>(dt);
    // A body JSON cannot hold: openapi-fetch's own TypeError, wrapped with the call's site.
    const error = await raw
      .request("post" as never, `/v1.0/unlisted?access_token=${TOKEN}` as never, { body: { a: 1n } } as never)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ConfigError" });
    expect(leaked(shown(error), [TOKEN])).toEqual([]);
  });

  it("a path the spec does not list is logged and thrown redacted: a token in it shows nowhere", async () => {
    const server = await new ScriptedServer().start();
    try {
      server.on(
        "GET",
        (p) => p.startsWith("/v1.0/unlisted/"),
        (_req, res) => json(res, 400, { code: "parameter.error", message: "no", requestid: "R-1" }),
      );
      const events: unknown[] = [];
      const dt = createDingTalk({
        rateLimit: false,
        accessToken: TOKEN,
        baseUrl: server.url,
        retry: false,
        logger: (e) => events.push(e),
      });
      const error = await rawClient<Record<string, never>>(dt)
        .GET(`/v1.0/unlisted/${TOKEN}` as never)
        .catch((e: unknown) => e);
      expect(server.requests).toHaveLength(1);
      expect(leaked(shown(error) + JSON.stringify(events), [TOKEN])).toEqual([]);
      expect(events).toEqual([expect.objectContaining({ path: "/v1.0/unlisted/[redacted]" })]);
    } finally {
      await server.stop();
    }
  });
});
