/**
 * fuzz_test.ts — a bounded fuzz campaign against the real server: a few
 * thousand mutated requests over raw sockets, then checks that the server
 * is still healthy, never answered 500, never printed a stack trace, and
 * holds no more file descriptors than before.
 *
 * The requests come from a seeded PRNG: `FUZZ_SEED=<n>` replays a campaign,
 * and every failure message names the seed. Each exchange is bounded (EOF or
 * 1.5 s), most clients half-close after sending so the server sees EOF at
 * once, and a few keep the connection open to exercise the timeouts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { concat, decode, encode } from "./_support/bytes.ts";
import { FIXTURE_ROOT } from "./_support/paths.ts";
import { fdTargets, hasProc, openFdCount, PROC_MISSING } from "./_support/proc.ts";
import { parseResponses, rawRequest, spawnServer, withCopyOf } from "./_support/server.ts";
import { delay } from "./_support/wait.ts";
import { mulberry32, readSeed } from "./_support/random.ts";

/** The seed unless FUZZ_SEED says otherwise. */
const DEFAULT_SEED = 0x5eed_f022;
/** Requests in the campaign. */
const REQUESTS = 3_000;
/** Connections in flight at once. */
const CONCURRENCY = 8;
/** One exchange waits at most this long for the server to close. */
const EXCHANGE_TIMEOUT_MS = 1_500;
/** Share of exchanges that do not half-close, so the server's timeouts end them. */
const KEEP_OPEN_RATE = 0.02;
/** The campaign stops sending new requests after this long, whatever is left. */
const CAMPAIGN_BUDGET_MS = 45_000;
/** The server's timeouts in this test, in seconds. */
const SERVER_TIMEOUT_S = 2;
/** Descriptors the server may hold above its baseline once the campaign has settled. */
const FD_SLACK = 2;
/** How long descriptors get to settle after the campaign (after the idle timeout). */
const FD_SETTLE_MS = SERVER_TIMEOUT_S * 1_000 + 5_000;

/** A stack-trace line on stderr. */
const STACK_TRACE = /^\s+at \S/m;
/** A 500 status line anywhere in what a connection received. */
const STATUS_500 = /(?:^|\n)HTTP\/1\.[01] 500 /;
const STATUS_LINE = /(?:^|\n)HTTP\/1\.[01] ([0-9]{3}) /g;

const SEED = readSeed("FUZZ_SEED", DEFAULT_SEED);

/** Random is a small seeded PRNG (mulberry32) with the helpers the mutator needs. */
class Random {
  /** next returns a float in [0, 1). */
  readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** int returns an integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** Validators of hello.txt, for conditional requests that can succeed. */
interface Validators {
  etag: string;
  lastModified: string;
}

/** templates lists well-formed requests, one string each (latin1). */
function templates(v: Validators): string[] {
  const get = (target: string, fields = "") => `GET ${target} HTTP/1.1\r\nHost: a\r\n${fields}\r\n`;
  const chunked = (method: string, target: string) =>
    `${method} ${target} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n` +
    `5\r\nhello\r\n1;ext=v\r\n,\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n`;
  return [
    get("/hello.txt"),
    get("/"),
    get("/", "Accept: application/json\r\n"),
    get("/", "Accept: text/plain\r\n"),
    get("/sub/"),
    get("/nested/"),
    get("/sub/page.html"),
    get("/with%20space.txt"),
    get("/unicode-%C3%BC%C3%B1%C3%AF.txt"),
    get("/.hidden"),
    get("/missing.txt"),
    get("/time"),
    get("/time", "Accept: application/json\r\n"),
    get("/hello.txt?bytes=5"),
    get("/big.bin?bytes=1000"),
    get("/hello.txt", "Range: bytes=0-4\r\n"),
    get("/hello.txt", "Range: bytes=-3\r\n"),
    get("/hello.txt", "Range: bytes=20-30\r\n"),
    get("/big.bin", "Range: bytes=0-99,200-299,-50\r\n"),
    get("/big.bin", "Range: bytes=1000-\r\n"),
    get("/hello.txt", `If-None-Match: ${v.etag}\r\n`),
    get("/hello.txt", 'If-None-Match: "nope", *\r\n'),
    get("/hello.txt", `If-Modified-Since: ${v.lastModified}\r\n`),
    get("/hello.txt", `If-Range: ${v.etag}\r\nRange: bytes=1-2\r\n`),
    get("/hello.txt", 'If-Match: "nope"\r\n'),
    get("/hello.txt", `If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n`),
    get("/text.txt", "Accept-Encoding: gzip, br;q=0.9, *;q=0\r\n"),
    get("/text.txt", "Accept-Encoding: br\r\nRange: bytes=10-20\r\n"),
    get("/index.html", "Accept-Encoding: gzip\r\nConnection: close\r\n"),
    get("/../secret.txt"),
    get("/%2e%2e/%2e%2e/etc/passwd"),
    get("/a%00.txt"),
    get("/%ff"),
    get("/sub%2fpage.html"),
    "HEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
    "HEAD /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n\r\n",
    "GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "GET /hello.txt HTTP/1.0\r\n\r\n",
    "GET http://a/hello.txt HTTP/1.1\r\nHost: b\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    "OPTIONS /hello.txt HTTP/1.1\r\nHost: a\r\nOrigin: http://x\r\n" +
    "Access-Control-Request-Method: GET\r\n\r\n",
    "DELETE /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    "PUT /new.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    "POST /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
    "POST /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
    "GET /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
    chunked("POST", "/hello.txt"),
    chunked("GET", "/hello.txt"),
    "get /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    "TRACE / HTTP/1.1\r\nHost: a\r\n\r\n",
    "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
    "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n",
  ];
}

/** Mutation operators over a request's bytes. */
const NASTY = [13, 10, 0, 0x20, 0x09, 0x3a, 0x2c, 0x30, 0x7f, 0xff, 0x25, 0x2f];

/** mutate applies one random edit to `b`. */
function mutateOnce(b: Uint8Array, rng: Random, pool: readonly Uint8Array[]): Uint8Array {
  const n = b.length;
  const at = rng.int(n + 1);
  switch (rng.int(10)) {
    case 0: { // flip a byte
      if (n === 0) return b;
      const out = b.slice();
      out[at % n] = out[at % n]! ^ (1 + rng.int(255));
      return out;
    }
    case 1: // truncate
      return b.slice(0, at);
    case 2: // delete a run
      return concat([b.subarray(0, at), b.subarray(at + 1 + rng.int(4))]);
    case 3: // insert a framing byte
      return concat([b.subarray(0, at), Uint8Array.of(rng.pick(NASTY)), b.subarray(at)]);
    case 4: { // duplicate a line
      const start = lineStart(b, at);
      const lf = b.indexOf(10, start);
      const end = lf === -1 ? n : lf + 1;
      return concat([b.subarray(0, end), b.subarray(start, end), b.subarray(end)]);
    }
    case 5: { // swap the case of a line's field name
      const out = b.slice();
      for (let i = lineStart(b, at); i < n && out[i] !== 0x3a && out[i] !== 10; i++) {
        const c = out[i]!;
        if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) out[i] = c ^ 0x20;
      }
      return out;
    }
    case 6: { // rewrite a number: sizes, lengths, ranges, versions
      const text = decode(b);
      const numbers = [...text.matchAll(/[0-9a-fA-F]+/g)];
      if (numbers.length === 0) return b;
      const m = rng.pick(numbers);
      const replacement = rng.pick([
        "0",
        "1",
        String(rng.int(100_000)),
        "99999999999999999999",
        "-1",
        "ffffffff",
        `${m[0]}${m[0]}`,
      ]);
      return encode(text.slice(0, m.index) + replacement + text.slice(m.index + m[0].length));
    }
    case 7: // splice in another request (pipelining, or a request inside a body)
      return concat([b.subarray(0, at), rng.pick(pool), b.subarray(at)]);
    case 8: { // stretch a byte past a limit: a long line, name or value
      const count = rng.pick([100, 9_000, 20_000, 40_000]);
      return concat([b.subarray(0, at), new Uint8Array(count).fill(b[at] ?? 0x61), b.subarray(at)]);
    }
    default: // random bytes
      return concat([b.subarray(0, at), rng.bytes(1 + rng.int(16)), b.subarray(at)]);
  }
}

function lineStart(b: Uint8Array, at: number): number {
  const lf = b.lastIndexOf(10, Math.max(0, at - 1));
  return lf === -1 || lf >= at ? 0 : lf + 1;
}

/** Probe is one request of the campaign. */
interface Probe {
  bytes: Uint8Array;
  halfClose: boolean;
}

/** campaign builds the requests, deterministically from `seed`. */
function campaign(seed: number, v: Validators): Probe[] {
  const rng = new Random(seed);
  const pool = templates(v).map(encode);
  const probes: Probe[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    let bytes: Uint8Array;
    const kind = rng.next();
    if (kind < 0.05) {
      bytes = rng.bytes(rng.int(2048)); // garbage
    } else if (kind < 0.07) {
      // A TLS ClientHello's first bytes, as a confused client would send.
      bytes = concat([Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00, 0x01), rng.bytes(64)]);
    } else {
      bytes = rng.pick(pool);
      if (rng.next() < 0.25) bytes = concat([bytes, rng.pick(pool)]); // pipelined pair
      const edits = rng.next() < 0.15 ? 0 : 1 + rng.int(4);
      for (let k = 0; k < edits; k++) bytes = mutateOnce(bytes, rng, pool);
    }
    probes.push({ bytes, halfClose: rng.next() >= KEEP_OPEN_RATE });
  }
  return probes;
}

/**
 * exchange sends one probe on a new connection and returns every byte
 * received until EOF, a reset, or EXCHANGE_TIMEOUT_MS.
 */
function exchange(port: number, probe: Probe): Promise<Uint8Array> {
  return rawRequest(port, probe.bytes, {
    halfClose: probe.halfClose,
    timeoutMs: EXCHANGE_TIMEOUT_MS,
  });
}

/** quote shows a request for a failure message, cut short. */
function quote(bytes: Uint8Array): string {
  const text = JSON.stringify(decode(bytes.subarray(0, 300)));
  return bytes.length > 300 ? `${text}… (${bytes.length} bytes)` : text;
}

/** plainGet fetches hello.txt on a fresh connection and checks the answer exactly. */
async function plainGet(port: number, want: Uint8Array, what: string) {
  const bytes = await rawRequest(
    port,
    "GET /hello.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    { timeoutMs: 3_000 },
  );
  const responses = parseResponses(bytes);
  assert.equal(responses.length, 1, `${what}: ${quote(bytes)}`);
  const [response] = responses;
  assert.equal(response?.status, 200, `${what}: ${quote(bytes)}`);
  assert.deepEqual(response?.body, want, `${what}: body`);
  assert.equal(response?.header("content-length"), String(want.length), `${what}: length`);
}

Deno.test(`fuzz: ${REQUESTS} mutated requests leave the server healthy (FUZZ_SEED=${SEED})`, async () => {
  await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
    await Deno.writeFile(join(root, "big.bin"), new Random(1).bytes(300 * 1024));
    await Deno.writeTextFile(join(root, "text.txt"), "minserve fuzz text\n".repeat(300));
    await Deno.writeTextFile(join(dir, "secret.txt"), "SECRET\n");
    const hello = await Deno.readFile(join(root, "hello.txt"));
    const timeout = String(SERVER_TIMEOUT_S);
    await using server = await spawnServer({
      root,
      args: ["--request-timeout", timeout, "--idle-timeout", timeout],
    });
    const tag = `FUZZ_SEED=${SEED}`;

    const first = parseResponses(
      await rawRequest(
        server.port,
        "GET /hello.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
      ),
    )[0];
    assert.ok(first !== undefined && first.status === 200, "the warm-up request");
    const validators: Validators = {
      etag: first.header("etag") ?? '"none"',
      lastModified: first.header("last-modified") ?? "Thu, 01 Jan 1970 00:00:00 GMT",
    };
    await plainGet(server.port, hello, "before the campaign");
    // Compressed forms are made in a worker isolate, started on first use
    // and kept while busy: start it now, so its descriptors count as before.
    const compressed = parseResponses(
      await rawRequest(
        server.port,
        "GET /text.txt HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br\r\nConnection: close\r\n\r\n",
      ),
    )[0];
    assert.equal(compressed?.header("content-encoding"), "br", "the compression worker's warm-up");
    await delay(300);
    const proc = await hasProc();
    const fdsBefore = proc ? await openFdCount(server.pid) : undefined;

    // The campaign: CONCURRENCY workers take the next probe until none is left.
    const probes = campaign(SEED, validators);
    const started = Date.now();
    const statuses = new Map<string, number>();
    const fivehundreds: string[] = [];
    const leaks: string[] = []; // responses carrying secret.txt, which is outside the root
    let next = 0;
    let sent = 0;
    const worker = async () => {
      while (next < probes.length && Date.now() - started < CAMPAIGN_BUDGET_MS) {
        const index = next++;
        const probe = probes[index]!;
        const received = await exchange(server.port, probe);
        sent++;
        const text = decode(received);
        for (const m of text.matchAll(STATUS_LINE)) {
          statuses.set(m[1]!, (statuses.get(m[1]!) ?? 0) + 1);
        }
        if (received.length === 0) statuses.set("none", (statuses.get("none") ?? 0) + 1);
        if (STATUS_500.test(text)) fivehundreds.push(`#${index}: ${quote(probe.bytes)}`);
        if (text.includes("SECRET")) leaks.push(`#${index}: ${quote(probe.bytes)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsed = Date.now() - started;
    const summary = `${tag}: ${sent} requests in ${elapsed} ms, statuses ${
      JSON.stringify(Object.fromEntries([...statuses].sort()))
    }`;
    console.log(summary);

    // Every check runs, and the failure lists all that went wrong.
    const problems: string[] = [];
    try {
      await plainGet(server.port, hello, `${tag}: after the campaign`);
    } catch (err) {
      problems.push(`the plain GET afterwards failed: ${String(err)}`);
    }
    if (fivehundreds.length > 0) {
      problems.push(
        `${fivehundreds.length} exchanges got a 500:\n${fivehundreds.slice(0, 10).join("\n")}`,
      );
    }
    if (leaks.length > 0) {
      problems.push(
        `${leaks.length} responses carried secret.txt:\n${leaks.slice(0, 10).join("\n")}`,
      );
    }
    const stderr = server.stderrText();
    if (STACK_TRACE.test(stderr)) {
      const heads = [...new Set(stderr.split("\n").filter((l) => l.startsWith("minserve:")))];
      problems.push(
        `stack traces on stderr; distinct messages:\n${heads.slice(0, 10).join("\n")}\n` +
          `first trace:\n${stderr.slice(0, 1500)}`,
      );
    }
    if (sent !== REQUESTS) problems.push(`${summary}: the campaign ran out of time`);

    if (fdsBefore === undefined) {
      console.log(`fd check skipped: ${PROC_MISSING}`);
    } else {
      // Leftover connections end by the idle or request timeout (plus 1 s linger).
      const settleBy = Date.now() + FD_SETTLE_MS;
      let fdsAfter = (await openFdCount(server.pid)) ?? 0;
      while (fdsAfter > fdsBefore + FD_SLACK && Date.now() < settleBy) {
        await delay(250);
        fdsAfter = (await openFdCount(server.pid)) ?? 0;
      }
      console.log(`server fds: ${fdsBefore} before, ${fdsAfter} after`);
      if (fdsAfter > fdsBefore + FD_SLACK) {
        problems.push(
          `the server holds ${fdsAfter} descriptors, ${fdsBefore} before the campaign:\n` +
            (await fdTargets(server.pid)).join("\n"),
        );
      }
    }
    assert.deepEqual(problems, [], `${tag}:\n${problems.join("\n\n")}`);
  });
});
