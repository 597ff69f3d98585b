/**
 * upload_space.ts — room for uploads: a quota on the upload directory's
 * total size, and a floor of free disk space that uploads never go below.
 *
 * Both are checked twice: before the body is read, against the declared
 * Content-Length, so a too-large upload is refused without being sent; and
 * while it streams, chunk by chunk, so a body without a length (or one that
 * lied) is stopped the moment it crosses the line. Uploads in flight are
 * counted together: two that each fit alone cannot both pass.
 */

import { join } from "node:path";
import { PART_SUFFIX } from "../atomic_write.ts";
import { HttpError } from "../http/http_error.ts";
import { formatSize } from "../static/listing.ts";

/** FREE_CHECK_BYTES: while an upload streams, free disk space is asked for again after this many bytes. */
export const FREE_CHECK_BYTES = 8 * 1024 * 1024;

/** FreeBytes reports the bytes available to this process on the file system of `dir`, or undefined when it cannot tell. */
export type FreeBytes = (dir: string) => Promise<number | undefined>;

/** UploadSpaceOptions configure an {@linkcode UploadSpace}. */
export interface UploadSpaceOptions {
  /** The upload directory. */
  dir: string;
  /** The most its regular files may add up to, in bytes. */
  quotaBytes: number;
  /** The least free disk space an upload may leave, in bytes; 0 turns the check off. */
  minFreeBytes: number;
  /** How free space is read; {@linkcode statfsFreeBytes} by default. */
  freeBytes?: FreeBytes;
}

/**
 * UploadSpace keeps uploads within the quota and above the free-space floor.
 * Each upload request takes a {@linkcode SpaceTicket} with
 * {@linkcode UploadSpace.begin}.
 */
export class UploadSpace {
  /** The upload directory. */
  readonly dir: string;
  /** The most its regular files may add up to, in bytes. */
  readonly quotaBytes: number;
  /** The least free disk space an upload may leave, in bytes; 0 when the check is off. */
  readonly minFreeBytes: number;
  #freeBytes: FreeBytes;
  /** Bytes written to temp files by uploads still in flight. */
  #inFlight = 0;

  /** Creates the accounting for `options.dir`; nothing is read until {@linkcode UploadSpace.begin}. */
  constructor(options: UploadSpaceOptions) {
    this.dir = options.dir;
    this.quotaBytes = options.quotaBytes;
    this.minFreeBytes = options.minFreeBytes;
    this.#freeBytes = options.freeBytes ?? statfsFreeBytes;
  }

  /**
   * begin measures the directory and resolves to the ticket an upload
   * counts its bytes with. When the request declares `declared` bytes it
   * rejects with a 507 {@linkcode HttpError} unless they fit both the quota
   * and the floor; and with what `Deno.readDir` throws.
   */
  async begin(declared: number | undefined): Promise<SpaceTicket> {
    const used = await directoryBytes(this.dir);
    const ticket = new SpaceTicket(this, used, (delta) => (this.#inFlight += delta));
    if (declared !== undefined) {
      if (used + this.#inFlight + declared > this.quotaBytes) throw this.quotaError();
      const free = await this.free();
      if (free !== undefined && free - declared < this.minFreeBytes) throw this.floorError();
    }
    return ticket;
  }

  /** inFlight is what uploads in progress have written so far, in bytes. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** free is the free disk space under the directory, or undefined when it cannot be read or the floor is off. */
  async free(): Promise<number | undefined> {
    if (this.minFreeBytes === 0) return undefined;
    return await this.#freeBytes(this.dir);
  }

  /** quotaError is the 507 for an upload the quota has no room for. */
  quotaError(): HttpError {
    return new HttpError(
      507,
      `The upload folder is full: its quota is ${formatSize(this.quotaBytes)}`,
      { expose: true },
    );
  }

  /** floorError is the 507 for an upload that would leave too little free disk space. */
  floorError(): HttpError {
    return new HttpError(
      507,
      `The disk is nearly full: uploads must leave ${formatSize(this.minFreeBytes)} free`,
      { expose: true },
    );
  }
}

/**
 * SpaceTicket follows one upload request: pass {@linkcode SpaceTicket.beforeChunk}
 * to `atomicWrite`, and call {@linkcode SpaceTicket.settle} after each file.
 */
export class SpaceTicket {
  #space: UploadSpace;
  /** The directory's bytes when the request began, plus what this request has stored since. */
  #used: number;
  /** Bytes of the file being written now. */
  #pending = 0;
  #sinceFreeCheck = 0;
  #addInFlight: (delta: number) => void;

  /**
   * Made by {@linkcode UploadSpace.begin}: `used` bytes are in the directory,
   * and `addInFlight` tells the space of this request's bytes in temp files.
   */
  constructor(space: UploadSpace, used: number, addInFlight: (delta: number) => void) {
    this.#space = space;
    this.#used = used;
    this.#addInFlight = addInFlight;
  }

  /** beforeChunk counts `length` more bytes and throws a 507 {@linkcode HttpError} past the quota or the floor. */
  beforeChunk = async (length: number): Promise<void> => {
    this.#pending += length;
    this.#addInFlight(length);
    const space = this.#space;
    if (this.#used + space.inFlight > space.quotaBytes) throw space.quotaError();
    this.#sinceFreeCheck += length;
    if (this.#sinceFreeCheck >= FREE_CHECK_BYTES || this.#pending === length) {
      this.#sinceFreeCheck = 0;
      const free = await space.free();
      if (free !== undefined && free - length < space.minFreeBytes) throw space.floorError();
    }
  };

  /** settle ends the current file: `stored` true when it is now in the directory. */
  settle(stored: boolean): void {
    this.#addInFlight(-this.#pending);
    if (stored) this.#used += this.#pending;
    this.#pending = 0;
  }
}

/**
 * directoryBytes resolves to the sizes, added up, of the regular files
 * directly in `dir`, leaving out the temp files of uploads in flight
 * (counted as they stream). Rejects with what `Deno.readDir` throws.
 */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || (entry.name.startsWith(".") && entry.name.endsWith(PART_SUFFIX))) continue;
    try {
      total += (await Deno.stat(join(dir, entry.name))).size;
    } catch {
      // Removed since readDir saw it.
    }
  }
  return total;
}

/**
 * statfsFreeBytes reads the free space for unprivileged users under `dir`
 * (statfs(2) `f_bavail × f_bsize`) through `node:fs`, loaded on first use so
 * a server without uploads never pays for it. Undefined without the
 * `--allow-sys=statfs` permission or where statfs is missing; `main.ts`
 * warns at start when the floor cannot be checked. Rejects with any other
 * failure (no such directory).
 */
export async function statfsFreeBytes(dir: string): Promise<number | undefined> {
  try {
    const { promises } = await import("node:fs");
    const stats = await promises.statfs(dir);
    return stats.bavail * stats.bsize;
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw err;
  }
}
