/**
 * listing.ts — a directory's contents as HTML for browsers, plain text (one
 * name per line) or JSON for programs, chosen by the Accept header; sorted
 * by name, size or date and filtered by name from the query
 * (`?sort=size&order=desc&filter=jpg`), the same in every format.
 *
 * {@linkcode serveListing} is the handler: it reads the directory (leaving
 * out what must not be shown), and answers with a validator and 304/412.
 * Everything below it is pure: entries in, text out.
 */

import { join } from "node:path";
import { HttpError } from "../http/http_error.ts";
import { html, htmlDocument, minuteOf, type SafeHtml, unsafeRaw } from "../html.ts";
import { type ListingFormat, preferredFormat } from "../negotiate.ts";
import { qrSvg } from "../qr.ts";
import { evaluatePreconditions } from "./conditional.ts";
import { chooseCoding, codingQualities } from "./encoding.ts";
import { contentType } from "./media_type.ts";
import { isHiddenName, realPathInside, type Scope } from "./resolve_path.ts";
import { fnv1a, fsError } from "./store.ts";

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

/** ListingOptions say which directory {@linkcode serveListing} answers for, and how. */
export interface ListingOptions {
  /** The directory on disk (the root joined with `segments`). */
  path: string;
  /** Its decoded URL segments ([] for the root): the page's title and links. */
  segments: string[];
  /** What may be shown: no dotfiles unless allowed, no link out of the root. */
  scope: Scope;
  /** The listing's Cache-Control. */
  cacheControl: string;
  /** The order, filter, ZIP link and page URL. */
  view: ListingView;
  /** Changes an HTML page before it is sent (live reload's script); its ETag then ends in `-live`. */
  inject?: ((page: Uint8Array) => Uint8Array) | undefined;
}

/** LISTING_COMPRESS_MIN_BYTES: a smaller listing is sent as it is (gzip's own bytes would cost more). */
export const LISTING_COMPRESS_MIN_BYTES = 1024;

/**
 * serveListing answers a GET or HEAD `request` for a directory with its
 * listing, in the format the Accept header asks for, gzip-compressed when
 * the Accept-Encoding field allows (a listing of 2,000 files is half a
 * megabyte of HTML, a tenth of that compressed). The validator is a weak
 * ETag, a digest of the page as generated, with `-live` when live reload's
 * script is in it and `-gzip` for the compressed form: each order, filter,
 * format and coding is a page of its own, so each has its own tag (RFC 9110
 * §8.8.3). Returns 200 or 304. Throws a 412 {@linkcode HttpError} for a
 * failed If-Match, and what `fsError` makes of a directory that cannot be
 * read (404, 403).
 */
export async function serveListing(request: Request, options: ListingOptions): Promise<Response> {
  const entries = await readListing(options.path, options.scope);
  const format = listingFormat(request.headers.get("accept"));
  const { body, type } = renderListing(options.segments, entries, format, options.view);
  let bytes: Uint8Array = new TextEncoder().encode(body);
  // Weak: the bytes are generated (RFC 9110 §8.8.1). No Last-Modified: a
  // directory's mtime changes when an entry is added or removed, not when a
  // file's size or time does, so it would not be the listing's.
  let tag = `${fnv1a(bytes).toString(16)}-${bytes.length.toString(16)}`;
  if (options.inject !== undefined && format === "html") {
    bytes = options.inject(bytes);
    tag += "-live";
  }
  const qualities = codingQualities(request.headers.get("accept-encoding"));
  const gzip = bytes.length >= LISTING_COMPRESS_MIN_BYTES &&
    chooseCoding(qualities, ["gzip"]) === "gzip";
  const etag = `W/"${tag}${gzip ? "-gzip" : ""}"`;
  const headers = new Headers({
    "cache-control": options.cacheControl,
    "vary": "Accept, Accept-Encoding",
    "x-content-type-options": "nosniff",
    "etag": etag,
  });
  const verdict = evaluatePreconditions(request.method, request.headers, {
    etag,
    lastModified: undefined,
  });
  if (verdict === "not-modified") return new Response(null, { status: 304, headers });
  if (verdict === "failed") throw new HttpError(412, undefined, { headers: { etag } });
  headers.set("content-type", type);
  if (gzip) {
    bytes = await gzipped(bytes);
    headers.set("content-encoding", "gzip");
  }
  headers.set("content-length", String(bytes.length));
  return new Response(bytes as Uint8Array<ArrayBuffer>, { headers });
}

/** gzipped compresses `bytes` with the web platform's CompressionStream (native, no Node compatibility layer). */
async function gzipped(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * readListing reads the directory at `path`: every entry `scope` lets out,
 * a symlink only when it resolves inside the root (and is then described
 * by its target). Throws what `fsError` makes of a directory that cannot
 * be read.
 */
async function readListing(path: string, scope: Scope): Promise<ListingEntry[]> {
  const entries: ListingEntry[] = [];
  try {
    for await (const entry of Deno.readDir(path)) {
      if (isHiddenName(entry.name, scope)) continue;
      const child = join(path, entry.name);
      let info: Deno.FileInfo;
      try {
        const real = entry.isSymlink ? realPathInside(child, scope) : child;
        if (real === undefined) continue;
        info = Deno.statSync(real);
      } catch {
        continue; // gone since readDir, or a broken link
      }
      entries.push({
        name: entry.name,
        isDirectory: info.isDirectory,
        size: info.size,
        mtime: info.mtime?.getTime(),
      });
    }
  } catch (err) {
    throw fsError(err);
  }
  return entries;
}

/** SortKey is the column a listing is ordered by. */
export type SortKey = "name" | "size" | "date";
/** SortOrder is ascending or descending. */
export type SortOrder = "asc" | "desc";

/** ListingQuery is how the query asks a listing to be shown. */
export interface ListingQuery {
  sort: SortKey;
  order: SortOrder;
  /** Names containing this (case-insensitively) are shown; "" shows all. */
  filter: string;
}

/** DEFAULT_QUERY: natural name order, everything shown. */
export const DEFAULT_QUERY: Readonly<ListingQuery> = { sort: "name", order: "asc", filter: "" };

/** MAX_FILTER_CHARS: a longer `filter` gets 400. */
export const MAX_FILTER_CHARS = 256;

const SORT_KEYS: readonly SortKey[] = ["name", "size", "date"];

/**
 * parseListingQuery reads `sort`, `order` and `filter` from a listing's
 * query. An unknown sort or order is ignored (the default), as a link from
 * an older or newer version should still show the folder; a filter longer
 * than {@linkcode MAX_FILTER_CHARS} is a 400 {@linkcode HttpError}.
 */
export function parseListingQuery(params: URLSearchParams): ListingQuery {
  const sort = params.get("sort");
  const order = params.get("order");
  const filter = (params.get("filter") ?? "").trim();
  if (filter.length > MAX_FILTER_CHARS) throw new HttpError(400, "Filter too long");
  return {
    sort: SORT_KEYS.includes(sort as SortKey) ? sort as SortKey : DEFAULT_QUERY.sort,
    order: order === "asc" || order === "desc" ? order : DEFAULT_QUERY.order,
    filter,
  };
}

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/**
 * sortEntries orders directories first, then by `sort` in `order`: names in
 * natural, case-insensitive order ("file2" before "file10"); equal sizes or
 * dates by name. Directories have no size of their own: by size, they keep
 * name order.
 */
export function sortEntries(
  entries: ListingEntry[],
  sort: SortKey = "name",
  order: SortOrder = "asc",
): ListingEntry[] {
  const sign = order === "asc" ? 1 : -1;
  const byName = (a: ListingEntry, b: ListingEntry) => collator.compare(a.name, b.name);
  const byKey = (a: ListingEntry, b: ListingEntry): number => {
    if (sort === "size" && !a.isDirectory) return a.size - b.size;
    if (sort === "date") return (a.mtime ?? 0) - (b.mtime ?? 0);
    return sort === "name" ? byName(a, b) : 0;
  };
  return [...entries].sort((a, b) => {
    if (a.isDirectory !== b.isDirectory) return a.isDirectory ? -1 : 1;
    const key = byKey(a, b);
    if (key !== 0) return sign * key;
    return sort === "size" && a.isDirectory ? byName(a, b) : sign * byName(a, b);
  });
}

/** matchKey is the form of a name (or filter) compared when filtering: NFC, lower case. */
export function matchKey(text: string): string {
  return text.normalize("NFC").toLowerCase();
}

/** filterEntries keeps the entries whose name contains `filter`, case-insensitively. */
export function filterEntries(entries: ListingEntry[], filter: string): ListingEntry[] {
  if (filter === "") return entries;
  const key = matchKey(filter);
  return entries.filter((e) => matchKey(e.name).includes(key));
}

/** FileKind is what a listing's icon shows. */
export type FileKind =
  | "folder"
  | "image"
  | "audio"
  | "video"
  | "text"
  | "archive"
  | "pdf"
  | "other";

const ARCHIVE_TYPES = new Set([
  "application/zip",
  "application/gzip",
  "application/x-gzip",
  "application/x-tar",
  "application/x-7z-compressed",
  "application/x-rar-compressed",
  "application/vnd.rar",
  "application/x-bzip",
  "application/x-bzip2",
  "application/x-xz",
  "application/zstd",
  "application/java-archive",
  "application/x-apple-diskimage",
]);
const TEXT_TYPES = new Set([
  "application/json",
  "application/javascript",
  "application/xml",
  "application/x-sh",
  "application/toml",
  "application/yaml",
  "application/sql",
]);
/** Source files whose media type is another thing's (`.ts` is MPEG-TS video): shown as text. */
const CODE_EXTENSIONS = /\.(?:ts|tsx|mts|cts)$/i;

/** kindOf tells which icon a listing shows for `entry`: by its media type. */
export function kindOf(entry: Pick<ListingEntry, "name" | "isDirectory">): FileKind {
  if (entry.isDirectory) return "folder";
  if (CODE_EXTENSIONS.test(entry.name)) return "text";
  const type = contentType(entry.name).split(";")[0]!;
  const major = type.split("/")[0];
  if (major === "image" || major === "audio" || major === "video") return major;
  if (type === "application/pdf") return "pdf";
  if (ARCHIVE_TYPES.has(type)) return "archive";
  if (major === "text" || TEXT_TYPES.has(type) || type.endsWith("+json") || type.endsWith("+xml")) {
    return "text";
  }
  return "other";
}

/** ListingView is what the HTML listing offers besides the entries. */
export interface ListingView {
  /** The order and filter asked for. */
  query?: ListingQuery;
  /** Whether to link the folder's ZIP download. */
  zip?: boolean;
  /** The page's absolute URL, for its QR code; none when absent. */
  pageUrl?: string;
}

/**
 * renderListing renders `entries` of the directory at the URL path of
 * `segments` (decoded, [] for the root) in `format`, ordered and filtered
 * as `view.query` asks. Returns the body and its Content-Type.
 */
export function renderListing(
  segments: string[],
  entries: ListingEntry[],
  format: ListingFormat,
  view: ListingView = {},
): { body: string; type: string } {
  const query = view.query ?? DEFAULT_QUERY;
  const shown = sortEntries(filterEntries(entries, query.filter), query.sort, query.order);
  if (format === "text") {
    const body = shown.map((e) => (e.isDirectory ? `${e.name}/` : e.name)).join("\n");
    return { body: body === "" ? "" : body + "\n", type: "text/plain; charset=utf-8" };
  }
  if (format === "json") {
    const body = JSON.stringify(shown.map((e) => ({
      name: e.name,
      type: e.isDirectory ? "directory" : "file",
      size: e.isDirectory ? null : e.size,
      modified: e.mtime === undefined ? null : new Date(e.mtime).toISOString(),
    })));
    return { body: body + "\n", type: "application/json; charset=utf-8" };
  }
  return {
    body: listingHtml(segments, shown, { ...view, query }),
    type: "text/html; charset=utf-8",
  };
}

/** hrefOf percent-encodes decoded path segments into an absolute URL path. */
export function hrefOf(segments: string[], trailingSlash: boolean): string {
  const path = segments.map(encodeURIComponent).join("/");
  return "/" + path + (trailingSlash && path !== "" ? "/" : "");
}

/** queryHref is the relative link `?…` to this listing with `query` (defaults left out). */
export function queryHref(query: ListingQuery): string {
  const params = new URLSearchParams();
  if (query.sort !== DEFAULT_QUERY.sort || query.order !== DEFAULT_QUERY.order) {
    params.set("sort", query.sort);
    params.set("order", query.order);
  }
  if (query.filter !== "") params.set("filter", query.filter);
  const search = params.toString();
  return search === "" ? "./" : `?${search}`;
}

/** LISTING_STYLE is what a listing adds to html.ts's shared BASE_STYLE (palette, type, links). */
const LISTING_STYLE =
  `body{font-size:15px;line-height:1.5;max-width:50rem;margin:1.5rem auto;padding:0 1rem}
    h1{font-size:1.4rem;margin:.5rem 0;overflow-wrap:anywhere}nav{overflow-wrap:anywhere}
    nav a{display:inline-block;min-width:24px;padding:.2rem 0;text-align:center}
    .tools{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;margin:1rem 0}
    .tools form{display:flex;gap:.4rem;flex:1 1 15rem;margin:0}
    input[type=search]{flex:1;min-width:0;font:inherit;padding:.3rem .5rem;border:1px solid #aaa;border-radius:4px;background:inherit;color:inherit}
    button{font:inherit;padding:.3rem .8rem;min-height:2.2rem}
    .tools a{display:inline-block;padding:.3rem 0}summary{padding:.3rem 0;cursor:pointer}
    table{border-collapse:collapse;width:100%}td,th{padding:0 .5rem;text-align:left;border-bottom:1px solid var(--border)}
    td:first-child,th:first-child{padding-left:0;overflow-wrap:anywhere}td:last-child,th:last-child{padding-right:0}
    th a{display:block;padding:.4rem 0;white-space:nowrap}td a{display:flex;align-items:center;gap:.45rem;padding:.4rem 0;min-height:24px}
    .n{text-align:right;white-space:nowrap}th.n a{text-align:right}td.d{white-space:nowrap}
    .i{width:18px;height:18px;flex:none}.none td{padding:.6rem 0;color:var(--muted)}
    a{text-decoration:none}a:hover{text-decoration:underline}
    .qr svg{display:block;width:min(16rem,100%);height:auto;margin:.5rem 0}.qr p{margin:0;overflow-wrap:anywhere;color:var(--muted)}
    @media(max-width:32rem){td.d{white-space:normal}}`;

/** ICONS are inline SVG symbols, one per {@linkcode FileKind}, referenced by each row (no request). */
const ICONS = unsafeRaw(
  `<svg xmlns="http://www.w3.org/2000/svg" style="display:none">` +
    `<symbol id="i-folder" viewBox="0 0 16 16"><path fill="#d4a72c" d="M1 3.5C1 2.7 1.7 2 2.5 2h3.6l1.5 1.5h5.9c.8 0 1.5.7 1.5 1.5v7.5c0 .8-.7 1.5-1.5 1.5h-11C1.7 14 1 13.3 1 12.5z"/></symbol>` +
    `<symbol id="i-page" viewBox="0 0 16 16"><path fill="none" stroke="#8c959f" d="M3.5 1.5h6l3 3v10h-9z"/></symbol>` +
    `<symbol id="i-image" viewBox="0 0 16 16"><rect x="1.5" y="2.5" width="13" height="11" rx="1" fill="none" stroke="#2da44e"/><circle cx="5.5" cy="6" r="1.5" fill="#2da44e"/><path fill="#2da44e" d="M2 13l4-5 3 3 2-2 3.5 4z"/></symbol>` +
    `<symbol id="i-audio" viewBox="0 0 16 16"><path fill="#8250df" d="M6 3l8-2v9.5a2 2 0 1 1-1.5-1.9V4.2L7.5 5.4v7.1A2 2 0 1 1 6 10.6z"/></symbol>` +
    `<symbol id="i-video" viewBox="0 0 16 16"><rect x="1.5" y="2.5" width="13" height="11" rx="1" fill="none" stroke="#cf222e"/><path fill="#cf222e" d="M6 5.5v5l4.5-2.5z"/></symbol>` +
    `<symbol id="i-text" viewBox="0 0 16 16"><use href="#i-page"/><path stroke="#57606a" d="M5 6.5h6M5 8.5h6M5 10.5h6M5 12.5h4"/></symbol>` +
    `<symbol id="i-archive" viewBox="0 0 16 16"><use href="#i-page"/><path stroke="#bc4c00" stroke-width="2" d="M8 2v1.5m0 1.5v1.5m0 1.5v1.5"/><rect x="6.5" y="10" width="3" height="3" fill="#bc4c00"/></symbol>` +
    `<symbol id="i-pdf" viewBox="0 0 16 16"><use href="#i-page"/><rect x="2" y="8" width="10" height="4" fill="#d1242f"/></symbol>` +
    `<symbol id="i-other" viewBox="0 0 16 16"><use href="#i-page"/></symbol>` +
    `</svg>`,
);

/** ICON holds each kind's `<svg>`, decorative: the name beside it says what it is. */
const ICON = Object.fromEntries(
  (["folder", "image", "audio", "video", "text", "archive", "pdf", "other"] as const).map((
    kind,
  ) => [kind, unsafeRaw(`<svg class="i" aria-hidden="true"><use href="#i-${kind}"/></svg>`)]),
) as Record<FileKind, SafeHtml>;

/** The filter as you type: rows whose name does not contain it are hidden (without script, the form's GET does it). */
const FILTER_SCRIPT = unsafeRaw(`<script>
(() => {
  const input = document.getElementById("filter");
  const rows = [...document.querySelectorAll("tbody tr[data-name]")];
  const none = document.getElementById("none");
  if (!input || !none) return;
  input.addEventListener("input", () => {
    const key = input.value.trim().normalize("NFC").toLowerCase();
    let shown = 0;
    for (const row of rows) {
      const hit = row.dataset.name.includes(key);
      row.toggleAttribute("hidden", !hit);
      if (hit) shown++;
    }
    none.toggleAttribute("hidden", shown > 0);
  });
})();
</script>`);

/** The first order a column's link asks for: names A to Z, sizes and dates largest and newest first. */
const FIRST_ORDER: Record<SortKey, SortOrder> = { name: "asc", size: "desc", date: "desc" };

function sortHeader(key: SortKey, label: string, query: ListingQuery): SafeHtml {
  const current = query.sort === key;
  const order = current ? (query.order === "asc" ? "desc" : "asc") : FIRST_ORDER[key];
  const href = queryHref({ ...query, sort: key, order });
  const arrow = current ? (query.order === "asc" ? " ▲" : " ▼") : "";
  // Fixed words only: the column's class and its sort state (WAI-ARIA aria-sort).
  let attributes = key === "size" ? ` class="n"` : "";
  if (current) attributes += ` aria-sort="${query.order === "asc" ? "ascending" : "descending"}"`;
  const link = html`<a href="${href}">${label}<span aria-hidden="true">${arrow}</span></a>`;
  return html`<th${unsafeRaw(attributes)}>${link}</th>`;
}

/** MAX_QR_MEMOS bounds the QR drawings kept: a folder's page is asked for again and again. */
const MAX_QR_MEMOS = 256;
const qrMemos = new Map<string, SafeHtml>();

/** qrOf is the SVG QR code of `url` (about 0.6 ms to make, so kept). */
function qrOf(url: string): SafeHtml {
  let svg = qrMemos.get(url);
  if (svg === undefined) {
    // Numbers and fixed markup only (qr.ts): nothing of the URL is in it.
    svg = unsafeRaw(qrSvg(url));
    if (qrMemos.size >= MAX_QR_MEMOS) qrMemos.clear();
    qrMemos.set(url, svg);
  }
  return svg;
}

function listingHtml(
  segments: string[],
  entries: ListingEntry[],
  view: ListingView & { query: ListingQuery },
): string {
  const title = "/" + segments.map((s) => s + "/").join("");
  const crumbs = [html`<a href="/">root</a>`];
  segments.forEach((s, i) =>
    crumbs.push(html`
      / <a href="${hrefOf(segments.slice(0, i + 1), true)}">${s}</a>
    `)
  );
  const parent = segments.length > 0 ? parentRow(segments) : "";
  const rows = entries.map((e) => entryRow(segments, e));
  const { query } = view;
  const headers = [
    sortHeader("name", "Name", query),
    sortHeader("size", "Size", query),
    sortHeader("date", "Modified (UTC)", query),
  ];
  return htmlDocument(
    `Index of ${title}`,
    LISTING_STYLE,
    html`
      ${ICONS}
      <header>
        <h1>Index of ${title}</h1>
        <nav aria-label="Path">${crumbs}</nav>
      </header>
      <main>
        <div class="tools">
          ${filterForm(query)}
          ${view.zip && html`<a href="?download=zip" download>Download this folder (.zip)</a>`}
        </div>
        <table>
          <thead>
            <tr>
              ${headers}
            </tr>
          </thead>
          <tbody>
        ${parent}${rows}
            ${noneRow(query.filter, entries.length)}
          </tbody>
        </table>
        ${view.pageUrl === undefined ? "" : qrDetails(view.pageUrl)}
      </main>
      ${FILTER_SCRIPT}
    `,
  );
}

/** entryRow is the table row of one entry of the folder at `segments`. */
function entryRow(segments: string[], e: ListingEntry): SafeHtml {
  const href = hrefOf([...segments, e.name], e.isDirectory);
  const label = e.isDirectory ? `${e.name}/` : e.name;
  const modified = e.mtime === undefined ? "" : minuteOf(new Date(e.mtime).toISOString());
  return html`
    <tr data-name="${matchKey(e.name)}">
      <td><a href="${href}">${ICON[kindOf(e)]}<span>${label}</span></a></td>
      <td class="n">${e.isDirectory ? "—" : formatSize(e.size)}</td>
      <td class="d">${modified}</td>
    </tr>
  `;
}

/** parentRow is the `../` row of a folder below the root. */
function parentRow(segments: string[]): SafeHtml {
  return html`
    <tr>
      <td><a href="${hrefOf(segments.slice(0, -1), true)}">../</a></td>
      <td></td>
      <td></td>
    </tr>
  `;
}

/**
 * filterForm is the filter's form; a sort and order other than the
 * default ride along as hidden fields with a filter typed into it.
 */
function filterForm(query: ListingQuery): SafeHtml {
  const hidden = (name: string, value: string) =>
    html`<input type="hidden" name="${name}" value="${value}">`;
  const keep = query.sort !== DEFAULT_QUERY.sort || query.order !== DEFAULT_QUERY.order
    ? [hidden("sort", query.sort), hidden("order", query.order)]
    : [];
  return html`
    <form method="get" role="search">
      <input id="filter" type="search" name="filter" value="${query
        .filter}" placeholder="Filter names" aria-label="Filter names" autocomplete="off">${keep}
      <button type="submit">Filter</button>
    </form>
  `;
}

/**
 * noneRow is shown when nothing matches (hidden while entries are listed;
 * the filter script shows and hides it as you type).
 */
function noneRow(filter: string, listed: number): SafeHtml {
  const text = filter === "" && listed === 0
    ? "This folder is empty."
    : "No names match the filter.";
  return html`
    <tr class="none" id="none" ${unsafeRaw(listed > 0 ? " hidden" : "")}>
      <td colspan="3">${text}</td>
    </tr>
  `;
}

/** qrDetails is the folded QR code of `pageUrl`, to open the page on a phone. */
function qrDetails(pageUrl: string): SafeHtml {
  return html`
    <details class="qr">
      <summary>QR code of this page</summary>
      ${qrOf(pageUrl)}
      <p>${pageUrl}</p>
    </details>
  `;
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
