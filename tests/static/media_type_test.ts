/**
 * media_type_test.ts — contentType by extension: the common web types,
 * `charset=utf-8` on text, case-insensitivity and the default for unknowns;
 * source code and well-known extensionless names served as text/plain.
 */

import assert from "node:assert/strict";
import { contentType, DEFAULT_MEDIA_TYPE, isCompressible } from "../../lib/static/media_type.ts";

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

const TEXT = "text/plain; charset=utf-8";

/** Every extension served as text/plain whatever mime-db says, with what mime-db 1.54 says. */
const TEXT_EXTENSIONS: Array<[ext: string, mimeDb: string]> = [
  ["py", DEFAULT_MEDIA_TYPE],
  ["go", DEFAULT_MEDIA_TYPE],
  ["cs", DEFAULT_MEDIA_TYPE],
  ["rb", DEFAULT_MEDIA_TYPE],
  ["kt", DEFAULT_MEDIA_TYPE],
  ["swift", DEFAULT_MEDIA_TYPE],
  ["scala", DEFAULT_MEDIA_TYPE],
  ["r", DEFAULT_MEDIA_TYPE],
  ["hpp", DEFAULT_MEDIA_TYPE],
  ["tsx", DEFAULT_MEDIA_TYPE],
  ["vue", DEFAULT_MEDIA_TYPE],
  ["svelte", DEFAULT_MEDIA_TYPE],
  ["bash", DEFAULT_MEDIA_TYPE],
  ["zsh", DEFAULT_MEDIA_TYPE],
  ["ps1", DEFAULT_MEDIA_TYPE],
  ["cfg", DEFAULT_MEDIA_TYPE],
  ["env", DEFAULT_MEDIA_TYPE],
  ["properties", DEFAULT_MEDIA_TYPE],
  ["gradle", DEFAULT_MEDIA_TYPE],
  ["diff", DEFAULT_MEDIA_TYPE],
  ["patch", DEFAULT_MEDIA_TYPE],
  ["rs", "application/rls-services+xml"],
  ["sh", "application/x-sh"],
  ["pl", "application/x-perl"],
  ["sql", "application/sql"],
  ["toml", "application/toml"],
  ["php", "application/x-httpd-php"], // never presented as something to run
  ["java", "text/x-java-source"],
  ["c", "text/x-c"],
  ["h", "text/x-c"],
  ["cpp", "text/x-c"],
  ["cc", "text/x-c"],
  ["lua", "text/x-lua"],
  ["yaml", "text/yaml"],
  ["yml", "text/yaml"],
  ["jsx", "text/jsx"],
  ["ini", "text/plain"],
  ["conf", "text/plain"],
  ["log", "text/plain"],
];

Deno.test("contentType: source and configuration files are text/plain", async (t) => {
  for (const [ext, mimeDb] of TEXT_EXTENSIONS) {
    await t.step(`.${ext} (mime-db: ${mimeDb})`, () => {
      assert.equal(contentType(`/srv/project/file.${ext}`), TEXT);
      assert.equal(contentType(`FILE.${ext.toUpperCase()}`), TEXT); // case-insensitive
      assert.ok(isCompressible(contentType(`file.${ext}`)));
    });
  }
});

const NAME_CASES: Array<[name: string, want: string]> = [
  // Well-known extensionless names, as a bare name and as the last segment of a path.
  ["Makefile", TEXT],
  ["makefile", TEXT], // GNU make reads Makefile, makefile and GNUmakefile
  ["GNUmakefile", TEXT],
  ["Dockerfile", TEXT],
  ["LICENSE", TEXT],
  ["README", TEXT],
  ["CHANGELOG", TEXT],
  ["Gemfile", TEXT],
  ["Rakefile", TEXT],
  ["Procfile", TEXT],
  ["Vagrantfile", TEXT],
  ["CODEOWNERS", TEXT],
  ["AUTHORS", TEXT],
  ["COPYING", TEXT],
  ["NOTICE", TEXT],
  ["/srv/project/Makefile", TEXT],
  ["/srv/project/.github/CODEOWNERS", TEXT],
  // The name is matched case-sensitively.
  ["DOCKERFILE", DEFAULT_MEDIA_TYPE],
  ["License", DEFAULT_MEDIA_TYPE],
  ["Readme", DEFAULT_MEDIA_TYPE],
  // A known extension decides; an unknown one leaves the name to decide.
  ["makefile.txt", TEXT], // via .txt
  ["README.md", "text/markdown; charset=utf-8"],
  ["LICENSE.html", "text/html; charset=utf-8"],
  ["README.pdf", "application/pdf"],
  ["Makefile.ts", "video/mp2t"],
  ["Makefile.bak", TEXT],
  ["Makefile.am", TEXT],
  ["Dockerfile.dev", TEXT],
  ["LICENSE.MIT", TEXT],
  // Only the whole name, and only the last path segment, counts.
  ["MyMakefile", DEFAULT_MEDIA_TYPE],
  ["Makefiles", DEFAULT_MEDIA_TYPE],
  ["old.Makefile", DEFAULT_MEDIA_TYPE],
  [".Makefile", DEFAULT_MEDIA_TYPE],
  ["/srv/Makefile/data", DEFAULT_MEDIA_TYPE],
  ["/srv/Makefile/", DEFAULT_MEDIA_TYPE],
  ["C:\\src\\Makefile", TEXT], // a Windows path
  ["C:\\src\\v1.2\\noext", DEFAULT_MEDIA_TYPE],
];

Deno.test("contentType: well-known extensionless names", async (t) => {
  for (const [name, want] of NAME_CASES) {
    await t.step(name, () => assert.equal(contentType(name), want));
  }
});

const UNCHANGED: Array<[name: string, want: string, why: string]> = [
  ["segment.ts", "video/mp2t", "HLS video segments depend on it"],
  ["SEGMENT.TS", "video/mp2t", "HLS video segments depend on it"],
  ["notes.md", "text/markdown; charset=utf-8", "mime-db's type"],
  ["app.js", "text/javascript; charset=utf-8", "a script browsers run"],
  ["app.mjs", "text/javascript; charset=utf-8", "a module browsers run"],
  ["site.css", "text/css; charset=utf-8", "a stylesheet"],
  ["data.json", "application/json; charset=utf-8", "browsers show it"],
  ["page.html", "text/html; charset=utf-8", "a page"],
  ["notes.txt", TEXT, "already text/plain"],
];

Deno.test("contentType: what the text/plain overrides leave alone", async (t) => {
  for (const [name, want, why] of UNCHANGED) {
    await t.step(`${name}: ${why}`, () => assert.equal(contentType(name), want));
  }
});

Deno.test("contentType: binary types never get a charset", () => {
  for (const name of ["a.png", "a.jpg", "a.gif", "a.mp4", "a.wasm", "a.pdf", "noext"]) {
    assert.ok(!contentType(name).includes("charset"), name);
  }
});
