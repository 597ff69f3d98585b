/**
 * listing_test.ts — directory listings: format negotiation by Accept,
 * natural order, and HTML that escapes names and percent-encodes links
 * (Go's TestFileServerEscapesNames, style rule 9).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { HttpError } from "../../lib/http/http_error.ts";
import {
  type FileKind,
  filterEntries,
  hrefOf,
  kindOf,
  LISTING_COMPRESS_MIN_BYTES,
  type ListingEntry,
  listingFormat,
  type ListingQuery,
  parseListingQuery,
  queryHref,
  renderListing,
  serveListing,
  sortEntries,
} from "../../lib/static/listing.ts";
import type { Scope } from "../../lib/static/resolve_path.ts";
import { decodeGrid, gridOfSvg } from "../_support/qr.ts";
import { withTempDir } from "../_support/server.ts";

const MTIME = Date.UTC(2024, 0, 2, 3, 4, 5);

function file(name: string, size = 1): ListingEntry {
  return { name, isDirectory: false, size, mtime: MTIME };
}
function dir(name: string): ListingEntry {
  return { name, isDirectory: true, size: 4096, mtime: MTIME };
}

Deno.test("listingFormat: Accept with q-values (RFC 9110 §12.5.1)", async (t) => {
  const CASES: Array<[accept: string | null, want: string]> = [
    [null, "html"],
    ["", "html"],
    ["   ", "html"],
    ["text/html", "html"],
    ["application/json", "json"],
    ["text/plain", "text"],
    ["*/*", "html"], // a tie goes to HTML
    ["text/*", "html"],
    ["application/*", "json"],
    ["image/png", "html"], // nothing acceptable: HTML all the same
    ["TEXT/PLAIN", "text"],
    ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "html"], // a browser
    ["application/json, text/plain;q=0.5", "json"],
    ["text/plain, application/json;q=0.9", "text"],
    ["text/html;q=0.1, application/json", "json"],
    ["text/html;q=0.1, text/plain;q=0.2, application/json;q=0.3", "json"],
    ["text/plain;q=0.5, text/html;q=0.4", "text"],
    ["text/plain; q=0.5, */*; q=0.1", "text"],
    ["application/json;q=0, */*", "html"], // q=0: not acceptable
    ["text/html;q=0, application/json;q=0, */*", "text"], // the most specific range wins
    ["text/html;q=0, text/*;q=0.5", "text"],
    ["text/html;level=1;q=0.2, text/plain;q=0.3", "text"],
  ];
  for (const [accept, want] of CASES) {
    await t.step(String(accept === null ? "(none)" : accept || "(empty)"), () => {
      assert.equal(listingFormat(accept), want);
    });
  }
});

Deno.test("sortEntries: directories first, then natural case-insensitive order", () => {
  const entries = [
    file("file10.txt"),
    file("file2.txt"),
    file("File1.txt"),
    dir("zeta"),
    file("apple"),
    dir("Beta"),
    dir("alpha"),
  ];
  assert.deepEqual(sortEntries(entries).map((e) => e.name), [
    "alpha",
    "Beta",
    "zeta",
    "apple",
    "File1.txt",
    "file2.txt",
    "file10.txt",
  ]);
  // It sorts a copy: the caller's array is left alone.
  assert.equal(entries[0]!.name, "file10.txt");
});

Deno.test("hrefOf: segments become an encoded absolute path", () => {
  assert.equal(hrefOf([], true), "/");
  assert.equal(hrefOf([], false), "/");
  assert.equal(hrefOf(["a", "b"], true), "/a/b/");
  assert.equal(hrefOf(["a", "b.txt"], false), "/a/b.txt");
  assert.equal(hrefOf(["a b", "c/d"], false), "/a%20b/c%2Fd");
});

const HOSTILE_NAMES = [
  "<script>alert(1)</script>",
  '"quote"&amp',
  "it's",
  "with space.txt",
  "100%.txt",
  "a#b",
  "a?b",
  "unicode-\u00fcn\u00ef.txt",
];

/** hrefs returns every href attribute of `body`. */
function hrefs(body: string): string[] {
  return [...body.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!);
}

Deno.test("renderListing: HTML escapes names and percent-encodes hrefs", () => {
  const { body, type } = renderListing(["sub"], HOSTILE_NAMES.map((n) => file(n)), "html");
  assert.equal(type, "text/html; charset=utf-8");
  assert.ok(!body.includes("<script>alert"), "raw <script> in the listing");
  assert.ok(body.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(body.includes("&quot;quote&quot;&amp;amp"));
  assert.ok(!body.includes('"quote"'), "raw double quotes in the listing");
  assert.ok(body.includes("it&#39;s"));
  assert.ok(body.includes("unicode-\u00fcn\u00ef.txt"), "non-ASCII text is shown as is");

  // The names' links (the others are the page's own: "?sort=…", "#i-…").
  const links = hrefs(body).filter((href) => href.startsWith("/"));
  for (
    const want of [
      "/sub/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
      "/sub/%22quote%22%26amp",
      "/sub/with%20space.txt",
      "/sub/100%25.txt",
      "/sub/a%23b",
      "/sub/a%3Fb",
      "/sub/unicode-%C3%BCn%C3%AF.txt",
    ]
  ) {
    assert.ok(links.includes(want), `no href ${want} in ${JSON.stringify(links)}`);
  }
  // Every href, once its HTML escapes are undone, is plain ASCII without space, quote, "<", "#"
  // or "?", so no name can end the attribute, start a fragment or a query.
  for (const href of links) {
    const url = href.replaceAll("&#39;", "'").replaceAll("&amp;", "&");
    assert.match(url, /^[\x21-\x7e]+$/, url);
    assert.ok(!/[<>#?" ]/.test(url), url);
  }
  assert.ok(links.includes("/sub/it&#39;s"), "the apostrophe is escaped in the attribute");
});

Deno.test("renderListing: HTML parent link and breadcrumbs", async (t) => {
  await t.step("absent at the root", () => {
    const { body } = renderListing([], [file("a.txt")], "html");
    assert.ok(!body.includes("../"), "parent link at the root");
    assert.ok(body.includes("Index of /<"));
    assert.ok(hrefs(body).includes("/a.txt"));
  });
  await t.step("the root from a first-level directory", () => {
    const { body } = renderListing(["sub"], [file("a.txt")], "html");
    assert.match(body, /<a href="\/">\.\.\/<\/a>/);
    assert.ok(body.includes("Index of /sub/<"));
    assert.ok(hrefs(body).includes("/sub/a.txt"));
  });
  await t.step("the parent directory from a nested one", () => {
    const { body } = renderListing(["a b", "c"], [dir("d"), file("e")], "html");
    assert.match(body, /<a href="\/a%20b\/">\.\.\/<\/a>/);
    const links = hrefs(body);
    assert.ok(links.includes("/a%20b/c/d/"), "a directory's link ends in a slash");
    assert.ok(links.includes("/a%20b/c/e"));
    assert.ok(links.includes("/a%20b/c/"), "breadcrumb");
    assert.ok(links.includes("/"), "breadcrumb to the root");
  });
  await t.step("a hostile directory name in the title and breadcrumbs", () => {
    const { body } = renderListing(["<b>x</b>"], [], "html");
    assert.ok(!body.includes("<b>"));
    assert.ok(body.includes("Index of /&lt;b&gt;x&lt;/b&gt;/"));
    assert.ok(hrefs(body).includes("/%3Cb%3Ex%3C%2Fb%3E/"));
  });
  await t.step("sizes and directory markers", () => {
    const { body } = renderListing(
      [],
      [dir("d"), file("small", 12), file("big", 3 * 1024)],
      "html",
    );
    assert.ok(body.includes(">d/<"));
    assert.ok(body.includes("12 B"));
    assert.ok(body.includes("3.0 KiB"));
    assert.ok(body.includes("2024-01-02 03:04"));
  });
});

Deno.test("renderListing: text is one name per line, directories with a slash", () => {
  const entries = [file("b.txt"), dir("sub"), file("<a>&.txt"), file("a.txt")];
  const { body, type } = renderListing(["x"], entries, "text");
  assert.equal(type, "text/plain; charset=utf-8");
  assert.equal(body, "sub/\n<a>&.txt\na.txt\nb.txt\n");
  assert.equal(renderListing([], [], "text").body, "");
});

Deno.test("renderListing: JSON lists name, type, size and modification time", () => {
  const entries = [file("b.txt", 7), dir("sub"), { ...file('"q"<>'), mtime: undefined }];
  const { body, type } = renderListing([], entries, "json");
  assert.equal(type, "application/json; charset=utf-8");
  assert.ok(body.endsWith("\n"));
  // Sorted as everywhere else: directories first, punctuation before letters.
  assert.deepEqual(JSON.parse(body), [
    { name: "sub", type: "directory", size: null, modified: "2024-01-02T03:04:05.000Z" },
    { name: '"q"<>', type: "file", size: 1, modified: null },
    { name: "b.txt", type: "file", size: 7, modified: "2024-01-02T03:04:05.000Z" },
  ]);
  assert.deepEqual(JSON.parse(renderListing([], [], "json").body), []);
});

Deno.test("parseListingQuery: sort, order and filter, unknown values ignored", async (t) => {
  const CASES: Array<[query: string, want: ListingQuery | "400"]> = [
    ["", { sort: "name", order: "asc", filter: "" }],
    ["?sort=size", { sort: "size", order: "asc", filter: "" }],
    ["?sort=date&order=desc", { sort: "date", order: "desc", filter: "" }],
    ["?sort=name&order=desc", { sort: "name", order: "desc", filter: "" }],
    ["?order=desc", { sort: "name", order: "desc", filter: "" }],
    ["?sort=SIZE", { sort: "name", order: "asc", filter: "" }], // values are exact
    ["?sort=mtime&order=down", { sort: "name", order: "asc", filter: "" }],
    ["?sort=size&sort=date", { sort: "size", order: "asc", filter: "" }], // the first wins
    ["?sort=", { sort: "name", order: "asc", filter: "" }],
    ["?filter=jpg", { sort: "name", order: "asc", filter: "jpg" }],
    ["?filter=%20%20two%20words%20", { sort: "name", order: "asc", filter: "two words" }],
    ["?filter=%3Cscript%3E", { sort: "name", order: "asc", filter: "<script>" }],
    ["?filter=" + "x".repeat(256), { sort: "name", order: "asc", filter: "x".repeat(256) }],
    ["?filter=" + "x".repeat(257), "400"],
    ["?download=zip&sort=date", { sort: "date", order: "asc", filter: "" }],
  ];
  for (const [query, want] of CASES) {
    await t.step(query.length > 40 ? query.slice(0, 40) + "…" : query || "(none)", () => {
      const params = new URLSearchParams(query);
      if (want === "400") {
        assert.throws(
          () => parseListingQuery(params),
          (err: Error & { status?: number }) => err.status === 400,
        );
      } else {
        assert.deepEqual(parseListingQuery(params), want);
      }
    });
  }
});

/** An entry with a size and a day of January 2024. */
function at(name: string, size: number, day: number, isDirectory = false): ListingEntry {
  return { name, isDirectory, size, mtime: Date.UTC(2024, 0, day) };
}

Deno.test("sortEntries: by name, size and date, either way, directories first", async (t) => {
  const entries = [
    at("b.txt", 300, 2),
    at("a10.txt", 20, 5),
    at("a2.txt", 20, 1),
    at("C.txt", 1000, 3),
    at("zeta", 4096, 1, true),
    at("alpha", 4096, 9, true),
  ];
  const CASES: Array<[sort: "name" | "size" | "date", order: "asc" | "desc", want: string[]]> = [
    ["name", "asc", ["alpha", "zeta", "a2.txt", "a10.txt", "b.txt", "C.txt"]],
    ["name", "desc", ["zeta", "alpha", "C.txt", "b.txt", "a10.txt", "a2.txt"]],
    // Equal sizes by name; directories (no size of their own) by name.
    ["size", "asc", ["alpha", "zeta", "a2.txt", "a10.txt", "b.txt", "C.txt"]],
    ["size", "desc", ["alpha", "zeta", "C.txt", "b.txt", "a10.txt", "a2.txt"]],
    ["date", "asc", ["zeta", "alpha", "a2.txt", "b.txt", "C.txt", "a10.txt"]],
    ["date", "desc", ["alpha", "zeta", "a10.txt", "C.txt", "b.txt", "a2.txt"]],
  ];
  for (const [sort, order, want] of CASES) {
    await t.step(`${sort} ${order}`, () => {
      assert.deepEqual(sortEntries(entries, sort, order).map((e) => e.name), want);
    });
  }
  await t.step("an unknown date sorts as the oldest", () => {
    const none = { ...at("none.txt", 1, 1), mtime: undefined };
    assert.deepEqual(
      sortEntries([at("new.txt", 1, 3), none], "date", "asc").map((e) => e.name),
      ["none.txt", "new.txt"],
    );
  });
});

Deno.test("filterEntries: a case-insensitive part of the name, NFC or NFD alike", () => {
  const names = ["Photo.JPG", "photo.png", "notes.txt", "Über.txt".normalize("NFD"), "jpg-dir"];
  const entries = names.map((n) => at(n, 1, 1));
  const keep = (filter: string) => filterEntries(entries, filter).map((e) => e.name);
  assert.deepEqual(keep(""), names);
  assert.deepEqual(keep("jpg"), ["Photo.JPG", "jpg-dir"]);
  assert.deepEqual(keep("PHOTO"), ["Photo.JPG", "photo.png"]);
  assert.deepEqual(keep("über".normalize("NFC")), ["Über.txt".normalize("NFD")]);
  assert.deepEqual(keep("nothing"), []);
});

Deno.test("kindOf: the icon for each kind of file", async (t) => {
  const CASES: Array<[name: string, isDirectory: boolean, want: FileKind]> = [
    ["photos", true, "folder"],
    ["a.png", false, "image"],
    ["a.JPEG", false, "image"],
    ["logo.svg", false, "image"],
    ["song.mp3", false, "audio"],
    ["a.flac", false, "audio"],
    ["movie.mp4", false, "video"],
    ["clip.webm", false, "video"],
    ["notes.txt", false, "text"],
    ["README.md", false, "text"],
    ["data.json", false, "text"],
    ["app.js", false, "text"],
    ["main.ts", false, "text"], // MPEG-TS by media type, but a listing shows code
    ["script.py", false, "text"],
    ["Makefile", false, "text"],
    ["style.css", false, "text"],
    ["a.zip", false, "archive"],
    ["a.tar.gz", false, "archive"],
    ["a.7z", false, "archive"],
    ["paper.pdf", false, "pdf"],
    ["noext", false, "other"],
    ["a.exe", false, "other"],
    ["a.zip", true, "folder"],
  ];
  for (const [name, isDirectory, want] of CASES) {
    await t.step(`${name}${isDirectory ? "/" : ""}`, () => {
      assert.equal(kindOf({ name, isDirectory }), want);
    });
  }
});

Deno.test("renderListing: text and JSON keep the order and filter asked for", () => {
  const entries = [at("small.txt", 1, 3), at("big.txt", 900, 1), at("dir", 0, 2, true)];
  const bySize: ListingQuery = { sort: "size", order: "desc", filter: "" };
  assert.equal(
    renderListing([], entries, "text", { query: bySize }).body,
    "dir/\nbig.txt\nsmall.txt\n",
  );
  const json = JSON.parse(
    renderListing([], entries, "json", { query: { ...bySize, order: "asc" } }).body,
  );
  assert.deepEqual(json.map((e: { name: string }) => e.name), ["dir", "small.txt", "big.txt"]);
  const filtered = renderListing([], entries, "text", {
    query: { sort: "name", order: "asc", filter: "BIG" },
  });
  assert.equal(filtered.body, "big.txt\n");
});

/** attr returns the first value of attribute `name` on the element that `where` matches. */
function attrOf(body: string, where: RegExp): string | undefined {
  return where.exec(body)?.[1];
}

Deno.test("renderListing: HTML sorting links, filter form, icons, download and QR", async (t) => {
  const entries = [at("b.png", 300, 2), at("a.txt", 20, 1), at("sub", 0, 3, true)];
  await t.step(
    "column links: the other order for the current column, a first order for others",
    () => {
      const { body } = renderListing(["d"], entries, "html", {
        query: { sort: "name", order: "asc", filter: "" },
      });
      assert.ok(
        body.includes('<th aria-sort="ascending"><a href="?sort=name&amp;order=desc">Name'),
      );
      assert.ok(body.includes('<a href="?sort=size&amp;order=desc">Size'));
      assert.ok(body.includes('<a href="?sort=date&amp;order=desc">Modified'));
      // Directories first, then a.txt, b.png.
      const names = [...body.matchAll(/<span>([^<]*)<\/span><\/a>/g)].map((m) => m[1]);
      assert.deepEqual(names, ["sub/", "a.txt", "b.png"]);
    },
  );
  await t.step("sorted by size, descending; the filter rides along", () => {
    const { body } = renderListing(["d"], entries, "html", {
      query: { sort: "size", order: "desc", filter: "a" },
    });
    assert.ok(
      body.includes('aria-sort="descending"><a href="?sort=size&amp;order=asc&amp;filter=a"'),
    );
    assert.ok(body.includes('<a href="?filter=a">Name'), "name A to Z is the default order");
    assert.ok(body.includes('<input type="hidden" name="sort" value="size">'));
    assert.ok(body.includes('<input type="hidden" name="order" value="desc">'));
  });
  await t.step("the filter form: a plain GET, its value escaped", () => {
    const { body } = renderListing([], entries, "html", {
      query: { sort: "name", order: "asc", filter: '"><script>x</script>' },
    });
    assert.ok(body.includes('<form method="get" role="search">'));
    assert.equal(
      attrOf(body, /<input id="filter" type="search" name="filter" value="([^"]*)"/),
      "&quot;&gt;&lt;script&gt;x&lt;/script&gt;",
    );
    assert.ok(!body.includes("<script>x"));
    // Nothing matches: the row that says so is shown.
    assert.match(
      body,
      /<tr class="none" id="none"\s*>\s*<td colspan="3">No names match the filter\./,
    );
  });
  await t.step("rows carry their match key and an icon of their kind", () => {
    const { body } = renderListing([], [at("Photo.PNG", 1, 1), at("sub", 0, 1, true)], "html");
    assert.ok(body.includes('<tr data-name="photo.png">'));
    assert.ok(body.includes('<use href="#i-image"/>'));
    assert.ok(body.includes('<use href="#i-folder"/>'));
    for (const kind of ["folder", "image", "audio", "video", "text", "archive", "pdf", "other"]) {
      assert.ok(body.includes(`<symbol id="i-${kind}"`), kind);
    }
    assert.match(body, /<tr class="none" id="none"\s*hidden>/);
    assert.ok(!/(src|href)="https?:/.test(body), "a request to somewhere else");
  });
  await t.step("an empty folder says so", () => {
    const { body } = renderListing([], [], "html");
    assert.ok(body.includes("This folder is empty."));
  });
  await t.step("the download link only when downloads are on", () => {
    const on = renderListing(["d"], entries, "html", { zip: true }).body;
    assert.ok(on.includes('<a href="?download=zip" download>'));
    const off = renderListing(["d"], entries, "html", { zip: false }).body;
    assert.ok(!off.includes("download=zip"));
  });
  await t.step("the QR code of the page scans to its URL", () => {
    const pageUrl = "http://192.168.1.20:8080/d%20e/";
    const { body } = renderListing(["d e"], entries, "html", { pageUrl });
    const svg = /<details class="qr">[^]*?(<svg[^]*?<\/svg>)/.exec(body)?.[1];
    assert.ok(svg !== undefined, "no QR code in a <details>");
    assert.equal(decodeGrid(gridOfSvg(svg)), pageUrl);
    assert.ok(body.includes(`<p>${pageUrl}</p>`));
    assert.ok(!renderListing(["d"], entries, "html").body.includes("<details"));
  });
  await t.step("one <main> landmark", () => {
    const { body } = renderListing([], entries, "html");
    assert.equal(body.match(/<main>/g)?.length, 1);
  });
});

Deno.test("queryHref: defaults left out", () => {
  assert.equal(queryHref({ sort: "name", order: "asc", filter: "" }), "./");
  assert.equal(queryHref({ sort: "size", order: "asc", filter: "" }), "?sort=size&order=asc");
  assert.equal(queryHref({ sort: "name", order: "asc", filter: "a b&c" }), "?filter=a+b%26c");
});

Deno.test("serveListing: what it reads, its validator, 304 and 412", async (t) => {
  await withTempDir(async (tmp) => {
    const root = join(tmp, "root");
    await Deno.mkdir(join(root, "sub"), { recursive: true });
    await Deno.writeTextFile(join(root, "a.txt"), "aaa");
    await Deno.writeTextFile(join(root, ".env"), "secret");
    await Deno.writeTextFile(join(tmp, "outside.txt"), "outside");
    await Deno.symlink(join(root, "a.txt"), join(root, "link-in.txt"));
    await Deno.symlink(join(tmp, "outside.txt"), join(root, "link-out.txt"));
    await Deno.symlink(join(root, ".env"), join(root, "link-dot.txt"));
    await Deno.symlink(join(root, "gone.txt"), join(root, "broken.txt"));
    const scope: Scope = { root, realRoot: root, dotfiles: false };
    const options = { path: root, segments: [], scope, cacheControl: "max-age=5", view: {} };
    const serve = (headers: HeadersInit = {}, method = "GET") =>
      serveListing(new Request("http://x/", { method, headers }), options);

    const json = await serve({ accept: "application/json" });
    const body = await json.text();
    const etag = json.headers.get("etag")!;
    await t.step("only what may be shown; a link inside is its target", () => {
      const rows = JSON.parse(body) as { name: string; type: string; size: number | null }[];
      assert.deepEqual(rows.map((r) => [r.name, r.type, r.size]), [
        ["sub", "directory", null],
        ["a.txt", "file", 3],
        ["link-in.txt", "file", 3],
      ]);
    });
    await t.step("fields: the type asked for, the Cache-Control given, Vary, a weak tag", () => {
      assert.equal(json.status, 200);
      assert.equal(json.headers.get("content-type"), "application/json; charset=utf-8");
      assert.equal(
        json.headers.get("content-length"),
        String(new TextEncoder().encode(body).length),
      );
      assert.equal(json.headers.get("cache-control"), "max-age=5");
      assert.equal(json.headers.get("vary"), "Accept, Accept-Encoding");
      assert.equal(json.headers.get("last-modified"), null);
      assert.match(etag, /^W\/"[0-9a-f]+-[0-9a-f]+"$/);
    });
    await t.step("each format is a page of its own, with its own tag", async () => {
      const text = await serve({ accept: "text/plain" });
      assert.notEqual(text.headers.get("etag"), etag);
      assert.equal(await text.text(), "sub/\na.txt\nlink-in.txt\n");
    });
    await t.step("If-None-Match with its tag: 304, without Content-Type or a body", async () => {
      const res = await serve({ accept: "application/json", "if-none-match": etag });
      assert.equal(res.status, 304);
      assert.equal(res.body, null);
      assert.equal(res.headers.get("content-type"), null);
      assert.equal(res.headers.get("etag"), etag);
    });
    await t.step("If-Match with another tag: 412", async () => {
      await assert.rejects(serve({ "if-match": '"other"' }), (err) => {
        assert.ok(err instanceof HttpError);
        assert.equal(err.status, 412);
        return true;
      });
    });
    await t.step("gzip when Accept-Encoding allows, with a tag of its own", async () => {
      // Enough names for a listing over LISTING_COMPRESS_MIN_BYTES.
      const big = join(tmp, "big");
      await Deno.mkdir(big);
      for (let i = 0; i < 40; i++) await Deno.writeTextFile(join(big, `photo-${i}.jpg`), "x");
      const at = { ...options, path: big, scope: { ...scope, root: tmp, realRoot: tmp } };
      const get = (headers: HeadersInit, method = "GET") =>
        serveListing(new Request("http://x/big/", { method, headers }), at);
      const plain = await get({ accept: "text/html" });
      const plainBody = new Uint8Array(await plain.arrayBuffer());
      assert.ok(plainBody.length >= LISTING_COMPRESS_MIN_BYTES, `${plainBody.length} bytes`);
      assert.equal(plain.headers.get("content-encoding"), null);
      const browser = { accept: "text/html", "accept-encoding": "gzip, deflate, br, zstd" };
      const packed = await get(browser);
      const packedBody = new Uint8Array(await packed.arrayBuffer());
      assert.equal(packed.headers.get("content-encoding"), "gzip");
      assert.equal(packed.headers.get("content-length"), String(packedBody.length));
      assert.ok(packedBody.length < plainBody.length / 2, `${packedBody.length} bytes`);
      const unpacked = new Uint8Array(
        await new Response(
          new Blob([packedBody]).stream().pipeThrough(new DecompressionStream("gzip")),
        ).arrayBuffer(),
      );
      assert.deepEqual(unpacked, plainBody, "the same page, compressed");
      const tag = packed.headers.get("etag")!;
      assert.equal(tag, plain.headers.get("etag")!.slice(0, -1) + '-gzip"');
      assert.equal(packed.headers.get("vary"), "Accept, Accept-Encoding");
      // HEAD: the length GET would send.
      const head = await get(browser, "HEAD");
      assert.equal(head.headers.get("content-length"), String(packedBody.length));
      // Revalidation: 304 for its own tag, 200 for the other coding's.
      const again = await get({ ...browser, "if-none-match": tag });
      assert.equal(again.status, 304);
      assert.equal(again.headers.get("etag"), tag);
      const other = await get({ ...browser, "if-none-match": plain.headers.get("etag")! });
      assert.equal(other.status, 200);
      // Refused or absent gzip, and a small page: as it is.
      for (const refused of ["gzip;q=0, br", "identity", "br"]) {
        const res = await get({ accept: "text/html", "accept-encoding": refused });
        assert.equal(res.headers.get("content-encoding"), null, refused);
      }
      const small = await serve({ accept: "text/plain", "accept-encoding": "gzip" });
      assert.equal(small.headers.get("content-encoding"), null);
    });
    await t.step("live reload's script is in the page before it is compressed", async () => {
      const inject = (page: Uint8Array) =>
        new TextEncoder().encode(new TextDecoder().decode(page) + "<script>live</script>");
      const live = { ...options, inject };
      const get = (headers: HeadersInit) =>
        serveListing(new Request("http://x/", { headers }), live);
      const plain = await get({ accept: "text/html" });
      assert.ok((await plain.text()).endsWith("<script>live</script>"));
      assert.match(plain.headers.get("etag")!, /-live"$/);
      const packed = await get({ accept: "text/html", "accept-encoding": "gzip" });
      assert.match(packed.headers.get("etag")!, /-live-gzip"$/);
      const text = await new Response(
        packed.body!.pipeThrough(new DecompressionStream("gzip")),
      ).text();
      assert.ok(text.endsWith("<script>live</script>"));
      // JSON is not a page: no script, no -live.
      const json = await get({ accept: "application/json" });
      assert.doesNotMatch(json.headers.get("etag")!, /live/);
      const again = await get({ accept: "text/html", "if-none-match": plain.headers.get("etag")! });
      assert.equal(again.status, 304, "a live listing revalidates");
    });
    await t.step("a directory that is gone: 404", async () => {
      const gone = { ...options, path: join(root, "nope") };
      await assert.rejects(serveListing(new Request("http://x/nope/"), gone), (err) => {
        assert.ok(err instanceof HttpError);
        assert.equal(err.status, 404);
        return true;
      });
    });
  });
});
