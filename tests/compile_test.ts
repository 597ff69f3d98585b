/**
 * The single-binary story: the module graph bundles into one file that
 * serves the site from any working directory with only its narrow
 * permissions (so nothing reads source files next to the code at run time),
 * and `deno task compile` builds an executable that does the same.
 *
 * `deno compile` needs Deno's runtime (denort), downloaded from Deno's
 * servers unless DENORT_BIN names a local copy. Where neither works, the
 * compile test is skipped, and its name says why.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { copy } from "./_support/fs.ts";
import { withTempDir } from "./_support/server.ts";

const REPO = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

/** Runs `command` in `cwd`, waits for the banner, GETs `path`, stops it. Returns the body. */
async function serveOnce(
  command: string,
  args: string[],
  cwd: string,
  path: string,
): Promise<string> {
  const child = new Deno.Command(command, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  })
    .spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  try {
    const deadline = Date.now() + 15_000;
    let match: RegExpExecArray | null = null;
    while (match === null && Date.now() < deadline) {
      const { done, value } = await reader.read();
      if (done) break;
      out += value;
      match = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
    }
    assert.ok(match, `no banner; stdout: ${out}`);
    const res = await fetch(`http://127.0.0.1:${match[1]}${path}`);
    return await res.text();
  } finally {
    child.kill("SIGTERM");
    await reader.cancel();
    const status = await child.status;
    const errors = await stderr;
    assert.ok(status.success || status.signal === "SIGTERM", `exit ${status.code}: ${errors}`);
  }
}

Deno.test("deno bundle: one file that serves from another directory with narrow permissions", async () => {
  await withTempDir(async (dir) => {
    const bundle = join(dir, "minserve.js");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--config", join(REPO, "deno.json"), "-o", bundle, join(REPO, "main.ts")],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, decoder.decode(out.stderr));

    const elsewhere = join(dir, "elsewhere");
    await copy(join(REPO, "www"), join(elsewhere, "site"));
    const body = await serveOnce(
      Deno.execPath(),
      [
        "run",
        "--no-prompt",
        "--no-config",
        "--allow-net=127.0.0.1",
        "--allow-read=./site",
        bundle,
        "./site",
        "--port",
        "0",
      ],
      elsewhere,
      "/",
    );
    assert.match(body, /minserve/i);
  });
});

/** Tries to compile a one-line program: undefined if it works, else why not. */
async function compileUnavailable(): Promise<string | undefined> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "probe.ts"), "console.log('ok');\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["compile", "--no-config", "-o", join(dir, "probe"), join(dir, "probe.ts")],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.success) return undefined;
    // deno-lint-ignore no-control-regex -- strip the terminal colours from Deno's message
    const text = decoder.decode(out.stderr).replace(/\x1b\[[0-9;]*m/g, "");
    const lines = text.split("\n").map((l) => l.trim());
    const line = lines.find((l) => /error sending request|could not find denort/i.test(l)) ??
      lines.findLast((l) => /error/i.test(l)) ?? "unknown error";
    return `deno compile cannot get its runtime here (${
      line.slice(0, 160)
    }); set DENORT_BIN to a denort binary`;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const unavailable = await compileUnavailable();

Deno.test({
  name: `deno task compile: a standalone binary with baked-in permissions${
    unavailable ? ` (skipped: ${unavailable})` : ""
  }`,
  ignore: unavailable !== undefined,
  async fn() {
    await withTempDir(async (dir) => {
      await copy(join(REPO, "www"), join(dir, "www"));
      const binary = join(dir, "minserve");
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "task",
          "--config",
          join(REPO, "deno.json"),
          "compile",
          "--output",
          binary,
          "./www",
          "--port",
          "0",
        ],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, decoder.decode(out.stderr));
      const body = await serveOnce(binary, [], dir, "/");
      assert.match(body, /minserve/i);
    });
  },
});
