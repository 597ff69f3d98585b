/**
 * log.ts — the access log (one line per response on stdout, in the common
 * log format Python's http.server and Apache print) and the error log on
 * stderr.
 *
 * Lines are buffered and flushed together at most every FLUSH_INTERVAL_MS,
 * so a busy server does not pay one write per request; a stdout that cannot
 * keep up loses lines (counted), never blocks serving.
 */

/** AccessEntry is what one access-log line records. */
export interface AccessEntry {
  /** The client's address. */
  remote: string;
  /** The request line as received, or "-" when none could be read. */
  requestLine: string;
  /** The response status. */
  status: number;
  /** Content bytes sent. */
  bytes: number;
}

/** FLUSH_INTERVAL_MS is how long an access-log line may wait in memory. */
export const FLUSH_INTERVAL_MS = 50;
/** MAX_PENDING_BYTES bounds the unflushed log; lines past it are dropped and counted. */
export const MAX_PENDING_BYTES = 1024 * 1024;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** clfDate formats `date` as `10/Oct/2000:13:55:36 +0000`, the common log format's time. */
export function clfDate(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** formatCommon renders `entry` as one common-log-format line, without the newline. */
export function formatCommon(entry: AccessEntry, date: Date): string {
  const line = entry.requestLine.replace(/["\\]/g, (c) => `\\${c}`);
  return `${entry.remote} - - [${clfDate(date)}] "${line}" ${entry.status} ${entry.bytes || "-"}`;
}

/** LogSink is where log text goes: `Deno.stdout` and `Deno.stderr` fit. */
export interface LogSink {
  write(p: Uint8Array): Promise<number>;
}

/** LoggerOptions choose the sinks and whether the access log is on. */
export interface LoggerOptions {
  access?: LogSink | null;
  errors?: LogSink;
}

/** Logger writes the access log and the error log. */
export class Logger {
  #access: LogSink | null;
  #errors: LogSink;
  #pending: string[] = [];
  #pendingBytes = 0;
  #dropped = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> | undefined;
  #encoder = new TextEncoder();

  /** Creates a logger; by default access lines go to stdout and errors to stderr. */
  constructor(options: LoggerOptions = {}) {
    this.#access = options.access === undefined ? Deno.stdout : options.access;
    this.#errors = options.errors ?? Deno.stderr;
  }

  /** access records one response. */
  access(entry: AccessEntry) {
    if (this.#access === null) return;
    const line = formatCommon(entry, new Date()) + "\n";
    if (this.#pendingBytes + line.length > MAX_PENDING_BYTES) {
      this.#dropped++;
      return;
    }
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
    }
  }

  /** error records a failure with its cause on stderr, at once. */
  error(message: string, cause?: unknown) {
    let text = `minserve: ${message}`;
    if (cause !== undefined) {
      text += `: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`;
    }
    this.#errors.write(this.#encoder.encode(text + "\n")).catch(() => {});
  }

  /** info prints a line on the access stream (start-up banner), even when the access log is off. */
  async info(text: string) {
    await writeAll(Deno.stdout, this.#encoder.encode(text + "\n")).catch(() => {});
  }

  /** flush writes out the buffered access lines; awaiting it guarantees they were handed to the sink. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flushing;
    if (this.#pending.length === 0 || this.#access === null) return;
    let text = this.#pending.join("");
    if (this.#dropped > 0) {
      text += `minserve: ${this.#dropped} access-log lines dropped: output too slow\n`;
      this.#dropped = 0;
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    const sink = this.#access;
    this.#flushing = writeAll(sink, this.#encoder.encode(text)).catch(() => {
      this.#access = null; // stdout is gone (closed pipe): stop logging, keep serving
    });
    await this.#flushing;
    this.#flushing = undefined;
  }
}

async function writeAll(sink: LogSink, p: Uint8Array) {
  let offset = 0;
  while (offset < p.length) offset += await sink.write(p.subarray(offset));
}
