/**
 * idle_connections.ts — what an idle keep-alive connection costs the server
 * in resident memory.
 *
 *   bash -c 'ulimit -n 20000; deno run -A bench/idle_connections.ts 5000'
 *
 * Starts minserve (--max-connections 10000 --idle-timeout 600), reads its
 * RSS, opens N TCP connections that never send a byte, waits 2 s, reads the
 * RSS again and prints the difference per connection. The fd limit cannot be
 * raised from Deno: if connecting fails with "too many open files", it
 * reports how many connections it got and measures those.
 */

import { join } from "node:path";
import { openFdCount, rssKiB } from "../tests/_support/proc.ts";
import { parseResponses, rawRequest, spawnServer, withTempDir } from "../tests/_support/server.ts";
import { delay } from "../tests/_support/wait.ts";

/** Connections opened at once while ramping up. */
const CONNECT_BATCH = 250;
/** How long the idle connections sit before the second RSS reading. */
const SETTLE_MS = 2_000;

function mib(kib: number): string {
  return (kib / 1024).toFixed(1);
}

/** isOutOfDescriptors tells whether `err` is EMFILE / ENFILE. */
function isOutOfDescriptors(err: unknown): boolean {
  return err instanceof Error && /too many open files|EMFILE|ENFILE/i.test(err.message);
}

async function main() {
  const wanted = Number(Deno.args[0] ?? 5000);
  if (!Number.isInteger(wanted) || wanted < 1) {
    throw new RangeError(
      `Cannot open "${Deno.args[0]}" connections: value must be a positive integer`,
    );
  }
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    await Deno.mkdir(root);
    await Deno.writeTextFile(join(root, "hello.txt"), "hello, world\n");
    await using server = await spawnServer({
      root,
      args: [
        "--max-connections",
        "10000",
        // One address opens them all: lift the per-client share to measure them.
        "--max-connections-per-client",
        "10000",
        "--idle-timeout",
        "600",
        "--quiet",
      ],
      denoFlags: ["--v8-flags=--max-semi-space-size=1"], // as `deno task serve` runs it
    });
    // One request first, so that the code paths are loaded before the baseline.
    const warm = await rawRequest(
      server.port,
      "GET /hello.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    if (parseResponses(warm)[0]?.status !== 200) throw new Error("Cannot warm up the server");
    await delay(1_000);
    const rssBefore = (await rssKiB(server.pid)) ?? NaN;
    const fdsBefore = (await openFdCount(server.pid)) ?? NaN;

    const conns: Deno.TcpConn[] = [];
    let failure: string | undefined;
    const started = performance.now();
    while (conns.length < wanted && failure === undefined) {
      const batch = Math.min(CONNECT_BATCH, wanted - conns.length);
      const results = await Promise.allSettled(
        Array.from(
          { length: batch },
          () => Deno.connect({ hostname: "127.0.0.1", port: server.port }),
        ),
      );
      for (const result of results) {
        if (result.status === "fulfilled") conns.push(result.value);
        else {failure ??= isOutOfDescriptors(result.reason)
            ? `out of file descriptors (${String(result.reason)})`
            : String(result.reason);}
      }
    }
    const connectMs = performance.now() - started;
    if (failure !== undefined) {
      console.log(`connecting stopped after ${conns.length} of ${wanted}: ${failure}`);
      // Reading /proc and the probe below each need a descriptor of our own.
      conns.splice(-4).forEach((conn) => conn.close());
    }

    await delay(SETTLE_MS);
    const rssAfter = (await rssKiB(server.pid)) ?? NaN;
    const fdsAfter = (await openFdCount(server.pid)) ?? NaN;
    const n = conns.length;

    // Still serving with all of them open?
    const t0 = performance.now();
    let probeStatus: number | string;
    try {
      const probe = await rawRequest(
        server.port,
        "GET /hello.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        { timeoutMs: 3_000 },
      );
      probeStatus = parseResponses(probe)[0]?.status ?? "no response";
    } catch (err) {
      probeStatus = `failed (${err instanceof Error ? err.message : String(err)})`;
    }
    const probeMs = performance.now() - t0;

    for (const conn of conns) conn.close();
    await delay(SETTLE_MS);
    const rssClosed = (await rssKiB(server.pid)) ?? NaN;
    const fdsClosed = (await openFdCount(server.pid)) ?? NaN;

    console.log(
      `${n} idle connections: RSS ${mib(rssBefore)} MiB -> ${mib(rssAfter)} MiB ` +
        `(${((rssAfter - rssBefore) / n).toFixed(1)} KiB per connection)`,
    );
    console.log(
      `  server fds ${fdsBefore} -> ${fdsAfter} (accepted ${fdsAfter - fdsBefore}); ` +
        `connected in ${connectMs.toFixed(0)} ms; a GET meanwhile: ${probeStatus} in ` +
        `${probeMs.toFixed(1)} ms`,
    );
    console.log(
      `  ${SETTLE_MS / 1000} s after closing them: RSS ${mib(rssClosed)} MiB, fds ${fdsClosed}`,
    );
  });
}

if (import.meta.main) await main();
