/**
 * random.ts — one seeded PRNG for tests and benchmarks, so a failing input
 * or a load mix can be reproduced from its seed, and the one reader of a
 * seed from the environment (`FUZZ_SEED=<n>` replays a fuzz campaign).
 */

/** mulberry32 returns a generator of numbers in [0, 1) fully determined by `seed`. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * readSeed returns the integer in the environment variable `variable` (e.g.
 * `FUZZ_SEED`) when it is set, non-empty and readable, else `fallback`, so a
 * failing campaign can be replayed. It throws a RangeError naming the
 * variable when the value is not a safe integer.
 */
export function readSeed(variable: string, fallback: number): number {
  const granted = Deno.permissions.querySync({ name: "env", variable }).state;
  const raw = granted === "granted" ? Deno.env.get(variable) : undefined;
  if (raw === undefined || raw === "") return fallback;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`Cannot use ${variable} "${raw}": value must be an integer`);
  }
  return seed;
}
