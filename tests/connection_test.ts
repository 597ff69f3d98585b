/**
 * connection_test.ts — one connection's state machine, without a socket: a
 * scripted {@linkcode Conn} hands out reads (split anywhere, then end of
 * stream, an error, or a wait) and records every byte written, and a plain
 * handler function answers. Each row says the bytes in, and the responses,
 * phases and log lines that must come out.
 */

import assert from "node:assert/strict";
import {
  type Conn,
  Connection,
  type ConnectionSettings,
  type Phase,
  WRITE_TIMEOUT_MS,
} from "../lib/connection.ts";
import { MAX_DRAIN_BYTES } from "../lib/exchange.ts";
import type { FastPath, Handler } from "../lib/http/handler.ts";
import { HttpError } from "../lib/http/http_error.ts";
import { DEFAULT_HEAD_LIMITS } from "../lib/http/request_head.ts";
import type { PlainResponse } from "../lib/http/response_writer.ts";
import { type AccessFormat, Logger } from "../lib/log.ts";
import { concat, decode, encode } from "./_support/bytes.ts";
import { type ParsedResponse, parseResponses } from "./_support/server.ts";
import { waitFor } from "./_support/wait.ts";

/** Distinct timeouts, so a deadline tells which one was set. */
const IDLE_MS = 5_000;
const REQUEST_MS = 7_000;
/** How long a row may run before it is aborted and failed: a bound, not a speed. */
const ROW_LIMIT_MS = 10_000;

const SETTINGS: ConnectionSettings = {
  headLimits: DEFAULT_HEAD_LIMITS,
  maxBodyBytes: 1000,
  idleTimeoutMs: IDLE_MS,
  requestTimeoutMs: REQUEST_MS,
  serverName: "test",
  scheme: "http",
};

/** A Step is one read: its bytes, the end of stream, an error, or a wait for the test's go-ahead. */
type Step = string | Uint8Array | { eof: true } | { error: Error } | { gate: Promise<unknown> };

const EOF = { eof: true } as const;

/** SinkOptions script the write side: short writes, a client that stops reading, or one that leaves. */
interface SinkOptions {
  maxPerWrite?: number;
  /** After this many bytes, writes never finish (until the connection is closed). */
  stallAfter?: number;
  /** After this many bytes, writes fail as when the client reset the connection. */
  failAfter?: number;
}

/** Event is what the scripted Conn saw: which call, in which phase, and how far off the deadline was. */
interface Event {
  call: "read" | "write" | "closeWrite" | "close" | "mark";
  phase: Phase;
  /** deadline − now when the call came, in ms (Infinity: none). */
  remaining: number;
}

/**
 * ScriptedConn is an in-memory `Conn`: reads follow the script, then wait
 * until the connection is closed (a client that says nothing more); writes
 * are recorded, short, stalled or failed as the sink options say.
 */
class ScriptedConn implements Conn {
  readonly remoteAddr: Deno.NetAddr = { transport: "tcp", hostname: "192.0.2.7", port: 50000 };
  readonly localAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 8080 };
  readonly events: Event[] = [];
  closed = false;
  writeClosed = false;
  #steps: Step[];
  #pending: Uint8Array | undefined;
  #sink: SinkOptions;
  #parts: Uint8Array[] = [];
  #written = 0;
  #onClose: Array<() => void> = [];
  #connection: Connection | undefined;

  constructor(script: readonly Step[], sink: SinkOptions = {}) {
    this.#steps = [...script];
    this.#sink = sink;
  }

  /** watch names the connection whose phase and deadline each event records. */
  watch(connection: Connection) {
    this.#connection = connection;
  }

  /** mark records the connection's phase and deadline now, as a call would: a handler's probe. */
  mark() {
    this.#note("mark");
  }

  #note(call: Event["call"]) {
    const c = this.#connection!;
    this.events.push({ call, phase: c.phase, remaining: c.deadline - Date.now() });
  }

  /** A promise that rejects as a pending socket operation does when the socket is closed. */
  #untilClosed(): Promise<never> {
    return new Promise((_, reject) => {
      const fail = () => reject(new Deno.errors.BadResource("Bad resource ID"));
      if (this.closed) fail();
      else this.#onClose.push(fail);
    });
  }

  async read(p: Uint8Array): Promise<number | null> {
    this.#note("read");
    if (this.closed) throw new Deno.errors.BadResource("Bad resource ID");
    for (;;) {
      if (this.#pending !== undefined) {
        const n = Math.min(p.length, this.#pending.length);
        p.set(this.#pending.subarray(0, n));
        this.#pending = n === this.#pending.length ? undefined : this.#pending.subarray(n);
        return n;
      }
      const step = this.#steps.shift();
      if (step === undefined) return await this.#untilClosed();
      if (typeof step === "string") this.#pending = encode(step);
      else if (step instanceof Uint8Array) this.#pending = step;
      else if ("eof" in step) return null;
      else if ("error" in step) throw step.error;
      else await Promise.race([step.gate, this.#untilClosed()]);
    }
  }

  async write(p: Uint8Array): Promise<number> {
    this.#note("write");
    if (this.closed || this.writeClosed) throw new Deno.errors.BadResource("Bad resource ID");
    const { stallAfter = Infinity, failAfter = Infinity, maxPerWrite = Infinity } = this.#sink;
    if (this.#written >= failAfter) throw new Deno.errors.ConnectionReset("Connection reset");
    if (this.#written >= stallAfter) return await this.#untilClosed();
    const n = Math.min(
      p.length,
      maxPerWrite,
      stallAfter - this.#written,
      failAfter - this.#written,
    );
    this.#parts.push(p.slice(0, n));
    this.#written += n;
    return await Promise.resolve(n);
  }

  closeWrite(): Promise<void> {
    this.#note("closeWrite");
    this.writeClosed = true;
    return Promise.resolve();
  }

  close() {
    this.#note("close");
    if (this.closed) throw new Deno.errors.BadResource("Bad resource ID");
    this.closed = true;
    for (const fail of this.#onClose.splice(0)) fail();
  }

  /** Everything written, in order. */
  bytes(): Uint8Array {
    return concat(this.#parts);
  }

  /** How many scripted steps were never read. */
  get unread(): number {
    return this.#steps.length + (this.#pending === undefined ? 0 : 1);
  }
}

/** A handler that answers with the path, and never reads a body. */
const pathOnly: Handler = (request) => new Response(`path ${new URL(request.url).pathname}`);
/** A handler that answers with the body it read. */
const echo: Handler = async (request) => new Response(`got ${await request.text()}`);

/** Row is one connection: bytes in, what must come out. */
interface Row {
  name: string;
  script: Step[];
  handler?: Handler;
  settings?: Partial<ConnectionSettings>;
  sink?: SinkOptions;
  /** The method of each request, for HEAD responses without a body. */
  methods?: string[];
  /** Runs while the connection serves: to expire it, shut it down, or open a gate. */
  during?: (connection: Connection, conn: ScriptedConn) => Promise<void>;
  /** Keep an access log in this format (none by default); the outcome has its text. */
  logFormat?: AccessFormat;
  want: Want;
}

interface Want {
  /** Every status sent, interim ones included, in order. */
  statuses: number[];
  /** The final responses' bodies, in order. */
  bodies?: string[];
  /** Each final response's Connection field (null: none sent). */
  connection?: (string | null)[];
  /** Phases that must be seen at the scripted calls, in this order (others may come between). */
  phases?: Phase[];
  /** Phases that must never be seen. */
  neverPhases?: Phase[];
  /** The error log must match this; null: it stays empty. */
  errorLog?: RegExp | null;
  /** The script must have been read to its end (true), or left unread (false). */
  readAll?: boolean;
  /** The output is a response cut off after this many bytes, starting with `cutStart`. */
  cutAt?: number;
  cutStart?: string;
}

/** The scripted Conn of the row running now, for a handler that probes it. */
let current: ScriptedConn | undefined;

interface Outcome {
  raw: Uint8Array;
  methods: string[];
  events: Event[];
  conn: ScriptedConn;
  errors: string;
  /** The access log's text ("" without `logFormat`). */
  access: string;
}

/** run serves one scripted connection to its end and collects what came out. */
async function run(row: Row): Promise<Outcome> {
  const conn = current = new ScriptedConn(row.script, row.sink);
  const errorParts: Uint8Array[] = [];
  const accessParts: Uint8Array[] = [];
  const logger = new Logger({
    access: row.logFormat === undefined
      ? null
      : { write: (p) => (accessParts.push(p.slice()), Promise.resolve(p.length)) },
    errors: { write: (p) => (errorParts.push(p.slice()), Promise.resolve(p.length)) },
    ...(row.logFormat === undefined ? {} : { format: row.logFormat }),
  });
  const connection = new Connection(
    conn,
    row.handler ?? pathOnly,
    { ...SETTINGS, ...row.settings },
    logger,
  );
  conn.watch(connection);
  let overran = false;
  const limit = setTimeout(() => (overran = true, connection.abort()), ROW_LIMIT_MS);
  try {
    await Promise.all([connection.serve(), row.during?.(connection, conn)]);
  } finally {
    clearTimeout(limit);
    await logger.flush();
  }
  assert.ok(!overran, `the connection was still open after ${ROW_LIMIT_MS} ms`);
  assert.equal(connection.phase, "closed");
  assert.ok(conn.closed, "the socket was closed");
  return {
    raw: conn.bytes(),
    methods: row.methods ?? [],
    events: conn.events,
    conn,
    errors: new TextDecoder().decode(concat(errorParts)),
    access: new TextDecoder().decode(concat(accessParts)),
  };
}

/** phasesOf lists the phases seen at the scripted calls, repeats merged. */
function phasesOf(events: Event[]): Phase[] {
  const out: Phase[] = [];
  for (const e of events) if (out.at(-1) !== e.phase) out.push(e.phase);
  return out;
}

function assertSubsequence(seen: Phase[], want: Phase[]) {
  let i = 0;
  for (const phase of seen) if (phase === want[i]) i++;
  assert.equal(i, want.length, `phases ${seen.join(" → ")} lack ${want.join(" → ")}`);
}

function check(out: Outcome, want: Want): ParsedResponse[] {
  let responses: ParsedResponse[] = [];
  if (want.cutAt !== undefined) {
    assert.equal(out.raw.length, want.cutAt, "bytes written before the cut");
    assert.ok(decode(out.raw).startsWith(want.cutStart ?? ""), decode(out.raw.subarray(0, 100)));
  } else {
    responses = parseResponses(out.raw, { headMethods: out.methods });
  }
  const final = responses.filter((r) => r.status >= 200);
  assert.deepEqual(responses.map((r) => r.status), want.statuses, decode(out.raw));
  if (want.bodies) assert.deepEqual(final.map((r) => r.text()), want.bodies);
  if (want.connection) assert.deepEqual(final.map((r) => r.header("connection")), want.connection);
  const phases = phasesOf(out.events);
  if (want.phases) assertSubsequence(phases, want.phases);
  for (const never of want.neverPhases ?? []) {
    assert.ok(!phases.includes(never), `phase ${never} was seen: ${phases.join(" → ")}`);
  }
  if (want.errorLog === null) assert.equal(out.errors, "");
  else if (want.errorLog) assert.match(out.errors, want.errorLog);
  if (want.readAll !== undefined) assert.equal(out.conn.unread === 0, want.readAll, "read all");
  return responses;
}

const GET = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: a\r\n${extra}\r\n`;
const POST_HEAD = (path: string, length: number, extra = "") =>
  `POST ${path} HTTP/1.1\r\nHost: a\r\nContent-Length: ${length}\r\n${extra}\r\n`;
const POST = (path: string, body: string) => POST_HEAD(path, body.length) + body;

/** gate is a promise the test resolves when it chooses. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** A row's `during` that waits until the connection is in `phase`, then acts. */
function when(phase: Phase, act: (c: Connection) => void) {
  return async (connection: Connection) => {
    assert.ok(await waitFor(() => connection.phase === phase, ROW_LIMIT_MS), `never ${phase}`);
    act(connection);
  };
}

const ROWS: Row[] = [
  {
    name: "one GET, then the client closes",
    script: [GET("/a"), EOF],
    want: {
      statuses: [200],
      bodies: ["path /a"],
      connection: [null],
      phases: ["idle", "respond", "idle", "closed"],
      neverPhases: ["linger", "drain"],
      errorLog: null,
    },
  },
  {
    name: "a head one byte per read: the phase turns from idle to head",
    script: [...GET("/split"), EOF],
    want: { statuses: [200], bodies: ["path /split"], phases: ["idle", "head", "respond"] },
  },
  {
    name: "pipelined: three requests in one read are answered in order",
    script: [GET("/1") + GET("/2") + GET("/3"), EOF],
    want: { statuses: [200, 200, 200], bodies: ["path /1", "path /2", "path /3"] },
  },
  {
    name: "a request split across reads, the next one in the same read as its end",
    script: [
      GET("/1").slice(0, 9),
      GET("/1").slice(9) + GET("/2").slice(0, 4),
      GET("/2").slice(4),
      EOF,
    ],
    want: { statuses: [200, 200], bodies: ["path /1", "path /2"] },
  },
  {
    name: "Connection: close is answered with close, and nothing after it is read",
    script: [GET("/c", "Connection: close\r\n"), GET("/never"), EOF],
    want: { statuses: [200], connection: ["close"], readAll: false },
  },
  {
    name: "HTTP/1.0 without keep-alive closes after the answer",
    script: ["GET /old HTTP/1.0\r\n\r\n", GET("/never"), EOF],
    want: { statuses: [200], bodies: ["path /old"], readAll: false },
  },
  {
    name: "HEAD: the head of the GET, no body, and the connection goes on",
    script: ["HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n" + GET("/g"), EOF],
    methods: ["HEAD", "GET"],
    want: { statuses: [200, 200], bodies: ["", "path /g"] },
  },
  {
    name: "handler throws HttpError: its status, and keep-alive goes on",
    script: [GET("/secret") + GET("/open"), EOF],
    handler: (request) => {
      if (request.url.endsWith("/secret")) throw new HttpError(403);
      return new Response("open");
    },
    want: { statuses: [403, 200], errorLog: null },
  },
  {
    name: "handler throws an Error: 500 with fixed text, the cause in the error log",
    script: [GET("/boom") + GET("/after"), EOF],
    handler: (request) => {
      if (request.url.endsWith("/boom")) throw new Error("database is on fire");
      return new Response("fine");
    },
    want: {
      statuses: [500, 200],
      errorLog: /GET \/boom HTTP\/1\.1: handler failed: Error: database is on fire/,
    },
  },
  {
    name: "handler returns something that is not a Response: 500",
    script: [GET("/x"), EOF],
    handler: (() => "text") as unknown as Handler,
    want: { statuses: [500], errorLog: /handler did not return a Response/ },
  },
  {
    name: "a response body that fails before its first byte: 500 and close",
    script: [GET("/x"), GET("/never"), EOF],
    handler: () =>
      new Response(new ReadableStream({ pull: () => Promise.reject(new Error("disk gone")) })),
    want: {
      statuses: [500],
      connection: ["close"],
      errorLog: /handler failed: Error: disk gone/,
      readAll: false,
    },
  },
  {
    name: "a malformed head: 400 and close, lingering first",
    script: ["GET / HTTP/1.1\r\nHost : a\r\n\r\n", GET("/never"), EOF],
    want: {
      statuses: [400],
      connection: ["close"],
      phases: ["idle", "respond", "linger", "closed"],
      errorLog: null,
    },
  },
  {
    name: "an unsupported version: 505",
    script: ["GET / HTTP/2.0\r\n\r\n", EOF],
    want: { statuses: [505], connection: ["close"] },
  },
  {
    name: "a request line over the limit: 414",
    script: [GET("/" + "x".repeat(100)), EOF],
    settings: { headLimits: { maxRequestLineBytes: 64, maxHeadBytes: 1024, maxHeaderCount: 10 } },
    want: { statuses: [414], connection: ["close"] },
  },
  {
    name: "a lower-case method: 501, and the connection goes on",
    script: ["get / HTTP/1.1\r\nHost: a\r\n\r\n" + GET("/next"), EOF],
    want: { statuses: [501, 200] },
  },
  {
    name: "a dot-dot segment: 400, the handler never called",
    script: [GET("/a/../b"), EOF],
    handler: () => {
      throw new Error("the handler was called");
    },
    want: { statuses: [400], errorLog: null },
  },
  {
    name: "a POST body read by the handler, then the next request",
    script: [POST("/p", "hello") + GET("/n"), EOF],
    handler: echo,
    want: { statuses: [200, 200], bodies: ["got hello", "got "] },
  },
  {
    name: "a body arriving in pieces: each read waits in the body phase",
    script: [POST_HEAD("/p", 6), "ab", "cd", "ef", EOF],
    handler: echo,
    want: {
      statuses: [200],
      bodies: ["got abcdef"],
      phases: ["idle", "body", "respond", "closed"],
    },
  },
  {
    name: "a chunked body, split inside its framing",
    script: [
      "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r",
      "\nabc\r\n2;x=1\r\nde\r",
      "\n0\r\n\r\n",
      EOF,
    ],
    handler: echo,
    want: { statuses: [200], bodies: ["got abcde"] },
  },
  {
    name: "a body the handler left unread is drained, and the connection goes on",
    script: [POST_HEAD("/ignore", 10), "0123", "456789" + GET("/next"), EOF],
    want: {
      statuses: [200, 200],
      bodies: ["path /ignore", "path /next"],
      phases: ["idle", "respond", "drain", "respond", "idle", "closed"],
      neverPhases: ["linger"],
    },
  },
  {
    name: "an unread body too large to drain: answered with close",
    script: [
      `POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: ${MAX_DRAIN_BYTES + 1}\r\n\r\n`,
      GET("/never"),
      EOF,
    ],
    settings: { maxBodyBytes: 10 * MAX_DRAIN_BYTES },
    want: { statuses: [200], connection: ["close"], phases: ["respond", "linger", "closed"] },
  },
  {
    name: "a declared body over the limit, read by the handler: 413 and close",
    script: [POST_HEAD("/big", 5000), "x".repeat(5000), EOF],
    handler: echo,
    want: { statuses: [413], connection: ["close"] },
  },
  {
    name: "a chunked body growing over the limit: 413 and close",
    script: [
      "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
      `3e8\r\n${"x".repeat(1000)}\r\n`,
      "1\r\ny\r\n0\r\n\r\n",
      EOF,
    ],
    handler: echo,
    want: { statuses: [413], connection: ["close"] },
  },
  {
    name: "a broken chunked body read by the handler: 400 and close",
    script: ["POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", EOF],
    handler: echo,
    want: { statuses: [400], connection: ["close"], errorLog: null },
  },
  {
    name: "100-continue: sent before the body is read, then the answer",
    script: [POST_HEAD("/e", 2, "Expect: 100-continue\r\n"), "hi", EOF],
    handler: echo,
    want: { statuses: [100, 200], bodies: ["got hi"], phases: ["idle", "handler", "body"] },
  },
  {
    name: "100-continue, body never read: no 100, and the connection closes",
    script: [
      "PUT /e HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
      GET("/never"),
      EOF,
    ],
    want: { statuses: [200], connection: ["close"], phases: ["respond", "linger"] },
  },
  {
    name: "100-continue with a body over the limit: no 100, but 413",
    script: [
      "PUT /e HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n",
      EOF,
    ],
    handler: echo,
    want: { statuses: [413], connection: ["close"] },
  },
  {
    name: "a GET with a body: read and discarded before the handler runs",
    script: ["GET /g HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" + GET("/n"), EOF],
    want: { statuses: [200, 200], bodies: ["path /g", "path /n"] },
  },
  {
    name: "a GET with a body too large to discard: 413 and close",
    script: [`GET /g HTTP/1.1\r\nHost: a\r\nContent-Length: ${MAX_DRAIN_BYTES + 1}\r\n\r\n`, EOF],
    settings: { maxBodyBytes: 10 * MAX_DRAIN_BYTES },
    want: { statuses: [413], connection: ["close"] },
  },
  {
    name: "the client leaves mid-head: nothing written, nothing logged",
    script: ["GET / HT", EOF],
    want: { statuses: [], errorLog: null },
  },
  {
    name: "a read fails mid-head (reset): nothing written, nothing logged",
    script: ["GET / HT", { error: new Deno.errors.ConnectionReset("reset") }],
    want: { statuses: [], errorLog: null },
  },
  {
    name: "the client leaves mid-body: no answer, nothing logged",
    script: [POST_HEAD("/p", 10) + "abc", EOF],
    handler: echo,
    want: { statuses: [], errorLog: null },
  },
  {
    name: "the client leaves mid-body, the handler answers anyway: no answer sent",
    script: [POST_HEAD("/p", 10) + "abc", EOF],
    handler: async (request) => {
      await request.text().catch(() => {});
      return new Response("answered anyway");
    },
    want: { statuses: [], errorLog: null },
  },
  {
    name: "the client leaves as 100 Continue is written: nothing more, nothing logged",
    script: [POST_HEAD("/e", 2, "Expect: 100-continue\r\n")],
    handler: echo,
    sink: { failAfter: 0 },
    want: { statuses: [], errorLog: null },
  },
  {
    name: "a read fails that is not the client leaving: 500 and the cause logged",
    script: [{ error: new TypeError("scripted failure") }, EOF],
    want: { statuses: [500], errorLog: /-: connection failed: TypeError: scripted failure/ },
  },
  {
    name: "the client leaves mid-write: nothing more written, nothing logged",
    script: [GET("/big"), GET("/never")],
    handler: () => new Response(new Uint8Array(300_000)),
    sink: { failAfter: 1000 },
    want: {
      statuses: [],
      cutAt: 1000,
      cutStart: "HTTP/1.1 200 OK\r\n",
      errorLog: null,
      readAll: false,
    },
  },
  {
    name: "short writes: the whole response still arrives",
    script: [GET("/s") + GET("/t"), EOF],
    sink: { maxPerWrite: 7 },
    want: { statuses: [200, 200], bodies: ["path /s", "path /t"] },
  },
  {
    name: "a client that stops reading: expired in respond, closed without more bytes",
    script: [GET("/big")],
    handler: () => new Response(new Uint8Array(300_000)),
    sink: { stallAfter: 2000 },
    during: when("respond", (c) => c.expire()),
    want: {
      statuses: [],
      cutAt: 2000,
      cutStart: "HTTP/1.1 200 OK\r\n",
      phases: ["respond", "closed"],
      neverPhases: ["linger"],
      errorLog: null,
    },
  },
  {
    name: "expired while idle: closed, nothing written",
    script: [],
    during: when("idle", (c) => c.expire()),
    want: { statuses: [], phases: ["idle", "closed"], errorLog: null },
  },
  {
    name: "expired while a head arrives: 408 and close",
    script: ["GET /slow HTTP/1.1\r\n"],
    during: when("head", (c) => c.expire()),
    want: { statuses: [408], connection: ["close"], phases: ["idle", "head", "respond", "closed"] },
  },
  {
    name: "expired while the handler waits for the body: 408",
    script: [POST_HEAD("/p", 10) + "abc"],
    handler: echo,
    during: when("body", (c) => c.expire()),
    want: { statuses: [408], connection: ["close"], errorLog: null },
  },
  {
    name: "shut down while idle: closed at once",
    script: [GET("/1")],
    during: async (c, conn) => {
      const answered = () => conn.events.some((e) => e.phase === "respond") && c.phase === "idle";
      assert.ok(await waitFor(answered, ROW_LIMIT_MS));
      c.shutdown();
    },
    want: { statuses: [200], bodies: ["path /1"], phases: ["respond", "idle", "closed"] },
  },
  ...(() => {
    const release = gate();
    return [{
      name: "shut down while the handler runs: the answer says close, the next is not read",
      script: [GET("/slow") + GET("/never")],
      handler: async () => (await release.promise, new Response("done")),
      during: when("handler", (c) => {
        c.shutdown();
        assert.equal(c.ending, "closing");
        release.open();
      }),
      want: { statuses: [200], bodies: ["done"], connection: ["close"] },
    }];
  })(),
  {
    name: "an error the client may not see: fixed text only",
    script: [GET("/x", "Accept: application/json\r\n"), EOF],
    handler: () => {
      throw new Error("/srv/secret/path");
    },
    want: { statuses: [500], bodies: ['{"status":500,"error":"Internal Server Error"}\n'] },
  },
];

Deno.test("Connection: bytes in, responses, phases and log lines out", async (t) => {
  const names = ROWS.map((r) => r.name);
  assert.equal(new Set(names).size, names.length, "row names are unique");
  for (const row of ROWS) await t.step(row.name, async () => void check(await run(row), row.want));
});

/** A fast path that answers /fast from memory and throws for /broken. */
const fastPath: FastPath = (head) => {
  if (head.target === "/broken") throw new Error("fast path bug");
  if (head.target !== "/fast") return undefined;
  const body = encode("from memory");
  const answer: PlainResponse = {
    status: 200,
    fields: [["content-type", "text/plain"]],
    body: [body],
    length: body.length,
  };
  return answer;
};

Deno.test("Connection: the fast path answers without the handler, and falls back to it", async (t) => {
  const handler: Handler = (request) => new Response(`handler ${new URL(request.url).pathname}`);
  await t.step("answered from memory, keep-alive, HEAD without a body", async () => {
    const out = await run({
      name: "fast",
      script: [GET("/fast") + "HEAD /fast HTTP/1.1\r\nHost: a\r\n\r\n" + GET("/other"), EOF],
      methods: ["GET", "HEAD", "GET"],
      handler,
      settings: { fastPath },
      want: { statuses: [] },
    });
    const responses = check(out, {
      statuses: [200, 200, 200],
      bodies: ["from memory", "", "handler /other"],
      neverPhases: ["linger"],
    });
    assert.equal(responses[1]!.header("content-length"), "11");
  });
  await t.step("a fast path that throws leaves the request to the handler, logged", async () => {
    const out = await run({
      name: "broken",
      script: [GET("/broken"), EOF],
      handler,
      settings: { fastPath },
      want: { statuses: [] },
    });
    check(out, { statuses: [200], bodies: ["handler /broken"], errorLog: /fast path failed/ });
  });
  await t.step("Connection: close on the fast path closes", async () => {
    const out = await run({
      name: "close",
      script: [GET("/fast", "Connection: close\r\n"), GET("/never")],
      settings: { fastPath },
      want: { statuses: [] },
    });
    check(out, { statuses: [200], connection: ["close"], readAll: false });
  });
});

Deno.test("Connection: each phase sets its own deadline", async () => {
  const out = await run({
    name: "deadlines",
    script: [GET("/a").slice(0, 5), GET("/a").slice(5), EOF],
    handler: () => (current!.mark(), new Response("ok")),
    want: { statuses: [] },
  });
  check(out, { statuses: [200] });
  const remaining = (phase: Phase) => out.events.find((e) => e.phase === phase)?.remaining;
  // A value check with a wide margin, never a speed: each is set just before the call.
  const near = (phase: Phase, want: number) => {
    const value = remaining(phase);
    assert.ok(value !== undefined && value <= want && value > want - 2_000, `${phase}: ${value}`);
  };
  near("idle", IDLE_MS);
  near("head", REQUEST_MS);
  assert.equal(remaining("handler"), Infinity, "the handler has no deadline");
  // The first write may take two request timeouts of grace (the send floor), at most WRITE_TIMEOUT_MS.
  near("respond", Math.min(WRITE_TIMEOUT_MS, 2 * REQUEST_MS));
  assert.deepEqual(out.events.at(-1), { call: "close", phase: "closed", remaining: Infinity });
});

Deno.test("Connection: a body read's deadline is the request timeout at first", async () => {
  const out = await run({
    name: "body deadline",
    script: [POST_HEAD("/p", 4), "ab", "cd", EOF],
    handler: echo,
    want: { statuses: [] },
  });
  check(out, { statuses: [200], bodies: ["got abcd"] });
  const body = out.events.filter((e) => e.phase === "body");
  assert.ok(body.length >= 2, "each body read waits in the body phase");
  for (const e of body) assert.ok(e.remaining <= REQUEST_MS && e.remaining > REQUEST_MS - 2_000);
});

Deno.test("Connection: the access log names the user of Basic credentials, never the password", async (t) => {
  const basic = (credentials: string) => `Authorization: Basic ${btoa(credentials)}\r\n`;
  // "zoë" as UTF-8 bytes, as a client sends it, base64 of bytes (btoa takes a byte string).
  const zoe = String.fromCharCode(...new TextEncoder().encode("zoë:pw"));
  const requests = [
    GET("/fast", basic("alice:s3cret")), // the fast path
    GET("/page", basic("bob:hunter2")), // the handler
    GET("/fast"), // no credentials
    GET("/fast", "Authorization: Bearer abc\r\n"), // another scheme
    GET("/fast", "Authorization: Basic !!!\r\n"), // not base64
    GET("/fast", basic("nocolon")), // no user:password
    GET("/fast", basic("two words:pw")), // a space would add a column
    GET("/fast", `Authorization: Basic ${btoa(zoe)}\r\n`),
  ];
  const cases: [AccessFormat, string[]][] = [
    ["common", ["alice", "bob", "-", "-", "-", "-", "two\\x20words", "zoë"]],
    ["combined", ["alice", "bob", "-", "-", "-", "-", "two\\x20words", "zoë"]],
  ];
  for (const [format, users] of cases) {
    await t.step(format, async () => {
      const out = await run({
        name: format,
        script: [requests.join(""), EOF],
        settings: { fastPath },
        logFormat: format,
        want: { statuses: [] },
      });
      check(out, { statuses: requests.map(() => 200) });
      const lines = out.access.trimEnd().split("\n");
      assert.deepEqual(lines.map((line) => line.split(" ")[2]), users, out.access);
      for (const secret of ["s3cret", "hunter2", "pw", btoa("alice:s3cret")]) {
        assert.ok(!out.access.includes(` ${secret}`), `the log shows ${secret}`);
      }
    });
  }
  await t.step("json", async () => {
    const out = await run({
      name: "json",
      script: [requests.slice(0, 3).join(""), EOF],
      settings: { fastPath },
      logFormat: "json",
      want: { statuses: [] },
    });
    const users = out.access.trimEnd().split("\n").map((line) => JSON.parse(line).user);
    assert.deepEqual(users, ["alice", "bob", null]);
    assert.ok(!out.access.includes("s3cret") && !out.access.includes("hunter2"));
  });
});
