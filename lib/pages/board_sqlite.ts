/**
 * board_sqlite.ts — the board's embedded store: one SQLite file under
 * `--data-dir` (`node:sqlite`), needing nothing else.
 *
 * Write-ahead-log mode with `synchronous=FULL`: every commit is fsynced
 * before `add()` resolves, so a post the client saw acknowledged (the 303)
 * is on disk even if the process is killed the next instant. SQLite's calls
 * are synchronous; a commit blocks the event loop for one fsync, a fair
 * price for a page that is posted to by hand.
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { join } from "node:path";
import {
  type BoardStore,
  SCHEMA_VERSION,
  type StoredPost,
  StoreUnavailable,
} from "./board_store.ts";

/** BOARD_FILE is the database's file name inside the data directory. */
export const BOARD_FILE = "board.sqlite3";
/**
 * BUSY_TIMEOUT_MS: how long a write waits for another connection's lock (a
 * second process on the same file) before failing with 503.
 */
const BUSY_TIMEOUT_MS = 5_000;

interface Row {
  id: number;
  body: string;
  posted_at: number;
}

/**
 * SqliteBoardStore is a {@linkcode BoardStore} over `DIR/board.sqlite3`.
 * Needs read and write permission on the directory (SQLite adds `-wal` and
 * `-shm` files next to the database).
 */
export class SqliteBoardStore implements BoardStore {
  #db: DatabaseSync;
  #insert: StatementSync;
  #newest: StatementSync;
  #older: StatementSync;
  #clear: StatementSync;
  #count: StatementSync;
  #closed = false;

  private constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare("INSERT INTO messages (body, posted_at) VALUES (?, ?)");
    // id is the INTEGER PRIMARY KEY (the rowid): both reads walk the table's
    // own b-tree backwards from the start point and stop after LIMIT rows.
    this.#newest = db.prepare(
      "SELECT id, body, posted_at FROM messages ORDER BY id DESC LIMIT ?",
    );
    this.#older = db.prepare(
      "SELECT id, body, posted_at FROM messages WHERE id < ? ORDER BY id DESC LIMIT ?",
    );
    this.#clear = db.prepare("DELETE FROM messages");
    this.#count = db.prepare("SELECT count(*) AS n FROM messages");
  }

  /**
   * SqliteBoardStore.open opens `dataDir/board.sqlite3`, creating the file
   * and its schema if needed; the directory must exist. Throws an Error
   * naming the file when SQLite cannot open it (missing directory, no
   * permission, not a database, a newer schema).
   */
  static open(dataDir: string): SqliteBoardStore {
    const path = join(dataDir, BOARD_FILE);
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path);
      // WAL: a commit appends to the log and readers never block writers.
      // FULL: the log is fsynced at every commit, so an acknowledged post
      // survives power loss too, not only a crash of this process.
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = FULL");
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      migrate(db);
      return new SqliteBoardStore(db);
    } catch (err) {
      db?.close();
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`Cannot open message board "${path}": ${reason}`, { cause: err });
    }
  }

  add(body: string, postedAt: number): Promise<number> {
    return this.#run(() => {
      const result = this.#insert.run(body, postedAt);
      return Number(result.lastInsertRowid);
    }, true);
  }

  newest(limit: number, before?: number): Promise<StoredPost[]> {
    return this.#run(() => {
      const rows = before === undefined ? this.#newest.all(limit) : this.#older.all(before, limit);
      return (rows as unknown as Row[]).map((row) => ({
        id: row.id,
        body: row.body,
        postedAt: row.posted_at,
      }));
    }, false);
  }

  clear(): Promise<void> {
    return this.#run(() => void this.#clear.run(), true);
  }

  count(): Promise<number> {
    return this.#run(() => (this.#count.get() as { n: number }).n, false);
  }

  ping(): Promise<void> {
    return this.#run(() => void this.#db.prepare("SELECT 1").get(), false);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#db.close();
    }
    return Promise.resolve();
  }

  /**
   * #run runs `fn`, in one write transaction when `write` (taken at once,
   * IMMEDIATE, so it cannot fail half-way on a lock). A busy or failing
   * database (another process holding the lock past BUSY_TIMEOUT_MS, a full
   * disk) rejects with StoreUnavailable.
   */
  #run<T>(fn: () => T, write: boolean): Promise<T> {
    try {
      if (!write) return Promise.resolve(fn());
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        const value = fn();
        this.#db.exec("COMMIT");
        return Promise.resolve(value);
      } catch (err) {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw err;
      }
    } catch (err) {
      return Promise.reject(new StoreUnavailable("SQLite board store failed", { cause: err }));
    }
  }
}

/**
 * migrate brings the schema to SCHEMA_VERSION in one transaction. A file
 * from before `schema_version` existed holds version 1's `messages` table
 * already, which `IF NOT EXISTS` keeps.
 */
function migrate(db: DatabaseSync): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const row = db.prepare("SELECT max(version) AS v FROM schema_version").get() as {
      v: number | null;
    };
    const version = row.v ?? 0;
    if (version > SCHEMA_VERSION) {
      throw new Error(`schema version ${version} is newer than this minserve's ${SCHEMA_VERSION}`);
    }
    if (version < 1) {
      db.exec(`CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY,
        body TEXT NOT NULL,
        posted_at INTEGER NOT NULL
      )`);
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(SCHEMA_VERSION);
    }
    db.exec("COMMIT");
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}
