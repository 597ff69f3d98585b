/**
 * connection.ts — ② one connection's life, from its first byte to its close.
 *
 * One request, walked through the tree:
 *
 * ① `server.ts` accepts the TCP (or TLS) connection and hands it to a
 *    {@linkcode Connection}, which loops over requests on it.
 * ② Here, the connection reads into its {@linkcode InputBuffer} until
 * ③ `http/request_head.ts` says a whole head has arrived (or throws a 4xx/5xx
 *    {@linkcode HttpError}: we answer it and close, since the byte stream can
 *    no longer be trusted).
 * ④ `http/body.ts` wraps the body (Content-Length or chunked) as a size-capped
 *    stream that reads only when the handler asks, and sends `100 Continue`
 *    just before its first read.
 * ⑤ The handler, `app.ts`, gets a web `Request` and returns a `Response`, as
 *    with `Deno.serve`; it never sees the socket.
 * ⑥⑦ For static files it asks `static/serve_file.ts`, which finds the file
 *    through the representation store (`static/store.ts`) and lets
 *    `static/serve_content.ts` decide the answer; none knows of sockets.
 * ⑧ `http/response_writer.ts` frames the Response onto the socket.
 *
 * One seam skips ⑤'s objects: a {@linkcode FastPath} (the app's) may answer
 * a parsed head at once with a {@linkcode PlainResponse} — a static file
 * whose answer is in memory — decided by the same static-layer code, so a
 * browser's page load costs no `Request`, `Response` or `Headers`.
 * Then the connection drains what the handler left of the body (bounded) and
 * goes round again for the next, possibly pipelined, request.
 *
 * Every wait has a deadline ({@linkcode Phase} says which); `server.ts`
 * sweeps the deadlines once every SWEEP_INTERVAL_MS and calls
 * {@linkcode Connection.expire}. So a timeout costs no timer per read.
 *
 * This file holds the one catch that turns an error into a reply.
 */

import { errorResponse } from "./error_page.ts";
import { BodyReader, bodyStream } from "./http/body.ts";
import type { FastPath, Handler } from "./http/handler.ts";
import { HttpError, isClientGone } from "./http/http_error.ts";
import { type ByteSource, InputBuffer } from "./http/input.ts";
import { type HeadLimits, HeadParser, type RequestHead } from "./http/request_head.ts";
import {
  type ByteSink,
  type PlainResponse,
  writeAll,
  writePlain,
  writeResponse,
} from "./http/response_writer.ts";
import type { Logger } from "./log.ts";

/** ConnectionSettings are the limits and timeouts of every connection. */
export interface ConnectionSettings {
  headLimits: HeadLimits;
  /** Largest request body; past it 413. */
  maxBodyBytes: number;
  /** How long an idle connection waits for a request's first byte. */
  idleTimeoutMs: number;
  /** How long a request head may take to arrive, and the longest stall inside a body. */
  requestTimeoutMs: number;
  /** The `Server` field, e.g. "minserve/0.1.0". */
  serverName: string;
  /** "https" on TLS connections: the scheme of the Request's URL. */
  scheme: "http" | "https";
  /** Answers what it can without a Request (the app's static fast path), when given. */
  fastPath?: FastPath | undefined;
  /** Told of every response sent, when given (--metrics). */
  counter?: ResponseCounter | undefined;
}

/** ResponseCounter is told of each response: method, status, content bytes sent, milliseconds since its head arrived. */
export interface ResponseCounter {
  response(method: string, status: number, bytes: number, ms: number): void;
}

/** MAX_DRAIN_BYTES is how much unread request body we read and discard to keep a connection; more and we close it. */
export const MAX_DRAIN_BYTES = 64 * 1024;
/** DRAIN_TIMEOUT_MS bounds that discarding. */
export const DRAIN_TIMEOUT_MS = 2_000;
/** WRITE_TIMEOUT_MS: a client that accepts no bytes of a response for this long is cut off. */
export const WRITE_TIMEOUT_MS = 30_000;
/** LINGER_MS: after an error reply we stop writing and read (and discard) for this long before closing, so the reply is not destroyed by a reset. */
export const LINGER_MS = 1_000;
/** MIN_BODY_BYTES_PER_SECOND: a body arriving slower than this on average (after one request timeout of grace) is cut off with 408. */
export const MIN_BODY_BYTES_PER_SECOND = 1024;
/**
 * MIN_SEND_BYTES_PER_SECOND: a client that takes a response slower than
 * this on average is cut off. Only time spent waiting on the client counts
 * (writes the kernel could not take at once), so a response that is slow to
 * produce (an event stream) is never blamed on its reader; and the first
 * request timeout of waiting is grace, so the burst into socket buffers at
 * the start earns no credit.
 */
export const MIN_SEND_BYTES_PER_SECOND = 1024;

/** Phase is what a connection is waiting for; each has its own deadline. */
export type Phase = "idle" | "head" | "handler" | "body" | "respond" | "drain" | "closed";

/** Conn is the part of `Deno.Conn` a connection uses. */
export interface Conn extends ByteSource, ByteSink {
  readonly remoteAddr: Deno.Addr;
  readonly localAddr: Deno.Addr;
  close(): void;
  closeWrite(): Promise<void>;
}

// Methods the Fetch API refuses to put in a Request (CONNECT, TRACE, TRACK),
// and the ones it would silently upper-case ("get" → "GET"): HTTP methods are
// case-sensitive (RFC 9110 §9.1), so "get" is an unknown method, not GET.
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
const NORMALIZED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/** A path segment that is "." or "..", literally or percent-encoded. */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

/** pathOf is the path of a request target, without scheme, authority or query. */
function pathOf(target: string): string {
  const start = target.charCodeAt(0) === 0x2f ? 0 : target.indexOf("/", target.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = target.indexOf("?", start);
  return target.slice(start, query === -1 ? undefined : query);
}

/** Connection serves the requests of one client connection in order. */
export class Connection {
  #conn: Conn;
  #handler: Handler;
  #settings: ConnectionSettings;
  #logger: Logger;
  /** The method and start of the current request, kept only for the counter. */
  #method = "";
  #startedAt = 0;
  #phase: Phase = "idle";
  #deadline = Infinity;
  #since = Date.now();
  #closing = false;
  #expired = false;
  #closed = false;
  #requestLine = "-";
  #referer: string | undefined;
  #userAgent: string | undefined;
  #bodyStart = 0;
  #bodyReceived = 0;
  /** Time spent waiting on the client's reads in this response, and the bytes it took after the first window. */
  #sendWaited = 0;
  #sendTaken = 0;
  /** When the write under way was issued. */
  #issued = 0;
  #source: ByteSource;
  #sink: ByteSink;
  #parser: HeadParser;

  /** Creates the connection; call {@linkcode serve} to run it. */
  constructor(conn: Conn, handler: Handler, settings: ConnectionSettings, logger: Logger) {
    this.#conn = conn;
    this.#handler = handler;
    this.#settings = settings;
    this.#logger = logger;
    this.#parser = new HeadParser(settings.headLimits);
    // Every read and write passes here, to keep the deadline current and to
    // stop at once if the sweeper expired the connection meanwhile.
    // Head reads go straight to the socket (one async layer less on the hot
    // path; #readHead checks for expiry itself); body reads keep deadlines.
    this.#source = {
      read: (p) =>
        this.#phase === "handler" || this.#phase === "body"
          ? this.#readBody(p)
          : this.#conn.read(p),
    };
    this.#sink = {
      write: (p) => {
        if (this.#phase !== "respond") return this.#conn.write(p);
        // Writes on a connection are one at a time: one field holds when.
        this.#issued = Date.now();
        this.#deadline = this.#issued + this.#sendAllowance();
        return this.#conn.write(p);
      },
      wrote: (n) => {
        if (this.#phase === "respond") this.#taken(n);
      },
    };
  }

  /** What the connection is waiting for. */
  get phase(): Phase {
    return this.#phase;
  }

  /** When the current wait ends, in ms since the epoch (Infinity: no limit). */
  get deadline(): number {
    return this.#deadline;
  }

  /** When the current phase began, in ms since the epoch: how long an idle or head wait has lasted. */
  get since(): number {
    return this.#since;
  }

  /** serve runs the connection until it closes. It never throws. */
  async serve(): Promise<void> {
    const input = new InputBuffer(this.#source, this.#settings.headLimits.maxHeadBytes + 2);
    try {
      let keepAlive = true;
      while (keepAlive && !this.#closing) {
        const head = await this.#readHead(input);
        if (head === null) break;
        if (this.#settings.counter !== undefined) {
          this.#method = head.method;
          this.#startedAt = performance.now();
        }
        const fast = this.#fastAnswer(head);
        if (fast !== undefined) {
          this.#setPhase("respond", WRITE_TIMEOUT_MS);
          const result = await writePlain(this.#sink, fast, {
            head: head.method === "HEAD",
            minor: head.minor,
            keepAlive: head.keepAlive && !this.#closing,
            server: this.#settings.serverName,
          });
          if (this.#logger.enabled) {
            this.#noteRequest(head);
            this.#log(fast.status, result.bodyBytes);
          } else if (this.#settings.counter !== undefined) {
            this.#count(fast.status, result.bodyBytes);
          }
          keepAlive = result.keepAlive;
          continue;
        }
        keepAlive = await this.#exchange(head, input);
      }
    } catch (err) {
      await this.#fail(err);
    } finally {
      this.#close();
      input.release();
    }
  }

  /** The fast path's answer, or undefined; a fast path that fails leaves the request to the handler. */
  #fastAnswer(head: RequestHead): PlainResponse | undefined {
    const fastPath = this.#settings.fastPath;
    if (fastPath === undefined) return undefined;
    try {
      return fastPath(head);
    } catch (err) {
      this.#noteRequest(head);
      this.#logger.error(`${this.#logLine()}: fast path failed`, err);
      return undefined;
    }
  }

  /**
   * expire is called by the sweeper once the deadline has passed: a client
   * that is sending a request too slowly gets 408; any other wait just ends.
   */
  expire() {
    if (this.#expired || this.#closed) return;
    this.#expired = true;
    if (this.#phase === "head" || this.#phase === "body") {
      // The loop is blocked in a read, so nothing else is writing now.
      const reply = errorResponse(new HttpError(408, undefined, { close: true }));
      const done = () => this.#close();
      const fallback = setTimeout(done, LINGER_MS);
      writeResponse(this.#conn, reply, {
        head: false,
        minor: 1,
        keepAlive: false,
        server: this.#settings.serverName,
      })
        .then((result) => this.#log(408, result.bodyBytes), () => {})
        .finally(() => {
          clearTimeout(fallback);
          done();
        });
    } else {
      this.#close();
    }
  }

  /** shutdown asks the connection to finish its current exchange and close; an idle one closes now. */
  shutdown() {
    this.#closing = true;
    if (this.#phase === "idle") this.expire();
  }

  /** Forces the connection closed, whatever it is doing. */
  abort() {
    this.#expired = true;
    this.#close();
  }

  #setPhase(phase: Phase, timeoutMs: number) {
    const now = Date.now();
    this.#phase = phase;
    this.#since = now;
    this.#deadline = now + timeoutMs;
    this.#sendWaited = this.#sendTaken = 0;
  }

  /**
   * How long the write about to be issued may take: WRITE_TIMEOUT_MS without
   * progress at most, and no longer than keeps the client at the send floor
   * (see {@linkcode MIN_SEND_BYTES_PER_SECOND}).
   */
  #sendAllowance(): number {
    const window = this.#settings.requestTimeoutMs;
    const credit = (this.#sendTaken * 1000) / MIN_SEND_BYTES_PER_SECOND + 2 * window;
    return Math.min(WRITE_TIMEOUT_MS, Math.max(0, credit - this.#sendWaited));
  }

  /**
   * Counts a finished write. The first window of waiting is grace: socket
   * buffers fill then, and what they took says nothing of the reader. After
   * it, the bytes taken must keep up with the floor over the time waited,
   * one window of slack allowed (the kernel wakes a blocked writer in
   * chunks); a reader that falls behind is cut off.
   */
  #taken(n: number): void {
    const window = this.#settings.requestTimeoutMs;
    this.#sendWaited += Date.now() - this.#issued;
    if (this.#sendWaited < window) return;
    this.#sendTaken += n;
    const owed = ((this.#sendWaited - 2 * window) * MIN_SEND_BYTES_PER_SECOND) / 1000;
    if (this.#sendTaken < owed) {
      this.abort();
      throw new Deno.errors.Interrupted("The client reads the response too slowly");
    }
  }

  /** A read for the body the handler is reading: stalls and trickles are bounded. */
  async #readBody(p: Uint8Array): Promise<number | null> {
    const now = Date.now();
    const timeout = this.#settings.requestTimeoutMs;
    const onSchedule = this.#bodyStart + timeout +
      (this.#bodyReceived / MIN_BODY_BYTES_PER_SECOND) * 1000;
    this.#phase = "body";
    this.#deadline = Math.min(now + timeout, Math.max(onSchedule, now + 1000));
    const n = await this.#conn.read(p);
    if (this.#expired) throw new Deno.errors.Interrupted("Connection expired");
    this.#phase = "handler";
    this.#deadline = Infinity;
    this.#bodyReceived += n ?? 0;
    return n;
  }

  async #readHead(input: InputBuffer): Promise<RequestHead | null> {
    this.#requestLine = "-";
    this.#referer = this.#userAgent = undefined;
    if (input.available > 0) this.#setPhase("head", this.#settings.requestTimeoutMs);
    else this.#setPhase("idle", this.#settings.idleTimeoutMs);
    for (;;) {
      if (input.available > 0) {
        if (this.#phase === "idle") this.#setPhase("head", this.#settings.requestTimeoutMs);
        const result = this.#parser.parse(input.view());
        if (result.kind === "complete") {
          input.consume(result.consumed);
          return result.head;
        }
      }
      // End of stream between requests is a normal close; inside a head
      // there is no one left to answer.
      const more = await input.fill();
      // The sweeper may have expired us (and be writing 408) as bytes came.
      if (this.#expired) throw new Deno.errors.Interrupted("Connection expired");
      if (!more) return null;
    }
  }

  /** Answers one request; returns whether the connection may carry another. */
  async #exchange(head: RequestHead, input: InputBuffer): Promise<boolean> {
    this.#noteRequest(head);
    const reader = new BodyReader(input, head.framing, this.#settings.maxBodyBytes);
    let continueSent = false;
    const sendContinue = async () => {
      if (head.expectContinue && !continueSent && !reader.tooLarge) {
        continueSent = true;
        await writeAll(this.#sink, CONTINUE);
      }
    };
    this.#bodyStart = Date.now();
    this.#bodyReceived = 0;

    this.#phase = "handler";
    this.#deadline = Infinity;
    let request: Request | undefined;
    let response: Response;
    try {
      // A Request for GET or HEAD cannot carry a body (Fetch), and the body
      // has no meaning there (RFC 9110 §9.3.1): read and check it now, so a
      // framing error is answered 400 before anything else is.
      const canHaveBody = head.method !== "GET" && head.method !== "HEAD";
      if (!canHaveBody && head.framing.kind !== "none") {
        await sendContinue();
        if (!(await reader.drain(MAX_DRAIN_BYTES))) {
          throw new HttpError(413, undefined, { close: true });
        }
      }
      const body = canHaveBody && head.framing.kind !== "none"
        ? bodyStream(reader, { beforeFirstRead: sendContinue })
        : null;
      request = this.#toRequest(head, body);
      const remoteAddr = this.#conn.remoteAddr as Deno.NetAddr;
      response = await this.#handler(request, { remoteAddr });
      if (!(response instanceof Response)) {
        throw new TypeError("Cannot send response: the handler did not return a Response");
      }
    } catch (err) {
      // The client left (mid-body, say): no one to answer, nothing to log.
      if (this.#expired || isClientGone(err)) return false;
      response = this.#answerFor(err, request);
    }
    if (this.#expired) return false;
    reader.detach();

    // A body that failed while the handler read it decides the answer.
    const failure = reader.failure;
    if (failure !== undefined) {
      if (!(failure instanceof HttpError)) return false; // the client left mid-body
      response = errorResponse(failure, request);
    }

    let keepAlive = head.keepAlive && !this.#closing && failure === undefined;
    if (!reader.done) {
      // RFC 9110 §10.1.1: without a 100 the client may never send the body;
      // a body too large to drain is cheaper to cut off.
      if (head.expectContinue && !continueSent) keepAlive = false;
      else if (reader.tooLarge || (reader.knownRemaining ?? 0) > MAX_DRAIN_BYTES || reader.busy) {
        keepAlive = false;
      }
    }

    this.#setPhase("respond", WRITE_TIMEOUT_MS);
    let result;
    try {
      result = await writeResponse(this.#sink, response, {
        head: head.method === "HEAD",
        minor: head.minor,
        keepAlive,
        server: this.#settings.serverName,
      });
    } catch (err) {
      if (isClientGone(err) || this.#expired) throw err;
      // The handler's body failed before a byte was sent: still time for a 500.
      response = this.#answerFor(err, request);
      result = await writeResponse(this.#sink, response, {
        head: head.method === "HEAD",
        minor: head.minor,
        keepAlive: false,
        server: this.#settings.serverName,
      });
    }
    this.#log(response.status, result.bodyBytes);

    if (!result.keepAlive) {
      if (!reader.done) await this.#linger();
      return false;
    }
    if (!reader.done) {
      this.#setPhase("drain", DRAIN_TIMEOUT_MS);
      try {
        return await reader.drain(MAX_DRAIN_BYTES);
      } catch {
        return false; // already answered; a broken rest of the body just ends the connection
      }
    }
    return true;
  }

  /** Remembers what the access log says of this request. */
  #noteRequest(head: RequestHead) {
    this.#requestLine = `${head.method} ${head.target} HTTP/1.${head.minor}`;
    this.#referer = this.#userAgent = undefined;
    if (!this.#logger.wantsAgents) return;
    for (const [name, value] of head.headers) {
      if (name.length === 7 && name.toLowerCase() === "referer") this.#referer = value;
      else if (name.length === 10 && name.toLowerCase() === "user-agent") this.#userAgent = value;
    }
  }

  #toRequest(head: RequestHead, body: ReadableStream<Uint8Array> | null): Request {
    const upper = head.method.toUpperCase();
    if (FORBIDDEN_METHODS.has(upper) || (NORMALIZED_METHODS.has(upper) && upper !== head.method)) {
      throw new HttpError(501);
    }
    // The Fetch URL parser removes dot segments ("/a/../b" → "/b") before
    // any handler could see them, so a route like /uploads/NAME could not
    // refuse "/uploads/x/../y". Clients normalize paths before sending
    // (RFC 3986 §5.2.4); one that did not gets 400.
    if (DOT_SEGMENT.test(pathOf(head.target))) throw new HttpError(400, "Invalid path");
    let url: string;
    if (head.target.charCodeAt(0) === 0x2f) {
      url = `${this.#settings.scheme}://${head.authority || this.#localAuthority()}${head.target}`;
    } else if (head.target === "*") {
      url = `${this.#settings.scheme}://${head.authority || this.#localAuthority()}/`;
    } else {
      url = head.target;
    }
    try {
      return new Request(url, { method: head.method, headers: head.headers, body });
    } catch (err) {
      throw new HttpError(400, "Bad Request", { cause: err });
    }
  }

  #localAuthority(): string {
    const addr = this.#conn.localAddr as Deno.NetAddr;
    const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
    return `${host}:${addr.port}`;
  }

  /** The response for an error a handler threw; 5xx causes go to the error log. */
  #answerFor(err: unknown, request: Request | undefined): Response {
    if (!(err instanceof HttpError) || (err.status >= 500 && err.cause !== undefined)) {
      this.#logger.error(`${this.#logLine()}: handler failed`, err);
    }
    return errorResponse(err, request);
  }

  /** The one catch that turns an escaped error into a reply (style rule 11). */
  async #fail(err: unknown) {
    if (this.#expired || this.#closed || isClientGone(err)) return; // no one to answer
    const httpError = err instanceof HttpError
      ? err
      : new HttpError(500, undefined, { cause: err, close: true });
    if (!(err instanceof HttpError)) {
      this.#logger.error(`${this.#requestLine}: connection failed`, err);
    }
    if (this.#phase === "respond" || this.#phase === "drain") return; // a response already started
    try {
      this.#setPhase("respond", WRITE_TIMEOUT_MS);
      const result = await writeResponse(this.#sink, errorResponse(httpError), {
        head: false,
        minor: 1,
        keepAlive: false,
        server: this.#settings.serverName,
      });
      this.#log(httpError.status, result.bodyBytes);
      await this.#linger();
    } catch {
      // The client left while we answered: nothing more to do.
    }
  }

  /**
   * Lingering close: stop writing, then read and discard what the client
   * still sends for a moment, so our last response is not destroyed by the
   * reset a close with unread data would cause.
   */
  async #linger() {
    this.#setPhase("drain", LINGER_MS);
    try {
      await this.#conn.closeWrite();
      const scratch = new Uint8Array(16 * 1024);
      let total = 0;
      while (total < MAX_DRAIN_BYTES * 16) {
        const n = await this.#conn.read(scratch);
        if (n === null || this.#expired) break;
        total += n;
      }
    } catch {
      // Reset or expired: closing is what we wanted anyway.
    }
  }

  /** The request line for the error log, cut short: a target may be 8 KiB. */
  #logLine(): string {
    const line = this.#requestLine;
    return line.length > 200 ? `${line.slice(0, 200)}…` : line;
  }

  #log(status: number, bytes: number) {
    if (this.#settings.counter !== undefined) this.#count(status, bytes);
    const remote = (this.#conn.remoteAddr as Deno.NetAddr).hostname ?? "-";
    this.#logger.access({
      remote,
      requestLine: this.#requestLine,
      status,
      bytes,
      referer: this.#referer,
      userAgent: this.#userAgent,
    });
  }

  #count(status: number, bytes: number) {
    this.#settings.counter!.response(
      this.#method,
      status,
      bytes,
      performance.now() - this.#startedAt,
    );
  }

  #close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#phase = "closed";
    this.#deadline = Infinity;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}
