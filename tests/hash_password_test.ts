/**
 * hash_password_test.ts — typing a hidden password, key by key; the
 * command itself runs as a subprocess in main_test.ts.
 */

import assert from "node:assert/strict";
import { CommandError } from "../lib/command_error.ts";
import { typeLine } from "../lib/hash_password.ts";

const encoder = new TextEncoder();

/** typed applies `keys` to an empty line: the text typed, and whether the line ended. */
function typed(keys: string): [text: string, ended: boolean] {
  const bytes: number[] = [];
  const ended = typeLine(bytes, encoder.encode(keys));
  return [new TextDecoder().decode(new Uint8Array(bytes)), ended];
}

Deno.test("typeLine: keys to a line", async (t) => {
  const CASES: Array<[name: string, keys: string, want: [string, boolean]]> = [
    ["letters, no end yet", "secret", ["secret", false]],
    ["Enter ends the line", "secret\rafter", ["secret", true]],
    ["newline ends it too", "pw\n", ["pw", true]],
    ["Ctrl-D ends it", "pw\x04", ["pw", true]],
    ["Backspace deletes one character", "pax\x7fss", ["pass", false]],
    ["Ctrl-H is Backspace", "pax\x08ss", ["pass", false]],
    ["Backspace deletes a whole UTF-8 character", "pé\x7fe", ["pe", false]],
    ["Backspace on an empty line does nothing", "\x7f\x7fa", ["a", false]],
    ["other control bytes are dropped", "a\x1b\tb", ["ab", false]],
  ];
  for (const [name, keys, want] of CASES) {
    await t.step(name, () => assert.deepEqual(typed(keys), want));
  }
});

Deno.test("typeLine: Ctrl-C ends the program with 130 and no message", () => {
  assert.throws(() => typed("pass\x03"), (err: unknown) => {
    assert.ok(err instanceof CommandError);
    assert.equal(err.code, 130);
    assert.equal(err.message, "");
    return true;
  });
});
