// Lint rules of our own, on top of Redocly's recommended-strict. Registered in redocly.yaml.
// Each rule is a Redocly visitor; see https://redocly.com/docs/cli/custom-plugins/custom-rules
// Plain JavaScript so Redocly can load it without a TypeScript loader.

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const CAMEL_CASE = /^[a-z][a-zA-Z0-9]*$/;

/** operationId is the generated method name, so it must be a camelCase identifier. */
function OperationIdCamelCase() {
  return {
    Operation(operation, ctx) {
      const id = operation.operationId;
      if (typeof id === "string" && !CAMEL_CASE.test(id)) {
        ctx.report({
          message: `operationId "${id}" must be camelCase (it becomes the client method name).`,
          location: ctx.location.child("operationId"),
        });
      }
    },
  };
}

function mediaHasExample(media) {
  if (!media || typeof media !== "object") return false;
  if (media.example !== undefined) return true;
  return !!media.examples && Object.keys(media.examples).length > 0;
}

/** Every 2xx response that has a body shows at least one example of it. */
function SuccessExample() {
  return {
    Operation(operation, ctx) {
      const responses = operation.responses ?? {};
      for (const [code, raw] of Object.entries(responses)) {
        if (!/^2/.test(code)) continue;
        const response = raw?.$ref ? ctx.resolve(raw).node : raw;
        const content = response?.content ?? {};
        for (const [type, media] of Object.entries(content)) {
          if (!mediaHasExample(media)) {
            ctx.report({
              message: `The ${code} response (${type}) has no example.`,
              location: ctx.location.child(["responses", code, "content", type]),
            });
          }
        }
      }
    },
  };
}

/**
 * Every operation documents how it fails, with an example: a 4xx/5xx response with an example,
 * or (for envelope APIs that answer errors with HTTP 200) an example named `error…` in a 2xx response.
 */
function ErrorResponses() {
  return {
    Operation(operation, ctx) {
      const responses = operation.responses ?? {};
      let documented = false;
      for (const [code, raw] of Object.entries(responses)) {
        const response = raw?.$ref ? ctx.resolve(raw).node : raw;
        const content = response?.content ?? {};
        if (/^[45]/.test(code)) {
          if (Object.values(content).some(mediaHasExample)) documented = true;
        } else if (/^2/.test(code)) {
          for (const media of Object.values(content)) {
            if (Object.keys(media?.examples ?? {}).some((name) => /^error/i.test(name))) documented = true;
          }
        }
      }
      if (!documented) {
        ctx.report({
          message:
            "The operation documents no error response with an example (a 4xx/5xx response, or an `error…` example of an envelope API).",
          location: ctx.location.child("responses"),
        });
      }
    },
  };
}

/**
 * Every operation says who may call it: it declares `security` itself (`security: []` for an
 * anonymous endpoint), or the document declares a global `security` it inherits.
 */
function ExplicitSecurity() {
  let globalSecurity = false;
  return {
    Root: {
      enter(root) {
        globalSecurity = Array.isArray(root.security) && root.security.length > 0;
      },
      PathItem: {
        enter(pathItem, ctx) {
          for (const method of HTTP_METHODS) {
            const operation = pathItem[method];
            if (!operation) continue;
            if (!Array.isArray(operation.security) && !globalSecurity) {
              ctx.report({
                message: `${method.toUpperCase()} declares no security: add \`security\` (or \`security: []\` if it is anonymous).`,
                location: ctx.location.child(method),
              });
            }
          }
        },
      },
    },
  };
}

// Shapes of the x-imspec-* extensions (scripts/README.md). A shape is a type name, a list of
// allowed values, `[shape]` for a list, or an object of `key: [shape, required]`; `{ "*": shape }`
// is a map, and `{ "+": shape }` one with at least one key. The generator reads only what these rules let through.
const text = "string";
const strings = ["string-or-list"];
const count = "positive";
// Also written in TypeScript (SCOPES in src/core/client.ts): this file is plain JavaScript that
// Redocly loads, and test/generator/vocabulary.test.ts holds the two the same.
export const SCOPES = ["app", "app-operation", "ip", "ip-operation"];
const RATE_LIMITS = [
  { calls: [count, true], seconds: [count, true], scope: [SCOPES, true], code: ["scalar", false] },
];
const ERROR_ANSWER = { status: ["status", false], code: ["scalar", false], message: [text, false] };
const TOKEN_KINDS = ["app", "user"];
const EXPIRES = { field: [text, true], unit: [["s", "ms"], true], epoch: ["boolean", false] };
// Why the mock refuses a token (REFUSALS in src/mock/tokens.ts, held the same by
// test/generator/vocabulary.test.ts): the code it answers for each.
export const REFUSALS = ["missing", "unknown", "expired", "revoked", "wrong-kind"];
const TOKEN_REASONS = Object.fromEntries(REFUSALS.map((reason) => [reason, ["scalar", false]]));
/**
 * Every extension the generator reads, by the Redocly node types it may stand on, with its shape
 * there. Any other `x-imspec-*` name is a typo.
 */
const EXTENSIONS = {
  "x-imspec-errors": {
    Root: {
      code: [strings, false],
      message: [strings, false],
      requestId: [strings, false],
      requestIdHeader: [strings, false],
      tokenInvalid: [
        { statuses: [["status"], false], codes: [["scalar"], false], reasons: [TOKEN_REASONS, false] },
        false,
      ],
      throttled: [["scalar"], false],
      neverRetry: [["scalar"], false],
      refusals: [
        // A match of no field matches every answer: each success would be this refusal.
        [{ match: [{ "+": "scalar" }, true], code: ["scalar", true], message: [text, true] }],
        false,
      ],
    },
  },
  "x-imspec-envelope": {
    Root: {
      statusField: [text, true],
      messageField: [text, true],
      resultField: [text, false],
      successStatus: ["number", true],
      statusOptional: ["boolean", false],
    },
  },
  "x-imspec-rate-limits": { Root: RATE_LIMITS, Operation: RATE_LIMITS },
  "x-imspec-status-codes": {
    Root: [
      {
        status: ["integer", true],
        name: ["constant", false],
        message: [text, true],
        description: [text, false],
      },
    ],
    // On an operation: the document's codes it may answer (`[40001, 40013]`).
    Operation: ["integer"],
  },
  "x-imspec-pagination": {
    Operation: {
      cursorParam: [text, true],
      cursorField: [text, true],
      hasMoreField: [text, false],
      itemsField: [text, true],
      firstCursor: ["scalar", false],
    },
  },
  "x-imspec-optional-body": { Response: "boolean" },
  "x-imspec-open-enum": { Schema: "boolean" },
  "x-imspec-invalid": { Parameter: "scalar" },
  "x-imspec-token-kind": { SecurityScheme: TOKEN_KINDS },
  "x-imspec-mock": {
    Root: {
      invalid: [ERROR_ANSWER, false],
      missing: [{ code: [text, true], message: [text, true] }, false],
      notFound: [ERROR_ANSWER, false],
      tokens: [
        {
          "*": {
            kind: [TOKEN_KINDS, false],
            token: [text, false],
            expires: [EXPIRES, false],
            lifetime: [count, false],
            reuse: ["boolean", false],
            replace: ["boolean", false],
            set: [{ "*": ["token", "random", "issuedAt", "request"] }, false],
          },
        },
        false,
      ],
      requires: [
        {
          "*": [
            {
              anyOf: [["string"], false],
              note: [text, false],
              when: [{ "*": "value" }, false],
              field: [text, false],
            },
          ],
        },
        false,
      ],
    },
  },
  "x-imspec-token": {
    SecurityScheme: [
      {
        operation: [text, true],
        options: [{ "*": "option" }, true],
        fixed: [{ "*": "scalar" }, false],
        secrets: [["string"], false],
        identifying: [["string"], false],
        token: [text, true],
        expires: [EXPIRES, false],
        defaultLifetime: [count, true],
      },
    ],
  },
};

const KINDS = {
  string: (v) => typeof v === "string" && v.length > 0,
  number: (v) => typeof v === "number" && Number.isFinite(v),
  positive: (v) => typeof v === "number" && Number.isFinite(v) && v > 0,
  boolean: (v) => typeof v === "boolean",
  scalar: (v) => (typeof v === "string" && v.length > 0) || (typeof v === "number" && Number.isFinite(v)),
  integer: (v) => Number.isInteger(v),
  value: (v) => KINDS.scalar(v) || typeof v === "boolean",
  constant: (v) => typeof v === "string" && /^[A-Z][A-Z0-9_]*$/.test(v),
  option: (v) => typeof v === "string" && /^[A-Za-z_$][\w$]*\??$/.test(v),
  status: (v) => Number.isInteger(v) && v >= 100 && v <= 599,
  "string-or-list": (v) =>
    KINDS.string(v) || (Array.isArray(v) && v.length > 0 && v.every((x) => KINDS.string(x))),
};

/** Every problem of `value` against `shape`, as `[path, message]` pairs. */
function shapeProblems(value, shape, path = []) {
  if (typeof shape === "string") return KINDS[shape](value) ? [] : [[path, `must be ${describe(shape)}`]];
  if (Array.isArray(shape) && shape.every((s) => typeof s === "string") && !(shape[0] in KINDS))
    return shape.includes(value) ? [] : [[path, `must be one of ${shape.join(", ")}`]];
  if (Array.isArray(shape)) {
    if (!Array.isArray(value) || value.length === 0) return [[path, "must be a non-empty list"]];
    return value.flatMap((item, i) => shapeProblems(item, shape[0], [...path, i]));
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return [[path, "must be an object"]];
  if ("+" in shape && Object.keys(value).length === 0) return [[path, "must name at least one field"]];
  const each = shape["*"] ?? shape["+"];
  if (each !== undefined)
    return Object.entries(value).flatMap(([k, v]) => shapeProblems(v, each, [...path, k]));
  const out = [];
  for (const key of Object.keys(value))
    if (!(key in shape)) out.push([[...path, key], "is not a known field"]);
  for (const [key, [inner, required]] of Object.entries(shape)) {
    if (value[key] === undefined) {
      if (required) out.push([path, `needs \`${key}\``]);
    } else out.push(...shapeProblems(value[key], inner, [...path, key]));
  }
  return out;
}

function describe(kind) {
  return {
    string: "a non-empty string",
    number: "a number",
    positive: "a positive number",
    boolean: "true or false",
    scalar: "a string or a number",
    status: "an HTTP status (100-599)",
    integer: "an integer",
    value: "a string, a number or true/false",
    constant: "an UPPER_SNAKE_CASE name",
    option: "a client option's name (`appKey`, or `orgId?` for an optional one)",
    "string-or-list": "a string or a list of strings",
  }[kind];
}

/** Every `x-imspec-*` key of a node: known, in its place, and of its shape. */
const PREFIX = "x-imspec-";

/** Edit distance (insertions, deletions, substitutions) between two short texts. */
function distance(a, b) {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/**
 * `x-imspec-`, or a slip of it (`x-imsepc-`, `X-IMSPEC-`, `x_imspec_`), starts the name: one of
 * ours, or one read by nobody. Preflight uses it too, for the keys beside a `$ref`.
 */
export const nearPrefix = (name) =>
  /^x/i.test(name) && distance(name.slice(0, PREFIX.length).toLowerCase(), PREFIX) <= 2;

function reportExtensions(node, ctx) {
  const type = ctx.type.name;
  for (const name of Object.keys(node)) {
    if (!name.startsWith(PREFIX)) {
      // Only where a key is an extension (an OpenAPI object's), not a name of the spec's own (a
      // schema property `x-inspection-id`, a header).
      if (ctx.type.extensionsPrefix && nearPrefix(name))
        ctx.report({
          message: `${name} looks like a misspelled x-imspec-* extension, which nothing would read: spell it ${PREFIX}….`,
          location: ctx.location.child(name).key(),
        });
      continue;
    }
    const location = ctx.location.child(name);
    const shapes = EXTENSIONS[name];
    if (!shapes) {
      const known = Object.keys(EXTENSIONS).join(", ");
      ctx.report({ message: `${name} is not an extension the generator reads (known: ${known}).`, location });
      continue;
    }
    if (!Object.hasOwn(shapes, type)) {
      ctx.report({
        message: `${name} belongs on ${Object.keys(shapes).join(" or ")}, not on ${type}.`,
        location,
      });
      continue;
    }
    for (const [path, message] of shapeProblems(node[name], shapes[type])) {
      const where = [name, ...path];
      ctx.report({ message: `${where.join(".")} ${message}.`, location: ctx.location.child(where) });
    }
  }
}

/**
 * Where an error's code is: `x-imspec-errors.code`, or the envelope's `statusField`. Without either
 * no error would have a code, and the mock would answer a field the spec does not have.
 */
function reportErrorCode(root, ctx) {
  if (root["x-imspec-envelope"] !== undefined) return;
  const errors = root["x-imspec-errors"];
  if (errors && typeof errors === "object" && !Array.isArray(errors) && errors.code !== undefined) return;
  ctx.report({
    message:
      "x-imspec-errors.code is required without x-imspec-envelope: name the body field(s) of an error answer that hold its code.",
    location: errors ? ctx.location.child(["x-imspec-errors"]).key() : ctx.location.child(["info"]).key(),
  });
}

/** Each code of `x-imspec-errors.tokenInvalid.reasons` is one of `tokenInvalid.codes`, as written there. */
function reportTokenReasons(root, ctx) {
  const invalid = root["x-imspec-errors"]?.tokenInvalid;
  const reasons = invalid?.reasons;
  if (!reasons || typeof reasons !== "object" || Array.isArray(reasons)) return;
  const codes = Array.isArray(invalid.codes) ? invalid.codes.map(String) : [];
  for (const [reason, code] of Object.entries(reasons)) {
    // An unknown reason or a code of the wrong type is reported by its shape already.
    if (!Object.hasOwn(TOKEN_REASONS, reason) || !KINDS.scalar(code) || codes.includes(String(code)))
      continue;
    ctx.report({
      message: `x-imspec-errors.tokenInvalid.reasons.${reason}: "${code}" is not one of tokenInvalid.codes (${codes.join(", ") || "none"}), as written there: the mock answers this code, so list it itself (a "*" pattern does not count).`,
      location: ctx.location.child(["x-imspec-errors", "tokenInvalid", "reasons", reason]),
    });
  }
}

/**
 * The x-imspec-* extensions hold every per-API fact the clients, the mock and the docs read: a
 * value the generator does not understand stops the build here, with its file and line.
 */
function Extensions() {
  let operationIds = new Set();
  let named = []; // operationIds an extension names: checked once every operation is known
  let documented = new Set();
  const mustName = (operation, what, location, report) => named.push({ operation, what, location, report });
  return {
    any(node, ctx) {
      if (node && typeof node === "object" && !Array.isArray(node)) reportExtensions(node, ctx);
    },
    Root: {
      enter(root, ctx) {
        operationIds = new Set();
        named = [];
        const codes = Array.isArray(root["x-imspec-status-codes"]) ? root["x-imspec-status-codes"] : [];
        documented = new Set(codes.map((c) => c?.status));
        reportTokenReasons(root, ctx);
        reportErrorCode(root, ctx);
        const mock = root["x-imspec-mock"];
        for (const part of ["tokens", "requires"]) {
          const map = mock?.[part];
          if (!map || typeof map !== "object") continue;
          for (const operation of Object.keys(map))
            mustName(
              operation,
              `x-imspec-mock.${part}`,
              ctx.location.child(["x-imspec-mock", part, operation]),
              ctx.report,
            );
        }
      },
      leave() {
        for (const { operation, what, location, report } of named) {
          if (!operationIds.has(operation))
            report({ message: `${what}: no operation has the operationId "${operation}".`, location });
        }
      },
    },
    Operation(operation, ctx) {
      if (typeof operation.operationId === "string") operationIds.add(operation.operationId);
      const codes = operation["x-imspec-status-codes"];
      (Array.isArray(codes) ? codes : []).forEach((code, i) => {
        if (Number.isInteger(code) && !documented.has(code))
          ctx.report({
            message: `x-imspec-status-codes: ${code} is not among the document's x-imspec-status-codes.`,
            location: ctx.location.child(["x-imspec-status-codes", i]),
          });
      });
    },
    Schema(schema, ctx) {
      if (schema["x-imspec-open-enum"] !== true) return;
      if (!Array.isArray(schema.enum)) {
        ctx.report({
          message: "x-imspec-open-enum marks an enum open, and this schema has no enum.",
          location: ctx.location.child("x-imspec-open-enum"),
        });
        return;
      }
      // The type adds `string & {}` or `number & {}` (scripts/steps/types.ts): the listed values
      // (null aside) are all strings or all numbers, or it would add the wrong one.
      const values = schema.enum.filter((value) => value !== null);
      const kinds = new Set(values.map((value) => typeof value));
      if (kinds.size > 1 || (kinds.size === 1 && !kinds.has("string") && !kinds.has("number"))) {
        const odd = values.find((value) => typeof value !== "string" && typeof value !== "number");
        ctx.report({
          message: `x-imspec-open-enum opens an enum of strings or of numbers, and this one lists ${JSON.stringify(odd ?? values)}.`,
          location: ctx.location.child("x-imspec-open-enum"),
        });
      }
    },
    SecurityScheme(scheme, ctx) {
      const supported =
        (scheme.type === "apiKey" && (scheme.in === "header" || scheme.in === "query")) ||
        (scheme.type === "http" && String(scheme.scheme).toLowerCase() === "bearer");
      if (!supported) {
        ctx.report({
          message: `Security scheme type "${scheme.type}"${scheme.in ? ` in ${scheme.in}` : ""}${scheme.scheme ? ` (${scheme.scheme})` : ""} is not supported: use apiKey in a header or the query, or http bearer.`,
          location: ctx.location.child("type"),
        });
      }
      const kind = scheme["x-imspec-token-kind"];
      if (kind === undefined)
        ctx.report({
          message: "The scheme needs x-imspec-token-kind: app or user (which token it carries).",
          location: ctx.location,
        });
      const sources = Array.isArray(scheme["x-imspec-token"]) ? scheme["x-imspec-token"] : [];
      if (sources.length && kind === "user")
        ctx.report({
          message: "x-imspec-token describes how the client gets an app token: it belongs on an app scheme.",
          location: ctx.location.child("x-imspec-token"),
        });
      sources.forEach((source, i) => {
        if (!source || typeof source.operation !== "string") return;
        const options = Object.values(source.options ?? {}).map((o) => String(o).replace(/\?$/, ""));
        for (const secret of source.secrets ?? []) {
          if (!options.includes(secret))
            ctx.report({
              message: `x-imspec-token.${i}.secrets: "${secret}" is not one of the source's options.`,
              location: ctx.location.child(["x-imspec-token", i, "secrets"]),
            });
        }
        for (const secret of source.identifying ?? []) {
          if (!(source.secrets ?? []).includes(secret))
            ctx.report({
              message: `x-imspec-token.${i}.identifying: "${secret}" is not one of the source's secrets (the other options are always part of the key).`,
              location: ctx.location.child(["x-imspec-token", i, "identifying"]),
            });
        }
        mustName(
          source.operation,
          "x-imspec-token",
          ctx.location.child(["x-imspec-token", i, "operation"]),
          ctx.report,
        );
      });
    },
  };
}

export default function imspecPlugin() {
  return {
    id: "imspec",
    rules: {
      oas3: {
        "operation-id-camel-case": OperationIdCamelCase,
        "success-example": SuccessExample,
        "error-responses": ErrorResponses,
        "explicit-security": ExplicitSecurity,
        extensions: Extensions,
      },
    },
  };
}
