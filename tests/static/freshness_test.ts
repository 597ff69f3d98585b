/**
 * Never stale: a response that begins after a write to the document root
 * has completed reflects that write — its bytes, its Content-Length and its
 * validators (ETag, Last-Modified) — however the file changed: rewritten in
 * place at the same size, compressed on the fly, asked for by range,
 * replaced by rename, deleted, created, revalidated with the ETag it used to
 * have, or asked for with HEAD.
 *
 * "Within a second" is not enough: a client that saves a file and reloads
 * the page must see what it saved, and an ETag that once stood for other
 * bytes turns into a 304 that keeps the old bytes in every cache for good.
 *
 * The real server runs as a subprocess with the helper's narrow
 * permissions, and each step hammers one file a thousand times over one
 * keep-alive connection, since a connection that stays open is what lets
 * a server answer from memory. Every write has returned before its request
 * is sent, so on a correct server no outcome depends on timing. Same-size
 * rewrites within one modification-time tick are the hard case, on purpose:
 * size and mtime cannot tell them apart. One more step checks that an
 * unchanged file keeps its ETag and gets 304s, so disabling validators
 * cannot pass this file.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from "node:zlib";
import { concat, decode, encode } from "../_support/bytes.ts";
import { spawnServer, withTempDir } from "../_support/server.ts";

/** Iterations of each step: enough that a one-tick or one-second window is hit many times. */
const ITERATIONS = 1000;
/** Iterations of the HEAD step, which sends two requests each. */
const HEAD_ITERATIONS = 300;
/** A step still running after this long fails, saying how far it got; a hang cannot stall the file.
 * Generous: CI machines are shared, and a step takes 2–10 s when they are quiet. */
const STEP_DEADLINE_MS = 120_000;
/** How long one response may take to arrive in full before the step fails. */
const RESPONSE_TIMEOUT_MS = 10_000;
/** Size of the same-size rewrites: small enough for any in-memory cache. */
const SMALL_BYTES = 2 * 1024;
/** Size of the compressed step's file, above any sensible compression threshold. */
const COMPRESSIBLE_BYTES = 8 * 1024;
/** How many bytes of a body a failure message shows. */
const PREVIEW_BYTES = 60;
/** A response head larger than this is a server bug, not something to wait for. */
const MAX_HEAD_BYTES = 64 * 1024;
/** The socket read buffer. */
const READ_CHUNK_BYTES = 64 * 1024;
/** What a browser sends. */
const BROWSER_ACCEPT_ENCODING = "gzip, deflate, br";

const CRLF_CRLF = encode("\r\n\r\n");
const CRLF = encode("\r\n");
const STATUS_LINE = /^HTTP\/1\.[01] ([0-9]{3})(?: .*)?$/;

/**
 * contentOf is the text of version `i` of a file: always `size` bytes, and
 * every line starts with the zero-padded counter, so any 100-byte window of
 * two versions differs while the size does not. Repeated lines compress well.
 */
function contentOf(tag: string, i: number, size: number): Uint8Array {
  const counter = String(i).padStart(6, "0");
  const line = `${counter} ${tag}: the quick brown fox jumps over the lazy dog\n`;
  return encode(line.repeat(Math.ceil(size / line.length)).slice(0, size));
}

/** preview shows the first PREVIEW_BYTES of `bytes` and the total, for failure messages. */
function preview(bytes: Uint8Array): string {
  const shown = JSON.stringify(decode(bytes.subarray(0, PREVIEW_BYTES)));
  const more = bytes.length > PREVIEW_BYTES ? "…" : "";
  return `${shown}${more} (${bytes.length} bytes)`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Reply is one HTTP/1.1 response as {@linkcode KeepAliveClient} read it. */
interface Reply {
  status: number;
  /** The status line and fields as received (latin1), for failure messages. */
  head: string;
  /** Field values by lowercased name; repeated fields joined with ", ". */
  fields: Map<string, string>;
  /** The body with chunked coding removed; content coding left as sent. */
  body: Uint8Array;
}

/**
 * KeepAliveClient sends one request at a time on one connection and reads
 * exactly one response back: status line, fields, then a body framed by
 * Content-Length or chunked coding, or none for HEAD, 1xx, 204 and 304
 * (RFC 9112 §6.3). It shares no code with `lib/`. A response that closes
 * the connection is followed by a new one for the next request; a response
 * that does not arrive in RESPONSE_TIMEOUT_MS fails the step.
 */
class KeepAliveClient implements Disposable {
  #port: number;
  #conn: Deno.TcpConn | undefined;
  /** Bytes received and not yet consumed: the start of the next response. */
  #pending: Uint8Array = new Uint8Array(0);

  constructor(port: number) {
    this.#port = port;
  }

  /** send writes `method path` with `fields` and returns the one response to it. */
  async send(method: string, path: string, fields: Record<string, string> = {}): Promise<Reply> {
    this.#conn ??= await Deno.connect({ hostname: "127.0.0.1", port: this.#port });
    const conn = this.#conn;
    let head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
    for (const [name, value] of Object.entries(fields)) head += `${name}: ${value}\r\n`;
    const request = encode(head + "\r\n");
    let timedOut = false;
    // Closing the socket makes the pending read or write fail, which ends the wait.
    const timer = setTimeout(() => {
      timedOut = true;
      this.#close();
    }, RESPONSE_TIMEOUT_MS);
    try {
      for (let offset = 0; offset < request.length;) {
        offset += await conn.write(request.subarray(offset));
      }
      let reply: Reply;
      do reply = await this.#readResponse(method); while (reply.status < 200);
      if (/\bclose\b/i.test(reply.fields.get("connection") ?? "")) this.#close();
      return reply;
    } catch (err) {
      if (timedOut) {
        throw new Error(
          `No complete response to ${method} ${path} within ${RESPONSE_TIMEOUT_MS} ms`,
        );
      }
      this.#close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  [Symbol.dispose](): void {
    this.#close();
  }

  #close() {
    const conn = this.#conn;
    this.#conn = undefined;
    this.#pending = new Uint8Array(0);
    conn?.close();
  }

  async #readResponse(method: string): Promise<Reply> {
    let end: number;
    while ((end = indexOf(this.#pending, CRLF_CRLF)) === -1) {
      if (this.#pending.length > MAX_HEAD_BYTES) throw new Error("Response head too large");
      await this.#fill();
    }
    const head = decode(this.#take(end + 4));
    const [statusLine = "", ...lines] = head.slice(0, -4).split("\r\n");
    const match = STATUS_LINE.exec(statusLine);
    if (match === null) throw new Error(`Invalid status line ${JSON.stringify(statusLine)}`);
    const status = Number(match[1]);
    const fields = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon <= 0) throw new Error(`Invalid header field ${JSON.stringify(line)}`);
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      const before = fields.get(name);
      fields.set(name, before === undefined ? value : `${before}, ${value}`);
    }
    let body: Uint8Array = new Uint8Array(0);
    const bodiless = status < 200 || status === 204 || status === 304 || method === "HEAD";
    if (!bodiless) {
      const coding = fields.get("transfer-encoding");
      const length = fields.get("content-length");
      if (coding !== undefined) {
        if (coding.toLowerCase() !== "chunked") throw new Error(`Unexpected coding ${coding}`);
        body = await this.#readChunked();
      } else if (length !== undefined && /^[0-9]+$/.test(length)) {
        body = await this.#readExactly(Number(length));
      } else {
        throw new Error(`No usable framing on a keep-alive response:\n${head}`);
      }
    }
    return { status, head, fields, body };
  }

  async #readChunked(): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const line = decode(await this.#readLine());
      const size = parseInt(line.split(";")[0]!.trim(), 16);
      if (Number.isNaN(size)) throw new Error(`Invalid chunk size line ${JSON.stringify(line)}`);
      if (size === 0) break;
      chunks.push(await this.#readExactly(size));
      if ((await this.#readLine()).length !== 0) throw new Error("Chunk not followed by CRLF");
    }
    while ((await this.#readLine()).length !== 0); // trailer fields, if any
    return concat(chunks);
  }

  async #readLine(): Promise<Uint8Array> {
    let end: number;
    while ((end = indexOf(this.#pending, CRLF)) === -1) await this.#fill();
    return this.#take(end + 2).subarray(0, end);
  }

  async #readExactly(length: number): Promise<Uint8Array> {
    while (this.#pending.length < length) await this.#fill();
    return this.#take(length);
  }

  #take(length: number): Uint8Array {
    const taken = this.#pending.slice(0, length);
    this.#pending = this.#pending.subarray(length);
    return taken;
  }

  async #fill() {
    const conn = this.#conn;
    if (conn === undefined) throw new Error("Connection closed");
    const buf = new Uint8Array(READ_CHUNK_BYTES);
    const n = await conn.read(buf);
    if (n === null) throw new Error("The server closed the connection in mid-response");
    this.#pending = concat([this.#pending, buf.subarray(0, n)]);
  }
}

/** Version is what the test knows about one write: its bytes and the mtime it left. */
interface Version {
  iteration: number;
  bytes: Uint8Array;
  /** The file's mtime right after the write (ms), from the test's own stat. */
  mtimeMs: number;
}

/**
 * Checker holds one step's memory of validators: each ETag seen and the
 * version it stood for. An ETag may differ per content coding, but one ETag
 * standing for two different contents is exactly the staleness this file
 * is about: a cache revalidating with it would get a 304 and keep the old
 * bytes.
 */
class Checker {
  #etags = new Map<string, Version>();
  #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  /** write writes `bytes` in place and returns the version (the write has completed). */
  write(iteration: number, bytes: Uint8Array): Version {
    Deno.writeFileSync(this.#path, bytes);
    return this.stat(iteration, bytes);
  }

  /** stat records the version now on disk, after a write or a rename the caller made. */
  stat(iteration: number, bytes: Uint8Array): Version {
    return { iteration, bytes, mtimeMs: Deno.statSync(this.#path).mtime?.getTime() ?? 0 };
  }

  /**
   * validators checks that `reply` carries an ETag that never stood for
   * another version, and a Last-Modified, if any, no older than the write.
   */
  validators(reply: Reply, version: Version): void {
    const i = version.iteration;
    const etag = reply.fields.get("etag");
    if (etag === undefined) assert.fail(`iteration ${i}: no ETag in\n${reply.head}`);
    const before = this.#etags.get(etag);
    if (before === undefined) {
      this.#etags.set(etag, version);
    } else if (!sameBytes(before.bytes, version.bytes)) {
      assert.fail(
        `iteration ${i}: ETag ${etag} stood for the content of iteration ${before.iteration} ` +
          `${preview(before.bytes)} and now for ${preview(version.bytes)}`,
      );
    }
    const lastModified = reply.fields.get("last-modified");
    if (lastModified !== undefined) {
      const stamp = Date.parse(lastModified);
      // HTTP dates have whole seconds: the write's second is the oldest allowed.
      const oldest = Math.floor(version.mtimeMs / 1000) * 1000;
      if (Number.isNaN(stamp) || stamp < oldest) {
        assert.fail(
          `iteration ${i}: Last-Modified ${lastModified} is older than the write ` +
            `(${new Date(version.mtimeMs).toUTCString()})`,
        );
      }
    }
  }

  /**
   * whole checks a 200 carrying the whole of `version`: status, Content-Length
   * (identity only), the body after undoing its content coding, validators.
   */
  whole(reply: Reply, version: Version): void {
    const i = version.iteration;
    status(reply, 200, i);
    const coding = reply.fields.get("content-encoding") ?? "identity";
    const length = reply.fields.get("content-length");
    if (coding === "identity" && length !== undefined && length !== String(version.bytes.length)) {
      assert.fail(
        `iteration ${i}: Content-Length: expected ${version.bytes.length}, got ${length}`,
      );
    }
    const body = decoded(reply.body, coding, i);
    if (!sameBytes(body, version.bytes)) {
      assert.fail(
        `iteration ${i}: body (${coding}): expected ${preview(version.bytes)}, got ${
          preview(body)
        }`,
      );
    }
    this.validators(reply, version);
  }
}

function status(reply: Reply, want: number, i: number): void {
  if (reply.status !== want) {
    assert.fail(
      `iteration ${i}: status: expected ${want}, got ${reply.status}, body ${
        preview(reply.body)
      }\n${reply.head}`,
    );
  }
}

/** decoded undoes the content coding `coding` of `body`. */
function decoded(body: Uint8Array, coding: string, i: number): Uint8Array {
  try {
    switch (coding.toLowerCase()) {
      case "identity":
        return body;
      case "br":
        return new Uint8Array(brotliDecompressSync(body));
      case "gzip":
      case "x-gzip":
        return new Uint8Array(gunzipSync(body));
      case "deflate":
        // RFC 9110 §8.4.1.2 says zlib format; some servers send raw deflate.
        try {
          return new Uint8Array(inflateSync(body));
        } catch {
          return new Uint8Array(inflateRawSync(body));
        }
    }
  } catch (err) {
    assert.fail(`iteration ${i}: body does not decode as ${coding} (${err}): ${preview(body)}`);
  }
  assert.fail(`iteration ${i}: unrequested Content-Encoding ${coding}`);
}

/** Deadline fails a step that runs past STEP_DEADLINE_MS, saying how far it got. */
class Deadline {
  #end = Date.now() + STEP_DEADLINE_MS;
  check(i: number, of: number): void {
    if (Date.now() > this.#end) {
      assert.fail(`only ${i - 1} of ${of} iterations within ${STEP_DEADLINE_MS} ms`);
    }
  }
}

/** StepContext is what each step gets: its file, its connection, its checks. */
interface StepContext {
  client: KeepAliveClient;
  /** The file on disk. */
  path: string;
  /** The file's URL path. */
  url: string;
  check: Checker;
  deadline: Deadline;
}

Deno.test("never stale: a response begun after a write completed reflects it", async (t) => {
  await withTempDir(async (dir) => {
    const root = join(dir, "www");
    await Deno.mkdir(root);
    await using server = await spawnServer({ root, args: ["--quiet"] });
    /** A step: one file, one keep-alive connection, a checker of its validators. */
    const step = (name: string, file: string, fn: (s: StepContext) => Promise<void>) =>
      t.step(name, async () => {
        using client = new KeepAliveClient(server.port);
        const path = join(root, file);
        await fn({
          client,
          path,
          url: `/${file}`,
          check: new Checker(path),
          deadline: new Deadline(),
        });
      });

    await step("rewritten in place at the same size, then GET", "same.txt", async (s) => {
      for (let i = 0; i <= ITERATIONS; i++) {
        s.deadline.check(i, ITERATIONS);
        const version = s.check.write(i, contentOf("same", i, SMALL_BYTES));
        s.check.whole(await s.client.send("GET", s.url), version);
      }
    });

    await step(
      "rewritten in place, GET with a browser's Accept-Encoding",
      "coded.txt",
      async (s) => {
        let compressed = 0;
        for (let i = 0; i <= ITERATIONS; i++) {
          s.deadline.check(i, ITERATIONS);
          const version = s.check.write(i, contentOf("coded", i, COMPRESSIBLE_BYTES));
          const reply = await s.client.send("GET", s.url, {
            "Accept-Encoding": BROWSER_ACCEPT_ENCODING,
          });
          s.check.whole(reply, version);
          if (reply.fields.has("content-encoding")) compressed++;
        }
        // Otherwise this step would only repeat the first one.
        assert.ok(compressed > 0, "the server never compressed: this step tested nothing new");
      },
    );

    await step("rewritten in place, GET bytes=100-199", "ranged.txt", async (s) => {
      for (let i = 0; i <= ITERATIONS; i++) {
        s.deadline.check(i, ITERATIONS);
        const version = s.check.write(i, contentOf("ranged", i, SMALL_BYTES));
        const reply = await s.client.send("GET", s.url, { "Range": "bytes=100-199" });
        status(reply, 206, i);
        const range = reply.fields.get("content-range");
        const wantRange = `bytes 100-199/${SMALL_BYTES}`;
        if (range !== wantRange) {
          assert.fail(`iteration ${i}: Content-Range: expected ${wantRange}, got ${range}`);
        }
        const want = version.bytes.slice(100, 200);
        if (!sameBytes(reply.body, want)) {
          assert.fail(
            `iteration ${i}: body: expected ${preview(want)}, got ${preview(reply.body)}`,
          );
        }
        // A 206's ETag is the whole representation's.
        s.check.validators(reply, version);
      }
    });

    await step("replaced by rename (sizes alternate), then GET", "renamed.txt", async (s) => {
      // A dotfile is never served, so the half-written file is never visible.
      const temp = join(root, ".renamed.txt.next");
      for (let i = 0; i <= ITERATIONS; i++) {
        s.deadline.check(i, ITERATIONS);
        // Two same-size replacements, then two of another size: both hard and easy cases.
        const size = i % 4 < 2 ? SMALL_BYTES : SMALL_BYTES + 512;
        const bytes = contentOf("renamed", i, size);
        Deno.writeFileSync(temp, bytes);
        Deno.renameSync(temp, s.path);
        const version = s.check.stat(i, bytes);
        s.check.whole(await s.client.send("GET", s.url), version);
      }
    });

    await step("deleted (404) and created again (200), alternately", "born.txt", async (s) => {
      const born = s.check.write(0, contentOf("born", 0, SMALL_BYTES));
      s.check.whole(await s.client.send("GET", s.url), born);
      for (let i = 1; i <= ITERATIONS; i++) {
        s.deadline.check(i, ITERATIONS);
        if (i % 2 === 1) {
          Deno.removeSync(s.path);
          status(await s.client.send("GET", s.url), 404, i);
        } else {
          const version = s.check.write(i, contentOf("born", i, SMALL_BYTES));
          s.check.whole(await s.client.send("GET", s.url), version);
        }
      }
    });

    await step(
      "revalidated with the previous ETag: 200, never 304",
      "revalidated.txt",
      async (s) => {
        const initial = s.check.write(0, contentOf("revalidated", 0, SMALL_BYTES));
        const first = await s.client.send("GET", s.url);
        s.check.whole(first, initial);
        let previous = first.fields.get("etag") ?? "";
        for (let i = 1; i <= ITERATIONS; i++) {
          s.deadline.check(i, ITERATIONS);
          const version = s.check.write(i, contentOf("revalidated", i, SMALL_BYTES));
          const reply = await s.client.send("GET", s.url, { "If-None-Match": previous });
          if (reply.status === 304) {
            assert.fail(
              `iteration ${i}: 304 for If-None-Match: ${previous}, the ETag of the content ` +
                `before this write; expected 200 with ${preview(version.bytes)}\n${reply.head}`,
            );
          }
          s.check.whole(reply, version);
          previous = reply.fields.get("etag") ?? "";
        }
      },
    );

    await step("HEAD after a rewrite to a new size, then GET", "sized.txt", async (s) => {
      for (let i = 0; i <= HEAD_ITERATIONS; i++) {
        s.deadline.check(i, HEAD_ITERATIONS);
        // Consecutive sizes always differ: they are 37 bytes apart, modulo 1000.
        const version = s.check.write(i, contentOf("sized", i, 1024 + (i * 37) % 1000));
        const head = await s.client.send("HEAD", s.url);
        status(head, 200, i);
        const length = head.fields.get("content-length");
        if (length !== String(version.bytes.length)) {
          assert.fail(
            `iteration ${i}: HEAD Content-Length: expected ${version.bytes.length}, got ${length}`,
          );
        }
        s.check.validators(head, version);
        // The GET is what would let a server keep the file in memory for the next HEAD.
        s.check.whole(await s.client.send("GET", s.url), version);
      }
    });

    await step("an unchanged file keeps its ETag and gets 304s", "still.txt", async (s) => {
      const bytes = contentOf("still", 0, SMALL_BYTES);
      Deno.writeFileSync(s.path, bytes);
      // An hour old: no "modified just now" caution of the server's applies.
      const past = new Date(Date.now() - 3600_000);
      Deno.utimeSync(s.path, past, past);
      const version = s.check.stat(0, bytes);
      const first = await s.client.send("GET", s.url);
      s.check.whole(first, version);
      const etag = first.fields.get("etag") ?? "";
      const lastModified = first.fields.get("last-modified");
      assert.ok(lastModified !== undefined, `no Last-Modified in\n${first.head}`);
      for (let i = 1; i <= 50; i++) {
        const reply = await s.client.send("GET", s.url);
        s.check.whole(reply, version);
        assert.equal(reply.fields.get("etag"), etag, `iteration ${i}: ETag changed`);
        assert.equal(reply.fields.get("last-modified"), lastModified, `iteration ${i}`);
      }
      for (let i = 51; i <= 100; i++) {
        const reply = await s.client.send("GET", s.url, { "If-None-Match": etag });
        status(reply, 304, i);
        assert.equal(reply.fields.get("etag"), etag, `iteration ${i}: ETag of the 304`);
      }
    });
  });
});
