/**
 * wait.ts — waiting in tests: a plain delay, and polling a condition until
 * it holds or time runs out (bounded, so a test never hangs).
 */

/** delay waits `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** waitFor polls `check` every 20 ms for up to `ms`; returns whether it ever held. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms: number,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await delay(20);
  }
}
