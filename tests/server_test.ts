/**
 * server_test.ts — lib/server.ts in process. startServer(options, handler)
 * is a public API: any Fetch-API handler runs on minserve's engine (the
 * library example, examples/library.ts, among them) and shuts down cleanly.
 * Also the per-client share of the connection cap, a bind that fails at
 * once, and the counter --metrics reads. The real server as a subprocess is
 * tested in system_test.ts.
 */

import assert from "node:assert/strict";
import { greet } from "../examples/library.ts";
import { Logger } from "../lib/log.ts";
import {
  MIN_CONNECTIONS_PER_CLIENT,
  perClientCapFor,
  SERVER_NAME,
  type ServerCounter,
  startServer,
} from "../lib/server.ts";
import { VERSION } from "../lib/version.ts";
import { Client } from "./_support/client.ts";
import { waitFor } from "./_support/wait.ts";

/** quiet is a logger without an access log, for tests that do not look at it. */
function quiet(): Logger {
  return new Logger({ access: null });
}

/** RecordingCounter records what a server tells its counter. */
class RecordingCounter implements ServerCounter {
  opened = 0;
  closed = 0;
  refused = 0;
  responses: [method: string, status: number, bytes: number][] = [];
  response(method: string, status: number, bytes: number): void {
    this.responses.push([method, status, bytes]);
  }
  connectionOpened(): void {
    this.opened++;
  }
  connectionClosed(): void {
    this.closed++;
  }
  connectionRefused(): void {
    this.refused++;
  }
}

Deno.test("startServer serves a plain Fetch-API handler and shuts down", async () => {
  const server = startServer(
    { hostname: "127.0.0.1", port: 0 },
    greet,
    new Logger({ access: null }),
  );
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/?name=Ada`, {
      method: "POST",
      body: "x",
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { hello: "Ada", method: "POST" });
    const streamed = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assert.equal(streamed.headers.get("server")?.startsWith("minserve/"), true);
    await streamed.body?.cancel();
  } finally {
    await server.shutdown();
  }
  await server.finished;
});

Deno.test("startServer: a handler that throws gets a 500 and the server goes on", async () => {
  const errors: string[] = [];
  const logger = new Logger({
    access: null,
    errors: { write: (p) => (errors.push(new TextDecoder().decode(p)), Promise.resolve(p.length)) },
  });
  let calls = 0;
  const server = startServer({ hostname: "127.0.0.1", port: 0 }, () => {
    if (calls++ === 0) throw new Error("boom at /secret/path");
    return new Response("ok");
  }, logger);
  try {
    const first = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assert.equal(first.status, 500);
    const page = await first.text();
    assert.doesNotMatch(page, /boom|secret/);
    const second = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assert.equal(await second.text(), "ok");
  } finally {
    await server.shutdown();
  }
  assert.match(errors.join(""), /boom/, "the cause went to the error log");
});

Deno.test("perClientCapFor: the given share, else half the cap, never below 8", async (t) => {
  const CASES: [max: number, given: number | undefined, want: number][] = [
    [1024, undefined, 512],
    [1025, undefined, 512],
    [20, undefined, 10],
    [16, undefined, MIN_CONNECTIONS_PER_CLIENT],
    [10, undefined, MIN_CONNECTIONS_PER_CLIENT], // above the cap itself: the cap decides
    [1, undefined, MIN_CONNECTIONS_PER_CLIENT],
    [1024, 3, 3], // given wins, even below the floor
    [1024, 2000, 2000],
  ];
  for (const [max, given, want] of CASES) {
    await t.step(`${max}, ${given}`, () => assert.equal(perClientCapFor(max, given), want));
  }
});

Deno.test("SERVER_NAME is minserve/VERSION", () => {
  assert.equal(SERVER_NAME, `minserve/${VERSION}`);
});

Deno.test("startServer throws at once when the address is taken", () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  assert.throws(
    () => startServer({ hostname: "127.0.0.1", port: taken.addr.port }, greet, quiet()),
    Deno.errors.AddrInUse,
  );
});

Deno.test("startServer tells its counter of connections and responses", async () => {
  const counter = new RecordingCounter();
  const server = startServer(
    { hostname: "127.0.0.1", port: 0, counter },
    () => new Response("counted"),
    quiet(),
  );
  try {
    for (const method of ["GET", "HEAD"]) {
      const response = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
        method,
        headers: { connection: "close" },
      });
      await response.body?.cancel();
    }
    assert.ok(await waitFor(() => counter.closed === 2, 2_000), `closed: ${counter.closed}`);
    assert.equal(counter.opened, 2);
    assert.deepEqual(counter.responses, [["GET", 200, 7], ["HEAD", 200, 0]]);
    assert.equal(counter.refused, 0);
  } finally {
    await server.shutdown();
  }
});

Deno.test("startServer refuses one address past its share with 503 and counts it", async () => {
  const counter = new RecordingCounter();
  const server = startServer(
    { hostname: "127.0.0.1", port: 0, maxConnectionsPerClient: 1, counter },
    () => new Response("ok"),
    quiet(),
  );
  try {
    using first = await Client.connect(server.addr.port);
    await first.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.equal((await first.responses(1))[0]?.status, 200);
    using second = await Client.connect(server.addr.port);
    const refused = await second.responses(1);
    assert.equal(refused[0]?.status, 503);
    assert.match(refused[0]?.header("retry-after") ?? "", /^[0-9]+$/);
    await second.untilEof();
    assert.equal(counter.refused, 1);
  } finally {
    await server.shutdown();
  }
});
