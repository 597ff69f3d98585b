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
  /** The Referer field, for the combined and JSON formats. */
  referer?: string | undefined;
  /** The User-Agent field, for the combined and JSON formats. */
  userAgent?: string | undefined;
}

/** AccessFormat is the access log's line format. */
export type AccessFormat = "common" | "combined" | "json";

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

/** formatCombined is the common format plus quoted Referer and User-Agent (Apache's "combined"). */
export function formatCombined(entry: AccessEntry, date: Date): string {
  const quote = (v: string | undefined) =>
    `"${v === undefined ? "-" : v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  return `${formatCommon(entry, date)} ${quote(entry.referer)} ${quote(entry.userAgent)}`;
}

/** formatJson is one JSON object per line, for log processors. */
export function formatJson(entry: AccessEntry, date: Date): string {
  return JSON.stringify({
    time: date.toISOString(),
    remote: entry.remote,
    request: entry.requestLine,
    status: entry.status,
    bytes: entry.bytes,
    referer: entry.referer ?? null,
    user_agent: entry.userAgent ?? null,
  });
}

const FORMATTERS: Record<AccessFormat, (entry: AccessEntry, date: Date) => string> = {
  common: formatCommon,
  combined: formatCombined,
  json: formatJson,
};

/** LogSink is where log text goes: `Deno.stdout` and `Deno.stderr` fit. */
export interface LogSink {
  write(p: Uint8Array): Promise<number>;
}

/** LoggerOptions choose the sinks and whether the access log is on. */
export interface LoggerOptions {
  access?: LogSink | null;
  errors?: LogSink;
  /** The access-log format; "common" by default. */
  format?: AccessFormat;
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
  #format: (entry: AccessEntry, date: Date) => string;
  #errorChain: Promise<void> = Promise.resolve();
  #errorsPending = 0;

  /** Creates a logger; by default access lines go to stdout and errors to stderr. */
  constructor(options: LoggerOptions = {}) {
    this.#access = options.access === undefined ? Deno.stdout : options.access;
    this.#errors = options.errors ?? Deno.stderr;
    this.#format = FORMATTERS[options.format ?? "common"];
  }

  /** Whether access lines are written at all. */
  get enabled(): boolean {
    return this.#access !== null;
  }

  /** Whether the format records Referer and User-Agent. */
  get wantsAgents(): boolean {
    return this.#access !== null && this.#format !== formatCommon;
  }

  /** access records one response. */
  access(entry: AccessEntry) {
    if (this.#access === null) return;
    const line = this.#format(entry, new Date()) + "\n";
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
    // Whole lines, in order, even when a write is short.
    const bytes = this.#encoder.encode(text + "\n");
    const write = () => writeAll(this.#errors, bytes);
    this.#errorsPending++;
    const done = () => void this.#errorsPending--;
    // Idle: write now (synchronously started); else after the lines before it.
    this.#errorChain = (this.#errorsPending === 1 ? write() : this.#errorChain.then(write))
      .catch(() => {}).finally(done);
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
