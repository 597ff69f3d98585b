/**
 * config_test.ts — parseConfig: defaults, flags, the environment beneath
 * the flags, and errors that name the flag at fault (style rule 14).
 */

import assert from "node:assert/strict";
import { type Config, DEFAULTS, parseConfig, USAGE } from "../lib/config.ts";

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
    maxConnections: 1024,
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
