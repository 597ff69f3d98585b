/**
 * html_test.ts — the `html` tag escapes by default (style rule 9), and the
 * document shell puts the shared stylesheet first.
 */

import assert from "node:assert/strict";
import {
  BASE_STYLE,
  escapeHtml,
  html,
  htmlDocument,
  minuteOf,
  SafeHtml,
  unsafeRaw,
} from "../lib/html.ts";

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

Deno.test("htmlDocument: a self-contained page, BASE_STYLE then the page's own rules", () => {
  const page = htmlDocument("A <title>", "p{margin:0}", html`<p>${"&"}</p>`);
  assert.match(page, /^<!doctype html>\n<html lang="en">/);
  assert.match(page, /<meta charset="utf-8">/);
  assert.match(page, /<title>A &lt;title&gt;<\/title>/);
  assert.ok(page.includes(`<style>${BASE_STYLE}p{margin:0}</style>`));
  assert.match(page, /<link rel="icon" href="data:,">/);
  assert.match(page, /<body>\n<p>&amp;<\/p>\n<\/body>/);
  // Nothing external: no stylesheet, script or image is fetched.
  assert.doesNotMatch(page, /<link rel="stylesheet"|<script|src=/);
});

Deno.test("minuteOf: an ISO UTC time to the minute, as the board and the uploads show it", () => {
  assert.equal(minuteOf("2026-11-30T00:05:09.123Z"), "2026-11-30 00:05");
  assert.equal(
    minuteOf(new Date(Date.UTC(1999, 11, 31, 23, 59, 59)).toISOString()),
    "1999-12-31 23:59",
  );
});
