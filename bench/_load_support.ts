/**
 * _load_support.ts — the parts of bench/load.ts that do not depend on which
 * servers or workloads are measured: child processes that are always
 * killed, /proc readings (CPU ticks, VmRSS, VmHWM), free ports, a raw
 * HTTP/1.1 probe (and content-decoding of what it got), wrk's output,
 * statistics and Markdown tables; and what bench/soak.ts and bench/abuse.ts
 * share: a client of one connection (from any loopback address), samples of
 * the server process and the "flat" verdict.
 *
 * Linux only (/proc, taskset). Run with -A.
 */

import net from "node:net";
import { concat, encode } from "../tests/_support/bytes.ts";
import { cpuSeconds, openFdCount, rssKiB } from "../tests/_support/proc.ts";
import { type ParsedResponse, parseResponses } from "../tests/_support/server.ts";

// ---------------------------------------------------------------------------
// Child processes

/** A child process started by {@linkcode Children}, with its exit status once known. */
export interface Child {
  /** A short name for messages. */
  name: string;
  process: Deno.ChildProcess;
  pid: number;
  /** Set when the process has exited. */
  exit: Deno.CommandStatus | undefined;
  /** Resolves when the process has exited. */
  status: Promise<Deno.CommandStatus>;
}

/**
 * Children keeps every child process this script starts, so that all of them
 * are killed when the script ends: normally, on an exception, or on a signal.
 */
export class Children {
  #live = new Set<Child>();

  /** spawn starts `cmd args` and registers it. */
  spawn(name: string, cmd: string, args: string[], options: Deno.CommandOptions = {}): Child {
    const process = new Deno.Command(cmd, { args, stdin: "null", ...options }).spawn();
    const child: Child = {
      name,
      process,
      pid: process.pid,
      exit: undefined,
      status: process.status,
    };
    this.#live.add(child);
    child.status = process.status.then((status) => {
      child.exit = status;
      this.#live.delete(child);
      return status;
    });
    return child;
  }

  /**
   * output runs `cmd args` to completion (killed after `timeoutMs`) and returns
   * its exit code and decoded stdout and stderr.
   */
  async output(
    cmd: string,
    args: string[],
    timeoutMs: number,
    options: Deno.CommandOptions = {},
  ): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
    const child = this.spawn(cmd, cmd, args, { stdout: "piped", stderr: "piped", ...options });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill(child, "SIGKILL");
    }, timeoutMs);
    try {
      const out = await child.process.output();
      await child.status;
      const decoder = new TextDecoder();
      return {
        code: out.code,
        stdout: decoder.decode(out.stdout),
        stderr: decoder.decode(out.stderr),
        timedOut,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** stop sends SIGTERM, waits up to `graceMs`, then SIGKILL, and waits for the exit. */
  async stop(child: Child, graceMs = 2000): Promise<void> {
    if (child.exit !== undefined) return;
    kill(child, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), graceMs);
    });
    const first = await Promise.race([child.status, timeout]);
    clearTimeout(timer);
    if (first === "timeout") {
      kill(child, "SIGKILL");
      await child.status;
    }
  }

  /** killAll sends SIGKILL to every child still running; synchronous, for exit paths. */
  killAll(): void {
    for (const child of this.#live) kill(child, "SIGKILL");
  }
}

function kill(child: Child, signal: Deno.Signal): void {
  try {
    child.process.kill(signal);
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------
// /proc

/** cpuTicks is utime + stime of `pid` (fields 14 and 15 of /proc/PID/stat), in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after the command name, which may itself contain spaces and parentheses.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  return Number(rest[11]) + Number(rest[12]);
}

/**
 * ownTicks is the CPU time of this process and of its children that have
 * been waited for (utime, stime, cutime, cstime: fields 14–17 of
 * /proc/self/stat): after `await child.status`, a client's whole CPU time.
 */
export function ownTicks(): number {
  const stat = Deno.readTextFileSync(`/proc/${Deno.pid}/stat`);
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]);
}

/** Time one CPU spent, from /proc/stat, in clock ticks. */
export interface CpuTimes {
  /** user + nice + system: time in processes. */
  process: number;
  /** irq + softirq. */
  irq: number;
  steal: number;
  /** Every column but guest time (already in user). */
  total: number;
}

/** cpuTimes reads the per-CPU lines of /proc/stat, indexed by CPU number. */
export function cpuTimes(): CpuTimes[] {
  const out: CpuTimes[] = [];
  for (const line of Deno.readTextFileSync("/proc/stat").split("\n")) {
    const m = /^cpu([0-9]+) (.*)$/.exec(line);
    if (m === null) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2]!.trim().split(/\s+/)
      .map(Number) as number[];
    out[Number(m[1])] = {
      process: user! + nice! + system!,
      irq: irq! + softirq!,
      steal: steal ?? 0,
      total: user! + nice! + system! + idle! + iowait! + irq! + softirq! + (steal ?? 0),
    };
  }
  return out;
}

/** Memory of a process from /proc/PID/status, in KiB. */
export interface Mem {
  rssKiB: number;
  hwmKiB: number;
}

/** mem reads VmRSS and VmHWM (peak RSS) of `pid`. */
export function mem(pid: number): Mem {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+([0-9]+) kB$`, "m").exec(status);
    if (m === null) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(m[1]);
  };
  return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM") };
}

/**
 * resetPeak resets VmHWM of `pid` to its current RSS (writes 5 to
 * /proc/PID/clear_refs, Linux ≥ 4.0; it touches nothing else). Returns
 * false when the kernel refuses.
 */
export function resetPeak(pid: number): boolean {
  try {
    Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** procField reads one `Name:` line of /proc/PID/status (e.g. Cpus_allowed_list). */
export function procField(pid: number, name: string): string | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1]?.trim();
  } catch {
    return undefined;
  }
}

/** comm is the command name of `pid` (after any exec). */
export function comm(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return "?";
  }
}

// ---------------------------------------------------------------------------
// Ports and probes

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** portIsFree tells whether 127.0.0.1:`port` can be listened on now. */
export function portIsFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port, transport: "tcp" }).close();
    return true;
  } catch {
    return false;
  }
}

const usedPorts = new Set<number>();

/**
 * freePort picks a port below the kernel's ephemeral range (so that it never
 * collides with wrk's client ports, some in TIME_WAIT), never used before in
 * this run, and free now.
 */
export function freePort(low = 20000, high = 32000): number {
  for (let i = 0; i < 1000; i++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (usedPorts.has(port)) continue;
    usedPorts.add(port);
    if (portIsFree(port)) return port;
  }
  throw new Error(`Cannot find a free port in ${low}–${high}`);
}

/** waitForPort resolves once 127.0.0.1:`port` accepts connections; rejects if `child` exits or on timeout. */
export async function waitForPort(port: number, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exit !== undefined) {
      throw new Error(`exited with code ${child.exit.code} before listening`);
    }
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await sleep(20);
    }
  }
  throw new Error(`not listening on port ${port} after ${timeoutMs} ms`);
}

/** What one probe request got back. */
export interface ProbeResult {
  status: number;
  headers: Map<string, string>;
  /** The body as sent (still content-coded), with any chunked framing removed. */
  body: Uint8Array<ArrayBuffer>;
  /** Its length. */
  bodyBytes: number;
  /** Everything read from the socket: head, framing and body. */
  wireBytes: number;
}

/** How {@linkcode probe} asks. */
export interface ProbeOptions {
  /**
   * Request header fields, as "Name: value" lines. They replace the default
   * User-Agent and Accept of the same name; Host and Connection are always
   * the probe's own.
   */
  headers?: readonly string[];
  timeoutMs?: number;
  /** At most this many bytes are read. */
  limit?: number;
}

/**
 * probe sends one `GET path` with `Connection: close` over a fresh socket and
 * reads the response to EOF (at most `limit` bytes).
 */
export async function probe(
  port: number,
  path: string,
  { headers = [], timeoutMs = 5000, limit = 4 << 20 }: ProbeOptions = {},
): Promise<ProbeResult> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // closed already
    }
  }, timeoutMs);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const named = (name: string) =>
      headers.some((h) => h.slice(0, h.indexOf(":")).trim().toLowerCase() === name);
    const requestFields = [
      ...(named("user-agent") ? [] : ["User-Agent: minserve-load-bench"]),
      ...(named("accept") ? [] : ["Accept: */*"]),
      ...headers.filter((h) => !/^\s*(host|connection)\s*:/i.test(h)),
    ];
    const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
      requestFields.map((f) => `${f}\r\n`).join("") + "Connection: close\r\n\r\n";
    await conn.write(new TextEncoder().encode(request));
    const buf = new Uint8Array(65536);
    while (total < limit) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      total += n;
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed already
    }
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  let headEnd = -1;
  for (let i = 0; i + 3 < all.length; i++) {
    if (all[i] === 13 && all[i + 1] === 10 && all[i + 2] === 13 && all[i + 3] === 10) {
      headEnd = i;
      break;
    }
  }
  if (headEnd < 0) throw new Error(`no complete response head for ${path} (${total} bytes)`);
  const lines = new TextDecoder("latin1").decode(all.subarray(0, headEnd)).split("\r\n");
  const statusMatch = /^HTTP\/1\.[01] ([0-9]{3})/.exec(lines[0] ?? "");
  if (statusMatch === null) throw new Error(`bad status line for ${path}: ${lines[0]}`);
  const fields = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
  let body: Uint8Array<ArrayBuffer> = all.subarray(headEnd + 4);
  if (/(^|,)\s*chunked\s*$/i.test(fields.get("transfer-encoding") ?? "")) {
    body = dechunk(body, path);
  }
  return {
    status: Number(statusMatch[1]),
    headers: fields,
    body,
    bodyBytes: body.length,
    wireBytes: total,
  };
}

/** The DecompressionStream formats of the content codings (RFC 9110 §8.4.1). */
const DECOMPRESSION_FORMATS: Record<string, string> = {
  gzip: "gzip",
  "x-gzip": "gzip",
  deflate: "deflate",
  br: "brotli",
  zstd: "zstd",
};

/**
 * decodeBody undoes the content coding `coding` ("identity", "gzip", "br"…)
 * of `body`; undefined when this Deno cannot decode it (zstd, for one).
 */
export async function decodeBody(
  coding: string,
  body: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array | undefined> {
  if (coding === "identity") return body;
  const format = DECOMPRESSION_FORMATS[coding.toLowerCase()];
  if (format === undefined) return undefined;
  let stream;
  try {
    stream = new DecompressionStream(format as CompressionFormat);
  } catch {
    return undefined; // not a format this Deno knows
  }
  return new Uint8Array(
    await new Response(new Blob([body]).stream().pipeThrough(stream)).arrayBuffer(),
  );
}

/** pattern returns `length` bytes that do not repeat with a short period, varied by `salt`: file contents for the benchmarks. */
export function pattern(length: number, salt: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + salt + (i >>> 10)) & 0xff;
  return out;
}

/** sameBytes tells whether `a` and `b` hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** dechunk removes the chunked transfer coding (RFC 9112 §7.1) from a complete body. */
function dechunk(framed: Uint8Array, path: string): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    let eol = at;
    while (eol + 1 < framed.length && !(framed[eol] === 13 && framed[eol + 1] === 10)) eol++;
    if (eol + 1 >= framed.length) throw new Error(`truncated chunked body for ${path}`);
    const line = new TextDecoder("latin1").decode(framed.subarray(at, eol));
    const size = parseInt(line.split(";")[0]!.trim(), 16);
    if (!Number.isInteger(size) || size < 0) {
      throw new Error(`bad chunk size "${line}" for ${path}`);
    }
    at = eol + 2;
    if (size === 0) break;
    if (at + size + 2 > framed.length) throw new Error(`truncated chunk for ${path}`);
    parts.push(framed.subarray(at, at + size));
    at += size + 2;
  }
  const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let to = 0;
  for (const p of parts) {
    body.set(p, to);
    to += p.length;
  }
  return body;
}

// ---------------------------------------------------------------------------
// wrk

/** What wrk reports for one run. */
export interface WrkResult {
  requests: number;
  requestsPerSec: number;
  latencyAvg: string;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  /** Responses with a status outside 200–399. */
  non2xx3xx: number;
  /**
   * Bytes wrk read from the sockets (heads and bodies, and the start of the
   * responses still under way at the end), from its "N MB read" line: three
   * significant digits or so (wrk prints two decimals of KiB, MiB, GiB).
   */
  bytesRead: number | undefined;
}

const BINARY_UNITS: Record<string, number> = {
  "": 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
};

/** parseWrk reads wrk 4's summary; throws when `Requests/sec:` is missing. */
export function parseWrk(output: string): WrkResult {
  const rps = /^Requests\/sec:\s+([0-9.]+)/m.exec(output);
  const total = /^\s*([0-9]+) requests in /m.exec(output);
  if (rps === null || total === null) {
    throw new Error(`cannot parse wrk output:\n${output}`);
  }
  const sock = /Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)/
    .exec(output);
  const non = /Non-2xx or 3xx responses: ([0-9]+)/.exec(output);
  const latency = /^\s*Latency\s+(\S+)/m.exec(output);
  const read = /requests in [^,]+, ([0-9.]+)([KMGT]?)B read/.exec(output);
  return {
    requests: Number(total[1]),
    requestsPerSec: Number(rps[1]),
    latencyAvg: latency?.[1] ?? "?",
    socketErrors: {
      connect: Number(sock?.[1] ?? 0),
      read: Number(sock?.[2] ?? 0),
      write: Number(sock?.[3] ?? 0),
      timeout: Number(sock?.[4] ?? 0),
    },
    non2xx3xx: Number(non?.[1] ?? 0),
    bytesRead: read === null ? undefined : Number(read[1]) * BINARY_UNITS[read[2]!]!,
  };
}

// ---------------------------------------------------------------------------
// Statistics and formatting

/** median of a non-empty list (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** fixed formats `v` with `digits` decimals; integers ≥ 1000 get no decimals. */
export function fixed(v: number, digits: number): string {
  if (!Number.isFinite(v)) return "–";
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(digits);
}

/** stat formats "median (min–max)", or just the value for one sample, or "–" for none. */
export function stat(values: readonly number[], digits = 0): string {
  if (values.length === 0) return "–";
  const m = fixed(median(values), digits);
  if (values.length === 1) return m;
  return `${m} (${fixed(Math.min(...values), digits)}–${fixed(Math.max(...values), digits)})`;
}

/** table renders a Markdown table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [
    line(header),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...rows.map(line),
  ].join("\n");
}

// ---------------------------------------------------------------------------
// Clients of one connection (bench/soak.ts, bench/abuse.ts)

/** ByteConn is what a {@linkcode Client} needs of a connection; a `Deno.TcpConn` is one. */
export interface ByteConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/** NODE_CONN_HIGH_WATER: a {@linkcode NodeConn} stops reading from the kernel past this many unread bytes. */
const NODE_CONN_HIGH_WATER = 64 * 1024;

/** CONNECT_TIMEOUT_MS: {@linkcode connectFrom} gives up after this long (a full backlog drops SYNs for minutes). */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * connectFrom opens a TCP connection to 127.0.0.1:`port` from the loopback
 * address `from` (another client to the server: 127.0.0.2, 127.0.0.3…), or
 * rejects after `timeoutMs`. Deno.connect cannot bind a source address,
 * node:net can; from 127.0.0.1 (or without `from`) it is a plain
 * Deno.connect.
 */
export async function connectFrom(
  port: number,
  from?: string,
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<ByteConn> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Error(`Cannot connect to port ${port}: no answer within ${timeoutMs} ms`);
  if (from === undefined || from === "127.0.0.1") {
    const connecting = Deno.connect({ hostname: "127.0.0.1", port });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        connecting.then((conn) => conn.close(), () => {}); // if it ever connects
        reject(timedOut);
      }, timeoutMs);
    });
    try {
      return await Promise.race([connecting, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
  const socket = net.connect({ host: "127.0.0.1", port, localAddress: from });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
      timer = setTimeout(() => {
        socket.destroy();
        reject(timedOut);
      }, timeoutMs);
    });
  } finally {
    clearTimeout(timer);
  }
  return new NodeConn(socket);
}

/**
 * NodeConn gives a connected node:net socket the `read`/`write`/`close` of a
 * Deno.Conn. Unread bytes are held up to {@linkcode NODE_CONN_HIGH_WATER};
 * past it the socket is paused, so a slow reader leaves the rest in the
 * kernel and the server sees it read slowly.
 */
class NodeConn implements ByteConn {
  #socket: net.Socket;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (data: Uint8Array) => {
      this.#chunks.push(new Uint8Array(data)); // a copy: node may reuse its buffer
      this.#buffered += data.length;
      if (this.#buffered > NODE_CONN_HIGH_WATER) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (err: Error) => {
      this.#error = err;
      this.#notify();
    });
  }

  #notify() {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    const chunk = this.#chunks[0]!;
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    this.#buffered -= n;
    if (this.#buffered <= NODE_CONN_HIGH_WATER / 2 && this.#socket.isPaused()) {
      this.#socket.resume();
    }
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#socket.write(p, (err) => (err ? reject(err) : resolve(p.length)));
    });
  }

  close() {
    // What was read but not taken is dropped: a closed connection reads EOF.
    this.#chunks = [];
    this.#buffered = 0;
    this.#ended = true;
    this.#socket.destroy();
    this.#notify();
  }
}

/** Client is one connection with a read buffer, for sequential request/response exchanges. */
export class Client {
  #conn: ByteConn;
  #pending: Uint8Array = new Uint8Array(0);
  #buf = new Uint8Array(64 * 1024);
  #received = 0;

  private constructor(conn: ByteConn) {
    this.#conn = conn;
  }

  /** connect opens a connection to 127.0.0.1:`port`, from the loopback address `from` when given. */
  static async connect(port: number, from?: string): Promise<Client> {
    return new Client(await connectFrom(port, from));
  }

  /** received is how many bytes this connection has read from the server so far. */
  get received(): number {
    return this.#received;
  }

  /** send writes all of `data` (a string is sent as latin1). */
  async send(data: string | Uint8Array) {
    const bytes = typeof data === "string" ? encode(data) : data;
    for (let offset = 0; offset < bytes.length;) {
      offset += await this.#conn.write(bytes.subarray(offset));
    }
  }

  /** read returns the next bytes from the server, or null at EOF. */
  async read(): Promise<Uint8Array | null> {
    const n = await this.#conn.read(this.#buf);
    if (n === null) return null;
    this.#received += n;
    return this.#buf.slice(0, n);
  }

  /** readAtMost returns the next at most `max` bytes from the server, or null at EOF. */
  async readAtMost(max: number): Promise<Uint8Array | null> {
    const n = await this.#conn.read(this.#buf.subarray(0, Math.min(max, this.#buf.length)));
    if (n === null) return null;
    this.#received += n;
    return this.#buf.slice(0, n);
  }

  /** response reads one whole response (Content-Length or chunked framed). */
  async response(): Promise<ParsedResponse> {
    for (;;) {
      if (this.#pending.length > 0) {
        const parsed = tryParse(this.#pending);
        if (parsed !== undefined) {
          this.#pending = new Uint8Array(0);
          return parsed;
        }
      }
      const more = await this.read();
      if (more === null) throw new Error("Cannot read response: the server closed the connection");
      this.#pending = concat([this.#pending, more]);
    }
  }

  /** untilEof reads everything up to EOF. */
  async untilEof(): Promise<Uint8Array> {
    const parts = [this.#pending];
    for (;;) {
      const more = await this.read();
      if (more === null) return concat(parts);
      parts.push(more);
    }
  }

  /** close closes the connection; closing twice does nothing. */
  close() {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}

/** tryParse parses one response from `bytes`, or returns undefined while it is incomplete. */
function tryParse(bytes: Uint8Array): ParsedResponse | undefined {
  try {
    const responses = parseResponses(bytes);
    const first = responses[0];
    if (responses.length !== 1 || first === undefined || first.framing === "eof") return undefined;
    return first;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Samples of a server over minutes, and whether they stayed flat

/** ProcessSample is one reading of the server process. */
export interface ProcessSample {
  /** Seconds since the run began. */
  seconds: number;
  /** Server CPU time used so far, in seconds. */
  cpu: number;
  rssMiB: number;
  fds: number;
}

/** sampleProcess reads the CPU time, RSS and open descriptors of `pid` (NaN where unknown). */
export async function sampleProcess(pid: number, started: number): Promise<ProcessSample> {
  return {
    seconds: Math.round((Date.now() - started) / 1000),
    cpu: (await cpuSeconds(pid)) ?? NaN,
    rssMiB: ((await rssKiB(pid)) ?? NaN) / 1024,
    fds: (await openFdCount(pid)) ?? NaN,
  };
}

/** FlatRule says what "flat" means for {@linkcode flatVerdict}. */
export interface FlatRule {
  /** Samples before this many milliseconds are warm-up and left out. */
  warmUpMs: number;
  /** The last third's RSS maximum may be at most this factor of the first third's. */
  rssFactor: number;
  /** The last third's descriptor maximum may exceed the first third's by this many… */
  fdSlack: number;
  /** …plus this fraction of the first third's maximum (0 for a quiet mix). */
  fdFactor: number;
}

/** Verdict is a list of lines to print and whether every check passed. */
export interface Verdict {
  ok: boolean;
  lines: string[];
}

/**
 * flatVerdict compares the first and last thirds of the samples after
 * warm-up: RSS and descriptors are flat when the last third's maximum is
 * within the rule's bounds of the first third's.
 */
export function flatVerdict(samples: readonly ProcessSample[], rule: FlatRule): Verdict {
  const steady = samples.filter((s) => s.seconds * 1000 >= rule.warmUpMs);
  if (steady.length < 3) {
    return { ok: false, lines: ["too few samples after warm-up for a verdict (run longer)"] };
  }
  const third = Math.floor(steady.length / 3);
  const first = steady.slice(0, third);
  const last = steady.slice(steady.length - third);
  const max = (xs: readonly ProcessSample[], f: (s: ProcessSample) => number) =>
    Math.max(...xs.map(f));
  const rssFirst = max(first, (s) => s.rssMiB);
  const rssLast = max(last, (s) => s.rssMiB);
  const fdFirst = max(first, (s) => s.fds);
  const fdLast = max(last, (s) => s.fds);
  const rssLimit = rssFirst * rule.rssFactor;
  const fdLimit = Math.floor(fdFirst * (1 + rule.fdFactor)) + rule.fdSlack;
  const rssFlat = rssLast <= rssLimit;
  const fdFlat = fdLast <= fdLimit;
  return {
    ok: rssFlat && fdFlat,
    lines: [
      `RSS ${rssFlat ? "flat" : "GROWING"}: max ${rssFirst.toFixed(1)} MiB in the first third, ` +
      `${rssLast.toFixed(1)} MiB in the last (limit ${rssLimit.toFixed(1)})`,
      `fds ${fdFlat ? "flat" : "GROWING"}: max ${fdFirst} in the first third, ${fdLast} in the ` +
      `last (limit ${fdLimit})`,
    ],
  };
}

/** percentile is the `p`-th percentile (0–100) of `sorted`, ascending, by the nearest rank; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** row right-aligns `cells` into a text table row (the first column narrower). */
export function row(cells: readonly (string | number)[]): string {
  return cells.map((c, i) => String(c).padStart(i === 0 ? 6 : 12)).join(" ");
}
