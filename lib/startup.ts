/**
 * startup.ts — what `main.ts` does once, between checking the permissions
 * and printing the banner: read the files and folders the options name
 * (creating the upload and data folders), size the connection cap from the
 * free descriptors, start the instance (on the next free port when the
 * default one is busy) and the workers; and, after the banner, open the
 * browser. A failure the user can fix is a {@linkcode CommandError}.
 */

import { removeStaleParts } from "./atomic_write.ts";
import { CommandError, messageOf } from "./command_error.ts";
import { type Config, hostPart } from "./config.ts";
import {
  connectionCapFor,
  countFreeDescriptors,
  DEFAULT_MAX_CONNECTIONS,
  DESCRIPTORS_PER_CONNECTION,
  DESCRIPTORS_PER_TLS_CONNECTION,
  type FreeDescriptors,
} from "./descriptor_budget.ts";
import { type AuthUser, checkUnique, parseHtpasswd } from "./htpasswd.ts";
import { type Instance, type InstanceOptions, startInstance } from "./instance.ts";
import type { Opener } from "./opener.ts";
import { startWorkers } from "./workers.ts";

/**
 * When the default port is busy, the next ones are tried: this many in all
 * (8080 to 8099). Past them, start-up fails. A port given with --port or
 * MINSERVE_PORT is never moved.
 */
export const DEFAULT_PORT_TRIES = 20;

const encoder = new TextEncoder();

/** notice prints one line on stdout about something done for the user (a folder made, a port moved). */
export function notice(message: string): void {
  Deno.stdout.writeSync(encoder.encode(`minserve: ${message}\n`));
}

/** warn prints one line on stderr about something not done; serving goes on. */
export function warn(message: string): void {
  Deno.stderr.writeSync(encoder.encode(`minserve: ${message}\n`));
}

/**
 * useDir checks that `dir` is a directory and returns its real path. When it
 * does not exist and `folder` names what it is for, it is created (with its
 * parents; write access to it was ensured) and a line says so. Throws a
 * CommandError naming `what` otherwise.
 */
export async function useDir(what: string, dir: string, folder?: string): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new CommandError(`cannot use ${what} "${dir}": ${messageOf(err)}`);
    }
    if (folder === undefined) {
      throw new CommandError(`cannot use ${what} "${dir}": no such directory`);
    }
    try {
      await Deno.mkdir(dir, { recursive: true });
      info = await Deno.stat(dir);
    } catch (err) {
      throw new CommandError(`cannot create ${what} "${dir}": ${messageOf(err)}`);
    }
    notice(`created ${folder} folder ${dir}`);
  }
  if (!info.isDirectory) throw new CommandError(`cannot use ${what} "${dir}": not a directory`);
  return await Deno.realPath(dir);
}

/**
 * authUsers reads the users --auth names: inline ones as they are, files as
 * htpasswd. Throws a CommandError for a file that cannot be read, a bad line
 * or a user given twice (naming the file, line and user, never a hash).
 */
export function authUsers(config: Pick<Config, "auth">): AuthUser[] {
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
      throw new CommandError(`cannot read --auth "${source.path}": ${messageOf(err)}`);
    }
    try {
      users.push(...parseHtpasswd(text));
    } catch (err) {
      throw new CommandError(`cannot use --auth "${source.path}": ${messageOf(err)}`);
    }
  }
  try {
    checkUnique(users);
  } catch (err) {
    throw new CommandError(`cannot use --auth: ${messageOf(err)}`);
  }
  return users;
}

/** readPem reads the PEM file `file` of `flag`; throws a CommandError naming both. */
function readPem(flag: string, file: string): string {
  try {
    return Deno.readTextFileSync(file);
  } catch (err) {
    throw new CommandError(`cannot read ${flag} "${file}": ${messageOf(err)}`);
  }
}

/**
 * withConnectionCap fills in the default connection cap from the
 * descriptors free at start (counted by opening the root), shared by every
 * worker (one process, one table), and warns when a cap that was given
 * does not fit. Returns the config and the count (undefined on Windows).
 */
export function withConnectionCap(
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

/** Prepared is what {@linkcode prepare} found and made: everything an instance needs. */
export interface Prepared {
  /** The config with the connection cap filled in. */
  config: Config;
  /** What every instance gets: real paths, PEM text, the users. */
  options: InstanceOptions;
  /** The root's real path. */
  realRoot: string;
  /** The descriptors the cap was derived from. */
  free: FreeDescriptors | undefined;
  /** The --auth users, read from files and flags. */
  users: AuthUser[];
}

/**
 * prepare reads and makes what the options name, in order: the --auth
 * users, the root, the connection cap, the certificate and key, the upload
 * folder (torn uploads of a crashed run removed) and the data folder.
 * Throws a CommandError for the first that fails.
 */
export async function prepare(given: Config): Promise<Prepared> {
  const users = authUsers(given);
  const realRoot = await useDir("ROOT", given.root);
  const { config, free } = withConnectionCap(given, realRoot);
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
    throw new CommandError("--workers needs Deno's --unstable-net flag (SO_REUSEPORT)");
  }
  const options: InstanceOptions = {
    realRoot,
    realUploadDir,
    tls,
    reusePort: config.workers > 1,
    authUsers: users,
  };
  return { config, options, realRoot, free, users };
}

/** listenFailure is the CommandError for failing to listen as `config` says, by what `err` was. */
function listenFailure(config: Config, err: unknown): CommandError {
  const where = `${hostPart(config.hostname)}:${config.port}`;
  const cause = { cause: err };
  if (err instanceof Deno.errors.AddrInUse) {
    return new CommandError(`cannot listen on ${where}: address in use`, cause);
  }
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    return new CommandError(
      `cannot listen on ${where}: not permitted (run with --allow-net=${config.hostname})`,
      cause,
    );
  }
  if (err instanceof Deno.errors.AddrNotAvailable) {
    return new CommandError(`cannot listen on ${where}: address not available`, cause);
  }
  if (/unstable-net/.test(messageOf(err))) {
    return new CommandError("--workers needs Deno's --unstable-net flag", cause);
  }
  return new CommandError(`cannot listen on ${where}: ${messageOf(err)}`, cause);
}

/**
 * startOnPort starts the instance on `config.port`; when the port may move
 * and is busy, on the next free one of DEFAULT_PORT_TRIES, saying so.
 * Throws a CommandError when it cannot listen or the board cannot open.
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
      if (err instanceof Error && /board/i.test(err.message)) throw new CommandError(err.message);
      const busy = err instanceof Deno.errors.AddrInUse;
      if (busy && port < last) continue;
      if (busy && port > config.port) {
        throw new CommandError(
          `cannot listen on ${hostPart(config.hostname)}: ports ${config.port} to ${last} are ` +
            "all in use; choose one with --port",
        );
      }
      throw listenFailure({ ...config, port }, err);
    }
  }
}

/** Serving is the running instance and its workers. */
export interface Serving {
  /** The instance of the main isolate, on the port it got. */
  instance: Instance;
  /** The worker isolates serving the same port (none without --workers). */
  workers: Worker[];
}

/**
 * startServing starts the instance (on the next free port when `mayMove`)
 * and `config.workers - 1` workers on the port it got. When a worker fails,
 * the instance is shut down again. Throws a CommandError; `codeDir` is the
 * folder of minserve's code, which workers need to read.
 */
export async function startServing(
  prepared: Prepared,
  options: { mayMove: boolean; codeDir: string },
): Promise<Serving> {
  const { config } = prepared;
  const instance = await startOnPort(config, prepared.options, options.mayMove);
  const port = instance.server.addr.port;
  try {
    const workers = await startWorkers(config.workers - 1, config, {
      ...prepared.options,
      port,
    });
    return { instance, workers };
  } catch (err) {
    await instance.shutdown();
    if (/Requires read access/.test(messageOf(err))) {
      throw new CommandError(
        `--workers needs read access to minserve's own code (add ${options.codeDir} to --allow-read)`,
      );
    }
    throw listenFailure({ ...config, port }, err);
  }
}

/**
 * openBrowser opens `url` with `opener`. Each way this can fail (no opener,
 * no permission to run it, it fails) is one line on stderr, and serving goes
 * on. The permission was asked for with the others, so Deno does not prompt
 * here.
 */
export function openBrowser(url: string, opener: Opener | undefined): void {
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
