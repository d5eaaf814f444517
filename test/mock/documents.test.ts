/**
 * Which APIs the mock serves and where their bundled specs are: the `apis` of
 * generated/manifest.json (written from redocly.yaml), else the generated/<api> folders, found
 * from src/mock in the repository and from both dist/ builds.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { apisIn, findGenerated, readDocument } from "../../src/mock/documents.js";
import { registryApis } from "../support/specs.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "imspec-documents-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(file: string, text: string): void {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), text);
}

const SPEC = JSON.stringify({ openapi: "3.1.0", paths: {} });

describe("the APIs of a generated/ folder", () => {
  test("the repository's: the APIs of redocly.yaml, as the generator wrote them", () => {
    expect(apisIn(findGenerated())).toEqual(registryApis());
  });

  test("the manifest's apis, not whatever folders lie around", () => {
    write("generated/manifest.json", JSON.stringify({ apis: { zeta: {}, alpha: {} } }));
    write("generated/stale/openapi.json", SPEC);
    expect(apisIn(path.join(dir, "generated"))).toEqual(["alpha", "zeta"]);
  });

  test("without a manifest, every folder with an openapi.json", () => {
    write("generated/one/openapi.json", SPEC);
    write("generated/two/schema.ts", "");
    expect(apisIn(path.join(dir, "generated"))).toEqual(["one"]);
  });

  test("a manifest that is not JSON, or has no apis, is an error naming it", () => {
    write("generated/manifest.json", "{");
    expect(() => apisIn(path.join(dir, "generated"))).toThrow(/manifest\.json is not JSON/);
    write("generated/manifest.json", "{}");
    expect(() => apisIn(path.join(dir, "generated"))).toThrow(/manifest\.json has no "apis" object/);
  });

  test("the CommonJS build's manifest (types only) is passed over for the folder with the specs", () => {
    write("dist/cjs/generated/manifest.json", JSON.stringify({ apis: { one: {} } }));
    write("dist/generated/manifest.json", JSON.stringify({ apis: { one: {} } }));
    write("dist/generated/one/openapi.json", SPEC);
    write("dist/cjs/src/mock/x.js", "");
    expect(findGenerated(path.join(dir, "dist/cjs/src/mock"))).toBe(path.join(dir, "dist/generated"));
  });

  test("no bundled specs anywhere near: an error listing where it looked", () => {
    write("a/b/c.js", "");
    expect(() => findGenerated(path.join(dir, "a/b"))).toThrow(/cannot find the bundled specs .*Looked in:/s);
  });

  test("a spec file that is not an OpenAPI document is an error naming the file", () => {
    write("x/openapi.json", "[1]");
    expect(() => readDocument(path.join(dir, "x/openapi.json"))).toThrow(
      /x[/\\]openapi\.json is not an OpenAPI document/,
    );
  });
});
