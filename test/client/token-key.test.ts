import { describe, expect, it } from "vitest";
import { tokenKey } from "../../src/core/token.js";
import { ownerOptions } from "../../src/core/token-store.js";

describe("tokenKey", () => {
  it("is the API, the normalised origin and path, and a 16-hex hash of the identity", () => {
    expect(tokenKey("dingtalk", "https://api.dingtalk.com", { appKey: "ding-app" })).toMatch(
      /^dingtalk:https:\/\/api\.dingtalk\.com:[0-9a-f]{16}$/,
    );
  });

  it.each([
    ["upper-case host", "https://API.Example.COM/base"],
    ["default port", "https://api.example.com:443/base"],
    ["trailing slash", "https://api.example.com/base/"],
    ["repeated slashes", "https://api.example.com//base//"],
    ["query and fragment", "https://api.example.com/base?x=1#top"],
  ])("ignores %s", (_name, url) => {
    const identity = { clientId: "c1", orgId: "o1" };
    expect(tokenKey("workplus", url, identity)).toBe(
      tokenKey("workplus", "https://api.example.com/base", identity),
    );
  });

  it("tells deployments apart: another host, port, scheme or path prefix is another key", () => {
    const id = { appKey: "same-app" };
    const keys = [
      "https://api.example.com",
      "https://staging.example.com",
      "https://api.example.com:8443",
      "http://api.example.com",
      "https://api.example.com/tenant-a",
      "https://api.example.com/tenant-b",
      "https://api.example.com/Tenant-a", // paths are case-sensitive
    ].map((url) => tokenKey("x", url, id));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("encodes the identity unambiguously, whatever the values hold, and in any key order", () => {
    const url = "https://h.example";
    expect(tokenKey("a", url, { x: "a:b", y: "c" })).not.toBe(tokenKey("a", url, { x: "a", y: "b:c" }));
    expect(tokenKey("a", url, { x: 'a","y":"b' })).not.toBe(tokenKey("a", url, { x: "a", y: "b" }));
    expect(tokenKey("a", url, { x: "1", y: "2" })).toBe(tokenKey("a", url, { y: "2", x: "1" }));
    expect(tokenKey("a", url, { x: "1" })).not.toBe(tokenKey("b", url, { x: "1" }));
    // An API name holding the separator cannot shift the other parts.
    expect(tokenKey("a:https", "//h", {})).not.toBe(tokenKey("a", "https://h", {}));
  });

  it("never carries credentials of the URL into the key, nor a URL that does not parse", () => {
    expect(tokenKey("w", "https://user:pa55word@h.example/p", {})).not.toContain("pa55word");
    expect(tokenKey("w", "not a url with pa55word", {})).not.toContain("pa55word");
  });
});

describe("ownerOptions: whose token a source issues (the client's key and the mock's owner, one rule)", () => {
  it.each([
    [
      "non-secret options only",
      { options: { appKey: "appKey", appSecret: "appSecret" }, secrets: ["appSecret"] },
      [["appKey", "appKey"]],
    ],
    [
      "an identifying secret too",
      {
        options: { corpid: "corpId", corpsecret: "corpSecret" },
        secrets: ["corpSecret"],
        identifying: ["corpSecret"],
      },
      [
        ["corpid", "corpId"],
        ["corpsecret", "corpSecret"],
      ],
    ],
    [
      "every option but the secrets, whatever the field names",
      {
        options: { client_id: "clientId", org_id: "orgId", client_secret: "clientSecret" },
        secrets: ["clientSecret"],
      },
      [
        ["client_id", "clientId"],
        ["org_id", "orgId"],
      ],
    ],
    ["no options", { options: {}, secrets: [] }, []],
  ])("%s", (_name, source, owners) => {
    expect(ownerOptions(source)).toEqual(owners);
  });
});
