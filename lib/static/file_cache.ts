/**
 * file_cache.ts — small files and misses answered from memory.
 *
 * PERFORMANCE.md measured where a raw-TCP Deno server spends a small-file
 * request: the kernel's TCP work is the floor (~8 µs); every async file
 * operation is a hop to a thread pool and back; building a Request and a
 * Response costs more than parsing; and a miss that throws NotFound costs
 * 100 µs of stack trace. So once the normal path has answered a plain GET
 * for a small file (or a 404), the exact bytes it produced are kept and
 * sent again as they are — no Request, no Response, no file-system call —
 * with only the Date patched, once a second.
 *
 * Never stale for long: an entry is checked again at most REVALIDATE_MS
 * after its last check (real path and stat, synchronously: two fast
 * syscalls, no thread hop), and a miss is remembered for NEGATIVE_TTL_MS
 * only. The cache is bounded in bytes and entries, oldest out first.
 *
 * Only responses the static layer tags (with {@linkcode tagFile} or
 * {@linkcode tagNotFound}) are stored, and only requests that could not
 * change them are answered: GET or HEAD of an origin-form target without a
 * query (HTTP/1.0 or 1.1, keep-alive or not), with no Range, no
 * conditional fields, no Accept-Encoding when the response varies by it, and
 * no Accept or Sec-Fetch-Mode for a 404 (whose page depends on them).
 */

import type { CachedAnswer, ResponseCache } from "../connection.ts";
import type { RequestHead } from "../http/request_head.ts";
import { type EncodedResponse, encodeResponse, patchDate } from "../http/response_writer.ts";

/** REVALIDATE_MS: how long an entry is trusted before its file is checked again. */
export const REVALIDATE_MS = 1000;
/** NEGATIVE_TTL_MS: how long a 404 is remembered; a file created meanwhile is visible after it. */
export const NEGATIVE_TTL_MS = 1000;
/** MAX_CACHE_BYTES bounds the memory the cache holds (32 MiB). */
export const MAX_CACHE_BYTES = 32 * 1024 * 1024;
/** MAX_CACHE_ENTRIES bounds the number of entries (a flood of distinct 404s evicts itself). */
export const MAX_CACHE_ENTRIES = 10_000;
/** MAX_CACHED_BODY_BYTES: larger files are streamed, never cached (1 MiB). */
export const MAX_CACHED_BODY_BYTES = 1024 * 1024;

/** What the static layer knows about a response it produced. */
type Tag =
  | { kind: "file"; path: string; real: string; size: number; mtime: number; varies: boolean }
  | { kind: "not-found" };

const tags = new WeakMap<Response, Tag>();

/**
 * tagFile marks `response` as the whole, plain representation of the file
 * at `path` (real path `real`), cacheable until the file changes.
 */
export function tagFile(
  response: Response,
  file: { path: string; real: string; size: number; mtime: number; varies: boolean },
) {
  if (file.size <= MAX_CACHED_BODY_BYTES) tags.set(response, { kind: "file", ...file });
}

/** tagNotFound marks `response` as the 404 for a path that matched no file. */
export function tagNotFound(response: Response) {
  tags.set(response, { kind: "not-found" });
}

/** The three heads a response can have: keep-alive on 1.1, keep-alive on 1.0, closing. */
type Variant = "keep-alive" | "keep-alive-1.0" | "close";
const VARIANT_FIELD: Record<Exclude<Variant, "keep-alive">, string> = {
  "keep-alive-1.0": "Connection: keep-alive\r\n",
  "close": "Connection: close\r\n",
};

interface Entry {
  /** The keep-alive HTTP/1.1 form, as the writer produced it. */
  encoded: EncodedResponse;
  /** The other forms, made from `encoded` when first asked for, within the current second. */
  variants: Map<Variant, { bytes: Uint8Array; headLength: number }>;
  status: number;
  bodyLength: number;
  tag: Tag;
  /** When the entry was last known good (ms since the epoch). */
  checkedAt: number;
  /** The second whose Date the bytes carry. */
  second: number;
}

/** FileCache is the {@linkcode ResponseCache} of the static layer. */
export class FileCache implements ResponseCache {
  #entries = new Map<string, Entry>();
  #bytes = 0;
  #server: string;
  #now: () => number;

  /** Creates a cache whose responses carry `Server: server`; `now` is for tests. */
  constructor(server: string, now: () => number = Date.now) {
    this.#server = server;
    this.#now = now;
  }

  /** Number of entries held. */
  get size(): number {
    return this.#entries.size;
  }

  lookup(head: RequestHead, keepAlive: boolean): CachedAnswer | undefined {
    if (!cacheableRequest(head)) return undefined;
    const entry = this.#entries.get(head.target);
    if (entry === undefined || !neutralFor(head, entry.tag)) return undefined;
    const now = this.#now();
    if (now - entry.checkedAt >= REVALIDATE_MS) {
      if (!this.#stillValid(entry)) {
        this.#delete(head.target, entry);
        return undefined;
      }
      entry.checkedAt = now;
    }
    const second = Math.floor(now / 1000);
    if (entry.second !== second) {
      // A fresh copy, not a patch in place: a write of the old bytes may
      // still be under way on another connection.
      entry.encoded = { ...entry.encoded, bytes: entry.encoded.bytes.slice() };
      patchDate(entry.encoded);
      entry.variants.clear();
      entry.second = second;
    }
    const variant: Variant = !keepAlive
      ? "close"
      : head.minor === 1
      ? "keep-alive"
      : "keep-alive-1.0";
    const { bytes, headLength } = variant === "keep-alive"
      ? entry.encoded
      : variantOf(entry, variant);
    return head.method === "HEAD"
      ? { bytes: bytes.subarray(0, headLength), status: entry.status, bodyBytes: 0 }
      : { bytes, status: entry.status, bodyBytes: entry.bodyLength };
  }

  async offer(head: RequestHead, response: Response): Promise<void> {
    const tag = tags.get(response);
    if (
      tag === undefined || head.method !== "GET" || !cacheableRequest(head) ||
      !neutralFor(head, tag)
    ) {
      return;
    }
    const body = new Uint8Array(await response.clone().arrayBuffer());
    if (body.length > MAX_CACHED_BODY_BYTES) return;
    const now = this.#now();
    const encoded = encodeResponse(response, body, this.#server);
    const old = this.#entries.get(head.target);
    if (old !== undefined) this.#delete(head.target, old);
    this.#entries.set(head.target, {
      encoded,
      variants: new Map(),
      status: response.status,
      bodyLength: body.length,
      tag,
      checkedAt: now,
      second: Math.floor(now / 1000),
    });
    this.#bytes += encoded.bytes.length;
    this.#evict();
  }

  /** A file entry is valid while its path still resolves to the same file, unchanged; a 404 for a while. */
  #stillValid(entry: Entry): boolean {
    const tag = entry.tag;
    if (tag.kind === "not-found") return false; // checkedAt is its store time: the TTL is over
    try {
      if (Deno.realPathSync(tag.path) !== tag.real) return false;
      const info = Deno.statSync(tag.real);
      return info.isFile && info.size === tag.size && (info.mtime?.getTime() ?? 0) === tag.mtime;
    } catch {
      return false;
    }
  }

  #delete(key: string, entry: Entry) {
    this.#entries.delete(key);
    this.#bytes -= entry.encoded.bytes.length;
  }

  #evict() {
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= MAX_CACHE_BYTES && this.#entries.size <= MAX_CACHE_ENTRIES) return;
      this.#delete(key, entry);
    }
  }
}

/** variantOf adds the Connection field `variant` needs before the head's final CRLF. */
function variantOf(entry: Entry, variant: Exclude<Variant, "keep-alive">) {
  let made = entry.variants.get(variant);
  if (made === undefined) {
    const { bytes, headLength } = entry.encoded;
    const field = VARIANT_FIELD[variant];
    const out = new Uint8Array(bytes.length + field.length);
    out.set(bytes.subarray(0, headLength - 2));
    for (let i = 0; i < field.length; i++) out[headLength - 2 + i] = field.charCodeAt(i);
    out.set(bytes.subarray(headLength - 2), headLength - 2 + field.length);
    made = { bytes: out, headLength: headLength + field.length };
    entry.variants.set(variant, made);
  }
  return made;
}

/** cacheableRequest: GET or HEAD of an origin-form target without a query, and no body. */
function cacheableRequest(head: RequestHead): boolean {
  return (head.method === "GET" || head.method === "HEAD") && head.framing.kind === "none" &&
    head.target.charCodeAt(0) === 0x2f && !head.target.includes("?");
}

/** neutralFor tells whether the request has no field that would change this response. */
function neutralFor(head: RequestHead, tag: Tag): boolean {
  for (const [name] of head.headers) {
    const first = name.charCodeAt(0) | 0x20;
    if (first === 0x72 /* r */ && name.length === 5 && name.toLowerCase() === "range") return false;
    if (first === 0x69 /* i */ && name.length > 3 && name.slice(0, 3).toLowerCase() === "if-") {
      return false;
    }
    if (first !== 0x61 /* a */ && first !== 0x73 /* s */) continue;
    const lower = name.toLowerCase();
    if (lower === "accept-encoding" && tag.kind === "file" && tag.varies) return false;
    if ((lower === "accept" || lower === "sec-fetch-mode") && tag.kind === "not-found") {
      return false;
    }
  }
  return true;
}
