/**
 * log.ts — the access log (one line per response on stdout, in the common
 * log format Python's http.server and Apache print) and the error log on
 * stderr.
 *
 * Lines are buffered and flushed together at most every FLUSH_INTERVAL_MS,
 * so a busy server does not pay one write per request; a stdout that cannot
 * keep up loses lines (counted), never blocks serving.
 *
 * Both logs are read in terminals and by log processors, and carry bytes a
 * client chose (the request line, Referer, User-Agent): a control character
 * could recolour or rewrite the screen (ESC, or the one-byte CSI U+009B), a
 * line break could forge a line. Every such character is written as a
 * visible escape ({@linkcode escapeLogText}). The error log is rate-limited
 * by kind, so a flood of one failure writes one stack trace and a count.
 */

import { monthName } from "./http/http_date.ts";
import { writeAll } from "./http/response_writer.ts";

/**
 * AccessEntry is what one access-log line records. Its strings are byte
 * strings, as the engine reads them: one character per octet (RFC 9110
 * §5.5: field values are octets). They are shown as UTF-8 where they are
 * UTF-8, and escaped where not ({@linkcode escapeLogText}).
 */
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
  /**
   * The user name of the request's Basic credentials (text, decoded), in
   * every format: Apache's `%u`, nginx's `$remote_user`. The name sent, so
   * on a 401 the name that was tried. Never the password.
   */
  user?: string | undefined;
}

/** ACCESS_FORMATS are the access log's line formats, the default first. */
export const ACCESS_FORMATS = ["common", "combined", "json"] as const;
/** AccessFormat is the access log's line format. */
export type AccessFormat = typeof ACCESS_FORMATS[number];

/** FLUSH_INTERVAL_MS is how long an access-log line may wait in memory. */
export const FLUSH_INTERVAL_MS = 50;
/** MAX_PENDING_BYTES bounds the unflushed log; lines past it are dropped and counted. */
export const MAX_PENDING_BYTES = 1024 * 1024;
/**
 * ERROR_WINDOW_MS: after an error-log entry, more of its kind within this
 * long are counted, not written; one line with the count follows when the
 * window ends (or at {@linkcode Logger.flush}).
 */
export const ERROR_WINDOW_MS = 10_000;
/** MAX_ERROR_KINDS bounds the kinds the error log remembers; past it the oldest is forgotten, its count written first. */
export const MAX_ERROR_KINDS = 1000;

/**
 * clfDate takes a valid `date` and returns it in UTC as the common log
 * format writes time, `10/Oct/2000:13:55:36 +0000` (the month names of
 * HTTP dates). Throws a RangeError for an invalid date.
 */
export function clfDate(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${monthName(date.getUTCMonth())}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

const PLAIN = /^[\x20-\x7e]*$/;
/**
 * UNSAFE are the characters a log line shows as escapes: C0 controls, DEL
 * and C1 controls (a terminal obeys them), the line and paragraph
 * separators, format characters (bidi overrides, zero-width characters,
 * which make a line read differently than it is) and lone surrogates (no
 * UTF-8 form).
 */
// deno-lint-ignore no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\p{Cf}\p{Cs}]/u;
/** JSON_UNSAFE: what JSON.stringify leaves raw of UNSAFE (it escapes C0 and lone surrogates). */
const JSON_UNSAFE = /[\x7f-\x9f\u2028\u2029\p{Cf}]/gu;

/** EscapeOptions adapt {@linkcode escapeLogText} to the error log. */
export interface EscapeOptions {
  /**
   * Characters left as they are. The error log, which quotes nothing, keeps
   * `"` and `\`, and the line breaks of a stack trace.
   */
  keep?: string;
  /** Whether `value` is text already (an error message), not a byte string to decode. */
  text?: boolean;
}

/**
 * escapeLogText makes `value` safe to print inside a quoted log field:
 * `"` and `\` get a backslash, C0 controls and DEL become `\xHH`, other
 * unsafe characters (C1 controls, U+2028 and U+2029, format characters such
 * as U+202E, lone surrogates) `\uHHHH`. A byte string (every character
 * below U+0100, as {@linkcode AccessEntry} fields are) is first decoded as
 * UTF-8, and each byte that is not part of valid UTF-8 becomes `\xHH`: so
 * the raw byte 0x9B shows as `\x9b` and the UTF-8 encoded U+009B as
 * `\u009b`. Returns the escaped text; never throws.
 */
export function escapeLogText(value: string, options: EscapeOptions = {}): string {
  if (PLAIN.test(value) && !value.includes('"') && !value.includes("\\")) return value;
  const keep = options.keep ?? "";
  return mapText(value, (c) => {
    if (keep.includes(c)) return c;
    if (c === '"' || c === "\\") return `\\${c}`;
    return UNSAFE.test(c) ? escapeChar(c) : c;
  }, options.text ?? false);
}

/** escapeChar is `\xHH` for C0 and DEL, else {@linkcode unicodeEscape}. */
function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f ? invalidByte(code) : unicodeEscape(c);
}

/** unicodeEscape is `\uHHHH` for each UTF-16 unit of `c`, as JSON and JavaScript write it. */
function unicodeEscape(c: string): string {
  let out = "";
  for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`;
  return out;
}

function invalidByte(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, "0")}`;
}

/**
 * mapText maps each character of `value` through `char`. Unless `value` is
 * `text` already, or holds a character past U+00FF (so cannot be bytes), it
 * is decoded as UTF-8 first (Unicode §3.9, table 3-7: no overlong forms, no
 * surrogates, nothing past U+10FFFF), and each byte outside a well-formed
 * sequence becomes `\xHH`.
 */
function mapText(value: string, char: (c: string) => string, text: boolean): string {
  let out = "";
  if (text || /[\u0100-\uffff]/.test(value)) {
    for (const c of value) out += char(c); // code points; a lone surrogate alone
    return out;
  }
  for (let i = 0; i < value.length;) {
    const b = value.charCodeAt(i);
    const n = b < 0x80 ? 1 : utf8Length(value, i);
    if (n === 0) {
      out += invalidByte(b);
      i++;
      continue;
    }
    let cp = n === 1 ? b : b & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) cp = (cp << 6) | (value.charCodeAt(i + k) & 0x3f);
    out += char(String.fromCodePoint(cp));
    i += n;
  }
  return out;
}

/** utf8Length is the length of the well-formed UTF-8 sequence of bytes at `value[i]`, or 0. */
function utf8Length(value: string, i: number): number {
  const b = value.charCodeAt(i);
  let n: number, low = 0x80, high = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) n = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
    if (b === 0xe0) low = 0xa0; // overlong
    if (b === 0xed) high = 0x9f; // surrogates
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
    if (b === 0xf0) low = 0x90; // overlong
    if (b === 0xf4) high = 0x8f; // past U+10FFFF
  } else return 0;
  if (i + n > value.length) return 0;
  const second = value.charCodeAt(i + 1);
  if (second < low || second > high) return 0;
  for (let k = 2; k < n; k++) {
    const c = value.charCodeAt(i + k);
    if (c < 0x80 || c > 0xbf) return 0;
  }
  return n;
}

/**
 * formatCommon returns `entry`, at `date`, as one common-log-format line,
 * without the newline. Throws a RangeError for an invalid date.
 */
export function formatCommon(entry: AccessEntry, date: Date): string {
  return `${escapeLogText(entry.remote)} - ${userField(entry.user)} [${clfDate(date)}] "${
    escapeLogText(entry.requestLine)
  }" ${entry.status} ${entry.bytes || "-"}`;
}

/**
 * userField is the common format's unquoted user column: "-" for none, else
 * the name escaped as {@linkcode escapeLogText} escapes text, and a space as
 * `\x20`, so a name cannot add a column.
 */
function userField(user: string | undefined): string {
  if (user === undefined) return "-";
  return escapeLogText(user, { text: true }).replaceAll(" ", "\\x20");
}

/**
 * formatCombined returns the common format's line plus quoted Referer and
 * User-Agent (Apache's "combined"). Throws a RangeError for an invalid date.
 */
export function formatCombined(entry: AccessEntry, date: Date): string {
  const quote = (v: string | undefined) => `"${v === undefined ? "-" : escapeLogText(v)}"`;
  return `${formatCommon(entry, date)} ${quote(entry.referer)} ${quote(entry.userAgent)}`;
}

/**
 * formatJson is one JSON object per line, for log processors. Fields are
 * decoded as {@linkcode escapeLogText} does, a byte that is not UTF-8 shown
 * as the text `\xHH`; JSON's own `\u` escapes carry the unsafe characters,
 * so the line holds no raw control character and parses to what was sent.
 * Returns the line without the newline; throws a RangeError for an invalid
 * date.
 */
export function formatJson(entry: AccessEntry, date: Date): string {
  const text = (v: string) => PLAIN.test(v) ? v : mapText(v, (c) => c, false);
  return JSON.stringify({
    time: date.toISOString(),
    remote: text(entry.remote),
    request: text(entry.requestLine),
    status: entry.status,
    bytes: entry.bytes,
    referer: entry.referer === undefined ? null : text(entry.referer),
    user_agent: entry.userAgent === undefined ? null : text(entry.userAgent),
    user: entry.user ?? null,
  }).replace(JSON_UNSAFE, unicodeEscape); // only inside strings: still valid JSON
}

const FORMATTERS: Record<AccessFormat, (entry: AccessEntry, date: Date) => string> = {
  common: formatCommon,
  combined: formatCombined,
  json: formatJson,
};

/** LogSink is where log text goes: `Deno.stdout` and `Deno.stderr` fit. */
export interface LogSink {
  /** write takes bytes from the start of `p` and resolves to how many it took. */
  write(p: Uint8Array): Promise<number>;
}

/** LoggerOptions choose the sinks and whether the access log is on. */
export interface LoggerOptions {
  access?: LogSink | null;
  errors?: LogSink;
  /** The access-log format; "common" by default. */
  format?: AccessFormat;
  /** The clock for the error log's windows, in ms since the epoch; `Date.now` by default. */
  now?: () => number;
}

/** ERROR_TEXT: the error log's messages are text, and quote nothing. */
const ERROR_TEXT: EscapeOptions = { keep: '"\\', text: true };

/** ErrorKind is what the error log remembers of one kind of failure. */
interface ErrorKind {
  /** The message that opened the current window, for its count line. */
  message: string;
  /** When the current window opened, in ms since the epoch. */
  since: number;
  /** Entries of this kind in the current window that were counted, not written. */
  suppressed: number;
}

/**
 * REQUEST_LINE_PREFIX is the request line a connection puts before what
 * failed (`GET /a HTTP/1.1: handler failed`, `-: connection failed`, maybe
 * cut short with "…"): not part of a failure's kind, so one failure reached
 * through many URLs is one kind.
 */
const REQUEST_LINE_PREFIX = /^(?:-|\S+ \S+(?: \S+)?): /;

/**
 * kindOf names a failure's kind: what failed (the message without its
 * request line) and where the cause was thrown (its class and first stack
 * frame), not the cause's message, which may hold a path or an address.
 */
function kindOf(message: string, cause: unknown): string {
  const what = message.replace(REQUEST_LINE_PREFIX, "");
  if (cause === undefined) return what;
  if (!(cause instanceof Error)) return `${what}\n${String(cause)}`;
  const frame = /\n\s*at .*/.exec(cause.stack ?? "")?.[0] ?? cause.message;
  return `${what}\n${cause.name}${frame}`;
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
  /** Error kinds by key, the least recently written first. */
  #kinds = new Map<string, ErrorKind>();
  #countTimer: ReturnType<typeof setTimeout> | undefined;
  #countDue = Infinity;
  #now: () => number;

  /** Creates a logger; by default access lines go to stdout and errors to stderr. */
  constructor(options: LoggerOptions = {}) {
    this.#access = options.access === undefined ? Deno.stdout : options.access;
    this.#errors = options.errors ?? Deno.stderr;
    this.#format = FORMATTERS[options.format ?? ACCESS_FORMATS[0]];
    this.#now = options.now ?? Date.now;
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
      this.#timer = setTimeout(() => void this.#flushAccess(), FLUSH_INTERVAL_MS);
    }
  }

  /**
   * error records a failure with its cause on stderr, at once, escaped as
   * {@linkcode escapeLogText} does. It is rate-limited by kind (what failed
   * and where its cause was thrown; not the request line): the first of a
   * kind is written with the cause's stack trace; more of it within
   * {@linkcode ERROR_WINDOW_MS} are only counted, and the count follows in
   * one line, "… (and 999 more like it in the last 10 s)". The first of a
   * later window is one line, without the stack trace again. So a flood of
   * one failure (plain HTTP to the HTTPS port, a full disk) costs a few
   * lines, not thousands of traces.
   */
  error(message: string, cause?: unknown) {
    const now = this.#now();
    const key = kindOf(message, cause);
    const kind = this.#kinds.get(key);
    if (kind !== undefined && now - kind.since < ERROR_WINDOW_MS) {
      kind.suppressed++;
      this.#armCount(kind.since + ERROR_WINDOW_MS);
      return;
    }
    let text = `minserve: ${escapeLogText(message, ERROR_TEXT)}`;
    if (kind === undefined) {
      if (cause !== undefined) text += `: ${traceOf(cause)}`;
      if (this.#kinds.size >= MAX_ERROR_KINDS) {
        const [oldest, forgotten] = this.#kinds.entries().next().value!;
        this.#writeCount(forgotten);
        this.#kinds.delete(oldest);
      }
      this.#kinds.set(key, { message, since: now, suppressed: 0 });
    } else {
      this.#writeCount(kind); // the window that ended, if the timer has not yet
      if (cause !== undefined) {
        text += `: ${escapeLogText(String(cause), ERROR_TEXT)} (stack trace not repeated)`;
      }
      kind.message = message;
      kind.since = now;
      this.#kinds.delete(key); // to the end: the most recently written
      this.#kinds.set(key, kind);
    }
    this.#writeError(text);
  }

  /** #writeError writes `text` as whole lines, in order, even when a write is short. */
  #writeError(text: string) {
    const bytes = this.#encoder.encode(text + "\n");
    const write = () => writeAll(this.#errors, bytes);
    this.#errorsPending++;
    const done = () => void this.#errorsPending--;
    // Idle: write now (synchronously started); else after the lines before it.
    this.#errorChain = (this.#errorsPending === 1 ? write() : this.#errorChain.then(write))
      .catch(() => {}).finally(done);
  }

  /** #writeCount writes the count line of `kind`'s window, if anything was counted. */
  #writeCount(kind: ErrorKind) {
    if (kind.suppressed === 0) return;
    this.#writeError(
      `minserve: ${escapeLogText(kind.message, ERROR_TEXT)} (and ${kind.suppressed} more like it ` +
        `in the last ${ERROR_WINDOW_MS / 1000} s)`,
    );
    kind.suppressed = 0;
  }

  /** #armCount makes sure a timer writes the counts by `due` (ms since the epoch), when a window ends. */
  #armCount(due: number) {
    if (this.#countTimer !== undefined && this.#countDue <= due) return;
    clearTimeout(this.#countTimer);
    const timer = setTimeout(() => {
      this.#countTimer = undefined;
      this.#writeCounts(false);
    }, Math.max(0, due - this.#now()));
    Deno.unrefTimer(timer); // never what keeps the process alive
    this.#countTimer = timer;
    this.#countDue = due;
  }

  /** #writeCounts writes the counts of the windows that ended, or of all (`all`); re-arms for the rest. */
  #writeCounts(all: boolean) {
    const now = this.#now();
    let due = Infinity;
    for (const kind of this.#kinds.values()) {
      const end = kind.since + ERROR_WINDOW_MS;
      if (all || now >= end) this.#writeCount(kind);
      else if (kind.suppressed > 0) due = Math.min(due, end);
    }
    if (due !== Infinity) this.#armCount(due);
  }

  /**
   * flush writes out the buffered access lines and the error log's pending
   * counts (at shutdown, say); awaiting it guarantees both were handed to
   * their sinks.
   */
  async flush(): Promise<void> {
    await this.#flushAccess();
    if (this.#countTimer !== undefined) clearTimeout(this.#countTimer);
    this.#countTimer = undefined;
    this.#writeCounts(true);
    await this.#errorChain;
  }

  async #flushAccess(): Promise<void> {
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

/**
 * traceOf is the cause as the error log first shows it: its stack trace,
 * escaped but for its line breaks, and every line after the first that does
 * not start with a space indented, so that no line of it can pass for an
 * entry of its own.
 */
function traceOf(cause: unknown): string {
  let text = cause instanceof Error ? (cause.stack ?? String(cause)) : String(cause);
  // The chain of causes (a 503 from the board, caused by the database's
  // refusal): what an operator needs, a few levels deep.
  let next = cause instanceof Error ? cause.cause : undefined;
  for (let depth = 0; next !== undefined && depth < MAX_CAUSES; depth++) {
    text += `\ncaused by: ${next instanceof Error ? (next.stack ?? String(next)) : String(next)}`;
    next = next instanceof Error ? next.cause : undefined;
  }
  return escapeLogText(text, { keep: '"\\\n', text: true }).replace(/\n(?![ \t])/g, "\n  ");
}

/** MAX_CAUSES: how many causes of a logged error are followed. */
const MAX_CAUSES = 4;
