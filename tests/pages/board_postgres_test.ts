/**
 * board_postgres_test.ts — lib/pages/board_postgres.ts: the shared board
 * store suite (tests/_support/board_store_suite.ts) against PostgreSQL in a
 * throwaway cluster (tests/_support/postgres.ts; skipped, saying why, when
 * its binaries are missing), then what only a networked store can do: be
 * down, be slow, come back.
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { Board } from "../../lib/pages/board.ts";
import { PostgresBoardStore } from "../../lib/pages/board_postgres.ts";
import { SCHEMA_VERSION, StoreUnavailable } from "../../lib/pages/board_store.ts";
import { HttpError } from "../../lib/http/http_error.ts";
import { runBoardStoreSuite, type StoreFixture } from "../_support/board_store_suite.ts";
import { type PgCluster, postgresSkipReason, startPostgres } from "../_support/postgres.ts";

const pgSkip = await postgresSkipReason();

/** pgTest registers a test that gets a running cluster, or an ignored test naming why not. */
function pgTest(name: string, fn: (pg: PgCluster, t: Deno.TestContext) => Promise<void>): void {
  if (pgSkip !== undefined) {
    Deno.test({ name: `${name} (skipped: ${pgSkip})`, ignore: true, fn() {} });
    return;
  }
  Deno.test(name, async (t) => {
    await using pg = await startPostgres();
    await fn(pg, t);
  });
}

pgTest("board store suite: PostgreSQL", async (pg, t) => {
  let n = 0;
  const fixture: StoreFixture = {
    async fresh() {
      const name = `board_${n++}`;
      await pg.createDatabase(name);
      return name;
    },
    open: (place) => new PostgresBoardStore(pg.url(place)),
    async bulk(place, count) {
      await pg.query(
        place,
        `INSERT INTO messages (body, posted_at)
         SELECT 'post ' || i, to_timestamp(i) FROM generate_series(1, ${count}) AS i;
         ANALYZE messages`,
      );
    },
    async plan(place, before) {
      const where = before ? "WHERE id < 500 " : "";
      const rows = await pg.query(
        place,
        `EXPLAIN SELECT id, body, posted_at FROM messages ${where}ORDER BY id DESC LIMIT 51`,
      );
      const plan = rows.map((r) => String(r["QUERY PLAN"])).join("\n");
      assert.match(plan, /Limit/);
      assert.match(plan, /Index Scan Backward using messages_pkey/);
      return plan;
    },
    async versions(place) {
      return (await pg.query(place, "SELECT version FROM schema_version")).map((r) =>
        Number(r.version)
      );
    },
  };
  await runBoardStoreSuite(t, fixture);
});

/** elapsed runs `fn` and returns how long it took to settle, and its error. */
async function settle(fn: () => Promise<unknown>): Promise<{ ms: number; err: unknown }> {
  const started = performance.now();
  const err = await fn().then(() => undefined, (e) => e);
  return { ms: performance.now() - started, err };
}

/** A bound of our own, shorter than the default, so the test stays short. */
const TEST_TIMEOUT_MS = 1_000;
/** How far past its bound a call may settle on a busy machine: generous, this is not a speed test. */
const SLACK_MS = 4_000;

pgTest(
  "PostgreSQL down: 503 within the bound, and the store reconnects when it is back",
  async (pg) => {
    await pg.createDatabase("downtime");
    const store = new PostgresBoardStore(pg.url("downtime"), { timeoutMs: TEST_TIMEOUT_MS });
    const board = new Board(store);
    try {
      await store.add("before", 1);
      await pg.stop();
      const down = await settle(() => store.add("while down", 2));
      assert.ok(down.err instanceof StoreUnavailable, String(down.err));
      assert.ok(down.ms < TEST_TIMEOUT_MS + SLACK_MS, `${down.ms} ms`);
      const page = await settle(() => board.handle(new Request("http://x/board")));
      assert.ok(page.err instanceof HttpError);
      assert.equal(page.err.status, 503);
      assert.equal(new Headers(page.err.headers).get("retry-after"), "5");
      await assert.rejects(store.ping(), StoreUnavailable);

      await pg.start();
      // The same store, without being reopened: the next call connects again.
      let back = false;
      for (let i = 0; i < 50 && !back; i++) {
        back = await store.ping().then(() => true, () => false);
      }
      assert.ok(back, "reconnected");
      await store.add("after", 3);
      assert.deepEqual((await store.newest(10)).map((p) => p.body), ["after", "before"]);
    } finally {
      await board.close();
    }
  },
);

pgTest("PostgreSQL that never answers: every call gives up within the bound", async () => {
  // A listener that accepts and says nothing: a hung server, or a black hole.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  const store = new PostgresBoardStore(`postgres://minserve@127.0.0.1:${port}/board`, {
    timeoutMs: TEST_TIMEOUT_MS,
  });
  try {
    for (const call of [() => store.add("x", 0), () => store.newest(5), () => store.ping()]) {
      const { ms, err } = await settle(call);
      assert.ok(err instanceof StoreUnavailable, String(err));
      // Our own bound, or the client's connect timeout started by an earlier call.
      assert.match(String((err as Error).cause), /within 1000 ms|CONNECT_TIMEOUT/);
      // Never a hang; it may fail sooner, when an earlier attempt's connect timed out.
      assert.ok(ms < TEST_TIMEOUT_MS + SLACK_MS, `${ms} ms`);
    }
  } finally {
    await store.close();
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});

pgTest(
  "PostgreSQL slow (a table lock held elsewhere): 503 within the bound, then posts again",
  async (pg) => {
    await pg.createDatabase("slow");
    const store = new PostgresBoardStore(pg.url("slow"), { timeoutMs: TEST_TIMEOUT_MS });
    const other = postgres(pg.url("slow"), { max: 1, onnotice: () => {} });
    try {
      await store.add("before", 1);
      const locker = await other.reserve();
      await locker`BEGIN`;
      await locker`LOCK TABLE messages IN ACCESS EXCLUSIVE MODE`;
      for (const call of [() => store.add("blocked", 2), () => store.newest(5)]) {
        const { ms, err } = await settle(call);
        assert.ok(err instanceof StoreUnavailable, String(err));
        assert.ok(ms < TEST_TIMEOUT_MS + SLACK_MS, `${ms} ms`);
      }
      await locker`ROLLBACK`;
      locker.release();
      await store.add("after", 3);
      // The blocked post was never acknowledged; it was cancelled with its statement.
      assert.deepEqual((await store.newest(10)).map((p) => p.body), ["after", "before"]);
    } finally {
      await other.end();
      await store.close();
    }
  },
);

pgTest("two stores creating the schema at once take turns", async (pg) => {
  await pg.createDatabase("race");
  const stores = Array.from({ length: 4 }, () => new PostgresBoardStore(pg.url("race")));
  try {
    await Promise.all(stores.map((s, i) => s.add(`from ${i}`, i)));
    assert.equal(await stores[0]!.count(), 4);
    const versions = await pg.query("race", "SELECT version FROM schema_version");
    assert.deepEqual(versions.map((r) => Number(r.version)), [SCHEMA_VERSION]);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});

pgTest(
  "PostgreSQL: the store's sessions commit synchronously, whatever the server's default",
  async (pg) => {
    await pg.createDatabase("durable");
    await pg.query("durable", "ALTER DATABASE durable SET synchronous_commit = off");
    const store = new PostgresBoardStore(pg.url("durable"));
    try {
      await store.ping(); // creates the schema
      // A column whose default records the inserting session's setting.
      await pg.query(
        "durable",
        "ALTER TABLE messages ADD COLUMN sc text DEFAULT current_setting('synchronous_commit')",
      );
      await store.add("on disk", 1);
      await pg.query("durable", "INSERT INTO messages (body, posted_at) VALUES ('other', now())");
      const rows = await pg.query("durable", "SELECT body, sc FROM messages ORDER BY id");
      assert.deepEqual(rows.map((r) => [r.body, r.sc]), [["on disk", "on"], ["other", "off"]]);
    } finally {
      await store.close();
    }
  },
);
