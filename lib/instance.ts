/**
 * instance.ts — one serving instance built from a {@linkcode Config}: the
 * app with its pages, the representation store with its watcher and
 * compressor, the logger and the listening server. `main.ts` starts one;
 * with `--workers N` each worker isolate starts another on the same port
 * (SO_REUSEPORT), each with its own store.
 */

import { resolve } from "node:path";
import { createApp } from "./app.ts";
import type { Config } from "./config.ts";
import { Logger } from "./log.ts";
import type { Board } from "./pages/board.ts";
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
}

/** Instance is a running server and what must be closed after it. */
export interface Instance {
  server: Server;
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
    uploads = createUploads({
      dir: resolve(config.uploadDir),
      realDir: options.realUploadDir,
      maxBytes: config.maxUploadBytes,
      quotaBytes: config.uploadQuotaBytes,
      minFreeBytes: config.minFreeDiskBytes,
      ...(config.uploadToken === undefined ? {} : { token: config.uploadToken }),
      // A store of its own (an upload is bytes, never a template), a quarter the size.
      store: new RepresentationStore({
        maxBytes: Math.floor(config.cacheBytes / 4),
        maxEntries: Math.max(1, Math.floor(config.cacheEntries / 4)),
        compressor,
      }),
    });
  }
  let board: Board | undefined;
  if (config.dataDir !== undefined) {
    const { Board } = await import("./pages/board.ts");
    board = Board.open(config.dataDir);
  }

  // The store and the watcher that tells it of changes early (store.ts
  // says why freshness does not depend on the watcher).
  const root = resolve(config.root);
  const store = new RepresentationStore({
    maxBytes: config.cacheBytes,
    maxEntries: config.cacheEntries,
    compressor,
  });
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
    ...(uploads ? { uploads } : {}),
    ...(board ? { board: (request: Request) => board!.handle(request) } : {}),
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
      },
      handler,
      logger,
    );
  } catch (err) {
    board?.close();
    live?.close();
    compressor.close();
    await watcher.close();
    throw err;
  }
  return {
    server,
    async shutdown() {
      // Event streams never end by themselves: end them first, so the
      // graceful shutdown does not wait its whole grace for them.
      live?.close();
      await server.shutdown();
      board?.close();
      compressor.close();
      await watcher.close();
    },
  };
}
