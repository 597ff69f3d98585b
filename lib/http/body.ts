/**
 * body.ts — ④ the request body, delimited by Content-Length or chunked
 * coding (RFC 9112 §6 and §7.1), read from the connection's own buffer and
 * capped in size while it arrives.
 */

import { HttpError } from "./http_error.ts";
import type { InputBuffer } from "./input.ts";
import { type Framing, latin1, parseField } from "./request_head.ts";

/** MAX_CHUNK_LINE_BYTES bounds a chunk-size line with its extensions. Past it: 400 and close. */
export const MAX_CHUNK_LINE_BYTES = 4 * 1024;
/** MAX_TRAILER_BYTES bounds the whole trailer section. Past it: 431 and close. */
export const MAX_TRAILER_BYTES = 16 * 1024;
/** BODY_READ_BYTES is the largest piece handed out by one read of a large body. */
export const BODY_READ_BYTES = 64 * 1024;

const CR = 13;
const LF = 10;

type ChunkState = "size" | "data" | "data-end" | "trailers" | "done";

// chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ext-val =
// token / quoted-string (RFC 9112 §7.1.1).
const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const QUOTED =
  '"(?:[\\t\\x20\\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t\\x20-\\x7e\\x80-\\xff])*"';
const CHUNK_EXT = new RegExp(
  `^(?:[ \\t]*;[ \\t]*${TOKEN}(?:[ \\t]*=[ \\t]*(?:${TOKEN}|${QUOTED}))?)*$`,
);
/** Hex digits in a chunk size once leading zeros are dropped: 12 is 256 TiB. */
const MAX_CHUNK_SIZE_DIGITS = 12;

function framingError(): HttpError {
  return new HttpError(400, "Invalid chunked body", { close: true });
}

/**
 * BodyReader reads one request body from an {@linkcode InputBuffer}: each
 * `read()` returns the next piece of content (a copy the caller may keep) or
 * null at its end. It throws a 400 or 413 {@linkcode HttpError} for bad
 * framing or a body over `maxBodyBytes`, and `Deno.errors.UnexpectedEof`
 * when the client stops before the body ends.
 */
export class BodyReader {
  #input: InputBuffer;
  #chunked: boolean;
  #maxBodyBytes: number;
  /** Content bytes left: in the whole body (length), or in the current chunk (chunked). */
  #remaining: number;
  #state: ChunkState;
  #received = 0;
  #busy = false;
  #detached = false;
  #failure: unknown = undefined;
  #scratch: Uint8Array | undefined;
  #tooLarge: boolean;

  /** Creates a reader of the body `framing` describes, at most `maxBodyBytes` long. */
  constructor(input: InputBuffer, framing: Framing, maxBodyBytes: number) {
    this.#input = input;
    this.#chunked = framing.kind === "chunked";
    this.#maxBodyBytes = maxBodyBytes;
    this.#remaining = framing.kind === "length" ? framing.length : 0;
    this.#state = framing.kind === "chunked" ? "size" : framing.kind === "length" ? "data" : "done";
    // Refused at the first read, not here: the handler decides first
    // (401 before 413), and may answer without reading at all.
    this.#tooLarge = framing.kind === "length" && framing.length > maxBodyBytes;
  }

  /** Whether the declared Content-Length is over the limit: the first read throws 413. */
  get tooLarge(): boolean {
    return this.#tooLarge;
  }

  /** Whether the whole body, trailers included, has been read. */
  get done(): boolean {
    return this.#state === "done";
  }

  /** Content bytes read so far. */
  get received(): number {
    return this.#received;
  }

  /** The content bytes still to come when that is known (Content-Length), else undefined. */
  get knownRemaining(): number | undefined {
    if (this.#state === "done") return 0;
    return this.#chunked ? undefined : this.#remaining;
  }

  /** The error the body failed with (framing, size, or the client leaving), if it did. */
  get failure(): unknown {
    return this.#failure;
  }

  /** Whether a read is under way. */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Ends the handler's access: later reads throw. The connection calls it
   * once the response is sent, before it drains what the handler left.
   */
  detach() {
    this.#detached = true;
  }

  /** Reads the next piece of the body, or null at its end. */
  read(): Promise<Uint8Array | null> {
    if (this.#detached) {
      return Promise.reject(
        new TypeError("Cannot read request body: the response was already sent"),
      );
    }
    return this.#read();
  }

  async #read(): Promise<Uint8Array | null> {
    if (this.#busy) throw new TypeError("Cannot read request body: a read is already under way");
    this.#busy = true;
    try {
      if (this.#tooLarge) throw new HttpError(413, undefined, { close: true });
      return await this.#next();
    } catch (err) {
      this.#failure ??= err;
      throw err;
    } finally {
      this.#busy = false;
    }
  }

  async #next(): Promise<Uint8Array | null> {
    for (;;) {
      switch (this.#state) {
        case "done":
          return null;
        case "data":
          return await this.#data();
        case "size":
          await this.#sizeLine();
          break;
        case "data-end":
          await this.#dataEnd();
          break;
        case "trailers":
          await this.#trailers();
          break;
      }
    }
  }

  /**
   * Reads and discards the rest of the body. Returns false, having stopped,
   * when more than `maxBytes` would have to be read; the caller then closes.
   */
  async drain(maxBytes: number): Promise<boolean> {
    const limit = this.#received + maxBytes;
    if (!this.#chunked && this.#received + this.#remaining > limit) return false;
    while ((await this.#read()) !== null) {
      if (this.#received > limit) return false;
    }
    return true;
  }

  async #data(): Promise<Uint8Array> {
    const input = this.#input;
    let piece: Uint8Array;
    if (input.available > 0) {
      piece = input.take(this.#remaining);
    } else {
      // Read into one scratch buffer and copy out exactly what came: a
      // client sending one byte per segment must not pin 64 KiB per byte.
      this.#scratch ??= new Uint8Array(BODY_READ_BYTES);
      const n = await input.readDirect(
        this.#scratch.subarray(0, Math.min(this.#remaining, BODY_READ_BYTES)),
      );
      if (n === null) throw new Deno.errors.UnexpectedEof("Request body ended early");
      piece = this.#scratch.slice(0, n);
    }
    this.#remaining -= piece.length;
    this.#received += piece.length;
    if (this.#remaining === 0) this.#state = this.#chunked ? "data-end" : "done";
    return piece;
  }

  /** Waits for a CRLF-terminated line of at most `max` bytes; returns the index of its LF. */
  async #line(max: number, tooLong: () => HttpError): Promise<number> {
    for (;;) {
      const view = this.#input.view();
      const lf = view.indexOf(LF);
      if (lf !== -1) {
        if (lf > max) throw tooLong();
        if (lf === 0 || view[lf - 1] !== CR) throw framingError();
        return lf;
      }
      if (view.length > max) throw tooLong();
      if (!(await this.#input.fill())) {
        throw new Deno.errors.UnexpectedEof("Request body ended early");
      }
    }
  }

  async #sizeLine() {
    const lf = await this.#line(MAX_CHUNK_LINE_BYTES, framingError);
    const view = this.#input.view();
    let i = 0;
    let size = 0;
    let digits = 0;
    for (; i < lf - 1; i++) {
      const h = hexValue(view[i]!);
      if (h < 0) break;
      if (digits > 0 || h > 0) digits++;
      if (digits > MAX_CHUNK_SIZE_DIGITS) throw new HttpError(413, undefined, { close: true });
      size = size * 16 + h;
    }
    if (i === 0) throw framingError();
    const ext = latin1(view, i, lf - 1);
    if (ext !== "" && !CHUNK_EXT.test(ext)) throw framingError();
    this.#input.consume(lf + 1);

    if (this.#received + size > this.#maxBodyBytes) {
      throw new HttpError(413, undefined, { close: true });
    }
    this.#remaining = size;
    this.#state = size === 0 ? "trailers" : "data";
  }

  async #dataEnd() {
    while (this.#input.available < 2) {
      if (!(await this.#input.fill())) {
        throw new Deno.errors.UnexpectedEof("Request body ended early");
      }
    }
    const view = this.#input.view();
    if (view[0] !== CR || view[1] !== LF) throw framingError();
    this.#input.consume(2);
    this.#state = "size";
  }

  /** Reads and checks the trailer section (RFC 9112 §7.1.2); the fields are discarded. */
  async #trailers() {
    let total = 0;
    for (;;) {
      const tooLarge = () => new HttpError(431, undefined, { close: true });
      const lf = await this.#line(MAX_TRAILER_BYTES - total, tooLarge);
      total += lf + 1;
      if (lf === 1) {
        this.#input.consume(2);
        this.#state = "done";
        return;
      }
      parseField(this.#input.view(), 0, lf - 1);
      this.#input.consume(lf + 1);
    }
  }
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}

/**
 * BodyStreamHooks let the connection act when the handler first asks for the
 * body. Hooks are called as methods of this object, so an object with state
 * (the connection's exchange) can be its own hooks, with no closure.
 */
export interface BodyStreamHooks {
  /** Runs before the first read: where `100 Continue` is sent (RFC 9110 §10.1.1). */
  beforeFirstRead?: () => Promise<void>;
}

/**
 * bodyStream exposes `reader` as a web ReadableStream for `new Request`. It
 * reads only when the handler asks (high-water mark 0), so a handler that
 * never reads the body never triggers `100 Continue`.
 */
export function bodyStream(
  reader: BodyReader,
  hooks: BodyStreamHooks = {},
): ReadableStream<Uint8Array> {
  let first = true;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        first = false;
        await hooks.beforeFirstRead?.();
      }
      const piece = await reader.read();
      if (piece === null) controller.close();
      else controller.enqueue(piece);
    },
  }, { highWaterMark: 0 });
}
