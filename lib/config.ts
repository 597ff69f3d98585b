/**
 * config.ts — the command line and environment, parsed once into a
 * {@linkcode Config}. Pure: `main.ts` passes `Deno.args` and the environment
 * in, and nothing below it reads either.
 *
 * Every option is one row of {@linkcode OPTIONS}: its flag, short alias,
 * type, default, environment variable, help text, value parser and the
 * permissions it implies. The `--help` text ({@linkcode USAGE}), the
 * parseArgs options, {@linkcode ENV_NAMES}, {@linkcode DEFAULTS}, the
 * assembly of a Config and the permissions that `main.ts` asks for and
 * `deno task compile` bakes (lib/permissions.ts) are all derived from it.
 */

import { parseArgs } from "node:util";
import { ACCESS_FORMATS, type AccessFormat } from "./log.ts";
import {
  DEFAULT_CACHE_CONTROL,
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_ZIP_BYTES,
  DEFAULT_REQUEST_TIMEOUT_SECONDS,
  DEFAULT_SHUTDOWN_GRACE_SECONDS,
  DEFAULT_STORE_BYTES,
  DEFAULT_STORE_ENTRIES,
} from "./defaults.ts";
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

/** LogFormat is how access-log lines are written (log.ts). */
export type LogFormat = AccessFormat;

/** Grant is one permission the options need, as a `--allow-NAME=VALUE` flag would give it. */
export interface Grant {
  /** The kind of permission: `--allow-read`, `--allow-net`, … */
  name: "read" | "write" | "net" | "sys" | "run" | "env";
  /** What it is granted for: a path, `host[:port]`, a sys kind, a program or a variable. */
  value: string;
  /** What it lets minserve do, for the error line: `read ROOT "./site"`. */
  action: string;
  /** Whether serving goes on without it, losing only a nicety (the LAN URLs, the browser). */
  optional: boolean;
}

/** GrantContext is what the permissions depend on beyond the config. */
export interface GrantContext {
  /** Whether the port may move to the next free one (see {@linkcode portMayMove}). */
  portMayMove: boolean;
  /** The program --open runs on this platform (lib/opener.ts), if any. */
  opener: string | undefined;
  /**
   * Whether to grant every port of each host, whatever the config says: a
   * compiled binary may be given another --port when it runs.
   */
  anyPort?: boolean;
}

/**
 * Option is one row of the options table. `K` is the Config field it sets;
 * an option without `key` is read by the assembly's cross-field step
 * (--cert, --key), by the subcommand (--cost) or is an action (--help).
 */
export interface Option<K extends keyof Config = keyof Config> {
  /** The long flag without its dashes; "ROOT" for the positional. */
  name: string;
  /** The one-letter alias. */
  short?: string;
  /** "string" takes a value; "boolean" is a switch. */
  type: "string" | "boolean";
  /** Whether the flag may be repeated (its Config field is an array). */
  multiple?: boolean;
  /** The value's placeholder in --help: `N`, `BYTES`. */
  arg?: string;
  /** The left column of --help instead of the one made from the flag; null: not listed with the options. */
  usage?: string | null;
  /** The --help text, one string per line; `{default}` is replaced by the default. */
  help: string[];
  /** The environment variable read beneath the flag. */
  env?: string;
  /** The Config field the option sets. */
  key?: K;
  /** The field's default. */
  default?: Config[K];
  /** For a switch, the field's value when it is given (default true). */
  when?: Config[K];
  /**
   * Turns one raw value into the field's value (an element of it, for a
   * repeatable flag); `name` is the flag or environment variable it came
   * from, for the message. Throws a TypeError or RangeError.
   */
  parse?: (raw: string, name: string) => unknown;
  /** The permissions the option implies for `config`, at their narrowest. */
  grants?: (config: Config, context: GrantContext) => Grant[];
}

/** option types one row of the table by the Config field it sets. */
function option<K extends keyof Config>(row: Option<K>): Option {
  return row as unknown as Option;
}

/** readGrant is read access to `path`, named by the flag that gave it. */
function readGrant(flag: string, path: string): Grant {
  return { name: "read", value: path, action: `read ${flag} "${path}"`, optional: false };
}

/** dirGrants are read and write access to a folder minserve keeps files in. */
function dirGrants(flag: string, dir: string | undefined): Grant[] {
  if (dir === undefined) return [];
  const write: Grant = {
    name: "write",
    value: dir,
    action: `write ${flag} "${dir}"`,
    optional: false,
  };
  return [readGrant(flag, dir), write];
}

/** DEFAULT_HASH_COST is bcrypt's cost for `hash-password` unless --cost says otherwise. */
export const DEFAULT_HASH_COST = 10;

/**
 * OPTIONS is the table of options, in the order --help lists them. The
 * positional ROOT is its first row, so the root's grant comes first.
 */
export const OPTIONS: readonly Option[] = [
  option({
    name: "ROOT",
    type: "string",
    usage: null,
    help: ["the folder to serve"],
    env: "MINSERVE_ROOT",
    key: "root",
    default: "./www",
    parse: (raw, name) => nonEmpty(name, raw, "a directory"),
    grants: (config) => [readGrant("ROOT", config.root)],
  }),
  option({
    name: "port",
    short: "p",
    type: "string",
    arg: "N",
    help: [
      "TCP port to listen on (default {default}, or the next free one up to 8099; 0 picks any free one)",
    ],
    env: "MINSERVE_PORT",
    key: "port",
    default: 8080,
    parse: (raw, name) => integer(name, raw, 0, 65535),
  }),
  option({
    name: "host",
    short: "H",
    type: "string",
    arg: "ADDR",
    help: ["address to listen on (default {default}; 0.0.0.0 or :: for all)"],
    env: "MINSERVE_HOST",
    key: "hostname",
    default: "127.0.0.1",
    parse: (raw, name) => nonEmpty(name, raw, "an address"),
    grants: (config, context) => {
      const host = listenHost(config, context);
      const grants: Grant[] = [
        { name: "net", value: host, action: `listen on ${host}`, optional: false },
      ];
      if (isWildcard(config.hostname)) {
        const action = "list the network URLs";
        grants.push({ name: "sys", value: "networkInterfaces", action, optional: true });
      }
      return grants;
    },
  }),
  option({
    name: "no-listing",
    type: "boolean",
    help: ["answer 404 for directories without index.html"],
    key: "listing",
    default: true,
    when: false,
  }),
  option({
    name: "dotfiles",
    type: "boolean",
    help: ['serve files and directories whose name starts with "."'],
    key: "dotfiles",
    default: false,
  }),
  option({
    name: "cors",
    type: "boolean",
    help: ["let any origin read responses (CORS), answer preflights"],
    key: "cors",
    default: false,
  }),
  option({
    name: "cache-control",
    type: "string",
    arg: "VALUE",
    help: ['Cache-Control of files and listings (default "{default}")'],
    key: "cacheControl",
    default: DEFAULT_CACHE_CONTROL,
    parse: headerValue,
  }),
  option({
    name: "cache-bytes",
    type: "string",
    arg: "BYTES",
    help: ["memory for files and their compressed forms (default {default})"],
    key: "cacheBytes",
    default: DEFAULT_STORE_BYTES,
    parse: (raw, name) => integer(name, raw, 0, Number.MAX_SAFE_INTEGER),
  }),
  option({
    name: "cache-entries",
    type: "string",
    arg: "N",
    help: ["files (and misses) remembered at most (default {default})"],
    key: "cacheEntries",
    default: DEFAULT_STORE_ENTRIES,
    parse: (raw, name) => integer(name, raw, 1, 10_000_000),
  }),
  option({
    name: "quiet",
    short: "q",
    type: "boolean",
    help: ["no access log"],
    key: "quiet",
    default: false,
  }),
  option({
    name: "max-connections",
    type: "string",
    arg: "N",
    help: [
      "connections served at once; more get 503 (default: what the",
      "descriptor limit allows, 2 per connection, said in the banner)",
    ],
    key: "maxConnections",
    default: undefined,
    parse: (raw, name) => integer(name, raw, 1, 1_000_000),
  }),
  option({
    name: "max-connections-per-client",
    type: "string",
    arg: "N",
    help: [
      "connections one client address may hold (default: half of",
      "--max-connections, at least 8); its others get 503",
    ],
    key: "maxConnectionsPerClient",
    default: undefined,
    parse: (raw, name) => integer(name, raw, 1, 1_000_000),
  }),
  option({
    name: "max-body",
    type: "string",
    arg: "BYTES",
    help: ["largest request body accepted (default {default})"],
    key: "maxBodyBytes",
    default: DEFAULT_MAX_BODY_BYTES,
    parse: bytes,
  }),
  option({
    name: "idle-timeout",
    type: "string",
    arg: "S",
    help: ["seconds an idle keep-alive connection is kept (default {default})"],
    key: "idleTimeoutSeconds",
    default: DEFAULT_IDLE_TIMEOUT_SECONDS,
    parse: seconds,
  }),
  option({
    name: "request-timeout",
    type: "string",
    arg: "S",
    help: [
      "seconds to receive a request head, and the longest body stall (default {default})",
    ],
    key: "requestTimeoutSeconds",
    default: DEFAULT_REQUEST_TIMEOUT_SECONDS,
    parse: seconds,
  }),
  option({
    name: "shutdown-grace",
    type: "string",
    arg: "S",
    help: ["seconds to finish responses after SIGINT/SIGTERM (default {default})"],
    key: "shutdownGraceSeconds",
    default: DEFAULT_SHUTDOWN_GRACE_SECONDS,
    parse: seconds,
  }),
  option({
    name: "upload-dir",
    type: "string",
    arg: "DIR",
    help: ["accept POST/PUT /uploads/NAME into DIR (off by default)"],
    env: "MINSERVE_UPLOAD_DIR",
    key: "uploadDir",
    default: undefined,
    parse: (raw, name) => nonEmpty(name, raw, "not empty"),
    grants: (config) => dirGrants("--upload-dir", config.uploadDir),
  }),
  option({
    name: "max-upload",
    type: "string",
    arg: "BYTES",
    help: ["largest upload, per file (default {default})"],
    env: "MINSERVE_MAX_UPLOAD",
    key: "maxUploadBytes",
    default: 100 * 1024 * 1024,
    parse: bytes,
  }),
  option({
    name: "upload-token",
    type: "string",
    arg: "TOKEN",
    help: ['uploads need "Authorization: Bearer TOKEN"'],
    env: "MINSERVE_UPLOAD_TOKEN",
    key: "uploadToken",
    default: undefined,
    parse: token,
  }),
  option({
    name: "data-dir",
    type: "string",
    arg: "DIR",
    help: ["keep the message board (/board) in DIR (off by default)"],
    env: "MINSERVE_DATA_DIR",
    key: "dataDir",
    default: undefined,
    parse: (raw, name) => nonEmpty(name, raw, "not empty"),
    grants: (config) => dirGrants("--data-dir", config.dataDir),
  }),
  option({
    name: "header",
    type: "string",
    multiple: true,
    arg: '"Name: value"',
    help: ["add a header to every response (repeatable)"],
    key: "headers",
    default: [],
    parse: headerLine,
  }),
  option({
    name: "spa",
    type: "string",
    arg: "FILE",
    help: ["serve FILE (under ROOT) for navigations that match no file"],
    key: "spa",
    default: undefined,
    parse: (raw, name) => nonEmpty(name, raw, "not empty"),
  }),
  option({
    name: "log-format",
    type: "string",
    arg: "FORMAT",
    help: ["common (default), combined or json"],
    env: "MINSERVE_LOG_FORMAT",
    key: "logFormat",
    default: ACCESS_FORMATS[0],
    parse: logFormat,
  }),
  option({
    name: "live",
    type: "boolean",
    help: ["reload pages in the browser when files under ROOT change"],
    key: "live",
    default: false,
  }),
  option({
    name: "open",
    type: "boolean",
    help: ["open the served URL in the default browser"],
    key: "open",
    default: false,
    grants: (config, { opener }) =>
      config.open && opener !== undefined
        ? [{ name: "run", value: opener, action: "open the browser", optional: true }]
        : [],
  }),
  option({
    name: "lan",
    type: "boolean",
    help: ["listen on every interface (0.0.0.0) and print the network URLs"],
    key: "lan",
    default: false,
  }),
  option({
    name: "cert",
    type: "string",
    usage: "--cert FILE --key FILE",
    help: ["serve HTTPS with this PEM certificate and key"],
    key: "tls",
    default: undefined,
    grants: (config, context) => {
      if (config.tls === undefined) return [];
      const grants = [readGrant("--cert", config.tls.certFile)];
      if (listenHost(config, context) !== "127.0.0.1") {
        // HTTPS is tunnelled to a private TLS listener on loopback (lib/tls_tunnel.ts).
        const action = "tunnel HTTPS through 127.0.0.1";
        grants.push({ name: "net", value: "127.0.0.1", action, optional: false });
      }
      return grants;
    },
  }),
  option({
    name: "key",
    type: "string",
    usage: null,
    help: ["the PEM key of --cert"],
    grants: (config) => config.tls ? [readGrant("--key", config.tls.keyFile)] : [],
  }),
  option({
    name: "workers",
    type: "string",
    arg: "N",
    help: ["N isolates share the port, one per core (default {default}; needs --unstable-net)"],
    key: "workers",
    default: 1,
    parse: (raw, name) => integer(name, raw, 1, 64),
  }),
  option({
    name: "max-zip-bytes",
    type: "string",
    arg: "BYTES",
    help: [
      "largest folder download (?download=zip), its files added up",
      "(default {default}; 0 turns folder downloads off)",
    ],
    key: "maxZipBytes",
    default: DEFAULT_MAX_ZIP_BYTES,
    parse: bytes,
  }),
  option({
    name: "auth",
    type: "string",
    multiple: true,
    arg: "FILE|USER:HASH",
    help: [
      "require HTTP Basic sign-in: an htpasswd FILE of bcrypt lines, or one",
      'user (repeatable); a line or value ending in ":rw" is a writer, who',
      "may also upload and clear the board; make a HASH with hash-password",
    ],
    key: "auth",
    default: [],
    parse: authSource,
    grants: (config) =>
      config.auth.flatMap((source) =>
        source.kind === "file" ? [readGrant("--auth", source.path)] : []
      ),
  }),
  option({
    name: "board-db",
    type: "string",
    arg: "URL",
    help: [
      "keep the board in PostgreSQL: postgres://USER[:PASSWORD]@HOST[:PORT]/DB",
      "(instead of --data-dir; better in MINSERVE_BOARD_DB or PGPASSWORD)",
    ],
    env: "MINSERVE_BOARD_DB",
    key: "boardDb",
    default: undefined,
    parse: boardDbUrl,
    grants: (config) => {
      const db = boardDbHost(config);
      if (db === undefined) return [];
      const action = `connect to the board database at ${db}`;
      // What the PostgreSQL client reads besides its options.
      return [
        { name: "net", value: db, action, optional: false },
        ...POSTGRES_ENV_NAMES.map((name): Grant => ({
          name: "env",
          value: name,
          action: `read ${name}`,
          optional: false,
        })),
      ];
    },
  }),
  option({
    name: "metrics",
    type: "string",
    arg: "ADDR",
    help: [
      "serve Prometheus metrics at http://ADDR/metrics (HOST:PORT or PORT,",
      "host 127.0.0.1), never on the public address",
    ],
    key: "metrics",
    default: undefined,
    grants: (config, context) => {
      if (config.metrics === undefined) return [];
      const { hostname, port } = config.metrics;
      const value = hostPart(hostname) + (port === 0 || context.anyPort ? "" : `:${port}`);
      return [{ name: "net", value, action: `listen on ${value} (--metrics)`, optional: false }];
    },
  }),
  option({
    name: "upload-quota",
    type: "string",
    arg: "BYTES",
    help: ["the upload dir's files may add up to this much (default {default})"],
    key: "uploadQuotaBytes",
    default: 10 * 1024 ** 3,
    parse: bytes,
  }),
  option({
    name: "min-free-disk",
    type: "string",
    arg: "BYTES",
    help: ["uploads must leave this much disk free (default {default}; 0: off)"],
    key: "minFreeDiskBytes",
    default: 1024 ** 3,
    parse: bytes,
    grants: (config) => {
      if (config.uploadDir === undefined || config.minFreeDiskBytes === 0) return [];
      // statfs(2), for the free-disk floor of uploads; without it the floor is not checked (warned).
      const action = "read the free disk space (--min-free-disk)";
      return [{ name: "sys", value: "statfs", action, optional: true }];
    },
  }),
  option({ name: "help", short: "h", type: "boolean", help: ["show this help"] }),
  option({ name: "version", short: "V", type: "boolean", help: ["show the version"] }),
  option({
    name: "cost",
    type: "string",
    usage: null,
    help: [
      "read a password from stdin (asked twice, not shown, at a terminal)",
      `and print its bcrypt hash for --auth (cost default ${DEFAULT_HASH_COST})`,
    ],
  }),
];

/** ENV_NAMES are the environment variables read beneath the flags (and NO_COLOR), from the table. */
export const ENV_NAMES: readonly string[] = [
  ...OPTIONS.flatMap((row) => row.env === undefined ? [] : [row.env]),
  "NO_COLOR",
];

/**
 * POSTGRES_ENV_NAMES are the environment variables the PostgreSQL client
 * (npm:postgres) reads even when given every option: the password when the
 * URL has none, and the application name. With --board-db, `main.ts`
 * grants exactly these.
 */
export const POSTGRES_ENV_NAMES = ["PGPASSWORD", "PGAPPNAME"] as const;

/** DEFAULTS holds the default of every setting, from the table. */
export const DEFAULTS: Readonly<Config> = Object.freeze(
  Object.fromEntries(
    OPTIONS.flatMap((row) => row.key === undefined ? [] : [[row.key, row.default]]),
  ) as unknown as Config,
);

/** HASH_PASSWORD is the subcommand that prints a bcrypt hash of a password read from stdin. */
export const HASH_PASSWORD = "hash-password";

/** ConfigRequest is what the command line asks for: run with a config, or print help or the version. */
export type ConfigRequest =
  | { kind: "serve"; config: Config }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "hash-password"; cost: number };

/** The column where --help's explanations start. */
const HELP_COLUMN = 29;

/** usageEntry lays out one entry of --help: `left`, then its lines at HELP_COLUMN. */
function usageEntry(left: string, lines: readonly string[]): string[] {
  const indent = " ".repeat(HELP_COLUMN);
  const [first = "", ...rest] = lines;
  const head = left.length < HELP_COLUMN
    ? [left.padEnd(HELP_COLUMN) + first]
    : [left, indent + first];
  return [...head, ...rest.map((line) => indent + line)];
}

/** optionUsage is the --help entry of one row; none when it is not listed with the options. */
function optionUsage(row: Option): string[] {
  if (row.usage === null || row.name === "ROOT") return [];
  const flag = row.usage ?? `--${row.name}${row.arg === undefined ? "" : ` ${row.arg}`}`;
  const left = `  ${row.short === undefined ? "    " : `-${row.short}, `}${flag}`;
  const help = row.help.map((line) => line.replaceAll("{default}", String(row.default)));
  return usageEntry(left, help);
}

/** wrap breaks `text` at spaces into lines of at most `width` characters. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  return [...lines, line].join("\n");
}

const COST = OPTIONS.find((row) => row.name === "cost")!;

/** USAGE is the `--help` text, made from the table. */
export const USAGE: string = [
  "Usage: minserve [ROOT] [options]",
  "",
  `Serve the files under ROOT (default ${DEFAULTS.root}) over HTTP/1.1.`,
  "",
  "Options:",
  ...OPTIONS.flatMap(optionUsage),
  "",
  ...usageEntry(`minserve ${HASH_PASSWORD} [--cost N]`, COST.help),
  "",
  wrap(
    `Environment (flags win): ${ENV_NAMES.filter((n) => n !== "NO_COLOR").join(", ")}; NO_COLOR.`,
    100,
  ),
  "",
  `Permissions: at a terminal minserve asks, through Deno's prompt, for exactly what the options
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
  deno task serve --cert cert.pem --key key.pem              HTTPS`,
].join("\n");

/** The parseArgs options, from the table. */
const PARSE_OPTIONS = Object.fromEntries(
  OPTIONS.filter((row) => row.name !== "ROOT").map((row) => [row.name, {
    type: row.type,
    ...(row.short === undefined ? {} : { short: row.short }),
    ...(row.multiple ? { multiple: true } : {}),
  }]),
);

/** Values are what parseArgs found: a string, a switch, or a repeatable flag's strings. */
type Values = Record<string, string | boolean | string[] | undefined>;

/** parseFlags runs node:util's parseArgs over `args`; its errors become one TypeError. */
function parseFlags(args: string[]): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: PARSE_OPTIONS,
    });
    // Only string options repeat, so a repeated value is strings.
    return parsed as { values: Values; positionals: string[] };
  } catch (err) {
    // node:util's messages name the flag; keep their first sentence.
    const message = err instanceof Error ? err.message.split(/\.(?:\s|$)/)[0] : String(err);
    throw new TypeError(`Cannot parse arguments: ${message}`);
  }
}

/**
 * parseConfig turns command-line `args` and environment `env` into a
 * {@linkcode ConfigRequest}. Throws a TypeError or RangeError whose message
 * names the flag (or environment variable) at fault.
 */
export function parseConfig(
  args: string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ConfigRequest {
  const { values, positionals } = parseFlags(args);
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const cost = values.cost as string | undefined;
  // A subcommand anywhere among the positionals: a compiled binary puts its baked ROOT first.
  if (positionals.includes(HASH_PASSWORD)) {
    return {
      kind: "hash-password",
      cost: cost === undefined ? DEFAULT_HASH_COST : integer("--cost", cost, 4, 31),
    };
  }
  if (cost !== undefined) throw new TypeError(`Cannot use --cost without ${HASH_PASSWORD}`);
  if (positionals.length > 1) {
    throw new TypeError(`Cannot use more than one ROOT: got "${positionals.join('", "')}"`);
  }
  // A fresh array for each repeatable flag: the config is the caller's to change.
  const config: Record<string, unknown> = { ...DEFAULTS };
  for (const row of OPTIONS) if (row.multiple && row.key !== undefined) config[row.key] = [];
  const given = new Set<string>();
  for (const row of OPTIONS) {
    if (row.key === undefined) continue;
    const raw = row.name === "ROOT" ? positionals[0] : values[row.name];
    const fromEnv = raw === undefined && row.env !== undefined ? env[row.env] : undefined;
    if (raw === undefined && fromEnv === undefined) continue;
    given.add(row.key);
    const name = raw === undefined ? row.env! : row.name === "ROOT" ? "ROOT" : `--${row.name}`;
    if (row.type === "boolean") config[row.key] = row.when ?? true;
    else if (row.parse === undefined) continue; // assembled below, from several flags
    else if (Array.isArray(raw)) config[row.key] = raw.map((one) => row.parse!(one, name));
    else config[row.key] = row.parse(String(raw ?? fromEnv), name);
  }
  return { kind: "serve", config: together(config as unknown as Config, values, given) };
}

/**
 * together fills in what takes several flags (--cert with --key, --lan's
 * address, --metrics beside the public address) and refuses flags that
 * cannot go together.
 */
function together(config: Config, values: Values, given: Set<string>): Config {
  const cert = values.cert as string | undefined;
  const key = values.key as string | undefined;
  if (cert === undefined !== (key === undefined)) {
    throw new TypeError(
      `Cannot use ${cert ? "--cert" : "--key"} alone: give both --cert and --key`,
    );
  }
  if (cert !== undefined && key !== undefined) config.tls = { certFile: cert, keyFile: key };
  if (config.lan && !given.has("hostname")) config.hostname = "0.0.0.0";
  if (config.boardDb !== undefined && config.dataDir !== undefined) {
    throw new TypeError(
      "Cannot use --board-db with --data-dir: the board lives in PostgreSQL or in SQLite, not both",
    );
  }
  const metrics = values.metrics as string | undefined;
  if (metrics !== undefined) {
    if (config.workers !== 1) {
      throw new TypeError(
        "Cannot use --metrics with --workers: each isolate counts only its own requests",
      );
    }
    config.metrics = metricsAddress(metrics, config.hostname, config.port);
  }
  return config;
}

/**
 * portMayMove tells whether the port is the default, chosen by neither
 * --port nor MINSERVE_PORT: only then may minserve move to a free one. The
 * one parser answers: with MINSERVE_PORT=0 beneath the flags, only --port
 * keeps the port from becoming 0.
 */
export function portMayMove(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  config: Config,
): boolean {
  if (config.port !== DEFAULTS.port || env.MINSERVE_PORT !== undefined) return false;
  const probe = parseConfig([...args], { ...env, MINSERVE_PORT: "0" });
  return probe.kind === "serve" && probe.config.port === 0;
}

/** isWildcard tells whether `hostname` means every interface. */
export function isWildcard(hostname: string): boolean {
  return hostname === "0.0.0.0" || hostname === "::";
}

/** hostPart writes `hostname` as a URL or Deno's net permission wants it: IPv6 in brackets. */
export function hostPart(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/**
 * listenHost is what `--allow-net` must name to listen as `config` says:
 * the host with its port, or, when the port may move or the OS picks it,
 * the host alone (every port).
 */
export function listenHost(config: Config, context: GrantContext): string {
  const fixed = !context.anyPort && !context.portMayMove && config.port !== 0;
  return hostPart(config.hostname) + (fixed ? `:${config.port}` : "");
}

/** boardDbHost is the board database's `host:port` (never its user or password), when it is PostgreSQL. */
export function boardDbHost(config: Pick<Config, "boardDb">): string | undefined {
  if (config.boardDb === undefined) return undefined;
  const url = new URL(config.boardDb);
  return `${url.hostname}:${url.port === "" ? "5432" : url.port}`;
}

// ---------------------------------------------------------------------------
// Value parsers: each takes the raw text and the name it came under, and
// throws a TypeError or RangeError that names it.

/** integer reads a whole number from `min` to `max`, digits only. */
function integer(name: string, raw: string, min: number, max: number): number {
  const value = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) {
    throw new RangeError(
      `Cannot use ${name} "${raw}": value must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/** bytes reads a size in bytes, up to 2^50 (a PiB). */
function bytes(raw: string, name: string): number {
  return integer(name, raw, 0, 2 ** 50);
}

/** seconds reads a positive number of seconds, up to a day. */
function seconds(raw: string, name: string): number {
  const value = /^[0-9]+(\.[0-9]+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(value > 0 && value <= 86_400)) {
    throw new RangeError(
      `Cannot use ${name} "${raw}": value must be a number of seconds from 0 to 86400`,
    );
  }
  return value;
}

/** nonEmpty refuses an empty value; `must` says what it must be instead. */
function nonEmpty(name: string, raw: string, must: string): string {
  if (raw === "") throw new TypeError(`Cannot use ${name} "": value must ${must}`);
  return raw;
}

/** token reads a bearer token: visible ASCII. Never quoted back: it is a secret. */
function token(raw: string, name: string): string {
  if (!/^[\x21-\x7e]+$/.test(raw)) {
    throw new TypeError(`Cannot use ${name}: value must be visible ASCII characters`);
  }
  return raw;
}

const LOG_FORMATS: readonly LogFormat[] = ACCESS_FORMATS;

/** logFormat reads an access-log format. */
function logFormat(raw: string, name: string): LogFormat {
  if (!LOG_FORMATS.includes(raw as LogFormat)) {
    throw new TypeError(`Cannot use ${name} "${raw}": value must be common, combined or json`);
  }
  return raw as LogFormat;
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
  return [m[1]!, m[2] === "" ? "" : headerValue(m[2]!, "--header")];
}

/** headerValue reads a field value: visible ASCII and spaces, on one line (RFC 9110 §5.5). */
function headerValue(raw: string, name: string): string {
  if (!/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(raw)) {
    throw new TypeError(`Cannot use ${name} "${raw}": value must be a header value on one line`);
  }
  return raw;
}

/**
 * boardDbUrl checks a PostgreSQL URL: scheme postgres: or postgresql:, a
 * user, a host and a database named. The value is never quoted back: it
 * may hold a password.
 */
function boardDbUrl(raw: string, name: string): string {
  const wanted =
    `Cannot use ${name}: value must be postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`;
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
  return a === b || isWildcard(a) || isWildcard(b);
}

/**
 * metricsAddress reads --metrics `HOST:PORT`, `[V6]:PORT` or `PORT` (host
 * 127.0.0.1). It may not be the public address: metrics are for operators.
 */
function metricsAddress(
  raw: string,
  publicHost: string,
  publicPort: number,
): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:\s\[\]]+):)?([0-9]+)$/.exec(raw);
  if (m === null) {
    throw new TypeError(`Cannot use --metrics "${raw}": value must be HOST:PORT or PORT`);
  }
  const hostname = m[1] ?? m[2] ?? "127.0.0.1";
  const port = integer("--metrics", m[3]!, 0, 65535);
  if (port !== 0 && port === publicPort && overlaps(hostname, publicHost)) {
    throw new TypeError(
      `Cannot use --metrics "${raw}": it is the public address; give metrics a port of their own`,
    );
  }
  return { hostname, port };
}
