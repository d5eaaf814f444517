/**
 * What a spec change does to callers of the generated clients, from two bundled documents of one
 * API. Pure: the table-driven tests feed it small documents.
 *
 * Callers see an operation as one method (its operationId) taking one flat params object (path,
 * query and header parameters plus the JSON body's properties, as generated/<api>/operations.ts
 * builds it) and returning the success body. So:
 *
 *   breaking  an operation removed (or renamed), moved to another group (its first tag), its
 *             result made optional (`x-imspec-optional-body`) or its pagination removed or changed;
 *             a parameter or body field removed; a parameter or
 *             field newly required; an input type or enum narrowed (a value callers could send is
 *             refused); a response field removed or no longer always present; a response type
 *             widened (callers' code receives a type it was not written for)
 *   caution   a response enum gains a value: an exhaustive `switch` over it stops compiling, but
 *             APIs add such values routinely, so it is reported without failing
 *   added     a new operation, or pagination on one, for the changelog
 */

import { deref, successKeyOf } from "../lib/extract.js";

type Json = Record<string, unknown>;

export type Severity = "breaking" | "caution" | "added";

export interface Change {
  severity: Severity;
  /** `operationId`, or `*` for the document as a whole. */
  operation: string;
  /** Where in the params or the result, e.g. `params.seniorStaffId` or `result.list[].id`. */
  at: string;
  message: string;
}

/** A schema reduced to what callers' types depend on. */
interface Shape {
  /** JSON types allowed; empty = any. */
  types: Set<string>;
  /** Allowed values, when the schema restricts them. */
  values: Set<string> | undefined;
  /** `x-imspec-open-enum`: the listed values and any other (the type `0 | 1 | (number & {})`). */
  open: boolean;
  /** Cut short by the depth limit somewhere inside. */
  partial?: boolean;
  properties: Map<string, Json>;
  required: Set<string>;
  items: Json | undefined;
}

const MAX_DEPTH = 24;

/**
 * A `$ref` followed to its target with the generator's own resolution (lib/extract.ts); a cycle,
 * a remote or a dangling reference reads as an unconstrained schema.
 */
function resolve(document: Json, value: unknown): Json {
  let node: unknown;
  try {
    node = deref(document, value);
  } catch {
    return {};
  }
  return node && typeof node === "object" ? (node as Json) : {};
}

function typesOf(schema: Json): Set<string> {
  const type = schema.type;
  const list = Array.isArray(type) ? type.map(String) : typeof type === "string" ? [type] : [];
  if (schema.nullable === true) list.push("null");
  return new Set(list);
}

function valuesOf(schema: Json): Set<string> | undefined {
  if (Object.hasOwn(schema, "const")) return new Set([JSON.stringify(schema.const)]);
  if (Array.isArray(schema.enum)) return new Set(schema.enum.map((v) => JSON.stringify(v)));
  return undefined;
}

/**
 * Each schema's shape, once per document: the properties it merges are then the same objects every
 * time it is read, so `compareShapes` knows a cycle through them (built anew at each level, they
 * nested deeper and deeper). Per document: the same inline object may sit in two documents.
 */
const shapeCache = new WeakMap<Json, WeakMap<Json, Shape>>();

/** Flattens `allOf` (all apply) and `oneOf`/`anyOf` (any may apply) into one shape. */
export function shapeOf(document: Json, raw: unknown, depth = 0): Shape {
  const schema = resolve(document, raw);
  let known = shapeCache.get(document);
  if (!known) {
    known = new WeakMap();
    shapeCache.set(document, known);
  }
  const cached = known.get(schema);
  if (cached) return cached;
  const shape = flatten(document, schema, depth);
  // Cut short by the depth limit, a shape is not the schema's whole: it is not kept.
  if (!shape.partial) known.set(schema, shape);
  return shape;
}

function flatten(document: Json, schema: Json, depth: number): Shape {
  const shape: Shape = {
    types: typesOf(schema),
    values: valuesOf(schema),
    open: schema["x-imspec-open-enum"] === true,
    properties: new Map(Object.entries((schema.properties ?? {}) as Record<string, Json>)),
    required: new Set(Array.isArray(schema.required) ? schema.required.map(String) : []),
    items: schema.items as Json | undefined,
  };
  if (depth > MAX_DEPTH) return Object.assign(shape, { partial: true });
  for (const part of (schema.allOf ?? []) as unknown[]) {
    const s = shapeOf(document, part, depth + 1);
    if (s.partial) shape.partial = true;
    if (shape.types.size === 0) shape.types = s.types;
    else if (s.types.size > 0) shape.types = new Set([...shape.types].filter((t) => s.types.has(t)));
    if (s.values) shape.values = shape.values ? intersect(shape.values, s.values) : s.values;
    merge(shape.properties, s.properties, "allOf");
    for (const r of s.required) shape.required.add(r);
    shape.items ??= s.items;
  }
  const variants = [...((schema.oneOf ?? []) as unknown[]), ...((schema.anyOf ?? []) as unknown[])];
  if (variants.length > 0) {
    const shapes = variants.map((v) => shapeOf(document, v, depth + 1));
    if (shapes.some((v) => v.partial)) shape.partial = true;
    if (shape.types.size === 0 && shapes.every((s) => s.types.size > 0)) {
      shape.types = new Set(shapes.flatMap((s) => [...s.types]));
    }
    if (!shape.values && shapes.every((s) => s.values)) {
      shape.values = new Set(shapes.flatMap((s) => [...(s.values as Set<string>)]));
    }
    for (const s of shapes) merge(shape.properties, s.properties, "anyOf");
    // A property is always there only if every variant requires it.
    const always = shapes.reduce<Set<string> | undefined>(
      (acc, s) => (acc ? intersect(acc, s.required) : new Set(s.required)),
      undefined,
    );
    for (const r of always ?? []) shape.required.add(r);
    shape.items ??= shapes.find((s) => s.items)?.items;
  }
  return shape;
}

/**
 * Adds `more`'s properties; one both declare is both schemas (`allOf`: each part constrains it) or
 * either (`anyOf`: the variant decides), never only the first: an envelope's bare `result` would
 * otherwise hide the schema the success branch gives it.
 */
function merge(into: Map<string, Json>, more: Map<string, Json>, how: "allOf" | "anyOf"): void {
  for (const [name, schema] of more) {
    const known = into.get(name);
    into.set(name, known === undefined || known === schema ? schema : { [how]: [known, schema] });
  }
}

function intersect(a: Set<string>, b: Set<string>): Set<string> {
  return new Set([...a].filter((v) => b.has(v)));
}

/** `integer` is a `number`: number → integer narrows, integer → number widens. */
function lostTypes(from: Set<string>, to: Set<string>): string[] {
  if (to.size === 0) return [];
  if (from.size === 0) return ["any"];
  return [...from].filter((t) => !to.has(t) && !(t === "integer" && to.has("number")));
}

function list(values: Iterable<string>): string {
  return [...values].join(", ");
}

type Direction = "input" | "output";

function compareShapes(
  document: { before: Json; after: Json },
  before: unknown,
  after: unknown,
  direction: Direction,
  at: string,
  report: (severity: Severity, at: string, message: string) => void,
  within: ReadonlyArray<readonly [Json, Json]> = [],
): void {
  // `within` is the path of pairs down to here: its length is the depth.
  if (within.length > MAX_DEPTH) return;
  // A pair of schemas met again below itself is a cycle (a tree's `children`, a user's `manager`):
  // what it holds is being compared already. Without this, two such fields doubled the work per level.
  const pair = [resolve(document.before, before), resolve(document.after, after)] as const;
  if (within.some(([x, y]) => x === pair[0] && y === pair[1])) return;
  const path = [...within, pair];
  const a = shapeOf(document.before, before);
  const b = shapeOf(document.after, after);
  if (direction === "input") {
    const lost = lostTypes(a.types, b.types);
    // Narrowed when every type it takes now was taken before; changed when it takes another.
    const how = lostTypes(b.types, a.types).length ? "changed" : "narrowed";
    if (lost.length) report("breaking", at, `type ${how} from ${list(a.types) || "any"} to ${list(b.types)}`);
    if (b.values && !a.values) report("breaking", at, `now restricted to ${list(b.values)}`);
    else if (a.values && b.values) {
      const removed = [...a.values].filter((v) => !b.values?.has(v));
      if (removed.length) report("breaking", at, `no longer accepts ${list(removed)}`);
    }
  } else {
    const gained = lostTypes(b.types, a.types);
    if (gained.length && a.types.size > 0) {
      // Widened when every type it gave before it may still give; changed when one is gone.
      const how = lostTypes(a.types, b.types).length ? "changed" : "widened";
      report("breaking", at, `type ${how} from ${list(a.types)} to ${list(b.types) || "any"}`);
    }
    if (a.values && !b.values) report("breaking", at, `no longer limited to ${list(a.values)}`);
    else if (a.values && b.values) {
      const added = [...b.values].filter((v) => !a.values?.has(v));
      if (added.length) report("caution", at, `may now be ${list(added)}`);
      if (b.open && !a.open) report("caution", at, "may now be values beyond the listed ones (an open enum)");
    }
  }
  for (const [name, schema] of a.properties) {
    const field = `${at}.${name}`;
    const next = b.properties.get(name);
    if (!next) {
      report("breaking", field, direction === "input" ? "parameter or field removed" : "field removed");
      continue;
    }
    if (direction === "input" && b.required.has(name) && !a.required.has(name)) {
      report("breaking", field, "newly required");
    }
    if (direction === "output" && a.required.has(name) && !b.required.has(name)) {
      report("breaking", field, "no longer always present");
    }
    compareShapes(document, schema, next, direction, field, report, path);
  }
  if (direction === "input") {
    for (const name of b.required) {
      if (!a.properties.has(name) && b.properties.has(name))
        report("breaking", `${at}.${name}`, "new required parameter");
    }
  }
  if (a.items && b.items) compareShapes(document, a.items, b.items, direction, `${at}[]`, report, path);
}

interface Operation {
  method: string;
  path: string;
  op: Json;
  shared: unknown[];
}

function operationsOf(document: Json): Map<string, Operation> {
  const out = new Map<string, Operation>();
  for (const [path, item] of Object.entries((document.paths ?? {}) as Record<string, Json>)) {
    for (const [method, value] of Object.entries(item)) {
      const op = value as Json;
      if (op && typeof op.operationId === "string") {
        out.set(op.operationId, {
          method: method.toUpperCase(),
          path,
          op,
          shared: (item.parameters ?? []) as unknown[],
        });
      }
    }
  }
  return out;
}

/** The params object of an operation as one object schema: parameters plus the JSON body's properties. */
export function paramsSchema(document: Json, operation: Operation): Json {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const raw of [...operation.shared, ...((operation.op.parameters ?? []) as unknown[])]) {
    const p = resolve(document, raw);
    if (typeof p.name !== "string") continue;
    properties[p.name] = p.schema ?? {};
    if (p.required === true) required.push(p.name);
  }
  const body = resolve(document, operation.op.requestBody);
  const media = (body.content as Record<string, Json> | undefined)?.["application/json"];
  if (media?.schema) {
    const shape = shapeOf(document, media.schema);
    for (const [name, schema] of shape.properties) properties[name] = schema;
    // The generated params type is the body schema itself, so its required fields are required
    // whether or not the body as a whole is.
    required.push(...shape.required);
  }
  return { type: "object", properties, required };
}

/**
 * What a method returns: the success body's schema (the first 2xx response's JSON content), or
 * `undefined`; for an API with `x-imspec-envelope`, as the generated result type reads it: the
 * body's variants whose status can be the success status, then their `resultField`.
 */
export function resultSchema(document: Json, operation: Operation): unknown {
  const response = successResponse(document, operation);
  const media = (response?.content as Record<string, Json> | undefined)?.["application/json"];
  return media?.schema ? dataOf(document, media.schema) : undefined;
}

/** The data an envelope carries on success (builders.ts: `EnvelopeResult<SuccessBranch<Body, "status", 0, false>, "result">`). */
function dataOf(document: Json, body: unknown): unknown {
  const envelope = resolve(document, document["x-imspec-envelope"]);
  const statusField = envelope.statusField;
  if (typeof statusField !== "string") return body;
  const success = JSON.stringify(envelope.successStatus);
  const schema = resolve(document, body);
  const variants = [...((schema.oneOf ?? []) as unknown[]), ...((schema.anyOf ?? []) as unknown[])];
  const succeeding = variants.filter((variant) => {
    const status = shapeOf(document, variant).properties.get(statusField);
    // A variant without the status is a success only where the status is optional (`{ errcode?: 0 }`).
    if (!status) return envelope.statusOptional === true;
    // Exactly the success status: the generated `SuccessBranch` leaves out a status of `0 | 5`.
    const values = shapeOf(document, status).values;
    return values?.size === 1 && values.has(success);
  });
  const data =
    succeeding.length === 0 ? body : succeeding.length === 1 ? succeeding[0] : { anyOf: succeeding };
  if (typeof envelope.resultField !== "string") return data;
  return shapeOf(document, data).properties.get(envelope.resultField) ?? {};
}

/** The first 2xx response, resolved, as the generator reads it (lib/extract.ts `successOf`). */
function successResponse(document: Json, operation: Operation): Json | undefined {
  const responses = (operation.op.responses ?? {}) as Json;
  const first = successKeyOf(responses);
  return first === undefined ? undefined : resolve(document, responses[first]);
}

/**
 * What the method is besides its params and result types: the group it sits in (its first tag),
 * whether its result may be `undefined` (`x-imspec-optional-body`) and its `.pages()` and
 * `.iterate()` (`x-imspec-pagination`).
 */
function compareMethod(
  before: Json,
  a: Operation,
  after: Json,
  b: Operation,
  hadResult: boolean,
  report: (severity: Severity, at: string, message: string) => void,
): void {
  const tagOf = (op: Operation) => (Array.isArray(op.op.tags) ? String(op.op.tags[0]) : undefined);
  if (tagOf(a) !== tagOf(b))
    report("breaking", "tags", `method moved from the ${tagOf(a)} group to the ${tagOf(b)} group`);
  const optional = (document: Json, op: Operation) =>
    successResponse(document, op)?.["x-imspec-optional-body"] === true;
  // From no body (`void`) to an optional one, nobody read a result to miss.
  if (hadResult && !optional(before, a) && optional(after, b))
    report("breaking", "result", "may now be undefined");
  const pages = (document: Json, op: Operation) => {
    const pagination = resolve(document, op.op["x-imspec-pagination"]);
    return Object.keys(pagination).length
      ? JSON.stringify(pagination, Object.keys(pagination).sort())
      : undefined;
  };
  const [was, is] = [pages(before, a), pages(after, b)];
  if (was !== undefined && is === undefined)
    report("breaking", "pagination", ".pages() and .iterate() removed");
  else if (was === undefined && is !== undefined)
    report("added", "pagination", ".pages() and .iterate() added");
  else if (was !== is) report("breaking", "pagination", `paged differently: ${was} → ${is}`);
}

/** Every change between two bundled documents of one API that callers would notice. */
export function compareDocuments(before: Json, after: Json): Change[] {
  const changes: Change[] = [];
  const docs = { before, after };
  const old = operationsOf(before);
  const now = operationsOf(after);
  for (const [id, a] of old) {
    const b = now.get(id);
    if (!b) {
      changes.push({
        severity: "breaking",
        operation: id,
        at: `${a.method} ${a.path}`,
        message: "operation removed",
      });
      continue;
    }
    const report = (severity: Severity, at: string, message: string) =>
      changes.push({ severity, operation: id, at, message });
    const resultBefore = resultSchema(before, a);
    const resultAfter = resultSchema(after, b);
    compareMethod(before, a, after, b, resultBefore !== undefined, report);
    compareShapes(docs, paramsSchema(before, a), paramsSchema(after, b), "input", "params", report);
    if (resultBefore !== undefined && resultAfter === undefined)
      report("breaking", "result", "response body removed");
    else if (resultBefore !== undefined)
      compareShapes(docs, resultBefore, resultAfter, "output", "result", report);
  }
  for (const [id, b] of now) {
    if (!old.has(id))
      changes.push({
        severity: "added",
        operation: id,
        at: `${b.method} ${b.path}`,
        message: "operation added",
      });
  }
  return changes;
}

/** Every change, API by API; an API the base had and the working tree lacks is one breaking change. */
export function compareApis(before: Map<string, Json>, after: Map<string, Json>): Map<string, Change[]> {
  const out = new Map<string, Change[]>();
  for (const [name, document] of before) {
    const now = after.get(name);
    out.set(
      name,
      now
        ? compareDocuments(document, now)
        : [{ severity: "breaking", operation: "*", at: "redocly.yaml", message: "API removed" }],
    );
  }
  for (const name of after.keys()) {
    if (!before.has(name))
      out.set(name, [{ severity: "added", operation: "*", at: "redocly.yaml", message: "API added" }]);
  }
  return out;
}
