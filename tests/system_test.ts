/**
 * system_test.ts — the whole system: the real server (`main.ts`) as a subprocess, with the narrow
 * permissions a user would give it (`--allow-net=127.0.0.1
 * --allow-read=<root>`), spoken to over raw sockets.
 *
 * Every test serves a fresh copy of `tests/fixtures/root` laid out as
 * `<tmp>/root/…`, with `<tmp>/secret.txt` beside the root holding a unique
 * canary string: no response may ever carry it. Tests that wait for a
 * timeout pass short `--idle-timeout` / `--request-timeout` values, so each
 * wait is bounded in seconds.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { decode, encode } from "./_support/bytes.ts";
import { Client } from "./_support/client.ts";
import { copy } from "./_support/fs.ts";
import { FIXTURE_ROOT } from "./_support/paths.ts";
import { cpuSeconds, hasProc } from "./_support/proc.ts";
import bcrypt from "bcryptjs";
import {
  type ParsedResponse,
  parseResponses,
  rawRequest,
  runMain,
  type RunResult,
  spawnServer,
  withTempDir,
} from "./_support/server.ts";
import { delay, waitFor } from "./_support/wait.ts";

/** How long a client read waits unless told otherwise. Past it the test fails. */
const READ_TIMEOUT_MS = 3_000;
/** Size of the large file used for aborted and slow downloads. */
const BIG_FILE_BYTES = 4 * 1024 * 1024;
/** RFC 9110 §5.6.7 IMF-fixdate. */
const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
/** A stack-trace or uncaught-error line on stderr. */
const STACK_TRACE = /Error|^ {4}at /m;

/** Site is one test's document tree. */
interface Site {
  /** The temp dir: `root/` and `secret.txt` live here. */
  dir: string;
  /** The document root given to the server. */
  root: string;
  /** The text of `<dir>/secret.txt`, outside the root. */
  canary: string;
}

/** withSite builds `<tmp>/root` (a copy of the fixtures) and `<tmp>/secret.txt`, then calls `fn`. */
function withSite<T>(fn: (site: Site) => Promise<T>): Promise<T> {
  return withTempDir(async (dir) => {
    const root = join(dir, "root");
    await copy(FIXTURE_ROOT, root);
    const canary = `CANARY-${crypto.randomUUID()}`;
    await Deno.writeTextFile(join(dir, "secret.txt"), `${canary}\n`);
    return await fn({ dir, root, canary });
  });
}

/** writeBigFile writes BIG_FILE_BYTES of a non-repeating-looking pattern to `path` and returns them. */
async function writeBigFile(path: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(BIG_FILE_BYTES);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >>> 13)) & 0xff;
  await Deno.writeFile(path, bytes);
  return bytes;
}

/** get builds a GET request for `target` with a Host field and `extra` header lines. */
function get(target: string, extra = ""): string {
  return `GET ${target} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;
}

/** fetchOne sends one request on a fresh connection (closing it after) and parses the one response. */
async function fetchOne(port: number, request: string): Promise<ParsedResponse> {
  const bytes = await rawRequest(port, request, { halfClose: true });
  const responses = parseResponses(bytes);
  assert.equal(responses.length, 1, `expected one response, got:\n${decode(bytes)}`);
  return responses[0]!;
}

/** getOne fetches `target` with `Connection: close`. */
function getOne(port: number, target: string): Promise<ParsedResponse> {
  return fetchOne(port, get(target, "Connection: close\r\n"));
}

/** connect opens a raw client whose reads wait READ_TIMEOUT_MS unless told otherwise. */
function connect(port: number): Promise<Client> {
  return Client.connect(port, { readTimeoutMs: READ_TIMEOUT_MS });
}

/** assertOneLineError checks a start-up failure: exit 1, one `minserve:` line on stderr, no trace. */
function assertOneLineError(result: RunResult, what: RegExp): void {
  assert.equal(result.code, 1, `exit code; stderr:\n${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `stderr should be one line:\n${result.stderr}`);
  assert.match(lines[0]!, /^minserve: /);
  assert.match(lines[0]!, what);
  assert.doesNotMatch(result.stderr, / {4}at /);
  assert.doesNotMatch(result.stdout, /listening on/);
}

Deno.test("GET a file: exact body, Content-Length, Date, Server, and an access-log line", async () => {
  await withSite(async ({ root }) => {
    await using server = await spawnServer({ root });
    const bytes = await rawRequest(server.port, get("/hello.txt", "Connection: close\r\n"));
    const [res, ...rest] = parseResponses(bytes);
    assert.equal(rest.length, 0);
    assert.ok(res);
    assert.equal(res.version, "HTTP/1.1");
    assert.equal(res.status, 200);
    assert.equal(res.text(), "hello, world\n");
    assert.equal(res.framing, "content-length");
    assert.equal(res.header("content-length"), "13");
    assert.match(res.header("content-type") ?? "", /^text\/plain; ?charset=utf-8$/i);
    const date = res.header("date") ?? "";
    assert.match(date, IMF_FIXDATE);
    assert.ok(Math.abs(Date.parse(date) - Date.now()) < 5_000, `Date ${date} is not now`);
    assert.match(res.header("server") ?? "", /^minserve\/\S+$/);

    // RFC common log format: host ident authuser [date] "request-line" status bytes
    const line =
      /^127\.0\.0\.1 - - \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET \/hello\.txt HTTP\/1\.1" 200 13$/m;
    const logged = await waitFor(() => line.test(server.stdoutText()), 1_000);
    assert.ok(logged, `no access-log line on stdout:\n${server.stdoutText()}`);
  });
});

Deno.test("keep-alive: HTTP/1.1 persists; HTTP/1.0 closes unless it asks for keep-alive", async (t) => {
  await withSite(async ({ root }) => {
    await using server = await spawnServer({ root });

    await t.step("three requests in turn on one HTTP/1.1 connection", async () => {
      using client = await connect(server.port);
      const targets = ["/hello.txt", "/data.json", "/sub/page.html"];
      for (const [i, target] of targets.entries()) {
        await client.send(get(target));
        const responses = await client.responses(i + 1);
        const res = responses[i]!;
        assert.equal(res.status, 200, target);
        assert.deepEqual(res.body, await Deno.readFile(join(root, target)));
        assert.notEqual(res.header("connection")?.toLowerCase(), "close");
      }
      assert.equal(client.eof, false);
    });

    await t.step("HTTP/1.0 without Connection closes after the response", async () => {
      const start = Date.now();
      const bytes = await rawRequest(server.port, "GET /hello.txt HTTP/1.0\r\n\r\n");
      assert.ok(Date.now() - start < 2_000, "the server did not close the HTTP/1.0 connection");
      const [res, ...rest] = parseResponses(bytes);
      assert.equal(rest.length, 0);
      assert.equal(res?.status, 200);
      assert.equal(res?.text(), "hello, world\n");
      assert.notEqual(res?.header("connection")?.toLowerCase(), "keep-alive");
    });

    await t.step("HTTP/1.0 with Connection: keep-alive persists and says so", async () => {
      using client = await connect(server.port);
      await client.send("GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      const [first] = await client.responses(1);
      assert.equal(first?.status, 200);
      assert.equal(first?.header("connection")?.toLowerCase(), "keep-alive");
      assert.equal(first?.text(), "hello, world\n");
      await client.send("GET /data.json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      const [, second] = await client.responses(2);
      assert.equal(second?.status, 200);
      assert.equal(second?.text(), '{"ok":true}\n');
    });
  });
});

Deno.test("pipelining: ten requests in one write are answered in order", async (t) => {
  await withSite(async ({ root }) => {
    await using server = await spawnServer({ root });

    await t.step("GETs, a HEAD and a 404, all in one write", async () => {
      const requests: [method: string, target: string, status: number][] = [
        ["GET", "/hello.txt", 200],
        ["GET", "/data.json", 200],
        ["GET", "/style.css", 200],
        ["GET", "/sub/page.html", 200],
        ["HEAD", "/hello.txt", 200],
        ["GET", "/nested/deep/file.txt", 200],
        ["GET", "/missing.txt", 404],
        ["GET", "/noext", 200],
        ["GET", "/UPPER.TXT", 200],
        ["GET", "/with%20space.txt", 200],
      ];
      using client = await connect(server.port);
      await client.send(
        requests.map(([method, target]) => `${method} ${target} HTTP/1.1\r\nHost: a\r\n\r\n`)
          .join(""),
      );
      const responses = await client.responses(requests.length, {
        headMethods: requests.map(([method]) => method),
      });
      assert.equal(responses.length, requests.length);
      for (const [i, [method, target, status]] of requests.entries()) {
        const res = responses[i]!;
        assert.equal(res.status, status, `${method} ${target}`);
        if (status !== 200) continue;
        const file = await Deno.readFile(join(root, decodeURIComponent(target)));
        assert.equal(res.header("content-length"), String(file.length), target);
        assert.deepEqual(res.body, method === "HEAD" ? new Uint8Array(0) : file, target);
      }
    });

    await t.step("200 requests in one write, more than the read buffer holds", async () => {
      const count = 200;
      const raw = Array.from({ length: count }, (_, i) => get(`/hello.txt?n=${i}`)).join("") +
        get("/data.json", "Connection: close\r\n");
      const bytes = await rawRequest(server.port, raw);
      const responses = parseResponses(bytes);
      assert.equal(responses.length, count + 1);
      assert.ok(responses.slice(0, count).every((r) => r.text() === "hello, world\n"));
      assert.equal(responses[count]?.text(), '{"ok":true}\n');
    });

    await t.step("a streamed 4 MiB response, a HEAD of it, then a small GET", async () => {
      const big = await writeBigFile(join(root, "big.bin"));
      const raw = get("/big.bin") + `HEAD /big.bin HTTP/1.1\r\nHost: a\r\n\r\n` +
        get("/hello.txt", "Connection: close\r\n");
      const bytes = await rawRequest(server.port, raw);
      const responses = parseResponses(bytes, { headMethods: ["GET", "HEAD", "GET"] });
      assert.deepEqual(responses.map((r) => r.status), [200, 200, 200]);
      assert.equal(responses[0]?.body.length, BIG_FILE_BYTES);
      assert.ok(responses[0]?.body.every((b, i) => b === big[i]), "the big body differs");
      assert.equal(responses[1]?.header("content-length"), String(BIG_FILE_BYTES));
      assert.equal(responses[1]?.body.length, 0);
      assert.equal(responses[2]?.text(), "hello, world\n");
    });

    await t.step("Connection: close in the middle stops processing", async () => {
      const raw = get("/hello.txt") + get("/data.json") + get("/noext") +
        get("/UPPER.TXT", "Connection: close\r\n") + get("/hello.txt") + get("/data.json");
      const start = Date.now();
      const bytes = await rawRequest(server.port, raw);
      assert.ok(Date.now() - start < 2_500, "the server did not close after Connection: close");
      const responses = parseResponses(bytes);
      assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200]);
      assert.deepEqual(responses.map((r) => r.text()), [
        "hello, world\n",
        '{"ok":true}\n',
        await Deno.readTextFile(join(root, "noext")),
        await Deno.readTextFile(join(root, "UPPER.TXT")),
      ]);
      assert.equal(responses[3]?.header("connection")?.toLowerCase(), "close");
    });
  });
});

Deno.test("a request body is never read as a request: POST to a static file gets 405", async (t) => {
  await withSite(async ({ root }) => {
    await using server = await spawnServer({ root });
    const smuggled = get("/hello.txt");
    const bodies: [name: string, head: string, body: string][] = [
      ["Content-Length body", `Content-Length: ${smuggled.length}\r\n`, smuggled],
      [
        "chunked body",
        "Transfer-Encoding: chunked\r\n",
        `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
      ],
    ];
    for (const [name, head, body] of bodies) {
      await t.step(name, async () => {
        const raw = `POST /hello.txt HTTP/1.1\r\nHost: localhost\r\n${head}\r\n${body}`;
        const bytes = await rawRequest(server.port, raw, { halfClose: true });
        const responses = parseResponses(bytes);
        assert.equal(responses.length, 1, `expected one response, got:\n${decode(bytes)}`);
        const res = responses[0]!;
        assert.equal(res.status, 405);
        assert.match(res.header("allow") ?? "", /\bGET\b/);
        assert.doesNotMatch(decode(bytes), /hello, world/);
      });
      await t.step(`${name}, then a pipelined GET`, async () => {
        const raw = `POST /hello.txt HTTP/1.1\r\nHost: localhost\r\n${head}\r\n${body}` +
          get("/data.json", "Connection: close\r\n");
        const bytes = await rawRequest(server.port, raw);
        const responses = parseResponses(bytes);
        // Answering the GET is optional (the server may close after the 405), but
        // if there is a second response it must be the GET's, and nothing else.
        assert.ok(responses.length === 1 || responses.length === 2, decode(bytes));
        assert.equal(responses[0]?.status, 405);
        if (responses.length === 2) {
          assert.equal(responses[1]?.status, 200);
          assert.equal(responses[1]?.text(), '{"ok":true}\n');
        }
        assert.doesNotMatch(decode(bytes), /hello, world/);
      });
    }
  });
});

Deno.test("path traversal: no target reaches a file beside the root", async (t) => {
  await withSite(async ({ dir, root, canary }) => {
    await using server = await spawnServer({ root });
    const targets = [
      "/../secret.txt",
      "/../../secret.txt",
      "/./../secret.txt",
      "/sub/../../secret.txt",
      "/%2e%2e/secret.txt",
      "/%2E%2E/secret.txt",
      "/.%2e/secret.txt",
      "/%2e%2e/%2e%2e/secret.txt",
      "/..%2fsecret.txt",
      "/%2e%2e%2fsecret.txt",
      "/sub/..%2f..%2fsecret.txt",
      "/..%5csecret.txt",
      "/%2e%2e%5csecret.txt",
      "/..\\secret.txt",
      "/sub\\..\\..\\secret.txt",
      "//..//secret.txt",
      "/%c0%ae%c0%ae/secret.txt",
      "/..%c0%afsecret.txt",
      "/%u002e%u002e/secret.txt",
      "/..%00/secret.txt",
      "/%00/../secret.txt",
      "/%252e%252e/secret.txt",
      "/..%255csecret.txt",
      "/..;/secret.txt",
      "http://localhost/%2e%2e/secret.txt",
      "http://localhost/../secret.txt",
      "../secret.txt",
      "secret.txt",
      `/${dir.replace(/^\//, "")}/secret.txt`,
      `/..${dir}/secret.txt`,
    ];
    for (const target of targets) {
      await t.step(target, async () => {
        const bytes = await rawRequest(
          server.port,
          `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
          { halfClose: true },
        );
        const text = decode(bytes);
        assert.ok(!text.includes(canary), `the canary leaked for ${target}:\n${text}`);
        const responses = parseResponses(bytes);
        assert.equal(responses.length, 1, text);
        assert.ok(
          [301, 308, 400, 403, 404].includes(responses[0]!.status),
          `unexpected status for ${target}:\n${text}`,
        );
      });
    }
    assert.ok(!server.stdoutText().includes(canary));
    assert.ok(!server.stderrText().includes(canary));
  });
});

Deno.test("symlinks are followed inside the root only", async (t) => {
  await withSite(async ({ root, canary }) => {
    await Deno.symlink("../secret.txt", join(root, "out.txt"));
    await Deno.symlink("..", join(root, "up"));
    await Deno.symlink("hello.txt", join(root, "in.txt"));
    await Deno.symlink("sub", join(root, "linked"));
    await using server = await spawnServer({ root });

    for (const target of ["/out.txt", "/up/secret.txt", "/up/"]) {
      await t.step(`${target} points outside: 404`, async () => {
        const res = await getOne(server.port, target);
        assert.equal(res.status, 404);
        assert.ok(!decode(res.body).includes(canary));
        assert.ok(!decode(res.body).includes("secret.txt"));
      });
    }
    await t.step("/in.txt points to hello.txt: served", async () => {
      const res = await getOne(server.port, "/in.txt");
      assert.equal(res.status, 200);
      assert.equal(res.text(), "hello, world\n");
    });
    await t.step("/up/root/hello.txt leaves the root and comes back in: served", async () => {
      // The check is on the real path, which lies inside the root.
      const res = await getOne(server.port, "/up/root/hello.txt");
      assert.equal(res.status, 200);
      assert.equal(res.text(), "hello, world\n");
    });
    await t.step("/linked/page.html goes through a directory link inside: served", async () => {
      const res = await getOne(server.port, "/linked/page.html");
      assert.equal(res.status, 200);
      assert.equal(res.text(), await Deno.readTextFile(join(root, "sub", "page.html")));
    });
  });
});

Deno.test("error pages are HTML and echo neither the server's paths nor the request", async (t) => {
  await withSite(async ({ dir, root }) => {
    await using server = await spawnServer({ root });
    const marker = "zq7marker";
    const cases: [name: string, raw: string, status: number][] = [
      ["404 for a missing file", get(`/no-such-${marker}.txt`), 404],
      ["404 for markup in the path", get(`/<script>alert(1)</script>${marker}`), 404],
      ["400 for bad percent-encoding", get(`/%zz${marker}`), 400],
      [
        "400 for a malformed header",
        `GET /${marker} HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n`,
        400,
      ],
    ];
    for (const [name, raw, status] of cases) {
      await t.step(name, async () => {
        const res = await fetchOne(server.port, raw);
        assert.equal(res.status, status);
        assert.match(res.header("content-type") ?? "", /^text\/html\b/);
        const body = res.text();
        assert.match(body, /<html/i);
        assert.ok(!body.includes(dir), `the page shows the temp dir:\n${body}`);
        assert.ok(!body.includes(root), `the page shows the root:\n${body}`);
        assert.ok(!body.includes(marker), `the page echoes the target:\n${body}`);
        assert.ok(!body.includes("<script"), `the page echoes markup:\n${body}`);
      });
    }
  });
});

Deno.test("malformed requests get their status, and the server keeps serving", async (t) => {
  await withSite(async ({ root }) => {
    await using server = await spawnServer({ root });
    const cases: [name: string, raw: string, status: number][] = [
      ["bad request line", "GARBAGE\r\n\r\n", 400],
      ["missing target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", 400],
      ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
      ["9 KiB target", get(`/${"a".repeat(9 * 1024)}`), 414],
      ["40 KiB header", get("/", `X-Big: ${"b".repeat(40 * 1024)}\r\n`), 431],
      [
        "Content-Length: 1, 2",
        "POST /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\nxx",
        400,
      ],
      [
        "Content-Length and Transfer-Encoding",
        "POST /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
      ],
      [
        "two Content-Length fields",
        "POST /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nxx",
        400,
      ],
      ["missing Host on HTTP/1.1", "GET /hello.txt HTTP/1.1\r\n\r\n", 400],
      ["bare LF line ends", "GET /hello.txt HTTP/1.1\nHost: a\n\n", 400],
      ["space before the colon", "GET /hello.txt HTTP/1.1\r\nHost : a\r\n\r\n", 400],
      ["obs-fold", "GET /hello.txt HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400],
      ["NUL in a header value", "GET /hello.txt HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n", 400],
      ["unknown expectation", get("/hello.txt", "Expect: teapot\r\n"), 417],
      ["binary garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400],
    ];
    for (const [name, raw, status] of cases) {
      await t.step(name, async () => {
        const bytes = await rawRequest(server.port, raw, { halfClose: true });
        const responses = parseResponses(bytes);
        assert.equal(responses.length, 1, `expected one response, got:\n${decode(bytes)}`);
        assert.equal(responses[0]?.status, status);
        assert.equal(responses[0]?.header("connection")?.toLowerCase(), "close");

        const after = await getOne(server.port, "/hello.txt");
        assert.equal(after.status, 200);
        assert.equal(after.text(), "hello, world\n");
      });
    }
  });
});

Deno.test("--max-body 100: the route decides first (405 for a file); a route that reads gets 413 before the body", async () => {
  await withSite(async ({ root, dir }) => {
    const data = join(dir, "data");
    await Deno.mkdir(data);
    await using server = await spawnServer({
      root,
      args: ["--max-body", "100", "--data-dir", data],
      allowRead: [data],
      allowWrite: [data],
    });
    for (const [target, status] of [["/hello.txt", 405], ["/board", 413]] as const) {
      using client = await connect(server.port);
      await client.send(
        `POST ${target} HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n` +
          "Content-Type: application/x-www-form-urlencoded\r\n\r\n",
      );
      const [res, ...rest] = await client.responses(1, { timeoutMs: 2_000 });
      assert.equal(rest.length, 0);
      assert.equal(res?.status, status, target);
      assert.equal(res?.header("connection")?.toLowerCase(), "close");
      await client.untilEof(3_000);
    }
  });
});

Deno.test("Expect: 100-continue to a static file: a final 405, no 100, and the connection closes", async () => {
  await withSite(async ({ root }) => {
    await using server = await spawnServer({ root });
    using client = await connect(server.port);
    await client.send(
      "POST /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
    );
    const responses = await client.responses(1);
    assert.equal(responses[0]?.status, 405, decode(client.bytes));
    assert.match(responses[0]?.header("allow") ?? "", /\bGET\b/);
    assert.equal(responses[0]?.header("connection")?.toLowerCase(), "close");
    await client.untilEof(3_000);
    assert.equal(parseResponses(client.bytes).length, 1, decode(client.bytes));
    assert.doesNotMatch(decode(client.bytes), /^HTTP\/1\.1 100/m);
  });
});

Deno.test("timeouts: a stalled head gets 408 without delaying others; an idle connection closes", async (t) => {
  await withSite(async ({ root }) => {
    await using server = await spawnServer({
      root,
      args: ["--request-timeout", "1", "--idle-timeout", "1"],
    });
    let timeoutBodyBytes = -1;

    await t.step(
      "half a head: 408 and close within ~3 s; another client is served at once",
      async () => {
        using slow = await connect(server.port);
        const start = Date.now();
        await slow.send("GET /hello.txt HTTP/1.1\r\nHo");
        await delay(100);

        const otherStart = Date.now();
        const other = await getOne(server.port, "/hello.txt");
        const otherMs = Date.now() - otherStart;
        assert.equal(other.status, 200);
        assert.ok(otherMs < 1_000, `another client waited ${otherMs} ms behind the stalled one`);

        await slow.untilEof(5_000);
        const elapsed = Date.now() - start;
        assert.ok(elapsed < 3_000, `the stalled connection lasted ${elapsed} ms`);
        const responses = parseResponses(slow.bytes);
        assert.equal(responses.length, 1, decode(slow.bytes));
        assert.equal(responses[0]?.status, 408);
        timeoutBodyBytes = responses[0]?.body.length ?? 0;
      },
    );

    await t.step("the 408 has an access-log line with the body bytes sent", async () => {
      // Common log format: the last field is the size of the body sent ("-" for none).
      const line = new RegExp(`"-" 408 ${timeoutBodyBytes}$`, "m");
      const logged = await waitFor(() => line.test(server.stdoutText()), 1_000);
      assert.ok(logged, `no line matching ${line} on stdout:\n${server.stdoutText()}`);
    });

    await t.step("a connection that sends nothing is closed within ~3 s", async () => {
      using idle = await connect(server.port);
      const elapsed = await idle.untilEof(5_000);
      assert.ok(elapsed < 3_000, `the idle connection lasted ${elapsed} ms`);
      assert.equal(idle.bytes.length, 0, decode(idle.bytes));
    });

    await t.step(
      "a body shorter than its Content-Length does not hang the connection",
      async () => {
        using short = await connect(server.port);
        await short.send(
          "POST /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789",
        );
        const elapsed = await short.untilEof(8_000);
        assert.ok(elapsed < 5_000, `the connection lasted ${elapsed} ms`);
      },
    );
  });
});

Deno.test("--max-connections 2, both busy: a third connection gets 503 with Retry-After", async (t) => {
  await withSite(async ({ root }) => {
    // Two downloads that are never read hold both slots busy (an idle
    // connection would give way to a newcomer instead: overload_test.ts).
    await Deno.writeFile(join(root, "big.bin"), new Uint8Array(0));
    await Deno.truncate(join(root, "big.bin"), 256 * 1024 * 1024); // sparse
    await using server = await spawnServer({ root, args: ["--max-connections", "2"] });
    using a = await connect(server.port);
    using b = await connect(server.port);
    for (const client of [a, b]) await client.send(get("/big.bin"));
    await delay(300);

    await t.step("the third connection gets 503 with Retry-After", async () => {
      const bytes = await rawRequest(server.port, get("/hello.txt"), { timeoutMs: 3_000 });
      const responses = parseResponses(bytes);
      assert.equal(responses.length, 1, decode(bytes));
      assert.equal(responses[0]?.status, 503);
      assert.match(responses[0]?.header("retry-after") ?? "", /^\d+$/);
    });

    await t.step("the 503 has an access-log line", async () => {
      const line = / 503 \S+$/m;
      const logged = await waitFor(() => line.test(server.stdoutText()), 1_000);
      assert.ok(logged, `no 503 line on stdout:\n${server.stdoutText()}`);
    });

    await t.step("once one of the two leaves, a new connection is served", async () => {
      a.close();
      let status = 0;
      const deadline = Date.now() + 2_000;
      while (status !== 200 && Date.now() < deadline) {
        const again = parseResponses(
          await rawRequest(server.port, get("/hello.txt", "Connection: close\r\n")),
        );
        status = again[0]?.status ?? 0;
        if (status !== 200) await delay(50);
      }
      assert.equal(status, 200, "a slot did not free up after a connection closed");
    });
  });
});

Deno.test("clients that give up mid-request or mid-download leave the server healthy and quiet", async () => {
  await withSite(async ({ root }) => {
    await writeBigFile(join(root, "big.bin"));
    await using server = await spawnServer({ root });

    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
        try {
          await conn.write(encode(`GET /hello.txt?${i} HTTP/1.1\r\nHost: a\r\nX-Partial: `));
        } finally {
          conn.close();
        }
      }),
    );
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        using client = await connect(server.port);
        await client.send(get("/big.bin"));
        assert.notEqual(await client.read(1024), null);
        // Closing with unread data makes the kernel send a reset.
      }),
    );
    await delay(300);

    const bytes = await rawRequest(server.port, get("/hello.txt", "Connection: close\r\n"));
    const [res, ...rest] = parseResponses(bytes);
    assert.equal(rest.length, 0);
    assert.equal(res?.status, 200);
    assert.equal(res?.header("content-length"), "13");
    assert.equal(res?.text(), "hello, world\n");
    assert.doesNotMatch(server.stderrText(), STACK_TRACE, server.stderrText());
  });
});

Deno.test("graceful shutdown: a download in flight completes, idle connections close, exit 0", async () => {
  await withSite(async ({ root }) => {
    const big = await writeBigFile(join(root, "big.bin"));
    await using server = await spawnServer({ root, args: ["--shutdown-grace", "10"] });

    using idle = await connect(server.port);
    await idle.send(get("/hello.txt"));
    assert.equal((await idle.responses(1))[0]?.status, 200);

    using download = await connect(server.port);
    await download.send(get("/big.bin"));
    assert.notEqual(await download.read(16 * 1024), null);

    // Let the socket buffers fill: the server is now blocked mid-response.
    await delay(200);
    assert.doesNotMatch(server.stdoutText(), /big\.bin/, "the download ended before SIGTERM");
    server.signal("SIGTERM");
    const signalled = Date.now();

    // The idle keep-alive connection is closed.
    const idleClosed = idle.untilEof(3_000);
    // New connections are refused soon after.
    const refused = (async () => {
      const deadline = Date.now() + 2_000;
      while (Date.now() < deadline) {
        try {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
          conn.close();
        } catch (err) {
          if (err instanceof Deno.errors.ConnectionRefused) return Date.now() - signalled;
          throw err;
        }
        await delay(50);
      }
      throw new Error("new connections were still accepted 2 s after SIGTERM");
    })();
    // Meanwhile the download goes on, read slowly.
    const downloaded = (async () => {
      for (;;) {
        await delay(2);
        if ((await download.read(32 * 1024)) === null) return;
      }
    })();

    await Promise.all([idleClosed, refused, downloaded]);
    const [res, ...rest] = parseResponses(download.bytes);
    assert.equal(rest.length, 0);
    assert.equal(res?.status, 200);
    assert.equal(res?.header("content-length"), String(BIG_FILE_BYTES));
    assert.equal(res?.body.length, BIG_FILE_BYTES);
    assert.ok(res?.body.every((b, i) => b === big[i]), "the download's bytes differ from the file");

    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      server.status,
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 5_000))),
    ]);
    clearTimeout(timer);
    assert.ok(status !== null, "the server did not exit within 5 s of the download's end");
    assert.equal(status.code, 0);
    assert.doesNotMatch(server.stderrText(), STACK_TRACE, server.stderrText());
  });
});

Deno.test("SIGINT stops an idle server with exit code 0", async () => {
  await withSite(async ({ root }) => {
    await using server = await spawnServer({ root });
    using idle = await connect(server.port);
    await idle.send(get("/hello.txt"));
    assert.equal((await idle.responses(1))[0]?.status, 200);
    server.signal("SIGINT");
    await idle.untilEof(3_000);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      server.status,
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 3_000))),
    ]);
    clearTimeout(timer);
    assert.ok(status !== null, "the server did not exit within 3 s of SIGINT");
    assert.equal(status.code, 0);
    assert.doesNotMatch(server.stderrText(), STACK_TRACE, server.stderrText());
  });
});

Deno.test("start-up errors exit 1 with one line; --help and --version exit 0", async (t) => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "file.txt"), "not a directory\n");

    await t.step("missing root", async () => {
      const result = await runMain([join(dir, "nope"), "--port", "0"], {
        allowNet: "127.0.0.1",
        allowRead: [dir],
      });
      assertOneLineError(result, /no such directory/);
    });
    await t.step("root is a file", async () => {
      const result = await runMain([join(dir, "file.txt"), "--port", "0"], {
        allowNet: "127.0.0.1",
        allowRead: [dir],
      });
      assertOneLineError(result, /not a directory/);
    });
    await t.step("port already in use", async () => {
      using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = String((listener.addr as Deno.NetAddr).port);
      const result = await runMain([dir, "--port", port, "--host", "127.0.0.1"], {
        allowNet: "127.0.0.1",
        allowRead: [dir],
      });
      assertOneLineError(result, /in use/);
    });
    await t.step("unknown flag", async () => {
      const result = await runMain([dir, "--bogus"], { allowNet: "127.0.0.1", allowRead: [dir] });
      assertOneLineError(result, /--bogus/);
    });
    await t.step("--help", async () => {
      const result = await runMain(["--help"], { allowNet: "127.0.0.1", allowRead: [dir] });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^Usage: minserve/);
    });
    await t.step("--version", async () => {
      const result = await runMain(["--version"], { allowNet: "127.0.0.1", allowRead: [dir] });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^minserve \d+\.\d+\.\d+\s*$/);
    });
  });
});

Deno.test("run with -A, the server warns that it may read outside its root", async () => {
  await withSite(async ({ root }) => {
    await using server = await spawnServer({ root, listenArgs: ["--port", "0"], allowAll: true });
    const warned = await waitFor(() => /warning:.*read/.test(server.stderrText()), 1_000);
    assert.ok(warned, `no warning on stderr:\n${server.stderrText()}`);
    server.signal("SIGTERM");
    const status = await server.status;
    const stderr = server.stderrText();
    assert.equal(status.code, 0, stderr);
    assert.doesNotMatch(stderr, / {4}at /);
  });
});

Deno.test("run with only --allow-read=ROOT, the server prints no warning", async () => {
  await withSite(async ({ root }) => {
    await using server = await spawnServer({ root });
    await delay(100);
    assert.doesNotMatch(server.stderrText(), /warning/);
  });
});

// ---------------------------------------------------------------------------
// --auth (issue 12, item 1): HTTP Basic on the real server.

/** A user whose hash costs as much as a real one (cost 12, ~0.3 s of CPU per check in bcryptjs). */
const AUTH_USER = "alice";
const AUTH_PASSWORD = "correct hörse battery";
const AUTH_HASH = bcrypt.hashSync(AUTH_PASSWORD, 12);

/** basicAuth is the Authorization field for `user:password` (UTF-8, base64). */
function basicAuth(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return `Authorization: Basic ${btoa(String.fromCharCode(...bytes))}\r\n`;
}

/** withUsers writes `<dir>/users.htpasswd` with `text` and calls `fn` with its path. */
function withUsers<T>(text: string, fn: (site: Site, users: string) => Promise<T>): Promise<T> {
  return withSite(async (site) => {
    const users = join(site.dir, "users.htpasswd");
    await Deno.writeTextFile(users, text);
    return await fn(site, users);
  });
}

Deno.test("--auth: every file needs a user, the fast path too; a verified user costs no bcrypt again", async () => {
  await withUsers(`# test users\n${AUTH_USER}:${AUTH_HASH}\n`, async ({ root }, users) => {
    await using server = await spawnServer({ root, args: ["--auth", users], allowRead: [users] });
    assert.match(server.stdoutText(), /auth: {5}HTTP Basic, 1 user \(0 may write\)/);

    for (const target of ["/hello.txt", "/", "/time", "/missing.txt", "/__minserve/live"]) {
      const none = await getOne(server.port, target);
      assert.equal(none.status, 401, target);
      assert.equal(none.header("www-authenticate"), 'Basic realm="minserve", charset="UTF-8"');
      assert.doesNotMatch(none.text(), /hello, world|\/tmp|root/);
    }
    const wrong = await fetchOne(
      server.port,
      get("/hello.txt", basicAuth(AUTH_USER, "wrong") + "Connection: close\r\n"),
    );
    assert.equal(wrong.status, 401);

    const good = basicAuth(AUTH_USER, AUTH_PASSWORD);
    const proc = await hasProc();
    const before = proc ? await cpuSeconds(server.pid) : undefined;
    const first = await fetchOne(server.port, get("/hello.txt", good + "Connection: close\r\n"));
    assert.equal(first.status, 200);
    assert.equal(first.text(), "hello, world\n");
    const afterFirst = proc ? await cpuSeconds(server.pid) : undefined;

    // Thirty more, five keep-alive connections of six pipelined requests:
    // answered from the cache of verified credentials (by the fast path).
    const REQUESTS = 6;
    for (let c = 0; c < 5; c++) {
      const batch = Array.from(
        { length: REQUESTS },
        (_, i) => get("/hello.txt", good + (i === REQUESTS - 1 ? "Connection: close\r\n" : "")),
      ).join("");
      const responses = parseResponses(await rawRequest(server.port, batch, { halfClose: true }));
      assert.deepEqual(responses.map((r) => r.status), Array(REQUESTS).fill(200));
    }
    const afterAll = proc ? await cpuSeconds(server.pid) : undefined;
    if (before !== undefined && afterFirst !== undefined && afterAll !== undefined) {
      // Work, not speed: thirty cached requests cost less CPU than the one bcrypt check did
      // (without the cache they would cost thirty).
      const firstCost = afterFirst - before;
      const restCost = afterAll - afterFirst;
      assert.ok(
        restCost < firstCost,
        `30 cached requests took ${restCost} s of CPU, 1 bcrypt ${firstCost} s`,
      );
    }
    assert.doesNotMatch(server.stderrText(), /warning/);
  });
});

Deno.test("--auth: the access log names the user, never the password or the credentials", async () => {
  await withUsers(`${AUTH_USER}:${AUTH_HASH}:rw\n`, async ({ root }, users) => {
    for (const format of ["common", "combined", "json"]) {
      await using server = await spawnServer({
        root,
        args: ["--auth", users, "--log-format", format],
        allowRead: [users],
      });
      const fields = [basicAuth(AUTH_USER, AUTH_PASSWORD), basicAuth(AUTH_USER, "hunter2-wrong")];
      const statuses = [];
      for (const field of fields) {
        const request = get("/hello.txt", field + "User-Agent: t\r\nConnection: close\r\n");
        statuses.push((await fetchOne(server.port, request)).status);
      }
      assert.deepEqual(statuses, [200, 401]);
      const logged = () => server.stdoutText().split("\n").filter((l) => l.includes("/hello.txt"));
      assert.ok(await waitFor(() => logged().length === 2, READ_TIMEOUT_MS), server.stdoutText());
      // The user the request named, as Apache's %u: on the 401, the name that was tried.
      for (const line of logged()) {
        if (format === "json") assert.equal(JSON.parse(line).user, AUTH_USER, line);
        else assert.equal(line.split(" ")[2], AUTH_USER, line);
      }
      const logs = server.stdoutText() + server.stderrText();
      for (const secret of [AUTH_PASSWORD, "hunter2-wrong", "Authorization"]) {
        assert.ok(!logs.includes(secret), `${format} log shows ${secret}`);
      }
      for (const field of fields) {
        const base64 = field.slice("Authorization: Basic ".length, -2);
        assert.ok(!logs.includes(base64), `${format} log shows the base64 credentials`);
      }
    }
  });
});

/** waitForText polls `text()` for `pattern` for up to READ_TIMEOUT_MS (the log is flushed every 50 ms). */
async function waitForText(text: () => string, pattern: RegExp): Promise<boolean> {
  return await waitFor(() => pattern.test(text()), READ_TIMEOUT_MS);
}

Deno.test("--auth: a bad file or entry is one line at start, naming the user, never the hash", async (t) => {
  await withSite(async ({ dir, root }) => {
    const write = async (name: string, text: string) => {
      const path = join(dir, name);
      await Deno.writeTextFile(path, text);
      return path;
    };
    const apr1 = await write(
      "apr1",
      `${AUTH_USER}:${AUTH_HASH}\nbob:$apr1$zbvb7a8x$tCBK5TaRnZ3mfr8TvIFTL/\n`,
    );
    const twice = await write("twice", `bob:${AUTH_HASH}\n`);
    const empty = await write("empty", "# nobody yet\n");
    const CASES: Array<[name: string, args: string[], what: RegExp]> = [
      [
        "an apr1 line",
        ["--auth", apr1],
        /--auth ".*apr1": line 2: user "bob" has an apr1 \(MD5\) hash.*minserve hash-password/,
      ],
      [
        "a plain-text entry",
        ["--auth", "carol:secret"],
        /user "carol" has a plain password.*hash-password/,
      ],
      ["a file with no users", ["--auth", empty], /--auth ".*empty": no users/],
      ["a missing file", ["--auth", join(dir, "nope")], /cannot read --auth ".*nope"/],
      [
        "a user in two places",
        ["--auth", twice, "--auth", `bob:${AUTH_HASH}:rw`],
        /user "bob" is given twice/,
      ],
    ];
    for (const [name, args, what] of CASES) {
      await t.step(name, async () => {
        const result = await runMain([root, "--port", "0", ...args], {
          allowNet: "127.0.0.1",
          allowRead: [dir],
        });
        assertOneLineError(result, what);
        assert.ok(!result.stderr.includes(AUTH_HASH), "the hash is shown");
        assert.ok(!result.stderr.includes("secret"), "the plain password is shown");
      });
    }
    await t.step("a file it may not read: the command that grants it", async () => {
      const users = await write("users", `${AUTH_USER}:${AUTH_HASH}\n`);
      const result = await runMain([root, "--port", "0", "--auth", users], {
        allowNet: "127.0.0.1",
        allowRead: [root],
      });
      assertOneLineError(
        result,
        /cannot read --auth ".*users": not permitted; run: deno run .*--allow-read=[^ ]*users/,
      );
    });
  });
});

Deno.test("--auth: a warning on stderr when passwords would cross a network in plain HTTP", async () => {
  await withUsers(`${AUTH_USER}:${AUTH_HASH}\n`, async ({ root }, users) => {
    await using server = await spawnServer({
      root,
      args: ["--auth", users, "--host", "0.0.0.0"],
      allowRead: [users],
      denoFlags: ["--allow-net=0.0.0.0"],
    });
    assert.ok(
      await waitForText(() => server.stderrText(), /warning: --auth over plain HTTP on 0\.0\.0\.0/),
      server.stderrText(),
    );
    assert.equal(
      server.stderrText().trimEnd().split("\n").filter((l) => /--auth/.test(l)).length,
      1,
    );
  });
});

/** hashPasswordRun runs `main.ts hash-password ...args` with no permissions, `input` on stdin. */
function hashPasswordRun(input: string, args: string[] = []): Promise<RunResult> {
  return runMain(["hash-password", ...args], { input });
}

Deno.test("hash-password: a hash from stdin, with no permissions, that --auth then accepts", async (t) => {
  let hash = "";
  await t.step("the default cost, 10", async () => {
    const result = await hashPasswordRun(`${AUTH_PASSWORD}\n`);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    hash = result.stdout.trimEnd();
    assert.match(hash, /^\$2b\$10\$[./A-Za-z0-9]{53}$/);
    assert.ok(bcrypt.compareSync(AUTH_PASSWORD, hash));
    assert.ok(!bcrypt.compareSync(AUTH_PASSWORD + "\n", hash), "the newline is not part of it");
  });
  await t.step("--cost 5, CRLF input", async () => {
    const result = await hashPasswordRun("pw\r\n", ["--cost", "5"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^\$2b\$05\$/);
    assert.ok(bcrypt.compareSync("pw", result.stdout.trimEnd()));
  });
  await t.step("refused: empty, longer than 72 bytes", async () => {
    for (const input of ["", "\n", "x".repeat(73) + "\n"]) {
      const result = await hashPasswordRun(input);
      assertOneLineError(result, /Cannot hash the password: it (is empty|is longer than 72 bytes)/);
    }
  });
  await t.step("the hash signs in, as --auth user:HASH:rw", async () => {
    await withSite(async ({ root }) => {
      await using server = await spawnServer({
        root,
        args: ["--auth", `zoë:${hash}:rw`],
      });
      assert.match(server.stdoutText(), /1 user \(1 may write\)/);
      const ok = await fetchOne(
        server.port,
        get("/hello.txt", basicAuth("zoë", AUTH_PASSWORD) + "Connection: close\r\n"),
      );
      assert.equal(ok.status, 200);
      assert.equal((await getOne(server.port, "/hello.txt")).status, 401);
    });
  });
});
