/**
 * metrics_test.ts — `--metrics`: the counters and their Prometheus text,
 * then the real server: a separate listener that counts what the public
 * port served (requests by method and class, bytes, latency, connections
 * open and refused, cache hits and misses, uploads, board posts), and a
 * public port that never answers /metrics.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { LATENCY_BUCKETS_S, Metrics } from "../lib/metrics.ts";
import { rawRequest, spawnServer, withTempDir } from "./_support/server.ts";
import { waitFor } from "./_support/wait.ts";

/** sample reads one sample's value from Prometheus text; undefined when absent. */
function sample(text: string, name: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    if (line.slice(0, at) === name) return Number(line.slice(at + 1));
  }
  return undefined;
}

Deno.test("Metrics counts responses by method and class, bytes, a cumulative histogram", () => {
  const metrics = new Metrics();
  metrics.response("GET", 200, 100, 0.2);
  metrics.response("GET", 304, 0, 3);
  metrics.response("POST", 303, 0, 40);
  metrics.response("BREW", 418, 10, 2_000);
  metrics.response("HEAD", 503, 0, 60_000);
  metrics.connectionOpened();
  metrics.connectionOpened();
  metrics.connectionClosed();
  metrics.connectionRefused();
  metrics.upload();
  metrics.boardPost();
  metrics.boardPost();
  metrics.boardClear();
  metrics.watchCache("root", { hits: 7, misses: 2 });
  const text = metrics.text();

  // Every family has HELP and TYPE, and every line is a comment or "name value".
  for (const line of text.trimEnd().split("\n")) {
    assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+]+)$/, line);
  }
  assert.match(text, /# TYPE minserve_http_request_duration_seconds histogram/);
  assert.equal(sample(text, 'minserve_http_requests_total{method="GET",code="2xx"}'), 1);
  assert.equal(sample(text, 'minserve_http_requests_total{method="GET",code="3xx"}'), 1);
  assert.equal(sample(text, 'minserve_http_requests_total{method="POST",code="3xx"}'), 1);
  assert.equal(sample(text, 'minserve_http_requests_total{method="other",code="4xx"}'), 1);
  assert.equal(sample(text, 'minserve_http_requests_total{method="HEAD",code="5xx"}'), 1);
  assert.equal(sample(text, 'minserve_http_requests_total{method="PUT",code="2xx"}'), 0);
  assert.equal(sample(text, "minserve_http_response_bytes_total"), 110);
  assert.equal(sample(text, 'minserve_http_request_duration_seconds_bucket{le="0.0005"}'), 1);
  assert.equal(sample(text, 'minserve_http_request_duration_seconds_bucket{le="0.005"}'), 2);
  assert.equal(sample(text, 'minserve_http_request_duration_seconds_bucket{le="0.05"}'), 3);
  assert.equal(sample(text, 'minserve_http_request_duration_seconds_bucket{le="5"}'), 4);
  assert.equal(sample(text, 'minserve_http_request_duration_seconds_bucket{le="30"}'), 4);
  assert.equal(sample(text, 'minserve_http_request_duration_seconds_bucket{le="+Inf"}'), 5);
  assert.equal(sample(text, "minserve_http_request_duration_seconds_count"), 5);
  assert.ok(Math.abs(sample(text, "minserve_http_request_duration_seconds_sum")! - 62.0432) < 1e-9);
  assert.equal(sample(text, "minserve_connections_open"), 1);
  assert.equal(sample(text, "minserve_connections_accepted_total"), 2);
  assert.equal(sample(text, "minserve_connections_refused_total"), 1);
  assert.equal(sample(text, 'minserve_cache_hits_total{cache="root"}'), 7);
  assert.equal(sample(text, 'minserve_cache_misses_total{cache="root"}'), 2);
  assert.equal(sample(text, "minserve_uploads_total"), 1);
  assert.equal(sample(text, "minserve_board_posts_total"), 2);
  assert.equal(sample(text, "minserve_board_clears_total"), 1);
  // Buckets are sorted and end at +Inf.
  assert.deepEqual([...LATENCY_BUCKETS_S].sort((a, b) => a - b), [...LATENCY_BUCKETS_S]);
});

/** METRICS_LINE is the banner's metrics line. */
const METRICS_LINE = /metrics: +(http:\/\/127\.0\.0\.1:\d+\/metrics)/;

Deno.test("--metrics: a listener of its own counts what the public port served", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    const data = join(dir, "data");
    const up = join(dir, "up");
    for (const d of [root, data, up]) await Deno.mkdir(d);
    await Deno.writeTextFile(join(root, "index.html"), "<!doctype html><title>hi</title>hello");
    await using server = await spawnServer({
      root,
      args: [
        "--quiet",
        "--data-dir",
        data,
        "--upload-dir",
        up,
        "--metrics",
        "127.0.0.1:0",
        "--max-connections",
        "2",
        // At the global cap an idle connection would give way to a newcomer;
        // one address's share is what refuses here.
        "--max-connections-per-client",
        "2",
        // The idle connections that fill the cap must outlive a slow, shared machine.
        "--idle-timeout",
        "60",
        "--request-timeout",
        "60",
      ],
      allowRead: [data, up],
      allowWrite: [data, up],
    });
    assert.ok(await waitFor(() => METRICS_LINE.test(server.stdoutText()), 5_000));
    const metricsUrl = METRICS_LINE.exec(server.stdoutText())![1]!;
    assert.notEqual(new URL(metricsUrl).port, String(server.port));
    const scrape = async () => {
      const response = await fetch(metricsUrl);
      assert.equal(response.status, 200);
      assert.equal(
        response.headers.get("content-type"),
        "text/plain; version=0.0.4; charset=utf-8",
      );
      return await response.text();
    };
    const before = await scrape();
    assert.equal(sample(before, "minserve_http_response_bytes_total"), 0);

    // No pooled connections: each request's connection closes after it.
    using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    const send = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(server.url + path, { redirect: "manual", client, ...init });
      await response.body?.cancel();
      return response.status;
    };
    for (let i = 0; i < 3; i++) assert.equal(await send("/index.html"), 200);
    assert.equal(await send("/missing.txt"), 404);
    assert.equal(await send("/index.html", { method: "HEAD" }), 200);
    const form = { "content-type": "application/x-www-form-urlencoded" };
    assert.equal(await send("/board", { method: "POST", headers: form, body: "message=hi" }), 303);
    assert.equal(await send("/board", { method: "POST", headers: form, body: "message=" }), 400);
    assert.equal(
      await send("/board/clear", { method: "POST", headers: form, body: "confirm=yes" }),
      303,
    );
    assert.equal(await send("/uploads/a.txt", { method: "PUT", body: "12345" }), 201);
    // The public port has no /metrics: a 404 like any missing file.
    assert.equal(await send("/metrics"), 404);

    // Two idle connections fill --max-connections 2; the next is refused.
    // First, the connections of the requests above must be gone.
    assert.ok(
      await waitFor(async () => sample(await scrape(), "minserve_connections_open") === 0, 10_000),
      "the earlier connections closed",
    );
    const idle = await Promise.all(
      [1, 2].map(() => Deno.connect({ hostname: "127.0.0.1", port: server.port })),
    );
    try {
      let open: number | undefined;
      const filled = await waitFor(async () => {
        open = sample(await scrape(), "minserve_connections_open");
        return open === 2;
      }, 5_000);
      assert.ok(filled, `two connections open, not ${open}`);
      // Raw bytes: the refusal is written at once, before the request is read,
      // which fetch's client may report as an error rather than a response.
      const refused = new TextDecoder().decode(
        await rawRequest(server.port, "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"),
      );
      assert.match(refused, /^HTTP\/1\.1 503 /);
    } finally {
      for (const conn of idle) conn.close();
    }

    const text = await scrape();
    const get = (name: string) => sample(text, name);
    assert.equal(get('minserve_http_requests_total{method="GET",code="2xx"}'), 3);
    assert.equal(get('minserve_http_requests_total{method="GET",code="4xx"}'), 2);
    assert.equal(get('minserve_http_requests_total{method="HEAD",code="2xx"}'), 1);
    assert.equal(get('minserve_http_requests_total{method="POST",code="3xx"}'), 2);
    assert.equal(get('minserve_http_requests_total{method="POST",code="4xx"}'), 1);
    assert.equal(get('minserve_http_requests_total{method="PUT",code="2xx"}'), 1);
    assert.ok(get("minserve_http_response_bytes_total")! >= 3 * 37, "three bodies at least");
    assert.equal(get("minserve_http_request_duration_seconds_count"), 10);
    assert.equal(get("minserve_connections_refused_total"), 1);
    assert.ok(get("minserve_connections_accepted_total")! >= 3);
    assert.ok(get('minserve_cache_hits_total{cache="root"}')! >= 2, "the repeats were hits");
    assert.ok(get('minserve_cache_misses_total{cache="root"}')! >= 1, "the first was a miss");
    assert.equal(get("minserve_uploads_total"), 1);
    assert.equal(get("minserve_board_posts_total"), 1);
    assert.equal(get("minserve_board_clears_total"), 1);

    // The metrics listener answers only /metrics, only to reads.
    assert.equal((await fetch(metricsUrl.replace("/metrics", "/"))).status, 404);
    const post = await fetch(metricsUrl, { method: "DELETE" });
    await post.body?.cancel();
    assert.equal(post.status, 405);
    // --max-body 0 there, but the route decides first (as for 401 before 413):
    // a method it does not take is 405, its body never read.
    const body = await fetch(metricsUrl, { method: "POST", body: "x" });
    await body.body?.cancel();
    assert.equal(body.status, 405, "it takes no bodies at all");
  });
});

Deno.test("without --metrics nothing listens besides the public port, and /healthz answers", async () => {
  await withTempDir(async (root) => {
    await using server = await spawnServer({ root, args: ["--quiet"] });
    assert.doesNotMatch(server.stdoutText(), /metrics:/);
    const health = await fetch(server.url + "/healthz");
    assert.deepEqual([health.status, await health.text()], [200, "ok\n"]);
    const ready = await fetch(server.url + "/readyz");
    assert.deepEqual([ready.status, await ready.text()], [200, "ready\n"]);
    const metrics = await fetch(server.url + "/metrics");
    await metrics.body?.cancel();
    assert.equal(metrics.status, 404);
  });
});
