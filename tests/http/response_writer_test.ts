/**
 * response_writer_test.ts — writeResponse against a table of responses and
 * the exact bytes they must become (style rule 5), written to an in-memory
 * sink that takes everything at once or only 7 bytes per write. Larger and
 * failing bodies are checked by parsing the bytes back with the independent
 * `parseResponses`, so a bug in the writer cannot hide behind the same bug in
 * the test.
 */

import assert from "node:assert/strict";
import {
  type PlainResponse,
  SMALL_BODY_BYTES,
  type WriteOptions,
  writePlain,
  writeResponse,
  type WriteResult,
} from "../../lib/http/response_writer.ts";
import { ByteSink, concat, decode, encode } from "../_support/bytes.ts";
import { parseResponses } from "../_support/server.ts";

/** A GET on HTTP/1.1 whose client allows keep-alive. */
const OPTIONS: WriteOptions = { head: false, minor: 1, keepAlive: true, server: "minserve/test" };
/** Short writes: a sink that takes at most this many bytes per call. */
const SHORT_WRITE_BYTES = 7;
/** IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$/;

/** The status line and the two fields every response starts with. */
const OK = "HTTP/1.1 200 OK\r\nDate: <date>\r\nServer: minserve/test\r\n";
/** What `new Response("…")` sets for a string body. */
const TEXT = "Content-Type: text/plain;charset=UTF-8\r\n";

/**
 * WireCase is one row: a response (made fresh for each run, since a body
 * can be read once), the request it answers, and the exact bytes expected,
 * with the Date value written as `<date>`.
 */
interface WireCase {
  name: string;
  response: () => Response;
  options?: Partial<WriteOptions>;
  wire: string;
  result: WriteResult;
}

/** StreamProbe records what the writer did to a body stream. */
interface StreamProbe {
  pulls: number;
  cancelled: boolean;
}

/**
 * streamOf makes a body that hands out `pieces` one per pull, then ends, or
 * fails with `error`. Its length is unknown to the writer.
 */
function streamOf(
  pieces: readonly (string | Uint8Array)[],
  options: { error?: Error } = {},
): { stream: ReadableStream<Uint8Array>; probe: StreamProbe } {
  const probe: StreamProbe = { pulls: 0, cancelled: false };
  let next = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      probe.pulls++;
      const piece = pieces[next++];
      if (piece !== undefined) {
        controller.enqueue(typeof piece === "string" ? encode(piece) : piece);
      } else if (options.error !== undefined) {
        controller.error(options.error);
      } else {
        controller.close();
      }
    },
    cancel() {
      probe.cancelled = true;
    },
  });
  return { stream, probe };
}

/** finished tells whether a stream of `count` pieces was read to its end or cancelled. */
function finished(probe: StreamProbe, count: number): boolean {
  return probe.cancelled || probe.pulls > count;
}

/** pieces makes `count` pieces of `bytes` each, piece i filled with the letter i mod 26. */
function pieces(count: number, bytes: number): string[] {
  return Array.from({ length: count }, (_, i) => String.fromCharCode(97 + i % 26).repeat(bytes));
}

/** withoutDate checks that there is one Date field, an IMF-fixdate, and writes its value as `<date>`. */
function withoutDate(text: string): string {
  const dates = text.match(/\r\nDate: [^\r\n]*\r\n/g) ?? [];
  assert.equal(dates.length, 1, "exactly one Date field");
  const value = dates[0]!.slice("\r\nDate: ".length, -2);
  assert.match(value, IMF_FIXDATE);
  return text.replace(dates[0]!, "\r\nDate: <date>\r\n");
}

const CASES: WireCase[] = [
  {
    name: "string body with Content-Length, in one write",
    response: () => new Response("hello"),
    wire: `${OK}${TEXT}Content-Length: 5\r\n\r\nhello`,
    result: { bodyBytes: 5, keepAlive: true },
  },
  {
    name: "reason phrase follows the status",
    response: () => new Response("no", { status: 404 }),
    wire:
      `HTTP/1.1 404 Not Found\r\nDate: <date>\r\nServer: minserve/test\r\n${TEXT}Content-Length: 2\r\n\r\nno`,
    result: { bodyBytes: 2, keepAlive: true },
  },
  {
    name: "HTTP/1.0 request gets an HTTP/1.1 status line and Connection: close",
    response: () => new Response("hello"),
    options: { minor: 0, keepAlive: false },
    wire: `${OK}${TEXT}Content-Length: 5\r\nConnection: close\r\n\r\nhello`,
    result: { bodyBytes: 5, keepAlive: false },
  },
  {
    name: "HTTP/1.0 keep-alive is confirmed",
    response: () => new Response("hello"),
    options: { minor: 0, keepAlive: true },
    wire: `${OK}${TEXT}Content-Length: 5\r\nConnection: keep-alive\r\n\r\nhello`,
    result: { bodyBytes: 5, keepAlive: true },
  },
  {
    name: "HTTP/1.1 without keep-alive says Connection: close",
    response: () => new Response("hello"),
    options: { keepAlive: false },
    wire: `${OK}${TEXT}Content-Length: 5\r\nConnection: close\r\n\r\nhello`,
    result: { bodyBytes: 5, keepAlive: false },
  },
  {
    name: "no Server field when server is empty",
    response: () => new Response("hello"),
    options: { server: "" },
    wire: `HTTP/1.1 200 OK\r\nDate: <date>\r\n${TEXT}Content-Length: 5\r\n\r\nhello`,
    result: { bodyBytes: 5, keepAlive: true },
  },
  {
    name: "small stream of unknown length gets Content-Length",
    response: () => new Response(streamOf(["hel", "", "lo"]).stream),
    wire: `${OK}Content-Length: 5\r\n\r\nhello`,
    result: { bodyBytes: 5, keepAlive: true },
  },
  {
    name: "empty string body",
    response: () => new Response(""),
    wire: `${OK}${TEXT}Content-Length: 0\r\n\r\n`,
    result: { bodyBytes: 0, keepAlive: true },
  },
  {
    name: "bytes body is sent as is",
    response: () => new Response(new Uint8Array([0, 255, 13, 10])),
    wire: `${OK}Content-Length: 4\r\n\r\n\x00\xff\r\n`,
    result: { bodyBytes: 4, keepAlive: true },
  },
  {
    name: "body of exactly SMALL_BODY_BYTES still leaves with its head",
    response: () => new Response("x".repeat(SMALL_BODY_BYTES)),
    wire: `${OK}${TEXT}Content-Length: ${SMALL_BODY_BYTES}\r\n\r\n${"x".repeat(SMALL_BODY_BYTES)}`,
    result: { bodyBytes: SMALL_BODY_BYTES, keepAlive: true },
  },
  {
    // RFC 9110 §9.3.2: HEAD gets the fields GET would, without content.
    name: "HEAD gets the GET's Content-Length and no body",
    response: () => new Response("hello"),
    options: { head: true },
    wire: `${OK}${TEXT}Content-Length: 5\r\n\r\n`,
    result: { bodyBytes: 0, keepAlive: true },
  },
  {
    name: "HEAD keeps the handler's Content-Length",
    response: () => new Response(null, { headers: { "content-length": "1234" } }),
    options: { head: true },
    wire: `${OK}Content-Length: 1234\r\n\r\n`,
    result: { bodyBytes: 0, keepAlive: true },
  },
  {
    name: "HEAD with a declared length and a body",
    response: () =>
      new Response(streamOf(["x"]).stream, { headers: { "content-length": "100000" } }),
    options: { head: true },
    wire: `${OK}Content-Length: 100000\r\n\r\n`,
    result: { bodyBytes: 0, keepAlive: true },
  },
  {
    // RFC 9110 §8.6: no Content-Length in a 204.
    name: "204 has no body and no Content-Length",
    response: () =>
      new Response(null, { status: 204, headers: { "content-length": "0", allow: "GET" } }),
    wire: "HTTP/1.1 204 No Content\r\nDate: <date>\r\nServer: minserve/test\r\nAllow: GET\r\n\r\n",
    result: { bodyBytes: 0, keepAlive: true },
  },
  {
    // RFC 9110 §8.6: a 304 may carry the Content-Length a 200 would have.
    name: "304 repeats the GET's Content-Length and has no body",
    response: () =>
      new Response(null, { status: 304, headers: { etag: '"v1"', "content-length": "10" } }),
    wire:
      'HTTP/1.1 304 Not Modified\r\nDate: <date>\r\nServer: minserve/test\r\nETag: "v1"\r\nContent-Length: 10\r\n\r\n',
    result: { bodyBytes: 0, keepAlive: true },
  },
  {
    name: "304 without Content-Length",
    response: () => new Response(null, { status: 304, headers: { etag: '"v1"' } }),
    wire:
      'HTTP/1.1 304 Not Modified\r\nDate: <date>\r\nServer: minserve/test\r\nETag: "v1"\r\n\r\n',
    result: { bodyBytes: 0, keepAlive: true },
  },
  {
    // RFC 9110 §7.6.1: hop-by-hop fields are the connection's, set by the writer.
    name: "handler's hop-by-hop fields and Date are dropped",
    response: () =>
      new Response("hello", {
        headers: {
          connection: "keep-alive",
          "keep-alive": "timeout=5",
          "transfer-encoding": "chunked",
          te: "trailers",
          trailer: "x-sum",
          upgrade: "h2c",
          "proxy-connection": "keep-alive",
          date: "Thu, 01 Jan 1970 00:00:00 GMT",
          "x-kept": "1",
        },
      }),
    wire: `${OK}${TEXT}x-kept: 1\r\nContent-Length: 5\r\n\r\nhello`,
    result: { bodyBytes: 5, keepAlive: true },
  },
  {
    name: "handler's matching Content-Length is sent once",
    response: () => new Response("hello", { headers: { "content-length": "5" } }),
    wire: `${OK}${TEXT}Content-Length: 5\r\n\r\nhello`,
    result: { bodyBytes: 5, keepAlive: true },
  },
  {
    name: "handler's unparsable Content-Length is replaced",
    response: () => new Response("hello", { headers: { "content-length": "5, 5" } }),
    wire: `${OK}${TEXT}Content-Length: 5\r\n\r\nhello`,
    result: { bodyBytes: 5, keepAlive: true },
  },
  {
    name: "handler's Connection: close closes",
    response: () => new Response("hi", { headers: { connection: "close" } }),
    wire: `${OK}${TEXT}Content-Length: 2\r\nConnection: close\r\n\r\nhi`,
    result: { bodyBytes: 2, keepAlive: false },
  },
  {
    name: "Set-Cookie fields stay separate",
    response: () => new Response("hi", { headers: [["set-cookie", "a=1"], ["set-cookie", "b=2"]] }),
    wire: `${OK}${TEXT}set-cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 2\r\n\r\nhi`,
    result: { bodyBytes: 2, keepAlive: true },
  },
  {
    // RFC 9110 §8.6: in the absence of Transfer-Encoding (which HTTP/1.0
    // cannot use), a server SHOULD send Content-Length when it knows the
    // size; a body that is null is known to be empty, so there is no
    // reason to close a keep-alive connection.
    name: "null body on an HTTP/1.0 keep-alive",
    response: () => new Response(null, { status: 200 }),
    options: { minor: 0, keepAlive: true },
    wire: `${OK}Content-Length: 0\r\nConnection: keep-alive\r\n\r\n`,
    result: { bodyBytes: 0, keepAlive: true },
  },
];

/** write runs writeResponse into a fresh sink and returns the sink, the text and the result. */
async function write(
  response: Response,
  options: Partial<WriteOptions> = {},
  sinkOptions: { maxPerWrite?: number } = {},
): Promise<{ sink: ByteSink; text: string; result: WriteResult }> {
  const sink = new ByteSink(sinkOptions);
  const result = await writeResponse(sink, response, { ...OPTIONS, ...options });
  return { sink, text: sink.text(), result };
}

Deno.test("writeResponse turns each response into exactly these bytes", async (t) => {
  const names = CASES.map((c) => c.name);
  assert.equal(new Set(names).size, names.length, "case names are unique");
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const whole = await write(c.response(), c.options);
      assert.equal(withoutDate(whole.text), c.wire);
      assert.deepEqual(whole.result, c.result);
      assert.equal(whole.sink.writes, 1, "a small response leaves in one write");

      const short = await write(c.response(), c.options, { maxPerWrite: SHORT_WRITE_BYTES });
      assert.equal(withoutDate(short.text), c.wire, "the same bytes through short writes");
      assert.deepEqual(short.result, c.result);
    });
  }
});

/** SINKS are the two ways every streamed case is written. */
const SINKS = [{ name: "whole writes" }, { name: "short writes", maxPerWrite: SHORT_WRITE_BYTES }];

Deno.test("writeResponse streams a large body of unknown length", async (t) => {
  const body = pieces(100, 1000);
  for (const sinkOptions of SINKS) {
    await t.step(`chunked on HTTP/1.1, ${sinkOptions.name}`, async () => {
      const { text, result } = await write(
        new Response(streamOf(body).stream),
        {},
        sinkOptions,
      );
      assert.deepEqual(result, { bodyBytes: 100_000, keepAlive: true });
      const [res, ...more] = parseResponses(encode(text));
      assert.equal(more.length, 0);
      assert.equal(res!.status, 200);
      assert.equal(res!.framing, "chunked");
      assert.equal(res!.header("transfer-encoding"), "chunked");
      assert.equal(res!.header("content-length"), null);
      assert.equal(res!.header("connection"), null);
      assert.equal(decode(res!.body), body.join(""));
    });

    await t.step(`close-delimited on HTTP/1.0, ${sinkOptions.name}`, async () => {
      const { text, result } = await write(
        new Response(streamOf(body).stream),
        { minor: 0, keepAlive: true },
        sinkOptions,
      );
      assert.deepEqual(result, { bodyBytes: 100_000, keepAlive: false });
      const [res, ...more] = parseResponses(encode(text));
      assert.equal(more.length, 0);
      assert.equal(res!.framing, "eof");
      assert.equal(res!.header("transfer-encoding"), null);
      assert.equal(res!.header("content-length"), null);
      assert.equal(res!.header("connection"), "close");
      assert.equal(decode(res!.body), body.join(""));
    });
  }

  await t.step("HEAD on HTTP/1.1: the head only", async () => {
    const { stream, probe } = streamOf(body);
    const { text, result } = await write(new Response(stream), { head: true });
    assert.deepEqual(result, { bodyBytes: 0, keepAlive: true });
    const [res, ...more] = parseResponses(encode(text), { headMethods: ["HEAD"] });
    assert.equal(more.length, 0);
    assert.equal(res!.body.length, 0);
    assert.ok(text.endsWith("\r\n\r\n"));
    assert.equal(probe.cancelled, true, "the body is cancelled, not left open");
  });
});

Deno.test("writeResponse on HTTP/1.1 sends a null body as an empty one", async () => {
  const { text, result } = await write(new Response(null, { status: 200 }));
  assert.deepEqual(result, { bodyBytes: 0, keepAlive: true });
  const [res, ...more] = parseResponses(encode(text));
  assert.equal(more.length, 0);
  assert.equal(res!.body.length, 0);
});

Deno.test("writeResponse sends exactly a declared Content-Length shorter than the stream", async (t) => {
  for (
    const c of [
      { name: "small", body: ["hello"], declared: 3 },
      { name: "large", body: pieces(110, 1000), declared: 100_000 },
    ]
  ) {
    for (const sinkOptions of SINKS) {
      await t.step(`${c.name}, ${sinkOptions.name}`, async () => {
        const { stream, probe } = streamOf(c.body);
        const response = new Response(stream, {
          headers: { "content-length": String(c.declared) },
        });
        const { text, result } = await write(response, {}, sinkOptions);
        assert.deepEqual(result, { bodyBytes: c.declared, keepAlive: false });
        const [res, ...more] = parseResponses(encode(text));
        assert.equal(more.length, 0, "not one byte past the declared length");
        assert.equal(res!.header("content-length"), String(c.declared));
        assert.equal(decode(res!.body), c.body.join("").slice(0, c.declared));
        assert.ok(finished(probe, c.body.length), "the stream is read to its end or cancelled");
      });
    }
  }
});

Deno.test("writeResponse closes after a stream shorter than its declared Content-Length", async (t) => {
  for (
    const c of [
      { name: "small", body: ["hello"], declared: 10 },
      { name: "large", body: pieces(70, 1000), declared: 100_000 },
    ]
  ) {
    for (const sinkOptions of SINKS) {
      await t.step(`${c.name}, ${sinkOptions.name}`, async () => {
        const response = new Response(streamOf(c.body).stream, {
          headers: { "content-length": String(c.declared) },
        });
        const { text, result } = await write(response, {}, sinkOptions);
        const content = c.body.join("");
        assert.deepEqual(result, { bodyBytes: content.length, keepAlive: false });
        const headEnd = text.indexOf("\r\n\r\n") + 4;
        assert.match(text.slice(0, headEnd), new RegExp(`\r\nContent-Length: ${c.declared}\r\n`));
        assert.equal(text.slice(headEnd), content);
      });
    }
  }
});

Deno.test("writeResponse rejects when the body fails before anything is written", async () => {
  const failure = new Error("body failed");
  const sink = new ByteSink();
  const { stream } = streamOf(["hello"], { error: failure });
  await assert.rejects(() => writeResponse(sink, new Response(stream), OPTIONS), failure);
  assert.equal(sink.writes, 0);
});

Deno.test("writeResponse ends with keepAlive false when the body fails after the head", async (t) => {
  const failure = new Error("body failed");
  await t.step("unknown length: chunked without its last chunk", async () => {
    const body = pieces(70, 1000);
    const sink = new ByteSink();
    const { stream } = streamOf(body, { error: failure });
    const result = await writeResponse(sink, new Response(stream), OPTIONS);
    assert.deepEqual(result, { bodyBytes: 70_000, keepAlive: false });
    const text = sink.text();
    assert.ok(text.startsWith("HTTP/1.1 200 OK\r\n"));
    assert.match(text, /\r\nTransfer-Encoding: chunked\r\n/);
    assert.ok(!text.endsWith("0\r\n\r\n"), "no last chunk: the client sees the body is cut");
    assert.throws(() => parseResponses(encode(text)), SyntaxError);
  });
  await t.step("declared length: fewer bytes than declared", async () => {
    const body = pieces(70, 1000);
    const sink = new ByteSink();
    const { stream } = streamOf(body, { error: failure });
    const response = new Response(stream, { headers: { "content-length": "200000" } });
    const result = await writeResponse(sink, response, OPTIONS);
    assert.deepEqual(result, { bodyBytes: 70_000, keepAlive: false });
    const text = sink.text();
    assert.equal(text.slice(text.indexOf("\r\n\r\n") + 4), body.join(""));
  });
});

Deno.test("writeResponse tells a body cut short by its own source from a client gone", async (t) => {
  // A handler that echoes the request body reads it while the writer
  // writes: the body reader's UnexpectedEof is the body's failure (the
  // response ends cut), while a write error's kind means the client left.
  await t.step("UnexpectedEof from the body: the response is cut, keepAlive false", async () => {
    const body = pieces(70, 1000);
    const sink = new ByteSink();
    const { stream } = streamOf(body, { error: new Deno.errors.UnexpectedEof("ended early") });
    const result = await writeResponse(sink, new Response(stream), OPTIONS);
    assert.deepEqual(result, { bodyBytes: 70_000, keepAlive: false });
  });
  await t.step("BrokenPipe from the body: the client is gone, the writer rejects", async () => {
    const sink = new ByteSink();
    const { stream } = streamOf(pieces(70, 1000), { error: new Deno.errors.BrokenPipe() });
    await assert.rejects(
      () => writeResponse(sink, new Response(stream), OPTIONS),
      Deno.errors.BrokenPipe,
    );
  });
});

Deno.test("writeResponse cancels the body when the client is gone", async (t) => {
  // A body left uncancelled keeps what it reads from open (serve_file's
  // stream closes its file only at its end, on error or on cancel).
  const gone = {
    write: (_p: Uint8Array): Promise<number> =>
      Promise.reject(new Deno.errors.BrokenPipe("Broken pipe")),
  };
  for (
    const c of [
      { name: "large body of declared length", declared: "100000", body: pieces(100, 1000) },
      { name: "large body of unknown length", declared: undefined, body: pieces(100, 1000) },
      {
        name: "HEAD of a large body of unknown length",
        declared: undefined,
        body: pieces(100, 1000),
        head: true,
      },
    ]
  ) {
    await t.step(c.name, async () => {
      const { stream, probe } = streamOf(c.body);
      const headers: Record<string, string> = c.declared === undefined
        ? {}
        : { "content-length": c.declared };
      const response = new Response(stream, { headers });
      await assert.rejects(
        () => writeResponse(gone, response, { ...OPTIONS, head: c.head ?? false }),
        Deno.errors.BrokenPipe,
      );
      assert.ok(finished(probe, c.body.length), "the body is cancelled, not left open");
    });
  }
});

Deno.test("writeResponse streams 8 MiB in pieces without buffering it whole", async (t) => {
  const TOTAL = 8 * 1024 * 1024;
  const PIECE = 64 * 1024;
  /** The most the writer may have read ahead of what it wrote: far below TOTAL. */
  const MAX_AHEAD = 1024 * 1024;

  for (const kind of ["unknown length", "declared length, byte stream"] as const) {
    await t.step(kind, async () => {
      let produced = 0;
      const fill = (view: Uint8Array, at: number) => {
        for (let i = 0; i < view.length; i++) view[i] = (at + i) % 251;
      };
      const next = (): Uint8Array<ArrayBuffer> => {
        const piece = new Uint8Array(PIECE);
        fill(piece, produced);
        produced += PIECE;
        return piece;
      };
      const stream = kind === "unknown length"
        ? new ReadableStream<Uint8Array>({
          pull(controller) {
            if (produced === TOTAL) controller.close();
            else controller.enqueue(next());
          },
        })
        : new ReadableStream({
          type: "bytes",
          pull(controller) {
            if (produced < TOTAL) return controller.enqueue(next());
            controller.close();
            controller.byobRequest?.respond(0); // a pending BYOB read ends with done
          },
        });
      const headers: HeadersInit = kind === "unknown length"
        ? {}
        : { "content-length": String(TOTAL) };
      const inner = new ByteSink();
      let written = 0;
      let maxAhead = 0;
      const sink = {
        write(p: Uint8Array): Promise<number> {
          maxAhead = Math.max(maxAhead, produced - written);
          written += p.length;
          return inner.write(p);
        },
      };
      const result = await writeResponse(sink, new Response(stream, { headers }), OPTIONS);
      assert.deepEqual(result, { bodyBytes: TOTAL, keepAlive: true });
      assert.ok(inner.writes > 1, "more than one write");
      assert.ok(maxAhead <= MAX_AHEAD, `read ${maxAhead} bytes ahead of the sink`);

      const [res, ...more] = parseResponses(inner.bytes());
      assert.equal(more.length, 0);
      assert.equal(res!.framing, kind === "unknown length" ? "chunked" : "content-length");
      assert.equal(res!.body.length, TOTAL);
      const want = new Uint8Array(TOTAL);
      fill(want, 0);
      assert.ok(res!.body.every((b, i) => b === want[i]), "every byte in order");
    });
  }
});

Deno.test("writePlain writes exactly the head and body, however often and in what pieces", async (t) => {
  const fields = [["content-type", "text/plain"], ["etag", '"1"']] as const;
  const body = encode("hello, world");
  const plain: PlainResponse = { status: 200, fields, body: [body], length: body.length };
  const head = (extra = "") =>
    `${OK}Content-Type: text/plain\r\nETag: "1"\r\nContent-Length: 12\r\n${extra}\r\n`;
  const write = async (response: PlainResponse, options: WriteOptions, maxPerWrite = Infinity) => {
    const sink = new ByteSink({ maxPerWrite });
    const result = await writePlain(sink, response, options);
    return { text: decode(sink.bytes()).replace(IMF_FIXDATE_IN_HEAD, "Date: <date>"), result };
  };
  await t.step(
    "the same answer three times (a kept head, then a kept whole response)",
    async () => {
      for (let i = 0; i < 3; i++) {
        const { text, result } = await write(plain, OPTIONS);
        assert.equal(text, head() + "hello, world");
        assert.deepEqual(result, { bodyBytes: 12, keepAlive: true });
      }
    },
  );
  await t.step("another body with the same fields is not the kept one", async () => {
    const other = encode("HELLO, WORLD");
    const { text } = await write({ ...plain, body: [other] }, OPTIONS);
    assert.equal(text, head() + "HELLO, WORLD");
  });
  await t.step("closing, HTTP/1.0 and HEAD variants", async () => {
    assert.equal(
      (await write(plain, { ...OPTIONS, keepAlive: false })).text,
      head("Connection: close\r\n") + "hello, world",
    );
    assert.equal(
      (await write(plain, { ...OPTIONS, minor: 0 })).text,
      head("Connection: keep-alive\r\n") + "hello, world",
    );
    const { text, result } = await write(plain, { ...OPTIONS, head: true });
    assert.equal(text, head());
    assert.equal(result.bodyBytes, 0);
  });
  await t.step("a 304 carries no Content-Length and no body", async () => {
    const { text } = await write({ status: 304, fields, body: null, length: 0 }, OPTIONS);
    assert.equal(
      text,
      `HTTP/1.1 304 Not Modified\r\nDate: <date>\r\nServer: minserve/test\r\nContent-Type: text/plain\r\nETag: "1"\r\n\r\n`,
    );
  });
  await t.step("pieces (multipart) and short writes", async () => {
    const pieces = [encode("ab"), encode("cd"), encode("ef")];
    const { text } = await write(
      { status: 206, fields, body: pieces, length: 6 },
      OPTIONS,
      SHORT_WRITE_BYTES,
    );
    assert.ok(text.endsWith("Content-Length: 6\r\n\r\nabcdef"), text);
  });
  await t.step("a large body: every byte once, in order", async () => {
    const large = new Uint8Array(3 * SMALL_BODY_BYTES + 5).map((_, i) => i % 251);
    const answer = {
      status: 200,
      fields,
      body: [large.subarray(0, 10), large.subarray(10)],
      length: large.length,
    };
    const sink = new ByteSink({ maxPerWrite: 50_000 });
    await writePlain(sink, answer, OPTIONS);
    const [response] = parseResponses(sink.bytes());
    assert.deepEqual(response?.body, large);
  });
  await t.step("pooled buffers are not shared by writes in flight", async () => {
    // A sink that holds each write until all have started: a buffer reused
    // too early would show another response's bytes.
    const bodies = Array.from({ length: 8 }, (_, i) => encode(`body number ${i} `.repeat(50)));
    const sinks = bodies.map(() => new SlowSink());
    const writes = bodies.map((b, i) =>
      writePlain(sinks[i]!, {
        status: 200,
        fields: [["x-i", String(i)]],
        body: [b.subarray(0, 5), b.subarray(5)],
        length: b.length,
      }, OPTIONS)
    );
    for (const sink of sinks) sink.release();
    await Promise.all(writes);
    sinks.forEach((sink, i) => assert.deepEqual(parseResponses(sink.bytes())[0]?.body, bodies[i]));
  });
});

const IMF_FIXDATE_IN_HEAD = /Date: [A-Za-z]{3}, [0-9]{2} [A-Za-z]{3} [0-9]{4} [0-9:]{8} GMT/;

/** SlowSink keeps a copy of each write only when released, so a buffer changed meanwhile shows. */
class SlowSink {
  #pending: { view: Uint8Array; done: (n: number) => void }[] = [];
  #parts: Uint8Array[] = [];
  #released = false;
  write(p: Uint8Array): Promise<number> {
    if (this.#released) {
      this.#parts.push(p.slice());
      return Promise.resolve(p.length);
    }
    return new Promise((done) => this.#pending.push({ view: p, done }));
  }
  release() {
    this.#released = true;
    for (const { view, done } of this.#pending) {
      this.#parts.push(view.slice());
      done(view.length);
    }
  }
  bytes(): Uint8Array {
    return concat(this.#parts);
  }
}
