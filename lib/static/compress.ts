/**
 * compress.ts — making the compressed forms of a file, once per version.
 *
 * Brotli at quality 11 compresses a 16 KB stylesheet in about 17 ms and a
 * megabyte in about a second; on the event loop that would stall every
 * other client for as long. `node:zlib`'s "async" functions run on the
 * calling thread in Deno 2.9 (measured: no timer fired during a 3 s
 * compression), so production compresses in a worker isolate of its own
 * ({@linkcode WorkerCompressor}), started on first use and stopped when
 * idle. Library users and socket-free tests get {@linkcode inlineCompressor}.
 */

/** StoredCoding is a content coding whose bytes the store makes and keeps. */
export type StoredCoding = "br" | "gzip";

/** Compressor makes the `coding` form of `bytes`. */
export interface Compressor {
  /** Resolves with the compressed bytes; rejects if the compressor failed or was closed. */
  compress(bytes: Uint8Array, coding: StoredCoding): Promise<Uint8Array>;
  /** Stops any worker; pending compressions reject. */
  close(): void;
}

/** BROTLI_MAX_QUALITY_BYTES: up to this size brotli runs at quality 11 (smallest output, ~1 MB/s). */
export const BROTLI_MAX_QUALITY_BYTES = 128 * 1024;
/** GZIP_LEVEL: gzip's best compression; gzip is the fallback for clients without brotli. */
export const GZIP_LEVEL = 9;

/** CompressJob is the message a worker receives; it answers `{ id, bytes }` or `{ id, error }`. */
interface CompressJob {
  id: number;
  coding: StoredCoding;
  bytes: Uint8Array;
}

type Zlib = typeof import("node:zlib");

/**
 * compressWith compresses `bytes` with the `node:zlib` module given. It uses
 * nothing but its arguments and the two constants, because the worker runs
 * its source text (see {@linkcode WORKER_SOURCE}).
 */
function compressWith(
  zlib: Zlib,
  bytes: Uint8Array,
  coding: StoredCoding,
): Uint8Array<ArrayBuffer> {
  const out = coding === "br"
    ? zlib.brotliCompressSync(bytes, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: bytes.length <= BROTLI_MAX_QUALITY_BYTES ? 11 : 8,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    })
    : zlib.gzipSync(bytes, { level: GZIP_LEVEL });
  // A copy of its own: zlib's Buffer may share a pooled ArrayBuffer, and the
  // worker transfers the whole buffer back.
  return new Uint8Array(out);
}

/** compressNow compresses on the calling thread. */
export async function compressNow(
  bytes: Uint8Array,
  coding: StoredCoding,
): Promise<Uint8Array<ArrayBuffer>> {
  // Loaded on first use: node:zlib brings Node compatibility (~5 MiB) with it.
  return compressWith(await import("node:zlib"), bytes, coding);
}

/**
 * WORKER_SOURCE is the worker's module, run from a blob URL: a worker
 * loaded from a file would need read permission for minserve's own source
 * (the server may read only its root), and a compiled binary has no file.
 */
const WORKER_SOURCE = `import zlib from "node:zlib";
const BROTLI_MAX_QUALITY_BYTES = ${BROTLI_MAX_QUALITY_BYTES};
const GZIP_LEVEL = ${GZIP_LEVEL};
const compressWith = ${compressWith.toString()};
self.onmessage = (event) => {
  const { id, coding, bytes } = event.data;
  try {
    const out = compressWith(zlib, bytes, coding);
    self.postMessage({ id, bytes: out }, [out.buffer]);
  } catch (err) {
    self.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
};
`;

/** inlineCompressor compresses on the calling thread: for tests and small library uses. */
export const inlineCompressor: Compressor = {
  compress: compressNow,
  close() {},
};

/** WORKER_IDLE_MS: a compression worker with nothing to do for this long is stopped, freeing its memory. */
export const WORKER_IDLE_MS = 30_000;

/**
 * WorkerCompressor compresses in one worker isolate, one job at a time in
 * order of arrival, so the event loop never waits for zlib.
 */
export class WorkerCompressor implements Compressor {
  #worker: Worker | undefined;
  #nextId = 1;
  #pending = new Map<number, { resolve(b: Uint8Array): void; reject(e: unknown): void }>();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /**
   * compress makes the `coding` form of `bytes` in the worker (started on
   * first use). Resolves with the compressed bytes; rejects once the
   * compressor is closed, or if the worker fails.
   */
  compress(bytes: Uint8Array, coding: StoredCoding): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new Error("Cannot compress: the compressor is closed"));
    const worker = this.#start();
    const id = this.#nextId++;
    clearTimeout(this.#idleTimer);
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, coding, bytes } satisfies CompressJob);
    });
  }

  /** close stops the worker; pending and later jobs reject. */
  close() {
    this.#closed = true;
    this.#stop(new Error("Cannot compress: the compressor is closed"));
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    const worker = new Worker(url, { type: "module" });
    URL.revokeObjectURL(url);
    worker.onmessage = (
      event: MessageEvent<{ id: number; bytes?: Uint8Array; error?: string }>,
    ) => {
      const { id, bytes, error } = event.data;
      const job = this.#pending.get(id);
      this.#pending.delete(id);
      if (bytes !== undefined) job?.resolve(bytes);
      else job?.reject(new Error(`Cannot compress: ${error ?? "unknown error"}`));
      if (this.#pending.size === 0) this.#idleLater();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      this.#stop(new Error(`Cannot compress: the worker failed: ${event.message}`));
    };
    this.#worker = worker;
    return worker;
  }

  #idleLater() {
    clearTimeout(this.#idleTimer);
    const timer = setTimeout(() => this.#stop(undefined), WORKER_IDLE_MS);
    Deno.unrefTimer(timer as unknown as number);
    this.#idleTimer = timer;
  }

  #stop(reason: unknown) {
    clearTimeout(this.#idleTimer);
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const job of this.#pending.values()) job.reject(reason);
    this.#pending.clear();
  }
}
