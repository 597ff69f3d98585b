/**
 * config.ts — the command line and environment, parsed once into a
 * {@linkcode Config}. Pure: `main.ts` passes `Deno.args` and the environment
 * in, and nothing below it reads either.
 */

import { parseArgs } from "node:util";

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
  /** Connections served at once; past it new ones get 503. */
  maxConnections: number;
  /** Largest request body accepted, in bytes; past it: 413. */
  maxBodyBytes: number;
  /** Seconds an idle keep-alive connection stays open waiting for a request. */
  idleTimeoutSeconds: number;
  /** Seconds a client has to send a whole request head, and the longest stall inside a body. */
  requestTimeoutSeconds: number;
  /** Seconds in-flight responses get to finish after SIGINT or SIGTERM. */
  shutdownGraceSeconds: number;
}

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
  maxConnections: 1024,
  maxBodyBytes: 1024 * 1024,
  idleTimeoutSeconds: 5,
  requestTimeoutSeconds: 10,
  shutdownGraceSeconds: 10,
};

/** ConfigRequest is what the command line asks for: run with a config, or print help or the version. */
export type ConfigRequest =
  | { kind: "serve"; config: Config }
  | { kind: "help" }
  | { kind: "version" };

/** USAGE is the `--help` text. */
export const USAGE = `Usage: minserve [ROOT] [options]

Serve the files under ROOT (default ./www) over HTTP/1.1.

Options:
  -p, --port N               TCP port to listen on (default ${DEFAULTS.port}; 0 picks a free one)
  -H, --host ADDR            address to listen on (default ${DEFAULTS.hostname}; 0.0.0.0 or :: for all)
      --no-listing           answer 404 for directories without index.html
      --dotfiles             serve files and directories whose name starts with "."
      --cors                 let any origin read responses (CORS), answer preflights
      --cache-control VALUE  Cache-Control of files and listings (default "${DEFAULTS.cacheControl}")
  -q, --quiet                no access log
      --max-connections N    connections served at once; more get 503 (default ${DEFAULTS.maxConnections})
      --max-body BYTES       largest request body accepted (default ${DEFAULTS.maxBodyBytes})
      --idle-timeout S       seconds an idle keep-alive connection is kept (default ${DEFAULTS.idleTimeoutSeconds})
      --request-timeout S    seconds to receive a request head, and the longest body stall (default ${DEFAULTS.requestTimeoutSeconds})
      --shutdown-grace S     seconds to finish responses after SIGINT/SIGTERM (default ${DEFAULTS.shutdownGraceSeconds})
  -h, --help                 show this help
  -V, --version              show the version

Environment (flags win): MINSERVE_ROOT, MINSERVE_HOST, MINSERVE_PORT.

Permissions: minserve needs only --allow-net and --allow-read=ROOT.`;

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
        "max-connections": { type: "string" },
        "max-body": { type: "string" },
        "idle-timeout": { type: "string" },
        "request-timeout": { type: "string" },
        "shutdown-grace": { type: "string" },
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
  if (positionals.length > 1) {
    throw new TypeError(`Cannot use more than one ROOT: got "${positionals.join('", "')}"`);
  }

  const root = positionals[0] ?? env.MINSERVE_ROOT ?? DEFAULTS.root;
  if (root === "") throw new TypeError('Cannot use ROOT "": value must be a directory');
  const hostname = values.host ?? env.MINSERVE_HOST ?? DEFAULTS.hostname;
  if (hostname === "") throw new TypeError('Cannot use --host "": value must be an address');

  return {
    kind: "serve",
    config: {
      root,
      hostname,
      port: integer(
        values.port === undefined && env.MINSERVE_PORT !== undefined ? "MINSERVE_PORT" : "--port",
        values.port ?? env.MINSERVE_PORT,
        DEFAULTS.port,
        0,
        65535,
      ),
      listing: !values["no-listing"],
      dotfiles: values.dotfiles ?? false,
      quiet: values.quiet ?? false,
      cors: values.cors ?? false,
      cacheControl: headerValue("--cache-control", values["cache-control"], DEFAULTS.cacheControl),
      maxConnections: integer(
        "--max-connections",
        values["max-connections"],
        DEFAULTS.maxConnections,
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
    },
  };
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
