/**
 * atomic_write_test.ts — atomicWrite's promise: the target holds the old
 * content or the whole new content, never part of it, and no temp file
 * outlives a failed write; removeStaleParts clears what a crash leaves.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  atomicWrite,
  MAX_NUMBERED_NAMES,
  NAME_MAX_BYTES,
  numberedName,
  PART_SUFFIX,
  removeStaleParts,
} from "../lib/atomic_write.ts";
import { DENO_JSON } from "./_support/paths.ts";
import { withTempDir } from "./_support/server.ts";
import { readLines, scriptedStream } from "./_support/streams.ts";
import { namesIn } from "./_support/fs.ts";
import { isStatus } from "./_support/errors.ts";

const encoder = new TextEncoder();
/** How long the crash test's child may take to get midway before it is killed anyway. */
const CHILD_TIMEOUT_MS = 30_000;

/** partsIn lists the temp files in a directory. */
async function partsIn(dir: string): Promise<string[]> {
  return (await namesIn(dir)).filter((n) => n.startsWith(".") && n.endsWith(PART_SUFFIX));
}

Deno.test("atomicWrite writes a new file from bytes and from a stream", async () => {
  await withTempDir(async (dir) => {
    assert.deepEqual(
      await atomicWrite(dir, "a.txt", encoder.encode("hello"), { maxBytes: 5 }),
      { bytes: 5, name: "a.txt" },
    );
    assert.equal(await Deno.readTextFile(join(dir, "a.txt")), "hello");

    const body = scriptedStream(["one ", "two ", "three"]);
    assert.deepEqual(await atomicWrite(dir, "b.txt", body.stream, { maxBytes: 100 }), {
      bytes: 13,
      name: "b.txt",
    });
    assert.equal(await Deno.readTextFile(join(dir, "b.txt")), "one two three");
    assert.deepEqual(await namesIn(dir), ["a.txt", "b.txt"]);
  });
});

Deno.test("atomicWrite writes an empty body as an empty file", async () => {
  await withTempDir(async (dir) => {
    assert.deepEqual(await atomicWrite(dir, "e", new Uint8Array(0), { maxBytes: 0 }), {
      bytes: 0,
      name: "e",
    });
    assert.deepEqual(await atomicWrite(dir, "f", scriptedStream([]).stream, { maxBytes: 0 }), {
      bytes: 0,
      name: "f",
    });
    assert.equal((await Deno.stat(join(dir, "e"))).size, 0);
    assert.equal((await Deno.stat(join(dir, "f"))).size, 0);
  });
});

Deno.test("atomicWrite creates files with mode 0o644 (less the umask)", async () => {
  await withTempDir(async (dir) => {
    // A reference file created with the same mode shows what the umask allows.
    const reference = await Deno.open(join(dir, "ref"), {
      write: true,
      createNew: true,
      mode: 0o644,
    });
    reference.close();
    await atomicWrite(dir, "a", encoder.encode("x"), { maxBytes: 1 });
    const want = (await Deno.stat(join(dir, "ref"))).mode! & 0o777;
    assert.equal((await Deno.stat(join(dir, "a"))).mode! & 0o777, want);
  });
});

Deno.test("atomicWrite replaces an existing file", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "a.txt"), "old content, longer than the new");
    await atomicWrite(dir, "a.txt", encoder.encode("new"), { maxBytes: 10 });
    assert.equal(await Deno.readTextFile(join(dir, "a.txt")), "new");
    assert.deepEqual(await namesIn(dir), ["a.txt"]);
  });
});

Deno.test("atomicWrite accepts exactly maxBytes and refuses one more", async (t) => {
  await withTempDir(async (dir) => {
    await t.step("bytes", async () => {
      await atomicWrite(dir, "ok", new Uint8Array(8), { maxBytes: 8 });
      await assert.rejects(
        atomicWrite(dir, "big", new Uint8Array(9), { maxBytes: 8 }),
        isStatus(413),
      );
    });
    await t.step("stream", async () => {
      await atomicWrite(dir, "ok2", scriptedStream(["1234", "5678"]).stream, { maxBytes: 8 });
      await assert.rejects(
        atomicWrite(dir, "big2", scriptedStream(["1234", "5678", "9"]).stream, { maxBytes: 8 }),
        isStatus(413),
      );
    });
    assert.deepEqual(await namesIn(dir), ["ok", "ok2"]);
  });
});

Deno.test("atomicWrite stops an endless stream at maxBytes, cancels it, and leaves nothing", async () => {
  await withTempDir(async (dir) => {
    const body = scriptedStream(["x".repeat(1000)], { endless: true });
    await assert.rejects(atomicWrite(dir, "big", body.stream, { maxBytes: 10_000 }), isStatus(413));
    assert.equal(body.cancelled, true, "the source is told to stop");
    assert.equal(body.pulls, 11, "no chunk is read past the one that crossed the limit");
    assert.deepEqual(await namesIn(dir), []);
  });
});

Deno.test("atomicWrite throws onTooLarge's error when given", async () => {
  await withTempDir(async (dir) => {
    const custom = new RangeError("Cannot store: too large");
    await assert.rejects(
      atomicWrite(dir, "a", new Uint8Array(2), { maxBytes: 1, onTooLarge: () => custom }),
      (err) => err === custom,
    );
    await assert.rejects(
      atomicWrite(dir, "b", scriptedStream(["ab"]).stream, {
        maxBytes: 1,
        onTooLarge: () => custom,
      }),
      (err) => err === custom,
    );
    assert.deepEqual(await namesIn(dir), []);
  });
});

Deno.test("atomicWrite keeps the old file until the new one is complete", async () => {
  await withTempDir(async (dir) => {
    const target = join(dir, "doc.txt");
    await Deno.writeTextFile(target, "OLD");
    const failure = new Deno.errors.UnexpectedEof("Cannot read body: the client went away");
    const seenMidway: string[] = [];
    const body = scriptedStream(["new-1 ", "new-2 ", "new-3 "], {
      error: failure,
      // While the new content streams in, readers of the target still see the old.
      beforeChunk: async () => {
        seenMidway.push(await Deno.readTextFile(target));
        assert.equal((await partsIn(dir)).length, 1, "the bytes go to one temp file");
      },
    });
    await assert.rejects(
      atomicWrite(dir, "doc.txt", body.stream, { maxBytes: 1000 }),
      (err) => err === failure,
    );
    assert.deepEqual(seenMidway, ["OLD", "OLD", "OLD", "OLD"]);
    assert.equal(await Deno.readTextFile(target), "OLD");
    assert.deepEqual(await namesIn(dir), ["doc.txt"], "the temp file is removed");
  });
});

Deno.test("atomicWrite cleans up when the stream errors before any byte", async () => {
  await withTempDir(async (dir) => {
    const failure = new Error("Cannot read body: reset");
    await assert.rejects(
      atomicWrite(dir, "a", scriptedStream([], { error: failure }).stream, { maxBytes: 10 }),
      (err) => err === failure,
    );
    assert.deepEqual(await namesIn(dir), []);
  });
});

Deno.test("atomicWrite cleans up when the rename fails (a directory of that name)", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "taken"));
    await assert.rejects(
      atomicWrite(dir, "taken", encoder.encode("x"), { maxBytes: 10 }),
      Deno.errors.IsADirectory,
    );
    assert.deepEqual(await namesIn(dir), ["taken"]);
    assert.equal((await Deno.stat(join(dir, "taken"))).isDirectory, true);
  });
});

Deno.test("atomicWrite fails cleanly when the directory does not exist", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      atomicWrite(join(dir, "missing"), "a", encoder.encode("x"), { maxBytes: 10 }),
      Deno.errors.NotFound,
    );
    assert.deepEqual(await namesIn(dir), []);
  });
});

Deno.test("atomicWrite refuses a name that is not one path segment", async (t) => {
  await withTempDir(async (dir) => {
    for (const name of ["", ".", "..", "a/b", "../escape", "a\\b", "a\0b"]) {
      await t.step(JSON.stringify(name), async () => {
        await assert.rejects(
          atomicWrite(dir, name, encoder.encode("x"), { maxBytes: 10 }),
          TypeError,
        );
      });
    }
    assert.deepEqual(await namesIn(dir), []);
  });
});

Deno.test("atomicWrite handles a name of NAME_MAX bytes (the temp name is shortened)", async () => {
  await withTempDir(async (dir) => {
    const ascii = "a".repeat(NAME_MAX_BYTES);
    const wide = "é".repeat(127) + "a"; // 255 bytes, cut inside the temp name at a character
    for (const name of [ascii, wide]) {
      await atomicWrite(dir, name, encoder.encode(name), { maxBytes: 1000 });
      assert.equal(await Deno.readTextFile(join(dir, name)), name);
    }
    assert.deepEqual(await partsIn(dir), []);
  });
});

Deno.test("atomicWrite: concurrent writes of one name each land whole", async () => {
  await withTempDir(async (dir) => {
    const bodies = ["A", "B", "C", "D"].map((c) => c.repeat(200_000));
    await Promise.all(
      bodies.map((b) =>
        atomicWrite(dir, "same", scriptedStream([b.slice(0, 100_000), b.slice(100_000)]).stream, {
          maxBytes: 1_000_000,
        })
      ),
    );
    const content = await Deno.readTextFile(join(dir, "same"));
    assert.ok(bodies.includes(content), "the file is one writer's whole body, not a mix");
    assert.deepEqual(await namesIn(dir), ["same"]);
  });
});

Deno.test("removeStaleParts removes only temp files", async () => {
  await withTempDir(async (dir) => {
    for (const name of [".a.txt.0123456789abcdef.part", ".x.part", "keep.part", ".hidden", "b"]) {
      await Deno.writeTextFile(join(dir, name), name);
    }
    await Deno.mkdir(join(dir, ".dir.part")); // not a file: left alone
    assert.equal(await removeStaleParts(dir), 2);
    assert.deepEqual(await namesIn(dir), [".dir.part", ".hidden", "b", "keep.part"]);
    assert.equal(await removeStaleParts(dir), 0);
  });
});

Deno.test({
  name: "atomicWrite: a process killed mid-write leaves the old file and one .part",
  async fn() {
    await withTempDir(async (dir) => {
      const target = join(dir, "big.bin");
      await Deno.writeTextFile(target, "the previous version");
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-prompt",
          `--config=${DENO_JSON}`,
          `--allow-read=${dir}`,
          `--allow-write=${dir}`,
          fileURLToPath(new URL("./_support/atomic_write_child.ts", import.meta.url)),
          dir,
          "big.bin",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      // A child that stalls before midway must not hang the suite.
      const guard = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);

      // By the 10th pull, 9 chunks (576 KiB) are in the temp file.
      let midway = false;
      for await (const line of readLines(child.stdout)) {
        if (line === "chunk 10") {
          midway = true;
          child.kill("SIGKILL");
        }
      }
      const status = await child.status;
      clearTimeout(guard);
      if (!midway) assert.fail(`the child never got midway: ${await stderr}`);
      assert.equal(status.signal, "SIGKILL");
      await stderr;

      assert.equal(await Deno.readTextFile(target), "the previous version");
      const parts = await partsIn(dir);
      assert.equal(parts.length, 1, "one temp file, holding the partial write");
      assert.ok(parts[0]!.startsWith(".big.bin."));
      assert.ok((await Deno.stat(join(dir, parts[0]!))).size >= 9 * 64 * 1024);

      assert.equal(await removeStaleParts(dir), 1);
      assert.deepEqual(await namesIn(dir), ["big.bin"]);
      assert.equal(await Deno.readTextFile(target), "the previous version");
    });
  },
});

Deno.test("numberedName puts the number before the last extension and fits NAME_MAX", () => {
  for (
    const [name, n, want] of [
      ["photo.jpg", 1, "photo (1).jpg"],
      ["photo.jpg", 12, "photo (12).jpg"],
      ["README", 2, "README (2)"],
      ["archive.tar.gz", 1, "archive.tar (1).gz"],
      ["a.b.", 1, "a.b (1)."],
    ] as const
  ) assert.equal(numberedName(name, n), want);
  const long = "é".repeat(127) + ".txt"; // 258 bytes
  const numbered = numberedName(long, 3);
  assert.ok(encoder.encode(numbered).length <= NAME_MAX_BYTES);
  assert.ok(numbered.endsWith(" (3).txt"));
  assert.ok(numbered.isWellFormed());
});

Deno.test("atomicWrite with onExisting: fail keeps the old file, rename numbers the new one", async () => {
  await withTempDir(async (dir) => {
    await atomicWrite(dir, "a.txt", encoder.encode("old"), { maxBytes: 10 });
    await assert.rejects(
      atomicWrite(dir, "a.txt", encoder.encode("new"), { maxBytes: 10, onExisting: "fail" }),
      Deno.errors.AlreadyExists,
    );
    assert.equal(await Deno.readTextFile(join(dir, "a.txt")), "old");
    assert.deepEqual(await namesIn(dir), ["a.txt"], "no temp file left");

    for (const [content, want] of [["one", "a (1).txt"], ["two", "a (2).txt"]]) {
      const result = await atomicWrite(dir, "a.txt", scriptedStream([content!]).stream, {
        maxBytes: 10,
        onExisting: "rename",
      });
      assert.deepEqual(result, { bytes: 3, name: want });
      assert.equal(await Deno.readTextFile(join(dir, want!)), content);
    }
    // A free name is taken as it is; a directory in the way counts as taken.
    await Deno.mkdir(join(dir, "d"));
    const free = await atomicWrite(dir, "d", encoder.encode("x"), {
      maxBytes: 1,
      onExisting: "rename",
    });
    assert.equal(free.name, "d (1)");
    assert.equal(await Deno.readTextFile(join(dir, "a.txt")), "old");
    assert.deepEqual(await namesIn(dir), ["a (1).txt", "a (2).txt", "a.txt", "d", "d (1)"]);
  });
});

Deno.test("atomicWrite renaming: concurrent writes of one name each get their own name", async () => {
  await withTempDir(async (dir) => {
    const writes = Array.from(
      { length: 20 },
      (_, i) =>
        atomicWrite(dir, "same.bin", scriptedStream([`writer ${i}`]).stream, {
          maxBytes: 100,
          onExisting: "rename",
        }),
    );
    const names = (await Promise.all(writes)).map((r) => r.name);
    assert.equal(new Set(names).size, 20, "no two writers share a name");
    for (const [i, name] of names.entries()) {
      assert.equal(await Deno.readTextFile(join(dir, name)), `writer ${i}`);
    }
    assert.deepEqual(await partsIn(dir), []);
  });
});

Deno.test("atomicWrite renaming gives up after MAX_NUMBERED_NAMES taken names", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "x"), "");
    for (let n = 1; n <= MAX_NUMBERED_NAMES; n++) {
      await Deno.writeTextFile(join(dir, numberedName("x", n)), "");
    }
    await assert.rejects(
      atomicWrite(dir, "x", encoder.encode("y"), { maxBytes: 1, onExisting: "rename" }),
      Deno.errors.AlreadyExists,
    );
    assert.deepEqual(await partsIn(dir), []);
  });
});

Deno.test("atomicWrite stops when beforeChunk throws, leaving no file", async () => {
  await withTempDir(async (dir) => {
    const seen: number[] = [];
    const full = new Error("quota");
    const body = scriptedStream(["aaaa", "bbbb", "cccc"]);
    await assert.rejects(
      atomicWrite(dir, "q.bin", body.stream, {
        maxBytes: 100,
        beforeChunk: (length) => {
          seen.push(length);
          if (seen.length === 2) throw full;
        },
      }),
      (err) => err === full,
    );
    assert.deepEqual(seen, [4, 4]);
    assert.equal(body.cancelled, true);
    assert.deepEqual(await namesIn(dir), []);
    // From an async iterable too; its return() runs, so its source can stop.
    let returned = false;
    async function* parts() {
      try {
        yield encoder.encode("1234");
        yield encoder.encode("5678");
      } finally {
        returned = true;
      }
    }
    await assert.rejects(
      atomicWrite(dir, "r.bin", parts(), { maxBytes: 6 }),
      isStatus(413),
    );
    assert.equal(returned, true);
    assert.deepEqual(await namesIn(dir), []);
  });
});
