/**
 * basic_credentials_test.ts — what a Basic Authorization value carries
 * (RFC 7617), as a table of field values: the scheme in any case, base64 of
 * UTF-8, the first colon splitting, and every malformed shape refused.
 */

import assert from "node:assert/strict";
import { basicCredentials } from "../../lib/http/basic_credentials.ts";

/** base64 of `text` as UTF-8, as a client sends it. */
const b64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

const ROWS: [name: string, value: string | null | undefined, want: [string, string] | null][] = [
  ["absent", null, null],
  ["undefined", undefined, null],
  ["user and password", `Basic ${b64("alice:s3cret")}`, ["alice", "s3cret"]],
  ["the scheme in any case", `bAsIc ${b64("alice:s3cret")}`, ["alice", "s3cret"]],
  ["spaces after the scheme and at the end", `Basic   ${b64("a:b")}  `, ["a", "b"]],
  ["the first colon splits: the password may hold colons", `Basic ${b64("a:b:c")}`, ["a", "b:c"]],
  ["an empty password", `Basic ${b64("a:")}`, ["a", ""]],
  ["UTF-8 beyond ASCII", `Basic ${b64("zoë:pässwörd")}`, ["zoë", "pässwörd"]],
  ["no colon", `Basic ${b64("alice")}`, null],
  ["an empty user", `Basic ${b64(":pw")}`, null],
  ["another scheme", `Bearer ${b64("a:b")}`, null],
  ["no space after the scheme", `Basic${b64("a:b")}`, null],
  ["not base64", "Basic !!!", null],
  ["base64 of bytes that are not UTF-8", `Basic ${btoa("\xff\xfe:pw")}`, null],
  ["a second token", `Basic ${b64("a:b")} x`, null],
  ["only the scheme", "Basic", null],
  ["empty", "", null],
];

Deno.test("basicCredentials", async (t) => {
  for (const [name, value, want] of ROWS) {
    await t.step(name, () => {
      const got = basicCredentials(value);
      assert.deepEqual(got === null ? null : [got.user, got.password], want);
    });
  }
});
