/**
 * main.ts — the command line, as a short story: parse the options → make
 * sure of exactly the permissions they need, asking through Deno's own
 * prompt when a person is at the terminal → create the upload and data
 * folders → start, on the next free port when the default one is busy →
 * banner → open the browser (--open). The only module that reads Deno.args
 * or Deno.env, or calls Deno.exit.
 *
 *   deno task serve ./site     # at a terminal, Deno asks for read access to ./site
 *   deno run --allow-net=127.0.0.1 --allow-read=./site main.ts ./site
 */

import { dirname, isAbsolute, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { removeStaleParts } from "./lib/atomic_write.ts";
import { type Instance, type InstanceOptions, startInstance } from "./lib/instance.ts";
import { type Config, DEFAULTS, ENV_NAMES, parseConfig, USAGE } from "./lib/config.ts";
import { type Opener, openerFor } from "./lib/opener.ts";
import { formatSize } from "./lib/static/listing.ts";
import { VERSION } from "./lib/version.ts";

/**
 * When the default port is busy, the next ones are tried: this many in all
 * (8080 to 8099). Past them, start-up fails. A port given with --port or
 * MINSERVE_PORT is never moved.
 */
const DEFAULT_PORT_TRIES = 20;

const encoder = new TextEncoder();

/** fail prints one line and exits 1: a user error never shows a stack trace. */
function fail(message: string): never {
  console.error(`minserve: ${message}`);
  Deno.exit(1);
}

/** notice prints one line on stdout about something done for the user (a folder made, a port moved). */
function notice(message: string): void {
  Deno.stdout.writeSync(encoder.encode(`minserve: ${message}\n`));
}

/** warn prints one line on stderr about something not done; serving goes on. */
function warn(message: string): void {
  Deno.stderr.writeSync(encoder.encode(`minserve: ${message}\n`));
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Reads only the variables we may read, without prompting for more. */
function readEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of ENV_NAMES) {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state === "granted") {
      env[name] = Deno.env.get(name);
    }
  }
  return env;
}

/**
 * portMayMove tells whether the port is the default, chosen by neither
 * --port nor MINSERVE_PORT: only then may minserve move to a free one. The
 * one parser answers: with MINSERVE_PORT=0 beneath the flags, only --port
 * keeps the port from becoming 0.
 */
function portMayMove(
  args: readonly string[],
  env: Record<string, string | undefined>,
  config: Config,
): boolean {
  if (config.port !== DEFAULTS.port || env.MINSERVE_PORT !== undefined) return false;
  const probe = parseConfig([...args], { ...env, MINSERVE_PORT: "0" });
  return probe.kind === "serve" && probe.config.port === 0;
}

// ---------------------------------------------------------------------------
// Permissions: exactly those the options need, asked for one by one.

/** Grant is one permission the options need, as a `--allow-NAME=VALUE` flag would give it. */
interface Grant {
  name: "read" | "write" | "net" | "sys" | "run";
  value: string;
  /** What it lets minserve do, for the error line: `read ROOT "./site"`. */
  action: string;
  /** Whether serving goes on without it, losing only a nicety (the LAN URLs, the browser). */
  optional: boolean;
}

/** The order of the flags in the command that error lines print. */
const FLAG_ORDER: readonly Grant["name"][] = ["net", "read", "write", "sys", "run"];

function descriptorOf(grant: Grant): Deno.PermissionDescriptor {
  switch (grant.name) {
    case "read":
    case "write":
      return { name: grant.name, path: grant.value };
    case "net":
      return { name: "net", host: grant.value };
    case "sys":
      return {
        name: "sys",
        kind: grant.value as NonNullable<Deno.SysPermissionDescriptor["kind"]>,
      };
    case "run":
      return { name: "run", command: grant.value };
  }
}

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(descriptor).state === "granted";
}

/** isWildcard tells whether `hostname` means every interface. */
function isWildcard(hostname: string): boolean {
  return hostname === "0.0.0.0" || hostname === "::";
}

/** hostPart writes `hostname` as a URL or Deno's net permission wants it: IPv6 in brackets. */
function hostPart(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/** grantsFor lists the permissions `config` needs, at their narrowest, in the order they are asked. */
function grantsFor(config: Config, mayMove: boolean, opener: Opener | undefined): Grant[] {
  const grants: Grant[] = [
    { name: "read", value: config.root, action: `read ROOT "${config.root}"`, optional: false },
  ];
  const dirs = [["--upload-dir", config.uploadDir], ["--data-dir", config.dataDir]] as const;
  for (const [flag, dir] of dirs) {
    if (dir === undefined) continue;
    grants.push(
      { name: "read", value: dir, action: `read ${flag} "${dir}"`, optional: false },
      { name: "write", value: dir, action: `write ${flag} "${dir}"`, optional: false },
    );
  }
  if (config.tls !== undefined) {
    const files = [["--cert", config.tls.certFile], ["--key", config.tls.keyFile]] as const;
    for (const [flag, file] of files) {
      grants.push({ name: "read", value: file, action: `read ${flag} "${file}"`, optional: false });
    }
  }
  // A port that may move (or that the OS picks) needs every port of the host; a fixed one, itself.
  const fixed = !mayMove && config.port !== 0;
  const host = hostPart(config.hostname) + (fixed ? `:${config.port}` : "");
  grants.push({ name: "net", value: host, action: `listen on ${host}`, optional: false });
  if (isWildcard(config.hostname)) {
    const action = "list the network URLs";
    grants.push({ name: "sys", value: "networkInterfaces", action, optional: true });
  }
  if (config.uploadDir !== undefined && config.minFreeDiskBytes > 0) {
    // statfs(2), for the free-disk floor of uploads; without it the floor is not checked (warned).
    const action = "read the free disk space (--min-free-disk)";
    grants.push({ name: "sys", value: "statfs", action, optional: true });
  }
  if (opener !== undefined) {
    const action = "open the browser";
    grants.push({ name: "run", value: opener.command, action, optional: true });
  }
  return grants;
}

/**
 * ensurePermissions makes sure minserve holds every grant. A missing one is
 * asked for, through Deno's own prompt and for exactly that permission, when
 * a person is at the terminal. A required one that is still missing ends the
 * program with one line: what could not be done, and the command that grants
 * everything at once. An optional one is left to the banner and --open to
 * explain.
 */
async function ensurePermissions(grants: readonly Grant[], rerun: string): Promise<void> {
  // Deno prompts only when stdin and stderr are both terminals; elsewhere request() denies.
  const canAsk = Deno.stdin.isTerminal() && Deno.stderr.isTerminal();
  for (const grant of grants) {
    const descriptor = descriptorOf(grant);
    if (granted(descriptor)) continue;
    if (canAsk && (await Deno.permissions.request(descriptor)).state === "granted") continue;
    if (!grant.optional) fail(`cannot ${grant.action}: not permitted; run: ${rerun}`);
  }
}

/** shellWord quotes `word` for a POSIX shell unless it is made of safe characters only. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** scriptPath is this module as a user would type it: relative to the working directory when inside it. */
function scriptPath(): string {
  const url = new URL(import.meta.url);
  if (url.protocol !== "file:") return url.href;
  const path = fileURLToPath(url);
  try {
    const rel = relative(Deno.cwd(), path);
    return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
  } catch {
    return path;
  }
}

/**
 * rerunCommand is the one command that runs minserve again with the same
 * `args` and every permission they need: `deno run` with the flags, or for a
 * compiled binary (whose permissions are baked in) `deno task compile`.
 */
function rerunCommand(
  args: readonly string[],
  grants: readonly Grant[],
  env: Record<string, string | undefined>,
): string {
  if (Deno.build.standalone) {
    return ["deno", "task", "compile", ...args].map(shellWord).join(" ");
  }
  const flags = FLAG_ORDER.flatMap((name) => {
    const values = [...new Set(grants.filter((g) => g.name === name).map((g) => g.value))];
    return values.length === 0 ? [] : [`--allow-${name}=${values.join(",")}`];
  });
  const envNames = ENV_NAMES.filter((name) => env[name] !== undefined);
  if (envNames.length > 0) flags.push(`--allow-env=${envNames.join(",")}`);
  return ["deno", "run", ...flags, scriptPath(), ...args].map(shellWord).join(" ");
}

/** Warns when the process could read or write more than it needs: permissions are the second wall. */
function permissionWarnings(config: Config, realRoot: string): string[] {
  const warnings: string[] = [];
  const state = (name: "read" | "write", path?: string) =>
    Deno.permissions.querySync(path === undefined ? { name } : { name, path }).state;
  if (state("read") === "granted") {
    warnings.push("warning: this process may read any file (e.g. -A); run with --allow-read=ROOT");
  } else if (realRoot !== "/" && state("read", dirname(realRoot)) === "granted") {
    warnings.push(`warning: this process may read outside its root (${dirname(realRoot)})`);
  }
  if (state("write") === "granted") {
    warnings.push(
      "warning: this process may write any file; grant --allow-write only to the upload and data dirs",
    );
  } else if (
    config.uploadDir === undefined && config.dataDir === undefined &&
    state("write", realRoot) === "granted"
  ) {
    warnings.push(
      "warning: this process may write into its root; minserve needs no write access there",
    );
  }
  if (
    config.uploadDir !== undefined && config.minFreeDiskBytes > 0 &&
    Deno.permissions.querySync({ name: "sys", kind: "statfs" }).state !== "granted"
  ) {
    warnings.push(
      "warning: free disk space cannot be read (grant --allow-sys=statfs); --min-free-disk is not enforced",
    );
  }
  return warnings;
}

/**
 * grantedSummary states, as Deno reports them now, the permissions minserve
 * holds among those it uses (`everything` when a whole kind is granted): the
 * banner's `deno:` line.
 */
function grantedSummary(grants: readonly Grant[], realRoot: string): string {
  // The root (always the first grant) as its real path, other paths absolute.
  const shown = (g: Grant) =>
    g === grants[0]
      ? realRoot
      : g.name === "read" || g.name === "write"
      ? resolve(g.value)
      : g.value;
  const held = (name: Grant["name"]) =>
    grants.filter((g) => g.name === name && granted(descriptorOf(g))).map(shown);
  const parts = [
    `read: ${granted({ name: "read" }) ? "everything" : held("read").join(", ") || "none"}`,
    `write: ${granted({ name: "write" }) ? "everything" : held("write").join(", ") || "none"}`,
    `net: ${granted({ name: "net" }) ? "any" : held("net").join(", ") || "none"}`,
  ];
  for (const name of ["sys", "run"] as const) {
    const values = granted({ name }) ? ["any"] : held(name);
    if (values.length > 0 && grants.some((g) => g.name === name)) {
      parts.push(`${name}: ${values.join(", ")}`);
    }
  }
  return parts.join("; ");
}

// ---------------------------------------------------------------------------
// Folders and files the options name.

/**
 * useDir checks that `dir` is a directory and returns its real path. When it
 * does not exist and `folder` names what it is for, it is created (with its
 * parents; write access to it was ensured) and a line says so.
 */
async function useDir(what: string, dir: string, folder?: string): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      fail(`cannot use ${what} "${dir}": ${messageOf(err)}`);
    }
    if (folder === undefined) fail(`cannot use ${what} "${dir}": no such directory`);
    try {
      await Deno.mkdir(dir, { recursive: true });
      info = await Deno.stat(dir);
    } catch (err) {
      fail(`cannot create ${what} "${dir}": ${messageOf(err)}`);
    }
    notice(`created ${folder} folder ${dir}`);
  }
  if (!info.isDirectory) fail(`cannot use ${what} "${dir}": not a directory`);
  return await Deno.realPath(dir);
}

function readPem(flag: string, file: string): string {
  try {
    return Deno.readTextFileSync(file);
  } catch (err) {
    fail(`cannot read ${flag} "${file}": ${messageOf(err)}`);
  }
}

// ---------------------------------------------------------------------------
// The banner, and the browser.

/** Colour only on a terminal, and never under NO_COLOR (https://no-color.org). */
function painter(env: Record<string, string | undefined>) {
  const on = Deno.stdout.isTerminal() && (env.NO_COLOR ?? "") === "";
  return {
    bold: (s: string) => (on ? `\x1b[1m${s}\x1b[22m` : s),
    green: (s: string) => (on ? `\x1b[32m${s}\x1b[39m` : s),
    yellow: (s: string) => (on ? `\x1b[33m${s}\x1b[39m` : s),
  };
}

/** The network URLs for --lan, when --allow-sys=networkInterfaces lets us list them. */
function lanUrls(scheme: string, port: number): string[] {
  if (!granted({ name: "sys", kind: "networkInterfaces" })) {
    return ["(run with --allow-sys=networkInterfaces to list the network URLs)"];
  }
  return Deno.networkInterfaces()
    .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
    .map((i) => `${scheme}://${i.address}:${port}/`);
}

/** localUrl is the URL to visit on this machine: localhost for a server on every interface. */
function localUrl(config: Config, addr: Deno.NetAddr): string {
  const host = isWildcard(addr.hostname) ? "localhost" : hostPart(addr.hostname);
  return `${config.tls ? "https" : "http"}://${host}:${addr.port}/`;
}

function banner(
  config: Config,
  realRoot: string,
  addr: Deno.NetAddr,
  permissions: string,
  env: Record<string, string | undefined>,
): string {
  const paint = painter(env);
  const lines = [
    `minserve ${VERSION} listening on ${paint.green(paint.bold(localUrl(config, addr)))}`,
  ];
  if (isWildcard(addr.hostname)) {
    lines.push(paint.yellow(`  exposed on every interface (${addr.hostname}):`));
    for (const url of lanUrls(config.tls ? "https" : "http", addr.port)) lines.push(`    ${url}`);
  }
  lines.push(
    `  root:     ${realRoot}`,
    `  listing:  ${config.listing ? "on (directories without index.html)" : "off"}`,
    `  dotfiles: ${config.dotfiles ? "served" : "hidden (404)"}`,
    "  symlinks: followed only when they resolve inside the root",
    `  uploads:  ${
      config.uploadDir === undefined
        ? "off"
        : `POST/PUT /uploads/NAME into ${config.uploadDir}${
          config.uploadToken ? " (token required)" : ""
        }, ${formatSize(config.maxUploadBytes)} per file, quota ${
          formatSize(config.uploadQuotaBytes)
        }, ${formatSize(config.minFreeDiskBytes)} kept free`
    }`,
    `  board:    ${config.dataDir === undefined ? "off" : `/board, stored in ${config.dataDir}`}`,
    `  cors:     ${config.cors ? "any origin may read responses" : "off"}`,
  );
  if (config.live) lines.push("  live:     on (pages reload when files under the root change)");
  lines.push(`  deno:     ${permissions}`);
  return lines.join("\n");
}

/**
 * openBrowser opens `url` with `opener`. Each way this can fail (no opener,
 * no permission to run it, it fails) is one line on stderr, and serving goes
 * on. The permission was asked for with the others, so Deno does not prompt
 * here.
 */
function openBrowser(url: string, opener: Opener | undefined): void {
  if (opener === undefined) {
    return warn(`cannot open a browser on ${Deno.build.os}; open ${url} yourself`);
  }
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(opener.command, {
      args: opener.args(url),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch (err) {
    // Deno looks the program up before it checks the permission.
    if (err instanceof Deno.errors.NotFound) {
      return warn(`cannot open the browser: no ${opener.command} here; open ${url} yourself`);
    }
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return warn(`to open the browser, run with --allow-run=${opener.command}; or open ${url}`);
    }
    return warn(`cannot open the browser: ${messageOf(err)}; open ${url} yourself`);
  }
  // An opener may live as long as the browser it starts: it must not hold up shutdown.
  child.unref();
  child.status.then((status) => {
    if (!status.success) {
      warn(`cannot open the browser: ${opener.command} exited with code ${status.code}`);
    }
  });
}

/** Messages between main and worker isolates (--workers). */
type ToWorker =
  | { kind: "start"; config: Config; options: InstanceOptions }
  | { kind: "shutdown" };
type FromWorker = { kind: "ready" } | { kind: "failed"; message: string } | { kind: "done" };

/** A worker isolate: start one more instance on the shared port, stop when told. */
function runWorker(
  scope: { onmessage: unknown; postMessage(message: FromWorker): void; close(): void },
) {
  let instance: Instance | undefined;
  scope.onmessage = async (event: MessageEvent<ToWorker>) => {
    const message = event.data;
    if (message.kind === "start") {
      try {
        instance = await startInstance(message.config, message.options);
        scope.postMessage({ kind: "ready" });
      } catch (err) {
        scope.postMessage({ kind: "failed", message: messageOf(err) });
      }
    } else {
      await instance?.shutdown();
      scope.postMessage({ kind: "done" });
      scope.close();
    }
  };
}

/** Starts `count` worker isolates running this same module; resolves once all listen. */
async function startWorkers(
  count: number,
  config: Config,
  options: InstanceOptions,
): Promise<Worker[]> {
  const workers: Worker[] = [];
  for (let i = 0; i < count; i++) {
    // This module is its own worker script, so a bundle or a compiled
    // binary carries the worker with it.
    const worker = new Worker(import.meta.url, { type: "module" });
    const ready = new Promise<void>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        if (event.data.kind === "ready") resolve();
        if (event.data.kind === "failed") reject(new Error(event.data.message));
      };
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
    });
    worker.postMessage({ kind: "start", config, options } satisfies ToWorker);
    await ready;
    workers.push(worker);
  }
  return workers;
}

/** Tells every worker to shut down and waits (at most `graceMs`) for each to finish. */
async function stopWorkers(workers: Worker[], graceMs: number) {
  await Promise.all(workers.map((worker) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        worker.terminate();
        resolve();
      }, graceMs);
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        if (event.data.kind !== "done") return;
        clearTimeout(timer);
        worker.terminate();
        resolve();
      };
      worker.postMessage({ kind: "shutdown" } satisfies ToWorker);
    })
  ));
}

// ---------------------------------------------------------------------------
// Starting.

function listenFailure(config: Config, err: unknown): never {
  const where = `${hostPart(config.hostname)}:${config.port}`;
  if (err instanceof Deno.errors.AddrInUse) fail(`cannot listen on ${where}: address in use`);
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    fail(`cannot listen on ${where}: not permitted (run with --allow-net=${config.hostname})`);
  }
  if (err instanceof Deno.errors.AddrNotAvailable) {
    fail(`cannot listen on ${where}: address not available`);
  }
  if (/unstable-net/.test(messageOf(err))) fail("--workers needs Deno's --unstable-net flag");
  fail(`cannot listen on ${where}: ${messageOf(err)}`);
}

/**
 * startOnPort starts the instance on `config.port`; when the port may move
 * and is busy, on the next free one of DEFAULT_PORT_TRIES, saying so.
 */
async function startOnPort(
  config: Config,
  options: InstanceOptions,
  mayMove: boolean,
): Promise<Instance> {
  const last = mayMove ? config.port + DEFAULT_PORT_TRIES - 1 : config.port;
  for (let port = config.port;; port++) {
    try {
      const instance = await startInstance(config, { ...options, port });
      if (port !== config.port) notice(`port ${config.port} is busy; using ${port}`);
      return instance;
    } catch (err) {
      if (err instanceof Error && /board/i.test(err.message)) fail(err.message);
      const busy = err instanceof Deno.errors.AddrInUse;
      if (busy && port < last) continue;
      if (busy && port > config.port) {
        fail(
          `cannot listen on ${hostPart(config.hostname)}: ports ${config.port} to ${last} are ` +
            "all in use; choose one with --port",
        );
      }
      listenFailure({ ...config, port }, err);
    }
  }
}

async function main() {
  const args = Deno.args;
  const env = readEnv();
  let request;
  try {
    request = parseConfig(args, env);
  } catch (err) {
    fail(`${messageOf(err)} (see --help)`);
  }
  if (request.kind === "help") {
    console.log(USAGE);
    return;
  }
  if (request.kind === "version") {
    console.log(`minserve ${VERSION}`);
    return;
  }
  const config = request.config;

  const mayMove = portMayMove(args, env, config);
  const opener = config.open ? openerFor(Deno.build.os) : undefined;
  const grants = grantsFor(config, mayMove, opener);
  await ensurePermissions(grants, rerunCommand(args, grants, env));

  const realRoot = await useDir("ROOT", config.root);
  const tls = config.tls && {
    cert: readPem("--cert", config.tls.certFile),
    key: readPem("--key", config.tls.keyFile),
  };
  let realUploadDir: string | undefined;
  if (config.uploadDir !== undefined) {
    realUploadDir = await useDir("--upload-dir", config.uploadDir, "upload");
    await removeStaleParts(config.uploadDir); // torn uploads of a crashed run
  }
  if (config.dataDir !== undefined) await useDir("--data-dir", config.dataDir, "data");

  if (
    config.workers > 1 &&
    typeof (Deno as { listenDatagram?: unknown }).listenDatagram !== "function"
  ) {
    // Deno exits at once, with its own message, if reusePort is used without it.
    fail("--workers needs Deno's --unstable-net flag (SO_REUSEPORT)");
  }
  const options: InstanceOptions = { realRoot, realUploadDir, tls, reusePort: config.workers > 1 };
  const instance = await startOnPort(config, options, mayMove);
  const addr = instance.server.addr;
  let workers: Worker[] = [];
  try {
    workers = await startWorkers(config.workers - 1, config, { ...options, port: addr.port });
  } catch (err) {
    await instance.shutdown();
    if (/Requires read access/.test(messageOf(err))) {
      const code = dirname(new URL(import.meta.url).pathname);
      fail(`--workers needs read access to minserve's own code (add ${code} to --allow-read)`);
    }
    listenFailure({ ...config, port: addr.port }, err);
  }

  // Signals are handled before the banner says we are ready, so a
  // supervisor's SIGTERM right after it still shuts down gracefully.
  let stopping: Promise<unknown> | undefined;
  const stop = () =>
    stopping ??= Promise.all([
      instance.shutdown(),
      stopWorkers(workers, config.shutdownGraceSeconds * 1000 + 1000),
    ]);
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) Deno.exit(130); // a second Ctrl-C means now
    Deno.stderr.writeSync(encoder.encode("minserve: shutting down\n"));
    void stop();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);

  const permissions = grantedSummary(grants, realRoot);
  await Deno.stdout.write(encoder.encode(banner(config, realRoot, addr, permissions, env) + "\n"));
  for (const warning of permissionWarnings(config, realRoot)) warn(warning);
  if (config.open) openBrowser(localUrl(config, addr), opener);

  await instance.server.finished;
  await stop();
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
}

declare const WorkerGlobalScope: { new (): unknown } | undefined;

if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  runWorker(self as unknown as Parameters<typeof runWorker>[0]);
} else if (import.meta.main) {
  await main();
}
