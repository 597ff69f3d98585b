/**
 * app.ts — ⑤ the handler: `(request) => Response`, the contract of
 * `Deno.serve`. It routes by path and method and turns an
 * {@linkcode HttpError} thrown below it into its error page; an internal
 * failure (anything else, or a 5xx with a cause) it lets through, and the
 * connection answers 500 and logs the cause.
 */

import type { Handler } from "./connection.ts";
import { addCorsHeaders, isPreflight, preflightResponse } from "./cors.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { serveStatic, type StaticOptions } from "./static/serve_file.ts";

/** AppOptions configure {@linkcode createApp}. */
export interface AppOptions extends StaticOptions {
  /** Whether every response may be read cross-origin (CORS), and preflights are answered. */
  cors?: boolean;
}

/** The methods static files answer (RFC 9110 §9.3). */
const STATIC_ALLOW = "GET, HEAD, OPTIONS";
/** Methods minserve knows, for 405 rather than 501 (RFC 9110 §15.5.6 and §15.6.2). */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

/** createApp builds minserve's handler from its options. */
export function createApp(options: AppOptions): Handler {
  const route = async (request: Request): Promise<Response> => {
    const allow = STATIC_ALLOW;
    if (request.method === "OPTIONS") {
      if (options.cors && isPreflight(request)) return preflightResponse(request, allow);
      return new Response(null, { status: 204, headers: { allow } });
    }
    if (request.method === "GET" || request.method === "HEAD") {
      return await serveStatic(request, options);
    }
    if (KNOWN_METHODS.has(request.method)) {
      throw new HttpError(405, undefined, { headers: { allow } });
    }
    throw new HttpError(501);
  };

  return async (request) => {
    let response: Response;
    try {
      response = await route(request);
    } catch (err) {
      // An internal failure goes up to the connection, which logs its cause.
      if (!(err instanceof HttpError) || (err.status >= 500 && err.cause !== undefined)) throw err;
      response = errorResponse(err, request);
    }
    return options.cors ? addCorsHeaders(response) : response;
  };
}
