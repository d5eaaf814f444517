/**
 * Each API's entry module as a generic suite sees it, with no API named: the client factory and the
 * error class `src/<api>/index.ts` exports, and the profile generated from its spec.
 */
import * as core from "imspec";
import { ApiError, type ApiProfile } from "imspec";
import type { MockApi } from "imspec/mock";
import type { OperationRow } from "../../src/core/methods.js";
import { APIS, type Json } from "./support.js";

export interface Entry {
  /** The one `create…` function of the entry module. */
  create: (options: Json) => object;
  /** Its name, for a process that imports the entry module itself. */
  createName: string;
  /** The one class extending ApiError the entry module exports. */
  ErrorClass: abstract new (
    ...args: never[]
  ) => ApiError;
  /** `profile` of generated/<api>/operations.ts. */
  profile: ApiProfile;
  /** `operations` of generated/<api>/operations.ts. */
  operations: Record<string, OperationRow>;
}

/**
 * `src/<api>/index.ts`: the one function named `create…` and the one class extending ApiError it
 * exports besides what every entry re-exports from the core (`imspec`, which has `createClient`);
 * the profile from `generated/<api>/operations.ts`.
 */
export async function entryOf(api: string): Promise<Entry> {
  const entry = (await import(`../../src/${api}/index.ts`)) as Record<string, unknown>;
  const own = Object.entries(entry).filter(([name]) => !(name in core));
  const factories = own.filter(([name, v]) => /^create/.test(name) && typeof v === "function");
  const classes = own.filter(
    ([, v]) => typeof v === "function" && (v as { prototype?: unknown }).prototype instanceof ApiError,
  );
  const names = (found: [string, unknown][]) => found.map(([n]) => n).join(", ") || "none";
  if (factories.length !== 1 || classes.length !== 1)
    throw new Error(
      `src/${api}/index.ts should export one create… function and one ApiError subclass of its own; ` +
        `found functions: ${names(factories)}; classes: ${names(classes)}`,
    );
  const generated = (await import(`../../generated/${api}/operations.ts`)) as {
    profile: ApiProfile;
    operations: Record<string, OperationRow>;
  };
  return {
    create: factories[0]?.[1] as Entry["create"],
    createName: factories[0]?.[0] as string,
    operations: generated.operations,
    ErrorClass: classes[0]?.[1] as Entry["ErrorClass"],
    profile: generated.profile,
  };
}

/** Every API of redocly.yaml, by name, with its entry. */
export async function loadEntries(): Promise<Record<MockApi, Entry>> {
  const pairs = await Promise.all(APIS.map(async (api) => [api, await entryOf(api)] as const));
  return Object.fromEntries(pairs) as Record<MockApi, Entry>;
}

/**
 * Options that make the client manage its own app token through the spec's first token source
 * (`x-imspec-token`): every option given a placeholder, the secret ones `secret`. The optional ones
 * are given too: an entry may want one of them (WorkPlus: an org or an owner).
 */
export function managedOptions(entry: Entry, secret: string): Json {
  const source = entry.profile.tokens[0];
  if (!source) throw new Error(`${entry.profile.api} has no x-imspec-token source`);
  const options: Json = {};
  for (const option of Object.values(source.options))
    options[option] = source.secrets.includes(option) ? secret : `test-${option}`;
  return options;
}

/** The first GET operation that takes the app token: a plain read any client of the API can make. */
export function plainRead(entry: Entry): { operationId: string; tag: string } {
  const found = Object.entries(entry.operations).find(
    ([, row]) => row.method === "GET" && row.token === "app",
  );
  if (!found) throw new Error(`${entry.profile.api} has no GET operation that takes the app token`);
  return { operationId: found[0], tag: found[1].tag };
}
