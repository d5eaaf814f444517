import path from "node:path";
import { type NormalizedProblem, Source } from "@redocly/openapi-core";
import { describe, expect, it } from "vitest";
import { formatProblem } from "../../scripts/lib/problems.js";
import { ROOT } from "../../scripts/lib/registry.js";

/** A lint problem at `pointer` of a file holding `body`, as Redocly reports one. */
function problemAt(body: string, pointer: string, reportOnKey = false): NormalizedProblem {
  const source = new Source(path.join(ROOT, "specs/t/openapi.yaml"), body);
  return {
    ruleId: "struct",
    severity: "error",
    message: "m",
    suggest: [],
    location: [{ source, pointer, reportOnKey }],
  } as NormalizedProblem;
}

describe("formatProblem", () => {
  const text = "openapi: 3.1.0\ninfo:\n  title: t\nfoo: 1\n";

  it("names the line and column of a key and of a value", () => {
    expect(formatProblem(problemAt(text, "#/foo", true))).toBe("specs/t/openapi.yaml:4:1: m (struct)");
    expect(formatProblem(problemAt(text, "#/info/title"))).toBe("specs/t/openapi.yaml:3:10: m (struct)");
  });

  it.each([
    ["a byte-order mark", `\uFEFF${text}`],
    ["Windows line ends", text.replace(/\n/g, "\r\n")],
    ["both", `\uFEFF${text.replace(/\n/g, "\r\n")}`],
  ])("names the same place in a file saved with %s", (_case, body) => {
    expect(formatProblem(problemAt(body, "#/foo", true))).toBe("specs/t/openapi.yaml:4:1: m (struct)");
    expect(formatProblem(problemAt(body, "#/info/title"))).toBe("specs/t/openapi.yaml:3:10: m (struct)");
    expect(formatProblem(problemAt(body, "#/openapi", true))).toBe("specs/t/openapi.yaml:1:1: m (struct)");
  });
});
