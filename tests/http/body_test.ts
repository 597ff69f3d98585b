/**
 * body_test.ts — BodyReader against a table of raw bodies (style rule 5),
 * each delivered in every split of reads (rule 6), plus drain, knownRemaining,
 * detach and the lazy bodyStream.
 *
 * A case gives the body bytes on the wire (`raw`), what follows them (`after`,
 * a pipelined request that must stay in the InputBuffer), and the outcome:
 * the content, an HttpError status, or an early end of stream.
 */

import assert from "node:assert/strict";
import { HttpError } from "../../lib/http/http_error.ts";
import {
  BODY_READ_BYTES,
  BodyReader,
  bodyStream,
  MAX_CHUNK_LINE_BYTES,
  MAX_TRAILER_BYTES,
} from "../../lib/http/body.ts";
import { InputBuffer } from "../../lib/http/input.ts";
import type { Framing } from "../../lib/http/request_head.ts";
import { concat, decode, encode, everySplit, ScriptedReader } from "../_support/bytes.ts";

/** The InputBuffer's cap in these tests, as the brief for BodyReader sets it. */
const INPUT_MAX_BYTES = 64 * 1024;
/** maxBodyBytes unless a case names its own. */
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * BodyCase is one row of the table: `framing` and `raw` as they arrive after
 * the head, then exactly one of `want` (the content), `status` (an HttpError
 * with close: true) or `eof` (Deno.errors.UnexpectedEof).
 */
interface BodyCase {
  name: string;
  framing: Framing;
  raw: string;
  after?: string;
  maxBodyBytes?: number;
  want?: string;
  status?: number;
  eof?: true;
}

/** Outcome is what reading the body to its end gave, in a form `deepEqual` can compare. */
type Outcome =
  | { kind: "content"; text: string }
  | { kind: "error"; status: number }
  | { kind: "eof" };

/** ReadOutcome is an Outcome whose content is still bytes: decoding 64 KiB per split is slow. */
type ReadOutcome =
  | { kind: "content"; bytes: Uint8Array }
  | { kind: "error"; status: number }
  | { kind: "eof" };

const CHUNKED: Framing = { kind: "chunked" };
const NONE: Framing = { kind: "none" };
function length(n: number): Framing {
  return { kind: "length", length: n };
}

const NEXT = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
const BINARY = decode(Uint8Array.from({ length: 256 }, (_, i) => i));
/** A body just over one BODY_READ_BYTES piece, so it takes more than one read. */
const LARGE = "0123456789abcdef".repeat(BODY_READ_BYTES / 16 + 100);

/** trailers builds `count` trailer field lines of `bytes` each, CRLF included. */
function trailers(count: number, bytes: number): string {
  const line = `X-T: ${"t".repeat(bytes - 7)}\r\n`;
  return line.repeat(count);
}

const CASES: BodyCase[] = [
  // Content-Length (RFC 9112 §6.2).
  { name: "no body", framing: NONE, raw: "", after: NEXT, want: "" },
  { name: "Content-Length body", framing: length(5), raw: "hello", want: "hello" },
  {
    name: "Content-Length body then a pipelined request",
    framing: length(5),
    raw: "hello",
    after: NEXT,
    want: "hello",
  },
  {
    name: "Content-Length body of every byte value",
    framing: length(256),
    raw: BINARY,
    after: NEXT,
    want: BINARY,
  },
  {
    name: "Content-Length body longer than one read",
    framing: length(LARGE.length),
    raw: LARGE,
    after: NEXT,
    want: LARGE,
  },
  {
    name: "Content-Length body of exactly maxBodyBytes",
    framing: length(10),
    raw: "0123456789",
    maxBodyBytes: 10,
    want: "0123456789",
  },
  {
    name: "Content-Length over maxBodyBytes",
    framing: length(11),
    raw: "0123456789a",
    maxBodyBytes: 10,
    status: 413,
  },
  { name: "Content-Length body cut short", framing: length(5), raw: "hel", eof: true },

  // Chunked (RFC 9112 §7.1).
  { name: "one chunk", framing: CHUNKED, raw: "5\r\nhello\r\n0\r\n\r\n", want: "hello" },
  {
    name: "several chunks",
    framing: CHUNKED,
    raw: "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n",
    want: "hello world",
  },
  { name: "empty chunked body", framing: CHUNKED, raw: "0\r\n\r\n", after: NEXT, want: "" },
  {
    name: "chunked body then a pipelined request",
    framing: CHUNKED,
    raw: "5\r\nhello\r\n0\r\n\r\n",
    after: NEXT,
    want: "hello",
  },
  {
    name: "uppercase hex size",
    framing: CHUNKED,
    raw: "A\r\n0123456789\r\n0\r\n\r\n",
    want: "0123456789",
  },
  {
    name: "lowercase hex size",
    framing: CHUNKED,
    raw: "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
    want: "abcdefghijklmnopqrstuvwxyz",
  },
  {
    name: "leading zeros in sizes",
    framing: CHUNKED,
    raw: "0005\r\nhello\r\n000\r\n\r\n",
    want: "hello",
  },
  {
    name: "more leading zeros than a size may have digits",
    framing: CHUNKED,
    raw: "00000000000000000005\r\nhello\r\n0\r\n\r\n",
    want: "hello",
  },
  {
    name: "token extension",
    framing: CHUNKED,
    raw: "5;name=value\r\nhello\r\n0;last\r\n\r\n",
    want: "hello",
  },
  {
    name: "quoted extension with an escaped quote",
    framing: CHUNKED,
    raw: '5;name="a \\" b;c=d"\r\nhello\r\n0\r\n\r\n',
    want: "hello",
  },
  {
    name: "several extensions",
    framing: CHUNKED,
    raw: '5;a;b=c;d="e"\r\nhello\r\n0\r\n\r\n',
    want: "hello",
  },
  {
    name: "extension with BWS around ';' and '='",
    framing: CHUNKED,
    raw: "5 ;\ta = b\r\nhello\r\n0\r\n\r\n",
    want: "hello",
  },
  {
    name: "long extension within MAX_CHUNK_LINE_BYTES",
    framing: CHUNKED,
    raw: `5;x=${"a".repeat(MAX_CHUNK_LINE_BYTES - 100)}\r\nhello\r\n0\r\n\r\n`,
    want: "hello",
  },
  {
    name: "trailers",
    framing: CHUNKED,
    raw: "5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-Other:  two \r\n\r\n",
    after: NEXT,
    want: "hello",
  },
  {
    name: "chunk data holding CRLFs",
    framing: CHUNKED,
    raw: "4\r\n\r\n\r\n\r\n0\r\n\r\n",
    want: "\r\n\r\n",
  },
  {
    name: "chunk of every byte value",
    framing: CHUNKED,
    raw: `100\r\n${BINARY}\r\n0\r\n\r\n`,
    want: BINARY,
  },
  {
    name: "chunk longer than one read",
    framing: CHUNKED,
    raw: `${LARGE.length.toString(16)}\r\n${LARGE}\r\n0\r\n\r\n`,
    after: NEXT,
    want: LARGE,
  },
  {
    name: "chunked body of exactly maxBodyBytes",
    framing: CHUNKED,
    raw: "6\r\nhello \r\n4\r\nworl\r\n0\r\n\r\n",
    maxBodyBytes: 10,
    want: "hello worl",
  },
  {
    name: "chunked body over maxBodyBytes",
    framing: CHUNKED,
    raw: "6\r\nhello \r\n6\r\nworld!\r\n0\r\n\r\n",
    maxBodyBytes: 10,
    status: 413,
  },
  {
    name: "one chunk over maxBodyBytes",
    framing: CHUNKED,
    raw: "b\r\nhello world\r\n0\r\n\r\n",
    maxBodyBytes: 10,
    status: 413,
  },

  // chunk-size = 1*HEXDIG, then chunk-ext, then CRLF.
  { name: "size 0x5", framing: CHUNKED, raw: "0x5\r\nhello\r\n0\r\n\r\n", status: 400 },
  { name: "size +5", framing: CHUNKED, raw: "+5\r\nhello\r\n0\r\n\r\n", status: 400 },
  { name: "size -5", framing: CHUNKED, raw: "-5\r\nhello\r\n0\r\n\r\n", status: 400 },
  {
    name: "size with a leading space",
    framing: CHUNKED,
    raw: " 5\r\nhello\r\n0\r\n\r\n",
    status: 400,
  },
  {
    name: "size with a trailing space",
    framing: CHUNKED,
    raw: "5 \r\nhello\r\n0\r\n\r\n",
    status: 400,
  },
  { name: "size 5_0", framing: CHUNKED, raw: "5_0\r\nhello\r\n0\r\n\r\n", status: 400 },
  { name: "size 5g", framing: CHUNKED, raw: "5g\r\nhello\r\n0\r\n\r\n", status: 400 },
  { name: "empty size line", framing: CHUNKED, raw: "\r\nhello\r\n0\r\n\r\n", status: 400 },
  {
    name: "17 hex digits",
    framing: CHUNKED,
    raw: "10000000000000000\r\nhello\r\n0\r\n\r\n",
    status: 413,
  },
  {
    name: "extension without a name",
    framing: CHUNKED,
    raw: "5;\r\nhello\r\n0\r\n\r\n",
    status: 400,
  },
  {
    name: "extension with an empty value",
    framing: CHUNKED,
    raw: "5;a=\r\nhello\r\n0\r\n\r\n",
    status: 400,
  },
  {
    name: "unterminated quoted extension",
    framing: CHUNKED,
    raw: '5;a="b\r\nhello\r\n0\r\n\r\n',
    status: 400,
  },
  {
    name: "bare CR in an extension",
    framing: CHUNKED,
    raw: "5;a\rb\r\nhello\r\n0\r\n\r\n",
    status: 400,
  },
  {
    name: "bare LF ending the size line",
    framing: CHUNKED,
    raw: "5\nhello\r\n0\r\n\r\n",
    status: 400,
  },
  {
    name: "chunk line longer than MAX_CHUNK_LINE_BYTES",
    framing: CHUNKED,
    raw: `5;x=${"a".repeat(MAX_CHUNK_LINE_BYTES)}\r\nhello\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: "over-long chunk line, refused before its end arrives",
    framing: CHUNKED,
    raw: `5;x=${"a".repeat(MAX_CHUNK_LINE_BYTES)}`,
    status: 400,
  },

  // chunk-data then CRLF.
  {
    name: "data longer than its size",
    framing: CHUNKED,
    raw: "3\r\nhello\r\n0\r\n\r\n",
    status: 400,
  },
  {
    name: "data shorter than its size",
    framing: CHUNKED,
    raw: "7\r\nhello\r\n0\r\n\r\n",
    status: 400,
  },
  { name: "bare LF after data", framing: CHUNKED, raw: "5\r\nhello\n0\r\n\r\n", status: 400 },
  { name: "missing last chunk, then EOF", framing: CHUNKED, raw: "5\r\nhello\r\n", eof: true },
  { name: "EOF inside chunk data", framing: CHUNKED, raw: "5\r\nhel", eof: true },
  { name: "EOF inside a size line", framing: CHUNKED, raw: "5\r\nhello\r\n0", eof: true },
  { name: "EOF before the final CRLF", framing: CHUNKED, raw: "0\r\n", eof: true },
  { name: "EOF inside trailers", framing: CHUNKED, raw: "0\r\nX-A: b\r\n", eof: true },

  // trailer-section (RFC 9112 §7.1.2).
  { name: "trailer without a colon", framing: CHUNKED, raw: "0\r\nX-A\r\n\r\n", status: 400 },
  {
    name: "trailer with a space before the colon",
    framing: CHUNKED,
    raw: "0\r\nX-A : b\r\n\r\n",
    status: 400,
  },
  { name: "obs-fold in trailers", framing: CHUNKED, raw: "0\r\nX-A: b\r\n c\r\n\r\n", status: 400 },
  { name: "NUL in a trailer value", framing: CHUNKED, raw: "0\r\nX-A: b\x00\r\n\r\n", status: 400 },
  { name: "bare LF ending the trailers", framing: CHUNKED, raw: "0\r\n\n", status: 400 },
  {
    name: "trailer section within MAX_TRAILER_BYTES",
    framing: CHUNKED,
    raw: `0\r\n${trailers(15, 1000)}\r\n`,
    want: "",
  },
  {
    name: "trailer section over MAX_TRAILER_BYTES",
    framing: CHUNKED,
    raw: `0\r\n${trailers(MAX_TRAILER_BYTES / 1000 + 1, 1000)}\r\n`,
    status: 431,
  },
  {
    name: "one trailer line over MAX_TRAILER_BYTES, refused before its end arrives",
    framing: CHUNKED,
    raw: `0\r\nX-T: ${"t".repeat(MAX_TRAILER_BYTES)}`,
    status: 431,
  },
];

/** ReadRun is what one delivery of a case produced. */
interface ReadRun {
  outcome: ReadOutcome;
  /** Bytes left unconsumed in the InputBuffer. */
  buffered: string;
  /** Bytes the source still holds, never read. */
  unread: number;
}

/** readBody delivers `parts` through a ScriptedReader and reads the body to its end. */
async function readBody(c: BodyCase, parts: Uint8Array[]): Promise<ReadRun> {
  const source = new ScriptedReader(parts);
  const input = new InputBuffer(source, INPUT_MAX_BYTES);
  const pieces: Uint8Array[] = [];
  let outcome: ReadOutcome;
  try {
    const reader = new BodyReader(input, c.framing, c.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    for (;;) {
      const piece = await reader.read();
      if (piece === null) break;
      pieces.push(piece);
    }
    assert.equal(reader.done, true, "done once read() gives null");
    assert.equal(reader.knownRemaining, 0, "nothing remains once done");
    assert.equal(reader.received, pieces.reduce((n, p) => n + p.length, 0), "received counts it");
    outcome = { kind: "content", bytes: concat(pieces) };
  } catch (err) {
    if (err instanceof Deno.errors.UnexpectedEof) {
      outcome = { kind: "eof" };
    } else {
      assert.ok(err instanceof HttpError, `expected an HttpError, got ${err}`);
      assert.equal(err.close, true, `HttpError ${err.status} must close the connection`);
      outcome = { kind: "error", status: err.status };
    }
  }
  return { outcome, buffered: decode(input.view()), unread: source.remaining };
}

function expected(c: BodyCase): Outcome {
  if (c.want !== undefined) return { kind: "content", text: c.want };
  if (c.status !== undefined) return { kind: "error", status: c.status };
  return { kind: "eof" };
}

/** readable turns read bytes into text, for a legible assertion diff. */
function readable(outcome: ReadOutcome): Outcome {
  return outcome.kind === "content" ? { kind: "content", text: decode(outcome.bytes) } : outcome;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function checkBody(c: BodyCase) {
  const outcomes = [c.want, c.status, c.eof].filter((x) => x !== undefined);
  assert.equal(outcomes.length, 1, "a case wants content, a status or EOF");
  const want = expected(c);
  const wantBytes = encode(c.want ?? "");
  const after = c.after ?? "";
  let index = 0;
  for (const parts of everySplit(encode(c.raw + after))) {
    const how = index === 0
      ? "whole"
      : index === 1
      ? "one byte per read"
      : `cut at ${parts[0]!.length}`;
    const run = await readBody(c, parts);
    const same = want.kind === "content" && run.outcome.kind === "content" &&
      sameBytes(run.outcome.bytes, wantBytes);
    if (!same) {
      assert.deepEqual(readable(run.outcome), want, `read ${how}`);
    }
    if (want.kind === "content") {
      // Whatever was read past the body is still buffered, in order, and
      // nothing was read twice or lost.
      assert.equal(run.buffered, after.slice(0, run.buffered.length), `buffered, read ${how}`);
      assert.equal(run.buffered.length + run.unread, after.length, `left over, read ${how}`);
    }
    index++;
  }
}

Deno.test("BodyReader reads each raw body the same way, however it is split", async (t) => {
  const names = CASES.map((c) => c.name);
  assert.equal(new Set(names).size, names.length, "case names are unique");
  for (const c of CASES) await t.step(c.name, () => checkBody(c));
});

/** readerOver builds a BodyReader over `parts`, returning the input too. */
function readerOver(
  parts: string[],
  framing: Framing,
  maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
): { reader: BodyReader; input: InputBuffer; source: ScriptedReader } {
  const source = new ScriptedReader(parts);
  const input = new InputBuffer(source, INPUT_MAX_BYTES);
  return { reader: new BodyReader(input, framing, maxBodyBytes), input, source };
}

Deno.test("BodyReader.drain discards a body that fits and stops at one that does not", async (t) => {
  const CASES: { name: string; framing: Framing; raw: string; max: number; want: boolean }[] = [
    { name: "no body", framing: NONE, raw: "", max: 0, want: true },
    {
      name: "Content-Length equal to max",
      framing: length(10),
      raw: "0123456789",
      max: 10,
      want: true,
    },
    {
      name: "Content-Length over max",
      framing: length(10),
      raw: "0123456789",
      max: 9,
      want: false,
    },
    {
      name: "chunked equal to max",
      framing: CHUNKED,
      raw: "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n",
      max: 10,
      want: true,
    },
    {
      name: "chunked over max",
      framing: CHUNKED,
      raw: "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n",
      max: 9,
      want: false,
    },
  ];
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const { reader, input } = readerOver([c.raw, NEXT], c.framing);
      assert.equal(await reader.drain(c.max), c.want);
      if (c.want) {
        assert.equal(reader.done, true);
        // The next request is untouched: still buffered or not yet read.
        assert.ok(NEXT.startsWith(decode(input.view())));
      }
    });
  }

  await t.step("Content-Length over max stops without reading", async () => {
    const { reader, source } = readerOver(["0123456789", NEXT], length(10));
    assert.equal(await reader.drain(9), false);
    assert.equal(source.reads, 0);
  });

  await t.step("after a partial read, max counts what is left", async () => {
    const { reader } = readerOver(["0123", "456789"], length(10));
    assert.equal(decode((await reader.read())!), "0123");
    assert.equal(await reader.drain(6), true);
    assert.equal(reader.received, 10);
  });
});

Deno.test("BodyReader.knownRemaining counts down a Content-Length body only", async (t) => {
  await t.step("Content-Length", async () => {
    const { reader } = readerOver(["0123", "456789"], length(10));
    assert.equal(reader.knownRemaining, 10);
    assert.equal(decode((await reader.read())!), "0123");
    assert.equal(reader.knownRemaining, 6);
    assert.equal(decode((await reader.read())!), "456789");
    assert.equal(reader.knownRemaining, 0);
    assert.equal(await reader.read(), null);
    assert.equal(reader.knownRemaining, 0);
  });
  await t.step("chunked", async () => {
    const { reader } = readerOver(["5\r\nhello\r\n", "0\r\n\r\n"], CHUNKED);
    assert.equal(reader.knownRemaining, undefined);
    assert.equal(decode((await reader.read())!), "hello");
    assert.equal(reader.knownRemaining, undefined);
    assert.equal(await reader.read(), null);
    assert.equal(reader.knownRemaining, 0);
  });
  await t.step("no body", () => {
    const { reader } = readerOver([], NONE);
    assert.equal(reader.knownRemaining, 0);
    assert.equal(reader.done, true);
  });
});

Deno.test("BodyReader.detach makes later reads reject", async () => {
  const { reader, source } = readerOver(["0123", "456789"], length(10));
  assert.equal(decode((await reader.read())!), "0123");
  reader.detach();
  await assert.rejects(() => reader.read(), TypeError);
  assert.equal(source.remaining, 6, "nothing more was read from the source");
  // drain is the connection's, not the handler's: it still works after detach.
  assert.equal(await reader.drain(6), true);
});

Deno.test("bodyStream reads lazily and runs beforeFirstRead once, on the first read", async () => {
  const { reader, source } = readerOver(
    ["5\r\nhello\r\n", "6\r\n world\r\n", "0\r\n\r\n"],
    CHUNKED,
  );
  let calls = 0;
  const stream = bodyStream(reader, {
    beforeFirstRead: () => {
      calls++;
      assert.equal(source.reads, 0, "beforeFirstRead runs before the body is read");
      return Promise.resolve();
    },
  });
  // A stream nobody reads never pulls: no 100 Continue, no read.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(calls, 0);
  assert.equal(source.reads, 0);

  const streamReader = stream.getReader();
  const first = await streamReader.read();
  assert.equal(decode(first.value!), "hello");
  assert.equal(calls, 1);
  let rest = "";
  for (;;) {
    const { done, value } = await streamReader.read();
    if (done) break;
    rest += decode(value);
  }
  assert.equal(rest, " world");
  assert.equal(calls, 1);
  assert.equal(reader.done, true);
});

Deno.test("bodyStream passes body errors to the stream's reader", async () => {
  const { reader } = readerOver(["5\r\nhel"], CHUNKED);
  const stream = bodyStream(reader);
  await assert.rejects(() => new Response(stream).arrayBuffer(), Deno.errors.UnexpectedEof);
  assert.ok(reader.failure instanceof Deno.errors.UnexpectedEof);
});
