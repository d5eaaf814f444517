import { type ChildProcess, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientOf } from "../../scripts/docs/clients.js";
import { operationAnchor } from "../../scripts/docs/redoc.js";
import { buildSite } from "../../scripts/docs/site.js";
import { type StaticServer, serveDir } from "../../scripts/docs/static-server.js";
import { loadRegistry } from "../../scripts/lib/registry.js";
import { copyRepo, ROOT } from "../support/repo-copy.js";

/**
 * The built docs site in a real headless Chromium (Debian's /usr/bin/chromium, which .ci/run
 * installs), and `npm run docs:serve` over HTTP. What the pages are expected to show is read from
 * generated/<api>/openapi.json, not from the code that builds them.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Without the background-networking flags Chromium calls Google hosts on its own. */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SCREENSHOTS = path.join(ROOT, "test-output", "docs");

type Json = Record<string, unknown>;

interface Operation {
  method: string;
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  /** How Redoc's sidebar names the tag: its `x-displayName`, else its name. */
  tagLabel: string;
  /** Example values of its parameters, as the spec gives them. */
  parameterExamples: Array<{ name: string; in: string; value: string; required: boolean }>;
  /** The deepest string of its first success-response example, if it has one. */
  responseLeaf: string | undefined;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Follows a local `$ref` in a bundled document. */
function resolve(doc: Json, value: unknown): unknown {
  if (!isObject(value) || typeof value.$ref !== "string") return value;
  const target = value.$ref
    .replace(/^#\//, "")
    .split("/")
    .reduce<unknown>(
      (node, key) => (isObject(node) ? node[key.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined),
      doc,
    );
  return resolve(doc, target);
}

/** The string nested deepest in a JSON value: proof that nested example levels are rendered open. */
function deepestString(value: unknown, depth = 0): { text: string; depth: number } | undefined {
  if (typeof value === "string" && value.length > 0) return { text: value, depth };
  const children = Array.isArray(value) ? value : isObject(value) ? Object.values(value) : [];
  let best: { text: string; depth: number } | undefined;
  for (const child of children) {
    const found = deepestString(child, depth + 1);
    if (found && (!best || found.depth > best.depth)) best = found;
  }
  return best;
}

function firstResponseExample(doc: Json, operation: Json): unknown {
  const responses = isObject(operation.responses) ? operation.responses : {};
  const code = Object.keys(responses).find((status) => status.startsWith("2"));
  const response = resolve(doc, code ? responses[code] : undefined);
  if (!isObject(response) || !isObject(response.content)) return undefined;
  const media = Object.values(response.content).find(isObject);
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const first = isObject(media.examples) ? resolve(doc, Object.values(media.examples)[0]) : undefined;
  return isObject(first) ? first.value : undefined;
}

/** The API's `info.title`, which Redoc shows as the page's one h1. */
/** The bundled spec of `api`, as generate wrote it. */
function specOf(api: string): Json {
  return JSON.parse(readFileSync(path.join(ROOT, "generated", api, "openapi.json"), "utf8")) as Json;
}

function titleOf(api: string): string {
  const doc = specOf(api);
  return isObject(doc.info) ? String(doc.info.title) : api;
}

function operationsOf(api: string): Operation[] {
  const doc = specOf(api);
  const operations: Operation[] = [];
  const tagLabel = (name: string) => {
    const tag = (Array.isArray(doc.tags) ? doc.tags : []).find((t) => isObject(t) && t.name === name);
    return isObject(tag) && typeof tag["x-displayName"] === "string" ? tag["x-displayName"] : name;
  };
  for (const [opPath, rawItem] of Object.entries(isObject(doc.paths) ? doc.paths : {})) {
    const item = resolve(doc, rawItem);
    if (!isObject(item)) continue;
    for (const method of ["get", "put", "post", "delete", "patch", "head", "options"]) {
      const operation = item[method];
      if (!isObject(operation) || typeof operation.operationId !== "string") continue;
      const parameters = [
        ...(Array.isArray(item.parameters) ? item.parameters : []),
        ...(Array.isArray(operation.parameters) ? operation.parameters : []),
      ].map((p) => resolve(doc, p));
      const parameterExamples = parameters.flatMap((p) =>
        isObject(p) && (typeof p.example === "string" || typeof p.example === "number")
          ? [
              {
                name: String(p.name),
                in: String(p.in),
                value: String(p.example),
                required: p.required === true,
              },
            ]
          : [],
      );
      const tag = Array.isArray(operation.tags) ? String(operation.tags[0]) : "default";
      operations.push({
        method: method.toUpperCase(),
        path: opPath,
        operationId: operation.operationId,
        summary: String(operation.summary ?? ""),
        tag,
        tagLabel: tagLabel(tag),
        parameterExamples,
        responseLeaf: deepestString(firstResponseExample(doc, operation))?.text,
      });
    }
  }
  return operations;
}

/** A browser context that records every request and every console error, page error and failed load. */
interface Recorded {
  context: BrowserContext;
  page: Page;
  requests: string[];
  problems: string[];
}

async function openRecorded(browser: Browser, origin: string): Promise<Recorded> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  context.setDefaultTimeout(10_000);
  const requests: string[] = [];
  const problems: string[] = [];
  context.on("request", (request) => requests.push(request.url()));
  // A request to any other host fails at once rather than waiting on the network; it is still recorded.
  await context.route(
    (url) => !isLocal(url.href, origin),
    (route) => route.abort("blockedbyclient"),
  );
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => {
    if (isLocal(request.url(), origin))
      problems.push(`failed: ${request.url()} ${request.failure()?.errorText ?? ""}`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return { context, page, requests, problems };
}

/**
 * Whether a URL stays on the serving host: http(s) and blob: URLs of that origin, and data: URLs
 * (decoded in the page, never sent anywhere).
 */
function isLocal(url: string, origin: string): boolean {
  if (url.startsWith("data:")) return true;
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

/**
 * Saves test-output/docs/<name>.png: the window, or with `fullPage` the whole page, taken with the
 * window as tall as the page so that parts sized to the window (Redoc's sidebar) reach the bottom.
 */
async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  const viewport = page.viewportSize();
  if (options.fullPage && viewport) {
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: viewport.width, height: Math.min(height, 16_000) });
    await page.screenshot({ path: file, fullPage: true, animations: "disabled" });
    await page.setViewportSize(viewport);
  } else {
    await page.screenshot({ path: file, animations: "disabled" });
  }
}

const apis = (await loadRegistry()).map((entry) => ({
  name: entry.name,
  title: titleOf(entry.name),
  client: clientOf(entry.name, specOf(entry.name)),
  operations: operationsOf(entry.name),
}));

/** The seed pages each spec was written from, and one example value each must show. */
const SEEDS: Record<string, { operationId: string; example: string; call: string }> = {
  dingtalk: {
    operationId: "listSeniorSettings",
    example: "013349365367-1094322561",
    call: "dt.contact.listSeniorSettings(",
  },
  workplus: {
    operationId: "listScopeViews",
    example: exampleOf("workplus", "listScopeViews", "appId"),
    call: "wp.apps.listScopeViews(",
  },
};

function exampleOf(api: string, operationId: string, parameter: string): string {
  const op = apis.find((a) => a.name === api)?.operations.find((o) => o.operationId === operationId);
  const value = op?.parameterExamples.find((e) => e.name === parameter)?.value;
  if (value === undefined) throw new Error(`${api} ${operationId}: no example for ${parameter}`);
  return value;
}

/** Text of a locator's element, failing clearly when it is absent. */
async function textOf(locator: Locator): Promise<string> {
  return (await locator.textContent()) ?? "";
}

describe("the docs site in Chromium", () => {
  let outDir = "";
  let server: StaticServer | undefined;
  let browser: Browser | undefined;
  let origin = "";
  const opened: Recorded[] = [];

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), "imspec-site-"));
    // Left from an earlier build: the page of an API since removed from redocly.yaml, and a page of
    // the user's own in the same folder.
    writeFileSync(path.join(outDir, "removed-api.html"), "<title>Removed API · imspec</title>");
    writeFileSync(
      path.join(outDir, "notes.html"),
      "<title>My notes</title><p>Read DingTalk · imspec first.</p>",
    );
    mkdirSync(path.join(outDir, "archive.html"));
    await buildSite({ outDir });
    server = await serveDir(outDir, { host: "127.0.0.1", port: 0 });
    origin = new URL(server.url).origin;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    });
  }, 90_000);

  afterAll(async () => {
    for (const { context } of opened) await context.close().catch(() => {});
    await browser?.close();
    await server?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  async function open(): Promise<Recorded> {
    if (!browser) throw new Error("Chromium did not start");
    const recorded = await openRecorded(browser, origin);
    opened.push(recorded);
    return recorded;
  }

  /** Nothing was requested from another host, and nothing went wrong in the page. */
  function expectOffline(recorded: Recorded): void {
    expect(recorded.requests.length).toBeGreaterThan(0);
    expect(recorded.requests.filter((url) => !isLocal(url, origin))).toEqual([]);
    expect(recorded.problems).toEqual([]);
  }

  it("a build removes the page of an API no longer in redocly.yaml, and leaves other HTML alone", () => {
    expect(
      readdirSync(outDir)
        .filter((f) => f.endsWith(".html"))
        .sort(),
    ).toEqual([...apis.map((api) => `${api.name}.html`), "archive.html", "index.html", "notes.html"].sort());
  });

  it("the index introduces imspec, links every API, shows how to get tokens and lists every operation", async () => {
    const recorded = await open();
    const { page } = recorded;
    await page.goto(`${origin}/index.html`);
    expect(await page.title()).toContain("imspec");
    expect(await textOf(page.getByRole("heading", { level: 1 }))).toBe("imspec");
    const { description } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      description: string;
    };
    expect(await page.getByText(description).isVisible()).toBe(true);

    for (const api of apis) {
      // A link to the API's page in the list at the top, and on the API's heading.
      expect(await page.locator(`ul.apis a[href="${api.name}.html"]`).isVisible()).toBe(true);
      const section = page.locator(`section#${api.name}`);
      expect(await section.getByRole("heading", { level: 2 }).getByRole("link").getAttribute("href")).toBe(
        `${api.name}.html`,
      );
      // Creating the client, how it gets its token, and the raw token request as curl.
      const text = await textOf(section);
      expect(text).toContain(`const ${api.client.variable} = ${api.client.factory}(`);
      expect(await section.getByRole("heading", { name: "Access tokens" }).isVisible()).toBe(true);
      expect(text).toContain(`${api.client.variable}.appToken.get()`);
      const tokenOp = api.operations.find((op) => op.operationId === api.client.appToken.operationId);
      if (!tokenOp) throw new Error(`${api.name}: no operation ${api.client.appToken.operationId}`);
      expect(await section.locator("pre", { hasText: /^curl / }).textContent()).toContain(tokenOp.path);

      // The operations table: one row per operation with its method, path, client method and
      // summary, the client method linking to the operation on the API's page.
      const table = section.locator("table").last();
      expect(await table.locator("tr[data-operation-id]").count()).toBe(api.operations.length);
      for (const op of api.operations) {
        const row = table.locator(`tr[data-operation-id="${op.operationId}"]`);
        const method = `${api.client.variable}.${op.tag}.${op.operationId}`;
        const cells = row.locator("td");
        expect(await textOf(cells.nth(0))).toBe(op.method);
        expect(await textOf(cells.nth(1))).toBe(op.path);
        const link = cells.nth(2).getByRole("link");
        expect(await textOf(link)).toBe(method);
        expect(await link.getAttribute("href")).toBe(
          `${api.name}.html${operationAnchor(op.tag, op.operationId)}`,
        );
        expect(await textOf(cells.nth(3))).toContain(op.summary);
        expect(await row.isVisible()).toBe(true);
      }
    }
    await screenshot(page, "index", { fullPage: true });
    expectOffline(recorded);
  });

  for (const api of apis) {
    it(`${api.name}.html, reached from the index: every operation with its summary, examples and samples`, {
      timeout: 45_000,
    }, async () => {
      const recorded = await open();
      const { page } = recorded;
      await page.goto(`${origin}/index.html`);
      // The index's link to each operation, followed on the API's page below.
      const anchors = new Map<string, string>();
      const table = page.locator(`section#${api.name} table`).last();
      for (const op of api.operations) {
        const href = await table.locator(`tr[data-operation-id="${op.operationId}"] a`).getAttribute("href");
        expect(href?.startsWith(`${api.name}.html#`)).toBe(true);
        anchors.set(op.operationId, (href ?? "").slice(`${api.name}.html`.length));
      }

      await page.locator(`ul.apis a[href="${api.name}.html"]`).click();
      await page.waitForURL(`${origin}/${api.name}.html`);
      // Redoc has rendered the overview (the sections below it render as the page scrolls).
      await page.locator("h1", { hasText: api.title }).waitFor();
      await screenshot(page, api.name, { fullPage: true });

      /** Follows the index's link to `op`; its section once Redoc shows the operation's heading. */
      const visit = async (op: Operation): Promise<Locator> => {
        const anchor = anchors.get(op.operationId) ?? "";
        await page.goto(`${origin}/${api.name}.html${anchor}`);
        const section = page.locator(`[data-section-id="${anchor.slice(1)}"]`);
        const heading = section.locator("h2", { hasText: op.summary });
        await heading.waitFor();
        expect(await heading.isVisible(), `${op.operationId}: "${op.summary}" at ${anchor}`).toBe(true);
        expect(await textOf(heading)).toBe(op.summary);
        return section;
      };
      /** Picks a language in the sample panel's menu; the choice holds for every operation on the page. */
      const pickLanguage = async (section: Locator, from: string, to: string) => {
        await section.getByRole("button", { name: from, exact: true }).click();
        await page.getByRole("menuitem", { name: to, exact: true }).click();
      };

      for (const op of api.operations) {
        const section = await visit(op);
        // The spec's parameter examples in the parameter list, the response example opened down to
        // its deepest value.
        const middle = section.getByTestId("middle-panel");
        for (const example of op.parameterExamples) {
          const shown = await middle.getByText(example.value).first().isVisible();
          expect(shown, `${op.operationId}: the example of ${example.name}`).toBe(true);
        }
        if (op.responseLeaf !== undefined) {
          const shown = await section.getByText(op.responseLeaf).first().isVisible();
          expect(shown, `${op.operationId}: the response example down to "${op.responseLeaf}"`).toBe(true);
        }
        // The TypeScript sample, shown first: the imspec client's method with the required examples.
        const call = `${api.client.variable}.${op.tag}.${op.operationId}(`;
        const sample = section.locator("pre", { hasText: call });
        expect(await sample.isVisible(), `${op.operationId}: a TypeScript sample calling ${call}`).toBe(true);
        const source = await textOf(sample);
        expect(source).toContain(`from "${api.client.module}"`);
        for (const example of op.parameterExamples.filter((e) => e.required))
          expect(source, `${op.operationId}: the sample sends ${example.name}`).toContain(example.value);
      }

      // Next to it, the same request as curl: the other entry of the panel's language menu.
      const last = api.operations.at(-1);
      if (!last) throw new Error(`${api.name}: no operations`);
      await pickLanguage(await visit(last), "TypeScript", "curl");
      for (const op of api.operations) {
        const section = await visit(op);
        const curl = section.locator("pre", { hasText: "curl " });
        expect(await curl.isVisible(), `${op.operationId}: a curl sample`).toBe(true);
        const pathPattern = op.path
          .split(/\{[^}]+\}/)
          .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))
          .join("[^/?]+");
        const source = await textOf(curl);
        expect(source).toMatch(new RegExp(`^curl (-X ${op.method} )?["']https?://[^"']*${pathPattern}[?"']`));
        for (const example of op.parameterExamples.filter((e) => e.required && e.in !== "header"))
          expect(source, `${op.operationId}: curl sends ${example.name}`).toContain(
            encodeURIComponent(example.value),
          );
      }
      const seedCurl = SEEDS[api.name];
      if (seedCurl) {
        const op = api.operations.find((o) => o.operationId === seedCurl.operationId);
        if (op) {
          await visit(op);
          await screenshot(page, `${api.name}.${op.operationId}.curl`);
        }
      }
      await pickLanguage(await visit(last), "curl", "TypeScript");
      const back = `${api.client.variable}.${last.tag}.${last.operationId}(`;
      expect(await (await visit(last)).locator("pre", { hasText: back }).isVisible()).toBe(true);

      // The seed page's operation, as a reader first sees it.
      const seed = SEEDS[api.name];
      if (seed) {
        const anchor = anchors.get(seed.operationId) ?? "";
        await page.goto(`${origin}/${api.name}.html${anchor}`);
        const section = page.locator(`[data-section-id="${anchor.slice(1)}"]`);
        await section.getByTestId("middle-panel").getByText(seed.example).first().waitFor();
        expect(await textOf(section.locator("pre", { hasText: seed.call }))).toContain(seed.example);
        await screenshot(page, `${api.name}.${seed.operationId}`);
      }
      expectOffline(recorded);
    });
  }

  /** The links in Redoc's sidebar as a reader copies them: the absolute URL, and the entry's label. */
  const sidebarLinks = (page: Page) =>
    page.locator(".menu-content a").evaluateAll((links) =>
      links.map((a) => ({
        href: (a as HTMLAnchorElement).href,
        label: (a.querySelector("[data-text]")?.getAttribute("data-text") ?? a.textContent ?? "").trim(),
      })),
    );

  /**
   * Opens `href` as a new tab would (a fresh browser context: no history, no state left by a click)
   * and waits until a heading reading `label` is in the window.
   */
  async function openCopied(href: string, label: string, exact: boolean): Promise<void> {
    if (!browser) throw new Error("Chromium did not start");
    const fresh = await openRecorded(browser, origin);
    try {
      const response = await fresh.page.goto(href);
      expect(response?.status(), `the copied link ${href} (${label})`).toBe(200);
      const heading = fresh.page
        .locator("h1, h2")
        .filter({ hasText: exact ? new RegExp(`^${escapeRegExp(label)}$`) : label })
        .first();
      await heading.waitFor();
      const height = fresh.page.viewportSize()?.height ?? 0;
      await until(`"${label}" in the window at ${href}`, 10_000, async () => {
        const box = await heading.boundingBox();
        return box && box.y >= 0 && box.y < height ? true : undefined;
      });
      expectOffline(fresh);
    } finally {
      await fresh.context.close();
    }
  }

  for (const api of apis) {
    it(`${api.name}.html: every link a reader can copy (sidebar, address bar) opens in a new tab at its entry`, {
      timeout: 180_000,
    }, async () => {
      const recorded = await open();
      const { page } = recorded;
      await page.goto(`${origin}/${api.name}.html`);
      await page.locator("h1", { hasText: api.title }).waitFor();
      const sidebar = page.locator(".menu-content");
      /** Copied link → the heading it must show, and whether that heading is exactly the label. */
      const copied = new Map<string, { label: string; exact: boolean }>();
      const copy = async () => {
        for (const { href, label } of await sidebarLinks(page))
          if (isLocal(href, origin)) copied.set(href, { label, exact: false });
      };
      await copy();

      // Redoc lists a tag's operations once the tag is opened: open each one as a reader would, and
      // copy the address bar too.
      for (const label of new Set(api.operations.map((op) => op.tagLabel))) {
        await sidebar.locator(".menu-item-type-group a").filter({ hasText: label }).first().click();
        const first = api.operations.find((op) => op.tagLabel === label);
        if (first) await sidebar.getByText(first.summary, { exact: true }).first().waitFor();
        copied.set(page.url(), { label, exact: false });
        await copy();
      }
      for (const op of api.operations) {
        const entry = [...copied].find(([, { label }]) => label === op.summary);
        expect(entry, `${op.operationId}: a sidebar link labelled "${op.summary}"`).toBeDefined();
        if (entry) entry[1].exact = true;
      }
      for (const label of new Set(api.operations.map((op) => op.tagLabel)))
        expect([...copied.values()].filter((entry) => entry.label === label).length).toBeGreaterThan(0);

      // Every link on the page names a file the server has (a path such as /contact does not).
      const files = await page
        .locator("a[href]")
        .evaluateAll((links) => links.map((a) => (a as HTMLAnchorElement).href.replace(/#.*$/, "")));
      for (const file of new Set(files.filter((href) => isLocal(href, origin)))) {
        const response = await page.request.get(file);
        expect(response.status(), `a link on ${api.name}.html names ${file}`).toBe(200);
      }

      // Three tabs at a time: each load parses Redoc's 2 MB bundle, most of the test's time.
      const queue = [...copied];
      const tab = async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const [href, { label, exact }] = next;
          await openCopied(href, label, exact);
        }
      };
      await Promise.all([tab(), tab(), tab()]);
      expectOffline(recorded);
    });
  }
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Polls `probe` until it returns a value, or fails after `timeoutMs` saying what was awaited. */
async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** SIGTERM to the process group `child` leads (tsx and the node it starts), SIGKILL if it lingers. */
async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, name);
    } catch {
      // Already gone.
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

describe("npm run docs:serve", () => {
  // A copy of the repository, so the spec edited below is never the working tree's. The copy's own
  // scripts/docs/serve.ts runs, so it builds from the copy's specs/ and redocly.yaml.
  let repo: ReturnType<typeof copyRepo> | undefined;
  let outDir = "";
  let child: ChildProcess | undefined;
  let output = "";

  beforeAll(() => {
    repo = copyRepo(["src"]); // the docs read each API's factory from src/<api>/index.ts
    outDir = mkdtempSync(path.join(tmpdir(), "imspec-serve-"));
  });

  afterAll(async () => {
    await stop(child);
    repo?.remove();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it("serves the site on 127.0.0.1, rebuilds when a spec changes and keeps the last good site", {
    timeout: 60_000,
  }, async () => {
    if (!repo) throw new Error("no copy of the repository");
    const { dir } = repo;
    child = spawn(
      path.join(ROOT, "node_modules/.bin/tsx"),
      [path.join(dir, "scripts/docs/serve.ts"), "--port", "0", "--out", outDir],
      // Its own process group, so stop() ends tsx and the node process it starts together.
      { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<never>((_, reject) =>
      child?.once("exit", (code) => reject(new Error(`docs:serve exited (${code}):\n${output}`))),
    );
    const url = await Promise.race([
      until(
        "the URL docs:serve prints",
        30_000,
        async () => /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1],
      ),
      exited,
    ]);
    const get = async (file: string) => {
      const response = await fetch(new URL(file, url), { signal: AbortSignal.timeout(5_000) });
      return {
        status: response.status,
        type: response.headers.get("content-type"),
        text: await response.text(),
      };
    };

    const index = await get("");
    expect(index.status).toBe(200);
    expect(index.type).toContain("text/html");
    expect(index.text).toContain("<h1>imspec</h1>");
    for (const api of apis) expect(index.text).toContain(`href="${api.name}.html"`);
    expect((await get("dingtalk.html")).status).toBe(200);
    expect((await get("../../etc/passwd")).status).toBe(404);

    // Edit an operation's summary in the copy's spec: both pages follow.
    const spec = path.join(dir, "specs/dingtalk/openapi.yaml");
    const original = readFileSync(spec, "utf8");
    const before = "(List an employee's executive-mode settings)";
    const after = "(Read one executive's protection settings, renamed by the test)";
    expect(original).toContain(before);
    const rebuilds = output.split("rebuilt").length;
    writeFileSync(spec, original.replace(before, after));
    await Promise.race([
      until("the rebuilt page", 30_000, async () => {
        const [page, home] = await Promise.all([get("dingtalk.html"), get("index.html")]);
        return page.text.includes(after) && home.text.includes(after.replace(/'/g, "&#39;"))
          ? true
          : undefined;
      }),
      exited,
    ]);
    expect(output.split("rebuilt").length).toBeGreaterThan(rebuilds);

    // Saved as many editors and git save (a new file renamed over the old), then written in place:
    // the watch is not left on the file the rename replaced.
    const saved = async (text: string, how: "rename" | "in place") => {
      if (how === "rename") {
        writeFileSync(`${spec}.tmp`, text);
        renameSync(`${spec}.tmp`, spec);
      } else writeFileSync(spec, text);
      const marker = /\(([^)]*renamed by the test[^)]*)\)/.exec(text)?.[1] as string;
      await Promise.race([
        until(`the page after a save (${how})`, 30_000, async () =>
          (await get("dingtalk.html")).text.includes(marker) ? true : undefined,
        ),
        exited,
      ]);
    };
    await saved(original.replace(before, after.replace("Read one", "Read each")), "rename");
    await saved(original.replace(before, after), "in place");

    // A spec that no longer parses: the error is reported at the bracket's line and column, and the
    // last good site stays up.
    const broken = `${original.replace(before, after)}\npaths: [unclosed\n`;
    writeFileSync(spec, broken);
    await Promise.race([
      until("the failed build to be reported", 30_000, async () =>
        output.includes("serving the last good site") ? true : undefined,
      ),
      exited,
    ]);
    const line = broken.split("\n").indexOf("paths: [unclosed") + 1;
    expect(output).toContain(`specs/dingtalk/openapi.yaml:${line}:8: YAML syntax error: unclosed [`);
    const kept = await get("dingtalk.html");
    expect(kept.status).toBe(200);
    expect(kept.text).toContain(after);

    // Specs generate would refuse are refused here too, at their file:line:col: a lint rule, and a
    // rule read after bundling.
    for (const [edit, message] of [
      [
        (t: string) => t.replace(/^x-imspec-errors:/m, "x-imspec-errorz:"),
        /specs\/dingtalk\/openapi\.yaml:\d+:\d+: x-imspec-errorz is not an extension the generator reads/,
      ],
      [
        (t: string) => t.replace("cursorParam: nextToken", "cursorParam: nextTokn"),
        /specs\/dingtalk\/openapi\.yaml:\d+:\d+: listEmpAttributeVisibility: x-imspec-pagination\.cursorParam "nextTokn"/,
      ],
    ] as const) {
      const failures = output.split("serving the last good site").length;
      writeFileSync(spec, edit(original));
      await Promise.race([
        until("the refused spec to be reported", 30_000, async () =>
          output.split("serving the last good site").length > failures ? true : undefined,
        ),
        exited,
      ]);
      expect(output).toMatch(message);
    }

    // So is a registry generate would refuse: an entry without its root, at that entry's line, and
    // one that lists no API.
    writeFileSync(spec, original);
    const registry = path.join(dir, "redocly.yaml");
    const listed = readFileSync(registry, "utf8");
    const rootless = listed.replace(/^( {2}wecom:\n) {4}root: \S+\n/m, "$1    x-note: no root\n");
    expect(rootless).not.toBe(listed);
    const entryLine = rootless.split("\n").indexOf("  wecom:") + 1;
    for (const [text, message] of [
      [rootless, new RegExp(`redocly\\.yaml:${entryLine}:3: API "wecom" has no root`)],
      [listed.replace(/^apis:\n[\s\S]*$/m, "apis: {}\n"), /redocly\.yaml: lists no API under `apis:`/],
    ] as const) {
      const failures = output.split("serving the last good site").length;
      writeFileSync(registry, text);
      await Promise.race([
        until("the refused registry to be reported", 30_000, async () =>
          output.split("serving the last good site").length > failures ? true : undefined,
        ),
        exited,
      ]);
      expect(output).toMatch(message);
    }
    expect((await get("wecom.html")).status).toBe(200);
  });
});

describe("npm run docs, interrupted", () => {
  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)(
    "on %s mid-build leaves no temporary files and exits %i",
    async (signal, code) => {
      // A private temporary folder, so that only this build's work folders are looked for.
      const temp = mkdtempSync(path.join(tmpdir(), "imspec-docs-signal-"));
      const outDir = path.join(temp, "site");
      // What `npm run docs` runs, as package.json says: under plain node (the tsx command would
      // SIGKILL a build that does not answer its relayed signal within 60 ms).
      const { scripts } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
        scripts: Record<string, string>;
      };
      const [command, ...args] = (scripts.docs as string).split(" ");
      expect(command).toBe("node");
      const child = spawn(process.execPath, [...args, "--out", outDir], {
        cwd: ROOT,
        detached: true,
        stdio: "ignore",
        env: { ...process.env, TMPDIR: temp },
      });
      const exited = new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
      const working = () => readdirSync(temp).filter((name) => name.startsWith("imspec-docs-"));
      try {
        await until("the build's work folder", 30_000, async () => (working().length ? true : undefined));
        if (child.pid) process.kill(-child.pid, signal);
        expect(await exited).toBe(code);
        expect(working()).toEqual([]);
        const leftovers = existsSync(outDir)
          ? readdirSync(outDir).filter((name) => name.endsWith(".tmp"))
          : [];
        expect(leftovers).toEqual([]);
      } finally {
        await stop(child);
        rmSync(temp, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
