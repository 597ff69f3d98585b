/**
 * log_test.ts — the common log format line, and the Logger's buffering with
 * fake sinks (style rule 10: a sink is anything with `write`).
 */

import assert from "node:assert/strict";
import { clfDate, formatCommon, Logger, type LogSink } from "../lib/log.ts";

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
    await new Promise((resolve) => setTimeout(resolve, 10));
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
  await new Promise((resolve) => setTimeout(resolve, 0));
  const text = errors.text();
  assert.match(text, /^minserve: GET \/ HTTP\/1\.1: handler failed: Error: boom/);
  assert.ok(text.endsWith("minserve: plain\n"), text);
  assert.equal(access.writes, 0);
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
