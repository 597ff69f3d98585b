/**
 * media_type_test.ts — contentType by extension: the common web types,
 * `charset=utf-8` on text, case-insensitivity and the default for unknowns.
 */

import assert from "node:assert/strict";
import { contentType, DEFAULT_MEDIA_TYPE } from "../../lib/static/media_type.ts";

const CASES: Array<[name: string, want: string]> = [
  ["index.html", "text/html; charset=utf-8"],
  ["page.htm", "text/html; charset=utf-8"],
  ["style.css", "text/css; charset=utf-8"],
  ["script.js", "text/javascript; charset=utf-8"],
  ["module.mjs", "text/javascript; charset=utf-8"],
  ["data.json", "application/json; charset=utf-8"],
  ["image.svg", "image/svg+xml; charset=utf-8"],
  ["notes.txt", "text/plain; charset=utf-8"],
  ["README.md", "text/markdown; charset=utf-8"],
  ["feed.xml", "text/xml; charset=utf-8"],
  ["photo.png", "image/png"],
  ["photo.jpg", "image/jpeg"],
  ["anim.gif", "image/gif"],
  ["pic.webp", "image/webp"],
  ["font.woff2", "font/woff2"],
  ["doc.pdf", "application/pdf"],
  ["module.wasm", "application/wasm"],
  ["movie.mp4", "video/mp4"], // not application/mp4
  ["archive.tar.gz", "application/gzip"], // the last extension counts
  // Extensions are compared case-insensitively.
  ["UPPER.TXT", "text/plain; charset=utf-8"],
  ["INDEX.HTML", "text/html; charset=utf-8"],
  ["Photo.PnG", "image/png"],
  // Unknown and absent extensions.
  ["noext", DEFAULT_MEDIA_TYPE],
  [".hidden", DEFAULT_MEDIA_TYPE], // a dotfile's name is not an extension
  [".gitignore", DEFAULT_MEDIA_TYPE],
  ["trailing.", DEFAULT_MEDIA_TYPE],
  ["file.unknownext", DEFAULT_MEDIA_TYPE],
  ["", DEFAULT_MEDIA_TYPE],
  // The server passes whole paths: a dot in a directory name is not an extension.
  ["/srv/v1.2/noext", DEFAULT_MEDIA_TYPE],
  ["/srv/site.d/page.html", "text/html; charset=utf-8"],
];

Deno.test("contentType", async (t) => {
  assert.equal(DEFAULT_MEDIA_TYPE, "application/octet-stream");
  for (const [name, want] of CASES) {
    await t.step(name === "" ? "(empty)" : name, () => assert.equal(contentType(name), want));
  }
});

Deno.test("contentType: binary types never get a charset", () => {
  for (const name of ["a.png", "a.jpg", "a.gif", "a.mp4", "a.wasm", "a.pdf", "noext"]) {
    assert.ok(!contentType(name).includes("charset"), name);
  }
});
