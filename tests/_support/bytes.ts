/**
 * bytes.ts — byte helpers for raw-bytes test tables: latin1 strings as bytes,
 * every way to split an input, and in-memory stand-ins for a socket's read and
 * write halves.
 *
 * Test tables are written as strings with `\r\n` spelled out; {@linkcode encode}
 * turns each character code 0–255 into exactly one byte, so `"\xff"` is the
 * byte 0xff and not its two-byte UTF-8 form.
 */

/** Largest input that {@linkcode everySplit} cuts at every offset. */
const EVERY_OFFSET_MAX_BYTES = 2 * 1024;
/** For longer inputs, every offset this close to either end is still tried. */
const EDGE_OFFSETS = 256;
/** For longer inputs, every offset that is a multiple of this is tried too. */
const OFFSET_STRIDE = 97;
/** String.fromCharCode gets at most this many arguments per call (stack limit). */
const DECODE_CHUNK = 8 * 1024;

/**
 * encode turns `s` into bytes the latin1 way: character code N (0–255) becomes
 * the byte N. Throws a RangeError for a character above U+00FF, since it has no
 * one-byte form and a test table containing one is a mistake.
 */
export function encode(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code > 0xff) {
      throw new RangeError(
        `Cannot encode "${s[i]}" at index ${i} as latin1: character code ${code} is above 255`,
      );
    }
    out[i] = code;
  }
  return out;
}

/**
 * decode turns bytes into a string the latin1 way: byte N becomes character
 * code N, so `encode(decode(b))` equals `b` for every input. (TextDecoder's
 * "latin1" is really windows-1252, which remaps 0x80–0x9f; this does not.)
 */
export function decode(b: Uint8Array): string {
  let out = "";
  for (let i = 0; i < b.length; i += DECODE_CHUNK) {
    out += String.fromCharCode(...b.subarray(i, i + DECODE_CHUNK));
  }
  return out;
}

/** concat joins `parts` into one new buffer. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * everySplit yields ways to deliver `bytes` in reads: first the whole buffer as
 * one part; then one byte per part; then, for every offset i from 1 to
 * length − 1, the two parts [0, i) and [i, length). For inputs over 2 KiB only
 * the offsets within 256 bytes of either end, plus every 97th offset, are cut.
 * An input of at most one byte is yielded whole only, once.
 *
 * Every part is a fresh copy, so code under test cannot read the neighbouring
 * bytes through a shared ArrayBuffer. Each partition concatenates to `bytes`.
 */
export function* everySplit(bytes: Uint8Array): Generator<Uint8Array[]> {
  const length = bytes.length;
  yield [bytes.slice()];
  if (length <= 1) return;
  const single: Uint8Array[] = [];
  for (let i = 0; i < length; i++) single.push(bytes.slice(i, i + 1));
  yield single;
  for (const i of splitOffsets(length)) yield [bytes.slice(0, i), bytes.slice(i)];
}

/** splitOffsets lists, ascending, the offsets where {@linkcode everySplit} cuts. */
function* splitOffsets(length: number): Generator<number> {
  for (let i = 1; i < length; i++) {
    if (
      length <= EVERY_OFFSET_MAX_BYTES || i <= EDGE_OFFSETS || i >= length - EDGE_OFFSETS ||
      i % OFFSET_STRIDE === 0
    ) yield i;
  }
}

/** ScriptedReaderOptions configure how a {@linkcode ScriptedReader} ends. */
export interface ScriptedReaderOptions {
  /** Thrown by every read after the chunks are used up, instead of returning EOF. */
  error?: Error;
}

/**
 * ScriptedReader is a scripted byte source with the `read` of a `Deno.Conn`:
 * each read hands out the rest of the current chunk, split when it is larger
 * than the caller's buffer, and never joins two chunks into one read. After the
 * last chunk it returns null (EOF), or throws `options.error` if given. Strings
 * are encoded as latin1; empty chunks are skipped, because a read only returns
 * 0 for an empty buffer.
 */
export class ScriptedReader {
  #chunks: Uint8Array[];
  #error: Error | undefined;
  #index = 0;
  #offset = 0;
  #reads = 0;

  /** Creates a reader that hands out `chunks` in order. */
  constructor(chunks: readonly (Uint8Array | string)[], options: ScriptedReaderOptions = {}) {
    this.#chunks = chunks
      .map((c) => typeof c === "string" ? encode(c) : c.slice())
      .filter((c) => c.length > 0);
    this.#error = options.error;
  }

  /** read copies up to `p.length` bytes of the current chunk into `p`. */
  read(p: Uint8Array): Promise<number | null> {
    this.#reads++;
    if (p.length === 0) return Promise.resolve(0);
    const chunk = this.#chunks[this.#index];
    if (chunk === undefined) {
      return this.#error === undefined ? Promise.resolve(null) : Promise.reject(this.#error);
    }
    const n = Math.min(p.length, chunk.length - this.#offset);
    p.set(chunk.subarray(this.#offset, this.#offset + n));
    this.#offset += n;
    if (this.#offset === chunk.length) {
      this.#index++;
      this.#offset = 0;
    }
    return Promise.resolve(n);
  }

  /** reads is how many times `read` has been called, EOF and errors included. */
  get reads(): number {
    return this.#reads;
  }

  /** remaining is how many scripted bytes have not been read yet. */
  get remaining(): number {
    let n = 0;
    for (let i = this.#index; i < this.#chunks.length; i++) n += this.#chunks[i]?.length ?? 0;
    return n - this.#offset;
  }
}

/** ByteSinkOptions configure a {@linkcode ByteSink}. */
export interface ByteSinkOptions {
  /** Accept at most this many bytes per write call, to exercise short-write handling. */
  maxPerWrite?: number;
}

/**
 * ByteSink is an in-memory byte sink with the `write` of a `Deno.Conn`. It
 * records a copy of every byte it accepts, and with `maxPerWrite` it accepts
 * fewer bytes than offered, as a real socket may, so callers must loop.
 */
export class ByteSink {
  #parts: Uint8Array[] = [];
  #maxPerWrite: number;
  #writes = 0;

  /** Creates an empty sink. */
  constructor(options: ByteSinkOptions = {}) {
    const max = options.maxPerWrite ?? Infinity;
    if (!(max >= 1) || (max !== Infinity && !Number.isInteger(max))) {
      throw new RangeError(
        `Cannot create ByteSink with maxPerWrite "${max}": value must be a positive integer`,
      );
    }
    this.#maxPerWrite = max;
  }

  /** write records up to `maxPerWrite` bytes from the front of `p` and returns the count. */
  write(p: Uint8Array): Promise<number> {
    this.#writes++;
    const n = Math.min(p.length, this.#maxPerWrite);
    if (n > 0) this.#parts.push(p.slice(0, n));
    return Promise.resolve(n);
  }

  /** writes is how many times `write` has been called. */
  get writes(): number {
    return this.#writes;
  }

  /** bytes returns a copy of everything written so far. */
  bytes(): Uint8Array {
    return concat(this.#parts);
  }

  /** text returns everything written so far as a latin1 string (see {@linkcode decode}). */
  text(): string {
    return decode(this.bytes());
  }
}
