/**
 * html.ts — HTML that is escaped by default, and the server's error page.
 */

import { reasonPhrase } from "./http/status.ts";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** escapeHtml replaces the five characters that matter in HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** SafeHtml is markup that has been escaped or built by {@linkcode html}; only it is inserted unescaped. */
export class SafeHtml {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The markup. */
  toString(): string {
    return this.#value;
  }
}

/** unsafeRaw marks `markup` as trusted HTML. Loud on purpose: every use is a place to review. */
export function unsafeRaw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/**
 * html is a template tag that escapes every interpolated value, except
 * {@linkcode SafeHtml} (nested `html` results); arrays are joined.
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

const STYLE = "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;" +
  "padding:0 1rem;color:#222}h1{font-size:1.5rem}p{color:#555}" +
  "a{color:#0550ae;display:inline-block;padding:.3rem 0}" +
  "@media(prefers-color-scheme:dark){body{background:#111;color:#eee}p{color:#aaa}a{color:#7cb7ff}}";

/**
 * errorPage renders the small HTML page sent with an error status. `message`
 * is fixed server text (never request input), escaped all the same. The page
 * is one `<main>` landmark with a link home, so no error is a dead end.
 */
export function errorPage(status: number, message: string = reasonPhrase(status)): string {
  const title = `${status} ${reasonPhrase(status)}`;
  return htmlDocument(
    title,
    STYLE,
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

/**
 * htmlDocument wraps `body` in a complete, self-contained HTML document:
 * UTF-8, a phone-sized viewport, `style` inline, and an empty inline icon so
 * browsers do not ask for /favicon.ico.
 */
export function htmlDocument(title: string, style: string, body: SafeHtml): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
