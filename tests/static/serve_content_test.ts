/**
 * serve_content_test.ts — answerContent, one file's answer to one request,
 * against real files in a temporary directory looked up through a fresh
 * RepresentationStore (inline compressor) for every case: content coding
 * (made once, from memory, or a precompressed sibling), validators and
 * 304/412 (RFC 9110 §13), ranges and multipart/byteranges (§14), `?bytes=N`,
 * and files too large to hold.
 *
 * Every case runs twice, with the request's fields read through a web
 * `Headers` (the handler path) and through `HeadFields` (the fast path).
 * Every HEAD without a Range must answer what the GET would, but for the
 * body: same status, fields and length (RFC 9110 §9.3.2).
 *
 * The files' modification times are set an hour back before anything looks
 * at them, so no "modified just now" caution changes a date-based verdict.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync } from "node:zlib";
import { HttpError } from "../../lib/http/http_error.ts";
import { type FieldSource, HeadFields } from "../../lib/http/fields.ts";
import {
  answerContent,
  type ContentAnswer,
  type ContentOptions,
  type RequestFacts,
} from "../../lib/static/serve_content.ts";
import {
  entityTag,
  type FileEntry,
  MAX_STORED_FILE_BYTES,
  RepresentationStore,
} from "../../lib/static/store.ts";
import type { Scope } from "../../lib/static/resolve_path.ts";
import { concat, decode, encode } from "../_support/bytes.ts";
import { withTempDir } from "../_support/server.ts";

/** How far back the files' modification times are set. */
const AGE_MS = 3600_000;
/** A date-based condition is this far from the modification time. */
const MINUTE_MS = 60_000;
/** A first answer of kind "wait" more often than this in a row is a bug. */
const MAX_WAITS = 3;

type Coding = "identity" | "br" | "gzip";
type FileName = "app.css" | "small.txt" | "logo.png" | "styles.css" | "big.txt";
const SIBLING = "styles.css.br";

/** Fixture is one file as the test wrote it. */
interface Fixture {
  path: string;
  bytes: Uint8Array;
  size: number;
  /** Modification time, ms. */
  mtime: number;
  /** Last-Modified as a client would send it back. */
  lastModified: string;
  type: string;
  /** The ETag of the identity representation. */
  etag: string;
}

/** Ctx is what a case's headers and expectations may refer to. */
interface Ctx {
  file: Fixture;
  /** styles.css.br, the precompressed sibling of styles.css. */
  sibling: Fixture;
}

type Expected = string | RegExp | ((x: Ctx) => string);

interface Want {
  status: number;
  /** The answer's kind once made; "memory" unless given. */
  kind?: "memory" | "file" | "live";
  /** Whether the first answer is "wait" (a compressed form being made). */
  waits?: boolean;
  /** The content coding; identity unless given. */
  coding?: Coding;
  /** Exactly the field names the answer carries. */
  fields: readonly string[];
  /** Values beyond the defaults ({@linkcode defaultValue}); content-range has no default. */
  values?: Record<string, Expected>;
  /**
   * The content once decoded: the whole file, an inclusive byte range of it,
   * null for none, or undefined when not checked here (HEAD, live, multipart).
   */
  body?: "whole" | [number, number] | null;
  /** Further checks. */
  check?: (answer: ContentAnswer, x: Ctx) => void;
}

interface ContentCase {
  name: string;
  /** app.css unless given. */
  file?: FileName;
  /** GET unless given. */
  method?: "GET" | "HEAD";
  headers?: Record<string, string> | ((x: Ctx) => Record<string, string>);
  bytesParam?: string;
  want: Want | { error: number; values?: Record<string, Expected> };
}

/** The fields every answer of the representation carries (RFC 9110 §8, §14.3). */
const BASE = [
  "accept-ranges",
  "cache-control",
  "content-type",
  "etag",
  "last-modified",
  "x-content-type-options",
] as const;
/** A compressible file's fields: its content may be negotiated (RFC 9110 §12.5.5). */
const TEXT = [...BASE, "vary"];
const CODED = [...TEXT, "content-encoding"];
const RANGED = [...TEXT, "content-range"];
/** A 304 leaves out the representation metadata (RFC 9110 §15.4.5). */
const NOT_MODIFIED = TEXT.filter((n) => n !== "content-type");
/** `?bytes=N` is not the representation: no validators, no ranges. */
const FIRST_BYTES = TEXT.filter((n) => n !== "etag" && n !== "accept-ranges");

/** codedTag is the ETag of `etag`'s representation in `coding`. */
function codedTag(etag: string, coding: Exclude<Coding, "identity">): string {
  return `${etag.slice(0, -1)}-${coding}"`;
}

function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

const CASES: ContentCase[] = [
  // The representation as it is.
  {
    name: "GET: the whole file and its fields",
    want: { status: 200, fields: TEXT, body: "whole" },
  },
  {
    name: "HEAD: the GET's fields and length",
    method: "HEAD",
    want: { status: 200, fields: TEXT },
  },
  {
    name: "GET a PNG: no Vary (not compressible)",
    file: "logo.png",
    want: { status: 200, fields: BASE, body: "whole" },
  },

  // Content coding (RFC 9110 §12.5.3).
  {
    name: "br: made once, then brotli from memory",
    headers: { "accept-encoding": "br" },
    want: { status: 200, waits: true, coding: "br", fields: CODED, body: "whole" },
  },
  {
    name: "HEAD with br: the length the GET would send",
    method: "HEAD",
    headers: { "accept-encoding": "br" },
    want: { status: 200, waits: true, coding: "br", fields: CODED },
  },
  {
    name: "gzip: made once, then gzip from memory",
    headers: { "accept-encoding": "gzip" },
    want: { status: 200, waits: true, coding: "gzip", fields: CODED, body: "whole" },
  },
  {
    name: "HEAD with gzip: the length the GET would send",
    method: "HEAD",
    headers: { "accept-encoding": "gzip" },
    want: { status: 200, waits: true, coding: "gzip", fields: CODED },
  },
  {
    name: "a browser's gzip, deflate, br: br",
    headers: { "accept-encoding": "gzip, deflate, br" },
    want: { status: 200, waits: true, coding: "br", fields: CODED, body: "whole" },
  },
  {
    name: "br;q=0.5, gzip: gzip",
    headers: { "accept-encoding": "br;q=0.5, gzip" },
    want: { status: 200, waits: true, coding: "gzip", fields: CODED, body: "whole" },
  },
  {
    name: "gzip;q=0, br;q=0: identity",
    headers: { "accept-encoding": "gzip;q=0, br;q=0" },
    want: { status: 200, fields: TEXT, body: "whole" },
  },
  {
    name: "br on a text file under 1 KB: identity",
    file: "small.txt",
    headers: { "accept-encoding": "br" },
    want: { status: 200, fields: TEXT, body: "whole" },
  },
  {
    name: "br on a PNG: identity, no Vary",
    file: "logo.png",
    headers: { "accept-encoding": "br" },
    want: { status: 200, fields: BASE, body: "whole" },
  },
  {
    name: "br with a Range: 206 of the br bytes (a Range addresses the chosen form)",
    headers: { "accept-encoding": "br", range: "bytes=0-4" },
    want: {
      status: 206,
      waits: true,
      coding: "br",
      fields: [...RANGED, "content-encoding"],
      values: { "content-range": /^bytes 0-4\/\d+$/ },
      check: (answer, x) => {
        assert.equal(answer.kind, "memory");
        if (answer.kind !== "memory") return;
        const range = answer.fields.find(([name]) => name === "content-range")![1];
        const size = Number(/\/(\d+)$/.exec(range)![1]);
        assert.ok(size < x.file.size, "the length of the compressed form");
        assert.equal(answer.length, 5);
      },
    },
  },

  // Preconditions (RFC 9110 §13.1, evaluated in the order of §13.2.2).
  {
    name: "If-None-Match with the ETag: 304",
    headers: (x) => ({ "if-none-match": x.file.etag }),
    want: { status: 304, fields: NOT_MODIFIED, body: null },
  },
  {
    name: "HEAD, If-None-Match with the ETag: 304",
    method: "HEAD",
    headers: (x) => ({ "if-none-match": x.file.etag }),
    want: { status: 304, fields: NOT_MODIFIED, body: null },
  },
  {
    name: "If-None-Match with the br ETag, br: 304 without Content-Encoding",
    headers: (x) => ({ "accept-encoding": "br", "if-none-match": codedTag(x.file.etag, "br") }),
    want: { status: 304, waits: true, coding: "br", fields: NOT_MODIFIED, body: null },
  },
  {
    name: "If-None-Match with the identity ETag, br: 200 br (each coding has its own tag)",
    headers: (x) => ({ "accept-encoding": "br", "if-none-match": x.file.etag }),
    want: { status: 200, waits: true, coding: "br", fields: CODED, body: "whole" },
  },
  {
    name: "If-None-Match with another tag: 200",
    headers: { "if-none-match": '"other"' },
    want: { status: 200, fields: TEXT, body: "whole" },
  },
  {
    name: "If-None-Match: *: 304",
    headers: { "if-none-match": "*" },
    want: { status: 304, fields: NOT_MODIFIED, body: null },
  },
  {
    name: "If-None-Match with the weak form of the ETag: 304 (weak comparison)",
    headers: (x) => ({ "if-none-match": `W/${x.file.etag}` }),
    want: { status: 304, fields: NOT_MODIFIED, body: null },
  },
  {
    name: "If-Modified-Since after the modification: 304",
    headers: (x) => ({ "if-modified-since": httpDate(x.file.mtime + MINUTE_MS) }),
    want: { status: 304, fields: NOT_MODIFIED, body: null },
  },
  {
    name: "If-Modified-Since the Last-Modified date: 304",
    headers: (x) => ({ "if-modified-since": x.file.lastModified }),
    want: { status: 304, fields: NOT_MODIFIED, body: null },
  },
  {
    name: "If-Modified-Since before the modification: 200",
    headers: (x) => ({ "if-modified-since": httpDate(x.file.mtime - MINUTE_MS) }),
    want: { status: 200, fields: TEXT, body: "whole" },
  },
  {
    name: "If-None-Match with another tag outranks If-Modified-Since: 200",
    headers: (x) => ({
      "if-none-match": '"other"',
      "if-modified-since": httpDate(x.file.mtime + MINUTE_MS),
    }),
    want: { status: 200, fields: TEXT, body: "whole" },
  },
  {
    name: "If-Match with another tag: 412",
    headers: { "if-match": '"other"' },
    want: { error: 412, values: { etag: (x) => x.file.etag } },
  },
  {
    name: "If-Match with the ETag: 200",
    headers: (x) => ({ "if-match": x.file.etag }),
    want: { status: 200, fields: TEXT, body: "whole" },
  },
  {
    name: "If-Unmodified-Since before the modification: 412",
    headers: (x) => ({ "if-unmodified-since": httpDate(x.file.mtime - MINUTE_MS) }),
    want: { error: 412 },
  },
  {
    name: "If-Unmodified-Since after the modification: 200",
    headers: (x) => ({ "if-unmodified-since": httpDate(x.file.mtime + MINUTE_MS) }),
    want: { status: 200, fields: TEXT, body: "whole" },
  },

  // Ranges (RFC 9110 §14).
  {
    name: "Range bytes=0-4: 206",
    headers: { range: "bytes=0-4" },
    want: {
      status: 206,
      fields: RANGED,
      values: { "content-range": (x) => `bytes 0-4/${x.file.size}` },
      body: [0, 4],
    },
  },
  {
    name: "Range suffix bytes=-3: the last three bytes",
    headers: { range: "bytes=-3" },
    want: {
      status: 206,
      fields: RANGED,
      values: {
        "content-range": (x) => `bytes ${x.file.size - 3}-${x.file.size - 1}/${x.file.size}`,
      },
      body: [-3, -1],
    },
  },
  {
    name: "Range from beyond the end: 416 with the size",
    headers: { range: "bytes=999999-" },
    want: { error: 416, values: { "content-range": (x) => `bytes */${x.file.size}` } },
  },
  {
    name: "Range bytes=20-29,0-4: multipart, parts in the order asked",
    headers: { range: "bytes=20-29,0-4" },
    want: {
      status: 206,
      fields: TEXT,
      values: { "content-type": /^multipart\/byteranges; boundary=[0-9A-Za-z'()+_,./:=?-]{1,70}$/ },
      check: (answer, x) => checkMultipart(answer, x.file, [[20, 29], [0, 4]]),
    },
  },
  {
    name: "Range bytes=0-9,5-14: overlapping, coalesced to one range",
    headers: { range: "bytes=0-9,5-14" },
    want: {
      status: 206,
      fields: RANGED,
      values: { "content-range": (x) => `bytes 0-14/${x.file.size}` },
      body: [0, 14],
    },
  },
  {
    name: "Range in another unit: ignored, 200",
    headers: { range: "items=0-4" },
    want: { status: 200, fields: TEXT, body: "whole" },
  },
  {
    name: "HEAD with Range: 200 (Range is defined for GET only)",
    method: "HEAD",
    headers: { range: "bytes=0-4" },
    want: { status: 200, fields: TEXT },
  },
  {
    name: "If-Range with the ETag: 206",
    headers: (x) => ({ range: "bytes=0-4", "if-range": x.file.etag }),
    want: {
      status: 206,
      fields: RANGED,
      values: { "content-range": (x) => `bytes 0-4/${x.file.size}` },
      body: [0, 4],
    },
  },
  {
    name: "If-Range with another ETag: 200, the whole file",
    headers: { range: "bytes=0-4", "if-range": '"other"' },
    want: { status: 200, fields: TEXT, body: "whole" },
  },
  {
    name: "If-Range with the weak form of the ETag: 200 (strong comparison)",
    headers: (x) => ({ range: "bytes=0-4", "if-range": `W/${x.file.etag}` }),
    want: { status: 200, fields: TEXT, body: "whole" },
  },
  {
    name: "If-Range with the Last-Modified date: 206",
    headers: (x) => ({ range: "bytes=0-4", "if-range": x.file.lastModified }),
    want: {
      status: 206,
      fields: RANGED,
      values: { "content-range": (x) => `bytes 0-4/${x.file.size}` },
      body: [0, 4],
    },
  },
  {
    name: "If-Range with another date: 200",
    headers: (x) => ({ range: "bytes=0-4", "if-range": httpDate(x.file.mtime - MINUTE_MS) }),
    want: { status: 200, fields: TEXT, body: "whole" },
  },

  // ?bytes=N: the first N bytes as a plain 200.
  {
    name: "?bytes=5: the first five bytes, without ETag or Accept-Ranges",
    bytesParam: "5",
    want: { status: 200, fields: FIRST_BYTES, body: [0, 4] },
  },
  {
    name: "?bytes beyond the size: the whole file",
    bytesParam: "99999999",
    want: { status: 200, fields: FIRST_BYTES, body: "whole" },
  },
  {
    name: "?bytes past 2^53: the whole file (one rule for every length)",
    bytesParam: "99999999999999999999999",
    want: { status: 200, fields: FIRST_BYTES, body: "whole" },
  },

  {
    name: "?bytes=5 with br: identity",
    bytesParam: "5",
    headers: { "accept-encoding": "br" },
    want: { status: 200, fields: FIRST_BYTES, body: [0, 4] },
  },
  {
    name: "?bytes=5 with a Range: the Range is ignored",
    bytesParam: "5",
    headers: { range: "bytes=2-3" },
    want: { status: 200, fields: FIRST_BYTES, body: [0, 4] },
  },
  {
    name: "?bytes=5, If-Modified-Since after: 304 with the fields of the 200",
    bytesParam: "5",
    headers: (x) => ({ "if-modified-since": httpDate(x.file.mtime + MINUTE_MS) }),
    want: { status: 304, fields: FIRST_BYTES.filter((n) => n !== "content-type"), body: null },
  },
  { name: "?bytes=0: 400", bytesParam: "0", want: { error: 400 } },
  { name: "?bytes=abc: 400", bytesParam: "abc", want: { error: 400 } },
  { name: "?bytes= (empty): 400", bytesParam: "", want: { error: 400 } },
  { name: "?bytes=-5: 400", bytesParam: "-5", want: { error: 400 } },
  { name: "?bytes=05 (leading zero): 400", bytesParam: "05", want: { error: 400 } },

  // A precompressed sibling (styles.css.br).
  {
    name: "precompressed sibling: its bytes, Content-Encoding br",
    file: "styles.css",
    headers: { "accept-encoding": "br" },
    want: {
      status: 200,
      coding: "br",
      fields: CODED,
      values: { etag: (x) => codedTag(x.sibling.etag, "br") },
      body: "whole",
      check: (answer, x) =>
        assert.deepEqual(bodyOf(answer), x.sibling.bytes, "the sibling's bytes"),
    },
  },
  {
    name: "HEAD, precompressed sibling: the sibling's length",
    file: "styles.css",
    method: "HEAD",
    headers: { "accept-encoding": "br" },
    want: {
      status: 200,
      coding: "br",
      fields: CODED,
      values: { etag: (x) => codedTag(x.sibling.etag, "br") },
      check: (answer, x) => assert.equal(lengthOf(answer), x.sibling.size),
    },
  },
  {
    name: "precompressed sibling, gzip asked: made by the store",
    file: "styles.css",
    headers: { "accept-encoding": "gzip" },
    want: { status: 200, waits: true, coding: "gzip", fields: CODED, body: "whole" },
  },
  {
    name: "precompressed sibling, no Accept-Encoding: identity",
    file: "styles.css",
    want: { status: 200, fields: TEXT, body: "whole" },
  },

  // A file too large to hold: read from disk when sent.
  {
    name: "a file over the stored size: from disk",
    file: "big.txt",
    want: { status: 200, kind: "file", fields: TEXT, body: "whole" },
  },
  {
    name: "a file over the stored size, Range: from disk",
    file: "big.txt",
    headers: { range: "bytes=100-199" },
    want: {
      status: 206,
      kind: "file",
      fields: RANGED,
      values: { "content-range": (x) => `bytes 100-199/${x.file.size}` },
      body: [100, 199],
    },
  },
  {
    name: "a file over the stored size, gzip: compressed while sent",
    file: "big.txt",
    headers: { "accept-encoding": "gzip" },
    want: { status: 200, kind: "live", coding: "gzip", fields: CODED },
  },
  {
    name: "a file over the stored size, br only: identity (brotli is not made while sent)",
    file: "big.txt",
    headers: { "accept-encoding": "br" },
    want: { status: 200, kind: "file", fields: TEXT, body: "whole" },
  },
];

// ---------------------------------------------------------------------------
// Fixtures

/** cssOf is `lines` lines of CSS, each distinct, so that every byte range is distinct too. */
function cssOf(tag: string, lines: number): Uint8Array {
  let text = "";
  for (let i = 0; i < lines; i++) {
    const n = String(i).padStart(4, "0");
    text += `.${tag}-${n} { color: #${n}${n.slice(0, 2)}; margin: ${i}px; }\n`;
  }
  return encode(text);
}

/** pngOf is a PNG signature followed by `size - 8` bytes that do not compress. */
function pngOf(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let x = 0x12345678;
  for (let i = 8; i < size; i++) {
    // xorshift32: deterministic noise
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** writeFixtures writes the files, an hour old, and returns them by name. */
function writeFixtures(dir: string): Map<string, Fixture> {
  const styles = cssOf("styles", 40);
  const contents: Record<FileName | typeof SIBLING, [Uint8Array, string]> = {
    "app.css": [cssOf("app", 60), "text/css; charset=utf-8"],
    "small.txt": [encode("hello, world\n"), "text/plain; charset=utf-8"],
    "logo.png": [pngOf(2048), "image/png"],
    "styles.css": [styles, "text/css; charset=utf-8"],
    // Real brotli, at a quality the store never uses, so its bytes are the sibling's own.
    [SIBLING]: [
      new Uint8Array(
        brotliCompressSync(styles, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }),
      ),
      "",
    ],
    "big.txt": [
      encode("0123456789abcdef".repeat(MAX_STORED_FILE_BYTES / 16 + 4096)),
      "text/plain; charset=utf-8",
    ],
  };
  // An hour back, plus a fraction of a second that HTTP dates cannot carry.
  const mtime = new Date(Math.floor((Date.now() - AGE_MS) / 1000) * 1000 + 250);
  const fixtures = new Map<string, Fixture>();
  for (const [name, [bytes, type]] of Object.entries(contents)) {
    const path = join(dir, name);
    Deno.writeFileSync(path, bytes);
    Deno.utimeSync(path, mtime, mtime);
    const ms = Deno.statSync(path).mtime!.getTime();
    fixtures.set(name, {
      path,
      bytes,
      size: bytes.length,
      mtime: ms,
      lastModified: httpDate(ms),
      type,
      etag: entityTag(bytes.length, ms, bytes.length <= MAX_STORED_FILE_BYTES ? bytes : undefined),
    });
  }
  return fixtures;
}

// ---------------------------------------------------------------------------
// Checks

/** bodyOf is what the answer would send, coded as it is: in memory, or read from its file. */
function bodyOf(answer: ContentAnswer): Uint8Array | null {
  switch (answer.kind) {
    case "memory":
      return answer.body === null ? null : concat(answer.body);
    case "file": {
      assert.equal(answer.multipart, undefined, "a multipart body from disk is not checked here");
      const bytes = Deno.readFileSync(answer.entry.real);
      return bytes.subarray(answer.start, answer.start + answer.length);
    }
    default:
      assert.fail(`an answer of kind ${answer.kind} has no body to read`);
  }
}

function lengthOf(answer: ContentAnswer): number {
  assert.ok(answer.kind === "memory" || answer.kind === "file", `kind ${answer.kind}`);
  return answer.length;
}

function decoded(bytes: Uint8Array, coding: Coding): Uint8Array {
  if (coding === "br") return new Uint8Array(brotliDecompressSync(bytes));
  if (coding === "gzip") return new Uint8Array(gunzipSync(bytes));
  return bytes;
}

function fieldsOf(answer: ContentAnswer): [string, string][] {
  assert.ok(answer.kind !== "wait");
  return answer.fields;
}

/** defaultValue is what a field of the representation must say unless the case says otherwise. */
function defaultValue(name: string, x: Ctx, coding: Coding): string | undefined {
  switch (name) {
    case "accept-ranges":
      return "bytes";
    case "cache-control":
      return "no-cache";
    case "content-type":
      return x.file.type;
    case "etag":
      return coding === "identity" ? x.file.etag : codedTag(x.file.etag, coding);
    case "last-modified":
      return x.file.lastModified;
    case "x-content-type-options":
      return "nosniff";
    case "vary":
      return "Accept-Encoding";
    case "content-encoding":
      return coding === "identity" ? undefined : coding;
  }
  return undefined;
}

function checkValue(name: string, got: string, want: Expected | undefined, x: Ctx) {
  if (want === undefined) assert.fail(`field ${name}: ${got}, and the case expects no value`);
  if (want instanceof RegExp) assert.match(got, want, `field ${name}`);
  else assert.equal(got, typeof want === "function" ? want(x) : want, `field ${name}`);
}

/**
 * checkMultipart parses a multipart/byteranges body (RFC 9110 §14.6) and
 * checks that its parts are `ranges` of the file, in that order.
 */
function checkMultipart(answer: ContentAnswer, file: Fixture, ranges: [number, number][]) {
  const type = fieldsOf(answer).find(([name]) => name === "content-type")?.[1] ?? "";
  const boundary = /boundary=(.+)$/.exec(type)?.[1];
  assert.ok(boundary !== undefined, `no boundary in ${type}`);
  const body = bodyOf(answer);
  assert.ok(body !== null);
  assert.equal(lengthOf(answer), body.length, "length is the multipart body's");
  // Every delimiter is CRLF "--" boundary, but the first, which starts the body.
  const pieces = decode(body).split(`--${boundary}`);
  assert.equal(pieces[0], "", "the body starts with the first delimiter");
  assert.equal(pieces.at(-1), "--\r\n", "the body ends with the close delimiter");
  const parts = pieces.slice(1, -1);
  assert.equal(parts.length, ranges.length, "one part per range");
  parts.forEach((part, i) => {
    const [start, end] = ranges[i]!;
    const headEnd = part.indexOf("\r\n\r\n");
    assert.ok(part.startsWith("\r\n") && headEnd !== -1, `part ${i}: ${JSON.stringify(part)}`);
    const fields = new Headers(
      part.slice(2, headEnd).split("\r\n").map((line) => {
        const colon = line.indexOf(":");
        return [line.slice(0, colon), line.slice(colon + 1).trim()] as [string, string];
      }),
    );
    assert.equal(fields.get("content-range"), `bytes ${start}-${end}/${file.size}`, `part ${i}`);
    assert.equal(fields.get("content-type"), file.type, `part ${i}`);
    // The part's content, then the CRLF that begins the next delimiter.
    const want = decode(file.bytes.subarray(start, end + 1)) + "\r\n";
    assert.equal(part.slice(headEnd + 4), want, `part ${i} bytes`);
  });
}

/** settle asks until the answer is not "wait", awaiting each compression; counts the waits. */
async function settle(
  entry: FileEntry,
  facts: RequestFacts,
  options: ContentOptions,
): Promise<{ answer: ContentAnswer; waits: number }> {
  let answer = answerContent(entry, facts, options);
  let waits = 0;
  while (answer.kind === "wait") {
    if (++waits > MAX_WAITS) assert.fail(`still "wait" after ${MAX_WAITS} compressions`);
    await answer.ready;
    answer = answerContent(entry, facts, options);
  }
  return { answer, waits };
}

const SOURCES: Record<string, (pairs: [string, string][]) => FieldSource> = {
  Headers: (pairs) => new Headers(pairs),
  HeadFields: (pairs) => new HeadFields(pairs),
};

async function checkCase(c: ContentCase, dir: string, fixtures: Map<string, Fixture>) {
  const x: Ctx = {
    file: fixtures.get(c.file ?? "app.css")!,
    sibling: fixtures.get(SIBLING)!,
  };
  const headers = typeof c.headers === "function" ? c.headers(x) : c.headers ?? {};
  const method = c.method ?? "GET";
  const want = c.want;
  for (const [sourceName, source] of Object.entries(SOURCES)) {
    const via = `(fields read through ${sourceName})`;
    // A fresh store: nothing compressed yet, so "wait" comes first when it can.
    const store = new RepresentationStore();
    const scope: Scope = { root: dir, realRoot: dir, dotfiles: false };
    const found = store.lookup(x.file.path, scope);
    assert.equal(found.kind, "file");
    const entry = found as FileEntry;
    const options: ContentOptions = {
      cacheControl: "no-cache",
      store,
      scope,
      memos: new WeakMap(),
    };
    const facts = (m: string): RequestFacts => ({
      method: m,
      fields: source(Object.entries(headers)),
      bytesParam: c.bytesParam ?? null,
    });

    if ("error" in want) {
      await assert.rejects(settle(entry, facts(method), options), (err: unknown) => {
        assert.ok(err instanceof HttpError, `${via}: ${err}`);
        assert.equal(err.status, want.error, via);
        const errorFields = new Headers(err.headers);
        for (const [name, value] of Object.entries(want.values ?? {})) {
          checkValue(name, errorFields.get(name) ?? "(absent)", value, x);
        }
        return true;
      });
      continue;
    }

    const { answer, waits } = await settle(entry, facts(method), options);
    assert.ok(answer.kind !== "wait");
    assert.equal(answer.status, want.status, via);
    assert.equal(answer.kind, want.kind ?? "memory", via);
    assert.equal(waits > 0, want.waits ?? false, `${via}: whether the first answer waits`);
    const coding = want.coding ?? "identity";
    const names = answer.fields.map(([name]) => name);
    assert.deepEqual([...names].sort(), [...want.fields].sort(), `${via}: field names`);
    for (const [name, value] of answer.fields) {
      checkValue(name, value, want.values?.[name] ?? defaultValue(name, x, coding), x);
    }
    if (want.body !== undefined) {
      const body = bodyOf(answer);
      if (want.body === null) {
        assert.equal(body, null, `${via}: no body`);
        assert.equal(lengthOf(answer), 0, via);
      } else {
        assert.ok(body !== null, `${via}: a body`);
        assert.equal(lengthOf(answer), body.length, `${via}: length is the body's, as sent`);
        const [start, end] = want.body === "whole" ? [0, x.file.size - 1] : want.body;
        const from = start < 0 ? x.file.size + start : start;
        const to = end < 0 ? x.file.size + end : end;
        assert.deepEqual(decoded(body, coding), x.file.bytes.subarray(from, to + 1), via);
      }
    }
    want.check?.(answer, x);

    // A HEAD answers what the GET would, but for the body (RFC 9110 §9.3.2).
    if (method === "HEAD" && headers.range === undefined) {
      const get = (await settle(entry, facts("GET"), options)).answer;
      assert.ok(get.kind !== "wait");
      assert.equal(answer.status, get.status, `${via}: HEAD and GET status`);
      assert.deepEqual(answer.fields, get.fields, `${via}: HEAD and GET fields`);
      if (answer.kind !== "live") {
        assert.equal(lengthOf(answer), lengthOf(get), `${via}: HEAD and GET length`);
        const sent = bodyOf(get)?.length ?? 0;
        assert.equal(lengthOf(get), sent, `${via}: the GET's length is what it sends`);
      }
    }
  }
}

Deno.test({
  name: "answerContent: one file's answer to one request",
  // Opt-in in Deno 2.9: nothing the store opens may stay open.
  sanitizeResources: true,
  sanitizeOps: true,
  fn: (t) =>
    withTempDir(async (dir) => {
      const fixtures = writeFixtures(dir);
      for (const c of CASES) await t.step(c.name, () => checkCase(c, dir, fixtures));
    }),
});
