/**
 * tls_tunnel_test.ts — lib/tls_tunnel.ts on its own, with a throw-away
 * certificate: a public TCP connection is tunnelled to the private TLS
 * listener and read and written as decrypted bytes, the end of a response
 * drains to the client after close, and a client that never starts its
 * handshake loses its socket when the tunnel is closed. The server's use of
 * it (deadlines, descriptor counts) is tested in overload_test.ts.
 */

import assert from "node:assert/strict";
import { DRAIN_IDLE_MS, TlsTunnels } from "../lib/tls_tunnel.ts";
import { decode, encode } from "./_support/bytes.ts";
import { Client } from "./_support/client.ts";
import { withTempDir } from "./_support/server.ts";
import { HAVE_OPENSSL, makeCertificate } from "./_support/tls.ts";

/** How long past DRAIN_IDLE_MS a closed tunnel may take to drop the client: not a speed test. */
const CLOSE_SLACK_MS = 4_000;

/** Setup is a tunnel set, a public loopback listener, and the certificate clients trust. */
interface Setup {
  tunnels: TlsTunnels;
  listener: Deno.TcpListener;
  certPem: string;
}

/** withTunnels makes a certificate and a TlsTunnels, and a public loopback listener, for `fn`. */
async function withTunnels(fn: (setup: Setup) => Promise<void>): Promise<void> {
  await withTempDir(async (dir) => {
    const { certFile, keyFile, certPem } = await makeCertificate(dir);
    const tunnels = new TlsTunnels({
      cert: await Deno.readTextFile(certFile),
      key: await Deno.readTextFile(keyFile),
    });
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      await fn({ tunnels, listener, certPem });
    } finally {
      listener.close();
      await tunnels.close();
    }
  });
}

/** readSome reads once from `conn` and returns the text. */
async function readSome(conn: { read(p: Uint8Array): Promise<number | null> }): Promise<string> {
  const buf = new Uint8Array(1024);
  const n = await conn.read(buf);
  return n === null ? "<EOF>" : decode(buf.subarray(0, n));
}

Deno.test({
  name: HAVE_OPENSSL
    ? "TlsTunnels.wrap: decrypted bytes both ways, the public addresses, and a drained last write"
    : "TlsTunnels.wrap: SKIPPED, openssl is not installed (needed to make a certificate)",
  ignore: !HAVE_OPENSSL,
  async fn() {
    await withTunnels(async ({ tunnels, listener, certPem }) => {
      const port = listener.addr.port;
      const [outer, tls] = await Promise.all([
        listener.accept(),
        Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [certPem] }),
      ]);
      const conn = tunnels.wrap(outer);
      assert.deepEqual(conn.remoteAddr, outer.remoteAddr);
      assert.deepEqual(conn.localAddr, outer.localAddr);
      using client = new Client(tls);
      await client.send("ping");
      assert.equal(await readSome(conn), "ping");
      await conn.write(encode("pong"));
      assert.equal(await client.read(), 4);
      // A last write, then close at once: the client still gets it, then EOF.
      await conn.write(encode("bye"));
      conn.close();
      await client.untilEof(DRAIN_IDLE_MS + CLOSE_SLACK_MS);
      assert.equal(decode(client.bytes), "pongbye");
    });
  },
});

Deno.test({
  name: HAVE_OPENSSL
    ? "TlsTunnels: closing the tunnel of a client that never says hello drops its socket"
    : "TlsTunnels silent client: SKIPPED, openssl is not installed",
  ignore: !HAVE_OPENSSL,
  async fn() {
    await withTunnels(async ({ tunnels, listener }) => {
      const [outer, plain] = await Promise.all([
        listener.accept(),
        Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
      ]);
      const conn = tunnels.wrap(outer);
      using client = new Client(plain);
      // The handshake never starts, so a read would wait; the deadline is close().
      const reading = conn.read(new Uint8Array(16)).then(() => "read", () => "failed");
      conn.close();
      conn.close(); // twice is harmless
      const elapsed = await client.untilEof(DRAIN_IDLE_MS + CLOSE_SLACK_MS);
      assert.ok(elapsed <= DRAIN_IDLE_MS + CLOSE_SLACK_MS);
      assert.equal(client.bytes.length, 0);
      assert.equal(await reading, "failed", "the pending read ends with the tunnel");
    });
  },
});

Deno.test({
  name: HAVE_OPENSSL
    ? "TlsTunnels: a client that closes ends the server's read with EOF"
    : "TlsTunnels client close: SKIPPED, openssl is not installed",
  ignore: !HAVE_OPENSSL,
  async fn() {
    await withTunnels(async ({ tunnels, listener, certPem }) => {
      const [outer, tls] = await Promise.all([
        listener.accept(),
        Deno.connectTls({ hostname: "127.0.0.1", port: listener.addr.port, caCerts: [certPem] }),
      ]);
      const conn = tunnels.wrap(outer);
      const client = new Client(tls);
      await client.send("last words");
      assert.equal(await readSome(conn), "last words");
      client.close();
      const after = await readSome(conn).catch((err) => `error: ${err?.name}`);
      assert.ok(after === "<EOF>" || after.startsWith("error: "), after);
      conn.close();
    });
  },
});
