/**
 * board_store_test.ts — one suite, run against both board stores: SQLite in
 * a temporary directory, and PostgreSQL in a throwaway cluster
 * (tests/_support/postgres.ts; skipped, saying why, when its binaries are
 * missing). Then what only a networked store can do: be down, be slow,
 * come back.
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Board } from "../../lib/pages/board.ts";
import { PostgresBoardStore } from "../../lib/pages/board_postgres.ts";
import { BOARD_FILE, SqliteBoardStore } from "../../lib/pages/board_sqlite.ts";
import { type BoardStore, SCHEMA_VERSION, StoreUnavailable } from "../../lib/pages/board_store.ts";
import { HttpError } from "../../lib/http/http_error.ts";
import { type PgCluster, postgresSkipReason, startPostgres } from "../_support/postgres.ts";
import { withTempDir } from "../_support/server.ts";

/** Fixture is what the suite needs from one kind of store, beyond the interface. */
interface Fixture {
  /** fresh makes an empty place for a store (a directory, a database) and returns its name. */
  fresh(): Promise<string>;
  /** open opens a store on `place`. */
  open(place: string): BoardStore;
  /** bulk inserts posts "post 1" … "post N" straight into `place`, in one transaction. */
  bulk(place: string, count: number): Promise<void>;
  /** plan is the query plan of the store's page query, `before` or not. */
  plan(place: string, before: boolean): Promise<string>;
  /** versions lists the rows of `schema_version`. */
  versions(place: string): Promise<number[]>;
}

/** A flood the page query must not read whole. */
const FLOOD = 10_000;

/** CASES are the shared suite: every store must pass each. */
const CASES: [name: string, fn: (fixture: Fixture) => Promise<void>][] = [
  ["an empty store: no posts, count 0, ping answers", async (f) => {
    const store = f.open(await f.fresh());
    try {
      assert.deepEqual(await store.newest(10), []);
      assert.equal(await store.count(), 0);
      await store.ping();
    } finally {
      await store.close();
    }
  }],
  ["add returns increasing ids; newest pages backwards from a cursor", async (f) => {
    const store = f.open(await f.fresh());
    try {
      const ids = [];
      for (let i = 1; i <= 7; i++) ids.push(await store.add(`post ${i}`, 1_700_000_000_000 + i));
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, "increasing");
      assert.equal(await store.count(), 7);
      const first = await store.newest(3);
      assert.deepEqual(first.map((p) => p.body), ["post 7", "post 6", "post 5"]);
      assert.deepEqual(first.map((p) => p.postedAt), [7, 6, 5].map((i) => 1_700_000_000_000 + i));
      const second = await store.newest(3, first.at(-1)!.id);
      assert.deepEqual(second.map((p) => p.body), ["post 4", "post 3", "post 2"]);
      const last = await store.newest(3, second.at(-1)!.id);
      assert.deepEqual(last.map((p) => p.body), ["post 1"]);
      assert.deepEqual(await store.newest(3, last[0]!.id), []);
    } finally {
      await store.close();
    }
  }],
  ["text comes back exactly: unicode, markup, line breaks, 2000 characters", async (f) => {
    const store = f.open(await f.fresh());
    try {
      const bodies = [
        "ünïcödé 😀 漢字",
        "<script>alert(1)</script> & 'q' \"",
        "a\nb\tc",
        "x".repeat(2000),
      ];
      for (const body of bodies) await store.add(body, 0);
      assert.deepEqual((await store.newest(10)).map((p) => p.body).toReversed(), bodies);
    } finally {
      await store.close();
    }
  }],
  ["clear deletes every post; posting goes on after it", async (f) => {
    const store = f.open(await f.fresh());
    try {
      for (let i = 0; i < 5; i++) await store.add(`p${i}`, i);
      await store.clear();
      assert.equal(await store.count(), 0);
      assert.deepEqual(await store.newest(10), []);
      await store.add("after", 9);
      assert.deepEqual((await store.newest(10)).map((p) => p.body), ["after"]);
    } finally {
      await store.close();
    }
  }],
  ["posts survive closing and reopening; the schema is versioned once", async (f) => {
    const place = await f.fresh();
    const first = f.open(place);
    await first.add("kept", 1);
    await first.close();
    await first.close(); // a second close does nothing
    const second = f.open(place);
    try {
      assert.deepEqual((await second.newest(5)).map((p) => p.body), ["kept"]);
      assert.deepEqual(await f.versions(place), [SCHEMA_VERSION]);
    } finally {
      await second.close();
    }
  }],
  ["concurrent adds all commit, each with its own id", async (f) => {
    const store = f.open(await f.fresh());
    try {
      const ids = await Promise.all(
        Array.from({ length: 25 }, (_, i) => store.add(`c${i}`, i)),
      );
      assert.equal(new Set(ids).size, 25);
      assert.equal(await store.count(), 25);
    } finally {
      await store.close();
    }
  }],
  [`${FLOOD} posts: a page reads LIMIT rows along the primary key`, async (f) => {
    const place = await f.fresh();
    const store = f.open(place);
    try {
      await store.ping(); // the schema exists
      await f.bulk(place, FLOOD);
      assert.equal(await store.count(), FLOOD);
      const page = await store.newest(51);
      assert.equal(page.length, 51);
      assert.equal(page[0]!.body, `post ${FLOOD}`);
      const older = await store.newest(51, page.at(-1)!.id);
      assert.equal(older[0]!.body, `post ${FLOOD - 51}`);
      for (const before of [false, true]) {
        const plan = await f.plan(place, before);
        assert.doesNotMatch(plan, /TEMP B-TREE|Sort|Seq Scan/, plan);
      }
    } finally {
      await store.close();
    }
  }],
  ["a closed store rejects; the board then answers 503", async (f) => {
    const store = f.open(await f.fresh());
    await store.close();
    await assert.rejects(store.add("late", 0));
    if (store instanceof PostgresBoardStore) {
      await assert.rejects(store.add("late", 0), StoreUnavailable);
    }
  }],
];

Deno.test("board store suite: SQLite", async (t) => {
  await withTempDir(async (dir) => {
    let n = 0;
    const fixture: Fixture = {
      async fresh() {
        const place = join(dir, `s${n++}`);
        await Deno.mkdir(place);
        return place;
      },
      open: (place) => SqliteBoardStore.open(place),
      bulk(place, count) {
        withDb(place, (db) => {
          db.exec("BEGIN");
          const insert = db.prepare("INSERT INTO messages (body, posted_at) VALUES (?, ?)");
          for (let i = 1; i <= count; i++) insert.run(`post ${i}`, i);
          db.exec("COMMIT");
        });
        return Promise.resolve();
      },
      plan(place, before) {
        const where = before ? "WHERE id < 500 " : "";
        return Promise.resolve(withDb(place, (db) =>
          (db.prepare(
            `EXPLAIN QUERY PLAN SELECT id, body, posted_at FROM messages ${where}ORDER BY id DESC LIMIT 51`,
          ).all() as { detail: string }[]).map((r) => r.detail).join("; ")));
      },
      versions: (place) =>
        Promise.resolve(
          withDb(place, (db) =>
            (db.prepare("SELECT version FROM schema_version").all() as { version: number }[])
              .map((r) =>
                r.version
              )),
        ),
    };
    for (const [name, fn] of CASES) await t.step(name, () => fn(fixture));
  });
});

/** withDb opens the SQLite file in `place` directly for `fn`. */
function withDb<T>(place: string, fn: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(join(place, BOARD_FILE));
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

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
  const fixture: Fixture = {
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
  for (const [name, fn] of CASES) await t.step(name, () => fn(fixture));
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
