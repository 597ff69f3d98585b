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
import { type Handler, type Server, startServer } from "./server.ts";
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
  const { auth, bcryptWorker } = await loadAuth(config, options);
  /** Whether `request` was signed in as a writer (always, without --auth). */
  const isWriter = (request: Request) =>
    auth === undefined || auth.principalOf(request)?.role === "rw";
  const uploads = await loadUploads(config, options, { compressor, metrics, auth, isWriter });
  const board = await openBoard(config);
  const boardHandler = board && countBoard(board, metrics, isWriter);

  const { root, store, watcher, live } = openRoot(config, compressor, metrics);
  const parts: Parts = { compressor, bcryptWorker, board, live, watcher };

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
    ...(uploads ? { uploads: uploads.handler } : {}),
    ...(boardHandler ? { board: boardHandler } : {}),
    auth,
    health: createHealth({ root: options.realRoot, board: board?.store }),
  });
  const logger = new Logger({
    access: config.quiet ? null : Deno.stdout,
    format: config.logFormat,
  });
  const { server, metricsServer } = await startServers(config, options, {
    handler,
    logger,
    metrics,
    maxBodyBytes: engineBodyCap(config, uploads),
    parts,
  });
  return {
    server,
    metricsServer,
    async shutdown() {
      await metricsServer?.shutdown();
      // Event streams never end by themselves: end them first, so the
      // graceful shutdown does not wait its whole grace for them.
      live?.close();
      await server.shutdown();
      await closeParts(parts);
    },
  };
}

/**
 * openRoot returns the document root's representation store, the watcher
 * that tells it of changes early (store.ts says why freshness does not
 * depend on the watcher), and with --live the live reload that listens to
 * the same watcher, after the store has heard.
 */
function openRoot(config: Config, compressor: WorkerCompressor, metrics: Metrics | undefined) {
  const root = resolve(config.root);
  const store = new RepresentationStore({
    maxBytes: config.cacheBytes,
    maxEntries: config.cacheEntries,
    compressor,
  });
  metrics?.watchCache("root", store);
  const watcher = new RootWatcher(root);
  watchStore(watcher, store);
  const live = config.live ? new LiveReload(root, watcher) : undefined;
  return { root, store, watcher, live };
}

/**
 * startServers starts the server for `handler` and, with --metrics, the
 * metrics listener. If either cannot listen, everything opened so far (the
 * parts included) is closed and the error is thrown; a --metrics failure
 * says so.
 */
async function startServers(
  config: Config,
  options: InstanceOptions,
  with_: {
    handler: Handler;
    logger: Logger;
    metrics: Metrics | undefined;
    maxBodyBytes: number;
    parts: Parts;
  },
): Promise<{ server: Server; metricsServer: Server | undefined }> {
  const { handler, logger, metrics, maxBodyBytes, parts } = with_;
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
    await closeParts(parts);
    throw err;
  }
  if (metrics === undefined || config.metrics === undefined) {
    return { server, metricsServer: undefined };
  }
  try {
    return { server, metricsServer: startMetricsServer(metrics, config.metrics) };
  } catch (err) {
    await server.shutdown();
    await closeParts(parts);
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`Cannot serve --metrics: ${message}`, { cause: err });
  }
}

/** Parts are what an instance opens beside its server, closed together by closeParts. */
interface Parts {
  compressor: WorkerCompressor;
  bcryptWorker: WorkerBcrypt | undefined;
  board: Board | undefined;
  live: LiveReload | undefined;
  watcher: RootWatcher;
}

/** closeParts closes every part of an instance (each close may be repeated). Never rejects. */
async function closeParts(parts: Parts): Promise<void> {
  parts.live?.close();
  await parts.board?.close().catch(() => {});
  parts.compressor.close();
  parts.bcryptWorker?.close();
  await parts.watcher.close().catch(() => {});
}

/**
 * loadAuth takes the config and the users main.ts read, and returns the
 * sign-in check with its bcrypt worker, or neither without --auth: the
 * module (and bcrypt) is loaded only when turned on.
 */
async function loadAuth(
  config: Config,
  options: InstanceOptions,
): Promise<{ auth?: Auth; bcryptWorker?: WorkerBcrypt }> {
  if (options.authUsers === undefined || options.authUsers.length === 0) return {};
  const { Auth, WorkerBcrypt } = await import("./auth.ts");
  const bcryptWorker = new WorkerBcrypt();
  const auth = new Auth(options.authUsers, {
    bearerUploads: config.uploadToken !== undefined,
    checker: bcryptWorker,
  });
  return { auth, bcryptWorker };
}

/** Uploads is the upload route and what its largest form may add to the body cap. */
interface Uploads {
  handler: (request: Request) => Promise<Response>;
  formOverhead: number;
  maxFormParts: number;
}

/**
 * loadUploads returns the upload route when --upload-dir is on, undefined
 * otherwise: a plain static server should not pay for node:crypto in
 * memory. The route has a store of its own (an upload is bytes, never a
 * template), a quarter the size, and counts uploads for --metrics.
 */
async function loadUploads(
  config: Config,
  options: InstanceOptions,
  with_: {
    compressor: WorkerCompressor;
    metrics: Metrics | undefined;
    auth: Auth | undefined;
    isWriter: (request: Request) => boolean;
  },
): Promise<Uploads | undefined> {
  if (config.uploadDir === undefined || options.realUploadDir === undefined) return undefined;
  const { createUploads, FORM_OVERHEAD_BYTES, MAX_FORM_PARTS } = await import("./pages/upload.ts");
  const { compressor, metrics, auth, isWriter } = with_;
  const store = new RepresentationStore({
    maxBytes: Math.floor(config.cacheBytes / 4),
    maxEntries: Math.max(1, Math.floor(config.cacheEntries / 4)),
    compressor,
  });
  metrics?.watchCache("uploads", store);
  const upload = createUploads({
    dir: resolve(config.uploadDir),
    realDir: options.realUploadDir,
    maxBytes: config.maxUploadBytes,
    quotaBytes: config.uploadQuotaBytes,
    minFreeBytes: config.minFreeDiskBytes,
    ...(config.uploadToken === undefined ? {} : { token: config.uploadToken }),
    // A writer signed in with --auth needs no token.
    ...(auth === undefined ? {} : { authorized: isWriter }),
    store,
  });
  const handler = metrics === undefined ? upload : async (request: Request) => {
    const response = await upload(request);
    const writes = request.method === "PUT" || request.method === "POST";
    if (writes && response.status >= 200 && response.status < 300) metrics.upload();
    return response;
  };
  return { handler, formOverhead: FORM_OVERHEAD_BYTES, maxFormParts: MAX_FORM_PARTS };
}

/**
 * openBoard returns the message board on PostgreSQL (--board-db: opening
 * does not connect; the first request does) or on SQLite (--data-dir), or
 * undefined when neither is set. Throws what opening the SQLite file throws.
 */
async function openBoard(config: Config): Promise<Board | undefined> {
  if (config.boardDb !== undefined) {
    const [{ Board }, { PostgresBoardStore }] = await Promise.all([
      import("./pages/board.ts"),
      import("./pages/board_postgres.ts"),
    ]);
    return new Board(new PostgresBoardStore(config.boardDb));
  }
  if (config.dataDir === undefined) return undefined;
  const { Board } = await import("./pages/board.ts");
  return Board.open(config.dataDir);
}

/**
 * engineBodyCap returns the largest request body the engine lets through:
 * --max-body, or with uploads on, enough for the largest upload and for a
 * form of several files (each up to --max-upload, together within the quota).
 */
function engineBodyCap(config: Config, uploads: Uploads | undefined): number {
  if (uploads === undefined) return config.maxBodyBytes;
  const { formOverhead, maxFormParts } = uploads;
  return Math.max(
    config.maxBodyBytes,
    config.maxUploadBytes + formOverhead,
    Math.min(config.uploadQuotaBytes, config.maxUploadBytes * maxFormParts) + formOverhead,
  );
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
