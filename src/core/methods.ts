import { APIPromise, type WithResponse } from "./api-promise.js";
import type { TokenKind } from "./engine.js";
import { type CallSite, ConfigError, PaginationError } from "./errors.js";
import type { AccessTokenInput, RequestOptions } from "./options.js";
import { checkObject } from "./validate.js";

// Turns a generated operation table into methods grouped by tag (octokit's endpoints-to-methods):
// the table is data, this is the one function that makes it callable.
export type ParamLocation = "path" | "query" | "header" | "body";

export interface Pagination {
  readonly cursorParam: string;
  readonly cursorField: string;
  /** Without it, there are more pages while the answer's cursor is non-empty. */
  readonly hasMoreField?: string;
  readonly itemsField: string;
  readonly firstCursor?: number | string;
}

/** One row of a generated operation table (`generated/<api>/operations.ts`). */
export interface OperationRow {
  readonly method: string;
  readonly path: string;
  readonly tag: string;
  readonly params: Readonly<Record<string, ParamLocation>>;
  readonly noBody?: boolean;
  /** The JSON body may be absent: an empty answer is `undefined`, not a ParseError. */
  readonly optionalBody?: boolean;
  /** The JSON body takes fields besides those `params` names: any other key of the params goes there. */
  readonly openBody?: boolean;
  readonly idempotent: boolean;
  readonly token: TokenKind;
  readonly pagination?: Pagination;
  readonly rateLimits?: ReadonlyArray<RateLimit>;
}
type RateLimit = { readonly calls: number; readonly seconds: number; readonly scope: string };

export type OperationTable = Readonly<Record<string, OperationRow>>;

type OpTypes = { params: unknown; result: unknown };

/** An operation's params, or `undefined` where the spec requires none of them. */
type ParamsOrNone<O extends OpTypes> =
  Record<never, never> extends O["params"] ? O["params"] | undefined : O["params"];

/** The options of a call to an operation that needs a *user* token: the token is not optional. */
export type UserTokenOptions<Options extends RequestOptions = RequestOptions> = Options & {
  accessToken: AccessTokenInput;
};

/**
 * A method: params required at compile time exactly when the spec requires one of them; for an
 * operation that takes a user token (`token: "user"` in its row), the options and their
 * `accessToken` too, as the client refuses the call without one.
 */
export type Method<O extends OpTypes, Row = unknown> = Row extends { readonly token: "user" }
  ? (params: ParamsOrNone<O>, options: UserTokenOptions) => APIPromise<O["result"]>
  : Record<never, never> extends O["params"]
    ? (params?: O["params"], options?: RequestOptions) => APIPromise<O["result"]>
    : (params: O["params"], options?: RequestOptions) => APIPromise<O["result"]>;

type ItemOf<R, F extends string> =
  NonNullable<R> extends { [K in F]?: infer L }
    ? NonNullable<L> extends ReadonlyArray<infer I>
      ? I
      : never
    : never;

/** A call's options, and how many empty pages in a row that still say "more" are accepted (10). */
export type PageOptions = RequestOptions & {
  /** Empty pages in a row after which a listing that says there is more ends in a PaginationError. Default 10, at least 1, at most 1,000. */
  maxEmptyPages?: number | undefined;
};

/**
 * A listing's params: the method's, its cursor optional (the listing starts from the first page, or
 * the spec's `firstCursor`, when none is given).
 */
type ListingOf<O extends OpTypes, Cursor extends string> = {
  params: Cursor extends keyof O["params"]
    ? Omit<O["params"], Cursor> & Partial<Pick<O["params"], Cursor>>
    : O["params"];
  result: O["result"];
};

/** A listing's arguments: its params required exactly when the spec requires one of them, as the method's are. */
type PageArgs<O extends OpTypes> =
  Record<never, never> extends O["params"]
    ? [params?: O["params"], options?: PageOptions]
    : [params: O["params"], options?: PageOptions];

/**
 * Extra members of a paginated method: every page, or every item of every page. A listing that
 * cannot end (a cursor seen before, none given, `maxEmptyPages` empty pages) throws a PaginationError.
 */
export interface Paginated<O extends OpTypes, Item> {
  /** Every page, from the first (or the cursor in params) until the server says there is no more. */
  pages(...args: PageArgs<O>): AsyncIterableIterator<O["result"]>;
  /** Every item of every page; stops when `hasMore` is false, without another request. */
  iterate(...args: PageArgs<O>): AsyncIterableIterator<Item>;
}

/** The paginators of an operation that takes a user token: the options and their `accessToken` are required. */
export interface UserPaginated<O extends OpTypes, Item> {
  pages(params: ParamsOrNone<O>, options: UserTokenOptions<PageOptions>): AsyncIterableIterator<O["result"]>;
  iterate(params: ParamsOrNone<O>, options: UserTokenOptions<PageOptions>): AsyncIterableIterator<Item>;
}

type MethodOf<O, Row> = O extends OpTypes
  ? Row extends {
      readonly pagination: {
        readonly itemsField: infer F extends string;
        readonly cursorParam: infer C extends string;
      };
    }
    ? Method<O, Row> &
        (Row extends { readonly token: "user" }
          ? UserPaginated<ListingOf<O, C>, ItemOf<O["result"], F>>
          : Paginated<ListingOf<O, C>, ItemOf<O["result"], F>>)
    : Method<O, Row>
  : never;

/**
 * Params whose optional members also take `undefined`, as the client reads them (a member set to
 * `undefined` is not sent): under `exactOptionalPropertyTypes`, `{ maxResults: n }` with `n: number |
 * undefined` type-checks as it runs.
 */
type Undefinable<P> = P extends object
  ? [keyof Named<P>] extends [never]
    ? P // no params (`Record<string, never>`), or only an index signature: nothing to loosen
    : Loose<Named<P>> & { [K in keyof P as string extends K ? K : never]: P[K] | undefined }
  : P;
/** P's named members, without its index signature (an open body's `[key: string]: …`). */
type Named<P> = { [K in keyof P as string extends K ? never : number extends K ? never : K]: P[K] };
/** Each optional member of P also takes `undefined`. */
type Loose<P> = { [K in keyof P]: P[K] | (Record<never, never> extends Pick<P, K> ? undefined : never) };
type Loosened<O> = { [K in keyof O]: K extends "params" ? Undefinable<O[K]> : O[K] };

/** The client's method groups: `client.<tag>.<operationId>(params, options)`. */
export type MethodGroups<Ops, Table> = {
  readonly [Tag in keyof Ops]: {
    readonly [K in keyof Ops[Tag]]: MethodOf<Loosened<Ops[Tag][K]>, K extends keyof Table ? Table[K] : never>;
  };
};

/** A call: its answer's data, and how to make the `withResponse()` result from that answer (else it is one). */
export interface Invoke {
  (
    operationId: string,
    row: OperationRow,
    params: Record<string, unknown>,
    options: RequestOptions,
  ): Promise<{ data: unknown }>;
  result?: ((answer: never) => WithResponse<unknown>) | undefined;
}

// Cursor loops are found in bounded memory: the last 1000 cursors (fewer when they are long: at most
// 1 Mi characters in all) catch a short one before a page repeats; a longer one meets Brent's
// checkpoint (the cursor at each power of two of pages) within twice its length. Keeping every cursor
// would grow without bound on an endless listing, or on one of cursors of megabytes.
const REMEMBERED = 1000;
const REMEMBERED_CHARS = 1 << 20;
const charsOf = (cursor: unknown) => (typeof cursor === "string" ? cursor.length : 0);

/** Empty pages in a row a listing reads by default (`maxEmptyPages`), and the most whatever it asks. */
export const DEFAULT_EMPTY_PAGES = 10;
export const MAX_EMPTY_PAGES = 1000;

/**
 * A call's params and options: each an object, or null or undefined for none; a ConfigError naming
 * the other. A method and its paginators report it as any failure of theirs: as a rejection.
 */
function checkCall(params: unknown, options: unknown, site: CallSite): void {
  if (params !== undefined && params !== null) checkObject(`${site.operationId}: params`, params, site);
  if (options !== undefined && options !== null) checkObject(`${site.operationId}: options`, options, site);
}

/**
 * A listing's params and options, read once: every page lists what the params were when the
 * listing started, and a getter or Proxy trap that throws is refused as a method refuses it (a
 * ConfigError), not thrown as it is.
 */
function listingOf(
  given: Record<string, unknown> | null | undefined,
  options: PageOptions | null | undefined,
  pagination: Pagination,
  site: CallSite,
) {
  checkCall(given, options, site);
  let params: Record<string, unknown>;
  let request: RequestOptions;
  let pages: unknown;
  try {
    params = { ...given };
    ({ maxEmptyPages: pages, ...request } = options ?? {});
  } catch {
    throw new ConfigError(
      `${site.operationId}: params or options cannot be read (a getter or Proxy threw)`,
      site,
    );
  }
  // null is none, as for every option; a count that is not a number is refused before any page.
  const count = pages ?? DEFAULT_EMPTY_PAGES;
  if (typeof count !== "number")
    throw new ConfigError(`${site.operationId}: maxEmptyPages must be a number of pages`, site);
  // A careless count (NaN, 0, -1) reads one: the listing stops at its first empty page, and pages
  // with items go on (read as 0, it stopped after the first page whatever it held). Infinity, or any
  // count past the most, would list empty pages for ever: held to the most.
  const maxEmptyPages = count >= 1 ? Math.min(Math.floor(count), MAX_EMPTY_PAGES) : 1;
  const first: unknown = params[pagination.cursorParam] ?? pagination.firstCursor;
  return { params, request, maxEmptyPages, first };
}

function paginate(operationId: string, row: OperationRow, pagination: Pagination, invoke: Invoke) {
  const { cursorParam, cursorField, hasMoreField, itemsField } = pagination;
  const site = { operationId, method: row.method, path: row.path };
  async function* pages(given?: Record<string, unknown> | null, options?: PageOptions | null) {
    const { params, request, maxEmptyPages, first } = listingOf(given, options, pagination, site);
    let cursor = first;
    const recent = new Set<unknown>([cursor]);
    let kept = charsOf(cursor);
    for (let page = 1, empty = 0, checkpoint = cursor; ; page++) {
      const next = cursor === undefined ? params : { ...params, [cursorParam]: cursor };
      const { data } = await invoke(operationId, row, next, request);
      yield data;
      const body = (data ?? {}) as Record<string, unknown>;
      cursor = body[cursorField];
      const none = cursor === undefined || cursor === null || cursor === "";
      if (hasMoreField ? body[hasMoreField] !== true : none) return;
      empty = Array.isArray(body[itemsField]) && (body[itemsField] as []).length > 0 ? 0 : empty + 1;
      // The listing is incomplete: say so rather than end as if it were whole, or run forever.
      // Cursors are compared by value, so only strings and numbers are taken (an object is new each page).
      const odd = !none && typeof cursor !== "string" && typeof cursor !== "number";
      const repeated = recent.has(cursor) || cursor === checkpoint;
      if (none || odd || repeated || empty >= maxEmptyPages) {
        const why = none
          ? "gave no cursor"
          : odd
            ? `gave a cursor that is not a string or a number (${typeof cursor})`
            : repeated
              ? "repeated a cursor"
              : `sent ${empty} empty pages`;
        throw new PaginationError(`${operationId}: the server says there is more but ${why}`, site);
      }
      recent.add(cursor);
      kept += charsOf(cursor);
      while (recent.size > REMEMBERED || (kept > REMEMBERED_CHARS && recent.size > 1)) {
        const oldest = recent.values().next().value;
        recent.delete(oldest);
        kept -= charsOf(oldest);
      }
      if ((page & (page - 1)) === 0) checkpoint = cursor;
    }
  }
  async function* iterate(params?: Record<string, unknown> | null, options?: PageOptions | null) {
    for await (const page of pages(params, options)) {
      const items = (page as Record<string, unknown> | undefined)?.[itemsField];
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
  const toResult = invoke.result ?? ((answer: never) => answer as WithResponse<unknown>);
  for (const [operationId, row] of Object.entries(table)) {
    const site = { operationId, method: row.method, path: row.path };
    const method = (params?: Record<string, unknown> | null, options?: RequestOptions | null) => {
      let sent: Promise<{ data: unknown }>;
      try {
        checkCall(params, options, site);
        sent = invoke(operationId, row, params ?? {}, options ?? {});
      } catch (error) {
        sent = Promise.reject(error);
      }
      return new APIPromise(sent, toResult);
    };
    if (row.pagination) Object.assign(method, paginate(operationId, row, row.pagination, invoke));
    groups[row.tag] ??= {};
    (groups[row.tag] as Record<string, unknown>)[operationId] = method;
  }
  return groups as MethodGroups<Ops, Table>;
}
