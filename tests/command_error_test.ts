/**
 * command_error_test.ts — the one-line error of the command line.
 */

import assert from "node:assert/strict";
import { CommandError, messageOf } from "../lib/command_error.ts";

Deno.test("CommandError: a message, exit code 1 unless told, and its cause", () => {
  const plain = new CommandError('cannot use ROOT "x": no such directory');
  assert.equal(plain.code, 1);
  assert.equal(plain.name, "CommandError");
  assert.ok(plain instanceof Error);
  const cause = new Deno.errors.AddrInUse("taken");
  const told = new CommandError("cannot listen", { code: 2, cause });
  assert.equal(told.code, 2);
  assert.equal(told.cause, cause);
  assert.equal("cause" in plain, false, "no cause unless given");
});

Deno.test("messageOf: an Error's message, or the thrown value as text", () => {
  assert.equal(messageOf(new TypeError("bad")), "bad");
  assert.equal(messageOf("text"), "text");
  assert.equal(messageOf(42), "42");
});
