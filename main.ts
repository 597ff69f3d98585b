/**
 * main.ts — the command line: arguments and environment → Config →
 * startServer(). The only module that reads Deno.args or Deno.env, or
 * calls Deno.exit.
 *
 *   deno run --allow-net --allow-read=./www main.ts ./www --port 8080
 */

import { dirname } from "node:path";
import { removeStaleParts } from "./lib/atomic_write.ts";
import { type Instance, type InstanceOptions, startInstance } from "./lib/instance.ts";
import { type Config, ENV_NAMES, parseConfig, USAGE } from "./lib/config.ts";
import { VERSION } from "./lib/version.ts";

/** fail prints one line and exits 1: a user error never shows a stack trace. */
function fail(message: string): never {
  console.error(`minserve: ${message}`);
  Deno.exit(1);
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

/** Checks that `dir` is a directory we may read (and write); returns its real path. */
async function checkDir(what: string, dir: string, write: boolean): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) fail(`cannot use ${what} "${dir}": no such directory`);
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      fail(`cannot read ${what} "${dir}": not permitted (run with --allow-read=${dir})`);
    }
    fail(`cannot use ${what} "${dir}": ${messageOf(err)}`);
  }
  if (!info.isDirectory) fail(`cannot use ${what} "${dir}": not a directory`);
  if (write && Deno.permissions.querySync({ name: "write", path: dir }).state !== "granted") {
    fail(`cannot write ${what} "${dir}": not permitted (run with --allow-write=${dir})`);
  }
  return await Deno.realPath(dir);
}

function readPem(flag: string, file: string): string {
  try {
    return Deno.readTextFileSync(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      fail(`cannot read ${flag} "${file}": not permitted (run with --allow-read=…,${file})`);
    }
    fail(`cannot read ${flag} "${file}": ${messageOf(err)}`);
  }
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
  return warnings;
}

/** The effective permissions, as Deno reports them, for the banner. */
function effectivePermissions(config: Config, realRoot: string): string {
  const granted = (d: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(d).state === "granted";
  const parts = [granted({ name: "read" }) ? "read: everything" : `read: ${realRoot}`];
  const writable = [config.uploadDir, config.dataDir].filter((d): d is string => d !== undefined);
  parts.push(
    granted({ name: "write" })
      ? "write: everything"
      : writable.length > 0
      ? `write: ${writable.join(", ")}`
      : "write: none",
  );
  parts.push(granted({ name: "net" }) ? "net: any" : `net: ${config.hostname}`);
  return parts.join("; ");
}

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
  const state = Deno.permissions.querySync({ name: "sys", kind: "networkInterfaces" }).state;
  if (state !== "granted") {
    return ["(run with --allow-sys=networkInterfaces to list the network URLs)"];
  }
  return Deno.networkInterfaces()
    .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
    .map((i) => `${scheme}://${i.address}:${port}/`);
}

function banner(
  config: Config,
  realRoot: string,
  addr: Deno.NetAddr,
  env: Record<string, string | undefined>,
): string {
  const paint = painter(env);
  const scheme = config.tls ? "https" : "http";
  const wildcard = addr.hostname === "0.0.0.0" || addr.hostname === "::";
  const shown = wildcard ? "localhost" : addr.hostname;
  const host = shown.includes(":") ? `[${shown}]` : shown;
  const lines = [
    `minserve ${VERSION} listening on ${
      paint.green(paint.bold(`${scheme}://${host}:${addr.port}/`))
    }`,
  ];
  if (wildcard) {
    lines.push(paint.yellow(`  exposed on every interface (${addr.hostname}):`));
    for (const url of lanUrls(scheme, addr.port)) lines.push(`    ${url}`);
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
        }`
    }`,
    `  board:    ${config.dataDir === undefined ? "off" : `/board, stored in ${config.dataDir}`}`,
    `  cors:     ${config.cors ? "any origin may read responses" : "off"}`,
    `  deno:     ${effectivePermissions(config, realRoot)}`,
  );
  return lines.join("\n");
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

function listenFailure(config: Config, err: unknown): never {
  const where = `${config.hostname}:${config.port}`;
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

async function main() {
  const env = readEnv();
  let request;
  try {
    request = parseConfig(Deno.args, env);
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
  const realRoot = await checkDir("root", config.root, false);
  const tls = config.tls && {
    cert: readPem("--cert", config.tls.certFile),
    key: readPem("--key", config.tls.keyFile),
  };
  let realUploadDir: string | undefined;
  if (config.uploadDir !== undefined) {
    realUploadDir = await checkDir("--upload-dir", config.uploadDir, true);
    await removeStaleParts(config.uploadDir); // torn uploads of a crashed run
  }
  if (config.dataDir !== undefined) await checkDir("--data-dir", config.dataDir, true);

  if (
    config.workers > 1 &&
    typeof (Deno as { listenDatagram?: unknown }).listenDatagram !== "function"
  ) {
    // Deno exits at once, with its own message, if reusePort is used without it.
    fail("--workers needs Deno's --unstable-net flag (SO_REUSEPORT)");
  }
  const options: InstanceOptions = { realRoot, realUploadDir, tls, reusePort: config.workers > 1 };
  let instance: Instance;
  try {
    instance = await startInstance(config, options);
  } catch (err) {
    if (err instanceof Error && /board/i.test(err.message)) fail(err.message);
    listenFailure(config, err);
  }
  let workers: Worker[] = [];
  try {
    workers = await startWorkers(config.workers - 1, config, {
      ...options,
      port: instance.server.addr.port,
    });
  } catch (err) {
    await instance.shutdown();
    if (/Requires read access/.test(messageOf(err))) {
      const code = dirname(new URL(import.meta.url).pathname);
      fail(`--workers needs read access to minserve's own code (add ${code} to --allow-read)`);
    }
    listenFailure(config, err);
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
    Deno.stderr.writeSync(new TextEncoder().encode("minserve: shutting down\n"));
    void stop();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);

  const out = new TextEncoder();
  await Deno.stdout.write(out.encode(banner(config, realRoot, instance.server.addr, env) + "\n"));
  for (const warning of permissionWarnings(config, realRoot)) {
    Deno.stderr.writeSync(out.encode(`minserve: ${warning}\n`));
  }
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
