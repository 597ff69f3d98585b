/**
 * board_child.ts — run by tests/pages/board_crash_test.ts as a child process
 * to be SIGKILLed while it posts to a {@linkcode Board}.
 *
 * Usage: board_child.ts DATA_DIR COUNT
 *
 * Opens the board in DATA_DIR, posts `message 1` … `message COUNT` through
 * `handle()`, printing `ok I` as soon as post I has been answered 303 (the
 * moment a browser would consider it stored), then waits to be killed. It
 * never closes the board: a crash does not either.
 */

import { Board } from "../../lib/pages/board.ts";

/** How often the idle timer fires while waiting to be killed; it only keeps the process alive. */
const IDLE_TICK_MS = 60_000;

const [dir, countArg] = Deno.args;
const count = Number(countArg);
if (dir === undefined || !Number.isSafeInteger(count) || count < 1) {
  throw new TypeError("Cannot run: usage is board_child.ts DATA_DIR COUNT");
}

const board = Board.open(dir);
for (let i = 1; i <= count; i++) {
  const response = await board.handle(
    new Request("http://127.0.0.1/board", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ message: `message ${i}` }),
    }),
  );
  if (response.status !== 303) {
    throw new Error(`Cannot post message ${i}: status ${response.status}`);
  }
  console.log(`ok ${i}`);
}
setInterval(() => {}, IDLE_TICK_MS);
