/**
 * serve_content.ts — ⑦ answering: one file's answer to one request,
 * decided from its store entry: content coding, validators, 304/412,
 * ranges, `?bytes=N`, and the body. As Go's `serveContent` is to
 * `serveFile`: finding the file is done (`resolve_path.ts`, `store.ts`),
 * this decides what to send.
 *
 * {@linkcode answerContent} decides, as plain data ({@linkcode ContentAnswer}),
 * not a `Response`, so both the fast path (which writes it straight to the
 * socket) and the handler path ({@linkcode serveContent}, which wraps it in
 * a `Response`) send what this one function decided, with the one
 * implementation of RFC 9110 in `conditional.ts`, `range.ts` and
 * `encoding.ts`. HEAD is answered as GET: the writer (and the app, for a
 * handler's caller) leaves the body out.
 */

import { HttpError } from "../http/http_error.ts";
import type { FieldSource } from "../http/fields.ts";
import type { StoredCoding } from "./compress.ts";
import { evaluatePreconditions, ifRangeHolds, type Validators } from "./conditional.ts";
import { chooseCoding, type Coding, codingQualities, FILE_SUFFIX } from "./encoding.ts";
import { fileStream, type MultipartPlan, multipartStream, planMultipart } from "./file_body.ts";
import { byteOffset, parseRange } from "./range.ts";
import type { Scope } from "./resolve_path.ts";
import { etagWith, type FileEntry, fsError, type RepresentationStore } from "./store.ts";

/** RequestFacts are the parts of a request an answer depends on. */
export interface RequestFacts {
  method: string;
  fields: FieldSource;
  /** The `bytes` query parameter, when present. */
  bytesParam: string | null;
}

/** ContentOptions are the site's settings an answer depends on. */
export interface ContentOptions {
  /** Cache-Control of files. */
  cacheControl: string;
  /** Where the file's compressed forms and precompressed siblings are found. */
  store: RepresentationStore;
  /** The scope siblings are looked up in: the file's own. */
  scope: Scope;
  /** Field lists already made, per file version (see {@linkcode fieldsFor}). */
  memos: WeakMap<FileEntry, Map<string, Fields>>;
  /**
   * With live reload, an HTML page's script tag is added by this, and the
   * page sent as identity (a development server on one machine gains
   * nothing from compressing it); ranges and `?bytes` get the file as it is.
   */
  inject?: ((page: Uint8Array) => Uint8Array) | undefined;
}

/** Fields are response header fields, lower-case names, in the order they are written. */
export type Fields = [string, string][];

/**
 * ContentAnswer is what to send:
 * - `memory`: the body is in memory (pieces, written in order), or there is none (304, HEAD);
 * - `file`: the body is `length` bytes of `entry`'s file from `start`, or a multipart plan
 *   (`entry` is the file asked for or its precompressed sibling);
 * - `live`: the whole file, compressed while it is sent (a large compressible file);
 * - `wait`: a compressed form is being made; ask again when `ready` settles.
 */
export type ContentAnswer =
  | { kind: "memory"; status: number; fields: Fields; body: Uint8Array[] | null; length: number }
  | {
    kind: "file";
    status: number;
    fields: Fields;
    entry: FileEntry;
    start: number;
    length: number;
    multipart: MultipartPlan | undefined;
  }
  | { kind: "live"; status: 200; fields: Fields; entry: FileEntry; coding: StoredCoding }
  | { kind: "wait"; ready: Promise<void> };

/** MemoryAnswer is an answer whose body, if any, is in memory: what the fast path can write. */
export type MemoryAnswer = Extract<ContentAnswer, { kind: "memory" }>;

/**
 * serveContent answers `request` for the file `entry` as a `Response`: the
 * handler path's form of {@linkcode answerContent}, with the same
 * arguments. Returns undefined when the caller must find the file again:
 * the file changed on disk since the entry was made, or a compressed form
 * was being made (now done). Throws what {@linkcode answerContent} throws,
 * and what `fsError` makes of a file that cannot be opened.
 */
export async function serveContent(
  entry: FileEntry,
  request: RequestFacts,
  options: ContentOptions,
): Promise<Response | undefined> {
  const answer = answerContent(entry, request, options);
  switch (answer.kind) {
    case "wait":
      // A compressed form is being made off the event loop: once it is, the
      // caller decides again (it may have turned out no smaller).
      await answer.ready;
      return undefined;
    case "memory":
      return memoryResponse(answer);
    default:
      return fileResponse(answer);
  }
}

/** memoryResponse wraps an in-memory answer, with its Content-Length (none for a 304). */
function memoryResponse(answer: MemoryAnswer): Response {
  const headers = new Headers(answer.fields);
  if (answer.status !== 304) headers.set("content-length", String(answer.length));
  const pieces = answer.body;
  if (pieces === null) return new Response(null, { status: answer.status, headers });
  // Several pieces (multipart/byteranges) go out as one Blob, not copied together here.
  const body = pieces.length === 1 ? pieces[0]! : new Blob(pieces as BlobPart[]);
  return new Response(body as BodyInit, { status: answer.status, headers });
}

/**
 * fileResponse streams an answer read from disk: a part of the file, its
 * ranges as multipart/byteranges, or the whole file gzipped while it is
 * sent (no Content-Length: the compressed length is not known ahead).
 * Undefined when the file is no longer the entry's version.
 */
function fileResponse(answer: Exclude<ContentAnswer, { kind: "memory" | "wait" }>) {
  const file = openUnchanged(answer.entry);
  if (file === undefined) return undefined;
  if (answer.kind === "live") {
    const compressor = new CompressionStream("gzip");
    const stream = fileStream(file, 0, answer.entry.size).pipeThrough(
      compressor as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
    return new Response(stream, { status: 200, headers: answer.fields });
  }
  const headers = new Headers(answer.fields);
  headers.set("content-length", String(answer.length));
  const body = answer.multipart === undefined
    ? fileStream(file, answer.start, answer.length)
    : multipartStream(file, answer.multipart);
  return new Response(body, { status: answer.status, headers });
}

/**
 * openUnchanged opens the entry's file and checks, on the open descriptor,
 * that it is still the version the entry describes; undefined if not.
 */
function openUnchanged(entry: FileEntry): Deno.FsFile | undefined {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(entry.real, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw fsError(err);
  }
  const info = file.statSync();
  if (
    info.size === entry.size && (info.mtime?.getTime() ?? 0) === entry.mtime &&
    info.ino === entry.ino
  ) {
    return file;
  }
  file.close();
  return undefined;
}

/** BYTES_PARAM: `?bytes=N` takes a positive integer, of any length (past the file: all of it). */
const BYTES_PARAM = /^[1-9][0-9]*$/;

/** Fields a 304 leaves out: a cache has them already (RFC 9110 §15.4.5). */
const NOT_IN_304 = new Set(["content-type", "content-encoding", "content-range"]);

/**
 * answerContent decides the answer to `request` for the file `entry`, in
 * the order of RFC 9110: the representation (content coding, §12.5.3), its
 * validators, the preconditions (§13.2.2: 304 or 412), then a prefix
 * (`?bytes=N`), ranges (§14) or the whole. Returns plain data, never does
 * I/O. Throws a 400 (bad `?bytes`), 412 or 416 {@linkcode HttpError}.
 */
export function answerContent(
  entry: FileEntry,
  request: RequestFacts,
  options: ContentOptions,
): ContentAnswer {
  const { bytesParam } = request;
  if (bytesParam !== null && !BYTES_PARAM.test(bytesParam)) {
    throw new HttpError(400, "The bytes parameter must be a positive integer");
  }
  const ranged = request.method === "GET" && request.fields.get("range") !== null;
  const choice = bytesParam === null
    ? chooseForm(entry, request.fields, ranged, options)
    : IDENTITY;
  if (choice.kind === "wait") return choice;

  // HTTP dates have whole seconds: until the file's second is over, a later
  // write could carry the same date, so the date is neither sent nor
  // compared (the ETag still is).
  const dated = Date.now() >= entry.datesFrom;
  const etag = choice.etag ?? entry.etag;
  // ?bytes=N is the first N bytes as a plain 200, as the lesson asks: not
  // the representation, so it carries no validator and takes no ranges.
  const version = `${bytesParam === null ? "full" : "prefix"} ${etag} ${dated}`;
  const fields = fieldsFor(entry, options, version, () => {
    return headerFields(entry, options.cacheControl, { choice, etag, dated, bytesParam });
  });

  const validators: Validators = { etag, lastModified: dated ? entry.mtime : undefined };
  const verdict = evaluatePreconditions(request.method, request.fields, validators);
  if (verdict === "not-modified") {
    const without = fieldsFor(entry, options, `304 ${version}`, () => notIn304(fields));
    return { kind: "memory", status: 304, fields: without, body: null, length: 0 };
  }
  if (verdict === "failed") throw new HttpError(412, undefined, { headers: { etag } });

  if (bytesParam !== null) {
    const length = Math.min(byteOffset(bytesParam), entry.size);
    return bodyOf(bytesOf(entry), 200, fields, 0, length);
  }
  if (choice.kind === "live") {
    return { kind: "live", status: 200, fields, entry, coding: choice.coding };
  }
  // Ranges address the selected representation (RFC 9110 §14.1.2): the
  // file, or its compressed bytes, whose length and validator are known.
  const rep = choice.kind === "bytes" || choice.kind === "injected"
    ? { size: choice.bytes.length, body: choice.bytes, file: undefined }
    : bytesOf(choice.kind === "sibling" ? choice.entry : entry);
  if (ranged && ifRangeHolds(request.fields, validators)) {
    const range = request.fields.get("range")!;
    const partial = answerRanges(range, rep, { entry, options, fields, etag, dated });
    if (partial !== undefined) return partial;
  }
  return bodyOf(rep, 200, fields, 0, rep.size);
}

/** notIn304 is `fields` without what a 304 leaves out. */
function notIn304(fields: Fields): Fields {
  return fields.filter(([name]) => !NOT_IN_304.has(name));
}

/** What the header fields of a representation depend on, besides the file. */
interface FieldFacts {
  choice: Exclude<Form, { kind: "wait" }>;
  etag: string;
  /** Whether Last-Modified may be sent (see `FileEntry.datesFrom`). */
  dated: boolean;
  bytesParam: string | null;
}

/** headerFields lists the fields of a 200 for `entry` in the chosen form, in the order written. */
function headerFields(entry: FileEntry, cacheControl: string, facts: FieldFacts): Fields {
  const made: Fields = [
    ["cache-control", cacheControl],
    ["content-type", entry.type],
    ["x-content-type-options", "nosniff"],
  ];
  if (facts.bytesParam === null) made.push(["accept-ranges", "bytes"], ["etag", facts.etag]);
  if (facts.dated) made.push(["last-modified", entry.lastModified]);
  if (entry.compressible) made.push(["vary", "Accept-Encoding"]);
  if (facts.choice.coding !== "identity") made.push(["content-encoding", facts.choice.coding]);
  return made;
}

/** What {@linkcode answerRanges} answers for, besides the Range field and the representation. */
interface RangeContext {
  entry: FileEntry;
  options: ContentOptions;
  /** The fields of the 200. */
  fields: Fields;
  /** With `dated`, names this representation's version, for the memo of field lists. */
  etag: string;
  dated: boolean;
}

/**
 * answerRanges answers a Range (RFC 9110 §14.2) of `rep`: 206 with one part,
 * or multipart/byteranges (§14.6) in the order asked; undefined when the
 * field is to be ignored (invalid, or too many pieces), so the whole is
 * sent. Throws a 416 {@linkcode HttpError} when no range is satisfiable.
 */
function answerRanges(
  range: string,
  rep: RepBytes,
  context: RangeContext,
): ContentAnswer | undefined {
  const { entry, options, fields } = context;
  const result = parseRange(range, rep.size);
  if (result.kind === "unsatisfiable") {
    throw new HttpError(416, undefined, { headers: { "content-range": `bytes */${rep.size}` } });
  }
  if (result.kind !== "ranges") return undefined;
  if (result.ranges.length === 1) {
    const { start, end } = result.ranges[0]!;
    const contentRange = `bytes ${start}-${end}/${rep.size}`;
    const withRange = fieldsFor(
      entry,
      options,
      `206 ${context.etag} ${context.dated} ${contentRange}`,
      () => [...fields, ["content-range", contentRange]],
    );
    return bodyOf(rep, 206, withRange, start, end - start + 1);
  }
  const plan = planMultipart(result.ranges, entry.type, rep.size);
  const type = `multipart/byteranges; boundary=${plan.boundary}`;
  const parts: Fields = fields.map((
    [name, value],
  ) => [name, name === "content-type" ? type : value]);
  const { body, file } = rep;
  if (body === undefined) {
    return {
      kind: "file",
      status: 206,
      fields: parts,
      entry: file!,
      start: 0,
      length: plan.length,
      multipart: plan,
    };
  }
  const pieces: Uint8Array[] = [];
  plan.ranges.forEach((r, i) => pieces.push(plan.heads[i]!, body.subarray(r.start, r.end + 1)));
  pieces.push(plan.heads.at(-1)!);
  return { kind: "memory", status: 206, fields: parts, body: pieces, length: plan.length };
}

/** MAX_MEMOS_PER_FILE bounds the field lists kept for one file version (ranges make many). */
const MAX_MEMOS_PER_FILE = 16;

/**
 * fieldsFor returns the field list `key` names for this file version, made
 * by `make` the first time. The same answer gets the same array, which the
 * writer recognises to reuse the head it serialized (response_writer.ts).
 */
function fieldsFor(
  entry: FileEntry,
  options: ContentOptions,
  key: string,
  make: () => Fields,
): Fields {
  let memos = options.memos.get(entry);
  if (memos === undefined) {
    memos = new Map();
    options.memos.set(entry, memos);
  }
  let fields = memos.get(key);
  if (fields === undefined) {
    if (memos.size >= MAX_MEMOS_PER_FILE) memos.clear();
    fields = make();
    memos.set(key, fields);
  }
  return fields;
}

/** Representation bytes: in memory (`body`), or to be read from `file`. */
interface RepBytes {
  size: number;
  body: Uint8Array | undefined;
  file: FileEntry | undefined;
}

function bytesOf(entry: FileEntry): RepBytes {
  return { size: entry.size, body: entry.body, file: entry };
}

function bodyOf(
  rep: RepBytes,
  status: number,
  fields: Fields,
  start: number,
  length: number,
): ContentAnswer {
  if (rep.body === undefined) {
    return { kind: "file", status, fields, entry: rep.file!, start, length, multipart: undefined };
  }
  const body = start === 0 && length === rep.body.length
    ? rep.body
    : rep.body.subarray(start, start + length);
  return { kind: "memory", status, fields, body: [body], length };
}

/** Pages with the live-reload script added, per file version. */
const injected = new WeakMap<FileEntry, Uint8Array>();

function isHtml(type: string): boolean {
  return type.startsWith("text/html");
}

/** The representation chosen: the file as it is, compressed bytes, a precompressed sibling, or compressing live. */
type Form =
  | { kind: "identity"; coding: "identity"; etag: undefined }
  | { kind: "bytes"; coding: StoredCoding; etag: string; bytes: Uint8Array }
  | { kind: "sibling"; coding: StoredCoding; etag: string; entry: FileEntry }
  | { kind: "injected"; coding: "identity"; etag: string; bytes: Uint8Array }
  | { kind: "live"; coding: StoredCoding; etag: string }
  | { kind: "wait"; ready: Promise<void> };

const IDENTITY: Form = { kind: "identity", coding: "identity", etag: undefined };

/**
 * chooseForm negotiates the content coding (RFC 9110 §12.5.3) among what the
 * file has: a precompressed sibling, the store's compressed bytes, or (for a
 * file too large to hold) gzip while sending. A Range then addresses the
 * chosen form, except gzip while sending, whose bytes are not known ahead:
 * a ranged request for such a file gets the identity form. With live
 * reload, an HTML page held in memory is the injected page, uncompressed.
 */
function chooseForm(
  entry: FileEntry,
  fields: FieldSource,
  ranged: boolean,
  options: ContentOptions,
): Form {
  if (options.inject !== undefined && !ranged && entry.body !== undefined && isHtml(entry.type)) {
    let bytes = injected.get(entry);
    if (bytes === undefined) {
      bytes = options.inject(entry.body);
      injected.set(entry, bytes);
    }
    return {
      kind: "injected",
      coding: "identity",
      etag: `${entry.etag.slice(0, -1)}-live"`,
      bytes,
    };
  }
  if (!entry.compressible) return IDENTITY;
  const qualities = codingQualities(fields.get("accept-encoding"));
  if (qualities.br <= 0 && qualities.gzip <= 0) return IDENTITY;
  const available: Coding[] = [];
  for (const coding of ["br", "gzip"] as const) {
    if (entry.siblings[coding]) available.push(coding);
    else if (entry.body === undefined) {
      // Too large to hold: gzip while sending, as nginx does (brotli's
      // smaller output is not worth its CPU on every request).
      if (coding === "gzip") available.push(coding);
    } else if (entry.coded[coding]?.state !== "useless") available.push(coding);
  }
  const coding = chooseCoding(qualities, available);
  if (coding === "identity") return IDENTITY;
  if (entry.siblings[coding]) {
    const sibling = options.store.lookup(entry.path + FILE_SUFFIX[coding], options.scope);
    if (sibling.kind === "file") {
      return { kind: "sibling", coding, etag: etagWith(sibling.etag, coding), entry: sibling };
    }
    return IDENTITY; // gone since: the watcher will tell the store
  }
  if (entry.body === undefined) {
    // Compressed while sent, its bytes are unknown in advance: a Range gets
    // the identity form, whose bytes are.
    return ranged ? IDENTITY : { kind: "live", coding, etag: etagWith(entry.etag, coding) };
  }
  const made = options.store.coded(entry, coding);
  if (made === "useless") return chooseForm(entry, fields, ranged, options);
  if (made instanceof Promise) return { kind: "wait", ready: made };
  return { kind: "bytes", coding, etag: made.etag, bytes: made.bytes };
}
