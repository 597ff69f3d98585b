/**
 * server.ts — ① the accept loop: listens, caps the number of connections,
 * sweeps their deadlines, and shuts down gracefully.
 *
 * `startServer(config, handler)` is minserve's public API: it serves any
 * Fetch-API handler `(request) => Response`, as `Deno.serve` does, on
 * minserve's own HTTP/1.1 engine.
 */

import {
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_REQUEST_TIMEOUT_SECONDS,
  DEFAULT_SHUTDOWN_GRACE_SECONDS,
} from "./defaults.ts";
import { Connection, type ConnectionSettings, type ResponseCounter } from "./connection.ts";
import { DEFAULT_MAX_CONNECTIONS } from "./descriptor_budget.ts";
import { errorResponse } from "./error_page.ts";
import type { FastPath, Handler } from "./http/handler.ts";
import { HttpError, isClientGone } from "./http/http_error.ts";
import { DEFAULT_HEAD_LIMITS } from "./http/request_head.ts";
import { writeResponse } from "./http/response_writer.ts";
import { Logger } from "./log.ts";
import { TlsTunnels } from "./tls_tunnel.ts";
import { VERSION } from "./version.ts";

export type { FastPath, Handler, ServeInfo } from "./http/handler.ts";

/** ServerOptions are the settings `startServer` reads; a full `Config` satisfies it. */
export interface ServerOptions {
  hostname: string;
  port: number;
  quiet?: boolean;
  /** Connections served at once (default 1024); `main.ts` lowers the default to what the free descriptors allow. */
  maxConnections?: number | undefined;
  /** Connections one client address may hold at once; half of maxConnections (at least 8) when undefined. */
  maxConnectionsPerClient?: number | undefined;
  /** The four below default to those of the command line (DEFAULTS in config.ts). */
  maxBodyBytes?: number;
  idleTimeoutSeconds?: number;
  requestTimeoutSeconds?: number;
  shutdownGraceSeconds?: number;
  /** PEM certificate and key: serve HTTPS through `Deno.listenTls`. */
  tls?: { cert: string; key: string };
  /**
   * Answers what it can from a parsed head without building a Request (the
   * app's static fast path); a handler made by `createApp` carries one as
   * `handler.fastPath`, used when this is absent.
   */
  fastPath?: FastPath;
  /** Share the port with other listeners (SO_REUSEPORT; Deno needs --unstable-net). */
  reusePort?: boolean;
  /** Told of every response and connection, when given (--metrics). */
  counter?: ServerCounter | undefined;
}

/** ServerCounter is told of each response and of each connection opened, closed or refused. */
export interface ServerCounter extends ResponseCounter {
  /** connectionOpened: a connection was admitted. */
  connectionOpened(): void;
  /** connectionClosed: an admitted connection closed or was displaced. */
  connectionClosed(): void;
  /** connectionRefused: a newcomer got 503 (or, over HTTPS, was closed) at a cap. */
  connectionRefused(): void;
}

/** SERVER_NAME is the `Server` field of every response. */
export const SERVER_NAME = `minserve/${VERSION}`;

/** Server is a running server. */
export interface Server {
  /** The address actually bound (port 0 resolved). */
  readonly addr: Deno.NetAddr;
  /** Resolves once the server has shut down and every connection is closed. */
  readonly finished: Promise<void>;
  /** Stops accepting, lets in-flight responses finish (within the grace period), closes the rest. */
  shutdown(): Promise<void>;
}

/** SWEEP_INTERVAL_MS is how often connection deadlines are checked; timeouts are this precise. */
export const SWEEP_INTERVAL_MS = 250;
/** MIN_CONNECTIONS_PER_CLIENT: the per-address share is never below this (a browser opens six per host). */
export const MIN_CONNECTIONS_PER_CLIENT = 8;
/** ACCEPT_BACKOFF_MS: after an accept error other than shutdown (e.g. out of descriptors), wait this long. */
export const ACCEPT_BACKOFF_MS = 100;

/**
 * perClientCapFor is how many connections one client address may hold:
 * `given`, or half of `maxConnections` (at least 8). One address holding
 * every slot, with idle or half-sent connections, would lock everyone else
 * out.
 */
export function perClientCapFor(maxConnections: number, given?: number): number {
  return given ?? Math.max(MIN_CONNECTIONS_PER_CLIENT, Math.floor(maxConnections / 2));
}

/**
 * startServer listens on `options.hostname:port` and serves `handler` on
 * every connection. It throws at once if the address cannot be bound
 * (`Deno.errors.AddrInUse`, a missing permission, …).
 */
export function startServer(
  options: ServerOptions,
  handler: Handler,
  logger: Logger = new Logger({ access: options.quiet ? null : Deno.stdout }),
): Server {
  const { listener, tunnels } = listen(options);
  const settings = connectionSettings(options, handler);
  const counter = options.counter;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const admission = new Admission(
    maxConnections,
    perClientCapFor(maxConnections, options.maxConnectionsPerClient),
    counter,
  );
  const graceMs = (options.shutdownGraceSeconds ?? DEFAULT_SHUTDOWN_GRACE_SECONDS) * 1000;
  let stopping = false;
  const sweeper = setInterval(() => admission.sweep(Date.now()), SWEEP_INTERVAL_MS);

  async function acceptLoop() {
    while (!stopping) {
      const conn = await acceptOne(listener, logger, () => stopping);
      if (conn === null) break;
      if (conn !== undefined) take(conn);
    }
  }

  function take(conn: Deno.Conn) {
    const client = (conn.remoteAddr as Deno.NetAddr).hostname;
    if (!admission.admits(client)) {
      counter?.connectionRefused();
      // An HTTPS newcomer is closed at once: a 503 would cost the tunnel
      // and handshake that the cap is there to spare.
      if (tunnels) close(conn);
      else void refuse(conn, logger);
      return;
    }
    const connection = new Connection(
      tunnels ? tunnels.wrap(conn) : conn,
      handler,
      settings,
      logger,
    );
    admission.add(connection, client);
    connection.serve().finally(() => admission.release(connection));
  }

  const accepting = acceptLoop();
  let shuttingDown: Promise<void> | undefined;
  const { promise: finished, resolve: finish } = Promise.withResolvers<void>();

  function shutdown(): Promise<void> {
    shuttingDown ??= (async () => {
      stopping = true;
      close(listener);
      await accepting;
      await tunnels?.close();
      await admission.closeAll(graceMs);
      clearInterval(sweeper);
      await logger.flush();
      finish();
    })();
    return shuttingDown;
  }

  return { addr: listener.addr as Deno.NetAddr, finished, shutdown };
}

/**
 * listen binds `options.hostname:port` (sharing the port with
 * `options.reusePort`) and, for HTTPS, starts the tunnels to a private TLS
 * listener, so that a handshake that never ends can still be closed
 * (tls_tunnel.ts). Throws what `Deno.listen` or a bad certificate throws,
 * with nothing left open.
 */
function listen(options: ServerOptions): { listener: Deno.Listener; tunnels?: TlsTunnels } {
  const shared = options.reusePort ? { reusePort: true } : {};
  const listener = Deno.listen({ hostname: options.hostname, port: options.port, ...shared });
  if (!options.tls) return { listener };
  try {
    return { listener, tunnels: new TlsTunnels(options.tls) };
  } catch (err) {
    close(listener);
    throw err;
  }
}

/**
 * acceptOne waits for the next connection and returns it; null once the
 * listener is closed (or `stopping()` says so); undefined after a failure
 * worth trying again: a client that reset before the accept costs nothing,
 * and anything else (out of descriptors, say) is logged and paused for
 * ACCEPT_BACKOFF_MS, so that it cannot spin.
 */
async function acceptOne(
  listener: Deno.Listener,
  logger: Logger,
  stopping: () => boolean,
): Promise<Deno.Conn | null | undefined> {
  try {
    return await listener.accept();
  } catch (err) {
    if (
      stopping() || err instanceof Deno.errors.BadResource ||
      err instanceof Deno.errors.Interrupted
    ) return null;
    if (isClientGone(err)) return undefined;
    logger.error("accept failed", err);
    await new Promise((resolve) => setTimeout(resolve, ACCEPT_BACKOFF_MS));
    return undefined;
  }
}

/**
 * connectionSettings takes the server's options and handler and returns
 * what every connection is given: limits and timeouts (the command line's
 * defaults where unset), the scheme, and the handler's fast path if any.
 */
function connectionSettings(options: ServerOptions, handler: Handler): ConnectionSettings {
  return {
    headLimits: DEFAULT_HEAD_LIMITS,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    idleTimeoutMs: (options.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS) * 1000,
    requestTimeoutMs: (options.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS) * 1000,
    serverName: SERVER_NAME,
    scheme: options.tls ? "https" : "http",
    fastPath: options.fastPath ?? (handler as { fastPath?: FastPath }).fastPath,
    counter: options.counter,
  };
}

/**
 * Admission holds the open connections, each with its client's address,
 * and decides whether a newcomer may have one more: within its address's
 * share, and under the global cap, or at the cap by taking the place of the
 * connection that has waited longest for a request.
 */
class Admission {
  #max: number;
  #maxPerClient: number;
  #counter: ServerCounter | undefined;
  #connections = new Map<Connection, string>();
  #perClient = new Map<string, number>();

  constructor(max: number, maxPerClient: number, counter: ServerCounter | undefined) {
    this.#max = max;
    this.#maxPerClient = maxPerClient;
    this.#counter = counter;
  }

  /** admits tells whether a newcomer from `client` may be served now, displacing a waiting connection at the cap. */
  admits(client: string): boolean {
    if ((this.#perClient.get(client) ?? 0) >= this.#maxPerClient) return false;
    return this.#connections.size < this.#max || this.#evictOne();
  }

  /** add counts `connection`, just admitted, against its client's share and the cap. */
  add(connection: Connection, client: string): void {
    this.#perClient.set(client, (this.#perClient.get(client) ?? 0) + 1);
    this.#counter?.connectionOpened();
    this.#connections.set(connection, client);
  }

  /** release forgets a connection that closed or was evicted; the first call counts. */
  release(connection: Connection): void {
    const client = this.#connections.get(connection);
    if (client === undefined) return;
    this.#counter?.connectionClosed();
    this.#connections.delete(connection);
    const left = (this.#perClient.get(client) ?? 1) - 1;
    if (left === 0) this.#perClient.delete(client);
    else this.#perClient.set(client, left);
  }

  /** sweep expires every connection whose deadline is before `now` (ms since the epoch). */
  sweep(now: number): void {
    for (const connection of this.#connections.keys()) {
      if (now > connection.deadline) connection.expire();
    }
  }

  /**
   * closeAll asks every connection to finish its response and close, waits
   * up to `graceMs` for them, aborts the rest, and resolves once all are
   * released.
   */
  async closeAll(graceMs: number): Promise<void> {
    for (const connection of this.#connections.keys()) connection.shutdown();
    const deadline = Date.now() + graceMs;
    while (this.#connections.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    for (const connection of this.#connections.keys()) connection.abort();
    while (this.#connections.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /**
   * At the global cap, a newcomer takes the place of the connection that has
   * waited longest for a request: idle between requests, or still sending
   * its head. Such a connection has nothing in progress, so closing it loses
   * nothing but a slot; a slowloris or a parked keep-alive cannot keep a
   * newcomer out. Returns false when every connection is busy (then the
   * newcomer gets 503).
   */
  #evictOne(): boolean {
    let victim: Connection | undefined;
    for (const connection of this.#connections.keys()) {
      const phase = connection.phase;
      if (phase !== "idle" && phase !== "head") continue;
      if (victim === undefined || connection.since < victim.since) victim = connection;
    }
    if (victim === undefined) return false;
    victim.abort();
    this.release(victim);
    return true;
  }
}

/**
 * refuse answers a plain-HTTP connection past the cap with a fast 503
 * (Retry-After: 1), logs it, and closes it; it gives the client a second at
 * most. Never rejects.
 */
async function refuse(conn: Deno.Conn, logger: Logger): Promise<void> {
  const timer = setTimeout(() => close(conn), 1000);
  try {
    const reply = errorResponse(new HttpError(503, undefined, { headers: { "retry-after": "1" } }));
    const result = await writeResponse(conn, reply, {
      head: false,
      minor: 1,
      keepAlive: false,
      server: SERVER_NAME,
    });
    const remote = (conn.remoteAddr as Deno.NetAddr).hostname;
    logger.access({ remote, requestLine: "-", status: 503, bytes: result.bodyBytes });
  } catch {
    // The client left already.
  } finally {
    clearTimeout(timer);
    close(conn);
  }
}

function close(closer: { close(): void }) {
  try {
    closer.close();
  } catch {
    // Already closed.
  }
}
