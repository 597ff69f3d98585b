/**
 * --workers N: N isolates listen on one port (SO_REUSEPORT), each with its
 * own cache; every request is answered correctly, and SIGTERM stops them all.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { copy } from "./_support/fs.ts";
import { withTempDir } from "./_support/server.ts";

const REPO = new URL("../", import.meta.url).pathname;

/**
 * Listening TCP sockets on `port`, from /proc/net/tcp (state 0A is LISTEN).
 * Read through `cat`: Deno asks for --allow-all to read /proc itself.
 */
async function listeners(port: number): Promise<number> {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const out = await new Deno.Command("cat", { args: ["/proc/net/tcp"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n")
    .filter((line) => line.includes(`:${hex} `) && / 0A /.test(line)).length;
}

Deno.test("--workers 2: two listeners on one port, every request answered, one SIGTERM stops all", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "www");
    await copy(join(REPO, "tests/fixtures/root"), root);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--unstable-net",
        `--config=${join(REPO, "deno.json")}`,
        "--allow-net=127.0.0.1",
        `--allow-read=${root},${REPO}`,
        join(REPO, "main.ts"),
        root,
        "--port",
        "0",
        "--workers",
        "2",
        "--quiet",
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    let port = 0;
    while (port === 0) {
      const { done, value } = await reader.read();
      if (done) assert.fail(`exited early: ${await stderr}`);
      out += value;
      port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out)?.[1] ?? 0);
    }
    try {
      assert.equal(await listeners(port), 2, "one listening socket per isolate");
      const bodies = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
        const res = await fetch(`http://127.0.0.1:${port}/hello.txt?${i % 2 === 0 ? "" : "x"}`, {
          headers: { connection: "close" },
        });
        return [res.status, await res.text()] as const;
      }));
      for (const [status, body] of bodies) {
        assert.equal(status, 200);
        assert.equal(body, "hello, world\n");
      }
    } finally {
      child.kill("SIGTERM");
      const started = Date.now();
      const status = await child.status;
      await reader.cancel();
      const errors = await stderr;
      assert.equal(status.code, 0, errors);
      assert.ok(Date.now() - started < 5000, "shut down promptly");
      assert.equal(await listeners(port), 0, "every isolate stopped listening");
    }
  });
});
