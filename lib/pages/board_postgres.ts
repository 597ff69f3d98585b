/**
 * board_postgres.ts — the board's store in PostgreSQL (`--board-db
 * postgres://…` or `MINSERVE_BOARD_DB`), so that several instances behind a
 * load balancer share one board. Through the maintained client
 * `npm:postgres` (postgres.js), which reconnects by itself: a connection
 * that broke is replaced at the next query.
 *
 * - Durable: each call is one transaction, and with `synchronous_commit=on`
 *   (set for minserve's sessions, whatever the server's default) a commit
 *   returns after the WAL is flushed, so `add()` resolves only for a post
 *   on disk.
 * - Bounded: every call settles within {@linkcode STORE_TIMEOUT_MS}; a
 *   database that is down, unreachable or slow makes it reject with
 *   {@linkcode StoreUnavailable} (the board answers 503), never hang.
 * - Versioned: the schema is created on first use, under an advisory lock
 *   (two instances starting together do not race), and recorded in
 *   `schema_version`. Give minserve a database (or a user whose
 *   search_path is a schema) of its own: its tables are `messages` and
 *   `schema_version`.
 */

import postgres from "postgres";
import {
  type BoardStore,
  SCHEMA_VERSION,
  type StoredPost,
  StoreUnavailable,
} from "./board_store.ts";

/** STORE_TIMEOUT_MS bounds every store call, connecting included; past it the board answers 503. */
export const STORE_TIMEOUT_MS = 3_000;
/** CONNECT_TIMEOUT_S: how long one connection attempt may take (postgres.js counts seconds). */
const CONNECT_TIMEOUT_S = 2;
/** MAX_CONNECTIONS: the pool of one instance; a board is posted to by hand. */
const MAX_CONNECTIONS = 4;
/** IDLE_TIMEOUT_S: an idle connection is closed after this, so a quiet board holds none. */
const IDLE_TIMEOUT_S = 60;
/** The advisory lock the schema is created under: "mins" in ASCII. */
const SCHEMA_LOCK = 0x6d696e73;
/** The port PostgreSQL listens on when the URL names none. */
const DEFAULT_PORT = 5432;

interface Row {
  id: string | number;
  body: string;
  posted_at: Date;
}

/**
 * PostgresBoardStore is a {@linkcode BoardStore} in PostgreSQL. Opening it
 * does not connect: the first call does (and creates the schema), so
 * minserve starts while the database is still coming up, answers 503 and
 * `/readyz` "not ready" until it is reachable, then serves.
 */
export class PostgresBoardStore implements BoardStore {
  #sql: postgres.Sql;
  #timeoutMs: number;
  /** The schema's creation, once it succeeded; retried at the next call when it failed. */
  #schema: Promise<void> | undefined;
  #closed = false;

  /**
   * constructor takes a `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`
   * URL (`?sslmode=require` and the like are passed on). `timeoutMs`
   * bounds every call (tests shorten it).
   */
  constructor(url: string, options: { timeoutMs?: number } = {}) {
    this.#timeoutMs = options.timeoutMs ?? STORE_TIMEOUT_MS;
    const parsed = new URL(url);
    const ssl = parsed.searchParams.has("sslmode") || parsed.searchParams.has("ssl");
    // Every option the library would otherwise look up in the environment
    // is given, so it reads only POSTGRES_ENV_NAMES (config.ts).
    this.#sql = postgres(url, {
      host: decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, "")),
      port: parsed.port === "" ? DEFAULT_PORT : Number(parsed.port),
      user: decodeURIComponent(parsed.username),
      database: decodeURIComponent(parsed.pathname.slice(1)),
      max: MAX_CONNECTIONS,
      connect_timeout: CONNECT_TIMEOUT_S,
      idle_timeout: IDLE_TIMEOUT_S,
      max_lifetime: null,
      prepare: true,
      fetch_types: false,
      debug: false,
      keep_alive: 60,
      max_pipeline: 100,
      publications: "alltables",
      backoff: () => 0.25,
      ...(ssl ? {} : { ssl: false }),
      ...(parsed.searchParams.has("sslnegotiation") ? {} : { sslnegotiation: null }),
      target_session_attrs: parsed.searchParams.get("target_session_attrs") ?? "read-write",
      onnotice: () => {},
      connection: {
        application_name: "minserve",
        // The server's own bound, behind ours: a statement that outlives
        // the client's patience is cancelled there too.
        statement_timeout: this.#timeoutMs,
        // A commit waits for its WAL to be flushed, whatever the server's
        // default says: the 303 is sent for a post on disk.
        synchronous_commit: "on",
      },
    } as postgres.Options<Record<string, never>>);
  }

  add(body: string, postedAt: number): Promise<number> {
    return this.#call(async (sql) => {
      const [row] = await sql<{ id: string | number }[]>`
        INSERT INTO messages (body, posted_at) VALUES (${body}, ${new Date(postedAt)})
        RETURNING id`;
      return Number(row!.id);
    });
  }

  newest(limit: number, before?: number): Promise<StoredPost[]> {
    return this.#call(async (sql) => {
      // Both walk the primary key's index backwards and stop after LIMIT rows.
      const rows = before === undefined
        ? await sql<Row[]>`
          SELECT id, body, posted_at FROM messages ORDER BY id DESC LIMIT ${limit}`
        : await sql<Row[]>`
          SELECT id, body, posted_at FROM messages WHERE id < ${before}
          ORDER BY id DESC LIMIT ${limit}`;
      return rows.map((row) => ({
        id: Number(row.id),
        body: row.body,
        postedAt: row.posted_at.getTime(),
      }));
    });
  }

  clear(): Promise<void> {
    return this.#call(async (sql) => {
      await sql`DELETE FROM messages`;
    });
  }

  count(): Promise<number> {
    return this.#call(async (sql) => {
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::integer AS n FROM messages`;
      return row!.n;
    });
  }

  ping(): Promise<void> {
    return this.#call(async (sql) => {
      await sql`SELECT 1`;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sql.end({ timeout: 1 });
  }

  /**
   * #call runs `fn` after the schema exists, within the time bound. Any
   * failure (refused, reset, timed out, the server shutting down) becomes
   * StoreUnavailable; the cause is kept for the error log.
   */
  #call<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreUnavailable("PostgreSQL board store closed"));
    const work = (async () => {
      await this.#ensureSchema();
      return await fn(this.#sql);
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer from PostgreSQL within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    return Promise.race([work, timeout]).then(
      (value) => {
        clearTimeout(timer);
        return value;
      },
      (err) => {
        clearTimeout(timer);
        work.catch(() => {}); // a late failure of abandoned work is not unhandled
        throw new StoreUnavailable("PostgreSQL board store unavailable", { cause: err });
      },
    );
  }

  #ensureSchema(): Promise<void> {
    this.#schema ??= migrate(this.#sql).catch((err) => {
      this.#schema = undefined; // try again at the next call
      throw err;
    });
    return this.#schema;
  }
}

/**
 * migrate brings the schema to SCHEMA_VERSION in one transaction, under an
 * advisory lock so that instances starting together take turns.
 */
async function migrate(sql: postgres.Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)`;
    const [row] = await tx<{ v: number | null }[]>`SELECT max(version) AS v FROM schema_version`;
    const version = row?.v ?? 0;
    if (version > SCHEMA_VERSION) {
      throw new Error(`schema version ${version} is newer than this minserve's ${SCHEMA_VERSION}`);
    }
    if (version < 1) {
      await tx`CREATE TABLE IF NOT EXISTS messages (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        body text NOT NULL,
        posted_at timestamptz NOT NULL
      )`;
      await tx`INSERT INTO schema_version (version) VALUES (${SCHEMA_VERSION})`;
    }
  });
}
