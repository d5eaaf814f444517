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
// is a map. The generator reads only what these rules let through.
const text = "string";
const strings = ["string-or-list"];
const count = "positive";
const SCOPES = ["app", "app-operation", "ip"];
const RATE_LIMITS = [
  { calls: [count, true], seconds: [count, true], scope: [SCOPES, true], code: ["scalar", false] },
];
const SHAPES = {
  "x-imspec-errors": {
    code: [strings, false],
    message: [strings, false],
    requestId: [strings, false],
    requestIdHeader: [strings, false],
    tokenInvalid: [{ statuses: [["status"], false], codes: [["scalar"], false] }, false],
    throttled: [["scalar"], false],
    neverRetry: [["scalar"], false],
    refusals: [[{ match: [{ "*": "scalar" }, true], code: ["scalar", true], message: [text, true] }], false],
  },
  "x-imspec-envelope": {
    statusField: [text, true],
    messageField: [text, true],
    resultField: [text, false],
    successStatus: ["number", true],
    statusOptional: ["boolean", false],
  },
  "x-imspec-rate-limits": RATE_LIMITS,
  "x-imspec-token": [
    {
      operation: [text, true],
      options: [{ "*": "string" }, true],
      fixed: [{ "*": "scalar" }, false],
      secrets: [["string"], false],
      token: [text, true],
      expires: [{ field: [text, true], unit: [["s", "ms"], true], epoch: ["boolean", false] }, false],
      defaultLifetime: [count, true],
    },
  ],
};

const KINDS = {
  string: (v) => typeof v === "string" && v.length > 0,
  number: (v) => typeof v === "number" && Number.isFinite(v),
  positive: (v) => typeof v === "number" && Number.isFinite(v) && v > 0,
  boolean: (v) => typeof v === "boolean",
  scalar: (v) => (typeof v === "string" && v.length > 0) || (typeof v === "number" && Number.isFinite(v)),
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
  if ("*" in shape)
    return Object.entries(value).flatMap(([k, v]) => shapeProblems(v, shape["*"], [...path, k]));
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
    "string-or-list": "a string or a list of strings",
  }[kind];
}

function reportShape(node, name, ctx) {
  if (node[name] === undefined) return;
  for (const [path, message] of shapeProblems(node[name], SHAPES[name])) {
    const where = [name, ...path];
    ctx.report({ message: `${where.join(".")} ${message}.`, location: ctx.location.child(where) });
  }
}

/**
 * The x-imspec-* extensions hold every per-API fact the clients, the mock and the docs read: a
 * value the generator does not understand stops the build here, with its file and line.
 */
function Extensions() {
  let operationIds = new Set();
  let tokens = [];
  return {
    Root: {
      enter(root, ctx) {
        operationIds = new Set();
        tokens = [];
        for (const name of ["x-imspec-errors", "x-imspec-envelope", "x-imspec-rate-limits"])
          reportShape(root, name, ctx);
      },
      leave() {
        for (const { source, location, report } of tokens) {
          if (!operationIds.has(source.operation))
            report({
              message: `x-imspec-token: no operation has the operationId "${source.operation}".`,
              location,
            });
        }
      },
    },
    Operation(operation, ctx) {
      if (typeof operation.operationId === "string") operationIds.add(operation.operationId);
      reportShape(operation, "x-imspec-rate-limits", ctx);
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
      if (kind !== undefined && kind !== "app" && kind !== "user") {
        ctx.report({
          message: "x-imspec-token-kind must be app or user.",
          location: ctx.location.child("x-imspec-token-kind"),
        });
      }
      reportShape(scheme, "x-imspec-token", ctx);
      const sources = Array.isArray(scheme["x-imspec-token"]) ? scheme["x-imspec-token"] : [];
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
        tokens.push({
          source,
          location: ctx.location.child(["x-imspec-token", i, "operation"]),
          report: ctx.report,
        });
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
