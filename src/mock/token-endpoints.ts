import { randomBytes } from "node:crypto";
import type { MockApi } from "./documents.js";
import { type Problem, problem } from "./problems.js";
import type { TokenKind } from "./tokens.js";

type Json = Record<string, unknown>;

export interface Issued {
  token: string;
  expiresAt: number;
  lifetimeMs: number;
  now: number;
}

/** How the mock serves one token endpoint: whose token it is and what the answer looks like. */
export interface TokenEndpoint {
  kind: TokenKind;
  /** Whose token a request asks for (one app, one app in one organisation, …). */
  owner(body: Json): string;
  reuse?: boolean;
  replace?: boolean;
  /** Rules the spec states in prose only, checked after the schema. */
  check?(body: Json): Problem[];
  /** The success body for a token issued now, shaped like the spec's first success example. */
  answer(example: Json, issued: Issued, body: Json): Json;
  /** The token in a success body, so an example served as is (`Prefer: example=…`) is honoured. */
  tokenIn(body: unknown): string | undefined;
}

const str = (value: unknown): string => (typeof value === "string" ? value : "");
const field = (body: unknown, key: string): string | undefined => {
  const value = body && typeof body === "object" ? (body as Json)[key] : undefined;
  return typeof value === "string" && value.length > 0 ? value : undefined;
};

/** DingTalk's app tokens: the same token again within its lifetime, extended (the spec says so). */
const dingtalkAppToken = (owner: (body: Json) => string): TokenEndpoint => ({
  kind: "app",
  owner,
  reuse: true,
  answer: (example, issued) => ({
    ...example,
    accessToken: issued.token,
    expireIn: Math.round(issued.lifetimeMs / 1000),
  }),
  tokenIn: (body) => field(body, "accessToken"),
});

export const TOKEN_ENDPOINTS: Record<MockApi, Record<string, TokenEndpoint>> = {
  dingtalk: {
    getAccessToken: dingtalkAppToken((body) => `app:${str(body.appKey)}`),
    getCorpAccessToken: dingtalkAppToken((body) => `corp:${str(body.suiteKey)}:${str(body.authCorpId)}`),
    getUserAccessToken: {
      kind: "user",
      owner: (body) => `user:${str(body.clientId)}`,
      // GetUserAccessTokenRequest: "With grantType authorization_code the code field is needed;
      // with refresh_token the refreshToken field is needed."
      check(body) {
        if (body.grantType === "authorization_code" && !field(body, "code"))
          return [problem("body", "code", "missing", "is required when grantType is authorization_code")];
        if (body.grantType === "refresh_token" && !field(body, "refreshToken"))
          return [problem("body", "refreshToken", "missing", "is required when grantType is refresh_token")];
        return [];
      },
      answer: (example, issued) => ({
        ...example,
        accessToken: issued.token,
        refreshToken: randomBytes(16).toString("hex"),
        expireIn: Math.round(issued.lifetimeMs / 1000),
      }),
      tokenIn: (body) => field(body, "accessToken"),
    },
  },
  workplus: {
    getAccessToken: {
      kind: "app",
      owner: (body) => `${str(body.domain_id)}:${str(body.client_id)}`,
      // "An app holds one token at a time: fetching a new one invalidates the previous one."
      replace: true,
      // TokenRequest: "org_id 和 owner_id 不能同时为空" (they must not both be empty).
      check(body) {
        if (field(body, "org_id") || field(body, "owner_id")) return [];
        return [
          problem(
            "body",
            "org_id",
            "missing",
            "or owner_id is required (an org app gives org_id, a domain app owner_id)",
          ),
        ];
      },
      answer: (example, issued, body) => ({
        ...example,
        status: 0,
        result: {
          ...((example.result as Json | undefined) ?? {}),
          access_token: issued.token,
          // TokenResult.refresh_token: "reserved; equals access_token".
          refresh_token: issued.token,
          issued_time: issued.now,
          expire_time: issued.expiresAt,
          client_id: str(body.client_id),
        },
      }),
      tokenIn: (body) => {
        const envelope = body as Json | undefined;
        return envelope && envelope.status === 0 ? field(envelope.result, "access_token") : undefined;
      },
    },
  },
};
