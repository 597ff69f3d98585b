/**
 * startServer(options, handler) is a public API: any Fetch-API handler runs
 * on minserve's engine, in process, and shuts down cleanly.
 */

import assert from "node:assert/strict";
import { greet } from "../examples/library.ts";
import { Logger } from "../lib/log.ts";
import { startServer } from "../lib/server.ts";

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
