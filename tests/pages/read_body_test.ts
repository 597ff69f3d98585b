/**
 * read_body_test.ts — a page's body, bounded before it is read (a declared
 * Content-Length) and while it is read (chunked), and what its fields say.
 */

import assert from "node:assert/strict";
import { HttpError } from "../../lib/http/http_error.ts";
import {
  assertContentLength,
  declaredLength,
  mediaTypeOf,
  readBody,
} from "../../lib/pages/read_body.ts";
import { untouchableStream } from "../_support/streams.ts";

function post(headers: Record<string, string>, body?: BodyInit): Request {
  return new Request("http://x/", { method: "POST", headers, ...(body ? { body } : {}) });
}

/** chunked is a body of `parts` with no declared length, as a chunked request arrives. */
function chunked(parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return ReadableStream.from(parts.map((p) => encoder.encode(p)));
}

const is413 = (err: unknown) => err instanceof HttpError && err.status === 413;

Deno.test("declaredLength: digits only, else undefined", async (t) => {
  const CASES: [value: string | undefined, want: number | undefined][] = [
    [undefined, undefined],
    ["0", 0],
    ["12", 12],
    ["007", 7],
    ["", undefined],
    ["-1", undefined],
    ["1.5", undefined],
    ["1e3", undefined],
    ["0x10", undefined],
  ];
  for (const [value, want] of CASES) {
    await t.step(String(JSON.stringify(value)), () => {
      const request = post(value === undefined ? {} : { "content-length": value });
      assert.equal(declaredLength(request), want);
    });
  }
});

Deno.test("mediaTypeOf: the type without parameters, lower case; '' without one", async (t) => {
  const CASES: [value: string | undefined, want: string][] = [
    [undefined, ""],
    ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded"],
    ["Multipart/Form-Data; boundary=XyZ", "multipart/form-data"],
    ["text/plain ;charset=utf-8", "text/plain"],
    [";boundary=x", ""],
  ];
  for (const [value, want] of CASES) {
    await t.step(String(JSON.stringify(value)), () => {
      assert.equal(mediaTypeOf(post(value === undefined ? {} : { "content-type": value })), want);
    });
  }
});

Deno.test("assertContentLength: 413 before reading, only past the limit", () => {
  assert.throws(() => assertContentLength(post({ "content-length": "11" }), 10), is413);
  assertContentLength(post({ "content-length": "10" }), 10);
  assertContentLength(post({}), 10); // chunked: counted while read
});

Deno.test("readBody: the whole body up to the limit; past it, 413", async (t) => {
  await t.step("a declared length over the limit is refused without a read", async () => {
    const body = untouchableStream();
    const request = new Request("http://x/", {
      method: "POST",
      headers: { "content-length": "100" },
      body: body.stream,
    });
    await assert.rejects(readBody(request, 10), is413);
    assert.equal(body.pulls, 0);
  });
  await t.step("a chunked body is counted as it arrives", async () => {
    const body = chunked(["12345", "67890", "x"]);
    await assert.rejects(readBody(new Request("http://x/", { method: "POST", body }), 10), is413);
  });
  await t.step("exactly the limit, in pieces, is whole", async () => {
    const body = chunked(["12345", "67890"]);
    const bytes = await readBody(new Request("http://x/", { method: "POST", body }), 10);
    assert.equal(new TextDecoder().decode(bytes), "1234567890");
  });
  await t.step("no body reads as empty", async () => {
    assert.equal((await readBody(new Request("http://x/"), 10)).length, 0);
  });
});
