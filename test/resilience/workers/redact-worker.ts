/**
 * Redacts one hostile error body in a process of its own, so that a redactor that recurses without
 * end or grows exponentially is killed at the parent's bound instead of freezing the test runner.
 * Started by test/resilience/redaction.test.ts with `node --import tsx`; prints one JSON line.
 */
import { inspect } from "node:util";
import { Redactor } from "../../../src/core/redact.js";

const TOKEN = process.argv[3] ?? "";

function nested(depth: number, value: unknown): unknown {
  let body: unknown = value;
  for (let i = 0; i < depth; i++) body = { level: i, inner: body };
  return body;
}

const cyclic: Record<string, unknown> = { name: "a", token: TOKEN };
cyclic.self = cyclic;
cyclic.list = [cyclic, { back: cyclic }];
const bodies: Record<string, () => unknown> = {
  cycles: () => ({ cyclic }),
  deep: () => nested(100_000, TOKEN),
  wide: () => Array.from({ length: 100_000 }, (_, i) => (i === 99_999 ? TOKEN : i)),
  odd: () => ({
    big: 10n ** 30n,
    toJSON() {
      throw new Error("toJSON must never run");
    },
    nested: { toJSON: () => TOKEN },
  }),
};

const redactor = new Redactor();
redactor.add(TOKEN);
const started = performance.now();
try {
  const out = redactor.value(bodies[process.argv[2] ?? ""]?.());
  const text = `${JSON.stringify(out)}\n${inspect(out, { depth: Number.POSITIVE_INFINITY })}`;
  const ms = performance.now() - started;
  console.log(
    JSON.stringify({
      ms,
      leaked: text.includes(TOKEN),
      circular: text.includes("[circular]"),
      deep: text.includes("[too deep]"),
    }),
  );
} catch (error) {
  console.log(JSON.stringify({ error: String(error) }));
}
