/**
 * http_error.ts — the one error type that carries an HTTP meaning, and the
 * one test for "the client has gone away".
 *
 * Deep code throws {@linkcode HttpError} and stops ("throw low"); only
 * `connection.ts` turns an error into bytes on the wire ("catch high"). The
 * page a client sees for it (HTML or JSON, negotiated) is made above this
 * layer, in `error_page.ts`: the parser needs the error, not the page.
 */

import { reasonPhrase } from "./status.ts";

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

  /**
   * The constructor takes the status, a message for the page (its reason
   * phrase when absent) and options: the cause, fields for the reply, and
   * whether to close the connection after it.
   */
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
