/**
 * opener_test.ts — lib/opener.ts: which program opens a URL on each
 * platform, and with which arguments (what `--open` runs and what
 * `deno task compile --open` grants).
 */

import assert from "node:assert/strict";
import { openerFor } from "../lib/opener.ts";

const URL_WITH_SHELL_CHARACTERS = "http://127.0.0.1:8080/a b&c?d=1";

Deno.test("openerFor names each platform's opener and passes the URL as one argument", async (t) => {
  const CASES: [os: typeof Deno.build.os, command: string, args: string[]][] = [
    ["darwin", "open", [URL_WITH_SHELL_CHARACTERS]],
    ["linux", "xdg-open", [URL_WITH_SHELL_CHARACTERS]],
    ["freebsd", "xdg-open", [URL_WITH_SHELL_CHARACTERS]],
    ["netbsd", "xdg-open", [URL_WITH_SHELL_CHARACTERS]],
    ["solaris", "xdg-open", [URL_WITH_SHELL_CHARACTERS]],
    ["illumos", "xdg-open", [URL_WITH_SHELL_CHARACTERS]],
    ["aix", "xdg-open", [URL_WITH_SHELL_CHARACTERS]],
    // `start` takes its first quoted argument as a window title: an empty one.
    ["windows", "cmd", ["/c", "start", "", URL_WITH_SHELL_CHARACTERS]],
  ];
  for (const [os, command, args] of CASES) {
    await t.step(os, () => {
      const opener = openerFor(os);
      assert.ok(opener !== undefined);
      assert.equal(opener.command, command);
      assert.deepEqual(opener.args(URL_WITH_SHELL_CHARACTERS), args);
    });
  }
});

Deno.test("openerFor has none for Android", () => {
  assert.equal(openerFor("android"), undefined);
});

Deno.test("openerFor's argument lists are fresh for each URL", () => {
  const opener = openerFor("linux")!;
  const first = opener.args("http://a/");
  first.push("extra");
  assert.deepEqual(opener.args("http://b/"), ["http://b/"]);
});
