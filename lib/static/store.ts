/**
 * store.ts — the representation store: what the static layer knows about
 * each file it has served, so that every request shape (plain, conditional,
 * ranged, compressed, HEAD, `?bytes`, a miss) is answered from memory.
 *
 * Per file it keeps the path and real path, size, modification time, inode,
 * media type, validators, which precompressed siblings (`.br`, `.gz`) exist,
 * and, for files up to `maxFileBytes`, the bytes themselves and their
 * brotli and gzip forms, made once per file version off the event loop
 * (`compress.ts`). Misses are kept too, so a 404 costs no exception.
 *
 * Never stale. A response that begins after a write to the root completed
 * reflects it. Three mechanisms, each for what the others cannot see:
 *
 * 1. A synchronous `stat` of the path, at most once per file per *wave* of
 *    the event loop: the microtasks that run between two turns. Every request
 *    answered in a wave was read from its socket before the wave began or
 *    (read eagerly) before the first check in it, and the check's microtask
 *    ends the wave behind every continuation already queued: so the stat is
 *    newer than every request that trusts it. Under load one stat serves
 *    many requests; alone, a request pays for one (~4 µs).
 * 2. A file modified within {@linkcode racyGraceMs} of being read could be
 *    changed again in the same timestamp tick with the same size, which
 *    `stat` cannot see (git's "racily clean" problem). Such an entry is
 *    *unsettled*: each wave re-reads its bytes and compares them, until its
 *    modification time is old enough that any later write must change it.
 *    In-memory files carry a digest of their bytes in the ETag, so two
 *    contents never share a validator.
 * 3. `Deno.watchFs` on the root (`watch.ts`) drops entries as soon as their
 *    files change, frees their memory, and learns when a precompressed
 *    sibling appears; it is also what live reload listens to. Its events
 *    arrive asynchronously, so freshness never depends on it.
 *
 * Bounded: at most `maxBytes` of file and compressed bytes and `maxEntries`
 * entries (misses included); the least recently used go first.
 */

import { DEFAULT_STORE_BYTES, DEFAULT_STORE_ENTRIES } from "../defaults.ts";
import { basename, dirname, sep as SEPARATOR } from "node:path";
import { HttpError } from "../http/http_error.ts";
import { type Compressor, inlineCompressor, type StoredCoding } from "./compress.ts";
import { FILE_SUFFIX } from "./encoding.ts";
import { contentType, isCompressible } from "./media_type.ts";
import { claimOf, realPathInside, type Scope } from "./resolve_path.ts";

/** MAX_STORED_FILE_BYTES: larger files are streamed from disk, never held (1 MiB), unless the store is smaller. */
export const MAX_STORED_FILE_BYTES = 1024 * 1024;
/** COMPRESS_MIN_BYTES: smaller files are not compressed (the coding's headers would cost more). */
export const COMPRESS_MIN_BYTES = 1024;

/** A compressed form of a stored file: pending, made, or not worth it (no smaller). */
type CodedForm =
  | { state: "pending"; done: Promise<void> }
  | { state: "ready"; bytes: Uint8Array; etag: string }
  | { state: "useless" };

/** FileEntry is one version of one file, as the store knows it. */
export interface FileEntry {
  readonly kind: "file";
  /** The path the URL named (root joined with its segments). */
  readonly path: string;
  /** The real path, symlinks resolved; what is opened. */
  readonly real: string;
  readonly size: number;
  /** Modification time, ms since the epoch (0 when unknown). */
  readonly mtime: number;
  readonly type: string;
  readonly compressible: boolean;
  /** The strong ETag of the identity representation. */
  readonly etag: string;
  /** Last-Modified's value (RFC 9110 §8.8.2). */
  readonly lastModified: string;
  /**
   * From this time (ms since the epoch) on, the modification date may be
   * sent and compared: once the second it names is over (plus the racy
   * grace), no later write can carry the same whole-second date. Before
   * it, a client holding this date could be told "not modified" about a
   * second version written in the same second.
   */
  readonly datesFrom: number;
  /** The whole file, when it is at most the store's per-file bound. */
  readonly body: Uint8Array | undefined;
  /** Which precompressed siblings (`file.br`, `file.gz`) existed when the entry was made. */
  readonly siblings: Readonly<Record<StoredCoding, boolean>>;
  /** @internal identity beyond size and mtime */
  readonly ino: number | null;
  /** @internal */
  readonly ctime: number;
  /** @internal the compressed forms made so far */
  readonly coded: Partial<Record<StoredCoding, CodedForm>>;
  /** @internal see racyGraceMs */
  settled: boolean;
  /** @internal the wave in which the entry was last checked */
  checkedWave: number;
}

/** Lookup is what a path is, now. */
export type Lookup =
  | FileEntry
  | { kind: "missing" }
  | { kind: "directory" }
  | ClaimedFile
  /** Exists, but may not be served (outside the root, a dotfile, a claimed file's sibling). */
  | { kind: "hidden" };

/** ClaimedFile is a file `Scope.claims` names (a template): answered by the caller's page, never sent as bytes. */
export interface ClaimedFile {
  readonly kind: "claimed";
  /** The real path, symlinks resolved: what the page reads. */
  readonly real: string;
  readonly size: number;
}

/**
 * MissingEntry is a path that names nothing. A stat of a missing path
 * throws (~12 µs with its stack trace), so the entry watches the nearest
 * directory above it that exists instead: creating the path, or any
 * directory on the way to it, changes that directory's modification time.
 */
interface MissingEntry {
  readonly kind: "missing";
  /** The nearest existing ancestor, and its stamp (inode, mtime, ctime) when the miss was seen. */
  readonly dir: string;
  readonly stamp: string;
  readonly dirMtime: number;
  /** Whether the directory's mtime is old enough for its stamp to show any later change (racyGraceMs). */
  settled: boolean;
  checkedWave: number;
}

type Entry = FileEntry | MissingEntry;

const MISSING: Lookup = { kind: "missing" };
const DIRECTORY: Lookup = { kind: "directory" };
const HIDDEN: Lookup = { kind: "hidden" };

// ---------------------------------------------------------------------------
// Waves

let wave = 1;
let waveEnding = false;

function endWave() {
  wave++;
  waveEnding = false;
}

/**
 * currentWave names the running wave of microtasks and makes sure it ends:
 * a microtask queued now runs after every continuation already queued
 * (FIFO), so a check made now is trusted only by requests read before it.
 */
function currentWave(): number {
  if (!waveEnding) {
    waveEnding = true;
    queueMicrotask(endWave);
  }
  return wave;
}

/**
 * racyGraceMs is how old a modification time must be before `stat` alone
 * can tell a later change: a few ticks of the kernel's coarse clock on file
 * systems with fine timestamps, and two seconds where timestamps are whole
 * seconds (ext3, HFS+; FAT's are 2 s).
 */
export function racyGraceMs(mtime: number): number {
  return mtime % 1000 === 0 ? 2_100 : 100;
}

// ---------------------------------------------------------------------------
// The store

/** StoreOptions bound a {@linkcode RepresentationStore}. */
export interface StoreOptions {
  /** Bytes held at most (files and their compressed forms). */
  maxBytes?: number;
  /** Entries held at most, misses included. */
  maxEntries?: number;
  /** Makes the compressed forms; {@linkcode inlineCompressor} when absent. */
  compressor?: Compressor;
  /** The clock, for tests. */
  now?: () => number;
}

/** RepresentationStore keeps what every answer for a file needs, never stale (see the file's comment). */
export class RepresentationStore {
  #entries = new Map<string, Entry>();
  #bytes = 0;
  #maxBytes: number;
  #maxEntries: number;
  #maxFileBytes: number;
  #compressor: Compressor;
  #now: () => number;
  #hits = 0;
  #misses = 0;

  /** Creates an empty store. */
  constructor(options: StoreOptions = {}) {
    this.#maxBytes = options.maxBytes ?? DEFAULT_STORE_BYTES;
    this.#maxEntries = options.maxEntries ?? DEFAULT_STORE_ENTRIES;
    this.#maxFileBytes = Math.min(MAX_STORED_FILE_BYTES, Math.floor(this.#maxBytes / 4));
    this.#compressor = options.compressor ?? inlineCompressor;
    this.#now = options.now ?? Date.now;
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Lookups answered from a fresh entry in memory (for --metrics). */
  get hits(): number {
    return this.#hits;
  }

  /** Lookups that had to load from the file system: new, evicted or changed paths. */
  get misses(): number {
    return this.#misses;
  }

  /** Whether an entry for `path` is held (fresh or not: lookup decides). */
  has(path: string): boolean {
    return this.#entries.has(path);
  }

  /**
   * lookup tells what `path` is now, from memory when its entry is fresh.
   * Synchronous: every file-system call here is a fast one (PERFORMANCE.md
   * §4.1). Throws a 403 {@linkcode HttpError} when the file may not be read.
   */
  lookup(path: string, scope: Scope): Lookup {
    const entry = this.#entries.get(path);
    if (entry !== undefined) {
      // Checked already in this wave: fresh, and moved to the end already.
      if (entry.checkedWave === wave) {
        this.#hits++;
        return entry.kind === "missing" ? MISSING : entry;
      }
      if (this.#fresh(path, entry)) {
        this.#hits++;
        // Most recently used last: Map keeps insertion order.
        this.#entries.delete(path);
        this.#entries.set(path, entry);
        return entry.kind === "missing" ? MISSING : entry;
      }
      this.#drop(path, entry);
    }
    this.#misses++;
    return this.#load(path, scope);
  }

  /**
   * coded returns the `coding` form of `entry` when it is made, undefined
   * when it is not worth making or not smaller, or a promise that settles
   * once it is made (starting the compression if needed).
   */
  coded(
    entry: FileEntry,
    coding: StoredCoding,
  ): { bytes: Uint8Array; etag: string } | "useless" | Promise<void> {
    const form = entry.coded[coding];
    if (form?.state === "ready") return form;
    if (form?.state === "useless") return "useless";
    if (form?.state === "pending") return form.done;
    const body = entry.body;
    if (body === undefined || !entry.compressible || body.length < COMPRESS_MIN_BYTES) {
      entry.coded[coding] = { state: "useless" };
      return "useless";
    }
    const done = this.#compressor.compress(body, coding).then(
      (bytes) => {
        if (bytes.length >= body.length) {
          entry.coded[coding] = { state: "useless" };
          return;
        }
        entry.coded[coding] = { state: "ready", bytes, etag: etagWith(entry.etag, coding) };
        // Count it only while the entry is still the one held.
        if (this.#entries.get(entry.path) === entry) {
          this.#bytes += bytes.length;
          this.#evict();
        }
      },
      () => {
        // The compressor failed or was closed: this version goes uncompressed
        // in that coding (the next version tries again).
        entry.coded[coding] = { state: "useless" };
      },
    );
    entry.coded[coding] = { state: "pending", done };
    return done;
  }

  /**
   * invalidate forgets what the store knows of `path` and of everything
   * under it (a renamed or removed directory), and the sibling list of the
   * file a `.br` or `.gz` belongs to. Called by the watcher.
   */
  invalidate(path: string) {
    const entry = this.#entries.get(path);
    if (entry !== undefined) this.#drop(path, entry);
    for (const suffix of Object.values(FILE_SUFFIX)) {
      if (!path.endsWith(suffix)) continue;
      const base = path.slice(0, -suffix.length);
      const owner = this.#entries.get(base);
      if (owner !== undefined) this.#drop(base, owner);
    }
    const prefix = path.endsWith(SEPARATOR) ? path : path + SEPARATOR;
    for (const [key, value] of this.#entries) {
      if (key.startsWith(prefix)) this.#drop(key, value);
    }
  }

  /** clear forgets everything (the watcher lost events). */
  clear() {
    this.#entries.clear();
    this.#bytes = 0;
  }

  /** Whether `entry` still describes the file at `path`; checks at most once a wave. */
  #fresh(path: string, entry: Entry): boolean {
    if (entry.kind === "missing") {
      const dir = statOrUndefined(entry.dir);
      if (dir === undefined || stampOf(dir) !== entry.stamp) return false;
      if (!entry.settled) {
        // Changed too recently for its stamp to tell: look at the path itself.
        if (statOrUndefined(path) !== undefined) return false;
        if (this.#now() - entry.dirMtime > racyGraceMs(entry.dirMtime)) entry.settled = true;
      }
      entry.checkedWave = currentWave();
      return true;
    }
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch {
      return false; // gone, or no longer reachable: look again
    }
    if (
      !info.isFile || info.size !== entry.size || timeOf(info.mtime) !== entry.mtime ||
      info.ino !== entry.ino || timeOf(info.ctime) !== entry.ctime
    ) {
      return false;
    }
    if (!entry.settled && !this.#settle(entry)) return false;
    entry.checkedWave = currentWave();
    return true;
  }

  /**
   * An unsettled entry's bytes are compared with the file's; once its
   * modification time is old enough, a later write must change the stat.
   */
  #settle(entry: FileEntry): boolean {
    const startedAt = this.#now();
    if (entry.body !== undefined) {
      let now: Uint8Array;
      try {
        now = Deno.readFileSync(entry.real);
      } catch {
        return false;
      }
      if (!sameBytes(now, entry.body)) return false;
    }
    if (startedAt - entry.mtime > racyGraceMs(entry.mtime)) entry.settled = true;
    return true;
  }

  #load(path: string, scope: Scope): Lookup {
    let real: string | undefined;
    try {
      real = realPathInside(path, scope);
    } catch (err) {
      if (!isMissing(err)) throw fsError(err);
      const missing = this.#missing(path, scope.root);
      if (missing !== undefined) this.#remember(path, missing);
      return MISSING;
    }
    if (real === undefined) return HIDDEN; // a link out of the root, or to a dotfile
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(real);
    } catch (err) {
      if (isMissing(err)) return MISSING; // removed between the two calls
      throw fsError(err);
    }
    if (info.isDirectory) return DIRECTORY;
    if (!info.isFile) return HIDDEN; // a FIFO or device would block or never end
    // A claimed file's source is never sent, not even compressed.
    const claim = claimOf(basename(path), basename(real), scope);
    if (claim === "claimed") return { kind: "claimed", real, size: info.size };
    if (claim === "sibling") return HIDDEN;
    const entry = this.#read(path, real);
    if (entry === undefined) return this.#load(path, scope); // changed while read: again
    this.#remember(path, entry);
    return entry;
  }

  /** A miss to remember, watched through its nearest existing ancestor; undefined if none can be stat'ed. */
  #missing(path: string, root: string): MissingEntry | undefined {
    const seenAt = this.#now();
    // Never above the root: Deno would refuse (or, at a terminal, ask).
    for (let dir = dirname(path); dir.startsWith(root); dir = dirname(dir)) {
      const info = statOrUndefined(dir);
      if (info !== undefined) {
        const dirMtime = timeOf(info.mtime);
        return {
          kind: "missing",
          dir,
          stamp: stampOf(info),
          dirMtime,
          settled: seenAt - dirMtime > racyGraceMs(dirMtime),
          checkedWave: currentWave(),
        };
      }
      if (dir === root || dirname(dir) === dir) return undefined;
    }
    return undefined;
  }

  /** Reads one version of the file: stat, bytes and stat again must agree. Undefined if it changed meanwhile. */
  #read(path: string, real: string): FileEntry | undefined {
    const startedAt = this.#now();
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(real, { read: true });
    } catch (err) {
      throw fsError(err);
    }
    try {
      const info = file.statSync();
      let body: Uint8Array | undefined;
      if (info.size <= this.#maxFileBytes) {
        body = readAll(file, info.size);
        if (body === undefined) return undefined;
        const after = file.statSync();
        if (after.size !== info.size || timeOf(after.mtime) !== timeOf(info.mtime)) {
          return undefined;
        }
      }
      const mtime = timeOf(info.mtime);
      const type = contentType(path);
      const compressible = isCompressible(type);
      const siblings = {
        br: compressible && statOrUndefined(path + FILE_SUFFIX.br)?.isFile === true,
        gzip: compressible && statOrUndefined(path + FILE_SUFFIX.gzip)?.isFile === true,
      };
      return {
        kind: "file",
        path,
        real,
        size: info.size,
        mtime,
        type,
        compressible,
        etag: entityTag(info.size, mtime, body),
        lastModified: new Date(mtime).toUTCString(),
        datesFrom: Math.floor(mtime / 1000) * 1000 + 1000 + racyGraceMs(mtime),
        body,
        siblings,
        ino: info.ino,
        ctime: timeOf(info.ctime),
        coded: {},
        settled: startedAt - mtime > racyGraceMs(mtime),
        checkedWave: currentWave(),
      };
    } finally {
      file.close();
    }
  }

  #remember(path: string, entry: Entry) {
    const old = this.#entries.get(path);
    if (old !== undefined) this.#drop(path, old);
    this.#entries.set(path, entry);
    this.#bytes += weightOf(entry);
    this.#evict();
  }

  #drop(path: string, entry: Entry) {
    if (this.#entries.get(path) !== entry) return;
    this.#entries.delete(path);
    this.#bytes -= weightOf(entry);
  }

  #evict() {
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes && this.#entries.size <= this.#maxEntries) return;
      this.#drop(key, entry);
    }
  }
}

/** The bytes an entry holds: the file and its compressed forms made so far. */
function weightOf(entry: Entry): number {
  if (entry.kind === "missing") return 0;
  let bytes = entry.body?.length ?? 0;
  for (const form of Object.values(entry.coded)) {
    if (form?.state === "ready") bytes += form.bytes.length;
  }
  return bytes;
}

/**
 * entityTag is a strong ETag: size and modification time, and for a file
 * held in memory a digest of its bytes too, so that two contents written
 * within one timestamp tick still get two tags (RFC 9110 §8.8.3).
 */
export function entityTag(size: number, mtime: number, body?: Uint8Array): string {
  const digest = body === undefined ? "" : `-${fnv1a(body).toString(16)}`;
  return `"${size.toString(16)}-${mtime.toString(16)}${digest}"`;
}

/** etagWith is the tag of a compressed form: each representation has its own (RFC 9110 §8.8.3). */
export function etagWith(etag: string, coding: StoredCoding): string {
  return `${etag.slice(0, -1)}-${coding}"`;
}

/** fnv1a is the 32-bit FNV-1a hash of `bytes`: cheap, and enough to tell two versions apart. */
export function fnv1a(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** readAll reads exactly `size` bytes and checks the end; undefined if the file grew or shrank. */
function readAll(file: Deno.FsFile, size: number): Uint8Array | undefined {
  const bytes = new Uint8Array(size);
  let offset = 0;
  while (offset < size) {
    const n = file.readSync(bytes.subarray(offset));
    if (n === null || n === 0) return undefined;
    offset += n;
  }
  const probe = new Uint8Array(1);
  return file.readSync(probe) === null ? bytes : undefined;
}

/** statOrUndefined stats `path`, or answers undefined if it cannot be stat'ed (missing, not permitted). */
function statOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
  } catch {
    return undefined;
  }
}

/** What changes whenever a directory's entries do (or it is replaced). */
function stampOf(info: Deno.FileInfo): string {
  return `${info.ino}-${timeOf(info.mtime)}-${timeOf(info.ctime)}`;
}

function timeOf(date: Date | null): number {
  return date?.getTime() ?? 0;
}

function isMissing(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory ||
    err instanceof Deno.errors.FilesystemLoop || err instanceof Deno.errors.InvalidData ||
    (err as { code?: string }).code === "ENAMETOOLONG";
}

/** fsError maps a file-system error to an HTTP one; the cause goes to the log only. */
export function fsError(err: unknown): unknown {
  if (err instanceof HttpError) return err;
  if (isMissing(err)) return new HttpError(404, "Not Found", { cause: err });
  if (err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable) {
    return new HttpError(403, "Forbidden", { cause: err });
  }
  return err;
}
