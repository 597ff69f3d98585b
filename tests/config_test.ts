/**
 * config_test.ts — parseConfig: defaults, flags, the environment beneath
 * the flags, and errors that name the flag at fault (style rule 14).
 */

import assert from "node:assert/strict";
import {
  type AuthSource,
  type Config,
  DEFAULTS,
  ENV_NAMES,
  OPTIONS,
  parseConfig,
  USAGE,
} from "../lib/config.ts";
import { join } from "node:path";
import { REPO_ROOT } from "./_support/paths.ts";

/** serve parses `args` and `env` and returns the config, failing on help or version. */
function serve(args: string[], env: Record<string, string> = {}): Config {
  const request = parseConfig(args, env);
  assert.equal(request.kind, "serve");
  return (request as { kind: "serve"; config: Config }).config;
}

Deno.test("parseConfig: no arguments give DEFAULTS", () => {
  assert.deepEqual(parseConfig([]), { kind: "serve", config: DEFAULTS });
  assert.deepEqual(parseConfig([], {}), { kind: "serve", config: DEFAULTS });
  // Unrelated environment variables change nothing.
  assert.deepEqual(serve([], { PORT: "1", HOST: "0.0.0.0", HOME: "/root" }), DEFAULTS);
});

Deno.test("parseConfig: DEFAULTS are the documented ones", () => {
  assert.deepEqual(DEFAULTS, {
    root: "./www",
    hostname: "127.0.0.1",
    port: 8080,
    listing: true,
    dotfiles: false,
    quiet: false,
    cors: false,
    cacheControl: "no-cache",
    cacheBytes: 64 * 1024 * 1024,
    cacheEntries: 10_000,
    maxConnections: undefined, // derived at start from the free descriptors (main.ts)
    maxConnectionsPerClient: undefined,
    maxBodyBytes: 1024 * 1024,
    idleTimeoutSeconds: 5,
    requestTimeoutSeconds: 10,
    shutdownGraceSeconds: 10,
    uploadDir: undefined,
    maxUploadBytes: 100 * 1024 * 1024,
    uploadToken: undefined,
    dataDir: undefined,
    headers: [],
    spa: undefined,
    logFormat: "common",
    lan: false,
    live: false,
    open: false,
    tls: undefined,
    workers: 1,
    maxZipBytes: 16 * 1024 * 1024 * 1024,
    auth: [],
    boardDb: undefined,
    metrics: undefined,
    uploadQuotaBytes: 10 * 1024 ** 3,
    minFreeDiskBytes: 1024 ** 3,
  });
  // parseConfig fills a new object; DEFAULTS stay as they were.
  serve(["--port", "1", "--no-listing"]);
  assert.equal(DEFAULTS.port, 8080);
  assert.equal(DEFAULTS.listing, true);
});

Deno.test("parseConfig: flags", async (t) => {
  const CASES: Array<[args: string[], want: Partial<Config>]> = [
    [["site"], { root: "site" }],
    [["/srv/www"], { root: "/srv/www" }],
    [["--", "--dotfiles"], { root: "--dotfiles" }], // after "--", a name
    [["--port", "9000"], { port: 9000 }],
    [["--port=9000"], { port: 9000 }],
    [["--cors"], { cors: true }],
    [["--workers", "2"], { workers: 2 }],
    [["--upload-dir", "up"], { uploadDir: "up" }],
    [["--max-upload", "10"], { maxUploadBytes: 10 }],
    [["--max-zip-bytes", "1048576"], { maxZipBytes: 1048576 }],
    [["--max-zip-bytes", "0"], { maxZipBytes: 0 }],
    [["--upload-quota", "5000"], { uploadQuotaBytes: 5000 }],
    [["--upload-quota", "0"], { uploadQuotaBytes: 0 }],
    [["--min-free-disk", "0"], { minFreeDiskBytes: 0 }],
    [["--min-free-disk", "2147483648"], { minFreeDiskBytes: 2147483648 }],
    [["--upload-token", "s3cret"], { uploadToken: "s3cret" }],
    [["--data-dir", "data"], { dataDir: "data" }],
    [["--header", "X-A: 1", "--header", "X-B:two words"], {
      headers: [["X-A", "1"], ["X-B", "two words"]],
    }],
    [["--spa", "index.html"], { spa: "index.html" }],
    [["--log-format", "json"], { logFormat: "json" }],
    [["--log-format", "combined"], { logFormat: "combined" }],
    [["--lan"], { lan: true, hostname: "0.0.0.0" }],
    [["--live"], { live: true }],
    [["--max-connections-per-client", "16"], { maxConnectionsPerClient: 16 }],
    [["--open"], { open: true }],
    [["--lan", "--host", "::"], { lan: true, hostname: "::" }],
    [["--cert", "c.pem", "--key", "k.pem"], { tls: { certFile: "c.pem", keyFile: "k.pem" } }],
    [["--cache-control", "public, max-age=60"], { cacheControl: "public, max-age=60" }],
    [["--cache-bytes", "0"], { cacheBytes: 0 }],
    [["--cache-bytes", "1048576", "--cache-entries", "5"], {
      cacheBytes: 1048576,
      cacheEntries: 5,
    }],
    [["-p", "9000"], { port: 9000 }],
    [["-p9000"], { port: 9000 }],
    [["--port", "0"], { port: 0 }],
    [["--port", "65535"], { port: 65535 }],
    [["--port", "1", "--port", "2"], { port: 2 }], // the last one wins
    [["--host", "0.0.0.0"], { hostname: "0.0.0.0" }],
    [["-H", "::1"], { hostname: "::1" }],
    [["--no-listing"], { listing: false }],
    [["--dotfiles"], { dotfiles: true }],
    [["--quiet"], { quiet: true }],
    [["-q"], { quiet: true }],
    [["--max-connections", "5"], { maxConnections: 5 }],
    [["--max-body", "0"], { maxBodyBytes: 0 }],
    [["--max-body", "1048577"], { maxBodyBytes: 1048577 }],
    [["--idle-timeout", "1.5"], { idleTimeoutSeconds: 1.5 }],
    [["--request-timeout", "3"], { requestTimeoutSeconds: 3 }],
    [["--shutdown-grace", "0.25"], { shutdownGraceSeconds: 0.25 }],
    [["--idle-timeout", "86400"], { idleTimeoutSeconds: 86400 }],
    [
      ["www2", "-p", "81", "-H", "::", "--no-listing", "--dotfiles", "-q"],
      { root: "www2", port: 81, hostname: "::", listing: false, dotfiles: true, quiet: true },
    ],
    [["--dotfiles", "site"], { root: "site", dotfiles: true }], // ROOT after the flags
  ];
  for (const [args, want] of CASES) {
    await t.step(args.join(" "), () => assert.deepEqual(serve(args), { ...DEFAULTS, ...want }));
  }
});

Deno.test("parseConfig: --help and --version", async (t) => {
  for (const args of [["--help"], ["-h"], ["site", "--help"], ["--port", "abc", "-h"]]) {
    await t.step(args.join(" "), () => assert.deepEqual(parseConfig(args), { kind: "help" }));
  }
  for (const args of [["--version"], ["-V"], ["-p", "1", "--version"]]) {
    await t.step(args.join(" "), () => assert.deepEqual(parseConfig(args), { kind: "version" }));
  }
  await t.step("USAGE names every flag", () => {
    for (
      const flag of [
        "--port",
        "-p",
        "--host",
        "-H",
        "--no-listing",
        "--dotfiles",
        "--quiet",
        "--max-connections",
        "--max-body",
        "--idle-timeout",
        "--request-timeout",
        "--shutdown-grace",
        "--help",
        "--version",
      ]
    ) {
      assert.ok(USAGE.includes(flag), flag);
    }
  });
});

Deno.test("parseConfig: the environment, beneath the flags", async (t) => {
  const ENV = { MINSERVE_PORT: "9001", MINSERVE_HOST: "0.0.0.0", MINSERVE_ROOT: "/env/root" };
  await t.step("environment alone", () => {
    assert.deepEqual(serve([], ENV), {
      ...DEFAULTS,
      port: 9001,
      hostname: "0.0.0.0",
      root: "/env/root",
    });
  });
  await t.step("flags win", () => {
    assert.deepEqual(serve(["flag-root", "-p", "7", "-H", "::1"], ENV), {
      ...DEFAULTS,
      port: 7,
      hostname: "::1",
      root: "flag-root",
    });
  });
  await t.step("each variable on its own", () => {
    assert.equal(serve([], { MINSERVE_PORT: "0" }).port, 0);
    assert.equal(serve([], { MINSERVE_HOST: "::" }).hostname, "::");
    assert.equal(serve([], { MINSERVE_ROOT: "r" }).root, "r");
  });
  await t.step("an invalid MINSERVE_PORT is an error, not the default", () => {
    assert.throws(() => parseConfig([], { MINSERVE_PORT: "abc" }), (err: unknown) => {
      assert.ok(err instanceof RangeError);
      assert.ok(err.message.includes('"abc"'), err.message);
      return true;
    });
  });
  await t.step("a valid --port hides an invalid MINSERVE_PORT", () => {
    assert.equal(serve(["-p", "5"], { MINSERVE_PORT: "abc" }).port, 5);
  });
});

Deno.test("parseConfig: errors name the flag and quote the value", async (t) => {
  const CASES: Array<
    [args: string[], type: typeof TypeError | typeof RangeError, parts: string[]]
  > = [
    [["--port", "70000"], RangeError, ["--port", '"70000"']],
    [["--port", "abc"], RangeError, ["--port", '"abc"']],
    [["--port", ""], RangeError, ["--port", '""']],
    [["--port=-1"], RangeError, ["--port", '"-1"']],
    [["--port", "1.5"], RangeError, ["--port", '"1.5"']],
    [["--port", "1e3"], RangeError, ["--port", '"1e3"']],
    [["--port", " 80"], RangeError, ["--port", '" 80"']],
    [["--port", "0x50"], RangeError, ["--port", '"0x50"']],
    [["-p", "65536"], RangeError, ["--port", '"65536"']],
    [["--port", "-1"], TypeError, ["--port"]], // node:util sees a dash: "ambiguous"
    [["--port"], TypeError, ["--port"]],
    [["--max-connections", "0"], RangeError, ["--max-connections", '"0"']],
    [["--max-body", "-5"], TypeError, ["--max-body"]],
    [["--max-body", "big"], RangeError, ["--max-body", '"big"']],
    [["--idle-timeout", "0"], RangeError, ["--idle-timeout", '"0"']],
    [["--idle-timeout=-1"], RangeError, ["--idle-timeout", '"-1"']],
    [["--request-timeout", "0"], RangeError, ["--request-timeout", '"0"']],
    [["--request-timeout", "86401"], RangeError, ["--request-timeout", '"86401"']],
    [["--shutdown-grace", "0"], RangeError, ["--shutdown-grace", '"0"']],
    [["--shutdown-grace", "soon"], RangeError, ["--shutdown-grace", '"soon"']],
    [["--idle-timeout", ".5"], RangeError, ["--idle-timeout", '".5"']],
    [["--bogus"], TypeError, ["--bogus"]],
    [["-x"], TypeError, ["-x"]],
    [["--no-listing=1"], TypeError, ["--no-listing"]],
    [["--listing"], TypeError, ["--listing"]],
    [["one", "two"], TypeError, ['"one"', '"two"']],
    [[""], TypeError, ['""']],
    [["--host", ""], TypeError, ["--host", '""']],
    [["--cache-control", "a\r\nSet-Cookie: x"], TypeError, ["--cache-control"]],
    [["--cache-control", ""], TypeError, ["--cache-control", '""']],
    [["--cache-bytes", "64M"], RangeError, ["--cache-bytes", '"64M"']],
    [["--cache-entries", "0"], RangeError, ["--cache-entries", '"0"']],
    [["--header", "NoColon"], TypeError, ["--header", '"NoColon"']],
    [["--header", "Content-Length: 5"], TypeError, ["--header", "Content-Length"]],
    [["--header", "X-A: a\r\nX-B: b"], TypeError, ["--header"]],
    [["--log-format", "xml"], TypeError, ["--log-format", '"xml"']],
    [["--workers", "0"], RangeError, ["--workers", '"0"']],
    [["--max-zip-bytes", "1G"], RangeError, ["--max-zip-bytes", '"1G"']],
    [["--max-zip-bytes", "-1"], TypeError, ["--max-zip-bytes"]],
    [["--workers", "65"], RangeError, ["--workers", '"65"']],
    [["--cert", "c.pem"], TypeError, ["--cert", "--key"]],
    [["--key", "k.pem"], TypeError, ["--key", "--cert"]],
    [["--upload-dir", ""], TypeError, ["--upload-dir", '""']],
    [["--upload-token", "a b"], TypeError, ["--upload-token"]],
    [["--max-upload", "-1"], TypeError, ["--max-upload"]],
    [["--upload-quota", "10GiB"], RangeError, ["--upload-quota", '"10GiB"']],
    [["--upload-quota", "1.5"], RangeError, ["--upload-quota", '"1.5"']],
    [["--min-free-disk", "5%"], RangeError, ["--min-free-disk", '"5%"']],
    [["--min-free-disk", String(2 ** 51)], RangeError, ["--min-free-disk"]],
  ];
  for (const [args, type, parts] of CASES) {
    await t.step(JSON.stringify(args), () => {
      assert.throws(() => parseConfig(args), (err: unknown) => {
        assert.ok(err instanceof type, `${err} is not a ${type.name}`);
        for (const part of parts) assert.ok(err.message.includes(part), err.message);
        assert.ok(!err.message.endsWith("."), `trailing period: ${err.message}`);
        return true;
      });
    });
  }
});

/** A bcrypt hash (cost 4), in the three versions htpasswd files hold. */
const HASH_B = "$2b$04$8iMPAy/y.CDb5i1Arz/xVuML07.twuMU0wN2kjFcdiXZew7Hzawx.";
const HASH_Y = HASH_B.replace("$2b$", "$2y$");
const HASH_A = HASH_B.replace("$2b$", "$2a$");

Deno.test("parseConfig: --auth values are files or user:HASH entries", async (t) => {
  const CASES: Array<[value: string, want: AuthSource]> = [
    ["users.htpasswd", { kind: "file", path: "users.htpasswd" }],
    ["./conf/users", { kind: "file", path: "./conf/users" }],
    ["/etc/minserve/users", { kind: "file", path: "/etc/minserve/users" }],
    ["dir/a:b", { kind: "file", path: "dir/a:b" }], // a slash before the colon: a path
    ["C:\\users.txt", { kind: "file", path: "C:\\users.txt" }], // a Windows drive
    [`alice:${HASH_B}`, { kind: "user", user: { user: "alice", hash: HASH_B, role: "r" } }],
    [`alice:${HASH_Y}`, { kind: "user", user: { user: "alice", hash: HASH_Y, role: "r" } }],
    [`alice:${HASH_A}:r`, { kind: "user", user: { user: "alice", hash: HASH_A, role: "r" } }],
    [`bob:${HASH_B}:rw`, { kind: "user", user: { user: "bob", hash: HASH_B, role: "rw" } }],
    [`zoë:${HASH_B}`, { kind: "user", user: { user: "zoë", hash: HASH_B, role: "r" } }],
  ];
  for (const [value, want] of CASES) {
    await t.step(value, () => assert.deepEqual(serve(["--auth", value]).auth, [want]));
  }
  await t.step("repeatable, in order", () => {
    assert.deepEqual(serve(["--auth", "a", "--auth", `bob:${HASH_B}:rw`]).auth, [
      { kind: "file", path: "a" },
      { kind: "user", user: { user: "bob", hash: HASH_B, role: "rw" } },
    ]);
  });
});

Deno.test("parseConfig: a refused --auth entry names the user and hash-password, never the hash", async (t) => {
  const CASES: Array<[value: string, parts: string[]]> = [
    ["", ['--auth ""']],
    ["alice:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/", ['"alice"', "apr1 (MD5)", "hash-password"]],
    ["alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", ['"alice"', "{SHA}", "hash-password"]],
    ["alice:$1$abc$defghijklmnopqrstuvwx", ['"alice"', "MD5-crypt", "hash-password"]],
    ["alice:$6$salt$" + "x".repeat(86), ['"alice"', "SHA-crypt", "hash-password"]],
    ["alice:abJnggxhB/yWI", ['"alice"', "crypt (DES)", "hash-password"]],
    ["alice:secret", ['"alice"', "plain password", "hash-password"]],
    ["alice:", ['"alice"', "hash-password"]],
    [`alice:${HASH_B.slice(0, -1)}`, ['"alice"', "malformed bcrypt"]],
    [`alice:${HASH_B.replace("$04$", "$03$")}`, ['"alice"', "malformed bcrypt"]],
    [`alice:${HASH_B}:admin`, ['"alice"', '"rw"']],
    [`alice:${HASH_B}:rw:x`, ['"alice"', '"rw"']],
    [`:${HASH_B}`, ["user name must not be empty"]],
    [`al\x1bice:${HASH_B}`, ["control characters"]],
  ];
  for (const [value, parts] of CASES) {
    await t.step(JSON.stringify(value), () => {
      let text = "";
      try {
        parseConfig(["--auth", value]);
      } catch (err) {
        assert.ok(err instanceof TypeError);
        text = err.message;
      }
      assert.match(text, /^Cannot use --auth/);
      for (const part of parts) assert.ok(text.includes(part), `${text} lacks ${part}`);
      const hash = value.split(":")[1] ?? "";
      if (hash.length > 8) assert.ok(!text.includes(hash), `${text} shows the hash`);
    });
  }
});

Deno.test("parseConfig: hash-password and --cost", async (t) => {
  await t.step("default cost", () => {
    assert.deepEqual(parseConfig(["hash-password"]), { kind: "hash-password", cost: 10 });
  });
  await t.step("--cost", () => {
    assert.deepEqual(parseConfig(["hash-password", "--cost", "12"]), {
      kind: "hash-password",
      cost: 12,
    });
  });
  await t.step("after a baked ROOT and flags, as a compiled binary passes them", () => {
    assert.deepEqual(parseConfig(["./site", "--auth", "users", "hash-password"]), {
      kind: "hash-password",
      cost: 10,
    });
  });
  for (const cost of ["3", "32", "ten"]) {
    await t.step(`--cost ${cost} is refused`, () => {
      assert.throws(() => parseConfig(["hash-password", "--cost", cost]), /--cost "/);
    });
  }
  await t.step("--cost without hash-password is refused", () => {
    assert.throws(() => parseConfig(["--cost", "12"]), /--cost without hash-password/);
  });
  await t.step("--help documents both", () => {
    assert.match(USAGE, /--auth FILE\|USER:HASH/);
    assert.match(USAGE, /minserve hash-password \[--cost N\]/);
  });
});

Deno.test("parseConfig: --board-db and MINSERVE_BOARD_DB take a PostgreSQL URL, never quoted back", async (t) => {
  const url = "postgres://minserve:s3cret@db.internal:5433/board";
  assert.equal(serve(["--board-db", url]).boardDb, url);
  assert.equal(serve([], { MINSERVE_BOARD_DB: url }).boardDb, url);
  assert.equal(
    serve(["--board-db", "postgresql://u@h/d"], { MINSERVE_BOARD_DB: url }).boardDb,
    "postgresql://u@h/d",
  );
  const bad: [name: string, value: string][] = [
    ["not a URL", "s3cret-not-a-url"],
    ["another scheme", "mysql://u:s3cret@h/d"],
    ["no user", "postgres://h:5432/d"],
    ["no database", "postgres://u:s3cret@h:5432/"],
    ["a path, not a database", "postgres://u:s3cret@h/d/e"],
    ["empty", ""],
  ];
  for (const [name, value] of bad) {
    await t.step(name, () => {
      for (
        const [args, env] of [[["--board-db", value], {}], [[], {
          MINSERVE_BOARD_DB: value,
        }]] as const
      ) {
        assert.throws(() => parseConfig([...args], env), (err: unknown) => {
          assert.ok(err instanceof TypeError);
          assert.match(
            err.message,
            /^Cannot use (--board-db|MINSERVE_BOARD_DB): value must be postgres:\/\//,
          );
          assert.ok(!err.message.includes("s3cret"), "the password is not echoed");
          return true;
        });
      }
    });
  }
  assert.throws(
    () => parseConfig(["--board-db", url, "--data-dir", "data"]),
    /Cannot use --board-db with --data-dir/,
  );
});

Deno.test("parseConfig: --metrics takes HOST:PORT or PORT, never the public address", async (t) => {
  const cases: [value: string, want: { hostname: string; port: number }][] = [
    ["9464", { hostname: "127.0.0.1", port: 9464 }],
    ["0", { hostname: "127.0.0.1", port: 0 }],
    ["10.0.0.5:9464", { hostname: "10.0.0.5", port: 9464 }],
    ["[::1]:9464", { hostname: "::1", port: 9464 }],
    ["localhost:9100", { hostname: "localhost", port: 9100 }],
  ];
  for (const [value, want] of cases) {
    await t.step(value, () => assert.deepEqual(serve(["--metrics", value]).metrics, want));
  }
  for (const value of ["", "host:", ":9464", "a:b", "99999", "[::1]", "1.2.3.4:70000"]) {
    await t.step(`refused: ${JSON.stringify(value)}`, () => {
      assert.throws(() => parseConfig(["--metrics", value]), /Cannot use --metrics/);
    });
  }
  // The public port, on the same or an overlapping address: refused.
  for (
    const args of [
      ["--port", "8080", "--metrics", "8080"],
      ["--port", "8080", "--metrics", "127.0.0.1:8080"],
      ["--host", "0.0.0.0", "--port", "9000", "--metrics", "127.0.0.1:9000"],
      ["--port", "9000", "--metrics", "0.0.0.0:9000"],
    ]
  ) {
    assert.throws(() => parseConfig(args), /it is the public address/, args.join(" "));
  }
  // The same port on another address is another socket.
  assert.deepEqual(serve(["--port", "8080", "--metrics", "10.0.0.5:8080"]).metrics, {
    hostname: "10.0.0.5",
    port: 8080,
  });
  assert.throws(() => parseConfig(["--metrics", "9464", "--workers", "2"]), /--workers/);
});

/**
 * The --help text as it was before the options table (issue 14), but for
 * the order of MINSERVE_PORT and MINSERVE_HOST, which now follow the table.
 * A change to --help is a change here, made on purpose.
 */
const WANTED_USAGE = `Usage: minserve [ROOT] [options]

Serve the files under ROOT (default ./www) over HTTP/1.1.

Options:
  -p, --port N               TCP port to listen on (default 8080, or the next free one up to 8099; 0 picks any free one)
  -H, --host ADDR            address to listen on (default 127.0.0.1; 0.0.0.0 or :: for all)
      --no-listing           answer 404 for directories without index.html
      --dotfiles             serve files and directories whose name starts with "."
      --cors                 let any origin read responses (CORS), answer preflights
      --cache-control VALUE  Cache-Control of files and listings (default "no-cache")
      --cache-bytes BYTES    memory for files and their compressed forms (default 67108864)
      --cache-entries N      files (and misses) remembered at most (default 10000)
  -q, --quiet                no access log
      --max-connections N    connections served at once; more get 503 (default: what the
                             descriptor limit allows, 2 per connection, said in the banner)
      --max-connections-per-client N
                             connections one client address may hold (default: half of
                             --max-connections, at least 8); its others get 503
      --max-body BYTES       largest request body accepted (default 1048576)
      --idle-timeout S       seconds an idle keep-alive connection is kept (default 5)
      --request-timeout S    seconds to receive a request head, and the longest body stall (default 10)
      --shutdown-grace S     seconds to finish responses after SIGINT/SIGTERM (default 10)
      --upload-dir DIR       accept POST/PUT /uploads/NAME into DIR (off by default)
      --max-upload BYTES     largest upload, per file (default 104857600)
      --upload-token TOKEN   uploads need "Authorization: Bearer TOKEN"
      --data-dir DIR         keep the message board (/board) in DIR (off by default)
      --header "Name: value" add a header to every response (repeatable)
      --spa FILE             serve FILE (under ROOT) for navigations that match no file
      --log-format FORMAT    common (default), combined or json
      --live                 reload pages in the browser when files under ROOT change
      --open                 open the served URL in the default browser
      --lan                  listen on every interface (0.0.0.0) and print the network URLs
      --cert FILE --key FILE serve HTTPS with this PEM certificate and key
      --workers N            N isolates share the port, one per core (default 1; needs --unstable-net)
      --max-zip-bytes BYTES  largest folder download (?download=zip), its files added up
                             (default 17179869184; 0 turns folder downloads off)
      --auth FILE|USER:HASH  require HTTP Basic sign-in: an htpasswd FILE of bcrypt lines, or one
                             user (repeatable); a line or value ending in ":rw" is a writer, who
                             may also upload and clear the board; make a HASH with hash-password
      --board-db URL         keep the board in PostgreSQL: postgres://USER[:PASSWORD]@HOST[:PORT]/DB
                             (instead of --data-dir; better in MINSERVE_BOARD_DB or PGPASSWORD)
      --metrics ADDR         serve Prometheus metrics at http://ADDR/metrics (HOST:PORT or PORT,
                             host 127.0.0.1), never on the public address
      --upload-quota BYTES   the upload dir's files may add up to this much (default 10737418240)
      --min-free-disk BYTES  uploads must leave this much disk free (default 1073741824; 0: off)
  -h, --help                 show this help
  -V, --version              show the version

minserve hash-password [--cost N]
                             read a password from stdin (asked twice, not shown, at a terminal)
                             and print its bcrypt hash for --auth (cost default 10)

Environment (flags win): MINSERVE_ROOT, MINSERVE_PORT, MINSERVE_HOST, MINSERVE_UPLOAD_DIR,
MINSERVE_MAX_UPLOAD, MINSERVE_UPLOAD_TOKEN, MINSERVE_DATA_DIR, MINSERVE_LOG_FORMAT,
MINSERVE_BOARD_DB; NO_COLOR.

Permissions: at a terminal minserve asks, through Deno's prompt, for exactly what the options
need and nothing more: read of ROOT; read and write of the upload and data dirs (created if
missing); read of the cert and key and of --auth files; net for the address; sys
networkInterfaces for the --lan URLs; run of the browser opener for --open. Elsewhere it stops
with one line naming the deno run command that grants them.

Install: git clone <this repository's URL> minserve && cd minserve && npm install -g deno@2.9.6

Common commands, in the minserve folder:
  deno task serve ./site                     serve a folder (answer y when Deno asks to read it)
  deno task serve ./site --live --open       reload pages when files change; open the browser
  deno task serve --lan                      share on the local network; prints the URLs
  deno task serve --upload-dir ./uploads --data-dir ./data   uploads and the board
  deno task serve --cert cert.pem --key key.pem              HTTPS`;

Deno.test("USAGE: made from the table, the same text as before", () => {
  assert.equal(USAGE, WANTED_USAGE);
});

Deno.test("the options table, USAGE, parsing and ENV_NAMES agree", async (t) => {
  const listed = OPTIONS.filter((row) => row.usage !== null && row.name !== "ROOT");
  await t.step("every listed option is in USAGE, with its short alias", () => {
    for (const row of listed) {
      assert.ok(USAGE.includes(`--${row.name}`), `--${row.name}`);
      if (row.short) assert.ok(USAGE.includes(`-${row.short}, --${row.name}`), `-${row.short}`);
    }
  });
  await t.step("every option is parsed: a switch given, or a value refused", () => {
    for (const row of OPTIONS.filter((row) => row.name !== "ROOT")) {
      const args = row.type === "boolean" ? [`--${row.name}`] : [`--${row.name}=`];
      // An unknown option would throw "Cannot parse arguments: Unknown option".
      try {
        parseConfig(args);
      } catch (err) {
        assert.doesNotMatch(String(err), /Unknown option/, `--${row.name}`);
      }
    }
  });
  await t.step("DEFAULTS has exactly the fields the table sets", () => {
    const keys = OPTIONS.flatMap((row) => row.key === undefined ? [] : [row.key]);
    assert.deepEqual(Object.keys(DEFAULTS).sort(), [...new Set(keys)].sort());
    assert.equal(keys.length, new Set(keys).size, "one row per field");
  });
  await t.step("ENV_NAMES are the table's variables and NO_COLOR, each in USAGE", () => {
    const fromTable = OPTIONS.flatMap((row) => row.env === undefined ? [] : [row.env]);
    assert.deepEqual(ENV_NAMES, [...fromTable, "NO_COLOR"]);
    const paragraph = USAGE.slice(USAGE.indexOf("Environment (flags win):")).split("\n\n")[0]!;
    for (const name of ENV_NAMES) assert.ok(paragraph.includes(name), name);
  });
});

/** For each environment variable: a valid value, its field and parsed value, and a flag's value. */
const ENV_SAMPLES: Record<
  string,
  [value: string, field: keyof Config, want: unknown, flag: string]
> = {
  MINSERVE_ROOT: ["/srv/site", "root", "/srv/site", "site"],
  MINSERVE_PORT: ["9001", "port", 9001, "1"],
  MINSERVE_HOST: ["::1", "hostname", "::1", "::"],
  MINSERVE_UPLOAD_DIR: ["up", "uploadDir", "up", "up2"],
  MINSERVE_MAX_UPLOAD: ["7", "maxUploadBytes", 7, "8"],
  MINSERVE_UPLOAD_TOKEN: ["t0ken", "uploadToken", "t0ken", "other"],
  MINSERVE_DATA_DIR: ["data", "dataDir", "data", "d2"],
  MINSERVE_LOG_FORMAT: ["json", "logFormat", "json", "combined"],
  MINSERVE_BOARD_DB: ["postgres://u@db/b", "boardDb", "postgres://u@db/b", "postgres://v@db/c"],
};

Deno.test("every environment variable is read, beneath its flag, and named in its errors", async (t) => {
  assert.deepEqual(
    Object.keys(ENV_SAMPLES).sort(),
    ENV_NAMES.filter((name) => name !== "NO_COLOR").sort(),
    "a sample for each variable",
  );
  for (const [name, [value, field, want, flagValue]] of Object.entries(ENV_SAMPLES)) {
    await t.step(name, () => {
      assert.notDeepEqual(DEFAULTS[field], want);
      assert.deepEqual(serve([], { [name]: value })[field], want);
      const row = OPTIONS.find((row) => row.env === name)!;
      const args = row.name === "ROOT" ? [flagValue] : [`--${row.name}`, flagValue];
      assert.equal(String(serve(args, { [name]: value })[field]), flagValue, "the flag wins");
    });
  }
  await t.step("a bad value names the variable it came from", () => {
    for (const [name, value] of [["MINSERVE_HOST", ""], ["MINSERVE_LOG_FORMAT", "xml"]]) {
      assert.throws(() => parseConfig([], { [name!]: value }), new RegExp(name!));
    }
  });
});

Deno.test("parseConfig: each config has its own arrays; DEFAULTS stay as they were", () => {
  const config = serve([]);
  config.headers.push(["X-A", "a"]);
  config.auth.push({ kind: "file", path: "f" });
  assert.deepEqual(DEFAULTS.headers, []);
  assert.deepEqual(DEFAULTS.auth, []);
  assert.deepEqual(serve([]).headers, []);
});

Deno.test("README's flag table lists every option, and no other", async () => {
  const readme = await Deno.readTextFile(join(REPO_ROOT, "README.md"));
  const section = readme.slice(readme.indexOf("\n## Command line"));
  const table = section.slice(0, section.indexOf("\n## ", 1)).split("\n")
    .filter((line) => line.startsWith("| `"));
  const inReadme = new Set(
    table.flatMap((line) => line.split("|")[1]!.match(/(?<=`)-{1,2}[A-Za-z][\w-]*/g) ?? []),
  );
  const inTable = new Set(
    OPTIONS.filter((row) => row.name !== "ROOT" && row.name !== "cost").flatMap((row) => [
      `--${row.name}`,
      ...(row.short ? [`-${row.short}`] : []),
    ]),
  );
  // --key shares its row with --cert: `--cert FILE --key FILE`.
  if (table.some((line) => line.includes("--key FILE"))) inReadme.add("--key");
  assert.deepEqual([...inReadme].sort(), [...inTable].sort());
});
