/**
 * server.ts — the one spawner of the real server for tests:
 * {@linkcode spawnServer} runs `main.ts` as a subprocess with narrow `--allow`
 * flags (or under a pseudo-terminal, or with `--allow-all`) and waits for its
 * "listening on" line; {@linkcode startMain} starts it the same way without
 * waiting, for runs a test talks to first (a prompt at a terminal) or that
 * end by themselves; {@linkcode runMain} runs it to its exit, for start-up
 * errors and subcommands. The raw-socket client is in `client.ts`, the
 * response parser in `parse_responses.ts`; both are re-exported here for the
 * suites that already import them from this module.
 */

import { decode } from "./bytes.ts";
import { join } from "node:path";
import { copy } from "./fs.ts";
import { DENO_JSON, MAIN_TS } from "./paths.ts";

export { rawRequest, type RawRequestOptions } from "./client.ts";
export {
  type Framing,
  type ParsedResponse,
  parseResponses,
  type ParseResponsesOptions,
} from "./parse_responses.ts";

/** How long the server may take to print its "listening on" line. Past this we kill it and throw. */
const START_TIMEOUT_MS = 15_000;
/** How long dispose waits after SIGTERM before sending SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;
/** How long a {@linkcode runMain} run may take before it is killed. */
const RUN_TIMEOUT_MS = 15_000;
/** Where the server listens unless told otherwise: any free port on the IPv4 loopback. */
const DEFAULT_LISTEN_ARGS: readonly string[] = ["--port", "0", "--host", "127.0.0.1"];
/**
 * The banner's first line, e.g. `listening on http://127.0.0.1:8000/`; the
 * URL may be wrapped in colour escapes, and an IPv6 host is in brackets.
 */
const LISTENING_LINE =
  // deno-lint-ignore no-control-regex
  /listening on (?:\x1b\[[0-9;]*m)*(https?):\/\/(\[[^\]\s]+\]|[^\s:/]+):(\d+)\//;
/** The line the shell prints under `script` before it execs the server (see `terminal`). */
const PID_LINE = /^PID (\d+)\r?$/;
/** Terminal escape sequences (colours, cursor moves), removed by `text()`. */
// deno-lint-ignore no-control-regex
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;
/** How often a run with `answers` checks for a prompt to answer. */
const PUMP_MS = 50;
/** How long an answer may go untaken before it is sent again (see `answers`). */
const RESEND_MS = 500;

/** HAVE_SCRIPT tells whether util-linux `script` is here, to give the server a pseudo-terminal. */
export const HAVE_SCRIPT: boolean = (() => {
  try {
    const out = new Deno.Command("script", { args: ["--version"], stdout: "piped", stderr: "null" })
      .outputSync();
    return out.success && decode(out.stdout).includes("util-linux");
  } catch {
    return false;
  }
})();

/** SpawnServerOptions say what the server serves and which permissions it gets. */
export interface SpawnServerOptions {
  /**
   * The document root, passed as the first argument and as `--allow-read`.
   * Absent, no root is passed (the server's default, `./www`, or a
   * subcommand in `args`).
   */
  root?: string;
  /** More command-line arguments, after `root` and the listen arguments. */
  args?: readonly string[];
  /**
   * Where to listen: the arguments after `root`, `--port 0 --host
   * 127.0.0.1` by default. Pass `[]` to test the server's own choice
   * (`MINSERVE_PORT`, the default port), or e.g. `["--port", "0"]`.
   */
  listenArgs?: readonly string[];
  /** The `--allow-net` value, `127.0.0.1` by default (e.g. `[::1]` for `--host ::1`). */
  allowNet?: string;
  /** More flags for `deno run`, e.g. `--v8-flags=…` as `deno task serve` passes them. */
  denoFlags?: readonly string[];
  /** More paths for `--allow-read`, besides `root`. */
  allowRead?: readonly string[];
  /** Paths for `--allow-write`; no write permission at all when absent. */
  allowWrite?: readonly string[];
  /**
   * Environment variables for the child, added to the parent's. Their names
   * are also granted with `--allow-env=NAME,…`, since without that the server
   * could not read them.
   */
  env?: Readonly<Record<string, string>>;
  /** Names removed from the environment the child inherits (which `env` may set again). */
  unsetEnv?: readonly string[];
  /** Run the server under this descriptor limit (soft and hard), through util-linux's `prlimit`. */
  descriptorLimit?: number;
  /** More variable names for `--allow-env`, read by the server but not set here. */
  allowEnv?: readonly string[];
  /**
   * Receives the server's stdout piece by piece as it arrives. When given,
   * stdout is handed here and not kept (`stdoutText()` returns ""), so a
   * server that writes its access log for minutes costs the caller no memory.
   */
  onStdout?: (text: string) => void;
  /**
   * Run with `--allow-all` instead of the narrow `--allow-net`,
   * `--allow-read`, `--allow-write` and `--allow-env` flags, as a careless
   * user would.
   */
  allowAll?: boolean;
  /**
   * Run under util-linux `script` (see {@linkcode HAVE_SCRIPT}), so the
   * server's stdout is a pseudo-terminal; signals go to the server itself.
   */
  terminal?: boolean;
  /**
   * The exact permission flags for `deno run`, as a user would type them
   * (e.g. `["--allow-net=127.0.0.1", "--allow-read=./www"]`, what `deno task
   * serve` grants), instead of those `root`, `allowNet`, `allowRead`,
   * `allowWrite`, `env`, `allowEnv` and `allowAll` would give.
   */
  permissions?: readonly string[];
  /** The child's working directory; the test's own by default. */
  cwd?: string;
  /**
   * The whole command to run instead of `deno run … main.ts …`, e.g. a
   * compiled binary or a README line under `sh -c`; the options that build
   * the `deno run` command are then unused. Under `terminal`, signals go to
   * the command's whole process group, since it may start the server as a
   * child of its own (`deno task`).
   */
  command?: readonly string[];
  /**
   * Gives the test the keyboard (see `type`) and lets Deno prompt for
   * permissions (no `--no-prompt`): under `terminal`, Deno's prompts are
   * answered with these, in order ("y" or "n"). Deno empties the terminal's
   * input after it prints a prompt, so an answer that arrives in between is
   * lost: one not taken within 0.5 s is sent again. Prompts are read from
   * the kept stdout, so not together with `onStdout`.
   */
  answers?: readonly string[];
}

/**
 * ServerProcess is a running `main.ts`. Dispose it (`await using server = …`)
 * to stop it with SIGTERM, then SIGKILL after 5 s, and to wait for its exit and
 * its output pipes, as Deno's test sanitizers require.
 */
export interface ServerProcess extends AsyncDisposable {
  /** The port the server is listening on. */
  readonly port: number;
  /** The host from the "listening on" line, e.g. `127.0.0.1` or `[::1]`. */
  readonly hostname: string;
  /** The scheme from the "listening on" line: `http` or `https`. */
  readonly scheme: string;
  /** The server's origin, e.g. `http://127.0.0.1:41234`, with no trailing slash. */
  readonly url: string;
  /** The child's process id (under `terminal`, that of `script`). */
  readonly pid: number;
  /** Resolves when the child exits. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Whether the child has exited. */
  readonly exited: boolean;
  /** stdoutText returns everything the server has written to stdout so far. */
  stdoutText(): string;
  /** stderrText returns everything the server has written to stderr so far. */
  stderrText(): string;
  /** text returns stdout as a person reads it: terminal escapes and carriage returns removed. */
  text(): string;
  /** prompts lists Deno's permission prompts in stdout, e.g. `read access to "/tmp/x"`, in order. */
  prompts(): string[];
  /**
   * listening waits for the "listening on" line (see {@linkcode startMain});
   * if it does not come within 15 s of the start, or the process exits
   * first, the process is stopped and the Error thrown carries its stdout
   * and stderr.
   */
  listening(): Promise<void>;
  /**
   * exit waits for the process to end by itself and returns its exit code,
   * with its output pipes drained; throws an Error with its output if it is
   * still running after 15 s.
   */
  exit(): Promise<number>;
  /** type sends `text` as keys typed on the terminal; it needs `answers` (throws without). */
  type(text: string): Promise<void>;
  /** signal sends `sig` to the server; it does nothing once the server has exited. */
  signal(sig: Deno.Signal): void;
  /** kill sends SIGKILL; it does nothing once the server has exited. */
  kill(): void;
}

/**
 * spawnServer runs `<repo>/main.ts root --port 0 --host 127.0.0.1 ...args`
 * with `--allow-net=127.0.0.1`, `--allow-read` for `root` and `allowRead`, and
 * `--allow-write` only for `allowWrite` (see {@linkcode SpawnServerOptions}
 * for the rest), then waits for the one stdout line
 * `listening on http://HOST:PORT/`. If it does not come within 15 s, or the
 * server exits first, the child is killed and the thrown Error carries its
 * stdout and stderr. Both pipes are drained in the background for the
 * child's whole life.
 */
export async function spawnServer(options: SpawnServerOptions): Promise<ServerProcess> {
  const server = startMain(options);
  await server.listening();
  return server;
}

/**
 * startMain starts the process {@linkcode spawnServer} would, and returns at
 * once, before any "listening on" line: for runs a test talks to first (a
 * prompt at a terminal, see `answers`) or that end by themselves (await
 * `exit()`). `listening()` waits for the line as spawnServer does; a run that
 * neither prints it nor exits within 15 s is killed. Throws only if the
 * program cannot be spawned (e.g. `command` names none).
 */
export function startMain(options: SpawnServerOptions): ServerProcess {
  const { root, args = [], listenArgs = DEFAULT_LISTEN_ARGS, descriptorLimit } = options;
  const limited = descriptorLimit === undefined
    ? []
    : ["prlimit", `--nofile=${descriptorLimit}:${descriptorLimit}`, "--"];
  const command = options.command ?? [
    ...limited,
    Deno.execPath(),
    ...denoRunFlags(options),
    MAIN_TS,
    ...(root === undefined ? [] : [root]),
    ...listenArgs,
    ...args,
  ];
  const terminal = options.terminal === true;
  // The shell prints its pid and then execs the server, so that pid is the server's own.
  const [program = "", ...programArgs] = terminal
    ? [
      "script",
      "-q",
      "-e",
      "-c",
      `echo PID $$; exec ${command.map(shellQuote).join(" ")}`,
      "/dev/null",
    ]
    : command;
  const child = new Deno.Command(program, {
    args: programArgs,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdin: options.answers === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...childEnv(options),
  }).spawn();
  return new RunningServer(child, {
    terminal,
    onStdout: options.onStdout,
    answers: options.answers,
    group: terminal && options.command !== undefined,
  });
}

/** denoRunFlags are the `deno run` flags `options` ask for, before main.ts. */
function denoRunFlags(options: SpawnServerOptions): string[] {
  const { root, allowNet = "127.0.0.1", allowRead = [], allowWrite, env, allowEnv = [] } = options;
  const flags = ["run", ...(options.answers === undefined ? ["--no-prompt"] : [])];
  flags.push(`--config=${DENO_JSON}`);
  if (options.permissions !== undefined) {
    flags.push(...options.permissions);
  } else if (options.allowAll === true) {
    flags.push("--allow-all");
  } else {
    const read = root === undefined ? allowRead : [root, ...allowRead];
    flags.push(`--allow-net=${allowNet}`);
    if (read.length > 0) flags.push(`--allow-read=${read.join(",")}`);
    if (allowWrite !== undefined) flags.push(`--allow-write=${allowWrite.join(",")}`);
    const envNames = [...Object.keys(env ?? {}), ...allowEnv];
    if (envNames.length > 0) flags.push(`--allow-env=${envNames.join(",")}`);
  }
  return [...flags, ...(options.denoFlags ?? [])];
}

/** childEnv is the `Deno.Command` environment for `options`: `env` added, `unsetEnv` removed. */
function childEnv(
  options: SpawnServerOptions,
): { env?: Record<string, string>; clearEnv?: boolean } {
  const { env, unsetEnv } = options;
  if (unsetEnv === undefined) return env === undefined ? {} : { env: { ...env } };
  const inherited = Deno.env.toObject();
  for (const name of unsetEnv) delete inherited[name];
  return { clearEnv: true, env: { ...inherited, ...env } };
}

/** shellQuote quotes `word` for sh, e.g. `it's` as `'it'\\''s'`; it never throws. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Listening is where a "listening on" line says the server is. */
export interface Listening {
  /** `http` or `https`. */
  scheme: string;
  /** The host as printed, e.g. `127.0.0.1` or `[::1]`. */
  hostname: string;
  /** The port. */
  port: number;
}

/**
 * parseListeningLine reads the server's banner line `listening on
 * http://HOST:PORT/` (the URL possibly in colour escapes, an IPv6 host in
 * brackets) and returns where it listens, or undefined for any other line.
 */
export function parseListeningLine(line: string): Listening | undefined {
  const match = LISTENING_LINE.exec(line);
  if (match === null) return undefined;
  const [, scheme = "", hostname = "", port] = match;
  return { scheme, hostname, port: Number(port) };
}

/** RunningServer implements {@linkcode ServerProcess} around a spawned child. */
class RunningServer implements ServerProcess {
  readonly pid: number;
  readonly status: Promise<Deno.CommandStatus>;
  /** Resolves once the "listening on" line is seen; rejects on timeout or early exit. */
  readonly started: Promise<void>;
  #child: Deno.ChildProcess;
  #exited = false;
  #stdout = "";
  #stderr = "";
  #drained: Promise<unknown>;
  #listening: Listening | undefined;
  /** Under `terminal`, the server's own pid from the PID line; signals go there. */
  #serverPid: number | undefined;
  #terminal: boolean;
  /** Whether signals go to the process group of `#serverPid` (a `command` at a terminal). */
  #group: boolean;
  /** The answers to Deno's prompts (see `answers`); undefined when stdin is not the test's. */
  #answers: readonly string[] | undefined;
  /** The prompt last answered (its index), and when. */
  #sentFor = -1;
  #sentAt = 0;
  #pump: ReturnType<typeof setInterval> | undefined;
  #writes: Promise<void> = Promise.resolve();
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;

  constructor(
    child: Deno.ChildProcess,
    options: {
      terminal: boolean;
      onStdout: ((text: string) => void) | undefined;
      answers: readonly string[] | undefined;
      group: boolean;
    },
  ) {
    const { terminal, onStdout, answers } = options;
    this.#child = child;
    this.#terminal = terminal;
    this.#group = options.group;
    this.#answers = answers;
    this.pid = child.pid;
    this.status = child.status.then((s) => {
      this.#exited = true;
      clearInterval(this.#pump);
      return s;
    });
    if (answers !== undefined) {
      this.#writer = child.stdin.getWriter();
      this.#pump = setInterval(() => this.#answer(), PUMP_MS);
    }
    const started = Promise.withResolvers<void>();
    this.started = started.promise;
    this.started.catch(() => {}); // a run that ends by itself never listens; listening() tells
    const timer = setTimeout(() => {
      started.reject(
        new Error(
          `Cannot start server: no "listening on" line within ${START_TIMEOUT_MS} ms`,
        ),
      );
      this.kill();
    }, START_TIMEOUT_MS);
    this.started.then(() => clearTimeout(timer), () => clearTimeout(timer));

    let pending = ""; // the stdout line not yet ended by "\n"
    const stdoutDone = drain(child.stdout, (text) => {
      if (onStdout === undefined) this.#stdout += text;
      else onStdout(text);
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) this.#checkLine(line, started.resolve);
      this.#answer();
    }).then(() => this.#checkLine(pending, started.resolve));
    const stderrDone = drain(child.stderr, (text) => {
      this.#stderr += text;
    });
    this.#drained = Promise.all([stdoutDone, stderrDone]);
    // Stdout closes when the child exits; no line by then means it never will.
    stdoutDone.then(async () => {
      const status = await this.status;
      started.reject(
        new Error(`Cannot start server: it exited with code ${status.code} before listening`),
      );
    });
  }

  #checkLine(line: string, resolve: () => void): void {
    if (this.#terminal && this.#serverPid === undefined) {
      const pid = PID_LINE.exec(line);
      if (pid !== null) this.#serverPid = Number(pid[1]);
    }
    if (this.#listening !== undefined) return;
    this.#listening = parseListeningLine(line);
    if (this.#listening !== undefined) resolve();
  }

  /**
   * Answers Deno's prompts in order: the next answer goes when more prompts
   * were asked than decided, and again if still undecided after RESEND_MS.
   */
  #answer(): void {
    const answers = this.#answers;
    if (answers === undefined || this.#exited) return;
    const text = this.text();
    const asked = text.match(/Allow\?/g)?.length ?? 0;
    const decided = text.match(/(?:Granted|Denied) \w+ access to/g)?.length ?? 0;
    if (decided >= asked || decided >= answers.length) return;
    if (this.#sentFor === decided && Date.now() - this.#sentAt < RESEND_MS) return;
    this.#sentFor = decided;
    this.#sentAt = Date.now();
    this.#write(`${answers[decided]}\n`);
  }

  /** #write queues `text` for the child's stdin; a write to a child that is gone is dropped. */
  #write(text: string): Promise<void> {
    const bytes = new TextEncoder().encode(text);
    this.#writes = this.#writes.then(() => this.#writer?.write(bytes)).catch(() => {});
    return this.#writes;
  }

  get exited(): boolean {
    return this.#exited;
  }

  get port(): number {
    return this.#listening?.port ?? 0;
  }

  get hostname(): string {
    return this.#listening?.hostname ?? "";
  }

  get scheme(): string {
    return this.#listening?.scheme ?? "";
  }

  get url(): string {
    return `${this.scheme}://${this.hostname}:${this.port}`;
  }

  stdoutText(): string {
    return this.#stdout;
  }

  stderrText(): string {
    return this.#stderr;
  }

  text(): string {
    return this.#stdout.replace(ESCAPES, "").replaceAll("\r", "");
  }

  prompts(): string[] {
    return [...this.text().matchAll(/Deno requests (.+?)\.\n/g)].map((m) => m[1] ?? "");
  }

  async listening(): Promise<void> {
    try {
      await this.started;
    } catch (err) {
      await this[Symbol.asyncDispose]();
      const stderr = this.stderrText();
      throw new Error(
        `${err instanceof Error ? err.message : String(err)}\n--- stdout ---\n${this.#stdout}` +
          `\n--- stderr ---\n${stderr === "" ? "(empty)" : stderr}`,
        { cause: err },
      );
    }
  }

  async exit(): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gaveUp = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), RUN_TIMEOUT_MS);
    });
    const outcome = await Promise.race([this.status, gaveUp]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      throw new Error(`still running after ${RUN_TIMEOUT_MS} ms:\n${this.text()}${this.#stderr}`);
    }
    await this.#drained;
    return outcome.code;
  }

  type(text: string): Promise<void> {
    if (this.#writer === undefined) {
      return Promise.reject(new TypeError("Cannot type: the run was started without answers"));
    }
    return this.#write(text);
  }

  signal(sig: Deno.Signal): void {
    if (this.#exited) return;
    if (this.#serverPid !== undefined) {
      try {
        Deno.kill(this.#group ? -this.#serverPid : this.#serverPid, sig);
      } catch {
        // The server exited between the check and the kill (ESRCH).
      }
      return;
    }
    try {
      this.#child.kill(sig);
    } catch (err) {
      // The child may exit between the check and the kill.
      if (!(err instanceof TypeError)) throw err;
    }
  }

  kill(): void {
    this.signal("SIGKILL");
    if (this.#serverPid === undefined || this.#exited) return;
    try {
      this.#child.kill("SIGKILL"); // and `script` itself
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#exited) {
      this.signal("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const gaveUp = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), STOP_TIMEOUT_MS);
      });
      const outcome = await Promise.race([this.status, gaveUp]);
      clearTimeout(timer);
      if (outcome === "timeout") this.kill();
    }
    await this.status;
    clearInterval(this.#pump);
    await this.#writes;
    await this.#writer?.close().catch(() => {});
    await this.#drained;
    await this.started.catch(() => {});
  }
}

/** RunMainOptions are the permissions and input of a {@linkcode runMain} run. */
export interface RunMainOptions {
  /** Paths for `--allow-read`; no read permission when absent. */
  allowRead?: readonly string[];
  /** The `--allow-net` value; no net permission when absent. */
  allowNet?: string;
  /** Text written to the program's stdin, which is then closed; stdin is null when absent. */
  input?: string;
  /** More flags for `deno run`, after the permissions above, e.g. `--allow-env=NAME`. */
  denoFlags?: readonly string[];
  /** Environment variables for the program, added to the parent's (not granted: see `denoFlags`). */
  env?: Readonly<Record<string, string>>;
  /** The program's working directory; the test's own by default. */
  cwd?: string;
}

/** RunResult is what a finished `main.ts` run printed and how it exited. */
export interface RunResult {
  /** The exit code. */
  code: number;
  /** Everything written to stdout, as UTF-8. */
  stdout: string;
  /** Everything written to stderr, as UTF-8. */
  stderr: string;
}

/**
 * runMain runs `main.ts ...args` with only the permissions `options` grant
 * until it exits, for start-up errors and subcommands, and returns what it
 * printed. The run is killed after 15 s, which rejects with an AbortError.
 */
export async function runMain(
  args: readonly string[],
  options: RunMainOptions = {},
): Promise<RunResult> {
  const flags = ["run", "--no-prompt", `--config=${DENO_JSON}`];
  if (options.allowNet !== undefined) flags.push(`--allow-net=${options.allowNet}`);
  if (options.allowRead !== undefined) flags.push(`--allow-read=${options.allowRead.join(",")}`);
  flags.push(...(options.denoFlags ?? []));
  const child = new Deno.Command(Deno.execPath(), {
    args: [...flags, MAIN_TS, ...args],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: { ...options.env } }),
    stdin: options.input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
  }).spawn();
  if (options.input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.input));
    await writer.close();
  }
  const output = await child.output();
  const text = new TextDecoder();
  return {
    code: output.code,
    stdout: text.decode(output.stdout),
    stderr: text.decode(output.stderr),
  };
}

/** drain reads `stream` to its end as UTF-8 text, handing each piece to `onText`. */
export async function drain(
  stream: ReadableStream<Uint8Array>,
  onText: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stream) onText(decoder.decode(chunk, { stream: true }));
  } catch {
    // A pipe that fails mid-read has nothing more to give; the exit status tells the story.
  }
  const rest = decoder.decode();
  if (rest !== "") onText(rest);
}

/**
 * withTempDir creates a temporary directory, calls `fn` with its real path
 * (symlinks such as macOS's /var → /private/var resolved, so the server's
 * root checks see the same path), and removes the directory and everything in
 * it afterwards, whether `fn` succeeds or throws.
 */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "minserve_test_" }));
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * withCopyOf copies the tree `from` (e.g. `FIXTURE_ROOT`) into `<tmp>/root`
 * of a fresh {@linkcode withTempDir} directory and calls `fn` with that root
 * and the temp dir, which is removed afterwards, whether `fn` succeeds or
 * throws.
 */
export function withCopyOf<T>(
  from: string,
  fn: (root: string, dir: string) => Promise<T>,
): Promise<T> {
  return withTempDir(async (dir) => {
    const root = join(dir, "root");
    await copy(from, root);
    return await fn(root, dir);
  });
}
