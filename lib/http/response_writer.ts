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

import { hasNoBody, reasonPhrase } from "./status.ts";

/** ByteSink is anything that writes bytes like a `Deno.Conn`; a write may be short. */
export interface ByteSink {
  write(p: Uint8Array): Promise<number>;
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

/** Fields the writer sets itself; a handler's values for them are dropped (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
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
const CANONICAL: Record<string, string> = {
  "accept-ranges": "Accept-Ranges",
  "allow": "Allow",
  "cache-control": "Cache-Control",
  "content-encoding": "Content-Encoding",
  "content-range": "Content-Range",
  "content-type": "Content-Type",
  "etag": "ETag",
  "last-modified": "Last-Modified",
  "location": "Location",
  "retry-after": "Retry-After",
  "vary": "Vary",
  "x-content-type-options": "X-Content-Type-Options",
};

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const LAST_CHUNK = encoder.encode("0\r\n\r\n");

let dateSecond = -1;
let dateValue = "";

/** httpDate returns the current time as an IMF-fixdate (RFC 9110 §5.6.7), recomputed once a second. */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(second * 1000).toUTCString();
  }
  return dateValue;
}

/**
 * writeResponse writes `response` to `sink` as the answer to a request
 * described by `options`, and reports the bytes of content sent and whether
 * the connection may stay open. It throws what the sink throws (the client
 * went away); a body stream that fails midway ends the response by closing
 * (keepAlive false), since its framing can no longer be completed.
 */
export async function writeResponse(
  sink: ByteSink,
  response: Response,
  options: WriteOptions,
): Promise<WriteResult> {
  const status = response.status;
  let keepAlive = options.keepAlive;
  let declared = declaredLength(response.headers);
  const body = response.body;
  const sendsBody = !options.head && !hasNoBody(status);

  // A body of unknown length: read a little to see whether it is small, so
  // it can go out with a Content-Length in the same write as the head.
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let prefix: Uint8Array[] = [];
  let prefixBytes = 0;
  let ended = body === null;
  if (body !== null && !hasNoBody(status)) {
    reader = body.getReader();
    if (declared === undefined || sendsBody) {
      const limit = Math.min(declared ?? SMALL_BODY_BYTES, SMALL_BODY_BYTES);
      try {
        while (prefixBytes <= limit) {
          const { done, value } = await reader.read();
          if (done) {
            ended = true;
            break;
          }
          prefix.push(value);
          prefixBytes += value.length;
        }
      } catch (err) {
        // The body failed before anything was sent: this is the handler's
        // error, and connection.ts can still answer it with a 500.
        reader.releaseLock();
        throw err;
      }
      if (ended && declared === undefined) declared = prefixBytes;
    }
  } else if (body !== null) {
    await body.cancel().catch(() => {});
  }

  type Mode = "none" | "length" | "chunked" | "close";
  let mode: Mode;
  if (hasNoBody(status)) mode = "none";
  else if (declared !== undefined) mode = "length";
  else if (options.minor === 1) mode = "chunked";
  else mode = "close";
  if (mode === "close") keepAlive = false;
  if (response.headers.get("connection")?.toLowerCase().includes("close")) keepAlive = false;

  let head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nDate: ${httpDate()}\r\n`;
  if (options.server !== "") head += `Server: ${options.server}\r\n`;
  for (const [name, value] of response.headers) {
    if (HOP_BY_HOP.has(name)) continue;
    head += `${CANONICAL[name] ?? name}: ${value}\r\n`;
  }
  if (mode === "length" || (mode === "none" && status === 304 && declared !== undefined)) {
    head += `Content-Length: ${declared}\r\n`;
  } else if (mode === "chunked") {
    head += "Transfer-Encoding: chunked\r\n";
  }
  if (!keepAlive) head += "Connection: close\r\n";
  else if (options.minor === 0) head += "Connection: keep-alive\r\n";
  head += "\r\n";

  if (!sendsBody || mode === "none") {
    await writeAll(sink, latin1Bytes(head));
    if (reader !== undefined) await reader.cancel().catch(() => {});
    return { bodyBytes: 0, keepAlive };
  }

  // Everything buffered goes out with the head in one write.
  let sent = 0;
  const first = mode === "chunked" ? chunkFrame(prefix, prefixBytes) : prefix;
  const firstBytes = first.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(head.length + firstBytes);
  latin1Into(head, out);
  let offset = head.length;
  for (const p of first) {
    out.set(p, offset);
    offset += p.length;
  }
  sent = prefixBytes;
  prefix = [];

  if (mode === "length" && sent > declared!) {
    // The handler's stream is longer than its own Content-Length: send what
    // was promised and close, never more.
    await writeAll(sink, out.subarray(0, head.length + declared!));
    await reader?.cancel().catch(() => {});
    return { bodyBytes: declared!, keepAlive: false };
  }
  if (ended) {
    await writeAll(sink, mode === "chunked" ? concat(out, LAST_CHUNK) : out);
    if (mode === "length" && sent < declared!) keepAlive = false;
    return { bodyBytes: sent, keepAlive };
  }
  await writeAll(sink, out);

  // The rest streams, one awaited write per piece: backpressure for free.
  try {
    for (;;) {
      const { done, value } = await reader!.read();
      if (done) break;
      if (value.length === 0) continue;
      if (mode === "length") {
        const room = declared! - sent;
        if (value.length > room) {
          await writeAll(sink, value.subarray(0, room));
          sent += room;
          await reader!.cancel().catch(() => {});
          return { bodyBytes: sent, keepAlive: false };
        }
        await writeAll(sink, value);
      } else if (mode === "chunked") {
        await writeAll(sink, encoder.encode(`${value.length.toString(16)}\r\n`));
        await writeAll(sink, value);
        await writeAll(sink, CRLF);
      } else {
        await writeAll(sink, value);
      }
      sent += value.length;
    }
  } catch (err) {
    await reader!.cancel(err).catch(() => {});
    if (isStreamError(err)) return { bodyBytes: sent, keepAlive: false };
    throw err;
  }
  if (mode === "chunked") await writeAll(sink, LAST_CHUNK);
  if (mode === "length" && sent !== declared) keepAlive = false;
  return { bodyBytes: sent, keepAlive };
}

/** A write error is a Deno I/O error; anything else came from the handler's body stream. */
function isStreamError(err: unknown): boolean {
  return !(err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted ||
    err instanceof Deno.errors.NotConnected || err instanceof Deno.errors.ConnectionAborted);
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

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** writeAll writes every byte of `p`, looping over short writes. */
export async function writeAll(sink: ByteSink, p: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < p.length) offset += await sink.write(p.subarray(offset));
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
