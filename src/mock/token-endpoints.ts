import { createHash, randomBytes } from "node:crypto";
import { type Problem, problem } from "./problems.js";
import { dataPart, type Envelope, type Requirement, type TokenOperation } from "./profile.js";

type Json = Record<string, unknown>;

export interface Issued {
  token: string;
  expiresAt: number;
  lifetimeMs: number;
  now: number;
}

/**
 * Whose token a request asks for: the operation and the values of its owner fields (`ownerFields`)
 * among the request's query parameters and body fields. As JSON, so that no value's colon makes two
 * apps one owner (`d:x` + `c` and `d` + `x:c`, whose tokens replaced each other's), and hashed: a
 * token keeps its owner for its lifetime, and a request's values may be nearly a MiB each.
 */
export function ownerOf(operation: TokenOperation, request: Json): string {
  const values = [operation.operationId, ...operation.ownerFields.map((f) => String(request[f] ?? ""))];
  return createHash("sha256").update(JSON.stringify(values)).digest("hex");
}

/**
 * The success body for a token issued now, shaped like the spec's success example: the token, its
 * lifetime (`expires`: seconds, milliseconds, or an epoch) and the `set` fields.
 */
export function tokenAnswer(
  operation: TokenOperation,
  envelope: Envelope | undefined,
  example: Json,
  issued: Issued,
  request: Json,
): Json {
  const body = structuredClone(example);
  let part = body;
  if (envelope) {
    body[envelope.statusField] = envelope.successStatus;
    if (envelope.resultField) {
      const result = body[envelope.resultField];
      part = result && typeof result === "object" && !Array.isArray(result) ? (result as Json) : {};
      body[envelope.resultField] = part;
    }
  }
  part[operation.token] = issued.token;
  const { expires } = operation;
  if (expires) {
    const ms = expires.epoch ? issued.expiresAt : issued.lifetimeMs;
    part[expires.field] = expires.unit === "ms" ? ms : Math.round(ms / 1000);
  }
  for (const [field, what] of Object.entries(operation.set)) {
    if (what === "token") part[field] = issued.token;
    else if (what === "random") part[field] = randomBytes(16).toString("hex");
    else if (what === "issuedAt")
      part[field] = expires?.unit === "s" ? Math.round(issued.now / 1000) : issued.now;
    else part[field] = typeof request[field] === "string" ? request[field] : "";
  }
  return body;
}

/** The token in a success body, so an example served as is (`Prefer: example=…`) is honoured. */
export function tokenIn(
  operation: TokenOperation,
  envelope: Envelope | undefined,
  body: unknown,
): string | undefined {
  const value = dataPart(body, envelope)?.[operation.token];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

const present = (body: Json, field: string) =>
  body[field] !== undefined && body[field] !== null && body[field] !== "";

/** The rules the spec states in prose only (`x-imspec-mock.requires`), checked after the schema. */
export function requirementProblems(rules: readonly Requirement[], body: Json): Problem[] {
  const out: Problem[] = [];
  for (const rule of rules) {
    if ("anyOf" in rule) {
      if (rule.anyOf.some((f) => present(body, f))) continue;
      const [first, ...rest] = rule.anyOf as [string, ...string[]];
      const note = rule.note ? ` (${rule.note})` : "";
      out.push(problem("body", first, "missing", `or ${rest.join(" or ")} is required${note}`));
      continue;
    }
    const applies = Object.entries(rule.when).every(([k, v]) => body[k] === v);
    if (applies && !present(body, rule.field)) {
      const when = Object.entries(rule.when)
        .map(([k, v]) => `${k} is ${String(v)}`)
        .join(" and ");
      out.push(problem("body", rule.field, "missing", `is required when ${when}`));
    }
  }
  return out;
}
