/**
 * health_test.ts — `/healthz` and `/readyz` as `Request → Response`, and
 * through the app: alive, ready, not ready (root gone, board store down),
 * one word and nothing else, no credentials, no caching.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../lib/app.ts";
import { HttpError } from "../../lib/http/http_error.ts";
import { StoreUnavailable } from "../../lib/pages/board_store.ts";
import {
  createHealth,
  HEALTH_PATH,
  NOT_READY_RETRY_S,
  READY_PATH,
} from "../../lib/pages/health.ts";
import { withTempDir } from "../_support/server.ts";

const ORIGIN = "http://localhost:8000";
const INFO = { remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 } };

/** pinger is a board store's ping that answers or fails, as told. */
function pinger(up: () => boolean) {
  return {
    pings: 0,
    ping() {
      this.pings++;
      return up() ? Promise.resolve() : Promise.reject(new StoreUnavailable("down"));
    },
  };
}

async function check(
  handler: (r: Request) => Promise<Response>,
  path: string,
  method = "GET",
): Promise<[number, string, Headers]> {
  const response = await handler(new Request(ORIGIN + path, { method }));
  return [response.status, await response.text(), response.headers];
}

Deno.test("/healthz is 200 ok; /readyz is 200 ready when the root reads and the board answers", async () => {
  await withTempDir(async (root) => {
    const board = pinger(() => true);
    const health = createHealth({ root, board });
    const [status, body, headers] = await check(health, HEALTH_PATH);
    assert.deepEqual([status, body], [200, "ok\n"]);
    assert.equal(headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(headers.get("cache-control"), "no-store");
    assert.equal(board.pings, 0, "liveness asks nothing of the board");
    assert.deepEqual((await check(health, READY_PATH)).slice(0, 2), [200, "ready\n"]);
    assert.equal(board.pings, 1);
    // HEAD is answered as GET; the writer sends the head alone (tests/pages/page_test.ts).
    const [headStatus, , headHeaders] = await check(health, READY_PATH, "HEAD");
    assert.equal(headStatus, 200);
    assert.equal(headHeaders.get("content-length"), "6");
  });
});

Deno.test("/readyz is 503 not ready, with Retry-After, and says no more, when a dependency fails", async (t) => {
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    await Deno.mkdir(root);
    let up = true;
    const health = createHealth({ root, board: pinger(() => up) });
    const notReady = async () => {
      const [status, body, headers] = await check(health, READY_PATH);
      assert.deepEqual([status, body], [503, "not ready\n"]);
      assert.equal(headers.get("retry-after"), String(NOT_READY_RETRY_S));
      // Alive all the same: a balancer stops sending, a supervisor does not restart.
      assert.equal((await check(health, HEALTH_PATH))[0], 200);
    };
    await t.step("board store down", async () => {
      up = false;
      await notReady();
      up = true;
      assert.equal((await check(health, READY_PATH))[0], 200, "ready again");
    });
    await t.step("root removed", async () => {
      await Deno.remove(root);
      await notReady();
    });
    await t.step("root is a file", async () => {
      await Deno.writeTextFile(root, "not a directory");
      await notReady();
    });
  });
});

Deno.test("through the app: GET and HEAD answer, no credentials, OPTIONS 204, other methods 405", async () => {
  await withTempDir(async (root) => {
    await Deno.writeTextFile(join(root, "healthz"), "a file the route shadows");
    const app = createApp({
      root,
      realRoot: root,
      listing: true,
      dotfiles: false,
      health: createHealth({ root }),
    });
    const get = await app(new Request(ORIGIN + "/healthz"), INFO);
    assert.deepEqual([get.status, await get.text()], [200, "ok\n"]);
    const ready = await app(new Request(ORIGIN + "/readyz"), INFO);
    assert.deepEqual([ready.status, await ready.text()], [200, "ready\n"]);
    const options = await app(new Request(ORIGIN + "/readyz", { method: "OPTIONS" }), INFO);
    assert.equal(options.status, 204);
    assert.equal(options.headers.get("allow"), "GET, HEAD, OPTIONS");
    for (const method of ["POST", "PUT", "DELETE"]) {
      const response = await Promise.resolve(
        app(new Request(ORIGIN + "/healthz", { method, body: "x" }), INFO),
      ).catch((err: unknown) => err);
      const status = response instanceof HttpError
        ? response.status
        : (response as Response).status;
      assert.equal(status, 405, method);
    }
    // Only the exact paths: neighbours are files as usual.
    const near = await app(new Request(ORIGIN + "/healthz/x"), INFO);
    assert.equal(near.status, 404);
  });
});
