/**
 * postgres.ts — a throwaway PostgreSQL cluster for tests: `initdb` into a
 * temporary directory, started on 127.0.0.1 at a free port with its unix
 * socket inside that directory (never the system's), stopped and removed
 * afterwards.
 *
 * Uses Debian's binaries under /usr/lib/postgresql/15/bin (`apt-get install
 * postgresql`; `.ci/run` installs it). PostgreSQL refuses to run as root, so
 * as root the cluster belongs to the `postgres` user and every command runs
 * through `runuser -u postgres`; as anyone else it runs as the current
 * user. Authentication is `trust` for the user `minserve`, on loopback only.
 * Callers check {@linkcode postgresSkipReason} first and skip, saying why,
 * when it returns a reason.
 */

import postgres from "postgres";
import { join } from "node:path";

/** PG_BIN is where Debian's postgresql-15 package puts its programs. */
export const PG_BIN = "/usr/lib/postgresql/15/bin";
/** The database user the cluster is created for. */
const PG_USER = "minserve";
/** How long pg_ctl waits for a start or a stop. */
const PG_CTL_WAIT_S = 30;

/** PgCluster is a running throwaway cluster. Dispose it to stop it and delete its files. */
export interface PgCluster extends AsyncDisposable {
  /** The TCP port on 127.0.0.1. */
  readonly port: number;
  /** url is a connection URL for `database` (created with {@linkcode PgCluster.createDatabase}). */
  url(database: string): string;
  /** createDatabase creates an empty database named `name` (letters, digits, _). */
  createDatabase(name: string): Promise<void>;
  /** query runs one statement in `database` and returns its rows. */
  query(database: string, text: string): Promise<Record<string, unknown>[]>;
  /** stop stops the server (fast shutdown: connections are cut); the files stay. */
  stop(): Promise<void>;
  /** start starts it again on the same port. */
  start(): Promise<void>;
}

/** postgresSkipReason says why a cluster cannot be started here, or undefined when it can. */
export async function postgresSkipReason(): Promise<string | undefined> {
  for (const program of ["initdb", "pg_ctl", "postgres"]) {
    try {
      await Deno.stat(join(PG_BIN, program));
    } catch {
      return `${join(PG_BIN, program)} not found; apt-get install postgresql`;
    }
  }
  if (Deno.uid() === 0 && (await userId("postgres")) === undefined) {
    return "running as root and there is no postgres user to run PostgreSQL as";
  }
  return undefined;
}

/** startPostgres creates and starts a cluster; throws with PostgreSQL's log when it cannot. */
export async function startPostgres(): Promise<PgCluster> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "minserve_pg_" }));
  const asRoot = Deno.uid() === 0;
  if (asRoot) {
    const uid = await userId("postgres");
    if (uid === undefined) throw new Error("Cannot start PostgreSQL as root: no postgres user");
    await Deno.chown(dir, uid.uid, uid.gid);
  }
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  const port = freePort();
  const run = async (program: string, args: string[]) => {
    const path = join(PG_BIN, program);
    const command = asRoot
      ? new Deno.Command("runuser", { args: ["-u", "postgres", "--", path, ...args] })
      : new Deno.Command(path, { args });
    const out = await command.output();
    if (!out.success) {
      let serverLog = "";
      try {
        serverLog = await Deno.readTextFile(log);
      } catch { /* not written yet */ }
      const text = new TextDecoder().decode(out.stderr);
      throw new Error(`Cannot run ${program}: ${text}\n--- server log ---\n${serverLog}`);
    }
  };
  const cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  try {
    // --no-sync only for initdb's own files; the server fsyncs its commits.
    await run("initdb", [
      "-D",
      data,
      "-U",
      PG_USER,
      "--auth=trust",
      "-E",
      "UTF8",
      "--no-sync",
      "--no-instructions",
    ]);
  } catch (err) {
    await cleanup();
    throw err;
  }
  let running = false;
  const start = async () => {
    await run("pg_ctl", [
      "-D",
      data,
      "-l",
      log,
      "-w",
      "-t",
      String(PG_CTL_WAIT_S),
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
      "start",
    ]);
    running = true;
  };
  const stop = async () => {
    if (!running) return;
    await run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", String(PG_CTL_WAIT_S), "stop"]);
    running = false;
  };
  try {
    await start();
  } catch (err) {
    await cleanup();
    throw err;
  }
  const url = (database: string) => `postgres://${PG_USER}@127.0.0.1:${port}/${database}`;
  const query = async (database: string, text: string) => {
    const sql = postgres(url(database), { max: 1, onnotice: () => {} });
    try {
      return [...await sql.unsafe(text)] as Record<string, unknown>[];
    } finally {
      await sql.end();
    }
  };
  return {
    port,
    url,
    query,
    async createDatabase(name) {
      if (!/^\w+$/.test(name)) throw new TypeError(`Cannot create database "${name}"`);
      await query("postgres", `CREATE DATABASE ${name}`);
    },
    stop,
    start,
    async [Symbol.asyncDispose]() {
      try {
        await stop();
      } finally {
        await cleanup();
      }
    },
  };
}

/** freePort asks the OS for a free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** userId looks up a user's uid and gid with `id`. */
async function userId(name: string): Promise<{ uid: number; gid: number } | undefined> {
  const ask = async (flag: string) => {
    const out = await new Deno.Command("id", { args: [flag, name], stderr: "null" }).output()
      .catch(() => undefined);
    if (out === undefined || !out.success) return undefined;
    return Number(new TextDecoder().decode(out.stdout).trim());
  };
  const uid = await ask("-u");
  const gid = await ask("-g");
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}
