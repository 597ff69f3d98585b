/**
 * atomic_write.ts — replace a file so that readers, and a crash, only ever
 * see the old content or the whole new content, never a half-written file.
 *
 * The recipe is the classic one (SQLite, Git, Go's `renameio`): write a temp
 * file in the SAME directory (rename is atomic only within one file system),
 * flush it to disk, rename it over the target (atomic on POSIX: rename(2)),
 * then flush the directory so the new name itself survives a power cut. A
 * crash before the rename leaves the old file and a `.NAME.RANDOM.part`
 * file, which {@linkcode removeStaleParts} clears at the next start.
 */

import { join } from "node:path";
import { HttpError } from "./http/http_error.ts";
import { writeAll } from "./http/response_writer.ts";

/** AtomicWriteOptions bound an {@linkcode atomicWrite}. */
export interface AtomicWriteOptions {
  /** Largest body accepted, in bytes. Past it the write is abandoned. */
  maxBytes: number;
  /** Builds the error thrown past `maxBytes`; a 413 {@linkcode HttpError} by default. */
  onTooLarge?: () => Error;
  /**
   * What happens when `dir/name` exists at the moment the write completes
   * (see {@linkcode OnExisting}); `"replace"` by default.
   */
  onExisting?: OnExisting;
  /**
   * Called with each chunk's length before the chunk is written; throwing
   * abandons the write (a quota or free-space check, say). May be async.
   */
  beforeChunk?: (length: number) => void | Promise<void>;
}

/**
 * OnExisting says what {@linkcode atomicWrite} does when the target name is
 * taken: `"replace"` renames over it (rename(2)); `"fail"` leaves it and
 * throws `Deno.errors.AlreadyExists`; `"rename"` stores under the first free
 * name of `NAME (1).EXT`, `NAME (2).EXT`… ({@linkcode numberedName}). The
 * last two link(2) the finished temp file to the name, which fails instead
 * of replacing when the name exists, so two writers can never both get one
 * name, however they interleave.
 */
export type OnExisting = "replace" | "fail" | "rename";

/** AtomicWriteResult is what an {@linkcode atomicWrite} stored. */
export interface AtomicWriteResult {
  /** Bytes written. */
  bytes: number;
  /** The name the file was stored under: `name`, or a numbered one with `onExisting: "rename"`. */
  name: string;
}

/** MAX_NUMBERED_NAMES is how many `NAME (N).EXT` names a renaming write tries before it gives up. */
export const MAX_NUMBERED_NAMES = 1000;

/** PART_SUFFIX ends every temp file's name, so stale ones are recognisable. */
export const PART_SUFFIX = ".part";
/**
 * NAME_MAX_BYTES is the longest file name most file systems take (ext4,
 * XFS, APFS: 255 bytes). The temp name embeds the target's name, so a long
 * target name is shortened in it to stay under this.
 */
export const NAME_MAX_BYTES = 255;
/** RANDOM_BYTES of randomness make two concurrent writes of one name use different temp files. */
const RANDOM_BYTES = 8;
/** "." + name + "." + 16 hex digits + ".part" */
const TEMP_OVERHEAD_BYTES = 1 + 1 + RANDOM_BYTES * 2 + PART_SUFFIX.length;

const encoder = new TextEncoder();

/**
 * atomicWrite streams `body` into `dir/name`, replacing any file there only
 * once the whole body is on disk. The bytes go to `dir/.NAME.RANDOM.part`
 * (created exclusively, mode 0o644), are counted, and past
 * `options.maxBytes` the write stops with `options.onTooLarge()` or a 413
 * {@linkcode HttpError}. Then the temp file is flushed (`syncData`),
 * closed, renamed over `dir/name`, and the directory is flushed where the OS
 * allows it.
 *
 * With `onExisting` other than `"replace"` the last step is a link(2)
 * instead, which never replaces ({@linkcode OnExisting}).
 *
 * On any failure (the stream errors, the client goes away, the body is too
 * large, `beforeChunk` throws, the disk is full) the temp file is removed
 * and the error rethrown; `dir/name` is untouched until the rename. `name`
 * must be a single path segment (a TypeError otherwise): callers validate
 * names, this is the last line of defence. Returns the number of bytes
 * written and the name stored.
 */
export async function atomicWrite(
  dir: string,
  name: string,
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Uint8Array,
  options: AtomicWriteOptions,
): Promise<AtomicWriteResult> {
  if (name === "" || name === "." || name === ".." || /[/\\\0]/.test(name)) {
    throw new TypeError(`Cannot write "${name}": name must be a single path segment`);
  }
  const tooLarge = options.onTooLarge ?? (() => new HttpError(413));
  // Refuse a known-too-large body before touching the disk.
  if (body instanceof Uint8Array && body.length > options.maxBytes) throw tooLarge();

  const tempPath = join(dir, tempName(name));
  const file = await Deno.open(tempPath, { write: true, createNew: true, mode: 0o644 });
  let open = true;
  let bytes = 0;
  let stored = name;
  const onExisting = options.onExisting ?? "replace";
  try {
    if (body instanceof Uint8Array) {
      await options.beforeChunk?.(body.length);
      await writeAll(file, body);
      bytes = body.length;
    } else {
      bytes = await copyStream(body, file, options, tooLarge);
    }
    // Data first, then the name: a rename that reaches the disk before the
    // data would leave an empty or partial file under the real name after a
    // crash (the ext4 "zero-length file" problem).
    await file.syncData();
    file.close();
    open = false;
    if (onExisting === "replace") await Deno.rename(tempPath, join(dir, name));
    else stored = await linkFree(tempPath, dir, name, onExisting === "rename");
  } catch (err) {
    if (open) file.close();
    await Deno.remove(tempPath).catch(() => {
      // Already gone, or the directory is no longer writable: nothing
      // better to do, and the original error is the one worth reporting.
    });
    throw err;
  }
  if (onExisting !== "replace") {
    // The file is in place under its name; the temp name is a second link to it.
    await Deno.remove(tempPath).catch(() => {});
  }
  await syncDirectory(dir);
  return { bytes, name: stored };
}

/**
 * linkFree links `tempPath` to `dir/name` without replacing anything
 * (link(2) fails with EEXIST), or with `numbered` to the first free
 * {@linkcode numberedName}; returns the name it took. Throws
 * `Deno.errors.AlreadyExists` when none is free.
 */
async function linkFree(
  tempPath: string,
  dir: string,
  name: string,
  numbered: boolean,
): Promise<string> {
  const tries = numbered ? MAX_NUMBERED_NAMES + 1 : 1;
  for (let n = 0; n < tries; n++) {
    const candidate = n === 0 ? name : numberedName(name, n);
    try {
      await Deno.link(tempPath, join(dir, candidate));
      return candidate;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
  }
  throw new Deno.errors.AlreadyExists(`Cannot store "${name}": every numbered name is taken`);
}

/**
 * numberedName is the `n`th alternative to `name`, as browsers and file
 * managers name a second download: `photo.jpg` → `photo (1).jpg`,
 * `README` → `README (1)`. The number goes before the last extension; the
 * stem is cut (at a character boundary) so the result fits in
 * {@linkcode NAME_MAX_BYTES}. Never throws.
 */
export function numberedName(name: string, n: number): string {
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  const suffix = ` (${n})${ext}`;
  const room = NAME_MAX_BYTES - encoder.encode(suffix).length;
  return truncateUtf8(stem, Math.max(room, 1)) + suffix;
}

/**
 * tempName builds `.NAME.RANDOM.part`. The leading dot hides it from
 * listings and from static serving with dotfiles off; NAME is cut (at a
 * character boundary) so the whole name fits in NAME_MAX_BYTES.
 */
function tempName(name: string): string {
  const random = crypto.getRandomValues(new Uint8Array(RANDOM_BYTES));
  const hex = Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
  return `.${truncateUtf8(name, NAME_MAX_BYTES - TEMP_OVERHEAD_BYTES)}.${hex}${PART_SUFFIX}`;
}

/** truncateUtf8 cuts `text` to at most `maxBytes` of UTF-8 without splitting a character. */
function truncateUtf8(text: string, maxBytes: number): string {
  if (encoder.encode(text).length <= maxBytes) return text;
  let out = "";
  let used = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (used + size > maxBytes) break;
    out += char;
    used += size;
  }
  return out;
}

/**
 * copyStream writes `body` to `file`, counting bytes, and throws
 * `tooLarge()` before writing the chunk that would pass `maxBytes`, so the
 * temp file never holds more than the limit. On failure the stream is
 * cancelled, which tells its source (the connection) to stop.
 */
async function copyStream(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  file: Deno.FsFile,
  options: AtomicWriteOptions,
  tooLarge: () => Error,
): Promise<number> {
  let bytes = 0;
  const copy = async (value: Uint8Array) => {
    bytes += value.length;
    if (bytes > options.maxBytes) throw tooLarge();
    await options.beforeChunk?.(value.length);
    await writeAll(file, value);
  };
  if (!(body instanceof ReadableStream)) {
    // An async iterable (a multipart part): breaking out of the loop on an
    // error calls its return(), which is how its source learns to stop.
    for await (const value of body) await copy(value);
    return bytes;
  }
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return bytes;
      await copy(value);
    }
  } catch (err) {
    // An errored stream rejects cancel(); the error we hold is the one to report.
    await reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
}

/**
 * syncDirectory flushes `dir`'s entries, so the rename survives a power cut
 * (fsync(2): syncing a file does not sync its directory entry). Best effort:
 * some systems refuse to open or sync a directory (Windows, some network
 * file systems) and the rename has already happened, so failing the request
 * now would report an error for a file that is in place.
 */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.syncData();
  } catch {
    // See above: the OS refused; the file's own data is already on disk.
  } finally {
    handle?.close();
  }
}

/**
 * removeStaleParts deletes the `.*.part` temp files that an
 * {@linkcode atomicWrite} interrupted by a crash left in `dir`, and returns
 * how many it removed. Call it at start-up, before serving: it would also
 * delete the temp file of a write in progress. Rejects with what
 * `Deno.readDir` and `Deno.remove` throw (no such directory, no
 * permission), but not for a file already gone.
 */
export async function removeStaleParts(dir: string): Promise<number> {
  let removed = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.startsWith(".") || !entry.name.endsWith(PART_SUFFIX)) {
      continue;
    }
    try {
      await Deno.remove(join(dir, entry.name));
      removed++;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err; // removed by someone else
    }
  }
  return removed;
}
