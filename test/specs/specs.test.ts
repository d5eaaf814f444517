import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { APIS, bundled, deref, type Json, operationsOf, ROOT, validatorFor } from "../support/specs.js";

const seed = (name: string) => readFileSync(path.join(ROOT, "test/fixtures/seeds", name), "utf8");

interface Example {
  where: string;
  schema: unknown;
  value: unknown;
}

/** Every example in a bundled spec, with the schema it must satisfy. */
function examplesOf(doc: Json): Example[] {
  const out: Example[] = [];
  const media = (where: string, m: Json | undefined) => {
    if (!m?.schema) return;
    if (m.example !== undefined) out.push({ where, schema: m.schema, value: m.example });
    for (const [name, ex] of Object.entries((m.examples as Json | undefined) ?? {})) {
      out.push({ where: `${where} example ${name}`, schema: m.schema, value: deref(doc, ex).value });
    }
  };
  for (const api of [doc]) {
    for (const [p, item] of Object.entries(api.paths as Record<string, Json>)) {
      for (const [method, raw] of Object.entries(item)) {
        if (method === "parameters") continue;
        const op = raw as Json;
        const at = `${method.toUpperCase()} ${p}`;
        for (const param of ((op.parameters as unknown[]) ?? []).map((x) => deref(doc, x))) {
          if (param.example !== undefined)
            out.push({ where: `${at} param ${param.name}`, schema: param.schema, value: param.example });
          for (const [name, ex] of Object.entries((param.examples as Json | undefined) ?? {})) {
            out.push({
              where: `${at} param ${param.name} example ${name}`,
              schema: param.schema,
              value: deref(doc, ex).value,
            });
          }
        }
        const body = op.requestBody ? deref(doc, op.requestBody) : undefined;
        for (const [type, m] of Object.entries((body?.content as Json | undefined) ?? {}))
          media(`${at} request ${type}`, m as Json);
        for (const [status, r] of Object.entries(op.responses as Json)) {
          for (const [type, m] of Object.entries((deref(doc, r).content as Json | undefined) ?? {}))
            media(`${at} ${status} ${type}`, m as Json);
        }
      }
    }
  }
  return out;
}

describe.each(APIS)("%s spec", (api) => {
  const doc = bundled(api);
  const validate = validatorFor(doc);
  const examples = examplesOf(doc);

  it("has examples, and every example validates against its schema (JSON Schema 2020-12)", () => {
    // Every operation documents itself with at least one example (a parameter, a body or an answer).
    const bare = operationsOf(api, doc)
      .map((op) => `${op.method} ${op.path}`)
      .filter((at) => !examples.some((e) => e.where.startsWith(`${at} `)));
    expect(bare).toEqual([]);
    const failures = examples.flatMap((e) =>
      validate(e.schema, e.value).map((error) => `${e.where}: ${error}`),
    );
    expect(failures).toEqual([]);
  });

  it("rejects values that break the schemas (the validator is not vacuous)", () => {
    const mangled = examples.filter((e) => e.value && typeof e.value === "object" && !Array.isArray(e.value));
    const rejected = mangled.filter((e) => validate(e.schema, "not an object").length > 0);
    expect(rejected.length).toBe(mangled.length);
  });

  it("gives every operation a success example (when the answer has a body) and an error example", () => {
    for (const op of operationsOf(api, doc)) {
      const names = examples
        .filter((e) => e.where.startsWith(`${op.method} ${op.path} `))
        .map((e) => e.where);
      const success = Object.entries(op.operation.responses as Json).find(([status]) =>
        status.startsWith("2"),
      );
      const hasBody = !!success && deref(doc, success[1]).content !== undefined;
      expect(
        names.some((n) => / 2\d\d /.test(n)),
        `${op.operationId} success example`,
      ).toBe(hasBody);
      expect(
        names.some((n) => / [45]\d\d /.test(n) || / 200 .* example error/.test(n)),
        `${op.operationId} error example`,
      ).toBe(true);
    }
  });
});

describe("seed pages", () => {
  it("every DingTalk seed endpoint (title and method) is an operation of the spec", () => {
    const text = seed("dingtalk-contact.txt");
    // The seed's navigation lists each endpoint as a title line followed by its method line.
    const endpoints = [...text.matchAll(/^\s*•\s*(\S[^\n]*?)\n\s*(GET|POST|DELETE|PUT|PATCH)\s*$/gm)].map(
      (m) => ({
        title: (m[1] as string).trim(),
        method: m[2] as string,
      }),
    );
    expect(endpoints).toHaveLength(13);
    const ops = operationsOf("dingtalk");
    for (const { title, method } of endpoints) {
      const match = ops.find((op) => op.method === method && String(op.operation.summary).startsWith(title));
      expect(match, `${method} ${title}`).toBeDefined();
    }
    // The one endpoint the seed shows in full.
    expect(text).toContain("http://127.0.0.1/v1.0/contact/seniorSettings");
    expect(
      ops.find((op) => op.method === "GET" && op.path === "/v1.0/contact/seniorSettings")?.operationId,
    ).toBe("listSeniorSettings");
  });

  const workplusSeed = seed("workplus-apps.txt");
  const seedEndpoints = [...workplusSeed.matchAll(/^(GET|POST) (\/v1\/[^?\s]+)/gm)].map((m) => ({
    method: m[1] as string,
    path: m[2] as string,
  }));
  // Each "返回数据" block is the example body of the endpoint above it, in order.
  const seedBodies = workplusSeed
    .split("点击查看返回数据\njson\n")
    .slice(1)
    .map((part) => JSON.parse(part.split("\n错误返回值")[0] as string));

  it("every WorkPlus seed endpoint is in the spec", () => {
    expect(seedEndpoints).toHaveLength(3);
    const ops = operationsOf("workplus");
    for (const e of seedEndpoints)
      expect(
        ops.some((op) => op.method === e.method && op.path === e.path),
        `${e.method} ${e.path}`,
      ).toBe(true);
  });

  it("the WorkPlus seed's response bodies are the spec's success examples, verbatim, and valid", () => {
    const doc = bundled("workplus");
    const validate = validatorFor(doc);
    expect(seedBodies).toHaveLength(3);
    seedEndpoints.forEach((e, i) => {
      const op = operationsOf("workplus", doc).find((o) => o.path === e.path) as { operation: Json };
      const media = (deref(doc, (op.operation.responses as Json)["200"]).content as Json)[
        "application/json"
      ] as Json;
      const example = deref(doc, (media.examples as Json).ok).value;
      expect(JSON.stringify(example)).toBe(JSON.stringify(seedBodies[i]));
      expect(validate(media.schema, example)).toEqual([]);
    });
  });
});

describe("generated/", () => {
  it("type-checks on its own under the strict compiler options", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "imspec-tsc-"));
    try {
      const config = {
        extends: path.join(ROOT, "tsconfig.json"),
        compilerOptions: { noEmit: true, types: [] },
        include: [path.join(ROOT, "generated/**/*.ts")],
      };
      writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(config));
      const tsc = path.join(ROOT, "node_modules/typescript/bin/tsc");
      const { stdout } = await promisify(execFile)(process.execPath, [tsc, "-p", dir, "--listFilesOnly"]);
      expect(stdout).toContain("generated/dingtalk/operations.ts");
      await expect(promisify(execFile)(process.execPath, [tsc, "-p", dir])).resolves.toBeDefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
