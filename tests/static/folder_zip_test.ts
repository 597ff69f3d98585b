/**
 * folder_zip_test.ts — folder downloads (`GET /dir/?download=zip`): the
 * archive listed back with Python's `zipfile` and compared file by file
 * with the tree (names and bytes), with everything the listing hides
 * absent; the cap, answered before anything streams; no archive when
 * listings are off; Content-Disposition for any name; and, against the real
 * server, a download cut off by the client leaves no file open, and a
 * 300 MB file streams through without the server's memory growing with it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type AppOptions, createApp } from "../../lib/app.ts";
import type { Handler, ServeInfo } from "../../lib/http/handler.ts";
import { contentDisposition, walkFolder, zipLength } from "../../lib/static/folder_zip.ts";
import { encode } from "../_support/bytes.ts";
import { fdTargets, hasProc, openFdCount, PROC_MISSING, rssKiB } from "../_support/proc.ts";
import { mulberry32 } from "../_support/random.ts";
import { spawnServer, withTempDir } from "../_support/server.ts";
import { delay, waitFor } from "../_support/wait.ts";

const INFO: ServeInfo = { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50000 } };
const UNICODE_NAME = "ünïcödé name.txt".normalize("NFC");

async function appAt(root: string, overrides: Partial<AppOptions> = {}): Promise<Handler> {
  return createApp({
    root,
    realRoot: await Deno.realPath(root),
    listing: true,
    dotfiles: false,
    ...overrides,
  });
}

function get(app: Handler, target: string, init?: RequestInit): Promise<Response> {
  return Promise.resolve(app(new Request("http://x" + target, init), INFO));
}

/** randomBytes makes `n` reproducible bytes. */
function randomBytes(n: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = Math.floor(next() * 256);
  return bytes;
}

/** canMkfifo tells whether `mkfifo` can make a FIFO here (to show one is left out). */
async function mkfifo(path: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("mkfifo", { args: [path], stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * makeShare writes `root/share` with what an archive must hold and what it
 * must leave out, and a secret beside the root. Returns the files the
 * archive must hold (name inside it → bytes) and its folders.
 */
async function makeShare(
  dir: string,
): Promise<{ root: string; files: Map<string, Uint8Array>; folders: string[]; fifo: boolean }> {
  const root = join(dir, "root");
  const share = join(root, "share");
  await Deno.mkdir(join(share, "sub", "deeper"), { recursive: true });
  await Deno.mkdir(join(share, "empty dir"));
  await Deno.mkdir(join(share, ".git"));
  await Deno.mkdir(join(dir, "outside"));
  const files = new Map<string, Uint8Array>();
  const put = async (rel: string, bytes: Uint8Array, inArchive = true) => {
    await Deno.writeFile(join(share, rel), bytes);
    if (inArchive) files.set(`share/${rel}`, bytes);
  };
  await put("a.txt", encode("alpha\n"));
  await put("empty.txt", new Uint8Array(0));
  await put("big.bin", randomBytes(700 * 1024, 7)); // several 256 KiB reads
  await put(UNICODE_NAME, encode("unicode ok\n"));
  await put("sub/c.txt", encode("see\n"));
  await put("sub/deeper/d.txt", encode("deep\n"));
  // Hidden: dotfiles, templates and their compressed sources, a backslash name.
  await put(".hidden", encode("hidden"), false);
  await put(".git/config", encode("[core]"), false);
  await put("page.tmpl.html", encode("<p>{{name}}</p>"), false);
  await put("page.tmpl.html.gz", encode("gz"), false);
  await put("back\\slash.txt", encode("no URL names me"), false);
  await Deno.writeTextFile(join(dir, "outside", "secret.txt"), "SECRET");
  // Links: inside the root they are followed; out of it, to a dotfile, or
  // back up the tree, they are left out.
  await Deno.symlink("a.txt", join(share, "link-in.txt"));
  files.set("share/link-in.txt", encode("alpha\n"));
  await Deno.symlink("sub", join(share, "link-dir"));
  files.set("share/link-dir/c.txt", encode("see\n"));
  files.set("share/link-dir/deeper/d.txt", encode("deep\n"));
  await Deno.symlink(join(dir, "outside", "secret.txt"), join(share, "link-out.txt"));
  await Deno.symlink(join(dir, "outside"), join(share, "link-out-dir"));
  await Deno.symlink(".hidden", join(share, "link-hidden"));
  await Deno.symlink("page.tmpl.html", join(share, "template-link.html"));
  await Deno.symlink("..", join(share, "sub", "loop"));
  await Deno.symlink("missing", join(share, "broken-link"));
  const fifo = await mkfifo(join(share, "fifo"));
  const folders = [
    "share/",
    "share/empty dir/",
    "share/link-dir/",
    "share/link-dir/deeper/",
    "share/sub/",
    "share/sub/deeper/",
  ];
  return { root, files, folders, fifo };
}

/** ZipListing is what Python's zipfile reads back from an archive. */
interface ZipListing {
  /** The first entry whose CRC-32 is wrong, or null. */
  bad: string | null;
  entries: { name: string; dir: boolean; size: number; sha256: string | null; utf8: boolean }[];
}

const LIST_ZIP = `
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
entries = []
for i in z.infolist():
    data = None if i.is_dir() else hashlib.sha256(z.read(i)).hexdigest()
    entries.append({"name": i.filename, "dir": i.is_dir(), "size": i.file_size,
                    "sha256": data, "utf8": bool(i.flag_bits & 0x800)})
print(json.dumps({"bad": z.testzip(), "entries": entries}))
`;

/** Whether python3 is here to read archives back (else those tests are skipped, saying so). */
const HAVE_PYTHON = await (async () => {
  try {
    const out = await new Deno.Command("python3", { args: ["-c", "import zipfile"] }).output();
    return out.success;
  } catch {
    return false;
  }
})();
const NO_PYTHON = " (SKIPPED: no python3 to read the archive back)";

/** listZip lists the archive at `path` with Python's zipfile, checking every CRC. */
async function listZip(path: string): Promise<ZipListing> {
  const out = await new Deno.Command("python3", { args: ["-c", LIST_ZIP, path] }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name: "folder download: the archive holds exactly what the listing shows, byte for byte" +
    (HAVE_PYTHON ? "" : NO_PYTHON),
  ignore: !HAVE_PYTHON,
}, async () => {
  await withTempDir(async (dir) => {
    const { root, files, folders, fifo } = await makeShare(dir);
    if (!fifo) console.log("folder_zip_test: mkfifo is missing; the FIFO case is not tried");
    const app = await appAt(root);
    const res = await get(app, "/share/?download=zip");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/zip");
    assert.equal(res.headers.get("content-disposition"), 'attachment; filename="share.zip"');
    assert.equal(res.headers.get("cache-control"), "no-store");
    const body = new Uint8Array(await res.arrayBuffer());
    assert.equal(Number(res.headers.get("content-length")), body.length, "exact Content-Length");
    const file = join(dir, "share.zip");
    await Deno.writeFile(file, body);

    const listing = await listZip(file);
    assert.equal(listing.bad, null, "every CRC-32 is right");
    assert.ok(listing.entries.every((e) => e.utf8), "names are flagged UTF-8");
    const got = listing.entries.filter((e) => e.dir).map((e) => e.name).sort();
    assert.deepEqual(got, [...folders].sort());
    const gotFiles = listing.entries.filter((e) => !e.dir);
    assert.deepEqual(gotFiles.map((e) => e.name).sort(), [...files.keys()].sort());
    for (const entry of gotFiles) {
      const want = files.get(entry.name)!;
      assert.equal(entry.size, want.length, entry.name);
      assert.equal(entry.sha256, await sha256(want), entry.name);
    }
    // Nothing hidden slipped in under any name.
    const text = new TextDecoder("latin1").decode(body);
    for (const secret of ["SECRET", "[core]", "{{name}}", "no URL names me", "hidden"]) {
      assert.ok(!text.includes(secret), `"${secret}" is in the archive`);
    }
  });
});

Deno.test({
  name: "folder download: --dotfiles puts dotfiles in, still never a link out of the root" +
    (HAVE_PYTHON ? "" : NO_PYTHON),
  ignore: !HAVE_PYTHON,
}, async () => {
  await withTempDir(async (dir) => {
    const { root } = await makeShare(dir);
    const app = await appAt(root, { dotfiles: true });
    const res = await get(app, "/share/?download=zip");
    assert.equal(res.status, 200);
    const file = join(dir, "share.zip");
    await Deno.writeFile(file, new Uint8Array(await res.arrayBuffer()));
    const names = (await listZip(file)).entries.map((e) => e.name);
    for (const name of ["share/.hidden", "share/.git/config", "share/link-hidden"]) {
      assert.ok(names.includes(name), `${name} missing with --dotfiles`);
    }
    for (const name of ["share/link-out.txt", "share/link-out-dir/", "share/page.tmpl.html"]) {
      assert.ok(!names.includes(name), `${name} in the archive`);
    }
  });
});

Deno.test({
  name: "folder download: the root, names, HEAD, and an index page" +
    (HAVE_PYTHON ? "" : NO_PYTHON),
  ignore: !HAVE_PYTHON,
}, async (t) => {
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    await Deno.mkdir(join(root, "ünï dir"), { recursive: true });
    await Deno.writeTextFile(join(root, "ünï dir", "x.txt"), "x");
    await Deno.mkdir(join(root, "site"));
    await Deno.writeTextFile(join(root, "site", "index.html"), "<h1>home</h1>");
    const app = await appAt(root);

    await t.step("the root is root.zip, its folder root/", async () => {
      const res = await get(app, "/?download=zip");
      assert.equal(res.headers.get("content-disposition"), 'attachment; filename="root.zip"');
      const file = join(dir, "root.zip");
      await Deno.writeFile(file, new Uint8Array(await res.arrayBuffer()));
      const names = (await listZip(file)).entries.map((e) => e.name).sort();
      assert.deepEqual(names, [
        "root/",
        "root/site/",
        "root/site/index.html",
        "root/ünï dir/",
        "root/ünï dir/x.txt",
      ]);
    });
    await t.step("a non-ASCII folder name: an ASCII filename and filename*", async () => {
      const res = await get(app, "/%C3%BCn%C3%AF%20dir/?download=zip");
      assert.equal(res.status, 200);
      assert.equal(
        res.headers.get("content-disposition"),
        `attachment; filename="_n_ dir.zip"; filename*=UTF-8''%C3%BCn%C3%AF%20dir.zip`,
      );
      await res.body?.cancel();
    });
    await t.step("HEAD: the same fields, no body", async () => {
      const full = await get(app, "/site/?download=zip");
      const bytes = (await full.arrayBuffer()).byteLength;
      const head = await get(app, "/site/?download=zip", { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), String(bytes));
      assert.equal(head.body, null);
    });
    await t.step("a folder with index.html: still its archive, not its page", async () => {
      const res = await get(app, "/site/?download=zip");
      assert.equal(res.headers.get("content-type"), "application/zip");
      await res.body?.cancel();
      const page = await get(app, "/site/");
      assert.equal(await page.text(), "<h1>home</h1>");
    });
    await t.step("a file ignores the parameter", async () => {
      const res = await get(app, "/site/index.html?download=zip");
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      await res.body?.cancel();
    });
  });
});

Deno.test("folder download: the cap is a 413 page before anything streams; off without listings", async (t) => {
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    const huge = join(root, "huge");
    await Deno.mkdir(huge, { recursive: true });
    // Sparse: 3 × 2 GiB that take no disk.
    for (const name of ["a.bin", "b.bin", "c.bin"]) {
      using file = await Deno.open(join(huge, name), { create: true, write: true });
      await file.truncate(2 * 1024 ** 3);
    }
    await Deno.writeTextFile(join(root, "small.txt"), "small");

    await t.step("over --max-zip-bytes: 413, a small page naming the cap, no path", async () => {
      const app = await appAt(root, { maxZipBytes: 4 * 1024 ** 3 });
      const started = performance.now();
      const res = await get(app, "/huge/?download=zip");
      const body = await res.text();
      assert.equal(res.status, 413);
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
      assert.equal(res.headers.get("content-disposition"), null);
      assert.match(body, /Folder too large to download: its files add up to more than 4\.0 GiB/);
      assert.match(body, /<a href="\/">/);
      assert.ok(!body.includes(dir), "a server path in the page");
      console.log(`413 for 6 GiB of files in ${Math.round(performance.now() - started)} ms`);
    });
    await t.step("the root too: the cap counts every file below", async () => {
      const app = await appAt(root, { maxZipBytes: 4 * 1024 ** 3 });
      const res = await get(app, "/?download=zip");
      assert.equal(res.status, 413);
      await res.body?.cancel();
    });
    await t.step("at the cap exactly: allowed (HEAD, so nothing is read)", async () => {
      const app = await appAt(root, { maxZipBytes: 6 * 1024 ** 3 });
      const res = await get(app, "/huge/?download=zip", { method: "HEAD" });
      assert.equal(res.status, 200);
      // Past 4 GiB: ZIP64 records make it longer than the files plus plain headers.
      const length = Number(res.headers.get("content-length"));
      assert.ok(length > 6 * 1024 ** 3, String(length));
    });
    await t.step("--no-listing: no archive, the folder is a 404 as before", async () => {
      const app = await appAt(root, { listing: false });
      const res = await get(app, "/huge/?download=zip");
      assert.equal(res.status, 404);
      await res.body?.cancel();
    });
    await t.step("--max-zip-bytes 0: the parameter is ignored, the listing shows", async () => {
      const app = await appAt(root, { maxZipBytes: 0 });
      const res = await get(app, "/?download=zip");
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
      const page = await res.text();
      assert.ok(!page.includes("download=zip"), "a download link while downloads are off");
    });
  });
});

Deno.test("walkFolder: the entry cap, and a zip length that matches what is written", async () => {
  await withTempDir(async (dir) => {
    for (let i = 0; i < 20; i++) await Deno.writeTextFile(join(dir, `f${i}.txt`), `file ${i}`);
    const scope = { root: dir, realRoot: dir, dotfiles: false, templates: true };
    await assert.rejects(
      walkFolder(dir, dir, "d", scope, { maxBytes: 1e9, maxEntries: 10 }),
      (err: Error & { status?: number }) =>
        err.status === 413 && /more than 10 files and folders/.test(err.message),
    );
    const walk = await walkFolder(dir, dir, "d", scope, { maxBytes: 1e9, maxEntries: 21 });
    assert.equal(walk.entries.length, 21);
    assert.equal(walk.bytes, 20 * "file N".length + 10);
    assert.ok(zipLength(walk.entries) > walk.bytes);
  });
});

Deno.test("contentDisposition: RFC 6266 with an RFC 8187 filename* when needed", async (t) => {
  const CASES: Array<[name: string, want: string]> = [
    ["share.zip", 'attachment; filename="share.zip"'],
    ["with space.zip", 'attachment; filename="with space.zip"'],
    ["ünï.zip", `attachment; filename="_n_.zip"; filename*=UTF-8''%C3%BCn%C3%AF.zip`],
    ['q"uote.zip', `attachment; filename="q_uote.zip"; filename*=UTF-8''q%22uote.zip`],
    ["back\\slash.zip", `attachment; filename="back_slash.zip"; filename*=UTF-8''back%5Cslash.zip`],
    ["100%.zip", `attachment; filename="100_.zip"; filename*=UTF-8''100%25.zip`],
    ["日本.zip", `attachment; filename="__.zip"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.zip`],
    ["a;b=c.zip", 'attachment; filename="a;b=c.zip"'],
    [
      "emoji 🎉.zip",
      `attachment; filename="emoji _.zip"; filename*=UTF-8''emoji%20%F0%9F%8E%89.zip`,
    ],
  ];
  for (const [name, want] of CASES) {
    await t.step(name, () => {
      const got = contentDisposition(name);
      assert.equal(got, want);
      assert.match(got, /^[\x20-\x7e]+$/, "a header value of visible ASCII");
    });
  }
});

// ---------------------------------------------------------------------------
// Against the real server.

const PROC = await hasProc();
if (!PROC) console.log(`folder_zip_test: fd and RSS tests are skipped: ${PROC_MISSING}`);

/** SPARSE_FILE_BYTES: the large file of the memory test, sparse (no disk used). */
const SPARSE_FILE_BYTES = 300 * 1000 * 1000;
/** How much the server's RSS may grow while it zips the large file. */
const ZIP_RSS_GROWTH_KIB = 16 * 1024;

/** sparse makes a file of `size` zero bytes that takes no disk. */
async function sparse(path: string, size: number) {
  using file = await Deno.open(path, { create: true, write: true });
  await file.truncate(size);
}

Deno.test({
  name: "folder download: a client that goes away leaves no file of the folder open",
  ignore: !PROC,
}, async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    const big = join(root, "big");
    await Deno.mkdir(big, { recursive: true });
    for (const name of ["a.bin", "b.bin", "c.bin", "d.bin"]) {
      await sparse(join(big, name), 64 * 1024 * 1024);
    }
    await using server = await spawnServer({ root, args: ["--quiet"] });
    // Warm up (the zip code loads on first use), then count.
    const warm = await fetch(`${server.url}/?download=zip`, { method: "HEAD" });
    await warm.body?.cancel();
    await delay(300);
    const before = (await openFdCount(server.pid))!;

    for (let round = 0; round < 3; round++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await conn.write(encode("GET /big/?download=zip HTTP/1.1\r\nHost: a\r\n\r\n"));
      // Take about 1 MiB, then stop reading: the server is inside a.bin.
      const buffer = new Uint8Array(64 * 1024);
      let got = 0;
      while (got < 1024 * 1024) {
        const n = await conn.read(buffer);
        assert.ok(n !== null, "the download ended early");
        got += n;
      }
      const open = await fdTargets(server.pid);
      assert.ok(
        open.some((line) => line.includes(big)),
        `no file of the folder open mid-download:\n${open.join("\n")}`,
      );
      conn.close(); // the client goes away mid-archive
      const closed = await waitFor(async () => {
        const targets = await fdTargets(server.pid);
        return !targets.some((line) => line.includes(big)) &&
          ((await openFdCount(server.pid)) ?? Infinity) <= before;
      }, 5_000);
      assert.ok(
        closed,
        `after round ${round + 1}, the server holds ${await openFdCount(server.pid)} ` +
          `descriptors (${before} before):\n${(await fdTargets(server.pid)).join("\n")}`,
      );
    }
    // And it still serves.
    const res = await fetch(`${server.url}/big/`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });
});

Deno.test({
  name: "folder download: a 300 MB file streams through without the server holding it",
  ignore: !PROC,
}, async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    const share = join(root, "share");
    await Deno.mkdir(share, { recursive: true });
    await sparse(join(share, "disk.img"), SPARSE_FILE_BYTES);
    await Deno.writeTextFile(join(share, "readme.txt"), "a disk image\n");
    await using server = await spawnServer({ root, args: ["--quiet"] });
    const warm = await fetch(`${server.url}/share/?download=zip`, { method: "HEAD" });
    await warm.body?.cancel();
    await delay(500);
    const baseline = (await rssKiB(server.pid))!;

    const res = await fetch(`${server.url}/share/?download=zip`);
    assert.equal(res.status, 200);
    const declared = Number(res.headers.get("content-length"));
    let received = 0;
    let peak = baseline;
    let lastSample = 0;
    const tail: Uint8Array[] = [];
    for await (const chunk of res.body!) {
      received += chunk.length;
      tail.push(chunk);
      if (tail.length > 4) tail.shift();
      if (received - lastSample >= 8 * 1024 * 1024) {
        lastSample = received;
        peak = Math.max(peak, (await rssKiB(server.pid)) ?? 0);
      }
    }
    peak = Math.max(peak, (await rssKiB(server.pid)) ?? 0);
    assert.equal(received, declared, "the whole archive, as long as announced");
    assert.ok(received > SPARSE_FILE_BYTES);
    // The archive ends with its end-of-central-directory record (PK\x05\x06).
    const end = tail.reduce((a, b) => new Uint8Array([...a, ...b]), new Uint8Array(0));
    const eocd = end.length - 22;
    assert.deepEqual([...end.subarray(eocd, eocd + 4)], [0x50, 0x4b, 0x05, 0x06]);
    const growth = peak - baseline;
    console.log(
      `zipping ${SPARSE_FILE_BYTES} bytes: RSS ${(baseline / 1024).toFixed(1)} MiB before, ` +
        `peak ${(peak / 1024).toFixed(1)} MiB (+${(growth / 1024).toFixed(1)} MiB)`,
    );
    assert.ok(growth <= ZIP_RSS_GROWTH_KIB, `RSS grew by ${growth} KiB`);
  });
});
