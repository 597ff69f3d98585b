/**
 * app.ts — ⑤ the handler: `(request) => Response`, the contract of
 * `Deno.serve`. It routes by path and method and turns an
 * {@linkcode HttpError} thrown below it into its error page; an internal
 * failure (anything else, or a 5xx with a cause) it lets through, and the
 * connection answers 500 and logs the cause.
 *
 * Routes, in order: `/time`; `/board` (with `--data-dir`); `/uploads/…`
 * (with `--upload-dir`); everything else is a file under the root.
 */

import type { Handler } from "./connection.ts";
import { addCorsHeaders, isPreflight, preflightResponse } from "./cors.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { qualityOf } from "./negotiate.ts";
import { timePage } from "./pages/time.ts";
import { tagNotFound } from "./static/file_cache.ts";
import { serveStatic, type StaticOptions } from "./static/serve_file.ts";

/** A page handler: a Request in, a Response out, HttpError thrown for errors. */
export type PageHandler = (request: Request) => Response | Promise<Response>;

/** AppOptions configure {@linkcode createApp}. */
export interface AppOptions extends StaticOptions {
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
}

/** NOT_FOUND_PAGE: a file of this name in the root is the body of every 404 for a browser. */
export const NOT_FOUND_PAGE = "404.html";

/** TIME_PATH is the page with the server's current time. */
export const TIME_PATH = "/time";
/** BOARD_PATH is the message board. */
export const BOARD_PATH = "/board";
/** UPLOADS_PREFIX starts every uploads URL. */
export const UPLOADS_PREFIX = "/uploads";

/** Methods of read-only resources: files, listings, /time (RFC 9110 §9.3). */
const READ_ALLOW = "GET, HEAD, OPTIONS";
const BOARD_ALLOW = "GET, HEAD, POST, OPTIONS";
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

/** createApp builds minserve's handler from its options. */
export function createApp(options: AppOptions): Handler {
  const files: Route = { allow: READ_ALLOW, handle: (request) => serveFiles(request, options) };
  const time: Route = { allow: READ_ALLOW, handle: (request) => timePage(request) };
  const board: Route | undefined = options.board &&
    { allow: BOARD_ALLOW, handle: options.board, ownsMethods: true };
  const uploads: Route | undefined = options.uploads &&
    { allow: UPLOADS_ALLOW, handle: options.uploads, ownsMethods: true };

  function routeFor(pathname: string): Route {
    if (pathname === TIME_PATH) return time;
    if (board && pathname === BOARD_PATH) return board;
    if (uploads && (pathname === UPLOADS_PREFIX || pathname.startsWith(`${UPLOADS_PREFIX}/`))) {
      return uploads;
    }
    return files;
  }

  async function route(request: Request): Promise<Response> {
    const { allow, handle, ownsMethods } = routeFor(new URL(request.url).pathname);
    if (options.cors && isPreflight(request)) return preflightResponse(request, allow);
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

  return async (request) => {
    let response: Response;
    try {
      response = await route(request);
    } catch (err) {
      // An internal failure goes up to the connection, which logs its cause.
      if (!(err instanceof HttpError) || (err.status >= 500 && err.cause !== undefined)) throw err;
      response = errorResponse(err, request);
    }
    for (const [name, value] of options.headers ?? []) response.headers.set(name, value);
    return options.cors ? addCorsHeaders(response) : response;
  };
}

/**
 * serveFiles serves the root; a miss falls back, for a browser, to the
 * --spa file (200, for client-side routes: a navigation whose last segment
 * has no extension, so a missing /app.js stays a 404) or to the root's
 * 404.html (with status 404).
 */
async function serveFiles(request: Request, options: AppOptions): Promise<Response> {
  try {
    return await serveStatic(request, options);
  } catch (err) {
    if (!(err instanceof HttpError) || err.status !== 404) throw err;
    if (!acceptsHtml(request)) {
      const response = errorResponse(err, request);
      tagNotFound(response); // the same bytes for every such request: cacheable for a moment
      return response;
    }
    const last = new URL(request.url).pathname.split("/").at(-1) ?? "";
    if (options.spa !== undefined && !last.includes(".")) {
      // A new Response, so the cache does not keep it: it depends on Accept.
      const app = await serveStatic(rewrite(request, options.spa), options);
      return new Response(app.body, { status: app.status, headers: app.headers });
    }
    let page: Response;
    try {
      page = await serveStatic(rewrite(request, NOT_FOUND_PAGE), options);
    } catch {
      throw err; // no custom page: the built-in one
    }
    return new Response(page.body, { status: 404, headers: page.headers });
  }
}

function acceptsHtml(request: Request): boolean {
  const accept = request.headers.get("accept");
  return request.headers.get("sec-fetch-mode") === "navigate" ||
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
