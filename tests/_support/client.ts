/**
 * client.ts — the one raw-socket client of the test suites: connect to a
 * host and port (or wrap a connection already made, such as a TLS one), send
 * exact bytes, and read what comes back piece by piece with a deadline on
 * every read, parsing responses from the start of the stream with
 * {@linkcode parseResponses}. It reads only when asked to, so a test can
 * leave bytes unread on purpose (a stalled download), or, after
 * {@linkcode Client.readInBackground}, all the time, so a test sees a reply
 * and an EOF it never asked for (a 503 at the connection cap).
 */

import { concat, decode, encode } from "./bytes.ts";
import { type ParsedResponse, parseResponses } from "./parse_responses.ts";

/** DEFAULT_READ_TIMEOUT_MS: how long one read waits unless told otherwise. Past it the read throws. */
export const DEFAULT_READ_TIMEOUT_MS = 5_000;
/** DEFAULT_READ_BYTES: the most one read takes unless told otherwise. */
export const DEFAULT_READ_BYTES = 64 * 1024;

/**
 * isPeerGone reports whether a socket error `err` means the other side
 * closed or reset the connection (TLS adds `UnexpectedEof` for a peer that
 * closes without close_notify), so the stream has simply ended.
 */
export function isPeerGone(err: unknown): boolean {
  return err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.ConnectionAborted ||
    err instanceof Deno.errors.NotConnected ||
    err instanceof Deno.errors.UnexpectedEof;
}

/** ClientOptions tune a {@linkcode Client}. */
export interface ClientOptions {
  /** How long each read waits by default; {@linkcode DEFAULT_READ_TIMEOUT_MS} when absent. */
  readTimeoutMs?: number;
}

/** ConnectOptions say where {@linkcode Client.connect} connects, and tune the client. */
export interface ConnectOptions extends ClientOptions {
  /** The host to connect to; `127.0.0.1` when absent. */
  hostname?: string;
}

/** ResponsesOptions tune {@linkcode Client.responses}. */
export interface ResponsesOptions {
  /** The method of each request in order, so responses to HEAD are read without a body. */
  headMethods?: readonly string[];
  /** How long to wait for all of them; the client's read timeout when absent. */
  timeoutMs?: number;
  /** Count only final (2xx–5xx) responses, not interim 1xx ones. */
  finalOnly?: boolean;
}

/**
 * Client is one raw connection kept open across exchanges. It records every
 * byte received, so responses are parsed from the start of the stream. A
 * reset counts as the end of the stream, as EOF does. Dispose it (`using
 * client = …`) to close the connection.
 */
export class Client implements Disposable {
  /** When the connection was made (or wrapped), in ms since the epoch. */
  readonly connectedAt: number = Date.now();
  #conn: Deno.Conn;
  #readTimeoutMs: number;
  #parts: Uint8Array[] = [];
  #closed = false;
  #endedAt: number | undefined;
  #background: Promise<void> | undefined;

  /** The constructor wraps `conn`, made by the caller (e.g. `Deno.connectTls`). */
  constructor(conn: Deno.Conn, options: ClientOptions = {}) {
    this.#conn = conn;
    this.#readTimeoutMs = options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  }

  /** connect opens a TCP connection to `hostname` (127.0.0.1 by default):`port`. Throws what `Deno.connect` throws. */
  static async connect(port: number, options: ConnectOptions = {}): Promise<Client> {
    const { hostname = "127.0.0.1", ...rest } = options;
    return new Client(await Deno.connect({ hostname, port }), rest);
  }

  /** Whether the server has ended the stream (EOF or reset). */
  get eof(): boolean {
    return this.#endedAt !== undefined;
  }

  /** When the stream ended, in ms since the epoch; undefined while it is open. */
  get endedAt(): number | undefined {
    return this.#endedAt;
  }

  /** Everything received so far. */
  get bytes(): Uint8Array {
    return concat(this.#parts);
  }

  /** Whether this side has closed the connection (by `close`, dispose, or a read's timeout). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * send writes all of `data`: a string as latin1 (see `encode`), an async
   * iterable chunk by chunk, each one whole before the next is asked for.
   * Throws the socket's error.
   */
  async send(data: string | Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    const pieces = typeof data === "string"
      ? [encode(data)]
      : data instanceof Uint8Array
      ? [data]
      : data;
    for await (const bytes of pieces) {
      for (let offset = 0; offset < bytes.length;) {
        offset += await this.#conn.write(bytes.subarray(offset));
      }
    }
  }

  /** closeWrite shuts down the write half, so the server reads EOF. Throws the socket's error. */
  async closeWrite(): Promise<void> {
    await this.#conn.closeWrite();
  }

  /**
   * read reads once, up to `max` bytes, and returns how many arrived, or
   * null when the server has ended the stream. Throws `Deno.errors.TimedOut`
   * if nothing arrives within `timeoutMs` (the connection is then closed),
   * `Deno.errors.BadResource` once this side has closed it, and an Error
   * when reading in the background.
   */
  async read(max = DEFAULT_READ_BYTES, timeoutMs = this.#readTimeoutMs): Promise<number | null> {
    if (this.#background !== undefined) {
      throw new Error("Cannot read: the client is reading in the background");
    }
    return await this.#read(max, timeoutMs);
  }

  async #read(max: number, timeoutMs: number): Promise<number | null> {
    if (this.eof) return null;
    if (this.#closed) {
      throw new Deno.errors.BadResource("Cannot read: this client has closed the connection");
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.close();
    }, Math.max(timeoutMs, 1));
    const buf = new Uint8Array(max);
    let n: number | null;
    try {
      n = await this.#conn.read(buf);
    } catch (err) {
      if (timedOut) {
        throw new Deno.errors.TimedOut(`Cannot read: nothing arrived within ${timeoutMs} ms`);
      }
      if (!isPeerGone(err)) throw err;
      n = null; // a reset ends the stream as EOF does
    } finally {
      clearTimeout(timer);
    }
    if (n === null) {
      this.#endedAt = Date.now();
      return null;
    }
    this.#parts.push(buf.subarray(0, n));
    return n;
  }

  /**
   * parsed returns the responses received so far (see {@linkcode parseResponses}),
   * or undefined while the bytes end mid-response.
   */
  parsed(headMethods: readonly string[] = []): ParsedResponse[] | undefined {
    try {
      return parseResponses(this.bytes, { headMethods });
    } catch (err) {
      if (err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  /**
   * responses reads until the bytes received so far parse as at least
   * `count` whole responses (only final ones counted with `finalOnly`), and
   * returns them all, interim ones included. Throws `Deno.errors.TimedOut`
   * when they are not all there within `timeoutMs`, and an Error on EOF
   * before that.
   */
  async responses(count = 1, options: ResponsesOptions = {}): Promise<ParsedResponse[]> {
    const { headMethods = [], timeoutMs = this.#readTimeoutMs, finalOnly = false } = options;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = this.parsed(headMethods);
      const counted = finalOnly ? parsed?.filter((r) => r.status >= 200) : parsed;
      if (parsed !== undefined && counted!.length >= count) return parsed;
      if ((await this.read(DEFAULT_READ_BYTES, this.#remaining(deadline, timeoutMs))) === null) {
        throw new Error(
          `Cannot read ${count} responses: the server closed the connection after:\n${
            decode(this.bytes)
          }`,
        );
      }
    }
  }

  /**
   * untilEof reads until the server ends the stream and returns how long
   * that took in ms. Throws `Deno.errors.TimedOut` when the stream has not
   * ended within `timeoutMs`, even if bytes keep arriving.
   */
  async untilEof(timeoutMs = this.#readTimeoutMs): Promise<number> {
    const start = Date.now();
    const deadline = start + timeoutMs;
    while ((await this.read(DEFAULT_READ_BYTES, this.#remaining(deadline, timeoutMs))) !== null) {
      // Keep reading: only the end matters here.
    }
    return Date.now() - start;
  }

  /**
   * readInBackground reads everything that arrives, with no deadline, until
   * EOF, a reset or {@linkcode Client.close}; it returns a promise that
   * resolves then, with `endedAt` set. Calling it again returns the same
   * promise. Afterwards {@linkcode Client.read} throws; use `bytes`,
   * `parsed` and `eof` instead.
   */
  readInBackground(): Promise<void> {
    this.#background ??= (async () => {
      const buf = new Uint8Array(DEFAULT_READ_BYTES);
      try {
        for (;;) {
          const n = await this.#conn.read(buf);
          if (n === null) break;
          this.#parts.push(buf.slice(0, n));
        }
      } catch {
        // A reset, or our own close: either way the stream has ended.
      }
      this.#endedAt = Date.now();
    })();
    return this.#background;
  }

  /**
   * #remaining returns the ms left until `deadline`; when none are left it
   * closes the connection and throws `Deno.errors.TimedOut` (naming the whole
   * `timeoutMs`), so a peer that keeps sending cannot keep a bounded wait
   * going, and a timeout always leaves the client closed.
   */
  #remaining(deadline: number, timeoutMs: number): number {
    const left = deadline - Date.now();
    if (left > 0) return left;
    this.close();
    throw new Deno.errors.TimedOut(`Cannot read: not done within ${timeoutMs} ms`);
  }

  /** close closes the connection; it is safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Symbol.dispose closes the connection. */
  [Symbol.dispose](): void {
    this.close();
  }
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
 * one whole before the next is asked for), optionally half-closes, and reads
 * until EOF or until `timeoutMs` (default 5 s) passes, returning every byte
 * received. A reset or broken pipe counts as the server closing: the bytes
 * already received are returned, since a server that answers 413 may close
 * before it has read the whole request. The connection is closed on every
 * path. Throws only what connecting throws, or an unexpected socket error.
 */
export async function rawRequest(
  port: number,
  data: string | Uint8Array | AsyncIterable<Uint8Array>,
  options: RawRequestOptions = {},
): Promise<Uint8Array> {
  const { timeoutMs = DEFAULT_READ_TIMEOUT_MS, halfClose = false } = options;
  const deadline = Date.now() + timeoutMs;
  using client = await Client.connect(port);
  // Closing the socket makes a pending write fail, which ends the exchange.
  const timer = setTimeout(() => client.close(), timeoutMs);
  try {
    await client.send(data);
    if (halfClose) await client.closeWrite();
  } catch (err) {
    if (!client.closed && !isPeerGone(err)) throw err;
  } finally {
    clearTimeout(timer);
  }
  if (client.closed) return client.bytes;
  try {
    await client.untilEof(deadline - Date.now());
  } catch (err) {
    if (!(err instanceof Deno.errors.TimedOut)) throw err;
  }
  return client.bytes;
}
