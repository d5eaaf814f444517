/**
 * Hostile input to the generator: broken, huge, deeply nested and self-referencing specs. Each case
 * breaks a throwaway copy of the repository and runs the generator there as `npm run generate`
 * does. Every run must end by itself within RUN_BOUND_MS with a non-zero exit, print a message that
 * names the spec file (and `file:line:col` where the problem has a line), print no stack trace, and
 * leave generated/ byte-identical.
 *
 * test/generator/generate.test.ts already covers malformed YAML, a dangling `$ref` in an existing
 * file, a duplicate operationId and a missing operationId; these are the other cases.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { copyRepo, ROOT } from "../support/repo-copy.js";

/** A run that takes longer is killed (with everything it started) and the case fails. */
const RUN_BOUND_MS = 30_000;
/** Runs at once: the cases share the machine, and each run's bound starts only when it starts. */
const PARALLEL_RUNS = 2;
const MAX_MESSAGE_BYTES = 64 * 1024;

const OPENAPI = "specs/workplus/openapi.yaml";
const COMPONENTS = "specs/workplus/components.yaml";

/** sha256 of every file under generated/ (names and bytes). */
function fingerprint(dir: string): string {
  const hash = createHash("sha256");
  const base = path.join(dir, "generated");
  const files = readdirSync(base, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
  for (const file of files) hash.update(path.relative(base, file)).update("\0").update(readFileSync(file));
  return hash.digest("hex");
}

interface BoundedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

let running = 0;
const queue: Array<() => void> = [];
async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL_RUNS) await new Promise<void>((resolve) => queue.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    queue.shift()?.();
  }
}

/**
 * Runs the generator in `dir` in a process group of its own; past `bound` the whole group is
 * killed, so neither tsx nor the node process it starts outlives the test.
 */
function generateWithin(dir: string, bound: number): Promise<BoundedRun> {
  return slot(() => generate(dir, bound));
}

function generate(dir: string, bound: number): Promise<BoundedRun> {
  const started = Date.now();
  const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(dir, "scripts/generate.ts")], {
    cwd: dir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    if (stdout.length < 4 * MAX_MESSAGE_BYTES) stdout += d;
  });
  child.stderr.on("data", (d) => {
    if (stderr.length < 4 * MAX_MESSAGE_BYTES) stderr += d;
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  }, bound);
  return new Promise((resolve) => {
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started, timedOut });
    });
  });
}

/** `{"type":"object","properties":{"a": … }}` nested `depth` times around a string schema. */
function nestedSchema(depth: number): string {
  let schema = '{"type":"string"}';
  for (let i = 0; i < depth; i++) schema = `{"type":"object","properties":{"a":${schema}}}`;
  return schema;
}

/** Inserts schemas at the top of components.yaml's `schemas:` section. */
const withSchemas = (yaml: string) => (text: string) =>
  text.replace("\nschemas:\n  Envelope:", `\nschemas:\n${yaml}\n  Envelope:`);
/** Points listAdmins' success schema at `name` instead of AdminListResponse. */
const listAdminsReturns = (name: string) => (text: string) =>
  text.replace(
    /(\/v1\/apps\/\{appId\}\/admins:[\s\S]*?\$ref: \.\/components\.yaml#\/schemas\/)AdminListResponse/,
    `$1${name}`,
  );

interface Case {
  name: string;
  edits: Array<[file: string, edit: (text: string) => string]>;
  /** What stderr must say. */
  message: RegExp;
}

const TEN_MB_PADDING = Array.from(
  { length: 100_000 },
  (_, i) => `  - "${String(i).padStart(6, "0")} ${"x".repeat(96)}"`,
).join("\n");

/** The "billion laughs": nine levels of ten aliases each, 10^9 strings from about 1 KB of YAML. */
function aliasBomb(): string {
  let out = "\nx-imspec-bomb:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (let level = 1; level < 10; level++)
    out += `  l${level}: &l${level} [${Array(10)
      .fill(`*l${level - 1}`)
      .join(", ")}]\n`;
  return out;
}

const cases: Case[] = [
  {
    name: "an invalid schema type (type: strin)",
    edits: [[COMPONENTS, (t) => t.replace("type: string", "type: strin")]],
    message: /specs\/workplus\/components\.yaml:\d+:\d+: `type` can be one of/,
  },
  {
    name: "a path parameter the operation does not declare",
    edits: [
      [OPENAPI, (t) => t.replace("  /v1/apps/{appId}/admins:", "  /v1/apps/{appId}/admins/{adminId}:")],
    ],
    message: /specs\/workplus\/openapi\.yaml:\d+:\d+: .*path parameter `\{adminId\}`/,
  },
  {
    name: "a 10 MB spec with a broken type on line 100,000-odd",
    edits: [
      [
        COMPONENTS,
        (t) =>
          t
            .replace("\nparameters:\n", `\nx-imspec-padding:\n${TEN_MB_PADDING}\nparameters:\n`)
            .replace("type: string", "type: strin"),
      ],
    ],
    message: /specs\/workplus\/components\.yaml:100\d{3}:\d+: `type` can be one of/,
  },
  {
    name: "a schema nested 2,000 levels deep",
    edits: [
      [COMPONENTS, withSchemas(`  Deep: ${nestedSchema(2_000)}`)],
      [OPENAPI, listAdminsReturns("Deep")],
    ],
    message: /specs\/workplus\/components\.yaml:\d+:\d+: .*nesting/,
  },
  {
    name: "a chain of 2,000 schemas, each one a $ref deeper",
    edits: [
      [
        COMPONENTS,
        withSchemas(
          Array.from({ length: 2_000 }, (_, i) =>
            i < 1_999
              ? `  L${i}:\n    type: object\n    properties:\n      a:\n        $ref: "#/schemas/L${i + 1}"`
              : `  L${i}:\n    type: string`,
          ).join("\n"),
        ),
      ],
      [OPENAPI, listAdminsReturns("L0")],
    ],
    message: /specs\/workplus\/(openapi|components)\.yaml:\d+:\d+: /,
  },
  {
    name: "a schema that is a $ref to itself",
    edits: [
      [COMPONENTS, withSchemas('  Loop:\n    $ref: "#/schemas/Loop"')],
      [OPENAPI, listAdminsReturns("Loop")],
    ],
    message: /specs\/workplus\/components\.yaml:\d+:\d+: .*circular/i,
  },
  {
    name: "two schemas that are $refs to each other",
    edits: [
      [
        COMPONENTS,
        withSchemas('  LoopA:\n    $ref: "#/schemas/LoopB"\n  LoopB:\n    $ref: "#/schemas/LoopA"'),
      ],
      [OPENAPI, listAdminsReturns("LoopA")],
    ],
    message: /specs\/workplus\/components\.yaml:\d+:\d+: .*circular/i,
  },
  {
    name: "a $ref to a file that does not exist",
    edits: [
      [
        OPENAPI,
        (t) =>
          t.replace(
            "$ref: ./components.yaml#/parameters/EmployeeName",
            "$ref: ./no-such-file.yaml#/parameters/EmployeeName",
          ),
      ],
    ],
    message: /specs\/workplus\/openapi\.yaml:\d+:\d+: Can't resolve \$ref: .*no-such-file\.yaml/,
  },
  {
    // Read to its end, it would fill the memory; a named pipe would wait forever.
    name: "a $ref to a device that never ends (/dev/zero)",
    edits: [
      [
        OPENAPI,
        (t) =>
          t.replace(
            "$ref: ./components.yaml#/parameters/EmployeeName",
            "$ref: /dev/zero#/parameters/EmployeeName",
          ),
      ],
    ],
    message:
      /specs\/workplus\/openapi\.yaml:\d+:\d+: the \$ref at \S+ names \S*dev\/zero: not a regular file/,
  },
  {
    name: "a duplicate mapping key (paths twice)",
    edits: [[OPENAPI, (t) => t.replace("\npaths:\n", "\npaths: {}\npaths:\n")]],
    message: /specs\/workplus\/openapi\.yaml:\d+:\d+: duplicated mapping key/,
  },
  {
    name: "an empty root spec",
    edits: [[OPENAPI, () => ""]],
    message: /specs\/workplus\/openapi\.yaml: .*(empty|must be)/i,
  },
  {
    name: "a root spec of comments alone",
    edits: [[OPENAPI, () => "# nothing here yet\n"]],
    message:
      /^specs\/workplus\/openapi\.yaml: the file is empty \(comments at most\): an OpenAPI document is a mapping/m,
  },
  {
    name: "NUL bytes in a spec file",
    edits: [[COMPONENTS, (t) => t.replace("\nparameters:\n", "\n\u0000\u0001 garbage\nparameters:\n")]],
    message: /specs\/workplus\/components\.yaml:\d+:\d+: .*null byte/,
  },
  {
    name: "YAML aliases that expand to 10^9 nodes (billion laughs)",
    edits: [[OPENAPI, (t) => t.replace("\npaths:\n", `${aliasBomb()}paths:\n`)]],
    message: /specs\/workplus\/openapi\.yaml(:\d+:\d+)?: .*alias/i,
  },
  {
    // Redocly read the registry with no bound: 40 s and 2.7 GB before it gave up, with no line.
    name: "YAML aliases that expand to 10^9 nodes in redocly.yaml",
    edits: [["redocly.yaml", (t) => `${t}${aliasBomb()}`]],
    message: /redocly\.yaml:\d+:\d+: .*alias/i,
  },
];

describe.concurrent("npm run generate on hostile specs", () => {
  it.each(cases)(
    `$name: a message naming the file, a non-zero exit within ${RUN_BOUND_MS / 1000} s, generated/ untouched`,
    async ({ edits, message }) => {
      const repo = copyRepo();
      try {
        const before = fingerprint(repo.dir);
        for (const [file, edit] of edits) {
          const target = path.join(repo.dir, file);
          const original = readFileSync(target, "utf8");
          const edited = edit(original);
          expect(edited, `the case's edit must change ${file}`).not.toBe(original);
          writeFileSync(target, edited);
        }
        const run = await generateWithin(repo.dir, RUN_BOUND_MS);
        const said = `exit ${run.code ?? run.signal} after ${run.ms} ms\n${run.stderr.slice(0, 2_000)}`;
        expect(run.timedOut, `still running after ${RUN_BOUND_MS} ms`).toBe(false);
        expect(run.code, said).not.toBe(0);
        expect(run.stderr, said).toMatch(message);
        expect(run.stderr).toContain("generated/ was not changed");
        // A message, not a crash: no stack frames, and short enough to read.
        expect(run.stderr, said).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
        expect(Buffer.byteLength(run.stderr)).toBeLessThan(MAX_MESSAGE_BYTES);
        expect(fingerprint(repo.dir)).toBe(before);
      } finally {
        repo.remove();
      }
    },
    // Time to wait for a free slot (the other cases' runs), then this run's own bound.
    cases.length * RUN_BOUND_MS,
  );

  it("the 10 MB case really is 10 MB", () => {
    expect(Buffer.byteLength(TEN_MB_PADDING)).toBeGreaterThanOrEqual(10_000_000);
    expect(statSync(path.join(ROOT, COMPONENTS)).size).toBeLessThan(1_000_000);
  });
});
