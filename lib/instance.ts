/**
 * instance.ts — one serving instance built from a {@linkcode Config}: the
 * app with its pages, the representation store with its watcher and
 * compressor, the logger and the listening server. `main.ts` starts one;
 * with `--workers N` each worker isolate starts another on the same port
 * (SO_REUSEPORT), each with its own store.
 */

import { resolve } from "node:path";
import { createApp } from "./app.ts";
import type { Auth, AuthUser, WorkerBcrypt } from "./auth.ts";
import type { Config } from "./config.ts";
import { Logger } from "./log.ts";
import { Metrics, startMetricsServer } from "./metrics.ts";
import { type Board, BOARD_CLEAR_PATH } from "./pages/board.ts";
import { createHealth } from "./pages/health.ts";
import { LiveReload } from "./pages/live.ts";
import { type Server, startServer } from "./server.ts";
import { WorkerCompressor } from "./static/compress.ts";
import { RepresentationStore } from "./static/store.ts";
import { RootWatcher, watchStore } from "./static/watch.ts";

/** InstanceOptions are what `main.ts` resolved once for every instance. */
export interface InstanceOptions {
  /** The root's real path. */
  realRoot: string;
  /** The upload directory's real path, when uploads are on. */
  realUploadDir?: string | undefined;
  /** PEM certificate and key, read once by `main.ts`. */
  tls?: { cert: string; key: string } | undefined;
  /** The port to bind, when it differs from `config.port` (port 0 resolved by the first instance). */
  port?: number;
  /** Whether other instances share the port (SO_REUSEPORT; needs --unstable-net). */
  reusePort?: boolean;
  /** The users of --auth, read by `main.ts` from files and flags; no authentication when empty. */
  authUsers?: AuthUser[];
}

/** Instance is a running server and what must be closed after it. */
export interface Instance {
  server: Server;
  /** The metrics listener, with --metrics. */
  metricsServer?: Server | undefined;
  /** Stops accepting, finishes in-flight responses, closes the board. */
  shutdown(): Promise<void>;
}

/**
 * startInstance builds the handler for `config` and starts serving it.
 * Rejects with what `Board.open` or `startServer` throw (bad data dir,
 * address in use, missing permission).
 */
export async function startInstance(config: Config, options: InstanceOptions): Promise<Instance> {
  // Compressed forms are made once per file version, in a worker isolate
  // started on first use (static/compress.ts), for the root and uploads alike.
  const compressor = new WorkerCompressor();
  const metrics = config.metrics === undefined ? undefined : new Metrics();

  // Authentication (and bcrypt) is loaded only when turned on.
  let auth: Auth | undefined;
  let bcryptWorker: WorkerBcrypt | undefined;
  if (options.authUsers !== undefined && options.authUsers.length > 0) {
    const { Auth, WorkerBcrypt } = await import("./auth.ts");
    bcryptWorker = new WorkerBcrypt();
    auth = new Auth(options.authUsers, {
      bearerUploads: config.uploadToken !== undefined,
      checker: bcryptWorker,
    });
  }
  /** Whether `request` was signed in as a writer (always, without --auth). */
  const isWriter = (request: Request) =>
    auth === undefined || auth.principalOf(request)?.role === "rw";

  // Uploads and the board are loaded only when turned on: a plain static
  // server should not pay for node:crypto and node:sqlite in memory.
  let uploads: ((request: Request) => Promise<Response>) | undefined;
  let formOverhead = 0;
  let maxFormParts = 1;
  if (config.uploadDir !== undefined && options.realUploadDir !== undefined) {
    const { createUploads, FORM_OVERHEAD_BYTES, MAX_FORM_PARTS } = await import(
      "./pages/upload.ts"
    );
    formOverhead = FORM_OVERHEAD_BYTES;
    maxFormParts = MAX_FORM_PARTS;
    const uploadStore = new RepresentationStore({
      maxBytes: Math.floor(config.cacheBytes / 4),
      maxEntries: Math.max(1, Math.floor(config.cacheEntries / 4)),
      compressor,
    });
    metrics?.watchCache("uploads", uploadStore);
    const upload = createUploads({
      dir: resolve(config.uploadDir),
      realDir: options.realUploadDir,
      maxBytes: config.maxUploadBytes,
      quotaBytes: config.uploadQuotaBytes,
      minFreeBytes: config.minFreeDiskBytes,
      ...(config.uploadToken === undefined ? {} : { token: config.uploadToken }),
      // A writer signed in with --auth needs no token.
      ...(auth === undefined ? {} : { authorized: isWriter }),
      // A store of its own (an upload is bytes, never a template), a quarter the size.
      store: uploadStore,
    });
    uploads = metrics === undefined ? upload : async (request) => {
      const response = await upload(request);
      const writes = request.method === "PUT" || request.method === "POST";
      if (writes && response.status >= 200 && response.status < 300) metrics.upload();
      return response;
    };
  }
  let board: Board | undefined;
  if (config.boardDb !== undefined) {
    // PostgreSQL: opening does not connect; the first request does.
    const [{ Board }, { PostgresBoardStore }] = await Promise.all([
      import("./pages/board.ts"),
      import("./pages/board_postgres.ts"),
    ]);
    board = new Board(new PostgresBoardStore(config.boardDb));
  } else if (config.dataDir !== undefined) {
    const { Board } = await import("./pages/board.ts");
    board = Board.open(config.dataDir);
  }
  const boardHandler = board && countBoard(board, metrics, isWriter);

  // The store and the watcher that tells it of changes early (store.ts
  // says why freshness does not depend on the watcher).
  const root = resolve(config.root);
  const store = new RepresentationStore({
    maxBytes: config.cacheBytes,
    maxEntries: config.cacheEntries,
    compressor,
  });
  metrics?.watchCache("root", store);
  const watcher = new RootWatcher(root);
  watchStore(watcher, store);
  // Live reload listens to the same watcher, after the store has heard.
  const live = config.live ? new LiveReload(root, watcher) : undefined;

  const handler = createApp({
    root,
    store,
    live,
    realRoot: options.realRoot,
    listing: config.listing,
    dotfiles: config.dotfiles,
    cors: config.cors,
    cacheControl: config.cacheControl,
    headers: config.headers,
    spa: config.spa,
    maxZipBytes: config.maxZipBytes,
    ...(uploads ? { uploads } : {}),
    ...(boardHandler ? { board: boardHandler } : {}),
    auth,
    health: createHealth({ root: options.realRoot, board: board?.store }),
  });
  const logger = new Logger({
    access: config.quiet ? null : Deno.stdout,
    format: config.logFormat,
  });

  // The engine's body cap must let the largest upload through, and a form
  // of several files (each up to --max-upload, together within the quota).
  const maxBodyBytes = uploads
    ? Math.max(
      config.maxBodyBytes,
      config.maxUploadBytes + formOverhead,
      Math.min(config.uploadQuotaBytes, config.maxUploadBytes * maxFormParts) + formOverhead,
    )
    : config.maxBodyBytes;
  const { tls: _files, ...settings } = config;
  let server: Server;
  try {
    server = startServer(
      {
        ...settings,
        port: options.port ?? config.port,
        maxBodyBytes,
        ...(options.tls ? { tls: options.tls } : {}),
        ...(options.reusePort ? { reusePort: true } : {}),
        counter: metrics,
      },
      handler,
      logger,
    );
  } catch (err) {
    await board?.close();
    live?.close();
    compressor.close();
    bcryptWorker?.close();
    await watcher.close();
    throw err;
  }
  let metricsServer: Server | undefined;
  if (metrics !== undefined && config.metrics !== undefined) {
    try {
      metricsServer = startMetricsServer(metrics, config.metrics);
    } catch (err) {
      await server.shutdown();
      await board?.close();
      live?.close();
      compressor.close();
      await watcher.close();
      throw new Error(`Cannot serve --metrics: ${err instanceof Error ? err.message : err}`, {
        cause: err,
      });
    }
  }
  return {
    server,
    metricsServer,
    async shutdown() {
      await metricsServer?.shutdown();
      // Event streams never end by themselves: end them first, so the
      // graceful shutdown does not wait its whole grace for them.
      live?.close();
      await server.shutdown();
      await board?.close();
      compressor.close();
      bcryptWorker?.close();
      await watcher.close();
    },
  };
}

/**
 * countBoard routes requests to `board`, letting only writers clear it and
 * counting acknowledged posts and clears for --metrics.
 */
function countBoard(
  board: Board,
  metrics: Metrics | undefined,
  isWriter: (request: Request) => boolean,
): (request: Request) => Promise<Response> {
  const handle = (request: Request) => board.handle(request, { mayClear: isWriter(request) });
  if (metrics === undefined) return handle;
  return async (request) => {
    const response = await handle(request);
    if (request.method === "POST" && response.status === 303) {
      if (new URL(request.url).pathname === BOARD_CLEAR_PATH) metrics.boardClear();
      else metrics.boardPost();
    }
    return response;
  };
}
