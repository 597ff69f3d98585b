/**
 * main.ts — the command line: arguments and environment → Config →
 * startServer(). The only module that reads Deno.args or Deno.env, or
 * calls Deno.exit.
 *
 *   deno run --allow-net --allow-read=./www main.ts ./www --port 8080
 */

import { dirname, resolve } from "node:path";
import { createApp } from "./lib/app.ts";
import { type Config, parseConfig, USAGE } from "./lib/config.ts";
import { Logger } from "./lib/log.ts";
import { startServer } from "./lib/server.ts";
import { VERSION } from "./lib/version.ts";

/** Variables read when --allow-env grants them; flags win over them. */
const ENV_NAMES = ["MINSERVE_ROOT", "MINSERVE_HOST", "MINSERVE_PORT"];

/** fail prints one line and exits 1: a user error never shows a stack trace. */
function fail(message: string): never {
  console.error(`minserve: ${message}`);
  Deno.exit(1);
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

async function checkRoot(root: string): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(root);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) fail(`cannot serve "${root}": no such directory`);
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      fail(`cannot read "${root}": not permitted (run with --allow-read=${root})`);
    }
    fail(`cannot serve "${root}": ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!info.isDirectory) fail(`cannot serve "${root}": not a directory`);
  return await Deno.realPath(root);
}

/** Warns when the process could read more than its root: permissions are the second wall. */
function permissionWarnings(realRoot: string): string[] {
  const warnings: string[] = [];
  const read = (path?: string) =>
    Deno.permissions.querySync(path === undefined ? { name: "read" } : { name: "read", path })
      .state;
  if (read() === "granted") {
    warnings.push("warning: this process may read any file (e.g. -A); run with --allow-read=ROOT");
  } else if (realRoot !== "/" && read(dirname(realRoot)) === "granted") {
    warnings.push(`warning: this process may read outside its root (${dirname(realRoot)})`);
  }
  if (Deno.permissions.querySync({ name: "write" }).state === "granted") {
    warnings.push("warning: this process may write any file; minserve needs no write access");
  }
  return warnings;
}

function banner(config: Config, realRoot: string, addr: Deno.NetAddr): string {
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return [
    `minserve ${VERSION} listening on http://${host}:${addr.port}/`,
    `  root:     ${realRoot}`,
    `  listing:  ${config.listing ? "on (directories without index.html)" : "off"}`,
    `  dotfiles: ${config.dotfiles ? "served" : "hidden (404)"}`,
    "  symlinks: followed only when they resolve inside the root",
    `  cors:     ${config.cors ? "any origin may read responses" : "off"}`,
  ].join("\n");
}

async function main() {
  let request;
  try {
    request = parseConfig(Deno.args, readEnv());
  } catch (err) {
    fail(`${err instanceof Error ? err.message : String(err)} (see --help)`);
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
  const realRoot = await checkRoot(config.root);
  const logger = new Logger({ access: config.quiet ? null : Deno.stdout });
  const handler = createApp({
    root: resolve(config.root),
    realRoot,
    listing: config.listing,
    dotfiles: config.dotfiles,
    cors: config.cors,
    cacheControl: config.cacheControl,
  });

  let server;
  try {
    server = startServer(config, handler, logger);
  } catch (err) {
    const where = `${config.hostname}:${config.port}`;
    if (err instanceof Deno.errors.AddrInUse) fail(`cannot listen on ${where}: address in use`);
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      fail(`cannot listen on ${where}: run with --allow-net=${config.hostname}`);
    }
    if (err instanceof Deno.errors.AddrNotAvailable) {
      fail(`cannot listen on ${where}: address not available`);
    }
    fail(`cannot listen on ${where}: ${err instanceof Error ? err.message : String(err)}`);
  }

  await logger.info(banner(config, realRoot, server.addr));
  for (const warning of permissionWarnings(realRoot)) logger.error(warning);

  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) Deno.exit(130); // a second Ctrl-C means now
    logger.error("shutting down");
    server.shutdown();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  await server.finished;
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
}

if (import.meta.main) {
  await main();
}
