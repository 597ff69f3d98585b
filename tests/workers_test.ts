/**
 * --workers N: N isolates listen on one port (SO_REUSEPORT), each with its
 * own cache; every request is answered correctly, and SIGTERM stops them all.
 * Below, lib/workers.ts on its own: the worker side with a scripted scope,
 * and real isolates started and stopped in this process.
 */

import assert from "node:assert/strict";
import { copy } from "./_support/fs.ts";
import { FIXTURE_ROOT, REPO_ROOT } from "./_support/paths.ts";
import { spawnServer, withCopyOf, withTempDir } from "./_support/server.ts";
import { DEFAULTS } from "../lib/config.ts";
import {
  type FromWorker,
  inWorker,
  runWorker,
  startWorkers,
  stopWorkers,
  type ToWorker,
} from "../lib/workers.ts";

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

/** scriptedScope is a worker scope that records what the worker posts. */
function scriptedScope() {
  const posted: FromWorker[] = [];
  const scope = {
    onmessage: undefined as unknown,
    closed: false,
    posted,
    postMessage(message: FromWorker) {
      posted.push(message);
    },
    close() {
      scope.closed = true;
    },
    /** send delivers `message` as the main isolate would, and waits for its handling. */
    async send(message: ToWorker) {
      await (scope.onmessage as (e: MessageEvent<ToWorker>) => Promise<void>)(
        new MessageEvent("message", { data: message }),
      );
    },
  };
  return scope;
}

Deno.test("runWorker: start answers ready, shutdown answers done and closes", async () => {
  await withTempDir(async (dir) => {
    const scope = scriptedScope();
    runWorker(scope);
    const config = { ...DEFAULTS, root: dir, port: 0, quiet: true, maxConnections: 8 };
    await scope.send({ kind: "start", config, options: { realRoot: await Deno.realPath(dir) } });
    assert.deepEqual(scope.posted, [{ kind: "ready" }]);
    assert.equal(scope.closed, false);
    await scope.send({ kind: "shutdown" });
    assert.deepEqual(scope.posted, [{ kind: "ready" }, { kind: "done" }]);
    assert.equal(scope.closed, true);
  });
});

Deno.test("runWorker: a start that fails answers failed with the message", async () => {
  await withTempDir(async (dir) => {
    const scope = scriptedScope();
    runWorker(scope);
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const config = { ...DEFAULTS, root: dir, port: taken.addr.port, quiet: true };
      await scope.send({ kind: "start", config, options: { realRoot: await Deno.realPath(dir) } });
    } finally {
      taken.close();
    }
    assert.equal(scope.posted.length, 1);
    assert.equal(scope.posted[0]!.kind, "failed");
    assert.match((scope.posted[0] as { message: string }).message, /in use/i);
    await scope.send({ kind: "shutdown" }); // nothing started: still done
    assert.deepEqual(scope.posted.at(-1), { kind: "done" });
  });
});

Deno.test("startWorkers and stopWorkers: real isolates serve, then stop when told", async () => {
  await withTempDir(async (dir) => {
    await copy(FIXTURE_ROOT, dir);
    assert.equal(inWorker(), false, "the test runs in the main isolate");
    // One worker on a port of its own (no SO_REUSEPORT needed for one).
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = probe.addr.port;
    probe.close();
    const config = { ...DEFAULTS, root: dir, port, quiet: true, maxConnections: 8 };
    const workers = await startWorkers(1, config, { realRoot: await Deno.realPath(dir) });
    try {
      assert.equal(workers.length, 1);
      const res = await fetch(`http://127.0.0.1:${port}/hello.txt`);
      assert.equal(await res.text(), "hello, world\n");
    } finally {
      await stopWorkers(workers, 5000);
    }
    await assert.rejects(fetch(`http://127.0.0.1:${port}/hello.txt`), "stopped listening");
  });
});

Deno.test("startWorkers: a worker that cannot listen rejects with its message", async () => {
  await withTempDir(async (dir) => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const config = { ...DEFAULTS, root: dir, port: taken.addr.port, quiet: true };
      await assert.rejects(
        startWorkers(1, config, { realRoot: await Deno.realPath(dir) }),
        /in use/i,
      );
    } finally {
      taken.close();
    }
  });
});
