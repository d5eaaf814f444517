/**
 * The lint plugin (scripts/redocly/imspec-plugin.js) is plain JavaScript that Redocly loads, so the
 * few vocabularies it checks specs against are written there again: held here to their TypeScript
 * sources, which the clients and the mock run on.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { expect, it } from "vitest";
import { SCOPES } from "../../src/core/client.js";
import { REFUSALS } from "../../src/mock/tokens.js";

const PLUGIN = path.join(import.meta.dirname, "../../scripts/redocly/imspec-plugin.js");
const plugin = (await import(pathToFileURL(PLUGIN).href)) as { SCOPES: unknown; REFUSALS: unknown };

it("the lint plugin's rate-limit scopes are the client's", () => {
  expect(plugin.SCOPES).toEqual([...SCOPES]);
});

it("the lint plugin's token-refusal reasons are the mock's", () => {
  expect(plugin.REFUSALS).toEqual([...REFUSALS]);
});
