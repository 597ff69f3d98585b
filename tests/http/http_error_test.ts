/**
 * http_error_test.ts — HttpError's defaults and options, and which errors
 * mean the client has gone.
 */

import assert from "node:assert/strict";
import { HttpError, isClientGone } from "../../lib/http/http_error.ts";

Deno.test("HttpError defaults: reason phrase, exposed below 500, keeps the connection", async (t) => {
  const CASES: Array<[status: number, message: string, expose: boolean]> = [
    [400, "Bad Request", true],
    [404, "Not Found", true],
    [413, "Content Too Large", true],
    [500, "Internal Server Error", false],
    [503, "Service Unavailable", false],
  ];
  for (const [status, message, expose] of CASES) {
    await t.step(String(status), () => {
      const err = new HttpError(status);
      assert.ok(err instanceof Error);
      assert.equal(err.name, "HttpError");
      assert.equal(err.status, status);
      assert.equal(err.message, message);
      assert.equal(err.expose, expose);
      assert.equal(err.close, false);
      assert.equal(err.headers, undefined);
      assert.equal(err.cause, undefined);
    });
  }
});

Deno.test("HttpError keeps what it is given", () => {
  const cause = new Deno.errors.NotFound("/srv/secret/path");
  const err = new HttpError(405, "Method Not Allowed", {
    cause,
    headers: { allow: "GET, HEAD" },
    expose: false,
    close: true,
  });
  assert.equal(err.message, "Method Not Allowed");
  assert.equal(err.cause, cause);
  assert.deepEqual(err.headers, { allow: "GET, HEAD" });
  assert.equal(err.expose, false);
  assert.equal(err.close, true);
  assert.equal(new HttpError(502, "upstream said no", { expose: true }).expose, true);
});

Deno.test("isClientGone: the peer's close or reset, and our own close under a read", async (t) => {
  const CASES: Array<[name: string, err: unknown, gone: boolean]> = [
    ["BrokenPipe", new Deno.errors.BrokenPipe(), true],
    ["ConnectionReset", new Deno.errors.ConnectionReset(), true],
    ["ConnectionAborted", new Deno.errors.ConnectionAborted(), true],
    ["NotConnected", new Deno.errors.NotConnected(), true],
    ["UnexpectedEof", new Deno.errors.UnexpectedEof(), true],
    ["BadResource", new Deno.errors.BadResource(), true],
    ["Interrupted", new Deno.errors.Interrupted(), true],
    ["TimedOut", new Deno.errors.TimedOut(), false],
    ["NotFound", new Deno.errors.NotFound(), false],
    ["HttpError", new HttpError(400), false],
    ["TypeError", new TypeError("x"), false],
    ["a string", "BrokenPipe", false],
    ["undefined", undefined, false],
  ];
  for (const [name, err, gone] of CASES) {
    await t.step(name, () => assert.equal(isClientGone(err), gone));
  }
});
