/**
 * app_test.ts — the handler as `Request → Response`, with no socket (style
 * rule 4): files, index pages, redirects, listings, validators, ranges,
 * methods, error pages, dotfiles and symlinks.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type AppOptions, createApp } from "../lib/app.ts";
import type { Handler, ServeInfo } from "../lib/http/handler.ts";
import { entityTag } from "../lib/static/store.ts";
import { withTempDir } from "./_support/server.ts";

const FIXTURE_ROOT = fileURLToPath(new URL("./fixtures/root", import.meta.url));
const FIXTURE_REAL_ROOT = await Deno.realPath(FIXTURE_ROOT);
const INFO: ServeInfo = { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50000 } };
const ALLOW = "GET, HEAD, OPTIONS";
const HELLO = "hello, world\n";

/** appAt builds the handler for `root` with listings on and dotfiles off unless overridden. */
async function appAt(root: string, overrides: Partial<AppOptions> = {}): Promise<Handler> {
  return createApp({
    root,
    realRoot: await Deno.realPath(root),
    listing: true,
    dotfiles: false,
    ...overrides,
  });
}

const app = await appAt(FIXTURE_ROOT);

/** fetchFrom sends `target` (path and query, as on the wire) to `handler`. */
async function fetchFrom(handler: Handler, target: string, init?: RequestInit): Promise<Response> {
  return await handler(new Request("http://x" + target, init), INFO);
}

/** get sends `target` to the fixture app. */
function get(target: string, init?: RequestInit): Promise<Response> {
  return fetchFrom(app, target, init);
}

/** headersOf lists a response's headers, sorted, for whole-set comparisons. */
function headersOf(res: Response): string[][] {
  return [...res.headers].sort(([a], [b]) => (a! < b! ? -1 : 1));
}

/** fixtureInfo stats a fixture file. */
function fixtureInfo(name: string): Promise<Deno.FileInfo> {
  return Deno.stat(join(FIXTURE_ROOT, name));
}

/** copyTree copies the directory `from` into `to`, recursively. */
async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const src = join(from, entry.name);
    const dest = join(to, entry.name);
    if (entry.isDirectory) await copyTree(src, dest);
    else if (entry.isFile) await Deno.copyFile(src, dest);
  }
}

/** withRootCopy runs `fn` on a fresh copy of the fixture root, at `<tmp>/root`. */
function withRootCopy<T>(fn: (root: string, tmp: string) => Promise<T>): Promise<T> {
  return withTempDir(async (tmp) => {
    const root = join(tmp, "root");
    await copyTree(FIXTURE_ROOT, root);
    // .git/config is not tracked by git, so make sure it exists here.
    await Deno.mkdir(join(root, ".git"), { recursive: true });
    await Deno.writeTextFile(join(root, ".git", "config"), "[core]\n\tsecret = git-config\n");
    return await fn(root, tmp);
  });
}

Deno.test("GET a file: status, body and headers", async () => {
  const res = await get("/hello.txt");
  const info = await fixtureInfo("hello.txt");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), HELLO);
  assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(res.headers.get("content-length"), String(HELLO.length));
  // Size, mtime and a digest of the bytes: a strong tag (RFC 9110 §8.8.3).
  const bytes = new TextEncoder().encode(HELLO);
  assert.equal(res.headers.get("etag"), entityTag(info.size, info.mtime!.getTime(), bytes));
  assert.match(res.headers.get("etag")!, /^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/, "a strong tag");
  assert.equal(res.headers.get("last-modified"), info.mtime!.toUTCString());
  assert.equal(res.headers.get("accept-ranges"), "bytes");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
});

Deno.test("GET: content types of the fixture files", async (t) => {
  const CASES: Array<[string, string]> = [
    ["/index.html", "text/html; charset=utf-8"],
    ["/style.css", "text/css; charset=utf-8"],
    ["/script.js", "text/javascript; charset=utf-8"],
    ["/data.json", "application/json; charset=utf-8"],
    ["/image.svg", "image/svg+xml; charset=utf-8"],
    ["/UPPER.TXT", "text/plain; charset=utf-8"],
    ["/noext", "application/octet-stream"],
  ];
  for (const [target, type] of CASES) {
    await t.step(target, async () => {
      const res = await get(target);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), type);
      const body = new Uint8Array(await res.arrayBuffer());
      assert.deepEqual(body, await Deno.readFile(join(FIXTURE_ROOT, target)));
    });
  }
});

Deno.test("GET an empty file", async () => {
  const res = await get("/empty.txt");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-length"), "0");
  assert.equal(await res.text(), "");
});

Deno.test("GET with a query string serves the file", async () => {
  const res = await get("/hello.txt?v=1&x=%2e%2e");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), HELLO);
});

Deno.test("HEAD: no body, the same headers as GET", async (t) => {
  for (const target of ["/hello.txt", "/", "/nolisting/", "/data.json"]) {
    await t.step(target, async () => {
      const full = await get(target);
      await full.arrayBuffer();
      const head = await get(target, { method: "HEAD" });
      assert.equal(head.status, full.status);
      assert.equal(head.body, null);
      assert.deepEqual(headersOf(head), headersOf(full));
    });
  }
});

Deno.test("HEAD through the app: no body, and the Content-Length the GET sends", async (t) => {
  await withRootCopy(async (root) => {
    await Deno.writeTextFile(join(root, "page.tmpl.html"), "<p>Hi {{name|you}}</p>");
    await Deno.writeTextFile(join(root, "big.css"), ".a { color: red }\n".repeat(200_000));
    await Deno.writeTextFile(join(root, "small.css"), ".b { color: blue }\n".repeat(200));
    const handler = await appAt(root);
    const CASES: Array<[name: string, target: string, headers: HeadersInit]> = [
      ["a template", "/page.tmpl.html?name=Ann", {}],
      ["a file streamed from disk", "/big.css", {}],
      ["a compressed representation", "/small.css", { "accept-encoding": "gzip" }],
      ["a folder download", "/nolisting/?download=zip", {}],
      ["a listing as JSON", "/nested/", { accept: "application/json" }],
    ];
    for (const [name, target, headers] of CASES) {
      await t.step(name, async () => {
        const full = await fetchFrom(handler, target, { headers });
        const bytes = new Uint8Array(await full.arrayBuffer());
        const head = await fetchFrom(handler, target, { method: "HEAD", headers });
        assert.equal(head.status, full.status);
        assert.equal(head.body, null);
        assert.equal(head.headers.get("content-length"), String(bytes.length));
        assert.deepEqual(headersOf(head), headersOf(full));
      });
    }
  });
});

Deno.test("index.html is served for directory URLs", async (t) => {
  for (const [target, file] of [["/", "index.html"], ["/sub/", "sub/index.html"]]) {
    await t.step(target!, async () => {
      const res = await get(target!);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      assert.equal(await res.text(), await Deno.readTextFile(join(FIXTURE_ROOT, file!)));
    });
  }
  await t.step("/sub/page.html", async () => {
    const res = await get("/sub/page.html");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), await Deno.readTextFile(join(FIXTURE_ROOT, "sub/page.html")));
  });
});

Deno.test("a directory URL without its slash is redirected (301), keeping the query", async (t) => {
  const CASES: Array<[string, string]> = [
    ["/sub", "/sub/"],
    ["/sub?x=1&y=a%20b", "/sub/?x=1&y=a%20b"],
    ["/nested", "/nested/"],
    ["/nested/deep", "/nested/deep/"],
    ["/nolisting?", "/nolisting/"],
  ];
  for (const [target, location] of CASES) {
    await t.step(target, async () => {
      const res = await get(target);
      assert.equal(res.status, 301);
      assert.equal(res.headers.get("location"), location);
      await res.body?.cancel();
    });
  }
  // "//sub/" in Location would be a network-path reference (RFC 3986 §4.2): the browser would
  // go to the host "sub". The redirect must stay on this origin.
  for (const target of ["//sub", "//nested//deep?x=1"]) {
    await t.step(`${target}: no protocol-relative Location`, async () => {
      const res = await get(target);
      assert.equal(res.status, 301);
      const location = res.headers.get("location")!;
      assert.ok(!location.startsWith("//"), `open redirect: Location: ${location}`);
      assert.equal(new URL(location, "http://x/").origin, "http://x");
    });
  }
  await t.step("HEAD /sub", async () => {
    const res = await get("/sub", { method: "HEAD" });
    assert.equal(res.status, 301);
    assert.equal(res.headers.get("location"), "/sub/");
  });
});

Deno.test("404 for names that do not exist", async (t) => {
  for (
    const target of [
      "/missing.txt",
      "/hello.txt/extra",
      "/sub/missing/",
      "/missing/",
      "/nested/deep/file.txt/more",
      "/HELLO.TXT",
      "/percent%41.txt", // decodes to "percentA.txt"
    ]
  ) {
    await t.step(target, async () => {
      const res = await get(target);
      assert.equal(res.status, 404);
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      await res.text();
    });
  }
});

Deno.test("400 for paths the resolver refuses", async (t) => {
  for (
    const target of ["/%00", "/a%2fb", "/%2e%2e%2fetc%2fpasswd", "/%ff", "/%zz", "/a%5c..%5cb"]
  ) {
    await t.step(target, async () => {
      const res = await get(target);
      assert.equal(res.status, 400);
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      await res.text();
    });
  }
});

Deno.test("dot segments are resolved by the URL and cannot climb out", async (t) => {
  const CASES: Array<[string, number, string?]> = [
    ["/../hello.txt", 200, HELLO],
    ["/sub/../hello.txt", 200, HELLO],
    ["/%2e%2e/%2e%2e/hello.txt", 200, HELLO],
    ["/../../../../etc/passwd", 404],
    ["/%2e%2e/%2e%2e/%2e%2e/etc/passwd", 404],
  ];
  for (const [target, status, body] of CASES) {
    await t.step(target, async () => {
      const res = await get(target);
      assert.equal(res.status, status);
      const text = await res.text();
      if (body !== undefined) assert.equal(text, body);
      assert.ok(!text.includes("root:"), "no /etc/passwd content");
    });
  }
});

Deno.test("dotfiles are 404 unless enabled", async (t) => {
  await withRootCopy(async (root) => {
    const off = await appAt(root);
    const on = await appAt(root, { dotfiles: true });
    for (
      const target of [
        "/.hidden",
        "/.git/config",
        "/.git/",
        "/.git",
        "/%2ehidden",
        "/sub/../.hidden",
      ]
    ) {
      await t.step(`off: ${target}`, async () => {
        const res = await fetchFrom(off, target);
        assert.equal(res.status, 404);
        const text = await res.text();
        assert.ok(!text.includes("secret"), "no dotfile content");
      });
    }
    await t.step("on: /.hidden", async () => {
      const res = await fetchFrom(on, "/.hidden");
      assert.equal(res.status, 200);
      assert.equal(await res.text(), await Deno.readTextFile(join(root, ".hidden")));
    });
    await t.step("on: /.git/config", async () => {
      const res = await fetchFrom(on, "/.git/config");
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "[core]\n\tsecret = git-config\n");
    });
  });
});

Deno.test("directory listing by Accept", async (t) => {
  await t.step("HTML by default", async () => {
    const res = await get("/nolisting/");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(res.headers.get("vary"), "Accept, Accept-Encoding");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const body = await res.text();
    assert.equal(res.headers.get("content-length"), String(new TextEncoder().encode(body).length));
    assert.ok(body.includes('href="/nolisting/a.txt"'));
    assert.ok(body.includes('href="/nolisting/b.txt"'));
    assert.ok(body.includes('href="/">../</a>'), "parent link");
  });
  await t.step("browser Accept gets HTML", async () => {
    const res = await get("/nolisting/", {
      headers: { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" },
    });
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    await res.text();
  });
  await t.step("text", async () => {
    const res = await get("/nolisting/", { headers: { accept: "text/plain" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await res.text(), "a.txt\nb.txt\n");
  });
  await t.step("JSON", async () => {
    const res = await get("/nolisting/", { headers: { accept: "application/json" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
    const entries = await res.json() as Array<{ name: string; type: string; size: number }>;
    assert.deepEqual(entries.map((e) => [e.name, e.type]), [["a.txt", "file"], ["b.txt", "file"]]);
    const size = (await fixtureInfo("nolisting/a.txt")).size;
    assert.equal(entries[0]!.size, size);
  });
  await t.step("subdirectories end in a slash", async () => {
    const res = await get("/nested/", { headers: { accept: "text/plain" } });
    assert.equal(await res.text(), "deep/\n");
  });
  await t.step("404 with listing off", async () => {
    const noListing = await appAt(FIXTURE_ROOT, { listing: false });
    const res = await fetchFrom(noListing, "/nolisting/");
    assert.equal(res.status, 404);
    await res.text();
    // index.html is still served.
    const index = await fetchFrom(noListing, "/sub/");
    assert.equal(index.status, 200);
    await index.text();
  });
});

Deno.test("listings: sorted and filtered by the query, in every format, each its own validator", async (t) => {
  await withTempDir(async (root) => {
    await Deno.mkdir(join(root, "d"));
    const put = async (name: string, bytes: number, day: number) => {
      await Deno.writeFile(join(root, "d", name), new Uint8Array(bytes));
      await Deno.utime(
        join(root, "d", name),
        new Date(Date.UTC(2024, 0, day)),
        new Date(Date.UTC(2024, 0, day)),
      );
    };
    await put("small.txt", 10, 3);
    await put("big.jpg", 5000, 1);
    await put("mid.JPG", 700, 2);
    await Deno.mkdir(join(root, "d", "sub"));
    const handler = await appAt(root);
    const text = async (target: string) => {
      const res = await fetchFrom(handler, target, { headers: { accept: "text/plain" } });
      assert.equal(res.status, 200, target);
      return await res.text();
    };

    await t.step("text: natural names by default; size and date either way", async () => {
      assert.equal(await text("/d/"), "sub/\nbig.jpg\nmid.JPG\nsmall.txt\n");
      assert.equal(await text("/d/?sort=size&order=desc"), "sub/\nbig.jpg\nmid.JPG\nsmall.txt\n");
      assert.equal(await text("/d/?sort=size"), "sub/\nsmall.txt\nmid.JPG\nbig.jpg\n");
      assert.equal(await text("/d/?sort=date&order=desc"), "sub/\nsmall.txt\nmid.JPG\nbig.jpg\n");
      assert.equal(await text("/d/?sort=nonsense&order=sideways"), await text("/d/"));
    });
    await t.step("JSON: the same order and filter", async () => {
      const res = await fetchFrom(handler, "/d/?sort=size&filter=jpg", {
        headers: { accept: "application/json" },
      });
      const names = (await res.json() as { name: string }[]).map((e) => e.name);
      assert.deepEqual(names, ["mid.JPG", "big.jpg"]);
    });
    await t.step("HTML: the filter box keeps its value; the QR code is of this page", async () => {
      const res = await fetchFrom(handler, "/d/?filter=jpg");
      const body = await res.text();
      assert.ok(body.includes('value="jpg"'));
      assert.ok(!body.includes("small.txt"), "a name the filter leaves out");
      assert.ok(body.includes("<p>http://x/d/</p>"), "the page's URL, without its query");
    });
    await t.step("a filter too long: 400", async () => {
      const res = await fetchFrom(handler, "/d/?filter=" + "x".repeat(300));
      assert.equal(res.status, 400);
      await res.body?.cancel();
    });
    await t.step("each variant its own ETag; 304 for its own, 200 for another's", async () => {
      const tags = new Map<string, string>();
      for (const target of ["/d/", "/d/?sort=size", "/d/?sort=size&order=desc", "/d/?filter=jpg"]) {
        const res = await fetchFrom(handler, target);
        await res.body?.cancel();
        const etag = res.headers.get("etag")!;
        assert.match(etag, /^W\//);
        assert.ok(![...tags.values()].includes(etag), `${target} shares an ETag`);
        tags.set(target, etag);
        const again = await fetchFrom(handler, target, { headers: { "if-none-match": etag } });
        assert.equal(again.status, 304, target);
      }
      const other = await fetchFrom(handler, "/d/?sort=size", {
        headers: { "if-none-match": tags.get("/d/")! },
      });
      assert.equal(other.status, 200, "another variant's tag must not get a 304");
      await other.body?.cancel();
    });
  });
});

Deno.test("the root listing never shows dotfiles", async () => {
  await withRootCopy(async (root) => {
    await Deno.remove(join(root, "index.html"));
    const handler = await appAt(root);
    const res = await fetchFrom(handler, "/", { headers: { accept: "text/plain" } });
    assert.equal(res.status, 200);
    const names = (await res.text()).split("\n").filter((n) => n !== "");
    assert.ok(names.includes("hello.txt"));
    assert.ok(names.includes("sub/"));
    assert.ok(names.includes("with space.txt"));
    assert.ok(!names.some((n) => n.startsWith(".")), JSON.stringify(names));

    const html = await (await fetchFrom(handler, "/")).text();
    assert.ok(!html.includes(".hidden") && !html.includes(".git"));
    assert.ok(html.includes('href="/with%20space.txt"'));
    assert.ok(html.includes('href="/percent%2541.txt"'));
    assert.ok(html.includes('href="/unicode-%C3%BCn%C3%AF.txt"'));

    const withDots = await appAt(root, { dotfiles: true });
    const all = await fetchFrom(withDots, "/", { headers: { accept: "text/plain" } });
    const allNames = (await all.text()).split("\n");
    assert.ok(allNames.includes(".hidden") && allNames.includes(".git/"));
  });
});

Deno.test("odd names are served by their percent-encoded URL", async (t) => {
  const CASES: Array<[string, string]> = [
    ["/with%20space.txt", "space\n"],
    ["/with space.txt", "space\n"], // the URL parser encodes the space
    ["/unicode-%C3%BCn%C3%AF.txt", "unicode\n"],
    ["/unicode-\u00fcn\u00ef.txt", "unicode\n"],
    ["/percent%2541.txt", "percent\n"],
  ];
  for (const [target, body] of CASES) {
    await t.step(target, async () => {
      const res = await get(target);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), body);
      assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    });
  }
});

Deno.test("conditional GET: 304 and 412", async (t) => {
  const first = await get("/hello.txt");
  await first.text();
  const etag = first.headers.get("etag")!;
  const lastModified = first.headers.get("last-modified")!;

  await t.step("If-None-Match with the ETag → 304", async () => {
    const res = await get("/hello.txt", { headers: { "if-none-match": etag } });
    assert.equal(res.status, 304);
    assert.equal(await res.text(), "");
    assert.equal(res.headers.get("etag"), etag);
    assert.equal(res.headers.get("last-modified"), lastModified);
  });
  await t.step("If-None-Match with the weak ETag → 304", async () => {
    const res = await get("/hello.txt", { headers: { "if-none-match": `"x", W/${etag}` } });
    assert.equal(res.status, 304);
    await res.text();
  });
  await t.step("HEAD with If-None-Match → 304", async () => {
    const res = await get("/hello.txt", { method: "HEAD", headers: { "if-none-match": etag } });
    assert.equal(res.status, 304);
  });
  await t.step("If-None-Match with another ETag → 200", async () => {
    const res = await get("/hello.txt", { headers: { "if-none-match": '"other"' } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), HELLO);
  });
  await t.step("If-Modified-Since with Last-Modified → 304", async () => {
    const res = await get("/hello.txt", { headers: { "if-modified-since": lastModified } });
    assert.equal(res.status, 304);
    assert.equal(await res.text(), "");
  });
  await t.step("If-Modified-Since an hour before → 200", async () => {
    const earlier = new Date(Date.parse(lastModified) - 3_600_000).toUTCString();
    const res = await get("/hello.txt", { headers: { "if-modified-since": earlier } });
    assert.equal(res.status, 200);
    await res.text();
  });
  await t.step("If-Match mismatch → 412", async () => {
    const res = await get("/hello.txt", { headers: { "if-match": '"nope"' } });
    assert.equal(res.status, 412);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    const body = await res.text();
    assert.ok(!body.includes(HELLO.trim()), "no file content on 412");
  });
  await t.step("If-Match with the ETag → 200", async () => {
    const res = await get("/hello.txt", { headers: { "if-match": etag } });
    assert.equal(res.status, 200);
    await res.text();
  });
  await t.step("If-Unmodified-Since an hour before → 412", async () => {
    const earlier = new Date(Date.parse(lastModified) - 3_600_000).toUTCString();
    const res = await get("/hello.txt", { headers: { "if-unmodified-since": earlier } });
    assert.equal(res.status, 412);
    await res.text();
  });
});

Deno.test("Range requests", async (t) => {
  const first = await get("/hello.txt");
  await first.text();
  const etag = first.headers.get("etag")!;
  const lastModified = first.headers.get("last-modified")!;
  const size = HELLO.length;

  const PARTIAL: Array<[string, string, string]> = [
    ["bytes=0-4", "bytes 0-4/13", "hello"],
    ["bytes=7-", "bytes 7-12/13", "world\n"],
    ["bytes=-6", "bytes 7-12/13", "world\n"],
    ["bytes=5-100", "bytes 5-12/13", ", world\n"],
  ];
  for (const [range, contentRange, body] of PARTIAL) {
    await t.step(`${range} → 206`, async () => {
      const res = await get("/hello.txt", { headers: { range } });
      assert.equal(res.status, 206);
      assert.equal(res.headers.get("content-range"), contentRange);
      assert.equal(res.headers.get("content-length"), String(body.length));
      assert.equal(res.headers.get("etag"), etag);
      assert.equal(await res.text(), body);
    });
  }
  await t.step("HEAD ignores Range (§14.2: defined for GET only)", async () => {
    const res = await get("/hello.txt", { method: "HEAD", headers: { range: "bytes=0-4" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), String(size));
    assert.equal(res.body, null);
  });
  for (const range of ["bytes=100-200", "bytes=13-", "bytes=-0"]) {
    await t.step(`${range} → 416`, async () => {
      const res = await get("/hello.txt", { headers: { range } });
      assert.equal(res.status, 416);
      assert.equal(res.headers.get("content-range"), `bytes */${size}`);
      const body = await res.text();
      assert.ok(!body.includes("hello"), "no file content on 416");
    });
  }
  for (const range of ["bytes=5-2", "items=0-4", "bytes=abc"]) {
    await t.step(`${range} → 200, ignored`, async () => {
      const res = await get("/hello.txt", { headers: { range } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-range"), null);
      assert.equal(await res.text(), HELLO);
    });
  }
  await t.step("several ranges → the whole file (allowed by §14.2)", async () => {
    const res = await get("/hello.txt", { headers: { range: "bytes=0-1,5-6" } });
    assert.ok(res.status === 200 || res.status === 206, String(res.status));
    if (res.status === 200) assert.equal(await res.text(), HELLO);
    else {
      assert.match(res.headers.get("content-type")!, /^multipart\/byteranges;/);
      await res.body?.cancel();
    }
  });
  await t.step("a range on an empty file → 200", async () => {
    const res = await get("/empty.txt", { headers: { range: "bytes=0-" } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "");
  });
  await t.step("If-Range with another ETag → 200, whole file", async () => {
    const res = await get("/hello.txt", { headers: { range: "bytes=0-4", "if-range": '"other"' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-range"), null);
    assert.equal(await res.text(), HELLO);
  });
  await t.step("If-Range with the weak ETag → 200 (strong comparison)", async () => {
    const res = await get("/hello.txt", {
      headers: { range: "bytes=0-4", "if-range": `W/${etag}` },
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), HELLO);
  });
  await t.step("If-Range with an old date → 200", async () => {
    const res = await get("/hello.txt", {
      headers: { range: "bytes=0-4", "if-range": "Sun, 06 Nov 1994 08:49:37 GMT" },
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), HELLO);
  });
  await t.step("If-Range with the ETag → 206", async () => {
    const res = await get("/hello.txt", { headers: { range: "bytes=0-4", "if-range": etag } });
    assert.equal(res.status, 206);
    assert.equal(await res.text(), "hello");
  });
  await t.step("If-Range with Last-Modified → 206", async () => {
    const res = await get("/hello.txt", {
      headers: { range: "bytes=0-4", "if-range": lastModified },
    });
    assert.equal(res.status, 206);
    assert.equal(await res.text(), "hello");
  });
});

Deno.test("methods", async (t) => {
  await t.step("OPTIONS → 204 with Allow", async () => {
    const res = await get("/hello.txt", { method: "OPTIONS" });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("allow"), ALLOW);
    assert.equal(res.body, null);
  });
  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    await t.step(`${method} → 405 with Allow`, async () => {
      const init: RequestInit = { method };
      if (method !== "DELETE") init.body = "x";
      const res = await get("/hello.txt", init);
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), ALLOW);
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      await res.text();
    });
  }
  for (const method of ["FOO", "PROPFIND", "MKCOL"]) {
    await t.step(`${method} → 501`, async () => {
      const res = await get("/hello.txt", { method });
      assert.equal(res.status, 501);
      await res.text();
    });
  }
});

Deno.test("error pages: HTML, no server path, no echo of the request", async (t) => {
  const CASES: Array<[string, RequestInit, number]> = [
    ["/missing-probe-name.txt", {}, 404],
    ["/%00-probe-name", {}, 400],
    ["/hello.txt", { headers: { "if-match": '"probe-name"' } }, 412],
    ["/hello.txt", { headers: { range: "bytes=100-200" } }, 416],
    ["/hello.txt?probe-name", { method: "POST", body: "probe-name" }, 405],
  ];
  for (const [target, init, status] of CASES) {
    await t.step(`${status} ${target}`, async () => {
      const res = await get(target, init);
      assert.equal(res.status, status);
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      const body = await res.text();
      assert.match(body, /^\s*<!doctype html>/i);
      assert.ok(body.includes(String(status)));
      assert.ok(!body.includes(FIXTURE_ROOT), "server path in the page");
      assert.ok(!body.includes(FIXTURE_REAL_ROOT), "server path in the page");
      assert.ok(!body.includes("fixtures"), "server path in the page");
      assert.ok(!body.includes("probe-name"), "request echoed in the page");
    });
  }
  await t.step("a script in the path is not echoed", async () => {
    const res = await get("/<script>alert(1)</script>");
    assert.equal(res.status, 404);
    const body = await res.text();
    assert.ok(!body.includes("<script>"), body);
    assert.ok(!body.includes("alert"), body);
  });
  await t.step("JSON when Accept asks for it", async () => {
    const res = await get("/missing-probe-name.txt", { headers: { accept: "application/json" } });
    assert.equal(res.status, 404);
    assert.match(res.headers.get("content-type")!, /^application\/json\b/);
    const body = await res.text();
    assert.deepEqual(JSON.parse(body), { status: 404, error: "Not Found" });
    assert.ok(!body.includes("probe-name") && !body.includes("fixtures"));
  });
});

Deno.test("a large file streams with its exact length and content", async (t) => {
  await withRootCopy(async (root) => {
    // More than SMALL_FILE_BYTES and than one FILE_CHUNK_BYTES read, with an odd tail.
    const content = new Uint8Array(600 * 1024 + 123);
    for (let i = 0; i < content.length; i++) content[i] = (i * 31 + (i >> 10)) & 0xff;
    await Deno.writeFile(join(root, "large.bin"), content);
    const handler = await appAt(root);

    await t.step("GET", async () => {
      const res = await fetchFrom(handler, "/large.bin");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-length"), String(content.length));
      assert.equal(res.headers.get("content-type"), "application/octet-stream");
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), content);
    });
    await t.step("HEAD", async () => {
      const res = await fetchFrom(handler, "/large.bin", { method: "HEAD" });
      assert.equal(res.headers.get("content-length"), String(content.length));
      assert.equal(res.body, null);
    });
    await t.step("a large range", async () => {
      const res = await fetchFrom(handler, "/large.bin", {
        headers: { range: "bytes=70000-400000" },
      });
      assert.equal(res.status, 206);
      assert.equal(res.headers.get("content-range"), `bytes 70000-400000/${content.length}`);
      assert.equal(res.headers.get("content-length"), "330001");
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), content.subarray(70000, 400001));
    });
    await t.step("a small range of a large file", async () => {
      const res = await fetchFrom(handler, "/large.bin", { headers: { range: "bytes=-10" } });
      assert.equal(res.status, 206);
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), content.subarray(-10));
    });
    await t.step("a cancelled body releases the file", async () => {
      const res = await fetchFrom(handler, "/large.bin");
      const reader = res.body!.getReader();
      await reader.read();
      await reader.cancel();
    });
  });
});

Deno.test("symlinks: served only when their target lies inside the root", async (t) => {
  await withTempDir(async (tmp) => {
    const root = join(tmp, "root");
    await Deno.mkdir(join(root, "sub"), { recursive: true });
    await Deno.mkdir(join(tmp, "outside-dir"));
    await Deno.writeTextFile(join(root, "hello.txt"), HELLO);
    await Deno.writeTextFile(join(root, ".hidden"), "hidden secret\n");
    await Deno.writeTextFile(join(root, "sub", "page.txt"), "page\n");
    await Deno.writeTextFile(join(tmp, "outside.txt"), "outside secret\n");
    await Deno.writeTextFile(join(tmp, "outside-dir", "secret.txt"), "outside dir secret\n");
    // A sibling whose name shares the root's prefix: "root-evil" starts with "root".
    await Deno.mkdir(join(tmp, "root-evil"));
    await Deno.writeTextFile(join(tmp, "root-evil", "x.txt"), "prefix secret\n");

    await Deno.symlink("hello.txt", join(root, "link-in.txt"));
    await Deno.symlink(join(root, "hello.txt"), join(root, "link-in-absolute.txt"));
    await Deno.symlink("sub", join(root, "link-sub"));
    await Deno.symlink("../outside.txt", join(root, "link-out.txt"));
    await Deno.symlink(join(tmp, "outside.txt"), join(root, "link-out-absolute.txt"));
    await Deno.symlink("../outside-dir", join(root, "link-out-dir"));
    await Deno.symlink("../root-evil", join(root, "link-prefix"));
    await Deno.symlink(".hidden", join(root, "link-dot"));
    await Deno.symlink("missing.txt", join(root, "link-broken"));
    await Deno.symlink("link-loop-b", join(root, "link-loop-a"));
    await Deno.symlink("link-loop-a", join(root, "link-loop-b"));
    await Deno.symlink("/etc/passwd", join(root, "link-passwd"));

    const handler = await appAt(root);
    const withDots = await appAt(root, { dotfiles: true });

    const OK: Array<[string, string]> = [
      ["/link-in.txt", HELLO],
      ["/link-in-absolute.txt", HELLO],
      ["/link-sub/page.txt", "page\n"],
    ];
    for (const [target, body] of OK) {
      await t.step(`200 ${target}`, async () => {
        const res = await fetchFrom(handler, target);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), body);
      });
    }
    const REFUSED = [
      "/link-out.txt",
      "/link-out-absolute.txt",
      "/link-out-dir",
      "/link-out-dir/",
      "/link-out-dir/secret.txt",
      "/link-prefix/x.txt",
      "/link-dot",
      "/link-broken",
      "/link-loop-a",
      "/link-passwd",
    ];
    for (const target of REFUSED) {
      await t.step(`404 ${target}`, async () => {
        const res = await fetchFrom(handler, target);
        assert.equal(res.status, 404);
        const body = await res.text();
        assert.ok(!body.includes("secret") && !body.includes("root:"), body);
        assert.ok(!body.includes(tmp), "server path in the page");
      });
    }
    await t.step(
      "dotfiles on: the link to a dotfile is served, escaping links are not",
      async () => {
        const dot = await fetchFrom(withDots, "/link-dot");
        assert.equal(dot.status, 200);
        assert.equal(await dot.text(), "hidden secret\n");
        const out = await fetchFrom(withDots, "/link-out.txt");
        assert.equal(out.status, 404);
        assert.ok(!(await out.text()).includes("secret"));
      },
    );
    await t.step("listings show only links that resolve inside the root", async () => {
      const res = await fetchFrom(handler, "/", { headers: { accept: "text/plain" } });
      assert.equal(res.status, 200);
      const names = (await res.text()).split("\n").filter((n) => n !== "");
      assert.deepEqual(names, [
        "link-sub/",
        "sub/",
        "hello.txt",
        "link-in-absolute.txt",
        "link-in.txt",
      ]);
    });
    await t.step("the JSON listing agrees", async () => {
      const res = await fetchFrom(handler, "/", { headers: { accept: "application/json" } });
      const names = (await res.json() as Array<{ name: string }>).map((e) => e.name);
      for (const hidden of ["link-out.txt", "link-out-dir", "link-dot", ".hidden", "link-passwd"]) {
        assert.ok(!names.includes(hidden), hidden);
      }
    });
  });
});
