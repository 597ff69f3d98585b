/**
 * live.ts — live reload (`--live`): pages served as HTML get a small script
 * that listens to a stream of Server-Sent Events and reloads the page when a
 * file under the root changes; a changed stylesheet is swapped in place.
 *
 * The events come from the same watcher that keeps the static layer's store
 * informed (`static/watch.ts`). An editor's save is several events (a
 * temporary file, a rename, a chmod), so they are gathered for
 * {@linkcode LIVE_DEBOUNCE_MS} and sent as one. The stream starts with the
 * server's instance id: a browser that reconnects after a restart sees a
 * new id and reloads, since files may have changed while nobody watched.
 */

import { relative, sep as SEPARATOR } from "node:path";
import { HttpError } from "../http/http_error.ts";
import { onlyReads, type PageBody, pageResponse } from "./page.ts";

/** LIVE_PATH is the event stream; `/__minserve/` is reserved for the server's own resources. */
export const LIVE_PATH = "/__minserve/live";
/** LIVE_SCRIPT_PATH is the script a live page loads (a file, so a page's `script-src 'self'` allows it). */
export const LIVE_SCRIPT_PATH = "/__minserve/live.js";
/** LIVE_DEBOUNCE_MS: changes are gathered this long after the last one before a reload is sent. */
export const LIVE_DEBOUNCE_MS = 40;
/** LIVE_MAX_WAIT_MS: a burst that never pauses is still sent after this long. */
export const LIVE_MAX_WAIT_MS = 250;
/** LIVE_HEARTBEAT_MS: a comment is sent this often, so idle streams pass the write deadline and proxies. */
export const LIVE_HEARTBEAT_MS = 15_000;
/** MAX_LIVE_CLIENTS: more event streams than this at once get 503 (each holds a connection). */
export const MAX_LIVE_CLIENTS = 256;

/** The script tag injected into pages. */
const TAG = `<script src="${LIVE_SCRIPT_PATH}"></script>`;
const encoder = new TextEncoder();

/**
 * LIVE_SCRIPT runs in the browser: one EventSource (which reconnects by
 * itself), a reload on any change but stylesheets, which are swapped for a
 * fresh copy once it has loaded, so the page does not flash unstyled.
 */
const LIVE_SCRIPT = `// minserve --live: reload this page when files under the root change.
(() => {
  let instance;
  // For tools and tests: whether this page is listening now.
  const state = (globalThis.__minserveLive = { connected: false });
  const source = new EventSource(${JSON.stringify(LIVE_PATH)});
  source.addEventListener("error", () => (state.connected = false));
  source.addEventListener("hello", (event) => {
    if (instance !== undefined && instance !== event.data) location.reload();
    instance = event.data;
    state.connected = true;
  });
  source.addEventListener("change", (event) => {
    const paths = JSON.parse(event.data).paths;
    if (paths.every((p) => /\\.css$/i.test(p)) && swapStyles(paths)) return;
    location.reload();
  });
  function swapStyles(paths) {
    const links = [...document.querySelectorAll('link[rel~="stylesheet"][href]')]
      .filter((link) => paths.includes(new URL(link.href).pathname));
    if (links.length === 0) return false; // imported, or not this page's: reload
    for (const link of links) {
      const url = new URL(link.href);
      url.searchParams.set("minserve-live", String(Date.now()));
      const next = link.cloneNode();
      next.href = url.href;
      next.addEventListener("load", () => link.remove(), { once: true });
      next.addEventListener("error", () => location.reload(), { once: true });
      link.after(next);
    }
    return true;
  }
})();
`;

const SCRIPT_BODY: PageBody = { body: LIVE_SCRIPT, type: "text/javascript; charset=utf-8" };

/** Watched is what a live hub listens to: the root's watcher. */
export interface Watched {
  /** subscribe calls `listener` with the changed paths (or "all") and returns the function that unsubscribes. */
  subscribe(listener: (paths: readonly string[] | "all") => void): () => void;
}

/** LiveReload serves the event stream and the script, and turns file changes into reloads. */
export class LiveReload {
  readonly #root: string;
  readonly #instance = crypto.randomUUID();
  readonly #clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  readonly #unsubscribe: () => void;
  #pending = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #firstPendingAt = 0;
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  /** Listens to `watched`, whose paths lie under `root`. */
  constructor(root: string, watched: Watched) {
    this.#root = root;
    this.#unsubscribe = watched.subscribe((paths) => this.#changed(paths));
  }

  /** Number of browsers listening. */
  get clients(): number {
    return this.#clients.size;
  }

  /**
   * handle takes a GET or HEAD of LIVE_PATH or LIVE_SCRIPT_PATH and returns
   * the event stream (the `hello` event first, then a `change` per burst of
   * changes) or the script. Throws a 405 {@linkcode HttpError} for other
   * methods, 404 for other paths, and 503 with `Retry-After` past
   * {@linkcode MAX_LIVE_CLIENTS} streams.
   */
  handle(request: Request): Response {
    const { pathname } = new URL(request.url);
    onlyReads(request);
    if (pathname === LIVE_SCRIPT_PATH) {
      // Revalidated, not unstored: it only changes with the server.
      return pageResponse(SCRIPT_BODY, { headers: { "cache-control": "no-cache" } });
    }
    if (pathname !== LIVE_PATH) throw new HttpError(404);
    if (this.#clients.size >= MAX_LIVE_CLIENTS) {
      throw new HttpError(503, undefined, { headers: { "retry-after": "5" } });
    }
    const headers = {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    };
    // A stream has no length to declare, so HEAD is answered here: the
    // writer would frame a body chunked, and opening one counts a client.
    if (request.method === "HEAD") return new Response(null, { headers });
    let controller: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
        this.#clients.add(c);
        this.#startHeartbeat();
        // retry: how soon a browser reconnects after a restart (ms).
        c.enqueue(encoder.encode(`retry: 1000\nevent: hello\ndata: ${this.#instance}\n\n`));
      },
      cancel: () => this.#drop(controller),
    });
    return new Response(stream, { headers });
  }

  /** close ends every stream and stops listening; browsers reconnect to the next server. */
  close() {
    this.#unsubscribe();
    clearTimeout(this.#timer);
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    for (const client of this.#clients) {
      try {
        client.close();
      } catch {
        // Errored or closed already.
      }
    }
    this.#clients.clear();
  }

  #changed(paths: readonly string[] | "all") {
    if (paths === "all") this.#pending.add("/");
    else {
      for (const path of paths) {
        const url = urlPathOf(this.#root, path);
        if (url !== undefined) this.#pending.add(url);
      }
    }
    if (this.#pending.size === 0) return;
    const now = Date.now();
    if (this.#timer === undefined) this.#firstPendingAt = now;
    clearTimeout(this.#timer);
    const wait = Math.min(LIVE_DEBOUNCE_MS, this.#firstPendingAt + LIVE_MAX_WAIT_MS - now);
    this.#timer = setTimeout(() => this.#send(), Math.max(0, wait));
  }

  #send() {
    this.#timer = undefined;
    const paths = [...this.#pending];
    this.#pending = new Set();
    this.#broadcast(`event: change\ndata: ${JSON.stringify({ paths })}\n\n`);
  }

  #broadcast(text: string) {
    const bytes = encoder.encode(text);
    for (const client of this.#clients) {
      try {
        client.enqueue(bytes);
      } catch {
        this.#drop(client);
      }
    }
  }

  #startHeartbeat() {
    if (this.#heartbeat !== undefined) return;
    this.#heartbeat = setInterval(() => this.#broadcast(": ping\n\n"), LIVE_HEARTBEAT_MS);
    Deno.unrefTimer(this.#heartbeat as unknown as number);
  }

  #drop(client: ReadableStreamDefaultController<Uint8Array>) {
    this.#clients.delete(client);
    if (this.#clients.size === 0) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
    }
  }
}

/**
 * urlPathOf is the URL path of a changed file under `root`, or undefined
 * for what no page shows: paths outside the root, dotfiles (an editor's swap
 * files, `.git`), and backup names ending in `~`. `root` and `path` are
 * file-system paths; never throws.
 */
export function urlPathOf(root: string, path: string): string | undefined {
  const rel = relative(root, path);
  if (rel === "") return "/";
  const segments = rel.split(SEPARATOR);
  if (segments[0] === ".." || segments.some((s) => s.startsWith(".") || s.endsWith("~"))) {
    return undefined;
  }
  return "/" + segments.map(encodeURIComponent).join("/");
}

/**
 * injectLiveScript adds the live script to an HTML page: before the last
 * `</body>`, else before `</html>`, else at the end (a page may omit both,
 * HTML allows it). Matching is by ASCII bytes, case-insensitive, so any
 * encoding that keeps ASCII works. Returns a new array; never throws.
 */
export function injectLiveScript(page: Uint8Array): Uint8Array {
  const at = lastIndexOfTag(page, "</body") ?? lastIndexOfTag(page, "</html") ?? page.length;
  const tag = encoder.encode(TAG);
  const out = new Uint8Array(page.length + tag.length);
  out.set(page.subarray(0, at));
  out.set(tag, at);
  out.set(page.subarray(at), at + tag.length);
  return out;
}

function lastIndexOfTag(page: Uint8Array, tag: string): number | undefined {
  outer: for (let i = page.length - tag.length; i >= 0; i--) {
    for (let k = 0; k < tag.length; k++) {
      if ((page[i + k]! | (k > 1 ? 0x20 : 0)) !== tag.charCodeAt(k)) continue outer;
    }
    return i;
  }
  return undefined;
}
