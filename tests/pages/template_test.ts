/**
 * template_test.ts — query-string templates: the pure renderer against a
 * table of ordinary, hostile and malformed inputs, the limits, the name
 * test, the handler (no sockets), and the shipped example page.
 */

import assert from "node:assert/strict";
import { errorResponse } from "../../lib/error_page.ts";
import { HttpError } from "../../lib/http/http_error.ts";
import { writeResponse } from "../../lib/http/response_writer.ts";
import {
  isTemplateName,
  MAX_TEMPLATE_PARAMS,
  MAX_TEMPLATE_SOURCE_BYTES,
  MAX_TEMPLATE_VALUE_BYTES,
  renderTemplate,
  serveTemplate,
  serveTemplateFile,
  templateValues,
} from "../../lib/pages/template.ts";
import { ByteSink } from "../_support/bytes.ts";
import { parseResponses } from "../_support/server.ts";

const CAN_READ = Deno.permissions.querySync({ name: "read" }).state === "granted";

interface RenderCase {
  name: string;
  source: string;
  /** The query string, without "?". */
  query: string;
  want: string;
}

const CASES: RenderCase[] = [
  // Ordinary use.
  { name: "no placeholders", source: "<p>plain</p>", query: "a=1", want: "<p>plain</p>" },
  { name: "empty template", source: "", query: "a=1", want: "" },
  { name: "one value", source: "Hi {{name}}!", query: "name=Ada", want: "Hi Ada!" },
  { name: "missing value is empty", source: "Hi {{name}}!", query: "", want: "Hi !" },
  { name: "default when missing", source: "Hi {{name|you}}!", query: "", want: "Hi you!" },
  { name: "value beats default", source: "Hi {{name|you}}!", query: "name=Ada", want: "Hi Ada!" },
  { name: "empty value takes default", source: "{{name|you}}", query: "name=", want: "you" },
  { name: "empty value without default", source: "[{{name}}]", query: "name=", want: "[]" },
  { name: "empty default", source: "[{{name|}}]", query: "", want: "[]" },
  { name: "first of repeated values", source: "{{a}}", query: "a=1&a=2", want: "1" },
  { name: "same name twice", source: "{{a}}+{{a}}", query: "a=x", want: "x+x" },
  { name: "adjacent placeholders", source: "{{a}}{{b}}", query: "a=1&b=2", want: "12" },
  { name: "names are case-sensitive", source: "{{Name}}", query: "name=x", want: "" },
  {
    name: "name alphabet",
    source: "{{a_B-9}}",
    query: "a_B-9=ok",
    want: "ok",
  },
  { name: "plus is a space", source: "{{q}}", query: "q=a+b", want: "a b" },
  { name: "percent-decoded", source: "{{q}}", query: "q=%41%20b", want: "A b" },
  { name: "encoded name", source: "{{my-q}}", query: "my%2Dq=1", want: "1" },
  {
    name: "unicode value",
    source: "{{n}}",
    query: "n=%C3%BCn%C3%AF%20%F0%9F%98%80",
    want: "ünï 😀",
  },
  { name: "unicode default", source: "{{n|Grüße}}", query: "", want: "Grüße" },
  { name: "invalid UTF-8 becomes U+FFFD", source: "{{n}}", query: "n=%FF", want: "\uFFFD" },
  {
    name: "multi-line template",
    source: "<h1>{{t}}</h1>\n<p>{{b|none}}</p>\n",
    query: "t=T",
    want: "<h1>T</h1>\n<p>none</p>\n",
  },
  // Whitespace inside the braces.
  { name: "spaces around name", source: "{{ name }}", query: "name=x", want: "x" },
  { name: "tabs around name", source: "{{\tname\t}}", query: "name=x", want: "x" },
  { name: "spaces around bar", source: "{{ name | dflt }}", query: "", want: "dflt" },
  {
    name: "default is trimmed",
    source: "[{{name|   two words   }}]",
    query: "",
    want: "[two words]",
  },
  { name: "spaces only default", source: "[{{name|   }}]", query: "", want: "[]" },
  { name: "value is not trimmed", source: "[{{name}}]", query: "name=+x+", want: "[ x ]" },
  { name: "space before bar only", source: "{{name |d}}", query: "", want: "d" },
  // Hostile values: always escaped, never re-expanded.
  {
    name: "script tag",
    source: "<p>{{x}}</p>",
    query: "x=" + encodeURIComponent("<script>alert(1)</script>"),
    want: "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
  },
  {
    name: "attribute breakout",
    source: '<input value="{{x}}">',
    query: "x=" + encodeURIComponent('"><img src=x onerror=alert(1)>'),
    want: '<input value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">',
  },
  {
    name: "single-quoted attribute breakout",
    source: "<input value='{{x}}'>",
    query: "x=" + encodeURIComponent("' autofocus onfocus='alert(1)"),
    want: "<input value='&#39; autofocus onfocus=&#39;alert(1)'>",
  },
  {
    name: "entity is escaped, not decoded",
    source: "{{x}}",
    query: "x=" + encodeURIComponent("&lt;b&gt; &amp;"),
    want: "&amp;lt;b&amp;gt; &amp;amp;",
  },
  {
    name: "placeholder in a value is not expanded",
    source: "{{a}}|{{b}}",
    query: "a=" + encodeURIComponent("{{b}}") + "&b=secret",
    want: "{{b}}|secret",
  },
  {
    name: "placeholder with default in a value",
    source: "{{a}}",
    query: "a=" + encodeURIComponent("{{a|x}}{{{a}}}"),
    want: "{{a|x}}{{{a}}}",
  },
  {
    name: "template syntax of other engines is text",
    source: "{{a}}",
    query: "a=" + encodeURIComponent("${1+1} <%= 7*7 %> {{7*7}}"),
    want: "${1+1} &lt;%= 7*7 %&gt; {{7*7}}",
  },
  { name: "NUL and controls pass as text", source: "{{a}}", query: "a=%00%0A%0D", want: "\0\n\r" },
  {
    name: "default is escaped",
    source: '<a title="{{t|say "hi" & <go>}}">',
    query: "",
    want: '<a title="say &quot;hi&quot; &amp; &lt;go&gt;">',
  },
  {
    name: "default markup is text",
    source: "{{t|<b>bold</b>}}",
    query: "",
    want: "&lt;b&gt;bold&lt;/b&gt;",
  },
  { name: "default may contain a bar", source: "{{t|a|b}}", query: "", want: "a|b" },
  // Malformed placeholders stay literal.
  { name: "triple braces", source: "{{{name}}}", query: "name=x", want: "{{{name}}}" },
  { name: "triple open", source: "{{{name}}", query: "name=x", want: "{{{name}}" },
  { name: "triple close", source: "{{name}}}", query: "name=x", want: "{{name}}}" },
  { name: "quadruple braces", source: "{{{{name}}}}", query: "name=x", want: "{{{{name}}}}" },
  { name: "empty braces", source: "{{}}", query: "", want: "{{}}" },
  { name: "only spaces", source: "{{  }}", query: "", want: "{{  }}" },
  { name: "space in name", source: "{{ first name }}", query: "first=x", want: "{{ first name }}" },
  { name: "dot in name", source: "{{a.b}}", query: "a.b=x", want: "{{a.b}}" },
  { name: "unicode name", source: "{{ñ}}", query: "%C3%B1=x", want: "{{ñ}}" },
  { name: "unclosed", source: "Hi {{name", query: "name=x", want: "Hi {{name" },
  { name: "single close", source: "{{name}", query: "name=x", want: "{{name}" },
  { name: "single braces", source: "{name}", query: "name=x", want: "{name}" },
  { name: "newline inside", source: "{{\nname}}", query: "name=x", want: "{{\nname}}" },
  { name: "newline in default", source: "{{a|x\ny}}", query: "", want: "{{a|x\ny}}" },
  { name: "brace in default", source: "{{a|x}y}}", query: "", want: "{{a|x}y}}" },
  { name: "open brace in default", source: "{{a|x{y}}", query: "", want: "{{a|x{y}}" },
  { name: "bar without name", source: "{{|x}}", query: "", want: "{{|x}}" },
  { name: "mustache section", source: "{{#a}}{{/a}}", query: "a=1", want: "{{#a}}{{/a}}" },
  { name: "expression", source: "{{ 7*7 }}", query: "", want: "{{ 7*7 }}" },
  {
    name: "malformed next to good",
    source: "{{{a}}} {{a}} {{a}}}",
    query: "a=x",
    want: "{{{a}}} x {{a}}}",
  },
  { name: "entity-escaped braces", source: "&#123;{a}}", query: "a=x", want: "&#123;{a}}" },
];

Deno.test("renderTemplate fills, escapes and leaves malformed text alone", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, () => {
      assert.equal(renderTemplate(c.source, new URLSearchParams(c.query)), c.want);
    });
  }
});

Deno.test("renderTemplate output never contains a hostile value's markup", async (t) => {
  const HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</textarea><script>x</script>",
    "<!--",
    "]]><x>",
  ];
  const source =
    "<p>{{v}}</p><input value=\"{{v}}\"><input value='{{v}}'><textarea>{{v}}</textarea>";
  for (const value of HOSTILE) {
    await t.step(value, () => {
      const out = renderTemplate(source, new URLSearchParams({ v: value }));
      const filled = out.replace(/<\/?(p|input|textarea)\b[^<>]*>/g, "");
      assert.ok(!/[<>"']/.test(filled), `unescaped markup in ${out}`);
    });
  }
});

Deno.test("renderTemplate cuts a long value to 8 KiB of UTF-8 on a character boundary", async (t) => {
  const CASES: { name: string; value: string; want: string }[] = [
    { name: "just fits", value: "a".repeat(8192), want: "a".repeat(8192) },
    { name: "one byte over", value: "a".repeat(8193), want: "a".repeat(8192) },
    { name: "very long", value: "b".repeat(1_000_000), want: "b".repeat(8192) },
    // "é" is 2 bytes: 4096 fill 8192 exactly.
    { name: "two-byte chars", value: "é".repeat(4097), want: "é".repeat(4096) },
    // "€" is 3 bytes: 2730 fit in 8190, a 2731st would need 8193.
    { name: "three-byte chars", value: "€".repeat(3000), want: "€".repeat(2730) },
    // "😀" is 4 bytes and 2 code units: 2048 fit exactly; never half a pair.
    { name: "surrogate pairs", value: "😀".repeat(3000), want: "😀".repeat(2048) },
    { name: "pair across the edge", value: "a".repeat(8190) + "😀", want: "a".repeat(8190) },
    { name: "short unicode untouched", value: "ünï".repeat(100), want: "ünï".repeat(100) },
  ];
  for (const c of CASES) {
    await t.step(c.name, () => {
      const out = renderTemplate("{{v}}", new URLSearchParams({ v: c.value }));
      assert.equal(out.length, c.want.length);
      assert.equal(out, c.want);
      assert.ok(new TextEncoder().encode(out).length <= MAX_TEMPLATE_VALUE_BYTES);
    });
  }
});

Deno.test("renderTemplate cuts before escaping, so escaping may lengthen the output", () => {
  const out = renderTemplate("{{v}}", new URLSearchParams({ v: "<".repeat(10_000) }));
  assert.equal(out, "&lt;".repeat(MAX_TEMPLATE_VALUE_BYTES));
});

Deno.test("renderTemplate uses only the first 64 distinct parameters", () => {
  const params = new URLSearchParams();
  for (let i = 0; i < 100; i++) params.append(`p${i}`, `v${i}`);
  const source = Array.from({ length: 100 }, (_, i) => `{{p${i}|-}}`).join(",");
  const out = renderTemplate(source, params).split(",");
  assert.equal(out.length, 100);
  for (let i = 0; i < 100; i++) {
    assert.equal(out[i], i < MAX_TEMPLATE_PARAMS ? `v${i}` : "-", `p${i}`);
  }
});

Deno.test("renderTemplate counts a repeated name once toward the limit", () => {
  const params = new URLSearchParams();
  for (let i = 0; i < 500; i++) params.append("same", `v${i}`);
  for (let i = 0; i < 62; i++) params.append(`p${i}`, "x");
  params.append("last", "in"); // "same" + 62 + "last" = 64 distinct names
  params.append("over", "out");
  const out = renderTemplate("{{same}} {{p61}} {{last}} {{over|missing}}", params);
  assert.equal(out, "v0 x in missing");
});

Deno.test("renderTemplate is linear on large templates and many placeholders", () => {
  const source = "<li>{{x}}</li>\n".repeat(20_000) + "{{{".repeat(10_000);
  const started = performance.now();
  const out = renderTemplate(source, new URLSearchParams({ x: "<y>" }));
  const elapsed = performance.now() - started;
  assert.ok(out.startsWith("<li>&lt;y&gt;</li>\n"));
  assert.ok(out.endsWith("{{{"));
  assert.ok(elapsed < 2_000, `took ${elapsed} ms`);
});

Deno.test("templateValues is the query as a dictionary, first values, limits applied", () => {
  const values = templateValues(new URLSearchParams("a=1&b=2&a=3&c=&__proto__=p&constructor=c"));
  assert.deepEqual([...values], [["a", "1"], ["b", "2"], ["c", ""], ["__proto__", "p"], [
    "constructor",
    "c",
  ]]);
  assert.equal(templateValues(new URLSearchParams()).size, 0);
  const many = new URLSearchParams();
  for (let i = 0; i < 100; i++) many.append(`k${i}`, "v");
  assert.equal(templateValues(many).size, MAX_TEMPLATE_PARAMS);
});

Deno.test("renderTemplate ignores prototype names", () => {
  assert.equal(
    renderTemplate("[{{constructor}}][{{__proto__|d}}]", new URLSearchParams()),
    "[][d]",
  );
});

Deno.test("isTemplateName recognises .tmpl.html in any case and Windows aliases", async (t) => {
  const CASES: [string, boolean][] = [
    ["greet.tmpl.html", true],
    ["/www/sub/greet.tmpl.html", true],
    [".tmpl.html", true],
    ["GREET.TMPL.HTML", true],
    ["greet.Tmpl.Html", true],
    ["greet.tmpl.html.", true],
    ["greet.tmpl.html . .", true],
    ["a.b.tmpl.html", true],
    ["greet.html", false],
    ["greet.tmpl", false],
    ["greet.tmpl.htm", false],
    ["greet.tmpl.html.bak", false],
    ["greet.tmpl.html~", false],
    ["greet-tmpl.html", false],
    ["greettmpl.html", false],
    ["tmpl.html", false],
    ["", false],
  ];
  for (const [name, want] of CASES) {
    await t.step(JSON.stringify(name), () => assert.equal(isTemplateName(name), want));
  }
});

const SOURCE = '<!doctype html><title>{{t|T}}</title><p class="{{c}}">{{name|stranger}}</p>';

function request(query: string, method = "GET"): Request {
  return new Request(`http://localhost/greet.tmpl.html${query}`, { method });
}

Deno.test("serveTemplate renders with the request's query", async () => {
  const res = serveTemplate(request("?name=%3Cb%3E&c=x%22y"), SOURCE);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  const bytes = new Uint8Array(await res.arrayBuffer());
  assert.equal(res.headers.get("content-length"), String(bytes.length));
  assert.equal(
    new TextDecoder().decode(bytes),
    '<!doctype html><title>T</title><p class="x&quot;y">&lt;b&gt;</p>',
  );
});

Deno.test("serveTemplate counts Content-Length in bytes, not characters", async () => {
  const res = serveTemplate(request("?name=%F0%9F%98%80"), "{{name}} ü");
  assert.equal(await res.text(), "😀 ü");
  assert.equal(res.headers.get("content-length"), "7");
});

Deno.test("serveTemplate answers HEAD as GET: the same headers (the writer drops the body)", async () => {
  const getRes = serveTemplate(request("?name=Ada"), SOURCE);
  const headRes = serveTemplate(request("?name=Ada", "HEAD"), SOURCE);
  assert.equal(headRes.status, 200);
  assert.deepEqual([...headRes.headers], [...getRes.headers]);
  const length = String((await getRes.bytes()).length);
  assert.equal(headRes.headers.get("content-length"), length);
  assert.equal(String((await headRes.bytes()).length), length);
});

Deno.test("serveTemplate's HEAD reaches the wire with GET's Content-Length and no body", async () => {
  const sink = new ByteSink();
  const options = { minor: 1 as const, keepAlive: true, server: "" };
  await writeResponse(sink, serveTemplate(request("?name=%C3%BC"), SOURCE), {
    ...options,
    head: false,
  });
  await writeResponse(sink, serveTemplate(request("?name=%C3%BC", "HEAD"), SOURCE), {
    ...options,
    head: true,
  });
  const [getRes, headRes] = parseResponses(sink.bytes(), { headMethods: ["GET", "HEAD"] });
  assert.ok(getRes && headRes);
  assert.equal(getRes.header("content-length"), String(getRes.body.length));
  assert.equal(headRes.header("content-length"), getRes.header("content-length"));
  assert.equal(headRes.body.length, 0);
});

Deno.test("serveTemplate never sends the raw source", async (t) => {
  for (const query of ["", "?", "?name=", "?raw=1", "?name={{name}}"]) {
    await t.step(query || "(no query)", async () => {
      const body = await serveTemplate(request(query), SOURCE).text();
      assert.ok(!body.includes("{{name|stranger}}"), body);
      assert.ok(!body.includes("{{t|T}}"), body);
    });
  }
});

Deno.test("serveTemplate refuses other methods with 405 and Allow: GET, HEAD", async (t) => {
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
    await t.step(method, () => {
      assert.throws(() => serveTemplate(request("?name=x", method), SOURCE), (err) => {
        assert.ok(err instanceof HttpError);
        assert.equal(err.status, 405);
        const res = errorResponse(err);
        assert.equal(res.status, 405);
        assert.equal(res.headers.get("allow"), "GET, HEAD");
        return true;
      });
    });
  }
});

Deno.test({
  name: "the example www/greet.tmpl.html renders a greeting and its form, escaped",
  ignore: !CAN_READ,
  async fn() {
    const source = await Deno.readTextFile(new URL("../../www/greet.tmpl.html", import.meta.url));
    assert.ok(isTemplateName("greet.tmpl.html"));
    const plain = renderTemplate(source, new URLSearchParams());
    assert.ok(plain.includes("stranger"), "default name");
    assert.ok(!/\{\{[ \t]*[A-Za-z0-9_-]+[ \t]*(\|[^{}\r\n]*)?\}\}/.test(plain), "all filled");
    assert.match(plain, /<form[^>]*method="get"/i);
    assert.ok(plain.includes('name="name"') && plain.includes('name="color"'));
    assert.ok(plain.includes('href="style.css"'));

    const hostile = '"><script>alert(1)</script>';
    const out = renderTemplate(source, new URLSearchParams({ name: hostile, color: hostile }));
    assert.ok(!out.includes("<script"), "script escaped");
    assert.ok(out.includes('value="&quot;&gt;&lt;script'), "attribute not broken out of");
    assert.ok(out.includes("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));

    const named = renderTemplate(source, new URLSearchParams({ name: "Ada", color: "teal" }));
    assert.ok(named.includes("<h1>Hello, Ada!</h1>"));
    assert.ok(named.includes("<strong>teal</strong>"));
    assert.ok(named.includes('value="Ada"') && named.includes('value="teal"'));
    assert.ok(plain.includes("<h1>Hello, stranger!</h1>"));
    assert.ok(plain.includes("<strong>not chosen yet</strong>"));
  },
});

Deno.test({
  name: "www/index.html links to the example template",
  ignore: !CAN_READ,
  async fn() {
    const index = await Deno.readTextFile(new URL("../../www/index.html", import.meta.url));
    assert.match(index, /<a href="greet\.tmpl\.html[^"]*">/);
  },
});

Deno.test("serveTemplateFile reads the source it is given, up to its bound", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "minserve_template_" });
  try {
    const real = `${dir}/greet.tmpl.html`;
    await Deno.writeTextFile(real, SOURCE);
    const size = (await Deno.stat(real)).size;
    await t.step("renders the file", async () => {
      const res = await serveTemplateFile(request("?name=Ada"), { real, size });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '<!doctype html><title>T</title><p class="">Ada</p>');
    });
    await t.step(
      "a source over MAX_TEMPLATE_SOURCE_BYTES: 500, and the file is not read",
      async () => {
        const over = { real: `${dir}/missing.tmpl.html`, size: MAX_TEMPLATE_SOURCE_BYTES + 1 };
        await assert.rejects(serveTemplateFile(request(""), over), (err) => {
          assert.ok(err instanceof HttpError);
          assert.equal(err.status, 500);
          return true;
        });
      },
    );
    await t.step("at the bound exactly: rendered", async () => {
      const res = await serveTemplateFile(request(""), { real, size: MAX_TEMPLATE_SOURCE_BYTES });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
