import { describe, expect, it } from "vitest";
import { clientOf } from "../../scripts/docs/clients.js";
import { counted, renderIndex } from "../../scripts/docs/index-page.js";
import { hashLinks } from "../../scripts/docs/links.js";
import { extractApi } from "../../scripts/lib/extract.js";
import { loadRegistry } from "../../scripts/lib/registry.js";
import { bundleStep } from "../../scripts/steps/bundle.js";

/**
 * The HTML the docs build writes, without a browser: the index page's wording and the links of the
 * prerendered Redoc markup. test/docs/site.test.ts opens the same pages in Chromium.
 */

describe("counts on the index page", () => {
  const cases: Array<{ count: number; want: string }> = [
    { count: 0, want: "0 operations" },
    { count: 1, want: "1 operation" },
    { count: 2, want: "2 operations" },
    { count: 16, want: "16 operations" },
  ];
  it.each(cases)("$count → $want", ({ count, want }) => {
    expect(counted(count, "operation")).toBe(want);
  });

  it("an API with one operation is listed as '1 operation', in the list of APIs and in its section", async () => {
    const entry = (await loadRegistry()).find((e) => e.name === "workplus");
    if (!entry) throw new Error("redocly.yaml has no workplus entry");
    const { document } = await bundleStep(entry);
    const paths = document.paths as Record<string, unknown>;
    // The app-token request alone: the tag `auth`, with its one operation.
    const one = { ...document, paths: { "/v1/token": paths["/v1/token"] } };
    const info = extractApi(one);
    expect(info.operations.map((op) => op.operationId)).toEqual(["getAccessToken"]);

    const html = renderIndex(
      [{ name: "workplus", document: one, info, client: clientOf("workplus", document) }],
      "d",
    );
    expect(html).toContain("</a>: 1 operation, <code>");
    expect(html).toContain("<p>1 operation · base URL");
    expect(html).not.toMatch(/\b1 operations\b/);

    const all = extractApi(document);
    const full = renderIndex(
      [{ name: "workplus", document, info: all, client: clientOf("workplus", document) }],
      "d",
    );
    expect(full).toContain(`</a>: ${all.operations.length} operations, <code>`);
    expect(full).toContain(`<p>${all.operations.length} operations · base URL`);
  });
});

describe("links in the prerendered Redoc markup", () => {
  const page = (markup: string, script = "") =>
    `<html><body><nav><a href="index.html">all</a></nav>\n<div id="redoc">${markup}</div>\n` +
    `<script type="module">${script}</script></body></html>`;

  const cases: Array<{ name: string; given: string; want: string }> = [
    {
      name: "a tag's root path becomes its hash link",
      given: '<a class="sc-x" href="/contact" data-discover="true">Contacts</a>',
      want: '<a class="sc-x" href="#/contact" data-discover="true">Contacts</a>',
    },
    { name: "the overview's root becomes #/", given: '<a href="/">API</a>', want: '<a href="#/">API</a>' },
    {
      name: "a nested path keeps its segments",
      given: '<a href="/contact/getuser">get</a>',
      want: '<a href="#/contact/getuser">get</a>',
    },
    {
      name: "hash links stay",
      given: '<a href="#/contact/getuser">x</a>',
      want: '<a href="#/contact/getuser">x</a>',
    },
    {
      name: "links to other hosts stay",
      given: '<a href="https://opensource.org/licenses/MIT">MIT</a><a href="//cdn.example/x">x</a>',
      want: '<a href="https://opensource.org/licenses/MIT">MIT</a><a href="//cdn.example/x">x</a>',
    },
    {
      name: "only <a> hrefs are links",
      given: '<link href="/style.css"><a data-href="/x" href="/y">y</a>',
      want: '<link href="/style.css"><a data-href="/x" href="#/y">y</a>',
    },
  ];
  it.each(cases)("$name", ({ given, want }) => {
    expect(hashLinks(page(given), "api.html")).toBe(page(want));
  });

  it("leaves the template and Redoc's script alone", () => {
    const script = 'const s = `<a href="/contact">`;';
    expect(hashLinks(page('<a href="/contact">c</a>', script), "api.html")).toBe(
      page('<a href="#/contact">c</a>', script),
    );
  });

  it("a page without prerendered markup is an error that names it", () => {
    expect(() => hashLinks("<html><body>no redoc</body></html>", "wecom.html")).toThrow(
      /^wecom\.html: no prerendered Redoc markup/,
    );
  });
});

describe("an API in redocly.yaml without its profile yet", () => {
  it("is an error that names the file to write and the checklist step, not a bare ENOENT", () => {
    expect(() => clientOf("not-written-yet", {})).toThrow(
      /not-written-yet is in redocly\.yaml but src\/not-written-yet\/index\.ts does not exist: write its profile \(scripts\/README\.md, "Adding an API", step 2\)/,
    );
  });
});
