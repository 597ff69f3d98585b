/**
 * main.ts — the command line, as a short story: parse the options → make
 * sure of exactly the permissions they need, asking through Deno's own
 * prompt when a person is at the terminal → start (the folders, the port,
 * the workers) → banner → open the browser (--open). The only module that
 * reads Deno.args or Deno.env, or calls Deno.exit.
 *
 *   deno task serve ./site     # at a terminal, Deno asks for read access to ./site
 *   deno run --allow-net=127.0.0.1 --allow-read=./site main.ts ./site
 *
 * The chapters live below it: lib/config.ts (the options table),
 * lib/permissions.ts, lib/startup.ts, lib/workers.ts, lib/banner.ts and
 * lib/hash_password.ts.
 */

import { dirname } from "node:path";
import { authWarning, banner, localUrl } from "./lib/banner.ts";
import { CommandError, messageOf } from "./lib/command_error.ts";
import { type Config, ENV_NAMES, parseConfig, portMayMove, USAGE } from "./lib/config.ts";
import { hashPasswordCommand } from "./lib/hash_password.ts";
import { openerFor } from "./lib/opener.ts";
import {
  grantedSummary,
  grantsFor,
  missingGrant,
  permissionWarnings,
  rerunCommand,
  scriptPath,
} from "./lib/permissions.ts";
import { openBrowser, prepare, type Serving, startServing, warn } from "./lib/startup.ts";
import { VERSION } from "./lib/version.ts";
import { inWorker, stopWorkers } from "./lib/workers.ts";

/** fail prints one line and exits 1: a user error never shows a stack trace. */
function fail(message: string, code = 1): never {
  if (message !== "") console.error(`minserve: ${message}`);
  Deno.exit(code);
}

/** readEnv reads only the variables we may read, without prompting for more. */
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
 * serve is the story of one run: the permissions `config` needs (asked
 * for, or one line with the command that grants them), start, banner,
 * browser; then it waits until the server has shut down.
 */
async function serve(
  config: Config,
  args: readonly string[],
  env: Record<string, string | undefined>,
) {
  const mayMove = portMayMove(args, env, config);
  const opener = config.open ? openerFor(Deno.build.os) : undefined;
  const grants = grantsFor(config, { portMayMove: mayMove, opener: opener?.command });
  // Deno prompts only when stdin and stderr are both terminals; elsewhere request() denies.
  const missing = await missingGrant(grants, Deno.stdin.isTerminal() && Deno.stderr.isTerminal());
  if (missing !== undefined) {
    const rerun = rerunCommand(args, grants, {
      envNames: ENV_NAMES.filter((name) => env[name] !== undefined),
      script: scriptPath(import.meta.url),
      standalone: Deno.build.standalone,
    });
    fail(`cannot ${missing.action}: not permitted; run: ${rerun}`);
  }

  const prepared = await prepare(config);
  const codeDir = dirname(new URL(import.meta.url).pathname);
  const serving = await startServing(prepared, { mayMove, codeDir });
  const stop = stopOnSignals(serving, prepared.config);

  const { realRoot, users } = prepared;
  const { addr } = serving.instance.server;
  const facts = {
    realRoot,
    addr,
    permissions: grantedSummary(grants, realRoot),
    noColor: env.NO_COLOR,
    free: prepared.free,
    users: users.length,
    writers: users.filter((u) => u.role === "rw").length,
    metricsAddr: serving.instance.metricsServer?.addr,
  };
  await Deno.stdout.write(new TextEncoder().encode(banner(prepared.config, facts) + "\n"));
  for (const warning of permissionWarnings(config, realRoot)) warn(warning);
  const plainAuth = authWarning(config, addr, users.length);
  if (plainAuth !== undefined) warn(plainAuth);
  if (config.open) openBrowser(localUrl(config, addr), opener);

  await serving.instance.server.finished;
  await stop();
}

/**
 * stopOnSignals shuts everything down gracefully on SIGINT or SIGTERM (a
 * second one exits at once). Signals are handled before the banner says we
 * are ready, so a supervisor's SIGTERM right after it still shuts down
 * gracefully. Returns the stop function, which also removes the listeners.
 */
function stopOnSignals(serving: Serving, config: Config): () => Promise<unknown> {
  let stopping: Promise<unknown> | undefined;
  const stop = () =>
    stopping ??= Promise.all([
      serving.instance.shutdown(),
      stopWorkers(serving.workers, config.shutdownGraceSeconds * 1000 + 1000),
    ]);
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) Deno.exit(130); // a second Ctrl-C means now
    Deno.stderr.writeSync(new TextEncoder().encode("minserve: shutting down\n"));
    void stop();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  return async () => {
    await stop();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  };
}

/** main parses the command line and does what it asks: help, version, hash-password or serve. */
async function main() {
  const args = Deno.args;
  const env = readEnv();
  let request;
  try {
    request = parseConfig(args, env);
  } catch (err) {
    fail(`${messageOf(err)} (see --help)`);
  }
  try {
    if (request.kind === "help") console.log(USAGE);
    else if (request.kind === "version") console.log(`minserve ${VERSION}`);
    else if (request.kind === "hash-password") await hashPasswordCommand(request.cost);
    else await serve(request.config, args, env);
  } catch (err) {
    if (err instanceof CommandError) fail(err.message, err.code);
    throw err;
  }
}

// In a bundle this module is also the workers' script (lib/workers.ts): there it stays still.
if (import.meta.main && !inWorker()) await main();
