/**
 * server.ts — ① the accept loop: listens, caps the number of connections,
 * sweeps their deadlines, and shuts down gracefully.
 *
 * `startServer(config, handler)` is minserve's public API: it serves any
 * Fetch-API handler `(request) => Response`, as `Deno.serve` does, on
 * minserve's own HTTP/1.1 engine.
 */

import { DEFAULTS } from "./config.ts";
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
  connectionOpened(): void;
  connectionClosed(): void;
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
  const where = { hostname: options.hostname, port: options.port };
  const shared = options.reusePort ? { reusePort: true } : {};
  // HTTPS goes through tunnels to a private TLS listener, so that a
  // handshake that never ends can still be closed (tls_tunnel.ts).
  const listener = Deno.listen({ ...where, ...shared });
  let tunnels: TlsTunnels | undefined;
  try {
    tunnels = options.tls ? new TlsTunnels(options.tls) : undefined;
  } catch (err) {
    close(listener);
    throw err;
  }
  const settings: ConnectionSettings = {
    headLimits: DEFAULT_HEAD_LIMITS,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
    idleTimeoutMs: (options.idleTimeoutSeconds ?? DEFAULTS.idleTimeoutSeconds) * 1000,
    requestTimeoutMs: (options.requestTimeoutSeconds ?? DEFAULTS.requestTimeoutSeconds) * 1000,
    serverName: SERVER_NAME,
    scheme: options.tls ? "https" : "http",
    fastPath: options.fastPath ?? (handler as { fastPath?: FastPath }).fastPath,
    counter: options.counter,
  };
  const counter = options.counter;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const maxPerClient = perClientCapFor(maxConnections, options.maxConnectionsPerClient);
  const perClient = new Map<string, number>();
  const graceMs = (options.shutdownGraceSeconds ?? DEFAULTS.shutdownGraceSeconds) * 1000;
  /** Open connections, each with its client's address. */
  const connections = new Map<Connection, string>();
  let stopping = false;

  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const connection of connections.keys()) {
      if (now > connection.deadline) connection.expire();
    }
  }, SWEEP_INTERVAL_MS);

  async function acceptLoop() {
    while (!stopping) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (
          stopping || err instanceof Deno.errors.BadResource ||
          err instanceof Deno.errors.Interrupted
        ) break;
        // A client that reset before we accepted costs nothing; anything else
        // (out of descriptors, say) would spin, so wait a moment.
        if (isClientGone(err)) continue;
        logger.error("accept failed", err);
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_BACKOFF_MS));
        continue;
      }
      const client = (conn.remoteAddr as Deno.NetAddr).hostname;
      const held = perClient.get(client) ?? 0;
      if (held >= maxPerClient || (connections.size >= maxConnections && !evictOne())) {
        counter?.connectionRefused();
        void refuse(conn);
        continue;
      }
      admit(conn, client, held);
    }
  }

  function admit(conn: Deno.Conn, client: string, held: number) {
    perClient.set(client, held + 1);
    counter?.connectionOpened();
    const connection = new Connection(
      tunnels ? tunnels.wrap(conn) : conn,
      handler,
      settings,
      logger,
    );
    connections.set(connection, client);
    connection.serve().finally(() => release(connection));
  }

  /** Forgets a connection that closed or was evicted; the first call counts. */
  function release(connection: Connection) {
    const client = connections.get(connection);
    if (client === undefined) return;
    counter?.connectionClosed();
    connections.delete(connection);
    const left = (perClient.get(client) ?? 1) - 1;
    if (left === 0) perClient.delete(client);
    else perClient.set(client, left);
  }

  /**
   * At the global cap, a newcomer (within its address's share) takes the
   * place of the connection that has waited longest for a request: idle
   * between requests, or still sending its head. Such a connection has
   * nothing in progress, so closing it loses nothing but a slot; a slowloris
   * or a parked keep-alive cannot keep a newcomer out. Returns false when
   * every connection is busy (then the newcomer gets 503).
   */
  function evictOne(): boolean {
    let victim: Connection | undefined;
    for (const connection of connections.keys()) {
      const phase = connection.phase;
      if (phase !== "idle" && phase !== "head") continue;
      if (victim === undefined || connection.since < victim.since) victim = connection;
    }
    if (victim === undefined) return false;
    victim.abort();
    release(victim);
    return true;
  }

  /**
   * Past the cap, a new connection gets a fast 503 and is closed. An HTTPS
   * one is closed at once: a 503 would cost the tunnel and handshake that
   * the cap is there to spare.
   */
  async function refuse(conn: Deno.Conn) {
    if (tunnels) return close(conn);
    const timer = setTimeout(() => close(conn), 1000);
    try {
      const reply = errorResponse(
        new HttpError(503, undefined, { headers: { "retry-after": "1" } }),
      );
      const result = await writeResponse(conn, reply, {
        head: false,
        minor: 1,
        keepAlive: false,
        server: settings.serverName,
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

  const accepting = acceptLoop();
  let finishedResolve: () => void;
  const finished = new Promise<void>((resolve) => (finishedResolve = resolve));
  let shuttingDown: Promise<void> | undefined;

  function shutdown(): Promise<void> {
    shuttingDown ??= (async () => {
      stopping = true;
      close(listener);
      await accepting;
      await tunnels?.close();
      for (const connection of connections.keys()) connection.shutdown();
      const deadline = Date.now() + graceMs;
      while (connections.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      for (const connection of connections.keys()) connection.abort();
      while (connections.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      clearInterval(sweeper);
      await logger.flush();
      finishedResolve();
    })();
    return shuttingDown;
  }

  return { addr: listener.addr as Deno.NetAddr, finished, shutdown };
}

function close(closer: { close(): void }) {
  try {
    closer.close();
  } catch {
    // Already closed.
  }
}
