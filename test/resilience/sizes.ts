/**
 * The sizes of the resilience runs the README describes: the tests use these, and test/readme.test.ts
 * checks the README's sentences against them.
 */

/** load.test.ts: calls made, and how many at once. */
export const LOAD = { calls: 2_000, inFlight: 100 } as const;

/** redis.test.ts: processes sharing one token through Redis, and the calls each makes. */
export const SHARED_TOKEN = { processes: 4, calls: 50 } as const;
