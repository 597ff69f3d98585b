/**
 * multipart.ts — a `multipart/form-data` body of one generated file, made as
 * it is sent: any size, a fixed amount of memory on the client side, and a
 * SHA-256 of the file's bytes to compare with what the server stored.
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { encode } from "./bytes.ts";
import { rssKiB } from "./proc.ts";
import { parseResponses, rawRequest, spawnServer, withTempDir } from "./server.ts";
import { delay } from "./wait.ts";

/** GeneratedForm is a form body to send with {@linkcode rawRequest} and what to expect of it. */
export interface GeneratedForm {
  /** The whole request head (POST /uploads/, Content-Type with boundary, Content-Length). */
  head: string;
  /** The body, made chunk by chunk as it is read. */
  body: AsyncIterable<Uint8Array>;
  /** The SHA-256 (hex) of the file's bytes, once the body has been read through. */
  sha256(): string;
}

/** GeneratedFormOptions shape a {@linkcode generatedForm}. */
export interface GeneratedFormOptions {
  /** Bytes per chunk of file data (default 256 KiB). */
  chunkBytes?: number;
  /** Extra header lines, each ending in CRLF. */
  extraHead?: string;
}

const BOUNDARY = "----minserveGeneratedBoundary7MA4YWxkTrZu0gW";

/**
 * generatedForm builds a POST /uploads/ of one file part named `filename`
 * of `fileBytes` bytes. The bytes are a pattern that changes with every
 * chunk (the chunk's index in its first 8 bytes), so a chunk written twice,
 * lost or out of order changes the hash.
 */
export function generatedForm(
  filename: string,
  fileBytes: number,
  options: GeneratedFormOptions = {},
): GeneratedForm {
  const chunkBytes = options.chunkBytes ?? 256 * 1024;
  const opening = encode(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
      "Content-Type: application/octet-stream\r\n\r\n",
  );
  const closing = encode(`\r\n--${BOUNDARY}--\r\n`);
  const length = opening.length + fileBytes + closing.length;
  const head = `POST /uploads/ HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
    `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\n` +
    `Content-Length: ${length}\r\nAccept: application/json\r\nConnection: close\r\n` +
    (options.extraHead ?? "") + "\r\n";
  const hash = createHash("sha256");
  let digest: string | undefined;
  async function* body(): AsyncGenerator<Uint8Array> {
    yield encode(head);
    yield opening;
    const chunk = new Uint8Array(chunkBytes);
    for (let i = 0; i < chunkBytes; i++) chunk[i] = (i * 31 + 7) & 0xff;
    const view = new DataView(chunk.buffer);
    for (let sent = 0, index = 0; sent < fileBytes; index++) {
      view.setBigUint64(0, BigInt(index));
      const piece = chunk.subarray(0, Math.min(chunkBytes, fileBytes - sent));
      hash.update(piece);
      // The same buffer is reused: rawRequest writes it whole before asking for the next.
      yield piece;
      sent += piece.length;
    }
    digest = hash.digest("hex");
    yield closing;
  }
  return {
    head,
    body: body(),
    sha256() {
      if (digest === undefined) throw new Error("Cannot hash the form: it has not been sent whole");
      return digest;
    },
  };
}

/** fileSha256 hashes a file on disk, reading it in chunks. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk); // closes the file at the end
  return hash.digest("hex");
}

/** FormUploadMeasure is what {@linkcode measureFormUpload} saw. */
export interface FormUploadMeasure {
  /** The server's resident memory after a warm-up upload, at rest, in KiB. */
  idleKiB: number;
  /** The highest resident memory sampled during the big upload, in KiB. */
  peakKiB: number;
  /** RSS samples taken. */
  samples: number;
  /** Wall time of the big upload, in seconds. */
  seconds: number;
  /** The answer's status and per-file result. */
  status: number;
  result: unknown;
  /** Whether the stored file's SHA-256 equals the sent one's. */
  sameBytes: boolean;
}

/** RSS_SAMPLE_MS: how often the server's resident memory is read during the upload. */
const RSS_SAMPLE_MS = 50;

/**
 * measureFormUpload starts the server (as `deno task serve` runs it: a 1 MiB
 * young generation) with uploads on, warms it with a small form upload,
 * reads its idle RSS, then streams a form of one `fileBytes` file through a
 * socket while sampling RSS from /proc every 50 ms. Undefined without /proc.
 */
export async function measureFormUpload(fileBytes: number): Promise<FormUploadMeasure | undefined> {
  return await withTempDir(async (dir) => {
    const root = join(dir, "root");
    const up = join(dir, "up");
    await Deno.mkdir(root);
    await Deno.mkdir(up);
    await using server = await spawnServer({
      root,
      args: [
        "--quiet",
        "--upload-dir",
        up,
        "--max-upload",
        String(fileBytes),
        "--upload-quota",
        String(2 * fileBytes),
      ],
      allowRead: [up],
      allowWrite: [up],
      denoFlags: ["--allow-sys=statfs", "--v8-flags=--max-semi-space-size=1"],
    });
    const warm = generatedForm("warm.bin", 4 * 1024 * 1024);
    const warmStatus = parseResponses(await rawRequest(server.port, warm.body))[0]?.status;
    if (warmStatus !== 201) throw new Error(`Cannot warm up: the server answered ${warmStatus}`);
    await delay(500);
    const idleKiB = await rssKiB(server.pid);
    if (idleKiB === undefined) return undefined;

    let peakKiB = idleKiB;
    let samples = 0;
    let sending = true;
    const sampler = (async () => {
      while (sending) {
        const now = await rssKiB(server.pid);
        if (now !== undefined) {
          peakKiB = Math.max(peakKiB, now);
          samples++;
        }
        await delay(RSS_SAMPLE_MS);
      }
    })();
    const form = generatedForm("big.bin", fileBytes);
    const started = performance.now();
    let raw: Uint8Array;
    try {
      raw = await rawRequest(server.port, form.body, { timeoutMs: 600_000 });
    } finally {
      sending = false;
      await sampler;
    }
    const seconds = (performance.now() - started) / 1000;
    const response = parseResponses(raw)[0];
    const result = response === undefined ? undefined : JSON.parse(response.text());
    const stored = join(up, "big.bin");
    const sameBytes = response?.status === 201 &&
      (await Deno.stat(stored)).size === fileBytes &&
      (await fileSha256(stored)) === form.sha256();
    return {
      idleKiB,
      peakKiB,
      samples,
      seconds,
      status: response?.status ?? 0,
      result,
      sameBytes,
    };
  });
}
