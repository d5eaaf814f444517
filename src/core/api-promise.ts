/** The data of a call together with the raw answer it came from. */
export interface WithResponse<T> {
  data: T;
  response: Response;
  /** The request id, from the body or header the API's spec names (`x-imspec-errors`), when sent. */
  requestId: string | undefined;
}

/**
 * What every method returns: a Promise of the typed data, plus `.withResponse()` for the raw
 * Response and request id. Lazy: the data promise is made only when awaited, so calling only
 * `.withResponse()` leaves no second promise to reject unhandled. Given `toResult`, `inner` may hold
 * any answer with the data (the client's sent call), and the `withResponse()` result is made from it
 * only when asked for: a plain `await` reads the data alone.
 */
export class APIPromise<T> implements Promise<T> {
  readonly #inner: Promise<{ data: T }>;
  readonly #toResult: ((answer: never) => WithResponse<T>) | undefined;
  #result: Promise<WithResponse<T>> | undefined;
  #data: Promise<T> | undefined;

  constructor(inner: Promise<WithResponse<T>>);
  constructor(inner: Promise<{ data: T }>, toResult: (answer: never) => WithResponse<T>);
  constructor(inner: Promise<{ data: T }>, toResult?: (answer: never) => WithResponse<T>) {
    this.#inner = inner;
    this.#toResult = toResult;
  }

  withResponse(): Promise<WithResponse<T>> {
    const toResult = this.#toResult;
    if (!this.#result) {
      this.#result = toResult
        ? this.#inner.then((answer) => toResult(answer as never))
        : (this.#inner as Promise<WithResponse<T>>);
      // A result asked for and dropped must not turn a failure, handled where the data is awaited,
      // into an unhandled rejection: the caller still gets the rejecting promise.
      this.#result.catch(() => {});
    }
    return this.#result;
  }

  #promise(): Promise<T> {
    this.#data ??= this.#inner.then((r) => r.data);
    return this.#data;
  }

  // biome-ignore lint/suspicious/noThenProperty: this class is a Promise by design
  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#promise().then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.#promise().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.#promise().finally(onfinally);
  }

  readonly [Symbol.toStringTag] = "APIPromise";
}
