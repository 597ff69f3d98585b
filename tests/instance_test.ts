/**
 * instance_test.ts — lib/instance.ts in process: one serving instance built
 * from a parsed command line, its optional parts loaded only when turned on
 * (uploads, the board, --metrics), the engine's body cap raised for
 * uploads, and everything released on shutdown or on a failed start (the
 * test sanitizers fail a test that leaks a watcher, a worker or a socket).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "../lib/config.ts";
import { type Instance, startInstance } from "../lib/instance.ts";
import { FIXTURE_ROOT } from "./_support/paths.ts";
import { withCopyOf } from "./_support/server.ts";

/** start parses `root --port 0 --host 127.0.0.1 --quiet ...args` and starts an instance. */
async function start(root: string, args: string[] = []): Promise<Instance> {
  const request = parseConfig([root, "--port", "0", "--host", "127.0.0.1", "--quiet", ...args]);
  assert.equal(request.kind, "serve");
  if (request.kind !== "serve") throw new Error("unreachable");
  const realUploadDir = request.config.uploadDir === undefined
    ? undefined
    : await Deno.realPath(request.config.uploadDir);
  return await startInstance(request.config, {
    realRoot: await Deno.realPath(root),
    ...(realUploadDir === undefined ? {} : { realUploadDir }),
  });
}

/** origin is the instance's public address as a URL origin. */
function origin(instance: Instance): string {
  return `http://127.0.0.1:${instance.server.addr.port}`;
}

Deno.test("startInstance serves the root; shutdown frees the port", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    const instance = await start(root);
    const port = instance.server.addr.port;
    try {
      const response = await fetch(`${origin(instance)}/hello.txt`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), "hello, world\n");
      assert.equal(instance.metricsServer, undefined, "no --metrics, no metrics listener");
      const board = await fetch(`${origin(instance)}/board`);
      assert.equal(board.status, 404, "no --data-dir, no board");
      await board.body?.cancel();
    } finally {
      await instance.shutdown();
    }
    // The port is free again: another listener can take it.
    Deno.listen({ hostname: "127.0.0.1", port }).close();
  });
});

Deno.test("startInstance rejects on a taken port and leaves nothing running", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const request = parseConfig([root, "--port", String(taken.addr.port), "--host", "127.0.0.1"]);
    if (request.kind !== "serve") throw new Error("not a serve request");
    await assert.rejects(
      startInstance(request.config, { realRoot: await Deno.realPath(root) }),
      Deno.errors.AddrInUse,
    );
  });
});

Deno.test("with --upload-dir the body cap is raised to the upload limit, not --max-body", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
    const up = join(dir, "up");
    await Deno.mkdir(up);
    const instance = await start(root, [
      "--upload-dir",
      up,
      "--max-body",
      "1000",
      "--max-upload",
      "5000",
    ]);
    try {
      const stored = await fetch(`${origin(instance)}/uploads/a.bin`, {
        method: "PUT",
        body: new Uint8Array(4000),
      });
      // 4000 bytes pass only because the engine's cap rose from --max-body 1000.
      assert.equal(stored.status, 201, await stored.text());
      assert.equal((await Deno.stat(join(up, "a.bin"))).size, 4000);
      const tooBig = await fetch(`${origin(instance)}/uploads/b.bin`, {
        method: "PUT",
        body: new Uint8Array(6000),
      });
      assert.equal(tooBig.status, 413);
      await tooBig.body?.cancel();
    } finally {
      await instance.shutdown();
    }
  });
});

Deno.test("with --data-dir and --metrics, board posts and clears are counted", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
    const data = join(dir, "data");
    await Deno.mkdir(data);
    const instance = await start(root, ["--data-dir", data, "--metrics", "127.0.0.1:0"]);
    try {
      assert.ok(instance.metricsServer !== undefined);
      const metricsUrl = `http://127.0.0.1:${instance.metricsServer.addr.port}/metrics`;
      const form = { "content-type": "application/x-www-form-urlencoded" };
      const posted = await fetch(`${origin(instance)}/board`, {
        method: "POST",
        headers: form,
        body: "message=hello",
        redirect: "manual",
      });
      assert.equal(posted.status, 303);
      await posted.body?.cancel();
      const refused = await fetch(`${origin(instance)}/board`, {
        method: "POST",
        headers: form,
        body: "",
        redirect: "manual",
      });
      assert.equal(refused.status, 400, "an empty post is not counted");
      await refused.body?.cancel();
      const cleared = await fetch(`${origin(instance)}/board/clear`, {
        method: "POST",
        headers: form,
        body: "confirm=yes",
        redirect: "manual",
      });
      assert.equal(cleared.status, 303);
      await cleared.body?.cancel();
      const text = await (await fetch(metricsUrl)).text();
      assert.match(text, /^minserve_board_posts_total 1$/m);
      assert.match(text, /^minserve_board_clears_total 1$/m);
      assert.match(text, /^minserve_uploads_total 0$/m);
    } finally {
      await instance.shutdown();
    }
  });
});
