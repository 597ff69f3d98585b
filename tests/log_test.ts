/**
 * log_test.ts — the common log format line, hostile bytes in every format,
 * and the Logger's buffering and error-log rate limit with fake sinks
 * (style rule 10: a sink is anything with `write`).
 */

import assert from "node:assert/strict";
import {
  clfDate,
  ERROR_WINDOW_MS,
  escapeLogText,
  formatCombined,
  formatCommon,
  formatJson,
  Logger,
  type LogSink,
} from "../lib/log.ts";
import { delay } from "./_support/wait.ts";

const DATE = new Date(Date.UTC(2000, 9, 10, 13, 55, 36));
const CLF_LINE =
  /^\S+ - - \[\d{2}\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "[^"\\]*(\\.[^"\\]*)*" \d{3} (\d+|-)$/;

/** MemorySink records what is written, optionally a few bytes per call like a slow pipe. */
class MemorySink implements LogSink {
  readonly #chunks: Uint8Array[] = [];
  readonly #maxPerWrite: number;
  writes = 0;
  constructor(maxPerWrite = Infinity) {
    this.#maxPerWrite = maxPerWrite;
  }
  write(p: Uint8Array): Promise<number> {
    this.writes++;
    const n = Math.min(p.length, this.#maxPerWrite);
    this.#chunks.push(p.slice(0, n));
    return Promise.resolve(n);
  }
  text(): string {
    const decoder = new TextDecoder();
    return this.#chunks.map((c) => decoder.decode(c, { stream: true })).join("") + decoder.decode();
  }
}

Deno.test("clfDate formats UTC with a +0000 zone", () => {
  assert.equal(clfDate(DATE), "10/Oct/2000:13:55:36 +0000");
  assert.equal(clfDate(new Date(Date.UTC(2024, 0, 2, 3, 4, 5))), "02/Jan/2024:03:04:05 +0000");
  assert.equal(clfDate(new Date(Date.UTC(1999, 11, 31, 23, 59, 59))), "31/Dec/1999:23:59:59 +0000");
  // An invalid date has no month to name: an error, not "NaN/undefined/NaN" in the log.
  assert.throws(() => clfDate(new Date(Number.NaN)), RangeError);
});

Deno.test("formatCommon", async (t) => {
  await t.step("a full line", () => {
    const line = formatCommon(
      { remote: "127.0.0.1", requestLine: "GET / HTTP/1.1", status: 200, bytes: 1234 },
      DATE,
    );
    assert.equal(line, '127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1234');
    assert.match(line, CLF_LINE);
  });
  await t.step("zero bytes are a dash", () => {
    const line = formatCommon(
      { remote: "127.0.0.1", requestLine: "HEAD /x HTTP/1.1", status: 304, bytes: 0 },
      DATE,
    );
    assert.equal(line, '127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "HEAD /x HTTP/1.1" 304 -');
    assert.match(line, CLF_LINE);
  });
  await t.step("no request line", () => {
    const line = formatCommon({ remote: "::1", requestLine: "-", status: 400, bytes: 5 }, DATE);
    assert.equal(line, '::1 - - [10/Oct/2000:13:55:36 +0000] "-" 400 5');
  });
  await t.step("quotes and backslashes in the request line are escaped", () => {
    const line = formatCommon(
      { remote: "10.0.0.1", requestLine: 'GET /a"b\\c HTTP/1.1', status: 404, bytes: 9 },
      DATE,
    );
    assert.equal(
      line,
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a\\"b\\\\c HTTP/1.1" 404 9',
    );
    assert.match(line, CLF_LINE);
  });
  await t.step("a request line that tries to forge the rest of the line", () => {
    const line = formatCommon(
      { remote: "10.0.0.1", requestLine: 'GET /" 200 1 "x HTTP/1.1', status: 404, bytes: 9 },
      DATE,
    );
    assert.match(line, CLF_LINE);
    assert.ok(line.endsWith('" 404 9'));
  });
});

Deno.test("access log: the user column, in every format", async (t) => {
  const base = { remote: "10.0.0.1", requestLine: "GET / HTTP/1.1", status: 200, bytes: 1 };
  // [name, user, common's column, JSON's value]: users are text (decoded from Basic), not bytes.
  const CASES: [string, string | undefined, string, string | null][] = [
    ["none", undefined, "-", null],
    ["a name", "alice", "alice", "alice"],
    ["beyond ASCII, as text", "zoë", "zoë", "zoë"],
    ["a space cannot add a column", 'a b" 200', 'a\\x20b\\"\\x20200', 'a b" 200'],
    ["an ESC", "a\x1b[2Jb", "a\\x1b[2Jb", "a\x1b[2Jb"],
    ["a bidi override", "a\u202eb", "a\\u202eb", "a\u202eb"],
  ];
  for (const [name, user, column, json] of CASES) {
    await t.step(name, () => {
      const entry = { ...base, user };
      const line = formatCommon(entry, DATE);
      assert.equal(
        line,
        `10.0.0.1 - ${column} [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1`,
      );
      assert.doesNotMatch(line, RAW_UNSAFE);
      assert.equal(line.split(" ").length, 10, "no column added");
      assert.ok(formatCombined(entry, DATE).startsWith(`10.0.0.1 - ${column} [`));
      const jsonLine = formatJson(entry, DATE);
      assert.doesNotMatch(jsonLine, RAW_UNSAFE);
      assert.equal(JSON.parse(jsonLine).user, json);
    });
  }
});

Deno.test("Logger buffers access lines until flush", async () => {
  const access = new MemorySink();
  const errors = new MemorySink();
  const logger = new Logger({ access, errors });
  logger.access({ remote: "127.0.0.1", requestLine: "GET /a HTTP/1.1", status: 200, bytes: 3 });
  logger.access({ remote: "127.0.0.1", requestLine: "GET /b HTTP/1.1", status: 404, bytes: 0 });
  assert.equal(access.writes, 0, "written before the flush");
  await logger.flush();
  const lines = access.text().split("\n");
  assert.equal(lines.length, 3);
  assert.equal(lines[2], "");
  assert.match(lines[0]!, CLF_LINE);
  assert.match(lines[0]!, /"GET \/a HTTP\/1\.1" 200 3$/);
  assert.match(lines[1]!, /"GET \/b HTTP\/1\.1" 404 -$/);
  assert.equal(access.writes, 1, "the buffered lines go out in one write");
  assert.equal(errors.text(), "");

  // A second flush with nothing pending writes nothing.
  await logger.flush();
  assert.equal(access.writes, 1);
});

Deno.test("Logger flushes by itself after FLUSH_INTERVAL_MS", async () => {
  const access = new MemorySink();
  const logger = new Logger({ access, errors: new MemorySink() });
  logger.access({ remote: "127.0.0.1", requestLine: "GET / HTTP/1.1", status: 200, bytes: 1 });
  for (let i = 0; i < 100 && access.text() === ""; i++) {
    await delay(10);
  }
  assert.match(access.text(), /"GET \/ HTTP\/1\.1" 200 1\n$/);
  await logger.flush();
});

Deno.test("Logger writes everything through a sink that takes a few bytes at a time", async () => {
  const access = new MemorySink(7);
  const logger = new Logger({ access, errors: new MemorySink() });
  for (let i = 0; i < 5; i++) {
    logger.access({
      remote: "127.0.0.1",
      requestLine: `GET /${i} HTTP/1.1`,
      status: 200,
      bytes: i,
    });
  }
  await logger.flush();
  const lines = access.text().trimEnd().split("\n");
  assert.equal(lines.length, 5);
  lines.forEach((line, i) =>
    assert.match(line, new RegExp(`"GET /${i} HTTP/1\\.1" 200 ${i || "-"}$`))
  );
});

Deno.test("Logger with access: null writes no access lines", async () => {
  const errors = new MemorySink();
  const logger = new Logger({ access: null, errors });
  logger.access({ remote: "127.0.0.1", requestLine: "GET / HTTP/1.1", status: 200, bytes: 1 });
  await logger.flush();
  assert.equal(errors.text(), "");
});

Deno.test("Logger.error writes the message and cause to the error sink, in order", async () => {
  const access = new MemorySink();
  const errors = new MemorySink();
  const logger = new Logger({ access, errors });
  logger.error("GET / HTTP/1.1: handler failed", new Error("boom"));
  logger.error("plain");
  // Lines are chained so they stay whole and in order: let the chain run.
  await delay(0);
  const text = errors.text();
  assert.match(text, /^minserve: GET \/ HTTP\/1\.1: handler failed: Error: boom/);
  assert.ok(text.endsWith("minserve: plain\n"), text);
  assert.equal(access.writes, 0);
  await logger.flush();
});

Deno.test("Logger.error follows an error's causes, a few levels deep, on indented lines", async () => {
  const errors = new MemorySink();
  const logger = new Logger({ access: new MemorySink(), errors });
  let cause: Error = new Error("level 9");
  for (let level = 8; level >= 0; level--) cause = new Error(`level ${level}`, { cause });
  logger.error("POST /board HTTP/1.1: handler failed", cause);
  await delay(0);
  const text = errors.text();
  assert.match(text, /handler failed: Error: level 0\n/);
  for (let level = 1; level <= 4; level++) {
    assert.match(text, new RegExp(`\\n  caused by: Error: level ${level}\\n`));
  }
  assert.ok(!text.includes("level 5"), "at most four causes");
  // Every line but the first is indented: no cause can pass for an entry of its own.
  for (const line of text.trimEnd().split("\n").slice(1)) assert.match(line, /^ {2}/);
  await logger.flush();
});

Deno.test("Logger stops logging, without throwing, once the access sink fails", async () => {
  let calls = 0;
  const broken: LogSink = {
    write() {
      calls++;
      return Promise.reject(new Deno.errors.BrokenPipe("gone"));
    },
  };
  const logger = new Logger({ access: broken, errors: new MemorySink() });
  logger.access({ remote: "127.0.0.1", requestLine: "GET / HTTP/1.1", status: 200, bytes: 1 });
  await logger.flush();
  logger.access({ remote: "127.0.0.1", requestLine: "GET / HTTP/1.1", status: 200, bytes: 1 });
  await logger.flush();
  assert.equal(calls, 1);
});

/**
 * Bytes a client can put in a request line, Referer or User-Agent, as the
 * engine hands them over (one character per octet), and how the log shows
 * them: `common` inside a quoted field, `json` as the value JSON.parse
 * gives back. No format may write a raw control character.
 */
const HOSTILE_FIELDS: [name: string, bytes: string, common: string, json: string][] = [
  ["ESC CSI colour (7-bit)", "ua-\x1b[31mX", "ua-\\x1b[31mX", "ua-\x1b[31mX"],
  ["raw byte 0x9B, a one-byte CSI", "ua-\x9b31mX", "ua-\\x9b31mX", "ua-\\x9b31mX"],
  ["U+009B CSI encoded as UTF-8", "ua-\xc2\x9b31mX", "ua-\\u009b31mX", "ua-\u009b31mX"],
  ["U+0085 next line encoded as UTF-8", "a\xc2\x85b", "a\\u0085b", "a\u0085b"],
  ["NUL", "a\x00b", "a\\x00b", "a\x00b"],
  [
    "LF forging a second line",
    "x\nminserve: forged",
    "x\\x0aminserve: forged",
    "x\nminserve: forged",
  ],
  ["CR", "a\rb", "a\\x0db", "a\rb"],
  ["tab", "a\tb", "a\\x09b", "a\tb"],
  ["DEL", "a\x7fb", "a\\x7fb", "a\x7fb"],
  ["invalid byte 0xFF", "a\xffb", "a\\xffb", "a\\xffb"],
  ["truncated sequence", "a\xe2\x82", "a\\xe2\\x82", "a\\xe2\\x82"],
  ["overlong slash", "\xc0\xaf", "\\xc0\\xaf", "\\xc0\\xaf"],
  ["encoded surrogate", "\xed\xa0\x80", "\\xed\\xa0\\x80", "\\xed\\xa0\\x80"],
  ["past U+10FFFF", "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80", "\\xf4\\x90\\x80\\x80"],
  ["bidi override U+202E", "evil\xe2\x80\xaegpj.exe", "evil\\u202egpj.exe", "evil\u202egpj.exe"],
  ["line separator U+2028", "a\xe2\x80\xa8b", "a\\u2028b", "a\u2028b"],
  ["zero-width space", "a\xe2\x80\x8bb", "a\\u200bb", "a\u200bb"],
  ["quote and backslash", 'a"b\\c', 'a\\"b\\\\c', 'a"b\\c'],
  ["valid UTF-8 is kept", "caf\xc3\xa9 \xf0\x9f\x98\x80", "café 😀", "café 😀"],
  ["text, not bytes: a lone surrogate", "a\ud800b€", "a\\ud800b€", "a\ud800b€"],
];

/** RAW_UNSAFE: what no log line may hold raw. */
// deno-lint-ignore no-control-regex
const RAW_UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b\u202e]/;

Deno.test("access log: hostile bytes are escaped in every format", async (t) => {
  for (const [name, bytes, common, json] of HOSTILE_FIELDS) {
    await t.step(name, () => {
      assert.equal(escapeLogText(bytes), common);
      const entry = {
        remote: "10.0.0.1",
        requestLine: `GET /${bytes} HTTP/1.1`,
        status: 200,
        bytes: 1,
        referer: bytes,
        userAgent: bytes,
      };
      const line = formatCommon(entry, DATE);
      assert.equal(
        line,
        `10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /${common} HTTP/1.1" 200 1`,
      );
      assert.match(line, CLF_LINE);
      assert.doesNotMatch(line, RAW_UNSAFE);
      const combined = formatCombined(entry, DATE);
      assert.ok(combined.endsWith(` "${common}" "${common}"`), combined);
      assert.doesNotMatch(combined, RAW_UNSAFE);
      const jsonLine = formatJson(entry, DATE);
      assert.doesNotMatch(jsonLine, RAW_UNSAFE);
      const parsed = JSON.parse(jsonLine);
      assert.equal(parsed.request, `GET /${json} HTTP/1.1`);
      assert.equal(parsed.referer, json);
      assert.equal(parsed.user_agent, json);
    });
  }
});

Deno.test("error log: hostile text is escaped and cannot forge a line", async (t) => {
  const CASES: [name: string, message: string, cause: unknown, want: RegExp][] = [
    ["ESC in the message", "GET /\x1b[2J HTTP/1.1: handler failed", undefined, /\/\\x1b\[2J /],
    ["C1 CSI in the message", "a\u009b31mb", undefined, /a\\u009b31mb/],
    ["bidi override in the message", "a\u202eb", undefined, /a\\u202eb/],
    ["text is not taken for bytes", 'open "café": failed', undefined, /open "café": failed/],
    ["ESC in the cause", "x", new Error("bad \x1b[31m"), /Error: bad \\x1b\[31m/],
    ["a line break in the cause", "x", new Error("one\nminserve: forged"), /one\n {2}minserve: f/],
    ["a non-Error cause", "x", "str\x07ange", /x: str\\x07ange/],
  ];
  for (const [name, message, cause, want] of CASES) {
    await t.step(name, async () => {
      const errors = new MemorySink();
      const logger = new Logger({ access: null, errors });
      logger.error(message, cause);
      await logger.flush();
      const text = errors.text();
      assert.match(text, want);
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(text, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
      const entries = text.split("\n").filter((line) => line.startsWith("minserve:"));
      assert.equal(entries.length, 1, text);
    });
  }
});

/** failure makes an Error at one place in the code, as one kind of failure does. */
function failure(message: string): Error {
  return new Error(message);
}

/** otherFailure is the same failure class thrown at another place. */
function otherFailure(message: string): Error {
  return new Error(message);
}

/** FLOODS: many errors of one kind, as an attack or a full disk makes them; each writes one trace and a count. */
const FLOODS: [name: string, entry: (i: number) => [message: string, cause?: unknown]][] = [
  [
    "1,000 plain-HTTP connections to the HTTPS port",
    () => ["-: connection failed", failure("received corrupt message of type InvalidContentType")],
  ],
  [
    "1,000 board posts on a full disk",
    () => ["POST /board HTTP/1.1: handler failed", failure("database or disk is full")],
  ],
  [
    "1,000 uploads to 1,000 names on a full disk",
    (i) => [`PUT /uploads/f${i} HTTP/1.1: handler failed`, failure(`No space left: f${i}`)],
  ],
  [
    "1,000 request lines cut short",
    (i) => [`GET /${"a".repeat(190)}${i}…: handler failed`, failure("boom")],
  ],
  ["1,000 accept failures", () => ["accept failed", failure("Too many open files")]],
  ["1,000 errors without a cause", () => ["worker died"]],
];

Deno.test("error log: a flood of one kind writes one stack trace and a count", async (t) => {
  for (const [name, entry] of FLOODS) {
    await t.step(name, async () => {
      const errors = new MemorySink();
      let now = 1_000_000;
      const logger = new Logger({ access: null, errors, now: () => now });
      for (let i = 0; i < 1000; i++) {
        now += 5; // 1,000 in 5 s: one window
        logger.error(...entry(i));
      }
      await logger.flush();
      const lines = errors.text().trimEnd().split("\n");
      const entries = lines.filter((line) => line.startsWith("minserve:"));
      assert.equal(entries.length, 2, errors.text());
      const [first] = entry(0);
      assert.ok(entries[0]!.startsWith(`minserve: ${first}`), entries[0]);
      assert.equal(entries[1], `minserve: ${first} (and 999 more like it in the last 10 s)`);
      assert.equal(lines.length <= 12, true, "one stack trace, not a thousand");

      // The next window's first entry is one line, without the stack trace.
      now += ERROR_WINDOW_MS;
      logger.error(...entry(1000));
      await logger.flush();
      const more = errors.text().trimEnd().split("\n").slice(lines.length);
      assert.equal(more.length, 1, more.join("\n"));
      assert.doesNotMatch(more[0]!, /\bat /);
    });
  }
});

Deno.test("error log: different kinds are each written in full", async () => {
  const errors = new MemorySink();
  let now = 0;
  const logger = new Logger({ access: null, errors, now: () => now });
  const entries: [string, unknown][] = [
    ["GET /a HTTP/1.1: handler failed", failure("x")],
    ["GET /a HTTP/1.1: handler failed", otherFailure("x")], // thrown elsewhere
    ["GET /a HTTP/1.1: handler failed", new TypeError("x")], // another class
    ["GET /a HTTP/1.1: fast path failed", failure("x")], // another step
    ["accept failed", failure("x")],
  ];
  for (const [message, cause] of entries) logger.error(message, cause);
  now += 1;
  for (const [message, cause] of entries) logger.error(message, cause); // counted
  await logger.flush();
  const lines = errors.text().split("\n").filter((line) => line.startsWith("minserve:"));
  assert.equal(lines.filter((l) => l.endsWith("(and 1 more like it in the last 10 s)")).length, 5);
  assert.equal(lines.length, 10, lines.join("\n"));
});

Deno.test("error log: a count is written once the window ends, before the next entry", async () => {
  const errors = new MemorySink();
  let now = 0;
  const logger = new Logger({ access: null, errors, now: () => now });
  for (let i = 0; i < 3; i++) logger.error("POST /board HTTP/1.1: handler failed", failure("full"));
  now += ERROR_WINDOW_MS + 1;
  logger.error("POST /board HTTP/1.1: handler failed", failure("full"));
  await delay(0);
  const entries = errors.text().split("\n").filter((line) => line.startsWith("minserve:"));
  assert.deepEqual(entries.slice(1), [
    "minserve: POST /board HTTP/1.1: handler failed (and 2 more like it in the last 10 s)",
    "minserve: POST /board HTTP/1.1: handler failed: Error: full (stack trace not repeated)",
  ]);
  await logger.flush();
});
