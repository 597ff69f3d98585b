/**
 * html.ts — HTML that is escaped by default, and the document shell and
 * base stylesheet every page shares (error pages, listings, the pages).
 */

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * escapeHtml takes any text and returns it with the five characters that
 * matter in HTML text and quoted attribute values (`& < > " '`) replaced by
 * their character references. It never throws.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** SafeHtml is markup that has been escaped or built by {@linkcode html}; only it is inserted unescaped. */
export class SafeHtml {
  readonly #value: string;
  /** The constructor takes markup that is already safe to insert as it is. */
  constructor(value: string) {
    this.#value = value;
  }
  /** The markup. */
  toString(): string {
    return this.#value;
  }
}

/**
 * unsafeRaw takes markup and returns it as {@linkcode SafeHtml}, inserted
 * by {@linkcode html} as it is. Loud on purpose: every use is a place to
 * review.
 */
export function unsafeRaw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/**
 * html is a template tag that returns its markup as {@linkcode SafeHtml},
 * every interpolated value escaped ({@linkcode escapeHtml}) but
 * {@linkcode SafeHtml} (nested `html` results); arrays are joined, and
 * null, undefined and false render nothing. It throws only what a value's
 * own `toString` throws.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) {
    out += render(values[i]) + strings[i + 1]!;
  }
  return new SafeHtml(out);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(String(value));
}

/**
 * BASE_STYLE begins the stylesheet of every page minserve makes: the
 * default site's palette (www/style.css) as custom properties, light and
 * dark, its type, and its links. A page adds only its own rules after it
 * ({@linkcode htmlDocument}), and uses the properties (`--muted`,
 * `--border`…) rather than colours of its own, so every page matches the
 * site and follows the reader's colour scheme. The properties sit on `html`
 * (what `:root` selects in a page), which keeps the word "root", the name
 * of many a document root, out of error pages.
 */
export const BASE_STYLE = `
html{color-scheme:light dark;--bg:#fbfbfa;--fg:#1d1f21;--muted:#5f6368;--accent:#0b6bcb;
--surface:#f0f1f3;--border:#dcdfe3;--danger:#b3261e;
--font:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
-webkit-text-size-adjust:100%;text-size-adjust:100%}
@media(prefers-color-scheme:dark){html{--bg:#15171a;--fg:#e6e7e9;--muted:#9aa0a6;
--accent:#6cb2ff;--surface:#1e2125;--border:#2e3238;--danger:#f2b8b5}}
*,*::before,*::after{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:1rem/1.6 var(--font)}
a{color:var(--accent);text-underline-offset:.15em}
`.replaceAll("\n", "");

/**
 * NOTE_STYLE lays out a short page, a heading and a few lines in one narrow
 * column: error pages (error_page.ts) and `/time`.
 */
export const NOTE_STYLE = "body{max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}" +
  "h1{font-size:1.5rem}p{color:var(--muted)}";

/**
 * htmlDocument takes a title (text, escaped here), the page's own CSS and
 * its body, and returns a complete, self-contained HTML document: UTF-8, a
 * phone-sized viewport, one inline stylesheet ({@linkcode BASE_STYLE}, then
 * `style`), and an empty inline icon so browsers do not ask for
 * /favicon.ico. `style` is trusted server text: it must not hold `</style>`.
 */
export function htmlDocument(title: string, style: string, body: SafeHtml): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${BASE_STYLE}${style}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/**
 * minuteOf takes a UTC time as `Date.toISOString` writes it and returns it
 * to the minute, as the pages show times: `2026-11-30T00:05:09.123Z` →
 * `2026-11-30 00:05` (the page says UTC). Never throws.
 */
export function minuteOf(iso: string): string {
  return iso.slice(0, 16).replace("T", " ");
}
