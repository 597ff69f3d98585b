/**
 * features_test.ts — the product features of issue 5 and 6 end to end: the
 * real `main.ts` as a subprocess with the narrowest permissions each feature
 * needs, spoken to over raw sockets (TCP, TLS, IPv6).
 *
 * - the message board survives SIGKILL of the server (`--data-dir`);
 * - uploads (`--upload-dir`): byte-exact round trip, replace, torn uploads
 *   from a vanishing client and from a SIGKILLed server leave nothing behind,
 *   413 before the body, hostile names, the bearer token;
 * - HTTPS (`--cert`/`--key`) with a throw-away self-signed certificate;
 * - `--header`, `--spa`, `404.html`, `--log-format`, `--quiet`, `--cors`,
 *   `--host ::1`, `MINSERVE_PORT` beneath `--port`, `NO_COLOR`;
 * - `/time` and templates.
 *
 * Every server serves a temp copy of a fixture tree, and every wait has a
 * deadline, so the whole file runs in well under a minute. Tests that need
 * something the machine may lack (openssl, an IPv6 loopback, util-linux
 * `script` for a pseudo-terminal) are decided at module load and, when
 * skipped, say why in their name.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { concat, decode, encode } from "./_support/bytes.ts";
import { Client } from "./_support/client.ts";
import { namesIn } from "./_support/fs.ts";
import { FIXTURE_ROOT, WWW_ROOT } from "./_support/paths.ts";
import { HAVE_OPENSSL, makeCertificate } from "./_support/tls.ts";
import {
  HAVE_SCRIPT,
  type ParsedResponse,
  parseResponses,
  rawRequest,
  spawnServer,
  withCopyOf,
} from "./_support/server.ts";
import { delay, waitFor } from "./_support/wait.ts";

/** How long a client waits for one response. Past it the test fails. */
const READ_TIMEOUT_MS = 5_000;
/** How long a torn upload may take to be cleaned up (the brief says about a second). */
const CLEANUP_TIMEOUT_MS = 2_000;
/** How long the access log may take to reach stdout (it flushes every 50 ms). */
const LOG_TIMEOUT_MS = 2_000;
const MIB = 1024 * 1024;
/** An escape sequence (colour) anywhere in a text. */
// deno-lint-ignore no-control-regex
const ESCAPE = /\x1b\[/;

// ---------------------------------------------------------------------------
// What the machine has, decided once at module load.

/** Whether this host can listen on the IPv6 loopback. */
const HAVE_IPV6 = (() => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
})();

// ---------------------------------------------------------------------------
// Small helpers.

/** pattern returns `size` bytes that do not repeat with any short period, varied by `seed`. */
function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >>> 11) * 7 + seed) & 0xff;
  return bytes;
}

/** partFiles lists the `.*.part` temp files of `dir`. */
async function partFiles(dir: string): Promise<string[]> {
  return (await namesIn(dir)).filter((n) => n.startsWith(".") && n.endsWith(".part"));
}

/** sameBytes compares two byte arrays without printing a megabyte on failure. */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const at = actual.findIndex((b, i) => b !== expected[i]);
  assert.equal(at, -1, `${what}: first difference at byte ${at}`);
}

/** fetchOne sends one request on a fresh connection, half-closes, and parses the one response. */
async function fetchOne(
  port: number,
  request: string | Uint8Array,
  headMethods: readonly string[] = [],
): Promise<ParsedResponse> {
  const bytes = await rawRequest(port, request, { halfClose: true, timeoutMs: READ_TIMEOUT_MS });
  const responses = parseResponses(bytes, { headMethods });
  assert.equal(responses.length, 1, `expected one response, got:\n${decode(bytes)}`);
  return responses[0]!;
}

/** get builds a GET request for `target` with a Host field and `extra` header lines. */
function get(target: string, extra = ""): string {
  return `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${extra}\r\n`;
}

/** withBody builds `METHOD target` with a Content-Length body and `extra` header lines. */
function withBody(method: string, target: string, body: Uint8Array, extra = ""): Uint8Array {
  const head = `${method} ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n` +
    `Content-Length: ${body.length}\r\n${extra}\r\n`;
  return concat([encode(head), body]);
}

/** exchangeOn sends `request` on a fresh connection `conn` and returns its one final response. */
async function exchangeOn(conn: Deno.Conn, request: string | Uint8Array): Promise<ParsedResponse> {
  using client = new Client(conn);
  await client.send(request);
  const responses = await client.responses(1, { finalOnly: true });
  assert.equal(responses.length, 1, `expected one response, got:\n${decode(client.bytes)}`);
  return responses[0]!;
}

/** freePort asks the OS for a free port on 127.0.0.1 and releases it. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** accessLines are the stdout lines that are not the start-up banner. */
function accessLines(stdout: string): string[] {
  return stdout.split("\n").filter((line) =>
    line !== "" && !line.startsWith("minserve ") && !line.startsWith("  ")
  );
}

// ---------------------------------------------------------------------------
// 1. The board.

/** postBoard POSTs a urlencoded form to /board and returns the response. */
function postBoard(
  port: number,
  form: string,
  extra = "",
  path = "/board",
): Promise<ParsedResponse> {
  return fetchOne(
    port,
    withBody(
      "POST",
      path,
      encode(form),
      `Content-Type: application/x-www-form-urlencoded\r\n${extra}`,
    ),
  );
}

/** boardJson GETs /board as JSON and returns the messages' texts. */
async function boardMessages(port: number): Promise<string[]> {
  const response = await fetchOne(port, get("/board", "Accept: application/json\r\n"));
  assert.equal(response.status, 200, response.text());
  const posts = JSON.parse(response.text()) as { message: string }[];
  return posts.map((p) => p.message);
}

Deno.test("board: 20 acknowledged posts survive SIGKILL of the server; escaped, cleared, CSRF-proof", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
    const data = join(dir, "data");
    await Deno.mkdir(data);
    const spawnBoard = () =>
      spawnServer({ root, args: ["--data-dir", data], allowRead: [data], allowWrite: [data] });
    const messages = Array.from(
      { length: 20 },
      (_, i) => i % 5 === 2 ? `post ${i}: <script>alert(${i})</script> & "q"` : `post ${i} é ✓`,
    );

    {
      await using server = await spawnBoard();
      for (const message of messages) {
        const response = await postBoard(
          server.port,
          `message=${encodeURIComponent(message)}`,
        );
        assert.equal(response.status, 303, `post "${message}": ${response.text()}`);
        assert.equal(response.header("location"), "/board");
      }
      server.kill(); // right after the last 303: no shutdown, no checkpoint
      const status = await server.status;
      assert.equal(status.signal, "SIGKILL");
    }

    await using server = await spawnBoard();
    assert.deepEqual(await boardMessages(server.port), messages);

    const page = await fetchOne(server.port, get("/board", "Accept: text/html\r\n"));
    assert.equal(page.status, 200);
    assert.match(page.header("content-type") ?? "", /^text\/html/);
    const body = page.text();
    assert.ok(
      body.includes("post 2: &lt;script&gt;alert(2)&lt;/script&gt; &amp; &quot;q&quot;"),
      "the post is shown escaped",
    );
    assert.ok(!body.includes("<script>alert("), "no posted markup reaches the page");

    // Another site's page may not post or clear; nothing changes.
    const evil = "Origin: https://evil.example\r\n";
    assert.equal((await postBoard(server.port, "message=pwned", evil)).status, 403);
    assert.equal((await postBoard(server.port, "confirm=yes", evil, "/board/clear")).status, 403);
    assert.deepEqual(await boardMessages(server.port), messages);

    // Clearing needs its confirmation.
    assert.equal((await postBoard(server.port, "action=clear")).status, 400);
    assert.equal((await postBoard(server.port, "", "", "/board/clear")).status, 400);
    assert.deepEqual(await boardMessages(server.port), messages);
    const cleared = await postBoard(server.port, "confirm=yes", "", "/board/clear");
    assert.equal(cleared.status, 303);
    assert.deepEqual(await boardMessages(server.port), []);
  });
});

// ---------------------------------------------------------------------------
// 2. Uploads.

/** uploadServer starts a server with `--upload-dir <dir>/up` (created) and `args`. */
async function uploadServer(dir: string, root: string, args: readonly string[] = []) {
  const up = join(dir, "up");
  await Deno.mkdir(up, { recursive: true });
  const server = await spawnServer({
    root,
    args: ["--upload-dir", up, ...args],
    allowRead: [up],
    allowWrite: [up],
  });
  return { server, up };
}

/** put PUTs `body` to /uploads/`name` (already percent-encoded as wanted). */
function put(port: number, name: string, body: Uint8Array, extra = ""): Promise<ParsedResponse> {
  return fetchOne(port, withBody("PUT", `/uploads/${name}`, body, extra));
}

/**
 * startTornUpload sends the head of a PUT declaring `declared` bytes and then
 * only `sent`, and waits until the server is writing its temp file; the
 * caller then drops the connection (or the server).
 */
async function startTornUpload(
  port: number,
  up: string,
  name: string,
  declared: number,
  sent: Uint8Array,
  query = "",
): Promise<Client> {
  const client = await Client.connect(port);
  await client.send(
    `PUT /uploads/${name}${query} HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${declared}\r\n\r\n`,
  );
  await client.send(sent);
  const writing = await waitFor(
    async () => (await partFiles(up)).some((n) => n.startsWith(`.${name}.`)),
    READ_TIMEOUT_MS,
  );
  assert.ok(writing, `the server never started writing ${name}: ${await namesIn(up)}`);
  return client;
}

Deno.test("uploads: 1 MiB round trip, replace, and torn uploads leave nothing behind", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
    const { server: s, up } = await uploadServer(dir, root);
    await using server = s;
    const v1 = pattern(MIB, 1);
    const v2 = pattern(MIB, 2);

    const created = await put(server.port, "blob.png", v1, "Accept: application/json\r\n");
    assert.equal(created.status, 201, created.text());
    assert.equal(created.header("location"), "/uploads/blob.png");
    assert.deepEqual(JSON.parse(created.text()), {
      name: "blob.png",
      size: MIB,
      url: "/uploads/blob.png",
    });

    const back = await fetchOne(server.port, get("/uploads/blob.png"));
    assert.equal(back.status, 200);
    assert.equal(back.header("content-type"), "image/png");
    assertSameBytes(back.body, v1, "GET after PUT");

    const conflict = await put(server.port, "blob.png", v2);
    assert.equal(conflict.status, 409, "no silent overwrite");
    const replaced = await put(server.port, "blob.png?replace=1", v2);
    assert.equal(replaced.status, 200, replaced.text());
    assertSameBytes(
      (await fetchOne(server.port, get("/uploads/blob.png"))).body,
      v2,
      "GET after replace",
    );
    assert.deepEqual(await namesIn(up), ["blob.png"]);

    // A client that declares 4 MiB, sends 1 MiB and vanishes: no new file, no temp file.
    const torn = await startTornUpload(server.port, up, "torn.bin", 4 * MIB, pattern(MIB, 3));
    torn.close();
    assert.ok(
      await waitFor(async () => (await namesIn(up)).join() === "blob.png", CLEANUP_TIMEOUT_MS),
      `a torn new upload left: ${await namesIn(up)}`,
    );

    // The same, replacing blob.png: the old version stays whole.
    const tornReplace = await startTornUpload(
      server.port,
      up,
      "blob.png",
      4 * MIB,
      pattern(MIB, 4),
      "?replace=1",
    );
    tornReplace.close();
    assert.ok(
      await waitFor(async () => (await namesIn(up)).join() === "blob.png", CLEANUP_TIMEOUT_MS),
      `a torn replacement left: ${await namesIn(up)}`,
    );
    assertSameBytes(await Deno.readFile(join(up, "blob.png")), v2, "blob.png after a torn replace");
    assertSameBytes(
      (await fetchOne(server.port, get("/uploads/blob.png"))).body,
      v2,
      "GET after a torn replace",
    );
    assert.ok(!server.stderrText().includes("Uncaught"), server.stderrText());
  });
});

Deno.test("uploads: --max-upload 1000 answers 413 to Content-Length 5000 before the body is sent", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
    const { server: s, up } = await uploadServer(dir, root, ["--max-upload", "1000"]);
    await using server = s;
    using client = await Client.connect(server.port);
    // The head only: the answer must come without the body.
    await client.send(
      "PUT /uploads/big.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000\r\n\r\n",
    );
    const responses = await client.responses(1, { finalOnly: true });
    assert.deepEqual(responses.map((r) => r.status), [413], decode(client.bytes));
    client.close();

    // At the limit is fine.
    const ok = await put(server.port, "ok.txt", pattern(1000, 5));
    assert.equal(ok.status, 201, ok.text());
    assert.deepEqual(await namesIn(up), ["ok.txt"]);
  });
});

Deno.test("uploads: with --upload-token, a PUT without the token gets 401 even when its length is over every limit", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
    const { server: s, up } = await uploadServer(dir, root, [
      "--max-upload",
      "1000",
      "--upload-token",
      "sesame",
    ]);
    await using server = s;
    for (const length of ["5000", "1000000000000"]) {
      using client = await Client.connect(server.port);
      await client.send(
        `PUT /uploads/big.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${length}\r\n\r\n`,
      );
      const responses = await client.responses(1, { finalOnly: true });
      assert.deepEqual(responses.map((r) => r.status), [401], decode(client.bytes));
      assert.match(responses[0]?.header("www-authenticate") ?? "", /^Bearer/);
    }
    // With the token, the size decides.
    const big = await put(
      server.port,
      "big.txt",
      pattern(5000, 5),
      "Authorization: Bearer sesame\r\n",
    );
    assert.equal(big.status, 413, big.text());
    assert.deepEqual(await namesIn(up), []);
  });
});

/** tryNames PUTs a small body to each `/uploads/NAME` and returns "PUT target -> status" lines. */
async function tryNames(port: number, targets: readonly string[]): Promise<string[]> {
  const results: string[] = [];
  for (const name of targets) {
    const response = await put(port, name, encode("gotcha\n"));
    results.push(`PUT /uploads/${name} -> ${response.status}`);
  }
  return results;
}

/** assertNothingWritten checks that the upload dir is empty and nothing appeared beside it or in the root. */
async function assertNothingWritten(dir: string, root: string, up: string): Promise<void> {
  assert.deepEqual(await namesIn(up), [], "nothing in the upload dir");
  assert.deepEqual(await namesIn(dir), ["root", "up"], "nothing written beside the upload dir");
  assert.deepEqual(
    await namesIn(root),
    await namesIn(FIXTURE_ROOT),
    "nothing written into the root",
  );
}

Deno.test("uploads: hostile names are refused with 400 and nothing is written", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
    const { server: s, up } = await uploadServer(dir, root);
    await using server = s;
    const results = await tryNames(server.port, [
      "a%2fb",
      "a%2Fb",
      "a%5cb",
      ".hidden",
      ".x.part",
      "%00",
      "a%00b",
      "%0a",
      "%zz",
    ]);
    assert.deepEqual(results, results.map((r) => r.replace(/-> \d+$/, "-> 400")));
    await assertNothingWritten(dir, root, up);
  });
});

/*
 * Dot segments are a separate test: the engine builds the Request's URL with
 * the WHATWG URL parser, which resolves `..` and `%2e%2e` before routing, so
 * these targets never reach the uploads handler as written.
 */
Deno.test("uploads: dot-segment names (.., %2e%2e, x/../y) are refused with 400 and nothing is written", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
    const { server: s, up } = await uploadServer(dir, root);
    await using server = s;
    const results = await tryNames(server.port, ["..", "%2e%2e", "%2E%2e", ".%2e", "x/../y.txt"]);
    assert.deepEqual(results, results.map((r) => r.replace(/-> \d+$/, "-> 400")));
    await assertNothingWritten(dir, root, up);
  });
});

Deno.test("uploads: --upload-token needs the right bearer token", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
    const { server: s, up } = await uploadServer(dir, root, ["--upload-token", "s3cret"]);
    await using server = s;
    const body = encode("hello\n");

    const anonymous = await put(server.port, "a.txt", body);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.header("www-authenticate") ?? "", /^Bearer /);
    const wrong = await put(server.port, "a.txt", body, "Authorization: Bearer s3cre\r\n");
    assert.equal(wrong.status, 401);
    const basic = await put(server.port, "a.txt", body, "Authorization: Basic czNjcmV0\r\n");
    assert.equal(basic.status, 401);
    assert.deepEqual(await namesIn(up), []);

    const right = await put(server.port, "a.txt", body, "Authorization: Bearer s3cret\r\n");
    assert.equal(right.status, 201, right.text());
    assert.deepEqual(await Deno.readTextFile(join(up, "a.txt")), "hello\n");
  });
});

Deno.test("uploads: SIGKILL of the server mid-upload leaves no partial file; restart removes .part files", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
    const kept = pattern(MIB, 6);
    let up: string;
    {
      const started = await uploadServer(dir, root);
      up = started.up;
      await using server = started.server;
      const created = await put(server.port, "keep.bin", kept);
      assert.equal(created.status, 201);

      using fresh = await startTornUpload(server.port, up, "new.bin", 8 * MIB, pattern(MIB, 7));
      using replacing = await startTornUpload(
        server.port,
        up,
        "keep.bin",
        8 * MIB,
        pattern(MIB, 8),
        "?replace=1",
      );
      server.kill();
      assert.equal((await server.status).signal, "SIGKILL");
      fresh.close();
      replacing.close();
    }
    // The crash left its temp files, and nothing at the target names.
    assert.equal((await partFiles(up)).length, 2, `after the kill: ${await namesIn(up)}`);
    assert.ok(!(await namesIn(up)).includes("new.bin"));
    assertSameBytes(await Deno.readFile(join(up, "keep.bin")), kept, "keep.bin after the kill");

    const { server: s } = await uploadServer(dir, root);
    await using server = s;
    assert.deepEqual(await namesIn(up), ["keep.bin"], "stale .part files removed at start");
    const missing = await fetchOne(server.port, get("/uploads/new.bin"));
    assert.equal(missing.status, 404);
    const list = await fetchOne(server.port, get("/uploads/", "Accept: application/json\r\n"));
    assert.deepEqual(
      (JSON.parse(list.text()) as { name: string }[]).map((f) => f.name),
      ["keep.bin"],
    );
    assertSameBytes(
      (await fetchOne(server.port, get("/uploads/keep.bin"))).body,
      kept,
      "GET keep.bin after the restart",
    );
  });
});

// ---------------------------------------------------------------------------
// 3. TLS.

Deno.test({
  name: HAVE_OPENSSL
    ? "tls: --cert/--key serve HTTPS; a plain-HTTP client does not break the server"
    : "tls: SKIPPED, openssl is not installed (needed to make a self-signed certificate)",
  ignore: !HAVE_OPENSSL,
  fn: async () => {
    await withCopyOf(FIXTURE_ROOT, async (root, dir) => {
      const { certFile, keyFile, certPem } = await makeCertificate(dir);

      await using server = await spawnServer({
        root,
        listenArgs: ["--port", "0"],
        args: ["--cert", certFile, "--key", keyFile],
        allowRead: [certFile, keyFile],
      });
      assert.equal(server.scheme, "https", server.stdoutText());
      assert.match(server.stdoutText(), /listening on https:\/\/127\.0\.0\.1:\d+\//);
      const { port } = server;
      const tlsGet = async () =>
        await exchangeOn(
          await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [certPem] }),
          get("/hello.txt"),
        );

      const first = await tlsGet();
      assert.equal(first.status, 200);
      assert.equal(first.text(), "hello, world\n");

      const client = Deno.createHttpClient({ caCerts: [certPem] });
      try {
        const response = await fetch(`https://127.0.0.1:${port}/hello.txt`, { client });
        assert.equal(response.status, 200);
        assert.equal(await response.text(), "hello, world\n");
        const viaName = await fetch(`https://localhost:${port}/data.json`, { client })
          .catch(() => undefined); // "localhost" may resolve to ::1 first, where nothing listens
        if (viaName !== undefined) {
          assert.equal(viaName.status, 200);
          await viaName.body?.cancel();
        }
      } finally {
        client.close();
      }

      // Plain HTTP on the TLS port: whatever it gets, the server lives on.
      await rawRequest(port, get("/hello.txt"), { halfClose: true, timeoutMs: 3_000 });
      await rawRequest(port, "\x16\x03\x01\x00\x05hello", { halfClose: true, timeoutMs: 3_000 });
      await delay(100);
      assert.ok(!server.exited, `the server exited: ${server.stderrText()}`);
      const after = await tlsGet();
      assert.equal(after.status, 200);
      assert.equal(after.text(), "hello, world\n");
      assert.ok(!/Uncaught|panicked/.test(server.stderrText()), server.stderrText());
    });
  },
});

// ---------------------------------------------------------------------------
// 4. Options.

Deno.test("options: --header is on 200, 304 and 404 responses", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    await using server = await spawnServer({ root, args: ["--header", "X-Test: yes"] });
    const ok = await fetchOne(server.port, get("/hello.txt"));
    assert.equal(ok.status, 200);
    assert.equal(ok.header("x-test"), "yes");
    const etag = ok.header("etag");
    assert.ok(etag !== null);

    const notModified = await fetchOne(
      server.port,
      get("/hello.txt", `If-None-Match: ${etag}\r\n`),
    );
    assert.equal(notModified.status, 304);
    assert.equal(notModified.header("x-test"), "yes");

    const missing = await fetchOne(server.port, get("/nope.txt"));
    assert.equal(missing.status, 404);
    assert.equal(missing.header("x-test"), "yes");
    const missingHtml = await fetchOne(server.port, get("/nope", "Accept: text/html\r\n"));
    assert.equal(missingHtml.status, 404);
    assert.equal(missingHtml.header("x-test"), "yes");
  });
});

Deno.test("options: --spa serves the app for navigations only", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    const index = await Deno.readTextFile(join(root, "index.html"));
    await using server = await spawnServer({ root, args: ["--spa", "index.html"] });

    const route = await fetchOne(server.port, get("/some/route", "Accept: text/html\r\n"));
    assert.equal(route.status, 200);
    assert.match(route.header("content-type") ?? "", /^text\/html/);
    assert.equal(route.text(), index);

    const script = await fetchOne(server.port, get("/missing.js", "Accept: text/html\r\n"));
    assert.equal(script.status, 404);
    const api = await fetchOne(server.port, get("/some/route", "Accept: application/json\r\n"));
    assert.equal(api.status, 404);
    assert.ok(!api.text().includes("fixture index"));
    // A real file is still itself.
    assert.equal((await fetchOne(server.port, get("/hello.txt"))).text(), "hello, world\n");
  });
});

Deno.test("options: a 404.html in the root is the 404 page for browsers", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    const page = "<!doctype html><title>Lost</title><p>custom not found</p>\n";
    await Deno.writeTextFile(join(root, "404.html"), page);
    await using server = await spawnServer({ root });

    const browser = await fetchOne(server.port, get("/missing/page", "Accept: text/html\r\n"));
    assert.equal(browser.status, 404);
    assert.match(browser.header("content-type") ?? "", /^text\/html/);
    assert.equal(browser.text(), page);

    const program = await fetchOne(
      server.port,
      get("/missing/page", "Accept: application/json\r\n"),
    );
    assert.equal(program.status, 404);
    assert.ok(!program.text().includes("custom not found"));
  });
});

Deno.test("options: --log-format json writes one JSON object per access line", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    await using server = await spawnServer({ root, args: ["--log-format", "json"] });
    await fetchOne(server.port, get("/hello.txt"));
    await fetchOne(server.port, get("/nope.txt"));
    assert.ok(
      await waitFor(() => accessLines(server.stdoutText()).length >= 2, LOG_TIMEOUT_MS),
      server.stdoutText(),
    );
    const entries = accessLines(server.stdoutText()).map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON access line: ${JSON.stringify(line)}`);
      }
    });
    assert.deepEqual(
      entries.map((e) => [e.request, e.status, e.bytes]),
      [["GET /hello.txt HTTP/1.1", 200, 13], [
        "GET /nope.txt HTTP/1.1",
        404,
        entries[1]?.bytes,
      ]],
    );
    assert.equal(typeof entries[1]?.bytes, "number");
  });
});

Deno.test("options: --log-format combined quotes the referer and user agent", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    await using server = await spawnServer({ root, args: ["--log-format", "combined"] });
    await fetchOne(
      server.port,
      get("/hello.txt", 'Referer: http://ref.example/a\r\nUser-Agent: tester/1.0 "x"\r\n'),
    );
    await fetchOne(server.port, get("/data.json"));
    assert.ok(
      await waitFor(() => accessLines(server.stdoutText()).length >= 2, LOG_TIMEOUT_MS),
      server.stdoutText(),
    );
    const [first, second] = accessLines(server.stdoutText());
    assert.match(
      first!,
      /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/hello\.txt HTTP\/1\.1" 200 13 "http:\/\/ref\.example\/a" "tester\/1\.0 \\"x\\""$/,
    );
    assert.match(second!, /"GET \/data\.json HTTP\/1\.1" 200 \d+ "-" "-"$/);
  });
});

Deno.test("options: --quiet prints no access lines", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    await using server = await spawnServer({ root, args: ["--quiet"] });
    assert.equal((await fetchOne(server.port, get("/hello.txt"))).status, 200);
    assert.equal((await fetchOne(server.port, get("/nope"))).status, 404);
    await delay(300); // six flush intervals
    assert.deepEqual(accessLines(server.stdoutText()), []);
    assert.match(server.stdoutText(), /listening on http:/, "the banner is still printed");
  });
});

Deno.test("options: --cors lets any origin read responses", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    await using server = await spawnServer({ root, args: ["--cors"] });
    const ok = await fetchOne(
      server.port,
      get("/hello.txt", "Origin: https://other.example\r\n"),
    );
    assert.equal(ok.status, 200);
    assert.equal(ok.header("access-control-allow-origin"), "*");
    const missing = await fetchOne(server.port, get("/nope.txt"));
    assert.equal(missing.header("access-control-allow-origin"), "*");
  });
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    await using server = await spawnServer({ root });
    const plain = await fetchOne(
      server.port,
      get("/hello.txt", "Origin: https://other.example\r\n"),
    );
    assert.equal(plain.header("access-control-allow-origin"), null, "no CORS without --cors");
  });
});

Deno.test({
  name: HAVE_IPV6
    ? "options: --host ::1 serves on the IPv6 loopback"
    : "options: --host ::1 SKIPPED, this host cannot listen on the IPv6 loopback",
  ignore: !HAVE_IPV6,
  fn: async () => {
    await withCopyOf(FIXTURE_ROOT, async (root) => {
      await using server = await spawnServer({
        root,
        listenArgs: ["--port", "0", "--host", "::1"],
        allowNet: "[::1]",
      });
      assert.equal(server.hostname, "[::1]", server.stdoutText());
      const response = await exchangeOn(
        await Deno.connect({ hostname: "::1", port: server.port }),
        `GET /hello.txt HTTP/1.1\r\nHost: [::1]:${server.port}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(response.status, 200);
      assert.equal(response.text(), "hello, world\n");
    });
  },
});

Deno.test("options: MINSERVE_PORT is used without --port and ignored with it", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    {
      const port = freePort();
      await using server = await spawnServer({
        root,
        listenArgs: [],
        env: { MINSERVE_PORT: String(port) },
      });
      assert.equal(server.port, port, server.stdoutText());
      const response = await fetchOne(port, get("/hello.txt"));
      assert.equal(response.status, 200);
    }
    {
      // The variable names a port that is taken: the server can start only if it ignores it.
      using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const takenPort = (taken.addr as Deno.NetAddr).port;
      await using server = await spawnServer({
        root,
        listenArgs: ["--port", "0"],
        env: { MINSERVE_PORT: String(takenPort) },
      });
      assert.notEqual(server.port, takenPort, server.stdoutText());
      assert.equal((await fetchOne(server.port, get("/hello.txt"))).status, 200);
    }
  });
});

Deno.test("options: NO_COLOR=1 keeps escape codes out of the banner", async () => {
  await withCopyOf(FIXTURE_ROOT, async (root) => {
    await using server = await spawnServer({ root, env: { NO_COLOR: "1" } });
    assert.doesNotMatch(server.stdoutText(), ESCAPE);
  });
});

Deno.test({
  name: HAVE_SCRIPT
    ? "options: NO_COLOR=1 keeps escape codes out of the banner on a terminal too"
    : "options: NO_COLOR on a terminal SKIPPED, util-linux `script` is not installed",
  ignore: !HAVE_SCRIPT,
  fn: async () => {
    await withCopyOf(FIXTURE_ROOT, async (root) => {
      const options = {
        root,
        listenArgs: ["--port", "0"],
        terminal: true,
        unsetEnv: ["NO_COLOR"],
      };
      {
        // The control: on a terminal, without NO_COLOR, the URL is coloured.
        await using server = await spawnServer({ ...options, allowEnv: ["NO_COLOR"] });
        assert.match(server.stdoutText(), ESCAPE, "colour on a terminal");
      }
      {
        await using server = await spawnServer({ ...options, env: { NO_COLOR: "1" } });
        assert.doesNotMatch(server.stdoutText(), ESCAPE);
        assert.equal((await fetchOne(server.port, get("/hello.txt"))).status, 200);
      }
    });
  },
});

// ---------------------------------------------------------------------------
// 5. /time and templates.

Deno.test("pages: /time is never cached; templates escape query values", async () => {
  await withCopyOf(WWW_ROOT, async (root) => {
    await using server = await spawnServer({ root });
    const time = await fetchOne(server.port, get("/time"));
    assert.equal(time.status, 200);
    assert.equal(time.header("cache-control"), "no-store");
    const json = await fetchOne(server.port, get("/time", "Accept: application/json\r\n"));
    assert.equal(json.header("cache-control"), "no-store");
    assert.ok(typeof (JSON.parse(json.text()) as { unix_ms: unknown }).unix_ms === "number");

    const greet = await fetchOne(
      server.port,
      get("/greet.tmpl.html?name=%3Cscript%3E"),
    );
    assert.equal(greet.status, 200);
    const page = greet.text();
    assert.ok(page.includes("Hello, &lt;script&gt;!"), "the name is escaped");
    assert.ok(!page.includes("<script>"));
    assert.ok(!page.includes("{{"), "no placeholder left, none injected");
    assert.ok(!greet.rawHead.includes("{{"));

    // A value that looks like a placeholder is shown as sent, never expanded.
    const nested = await fetchOne(
      server.port,
      get("/greet.tmpl.html?name=Ann&color=%7B%7Bname%7D%7D"),
    );
    assert.ok(nested.text().includes("<strong>{{name}}</strong>"), "shown as text");
    assert.ok(!nested.text().includes("<strong>Ann</strong>"), "not expanded");

    const plain = await fetchOne(server.port, get("/greet.tmpl.html"));
    assert.equal(plain.status, 200);
    assert.ok(plain.text().includes("Hello, stranger!"));
    assert.ok(!plain.text().includes("{{"));
  });
});
