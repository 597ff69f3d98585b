/**
 * input.ts — the connection's read buffer, shared by the head parser and the
 * body reader so that pipelined bytes are never lost or read twice.
 */

/** ByteSource is anything that reads bytes like a `Deno.Conn`: tests pass a scripted reader. */
export interface ByteSource {
  /** read fills `p` from the start and resolves to the bytes read, or null at the end; rejects when the peer is gone. */
  read(p: Uint8Array): Promise<number | null>;
}

/** INITIAL_BUFFER_BYTES is a new connection's buffer: enough for a typical head (browsers send ~1 KiB). */
export const INITIAL_BUFFER_BYTES = 4 * 1024;

/** Buffers of the initial size kept for reuse across connections, so accept does not allocate. */
const POOL_LIMIT = 1024;
const pool: Uint8Array[] = [];

/**
 * InputBuffer holds bytes read from a {@linkcode ByteSource} that are not yet
 * consumed. It grows (up to `maxBytes`) only when a head does not fit.
 */
export class InputBuffer {
  #source: ByteSource;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #maxBytes: number;
  #eof = false;

  /** Creates a buffer over `source` that may grow to `maxBytes`. */
  constructor(source: ByteSource, maxBytes: number) {
    this.#source = source;
    this.#buf = pool.pop() ?? new Uint8Array(INITIAL_BUFFER_BYTES);
    this.#maxBytes = Math.max(maxBytes, INITIAL_BUFFER_BYTES);
  }

  /** The unconsumed bytes. The view is only valid until the next fill. */
  view(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  /** Number of unconsumed bytes. */
  get available(): number {
    return this.#end - this.#start;
  }

  /** Whether the source has reported end of stream. */
  get eof(): boolean {
    return this.#eof;
  }

  /** Marks `n` bytes as consumed. */
  consume(n: number) {
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /** Takes up to `n` unconsumed bytes as a copy the caller may keep. */
  take(n: number): Uint8Array {
    const count = Math.min(n, this.available);
    const out = this.#buf.slice(this.#start, this.#start + count);
    this.consume(count);
    return out;
  }

  /**
   * Reads once more from the source, appending to the unconsumed bytes.
   * Returns false at end of stream. Callers bound what they wait for below
   * `maxBytes`, so a full buffer is a bug and throws.
   */
  async fill(): Promise<boolean> {
    if (this.#eof) return false;
    if (this.#end === this.#buf.length) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      } else if (this.#buf.length < this.#maxBytes) {
        const bigger = new Uint8Array(Math.min(this.#buf.length * 2, this.#maxBytes));
        bigger.set(this.#buf.subarray(0, this.#end));
        this.#buf = bigger;
      } else {
        throw new RangeError(`Cannot fill input buffer: already holds ${this.#maxBytes} bytes`);
      }
    }
    const n = await this.#source.read(this.#buf.subarray(this.#end));
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#end += n;
    return true;
  }

  /** Reads straight from the source into `p`, bypassing the buffer; null at end of stream. */
  async readDirect(p: Uint8Array): Promise<number | null> {
    if (this.#eof) return null;
    const n = await this.#source.read(p);
    if (n === null) this.#eof = true;
    return n;
  }

  /** Returns the buffer to the pool. The InputBuffer must not be used afterwards. */
  release() {
    if (this.#buf.length === INITIAL_BUFFER_BYTES && pool.length < POOL_LIMIT) pool.push(this.#buf);
    this.#buf = new Uint8Array(0);
    this.#start = this.#end = 0;
  }
}
