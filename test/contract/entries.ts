/**
 * Each API's entry module as a generic suite sees it, with no API named: the client factory and the
 * error class `src/<api>/index.ts` exports, and the profile generated from its spec.
 */
import * as core from "imspec";
import { ApiError, type Profile } from "imspec";
import type { MockApi } from "imspec/mock";
import { APIS, type Json } from "./support.js";

export interface Entry {
  /** The one `create…` function of the entry module. */
  create: (options: Json) => object;
  /** The one class extending ApiError the entry module exports. */
  ErrorClass: abstract new (
    ...args: never[]
  ) => ApiError;
  /** `profile` of generated/<api>/operations.ts. */
  profile: Profile;
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
  const generated = (await import(`../../generated/${api}/operations.ts`)) as { profile: Profile };
  return {
    create: factories[0]?.[1] as Entry["create"],
    ErrorClass: classes[0]?.[1] as Entry["ErrorClass"],
    profile: generated.profile,
  };
}

/** Every API of redocly.yaml, by name, with its entry. */
export async function loadEntries(): Promise<Record<MockApi, Entry>> {
  const pairs = await Promise.all(APIS.map(async (api) => [api, await entryOf(api)] as const));
  return Object.fromEntries(pairs) as Record<MockApi, Entry>;
}
