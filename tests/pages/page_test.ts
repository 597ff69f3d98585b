/**
 * page_test.ts — lib/pages/page.ts: the shell and the response every
 * dynamic page shares: escaped titles, a policy that loads nothing, the
 * headers of a negotiated, never-cached page, and no body for HEAD.
 */

import assert from "node:assert/strict";
import { html } from "../../lib/html.ts";
import {
  htmlBody,
  jsonBody,
  PAGE_HEADERS,
  pageResponse,
  renderPage,
  textBody,
} from "../../lib/pages/page.ts";

Deno.test("renderPage is one self-contained document with the title escaped twice over", () => {
  const page = renderPage("<b>Board</b> & co", html`<p>${"<i>kept as text</i>"}</p>`);
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
  const page = htmlBody("Uploads", html`<p>none</p>`);
  assert.equal(page.type, "text/html; charset=utf-8");
  assert.equal(page.body, renderPage("Uploads", html`<p>none</p>`));
});

Deno.test("pageResponse: byte length, never cached, Vary: Accept, the page headers", async () => {
  const response = pageResponse(new Request("http://x/board"), textBody("café ✓"));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(response.headers.get("content-length"), "9", "UTF-8 bytes, not characters");
  assert.equal(response.headers.get("cache-control"), "no-store");
  assert.equal(response.headers.get("vary"), "Accept");
  for (const [name, value] of Object.entries(PAGE_HEADERS)) {
    assert.equal(response.headers.get(name), value, name);
  }
  assert.equal(await response.text(), "café ✓");
});

Deno.test("pageResponse to HEAD keeps the length of the body it leaves out (RFC 9110 §9.3.2)", async () => {
  const response = pageResponse(new Request("http://x/board", { method: "HEAD" }), jsonBody([]));
  assert.equal(response.body, null);
  assert.equal(response.headers.get("content-length"), "3");
  assert.equal(await response.text(), "");
});

Deno.test("pageResponse takes the status, and init headers override its own", () => {
  const response = pageResponse(new Request("http://x/board", { method: "POST" }), textBody("x"), {
    status: 409,
    headers: { "cache-control": "private", "retry-after": "5" },
  });
  assert.equal(response.status, 409);
  assert.equal(response.headers.get("cache-control"), "private");
  assert.equal(response.headers.get("retry-after"), "5");
  assert.equal(response.headers.get("vary"), "Accept");
});
