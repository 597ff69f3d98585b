/**
 * serve_file.ts — ⑥⑦ the document root over HTTP: a URL path to a file
 * inside the root (through the representation store), and that file's
 * answer as a `Response`; index pages, directory listings (sorted and
 * filtered by the query), folder downloads (`?download=zip`, folder_zip.ts),
 * templates.
 *
 * It knows nothing of sockets: a `Request` comes in, a `Response` goes out,
 * and every failure is a thrown {@linkcode HttpError}. What to send is
 * decided once, in `serve_content.ts`, for this path and for the fast path
 * ({@linkcode StaticSite.answerFast}) that skips `Request` and `Response`.
 *
 * Security is layered. `resolve_path.ts` refuses anything that decodes to a
 * way out; the store checks every file by its real path (after symlinks) to
 * lie inside the root's real path; and Deno's `--allow-read` stops whatever
 * both might miss.
 */

import { join, relative, sep as SEPARATOR } from "node:path";
import { HttpError } from "../http/http_error.ts";
import type { FieldSource } from "../http/fields.ts";
import { serveTemplate } from "../pages/template.ts";
import { evaluatePreconditions } from "./conditional.ts";
import { fileStream, multipartStream } from "./file_body.ts";
import {
  contentDisposition,
  DEFAULT_MAX_ZIP_BYTES,
  MAX_ZIP_ENTRIES,
  walkFolder,
  zipLength,
  zipNameOf,
  zipStream,
} from "./folder_zip.ts";
import {
  hrefOf,
  type ListingEntry,
  listingFormat,
  type ListingView,
  parseListingQuery,
  renderListing,
} from "./listing.ts";
import { resolvePath } from "./resolve_path.ts";
import {
  answerContent,
  type ContentAnswer,
  type ContentOptions,
  DEFAULT_CACHE_CONTROL,
} from "./serve_content.ts";
import {
  type FileEntry,
  fnv1a,
  fsError,
  type Lookup,
  RepresentationStore,
  type Scope,
} from "./store.ts";

export { DEFAULT_CACHE_CONTROL };

/** StaticOptions configure {@linkcode serveStatic} and {@linkcode StaticSite}. */
export interface StaticOptions {
  /** The document root, absolute. */
  root: string;
  /** The root's real path (symlinks resolved), absolute. */
  realRoot: string;
  /** Whether directories without index.html are listed. */
  listing: boolean;
  /** Whether names starting with "." are served. */
  dotfiles: boolean;
  /** The Cache-Control of files and listings; {@linkcode DEFAULT_CACHE_CONTROL} when absent. */
  cacheControl?: string;
  /** Whether `*.tmpl.html` files are rendered as templates (default true; uploads say false). */
  templates?: boolean;
  /** The representation store; a site without one makes its own, with the default bounds. */
  store?: RepresentationStore;
  /** Live reload: adds its script to every HTML page (files, templates, listings). */
  inject?: (page: Uint8Array) => Uint8Array;
  /**
   * The most a folder's files may add up to for its ZIP download
   * (`?download=zip`, only where listings are on); 0 turns folder downloads
   * off. {@linkcode DEFAULT_MAX_ZIP_BYTES} when absent.
   */
  maxZipBytes?: number;
}

/** INDEX_FILE is served for a directory URL when present. */
export const INDEX_FILE = "index.html";

/** MAX_REMEMBERED_PATHS bounds the URL paths a site keeps resolved. */
const MAX_REMEMBERED_PATHS = 4096;

/** MAX_TEMPLATE_SOURCE_BYTES bounds a template file read into memory to render it. */
export const MAX_TEMPLATE_SOURCE_BYTES = 1024 * 1024;

/** MemoryAnswer is an answer whose body, if any, is in memory: what the fast path can write. */
export type MemoryAnswer = Extract<ContentAnswer, { kind: "memory" }>;

/**
 * StaticSite serves one directory tree. `serve` is the handler path;
 * `answerFast` answers the same requests without `Request` or `Response`
 * when the store holds what they need.
 */
export class StaticSite {
  readonly #options: StaticOptions;
  readonly #scope: Scope;
  readonly #content: ContentOptions;
  readonly #store: RepresentationStore;
  readonly #paths = new Map<string, string | null>();

  /** Creates the site for `options`. */
  constructor(options: StaticOptions) {
    this.#options = options;
    this.#store = options.store ?? new RepresentationStore();
    this.#scope = {
      root: options.root,
      realRoot: options.realRoot,
      dotfiles: options.dotfiles,
      templates: options.templates ?? true,
    };
    this.#content = {
      cacheControl: options.cacheControl,
      store: this.#store,
      scope: this.#scope,
      memos: new WeakMap(),
      inject: options.inject,
    };
  }

  /** The store behind the site. */
  get store(): RepresentationStore {
    return this.#store;
  }

  /**
   * answerFast answers a GET or HEAD of `pathname` (already split from its
   * query) when the answer's body is in memory: returns it, "not-found" for
   * a path that names no file, or undefined when the handler path must
   * answer (a directory, a template, a listing, an error, a large file, a
   * compression still being made).
   */
  answerFast(
    method: "GET" | "HEAD",
    pathname: string,
    bytesParam: string | null,
    fields: FieldSource,
  ): MemoryAnswer | "not-found" | undefined {
    const path = this.#pathOf(pathname);
    if (path === null) return undefined;
    const directory = pathname.endsWith("/");
    let found: Lookup;
    try {
      found = this.#store.lookup(path, this.#scope);
    } catch {
      return undefined;
    }
    if (found.kind === "missing") return directory ? undefined : "not-found";
    if (found.kind !== "file") return undefined;
    try {
      const answer = answerContent(found, { method, fields, bytesParam }, this.#content);
      return answer.kind === "memory" ? answer : undefined;
    } catch {
      return undefined; // 400, 412, 416: the handler path writes their pages
    }
  }

  /**
   * The file a URL path names (its index for a directory URL), or null when
   * the handler path must answer (a path the resolver refuses, a dotfile).
   * Pure, so kept: a site is asked for the same few paths again and again.
   */
  #pathOf(pathname: string): string | null {
    let path = this.#paths.get(pathname);
    if (path !== undefined) return path;
    try {
      const segments = resolvePath(pathname);
      const hidden = !this.#options.dotfiles && segments.some(isDotName);
      const index = pathname.endsWith("/") ? [INDEX_FILE] : [];
      path = hidden ? null : join(this.#options.root, ...segments, ...index);
    } catch {
      path = null;
    }
    if (this.#paths.size >= MAX_REMEMBERED_PATHS) this.#paths.clear();
    this.#paths.set(pathname, path);
    return path;
  }

  /**
   * serve answers a GET or HEAD `request` from the root. Throws a 400, 403,
   * 404, 412 or 416 {@linkcode HttpError}.
   */
  async serve(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const segments = resolvePath(url.pathname);
    if (!this.#options.dotfiles && segments.some(isDotName)) throw notFound();
    const path = join(this.#options.root, ...segments);
    const found = this.#store.lookup(path, this.#scope);
    const directory = url.pathname.endsWith("/");
    if (found.kind === "file" || found.kind === "template") {
      // "/file.txt/" names a directory that does not exist; relative links on
      // such a page would resolve against the wrong place.
      if (directory) throw notFound();
      return await this.#respond(request, url, found);
    }
    if (found.kind !== "directory") throw notFound();

    // A directory's URL ends in "/", so relative links in its index work.
    if (!directory) {
      // Built from the clean segments: "//sub" must not become "//sub/", a
      // link to the host "sub" (RFC 3986 §4.2).
      const location = hrefOf(segments, true) + url.search;
      return new Response(null, {
        status: 301,
        headers: { location, "cache-control": "no-cache" },
      });
    }
    if (url.searchParams.get("download") === "zip" && this.zipMaxBytes > 0) {
      return await serveFolderZip(request, path, segments, this.#scope, this.zipMaxBytes);
    }
    let index: Lookup = { kind: "missing" };
    try {
      index = this.#store.lookup(join(path, INDEX_FILE), this.#scope);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
    }
    if (index.kind === "file" || index.kind === "template") {
      return await this.#respond(request, url, index);
    }
    if (!this.#options.listing) throw notFound();
    const view: ListingView = {
      query: parseListingQuery(url.searchParams),
      zip: this.zipMaxBytes > 0,
      pageUrl: url.origin + url.pathname,
    };
    return await this.#injected(
      await serveListing(request, path, segments, this.#options, this.#scope, view),
    );
  }

  /** The cap of folder downloads: 0 when they are off (always, without listings). */
  get zipMaxBytes(): number {
    return this.#options.listing ? this.#options.maxZipBytes ?? DEFAULT_MAX_ZIP_BYTES : 0;
  }

  /** A generated HTML page with the live-reload script, when live reload is on. */
  async #injected(response: Response): Promise<Response> {
    const inject = this.#options.inject;
    const type = response.headers.get("content-type") ?? "";
    if (inject === undefined || response.status !== 200 || !type.startsWith("text/html")) {
      return response;
    }
    const headers = new Headers(response.headers);
    const etag = headers.get("etag");
    if (etag !== null) headers.set("etag", `${etag.slice(0, -1)}-live"`);
    if (response.body === null) {
      // HEAD: the length the GET would send.
      const length = Number(headers.get("content-length") ?? 0);
      headers.set("content-length", String(length + inject(new Uint8Array(0)).length));
      return new Response(null, { status: 200, headers });
    }
    const page = inject(new Uint8Array(await response.arrayBuffer()));
    headers.set("content-length", String(page.length));
    return new Response(page as Uint8Array<ArrayBuffer>, { status: 200, headers });
  }

  async #respond(
    request: Request,
    url: URL,
    found: FileEntry | { kind: "template"; real: string; size: number },
  ): Promise<Response> {
    if (found.kind === "template") {
      if (found.size > MAX_TEMPLATE_SOURCE_BYTES) throw new HttpError(500, "Template too large");
      return await this.#injected(serveTemplate(request, await Deno.readTextFile(found.real)));
    }
    const facts = {
      method: request.method,
      fields: request.headers,
      bytesParam: url.searchParams.get("bytes"),
    };
    const answer = answerContent(found, facts, this.#content);
    if (answer.kind === "wait") {
      // A compressed form is being made off the event loop: wait for it,
      // then decide again (it may have turned out no smaller).
      await answer.ready;
      return await this.serve(request);
    }
    if (answer.kind === "memory") return memoryResponse(answer, request.method);
    const file = openUnchanged(answer.entry);
    if (file === undefined) return await this.serve(request); // changed since: look again
    if (answer.kind === "live") {
      const compressor = new CompressionStream("gzip");
      const stream = fileStream(file, 0, answer.entry.size).pipeThrough(
        compressor as unknown as TransformStream<Uint8Array, Uint8Array>,
      );
      return new Response(stream, { status: 200, headers: answer.fields });
    }
    const headers = new Headers(answer.fields);
    headers.set("content-length", String(answer.length));
    if (request.method === "HEAD") {
      file.close();
      return new Response(null, { status: answer.status, headers });
    }
    const body = answer.multipart === undefined
      ? fileStream(file, answer.start, answer.length)
      : multipartStream(file, answer.multipart);
    return new Response(body, { status: answer.status, headers });
  }
}

const sites = new WeakMap<StaticOptions, StaticSite>();

/**
 * serveStatic answers a GET or HEAD `request` from the document root of
 * `options` (one {@linkcode StaticSite}, and store, per options object).
 * Throws a 400, 403, 404, 412 or 416 {@linkcode HttpError}.
 */
export function serveStatic(request: Request, options: StaticOptions): Promise<Response> {
  let site = sites.get(options);
  if (site === undefined) {
    site = new StaticSite(options);
    sites.set(options, site);
  }
  return site.serve(request);
}

/** memoryResponse wraps an in-memory answer; HEAD gets its Content-Length and no body. */
function memoryResponse(answer: MemoryAnswer, method: string): Response {
  const headers = new Headers(answer.fields);
  if (answer.status !== 304) headers.set("content-length", String(answer.length));
  const pieces = answer.body;
  if (method === "HEAD" || pieces === null) {
    return new Response(null, { status: answer.status, headers });
  }
  // Several pieces (multipart/byteranges) go out as one Blob, not copied together here.
  const body = pieces.length === 1 ? pieces[0]! : new Blob(pieces as BlobPart[]);
  return new Response(body as BodyInit, { status: answer.status, headers });
}

/**
 * openUnchanged opens the entry's file and checks, on the open descriptor,
 * that it is still the version the entry describes; undefined if not.
 */
function openUnchanged(entry: FileEntry): Deno.FsFile | undefined {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(entry.real, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw fsError(err);
  }
  const info = file.statSync();
  if (
    info.size === entry.size && (info.mtime?.getTime() ?? 0) === entry.mtime &&
    info.ino === entry.ino
  ) {
    return file;
  }
  file.close();
  return undefined;
}

function isDotName(segment: string): boolean {
  return segment.startsWith(".");
}

function notFound(cause?: unknown): HttpError {
  return new HttpError(404, "Not Found", { cause });
}

/** statInside stats `path` if its real path lies inside the root (for listing symlinks). */
function statInside(path: string, scope: Scope): Deno.FileInfo {
  const real = Deno.realPathSync(path);
  if (real !== scope.realRoot && !real.startsWith(scope.realRoot + SEPARATOR)) throw notFound();
  if (!scope.dotfiles && relative(scope.realRoot, real).split(SEPARATOR).some(isDotName)) {
    throw notFound();
  }
  return Deno.statSync(real);
}

async function serveListing(
  request: Request,
  path: string,
  segments: string[],
  options: StaticOptions,
  scope: Scope,
  view: ListingView,
): Promise<Response> {
  const entries: ListingEntry[] = [];
  try {
    for await (const entry of Deno.readDir(path)) {
      if (!options.dotfiles && entry.name.startsWith(".")) continue;
      const child = join(path, entry.name);
      let childInfo: Deno.FileInfo;
      try {
        // Symlinks are listed only if they resolve inside the root.
        childInfo = entry.isSymlink ? statInside(child, scope) : Deno.statSync(child);
      } catch {
        continue;
      }
      entries.push({
        name: entry.name,
        isDirectory: childInfo.isDirectory,
        size: childInfo.size,
        mtime: childInfo.mtime?.getTime(),
      });
    }
  } catch (err) {
    throw fsError(err);
  }
  const format = listingFormat(request.headers.get("accept"));
  // Each order and filter is a page of its own, with its own validator:
  // the tag is a digest of the bytes, which differ (RFC 9110 §8.8.3).
  const { body, type } = renderListing(segments, entries, format, view);
  const bytes = new TextEncoder().encode(body);
  const headers = new Headers({
    "content-type": type,
    "content-length": String(bytes.length),
    "cache-control": options.cacheControl ?? DEFAULT_CACHE_CONTROL,
    "vary": "Accept",
    "x-content-type-options": "nosniff",
  });
  // A listing's validator is a digest of what it shows: weak, since the
  // bytes are generated (RFC 9110 §8.8.1). No Last-Modified: a directory's
  // mtime changes when an entry is added or removed, not when a file's
  // size or time does, so it would not be the listing's.
  const etag = `W/"${fnv1a(bytes).toString(16)}-${bytes.length.toString(16)}"`;
  headers.set("etag", etag);
  const verdict = evaluatePreconditions(request.method, request.headers, {
    etag,
    lastModified: undefined, // the listing can change while the directory's mtime does not
  });
  if (verdict === "not-modified") {
    headers.delete("content-type");
    headers.delete("content-length");
    return new Response(null, { status: 304, headers });
  }
  if (verdict === "failed") throw new HttpError(412, undefined, { headers: { etag } });
  return new Response(request.method === "HEAD" ? null : bytes, { headers });
}

/**
 * serveFolderZip answers `?download=zip` for the folder at `path`: the walk
 * first (a 413 past `maxBytes`, before anything is sent), then the archive,
 * streamed, with its exact length.
 */
async function serveFolderZip(
  request: Request,
  path: string,
  segments: string[],
  scope: Scope,
  maxBytes: number,
): Promise<Response> {
  let real: string;
  try {
    real = Deno.realPathSync(path);
  } catch (err) {
    throw fsError(err);
  }
  const top = zipNameOf(segments);
  const walk = await walkFolder(path, real, top, scope, {
    maxBytes,
    maxEntries: MAX_ZIP_ENTRIES,
  });
  const headers = new Headers({
    "content-type": "application/zip",
    "content-length": String(zipLength(walk.entries)),
    "content-disposition": contentDisposition(`${top}.zip`),
    // A snapshot of a folder, made anew each time: nothing to revalidate.
    "cache-control": "no-store",
    "accept-ranges": "none",
    "x-content-type-options": "nosniff",
  });
  if (request.method === "HEAD") return new Response(null, { headers });
  return new Response(zipStream(walk.entries), { headers });
}
