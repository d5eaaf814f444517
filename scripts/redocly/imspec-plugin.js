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

export default function imspecPlugin() {
  return {
    id: "imspec",
    rules: {
      oas3: {
        "operation-id-camel-case": OperationIdCamelCase,
        "success-example": SuccessExample,
        "error-responses": ErrorResponses,
        "explicit-security": ExplicitSecurity,
      },
    },
  };
}
