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

import { basename, join, relative, sep as SEPARATOR } from "node:path";
import { HttpError } from "../errors.ts";
import { isTemplateName, serveTemplate } from "../pages/template.ts";
import { evaluatePreconditions, parseHttpDate } from "./conditional.ts";
import { chooseCoding, type Coding, codingQualities, FILE_SUFFIX } from "./encoding.ts";
import {
  fileStream,
  type MultipartPlan,
  multipartStream,
  planMultipart,
  readExactly,
} from "./file_body.ts";
import { MAX_CACHED_BODY_BYTES, tagFile } from "./file_cache.ts";
import { hrefOf, type ListingEntry, listingFormat, renderListing } from "./listing.ts";
import { contentType, isCompressible } from "./media_type.ts";
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
  /** The Cache-Control of files and listings; {@linkcode DEFAULT_CACHE_CONTROL} when absent. */
  cacheControl?: string;
}

/** DEFAULT_CACHE_CONTROL: caches may store, but must revalidate each time — cheap with validators. */
export const DEFAULT_CACHE_CONTROL = "no-cache";

/** SMALL_FILE_BYTES: files up to this size are read whole and sent in one write with their head. */
export const SMALL_FILE_BYTES = 64 * 1024;

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
  const found = statInside(path, options);
  if (found.info.isFile) {
    // "/file.txt/" names a directory that does not exist; relative links on
    // such a page would resolve against the wrong place.
    if (url.pathname.endsWith("/")) throw notFound();
    return await serveFileOrTemplate(request, path, found, options);
  }
  if (!found.info.isDirectory) throw notFound();

  // A directory's URL ends in "/", so relative links in its index work.
  if (!url.pathname.endsWith("/")) {
    // Built from the clean segments: "//sub" must not become "//sub/", a
    // link to the host "sub" (RFC 3986 §4.2).
    const location = hrefOf(segments, true) + url.search;
    return new Response(null, { status: 301, headers: { location, "cache-control": "no-cache" } });
  }
  const index = join(path, INDEX_FILE);
  let indexFound: Found | undefined;
  try {
    indexFound = statInside(index, options);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
  }
  if (indexFound?.info.isFile) {
    return await serveFileOrTemplate(request, index, indexFound, options);
  }
  if (!options.listing) throw notFound();
  return await serveListing(request, path, segments, options);
}

/** MAX_TEMPLATE_SOURCE_BYTES bounds a template file read into memory to render it. */
export const MAX_TEMPLATE_SOURCE_BYTES = 1024 * 1024;

/**
 * A template's source is never sent: not by its own URL, not through a
 * symlink with another name, and not as a compressed sibling.
 */
async function serveFileOrTemplate(
  request: Request,
  path: string,
  found: Found,
  options: StaticOptions,
): Promise<Response> {
  const { real, info } = found;
  if (isTemplateName(basename(path)) || isTemplateName(basename(real))) {
    if (info.size > MAX_TEMPLATE_SOURCE_BYTES) throw new HttpError(500, "Template too large");
    return serveTemplate(request, await Deno.readTextFile(real));
  }
  if (isCompressedTemplate(basename(path)) || isCompressedTemplate(basename(real))) {
    throw notFound();
  }
  return serveFile(request, path, found, options);
}

function isCompressedTemplate(name: string): boolean {
  const m = /^(.*)\.(?:br|gz)$/i.exec(name);
  return m !== null && isTemplateName(m[1]!);
}

function notFound(cause?: unknown): HttpError {
  return new HttpError(404, "Not Found", { cause });
}

/** Found is a path that exists inside the root: its real path and what stat says of it. */
interface Found {
  real: string;
  info: Deno.FileInfo;
}

/**
 * statInside stats `path` and checks that its real path lies inside the
 * root: a symlink may point anywhere within the root, never out of it.
 *
 * Synchronous on purpose: each async file-system call is a hop to Deno's
 * blocking thread pool and back (PERFORMANCE.md §4.1), several times the
 * cost of the syscall itself for a file in the page cache.
 */
function statInside(path: string, options: StaticOptions): Found {
  try {
    const real = Deno.realPathSync(path);
    if (!isInside(real, options)) throw notFound();
    return { real, info: Deno.statSync(real) };
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

/**
 * etagOf derives a strong entity tag from size and modification time, and
 * the content coding when the representation is compressed (RFC 9110
 * §8.8.3: each representation needs its own tag).
 */
export function etagOf(
  info: Pick<Deno.FileInfo, "size" | "mtime">,
  coding: Coding = "identity",
): string {
  const suffix = coding === "identity" ? "" : `-${coding}`;
  return `"${info.size.toString(16)}-${(info.mtime?.getTime() ?? 0).toString(16)}${suffix}"`;
}

/** COMPRESS_MIN_BYTES: smaller files are not compressed on the fly (the headers would cost more). */
export const COMPRESS_MIN_BYTES = 1024;

/** Representation is the file chosen to answer a request: the original or a compressed form of it. */
interface Representation {
  /** The file to read: the original, or its precompressed sibling. */
  path: string;
  coding: Coding;
  /** Whether the original is compressed while it is sent. */
  onTheFly: boolean;
}

/**
 * chooseRepresentation negotiates the content coding of a compressible
 * file: a precompressed sibling (`file.br`, `file.gz`) when it exists inside
 * the root and is accepted, else compression on the fly for files above
 * COMPRESS_MIN_BYTES, except for range requests (RFC 9110 §14 ranges must
 * address a stable representation).
 */
function chooseRepresentation(
  request: Request,
  path: string,
  size: number,
  options: StaticOptions,
): Representation {
  const qualities = codingQualities(request.headers.get("accept-encoding"));
  const precompressed: Coding[] = [];
  const available: Coding[] = [];
  for (const coding of ["br", "gzip"] as const) {
    if (qualities[coding] <= 0 || qualities[coding] < qualities.identity) continue;
    try {
      if (statInside(path + FILE_SUFFIX[coding], options).info.isFile) {
        precompressed.push(coding);
        available.push(coding);
        continue;
      }
    } catch {
      // no sibling for this coding
    }
    if (size >= COMPRESS_MIN_BYTES && !request.headers.has("range")) available.push(coding);
  }
  const coding = chooseCoding(qualities, available);
  if (coding === "identity") return { path, coding, onTheFly: false };
  if (precompressed.includes(coding)) {
    return { path: path + FILE_SUFFIX[coding], coding, onTheFly: false };
  }
  return { path, coding, onTheFly: true };
}

/** BYTES_PARAM_DIGITS bounds `?bytes=N`. */
const BYTES_PARAM = /^[1-9][0-9]{0,14}$/;

function serveFile(
  request: Request,
  path: string,
  found: Found,
  options: StaticOptions,
): Response {
  const real = found.real;
  const url = new URL(request.url);
  const type = contentType(path);
  const compressible = isCompressible(type);

  // ?bytes=N: the first N bytes as a plain 200, as the lesson asks.
  const bytesParam = url.searchParams.get("bytes");
  if (bytesParam !== null && !BYTES_PARAM.test(bytesParam)) {
    throw new HttpError(400, "The bytes parameter must be a positive integer");
  }

  let representation: Representation = { path, coding: "identity", onTheFly: false };
  if (compressible && bytesParam === null) {
    representation = chooseRepresentation(request, path, found.info.size, options);
  }

  let file: Deno.FsFile;
  try {
    file = Deno.openSync(representation.path, { read: true });
  } catch (err) {
    throw fsError(err);
  }
  let handedOff = false;
  try {
    const info = file.statSync();
    if (!info.isFile) throw notFound();
    const { coding, onTheFly } = representation;
    const etag = etagOf(info, coding);
    const headers = new Headers({
      "content-type": type,
      "etag": etag,
      "accept-ranges": "bytes",
      "cache-control": options.cacheControl ?? DEFAULT_CACHE_CONTROL,
      "x-content-type-options": "nosniff",
    });
    if (info.mtime !== null) headers.set("last-modified", info.mtime.toUTCString());
    if (compressible) headers.set("vary", "Accept-Encoding");
    if (coding !== "identity") headers.set("content-encoding", coding);

    const verdict = evaluatePreconditions(request.method, request.headers, {
      etag,
      lastModified: info.mtime?.getTime(),
    });
    if (verdict === "not-modified") return notModified(headers);
    if (verdict === "failed") throw new HttpError(412, undefined, { headers: { etag } });

    if (bytesParam !== null) {
      const length = Math.min(Number(bytesParam), info.size);
      headers.delete("etag");
      headers.delete("accept-ranges");
      headers.set("content-length", String(length));
      if (request.method === "HEAD") return new Response(null, { headers });
      if (length > SMALL_FILE_BYTES) {
        handedOff = true;
        return new Response(fileStream(file, 0, length), { headers });
      }
      return new Response(readExactly(file, 0, length), { headers });
    }

    if (onTheFly) {
      if (request.method === "HEAD") return new Response(null, { headers });
      handedOff = true;
      const compressor = new CompressionStream(coding === "br" ? "brotli" : "gzip");
      const compressed = fileStream(file, 0, info.size).pipeThrough(
        compressor as unknown as TransformStream<Uint8Array, Uint8Array>,
      );
      return new Response(compressed, { headers });
    }

    let start = 0;
    let length = info.size;
    let status = 200;
    let multipart: MultipartPlan | undefined;
    const range = request.headers.get("range");
    if (range !== null && request.method === "GET" && ifRangeHolds(request.headers, etag, info)) {
      const result = parseRange(range, info.size);
      if (result.kind === "unsatisfiable") {
        throw new HttpError(416, undefined, {
          headers: { "content-range": `bytes */${info.size}` },
        });
      }
      if (result.kind === "ranges") {
        status = 206;
        if (result.ranges.length === 1) {
          const r = result.ranges[0]!;
          start = r.start;
          length = r.end - r.start + 1;
          headers.set("content-range", `bytes ${r.start}-${r.end}/${info.size}`);
        } else {
          multipart = planMultipart(result.ranges, type, info.size);
          length = multipart.length;
          headers.set("content-type", `multipart/byteranges; boundary=${multipart.boundary}`);
        }
      }
    }
    headers.set("content-length", String(length));

    if (request.method === "HEAD") return new Response(null, { status, headers });
    if (multipart !== undefined) {
      handedOff = true;
      return new Response(multipartStream(file, multipart), { status, headers });
    }
    // A whole file the cache may keep is read at once (up to 1 MiB), so
    // the next request for it costs no file-system call at all.
    const cacheable = status === 200 && coding === "identity" && url.search === "" &&
      length <= MAX_CACHED_BODY_BYTES;
    if (length <= SMALL_FILE_BYTES || cacheable) {
      const response = new Response(readExactly(file, start, length), { status, headers });
      if (cacheable) {
        const mtime = info.mtime?.getTime() ?? 0;
        tagFile(response, { path, real, size: info.size, mtime, varies: compressible });
      }
      return response;
    }
    handedOff = true;
    return new Response(fileStream(file, start, length), { status, headers });
  } finally {
    if (!handedOff) file.close();
  }
}

/**
 * notModified answers 304 with the fields a cache needs to refresh its copy
 * (ETag, Last-Modified, Cache-Control, Vary…), but without representation
 * metadata it already has: RFC 9110 §15.4.5 says a sender SHOULD NOT send it.
 */
function notModified(headers: Headers): Response {
  for (const name of ["content-type", "content-encoding", "content-length", "content-range"]) {
    headers.delete(name);
  }
  return new Response(null, { status: 304, headers });
}

/** ifRangeHolds applies If-Range (RFC 9110 §13.1.5): the range is used only if the validator still matches. */
function ifRangeHolds(headers: Headers, etag: string, info: Deno.FileInfo): boolean {
  const ifRange = headers.get("if-range");
  if (ifRange === null) return true;
  const value = ifRange.replace(/^[ \t]+|[ \t]+$/g, "");
  if (value.startsWith('"')) return value === etag; // strong comparison only
  if (value.startsWith("W/")) return false;
  // A date works only if it is exactly Last-Modified (a strong validator).
  const date = parseHttpDate(value);
  return date !== undefined && info.mtime !== null &&
    date === Math.floor(info.mtime.getTime() / 1000) * 1000;
}

async function serveListing(
  request: Request,
  path: string,
  segments: string[],
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
        childInfo = entry.isSymlink ? statInside(child, options).info : Deno.statSync(child);
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
    "cache-control": options.cacheControl ?? DEFAULT_CACHE_CONTROL,
    "vary": "Accept",
    "x-content-type-options": "nosniff",
  });
  // A listing's validator is a digest of what it shows: weak, since the
  // bytes are generated (RFC 9110 §8.8.1). No Last-Modified: a directory's
  // mtime changes when an entry is added or removed, not when a file's
  // size or time does, so it would not be the listing's.
  const etag = `W/"${digest(bytes).toString(16)}-${bytes.length.toString(16)}"`;
  headers.set("etag", etag);
  const verdict = evaluatePreconditions(request.method, request.headers, {
    etag,
    lastModified: undefined, // the listing can change while the directory's mtime does not
  });
  if (verdict === "not-modified") return notModified(headers);
  if (verdict === "failed") throw new HttpError(412, undefined, { headers: { etag } });
  return new Response(request.method === "HEAD" ? null : bytes, { headers });
}

/** digest is FNV-1a over `bytes`: 32 bits, enough to tell one listing from the next. */
function digest(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}
