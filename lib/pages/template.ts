/**
 * template.ts — pages filled in from the query string, the lesson's "turn
 * the query parameters into a dictionary and fill in a template page".
 *
 * The convention:
 *
 * - Any file under the document root whose name ends in `.tmpl.html` (any
 *   letter case) is a template. A GET or HEAD for its URL renders it; its raw
 *   source is never sent.
 * - `{{name}}` is replaced by the first value of the query parameter `name`,
 *   and `{{name|default text}}` by that value or, when the parameter is
 *   missing or empty, by the default text. A name is `[A-Za-z0-9_-]+`, case
 *   sensitive. Spaces or tabs may surround the name, the `|` and the default
 *   (`{{ name | stranger }}`); the default is trimmed and may not contain
 *   `{`, `}` or a line break.
 * - Every value is HTML-escaped (`& < > " '`), defaults too: a default is
 *   text, not markup. So a placeholder is safe in element content and inside
 *   a quoted attribute value. It is NOT made safe in an unquoted attribute,
 *   in a URL attribute (`href="{{x}}"` would accept `javascript:`), or inside
 *   `<script>` or `<style>`: do not put placeholders there. (The response's
 *   Content-Security-Policy forbids inline script as a second line of
 *   defence.) A missing parameter without default becomes "".
 * - Anything else is literal text: `{{{name}}}`, `{{name}}}`, `{{ bad name }}`,
 *   `{{}}`, an unclosed `{{`. To show braces in a page, write `&#123;{name}}`.
 * - Substitution is one pass over the template: a value that contains
 *   `{{name}}` is not expanded again, and nothing is ever evaluated.
 * - To limit abuse, at most {@linkcode MAX_TEMPLATE_PARAMS} distinct
 *   parameters are used (the first ones in the query; the rest count as
 *   missing), and a value is cut to {@linkcode MAX_TEMPLATE_VALUE_BYTES} bytes of
 *   UTF-8, never inside a character.
 *
 * {@linkcode renderTemplate} is pure; {@linkcode serveTemplate} wraps it in a
 * response, and {@linkcode serveTemplateFile} reads the source first. The
 * app decides what is a template with {@linkcode isTemplateName}: it hands
 * that rule to the static layer, which finds such files under the root (by
 * the URL's name or the real name behind a link), hides their compressed
 * siblings, and passes them back here instead of sending their bytes.
 */

import { HttpError } from "../http/http_error.ts";
import { escapeHtml } from "../html.ts";
import { onlyReads, pageResponse } from "./page.ts";

/** MAX_TEMPLATE_PARAMS: distinct query parameters used per render; later ones count as missing. */
export const MAX_TEMPLATE_PARAMS = 64;
/** MAX_TEMPLATE_VALUE_BYTES: a value is cut to this many bytes of UTF-8 (8 KiB) before escaping. */
export const MAX_TEMPLATE_VALUE_BYTES = 8 * 1024;

/** MAX_TEMPLATE_SOURCE_BYTES bounds a template file read into memory to render it (1 MiB). */
export const MAX_TEMPLATE_SOURCE_BYTES = 1024 * 1024;

/** TEMPLATE_SUFFIX ends the name of every template file. */
export const TEMPLATE_SUFFIX = ".tmpl.html";

/** The `Allow` field of a template's 405: a template page only reads (RFC 9110 §9.3.1, §9.3.2). */

/**
 * One placeholder. The lookbehind and lookahead refuse a third brace on
 * either side, so `{{{x}}}` and `{{x}}}` stay literal rather than half-match.
 * Group 1 is the name; group 2, when there is a `|`, the untrimmed default.
 */
const PLACEHOLDER = /(?<!\{)\{\{[ \t]*([A-Za-z0-9_-]+)[ \t]*(?:\|([^{}\r\n]*))?\}\}(?!\})/g;

const encoder = new TextEncoder();
/** Scratch space for cutting a value; encodeInto stops at a whole character. */
const cutBuffer = new Uint8Array(MAX_TEMPLATE_VALUE_BYTES);

/**
 * isTemplateName tells whether a file name (or path) names a template: it
 * ends in `.tmpl.html`. Letter case is ignored, and trailing dots and spaces
 * too, because a case-insensitive file system (macOS, Windows) opens
 * `greet.TMPL.html` as `greet.tmpl.html`, and Windows opens `greet.tmpl.html.`
 * as well; answering "not a template" for those would send the raw source.
 */
export function isTemplateName(name: string): boolean {
  return name.replace(/[. ]+$/, "").toLowerCase().endsWith(TEMPLATE_SUFFIX);
}

/**
 * templateValues turns the query parameters into the dictionary a template
 * is filled from: each name's first value, for at most
 * {@linkcode MAX_TEMPLATE_PARAMS} distinct names in query order, each cut to
 * {@linkcode MAX_TEMPLATE_VALUE_BYTES} bytes of UTF-8. Values are not escaped
 * yet.
 */
export function templateValues(params: URLSearchParams): Map<string, string> {
  const values = new Map<string, string>();
  for (const [name, value] of params) {
    if (values.has(name)) continue; // the first value wins, as with params.get()
    if (values.size >= MAX_TEMPLATE_PARAMS) continue;
    values.set(name, cut(value));
  }
  return values;
}

/** cut shortens `value` to at most MAX_TEMPLATE_VALUE_BYTES of UTF-8, on a character boundary. */
function cut(value: string): string {
  // Each UTF-16 code unit is at most 3 bytes of UTF-8: short strings fit.
  if (value.length * 3 <= MAX_TEMPLATE_VALUE_BYTES) return value;
  const { read } = encoder.encodeInto(value, cutBuffer);
  return value.slice(0, read);
}

/**
 * renderTemplate fills the placeholders of `source` from `params` (see the
 * module comment for the rules) and returns the page. Pure and total: it
 * never throws, whatever the template or the query holds.
 */
export function renderTemplate(source: string, params: URLSearchParams): string {
  const values = templateValues(params);
  // String.replace scans `source` once, and a replacement is never rescanned.
  return source.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
    const value = values.get(name);
    if (value !== undefined && value !== "") return escapeHtml(value);
    return escapeHtml(fallback?.replace(/^[ \t]+|[ \t]+$/g, "") ?? "");
  });
}

/**
 * serveTemplate renders the template `source` with the query of `request`
 * and answers 200 `text/html; charset=utf-8` with Content-Length. A rendered
 * page depends on the query and may carry what a visitor typed, so it is
 * never stored (`no-store`), never sniffed (`nosniff`), and runs no inline
 * script (Content-Security-Policy, in case a placeholder sits where escaping
 * is not enough). HEAD gets the same response as GET: the writer sends its
 * head only (RFC 9110 §9.3.2). Other methods throw a 405
 * {@linkcode HttpError} with `Allow: GET, HEAD`.
 */
export function serveTemplate(request: Request, source: string): Response {
  onlyReads(request);
  const page = renderTemplate(source, new URL(request.url).searchParams);
  return pageResponse({ body: page, type: "text/html; charset=utf-8" }, {
    // Scripts only from files on this server: no inline <script>, no on*=
    // attributes, no javascript: URLs, whatever a value manages to inject.
    headers: { "content-security-policy": "script-src 'self'; object-src 'none'; base-uri 'none'" },
  });
}

/**
 * serveTemplateFile renders the template file at `file.real` (a real path
 * the caller found and checked, of `file.size` bytes) for `request`; see
 * {@linkcode serveTemplate}. Throws a 500 {@linkcode HttpError} for a source
 * over {@linkcode MAX_TEMPLATE_SOURCE_BYTES}, the 405 of
 * {@linkcode serveTemplate}, and what reading the file throws.
 */
export async function serveTemplateFile(
  request: Request,
  file: { real: string; size: number },
): Promise<Response> {
  if (file.size > MAX_TEMPLATE_SOURCE_BYTES) throw new HttpError(500, "Template too large");
  return serveTemplate(request, await Deno.readTextFile(file.real));
}
