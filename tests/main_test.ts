/**
 * main_test.ts — the command line of issue 11, end to end: `main.ts` as a
 * subprocess, with the permissions a user would give it and, where a person
 * would be at the terminal, a pseudo-terminal that answers Deno's prompts.
 *
 * - a permission the options need is asked for at a terminal, one prompt per
 *   permission and nothing more ("y" serves, "n" ends with one line); without
 *   a terminal the one line names a command, and that command works;
 * - upload and data folders that do not exist yet are created, saying so;
 * - a busy default port moves to the next free one, saying so; a port that
 *   was asked for stays an error;
 * - `--open` runs the platform's opener (a stand-in here, never a browser);
 * - the banner's `live:` line;
 * - every command of the README's "Set up and run", as written, in a fresh
 *   copy of the repository.
 *
 * The pseudo-terminal comes from util-linux `script`; where it is missing,
 * those tests are skipped and say why in their name. Every wait has a
 * deadline.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURE_ROOT, REPO_ROOT } from "./_support/paths.ts";
import {
  HAVE_SCRIPT,
  runMain,
  type RunResult,
  type ServerProcess,
  shellQuote,
  spawnServer,
  type SpawnServerOptions,
  startMain,
  withCopyOf,
  withTempDir,
} from "./_support/server.ts";
import { delay, waitFor } from "./_support/wait.ts";
import bcrypt from "bcryptjs";

/** How long a README command that serves nothing, or a hash-password prompt, may take. */
const STEP_TIMEOUT_MS = 15_000;
/** How long the stand-in opener may take to be run after the banner. */
const OPEN_TIMEOUT_MS = 3_000;
/** The port minserve listens on when none is given, and the last it moves to. */
const DEFAULT_PORT = 8080;
const LAST_DEFAULT_PORT = 8099;

// ---------------------------------------------------------------------------
// What the machine has, decided once at module load.

const NO_SCRIPT = "SKIPPED, util-linux `script` (for a pseudo-terminal) is not installed";

/** The program main.ts runs for --open on this platform, when a shell script can stand in for it. */
const OPENER = Deno.build.os === "linux"
  ? "xdg-open"
  : Deno.build.os === "darwin"
  ? "open"
  : undefined;
const NO_OPENER = `SKIPPED, no stand-in opener on ${Deno.build.os}`;

/** Whether the default port is free now: the free-port test takes it, and skips when it cannot. */
const DEFAULT_PORT_FREE = (() => {
  try {
    Deno.listen({ hostname: "127.0.0.1", port: DEFAULT_PORT }).close();
    return true;
  } catch {
    return false;
  }
})();

// ---------------------------------------------------------------------------
// Running main.ts.

/**
 * asUser are the options to run `deno run <flags> main.ts <args>` as a person
 * would: exactly these flags (no others granted), from the repository (where
 * `./www` is), without colours; `more` adds to them (`env` to NO_COLOR).
 */
function asUser(
  flags: readonly string[],
  args: readonly string[],
  more: Omit<SpawnServerOptions, "permissions" | "args"> = {},
): SpawnServerOptions {
  return {
    listenArgs: [],
    cwd: REPO_ROOT,
    ...more,
    permissions: flags,
    args,
    env: { NO_COLOR: "1", ...more.env },
  };
}

/** runAsUser runs `deno run <flags> main.ts <args>` as {@linkcode asUser} does, to its exit. */
function runAsUser(
  flags: readonly string[],
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<RunResult> {
  return runMain(args, { denoFlags: flags, cwd: REPO_ROOT, env: { NO_COLOR: "1", ...env } });
}

/**
 * untilBanner waits for the banner's `deno:` line. main.ts writes the banner
 * at once, but a terminal may pass it on in pieces, so its "listening on"
 * line, which spawnServer waits for, can come before the rest.
 */
async function untilBanner(server: ServerProcess): Promise<void> {
  const whole = await waitFor(() => /\n {2}deno: .*\n/.test(server.text()), STEP_TIMEOUT_MS);
  assert.ok(whole, `no deno: line in the banner:\n${server.text()}`);
}

/** get fetches `path` from 127.0.0.1:`port` and returns the status and body. */
async function get(port: number, path: string): Promise<[number, string]> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return [response.status, await response.text()];
}

/** put PUTs `body` to /uploads/`name` and returns the status. */
async function put(port: number, name: string, body: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/uploads/${name}`, {
    method: "PUT",
    body,
  });
  await response.body?.cancel();
  return response.status;
}

/** minserveLines are the `minserve:` lines of `text`. */
function minserveLines(text: string): string[] {
  return text.split("\n").filter((line) => line.startsWith("minserve: "));
}

/** writeOpener writes a stand-in `name` into `dir`/bin that records its arguments in `dir`/opened. */
async function writeOpener(dir: string, name: string): Promise<{ path: string; opened: string }> {
  const bin = join(dir, "bin");
  const opened = join(dir, "opened");
  await Deno.mkdir(bin);
  await Deno.writeTextFile(join(bin, name), `#!/bin/sh\necho "$@" > ${shellQuote(opened)}\n`);
  await Deno.chmod(join(bin, name), 0o755);
  return { path: `${bin}:${Deno.env.get("PATH") ?? ""}`, opened };
}

/** readOpened waits for the stand-in opener's record and returns it, or "" if it never ran. */
async function readOpened(file: string): Promise<string> {
  let text = "";
  await waitFor(async () => {
    text = await Deno.readTextFile(file).catch(() => "");
    return text !== "";
  }, OPEN_TIMEOUT_MS);
  return text.trim();
}

// ---------------------------------------------------------------------------
// 1. Any folder, least privilege, one command.

Deno.test("without a terminal, a missing permission is one line whose command works", async () => {
  await withCopyOf(FIXTURE_ROOT, async (site, dir) => {
    const up = join(dir, "new", "up");
    const data = join(dir, "new", "data");
    const args = [site, "--port", "0", "--upload-dir", up, "--data-dir", data];
    // As `deno task serve` grants it: the default root and the loopback only.
    const refused = await runAsUser(["--allow-net=127.0.0.1", "--allow-read=./www"], args);
    assert.equal(refused.code, 1, refused.stderr);
    const lines = refused.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, refused.stderr);
    const line = lines[0]!;
    assert.equal(
      line,
      `minserve: cannot read ROOT "${site}": not permitted; run: deno run ` +
        `--allow-net=127.0.0.1 --allow-read=${site},${up},${data} --allow-write=${up},${data} ` +
        `--allow-sys=statfs main.ts ${args.join(" ")}`,
    );
    assert.doesNotMatch(refused.stdout, /listening on/);

    // The command, run as printed (from the repository, where main.ts is).
    const command = line.slice(line.indexOf("run: ") + "run: ".length);
    await using server = await spawnServer({
      command: ["/bin/sh", "-c", `exec ${shellQuote(Deno.execPath())} ${command.slice(5)}`],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1" },
    });
    assert.ok(command.startsWith("deno "), command);
    const port = server.port;
    await untilBanner(server);
    assert.deepEqual(await get(port, "/hello.txt"), [200, "hello, world\n"]);
    assert.equal(await put(port, "note.txt", "hi\n"), 201);
    assert.equal(await Deno.readTextFile(join(up, "note.txt")), "hi\n");
    assert.equal((await get(port, "/board"))[0], 200);
    assert.deepEqual(minserveLines(server.text()), [
      `minserve: created upload folder ${up}`,
      `minserve: created data folder ${data}`,
    ]);
    assert.match(server.text(), new RegExp(`deno: +read: ${site}, ${up}, ${data}; write: ${up}`));
    assert.equal(server.stderrText(), "");
  });
});

Deno.test({
  name: HAVE_SCRIPT
    ? "at a terminal, Deno asks for read access to the root; yes serves it"
    : `at a terminal, yes serves the root ${NO_SCRIPT}`,
  ignore: !HAVE_SCRIPT,
  fn: async () => {
    await withCopyOf(FIXTURE_ROOT, async (site) => {
      await using server = await spawnServer(
        asUser(["--allow-net=127.0.0.1", "--allow-read=./www"], [site, "-p", "0"], {
          terminal: true,
          answers: ["y"],
        }),
      );
      const port = server.port;
      await untilBanner(server);
      assert.deepEqual(server.prompts(), [`read access to "${site}"`]);
      assert.deepEqual(await get(port, "/hello.txt"), [200, "hello, world\n"]);
      assert.match(
        server.text(),
        new RegExp(`deno: +read: ${site}; write: none; net: 127\\.0\\.0\\.1`),
      );
      assert.doesNotMatch(server.text(), /warning/);
    });
  },
});

Deno.test({
  name: HAVE_SCRIPT
    ? "at a terminal, no to the root's read access ends with one line and the command"
    : `at a terminal, no ends with one line ${NO_SCRIPT}`,
  ignore: !HAVE_SCRIPT,
  fn: async () => {
    await withCopyOf(FIXTURE_ROOT, async (site) => {
      await using refused = startMain(
        asUser(["--allow-net=127.0.0.1", "--allow-read=./www"], [site, "-p", "0"], {
          terminal: true,
          answers: ["n"],
        }),
      );
      assert.equal(await refused.exit(), 1, refused.text());
      assert.deepEqual(refused.prompts(), [`read access to "${site}"`]);
      assert.deepEqual(minserveLines(refused.text()), [
        `minserve: cannot read ROOT "${site}": not permitted; run: deno run ` +
        `--allow-net=127.0.0.1 --allow-read=${site} main.ts ${site} -p 0`,
      ]);
      assert.doesNotMatch(refused.text(), /listening on| {4}at /);
    });
  },
});

Deno.test({
  name: HAVE_SCRIPT
    ? "at a terminal, new upload and data folders: read and write asked for each, then created"
    : `at a terminal, new upload and data folders ${NO_SCRIPT}`,
  ignore: !HAVE_SCRIPT,
  fn: async () => {
    await withCopyOf(FIXTURE_ROOT, async (site, dir) => {
      const up = join(dir, "up");
      const data = join(dir, "data");
      await using server = await spawnServer(asUser(
        ["--allow-net=127.0.0.1", `--allow-read=${site}`],
        [site, "-p", "0", "--upload-dir", up, "--data-dir", data],
        { terminal: true, answers: ["y", "y", "y", "y", "y"] },
      ));
      const port = server.port;
      await untilBanner(server);
      assert.deepEqual(server.prompts(), [
        `read access to "${up}"`,
        `write access to "${up}"`,
        `read access to "${data}"`,
        `write access to "${data}"`,
        'sys access to "statfs"',
      ]);
      assert.deepEqual(minserveLines(server.text()), [
        `minserve: created upload folder ${up}`,
        `minserve: created data folder ${data}`,
      ]);
      assert.equal(await put(port, "a.txt", "a\n"), 201);
      assert.deepEqual(await get(port, "/uploads/a.txt"), [200, "a\n"]);
      assert.ok((await Deno.stat(join(data, "board.sqlite3"))).isFile);
      assert.match(server.text(), new RegExp(`write: ${up}, ${data}; net: 127\\.0\\.0\\.1`));
    });
  },
});

Deno.test({
  name: HAVE_SCRIPT
    ? "at a terminal, --lan asks for net access to 0.0.0.0, then to list the interfaces"
    : `at a terminal, --lan asks for net access ${NO_SCRIPT}`,
  ignore: !HAVE_SCRIPT,
  fn: async () => {
    await withCopyOf(FIXTURE_ROOT, async (site) => {
      // As `deno task serve` grants it: the loopback names only.
      await using server = await spawnServer(asUser(
        ["--allow-net=127.0.0.1,localhost,[::1]", `--allow-read=${site}`],
        [site, "--lan", "-p", "0"],
        { terminal: true, answers: ["y", "y"] },
      ));
      const port = server.port;
      await untilBanner(server);
      assert.deepEqual(server.prompts(), [
        'net access to "0.0.0.0"',
        'sys access to "networkInterfaces"',
      ]);
      assert.match(server.text(), /exposed on every interface \(0\.0\.0\.0\):/);
      assert.doesNotMatch(server.text(), /run with --allow-sys/);
      assert.match(server.text(), /net: 0\.0\.0\.0; sys: networkInterfaces/);
      assert.deepEqual(await get(port, "/hello.txt"), [200, "hello, world\n"]);
    });
  },
});

Deno.test("without a terminal, --lan names the one net permission it lacks", async () => {
  const args = ["--lan", "--port", "0"];
  const refused = await runAsUser(
    ["--allow-net=127.0.0.1,localhost,[::1]", "--allow-read=./www"],
    args,
  );
  assert.equal(refused.code, 1, refused.stderr);
  assert.equal(
    refused.stderr,
    "minserve: cannot listen on 0.0.0.0: not permitted; run: deno run --allow-net=0.0.0.0 " +
      "--allow-read=./www --allow-sys=networkInterfaces main.ts --lan " +
      "--port 0\n",
  );
});

// ---------------------------------------------------------------------------
// 3. A free port, and --open.

Deno.test({
  name: DEFAULT_PORT_FREE
    ? "a busy default port moves to the next free one and says so; a chosen port does not move"
    : `a busy default port moves SKIPPED, port ${DEFAULT_PORT} is used by another program here`,
  ignore: !DEFAULT_PORT_FREE,
  fn: async (t) => {
    await withCopyOf(FIXTURE_ROOT, async (site) => {
      let taken: Deno.Listener;
      try {
        taken = Deno.listen({ hostname: "127.0.0.1", port: DEFAULT_PORT });
      } catch (err) {
        // Taken since module load: by another program, which keeps it busy just the same.
        if (!(err instanceof Deno.errors.AddrInUse)) throw err;
        taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      }
      using _taken = taken;
      const flags = ["--allow-net=127.0.0.1", `--allow-read=${site}`];

      await t.step("no --port: the next free port, in one line", async () => {
        await using server = await spawnServer(asUser(flags, [site]));
        const port = server.port;
        await untilBanner(server);
        assert.ok(port > DEFAULT_PORT && port <= LAST_DEFAULT_PORT, `port ${port}`);
        assert.deepEqual(minserveLines(server.text()), [
          `minserve: port ${DEFAULT_PORT} is busy; using ${port}`,
        ]);
        assert.deepEqual(await get(port, "/hello.txt"), [200, "hello, world\n"]);
      });
      await t.step("--port 8080: stays an error, one line", async () => {
        const refused = await runAsUser(flags, [site, "--port", String(DEFAULT_PORT)]);
        assert.equal(refused.code, 1);
        assert.equal(
          refused.stderr,
          `minserve: cannot listen on 127.0.0.1:${DEFAULT_PORT}: address in use\n`,
        );
      });
      await t.step("MINSERVE_PORT=8080: stays an error, one line", async () => {
        const refused = await runAsUser([...flags, "--allow-env=MINSERVE_PORT"], [site], {
          MINSERVE_PORT: String(DEFAULT_PORT),
        });
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /^minserve: cannot listen on .*: address in use\n$/);
      });
    });
  },
});

Deno.test({
  name: OPENER
    ? "--open: the URL goes to the platform's opener, only with run access to it"
    : `--open ${NO_OPENER}`,
  ignore: OPENER === undefined,
  fn: async (t) => {
    await withCopyOf(FIXTURE_ROOT, async (site, dir) => {
      const opener = await writeOpener(dir, OPENER!);
      const args = [site, "--open", "--port", "0"];
      const flags = ["--allow-net=127.0.0.1", `--allow-read=${site}`];

      await t.step(`--allow-run=${OPENER}: the served URL is opened`, async () => {
        await using server = await spawnServer(
          asUser([...flags, `--allow-run=${OPENER}`], args, { env: { PATH: opener.path } }),
        );
        const port = server.port;
        await untilBanner(server);
        assert.equal(await readOpened(opener.opened), `http://127.0.0.1:${port}/`);
        assert.match(server.text(), new RegExp(`run: ${OPENER}`));
        await delay(100);
        assert.equal(server.stderrText(), "");
      });
      await Deno.remove(opener.opened);
      await t.step("no run access: one line says how, and serving goes on", async () => {
        await using server = await spawnServer(
          asUser(flags, args, { env: { PATH: opener.path } }),
        );
        const port = server.port;
        await untilBanner(server);
        const said = await waitFor(() => server.stderrText() !== "", OPEN_TIMEOUT_MS);
        assert.ok(said, "no line about the browser");
        assert.equal(
          server.stderrText(),
          `minserve: to open the browser, run with --allow-run=${OPENER}; ` +
            `or open http://127.0.0.1:${port}/\n`,
        );
        assert.deepEqual(await get(port, "/hello.txt"), [200, "hello, world\n"]);
        assert.equal(await Deno.readTextFile(opener.opened).catch(() => ""), "");
      });
      await t.step("no opener on this system: one line, and serving goes on", async () => {
        // Only deno's own directory on PATH: no opener to find.
        const path = join(Deno.execPath(), "..");
        await using server = await spawnServer(
          asUser([...flags, `--allow-run=${OPENER}`], args, { env: { PATH: path } }),
        );
        const port = server.port;
        await untilBanner(server);
        const said = await waitFor(() => /minserve: /.test(server.stderrText()), OPEN_TIMEOUT_MS);
        assert.ok(said, `no line about the browser: ${server.stderrText()}`);
        assert.deepEqual(minserveLines(server.stderrText()), [
          `minserve: cannot open the browser: no ${OPENER} here; ` +
          `open http://127.0.0.1:${port}/ yourself`,
        ]);
        assert.deepEqual(await get(port, "/hello.txt"), [200, "hello, world\n"]);
      });
    });
  },
});

Deno.test({
  name: HAVE_SCRIPT && OPENER
    ? "at a terminal, --open asks for run access to the opener alone, then opens the URL"
    : `at a terminal, --open ${HAVE_SCRIPT ? NO_OPENER : NO_SCRIPT}`,
  ignore: !HAVE_SCRIPT || OPENER === undefined,
  fn: async () => {
    await withCopyOf(FIXTURE_ROOT, async (site, dir) => {
      const opener = await writeOpener(dir, OPENER!);
      await using server = await spawnServer(asUser(
        ["--allow-net=127.0.0.1", `--allow-read=${site}`],
        [site, "--open", "-p", "0"],
        { terminal: true, answers: ["y"], env: { PATH: opener.path } },
      ));
      const port = server.port;
      await untilBanner(server);
      assert.deepEqual(server.prompts(), [`run access to "${OPENER}"`]);
      assert.equal(await readOpened(opener.opened), `http://127.0.0.1:${port}/`);
    });
  },
});

// ---------------------------------------------------------------------------
// The banner.

Deno.test("the banner has a live: line with --live, and none without", async () => {
  await withCopyOf(FIXTURE_ROOT, async (site) => {
    {
      await using server = await spawnServer({ root: site, args: ["--live"] });
      assert.match(
        server.stdoutText(),
        /\n {2}live: {5}on \(pages reload when files under the root change\)\n/,
      );
    }
    {
      await using server = await spawnServer({ root: site });
      assert.doesNotMatch(server.stdoutText(), /live:/);
    }
  });
});

// ---------------------------------------------------------------------------
// 1 and 4. The README's commands, as written, in a fresh copy of the repository.

/** README lines not run here, and why: the copy is made already, and they are tested elsewhere. */
const README_NOT_RUN = /^(git clone|cd |npm |npx |deno task (test|compile|check|bench))/;
/** README lines that start a server. */
const README_SERVES = /^deno (task serve|run)\b/;

/** readmeCommands lists the shell lines of the README's `## Set up and run` code blocks. */
async function readmeCommands(): Promise<string[]> {
  const readme = await Deno.readTextFile(join(REPO_ROOT, "README.md"));
  const start = readme.indexOf("\n## Set up and run\n");
  assert.ok(start !== -1, "README has no '## Set up and run' section");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const commands: string[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const text = block[1]!.replaceAll("\\\n", " ");
    for (const line of text.split("\n")) {
      const command = line.replace(/\s+#\s.*$/, "").replace(/\s+/g, " ").trim();
      if (command !== "" && !command.startsWith("#")) commands.push(command);
    }
  }
  return commands;
}

/** Whether this is a git work tree with git at hand, to copy the files a clone would have. */
const HAVE_GIT = (() => {
  try {
    return new Deno.Command("git", {
      args: ["-C", REPO_ROOT, "rev-parse", "--is-inside-work-tree"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
})();

/** freshCopy copies the files of a clone (tracked, and new ones not ignored) into `to`. */
async function freshCopy(to: string): Promise<void> {
  const out = await new Deno.Command("git", {
    args: ["-C", REPO_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    stdout: "piped",
  }).output();
  for (const name of new TextDecoder().decode(out.stdout).split("\0")) {
    if (name === "") continue;
    const target = join(to, name);
    await Deno.mkdir(join(target, ".."), { recursive: true });
    await Deno.copyFile(join(REPO_ROOT, name), target).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err; // deleted, not yet committed
    });
  }
}

/** isServing tells whether `port` answers GET / with 200, over TLS for `https`. */
async function isServing(port: number, https: boolean, certFile: string): Promise<boolean> {
  const client = https
    ? Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certFile)] })
    : undefined;
  try {
    const url = `${https ? "https" : "http"}://127.0.0.1:${port}/`;
    const response = await fetch(url, client === undefined ? {} : { client });
    await response.body?.cancel();
    return response.status === 200;
  } finally {
    client?.close();
  }
}

Deno.test({
  name: HAVE_SCRIPT && HAVE_GIT && OPENER
    ? "README: every command of 'Set up and run' works as written in a fresh copy"
    : `README commands SKIPPED, ${
      !HAVE_SCRIPT ? "util-linux `script`" : !HAVE_GIT ? "git" : "a stand-in browser opener"
    } is not available here`,
  ignore: !HAVE_SCRIPT || !HAVE_GIT || OPENER === undefined,
  fn: async (t) => {
    const commands = await readmeCommands();
    assert.ok(commands.filter((c) => README_SERVES.test(c)).length >= 5, commands.join("\n"));
    await withTempDir(async (dir) => {
      const clone = join(dir, "minserve");
      await freshCopy(clone);
      // `deno` is this test's Deno; `--open` reaches a stand-in, never a real browser.
      const opener = await writeOpener(dir, OPENER!);
      const env = { PATH: `${join(Deno.execPath(), "..")}:${opener.path}` };
      for (const command of commands) {
        if (README_NOT_RUN.test(command)) continue;
        await t.step(command, async () => {
          if (!README_SERVES.test(command)) {
            const out = await new Deno.Command("/bin/sh", {
              args: ["-c", command],
              cwd: clone,
              env,
              stdout: "piped",
              stderr: "piped",
              signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
            }).output();
            assert.ok(out.success, new TextDecoder().decode(out.stderr));
            return;
          }
          // `deno task serve` at a terminal, every permission asked for granted as a user
          // would; `deno run` (permissions granted up front) as a service runs it, without one.
          const shell = ["/bin/sh", "-c", `exec ${command}`];
          const asked = { command: shell, cwd: clone, env: { NO_COLOR: "1", ...env } };
          await using server = await spawnServer(
            command.startsWith("deno task")
              ? { ...asked, terminal: true, answers: Array(10).fill("y") }
              : asked,
          );
          const port = server.port;
          await untilBanner(server);
          const https = command.includes("--cert");
          assert.ok(
            await isServing(port, https, join(clone, "cert.pem")),
            `GET / is not 200:\n${server.text()}`,
          );
          assert.doesNotMatch(server.text(), /minserve: (cannot|warning)/, server.text());
          if (command.includes("--open")) {
            assert.match(await readOpened(opener.opened), new RegExp(`:${port}/$`));
          }
        });
      }
      for (const folder of ["uploads", "data"]) {
        assert.ok((await Deno.stat(join(clone, folder))).isDirectory, `${folder} was not created`);
      }
    });
  },
});

// ---------------------------------------------------------------------------
// hash-password at a terminal (issue 12, item 1).

/** hashPassword runs `hash-password` at a terminal whose keyboard is the test's. */
function hashPassword(): SpawnServerOptions {
  return asUser(["--no-prompt"], ["hash-password", "--cost", "4"], {
    terminal: true,
    answers: [],
  });
}

Deno.test({
  name: HAVE_SCRIPT
    ? "hash-password at a terminal asks twice and never shows the password"
    : `hash-password at a terminal: ${NO_SCRIPT}`,
  ignore: !HAVE_SCRIPT,
  async fn(t) {
    const PASSWORD = "sëcret pass";
    await t.step("the same twice: a hash of it", async () => {
      await using run = startMain(hashPassword());
      assert.ok(
        await waitFor(() => run.text().includes("Password: "), STEP_TIMEOUT_MS),
        run.text(),
      );
      await run.type(`${PASSWORD}\r`);
      assert.ok(await waitFor(() => run.text().includes("Again: "), STEP_TIMEOUT_MS), run.text());
      await run.type(`${PASSWORD}\r`);
      assert.equal(await run.exit(), 0, run.text());
      const hash = /^\$2b\$04\$[./A-Za-z0-9]{53}$/m.exec(run.text())?.[0];
      assert.ok(hash !== undefined, run.text());
      assert.ok(bcrypt.compareSync(PASSWORD, hash));
      assert.ok(!run.text().includes("sëcret"), `the password was shown:\n${run.text()}`);
    });
    await t.step("two different ones: one line, no hash", async () => {
      await using run = startMain(hashPassword());
      assert.ok(
        await waitFor(() => run.text().includes("Password: "), STEP_TIMEOUT_MS),
        run.text(),
      );
      await run.type("one\r");
      assert.ok(await waitFor(() => run.text().includes("Again: "), STEP_TIMEOUT_MS), run.text());
      await run.type("two\r");
      assert.equal(await run.exit(), 1, run.text());
      assert.match(run.text(), /minserve: the two passwords differ; nothing hashed/);
      assert.doesNotMatch(run.text(), /\$2b\$|one|two\r?\n/);
    });
  },
});

Deno.test({
  name: HAVE_SCRIPT
    ? "at a terminal, --auth FILE: read of the file is asked for, then every request needs a user"
    : `at a terminal, --auth FILE ${NO_SCRIPT}`,
  ignore: !HAVE_SCRIPT,
  fn: async () => {
    await withCopyOf(FIXTURE_ROOT, async (site, dir) => {
      const users = join(dir, "users.htpasswd");
      await Deno.writeTextFile(users, `ann:${bcrypt.hashSync("pw", 4)}\n`);
      await using server = await spawnServer(asUser(
        ["--allow-net=127.0.0.1", `--allow-read=${site}`],
        [site, "-p", "0", "--auth", users],
        { terminal: true, answers: ["y"] },
      ));
      const port = server.port;
      await untilBanner(server);
      assert.deepEqual(server.prompts(), [`read access to "${users}"`]);
      assert.equal((await get(port, "/hello.txt"))[0], 401);
      const signedIn = await fetch(`http://127.0.0.1:${port}/hello.txt`, {
        headers: { authorization: `Basic ${btoa("ann:pw")}` },
      });
      assert.deepEqual([signedIn.status, await signedIn.text()], [200, "hello, world\n"]);
      assert.match(server.text(), /auth: +HTTP Basic, 1 user \(0 may write\)/);
    });
  },
});

Deno.test("--board-db: the error line names the database's net and the client's env, never the password", async () => {
  await withCopyOf(FIXTURE_ROOT, async (site) => {
    const url = "postgres://minserve:s3cret-pw@db.example:5433/board";
    // runMain passes --no-prompt.
    const flags = ["--allow-net=127.0.0.1", `--allow-read=${site}`];
    const cases: [name: string, extra: string[], env: Record<string, string>, args: string[]][] = [
      ["from the environment", ["--allow-env=MINSERVE_BOARD_DB"], { MINSERVE_BOARD_DB: url }, []],
      ["from the flag", [], {}, ["--board-db", url]],
    ];
    for (const [name, extra, env, args] of cases) {
      const refused = await runAsUser([...flags, ...extra], [site, "--port", "0", ...args], env);
      assert.equal(refused.code, 1, name);
      const text = refused.stderr;
      assert.match(text, /^minserve: cannot connect to the board database at db\.example:5433: /);
      assert.match(text, /--allow-net=127\.0\.0\.1,db\.example:5433 /);
      assert.match(text, /--allow-env=(MINSERVE_BOARD_DB,)?PGPASSWORD,PGAPPNAME /);
      if (name === "from the environment") assert.ok(!text.includes("s3cret-pw"), text);
    }
  });
});
