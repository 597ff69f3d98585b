/**
 * folder_zip.ts — a folder as one ZIP download (`GET /dir/?download=zip`),
 * streamed as it is written: two passes.
 *
 * 1. {@linkcode walkFolder} lists what the archive will hold, holding only
 *    names and sizes: exactly what listings and the store let out (no
 *    dotfiles unless --dotfiles, no symlink whose target leaves the root, no
 *    claimed file such as a `*.tmpl.html` source nor its compressed
 *    sibling, no FIFO or device, no name the resolver would refuse). It
 *    stops with a 413 as soon as the files add up to more than the cap,
 *    before a byte of the archive is sent.
 * 2. {@linkcode zipStream} writes the archive with `client-zip` (stored, not
 *    compressed; CRC-32 on the fly; ZIP64 past 4 GiB), reading each file from
 *    disk a chunk at a time as the client takes the bytes, so neither a file
 *    nor the archive is ever held in memory. Its length is known in advance
 *    ({@linkcode zipLength}), so the download has a Content-Length.
 *
 * A file that changed since the walk (another size, time or inode) ends the
 * stream with an error: the connection is closed and the client sees an
 * incomplete download, never an archive that lies. A client that goes away
 * cancels the stream, and the one file open at that moment is closed.
 */

import { makeZip, predictLength } from "client-zip";
import { join, sep as SEPARATOR } from "node:path";
import { HttpError } from "../http/http_error.ts";
import { formatSize } from "./listing.ts";
import {
  claimOf,
  isHiddenName,
  realPathInside,
  resolvePath,
  type Scope,
  type Target,
} from "./resolve_path.ts";
import { fsError } from "./store.ts";

/** MAX_ZIP_ENTRIES: files and folders in one archive at most; past it, 413 (bounds the walk's memory). */
export const MAX_ZIP_ENTRIES = 100_000;
/** ZIP_CHUNK_BYTES: files are read in pieces of this size, one per piece the client takes. */
export const ZIP_CHUNK_BYTES = 256 * 1024;
/** ZIP_ROOT_NAME names the archive of the root, as the listing's breadcrumbs do. */
export const ZIP_ROOT_NAME = "root";

/** ZipEntry is one file or folder of the archive, as the walk found it. */
export type ZipEntry =
  | { kind: "directory"; name: string; mtime: number }
  | {
    kind: "file";
    /** The name inside the archive, "/"-separated, starting with the folder's own name. */
    name: string;
    /** The real path that is opened. */
    real: string;
    size: number;
    mtime: number;
    ino: number | null;
  };

/** ZipLimits bound one archive. */
export interface ZipLimits {
  /** The files may add up to this many bytes at most. */
  maxBytes: number;
  /** Files and folders at most. */
  maxEntries: number;
}

/** FolderWalk is what {@linkcode walkFolder} found: the entries and their files' total size. */
export interface FolderWalk {
  entries: ZipEntry[];
  bytes: number;
}

/** FolderZipOptions say what {@linkcode serveFolderZip} may put in an archive. */
export interface FolderZipOptions {
  /** What may be included: as listings show it. */
  scope: Scope;
  /** The most the folder's files may add up to (--max-zip-bytes). */
  maxBytes: number;
}

/**
 * serveFolderZip answers `?download=zip` for the folder `target` names: the
 * walk first (a 413 past `options.maxBytes` or {@linkcode MAX_ZIP_ENTRIES},
 * before anything is sent), then the archive, streamed, with its exact
 * length. Throws those 413s and what `fsError` makes of a folder that
 * cannot be read.
 */
export async function serveFolderZip(
  target: Pick<Target, "path" | "segments">,
  options: FolderZipOptions,
): Promise<Response> {
  let real: string;
  try {
    real = Deno.realPathSync(target.path);
  } catch (err) {
    throw fsError(err);
  }
  const top = zipNameOf(target.segments);
  const walk = await walkFolder(target.path, real, top, options.scope, {
    maxBytes: options.maxBytes,
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
  return new Response(zipStream(walk.entries), { headers });
}

/**
 * walkFolder lists the folder at `path` (whose real path is `real`) for its
 * archive, depth first in name order, every name prefixed with `top/`.
 * Throws a 413 {@linkcode HttpError} past `limits`, and what `fsError`
 * makes of a folder that cannot be read.
 */
export async function walkFolder(
  path: string,
  real: string,
  top: string,
  scope: Scope,
  limits: ZipLimits,
): Promise<FolderWalk> {
  const walk: FolderWalk = { entries: [], bytes: 0 };
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(real);
  } catch (err) {
    throw fsError(err);
  }
  add(walk, { kind: "directory", name: top, mtime: timeOf(info.mtime) }, limits);
  await walkInto(walk, path, real, top, scope, limits, [real]);
  return walk;
}

async function walkInto(
  walk: FolderWalk,
  path: string,
  real: string,
  prefix: string,
  scope: Scope,
  limits: ZipLimits,
  ancestors: string[],
): Promise<void> {
  const names: { name: string; isSymlink: boolean }[] = [];
  try {
    for await (const entry of Deno.readDir(path)) {
      names.push({ name: entry.name, isSymlink: entry.isSymlink });
    }
  } catch (err) {
    throw fsError(err);
  }
  names.sort((a, b) => collator.compare(a.name, b.name));
  for (const { name, isSymlink } of names) {
    if (!servableName(name, scope)) continue;
    let childReal: string | undefined = join(real, name);
    let info: Deno.FileInfo;
    try {
      // As everywhere: a link is followed only when it resolves inside the root.
      if (isSymlink) childReal = realPathInside(join(path, name), scope);
      if (childReal === undefined) continue;
      info = Deno.statSync(childReal);
    } catch {
      continue; // gone since readDir, or a broken link: not in the listing either
    }
    const zipName = `${prefix}/${name}`;
    if (info.isDirectory) {
      // A link back to a folder being walked would never end.
      if (ancestors.includes(childReal)) continue;
      add(walk, { kind: "directory", name: zipName, mtime: timeOf(info.mtime) }, limits);
      await walkInto(walk, join(path, name), childReal, zipName, scope, limits, [
        ...ancestors,
        childReal,
      ]);
      continue;
    }
    if (!info.isFile) continue; // a FIFO or a device would block or never end
    const realName = childReal.slice(childReal.lastIndexOf(SEPARATOR) + 1);
    if (claimOf(name, realName, scope) !== undefined) continue;
    add(walk, {
      kind: "file",
      name: zipName,
      real: childReal,
      size: info.size,
      mtime: timeOf(info.mtime),
      ino: info.ino,
    }, limits);
  }
}

function add(walk: FolderWalk, entry: ZipEntry, limits: ZipLimits) {
  walk.entries.push(entry);
  if (entry.kind === "file") walk.bytes += entry.size;
  if (walk.entries.length > limits.maxEntries) {
    throw new HttpError(
      413,
      `Folder too large to download: more than ${limits.maxEntries} files and folders`,
    );
  }
  if (walk.bytes > limits.maxBytes) {
    throw new HttpError(
      413,
      `Folder too large to download: its files add up to more than ${formatSize(limits.maxBytes)}`,
    );
  }
}

/** A name a listing shows and a URL can reach: no dotfile (unless allowed), nothing the resolver refuses. */
function servableName(name: string, scope: Scope): boolean {
  if (isHiddenName(name, scope)) return false;
  try {
    return resolvePath("/" + encodeURIComponent(name)).length === 1;
  } catch {
    return false; // a backslash or control character: no URL names it
  }
}

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

function timeOf(date: Date | null): number {
  return date?.getTime() ?? 0;
}

/** What client-zip is given for one entry. */
function metaOf(entry: ZipEntry) {
  return entry.kind === "directory"
    ? { name: `${entry.name}/`, lastModified: new Date(entry.mtime) }
    : { name: entry.name, lastModified: new Date(entry.mtime), size: entry.size };
}

/** zipLength is the exact byte length of the archive {@linkcode zipStream} writes for `entries`. */
export function zipLength(entries: readonly ZipEntry[]): number {
  return Number(predictLength(entries.map(metaOf)));
}

/**
 * zipStream writes the archive of `entries` as a byte stream, reading each
 * file only when the client has taken what came before. Cancelling it
 * closes the file being read.
 *
 * Memory stays flat however large the files: they are read into a few
 * reused buffers, and each buffer is copied out (into the reader's own
 * buffer, for a BYOB reader such as the response writer) before it is
 * read into again. Fresh buffers per read would leave hundreds of MiB to
 * the garbage collector, which frees outside memory late.
 */
export function zipStream(entries: readonly ZipEntry[]): ReadableStream<Uint8Array> {
  const source = new ZipSource(entries);
  return new ReadableStream({
    type: "bytes",
    pull: (controller) => source.pull(controller),
    cancel: (reason) => source.cancel(reason),
  });
}

/** FileEntry is a file of an archive. */
type FileEntry = Extract<ZipEntry, { kind: "file" }>;

/**
 * ZipSource is the state behind {@linkcode zipStream}: client-zip's output,
 * the piece of it being copied out, the file being read and the pool of
 * read buffers.
 */
class ZipSource {
  #entries: readonly ZipEntry[];
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #open: Deno.FsFile | undefined;
  #cancelled = false;
  #free: Uint8Array[] = [];
  #pooled = new WeakSet<ArrayBufferLike>();
  /** The piece of the archive being copied out, and how much of it was. */
  #pending: Uint8Array | undefined;
  #offset = 0;

  constructor(entries: readonly ZipEntry[]) {
    this.#entries = entries;
    this.#reader = makeZip(this.#inputs(), { buffersAreUTF8: true }).getReader();
  }

  /** pull copies the next bytes of the archive out to `controller`, or closes it at the end. */
  async pull(controller: ReadableByteStreamController): Promise<void> {
    try {
      if (this.#pending === undefined && !(await this.#next())) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      this.#copyOut(controller, this.#pending!);
    } catch (err) {
      this.#closeOpen();
      controller.error(err);
    }
  }

  /** cancel stops the archive and closes the file being read: client-zip does not hand a cancel down to its inputs. */
  async cancel(reason: unknown): Promise<void> {
    this.#cancelled = true;
    this.#closeOpen();
    await this.#reader.cancel(reason).catch(() => {});
  }

  /** #next waits for the next non-empty piece of the archive; false at its end. */
  async #next(): Promise<boolean> {
    while (this.#pending === undefined) {
      const { done, value } = await this.#reader.read();
      if (done) return false;
      if (value.length > 0) {
        this.#pending = value;
        this.#offset = 0;
      }
    }
    return true;
  }

  /** #copyOut copies what is left of `pending` into the reader's buffer (BYOB) or a fresh one. */
  #copyOut(controller: ReadableByteStreamController, pending: Uint8Array): void {
    const rest = pending.subarray(this.#offset);
    const request = controller.byobRequest;
    if (request?.view) {
      const view = request.view;
      const n = Math.min(view.byteLength, rest.length);
      new Uint8Array(view.buffer, view.byteOffset, n).set(rest.subarray(0, n));
      this.#offset += n;
      request.respond(n);
    } else {
      controller.enqueue(rest.slice());
      this.#offset = pending.length;
    }
    if (this.#offset === pending.length) {
      // Copied out: the buffer may be read into again.
      if (this.#pooled.has(pending.buffer)) this.#free.push(new Uint8Array(pending.buffer));
      this.#pending = undefined;
    }
  }

  /** #inputs are the archive's entries as client-zip takes them, each file read when reached. */
  async *#inputs() {
    for (const entry of this.#entries) {
      if (this.#cancelled) return;
      const lastModified = new Date(entry.mtime);
      if (entry.kind === "directory") yield { name: `${entry.name}/`, lastModified };
      else yield { name: entry.name, lastModified, size: entry.size, input: this.#chunks(entry) };
    }
  }

  /** #chunks reads `entry` (checked unchanged since it was listed) into pooled buffers. */
  async *#chunks(entry: FileEntry) {
    const file = openUnchanged(entry);
    this.#open = file;
    try {
      let remaining = entry.size;
      while (remaining > 0) {
        const buffer = this.#take();
        // readSync: a page-cache copy, and no read is left pending when the
        // stream is cancelled between two pulls and the file closed.
        const n = file.readSync(buffer.subarray(0, Math.min(buffer.length, remaining)));
        if (n === null) throw new Error("File shrank while it was zipped");
        remaining -= n;
        yield buffer.subarray(0, n);
      }
    } finally {
      if (this.#open === file) this.#closeOpen();
    }
  }

  /** #take returns a free read buffer, or a new one for the pool. */
  #take(): Uint8Array {
    let buffer = this.#free.pop();
    if (buffer === undefined) {
      buffer = new Uint8Array(ZIP_CHUNK_BYTES);
      this.#pooled.add(buffer.buffer);
    }
    return buffer;
  }

  #closeOpen(): void {
    const file = this.#open;
    this.#open = undefined;
    file?.close();
  }
}

/** Opens the entry's file and checks, on the open descriptor, that it is the version walked. */
function openUnchanged(entry: Extract<ZipEntry, { kind: "file" }>): Deno.FsFile {
  const file = Deno.openSync(entry.real, { read: true });
  const info = file.statSync();
  if (info.size !== entry.size || timeOf(info.mtime) !== entry.mtime || info.ino !== entry.ino) {
    file.close();
    throw new Error("File changed while its folder was zipped");
  }
  return file;
}

/**
 * contentDisposition is the `attachment` field for a download named
 * `filename` (RFC 6266 §4): a quoted ASCII `filename` for old clients, where
 * anything but plain printable ASCII becomes "_", and, when that differs,
 * `filename*` with the UTF-8 name percent-encoded (RFC 8187, was 5987).
 */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/gu, "_");
  const field = `attachment; filename="${ascii}"`;
  if (ascii === filename) return field;
  const encoded = Array.from(new TextEncoder().encode(filename), (byte) => {
    const c = String.fromCharCode(byte);
    return /[A-Za-z0-9!#$&+\-.^_`|~]/.test(c)
      ? c
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
  return `${field}; filename*=UTF-8''${encoded}`;
}

/**
 * zipNameOf is the archive's folder name for the URL path `segments`: the
 * last one, or {@linkcode ZIP_ROOT_NAME} for the root.
 */
export function zipNameOf(segments: readonly string[]): string {
  return segments.at(-1) ?? ZIP_ROOT_NAME;
}
