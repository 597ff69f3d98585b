/**
 * board_store.ts — what the message board needs from a database, and
 * nothing more: add a post, read the newest page, clear, count, ping.
 *
 * Two stores implement it: SQLite under `--data-dir` (board_sqlite.ts, the
 * embedded default) and PostgreSQL for several instances
 * (board_postgres.ts). Both pass one test suite
 * (tests/_support/board_store_suite.ts). The board (board.ts) speaks HTTP; the
 * stores speak rows.
 */

/** StoredPost is one post as a store returns it. */
export interface StoredPost {
  /** Increasing in posting order. */
  id: number;
  body: string;
  /** When it was posted, milliseconds since the Unix epoch. */
  postedAt: number;
}

/**
 * BoardStore is the board's storage. Every method is one transaction; a
 * method that resolves has committed (durably: a post `add` resolved for
 * survives a crash of this process). A store that cannot be reached rejects
 * with {@linkcode StoreUnavailable}, within its own bounded wait.
 */
export interface BoardStore {
  /** add stores one post and resolves to its id once it is committed. */
  add(body: string, postedAt: number): Promise<number>;
  /**
   * newest resolves to at most `limit` posts with an id below `before` (all
   * posts when `before` is undefined), newest first. It reads only those
   * rows (an index range scan with LIMIT), however many posts there are.
   */
  newest(limit: number, before?: number): Promise<StoredPost[]>;
  /** clear deletes every post. */
  clear(): Promise<void>;
  /** count resolves to how many posts there are. */
  count(): Promise<number>;
  /** ping resolves when the store answers a trivial query: the readiness check. */
  ping(): Promise<void>;
  /** close releases the connection(s); later calls do nothing. */
  close(): Promise<void>;
}

/**
 * StoreUnavailable is what a store rejects with when its database is down,
 * unreachable or slower than the store's bounded wait: the board answers
 * 503 with `Retry-After`. The cause goes to the error log, never to the
 * client.
 */
export class StoreUnavailable extends Error {
  /** Creates the error; `options.cause` is the database's own failure, for the log. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "StoreUnavailable";
  }
}

/** SCHEMA_VERSION is the board schema this code writes; each store records it in `schema_version`. */
export const SCHEMA_VERSION = 1;
