/**
 * app_fast_path_test.ts — the app's fast path (a parsed head in, a
 * PlainResponse out, no Request or Response) must answer exactly what the
 * handler answers, or decline and leave the request to it.
 *
 * For each request of the table, the handler is called once first (so the
 * store holds the file and its compressed forms), then `app.fastPath(head)`.
 * A case says whether the fast path must answer or decline, and the status
 * the handler gives. When the fast path answers, the handler is asked the
 * same request and both must agree: status, the set of header fields (with
 * Content-Length, which the fast path carries as `length`, compared
 * separately) and, for GET, the body bytes. Two apps run the table: plain,
 * and one with CORS and extra `--header` fields.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type AppOptions, createApp } from "../lib/app.ts";
import type { ServeInfo } from "../lib/http/handler.ts";
import type { Framing, RequestHead } from "../lib/http/request_head.ts";
import type { PlainResponse } from "../lib/http/response_writer.ts";
import { MAX_STORED_FILE_BYTES } from "../lib/static/store.ts";
import { concat, decode, encode } from "./_support/bytes.ts";
import { withTempDir } from "./_support/server.ts";

const INFO: ServeInfo = { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50000 } };
/** How far back the files' modification times are set, so no date-based caution applies. */
const AGE_MS = 3600_000;
/** Replaced, in a case's header values, by the ETag the handler sent for the same request. */
const ETAG = "{etag}";

interface FastCase {
  name: string;
  /** GET unless given. */
  method?: string;
  target: string;
  /** Header fields as a client sends them; a value may contain {@linkcode ETAG}. */
  headers?: [string, string][];
  /** How the request's body is framed; none unless given. */
  framing?: Framing;
  /**
   * The fast path answers (as the handler does) with this status and content
   * coding (identity unless given), or declines and the handler answers this.
   */
  want: { answers: number; coding?: "br" | "gzip" } | { declines: number };
}

const BR: [string, string] = ["Accept-Encoding", "br"];
const GZIP: [string, string] = ["Accept-Encoding", "gzip"];
const BROWSER_CODINGS: [string, string] = ["Accept-Encoding", "gzip, deflate, br"];
const JSON_ACCEPT: [string, string] = ["Accept", "application/json"];

const CASES: FastCase[] = [
  // Files, whole.
  { name: "GET a CSS file over 1 KB", target: "/app.css", want: { answers: 200 } },
  { name: "HEAD a CSS file over 1 KB", method: "HEAD", target: "/app.css", want: { answers: 200 } },
  {
    name: "GET it with br",
    target: "/app.css",
    headers: [BR],
    want: { answers: 200, coding: "br" },
  },
  {
    name: "HEAD it with br",
    method: "HEAD",
    target: "/app.css",
    headers: [BR],
    want: { answers: 200, coding: "br" },
  },
  {
    name: "GET it with gzip",
    target: "/app.css",
    headers: [GZIP],
    want: { answers: 200, coding: "gzip" },
  },
  {
    name: "HEAD it with gzip",
    method: "HEAD",
    target: "/app.css",
    headers: [GZIP],
    want: { answers: 200, coding: "gzip" },
  },
  {
    name: "GET it with a browser's Accept-Encoding",
    target: "/app.css",
    headers: [BROWSER_CODINGS],
    want: { answers: 200, coding: "br" },
  },
  { name: "GET a small text file", target: "/notes.txt", want: { answers: 200 } },
  {
    name: "HEAD a small text file",
    method: "HEAD",
    target: "/notes.txt",
    want: { answers: 200 },
  },
  {
    name: "GET a small text file with br",
    target: "/notes.txt",
    headers: [BR],
    want: { answers: 200 },
  },
  { name: "GET a binary file", target: "/logo.png", want: { answers: 200 } },
  { name: "HEAD a binary file", method: "HEAD", target: "/logo.png", want: { answers: 200 } },
  {
    name: "GET a binary file with br",
    target: "/logo.png",
    headers: [BR],
    want: { answers: 200 },
  },
  { name: "GET a directory's index", target: "/sub/", want: { answers: 200 } },
  { name: "HEAD a directory's index", method: "HEAD", target: "/sub/", want: { answers: 200 } },
  { name: "GET the index by name", target: "/sub/index.html", want: { answers: 200 } },
  { name: "GET with an unknown query parameter", target: "/notes.txt?v=3", want: { answers: 200 } },
  {
    name: "GET a name with a percent-encoded space",
    target: "/sp%20ace.txt",
    want: { answers: 200 },
  },
  {
    name: "GET a name with percent-encoded UTF-8",
    target: "/%C3%BCn%C3%AF.txt",
    want: { answers: 200 },
  },
  { name: "GET with an empty segment", target: "//app.css", want: { answers: 200 } },

  // Validators.
  {
    name: "If-None-Match with the current ETag: 304",
    target: "/app.css",
    headers: [["If-None-Match", ETAG]],
    want: { answers: 304 },
  },
  {
    name: "HEAD, If-None-Match with the current ETag: 304",
    method: "HEAD",
    target: "/app.css",
    headers: [["If-None-Match", ETAG]],
    want: { answers: 304 },
  },
  {
    name: "br, If-None-Match with the current (br) ETag: 304",
    target: "/app.css",
    headers: [BR, ["If-None-Match", ETAG]],
    want: { answers: 304 },
  },
  {
    name: "If-None-Match with another tag: 200",
    target: "/app.css",
    headers: [["If-None-Match", '"other"']],
    want: { answers: 200 },
  },
  {
    name: "If-Modified-Since now: 304",
    target: "/notes.txt",
    headers: [["If-Modified-Since", new Date().toUTCString()]],
    want: { answers: 304 },
  },
  {
    name: "If-Match with another tag: 412 is the handler's",
    target: "/app.css",
    headers: [["If-Match", '"other"']],
    want: { declines: 412 },
  },

  // Ranges and ?bytes.
  {
    name: "Range bytes=0-4",
    target: "/app.css",
    headers: [["Range", "bytes=0-4"]],
    want: { answers: 206 },
  },
  {
    name: "Range suffix bytes=-3",
    target: "/app.css",
    headers: [["Range", "bytes=-3"]],
    want: { answers: 206 },
  },
  {
    name: "Range of two parts: multipart/byteranges",
    target: "/app.css",
    headers: [["Range", "bytes=20-29,0-4"]],
    want: { answers: 206 },
  },
  {
    name: "If-Range with the current ETag: 206",
    target: "/app.css",
    headers: [["Range", "bytes=0-4"], ["If-Range", ETAG]],
    want: { answers: 206 },
  },
  {
    name: "If-Range with another ETag: 200",
    target: "/app.css",
    headers: [["Range", "bytes=0-4"], ["If-Range", '"other"']],
    want: { answers: 200 },
  },
  {
    name: "Range beyond the end: 416 is the handler's",
    target: "/app.css",
    headers: [["Range", "bytes=99999-"]],
    want: { declines: 416 },
  },
  { name: "?bytes=3", target: "/app.css?bytes=3", want: { answers: 200 } },
  { name: "HEAD ?bytes=3", method: "HEAD", target: "/app.css?bytes=3", want: { answers: 200 } },
  { name: "?bytes=0: 400 is the handler's", target: "/app.css?bytes=0", want: { declines: 400 } },

  // Misses.
  { name: "a missing file, no Accept", target: "/missing.txt", want: { answers: 404 } },
  {
    name: "a missing file, Accept: application/json",
    target: "/missing.txt",
    headers: [JSON_ACCEPT],
    want: { answers: 404 },
  },
  {
    name: "HEAD a missing file, Accept: application/json",
    method: "HEAD",
    target: "/missing.txt",
    headers: [JSON_ACCEPT],
    want: { answers: 404 },
  },
  {
    name: "a missing file in a missing directory",
    target: "/nowhere/missing.txt",
    want: { answers: 404 },
  },
  {
    name: "a path below a file",
    target: "/notes.txt/more",
    headers: [JSON_ACCEPT],
    want: { answers: 404 },
  },
  // */* takes HTML, so the handler serves 404.html: a browser's 404.
  {
    name: "a missing file, Accept: */*",
    target: "/missing.txt",
    headers: [["Accept", "*/*"]],
    want: { declines: 404 },
  },
  {
    name: "a missing file, Accept: text/html",
    target: "/missing.txt",
    headers: [["Accept", "text/html"]],
    want: { declines: 404 },
  },
  {
    name: "a missing file, a navigation",
    target: "/missing.txt",
    headers: [["Sec-Fetch-Mode", "navigate"]],
    want: { declines: 404 },
  },

  // What only the handler answers.
  { name: "a directory without its slash: redirect", target: "/sub", want: { declines: 301 } },
  { name: "the root: listing", target: "/", want: { declines: 200 } },
  {
    name: "a folder with an index, downloaded: its archive, not its page",
    target: "/sub/?download=zip",
    want: { declines: 200 },
  },
  { name: "a template", target: "/x.tmpl.html", want: { declines: 200 } },
  { name: "a template with a query", target: "/x.tmpl.html?v=3", want: { declines: 200 } },
  { name: "a dotfile", target: "/.hidden", want: { declines: 404 } },
  { name: "a dotfile, percent-encoded", target: "/%2ehidden", want: { declines: 404 } },
  { name: "a link to a dotfile", target: "/link-dot.txt", want: { declines: 404 } },
  { name: "a link out of the root", target: "/link-out.txt", want: { declines: 404 } },
  { name: "a file name with a slash after it", target: "/notes.txt/", want: { declines: 404 } },
  { name: "/time", target: "/time", want: { declines: 200 } },
  { name: "a file over the stored size", target: "/big.txt", want: { declines: 200 } },
  { name: "invalid percent-encoding", target: "/%zz", want: { declines: 400 } },
  { name: "POST", method: "POST", target: "/app.css", want: { declines: 405 } },
  { name: "OPTIONS", method: "OPTIONS", target: "/app.css", want: { declines: 204 } },
  {
    name: "a GET with a framed body",
    target: "/app.css",
    framing: { kind: "length", length: 0 },
    want: { declines: 200 },
  },
  { name: "absolute-form target", target: "http://a/app.css", want: { declines: 200 } },
];

// ---------------------------------------------------------------------------

/** writeRoot writes the document root (and a file outside it), an hour old. */
function writeRoot(tmp: string): string {
  const root = join(tmp, "root");
  Deno.mkdirSync(join(root, "sub"), { recursive: true });
  let css = "";
  for (let i = 0; i < 80; i++) css += `.rule-${i} { color: #${String(i).padStart(6, "0")}; }\n`;
  const png = new Uint8Array(2048);
  png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  for (let i = 8; i < png.length; i++) png[i] = (i * 7919) % 251;
  const files: Record<string, Uint8Array> = {
    "app.css": encode(css),
    "notes.txt": encode("hello, fast path\n"),
    "logo.png": png,
    "sub/index.html": encode("<!doctype html><title>sub</title><p>sub index</p>\n"),
    "x.tmpl.html": encode("<!doctype html><title>t</title><p>Hello {{name|world}}</p>\n"),
    ".hidden": encode("secret\n"),
    "404.html": encode("<!doctype html><title>lost</title><p>custom not found</p>\n"),
    "sp ace.txt": encode("space\n"),
    "ünï.txt": new TextEncoder().encode("unicode\n"),
    "big.txt": encode("0123456789abcdef".repeat(MAX_STORED_FILE_BYTES / 16 + 1024)),
  };
  const past = new Date(Date.now() - AGE_MS);
  for (const [name, bytes] of Object.entries(files)) {
    Deno.writeFileSync(join(root, name), bytes);
    Deno.utimeSync(join(root, name), past, past);
  }
  Deno.writeTextFileSync(join(tmp, "outside.txt"), "outside the root\n");
  Deno.symlinkSync(join(tmp, "outside.txt"), join(root, "link-out.txt"));
  Deno.symlinkSync(join(root, ".hidden"), join(root, "link-dot.txt"));
  return root;
}

/** urlOf is the URL of `target` as the connection would build it. */
function urlOf(target: string): string {
  return target.startsWith("/") ? "http://a" + target : target;
}

/**
 * comparable lists fields as sorted lower-case pairs, and with them the
 * body, with a multipart boundary (random per answer) replaced by a fixed one.
 */
function comparable(
  fields: Iterable<readonly [string, string]>,
  body: Uint8Array,
): { fields: [string, string][]; body: Uint8Array } {
  const pairs = [...fields].map(([n, v]): [string, string] => [n.toLowerCase(), v]);
  let text = decode(body);
  for (const pair of pairs) {
    const boundary = /^multipart\/byteranges; boundary=(.+)$/.exec(pair[1])?.[1];
    if (pair[0] !== "content-type" || boundary === undefined) continue;
    pair[1] = pair[1].replace(boundary, "BOUNDARY");
    text = text.replaceAll(boundary, "BOUNDARY");
  }
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return { fields: pairs, body: encode(text) };
}

async function bytesOf(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

type App = ReturnType<typeof createApp>;

async function checkCase(app: App, c: FastCase) {
  const method = c.method ?? "GET";
  // The handler first: the store now holds the file and its compressed forms.
  const warmHeaders = (c.headers ?? []).filter(([, v]) => !v.includes(ETAG));
  const warm = await app(new Request(urlOf(c.target), { headers: warmHeaders }), INFO);
  await warm.body?.cancel();
  const etag = warm.headers.get("etag") ?? "(no etag)";
  const headers = (c.headers ?? []).map(([n, v]): [string, string] => [n, v.replace(ETAG, etag)]);

  const head: RequestHead = {
    method,
    target: c.target,
    minor: 1,
    headers,
    authority: "a",
    framing: c.framing ?? { kind: "none" },
    keepAlive: true,
    expectContinue: false,
  };
  const answer: PlainResponse | undefined = app.fastPath(head);
  const response = await app(new Request(urlOf(c.target), { method, headers }), INFO);

  if ("declines" in c.want) {
    await response.body?.cancel();
    assert.equal(answer, undefined, `the fast path answered ${answer?.status}`);
    assert.equal(response.status, c.want.declines, "the handler's status");
    return;
  }
  assert.ok(answer !== undefined, "the fast path declined");
  assert.equal(answer.status, c.want.answers, "the fast path's status");
  assert.equal(response.status, answer.status, "the handler's status");
  const coding = answer.fields.find(([name]) => name === "content-encoding")?.[1];
  assert.equal(coding, c.want.coding, "Content-Encoding");

  for (const [name] of answer.fields) {
    assert.equal(name, name.toLowerCase(), "a PlainResponse's field names are lower case");
  }
  assert.ok(
    answer.fields.every(([name]) => name !== "content-length"),
    "the fast path carries Content-Length as length",
  );
  const handlerBody = await bytesOf(response);
  const fastBody = concat(answer.body ?? []);
  const fast = comparable(answer.fields, method === "GET" ? fastBody : new Uint8Array());
  const handler = comparable(
    [...response.headers].filter(([name]) => name !== "content-length"),
    method === "GET" ? handlerBody : new Uint8Array(),
  );
  assert.deepEqual(fast.fields, handler.fields, "header fields");
  if (answer.status !== 304) {
    // Without a Content-Length field, the writer sends the body's length.
    const handlerLength = response.headers.get("content-length") ?? String(handlerBody.length);
    assert.equal(String(answer.length), handlerLength, "Content-Length");
  }
  if (method === "GET") {
    assert.equal(fastBody.length, answer.length, "the fast path's body is `length` bytes");
    assert.deepEqual(fast.body, handler.body, "body");
  }
}

const APPS: Record<string, Partial<AppOptions>> = {
  "plain app": {},
  "app with CORS and --header": {
    cors: true,
    headers: [["X-Frame-Options", "DENY"], ["Cache-Control", "max-age=60"]],
  },
};

Deno.test({
  name: "the fast path answers as the handler does, or declines",
  // Opt-in in Deno 2.9: every file a handler response opened must be closed.
  sanitizeResources: true,
  sanitizeOps: true,
  fn: (t) =>
    withTempDir(async (tmp) => {
      const root = writeRoot(tmp);
      for (const [appName, overrides] of Object.entries(APPS)) {
        await t.step(appName, async (t) => {
          const app = createApp({
            root,
            realRoot: root,
            listing: true,
            dotfiles: false,
            ...overrides,
          });
          for (const c of CASES) await t.step(c.name, () => checkCase(app, c));
        });
      }
    }),
});
