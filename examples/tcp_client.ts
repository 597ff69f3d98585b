/**
 * tcp_client.ts — the lessons' TCP prelude, client half: send standard input
 * to the server of tcp_server.ts and print its answer.
 *
 *     echo hello | deno run --allow-net=127.0.0.1 examples/tcp_client.ts --port 9000
 *     deno run --allow-net=127.0.0.1 examples/tcp_client.ts < /dev/null   # sends nothing
 *
 * What it teaches: after sending, the client shuts down only its sending
 * half (`closeWrite`). The server then reads end of file, knows the message
 * is complete and answers on the half that is still open. Closing the whole
 * connection instead would leave no way to hear that answer.
 */

import { parseArgs } from "node:util";

/** SEND_CHUNK_BYTES is the size of each read from the input, and so of each send: 1 KiB. */
export const SEND_CHUNK_BYTES = 1024;

/** DEFAULT_PORT and DEFAULT_HOST match tcp_server.ts. */
export const DEFAULT_PORT = 9000;
/** DEFAULT_HOST is the loopback address the example server listens on. */
export const DEFAULT_HOST = "127.0.0.1";

/** ByteSource is anything read like `Deno.stdin` or a `Deno.Conn`. */
export interface ByteSource {
  read(p: Uint8Array): Promise<number | null>;
}

/** ByteSink is anything written like a `Deno.Conn`; a write may take fewer bytes than offered. */
export interface ByteSink {
  write(p: Uint8Array): Promise<number>;
}

/**
 * sendAll copies `source` to `conn` in 1 KiB chunks until the source ends,
 * and returns how many bytes it sent. An empty source sends nothing.
 */
export async function sendAll(conn: ByteSink, source: ByteSource): Promise<number> {
  const buf = new Uint8Array(SEND_CHUNK_BYTES);
  let sent = 0;
  for (;;) {
    const n = await source.read(buf);
    if (n === null) return sent; // end of input
    await writeAll(conn, buf.subarray(0, n));
    sent += n;
  }
}

/** writeAll writes every byte of `bytes`, looping because one `write` may be short. */
export async function writeAll(sink: ByteSink, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await sink.write(bytes.subarray(offset));
}

/** readReply reads `conn` until the server closes it and returns what it sent, as UTF-8 text. */
export async function readReply(conn: ByteSource): Promise<string> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(SEND_CHUNK_BYTES);
  let text = "";
  for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
    text += decoder.decode(buf.subarray(0, n), { stream: true }); // a character may span reads
  }
  return text + decoder.decode();
}

/** ClientArgs are the parsed command line. */
export interface ClientArgs {
  /** The server's host name or address. */
  host: string;
  /** The server's port, 1 to 65535. */
  port: number;
}

/** parseClientArgs reads `--host H` and `--port N` (1 to 65535). */
export function parseClientArgs(args: string[]): ClientArgs {
  const { values } = parseArgs({
    args,
    options: { host: { type: "string" }, port: { type: "string", short: "p" } },
  });
  const raw = values.port ?? String(DEFAULT_PORT);
  const port = Number(raw);
  if (!/^[0-9]{1,5}$/.test(raw) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot use port "${raw}": value must be an integer from 1 to 65535`);
  }
  const host = values.host ?? DEFAULT_HOST;
  if (host === "") throw new RangeError('Cannot use host "": value must not be empty');
  return { host, port };
}

async function main(): Promise<void> {
  let args: ClientArgs;
  try {
    args = parseClientArgs(Deno.args);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    console.error("usage: tcp_client.ts [--host H] [--port N] < input");
    Deno.exitCode = 2;
    return;
  }
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: args.host, port: args.port });
  } catch (err) {
    console.error(
      `Cannot connect to ${args.host}:${args.port}: ${err instanceof Error ? err.message : err}`,
    );
    Deno.exitCode = 1;
    return;
  }
  try {
    await sendAll(conn, Deno.stdin);
    await conn.closeWrite(); // "that is all": the server reads end of file
    await writeAll(Deno.stdout, new TextEncoder().encode(await readReply(conn)));
  } catch (err) {
    // E.g. the server closed or reset the connection before reading everything.
    console.error(
      `Cannot talk to ${args.host}:${args.port}: ${err instanceof Error ? err.message : err}`,
    );
    Deno.exitCode = 1;
  } finally {
    conn.close();
  }
}

if (import.meta.main) await main();
