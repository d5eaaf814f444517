import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../lib/registry.js";

/**
 * How each API's client is created and gets its tokens, read from what already says so: the factory
 * exported by src/<api>/index.ts, and the spec's `x-imspec-token` sources and servers. No API is
 * named here; test/docs/samples.test.ts type-checks every snippet built from this.
 */
export interface ClientDoc {
  /** The entry to import, `imspec/<api>` (src/<api>/index.ts). */
  module: string;
  /** The factory exported by that entry. */
  factory: string;
  /** The variable the snippets call the client, as in the READMEs: `dt.contact.listSeniorSettings`. */
  variable: string;
  /** Self-hosted APIs have no public default base URL: the snippet passes the spec's first server. */
  needsBaseUrl: boolean;
  /**
   * The anonymous request the client makes to get its app token, and which client option carries
   * each field of its body or required parameter (client option → field). The snippets fill the
   * options from that request's examples in the spec.
   */
  appToken: { operationId: string; options: Record<string, string> };
  /** Present when some operations need a user token the caller gets through the client. */
  userToken?: {
    operationId: string;
    /** The client method that exchanges an OAuth2 authorization code, and the body field it fills. */
    exchange: string;
    codeField: string;
    /** The client method that renews a user token. */
    refresh: string;
    /** Keeps a user token renewed: a token function to pass as `accessToken`. */
    session: string;
  };
}

type Json = Record<string, unknown>;

/** `createDingTalk` → `dt`, `createWorkPlus` → `wp`: the capitals of the name, as the READMEs write them. */
function variableOf(factory: string): string {
  const capitals = factory
    .replace(/^create/, "")
    .replace(/[^A-Z]/g, "")
    .toLowerCase();
  return capitals.length >= 2 ? capitals : "client";
}

/** The client facts of one registry entry, derived from its entry module and its bundled spec (`doc`). */
export function clientOf(api: string, doc: Json): ClientDoc {
  const file = path.join(ROOT, "src", api, "index.ts");
  if (!existsSync(file))
    throw new Error(
      `${api} is in redocly.yaml but src/${api}/index.ts does not exist: write its profile (scripts/README.md, "Adding an API", step 2), then build again`,
    );
  const source = readFileSync(file, "utf8");
  const factory = source.match(/export function (create\w+)\(/)?.[1];
  if (!factory)
    throw new Error(
      `src/${api}/index.ts exports no create… function: the docs cannot show how to call ${api}`,
    );
  const schemes = Object.values(
    ((doc.components as Json | undefined)?.securitySchemes ?? {}) as Record<string, Json>,
  );
  const tokenSource = schemes.flatMap((s) => (s["x-imspec-token"] ?? []) as Json[])[0];
  const options: Record<string, string> = {};
  let optional = 0;
  for (const [field, option] of Object.entries((tokenSource?.options ?? {}) as Record<string, string>)) {
    // Of options marked optional (one of several), the snippet shows the first.
    if (option.endsWith("?") && optional++ > 0) continue;
    options[option.replace(/\?$/, "")] = field;
  }
  const servers = (doc.servers ?? []) as Json[];
  const out: ClientDoc = {
    module: `imspec/${api}`,
    factory,
    variable: variableOf(factory),
    needsBaseUrl: String(servers[0]?.url ?? "").includes("{"),
    appToken: { operationId: String(tokenSource?.operation ?? ""), options },
  };
  // A client with user-token helpers (`userTokens.exchangeCode`) gets them in the snippets too.
  const tokens = ((doc["x-imspec-mock"] as Json | undefined)?.tokens ?? {}) as Record<string, Json>;
  const userOperation = Object.entries(tokens).find(([, t]) => t.kind === "user")?.[0];
  if (userOperation && /\bexchangeCode\(/.test(source))
    out.userToken = {
      operationId: userOperation,
      exchange: "userTokens.exchangeCode",
      codeField: "code",
      refresh: "userTokens.refresh",
      session: "userTokens.session",
    };
  return out;
}
