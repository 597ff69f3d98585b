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
}

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
 * On any failure (the stream errors, the client goes away, the body is too
 * large, the disk is full) the temp file is removed and the error rethrown;
 * `dir/name` is untouched until the rename. `name` must be a single path
 * segment (a TypeError otherwise): callers validate names, this is the last
 * line of defence. Returns the number of bytes written.
 */
export async function atomicWrite(
  dir: string,
  name: string,
  body: ReadableStream<Uint8Array> | Uint8Array,
  options: AtomicWriteOptions,
): Promise<{ bytes: number }> {
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
  try {
    if (body instanceof Uint8Array) {
      await writeAll(file, body);
      bytes = body.length;
    } else {
      bytes = await copyStream(body, file, options.maxBytes, tooLarge);
    }
    // Data first, then the name: a rename that reaches the disk before the
    // data would leave an empty or partial file under the real name after a
    // crash (the ext4 "zero-length file" problem).
    await file.syncData();
    file.close();
    open = false;
    await Deno.rename(tempPath, join(dir, name));
  } catch (err) {
    if (open) file.close();
    await Deno.remove(tempPath).catch(() => {
      // Already gone, or the directory is no longer writable: nothing
      // better to do, and the original error is the one worth reporting.
    });
    throw err;
  }
  await syncDirectory(dir);
  return { bytes };
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
  body: ReadableStream<Uint8Array>,
  file: Deno.FsFile,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<number> {
  const reader = body.getReader();
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return bytes;
      bytes += value.length;
      if (bytes > maxBytes) throw tooLarge();
      await writeAll(file, value);
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
 * delete the temp file of a write in progress.
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
