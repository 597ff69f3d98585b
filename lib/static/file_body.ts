/**
 * file_body.ts — response bodies read from an open file: whole (small),
 * streamed (large), or as `multipart/byteranges` (several ranges). Each
 * closes the file when it ends, fails or is cancelled.
 */

import type { ByteRange } from "./range.ts";

/** FILE_CHUNK_BYTES: large files stream in reads of this size. */
export const FILE_CHUNK_BYTES = 256 * 1024;

/**
 * readExactly reads `length` bytes from `start`, synchronously: for the
 * small files it is used for, the read is a page-cache copy, cheaper than
 * a hop to the blocking pool. A file that shrank meanwhile is an error.
 */
export function readExactly(
  file: Deno.FsFile,
  start: number,
  length: number,
): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  if (start > 0) file.seekSync(start, Deno.SeekMode.Start);
  let offset = 0;
  while (offset < length) {
    const n = file.readSync(bytes.subarray(offset));
    if (n === null) throw new Error("File shrank while it was read");
    offset += n;
  }
  return bytes;
}

function closer(file: Deno.FsFile): () => void {
  let closed = false;
  return () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
}

/**
 * fileStream reads `length` bytes from `start` as a byte stream. A BYOB
 * reader (the response writer) has the file read straight into its own
 * reused buffer; other readers get FILE_CHUNK_BYTES pieces. One read per
 * pull, so a slow client holds at most a chunk.
 */
export function fileStream(
  file: Deno.FsFile,
  start: number,
  length: number,
): ReadableStream<Uint8Array> {
  let remaining = length;
  const close = closer(file);
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: FILE_CHUNK_BYTES,
    async start(controller) {
      if (start > 0) await file.seek(start, Deno.SeekMode.Start);
      if (remaining === 0) {
        close();
        controller.close();
      }
    },
    pull(controller) {
      try {
        const request = controller.byobRequest!;
        const view = request.view!;
        const want = Math.min(view.byteLength, remaining);
        // readSync: a page-cache copy, cheaper than a hop to the blocking pool.
        const n = file.readSync(new Uint8Array(view.buffer, view.byteOffset, want));
        if (n === null) throw new Error("File shrank while it was sent");
        remaining -= n;
        request.respond(n);
        if (remaining === 0) {
          close();
          controller.close();
        }
      } catch (err) {
        close();
        controller.error(err);
      }
    },
    cancel() {
      close();
    },
  });
}

const encoder = new TextEncoder();

/** MultipartPlan is a multipart/byteranges body laid out in advance, so its length is known. */
export interface MultipartPlan {
  boundary: string;
  /** The part heads ("--boundary CRLF Content-Type … CRLF CRLF"), one per range, then the closing delimiter. */
  heads: Uint8Array[];
  ranges: ByteRange[];
  /** Total body length in bytes. */
  length: number;
}

/**
 * planMultipart lays out `ranges` of a `size`-byte representation of
 * `type` as multipart/byteranges (RFC 9110 §14.6).
 */
export function planMultipart(ranges: ByteRange[], type: string, size: number): MultipartPlan {
  const boundary = crypto.randomUUID().replaceAll("-", "");
  const heads = ranges.map((r, i) =>
    encoder.encode(
      `${i === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: ${type}\r\n` +
        `Content-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
    )
  );
  heads.push(encoder.encode(`\r\n--${boundary}--\r\n`));
  let length = 0;
  for (const h of heads) length += h.length;
  for (const r of ranges) length += r.end - r.start + 1;
  return { boundary, heads, ranges, length };
}

/** multipartStream streams the body `plan` describes from `file`, a range at a time. */
export function multipartStream(
  file: Deno.FsFile,
  plan: MultipartPlan,
): ReadableStream<Uint8Array> {
  const close = closer(file);
  let part = 0;
  let headSent = false;
  let position = 0;
  let remaining = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!headSent) {
          controller.enqueue(plan.heads[part]!);
          headSent = true;
          if (part === plan.ranges.length) {
            close();
            controller.close();
            return;
          }
          const range = plan.ranges[part]!;
          position = range.start;
          remaining = range.end - range.start + 1;
          await file.seek(position, Deno.SeekMode.Start);
          return;
        }
        const chunk = new Uint8Array(Math.min(FILE_CHUNK_BYTES, remaining));
        const n = await file.read(chunk);
        if (n === null) throw new Error("File shrank while it was sent");
        remaining -= n;
        controller.enqueue(chunk.subarray(0, n));
        if (remaining === 0) {
          part++;
          headSent = false;
        }
      } catch (err) {
        close();
        controller.error(err);
      }
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 0 });
}
