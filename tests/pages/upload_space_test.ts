/**
 * upload_space_test.ts — lib/pages/upload_space.ts on its own: the quota and
 * the free-disk floor, checked against a declared length before the body
 * and chunk by chunk while it streams, with uploads in flight counted
 * together. The upload handler's use of it is tested in upload_test.ts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { PART_SUFFIX } from "../../lib/atomic_write.ts";
import { HttpError } from "../../lib/http/http_error.ts";
import {
  directoryBytes,
  FREE_CHECK_BYTES,
  type FreeBytes,
  statfsFreeBytes,
  UploadSpace,
} from "../../lib/pages/upload_space.ts";
import { withTempDir } from "../_support/server.ts";

/** is507 matches the refusal of an upload with no room, whose message says which limit. */
function is507(which: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof HttpError && err.status === 507 && which.test(err.message);
}
const QUOTA = /upload folder is full: its quota is/;
const FLOOR = /disk is nearly full: uploads must leave/;

/** FakeDisk reports `free` bytes and counts how often it was asked. */
class FakeDisk {
  free: number | undefined;
  asked = 0;
  constructor(free: number | undefined) {
    this.free = free;
  }
  read: FreeBytes = () => {
    this.asked++;
    return Promise.resolve(this.free);
  };
}

Deno.test("directoryBytes adds up the regular files, leaving out temp files and folders", async () => {
  await withTempDir(async (dir) => {
    assert.equal(await directoryBytes(dir), 0);
    await Deno.writeFile(join(dir, "a.bin"), new Uint8Array(100));
    await Deno.writeFile(join(dir, ".hidden"), new Uint8Array(7));
    await Deno.writeFile(join(dir, `.b.bin.123${PART_SUFFIX}`), new Uint8Array(1000));
    await Deno.writeFile(join(dir, `b${PART_SUFFIX}`), new Uint8Array(5)); // not a temp file's name
    await Deno.mkdir(join(dir, "sub"));
    await Deno.writeFile(join(dir, "sub", "deep.bin"), new Uint8Array(10_000));
    assert.equal(await directoryBytes(dir), 100 + 7 + 5);
  });
});

Deno.test("UploadSpace.begin refuses a declared length over the quota, counting what is there", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(join(dir, "old.bin"), new Uint8Array(600));
    const space = new UploadSpace({ dir, quotaBytes: 1000, minFreeBytes: 0 });
    await assert.rejects(space.begin(401), is507(QUOTA));
    const ticket = await space.begin(400); // exactly full is allowed
    ticket.settle(false);
    await space.begin(undefined); // no length: checked while it streams
    assert.match(space.quotaError().message, /quota is 1000 B/);
    assert.equal(space.quotaError().expose, true, "the reason is shown to the user");
  });
});

Deno.test("a ticket stops a stream as it crosses the quota; settled bytes count as used", async () => {
  await withTempDir(async (dir) => {
    const space = new UploadSpace({ dir, quotaBytes: 1000, minFreeBytes: 0 });
    const ticket = await space.begin(undefined);
    await ticket.beforeChunk(600);
    assert.equal(space.inFlight, 600);
    ticket.settle(true); // stored: now part of the directory
    assert.equal(space.inFlight, 0);
    await ticket.beforeChunk(400);
    await assert.rejects(ticket.beforeChunk(1), is507(QUOTA));
    ticket.settle(false); // not stored: freed again
    assert.equal(space.inFlight, 0);
    await ticket.beforeChunk(400);
  });
});

Deno.test("uploads in flight count together: two that fit alone cannot both pass", async () => {
  await withTempDir(async (dir) => {
    const space = new UploadSpace({ dir, quotaBytes: 1000, minFreeBytes: 0 });
    const first = await space.begin(600);
    await first.beforeChunk(600);
    await assert.rejects(space.begin(600), is507(QUOTA), "declared, with 600 in flight");
    const second = await space.begin(undefined);
    await assert.rejects(second.beforeChunk(600), is507(QUOTA), "streamed, with 600 in flight");
    second.settle(false);
    first.settle(false);
    assert.equal(space.inFlight, 0);
    await space.begin(1000);
  });
});

Deno.test("the free-disk floor: refused before reading, and asked again every FREE_CHECK_BYTES", async () => {
  await withTempDir(async (dir) => {
    const disk = new FakeDisk(10 * FREE_CHECK_BYTES);
    const floor = 2 * FREE_CHECK_BYTES;
    const space = new UploadSpace({
      dir,
      quotaBytes: Number.MAX_SAFE_INTEGER,
      minFreeBytes: floor,
      freeBytes: disk.read,
    });
    await assert.rejects(space.begin(8 * FREE_CHECK_BYTES + 1), is507(FLOOR));
    const ticket = await space.begin(undefined);
    disk.asked = 0;
    const chunk = FREE_CHECK_BYTES / 4;
    await ticket.beforeChunk(chunk); // the first chunk of a file is always checked
    assert.equal(disk.asked, 1);
    for (let i = 0; i < 3; i++) await ticket.beforeChunk(chunk);
    assert.equal(disk.asked, 1, "not asked again before FREE_CHECK_BYTES more");
    await ticket.beforeChunk(chunk);
    assert.equal(disk.asked, 2);
    disk.free = floor; // the disk filled up meanwhile
    for (let i = 0; i < 3; i++) await ticket.beforeChunk(chunk);
    await assert.rejects(ticket.beforeChunk(chunk), is507(FLOOR));
    assert.match(space.floorError().message, /leave 16 MiB free/);
  });
});

Deno.test("the floor is not applied when it is 0 or free space cannot be read", async () => {
  await withTempDir(async (dir) => {
    const unknown = new FakeDisk(undefined);
    const blind = new UploadSpace({
      dir,
      quotaBytes: 1e12,
      minFreeBytes: 2 ** 40,
      freeBytes: unknown.read,
    });
    assert.equal(await blind.free(), undefined);
    await (await blind.begin(1e9)).beforeChunk(1e6);
    const off = new FakeDisk(0);
    const none = new UploadSpace({ dir, quotaBytes: 1e12, minFreeBytes: 0, freeBytes: off.read });
    await (await none.begin(1e9)).beforeChunk(1e6);
    assert.equal(off.asked, 0, "a floor of 0 never asks the disk");
  });
});

Deno.test("statfsFreeBytes reads the free space of a real directory", async () => {
  await withTempDir(async (dir) => {
    const free = await statfsFreeBytes(dir);
    if (Deno.permissions.querySync({ name: "sys", kind: "statfs" }).state === "granted") {
      assert.ok(typeof free === "number" && free > 0, `free: ${free}`);
    } else {
      assert.equal(free, undefined, "without --allow-sys=statfs it cannot tell");
    }
  });
});
