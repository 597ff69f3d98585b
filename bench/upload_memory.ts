/**
 * upload_memory.ts — `deno task bench:upload [BYTES]`: stream a form upload
 * of one generated file (1 GiB by default) into the real server and print
 * its resident memory at rest and at its peak during the upload. The test
 * (tests/pages/upload_memory_test.ts) runs the same with 1 GiB and holds
 * the growth to 32 MiB.
 */

import { measureFormUpload } from "../tests/_support/multipart.ts";
import { PROC_MISSING } from "../tests/_support/proc.ts";

const bytes = Number(Deno.args[0] ?? 2 ** 30);
if (!Number.isSafeInteger(bytes) || bytes <= 0) {
  console.error(`Cannot measure an upload of "${Deno.args[0]}" bytes: give a positive integer`);
  Deno.exit(2);
}
const measure = await measureFormUpload(bytes);
if (measure === undefined) {
  console.error(`Cannot measure: ${PROC_MISSING}`);
  Deno.exit(1);
}
const mib = (kib: number) => (kib / 1024).toFixed(1);
console.log(
  `form upload of ${(bytes / 2 ** 20).toFixed(0)} MiB: status ${measure.status}, ` +
    `same bytes ${measure.sameBytes}, ${measure.seconds.toFixed(1)} s ` +
    `(${(bytes / 2 ** 20 / measure.seconds).toFixed(0)} MiB/s)\n` +
    `server RSS: idle ${mib(measure.idleKiB)} MiB, peak ${mib(measure.peakKiB)} MiB ` +
    `(+${mib(measure.peakKiB - measure.idleKiB)} MiB) over ${measure.samples} samples`,
);
if (measure.status !== 201 || !measure.sameBytes) Deno.exit(1);
