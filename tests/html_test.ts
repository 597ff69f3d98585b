/**
 * html_test.ts — the `html` tag escapes by default (style rule 9), and the
 * error page shows its status and escapes its message.
 */

import assert from "node:assert/strict";
import { errorPage, escapeHtml, html, SafeHtml, unsafeRaw } from "../lib/html.ts";

Deno.test("escapeHtml replaces the five special characters", () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&amp;</a>`),
    "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;",
  );
  assert.equal(escapeHtml("plain text ü"), "plain text ü");
  assert.equal(escapeHtml(""), "");
});

Deno.test("html escapes every interpolation", async (t) => {
  const CASES: Array<[name: string, got: SafeHtml, want: string]> = [
    [
      "text",
      html`<p>${"<script>alert(1)</script>"}</p>`,
      "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
    ],
    ["ampersand", html`<p>${"a & b &amp; c"}</p>`, "<p>a &amp; b &amp;amp; c</p>"],
    [
      "double-quoted attribute",
      html`<a title="${'x" onmouseover="evil()'}">`,
      '<a title="x&quot; onmouseover=&quot;evil()">',
    ],
    [
      "single-quoted attribute",
      html`<a title='${"x' onclick='evil()"}'>`,
      "<a title='x&#39; onclick=&#39;evil()'>",
    ],
    ["numbers", html`<td>${42} ${0} ${-1.5}</td>`, "<td>42 0 -1.5</td>"],
    ["true", html`${true}`, "true"],
    ["null, undefined and false render nothing", html`[${null}][${undefined}][${false}]`, "[][][]"],
    ["an object's string form is escaped", html`${{ toString: () => "<b>" }}`, "&lt;b&gt;"],
    [
      "array joined without commas",
      html`<ul>${["<a>", "b", "&"]}</ul>`,
      "<ul>&lt;a&gt;b&amp;</ul>",
    ],
    [
      "array of html",
      html`<ul>${["x<", "y"].map((s) => html`<li>${s}</li>`)}</ul>`,
      "<ul><li>x&lt;</li><li>y</li></ul>",
    ],
    ["nested arrays", html`${[["<", ["&"]], html`<br>`]}`, "&lt;&amp;<br>"],
    ["nested html not escaped twice", html`<p>${html`<i>${"&"}</i>`}</p>`, "<p><i>&amp;</i></p>"],
    ["nested three deep", html`${html`${html`<b>${"<"}</b>`}`}`, "<b>&lt;</b>"],
    [
      "unsafeRaw passes through",
      html`<main>${unsafeRaw("<em>raw & ok</em>")}</main>`,
      "<main><em>raw & ok</em></main>",
    ],
    ["no interpolation", html`<hr>`, "<hr>"],
    ["literal text is not escaped", html`<a href="/">&copy;</a>`, '<a href="/">&copy;</a>'],
  ];
  for (const [name, got, want] of CASES) {
    await t.step(name, () => {
      assert.ok(got instanceof SafeHtml);
      assert.equal(got.toString(), want);
      assert.equal(`${got}`, want);
    });
  }
});

Deno.test("html: a string that looks like markup is still text", () => {
  // Only SafeHtml is trusted; an escaped result turned back into a string is text again.
  const once = html`${"<b>"}`.toString();
  assert.equal(html`${once}`.toString(), "&amp;lt;b&amp;gt;");
});

Deno.test("errorPage shows the status and escapes its message", async (t) => {
  await t.step("404 with the default message", () => {
    const page = errorPage(404);
    assert.match(page, /^\s*<!doctype html>/i);
    assert.ok(page.includes("<title>404 Not Found</title>"));
    assert.ok(page.includes("<h1>404 Not Found</h1>"));
    assert.ok(!page.includes("<p>Not Found</p>"), "the reason is not repeated");
  });
  await t.step("other statuses", () => {
    for (
      const [status, reason] of [
        [400, "Bad Request"],
        [405, "Method Not Allowed"],
        [416, "Range Not Satisfiable"],
        [500, "Internal Server Error"],
        [501, "Not Implemented"],
      ] as const
    ) {
      assert.ok(errorPage(status).includes(`<h1>${status} ${reason}</h1>`), String(status));
    }
  });
  await t.step("a message is shown, escaped", () => {
    const page = errorPage(400, `Bad <input> & "quotes" 'too'`);
    assert.ok(
      page.includes("<p>Bad &lt;input&gt; &amp; &quot;quotes&quot; &#39;too&#39;</p>"),
      page,
    );
    assert.ok(!page.includes("<input>"));
  });
  await t.step("one <main> landmark with a link home, and nothing from the server's disk", () => {
    for (const status of [400, 403, 404, 413, 500]) {
      const page = errorPage(status);
      assert.equal(page.match(/<main>/g)?.length, 1, String(status));
      assert.match(page, /<main>[^]*<h1>[^]*<a href="\/">Go to the home page<\/a>[^]*<\/main>/);
      assert.ok(!page.includes(Deno.cwd()), "a server path in the page");
      // The shared stylesheet (BASE_STYLE) included: under 2 KiB, like the 401 page (auth_test).
      assert.ok(new TextEncoder().encode(page).length < 2048, "the page stays small");
    }
  });
  await t.step("a script message does not run", () => {
    const page = errorPage(400, "<script>alert(1)</script>");
    assert.ok(!page.includes("<script>"));
  });
});
