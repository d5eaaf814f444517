/**
 * Whose budgets a client's calls spend (the `app` and `app-operation` scopes): the app its credentials
 * name, a token given as a string, or the app `rateLimit.appName` names; never one budget for apps that
 * differ, nor two for one app reached two ways once it is named.
 */
import { ConfigError, type LimiterStore, type Transport } from "imspec";
import { createDingTalk } from "imspec/dingtalk";
import { describe, expect, it } from "vitest";

/** A store that lets every call go and keeps the app keys of the budgets each call took. */
function recording() {
  const keys: string[] = [];
  const store: LimiterStore = {
    async take(budgets) {
      for (const { key } of budgets) if (!key.startsWith("ip:")) keys.push(key);
      return 0;
    },
  };
  return { keys, store };
}

/** Answers the token request with a token, anything else with `{}`. */
const transport: Transport = async ({ url }) => ({
  status: 200,
  headers: { "content-type": "application/json" },
  body: url.includes("/oauth2/") ? JSON.stringify({ accessToken: "app-token-1234", expireIn: 7200 }) : "{}",
});

/** The app keys one call of a client made with `options` spends. */
async function appKeysOf(options: Record<string, unknown>): Promise<string[]> {
  const { keys, store } = recording();
  const rateLimit = { store, ...((options.rateLimit as object | undefined) ?? {}) };
  const dt = createDingTalk({ ...options, rateLimit, transport } as Parameters<typeof createDingTalk>[0]);
  await dt.contact.getLatestDingIndex();
  // The token request spends budgets too: the call's are the last taken.
  return keys.filter((key) => key.includes("getLatestDingIndex"));
}

describe("the app a client's budgets belong to", () => {
  it("a token given as a string is an app of its own: two tokens, two budgets; one token, one", async () => {
    const [a] = await appKeysOf({ accessToken: "token-of-app-a-1234" });
    const [b] = await appKeysOf({ accessToken: "token-of-app-b-5678" });
    const [again] = await appKeysOf({ accessToken: "token-of-app-a-1234" });
    expect(a).toBeDefined();
    expect(a).not.toBe(b);
    expect(again).toBe(a);
    // The key holds a hash, never the token.
    expect(a).not.toContain("token-of-app");
  });

  it("credentials name their app; the same credentials, the same budget", async () => {
    const credentials = { appKey: "ding-app-1", appSecret: "secret-1234" };
    const [first] = await appKeysOf(credentials);
    expect(await appKeysOf(credentials)).toEqual([first]);
    expect(await appKeysOf({ appKey: "ding-app-2", appSecret: "secret-1234" })).not.toEqual([first]);
  });

  it("rateLimit.appName makes one budget of one app reached two ways, and two of two apps' token functions", async () => {
    const getAccessToken = async () => "fetched-elsewhere-1234";
    const [managed] = await appKeysOf({
      appKey: "ding-app-1",
      appSecret: "secret-1234",
      rateLimit: { appName: "crm" },
    });
    const [provided] = await appKeysOf({ getAccessToken, rateLimit: { appName: "crm" } });
    expect(provided).toBe(managed);
    // Unnamed, token functions cannot be told apart: one budget per API and base URL.
    const [unnamed] = await appKeysOf({ getAccessToken });
    expect(await appKeysOf({ getAccessToken: async () => "another-app-5678" })).toEqual([unnamed]);
    expect(await appKeysOf({ getAccessToken, rateLimit: { appName: "billing" } })).not.toEqual([managed]);
  });

  it.each([[""], ["  "], [42], [null]])("rateLimit.appName %j is a ConfigError", (appName) => {
    expect(() =>
      createDingTalk({ accessToken: "t-1234", rateLimit: { appName } } as Parameters<
        typeof createDingTalk
      >[0]),
    ).toThrow(ConfigError);
  });
});
