/**
 * Which operations the contract suite covers, read statically from the test sources: every
 * `contract(mock, "<api>", "<operationId>", …)` call, found by parsing each file with the TypeScript
 * compiler (comments and strings that merely look like a call do not count). Compared with the
 * operations of the specs in both directions.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/** One `contract(…)` call in a test file. */
export interface ContractCall {
  file: string;
  line: number;
  api: string;
  operationId: string;
}

/** A `contract(…)` call whose API or operationId is not a string literal: it cannot be checked. */
export interface UncheckableCall {
  file: string;
  line: number;
  text: string;
}

export interface FoundCalls {
  calls: ContractCall[];
  uncheckable: UncheckableCall[];
}

/** An operation of a spec, as far as the coverage check needs it. */
export interface SpecEntry {
  api: string;
  operationId: string;
  tag: string;
}

function literal(node: ts.Expression | undefined): string | undefined {
  if (node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))) return node.text;
  return undefined;
}

/** The `contract(…)` calls of one source file. */
export function contractCalls(file: string, source: string): FoundCalls {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: FoundCalls = { calls: [], uncheckable: [] };
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === "contract"
    ) {
      const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      const api = literal(node.arguments[1]);
      const operationId = literal(node.arguments[2]);
      if (api === undefined || operationId === undefined) {
        found.uncheckable.push({ file, line, text: node.getText(sf).split("\n")[0] ?? "" });
      } else {
        found.calls.push({ file, line, api, operationId });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The `contract(…)` calls of every `*.test.ts` file of a directory. */
export function contractCallsIn(dir: string): FoundCalls {
  const all: FoundCalls = { calls: [], uncheckable: [] };
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith(".test.ts")) continue;
    const found = contractCalls(name, readFileSync(path.join(dir, name), "utf8"));
    all.calls.push(...found.calls);
    all.uncheckable.push(...found.uncheckable);
  }
  return all;
}

/** Where an operation's contract lives: one file per API and tag. */
export const contractFileOf = (api: string, tag: string) => `${api}-${tag}.test.ts`;

/**
 * Everything wrong with the coverage, one sentence each; empty when every operation of the specs
 * has a contract test in its file and every contract test names an operation of the specs.
 */
export function coverageProblems(spec: readonly SpecEntry[], found: FoundCalls): string[] {
  const problems: string[] = [];
  const key = (api: string, operationId: string) => `${api} ${operationId}`;
  const operations = new Map(spec.map((o) => [key(o.api, o.operationId), o]));
  const tested = new Set(found.calls.map((c) => key(c.api, c.operationId)));

  for (const o of spec) {
    if (!tested.has(key(o.api, o.operationId))) {
      problems.push(
        `${o.api} ${o.operationId} has no contract test: add contract(current, "${o.api}", "${o.operationId}", …) to ${contractFileOf(o.api, o.tag)}`,
      );
    }
  }
  for (const c of found.calls) {
    const operation = operations.get(key(c.api, c.operationId));
    if (!operation) {
      problems.push(
        `${c.file}:${c.line}: contract() tests ${c.api} ${c.operationId}, which is not an operation of the ${c.api} spec`,
      );
    } else if (c.file !== contractFileOf(c.api, operation.tag)) {
      problems.push(
        `${c.file}:${c.line}: the contract of ${c.api} ${c.operationId} belongs in ${contractFileOf(c.api, operation.tag)}`,
      );
    }
  }
  for (const u of found.uncheckable) {
    problems.push(
      `${u.file}:${u.line}: ${u.text} — the API and operationId must be string literals for the coverage check`,
    );
  }
  return problems;
}
