/**
 * serve_file.ts — ⑦ the document root over HTTP: files, index pages,
 * directory listings, validators, 304/412, single ranges.
 *
 * It knows nothing of sockets: a `Request` comes in, a `Response` goes out,
 * and every failure is a thrown {@linkcode HttpError}.
 *
 * Security is layered. `resolve_path.ts` refuses anything that decodes to a
 * way out; here every path is also checked by its real path (after
 * symlinks) to lie inside the root's real path; and Deno's `--allow-read`
 * stops whatever both might miss.
 */

import { join, relative, sep as SEPARATOR } from "node:path";
import { HttpError } from "../errors.ts";
import { evaluatePreconditions } from "./conditional.ts";
import { hrefOf, type ListingEntry, listingFormat, renderListing } from "./listing.ts";
import { contentType } from "./media_type.ts";
import { parseRange } from "./range.ts";
import { resolvePath } from "./resolve_path.ts";

/** StaticOptions configure {@linkcode serveStatic}. */
export interface StaticOptions {
  /** The document root, absolute. */
  root: string;
  /** The root's real path (symlinks resolved), absolute. */
  realRoot: string;
  /** Whether directories without index.html are listed. */
  listing: boolean;
  /** Whether names starting with "." are served. */
  dotfiles: boolean;
}

/** SMALL_FILE_BYTES: files up to this size are read whole and sent in one write with their head. */
export const SMALL_FILE_BYTES = 64 * 1024;
/** FILE_CHUNK_BYTES: larger files stream in reads of this size. */
export const FILE_CHUNK_BYTES = 256 * 1024;

/** INDEX_FILE is served for a directory URL when present. */
export const INDEX_FILE = "index.html";

/**
 * serveStatic answers a GET or HEAD `request` from the document root.
 * Throws a 400, 403 or 404 {@linkcode HttpError}.
 */
export async function serveStatic(request: Request, options: StaticOptions): Promise<Response> {
  const url = new URL(request.url);
  const segments = resolvePath(url.pathname);
  if (!options.dotfiles && segments.some((s) => s.startsWith("."))) throw notFound();

  const path = join(options.root, ...segments);
  const info = await statInside(path, options);
  if (info.isFile) {
    // "/file.txt/" names a directory that does not exist; relative links on
    // such a page would resolve against the wrong place.
    if (url.pathname.endsWith("/")) throw notFound();
    return await serveFile(request, path);
  }
  if (!info.isDirectory) throw notFound();

  // A directory's URL ends in "/", so relative links in its index work.
  if (!url.pathname.endsWith("/")) {
    // Built from the clean segments: "//sub" must not become "//sub/", a
    // link to the host "sub" (RFC 3986 §4.2).
    const location = hrefOf(segments, true) + url.search;
    return new Response(null, { status: 301, headers: { location, "cache-control": "no-cache" } });
  }
  const index = join(path, INDEX_FILE);
  try {
    const indexInfo = await statInside(index, options);
    if (indexInfo.isFile) return await serveFile(request, index);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
  }
  if (!options.listing) throw notFound();
  return await serveListing(request, path, segments, info, options);
}

function notFound(cause?: unknown): HttpError {
  return new HttpError(404, "Not Found", { cause });
}

/**
 * statInside stats `path` and checks that its real path lies inside the
 * root: a symlink may point anywhere within the root, never out of it.
 */
async function statInside(path: string, options: StaticOptions): Promise<Deno.FileInfo> {
  try {
    const real = await Deno.realPath(path);
    if (!isInside(real, options)) throw notFound();
    return await Deno.stat(real);
  } catch (err) {
    throw fsError(err);
  }
}

function isInside(real: string, options: StaticOptions): boolean {
  if (real !== options.realRoot && !real.startsWith(options.realRoot + SEPARATOR)) return false;
  if (options.dotfiles) return true;
  // A link inside the root to a dotfile must not serve what its name would not.
  return !relative(options.realRoot, real).split(SEPARATOR).some((s) => s.startsWith("."));
}

/** fsError maps a file-system error to an HTTP one; the cause goes to the log only. */
function fsError(err: unknown): unknown {
  if (err instanceof HttpError) return err;
  if (
    err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory ||
    err instanceof Deno.errors.FilesystemLoop || err instanceof Deno.errors.InvalidData ||
    (err as { code?: string }).code === "ENAMETOOLONG"
  ) {
    return notFound(err);
  }
  if (err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable) {
    return new HttpError(403, "Forbidden", { cause: err });
  }
  return err;
}

/** etagOf derives a strong entity tag from size and modification time. */
export function etagOf(info: Pick<Deno.FileInfo, "size" | "mtime">): string {
  return `"${info.size.toString(16)}-${(info.mtime?.getTime() ?? 0).toString(16)}"`;
}

/** Headers every file response carries, 200, 206 and 304 alike. */
function fileHeaders(path: string, info: Deno.FileInfo, etag: string): Headers {
  const headers = new Headers({
    "content-type": contentType(path),
    "etag": etag,
    "accept-ranges": "bytes",
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  });
  if (info.mtime !== null) headers.set("last-modified", info.mtime.toUTCString());
  return headers;
}

async function serveFile(request: Request, path: string): Promise<Response> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    throw fsError(err);
  }
  let handedOff = false;
  try {
    const info = await file.stat();
    if (!info.isFile) throw notFound();
    const etag = etagOf(info);
    const headers = fileHeaders(path, info, etag);

    const verdict = evaluatePreconditions(request.method, request.headers, {
      etag,
      lastModified: info.mtime?.getTime(),
    });
    if (verdict === "not-modified") return new Response(null, { status: 304, headers });
    if (verdict === "failed") throw new HttpError(412, undefined, { headers: { etag } });

    let start = 0;
    let length = info.size;
    let status = 200;
    const range = request.headers.get("range");
    if (range !== null && request.method === "GET" && ifRangeHolds(request.headers, etag, info)) {
      const result = parseRange(range, info.size);
      if (result.kind === "unsatisfiable") {
        throw new HttpError(416, undefined, {
          headers: { "content-range": `bytes */${info.size}` },
        });
      }
      // One range is served as 206; several are served whole for now, which
      // RFC 9110 §14.2 allows.
      if (result.kind === "ranges" && result.ranges.length === 1) {
        const r = result.ranges[0]!;
        start = r.start;
        length = r.end - r.start + 1;
        status = 206;
        headers.set("content-range", `bytes ${r.start}-${r.end}/${info.size}`);
      }
    }
    headers.set("content-length", String(length));

    if (request.method === "HEAD") return new Response(null, { status, headers });
    if (length <= SMALL_FILE_BYTES) {
      const bytes = await readExactly(file, start, length);
      return new Response(bytes, { status, headers });
    }
    handedOff = true;
    return new Response(fileStream(file, start, length), { status, headers });
  } finally {
    if (!handedOff) file.close();
  }
}

/** ifRangeHolds applies If-Range (RFC 9110 §13.1.5): the range is used only if the validator still matches. */
function ifRangeHolds(headers: Headers, etag: string, info: Deno.FileInfo): boolean {
  const ifRange = headers.get("if-range");
  if (ifRange === null) return true;
  const value = ifRange.trim();
  if (value.startsWith('"')) return value === etag; // strong comparison only
  if (value.startsWith("W/")) return false;
  return info.mtime !== null && value === info.mtime.toUTCString();
}

async function readExactly(
  file: Deno.FsFile,
  start: number,
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = new Uint8Array(length);
  if (start > 0) await file.seek(start, Deno.SeekMode.Start);
  let offset = 0;
  while (offset < length) {
    const n = await file.read(bytes.subarray(offset));
    if (n === null) throw new Error("File shrank while it was read");
    offset += n;
  }
  return bytes;
}

/**
 * fileStream reads `length` bytes from `start` as a byte stream. A BYOB
 * reader (the response writer) has the file read straight into its own
 * reused buffer; other readers get FILE_CHUNK_BYTES pieces. One read per
 * pull, so a slow client holds at most a chunk. The file is closed at the
 * end, on error and on cancel.
 */
function fileStream(file: Deno.FsFile, start: number, length: number): ReadableStream<Uint8Array> {
  let remaining = length;
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: FILE_CHUNK_BYTES,
    async start() {
      if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    },
    async pull(controller) {
      try {
        const request = controller.byobRequest!;
        const view = request.view!;
        const want = Math.min(view.byteLength, remaining);
        const n = await file.read(new Uint8Array(view.buffer, view.byteOffset, want));
        if (n === null) throw new Error("File shrank while it was sent");
        remaining -= n;
        request.respond(n);
        if (remaining === 0) {
          close();
          controller.close();
        }
      } catch (err) {
        close();
        controller.error(err);
      }
    },
    cancel() {
      close();
    },
  });
}

async function serveListing(
  request: Request,
  path: string,
  segments: string[],
  info: Deno.FileInfo,
  options: StaticOptions,
): Promise<Response> {
  const entries: ListingEntry[] = [];
  try {
    for await (const entry of Deno.readDir(path)) {
      if (!options.dotfiles && entry.name.startsWith(".")) continue;
      const child = join(path, entry.name);
      let childInfo: Deno.FileInfo;
      try {
        // Symlinks are listed only if they resolve inside the root.
        childInfo = entry.isSymlink ? await statInside(child, options) : await Deno.stat(child);
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
  const { body, type } = renderListing(segments, entries, format);
  const bytes = new TextEncoder().encode(body);
  const headers = new Headers({
    "content-type": type,
    "content-length": String(bytes.length),
    "cache-control": "no-cache",
    "vary": "Accept",
    "x-content-type-options": "nosniff",
  });
  if (info.mtime !== null) headers.set("last-modified", info.mtime.toUTCString());
  return new Response(request.method === "HEAD" ? null : bytes, { headers });
}
