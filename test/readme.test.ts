/**
 * The README holds true: its TypeScript samples compile against the real entry points, run against
 * the mock server and print what the README shows under them, and its rate-limit table is the one the
 * specs declare.
 *
 * A sample runs as written (`node --import tsx`, `imspec/<api>` resolved to src/ by tsconfig.json's
 * paths) with two substitutions, both listed in SAMPLES: the base URL (a literal replaced, or inserted
 * where the sample relies on the spec's default server) and the credentials, read by the samples from
 * the environment. Some samples need the mock to answer an error or a second page: SAMPLES scripts
 * those answers, and the README says so above the output. In an expected output, `…` stands for any
 * text (a request id that changes on every call).
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statusCodes as workplusStatusCodes } from "../generated/workplus/operations.js";
import { DEFAULT_TIMEOUT_MS } from "../src/core/client.js";
import { DEFAULT_EMPTY_PAGES, MAX_EMPTY_PAGES } from "../src/core/methods.js";
import { RETRY_DEFAULTS } from "../src/core/retry.js";
import { type MockServer, startMockServer } from "../src/mock/index.js";
import { OTHER_NODE_MAJORS } from "./package/consumer-project.js";
import { LOAD, SHARED_TOKEN } from "./resilience/sizes.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";
import { registryApis } from "./support/specs.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const README = path.join(ROOT, "README.md");
const OUT = path.join(ROOT, "test-output", "readme");
const run = promisify(execFile);

interface Sample {
  /** The heading the sample sits under: its name in SAMPLES. */
  heading: string;
  code: string;
  /** The ```text block right after it: what it prints. */
  expected: string | undefined;
}

/** Every ```ts block of the README, with its heading and the ```text block after it (prose between). */
function samples(readme: string): Sample[] {
  const lines = readme.split("\n");
  const found: Sample[] = [];
  let heading = "";
  const block = (from: number): { text: string; end: number } => {
    const end = lines.indexOf("```", from);
    return { text: lines.slice(from, end).join("\n"), end };
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const title = /^#{2,4} (.+)$/.exec(line);
    if (title) heading = (title[1] as string).trim();
    if (line !== "```ts") continue;
    const code = block(i + 1);
    i = code.end;
    let next = i + 1;
    while (next < lines.length && !/^(```|#)/.test(lines[next] as string)) next++;
    const output = lines[next] === "```text" ? block(next + 1) : undefined;
    if (output) i = output.end;
    found.push({ heading, code: code.text, expected: output?.text });
  }
  return found;
}

interface Context {
  mock: MockServer;
  redis: () => Promise<RedisServer>;
}

interface Setup {
  /** Literal → replacement; each literal must occur in the sample, so none is skipped silently. */
  replace?: (c: Context) => Promise<Array<[string, string]>> | Array<[string, string]>;
  /** Scripted answers the README names above the output. */
  script?: (mock: MockServer) => void;
  /** Runs as written: it starts its own mock server. */
  asIs?: true;
}

const baseUrlOf = (mock: MockServer, api: string) => JSON.stringify(mock.urlOf(api));
/** Inserts `baseUrl` into a factory call that relies on the spec's default server. */
const insertBaseUrl = (mock: MockServer, api: string, call: string): [string, string] => [
  `${call}({\n`,
  `${call}({\n  baseUrl: ${baseUrlOf(mock, api)},\n`,
];

/** One entry per README heading that has a TypeScript sample. */
const SAMPLES: Record<string, Setup> = {
  DingTalk: {
    replace: ({ mock }) => [insertBaseUrl(mock, "dingtalk", "createDingTalk")],
    script: (mock) => mock.script("dingtalk", "updateSeniorSetting", { error: "parameter.userNotExists" }),
  },
  WorkPlus: {
    replace: ({ mock }) => [['"https://im.example.cn"', baseUrlOf(mock, "workplus")]],
    script: (mock) => mock.script("workplus", "listSuperAdmins", { error: workplusStatusCodes.NO_SUCH_APP }),
  },
  WeCom: {
    replace: ({ mock }) => [insertBaseUrl(mock, "wecom", "createWeCom")],
    script: (mock) => {
      mock.script("wecom", "getUser", { example: "ok" }, { error: 60111 });
      mock.script(
        "wecom",
        "listUserIds",
        {
          body: {
            errcode: 0,
            errmsg: "ok",
            next_cursor: "page-2",
            dept_user: [{ userid: "zhangsan", department: 1 }],
          },
        },
        {
          body: { errcode: 0, errmsg: "ok", next_cursor: "", dept_user: [{ userid: "lisi", department: 2 }] },
        },
      );
    },
  },
  "Tokens, retries and errors": {
    replace: ({ mock }) => [insertBaseUrl(mock, "dingtalk", "createDingTalk")],
  },
  "Rate limits": {
    replace: ({ mock }) => [insertBaseUrl(mock, "dingtalk", "createDingTalk")],
  },
  "Node.js: the transport, a shared token store and shared budgets": {
    replace: async ({ mock, redis }) => [
      ['"https://im.example.cn"', baseUrlOf(mock, "workplus")],
      insertBaseUrl(mock, "dingtalk", "createDingTalk"),
      ['"redis://127.0.0.1:6379"', JSON.stringify((await redis()).url)],
    ],
  },
  "Custom APIs": {
    replace: ({ mock }) => [["baseUrl: profile.servers[0]", `baseUrl: ${baseUrlOf(mock, "wecom")}`]],
  },
  "Mock server for your own tests": { asIs: true },
};

/** The credentials the samples read from the environment; the mock accepts any. */
const CREDENTIALS = {
  DINGTALK_APP_SECRET: "readme-dingtalk-secret",
  WORKPLUS_CLIENT_SECRET: "readme-workplus-secret",
  WECOM_CORP_SECRET: "readme-wecom-secret",
};

/** Whether `actual` is `expected`, line by line, `…` matching any text. */
function printsAsShown(actual: string, expected: string): boolean {
  const pattern = expected
    .trimEnd()
    .split("…")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${pattern}$`).test(actual.trimEnd());
}

const readme = readFileSync(README, "utf8");
const all = samples(readme);

describe("README samples", () => {
  let mock: MockServer;
  let redis: RedisServer | undefined;

  beforeAll(async () => {
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    mock = await startMockServer();
  });
  afterAll(async () => {
    await mock?.stop();
    await redis?.stop();
  });

  it("each has an entry in SAMPLES and the output it prints right after it", () => {
    expect(all.length).toBeGreaterThanOrEqual(5);
    for (const sample of all) {
      expect(SAMPLES, `README sample under "${sample.heading}"`).toHaveProperty([sample.heading]);
      expect(sample.expected, `the output of the sample under "${sample.heading}"`).toBeDefined();
    }
    expect(new Set(all.map((s) => s.heading)).size).toBe(all.length);
  });

  /** The README's TypeScript samples compile against the real entry points (`imspec/…`). */
  it("type-check", async () => {
    const files = all.map((sample, i) => {
      const file = path.join(OUT, `typecheck-${i + 1}.ts`);
      writeFileSync(file, `${sample.code}\nexport {};\n`);
      return file;
    });
    writeFileSync(
      path.join(OUT, "tsconfig.json"),
      JSON.stringify({ extends: "../../tsconfig.json", include: files }),
    );
    const tsc = path.join(ROOT, "node_modules/typescript/bin/tsc");
    const compiled = run(process.execPath, [tsc, "-p", OUT, "--noEmit"], { cwd: ROOT }).catch(
      (e: { stdout?: string }) => {
        throw new Error(`README samples do not compile:\n${e.stdout}`);
      },
    );
    await expect(compiled).resolves.toBeDefined();
  }, 120_000);

  /** Runs the sample under `heading` as the README shows it (bar the SAMPLES substitutions). */
  async function runSample(heading: string, code: string, file: string, scripted: boolean) {
    const setup = SAMPLES[heading];
    if (!setup) throw new Error(`README sample under "${heading}" has no setup`);
    let source = code;
    if (!setup.asIs) {
      mock.reset();
      const context: Context = {
        mock,
        redis: async () => {
          redis ??= await startRedis();
          return redis;
        },
      };
      for (const [from, to] of (await setup.replace?.(context)) ?? []) {
        expect(source, `the sample under "${heading}" no longer holds ${from}`).toContain(from);
        source = source.split(from).join(to);
      }
      if (scripted) setup.script?.(mock);
    }
    writeFileSync(file, `${source}\nexport {};\n`);
    return run(process.execPath, ["--import", "tsx", file], {
      cwd: ROOT,
      env: { ...process.env, ...CREDENTIALS, NODE_NO_WARNINGS: "1" },
      timeout: 60_000,
    }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `the sample under "${heading}" failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`,
      );
    });
  }

  it.each(all.map((sample, i) => ({ ...sample, i })))(
    "$heading: runs and prints what the README shows",
    async ({ heading, code, expected, i }) => {
      if (expected === undefined) throw new Error(`README sample under "${heading}" has no output`);
      const file = path.join(OUT, `sample-${i + 1}.ts`);
      const { stdout, stderr } = await runSample(heading, code, file, true);
      if (!printsAsShown(stdout, expected))
        expect(stdout.trimEnd(), `the sample under "${heading}" prints (stderr: ${stderr})`).toBe(
          expected.trimEnd(),
        );
      expect(stderr).toBe("");
    },
    90_000,
  );

  // What a reader gets who runs a sample against `npm run mock`, which answers every call with its
  // documented success example: the error branches print nothing, and every listing ends.
  it.each(all.map((sample, i) => ({ ...sample, i })).filter((s) => SAMPLES[s.heading]?.script))(
    "$heading: runs to its end against the mock as it starts, nothing scripted",
    async ({ heading, code, i }) => {
      const file = path.join(OUT, `unscripted-${i + 1}.ts`);
      const { stderr } = await runSample(heading, code, file, false);
      expect(stderr).toBe("");
    },
    90_000,
  );
});

type Limit = { calls: number; seconds: number; scope: string; code?: string };

/** The rate-limit table the specs declare: per API of redocly.yaml, the document's budgets, then each operation's. */
async function rateLimitTable(): Promise<string> {
  const apis: Array<{ profile: { api: string; rateLimits: readonly Limit[] }; operations: object }> = [];
  for (const api of [...registryApis()].sort())
    apis.push(await import(/* @vite-ignore */ path.join(ROOT, "generated", api, "operations.ts")));
  const rows: string[][] = [];
  for (const { profile, operations } of apis) {
    const limits = new Map<string, { limit: Limit; ops: string[] }>();
    for (const limit of profile.rateLimits) limits.set(JSON.stringify(limit), { limit, ops: [] });
    const documentWide = limits.size;
    const table = Object.entries(operations as Record<string, { rateLimits?: readonly Limit[] }>);
    for (const [operationId, row] of table.sort(([a], [b]) => a.localeCompare(b))) {
      for (const limit of row.rateLimits ?? []) {
        const key = `op:${JSON.stringify(limit)}`;
        const entry = limits.get(key) ?? { limit, ops: [] };
        entry.ops.push(operationId);
        limits.set(key, entry);
      }
    }
    if (limits.size === 0) rows.push([profile.api, "none declared", "", "", ""]);
    [...limits.values()].forEach(({ limit, ops }, i) => {
      rows.push([
        profile.api,
        i < documentWide ? "every operation" : ops.map((o) => `\`${o}\``).join(", "),
        `${limit.calls.toLocaleString("en-US")} calls / ${limit.seconds.toLocaleString("en-US")} s`,
        `\`${limit.scope}\``,
        limit.code === undefined ? "" : `\`${limit.code}\``,
      ]);
    });
  }
  return padded([["API", "operations", "budget", "scope", "the server's answer when exceeded"], ...rows]);
}

/** A Markdown table with its columns padded, the first row its header; an "r" column right-aligned. */
function padded(rows: string[][], align: ReadonlyArray<"l" | "r"> = []): string {
  const widths = (rows[0] as string[]).map((_, c) => Math.max(...rows.map((r) => (r[c] as string).length)));
  const right = (c: number) => align[c] === "r";
  const line = (cells: string[]) =>
    `| ${cells.map((cell, c) => (right(c) ? cell.padStart : cell.padEnd).call(cell, widths[c] as number)).join(" | ")} |`;
  const rule = widths.map((w, c) => (right(c) ? `${"-".repeat(w - 1)}:` : "-".repeat(w)));
  return [line(rows[0] as string[]), `| ${rule.join(" | ")} |`, ...rows.slice(1).map(line)].join("\n");
}

/**
 * README.md's text between `start` and `end` is `want`; `IMSPEC_README_WRITE=1 npx vitest run
 * test/readme.test.ts` writes it instead (after a spec change, or `npm run bench`).
 */
function expectSection(start: string, end: string, want: string, what: string): void {
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  expect(from, `README.md holds ${start} … ${end}`).toBeGreaterThan(-1);
  const shown = readme.slice(from + start.length, to).trim();
  if (shown !== want && process.env.IMSPEC_README_WRITE === "1")
    writeFileSync(README, `${readme.slice(0, from + start.length)}\n${want}\n${readme.slice(to)}`);
  else expect(shown, `${what} (rerun with IMSPEC_README_WRITE=1)`).toBe(want);
}

const START = "<!-- rate-limits:start -->";
const END = "<!-- rate-limits:end -->";

it("the README's rate-limit table is the specs' x-imspec-rate-limits", async () => {
  expectSection(START, END, await rateLimitTable(), "the table under README.md's Rate limits");
});

/** `a`, `a and b`, `a, b and c`. */
const and = (items: readonly (string | number)[]) =>
  items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;

it("the README's figures are those of package.json, the client's defaults and the tests", () => {
  const { engines } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    engines: { node: string };
  };
  const oldest = /^>=(\d+\.\d+)\.0$/.exec(engines.node)?.[1];
  expect(oldest, `package.json engines.node (${engines.node}) is >=<major>.<minor>.0`).toBeDefined();
  const calls = LOAD.calls.toLocaleString("en-US");
  for (const sentence of [
    `Node ${oldest} or newer (the package supports Node ${and([`${oldest}+`, ...OTHER_NODE_MAJORS])})`,
    `runs its consumers on Node ${and(OTHER_NODE_MAJORS)} too`,
    OTHER_NODE_MAJORS.map((major) => `\`IMSPEC_NODE_${major}\``).join(" / "),
    `After ${calls} calls at ${LOAD.inFlight} in flight`,
    `\`load.test.ts\` is the ${calls}-call run`,
    `${SHARED_TOKEN.processes} processes × ${SHARED_TOKEN.calls} calls`,
    `default ${RETRY_DEFAULTS.maxAttempts} attempts in all, full-jitter backoff from ${RETRY_DEFAULTS.baseDelayMs} ms, capped at ${RETRY_DEFAULTS.maxDelayMs / 1000} s`,
    `per-attempt timeout (default ${DEFAULT_TIMEOUT_MS / 1000} s)`,
    `\`maxEmptyPages\` (default ${DEFAULT_EMPTY_PAGES}, at most ${MAX_EMPTY_PAGES.toLocaleString("en-US")})`,
    `\`maxAttempts\` attempts (default ${RETRY_DEFAULTS.maxAttempts}) of at most \`timeout\` each (default ${DEFAULT_TIMEOUT_MS / 1000} s), backoff waits of at most ${RETRY_DEFAULTS.maxDelayMs / 1000} s or an honoured \`Retry-After\` (up to ${RETRY_DEFAULTS.maxRetryAfterMs / 1000} s)`,
  ])
    expect(readme.replace(/\s+/g, " "), "README.md").toContain(sentence);
});

const BENCH_START = "<!-- bench:start -->";
const BENCH_END = "<!-- bench:end -->";

/** The recorded run (bench/results.json): what BENCHMARKS.md and the README's table quote. */
const bench = JSON.parse(readFileSync(path.join(ROOT, "bench/results.json"), "utf8")) as {
  summary: Array<{ what: string; result: string }>;
  targets: Array<{ target: string; measured: string; pass: boolean }>;
};

/** A Markdown table's body rows, their cells trimmed. */
function tableRows(text: string): string[][] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("|") && !/^\|[\s:|-]+\|$/.test(line))
    .slice(1)
    .map((line) =>
      line
        .slice(1, -1)
        .split(" | ")
        .map((cell) => cell.trim()),
    );
}

it("the README's benchmark table is the recorded run's summary (bench/results.json)", () => {
  const rows = bench.summary.map((r) => [r.what, r.result]);
  const want = padded([["measured side by side in one run", "result"], ...rows], ["l", "r"]);
  expectSection(BENCH_START, BENCH_END, want, "the table under README.md's Benchmarks");
});

it("BENCHMARKS.md's targets are the recorded run's (bench/results.json)", () => {
  const text = readFileSync(path.join(ROOT, "BENCHMARKS.md"), "utf8");
  const section = text.slice(text.indexOf("### Targets"));
  const shown = tableRows(section.slice(0, section.indexOf("\n## ")));
  expect(shown).toEqual(bench.targets.map((t) => [t.target, t.measured, t.pass ? "pass" : "**miss**"]));
});
