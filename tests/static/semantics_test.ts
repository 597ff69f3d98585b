/**
 * HTTP semantics of static files (RFC 9110 §12–§15), tested on the handler
 * with plain Requests: negotiation and compression, multiple ranges,
 * `?bytes=N`, conditional requests per representation, CORS, Cache-Control.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type AppOptions, createApp } from "../../lib/app.ts";
import type { Handler } from "../../lib/http/handler.ts";
import { RepresentationStore } from "../../lib/static/store.ts";

const INFO = { remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 } };
const encoder = new TextEncoder();

async function compress(bytes: Uint8Array, format: string): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream(format as CompressionFormat));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function decompress(bytes: Uint8Array, format: string): Promise<string> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream(format as CompressionFormat));
  return await new Response(stream).text();
}

/** A root with compressible and incompressible files, and precompressed siblings. */
async function withSite(
  fn: (
    app: Handler,
    get: (path: string, headers?: HeadersInit, method?: string) => Promise<Response>,
    files: Record<string, string>,
  ) => Promise<void>,
  options: Partial<AppOptions> = {},
) {
  const root = await Deno.makeTempDir({ prefix: "minserve_semantics_" });
  try {
    const big = Array.from({ length: 4000 }, (_, i) => `line ${i}: the quick brown fox\n`).join("");
    const js = "export const answer = 42;\n".repeat(100);
    const files: Record<string, string> = {
      "big.txt": big,
      "small.txt": "tiny\n",
      "app.js": js,
      "digits.txt": "0123456789abcdefghij",
    };
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(root, name), text);
    }
    await Deno.writeFile(join(root, "app.js.br"), await compress(encoder.encode(js), "brotli"));
    await Deno.writeFile(join(root, "app.js.gz"), await compress(encoder.encode(js), "gzip"));
    await Deno.writeFile(join(root, "image.png"), new Uint8Array(4096).fill(7));
    // Dates are sent and compared only once a file's second is over (see
    // "a file changed this second" below): these files are an hour old.
    const anHourAgo = new Date(Date.now() - 3600_000);
    for await (const entry of Deno.readDir(root)) {
      await Deno.utime(join(root, entry.name), anHourAgo, anHourAgo);
    }
    const app = createApp({
      root,
      realRoot: await Deno.realPath(root),
      listing: true,
      dotfiles: false,
      ...options,
    });
    const get = (path: string, headers: HeadersInit = {}, method = "GET") =>
      Promise.resolve(app(new Request(`http://x${path}`, { method, headers }), INFO));
    await fn(app, get, files);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("compression: negotiated, varied, tagged per coding", async (t) => {
  await withSite(async (_app, get, files) => {
    await t.step("no Accept-Encoding: identity with Content-Length and Vary", async () => {
      const res = await get("/big.txt");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-encoding"), null);
      assert.equal(res.headers.get("vary"), "Accept-Encoding");
      assert.equal(res.headers.get("content-length"), String(files["big.txt"]!.length));
      assert.equal(await res.text(), files["big.txt"]);
    });
    for (const [coding, format] of [["gzip", "gzip"], ["br", "brotli"]] as const) {
      await t.step(
        `${coding}, made once and kept: decodes to the file, own ETag, its own Content-Length`,
        async () => {
          const plain = await get("/big.txt");
          await plain.body?.cancel();
          const res = await get("/big.txt", { "accept-encoding": coding });
          assert.equal(res.headers.get("content-encoding"), coding);
          assert.equal(res.headers.get("vary"), "Accept-Encoding");
          assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
          assert.notEqual(res.headers.get("etag"), plain.headers.get("etag"));
          assert.match(res.headers.get("etag")!, new RegExp(`-${coding}"$`));
          const body = new Uint8Array(await res.arrayBuffer());
          assert.equal(res.headers.get("content-length"), String(body.length));
          assert.ok(body.length < files["big.txt"]!.length / 4, "compressed well");
          // HEAD carries the length the GET sends (RFC 9110 §9.3.2, §8.6).
          const head = await get("/big.txt", { "accept-encoding": coding }, "HEAD");
          assert.equal(head.headers.get("content-length"), String(body.length));
          assert.equal(head.headers.get("etag"), res.headers.get("etag"));
          assert.equal(await decompress(body, format), files["big.txt"]);
        },
      );
    }
    await t.step("a browser's list gets brotli", async () => {
      const res = await get("/big.txt", { "accept-encoding": "gzip, deflate, br, zstd" });
      assert.equal(res.headers.get("content-encoding"), "br");
      await res.body?.cancel();
    });
    await t.step("small files are not compressed, but still vary", async () => {
      const res = await get("/small.txt", { "accept-encoding": "gzip" });
      assert.equal(res.headers.get("content-encoding"), null);
      assert.equal(res.headers.get("vary"), "Accept-Encoding");
      assert.equal(await res.text(), "tiny\n");
    });
    await t.step("incompressible types are never compressed and do not vary", async () => {
      const res = await get("/image.png", { "accept-encoding": "gzip, br" });
      assert.equal(res.headers.get("content-encoding"), null);
      assert.equal(res.headers.get("vary"), null);
      assert.equal((await res.arrayBuffer()).byteLength, 4096);
    });
    await t.step("a Range addresses the selected (compressed) representation", async () => {
      const whole = new Uint8Array(
        await (await get("/big.txt", { "accept-encoding": "gzip" })).arrayBuffer(),
      );
      const res = await get("/big.txt", { "accept-encoding": "gzip", range: "bytes=0-9" });
      assert.equal(res.status, 206);
      assert.equal(res.headers.get("content-encoding"), "gzip");
      assert.equal(res.headers.get("content-range"), `bytes 0-9/${whole.length}`);
      assert.equal(res.headers.get("vary"), "Accept-Encoding");
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), whole.subarray(0, 10));
    });
    await t.step("HEAD of a compressed representation: headers only", async () => {
      const res = await get("/big.txt", { "accept-encoding": "gzip" }, "HEAD");
      assert.equal(res.headers.get("content-encoding"), "gzip");
      assert.equal(res.body, null);
    });
  });
});

Deno.test("a file too large to hold: gzip while sent, never a false length", async (t) => {
  // A store of 64 KiB holds files of at most 16 KiB; big.txt is larger.
  const store = new RepresentationStore({ maxBytes: 64 * 1024 });
  await withSite(async (_app, get, files) => {
    await t.step("gzip while sent: no Content-Length, own ETag, decodes to the file", async () => {
      const res = await get("/big.txt", { "accept-encoding": "gzip, deflate, br, zstd" });
      assert.equal(res.headers.get("content-encoding"), "gzip");
      assert.equal(res.headers.get("content-length"), null);
      assert.match(res.headers.get("etag")!, /-gzip"$/);
      assert.equal(
        await decompress(new Uint8Array(await res.arrayBuffer()), "gzip"),
        files["big.txt"],
      );
    });
    await t.step("HEAD: no Content-Length of an empty body", async () => {
      const res = await get("/big.txt", { "accept-encoding": "gzip" }, "HEAD");
      assert.equal(res.headers.get("content-encoding"), "gzip");
      assert.notEqual(res.headers.get("content-length"), "0");
      await res.body?.cancel();
    });
    await t.step("a Range gets the identity form, whose bytes are known", async () => {
      const res = await get("/big.txt", { "accept-encoding": "gzip", range: "bytes=0-9" });
      assert.equal(res.status, 206);
      assert.equal(res.headers.get("content-encoding"), null);
      assert.equal(await res.text(), files["big.txt"]!.slice(0, 10));
    });
  }, { store });
});

Deno.test("a file changed this second: no date to send or compare yet", async () => {
  // Seconds are all an HTTP date has: until the file's second is over, a
  // second write could carry the same date, and If-Modified-Since would
  // call the new content "not modified". The ETag still validates.
  const root = await Deno.makeTempDir({ prefix: "minserve_semantics_" });
  try {
    await Deno.writeTextFile(join(root, "new.txt"), "just written\n");
    const app = createApp({
      root,
      realRoot: await Deno.realPath(root),
      listing: false,
      dotfiles: false,
    });
    const get = (headers: HeadersInit = {}) =>
      Promise.resolve(app(new Request("http://x/new.txt", { headers }), INFO));
    const fresh = await get();
    await fresh.body?.cancel();
    assert.equal(fresh.headers.get("last-modified"), null);
    const future = new Date(Date.now() + 86_400_000).toUTCString();
    const ims = await get({ "if-modified-since": future });
    assert.equal(ims.status, 200, "no 304 on a date yet");
    await ims.body?.cancel();
    const inm = await get({ "if-none-match": fresh.headers.get("etag")! });
    assert.equal(inm.status, 304, "the ETag works from the start");

    const anHourAgo = new Date(Date.now() - 3600_000);
    await Deno.utime(join(root, "new.txt"), anHourAgo, anHourAgo);
    await new Promise((resolve) => setTimeout(resolve, 0)); // a new wave: the store looks again
    const old = await get();
    await old.body?.cancel();
    assert.equal(
      old.headers.get("last-modified"),
      new Date(Math.floor(anHourAgo.getTime() / 1000) * 1000).toUTCString(),
    );
    assert.equal((await get({ "if-modified-since": future })).status, 304);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("precompressed siblings: served as the file's encoded form", async (t) => {
  await withSite(async (_app, get, files) => {
    for (
      const [coding, suffix, format] of [["br", ".br", "brotli"], ["gzip", ".gz", "gzip"]] as const
    ) {
      await t.step(`${coding}: app.js${suffix}`, async () => {
        const res = await get("/app.js", { "accept-encoding": coding });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-encoding"), coding);
        assert.equal(res.headers.get("content-type"), "text/javascript; charset=utf-8");
        const sibling = await Deno.stat(`${(await Deno.realPath(Deno.cwd()))}/README.md`).catch(
          () => null,
        );
        assert.ok(sibling !== undefined);
        const body = new Uint8Array(await res.arrayBuffer());
        assert.equal(res.headers.get("content-length"), String(body.length));
        assert.equal(await decompress(body, format), files["app.js"]);
      });
    }
    await t.step("ranges address the precompressed bytes", async () => {
      const full = new Uint8Array(
        await (await get("/app.js", { "accept-encoding": "br" })).arrayBuffer(),
      );
      const res = await get("/app.js", { "accept-encoding": "br", range: "bytes=0-3" });
      assert.equal(res.status, 206);
      assert.equal(res.headers.get("content-range"), `bytes 0-3/${full.length}`);
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), full.subarray(0, 4));
    });
    await t.step("the siblings themselves stay reachable by name", async () => {
      const res = await get("/app.js.gz");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/gzip");
      await res.body?.cancel();
    });
  });
});

Deno.test("conditional requests are evaluated per representation", async (t) => {
  await withSite(async (_app, get) => {
    const gz = await get("/big.txt", { "accept-encoding": "gzip" });
    await gz.body?.cancel();
    const gzTag = gz.headers.get("etag")!;
    const plain = await get("/big.txt");
    await plain.body?.cancel();
    const plainTag = plain.headers.get("etag")!;

    await t.step(
      "304 for the gzip tag: ETag, Vary, Cache-Control, no representation metadata",
      async () => {
        const res = await get("/big.txt", { "accept-encoding": "gzip", "if-none-match": gzTag });
        assert.equal(res.status, 304);
        assert.equal(res.body, null);
        assert.equal(res.headers.get("etag"), gzTag);
        assert.equal(res.headers.get("vary"), "Accept-Encoding");
        assert.equal(res.headers.get("cache-control"), "no-cache");
        // RFC 9110 §15.4.5: the cache already has Content-Type and Content-Encoding.
        assert.equal(res.headers.get("content-encoding"), null);
        assert.equal(res.headers.get("content-type"), null);
        assert.ok(res.headers.get("last-modified"));
      },
    );
    await t.step("the identity tag does not match the gzip representation", async () => {
      const res = await get("/big.txt", { "accept-encoding": "gzip", "if-none-match": plainTag });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    });
    await t.step("HEAD gets 304 too", async () => {
      const res = await get("/big.txt", { "if-none-match": plainTag }, "HEAD");
      assert.equal(res.status, 304);
    });
    await t.step("If-Match with the wrong tag: 412", async () => {
      const res = await get("/big.txt", { "if-match": '"nope"' });
      assert.equal(res.status, 412);
      await res.body?.cancel();
    });
    await t.step(
      "If-Range with the exact Last-Modified date: 206; with an older date: 200",
      async () => {
        const lastModified = plain.headers.get("last-modified")!;
        const hit = await get("/big.txt", { range: "bytes=0-0", "if-range": lastModified });
        assert.equal(hit.status, 206);
        await hit.body?.cancel();
        const miss = await get("/big.txt", {
          range: "bytes=0-0",
          "if-range": "Mon, 01 Jan 2001 00:00:00 GMT",
        });
        assert.equal(miss.status, 200);
        await miss.body?.cancel();
      },
    );
  });
});

/** Splits a multipart/byteranges body into [headers, body] parts. */
function parseMultipart(
  body: string,
  boundary: string,
): Array<{ range: string; type: string; data: string }> {
  assert.ok(body.endsWith(`\r\n--${boundary}--\r\n`), "closing delimiter");
  const parts = body.slice(0, -`\r\n--${boundary}--\r\n`.length).split(
    new RegExp(`(?:^|\\r\\n)--${boundary}\\r\\n`),
  );
  assert.equal(parts.shift(), "");
  return parts.map((p) => {
    const [head, data] = [p.slice(0, p.indexOf("\r\n\r\n")), p.slice(p.indexOf("\r\n\r\n") + 4)];
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, "mi").exec(head)?.[1] ?? "";
    return { range: field("Content-Range"), type: field("Content-Type"), data };
  });
}

Deno.test("ranges: multiple ranges as multipart/byteranges, coalescing, limits", async (t) => {
  await withSite(async (_app, get, files) => {
    const digits = files["digits.txt"]!;
    await t.step("two ranges: two parts, exact Content-Length", async () => {
      const res = await get("/digits.txt", { range: "bytes=0-4,10-14" });
      assert.equal(res.status, 206);
      const type = res.headers.get("content-type")!;
      const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(type)?.[1];
      assert.ok(boundary, type);
      const body = await res.text();
      assert.equal(
        res.headers.get("content-length"),
        String(new TextEncoder().encode(body).length),
      );
      assert.deepEqual(parseMultipart(body, boundary), [
        { range: "bytes 0-4/20", type: "text/plain; charset=utf-8", data: digits.slice(0, 5) },
        { range: "bytes 10-14/20", type: "text/plain; charset=utf-8", data: digits.slice(10, 15) },
      ]);
    });
    await t.step("suffix and open-ended parts, in the order asked (RFC 9110 §14.6)", async () => {
      const res = await get("/digits.txt", { range: "bytes=-2, 5-6" });
      const boundary = /boundary=(\S+)/.exec(res.headers.get("content-type")!)![1]!;
      const parts = parseMultipart(await res.text(), boundary);
      assert.deepEqual(parts.map((p) => p.range), ["bytes 18-19/20", "bytes 5-6/20"]);
      assert.deepEqual(parts.map((p) => p.data), [digits.slice(18), digits.slice(5, 7)]);
    });
    await t.step("overlapping ranges coalesce into one plain 206", async () => {
      const res = await get("/digits.txt", { range: "bytes=0-4,3-9" });
      assert.equal(res.status, 206);
      assert.equal(res.headers.get("content-range"), "bytes 0-9/20");
      assert.equal(await res.text(), digits.slice(0, 10));
    });
    await t.step("a large file's ranges stream across chunks", async () => {
      const big = files["big.txt"]!;
      const res = await get("/big.txt", { range: "bytes=0-99999,100001-" });
      const boundary = /boundary=(\S+)/.exec(res.headers.get("content-type")!)![1]!;
      const parts = parseMultipart(await res.text(), boundary);
      assert.equal(parts.map((p) => p.data).join(""), big.slice(0, 100000) + big.slice(100001));
    });
    await t.step("more than MAX_RANGES parts: Range ignored, 200", async () => {
      const many = Array.from({ length: 20 }, (_, i) => `${i}-${i}`).join(",");
      const res = await get("/digits.txt", { range: `bytes=${many}` });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), digits);
    });
    await t.step("unsatisfiable: 416 with bytes */SIZE", async () => {
      const res = await get("/digits.txt", { range: "bytes=20-" });
      assert.equal(res.status, 416);
      assert.equal(res.headers.get("content-range"), "bytes */20");
      await res.body?.cancel();
    });
    await t.step("invalid syntax: ignored, 200", async () => {
      const res = await get("/digits.txt", { range: "bytes=x-y" });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    });
  });
});

Deno.test("?bytes=N returns the first N bytes as a plain 200", async (t) => {
  await withSite(async (_app, get, files) => {
    const CASES: Array<[query: string, status: number, body?: string]> = [
      ["?bytes=5", 200, "01234"],
      ["?bytes=1", 200, "0"],
      ["?bytes=20", 200, files["digits.txt"]!],
      ["?bytes=999999", 200, files["digits.txt"]!],
      ["?bytes=0", 400],
      ["?bytes=-1", 400],
      ["?bytes=abc", 400],
      ["?bytes=", 400],
      ["?bytes=1e3", 400],
      ["?bytes=05", 400],
    ];
    for (const [query, status, body] of CASES) {
      await t.step(query, async () => {
        const res = await get(`/digits.txt${query}`, {
          "accept-encoding": "gzip",
          range: "bytes=0-0",
        });
        assert.equal(res.status, status);
        const text = await res.text();
        if (body !== undefined) {
          assert.equal(text, body);
          assert.equal(res.headers.get("content-length"), String(body.length));
          assert.equal(res.headers.get("content-range"), null);
          assert.equal(res.headers.get("content-encoding"), null);
        } else {
          assert.doesNotMatch(text, /abc|1e3/);
        }
      });
    }
    await t.step("HEAD ?bytes=5: Content-Length 5, no body", async () => {
      const res = await get("/digits.txt?bytes=5", {}, "HEAD");
      assert.equal(res.headers.get("content-length"), "5");
      assert.equal(res.body, null);
    });
  });
});

Deno.test("OPTIONS, CORS and Cache-Control", async (t) => {
  await withSite(async (_app, get) => {
    await t.step("OPTIONS: 204 with Allow, no CORS headers when --cors is off", async () => {
      const res = await get("/digits.txt", {
        origin: "https://a.example",
        "access-control-request-method": "GET",
      }, "OPTIONS");
      assert.equal(res.status, 204);
      assert.equal(res.headers.get("allow"), "GET, HEAD, OPTIONS");
      assert.equal(res.headers.get("access-control-allow-origin"), null);
    });
    await t.step("custom Cache-Control on 200 and 304", async () => {
      const res = await get("/digits.txt");
      assert.equal(res.headers.get("cache-control"), "public, max-age=60");
      const again = await get("/digits.txt", { "if-none-match": res.headers.get("etag")! });
      assert.equal(again.status, 304);
      assert.equal(again.headers.get("cache-control"), "public, max-age=60");
      await res.body?.cancel();
    });
  }, { cacheControl: "public, max-age=60" });

  await withSite(async (_app, get) => {
    const CASES: Array<
      [name: string, path: string, headers: HeadersInit, method: string, status: number]
    > = [
      ["200", "/digits.txt", {}, "GET", 200],
      ["404", "/missing.txt", {}, "GET", 404],
      ["405", "/digits.txt", {}, "POST", 405],
      ["416", "/digits.txt", { range: "bytes=99-" }, "GET", 416],
      ["HEAD", "/digits.txt", {}, "HEAD", 200],
    ];
    for (const [name, path, headers, method, status] of CASES) {
      await t.step(`--cors: ${name} carries Access-Control-Allow-Origin: *`, async () => {
        const res = await get(path, headers, method);
        assert.equal(res.status, status);
        assert.equal(res.headers.get("access-control-allow-origin"), "*");
        assert.equal(res.headers.get("access-control-allow-credentials"), null);
        assert.match(res.headers.get("access-control-expose-headers") ?? "", /ETag/);
        await res.body?.cancel();
      });
    }
    await t.step("--cors: 304 carries it too", async () => {
      const first = await get("/digits.txt");
      await first.body?.cancel();
      const res = await get("/digits.txt", { "if-none-match": first.headers.get("etag")! });
      assert.equal(res.status, 304);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
    });
    await t.step("--cors: a preflight gets methods, the asked headers and a max age", async () => {
      const res = await get("/digits.txt", {
        origin: "https://a.example",
        "access-control-request-method": "GET",
        "access-control-request-headers": "range, if-none-match",
      }, "OPTIONS");
      assert.equal(res.status, 204);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      assert.equal(res.headers.get("access-control-allow-methods"), "GET, HEAD, OPTIONS");
      assert.equal(res.headers.get("access-control-allow-headers"), "range, if-none-match");
      assert.equal(res.headers.get("access-control-max-age"), "600");
      assert.equal(res.headers.get("access-control-allow-credentials"), null);
    });
    await t.step("--cors: asked headers that are not a token list are not echoed", async () => {
      const res = await get("/digits.txt", {
        origin: "https://a.example",
        "access-control-request-method": "GET",
        "access-control-request-headers": "x<y>",
      }, "OPTIONS");
      assert.equal(res.headers.get("access-control-allow-headers"), null);
    });
  }, { cors: true });
});

Deno.test("listings carry a weak validator: 304 while unchanged, a new tag when they change", async () => {
  await withSite(async (_app, get) => {
    const first = await get("/", { accept: "application/json" });
    const etag = first.headers.get("etag");
    assert.match(etag ?? "", /^W\/"[0-9a-f]+-[0-9a-f]+"$/);
    assert.equal(first.headers.get("last-modified"), null);
    await first.body?.cancel();
    const again = await get("/", { accept: "application/json", "if-none-match": etag! });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get("etag"), etag);
    const html = await get("/", { accept: "text/html" });
    assert.notEqual(html.headers.get("etag"), etag, "each format is its own representation");
    await html.body?.cancel();
    const strong = await get("/", { accept: "application/json", "if-match": etag! });
    assert.equal(strong.status, 412, "If-Match uses strong comparison; a weak tag never matches");
    await strong.body?.cancel();
  });
});
