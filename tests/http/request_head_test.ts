/**
 * request_head_test.ts — the request-head parser against a table of raw
 * requests (style rule 5), each fed at every split (rule 6).
 *
 * A case names its bytes with `\r\n` written out and expects either a head
 * (`want`), an error status (`status`), or neither (the bytes stay
 * incomplete). Every case is replayed as the connection does it: after each
 * part arrives, the whole accumulated prefix is parsed again. The parser
 * must say "incomplete" until it can decide, and then decide the same way
 * however the bytes were cut.
 */

import assert from "node:assert/strict";
import { HttpError } from "../../lib/http/http_error.ts";
import {
  DEFAULT_HEAD_LIMITS,
  type Framing,
  HeadParser,
  type HeadResult,
  MAX_REMEMBERED_HEAD_BYTES,
  parseRequestHead,
  type RequestHead,
} from "../../lib/http/request_head.ts";
import { concat, encode, everySplit } from "../_support/bytes.ts";

/** WantHead is the head a case expects; `headers` is compared only when given. */
interface WantHead {
  method: string;
  target: string;
  minor: 0 | 1;
  authority: string;
  framing: Framing;
  keepAlive: boolean;
  expectContinue: boolean;
  headers?: [string, string][];
}

/**
 * HeadCase is one row of the table. `raw` is the head (or the prefix of one);
 * `after` is what follows it on the wire (a body or a pipelined request) and
 * must not be consumed. With `want`, parsing succeeds with `consumed` equal to
 * `raw.length`; with `status`, it throws an HttpError with that status; with
 * neither, the bytes are still incomplete.
 */
interface HeadCase {
  name: string;
  raw: string;
  after?: string;
  want?: WantHead;
  status?: number;
}

/** Verdict is what the parser said, in a form `deepEqual` can compare. */
type Verdict =
  | { kind: "incomplete" }
  | { kind: "complete"; head: WantHead; consumed: number }
  | { kind: "error"; status: number };

const { maxRequestLineBytes, maxHeadBytes, maxHeaderCount } = DEFAULT_HEAD_LIMITS;

const NONE: Framing = { kind: "none" };
const CHUNKED: Framing = { kind: "chunked" };
function length(n: number): Framing {
  return { kind: "length", length: n };
}

/** The head of `GET / HTTP/1.1` with `Host: a`; rows override what differs. */
const GET: WantHead = {
  method: "GET",
  target: "/",
  minor: 1,
  authority: "a",
  framing: NONE,
  keepAlive: true,
  expectContinue: false,
};
/** The same request as HTTP/1.0, which closes by default (RFC 9112 §9.3). */
const GET10: WantHead = { ...GET, minor: 0, keepAlive: false };

/** requestLine builds `GET /aaa… HTTP/1.1` exactly `bytes` long, CRLF not counted. */
function requestLine(bytes: number): string {
  return `GET /${"a".repeat(bytes - "GET / HTTP/1.1".length)} HTTP/1.1`;
}

const FILL_PREFIX = "GET / HTTP/1.1\r\nHost: a\r\nX-Fill: ";
/** headOfSize builds a complete head exactly `bytes` long, padded by one X-Fill field. */
function headOfSize(bytes: number): string {
  return `${FILL_PREFIX}${"a".repeat(bytes - FILL_PREFIX.length - 4)}\r\n\r\n`;
}

/** fields builds `count` field lines, Host first, each ending in CRLF. */
function fields(count: number): string {
  let out = "Host: a\r\n";
  for (let i = 1; i < count; i++) out += `X-${i}: ${i}\r\n`;
  return out;
}

/** post builds a POST head with Host and the given extra field lines (each ending in CRLF). */
function post(lines: string, version = "HTTP/1.1"): string {
  return `POST / ${version}\r\n${version === "HTTP/1.1" ? "Host: a\r\n" : ""}${lines}\r\n`;
}
const POST: WantHead = { ...GET, method: "POST" };
const POST10: WantHead = { ...GET10, method: "POST", authority: "" };

const CASES: HeadCase[] = [
  // Request line (RFC 9112 §3).
  {
    name: "minimal GET",
    raw: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    want: { ...GET, headers: [["Host", "a"]] },
  },
  {
    name: "HTTP/1.0 without Host",
    raw: "GET / HTTP/1.0\r\n\r\n",
    want: { ...GET10, authority: "", headers: [] },
  },
  {
    name: "origin-form with a query",
    raw: "GET /a/b?c=d&e HTTP/1.1\r\nHost: a\r\n\r\n",
    want: { ...GET, target: "/a/b?c=d&e" },
  },
  {
    name: "percent-encoded target is kept as sent",
    raw: "GET /caf%C3%A9%00%2F HTTP/1.1\r\nHost: a\r\n\r\n",
    want: { ...GET, target: "/caf%C3%A9%00%2F" },
  },
  {
    name: "method is case-sensitive and kept as sent",
    raw: "get / HTTP/1.1\r\nHost: a\r\n\r\n",
    want: { ...GET, method: "get" },
  },
  {
    name: "extension method",
    raw: "PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n",
    want: { ...GET, method: "PURGE", target: "/x" },
  },
  {
    name: "method with a non-token character",
    raw: "G@T / HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    name: "absolute-form: its authority overrides Host",
    raw: "GET http://example.com:8080/x?y HTTP/1.1\r\nHost: other\r\n\r\n",
    want: { ...GET, target: "http://example.com:8080/x?y", authority: "example.com:8080" },
  },
  {
    name: "absolute-form with an uppercase scheme",
    raw: "GET HTTP://Example.COM/ HTTP/1.1\r\nHost: a\r\n\r\n",
    want: { ...GET, target: "HTTP://Example.COM/", authority: "Example.COM" },
  },
  {
    name: "absolute-form https with an IPv6 literal",
    raw: "GET https://[::1]:8443/p HTTP/1.1\r\nHost: a\r\n\r\n",
    want: { ...GET, target: "https://[::1]:8443/p", authority: "[::1]:8443" },
  },
  {
    name: "absolute-form without a path",
    raw: "GET http://example.com HTTP/1.1\r\nHost: a\r\n\r\n",
    want: { ...GET, target: "http://example.com", authority: "example.com" },
  },
  {
    name: "absolute-form on HTTP/1.0 without Host",
    raw: "GET http://example.com/ HTTP/1.0\r\n\r\n",
    want: { ...GET10, target: "http://example.com/", authority: "example.com" },
  },
  {
    name: "absolute-form still needs Host on HTTP/1.1",
    raw: "GET http://example.com/ HTTP/1.1\r\n\r\n",
    status: 400,
  },
  {
    name: "absolute-form with userinfo",
    raw: "GET http://u:p@example.com/ HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    name: "absolute-form with an empty host",
    raw: "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    name: "absolute-form with a scheme other than http(s)",
    raw: "GET ftp://example.com/ HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    name: "target that is only a query",
    raw: "GET ?a=b HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    name: "asterisk-form with OPTIONS",
    raw: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    want: { ...GET, method: "OPTIONS", target: "*" },
  },
  {
    name: "asterisk-form with GET",
    raw: "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    name: "authority-form with CONNECT",
    raw: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    want: {
      ...GET,
      method: "CONNECT",
      target: "example.com:443",
      authority: "example.com:443",
    },
  },
  {
    name: "authority-form with GET",
    raw: "GET example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    // RFC 9112 §3.2.3: authority-form = uri-host ":" port; the port is not optional.
    name: "authority-form without a port",
    raw: "CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
    status: 400,
  },
  {
    name: "authority-form with userinfo",
    raw: "CONNECT u@example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    // RFC 9112 §2.2: empty lines before the request line are ignored.
    name: "leading CRLFs before the request line",
    raw: "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    want: GET,
  },
  {
    name: "leading space before the method",
    raw: " GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    name: "leading bare LF",
    raw: "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    name: "leading CR without LF",
    raw: "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },

  // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3).
  { name: "version HTTP/1.10", raw: "GET / HTTP/1.10\r\nHost: a\r\n\r\n", status: 400 },
  { name: "version HTTP/01.1", raw: "GET / HTTP/01.1\r\nHost: a\r\n\r\n", status: 400 },
  { name: "lowercase version", raw: "GET / http/1.1\r\nHost: a\r\n\r\n", status: 400 },
  { name: "version without minor", raw: "GET / HTTP/1\r\nHost: a\r\n\r\n", status: 400 },
  { name: "version HTTP/2.0", raw: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", status: 505 },
  { name: "version HTTP/9.9", raw: "GET / HTTP/9.9\r\nHost: a\r\n\r\n", status: 505 },
  { name: "version HTTP/0.9", raw: "GET / HTTP/0.9\r\n\r\n", status: 505 },
  {
    // RFC 9110 §6.2: a higher minor version of 1.x is served as 1.1.
    name: "version HTTP/1.2 is served as 1.1",
    raw: "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
    want: GET,
  },
  { name: "HTTP/0.9 request without a version", raw: "GET /\r\n", status: 400 },
  { name: "space after the version", raw: "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", status: 400 },

  // One SP between the three parts (RFC 9112 §3).
  { name: "tab after the method", raw: "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400 },
  { name: "tab before the version", raw: "GET /\tHTTP/1.1\r\nHost: a\r\n\r\n", status: 400 },
  { name: "two spaces after the method", raw: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400 },
  {
    name: "two spaces before the version",
    raw: "GET /  HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  { name: "missing target", raw: "GET HTTP/1.1\r\nHost: a\r\n\r\n", status: 400 },
  { name: "method alone", raw: "GET\r\nHost: a\r\n\r\n", status: 400 },

  // CRLF only (RFC 9112 §2.2).
  { name: "bare LF after the request line", raw: "GET / HTTP/1.1\nHost: a\r\n\r\n", status: 400 },
  { name: "bare LF after a field", raw: "GET / HTTP/1.1\r\nHost: a\n\r\n", status: 400 },
  { name: "bare LF as the empty line", raw: "GET / HTTP/1.1\r\nHost: a\r\n\n", status: 400 },
  { name: "bare LF line endings throughout", raw: "GET / HTTP/1.1\nHost: a\n\n", status: 400 },
  { name: "bare CR in the target", raw: "GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", status: 400 },
  {
    name: "bare CR in a field value",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n",
    status: 400,
  },
  {
    name: "bare CR ending the request line",
    raw: "GET / HTTP/1.1\rHost: a\r\n\r\n",
    status: 400,
  },
  { name: "CR CR LF after a field", raw: "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", status: 400 },
  {
    name: "CR CR LF as the empty line",
    raw: "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n",
    status: 400,
  },
  {
    name: "CR CR LF after the request line",
    raw: "GET / HTTP/1.1\r\r\nHost: a\r\n\r\n",
    status: 400,
  },

  // request-target bytes (RFC 9112 §3.2, RFC 3986).
  { name: "NUL in the target", raw: "GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400 },
  { name: "DEL in the target", raw: "GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n", status: 400 },
  {
    name: "non-ASCII byte in the target",
    raw: "GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    name: "raw backslash in the target",
    raw: "GET /a\\b HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  { name: "'#' in the target", raw: "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400 },

  // Field lines (RFC 9112 §5, RFC 9110 §5.5).
  {
    name: "NUL in a field value",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n",
    status: 400,
  },
  {
    name: "NUL in a field name",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nX\x00A: b\r\n\r\n",
    status: 400,
  },
  {
    name: "control character in a field value",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01c\r\n\r\n",
    status: 400,
  },
  {
    name: "DEL in a field value",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7fc\r\n\r\n",
    status: 400,
  },
  {
    name: "obs-fold with a space",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
    status: 400,
  },
  {
    name: "obs-fold with a tab",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n",
    status: 400,
  },
  {
    name: "whitespace line after the request line",
    raw: "GET / HTTP/1.1\r\n \r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    name: "whitespace-led field after the request line",
    raw: "GET / HTTP/1.1\r\n Host: a\r\nHost: a\r\n\r\n",
    status: 400,
  },
  { name: "space before the colon", raw: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", status: 400 },
  { name: "tab before the colon", raw: "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", status: 400 },
  { name: "empty field name", raw: "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", status: 400 },
  { name: "field without a colon", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n", status: 400 },
  {
    name: "'/' in a field name",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nX/A: b\r\n\r\n",
    status: 400,
  },
  {
    name: "'\"' in a field name",
    raw: 'GET / HTTP/1.1\r\nHost: a\r\nX"A: b\r\n\r\n',
    status: 400,
  },
  {
    name: "'[' in a field name",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nX[A]: b\r\n\r\n",
    status: 400,
  },
  {
    name: "obs-text in a field name",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nX\xffA: b\r\n\r\n",
    status: 400,
  },
  {
    name: "every tchar in a field name",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nX!#$%&'*+-.^_`|~09az: b\r\n\r\n",
    want: { ...GET, headers: [["Host", "a"], ["X!#$%&'*+-.^_`|~09az", "b"]] },
  },
  {
    name: "obs-text in a field value is kept, decoded as latin1",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9 \x80\xff\r\n\r\n",
    want: { ...GET, headers: [["Host", "a"], ["X-Name", "caf\xe9 \x80\xff"]] },
  },
  {
    name: "OWS around a value is trimmed, inner whitespace kept",
    raw: "GET / HTTP/1.1\r\nHost:\t a \r\nX-A: \t b \t c \t \r\n\r\n",
    want: { ...GET, headers: [["Host", "a"], ["X-A", "b \t c"]] },
  },
  {
    name: "empty field value",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A:\r\nX-B: \t \r\n\r\n",
    want: { ...GET, headers: [["Host", "a"], ["X-A", ""], ["X-B", ""]] },
  },
  {
    name: "field names keep their case and order",
    raw: "GET / HTTP/1.1\r\nx-MiXeD: 1\r\nhOsT: a\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n",
    want: {
      ...GET,
      headers: [["x-MiXeD", "1"], ["hOsT", "a"], ["X-Dup", "1"], ["x-dup", "2"]],
    },
  },

  // Host (RFC 9112 §3.2, RFC 9110 §7.2).
  { name: "HTTP/1.1 without Host", raw: "GET / HTTP/1.1\r\n\r\n", status: 400 },
  {
    name: "two Host fields",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    name: "two Host fields on HTTP/1.0",
    raw: "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n",
    status: 400,
  },
  { name: "Host with a slash", raw: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", status: 400 },
  { name: "Host with userinfo", raw: "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", status: 400 },
  { name: "Host with NUL", raw: "GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", status: 400 },
  { name: "Host with an inner space", raw: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", status: 400 },
  {
    name: "Host with a non-numeric port",
    raw: "GET / HTTP/1.1\r\nHost: a:http\r\n\r\n",
    status: 400,
  },
  { name: "IPv6 Host without brackets", raw: "GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", status: 400 },
  {
    name: "empty Host",
    raw: "GET / HTTP/1.1\r\nHost:\r\n\r\n",
    want: { ...GET, authority: "", headers: [["Host", ""]] },
  },
  {
    name: "Host with a port",
    raw: "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
    want: { ...GET, authority: "example.com:8080" },
  },
  {
    name: "IPv6 literal Host with a port",
    raw: "GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n",
    want: { ...GET, authority: "[2001:db8::1]:8080" },
  },

  // Content-Length (RFC 9110 §8.6, RFC 9112 §6.3).
  {
    name: "Content-Length body follows the head",
    raw: post("Content-Length: 5\r\n"),
    after: "hello",
    want: { ...POST, framing: length(5) },
  },
  {
    name: "Content-Length with leading zeros",
    raw: post("Content-Length: 007\r\n"),
    want: { ...POST, framing: length(7) },
  },
  {
    name: "Content-Length zero means no body",
    raw: post("Content-Length: 0\r\n"),
    want: POST,
  },
  {
    name: "Content-Length of several zeros",
    raw: post("Content-Length: 000\r\n"),
    want: POST,
  },
  {
    name: "Content-Length of 15 digits",
    raw: post("Content-Length: 999999999999999\r\n"),
    want: { ...POST, framing: length(999999999999999) },
  },
  {
    name: "Content-Length of 16 characters, mostly leading zeros",
    raw: post("Content-Length: 0000000000000005\r\n"),
    want: { ...POST, framing: length(5) },
  },
  // Past 15 significant digits the lib answers 413 rather than risk precision loss.
  {
    name: "Content-Length of 16 digits",
    raw: post("Content-Length: 1000000000000000\r\n"),
    status: 413,
  },
  { name: "Content-Length +5", raw: post("Content-Length: +5\r\n"), status: 400 },
  { name: "Content-Length -1", raw: post("Content-Length: -1\r\n"), status: 400 },
  { name: "Content-Length 5.0", raw: post("Content-Length: 5.0\r\n"), status: 400 },
  { name: "Content-Length 0x5", raw: post("Content-Length: 0x5\r\n"), status: 400 },
  { name: "Content-Length '5 5'", raw: post("Content-Length: 5 5\r\n"), status: 400 },
  { name: "Content-Length list 5,5", raw: post("Content-Length: 5,5\r\n"), status: 400 },
  { name: "Content-Length list '5, 5'", raw: post("Content-Length: 5, 5\r\n"), status: 400 },
  { name: "empty Content-Length", raw: post("Content-Length:\r\n"), status: 400 },
  {
    name: "two equal Content-Length fields",
    raw: post("Content-Length: 5\r\nContent-Length: 5\r\n"),
    status: 400,
  },
  {
    name: "two different Content-Length fields",
    raw: post("Content-Length: 3\r\ncontent-length: 4\r\n"),
    status: 400,
  },

  // Transfer-Encoding (RFC 9112 §6.1, §6.3).
  {
    name: "Transfer-Encoding chunked",
    raw: post("Transfer-Encoding: chunked\r\n"),
    after: "5\r\nhello\r\n0\r\n\r\n",
    want: { ...POST, framing: CHUNKED },
  },
  {
    name: "Transfer-Encoding is case-insensitive",
    raw: post("transfer-encoding: Chunked\r\n"),
    want: { ...POST, framing: CHUNKED },
  },
  {
    name: "Transfer-Encoding gzip, chunked",
    raw: post("Transfer-Encoding: gzip, chunked\r\n"),
    status: 501,
  },
  {
    name: "Transfer-Encoding gzip then chunked in two fields",
    raw: post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
    status: 501,
  },
  {
    name: "Transfer-Encoding chunked, gzip",
    raw: post("Transfer-Encoding: chunked, gzip\r\n"),
    status: 400,
  },
  { name: "Transfer-Encoding identity", raw: post("Transfer-Encoding: identity\r\n"), status: 400 },
  { name: "Transfer-Encoding xchunked", raw: post("Transfer-Encoding: xchunked\r\n"), status: 400 },
  { name: "empty Transfer-Encoding", raw: post("Transfer-Encoding:\r\n"), status: 400 },
  {
    name: "chunked twice in one field",
    raw: post("Transfer-Encoding: chunked, chunked\r\n"),
    status: 400,
  },
  {
    name: "chunked twice in two fields",
    raw: post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
    status: 400,
  },
  {
    // RFC 9110 §5.6.1.2: a recipient MUST parse and ignore empty list elements.
    name: "Transfer-Encoding with a trailing empty list element",
    raw: post("Transfer-Encoding: chunked, \r\n"),
    want: { ...POST, framing: CHUNKED },
  },
  {
    // RFC 9110 §5.6.1.2, as above.
    name: "Transfer-Encoding with a leading empty list element",
    raw: post("Transfer-Encoding: , chunked\r\n"),
    want: { ...POST, framing: CHUNKED },
  },
  {
    name: "Transfer-Encoding beside Content-Length",
    raw: post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
    status: 400,
  },
  {
    name: "Content-Length before Transfer-Encoding",
    raw: post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
    status: 400,
  },
  {
    name: "Transfer-Encoding on HTTP/1.0",
    raw: post("Transfer-Encoding: chunked\r\n", "HTTP/1.0"),
    status: 400,
  },

  // Connection (RFC 9112 §9.3).
  {
    name: "Connection close",
    raw: post("Connection: close\r\n"),
    want: { ...POST, keepAlive: false },
  },
  {
    name: "Connection keep-alive, close",
    raw: post("Connection: keep-alive, close\r\n"),
    want: { ...POST, keepAlive: false },
  },
  {
    name: "Connection Close",
    raw: post("Connection: Close\r\n"),
    want: { ...POST, keepAlive: false },
  },
  {
    name: "close in a second Connection field",
    raw: post("Connection: keep-alive\r\nConnection: close\r\n"),
    want: { ...POST, keepAlive: false },
  },
  {
    name: "Connection token that merely contains close",
    raw: post("Connection: x-close\r\n"),
    want: POST,
  },
  { name: "HTTP/1.1 keep-alive", raw: post("Connection: keep-alive\r\n"), want: POST },
  { name: "HTTP/1.0 closes by default", raw: post("", "HTTP/1.0"), want: POST10 },
  {
    name: "HTTP/1.0 keep-alive",
    raw: post("Connection: keep-alive\r\n", "HTTP/1.0"),
    want: { ...POST10, keepAlive: true },
  },
  {
    name: "HTTP/1.0 Keep-Alive in mixed case",
    raw: post("Connection: Keep-Alive\r\n", "HTTP/1.0"),
    want: { ...POST10, keepAlive: true },
  },

  // Expect (RFC 9110 §10.1.1).
  {
    name: "Expect 100-continue with Content-Length",
    raw: post("Content-Length: 5\r\nExpect: 100-continue\r\n"),
    want: { ...POST, framing: length(5), expectContinue: true },
  },
  {
    name: "Expect 100-continue with chunked",
    raw: post("Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n"),
    want: { ...POST, framing: CHUNKED, expectContinue: true },
  },
  {
    name: "Expect 100-Continue is case-insensitive",
    raw: post("Content-Length: 5\r\nExpect: 100-Continue\r\n"),
    want: { ...POST, framing: length(5), expectContinue: true },
  },
  {
    name: "Expect 100-continue without a body",
    raw: post("Expect: 100-continue\r\n"),
    want: POST,
  },
  {
    name: "Expect 100-continue with Content-Length 0",
    raw: post("Content-Length: 0\r\nExpect: 100-continue\r\n"),
    want: POST,
  },
  {
    name: "unknown expectation",
    raw: post("Content-Length: 5\r\nExpect: 200-ok\r\n"),
    status: 417,
  },
  {
    name: "Expect on HTTP/1.0 is ignored",
    raw: post("Content-Length: 5\r\nExpect: 100-continue\r\n", "HTTP/1.0"),
    want: { ...POST10, framing: length(5) },
  },
  {
    name: "unknown expectation on HTTP/1.0 is ignored",
    raw: post("Expect: 200-ok\r\n", "HTTP/1.0"),
    want: POST10,
  },

  // Limits (DEFAULT_HEAD_LIMITS), enforced while bytes arrive.
  {
    name: "request line of exactly maxRequestLineBytes",
    raw: `${requestLine(maxRequestLineBytes)}\r\nHost: a\r\n\r\n`,
    want: { ...GET, target: `/${"a".repeat(maxRequestLineBytes - 14)}` },
  },
  {
    name: "request line one byte over maxRequestLineBytes",
    raw: `${requestLine(maxRequestLineBytes + 1)}\r\nHost: a\r\n\r\n`,
    status: 414,
  },
  {
    name: "request line at the limit without its CRLF yet",
    raw: requestLine(maxRequestLineBytes),
  },
  {
    name: "over-long request line, prefix only",
    raw: `GET /${"a".repeat(maxRequestLineBytes)}`,
    status: 414,
  },
  {
    name: "head of exactly maxHeadBytes",
    raw: headOfSize(maxHeadBytes),
    want: GET,
  },
  {
    name: "head one byte over maxHeadBytes",
    raw: headOfSize(maxHeadBytes + 1),
    status: 431,
  },
  {
    name: "head over maxHeadBytes, prefix only",
    raw: `${FILL_PREFIX}${"a".repeat(maxHeadBytes)}`,
    status: 431,
  },
  {
    name: "maxHeaderCount fields",
    raw: `GET / HTTP/1.1\r\n${fields(maxHeaderCount)}\r\n`,
    want: GET,
  },
  {
    name: "one field over maxHeaderCount",
    raw: `GET / HTTP/1.1\r\n${fields(maxHeaderCount + 1)}\r\n`,
    status: 431,
  },
  {
    name: "one field over maxHeaderCount, prefix only",
    raw: `GET / HTTP/1.1\r\n${fields(maxHeaderCount + 1)}`,
    status: 431,
  },
  // The same bytes must get the same verdict however they are cut: a bad
  // byte seen in a prefix is a 400 at once, so the whole must be a 400 too.
  {
    name: "NUL early in an over-long request line",
    raw: `GET /\x00${"a".repeat(maxRequestLineBytes)} HTTP/1.1\r\nHost: a\r\n\r\n`,
    status: 400,
  },
  {
    name: "NUL in the field that crosses maxHeadBytes",
    raw: `${FILL_PREFIX}\x00${"a".repeat(maxHeadBytes)}\r\n\r\n`,
    status: 400,
  },
  {
    // The count is exceeded by the field's first byte, before its NUL.
    name: "NUL in the field past maxHeaderCount",
    raw: `GET / HTTP/1.1\r\n${fields(maxHeaderCount)}X\x00: b\r\n\r\n`,
    status: 431,
  },

  // Not HTTP/1.x at all: refused at once, without waiting for a line end.
  { name: "TLS ClientHello prefix", raw: "\x16\x03\x01\x02\x00\x01", status: 400 },
  { name: "NUL as the first byte", raw: "\x00", status: 400 },
  { name: "HTTP/2 preface", raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status: 505 },
  { name: "HTTP/2 preface, first line only", raw: "PRI * HTTP/2.0\r\n", status: 505 },
  { name: "SSH banner", raw: "SSH-2.0-OpenSSH_9.6\r\n", status: 400 },

  // consumed stops at the head.
  {
    name: "pipelined request stays unconsumed",
    raw: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    after: "GET /b HTTP/1.1\r\nHost: a\r\n\r\n",
    want: GET,
  },
  {
    name: "leading CRLFs count in consumed",
    raw: "\r\nGET / HTTP/1.0\r\n\r\n",
    after: "\r\nGET / HTTP/1.0\r\n\r\n",
    want: { ...GET10, authority: "" },
  },
];

/** verdictOf parses `buf` once and says what the parser decided. */
function verdictOf(buf: Uint8Array, withHeaders: boolean): Verdict {
  let result: HeadResult;
  try {
    result = parseRequestHead(buf);
  } catch (err) {
    assert.ok(err instanceof HttpError, `expected an HttpError, got ${err}`);
    assert.equal(err.close, true, `HttpError ${err.status} must close the connection`);
    return { kind: "error", status: err.status };
  }
  if (result.kind === "incomplete") return result;
  const { headers, ...head }: RequestHead = result.head;
  return {
    kind: "complete",
    head: withHeaders ? { ...head, headers } : head,
    consumed: result.consumed,
  };
}

/**
 * parseInParts feeds `parts` as the connection does: after each part, the
 * whole prefix received so far is parsed again. Returns the first verdict
 * that is not "incomplete" (or "incomplete" when none is).
 */
function parseInParts(parts: Uint8Array[], withHeaders: boolean): Verdict {
  const whole = concat(parts);
  let fed = 0;
  for (const part of parts) {
    fed += part.length;
    const verdict = verdictOf(whole.slice(0, fed), withHeaders);
    if (verdict.kind !== "incomplete") return verdict;
  }
  return { kind: "incomplete" };
}

function expected(c: HeadCase): Verdict {
  if (c.status !== undefined) return { kind: "error", status: c.status };
  if (c.want !== undefined) return { kind: "complete", head: c.want, consumed: c.raw.length };
  return { kind: "incomplete" };
}

function checkHead(c: HeadCase) {
  assert.ok(c.want === undefined || c.status === undefined, "a case wants a head or a status");
  const want = expected(c);
  let index = 0;
  for (const parts of everySplit(encode(c.raw + (c.after ?? "")))) {
    const how = index === 0
      ? "whole"
      : index === 1
      ? "one byte per part"
      : `cut at ${parts[0]!.length}`;
    assert.deepEqual(parseInParts(parts, c.want?.headers !== undefined), want, `fed ${how}`);
    index++;
  }
}

Deno.test("parseRequestHead gives one verdict per raw request, however it is split", async (t) => {
  const names = CASES.map((c) => c.name);
  assert.equal(new Set(names).size, names.length, "case names are unique");
  for (const c of CASES) await t.step(c.name, () => checkHead(c));
});

Deno.test("HeadParser: the same bytes give the same head, other bytes their own", async (t) => {
  const GET = "GET /a.css HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br\r\n\r\n";
  const complete = (result: HeadResult) => {
    assert.equal(result.kind, "complete");
    return result as Extract<HeadResult, { kind: "complete" }>;
  };
  await t.step("a repeated head is the same object, and what parseRequestHead says", () => {
    const parser = new HeadParser();
    const first = complete(parser.parse(encode(GET)));
    const again = complete(parser.parse(encode(GET)));
    assert.equal(again.head, first.head);
    assert.equal(again.consumed, GET.length);
    assert.deepEqual(again, parseRequestHead(encode(GET)));
  });
  await t.step("pipelined: the remembered head, then the bytes after it", () => {
    const parser = new HeadParser();
    parser.parse(encode(GET));
    const result = complete(parser.parse(encode(GET + "GET /b HTTP/1.1\r\n")));
    assert.equal(result.consumed, GET.length);
  });
  await t.step("one byte different: parsed anew", () => {
    const parser = new HeadParser();
    const first = complete(parser.parse(encode(GET)));
    const other = complete(parser.parse(encode(GET.replace("br", "gz"))));
    assert.notEqual(other.head, first.head);
    assert.equal(other.head.headers[1]![1], "gz");
  });
  await t.step("a prefix of the remembered head is incomplete, not the old head", () => {
    const parser = new HeadParser();
    parser.parse(encode(GET));
    assert.deepEqual(parser.parse(encode(GET.slice(0, -2))), { kind: "incomplete" });
  });
  await t.step("errors are never remembered", () => {
    const parser = new HeadParser();
    const bad = encode("GET / HTTP/1.1\r\nHost : a\r\n\r\n");
    for (let i = 0; i < 2; i++) assert.throws(() => parser.parse(bad), HttpError);
  });
  await t.step("another connection's head, when the bytes are the same", () => {
    const a = complete(new HeadParser().parse(encode(GET)));
    const b = complete(new HeadParser().parse(encode(GET)));
    assert.equal(b.head, a.head);
  });
  await t.step("a remembered Host never lets an invalid one through", () => {
    const parser = new HeadParser();
    const withHost = (host: string) => encode(`GET /h HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    complete(parser.parse(withHost("a.test")));
    for (const bad of ["a.test/x", "a b", "u@a.test", "[::1"]) {
      assert.throws(() => parser.parse(withHost(bad)), HttpError, bad);
      assert.throws(() => parseRequestHead(withHost(bad)), HttpError, bad);
    }
    assert.equal(complete(parser.parse(withHost("a.test"))).head.authority, "a.test");
    assert.equal(complete(parseRequestHead(withHost("b.test"))).head.authority, "b.test");
  });
  await t.step("a byte outside ASCII where the remembered head has ASCII: parsed anew", () => {
    // The memo compares decoded text; a byte 0x80–0xFF must never pass for the ASCII it replaced.
    const parser = new HeadParser();
    complete(parser.parse(encode(GET)));
    for (const byte of [0x80, 0xa0, 0xe2, 0xff]) {
      const raw = encode(GET);
      raw[GET.indexOf("br")] = byte;
      const other = complete(parser.parse(raw));
      assert.equal(other.head.headers[1]![1], String.fromCharCode(byte) + "r", `byte ${byte}`);
      assert.deepEqual(other, parseRequestHead(raw));
    }
  });
  await t.step("obs-text values are one character per byte, parsed every time", () => {
    // "é" as UTF-8 bytes stays two characters (latin1), as header bytes are octets.
    const withObsText = `GET /o HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9 \xff\r\n\r\n`;
    const parser = new HeadParser();
    const first = complete(parser.parse(encode(withObsText)));
    assert.equal(first.head.headers[1]![1], "caf\xc3\xa9 \xff");
    const again = complete(parser.parse(encode(withObsText)));
    assert.deepEqual(again.head, first.head);
    // An ASCII head after it is still remembered, and one byte off is not it.
    complete(parser.parse(encode(GET)));
    assert.equal(
      complete(parser.parse(encode(GET))).head,
      complete(parser.parse(encode(GET))).head,
    );
  });
  await t.step("heads over MAX_REMEMBERED_HEAD_BYTES are parsed every time", () => {
    const big = `GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ${
      "p".repeat(MAX_REMEMBERED_HEAD_BYTES)
    }\r\n\r\n`;
    const parser = new HeadParser();
    const first = complete(parser.parse(encode(big)));
    assert.notEqual(complete(parser.parse(encode(big))).head, first.head);
  });
});
