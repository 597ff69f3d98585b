/**
 * overload_test.ts — the server under more clients than it serves, and
 * under a client that will not read: the connection cap answers 503 fast and
 * frees its slots, and a stalled 16 MiB download holds a bounded amount of
 * memory while everyone else is still served.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { WRITE_TIMEOUT_MS } from "../lib/connection.ts";
import { concat, decode, encode } from "./_support/bytes.ts";
import { Client } from "./_support/client.ts";
import { FIXTURE_ROOT } from "./_support/paths.ts";
import { HAVE_OPENSSL, makeCertificate } from "./_support/tls.ts";
import { delay, waitFor } from "./_support/wait.ts";
import { fdTargets, hasProc, openFdCount, PROC_MISSING, rssKiB } from "./_support/proc.ts";
import { parseResponses, rawRequest, spawnServer, withCopyOf } from "./_support/server.ts";

/** The connection cap under test. */
const MAX_CONNECTIONS = 50;
/** Connections opened at once. */
const CLIENTS = 200;
/** A refused client must have its 503 and EOF within this long of connecting. */
const REFUSE_WITHIN_MS = 2_000;
/** The stalled download's file. */
const BIG_FILE_BYTES = 16 * 1024 * 1024;
/** How much the server's RSS may grow while one client stalls on the big file. */
const STALL_RSS_GROWTH_KIB = 16 * 1024;
/** How long the stall is watched. Far below WRITE_TIMEOUT_MS, which would end it. */
const STALL_WATCH_MS = 4_000;
/** How often RSS is sampled during the stall. */
const RSS_SAMPLE_MS = 100;
/** A request from another client during the stall must finish within this long. */
const OTHERS_WITHIN_MS = 1_000;

const HELLO = "GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n";
const HELLO_CLOSE = "GET /hello.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

Deno.test(`--max-connections ${MAX_CONNECTIONS}: ${CLIENTS} clients at once, the rest get a fast 503`, async () => {
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    await using server = await spawnServer({
      root,
      args: ["--max-connections", String(MAX_CONNECTIONS), "--idle-timeout", "30", "--quiet"],
    });
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, () => Client.connect(server.port)),
    );
    // Read from the start, so each sees a 503 and EOF it never asked for.
    const ended = clients.map((c) => c.readInBackground());
    try {
      // Refused clients get their 503 without sending anything; served
      // ones sit idle. Wait until the refusals stop coming.
      const deadline = Date.now() + REFUSE_WITHIN_MS;
      let endedCount = 0;
      for (;;) {
        await delay(100);
        const now = clients.filter((c) => c.eof).length;
        if ((now === endedCount && now >= CLIENTS - MAX_CONNECTIONS) || Date.now() > deadline) {
          break;
        }
        endedCount = now;
      }
      const refused = clients.filter((c) => c.eof);
      const open = clients.filter((c) => !c.eof);

      for (const [i, client] of refused.entries()) {
        const what = `refused client ${i}: ${JSON.stringify(decode(client.bytes).slice(0, 200))}`;
        const responses = client.parsed();
        assert.equal(responses?.length, 1, what);
        assert.equal(responses[0]!.status, 503, what);
        assert.match(responses[0]!.header("retry-after") ?? "", /^[0-9]+$/, what);
        const took = client.endedAt! - client.connectedAt;
        assert.ok(took < REFUSE_WITHIN_MS, `${what}: closed after ${took} ms`);
      }
      assert.ok(
        open.length <= MAX_CONNECTIONS,
        `${open.length} connections are held open, the cap is ${MAX_CONNECTIONS}`,
      );
      assert.ok(open.length > 0, "no connection was served at all");

      // The held ones are really served: each answers a GET and stays open.
      await Promise.all(open.map((c) => c.send(HELLO)));
      for (const [i, client] of open.entries()) {
        const answered = () => client.parsed()?.length === 1;
        const ok = (await waitFor(() => answered() || client.eof, 3_000)) && answered();
        assert.ok(ok, `served client ${i} got ${JSON.stringify(decode(client.bytes))}`);
        assert.equal(client.parsed()![0]!.status, 200);
      }
      console.log(`${open.length} served, ${refused.length} refused with 503`);
    } finally {
      for (const client of clients) client.close();
    }

    // With the idle ones gone, a fresh connection is served again.
    await Promise.all(ended);
    let status = 0;
    const deadline = Date.now() + 2_000;
    while (status !== 200 && Date.now() < deadline) {
      status = parseResponses(await rawRequest(server.port, HELLO_CLOSE))[0]?.status ?? 0;
      if (status !== 200) await delay(50);
    }
    assert.equal(status, 200, "no slot freed up after the idle clients left");
  });
});

const PROC = await hasProc();
if (!PROC) console.log(`overload_test: the RSS test is skipped: ${PROC_MISSING}`);

Deno.test({
  name: "a client that stalls on a 16 MiB download costs bounded memory and blocks no one",
  ignore: !PROC,
}, async () => {
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    const big = new Uint8Array(BIG_FILE_BYTES);
    for (let i = 0; i < big.length; i++) big[i] = (i * 131 + (i >>> 11)) & 0xff;
    await Deno.writeFile(join(root, "big.bin"), big);
    await using server = await spawnServer({ root, args: ["--quiet"] });

    // Warm up the paths the stall will use, then take the baseline.
    for (
      const request of [
        HELLO_CLOSE,
        "GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-99\r\nConnection: close\r\n\r\n",
      ]
    ) {
      const status = parseResponses(await rawRequest(server.port, request))[0]?.status ?? 0;
      assert.ok(status >= 200 && status < 300, `warm-up got ${status}`);
    }
    await delay(500);
    const baseline = (await rssKiB(server.pid))!;

    // The stalled client asks for the whole file and never reads: the kernel
    // buffers fill, then the server's writes block.
    using stalled = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await stalled.write(encode("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n"));

    let peak = baseline;
    const slowest: number[] = [];
    const started = Date.now();
    assert.ok(STALL_WATCH_MS < WRITE_TIMEOUT_MS, "the watch ends before the write timeout");
    while (Date.now() - started < STALL_WATCH_MS) {
      const t0 = Date.now();
      const bytes = await rawRequest(server.port, HELLO_CLOSE, { timeoutMs: 3_000 });
      slowest.push(Date.now() - t0);
      assert.equal(parseResponses(bytes)[0]?.status, 200, "another client is served");
      peak = Math.max(peak, (await rssKiB(server.pid)) ?? 0);
      await delay(RSS_SAMPLE_MS);
    }
    const growth = peak - baseline;
    console.log(
      `RSS ${(baseline / 1024).toFixed(1)} MiB before, peak ${(peak / 1024).toFixed(1)} MiB ` +
        `during the stall (+${(growth / 1024).toFixed(1)} MiB); others served in at most ` +
        `${Math.max(...slowest)} ms over ${slowest.length} requests`,
    );
    assert.ok(
      growth <= STALL_RSS_GROWTH_KIB,
      `RSS grew by ${growth} KiB while one client stalled on ${BIG_FILE_BYTES} bytes`,
    );
    assert.ok(
      Math.max(...slowest) < OTHERS_WITHIN_MS,
      `a request took ${Math.max(...slowest)} ms during the stall`,
    );

    // The stalled connection is still open and its response intact so far:
    // it is cut off only after WRITE_TIMEOUT_MS (30 s) without progress,
    // which this test does not wait for.
    const head = new Uint8Array(64 * 1024);
    const n = await stalled.read(head);
    assert.ok(n !== null && n > 0, "the stalled connection was closed early");
    assert.match(decode(head.subarray(0, n)), /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(
      decode(head.subarray(0, n)),
      new RegExp(`\r\nContent-Length: ${BIG_FILE_BYTES}\r\n`, "i"),
    );
  });
});

/**
 * Held by one address: idle connections, and connections sending their head
 * a line at a time; together more than the default cap of 1024, so without a
 * per-client share every other client would get 503.
 */
const HOG_IDLE = 3_000;
const HOG_SLOW = 1_000;
/** The server's resident memory stays under this during the attack. */
const HOG_RSS_KIB = 200 * 1024;
/** Requests from another address while the hog holds its connections. */
const OTHER_REQUESTS = 20;
/** Each of them must be answered within this long. */
const OTHER_WITHIN_MS = 1_000;

/** Whether curl exists and can bind 127.0.0.2 (another loopback address, another client). */
const CURL_OTHER = await (async () => {
  try {
    const out = await new Deno.Command("curl", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    `one address holding ${HOG_IDLE} idle and ${HOG_SLOW} slowloris connections locks no one out${
      CURL_OTHER ? "" : " (skipped: curl is needed to send from 127.0.0.2)"
    }`,
  ignore: !CURL_OTHER,
  async fn() {
    await withCopyOf(FIXTURE_ROOT, async (root) => {
      // The default caps: 1024 connections, half of them per client.
      await using server = await spawnServer({ root, args: ["--quiet"] });
      const hog: Deno.Conn[] = [];
      const trickle: Deno.Conn[] = [];
      let trickling: ReturnType<typeof setInterval> | undefined;
      try {
        for (let i = 0; i < HOG_IDLE; i++) {
          hog.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
        }
        for (let i = 0; i < HOG_SLOW; i++) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
          await conn.write(encode("GET /hello.txt HTTP/1.1\r\nHost: a\r\n")).catch(() => 0);
          trickle.push(conn);
        }
        let line = 0;
        trickling = setInterval(() => {
          for (const conn of trickle) conn.write(encode(`X-${line}: y\r\n`)).catch(() => {});
          line++;
        }, 500);

        const timings: number[] = [];
        for (let i = 0; i < OTHER_REQUESTS; i++) {
          const { status, ms } = await curlFrom("127.0.0.2", server.port, "/hello.txt");
          assert.equal(status, "200", `request ${i} from 127.0.0.2`);
          timings.push(ms);
        }
        const slowest = Math.max(...timings);
        assert.ok(slowest < OTHER_WITHIN_MS, `the slowest took ${slowest} ms`);
        const rss = PROC ? await rssKiB(server.pid) : undefined;
        if (rss !== undefined) {
          assert.ok(rss < HOG_RSS_KIB, `the server holds ${rss} KiB during the attack`);
        }
        console.log(
          `${OTHER_REQUESTS} of ${OTHER_REQUESTS} from 127.0.0.2 answered 200, slowest ${
            slowest.toFixed(1)
          } ms, while 127.0.0.1 opened ${HOG_IDLE} idle and ${HOG_SLOW} slow connections; ` +
            `server RSS ${rss === undefined ? "unknown" : `${(rss / 1024).toFixed(1)} MiB`}`,
        );
      } finally {
        clearInterval(trickling);
        for (const conn of [...hog, ...trickle]) {
          try {
            conn.close();
          } catch {
            // closed by the server already
          }
        }
      }
    });
  },
});

/**
 * Many addresses, each within its share, fill the global cap together with
 * idle and half-sent connections (a distributed slowloris). A newcomer then
 * takes the place of the connection that has waited longest for a request,
 * so it is served rather than refused.
 */
const CAP = 60;
const SHARE = 20;
const ATTACKERS = ["127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"];

/** holdFrom opens `count` connections from `address` (node:net can bind a source address; Deno.connect cannot). */
async function holdFrom(
  address: string,
  port: number,
  count: number,
  firstBytes: string,
): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < count; i++) {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress: address });
    socket.on("error", () => {}); // evicted or refused: expected
    socket.on("data", () => {}); // a 503 or 408 is read and dropped
    await new Promise<void>((resolve) => {
      socket.once("connect", () => resolve());
      socket.once("close", () => resolve());
    });
    if (firstBytes !== "") socket.write(firstBytes);
    sockets.push(socket);
  }
  return sockets;
}

Deno.test({
  name: `at the global cap, a newcomer displaces the longest-waiting idle or half-sent connection${
    CURL_OTHER ? "" : " (skipped: curl is needed to send from 127.0.0.2)"
  }`,
  ignore: !CURL_OTHER,
  async fn() {
    await withCopyOf(FIXTURE_ROOT, async (root) => {
      await using server = await spawnServer({
        root,
        args: [
          "--quiet",
          "--max-connections",
          String(CAP),
          "--max-connections-per-client",
          String(SHARE),
        ],
      });
      const held: net.Socket[] = [];
      let trickling: ReturnType<typeof setInterval> | undefined;
      try {
        for (const [i, address] of ATTACKERS.entries()) {
          const half = i % 2 === 1 ? "GET /hello.txt HTTP/1.1\r\nHost: a\r\n" : "";
          held.push(...await holdFrom(address, server.port, SHARE, half));
        }
        let line = 0;
        trickling = setInterval(() => {
          for (const socket of held) if (!socket.destroyed) socket.write(`X-${line}: y\r\n`);
          line++;
        }, 500);
        const open = () => held.filter((s) => !s.destroyed && s.readyState === "open").length;
        assert.ok(open() >= CAP - 5, `the attackers hold the cap (${open()} open)`);

        const timings: number[] = [];
        for (let i = 0; i < OTHER_REQUESTS; i++) {
          const { status, ms } = await curlFrom("127.0.0.2", server.port, "/hello.txt");
          assert.equal(status, "200", `request ${i} from 127.0.0.2`);
          timings.push(ms);
        }
        const slowest = Math.max(...timings);
        assert.ok(slowest < OTHER_WITHIN_MS, `the slowest took ${slowest} ms`);
        console.log(
          `${OTHER_REQUESTS} of ${OTHER_REQUESTS} from 127.0.0.2 answered 200, slowest ${
            slowest.toFixed(1)
          } ms, while ${ATTACKERS.length} addresses filled the cap of ${CAP}`,
        );
      } finally {
        clearInterval(trickling);
        for (const socket of held) socket.destroy();
      }
    });
  },
});

/** curlFrom GETs `path` from 127.0.0.1:`port` with curl bound to `address`; its status and time. */
async function curlFrom(
  address: string,
  port: number,
  path: string,
): Promise<{ status: string; ms: number }> {
  const out = await new Deno.Command("curl", {
    args: [
      "--interface",
      address,
      "-s",
      "-o",
      "/dev/null",
      "-m",
      "5",
      "-w",
      "%{http_code} %{time_total}",
      `http://127.0.0.1:${port}${path}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const [status = "", seconds = "NaN"] = new TextDecoder().decode(out.stdout).split(" ");
  return { status, ms: Number(seconds) * 1000 };
}

/** Whether util-linux's prlimit can run a command under another descriptor limit. */
const PRLIMIT = await (async () => {
  try {
    const out = await new Deno.Command("prlimit", {
      args: ["--nofile=64:64", "--", "true"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
})();
/** The descriptor limit the server runs under: the derived cap is below (160 - 64) / 2 = 48. */
const FD_LIMIT = 160;
/** Clients that each hold a socket and a file open (a download they never read). */
const STALLED_DOWNLOADS = 80;

Deno.test({
  name:
    `under a descriptor limit of ${FD_LIMIT}, the default cap is derived, said, and reached before the limit${
      PRLIMIT && PROC ? "" : " (skipped: needs prlimit and /proc)"
    }`,
  ignore: !PRLIMIT || !PROC,
  async fn() {
    await withCopyOf(FIXTURE_ROOT, async (root) => {
      // Sparse: more than the kernel's socket buffers take, no disk used.
      await Deno.writeFile(join(root, "big.bin"), new Uint8Array(0));
      await Deno.truncate(join(root, "big.bin"), 256 * 1024 * 1024);
      await using server = await spawnServer({
        root,
        // One address may take every slot here: the global cap is under test.
        args: ["--quiet", "--max-connections-per-client", String(STALLED_DOWNLOADS)],
        descriptorLimit: FD_LIMIT,
      });
      const said = server.stdoutText().match(
        /at most (\d+) at once, (\d+) per client address \((\d+) descriptors free\)/,
      );
      assert.ok(said !== null, server.stdoutText());
      const [cap, free] = [Number(said[1]), Number(said[3])];
      assert.ok(free < FD_LIMIT && free > FD_LIMIT - 40, `${free} descriptors free`);
      assert.equal(cap, Math.floor((free - 64) / 2));
      assert.ok(cap < STALLED_DOWNLOADS);
      // Each holds a socket and the open file: two descriptors per connection.
      const stalled: Deno.Conn[] = [];
      try {
        for (let i = 0; i < STALLED_DOWNLOADS; i++) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
          await conn.write(encode("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")).catch(() => 0);
          stalled.push(conn);
        }
        await delay(500);
        const descriptors = (await openFdCount(server.pid)) ?? NaN;
        assert.ok(descriptors < FD_LIMIT, `the server holds ${descriptors} descriptors`);

        // A newcomer gets a quick 503, not a hang in the backlog.
        const started = Date.now();
        const reply = await rawRequest(server.port, HELLO_CLOSE, { timeoutMs: 3_000 });
        const ms = Date.now() - started;
        assert.equal(parseResponses(reply)[0]?.status, 503, decode(reply).slice(0, 200));
        assert.ok(ms < REFUSE_WITHIN_MS, `the 503 took ${ms} ms`);
        assert.doesNotMatch(server.stderrText(), /accept failed|Too many open files/);
        console.log(
          `${STALLED_DOWNLOADS} stalled downloads: the server held ${descriptors} of ${FD_LIMIT} descriptors; a newcomer got 503 in ${ms} ms`,
        );
      } finally {
        for (const conn of stalled) {
          try {
            conn.close();
          } catch {
            // closed already
          }
        }
      }
    });
  },
});

/** How the slow reader reads: this many bytes, then a pause (500 bytes a second). */
const SLOW_READ_BYTES = 100;
const SLOW_READ_PAUSE_MS = 200;
/** With --request-timeout 1, a reader under 1 KiB/s must be cut off within this long. */
const SLOW_CUT_WITHIN_MS = 15_000;

/**
 * openCount counts the server's descriptors open on `path`. Through proc.ts,
 * which asks `ls` when Deno refuses /proc/<pid> without --allow-all (as
 * under `deno task test`).
 */
async function openCount(pid: number, path: string): Promise<number> {
  return (await fdTargets(pid)).filter((line) => line.endsWith(`-> ${path}`)).length;
}

/** readSlowly reads `conn` `bytes` at a time with `pauseMs` between reads until EOF, an error or `signal`; the bytes read. */
async function readSlowly(
  conn: Deno.Conn,
  bytes: number,
  pauseMs: number,
  signal: AbortSignal,
): Promise<number> {
  const buffer = new Uint8Array(bytes);
  let total = 0;
  while (!signal.aborted) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) break;
    total += n;
    if (pauseMs > 0) await delay(pauseMs);
  }
  return total;
}

Deno.test({
  name: "a client reading a response under 1 KiB/s is cut off; one reading faster is not",
  ignore: !PROC,
}, async () => {
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    const big = join(root, "big.bin");
    await Deno.writeFile(big, new Uint8Array(0));
    await Deno.truncate(big, 256 * 1024 * 1024); // sparse
    // --request-timeout 1: one second of waiting on the client is grace, one more is slack.
    await using server = await spawnServer({ root, args: ["--quiet", "--request-timeout", "1"] });
    const request = encode("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n");
    const stop = new AbortController();
    try {
      // The server's side is what matters: the client's own buffers may hold
      // megabytes after the server closed, so watch the file's descriptor.
      using slow = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await slow.write(request);
      const slowRead = readSlowly(slow, SLOW_READ_BYTES, SLOW_READ_PAUSE_MS, stop.signal);
      assert.ok(await waitFor(async () => (await openCount(server.pid, big)) === 1, 5_000));
      const started = Date.now();
      const cut = await waitFor(
        async () => (await openCount(server.pid, big)) === 0,
        SLOW_CUT_WITHIN_MS,
      );
      assert.ok(cut, `the slow reader was still served after ${SLOW_CUT_WITHIN_MS} ms`);
      const cutMs = Date.now() - started;

      // 64 KiB every 10 ms: far above the floor, for as long as the slow one lasted.
      using fast = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await fast.write(request);
      const fastRead = readSlowly(fast, 64 * 1024, 10, stop.signal);
      await delay(Math.max(cutMs, 3_000));
      assert.equal(await openCount(server.pid, big), 1, "the fast reader was cut off");
      stop.abort();
      const [slowBytes, fastBytes] = [await slowRead, await fastRead];
      console.log(
        `a reader at ${
          (SLOW_READ_BYTES * 1000) / SLOW_READ_PAUSE_MS
        } B/s was cut off ${cutMs} ms ` +
          `after it began (it read ${slowBytes} bytes); one reading 64 KiB every 10 ms read ` +
          `${fastBytes} bytes uncut`,
      );
    } finally {
      stop.abort();
    }
  });
});

/** Silent connections to the HTTPS port (no ClientHello, never closed by the client), opened at this rate. */
const SILENT_PER_SECOND = 100;
const SILENT_SECONDS = 4;
/** The descriptor limit of the HTTPS server under test. */
const TLS_FD_LIMIT = 256;

Deno.test({
  name: `HTTPS: silent connections are closed at their deadline and release their descriptors${
    HAVE_OPENSSL && PRLIMIT && PROC ? "" : " (skipped: needs openssl, prlimit and /proc)"
  }`,
  ignore: !HAVE_OPENSSL || !PRLIMIT || !PROC,
  async fn() {
    await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
      const { certFile, keyFile, certPem } = await makeCertificate(dir);
      await using server = await spawnServer({
        root,
        args: ["--quiet", "--cert", certFile, "--key", keyFile, "--idle-timeout", "1"],
        allowRead: [certFile, keyFile],
        descriptorLimit: TLS_FD_LIMIT,
      });
      const tlsGet = async () => {
        const conn = await Deno.connectTls({
          hostname: "127.0.0.1",
          port: server.port,
          caCerts: [certPem],
        });
        // Bounded: a server out of descriptors would never answer.
        const timer = setTimeout(() => conn.close(), 5_000);
        try {
          await conn.write(encode(HELLO_CLOSE));
          const chunks: Uint8Array[] = [];
          const buffer = new Uint8Array(16 * 1024);
          for (;;) {
            const n = await conn.read(buffer);
            if (n === null) break;
            chunks.push(buffer.slice(0, n));
          }
          return parseResponses(concat(chunks))[0]?.status ?? 0;
        } catch {
          return 0;
        } finally {
          clearTimeout(timer);
          try {
            conn.close();
          } catch {
            // closed by the server
          }
        }
      };
      assert.equal(await tlsGet(), 200);
      const baseline = await openFdCount(server.pid) ?? 0;

      // From another address than the real client's, which has its own share.
      const silent: net.Socket[] = [];
      let peak = baseline;
      const statuses: number[] = [];
      try {
        for (let second = 0; second < SILENT_SECONDS; second++) {
          for (let i = 0; i < SILENT_PER_SECOND; i++) {
            silent.push(...await holdFrom("127.0.0.3", server.port, 1, ""));
            await delay(1000 / SILENT_PER_SECOND);
          }
          peak = Math.max(peak, await openFdCount(server.pid) ?? 0);
          statuses.push(await tlsGet().catch(() => 0));
        }
        // The attacker still holds every socket open; the server let go of them.
        const released = await waitFor(
          async () => (await openFdCount(server.pid) ?? 0) <= baseline + 3,
          5_000,
        );
        const after = await openFdCount(server.pid) ?? 0;
        assert.ok(released, `${after} descriptors held, ${baseline} before the attack`);
        assert.ok(peak < TLS_FD_LIMIT, `the server reached ${peak} descriptors`);
        assert.deepEqual(statuses, statuses.map(() => 200), "real clients during the attack");
        assert.equal(await tlsGet(), 200);
        assert.doesNotMatch(server.stderrText(), /accept failed|Too many open files/);
        console.log(
          `${silent.length} silent connections to HTTPS over ${SILENT_SECONDS} s: at most ${peak} ` +
            `of ${TLS_FD_LIMIT} descriptors, ${after} after (baseline ${baseline}); ` +
            `${statuses.length} of ${statuses.length} real requests answered 200`,
        );
      } finally {
        for (const socket of silent) socket.destroy();
      }
    });
  },
});
