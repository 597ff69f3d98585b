/**
 * board_crash_test.ts — every post the board acknowledged survives SIGKILL.
 *
 * A child process (tests/_support/board_child.ts) posts through `handle()`
 * and prints `ok I` after each 303; we kill it without warning once it has
 * acknowledged 20 posts, then open the database ourselves. The child never
 * closes the board, so nothing is checkpointed or flushed on the way out:
 * what we find is what the commits put on disk. (A power cut cannot be
 * tested here; `synchronous=FULL` is what covers it.)
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Board, type BoardMessage } from "../../lib/pages/board.ts";
import { DENO_JSON } from "../_support/paths.ts";
import { withTempDir } from "../_support/server.ts";
import { readLines } from "../_support/streams.ts";

/** How many acknowledged posts we wait for before the kill. */
const KILL_AFTER = 20;
/** How many the child would post if left alone: enough to be killed mid-stream. */
const CHILD_POSTS = 500;
/** How long the child may take to reach KILL_AFTER before it is killed anyway. */
const CHILD_TIMEOUT_MS = 30_000;

Deno.test("every acknowledged post survives a SIGKILL", async () => {
  await withTempDir(async (dir) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        `--config=${DENO_JSON}`,
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        fileURLToPath(new URL("../_support/board_child.ts", import.meta.url)),
        dir,
        String(CHILD_POSTS),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const guard = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);

    // Every "ok I" line, including those still in the pipe after the kill,
    // is a post the child saw answered 303 before it died.
    const acknowledged: number[] = [];
    for await (const line of readLines(child.stdout)) {
      const match = /^ok (\d+)$/.exec(line);
      if (match === null) continue;
      acknowledged.push(Number(match[1]));
      if (acknowledged.length === KILL_AFTER) child.kill("SIGKILL");
    }
    const status = await child.status;
    clearTimeout(guard);
    assert.ok(acknowledged.length >= KILL_AFTER, `the child stopped early: ${await stderr}`);
    assert.equal(status.signal, "SIGKILL");
    await stderr;

    const board = Board.open(dir);
    try {
      const response = await board.handle(
        new Request("http://127.0.0.1/board", { headers: { accept: "application/json" } }),
      );
      const stored = (await response.json() as BoardMessage[]).map((m) => m.message);
      const last = acknowledged.at(-1)!;
      assert.deepEqual(acknowledged, Array.from({ length: last }, (_, i) => i + 1));
      for (const i of acknowledged) {
        assert.ok(stored.includes(`message ${i}`), `acknowledged message ${i} is lost`);
      }
      // At most one more: committed, killed before it could say so.
      assert.ok(stored.length === last || stored.length === last + 1, `${stored.length} stored`);
    } finally {
      await board.close();
    }
  });
});
