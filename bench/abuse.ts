/**
 * abuse.ts — the abuse soak (issue 13): normal traffic from one client while
 * others attack, for minutes, watching that every normal request is
 * answered, nothing is lost, and the server's memory, descriptors and error
 * log stay bounded.
 *
 *   deno task bench:abuse [--seconds 600] [--scale 1]
 *
 * Starts minserve (main.ts, with only the permissions it needs) with uploads
 * and the board on a temporary root holding a 1 KB, a 1 MB and a sparse
 * 256 MB file, and the access log on (combined, so User-Agents reach it).
 * Then, all on loopback:
 *
 * - normal traffic from 127.0.0.2: keep-alive GETs of the small file,
 *   revalidations (If-None-Match, 304), ranges and whole reads of the 1 MB
 *   file, board posts (303) and uploads (201), each checked byte for byte;
 * - attackers from 127.0.0.1 and 127.0.0.3–9, in a Worker
 *   (bench/_abuse_attacks.ts): idle holders, slowloris heads, slow readers,
 *   a connection flood, malformed requests, control bytes for the log,
 *   hostile upload names, huge Content-Lengths, offsets past 2^53;
 * - every 5 s a row: the server's CPU, RSS, descriptors and error-log lines.
 *
 * At the end it reads back every acknowledged post and upload and prints one
 * verdict line per promise; the exit code is 1 when any fails.
 * `--scale 0.2` shrinks every attacker's connection count (for a machine
 * with fewer descriptors).
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { fdTargets } from "../tests/_support/proc.ts";
import { spawnServer, withTempDir } from "../tests/_support/server.ts";
import { mulberry32 as prng } from "../tests/_support/random.ts";
import { delay } from "../tests/_support/wait.ts";
import {
  Client,
  flatVerdict,
  pattern,
  percentile,
  type ProcessSample,
  row,
  sameBytes,
  sampleProcess,
  type Verdict,
} from "./_load_support.ts";
import type { AttackReport, AttackStart, AttackStats } from "./_abuse_attacks.ts";

/** How often the server is sampled. */
const SAMPLE_MS = 5_000;
/** Warm-up left out of the flat verdict: a tenth of the run, between these bounds. */
const MIN_WARM_UP_MS = 20_000;
const MAX_WARM_UP_MS = 60_000;
/** Flat: the last third's RSS maximum within this factor of the first third's. */
const RSS_FACTOR = 1.2;
/**
 * Flat: the last third's descriptor maximum within this fraction (plus
 * FD_SLACK) of the first third's. Under attack the descriptors are mostly
 * the attackers' connections at that instant, hundreds of them, which come
 * and go with the idle and request deadlines; a swing of a few percent is
 * the attack's rhythm, not a leak. A leak is caught sharper after the
 * attack, when every descriptor must come back (AFTER_FD_SLACK).
 */
const FD_FACTOR = 0.05;
const FD_SLACK = 5;
/** After the attack and one idle timeout, the descriptors must be within this many of the start. */
const AFTER_FD_SLACK = 5;
/** How long to wait after the attack before that count: the idle timeout (5 s) and a sweep. */
const SETTLE_MS = 8_000;
/**
 * The error log is rate-limited per kind: the first of a kind with its
 * stack trace, then one count line per 10 s window. So after warm-up it may
 * grow by at most this many lines per minute (a few kinds' count lines).
 */
const MAX_STDERR_LINES_PER_MINUTE = 30;
/** How long the attackers get to close their sockets after the deadline. */
const ATTACK_STOP_MS = 20_000;
/** One normal request that takes longer is abandoned and counted as failed. */
const NORMAL_TIMEOUT_MS = 10_000;
/** Browsing clients from 127.0.0.2, each on a keep-alive connection, and their pause between requests. */
const BROWSERS = 4;
const THINK_MS = 40;
/** Requests on one keep-alive connection before it is closed and another opened. */
const PER_CONNECTION = 20;
/** A board post and an upload every this long (each a transaction fsynced on the server). */
const POST_EVERY_MS = 500;
const UPLOAD_EVERY_MS = 500;
/** Upload sizes: up to this many bytes. */
const MAX_UPLOAD_BYTES = 256 * 1024;

const NORMAL_FROM = "127.0.0.2";
const SMALL_BYTES = 1_000;
const MEDIUM_BYTES = 1_000_000;
const BIG_BYTES = 256 * 1024 * 1024;

/** Normal traffic, counted by kind. */
interface Normal {
  answered: number;
  failed: number;
  /** Requests sent again on a new connection because the server had closed a kept-alive one first (RFC 9112 §9.3.1). */
  retried: number;
  byKind: Record<string, number>;
  failures: string[];
  /** Milliseconds from sending (or connecting) to the whole response, per request, and by kind. */
  latencies: number[];
  latenciesByKind: Record<string, number[]>;
  /** Milliseconds each new connection took to be established (a full accept queue drops SYNs: 1 s, 3 s…). */
  connects: number[];
  posts: string[];
  uploads: Map<string, string>;
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** answered counts one correct answer of `kind` that took `ms`. */
function answered(normal: Normal, kind: string, ms: number) {
  normal.answered++;
  normal.byKind[kind] = (normal.byKind[kind] ?? 0) + 1;
  normal.latencies.push(ms);
  (normal.latenciesByKind[kind] ??= []).push(ms);
}

function fail(normal: Normal, what: string, err: unknown) {
  normal.failed++;
  if (normal.failures.length < 20) {
    normal.failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** TimeoutError is a normal request that got no answer in time. */
class TimeoutError extends Error {}

/**
 * withTimeout rejects with a TimeoutError when `work` takes longer than
 * NORMAL_TIMEOUT_MS, after calling `onTimeout` (which closes the socket, so
 * that `work`'s pending reads and writes end too).
 */
async function withTimeout<T>(work: Promise<T>, what: string, onTimeout?: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new TimeoutError(`${what}: no answer within ${NORMAL_TIMEOUT_MS} ms`));
    }, NORMAL_TIMEOUT_MS);
  });
  work.catch(() => {}); // its rejection after a timeout is not news
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function check(condition: boolean, message: string) {
  if (!condition) throw new Error(message);
}

/**
 * browse is one browsing client: keep-alive GETs of the small file, some
 * revalidated with its ETag, some ranges and whole reads of the 1 MB file.
 */
async function browse(id: number, port: number, until: number, normal: Normal) {
  const rand = prng(0xab05e + id);
  const small = pattern(SMALL_BYTES, 1).map((b) => 0x61 + b % 26);
  const medium = pattern(MEDIUM_BYTES, 2);
  let etag: string | null = null;
  while (Date.now() < until) {
    let client: Client | undefined;
    let served = 0; // requests answered on this connection
    try {
      for (let i = 0; i < PER_CONNECTION && Date.now() < until; i++) {
        const r = rand();
        let kind: string;
        let request: string;
        let verify: (res: Awaited<ReturnType<Client["response"]>>) => void;
        if (r < 0.5 || (r < 0.7 && etag === null)) {
          kind = "small";
          request = "GET /small.txt HTTP/1.1\r\nHost: a\r\n\r\n";
          verify = (res) => {
            check(res.status === 200 && sameBytes(res.body, small), `small.txt: ${res.status}`);
            etag = res.header("etag");
          };
        } else if (r < 0.7) {
          kind = "revalidate";
          request = `GET /small.txt HTTP/1.1\r\nHost: a\r\nIf-None-Match: ${etag}\r\n\r\n`;
          verify = (res) => check(res.status === 304, `If-None-Match: ${res.status}`);
        } else if (r < 0.9) {
          kind = "range";
          const start = Math.floor(rand() * (MEDIUM_BYTES - 65_536));
          const end = start + Math.floor(rand() * 65_536);
          request = `GET /medium.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=${start}-${end}\r\n\r\n`;
          verify = (res) =>
            check(
              res.status === 206 && sameBytes(res.body, medium.subarray(start, end + 1)),
              `range ${start}-${end}: ${res.status}, ${res.body.length} bytes`,
            );
        } else {
          kind = "medium";
          request = "GET /medium.bin HTTP/1.1\r\nHost: a\r\n\r\n";
          verify = (res) =>
            check(res.status === 200 && sameBytes(res.body, medium), `medium.bin: ${res.status}`);
        }
        const began = performance.now();
        let attempt = 0;
        for (;;) {
          const reused = client !== undefined && served > 0;
          client ??= await connect(port, normal);
          const before = client.received;
          try {
            const open = client;
            const res = await withTimeout(
              open.send(request).then(() => open.response()),
              kind,
              () => open.close(),
            );
            verify(res);
            break;
          } catch (err) {
            const nothingBack = client.received === before;
            client.close();
            client = undefined;
            served = 0;
            // A kept-alive connection the server closed before answering (at its
            // idle deadline, or displaced at the cap): send again on a new one,
            // as RFC 9112 §9.3.1 lets a client do for an idempotent request.
            // Never after a timeout: that would hide a server that hangs.
            if (reused && nothingBack && attempt === 0 && !(err instanceof TimeoutError)) {
              attempt++;
              normal.retried++;
              continue;
            }
            throw err;
          }
        }
        answered(normal, kind, performance.now() - began);
        served++;
        await delay(rand() * THINK_MS);
      }
    } catch (err) {
      fail(normal, "browse", err);
    } finally {
      client?.close();
    }
  }
}

/** connect opens a connection from 127.0.0.2 and records how long that took. */
async function connect(port: number, normal?: Normal): Promise<Client> {
  const began = performance.now();
  const client = await Client.connect(port, NORMAL_FROM);
  normal?.connects.push(performance.now() - began);
  return client;
}

/** exchange sends one request on a new connection from 127.0.0.2 and reads its response. */
async function exchange(port: number, request: Uint8Array, what: string, normal?: Normal) {
  const client = await connect(port, normal);
  try {
    return await withTimeout(
      client.send(request).then(() => client.response()),
      what,
      () => client.close(),
    );
  } finally {
    client.close();
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** post posts a numbered message to the board every POST_EVERY_MS; records those answered 303. */
async function post(port: number, until: number, normal: Normal) {
  const rand = prng(0xb0a4d);
  for (let n = 0; Date.now() < until; n++) {
    const message = `abuse soak post ${n} ${Math.floor(rand() * 1e9).toString(36)}`;
    const body = new TextEncoder().encode(`message=${encodeURIComponent(message)}`);
    const head = new TextEncoder().encode(
      "POST /board HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
    );
    const began = performance.now();
    try {
      const res = await exchange(port, concatBytes(head, body), "board post", normal);
      check(res.status === 303, `board post: ${res.status}`);
      normal.posts.push(message);
      answered(normal, "post", performance.now() - began);
    } catch (err) {
      fail(normal, "board post", err);
    }
    await delay(Math.max(0, POST_EVERY_MS - (performance.now() - began)));
  }
}

/** upload PUTs a new file of random size and bytes every UPLOAD_EVERY_MS; records those answered 201. */
async function upload(port: number, until: number, normal: Normal) {
  const rand = prng(0x0b10ad);
  for (let n = 0; Date.now() < until; n++) {
    const name = `normal-${n}.bin`;
    const bytes = new Uint8Array(1 + Math.floor(rand() * MAX_UPLOAD_BYTES));
    for (let i = 0; i < bytes.length; i += 65_536) {
      crypto.getRandomValues(bytes.subarray(i, i + 65_536));
    }
    const head = new TextEncoder().encode(
      `PUT /uploads/${name} HTTP/1.1\r\nHost: a\r\nContent-Length: ${bytes.length}\r\n` +
        "Connection: close\r\n\r\n",
    );
    const digest = await sha256(bytes);
    const began = performance.now();
    try {
      const res = await exchange(port, concatBytes(head, bytes), "upload", normal);
      check(res.status === 201, `upload ${name}: ${res.status}`);
      normal.uploads.set(name, digest);
      answered(normal, "upload", performance.now() - began);
    } catch (err) {
      fail(normal, "upload", err);
    }
    await delay(Math.max(0, UPLOAD_EVERY_MS - (performance.now() - began)));
  }
}

/**
 * boardMessages reads every message back through the board's JSON view,
 * following `Link: <…>; rel="next"` (RFC 8288) while the board paginates.
 */
async function boardMessages(port: number): Promise<Set<string>> {
  const messages = new Set<string>();
  let target: string | undefined = "/board";
  for (let page = 0; target !== undefined && page < 10_000; page++) {
    const res = await exchange(
      port,
      new TextEncoder().encode(
        `GET ${target} HTTP/1.1\r\nHost: a\r\nAccept: application/json\r\nConnection: close\r\n\r\n`,
      ),
      "board read",
    );
    check(res.status === 200, `GET ${target}: ${res.status}`);
    const body = JSON.parse(res.text()) as unknown;
    const list = Array.isArray(body) ? body : (body as { messages?: unknown }).messages;
    check(Array.isArray(list), `GET ${target}: no list of messages`);
    for (const m of list as { message: string }[]) messages.add(m.message);
    const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.header("link") ?? "")?.[1];
    target = next === undefined ? undefined : new URL(next, "http://a/").pathname +
      new URL(next, "http://a/").search;
  }
  return messages;
}

/** StderrSample is the error log's size at one sample. */
interface Sample extends ProcessSample {
  answered: number;
  failed: number;
  attackOpen: number;
  /** The server's descriptors open on big.bin: slow readers it is still serving. */
  bigOpen: number;
  stderrLines: number;
}

function lines(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/** AccessLog counts the access-log lines and looks for raw control characters in them. */
class AccessLog {
  lines = 0;
  /** Lines carrying an escape of a control or non-UTF-8 byte (\x1b, \u009b, \xff…). */
  escaped = 0;
  /** Lines with a raw control character (C0 but tab, DEL, C1) or U+FFFD (bytes that were not UTF-8). */
  raw = 0;
  firstRaw = "";
  #pending = "";

  take(text: string) {
    this.#pending += text;
    const parts = this.#pending.split("\n");
    this.#pending = parts.pop() ?? "";
    for (const line of parts) {
      this.lines++;
      if (/\\(x[0-9a-f]{2}|u00[89][0-9a-f])/i.test(line)) this.escaped++;
      // deno-lint-ignore no-control-regex
      if (/[\x00-\x08\x0a-\x1f\x7f-\x9f\ufffd]/.test(line)) {
        this.raw++;
        if (this.firstRaw === "") this.firstRaw = JSON.stringify(line.slice(0, 200));
      }
    }
  }
}

function summary(stats: AttackStats[]): string[] {
  return stats.map((s) => {
    const outcomes = Object.entries(s.outcomes).sort(([, a], [, b]) => b - a)
      .map(([k, v]) => `${k} ×${v}`).join(", ");
    const held = s.ended > 0 ? `, held ${(s.heldMs / s.ended / 1000).toFixed(1)} s on average` : "";
    return `  ${s.name} from ${s.from} (${s.what}): ${s.connections} connections` +
      `${s.connectFailures > 0 ? ` (${s.connectFailures} connects failed)` : ""}${held}; ` +
      `${outcomes || "no answers"}` +
      (s.unexpected > 0 ? `; ${s.unexpected} UNEXPECTED (last: ${s.lastUnexpected})` : "");
  });
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: { seconds: { type: "string" }, scale: { type: "string" } },
  });
  const seconds = Number(values.seconds ?? 600);
  const scale = Number(values.scale ?? 1);
  if (!(seconds >= 30) || !(scale > 0 && scale <= 1)) {
    throw new RangeError(
      `Cannot run the abuse soak for "${values.seconds}" s at scale "${values.scale}": ` +
        "seconds must be at least 30 and scale in (0, 1]",
    );
  }
  const warmUpMs = Math.min(MAX_WARM_UP_MS, Math.max(MIN_WARM_UP_MS, seconds * 100));
  let failedVerdicts = 0;
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    const uploads = join(dir, "uploads");
    const data = join(dir, "data");
    for (const d of [root, uploads, data]) await Deno.mkdir(d);
    await Deno.writeFile(
      join(root, "small.txt"),
      pattern(SMALL_BYTES, 1).map((b) => 0x61 + b % 26),
    );
    await Deno.writeFile(join(root, "medium.bin"), pattern(MEDIUM_BYTES, 2));
    const big = join(root, "big.bin");
    await Deno.writeFile(big, new Uint8Array(0));
    await Deno.truncate(big, BIG_BYTES); // sparse

    const access = new AccessLog();
    await using server = await spawnServer({
      root,
      args: ["--upload-dir", uploads, "--data-dir", data, "--log-format", "combined"],
      allowRead: [uploads, data],
      allowWrite: [uploads, data],
      denoFlags: ["--v8-flags=--max-semi-space-size=1"], // as `deno task serve` runs it
      onStdout: (text) => access.take(text),
    });

    const normal: Normal = {
      answered: 0,
      failed: 0,
      retried: 0,
      byKind: {},
      failures: [],
      latencies: [],
      latenciesByKind: {},
      connects: [],
      posts: [],
      uploads: new Map(),
    };
    let attackStats: AttackStats[] = [];
    const started = Date.now();
    const until = started + seconds * 1000;
    const sample = async (): Promise<Sample> => ({
      ...await sampleProcess(server.pid, started),
      answered: normal.answered,
      failed: normal.failed,
      attackOpen: attackStats.reduce((n, s) => n + s.open, 0),
      bigOpen: (await fdTargets(server.pid)).filter((t) => t.endsWith(`-> ${big}`)).length,
      stderrLines: lines(server.stderrText()),
    });
    const first = await sample();
    const samples: Sample[] = [first];
    console.log(
      `abuse soak: ${seconds} s, server pid ${server.pid} on port ${server.port}, ` +
        `normal traffic from ${NORMAL_FROM}, attackers at scale ${scale}`,
    );
    console.log(
      row([
        "t (s)",
        "normal ok",
        "normal fail",
        "attack conns",
        "server CPU",
        "RSS (MiB)",
        "fds",
        "big.bin fds",
        "stderr lines",
      ]),
    );
    const print = (s: Sample, previous: Sample | undefined) => {
      const span = previous === undefined ? NaN : s.seconds - previous.seconds;
      const cpu = previous === undefined
        ? ""
        : `${((s.cpu - previous.cpu) / span * 100).toFixed(0)}%`;
      console.log(
        row([
          s.seconds,
          s.answered,
          s.failed,
          s.attackOpen,
          cpu,
          s.rssMiB.toFixed(1),
          s.fds,
          s.bigOpen,
          s.stderrLines,
        ]),
      );
    };
    print(first, undefined);

    const worker = new Worker(new URL("./_abuse_attacks.ts", import.meta.url), {
      type: "module",
    });
    const attacksDone = new Promise<void>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<AttackReport>) => {
        attackStats = event.data.stats;
        if (event.data.kind === "done") resolve();
      };
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(`the attack worker failed: ${event.message}`));
      };
    });
    worker.postMessage({ port: server.port, until, scale } satisfies AttackStart);

    const load = Promise.all([
      ...Array.from({ length: BROWSERS }, (_, i) => browse(i, server.port, until, normal)),
      post(server.port, until, normal),
      upload(server.port, until, normal),
    ]);
    while (Date.now() < until) {
      await delay(Math.min(SAMPLE_MS, Math.max(0, until - Date.now())));
      const s = await sample();
      print(s, samples.at(-1));
      samples.push(s);
    }
    await load;
    const stopped = await Promise.race([
      attacksDone.then(() => true),
      delay(ATTACK_STOP_MS).then(() => false),
    ]);
    worker.terminate();
    if (!stopped) console.log(`the attackers did not stop within ${ATTACK_STOP_MS} ms; ended`);

    // After the attack: idle connections time out, descriptors come back.
    console.log(`attacks stopped; waiting ${SETTLE_MS / 1000} s for the server to settle`);
    await delay(SETTLE_MS);
    const after = await sample();
    const alive = await Promise.race([server.status.then(() => false), delay(0).then(() => true)]);

    // Read back what was acknowledged.
    console.log(
      `reading back ${normal.posts.length} board posts and ${normal.uploads.size} uploads`,
    );
    const verdicts: Verdict[] = [];
    const say = (ok: boolean, line: string) => verdicts.push({ ok, lines: [line] });
    let readBackFailures = 0;
    let board = new Set<string>();
    try {
      board = await boardMessages(server.port);
    } catch (err) {
      readBackFailures++;
      console.log(`cannot read the board back: ${err instanceof Error ? err.message : err}`);
    }
    const lostPosts = normal.posts.filter((m) => !board.has(m));
    let uploadsIdentical = 0;
    const uploadProblems: string[] = [];
    for (const [name, digest] of normal.uploads) {
      try {
        const res = await exchange(
          server.port,
          new TextEncoder().encode(
            `GET /uploads/${name} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
          ),
          "upload read",
        );
        if (res.status === 200 && await sha256(new Uint8Array(res.body)) === digest) {
          uploadsIdentical++;
        } else if (uploadProblems.length < 5) {
          uploadProblems.push(`${name}: ${res.status}, ${res.body.length} bytes`);
        }
      } catch (err) {
        readBackFailures++;
        if (uploadProblems.length < 5) uploadProblems.push(`${name}: ${err}`);
      }
    }
    const stored = new Set<string>();
    for await (const entry of Deno.readDir(uploads)) stored.add(entry.name);
    const strangers = [...stored].filter((name) => !normal.uploads.has(name));

    // Report.
    const latencies = normal.latencies.toSorted((a, b) => a - b);
    const connects = normal.connects.toSorted((a, b) => a - b);
    const bigSteady = samples.filter((s) => s.seconds * 1000 >= warmUpMs).map((s) => s.bigOpen);
    const answeredTotal = normal.answered + normal.failed;
    console.log(
      `\nidle ${SETTLE_MS / 1000} s after the attack: RSS ${after.rssMiB.toFixed(1)} MiB, ` +
        `fds ${after.fds} (at the start: ${first.rssMiB.toFixed(1)} MiB, ${first.fds} fds)`,
    );
    console.log(
      `normal traffic from ${NORMAL_FROM}: ${JSON.stringify(normal.byKind)}; latency p50 ${
        percentile(latencies, 50).toFixed(1)
      } ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${
        percentile(latencies, 100).toFixed(1)
      } ms; ${normal.retried} sent again on a new connection after the server closed a ` +
        "kept-alive one",
    );
    console.log(
      `  of which connecting (${connects.length} new connections): p50 ${
        percentile(connects, 50).toFixed(1)
      } ms, p99 ${percentile(connects, 99).toFixed(1)} ms, max ${
        percentile(connects, 100).toFixed(1)
      } ms`,
    );
    for (const [kind, list] of Object.entries(normal.latenciesByKind)) {
      const sorted = list.toSorted((a, b) => a - b);
      console.log(
        `  ${kind}: ${sorted.length}, p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${
          percentile(sorted, 99).toFixed(1)
        } ms, max ${percentile(sorted, 100).toFixed(1)} ms`,
      );
    }
    for (const f of normal.failures) console.log(`  failed: ${f}`);
    console.log(
      `slow readers the server was still serving (its descriptors on big.bin) after warm-up: ` +
        `${bigSteady.length > 0 ? Math.min(...bigSteady) : "-"} to ${
          bigSteady.length > 0 ? Math.max(...bigSteady) : "-"
        }`,
    );
    console.log("attacks:");
    for (const line of summary(attackStats)) console.log(line);
    console.log(
      `access log: ${access.lines} lines, ${access.escaped} with escaped control or non-UTF-8 ` +
        `bytes, ${access.raw} with raw ones${access.raw > 0 ? ` (first: ${access.firstRaw})` : ""}`,
    );
    const stderr = server.stderrText();
    if (stderr.trim() !== "") {
      console.log(`server stderr (${lines(stderr)} lines), first 1500 characters:`);
      console.log(stderr.slice(0, 1500));
    }

    say(
      normal.failed === 0 && normal.answered > 0,
      `normal requests answered: ${normal.answered} of ${answeredTotal}`,
    );
    say(
      lostPosts.length === 0 && readBackFailures === 0,
      `board posts kept: ${normal.posts.length - lostPosts.length} of ${normal.posts.length}` +
        (lostPosts.length > 0 ? ` (lost, e.g. "${lostPosts[0]}")` : ""),
    );
    say(
      uploadsIdentical === normal.uploads.size,
      `uploads read back byte-identical: ${uploadsIdentical} of ${normal.uploads.size}` +
        (uploadProblems.length > 0 ? ` (${uploadProblems.join("; ")})` : ""),
    );
    const accepted = attackStats.reduce((n, s) => n + s.accepted, 0);
    say(
      accepted === 0 && strangers.length === 0,
      `hostile uploads stored: ${accepted} answered 2xx, ${strangers.length} unknown files in ` +
        `the upload directory${
          strangers.length > 0 ? ` (${strangers.slice(0, 3).join(", ")})` : ""
        }`,
    );
    const unexpected = attackStats.reduce((n, s) => n + s.unexpected, 0);
    const hostileSent = attackStats
      .filter((s) => ["127.0.0.6", "127.0.0.7", "127.0.0.8", "127.0.0.9"].includes(s.from))
      .reduce((n, s) => n + s.connections, 0);
    say(
      unexpected === 0,
      `attacks answered as expected: ${unexpected} unexpected answers to ${hostileSent} ` +
        "hostile requests and slow downloads",
    );
    const flat = flatVerdict(samples, {
      warmUpMs,
      rssFactor: RSS_FACTOR,
      fdSlack: FD_SLACK,
      fdFactor: FD_FACTOR,
    });
    verdicts.push(flat);
    say(
      after.fds <= first.fds + AFTER_FD_SLACK,
      `fds after the attack: ${after.fds}, ${first.fds} at the start (limit ${
        first.fds + AFTER_FD_SLACK
      })`,
    );
    const steady = samples.filter((s) => s.seconds * 1000 >= warmUpMs);
    const firstSteady = steady[0];
    const lastSample = samples.at(-1)!;
    const minutes = firstSteady === undefined
      ? NaN
      : (lastSample.seconds - firstSteady.seconds) / 60;
    const grown = firstSteady === undefined
      ? NaN
      : lastSample.stderrLines - firstSteady.stderrLines;
    say(
      grown <= Math.max(1, minutes) * MAX_STDERR_LINES_PER_MINUTE,
      `stderr bounded: ${lastSample.stderrLines} lines in all, ${grown} after warm-up in ${
        minutes.toFixed(1)
      } min (limit ${MAX_STDERR_LINES_PER_MINUTE} a minute)`,
    );
    say(
      access.raw === 0 && access.lines > 0,
      `access log escaped: ${access.raw} of ${access.lines} lines with raw control characters`,
    );
    say(alive, `server still running: ${alive ? "yes" : "NO"}`);

    console.log("");
    for (const v of verdicts) {
      for (const line of v.lines) console.log(`${v.ok ? "ok  " : "FAIL"} ${line}`);
      if (!v.ok) failedVerdicts++;
    }
    console.log(failedVerdicts === 0 ? "verdict: passed" : `verdict: ${failedVerdicts} FAILED`);
  });
  if (failedVerdicts > 0) Deno.exitCode = 1;
}

if (import.meta.main) await main();
