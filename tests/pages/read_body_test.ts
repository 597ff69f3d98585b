/**
 * read_body_test.ts — lib/pages/read_body.ts: a dynamic page's body is
 * bounded before it is read (the declared length) and while it is read
 * (a chunked body), and a refused body is cancelled, not drained.
 */

import assert from "node:assert/strict";
import {
  assertContentLength,
  declaredLength,
  mediaTypeOf,
  readBody,
} from "../../lib/pages/read_body.ts";
import { decode } from "../_support/bytes.ts";
import { isStatus } from "../_support/errors.ts";
import { scriptedStream, untouchableStream } from "../_support/streams.ts";

/** request builds a POST whose body is `stream`, declaring `length` when given. */
function request(stream: ReadableStream<Uint8Array> | null, length?: string): Request {
  const headers: Record<string, string> = length === undefined ? {} : { "content-length": length };
  return new Request("http://x/board", { method: "POST", body: stream, headers });
}

Deno.test("assertContentLength refuses only a declared length over the limit", async (t) => {
  const CASES: [length: string | undefined, max: number, refused: boolean][] = [
    [undefined, 0, false],
    ["0", 0, false],
    ["10", 10, false],
    ["11", 10, true],
    ["99999999999999999999", 10, true],
    ["007", 6, true], // leading zeros are still digits
    ["-1", 10, false], // malformed: the engine refused it already
    ["1e3", 10, false],
    ["", 10, false],
  ];
  for (const [length, max, refused] of CASES) {
    await t.step(`${JSON.stringify(length)} against ${max}`, () => {
      const req = new Request("http://x/", {
        method: "POST",
        headers: length === undefined ? {} : { "content-length": length },
      });
      if (refused) assert.throws(() => assertContentLength(req, max), isStatus(413));
      else assertContentLength(req, max);
    });
  }
});

Deno.test("readBody refuses a declared length over the limit without reading a byte", async () => {
  const body = untouchableStream();
  await assert.rejects(readBody(request(body.stream, "101"), 100), isStatus(413));
  assert.equal(body.pulls, 0);
});

Deno.test("readBody reads a body of exactly the limit, in one chunk or many", async () => {
  const one = await readBody(request(scriptedStream(["a".repeat(10)]).stream), 10);
  assert.equal(decode(one), "a".repeat(10));
  const many = await readBody(request(scriptedStream(["abc", "", "defg", "hij"]).stream), 10);
  assert.equal(decode(many), "abcdefghij");
  assert.equal(many.length, 10);
});

Deno.test("readBody stops a chunked body at the chunk that crosses the limit and cancels it", async () => {
  const body = scriptedStream(["12345", "67890", "x"], { endless: true });
  await assert.rejects(readBody(request(body.stream), 10), isStatus(413));
  assert.equal(body.pulls, 3, "nothing read past the chunk that crossed");
  assert.equal(body.cancelled, true);
});

Deno.test("readBody passes on a body stream's own error", async () => {
  const failure = new Deno.errors.ConnectionReset("the client went away");
  const body = scriptedStream(["abc"], { error: failure });
  await assert.rejects(readBody(request(body.stream), 100), (err) => err === failure);
});

Deno.test("readBody reads an absent body as empty", async () => {
  const empty = await readBody(new Request("http://x/"), 0);
  assert.equal(empty.length, 0);
  assert.ok(empty.buffer instanceof ArrayBuffer);
});

/** post builds a bodiless POST with `headers`. */
function post(headers: Record<string, string>): Request {
  return new Request("http://x/", { method: "POST", headers });
}

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
