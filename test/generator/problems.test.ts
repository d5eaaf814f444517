import path from "node:path";
import { type NormalizedProblem, Source } from "@redocly/openapi-core";
import { describe, expect, it } from "vitest";
import { formatProblem, problemsError } from "../../scripts/lib/problems.js";
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

describe("problemsError", () => {
  const text = "openapi: 3.1.0\ninfo:\n  title: t\nfoo: 1\n";

  it("lists a place Redocly reports more than once (once per path reaching it) once, and counts it once", () => {
    const again = problemAt(text, "#/foo", true);
    const error = problemsError("lint x", [
      again,
      problemAt(text, "#/foo", true),
      problemAt(text, "#/info/title"),
    ]);
    expect(error.message).toBe(
      "lint x failed with 2 problem(s):\n  error: specs/t/openapi.yaml:4:1: m (struct)\n  error: specs/t/openapi.yaml:3:10: m (struct)",
    );
  });
});

describe("formatProblem of an unresolved $ref", () => {
  it("quotes the $ref whose place its file does not have", () => {
    const body = "openapi: 3.1.0\nx:\n  $ref: './b.yaml#/Nope'\n";
    const problem = {
      ...problemAt(body, "#/x/$ref"),
      ruleId: "no-unresolved-refs",
      message: "Can't resolve $ref",
    };
    expect(formatProblem(problem)).toMatch(
      /^specs\/t\/openapi\.yaml:3:\d+: Can't resolve \$ref "\.\/b\.yaml#\/Nope": no such place in that file/,
    );
  });
});

describe("formatProblem of an unresolved $ref in a flow or JSON mapping", () => {
  it.each([
    ["a flow mapping", "openapi: 3.1.0\nx:\n  ok: {$ref: './b.yaml#/Nope'}\n", "#/x/ok"],
    ["a JSON mapping", 'openapi: 3.1.0\nx:\n  ok: {"$ref": "./b.yaml#/Nope"}\n', "#/x/ok"],
  ])("quotes the $ref alone, in %s", (_case, body, pointer) => {
    const problem = {
      ...problemAt(body, pointer),
      ruleId: "no-unresolved-refs",
      message: "Can't resolve $ref",
    };
    expect(formatProblem(problem)).toMatch(
      /Can't resolve \$ref "\.\/b\.yaml#\/Nope": no such place in that file/,
    );
  });
});
