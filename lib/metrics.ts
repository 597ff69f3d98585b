/**
 * metrics.ts — counters for operators, in Prometheus text format
 * (exposition format 0.0.4), served by `--metrics ADDR` on an address of
 * their own, never on the public port.
 *
 * Counting is plain integer increments into preallocated arrays: a
 * response costs one array index for its method, one division for its
 * status class, and a short walk of the latency buckets. Nothing is
 * allocated per request, so the static fast path keeps its speed. The text
 * is made only when scraped.
 */

import { type Server, startServer } from "./server.ts";
import { Logger } from "./log.ts";
import { pageResponse, textBody } from "./pages/page.ts";

/** METRICS_PATH is where the metrics listener answers; every other path is 404. */
export const METRICS_PATH = "/metrics";

/** METRICS_TYPE is the Content-Type of Prometheus' text exposition format. */
const METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The methods counted by name; any other is counted as "other". */
const METHODS = ["GET", "HEAD", "POST", "PUT", "OPTIONS", "other"] as const;
/** Status classes 1xx … 5xx. */
const CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;
/**
 * LATENCY_BUCKETS_S are the histogram's upper bounds in seconds, from a
 * cached file (well under a millisecond) to a slow upload; +Inf is implied.
 */
export const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30] as const;
const BUCKET_MS = LATENCY_BUCKETS_S.map((s) => s * 1000);

/** CacheCounts is what the representation store reports: lookups answered from memory, and not. */
export interface CacheCounts {
  readonly hits: number;
  readonly misses: number;
}

/**
 * Metrics holds one instance's counters. The connection reports each
 * response ({@linkcode Metrics.response}), the accept loop each connection;
 * the pages count uploads and board posts.
 */
export class Metrics {
  /** Requests by method (row) and status class (column), flattened. */
  #requests = new Float64Array(METHODS.length * CLASSES.length);
  #bytesSent = 0;
  #connectionsOpen = 0;
  #connectionsAccepted = 0;
  #connectionsRefused = 0;
  #latencyBuckets = new Float64Array(BUCKET_MS.length);
  #latencySumMs = 0;
  #latencyCount = 0;
  #uploads = 0;
  #boardPosts = 0;
  #boardClears = 0;
  #caches: [name: string, counts: CacheCounts][] = [];

  /** response counts one response: its method, status, content bytes sent and time taken. */
  response(method: string, status: number, bytes: number, ms: number): void {
    const row = methodIndex(method);
    const column = Math.min(Math.max(Math.floor(status / 100) - 1, 0), 4);
    this.#requests[row * CLASSES.length + column]!++;
    this.#bytesSent += bytes;
    this.#latencySumMs += ms;
    this.#latencyCount++;
    // Buckets are cumulative when written out; here each response lands in one.
    for (let i = 0; i < BUCKET_MS.length; i++) {
      if (ms <= BUCKET_MS[i]!) {
        this.#latencyBuckets[i]!++;
        return;
      }
    }
  }

  /** connectionOpened counts an accepted connection, open until {@linkcode Metrics.connectionClosed}. */
  connectionOpened(): void {
    this.#connectionsOpen++;
    this.#connectionsAccepted++;
  }

  /** connectionClosed counts a connection gone. */
  connectionClosed(): void {
    this.#connectionsOpen--;
  }

  /** connectionRefused counts a connection turned away at the cap (503). */
  connectionRefused(): void {
    this.#connectionsRefused++;
  }

  /** upload counts one stored upload. */
  upload(): void {
    this.#uploads++;
  }

  /** boardPost counts one acknowledged board post. */
  boardPost(): void {
    this.#boardPosts++;
  }

  /** boardClear counts one confirmed clear of the board. */
  boardClear(): void {
    this.#boardClears++;
  }

  /** watchCache reports `counts` (read at each scrape) as the cache named `name`. */
  watchCache(name: string, counts: CacheCounts): void {
    this.#caches.push([name, counts]);
  }

  /**
   * text returns every counter in Prometheus text format 0.0.4: a `# HELP`
   * and `# TYPE` line per family, then its samples, newline-terminated.
   */
  text(): string {
    const out: string[] = [];
    this.#writeResponses(out);
    this.#writeConnections(out);
    this.#writeCaches(out);
    family(out, "minserve_uploads_total", "counter", "Uploads stored.");
    out.push(`minserve_uploads_total ${this.#uploads}`);
    family(out, "minserve_board_posts_total", "counter", "Board posts acknowledged (committed).");
    out.push(`minserve_board_posts_total ${this.#boardPosts}`);
    family(out, "minserve_board_clears_total", "counter", "Confirmed clears of the board.");
    out.push(`minserve_board_clears_total ${this.#boardClears}`);
    return out.join("\n") + "\n";
  }

  /** #writeResponses adds the responses by method and class, the bytes sent and the latency histogram. */
  #writeResponses(out: string[]): void {
    family(
      out,
      "minserve_http_requests_total",
      "counter",
      "Responses sent, by method and status class.",
    );
    for (let m = 0; m < METHODS.length; m++) {
      for (let c = 0; c < CLASSES.length; c++) {
        const n = this.#requests[m * CLASSES.length + c]!;
        out.push(`minserve_http_requests_total{method="${METHODS[m]}",code="${CLASSES[c]}"} ${n}`);
      }
    }
    family(out, "minserve_http_response_bytes_total", "counter", "Content bytes sent.");
    out.push(`minserve_http_response_bytes_total ${this.#bytesSent}`);

    family(
      out,
      "minserve_http_request_duration_seconds",
      "histogram",
      "Time from a request's head to the end of its response.",
    );
    let cumulative = 0;
    for (let i = 0; i < LATENCY_BUCKETS_S.length; i++) {
      cumulative += this.#latencyBuckets[i]!;
      out.push(
        `minserve_http_request_duration_seconds_bucket{le="${LATENCY_BUCKETS_S[i]}"} ${cumulative}`,
      );
    }
    out.push(
      `minserve_http_request_duration_seconds_bucket{le="+Inf"} ${this.#latencyCount}`,
      `minserve_http_request_duration_seconds_sum ${this.#latencySumMs / 1000}`,
      `minserve_http_request_duration_seconds_count ${this.#latencyCount}`,
    );
  }

  /** #writeConnections adds the connection gauge and counters. */
  #writeConnections(out: string[]): void {
    family(out, "minserve_connections_open", "gauge", "Connections open now.");
    out.push(`minserve_connections_open ${this.#connectionsOpen}`);
    family(out, "minserve_connections_accepted_total", "counter", "Connections accepted.");
    out.push(`minserve_connections_accepted_total ${this.#connectionsAccepted}`);
    family(
      out,
      "minserve_connections_refused_total",
      "counter",
      "Connections refused with 503 at --max-connections or the per-client share.",
    );
    out.push(`minserve_connections_refused_total ${this.#connectionsRefused}`);
  }

  /** #writeCaches adds the hits and misses of every watched cache, read now. */
  #writeCaches(out: string[]): void {
    family(out, "minserve_cache_hits_total", "counter", "File lookups answered from memory.");
    for (const [name, counts] of this.#caches) {
      out.push(`minserve_cache_hits_total{cache="${name}"} ${counts.hits}`);
    }
    family(
      out,
      "minserve_cache_misses_total",
      "counter",
      "File lookups that went to the file system.",
    );
    for (const [name, counts] of this.#caches) {
      out.push(`minserve_cache_misses_total{cache="${name}"} ${counts.misses}`);
    }
  }
}

/** family adds the `# HELP` and `# TYPE` lines that open a metric family (exposition format 0.0.4). */
function family(out: string[], name: string, type: string, help: string): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

/** methodIndex is the row of `method` in the request counts: its place in METHODS, or "other". */
function methodIndex(method: string): number {
  switch (method) {
    case "GET":
      return 0;
    case "HEAD":
      return 1;
    case "POST":
      return 2;
    case "PUT":
      return 3;
    case "OPTIONS":
      return 4;
    default:
      return 5;
  }
}

/**
 * startMetricsServer takes the counters and an address and returns a
 * running {@linkcode Server} that answers `GET /metrics` on
 * `hostname:port` with {@linkcode Metrics.text}, on minserve's own engine
 * but apart from the public server: its requests are not counted and not
 * logged. Anything else there is 404; methods other than GET and HEAD, 405.
 * Throws what `Deno.listen` throws (the address in use, no permission).
 */
export function startMetricsServer(
  metrics: Metrics,
  address: { hostname: string; port: number },
): Server {
  return startServer(
    { ...address, quiet: true, maxBodyBytes: 0, maxConnections: 64 },
    (request) => {
      if (new URL(request.url).pathname !== METRICS_PATH) {
        return pageResponse(textBody("Not Found\n"), { status: 404 });
      }
      if (request.method !== "GET" && request.method !== "HEAD") {
        return new Response(null, { status: 405, headers: { allow: "GET, HEAD" } });
      }
      return pageResponse({ body: metrics.text(), type: METRICS_TYPE });
    },
    new Logger({ access: null }),
  );
}
