/**
 * _abuse_attacks.ts — the attackers of bench/abuse.ts, run in a Worker so
 * that their thousands of sockets do not sit in the event loop that times
 * the normal clients' requests.
 *
 * Each attack comes from a loopback address of its own (Linux routes all of
 * 127.0.0.0/8 to lo; node:net binds the source address), so the server sees
 * it as one client, and each is bounded: a fixed number of connections, or
 * a fixed rate. They run until the deadline, then close everything.
 *
 * The worker gets `{ port, until }` and posts `{ kind: "stats", stats }`
 * every second and `{ kind: "done", stats }` once every socket is closed.
 */

import net from "node:net";
import { encode } from "../tests/_support/bytes.ts";
import { mulberry32 as prng } from "../tests/_support/random.ts";
import { delay } from "../tests/_support/wait.ts";
import { Client, connectFrom } from "./_load_support.ts";

/** AttackStats is what one attack did, as the worker reports it. */
export interface AttackStats {
  /** A short name, e.g. "idle holders". */
  name: string;
  /** The source address. */
  from: string;
  /** What it does, for the report. */
  what: string;
  /** Connections opened (including the ones refused with 503). */
  connections: number;
  /** Connections that could not be opened at all (connect failed). */
  connectFailures: number;
  /** Connections open now. */
  open: number;
  /** Answers by status ("closed" when the server closed without one). */
  outcomes: Record<string, number>;
  /** Answers outside what this attack expects. */
  unexpected: number;
  lastUnexpected: string;
  /** Answers of 2xx to requests that must be refused (hostile names, huge bodies). */
  accepted: number;
  /** Milliseconds the server held the attack's connections, summed, and how many ended. */
  heldMs: number;
  ended: number;
}

/** The message that starts the worker. */
export interface AttackStart {
  port: number;
  /** Date.now() at which every attack stops. */
  until: number;
  /** Scale every connection count by this (1 for the full attack). */
  scale: number;
}

/** The messages the worker posts. */
export type AttackReport =
  | { kind: "stats"; stats: AttackStats[] }
  | { kind: "done"; stats: AttackStats[] };

/** Idle holders per address: together with the slowloris heads, past the default cap of 1024. */
const IDLE_A = 600;
const IDLE_B = 300;
/** Slowloris connections, each sending one header line every SLOWLORIS_LINE_MS. */
const SLOWLORIS = 300;
const SLOWLORIS_LINE_MS = 3_000;
/** Slow readers of the big file, each reading SLOW_READ_BYTES every SLOW_READ_PAUSE_MS (300 B/s). */
const SLOW_READERS = 30;
const SLOW_READ_BYTES = 100;
const SLOW_READ_PAUSE_MS = 333;
/**
 * A slow reader gives up after this long and starts again. The server cuts
 * it off after about two request timeouts of waiting (20 s), but the reader
 * cannot see that: the kernel still holds megabytes for it, which at 300 B/s
 * take hours to read (bench/abuse.ts counts the server's descriptors of the
 * big file instead).
 */
const SLOW_READER_LIFE_MS = 30_000;
/** The connection flood: this many connect-and-close per second, from FLOOD_LOOPS loops. */
const FLOOD_PER_SECOND = 200;
const FLOOD_LOOPS = 4;
/** Hostile requests (malformed, control bytes, names, sizes, ranges): one every this long per attack. */
const HOSTILE_PAUSE_MS = 50;
/** After the server refuses or closes a holder, it comes back after this long (plus jitter). */
const RECONNECT_MS = 200;
/** After a 503, a holder waits this long, as Retry-After: 1 asks. */
const REFUSED_BACKOFF_MS = 1_000;
/** An exchange of a hostile request that takes longer is abandoned and counted as unexpected. */
const HOSTILE_TIMEOUT_MS = 15_000;

/** A number past 2^53: no file is that long. */
const HUGE = "99999999999999999999999";

function newStats(name: string, from: string, what: string): AttackStats {
  return {
    name,
    from,
    what,
    connections: 0,
    connectFailures: 0,
    open: 0,
    outcomes: {},
    unexpected: 0,
    lastUnexpected: "",
    accepted: 0,
    heldMs: 0,
    ended: 0,
  };
}

function count(stats: AttackStats, outcome: string) {
  stats.outcomes[outcome] = (stats.outcomes[outcome] ?? 0) + 1;
}

/** statusOf reads the status code at the start of what the server sent, or "closed" for nothing. */
function statusOf(first: string): string {
  if (first === "") return "closed";
  return /^HTTP\/1\.[01] ([0-9]{3}) /.exec(first)?.[1] ?? "garbled";
}

/**
 * hold keeps one connection from `from` open, doing `onOpen` with it (send
 * nothing, or half a head), until the server closes it; then opens another,
 * until `until`. Counts what ended each one.
 */
async function hold(
  port: number,
  from: string,
  until: number,
  stats: AttackStats,
  rand: () => number,
  onOpen: (socket: net.Socket) => void,
): Promise<void> {
  while (Date.now() < until) {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress: from });
    let first = "";
    let opened = 0;
    const closed = new Promise<void>((resolve) => {
      socket.on("data", (data: Uint8Array) => {
        if (first.length < 64) first += new TextDecoder("latin1").decode(data.subarray(0, 64));
      });
      socket.on("error", () => {});
      socket.on("close", () => resolve());
      socket.once("connect", () => {
        opened = Date.now();
        stats.connections++;
        stats.open++;
        onOpen(socket);
      });
    });
    const stop = setTimeout(() => socket.destroy(), Math.max(0, until - Date.now()));
    await closed;
    clearTimeout(stop);
    if (opened === 0) {
      stats.connectFailures++;
      await delay(REFUSED_BACKOFF_MS);
      continue;
    }
    stats.open--;
    if (Date.now() >= until) break; // closed by us at the deadline
    stats.heldMs += Date.now() - opened;
    stats.ended++;
    const status = statusOf(first);
    count(stats, status);
    await delay(status === "503" ? REFUSED_BACKOFF_MS : RECONNECT_MS + rand() * RECONNECT_MS);
  }
}

/** idleHolders: `n` connections from `from` that never send a byte. */
function idleHolders(port: number, from: string, n: number, until: number, stats: AttackStats) {
  return Array.from(
    { length: n },
    (_, i) => hold(port, from, until, stats, prng(i + 1), () => {}),
  );
}

/** slowloris: `n` connections sending a request head one header line at a time, never ending it. */
function slowloris(port: number, from: string, n: number, until: number, stats: AttackStats) {
  return Array.from(
    { length: n },
    (_, i) =>
      hold(port, from, until, stats, prng(1000 + i), (socket) => {
        socket.write("GET /small.txt HTTP/1.1\r\nHost: a\r\n");
        let line = 0;
        const timer = setInterval(() => {
          if (socket.destroyed) clearInterval(timer);
          else socket.write(`X-Slow-${line++}: y\r\n`);
        }, SLOWLORIS_LINE_MS);
        socket.on("close", () => clearInterval(timer));
      }),
  );
}

/** slowReaders: `n` clients downloading the big file at 300 B/s, until the server cuts them off. */
function slowReaders(port: number, from: string, n: number, until: number, stats: AttackStats) {
  return Array.from({ length: n }, async () => {
    while (Date.now() < until) {
      let client: Client;
      try {
        client = await Client.connect(port, from);
      } catch {
        stats.connectFailures++;
        await delay(REFUSED_BACKOFF_MS);
        continue;
      }
      stats.connections++;
      stats.open++;
      const opened = Date.now();
      const stop = setTimeout(
        () => client.close(),
        Math.max(0, Math.min(until - Date.now(), SLOW_READER_LIFE_MS)),
      );
      let first = "";
      try {
        await client.send("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n");
        for (;;) {
          const bytes = await client.readAtMost(SLOW_READ_BYTES);
          if (bytes === null) break;
          if (first.length < 64) first += new TextDecoder("latin1").decode(bytes.subarray(0, 64));
          await delay(SLOW_READ_PAUSE_MS);
        }
      } catch {
        // Reset by the server: cut off, as it should.
      } finally {
        clearTimeout(stop);
        client.close();
        stats.open--;
      }
      if (Date.now() >= until) break;
      stats.heldMs += Date.now() - opened;
      stats.ended++;
      const status = statusOf(first);
      count(stats, status);
      if (status !== "200" && status !== "503") {
        stats.unexpected++;
        stats.lastUnexpected = `GET /big.bin: ${status}`;
      }
      await delay(status === "503" ? REFUSED_BACKOFF_MS : RECONNECT_MS);
    }
  });
}

/** flood: connect and close at once, FLOOD_PER_SECOND times a second. */
function flood(port: number, from: string, until: number, stats: AttackStats) {
  const interval = (1000 * FLOOD_LOOPS) / FLOOD_PER_SECOND;
  return Array.from({ length: FLOOD_LOOPS }, async () => {
    while (Date.now() < until) {
      const began = Date.now();
      try {
        const conn = await connectFrom(port, from);
        stats.connections++;
        conn.close();
        count(stats, "closed by us");
      } catch {
        stats.connectFailures++;
      }
      await delay(Math.max(0, interval - (Date.now() - began)));
    }
  });
}

/** HostileCase is one request that must be refused (or answered harmlessly) in a known way. */
interface HostileCase {
  name: string;
  /** The bytes sent, as latin1. */
  raw: string;
  /** The statuses that are right ("closed": the server may close without a word). */
  expect: readonly string[];
  /** Whether a 2xx would mean the server took something it must refuse. */
  mustRefuse?: boolean;
}

/** put builds a PUT of a few bytes to /uploads/`name` (already percent-encoded). */
function put(name: string): string {
  return `PUT /uploads/${name} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`;
}

function get(target: string, fields = ""): string {
  return `GET ${target} HTTP/1.1\r\nHost: a\r\n${fields}Connection: close\r\n\r\n`;
}

/** MALFORMED: plain garbage and malformed requests (RFC 9112's grammar broken in one place each). */
const MALFORMED: HostileCase[] = [
  { name: "TLS ClientHello", raw: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", expect: ["400"] },
  { name: "binary noise", raw: "\x00\xff\xfe\x80\r\n\r\n", expect: ["400"] },
  { name: "no version", raw: "GET /\r\n\r\n", expect: ["400"] },
  { name: "HTTP/9.9", raw: "GET / HTTP/9.9\r\nHost: a\r\n\r\n", expect: ["505"] },
  {
    name: "two Content-Length",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    expect: ["400"],
  },
  {
    name: "CL and TE",
    raw:
      "POST /board HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    expect: ["400"],
  },
  { name: "obs-fold", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", expect: ["400"] },
  { name: "space before colon", raw: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", expect: ["400"] },
  { name: "no Host", raw: "GET / HTTP/1.1\r\n\r\n", expect: ["400"] },
  { name: "bare LF", raw: "GET / HTTP/1.1\nHost: a\n\n", expect: ["400"] },
  { name: "traversal", raw: get("/../../etc/passwd"), expect: ["400"] },
  { name: "encoded traversal", raw: get("/%2e%2e/%2e%2e/etc/passwd"), expect: ["400"] },
  { name: "NUL in target", raw: get("/small.txt%00.html"), expect: ["400"] },
  { name: "URI of 64 KiB", raw: get(`/${"a".repeat(64 * 1024)}`), expect: ["414"] },
  {
    name: "head of 64 KiB",
    raw: get("/small.txt", `X-Big: ${"b".repeat(64 * 1024)}\r\n`),
    expect: ["431"],
  },
  {
    name: "bad chunk size",
    raw: "PUT /uploads/c.bin HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    expect: ["400"],
    mustRefuse: true,
  },
];

/**
 * CONTROL_BYTES: control characters and C1 bytes where they would reach the
 * log. Raw C0 controls in a field or the target break the grammar (400); C1
 * bytes are obs-text in a field value (RFC 9110 §5.5), so those requests are
 * served and their User-Agent must reach the access log escaped.
 */
const CONTROL_BYTES: HostileCase[] = [
  {
    name: "C1 CSI in User-Agent",
    raw: get("/small.txt", "User-Agent: ua-\x9b31mX\r\n"),
    expect: ["200"],
  },
  {
    name: "C1 NEL and invalid UTF-8 in User-Agent",
    raw: get("/small.txt", "User-Agent: \x85\xff\xfe\r\n"),
    expect: ["200"],
  },
  {
    name: "ESC in User-Agent",
    raw: get("/small.txt", "User-Agent: ua-\x1b[31mX\r\n"),
    expect: ["400"],
  },
  { name: "C1 byte in target", raw: get("/small\x9b.txt"), expect: ["400"] },
  { name: "encoded ESC in path", raw: get("/small%1b[31m.txt"), expect: ["400"] },
  { name: "encoded C1 in path", raw: get("/small%c2%9b.txt"), expect: ["400"] },
  { name: "encoded ESC in query", raw: get("/small.txt?q=%1b[31m%c2%9b"), expect: ["200"] },
];

/** HOSTILE_UPLOADS: names that would read as others, and bodies past --max-upload. */
const HOSTILE_UPLOADS: HostileCase[] = [
  { name: "bidi override", raw: put("evil%E2%80%AEgpj.exe"), expect: ["400"], mustRefuse: true },
  {
    name: "zero-width space",
    raw: put("zero%E2%80%8Bwidth.txt"),
    expect: ["400"],
    mustRefuse: true,
  },
  { name: "BOM", raw: put("%EF%BB%BFbom.txt"), expect: ["400"], mustRefuse: true },
  { name: "soft hyphen", raw: put("soft%C2%ADhyphen.txt"), expect: ["400"], mustRefuse: true },
  { name: "trailing dot", raw: put("trailing."), expect: ["400"], mustRefuse: true },
  { name: "trailing space", raw: put("trailing%20"), expect: ["400"], mustRefuse: true },
  { name: "only spaces", raw: put("%20%20%20"), expect: ["400"], mustRefuse: true },
  { name: "dot dot", raw: put("%2e%2e"), expect: ["400", "404"], mustRefuse: true },
  { name: "slash", raw: put("a%2fb"), expect: ["400"], mustRefuse: true },
  { name: "C1 in name", raw: put("a%C2%9Bb.txt"), expect: ["400"], mustRefuse: true },
  {
    name: "Content-Length of 1 TB",
    raw: "PUT /uploads/huge.bin HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000\r\n\r\nxxxx",
    expect: ["413"],
    mustRefuse: true,
  },
  {
    name: "Content-Length past 2^53",
    raw: `PUT /uploads/huge.bin HTTP/1.1\r\nHost: a\r\nContent-Length: ${HUGE}\r\n\r\nxxxx`,
    expect: ["400", "413"],
    mustRefuse: true,
  },
  {
    name: "1 TB behind Expect: 100-continue",
    raw:
      "PUT /uploads/huge.bin HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000\r\nExpect: 100-continue\r\n\r\n",
    expect: ["413"],
    mustRefuse: true,
  },
  {
    name: "board post of 1 TB",
    raw:
      "POST /board HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000000000\r\n\r\nmessage=x",
    expect: ["413"],
    mustRefuse: true,
  },
];

/** HUGE_NUMBERS: byte offsets past 2^53 in Range and ?bytes, one rule (RFC 9110 §14.1.1). */
const HUGE_NUMBERS: HostileCase[] = [
  {
    name: "first-pos past 2^53",
    raw: get("/small.txt", `Range: bytes=${HUGE}-\r\n`),
    expect: ["416"],
  },
  {
    name: "last-pos past 2^53",
    raw: get("/small.txt", `Range: bytes=0-${HUGE}\r\n`),
    expect: ["206"],
  },
  {
    name: "suffix past 2^53",
    raw: get("/small.txt", `Range: bytes=-${HUGE}\r\n`),
    expect: ["200", "206"],
  },
  { name: "?bytes past 2^53", raw: get(`/small.txt?bytes=${HUGE}`), expect: ["200"] },
  { name: "?bytes just past 2^53", raw: get("/small.txt?bytes=9007199254740993"), expect: ["200"] },
  {
    name: "range of the big file past 2^53",
    raw: get("/big.bin", `Range: bytes=${HUGE}-${HUGE}9\r\n`),
    expect: ["416"],
  },
];

/** hostile sends `cases` in turn from `from`, one connection each, and checks each status. */
async function hostile(
  port: number,
  from: string,
  cases: readonly HostileCase[],
  until: number,
  stats: AttackStats,
) {
  for (let i = 0; Date.now() < until; i++) {
    const c = cases[i % cases.length]!;
    let client: Client;
    try {
      client = await Client.connect(port, from);
    } catch {
      stats.connectFailures++;
      await delay(REFUSED_BACKOFF_MS);
      continue;
    }
    stats.connections++;
    stats.open++;
    const timer = setTimeout(() => client.close(), HOSTILE_TIMEOUT_MS);
    let first = "";
    try {
      await client.send(encode(c.raw)).catch(() => {}); // a 413 may close before all is sent
      const bytes = await client.readAtMost(64).catch(() => null);
      if (bytes !== null) first = new TextDecoder("latin1").decode(bytes);
    } finally {
      clearTimeout(timer);
      client.close();
      stats.open--;
    }
    let status = statusOf(first);
    if (status === "100") status = "100 then more"; // only for a body the server wants
    count(stats, status);
    if (!c.expect.includes(status)) {
      stats.unexpected++;
      stats.lastUnexpected = `${c.name}: ${status}`;
    }
    if (c.mustRefuse && status.startsWith("2")) stats.accepted++;
    await delay(HOSTILE_PAUSE_MS);
  }
}

/** runAttacks runs every attack until `until`; `report` is called with the stats every second. */
export async function runAttacks(
  start: AttackStart,
  report: (stats: AttackStats[]) => void,
): Promise<AttackStats[]> {
  const { port, until, scale } = start;
  const n = (count: number) => Math.max(1, Math.round(count * scale));
  const s = {
    idleA: newStats("idle holders", "127.0.0.3", `${n(IDLE_A)} connections that send nothing`),
    idleB: newStats("idle holders", "127.0.0.4", `${n(IDLE_B)} connections that send nothing`),
    loris: newStats(
      "slowloris",
      "127.0.0.5",
      `${n(SLOWLORIS)} heads, a line every ${SLOWLORIS_LINE_MS / 1000} s`,
    ),
    slow: newStats(
      "slow readers",
      "127.0.0.6",
      `${n(SLOW_READERS)} downloads of big.bin read at ${
        Math.round(SLOW_READ_BYTES * 1000 / SLOW_READ_PAUSE_MS)
      } B/s`,
    ),
    flood: newStats("connection flood", "127.0.0.1", `connect and close, ${FLOOD_PER_SECOND}/s`),
    malformed: newStats("malformed", "127.0.0.7", `${MALFORMED.length} kinds, one at a time`),
    control: newStats("control bytes", "127.0.0.8", `${CONTROL_BYTES.length} kinds, one at a time`),
    uploads: newStats("hostile uploads", "127.0.0.9", `${HOSTILE_UPLOADS.length} kinds`),
    numbers: newStats("offsets past 2^53", "127.0.0.9", `${HUGE_NUMBERS.length} kinds`),
  };
  const all = Object.values(s);
  const ticker = setInterval(() => report(all), 1000);
  await Promise.all([
    ...idleHolders(port, s.idleA.from, n(IDLE_A), until, s.idleA),
    ...idleHolders(port, s.idleB.from, n(IDLE_B), until, s.idleB),
    ...slowloris(port, s.loris.from, n(SLOWLORIS), until, s.loris),
    ...slowReaders(port, s.slow.from, n(SLOW_READERS), until, s.slow),
    ...flood(port, s.flood.from, until, s.flood),
    hostile(port, s.malformed.from, MALFORMED, until, s.malformed),
    hostile(port, s.control.from, CONTROL_BYTES, until, s.control),
    hostile(port, s.uploads.from, HOSTILE_UPLOADS, until, s.uploads),
    hostile(port, s.numbers.from, HUGE_NUMBERS, until, s.numbers),
  ]);
  clearInterval(ticker);
  return all;
}

/** The worker's side: started by a message, reports by messages. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<AttackStart>) => void) | null;
  postMessage(message: AttackReport): void;
}

// Inside a Worker (bench/abuse.ts starts one), wait for the start message.
if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined") {
  const scope = globalThis as unknown as WorkerScope;
  scope.onmessage = async (event) => {
    scope.onmessage = null;
    const stats = await runAttacks(
      event.data,
      (stats) => scope.postMessage({ kind: "stats", stats }),
    );
    scope.postMessage({ kind: "done", stats });
  };
}
