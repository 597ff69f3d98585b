/**
 * The black-box HTTP/1.1 conformance and hostile-input suite of
 * ../shared/conformance, run against the real server as a subprocess with
 * only --allow-net and --allow-read=<root>. Every case must pass.
 *
 * It needs python3 and the suite beside the checkout; without either the
 * test is skipped, and its name says why.
 */

import assert from "node:assert/strict";
import { copy } from "./_support/fs.ts";
import { WWW_ROOT } from "./_support/paths.ts";
import { spawnServer, withTempDir } from "./_support/server.ts";

const SUITE = new URL("../../shared/conformance/run.py", import.meta.url).pathname;

function available(): string | undefined {
  try {
    Deno.statSync(SUITE);
  } catch {
    return "../shared/conformance/run.py not found beside the checkout";
  }
  try {
    const out = new Deno.Command("python3", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync();
    if (!out.success) return "python3 does not run";
  } catch {
    return "python3 not found";
  }
  return undefined;
}

const skip = available();

Deno.test({
  name: `conformance suite: every case passes${skip ? ` (skipped: ${skip})` : ""}`,
  ignore: skip !== undefined,
  async fn() {
    await withTempDir(async (dir) => {
      const root = `${dir}/www`;
      await copy(WWW_ROOT, root);
      await using server = await spawnServer({ root, args: ["--quiet"] });
      const run = await new Deno.Command("python3", {
        args: [SUITE, "--host", "127.0.0.1", "--port", String(server.port), "--root", root],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(run.stdout);
      const failures = out.split("\n").filter((l) => l.startsWith("FAIL "));
      const summary = out.trim().split("\n").at(-1) ?? "";
      assert.deepEqual(failures, [], `conformance failures:\n${failures.join("\n")}`);
      assert.match(summary, /^\d+ passed, 0 failed$/, out.slice(-2000));
      assert.ok(run.success, new TextDecoder().decode(run.stderr));
      assert.doesNotMatch(server.stderrText(), /\n\s+at /, "the server logged a stack trace");
    });
  },
});
