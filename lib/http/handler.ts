/**
 * handler.ts — the contract where the two sides meet: the connection (below
 * the line, bytes and sockets) calls a handler (above it, web `Request` and
 * `Response`), as `Deno.serve` does.
 *
 * It lives in `http/` so that the app can be written, typed and tested
 * against this contract without importing the connection that calls it.
 */

import type { RequestHead } from "./request_head.ts";
import type { PlainResponse } from "./response_writer.ts";

/** ServeInfo is the second argument of a {@linkcode Handler}, as in `Deno.serve`. */
export interface ServeInfo {
  /** The client's address. */
  remoteAddr: Deno.NetAddr;
}

/** Handler is the web-standard handler contract of `Deno.serve`. */
export type Handler = (request: Request, info: ServeInfo) => Response | Promise<Response>;

/**
 * FastPath answers a request from its parsed head alone, or returns
 * undefined to let the handler answer it. Its answers must be what the
 * handler would answer: the app builds both from the same code.
 */
export type FastPath = (head: RequestHead) => PlainResponse | undefined;
