/**
 * error_page.ts — what a client sees for an error: the status, headers and
 * message of an {@linkcode HttpError} (or a bare 500 for anything else) as
 * a small HTML page ({@linkcode errorPage}) or JSON, whichever its Accept
 * field prefers.
 *
 * `HttpError` itself lives below, in `http/http_error.ts`, so the parser can
 * throw it without pulling in HTML, CSS and Accept negotiation.
 */

import { html, htmlDocument, NOTE_STYLE } from "./html.ts";
import { HttpError } from "./http/http_error.ts";
import { reasonPhrase } from "./http/status.ts";
import { preferredFormat } from "./negotiate.ts";

/** ERROR_STYLE: the error page's link home is a comfortable target on a phone. */
const ERROR_STYLE = NOTE_STYLE + "a{display:inline-block;padding:.3rem 0}";

/**
 * errorPage takes a status and a message and returns the small HTML page
 * sent with that error status. `message` is fixed server text (never
 * request input), escaped all the same; it defaults to the reason phrase,
 * and is shown only when it says more than the title. The page is one
 * `<main>` landmark with a link home, so no error is a dead end.
 */
export function errorPage(status: number, message: string = reasonPhrase(status)): string {
  const title = `${status} ${reasonPhrase(status)}`;
  return htmlDocument(
    title,
    ERROR_STYLE,
    html`
      <main>
        <h1>${title}</h1>${message !== reasonPhrase(status) && html`<p>${message}</p>`}
        <p><a href="/">Go to the home page</a></p>
      </main>
      <hr>
      <p><small>minserve</small></p>
    `,
  );
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
 * anything else is a 500 with fixed text. JSON when `accept` (an Accept
 * field value, or null) prefers it, else the HTML page. Never throws.
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
 * the Accept field of `request` (HTML without one). Never throws.
 */
export function errorResponse(err: unknown, request?: Request): Response {
  const answer = errorAnswer(err, request?.headers.get("accept") ?? null);
  return new Response(answer.body, { status: answer.status, headers: answer.fields });
}
