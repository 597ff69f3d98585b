/**
 * --workers N: N isolates listen on one port (SO_REUSEPORT), each with its
 * own cache; every request is answered correctly, and SIGTERM stops them all.
 */

import assert from "node:assert/strict";
import { FIXTURE_ROOT, REPO_ROOT } from "./_support/paths.ts";
import { spawnServer, withCopyOf } from "./_support/server.ts";

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
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    await using server = await spawnServer({
      root,
      listenArgs: ["--port", "0"],
      args: ["--workers", "2", "--quiet"],
      allowRead: [REPO_ROOT],
      denoFlags: ["--unstable-net"],
      env: { NO_COLOR: "1" },
    });
    const { port } = server;
    try {
      assert.match(server.stdoutText(), /listening on http:\/\/127\.0\.0\.1:\d+\//);
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
      server.signal("SIGTERM");
      const started = Date.now();
      const status = await server.status;
      assert.equal(status.code, 0, server.stderrText());
      assert.ok(Date.now() - started < 5000, "shut down promptly");
      assert.equal(await listeners(port), 0, "every isolate stopped listening");
    }
  });
});
