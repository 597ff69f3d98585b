/**
 * listing_test.ts — directory listings: format negotiation by Accept,
 * natural order, and HTML that escapes names and percent-encodes links
 * (Go's TestFileServerEscapesNames, style rule 9).
 */

import assert from "node:assert/strict";
import {
  hrefOf,
  type ListingEntry,
  listingFormat,
  renderListing,
  sortEntries,
} from "../../lib/static/listing.ts";

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
  assert.ok(!body.includes("<script>"), "raw <script> in the listing");
  assert.ok(body.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(body.includes("&quot;quote&quot;&amp;amp"));
  assert.ok(!body.includes('"quote"'), "raw double quotes in the listing");
  assert.ok(body.includes("it&#39;s"));
  assert.ok(body.includes("unicode-\u00fcn\u00ef.txt"), "non-ASCII text is shown as is");

  const links = hrefs(body);
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
