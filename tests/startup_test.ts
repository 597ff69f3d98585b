/**
 * startup_test.ts — what main.ts does once before the banner: folders,
 * --auth files, the connection cap, starting on a port. Each failure a user
 * can fix is a CommandError with one line that names what failed.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CommandError } from "../lib/command_error.ts";
import { type Config, DEFAULTS } from "../lib/config.ts";
import { authUsers, prepare, startServing, useDir, withConnectionCap } from "../lib/startup.ts";
import { withTempDir } from "./_support/server.ts";

const HASH = "$2b$04$8iMPAy/y.CDb5i1Arz/xVuML07.twuMU0wN2kjFcdiXZew7Hzawx.";

/** rejectsWith asserts that `promise` rejects with a CommandError whose message matches `line`. */
async function rejectsWith(promise: Promise<unknown>, line: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CommandError, String(err));
    assert.match(err.message, line);
    assert.equal(err.code, 1);
    return true;
  });
}

Deno.test("useDir: a directory's real path; missing, a file, or made", async (t) => {
  await withTempDir(async (dir) => {
    const real = await Deno.realPath(dir);
    await t.step("an existing directory: its real path", async () => {
      assert.equal(await useDir("ROOT", dir), real);
    });
    await t.step("missing, not to be made: one line", async () => {
      await rejectsWith(
        useDir("ROOT", join(dir, "nope")),
        /^cannot use ROOT ".*nope": no such directory$/,
      );
    });
    await t.step("a file: one line", async () => {
      await Deno.writeTextFile(join(dir, "f"), "x");
      await rejectsWith(useDir("ROOT", join(dir, "f")), /^cannot use ROOT ".*f": not a directory$/);
    });
    await t.step("missing, with what it is for: made with its parents", async () => {
      const made = await useDir("--upload-dir", join(dir, "a", "b"), "upload");
      assert.equal(made, join(real, "a", "b"));
      assert.ok((await Deno.stat(made)).isDirectory);
    });
    await t.step("cannot be made: one line", async () => {
      await rejectsWith(
        useDir("--data-dir", join(dir, "f", "sub"), "data"),
        /^cannot (create|use) --data-dir ".*sub": /,
      );
    });
  });
});

Deno.test("authUsers: inline users and htpasswd files; errors name the file and user", async (t) => {
  await withTempDir(async (dir) => {
    const file = join(dir, "users.htpasswd");
    await Deno.writeTextFile(file, `alice:${HASH}:rw\n`);
    await t.step("a file and an inline user", () => {
      const users = authUsers({
        auth: [{ kind: "file", path: file }, {
          kind: "user",
          user: { user: "bob", hash: HASH, role: "r" },
        }],
      });
      assert.deepEqual(users.map((u) => [u.user, u.role]), [["alice", "rw"], ["bob", "r"]]);
    });
    await t.step("a missing file", () => {
      assert.throws(
        () => authUsers({ auth: [{ kind: "file", path: join(dir, "none") }] }),
        (err: unknown) =>
          err instanceof CommandError && /^cannot read --auth ".*none": /.test(err.message),
      );
    });
    await t.step("a user twice: named, the hash never shown", () => {
      assert.throws(
        () => authUsers({ auth: [{ kind: "file", path: file }, { kind: "file", path: file }] }),
        (err: unknown) =>
          err instanceof CommandError && /alice/.test(err.message) && !err.message.includes(HASH),
      );
    });
    await t.step("a bad line: the file named", async () => {
      const bad = join(dir, "bad.htpasswd");
      await Deno.writeTextFile(bad, "carol:plaintext\n");
      assert.throws(
        () => authUsers({ auth: [{ kind: "file", path: bad }] }),
        (err: unknown) => err instanceof CommandError && err.message.includes(`"${bad}"`),
      );
    });
  });
});

Deno.test("withConnectionCap: a cap from the free descriptors, or the one given", async () => {
  await withTempDir(async (dir) => {
    const real = await Deno.realPath(dir);
    const derived = withConnectionCap({ ...DEFAULTS, root: dir }, real);
    assert.ok(derived.config.maxConnections! >= 1, "a cap is filled in");
    if (Deno.build.os !== "windows") assert.ok(derived.free !== undefined);
    const given = withConnectionCap({ ...DEFAULTS, root: dir, maxConnections: 3 }, real);
    assert.equal(given.config.maxConnections, 3);
  });
});

Deno.test("prepare: reads and makes what the options name; a failure is one line", async (t) => {
  await withTempDir(async (dir) => {
    const base: Config = { ...DEFAULTS, root: dir, quiet: true };
    await t.step("uploads and data folders made; the options every instance gets", async () => {
      const prepared = await prepare({
        ...base,
        uploadDir: join(dir, "up"),
        dataDir: join(dir, "data"),
      });
      const real = await Deno.realPath(dir);
      assert.equal(prepared.realRoot, real);
      assert.equal(prepared.options.realUploadDir, join(real, "up"));
      assert.ok((await Deno.stat(join(dir, "data"))).isDirectory);
      assert.ok(prepared.config.maxConnections! >= 1);
      assert.deepEqual(prepared.users, []);
      assert.equal(prepared.options.reusePort, false);
    });
    await t.step("a missing root", async () => {
      await rejectsWith(prepare({ ...base, root: join(dir, "none") }), /^cannot use ROOT /);
    });
    await t.step("a certificate that cannot be read", async () => {
      const tls = { certFile: join(dir, "c.pem"), keyFile: join(dir, "k.pem") };
      await rejectsWith(prepare({ ...base, tls }), /^cannot read --cert ".*c\.pem": /);
    });
    await t.step("--workers without --unstable-net", async () => {
      if (typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function") return;
      await rejectsWith(prepare({ ...base, workers: 2 }), /--unstable-net/);
    });
  });
});

Deno.test("startServing: a port in use is one line, or the next free one when it may move", async (t) => {
  await withTempDir(async (dir) => {
    const prepared = await prepare({ ...DEFAULTS, root: dir, quiet: true, maxConnections: 8 });
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = taken.addr.port;
    try {
      await t.step("a fixed port: address in use", async () => {
        const config = { ...prepared.config, port };
        await rejectsWith(
          startServing({ ...prepared, config }, { mayMove: false, codeDir: "/code" }),
          new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${port}: address in use$`),
        );
      });
      await t.step("a port that may move: a free one after it", async () => {
        const config = { ...prepared.config, port };
        const serving = await startServing({ ...prepared, config }, {
          mayMove: true,
          codeDir: "/",
        });
        try {
          assert.ok(serving.instance.server.addr.port > port);
          assert.deepEqual(serving.workers, []);
        } finally {
          await serving.instance.shutdown();
        }
      });
    } finally {
      taken.close();
    }
  });
});
