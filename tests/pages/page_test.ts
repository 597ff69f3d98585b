/**
 * page_test.ts — the one way pages answer (`pageResponse`), the shell of the
 * dynamic pages on the shared stylesheet, and HEAD: every page answers HEAD
 * as GET, and the writer sends the head alone, with GET's Content-Length.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../lib/app.ts";
import { BASE_STYLE } from "../../lib/html.ts";
import { writeResponse } from "../../lib/http/response_writer.ts";
import { Metrics, startMetricsServer } from "../../lib/metrics.ts";
import { Board } from "../../lib/pages/board.ts";
import { createHealth } from "../../lib/pages/health.ts";
import { LIVE_PATH, LIVE_SCRIPT_PATH, LiveReload } from "../../lib/pages/live.ts";
import {
  htmlBody,
  jsonBody,
  onlyReads,
  otherMethod,
  PAGE_HEADERS,
  pageResponse,
  READ_ALLOW,
  textBody,
} from "../../lib/pages/page.ts";
import { createUploads } from "../../lib/pages/upload.ts";
import { html } from "../../lib/html.ts";
import { HttpError } from "../../lib/http/http_error.ts";
import { ByteSink, decode } from "../_support/bytes.ts";
import {
  type ParsedResponse,
  parseResponses,
  rawRequest,
  withTempDir,
} from "../_support/server.ts";

const INFO = { remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 } };

Deno.test("pageResponse: the body's type and length, no-store, nosniff, then the page's own fields", async (t) => {
  await t.step("defaults", async () => {
    const res = pageResponse(textBody("héllo\n"));
    assert.equal(res.status, 200);
    assert.deepEqual(Object.fromEntries(res.headers), {
      "cache-control": "no-store",
      "content-length": "7", // UTF-8 bytes, not UTF-16 units
      "content-type": "text/plain; charset=utf-8",
      "x-content-type-options": "nosniff",
    });
    assert.equal(await res.text(), "héllo\n");
  });
  await t.step("status and fields of its own, replacing a default", async () => {
    const res = pageResponse(jsonBody({ a: 1 }), {
      status: 503,
      headers: { "cache-control": "no-cache", "retry-after": "5" },
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.equal(res.headers.get("retry-after"), "5");
    assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
    assert.equal(await res.text(), '{"a":1}\n');
  });
  await t.step("a field name Headers refuses throws a TypeError", () => {
    assert.throws(() => pageResponse(textBody("x"), { headers: { "bad name": "x" } }), TypeError);
  });
  await t.step("jsonBody throws what JSON.stringify throws", () => {
    assert.throws(() => jsonBody({ big: 1n }), TypeError);
  });
});

Deno.test("htmlBody: one stylesheet in the head, the shared BASE_STYLE first, then the page's own", () => {
  const page = htmlBody("A <title>", html`<p>${"<b>"}</p>`, ".mine{color:var(--danger)}").body;
  assert.equal(page.match(/<style>/g)?.length, 1);
  const style = page.slice(page.indexOf("<style>") + 7, page.indexOf("</style>"));
  assert.ok(style.startsWith(BASE_STYLE), "BASE_STYLE first");
  assert.ok(style.endsWith(".mine{color:var(--danger)}"), "the page's own rules last");
  assert.ok(page.indexOf("</style>") < page.indexOf("</head>"), "the style is in the head");
  assert.match(page, /<title>A &lt;title&gt; · minserve<\/title>/);
  assert.match(page, /<p>&lt;b&gt;<\/p>/);
  // The page's own CSS uses the shared palette: no colour of its own.
  assert.doesNotMatch(style.slice(BASE_STYLE.length), /#[0-9a-f]{3,6}\b/i);
});

/** writeBoth writes `get` and `head` through the engine's writer, as answers to GET and HEAD. */
async function writeBoth(get: Response, head: Response): Promise<[ParsedResponse, ParsedResponse]> {
  const sink = new ByteSink();
  const options = { minor: 1 as const, keepAlive: true, server: "" };
  await writeResponse(sink, get, { ...options, head: false });
  await writeResponse(sink, head, { ...options, head: true });
  const [getRes, headRes, ...more] = parseResponses(sink.bytes(), {
    headMethods: ["GET", "HEAD"],
  });
  assert.ok(getRes && headRes && more.length === 0);
  return [getRes, headRes];
}

/** fieldsOf is a response's fields but Date, which may tick between the two. */
function fieldsOf(res: ParsedResponse): (readonly [string, string])[] {
  return res.headers.filter(([name]) => name !== "date");
}

Deno.test("HEAD of every page: GET's head, GET's Content-Length, and no body on the wire", async (t) => {
  await withTempDir(async (dir) => {
    const [root, data, uploadDir] = ["root", "data", "uploads"].map((d) => join(dir, d)) as [
      string,
      string,
      string,
    ];
    for (const d of [root, data, uploadDir]) await Deno.mkdir(d);
    await Deno.writeTextFile(join(uploadDir, "a.txt"), "hello");
    const board = Board.open(data);
    await board.store.add("a post", 0);
    const live = new LiveReload(root, { subscribe: () => () => {} });
    const app = createApp({
      root,
      realRoot: root,
      listing: true,
      dotfiles: false,
      board: (request) => board.handle(request),
      uploads: createUploads({ dir: uploadDir, realDir: uploadDir, maxBytes: 1024 }),
      health: createHealth({ root, board: board.store }),
      live,
    });
    try {
      const PAGES: [path: string, accept: string][] = [
        ["/time", "text/html"],
        ["/time", "application/json"],
        ["/time", "text/plain"],
        ["/board", "text/html"],
        ["/board", "application/json"],
        ["/board/clear", "text/html"],
        ["/uploads/", "text/html"],
        ["/uploads/", "text/plain"],
        ["/healthz", "*/*"],
        ["/readyz", "*/*"],
        [LIVE_SCRIPT_PATH, "*/*"],
      ];
      for (const [path, accept] of PAGES) {
        await t.step(`${path} (${accept})`, async () => {
          const ask = (method: string) =>
            app(new Request(`http://x${path}`, { method, headers: { accept } }), INFO);
          const [got, head] = await writeBoth(await ask("GET"), await ask("HEAD"));
          assert.equal(got.status, 200);
          assert.ok(got.body.length > 0);
          assert.equal(got.header("content-length"), String(got.body.length));
          assert.equal(head.status, 200);
          assert.equal(head.body.length, 0, "no body for HEAD");
          assert.deepEqual(fieldsOf(head), fieldsOf(got), "GET's head, Content-Length included");
        });
      }
      await t.step(`${LIVE_PATH}: HEAD opens no stream and sends no body`, async () => {
        const res = await app(new Request(`http://x${LIVE_PATH}`, { method: "HEAD" }), INFO);
        assert.equal(res.body, null);
        assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
        assert.equal(live.clients, 0);
      });
    } finally {
      live.close();
      await board.close();
    }
  });
});

Deno.test("HEAD /metrics: the scrape's head and Content-Length, no body", async () => {
  const metrics = new Metrics();
  const server = startMetricsServer(metrics, { hostname: "127.0.0.1", port: 0 });
  try {
    const ask = (method: string) =>
      rawRequest(
        server.addr.port,
        `${method} /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
    // Nothing counts the metrics listener's own requests: both see the same text.
    const [got] = parseResponses(await ask("GET"), { headMethods: ["GET"] });
    const [head] = parseResponses(await ask("HEAD"), { headMethods: ["HEAD"] });
    assert.ok(got && head);
    assert.equal(decode(got.body), metrics.text());
    assert.equal(got.header("content-length"), String(got.body.length));
    assert.equal(head.body.length, 0);
    assert.deepEqual(fieldsOf(head), fieldsOf(got));
  } finally {
    await server.shutdown();
  }
});

Deno.test("PAGE_HEADERS: the dynamic pages are negotiated and refuse framing and foreign script", () => {
  assert.equal(PAGE_HEADERS["vary"], "Accept");
  assert.equal(PAGE_HEADERS["x-frame-options"], "DENY");
  assert.match(PAGE_HEADERS["content-security-policy"]!, /^default-src 'none';/);
});

Deno.test("otherMethod: OPTIONS is 204 with Allow; any other method a 405 with the same Allow", async (t) => {
  const ALLOW = "GET, HEAD, POST, OPTIONS";
  await t.step("OPTIONS", () => {
    const res = otherMethod(new Request("http://x/board", { method: "OPTIONS" }), ALLOW);
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("allow"), ALLOW);
    assert.equal(res.body, null);
  });
  for (const method of ["DELETE", "PATCH", "PUT", "GET"]) {
    await t.step(method, () => {
      assert.throws(
        () => otherMethod(new Request("http://x/board", { method }), ALLOW),
        (err) =>
          err instanceof HttpError && err.status === 405 &&
          new Headers(err.headers).get("allow") === ALLOW,
      );
    });
  }
});

Deno.test("htmlBody is one self-contained document with the title escaped twice over", () => {
  const { body: page } = htmlBody("<b>Board</b> & co", html`<p>${"<i>kept as text</i>"}</p>`);
  assert.match(page, /^<!doctype html>/);
  assert.ok(page.includes("<title>&lt;b&gt;Board&lt;/b&gt; &amp; co · minserve</title>"));
  assert.ok(page.includes("<h1>&lt;b&gt;Board&lt;/b&gt; &amp; co</h1>"));
  assert.ok(page.includes("<p>&lt;i&gt;kept as text&lt;/i&gt;</p>"));
  assert.ok(!page.includes("<b>") && !page.includes("<i>"));
  assert.ok(page.includes('<a class="brand" href="/">minserve</a>'));
  // Self-contained: the style is inline and nothing is loaded from elsewhere.
  assert.match(page, /<style>[^<]*--accent[^<]*<\/style>/);
  assert.doesNotMatch(page, /<link rel="stylesheet"|<script|src=/);
});

Deno.test("PAGE_HEADERS: a policy that allows nothing but inline style and same-origin posts", () => {
  const policy = PAGE_HEADERS["content-security-policy"] ?? "";
  const directives = new Map(
    policy.split(";").map((d) => d.trim().split(/\s+/)).map(([name = "", ...v]) => [name, v]),
  );
  assert.deepEqual(directives.get("default-src"), ["'none'"]);
  assert.deepEqual(directives.get("style-src"), ["'unsafe-inline'"]);
  assert.deepEqual(directives.get("form-action"), ["'self'"]);
  assert.deepEqual(directives.get("frame-ancestors"), ["'none'"]);
  assert.equal(directives.has("script-src"), false, "no script on the shared pages");
  assert.equal(PAGE_HEADERS["x-frame-options"], "DENY");
  assert.equal(PAGE_HEADERS["x-content-type-options"], "nosniff");
  assert.equal(PAGE_HEADERS["referrer-policy"], "same-origin");
});

Deno.test("the body helpers pair each text with its Content-Type", () => {
  assert.deepEqual(jsonBody({ a: [1, "é"] }), {
    body: '{"a":[1,"é"]}\n',
    type: "application/json; charset=utf-8",
  });
  assert.deepEqual(textBody("plain\n"), { body: "plain\n", type: "text/plain; charset=utf-8" });
  assert.equal(htmlBody("Uploads", html`<p>none</p>`).type, "text/html; charset=utf-8");
});

Deno.test("pageResponse: UTF-8 byte length; the status and init headers override its own", async () => {
  const response = pageResponse(textBody("café ✓"), {
    status: 409,
    headers: { "cache-control": "private", "retry-after": "5" },
  });
  assert.equal(response.status, 409);
  assert.equal(response.headers.get("content-length"), "9", "UTF-8 bytes, not characters");
  assert.equal(response.headers.get("cache-control"), "private");
  assert.equal(response.headers.get("retry-after"), "5");
  assert.equal(await response.text(), "café ✓");
});

Deno.test("onlyReads: GET and HEAD pass; any other method is a 405 with Allow: GET, HEAD", () => {
  for (const method of ["GET", "HEAD"]) onlyReads(new Request("http://x/", { method }));
  for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]) {
    assert.throws(
      () => onlyReads(new Request("http://x/", { method })),
      (err) =>
        err instanceof HttpError && err.status === 405 &&
        new Headers(err.headers).get("allow") === READ_ALLOW,
      method,
    );
  }
  assert.equal(READ_ALLOW, "GET, HEAD");
});
