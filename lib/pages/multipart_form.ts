/**
 * multipart_form.ts — a `multipart/form-data` request body read as a
 * stream, one part after another, each file part chunk by chunk (RFC 7578).
 *
 * The parsing is multipasta's (a maintained streaming parser that hands a
 * file part to a sink as its bytes arrive); this module adds the pull: a
 * chunk of the request body is read only when everything the previous one
 * held has been consumed, so at most one body chunk (64 KiB) is in memory
 * whatever the size of the files, and a slow disk slows the client down
 * through TCP instead of filling memory.
 */

import { make as makeParser, type MultipartError, type PartInfo } from "multipasta";
import { HttpError } from "../http/http_error.ts";

/** MultipartLimits bound what a form may hold besides its files' bytes. */
export interface MultipartLimits {
  /** Parts of any kind; past it: 413. */
  maxParts: number;
  /** Bytes of one non-file field (they are held in memory); past it: 413. */
  maxFieldBytes: number;
}

/** FormEntry is one part of the form: a file, whose bytes follow, or a field. */
export type FormEntry =
  | {
    kind: "file";
    /** The form field's name. */
    field: string;
    /** The file name the client gave (RFC 7578 §4.2), decoded; possibly "". */
    filename: string;
    /** The file's bytes. Read them before the next {@linkcode MultipartReader.next}, or they are skipped. */
    chunks: AsyncIterable<Uint8Array>;
  }
  | { kind: "field"; field: string };

const DASH = 0x2d;

type Event =
  | { kind: "file"; info: PartInfo }
  | { kind: "chunk"; bytes: Uint8Array }
  | { kind: "end" }
  | { kind: "field"; info: PartInfo }
  | { kind: "done" };

/**
 * MultipartReader reads `body` as `multipart/form-data` with the boundary
 * of `contentType`. Call {@linkcode MultipartReader.next} for each entry
 * until it returns null. Malformed input throws a 400 {@linkcode HttpError}
 * that names the problem, limits a 413; an error of `body` itself (the
 * client went away) is thrown as it is.
 */
export class MultipartReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #parser: { write(chunk: Uint8Array): void; end(): void };
  #events: Event[] = [];
  #error: HttpError | undefined;
  #ended = false;
  #done = false;
  #inFile = false;
  /** A last `-` held back from the parser until the next chunk (see #write). */
  #carry: Uint8Array | undefined;
  /** CRLF "--" boundary "-": the bytes after which a chunk must not end (see #write). */
  #closeStart: Uint8Array;
  /** The last bytes handed to the parser, fewer than `#closeStart`. */
  #tail = new Uint8Array(0);
  #limits: MultipartLimits;

  /**
   * Reads `body`, a `multipart/form-data` body whose boundary `contentType`
   * names, under `limits`. Never throws: a bad Content-Type (no boundary)
   * is a 400 from the first {@linkcode MultipartReader.next}.
   */
  constructor(body: ReadableStream<Uint8Array>, contentType: string, limits: MultipartLimits) {
    this.#reader = body.getReader();
    this.#limits = limits;
    const boundary = /;\s*boundary=(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
    this.#closeStart = new TextEncoder().encode(
      boundary === null ? "-" : `\r\n--${boundary[1] ?? boundary[2]}-`,
    );
    const events = this.#events;
    this.#parser = makeParser({
      headers: { "content-type": contentType },
      maxParts: limits.maxParts,
      maxFieldSize: limits.maxFieldBytes,
      // A file is a part with a filename, by our own reading of the header.
      isFile: (info) => dispositionOf(info)?.filename !== undefined,
      onField: (info) => void events.push({ kind: "field", info }),
      onFile: (info) => {
        events.push({ kind: "file", info });
        return (chunk) =>
          void events.push(chunk === null ? { kind: "end" } : { kind: "chunk", bytes: chunk });
      },
      onError: (error) => {
        this.#error ??= this.#httpError(error);
      },
      onDone: () => void events.push({ kind: "done" }),
    });
  }

  /**
   * next resolves to the next entry of the form, or null after the closing
   * boundary. The bytes of a file not read to the end are read and
   * discarded first. Rejects with a 400 {@linkcode HttpError} for a
   * malformed form, 413 past a limit ({@linkcode MultipartReader.error} holds it too), or
   * what the body's stream throws (the client gone).
   */
  async next(): Promise<FormEntry | null> {
    while (this.#inFile) {
      const event = await this.#pull();
      if (event.kind === "end") this.#inFile = false;
    }
    if (this.#done) return null;
    const event = await this.#pull();
    if (event.kind === "done") {
      this.#done = true;
      return null;
    }
    if (event.kind !== "file" && event.kind !== "field") {
      throw new HttpError(400, "Invalid multipart form: file data outside a part");
    }
    const disposition = dispositionOf(event.info);
    if (disposition === undefined || disposition.name === undefined) {
      this.#error = new HttpError(
        400,
        "Invalid multipart form: a part has no valid Content-Disposition with a field name",
      );
      throw this.#error;
    }
    if (event.kind === "field") return { kind: "field", field: disposition.name };
    this.#inFile = true;
    return {
      kind: "file",
      field: disposition.name,
      filename: disposition.filename ?? "",
      chunks: this.#chunks(),
    };
  }

  /** error is the form's own failure (malformed, over a limit) once it happened. */
  get error(): HttpError | undefined {
    return this.#error;
  }

  /** cancel stops reading the body (the rest of it is the connection's to drain or drop). */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }

  async *#chunks(): AsyncGenerator<Uint8Array> {
    while (this.#inFile) {
      const event = await this.#pull();
      if (event.kind === "end") {
        this.#inFile = false;
        return;
      }
      if (event.kind === "chunk") yield event.bytes;
    }
  }

  /** #pull returns the next parser event, reading the body only when none is waiting. */
  async #pull(): Promise<Event> {
    for (;;) {
      if (this.#error !== undefined) throw this.#error;
      const event = this.#events.shift();
      if (event !== undefined) return event;
      if (this.#ended) {
        // The body ended and the parser said nothing more: no closing boundary.
        this.#error = new HttpError(
          400,
          "Invalid multipart form: the body ends before the closing boundary",
        );
        continue;
      }
      const { done, value } = await this.#reader.read();
      try {
        if (done) {
          this.#ended = true;
          if (this.#carry !== undefined) this.#parser.write(this.#carry);
          this.#parser.end();
        } else {
          this.#write(value);
        }
      } catch (err) {
        // The parser decodes `filename*` with decodeURIComponent, which throws on bad escapes.
        this.#error ??= new HttpError(
          400,
          "Invalid multipart form: a part's headers are malformed",
          {
            cause: err,
          },
        );
      }
    }
  }

  /**
   * #write hands `value` to the parser, holding back one byte when the
   * bytes so far end in a delimiter and one `-`. multipasta 0.2.8 reads the
   * closing delimiter's `--` from the chunk the delimiter ends in; when that
   * chunk ends between the two dashes it takes the first for the start of a
   * part's headers and fails the form (one cut in 64 KiB, by where TCP splits
   * the body). Held back, the dash goes with the next chunk.
   */
  #write(value: Uint8Array): void {
    let chunk = value;
    if (this.#carry !== undefined) {
      chunk = new Uint8Array(this.#carry.length + value.length);
      chunk.set(this.#carry);
      chunk.set(value, this.#carry.length);
      this.#carry = undefined;
    }
    if (this.#endsInCloseStart(chunk)) {
      this.#carry = chunk.slice(-1);
      chunk = chunk.subarray(0, -1);
    }
    if (chunk.length === 0) return;
    this.#parser.write(chunk);
    // Keep the last bytes written, for the check above across chunk edges.
    const keep = this.#closeStart.length - 1;
    const joined = new Uint8Array(this.#tail.length + Math.min(chunk.length, keep));
    joined.set(this.#tail);
    joined.set(chunk.subarray(chunk.length - Math.min(chunk.length, keep)), this.#tail.length);
    this.#tail = joined.slice(Math.max(0, joined.length - keep));
  }

  /** #endsInCloseStart tells whether the bytes written so far plus `chunk` end in CRLF "--" boundary "-". */
  #endsInCloseStart(chunk: Uint8Array): boolean {
    const want = this.#closeStart;
    if (chunk.at(-1) !== DASH || want.length === 1) return false;
    for (let i = 1; i <= want.length; i++) {
      const at = chunk.length - i;
      const byte = at >= 0 ? chunk[at] : this.#tail[this.#tail.length + at];
      if (byte !== want[want.length - i]) return false;
    }
    return true;
  }

  #httpError(error: MultipartError): HttpError {
    switch (error._tag) {
      case "InvalidBoundary":
        return new HttpError(400, "Invalid multipart form: the Content-Type has no boundary");
      case "BadHeaders":
        return new HttpError(
          400,
          "Invalid multipart form: a part's headers are malformed or too large",
        );
      case "InvalidDisposition":
        return new HttpError(400, "Invalid multipart form: a part has no field name");
      case "EndNotReached":
        return new HttpError(
          400,
          "Invalid multipart form: the body ends before the closing boundary",
        );
      case "ReachedLimit":
        return error.limit === "MaxParts"
          ? new HttpError(413, `Too many parts in the form: at most ${this.#limits.maxParts}`)
          : new HttpError(
            413,
            `A form field is too large: at most ${this.#limits.maxFieldBytes} bytes`,
          );
    }
  }
}

/** Disposition is what a part's Content-Disposition says: its field name and file name. */
interface Disposition {
  name: string | undefined;
  filename: string | undefined;
}

/** One `; key=value` parameter, the value a token or a quoted string. */
const PARAMETER = /;[ \t]*([!#$%&'*+.^\w`|~-]+)[ \t]*=[ \t]*("[^"]*"|[!#$%&'*+.^\w`|~-]*)[ \t]*/y;
const DISPOSITION_TYPE = /^[ \t]*form-data[ \t]*/i;

/**
 * dispositionOf reads the part's Content-Disposition (RFC 7578 §4.2) as
 * browsers write it: `form-data; name="…"; filename="…"` with the names in
 * raw UTF-8 and `"`, CR and LF percent-encoded (WHATWG HTML §4.10.21.8), so
 * a backslash is a backslash, not an escape, and %22 is read as `"`. `filename*` (RFC 8187), which
 * RFC 7578 forbids senders but some still use, wins over `filename`.
 * multipasta's own reading keeps only Latin-1 names and drops a header
 * holding any other character (a Japanese file name, say). Undefined for a
 * header that is absent or malformed.
 */
function dispositionOf(info: PartInfo): Disposition | undefined {
  const raw = info.headers["content-disposition"];
  const header = Array.isArray(raw) ? undefined : raw;
  if (header === undefined) return undefined;
  const type = DISPOSITION_TYPE.exec(header);
  if (type === null) return undefined;
  const parameters = new Map<string, string>();
  PARAMETER.lastIndex = type[0].length;
  while (PARAMETER.lastIndex < header.length) {
    const match = PARAMETER.exec(header);
    if (match === null) return undefined;
    const value = match[2]!;
    parameters.set(match[1]!.toLowerCase(), value.startsWith('"') ? value.slice(1, -1) : value);
  }
  // The `"` a browser wrote as %22 is given back; %0D and %0A would be refused names anyway.
  let filename = parameters.get("filename")?.replaceAll("%22", '"');
  const extended = parameters.get("filename*");
  if (extended !== undefined) {
    const encoded = /^UTF-8'[^']*'(.*)$/i.exec(extended);
    if (encoded === null) return undefined;
    try {
      filename = decodeURIComponent(encoded[1]!);
    } catch {
      return undefined;
    }
  }
  return { name: parameters.get("name"), filename };
}
