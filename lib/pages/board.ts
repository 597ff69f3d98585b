/**
 * board.ts — `/board`: a message board whose posts survive a restart and a
 * crash.
 *
 * Posts live in SQLite (`node:sqlite`) in write-ahead-log mode with
 * `synchronous=FULL`: every commit is fsynced before `handle()` returns, so
 * a post the client saw acknowledged (the 303) is on disk even if the
 * process is killed the next instant. SQLite's calls are synchronous; a
 * commit blocks the event loop for one fsync, a fair price for a page
 * that is posted to by hand.
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { join } from "node:path";
import { HttpError } from "../errors.ts";
import { html } from "../html.ts";
import { preferredFormat } from "../negotiate.ts";
import { htmlBody, jsonBody, type PageBody, pageResponse, textBody } from "./page.ts";
import { readBody } from "./read_body.ts";
import { assertSameOrigin } from "./same_origin.ts";

/** BOARD_PATH is the board's one URL path. */
export const BOARD_PATH = "/board";
/** BOARD_FILE is the database's file name inside the data directory. */
export const BOARD_FILE = "board.sqlite3";
/** MAX_MESSAGE_CHARS: a post's length limit in Unicode characters (code points), after trimming. Past it: 413. */
export const MAX_MESSAGE_CHARS = 2000;
/**
 * MAX_FORM_BYTES caps a POST body, before and while it is read. Past it:
 * 413. A form-encoded post of MAX_MESSAGE_CHARS characters can take
 * 2000 × 4 UTF-8 bytes × 3 (each byte as %XX) = 24 000 bytes, so 16 KiB
 * would refuse valid posts in emoji or CJK; 32 KiB holds the worst case
 * plus the field names and the multipart framing.
 */
export const MAX_FORM_BYTES = 32 * 1024;
/** BUSY_TIMEOUT_MS: how long a write waits for another connection's lock (a second process on the same file) before failing. */
const BUSY_TIMEOUT_MS = 5_000;

const ALLOW = "GET, HEAD, POST, OPTIONS";
const decoder = new TextDecoder();
/**
 * CONTROLS are the characters a post may not hold: C0 controls but TAB, LF
 * and CR (a textarea's own), DEL and C1 controls. A terminal obeys them
 * (ESC [ 31 m, or the one-character CSI U+009B), and the text view is read
 * in terminals.
 */
// deno-lint-ignore no-control-regex
const CONTROLS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/;
const CONTROLS_ALL = new RegExp(CONTROLS.source, "g");

/** BoardMessage is one post as the JSON view shows it. */
export interface BoardMessage {
  id: number;
  message: string;
  /** When it was posted, ISO 8601 in UTC. */
  posted_at: string;
}

interface Row {
  id: number;
  body: string;
  posted_at: number;
}

/**
 * Board is the message board over one SQLite file. Open it once at start-up
 * with {@linkcode Board.open}, route `/board` to {@linkcode Board.handle},
 * and {@linkcode Board.close} it at shutdown. Needs read and write
 * permission on the data directory (SQLite adds `-wal` and `-shm` files
 * next to the database).
 */
export class Board {
  #db: DatabaseSync;
  #insert: StatementSync;
  #list: StatementSync;
  #clear: StatementSync;
  #closed = false;

  private constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare("INSERT INTO messages (body, posted_at) VALUES (?, ?)");
    this.#list = db.prepare("SELECT id, body, posted_at FROM messages ORDER BY id");
    this.#clear = db.prepare("DELETE FROM messages");
  }

  /**
   * Board.open opens `dataDir/board.sqlite3`, creating the file and its
   * table if needed; the directory must exist. Throws an Error naming the
   * file when SQLite cannot open it (missing directory, no permission, not
   * a database).
   */
  static open(dataDir: string): Board {
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
      db.exec(`CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY,
        body TEXT NOT NULL,
        posted_at INTEGER NOT NULL
      )`);
      return new Board(db);
    } catch (err) {
      db?.close();
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`Cannot open message board "${path}": ${reason}`, { cause: err });
    }
  }

  /**
   * handle answers a request for `/board` (anything else: 404).
   *
   * - `GET`/`HEAD`: the page, newest post first, with the post and clear
   *   forms; a JSON array `[{id, message, posted_at}]` in posting order
   *   (oldest first, as a log is read) when Accept prefers
   *   `application/json`; plain text when it prefers `text/plain`.
   * - `POST`, `application/x-www-form-urlencoded` or `multipart/form-data`,
   *   at most {@linkcode MAX_FORM_BYTES}: `action=clear` (or a `clear`
   *   field) deletes every post; otherwise `message` is trimmed and stored
   *   (control characters other than TAB, CR and LF, or unpaired
   *   surrogates → 400; empty → 400; over {@linkcode MAX_MESSAGE_CHARS} →
   *   413). Each is one transaction, committed to disk before the answer:
   *   303 See Other to `/board`, so reloading does not post again.
   *   Cross-site posts are refused with 403 ({@linkcode assertSameOrigin});
   *   other media types with 415.
   * - Other methods: 405 with `Allow`.
   *
   * With `mayClear` false (a reader, under --auth), clearing gets 403.
   */
  async handle(request: Request, options: { mayClear?: boolean } = {}): Promise<Response> {
    if (new URL(request.url).pathname !== BOARD_PATH) throw new HttpError(404);
    switch (request.method) {
      case "GET":
      case "HEAD":
        return pageResponse(request, this.#render(request));
      case "POST":
        assertSameOrigin(request);
        this.#apply(await readForm(request), options.mayClear ?? true);
        return new Response(null, {
          status: 303,
          headers: { location: BOARD_PATH, "cache-control": "no-store" },
        });
      case "OPTIONS":
        return new Response(null, { status: 204, headers: { allow: ALLOW } });
      default:
        throw new HttpError(405, undefined, { headers: { allow: ALLOW } });
    }
  }

  /** close closes the database; later calls do nothing. Call it after the last request. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #apply(form: FormFields, mayClear: boolean): void {
    if (form.get("action") === "clear" || form.has("clear")) {
      if (!mayClear) throw new HttpError(403, "Only writers may clear the board");
      this.#transaction(() => this.#clear.run());
      return;
    }
    const raw = form.get("message");
    if (raw === null) throw new HttpError(400, "Missing message");
    // Refused, not escaped: what is stored is what every view shows. An
    // unpaired surrogate has no UTF-8 form; a body decoded from bytes never
    // holds one, checked all the same.
    if (CONTROLS.test(raw) || !raw.isWellFormed()) {
      throw new HttpError(400, "Message contains control characters");
    }
    // A textarea submits line breaks as CRLF (HTML §4.10.21.8); store one form.
    const message = raw.replace(/\r\n?/g, "\n").trim();
    if (message === "") throw new HttpError(400, "Empty message");
    let chars = 0;
    for (const _ of message) chars++;
    if (chars > MAX_MESSAGE_CHARS) throw new HttpError(413, "Message too long");
    this.#transaction(() => this.#insert.run(message, Date.now()));
  }

  /** #transaction runs `fn` in one write transaction, taken at once (IMMEDIATE) so it cannot fail half-way on a lock. */
  #transaction(fn: () => void): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      fn();
      this.#db.exec("COMMIT");
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  #messages(): BoardMessage[] {
    return (this.#list.all() as unknown as Row[]).map((row) => ({
      id: row.id,
      // Posts stored before control characters were refused are shown
      // without them, in every view.
      message: row.body.replace(CONTROLS_ALL, "\uFFFD").toWellFormed(),
      posted_at: new Date(row.posted_at).toISOString(),
    }));
  }

  #render(request: Request): PageBody {
    const messages = this.#messages();
    const format = preferredFormat(request.headers.get("accept"));
    if (format === "json") return jsonBody(messages);
    if (format === "text") {
      return textBody(messages.map((m) => `${m.posted_at} ${m.message}\n`).join(""));
    }
    // Newest first: on a phone the latest posts sit right under the form.
    const items = messages.toReversed().map((m) =>
      html`
        <li id="m${m.id}">
          <p class="body">${m.message}</p>
          <p class="meta"><time datetime="${m.posted_at}">${m.posted_at.slice(0, 16).replace(
            "T",
            " ",
          )} UTC</time></p>
        </li>
      `
    );
    const list = messages.length === 0
      ? html`<p class="muted">No messages yet. Be the first.</p>`
      : html`<ol class="items" reversed>${items}</ol>`;
    const clear = messages.length === 0 ? "" : html`
      <form method="post" action="${BOARD_PATH}">
        <input type="hidden" name="action" value="clear">
        <button type="submit" class="danger">Clear all messages</button>
      </form>
    `;
    return htmlBody(
      "Message board",
      html`
        <form method="post" action="${BOARD_PATH}">
          <label for="message">Your message</label>
          <textarea id="message" name="message" maxlength="${MAX_MESSAGE_CHARS}" required></textarea>
          <button type="submit">Post</button>
        </form>
        <h2>Messages (${messages.length})</h2>
        ${list}
        ${clear}
      `,
    );
  }
}

/** FormFields is the part of URLSearchParams and FormData the board reads. */
interface FormFields {
  get(name: string): string | null;
  has(name: string): boolean;
}

/** readForm reads a bounded urlencoded or multipart body into its text fields. */
async function readForm(request: Request): Promise<FormFields> {
  const type = request.headers.get("content-type") ?? "";
  const media = (type.split(";")[0] ?? "").trim().toLowerCase();
  if (media !== "application/x-www-form-urlencoded" && media !== "multipart/form-data") {
    throw new HttpError(415, "Send the form as application/x-www-form-urlencoded");
  }
  const body = await readBody(request, MAX_FORM_BYTES);
  if (media === "application/x-www-form-urlencoded") {
    // The URL Standard's parser: "+" is a space, bad escapes are kept as text.
    return new URLSearchParams(decoder.decode(body));
  }
  let form: FormData;
  try {
    form = await new Response(body, { headers: { "content-type": type } }).formData();
  } catch (err) {
    throw new HttpError(400, "Invalid form data", { cause: err });
  }
  return {
    get(name) {
      const value = form.get(name);
      if (value instanceof File) throw new HttpError(400, "Expected a text field");
      return value;
    },
    has: (name) => form.has(name),
  };
}
