/**
 * error_page_test.ts — what a client sees for an error: HTML or JSON as
 * Accept prefers, the HttpError's status and headers, fixed text for
 * anything else, and never the cause.
 */

import assert from "node:assert/strict";
import { errorAnswer, errorPage, errorResponse } from "../lib/error_page.ts";
import { HttpError } from "../lib/http/http_error.ts";

const decoder = new TextDecoder();
const SECRET = "/srv/minserve/private/key.pem";

function fieldsOf(answer: { fields: [string, string][] }): Map<string, string> {
  return new Map(answer.fields);
}

Deno.test("errorAnswer negotiates HTML or JSON on Accept", async (t) => {
  const CASES: Array<[accept: string | null, json: boolean]> = [
    [null, false],
    ["", false],
    ["text/html", false],
    ["*/*", false],
    ["text/plain", false],
    ["application/json", true],
    ["text/html;q=0.5, application/json", true],
    ["application/json;q=0.5, text/html", false],
  ];
  for (const [accept, json] of CASES) {
    await t.step(String(accept), () => {
      const answer = errorAnswer(new HttpError(404), accept);
      const fields = fieldsOf(answer);
      const body = decoder.decode(answer.body);
      assert.equal(answer.status, 404);
      if (json) {
        assert.equal(fields.get("content-type"), "application/json; charset=utf-8");
        assert.deepEqual(JSON.parse(body), { status: 404, error: "Not Found" });
      } else {
        assert.equal(fields.get("content-type"), "text/html; charset=utf-8");
        assert.match(body, /<h1>404 Not Found<\/h1>/);
      }
      assert.equal(fields.get("x-content-type-options"), "nosniff");
      assert.equal(fields.get("cache-control"), "no-store");
      assert.equal(fields.has("connection"), false);
    });
  }
});

Deno.test("errorAnswer keeps an HttpError's headers and asks to close when it must", () => {
  const answer = errorAnswer(
    new HttpError(405, undefined, { headers: { allow: "GET, HEAD" }, close: true }),
    "application/json",
  );
  const fields = fieldsOf(answer);
  assert.equal(answer.status, 405);
  assert.equal(fields.get("allow"), "GET, HEAD");
  assert.equal(fields.get("connection"), "close");
});

Deno.test("errorAnswer shows a message only when exposed, and never the cause", async (t) => {
  const cause = new Deno.errors.PermissionDenied(`open '${SECRET}'`);
  const CASES: Array<[name: string, err: unknown, status: number, message: string]> = [
    ["exposed 4xx", new HttpError(400, "Bad chunk size", { cause }), 400, "Bad chunk size"],
    ["5xx with a message", new HttpError(500, `cannot read ${SECRET}`, { cause }), 500, ""],
    ["hidden 4xx", new HttpError(403, SECRET, { expose: false }), 403, ""],
    ["a plain Error", new Error(`ENOENT ${SECRET}`), 500, ""],
    ["not an Error", SECRET, 500, ""],
  ];
  for (const [name, err, status, message] of CASES) {
    await t.step(name, () => {
      for (const accept of ["text/html", "application/json"]) {
        const answer = errorAnswer(err, accept);
        const body = decoder.decode(answer.body);
        assert.equal(answer.status, status);
        assert.ok(!body.includes(SECRET), `${accept}: ${body}`);
        assert.ok(!body.includes("/srv/"), `${accept}: ${body}`);
        if (message !== "") assert.ok(body.includes(message), body);
      }
    });
  }
});

Deno.test("errorResponse is errorAnswer as a Response, negotiated on the request", async () => {
  const request = new Request("http://x/missing", { headers: { accept: "application/json" } });
  const res = errorResponse(new HttpError(404), request);
  assert.equal(res.status, 404);
  assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
  assert.deepEqual(await res.json(), { status: 404, error: "Not Found" });
  const page = errorResponse(new Error("boom"));
  assert.equal(page.status, 500);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  assert.ok(!(await page.text()).includes("boom"));
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
