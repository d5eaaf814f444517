/**
 * Request and answer headers through a real client (createDingTalk) against a scripted loopback
 * server: how the client's and the call's headers merge, which ones are refused before anything is
 * sent, and how the answer's headers reach the caller.
 */
import { ConfigError, createDingTalk, DingTalkError, type paths } from "imspec/dingtalk";
import { rawClient } from "imspec/raw";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { json, ScriptedServer } from "../support/scripted-server.js";

const TOKEN = "tok-headers-test-5f2a";
let server: ScriptedServer;

beforeEach(async () => {
  server = await new ScriptedServer().start();
  server.on("GET", "/v1.0/contact/dingIndexs", (_req, res) => {
    res.writeHead(200, [
      ["Content-Type", "application/json"],
      ["X-Acs-Request-Id", "REQ-H-1"],
      ["X-Multi", "a"],
      ["x-multi", "b"],
    ]);
    res.end('{"ok":true}');
  });
  server.on("POST", "/v1.0/contact/seniorSettings", (_req, res) =>
    json(res, 400, { code: "parameter.error", message: "bad", requestid: "REQ-H-2" }, { "x-extra": "e" }),
  );
});
afterEach(async () => {
  await server.stop();
});

function client(headers?: Record<string, string>) {
  return createDingTalk({
    rateLimit: false,
    accessToken: TOKEN,
    baseUrl: server.url,
    retry: false,
    ...(headers ? { headers } : {}),
  });
}

const settle = (promise: PromiseLike<unknown>) =>
  Promise.resolve(promise).then(
    () => undefined,
    (e: unknown) => e,
  );

/** Header values no request may carry; each holds "secret", which no error may quote. */
const BAD_VALUES: Array<[string, string]> = [
  ["a CR LF", "v1\r\nX-Injected: secret-cr-lf"],
  ["a lone LF", "v1\nX-Injected: secret-lf"],
  ["a lone CR", "v1\rsecret-cr"],
  ["a NUL", "v1\0secret-nul"],
  ["a character beyond Latin-1", "secret-中文"],
];

/** A bad value of the header x-custom refused: a ConfigError naming it, quoting none of it, nothing sent. */
/** The headers the transport frames a request with, in any case: never an option's. */
const FRAMING = ["host", "Content-Length", "transfer-encoding", "CONNECTION"];

/** A ConfigError naming the framing header, and nothing sent. */
function expectFramingRefusal(error: unknown, name: string): void {
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).message).toContain(name.toLowerCase());
  expect(server.requests).toHaveLength(0);
}

function expectUnquotedRefusal(error: unknown): void {
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).message).toContain("x-custom");
  expect(JSON.stringify(error)).not.toContain("secret");
  expect(String((error as Error).stack)).not.toContain("secret");
  expect(server.requests).toHaveLength(0);
}

describe("request headers", () => {
  it("the call's headers over the client's, names compared without case", async () => {
    const dt = client({ "X-Trace": "client", "X-Keep": "kept", "x-app": "app" });
    await dt.contact.getLatestDingIndex({}, { headers: { "x-trace": "call", "X-APP": "call-app" } });
    const [seen] = server.requests;
    expect(seen?.headers["x-trace"]).toBe("call");
    expect(seen?.headers["x-app"]).toBe("call-app");
    expect(seen?.headers["x-keep"]).toBe("kept");
    expect(seen?.headers["x-acs-dingtalk-access-token"]).toBe(TOKEN);
  });

  it("the access token over a header option of the same name", async () => {
    const dt = client({ "X-Acs-Dingtalk-Access-Token": "from-options" });
    await dt.contact.getLatestDingIndex({}, { headers: { "x-acs-dingtalk-access-token": "from-call" } });
    expect(server.requests[0]?.headers["x-acs-dingtalk-access-token"]).toBe(TOKEN);
  });

  it("a JSON body with content-type application/json; none on a GET", async () => {
    const dt = client({ "x-client": "c" });
    await settle(dt.contact.updateSeniorSetting({ seniorStaffId: "u1", open: true }));
    await dt.contact.getLatestDingIndex();
    const [post, get] = server.requests;
    expect(post?.headers["content-type"]).toBe("application/json");
    expect(post?.headers["content-length"]).toBe(String(Buffer.byteLength(post?.body ?? "")));
    expect(JSON.parse(post?.body ?? "")).toEqual({ seniorStaffId: "u1", open: true });
    expect(get?.headers["content-type"]).toBeUndefined();
    expect(get?.headers["x-client"]).toBe("c");
  });

  it("values lose spaces and tabs at either end, as fetch's Headers does", async () => {
    await client({ "x-pad": " \tpadded value\t " }).contact.getLatestDingIndex();
    expect(server.requests[0]?.headers["x-pad"]).toBe("padded value");
  });

  describe.each([
    ["the client's options", (h: Record<string, string>) => client(h).contact.getLatestDingIndex()],
    [
      "the call's options",
      (h: Record<string, string>) => client().contact.getLatestDingIndex({}, { headers: h }),
    ],
  ])("refused in %s, before anything is sent", (_where, call) => {
    it.each(FRAMING)("the framing header %s: a ConfigError naming it", async (name) => {
      expectFramingRefusal(await settle(call({ [name]: "1" })), name);
    });

    it.each(BAD_VALUES)(
      "a value with %s: a ConfigError that does not quote the value",
      async (_case, value) => {
        expectUnquotedRefusal(await settle(call({ "x-custom": value })));
      },
    );

    it.each([
      ["a space", "x custom"],
      ["a colon", "x:custom"],
      ["nothing", ""],
      ["a CR LF", "x\r\ncustom"],
    ])("a name with %s: a ConfigError", async (_case, name) => {
      const error = await settle(call({ [name]: "v" }));
      expect(error).toBeInstanceOf(ConfigError);
      expect(server.requests).toHaveLength(0);
    });

    it("a value that is not a string: a ConfigError", async () => {
      const error = await settle(call({ "x-number": 42 as unknown as string }));
      expect(error).toBeInstanceOf(ConfigError);
      expect(server.requests).toHaveLength(0);
    });
  });

  it.each<[string, unknown]>([
    ["a string", "x-a: 1"],
    ["a Headers", new Headers({ "x-a": "1" })],
    ["a Map", new Map([["x-a", "1"]])],
    ["an array of pairs", [["x-a", "1"]]],
  ])(
    "headers that are %s, not an object of names: a ConfigError, not headers dropped or made up",
    async (_kind, headers) => {
      expect(() => client(headers as Record<string, string>)).toThrow(ConfigError);
      const error = await settle(
        client().contact.getLatestDingIndex({}, { headers: headers as Record<string, string> }),
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain("headers");
      expect(server.requests).toHaveLength(0);
    },
  );

  it("a header record of another library's class, with a tag of its own, is read by its fields", async () => {
    class LibraryHeaders {
      "x-lib" = "1";
      get [Symbol.toStringTag]() {
        return "LibraryHeaders";
      }
    }
    const record = new LibraryHeaders() as unknown as Record<string, string>;
    await client(record).contact.getLatestDingIndex({}, { headers: record });
    expect(server.requests[0]?.headers["x-lib"]).toBe("1");
  });

  describe("a raw client's request headers, held to the same rules", () => {
    const raw = (headers: Record<string, string>, dt = client()) =>
      rawClient<paths>(dt).POST("/v1.0/contact/seniorSettings", {
        body: { seniorStaffId: "u1", open: true } as never,
        headers,
      });

    it.each(FRAMING)("the framing header %s: a ConfigError naming it, nothing sent", async (name) => {
      expectFramingRefusal(
        await settle(raw({ [name]: name === "transfer-encoding" ? "chunked" : "1" })),
        name,
      );
    });

    it.each(BAD_VALUES)(
      "a value with %s: a ConfigError naming the header, not quoting the value",
      async (_case, value) => {
        expectUnquotedRefusal(await settle(raw({ "x-custom": value })));
      },
    );

    it.each<[string, Record<string, unknown>]>([
      ["params.header", { params: { header: { "x-tok": "secret-param\nx" } } }],
      ["a list value's third item", { headers: { "x-a": ["ok", "fine", "secret-list\0"] } }],
    ])("a bad value in %s: a ConfigError naming the header, not quoting the value", async (_where, init) => {
      const error = await settle(
        rawClient<paths>(client()).POST("/v1.0/contact/seniorSettings", {
          body: { seniorStaffId: "u1", open: true } as never,
          ...init,
        } as never),
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect(JSON.stringify(error)).not.toContain("secret");
      expect(String((error as Error).stack)).not.toContain("secret");
      expect(server.requests).toHaveLength(0);
    });

    it("headers given as a list of pairs: a ConfigError, not a header named 0", async () => {
      const error = await settle(raw([["x-a", "v"]] as unknown as Record<string, string>));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain("not a list");
      expect(server.requests).toHaveLength(0);
    });

    it("the call's headers over the client's, as a method's are", async () => {
      await settle(raw({ "x-trace": "call" }, client({ "x-trace": "client", "x-keep": "kept" })));
      expect(server.requests[0]?.headers["x-trace"]).toBe("call");
      expect(server.requests[0]?.headers["x-keep"]).toBe("kept");
      expect(server.requests[0]?.headers["content-type"]).toBe("application/json");
    });
  });
});

describe("answer headers", () => {
  it("are readable through .withResponse(), any case, repeated lines joined", async () => {
    const { data, requestId, response } = await client().contact.getLatestDingIndex().withResponse();
    expect(data).toEqual({ ok: true });
    expect(requestId).toBe("REQ-H-1");
    expect(response.status).toBe(200);
    expect(response.headers.get("X-ACS-REQUEST-ID")).toBe("REQ-H-1");
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("x-multi")).toBe("a, b");
    expect(await response.json()).toEqual({ ok: true });
  });

  it("are on the error of a refused call", async () => {
    const error = await settle(client().contact.updateSeniorSetting({ seniorStaffId: "u1", open: true }));
    expect(error).toBeInstanceOf(DingTalkError);
    expect((error as DingTalkError).headers?.get("x-extra")).toBe("e");
    expect((error as DingTalkError).requestId).toBe("REQ-H-2");
  });
});
