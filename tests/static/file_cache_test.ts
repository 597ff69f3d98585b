/**
 * The small-file cache must answer exactly what the normal path would,
 * and never anything stale for longer than a second.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../lib/app.ts";
import { parseRequestHead, type RequestHead } from "../../lib/http/request_head.ts";
import { writeResponse } from "../../lib/http/response_writer.ts";
import {
  FileCache,
  MAX_CACHE_ENTRIES,
  NEGATIVE_TTL_MS,
  REVALIDATE_MS,
} from "../../lib/static/file_cache.ts";
import { ByteSink, decode, encode } from "../_support/bytes.ts";

const SERVER = "minserve/test";
const INFO = { remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 } };

function head(raw: string): RequestHead {
  const result = parseRequestHead(encode(raw));
  assert.equal(result.kind, "complete");
  return (result as { head: RequestHead }).head;
}

const GET = (path: string, fields = "") => head(`GET ${path} HTTP/1.1\r\nHost: a\r\n${fields}\r\n`);

/** Drops the Date line, the only part allowed to differ. */
const undated = (text: string) => text.replace(/\r\nDate: [^\r]*/, "");

async function withSite(
  fn: (ctx: {
    root: string;
    cache: FileCache;
    clock: { now: number };
    normal: (h: RequestHead) => Promise<{ response: Response; text: string }>;
    offer: (h: RequestHead) => Promise<string>;
  }) => Promise<void>,
) {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "minserve_cache_" }));
  try {
    await Deno.writeTextFile(join(root, "a.txt"), "alpha\n");
    await Deno.writeFile(join(root, "b.bin"), new Uint8Array(2000).fill(66));
    await Deno.writeTextFile(join(root, "page.html"), "<p>page</p>\n".repeat(200));
    await Deno.writeTextFile(join(root, "index.html"), "<p>home</p>\n");
    const app = createApp({
      root,
      realRoot: root,
      listing: true,
      dotfiles: false,
      headers: [["X-Extra", "1"]],
    });
    const clock = { now: Date.now() };
    const cache = new FileCache(SERVER, () => clock.now);
    const respond = async (h: RequestHead) => {
      const url = `http://a${h.target}`;
      return await app(new Request(url, { method: h.method, headers: h.headers }), INFO);
    };
    const normal = async (h: RequestHead) => {
      const response = await respond(h);
      const sink = new ByteSink();
      await writeResponse(sink, response.clone(), {
        head: h.method === "HEAD",
        minor: h.minor,
        keepAlive: h.keepAlive,
        server: SERVER,
      });
      return { response, text: sink.text() };
    };
    const offer = async (h: RequestHead) => {
      const { response, text } = await normal(h);
      await cache.offer(h, response);
      return text;
    };
    await fn({ root, cache, clock, normal, offer });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("FileCache answers exactly what the normal path writes", async (t) => {
  await withSite(async ({ cache, offer, normal }) => {
    const CASES: Array<[name: string, raw: RequestHead]> = [
      ["keep-alive 1.1", GET("/a.txt")],
      ["HEAD", head("HEAD /a.txt HTTP/1.1\r\nHost: a\r\n\r\n")],
      ["Connection: close", GET("/a.txt", "Connection: close\r\n")],
      ["HTTP/1.0", head("GET /a.txt HTTP/1.0\r\n\r\n")],
      ["HTTP/1.0 keep-alive", head("GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")],
      ["the index of /", GET("/")],
      ["a 404 without Accept", GET("/missing.txt")],
    ];
    await offer(GET("/a.txt"));
    await offer(GET("/"));
    await offer(GET("/missing.txt"));
    for (const [name, h] of CASES) {
      await t.step(name, async () => {
        const hit = cache.lookup(h, h.keepAlive);
        assert.ok(hit, "a hit");
        const { text } = await normal(h);
        assert.equal(undated(decode(hit.bytes)), undated(text));
        assert.match(decode(hit.bytes), /\r\nx-extra: 1\r\n/);
      });
    }
  });
});

Deno.test("FileCache leaves alone what could change the response", async (t) => {
  await withSite(async ({ cache, offer }) => {
    await offer(GET("/a.txt"));
    await offer(GET("/page.html"));
    await offer(GET("/missing.txt"));
    const MISSES: Array<[name: string, raw: RequestHead]> = [
      ["a query", GET("/a.txt?x=1")],
      ["a Range", GET("/a.txt", "Range: bytes=0-1\r\n")],
      ["If-None-Match", GET("/a.txt", 'If-None-Match: "x"\r\n')],
      ["If-Modified-Since", GET("/a.txt", "If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n")],
      ["Accept-Encoding on a compressible file", GET("/page.html", "Accept-Encoding: gzip\r\n")],
      ["Accept on a 404 (the page depends on it)", GET("/missing.txt", "Accept: text/html\r\n")],
      ["Sec-Fetch-Mode on a 404", GET("/missing.txt", "Sec-Fetch-Mode: navigate\r\n")],
      ["POST", head("POST /a.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")],
      ["another path", GET("/b.bin")],
      ["absolute-form", head("GET http://a/a.txt HTTP/1.1\r\nHost: a\r\n\r\n")],
    ];
    for (const [name, h] of MISSES) {
      await t.step(name, () => assert.equal(cache.lookup(h, true), undefined));
    }
    await t.step("but Accept-Encoding on an incompressible file is fine", async () => {
      await offer(GET("/b.bin"));
      assert.ok(cache.lookup(GET("/b.bin", "Accept-Encoding: gzip\r\n"), true));
    });
    await t.step("and a Range request is never stored", async () => {
      await offer(GET("/a.txt", "Range: bytes=0-1\r\n"));
      assert.equal(cache.lookup(GET("/a.txt", "Range: bytes=0-1\r\n"), true), undefined);
    });
  });
});

Deno.test("FileCache is never stale for long", async (t) => {
  await withSite(async ({ root, cache, clock, offer }) => {
    await t.step("a changed file is noticed once REVALIDATE_MS has passed", async () => {
      await offer(GET("/a.txt"));
      await Deno.writeTextFile(join(root, "a.txt"), "changed, longer\n");
      assert.ok(cache.lookup(GET("/a.txt"), true), "still trusted within the second");
      clock.now += REVALIDATE_MS;
      assert.equal(cache.lookup(GET("/a.txt"), true), undefined);
    });
    await t.step("a deleted file is noticed", async () => {
      await offer(GET("/b.bin"));
      await Deno.remove(join(root, "b.bin"));
      clock.now += REVALIDATE_MS;
      assert.equal(cache.lookup(GET("/b.bin"), true), undefined);
    });
    await t.step("a symlink pointed elsewhere is noticed", async () => {
      await Deno.writeTextFile(join(root, "one.txt"), "one\n");
      await Deno.writeTextFile(join(root, "two.txt"), "two\n");
      await Deno.symlink("one.txt", join(root, "link.txt"));
      await offer(GET("/link.txt"));
      await Deno.remove(join(root, "link.txt"));
      await Deno.symlink("two.txt", join(root, "link.txt"));
      clock.now += REVALIDATE_MS;
      assert.equal(cache.lookup(GET("/link.txt"), true), undefined);
    });
    await t.step("a 404 is remembered for NEGATIVE_TTL_MS only", async () => {
      await offer(GET("/later.txt"));
      await Deno.writeTextFile(join(root, "later.txt"), "now here\n");
      assert.equal(cache.lookup(GET("/later.txt"), true)?.status, 404);
      clock.now += NEGATIVE_TTL_MS;
      assert.equal(cache.lookup(GET("/later.txt"), true), undefined);
    });
    await t.step("the Date follows the clock", async () => {
      await offer(GET("/one.txt"));
      clock.now += 1000;
      const later = decode(cache.lookup(GET("/one.txt"), true)!.bytes);
      assert.match(
        later,
        new RegExp(
          `Date: ${new Date(Math.floor(Date.now() / 1000) * 1000).toUTCString().slice(0, 5)}`,
        ),
      );
      assert.match(
        later,
        /\r\nDate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n/,
      );
    });
  });
});

Deno.test("FileCache is bounded in entries", async () => {
  await withSite(async ({ cache, offer }) => {
    for (let i = 0; i < MAX_CACHE_ENTRIES + 50; i++) await offer(GET(`/missing-${i}`));
    assert.ok(cache.size <= MAX_CACHE_ENTRIES, `${cache.size} entries`);
    assert.equal(cache.lookup(GET("/missing-0"), true), undefined, "the oldest went first");
  });
});
