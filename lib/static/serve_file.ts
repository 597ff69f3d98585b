/**
 * serve_file.ts — the document root over HTTP, as a short sequence:
 *
 *   find (resolve_path.ts ⑥, then the store) → a directory?
 *     no slash: redirect · `?download=zip`: folder_zip.ts · index.html · listing.ts
 *   → a file: serve_content.ts ⑦ · a claimed file: the caller's page
 *
 * It knows nothing of sockets, templates or HEAD: a `Request` comes in, a
 * `Response` goes out, and every failure is a thrown {@linkcode HttpError}.
 * What to send for a file is decided once, in `serve_content.ts`, for this
 * path and for the fast path ({@linkcode StaticSite.answerFast}) that skips
 * `Request` and `Response`.
 *
 * Security is layered. `resolve_path.ts` refuses anything that decodes to a
 * way out; the store checks every file by its real path (after symlinks) to
 * lie inside the root's real path; and Deno's `--allow-read` stops whatever
 * both might miss.
 */

import { join } from "node:path";
import { HttpError } from "../http/http_error.ts";
import type { FieldSource } from "../http/fields.ts";
import { serveFolderZip } from "./folder_zip.ts";
import { hrefOf, parseListingQuery, serveListing } from "./listing.ts";
import { findTarget, type Scope, type Target } from "./resolve_path.ts";
import {
  answerContent,
  type ContentOptions,
  type MemoryAnswer,
  serveContent,
} from "./serve_content.ts";
import { type ClaimedFile, type FileEntry, type Lookup, RepresentationStore } from "./store.ts";

export type { ClaimedFile, MemoryAnswer };

/** StaticOptions configure a {@linkcode StaticSite}. */
export interface StaticOptions {
  /** The document root, absolute. */
  root: string;
  /** The root's real path (symlinks resolved), absolute. */
  realRoot: string;
  /** Whether directories without index.html are listed. */
  listing: boolean;
  /** Whether names starting with "." are served. */
  dotfiles: boolean;
  /** The Cache-Control of files and listings (--cache-control). */
  cacheControl: string;
  /**
   * The most a folder's files may add up to for its ZIP download
   * (`?download=zip`, only where listings are on); 0 turns folder downloads
   * off (--max-zip-bytes).
   */
  maxZipBytes: number;
  /** Files a page of the caller answers instead of their bytes (the app: templates). */
  pages?: ClaimedPages | undefined;
  /** The representation store; a site without one makes its own, with the store's default bounds. */
  store?: RepresentationStore;
  /** Live reload: adds its script to every HTML page (files, claimed pages, listings). */
  inject?: (page: Uint8Array) => Uint8Array;
}

/**
 * ClaimedPages hand some files to a page instead of sending their bytes:
 * the app passes the template rule and the template page, so the static
 * layer finds templates (by the name in the URL or the real name behind a
 * link) but never knows what they are.
 */
export interface ClaimedPages {
  /** claims tells whether a file of this name is the page's; its `.br`/`.gz` siblings are then hidden. */
  claims(name: string): boolean;
  /** serve answers a GET or HEAD `request` for the claimed `file`; throws an HttpError. */
  serve(request: Request, file: ClaimedFile): Response | Promise<Response>;
}

/** INDEX_FILE is served for a directory URL when present. */
export const INDEX_FILE = "index.html";

/** MAX_REMEMBERED_PATHS bounds the URL paths a site keeps resolved. */
const MAX_REMEMBERED_PATHS = 4096;

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
      claims: options.pages?.claims,
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
   * answer (a directory, a claimed file, a listing, an error, a large file,
   * a compression still being made). Never throws.
   */
  answerFast(
    method: "GET" | "HEAD",
    pathname: string,
    bytesParam: string | null,
    fields: FieldSource,
  ): MemoryAnswer | "not-found" | undefined {
    const path = this.#pathOf(pathname);
    if (path === null) return undefined;
    let found: Lookup;
    try {
      found = this.#store.lookup(path, this.#scope);
    } catch {
      return undefined;
    }
    if (found.kind === "missing") return pathname.endsWith("/") ? undefined : "not-found";
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
      const target = findTarget(pathname, this.#scope);
      path = target.directory ? join(target.path, INDEX_FILE) : target.path;
    } catch {
      path = null;
    }
    if (this.#paths.size >= MAX_REMEMBERED_PATHS) this.#paths.clear();
    this.#paths.set(pathname, path);
    return path;
  }

  /**
   * serve answers a GET or HEAD `request` from the root (HEAD as GET: the
   * writer leaves the body out). Throws a 400, 403, 404, 412, 413 or 416
   * {@linkcode HttpError}, or what a claimed page throws.
   */
  async serve(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const target = findTarget(url.pathname, this.#scope);
    const found = this.#store.lookup(target.path, this.#scope);
    if (found.kind === "directory") return await this.#serveDirectory(request, url, target);
    // "/file.txt/" names a directory that does not exist; relative links on
    // such a page would resolve against the wrong place.
    if ((found.kind !== "file" && found.kind !== "claimed") || target.directory) throw notFound();
    return await this.#serveFile(request, url, found);
  }

  /** The cap of folder downloads: 0 when they are off (always, without listings). */
  get zipMaxBytes(): number {
    return this.#options.listing ? this.#options.maxZipBytes : 0;
  }

  async #serveFile(request: Request, url: URL, found: FileEntry | ClaimedFile): Promise<Response> {
    if (found.kind === "claimed") {
      return await this.#injected(await this.#options.pages!.serve(request, found));
    }
    const facts = {
      method: request.method,
      fields: request.headers,
      bytesParam: url.searchParams.get("bytes"),
    };
    // Undefined: the file changed since, or its compressed form is now made: find it again.
    return await serveContent(found, facts, this.#content) ?? await this.serve(request);
  }

  async #serveDirectory(request: Request, url: URL, target: Target): Promise<Response> {
    if (!target.directory) {
      // A directory's URL ends in "/", so relative links in its index work.
      // Built from the clean segments: "//sub" must not become "//sub/", a
      // link to the host "sub" (RFC 3986 §4.2).
      const location = hrefOf(target.segments, true) + url.search;
      return new Response(null, {
        status: 301,
        headers: { location, "cache-control": "no-cache" },
      });
    }
    const zip = this.zipMaxBytes;
    if (zip > 0 && url.searchParams.get("download") === "zip") {
      return await serveFolderZip(target, { scope: this.#scope, maxBytes: zip });
    }
    const index = this.#index(target.path);
    if (index !== undefined) return await this.#serveFile(request, url, index);
    if (!this.#options.listing) throw notFound();
    return await serveListing(request, {
      path: target.path,
      segments: target.segments,
      scope: this.#scope,
      cacheControl: this.#options.cacheControl,
      view: {
        query: parseListingQuery(url.searchParams),
        zip: zip > 0,
        pageUrl: url.origin + url.pathname,
      },
      inject: this.#options.inject,
    });
  }

  /** The directory's index file, if it has one that may be served. */
  #index(path: string): FileEntry | ClaimedFile | undefined {
    let index: Lookup;
    try {
      index = this.#store.lookup(join(path, INDEX_FILE), this.#scope);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      return undefined; // an index that may not be read: list the folder instead
    }
    return index.kind === "file" || index.kind === "claimed" ? index : undefined;
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
    const page = inject(new Uint8Array(await response.arrayBuffer()));
    headers.set("content-length", String(page.length));
    return new Response(page as Uint8Array<ArrayBuffer>, { status: 200, headers });
  }
}

function notFound(): HttpError {
  return new HttpError(404, "Not Found");
}
