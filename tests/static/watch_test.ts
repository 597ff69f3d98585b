/**
 * watch_test.ts — RootWatcher over a real temporary directory: it reports a
 * write by the file's absolute path, watchStore turns that into a store
 * invalidation, a failing listener does not silence the others, and close()
 * ends the watcher's loop (the resource and op sanitizers, switched on here,
 * check that nothing is left open). Where the platform gives no file watcher
 * (no inotify, say) the tests are skipped, saying so.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { RepresentationStore } from "../../lib/static/store.ts";
import { RootWatcher, type WatchListener, watchStore } from "../../lib/static/watch.ts";
import { withTempDir } from "../_support/server.ts";

/**
 * Deno 2.9 runs the resource and op sanitizers only when asked: these tests
 * ask, so a watcher (or its pending poll for events) left open fails them.
 */
const SANITIZE = { sanitizeResources: true, sanitizeOps: true } as const;
/** An event must arrive within this long of the write. */
const EVENT_TIMEOUT_MS = 2_000;
/** How often a condition is polled while waiting for an event. */
const POLL_MS = 10;

/** Whether this platform can watch a directory; probed once, up front. */
const WATCH_FAILURE: string | undefined = await withTempDir(async (dir) => {
  const probe = new RootWatcher(dir);
  const active = probe.active;
  await probe.close();
  return active ? undefined : probe.failure ?? "the watcher did not start";
});
const IGNORE = WATCH_FAILURE !== undefined;
if (IGNORE) console.warn(`watch_test: skipped, Deno.watchFs is unavailable: ${WATCH_FAILURE}`);

/** until polls `condition` until it holds, or fails after EVENT_TIMEOUT_MS saying `what`. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + EVENT_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${EVENT_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** withWatcher runs `fn` with a watcher on a fresh temporary directory, and closes it. */
function withWatcher(fn: (watcher: RootWatcher, dir: string) => Promise<void>): Promise<void> {
  return withTempDir(async (dir) => {
    const watcher = new RootWatcher(dir);
    try {
      assert.ok(watcher.active, `the watcher did not start: ${watcher.failure}`);
      await fn(watcher, dir);
    } finally {
      await watcher.close();
    }
  });
}

Deno.test({
  name: "RootWatcher reports a write by the file's absolute path",
  ignore: IGNORE,
  ...SANITIZE,
  fn: () =>
    withWatcher(async (watcher, dir) => {
      const path = join(dir, "a.txt");
      const seen: string[] = [];
      watcher.subscribe((paths) => {
        if (paths !== "all") seen.push(...paths);
      });
      await Deno.writeTextFile(path, "one\n");
      await until(() => seen.includes(path), `an event naming ${path} (saw ${seen.join(", ")})`);
    }),
});

Deno.test({
  name: "RootWatcher reports a write in a subdirectory",
  ignore: IGNORE,
  ...SANITIZE,
  fn: () =>
    withTempDir(async (dir) => {
      // The subdirectory exists before the watcher starts: a recursive watch covers it.
      await Deno.mkdir(join(dir, "sub"));
      const watcher = new RootWatcher(dir);
      try {
        const path = join(dir, "sub", "b.txt");
        const seen: string[] = [];
        watcher.subscribe((paths) => {
          if (paths !== "all") seen.push(...paths);
        });
        await Deno.writeTextFile(path, "two\n");
        await until(() => seen.includes(path), `an event naming ${path} (saw ${seen.join(", ")})`);
      } finally {
        await watcher.close();
      }
    }),
});

Deno.test({
  name: "watchStore drops a store entry when its file is written",
  ignore: IGNORE,
  ...SANITIZE,
  fn: () =>
    withTempDir(async (dir) => {
      const path = join(dir, "page.html");
      await Deno.writeTextFile(path, "<p>one</p>\n");
      const store = new RepresentationStore();
      const found = store.lookup(path, {
        root: dir,
        realRoot: dir,
        dotfiles: false,
      });
      assert.equal(found.kind, "file");
      assert.equal(store.size, 1);
      const bytesBefore = store.bytes;
      assert.ok(bytesBefore > 0, "the entry holds the file's bytes");
      const watcher = new RootWatcher(dir);
      const unsubscribe = watchStore(watcher, store);
      try {
        await Deno.writeTextFile(path, "<p>two</p>\n");
        await until(() => store.size === 0, "the entry dropped");
        assert.equal(store.bytes, 0, "its bytes freed");
      } finally {
        unsubscribe();
        await watcher.close();
      }
    }),
});

Deno.test({
  name: "a listener that throws does not stop the others",
  ignore: IGNORE,
  ...SANITIZE,
  fn: () =>
    withWatcher(async (watcher, dir) => {
      const path = join(dir, "c.txt");
      let thrown = 0;
      const seen: string[] = [];
      const failing: WatchListener = () => {
        thrown++;
        throw new Error("listener failed");
      };
      watcher.subscribe(failing);
      watcher.subscribe((paths) => {
        if (paths !== "all") seen.push(...paths);
      });
      await Deno.writeTextFile(path, "three\n");
      await until(() => seen.includes(path), `an event naming ${path}`);
      assert.ok(thrown > 0, "the failing listener was called");
      assert.ok(watcher.active, "the watcher still runs");
    }),
});

Deno.test({
  name: "an unsubscribed listener hears nothing more",
  ignore: IGNORE,
  ...SANITIZE,
  fn: () =>
    withWatcher(async (watcher, dir) => {
      const removed: string[] = [];
      const kept: string[] = [];
      const unsubscribe = watcher.subscribe((paths) => {
        if (paths !== "all") removed.push(...paths);
      });
      watcher.subscribe((paths) => {
        if (paths !== "all") kept.push(...paths);
      });
      unsubscribe();
      const path = join(dir, "d.txt");
      await Deno.writeTextFile(path, "four\n");
      // Once the kept listener has heard of the write, the removed one would have too.
      await until(() => kept.includes(path), `an event naming ${path}`);
      assert.deepEqual(removed, []);
    }),
});

Deno.test({
  name: "close() resolves, stops the watcher and leaves nothing open",
  ignore: IGNORE,
  ...SANITIZE,
  // The sanitizers fail this test if the watcher's resource or its pending
  // poll for events outlives close().
  fn: () =>
    withTempDir(async (dir) => {
      const watcher = new RootWatcher(dir);
      assert.ok(watcher.active);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), EVENT_TIMEOUT_MS);
      });
      try {
        const closed = await Promise.race([watcher.close().then(() => "closed" as const), timeout]);
        assert.equal(closed, "closed", `close() did not resolve within ${EVENT_TIMEOUT_MS} ms`);
      } finally {
        clearTimeout(timer);
      }
      assert.equal(watcher.active, false, "inactive once closed");
      // A second close is harmless.
      await watcher.close();
    }),
});
