/**
 * atomic_write_child.ts — run by tests/atomic_write_test.ts as a child
 * process to be SIGKILLed in the middle of an {@linkcode atomicWrite}.
 *
 * Usage: atomic_write_child.ts DIR NAME
 *
 * Writes DIR/NAME from a slow stream of 64 KiB chunks (256 MiB in all, far
 * more than it lives to write), printing `chunk I` each time the writer
 * pulls chunk I, by which point chunks 1 to I−1 are in the temp file.
 */

import { atomicWrite } from "../../lib/atomic_write.ts";
import { delay } from "./wait.ts";

const CHUNK_BYTES = 64 * 1024;
const CHUNKS = 4096;
const CHUNK_DELAY_MS = 5;

const [dir, name] = Deno.args;
if (dir === undefined || name === undefined) {
  throw new TypeError("Cannot run: usage is atomic_write_child.ts DIR NAME");
}

const chunk = new Uint8Array(CHUNK_BYTES).fill(0x6e); // "n" for new
let pulled = 0;
const body = new ReadableStream<Uint8Array>({
  async pull(controller) {
    await delay(CHUNK_DELAY_MS);
    pulled++;
    console.log(`chunk ${pulled}`);
    if (pulled > CHUNKS) controller.close();
    else controller.enqueue(chunk.slice());
  },
}, { highWaterMark: 0 });

await atomicWrite(dir, name, body, { maxBytes: CHUNK_BYTES * CHUNKS });
console.log("done");
