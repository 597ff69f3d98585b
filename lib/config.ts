/**
 * config.ts — the command line and environment, parsed once into a
 * {@linkcode Config}. Pure: `main.ts` passes `Deno.args` and the environment
 * in, and nothing below it reads either.
 */

import { parseArgs } from "node:util";
import { type AuthUser, isAuthEntry, parseAuthEntry } from "./htpasswd.ts";

/** Config is everything the server needs to know, with every default filled in. */
export interface Config {
  /** The document root, as given (relative to the working directory or absolute). */
  root: string;
  /** Address to listen on. */
  hostname: string;
  /** TCP port; 0 asks the OS for a free one. */
  port: number;
  /** Whether directories without index.html are listed. */
  listing: boolean;
  /** Whether files and directories whose name starts with "." are served. */
  dotfiles: boolean;
  /** Whether the access log is off. */
  quiet: boolean;
  /** Whether responses carry CORS headers and preflights are answered. */
  cors: boolean;
  /** Cache-Control of files and listings. */
  cacheControl: string;
  /** Bytes the representation store may hold (files and their compressed forms). */
  cacheBytes: number;
  /** Entries the representation store may hold (misses included). */
  cacheEntries: number;
  /** Connections served at once; past it new ones get 503. Undefined: derived from the descriptor limit. */
  maxConnections: number | undefined;
  /** Connections one client address may hold at once; past it its new ones get 503. Undefined: half of maxConnections, at least 8. */
  maxConnectionsPerClient: number | undefined;
  /** Largest request body accepted, in bytes; past it: 413. */
  maxBodyBytes: number;
  /** Seconds an idle keep-alive connection stays open waiting for a request. */
  idleTimeoutSeconds: number;
  /** Seconds a client has to send a whole request head, and the longest stall inside a body. */
  requestTimeoutSeconds: number;
  /** Seconds in-flight responses get to finish after SIGINT or SIGTERM. */
  shutdownGraceSeconds: number;
  /** Where POST/PUT /uploads/NAME store files; uploads are off when undefined. */
  uploadDir: string | undefined;
  /** Largest upload in bytes; past it: 413. */
  maxUploadBytes: number;
  /** A bearer token uploads must present; none when undefined. */
  uploadToken: string | undefined;
  /** Where the message board keeps its database; the board is off when undefined. */
  dataDir: string | undefined;
  /** Extra response header fields, from repeated --header. */
  headers: [string, string][];
  /** A file (relative to the root) served with 200 for navigations that match no file. */
  spa: string | undefined;
  /** The access-log format. */
  logFormat: LogFormat;
  /** Whether --lan was given: listen on every interface and print the network URLs. */
  lan: boolean;
  /** Whether HTML pages get live reload (--live). */
  live: boolean;
  /** Whether the served URL is opened in the default browser at start (--open). */
  open: boolean;
  /** PEM certificate and key files: serve HTTPS. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** Serving isolates sharing the port; more than 1 needs --unstable-net. */
  workers: number;
  /** The most a folder's files may add up to for its ZIP download; 0 turns folder downloads off. */
  maxZipBytes: number;
  /** Where the users of HTTP Basic authentication come from (--auth); off when empty. */
  auth: AuthSource[];
  /**
   * The message board in PostgreSQL: a `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`
   * URL (--board-db, MINSERVE_BOARD_DB), instead of SQLite under dataDir; off when undefined.
   */
  boardDb: string | undefined;
  /** Where Prometheus metrics are served (--metrics HOST:PORT), apart from the public address. */
  metrics: { hostname: string; port: number } | undefined;
  /** The most the upload directory's files may add up to, in bytes; past it uploads get 507. */
  uploadQuotaBytes: number;
  /** The least free disk space an upload may leave, in bytes (0: no floor); past it: 507. */
  minFreeDiskBytes: number;
}

/** AuthSource is one --auth value: an htpasswd file (read by `main.ts`), or one user. */
export type AuthSource = { kind: "file"; path: string } | { kind: "user"; user: AuthUser };

/** LogFormat is how access-log lines are written. */
export type LogFormat = "common" | "combined" | "json";
const LOG_FORMATS: readonly LogFormat[] = ["common", "combined", "json"];

/** ENV_NAMES are the environment variables read beneath the flags (and NO_COLOR). */
export const ENV_NAMES = [
  "MINSERVE_ROOT",
  "MINSERVE_HOST",
  "MINSERVE_PORT",
  "MINSERVE_UPLOAD_DIR",
  "MINSERVE_MAX_UPLOAD",
  "MINSERVE_UPLOAD_TOKEN",
  "MINSERVE_DATA_DIR",
  "MINSERVE_LOG_FORMAT",
  "NO_COLOR",
  "MINSERVE_BOARD_DB",
] as const;

/**
 * POSTGRES_ENV_NAMES are the environment variables the PostgreSQL client
 * (npm:postgres) reads even when given every option: the password when the
 * URL has none, and the application name. With --board-db, `main.ts`
 * grants exactly these.
 */
export const POSTGRES_ENV_NAMES = ["PGPASSWORD", "PGAPPNAME"] as const;

/** DEFAULTS holds the default of every setting, in one place. */
export const DEFAULTS: Readonly<Config> = {
  root: "./www",
  hostname: "127.0.0.1",
  port: 8080,
  listing: true,
  dotfiles: false,
  quiet: false,
  cors: false,
  cacheControl: "no-cache",
  cacheBytes: 64 * 1024 * 1024,
  cacheEntries: 10_000,
  maxConnections: undefined,
  maxConnectionsPerClient: undefined,
  maxBodyBytes: 1024 * 1024,
  idleTimeoutSeconds: 5,
  requestTimeoutSeconds: 10,
  shutdownGraceSeconds: 10,
  uploadDir: undefined,
  maxUploadBytes: 100 * 1024 * 1024,
  uploadToken: undefined,
  dataDir: undefined,
  headers: [],
  spa: undefined,
  logFormat: "common",
  lan: false,
  live: false,
  open: false,
  tls: undefined,
  workers: 1,
  maxZipBytes: 16 * 1024 * 1024 * 1024,
  auth: [],
  boardDb: undefined,
  metrics: undefined,
  uploadQuotaBytes: 10 * 1024 ** 3,
  minFreeDiskBytes: 1024 ** 3,
};

/** HASH_PASSWORD is the subcommand that prints a bcrypt hash of a password read from stdin. */
export const HASH_PASSWORD = "hash-password";
/** DEFAULT_HASH_COST is bcrypt's cost for `hash-password` unless --cost says otherwise. */
export const DEFAULT_HASH_COST = 10;

/** ConfigRequest is what the command line asks for: run with a config, or print help or the version. */
export type ConfigRequest =
  | { kind: "serve"; config: Config }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "hash-password"; cost: number };

/** USAGE is the `--help` text. */
export const USAGE = `Usage: minserve [ROOT] [options]

Serve the files under ROOT (default ./www) over HTTP/1.1.

Options:
  -p, --port N               TCP port to listen on (default ${DEFAULTS.port}, or the next free one up to 8099; 0 picks any free one)
  -H, --host ADDR            address to listen on (default ${DEFAULTS.hostname}; 0.0.0.0 or :: for all)
      --no-listing           answer 404 for directories without index.html
      --dotfiles             serve files and directories whose name starts with "."
      --cors                 let any origin read responses (CORS), answer preflights
      --cache-control VALUE  Cache-Control of files and listings (default "${DEFAULTS.cacheControl}")
      --cache-bytes BYTES    memory for files and their compressed forms (default ${DEFAULTS.cacheBytes})
      --cache-entries N      files (and misses) remembered at most (default ${DEFAULTS.cacheEntries})
  -q, --quiet                no access log
      --max-connections N    connections served at once; more get 503 (default: what the
                             descriptor limit allows, 2 per connection, said in the banner)
      --max-connections-per-client N
                             connections one client address may hold (default: half of
                             --max-connections, at least 8); its others get 503
      --max-body BYTES       largest request body accepted (default ${DEFAULTS.maxBodyBytes})
      --idle-timeout S       seconds an idle keep-alive connection is kept (default ${DEFAULTS.idleTimeoutSeconds})
      --request-timeout S    seconds to receive a request head, and the longest body stall (default ${DEFAULTS.requestTimeoutSeconds})
      --shutdown-grace S     seconds to finish responses after SIGINT/SIGTERM (default ${DEFAULTS.shutdownGraceSeconds})
      --upload-dir DIR       accept POST/PUT /uploads/NAME into DIR (off by default)
      --max-upload BYTES     largest upload, per file (default ${DEFAULTS.maxUploadBytes})
      --upload-token TOKEN   uploads need "Authorization: Bearer TOKEN"
      --data-dir DIR         keep the message board (/board) in DIR (off by default)
      --header "Name: value" add a header to every response (repeatable)
      --spa FILE             serve FILE (under ROOT) for navigations that match no file
      --log-format FORMAT    common (default), combined or json
      --live                 reload pages in the browser when files under ROOT change
      --open                 open the served URL in the default browser
      --lan                  listen on every interface (0.0.0.0) and print the network URLs
      --cert FILE --key FILE serve HTTPS with this PEM certificate and key
      --workers N            N isolates share the port, one per core (default 1; needs --unstable-net)
      --max-zip-bytes BYTES  largest folder download (?download=zip), its files added up
                             (default ${DEFAULTS.maxZipBytes}; 0 turns folder downloads off)
      --auth FILE|USER:HASH  require HTTP Basic sign-in: an htpasswd FILE of bcrypt lines, or one
                             user (repeatable); a line or value ending in ":rw" is a writer, who
                             may also upload and clear the board; make a HASH with hash-password
      --board-db URL         keep the board in PostgreSQL: postgres://USER[:PASSWORD]@HOST[:PORT]/DB
                             (instead of --data-dir; better in MINSERVE_BOARD_DB or PGPASSWORD)
      --metrics ADDR         serve Prometheus metrics at http://ADDR/metrics (HOST:PORT or PORT,
                             host 127.0.0.1), never on the public address
      --upload-quota BYTES   the upload dir's files may add up to this much (default ${DEFAULTS.uploadQuotaBytes})
      --min-free-disk BYTES  uploads must leave this much disk free (default ${DEFAULTS.minFreeDiskBytes}; 0: off)
  -h, --help                 show this help
  -V, --version              show the version

minserve hash-password [--cost N]
                             read a password from stdin (asked twice, not shown, at a terminal)
                             and print its bcrypt hash for --auth (cost default ${DEFAULT_HASH_COST})

Environment (flags win): MINSERVE_ROOT, MINSERVE_HOST, MINSERVE_PORT, MINSERVE_UPLOAD_DIR,
MINSERVE_MAX_UPLOAD, MINSERVE_UPLOAD_TOKEN, MINSERVE_DATA_DIR, MINSERVE_LOG_FORMAT,
MINSERVE_BOARD_DB; NO_COLOR.

Permissions: at a terminal minserve asks, through Deno's prompt, for exactly what the options
need and nothing more: read of ROOT; read and write of the upload and data dirs (created if
missing); read of the cert and key and of --auth files; net for the address; sys
networkInterfaces for the --lan URLs; run of the browser opener for --open. Elsewhere it stops
with one line naming the deno run command that grants them.

Install: git clone <this repository's URL> minserve && cd minserve && npm install -g deno@2.9.6

Common commands, in the minserve folder:
  deno task serve ./site                     serve a folder (answer y when Deno asks to read it)
  deno task serve ./site --live --open       reload pages when files change; open the browser
  deno task serve --lan                      share on the local network; prints the URLs
  deno task serve --upload-dir ./uploads --data-dir ./data   uploads and the board
  deno task serve --cert cert.pem --key key.pem              HTTPS`;

/**
 * parseConfig turns command-line `args` and environment `env` into a
 * {@linkcode ConfigRequest}. Throws a TypeError or RangeError whose message
 * names the flag at fault.
 */
export function parseConfig(
  args: string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ConfigRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: "string", short: "p" },
        host: { type: "string", short: "H" },
        "no-listing": { type: "boolean" },
        dotfiles: { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        cors: { type: "boolean" },
        "cache-control": { type: "string" },
        "cache-bytes": { type: "string" },
        "cache-entries": { type: "string" },
        "max-connections": { type: "string" },
        "max-connections-per-client": { type: "string" },
        "max-body": { type: "string" },
        "idle-timeout": { type: "string" },
        "request-timeout": { type: "string" },
        "shutdown-grace": { type: "string" },
        "upload-dir": { type: "string" },
        "max-upload": { type: "string" },
        "upload-token": { type: "string" },
        "data-dir": { type: "string" },
        header: { type: "string", multiple: true },
        spa: { type: "string" },
        "log-format": { type: "string" },
        lan: { type: "boolean" },
        live: { type: "boolean" },
        open: { type: "boolean" },
        cert: { type: "string" },
        key: { type: "string" },
        workers: { type: "string" },
        "max-zip-bytes": { type: "string" },
        auth: { type: "string", multiple: true },
        cost: { type: "string" },
        "board-db": { type: "string" },
        metrics: { type: "string" },
        "upload-quota": { type: "string" },
        "min-free-disk": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    });
  } catch (err) {
    // node:util's messages name the flag; keep their first sentence.
    const message = err instanceof Error ? err.message.split(/\.(?:\s|$)/)[0] : String(err);
    throw new TypeError(`Cannot parse arguments: ${message}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  // A subcommand anywhere among the positionals: a compiled binary puts its baked ROOT first.
  if (positionals.includes(HASH_PASSWORD)) {
    return {
      kind: "hash-password",
      cost: integer("--cost", values.cost, DEFAULT_HASH_COST, 4, 31),
    };
  }
  if (values.cost !== undefined) {
    throw new TypeError(`Cannot use --cost without ${HASH_PASSWORD}`);
  }
  if (positionals.length > 1) {
    throw new TypeError(`Cannot use more than one ROOT: got "${positionals.join('", "')}"`);
  }

  const root = positionals[0] ?? env.MINSERVE_ROOT ?? DEFAULTS.root;
  if (root === "") throw new TypeError('Cannot use ROOT "": value must be a directory');
  const lan = values.lan ?? false;
  const hostname = values.host ?? env.MINSERVE_HOST ?? (lan ? "0.0.0.0" : DEFAULTS.hostname);
  if (hostname === "") throw new TypeError('Cannot use --host "": value must be an address');
  if (values.cert === undefined !== (values.key === undefined)) {
    throw new TypeError(
      `Cannot use ${values.cert ? "--cert" : "--key"} alone: give both --cert and --key`,
    );
  }
  const logFormat = values["log-format"] ?? env.MINSERVE_LOG_FORMAT ?? DEFAULTS.logFormat;
  if (!LOG_FORMATS.includes(logFormat as LogFormat)) {
    throw new TypeError(
      `Cannot use --log-format "${logFormat}": value must be common, combined or json`,
    );
  }
  const dataDir = nonEmpty("--data-dir", values["data-dir"] ?? env.MINSERVE_DATA_DIR);
  const boardDb = boardDbUrl(
    values["board-db"] === undefined && env.MINSERVE_BOARD_DB !== undefined
      ? "MINSERVE_BOARD_DB"
      : "--board-db",
    values["board-db"] ?? env.MINSERVE_BOARD_DB,
  );
  if (boardDb !== undefined && dataDir !== undefined) {
    throw new TypeError(
      "Cannot use --board-db with --data-dir: the board lives in PostgreSQL or in SQLite, not both",
    );
  }
  const port = integer(
    values.port === undefined && env.MINSERVE_PORT !== undefined ? "MINSERVE_PORT" : "--port",
    values.port ?? env.MINSERVE_PORT,
    DEFAULTS.port,
    0,
    65535,
  );
  const metrics = metricsAddress(values.metrics, hostname, port);
  if (metrics !== undefined && values.workers !== undefined && values.workers !== "1") {
    throw new TypeError(
      "Cannot use --metrics with --workers: each isolate counts only its own requests",
    );
  }
  const uploadToken = values["upload-token"] ?? env.MINSERVE_UPLOAD_TOKEN;
  if (uploadToken !== undefined && !/^[\x21-\x7e]+$/.test(uploadToken)) {
    throw new TypeError("Cannot use --upload-token: value must be visible ASCII characters");
  }

  return {
    kind: "serve",
    config: {
      root,
      hostname,
      port,
      listing: !values["no-listing"],
      dotfiles: values.dotfiles ?? false,
      quiet: values.quiet ?? false,
      cors: values.cors ?? false,
      cacheControl: headerValue("--cache-control", values["cache-control"], DEFAULTS.cacheControl),
      cacheBytes: integer(
        "--cache-bytes",
        values["cache-bytes"],
        DEFAULTS.cacheBytes,
        0,
        Number.MAX_SAFE_INTEGER,
      ),
      cacheEntries: integer(
        "--cache-entries",
        values["cache-entries"],
        DEFAULTS.cacheEntries,
        1,
        10_000_000,
      ),
      maxConnections: values["max-connections"] === undefined
        ? undefined
        : integer("--max-connections", values["max-connections"], 1, 1, 1_000_000),
      maxConnectionsPerClient: values["max-connections-per-client"] === undefined
        ? undefined
        : integer(
          "--max-connections-per-client",
          values["max-connections-per-client"],
          1,
          1,
          1_000_000,
        ),
      maxBodyBytes: integer("--max-body", values["max-body"], DEFAULTS.maxBodyBytes, 0, 2 ** 50),
      idleTimeoutSeconds: seconds(
        "--idle-timeout",
        values["idle-timeout"],
        DEFAULTS.idleTimeoutSeconds,
      ),
      requestTimeoutSeconds: seconds(
        "--request-timeout",
        values["request-timeout"],
        DEFAULTS.requestTimeoutSeconds,
      ),
      shutdownGraceSeconds: seconds(
        "--shutdown-grace",
        values["shutdown-grace"],
        DEFAULTS.shutdownGraceSeconds,
      ),
      uploadDir: nonEmpty("--upload-dir", values["upload-dir"] ?? env.MINSERVE_UPLOAD_DIR),
      maxUploadBytes: integer(
        values["max-upload"] === undefined && env.MINSERVE_MAX_UPLOAD !== undefined
          ? "MINSERVE_MAX_UPLOAD"
          : "--max-upload",
        values["max-upload"] ?? env.MINSERVE_MAX_UPLOAD,
        DEFAULTS.maxUploadBytes,
        0,
        2 ** 50,
      ),
      uploadToken,
      dataDir,
      headers: (values.header ?? []).map(headerLine),
      spa: nonEmpty("--spa", values.spa),
      logFormat: logFormat as LogFormat,
      lan,
      live: values.live ?? false,
      open: values.open ?? false,
      tls: values.cert !== undefined && values.key !== undefined
        ? { certFile: values.cert, keyFile: values.key }
        : undefined,
      workers: integer("--workers", values.workers, DEFAULTS.workers, 1, 64),
      maxZipBytes: integer(
        "--max-zip-bytes",
        values["max-zip-bytes"],
        DEFAULTS.maxZipBytes,
        0,
        2 ** 50,
      ),
      auth: (values.auth ?? []).map(authSource),
      boardDb,
      metrics,
      uploadQuotaBytes: integer(
        "--upload-quota",
        values["upload-quota"],
        DEFAULTS.uploadQuotaBytes,
        0,
        2 ** 50,
      ),
      minFreeDiskBytes: integer(
        "--min-free-disk",
        values["min-free-disk"],
        DEFAULTS.minFreeDiskBytes,
        0,
        2 ** 50,
      ),
    },
  };
}

/** authSource reads one --auth value: an inline `user:HASH[:rw]`, else a file. */
function authSource(raw: string): AuthSource {
  if (raw === "") throw new TypeError('Cannot use --auth "": value must be a file or user:HASH');
  if (!isAuthEntry(raw)) return { kind: "file", path: raw };
  try {
    return { kind: "user", user: parseAuthEntry(raw) };
  } catch (err) {
    // The message names the user, never the hash.
    throw new TypeError(`Cannot use --auth: ${(err as Error).message}`);
  }
}

function integer(
  flag: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) {
    throw new RangeError(
      `Cannot use ${flag} "${raw}": value must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}

function nonEmpty(flag: string, raw: string | undefined): string | undefined {
  if (raw === "") throw new TypeError(`Cannot use ${flag} "": value must not be empty`);
  return raw;
}

/** Headers the server owns: a --header may not set them. */
const RESERVED_HEADERS = new Set([
  "connection",
  "content-length",
  "transfer-encoding",
  "date",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
]);

/** headerLine parses one --header "Name: value". */
function headerLine(raw: string): [string, string] {
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/.exec(raw);
  if (m === null) {
    throw new TypeError(`Cannot use --header "${raw}": value must be "Name: value"`);
  }
  if (RESERVED_HEADERS.has(m[1]!.toLowerCase())) {
    throw new TypeError(`Cannot use --header "${raw}": ${m[1]} is set by the server`);
  }
  return [m[1]!, headerValue("--header", m[2], "")];
}

function headerValue(flag: string, raw: string | undefined, fallback: string): string {
  if (raw === undefined) return fallback;
  // A field value: visible ASCII and spaces, no line breaks (RFC 9110 §5.5).
  if (!/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(raw)) {
    throw new TypeError(`Cannot use ${flag} "${raw}": value must be a header value on one line`);
  }
  return raw;
}

function seconds(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = /^[0-9]+(\.[0-9]+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(value > 0 && value <= 86_400)) {
    throw new RangeError(
      `Cannot use ${flag} "${raw}": value must be a number of seconds from 0 to 86400`,
    );
  }
  return value;
}

/**
 * boardDbUrl checks a PostgreSQL URL: scheme postgres: or postgresql:, a
 * user, a host and a database named. The value is never quoted back: it
 * may hold a password.
 */
function boardDbUrl(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const wanted =
    `Cannot use ${flag}: value must be postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(wanted);
  }
  if (
    (url.protocol !== "postgres:" && url.protocol !== "postgresql:") || url.username === "" ||
    url.hostname === "" || url.pathname.length < 2 || url.pathname.indexOf("/", 1) !== -1
  ) {
    throw new TypeError(wanted);
  }
  return raw;
}

/** A wildcard listens on every interface, so it overlaps any address. */
function overlaps(a: string, b: string): boolean {
  const wild = (h: string) => h === "0.0.0.0" || h === "::";
  return a === b || wild(a) || wild(b);
}

/**
 * metricsAddress reads --metrics `HOST:PORT`, `[V6]:PORT` or `PORT` (host
 * 127.0.0.1). It may not be the public address: metrics are for operators.
 */
function metricsAddress(
  raw: string | undefined,
  publicHost: string,
  publicPort: number,
): { hostname: string; port: number } | undefined {
  if (raw === undefined) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:\s\[\]]+):)?([0-9]+)$/.exec(raw);
  if (m === null) {
    throw new TypeError(`Cannot use --metrics "${raw}": value must be HOST:PORT or PORT`);
  }
  const hostname = m[1] ?? m[2] ?? "127.0.0.1";
  const port = integer("--metrics", m[3], 0, 0, 65535);
  if (port !== 0 && port === publicPort && overlaps(hostname, publicHost)) {
    throw new TypeError(
      `Cannot use --metrics "${raw}": it is the public address; give metrics a port of their own`,
    );
  }
  return { hostname, port };
}
