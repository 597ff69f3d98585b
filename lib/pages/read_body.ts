/**
 * read_body.ts — the request body of a dynamic page, bounded before and
 * while it is read, and what its header fields declare of it.
 *
 * The engine already caps every body at `--max-body`; a page's own limit is
 * usually far smaller (a board post is a few KiB), and checking it here means
 * a too-large body is refused without being read at all.
 */

import { HttpError } from "../http/http_error.ts";

/**
 * assertContentLength throws a 413 {@linkcode HttpError} when the request
 * declares a Content-Length over `maxBytes`. Called before the first read,
 * so the engine answers without sending `100 Continue` and the client never
 * uploads the body (RFC 9110 §10.1.1). A missing or malformed value passes:
 * the engine has already refused malformed framing, and a chunked body is
 * counted while it is read.
 */
export function assertContentLength(request: Request, maxBytes: number): void {
  const declared = declaredLength(request);
  if (declared !== undefined && declared > maxBytes) throw new HttpError(413);
}

/**
 * declaredLength returns the Content-Length `request` declares, as a
 * number, or undefined when it has none or not one of digits only (the
 * engine refuses those before a handler runs). Never throws.
 */
export function declaredLength(request: Request): number | undefined {
  const value = request.headers.get("content-length");
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

/**
 * mediaTypeOf returns the media type of the body of `request`, its
 * Content-Type without parameters, trimmed and lower-cased (RFC 9110
 * §8.3.1: type and subtype are case-insensitive): "" when there is none.
 * Never throws.
 */
export function mediaTypeOf(request: Request): string {
  const value = request.headers.get("content-type") ?? "";
  return (value.split(";")[0] ?? "").trim().toLowerCase();
}

/**
 * readBody reads the whole body of `request` into memory, at most
 * `maxBytes` of it: a declared Content-Length over the limit is refused
 * before reading ({@linkcode assertContentLength}), and a body that passes
 * the limit while it arrives (chunked) is refused as soon as it does, with
 * the stream cancelled. Throws a 413 {@linkcode HttpError}. An absent body
 * reads as empty.
 */
export async function readBody(
  request: Request,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  assertContentLength(request, maxBytes);
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.length;
      if (length > maxBytes) throw new HttpError(413);
      chunks.push(value);
    }
  } catch (err) {
    await reader.cancel(err).catch(() => {}); // an errored stream rejects cancel()
    throw err;
  } finally {
    reader.releaseLock();
  }
  // One chunk (the common case for a small form) is returned without a copy.
  const only = chunks[0];
  if (chunks.length === 1 && only!.buffer instanceof ArrayBuffer) {
    return only as Uint8Array<ArrayBuffer>;
  }
  const body = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}
