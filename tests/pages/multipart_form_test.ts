/**
 * multipart_form_test.ts — MultipartReader: the same entries and bytes
 * whether the body arrives whole, a byte at a time or cut at any offset
 * (style rule 6); unread files skipped; one body chunk read at a time.
 */

import assert from "node:assert/strict";
import { HttpError } from "../../lib/http/http_error.ts";
import { MultipartReader } from "../../lib/pages/multipart_form.ts";
import { encode } from "../_support/bytes.ts";
import { scriptedStream } from "../_support/streams.ts";

const TYPE = "multipart/form-data; boundary=XyZ";
const LIMITS = { maxParts: 10, maxFieldBytes: 100 };
/** Two files (one with a CRLF and a near-boundary inside), a field between them, raw UTF-8 names. */
const BODY = "--XyZ\r\n" +
  'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n' +
  "Content-Type: text/plain\r\n\r\n" +
  "line one\r\n--XyY not a boundary\r\n\r\n--XyZ\r\n" +
  'Content-Disposition: form-data; name="note"\r\n\r\n' +
  "a note\r\n--XyZ\r\n" +
  'Content-Disposition: form-data; name="file"; filename="日本.bin"\r\n\r\n' +
  "\x00\x01\x02--XyZ\r\n--XyZ--\r\n";
const WANT = [
  ["file", "file", "a.txt", "line one\r\n--XyY not a boundary\r\n"],
  ["field", "note"],
  ["file", "file", "日本.bin", "\x00\x01\x02--XyZ"],
];

/** readAll reads every entry of `chunks` as [kind, field, filename?, content?]. */
async function readAll(chunks: Uint8Array[]): Promise<unknown[]> {
  const form = new MultipartReader(scriptedStream(chunks).stream, TYPE, LIMITS);
  const out: unknown[] = [];
  for (let entry = await form.next(); entry !== null; entry = await form.next()) {
    if (entry.kind === "field") {
      out.push(["field", entry.field]);
      continue;
    }
    const parts: Uint8Array[] = [];
    for await (const chunk of entry.chunks) parts.push(chunk.slice());
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      bytes.set(p, offset);
      offset += p.length;
    }
    out.push(["file", entry.field, entry.filename, new TextDecoder().decode(bytes)]);
  }
  return out;
}

const body = new TextEncoder().encode(BODY);

Deno.test("MultipartReader: whole, byte by byte, and cut at every offset, the same entries", async (t) => {
  await t.step("whole", async () => assert.deepEqual(await readAll([body]), WANT));
  await t.step("one byte at a time", async () => {
    assert.deepEqual(await readAll(Array.from(body, (b) => Uint8Array.of(b))), WANT);
  });
  await t.step("cut at every offset", async () => {
    for (let cut = 1; cut < body.length; cut++) {
      assert.deepEqual(await readAll([body.slice(0, cut), body.slice(cut)]), WANT, `cut ${cut}`);
    }
  });
});

Deno.test("MultipartReader: a file not read is skipped; the body is read a chunk at a time", async () => {
  const chunks = Array.from({ length: 20 }, (_, i) => body.slice(i * 10, (i + 1) * 10));
  chunks.push(body.slice(200));
  const source = scriptedStream(chunks);
  const form = new MultipartReader(source.stream, TYPE, LIMITS);
  const first = await form.next();
  assert.equal(first?.kind, "file");
  const pullsAtFirst = source.pulls;
  assert.ok(pullsAtFirst < chunks.length, "no read ahead past the part's headers");
  const names = [];
  for (let e = await form.next(); e !== null; e = await form.next()) names.push(e.field);
  assert.deepEqual(names, ["note", "file"]);
});

Deno.test("MultipartReader: a broken form throws a 400 that stays its error", async () => {
  const form = new MultipartReader(
    scriptedStream([encode(BODY.slice(0, 110))]).stream,
    TYPE,
    LIMITS,
  );
  const first = await form.next();
  assert.equal(first?.kind, "file");
  const err = await (async () => {
    for await (const _ of (first as { chunks: AsyncIterable<Uint8Array> }).chunks) { /* read */ }
  })().then(() => undefined, (e) => e);
  assert.ok(err instanceof HttpError);
  assert.equal(err.status, 400);
  assert.equal(form.error, err);
  await assert.rejects(form.next(), (e) => e === err);
});
