/**
 * page.ts — the shell and the response shared by minserve's dynamic pages
 * (uploads, board): one self-contained HTML document, styled like the
 * default site (www/style.css) but with no external resources, so it looks
 * right whatever the document root holds.
 */

import { html, htmlDocument, type SafeHtml } from "../html.ts";

/**
 * The default site's palette and type, trimmed to what the pages use.
 * Touch targets are at least 2.75rem (44 px) high for phones.
 */
const STYLE = `
:root{color-scheme:light dark;--bg:#fbfbfa;--fg:#1d1f21;--muted:#5f6368;--accent:#0b6bcb;
--surface:#f0f1f3;--border:#dcdfe3;--danger:#b3261e;
--font:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
@media(prefers-color-scheme:dark){:root{--bg:#15171a;--fg:#e6e7e9;--muted:#9aa0a6;
--accent:#6cb2ff;--surface:#1e2125;--border:#2e3238;--danger:#f2b8b5}}
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:1rem/1.6 var(--font)}
a{color:var(--accent);text-underline-offset:.15em}
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
 * PAGE_HEADERS go on every dynamic page. The pages carry forms that change
 * state, so they refuse to be framed (clickjacking a Clear button), and the
 * policy allows nothing but the inline style and same-origin form posts:
 * should an escape ever be missed, no injected script or resource loads.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

/** renderPage wraps `main` in the site's HTML document under the title `title`. */
export function renderPage(title: string, main: SafeHtml): string {
  return htmlDocument(
    `${title} · minserve`,
    STYLE,
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

/**
 * pageResponse answers `request` with `page`: Content-Length set, no body
 * for HEAD (RFC 9110 §9.3.2), never cached (the content changes with every
 * post), `Vary: Accept` because the representation was negotiated, and
 * {@linkcode PAGE_HEADERS}. `init.headers` are added last.
 */
export function pageResponse(
  request: Request,
  page: PageBody,
  init: { status?: number; headers?: HeadersInit } = {},
): Response {
  const bytes = new TextEncoder().encode(page.body);
  const headers = new Headers(PAGE_HEADERS);
  headers.set("content-type", page.type);
  headers.set("content-length", String(bytes.length));
  headers.set("cache-control", "no-store");
  headers.set("vary", "Accept");
  for (const [name, value] of new Headers(init.headers)) headers.set(name, value);
  return new Response(request.method === "HEAD" ? null : bytes, {
    status: init.status ?? 200,
    headers,
  });
}

/** jsonBody serialises `value` as a JSON page body, newline-terminated like the listings. */
export function jsonBody(value: unknown): PageBody {
  return { body: JSON.stringify(value) + "\n", type: "application/json; charset=utf-8" };
}

/** textBody is a plain-text page body. */
export function textBody(text: string): PageBody {
  return { body: text, type: "text/plain; charset=utf-8" };
}

/** htmlBody renders a full HTML page body (see {@linkcode renderPage}). */
export function htmlBody(title: string, main: SafeHtml): PageBody {
  return { body: renderPage(title, main), type: "text/html; charset=utf-8" };
}
