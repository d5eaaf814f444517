import { APIPromise, type WithResponse } from "./api-promise.js";
import type { TokenKind } from "./engine.js";
import type { RequestOptions } from "./options.js";

/**
 * Turns a generated operation table into methods grouped by tag (octokit's endpoints-to-methods):
 * the table is data, this is the one function that makes it callable.
 */

export type ParamLocation = "path" | "query" | "header" | "body";

export interface Pagination {
  readonly cursorParam: string;
  readonly cursorField: string;
  readonly hasMoreField: string;
  readonly itemsField: string;
  readonly firstCursor?: number | string;
}

/** One row of a generated operation table (`generated/<api>/operations.ts`). */
export interface OperationRow {
  readonly method: string;
  readonly path: string;
  readonly tag: string;
  readonly params: Readonly<Record<string, ParamLocation>>;
  readonly success: number;
  readonly noBody?: boolean;
  readonly idempotent: boolean;
  readonly token: TokenKind;
  readonly pagination?: Pagination;
  readonly sdkOperation?: string;
}

export type OperationTable = Readonly<Record<string, OperationRow>>;

interface OpTypes {
  params: unknown;
  result: unknown;
}

/** A method: params required at compile time exactly when the spec requires one of them. */
export type Method<O extends OpTypes> =
  Record<never, never> extends O["params"]
    ? (params?: O["params"], options?: RequestOptions) => APIPromise<O["result"]>
    : (params: O["params"], options?: RequestOptions) => APIPromise<O["result"]>;

type ItemOf<R, F extends string> =
  NonNullable<R> extends { [K in F]?: infer L }
    ? NonNullable<L> extends ReadonlyArray<infer I>
      ? I
      : never
    : never;

/** Extra members of a paginated method: every page, or every item of every page. */
export interface Paginated<O extends OpTypes, Item> {
  /** Every page, from the first (or the cursor in params) until the server says there is no more. */
  pages(params?: O["params"], options?: RequestOptions): AsyncIterableIterator<O["result"]>;
  /** Every item of every page; stops when `hasMore` is false, without another request. */
  iterate(params?: O["params"], options?: RequestOptions): AsyncIterableIterator<Item>;
}

type MethodOf<O, Row> = O extends OpTypes
  ? Row extends { readonly pagination: { readonly itemsField: infer F extends string } }
    ? Method<O> & Paginated<O, ItemOf<O["result"], F>>
    : Method<O>
  : never;

/** The client's method groups: `client.<tag>.<operationId>(params, options)`. */
export type MethodGroups<Ops, Table> = {
  readonly [Tag in keyof Ops]: {
    readonly [K in keyof Ops[Tag]]: MethodOf<Ops[Tag][K], K extends keyof Table ? Table[K] : never>;
  };
};

export type Invoke = (
  operationId: string,
  row: OperationRow,
  params: Record<string, unknown>,
  options: RequestOptions,
) => Promise<WithResponse<unknown>>;

function paginate(operationId: string, row: OperationRow, pagination: Pagination, invoke: Invoke) {
  async function* pages(params: Record<string, unknown> = {}, options: RequestOptions = {}) {
    let cursor: unknown = params[pagination.cursorParam] ?? pagination.firstCursor;
    const seen = new Set<unknown>([cursor]);
    for (;;) {
      const next: Record<string, unknown> = { ...params };
      if (cursor !== undefined) next[pagination.cursorParam] = cursor;
      const { data } = await invoke(operationId, row, next, options);
      yield data;
      const page = (data ?? {}) as Record<string, unknown>;
      if (page[pagination.hasMoreField] !== true) return;
      cursor = page[pagination.cursorField];
      // A missing or repeated cursor would loop forever: stop instead.
      if (cursor === undefined || cursor === null || seen.has(cursor)) return;
      seen.add(cursor);
    }
  }
  async function* iterate(params?: Record<string, unknown>, options?: RequestOptions) {
    for await (const page of pages(params, options)) {
      const items = (page as Record<string, unknown> | undefined)?.[pagination.itemsField];
      if (Array.isArray(items)) yield* items;
    }
  }
  return { pages, iterate };
}

export function createMethods<Ops, Table extends OperationTable>(
  table: Table,
  invoke: Invoke,
): MethodGroups<Ops, Table> {
  const groups: Record<string, Record<string, unknown>> = {};
  for (const [operationId, row] of Object.entries(table)) {
    const method = (params?: Record<string, unknown>, options?: RequestOptions) =>
      new APIPromise(invoke(operationId, row, params ?? {}, options ?? {}));
    if (row.pagination) Object.assign(method, paginate(operationId, row, row.pagination, invoke));
    groups[row.tag] ??= {};
    (groups[row.tag] as Record<string, unknown>)[operationId] = method;
  }
  return groups as MethodGroups<Ops, Table>;
}
