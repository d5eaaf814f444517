/**
 * A running mock picks up a regenerated spec: it watches each API's `generated/<api>/openapi.json`
 * and reloads it (debounced) when the file changes, as `npm run docs:serve` rebuilds the docs. A
 * spec it cannot serve is refused and the previous one stays in service.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type MockServer, startMockServer } from "imspec/mock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { ROOT } from "../support/specs.js";

type Json = Record<string, unknown>;

const ORIGINAL = readFileSync(path.join(ROOT, "generated", "dingtalk", "openapi.json"), "utf8");
let dir: string;
let file: string;
let mock: MockServer | undefined;
let reloads: { api: string; error?: Error }[];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "imspec-reload-"));
  file = path.join(dir, "dingtalk", "openapi.json");
  mkdirSync(path.dirname(file));
  writeFileSync(file, ORIGINAL);
  reloads = [];
});
afterEach(async () => {
  await mock?.stop();
  mock = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** The spec with the example answer of getLatestDingIndex changed to `idxTotal`. */
function withIdxTotal(idxTotal: number): string {
  const doc = JSON.parse(ORIGINAL) as Json;
  const op = (doc.paths as Record<string, Json>)["/v1.0/contact/dingIndexs"]?.get as Json;
  const ok = (op.responses as Record<string, Json>)["200"] as Json;
  const media = (ok.content as Record<string, Json>)["application/json"] as Json;
  ((media.examples as Record<string, Json>).default?.value as Json).idxTotal = idxTotal;
  return JSON.stringify(doc);
}

async function idxTotal(server: MockServer): Promise<unknown> {
  const res = await fetch(`${server.urlOf("dingtalk")}/v1.0/contact/dingIndexs`, {
    headers: { "x-acs-dingtalk-access-token": server.issueToken("dingtalk") },
  });
  return ((await res.json()) as Json).idxTotal;
}

/** Waits until `done()` holds, or fails after `ms`. */
async function until(done: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("watching the bundled specs", () => {
  test("a changed spec is served from the next request on, once for a burst of writes", async () => {
    mock = await startMockServer({ generated: dir, watch: true, onReload: (e) => reloads.push(e) });
    expect(mock.apis).toEqual(["dingtalk"]);
    expect(await idxTotal(mock)).toBe(888);
    const token = mock.issueToken("dingtalk");

    // The generator writes a file in a few chunks; the debounce makes one reload of them.
    writeFileSync(file, withIdxTotal(999));
    writeFileSync(file, withIdxTotal(1000));
    await until(() => reloads.length > 0);
    await new Promise((r) => setTimeout(r, 400));
    expect(reloads).toEqual([{ api: "dingtalk" }]);
    expect(await idxTotal(mock)).toBe(1000);
    // What the server knew before the reload stays: its tokens.
    const res = await fetch(`${mock.urlOf("dingtalk")}/v1.0/contact/dingIndexs`, {
      headers: { "x-acs-dingtalk-access-token": token },
    });
    expect(res.status).toBe(200);
  });

  test("a spec that cannot be served is reported, and the previous one stays", async () => {
    mock = await startMockServer({ generated: dir, watch: true, onReload: (e) => reloads.push(e) });
    writeFileSync(file, '{"openapi": "3.1.0", "paths": ');
    await until(() => reloads.length > 0);
    expect(reloads[0]?.error?.message).toMatch(/dingtalk[/\\]openapi\.json is not JSON/);
    expect(await idxTotal(mock)).toBe(888);

    writeFileSync(file, withIdxTotal(777));
    await until(() => reloads.length > 1);
    expect(reloads[1]).toEqual({ api: "dingtalk" });
    expect(await idxTotal(mock)).toBe(777);
  });

  test.each([
    [
      "throws",
      () => {
        throw new Error("listener bug");
      },
    ],
    [
      "rejects",
      async () => {
        throw new Error("listener bug");
      },
    ],
  ])("an onReload that %s neither ends the process nor undoes the reload", async (_how, listener) => {
    const unhandled: unknown[] = [];
    const seen = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", seen);
    try {
      mock = await startMockServer({
        generated: dir,
        watch: true,
        onReload: (e) => {
          reloads.push(e);
          return listener();
        },
      });
      writeFileSync(file, withIdxTotal(444));
      await until(() => reloads.length > 0);
      await new Promise((r) => setTimeout(r, 100));
      expect(unhandled).toEqual([]);
      expect(await idxTotal(mock)).toBe(444);
    } finally {
      process.off("unhandledRejection", seen);
    }
  });

  test("without watch, a change is served after reload() only", async () => {
    mock = await startMockServer({ generated: dir, onReload: (e) => reloads.push(e) });
    writeFileSync(file, withIdxTotal(555));
    await new Promise((r) => setTimeout(r, 400));
    expect(reloads).toEqual([]);
    expect(await idxTotal(mock)).toBe(888);
    await mock.reload("dingtalk");
    expect(await idxTotal(mock)).toBe(555);
  });
});

describe("reloads that overlap", () => {
  test("the spec read last is served, whichever reload finishes first", async () => {
    mock = await startMockServer({ generated: dir });
    // Each reload reads the file as it starts, then builds its router: the first, started on the
    // older file, ends first, and the second, on the newer one, must not be dropped for it.
    writeFileSync(file, withIdxTotal(1));
    const first = mock.reload("dingtalk");
    writeFileSync(file, withIdxTotal(2));
    const second = mock.reload();
    await Promise.all([first, second]);
    expect(await idxTotal(mock)).toBe(2);
  });

  test("a later reload that fails leaves the earlier one's spec in service, not the one before it", async () => {
    mock = await startMockServer({ generated: dir });
    writeFileSync(file, withIdxTotal(3));
    const first = mock.reload("dingtalk");
    // Valid JSON that openapi-backend refuses only once it builds the router: the failure comes late.
    writeFileSync(file, JSON.stringify({ ...JSON.parse(withIdxTotal(4)), "x-imspec-mock": { invalid: 7 } }));
    const second = mock.reload("dingtalk");
    const outcomes = await Promise.allSettled([first, second]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected"]);
    expect(await idxTotal(mock)).toBe(3);
  });
});
