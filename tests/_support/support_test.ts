/**
 * support_test.ts — the test helpers are code too: these tests pin down what
 * they promise. The client is tested against scripted peers on a loopback
 * listener; the spawner's options that the suites do not already exercise
 * start the real server. The socket and temp-dir tests run only when `deno
 * test` grants net or write permission, the spawner's only with run too.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ByteSink, concat, decode, encode, everySplit, ScriptedReader } from "./bytes.ts";
import { Client, isPeerGone } from "./client.ts";
import { copy } from "./fs.ts";
import { DENO_JSON, FIXTURE_ROOT, MAIN_TS } from "./paths.ts";
import {
  HAVE_SCRIPT,
  parseListeningLine,
  parseResponses,
  rawRequest,
  runMain,
  shellQuote,
  spawnServer,
  startMain,
  withCopyOf,
  withTempDir,
} from "./server.ts";
import { readSeed } from "./random.ts";
import { delay, waitFor } from "./wait.ts";

const CAN_NET = Deno.permissions.querySync({ name: "net", host: "127.0.0.1" }).state ===
  "granted";
const CAN_WRITE = Deno.permissions.querySync({ name: "write" }).state === "granted" &&
  Deno.permissions.querySync({ name: "read" }).state === "granted";
/** Whether these tests may start the server: run, net and a temp copy of the fixture tree. */
const CAN_SPAWN = CAN_NET && CAN_WRITE &&
  Deno.permissions.querySync({ name: "run" }).state === "granted";
const NO_SCRIPT = " (SKIPPED, util-linux `script` is not installed)";

/** texts shows a partition as latin1 strings, for readable assertion failures. */
function texts(parts: Uint8Array[]): string[] {
  return parts.map(decode);
}

/** readAll drains a reader with a buffer of `size` bytes, returning each read's bytes. */
async function readAll(reader: ScriptedReader, size: number): Promise<string[]> {
  const reads: string[] = [];
  const buf = new Uint8Array(size);
  for (;;) {
    const n = await reader.read(buf);
    if (n === null) return reads;
    reads.push(decode(buf.subarray(0, n)));
  }
}

Deno.test("encode and decode map every byte 0-255 to one character and back", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const text = decode(all);
  assert.equal(text.length, 256);
  assert.equal(text.charCodeAt(0x85), 0x85); // not windows-1252's U+2026
  assert.deepEqual(encode(text), all);
  assert.deepEqual(encode("\r\n\xff"), new Uint8Array([13, 10, 255]));
  assert.throws(() => encode("caf\u00e9\u20ac"), RangeError);
  const big = new Uint8Array(100_000).fill(0x61);
  assert.equal(decode(big), "a".repeat(100_000));
});

Deno.test("concat joins parts in order", () => {
  assert.deepEqual(concat([]), new Uint8Array(0));
  assert.equal(decode(concat([encode("ab"), new Uint8Array(0), encode("c")])), "abc");
});

Deno.test("everySplit yields whole, bytewise and every two-part cut", () => {
  const got = [...everySplit(encode("abcd"))].map(texts);
  assert.deepEqual(got, [
    ["abcd"],
    ["a", "b", "c", "d"],
    ["a", "bcd"],
    ["ab", "cd"],
    ["abc", "d"],
  ]);
  assert.deepEqual([...everySplit(new Uint8Array(0))].map(texts), [[""]]);
  assert.deepEqual([...everySplit(encode("x"))].map(texts), [["x"]]);
});

Deno.test("everySplit partitions always concatenate back to the input", () => {
  for (const length of [2, 3, 17, 2048, 2049, 5000]) {
    const input = Uint8Array.from({ length }, (_, i) => (i * 31) % 256);
    let count = 0;
    for (const parts of everySplit(input)) {
      count++;
      assert.deepEqual(concat(parts), input, `length ${length}, partition ${count}`);
    }
    if (length <= 2048) assert.equal(count, 2 + (length - 1), `length ${length}`);
  }
});

Deno.test("everySplit thins the offsets of a long input but keeps both edges", () => {
  const length = 5000;
  const cuts = [...everySplit(new Uint8Array(length))].slice(2).map((p) => p[0]?.length);
  for (const edge of [1, 2, 255, 256, length - 256, length - 1]) assert.ok(cuts.includes(edge));
  assert.ok(cuts.includes(97 * 20));
  assert.ok(!cuts.includes(1000)); // interior and not a multiple of 97
  assert.equal(cuts.length, 256 + 256 + Math.floor((length - 1) / 97) - 5);
});

Deno.test("everySplit parts are copies, not views of the input", () => {
  const input = encode("hello");
  const [whole] = [...everySplit(input)];
  assert.ok(whole?.[0]);
  whole[0][0] = 0x4a;
  assert.equal(decode(input), "hello");
  assert.equal(whole[0].byteOffset, 0);
  assert.equal(whole[0].buffer.byteLength, 5);
});

Deno.test("ScriptedReader splits a chunk larger than the buffer and never joins chunks", async () => {
  const reader = new ScriptedReader(["abcdefg", encode("hi"), "", "j"]);
  assert.equal(reader.remaining, 10);
  assert.deepEqual(await readAll(reader, 3), ["abc", "def", "g", "hi", "j"]);
  assert.equal(reader.remaining, 0);
  assert.equal(await reader.read(new Uint8Array(3)), null, "EOF stays EOF");
  assert.equal(reader.reads, 7);
});

Deno.test("ScriptedReader returns 0 for an empty buffer and copies its chunks", async () => {
  const chunk = encode("ab");
  const reader = new ScriptedReader([chunk]);
  chunk[0] = 0x7a;
  assert.equal(await reader.read(new Uint8Array(0)), 0);
  assert.deepEqual(await readAll(reader, 8), ["ab"]);
});

Deno.test("ScriptedReader throws the given error after the chunks instead of EOF", async () => {
  const error = new Deno.errors.ConnectionReset("scripted reset");
  const reader = new ScriptedReader(["ab"], { error });
  const buf = new Uint8Array(8);
  assert.equal(await reader.read(buf), 2);
  await assert.rejects(reader.read(buf), (err) => err === error);
  await assert.rejects(reader.read(buf), (err) => err === error);
});

Deno.test("ByteSink records writes and simulates short writes", async () => {
  const sink = new ByteSink({ maxPerWrite: 3 });
  const data = encode("0123456789");
  assert.equal(await sink.write(data), 3);
  let offset = 3;
  while (offset < data.length) offset += await sink.write(data.subarray(offset));
  assert.equal(sink.writes, 4);
  assert.equal(sink.text(), "0123456789");
  assert.equal(await sink.write(new Uint8Array(0)), 0);
  data.fill(0); // the sink kept copies
  assert.deepEqual(sink.bytes(), encode("0123456789"));
});

Deno.test("ByteSink accepts a whole write by default and refuses a bad maxPerWrite", async () => {
  const sink = new ByteSink();
  assert.equal(await sink.write(new Uint8Array(100_000)), 100_000);
  assert.equal(sink.bytes().length, 100_000);
  for (const maxPerWrite of [0, -1, 1.5, NaN]) {
    assert.throws(() => new ByteSink({ maxPerWrite }), RangeError);
  }
});

Deno.test("parseResponses frames Content-Length, chunked, HEAD, 1xx, 304 and EOF bodies", () => {
  const stream = encode(
    "HTTP/1.1 100 Continue\r\n\r\n" +
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n" +
      "Content-Length: 13\r\nX-Dup: a\r\nx-dup:  b \r\n\r\nhello, world\n" +
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n" +
      "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n" +
      'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n' +
      "HTTP/1.0 404 \r\nConnection: close\r\n\r\n<p>gone</p>",
  );
  const got = parseResponses(stream, { headMethods: ["POST", "GET", "HEAD", "get", "GET"] });
  assert.deepEqual(
    got.map((r) => [r.version, r.status, r.reason, r.framing, r.text()]),
    [
      ["HTTP/1.1", 100, "Continue", "none", ""],
      ["HTTP/1.1", 200, "OK", "content-length", "hello, world\n"],
      ["HTTP/1.1", 200, "OK", "chunked", "hello, world"],
      ["HTTP/1.1", 200, "OK", "none", ""],
      ["HTTP/1.1", 304, "Not Modified", "none", ""],
      ["HTTP/1.0", 404, "", "eof", "<p>gone</p>"],
    ],
  );
  const [, first, chunked, head] = got;
  assert.equal(first?.header("CONTENT-TYPE"), "text/plain; charset=utf-8");
  assert.equal(first?.header("x-dup"), "a, b");
  assert.equal(first?.header("missing"), null);
  assert.deepEqual(first?.headers[0], ["content-type", "text/plain; charset=utf-8"]);
  assert.deepEqual(chunked?.trailers, [["x-trailer", "t"]]);
  assert.equal(head?.header("content-length"), "13");
  assert.equal(head?.rawHead, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n");
  assert.deepEqual(parseResponses(new Uint8Array(0)), []);
});

Deno.test("parseResponses reads a 204 without a body and counts HEAD only for final responses", () => {
  const stream = encode(
    "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n" +
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n" +
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n" +
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  );
  const got = parseResponses(stream, { headMethods: ["DELETE", "HEAD", "GET"] });
  assert.deepEqual(got.map((r) => [r.status, r.text()]), [[204, ""], [103, ""], [200, ""], [
    200,
    "ok",
  ]]);
});

Deno.test("parseResponses throws on malformed or truncated input", async (t) => {
  const CASES: { name: string; raw: string }[] = [
    { name: "bare LF", raw: "HTTP/1.1 200 OK\nContent-Length: 0\n\n" },
    { name: "no reason separator", raw: "HTTP/1.1 200\r\n\r\n" },
    { name: "two-digit status", raw: "HTTP/1.1 20 OK\r\n\r\n" },
    { name: "HTTP/2 version", raw: "HTTP/2 200 OK\r\n\r\n" },
    { name: "space before colon", raw: "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n" },
    { name: "obs-fold", raw: "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n" },
    { name: "control character in value", raw: "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n" },
    { name: "head never ends", raw: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" },
    { name: "short body", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc" },
    {
      name: "two Content-Length fields",
      raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na",
    },
    { name: "signed Content-Length", raw: "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\na" },
    {
      name: "Content-Length and chunked",
      raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    },
    {
      name: "chunk without CRLF after data",
      raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
    },
    {
      name: "chunk size not hex",
      raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
    },
    {
      name: "no last chunk",
      raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    },
    {
      name: "no CRLF after trailers",
      raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
    },
    { name: "garbage after a response", raw: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nxyz" },
  ];
  for (const c of CASES) {
    await t.step(c.name, () => assert.throws(() => parseResponses(encode(c.raw)), SyntaxError));
  }
});

Deno.test({
  name: "rawRequest sends bytes and returns everything up to EOF",
  ignore: !CAN_NET,
  async fn() {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const served = (async () => {
      using conn = await listener.accept();
      const buf = new Uint8Array(1024);
      const n = await conn.read(buf);
      await conn.write(concat([encode("echo:"), buf.subarray(0, n ?? 0)]));
    })();
    const got = await rawRequest(listener.addr.port, "ping\xff");
    await served;
    assert.equal(decode(got), "echo:ping\xff");
  },
});

Deno.test({
  name: "rawRequest half-closes so the peer sees EOF",
  ignore: !CAN_NET,
  async fn() {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const served = (async () => {
      using conn = await listener.accept();
      const parts: Uint8Array[] = [];
      const buf = new Uint8Array(1024);
      for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
        parts.push(buf.slice(0, n));
      }
      await conn.write(encode(`got ${concat(parts).length} bytes`));
    })();
    const got = await rawRequest(listener.addr.port, encode("abc"), { halfClose: true });
    await served;
    assert.equal(decode(got), "got 3 bytes");
  },
});

Deno.test({
  name: "rawRequest returns what arrived when the peer keeps the connection open",
  ignore: !CAN_NET,
  async fn() {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const done = Promise.withResolvers<void>();
    const served = (async () => {
      using conn = await listener.accept();
      await conn.write(encode("partial"));
      await done.promise; // hold the connection open past the timeout
    })();
    const started = performance.now();
    const got = await rawRequest(listener.addr.port, "x", { timeoutMs: 200 });
    const elapsed = performance.now() - started;
    done.resolve();
    await served;
    assert.equal(decode(got), "partial");
    assert.ok(elapsed >= 150 && elapsed < 3000, `took ${elapsed} ms`);
  },
});

Deno.test({
  name: "withTempDir removes its directory after success and after failure",
  ignore: !CAN_WRITE,
  async fn() {
    const kept = await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/a.txt`, "a");
      assert.equal(dir, await Deno.realPath(dir));
      return dir;
    });
    await assert.rejects(Deno.stat(kept), Deno.errors.NotFound);
    let failed = "";
    await assert.rejects(
      withTempDir((dir) => {
        failed = dir;
        return Promise.reject(new Error("boom"));
      }),
      /boom/,
    );
    await assert.rejects(Deno.stat(failed), Deno.errors.NotFound);
  },
});

/** Peer is one accepted connection of a scripted loopback server. */
type Peer = (conn: Deno.Conn) => Promise<void>;

/**
 * withPeer listens on a loopback port, hands the first accepted connection
 * to `peer`, and calls `fn` with the port; it waits for both, and closes the
 * listener and the peer's connection whatever happens.
 */
async function withPeer(peer: Peer, fn: (port: number) => Promise<void>): Promise<void> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    using conn = await listener.accept();
    await peer(conn).catch((err) => {
      if (!isPeerGone(err) && !(err instanceof Deno.errors.BadResource)) throw err;
    });
  })();
  try {
    await fn(listener.addr.port);
  } finally {
    await served;
  }
}

/** readHead reads from `conn` until a blank line, returning the text read. */
async function readHead(conn: Deno.Conn): Promise<string> {
  let text = "";
  const buf = new Uint8Array(1024);
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += decode(buf.subarray(0, n));
  }
  return text;
}

const OK_HELLO = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

Deno.test("isPeerGone is true for a closed or reset peer, false for anything else", () => {
  for (
    const err of [
      new Deno.errors.ConnectionReset("x"),
      new Deno.errors.BrokenPipe("x"),
      new Deno.errors.ConnectionAborted("x"),
      new Deno.errors.NotConnected("x"),
      new Deno.errors.UnexpectedEof("x"),
    ]
  ) assert.ok(isPeerGone(err), err.name);
  for (
    const err of [
      new Deno.errors.TimedOut("x"),
      new Deno.errors.ConnectionRefused("x"),
      new Error("reset"),
      "ConnectionReset",
      undefined,
    ]
  ) assert.ok(!isPeerGone(err), String(err));
});

Deno.test({
  name: "Client keeps one connection: exchanges in turn, responses counted from the start",
  ignore: !CAN_NET,
  async fn() {
    const peer: Peer = async (conn) => {
      for (const reply of [OK_HELLO, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"]) {
        await readHead(conn);
        await conn.write(encode(reply));
      }
    };
    await withPeer(peer, async (port) => {
      using client = await Client.connect(port);
      await client.send("GET /a HTTP/1.1\r\n\r\n");
      const [first] = await client.responses(1);
      assert.equal(first?.text(), "hello");
      await client.send(encode("GET /b HTTP/1.1\r\n\r\n"));
      const all = await client.responses(2);
      assert.deepEqual(all.map((r) => r.status), [200, 404]);
      assert.equal(client.eof, false);
      assert.equal(await client.untilEof(2_000) >= 0, true);
      assert.equal(client.eof, true);
      assert.ok(client.endedAt !== undefined && client.endedAt >= client.connectedAt);
      assert.equal(await client.read(), null, "EOF stays EOF");
      assert.equal(decode(client.bytes).split("HTTP/1.1").length - 1, 2);
    });
  },
});

Deno.test({
  name: "Client.responses: finalOnly skips 1xx, headMethods reads a HEAD answer without a body",
  ignore: !CAN_NET,
  async fn() {
    const peer: Peer = async (conn) => {
      await readHead(conn);
      await conn.write(encode("HTTP/1.1 100 Continue\r\n\r\n"));
      await delay(100);
      await conn.write(encode("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"));
      await delay(100);
      await conn.write(encode(OK_HELLO));
    };
    await withPeer(peer, async (port) => {
      using client = await Client.connect(port);
      await client.send("HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
      const methods = { headMethods: ["HEAD", "GET"] };
      // The 100 arrives alone; counting only final responses waits past it.
      const first = await client.responses(1, { ...methods, finalOnly: true });
      assert.deepEqual(first.map((r) => [r.status, r.text()]), [[100, ""], [200, ""]]);
      const all = await client.responses(3, methods);
      assert.deepEqual(all.map((r) => [r.status, r.text()]), [[100, ""], [200, ""], [
        200,
        "hello",
      ]]);
    });
  },
});

Deno.test({
  name: "Client.read throws TimedOut when nothing arrives, and closes the connection",
  ignore: !CAN_NET,
  async fn() {
    const release = Promise.withResolvers<void>();
    const peer: Peer = async () => await release.promise;
    await withPeer(peer, async (port) => {
      using client = await Client.connect(port, { readTimeoutMs: 100 });
      await assert.rejects(client.read(), Deno.errors.TimedOut);
      assert.equal(client.closed, true);
      release.resolve();
    });
  },
});

Deno.test({
  name: "Client.responses and untilEof throw at their deadline though bytes keep trickling in",
  ignore: !CAN_NET,
  async fn(t) {
    const waits: [string, (client: Client) => Promise<unknown>][] = [
      ["responses", (client) => client.responses(1, { timeoutMs: 300 })],
      ["untilEof", (client) => client.untilEof(300)],
    ];
    for (const [name, wait] of waits) {
      await t.step(name, async () => {
        const stop = Promise.withResolvers<void>();
        let stopped = false;
        stop.promise.then(() => (stopped = true));
        const peer: Peer = async (conn) => {
          await conn.write(encode("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"));
          while (!stopped) {
            await conn.write(encode("x"));
            await delay(20);
          }
        };
        await withPeer(peer, async (port) => {
          using client = await Client.connect(port);
          const started = Date.now();
          await assert.rejects(wait(client), Deno.errors.TimedOut);
          assert.ok(Date.now() - started < 3_000);
          await assert.rejects(client.read(), /closed/, "a read after a timeout says why");
          stop.resolve();
        });
      });
    }
  },
});

Deno.test({
  name: "Client.responses throws when the server closes before the responses are whole",
  ignore: !CAN_NET,
  async fn() {
    const peer: Peer = async (conn) => {
      await conn.write(encode("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf"));
    };
    await withPeer(peer, async (port) => {
      using client = await Client.connect(port);
      await assert.rejects(client.responses(1), /Cannot read 1 responses: the server closed/);
      assert.equal(client.parsed(), undefined, "a cut response does not parse");
      assert.equal(client.eof, true);
    });
  },
});

Deno.test({
  name: "Client: a peer that closes with bytes unread (a reset) ends the stream as EOF does",
  ignore: !CAN_NET,
  async fn() {
    const peer: Peer = async (conn) => {
      await conn.read(new Uint8Array(1)); // the request arrived; most of it stays unread
      await conn.write(encode("bye"));
      conn.close(); // closing with unread bytes makes the kernel send a reset
    };
    await withPeer(peer, async (port) => {
      using client = await Client.connect(port);
      await client.send(new Uint8Array(32 * 1024));
      await delay(100);
      await client.untilEof(2_000);
      assert.equal(client.eof, true);
      assert.ok(["", "bye"].includes(decode(client.bytes)), decode(client.bytes));
    });
  },
});

Deno.test({
  name: "Client.readInBackground sees what it never asked for; read is then refused",
  ignore: !CAN_NET,
  async fn() {
    const peer: Peer = async (conn) => {
      await conn.write(encode("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"));
    };
    await withPeer(peer, async (port) => {
      using client = await Client.connect(port);
      const ended = client.readInBackground();
      assert.equal(client.readInBackground(), ended, "one background reader");
      await ended;
      assert.equal(client.eof, true);
      assert.deepEqual(client.parsed()?.map((r) => r.status), [503]);
      await assert.rejects(client.read(), /reading in the background/);
    });
  },
});

Deno.test({
  name: "Client.close ends a background read and is safe to call twice",
  ignore: !CAN_NET,
  async fn() {
    const release = Promise.withResolvers<void>();
    await withPeer(async () => await release.promise, async (port) => {
      const client = await Client.connect(port);
      const ended = client.readInBackground();
      assert.equal(client.eof, false);
      client.close();
      client.close();
      await ended;
      assert.equal(client.eof, true);
      release.resolve();
    });
  },
});

Deno.test({
  name: "Client.send writes an async iterable chunk by chunk; closeWrite gives the peer EOF",
  ignore: !CAN_NET,
  async fn() {
    let got = "";
    const peer: Peer = async (conn) => {
      const buf = new Uint8Array(1024);
      for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
        got += decode(buf.subarray(0, n));
      }
      await conn.write(encode("bye"));
    };
    await withPeer(peer, async (port) => {
      using client = await Client.connect(port);
      async function* pieces() {
        yield encode("one,");
        yield new Uint8Array(0);
        yield encode("two");
      }
      await client.send(pieces());
      await client.closeWrite();
      await client.untilEof(2_000);
      assert.equal(decode(client.bytes), "bye");
    });
    assert.equal(got, "one,two");
  },
});

Deno.test({
  name: "rawRequest gives up writing to a peer that never reads, and returns what arrived",
  ignore: !CAN_NET,
  async fn() {
    const release = Promise.withResolvers<void>();
    const peer: Peer = async (conn) => {
      await conn.write(encode("early"));
      await release.promise; // never read: the client's writes fill the socket buffers
    };
    await withPeer(peer, async (port) => {
      const huge = new Uint8Array(64 * 1024 * 1024);
      const got = await rawRequest(port, huge, { timeoutMs: 300 });
      release.resolve();
      assert.ok(["", "early"].includes(decode(got)), decode(got));
    });
  },
});

Deno.test("parseListeningLine reads the banner's scheme, host and port", async (t) => {
  const CASES: [line: string, want: ReturnType<typeof parseListeningLine>][] = [
    ["listening on http://127.0.0.1:8080/", { scheme: "http", hostname: "127.0.0.1", port: 8080 }],
    ["minserve: listening on https://localhost:443/ (TLS)", {
      scheme: "https",
      hostname: "localhost",
      port: 443,
    }],
    ["listening on http://[::1]:41234/\r", { scheme: "http", hostname: "[::1]", port: 41234 }],
    ["listening on \x1b[1m\x1b[32mhttp://0.0.0.0:80/\x1b[0m", {
      scheme: "http",
      hostname: "0.0.0.0",
      port: 80,
    }],
    ["listening on ftp://127.0.0.1:21/", undefined],
    ["listening on http://127.0.0.1/", undefined],
    ["GET / HTTP/1.1 200", undefined],
  ];
  for (const [line, want] of CASES) {
    await t.step(JSON.stringify(line), () => assert.deepEqual(parseListeningLine(line), want));
  }
});

Deno.test({
  name: "copy and withCopyOf copy the fixture tree; withCopyOf removes it afterwards",
  ignore: !CAN_WRITE,
  async fn() {
    const seen = await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
      assert.equal(root, join(dir, "root"));
      assert.deepEqual(
        await Deno.readFile(join(root, "hello.txt")),
        await Deno.readFile(join(FIXTURE_ROOT, "hello.txt")),
      );
      assert.ok((await Deno.stat(join(root, "nested", "deep", "file.txt"))).isFile);
      await copy(join(root, "nested"), join(dir, "again"));
      assert.ok((await Deno.stat(join(dir, "again", "deep", "file.txt"))).isFile);
      return dir;
    });
    await assert.rejects(Deno.stat(seen), Deno.errors.NotFound);
  },
});

Deno.test("waitFor polls until its check holds, or reports false at its deadline", async () => {
  let calls = 0;
  assert.equal(await waitFor(() => ++calls === 3, 2_000), true);
  assert.equal(calls, 3);
  assert.equal(await waitFor(() => Promise.resolve(false), 50), false);
  assert.equal(await waitFor(async () => await Promise.resolve(true), 0), true);
});

// ---------------------------------------------------------------------------
// The spawner: the options main_test.ts and compile_test.ts need.

Deno.test({
  name: "startMain returns before any banner; exit() gives the code, listening() the output",
  ignore: !CAN_SPAWN,
  async fn() {
    await using refused = startMain({ root: FIXTURE_ROOT, args: ["--port", "abc"] });
    assert.equal(await refused.exit(), 1);
    assert.match(refused.stderrText(), /^minserve: .*--port "abc"/);
    assert.equal(refused.exited, true);
    await assert.rejects(
      refused.listening(),
      /exited with code 1 before listening\n--- stdout ---\n\n--- stderr ---\nminserve: /,
    );
  },
});

Deno.test({
  name: "startMain without a root passes none; exit() throws for a run that goes on",
  ignore: !CAN_SPAWN,
  async fn() {
    {
      await using version = startMain({ listenArgs: [], args: ["--version"] });
      assert.equal(await version.exit(), 0, version.stderrText());
      assert.match(version.text(), /^minserve \d+\.\d+\.\d+\n$/);
    }
    await withCopyOf(FIXTURE_ROOT, async (root) => {
      await using server = startMain({ root });
      await server.listening();
      await server.listening(); // a second wait is the same one
      assert.ok(server.port > 0);
      await assert.rejects(server.exit(), /^Error: still running after 15000 ms:\n.*listening on/);
      assert.equal(server.exited, false);
    });
  },
});

Deno.test({
  name: "spawnServer: permissions are exactly the flags given, relative to cwd",
  ignore: !CAN_SPAWN,
  async fn(t) {
    await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
      await t.step("the root granted by a path relative to cwd: served", async () => {
        await using server = await spawnServer({
          root: "./root",
          permissions: ["--allow-net=127.0.0.1", "--allow-read=./root"],
          cwd: dir,
        });
        const response = await fetch(`${server.url}/hello.txt`);
        assert.equal(await response.text(), "hello, world\n");
        assert.match(server.text(), new RegExp(`deno: +read: ${root}; write: none`));
      });
      await t.step("the root not among them: not granted for it", async () => {
        await using refused = startMain({ root, permissions: ["--allow-net=127.0.0.1"] });
        assert.equal(await refused.exit(), 1, refused.text());
        assert.match(
          refused.stderrText(),
          /^minserve: cannot read ROOT ".*": not permitted; run: /,
        );
      });
    });
  },
});

Deno.test({
  name: "spawnServer runs a whole command instead of deno run main.ts",
  ignore: !CAN_SPAWN,
  async fn() {
    await withCopyOf(FIXTURE_ROOT, async (root) => {
      const denoRun = [Deno.execPath(), "run", "--no-prompt", `--config=${DENO_JSON}`];
      const line = [...denoRun, "--allow-net=127.0.0.1", `--allow-read=${root}`, MAIN_TS, root]
        .map(shellQuote).join(" ");
      await using server = await spawnServer({
        command: ["/bin/sh", "-c", `echo from the shell; exec ${line} --port 0`],
        env: { NO_COLOR: "1" },
      });
      assert.match(
        server.text(),
        /^from the shell\nminserve \S+ listening on http:\/\/127\.0\.0\.1:\d+\//,
      );
      const response = await fetch(`${server.url}/hello.txt`);
      assert.equal(await response.text(), "hello, world\n");
    });
  },
});

Deno.test({
  name: `answers: at a terminal, Deno's prompts are answered in order${
    HAVE_SCRIPT ? "" : NO_SCRIPT
  }`,
  ignore: !CAN_SPAWN || !HAVE_SCRIPT,
  async fn(t) {
    await withCopyOf(FIXTURE_ROOT, async (root) => {
      const asked = {
        root,
        permissions: ["--allow-net=127.0.0.1"],
        terminal: true,
        env: { NO_COLOR: "1" },
      };
      await t.step("yes: the root is read and served", async () => {
        await using server = await spawnServer({ ...asked, answers: ["y"] });
        assert.deepEqual(server.prompts(), [`read access to "${root}"`]);
        const text = server.text();
        assert.ok(!text.includes("\r") && !text.includes("\u001b"), JSON.stringify(text));
        const response = await fetch(`${server.url}/hello.txt`);
        assert.equal(await response.text(), "hello, world\n");
      });
      await t.step("no: the run ends", async () => {
        await using refused = startMain({ ...asked, answers: ["n"] });
        assert.equal(await refused.exit(), 1, refused.text());
        assert.deepEqual(refused.prompts(), [`read access to "${root}"`]);
        assert.match(refused.text(), /minserve: cannot read ROOT/);
      });
      await t.step("without answers: --no-prompt, so no prompt and no keyboard", async () => {
        await using refused = startMain(asked);
        assert.equal(await refused.exit(), 1, refused.text());
        assert.deepEqual(refused.prompts(), []);
        await assert.rejects(refused.type("y\n"), TypeError);
      });
    });
  },
});

Deno.test({
  name: `type: keys typed at the terminal reach the program${HAVE_SCRIPT ? "" : NO_SCRIPT}`,
  ignore: !CAN_SPAWN || !HAVE_SCRIPT,
  async fn() {
    await using run = startMain({
      listenArgs: [],
      args: ["hash-password", "--cost", "4"],
      permissions: [],
      terminal: true,
      answers: [],
    });
    assert.ok(await waitFor(() => run.text().includes("Password: "), 15_000), run.text());
    await run.type("one\r");
    assert.ok(await waitFor(() => run.text().includes("Again: "), 15_000), run.text());
    await run.type("two\r");
    assert.equal(await run.exit(), 1, run.text());
    assert.match(run.text(), /the two passwords differ/);
  },
});

Deno.test({
  name: `a command at a terminal: signals reach its whole process group${
    HAVE_SCRIPT ? "" : NO_SCRIPT
  }`,
  ignore: !CAN_SPAWN || !HAVE_SCRIPT,
  async fn() {
    await withCopyOf(FIXTURE_ROOT, async (root) => {
      const denoRun = [Deno.execPath(), "run", "--no-prompt", `--config=${DENO_JSON}`];
      const line = [...denoRun, "--allow-net=127.0.0.1", `--allow-read=${root}`, MAIN_TS, root]
        .map(shellQuote).join(" ");
      // The server is the shell's child; the shell ignores SIGTERM and waits for it, so the
      // run ends by itself only if the server, too, is sent SIGTERM (it stops on it).
      const server = await spawnServer({
        command: ["/bin/sh", "-c", `trap '' TERM; ${line} --port 0 & echo CHILD $!; wait`],
        terminal: true,
      });
      const child = Number(/^CHILD (\d+)/m.exec(server.text())?.[1]);
      assert.ok(child > 0, server.text());
      try {
        await server[Symbol.asyncDispose]();
        const status = await server.status;
        assert.deepEqual([status.code, status.signal], [0, null], "killed, not stopped");
        const gone = await waitFor(() => !isRunning(child), 5_000);
        assert.ok(gone, `the server ${child} outlived the shell`);
      } finally {
        if (isRunning(child)) Deno.kill(child, "SIGKILL");
      }
    });
  },
});

/** isRunning tells whether process `pid` exists (signal 0 through `kill -0`). */
function isRunning(pid: number): boolean {
  return new Deno.Command("kill", { args: ["-0", String(pid)], stderr: "null" }).outputSync()
    .success;
}

Deno.test({
  name: "runMain: denoFlags, env and cwd reach the run",
  ignore: !CAN_SPAWN,
  async fn(t) {
    await t.step("env, readable through denoFlags", async () => {
      const out = await runMain([], {
        allowNet: "127.0.0.1",
        denoFlags: ["--allow-env=MINSERVE_PORT"],
        env: { MINSERVE_PORT: "abc" },
      });
      assert.equal(out.code, 1, out.stderr);
      assert.match(out.stderr, /^minserve: Cannot use MINSERVE_PORT "abc"/);
    });
    await t.step("cwd: the default root is looked for there", async () => {
      await withTempDir(async (dir) => {
        const out = await runMain(["--port", "0"], {
          allowNet: "127.0.0.1",
          allowRead: ["./www"],
          cwd: dir,
        });
        assert.equal(out.code, 1, out.stderr);
        assert.equal(out.stderr, `minserve: cannot use ROOT "./www": no such directory\n`);
      });
    });
  },
});

Deno.test({
  name:
    "readSeed: the variable's integer when set, the fallback when unset or empty, else an error",
  ignore: Deno.permissions.querySync({ name: "env" }).state !== "granted",
  fn() {
    const name = "MINSERVE_SUPPORT_TEST_SEED";
    try {
      Deno.env.delete(name);
      assert.equal(readSeed(name, 7), 7);
      Deno.env.set(name, "");
      assert.equal(readSeed(name, 7), 7);
      Deno.env.set(name, "-42");
      assert.equal(readSeed(name, 7), -42);
      for (const bad of ["x", "1.5", "9007199254740993"]) {
        Deno.env.set(name, bad);
        assert.throws(
          () => readSeed(name, 7),
          (err: unknown) =>
            err instanceof RangeError &&
            err.message === `Cannot use ${name} "${bad}": value must be an integer`,
        );
      }
    } finally {
      Deno.env.delete(name);
    }
  },
});
