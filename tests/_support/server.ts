/**
 * server.ts — helpers for tests that talk to the real server over a socket:
 * {@linkcode spawnServer} runs `main.ts` as a subprocess with narrow `--allow`
 * flags, {@linkcode rawRequest} sends exact bytes and collects exact bytes, and
 * {@linkcode parseResponses} is a small strict parser of HTTP/1.x responses
 * that shares no code with `lib/`, so a bug in the server's writer cannot hide
 * behind the same bug in the test.
 */

import { fileURLToPath } from "node:url";
import { concat, decode, encode } from "./bytes.ts";

/** The repository root, where `main.ts` and `deno.json` live. */
const REPO_ROOT = new URL("../../", import.meta.url);
/** How long the server may take to print its "listening on" line. Past this we kill it and throw. */
const START_TIMEOUT_MS = 15_000;
/** How long dispose waits after SIGTERM before sending SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;
/** How long rawRequest waits for EOF unless told otherwise. Past this it returns what it has. */
const RAW_REQUEST_TIMEOUT_MS = 5_000;
/** rawRequest's read buffer. */
const READ_CHUNK_BYTES = 64 * 1024;
/** The one line the server prints at start, e.g. `listening on http://127.0.0.1:8000/`. */
const LISTENING_LINE = /listening on https?:\/\/([^\s/]+):(\d+)\//;

/** SpawnServerOptions say what the server serves and which permissions it gets. */
export interface SpawnServerOptions {
  /** The document root, passed as the first argument and as `--allow-read`. */
  root: string;
  /** More command-line arguments, after `root --port 0 --host 127.0.0.1`. */
  args?: readonly string[];
  /** More flags for `deno run`, e.g. `--v8-flags=…` as `deno task serve` passes them. */
  denoFlags?: readonly string[];
  /** More paths for `--allow-read`, besides `root`. */
  allowRead?: readonly string[];
  /** Paths for `--allow-write`; no write permission at all when absent. */
  allowWrite?: readonly string[];
  /**
   * Environment variables for the child, added to the parent's. Their names
   * are also granted with `--allow-env=NAME,…`, since without that the server
   * could not read them.
   */
  env?: Readonly<Record<string, string>>;
  /** Run the server under this descriptor limit (soft and hard), through util-linux's `prlimit`. */
  descriptorLimit?: number;
  /** More variable names for `--allow-env`, read by the server but not set here. */
  allowEnv?: readonly string[];
  /**
   * Receives the server's stdout piece by piece as it arrives. When given,
   * stdout is handed here and not kept (`stdoutText()` returns ""), so a
   * server that writes its access log for minutes costs the caller no memory.
   */
  onStdout?: (text: string) => void;
}

/**
 * ServerProcess is a running `main.ts`. Dispose it (`await using server = …`)
 * to stop it with SIGTERM, then SIGKILL after 5 s, and to wait for its exit and
 * its output pipes, as Deno's test sanitizers require.
 */
export interface ServerProcess extends AsyncDisposable {
  /** The port the server is listening on. */
  readonly port: number;
  /** The host from the "listening on" line, e.g. `127.0.0.1`. */
  readonly hostname: string;
  /** The server's origin, e.g. `http://127.0.0.1:41234`, with no trailing slash. */
  readonly url: string;
  /** The child's process id. */
  readonly pid: number;
  /** Resolves when the child exits. */
  readonly status: Promise<Deno.CommandStatus>;
  /** stdoutText returns everything the server has written to stdout so far. */
  stdoutText(): string;
  /** stderrText returns everything the server has written to stderr so far. */
  stderrText(): string;
  /** signal sends `sig` to the server; it does nothing once the server has exited. */
  signal(sig: Deno.Signal): void;
  /** kill sends SIGKILL; it does nothing once the server has exited. */
  kill(): void;
}

/**
 * spawnServer runs `<repo>/main.ts root --port 0 --host 127.0.0.1 ...args`
 * with `--allow-net=127.0.0.1`, `--allow-read` for `root` and `allowRead`, and
 * `--allow-write` only for `allowWrite`, then waits for the one stdout line
 * `listening on http://HOST:PORT/`. If it does not come within 15 s, or the
 * server exits first, the child is killed and the error carries its stderr.
 * Both pipes are drained in the background for the child's whole life.
 */
export async function spawnServer(options: SpawnServerOptions): Promise<ServerProcess> {
  const {
    root,
    args = [],
    allowRead = [],
    allowWrite,
    env,
    denoFlags = [],
    descriptorLimit,
    allowEnv = [],
    onStdout,
  } = options;
  const flags = [
    "run",
    "--no-prompt",
    `--config=${fileURLToPath(new URL("deno.json", REPO_ROOT))}`,
    "--allow-net=127.0.0.1",
    `--allow-read=${[root, ...allowRead].join(",")}`,
  ];
  if (allowWrite !== undefined) flags.push(`--allow-write=${allowWrite.join(",")}`);
  const envNames = [...Object.keys(env ?? {}), ...allowEnv];
  if (envNames.length > 0) flags.push(`--allow-env=${envNames.join(",")}`);
  flags.push(...denoFlags);
  const limited = descriptorLimit === undefined
    ? []
    : [`--nofile=${descriptorLimit}:${descriptorLimit}`, "--", Deno.execPath()];
  const command = new Deno.Command(limited.length > 0 ? "prlimit" : Deno.execPath(), {
    args: [
      ...limited,
      ...flags,
      fileURLToPath(new URL("main.ts", REPO_ROOT)),
      root,
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(env === undefined ? {} : { env: { ...env } }),
  });
  const server = new RunningServer(command.spawn(), onStdout);
  try {
    await server.started;
  } catch (err) {
    await server[Symbol.asyncDispose]();
    const stderr = server.stderrText();
    throw new Error(
      `${err instanceof Error ? err.message : String(err)}\n--- stderr ---\n${
        stderr === "" ? "(empty)" : stderr
      }`,
      { cause: err },
    );
  }
  return server;
}

/** RunningServer implements {@linkcode ServerProcess} around a spawned child. */
class RunningServer implements ServerProcess {
  readonly pid: number;
  readonly status: Promise<Deno.CommandStatus>;
  /** Resolves once the "listening on" line is seen; rejects on timeout or early exit. */
  readonly started: Promise<void>;
  #child: Deno.ChildProcess;
  #exited = false;
  #stdout = "";
  #stderr = "";
  #drained: Promise<unknown>;
  #listening: { hostname: string; port: number } | undefined;

  constructor(child: Deno.ChildProcess, onStdout?: (text: string) => void) {
    this.#child = child;
    this.pid = child.pid;
    this.status = child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    const started = Promise.withResolvers<void>();
    this.started = started.promise;
    const timer = setTimeout(() => {
      started.reject(
        new Error(
          `Cannot start server: no "listening on" line within ${START_TIMEOUT_MS} ms`,
        ),
      );
      this.kill();
    }, START_TIMEOUT_MS);
    this.started.then(() => clearTimeout(timer), () => clearTimeout(timer));

    let pending = ""; // the stdout line not yet ended by "\n"
    const stdoutDone = drain(child.stdout, (text) => {
      if (onStdout === undefined) this.#stdout += text;
      else onStdout(text);
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) this.#checkLine(line, started.resolve);
    }).then(() => this.#checkLine(pending, started.resolve));
    const stderrDone = drain(child.stderr, (text) => {
      this.#stderr += text;
    });
    this.#drained = Promise.all([stdoutDone, stderrDone]);
    // Stdout closes when the child exits; no line by then means it never will.
    stdoutDone.then(async () => {
      const status = await this.status;
      started.reject(
        new Error(`Cannot start server: it exited with code ${status.code} before listening`),
      );
    });
  }

  #checkLine(line: string, resolve: () => void): void {
    if (this.#listening !== undefined) return;
    const match = LISTENING_LINE.exec(line);
    if (match === null) return;
    this.#listening = { hostname: match[1] ?? "", port: Number(match[2]) };
    resolve();
  }

  get port(): number {
    return this.#listening?.port ?? 0;
  }

  get hostname(): string {
    return this.#listening?.hostname ?? "";
  }

  get url(): string {
    return `http://${this.hostname}:${this.port}`;
  }

  stdoutText(): string {
    return this.#stdout;
  }

  stderrText(): string {
    return this.#stderr;
  }

  signal(sig: Deno.Signal): void {
    if (this.#exited) return;
    try {
      this.#child.kill(sig);
    } catch (err) {
      // The child may exit between the check and the kill.
      if (!(err instanceof TypeError)) throw err;
    }
  }

  kill(): void {
    this.signal("SIGKILL");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#exited) {
      this.signal("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const gaveUp = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), STOP_TIMEOUT_MS);
      });
      const outcome = await Promise.race([this.status, gaveUp]);
      clearTimeout(timer);
      if (outcome === "timeout") this.kill();
    }
    await this.status;
    await this.#drained;
    await this.started.catch(() => {});
  }
}

/** drain reads `stream` to its end as UTF-8 text, handing each piece to `onText`. */
export async function drain(
  stream: ReadableStream<Uint8Array>,
  onText: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stream) onText(decoder.decode(chunk, { stream: true }));
  } catch {
    // A pipe that fails mid-read has nothing more to give; the exit status tells the story.
  }
  const rest = decoder.decode();
  if (rest !== "") onText(rest);
}

/** RawRequestOptions tune {@linkcode rawRequest}. */
export interface RawRequestOptions {
  /** Give up waiting for EOF after this long and return what arrived. Default 5000 ms. */
  timeoutMs?: number;
  /** Shut down the write half after sending, so the server reads EOF. */
  halfClose?: boolean;
}

/**
 * rawRequest connects to 127.0.0.1:`port`, writes `data` (a string is encoded
 * as latin1, see `encode`; an async iterable is written chunk by chunk, each
 * one whole before the next is asked for), optionally half-closes, and reads until EOF or
 * until `timeoutMs` (default 5 s) passes, returning every byte received. A
 * reset or broken pipe counts as the server closing: the bytes already
 * received are returned, since a server that answers 413 may close before it
 * has read the whole request. The connection is closed on every path.
 */
export async function rawRequest(
  port: number,
  data: string | Uint8Array | AsyncIterable<Uint8Array>,
  options: RawRequestOptions = {},
): Promise<Uint8Array> {
  const { timeoutMs = RAW_REQUEST_TIMEOUT_MS, halfClose = false } = options;
  const pieces = typeof data === "string"
    ? [encode(data)]
    : data instanceof Uint8Array
    ? [data]
    : data;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let closed = false;
  let timedOut = false;
  const close = () => {
    if (closed) return;
    closed = true;
    conn.close();
  };
  // Closing the socket makes a pending read or write fail, which ends the exchange.
  const timer = setTimeout(() => {
    timedOut = true;
    close();
  }, timeoutMs);
  const received: Uint8Array[] = [];
  try {
    try {
      for await (const bytes of pieces) {
        for (let offset = 0; offset < bytes.length;) {
          offset += await conn.write(bytes.subarray(offset));
        }
      }
      if (halfClose) await conn.closeWrite();
    } catch (err) {
      if (!timedOut && !isPeerGone(err)) throw err;
    }
    while (!timedOut) {
      const buf = new Uint8Array(READ_CHUNK_BYTES);
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch (err) {
        if (timedOut || isPeerGone(err)) break;
        throw err;
      }
      if (n === null) break;
      received.push(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
    close();
  }
  return concat(received);
}

/** isPeerGone reports whether `err` means the other side closed or reset the connection. */
function isPeerGone(err: unknown): boolean {
  return err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.ConnectionAborted ||
    err instanceof Deno.errors.NotConnected;
}

/** ParseResponsesOptions tell {@linkcode parseResponses} what the requests were. */
export interface ParseResponsesOptions {
  /**
   * The method of each request, in order, so that responses to HEAD are read
   * without a body (RFC 9112 §6.3). Interim 1xx responses do not use up an
   * entry. Missing entries count as GET.
   */
  headMethods?: readonly string[];
}

/** Framing says how a response body was delimited on the wire (RFC 9112 §6.3). */
export type Framing = "none" | "content-length" | "chunked" | "eof";

/** ParsedResponse is one HTTP/1.x response read by {@linkcode parseResponses}. */
export interface ParsedResponse {
  /** The HTTP version from the status line, e.g. `HTTP/1.1`. */
  readonly version: string;
  /** The status code. */
  readonly status: number;
  /** The reason phrase, possibly empty. */
  readonly reason: string;
  /** The header fields in order, names lowercased, values without surrounding whitespace. */
  readonly headers: readonly (readonly [string, string])[];
  /** The chunked trailer fields, in the same form as `headers`. */
  readonly trailers: readonly (readonly [string, string])[];
  /** How the body was delimited. */
  readonly framing: Framing;
  /** The body, with chunked coding removed. */
  readonly body: Uint8Array;
  /** The status line and header fields exactly as received, final CRLF CRLF included (latin1). */
  readonly rawHead: string;
  /**
   * header returns the value of the field `name` (any case), several fields
   * joined with ", " as `Headers.get` does, or null when absent.
   */
  header(name: string): string | null;
  /** text returns the body decoded as UTF-8. */
  text(): string;
}

/** ParsedResponseImpl is the plain-data {@linkcode ParsedResponse}. */
class ParsedResponseImpl implements ParsedResponse {
  constructor(
    readonly version: string,
    readonly status: number,
    readonly reason: string,
    readonly headers: readonly (readonly [string, string])[],
    readonly trailers: readonly (readonly [string, string])[],
    readonly framing: Framing,
    readonly body: Uint8Array,
    readonly rawHead: string,
  ) {}

  header(name: string): string | null {
    const lower = name.toLowerCase();
    const values = this.headers.filter(([n]) => n === lower).map(([, v]) => v);
    return values.length === 0 ? null : values.join(", ");
  }

  text(): string {
    return new TextDecoder().decode(this.body);
  }
}

const STATUS_LINE = /^(HTTP\/1\.[01]) ([0-9]{3}) ([\t\x20-\x7e\x80-\xff]*)$/;
/** RFC 9110 §5.6.2 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 §5.5 field-value: visible characters, obs-text, and inner SP / HTAB. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** RFC 9112 §7.1 chunk-size, then chunk-ext (checked loosely: no control characters). */
const CHUNK_LINE = /^([0-9A-Fa-f]+)((?:[ \t]*;[\t\x20-\x7e\x80-\xff]*)?)$/;
/** Longer chunk sizes exceed Number.MAX_SAFE_INTEGER, and no test sends that much. */
const MAX_CHUNK_SIZE_DIGITS = 13;

/**
 * parseResponses parses `bytes` as a stream of HTTP/1.0 or HTTP/1.1
 * responses, strictly: every line must end in CRLF, header names must be
 * tokens with no space before the colon, obs-fold is refused, and a response
 * may not carry both Content-Length and Transfer-Encoding or two
 * Content-Length fields. Bodies are framed per RFC 9112 §6.3: none for 1xx,
 * 204, 304 and responses to HEAD (see `options.headMethods`); else chunked
 * (decoded) when chunked is the final transfer coding; else Content-Length;
 * else to the end of `bytes`. Interim 1xx responses are entries of their own.
 * Throws a SyntaxError when the bytes are malformed or end mid-response.
 */
export function parseResponses(
  bytes: Uint8Array,
  options: ParseResponsesOptions = {},
): ParsedResponse[] {
  const methods = options.headMethods ?? [];
  const responses: ParsedResponse[] = [];
  let pos = 0;
  let request = 0; // index of the request the next final response answers
  while (pos < bytes.length) {
    const where = `response ${responses.length + 1} at byte ${pos}`;
    const start = pos;
    const statusLine = readLine(bytes, pos, where);
    pos = statusLine.next;
    const match = STATUS_LINE.exec(statusLine.text);
    if (match === null) fail(where, `invalid status line "${statusLine.text}"`);
    const [, version = "", code = "", reason = ""] = match;
    const status = Number(code);
    if (status < 100) fail(where, `invalid status code "${code}"`);
    const fields = readFields(bytes, pos, where);
    pos = fields.next;
    const headers = fields.fields;
    const rawHead = decode(bytes.subarray(start, pos));

    const interim = status < 200;
    const method = interim ? "" : (methods[request] ?? "GET").toUpperCase();
    if (!interim) request++;

    let framing: Framing;
    let body: Uint8Array = new Uint8Array(0);
    let trailers: (readonly [string, string])[] = [];
    const lengths = headers.filter(([n]) => n === "content-length");
    const codings = headers
      .filter(([n]) => n === "transfer-encoding")
      .flatMap(([, v]) => v.split(","))
      .map((c) => c.trim().toLowerCase());
    if (lengths.length > 1) fail(where, "more than one Content-Length field");
    if (lengths.length > 0 && codings.length > 0) {
      fail(where, "both Content-Length and Transfer-Encoding"); // RFC 9112 §6.1
    }
    const lengthValue = lengths[0]?.[1];
    if (lengthValue !== undefined && !/^[0-9]+$/.test(lengthValue)) {
      fail(where, `invalid Content-Length "${lengthValue}"`);
    }
    if (codings.some((c) => !TOKEN.test(c))) fail(where, "invalid Transfer-Encoding");

    if (interim || status === 204 || status === 304 || method === "HEAD") {
      framing = "none";
    } else if (codings.length > 0 && codings.at(-1) === "chunked") {
      framing = "chunked";
      const chunked = readChunked(bytes, pos, where);
      body = chunked.body;
      trailers = chunked.trailers;
      pos = chunked.next;
    } else if (lengthValue !== undefined && codings.length === 0) {
      framing = "content-length";
      const length = Number(lengthValue);
      if (pos + length > bytes.length) {
        fail(where, `body ends after ${bytes.length - pos} of ${length} bytes`);
      }
      body = bytes.slice(pos, pos + length);
      pos += length;
    } else {
      framing = "eof";
      body = bytes.slice(pos);
      pos = bytes.length;
    }
    responses.push(
      new ParsedResponseImpl(
        version,
        status,
        reason,
        headers,
        trailers,
        framing,
        body,
        rawHead,
      ),
    );
  }
  return responses;
}

/** fail throws the SyntaxError for malformed input to {@linkcode parseResponses}. */
function fail(where: string, detail: string): never {
  throw new SyntaxError(`Cannot parse ${where}: ${detail}`);
}

/** readLine returns the latin1 text before the next CRLF at or after `pos`. */
function readLine(
  bytes: Uint8Array,
  pos: number,
  where: string,
): { text: string; next: number } {
  const lf = bytes.indexOf(0x0a, pos);
  if (lf === -1) fail(where, "input ends in the middle of a line");
  if (lf === pos || bytes[lf - 1] !== 0x0d) fail(where, "line ends in a bare LF");
  const text = decode(bytes.subarray(pos, lf - 1));
  if (text.includes("\r")) fail(where, "bare CR inside a line");
  return { text, next: lf + 1 };
}

/** readFields reads header (or trailer) fields up to and including the empty line. */
function readFields(
  bytes: Uint8Array,
  pos: number,
  where: string,
): { fields: (readonly [string, string])[]; next: number } {
  const fields: (readonly [string, string])[] = [];
  for (;;) {
    const line = readLine(bytes, pos, where);
    pos = line.next;
    if (line.text === "") return { fields, next: pos };
    if (line.text[0] === " " || line.text[0] === "\t") {
      fail(where, `obsolete line folding in "${line.text}"`); // RFC 9112 §5.2
    }
    const colon = line.text.indexOf(":");
    const name = colon === -1 ? "" : line.text.slice(0, colon);
    if (!TOKEN.test(name)) fail(where, `invalid header field "${line.text}"`);
    const value = line.text.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!FIELD_VALUE.test(value)) fail(where, `invalid value for header "${name}"`);
    fields.push([name.toLowerCase(), value]);
  }
}

/** readChunked decodes a chunked body (RFC 9112 §7.1) starting at `pos`. */
function readChunked(
  bytes: Uint8Array,
  pos: number,
  where: string,
): { body: Uint8Array; trailers: (readonly [string, string])[]; next: number } {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const line = readLine(bytes, pos, where);
    pos = line.next;
    const match = CHUNK_LINE.exec(line.text);
    const digits = match?.[1];
    if (digits === undefined) fail(where, `invalid chunk-size line "${line.text}"`);
    if (digits.length > MAX_CHUNK_SIZE_DIGITS) fail(where, `chunk size "${digits}" is too large`);
    const size = parseInt(digits, 16);
    if (size === 0) {
      const trailer = readFields(bytes, pos, where);
      return { body: concat(chunks), trailers: trailer.fields, next: trailer.next };
    }
    if (pos + size + 2 > bytes.length) fail(where, "input ends inside a chunk");
    chunks.push(bytes.slice(pos, pos + size));
    pos += size;
    if (bytes[pos] !== 0x0d || bytes[pos + 1] !== 0x0a) {
      fail(where, "chunk data not followed by CRLF");
    }
    pos += 2;
  }
}

/**
 * withTempDir creates a temporary directory, calls `fn` with its real path
 * (symlinks such as macOS's /var → /private/var resolved, so the server's
 * root checks see the same path), and removes the directory and everything in
 * it afterwards, whether `fn` succeeds or throws.
 */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "minserve_test_" }));
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
