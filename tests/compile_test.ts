/**
 * The single-binary story: the module graph bundles into one file that
 * serves the site from any working directory with only its narrow
 * permissions (so nothing reads source files next to the code at run time),
 * and `deno task compile` builds an executable that does the same.
 *
 * `deno compile` needs Deno's runtime (denort), downloaded from Deno's
 * servers unless DENORT_BIN names a local copy. Where neither works, the
 * compile test is skipped, and its name says why; where the download fails,
 * the one-line error for it is tested instead. Bad flags give one line too.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { classifyCompileFailure, runtimeHint } from "../scripts/compile.ts";
import { copy } from "./_support/fs.ts";
import { DENO_JSON, MAIN_TS, REPO_ROOT, WWW_ROOT } from "./_support/paths.ts";
import { spawnServer, withTempDir } from "./_support/server.ts";

const decoder = new TextDecoder();

/** Runs `command` in `cwd`, waits for the banner, GETs `path`, stops it. Returns the body. */
async function serveOnce(
  command: string,
  args: string[],
  cwd: string,
  path: string,
): Promise<string> {
  const server = await spawnServer({ command: [command, ...args], cwd, env: { NO_COLOR: "1" } });
  try {
    assert.equal(`${server.scheme}://${server.hostname}`, "http://127.0.0.1", server.stdoutText());
    const res = await fetch(`${server.url}${path}`);
    return await res.text();
  } finally {
    await server[Symbol.asyncDispose]();
    const status = await server.status;
    assert.ok(
      status.success || status.signal === "SIGTERM",
      `exit ${status.code}: ${server.stderrText()}`,
    );
  }
}

Deno.test("deno bundle: one file that serves from another directory with narrow permissions", async () => {
  await withTempDir(async (dir) => {
    const bundle = join(dir, "minserve.js");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--config", DENO_JSON, "-o", bundle, MAIN_TS],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, decoder.decode(out.stderr));

    const elsewhere = join(dir, "elsewhere");
    await copy(WWW_ROOT, join(elsewhere, "site"));
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

/** CompileProbe is whether `deno compile` works here, and if not, whether for want of its runtime. */
type CompileProbe =
  | { kind: "works" }
  | { kind: "offline"; reason: string }
  | { kind: "broken"; reason: string };

/** Tries to compile a one-line program, and says how it went. */
function probeCompile(): Promise<CompileProbe> {
  return withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "probe.ts"), "console.log('ok');\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["compile", "--no-config", "-o", join(dir, "probe"), join(dir, "probe.ts")],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.success) return { kind: "works" };
    // deno-lint-ignore no-control-regex -- strip the terminal colours from Deno's message
    const text = decoder.decode(out.stderr).replace(/\x1b\[[0-9;]*m/g, "");
    const lines = text.split("\n").map((l) => l.trim());
    const line = lines.find((l) => /error sending request|could not find denort/i.test(l)) ??
      lines.findLast((l) => /error/i.test(l)) ?? "unknown error";
    const reason = `deno compile cannot get its runtime here (${
      line.slice(0, 160)
    }); set DENORT_BIN to a denort binary`;
    const offline = classifyCompileFailure(text).kind === "runtime-download";
    return { kind: offline ? "offline" : "broken", reason };
  });
}

const probe = await probeCompile();
const unavailable = probe.kind === "works" ? undefined : probe.reason;

/** Runs scripts/compile.ts as `deno task compile` does, from the repository. */
async function runCompileScript(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-run", "--allow-env", "scripts/compile.ts", ...args],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
    env,
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** The lines of `text`, without the empty one after its last newline. */
function linesOf(text: string): string[] {
  return text.split("\n").filter((line, i, all) => line !== "" || i < all.length - 1);
}

Deno.test("deno task compile: a bad flag is one line on stderr and exit 1, as for serve", async (t) => {
  const CASES: Array<{ name: string; args: string[]; says: RegExp }> = [
    { name: "unknown flag", args: ["--bogus"], says: /Unknown option '--bogus'/ },
    { name: "port not a number", args: ["--port", "abc"], says: /--port "abc"/ },
    { name: "port out of range", args: ["--port", "70000"], says: /--port "70000"/ },
    { name: "two roots", args: ["a", "b"], says: /more than one ROOT/ },
    { name: "--output without a file", args: ["--output"], says: /--output/ },
    { name: "--output= without a file", args: ["--output="], says: /--output/ },
  ];
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const out = await runCompileScript(c.args);
      assert.equal(out.code, 1, out.stderr);
      const lines = linesOf(out.stderr);
      assert.equal(lines.length, 1, out.stderr);
      assert.match(lines[0]!, /^minserve: /);
      assert.match(lines[0]!, c.says);
      assert.match(lines[0]!, /\(see --help\)$/);
      assert.equal(out.stdout, "", "nothing compiled");
    });
  }
});

Deno.test("deno task compile bakes exactly the permissions the options need", async (t) => {
  const OPENER = Deno.build.os === "darwin"
    ? "open"
    : Deno.build.os === "windows"
    ? "cmd"
    : "xdg-open";
  const CASES: Array<{ name: string; args: string[]; has: string[]; not: RegExp[] }> = [
    {
      name: "plain: read of the root, net for the address, no run",
      args: ["./www"],
      has: ["--allow-read=./www", "--allow-net=127.0.0.1"],
      not: [/--allow-run/, /--allow-write/, /--allow-sys/],
    },
    {
      name: "--open: run of the opener only",
      args: ["./www", "--open"],
      has: [`--allow-run=${OPENER}`],
      not: [/--allow-run=\S*,/, /--allow-write/], // one program, not a list
    },
    {
      name: "--lan: the network interfaces",
      args: ["./www", "--lan"],
      has: ["--allow-sys=networkInterfaces", "--allow-net=0.0.0.0"],
      not: [/--allow-run/],
    },
    {
      name: "--auth FILE: read of that file; an inline user needs nothing",
      args: [
        "./www",
        "--auth",
        "users.htpasswd",
        "--auth",
        "bob:$2b$04$8iMPAy/y.CDb5i1Arz/xVuML07.twuMU0wN2kjFcdiXZew7Hzawx.",
      ],
      has: ["--allow-read=./www,users.htpasswd"],
      not: [/--allow-write/, /--allow-read=\S*bob/],
    },
    {
      name: "--upload-dir: read and write of it, statfs for the free-disk floor",
      args: ["./www", "--upload-dir", "./up"],
      has: ["--allow-read=./www,./up", "--allow-write=./up", "--allow-sys=statfs"],
      not: [/--allow-run/],
    },
    {
      name: "--upload-dir with --min-free-disk 0: no statfs",
      args: ["./www", "--upload-dir", "./up", "--min-free-disk", "0"],
      has: ["--allow-write=./up"],
      not: [/--allow-sys/],
    },
  ];
  for (const c of CASES) {
    await t.step(c.name, async () => {
      await withTempDir(async (dir) => {
        const out = await runCompileScript(["--output", join(dir, "minserve"), ...c.args]);
        // The first line is the deno compile command, printed before it runs
        // (offline it then fails in one line; online it compiles).
        const command = out.stdout.split("\n")[0] ?? "";
        const words = command.split(" ");
        for (const flag of c.has) assert.ok(words.includes(flag), `${flag} in ${command}`);
        for (const pattern of c.not) assert.doesNotMatch(command, pattern);
      });
    });
  }
});

const offlineSkip = Deno.env.get("DENORT_BIN") !== undefined
  ? "DENORT_BIN is set, so Deno does not download its runtime"
  : probe.kind === "works"
  ? "Deno can download its runtime here, so the download cannot fail"
  : probe.kind === "broken"
  ? `deno compile fails here for another reason: ${probe.reason}`
  : undefined;

Deno.test({
  name: `deno task compile offline: one line naming DENORT_BIN, no backtrace${
    offlineSkip ? ` (skipped: ${offlineSkip})` : ""
  }`,
  ignore: offlineSkip !== undefined,
  async fn() {
    await withTempDir(async (dir) => {
      // RUST_BACKTRACE=1 would make Deno print a stack backtrace under its error.
      const out = await runCompileScript(
        ["--output", join(dir, "minserve"), "./www", "--port", "0"],
        { RUST_BACKTRACE: "1" },
      );
      assert.equal(out.code, 1, out.stderr);
      const lines = linesOf(out.stderr);
      assert.equal(lines.length, 1, out.stderr);
      assert.match(lines[0]!, /^minserve: cannot compile: Deno could not download its runtime/);
      assert.match(lines[0]!, /DENORT_BIN=\/path\/to\/denort deno task compile/);
      assert.ok(lines[0]!.includes(`Deno ${Deno.version.deno}`), lines[0]);
      assert.ok(!out.stderr.includes("Stack backtrace"), out.stderr);
    });
  },
});

// What `deno compile` 2.9 writes to stderr when it fails, shortened.
const DNS_FAILURE = "\x1b[0m\x1b[32mCheck\x1b[0m main.ts\n" +
  "\x1b[0m\x1b[32mDownload\x1b[0m https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip\n" +
  "\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: Writing deno compile executable to temporary file 'p.tmp-3cab'\n\n" +
  "Caused by:\n" +
  "    0: Setting up base binary.\n" +
  "    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known\n" +
  "    2: client error (Connect)\n\n" +
  "Stack backtrace:\n   0: <unknown>\n";

const FAILURE_CASES: Array<
  { name: string; stderr: string; want: ReturnType<typeof classifyCompileFailure> }
> = [
  {
    name: "no network: the download of denort fails",
    stderr: DNS_FAILURE,
    want: {
      kind: "runtime-download",
      url: "https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip",
    },
  },
  {
    name: "no such release: an older Deno's 404",
    stderr: "Download https://dl.deno.land/release/v9.9.9/denort-x.zip\n" +
      "Download could not be found, aborting\n",
    want: { kind: "runtime-download", url: "https://dl.deno.land/release/v9.9.9/denort-x.zip" },
  },
  {
    name: "DENORT_BIN names no file: Deno's own words, no backtrace",
    stderr: "error: Writing deno compile executable to temporary file 'ms.tmp-f6'\n\n" +
      "Caused by:\n    0: Could not find denort at '/nonexistent'\n" +
      "    1: No such file or directory (os error 2)\n\nStack backtrace:\n   0: <unknown>\n",
    want: {
      kind: "other",
      message: "error: Writing deno compile executable to temporary file 'ms.tmp-f6'\n\n" +
        "Caused by:\n    0: Could not find denort at '/nonexistent'\n" +
        "    1: No such file or directory (os error 2)",
    },
  },
  {
    name: "downloaded but not cached: not a download failure",
    stderr: "Download https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip\n" +
      "error: Writing deno compile executable to temporary file 'ms.tmp-f6'\n\n" +
      "Caused by:\n    0: Setting up base binary.\n" +
      "    1: Creating /home/u/.cache/deno/dl/release/v2.9.6\n" +
      "    2: Permission denied (os error 13)\n",
    want: {
      kind: "other",
      message:
        "Download https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip\n" +
        "error: Writing deno compile executable to temporary file 'ms.tmp-f6'\n\n" +
        "Caused by:\n    0: Setting up base binary.\n" +
        "    1: Creating /home/u/.cache/deno/dl/release/v2.9.6\n" +
        "    2: Permission denied (os error 13)",
    },
  },
  {
    name: "a type error: shown in full, colours removed",
    stderr: "\x1b[0m\x1b[32mCheck\x1b[0m main.ts\n" +
      "TS2322 [ERROR]: Type 'number' is not assignable to type 'string'.\n" +
      "\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: Type checking failed.\n",
    want: {
      kind: "other",
      message: "Check main.ts\n" +
        "TS2322 [ERROR]: Type 'number' is not assignable to type 'string'.\n" +
        "error: Type checking failed.",
    },
  },
];

Deno.test("classifyCompileFailure: the runtime download, told apart from other failures", async (t) => {
  for (const c of FAILURE_CASES) {
    await t.step(c.name, () => assert.deepEqual(classifyCompileFailure(c.stderr), c.want));
  }
});

Deno.test("runtimeHint: one line naming DENORT_BIN and the Deno version", async (t) => {
  const url = "https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip";
  for (const [name, hintUrl] of [["with the URL", url], ["without it", undefined]] as const) {
    await t.step(name, () => {
      const hint = runtimeHint(hintUrl, "2.9.6");
      assert.ok(!hint.includes("\n"), hint);
      assert.match(hint, /^cannot compile: Deno could not download its runtime \(denort\)/);
      assert.match(hint, /set DENORT_BIN to a denort binary for Deno 2\.9\.6/);
      assert.match(hint, /e\.g\. DENORT_BIN=\/path\/to\/denort deno task compile$/);
      assert.equal(hint.includes(url), hintUrl !== undefined);
    });
  }
});

Deno.test({
  name: `deno task compile: a standalone binary with baked-in permissions${
    unavailable ? ` (skipped: ${unavailable})` : ""
  }`,
  ignore: unavailable !== undefined,
  async fn() {
    await withTempDir(async (dir) => {
      await copy(WWW_ROOT, join(dir, "www"));
      const binary = join(dir, "minserve");
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "task",
          "--config",
          DENO_JSON,
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
