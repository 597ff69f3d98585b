/**
 * tls_tunnel.ts — HTTPS whose handshakes have a deadline.
 *
 * Deno 2.9's TLS listener hands out a connection before its handshake and
 * then owns the socket until the handshake ends. A client that connects and
 * never sends a ClientHello therefore keeps its descriptor for as long as
 * it likes: closing the TlsConn does not release it, and there is neither a
 * handshake timeout nor a server-side `startTls` (measured; see README).
 *
 * So the public port is a plain TCP listener, and each admitted connection
 * is tunnelled over loopback to a private TLS listener: two pumps copy the
 * bytes both ways. minserve then owns the public socket and the tunnel's
 * near end. When a connection's deadline passes (the first read is the
 * handshake, under the idle timeout) closing them ends the private
 * handshake with an EOF, and every descriptor is released. The price is a
 * copy through loopback for HTTPS bytes and three descriptors per
 * connection instead of one: the public socket, the tunnel's near end and
 * the private TLS socket (descriptor_budget.ts counts them).
 */

import type { Conn } from "./connection.ts";

/** PUMP_BUFFER_BYTES is each pump's buffer: two per HTTPS connection. */
export const PUMP_BUFFER_BYTES = 16 * 1024;
/** UNCLAIMED_MS: a private connection that no tunnel claims within this long is closed (someone else dialled it). */
export const UNCLAIMED_MS = 2_000;
/**
 * DRAIN_STALL_MS: after the private side closes, the tunnel goes on copying
 * what it already sent (the end of a response) to the client, for as long
 * as the client takes some of it this often.
 */
export const DRAIN_STALL_MS = 10_000;
/**
 * DRAIN_IDLE_MS: a closing tunnel with nothing left to copy (a handshake
 * that never began sends nothing) closes after this long.
 */
export const DRAIN_IDLE_MS = 1_000;
/** How often a closing tunnel checks on its drain. */
const DRAIN_CHECK_MS = 250;

/** TlsTunnels owns the private TLS listener and makes a tunnel for each public connection. */
export class TlsTunnels {
  #listener: Deno.TlsListener;
  #port: number;
  /** Private connections by the tunnel's near-end port, waiting for their tunnel, and tunnels waiting for theirs. */
  #arrived = new Map<number, Deno.TlsConn>();
  #waiting = new Map<number, (conn: Deno.TlsConn) => void>();
  #accepting: Promise<void>;

  /** Listens privately on 127.0.0.1 with `tls`'s certificate and key. */
  constructor(tls: { cert: string; key: string }) {
    this.#listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...tls });
    this.#port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept();
  }

  /**
   * wrap tunnels `outer` (a public TCP connection) to the private listener
   * and returns the decrypted side as a {@linkcode Conn} with `outer`'s
   * addresses. It returns at once; reads and writes wait for the tunnel.
   */
  wrap(outer: Deno.Conn): Conn {
    return new Tunnel(outer, this.#port, (port) => this.#claim(port));
  }

  /** Stops the private listener and closes what was never claimed. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // closed already
    }
    await this.#accepting;
    for (const conn of this.#arrived.values()) closeQuietly(conn);
    this.#arrived.clear();
  }

  async #accept() {
    for (;;) {
      let conn: Deno.TlsConn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) {
          return;
        }
        continue; // a peer that reset before the accept
      }
      const port = (conn.remoteAddr as Deno.NetAddr).port;
      const waiter = this.#waiting.get(port);
      if (waiter !== undefined) {
        this.#waiting.delete(port);
        waiter(conn);
        continue;
      }
      this.#arrived.set(port, conn);
      setTimeout(() => {
        if (this.#arrived.get(port) !== conn) return;
        this.#arrived.delete(port);
        closeQuietly(conn);
      }, UNCLAIMED_MS);
    }
  }

  /** The private connection whose peer is the tunnel end at `port`, whichever came first. */
  #claim(port: number): Promise<Deno.TlsConn> {
    const arrived = this.#arrived.get(port);
    if (arrived !== undefined) {
      this.#arrived.delete(port);
      return Promise.resolve(arrived);
    }
    return new Promise((resolve) => this.#waiting.set(port, resolve));
  }
}

/** PumpState is what a closing tunnel watches of its pump towards the client. */
interface PumpState {
  done: boolean;
  /** Whether it holds bytes it could not write yet. */
  writing: boolean;
  /** When it last wrote some. */
  progress: number;
}

/** Tunnel is one public connection, seen as the decrypted stream of its private TLS connection. */
class Tunnel implements Conn {
  readonly remoteAddr: Deno.Addr;
  readonly localAddr: Deno.Addr;
  #outer: Deno.Conn;
  #near: Deno.Conn | undefined;
  #inner: Deno.TlsConn | undefined;
  #ready: Promise<Deno.TlsConn>;
  #closed = false;
  #closing = false;
  /** The pump towards the client. */
  #outward: PumpState = {
    done: false,
    writing: false,
    progress: 0,
  };

  constructor(outer: Deno.Conn, port: number, claim: (port: number) => Promise<Deno.TlsConn>) {
    this.#outer = outer;
    this.remoteAddr = outer.remoteAddr;
    this.localAddr = outer.localAddr;
    this.#ready = this.#open(port, claim);
    this.#ready.catch(() => {}); // a read or write reports it
  }

  async #open(port: number, claim: (port: number) => Promise<Deno.TlsConn>) {
    const near = await Deno.connect({ hostname: "127.0.0.1", port });
    this.#near = near;
    const inner = await claim((near.localAddr as Deno.NetAddr).port);
    this.#inner = inner;
    if (this.#closing) {
      this.#closeAll();
      throw new Deno.errors.BadResource("The connection was closed");
    }
    void Promise.all([
      this.#pump(this.#outer, near),
      this.#pump(near, this.#outer, this.#outward),
    ]).finally(() => this.#closeAll());
    return inner;
  }

  /** Copies `from` to `to` until EOF, then half-closes `to`; a failure closes everything. */
  async #pump(from: Deno.Conn, to: Deno.Conn, state?: PumpState) {
    const buffer = new Uint8Array(PUMP_BUFFER_BYTES);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        if (state) state.writing = true;
        for (let offset = 0; offset < n;) {
          offset += await to.write(buffer.subarray(offset, n));
          if (state) state.progress = Date.now();
        }
        if (state) state.writing = false;
      }
      await to.closeWrite();
    } catch {
      this.#closeAll();
    } finally {
      if (state) state.done = true;
    }
  }

  async read(p: Uint8Array): Promise<number | null> {
    return await (this.#inner ?? await this.#ready).read(p);
  }

  async write(p: Uint8Array): Promise<number> {
    return await (this.#inner ?? await this.#ready).write(p);
  }

  async closeWrite(): Promise<void> {
    await (this.#inner ?? await this.#ready).closeWrite();
  }

  /**
   * Closes the private side, lets the end of a response drain to the client
   * (see {@linkcode DRAIN_STALL_MS}), then closes the rest: a handshake still
   * under way ends with an EOF and releases its socket.
   */
  close() {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#inner !== undefined) closeQuietly(this.#inner);
    if (this.#near === undefined || this.#inner === undefined) return this.#closeAll();
    const since = Date.now();
    const timer = setInterval(() => {
      const outward = this.#outward;
      const now = Date.now();
      const stalled = outward.writing
        ? now - Math.max(outward.progress, since) > DRAIN_STALL_MS
        : now - since > DRAIN_IDLE_MS;
      if (outward.done || this.#closed || stalled) {
        clearInterval(timer);
        this.#closeAll();
      }
    }, DRAIN_CHECK_MS);
  }

  #closeAll() {
    this.#closing = this.#closed = true;
    for (const conn of [this.#inner, this.#near, this.#outer]) {
      if (conn !== undefined) closeQuietly(conn);
    }
  }
}

function closeQuietly(conn: { close(): void }) {
  try {
    conn.close();
  } catch {
    // closed already
  }
}
