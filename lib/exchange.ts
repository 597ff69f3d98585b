/**
 * exchange.ts — one request on the handler path (④–⑤ of `connection.ts`):
 * what its body may be, when `100 Continue` goes out, what the handler
 * answered, and whether the connection can carry another request after it.
 *
 * The connection creates one per request that the fast path did not answer,
 * runs the handler with it and writes what it holds. It knows no clock, no
 * logger and no deadline: those are the connection's.
 */

import { BodyReader, bodyStream, type BodyStreamHooks } from "./http/body.ts";
import { HttpError } from "./http/http_error.ts";
import type { InputBuffer } from "./http/input.ts";
import type { RequestHead } from "./http/request_head.ts";
import { type ByteSink, writeAll } from "./http/response_writer.ts";
import { type RequestOrigin, toRequest } from "./http/to_request.ts";

/** MAX_DRAIN_BYTES is how much unread request body we read and discard to keep a connection; more and we close it. */
export const MAX_DRAIN_BYTES = 64 * 1024;

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/** ExchangeOptions are what an {@linkcode Exchange} needs of its connection. */
export interface ExchangeOptions {
  /** Where `100 Continue` is written. */
  sink: ByteSink;
  /** Largest request body; past it 413. */
  maxBodyBytes: number;
}

/**
 * Exchange is one request's way through the handler: its head, its body
 * reader, the Request built for it, and then either the handler's Response
 * or the error that stands in for one. It is the body stream's
 * {@linkcode BodyStreamHooks}, so `100 Continue` costs no closure.
 */
export class Exchange implements BodyStreamHooks {
  /** The parsed head. */
  readonly head: RequestHead;
  /** The body, read from the connection's buffer only when asked. */
  readonly reader: BodyReader;
  #request: Request | undefined;
  #response: Response | undefined;
  #error: unknown;
  #sink: ByteSink;
  #continueSent = false;

  /** Creates the exchange for `head`, whose body (if any) starts at the front of `input`. */
  constructor(head: RequestHead, input: InputBuffer, options: ExchangeOptions) {
    this.head = head;
    this.reader = new BodyReader(input, head.framing, options.maxBodyBytes);
    this.#sink = options.sink;
  }

  /** The Request the handler got, once built: error pages negotiate on its Accept field. */
  get request(): Request | undefined {
    return this.#request;
  }

  /** The handler's answer, when it gave one; an {@linkcode Exchange.error} outranks it. */
  get response(): Response | undefined {
    return this.#response;
  }

  /** What went wrong instead of an answer, when something did (undefined: nothing). */
  get error(): unknown {
    return this.#error;
  }

  /**
   * toRequest builds the Request the handler gets, with `body` (see
   * {@linkcode Exchange.body}) and `origin`, and keeps it. Throws as
   * `http/to_request.ts` does: 501 or 400 {@linkcode HttpError}s.
   */
  toRequest(body: ReadableStream<Uint8Array> | null, origin: RequestOrigin): Request {
    this.#request = toRequest(this.head, body, origin);
    return this.#request;
  }

  /** answered records the handler's Response. */
  answered(response: Response) {
    this.#response = response;
  }

  /** failed records what went wrong instead; a later failure (the body's) replaces an earlier one. */
  failed(err: unknown) {
    this.#error = err;
  }

  /**
   * beforeFirstRead sends `100 Continue`, once, when the client waits for it
   * (RFC 9110 §10.1.1) and the declared length is not already refused: a
   * client told nothing then either sends anyway or gives up, and the 413
   * the first read throws answers both. Rejects with the sink's error.
   */
  async beforeFirstRead(): Promise<void> {
    if (this.head.expectContinue && !this.#continueSent && !this.reader.tooLarge) {
      this.#continueSent = true;
      await writeAll(this.#sink, CONTINUE);
    }
  }

  /**
   * body returns the Request's body: a stream that reads only when the
   * handler asks, or null for none. A Request for GET or HEAD cannot carry a
   * body (Fetch), and the body has no meaning there (RFC 9110 §9.3.1): one
   * is read and discarded now, so a framing error is answered before
   * anything else is. Throws the body's {@linkcode HttpError} (400 for bad
   * framing, 413 past MAX_DRAIN_BYTES or the body limit) or the client's
   * leaving (`Deno.errors.UnexpectedEof`).
   */
  async body(): Promise<ReadableStream<Uint8Array> | null> {
    const head = this.head;
    if (head.framing.kind === "none") return null;
    if (head.method !== "GET" && head.method !== "HEAD") return bodyStream(this.reader, this);
    await this.beforeFirstRead();
    if (!(await this.reader.drain(MAX_DRAIN_BYTES))) {
      throw new HttpError(413, undefined, { close: true });
    }
    return null;
  }

  /**
   * keepAlive says whether the connection can carry another request after
   * this exchange's answer, as far as the request goes: the client allows it,
   * the connection is `open` (not shutting down), the body did not fail, and
   * what is left of it can be drained. A client that was never sent
   * `100 Continue` may never send its body (RFC 9110 §10.1.1), and a body too
   * large to drain is cheaper to cut off.
   */
  keepAlive(open: boolean): boolean {
    const reader = this.reader;
    if (!this.head.keepAlive || !open || reader.failure !== undefined) return false;
    if (reader.done) return true;
    if (this.head.expectContinue && !this.#continueSent) return false;
    return !reader.tooLarge && (reader.knownRemaining ?? 0) <= MAX_DRAIN_BYTES && !reader.busy;
  }
}
