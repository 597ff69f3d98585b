/**
 * errors.ts — the one error type that carries an HTTP meaning, and the one
 * test for "the client has gone away".
 *
 * Deep code throws {@linkcode HttpError} and stops ("throw low"); only
 * `connection.ts` turns an error into bytes on the wire ("catch high").
 */

import { errorPage } from "./html.ts";
import { reasonPhrase } from "./http/status.ts";
import { preferredFormat } from "./negotiate.ts";

/** HttpErrorOptions tune how an {@linkcode HttpError} is answered and logged. */
export interface HttpErrorOptions {
  /** The underlying error, for the error log only. */
  cause?: unknown;
  /** Extra response headers, e.g. `Allow` on a 405. */
  headers?: HeadersInit;
  /** Whether `message` may be shown to the client. Defaults to `status < 500`. */
  expose?: boolean;
  /**
   * Whether the connection must close after the reply because the byte
   * stream can no longer be trusted (framing errors). Defaults to false.
   */
  close?: boolean;
}

/**
 * HttpError is an error with an HTTP status. Its message is fixed text chosen
 * by the code that throws it and never echoes request bytes, so it is safe to
 * show when `expose` is true.
 */
export class HttpError extends Error {
  /** The HTTP status code, 400 to 599. */
  readonly status: number;
  /** Whether `message` may be shown to the client. */
  readonly expose: boolean;
  /** Headers to add to the error response. */
  readonly headers: HeadersInit | undefined;
  /** Whether the connection must be closed after answering. */
  readonly close: boolean;

  constructor(status: number, message?: string, options: HttpErrorOptions = {}) {
    super(message ?? reasonPhrase(status), { cause: options.cause });
    this.name = "HttpError";
    this.status = status;
    this.expose = options.expose ?? status < 500;
    this.headers = options.headers;
    this.close = options.close ?? false;
  }
}

/**
 * isClientGone tells whether `err` means the peer closed or reset the
 * connection (or we closed it under a pending read): there is no one left to
 * answer, and nothing worth logging.
 */
export function isClientGone(err: unknown): boolean {
  return err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.ConnectionAborted ||
    err instanceof Deno.errors.NotConnected ||
    err instanceof Deno.errors.UnexpectedEof ||
    err instanceof Deno.errors.BadResource ||
    err instanceof Deno.errors.Interrupted;
}

/** ErrorAnswer is an error page as plain data: status, header fields (lower-case names) and body. */
export interface ErrorAnswer {
  status: number;
  fields: [string, string][];
  body: Uint8Array<ArrayBuffer>;
}

const encoder = new TextEncoder();

/**
 * errorAnswer turns any error into what a client may see: an
 * {@linkcode HttpError} keeps its status, headers and (when exposed) message;
 * anything else is a 500 with fixed text. JSON when `accept` prefers it.
 */
export function errorAnswer(err: unknown, accept: string | null): ErrorAnswer {
  const status = err instanceof HttpError ? err.status : 500;
  const message = err instanceof HttpError && err.expose ? err.message : reasonPhrase(status);
  const headers = new Headers(err instanceof HttpError ? err.headers : undefined);
  headers.set("x-content-type-options", "nosniff");
  headers.set("cache-control", "no-store");
  if (err instanceof HttpError && err.close) headers.set("connection", "close");
  let body: string;
  if (preferredFormat(accept) === "json") {
    headers.set("content-type", "application/json; charset=utf-8");
    body = JSON.stringify({ status, error: message }) + "\n";
  } else {
    headers.set("content-type", "text/html; charset=utf-8");
    body = errorPage(status, message);
  }
  return { status, fields: [...headers], body: encoder.encode(body) };
}

/**
 * errorResponse is {@linkcode errorAnswer} as a `Response`, negotiated on
 * the Accept field of `request`.
 */
export function errorResponse(err: unknown, request?: Request): Response {
  const answer = errorAnswer(err, request?.headers.get("accept") ?? null);
  return new Response(answer.body, { status: answer.status, headers: answer.fields });
}
