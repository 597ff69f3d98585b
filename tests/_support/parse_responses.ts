/**
 * parse_responses.ts — a small strict parser of HTTP/1.x responses for the
 * tests. It shares no code with `lib/`, so a bug in the server's writer
 * cannot hide behind the same bug in the test.
 */

import { concat, decode } from "./bytes.ts";

/** ParseResponsesOptions tell {@linkcode parseResponses} what the requests were. */
export interface ParseResponsesOptions {
  /**
   * The method of each request, in order, so that responses to HEAD are read
   * without a body (RFC 9112 §6.3). Interim 1xx responses do not use up an
   * entry. Missing entries count as GET.
   */
  headMethods?: readonly string[];
}

/** Framing says how a response body was delimited on the wire (RFC 9112 §6.3). */
export type Framing = "none" | "content-length" | "chunked" | "eof";

/** ParsedResponse is one HTTP/1.x response read by {@linkcode parseResponses}. */
export interface ParsedResponse {
  /** The HTTP version from the status line, e.g. `HTTP/1.1`. */
  readonly version: string;
  /** The status code. */
  readonly status: number;
  /** The reason phrase, possibly empty. */
  readonly reason: string;
  /** The header fields in order, names lowercased, values without surrounding whitespace. */
  readonly headers: readonly (readonly [string, string])[];
  /** The chunked trailer fields, in the same form as `headers`. */
  readonly trailers: readonly (readonly [string, string])[];
  /** How the body was delimited. */
  readonly framing: Framing;
  /** The body, with chunked coding removed. */
  readonly body: Uint8Array;
  /** The status line and header fields exactly as received, final CRLF CRLF included (latin1). */
  readonly rawHead: string;
  /**
   * header returns the value of the field `name` (any case), several fields
   * joined with ", " as `Headers.get` does, or null when absent.
   */
  header(name: string): string | null;
  /** text returns the body decoded as UTF-8. */
  text(): string;
}

/** ParsedResponseImpl is the plain-data {@linkcode ParsedResponse}. */
class ParsedResponseImpl implements ParsedResponse {
  constructor(
    readonly version: string,
    readonly status: number,
    readonly reason: string,
    readonly headers: readonly (readonly [string, string])[],
    readonly trailers: readonly (readonly [string, string])[],
    readonly framing: Framing,
    readonly body: Uint8Array,
    readonly rawHead: string,
  ) {}

  header(name: string): string | null {
    const lower = name.toLowerCase();
    const values = this.headers.filter(([n]) => n === lower).map(([, v]) => v);
    return values.length === 0 ? null : values.join(", ");
  }

  text(): string {
    return new TextDecoder().decode(this.body);
  }
}

const STATUS_LINE = /^(HTTP\/1\.[01]) ([0-9]{3}) ([\t\x20-\x7e\x80-\xff]*)$/;
/** RFC 9110 §5.6.2 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 §5.5 field-value: visible characters, obs-text, and inner SP / HTAB. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** RFC 9112 §7.1 chunk-size, then chunk-ext (checked loosely: no control characters). */
const CHUNK_LINE = /^([0-9A-Fa-f]+)((?:[ \t]*;[\t\x20-\x7e\x80-\xff]*)?)$/;
/** Longer chunk sizes exceed Number.MAX_SAFE_INTEGER, and no test sends that much. */
const MAX_CHUNK_SIZE_DIGITS = 13;

/**
 * parseResponses parses `bytes` as a stream of HTTP/1.0 or HTTP/1.1
 * responses, strictly: every line must end in CRLF, header names must be
 * tokens with no space before the colon, obs-fold is refused, and a response
 * may not carry both Content-Length and Transfer-Encoding or two
 * Content-Length fields. Bodies are framed per RFC 9112 §6.3: none for 1xx,
 * 204, 304 and responses to HEAD (see `options.headMethods`); else chunked
 * (decoded) when chunked is the final transfer coding; else Content-Length;
 * else to the end of `bytes`. Interim 1xx responses are entries of their own.
 * Throws a SyntaxError when the bytes are malformed or end mid-response.
 */
export function parseResponses(
  bytes: Uint8Array,
  options: ParseResponsesOptions = {},
): ParsedResponse[] {
  const methods = options.headMethods ?? [];
  const responses: ParsedResponse[] = [];
  let pos = 0;
  let request = 0; // index of the request the next final response answers
  while (pos < bytes.length) {
    const where = `response ${responses.length + 1} at byte ${pos}`;
    const start = pos;
    const statusLine = readLine(bytes, pos, where);
    pos = statusLine.next;
    const match = STATUS_LINE.exec(statusLine.text);
    if (match === null) fail(where, `invalid status line "${statusLine.text}"`);
    const [, version = "", code = "", reason = ""] = match;
    const status = Number(code);
    if (status < 100) fail(where, `invalid status code "${code}"`);
    const fields = readFields(bytes, pos, where);
    pos = fields.next;
    const headers = fields.fields;
    const rawHead = decode(bytes.subarray(start, pos));

    const interim = status < 200;
    const method = interim ? "" : (methods[request] ?? "GET").toUpperCase();
    if (!interim) request++;

    let framing: Framing;
    let body: Uint8Array = new Uint8Array(0);
    let trailers: (readonly [string, string])[] = [];
    const lengths = headers.filter(([n]) => n === "content-length");
    const codings = headers
      .filter(([n]) => n === "transfer-encoding")
      .flatMap(([, v]) => v.split(","))
      .map((c) => c.trim().toLowerCase());
    if (lengths.length > 1) fail(where, "more than one Content-Length field");
    if (lengths.length > 0 && codings.length > 0) {
      fail(where, "both Content-Length and Transfer-Encoding"); // RFC 9112 §6.1
    }
    const lengthValue = lengths[0]?.[1];
    if (lengthValue !== undefined && !/^[0-9]+$/.test(lengthValue)) {
      fail(where, `invalid Content-Length "${lengthValue}"`);
    }
    if (codings.some((c) => !TOKEN.test(c))) fail(where, "invalid Transfer-Encoding");

    if (interim || status === 204 || status === 304 || method === "HEAD") {
      framing = "none";
    } else if (codings.length > 0 && codings.at(-1) === "chunked") {
      framing = "chunked";
      const chunked = readChunked(bytes, pos, where);
      body = chunked.body;
      trailers = chunked.trailers;
      pos = chunked.next;
    } else if (lengthValue !== undefined && codings.length === 0) {
      framing = "content-length";
      const length = Number(lengthValue);
      if (pos + length > bytes.length) {
        fail(where, `body ends after ${bytes.length - pos} of ${length} bytes`);
      }
      body = bytes.slice(pos, pos + length);
      pos += length;
    } else {
      framing = "eof";
      body = bytes.slice(pos);
      pos = bytes.length;
    }
    responses.push(
      new ParsedResponseImpl(
        version,
        status,
        reason,
        headers,
        trailers,
        framing,
        body,
        rawHead,
      ),
    );
  }
  return responses;
}

/** fail throws the SyntaxError for malformed input to {@linkcode parseResponses}. */
function fail(where: string, detail: string): never {
  throw new SyntaxError(`Cannot parse ${where}: ${detail}`);
}

/** readLine returns the latin1 text before the next CRLF at or after `pos`. */
function readLine(
  bytes: Uint8Array,
  pos: number,
  where: string,
): { text: string; next: number } {
  const lf = bytes.indexOf(0x0a, pos);
  if (lf === -1) fail(where, "input ends in the middle of a line");
  if (lf === pos || bytes[lf - 1] !== 0x0d) fail(where, "line ends in a bare LF");
  const text = decode(bytes.subarray(pos, lf - 1));
  if (text.includes("\r")) fail(where, "bare CR inside a line");
  return { text, next: lf + 1 };
}

/** readFields reads header (or trailer) fields up to and including the empty line. */
function readFields(
  bytes: Uint8Array,
  pos: number,
  where: string,
): { fields: (readonly [string, string])[]; next: number } {
  const fields: (readonly [string, string])[] = [];
  for (;;) {
    const line = readLine(bytes, pos, where);
    pos = line.next;
    if (line.text === "") return { fields, next: pos };
    if (line.text[0] === " " || line.text[0] === "\t") {
      fail(where, `obsolete line folding in "${line.text}"`); // RFC 9112 §5.2
    }
    const colon = line.text.indexOf(":");
    const name = colon === -1 ? "" : line.text.slice(0, colon);
    if (!TOKEN.test(name)) fail(where, `invalid header field "${line.text}"`);
    const value = line.text.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!FIELD_VALUE.test(value)) fail(where, `invalid value for header "${name}"`);
    fields.push([name.toLowerCase(), value]);
  }
}

/** readChunked decodes a chunked body (RFC 9112 §7.1) starting at `pos`. */
function readChunked(
  bytes: Uint8Array,
  pos: number,
  where: string,
): { body: Uint8Array; trailers: (readonly [string, string])[]; next: number } {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const line = readLine(bytes, pos, where);
    pos = line.next;
    const match = CHUNK_LINE.exec(line.text);
    const digits = match?.[1];
    if (digits === undefined) fail(where, `invalid chunk-size line "${line.text}"`);
    if (digits.length > MAX_CHUNK_SIZE_DIGITS) fail(where, `chunk size "${digits}" is too large`);
    const size = parseInt(digits, 16);
    if (size === 0) {
      const trailer = readFields(bytes, pos, where);
      return { body: concat(chunks), trailers: trailer.fields, next: trailer.next };
    }
    if (pos + size + 2 > bytes.length) fail(where, "input ends inside a chunk");
    chunks.push(bytes.slice(pos, pos + size));
    pos += size;
    if (bytes[pos] !== 0x0d || bytes[pos + 1] !== 0x0a) {
      fail(where, "chunk data not followed by CRLF");
    }
    pos += 2;
  }
}
