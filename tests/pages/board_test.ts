/**
 * board_test.ts — `/board` as `Request → Response` (style rule 4): posting,
 * listing as HTML and JSON, escaping, limits, clearing, cross-site refusal,
 * methods, and posts that survive closing and reopening the database.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { createApp } from "../../lib/app.ts";
import { errorResponse } from "../../lib/error_page.ts";
import { HttpError } from "../../lib/http/http_error.ts";
import {
  Board,
  BOARD_FILE,
  BOARD_PAGE_SIZE,
  type BoardMessage,
  MAX_FORM_BYTES,
  MAX_MESSAGE_CHARS,
  RETRY_AFTER_SECONDS,
} from "../../lib/pages/board.ts";
import { SqliteBoardStore } from "../../lib/pages/board_sqlite.ts";
import { type BoardStore, StoreUnavailable } from "../../lib/pages/board_store.ts";
import { withTempDir } from "../_support/server.ts";
import { scriptedStream, untouchableStream } from "../_support/streams.ts";
import { isStatus } from "../_support/errors.ts";

const ORIGIN = "http://localhost:8000";
const FORM = "application/x-www-form-urlencoded";

/** withBoard runs `fn` with a board in a fresh data directory, closed afterwards. */
async function withBoard(fn: (board: Board, dir: string) => Promise<void>): Promise<void> {
  await withTempDir(async (dir) => {
    const board = Board.open(dir);
    try {
      await fn(board, dir);
    } finally {
      await board.close();
    }
  });
}

/** post sends `fields` form-encoded to /board. */
function post(
  board: Board,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return board.handle(
    new Request(ORIGIN + "/board", {
      method: "POST",
      headers: { "content-type": FORM, ...headers },
      body: new URLSearchParams(fields),
    }),
  );
}

/** get fetches /board with `accept`. */
function get(board: Board, accept = "text/html", method = "GET"): Promise<Response> {
  return board.handle(new Request(ORIGIN + "/board", { method, headers: { accept } }));
}

/** messages reads the board as JSON. */
async function messages(board: Board): Promise<BoardMessage[]> {
  return await (await get(board, "application/json")).json();
}

/** status resolves to the response's status, or the thrown HttpError's. */
async function status(response: Promise<Response>): Promise<number> {
  try {
    return (await response).status;
  } catch (err) {
    if (err instanceof HttpError) return err.status;
    throw err;
  }
}

Deno.test("a post is answered 303 to /board and listed in HTML and JSON", async () => {
  await withBoard(async (board) => {
    const before = Date.now();
    const response = await post(board, { message: "  hello, board  " });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get("location"), "/board");
    assert.equal(response.body, null);

    const list = await messages(board);
    assert.equal(list.length, 1);
    assert.equal(list[0]!.message, "hello, board", "trimmed");
    assert.equal(typeof list[0]!.id, "number");
    const postedAt = Date.parse(list[0]!.posted_at);
    assert.ok(postedAt >= before - 1 && postedAt <= Date.now() + 1);
    assert.match(list[0]!.posted_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const page = await get(board);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(page.headers.get("cache-control"), "no-store");
    assert.equal(page.headers.get("x-frame-options"), "DENY");
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    const text = await page.text();
    assert.ok(text.includes("hello, board"));
    assert.ok(text.includes(`<time datetime="${list[0]!.posted_at}">`));
    assert.match(text, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
    assert.match(text, /<form method="post" action="\/board">/);
    assert.match(
      text,
      new RegExp(`<textarea id="message" name="message" maxlength="${MAX_MESSAGE_CHARS}"`),
    );
    assert.match(text, /<form method="get" action="\/board\/clear">/);
  });
});

Deno.test("HTML lists newest first; JSON lists in posting order", async () => {
  await withBoard(async (board) => {
    for (const message of ["first", "second", "third"]) await post(board, { message });
    assert.deepEqual((await messages(board)).map((m) => m.message), ["first", "second", "third"]);
    const text = await (await get(board)).text();
    const at = (s: string) => text.indexOf(`<p class="body">${s}</p>`);
    assert.ok(at("third") > 0 && at("third") < at("second") && at("second") < at("first"));
  });
});

Deno.test("messages are escaped in HTML and kept verbatim in JSON", async () => {
  await withBoard(async (board) => {
    const hostile = [
      "<script>alert(1)</script>",
      '"><img src=x onerror=alert(2)>',
      "' onmouseover='alert(3)",
      "&lt;already escaped&gt;",
    ];
    for (const message of hostile) await post(board, { message });
    const text = await (await get(board)).text();
    assert.ok(!text.includes("<script>"), "no live script tag");
    assert.ok(!text.includes("<img"), "no live image tag");
    assert.ok(text.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert.ok(text.includes("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
    assert.ok(text.includes("&#39; onmouseover=&#39;alert(3)"));
    assert.ok(text.includes("&amp;lt;already escaped&amp;gt;"));
    assert.deepEqual((await messages(board)).map((m) => m.message), hostile);
  });
});

Deno.test("line breaks are kept, CRLF stored as LF", async () => {
  await withBoard(async (board) => {
    await post(board, { message: "line one\r\nline two\r\n\r\n" });
    assert.equal((await messages(board))[0]!.message, "line one\nline two");
  });
});

Deno.test("empty and missing messages are refused with 400", async (t) => {
  await withBoard(async (board) => {
    for (
      const [name, fields] of [
        ["empty", { message: "" }],
        ["spaces", { message: "   " }],
        ["blank lines", { message: "\r\n\t\r\n" }],
        ["no message field", { other: "x" }],
        ["no fields", {}],
      ] as const
    ) {
      await t.step(name, async () => {
        assert.equal(await status(post(board, fields)), 400);
      });
    }
    assert.deepEqual(await messages(board), []);
  });
});

/** Posts a terminal would obey: refused with 400, whether form-encoded or multipart. */
const CONTROL_POSTS: [name: string, message: string][] = [
  ["ESC colour (7-bit CSI)", "\x1b[31mred alert\x1b[0m"],
  ["one-character CSI U+009B", "\u009b31mred"],
  ["NUL", "a\0b"],
  ["NUL alone", "\0"],
  ["bell", "ding\x07"],
  ["backspaces that overwrite what was shown", "rm -rf /\b\b\b\b\b\b\b\bls"],
  ["vertical tab at the end (trim would hide it)", "hello\x0b"],
  ["form feed at the start (trim would hide it)", "\fhello"],
  ["unit separator", "a\x1fb"],
  ["DEL", "a\x7fb"],
  ["C1 next line U+0085", "a\u0085b"],
  ["C1 string terminator U+009C", "a\u009cb"],
  ["OSC title change", "\x1b]0;pwned\x07"],
];

Deno.test("posts with control characters are refused with 400 and say why", async (t) => {
  await withBoard(async (board) => {
    for (const [name, message] of CONTROL_POSTS) {
      await t.step(name, async () => {
        const form = new FormData();
        form.append("message", message);
        const multipart = () =>
          board.handle(new Request(ORIGIN + "/board", { method: "POST", body: form }));
        for (const send of [() => post(board, { message }), multipart]) {
          const err = await send().then(() => undefined, (e) => e);
          assert.ok(err instanceof HttpError, "refused");
          assert.equal(err.status, 400);
          assert.equal(err.message, "Message contains control characters");
        }
      });
    }
    assert.deepEqual(await messages(board), []);
    for (const accept of ["text/plain", "application/json", "text/html"]) {
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(await (await get(board, accept)).text(), /[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    }
  });
});

Deno.test("tabs, line breaks and other visible text are still posted", async (t) => {
  await withBoard(async (board) => {
    const cases: [name: string, message: string, stored: string][] = [
      ["tab", "a\tb", "a\tb"],
      ["CRLF and LF", "one\r\ntwo\nthree", "one\ntwo\nthree"],
      ["no-break space", "a\u00a0b", "a\u00a0b"],
      ["emoji and CJK", "😀 漢字", "😀 漢字"],
      ["U+00A0 and U+00FF, just past C1", "\u00a0x\u00ff", "x\u00ff"],
    ];
    for (const [name, message, stored] of cases) {
      await t.step(name, async () => {
        assert.equal(await status(post(board, { message })), 303);
        assert.equal((await messages(board)).at(-1)!.message, stored);
      });
    }
  });
});

Deno.test("posts stored before the rule are shown without their control characters", async () => {
  await withTempDir(async (dir) => {
    await Board.open(dir).close(); // creates the table
    const db = new DatabaseSync(join(dir, BOARD_FILE));
    db.prepare("INSERT INTO messages (body, posted_at) VALUES (?, ?)")
      .run("old \x1b[31mred\x07 \u009b1m", 0);
    db.close();
    const board = Board.open(dir);
    try {
      const want = "old \uFFFD[31mred\uFFFD \uFFFD1m";
      assert.equal((await messages(board))[0]!.message, want);
      assert.equal(
        await (await get(board, "text/plain")).text(),
        `1970-01-01T00:00:00.000Z ${want}\n`,
      );
      assert.ok((await (await get(board)).text()).includes(want));
    } finally {
      await board.close();
    }
  });
});

Deno.test("a message over MAX_MESSAGE_CHARS characters is refused with 413", async () => {
  await withBoard(async (board) => {
    assert.equal(await status(post(board, { message: "x".repeat(MAX_MESSAGE_CHARS + 1) })), 413);
    assert.equal(await status(post(board, { message: "x".repeat(MAX_MESSAGE_CHARS) })), 303);
    // Characters, not bytes or UTF-16 units: 2000 emoji (8000 bytes of UTF-8,
    // 24 000 form-encoded) is a valid post.
    const emoji = "😀".repeat(MAX_MESSAGE_CHARS);
    assert.ok(new URLSearchParams({ message: emoji }).toString().length > 16 * 1024);
    assert.equal(await status(post(board, { message: emoji })), 303);
    assert.equal(await status(post(board, { message: emoji + "😀" })), 413);
    assert.deepEqual((await messages(board)).map((m) => [...m.message].length), [
      MAX_MESSAGE_CHARS,
      MAX_MESSAGE_CHARS,
    ]);
  });
});

Deno.test("a body over MAX_FORM_BYTES is refused with 413, unread when its length is declared", async () => {
  await withBoard(async (board) => {
    const unread = untouchableStream();
    const declared = board.handle(
      new Request(ORIGIN + "/board", {
        method: "POST",
        headers: { "content-type": FORM, "content-length": String(MAX_FORM_BYTES + 1) },
        body: unread.stream,
      }),
    );
    assert.equal(await status(declared), 413);
    assert.equal(unread.pulls, 0);

    const endless = scriptedStream(["message=", "x".repeat(4096)], { endless: true });
    const chunked = board.handle(
      new Request(ORIGIN + "/board", {
        method: "POST",
        headers: { "content-type": FORM },
        body: endless.stream,
      }),
    );
    assert.equal(await status(chunked), 413);
    assert.equal(endless.cancelled, true);
    assert.deepEqual(await messages(board), []);
  });
});

/** postClear posts `fields` to /board/clear. */
function postClear(
  board: Board,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return board.handle(
    new Request(ORIGIN + "/board/clear", {
      method: "POST",
      headers: { "content-type": FORM, ...headers },
      body: new URLSearchParams(fields),
    }),
  );
}

Deno.test("clearing asks first: /board/clear confirms, then confirm=yes deletes every message", async () => {
  await withBoard(async (board) => {
    await post(board, { message: "one" });
    await post(board, { message: "two" });
    // The board's button only leads to the confirmation page.
    const text = await (await get(board)).text();
    assert.match(text, /<form method="get" action="\/board\/clear">/);
    assert.doesNotMatch(text, /name="confirm"/);

    const confirm = await board.handle(new Request(ORIGIN + "/board/clear"));
    assert.equal(confirm.status, 200);
    assert.equal(confirm.headers.get("x-frame-options"), "DENY");
    const page = await confirm.text();
    assert.match(page, /<title>Clear the board\? · minserve<\/title>/);
    assert.match(page, /This deletes all 2 messages on the board, for everyone/);
    assert.match(page, /<form method="post" action="\/board\/clear">/);
    assert.match(page, /<input type="hidden" name="confirm" value="yes">/);
    assert.match(page, /<a href="\/board">No, keep them<\/a>/);
    assert.equal((await messages(board)).length, 2, "asking deletes nothing");

    const response = await postClear(board, { confirm: "yes" });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get("location"), "/board");
    assert.deepEqual(await messages(board), []);
    assert.match(await (await get(board)).text(), /No messages yet/);
    assert.doesNotMatch(await (await get(board)).text(), /Clear all messages/);
    const empty = await (await board.handle(new Request(ORIGIN + "/board/clear"))).text();
    assert.match(empty, /The board is already empty/);
    assert.doesNotMatch(empty, /<form/);
  });
});

Deno.test("a clear without confirm=yes is refused with 400 and deletes nothing", async (t) => {
  await withBoard(async (board) => {
    await post(board, { message: "keep me" });
    const cases: [name: string, send: () => Promise<Response>][] = [
      ["old form: action=clear to /board", () => post(board, { action: "clear" })],
      ["old form: clear field to /board", () => post(board, { clear: "Clear all messages" })],
      ["no confirm field", () => postClear(board, {})],
      ["confirm=no", () => postClear(board, { confirm: "no" })],
      ["confirm=YES in capitals", () => postClear(board, { confirm: "YES" })],
      ["confirm empty", () => postClear(board, { confirm: "" })],
      ["confirm in the query only", () =>
        board.handle(
          new Request(ORIGIN + "/board/clear?confirm=yes", {
            method: "POST",
            headers: { "content-type": FORM },
            body: "",
          }),
        )],
    ];
    for (const [name, send] of cases) {
      await t.step(name, async () => {
        assert.equal(await status(send()), 400);
        assert.deepEqual((await messages(board)).map((m) => m.message), ["keep me"]);
      });
    }
    for (const method of ["PUT", "DELETE"]) {
      const sent = board.handle(new Request(ORIGIN + "/board/clear", { method }));
      assert.equal(await status(sent), 405);
    }
    assert.equal((await messages(board)).length, 1);
  });
});

Deno.test("multipart/form-data posts work too; other media types get 415", async () => {
  await withBoard(async (board) => {
    const form = new FormData();
    form.append("message", "from a multipart form");
    const response = await board.handle(
      new Request(ORIGIN + "/board", { method: "POST", body: form }),
    );
    assert.equal(response.status, 303);
    assert.equal((await messages(board))[0]!.message, "from a multipart form");

    const file = new FormData();
    file.append("message", new File(["x"], "x.txt"));
    const fileResponse = board.handle(
      new Request(ORIGIN + "/board", { method: "POST", body: file }),
    );
    assert.equal(await status(fileResponse), 400);

    for (const type of ["text/plain", "application/json", ""]) {
      const response = board.handle(
        new Request(ORIGIN + "/board", {
          method: "POST",
          headers: type === "" ? {} : { "content-type": type },
          body: type === "application/json" ? '{"message":"x"}' : "message=x",
        }),
      );
      assert.equal(await status(response), 415, type);
    }
    assert.equal((await messages(board)).length, 1);
  });
});

Deno.test("cross-site posts are refused with 403; same-origin and curl-like posts pass", async (t) => {
  await withBoard(async (board) => {
    const cases: [name: string, headers: Record<string, string>, want: number][] = [
      ["Origin of another site", { origin: "http://evil.example" }, 403],
      ["Origin of another port", { origin: "http://localhost:9999" }, 403],
      ["Origin of another scheme's default port", { origin: "https://localhost" }, 403],
      ["Origin null", { origin: "null" }, 403],
      ["Origin garbage", { origin: "not a url" }, 403],
      ["Sec-Fetch-Site cross-site", { "sec-fetch-site": "cross-site" }, 403],
      ["Sec-Fetch-Site same-site", { "sec-fetch-site": "same-site" }, 403],
      [
        "Sec-Fetch-Site cross-site wins over a matching Origin",
        { "sec-fetch-site": "cross-site", origin: ORIGIN },
        403,
      ],
      ["Sec-Fetch-Site same-origin", { "sec-fetch-site": "same-origin" }, 303],
      ["Sec-Fetch-Site none (typed by the user)", { "sec-fetch-site": "none" }, 303],
      ["Origin of this server", { origin: ORIGIN }, 303],
      ["Origin of this server, host in capitals", { origin: "http://LOCALHOST:8000" }, 303],
      ["neither header (curl)", {}, 303],
    ];
    for (const [name, headers, want] of cases) {
      await t.step(name, async () => {
        assert.equal(await status(post(board, { message: name }, headers)), want);
        assert.equal(await status(postClear(board, { confirm: "yes" }, headers)), want);
      });
    }
    // Every refused post left nothing; every accepted clear emptied the board.
    assert.deepEqual(await messages(board), []);
  });
});

Deno.test("with --cors, a preflight for a post offers neither POST nor its headers", async (t) => {
  await withBoard(async (board, dir) => {
    const app = createApp({
      root: dir,
      realRoot: dir,
      listing: false,
      dotfiles: false,
      cors: true,
      board: (request) => board.handle(request),
    });
    const info = { remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 } };
    const cases: [name: string, method: string, headers: string, allowHeaders: string | null][] = [
      ["POST as JSON", "POST", "content-type", null],
      ["POST with a custom header", "POST", "x-requested-with", null],
      ["PUT", "PUT", "", null],
      ["GET with a custom header", "GET", "x-trace", "x-trace"],
    ];
    for (const [name, method, headers, allowHeaders] of cases) {
      await t.step(name, async () => {
        const response = await app(
          new Request(ORIGIN + "/board", {
            method: "OPTIONS",
            headers: {
              origin: "http://elsewhere.example",
              "access-control-request-method": method,
              ...(headers === "" ? {} : { "access-control-request-headers": headers }),
            },
          }),
          info,
        );
        assert.equal(response.status, 204);
        assert.equal(response.headers.get("access-control-allow-methods"), "GET, HEAD, OPTIONS");
        assert.equal(response.headers.get("access-control-allow-headers"), allowHeaders);
      });
    }
  });
});

Deno.test("a refused cross-site post does not read its body", async () => {
  await withBoard(async (board) => {
    const body = untouchableStream();
    const response = board.handle(
      new Request(ORIGIN + "/board", {
        method: "POST",
        headers: { "content-type": FORM, "sec-fetch-site": "cross-site" },
        body: body.stream,
      }),
    );
    assert.equal(await status(response), 403);
    assert.equal(body.pulls, 0);
  });
});

Deno.test("HEAD has GET's headers (no body on the wire: page_test); text/plain lists one line per post", async () => {
  await withBoard(async (board) => {
    await post(board, { message: "hi" });
    const full = await get(board);
    const head = await get(board, "text/html", "HEAD");
    assert.equal(head.status, 200);
    await head.body?.cancel();
    assert.equal(head.headers.get("content-length"), full.headers.get("content-length"));
    assert.equal(
      Number(head.headers.get("content-length")),
      new TextEncoder().encode(await full.text()).length,
    );
    const text = await (await get(board, "text/plain")).text();
    assert.match(text, /^\d{4}-\d\d-\d\dT[\d:.]+Z hi\n$/);
  });
});

Deno.test("methods: 405 with Allow, OPTIONS 204; other paths 404", async () => {
  await withBoard(async (board) => {
    for (const method of ["PUT", "DELETE", "PATCH"]) {
      const err = await board.handle(new Request(ORIGIN + "/board", { method })).catch((e) => e);
      assert.ok(err instanceof HttpError);
      assert.equal(err.status, 405);
      assert.equal(new Headers(err.headers).get("allow"), "GET, HEAD, POST, OPTIONS");
    }
    const options = await board.handle(new Request(ORIGIN + "/board", { method: "OPTIONS" }));
    assert.equal(options.status, 204);
    for (const path of ["/board/", "/board/1", "/boards", "/", "/board/clear/"]) {
      await assert.rejects(board.handle(new Request(ORIGIN + path)), isStatus(404));
    }
  });
});

Deno.test("posts survive closing and reopening the board", async () => {
  await withTempDir(async (dir) => {
    const first = Board.open(dir);
    await post(first, { message: "before the restart" });
    await post(first, { message: "ünïcödé 😀 <b>" });
    await first.close();
    await first.close(); // a second close does nothing

    const second = Board.open(dir);
    try {
      assert.deepEqual((await messages(second)).map((m) => m.message), [
        "before the restart",
        "ünïcödé 😀 <b>",
      ]);
      await post(second, { message: "after" });
      assert.equal((await messages(second)).at(-1)!.id, 3);
    } finally {
      await second.close();
    }
    assert.ok((await Deno.stat(join(dir, BOARD_FILE))).isFile);
  });
});

Deno.test("Board.open names the file when it cannot open it", async () => {
  await withTempDir(async (dir) => {
    const missing = join(dir, "no-such-dir");
    assert.throws(() => Board.open(missing), (err) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /^Cannot open message board ".*no-such-dir\/board\.sqlite3": /);
      return true;
    });
    await Deno.writeTextFile(
      join(dir, BOARD_FILE),
      "this is not a database, just text ".repeat(50),
    );
    assert.throws(() => Board.open(dir), /Cannot open message board/);
  });
});

/** insertPosts writes `count` posts ("post 1" …) straight into the SQLite file, in one transaction. */
function insertPosts(dir: string, count: number): void {
  const db = new DatabaseSync(join(dir, BOARD_FILE));
  try {
    db.exec("BEGIN");
    const insert = db.prepare("INSERT INTO messages (body, posted_at) VALUES (?, ?)");
    for (let i = 1; i <= count; i++) insert.run(`post ${i}`, i * 1000);
    db.exec("COMMIT");
  } finally {
    db.close();
  }
}

/** nextLink reads the rel="next" target of a Link field, if any. */
function nextLink(response: Response): string | undefined {
  const link = response.headers.get("link") ?? "";
  return /<([^>]+)>; rel="next"/.exec(link)?.[1];
}

/** A flood of posts: the board must still answer one bounded page. */
const FLOOD = 10_000;

Deno.test("a flood of 10,000 posts: /board shows one page of BOARD_PAGE_SIZE, older ones behind ?before=", async () => {
  await withTempDir(async (dir) => {
    await Board.open(dir).close();
    insertPosts(dir, FLOOD);
    const board = Board.open(dir);
    try {
      const page = await get(board);
      const text = await page.text();
      assert.equal(text.match(/<li id="m/g)?.length, BOARD_PAGE_SIZE);
      assert.ok(text.length < 32 * 1024, `the page is ${text.length} bytes`);
      assert.match(text, new RegExp(`<h2>Messages \\(${FLOOD}\\)</h2>`));
      assert.ok(
        text.indexOf(`post ${FLOOD}<`) < text.indexOf(`post ${FLOOD - 1}<`),
        "newest first",
      );
      assert.ok(!text.includes(`>post ${FLOOD - BOARD_PAGE_SIZE}<`), "no post beyond the page");
      const older = FLOOD - BOARD_PAGE_SIZE + 1;
      assert.match(
        text,
        new RegExp(`<a rel="next" href="/board\\?before=${older}">Older messages`),
      );
      assert.doesNotMatch(text, /Newest messages/);
      assert.equal(nextLink(page), `/board?before=${older}`);

      // JSON and text: the same page, in posting order.
      const json = await get(board, "application/json");
      const list = await json.json() as BoardMessage[];
      assert.deepEqual(
        list.map((m) => m.id),
        Array.from({ length: BOARD_PAGE_SIZE }, (_, i) => older + i),
      );
      assert.equal(nextLink(json), `/board?before=${older}`);
      const lines = (await (await get(board, "text/plain")).text()).split("\n");
      assert.equal(lines.length, BOARD_PAGE_SIZE + 1);
      assert.match(lines[0]!, new RegExp(` post ${older}$`));

      // Following rel="next" from the first page visits every post once, newest to oldest.
      const seen: number[] = [];
      let target: string | undefined = "/board";
      let pages = 0;
      while (target !== undefined) {
        const response = await board.handle(
          new Request(ORIGIN + target, { headers: { accept: "application/json" } }),
        );
        const chunk = await response.json() as BoardMessage[];
        assert.ok(chunk.length <= BOARD_PAGE_SIZE);
        seen.push(...chunk.map((m) => m.id).toReversed());
        if (target !== "/board") assert.match(response.headers.get("link") ?? "", /rel="first"/);
        target = nextLink(response);
        pages++;
      }
      assert.equal(pages, FLOOD / BOARD_PAGE_SIZE);
      assert.deepEqual(seen, Array.from({ length: FLOOD }, (_, i) => FLOOD - i));

      // An older page in HTML links back to the newest.
      const second = await (await board.handle(new Request(ORIGIN + `/board?before=${older}`)))
        .text();
      assert.match(second, /<a rel="first" href="\/board">← Newest messages<\/a>/);
      assert.equal(second.match(/<li id="m/g)?.length, BOARD_PAGE_SIZE);
      const last = await (await board.handle(new Request(ORIGIN + "/board?before=1"))).text();
      assert.match(last, /No older messages/);
    } finally {
      await board.close();
    }
  });
});

Deno.test("a page reads only its rows: the store is asked for one page, and SQLite walks the primary key", async () => {
  await withTempDir(async (dir) => {
    const store = SqliteBoardStore.open(dir);
    const asked: [number, number | undefined][] = [];
    const counting: BoardStore = {
      add: (body, at) => store.add(body, at),
      newest: (limit, before) => {
        asked.push([limit, before]);
        return store.newest(limit, before);
      },
      clear: () => store.clear(),
      count: () => store.count(),
      ping: () => store.ping(),
      close: () => store.close(),
    };
    const board = new Board(counting);
    try {
      await board.handle(new Request(ORIGIN + "/board"));
      await board.handle(new Request(ORIGIN + "/board?before=77"));
      assert.deepEqual(asked, [[BOARD_PAGE_SIZE + 1, undefined], [BOARD_PAGE_SIZE + 1, 77]]);
    } finally {
      await board.close();
    }
    // The plans: a walk of the rowid b-tree, no sort of the whole table.
    const db = new DatabaseSync(join(dir, BOARD_FILE));
    try {
      for (
        const sql of [
          "SELECT id, body, posted_at FROM messages ORDER BY id DESC LIMIT 51",
          "SELECT id, body, posted_at FROM messages WHERE id < 77 ORDER BY id DESC LIMIT 51",
        ]
      ) {
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[])
          .map((row) => row.detail).join("; ");
        assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
        if (sql.includes("WHERE")) assert.match(plan, /SEARCH messages USING INTEGER PRIMARY KEY/);
      }
    } finally {
      db.close();
    }
  });
});

Deno.test("a bad ?before= cursor is refused with 400", async (t) => {
  await withBoard(async (board) => {
    for (const before of ["", "0", "-1", "abc", "1.5", "01", "1e3", "99999999999999999", " 5"]) {
      await t.step(JSON.stringify(before), async () => {
        const sent = board.handle(
          new Request(ORIGIN + `/board?before=${encodeURIComponent(before)}`),
        );
        assert.equal(await status(sent), 400);
      });
    }
  });
});

/** downStore is a store whose database is unreachable: every call rejects, as a store does. */
function downStore(): BoardStore & { closed: boolean } {
  const fail = () => Promise.reject(new StoreUnavailable("database is down"));
  return {
    closed: false,
    add: fail,
    newest: fail,
    clear: fail,
    count: fail,
    ping: fail,
    close() {
      this.closed = true;
      return Promise.resolve();
    },
  };
}

Deno.test("an unavailable store gives 503 with Retry-After, on every route, and no detail", async (t) => {
  const store = downStore();
  const board = new Board(store);
  const cases: [name: string, send: () => Promise<Response>][] = [
    ["GET /board", () => get(board)],
    ["GET /board as JSON", () => get(board, "application/json")],
    ["POST /board", () => post(board, { message: "lost?" })],
    ["GET /board/clear", () => board.handle(new Request(ORIGIN + "/board/clear"))],
    ["POST /board/clear", () => postClear(board, { confirm: "yes" })],
  ];
  for (const [name, send] of cases) {
    await t.step(name, async () => {
      const err = await send().then(() => undefined, (e) => e);
      assert.ok(err instanceof HttpError, "refused");
      assert.equal(err.status, 503);
      assert.equal(new Headers(err.headers).get("retry-after"), String(RETRY_AFTER_SECONDS));
      assert.equal(err.message, "Message board unavailable, try again shortly");
      assert.ok(err.cause instanceof StoreUnavailable, "the cause is kept for the log");
      // The page the client sees: the fixed message, not the cause.
      const page = await errorResponse(err).text();
      assert.ok(page.includes("Message board unavailable"));
      assert.ok(!page.includes("database is down"));
    });
  }
  // Bad input is still judged before the store is asked.
  assert.equal(await status(post(board, { message: "" })), 400);
  await board.close();
  assert.ok(store.closed);
});
