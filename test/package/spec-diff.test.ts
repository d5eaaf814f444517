import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Change, compareApis, compareDocuments } from "../../scripts/spec-diff/compare.js";
import { copyRepo, ROOT } from "../support/repo-copy.js";
import { APIS } from "../support/specs.js";
import { run } from "./consumer-project.js";

type Json = Record<string, unknown>;

interface Op {
  method?: string;
  path?: string;
  params?: Json[];
  body?: Json;
  result?: Json;
}

/** A minimal bundled document: operationId → operation. */
function doc(ops: Record<string, Op>, schemas: Json = {}): Json {
  const paths: Record<string, Json> = {};
  for (const [operationId, op] of Object.entries(ops)) {
    const route = op.path ?? `/v1/${operationId}`;
    paths[route] ??= {};
    (paths[route] as Json)[op.method ?? "get"] = {
      operationId,
      ...(op.params ? { parameters: op.params } : {}),
      ...(op.body
        ? { requestBody: { required: true, content: { "application/json": { schema: op.body } } } }
        : {}),
      responses: {
        "200": op.result
          ? { description: "ok", content: { "application/json": { schema: op.result } } }
          : { description: "ok" },
      },
    };
  }
  return { openapi: "3.1.0", paths, components: { schemas } };
}

const query = (name: string, schema: Json = { type: "string" }, required = false): Json => ({
  name,
  in: "query",
  required,
  schema,
});
const object = (properties: Json, required: string[] = []): Json => ({
  type: "object",
  properties,
  required,
});
const str = { type: "string" };

function summary(changes: Change[]): string[] {
  return changes.map((c) => `${c.severity} ${c.operation} ${c.at}: ${c.message}`);
}

describe("compareDocuments", () => {
  it.each<[string, Json, Json, string[]]>([
    ["no change", doc({ a: { params: [query("x")] } }), doc({ a: { params: [query("x")] } }), []],
    ["operation removed", doc({ a: {}, b: {} }), doc({ a: {} }), ["breaking b GET /v1/b: operation removed"]],
    [
      "operation renamed",
      doc({ a: {} }),
      doc({ c: { path: "/v1/a" } }),
      ["breaking a GET /v1/a: operation removed", "added c GET /v1/a: operation added"],
    ],
    ["operation added", doc({ a: {} }), doc({ a: {}, b: {} }), ["added b GET /v1/b: operation added"]],
    [
      "operation moved to another path: callers do not see it",
      doc({ a: {} }),
      doc({ a: { path: "/v2/a" } }),
      [],
    ],
    [
      "optional parameter removed",
      doc({ a: { params: [query("x"), query("y")] } }),
      doc({ a: { params: [query("x")] } }),
      ["breaking a params.y: parameter or field removed"],
    ],
    [
      "parameter newly required",
      doc({ a: { params: [query("x")] } }),
      doc({ a: { params: [query("x", str, true)] } }),
      ["breaking a params.x: newly required"],
    ],
    [
      "new required parameter",
      doc({ a: {} }),
      doc({ a: { params: [query("x", str, true)] } }),
      ["breaking a params.x: new required parameter"],
    ],
    ["new optional parameter", doc({ a: {} }), doc({ a: { params: [query("x")] } }), []],
    [
      "required parameter made optional",
      doc({ a: { params: [query("x", str, true)] } }),
      doc({ a: { params: [query("x")] } }),
      [],
    ],
    [
      "body field newly required",
      doc({ a: { method: "post", body: object({ open: { type: "boolean" } }) } }),
      doc({ a: { method: "post", body: object({ open: { type: "boolean" } }, ["open"]) } }),
      ["breaking a params.open: newly required"],
    ],
    [
      "body field removed",
      doc({ a: { method: "post", body: object({ open: { type: "boolean" }, name: str }) } }),
      doc({ a: { method: "post", body: object({ open: { type: "boolean" } }) } }),
      ["breaking a params.name: parameter or field removed"],
    ],
    [
      "input enum loses a value",
      doc({ a: { params: [query("scene", { type: "string", enum: ["CHAT", "CALL"] })] } }),
      doc({ a: { params: [query("scene", { type: "string", enum: ["CHAT"] })] } }),
      ['breaking a params.scene: no longer accepts "CALL"'],
    ],
    [
      "input enum gains a value",
      doc({ a: { params: [query("scene", { type: "string", enum: ["CHAT"] })] } }),
      doc({ a: { params: [query("scene", { type: "string", enum: ["CHAT", "CALL"] })] } }),
      [],
    ],
    [
      "input restricted to an enum",
      doc({ a: { params: [query("scene")] } }),
      doc({ a: { params: [query("scene", { type: "string", const: "CHAT" })] } }),
      ['breaking a params.scene: now restricted to "CHAT"'],
    ],
    [
      "input type narrowed",
      doc({ a: { params: [query("id", { type: ["string", "integer"] })] } }),
      doc({ a: { params: [query("id", { type: "string" })] } }),
      ["breaking a params.id: type narrowed from string, integer to string"],
    ],
    [
      "input type replaced",
      doc({ a: { params: [query("id", { type: "integer" })] } }),
      doc({ a: { params: [query("id", { type: "string" })] } }),
      ["breaking a params.id: type changed from integer to string"],
    ],
    [
      "input number narrowed to integer",
      doc({ a: { params: [query("n", { type: "number" })] } }),
      doc({ a: { params: [query("n", { type: "integer" })] } }),
      ["breaking a params.n: type narrowed from number to integer"],
    ],
    [
      "input integer widened to number",
      doc({ a: { params: [query("n", { type: "integer" })] } }),
      doc({ a: { params: [query("n", { type: "number" })] } }),
      [],
    ],
    [
      "result field removed",
      doc({ a: { result: object({ id: str, name: str }) } }),
      doc({ a: { result: object({ id: str }) } }),
      ["breaking a result.name: field removed"],
    ],
    [
      "result field no longer always present",
      doc({ a: { result: object({ id: str }, ["id"]) } }),
      doc({ a: { result: object({ id: str }) } }),
      ["breaking a result.id: no longer always present"],
    ],
    [
      "result field now always present",
      doc({ a: { result: object({ id: str }) } }),
      doc({ a: { result: object({ id: str }, ["id"]) } }),
      [],
    ],
    [
      "result type widened",
      doc({ a: { result: object({ id: str }) } }),
      doc({ a: { result: object({ id: { type: ["string", "null"] } }) } }),
      ["breaking a result.id: type widened from string to string, null"],
    ],
    [
      "result type replaced",
      doc({ a: { result: object({ idxTotal: { type: "number" } }) } }),
      doc({ a: { result: object({ idxTotal: str }) } }),
      ["breaking a result.idxTotal: type changed from number to string"],
    ],
    [
      "result enum gains a value",
      doc({ a: { result: object({ scene: { enum: ["CHAT"] } }) } }),
      doc({ a: { result: object({ scene: { enum: ["CHAT", "CALL"] } }) } }),
      ['caution a result.scene: may now be "CALL"'],
    ],
    [
      "response body removed",
      doc({ a: { result: object({ id: str }) } }),
      doc({ a: {} }),
      ["breaking a result: response body removed"],
    ],
    [
      "a field of array items removed",
      doc({ a: { result: object({ list: { type: "array", items: object({ id: str, name: str }) } }) } }),
      doc({ a: { result: object({ list: { type: "array", items: object({ id: str }) } }) } }),
      ["breaking a result.list[].name: field removed"],
    ],
    [
      "a component renamed with the same shape",
      doc({ a: { result: { $ref: "#/components/schemas/Old" } } }, { Old: object({ id: str }, ["id"]) }),
      doc({ a: { result: { $ref: "#/components/schemas/New" } } }, { New: object({ id: str }, ["id"]) }),
      [],
    ],
    [
      "a field removed inside a $ref'd component",
      doc({ a: { result: { $ref: "#/components/schemas/S" } } }, { S: object({ id: str, name: str }) }),
      doc({ a: { result: { $ref: "#/components/schemas/S" } } }, { S: object({ id: str }) }),
      ["breaking a result.name: field removed"],
    ],
    [
      "an envelope (oneOf): result is there only on success",
      doc({
        a: {
          result: {
            oneOf: [
              object({ status: { const: 0 }, result: object({ id: str }) }, ["status", "result"]),
              object({ status: { type: "integer" }, message: str }, ["status"]),
            ],
          },
        },
      }),
      doc({
        a: {
          result: {
            oneOf: [
              object({ status: { const: 0 }, result: object({}) }, ["status", "result"]),
              object({ status: { type: "integer" }, message: str }, ["status"]),
            ],
          },
        },
      }),
      ["breaking a result.result.id: field removed"],
    ],
    [
      "allOf: a required field of a part removed",
      doc({ a: { result: { allOf: [object({ id: str }, ["id"]), object({ name: str })] } } }),
      doc({ a: { result: { allOf: [object({ name: str })] } } }),
      ["breaking a result.id: field removed"],
    ],
  ])("%s", (_, before, after, want) => {
    expect(summary(compareDocuments(before, after))).toEqual(want);
  });

  it.each<[string, (op: Json) => void, string[]]>([
    [
      "its tag changed: the method moves to another group",
      (op) => {
        op.tags = ["other"];
      },
      ["breaking a tags: method moved from the apps group to the other group"],
    ],
    [
      "its result may now be undefined",
      (op) => {
        (op.responses as { "200": Json })["200"]["x-imspec-optional-body"] = true;
      },
      ["breaking a result: may now be undefined"],
    ],
    [
      "its pagination removed",
      (op) => void delete op["x-imspec-pagination"],
      ["breaking a pagination: .pages() and .iterate() removed"],
    ],
    [
      "its pagination changed",
      (op) => {
        (op["x-imspec-pagination"] as Json).itemsField = "rows";
      },
      [
        'breaking a pagination: paged differently: {"cursorField":"next","cursorParam":"cursor","itemsField":"list"} → {"cursorField":"next","cursorParam":"cursor","itemsField":"rows"}',
      ],
    ],
  ])("a method: %s", (_, edit, want) => {
    const make = () => {
      const d = doc({
        a: { params: [query("cursor")], result: object({ list: { type: "array", items: str }, next: str }) },
      });
      const op = ((d.paths as Json)["/v1/a"] as Json).get as Json;
      op.tags = ["apps"];
      op["x-imspec-pagination"] = { cursorParam: "cursor", cursorField: "next", itemsField: "list" };
      return { d, op };
    };
    const before = make();
    const after = make();
    edit(after.op);
    expect(summary(compareDocuments(before.d, after.d))).toEqual(want);
    // The other way round: a group renamed back, a body no longer optional, pagination added.
    const back = summary(compareDocuments(after.d, before.d));
    expect(back.every((line) => !line.includes("may now be undefined") && !line.includes("removed"))).toBe(
      true,
    );
  });

  describe("an envelope API: what its methods return", () => {
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    const Envelope = object({ status: { type: "integer" }, message: str, result: {} }, ["status", "message"]);
    const ErrorEnvelope = object({ status: { type: "integer", not: { const: 0 } }, message: str }, [
      "status",
      "message",
    ]);
    /** WorkPlus's shape: a success branch `allOf` the bare envelope and its typed `result`, or an error. */
    const workplus = (list: Json) =>
      ({
        ...doc(
          {
            a: {
              result: {
                oneOf: [
                  { allOf: [ref("Envelope"), object({ status: { const: 0 }, result: ref("List") })] },
                  ref("ErrorEnvelope"),
                ],
              },
            },
          },
          { Envelope, ErrorEnvelope, List: list },
        ),
        "x-imspec-envelope": {
          statusField: "status",
          messageField: "message",
          resultField: "result",
          successStatus: 0,
        },
      }) as Json;
    /** WeCom's shape: the data itself carries the optional status, or an error body. */
    const wecom = (page: Json) =>
      ({
        ...doc({
          a: {
            result: {
              oneOf: [
                { allOf: [object({ errcode: { const: 0 }, errmsg: str }), page] },
                object({ errcode: { type: "integer", not: { const: 0 } }, errmsg: str }, [
                  "errcode",
                  "errmsg",
                ]),
              ],
            },
          },
        }),
        "x-imspec-envelope": {
          statusField: "errcode",
          messageField: "errmsg",
          successStatus: 0,
          statusOptional: true,
        },
      }) as Json;

    it("a field removed inside the success branch's result", () => {
      const before = workplus(object({ records: { type: "array", items: str }, total: { type: "integer" } }));
      const after = workplus(object({ records: { type: "array", items: str } }));
      expect(summary(compareDocuments(before, after))).toEqual(["breaking a result.total: field removed"]);
    });

    it("a field the success branch no longer requires, where the error branch never had it", () => {
      const before = wecom(object({ ids: { type: "array", items: str } }, ["ids"]));
      const after = wecom(object({ ids: { type: "array", items: str } }));
      expect(summary(compareDocuments(before, after))).toEqual([
        "breaking a result.ids: no longer always present",
      ]);
    });

    it("a variant whose status may be the success status or another is not the success branch", () => {
      // The generated `SuccessBranch` leaves out a variant typed `0 | 5`: the data is the `const 0` one.
      const body = (data: Json) => ({
        oneOf: [
          object({ status: { const: 0 }, result: data }),
          object({ status: { enum: [0, 5] }, result: object({ x: str }) }),
        ],
      });
      const envelope = {
        statusField: "status",
        messageField: "message",
        resultField: "result",
        successStatus: 0,
      };
      const before = {
        ...doc({ a: { result: body(object({ x: str, y: str })) } }),
        "x-imspec-envelope": envelope,
      };
      const after = { ...doc({ a: { result: body(object({ y: str })) } }), "x-imspec-envelope": envelope };
      expect(summary(compareDocuments(before, after))).toEqual(["breaking a result.x: field removed"]);
    });

    it("the error branch changing is nothing callers' data shows", () => {
      const before = workplus(object({ records: str }));
      const after = { ...workplus(object({ records: str })) } as Json;
      (after.components as { schemas: Json }).schemas = {
        ...((after.components as { schemas: Json }).schemas as Json),
        ErrorEnvelope: object({ status: { type: "integer" }, message: str, hint: str }, ["status"]),
      };
      expect(summary(compareDocuments(before, after))).toEqual([]);
    });
  });

  it("a property two allOf parts declare is compared as both", () => {
    const part = (list: Json) => ({ allOf: [object({ data: {} }), object({ data: list })] });
    const before = doc({ a: { result: part(object({ id: str, name: str })) } });
    const after = doc({ a: { result: part(object({ id: str })) } });
    expect(summary(compareDocuments(before, after))).toEqual(["breaking a result.data.name: field removed"]);
  });

  it.each<[string, Record<string, Json>, (schemas: Record<string, Json>) => void, string[]]>([
    [
      "by both variants of a oneOf",
      {
        Node: { oneOf: [{ $ref: "#/components/schemas/Folder" }, { $ref: "#/components/schemas/File" }] },
        Folder: object({
          kind: { const: "folder" },
          size: { type: "integer" },
          parent: { $ref: "#/components/schemas/Node" },
        }),
        File: object({
          kind: { const: "file" },
          size: { type: "integer" },
          parent: { $ref: "#/components/schemas/Node" },
        }),
      },
      (schemas) => {
        for (const name of ["Folder", "File"]) delete (schemas[name] as { properties: Json }).properties.size;
      },
      // Once at the top, once through the merged `parent`, whose next level is the same pair again.
      ["breaking a result.size: field removed", "breaking a result.parent.size: field removed"],
    ],
    [
      "by both parts of an allOf",
      {
        Node: {
          allOf: [
            { $ref: "#/components/schemas/Base" },
            object({ parent: { $ref: "#/components/schemas/Node" } }),
          ],
        },
        Base: object({ id: str, parent: { $ref: "#/components/schemas/Node" } }),
      },
      (schemas) => {
        delete (schemas.Base as { properties: Json }).properties.id;
      },
      ["breaking a result.id: field removed", "breaking a result.parent.id: field removed"],
    ],
  ])("compares a self-reference declared %s, and finds a change inside it", (_, schemas, edit, want) => {
    // The merged property was a new object at every level: the cycle went unseen, and the work grew
    // fourfold every two levels (out of memory before the depth limit).
    const before = doc({ a: { result: { $ref: "#/components/schemas/Node" } } }, schemas);
    expect(compareDocuments(before, structuredClone(before))).toEqual([]);
    const after = structuredClone(before);
    edit((after.components as { schemas: Record<string, Json> }).schemas);
    expect(summary(compareDocuments(before, after))).toEqual(want);
  });

  it("a result that had no body and may now be absent is no change callers would notice", () => {
    const before = doc({ a: {} });
    const after = doc({ a: { result: object({ id: str }) } });
    ((((after.paths as Json)["/v1/a"] as Json).get as Json).responses as { "200": Json })["200"][
      "x-imspec-optional-body"
    ] = true;
    expect(summary(compareDocuments(before, after))).toEqual([]);
  });

  it("a response enum made open is a caution", () => {
    const before = doc({ a: { result: object({ kind: { type: "integer", enum: [0, 1] } }) } });
    const after = doc({
      a: { result: object({ kind: { type: "integer", enum: [0, 1], "x-imspec-open-enum": true } }) },
    });
    expect(summary(compareDocuments(before, after))).toEqual([
      "caution a result.kind: may now be values beyond the listed ones (an open enum)",
    ]);
  });

  it("compares a schema that refers to itself twice, and finds a change inside it once per path", () => {
    const user = (extra: Json) =>
      object({
        id: str,
        manager: { $ref: "#/components/schemas/User" },
        deputy: { $ref: "#/components/schemas/User" },
        ...extra,
      });
    const before = doc(
      { a: { result: { $ref: "#/components/schemas/User" } } },
      { User: user({ name: str }) },
    );
    const after = doc({ a: { result: { $ref: "#/components/schemas/User" } } }, { User: user({}) });
    expect(summary(compareDocuments(before, after))).toEqual(["breaking a result.name: field removed"]);
  });

  it("survives a recursive schema", () => {
    const tree = {
      Node: object({ id: str, children: { type: "array", items: { $ref: "#/components/schemas/Node" } } }),
    };
    const before = doc({ a: { result: { $ref: "#/components/schemas/Node" } } }, tree);
    expect(compareDocuments(before, before)).toEqual([]);
  });

  it("finds nothing between the bundled specs and themselves", () => {
    for (const api of APIS) {
      const spec = JSON.parse(
        readFileSync(path.join(ROOT, "generated", api, "openapi.json"), "utf8"),
      ) as Json;
      expect(compareDocuments(spec, spec)).toEqual([]);
    }
  });
});

describe("compareApis", () => {
  it("reports an API removed from the registry as breaking and a new one as added", () => {
    const before = new Map([["old", doc({})]]);
    const after = new Map([["new", doc({})]]);
    expect(Object.fromEntries(compareApis(before, after))).toEqual({
      old: [{ severity: "breaking", operation: "*", at: "redocly.yaml", message: "API removed" }],
      new: [{ severity: "added", operation: "*", at: "redocly.yaml", message: "API added" }],
    });
  });
});

describe("npm run spec:diff", () => {
  let repo: ReturnType<typeof copyRepo>;
  const tsx = path.join(ROOT, "node_modules/.bin/tsx");
  const git = (...args: string[]) =>
    run("git", ["-c", "user.name=spec-diff", "-c", "user.email=spec-diff@example.invalid", ...args], {
      cwd: repo.dir,
    });

  beforeAll(async () => {
    repo = copyRepo();
    for (const args of [
      ["init", "-q", "-b", "main"],
      ["add", "specs", "redocly.yaml"],
      ["commit", "-q", "-m", "base"],
      ["tag", "v1.0.0"],
    ]) {
      const result = await git(...args);
      if (result.code !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
    }
  });
  afterAll(() => repo?.remove());

  it("compares with the last tag and exits 1 on a breaking change, 0 with --allow-breaking", async () => {
    const spec = path.join(repo.dir, "specs/dingtalk/openapi.yaml");
    const text = readFileSync(spec, "utf8");
    // Make an optional query parameter required, the way a careless spec edit would.
    const edited = text.replace(
      "      parameters:\n        - $ref: ./components.yaml#/components/parameters/SeniorStaffId\n        - $ref: ./components.yaml#/components/parameters/PermissionCode\n",
      "      parameters:\n        - $ref: ./components.yaml#/components/parameters/SeniorStaffId\n        - name: permissionCode\n          in: query\n          required: true\n          schema:\n            type: string\n",
    );
    expect(edited).not.toBe(text);
    writeFileSync(spec, edited);

    const failed = await run(tsx, ["scripts/spec-diff.ts"], { cwd: repo.dir });
    expect(failed.stdout).toContain("v1.0.0 (the last tag)");
    expect(failed.stdout).toContain("breaking  listSeniorSettings  params.permissionCode: newly required");
    expect(failed.code).toBe(1);

    const allowed = await run(tsx, ["scripts/spec-diff.ts", "--allow-breaking"], { cwd: repo.dir });
    expect(allowed.code).toBe(0);

    const clean = await run(tsx, ["scripts/spec-diff.ts", "--base", "HEAD", "--json"], { cwd: repo.dir });
    const report = JSON.parse(clean.stdout) as { base: string; apis: Record<string, Change[]> };
    expect(report.base).toBe("HEAD");
    expect(report.apis.workplus).toEqual([]);
    writeFileSync(spec, text);
  });

  it("a base that names no commit, or a shallow clone, is an error, not a base without APIs", async () => {
    const missing = await run(tsx, ["scripts/spec-diff.ts", "--base", "v9.9.9-typo"], { cwd: repo.dir });
    expect(missing.stderr).toContain('no commit is named "v9.9.9-typo"');
    expect(missing.stdout).not.toContain("API added");
    expect(missing.code).toBe(2);
    // What `git clone --depth 1` leaves: the commit it has is listed as shallow.
    const head = (await git("rev-parse", "HEAD")).stdout.trim();
    const shallow = path.join(repo.dir, ".git/shallow");
    writeFileSync(shallow, `${head}\n`);
    try {
      const cut = await run(tsx, ["scripts/spec-diff.ts"], { cwd: repo.dir });
      expect(cut.stderr).toContain("shallow clone");
      expect(cut.code).toBe(2);
    } finally {
      rmSync(shallow);
    }
  });

  it("reads a base whose registry writes ./specs/… and whose specs share a file beside their folders", async () => {
    const registry = path.join(repo.dir, "redocly.yaml");
    const spec = path.join(repo.dir, "specs/workplus/openapi.yaml");
    const shared = path.join(repo.dir, "specs/shared/note.yaml");
    const [registryText, specText] = [readFileSync(registry, "utf8"), readFileSync(spec, "utf8")];
    try {
      writeFileSync(registry, registryText.replace("root: specs/workplus/", "root: ./specs/workplus/"));
      mkdirSync(path.dirname(shared), { recursive: true });
      writeFileSync(shared, "Note:\n  type: string\n");
      const withShared = specText.replace(
        /^components:\n/m,
        "components:\n  x-shared:\n    $ref: ../shared/note.yaml\n",
      );
      expect(withShared).not.toBe(specText);
      writeFileSync(spec, withShared);
      for (const args of [
        ["add", "specs", "redocly.yaml"],
        ["commit", "-q", "-m", "shared"],
      ])
        expect((await git(...args)).code).toBe(0);
      // Renamed, listSuperAdmins is gone: a breaking change the base must be read to see.
      writeFileSync(
        spec,
        withShared.replace("operationId: listSuperAdmins", "operationId: listSuperAdminsV2"),
      );
      const result = await run(tsx, ["scripts/spec-diff.ts", "--base", "HEAD"], { cwd: repo.dir });
      expect(result.stderr).toBe("");
      expect(result.stdout).toContain("breaking  listSuperAdmins");
      expect(result.stdout).not.toContain("API added");
      expect(result.code).toBe(1);
    } finally {
      await git("reset", "-q", "--hard", "v1.0.0");
      rmSync(path.dirname(shared), { recursive: true, force: true });
    }
  });
});
