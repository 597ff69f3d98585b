/**
 * board.ts — `/board`: a message board whose posts survive a restart and a
 * crash, shown a page at a time, cleared only after a confirmation.
 *
 * The board speaks HTTP; a {@linkcode BoardStore} keeps the posts (SQLite
 * under `--data-dir` by default: board_sqlite.ts). Every post is committed
 * by the store before the 303 that acknowledges it. A store that is down or
 * too slow makes the board answer 503 with `Retry-After`, never hang.
 */

import { HttpError } from "../http/http_error.ts";
import { html, minuteOf, type SafeHtml } from "../html.ts";
import { preferredFormat } from "../negotiate.ts";
import { SqliteBoardStore } from "./board_sqlite.ts";
import { type BoardStore, type StoredPost, StoreUnavailable } from "./board_store.ts";
import {
  htmlBody,
  jsonBody,
  otherMethod,
  PAGE_HEADERS,
  type PageBody,
  pageResponse,
  textBody,
} from "./page.ts";
import { mediaTypeOf, readBody } from "./read_body.ts";
import { assertSameOrigin } from "./same_origin.ts";

export { BOARD_FILE } from "./board_sqlite.ts";

/** BOARD_PATH is the board's page: the newest posts and the post form. */
export const BOARD_PATH = "/board";
/**
 * BOARD_CLEAR_PATH is the one route that deletes posts: `GET` asks for
 * confirmation, `POST` with `confirm=yes` clears. Access control wraps this
 * path (and only this one deletes).
 */
export const BOARD_CLEAR_PATH = "/board/clear";
/** BOARD_PAGE_SIZE: how many posts one page shows; older ones are behind `?before=ID`. */
export const BOARD_PAGE_SIZE = 50;
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
/** RETRY_AFTER_SECONDS is the `Retry-After` of a 503 when the store is unavailable. */
export const RETRY_AFTER_SECONDS = 5;

const ALLOW = "GET, HEAD, POST, OPTIONS";
const decoder = new TextDecoder();
/** The largest `?before=` cursor: ids are safe integers. */
const MAX_CURSOR_DIGITS = 16;
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

/** BoardPage is one page of posts: newest first, and the cursor of the next (older) page. */
interface BoardPage {
  messages: BoardMessage[];
  count: number;
  /** `?before=` of the page after this one, when older posts exist. */
  older: number | undefined;
  /** This page's own cursor, when it is not the first page. */
  before: number | undefined;
}

/**
 * Board is the message board over a {@linkcode BoardStore}. Open it once at
 * start-up (with {@linkcode Board.open} for SQLite under a data directory,
 * or `new Board(store)`), route `/board` and `/board/clear` to
 * {@linkcode Board.handle}, and {@linkcode Board.close} it at shutdown.
 */
export class Board {
  #store: BoardStore;

  /** Creates the board over `store`, which it owns from now on ({@linkcode Board.close}). */
  constructor(store: BoardStore) {
    this.#store = store;
  }

  /**
   * Board.open opens the SQLite board in `dataDir/board.sqlite3`, creating
   * the file and its schema if needed; the directory must exist. Throws an
   * Error naming the file when SQLite cannot open it.
   */
  static open(dataDir: string): Board {
    return new Board(SqliteBoardStore.open(dataDir));
  }

  /** store is the board's store, for the readiness check and tests. */
  get store(): BoardStore {
    return this.#store;
  }

  /**
   * handle answers a request for `/board` or `/board/clear` (anything else:
   * 404).
   *
   * `/board`:
   * - `GET`/`HEAD`: the newest {@linkcode BOARD_PAGE_SIZE} posts (or those
   *   older than `?before=ID`), with the post form and a link to the clear
   *   confirmation; as HTML (newest first, with "Older posts" and "Newest
   *   posts" links), a JSON array `[{id, message, posted_at}]` or plain
   *   text, both in posting order within the page. Every form carries the
   *   next page in `Link: <…?before=ID>; rel="next"` (RFC 8288). A bad
   *   cursor → 400.
   * - `POST`, `application/x-www-form-urlencoded` or `multipart/form-data`,
   *   at most {@linkcode MAX_FORM_BYTES}: `message` is trimmed and stored
   *   (control characters other than TAB, CR and LF, or unpaired
   *   surrogates → 400; empty → 400; over {@linkcode MAX_MESSAGE_CHARS} →
   *   413), committed before the answer: 303 See Other to `/board`, so
   *   reloading does not post again. A clear sent here (`action=clear`, or
   *   a `clear` field, as older pages did) is refused with 400: clearing
   *   lives at `/board/clear`, behind a confirmation.
   *
   * `/board/clear`: see {@linkcode Board.clear}; with `mayClear` false (a
   * reader, under --auth) it is 403, its confirmation page included.
   *
   * Posts (both paths) from another site are refused with 403
   * ({@linkcode assertSameOrigin}); other media types with 415; other
   * methods with 405 and `Allow`. A store that is unavailable → 503 with
   * `Retry-After`.
   */
  async handle(request: Request, options: { mayClear?: boolean } = {}): Promise<Response> {
    const pathname = new URL(request.url).pathname;
    if (pathname === BOARD_CLEAR_PATH) {
      if (options.mayClear === false) throw new HttpError(403, "Only writers may clear the board");
      return await this.clear(request);
    }
    if (pathname !== BOARD_PATH) throw new HttpError(404);
    switch (request.method) {
      case "GET":
      case "HEAD": {
        const page = await this.#page(request);
        return pageResponse(render(request, page), {
          headers: { ...PAGE_HEADERS, ...linkFields(page) },
        });
      }
      case "POST": {
        assertSameOrigin(request);
        const form = await readForm(request);
        if (form.get("action") === "clear" || form.has("clear")) {
          throw new HttpError(400, "Clear the board at /board/clear, with confirmation");
        }
        const message = messageOf(form);
        await this.#use(() => this.#store.add(message, Date.now()));
        return seeBoard();
      }
      default:
        return otherMethod(request, ALLOW);
    }
  }

  /**
   * clear is the board's one destructive route, `/board/clear`:
   * - `GET`/`HEAD`: a page that says how many posts would go and asks
   *   "Yes, delete all messages" (a form posting `confirm=yes`) or "No,
   *   keep them" (a link back).
   * - `POST` with the field `confirm=yes`: deletes every post in one
   *   transaction, then 303 See Other to `/board`. Without it: 400, nothing
   *   deleted. So no single unconfirmed click, from a page or a stale form,
   *   clears the board; no script is needed.
   */
  async clear(request: Request): Promise<Response> {
    switch (request.method) {
      case "GET":
      case "HEAD": {
        const count = await this.#use(() => this.#store.count());
        return pageResponse(renderConfirm(count), { headers: PAGE_HEADERS });
      }
      case "POST": {
        assertSameOrigin(request);
        const form = await readForm(request);
        if (form.get("confirm") !== "yes") {
          throw new HttpError(400, "Clearing needs confirmation: send confirm=yes");
        }
        await this.#use(() => this.#store.clear());
        return seeBoard();
      }
      default:
        return otherMethod(request, ALLOW);
    }
  }

  /** close closes the store; later calls do nothing. Call it after the last request. */
  close(): Promise<void> {
    return this.#store.close();
  }

  /** #use runs one store call; an unavailable store becomes a 503 with Retry-After. */
  async #use<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof StoreUnavailable)) throw err;
      throw new HttpError(503, "Message board unavailable, try again shortly", {
        cause: err,
        expose: true,
        headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
      });
    }
  }

  async #page(request: Request): Promise<BoardPage> {
    const before = cursorOf(new URL(request.url));
    // One more than a page tells whether an older page exists.
    const [rows, count] = await this.#use(() =>
      Promise.all([this.#store.newest(BOARD_PAGE_SIZE + 1, before), this.#store.count()])
    );
    const shown = rows.slice(0, BOARD_PAGE_SIZE);
    return {
      messages: shown.map(toMessage),
      count,
      older: rows.length > BOARD_PAGE_SIZE ? shown.at(-1)?.id : undefined,
      before,
    };
  }
}

/** seeBoard is the answer to a post or a clear: 303 to the board, so a reload does not repeat it. */
function seeBoard(): Response {
  return new Response(null, {
    status: 303,
    headers: { location: BOARD_PATH, "cache-control": "no-store" },
  });
}

/** cursorOf reads `?before=ID`: absent → undefined; anything but a positive integer → 400. */
function cursorOf(url: URL): number | undefined {
  const raw = url.searchParams.get("before");
  if (raw === null) return undefined;
  if (!/^[1-9][0-9]*$/.test(raw) || raw.length > MAX_CURSOR_DIGITS) {
    throw new HttpError(400, "Invalid before: expected a message id");
  }
  const before = Number(raw);
  if (!Number.isSafeInteger(before)) {
    throw new HttpError(400, "Invalid before: expected a message id");
  }
  return before;
}

/** messageOf reads, checks and normalises the `message` field of a post. */
function messageOf(form: FormFields): string {
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
  return message;
}

function toMessage(row: StoredPost): BoardMessage {
  return {
    id: row.id,
    // Posts stored before control characters were refused are shown
    // without them, in every view.
    message: row.body.replace(CONTROLS_ALL, "\uFFFD").toWellFormed(),
    posted_at: new Date(row.postedAt).toISOString(),
  };
}

/** pageHref is the URL of the page of posts older than `before` (the first page when undefined). */
function pageHref(before: number | undefined): string {
  return before === undefined ? BOARD_PATH : `${BOARD_PATH}?before=${before}`;
}

/** linkFields are the page's `Link` field (RFC 8288), if any: `next` to older posts, `first` back to the newest. */
function linkFields(page: BoardPage): Record<string, string> {
  const links: string[] = [];
  if (page.older !== undefined) links.push(`<${pageHref(page.older)}>; rel="next"`);
  if (page.before !== undefined) links.push(`<${BOARD_PATH}>; rel="first"`);
  return links.length === 0 ? {} : { link: links.join(", ") };
}

/** render is one page of posts in the format Accept prefers: HTML, JSON or text. */
function render(request: Request, page: BoardPage): PageBody {
  const format = preferredFormat(request.headers.get("accept"));
  // JSON and text read as a log: oldest first within the page.
  if (format === "json") return jsonBody(page.messages.toReversed());
  if (format === "text") {
    return textBody(
      page.messages.toReversed().map((m) => `${m.posted_at} ${m.message}\n`).join(""),
    );
  }
  const clear = page.count === 0 ? "" : html`
    <form method="get" action="${BOARD_CLEAR_PATH}">
      <button type="submit" class="danger">Clear all messages…</button>
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
      <h2>Messages (${page.count})</h2>
      ${postList(page)}
      ${pager(page)}
      ${clear}
    `,
  );
}

/** postList is the page's posts, newest first (on a phone the latest sit right under the form). */
function postList(page: BoardPage): SafeHtml {
  if (page.messages.length === 0) {
    return page.before === undefined
      ? html`<p class="muted">No messages yet. Be the first.</p>`
      : html`<p class="muted">No older messages.</p>`;
  }
  const items = page.messages.map((m) =>
    html`
      <li id="m${m.id}">
        <p class="body">${m.message}</p>
        <p class="meta"><time datetime="${m.posted_at}">${minuteOf(m.posted_at)} UTC</time></p>
      </li>
    `
  );
  return html`<ol class="items">${items}</ol>`;
}

/** pager links to the newest page and the next older one, where there are such pages. */
function pager(page: BoardPage): SafeHtml | "" {
  if (page.before === undefined && page.older === undefined) return "";
  const newest = page.before === undefined
    ? ""
    : html`<a rel="first" href="${BOARD_PATH}">← Newest messages</a>`;
  const older = page.older === undefined
    ? ""
    : html`<a rel="next" href="${pageHref(page.older)}">Older messages →</a>`;
  return html`<nav class="pager" aria-label="Pages">${newest} ${older}</nav>`;
}

/** renderConfirm is the clear confirmation page for a board of `count` posts. */
function renderConfirm(count: number): PageBody {
  if (count === 0) {
    return htmlBody(
      "Clear the board",
      html`
        <p>The board is already empty.</p>
        <p><a href="${BOARD_PATH}">Back to the board</a></p>
      `,
    );
  }
  const what = count === 1 ? "the 1 message" : `all ${count} messages`;
  return htmlBody(
    "Clear the board?",
    html`
      <p>This deletes ${what} on the board, for everyone. It cannot be undone.</p>
      <form method="post" action="${BOARD_CLEAR_PATH}">
        <input type="hidden" name="confirm" value="yes">
        <button type="submit" class="danger">Yes, delete ${what}</button>
      </form>
      <p><a href="${BOARD_PATH}">No, keep them</a></p>
    `,
  );
}

/** FormFields is the part of URLSearchParams and FormData the board reads. */
interface FormFields {
  get(name: string): string | null;
  has(name: string): boolean;
}

/** readForm reads a bounded urlencoded or multipart body into its text fields. */
async function readForm(request: Request): Promise<FormFields> {
  const media = mediaTypeOf(request);
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
    const type = request.headers.get("content-type")!; // multipart: its boundary
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
