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
 * ④ `exchange.ts` decides what the body may be, and `http/body.ts` wraps it
 *    (Content-Length or chunked) as a size-capped stream that reads only when
 *    the handler asks, sending `100 Continue` just before its first read.
 * ⑤ `http/to_request.ts` turns the head into a web `Request`; the handler,
 *    `app.ts`, gets it and returns a `Response`, as with `Deno.serve`; it
 *    never sees the socket.
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
 * The connection is one state machine. Its {@linkcode Phase} says what it
 * waits for, and each phase has a deadline; {@linkcode Connection.phase},
 * `since` and `deadline` are what `server.ts` reads to sweep timeouts (once
 * every SWEEP_INTERVAL_MS, calling {@linkcode Connection.expire}, so a
 * timeout costs no timer per read) and to choose whom to evict at the cap.
 * One method, `#enter`, makes every transition:
 *
 * | phase   | waiting for                          | deadline                          | then    |
 * | ------- | ------------------------------------ | --------------------------------- | ------- |
 * | idle    | the first byte of a request          | idleTimeoutMs                     | close   |
 * | head    | the rest of the head                 | requestTimeoutMs                  | 408     |
 * | handler | the handler (not the client's turn)  | none                              | —       |
 * | body    | a body read the handler asked for    | requestTimeoutMs, then body floor | 408     |
 * | respond | the client to take the response      | per write: WRITE_TIMEOUT_MS, floor | close  |
 * | drain   | the rest of a body, to keep going    | DRAIN_TIMEOUT_MS                  | close   |
 * | linger  | the client's last bytes, after a closing answer | LINGER_MS              | close   |
 * | closed  | nothing: the socket is closed        | none                              | —       |
 *
 *     idle → head → respond                       (the fast path answered)
 *              └──→ handler ⇄ body → respond      (the handler answered)
 *     respond → idle (keep-alive) | drain → idle | linger → closed | closed
 *     any phase → closed                          (end of stream, expired, aborted)
 *
 * (408 is answered, then the connection closes.)
 *
 * Beside the phase, {@linkcode Ending} says whether the connection goes on:
 * `open`; `closing` after the response under way (shutdown); or `expired`
 * (a deadline passed, or it was aborted), when every wait ends at once.
 *
 * Every error becomes bytes in one place, `#answerError`: its status and
 * page (`error_page.ts`, negotiated on the request's Accept field), and
 * whether the connection stays open after it.
 */

import { errorResponse } from "./error_page.ts";
import { Exchange, MAX_DRAIN_BYTES } from "./exchange.ts";
import { basicCredentials } from "./http/basic_credentials.ts";
import type { FastPath, Handler } from "./http/handler.ts";
import { HttpError, isClientGone } from "./http/http_error.ts";
import { type ByteSource, InputBuffer } from "./http/input.ts";
import { type HeadLimits, HeadParser, type RequestHead } from "./http/request_head.ts";
import {
  type ByteSink,
  type PlainResponse,
  type WriteOptions,
  writePlain,
  writeResponse,
  type WriteResult,
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
  /** response is told of one response as it is logged. */
  response(method: string, status: number, bytes: number, ms: number): void;
}

/** DRAIN_TIMEOUT_MS bounds the discarding of a body the handler left unread. */
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
/** MAX_LINGER_BYTES: lingering reads and discards at most this much (1 MiB) before closing anyway. */
export const MAX_LINGER_BYTES = 1024 * 1024;
/** A body read never waits less than this (1 s), however far behind the floor: one more read may catch up. */
const MIN_BODY_WAIT_MS = 1_000;

/** Phase is what a connection is waiting for; each has its own deadline (see the table above). */
export type Phase =
  | "idle"
  | "head"
  | "handler"
  | "body"
  | "respond"
  | "drain"
  | "linger"
  | "closed";

/** Ending says whether a connection goes on: `open`, `closing` after this response, or `expired` now. */
export type Ending = "open" | "closing" | "expired";

/** Conn is the part of `Deno.Conn` a connection uses. */
export interface Conn extends ByteSource, ByteSink {
  readonly remoteAddr: Deno.Addr;
  readonly localAddr: Deno.Addr;
  /** close releases the socket at once. */
  close(): void;
  /** closeWrite sends FIN (the lingering close); rejects when the peer is gone. */
  closeWrite(): Promise<void>;
}

/** Connection serves the requests of one client connection in order. */
export class Connection {
  #conn: Conn;
  #handler: Handler;
  #settings: ConnectionSettings;
  #logger: Logger;
  #phase: Phase = "idle";
  #ending: Ending = "open";
  #deadline = Infinity;
  #since = Date.now();
  /** The method and start of the current request, kept only for the counter. */
  #method = "";
  #startedAt = 0;
  #requestLine = "-";
  #referer: string | undefined;
  #userAgent: string | undefined;
  /** The request's Authorization field, for the access log's user name. */
  #authorization: string | undefined;
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

  /** Whether the connection goes on after the current exchange. */
  get ending(): Ending {
    return this.#ending;
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
      while (this.#ending === "open") {
        const head = await this.#readHead(input);
        if (head === null) break;
        if (this.#settings.counter !== undefined) {
          this.#method = head.method;
          this.#startedAt = performance.now();
        }
        const fast = this.#fastAnswer(head);
        if (fast === undefined) {
          if (!(await this.#exchange(head, input))) break;
          continue;
        }
        // Inline, not a method: the fast path pays for no promise more.
        this.#enter("respond", WRITE_TIMEOUT_MS);
        const keepAlive = head.keepAlive && this.#ending === "open";
        const result = await writePlain(this.#sink, fast, this.#writeOptions(head, keepAlive));
        this.#logFast(head, fast.status, result.bodyBytes);
        if (!result.keepAlive) break;
      }
    } catch (err) {
      await this.#fail(err);
    } finally {
      this.#close();
      input.release();
    }
  }

  /**
   * expire is called by the sweeper once the deadline has passed: a client
   * that is sending a request too slowly gets 408; any other wait just ends.
   */
  expire() {
    if (this.#ending === "expired" || this.#phase === "closed") return;
    this.#ending = "expired";
    if (this.#phase !== "head" && this.#phase !== "body") return this.#close();
    // The loop is blocked in a read, so nothing else is writing now.
    const fallback = setTimeout(() => this.#close(), LINGER_MS);
    this.#answerError(new HttpError(408, undefined, { close: true }), undefined, false)
      .catch(() => {})
      .finally(() => {
        clearTimeout(fallback);
        this.#close();
      });
  }

  /** shutdown asks the connection to finish its current exchange and close; an idle one closes now. */
  shutdown() {
    if (this.#ending === "open") this.#ending = "closing";
    if (this.#phase === "idle") this.expire();
  }

  /** Forces the connection closed, whatever it is doing. */
  abort() {
    this.#ending = "expired";
    this.#close();
  }

  /**
   * #enter is the one transition: the phase, when it began (`now`), and the
   * deadline the sweeper checks, `timeoutMs` after it. A new phase starts
   * the send floor's count afresh.
   */
  #enter(phase: Phase, timeoutMs: number, now = Date.now()) {
    this.#phase = phase;
    this.#since = now;
    this.#deadline = now + timeoutMs;
    this.#sendWaited = this.#sendTaken = 0;
  }

  /** Reads until a whole head has arrived; null when the client ended the connection between requests. */
  async #readHead(input: InputBuffer): Promise<RequestHead | null> {
    this.#requestLine = "-";
    this.#referer = this.#userAgent = this.#authorization = undefined;
    if (input.available > 0) this.#enter("head", this.#settings.requestTimeoutMs);
    else this.#enter("idle", this.#settings.idleTimeoutMs);
    for (;;) {
      if (input.available > 0) {
        if (this.#phase === "idle") this.#enter("head", this.#settings.requestTimeoutMs);
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
      if (this.#ending === "expired") throw new Deno.errors.Interrupted("Connection expired");
      if (!more) return null;
    }
  }

  /** A read for the body the handler is reading: stalls and trickles are bounded. */
  async #readBody(p: Uint8Array): Promise<number | null> {
    const now = Date.now();
    const timeout = this.#settings.requestTimeoutMs;
    const onSchedule = this.#bodyStart + timeout +
      (this.#bodyReceived / MIN_BODY_BYTES_PER_SECOND) * 1000;
    this.#enter("body", Math.min(timeout, Math.max(onSchedule - now, MIN_BODY_WAIT_MS)), now);
    const n = await this.#conn.read(p);
    if (this.#ending === "expired") throw new Deno.errors.Interrupted("Connection expired");
    this.#enter("handler", Infinity);
    this.#bodyReceived += n ?? 0;
    return n;
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

  /** Answers one request through the handler; returns whether the connection may carry another. */
  async #exchange(head: RequestHead, input: InputBuffer): Promise<boolean> {
    this.#noteRequest(head);
    const exchange = new Exchange(head, input, {
      sink: this.#sink,
      maxBodyBytes: this.#settings.maxBodyBytes,
    });
    this.#bodyStart = Date.now();
    this.#bodyReceived = 0;
    this.#enter("handler", Infinity, this.#bodyStart);
    await this.#runHandler(exchange);
    // The client left (mid-body, say): no one to answer, nothing to log.
    if (this.#ending === "expired" || isClientGone(exchange.error)) return false;
    const reader = exchange.reader;
    reader.detach();
    // A body that failed while the handler read it decides the answer.
    if (reader.failure !== undefined) {
      if (!(reader.failure instanceof HttpError)) return false; // the client left mid-body
      exchange.failed(reader.failure);
    }
    const keepAlive = exchange.keepAlive(this.#ending === "open");
    const result = exchange.error === undefined
      ? await this.#send(exchange, exchange.response!, keepAlive)
      : await this.#answerError(exchange.error, exchange, keepAlive);
    if (reader.done) return result.keepAlive;
    if (!result.keepAlive) {
      await this.#linger();
      return false;
    }
    return await this.#drain(exchange);
  }

  /** Runs the handler on the exchange's Request; its Response, or what was thrown instead, lands on the exchange. */
  async #runHandler(exchange: Exchange): Promise<void> {
    try {
      const body = await exchange.body();
      const conn = this.#conn;
      const request = exchange.toRequest(body, {
        scheme: this.#settings.scheme,
        localAddr: conn.localAddr,
      });
      const response = await this.#handler(request, {
        remoteAddr: conn.remoteAddr as Deno.NetAddr,
      });
      if (!(response instanceof Response)) {
        throw new TypeError("Cannot send response: the handler did not return a Response");
      }
      exchange.answered(response);
    } catch (err) {
      exchange.failed(err);
    }
  }

  /**
   * Writes the handler's response and logs it. A body that fails before a
   * byte was sent still leaves time for an error page; the client leaving
   * (or the connection expiring) rejects.
   */
  async #send(exchange: Exchange, response: Response, keepAlive: boolean): Promise<WriteResult> {
    let result: WriteResult;
    try {
      result = await this.#write(response, exchange.head, keepAlive);
    } catch (err) {
      if (isClientGone(err) || this.#ending === "expired") throw err;
      return await this.#answerError(err, exchange, false);
    }
    this.#log(response.status, result.bodyBytes);
    return result;
  }

  /**
   * #answerError is the one place an error becomes bytes: an
   * {@linkcode HttpError} keeps its status (and closes the connection when
   * it says so), anything else is a 500 whose cause goes to the error log;
   * the page is negotiated on the request's Accept field when there is a
   * request. Writes it, logs it, and resolves to what the writer reports;
   * rejects when the client is gone.
   */
  async #answerError(
    err: unknown,
    exchange: Exchange | undefined,
    keepAlive: boolean,
  ): Promise<WriteResult> {
    this.#logCause(err, exchange === undefined ? "connection failed" : "handler failed");
    const response = errorResponse(err, exchange?.request);
    const result = await this.#write(response, exchange?.head, keepAlive);
    this.#log(response.status, result.bodyBytes);
    return result;
  }

  /** The one write of a Response: enters `respond` and frames it for `head` (no head: an HTTP/1.1 GET). */
  #write(
    response: Response,
    head: RequestHead | undefined,
    keepAlive: boolean,
  ): Promise<WriteResult> {
    this.#enter("respond", WRITE_TIMEOUT_MS);
    return writeResponse(this.#sink, response, this.#writeOptions(head, keepAlive));
  }

  /** The writer's options for an answer to `head` (no head: an HTTP/1.1 GET). */
  #writeOptions(head: RequestHead | undefined, keepAlive: boolean): WriteOptions {
    return {
      head: head?.method === "HEAD",
      minor: head?.minor ?? 1,
      keepAlive,
      server: this.#settings.serverName,
    };
  }

  /** Reads and discards what the handler left of the body; whether the connection may go on. */
  async #drain(exchange: Exchange): Promise<boolean> {
    this.#enter("drain", DRAIN_TIMEOUT_MS);
    try {
      return await exchange.reader.drain(MAX_DRAIN_BYTES);
    } catch {
      return false; // already answered; a broken rest of the body just ends the connection
    }
  }

  /** The one catch around the whole connection: an escaped error is answered (style rule 11). */
  async #fail(err: unknown) {
    if (this.#ending === "expired" || this.#phase === "closed" || isClientGone(err)) return;
    if (this.#phase === "respond" || this.#phase === "drain" || this.#phase === "linger") {
      // A response already started: its framing cannot carry another.
      return this.#logCause(err, "connection failed");
    }
    try {
      await this.#answerError(err, undefined, false);
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
    this.#enter("linger", LINGER_MS);
    try {
      await this.#conn.closeWrite();
      const scratch = new Uint8Array(16 * 1024);
      let total = 0;
      while (total < MAX_LINGER_BYTES) {
        const n = await this.#conn.read(scratch);
        if (n === null || this.#ending === "expired") break;
        total += n;
      }
    } catch {
      // Reset or expired: closing is what we wanted anyway.
    }
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

  /** Remembers what the access log says of this request. */
  #noteRequest(head: RequestHead) {
    this.#requestLine = `${head.method} ${head.target} HTTP/1.${head.minor}`;
    this.#referer = this.#userAgent = this.#authorization = undefined;
    const agents = this.#logger.wantsAgents;
    for (const [name, value] of head.headers) {
      if (name.length === 13) {
        if (name.toLowerCase() === "authorization") this.#authorization = value;
      } else if (!agents) continue;
      else if (name.length === 7 && name.toLowerCase() === "referer") this.#referer = value;
      else if (name.length === 10 && name.toLowerCase() === "user-agent") this.#userAgent = value;
    }
  }

  /** Logs an error whose cause the client is not shown: anything but an HttpError, or a 5xx with a cause. */
  #logCause(err: unknown, what: string) {
    if (!(err instanceof HttpError) || (err.status >= 500 && err.cause !== undefined)) {
      this.#logger.error(`${this.#logLine()}: ${what}`, err);
    }
  }

  /** The request line for the error log, cut short: a target may be 8 KiB. */
  #logLine(): string {
    const line = this.#requestLine;
    return line.length > 200 ? `${line.slice(0, 200)}…` : line;
  }

  /** Logs a fast-path answer: the request line is noted only when a log wants it. */
  #logFast(head: RequestHead, status: number, bytes: number) {
    if (this.#logger.enabled) {
      this.#noteRequest(head);
      this.#log(status, bytes);
    } else if (this.#settings.counter !== undefined) {
      this.#count(status, bytes);
    }
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
      user: this.#authorization === undefined || !this.#logger.enabled
        ? undefined
        : basicCredentials(this.#authorization)?.user,
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
    if (this.#phase === "closed") return;
    this.#enter("closed", Infinity);
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}
