import { inspect } from "node:util";

/**
 * Every way an error can be shown: String(), message, stack, JSON, util.inspect with hidden fields,
 * its cause and its body. A planted secret must appear in none of them.
 */
export function shown(error: unknown): string {
  const e = error as { message?: unknown; stack?: unknown; cause?: unknown; body?: unknown } | undefined;
  return [
    String(error),
    String(e?.message),
    String(e?.stack),
    JSON.stringify(error),
    inspect(error, { depth: 8, showHidden: true }),
    inspect(e?.cause, { depth: 8, showHidden: true }),
    JSON.stringify(e?.body),
  ].join("\n");
}

/** The mock issues tokens as 32 hex digits: no such run may appear in anything shown. */
export const MOCK_TOKEN_SHAPE = /[0-9a-f]{32}/;

/** The planted values found in `text` (empty when none is there). */
export function leaked(text: string, planted: readonly string[]): string[] {
  return planted.filter((secret) => secret.length > 0 && text.includes(secret));
}

/** How a call ended: its data, or the error it threw. */
export interface Settled<T> {
  data?: T;
  error?: unknown;
}

/**
 * A `settle` for a suite: awaits a call within `boundMs` and resolves with its data or the error it
 * threw, which is kept in `thrown` for the suite's secret check. A call still running at the bound
 * fails the test.
 */
export function settler(boundMs: number, thrown: unknown[]): <T>(promise: Promise<T>) => Promise<Settled<T>> {
  return async <T>(promise: Promise<T>): Promise<Settled<T>> => {
    const overrun = new Error(`the call did not end within ${boundMs} ms`);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(overrun), boundMs);
    });
    try {
      return { data: await Promise.race([promise, bound]) };
    } catch (error) {
      if (error === overrun) throw error;
      thrown.push(error);
      return { error };
    } finally {
      clearTimeout(timer);
    }
  };
}
