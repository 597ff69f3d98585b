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
 * again. Files are written to a temp file and moved into place whole, so a
 * reader never sees half an upload; nothing is replaced unless asked for
 * (a form upload takes a free name, a PUT gets 409 without `?replace=1`).
 * Every byte streams from the socket to the disk, form files included
 * (multipart_form.ts), under a per-file limit, a quota on the directory and
 * a floor of free disk space (upload_space.ts).
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import { atomicWrite, type OnExisting } from "../atomic_write.ts";
import { HttpError } from "../http/http_error.ts";
import { html, minuteOf, type SafeHtml, unsafeRaw } from "../html.ts";
import { formatSize } from "../static/listing.ts";
import { preferredFormat } from "../negotiate.ts";
import { StaticSite } from "../static/serve_file.ts";
import type { RepresentationStore } from "../static/store.ts";
import {
  htmlBody,
  jsonBody,
  otherMethod,
  PAGE_HEADERS,
  type PageBody,
  pageResponse,
  textBody,
} from "./page.ts";
import { assertContentLength, declaredLength, mediaTypeOf } from "./read_body.ts";
import { assertSameOrigin } from "./same_origin.ts";
import { MultipartReader } from "./multipart_form.ts";
import { UPLOAD_PAGE_POLICY, UPLOAD_SCRIPT, UPLOAD_STYLE } from "./upload_page.ts";
import { type FreeBytes, type SpaceTicket, UploadSpace } from "./upload_space.ts";

/** UploadOptions configure {@linkcode createUploads}. */
export interface UploadOptions {
  /** The upload directory, absolute; it must exist. */
  dir: string;
  /** The directory's real path (symlinks resolved), for the static server's containment check. */
  realDir: string;
  /** Largest file accepted, in bytes, for each file of a form too. Past it: 413. */
  maxBytes: number;
  /** The most the directory's files may add up to, in bytes; past it: 507. No quota when absent. */
  quotaBytes?: number;
  /** The least free disk space uploads must leave, in bytes; past it: 507. No floor when absent or 0. */
  minFreeBytes?: number;
  /** How free disk space is read (tests pass their own); statfs(2) by default. */
  freeBytes?: FreeBytes;
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
 * (boundaries, part headers, other fields), for the engine's cap on a whole
 * request body.
 */
export const FORM_OVERHEAD_BYTES = 64 * 1024;
/** MAX_FORM_PARTS: parts of any kind in one form. Past it: 413, as soon as the part starts. */
export const MAX_FORM_PARTS = 100;
/** MAX_FIELD_BYTES: a form field that is not a file is held in memory, up to this. Past it: 413. */
export const MAX_FIELD_BYTES = 8 * 1024;

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
 *   An existing NAME is never replaced silently: 409 Conflict, before the
 *   body is read, unless the URL asks with `?replace=1` (the final link(2)
 *   keeps this true under concurrent uploads). Answers 201 Created with
 *   `Location` for a new file and 200 OK when it replaced one (both with a
 *   small HTML, JSON or text body, by Accept).
 * - `POST /uploads/` with `multipart/form-data` streams every `file` part to
 *   its own temp file ({@linkcode MultipartReader}): nothing is held whole in
 *   memory. Each file is on its own: one with a bad name or over `maxBytes`
 *   is refused (its bytes skipped) while the others are stored; a name that
 *   exists is stored as `NAME (1).EXT`, `NAME (2).EXT`…. At most
 *   {@linkcode MAX_FORM_PARTS} parts, {@linkcode MAX_FIELD_BYTES} per other
 *   field; malformed multipart is a 400 that names the problem. Answers with
 *   a result per file ({@linkcode FileResult}: the stored name and link, or
 *   the status and why): 201 when every file was stored, the first
 *   failure's status when none was, 200 when some were.
 * - Room: with `quotaBytes` the directory's files may add up to that much,
 *   and with `minFreeBytes` an upload may not leave less free disk space.
 *   Past either: 507 Insufficient Storage (RFC 4918 §11.5), before reading
 *   when Content-Length says so, else as the bytes cross it (the temp file
 *   removed); a form stops at that file.
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
 * failure is a thrown {@linkcode HttpError}; for a write a browser made
 * (Accept prefers HTML) it is answered here, as a small page that says why
 * and links back to the upload page.
 *
 * Needs read and write permission on `dir`. Throws a RangeError, at once,
 * when `maxBytes` is not a non-negative integer or `token` is not 1 or more
 * visible ASCII characters.
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
  // "x.tmpl.html" is a file, not a template (no claimed pages). Listing and
  // dotfiles are off, so temp files stay invisible, and so are folder
  // downloads. An upload can be replaced at any time: revalidate each time.
  const files = new StaticSite({
    root: dir,
    realRoot: realDir,
    listing: false,
    dotfiles: false,
    cacheControl: "no-cache",
    maxZipBytes: 0,
    ...(options.store ? { store: options.store } : {}),
  });
  const authorized = options.authorized ?? (() => false);
  const space = new UploadSpace({
    dir,
    quotaBytes: options.quotaBytes ?? Number.MAX_SAFE_INTEGER,
    minFreeBytes: options.minFreeBytes ?? 0,
    ...(options.freeBytes ? { freeBytes: options.freeBytes } : {}),
  });
  const context: Context = { dir, realDir, maxBytes, tokenDigest, authorized, files, space };

  const route = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (path === "/uploads" || path === UPLOADS_PATH) return await onList(request, path, context);
    if (!path.startsWith(UPLOADS_PATH)) throw new HttpError(404);
    return await onFile(request, path.slice(UPLOADS_PATH.length), context);
  };
  return async (request) => {
    try {
      return await route(request);
    } catch (err) {
      if (!isBrowserWrite(request) || !(err instanceof HttpError) || !err.expose) throw err;
      return writeErrorPage(err);
    }
  };
}

/**
 * isBrowserWrite tells whether `request` is an upload whose answer a person
 * reads: a browser names text/html in Accept (curl's default, any type, does not).
 */
function isBrowserWrite(request: Request): boolean {
  const accept = request.headers.get("accept");
  return (request.method === "POST" || request.method === "PUT") && accept !== null &&
    /\btext\/html\b/i.test(accept) && preferredFormat(accept) === "html";
}

/**
 * writeErrorPage answers a refused browser upload: the status and its
 * header fields (`WWW-Authenticate`, `Allow`) as thrown, the fixed reason,
 * and a way back to the upload page.
 */
function writeErrorPage(err: HttpError): Response {
  const title = err.status === 507 ? "Not enough room" : "Upload refused";
  const body = htmlBody(
    title,
    html`
      <p class="err-text">${err.message}</p>
      <p><a href="${UPLOADS_PATH}">Back to the upload page</a></p>
    `,
    UPLOAD_STYLE,
  );
  return pageResponse(body, {
    status: err.status,
    headers: [...Object.entries(PAGE_HEADERS), ...new Headers(err.headers)],
  });
}

interface Context {
  dir: string;
  realDir: string;
  maxBytes: number;
  tokenDigest: Uint8Array | undefined;
  authorized: (request: Request) => boolean;
  /** The upload directory as a static site (its own store). */
  files: StaticSite;
  /** The quota and the free-space floor. */
  space: UploadSpace;
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
    default:
      return otherMethod(request, ALLOW_LIST);
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
      return await storeRaw(request, decodeName(segment), context, wantsReplace(request));
    default:
      return otherMethod(request, ALLOW_FILE);
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

/**
 * wantsReplace tells whether the URL asks to replace an existing file:
 * `?replace=1` (or `true`, `yes`). A query, not a header, so that curl
 * (`curl -T f 'URL?replace=1'`) and a plain form can both say it.
 */
function wantsReplace(request: Request): boolean {
  const value = new URL(request.url).searchParams.get("replace");
  return value !== null && ["1", "true", "yes"].includes(value.toLowerCase());
}

async function storeRaw(
  request: Request,
  name: string,
  context: Context,
  replace: boolean,
): Promise<Response> {
  // Before the first read: the engine then answers without `100 Continue`.
  assertContentLength(request, context.maxBytes);
  const existed = await exists(join(context.dir, name));
  if (existed && !replace) {
    throw new HttpError(409, "A file of this name exists: add ?replace=1 to the URL to replace it");
  }
  const ticket = await context.space.begin(declaredLength(request));
  const result = await store(context, name, request.body ?? new Uint8Array(0), {
    onExisting: replace ? "replace" : "fail",
    ticket,
  });
  const stored: StoredFile = { name: result.name, size: result.bytes, url: hrefOf(result.name) };
  const status = existed ? 200 : 201;
  return pageResponse(rawStoredBody(request, stored), {
    status,
    headers: existed ? PAGE_HEADERS : { ...PAGE_HEADERS, location: stored.url },
  });
}

/**
 * FileResult is what became of one file of a form: stored (status 201,
 * with the name it got, which may be numbered, its size and URL) or not
 * (the status it would have had alone and why).
 */
export interface FileResult {
  /** The file name the client sent. */
  submitted: string;
  /** 201 when stored; else 400, 409, 413 or 507. */
  status: number;
  /** The stored file's name, when stored. */
  name?: string;
  /** Its size in bytes, when stored. */
  size?: number;
  /** Its URL path, when stored. */
  url?: string;
  /** Why it was not stored. */
  error?: string;
}

async function storeForm(request: Request, context: Context): Promise<Response> {
  const type = request.headers.get("content-type") ?? "";
  if (mediaTypeOf(request) !== "multipart/form-data") {
    throw new HttpError(415, "Send multipart/form-data, or PUT the file to /uploads/NAME");
  }
  if (request.body === null) throw new HttpError(400, "No file in the form");
  const ticket = await context.space.begin(declaredLength(request));
  const form = new MultipartReader(request.body, type, {
    maxParts: MAX_FORM_PARTS,
    maxFieldBytes: MAX_FIELD_BYTES,
  });
  const results: FileResult[] = [];
  try {
    await readForm(form, context, ticket, results);
  } catch (err) {
    // Tell the connection to stop reading: the rest of the body is not wanted.
    await form.cancel();
    // A form that breaks after some files were stored still reports them.
    if (!(err instanceof HttpError) || results.length === 0) throw err;
    results.push({ submitted: "", status: err.status, error: err.message });
  }
  if (results.length === 0) throw new HttpError(400, "No file in the form");
  const stored = results.filter((r) => r.status === 201);
  const status = stored.length === results.length
    ? 201
    : stored.length === 0
    ? results.find((r) => r.status !== 201)!.status
    : 200;
  return pageResponse(formResultBody(request, results, status), {
    status,
    headers: stored.length === 1 && status === 201
      ? { ...PAGE_HEADERS, location: stored[0]!.url! }
      : PAGE_HEADERS,
  });
}

/** readForm stores the form's file parts one after another, adding a result for each to `results`. */
async function readForm(
  form: MultipartReader,
  context: Context,
  ticket: SpaceTicket,
  results: FileResult[],
): Promise<void> {
  for (;;) {
    const entry = await form.next();
    if (entry === null) return;
    if (entry.field !== "file") continue; // other fields are read (bounded) and ignored
    if (entry.kind === "field") {
      results.push({ submitted: "", status: 400, error: "The file field must be a file" });
      continue;
    }
    // A browser sends an unchosen file input as an empty part with no name.
    if (entry.filename === "") continue;
    const result = await storeFormFile(context, entry.filename, entry.chunks, ticket, form);
    results.push(result);
    if (result.status === 507) {
      // No room: the files after this one would be refused too. Stop reading.
      await form.cancel();
      return;
    }
  }
}

/** storeFormFile stores one file of a form under a free name and says how it went. */
async function storeFormFile(
  context: Context,
  submitted: string,
  chunks: AsyncIterable<Uint8Array>,
  ticket: SpaceTicket,
  form: MultipartReader,
): Promise<FileResult> {
  try {
    const name = validateUploadName(submitted);
    const result = await store(context, name, chunks, { onExisting: "rename", ticket });
    return {
      submitted,
      status: 201,
      name: result.name,
      size: result.bytes,
      url: hrefOf(result.name),
    };
  } catch (err) {
    // The form itself failing (malformed, the client gone) ends every file, not just this one.
    if (!(err instanceof HttpError) || !err.expose || err === form.error) throw err;
    return { submitted, status: err.status, error: err.message };
  }
}

/**
 * store writes through {@linkcode atomicWrite}, counting every chunk against
 * the quota and the floor, and gives file-system failures their HTTP meaning.
 */
async function store(
  context: Context,
  name: string,
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Uint8Array,
  options: { onExisting: OnExisting; ticket: SpaceTicket },
): Promise<{ bytes: number; name: string }> {
  const { ticket, onExisting } = options;
  let stored = false;
  try {
    const result = await atomicWrite(context.dir, name, body, {
      maxBytes: context.maxBytes,
      onTooLarge: () =>
        new HttpError(
          413,
          `The file is larger than the limit of ${formatSize(context.maxBytes)} per file`,
        ),
      onExisting,
      beforeChunk: ticket.beforeChunk,
    });
    stored = true;
    return result;
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (err instanceof Deno.errors.AlreadyExists && onExisting !== "replace") {
      if (onExisting === "rename") {
        throw new HttpError(409, "No free name: too many files of this name", { cause: err });
      }
      throw new HttpError(
        409,
        "A file of this name exists: add ?replace=1 to the URL to replace it",
        { cause: err },
      );
    }
    // A directory of that name (made by hand) cannot be replaced by a file.
    if (err instanceof Deno.errors.IsADirectory || err instanceof Deno.errors.AlreadyExists) {
      throw new HttpError(409, "The name is taken by a directory", { cause: err });
    }
    const code = (err as { code?: unknown }).code;
    if (code === "ENOSPC" || code === "EDQUOT") {
      throw new HttpError(507, "Insufficient Storage", { cause: err }); // RFC 4918 §11.5
    }
    throw err; // the client went away mid-body, or a server fault: the connection decides
  } finally {
    ticket.settle(stored);
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

/** rawStoredBody describes the file a PUT stored, in the format Accept prefers. */
function rawStoredBody(request: Request, stored: StoredFile): PageBody {
  const format = preferredFormat(request.headers.get("accept"));
  if (format === "json") return jsonBody(stored);
  if (format === "text") return textBody(`stored ${stored.name} (${stored.size} bytes)\n`);
  return htmlBody(
    "Uploaded",
    html`
      <ul class="results">
        <li><a href="${stored.url}">${stored.name}</a> <span class="muted">(${formatSize(
          stored.size,
        )})</span></li>
      </ul>
      <p><a href="${UPLOADS_PATH}">Back to the upload page</a></p>
    `,
    UPLOAD_STYLE,
  );
}

/** formResultBody describes what became of each file of a form, in the format Accept prefers. */
function formResultBody(request: Request, results: FileResult[], status: number): PageBody {
  const format = preferredFormat(request.headers.get("accept"));
  if (format === "json") return jsonBody({ files: results });
  if (format === "text") {
    return textBody(
      results.map((r) =>
        r.status === 201
          ? `stored ${r.submitted} as ${r.name} (${r.size} bytes)\n`
          : `refused ${r.submitted || "(form)"}: ${r.error} (${r.status})\n`
      ).join(""),
    );
  }
  const title = status === 201
    ? "Uploaded"
    : status === 200
    ? "Some files were not uploaded"
    : "Upload refused";
  return htmlBody(
    title,
    html`
      <ul class="results">${results.map((r) =>
        r.status === 201
          ? html`<li>${r.submitted}: stored as <a href="${r.url}">${r.name}</a> <span class="muted">(${
            formatSize(r.size ?? 0)
          })</span>${r.name !== r.submitted ? " — renamed: that name was taken" : ""}</li>`
          : html`<li>${r.submitted || "The form"}: <span class="err-text">${r.error}</span></li>`
      )}</ul>
      <p><a href="${UPLOADS_PATH}">Back to the upload page</a></p>
    `,
    UPLOAD_STYLE,
  );
}

/** ListedFile is a {@linkcode StoredFile} with its modification time, for the list. */
interface ListedFile extends StoredFile {
  /** Last modification, ISO 8601 UTC, when the file system knows it. */
  modified: string | null;
}

/**
 * listPage answers `GET /uploads/`: the stored files as JSON, text (one
 * name a line) or HTML, with the upload form when this client may use it.
 */
async function listPage(request: Request, context: Context): Promise<Response> {
  const files = await listFiles(context.dir);
  const format = preferredFormat(request.headers.get("accept"));
  if (format === "json") return pageResponse(jsonBody(files), { headers: PAGE_HEADERS });
  if (format === "text") {
    const text = textBody(files.map((f) => f.name + "\n").join(""));
    return pageResponse(text, { headers: PAGE_HEADERS });
  }
  const mayUpload = context.tokenDigest === undefined || context.authorized(request);
  const main = html`
    ${mayUpload ? uploadForm(files, context) : tokenNote(request)}
    <section id="files"><h2>Files</h2>${fileTable(files)}</section>
  `;
  return pageResponse(htmlBody("Uploads", main, UPLOAD_STYLE), {
    headers: { ...PAGE_HEADERS, "content-security-policy": UPLOAD_PAGE_POLICY },
  });
}

/** uploadForm is the list page's form, with the script that turns it into an upload queue. */
function uploadForm(files: ListedFile[], context: Context): SafeHtml {
  return html`
    <form id="upload-form" method="post" enctype="multipart/form-data" action="${UPLOADS_PATH}"
      data-max-bytes="${context.maxBytes}">
      <div class="drop" id="drop">
        <label for="file">Choose files (up to ${formatSize(context.maxBytes)} each)</label>
        <input id="file" type="file" name="file" multiple required>
        <p class="muted hint" hidden>…or drop them here.</p>
      </div>
      <p class="muted" id="room">${roomNote(files, context.space)}</p>
      <button type="submit">Upload</button>
    </form>
    <ul class="queue" id="queue" aria-live="polite"></ul>
    <script>${unsafeRaw(UPLOAD_SCRIPT)}</script>
  `;
}

/** tokenNote stands in for the form when uploads need a token, which a browser form cannot send. */
function tokenNote(request: Request): SafeHtml {
  return html`
    <p class="muted">Uploading needs a token, which a browser form cannot send. Use, for example,
    <code>curl -H "Authorization: Bearer TOKEN" -T FILE ${new URL(UPLOADS_PATH, request.url)
      .href}</code></p>
  `;
}

/** fileTable lists the stored files with their sizes and times, or says there are none. */
function fileTable(files: ListedFile[]): SafeHtml {
  if (files.length === 0) return html`<p class="muted">No files yet.</p>`;
  const rows = files.map((f) =>
    html`
      <tr>
        <td class="name"><a href="${f.url}">${f.name}</a></td>
        <td class="n">${formatSize(f.size)}</td>
        <td>${f.modified === null
          ? ""
          : html`<time datetime="${f.modified}">${minuteOf(f.modified)}</time>`}</td>
      </tr>
    `
  );
  return html`
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
}

/** roomNote says how full the upload folder is, against the quota when there is one. */
function roomNote(files: ListedFile[], space: UploadSpace): string {
  const used = files.reduce((sum, f) => sum + f.size, 0);
  return space.quotaBytes >= Number.MAX_SAFE_INTEGER
    ? `${formatSize(used)} stored.`
    : `${formatSize(used)} of ${formatSize(space.quotaBytes)} used.`;
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
