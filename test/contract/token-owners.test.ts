/**
 * Whose token a client holds, when a key option of its token source is a function (a value read at
 * each token request): such a function cannot be told apart from another app's, so its client's
 * token is its own, never another company's through a shared store, while its calls spend the
 * budgets every such client of the API spends (pacing two apps as one is slower, never over a
 * limit). Derived from each API's token sources; against the mock, which issues one token per owner.
 */
import { MemoryTokenStore } from "imspec";
import { type MockServer, startMockServer } from "imspec/mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INTERNALS, type Internals } from "../../src/core/client.js";
import { ownerOptions } from "../../src/core/token-store.js";
import { entryOf } from "./entries.js";
import { APIS } from "./support.js";

let mock: MockServer;
beforeAll(async () => {
  mock = await startMockServer();
});
afterAll(() => mock?.stop());

describe("a key option given as a function", () => {
  it.each(APIS)(
    "%s: two clients sharing a store, whose functions name two owners, hold two tokens and spend one budget",
    async (api) => {
      const { create, profile, operations } = await entryOf(api);
      const baseUrl = (mock.urls as Record<string, string>)[api];
      for (const spec of profile.tokens) {
        const options = Object.values(spec.options);
        const keys = ownerOptions(spec)
          .map(([, o]) => o)
          .filter((o) => !spec.secrets.includes(o));
        for (const option of keys) {
          const tokenStore = new MemoryTokenStore();
          const full = Object.fromEntries(options.map((o) => [o, `${o}-value`]));
          const client = (owner: string) =>
            create({ ...full, [option]: async () => owner, baseUrl, tokenStore }) as {
              appToken: { get(): Promise<string> };
              [INTERNALS]: Internals;
            };
          const before = mock.tokenRequests(api);
          const [a, b] = [client(`${option}-owner-a`), client(`${option}-owner-b`)];
          const tokens = [await a.appToken.get(), await b.appToken.get()];
          expect(tokens[1], `${api} ${spec.operation} ${option}`).not.toBe(tokens[0]);
          expect(mock.tokenRequests(api) - before).toBe(2);
          // Every operation's budgets: one set for both.
          const budgets = (c: ReturnType<typeof client>) =>
            Object.entries(operations).map(([id, row]) =>
              c[INTERNALS].refOf(id, row).budgets?.map((x) => x.key),
            );
          expect(budgets(b)).toEqual(budgets(a));
          // Not two empty lists, where the spec declares budgets.
          if (profile.rateLimits.length > 0) expect(budgets(a).flat().length).toBeGreaterThan(0);
        }
      }
    },
  );
});
