/**
 * response_writer.ts — ⑧ a web `Response` to bytes on the wire (RFC 9112 §4,
 * §6, §7).
 *
 * The writer owns the framing: it decides Content-Length, chunked coding or
 * a close-delimited body, and drops whatever hop-by-hop fields a handler
 * set. A small response (head and body) leaves in one write; a large one
 * streams chunk by chunk, each write awaited, so memory stays bounded
 * however slowly the client reads.
 */

import { isClientGone } from "./http_error.ts";
import { httpDate } from "./http_date.ts";
import { hasNoBody, reasonPhrase } from "./status.ts";

/** ByteSink is anything that writes bytes like a `Deno.Conn`; a write may be short. */
export interface ByteSink {
  /** write sends bytes from the start of `p` and resolves to how many it took (perhaps fewer); rejects when the peer is gone. */
  write(p: Uint8Array): Promise<number>;
  /**
   * Told how many bytes each write took, once it has finished (the
   * connection's send floor counts them); it may throw to stop the writing.
   * A callback rather than a `.then` on every write: no promise more per write.
   */
  wrote?(n: number): void;
}

/** SMALL_BODY_BYTES: a body of unknown length up to this size is buffered and sent with Content-Length in one write. */
export const SMALL_BODY_BYTES = 64 * 1024;

/** WriteOptions describe the exchange the response answers. */
export interface WriteOptions {
  /** Whether the request was HEAD: the head is written, the body never is. */
  head: boolean;
  /** The request's minor version: 0 forbids chunked coding (RFC 9112 §7). */
  minor: 0 | 1;
  /** Whether the connection may stay open after this response, as far as the request goes. */
  keepAlive: boolean;
  /** The `Server` field value, or "" for none. */
  server: string;
}

/** WriteResult reports what was sent. */
export interface WriteResult {
  /** Content bytes written (0 for HEAD, 204, 304). */
  bodyBytes: number;
  /** Whether the connection can carry another request. */
  keepAlive: boolean;
}

/** HOP_BY_HOP lists the fields the writer sets itself; a handler's values for them are dropped (RFC 9110 §7.6.1). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-connection",
  "content-length",
  "date",
]);

/** Canonical spelling of common field names, for readable `curl -v` output. */
const CANONICAL = new Map<string, string>([
  ["accept-ranges", "Accept-Ranges"],
  ["allow", "Allow"],
  ["cache-control", "Cache-Control"],
  ["content-encoding", "Content-Encoding"],
  ["content-range", "Content-Range"],
  ["content-security-policy", "Content-Security-Policy"],
  ["content-type", "Content-Type"],
  ["etag", "ETag"],
  ["last-modified", "Last-Modified"],
  ["location", "Location"],
  ["retry-after", "Retry-After"],
  ["vary", "Vary"],
  ["x-content-type-options", "X-Content-Type-Options"],
]);

// deno-lint-ignore no-control-regex
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f]/;
// deno-lint-ignore no-control-regex
const CONTROLS_ALL = /[\x00-\x08\x0a-\x1f\x7f]/g;

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const LAST_CHUNK = encoder.encode("0\r\n\r\n");

/**
 * writeResponse writes `response` to `sink` as the answer to a request
 * described by `options`, and reports the bytes of content sent and whether
 * the connection may stay open. It rejects with what the sink throws (the
 * client went away), or with the body's error if the body fails before any
 * byte was written (the caller can still answer 500). A body that fails
 * later ends the response by closing (keepAlive false): its framing can no
 * longer be completed.
 */
export async function writeResponse(
  sink: ByteSink,
  response: Response,
  options: WriteOptions,
): Promise<WriteResult> {
  const noBody = hasNoBody(response.status);
  const start = await startBody(response, noBody, options.head);
  const mode = framingOf(noBody, start.declared, options.minor);
  const keepAlive = options.keepAlive && mode !== "close" &&
    !/\bclose\b/i.test(response.headers.get("connection") ?? "");
  const head = serializeHead(
    response.status,
    response.headers,
    mode,
    start.declared,
    keepAlive,
    options,
  );
  if (options.head || noBody) {
    try {
      await writeJoined(sink, head, []);
    } finally {
      await start.release(); // the client may be gone; an open file is closed all the same
    }
    return { bodyBytes: 0, keepAlive };
  }
  return await sendBody(sink, head, start, mode, keepAlive);
}

/** Framing is how a response's end is marked (RFC 9112 §6). */
type Framing = "none" | "length" | "chunked" | "close";

/**
 * framingOf takes whether the status forbids content, the body's length if
 * known and the request's minor version, and returns the framing: none,
 * Content-Length, chunked (HTTP/1.1 only) or the end of the connection.
 */
function framingOf(noBody: boolean, declared: number | undefined, minor: number): Framing {
  if (noBody) return "none";
  if (declared !== undefined) return "length";
  return minor === 1 ? "chunked" : "close";
}

/** BodyStart is what writeResponse knows of a body before it writes the head. */
interface BodyStart {
  /** The Content-Length to declare: the handler's, or the whole body's once read. */
  declared: number | undefined;
  /** The first pieces, read to leave in the same write as the head. */
  prefix: Uint8Array[];
  prefixBytes: number;
  /** Whether nothing is left to stream after the prefix. */
  ended: boolean;
  /** The reader the prefix was read through, or undefined (then the rest is `body`). */
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  body: ReadableStream<Uint8Array> | null;
  /** release cancels what is left of the body (an open file is closed); never rejects. */
  release(): Promise<void>;
}

/**
 * startBody takes a handler's response, whether its status forbids content
 * and whether the request was HEAD, and returns the body's start: a body
 * of unknown or small length is read first, so that if it is small it goes
 * out with a Content-Length in the same write as the head. An event stream
 * (Server-Sent Events) is never buffered: each event leaves as soon as it
 * is enqueued. A body that will not be sent is cancelled. Rejects with the
 * body's error.
 */
async function startBody(response: Response, noBody: boolean, head: boolean): Promise<BodyStart> {
  const body = response.body;
  // No body is a known length: 0 (RFC 9110 §8.6 asks for Content-Length then).
  const declared = declaredLength(response.headers) ??
    (body === null && !noBody ? 0 : undefined);
  const start: BodyStart = {
    declared,
    prefix: [],
    prefixBytes: 0,
    ended: true,
    reader: undefined,
    body,
    release: () => (start.reader ?? body)?.cancel().catch(() => {}) ?? Promise.resolve(),
  };
  if (body === null) return start;
  if (noBody || (head && declared !== undefined)) {
    await body.cancel().catch(() => {});
    return start;
  }
  const eventStream = /^text\/event-stream/i.test(response.headers.get("content-type") ?? "");
  start.ended = false;
  if (eventStream || (declared !== undefined && declared > SMALL_BODY_BYTES)) return start;
  const reader = start.reader = body.getReader();
  try {
    while (start.prefixBytes <= SMALL_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) {
        start.ended = true;
        break;
      }
      start.prefix.push(value);
      start.prefixBytes += value.length;
    }
  } catch (err) {
    reader.releaseLock();
    throw err;
  }
  if (start.ended && declared === undefined) start.declared = start.prefixBytes;
  return start;
}

/**
 * sendBody writes `head` with the body's prefix in one write, then streams
 * the rest, one awaited write per piece (backpressure for free), and
 * returns the content bytes sent and whether the connection may stay open.
 * Rejects with what the sink throws, after releasing the body.
 */
async function sendBody(
  sink: ByteSink,
  head: string,
  start: BodyStart,
  mode: Framing,
  keepAlive: boolean,
): Promise<WriteResult> {
  const { declared, prefix, prefixBytes } = start;
  let buffered = mode === "chunked" ? chunkFrame(prefix, prefixBytes) : prefix;
  let sent = prefixBytes;
  let ended = start.ended;
  if (mode === "length" && prefixBytes > declared!) {
    // The stream is longer than its own Content-Length: send what was
    // promised, never more, and close.
    buffered = [concat(prefix).subarray(0, declared)];
    sent = declared!;
    ended = true;
    keepAlive = false;
  }
  if (ended && mode === "chunked") buffered.push(LAST_CHUNK);
  try {
    await writeJoined(sink, head, buffered);
  } catch (err) {
    await start.release();
    throw err;
  }
  if (ended) {
    await start.reader?.cancel().catch(() => {});
    if (mode === "length" && sent !== declared) keepAlive = false;
    return { bodyBytes: sent, keepAlive };
  }
  const limit = mode === "length" ? declared! - sent : Infinity;
  const source = start.reader ?? start.body!;
  const streamed = await streamBody(sink, source, { chunked: mode === "chunked", limit });
  sent += streamed.bytes;
  if (mode === "chunked" && streamed.complete) await writeAll(sink, LAST_CHUNK);
  if (!streamed.complete || (mode === "length" && sent !== declared)) keepAlive = false;
  return { bodyBytes: sent, keepAlive };
}

/**
 * serializeHead writes the status line and fields; `fields` has lower-case
 * names (as `Headers` iterates them), and the writer's own fields (Date,
 * Server, framing, Connection) replace any a handler set.
 */
function serializeHead(
  status: number,
  fields: Iterable<readonly [string, string]>,
  mode: Framing,
  declared: number | undefined,
  keepAlive: boolean,
  options: WriteOptions,
): string {
  let head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nDate: ${httpDate()}\r\n`;
  if (options.server !== "") head += `Server: ${options.server}\r\n`;
  for (const [name, value] of fields) {
    if (HOP_BY_HOP.has(name)) continue;
    // Headers refuses CR, LF and NUL but lets other controls through; RFC
    // 9110 §5.5 forbids them on the wire, so they become spaces.
    const clean = CONTROLS.test(value) ? value.replace(CONTROLS_ALL, " ") : value;
    head += `${CANONICAL.get(name) ?? name}: ${clean}\r\n`;
  }
  // A 304 may repeat the Content-Length a 200 would have (RFC 9110 §8.6).
  if (mode === "length" || (status === 304 && declared !== undefined)) {
    head += `Content-Length: ${declared}\r\n`;
  } else if (mode === "chunked") {
    head += "Transfer-Encoding: chunked\r\n";
  }
  if (!keepAlive) head += "Connection: close\r\n";
  else if (options.minor === 0) head += "Connection: keep-alive\r\n";
  return head + "\r\n";
}

/**
 * PlainResponse is a response built without the web `Response`: status,
 * fields (lower-case names) and a body already in memory, in pieces written
 * in order. The static fast path answers with these (PERFORMANCE.md §4.3:
 * a `Response` copies its body and validates its headers on every request).
 */
export interface PlainResponse {
  status: number;
  fields: readonly (readonly [string, string])[];
  /** The content, or null for none (a 304); ignored for HEAD. */
  body: readonly Uint8Array[] | null;
  /** Content-Length: the body's length (for HEAD, the length a GET would send). */
  length: number;
}

/** HeadMemo is the head last written for one `fields` array, and with a one-piece body the whole response. */
interface HeadMemo {
  /** The `Date` second, status, length and connection options the bytes were made for. */
  key: string;
  head: Uint8Array;
  /** `head` followed by `body`, once the same small one-piece body was sent twice. */
  whole: Uint8Array | undefined;
  /** The one-piece body last sent with these fields. */
  body: Uint8Array | undefined;
}

/**
 * Heads already serialized, by the identity of their fields array: the
 * static layer hands out the same array for the same answer, so a file
 * asked for again costs one write of bytes made at most once a second (when
 * the Date changes). Memos are replaced, never changed, so a write still
 * under way on another connection keeps its bytes.
 */
const heads = new WeakMap<object, HeadMemo>();

/** sameView tells whether two views show the same bytes of the same buffer. */
function sameView(a: Uint8Array, b: Uint8Array): boolean {
  return a === b ||
    (a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length);
}

/** POOLED_BUFFER_BYTES: write buffers for a head and a small body are taken from a pool of this size. */
const POOLED_BUFFER_BYTES = SMALL_BODY_BYTES + 16 * 1024;
/** MAX_POOLED_BUFFERS bounds the pool (about 5 MiB). */
const MAX_POOLED_BUFFERS = 64;
const pool: Uint8Array[] = [];
let pooledMade = 0;

/**
 * takeBuffer returns a buffer of at least `size` bytes: one from the pool;
 * else a new one for the pool while fewer than MAX_POOLED_BUFFERS were
 * made; else one of exactly `size`, so a burst of writes at once (a flood
 * of connections, each answered) holds what it sends, not 80 KiB apiece.
 */
function takeBuffer(size: number): Uint8Array {
  const pooled = pool.pop();
  if (pooled !== undefined) return pooled;
  if (pooledMade < MAX_POOLED_BUFFERS) {
    pooledMade++;
    return new Uint8Array(POOLED_BUFFER_BYTES);
  }
  return new Uint8Array(size);
}

/** giveBack returns a buffer from {@linkcode takeBuffer} to the pool, when it is one of the pool's. */
function giveBack(buffer: Uint8Array) {
  if (buffer.length === POOLED_BUFFER_BYTES && pool.length < MAX_POOLED_BUFFERS) pool.push(buffer);
}

/**
 * writePlain writes `response` as the answer to a request described by
 * `options`. A body up to SMALL_BODY_BYTES leaves in the same write as the
 * head (copied into a pooled buffer, or from a memo of the whole response);
 * a larger one follows it, piece by piece, with no copy. Rejects with what
 * the sink throws.
 */
export async function writePlain(
  sink: ByteSink,
  response: PlainResponse,
  options: WriteOptions,
): Promise<WriteResult> {
  const { status, body, length, fields } = response;
  const noBody = hasNoBody(status);
  const keepAlive = options.keepAlive;
  const sendsBody = !options.head && !noBody && body !== null && length > 0;
  const date = httpDate();
  const key = `${date} ${status} ${length} ${keepAlive} ${options.minor} ${options.server}`;
  let memo = heads.get(fields);
  if (memo === undefined || memo.key !== key) {
    const text = serializeHead(
      status,
      fields,
      noBody ? "none" : "length",
      noBody ? undefined : length,
      keepAlive,
      options,
    );
    memo = { key, head: latin1Bytes(text), whole: undefined, body: undefined };
    heads.set(fields, memo);
  }
  const head = memo.head;
  if (!sendsBody) {
    await writeAll(sink, head);
    return { bodyBytes: 0, keepAlive };
  }
  if (length > SMALL_BODY_BYTES || head.length + length > POOLED_BUFFER_BYTES) {
    await writeLarge(sink, head, body);
    return { bodyBytes: length, keepAlive };
  }
  const piece = body.length === 1 ? body[0]! : undefined;
  if (piece !== undefined && memo.body !== undefined && sameView(memo.body, piece)) {
    // The same bytes a second time: keep the whole response for the next.
    if (memo.whole === undefined) {
      memo.whole = new Uint8Array(head.length + length);
      memo.whole.set(head);
      memo.whole.set(piece, head.length);
    }
    await writeAll(sink, memo.whole);
    return { bodyBytes: length, keepAlive };
  }
  memo.body = piece;
  memo.whole = undefined;
  await writePooled(sink, head, body);
  return { bodyBytes: length, keepAlive };
}

/**
 * writeLarge writes a head and a large body: the head leaves with the first
 * bytes of the body in one pooled buffer (a head alone would be a small TCP
 * segment of its own, and a client's delayed ACK can hold the rest back),
 * and the rest straight from where it is, with no copy.
 */
async function writeLarge(sink: ByteSink, head: Uint8Array, body: readonly Uint8Array[]) {
  const buffer = takeBuffer(POOLED_BUFFER_BYTES);
  let rest: Uint8Array[];
  try {
    if (head.length >= buffer.length) {
      await writeAll(sink, head);
      rest = [...body];
    } else {
      buffer.set(head);
      let offset = head.length;
      rest = [];
      for (const piece of body) {
        const room = buffer.length - offset;
        if (room === 0) rest.push(piece);
        else if (piece.length <= room) {
          buffer.set(piece, offset);
          offset += piece.length;
        } else {
          buffer.set(piece.subarray(0, room), offset);
          offset += room;
          rest.push(piece.subarray(room));
        }
      }
      await writeAll(sink, buffer.subarray(0, offset));
    }
  } finally {
    giveBack(buffer);
  }
  for (const piece of rest) await writeAll(sink, piece);
}

/** STREAM_CHUNK_BYTES is the buffer a large body is read into, reused for the whole response. */
export const STREAM_CHUNK_BYTES = 1024 * 1024;

/**
 * streamBody copies the rest of a body to the sink, at most `limit` bytes.
 * A byte stream (such as a file's) is read BYOB into one reused buffer, so
 * a 64 MiB download allocates one {@linkcode STREAM_CHUNK_BYTES} (1 MiB),
 * not 64 MiB of garbage. Returns the bytes written and whether the body
 * ended cleanly within the limit.
 */
async function streamBody(
  sink: ByteSink,
  source: ReadableStream<Uint8Array> | ReadableStreamDefaultReader<Uint8Array>,
  options: { chunked: boolean; limit: number },
): Promise<{ bytes: number; complete: boolean }> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader;
  let buffer: Uint8Array<ArrayBuffer> | undefined;
  if (source instanceof ReadableStream) {
    try {
      reader = source.getReader({ mode: "byob" });
      buffer = new Uint8Array(STREAM_CHUNK_BYTES);
    } catch {
      reader = source.getReader(); // not a byte stream
    }
  } else {
    reader = source;
  }
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = buffer === undefined
        ? await (reader as ReadableStreamDefaultReader<Uint8Array>).read()
        : await (reader as ReadableStreamBYOBReader).read(buffer);
      if (done) return { bytes, complete: true };
      if (buffer !== undefined) buffer = new Uint8Array(value.buffer as ArrayBuffer);
      if (value.length === 0) continue;
      const room = options.limit - bytes;
      const piece = value.length > room ? value.subarray(0, room) : value;
      if (options.chunked) {
        await writeAll(sink, encoder.encode(`${piece.length.toString(16)}\r\n`));
        await writeAll(sink, piece);
        await writeAll(sink, CRLF);
      } else {
        await writeAll(sink, piece);
      }
      bytes += piece.length;
      if (value.length > room) {
        await reader.cancel().catch(() => {});
        return { bytes, complete: false };
      }
    }
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    if (isStreamError(err)) return { bytes, complete: false };
    throw err;
  }
}

/**
 * A write error means the client has gone; anything else came from the
 * handler's body stream. UnexpectedEof comes from a read, never a write: a
 * request body, echoed into the response, that ended early.
 */
function isStreamError(err: unknown): boolean {
  return err instanceof Deno.errors.UnexpectedEof || !isClientGone(err);
}

/** declaredLength reads a handler's Content-Length if it is a plain non-negative integer. */
function declaredLength(headers: Headers): number | undefined {
  const value = headers.get("content-length");
  if (value === null || !/^[0-9]{1,15}$/.test(value)) return undefined;
  return Number(value);
}

function chunkFrame(pieces: Uint8Array[], total: number): Uint8Array[] {
  if (total === 0) return [];
  return [encoder.encode(`${total.toString(16)}\r\n`), ...pieces, CRLF];
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * writeJoined writes the head `head` (a byte string) and `pieces` in one
 * write, from one array made to their size. Not from the pool: an error
 * page is written by every connection the sweeper expires at once, and a
 * pooled buffer each (80 KiB) would hold megabytes for a few hundred bytes
 * apiece.
 */
async function writeJoined(sink: ByteSink, head: string, pieces: readonly Uint8Array[]) {
  let total = head.length;
  for (const piece of pieces) total += piece.length;
  const out = new Uint8Array(total);
  latin1Into(head, out);
  let offset = head.length;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  await writeAll(sink, out);
}

/**
 * writePooled writes `head` and `pieces`, which together fit
 * {@linkcode POOLED_BUFFER_BYTES}, in one write through a buffer from
 * {@linkcode takeBuffer}, given back once the write is done.
 */
async function writePooled(sink: ByteSink, head: Uint8Array, pieces: readonly Uint8Array[]) {
  let total = head.length;
  for (const piece of pieces) total += piece.length;
  const buffer = takeBuffer(total);
  try {
    buffer.set(head);
    let offset = head.length;
    for (const piece of pieces) {
      buffer.set(piece, offset);
      offset += piece.length;
    }
    await writeAll(sink, buffer.subarray(0, offset));
  } finally {
    giveBack(buffer);
  }
}

/** writeAll writes every byte of `p`, looping over short writes. */
export async function writeAll(sink: ByteSink, p: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < p.length) {
    const n = await sink.write(p.subarray(offset));
    sink.wrote?.(n);
    offset += n;
  }
}

/** latin1Bytes encodes a string of code points 0–255 one byte each: header values are ByteStrings. */
function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  latin1Into(s, out);
  return out;
}

function latin1Into(s: string, out: Uint8Array) {
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
}
