/**
 * load.ts — the load benchmark of /work/shared/PERFORMANCE.md: minserve
 * against nginx, a plain Deno.serve file server and python's http.server,
 * under wrk and curl, each server pinned to CPU 0 and the client to CPU 1.
 *
 *   deno run -A bench/load.ts [--rounds 3] [--seconds 5] [--only a,b,c,d,e,f,g,h,i]
 *                             [--servers minserve,nginx,deno-serve,python]
 *                             [--no-whole-run]
 *
 * Workloads (wrk 1 thread, keep-alive unless said otherwise):
 *   a  GET /1k.bin, -c50
 *   b  GET /1k.bin with "Connection: close", -c50
 *   c  GET /1m.bin, -c10
 *   d  GET /missing.bin (404), -c50
 *   e  GET /64m.bin with curl, 3 times per round: MB/s and peak RSS growth
 *   f  GET /style.css (16 KiB of generated CSS) with the header fields a
 *      browser sends for a stylesheet (Accept-Encoding: gzip, deflate, br,
 *      zstd; Sec-Fetch-*; a Chrome User-Agent…), -c50: 200, compressed if
 *      the server compresses
 *   g  the same plus If-None-Match with the ETag this server instance gave
 *      for f, -c50: 304 (a reload; servers without ETags are skipped)
 *   h  GET /1m.bin with "Range: bytes=524288-557055", -c50: 206 with 32 KiB,
 *      as a video seek (servers that ignore Range are skipped)
 *   i  a page's 64 stylesheets, /assets/0.css … /assets/63.css (4 KiB of
 *      generated CSS each), in turn with f's header fields, -c50: 200. No
 *      two requests in a row name the same file, so no two heads in a row
 *      are the same, as in a real page load (f, g and h repeat one head)
 *
 * Every (round, workload, server) block starts the server on a free port and
 * stops it afterwards. Rounds are interleaved (round → workload → server,
 * the server order rotated by one each round), and the report gives medians
 * with min–max: a Markdown table for the README, ratios to nginx and to
 * deno-serve, server CPU, bytes on the wire per response (from wrk's "read"
 * line), memory, errors. Server CPU per request is the change of utime+stime
 * in /proc/PID/stat over the block; peak RSS is VmHWM, reset through
 * /proc/PID/clear_refs before the block (or each download). Before each block
 * one probe checks the status (and for f, g, h the fields) of the answers;
 * during the block wrk counts only answers outside 2xx/3xx, so a g or h block
 * whose bytes per response are too many for a 304 or 206 is flagged too.
 *
 * After the rounds, the "whole run" (unless --no-whole-run) starts minserve
 * and nginx once more each and runs every selected workload once in turn
 * (a, b, c, d, f, g, h with wrk, then e's downloads) against that one
 * process: its resident memory at the end, and its peak, show what a
 * long-running server keeps.
 *
 * nginx runs with `master_process off`: one process, which is the worker;
 * with `gzip on` as Debian ships it, and gzip_types for CSS.
 *
 * The machine may be shared. Before each block the script waits (up to 15 s,
 * --max-wait seconds in all) for both CPUs to be idle, and during each block
 * it measures from /proc/stat how much of the two CPUs other processes took;
 * blocks above 5% are flagged in the progress lines and the tables.
 *
 * Needs Linux with 2 CPUs, taskset, wrk and curl; nginx and python3 are
 * optional (skipped when missing). This script pins itself to CPU 1 too.
 * Every child is killed on exit, on an exception and on SIGINT, SIGTERM or
 * SIGHUP; the temp directory is removed.
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import {
  type Child,
  Children,
  comm,
  cpuTicks,
  type CpuTimes,
  cpuTimes,
  decodeBody,
  fixed,
  freePort,
  median,
  mem,
  ownTicks,
  parseWrk,
  portIsFree,
  probe,
  procField,
  resetPeak,
  sameBytes,
  sleep,
  stat,
  table,
  waitForPort,
  type WrkResult,
} from "./_load_support.ts";

// ---------------------------------------------------------------------------
// Settings

const SERVER_CPU = "0";
const CLIENT_CPU = "1";
/** Pause after a server starts listening, before its idle RSS is read. */
const SETTLE_MS = 250;
/**
 * Before each block, the two CPUs must be quiet (below QUIET_BUSY busy, apart
 * from this script) for one window of QUIET_WINDOW_MS; this is also the pause
 * in which the previous server's sockets wind down. The machine may be
 * shared: other load is measured during every block too, and reported.
 */
const QUIET_WINDOW_MS = 400;
const QUIET_BUSY = 0.05;
/** At most this long waiting before one block. */
const MAX_WAIT_PER_BLOCK_MS = 15_000;
/** A block with more than this share of the server's or client's CPU used by others is flagged. */
const DISTURBED = 0.05;
/** … or with more than this share stolen by the hypervisor. */
const DISTURBED_STEAL = 0.1;
const START_TIMEOUT_MS = 20_000;
const DOWNLOADS_PER_ROUND = 3;
const SAMPLE_MS = 20;
/** Terminal colour sequences (ESC [ … m), removed from the log lines quoted in failures. */
const ANSI_COLOURS = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
const MiB = 1024 * 1024;
const FILES = { "1k.bin": 1024, "1m.bin": MiB, "64m.bin": 64 * MiB } as const;
/** The stylesheet of f and g: generated CSS text of exactly this many bytes. */
const CSS_BYTES = 16_384;
/** h: 32 KiB from the middle of /1m.bin, as a video player seeking asks. */
const RANGE_FIRST = 512 * 1024;
const RANGE_BYTES = 32 * 1024;
const RANGE_LAST = RANGE_FIRST + RANGE_BYTES - 1;
/** i: the page's stylesheets, /assets/N.css, each ASSET_BYTES of generated CSS. */
const PAGE_ASSETS = 64;
const ASSET_BYTES = 4096;
/** A g response bigger than this (head included) was not a 304. */
const MAX_304_WIRE_BYTES = 1024;
/** An h response bigger than this (head included) carried more than the range. */
const MAX_206_WIRE_BYTES = RANGE_BYTES + 1024;

/** Chrome's major version in the User-Agent and sec-ch-ua of f and g (stable, late 2026). */
const CHROME = 154;
/**
 * The request header fields Chrome sends for `<link rel="stylesheet">` of a
 * same-origin page at http://127.0.0.1/ (besides Host and Connection, which
 * wrk adds); 127.0.0.1 is a secure context, so the low-entropy client hints
 * (sec-ch-ua*) come too. No Cache-Control: a normal load, not a reload.
 */
const BROWSER_CSS_HEADERS = [
  `sec-ch-ua: "Chromium";v="${CHROME}", "Google Chrome";v="${CHROME}", "Not_A Brand";v="99"`,
  "sec-ch-ua-mobile: ?0",
  'sec-ch-ua-platform: "Linux"',
  `User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ` +
  `Chrome/${CHROME}.0.0.0 Safari/537.36`,
  "Accept: text/css,*/*;q=0.1",
  "Sec-Fetch-Site: same-origin",
  "Sec-Fetch-Mode: no-cors",
  "Sec-Fetch-Dest: style",
  "Referer: http://127.0.0.1/",
  "Accept-Encoding: gzip, deflate, br, zstd",
  "Accept-Language: en-US,en;q=0.9",
];

type WorkloadId = "a" | "b" | "c" | "d" | "e" | "f" | "g" | "h" | "i";
type ServerName = "minserve" | "nginx" | "deno-serve" | "python";
const ALL_WORKLOADS: WorkloadId[] = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
const ALL_SERVERS: ServerName[] = ["minserve", "nginx", "deno-serve", "python"];
/** The servers of the whole run: the two meant to run for months. */
const WHOLE_RUN_SERVERS: ServerName[] = ["minserve", "nginx"];

interface Workload {
  id: WorkloadId;
  title: string;
  path: string;
  connections: number;
  /** Request header fields ("Name: value") besides Host, which wrk sends. */
  headers: string[];
  /** The status every response should have. */
  status: number;
  /** g: If-None-Match gets the ETag the server instance gave for the f request. */
  revalidate?: boolean;
  /** More bytes on the wire per response (head included) than this mean wrong answers. */
  maxWireBytes?: number;
  /** i: wrk takes its paths from the page-load script (PAGE_LOAD_LUA), not `path`. */
  pageLoad?: boolean;
}

const WORKLOADS: Record<WorkloadId, Workload> = {
  a: {
    id: "a",
    title: "1 KB keep-alive",
    path: "/1k.bin",
    connections: 50,
    headers: [],
    status: 200,
  },
  b: {
    id: "b",
    title: "1 KB Connection: close",
    path: "/1k.bin",
    connections: 50,
    headers: ["Connection: close"],
    status: 200,
  },
  c: {
    id: "c",
    title: "1 MB keep-alive",
    path: "/1m.bin",
    connections: 10,
    headers: [],
    status: 200,
  },
  d: { id: "d", title: "404", path: "/missing.bin", connections: 50, headers: [], status: 404 },
  e: {
    id: "e",
    title: "64 MB download",
    path: "/64m.bin",
    connections: 1,
    headers: [],
    status: 200,
  },
  f: {
    id: "f",
    title: "16 KB CSS, browser headers",
    path: "/style.css",
    connections: 50,
    headers: BROWSER_CSS_HEADERS,
    status: 200,
  },
  g: {
    id: "g",
    title: "the same, revalidated (304)",
    path: "/style.css",
    connections: 50,
    headers: BROWSER_CSS_HEADERS,
    status: 304,
    revalidate: true,
    maxWireBytes: MAX_304_WIRE_BYTES,
  },
  h: {
    id: "h",
    title: "32 KiB Range into 1 MB (video seek)",
    path: "/1m.bin",
    connections: 50,
    headers: [`Range: bytes=${RANGE_FIRST}-${RANGE_LAST}`],
    status: 206,
    maxWireBytes: MAX_206_WIRE_BYTES,
  },
  i: {
    id: "i",
    title: "a page's 64 stylesheets, a new head each",
    path: "/assets/",
    connections: 50,
    headers: BROWSER_CSS_HEADERS,
    status: 200,
    pageLoad: true,
  },
};

/**
 * PAGE_LOAD_LUA is i's wrk script: each request names the next of the
 * page's stylesheets, with the header fields given by -H (f's).
 */
const PAGE_LOAD_LUA = `
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/assets/" .. (n % ${PAGE_ASSETS}) .. ".css")
end
`;

const USAGE = `Usage: deno run -A bench/load.ts [options]

  --rounds N        interleaved rounds (default 3)
  --seconds S       length of each wrk run (default 5)
  --only LIST       workloads among a,b,c,d,e,f,g,h,i (default all):
                      a 1 KB keep-alive, b 1 KB Connection: close, c 1 MB, d 404,
                      e 64 MB downloads (curl), f 16 KB CSS with a browser's header
                      fields, g the same revalidated (304), h 32 KiB Range into 1 MB (206),
                      i a page's 64 stylesheets in turn with f's fields
  --servers LIST    among minserve,nginx,deno-serve,python (default all)
  --no-whole-run    skip the whole run after the rounds (minserve and nginx started
                    once each, every selected workload in turn, memory at the end)
  --warmup S        an unmeasured wrk run of S seconds before each measured one (default 0)
  --max-wait S      before each block, wait (up to 15 s) for other load on the two CPUs to
                    stop; S is the budget for all these waits (default 45); after it,
                    blocks run at once (other load is measured and flagged anyway)
  --verbose         print wrk's whole output for every block
  -h, --help        this text`;

interface Options {
  rounds: number;
  seconds: number;
  warmup: number;
  maxWait: number;
  workloads: WorkloadId[];
  servers: ServerName[];
  wholeRun: boolean;
  verbose: boolean;
}

/** The workloads a..h in that order, whatever order --only gave. */
function inCanonicalOrder(ids: WorkloadId[]): WorkloadId[] {
  return ALL_WORKLOADS.filter((w) => ids.includes(w));
}

function parseOptions(args: string[]): Options | "help" {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      rounds: { type: "string" },
      seconds: { type: "string" },
      warmup: { type: "string" },
      "max-wait": { type: "string" },
      only: { type: "string" },
      servers: { type: "string" },
      "no-whole-run": { type: "boolean" },
      verbose: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const int = (flag: string, raw: string | undefined, fallback: number, min: number) => {
    if (raw === undefined) return fallback;
    const v = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
    if (!(v >= min && v <= 3600)) throw new RangeError(`--${flag} must be an integer ≥ ${min}`);
    return v;
  };
  const list = <T extends string>(flag: string, raw: string | undefined, all: T[]): T[] => {
    if (raw === undefined) return all;
    const items = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
    for (const item of items) {
      if (!all.includes(item as T)) {
        throw new TypeError(`--${flag}: unknown "${item}" (choose from ${all.join(",")})`);
      }
    }
    if (items.length === 0) throw new TypeError(`--${flag} is empty`);
    return [...new Set(items)] as T[];
  };
  return {
    rounds: int("rounds", values.rounds, 3, 1),
    seconds: int("seconds", values.seconds, 5, 1),
    warmup: int("warmup", values.warmup, 0, 0),
    maxWait: int("max-wait", values["max-wait"], 45, 0),
    workloads: inCanonicalOrder(list("only", values.only, ALL_WORKLOADS)),
    servers: list("servers", values.servers, ALL_SERVERS),
    wholeRun: !(values["no-whole-run"] ?? false),
    verbose: values.verbose ?? false,
  };
}

// ---------------------------------------------------------------------------
// Servers

interface ServerSpec {
  name: ServerName;
  /** Why it cannot run here, if it cannot. */
  unavailable?: string;
  /**
   * A plain file server: no ETag, no Range (nor compression). g and h blocks
   * it cannot answer are skipped; for the others, a missing ETag or an
   * ignored Range fails the block.
   */
  plain: boolean;
  cwd: string;
  /** The command (after `taskset -c 0`) for `port`; may write a config file first. */
  argv(port: number): string[];
}

const DENO_SERVE_SOURCE =
  `// Deno.serve file server for bench/load.ts: like std's serveFile without the extras.
const [root, portArg] = Deno.args;
if (root === undefined || portArg === undefined) throw new TypeError("usage: ROOT PORT");
const notFound = () =>
  new Response("Not Found\\n", { status: 404, headers: { "content-type": "text/plain" } });
Deno.serve({ hostname: "127.0.0.1", port: Number(portArg), onListen() {} }, async (request) => {
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(request.url).pathname);
  } catch {
    return new Response("Bad Request\\n", { status: 400 });
  }
  if (pathname.includes("\\0") || pathname.split("/").includes("..")) {
    return new Response("Bad Request\\n", { status: 400 });
  }
  const path = root + pathname;
  let info;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return notFound();
    throw err;
  }
  if (!info.isFile) return notFound();
  const file = await Deno.open(path);
  const type = path.endsWith(".css") ? "text/css; charset=UTF-8" : "application/octet-stream";
  return new Response(file.readable, {
    headers: { "content-length": String(info.size), "content-type": type },
  });
});
`;

function nginxConfig(tmp: string, root: string, port: number): string {
  return `# generated by bench/load.ts
worker_processes 1;
daemon off;
master_process off;
error_log ${tmp}/error.log;
pid ${tmp}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { text/css css; }
  default_type application/octet-stream;
  # gzip as Debian's nginx.conf has it (gzip_comp_level 1, the default), with
  # the gzip_types Debian leaves commented out: else only text/html is compressed.
  gzip on;
  gzip_vary on;
  gzip_types text/css application/javascript text/javascript application/json image/svg+xml text/plain;
  client_body_temp_path ${tmp}/client_body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  server { listen 127.0.0.1:${port}; root ${root}; }
}
`;
}

// ---------------------------------------------------------------------------
// Results

interface ErrorCounts {
  connect: number;
  read: number;
  write: number;
  timeout: number;
  /** Responses whose status was not the expected one (non-2xx/3xx, or 2xx/3xx for d). */
  status: number;
}

interface Download {
  mbps: number;
  growthKiB: number;
  peakKiB: number;
  /** Server CPU ticks during the download. */
  ticks: number;
  bytes: number;
  error?: string;
}

/** What else ran on the two CPUs during a block, as shares of their time. */
interface Interference {
  /** Time of other processes on the server's CPU. */
  server: number;
  /** Time of other processes on the client's CPU (not wrk or curl, not this script). */
  client: number;
  /** Time the hypervisor took from either CPU (the larger). */
  steal: number;
  /** Share of the server's CPU the server used. */
  serverBusy: number;
  /** Share of the client's CPU that wrk or curl (and this script) used. */
  clientBusy: number;
}

interface Block {
  server: ServerName;
  workload: WorkloadId;
  round: number;
  failure?: string;
  /** Why the block was not run: the server lacks what the workload needs (g, h). */
  skipped?: string;
  warnings: string[];
  /** What the probe before the block found worth telling (f: the content coding chosen). */
  note?: string;
  /** How long the block waited for the CPUs to be quiet, and whether they were in the end. */
  waitedMs: number;
  quiet: boolean;
  other?: Interference;
  idleKiB?: number;
  afterKiB?: number;
  /** VmHWM over the block (reset before it), when the kernel allows the reset. */
  peakKiB?: number;
  rps?: number;
  requests?: number;
  cpuUsPerReq?: number;
  /** Bytes wrk read per response, heads included. */
  bytesPerResponse?: number;
  /** e: server CPU over the block's downloads per MiB downloaded. */
  cpuUsPerMiB?: number;
  latency?: string;
  errors?: ErrorCounts;
  downloads?: Download[];
}

function errorTotal(e: ErrorCounts): number {
  return e.connect + e.read + e.write + e.timeout + e.status;
}

/** What one server instance did in the whole run. */
interface WholeRun {
  server: ServerName;
  failure?: string;
  problems: string[];
  idleKiB?: number;
  /** VmRSS after each workload, in the order run. */
  steps: { workload: WorkloadId; rssKiB: number }[];
  afterKiB?: number;
  /** VmHWM at the end: the peak since the process started. */
  peakKiB?: number;
}

// ---------------------------------------------------------------------------
// The run

const children = new Children();
let tmpDir: string | undefined;

function cleanup(): void {
  children.killAll();
  if (tmpDir !== undefined) {
    try {
      Deno.removeSync(tmpDir, { recursive: true });
    } catch {
      // gone already
    }
    tmpDir = undefined;
  }
}

async function firstLine(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await children.output(cmd, args, 10_000);
    const text = (out.stdout + "\n" + out.stderr).trim();
    return text.split("\n")[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(Deno.args);
  } catch (err) {
    console.error(`load.ts: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  const { rounds, seconds, warmup, maxWait, workloads, verbose } = options;
  const log = (line: string) => console.log(line);

  // -- the machine and the tools
  const commandLine = Deno.readTextFileSync("/proc/self/cmdline").split("\0").filter((s) => s)
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
  const nproc = (await firstLine("nproc", [])) ?? String(navigator.hardwareConcurrency);
  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ??
    "?";
  const kernel = (await firstLine("uname", ["-r"])) ?? "?";
  for (const tool of ["taskset", "wrk", "curl"]) {
    if ((await firstLine("sh", ["-c", `command -v ${tool}`])) === undefined) {
      console.error(`load.ts: ${tool} is required (apt-get install -y wrk curl util-linux)`);
      return 1;
    }
  }
  if (Number(nproc) < 2) {
    console.error("load.ts: needs 2 CPUs (server on CPU 0, client on CPU 1)");
    return 1;
  }
  const wrkVersion = (await firstLine("wrk", ["-v"]))?.replace(/\s*Copyright.*$/, "") ?? "?";
  const curlVersion = (await firstLine("curl", ["--version"]))?.split(" ").slice(0, 2).join(" ");
  const nginxVersion = (await firstLine("nginx", ["-v"]))?.replace(/^nginx version:\s*/, "");
  const pythonExe = await firstLine("python3", ["-c", "import sys; print(sys.executable)"]);
  const pythonVersion = pythonExe ? await firstLine(pythonExe, ["--version"]) : undefined;
  const repo = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");
  const gitHead = await firstLine("git", ["-C", repo, "rev-parse", "--short", "HEAD"]);
  const gitDirty = await children.output(
    "git",
    ["-C", repo, "status", "--porcelain", "--", "main.ts", "lib", "deno.json"],
    10_000,
  );
  const dirty = gitDirty.stdout.split("\n").filter((l) => l).map((l) => l.slice(3));
  const denoExe = Deno.execPath();
  const ticksPerSecond = Number(await firstLine("getconf", ["CLK_TCK"])) || 100;

  // This script, and so wrk and curl, stays off the server's CPU.
  await children.output("taskset", ["-a", "-p", "-c", CLIENT_CPU, String(Deno.pid)], 10_000);

  // -- the document root
  tmpDir = await Deno.makeTempDir({ prefix: "minserve-load-" });
  const tmp = tmpDir;
  const root = `${tmp}/root`;
  await Deno.mkdir(root);
  await Deno.mkdir(`${tmp}/nginx`);
  await Deno.mkdir(`${tmp}/logs`);
  await Deno.chmod(tmp, 0o755);
  await Deno.chmod(root, 0o755);
  for (const [name, size] of Object.entries(FILES)) {
    const bytes = new Uint8Array(size);
    for (let at = 0; at < size; at += 65536) {
      crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)));
    }
    await Deno.writeFile(`${root}/${name}`, bytes, { mode: 0o644 });
  }
  const css = new TextEncoder().encode(styleCss(CSS_BYTES));
  await Deno.writeFile(`${root}/style.css`, css, { mode: 0o644 });
  await Deno.mkdir(`${root}/assets`, { mode: 0o755 });
  const firstAsset = new TextEncoder().encode(styleCss(ASSET_BYTES, 1));
  for (let n = 0; n < PAGE_ASSETS; n++) {
    const asset = n === 0 ? firstAsset : new TextEncoder().encode(styleCss(ASSET_BYTES, n + 1));
    await Deno.writeFile(`${root}/assets/${n}.css`, asset, { mode: 0o644 });
  }
  const pageLoadScript = `${tmp}/page_load.lua`;
  await Deno.writeTextFile(pageLoadScript, PAGE_LOAD_LUA);
  const cssGzip = (await new Response(
    new Blob([css]).stream().pipeThrough(new CompressionStream("gzip")),
  ).arrayBuffer()).byteLength;
  const rangeBody = (await Deno.readFile(`${root}/1m.bin`)).slice(RANGE_FIRST, RANGE_LAST + 1);
  await Deno.writeTextFile(`${tmp}/deno_serve.ts`, DENO_SERVE_SOURCE);

  // -- the servers
  const specs: Record<ServerName, ServerSpec> = {
    minserve: {
      name: "minserve",
      plain: false,
      cwd: repo,
      argv: (port) => [
        denoExe,
        "run",
        // As `deno task serve` and `deno task compile` run it: a 1 MiB young
        // generation keeps resident memory near idle after load.
        "--v8-flags=--max-semi-space-size=1",
        "--allow-net=127.0.0.1",
        `--allow-read=${root}`,
        `${repo}/main.ts`,
        root,
        "--port",
        String(port),
        "--quiet",
      ],
    },
    nginx: {
      name: "nginx",
      plain: false,
      ...(nginxVersion === undefined ? { unavailable: "nginx not found" } : {}),
      cwd: `${tmp}/nginx`,
      argv: (port) => {
        Deno.writeTextFileSync(`${tmp}/nginx/nginx.conf`, nginxConfig(`${tmp}/nginx`, root, port));
        return [
          "nginx",
          "-p",
          `${tmp}/nginx/`,
          "-e",
          `${tmp}/nginx/error.log`,
          "-c",
          `${tmp}/nginx/nginx.conf`,
        ];
      },
    },
    "deno-serve": {
      name: "deno-serve",
      plain: true,
      cwd: tmp,
      argv: (port) => [
        denoExe,
        "run",
        "--no-config",
        "--allow-net=127.0.0.1",
        `--allow-read=${root}`,
        `${tmp}/deno_serve.ts`,
        root,
        String(port),
      ],
    },
    python: {
      name: "python",
      plain: true,
      ...(pythonExe === undefined ? { unavailable: "python3 not found" } : {}),
      cwd: tmp,
      argv: (port) => [
        pythonExe ?? "python3",
        "-m",
        "http.server",
        String(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        root,
      ],
    },
  };
  const servers = options.servers.filter((s) => specs[s].unavailable === undefined);
  const skipped = options.servers.filter((s) => specs[s].unavailable !== undefined)
    .map((s) => `${s} (${specs[s].unavailable})`);

  const wrkCount = workloads.filter((w) => w !== "e").length;
  const wholeRunServers = options.wholeRun
    ? servers.filter((s) => WHOLE_RUN_SERVERS.includes(s))
    : [];
  const estimate = rounds *
      ((wrkCount * servers.length * (seconds + warmup + 1.3 + QUIET_WINDOW_MS / 1000)) +
        (workloads.includes("e") ? servers.length * 3 : 0)) +
    wholeRunServers.length * (wrkCount * (seconds + 0.2) + (workloads.includes("e") ? 3 : 0) + 2);

  const header = [
    `# minserve load benchmark`,
    "",
    `- command: \`${commandLine}\``,
    `- date: ${new Date().toISOString()}`,
    `- machine: nproc ${nproc}, ${cpuModel}, Linux ${kernel}`,
    `- versions: deno ${Deno.version.deno} (v8 ${Deno.version.v8}), ${
      nginxVersion ?? "nginx –"
    }, ` +
    `${wrkVersion}, ${curlVersion ?? "curl ?"}, ${pythonVersion ?? "python –"}`,
    `- minserve: ${repo} at ${gitHead ?? "?"}${
      dirty.length > 0 ? ` with uncommitted changes in ${dirty.join(", ")}` : ""
    }`,
    `- pinning: servers \`taskset -c ${SERVER_CPU}\`; wrk, curl and this script \`taskset -c ${CLIENT_CPU}\``,
    `- ${rounds} round(s), wrk -t1 for ${seconds} s per block${
      warmup > 0 ? ` after a ${warmup} s unmeasured warm-up` : " (no warm-up)"
    }; each server restarted for every block; rounds interleaved (round → workload → server, ` +
    `server order rotated each round); e: ${DOWNLOADS_PER_ROUND} curl downloads of 64 MiB per round`,
    `- f, g: GET /style.css (${CSS_BYTES} bytes of generated CSS, gzip -6 ${
      (CSS_BYTES / cssGzip).toFixed(1)
    }×) with Chrome ${CHROME}'s header fields for a stylesheet (Accept: text/css,*/*;q=0.1, ` +
    "Accept-Encoding: gzip, deflate, br, zstd, Accept-Language, User-Agent, sec-ch-ua*, " +
    "Sec-Fetch-Dest/Mode/Site, Referer); g adds If-None-Match with the ETag the server " +
    "instance sent for f (probed after each start); h: " +
    `Range: bytes=${RANGE_FIRST}-${RANGE_LAST} of /1m.bin; i: /assets/0.css … ` +
    `/assets/${PAGE_ASSETS - 1}.css (${ASSET_BYTES} bytes of generated CSS each) in turn, ` +
    "with f's fields: every head differs from the one before it",
    ...(wholeRunServers.length > 0
      ? [
        `- whole run, after the rounds: ${wholeRunServers.join(" and ")} started once each, ` +
        `every selected workload in turn (${
          workloads.filter((w) => w !== "e").join(", ")
        } with wrk for ${seconds} s each${
          workloads.includes("e") ? `, then e's ${DOWNLOADS_PER_ROUND} downloads` : ""
        }), then VmRSS and VmHWM`,
      ]
      : []),
    `- before each block both CPUs must be idle (< ${pct(QUIET_BUSY)} busy over ` +
    `${QUIET_WINDOW_MS} ms; waits of up to ${
      MAX_WAIT_PER_BLOCK_MS / 1000
    } s per block, ${maxWait} s ` +
    "in all); other processes' share of the two " +
    "CPUs is measured during every block from /proc/stat",
    `- load average at start: ${
      Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ")
    }`,
    `- nginx: master_process off (one process that is also the worker), worker_processes 1, ` +
    `sendfile on, tcp_nopush on, access_log off, keepalive_requests 1000000, ` +
    "`types { text/css css; }` (as Debian's mime.types has it)",
    "- nginx: gzip on (level 1, as Debian ships), gzip_vary on, gzip_types text/css " +
    "application/javascript text/javascript application/json image/svg+xml text/plain for CSS " +
    "(Debian ships gzip_types commented out; without it nginx compresses only text/html); " +
    "etag on (the default)",
    `- deno-serve: Deno.serve + Deno.stat + Deno.open + \`new Response(file.readable)\` with ` +
    `content-length and content-type (text/css for .css, else application/octet-stream): ` +
    "std's serveFile without the extras (no ETag, Range or compression, so no g or h)",
    `- python: \`python3 -m http.server\` (HTTP/1.0: one connection per request, logs every ` +
    "request to stderr; no ETag, Range or compression, so no g or h)",
    ...(skipped.length > 0 ? [`- skipped: ${skipped.join(", ")}`] : []),
  ].join("\n");
  log(header);
  log(`\nprogress (estimated ${Math.ceil(estimate / 60)} min):`);

  // -- one server start
  let startCount = 0;
  const failuresInARow = new Map<ServerName, number>();
  const disabled = new Set<ServerName>();

  async function start(spec: ServerSpec): Promise<{ child: Child; port: number; logFile: string }> {
    const port = freePort();
    if (!portIsFree(port)) throw new Error(`port ${port} is in use`);
    const logFile = `${tmp}/logs/${spec.name}-${++startCount}.log`;
    const child = children.spawn(
      spec.name,
      "sh",
      [
        "-c",
        'log=$1; shift; exec "$@" >"$log" 2>&1',
        "sh",
        logFile,
        "taskset",
        "-c",
        SERVER_CPU,
        ...spec.argv(port),
      ],
      { cwd: spec.cwd, stdout: "null", stderr: "null" },
    );
    try {
      await waitForPort(port, child, START_TIMEOUT_MS);
      const name = comm(child.pid);
      if (name === "sh" || name === "taskset") throw new Error(`pid ${child.pid} is still ${name}`);
      const cpus = procField(child.pid, "Cpus_allowed_list");
      if (cpus !== SERVER_CPU) throw new Error(`pinned to CPUs ${cpus}, not ${SERVER_CPU}`);
    } catch (err) {
      await children.stop(child, 500);
      let tail = "";
      try {
        // deno colours its error messages even into a file.
        tail = Deno.readTextFileSync(logFile).replace(ANSI_COLOURS, "").trim().split("\n")
          .slice(-5).join(" / ");
      } catch {
        // no log
      }
      throw new Error(
        `${err instanceof Error ? err.message : String(err)}${tail ? `: ${tail}` : ""}`,
      );
    }
    return { child, port, logFile };
  }

  /**
   * prepare gives the request header fields of `wl` for the server instance
   * on `port`: for g, f's fields plus If-None-Match with the ETag this very
   * instance sends for f (probed now). `skip` says why a plain server cannot
   * do the workload (no ETag for g, Range ignored for h); from minserve or
   * nginx, the same answers throw, so the block fails.
   */
  async function prepare(
    spec: ServerSpec,
    port: number,
    wl: Workload,
  ): Promise<{ headers: string[]; skip?: string }> {
    if (wl.revalidate) {
      const r = await probe(port, wl.path, { headers: wl.headers });
      if (r.status !== 200) {
        throw new Error(`${wl.path} with f's header fields: status ${r.status}, expected 200`);
      }
      const etag = r.headers.get("etag");
      if (etag === undefined || etag === "") {
        if (spec.plain) return { headers: [], skip: "no ETag" };
        throw new Error(
          `no ETag in the answer to f's request for ${wl.path}: nothing to revalidate with`,
        );
      }
      return { headers: [...wl.headers, `If-None-Match: ${etag}`] };
    }
    if (wl.status === 206 && spec.plain) {
      const r = await probe(port, wl.path, { headers: wl.headers });
      if (r.status === 200) {
        return { headers: [], skip: `Range ignored (200 with all ${r.bodyBytes} bytes)` };
      }
    }
    return { headers: wl.headers };
  }

  /**
   * validate checks the server's answers to a, c and d, and to `wl` itself
   * (sent with `headers`) when it is f, g or h; returns what is wrong, and
   * for f, g and h a note on what came back (f: the content coding chosen).
   */
  async function validate(
    port: number,
    wl: Workload,
    headers: string[],
  ): Promise<{ wrong: string[]; note?: string }> {
    const wrong: string[] = [];
    const failed = (what: string, err: unknown) =>
      wrong.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    const expect = async (path: string, status: number, bytes?: number) => {
      try {
        const r = await probe(port, path);
        if (r.status !== status) wrong.push(`${path}: status ${r.status}, expected ${status}`);
        if (bytes !== undefined && r.bodyBytes !== bytes) {
          wrong.push(`${path}: ${r.bodyBytes} body bytes, expected ${bytes}`);
        }
        if (status === 200) {
          const type = r.headers.get("content-type") ?? "";
          if (!type.startsWith("application/octet-stream")) {
            wrong.push(`${path}: content-type "${type}"`);
          }
          const coding = r.headers.get("content-encoding");
          if (coding !== undefined) wrong.push(`${path}: content-encoding ${coding}`);
        }
      } catch (err) {
        failed(path, err);
      }
    };
    await expect("/1k.bin", 200, FILES["1k.bin"]);
    await expect("/1m.bin", 200, FILES["1m.bin"]);
    await expect("/missing.bin", 404);
    if (wl.id !== "f" && wl.id !== "g" && wl.id !== "h" && wl.id !== "i") return { wrong };

    const path = wl.pageLoad ? `${wl.path}0.css` : wl.path;
    const at = `${wl.id} ${path}`;
    let note: string | undefined;
    try {
      const r = await probe(port, path, { headers });
      if (r.status !== wl.status) {
        wrong.push(`${at}: status ${r.status}, expected ${wl.status}`);
      } else if (wl.id === "i") {
        const coding = r.headers.get("content-encoding") ?? "identity";
        const decoded = await decodeBody(coding, r.body);
        if (!(r.headers.get("content-type") ?? "").startsWith("text/css")) {
          wrong.push(`${at}: content-type "${r.headers.get("content-type")}"`);
        } else if (decoded !== undefined && !sameBytes(decoded, firstAsset)) {
          wrong.push(`${at}: the body (${coding}) does not decode to the stylesheet`);
        }
        note = `Content-Encoding ${coding}, ${r.bodyBytes} B of ${ASSET_BYTES}`;
      } else if (wl.id === "f") {
        const type = r.headers.get("content-type") ?? "";
        if (!type.startsWith("text/css")) wrong.push(`${at}: content-type "${type}"`);
        const coding = r.headers.get("content-encoding") ?? "identity";
        if (coding !== "identity" && !/accept-encoding/i.test(r.headers.get("vary") ?? "")) {
          wrong.push(`${at}: content-encoding ${coding} without Vary: Accept-Encoding`);
        }
        const decoded = await decodeBody(coding, r.body);
        if (decoded === undefined) {
          note = `Content-Encoding ${coding}, ${r.bodyBytes} B (not decoded here)`;
        } else if (!sameBytes(decoded, css)) {
          wrong.push(`${at}: the body (${coding}, ${r.bodyBytes} B) does not decode to style.css`);
        } else {
          note = `Content-Encoding ${coding}, ${r.bodyBytes} B` +
            (coding === "identity" ? "" : ` (${(CSS_BYTES / r.bodyBytes).toFixed(1)}×)`);
        }
      } else if (wl.id === "g") {
        if (r.bodyBytes !== 0) wrong.push(`${at}: a 304 with ${r.bodyBytes} body bytes`);
        const inm = headers.find((h) => /^if-none-match:/i.test(h)) ?? "";
        note = `304 for ${inm.slice(inm.indexOf(":") + 1).trim()}`;
      } else {
        const expected = `bytes ${RANGE_FIRST}-${RANGE_LAST}/${FILES["1m.bin"]}`;
        const range = r.headers.get("content-range");
        if (range !== expected) {
          wrong.push(`${at}: content-range "${range}", expected "${expected}"`);
        }
        if (r.bodyBytes !== RANGE_BYTES) {
          wrong.push(`${at}: ${r.bodyBytes} body bytes, expected ${RANGE_BYTES}`);
        } else if (!sameBytes(r.body, rangeBody)) {
          wrong.push(`${at}: the body is not bytes ${RANGE_FIRST}-${RANGE_LAST} of the file`);
        }
        const coding = r.headers.get("content-encoding");
        if (coding !== undefined) wrong.push(`${at}: content-encoding ${coding}`);
      }
    } catch (err) {
      failed(at, err);
    }
    return note === undefined ? { wrong } : { wrong, note };
  }

  async function wrk(port: number, wl: Workload, secs: number, headers: string[]): Promise<string> {
    const out = await children.output(
      "taskset",
      [
        "-c",
        CLIENT_CPU,
        "wrk",
        "-t1",
        `-c${wl.connections}`,
        `-d${secs}s`,
        "--timeout",
        "2s",
        ...headers.flatMap((h) => ["-H", h]),
        ...(wl.pageLoad ? ["-s", pageLoadScript] : []),
        `http://127.0.0.1:${port}${wl.path}`,
      ],
      (secs + 30) * 1000,
    );
    if (out.timedOut) throw new Error("wrk did not finish in time");
    return out.stdout + out.stderr;
  }

  /** The errors of one wrk run of `wl`: socket errors, and answers of the wrong class. */
  function wrkErrors(wl: Workload, w: WrkResult): ErrorCounts {
    // wrk counts answers outside 2xx/3xx; f, g and h expect 2xx/3xx, d a 404.
    return { ...w.socketErrors, status: wl.status < 400 ? w.non2xx3xx : w.requests - w.non2xx3xx };
  }

  async function download(pid: number, port: number): Promise<Download> {
    const before = mem(pid).rssKiB;
    const peakReset = resetPeak(pid);
    const t0 = cpuTicks(pid);
    let sampled = before;
    const sampler = setInterval(() => {
      try {
        sampled = Math.max(sampled, mem(pid).rssKiB);
      } catch {
        // the process is gone; the caller notices
      }
    }, SAMPLE_MS);
    let out;
    try {
      out = await children.output(
        "taskset",
        [
          "-c",
          CLIENT_CPU,
          "curl",
          "-s",
          "-o",
          "/dev/null",
          "-w",
          "%{time_total} %{size_download} %{http_code}",
          `http://127.0.0.1:${port}/64m.bin`,
        ],
        300_000,
      );
    } finally {
      clearInterval(sampler);
    }
    const t1 = cpuTicks(pid);
    const after = mem(pid);
    const peak = Math.max(sampled, after.rssKiB, peakReset ? after.hwmKiB : 0);
    const [time, size, code] = out.stdout.trim().split(" ").map(Number) as [number, number, number];
    const result: Download = {
      mbps: size / time / 1e6,
      growthKiB: peak - before,
      peakKiB: peak,
      ticks: t1 - t0,
      bytes: size,
    };
    if (out.code !== 0 || code !== 200 || size !== FILES["64m.bin"]) {
      result.error = `curl exit ${out.code}, status ${code}, ${size} bytes`;
    }
    return result;
  }

  let waitBudgetMs = maxWait * 1000;
  async function measure(server: ServerName, wl: Workload, round: number): Promise<Block> {
    const gate = await waitQuiet(Math.min(MAX_WAIT_PER_BLOCK_MS, waitBudgetMs));
    waitBudgetMs = Math.max(0, waitBudgetMs - gate.waitedMs);
    const block: Block = {
      server,
      workload: wl.id,
      round,
      warnings: [],
      waitedMs: gate.waitedMs,
      quiet: gate.quiet,
    };
    let running;
    try {
      running = await start(specs[server]);
      failuresInARow.set(server, 0);
    } catch (err) {
      block.failure = `failed to start: ${err instanceof Error ? err.message : String(err)}`;
      const n = (failuresInARow.get(server) ?? 0) + 1;
      failuresInARow.set(server, n);
      if (n >= 2) {
        disabled.add(server);
        block.failure += " (skipped from now on)";
      }
      return block;
    }
    const { child, port, logFile } = running;
    const pid = child.pid;
    try {
      await sleep(SETTLE_MS);
      block.idleKiB = mem(pid).rssKiB;
      const prepared = await prepare(specs[server], port, wl);
      if (prepared.skip !== undefined) {
        block.skipped = prepared.skip;
        return block;
      }
      const checked = await validate(port, wl, prepared.headers);
      block.warnings.push(...checked.wrong);
      if (checked.note !== undefined) block.note = checked.note;
      if (wl.id === "e") {
        block.downloads = [];
        const meter = startMeter();
        const t0 = cpuTicks(pid);
        for (let i = 0; i < DOWNLOADS_PER_ROUND; i++) {
          if (child.exit !== undefined) break;
          block.downloads.push(await download(pid, port));
        }
        block.other = meter(cpuTicks(pid) - t0);
      } else {
        if (warmup > 0) await wrk(port, wl, warmup, prepared.headers);
        const peakReset = resetPeak(pid);
        const meter = startMeter();
        const t0 = cpuTicks(pid);
        const output = await wrk(port, wl, seconds, prepared.headers);
        if (child.exit !== undefined) throw new Error("the server exited during the block");
        const t1 = cpuTicks(pid);
        block.other = meter(t1 - t0);
        const after = mem(pid);
        block.afterKiB = after.rssKiB;
        if (peakReset) block.peakKiB = after.hwmKiB;
        if (verbose) log(output.trimEnd().replace(/^/gm, "      "));
        const w: WrkResult = parseWrk(output);
        block.rps = w.requestsPerSec;
        block.requests = w.requests;
        block.latency = w.latencyAvg;
        if (w.requests > 0) {
          block.cpuUsPerReq = ((t1 - t0) * 1e6 / ticksPerSecond) / w.requests;
          if (w.bytesRead !== undefined) block.bytesPerResponse = w.bytesRead / w.requests;
        }
        block.errors = wrkErrors(wl, w);
        const perResponse = block.bytesPerResponse;
        if (wl.maxWireBytes !== undefined && perResponse !== undefined) {
          if (perResponse > wl.maxWireBytes) {
            block.warnings.push(
              `${perResponse.toFixed(0)} bytes on the wire per response, more than a ` +
                `${wl.status} takes (≤ ${wl.maxWireBytes}): some answers were not ${wl.status}`,
            );
          }
        }
      }
      if (child.exit !== undefined) throw new Error("the server exited during the block");
      block.afterKiB = mem(pid).rssKiB;
      if (block.downloads !== undefined && block.downloads.length > 0) {
        block.peakKiB = Math.max(...block.downloads.map((d) => d.peakKiB));
        const ticks = block.downloads.reduce((sum, d) => sum + d.ticks, 0);
        const bytes = block.downloads.reduce((sum, d) => sum + d.bytes, 0);
        if (bytes > 0) block.cpuUsPerMiB = (ticks * 1e6 / ticksPerSecond) / (bytes / MiB);
      }
    } catch (err) {
      block.failure = err instanceof Error ? err.message : String(err);
    } finally {
      await children.stop(child);
      if (block.failure === undefined) {
        try {
          Deno.removeSync(logFile);
        } catch {
          // none
        }
      }
    }
    return block;
  }

  function describe(b: Block): string {
    const head = `  [r${b.round}] ${b.workload} ${b.server.padEnd(10)}`;
    const waited = b.waitedMs >= 1000
      ? `; waited ${(b.waitedMs / 1000).toFixed(0)} s for quiet CPUs${b.quiet ? "" : " (in vain)"}`
      : "";
    if (b.failure !== undefined) return `${head} FAILED: ${b.failure}${waited}`;
    if (b.skipped !== undefined) return `${head} skipped: ${b.skipped}`;
    const o = b.other;
    const other = o === undefined
      ? ""
      : `; busy ${pct(o.serverBusy)}/${pct(o.clientBusy)}, other load ${pct(o.server)}/${
        pct(o.client)
      }${o.steal >= 0.01 ? `, steal ${pct(o.steal)}` : ""}${disturbed(b) ? " DISTURBED" : ""}`;
    const rss = `rss ${mib(b.idleKiB)}→${mib(b.afterKiB)} MiB${other}${waited}`;
    const warn = b.warnings.length > 0 ? `; WARNING: ${b.warnings.join("; ")}` : "";
    if (b.workload === "e") {
      const d = b.downloads ?? [];
      const errs = d.filter((x) => x.error).map((x) => x.error);
      return `${head} ${d.map((x) => fixed(x.mbps, 0)).join(", ")} MB/s; growth ${
        d.map((x) => mib(x.growthKiB)).join(", ")
      } MiB; ${b.cpuUsPerMiB === undefined ? "–" : fixed(b.cpuUsPerMiB, 0)} µs/MiB; ${rss}${
        errs.length > 0 ? `; ERRORS: ${errs.join("; ")}` : ""
      }${warn}`;
    }
    const e = b.errors!;
    const errs = errorTotal(e) === 0 ? "errors 0" : `ERRORS ${formatErrors(e)}`;
    return `${head} ${fixed(b.rps!, 0).padStart(7)} req/s, ${
      b.cpuUsPerReq === undefined ? "–" : fixed(b.cpuUsPerReq, 1)
    } µs/req, ${
      b.bytesPerResponse === undefined ? "?" : fixed(b.bytesPerResponse, 0)
    } B/resp, latency ${b.latency}, ${errs}, ${
      b.note === undefined ? "" : `${b.note}; `
    }${rss}${warn}`;
  }

  /**
   * wholeRun starts `server` once and runs every selected workload against
   * that one process in turn (the wrk ones in order, then e's downloads),
   * then reads VmRSS and the peak. download() resets VmHWM for its own peak,
   * so the peak is taken before each download too.
   */
  async function wholeRun(server: ServerName): Promise<WholeRun> {
    const gate = await waitQuiet(Math.min(MAX_WAIT_PER_BLOCK_MS, waitBudgetMs));
    waitBudgetMs = Math.max(0, waitBudgetMs - gate.waitedMs);
    const run: WholeRun = { server, problems: [], steps: [] };
    let running;
    try {
      running = await start(specs[server]);
    } catch (err) {
      run.failure = `failed to start: ${err instanceof Error ? err.message : String(err)}`;
      return run;
    }
    const { child, port, logFile } = running;
    const pid = child.pid;
    try {
      await sleep(SETTLE_MS);
      run.idleKiB = mem(pid).rssKiB;
      let peakKiB = 0;
      const order = [...workloads.filter((w) => w !== "e"), ...workloads.filter((w) => w === "e")];
      for (const id of order) {
        const wl = WORKLOADS[id];
        if (id === "e") {
          for (let i = 0; i < DOWNLOADS_PER_ROUND && child.exit === undefined; i++) {
            peakKiB = Math.max(peakKiB, mem(pid).hwmKiB);
            const d = await download(pid, port);
            peakKiB = Math.max(peakKiB, d.peakKiB);
            if (d.error !== undefined) run.problems.push(`e: ${d.error}`);
          }
        } else {
          const prepared = await prepare(specs[server], port, wl);
          if (prepared.skip !== undefined) {
            run.problems.push(`${id} skipped: ${prepared.skip}`);
            continue;
          }
          const w = parseWrk(await wrk(port, wl, seconds, prepared.headers));
          const errors = wrkErrors(wl, w);
          if (errorTotal(errors) > 0) {
            run.problems.push(`${id}: ${formatErrors(errors)} of ${w.requests}`);
          }
        }
        if (child.exit !== undefined) throw new Error(`the server exited during ${id}`);
        run.steps.push({ workload: id, rssKiB: mem(pid).rssKiB });
      }
      const end = mem(pid);
      run.afterKiB = end.rssKiB;
      run.peakKiB = Math.max(peakKiB, end.hwmKiB);
    } catch (err) {
      run.failure = err instanceof Error ? err.message : String(err);
    } finally {
      await children.stop(child);
      if (run.failure === undefined) {
        try {
          Deno.removeSync(logFile);
        } catch {
          // none
        }
      }
    }
    return run;
  }

  // -- the rounds
  const blocks: Block[] = [];
  const startedAt = Date.now();
  for (let round = 1; round <= rounds; round++) {
    const shift = (round - 1) % servers.length;
    const order = [...servers.slice(shift), ...servers.slice(0, shift)];
    for (const id of workloads) {
      for (const server of order) {
        if (disabled.has(server)) continue;
        const block = await measure(server, WORKLOADS[id], round);
        blocks.push(block);
        log(describe(block));
      }
    }
  }

  // -- the whole run: one process per server, every workload in turn
  const wholeRuns: WholeRun[] = [];
  for (const server of wholeRunServers) {
    if (disabled.has(server)) continue;
    const run = await wholeRun(server);
    wholeRuns.push(run);
    const steps = run.steps.map((x) => `${x.workload} ${mib(x.rssKiB)}`).join(", ");
    log(
      `  [whole run] ${server.padEnd(10)} ` +
        (run.failure !== undefined
          ? `FAILED: ${run.failure}${steps ? ` (after ${steps} MiB)` : ""}`
          : `rss idle ${mib(run.idleKiB)} → ${steps} MiB; peak ${mib(run.peakKiB)} MiB`) +
        (run.problems.length > 0 ? `; ${run.problems.join("; ")}` : ""),
    );
  }
  log(`  done in ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);

  // -- the report
  const ok = (s: ServerName, w: WorkloadId) =>
    blocks.filter((b) =>
      b.server === s && b.workload === w && b.failure === undefined && b.skipped === undefined
    );
  /** Whether every block of (s, w) was skipped: the server cannot do w. */
  const cannot = (s: ServerName, w: WorkloadId) => {
    const all = blocks.filter((b) => b.server === s && b.workload === w);
    return all.length > 0 && all.every((b) => b.skipped !== undefined);
  };
  /** A table cell: "skipped" when the server cannot do the workload. */
  const cell = (s: ServerName, w: WorkloadId, text: string) => (cannot(s, w) ? "skipped" : text);
  const downloads = (s: ServerName) => ok(s, "e").flatMap((b) => b.downloads ?? []);
  const erred = (s: ServerName, w: WorkloadId) =>
    w === "e"
      ? downloads(s).some((d) => d.error !== undefined)
      : ok(s, w).some((b) => errorTotal(b.errors!) > 0);
  const failed = (s: ServerName, w: WorkloadId) =>
    blocks.some((b) => b.server === s && b.workload === w && b.failure !== undefined);
  const shaken = (s: ServerName, w: WorkloadId) => ok(s, w).some(disturbed);
  const mark = (s: ServerName, w: WorkloadId) =>
    (erred(s, w) ? " †" : "") + (failed(s, w) ? " ‡" : "") + (shaken(s, w) ? " *" : "");
  const has = (w: WorkloadId) => workloads.includes(w);
  const wrkIds = workloads.filter((w) => w !== "e");

  const report: string[] = ["", "## Results", ""];
  report.push(
    `Requests/s: median (min–max) over ${rounds} round(s) of ${seconds} s; ` +
      "server CPU µs per request from /proc/PID/stat" +
      (has("e")
        ? `; e: MB/s (10^6 B/s) over ${DOWNLOADS_PER_ROUND}×${rounds} downloads; e RSS growth: ` +
          "peak VmRSS during a download minus VmRSS just before it."
        : "."),
    "",
  );
  const mainHeader = ["server"];
  for (const w of wrkIds) mainHeader.push(`${w}: ${WORKLOADS[w].title} (req/s)`);
  if (has("e")) mainHeader.push("e: 64 MB (MB/s)");
  if (has("a")) mainHeader.push("a µs/req");
  if (has("d")) mainHeader.push("d µs/req");
  if (has("e")) mainHeader.push("e peak RSS growth (MiB)");
  const mainRows = servers.map((s) => {
    const row: string[] = [s];
    for (const w of wrkIds) row.push(cell(s, w, stat(ok(s, w).map((b) => b.rps!), 0) + mark(s, w)));
    if (has("e")) row.push(stat(downloads(s).map((d) => d.mbps), 0) + mark(s, "e"));
    const cpu = (w: WorkloadId) =>
      stat(ok(s, w).flatMap((b) => (b.cpuUsPerReq === undefined ? [] : [b.cpuUsPerReq])), 1);
    if (has("a")) row.push(cpu("a"));
    if (has("d")) row.push(cpu("d"));
    if (has("e")) row.push(stat(downloads(s).map((d) => d.growthKiB / 1024), 1));
    return row;
  });
  report.push(table(mainHeader, mainRows));
  const marks = mainRows.flat().join(" ");
  if (marks.includes("†")) report.push("", "† some responses were errors: see the error table");
  if (marks.includes("‡")) report.push("", "‡ some blocks failed: see the problems below");
  if (marks.includes("*")) {
    report.push(
      "",
      `* in some blocks other processes took more than ${pct(DISTURBED)} of the server's or ` +
        `the client's CPU, or the hypervisor stole more than ${pct(DISTURBED_STEAL)}: see below`,
    );
  }

  // Ratios: of the medians, with the range of the per-round ratios.
  const value = (s: ServerName, w: WorkloadId, round?: number): number[] =>
    w === "e"
      ? ok(s, "e").filter((b) => round === undefined || b.round === round)
        .flatMap((b) => (b.downloads ?? []).map((d) => d.mbps))
      : ok(s, w).filter((b) => round === undefined || b.round === round).map((b) => b.rps!);
  const ratio = (s: ServerName, base: ServerName, w: WorkloadId): string => {
    const x = value(s, w);
    const y = value(base, w);
    if (x.length === 0 || y.length === 0) return "–";
    const perRound: number[] = [];
    for (let r = 1; r <= rounds; r++) {
      const xr = value(s, w, r);
      const yr = value(base, w, r);
      if (xr.length > 0 && yr.length > 0) perRound.push(median(xr) / median(yr));
    }
    const m = (median(x) / median(y)).toFixed(2);
    return perRound.length > 1
      ? `${m} (${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)})`
      : m;
  };
  const ratioRows: string[][] = [];
  for (const base of ["nginx", "deno-serve"] as const) {
    if (servers.includes("minserve") && servers.includes(base)) {
      ratioRows.push([
        `minserve / ${base}`,
        ...workloads.map((w) => cell(base, w, cell("minserve", w, ratio("minserve", base, w)))),
      ]);
    }
  }
  if (ratioRows.length > 0) {
    report.push(
      "",
      "Throughput ratios (req/s; e: MB/s): ratio of the medians (range of the per-round ratios)",
      "",
      table(["ratio", ...workloads.map((w) => `${w}: ${WORKLOADS[w].title}`)], ratioRows),
    );
  }

  // Server CPU for every workload.
  const cpuHeader = ["server"];
  for (const w of wrkIds) cpuHeader.push(`${w} µs/${w === "b" ? "conn+req" : "req"}`);
  if (has("c")) cpuHeader.push("c µs/MiB");
  if (has("e")) cpuHeader.push("e µs/MiB");
  const cpuRows = servers.map((s) => {
    const row: string[] = [s];
    const per = (w: WorkloadId) =>
      ok(s, w).flatMap((b) => (b.cpuUsPerReq === undefined ? [] : [b.cpuUsPerReq]));
    for (const w of wrkIds) row.push(cell(s, w, stat(per(w), 1)));
    if (has("c")) row.push(stat(per("c"), 0)); // 1 MiB per request
    if (has("e")) {
      row.push(
        stat(ok(s, "e").flatMap((b) => (b.cpuUsPerMiB === undefined ? [] : [b.cpuUsPerMiB])), 0),
      );
    }
    return row;
  });
  report.push(
    "",
    "Server CPU (utime+stime of the server process over the block, per request; c per request = " +
      `per MiB; e per MiB over a block's ${DOWNLOADS_PER_ROUND} downloads; clock tick ` +
      `${1000 / ticksPerSecond} ms)`,
    "",
    table(cpuHeader, cpuRows),
  );

  // Bytes on the wire.
  if (wrkIds.length > 0) {
    const bytesRows = servers.map((s) => [
      s,
      ...wrkIds.map((w) =>
        cell(
          s,
          w,
          stat(
            ok(s, w).flatMap((b) => (b.bytesPerResponse === undefined ? [] : [b.bytesPerResponse])),
            0,
          ),
        )
      ),
    ]);
    const codingsOf = (w: WorkloadId) =>
      servers.flatMap((s) => {
        const notes = [...new Set(ok(s, w).flatMap((b) => (b.note === undefined ? [] : [b.note])))];
        return notes.length > 0 ? [`${s} ${notes.join(" / ")}`] : [];
      });
    const codings = codingsOf("f");
    const pageCodings = codingsOf("i");
    report.push(
      "",
      "Bytes on the wire per response (bytes wrk read, status line, header fields and body, " +
        "divided by the responses; median (min–max) over the rounds; wrk prints the total to " +
        "three digits or so)",
      "",
      table(["server", ...wrkIds.map((w) => `${w}: ${WORKLOADS[w].title}`)], bytesRows),
      ...(codings.length > 0 ? ["", `f, as probed before the blocks: ${codings.join("; ")}.`] : []),
      ...(pageCodings.length > 0
        ? ["", `i, /assets/0.css as probed before the blocks: ${pageCodings.join("; ")}.`]
        : []),
    );
  }

  const busyRows = servers.map((s) => [
    s,
    ...workloads.map((w) => {
      const o = ok(s, w).flatMap((b) => (b.other ? [b.other] : []));
      return cell(
        s,
        w,
        o.length === 0
          ? "–"
          : `${pct(median(o.map((x) => x.serverBusy)))} / ${
            pct(median(o.map((x) => x.clientBusy)))
          }`,
      );
    }),
  ]);
  report.push(
    "",
    "CPU use during the blocks, server / client (wrk or curl, with this script): share of " +
      "their pinned CPU, median; a client near 100% means the client is the limit",
    "",
    table(["server", ...workloads], busyRows),
  );

  // Memory.
  const memHeader = ["server", "idle RSS"];
  for (const w of workloads) memHeader.push(`after ${w}`);
  memHeader.push("peak in any block", "after last block");
  const memRows = servers.map((s) => {
    const all = blocks.filter((b) =>
      b.server === s && b.failure === undefined && b.skipped === undefined
    );
    const row = [s, stat(all.flatMap((b) => (b.idleKiB ? [b.idleKiB / 1024] : [])), 1)];
    for (const w of workloads) {
      row.push(cell(s, w, stat(ok(s, w).map((b) => b.afterKiB! / 1024), 1)));
    }
    const peaks = all.flatMap((b) => (b.peakKiB ? [b.peakKiB] : []));
    row.push(peaks.length > 0 ? mib(Math.max(...peaks)) : "–");
    const last = all.at(-1);
    row.push(last ? `${mib(last.afterKiB)} (${last.workload}, r${last.round})` : "–");
    return row;
  });
  report.push(
    "",
    "Memory (VmRSS, MiB; median (min–max) over the blocks; each block is a fresh server; " +
      '"peak" is VmHWM reset at the block\'s start)',
    "",
    table(memHeader, memRows),
  );

  // Memory of one long-lived process.
  if (wholeRuns.length > 0) {
    const order = wholeRuns[0]!.steps.map((x) => x.workload).join(", ");
    const wholeRows = wholeRuns.map((r) => [
      r.server,
      mib(r.idleKiB),
      r.failure === undefined ? mib(r.afterKiB) : "failed",
      r.failure === undefined ? mib(r.peakKiB) : "–",
      r.steps.map((x) => `${x.workload} ${mib(x.rssKiB)}`).join(", ") || "–",
    ]);
    report.push(
      "",
      "Resident memory after the whole run (one process, every workload in turn" +
        `${order ? `: ${order}` : ""}, wrk ${seconds} s each${
          has("e") ? `, e: ${DOWNLOADS_PER_ROUND} downloads` : ""
        }; MiB; peak is VmHWM since the process started)`,
      "",
      table(["server", "idle RSS", "RSS after", "peak", "RSS after each workload"], wholeRows),
    );
    const troubles = wholeRuns.filter((r) => r.failure !== undefined || r.problems.length > 0);
    for (const r of troubles) {
      report.push(
        "",
        `- whole run ${r.server}: ${[...(r.failure ? [r.failure] : []), ...r.problems].join("; ")}`,
      );
    }
  }

  // Errors.
  const errRows = servers.map((s) => {
    const row: string[] = [s];
    for (const w of wrkIds) {
      const sum: ErrorCounts = { connect: 0, read: 0, write: 0, timeout: 0, status: 0 };
      let requests = 0;
      for (const b of ok(s, w)) {
        for (const k of Object.keys(sum) as (keyof ErrorCounts)[]) sum[k] += b.errors![k];
        requests += b.requests!;
      }
      const nFailed = blocks.filter((b) => b.server === s && b.workload === w && b.failure).length;
      row.push(cell(
        s,
        w,
        (ok(s, w).length === 0
          ? "no data"
          : errorTotal(sum) === 0
          ? "0"
          : `${formatErrors(sum)} of ${requests}`) +
          (nFailed > 0 ? `; ${nFailed} block(s) failed` : ""),
      ));
    }
    if (has("e")) {
      const bad = downloads(s).filter((d) => d.error !== undefined).length;
      const nFailed = blocks.filter((b) =>
        b.server === s && b.workload === "e" && b.failure
      ).length;
      row.push(
        `${bad} of ${downloads(s).length} downloads` +
          (nFailed > 0 ? `; ${nFailed} block(s) failed` : ""),
      );
    }
    return row;
  });
  report.push(
    "",
    "Errors summed over the rounds (socket errors by kind; status: responses other than 2xx/3xx, " +
      "or for d other than non-2xx/3xx, as wrk counts them; the exact status of f, g and h " +
      "(200, 304, 206) is checked by a probe before each block, and g and h blocks with more " +
      "bytes per response than a 304 or a 32 KiB 206 takes are listed under the problems)",
    "",
    // The rows give the wrk workloads first, then e's downloads.
    table(["server", ...wrkIds, ...(has("e") ? ["e"] : [])], errRows),
  );

  // Other load on the machine.
  const measured = blocks.filter((b) => b.other !== undefined);
  const shakenBlocks = measured.filter(disturbed);
  const waitedBlocks = blocks.filter((b) => b.waitedMs >= 1000);
  if (measured.length > 0) {
    const others = measured.map((b) => b.other!);
    report.push(
      "",
      `Other load during the blocks (share of the CPU taken by other processes; median, max): ` +
        `server CPU ${pct(median(others.map((o) => o.server)))}, ` +
        `${pct(Math.max(...others.map((o) => o.server)))}; client CPU ` +
        `${pct(median(others.map((o) => o.client)))}, ` +
        `${pct(Math.max(...others.map((o) => o.client)))}; steal ` +
        `${pct(median(others.map((o) => o.steal)))}, ${
          pct(Math.max(...others.map((o) => o.steal)))
        }. ` +
        `${shakenBlocks.length} of ${measured.length} blocks above ${pct(DISTURBED)} ` +
        `(steal ${pct(DISTURBED_STEAL)})` +
        (shakenBlocks.length > 0
          ? `: ${
            shakenBlocks.map((b) =>
              `r${b.round} ${b.workload} ${b.server} (${pct(b.other!.server)}/${
                pct(b.other!.client)
              }, steal ${pct(b.other!.steal)})`
            ).join(", ")
          }`
          : "") +
        `. ${waitedBlocks.length} block(s) waited ≥ 1 s for quiet CPUs` +
        (waitedBlocks.some((b) => !b.quiet)
          ? `, ${waitedBlocks.filter((b) => !b.quiet).length} in vain`
          : "") +
        ".",
    );
  }

  const skippedBlocks = new Map<string, string[]>();
  for (const b of blocks) {
    if (b.skipped === undefined) continue;
    const key = `${b.workload} ${b.server}: ${b.skipped}`;
    skippedBlocks.set(key, [...(skippedBlocks.get(key) ?? []), `r${b.round}`]);
  }
  if (skippedBlocks.size > 0) {
    report.push(
      "",
      `Skipped (the server lacks what the workload needs): ${
        [...skippedBlocks].map(([k, r]) => `${k} (${r.join(", ")})`).join("; ")
      }.`,
    );
  }

  const warnings = blocks.filter((b) => b.warnings.length > 0 || b.failure !== undefined);
  if (warnings.length > 0) {
    report.push("", "Problems:", "");
    for (const b of warnings) {
      report.push(
        `- r${b.round} ${b.workload} ${b.server}: ${
          [...(b.failure ? [b.failure] : []), ...b.warnings].join("; ")
        }`,
      );
    }
  }
  log(report.join("\n"));
  return 0;
}

// ---------------------------------------------------------------------------
// The stylesheet

/** Custom properties of the stylesheet, defined in :root and used as colours. */
const CSS_VARIABLES = ["primary", "secondary", "accent", "muted", "surface", "border", "text"];
const CSS_COMPONENTS = [
  "btn",
  "card",
  "nav",
  "navbar",
  "alert",
  "badge",
  "modal",
  "dropdown",
  "form-control",
  "table",
  "list-group",
  "toast",
  "tooltip",
  "breadcrumb",
  "pagination",
  "progress",
  "spinner",
  "avatar",
  "tag",
  "footer",
  "hero",
  "sidebar",
  "tabs",
  "accordion",
  "header",
  "search",
  "menu",
  "chip",
  "banner",
  "pricing",
  "feature",
  "gallery",
];
const CSS_PARTS = [
  "__title",
  "__body",
  "__header",
  "__footer",
  "__icon",
  "__item",
  "__link",
  "-lg",
  "-sm",
  "--primary",
  "--secondary",
  "--danger",
  "--outline",
  "--active",
];
const CSS_STATES = [
  "",
  "",
  "",
  ":hover",
  ":focus-visible",
  ":disabled",
  "::before",
  ":not(:last-child)",
  ".is-open",
  " > a",
  " + ",
  ":first-child",
];
/** Declarations come in the groups, and the order, authors write them in. */
const CSS_GROUPS = [
  ["display", "align-items", "justify-content", "gap", "flex"],
  ["position", "top", "left", "z-index"],
  ["width", "max-width", "height", "min-height", "overflow"],
  ["margin", "margin-top", "margin-bottom", "padding", "padding-left", "padding-right"],
  [
    "font-family",
    "font-size",
    "font-weight",
    "line-height",
    "text-align",
    "text-decoration",
    "white-space",
  ],
  ["color", "background-color", "border", "border-radius", "box-shadow"],
  ["opacity", "transform", "transition", "cursor"],
  ["display", "grid-template-columns", "gap"],
];

/**
 * styleCss generates the stylesheet of f and g: `size` bytes of ASCII CSS
 * that reads like a site's own (custom properties, base rules, components
 * with their parts and states, media queries, utilities at the end), the
 * same for every run (a fixed-seed PRNG). Its values come from a small
 * design system, so it compresses as hand-written CSS does, about 5–6×
 * with gzip -6, not like random bytes nor like one rule repeated.
 */
function styleCss(size: number, seed = 0x5eed): string {
  let state = seed >>> 0;
  /** mulberry32 */
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const palette = Array.from(
    { length: 8 },
    () => `#${int(0, 0xffffff).toString(16).padStart(6, "0")}`,
  );
  const shades = Array.from(
    { length: 4 },
    () => `rgba(${int(0, 255)}, ${int(0, 255)}, ${int(0, 255)}, ${(int(1, 9) / 10).toFixed(1)})`,
  );
  const colour = () =>
    random() < 0.45
      ? pick(palette)
      : random() < 0.75
      ? `var(--${pick(CSS_VARIABLES)})`
      : pick(shades);
  const length = () =>
    pick([
      "0",
      "0.25rem",
      "0.5rem",
      "0.75rem",
      "1rem",
      "1.5rem",
      "2rem",
      "1px",
      "2px",
      "4px",
      "8px",
      "12px",
      "16px",
      "24px",
      "1em",
      "100%",
      "50%",
    ]);
  const box = () => Array.from({ length: int(1, 4) }, length).join(" ");
  const properties: Record<string, () => string> = {
    "color": colour,
    "background-color": colour,
    "border": () => `${int(1, 3)}px ${pick(["solid", "dashed", "dotted"])} ${colour()}`,
    "border-radius": () => pick(["0.25rem", "0.375rem", "0.5rem", "50%", `${int(2, 12)}px`]),
    "box-shadow": () => `0 ${int(0, 8)}px ${int(2, 24)}px ${colour()}`,
    "margin": box,
    "padding": box,
    "margin-top": length,
    "margin-bottom": length,
    "padding-left": length,
    "padding-right": length,
    "width": length,
    "max-width": () => pick(["100%", `${int(20, 120) * 10}px`, "none", `${int(20, 80)}rem`]),
    "height": length,
    "min-height": length,
    "overflow": () => pick(["hidden", "auto", "visible"]),
    "display": () => pick(["block", "inline-block", "flex", "inline-flex", "grid", "none"]),
    "align-items": () => pick(["center", "flex-start", "flex-end", "stretch", "baseline"]),
    "justify-content": () => pick(["center", "space-between", "flex-start", "flex-end"]),
    "gap": () => pick(["0.25rem", "0.5rem", "0.75rem", "1rem", "1.5rem", "2rem"]),
    "flex": () => pick(["1 1 auto", "0 0 auto", "1", `${int(1, 3)} 0 ${int(0, 4) * 25}%`]),
    "grid-template-columns": () => `repeat(${int(2, 12)}, minmax(0, 1fr))`,
    "position": () => pick(["relative", "absolute", "fixed", "sticky", "static"]),
    "top": length,
    "left": length,
    "z-index": () => String(pick([1, 2, 10, 100, 1000, 1020, 1030, 1050, 1070])),
    "font-family": () =>
      pick([
        'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
        'SFMono-Regular, Menlo, Monaco, Consolas, "Liberation Mono", monospace',
        "inherit",
      ]),
    "font-size": () =>
      pick(["0.75rem", "0.875rem", "1rem", "1.25rem", "1.5rem", "2rem", `${int(11, 32)}px`]),
    "font-weight": () => pick(["400", "500", "600", "700", "bold", "normal"]),
    "line-height": () => pick(["1", "1.2", "1.25", "1.5", "1.75", "normal"]),
    "text-align": () => pick(["left", "center", "right", "justify"]),
    "text-decoration": () => pick(["none", "underline", "line-through"]),
    "white-space": () => pick(["nowrap", "normal", "pre-wrap"]),
    "opacity": () => (int(0, 10) / 10).toString(),
    "transform": () =>
      pick([
        `translateY(${int(-8, 8)}px)`,
        `scale(${(int(90, 110) / 100).toFixed(2)})`,
        `rotate(${int(0, 360)}deg)`,
      ]),
    "transition": () =>
      `${pick(["color", "background-color", "opacity", "transform", "all"])} ${int(1, 6) * 50}ms ${
        pick(["ease", "ease-in-out", "linear"])
      }`,
    "cursor": () => pick(["pointer", "default", "not-allowed"]),
  };
  /** A design system reuses a few values per property, and now and then adds one. */
  const used = new Map<string, string[]>();
  const value = (property: string) => {
    const seen = used.get(property) ?? [];
    used.set(property, seen);
    if (seen.length > 0 && random() < 0.7) return pick(seen);
    const v = properties[property]!();
    seen.push(v);
    return v;
  };
  const rule = (selector: string, indent = "") => {
    const lines: string[] = [];
    const groups = int(1, 2);
    for (let g = 0; g < groups; g++) {
      const group = pick(CSS_GROUPS);
      const from = random() < 0.6 ? 0 : int(1, Math.max(1, group.length - 2));
      for (const p of group.slice(from, from + int(2, group.length - from))) {
        if (!lines.some((l) => l.startsWith(`${indent}  ${p}:`))) {
          lines.push(`${indent}  ${p}: ${value(p)};`);
        }
      }
    }
    return `${indent}${selector} {\n${lines.join("\n")}\n${indent}}\n`;
  };

  let css = "/*!\n * style.css - site styles (generated by bench/load.ts)\n" +
    " * Layout, components and utilities.\n */\n" +
    `:root {\n${CSS_VARIABLES.map((v, i) => `  --${v}: ${palette[i]};`).join("\n")}\n` +
    "  --radius: 0.375rem;\n" +
    '  --font-sans: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;\n}\n\n' +
    "*,\n*::before,\n*::after {\n  box-sizing: border-box;\n}\n\n" +
    "html {\n  -webkit-text-size-adjust: 100%;\n  line-height: 1.5;\n}\n\n" +
    "body {\n  margin: 0;\n  font-family: var(--font-sans);\n  color: var(--text);\n" +
    "  background-color: var(--surface);\n}\n\n";
  for (let n = 0; css.length < size - 600; n++) {
    const component = CSS_COMPONENTS[n % CSS_COMPONENTS.length]!;
    const part = random() < 0.35 ? "" : pick(CSS_PARTS);
    const state = pick(CSS_STATES);
    const selector = `.${component}${part}${state}${state === " + " ? `.${component}` : ""}`;
    if (n % 11 === 10) {
      const width = pick([576, 768, 992, 1200, 1400]);
      css += `\n@media (min-width: ${width}px) {\n${rule(selector, "  ")}}\n\n`;
    } else {
      const also = random() < 0.2 ? `.${pick(CSS_COMPONENTS)}${pick(CSS_PARTS)},\n` : "";
      css += `${also}${rule(selector)}\n`;
    }
  }
  // Utilities, as many stylesheets end with, while they fit; then blanks up to `size`.
  const utilities = ["margin", "padding", "margin-top", "gap"];
  const end = "\n/* end of style.css */\n";
  for (let i = 0;; i++) {
    const property = utilities[Math.floor(i / 6) % utilities.length]!;
    const name = property.split("-").map((w) => w[0]).join("");
    const line = `.${name}-${i % 6} { ${property}: ${
      i % 6 === 0 ? "0" : `${(i % 6) * 0.25}rem`
    } !important; }\n`;
    if (css.length + line.length + end.length > size) break;
    css += line;
  }
  return css + " ".repeat(size - css.length - end.length) + end;
}

function pct(share: number): string {
  return `${(share * 100).toFixed(0)}%`;
}

function disturbed(b: Block): boolean {
  const o = b.other;
  return o !== undefined &&
    (o.server > DISTURBED || o.client > DISTURBED || o.steal > DISTURBED_STEAL);
}

const SERVER_CPU_INDEX = Number(SERVER_CPU);
const CLIENT_CPU_INDEX = Number(CLIENT_CPU);

/**
 * startMeter snapshots /proc/stat; the function it returns tells what share of
 * the two CPUs' time since then went to processes other than the server
 * (`serverTicks`), this script and its finished children (wrk, curl).
 */
function startMeter(): (serverTicks: number) => Interference {
  const a = cpuTimes();
  const own0 = ownTicks();
  return (serverTicks) => {
    const b = cpuTimes();
    const own = ownTicks() - own0;
    const delta = (i: number, k: keyof CpuTimes) => b[i]![k] - a[i]![k];
    const share = (i: number, own: number) =>
      Math.max(0, delta(i, "process") - own) / Math.max(1, delta(i, "total"));
    return {
      server: share(SERVER_CPU_INDEX, serverTicks),
      client: share(CLIENT_CPU_INDEX, own),
      serverBusy: serverTicks / Math.max(1, delta(SERVER_CPU_INDEX, "total")),
      clientBusy: own / Math.max(1, delta(CLIENT_CPU_INDEX, "total")),
      steal: Math.max(
        delta(SERVER_CPU_INDEX, "steal") / Math.max(1, delta(SERVER_CPU_INDEX, "total")),
        delta(CLIENT_CPU_INDEX, "steal") / Math.max(1, delta(CLIENT_CPU_INDEX, "total")),
      ),
    };
  };
}

/**
 * waitQuiet watches the two CPUs in windows of QUIET_WINDOW_MS until both were
 * less than QUIET_BUSY busy with anything but this script, or `maxWaitMs` has
 * passed.
 */
async function waitQuiet(maxWaitMs: number): Promise<{ waitedMs: number; quiet: boolean }> {
  const start = Date.now();
  for (;;) {
    const a = cpuTimes();
    const self0 = cpuTicks(Deno.pid);
    await sleep(QUIET_WINDOW_MS);
    const b = cpuTimes();
    const self = cpuTicks(Deno.pid) - self0;
    const busy = (i: number, own: number) =>
      Math.max(0, b[i]!.process + b[i]!.irq - a[i]!.process - a[i]!.irq - own) /
      Math.max(1, b[i]!.total - a[i]!.total);
    const quiet = busy(SERVER_CPU_INDEX, 0) < QUIET_BUSY &&
      busy(CLIENT_CPU_INDEX, self) < QUIET_BUSY;
    const waitedMs = Date.now() - start - QUIET_WINDOW_MS;
    if (quiet || waitedMs >= maxWaitMs) return { waitedMs, quiet };
  }
}

function mib(kib: number | undefined): string {
  return kib === undefined ? "?" : (kib / 1024).toFixed(1);
}

function formatErrors(e: ErrorCounts): string {
  const parts = [];
  if (e.connect) parts.push(`connect ${e.connect}`);
  if (e.read) parts.push(`read ${e.read}`);
  if (e.write) parts.push(`write ${e.write}`);
  if (e.timeout) parts.push(`timeout ${e.timeout}`);
  if (e.status) parts.push(`status ${e.status}`);
  return parts.join(", ");
}

if (import.meta.main) {
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const onSignal = (signal: Deno.Signal) => () => {
    console.error(`\nload.ts: ${signal}: stopping every server and client`);
    cleanup();
    Deno.exit(130);
  };
  const handlers = signals.map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  globalThis.addEventListener("unload", cleanup);
  let code = 1;
  try {
    code = await main();
  } finally {
    cleanup();
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  }
  Deno.exit(code);
}
