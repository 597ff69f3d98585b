/**
 * listing.ts — a directory's contents as HTML for browsers, plain text (one
 * name per line) or JSON for programs, chosen by the Accept header.
 * Pure: the caller reads the directory and filters what must not be shown.
 */

import { html, htmlDocument } from "../html.ts";
import { type ListingFormat, preferredFormat } from "../negotiate.ts";

export type { ListingFormat };

/** listingFormat picks the listing's format from the Accept header; see {@linkcode preferredFormat}. */
export const listingFormat: (accept: string | null) => ListingFormat = preferredFormat;

/** ListingEntry is one name in a directory listing. */
export interface ListingEntry {
  name: string;
  isDirectory: boolean;
  /** Size in bytes (files only). */
  size: number;
  /** Last modification in ms since the epoch, when known. */
  mtime: number | undefined;
}

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** sortEntries orders directories first, then names in natural, case-insensitive order ("file2" before "file10"). */
export function sortEntries(entries: ListingEntry[]): ListingEntry[] {
  return [...entries].sort((a, b) =>
    a.isDirectory !== b.isDirectory ? (a.isDirectory ? -1 : 1) : collator.compare(a.name, b.name)
  );
}

/**
 * renderListing renders `entries` of the directory at URL path `urlPath`
 * (decoded segments, [] for the root) in `format`. Returns the body and its
 * Content-Type.
 */
export function renderListing(
  segments: string[],
  entries: ListingEntry[],
  format: ListingFormat,
): { body: string; type: string } {
  const sorted = sortEntries(entries);
  if (format === "text") {
    const body = sorted.map((e) => (e.isDirectory ? `${e.name}/` : e.name)).join("\n");
    return { body: body === "" ? "" : body + "\n", type: "text/plain; charset=utf-8" };
  }
  if (format === "json") {
    const body = JSON.stringify(sorted.map((e) => ({
      name: e.name,
      type: e.isDirectory ? "directory" : "file",
      size: e.isDirectory ? null : e.size,
      modified: e.mtime === undefined ? null : new Date(e.mtime).toISOString(),
    })));
    return { body: body + "\n", type: "application/json; charset=utf-8" };
  }
  return { body: listingHtml(segments, sorted), type: "text/html; charset=utf-8" };
}

/** hrefOf percent-encodes decoded path segments into an absolute URL path. */
export function hrefOf(segments: string[], trailingSlash: boolean): string {
  const path = segments.map(encodeURIComponent).join("/");
  return "/" + path + (trailingSlash && path !== "" ? "/" : "");
}

const LISTING_STYLE =
  `body{font:15px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#222}
    table{border-collapse:collapse;width:100%}td,th{padding:.3rem .6rem;text-align:left;border-bottom:1px solid #eee}
    td.n{text-align:right;white-space:nowrap}td.d{white-space:nowrap}td:first-child{overflow-wrap:anywhere}a{color:#0550ae;text-decoration:none}a:hover{text-decoration:underline}
    @media(prefers-color-scheme:dark){body{background:#111;color:#eee}td,th{border-color:#333}a{color:#7cb7ff}}`;

function listingHtml(segments: string[], entries: ListingEntry[]): string {
  const title = "/" + segments.map((s) => s + "/").join("");
  const crumbs = [html`<a href="/">root</a>`];
  segments.forEach((s, i) =>
    crumbs.push(html`
      / <a href="${hrefOf(segments.slice(0, i + 1), true)}">${s}</a>
    `)
  );
  const rows = entries.map((e) => {
    const href = hrefOf([...segments, e.name], e.isDirectory);
    const label = e.isDirectory ? `${e.name}/` : e.name;
    const modified = e.mtime === undefined
      ? ""
      : new Date(e.mtime).toISOString().replace("T", " ").slice(0, 16);
    return html`
      <tr>
        <td><a href="${href}">${label}</a></td>
        <td class="n">${e.isDirectory ? "—" : formatSize(e.size)}</td>
        <td class="d">${modified}</td>
      </tr>
    `;
  });
  const parent = segments.length > 0
    ? html`
      <tr>
        <td><a href="${hrefOf(segments.slice(0, -1), true)}">../</a></td>
        <td></td>
        <td></td>
      </tr>
    `
    : "";
  return htmlDocument(
    `Index of ${title}`,
    LISTING_STYLE,
    html`
      <h1>Index of ${title}</h1>
      <nav>${crumbs}</nav>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Size</th>
            <th>Modified (UTC)</th>
          </tr>
        </thead>
        <tbody>
      ${parent}${rows}
            </tbody>
      </table>
    `,
  );
}

/** formatSize writes a byte count for people: "512 B", "1.5 KiB", "20 MiB". */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
