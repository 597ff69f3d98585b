/**
 * page.ts — the one way minserve's pages answer ({@linkcode pageResponse}),
 * and the shell of its dynamic pages (uploads, board): one self-contained
 * HTML document on the shared stylesheet (html.ts's `BASE_STYLE`, the
 * default site's look), with no external resources, so it looks right
 * whatever the document root holds.
 */

import { html, htmlDocument, type SafeHtml } from "../html.ts";
import { HttpError } from "../http/http_error.ts";

/**
 * PAGE_STYLE is what the dynamic pages add to the base stylesheet: the
 * site's header, forms, lists and tables. Touch targets are at least
 * 2.75rem (44 px) high for phones.
 */
const PAGE_STYLE = `
.wrap{max-width:46rem;margin:0 auto;padding:0 1.25rem}
header.site{border-bottom:1px solid var(--border);background:var(--surface)}
header.site .wrap{padding-top:.75rem;padding-bottom:.75rem}
.brand{font-weight:700;font-size:1.15rem;color:var(--fg);text-decoration:none}
main{padding:1.5rem 0 3rem}
h1{font-size:clamp(1.6rem,5vw,2.2rem);line-height:1.25;margin:.25em 0 .5em}
h2{font-size:1.2rem;margin:1.6em 0 .5em}
p{margin:0 0 1em}.muted{color:var(--muted)}
form{margin:0 0 1rem}
label{display:block;font-weight:600;margin-bottom:.35rem}
textarea,input[type=file]{width:100%;font:inherit;color:inherit;background:var(--bg);
border:1px solid var(--border);border-radius:8px;padding:.6rem .7rem}
textarea{min-height:7rem;resize:vertical}
button{font:inherit;font-weight:600;min-height:2.75rem;padding:.5rem 1.2rem;margin-top:.6rem;
border:0;border-radius:8px;background:var(--accent);color:var(--bg);cursor:pointer}
button.danger{background:none;color:var(--danger);border:1px solid currentColor}
button:focus-visible,textarea:focus-visible,input:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
ol.items{list-style:none;margin:0;padding:0}
ol.items li{background:var(--surface);border:1px solid var(--border);border-radius:10px;
padding:.7rem .9rem;margin:0 0 .6rem}
.body{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}
.meta{color:var(--muted);font-size:.85rem;margin:.25rem 0 0}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid var(--border)}
td.name{overflow-wrap:anywhere}td.n{text-align:right;white-space:nowrap}
`.replaceAll("\n", "");

/**
 * PAGE_HEADERS go on every page of the board and the uploads. The pages
 * carry forms that change state, so they refuse to be framed (clickjacking
 * a Clear button), and the policy allows nothing but the inline style and
 * same-origin form posts: should an escape ever be missed, no injected
 * script or resource loads. Each page is negotiated on Accept (HTML, JSON
 * or text), so a cache must key on it (`Vary`, RFC 9110 §12.5.5).
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "vary": "Accept",
};

/**
 * renderPage takes a title (text), the page's content and CSS of its own
 * (after the shared rules, none by default), and returns the site's HTML
 * document: the minserve header, then `main` under the title.
 */
function renderPage(title: string, main: SafeHtml, style = ""): string {
  return htmlDocument(
    `${title} · minserve`,
    PAGE_STYLE + style,
    html`
      <header class="site">
        <div class="wrap"><a class="brand" href="/">minserve</a></div>
      </header>
      <main class="wrap">
        <h1>${title}</h1>
        ${main}
      </main>
    `,
  );
}

/** PageBody is one representation of a page: its text and its Content-Type. */
export interface PageBody {
  body: string;
  type: string;
}

/** PageInit is the rest of a page's answer: its status, and fields of its own. */
export interface PageInit {
  /** The status; 200 when absent. */
  status?: number;
  /** Fields set after the defaults, replacing any of the same name (a `Vary`, a policy). */
  headers?: HeadersInit;
}

const encoder = new TextEncoder();

/**
 * pageResponse takes a page body and returns the `Response` a page answers
 * with: `init.status` (200), the body's Content-Type, its Content-Length,
 * `Cache-Control: no-store` (a page says what is true now: the time, the
 * newest posts, a check's verdict), `X-Content-Type-Options: nosniff`, then
 * `init.headers`. It throws only for a field `Headers` refuses.
 *
 * The body is there for HEAD too, as it is for GET: the writer
 * (http/response_writer.ts) sends a HEAD's head alone, with this
 * Content-Length, the length GET would send (RFC 9110 §9.3.2), and so does
 * `Deno.serve`. So no page tests for HEAD itself.
 */
export function pageResponse(page: PageBody, init: PageInit = {}): Response {
  const bytes = encoder.encode(page.body);
  const headers = new Headers({
    "content-type": page.type,
    "content-length": String(bytes.length),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  for (const [name, value] of new Headers(init.headers)) headers.set(name, value);
  return new Response(bytes, { status: init.status ?? 200, headers });
}

/**
 * otherMethod answers a method a page's handler does not serve itself:
 * OPTIONS gets 204 with `allow` (a list like `GET, HEAD, OPTIONS`) as its
 * `Allow` field (RFC 9110 §9.3.7), and any other method is refused: it
 * throws a 405 {@linkcode HttpError} with the same `Allow` (§15.5.6).
 */
export function otherMethod(request: Request, allow: string): Response {
  if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: { allow } });
  throw new HttpError(405, undefined, { headers: { allow } });
}

/** READ_ALLOW is the `Allow` field of a page that only reads (RFC 9110 §9.3.1, §9.3.2). */
export const READ_ALLOW = "GET, HEAD";

/**
 * onlyReads lets a GET or HEAD through and throws a 405
 * {@linkcode HttpError} with `Allow: GET, HEAD` for any other method: the
 * guard of a page that only reads, called directly (the app refuses other
 * methods before they reach it).
 */
export function onlyReads(request: Request): void {
  if (request.method !== "GET" && request.method !== "HEAD") {
    throw new HttpError(405, undefined, { headers: { allow: READ_ALLOW } });
  }
}

/**
 * jsonBody takes any JSON-serialisable value and returns it as a page body,
 * newline-terminated like the listings. Throws what `JSON.stringify` throws
 * (a cycle, a BigInt).
 */
export function jsonBody(value: unknown): PageBody {
  return { body: JSON.stringify(value) + "\n", type: "application/json; charset=utf-8" };
}

/** textBody takes text and returns it as a plain-text page body, UTF-8. */
export function textBody(text: string): PageBody {
  return { body: text, type: "text/plain; charset=utf-8" };
}

/**
 * htmlBody takes a title, the page's content and optional CSS of its own,
 * and returns the site's HTML page around them as a page body (UTF-8).
 */
export function htmlBody(title: string, main: SafeHtml, style?: string): PageBody {
  return { body: renderPage(title, main, style), type: "text/html; charset=utf-8" };
}
