/**
 * banner_test.ts — what minserve prints once it listens, built from the
 * config and what was found at start. Tests run without a terminal, so
 * the banner is plain text.
 */

import assert from "node:assert/strict";
import { authWarning, banner, type BannerFacts, localUrl } from "../lib/banner.ts";
import { type Config, DEFAULTS } from "../lib/config.ts";

const ADDR: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 8123 };

const FACTS: BannerFacts = {
  realRoot: "/srv/site",
  addr: ADDR,
  permissions: "read: /srv/site; write: none; net: 127.0.0.1",
  noColor: undefined,
  free: { free: 1000, atLeast: false },
  users: 0,
  writers: 0,
  metricsAddr: undefined,
};

/** lines is the banner of `config` (over the defaults) and `facts` (over FACTS), as lines. */
function lines(config: Partial<Config>, facts: Partial<BannerFacts> = {}): string[] {
  return banner({ ...DEFAULTS, maxConnections: 100, ...config }, { ...FACTS, ...facts })
    .split("\n");
}

Deno.test("banner: the URL, the settings and the permissions, one per line", () => {
  const got = lines({});
  assert.match(got[0]!, /^minserve \S+ listening on http:\/\/127\.0\.0\.1:8123\/$/);
  for (
    const line of [
      "  root:     /srv/site",
      "  listing:  on (directories without index.html)",
      "  dotfiles: hidden (404)",
      "  uploads:  off",
      "  board:    off",
      "  cors:     off",
      "  conns:    at most 100 at once, 50 per client address (1000 descriptors free)",
      "  health:   /healthz (alive), /readyz (root readable, board reachable)",
      "  deno:     read: /srv/site; write: none; net: 127.0.0.1",
    ]
  ) assert.ok(got.includes(line), `${line}\nin:\n${got.join("\n")}`);
  assert.ok(!got.some((l) => /live:|auth:|metrics:|scan to open/.test(l)));
  assert.ok(!got.some((l) => l.includes("\x1b[")), "no colour without a terminal");
});

Deno.test("banner: each option's line", async (t) => {
  const CASES: Array<
    [name: string, config: Partial<Config>, facts: Partial<BannerFacts>, want: string]
  > = [
    [
      "uploads, with a token",
      { uploadDir: "./up", uploadToken: "t", maxUploadBytes: 1024 },
      {},
      "  uploads:  POST/PUT /uploads/NAME into ./up (token required), 1.0 KiB per file, quota 10 GiB, 1.0 GiB kept free",
    ],
    ["board in SQLite", { dataDir: "./data" }, {}, "  board:    /board, stored in ./data"],
    [
      "board in PostgreSQL: the host, never the password",
      { boardDb: "postgres://u:secret@db.example/board" },
      {},
      "  board:    /board, stored in PostgreSQL at db.example:5432",
    ],
    ["live", { live: true }, {}, "  live:     on (pages reload when files under the root change)"],
    ["listing off", { listing: false }, {}, "  listing:  off"],
    ["dotfiles", { dotfiles: true }, {}, "  dotfiles: served"],
    ["cors", { cors: true }, {}, "  cors:     any origin may read responses"],
    [
      "auth",
      { uploadToken: "t" },
      { users: 2, writers: 1 },
      "  auth:     HTTP Basic, 2 users (1 may write); uploads also take the token",
    ],
    ["one user", {}, { users: 1, writers: 0 }, "  auth:     HTTP Basic, 1 user (0 may write)"],
    [
      "metrics",
      {},
      { metricsAddr: { transport: "tcp", hostname: "::1", port: 9100 } },
      "  metrics:  http://[::1]:9100/metrics",
    ],
    [
      "a cap per client given, and the free descriptors a lower bound",
      { maxConnectionsPerClient: 3 },
      { free: { free: 500, atLeast: true } },
      "  conns:    at most 100 at once, 3 per client address (at least 500 descriptors free)",
    ],
    [
      "no descriptor count (Windows)",
      {},
      { free: undefined },
      "  conns:    at most 100 at once, 50 per client address",
    ],
    [
      "HTTPS",
      { tls: { certFile: "c", keyFile: "k" } },
      {},
      `minserve ${lines({})[0]!.split(" ")[1]} listening on https://127.0.0.1:8123/`,
    ],
  ];
  for (const [name, config, facts, want] of CASES) {
    await t.step(name, () => {
      const got = lines(config, facts);
      assert.ok(got.includes(want), `${want}\nin:\n${got.join("\n")}`);
      assert.ok(!got.join("\n").includes("secret"));
    });
  }
});

Deno.test("banner: on every interface, the exposure is said", () => {
  const wild: Deno.NetAddr = { transport: "tcp", hostname: "0.0.0.0", port: 8123 };
  const got = lines({ hostname: "0.0.0.0" }, { addr: wild });
  assert.match(got[0]!, /listening on http:\/\/localhost:8123\/$/);
  assert.equal(got[1], "  exposed on every interface (0.0.0.0):");
  // Either the LAN URLs, or how to let minserve list them.
  assert.match(got[2]!, /^ {4}(http:\/\/\d+\.\d+\.\d+\.\d+:8123\/|\(run with --allow-sys)/);
});

Deno.test("banner: --lan on loopback shows a QR code of the URL", () => {
  const got = lines({ lan: true });
  const at = got.indexOf("  scan to open http://127.0.0.1:8123/");
  assert.ok(at > 0, got.join("\n"));
  assert.ok(got.length > at + 10, "the code's rows follow");
});

Deno.test("localUrl: localhost for a wildcard, brackets for IPv6, https with TLS", async (t) => {
  const CASES: Array<[hostname: string, tls: boolean, want: string]> = [
    ["127.0.0.1", false, "http://127.0.0.1:80/"],
    ["0.0.0.0", false, "http://localhost:80/"],
    ["::", true, "https://localhost:80/"],
    ["::1", false, "http://[::1]:80/"],
  ];
  for (const [hostname, tls, want] of CASES) {
    await t.step(`${hostname} ${tls ? "https" : "http"}`, () => {
      const config = { tls: tls ? { certFile: "c", keyFile: "k" } : undefined };
      assert.equal(localUrl(config, { transport: "tcp", hostname, port: 80 }), want);
    });
  }
});

Deno.test("authWarning: only --auth over plain HTTP off loopback", async (t) => {
  const at = (hostname: string): Deno.NetAddr => ({ transport: "tcp", hostname, port: 80 });
  const tls = { ...DEFAULTS, tls: { certFile: "c", keyFile: "k" } };
  const CASES: Array<
    [name: string, config: Config, addr: Deno.NetAddr, users: number, warns: boolean]
  > = [
    ["no users", DEFAULTS, at("0.0.0.0"), 0, false],
    ["loopback", DEFAULTS, at("127.0.0.1"), 1, false],
    ["another loopback address", DEFAULTS, at("127.0.0.2"), 1, false],
    ["IPv6 loopback", DEFAULTS, at("::1"), 1, false],
    ["every interface", DEFAULTS, at("0.0.0.0"), 1, true],
    ["a LAN address", DEFAULTS, at("192.168.1.5"), 2, true],
    ["HTTPS", tls, at("0.0.0.0"), 1, false],
  ];
  for (const [name, config, addr, users, warns] of CASES) {
    await t.step(name, () => {
      const warning = authWarning(config, addr, users);
      assert.equal(warning !== undefined, warns, warning);
      if (warning) assert.match(warning, new RegExp(`plain HTTP on ${addr.hostname}`));
    });
  }
});
