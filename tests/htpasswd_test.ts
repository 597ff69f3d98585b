/**
 * htpasswd_test.ts — the users of --auth as htpasswd text: a table of files
 * that parse, and of files refused with a line that names the line and the
 * user, never the hash (style rule 13).
 */

import assert from "node:assert/strict";
import { type AuthUser, checkUnique, parseAuthEntry, parseHtpasswd } from "../lib/htpasswd.ts";

/** A bcrypt hash (cost 4); the same hash under the other version letters. */
const B = "$2b$04$8iMPAy/y.CDb5i1Arz/xVuML07.twuMU0wN2kjFcdiXZew7Hzawx.";
const Y = B.replace("$2b$", "$2y$");
const A = B.replace("$2b$", "$2a$");
/** What `openssl passwd -apr1 pw` and `htpasswd -s` write. */
const APR1 = "$apr1$zbvb7a8x$tCBK5TaRnZ3mfr8TvIFTL/";
const SHA = "{SHA}Fd1R9XqyF2PUHjp0LK1Q4W2b8/4=";

Deno.test("parseHtpasswd: files that parse", async (t) => {
  const CASES: Array<[name: string, text: string, want: AuthUser[]]> = [
    ["one line, no newline", `alice:${Y}`, [{ user: "alice", hash: Y, role: "r" }]],
    ["one line, newline", `alice:${Y}\n`, [{ user: "alice", hash: Y, role: "r" }]],
    ["CRLF lines", `alice:${B}\r\nbob:${A}:rw\r\n`, [
      { user: "alice", hash: B, role: "r" },
      { user: "bob", hash: A, role: "rw" },
    ]],
    ["comments and blank lines", `# readers\n\nalice:${B}\n   \n# writers\nbob:${B}:rw\n`, [
      { user: "alice", hash: B, role: "r" },
      { user: "bob", hash: B, role: "rw" },
    ]],
    ["explicit reader", `carol:${B}:r`, [{ user: "carol", hash: B, role: "r" }]],
    ["UTF-8 and spaces in a name", `José María:${B}`, [
      { user: "José María", hash: B, role: "r" },
    ]],
  ];
  for (const [name, text, want] of CASES) {
    await t.step(name, () => assert.deepEqual(parseHtpasswd(text), want));
  }
});

Deno.test("parseHtpasswd: files refused, naming the line and user, never the hash", async (t) => {
  const CASES: Array<[name: string, text: string, parts: string[]]> = [
    ["empty", "", ["no users"]],
    ["only comments", "# nobody\n\n", ["no users"]],
    ["apr1 (MD5), the htpasswd default", `alice:${B}\nbob:${APR1}\n`, [
      "line 2",
      '"bob"',
      "apr1 (MD5)",
      "minserve hash-password",
    ]],
    ["{SHA} (htpasswd -s)", `carol:${SHA}`, ["line 1", '"carol"', "{SHA}"]],
    ["DES crypt (htpasswd -d)", "dave:rqXexS6ZhobKA", ["line 1", '"dave"', "crypt (DES)"]],
    ["plain text (htpasswd -p)", "erin:hunter2", ["line 1", '"erin"', "plain password"]],
    ["SHA-512 crypt", `frank:$6$salt$${"x".repeat(86)}`, ['"frank"', "SHA-crypt"]],
    ["a line without a colon", `alice:${B}\n\ngarbage\n`, ["line 3", "user:HASH"]],
    ["an empty user name", `:${B}`, ["line 1", "must not be empty"]],
    ["an unknown role", `alice:${B}:admin`, ["line 1", '"alice"', '"rw"']],
    ["a truncated hash", `alice:${B.slice(0, 40)}`, ['"alice"', "malformed bcrypt"]],
    ["a cost out of range", `alice:${B.replace("$04$", "$32$")}`, ["malformed bcrypt"]],
    ["a control character in a name", `al\u0007ice:${B}`, ["control characters"]],
  ];
  for (const [name, text, parts] of CASES) {
    await t.step(name, () => {
      let message = "";
      try {
        parseHtpasswd(text);
      } catch (err) {
        assert.ok(err instanceof TypeError);
        message = err.message;
      }
      for (const part of parts) assert.ok(message.includes(part), `"${message}" lacks ${part}`);
      for (const hash of [B, APR1, SHA, "hunter2", "rqXexS6ZhobKA"]) {
        assert.ok(!message.includes(hash), `"${message}" shows a hash`);
      }
    });
  }
});

Deno.test("parseAuthEntry and checkUnique", async (t) => {
  await t.step("a writer", () => {
    assert.deepEqual(parseAuthEntry(`w:${B}:rw`), { user: "w", hash: B, role: "rw" });
  });
  await t.step("a user given twice is refused by name", () => {
    const users = [parseAuthEntry(`a:${B}`), parseAuthEntry(`b:${B}`), parseAuthEntry(`a:${Y}:rw`)];
    assert.throws(() => checkUnique(users), {
      name: "TypeError",
      message: 'user "a" is given twice',
    });
    checkUnique(users.slice(0, 2));
  });
});
