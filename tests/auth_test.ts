/**
 * auth_test.ts — HTTP Basic authentication (RFC 7617) with plain Requests
 * and heads, no socket (style rule 4): the credentials a header carries, the
 * challenge, every route protected (fast path included), readers and
 * writers, the --upload-token beside it, the cache of verified credentials,
 * the dummy check of unknown users and the per-address limit on failures.
 *
 * bcrypt is counted, not timed: `bcrypt.compare` is wrapped so a test can
 * say how many checks a request cost (the machine is shared; no test here
 * asserts on speed).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import { type App, createApp } from "../lib/app.ts";
import {
  Auth,
  BCRYPT_MODULE,
  CHALLENGE,
  clientKey,
  FAILURE_WINDOW_MS,
  FailureLimiter,
  MAX_FAILURES,
  VERIFIED_TTL_MS,
  WorkerBcrypt,
} from "../lib/auth.ts";
import type { ServeInfo } from "../lib/http/handler.ts";
import type { AuthUser } from "../lib/htpasswd.ts";
import type { RequestHead } from "../lib/http/request_head.ts";
import { Board } from "../lib/pages/board.ts";
import { LIVE_SCRIPT_PATH, LiveReload } from "../lib/pages/live.ts";
import { createUploads } from "../lib/pages/upload.ts";
import { withTempDir } from "./_support/server.ts";

const ORIGIN = "http://127.0.0.1:8080";
const COST = 4;
const READER: AuthUser = { user: "reader", hash: bcrypt.hashSync("read-pw", COST), role: "r" };
const WRITER: AuthUser = { user: "writer", hash: bcrypt.hashSync("write-pw", COST), role: "rw" };
const UNICODE: AuthUser = { user: "Zoë", hash: bcrypt.hashSync("pässwörd €", COST), role: "r" };
const USERS = [READER, WRITER, UNICODE];
const TOKEN = "upload-token-123";

/** infoFor is the ServeInfo of a client at `hostname`. */
function infoFor(hostname: string): ServeInfo {
  return { remoteAddr: { transport: "tcp", hostname, port: 50000 } };
}
const HERE = infoFor("127.0.0.1");

/** basic is the Authorization value for `user:password`, UTF-8 then base64 (RFC 7617 §2.1). */
function basic(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return "Basic " + btoa(String.fromCharCode(...bytes));
}
const AS_READER = { authorization: basic("reader", "read-pw") };
const AS_WRITER = { authorization: basic("writer", "write-pw") };

/** Counts bcrypt checks: bcryptjs's default export is the object auth.ts calls. */
let compares = 0;
const realCompare = bcrypt.compare;
(bcrypt as { compare: unknown }).compare = (password: string, hash: string) => {
  compares++;
  return realCompare(password, hash);
};

/** Site is an app with every route on, over a temp root, upload and data dir. */
interface Site {
  app: App;
  auth: Auth;
  root: string;
  uploadDir: string;
}

/** withSite runs `fn` over a fresh site whose auth has `options`; the clock is `clock.now`. */
async function withSite(
  fn: (site: Site, clock: { now: number }) => Promise<void>,
  options: { token?: string; users?: AuthUser[] } = {},
): Promise<void> {
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    const uploadDir = join(dir, "uploads");
    const dataDir = join(dir, "data");
    for (const d of [root, uploadDir, dataDir]) await Deno.mkdir(d);
    await Deno.writeTextFile(join(root, "hello.txt"), "hello\n");
    await Deno.mkdir(join(root, "sub"));
    const clock = { now: Date.now() };
    const auth = new Auth(options.users ?? USERS, {
      bearerUploads: options.token !== undefined,
      now: () => clock.now,
    });
    const isWriter = (request: Request) => auth.principalOf(request)?.role === "rw";
    const board = Board.open(dataDir);
    const live = new LiveReload(root, { subscribe: () => () => {} });
    const app = createApp({
      root,
      realRoot: await Deno.realPath(root),
      listing: true,
      dotfiles: false,
      auth,
      live,
      board: (request) => board.handle(request, { mayClear: isWriter(request) }),
      uploads: createUploads({
        dir: uploadDir,
        realDir: await Deno.realPath(uploadDir),
        maxBytes: 1024,
        authorized: isWriter,
        ...(options.token === undefined ? {} : { token: options.token }),
      }),
    });
    try {
      await fn({ app, auth, root, uploadDir }, clock);
    } finally {
      live.close();
      board.close();
    }
  });
}

/** send asks `app` for `target` from `info`, the body read (so no stream is left open). */
async function send(
  app: App,
  target: string,
  init: RequestInit = {},
  info: ServeInfo = HERE,
): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await app(new Request(ORIGIN + target, init), info);
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** headOf is the parsed head the engine would hand the fast path for a GET of `target`. */
function headOf(target: string, headers: Record<string, string> = {}): RequestHead {
  return {
    method: "GET",
    target,
    minor: 1,
    headers: [["Host", "127.0.0.1:8080"], ...Object.entries(headers)],
    authority: "127.0.0.1:8080",
    framing: { kind: "none" },
    keepAlive: true,
    expectContinue: false,
  };
}

Deno.test("credentialOf reads Basic credentials, or nothing", async (t) => {
  const auth = new Auth(USERS);
  const CASES: Array<[name: string, value: string | null, want: [string, string] | null]> = [
    ["none", null, null],
    ["plain", basic("reader", "read-pw"), ["reader", "read-pw"]],
    ["scheme in any case (RFC 9110 §11.1)", "bAsIc " + btoa("a:b"), ["a", "b"]],
    ["several spaces", "Basic   " + btoa("a:b"), ["a", "b"]],
    ["a colon in the password", basic("a", "b:c"), ["a", "b:c"]],
    ["an empty password", basic("a", ""), ["a", ""]],
    ["UTF-8 (RFC 7617 §2.1)", basic("Zoë", "pässwörd €"), ["Zoë", "pässwörd €"]],
    ["Bearer", "Bearer abc", null],
    ["no colon", "Basic " + btoa("alice"), null],
    ["an empty user", "Basic " + btoa(":pw"), null],
    ["not base64", "Basic !!!", null],
    ["base64 of bytes that are not UTF-8", "Basic " + btoa("a:\xff\xfe"), null],
    ["no token", "Basic ", null],
    ["two fields joined", `${basic("a", "b")}, ${basic("c", "d")}`, null],
  ];
  for (const [name, value, want] of CASES) {
    await t.step(name, () => {
      const credential = auth.credentialOf(value);
      assert.deepEqual(credential && [credential.user, credential.password], want);
    });
  }
  await t.step(
    "the digest is keyed per process: never the password, same for the same input",
    () => {
      const a = auth.credentialOf(basic("reader", "read-pw"))!;
      const b = auth.credentialOf(basic("reader", "read-pw"))!;
      const other = new Auth(USERS).credentialOf(basic("reader", "read-pw"))!;
      assert.deepEqual(a.digest, b.digest);
      assert.notDeepEqual(a.digest, other.digest);
      assert.equal(a.digest.length, 32);
    },
  );
});

Deno.test("no credentials: 401 with the Basic challenge, on every route", async () => {
  await withSite(async ({ app }) => {
    for (
      const target of [
        "/hello.txt",
        "/",
        "/sub/",
        "/missing.txt",
        "/time",
        "/board",
        "/uploads/",
        "/uploads/x.txt",
        LIVE_SCRIPT_PATH,
      ]
    ) {
      for (const method of ["GET", "HEAD", "OPTIONS"]) {
        const got = await send(app, target, { method });
        assert.equal(got.status, 401, `${method} ${target}`);
        assert.equal(got.headers.get("www-authenticate"), CHALLENGE, `${method} ${target}`);
        assert.equal(got.headers.get("cache-control"), "no-store");
      }
    }
    for (const [method, target] of [["POST", "/board"], ["PUT", "/uploads/a.txt"]] as const) {
      const got = await send(app, target, { method, body: "message=hi" });
      assert.equal(got.status, 401, `${method} ${target}`);
    }
  });
});

Deno.test("the 401 page is small, names no path, and is JSON when asked", async () => {
  await withSite(async ({ app, root }) => {
    const page = await send(app, "/hello.txt", { headers: { accept: "text/html" } });
    assert.equal(page.status, 401);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    assert.ok(page.body.length < 2048);
    assert.ok(!page.body.includes(root) && !page.body.includes("hello"));
    const json = await send(app, "/hello.txt", { headers: { accept: "application/json" } });
    assert.equal(json.status, 401);
    assert.equal(JSON.parse(json.body).status, 401);
    assert.equal(json.headers.get("www-authenticate"), CHALLENGE);
  });
});

Deno.test("wrong password, unknown user or malformed: 401; right: 200", async () => {
  await withSite(async ({ app }) => {
    const CASES: Array<[name: string, authorization: string, status: number]> = [
      ["right", basic("reader", "read-pw"), 200],
      ["right, non-ASCII user and password in UTF-8", basic("Zoë", "pässwörd €"), 200],
      ["the same password as Latin-1 bytes", "Basic " + btoa("Zo\xeb:p\xe4ssw\xf6rd \x80"), 401],
      ["wrong password", basic("reader", "write-pw"), 401],
      ["the password's case", basic("reader", "READ-PW"), 401],
      ["unknown user", basic("nobody", "read-pw"), 401],
      ["user name's case", basic("Reader", "read-pw"), 401],
      ["malformed", "Basic %%%", 401],
      ["another scheme", "Digest username=reader", 401],
    ];
    for (const [name, authorization, status] of CASES) {
      const got = await send(app, "/hello.txt", { headers: { authorization } });
      assert.equal(got.status, status, name);
      if (status === 200) assert.equal(got.body, "hello\n", name);
      else assert.equal(got.headers.get("www-authenticate"), CHALLENGE, name);
    }
  });
});

Deno.test("a password longer than bcrypt's 72 bytes never signs in, even when its start matches", async () => {
  const long = "x".repeat(72);
  const user: AuthUser = { user: "long", hash: bcrypt.hashSync(long, COST), role: "r" };
  await withSite(async ({ app }) => {
    assert.equal(
      (await send(app, "/hello.txt", { headers: { authorization: basic("long", long) } })).status,
      200,
    );
    const longer = { authorization: basic("long", long + "y") };
    assert.equal((await send(app, "/hello.txt", { headers: longer })).status, 401);
  }, { users: [user] });
});

Deno.test("bcrypt runs once per credential: the cache, the unknown user's dummy, parallel requests", async (t) => {
  await withSite(async ({ app }, clock) => {
    await t.step("an unknown user costs one check, as a known one does", async () => {
      compares = 0;
      assert.equal(
        (await send(app, "/", { headers: { authorization: basic("ghost", "x") } })).status,
        401,
      );
      assert.equal(compares, 1);
      compares = 0;
      assert.equal(
        (await send(app, "/", { headers: { authorization: basic("reader", "x") } })).status,
        401,
      );
      assert.equal(compares, 1);
    });
    await t.step("a verified credential is not checked again", async () => {
      compares = 0;
      for (let i = 0; i < 5; i++) {
        assert.equal((await send(app, "/hello.txt", { headers: AS_READER })).status, 200);
      }
      assert.equal(compares, 1);
    });
    await t.step("a wrong password for a cached user is checked, and fails", async () => {
      compares = 0;
      const wrong = { authorization: basic("reader", "read-pw2") };
      assert.equal((await send(app, "/hello.txt", { headers: wrong })).status, 401);
      assert.equal(compares, 1);
      assert.equal((await send(app, "/hello.txt", { headers: AS_READER })).status, 200);
      assert.equal(compares, 1);
    });
    await t.step("after VERIFIED_TTL_MS it is checked again", async () => {
      clock.now += VERIFIED_TTL_MS + 1;
      compares = 0;
      assert.equal((await send(app, "/hello.txt", { headers: AS_READER })).status, 200);
      assert.equal(compares, 1);
    });
    await t.step("a browser's parallel first requests share one check", async () => {
      compares = 0;
      const results = await Promise.all(
        Array.from({ length: 6 }, () => send(app, "/hello.txt", { headers: AS_WRITER })),
      );
      assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
      assert.equal(compares, 1);
    });
  });
});

Deno.test("readers read and post to the board; writers also upload and clear it", async (t) => {
  await withSite(async ({ app, uploadDir }) => {
    const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
    const formHeaders = (who: Record<string, string>) => ({
      ...who,
      "content-type": "application/x-www-form-urlencoded",
    });
    await t.step("a reader reads files, listings, /time, the board, the uploads list", async () => {
      for (const target of ["/hello.txt", "/sub/", "/time", "/board", "/uploads/"]) {
        assert.equal((await send(app, target, { headers: AS_READER })).status, 200, target);
      }
    });
    await t.step("a reader posts to the board", async () => {
      const got = await send(app, "/board", {
        method: "POST",
        headers: formHeaders(AS_READER),
        body: form({ message: "hi from a reader" }),
      });
      assert.equal(got.status, 303);
      assert.match((await send(app, "/board", { headers: AS_READER })).body, /hi from a reader/);
    });
    await t.step("a reader may not clear it: 403, and the post stays", async () => {
      const asked = await send(app, "/board/clear", { headers: AS_READER });
      assert.equal(asked.status, 403, "not even the confirmation page");
      const got = await send(app, "/board/clear", {
        method: "POST",
        headers: formHeaders(AS_READER),
        body: form({ confirm: "yes" }),
      });
      assert.equal(got.status, 403);
      assert.match((await send(app, "/board", { headers: AS_READER })).body, /hi from a reader/);
    });
    await t.step("a reader may not upload: 403, nothing written", async () => {
      for (const method of ["PUT", "POST"]) {
        const got = await send(app, "/uploads/r.txt", { method, headers: AS_READER, body: "x" });
        assert.equal(got.status, 403, method);
      }
      assert.deepEqual([...Deno.readDirSync(uploadDir)], []);
    });
    await t.step("a writer uploads", async () => {
      const got = await send(app, "/uploads/w.txt", {
        method: "PUT",
        headers: AS_WRITER,
        body: "w",
      });
      assert.equal(got.status, 201);
      assert.equal(await Deno.readTextFile(join(uploadDir, "w.txt")), "w");
      assert.equal((await send(app, "/uploads/w.txt", { headers: AS_READER })).body, "w");
    });
    await t.step("a writer clears the board", async () => {
      assert.equal((await send(app, "/board/clear", { headers: AS_WRITER })).status, 200);
      const got = await send(app, "/board/clear", {
        method: "POST",
        headers: formHeaders(AS_WRITER),
        body: form({ confirm: "yes" }),
      });
      assert.equal(got.status, 303);
      assert.doesNotMatch((await send(app, "/board", { headers: AS_READER })).body, /hi from/);
    });
  });
});

Deno.test("with --upload-token too, an upload needs a writer or the token", async (t) => {
  await withSite(async ({ app, uploadDir }) => {
    const CASES: Array<[name: string, headers: Record<string, string>, status: number]> = [
      ["the token alone", { authorization: `Bearer ${TOKEN}` }, 201],
      ["a wrong token", { authorization: "Bearer nope" }, 401],
      ["a writer without the token", AS_WRITER, 201],
      ["a reader", AS_READER, 403],
      ["nothing", {}, 401],
    ];
    for (const [i, [name, headers, status]] of CASES.entries()) {
      await t.step(name, async () => {
        const got = await send(app, `/uploads/f${i}.txt`, { method: "PUT", headers, body: "x" });
        assert.equal(got.status, status);
        if (status === 401) {
          const challenge = got.headers.get("www-authenticate")!;
          assert.ok(challenge === CHALLENGE || challenge.startsWith("Bearer"), challenge);
        }
      });
    }
    await t.step(
      "wrong tokens count as failed sign-ins: then 429, even for the right token",
      async () => {
        const guesser = infoFor("192.0.2.99");
        for (let i = 0; i < MAX_FAILURES; i++) {
          const headers = { authorization: `Bearer guess-${i}` };
          const got = await send(
            app,
            "/uploads/g.txt",
            { method: "PUT", headers, body: "x" },
            guesser,
          );
          assert.equal(got.status, 401);
        }
        const headers = { authorization: `Bearer ${TOKEN}` };
        const got = await send(
          app,
          "/uploads/g.txt",
          { method: "PUT", headers, body: "x" },
          guesser,
        );
        assert.equal(got.status, 429);
        assert.ok(Number(got.headers.get("retry-after")) > 0);
      },
    );
    await t.step("the token opens uploads only, not reading", async () => {
      const got = await send(app, "/uploads/f0.txt", {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(got.status, 401);
      assert.equal(got.headers.get("www-authenticate"), CHALLENGE);
    });
    assert.deepEqual([...Deno.readDirSync(uploadDir)].map((e) => e.name).sort(), [
      "f0.txt",
      "f2.txt",
    ]);
  }, { token: TOKEN });
});

Deno.test("failed sign-ins per address: 429 with Retry-After until the window ends", async (t) => {
  await withSite(async ({ app }, clock) => {
    const attacker = infoFor("192.0.2.7");
    const neighbour = infoFor("192.0.2.8");
    const wrong = { authorization: basic("reader", "guess") };
    await t.step(`${MAX_FAILURES} failures are each answered 401`, async () => {
      for (let i = 0; i < MAX_FAILURES; i++) {
        assert.equal((await send(app, "/", { headers: wrong }, attacker)).status, 401);
      }
    });
    await t.step("then 429, even with the right password, and without a bcrypt check", async () => {
      compares = 0;
      for (const headers of [wrong, AS_READER, {}]) {
        const got = await send(app, "/hello.txt", { headers }, attacker);
        assert.equal(got.status, 429);
        const retry = Number(got.headers.get("retry-after"));
        assert.ok(retry >= 1 && retry <= FAILURE_WINDOW_MS / 1000, String(retry));
      }
      assert.equal(compares, 0);
    });
    await t.step("another address is not affected", async () => {
      assert.equal((await send(app, "/hello.txt", { headers: AS_READER }, neighbour)).status, 200);
    });
    await t.step(
      "Retry-After counts down; once the window has passed, the address may try again",
      async () => {
        clock.now += FAILURE_WINDOW_MS / 2;
        const half = await send(app, "/", { headers: wrong }, attacker);
        assert.equal(half.status, 429);
        assert.ok(Number(half.headers.get("retry-after")) <= FAILURE_WINDOW_MS / 2000);
        clock.now += FAILURE_WINDOW_MS / 2;
        assert.equal((await send(app, "/hello.txt", { headers: AS_READER }, attacker)).status, 200);
      },
    );
    await t.step("many guesses at once start at most MAX_FAILURES checks", async () => {
      clock.now += FAILURE_WINDOW_MS;
      compares = 0;
      const flood = infoFor("198.51.100.1");
      const results = await Promise.all(
        Array.from(
          { length: 50 },
          (_, i) => send(app, "/", { headers: { authorization: basic("reader", `g${i}`) } }, flood),
        ),
      );
      assert.equal(compares, MAX_FAILURES);
      assert.equal(results.filter((r) => r.status === 401).length, MAX_FAILURES);
      assert.equal(results.filter((r) => r.status === 429).length, 50 - MAX_FAILURES);
    });
  });
});

Deno.test("parallel requests with the same credentials count once, right or wrong", async (t) => {
  await withSite(async ({ app, auth }) => {
    const burst = (who: ServeInfo, authorization: string) =>
      Promise.all(
        Array.from(
          { length: MAX_FAILURES + 5 },
          () => send(app, "/hello.txt", { headers: { authorization } }, who),
        ),
      );
    await t.step("a browser's burst of first requests: all 200, nobody locked out", async () => {
      const browser = infoFor("192.0.2.50");
      const results = await burst(browser, basic("reader", "read-pw"));
      assert.ok(results.every((r) => r.status === 200));
      assert.equal(auth.limiter.anyBlocked(), false);
      assert.equal(app.fastPath(headOf("/hello.txt", AS_READER))?.status, 200);
    });
    await t.step("the same wrong password many times at once: one failure", async () => {
      const client = infoFor("192.0.2.51");
      compares = 0;
      const results = await burst(client, basic("reader", "typo"));
      assert.ok(results.every((r) => r.status === 401));
      assert.equal(compares, 1);
      assert.equal(auth.limiter.retryAfter("192.0.2.51"), 0);
      assert.equal((await send(app, "/hello.txt", { headers: AS_READER }, client)).status, 200);
    });
  });
});

Deno.test("a missing header is not a failure: a browser's first request never locks anyone out", async () => {
  await withSite(async ({ app }) => {
    for (let i = 0; i < MAX_FAILURES * 2; i++) {
      assert.equal((await send(app, "/")).status, 401);
    }
    assert.equal((await send(app, "/hello.txt", { headers: AS_READER })).status, 200);
  });
});

Deno.test("the fast path: nothing without a verified credential, and nothing while an address is locked out", async (t) => {
  await withSite(async ({ app }) => {
    const wanted = headOf("/hello.txt", AS_READER);
    await t.step("no credentials: declined, and the handler answers 401", async () => {
      assert.equal(app.fastPath(headOf("/hello.txt")), undefined);
      assert.equal((await send(app, "/hello.txt")).status, 401);
      assert.equal(app.fastPath(headOf("/hello.txt")), undefined);
      assert.equal(app.fastPath(headOf("/nothing-here.txt", { accept: "*/*" })), undefined);
    });
    await t.step("right credentials not yet verified: declined", () => {
      assert.equal(app.fastPath(wanted), undefined);
    });
    await t.step("once the handler verified them: answered, with no bcrypt", async () => {
      assert.equal((await send(app, "/hello.txt", { headers: AS_READER })).status, 200);
      compares = 0;
      const answer = app.fastPath(headOf("/hello.txt", AS_READER));
      assert.equal(answer?.status, 200);
      assert.equal(compares, 0);
    });
    await t.step("a wrong password for that user: declined", () => {
      const wrong = headOf("/hello.txt", { authorization: basic("reader", "read-pw!") });
      assert.equal(app.fastPath(wrong), undefined);
    });
    await t.step("while some address is locked out: declined, the handler decides", async () => {
      const attacker = infoFor("203.0.113.9");
      for (let i = 0; i < MAX_FAILURES; i++) {
        await send(app, "/", { headers: { authorization: basic("reader", `x${i}`) } }, attacker);
      }
      assert.equal(app.fastPath(headOf("/hello.txt", AS_READER)), undefined);
      // The right password from the locked address gets 429 from the handler.
      assert.equal((await send(app, "/hello.txt", { headers: AS_READER }, attacker)).status, 429);
      assert.equal((await send(app, "/hello.txt", { headers: AS_READER })).status, 200);
    });
  });
});

Deno.test("FailureLimiter keeps a bounded table", () => {
  let now = 0;
  const limiter = new FailureLimiter({ now: () => now, maxClients: 3 });
  for (let i = 0; i < 10; i++) {
    limiter.begin(`10.0.0.${i}`);
    limiter.end(`10.0.0.${i}`, false);
    assert.ok(limiter.size <= 3, `size ${limiter.size}`);
  }
  // The newest are kept, the oldest forgotten.
  for (let i = 0; i < MAX_FAILURES; i++) {
    limiter.begin("10.0.0.9");
    limiter.end("10.0.0.9", false);
  }
  assert.ok(limiter.retryAfter("10.0.0.9") > 0);
  assert.equal(limiter.retryAfter("10.0.0.0"), 0);
  // Ended windows are forgotten when room is needed.
  now += FAILURE_WINDOW_MS;
  limiter.begin("10.0.1.1");
  limiter.end("10.0.1.1", true);
  assert.equal(limiter.size, 1);
  assert.equal(limiter.retryAfter("10.0.0.9"), 0);
});

Deno.test("clientKey counts IPv4 by address and IPv6 by its /64", async (t) => {
  const CASES: Array<[string, string]> = [
    ["192.0.2.1", "192.0.2.1"],
    ["127.0.0.1", "127.0.0.1"],
    ["::ffff:192.0.2.1", "192.0.2.1"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:db8:1:2::9", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002:ffff::1", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["fe80::1", "fe80:0:0:0::/64"],
  ];
  for (const [input, want] of CASES) {
    await t.step(input, () => assert.equal(clientKey(input), want));
  }
});

Deno.test("Auth refuses no users and a user given twice", () => {
  assert.throws(() => new Auth([]), TypeError);
  assert.throws(() => new Auth([READER, { ...READER, role: "rw" }]), /"reader" is given twice/);
});

Deno.test("WorkerBcrypt checks in a worker isolate, not on this thread", async (t) => {
  const checker = new WorkerBcrypt();
  try {
    await t.step("right and wrong passwords, and a hash it cannot read", async () => {
      compares = 0;
      assert.equal(await checker.compare("read-pw", READER.hash), true);
      assert.equal(await checker.compare("read-pw!", READER.hash), false);
      assert.equal(await checker.compare("pässwörd €", UNICODE.hash), true);
      assert.equal(await checker.compare("x", "not a hash"), false);
      assert.equal(compares, 0, "bcrypt ran on this thread");
    });
    await t.step("several at once, each answered", async () => {
      const results = await Promise.all([
        checker.compare("read-pw", READER.hash),
        checker.compare("write-pw", WRITER.hash),
        checker.compare("nope", WRITER.hash),
      ]);
      assert.deepEqual(results, [true, true, false]);
    });
    await t.step("through Auth: the app signs in with it", async () => {
      const auth = new Auth(USERS, { checker });
      const request = new Request(ORIGIN + "/", { headers: AS_WRITER });
      compares = 0;
      assert.deepEqual(await auth.authenticate(request, "127.0.0.1"), {
        user: "writer",
        role: "rw",
      });
      assert.equal(compares, 0);
    });
  } finally {
    checker.close();
  }
  await t.step("once closed, it checks on this thread", async () => {
    compares = 0;
    assert.equal(await checker.compare("read-pw", READER.hash), true);
    assert.equal(compares, 1);
  });
});

Deno.test("the worker imports the bcryptjs that deno.json pins", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.equal(config.imports.bcryptjs, BCRYPT_MODULE);
});
