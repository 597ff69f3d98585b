/**
 * upload_memory_test.ts — the memory promise of form uploads, against the
 * real server: a file streamed through the multipart form keeps the
 * server's resident memory within 32 MiB of idle, however large the file.
 *
 * 1 GiB takes about 20 s here (16 s of upload, mostly the disk);
 * `deno task bench:upload [BYTES]` runs the same measurement at any size.
 */

import assert from "node:assert/strict";
import { measureFormUpload } from "../_support/multipart.ts";
import { PROC_MISSING } from "../_support/proc.ts";

/** The README's promise: resident memory during a form upload stays within this of idle. */
const MAX_GROWTH_KIB = 32 * 1024;
const FILE_BYTES = 1024 * 1024 * 1024;

Deno.test("a 1 GiB form upload keeps the server's RSS within idle + 32 MiB, stored byte for byte", async (t) => {
  const measure = await measureFormUpload(FILE_BYTES);
  if (measure === undefined) {
    t.step({ name: `skipped: ${PROC_MISSING}`, ignore: true, fn() {} });
    return;
  }
  const mib = (kib: number) => (kib / 1024).toFixed(1);
  console.log(
    `form upload of ${FILE_BYTES / 2 ** 20} MiB: idle ${mib(measure.idleKiB)} MiB, peak ${
      mib(measure.peakKiB)
    } MiB (+${mib(measure.peakKiB - measure.idleKiB)} MiB) over ${measure.samples} samples, ${
      measure.seconds.toFixed(1)
    } s`,
  );
  assert.equal(measure.status, 201, JSON.stringify(measure.result));
  assert.ok(measure.sameBytes, "the stored file has the sent bytes");
  assert.ok(measure.samples >= 5, `only ${measure.samples} RSS samples`);
  assert.ok(
    measure.peakKiB - measure.idleKiB <= MAX_GROWTH_KIB,
    `RSS grew by ${mib(measure.peakKiB - measure.idleKiB)} MiB`,
  );
});
