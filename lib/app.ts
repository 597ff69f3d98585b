/**
 * app.ts — ⑤ the handler: `(request) => Response`, the contract of
 * `Deno.serve`. It routes by path and method and turns an
 * {@linkcode HttpError} thrown below it into its error page; an internal
 * failure (anything else, or a 5xx with a cause) it lets through, and the
 * connection answers 500 and logs the cause.
 *
 * Routes, in order: `/time`; `/board` and `/board/clear` (with `--data-dir`); `/uploads/…`
 * (with `--upload-dir`); everything else is a file under the root, where a
 * template (`*.tmpl.html`, by its name or the name a link points to) goes to
 * the template page: the app hands that rule and that page to the static
 * layer, which finds files but does not know templates.
 *
 * Every handler answers HEAD as GET; the writer sends the head only, and
 * {@linkcode headOnly} drops the body here too, for callers of the handler.
 */

import type { Auth, Credential } from "./auth.ts";
import { DEFAULT_CACHE_CONTROL, DEFAULT_MAX_ZIP_BYTES } from "./defaults.ts";
import { addCorsHeaders, CORS_FIELDS, isPreflight, preflightResponse } from "./cors.ts";
import { errorAnswer, errorResponse } from "./error_page.ts";
import { type FieldSource, HeadFields } from "./http/fields.ts";
import type { FastPath, Handler, ServeInfo } from "./http/handler.ts";
import { HttpError } from "./http/http_error.ts";
import type { RequestHead } from "./http/request_head.ts";
import type { PlainResponse } from "./http/response_writer.ts";
import { preferredFormat, qualityOf } from "./negotiate.ts";
import { BOARD_CLEAR_PATH, BOARD_PATH } from "./pages/board.ts";
import { HEALTH_PATH, READY_PATH } from "./pages/health.ts";
import { injectLiveScript, type LiveReload } from "./pages/live.ts";
import { isTemplateName, serveTemplateFile } from "./pages/template.ts";
import { timePage } from "./pages/time.ts";
import { type ClaimedPages, type StaticOptions, StaticSite } from "./static/serve_file.ts";

/** A page handler: a Request in, a Response out, HttpError thrown for errors. */
export type PageHandler = (request: Request) => Response | Promise<Response>;

/**
 * AppOptions configure {@linkcode createApp}: the static site's options
 * (the app supplies its claimed pages and live reload's script itself),
 * with the command line's defaults (config.ts) for those left out.
 */
export interface AppOptions
  extends Omit<StaticOptions, "cacheControl" | "maxZipBytes" | "pages" | "inject"> {
  /** The Cache-Control of files and listings; the --cache-control default when absent. */
  cacheControl?: string;
  /** The cap of folder downloads, 0 for none; the --max-zip-bytes default when absent. */
  maxZipBytes?: number;
  /** Whether every response may be read cross-origin (CORS), and preflights are answered. */
  cors?: boolean;
  /** The uploads feature, under `/uploads/`, when enabled. */
  uploads?: PageHandler;
  /** The message board, at `/board`, when enabled. */
  board?: PageHandler;
  /** Extra header fields added to every response (--header). */
  headers?: [string, string][];
  /** A file under the root served with 200 for navigations that match no file (--spa). */
  spa?: string | undefined;
  /** Live reload (--live): its event stream and script under `/__minserve/`, its script in pages. */
  live?: LiveReload | undefined;
  /**
   * HTTP Basic authentication (--auth): every route needs a user; uploads
   * (writes under `/uploads/`) need a writer, or the --upload-token when
   * `auth.bearerUploads`.
   */
  auth?: Auth | undefined;
  /** `/healthz` and `/readyz`, when given (pages/health.ts). */
  health?: PageHandler | undefined;
}

/** RESERVED_PREFIX starts the paths of the server's own resources (live reload), when they are on. */
export const RESERVED_PREFIX = "/__minserve/";

/** NOT_FOUND_PAGE: a file of this name in the root is the body of every 404 for a browser. */
export const NOT_FOUND_PAGE = "404.html";

/** TIME_PATH is the page with the server's current time. */
export const TIME_PATH = "/time";
/** HEALTH_PATHS are the liveness and readiness checks (pages/health.ts). */
export const HEALTH_PATHS: readonly string[] = [HEALTH_PATH, READY_PATH];
/** UPLOADS_PREFIX starts every uploads URL. */
export const UPLOADS_PREFIX = "/uploads";

/** TEMPLATES: files under the root that the template page renders, never sent as bytes. */
const TEMPLATES: ClaimedPages = { claims: isTemplateName, serve: serveTemplateFile };

/** Methods of read-only resources: files, listings, /time (RFC 9110 §9.3). */
const READ_ALLOW = "GET, HEAD, OPTIONS";
const BOARD_ALLOW = "GET, HEAD, POST, OPTIONS";
/** Methods that only read: a reader may use them anywhere (with --auth). */
const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const UPLOADS_ALLOW = "GET, HEAD, POST, PUT, OPTIONS";
/** Methods minserve knows, for 405 rather than 501 (RFC 9110 §15.5.6 and §15.6.2). */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

interface Route {
  /** The methods, for OPTIONS, preflights and 405. */
  allow: string;
  handle: PageHandler;
  /** Whether the handler answers every method itself (its own OPTIONS and 405). */
  ownsMethods?: boolean;
}

/**
 * App is minserve's handler, with the fast path that answers static files
 * from the store without a Request ({@linkcode FastPath}); `startServer`
 * uses it.
 */
export type App = Handler & { fastPath: FastPath };

/** createApp builds minserve's handler from its options. */
export function createApp(options: AppOptions): App {
  const site = new StaticSite({
    ...options,
    cacheControl: options.cacheControl ?? DEFAULT_CACHE_CONTROL,
    maxZipBytes: options.maxZipBytes ?? DEFAULT_MAX_ZIP_BYTES,
    pages: TEMPLATES,
    ...(options.live ? { inject: injectLiveScript } : {}),
  });
  const router = new Router(options, site);
  const handler: Handler = async (request, info) => {
    let response: Response;
    try {
      response = await router.route(request, info);
    } catch (err) {
      // An internal failure goes up to the connection, which logs its cause.
      if (!(err instanceof HttpError) || (err.status >= 500 && err.cause !== undefined)) throw err;
      response = errorResponse(err, request);
    }
    if (request.method === "HEAD") response = headOnly(response);
    for (const [name, value] of options.headers ?? []) response.headers.set(name, value);
    return options.cors ? addCorsHeaders(response) : response;
  };
  return Object.assign(handler, { fastPath: fastPathFor(site, router, options) });
}

/**
 * Router picks the route of a path, checks sign-in and methods, and runs
 * the route's handler: `/time`, the reserved `/__minserve/` paths, the
 * health checks, the board, the uploads, and otherwise the files.
 */
class Router {
  /** The route of every path no other route claims: the static site. */
  readonly files: Route;
  #time: Route = { allow: READ_ALLOW, handle: (request) => timePage(request) };
  #board: Route | undefined;
  #uploads: Route | undefined;
  #reserved: Route | undefined;
  #health: Route | undefined;
  #auth: Auth | undefined;
  #cors: boolean;

  constructor(options: AppOptions, site: StaticSite) {
    this.files = { allow: READ_ALLOW, handle: (request) => serveFiles(request, site, options) };
    this.#board = options.board &&
      { allow: BOARD_ALLOW, handle: options.board, ownsMethods: true };
    this.#uploads = options.uploads &&
      { allow: UPLOADS_ALLOW, handle: options.uploads, ownsMethods: true };
    const live = options.live;
    this.#reserved = live && { allow: READ_ALLOW, handle: (request) => live.handle(request) };
    this.#health = options.health && { allow: READ_ALLOW, handle: options.health };
    this.#auth = options.auth;
    this.#cors = options.cors ?? false;
  }

  /** auth is the sign-in check (--auth), or undefined. */
  get auth(): Auth | undefined {
    return this.#auth;
  }

  /** routeFor takes a URL path and returns the route that serves it. Never throws. */
  routeFor(pathname: string): Route {
    if (pathname === TIME_PATH) return this.#time;
    if (this.#reserved && pathname.startsWith(RESERVED_PREFIX)) return this.#reserved;
    if (this.#health && HEALTH_PATHS.includes(pathname)) return this.#health;
    const board = this.#board;
    if (board && (pathname === BOARD_PATH || pathname === BOARD_CLEAR_PATH)) return board;
    const uploads = this.#uploads;
    if (uploads && (pathname === UPLOADS_PREFIX || pathname.startsWith(`${UPLOADS_PREFIX}/`))) {
      return uploads;
    }
    return this.files;
  }

  /**
   * route answers `request` through its route: sign-in first (with
   * --auth), then a CORS preflight, OPTIONS (204 with Allow) and the
   * route's methods. Throws HttpError 401/403/429 (sign-in), 405 (a known
   * method the route does not take) or 501 (an unknown one), and what the
   * route's handler throws.
   */
  async route(request: Request, info: ServeInfo | undefined): Promise<Response> {
    const target = this.routeFor(new URL(request.url).pathname);
    const auth = this.#auth;
    if (auth !== undefined) {
      // A plain Request in a test has no address: all such share one count.
      const hostname = info?.remoteAddr.hostname ?? "";
      if (await this.#checkAuth(auth, request, hostname, target) === "token") {
        return await auth.guardToken(hostname, async () => await target.handle(request));
      }
    }
    const { allow, handle, ownsMethods } = target;
    if (this.#cors && isPreflight(request)) return preflightResponse(request, allow);
    if (ownsMethods) return await handle(request);
    if (request.method === "OPTIONS") {
      return new Response(null, { status: 204, headers: { allow } });
    }
    if (allow.split(", ").includes(request.method)) return await handle(request);
    if (KNOWN_METHODS.has(request.method)) {
      throw new HttpError(405, undefined, { headers: { allow } });
    }
    throw new HttpError(501);
  }

  /**
   * checkAuth lets `request` through to `target` or throws: 429 or 401 from
   * {@linkcode Auth.authenticate}, 403 for a reader's write. Returns "token"
   * for a write under /uploads/ carrying a Bearer token, when an
   * --upload-token is set: the uploads handler checks it instead.
   */
  async #checkAuth(
    auth: Auth,
    request: Request,
    hostname: string,
    target: Route,
  ): Promise<"user" | "token"> {
    const writes = target === this.#uploads && !READ_METHODS.has(request.method);
    if (
      writes && auth.bearerUploads &&
      /^bearer /i.test(request.headers.get("authorization") ?? "")
    ) return "token";
    const principal = await auth.authenticate(request, hostname);
    if (writes && principal.role !== "rw") {
      throw new HttpError(403, "Only writers may upload: this user may read");
    }
    return "user";
  }
}

/**
 * fastPathFor returns the fast path: a GET or HEAD of a file under the
 * root whose answer is in the store, or a 404 that is not for a browser
 * (whose page may be the root's 404.html or the --spa file), answered from
 * a parsed head with no Request. Everything else (undefined) goes to the
 * handler.
 */
function fastPathFor(site: StaticSite, router: Router, options: AppOptions): FastPath {
  const auth = router.auth;
  // What the fast path read from the last head: a connection hands the
  // same head object back for the same bytes (HeadParser), as a client
  // repeating a request sends them. One slot, not a WeakMap of every head:
  // in a page load every head is new, and a WeakMap's entries are
  // ephemerons the garbage collector must trace, which cost more than the
  // plan saves (4.5 µs a request, measured with 64 files in turn).
  let lastHead: RequestHead | undefined;
  let lastPlan: FastPlan | null = null;
  const finish = finisher(options);
  return (head: RequestHead) => {
    if (head !== lastHead) {
      lastPlan = planOf(head, router);
      lastHead = head;
    }
    const plan = lastPlan;
    if (plan === null) return undefined;
    // Only a credential verified before, checked without bcrypt; else the handler decides.
    if (auth !== undefined && !auth.allowsFast(plan.credential)) return undefined;
    const { method, pathname, bytesParam, fields } = plan;
    const answer = site.answerFast(method, pathname, bytesParam, fields);
    if (answer === undefined) return undefined;
    if (answer !== "not-found") return finish(answer);
    if (acceptsHtml(fields)) return undefined;
    return finish(notFoundAnswer(fields.get("accept")));
  };
}

/**
 * planOf reads a head as the fast path needs it: a GET or HEAD without a
 * body, in origin form, for the files route, that is not a folder's
 * download. Returns null for any other head. Never throws.
 */
function planOf(head: RequestHead, router: Router): FastPlan | null {
  const method = head.method;
  if ((method !== "GET" && method !== "HEAD") || head.framing.kind !== "none") return null;
  const target = head.target;
  if (target.charCodeAt(0) !== 0x2f) return null; // origin-form only
  const query = target.indexOf("?");
  const pathname = query === -1 ? target : target.slice(0, query);
  if (router.routeFor(pathname) !== router.files) return null;
  const params = query === -1 ? undefined : new URLSearchParams(target.slice(query));
  // A folder's download is never its index page.
  if (params?.has("download") && pathname.endsWith("/")) return null;
  const bytesParam = params?.get("bytes") ?? null;
  const fields = new HeadFields(head.headers);
  const auth = router.auth;
  const credential = auth === undefined ? null : auth.credentialOf(fields.get("authorization"));
  return { method, pathname, bytesParam, fields, credential };
}

/**
 * finisher returns the function that gives a fast answer the fields every
 * response gets: --header, then CORS, as the handler adds them. One list
 * per list answered, so the writer's memo of the head holds.
 */
function finisher(options: AppOptions): (answer: PlainResponse) => PlainResponse {
  const extra = options.headers ?? [];
  if (extra.length === 0 && !options.cors) return (answer) => answer;
  const finished = new WeakMap<object, PlainResponse["fields"]>();
  return (answer) => {
    let fields = finished.get(answer.fields);
    if (fields === undefined) {
      const made = [...answer.fields];
      for (const [name, value] of extra) setField(made, name.toLowerCase(), value);
      if (options.cors) { for (const [name, value] of CORS_FIELDS) setField(made, name, value); }
      finished.set(answer.fields, made);
      fields = made;
    }
    return { ...answer, fields };
  };
}

/** FastPlan is a GET or HEAD of a file under the root, as the fast path reads it. */
interface FastPlan {
  method: "GET" | "HEAD";
  pathname: string;
  bytesParam: string | null;
  fields: HeadFields;
  /** The Basic credential of the head, read once (with --auth). */
  credential: Credential | null;
}

/** setField sets `name` (lower case) to `value`, replacing any value it had, as `Headers.set` does. */
function setField(fields: (readonly [string, string])[], name: string, value: string) {
  const at = fields.findIndex(([n]) => n === name);
  if (at === -1) fields.push([name, value]);
  else {
    fields[at] = [name, value];
    for (let i = fields.length - 1; i > at; i--) if (fields[i]![0] === name) fields.splice(i, 1);
  }
}

/**
 * headOnly drops the body of a response to HEAD whose Content-Length is set
 * (RFC 9110 §9.3.2): handlers answer HEAD as GET, so a caller of the
 * handler sees what the client will. A body of unknown length is left for
 * the writer to measure and drop.
 */
function headOnly(response: Response): Response {
  if (response.body === null || !response.headers.has("content-length")) return response;
  response.body.cancel().catch(() => {});
  return new Response(null, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** The built-in 404, made once per format (HTML or JSON) and shared. */
const notFoundAnswers = new Map<string, PlainResponse>();

function notFoundAnswer(accept: string | null): PlainResponse {
  const format = preferredFormat(accept);
  let answer = notFoundAnswers.get(format);
  if (answer === undefined) {
    const page = errorAnswer(new HttpError(404, "Not Found"), accept);
    answer = { status: 404, fields: page.fields, body: [page.body], length: page.body.length };
    notFoundAnswers.set(format, answer);
  }
  return answer;
}

/**
 * serveFiles serves the root; a miss falls back, for a browser, to the
 * --spa file (200, for client-side routes: a navigation whose last segment
 * has no extension, so a missing /app.js stays a 404) or to the root's
 * 404.html (with status 404).
 */
async function serveFiles(
  request: Request,
  site: StaticSite,
  options: AppOptions,
): Promise<Response> {
  try {
    return await site.serve(request);
  } catch (err) {
    if (!(err instanceof HttpError) || err.status !== 404) throw err;
    if (!acceptsHtml(request.headers)) throw err;
    const last = new URL(request.url).pathname.split("/").at(-1) ?? "";
    if (options.spa !== undefined && !last.includes(".")) {
      return await site.serve(rewrite(request, options.spa));
    }
    let page: Response;
    try {
      page = await site.serve(rewrite(request, NOT_FOUND_PAGE));
    } catch {
      throw err; // no custom page: the built-in one
    }
    return new Response(page.body, { status: 404, headers: page.headers });
  }
}

/** acceptsHtml tells whether a 404 is for a browser: a navigation, or an Accept that takes HTML. */
function acceptsHtml(fields: FieldSource): boolean {
  const accept = fields.get("accept");
  return fields.get("sec-fetch-mode") === "navigate" ||
    (accept !== null && qualityOf(accept, "text/html") > 0);
}

/** rewrite asks for another file under the root, unconditionally and whole. */
function rewrite(request: Request, file: string): Request {
  const headers = new Headers(request.headers);
  for (
    const name of [
      "range",
      "if-range",
      "if-none-match",
      "if-modified-since",
      "if-match",
      "if-unmodified-since",
    ]
  ) {
    headers.delete(name);
  }
  const path = "/" + file.split("/").filter((s) => s !== "").map(encodeURIComponent).join("/");
  return new Request(new URL(path, request.url), { method: request.method, headers });
}
