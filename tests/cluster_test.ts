/**
 * cluster_test.ts — several instances, one board (issue 15): a throwaway
 * PostgreSQL cluster, two minserve processes on it with `--board-db`, and
 * nginx in front as a round-robin load balancer, all on loopback.
 *
 * Posts made through either instance are seen through both, in order;
 * `kill -9` of one instance in the middle of a stream of posts loses no
 * acknowledged post, and the other keeps serving; with the database down
 * the survivor says 503 (and "not ready"), and serves posts again when it
 * is back, without a restart. Skipped, saying why, without PostgreSQL or
 * nginx (`.ci/run` installs both).
 */

import assert from "node:assert/strict";
import { POSTGRES_ENV_NAMES } from "../lib/config.ts";
import type { BoardMessage } from "../lib/pages/board.ts";
import { nginxSkipReason, startBalancer } from "./_support/nginx.ts";
import { postgresSkipReason, startPostgres } from "./_support/postgres.ts";
import { spawnServer, withTempDir } from "./_support/server.ts";
import { waitFor } from "./_support/wait.ts";

/** Acknowledged posts before the kill. */
const BEFORE_KILL = 15;
/** Acknowledged posts wanted after it (all on the survivor). */
const AFTER_KILL = 25;
/** A bound on attempts, so a broken cluster fails the test rather than looping. */
const MAX_ATTEMPTS = 200;

const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** post sends one board post; resolves to the status (a network error counts as 0). */
async function post(origin: string, message: string): Promise<number> {
  try {
    const response = await fetch(`${origin}/board`, {
      method: "POST",
      headers: FORM,
      body: new URLSearchParams({ message }),
      redirect: "manual",
    });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0;
  }
}

/** messages reads the board's newest page as JSON, oldest first. */
async function messages(origin: string): Promise<string[]> {
  const response = await fetch(`${origin}/board`, { headers: { accept: "application/json" } });
  assert.equal(response.status, 200, `${origin}: ${response.status}`);
  return (await response.json() as BoardMessage[]).map((m) => m.message);
}

const skip = (await postgresSkipReason()) ?? (await nginxSkipReason());

if (skip !== undefined) {
  Deno.test({
    name: `cluster: two instances, one board, behind nginx (skipped: ${skip})`,
    ignore: true,
    fn() {},
  });
} else {
  Deno.test("cluster: two instances, one board in PostgreSQL, behind nginx", async (t) => {
    await using pg = await startPostgres();
    await pg.createDatabase("board");
    await withTempDir(async (root) => {
      await Deno.writeTextFile(`${root}/index.html`, "<!doctype html><title>hi</title>same site");
      const spawn = () =>
        spawnServer({
          root,
          args: ["--board-db", pg.url("board")],
          allowEnv: [...POSTGRES_ENV_NAMES],
        });
      await using a = await spawn();
      await using b = await spawn();
      await using lb = await startBalancer([a.url, b.url]);

      await t.step("posts through either instance are seen through both, in order", async () => {
        const sent = Array.from({ length: 10 }, (_, i) => `post ${i + 1}`);
        for (const message of sent) assert.equal(await post(lb.url, message), 303, message);
        for (const origin of [a.url, b.url, lb.url, lb.url]) {
          assert.deepEqual(await messages(origin), sent, origin);
        }
        // Round robin: each instance took some of the posts.
        for (const server of [a, b]) {
          assert.match(server.stdoutText(), /"POST \/board HTTP\/1\.[01]" 303/);
        }
        // Both are ready: the root reads and the database answers.
        for (const origin of [a.url, b.url]) {
          assert.equal(await (await fetch(`${origin}/readyz`)).text(), "ready\n");
        }
      });

      await t.step("kill -9 of one instance mid-stream loses no acknowledged post", async () => {
        const clear = await fetch(`${lb.url}/board/clear`, {
          method: "POST",
          headers: FORM,
          body: "confirm=yes",
          redirect: "manual",
        });
        await clear.body?.cancel();
        assert.equal(clear.status, 303);

        const acknowledged: string[] = [];
        const refused: number[] = [];
        let afterKill = 0;
        let killed = false;
        for (let i = 1; i <= MAX_ATTEMPTS && afterKill < AFTER_KILL; i++) {
          const message = `stream ${i}`;
          const status = await post(lb.url, message);
          if (status === 303) {
            acknowledged.push(message);
            if (killed) afterKill++;
          } else {
            refused.push(status); // the post in flight to the killed instance: 502
          }
          if (acknowledged.length === BEFORE_KILL && !killed) {
            a.kill();
            killed = true;
          }
        }
        assert.equal((await a.status).signal, "SIGKILL");
        assert.equal(afterKill, AFTER_KILL, `refused: ${refused.join(", ")}`);
        // At most the one post in flight when the instance died went unanswered.
        assert.ok(refused.every((s) => s === 502 || s === 0), `refused: ${refused.join(", ")}`);
        assert.ok(refused.length <= 1, `refused: ${refused.join(", ")}`);

        // Every acknowledged post is stored, in the order it was acknowledged.
        const stored = await messages(b.url);
        const storedAcked = stored.filter((m) => acknowledged.includes(m));
        assert.deepEqual(storedAcked, acknowledged);
        // Anything else stored is the one unanswered post, committed before the kill.
        assert.ok(stored.length - acknowledged.length <= 1, `${stored.length} stored`);

        // The survivor keeps serving, through the balancer too.
        for (let i = 0; i < 4; i++) {
          const page = await fetch(`${lb.url}/index.html`);
          assert.equal(page.status, 200);
          assert.equal(await page.text(), "<!doctype html><title>hi</title>same site");
        }
        assert.deepEqual(await messages(lb.url), stored);
      });

      await t.step(
        "database down: 503 with Retry-After and not ready; back: posts again",
        async () => {
          await pg.stop();
          const ready = await fetch(`${b.url}/readyz`);
          assert.deepEqual([ready.status, await ready.text()], [503, "not ready\n"]);
          assert.equal(await fetch(`${b.url}/healthz`).then((r) => r.text()), "ok\n");
          const response = await fetch(`${b.url}/board`, {
            method: "POST",
            headers: { ...FORM, accept: "application/json" },
            body: "message=while+down",
            redirect: "manual",
          });
          assert.equal(response.status, 503);
          assert.equal(response.headers.get("retry-after"), "5");
          const body = await response.text();
          assert.deepEqual(JSON.parse(body), {
            status: 503,
            error: "Message board unavailable, try again shortly",
          });
          // The cause is in the error log, rate-limited, never in the page. The
          // log is written after the reply, so the line may arrive a moment later.
          assert.ok(
            await waitFor(() => /PostgreSQL board store unavailable/.test(b.stderrText()), 5_000),
            `the cause in the error log; stderr: ${b.stderrText()}`,
          );
          // Static files are served all the same.
          assert.equal(await fetch(`${b.url}/index.html`).then((r) => r.status), 200);

          await pg.start();
          assert.ok(
            await waitFor(
              async () => (await fetch(`${b.url}/readyz`).then((r) => r.text())) === "ready\n",
              20_000,
            ),
            "ready again",
          );
          assert.equal(await post(lb.url, "after the outage"), 303);
          assert.equal((await messages(b.url)).at(-1), "after the outage");
        },
      );
    });
  });
}
