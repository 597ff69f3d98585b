/**
 * descriptor_budget.ts — how many connections fit in the descriptors the
 * process may still open (RLIMIT_NOFILE).
 *
 * A connection holds its socket, and while it streams a file or writes an
 * upload, one more descriptor. Past the limit `accept` itself fails, and a
 * newcomer waits in the kernel's backlog instead of getting a quick `503`.
 * So the default cap is derived from the descriptors free at start, leaving
 * room for the listener, the log, the board's database and the watcher.
 *
 * Deno raises the soft limit to the hard one at start, so what is free then
 * is the most the process will ever have. Deno 2.9 refuses to read
 * /proc/self/limits without --allow-all and has no getrlimit, so the free
 * descriptors are counted by opening one directory the process may read
 * (the root) until the kernel says no or there are enough for the default
 * cap: about 50 ms once at start, and all of them closed again.
 */

/** DESCRIPTORS_PER_CONNECTION: a socket, plus a file while one streams. */
export const DESCRIPTORS_PER_CONNECTION = 2;
/** DESCRIPTORS_PER_TLS_CONNECTION: three sockets (tls_tunnel.ts), plus a file. */
export const DESCRIPTORS_PER_TLS_CONNECTION = 4;
/** RESERVED_DESCRIPTORS are kept for everything else: listener, log, database, watcher, workers. */
export const RESERVED_DESCRIPTORS = 64;
/** DEFAULT_MAX_CONNECTIONS is the default cap when descriptors are plenty. */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** MIN_CONNECTIONS: the derived cap is never below this, however few descriptors are free. */
export const MIN_CONNECTIONS = 16;
/** ENOUGH_DESCRIPTORS: with this many free, the default cap fits; counting stops there. */
export const ENOUGH_DESCRIPTORS = RESERVED_DESCRIPTORS +
  DEFAULT_MAX_CONNECTIONS * DESCRIPTORS_PER_CONNECTION;

/** FreeDescriptors is how many descriptors could be opened, and whether counting stopped at enough. */
export interface FreeDescriptors {
  free: number;
  /** True when counting stopped at ENOUGH_DESCRIPTORS: at least that many are free. */
  atLeast: boolean;
}

/**
 * connectionCapFor is the default connection cap with `free` descriptors,
 * shared by `workers` serving isolates (one process, one table), each
 * connection taking `perConnection` (4 over HTTPS: tls_tunnel.ts). Returns
 * a count from {@linkcode MIN_CONNECTIONS} to
 * {@linkcode DEFAULT_MAX_CONNECTIONS}; never throws.
 */
export function connectionCapFor(
  free: number,
  workers = 1,
  perConnection = DESCRIPTORS_PER_CONNECTION,
): number {
  const fits = Math.floor((free - RESERVED_DESCRIPTORS) / perConnection / Math.max(1, workers));
  return Math.min(DEFAULT_MAX_CONNECTIONS, Math.max(MIN_CONNECTIONS, fits));
}

/**
 * countFreeDescriptors opens `path` (a directory or file this process may
 * read) until the descriptor limit stops it or `enough` are open, closes
 * them all, and says how many it opened; undefined when an error other
 * than the limit stopped it (the path cannot be opened, say). Never throws.
 */
export function countFreeDescriptors(
  path: string,
  enough = ENOUGH_DESCRIPTORS,
): FreeDescriptors | undefined {
  const opened: Deno.FsFile[] = [];
  try {
    while (opened.length < enough) opened.push(Deno.openSync(path));
  } catch (err) {
    // EMFILE (this process) or ENFILE (the system): the limit.
    if (!(err instanceof Error && /\(os error 2[34]\)/.test(err.message))) return undefined;
  } finally {
    for (const file of opened) file.close();
  }
  return { free: opened.length, atLeast: opened.length >= enough };
}
