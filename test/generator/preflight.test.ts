import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  MAX_ALIAS_COUNT,
  MAX_REF_CHAIN,
  MAX_REF_DEPTH,
  preflight,
  preflightRegistry,
} from "../../scripts/lib/preflight.js";

const dir = mkdtempSync(path.join(tmpdir(), "imspec-preflight-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Writes the files (name → YAML) into a fresh folder and returns the first one's path. */
function mkspecs(files: Record<string, string>): string {
  const folder = path.join(dir, String(++n));
  mkdirSync(folder);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(folder, name), text);
  return path.join(folder, Object.keys(files)[0] as string);
}

const head = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n";

describe("preflight", () => {
  it("accepts a schema that refers to itself from inside (a tree)", () => {
    const root = mkspecs({
      "a.yaml": `${head}    Node:\n      type: object\n      properties:\n        children:\n          type: array\n          items: {$ref: '#/components/schemas/Node'}\n`,
    });
    expect(() => preflight(root)).not.toThrow();
  });

  it("names the file, line and pointer of a $ref that refers to itself", () => {
    const root = mkspecs({ "a.yaml": `${head}    Loop:\n      $ref: '#/components/schemas/Loop'\n` });
    expect(() => preflight(root)).toThrow(
      /a\.yaml:7:13: the \$ref at #\/components\/schemas\/Loop is circular/,
    );
  });

  it("finds a cycle across files", () => {
    const root = mkspecs({
      "a.yaml": `${head}    A:\n      $ref: './b.yaml#/B'\n`,
      "b.yaml": "B:\n  $ref: './a.yaml#/components/schemas/A'\n",
    });
    expect(() => preflight(root)).toThrow(/\.yaml:\d+:\d+: the \$ref at #\/\S+ is circular/);
  });

  it.skipIf(process.platform === "win32")(
    "refuses a $ref to a device or a named pipe, which would never end, before reading it",
    () => {
      // /dev/zero would fill the memory, a pipe nobody writes would wait forever.
      const root = mkspecs({
        "a.yaml": `${head}    Zero:\n      $ref: '/dev/zero#/Z'\n`,
        "b.yaml": `${head}    Piped:\n      $ref: './pipe.yaml#/P'\n`,
      });
      expect(() => preflight(root)).toThrow(
        /a\.yaml:7:13: the \$ref at #\/components\/schemas\/Zero names \S*dev\/zero: not a regular file/,
      );
      const piped = path.join(path.dirname(root), "b.yaml");
      execFileSync("mkfifo", [path.join(path.dirname(root), "pipe.yaml")]);
      expect(() => preflight(piped)).toThrow(
        /b\.yaml:7:13: the \$ref at #\/components\/schemas\/Piped names \S*pipe\.yaml: not a regular file/,
      );
      expect(() => preflight(path.join(path.dirname(root), "pipe.yaml"))).toThrow(
        /pipe\.yaml: not a regular file/,
      );
    },
  );

  it.skipIf(process.platform === "win32")(
    "refuses a registry, or a file it extends, that is a named pipe, before reading it",
    () => {
      const registry = mkspecs({ "redocly.yaml": "extends:\n  - recommended\n  - ./pipe.yaml\n" });
      const pipe = path.join(path.dirname(registry), "pipe.yaml");
      execFileSync("mkfifo", [pipe]);
      expect(() => preflightRegistry(registry)).toThrow(
        /redocly\.yaml:3:5: extends \.\/pipe\.yaml: not a regular file/,
      );
      expect(() => preflightRegistry(pipe)).toThrow(/pipe\.yaml: not a regular file/);
    },
  );

  it(`refuses a chain of more than ${MAX_REF_CHAIN} $refs, and accepts one of ${MAX_REF_CHAIN}`, () => {
    const chain = (length: number) => {
      const links = Array.from(
        { length },
        (_, i) => `    S${i}:\n      $ref: '#/components/schemas/S${i + 1}'\n`,
      );
      return `${links.join("")}    S${length}:\n      type: string\n`;
    };
    expect(() => preflight(mkspecs({ "a.yaml": head + chain(MAX_REF_CHAIN) }))).not.toThrow();
    expect(() => preflight(mkspecs({ "a.yaml": head + chain(MAX_REF_CHAIN + 2) }))).toThrow(
      new RegExp(
        `a\\.yaml:7:13: the \\$ref at #/components/schemas/S0 starts a chain of more than ${MAX_REF_CHAIN}`,
      ),
    );
  });

  it(`refuses $refs nested more than ${MAX_REF_DEPTH} deep, and accepts ${MAX_REF_DEPTH}`, () => {
    // N0.properties.next → N1.properties.next → …, reached from an operation's response.
    const nested = (depth: number) =>
      "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      responses:\n" +
      "        '200':\n          description: ok\n          content:\n            application/json:\n" +
      "              schema: {$ref: '#/components/schemas/N0'}\ncomponents:\n  schemas:\n" +
      Array.from(
        { length: depth },
        (_, i) =>
          `    N${i}:\n      type: object\n      properties:\n        next: {$ref: '#/components/schemas/N${i + 1}'}\n`,
      ).join("") +
      `    N${depth}:\n      type: string\n`;
    expect(() => preflight(mkspecs({ "a.yaml": nested(MAX_REF_DEPTH - 1) }))).not.toThrow();
    expect(() => preflight(mkspecs({ "a.yaml": nested(MAX_REF_DEPTH + 1) }))).toThrow(
      new RegExp(
        `a\\.yaml:\\d+:\\d+: the \\$ref at #/components/schemas/N\\d+/properties/next is nested more than ${MAX_REF_DEPTH}`,
      ),
    );
  });

  it("stops YAML aliases that expand without bound, at the first alias", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    const root = mkspecs({ "a.yaml": `${head}x-bomb:\n${levels.map((l) => `  ${l}`).join("\n")}\n` });
    expect(() => preflight(root)).toThrow(/a\.yaml:8:\d+: .*alias/i);
  });

  it("names the bomb's first alias, not a small alias used lawfully above it", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    const lawful = "x-small:\n  one: &small {type: string}\n  two: *small\n";
    const text = `${head}${lawful}x-bomb:\n${levels.map((l) => `  ${l}`).join("\n")}\n`;
    const line = text.split("\n").findIndex((l) => l.startsWith("  b: &b")) + 1;
    const root = mkspecs({ "a.yaml": text });
    expect(() => preflight(root)).toThrow(new RegExp(`a\\.yaml:${line}:\\d+: .*alias`, "i"));
  });

  it("lets one small anchor stand in many places", () => {
    const uses = Array.from({ length: MAX_ALIAS_COUNT / 2 }, () => "  - *e").join("\n");
    const root = mkspecs({ "a.yaml": `${head}    E: &e {type: string}\nx-uses:\n${uses}\n` });
    expect(() => preflight(root)).not.toThrow();
  });

  it("names the line and column of a byte that is not UTF-8, in a $ref'd file", () => {
    // "café" saved as Latin-1: é is the one byte 0xE9, which Redocly would read as U+FFFD.
    const root = mkspecs({ "a.yaml": `${head}    A:\n      $ref: './b.yaml#/B'\n`, "b.yaml": "" });
    const latin1 = Buffer.concat([
      Buffer.from('B:\n  type: string\n  description: "\uFFFD ok, caf'),
      Buffer.from([0xe9]),
      Buffer.from('"\n'),
    ]);
    writeFileSync(path.join(path.dirname(root), "b.yaml"), latin1);
    expect(() => preflight(root)).toThrow(/b\.yaml:3:26: a byte that is not UTF-8 \(0xe9\)/);
  });

  it.each([
    ["a quoted key with a colon", `      "x:y": 1\n      "x:y": 2\n`, '"x:y"'],
    ["a single-quoted key with a quote", `      'it''s': 1\n      'it''s': 2\n`, `"it's"`],
    ["a key in a flow map", `      f: {n: 1, n: 2}\n`, "n"],
    [
      "a block scalar key",
      `      ? |\n        long\n      : 1\n      ? |\n        long\n      : 2\n`,
      '"long\\n"',
    ],
  ])("names a repeated key whole: %s", (_case, body, key) => {
    const root = mkspecs({ "a.yaml": `${head}    A:\n${body}` });
    let message = "";
    try {
      preflight(root);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/a\.yaml:\d+:\d+: duplicated mapping key /);
    expect(message.split("duplicated mapping key ")[1]).toBe(`${key}: a key appears once in a map`);
  });

  it("refuses a key twice in one map, at the second, but not merge keys (`<<`), which may repeat", () => {
    const twice = mkspecs({ "a.yaml": `${head}    A:\n      type: object\n      type: string\n` });
    expect(() => preflight(twice)).toThrow(/a\.yaml:8:7: duplicated mapping key type/);
    const merged = mkspecs({
      "a.yaml": `${head}    B: &b {type: object}\n    C: &c {description: c}\n    D:\n      <<: *b\n      <<: *c\n`,
    });
    expect(() => preflight(merged)).not.toThrow();
  });

  it("refuses an alias inside the node its anchor names, where the alias is, without walking it for ever", () => {
    // A recursive schema written with anchors: a structure without end.
    const schema = mkspecs({
      "a.yaml": `${head}    T: &t\n      type: object\n      properties:\n        again: *t\n`,
    });
    expect(() => preflight(schema)).toThrow(
      /a\.yaml:9:16: the alias \*t is inside the node &t names: a structure without end/,
    );
    const extension = mkspecs({ "a.yaml": `${head}    T: {type: object}\nx-loop: &a { b: *a }\n` });
    expect(() => preflight(extension)).toThrow(/a\.yaml:7:17: the alias \*a is inside the node &a names/);
    // An anchor used after it, or beside it, is no cycle.
    const lawful = mkspecs({
      "a.yaml": `${head}    T: &t {type: object}\n    U:\n      type: object\n      properties:\n        t: *t\n`,
    });
    expect(() => preflight(lawful)).not.toThrow();
  });

  it("refuses an x-imspec key beside a $ref, which nothing would read, where it stands", () => {
    const root = mkspecs({
      "a.yaml": `${head}    Scene: {type: string, enum: [CHAT]}\n    A:\n      type: object\n      properties:\n        scene:\n          $ref: '#/components/schemas/Scene'\n          x-imspec-open-enum: true\n`,
    });
    expect(() => preflight(root)).toThrow(
      /a\.yaml:12:31: x-imspec-open-enum beside a \$ref is not read: the generator reads the target's keys/,
    );
    const slip = mkspecs({
      "a.yaml": `${head}    Scene: {type: string, enum: [CHAT]}\n    A:\n      type: object\n      properties:\n        scene:\n          $ref: '#/components/schemas/Scene'\n          x-imsepc-open-enum: true\n`,
    });
    expect(() => preflight(slip)).toThrow(/a\.yaml:12:31: x-imsepc-open-enum beside a \$ref is not read/);
    // Under a property, or a response, that is named like a keyword of data: refused all the same.
    for (const name of ["default", "enum", "example", "const"]) {
      const named = mkspecs({
        "a.yaml": `${head}    Scene: {type: string, enum: [CHAT]}\n    A:\n      type: object\n      properties:\n        ${name}:\n          $ref: '#/components/schemas/Scene'\n          x-imspec-open-enum: true\n`,
      });
      expect(() => preflight(named), name).toThrow(
        /a\.yaml:12:31: x-imspec-open-enum beside a \$ref is not read/,
      );
    }
    const response = mkspecs({
      "a.yaml":
        `${head}    S: {type: object}\n  responses:\n    R: {description: r}\npaths:\n  /a:\n    get:\n      responses:\n        default:\n          $ref: '#/components/responses/R'\n          x-imspec-optional-body: true\n`.replace(
          "paths: {}\n",
          "",
        ),
    });
    expect(() => preflight(response)).toThrow(/x-imspec-optional-body beside a \$ref is not read/);
    // Unquoted status codes are numbers in YAML: named where the key is, not at the map.
    const status = mkspecs({
      "a.yaml":
        `${head}    S: {type: object}\n  responses:\n    R: {description: r}\npaths:\n  /a:\n    get:\n      responses:\n        400: {description: bad}\n        200: {$ref: '#/components/responses/R', x-imspec-optional-body: true}\n`.replace(
          "paths: {}\n",
          "",
        ),
    });
    expect(() => preflight(status)).toThrow(/a\.yaml:13:73: x-imspec-optional-body beside a \$ref/);
    // A description beside it is OpenAPI 3.1's own, and data may hold any key: an example, or a
    // schema's examples.
    const examples = mkspecs({
      "a.yaml": `${head}    A: {type: object, examples: [{$ref: x, x-imspec-open-enum: true}]}\n`,
    });
    expect(() => preflight(examples)).not.toThrow();
    const lawful = mkspecs({
      "a.yaml": `${head}    Scene: {type: string, enum: [CHAT]}\n    A:\n      type: object\n      properties:\n        scene:\n          $ref: '#/components/schemas/Scene'\n          description: the scene\n      example: {scene: {$ref: x, x-imspec-open-enum: true}}\n`,
    });
    expect(() => preflight(lawful)).not.toThrow();
  });

  it("reads merge keys as Redocly does: a $ref cycle a merge brings in is named where the merge is", () => {
    const root = mkspecs({ "a.yaml": `${head}    A:\n      <<: {$ref: '#/components/schemas/A'}\n` });
    expect(() => preflight(root)).toThrow(/a\.yaml:7:7: the \$ref at #\/components\/schemas\/A is circular/);
    // The merge after another key: still where the merge is, not where the map starts.
    const later = mkspecs({
      "a.yaml": `${head}    A:\n      description: a\n      <<: {$ref: '#/components/schemas/A'}\n`,
    });
    expect(() => preflight(later)).toThrow(/a\.yaml:8:7: the \$ref at #\/components\/schemas\/A is circular/);
  });

  it("names a merge of what is no map where it is", () => {
    const scalar = mkspecs({ "a.yaml": `${head}    A:\n      type: object\n      <<: 1\n` });
    expect(() => preflight(scalar)).toThrow(/a\.yaml:8:11: Merge sources must be maps or map aliases/);
    const listed = mkspecs({ "a.yaml": `${head}    B: &b {type: object}\n    A:\n      <<: [*b, 1]\n` });
    expect(() => preflight(listed)).toThrow(/a\.yaml:8:11: Merge sources must be maps or map aliases/);
  });

  it("refuses a lone surrogate escaped in a string, where it is: no text, and output that never settles", () => {
    const root = mkspecs({
      "a.yaml": `${head}    A:\n      type: object\n      description: "token \\ud83d"\n`,
    });
    expect(() => preflight(root)).toThrow(/a\.yaml:8:20: a lone surrogate \(\\ud83d\) in a string/);
    const pair = mkspecs({
      "a.yaml": `${head}    A:\n      type: object\n      description: "token \\ud83d\\ude00"\n`,
    });
    expect(() => preflight(pair)).not.toThrow();
  });

  it("refuses an example's externalValue and a discriminator mapping that are URLs, where they stand, without the URL's user", () => {
    const external = mkspecs({
      "a.yaml": `${head}    A:\n      type: object\n      examples: []\n  examples:\n    E:\n      externalValue: 'http://user:pw@127.0.0.1:9/x.json'\n`,
    });
    expect(() => preflight(external)).toThrow(
      /a\.yaml:11:22: externalValue is a URL \(http:\/\/127\.0\.0\.1:9\/x\.json\): a spec may refer only to its own files/,
    );
    const mapping = mkspecs({
      "a.yaml": `${head}    Pet:\n      oneOf: [{$ref: '#/components/schemas/Cat'}]\n      discriminator:\n        propertyName: kind\n        mapping:\n          cat: 'https://127.0.0.1:9/cat.json'\n    Cat: {type: object}\n`,
    });
    expect(() => preflight(mapping)).toThrow(
      /a\.yaml:11:16: a discriminator mapping is a URL \(https:\/\/127\.0\.0\.1:9\/cat\.json\)/,
    );
  });

  it("leaves data that holds an externalValue field alone, and a mapping to a schema", () => {
    const root = mkspecs({
      "a.yaml": `${head}    Pet:\n      oneOf: [{$ref: '#/components/schemas/Cat'}]\n      discriminator:\n        propertyName: kind\n        mapping: {cat: '#/components/schemas/Cat'}\n    Cat:\n      type: object\n      example: {externalValue: 'http://127.0.0.1:9/x'}\n  examples:\n    E:\n      value: {externalValue: 'http://127.0.0.1:9/y'}\n`,
    });
    expect(() => preflight(root)).not.toThrow();
  });

  it("names the place of a $ref whose % starts no escape, in its file or in a file it leads to", () => {
    // decodeURIComponent threw "URI malformed", which reached the user with no file and no line.
    expect(() => preflight(mkspecs({ "a.yaml": `${head}    A:\n      $ref: './b%zz.yaml#/B'\n` }))).toThrow(
      /a\.yaml:7:13: the \$ref at #\/components\/schemas\/A is no URI reference \(\.\/b%zz\.yaml#\/B\): /,
    );
    expect(() =>
      preflight(
        mkspecs({
          "a.yaml": `${head}    A:\n      $ref: './b.yaml#/B'\n`,
          "b.yaml": "B:\n  $ref: '#/C/100%'\nC: {}\n",
        }),
      ),
    ).toThrow(/b\.yaml:2:9: the \$ref at #\/B is no URI reference \(#\/C\/100%\): /);
  });

  it("refuses a control character a string holds through an escape, where the string is", () => {
    // A raw NUL is refused as no text; `"\0"` or `"\e[31m"` in a double-quoted string put the same
    // characters into the generated TypeScript (git then takes it for a binary file).
    const escaped = (value: string) =>
      mkspecs({ "a.yaml": `${head}    A:\n      type: string\n      description: ${value}\n` });
    expect(() => preflight(escaped('"List\\0 the admins"'))).toThrow(
      /a\.yaml:8:20: a control character \(U\+0000\) in a string: a spec is text/,
    );
    expect(() => preflight(escaped('"\\e[31mred"'))).toThrow(/a\.yaml:8:20: a control character \(U\+001B\)/);
    expect(() => preflight(escaped('"tab\\tand\\r\\nline"'))).not.toThrow();
  });

  it("leaves a dangling $ref to the linter", () => {
    expect(() =>
      preflight(mkspecs({ "a.yaml": `${head}    A:\n      $ref: './missing.yaml#/X'\n` })),
    ).not.toThrow();
  });
});

describe("preflight: YAML syntax errors at the line and column of the mistake", () => {
  // `head` is lines 1-5; each spec below starts on line 6.
  const cases: Array<{ name: string; given: string; want: string }> = [
    {
      name: "an unclosed [ on the last line",
      given: "    A: [unclosed\n",
      want: "a.yaml:6:8: YAML syntax error: unclosed [: this flow sequence has no closing ] (the parser gave up at line 7, column 1)",
    },
    {
      name: "an unclosed [ with more of the spec after it",
      given: "    A:\n      enum: [a, b\n    B:\n      type: string\n",
      want: "a.yaml:7:13: YAML syntax error: unclosed [: this flow sequence has no closing ] (the parser gave up at line 8, column 5)",
    },
    {
      name: "an unclosed {",
      given: "    A: {type: string\n    B: {type: string}\n",
      want: "a.yaml:6:8: YAML syntax error: unclosed {: this flow mapping has no closing } (the parser gave up at line 7, column 5)",
    },
    {
      name: "the innermost of two unclosed brackets",
      given: "    A: [a, {b: c\n    B: {}\n",
      want: "a.yaml:6:12: YAML syntax error: unclosed {: this flow mapping has no closing } (the parser gave up at line 7, column 5)",
    },
    {
      name: "an unclosed double quote",
      given: '    A:\n      description: "never closed\n    B:\n      type: string\n',
      want: 'a.yaml:7:20: YAML syntax error: unclosed ": this double-quoted string has no closing " (the parser gave up at line 10, column 1)',
    },
    {
      name: "an unclosed single quote",
      given: "    A:\n      description: 'it''s never closed\n    B:\n      type: string\n",
      want: "a.yaml:7:20: YAML syntax error: unclosed ': this single-quoted string has no closing ' (the parser gave up at line 10, column 1)",
    },
    {
      name: "a tab as indentation",
      given: "    A:\n\ttype: string\n",
      want: "a.yaml:7:1: YAML syntax error: Tabs are not allowed as indentation",
    },
    {
      name: "a key out of line with its siblings",
      given: "    A:\n      type: object\n     description: x\n",
      want: "a.yaml:8:1: YAML syntax error: All mapping items must start at the same column",
    },
    {
      name: "a mapping nested on one line",
      given: "    A: type: string\n",
      want: "a.yaml:6:8: YAML syntax error: Nested mappings are not allowed in compact mappings",
    },
  ];
  it.each(cases)("$name", ({ given, want }) => {
    const root = mkspecs({ "a.yaml": `${head}${given}` });
    let message = "";
    try {
      preflight(root);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.slice(message.lastIndexOf("a.yaml:"))).toBe(want);
  });

  it("accepts brackets and quotes that close on a later line", () => {
    const given =
      '    A:\n      enum: [a,\n        b]\n      description: "two\n        lines"\n      example: {k:\n        v}\n';
    expect(() => preflight(mkspecs({ "a.yaml": `${head}${given}` }))).not.toThrow();
  });
});
