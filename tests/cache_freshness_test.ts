/**
 * The small-file cache never serves stale content for long: a file changed
 * on disk is served changed within a second, over real sockets, whatever
 * way it changed (rewritten, replaced by rename, deleted, created).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseResponses, rawRequest, spawnServer, withTempDir } from "./_support/server.ts";

/**
 * A bare GET (no Accept, no Accept-Encoding: the cache answers it) on a
 * fresh connection; returns the status and body.
 */
async function get(port: number, path: string): Promise<[number, string]> {
  const bytes = await rawRequest(
    port,
    `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
  );
  const [response] = parseResponses(bytes);
  assert.ok(response, "a response");
  return [response.status, response.text()];
}

async function eventually(fn: () => Promise<boolean>, withinMs: number): Promise<number> {
  const start = Date.now();
  while (!(await fn())) {
    if (Date.now() - start > withinMs) assert.fail(`not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - start;
}

Deno.test("changes on disk are served within a second", async (t) => {
  await withTempDir(async (dir) => {
    const root = join(dir, "www");
    await Deno.mkdir(root);
    await Deno.writeTextFile(join(root, "a.txt"), "one\n");
    await using server = await spawnServer({ root, args: ["--quiet"] });
    const port = server.port;
    // The second round of each step runs within the same second: a cache hit.
    const WITHIN = 1500;

    await t.step("rewritten in place: served from memory for a while, then fresh", async () => {
      assert.deepEqual(await get(port, "/a.txt"), [200, "one\n"]);
      await Deno.writeTextFile(join(root, "a.txt"), "two, longer\n");
      // Right after the change the cached copy may still be served; that it
      // is shows the cache is on the path this test checks.
      const stale = (await get(port, "/a.txt"))[1];
      assert.ok(stale === "one\n" || stale === "two, longer\n", stale);
      await eventually(async () => (await get(port, "/a.txt"))[1] === "two, longer\n", WITHIN);
    });
    await t.step("replaced by rename (same size)", async () => {
      await Deno.writeTextFile(join(root, "tmp"), "TWO, LONGER\n");
      await Deno.rename(join(root, "tmp"), join(root, "a.txt"));
      await eventually(async () => (await get(port, "/a.txt"))[1] === "TWO, LONGER\n", WITHIN);
    });
    await t.step("deleted", async () => {
      await Deno.remove(join(root, "a.txt"));
      await eventually(async () => (await get(port, "/a.txt"))[0] === 404, WITHIN);
    });
    await t.step("created after a 404", async () => {
      assert.equal((await get(port, "/b.txt"))[0], 404);
      assert.equal((await get(port, "/b.txt"))[0], 404);
      await Deno.writeTextFile(join(root, "b.txt"), "born\n");
      await eventually(async () => (await get(port, "/b.txt"))[1] === "born\n", WITHIN);
    });
  });
});
