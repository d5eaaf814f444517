/**
 * Pagination that cannot run away: a server that says "more" forever with empty pages, repeats a
 * cursor or leaves it out ends in a PaginationError within a bound, never in an endless loop (before,
 * empty pages with fresh cursors made 69 201 requests in 20 s) nor a silent, incomplete end.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ConfigError, createDingTalk, PaginationError } from "imspec/dingtalk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMethods, MAX_EMPTY_PAGES, type OperationRow } from "../../src/core/methods.js";
import { json, type Received, ScriptedServer } from "../support/scripted-server.js";
import { settler } from "./secrets.js";

const LIST = "/v1.0/contact/staffAttributes/visibilitySettings";
const BOUND_MS = 5_000;

describe.each([
  { name: "fetch", options: { fetch: globalThis.fetch } },
  { name: "node:http", options: {} },
])("pages() and iterate() over $name", ({ options }) => {
  let server: ScriptedServer;
  const settle = settler(BOUND_MS, []);
  /** What the list endpoint answers for the cursor it was sent. */
  let page: (cursor: string) => unknown;

  beforeEach(async () => {
    server = await new ScriptedServer().start();
    server.on("POST", "/v1.0/oauth2/accessToken", (_req, res) =>
      json(res, 200, { accessToken: "tok-pages-0123456789", expireIn: 7200 }),
    );
    server.on("GET", LIST, (req: Received, res) => json(res, 200, page(req.query.get("nextToken") ?? "")));
  });
  afterEach(async () => {
    await server.stop();
  });

  const client = () =>
    createDingTalk({
      rateLimit: false,
      appKey: "ding-app",
      appSecret: "app-secret-0451",
      baseUrl: server.url,
      ...options,
    });
  const listed = () => server.count("GET", LIST);

  /** Drains an iterator within the bound: the items it gave, and the error it ended with. */
  async function drain(iterator: AsyncIterable<unknown>) {
    const items: unknown[] = [];
    const { error } = await settle(
      (async () => {
        for await (const item of iterator) items.push(item);
      })(),
    );
    return { items, error };
  }

  it("hasMore forever with empty pages and fresh cursors: a PaginationError after 10 requests", async () => {
    page = (cursor) => ({ list: [], hasMore: true, nextCursor: Number(cursor) + 1 });
    const { items, error } = await drain(client().contact.listEmpAttributeVisibility.iterate());
    expect(error).toBeInstanceOf(PaginationError);
    expect((error as Error).message).toMatch(/empty pages/);
    expect(items).toEqual([]);
    expect(listed()).toBe(10);
  });

  it("maxEmptyPages sets the bound; a page with items resets the count", async () => {
    page = (cursor) => ({
      list: Number(cursor) === 1 ? [{ id: 1 }] : [],
      hasMore: true,
      nextCursor: Number(cursor) + 1,
    });
    const { items, error } = await drain(
      client().contact.listEmpAttributeVisibility.iterate({}, { maxEmptyPages: 3 }),
    );
    expect(error).toBeInstanceOf(PaginationError);
    expect(items).toEqual([{ id: 1 }]);
    expect(listed()).toBe(6); // -1, 0 empty; 1 has an item; 2, 3, 4 empty
  });

  it("a careless maxEmptyPages (NaN, 0, -1) stops at the first empty page, never loops", async () => {
    page = (cursor) => ({ list: [], hasMore: true, nextCursor: Number(cursor) + 1 });
    for (const maxEmptyPages of [Number.NaN, 0, -1]) {
      const { error } = await drain(
        client().contact.listEmpAttributeVisibility.iterate({}, { maxEmptyPages }),
      );
      expect(error).toBeInstanceOf(PaginationError);
    }
    expect(listed()).toBe(3);
  });

  it("a careless maxEmptyPages reads one empty page: pages with items go on to the end", async () => {
    page = (cursor) => ({
      list: Number(cursor) < 2 ? [{ id: cursor }] : [],
      hasMore: Number(cursor) < 2,
      nextCursor: Number(cursor) + 1,
    });
    for (const maxEmptyPages of [Number.NaN, 0, -1, 0.5, null]) {
      const options = { maxEmptyPages } as { maxEmptyPages?: number };
      const { items, error } = await drain(client().contact.listEmpAttributeVisibility.iterate({}, options));
      expect(error).toBeUndefined();
      expect(items).toEqual([{ id: "-1" }, { id: "0" }, { id: "1" }]);
    }
  });

  it("a maxEmptyPages that is not a number is a ConfigError, before any page is asked for", async () => {
    page = (cursor) => ({ list: [{ id: 1 }], hasMore: false, nextCursor: Number(cursor) + 1 });
    for (const maxEmptyPages of ["3", {}, true]) {
      const options = { maxEmptyPages } as unknown as { maxEmptyPages?: number };
      const { error } = await drain(client().contact.listEmpAttributeVisibility.iterate({}, options));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/maxEmptyPages must be a number/);
    }
    expect(listed()).toBe(0);
  });

  it("maxEmptyPages: Infinity is held to the most, never a listing without end", async () => {
    page = (cursor) => ({ list: [], hasMore: true, nextCursor: Number(cursor) + 1 });
    const { error } = await drain(
      client().contact.listEmpAttributeVisibility.iterate({}, { maxEmptyPages: Number.POSITIVE_INFINITY }),
    );
    expect(error).toBeInstanceOf(PaginationError);
    expect((error as Error).message).toMatch(`sent ${MAX_EMPTY_PAGES} empty pages`);
    expect(listed()).toBe(MAX_EMPTY_PAGES);
  });

  it("a repeated cursor ends in a PaginationError, after the pages before it", async () => {
    page = (cursor) => ({
      list: [{ id: cursor }],
      hasMore: true,
      nextCursor: cursor === "-1" ? 5 : 5 + ((Number(cursor) - 4) % 3),
    });
    const { items, error } = await drain(client().contact.listEmpAttributeVisibility.iterate());
    expect(error).toBeInstanceOf(PaginationError);
    expect((error as Error).message).toMatch(/repeated a cursor/);
    expect(items).toEqual([{ id: "-1" }, { id: "5" }, { id: "6" }, { id: "7" }]);
  });

  it("hasMore without a cursor ends in a PaginationError, not a silent end", async () => {
    page = () => ({ list: [{ id: 1 }], hasMore: true });
    const { items, error } = await drain(client().contact.listEmpAttributeVisibility.iterate());
    expect(error).toBeInstanceOf(PaginationError);
    expect(items).toEqual([{ id: 1 }]);
  });

  it("a listing that ends says nothing and makes no extra request", async () => {
    page = (cursor) => ({ list: [{ id: cursor }], hasMore: cursor !== "2", nextCursor: Number(cursor) + 1 });
    const { items, error } = await drain(client().contact.listEmpAttributeVisibility.pages());
    expect(error).toBeUndefined();
    expect(items).toHaveLength(4);
    expect(listed()).toBe(4);
  });
});

/**
 * A paginated operation over memory, no server: `page(cursor, call)` is the data of each call (the
 * first call's cursor is `firstCursor`). Its `pages()`, and the number of calls made so far.
 */
function listing(page: (cursor: unknown, call: number) => unknown, firstCursor?: number) {
  const row: OperationRow = {
    method: "GET",
    path: "/items",
    tag: "items",
    params: { cursor: "query" },
    idempotent: true,
    token: "none",
    pagination: {
      cursorParam: "cursor",
      cursorField: "next",
      hasMoreField: "more",
      itemsField: "items",
      ...(firstCursor === undefined ? {} : { firstCursor }),
    },
  };
  let calls = 0;
  const methods = createMethods<
    { items: { list: { params: object; result: unknown } } },
    { list: OperationRow }
  >({ list: row }, async (_id, _row, params) => ({ data: page(params.cursor, ++calls) }) as never);
  const { list } = (methods as unknown as { items: { list: { pages(): AsyncIterable<unknown> } } }).items;
  return { pages: () => list.pages(), calls: () => calls };
}

describe("cursor loops longer than the cursors kept", () => {
  it("a loop of 1 500 distinct cursors is found in bounded memory within twice its length (Brent)", async () => {
    // 0 → 1 → … → 1 599 → 100 → 101 → …: a tail of 100, then a loop of 1 500.
    const { pages, calls } = listing((at) => {
      const cursor = Number(at);
      return { items: [cursor], more: true, next: cursor === 1_599 ? 100 : cursor + 1 };
    }, 0);
    const error = await (async () => {
      for await (const _ of pages()) if (calls() > 20_000) return new Error("ran away");
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaginationError);
    expect(calls()).toBeLessThan(100 + 3 * 1_500 + 1_024);
  });

  it("fresh cursors of 1 MiB each: 300 pages keep about one of them, not 300 MiB", async () => {
    const { pages, calls } = listing((_, call) => ({
      items: [call],
      more: true,
      next: `${call}-`.padEnd(1 << 20, "x"),
    }));
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    let grew = Number.POSITIVE_INFINITY;
    for await (const _ of pages()) {
      if (calls() < 300) continue;
      // Measured while the listing is still going: what it keeps, not what is left once it ends.
      gc();
      grew = process.memoryUsage().heapUsed - before;
      break;
    }
    expect(grew).toBeLessThan(32 * 1024 * 1024);
  });
});
