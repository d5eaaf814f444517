import type { AppCredentials } from "../../src/dingtalk/index.js";
import type { WeComOptions } from "../../src/wecom/index.js";
import type { WorkPlusCredentials } from "../../src/workplus/index.js";

/**
 * How each API's hand-written client (src/<api>/index.ts) is created and gets its tokens. The specs
 * say what goes over the wire; only this says how the client in front of them is called, so the
 * docs snippets and the index page read it from here. The option names are checked against the
 * clients' own types, and test/docs/samples.test.ts type-checks every snippet built from this.
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
  };
}

const dingtalkAppToken = {
  appKey: "appKey",
  appSecret: "appSecret",
} satisfies Record<keyof AppCredentials, string>;

const workplusAppToken = {
  domainId: "domain_id",
  clientId: "client_id",
  clientSecret: "client_secret",
  orgId: "org_id",
} satisfies Partial<Record<keyof WorkPlusCredentials, string>>;

/** The credential options of createWeCom: Pick fails to compile if the client renames one. */
type WeComCredentials = Pick<Extract<WeComOptions, { corpSecret: string }>, "corpId" | "corpSecret">;

const wecomAppToken = {
  corpId: "corpid",
  corpSecret: "corpsecret",
} satisfies Record<keyof WeComCredentials, string>;

const clients: Record<string, ClientDoc> = {
  dingtalk: {
    module: "imspec/dingtalk",
    factory: "createDingTalk",
    variable: "dt",
    needsBaseUrl: false,
    appToken: { operationId: "getAccessToken", options: dingtalkAppToken },
    userToken: {
      operationId: "getUserAccessToken",
      exchange: "userTokens.exchangeCode",
      codeField: "code",
      refresh: "userTokens.refresh",
    },
  },
  workplus: {
    module: "imspec/workplus",
    factory: "createWorkPlus",
    variable: "wp",
    needsBaseUrl: true,
    appToken: { operationId: "getAccessToken", options: workplusAppToken },
  },
  wecom: {
    module: "imspec/wecom",
    factory: "createWeCom",
    variable: "wc",
    needsBaseUrl: false,
    appToken: { operationId: "getAccessToken", options: wecomAppToken },
  },
};

/** The client facts of one registry entry; an API added to redocly.yaml needs a row here too. */
export function clientOf(api: string): ClientDoc {
  const client = clients[api];
  if (!client) {
    throw new Error(
      `scripts/docs/clients.ts has no entry for the API "${api}" in redocly.yaml: add how its client is created`,
    );
  }
  return client;
}
