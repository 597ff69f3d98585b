/**
 * app.ts — ⑤ the handler: `(request) => Response`, the contract of
 * `Deno.serve`. It routes by method and path and turns an
 * {@linkcode HttpError} thrown below it into its error page; an internal
 * failure (anything else, or a 5xx with a cause) it lets through, and the
 * connection answers 500 and logs the cause.
 */

import type { Handler } from "./connection.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { serveStatic, type StaticOptions } from "./static/serve_file.ts";

/** AppOptions configure {@linkcode createApp}. */
export type AppOptions = StaticOptions;

/** The methods static files answer (RFC 9110 §9.3). */
const ALLOW = "GET, HEAD, OPTIONS";
/** Methods minserve knows, for 405 rather than 501 (RFC 9110 §15.5.6 and §15.6.2). */
const KNOWN_METHODS = new Set(["POST", "PUT", "DELETE", "PATCH"]);

/** createApp builds minserve's handler from its options. */
export function createApp(options: AppOptions): Handler {
  return async (request) => {
    try {
      switch (request.method) {
        case "GET":
        case "HEAD":
          return await serveStatic(request, options);
        case "OPTIONS":
          return new Response(null, { status: 204, headers: { allow: ALLOW } });
        default:
          if (KNOWN_METHODS.has(request.method)) {
            throw new HttpError(405, undefined, { headers: { allow: ALLOW } });
          }
          throw new HttpError(501);
      }
    } catch (err) {
      // An internal failure goes up to the connection, which logs its cause.
      if (err instanceof HttpError && !(err.status >= 500 && err.cause !== undefined)) {
        return errorResponse(err, request);
      }
      throw err;
    }
  };
}
