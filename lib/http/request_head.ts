/**
 * request_head.ts — ③ the request-head parser: bytes in, verdict out.
 *
 * It never touches a socket. `connection.ts` owns the buffer and the reads,
 * and calls its {@linkcode HeadParser} each time more bytes arrive; the
 * verdict is the same however the bytes were split. {@linkcode parseRequestHead}
 * is pure; the parser object adds memory of what it saw, never a different
 * verdict.
 *
 * The grammar is RFC 9112 §2–§7 read strictly: CRLF line endings only, one
 * space between the parts of the request line, token field names with the
 * colon right after them, no obs-fold, and framing headers (Content-Length,
 * Transfer-Encoding) that admit exactly one reading. Anything a lenient
 * parser and a strict one could read differently is a 400 and a closed
 * connection, because that disagreement is what request smuggling feeds on.
 */

import { HttpError } from "./http_error.ts";

/** HeadLimits bounds one request head; every limit is enforced while bytes arrive, not after. */
export interface HeadLimits {
  /** Request line, without CRLF, in bytes. Past it: 414. */
  maxRequestLineBytes: number;
  /** Whole head (request line, fields, CRLFs) in bytes. Past it: 431. */
  maxHeadBytes: number;
  /** Number of header fields. Past it: 431. */
  maxHeaderCount: number;
}

/** DEFAULT_HEAD_LIMITS are the limits used when the caller names none. */
export const DEFAULT_HEAD_LIMITS: Readonly<HeadLimits> = {
  /** 8 KiB: room for an 8,000-octet URI, as RFC 9112 §3 recommends at least. */
  maxRequestLineBytes: 8 * 1024,
  /** 32 KiB for the whole head. */
  maxHeadBytes: 32 * 1024,
  /** 100 fields, far above what browsers send (about 20). */
  maxHeaderCount: 100,
};

/** Framing says how the request's body is delimited (RFC 9112 §6.3). */
export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" };

/** RequestHead is a parsed and validated request line plus header section. */
export interface RequestHead {
  /** The method, case-sensitive, as sent (RFC 9110 §9.1). */
  method: string;
  /** The request-target as sent: origin-, absolute-, authority- or asterisk-form. */
  target: string;
  /** The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1 (and higher 1.x, RFC 9110 §6.2). */
  minor: 0 | 1;
  /** Header fields in arrival order: names as sent, values without surrounding whitespace. */
  headers: [string, string][];
  /** host[:port] from the absolute-form target or else the Host field; "" when there is none. */
  authority: string;
  /** How the body is delimited. */
  framing: Framing;
  /** Whether the client allows the connection to stay open after this exchange. */
  keepAlive: boolean;
  /** Whether the client sent `Expect: 100-continue` on HTTP/1.1 and waits before sending its body. */
  expectContinue: boolean;
}

/** HeadResult is the parser's verdict: more bytes needed, or a head and how many bytes it used. */
export type HeadResult =
  | { kind: "incomplete" }
  | { kind: "complete"; head: RequestHead; consumed: number };

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;

/** Empty lines tolerated before a request line (RFC 9112 §2.2 asks for at least one). */
const MAX_LEADING_EMPTY_LINES = 8;

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
//         / DIGIT / ALPHA                                             (RFC 9110 §5.6.2)
const TCHAR = byteClass((b) =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
  "!#$%&'*+-.^_`|~".includes(String.fromCharCode(b))
);
// field-value bytes: VCHAR, obs-text, SP and HTAB; never CR, LF, NUL, other
// controls or DEL (RFC 9110 §5.5).
const FIELD_VALUE = byteClass((b) => b === HTAB || (b >= 0x20 && b !== 0x7f));
// request-target bytes: visible ASCII except "\" (never valid in a URI, and
// WHATWG URL parsing would turn it into "/") and "#" (a fragment is never
// sent, RFC 9112 §3.2).
const TARGET = byteClass((b) => b > 0x20 && b < 0x7f && b !== 0x5c && b !== 0x23);
// Bytes that may appear in a request line at all, used to reject binary
// garbage (a TLS ClientHello, say) before its line is complete.
const LINE = byteClass((b) => b >= 0x20 && b < 0x7f);

function byteClass(test: (b: number) => boolean): Uint8Array {
  const table = new Uint8Array(256);
  for (let b = 0; b < 256; b++) table[b] = test(b) ? 1 : 0;
  return table;
}

/**
 * parseRequestHead parses the request head at the start of `buf`. It returns
 * `incomplete` when more bytes are needed, `complete` with the head and the
 * number of bytes it used, or throws an {@linkcode HttpError} (400, 414, 431,
 * 417, 501 or 505) after which the connection must be closed.
 */
export function parseRequestHead(
  buf: Uint8Array,
  limits: HeadLimits = DEFAULT_HEAD_LIMITS,
): HeadResult {
  const result = parseHead(buf, limits, undefined);
  if (result.kind === "incomplete") return result;
  return { kind: "complete", head: result.head, consumed: result.consumed };
}

/**
 * HostMemo remembers the last Host value found valid: clients repeat one
 * Host, and its pattern is the dearest check of a head. A
 * {@linkcode HeadParser} owns one; the verdict is the same without it.
 */
interface HostMemo {
  validHost: string;
}

/** Parsed is a verdict, and for a whole head of ASCII only also its bytes as a string. */
type Parsed = { kind: "incomplete" } | {
  kind: "complete";
  head: RequestHead;
  consumed: number;
  text: string | undefined;
};

/** parseHead is {@linkcode parseRequestHead}, skipping the Host pattern for the value `hosts` remembers. */
function parseHead(buf: Uint8Array, limits: HeadLimits, hosts: HostMemo | undefined): Parsed {
  // RFC 9112 §2.2: ignore empty lines received before the request line.
  let pos = 0;
  for (let i = 0; i < MAX_LEADING_EMPTY_LINES && buf[pos] === CR; i++) {
    if (pos + 1 >= buf.length) return { kind: "incomplete" };
    if (buf[pos + 1] !== LF) throw badRequest();
    pos += 2;
  }

  // Each check runs on the bytes received so far, and the first offending
  // byte decides: a NUL before a limit is crossed is a 400 whether or not
  // the rest of the line has arrived, so the verdict never depends on how
  // the bytes were split.
  const max = limits.maxRequestLineBytes;
  const lineEnd = buf.indexOf(LF, pos);
  const lineStop = lineEnd === -1 ? buf.length : lineEnd;
  checkRequestLineBytes(buf, pos, Math.min(lineStop, pos + max + 1), lineStop);
  if (lineStop - pos > max + 1) throw new HttpError(414, undefined, CLOSE); // + 1: the CR
  if (lineEnd === -1) return { kind: "incomplete" };
  const line = requestLine(buf, pos, lineEnd);

  // Field names and values as offsets (name start, name end, value start,
  // value end), made strings only once the head is whole (see headText).
  const spans: number[] = [];
  let high = 0;
  pos = lineEnd + 1;
  for (;;) {
    if (pos === buf.length) return { kind: "incomplete" };
    if (buf[pos] === CR) {
      if (pos + 1 === buf.length) return { kind: "incomplete" };
      if (buf[pos + 1] !== LF) throw badRequest(); // bare CR
      if (pos + 2 > limits.maxHeadBytes) throw tooLarge();
      // Every name and value is a slice of the head's text: a tenth of the
      // cost of decoding each apart. Header bytes are octets, one character
      // each (RFC 9110 §5.5): a head of ASCII only (`high`, the OR of the
      // values' bytes, below 0x80; the request line and the names are ASCII
      // by their grammar), as browsers send, is decoded natively, one with
      // obs-text by latin1.
      const isAscii = high < 0x80;
      const whole = isAscii ? utf8.decode(buf.subarray(0, pos + 2)) : latin1(buf, 0, pos + 2);
      const headers: [string, string][] = new Array(spans.length / 4);
      for (let k = 0, f = 0; k < spans.length; k += 4, f++) {
        headers[f] = [
          whole.slice(spans[k]!, spans[k + 1]!),
          whole.slice(spans[k + 2]!, spans[k + 3]!),
        ];
      }
      const parts: RequestLine = {
        method: whole.slice(line.methodStart, line.methodEnd),
        target: whole.slice(line.targetStart, line.targetEnd),
        minor: line.minor,
      };
      const head = interpret(parts, headers, hosts);
      return { kind: "complete", head, consumed: pos + 2, text: isAscii ? whole : undefined };
    }
    if (spans.length === limits.maxHeaderCount * 4) throw tooLarge();
    const lf = buf.indexOf(LF, pos);
    if (lf === -1 || lf + 1 > limits.maxHeadBytes) {
      // A line not yet whole, or past the limit: its first bad byte
      // decides, as it will once the rest arrives.
      const stop = lf === -1 ? buf.length : lf;
      checkFieldBytes(buf, pos, Math.min(stop, limits.maxHeadBytes), stop);
      if (lf === -1 && stop + 1 <= limits.maxHeadBytes) return { kind: "incomplete" };
      throw tooLarge();
    }
    // A whole line within the limit: fieldSpans's checks are stricter than
    // checkFieldBytes's, and every failure of either is the same 400.
    if (buf[lf - 1] !== CR) throw badRequest(); // bare LF (RFC 9112 §2.2)
    high |= fieldSpans(buf, pos, lf - 1, spans);
    pos = lf + 1;
  }
}

/** utf8 decodes ASCII heads (and keeps a BOM as U+FEFF, so no byte is dropped). */
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** MAX_REMEMBERED_HEAD_BYTES: a {@linkcode HeadParser} remembers heads up to this size (2 KiB). */
export const MAX_REMEMBERED_HEAD_BYTES = 2048;

/**
 * HeadParser is {@linkcode parseRequestHead} for one connection, remembering
 * the last head it parsed, the last Host it found valid, and the last head
 * any connection parsed. A client
 * sends the same head again and again (a browser revalidating, a player
 * asking for the same range, a load test; a new connection often starts with
 * the head the last one sent), and the parse is pure: the same bytes give
 * the same verdict. So bytes equal to a remembered head get the same head
 * object back after one comparison, with no new strings. Heads are
 * therefore never changed after parsing.
 */
export class HeadParser {
  #last: Remembered | undefined;
  #limits: HeadLimits;
  /** Made at the first parse not answered from memory: a connection that only repeats a head needs none. */
  #hosts: HostMemo | undefined;

  /** Creates a parser for heads within `limits`. */
  constructor(limits: HeadLimits = DEFAULT_HEAD_LIMITS) {
    this.#limits = limits;
  }

  /** parse is parseRequestHead(buf, limits), answered from memory when `buf` starts with a remembered head. */
  parse(buf: Uint8Array): HeadResult {
    const own = this.#last;
    if (own !== undefined && startsWith(buf, own.text)) {
      return { kind: "complete", head: own.head, consumed: own.text.length };
    }
    const shared = lastParsed;
    if (shared !== undefined && shared.limits === this.#limits && startsWith(buf, shared.text)) {
      this.#last = shared;
      return { kind: "complete", head: shared.head, consumed: shared.text.length };
    }
    const result = parseHead(buf, this.#limits, this.#hosts ??= { validHost: "" });
    if (result.kind === "incomplete") return result;
    const { head, consumed, text } = result;
    if (text !== undefined && consumed <= MAX_REMEMBERED_HEAD_BYTES) {
      this.#last = lastParsed = { text, head, limits: this.#limits };
    }
    return { kind: "complete", head, consumed };
  }
}

/** A head and the bytes it was parsed from, under these limits. */
interface Remembered {
  /** The head's bytes, ASCII, one character each (a string: no buffer to allocate). */
  text: string;
  head: RequestHead;
  limits: HeadLimits;
}

/** The head any connection parsed last. */
let lastParsed: Remembered | undefined;

/**
 * startsWith tells whether `buf` begins with the bytes of `prefix`, an
 * ASCII string (the text of a remembered head). It decodes that many bytes
 * natively and compares strings, four times faster than comparing byte by
 * character: UTF-8 decoding makes ASCII bytes the same characters and any
 * other byte something outside ASCII, so the strings are equal exactly when
 * the bytes are.
 */
function startsWith(buf: Uint8Array, prefix: string): boolean {
  const n = prefix.length;
  if (buf.length < n || buf[n - 1] !== LF || buf[0] !== prefix.charCodeAt(0)) return false;
  return utf8.decode(buf.subarray(0, n)) === prefix;
}

const CLOSE = { close: true } as const;

function badRequest(): HttpError {
  return new HttpError(400, "Bad Request", CLOSE);
}

function tooLarge(): HttpError {
  return new HttpError(431, undefined, CLOSE);
}

/**
 * Rejects request-line bytes in [start, end) that can never be valid: the
 * method is a token, and the line holds only printable ASCII and spaces.
 * `stop` is where the line ends (its LF, or the end of what arrived): a CR
 * is allowed only just before it. Binary garbage such as a TLS ClientHello
 * fails here on its first byte, without waiting for a line end.
 */
function checkRequestLineBytes(buf: Uint8Array, start: number, end: number, stop: number) {
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (LINE[b] === 0 && !(b === CR && i === stop - 1)) throw badRequest();
  }
  if (end > start && buf[start] === SP) throw badRequest();
  for (let i = start; i < end && buf[i] !== SP; i++) {
    if (TCHAR[buf[i]!] === 0 && !(buf[i] === CR && i === stop - 1)) throw badRequest();
  }
}

/**
 * Rejects field-line bytes in [start, end) that can never be valid: NUL,
 * and CR anywhere but just before the line's end at `stop`.
 */
function checkFieldBytes(buf: Uint8Array, start: number, end: number, stop: number) {
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b === 0 || (b === CR && i !== stop - 1)) throw badRequest();
  }
}

interface RequestLine {
  method: string;
  target: string;
  minor: 0 | 1;
}

/** LineSpans is a valid request line as offsets into the buffer, and its version. */
interface LineSpans {
  methodStart: number;
  methodEnd: number;
  targetStart: number;
  targetEnd: number;
  minor: 0 | 1;
}

/** requestLine checks `method SP request-target SP HTTP-version` ending in CRLF at `lf` (RFC 9112 §3). */
function requestLine(buf: Uint8Array, start: number, lf: number): LineSpans {
  const end = lf - 1;
  if (end < start || buf[end] !== CR) throw badRequest();

  let i = start;
  while (i < end && TCHAR[buf[i]!] === 1) i++;
  if (i === start || buf[i] !== SP) throw badRequest();
  const methodEnd = i;

  const targetStart = ++i;
  while (i < end && TARGET[buf[i]!] === 1) i++;
  if (i === targetStart || buf[i] !== SP) throw badRequest();

  return {
    methodStart: start,
    methodEnd,
    targetStart,
    targetEnd: i,
    minor: version(buf, i + 1, end),
  };
}

/** version reads `HTTP/x.y` exactly; 1.0 and 1.x are served, any other well-formed version is 505. */
function version(buf: Uint8Array, start: number, end: number): 0 | 1 {
  const d = (k: number) => buf[start + k]! - 0x30;
  const isDigit = (k: number) => d(k) >= 0 && d(k) <= 9;
  if (
    end - start !== 8 || buf[start] !== 0x48 || buf[start + 1] !== 0x54 ||
    buf[start + 2] !== 0x54 || buf[start + 3] !== 0x50 || buf[start + 4] !== 0x2f ||
    !isDigit(5) || buf[start + 6] !== 0x2e || !isDigit(7)
  ) {
    throw badRequest();
  }
  // RFC 9110 §6.2: a higher minor version of HTTP/1 is answered as 1.1.
  if (d(5) !== 1) throw new HttpError(505, undefined, CLOSE);
  return d(7) === 0 ? 0 : 1;
}

/**
 * parseField parses one field line `field-name ":" OWS field-value OWS`
 * (RFC 9112 §5), the bytes from `start` up to the CR at `end`. Throws a 400
 * {@linkcode HttpError} for anything else. Trailer fields use it too.
 */
export function parseField(buf: Uint8Array, start: number, end: number): [string, string] {
  const spans: number[] = [];
  fieldSpans(buf, start, end, spans);
  return [latin1(buf, spans[0]!, spans[1]!), latin1(buf, spans[2]!, spans[3]!)];
}

/**
 * fieldSpans checks one field line as {@linkcode parseField} does and pushes
 * its name's and value's offsets (start, end, start, end) onto `spans`.
 * Returns the OR of the value's bytes: 0x80 or more when it holds obs-text.
 */
function fieldSpans(buf: Uint8Array, start: number, end: number, spans: number[]): number {
  let i = start;
  while (i < end && TCHAR[buf[i]!] === 1) i++;
  // An empty name covers obs-fold and whitespace lines (RFC 9112 §5.2); a
  // non-colon here covers whitespace before the colon (§5.1).
  if (i === start || buf[i] !== COLON) throw badRequest();
  let valueStart = i + 1;
  let valueEnd = end;
  while (valueStart < valueEnd && (buf[valueStart] === SP || buf[valueStart] === HTAB)) {
    valueStart++;
  }
  while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) {
    valueEnd--;
  }
  let high = 0;
  for (let k = valueStart; k < valueEnd; k++) {
    const b = buf[k]!;
    if (FIELD_VALUE[b] === 0) throw badRequest();
    high |= b;
  }
  spans.push(start, i, valueStart, valueEnd);
  return high;
}

/** latin1 decodes bytes one to one into a string: header bytes are octets, not UTF-8 (RFC 9110 §5.5). */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(
      null,
      buf.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
    );
  }
  return s;
}

/** interpret applies the message-level rules: forms of target, Host, framing, persistence, Expect. */
function interpret(
  line: RequestLine,
  headers: [string, string][],
  hosts: HostMemo | undefined,
): RequestHead {
  let host: string | undefined;
  let hostCount = 0;
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let connection = "";
  let expect: string | undefined;
  for (const [name, value] of headers) {
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "host") (host = value, hostCount++);
        break;
      case 6:
        if (name.toLowerCase() === "expect") {
          expect = expect === undefined ? value : `${expect}, ${value}`;
        }
        break;
      case 10:
        if (name.toLowerCase() === "connection") connection += `,${value}`;
        break;
      case 14:
        if (name.toLowerCase() === "content-length") {
          // Two Content-Length fields, even equal ones, are refused: a list
          // is where parsers disagree (RFC 9112 §6.3 item 5).
          if (contentLength !== undefined) throw badRequest();
          contentLength = value;
        }
        break;
      case 17:
        if (name.toLowerCase() === "transfer-encoding") {
          transferEncoding = transferEncoding === undefined
            ? value
            : `${transferEncoding}, ${value}`;
        }
        break;
    }
  }

  const { method, target, minor } = line;
  // RFC 9112 §3.2: HTTP/1.1 requires exactly one Host, and a valid one.
  if (hostCount > 1 || (minor === 1 && hostCount === 0)) throw badRequest();
  if (host !== undefined && host !== "" && host !== hosts?.validHost) {
    if (!isAuthority(host)) throw badRequest();
    if (hosts !== undefined) hosts.validHost = host; // skip the pattern next time
  }
  const authority = requestAuthority(method, target, host);
  const framing = bodyFraming(minor, contentLength, transferEncoding);

  const tokens = connection.toLowerCase().split(",").map(trimOws);
  const keepAlive = tokens.includes("close") ? false : minor === 1 || tokens.includes("keep-alive");

  let expectContinue = false;
  if (expect !== undefined && minor === 1) {
    // RFC 9110 §10.1.1: 100-continue is the only expectation defined; any
    // other gets 417. HTTP/1.0 clients cannot expect, so theirs is ignored.
    if (expect.toLowerCase() !== "100-continue") throw new HttpError(417, undefined, CLOSE);
    expectContinue = framing.kind !== "none";
  }

  return { method, target, minor, headers, authority, framing, keepAlive, expectContinue };
}

/** trimOws removes optional whitespace (SP, HTAB) only: String.trim would also eat NBSP and friends. */
function trimOws(s: string): string {
  return s.replace(/^[ \t]+|[ \t]+$/g, "");
}

/** requestAuthority checks the target's form against the method, and picks the authority: the target's or Host's (RFC 9112 §3.2). */
function requestAuthority(method: string, target: string, host: string | undefined): string {
  if (target.charCodeAt(0) === 0x2f) return host ?? ""; // origin-form: "/…"
  if (target === "*") {
    if (method !== "OPTIONS") throw badRequest(); // asterisk-form (§3.2.4)
    return host ?? "";
  }
  if (method === "CONNECT") {
    // authority-form is uri-host ":" port, the port required (§3.2.3).
    if (!isAuthority(target) || !/:[0-9]+$/.test(target)) throw badRequest();
    return target;
  }
  // absolute-form (§3.2.2): its authority overrides Host.
  const match = /^https?:\/\/([^/?]*)/i.exec(target);
  if (match === null || !isAuthority(match[1]!)) throw badRequest();
  return match[1]!;
}

// uri-host [ ":" port ] (RFC 3986 §3.2.2): an IP literal in brackets, or a
// reg-name / IPv4 of unreserved, sub-delims and pct-encoded; no userinfo.
const AUTHORITY =
  /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)(?::[0-9]{0,5})?$/;

function isAuthority(value: string): boolean {
  return AUTHORITY.test(value);
}

/** Content-Length values longer than this are refused rather than risk precision loss. */
const MAX_CONTENT_LENGTH_DIGITS = 15;

/** bodyFraming decides how the body is delimited (RFC 9112 §6.1–§6.3). */
function bodyFraming(
  minor: 0 | 1,
  contentLength: string | undefined,
  transferEncoding: string | undefined,
): Framing {
  if (transferEncoding !== undefined) {
    // §6.1: Transfer-Encoding in HTTP/1.0, or beside Content-Length, means
    // faulty framing: refuse and close rather than guess.
    if (minor === 0 || contentLength !== undefined) throw badRequest();
    // RFC 9110 §5.6.1.2: empty list elements are ignored.
    const codings = transferEncoding.split(",").map((c) => trimOws(c).toLowerCase())
      .filter((c) => c !== "");
    const last = codings.pop();
    // §6.3 item 4: chunked must be the final coding, and appear once.
    if (last !== "chunked" || codings.includes("chunked")) throw badRequest();
    if (codings.length > 0) throw new HttpError(501, "Transfer coding not supported", CLOSE);
    return { kind: "chunked" };
  }
  if (contentLength !== undefined) {
    if (!/^[0-9]+$/.test(contentLength)) throw new HttpError(400, "Invalid Content-Length", CLOSE);
    const digits = contentLength.replace(/^0+(?=.)/, "");
    if (digits.length > MAX_CONTENT_LENGTH_DIGITS) throw new HttpError(413, undefined, CLOSE);
    const length = Number(digits);
    return length === 0 ? { kind: "none" } : { kind: "length", length };
  }
  return { kind: "none" };
}
