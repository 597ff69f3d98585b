/**
 * upload.ts — `/uploads/`: store files in one directory, list them, serve
 * them back.
 *
 * The lesson's exercise, for real: the URL names the file, the body is its
 * bytes, every upload lands in one directory and no name may reach outside
 * it. Three ways in:
 *
 *   PUT or POST /uploads/NAME   raw body = the file (curl -T file URL)
 *   POST /uploads/              multipart/form-data from the page's form
 *   GET|HEAD /uploads/[NAME]    the list (HTML or JSON), or one file
 *
 * Names are checked twice: {@linkcode validateUploadName} allows exactly one
 * harmless path segment, and {@linkcode atomicWrite} refuses anything else
 * again. Files are written by atomic rename, so a reader never sees half an
 * upload and a failed one leaves the old file as it was.
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import { atomicWrite } from "../atomic_write.ts";
import { HttpError } from "../http/http_error.ts";
import { html } from "../html.ts";
import { formatSize } from "../static/listing.ts";
import { preferredFormat } from "../negotiate.ts";
import { StaticSite } from "../static/serve_file.ts";
import type { RepresentationStore } from "../static/store.ts";
import { htmlBody, jsonBody, type PageBody, pageResponse, textBody } from "./page.ts";
import { assertContentLength, readBody } from "./read_body.ts";
import { assertSameOrigin } from "./same_origin.ts";

/** UploadOptions configure {@linkcode createUploads}. */
export interface UploadOptions {
  /** The upload directory, absolute; it must exist. */
  dir: string;
  /** The directory's real path (symlinks resolved), for the static server's containment check. */
  realDir: string;
  /** Largest file accepted, in bytes. Past it: 413. */
  maxBytes: number;
  /** When set, every PUT and POST needs `Authorization: Bearer <token>`. Reading stays public. */
  token?: string;
  /**
   * Whether `request` was already let through to write (a writer signed in
   * with --auth): then no token is needed. Never when absent.
   */
  authorized?: (request: Request) => boolean;
  /**
   * The representation store the uploaded files are served from; its own,
   * never the root's (the same file is a template under the root and bytes
   * here). A store with the default bounds when absent.
   */
  store?: RepresentationStore;
}

/** UPLOADS_PATH is where the feature lives; `/uploads` (no slash) is accepted too. */
export const UPLOADS_PATH = "/uploads/";
/** MAX_NAME_BYTES: a file name's UTF-8 length limit, the NAME_MAX of ext4, XFS and APFS. Past it: 400. */
export const MAX_NAME_BYTES = 255;
/**
 * FORM_OVERHEAD_BYTES is what a multipart form may add to its files
 * (boundaries, part headers, other fields): the whole form body is capped at
 * `maxBytes` plus this, so a file of exactly `maxBytes` still fits.
 */
export const FORM_OVERHEAD_BYTES = 64 * 1024;

const ALLOW_LIST = "GET, HEAD, POST, OPTIONS";
const ALLOW_FILE = "GET, HEAD, PUT, POST, OPTIONS";
/** Uploaded content is someone else's: an uploaded .html or .svg must not run script in our origin. */
const UPLOADED_CONTENT_POLICY = "sandbox";

/**
 * INVISIBLE are the characters no upload name may hold because they change
 * how a name reads without showing (Unicode TR 36 §2, UTS 39): format
 * characters, category Cf (bidi embeddings, overrides and isolates
 * U+202A–U+202E and U+2066–U+2069, zero-width U+200B–U+200F, the BOM
 * U+FEFF, the soft hyphen U+00AD), and the line and paragraph separators
 * U+2028 and U+2029.
 */
const INVISIBLE = /[\p{Cf}\p{Zl}\p{Zp}]/u;

const encoder = new TextEncoder();
const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** StoredFile describes one file in the upload directory, as the JSON answers show it. */
export interface StoredFile {
  name: string;
  /** Size in bytes. */
  size: number;
  /** The file's URL path, percent-encoded. */
  url: string;
}

/**
 * createUploads builds the handler for paths under `/uploads/`:
 *
 * - `PUT` or `POST /uploads/NAME` stores the raw body as NAME. A declared
 *   Content-Length over `maxBytes` is refused with 413 before the body is
 *   read, so the engine sends no `100 Continue`; a chunked body is counted
 *   while it streams to disk and refused with 413 once it passes the limit.
 *   Answers 201 Created with `Location` for a new file and 200 OK when it
 *   replaced one (both with a small HTML, JSON or text body, by Accept).
 *   Which of the two is decided just before writing, so under concurrent
 *   uploads of one name it is best effort; the content never is.
 * - `POST /uploads/` with `multipart/form-data` stores every `file` part
 *   under the part's filename. The form is parsed with `formData()`, which
 *   buffers the whole body in memory: it is capped at `maxBytes` plus
 *   {@linkcode FORM_OVERHEAD_BYTES}, checked on Content-Length before
 *   reading and counted while reading. Every name and size is checked before
 *   anything is written. Answers 303 See Other to `/uploads/` when Accept
 *   prefers HTML (post/redirect/get), else 201 with what was stored.
 * - `GET`/`HEAD /uploads/` lists the files (HTML with an upload form, JSON
 *   or text by Accept); `/uploads` redirects there.
 * - `GET`/`HEAD /uploads/NAME` serves the file through the static server
 *   (media type, validators, 304, ranges), with `Content-Security-Policy:
 *   sandbox` so uploaded HTML or SVG cannot run script as this site.
 *
 * NAME must pass {@linkcode validateUploadName}, else 400. Writes refused by
 * {@linkcode assertSameOrigin} get 403; with `token`, writes without the
 * right bearer token get 401 and `WWW-Authenticate: Bearer` (RFC 6750 §3)
 * — checked first, so an anonymous client learns nothing else. Other
 * methods get 405 with `Allow`; paths outside `/uploads/` get 404. Every
 * failure is a thrown {@linkcode HttpError}.
 *
 * Needs read and write permission on `dir`.
 */
export function createUploads(options: UploadOptions): (request: Request) => Promise<Response> {
  const { dir, realDir, maxBytes, token } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(
      `Cannot create uploads with maxBytes "${maxBytes}": value must be a non-negative integer`,
    );
  }
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) {
    // A token a client cannot send in one header field would lock everyone
    // out; an empty one would be a password anyone can type.
    throw new RangeError(
      "Cannot create uploads with this token: it must be 1 or more visible ASCII characters",
    );
  }
  const tokenDigest = token === undefined ? undefined : sha256(token);
  // Uploads are served as the bytes that were uploaded: an uploaded
  // "x.tmpl.html" is a file, not a template. Listing and dotfiles are off,
  // so temp files stay invisible.
  const files = new StaticSite({
    root: dir,
    realRoot: realDir,
    listing: false,
    dotfiles: false,
    templates: false,
    ...(options.store ? { store: options.store } : {}),
  });
  const authorized = options.authorized ?? (() => false);
  const context: Context = { dir, realDir, maxBytes, tokenDigest, authorized, files };

  return async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/uploads" || path === UPLOADS_PATH) return await onList(request, path, context);
    if (!path.startsWith(UPLOADS_PATH)) throw new HttpError(404);
    return await onFile(request, path.slice(UPLOADS_PATH.length), context);
  };
}

interface Context {
  dir: string;
  realDir: string;
  maxBytes: number;
  tokenDigest: Uint8Array | undefined;
  authorized: (request: Request) => boolean;
  /** The upload directory as a static site (its own store). */
  files: StaticSite;
}

async function onList(request: Request, path: string, context: Context): Promise<Response> {
  switch (request.method) {
    case "GET":
    case "HEAD":
      if (path === "/uploads") {
        // The list's canonical URL ends in "/", like a directory's.
        return new Response(null, {
          status: 301,
          headers: { location: UPLOADS_PATH, "cache-control": "no-cache" },
        });
      }
      return await listPage(request, context);
    case "POST":
      checkWriteAllowed(request, context);
      return await storeForm(request, context);
    case "OPTIONS":
      return new Response(null, { status: 204, headers: { allow: ALLOW_LIST } });
    default:
      throw new HttpError(405, undefined, { headers: { allow: ALLOW_LIST } });
  }
}

async function onFile(request: Request, segment: string, context: Context): Promise<Response> {
  switch (request.method) {
    case "GET":
    case "HEAD":
      return await serveUpload(request, decodeName(segment), context);
    case "PUT":
    case "POST":
      checkWriteAllowed(request, context);
      return await storeRaw(request, decodeName(segment), context);
    case "OPTIONS":
      return new Response(null, { status: 204, headers: { allow: ALLOW_FILE } });
    default:
      throw new HttpError(405, undefined, { headers: { allow: ALLOW_FILE } });
  }
}

/**
 * validateUploadName returns `name` if it is safe as one file name in the
 * upload directory, else throws a 400 {@linkcode HttpError}. `name` is
 * already decoded (from the URL's percent-encoding, or a form's filename).
 * Refused: the empty name; "/" and "\" (no directory components, on any
 * OS); NUL and every other control character (C0, DEL, C1), which break
 * logs, terminals and headers; a leading "." (".", "..", hidden files, and
 * the `.part` temp files of uploads in progress); unpaired surrogates, which
 * have no UTF-8 form; and names over {@linkcode MAX_NAME_BYTES} bytes of
 * UTF-8. Refused with a message that says why, because they make a name
 * read as another: invisible and format characters (category Cf, U+2028,
 * U+2029: "evil\u202Egpj.exe" lists as "evilexe.jpg"); a name of spaces
 * only; a trailing space or dot, which Windows drops ("a.txt." opens
 * "a.txt").
 */
export function validateUploadName(name: string): string {
  if (
    name === "" ||
    name.startsWith(".") ||
    // deno-lint-ignore no-control-regex
    /[/\\\x00-\x1f\x7f-\x9f]/.test(name) ||
    !name.isWellFormed() ||
    encoder.encode(name).length > MAX_NAME_BYTES
  ) {
    throw invalidName();
  }
  if (INVISIBLE.test(name)) {
    throw new HttpError(400, "Upload name must not contain invisible or format characters");
  }
  if (name.trim() === "") throw new HttpError(400, "Upload name must not be only spaces");
  if (/[\s.]$/u.test(name)) {
    throw new HttpError(400, "Upload name must not end with a space or a dot");
  }
  return name;
}

/**
 * decodeName percent-decodes the URL segment after `/uploads/`. The URL
 * parser has already removed dot segments (`..`, `%2e%2e`) and turned `\`
 * into `/`; a remaining "/" means more than one segment.
 */
function decodeName(segment: string): string {
  if (segment.includes("/")) throw invalidName();
  let name: string;
  try {
    name = decodeURIComponent(segment);
  } catch {
    throw invalidName(); // "%zz", truncated or overlong UTF-8
  }
  return validateUploadName(name);
}

function invalidName(): HttpError {
  return new HttpError(400, "Invalid file name");
}

/** hrefOf is the URL path of the stored file `name`. */
function hrefOf(name: string): string {
  return UPLOADS_PATH + encodeURIComponent(name);
}

/** checkWriteAllowed applies the token (first, so anonymous clients learn nothing else), then the origin check. */
function checkWriteAllowed(request: Request, context: Context): void {
  if (context.tokenDigest !== undefined && !context.authorized(request)) {
    const header = request.headers.get("authorization");
    // RFC 6750 §2.1: "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
    // Any visible characters are taken, not only b64token's: the digest
    // comparison decides, and a configured token may use others.
    const match = header === null ? null : /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
    // Comparing digests of equal length in constant time reveals neither
    // the token's bytes nor its length through timing.
    if (match === null || !timingSafeEqual(sha256(match[1]!), context.tokenDigest)) {
      const challenge = header === null
        ? 'Bearer realm="uploads"'
        : 'Bearer realm="uploads", error="invalid_token"';
      throw new HttpError(401, undefined, { headers: { "www-authenticate": challenge } });
    }
  }
  assertSameOrigin(request);
}

function sha256(text: string): Uint8Array {
  return createHash("sha256").update(text, "utf8").digest();
}

async function storeRaw(request: Request, name: string, context: Context): Promise<Response> {
  // Before the first read: the engine then answers without `100 Continue`.
  assertContentLength(request, context.maxBytes);
  const existed = await exists(join(context.dir, name));
  const { bytes } = await store(context, name, request.body ?? new Uint8Array(0));
  const stored: StoredFile = { name, size: bytes, url: hrefOf(name) };
  const status = existed ? 200 : 201;
  return pageResponse(request, storedBody(request, [stored], false), {
    status,
    headers: existed ? {} : { location: stored.url },
  });
}

async function storeForm(request: Request, context: Context): Promise<Response> {
  const type = request.headers.get("content-type") ?? "";
  if (mediaType(type) !== "multipart/form-data") {
    throw new HttpError(415, "Send multipart/form-data, or PUT the file to /uploads/NAME");
  }
  const raw = await readBody(request, context.maxBytes + FORM_OVERHEAD_BYTES);
  let form: FormData;
  try {
    form = await new Response(raw, { headers: { "content-type": type } }).formData();
  } catch (err) {
    throw new HttpError(400, "Invalid form data", { cause: err });
  }
  const files: File[] = [];
  for (const value of form.getAll("file")) {
    if (!(value instanceof File)) throw new HttpError(400, "The file field must be a file");
    files.push(value);
  }
  if (files.length === 0) throw new HttpError(400, "No file in the form");
  // All or nothing for what can be known up front: one bad name or size
  // refuses the whole form before any file is written.
  for (const file of files) {
    validateUploadName(file.name);
    if (file.size > context.maxBytes) throw new HttpError(413);
  }
  const stored: StoredFile[] = [];
  for (const file of files) {
    // stream(), not arrayBuffer(): the form already holds the bytes; no second copy.
    const { bytes } = await store(context, file.name, file.stream());
    stored.push({ name: file.name, size: bytes, url: hrefOf(file.name) });
  }
  if (preferredFormat(request.headers.get("accept")) === "html") {
    // Post/redirect/get: reloading the list does not resubmit the form.
    return new Response(null, {
      status: 303,
      headers: { location: UPLOADS_PATH, "cache-control": "no-store" },
    });
  }
  return pageResponse(request, storedBody(request, stored, true), {
    status: 201,
    headers: stored.length === 1 ? { location: stored[0]!.url } : {},
  });
}

/** mediaType is the lower-cased type/subtype of a Content-Type value, without parameters. */
function mediaType(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

/** store writes through {@linkcode atomicWrite} and gives file-system failures their HTTP meaning. */
async function store(
  context: Context,
  name: string,
  body: ReadableStream<Uint8Array> | Uint8Array,
): Promise<{ bytes: number }> {
  try {
    return await atomicWrite(context.dir, name, body, { maxBytes: context.maxBytes });
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // A directory of that name (made by hand) cannot be replaced by a file.
    if (err instanceof Deno.errors.IsADirectory || err instanceof Deno.errors.AlreadyExists) {
      throw new HttpError(409, "The name is taken by a directory", { cause: err });
    }
    const code = (err as { code?: unknown }).code;
    if (code === "ENOSPC" || code === "EDQUOT") {
      throw new HttpError(507, "Insufficient Storage", { cause: err }); // RFC 4918 §11.5
    }
    throw err; // the client went away mid-body, or a server fault: the connection decides
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** storedBody describes what a write stored, in the format Accept prefers. */
function storedBody(request: Request, stored: StoredFile[], fromForm: boolean): PageBody {
  const format = preferredFormat(request.headers.get("accept"));
  if (format === "json") return jsonBody(fromForm ? { files: stored } : stored[0]);
  if (format === "text") {
    return textBody(stored.map((f) => `stored ${f.name} (${f.size} bytes)\n`).join(""));
  }
  return htmlBody(
    "Uploaded",
    html`
      <ul>${stored.map((f) =>
        html`<li><a href="${f.url}">${f.name}</a> <span class="muted">(${
          formatSize(f.size)
        })</span></li>`
      )}</ul>
      <p><a href="${UPLOADS_PATH}">All uploads</a></p>
    `,
  );
}

/** ListedFile is a {@linkcode StoredFile} with its modification time, for the list. */
interface ListedFile extends StoredFile {
  /** Last modification, ISO 8601 UTC, when the file system knows it. */
  modified: string | null;
}

async function listPage(request: Request, context: Context): Promise<Response> {
  const files = await listFiles(context.dir);
  const format = preferredFormat(request.headers.get("accept"));
  if (format === "json") return pageResponse(request, jsonBody(files));
  if (format === "text") {
    return pageResponse(
      request,
      textBody(files.map((f) => f.name + "\n").join("")),
    );
  }

  const uploadForm = context.tokenDigest === undefined || context.authorized(request)
    ? html`
      <form method="post" enctype="multipart/form-data" action="${UPLOADS_PATH}">
        <label for="file">Choose files (up to ${formatSize(context.maxBytes)} each)</label>
        <input id="file" type="file" name="file" multiple required>
        <button type="submit">Upload</button>
      </form>
    `
    : html`
      <p class="muted">Uploading needs a token, which a browser form cannot send. Use, for example,
      <code>curl -H "Authorization: Bearer TOKEN" -T FILE ${new URL(UPLOADS_PATH, request.url)
        .href}</code></p>
    `;
  const rows = files.map((f) =>
    html`
      <tr>
        <td class="name"><a href="${f.url}">${f.name}</a></td>
        <td class="n">${formatSize(f.size)}</td>
        <td>${f.modified === null
          ? ""
          : html`<time datetime="${f.modified}">${
            f.modified.slice(0, 16).replace("T", " ")
          }</time>`}</td>
      </tr>
    `
  );
  const table = files.length === 0 ? html`<p class="muted">No files yet.</p>` : html`
    <table>
      <thead>
        <tr>
          <th>Name</th>
          <th>Size</th>
          <th>Modified (UTC)</th>
        </tr>
      </thead>
      <tbody>${rows}</tbody>
    </table>
  `;
  return pageResponse(request, htmlBody("Uploads", html`${uploadForm}<h2>Files</h2>${table}`));
}

/** listFiles lists the regular, non-hidden files of `dir` (temp `.part` files are hidden), by name. */
async function listFiles(dir: string): Promise<ListedFile[]> {
  const files: ListedFile[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || entry.name.startsWith(".")) continue;
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(join(dir, entry.name));
    } catch {
      continue; // replaced or removed since readDir saw it
    }
    files.push({
      name: entry.name,
      size: info.size,
      url: hrefOf(entry.name),
      modified: info.mtime?.toISOString() ?? null,
    });
  }
  return files.sort((a, b) => collator.compare(a.name, b.name));
}

/**
 * serveUpload delegates to the static server, rooted at the upload
 * directory, with the `/uploads` prefix taken off the path. Listing and
 * dotfiles are off, so temp files stay invisible.
 */
async function serveUpload(request: Request, name: string, context: Context): Promise<Response> {
  const url = new URL(request.url);
  url.pathname = "/" + encodeURIComponent(name);
  url.search = "";
  const inner = new Request(url, { method: request.method, headers: request.headers });
  const response = await context.files.serve(inner);
  // Uploads are files only. A directory someone made by hand would get the
  // static server's redirect to "/NAME/", a path outside /uploads/.
  if (response.status >= 300 && response.status < 400 && response.status !== 304) {
    await response.body?.cancel();
    throw new HttpError(404);
  }
  const headers = new Headers(response.headers);
  headers.set("content-security-policy", UPLOADED_CONTENT_POLICY);
  return new Response(response.body, { status: response.status, headers });
}
