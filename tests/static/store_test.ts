/**
 * The representation store: what a path is, fresh after every completed
 * write (by wave, by the racy rule, through a miss's ancestor), bounded in
 * entries and bytes, compressed forms made once, forgotten when told.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Compressor } from "../../lib/static/compress.ts";
import {
  entityTag,
  type FileEntry,
  type Lookup,
  racyGraceMs,
  RepresentationStore,
} from "../../lib/static/store.ts";
import type { Scope } from "../../lib/static/resolve_path.ts";

const encoder = new TextEncoder();

/** The claim rule these tests give the store: what a caller's page answers (the app's is templates). */
const isPage = (name: string) => name.endsWith(".page.html");
const AN_HOUR_AGO = () => new Date(Date.now() - 3600_000);

/** A new wave: the microtask that ends the current one has run. */
const nextWave = () => new Promise((resolve) => setTimeout(resolve, 0));

async function withRoot(fn: (root: string, scope: Scope) => Promise<void> | void) {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "minserve_store_" }));
  try {
    await fn(root, { root, realRoot: root, dotfiles: false, claims: isPage });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function asFile(found: Lookup): FileEntry {
  assert.equal(found.kind, "file");
  return found as FileEntry;
}

/** Writes `text` to `path` and dates it an hour back (a settled file). */
function writeOld(path: string, text: string) {
  Deno.writeTextFileSync(path, text);
  Deno.utimeSync(path, AN_HOUR_AGO(), AN_HOUR_AGO());
}

Deno.test("store: what a path is", async (t) => {
  await withRoot(async (root, scope) => {
    const store = new RepresentationStore();
    writeOld(join(root, "a.css"), "body { color: red }\n");
    Deno.mkdirSync(join(root, "dir"));
    writeOld(join(root, "x.page.html"), "<p>{{name}}</p>");
    writeOld(join(root, "x.page.html.br"), "x");
    writeOld(join(root, "x.page.html.GZ"), "x");
    Deno.symlinkSync(join(root, "x.page.html"), join(root, "alias.html"));
    Deno.symlinkSync(join(root, "x.page.html.br"), join(root, "alias.html.br"));
    writeOld(join(root, ".secret"), "x");
    Deno.symlinkSync(join(root, ".secret"), join(root, "link.txt"));
    const outside = await Deno.makeTempFile();
    Deno.symlinkSync(outside, join(root, "out.txt"));
    try {
      const cases: [string, string, Lookup["kind"]][] = [
        ["a file", "a.css", "file"],
        ["a missing file", "nope.css", "missing"],
        ["below a missing directory", "no/such/file", "missing"],
        ["below a file", "a.css/x", "missing"],
        ["a directory", "dir", "directory"],
        ["a claimed file", "x.page.html", "claimed"],
        ["a link to a claimed file", "alias.html", "claimed"],
        ["a claimed file's brotli sibling", "x.page.html.br", "hidden"],
        ["a claimed file's gzip sibling, any case", "x.page.html.GZ", "hidden"],
        ["a link to a claimed file's sibling", "alias.html.br", "hidden"],
        ["a link to a dotfile", "link.txt", "hidden"],
        ["a link out of the root", "out.txt", "hidden"],
      ];
      for (const [name, path, kind] of cases) {
        await t.step(name, () => assert.equal(store.lookup(join(root, path), scope).kind, kind));
      }
      await t.step("a file's entry: size, type, validators, bytes", () => {
        const entry = asFile(store.lookup(join(root, "a.css"), scope));
        const bytes = Deno.readFileSync(join(root, "a.css"));
        assert.equal(entry.size, bytes.length);
        assert.equal(entry.type, "text/css; charset=utf-8");
        assert.equal(entry.compressible, true);
        assert.deepEqual(entry.body, bytes);
        assert.equal(entry.etag, entityTag(bytes.length, entry.mtime, bytes));
        assert.deepEqual(entry.siblings, { br: false, gzip: false });
      });
      await t.step("without a claim rule (uploads) the same names are plain files", () => {
        const plain: Scope = { root, realRoot: root, dotfiles: false };
        for (const name of ["x.page.html", "alias.html", "x.page.html.br"]) {
          const other = new RepresentationStore();
          assert.equal(other.lookup(join(root, name), plain).kind, "file", name);
        }
      });
    } finally {
      Deno.removeSync(outside);
    }
  });
});

Deno.test("store: fresh after every completed write", async (t) => {
  await withRoot(async (root, scope) => {
    const store = new RepresentationStore();
    const path = join(root, "f.txt");

    await t.step("within a wave the check is shared; the next wave sees the write", async () => {
      writeOld(path, "one");
      const first = asFile(store.lookup(path, scope));
      writeOld(path, "two, longer");
      // Same wave: a request read before this write may be answered as before.
      assert.equal(store.lookup(path, scope), first);
      await nextWave();
      assert.equal(new TextDecoder().decode(asFile(store.lookup(path, scope)).body), "two, longer");
    });

    await t.step(
      "same size, same mtime: a just-written file is compared byte by byte",
      async () => {
        Deno.writeTextFileSync(path, "AAAA");
        const a = asFile(store.lookup(path, scope));
        const { mtime } = Deno.statSync(path);
        Deno.writeTextFileSync(path, "BBBB");
        Deno.utimeSync(path, mtime!, mtime!); // as if within one timestamp tick
        await nextWave();
        const b = asFile(store.lookup(path, scope));
        assert.equal(new TextDecoder().decode(b.body), "BBBB");
        assert.notEqual(b.etag, a.etag, "two contents, two tags");
      },
    );

    await t.step("replaced by rename: a new inode", async () => {
      writeOld(path, "old");
      store.lookup(path, scope);
      writeOld(join(root, ".tmp"), "new");
      Deno.renameSync(join(root, ".tmp"), path);
      await nextWave();
      assert.equal(new TextDecoder().decode(asFile(store.lookup(path, scope)).body), "new");
    });

    await t.step("deleted, then created again", async () => {
      Deno.removeSync(path);
      await nextWave();
      assert.equal(store.lookup(path, scope).kind, "missing");
      await nextWave();
      assert.equal(store.lookup(path, scope).kind, "missing", "a remembered miss");
      Deno.writeTextFileSync(path, "born");
      await nextWave();
      assert.equal(new TextDecoder().decode(asFile(store.lookup(path, scope)).body), "born");
    });

    await t.step("a miss under missing directories sees them made", async () => {
      const deep = join(root, "x", "y", "z.txt");
      assert.equal(store.lookup(deep, scope).kind, "missing");
      // The watched ancestor (the root) is settled: change it an hour back.
      Deno.utimeSync(root, AN_HOUR_AGO(), AN_HOUR_AGO());
      store.invalidate(deep);
      assert.equal(store.lookup(deep, scope).kind, "missing");
      await nextWave();
      Deno.mkdirSync(join(root, "x", "y"), { recursive: true });
      Deno.writeTextFileSync(deep, "deep");
      await nextWave();
      assert.equal(store.lookup(deep, scope).kind, "file");
    });
  });
});

Deno.test("store: racyGraceMs covers the file system's timestamp resolution", () => {
  assert.equal(racyGraceMs(1_700_000_000_123), 100, "sub-second timestamps");
  assert.equal(racyGraceMs(1_700_000_000_000), 2_100, "whole seconds (or 2 s on FAT)");
});

Deno.test("store: bounded in entries and bytes, least recently used out first", async (t) => {
  await withRoot(async (root, scope) => {
    for (const name of ["a", "b", "c", "d"]) writeOld(join(root, name), name.repeat(1000));

    await t.step("entries", async () => {
      const store = new RepresentationStore({ maxEntries: 3 });
      for (const name of ["a", "b", "c"]) store.lookup(join(root, name), scope);
      await nextWave();
      store.lookup(join(root, "a"), scope); // a is used again: b is now the oldest
      store.lookup(join(root, "d"), scope);
      assert.equal(store.size, 3);
      assert.deepEqual(
        ["a", "b", "c", "d"].map((name) => store.has(join(root, name))),
        [true, false, true, true],
        "b, the least recently used, went",
      );
    });

    await t.step("bytes: files over a quarter of the bound are not held", () => {
      const store = new RepresentationStore({ maxBytes: 2500 });
      for (const name of ["a", "b", "c"]) store.lookup(join(root, name), scope);
      assert.ok(store.bytes <= 2500, `${store.bytes} bytes held`);
      const big = asFile(store.lookup(join(root, "d"), scope));
      assert.equal(big.body, undefined, "1000 bytes > 2500 / 4: streamed, not held");
    });

    await t.step("a flood of misses evicts itself", () => {
      const store = new RepresentationStore({ maxEntries: 100 });
      for (let i = 0; i < 1000; i++) store.lookup(join(root, `missing-${i}`), scope);
      assert.equal(store.size, 100);
    });
  });
});

Deno.test("store: compressed forms are made once per version", async (t) => {
  await withRoot(async (root, scope) => {
    let calls = 0;
    const counting: Compressor = {
      compress(bytes) {
        calls++;
        return Promise.resolve(bytes.subarray(0, bytes.length >> 1));
      },
      close() {},
    };
    const store = new RepresentationStore({ compressor: counting });
    const path = join(root, "big.css");
    writeOld(path, "a { color: red }\n".repeat(200));

    await t.step("pending, then ready with its own tag; counted in bytes", async () => {
      const entry = asFile(store.lookup(path, scope));
      const pending = store.coded(entry, "br");
      assert.ok(pending instanceof Promise);
      assert.equal(store.coded(entry, "br"), pending, "one compression, however many ask");
      await pending;
      const made = store.coded(entry, "br");
      assert.ok(typeof made === "object" && !(made instanceof Promise));
      assert.equal(made.bytes.length, entry.size >> 1);
      assert.match(made.etag, /-br"$/);
      assert.equal(store.bytes, entry.size + (entry.size >> 1));
      assert.equal(calls, 1);
    });

    await t.step("a new version compresses again", async () => {
      writeOld(path, "b { color: blue }\n".repeat(200));
      await nextWave();
      const entry = asFile(store.lookup(path, scope));
      await store.coded(entry, "br");
      assert.equal(calls, 2);
    });

    await t.step("not worth it: small, incompressible, or no smaller", async () => {
      writeOld(join(root, "small.css"), "a{}");
      assert.equal(
        store.coded(asFile(store.lookup(join(root, "small.css"), scope)), "br"),
        "useless",
      );
      writeOld(join(root, "x.png"), "x".repeat(5000));
      assert.equal(
        store.coded(asFile(store.lookup(join(root, "x.png"), scope)), "gzip"),
        "useless",
      );
      const inflating = new RepresentationStore({
        compressor: { compress: (b) => Promise.resolve(new Uint8Array(b.length + 1)), close() {} },
      });
      const entry = asFile(inflating.lookup(path, scope));
      await inflating.coded(entry, "gzip");
      assert.equal(inflating.coded(entry, "gzip"), "useless");
    });

    await t.step("a failed compression leaves the version uncompressed", async () => {
      const failing = new RepresentationStore({
        compressor: { compress: () => Promise.reject(new Error("closed")), close() {} },
      });
      const entry = asFile(failing.lookup(path, scope));
      await failing.coded(entry, "br");
      assert.equal(failing.coded(entry, "br"), "useless");
    });
  });
});

Deno.test("store: invalidate forgets a path, what is under it, and a sibling's owner", async () => {
  await withRoot((root, scope) => {
    const store = new RepresentationStore();
    Deno.mkdirSync(join(root, "d"));
    for (const name of ["d/a.js", "d/b.js", "c.js"]) writeOld(join(root, name), "x".repeat(10));
    for (const name of ["d/a.js", "d/b.js", "c.js"]) store.lookup(join(root, name), scope);
    assert.equal(store.size, 3);
    store.invalidate(join(root, "d"));
    assert.equal(store.size, 1, "d/a.js and d/b.js forgotten");
    writeOld(join(root, "c.js.br"), "compressed");
    assert.equal(asFile(store.lookup(join(root, "c.js"), scope)).siblings.br, false);
    store.invalidate(join(root, "c.js.br"));
    assert.equal(store.size, 0);
    assert.equal(asFile(store.lookup(join(root, "c.js"), scope)).siblings.br, true);
    store.clear();
    assert.equal(store.size, 0);
    assert.equal(store.bytes, 0);
  });
});

Deno.test("entityTag: a digest of the bytes only for files held in memory", () => {
  assert.equal(entityTag(255, 4096), '"ff-1000"');
  const a = entityTag(3, 4096, encoder.encode("abc"));
  const b = entityTag(3, 4096, encoder.encode("abd"));
  assert.match(a, /^"3-1000-[0-9a-f]+"$/);
  assert.notEqual(a, b);
});
