import { deref, isObject, type OperationInfo, type ParamLocation } from "../lib/extract.js";

/**
 * Example values read from a bundled OpenAPI 3.1 document, for the code samples. Pure functions:
 * the same document always gives the same values, so the docs are reproducible.
 */

type Json = Record<string, unknown>;

/** A found example; wrapped so that a `null` or `false` example is not mistaken for "none". */
export type Found = { value: unknown } | undefined;

/**
 * The example a schema gives, in the order an author most likely meant it: `examples[0]` (3.1),
 * `example` (3.0 style), then `default`, `const`, `enum[0]`, then the first composed branch that has one.
 */
export function schemaExample(doc: Json, schema: unknown): Found {
  const s = deref<Json>(doc, schema);
  if (!isObject(s)) return undefined;
  if (Array.isArray(s.examples) && s.examples.length > 0) return { value: s.examples[0] };
  for (const key of ["example", "default", "const"]) if (Object.hasOwn(s, key)) return { value: s[key] };
  if (Array.isArray(s.enum) && s.enum.length > 0) return { value: s.enum[0] };
  for (const key of ["allOf", "oneOf", "anyOf"]) {
    for (const branch of Array.isArray(s[key]) ? s[key] : []) {
      const found = schemaExample(doc, branch);
      if (found) return found;
    }
  }
  return undefined;
}

/** A parameter's `example`, else the first of its `examples`, else its schema's. */
export function parameterExample(doc: Json, parameter: Json): Found {
  if (Object.hasOwn(parameter, "example")) return { value: parameter.example };
  if (isObject(parameter.examples)) {
    const first = Object.values(parameter.examples)[0];
    const example = deref<Json>(doc, first);
    if (isObject(example) && Object.hasOwn(example, "value")) return { value: example.value };
  }
  return schemaExample(doc, parameter.schema);
}

/**
 * A value shaped like the schema, for a required field the spec gives no example for: the sample
 * still type-checks, and `<name>` shows the reader what to put there.
 */
export function placeholder(doc: Json, schema: unknown, name: string): unknown {
  const s = deref<Json>(doc, schema) ?? {};
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type) {
    case "integer":
    case "number":
      return 0;
    case "boolean":
      return false;
    case "array":
      return [];
    case "object":
      return {};
    default:
      return `<${name}>`;
  }
}

/** The operation object and its path item, followed through `$ref`s. */
export function operationObject(doc: Json, op: OperationInfo): { pathItem: Json; operation: Json } {
  const paths = isObject(doc.paths) ? doc.paths : {};
  const pathItem = deref<Json>(doc, paths[op.path]) ?? {};
  const operation = deref<Json>(doc, pathItem[op.method.toLowerCase()]) ?? {};
  return { pathItem, operation };
}

function jsonBody(doc: Json, operation: Json): Json | undefined {
  const body = deref<Json>(doc, operation.requestBody);
  if (!isObject(body) || !isObject(body.content)) return undefined;
  const key = Object.keys(body.content).find((type) => /^application\/(.+\+)?json\b/.test(type));
  return key ? deref<Json>(doc, body.content[key]) : undefined;
}

/** The first example of the JSON request body: the media type's `example`, else its first `examples` entry. */
export function bodyExample(doc: Json, operation: Json): Json | undefined {
  const media = jsonBody(doc, operation);
  if (!media) return undefined;
  if (isObject(media.example)) return media.example;
  if (isObject(media.examples)) {
    const first = deref<Json>(doc, Object.values(media.examples)[0]);
    if (isObject(first) && isObject(first.value)) return first.value;
  }
  const fromSchema = schemaExample(doc, media.schema);
  return isObject(fromSchema?.value) ? fromSchema.value : undefined;
}

export interface SampleParam {
  name: string;
  in: ParamLocation;
  value: unknown;
}

/**
 * The parameters a sample sends, with their example values: every required parameter, plus the
 * fields of the spec's request-body example. The body example is the spec's picture of a working
 * request: getUserAccessToken requires only `grantType`, but `authorization_code` needs `code` too.
 */
export function sampleParams(doc: Json, op: OperationInfo): SampleParam[] {
  const { pathItem, operation } = operationObject(doc, op);
  const declared = new Map<string, Json>();
  for (const raw of [
    ...(Array.isArray(pathItem.parameters) ? pathItem.parameters : []),
    ...(Array.isArray(operation.parameters) ? operation.parameters : []),
  ]) {
    const parameter = deref<Json>(doc, raw);
    if (isObject(parameter)) declared.set(`${parameter.in} ${parameter.name}`, parameter);
  }
  const example = bodyExample(doc, operation);
  const bodySchema = deref<Json>(doc, jsonBody(doc, operation)?.schema);
  const properties = isObject(bodySchema?.properties) ? bodySchema.properties : {};

  const params: SampleParam[] = [];
  for (const param of op.params) {
    if (param.in === "body") {
      const inExample = example !== undefined && Object.hasOwn(example, param.name);
      if (!param.required && !inExample) continue;
      const schema = properties[param.name];
      const found: Found = inExample ? { value: example[param.name] } : schemaExample(doc, schema);
      const value = found ? found.value : placeholder(doc, schema, param.name);
      params.push({ name: param.name, in: param.in, value });
      continue;
    }
    if (!param.required) continue;
    const parameter = declared.get(`${param.in} ${param.name}`) ?? {};
    const found = parameterExample(doc, parameter);
    params.push({
      name: param.name,
      in: param.in,
      value: found ? found.value : placeholder(doc, parameter.schema, param.name),
    });
  }
  return params;
}

/** The first server URL with each `{variable}` replaced by its default: the base URL samples call. */
export function baseUrlOf(doc: Json): string {
  const server = Array.isArray(doc.servers) && isObject(doc.servers[0]) ? doc.servers[0] : {};
  const variables = isObject(server.variables) ? server.variables : {};
  const url = typeof server.url === "string" ? server.url : "";
  const resolved = url.replace(/\{([^}]+)\}/g, (whole, name: string) => {
    const variable = variables[name];
    return isObject(variable) && typeof variable.default === "string" ? variable.default : whole;
  });
  return resolved.replace(/\/+$/, "");
}
