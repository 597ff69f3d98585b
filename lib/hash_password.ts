/**
 * hash_password.ts — `minserve hash-password [--cost N]`: print the bcrypt
 * hash of a password read from stdin, for `--auth USER:HASH` or an htpasswd
 * file. At a terminal the password is asked twice and never shown; from a
 * pipe its first line is read. It needs no permission.
 */

import { CommandError, messageOf } from "./command_error.ts";

/** MAX_PASSWORD_INPUT_BYTES bounds what hash-password reads from a pipe; bcrypt reads 72 bytes. */
const MAX_PASSWORD_INPUT_BYTES = 64 * 1024;

const encoder = new TextEncoder();

/**
 * hashPasswordCommand reads the password and prints its bcrypt hash at
 * `cost` on stdout. Throws a CommandError when the two entries differ, when
 * stdin holds more than MAX_PASSWORD_INPUT_BYTES, when hashing fails, or
 * (code 130) when Ctrl-C is pressed at the prompt.
 */
export async function hashPasswordCommand(cost: number): Promise<void> {
  let password: string;
  if (Deno.stdin.isTerminal()) {
    password = await readHidden("Password: ");
    if (password !== await readHidden("Again: ")) {
      throw new CommandError("the two passwords differ; nothing hashed");
    }
  } else {
    const bytes = await readStdin(MAX_PASSWORD_INPUT_BYTES);
    password = new TextDecoder().decode(bytes).split("\n")[0]!.replace(/\r$/, "");
  }
  // bcrypt is loaded only for this command and for --auth.
  const { hashPassword } = await import("./auth.ts");
  let hash: string;
  try {
    hash = await hashPassword(password, cost);
  } catch (err) {
    throw new CommandError(messageOf(err), { cause: err });
  }
  console.log(hash);
}

/** readStdin reads stdin to its end; throws a CommandError past `max` bytes. */
async function readStdin(max: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of Deno.stdin.readable) {
    chunks.push(chunk);
    total += chunk.length;
    if (total > max) {
      throw new CommandError(`cannot hash the password: more than ${max} bytes on stdin`);
    }
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * readHidden asks `prompt` on stderr and reads one line from the terminal
 * in raw mode, so the password is not shown. Backspace deletes a
 * character; Ctrl-C throws a CommandError with code 130 and no message.
 */
async function readHidden(prompt: string): Promise<string> {
  // Raw before the prompt: what is typed once the prompt shows must never echo.
  Deno.stdin.setRaw(true);
  Deno.stderr.writeSync(encoder.encode(prompt));
  const bytes: number[] = [];
  const buf = new Uint8Array(64);
  try {
    for (;;) {
      const n = await Deno.stdin.read(buf);
      if (n === null || typeLine(bytes, buf.subarray(0, n))) break;
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * typeLine applies the keys of `chunk` to the line typed so far (`bytes`,
 * changed in place): printable bytes are added, Backspace deletes one
 * character (a whole UTF-8 sequence). Returns true at Enter or Ctrl-D;
 * throws a CommandError (code 130, no message) at Ctrl-C.
 */
export function typeLine(bytes: number[], chunk: Uint8Array): boolean {
  for (const b of chunk) {
    if (b === 0x0d || b === 0x0a || b === 0x04) return true;
    if (b === 0x03) throw new CommandError("", { code: 130 });
    if (b === 0x7f || b === 0x08) {
      // One character back: UTF-8 continuation bytes, then its lead byte.
      while (bytes.length > 0 && (bytes.at(-1)! & 0xc0) === 0x80) bytes.pop();
      bytes.pop();
    } else if (b >= 0x20) bytes.push(b);
  }
  return false;
}
