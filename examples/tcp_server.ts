/**
 * tcp_server.ts — the lessons' TCP prelude, server half: before HTTP, a
 * server that reads whatever a client sends and answers with how many bytes
 * arrived.
 *
 *     deno run --allow-net=127.0.0.1 examples/tcp_server.ts --port 9000
 *     echo hello | deno run --allow-net=127.0.0.1 examples/tcp_client.ts --port 9000
 *     # → received 6 bytes
 *
 * What it teaches: TCP is a stream of bytes, not of messages. One `read` may
 * return part of what the client wrote, or several of its writes at once, so
 * the server keeps reading until `read` returns null: end of file, meaning
 * the client has closed its sending half. Only then does it know the total.
 */

import { parseArgs } from "node:util";

/** READ_CHUNK_BYTES is the size of each read: 4 KiB, however much the client sends. */
export const READ_CHUNK_BYTES = 4 * 1024;

/** DEFAULT_PORT is the port used without `--port`; tcp_client.ts uses the same. */
export const DEFAULT_PORT = 9000;

/** ByteSource is the reading half of a `Deno.Conn`, so tests can pass a scripted one. */
export interface ByteSource {
  read(p: Uint8Array): Promise<number | null>;
}

/**
 * countBytes reads `source` to end of file in 4 KiB chunks and returns how
 * many bytes it held. It keeps only the count, so memory stays at one chunk
 * however much a client sends.
 */
export async function countBytes(source: ByteSource): Promise<number> {
  const buf = new Uint8Array(READ_CHUNK_BYTES);
  let total = 0;
  for (;;) {
    const n = await source.read(buf); // n bytes arrived; null: the client closed its side
    if (n === null) return total;
    total += n;
  }
}

/**
 * serveCounts accepts connections on `listener` one at a time: for each it
 * counts the bytes until the client stops sending, answers
 * `received N bytes\n`, and closes. It returns the number of connections
 * answered once the listener is closed. A client that vanishes mid-way is
 * skipped, not fatal: the server goes on to the next one.
 */
export async function serveCounts(listener: Deno.Listener): Promise<number> {
  let answered = 0;
  // The loop ends when the listener is closed.
  for await (const conn of listener) {
    // One connection at a time, to keep the lesson short. Its weakness: a
    // client that never closes its side holds up everyone behind it.
    // minserve's server.ts serves each connection concurrently instead.
    try {
      const total = await countBytes(conn);
      await writeAll(conn, new TextEncoder().encode(`received ${total} bytes\n`));
      answered++;
    } catch (err) {
      // A reset or a broken pipe means the client left; anything else is worth a line.
      if (!(err instanceof Deno.errors.ConnectionReset || err instanceof Deno.errors.BrokenPipe)) {
        console.error(`connection failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    } finally {
      conn.close();
    }
  }
  return answered;
}

/** writeAll writes every byte of `bytes`: one `write` may send only part of them. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
}

/** parsePort reads `--port N` (0 to 65535; 0 lets the system pick a free port). */
export function parsePort(args: string[]): number {
  const { values } = parseArgs({ args, options: { port: { type: "string", short: "p" } } });
  const raw = values.port ?? String(DEFAULT_PORT);
  const port = Number(raw);
  if (!/^[0-9]{1,5}$/.test(raw) || port > 65535) {
    throw new RangeError(`Cannot use port "${raw}": value must be an integer from 0 to 65535`);
  }
  return port;
}

async function main(): Promise<void> {
  let port: number;
  try {
    port = parsePort(Deno.args);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    console.error("usage: tcp_server.ts [--port N]");
    Deno.exitCode = 2;
    return;
  }
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: "127.0.0.1", port });
  } catch (err) {
    // Most often the port is taken (AddrInUse) or below 1024 without privileges.
    console.error(
      `Cannot listen on 127.0.0.1:${port}: ${err instanceof Error ? err.message : err}`,
    );
    Deno.exitCode = 1;
    return;
  }
  // With --port 0 the system chose the port: say which, so a client can find it.
  console.log(`listening on 127.0.0.1:${listener.addr.port}`);
  await serveCounts(listener);
}

if (import.meta.main) await main();
