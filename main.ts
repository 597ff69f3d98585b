/**
 * main.ts — the command line: arguments and environment → Config →
 * startServer(). The only module that reads Deno.args or Deno.env, or
 * calls Deno.exit.
 *
 *   deno run --allow-net --allow-read=./www main.ts ./www --port 8080
 */

import { dirname, resolve } from "node:path";
import { createApp } from "./lib/app.ts";
import { removeStaleParts } from "./lib/atomic_write.ts";
import { type Config, ENV_NAMES, parseConfig, USAGE } from "./lib/config.ts";
import { Logger } from "./lib/log.ts";
import { Board } from "./lib/pages/board.ts";
import { FORM_OVERHEAD_BYTES } from "./lib/pages/upload.ts";
import { createUploads } from "./lib/pages/upload.ts";
import { SERVER_NAME, startServer } from "./lib/server.ts";
import { FileCache } from "./lib/static/file_cache.ts";
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

  let uploads;
  if (config.uploadDir !== undefined) {
    const realDir = await checkDir("--upload-dir", config.uploadDir, true);
    await removeStaleParts(config.uploadDir); // torn uploads of a crashed run
    uploads = createUploads({
      dir: resolve(config.uploadDir),
      realDir,
      maxBytes: config.maxUploadBytes,
      ...(config.uploadToken === undefined ? {} : { token: config.uploadToken }),
    });
  }
  let board: Board | undefined;
  if (config.dataDir !== undefined) {
    await checkDir("--data-dir", config.dataDir, true);
    try {
      board = Board.open(config.dataDir);
    } catch (err) {
      fail(messageOf(err));
    }
  }

  const logger = new Logger({
    access: config.quiet ? null : Deno.stdout,
    format: config.logFormat,
  });
  const handler = createApp({
    root: resolve(config.root),
    realRoot,
    listing: config.listing,
    dotfiles: config.dotfiles,
    cors: config.cors,
    cacheControl: config.cacheControl,
    headers: config.headers,
    spa: config.spa,
    ...(uploads ? { uploads } : {}),
    ...(board ? { board: (request: Request) => board.handle(request) } : {}),
  });

  // The engine's body cap must let the largest upload (and a form around it) through.
  const maxBodyBytes = uploads
    ? Math.max(config.maxBodyBytes, config.maxUploadBytes + FORM_OVERHEAD_BYTES)
    : config.maxBodyBytes;
  let server;
  try {
    const { tls: _files, ...settings } = config;
    const cache = new FileCache(SERVER_NAME);
    server = startServer(
      { ...settings, maxBodyBytes, cache, ...(tls ? { tls } : {}) },
      handler,
      logger,
    );
  } catch (err) {
    const where = `${config.hostname}:${config.port}`;
    if (err instanceof Deno.errors.AddrInUse) fail(`cannot listen on ${where}: address in use`);
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      fail(`cannot listen on ${where}: not permitted (run with --allow-net=${config.hostname})`);
    }
    if (err instanceof Deno.errors.AddrNotAvailable) {
      fail(`cannot listen on ${where}: address not available`);
    }
    fail(`cannot listen on ${where}: ${messageOf(err)}`);
  }

  // Signals are handled before the banner says we are ready, so a
  // supervisor's SIGTERM right after it still shuts down gracefully.
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) Deno.exit(130); // a second Ctrl-C means now
    logger.error("shutting down");
    server.shutdown();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);

  await logger.info(banner(config, realRoot, server.addr, env));
  for (const warning of permissionWarnings(config, realRoot)) logger.error(warning);
  await server.finished;
  board?.close();
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
}

if (import.meta.main) {
  await main();
}
