/**
 * Tests of what bench/soak.ts and bench/abuse.ts share: the flat verdict,
 * percentiles, the file pattern, a client connecting from another loopback
 * address, and spawnServer handing the access log to a callback.
 */

import assert from "node:assert/strict";
import {
  Client,
  connectFrom,
  flatVerdict,
  pattern,
  percentile,
  type ProcessSample,
  sameBytes,
} from "../../bench/_load_support.ts";
import { decode, encode } from "../_support/bytes.ts";
import { FIXTURE_ROOT } from "../_support/paths.ts";
import { parseResponses, rawRequest, spawnServer } from "../_support/server.ts";
import { delay, waitFor } from "../_support/wait.ts";

const RULE = { warmUpMs: 10_000, rssFactor: 1.2, fdSlack: 5, fdFactor: 0 };

/** samples makes one sample every 5 s with the given RSS (MiB) and descriptors. */
function samples(rss: number[], fds: number[]): ProcessSample[] {
  return rss.map((rssMiB, i) => ({ seconds: i * 5, cpu: 0, rssMiB, fds: fds[i]! }));
}

Deno.test("flatVerdict: flat within the bounds, growing past them, undecided when short", async (t) => {
  await t.step("flat", () => {
    // Warm-up (the first two samples) may be anything.
    const v = flatVerdict(
      samples([50, 90, 100, 101, 99, 110, 100, 119], [5, 40, 30, 31, 30, 34, 33, 35]),
      RULE,
    );
    assert.equal(v.ok, true, v.lines.join("\n"));
  });
  await t.step("RSS past +20%", () => {
    const v = flatVerdict(
      samples([0, 0, 100, 100, 110, 115, 121, 125], [30, 30, 30, 30, 30, 30, 30, 30]),
      RULE,
    );
    assert.equal(v.ok, false);
    assert.match(v.lines[0]!, /^RSS GROWING/);
  });
  await t.step("descriptors past +5", () => {
    const edge = flatVerdict(
      samples([1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 30, 31, 32, 33, 34, 36]),
      RULE,
    );
    assert.equal(edge.ok, true, edge.lines.join("\n"));
    const v = flatVerdict(samples([1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 30, 31, 32, 33, 34, 37]), RULE);
    assert.equal(v.ok, false);
    assert.match(
      v.lines[1]!,
      /^fds GROWING: max 31 in the first third, 37 in the last \(limit 36\)/,
    );
  });
  await t.step("descriptors past a fraction of many", () => {
    const rule = { ...RULE, fdFactor: 0.05 };
    const flat = flatVerdict(
      samples([1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 1000, 1000, 1000, 1000, 1000, 1055]),
      rule,
    );
    assert.equal(flat.ok, true, flat.lines.join("\n"));
    const grown = flatVerdict(
      samples([1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 1000, 1000, 1000, 1000, 1000, 1056]),
      rule,
    );
    assert.equal(grown.ok, false);
  });
  await t.step("too few samples after warm-up", () => {
    const v = flatVerdict(samples([1, 1, 1, 1], [1, 1, 1, 1]), RULE);
    assert.equal(v.ok, false);
    assert.match(v.lines[0]!, /too few samples/);
  });
});

Deno.test("percentile takes the nearest rank; NaN for no values", () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(sorted, 50), 50);
  assert.equal(percentile(sorted, 99), 99);
  assert.equal(percentile(sorted, 100), 100);
  assert.equal(percentile(sorted, 0), 1);
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
});

/** Whether this system lets a socket bind 127.0.0.2 (Linux routes all of 127/8 to lo). */
const OTHER_LOOPBACK = await (async () => {
  try {
    const conn = await connectFrom(1, "127.0.0.2", 1000);
    conn.close();
    return true;
  } catch (err) {
    // Refused means the bind worked and nothing listens on port 1.
    return err instanceof Error && /ECONNREFUSED|refused/i.test(`${err.message} ${String(err)}`);
  }
})();

Deno.test({
  name: `Client connects from another loopback address, exchanges, and reads EOF after close${
    OTHER_LOOPBACK ? "" : " (skipped: cannot bind 127.0.0.2)"
  }`,
  ignore: !OTHER_LOOPBACK,
  async fn() {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const answered = Promise.withResolvers<void>();
    const served = (async () => {
      using conn = await listener.accept();
      const from = (conn.remoteAddr as Deno.NetAddr).hostname;
      const buf = new Uint8Array(64);
      const n = await conn.read(buf);
      const body = `${from} ${decode(buf.subarray(0, n ?? 0))}`;
      await conn.write(encode(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
      await answered.promise;
      await conn.write(encode("more bytes the client will not take"));
    })();
    const client = await Client.connect(listener.addr.port, "127.0.0.2");
    await client.send("ping");
    const res = await client.response();
    answered.resolve();
    await served;
    await delay(50); // the extra bytes arrive in the client's buffer
    assert.equal(res.status, 200);
    assert.equal(res.text(), "127.0.0.2 ping");
    client.close();
    assert.equal(await client.readAtMost(10), null, "a closed client reads EOF, not leftovers");
  },
});

Deno.test({
  name: `connectFrom rejects when nothing listens, from 127.0.0.1 and from 127.0.0.2${
    OTHER_LOOPBACK ? "" : " (skipped: cannot bind 127.0.0.2)"
  }`,
  ignore: !OTHER_LOOPBACK,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    await assert.rejects(connectFrom(port));
    await assert.rejects(connectFrom(port, "127.0.0.2"));
  },
});

Deno.test("spawnServer's onStdout gets the access log as it comes and keeps none of it (as bench/abuse.ts uses it)", async () => {
  let seen = "";
  await using server = await spawnServer({
    root: FIXTURE_ROOT,
    onStdout: (text) => (seen += text),
  });
  assert.match(seen, /listening on http:\/\/127\.0\.0\.1:\d+\//);
  const [res] = parseResponses(
    await rawRequest(
      server.port,
      "GET /hello.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    ),
  );
  assert.equal(res?.status, 200);
  assert.ok(await waitFor(() => seen.includes('"GET /hello.txt HTTP/1.1" 200'), 5_000), seen);
  assert.equal(server.stdoutText(), "");
});

Deno.test("pattern is deterministic per salt, differs between salts, and has no short period", () => {
  const a = pattern(4096, 1);
  assert.equal(a.length, 4096);
  assert.ok(sameBytes(a, pattern(4096, 1)));
  assert.ok(!sameBytes(a, pattern(4096, 2)));
  for (const period of [1, 2, 4, 31, 256]) {
    assert.ok(a.some((b, i) => i + period < a.length && b !== a[i + period]), `period ${period}`);
  }
  assert.ok(sameBytes(new Uint8Array(0), new Uint8Array(0)));
  assert.ok(!sameBytes(Uint8Array.of(1), Uint8Array.of(1, 2)));
});
