/**
 * board_sqlite_test.ts — lib/pages/board_sqlite.ts: the shared board store
 * suite (tests/_support/board_store_suite.ts) against SQLite in a temporary
 * directory, then what only the file store does: name its file when it
 * cannot open it, refuse a newer schema, keep its journal in WAL mode.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { BOARD_FILE, SqliteBoardStore } from "../../lib/pages/board_sqlite.ts";
import { SCHEMA_VERSION } from "../../lib/pages/board_store.ts";
import { runBoardStoreSuite, type StoreFixture } from "../_support/board_store_suite.ts";
import { withTempDir } from "../_support/server.ts";

Deno.test("board store suite: SQLite", async (t) => {
  await withTempDir(async (dir) => {
    let n = 0;
    const fixture: StoreFixture = {
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
    await runBoardStoreSuite(t, fixture);
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

Deno.test("SqliteBoardStore.open names the file it cannot open, and why", async (t) => {
  await withTempDir(async (dir) => {
    await t.step("a missing directory", () => {
      assert.throws(
        () => SqliteBoardStore.open(join(dir, "no-such-dir")),
        /^Error: Cannot open message board ".*no-such-dir\/board\.sqlite3": /,
      );
    });
    await t.step("a file that is not a database", async () => {
      const place = join(dir, "text");
      await Deno.mkdir(place);
      await Deno.writeTextFile(join(place, BOARD_FILE), "not a database, just text ".repeat(50));
      assert.throws(() => SqliteBoardStore.open(place), /Cannot open message board/);
    });
    await t.step("a schema newer than this minserve's", async () => {
      const place = join(dir, "newer");
      await Deno.mkdir(place);
      await SqliteBoardStore.open(place).close();
      withDb(place, (db) => {
        db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(SCHEMA_VERSION + 1);
      });
      assert.throws(
        () => SqliteBoardStore.open(place),
        new RegExp(`schema version ${SCHEMA_VERSION + 1} is newer than this minserve's`),
      );
    });
  });
});

Deno.test("SqliteBoardStore keeps a write-ahead log, so readers never block a post", async () => {
  await withTempDir(async (dir) => {
    const store = SqliteBoardStore.open(dir);
    try {
      await store.add("logged", 1);
      const mode = withDb(dir, (db) => db.prepare("PRAGMA journal_mode").get()) as {
        journal_mode: string;
      };
      assert.equal(mode.journal_mode, "wal");
      // A reader holding a transaction open does not stop the next post.
      const reader = new DatabaseSync(join(dir, BOARD_FILE));
      try {
        reader.exec("BEGIN");
        reader.prepare("SELECT count(*) FROM messages").get();
        await store.add("while read", 2);
        reader.exec("COMMIT");
      } finally {
        reader.close();
      }
      assert.equal(await store.count(), 2);
    } finally {
      await store.close();
    }
  });
});
