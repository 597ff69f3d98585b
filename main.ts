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
import {
  type Config,
  DEFAULTS,
  ENV_NAMES,
  parseConfig,
  POSTGRES_ENV_NAMES,
  USAGE,
} from "./lib/config.ts";
import {
  connectionCapFor,
  countFreeDescriptors,
  DEFAULT_MAX_CONNECTIONS,
  DESCRIPTORS_PER_CONNECTION,
  DESCRIPTORS_PER_TLS_CONNECTION,
  type FreeDescriptors,
} from "./lib/descriptor_budget.ts";
import { perClientCapFor } from "./lib/server.ts";
import { type AuthUser, checkUnique, parseHtpasswd } from "./lib/htpasswd.ts";
import { type Opener, openerFor } from "./lib/opener.ts";
import { qrTerminal } from "./lib/qr.ts";
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
  name: "read" | "write" | "net" | "sys" | "run" | "env";
  value: string;
  /** What it lets minserve do, for the error line: `read ROOT "./site"`. */
  action: string;
  /** Whether serving goes on without it, losing only a nicety (the LAN URLs, the browser). */
  optional: boolean;
}

/** The order of the flags in the command that error lines print. */
const FLAG_ORDER: readonly Grant["name"][] = ["net", "read", "write", "sys", "run", "env"];

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
    case "env":
      return { name: "env", variable: grant.value };
  }
}

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(descriptor).state === "granted";
}

/** isWildcard tells whether `hostname` means every interface. */
function isWildcard(hostname: string): boolean {
  return hostname === "0.0.0.0" || hostname === "::";
}

/** isLoopback tells whether `hostname` is a loopback address, where credentials never cross a network. */
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** boardDbHost is the board database's `host:port` (never its user or password), when it is PostgreSQL. */
function boardDbHost(config: Config): string | undefined {
  if (config.boardDb === undefined) return undefined;
  const url = new URL(config.boardDb);
  return `${url.hostname}:${url.port === "" ? "5432" : url.port}`;
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
  for (const source of config.auth) {
    if (source.kind !== "file") continue;
    const action = `read --auth "${source.path}"`;
    grants.push({ name: "read", value: source.path, action, optional: false });
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
  if (config.tls !== undefined && host !== "127.0.0.1") {
    // HTTPS is tunnelled to a private TLS listener on loopback (lib/tls_tunnel.ts).
    const action = "tunnel HTTPS through 127.0.0.1";
    grants.push({ name: "net", value: "127.0.0.1", action, optional: false });
  }
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
  if (config.metrics !== undefined) {
    const { hostname, port } = config.metrics;
    const value = hostPart(hostname) + (port === 0 ? "" : `:${port}`);
    grants.push({ name: "net", value, action: `listen on ${value} (--metrics)`, optional: false });
  }
  const db = boardDbHost(config);
  if (db !== undefined) {
    const action = `connect to the board database at ${db}`;
    grants.push({ name: "net", value: db, action, optional: false });
    // What the PostgreSQL client reads besides its options.
    for (const name of POSTGRES_ENV_NAMES) {
      grants.push({ name: "env", value: name, action: `read ${name}`, optional: false });
    }
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
  const envNames = ENV_NAMES.filter((name) => env[name] !== undefined);
  const flags = FLAG_ORDER.flatMap((name) => {
    const values = [...new Set(grants.filter((g) => g.name === name).map((g) => g.value))];
    if (name === "env") values.unshift(...envNames);
    return values.length === 0 ? [] : [`--allow-${name}=${values.join(",")}`];
  });
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

/**
 * authUsers reads the users --auth names: inline ones as they are, files as
 * htpasswd. A file that cannot be read, a bad line or a user given twice
 * ends the program with one line (naming the file, line and user, never a
 * hash).
 */
function authUsers(config: Config): AuthUser[] {
  const users: AuthUser[] = [];
  for (const source of config.auth) {
    if (source.kind === "user") {
      users.push(source.user);
      continue;
    }
    let text: string;
    try {
      text = Deno.readTextFileSync(source.path);
    } catch (err) {
      fail(`cannot read --auth "${source.path}": ${messageOf(err)}`);
    }
    try {
      users.push(...parseHtpasswd(text));
    } catch (err) {
      fail(`cannot use --auth "${source.path}": ${messageOf(err)}`);
    }
  }
  try {
    checkUnique(users);
  } catch (err) {
    fail(`cannot use --auth: ${messageOf(err)}`);
  }
  return users;
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
    on,
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

/** BannerFacts is what the banner tells beyond the config: found at start, not configured. */
interface BannerFacts {
  realRoot: string;
  /** The address bound (the port resolved). */
  addr: Deno.NetAddr;
  /** What Deno granted of what minserve uses (grantedSummary). */
  permissions: string;
  env: Record<string, string | undefined>;
  /** The descriptors the connection cap was derived from. */
  free: FreeDescriptors | undefined;
  /** The --auth users, and how many of them may write. */
  users: number;
  writers: number;
  /** Where --metrics listens. */
  metricsAddr: Deno.NetAddr | undefined;
}

/** banner is what minserve prints once it listens: where, what it serves, and what it may do. */
function banner(config: Config, facts: BannerFacts): string {
  const { realRoot, addr, permissions, env, free, users, writers, metricsAddr } = facts;
  const paint = painter(env);
  const lines = [
    `minserve ${VERSION} listening on ${paint.green(paint.bold(localUrl(config, addr)))}`,
  ];
  let shared = isWildcard(addr.hostname) ? undefined : localUrl(config, addr);
  if (isWildcard(addr.hostname)) {
    lines.push(paint.yellow(`  exposed on every interface (${addr.hostname}):`));
    for (const url of lanUrls(config.tls ? "https" : "http", addr.port)) {
      lines.push(`    ${url}`);
      if (shared === undefined && url.includes("://")) shared = url;
    }
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
    `  board:    ${
      config.boardDb !== undefined
        ? `/board, stored in PostgreSQL at ${boardDbHost(config)}`
        : config.dataDir === undefined
        ? "off"
        : `/board, stored in ${config.dataDir}`
    }`,
    `  cors:     ${config.cors ? "any origin may read responses" : "off"}`,
  );
  if (config.live) lines.push("  live:     on (pages reload when files under the root change)");
  const max = config.maxConnections ?? 0;
  lines.push(
    `  conns:    at most ${max} at once, ${
      perClientCapFor(max, config.maxConnectionsPerClient)
    } per client address${descriptorNote(free)}`,
  );
  if (users > 0) {
    lines.push(
      `  auth:     HTTP Basic, ${users} user${users === 1 ? "" : "s"} (${writers} may write)${
        config.uploadToken ? "; uploads also take the token" : ""
      }`,
    );
  }
  lines.push("  health:   /healthz (alive), /readyz (root readable, board reachable)");
  if (metricsAddr !== undefined) {
    lines.push(`  metrics:  http://${hostPart(metricsAddr.hostname)}:${metricsAddr.port}/metrics`);
  }
  lines.push(`  deno:     ${permissions}`);
  // --lan is for phones on the network: the URL to give them, as a QR code.
  if (config.lan && shared !== undefined) {
    lines.push(`  scan to open ${shared}`, ...qrTerminal(shared, { color: paint.on }));
  }
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

/**
 * withConnectionCap fills in the default connection cap from the
 * descriptors free at start (counted by opening the root), shared by every
 * worker (one process, one table), and warns when a cap that was given
 * does not fit.
 */
function withConnectionCap(
  config: Config,
  realRoot: string,
): { config: Config; free: FreeDescriptors | undefined } {
  // Windows has no small per-process descriptor table to run out of.
  const free = Deno.build.os === "windows" ? undefined : countFreeDescriptors(realRoot);
  const perConnection = config.tls ? DESCRIPTORS_PER_TLS_CONNECTION : DESCRIPTORS_PER_CONNECTION;
  const fits = free === undefined
    ? undefined
    : connectionCapFor(free.free, config.workers, perConnection);
  if (config.maxConnections === undefined) {
    return { config: { ...config, maxConnections: fits ?? DEFAULT_MAX_CONNECTIONS }, free };
  }
  if (free !== undefined && !free.atLeast && config.maxConnections > fits!) {
    warn(
      `warning: --max-connections ${config.maxConnections} needs more descriptors than the ` +
        `${free.free} free (${fits}${config.workers > 1 ? " per worker" : ""} fit); ` +
        "past them accepts fail instead of a quick 503",
    );
  }
  return { config, free };
}

/** descriptorNote says, for the banner, how many descriptors the cap was derived from. */
function descriptorNote(free: FreeDescriptors | undefined): string {
  if (free === undefined) return "";
  return ` (${free.atLeast ? "at least " : ""}${free.free} descriptors free)`;
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
  if (request.kind === "hash-password") return await hashPasswordCommand(request.cost);

  const mayMove = portMayMove(args, env, request.config);
  const opener = request.config.open ? openerFor(Deno.build.os) : undefined;
  const grants = grantsFor(request.config, mayMove, opener);
  await ensurePermissions(grants, rerunCommand(args, grants, env));

  const users = authUsers(request.config);
  const realRoot = await useDir("ROOT", request.config.root);
  const { config, free } = withConnectionCap(request.config, realRoot);
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
  const options: InstanceOptions = {
    realRoot,
    realUploadDir,
    tls,
    reusePort: config.workers > 1,
    authUsers: users,
  };
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
  const facts: BannerFacts = {
    realRoot,
    addr,
    permissions,
    env,
    free,
    users: users.length,
    writers: users.filter((u) => u.role === "rw").length,
    metricsAddr: instance.metricsServer?.addr,
  };
  await Deno.stdout.write(encoder.encode(banner(config, facts) + "\n"));
  for (const warning of permissionWarnings(config, realRoot)) warn(warning);
  if (users.length > 0 && config.tls === undefined && !isLoopback(addr.hostname)) {
    warn(
      `warning: --auth over plain HTTP on ${addr.hostname}: passwords cross the network readable; ` +
        "use --cert and --key (HTTPS)",
    );
  }
  if (config.open) openBrowser(localUrl(config, addr), opener);

  await instance.server.finished;
  await stop();
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
}

// ---------------------------------------------------------------------------
// minserve hash-password

/** MAX_PASSWORD_INPUT_BYTES bounds what hash-password reads from a pipe; bcrypt reads 72 bytes. */
const MAX_PASSWORD_INPUT_BYTES = 64 * 1024;

/**
 * hashPasswordCommand prints the bcrypt hash of a password read from stdin:
 * at a terminal asked twice without echo, from a pipe its first line. It
 * needs no permission.
 */
async function hashPasswordCommand(cost: number): Promise<void> {
  let password: string;
  if (Deno.stdin.isTerminal()) {
    password = await readHidden("Password: ");
    if (password !== await readHidden("Again: ")) fail("the two passwords differ; nothing hashed");
  } else {
    const bytes = await readStdin(MAX_PASSWORD_INPUT_BYTES);
    password = new TextDecoder().decode(bytes).split("\n")[0]!.replace(/\r$/, "");
  }
  // bcrypt is loaded only for this command and for --auth.
  const { hashPassword } = await import("./lib/auth.ts");
  try {
    console.log(await hashPassword(password, cost));
  } catch (err) {
    fail(messageOf(err));
  }
}

/** readStdin reads stdin to its end, at most `max` bytes. */
async function readStdin(max: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of Deno.stdin.readable) {
    chunks.push(chunk);
    total += chunk.length;
    if (total > max) fail(`cannot hash the password: more than ${max} bytes on stdin`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * readHidden asks `prompt` on stderr and reads one line from the terminal
 * in raw mode, so the password is not shown. Backspace deletes a
 * character; Ctrl-C ends the program.
 */
async function readHidden(prompt: string): Promise<string> {
  // Raw before the prompt: what is typed once the prompt shows must never echo.
  Deno.stdin.setRaw(true);
  Deno.stderr.writeSync(encoder.encode(prompt));
  const bytes: number[] = [];
  const buf = new Uint8Array(64);
  try {
    for (;;) {
      const n = await Deno.stdin.read(buf);
      if (n === null) break;
      let done = false;
      for (const b of buf.subarray(0, n)) {
        if (b === 0x0d || b === 0x0a || b === 0x04) {
          done = true;
          break;
        }
        if (b === 0x03) {
          Deno.stdin.setRaw(false);
          Deno.stderr.writeSync(encoder.encode("\n"));
          Deno.exit(130);
        }
        if (b === 0x7f || b === 0x08) {
          // One character back: UTF-8 continuation bytes, then its lead byte.
          while (bytes.length > 0 && (bytes.at(-1)! & 0xc0) === 0x80) bytes.pop();
          bytes.pop();
        } else if (b >= 0x20) bytes.push(b);
      }
      if (done) break;
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

declare const WorkerGlobalScope: { new (): unknown } | undefined;

if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  runWorker(self as unknown as Parameters<typeof runWorker>[0]);
} else if (import.meta.main) {
  await main();
}
