/**
 * upload_test.ts — `/uploads/` as `Request → Response` (style rule 4): raw
 * and form uploads, the hostile-name table, size limits before and while
 * reading, atomic replacement, the bearer token, cross-site refusal, the
 * list and serving files back.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../lib/app.ts";
import { HttpError } from "../../lib/http/http_error.ts";
import {
  createUploads,
  type FileResult,
  MAX_FIELD_BYTES,
  MAX_FORM_PARTS,
  MAX_NAME_BYTES,
  validateUploadName,
} from "../../lib/pages/upload.ts";
import { withTempDir } from "../_support/server.ts";
import { scriptedStream, untouchableStream } from "../_support/streams.ts";
import { waitFor } from "../_support/wait.ts";
import { namesIn } from "../_support/fs.ts";
import { isStatus } from "../_support/errors.ts";
import { FREE_CHECK_BYTES } from "../../lib/pages/upload_space.ts";

const ORIGIN = "http://localhost:8000";
const MAX_BYTES = 1024;
const TOKEN = "s3cret-token_value";

type UploadHandler = (request: Request) => Promise<Response>;

/** withUploads runs `fn` with a handler over a fresh upload directory. */
async function withUploads(
  fn: (handler: UploadHandler, dir: string) => Promise<void>,
  options: {
    maxBytes?: number;
    token?: string;
    quotaBytes?: number;
    minFreeBytes?: number;
    freeBytes?: () => Promise<number | undefined>;
  } = {},
): Promise<void> {
  await withTempDir(async (dir) => {
    const { token, quotaBytes, minFreeBytes, freeBytes } = options;
    const handler = createUploads({
      dir,
      realDir: dir,
      maxBytes: options.maxBytes ?? MAX_BYTES,
      ...(token === undefined ? {} : { token }),
      ...(quotaBytes === undefined ? {} : { quotaBytes }),
      ...(minFreeBytes === undefined ? {} : { minFreeBytes }),
      ...(freeBytes === undefined ? {} : { freeBytes }),
    });
    await fn(handler, dir);
  });
}

/** request builds a Request for `target` (path as on the wire) on ORIGIN. */
function request(method: string, target: string, init: RequestInit = {}): Request {
  return new Request(ORIGIN + target, { method, ...init });
}

/** put uploads `body` to `target` with PUT. */
function put(
  handler: UploadHandler,
  target: string,
  body: BodyInit | null,
  headers: HeadersInit = {},
): Promise<Response> {
  return handler(request("PUT", target, { body, headers }));
}

/** status resolves to the response's status, or the thrown HttpError's: the app turns one into the other. */
async function status(response: Promise<Response>): Promise<number> {
  try {
    return (await response).status;
  } catch (err) {
    if (err instanceof HttpError) return err.status;
    throw err;
  }
}

Deno.test("createUploads refuses a token no header can carry, and a bad maxBytes", () => {
  for (const token of ["", "two words", "tab\there", "line\nbreak", "ünï"]) {
    assert.throws(
      () => createUploads({ dir: "/x", realDir: "/x", maxBytes: 1, token }),
      RangeError,
    );
  }
  assert.throws(() => createUploads({ dir: "/x", realDir: "/x", maxBytes: -1 }), RangeError);
  assert.throws(() => createUploads({ dir: "/x", realDir: "/x", maxBytes: 1.5 }), RangeError);
});

Deno.test("PUT and POST /uploads/NAME store the raw body: 201 new, 409 taken, 200 replaced on request", async () => {
  await withUploads(async (handler, dir) => {
    const created = await put(handler, "/uploads/notes.txt", "first", {
      accept: "application/json",
    });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get("location"), "/uploads/notes.txt");
    assert.deepEqual(await created.json(), {
      name: "notes.txt",
      size: 5,
      url: "/uploads/notes.txt",
    });
    assert.equal(await Deno.readTextFile(join(dir, "notes.txt")), "first");

    // No silent overwrite: 409 before the body is read, for PUT and POST alike.
    for (const method of ["PUT", "POST"]) {
      const body = untouchableStream();
      const err = await handler(request(method, "/uploads/notes.txt", { body: body.stream }))
        .then(() => undefined, (e) => e);
      assert.ok(err instanceof HttpError);
      assert.equal(err.status, 409);
      assert.match(err.message, /replace=1/);
      assert.equal(body.pulls, 0, "the body is not read");
    }
    for (const no of ["?replace=0", "?replace=", "?other=1"]) {
      assert.equal(await status(put(handler, `/uploads/notes.txt${no}`, "x")), 409, no);
    }
    assert.equal(await Deno.readTextFile(join(dir, "notes.txt")), "first");

    const replaced = await handler(
      request("POST", "/uploads/notes.txt?replace=1", {
        body: "second!",
        headers: { accept: "text/plain" },
      }),
    );
    assert.equal(replaced.status, 200);
    assert.equal(replaced.headers.get("location"), null);
    assert.equal(await replaced.text(), "stored notes.txt (7 bytes)\n");
    assert.equal(await Deno.readTextFile(join(dir, "notes.txt")), "second!");
    assert.deepEqual(await namesIn(dir), ["notes.txt"]);
  });
});

Deno.test("a body-less PUT stores an empty file", async () => {
  await withUploads(async (handler, dir) => {
    assert.equal((await put(handler, "/uploads/empty", null)).status, 201);
    assert.equal((await Deno.stat(join(dir, "empty"))).size, 0);
  });
});

Deno.test("names that are safe but odd are stored as decoded and linked encoded", async (t) => {
  await withUploads(async (handler, dir) => {
    const cases: [target: string, name: string, location: string][] = [
      ["/uploads/with%20space.txt", "with space.txt", "/uploads/with%20space.txt"],
      ["/uploads/%C3%BCn%C3%AF.txt", "ünï.txt", "/uploads/%C3%BCn%C3%AF.txt"],
      ["/uploads/100%25.txt", "100%.txt", "/uploads/100%25.txt"],
      ["/uploads/a%3Cb%3E%22'.txt", "a<b>\"'.txt", "/uploads/a%3Cb%3E%22'.txt"],
      ["/uploads/a%3Fb%23c", "a?b#c", "/uploads/a%3Fb%23c"],
      ["/uploads/inner.dots..txt", "inner.dots..txt", "/uploads/inner.dots..txt"],
      ["/uploads/inner%20%20spaces", "inner  spaces", "/uploads/inner%20%20spaces"],
      ["/uploads/" + "n".repeat(MAX_NAME_BYTES), "n".repeat(MAX_NAME_BYTES), ""],
    ];
    for (const [target, name, location] of cases) {
      await t.step(name.slice(0, 40), async () => {
        const response = await put(handler, target, name);
        assert.equal(response.status, 201);
        if (location !== "") assert.equal(response.headers.get("location"), location);
        assert.equal(await Deno.readTextFile(join(dir, name)), name);
      });
    }
  });
});

/** Each rule of validateUploadName, reached through the URL: always 400, nothing written. */
const HOSTILE_TARGETS: [rule: string, target: string][] = [
  ["empty name (a second slash)", "/uploads//"],
  ["two segments", "/uploads/a/b"],
  ["leading empty segment", "/uploads//etc"],
  ["encoded slash", "/uploads/a%2fb"],
  ["encoded slash, upper case", "/uploads/..%2F..%2Fetc%2Fpasswd"],
  ["raw backslash (the URL parser makes it a slash)", "/uploads/a\\b"],
  ["encoded backslash", "/uploads/a%5cb"],
  ["encoded backslash traversal", "/uploads/..%5c..%5cwin.ini"],
  ["leading dot", "/uploads/.hidden"],
  ["encoded leading dot", "/uploads/%2ehidden"],
  ["dot-dot then more", "/uploads/..x"],
  ["a temp file's name", "/uploads/.a.txt.0123456789abcdef.part"],
  ["NUL", "/uploads/a%00b"],
  ["NUL at the end (C string truncation)", "/uploads/a.txt%00.jpg"],
  ["C0 control", "/uploads/a%01b"],
  ["tab", "/uploads/a%09b"],
  ["CR LF (header injection)", "/uploads/a%0d%0aSet-Cookie:%20x"],
  ["unit separator", "/uploads/a%1fb"],
  ["DEL", "/uploads/a%7fb"],
  ["C1 control U+0080", "/uploads/a%c2%80b"],
  ["C1 control U+009F", "/uploads/a%c2%9fb"],
  ["invalid escape", "/uploads/a%zzb"],
  ["truncated escape", "/uploads/a%"],
  ["lone continuation byte", "/uploads/%80"],
  ["invalid UTF-8 byte", "/uploads/%ff"],
  ["overlong UTF-8 dot", "/uploads/%c0%ae%c0%ae"],
  ["encoded surrogate", "/uploads/%ed%a0%80"],
  ["256 ASCII bytes", "/uploads/" + "a".repeat(MAX_NAME_BYTES + 1)],
  ["256 UTF-8 bytes in 128 characters", "/uploads/" + "%C3%A9".repeat(128)],
];

Deno.test("hostile upload names are refused with 400 and nothing is written", async (t) => {
  await withUploads(async (handler, dir) => {
    for (const [rule, target] of HOSTILE_TARGETS) {
      await t.step(rule, async () => {
        for (const method of ["PUT", "POST"]) {
          const body = untouchableStream();
          assert.equal(
            await status(handler(request(method, target, { body: body.stream }))),
            400,
            `${method} ${target}`,
          );
          assert.equal(body.pulls, 0, "the body is not read");
        }
        assert.equal(await status(handler(request("GET", target))), 400, `GET ${target}`);
      });
    }
    assert.deepEqual(await namesIn(dir), []);
  });
});

/**
 * Names that read as another name: refused with 400 and a message that says
 * why, before the body is read, for PUT, POST and GET alike.
 */
const INVISIBLE = "Upload name must not contain invisible or format characters";
const SPACES = "Upload name must not be only spaces";
const TRAILING = "Upload name must not end with a space or a dot";
const SPOOFED_TARGETS: [rule: string, target: string, message: string][] = [
  ["right-to-left override U+202E", "/uploads/evil%E2%80%AEgpj.exe", INVISIBLE],
  ["left-to-right embedding U+202A", "/uploads/a%E2%80%AAb", INVISIBLE],
  ["pop directional formatting U+202C", "/uploads/a%E2%80%ACb", INVISIBLE],
  ["first strong isolate U+2068", "/uploads/a%E2%81%A8b", INVISIBLE],
  ["pop directional isolate U+2069", "/uploads/a%E2%81%A9b", INVISIBLE],
  ["zero-width space U+200B", "/uploads/a%E2%80%8Bb.txt", INVISIBLE],
  ["zero-width joiner U+200D", "/uploads/a%E2%80%8Db", INVISIBLE],
  ["right-to-left mark U+200F", "/uploads/a%E2%80%8Fb", INVISIBLE],
  ["line separator U+2028", "/uploads/a%E2%80%A8b", INVISIBLE],
  ["paragraph separator U+2029", "/uploads/a%E2%80%A9b", INVISIBLE],
  ["byte order mark U+FEFF", "/uploads/%EF%BB%BFa.txt", INVISIBLE],
  ["soft hyphen U+00AD", "/uploads/pay%C2%ADpal.html", INVISIBLE],
  ["word joiner U+2060", "/uploads/a%E2%81%A0b", INVISIBLE],
  ["Arabic letter mark U+061C", "/uploads/a%D8%9Cb", INVISIBLE],
  ["tag character U+E0041 (astral Cf)", "/uploads/a%F3%A0%81%81b", INVISIBLE],
  ["one space", "/uploads/%20", SPACES],
  ["only spaces", "/uploads/%20%20%20", SPACES],
  ["only ideographic spaces", "/uploads/%E3%80%80%E3%80%80", SPACES],
  ["trailing space", "/uploads/a.txt%20", TRAILING],
  ["trailing dot (Windows drops it)", "/uploads/a.txt.", TRAILING],
  ["trailing dots", "/uploads/a..", TRAILING],
  ["trailing no-break space", "/uploads/a.exe%C2%A0", TRAILING],
  ["trailing space after a dot", "/uploads/a.%20", TRAILING],
];

Deno.test("spoofable upload names are refused with 400 that says why; nothing is written", async (t) => {
  await withUploads(async (handler, dir) => {
    for (const [rule, target, message] of SPOOFED_TARGETS) {
      await t.step(rule, async () => {
        for (const method of ["PUT", "POST", "GET"]) {
          const body = method === "GET" ? undefined : untouchableStream();
          const err = await handler(request(method, target, body ? { body: body.stream } : {}))
            .then(() => undefined, (e) => e);
          assert.ok(err instanceof HttpError, `${method} ${target} refused`);
          assert.equal(err.status, 400);
          assert.equal(err.message, message);
          assert.equal(body?.pulls ?? 0, 0, "the body is not read");
        }
      });
    }
    assert.deepEqual(await namesIn(dir), []);
  });
});

Deno.test("dot segments never reach the upload handler's names", async (t) => {
  await withUploads(async (handler, dir) => {
    // The URL parser resolves these before any handler runs (WHATWG URL
    // §4.4): they name "/" or "/uploads/", which are not files.
    for (
      const [target, want] of [
        ["/uploads/..", 404],
        ["/uploads/%2e%2e", 404],
        ["/uploads/%2E%2e/etc/passwd", 404],
        ["/uploads/.", 405],
        ["/uploads/%2e", 405],
      ] as const
    ) {
      await t.step(target, async () => {
        assert.equal(await status(put(handler, target, "x")), want);
      });
    }
    assert.deepEqual(await namesIn(dir), []);
  });
});

Deno.test("validateUploadName: the rules the URL cannot express", async (t) => {
  const refused = [
    "",
    ".",
    "..",
    ".hidden",
    "a/b",
    "../x",
    "a\\b",
    "C:\\Users\\x.txt",
    "a\0b",
    "a\nb",
    "a\x7fb",
    "a\x85b",
    "a\ud800b",
    "\udc00",
    "x".repeat(MAX_NAME_BYTES + 1),
    "€".repeat(86), // 258 bytes in 86 characters
    "a.",
    "a ",
    " ",
    "evil\u202egpj.exe",
  ];
  for (const name of refused) {
    await t.step(JSON.stringify(name.slice(0, 20)), () => {
      assert.throws(() => validateUploadName(name), isStatus(400));
    });
  }
  for (const name of ["a", "a.b.c", "x".repeat(MAX_NAME_BYTES), "ünï €.txt", "a..b", "a b"]) {
    await t.step(`accepts ${JSON.stringify(name.slice(0, 20))}`, () => {
      assert.equal(validateUploadName(name), name);
    });
  }
});

Deno.test("a Content-Length over the limit is refused before the body is read", async () => {
  await withUploads(async (handler, dir) => {
    const body = untouchableStream();
    await assert.rejects(
      handler(
        request("PUT", "/uploads/big.bin", {
          body: body.stream,
          headers: { "content-length": String(MAX_BYTES + 1) },
        }),
      ),
      isStatus(413),
    );
    assert.equal(body.pulls, 0);
    assert.deepEqual(await namesIn(dir), []);
  });
});

Deno.test("a body without Content-Length is cut off at the limit, leaving no file", async () => {
  await withUploads(async (handler, dir) => {
    // As a chunked body arrives: no declared length, just more and more bytes.
    const body = scriptedStream(["x".repeat(100)], { endless: true });
    await assert.rejects(put(handler, "/uploads/big.bin", body.stream), isStatus(413));
    assert.equal(body.cancelled, true);
    assert.equal(body.pulls, 11, "reading stops at the chunk that crosses 1024 bytes");
    assert.deepEqual(await namesIn(dir), [], "neither the file nor a .part file");
  });
});

Deno.test("a body of exactly the limit is stored", async () => {
  await withUploads(async (handler, dir) => {
    const body = scriptedStream(["x".repeat(MAX_BYTES / 2), "y".repeat(MAX_BYTES / 2)]);
    assert.equal((await put(handler, "/uploads/full", body.stream)).status, 201);
    assert.equal((await Deno.stat(join(dir, "full"))).size, MAX_BYTES);
  });
});

Deno.test("replacing keeps the old content until the new one is complete", async () => {
  await withUploads(async (handler, dir) => {
    const target = join(dir, "doc.txt");
    assert.equal((await put(handler, "/uploads/doc.txt", "version 1")).status, 201);

    const seen: string[] = [];
    const gone = new Deno.errors.UnexpectedEof("Cannot read body: the client went away");
    const body = scriptedStream(["version ", "2, part one; "], {
      error: gone,
      beforeChunk: async () => void seen.push(await Deno.readTextFile(target)),
    });
    await assert.rejects(
      put(handler, "/uploads/doc.txt?replace=1", body.stream),
      (err) => err === gone,
    );
    assert.deepEqual(seen, ["version 1", "version 1", "version 1"]);
    assert.equal(await Deno.readTextFile(target), "version 1");
    assert.deepEqual(await namesIn(dir), ["doc.txt"], "no .part file remains");

    // Too large while replacing: the old file stays, too.
    const big = scriptedStream(["z".repeat(600), "z".repeat(600)]);
    await assert.rejects(put(handler, "/uploads/doc.txt?replace=1", big.stream), isStatus(413));
    assert.equal(await Deno.readTextFile(target), "version 1");
    assert.deepEqual(await namesIn(dir), ["doc.txt"]);

    assert.equal((await put(handler, "/uploads/doc.txt?replace=1", "version 3")).status, 200);
    assert.equal(await Deno.readTextFile(target), "version 3");
  });
});

Deno.test("a directory in the way is a 409, leaves no .part, and is not served", async () => {
  await withUploads(async (handler, dir) => {
    await Deno.mkdir(join(dir, "sub"));
    assert.equal(await status(put(handler, "/uploads/sub", "x")), 409);
    assert.deepEqual(await namesIn(dir), ["sub"]);
    // Nor is it served: the static server's redirect would leave /uploads/.
    assert.equal(await status(handler(request("GET", "/uploads/sub"))), 404);
  });
});

Deno.test("with a token, writes need the right bearer token; reads stay public", async (t) => {
  await withUploads(async (handler, dir) => {
    const cases: [name: string, authorization: string | null, want: number][] = [
      ["missing", null, 401],
      ["wrong", "Bearer wrong-token", 401],
      ["a prefix of the token", "Bearer s3cret", 401],
      ["the token plus more", `Bearer ${TOKEN}x`, 401],
      ["empty", "Bearer ", 401],
      ["another scheme", `Basic ${btoa(`user:${TOKEN}`)}`, 401],
      ["the token without a scheme", TOKEN, 401],
      ["token in quotes", `Bearer "${TOKEN}"`, 401],
      ["right", `Bearer ${TOKEN}`, 201],
      ["right, scheme in lower case", `bearer ${TOKEN}`, 200],
    ];
    for (const [name, authorization, want] of cases) {
      await t.step(name, async () => {
        const headers: Record<string, string> = authorization === null ? {} : { authorization };
        const response = put(handler, "/uploads/secret.txt?replace=1", name, headers);
        assert.equal(await status(response), want);
        if (want === 401) {
          const err = await response.catch((e) => e);
          assert.match(new Headers(err.headers).get("www-authenticate") ?? "", /^Bearer /);
        }
      });
    }
    assert.equal(await Deno.readTextFile(join(dir, "secret.txt")), "right, scheme in lower case");
    const got = await handler(request("GET", "/uploads/secret.txt"));
    assert.equal(got.status, 200);
    assert.equal((await handler(request("GET", "/uploads/"))).status, 200);
  }, { token: TOKEN });
});

Deno.test("with a token, the form upload and hostile requests get 401 before anything else", async () => {
  await withUploads(async (handler, dir) => {
    const body = untouchableStream();
    const hostile = request("PUT", "/uploads/..%2fx", {
      body: body.stream,
      headers: { "content-length": "999999999" },
    });
    assert.equal(await status(handler(hostile)), 401);
    assert.equal(body.pulls, 0);
    const form = new FormData();
    form.append("file", new File(["x"], "a.txt"));
    assert.equal(await status(handler(request("POST", "/uploads/", { body: form }))), 401);
    assert.deepEqual(await namesIn(dir), []);
    // The page explains that a browser form cannot send the token.
    const page = await (await handler(request("GET", "/uploads/"))).text();
    assert.doesNotMatch(page, /<form/);
    assert.match(page, /Authorization: Bearer TOKEN/);
  }, { token: TOKEN });
});

Deno.test("cross-site writes are refused with 403", async (t) => {
  await withUploads(async (handler, dir) => {
    const cases: [string, Record<string, string>, number][] = [
      ["Origin of another site", { origin: "http://evil.example" }, 403],
      ["Sec-Fetch-Site cross-site", { "sec-fetch-site": "cross-site" }, 403],
      ["Sec-Fetch-Site same-origin", { "sec-fetch-site": "same-origin" }, 201],
      ["Origin of this server", { origin: ORIGIN }, 200],
    ];
    for (const [name, headers, want] of cases) {
      await t.step(name, async () => {
        assert.equal(await status(put(handler, "/uploads/x.txt?replace=1", name, headers)), want);
      });
    }
    assert.equal(await Deno.readTextFile(join(dir, "x.txt")), "Origin of this server");
  });
});

/**
 * With --cors, other origins may read uploads but never write them: the
 * preflight for a write offers neither the method nor its headers, so a
 * browser stops before sending; a write sent anyway (a simple POST needs no
 * preflight) gets 403. One story for a page elsewhere, token or not.
 */
const WRITE_PREFLIGHTS: [name: string, path: string, method: string, headers: string][] = [
  ["PUT with a token", "/uploads/x.txt", "PUT", "authorization"],
  ["PUT without headers", "/uploads/x.txt", "PUT", ""],
  ["POST of a file with a token", "/uploads/x.txt", "POST", "authorization"],
  ["POST of a form with a token", "/uploads/", "POST", "authorization"],
  ["POST as JSON", "/uploads/", "POST", "content-type"],
  ["DELETE", "/uploads/x.txt", "DELETE", ""],
];

Deno.test("with --cors, preflights offer other origins reading only; a write sent anyway gets 403", async (t) => {
  await withUploads(async (uploads, dir) => {
    const app = createApp({
      root: dir,
      realRoot: dir,
      listing: false,
      dotfiles: false,
      cors: true,
      uploads,
    });
    const info = { remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 } };
    const preflight = (path: string, method: string, headers: string) =>
      app(
        request("OPTIONS", path, {
          headers: {
            origin: "http://elsewhere.example",
            "access-control-request-method": method,
            ...(headers === "" ? {} : { "access-control-request-headers": headers }),
          },
        }),
        info,
      );
    for (const [name, path, method, headers] of WRITE_PREFLIGHTS) {
      await t.step(`preflight: ${name}`, async () => {
        const response = await preflight(path, method, headers);
        assert.equal(response.status, 204);
        assert.equal(response.headers.get("access-control-allow-origin"), "*");
        assert.equal(response.headers.get("access-control-allow-methods"), "GET, HEAD, OPTIONS");
        assert.equal(response.headers.get("access-control-allow-headers"), null);
        assert.match(response.headers.get("allow") ?? "", /PUT/, "Allow still lists every method");
      });
    }
    await t.step("preflight: GET with Range is allowed, headers too", async () => {
      const response = await preflight("/uploads/x.txt", "GET", "range, if-none-match");
      assert.equal(response.headers.get("access-control-allow-methods"), "GET, HEAD, OPTIONS");
      assert.equal(response.headers.get("access-control-allow-headers"), "range, if-none-match");
    });
    await t.step("the write itself, cross-site, with the right token: 403", async () => {
      const response = await app(
        request("PUT", "/uploads/x.txt", {
          body: "x",
          headers: {
            origin: "http://elsewhere.example",
            "sec-fetch-site": "cross-site",
            authorization: `Bearer ${TOKEN}`,
          },
        }),
        info,
      );
      assert.equal(response.status, 403);
      await response.body?.cancel();
    });
    assert.deepEqual(await namesIn(dir), []);
  }, { token: TOKEN });
});

/** formRequest posts `form` to /uploads/ with `accept`. */
function formRequest(form: FormData, accept: string): Request {
  return request("POST", "/uploads/", { body: form, headers: { accept } });
}

/** formOf builds a FormData with `file` parts from [name, content] pairs. */
function formOf(...files: [name: string, content: string][]): FormData {
  const form = new FormData();
  for (const [name, content] of files) form.append("file", new File([content], name));
  return form;
}

/** formJson posts `form` asking for JSON and returns the status and the per-file results. */
async function formJson(
  handler: UploadHandler,
  form: FormData | Request,
): Promise<{ status: number; files: FileResult[] }> {
  const response = await handler(
    form instanceof Request ? form : formRequest(form, "application/json"),
  );
  return { status: response.status, files: (await response.json()).files };
}

Deno.test("a form upload streams two files, each stored and reported by name, HTML or JSON", async () => {
  await withUploads(async (handler, dir) => {
    const form = formOf(["a.txt", "alpha"], ["b c.txt", "beta!"]);
    form.append("note", "ignored");
    const browser = await handler(formRequest(form, "text/html,application/xhtml+xml,*/*;q=0.8"));
    assert.equal(browser.status, 201);
    const page = await browser.text();
    assert.match(page, /<a href="\/uploads\/a.txt">a.txt<\/a>/);
    assert.match(page, /<a href="\/uploads\/b%20c.txt">b c.txt<\/a>/);
    assert.match(page, /<a href="\/uploads\/">Back to the upload page<\/a>/);
    assert.equal(await Deno.readTextFile(join(dir, "a.txt")), "alpha");
    assert.equal(await Deno.readTextFile(join(dir, "b c.txt")), "beta!");

    const program = await handler(formRequest(formOf(["g.txt", "gamma"]), "application/json"));
    assert.equal(program.status, 201);
    assert.equal(program.headers.get("location"), "/uploads/g.txt");
    assert.deepEqual(await program.json(), {
      files: [{ submitted: "g.txt", status: 201, name: "g.txt", size: 5, url: "/uploads/g.txt" }],
    });
    assert.deepEqual(await namesIn(dir), ["a.txt", "b c.txt", "g.txt"]);
  });
});

Deno.test("a form upload of an existing name is stored under a new name, never over it", async () => {
  await withUploads(async (handler, dir) => {
    await put(handler, "/uploads/photo.jpg", "original");
    const first = await formJson(handler, formOf(["photo.jpg", "second"], ["photo.jpg", "third"]));
    assert.equal(first.status, 201);
    assert.deepEqual(first.files.map((f) => [f.submitted, f.name, f.url]), [
      ["photo.jpg", "photo (1).jpg", "/uploads/photo%20(1).jpg"],
      ["photo.jpg", "photo (2).jpg", "/uploads/photo%20(2).jpg"],
    ]);
    assert.equal(await Deno.readTextFile(join(dir, "photo.jpg")), "original");
    assert.equal(await Deno.readTextFile(join(dir, "photo (1).jpg")), "second");
    assert.equal(await Deno.readTextFile(join(dir, "photo (2).jpg")), "third");
    const page = await (await handler(
      formRequest(formOf(["photo.jpg", "fourth"]), "text/html"),
    )).text();
    assert.match(page, /stored as <a href="\/uploads\/photo%20\(3\).jpg">photo \(3\).jpg<\/a>/);
    assert.match(page, /renamed: that name was taken/);
  });
});

Deno.test("form uploads keep names in any script, as browsers send them (raw UTF-8)", async () => {
  await withUploads(async (handler, dir) => {
    const names = ["日本語.txt", "ünï €.txt", "Ελληνικά.md", "emoji 📷.jpg", 'C++ & "quotes".txt'];
    const result = await formJson(handler, formOf(...names.map((n) => [n, n] as [string, string])));
    assert.equal(result.status, 201);
    assert.deepEqual(result.files.map((f) => f.name), names);
    for (const name of names) assert.equal(await Deno.readTextFile(join(dir, name)), name);
    // filename* (RFC 8187) is read too, though RFC 7578 tells senders not to use it.
    const raw =
      "--b\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''%E2%82%AC.txt" +
      "\r\n\r\neuro\r\n--b--\r\n";
    const extended = await formJson(handler, rawForm(raw));
    assert.equal(extended.files[0]!.name, "€.txt");
  });
});

Deno.test("form uploads: a file over the per-file limit is refused by name, the others stored", async () => {
  await withUploads(async (handler, dir) => {
    const big = "x".repeat(MAX_BYTES + 1);
    const result = await formJson(
      handler,
      formOf(["small.txt", "small"], ["big.bin", big], ["after.txt", "after"]),
    );
    assert.equal(result.status, 200, "some stored, some not");
    assert.deepEqual(result.files.map((f) => [f.submitted, f.status, f.name ?? f.error]), [
      ["small.txt", 201, "small.txt"],
      ["big.bin", 413, "The file is larger than the limit of 1.0 KiB per file"],
      ["after.txt", 201, "after.txt"],
    ]);
    // A file of exactly the limit fits.
    const exact = await formJson(handler, formOf(["exact.bin", "y".repeat(MAX_BYTES)]));
    assert.equal(exact.status, 201);
    assert.deepEqual(await namesIn(dir), ["after.txt", "exact.bin", "small.txt"]);
    // Alone, the big one gets the 413 itself, and the browser a page that says why.
    assert.equal((await formJson(handler, formOf(["big.bin", big]))).status, 413);
    const page = await handler(formRequest(formOf(["big.bin", big]), "text/html"));
    assert.equal(page.status, 413);
    const text = await page.text();
    assert.match(text, /big.bin: <span class="err-text">The file is larger than the limit/);
    assert.match(text, /Back to the upload page/);
    assert.deepEqual(await namesIn(dir), ["after.txt", "exact.bin", "small.txt"]);
  });
});

Deno.test("form uploads: hostile filenames are refused one by one, with the reason", async (t) => {
  await withUploads(async (handler, dir) => {
    const hostile: [name: string, reason: RegExp][] = [
      ["../../etc/passwd", /Invalid file name/],
      ["..", /Invalid file name/],
      [".", /Invalid file name/],
      [".htaccess", /Invalid file name/],
      ["a/b", /Invalid file name/],
      ["C:\\x\\y.txt", /Invalid file name/],
      ["evil\u202egpj.exe", /invisible or format characters/],
      ["a\u200b.txt", /invisible or format characters/],
      ["a\ufeff.txt", /invisible or format characters/],
      ["   ", /only spaces/],
      ["a.txt.", /end with a space or a dot/],
      ["a.txt ", /end with a space or a dot/],
    ];
    for (const [name, reason] of hostile) {
      await t.step(`filename ${JSON.stringify(name)}`, async () => {
        const result = await formJson(handler, formOf([name, "evil"]));
        assert.equal(result.status, 400);
        assert.equal(result.files.length, 1);
        assert.equal(result.files[0]!.submitted, name);
        assert.match(result.files[0]!.error!, reason);
      });
    }
    await t.step("a control character breaks the part's header: the form is refused", async () => {
      assert.equal(
        await status(handler(formRequest(formOf(["a\0b", "x"]), "application/json"))),
        400,
      );
    });
    await t.step("beside a good file, only the bad one is refused", async () => {
      const result = await formJson(handler, formOf(["good.txt", "ok"], ["../x", "evil"]));
      assert.equal(result.status, 200);
      assert.deepEqual(result.files.map((f) => f.status), [201, 400]);
    });
    assert.deepEqual(await namesIn(dir), ["good.txt"]);
  });
});

/** rawForm posts a hand-written multipart body with boundary "b". */
function rawForm(body: BodyInit, headers: Record<string, string> = {}): Request {
  return request("POST", "/uploads/", {
    body,
    headers: {
      "content-type": "multipart/form-data; boundary=b",
      accept: "application/json",
      ...headers,
    },
  });
}

Deno.test("form uploads: malformed and bad forms are refused with a status that names the problem", async (t) => {
  await withUploads(async (handler, dir) => {
    /** [name, request, status, message] — the message the client sees. */
    const cases: [string, () => Request, number, RegExp][] = [
      [
        "no closing boundary",
        () =>
          rawForm(
            '--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nabc',
          ),
        400,
        /the body ends before the closing boundary/,
      ],
      [
        "not a multipart body",
        () => rawForm("not a multipart body"),
        400,
        /the body ends before the closing boundary/,
      ],
      [
        "no boundary parameter",
        () =>
          request("POST", "/uploads/", {
            body: "--b--\r\n",
            headers: { "content-type": "multipart/form-data", accept: "application/json" },
          }),
        400,
        /no boundary/,
      ],
      [
        "a part without a field name",
        () =>
          rawForm('--b\r\nContent-Disposition: form-data; filename="a.txt"\r\n\r\nx\r\n--b--\r\n'),
        400,
        /a part has no field name/,
      ],
      [
        "a header line without a colon",
        () => rawForm("--b\r\nnot a header\r\n\r\nx\r\n--b--\r\n"),
        400,
        /headers are malformed/,
      ],
      [
        "part headers that never end",
        () => rawForm(scriptedStream(["--b\r\nX-A: ", "a".repeat(8192)], { endless: true }).stream),
        400,
        /headers are malformed or too large/,
      ],
      [
        "bad percent-encoding in filename*",
        () =>
          rawForm(
            "--b\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''%zz\r\n\r\nx\r\n--b--\r\n",
          ),
        400,
        /headers are malformed/,
      ],
      [
        "too many parts",
        () =>
          rawForm(
            '--b\r\nContent-Disposition: form-data; name="n"\r\n\r\nv\r\n'.repeat(
              MAX_FORM_PARTS + 1,
            ) + "--b--\r\n",
          ),
        413,
        /Too many parts in the form: at most 100/,
      ],
      [
        "a field over the field limit",
        () =>
          rawForm(
            '--b\r\nContent-Disposition: form-data; name="n"\r\n\r\n' +
              "v".repeat(MAX_FIELD_BYTES + 1) + "\r\n--b--\r\n",
          ),
        413,
        /A form field is too large/,
      ],
      [
        "no file field",
        () =>
          formRequest(
            (() => {
              const f = new FormData();
              f.append("other", new File(["x"], "x.txt"));
              return f;
            })(),
            "application/json",
          ),
        400,
        /No file in the form/,
      ],
      [
        "a file field that is text",
        () =>
          formRequest(
            (() => {
              const f = new FormData();
              f.append("file", "just text");
              return f;
            })(),
            "application/json",
          ),
        400,
        /The file field must be a file/,
      ],
      [
        "not multipart at all",
        () =>
          request("POST", "/uploads/", {
            body: "file=x",
            headers: { "content-type": "application/x-www-form-urlencoded" },
          }),
        415,
        /multipart\/form-data/,
      ],
    ];
    for (const [name, make, want, message] of cases) {
      await t.step(name, async () => {
        const got = await handler(make()).then(
          async (r) => ({ status: r.status, text: JSON.stringify(await r.json()) }),
          (e) => ({ status: e instanceof HttpError ? e.status : 0, text: String(e?.message) }),
        );
        assert.equal(got.status, want, got.text);
        assert.match(got.text, message);
      });
    }
    await t.step("a raw part whose filename has a control character", async () => {
      const raw = '--b\r\nContent-Disposition: form-data; name="file"; filename="a\x01b"\r\n\r\n' +
        "x\r\n--b--\r\n";
      assert.equal(await status(handler(rawForm(raw))), 400);
    });
    await t.step("the body is cancelled when the form is refused midway", async () => {
      const body = scriptedStream(["--b\r\nX-A: ", "a".repeat(8192)], { endless: true });
      assert.equal(await status(handler(rawForm(body.stream))), 400);
      assert.equal(body.cancelled, true);
    });
    await t.step("a form that breaks after a stored file still reports it", async () => {
      const raw =
        '--b\r\nContent-Disposition: form-data; name="file"; filename="kept.txt"\r\n\r\n' +
        'kept\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="cut.txt"\r\n\r\ncu';
      const result = await formJson(handler, rawForm(raw));
      assert.equal(result.status, 200);
      assert.deepEqual(result.files.map((f) => f.status), [201, 400]);
      assert.match(result.files[1]!.error!, /closing boundary/);
    });
    assert.deepEqual(await namesIn(dir), ["kept.txt"], "no temp files, nothing else");
  });
});

Deno.test("uploaded files are served back with their media type, validators and ranges", async () => {
  await withUploads(async (handler) => {
    await put(handler, "/uploads/hello.txt", "hello, world\n");
    await put(handler, "/uploads/page.html", "<script>alert(1)</script>");

    const full = await handler(request("GET", "/uploads/hello.txt"));
    assert.equal(full.status, 200);
    assert.equal(full.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(full.headers.get("content-length"), "13");
    assert.equal(await full.text(), "hello, world\n");
    const etag = full.headers.get("etag")!;
    assert.ok(etag);

    const range = await handler(request("GET", "/uploads/hello.txt", {
      headers: { range: "bytes=0-4" },
    }));
    assert.equal(range.status, 206);
    assert.equal(range.headers.get("content-range"), "bytes 0-4/13");
    assert.equal(await range.text(), "hello");

    const cached = await handler(request("GET", "/uploads/hello.txt", {
      headers: { "if-none-match": etag },
    }));
    assert.equal(cached.status, 304);

    // HEAD is answered as GET; the app and the writer leave the body out (app_test.ts).
    const head = await handler(request("HEAD", "/uploads/hello.txt"));
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), "13");
    await head.body?.cancel();

    // Uploaded HTML is someone else's content: sandboxed, so its script cannot act as this site.
    const page = await handler(request("GET", "/uploads/page.html"));
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(page.headers.get("content-security-policy"), "sandbox");
    await page.body?.cancel();

    await assert.rejects(handler(request("GET", "/uploads/missing.txt")), isStatus(404));
  });
});

Deno.test("the list shows files, escaped and linked, with the upload form; JSON by Accept", async () => {
  await withUploads(async (handler, dir) => {
    await put(handler, "/uploads/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E.txt", "x");
    await put(handler, "/uploads/b.txt", "bb");
    await Deno.writeTextFile(join(dir, ".b.txt.0123456789abcdef.part"), "half");
    await Deno.mkdir(join(dir, "a-directory"));

    const response = await handler(request("GET", "/uploads/"));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(response.headers.get("vary"), "Accept");
    const page = await response.text();
    assert.match(
      page,
      /<form id="upload-form" method="post" enctype="multipart\/form-data" action="\/uploads\/"\s+data-max-bytes="1024">/,
    );
    assert.match(
      response.headers.get("content-security-policy") ?? "",
      /default-src 'none'.*; script-src 'sha256-[A-Za-z0-9+\/]+=*'; connect-src 'self'$/,
    );
    assert.match(page, /<input id="file" type="file" name="file" multiple required>/);
    assert.ok(!page.includes("<img"), "a file name is never markup");
    assert.ok(page.includes("&lt;img src=x onerror=alert(1)&gt;.txt"));
    assert.ok(page.includes('href="/uploads/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E.txt"'));
    assert.ok(page.includes('href="/uploads/b.txt"'));
    assert.ok(!page.includes(".part"), "temp files are not listed");
    assert.ok(!page.includes("a-directory"), "only files are listed");

    const json = await handler(request("GET", "/uploads/", {
      headers: { accept: "application/json" },
    }));
    const files = await json.json();
    assert.deepEqual(
      files.map((f: { name: string; size: number; url: string }) => [f.name, f.size, f.url]),
      [
        [
          "<img src=x onerror=alert(1)>.txt",
          1,
          "/uploads/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E.txt",
        ],
        ["b.txt", 2, "/uploads/b.txt"],
      ],
    );

    // The writer sends a HEAD's head alone (tests/pages/page_test.ts); the head is GET's.
    const head = await handler(request("HEAD", "/uploads/"));
    await head.body?.cancel();
    assert.equal(head.headers.get("content-length"), String(new TextEncoder().encode(page).length));
  });
});

Deno.test("/uploads redirects to /uploads/; an empty list says so", async () => {
  await withUploads(async (handler) => {
    const redirect = await handler(request("GET", "/uploads"));
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get("location"), "/uploads/");
    const page = await (await handler(request("GET", "/uploads/"))).text();
    assert.match(page, /No files yet/);
  });
});

Deno.test("methods: 405 with Allow, OPTIONS with Allow; other paths 404", async () => {
  await withUploads(async (handler) => {
    for (
      const [method, target, allow] of [
        ["DELETE", "/uploads/a.txt", "GET, HEAD, PUT, POST, OPTIONS"],
        ["PATCH", "/uploads/a.txt", "GET, HEAD, PUT, POST, OPTIONS"],
        ["PUT", "/uploads/", "GET, HEAD, POST, OPTIONS"],
        ["DELETE", "/uploads/", "GET, HEAD, POST, OPTIONS"],
      ] as const
    ) {
      const err = await handler(request(method, target)).catch((e) => e);
      assert.ok(err instanceof HttpError, `${method} ${target}`);
      assert.equal(err.status, 405);
      assert.equal(new Headers(err.headers).get("allow"), allow);
    }
    const options = await handler(request("OPTIONS", "/uploads/a.txt"));
    assert.equal(options.status, 204);
    assert.equal(options.headers.get("allow"), "GET, HEAD, PUT, POST, OPTIONS");
    await assert.rejects(handler(request("GET", "/elsewhere")), isStatus(404));
    await assert.rejects(handler(request("GET", "/uploadsx")), isStatus(404));
  });
});

Deno.test("an uploaded template is served as the bytes that were uploaded", async () => {
  await withUploads(async (handler) => {
    const source = "<p>{{name}}</p>";
    assert.equal(await status(put(handler, "/uploads/x.tmpl.html", source)), 201);
    const whole = await handler(request("GET", "/uploads/x.tmpl.html?name=rendered"));
    assert.equal(await whole.text(), source, "not rendered");
    const ranged = await handler(
      request("GET", "/uploads/x.tmpl.html", { headers: { range: "bytes=0-2" } }),
    );
    assert.equal(ranged.status, 206);
    assert.equal(await ranged.text(), "<p>");
  });
});

/** partsLeft lists the temp files in `dir`: there must be none after a refused upload. */
async function partsLeft(dir: string): Promise<string[]> {
  return (await namesIn(dir)).filter((n) => n.endsWith(".part"));
}

Deno.test("quota: a declared length over the room left is refused with 507 before reading", async () => {
  await withUploads(async (handler, dir) => {
    assert.equal((await put(handler, "/uploads/a.bin", "x".repeat(600))).status, 201);
    const body = untouchableStream();
    const err = await handler(request("PUT", "/uploads/b.bin", {
      body: body.stream,
      headers: { "content-length": "401" },
    })).then(() => undefined, (e) => e);
    assert.ok(err instanceof HttpError);
    assert.equal(err.status, 507);
    assert.equal(err.expose, true, "the client is told why");
    assert.match(err.message, /quota is 1000 B/);
    assert.equal(body.pulls, 0);
    // The same for a form, whose Content-Length covers all its files.
    const form = untouchableStream();
    assert.equal(
      await status(handler(request("POST", "/uploads/", {
        body: form.stream,
        headers: { "content-type": "multipart/form-data; boundary=b", "content-length": "500" },
      }))),
      507,
    );
    assert.equal(form.pulls, 0);
    // Exactly the room left fits.
    assert.equal((await put(handler, "/uploads/c.bin", "y".repeat(400))).status, 201);
    assert.deepEqual(await namesIn(dir), ["a.bin", "c.bin"]);
  }, { maxBytes: 10_000, quotaBytes: 1000 });
});

Deno.test("quota: a body without a length is stopped as it crosses the quota; no temp file stays", async () => {
  await withUploads(async (handler, dir) => {
    const body = scriptedStream(["z".repeat(300)], { endless: true });
    await assert.rejects(put(handler, "/uploads/stream.bin", body.stream), isStatus(507));
    assert.equal(body.cancelled, true);
    assert.equal(body.pulls, 4, "stopped at the chunk that crosses 1000 bytes");
    assert.deepEqual(await namesIn(dir), []);
    // The bytes of the refused upload no longer count.
    assert.equal((await put(handler, "/uploads/after.bin", "a".repeat(1000))).status, 201);
  }, { maxBytes: 10_000, quotaBytes: 1000 });
});

Deno.test("quota: a form stops at the file that does not fit, keeps the ones before, says why", async () => {
  await withUploads(async (handler, dir) => {
    const result = await formJson(
      handler,
      formOf(["one.bin", "1".repeat(400)], ["two.bin", "2".repeat(400)], [
        "three.bin",
        "3".repeat(400),
      ]),
    );
    assert.equal(result.status, 200);
    assert.deepEqual(result.files.map((f) => [f.submitted, f.status]), [
      ["one.bin", 201],
      ["two.bin", 201],
      ["three.bin", 507],
    ]);
    assert.match(result.files[2]!.error!, /The upload folder is full: its quota is 1000 B/);
    assert.deepEqual(await namesIn(dir), ["one.bin", "two.bin"]);
    // A browser gets a page that says so, with a way back.
    const page = await handler(formRequest(formOf(["four.bin", "4".repeat(400)]), "text/html"));
    assert.equal(page.status, 507);
    const text = await page.text();
    assert.match(text, /four.bin: <span class="err-text">The upload folder is full/);
    assert.match(text, /<a href="\/uploads\/">Back to the upload page<\/a>/);
    assert.deepEqual(await partsLeft(dir), []);
  }, { maxBytes: 10_000, quotaBytes: 1000 });
});

Deno.test("quota: uploads in flight count together; two that fit alone cannot both pass", async () => {
  await withUploads(async (handler, dir) => {
    const gate = Promise.withResolvers<void>();
    const slow = scriptedStream(["a".repeat(500), "a".repeat(100)], {
      beforeChunk: async (i) => {
        if (i === 1) await gate.promise;
      },
    });
    const first = put(handler, "/uploads/first.bin", slow.stream);
    await waitFor(() => slow.pulls >= 2, 5_000);
    // 500 bytes of the first are on disk in its temp file; 600 more do not fit.
    await assert.rejects(
      put(handler, "/uploads/second.bin", scriptedStream(["b".repeat(600)]).stream),
      isStatus(507),
    );
    gate.resolve();
    assert.equal((await first).status, 201);
    assert.deepEqual(await namesIn(dir), ["first.bin"]);
  }, { maxBytes: 10_000, quotaBytes: 1000 });
});

Deno.test("free-disk floor: refused before reading, or as the disk fills mid-stream (507)", async () => {
  let free = 5000;
  await withUploads(async (handler, dir) => {
    const unread = untouchableStream();
    const err = await handler(request("PUT", "/uploads/big.bin", {
      body: unread.stream,
      headers: { "content-length": "3001" },
    })).then(() => undefined, (e) => e);
    assert.ok(err instanceof HttpError);
    assert.equal(err.status, 507);
    assert.match(err.message, /The disk is nearly full: uploads must leave 2.0 KiB free/);
    assert.equal(unread.pulls, 0);

    // Something else fills the disk while a chunked upload streams: the
    // floor is asked again every FREE_CHECK_BYTES.
    free = 2 ** 40;
    const chunk = FREE_CHECK_BYTES / 4;
    const body = scriptedStream(["x".repeat(chunk)], {
      endless: true,
      beforeChunk: (i) => {
        if (i === 1) free = 2500;
      },
    });
    await assert.rejects(put(handler, "/uploads/mid.bin", body.stream), isStatus(507));
    assert.equal(body.cancelled, true);
    assert.equal(body.pulls, 5, "stopped at the check after FREE_CHECK_BYTES");
    assert.deepEqual(await namesIn(dir), [], "the temp file is removed");

    free = 1_000_000;
    assert.equal((await put(handler, "/uploads/ok.bin", "fits")).status, 201);
  }, { maxBytes: 2 ** 30, minFreeBytes: 2048, freeBytes: () => Promise.resolve(free) });
});

Deno.test("free-disk floor: not applied when free space cannot be read", async () => {
  await withUploads(async (handler) => {
    assert.equal((await put(handler, "/uploads/a.bin", "x")).status, 201);
  }, { minFreeBytes: 2 ** 40, freeBytes: () => Promise.resolve(undefined) });
});

Deno.test("a refused browser write gets a small page that says why and links back, status and headers kept", async () => {
  await withUploads(async (handler) => {
    const browser = "text/html,application/xhtml+xml,*/*;q=0.8";
    const cases: [name: string, request: Request, status: number, text: RegExp][] = [
      [
        "no room, from Content-Length",
        request("PUT", "/uploads/big.bin", {
          body: untouchableStream().stream,
          headers: { accept: browser, "content-length": "2000" },
        }),
        507,
        /The upload folder is full: its quota is 1000 B/,
      ],
      [
        "not a form",
        request("POST", "/uploads/", {
          body: "x",
          headers: { accept: browser, "content-type": "text/plain" },
        }),
        415,
        /Send multipart\/form-data/,
      ],
      [
        "a bad name",
        request("PUT", "/uploads/.hidden", { body: "x", headers: { accept: browser } }),
        400,
        /Invalid file name/,
      ],
    ];
    for (const [name, req, want, text] of cases) {
      const response = await handler(req);
      assert.equal(response.status, want, name);
      const page = await response.text();
      assert.match(page, text, name);
      assert.match(page, /<a href="\/uploads\/">Back to the upload page<\/a>/, name);
      assert.doesNotMatch(page, /minserve_test_|\/tmp\//, `${name}: no server path`);
      assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
    }
  }, { maxBytes: 10_000, quotaBytes: 1000 });
  await withUploads(async (handler) => {
    const response = await handler(request("PUT", "/uploads/a.txt", {
      body: "x",
      headers: { accept: "text/html" },
    }));
    assert.equal(response.status, 401);
    assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer /);
    assert.match(await response.text(), /Back to the upload page/);
  }, { token: TOKEN });
});
