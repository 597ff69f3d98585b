/**
 * soak.ts — minutes of mixed load, watching the server's memory and file
 * descriptors for leaks.
 *
 *   deno run -A bench/soak.ts [--seconds 180] [--workers 16] [--only SCENARIO,…]
 *
 * Starts minserve on a temporary root holding a 1 KB, a 1 MB and a 16 MB
 * file, then runs WORKERS clients in this process, each picking one of:
 * keep-alive GETs of the small file, a new connection with `Connection:
 * close` for the 1 MB file, range requests, 404s, a download of the 16 MB
 * file abandoned after a few KiB, and half a request followed by a close.
 * Every 5 s it samples the server's RSS and open descriptors and prints a
 * row; at the end it says whether both stayed flat: after a warm-up, the
 * last third's maximum within +20% (RSS) and +5 (fds) of the first third's.
 * `--only keep-alive,close` narrows the mix, to see which load moves RSS.
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseResponses, spawnServer, withTempDir } from "../tests/_support/server.ts";
import { delay } from "../tests/_support/wait.ts";
import { mulberry32 as prng } from "../tests/_support/random.ts";
import {
  Client,
  flatVerdict,
  pattern,
  type ProcessSample,
  row,
  sampleProcess,
} from "./_load_support.ts";

/** How often RSS and descriptors are sampled. */
const SAMPLE_MS = 5_000;
/** Samples before this are warm-up and left out of the verdict. */
const WARM_UP_MS = 15_000;
/** Flat means the last third's RSS maximum is within this factor of the first third's. */
const RSS_TOLERANCE = 1.2;
/** Flat means the last third's descriptor maximum is within this many of the first third's. */
const FD_TOLERANCE = 5;
/** One exchange that takes longer than this is abandoned and counted as an error. */
const EXCHANGE_TIMEOUT_MS = 10_000;

const SMALL_BYTES = 1_000;
const MEDIUM_BYTES = 1_000_000;
const BIG_BYTES = 16 * 1024 * 1024;

type Scenario = "keep-alive" | "close" | "range" | "not-found" | "abort" | "half-request";
/** Scenario weights: how often a worker picks each. */
const WEIGHTS: [Scenario, number][] = [
  ["keep-alive", 30],
  ["close", 15],
  ["range", 15],
  ["not-found", 15],
  ["abort", 13],
  ["half-request", 12],
];

/** Stats are counted by every worker. */
interface Stats {
  requests: number;
  errors: number;
  byScenario: Record<Scenario, number>;
  lastError: string;
}

function expect(condition: boolean, message: string) {
  if (!condition) throw new Error(message);
}

/** run performs one scenario; returns the number of complete responses it got. */
async function run(scenario: Scenario, port: number, rand: () => number): Promise<number> {
  const client = await Client.connect(port);
  try {
    switch (scenario) {
      case "keep-alive": {
        for (let i = 0; i < 20; i++) {
          await client.send("GET /small.txt HTTP/1.1\r\nHost: a\r\n\r\n");
          const r = await client.response();
          expect(r.status === 200 && r.body.length === SMALL_BYTES, `small.txt: ${r.status}`);
        }
        return 20;
      }
      case "close": {
        await client.send("GET /medium.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        const [r] = parseResponses(await client.untilEof());
        expect(r?.status === 200 && r.body.length === MEDIUM_BYTES, `medium.bin: ${r?.status}`);
        return 1;
      }
      case "range": {
        for (let i = 0; i < 10; i++) {
          const [name, size] = rand() < 0.5 ? ["medium.bin", MEDIUM_BYTES] : ["big.bin", BIG_BYTES];
          const start = Math.floor(rand() * (size - 70_000));
          const end = start + Math.floor(rand() * 65_536);
          await client.send(
            `GET /${name} HTTP/1.1\r\nHost: a\r\nRange: bytes=${start}-${end}\r\n\r\n`,
          );
          const r = await client.response();
          expect(r.status === 206 && r.body.length === end - start + 1, `range: ${r.status}`);
        }
        return 10;
      }
      case "not-found": {
        for (let i = 0; i < 10; i++) {
          await client.send(
            `GET /missing-${Math.floor(rand() * 1e6)}.txt HTTP/1.1\r\nHost: a\r\n\r\n`,
          );
          const r = await client.response();
          expect(r.status === 404, `missing: ${r.status}`);
        }
        return 10;
      }
      case "abort": {
        await client.send("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n");
        let got = 0;
        const want = 4096 + Math.floor(rand() * 16_384);
        while (got < want) {
          const more = await client.read();
          if (more === null) throw new Error("Cannot read big.bin: closed early");
          got += more.length;
        }
        return 0;
      }
      case "half-request": {
        await client.send("GET /small.txt HTTP/1.1\r\nHost: a\r\nUser-Agent: so");
        return 0;
      }
    }
  } finally {
    client.close();
  }
}

function pick(rand: () => number, weights: [Scenario, number][]): Scenario {
  const total = weights.reduce((n, [, w]) => n + w, 0);
  let r = rand() * total;
  for (const [scenario, weight] of weights) {
    r -= weight;
    if (r < 0) return scenario;
  }
  return "keep-alive";
}

async function worker(
  id: number,
  port: number,
  until: number,
  stats: Stats,
  weights: [Scenario, number][],
) {
  const rand = prng(0x50a4 + id);
  while (Date.now() < until) {
    const scenario = pick(rand, weights);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Cannot finish ${scenario}: over ${EXCHANGE_TIMEOUT_MS} ms`)),
          EXCHANGE_TIMEOUT_MS,
        );
      });
      const done = await Promise.race([run(scenario, port, rand), timeout]);
      stats.requests += done;
      stats.byScenario[scenario]++;
    } catch (err) {
      stats.errors++;
      stats.lastError = `${scenario}: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Sample is a reading of the server with the responses counted so far. */
interface Sample extends ProcessSample {
  requests: number;
}

async function sample(pid: number, started: number, stats: Stats): Promise<Sample> {
  return { ...await sampleProcess(pid, started), requests: stats.requests };
}

/** verdict compares the first and last thirds of the samples after warm-up. */
function verdict(samples: Sample[]): string {
  const { ok, lines } = flatVerdict(samples, {
    warmUpMs: WARM_UP_MS,
    rssFactor: RSS_TOLERANCE,
    fdSlack: FD_TOLERANCE,
    fdFactor: 0,
  });
  return [...lines, ok ? "verdict: flat" : "verdict: NOT flat"].join("\n");
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: { seconds: { type: "string" }, workers: { type: "string" }, only: { type: "string" } },
  });
  const only = values.only?.split(",") ?? WEIGHTS.map(([name]) => name);
  const weights = WEIGHTS.filter(([name]) => only.includes(name));
  if (weights.length !== only.length) {
    throw new TypeError(
      `Cannot run --only "${values.only}": scenarios are ${WEIGHTS.map(([n]) => n).join(", ")}`,
    );
  }
  const seconds = Number(values.seconds ?? 180);
  const workers = Number(values.workers ?? 16);
  if (!(seconds > 0) || !Number.isInteger(workers) || workers < 1) {
    throw new RangeError(
      `Cannot soak for "${values.seconds}" s with "${values.workers}" workers: values must be positive`,
    );
  }
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    await Deno.mkdir(root);
    await Deno.writeFile(
      join(root, "small.txt"),
      pattern(SMALL_BYTES, 1).map((b) => 0x61 + b % 26),
    );
    await Deno.writeFile(join(root, "medium.bin"), pattern(MEDIUM_BYTES, 2));
    await Deno.writeFile(join(root, "big.bin"), pattern(BIG_BYTES, 3));
    await using server = await spawnServer({
      root,
      args: ["--quiet"],
      denoFlags: ["--v8-flags=--max-semi-space-size=1"], // as `deno task serve` runs it
    });

    const stats: Stats = {
      requests: 0,
      errors: 0,
      byScenario: {
        "keep-alive": 0,
        close: 0,
        range: 0,
        "not-found": 0,
        abort: 0,
        "half-request": 0,
      },
      lastError: "",
    };
    const started = Date.now();
    const until = started + seconds * 1000;
    const samples: Sample[] = [await sample(server.pid, started, stats)];
    console.log(
      `soak: ${seconds} s, ${workers} workers, server pid ${server.pid}, mix ${
        weights.map(([n, w]) => `${n} ${w}`).join(", ")
      }`,
    );
    console.log(row(["t (s)", "requests", "req/s", "server CPU", "RSS (MiB)", "fds"]));
    const print = (s: Sample, previous: Sample | undefined) => {
      const span = previous === undefined ? NaN : s.seconds - previous.seconds;
      const rate = previous === undefined
        ? ""
        : ((s.requests - previous.requests) / span).toFixed(0);
      const cpu = previous === undefined
        ? ""
        : `${((s.cpu - previous.cpu) / span * 100).toFixed(0)}%`;
      console.log(row([s.seconds, s.requests, rate, cpu, s.rssMiB.toFixed(1), s.fds]));
    };
    print(samples[0]!, undefined);

    const load = Promise.all(
      Array.from({ length: workers }, (_, i) => worker(i, server.port, until, stats, weights)),
    );
    while (Date.now() < until) {
      await delay(Math.min(SAMPLE_MS, Math.max(0, until - Date.now())));
      const s = await sample(server.pid, started, stats);
      print(s, samples.at(-1));
      samples.push(s);
    }
    await load;

    // After the load, idle connections time out (5 s by default) and memory may settle.
    await delay(6_000);
    const after = await sample(server.pid, started, stats);
    console.log(
      `idle 6 s after the load: RSS ${after.rssMiB.toFixed(1)} MiB, fds ${after.fds}`,
    );
    console.log(
      `completed: ${JSON.stringify(stats.byScenario)}; ${stats.requests} responses, ` +
        `${stats.errors} errors${stats.errors > 0 ? ` (last: ${stats.lastError})` : ""}`,
    );
    const stderr = server.stderrText().trim();
    if (stderr !== "") console.log(`server stderr:\n${stderr.slice(0, 2000)}`);
    console.log(verdict(samples));
  });
}

if (import.meta.main) await main();
