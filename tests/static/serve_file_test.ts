/**
 * serve_file_test.ts — StaticSite's sequence, with plain `Request` objects:
 * find, then a directory (redirect, folder download, index, listing), a
 * file (serve_content.ts), or a claimed file (the caller's page); and HEAD,
 * answered as GET here and cut to its head by the writer.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { HttpError } from "../../lib/http/http_error.ts";
import { writeResponse } from "../../lib/http/response_writer.ts";
import { type ClaimedFile, type StaticOptions, StaticSite } from "../../lib/static/serve_file.ts";
import { MAX_STORED_FILE_BYTES } from "../../lib/static/store.ts";
import { ByteSink } from "../_support/bytes.ts";
import { parseResponses, withTempDir } from "../_support/server.ts";

/** The claim rule these tests give the site: names ending in ".page.html". */
const isPage = (name: string) => name.endsWith(".page.html");

const CSS = ".rule { color: #123456; margin: 0 auto; }\n".repeat(100);
const LARGE = "0123456789abcdef".repeat(MAX_STORED_FILE_BYTES / 16 + 1024);

/** writeSite writes a small tree, dated an hour back (settled files). */
async function writeSite(root: string) {
  await Deno.mkdir(join(root, "dir"), { recursive: true });
  await Deno.mkdir(join(root, "listed"), { recursive: true });
  await Deno.mkdir(join(root, "claimed-index"), { recursive: true });
  const files: Record<string, string> = {
    "hello.txt": "hello\n",
    "style.css": CSS,
    "large.txt": LARGE,
    "dir/index.html": "<p>dir index</p>",
    "listed/a.txt": "a",
    "listed/.hidden": "h",
    "x.page.html": "<p>source of x</p>",
    "x.page.html.gz": "gz",
    "claimed-index/index.page.html": "<p>source</p>",
    ".secret": "s",
  };
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(join(root, name), text);
  }
  await Deno.symlink("x.page.html", join(root, "alias.html"));
  await Deno.symlink("index.page.html", join(root, "claimed-index", "index.html"));
  const anHourAgo = new Date(Date.now() - 3600_000);
  for (const name of Object.keys(files)) {
    await Deno.utime(join(root, name), anHourAgo, anHourAgo);
  }
}

/** What the claimed page was asked for. */
interface PageCall {
  url: string;
  file: ClaimedFile;
}

async function withSite(
  fn: (
    site: (overrides?: Partial<StaticOptions>) => StaticSite,
    root: string,
    calls: PageCall[],
  ) => Promise<void>,
) {
  await withTempDir(async (tmp) => {
    const root = join(tmp, "root");
    await writeSite(root);
    const calls: PageCall[] = [];
    const options: StaticOptions = {
      root,
      realRoot: await Deno.realPath(root),
      listing: true,
      dotfiles: false,
      cacheControl: "max-age=60",
      maxZipBytes: 4 * 1024 * 1024,
      pages: {
        claims: isPage,
        serve(request, file) {
          calls.push({ url: request.url, file });
          return new Response("<p>page</p>", {
            headers: { "content-type": "text/html; charset=utf-8", "content-length": "11" },
          });
        },
      },
    };
    await fn((overrides = {}) => new StaticSite({ ...options, ...overrides }), root, calls);
  });
}

/** status is the status of the answer, or of the HttpError thrown instead. */
async function status(site: StaticSite, target: string, init?: RequestInit): Promise<number> {
  try {
    const res = await site.serve(new Request("http://x" + target, init));
    await res.body?.cancel();
    return res.status;
  } catch (err) {
    if (err instanceof HttpError) return err.status;
    throw err;
  }
}

Deno.test("StaticSite: find, then a directory, a file or a claimed file", async (t) => {
  await withSite(async (makeSite, root, calls) => {
    const site = makeSite();
    const get = (target: string, init?: RequestInit) =>
      site.serve(new Request("http://x" + target, init));

    await t.step("a file: its bytes, with the Cache-Control given", async () => {
      const res = await get("/hello.txt");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("cache-control"), "max-age=60");
      assert.equal(await res.text(), "hello\n");
    });
    await t.step("a directory without its slash: 301 to it, query kept", async () => {
      const res = await get("/dir?x=1");
      assert.equal(res.status, 301);
      assert.equal(res.headers.get("location"), "/dir/?x=1");
    });
    await t.step("a directory with an index: the index", async () => {
      assert.equal(await (await get("/dir/")).text(), "<p>dir index</p>");
    });
    await t.step("a directory without one: the listing, dotfiles left out", async () => {
      const res = await get("/listed/", { headers: { accept: "text/plain" } });
      assert.equal(res.headers.get("cache-control"), "max-age=60");
      assert.equal(await res.text(), "a.txt\n");
    });
    await t.step("?download=zip: the folder's archive", async () => {
      const res = await get("/listed/?download=zip");
      assert.equal(res.headers.get("content-type"), "application/zip");
      const bytes = new Uint8Array(await res.arrayBuffer());
      assert.equal(bytes.length, Number(res.headers.get("content-length")));
    });
    await t.step("the errors of finding", async () => {
      const CASES: Array<[target: string, want: number]> = [
        ["/missing.txt", 404],
        ["/hello.txt/", 404], // a file named as a directory
        ["/.secret", 404],
        ["/listed/.hidden", 404],
        ["/..%2fx", 400],
        ["/a%00b", 400],
        ["/x.page.html.gz", 404], // a claimed file's sibling
      ];
      for (const [target, want] of CASES) assert.equal(await status(site, target), want, target);
    });
    await t.step("a claimed file goes to the page, with its real path and size", async () => {
      calls.length = 0;
      assert.equal(await (await get("/x.page.html?name=a")).text(), "<p>page</p>");
      assert.equal(await (await get("/alias.html")).text(), "<p>page</p>");
      assert.equal(await (await get("/claimed-index/")).text(), "<p>page</p>");
      const real = await Deno.realPath(root);
      assert.deepEqual(calls.map((c) => [c.url, c.file]), [
        ["http://x/x.page.html?name=a", {
          kind: "claimed",
          real: join(real, "x.page.html"),
          size: 18,
        }],
        ["http://x/alias.html", { kind: "claimed", real: join(real, "x.page.html"), size: 18 }],
        ["http://x/claimed-index/", {
          kind: "claimed",
          real: join(real, "claimed-index", "index.page.html"),
          size: 13,
        }],
      ]);
    });
    await t.step("folder downloads leave claimed files and their siblings out", async () => {
      const res = await get("/?download=zip");
      const text = new TextDecoder("latin1").decode(await res.arrayBuffer());
      assert.ok(text.includes("root/hello.txt"));
      assert.ok(!text.includes("x.page.html"), "a claimed file in the archive");
      assert.ok(!text.includes("alias.html"), "a link to a claimed file in the archive");
    });
  });
});

Deno.test("StaticSite: the options it is given, and nothing it makes up", async (t) => {
  await withSite(async (makeSite) => {
    await t.step("without pages, claimed names are plain files", async () => {
      const site = makeSite({ pages: undefined });
      const res = await site.serve(new Request("http://x/x.page.html"));
      assert.equal(await res.text(), "<p>source of x</p>");
      assert.equal(await status(site, "/x.page.html.gz"), 200);
    });
    await t.step("maxZipBytes 0: no folder downloads, the listing shows", async () => {
      const site = makeSite({ maxZipBytes: 0 });
      const res = await site.serve(new Request("http://x/listed/?download=zip"));
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
      await res.body?.cancel();
      assert.equal(site.zipMaxBytes, 0);
    });
    await t.step("maxZipBytes is the cap: past it, 413", async () => {
      const site = makeSite({ maxZipBytes: 10 });
      assert.equal(site.zipMaxBytes, 10);
      assert.equal(await status(site, "/?download=zip"), 413);
    });
    await t.step("listing off: no listing, no folder downloads", async () => {
      const site = makeSite({ listing: false });
      assert.equal(site.zipMaxBytes, 0);
      assert.equal(await status(site, "/listed/"), 404);
      assert.equal(await status(site, "/listed/?download=zip"), 404);
    });
    await t.step("live reload's script is added to claimed pages and listings", async () => {
      const tag = new TextEncoder().encode("<script></script>");
      const inject = (page: Uint8Array) => {
        const out = new Uint8Array(page.length + tag.length);
        out.set(page);
        out.set(tag, page.length);
        return out;
      };
      const site = makeSite({ inject });
      for (const target of ["/x.page.html", "/listed/"]) {
        const res = await site.serve(new Request("http://x" + target));
        const text = await res.text();
        assert.ok(text.endsWith("<script></script>"), target);
        assert.equal(
          res.headers.get("content-length"),
          String(new TextEncoder().encode(text).length),
        );
      }
    });
  });
});

Deno.test("HEAD: answered as GET by the static layer, cut to its head on the wire", async (t) => {
  await withSite(async (makeSite) => {
    const site = makeSite();
    const CASES: Array<[name: string, target: string, headers: HeadersInit]> = [
      ["a file held in memory", "/hello.txt", {}],
      ["a file streamed from disk", "/large.txt", {}],
      ["a compressed representation", "/style.css", { "accept-encoding": "br" }],
      ["a listing", "/listed/", {}],
      ["a folder download", "/listed/?download=zip", {}],
      ["a claimed page", "/x.page.html", {}],
      ["a directory's index", "/dir/", {}],
    ];
    for (const [name, target, headers] of CASES) {
      await t.step(name, async () => {
        const getRes = await site.serve(new Request("http://x" + target, { headers }));
        const headRes = await site.serve(
          new Request("http://x" + target, { method: "HEAD", headers }),
        );
        assert.equal(headRes.status, getRes.status);
        const length = headRes.headers.get("content-length");
        assert.ok(length !== null, "HEAD carries the GET's Content-Length");
        assert.equal(length, getRes.headers.get("content-length"));

        const sink = new ByteSink();
        const options = { minor: 1 as const, keepAlive: true, server: "" };
        await writeResponse(sink, getRes, { ...options, head: false });
        await writeResponse(sink, headRes, { ...options, head: true });
        const [getWire, headWire] = parseResponses(sink.bytes(), { headMethods: ["GET", "HEAD"] });
        assert.ok(getWire && headWire);
        assert.equal(getWire.body.length, Number(length));
        assert.equal(headWire.header("content-length"), length);
        assert.equal(headWire.body.length, 0);
      });
    }
  });
});
