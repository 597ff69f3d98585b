/**
 * exchange_test.ts — one request's body policy and keep-alive verdict, with
 * the bytes of its body in an in-memory buffer and `100 Continue` written
 * to an in-memory sink.
 */

import assert from "node:assert/strict";
import { Exchange, MAX_DRAIN_BYTES } from "../lib/exchange.ts";
import { HttpError } from "../lib/http/http_error.ts";
import { InputBuffer } from "../lib/http/input.ts";
import { parseRequestHead, type RequestHead } from "../lib/http/request_head.ts";
import { ByteSink, encode, ScriptedReader } from "./_support/bytes.ts";

const CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";

/** exchangeOf parses `raw`'s head and makes its exchange, the body (if any) read from what follows. */
function exchangeOf(raw: string, rest: string[] = [], maxBodyBytes = 1000) {
  const result = parseRequestHead(encode(raw));
  assert.equal(result.kind, "complete");
  const { head, consumed } = result as { head: RequestHead; consumed: number };
  const input = new InputBuffer(new ScriptedReader([raw.slice(consumed), ...rest]), 64 * 1024);
  const sink = new ByteSink();
  return { exchange: new Exchange(head, input, { sink, maxBodyBytes }), sink };
}

async function readAll(body: ReadableStream<Uint8Array> | null): Promise<string> {
  return body === null ? "" : await new Response(body).text();
}

interface Case {
  name: string;
  raw: string;
  rest?: string[];
  maxBodyBytes?: number;
  /** Whether the handler reads the whole body before answering. */
  reads: boolean;
  /** Whether the connection is still open (not shutting down). */
  open?: boolean;
  want: { keepAlive: boolean; continued: boolean; body?: string };
}

const POST = (length: number, extra = "") =>
  `POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: ${length}\r\n${extra}\r\n`;

const CASES: Case[] = [
  {
    name: "no body: keep-alive",
    raw: "POST /p HTTP/1.1\r\nHost: a\r\n\r\n",
    reads: false,
    want: { keepAlive: true, continued: false },
  },
  {
    name: "a body read whole: keep-alive",
    raw: POST(3) + "abc",
    reads: true,
    want: { keepAlive: true, continued: false, body: "abc" },
  },
  {
    name: "a small body left unread: keep-alive, the connection drains it",
    raw: POST(3) + "abc",
    reads: false,
    want: { keepAlive: true, continued: false },
  },
  {
    name: "an unread body over MAX_DRAIN_BYTES: close",
    raw: POST(MAX_DRAIN_BYTES + 1),
    maxBodyBytes: 10 * MAX_DRAIN_BYTES,
    reads: false,
    want: { keepAlive: false, continued: false },
  },
  {
    name: "a declared body over the limit, unread: close",
    raw: POST(2000),
    reads: false,
    want: { keepAlive: false, continued: false },
  },
  {
    name: "the client asked to close",
    raw: POST(0, "Connection: close\r\n"),
    reads: false,
    want: { keepAlive: false, continued: false },
  },
  {
    name: "the server is shutting down",
    raw: POST(0),
    reads: false,
    open: false,
    want: { keepAlive: false, continued: false },
  },
  {
    name: "100-continue, read: sent once, keep-alive",
    raw: POST(2, "Expect: 100-continue\r\n"),
    rest: ["h", "i"],
    reads: true,
    want: { keepAlive: true, continued: true, body: "hi" },
  },
  {
    name: "100-continue, unread: not sent, close (the body may never come)",
    raw: POST(2, "Expect: 100-continue\r\n"),
    reads: false,
    want: { keepAlive: false, continued: false },
  },
  {
    name: "a GET's body is discarded before the handler: null body, keep-alive",
    raw: "GET /g HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
    reads: true,
    want: { keepAlive: true, continued: false, body: "" },
  },
  {
    name: "a GET's body with 100-continue: sent, then discarded",
    raw: "GET /g HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
    rest: ["abc"],
    reads: true,
    want: { keepAlive: true, continued: true, body: "" },
  },
];

Deno.test("Exchange: the body policy and the keep-alive verdict", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const { exchange, sink } = exchangeOf(c.raw, c.rest, c.maxBodyBytes);
      const body = await exchange.body();
      if (c.reads) assert.equal(await readAll(body), c.want.body);
      assert.equal(exchange.keepAlive(c.open ?? true), c.want.keepAlive);
      assert.equal(sink.text(), c.want.continued ? CONTINUE : "");
    });
  }
});

Deno.test("Exchange: a failed body means close, whatever else holds", async () => {
  const { exchange } = exchangeOf(POST(2000));
  await assert.rejects(readAll(await exchange.body()), (err) => {
    return err instanceof HttpError && err.status === 413;
  });
  assert.equal(exchange.keepAlive(true), false);
});

Deno.test("Exchange: a GET body too large to discard is refused with 413, no 100 sent first when over the limit", async () => {
  const { exchange, sink } = exchangeOf(
    `GET /g HTTP/1.1\r\nHost: a\r\nContent-Length: ${
      MAX_DRAIN_BYTES + 1
    }\r\nExpect: 100-continue\r\n\r\n`,
    [],
    1000,
  );
  await assert.rejects(exchange.body(), (err) => err instanceof HttpError && err.status === 413);
  assert.equal(sink.text(), "");
});

Deno.test("Exchange: 100 Continue is written once however often the hook runs", async () => {
  const { exchange, sink } = exchangeOf(POST(2, "Expect: 100-continue\r\n"), ["hi"]);
  await exchange.beforeFirstRead();
  await exchange.beforeFirstRead();
  assert.equal(sink.text(), CONTINUE);
});
