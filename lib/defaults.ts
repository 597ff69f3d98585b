/**
 * defaults.ts — the values minserve uses when nothing is said, each written
 * once. The options table (config.ts) shows them in the usage text and
 * takes them as its defaults; the layers below it (the server, the app, the
 * store) fall back on them when a library caller leaves a setting out. It
 * imports nothing, so any layer may import it.
 */

/** DEFAULT_MAX_BODY_BYTES: the largest request body the engine reads (--max-body), 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** DEFAULT_IDLE_TIMEOUT_SECONDS: how long a keep-alive connection may wait for its next request. */
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 5;
/** DEFAULT_REQUEST_TIMEOUT_SECONDS: how long a head or a body read may take (--request-timeout). */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 10;
/** DEFAULT_SHUTDOWN_GRACE_SECONDS: how long responses under way may finish at shutdown. */
export const DEFAULT_SHUTDOWN_GRACE_SECONDS = 10;
/** DEFAULT_CACHE_CONTROL: files and listings are revalidated on every use (--cache-control). */
export const DEFAULT_CACHE_CONTROL = "no-cache";
/** DEFAULT_MAX_ZIP_BYTES: the largest folder download (--max-zip-bytes), 16 GiB. */
export const DEFAULT_MAX_ZIP_BYTES = 16 * 1024 * 1024 * 1024;
/** DEFAULT_STORE_BYTES: the store's bound on the bytes it holds (--cache-bytes), 64 MiB. */
export const DEFAULT_STORE_BYTES = 64 * 1024 * 1024;
/** DEFAULT_STORE_ENTRIES: the store's bound on entries (--cache-entries); a flood of distinct 404s evicts itself. */
export const DEFAULT_STORE_ENTRIES = 10_000;
