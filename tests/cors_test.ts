/**
 * cors_test.ts — lib/cors.ts on its own: the fields that make a response
 * readable from any origin, what counts as a preflight, and the preflight
 * answer, which offers other origins reading only (Fetch standard §3.2).
 */

import assert from "node:assert/strict";
import {
  addCorsHeaders,
  CORS_FIELDS,
  isPreflight,
  PREFLIGHT_MAX_AGE_SECONDS,
  preflightResponse,
} from "../lib/cors.ts";

/** preflight builds an OPTIONS request from a page at another origin, with `headers` added. */
function preflight(headers: Record<string, string>): Request {
  return new Request("http://x/board", {
    method: "OPTIONS",
    headers: { origin: "https://other.example", ...headers },
  });
}

Deno.test("CORS_FIELDS allow any origin and never credentials", () => {
  const fields = new Map(CORS_FIELDS);
  assert.equal(fields.get("access-control-allow-origin"), "*");
  assert.match(fields.get("access-control-expose-headers") ?? "", /\bContent-Range\b/);
  assert.match(fields.get("access-control-expose-headers") ?? "", /\bETag\b/);
  assert.ok(!fields.has("access-control-allow-credentials"));
});

Deno.test("addCorsHeaders sets the fields in place, keeping status, body and other fields", async () => {
  const response = new Response("hi", { status: 404, headers: { "x-kept": "1" } });
  const marked = addCorsHeaders(response);
  assert.equal(marked, response, "changed in place when the headers are mutable");
  assert.equal(marked.status, 404);
  assert.equal(marked.headers.get("x-kept"), "1");
  for (const [name, value] of CORS_FIELDS) assert.equal(marked.headers.get(name), value);
  assert.equal(await marked.text(), "hi");
});

Deno.test("addCorsHeaders copies a response whose headers are immutable", async () => {
  const immutable = Response.redirect("http://x/elsewhere", 302);
  assert.throws(() => immutable.headers.set("x", "y"), TypeError, "the premise: immutable");
  const marked = addCorsHeaders(immutable);
  assert.notEqual(marked, immutable);
  assert.equal(marked.status, 302);
  assert.equal(marked.headers.get("location"), "http://x/elsewhere");
  assert.equal(marked.headers.get("access-control-allow-origin"), "*");
  assert.equal(await marked.text(), "");
});

Deno.test("isPreflight needs OPTIONS, Origin and Access-Control-Request-Method", async (t) => {
  const CASES: [name: string, request: Request, want: boolean][] = [
    ["a preflight", preflight({ "access-control-request-method": "GET" }), true],
    ["OPTIONS without the method field", preflight({}), false],
    [
      "OPTIONS without Origin",
      new Request("http://x/", {
        method: "OPTIONS",
        headers: { "access-control-request-method": "GET" },
      }),
      false,
    ],
    [
      "a GET with both fields",
      new Request("http://x/", {
        headers: { origin: "https://o.example", "access-control-request-method": "GET" },
      }),
      false,
    ],
  ];
  for (const [name, request, want] of CASES) {
    await t.step(name, () => assert.equal(isPreflight(request), want));
  }
});

Deno.test("preflightResponse: 204, reads only for other origins, Allow lists every method", async () => {
  const response = preflightResponse(
    preflight({ "access-control-request-method": "GET" }),
    "GET, HEAD, OPTIONS, POST, PUT, DELETE",
  );
  assert.equal(response.status, 204);
  assert.equal(response.body, null);
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.equal(response.headers.get("access-control-allow-methods"), "GET, HEAD, OPTIONS");
  assert.equal(response.headers.get("allow"), "GET, HEAD, OPTIONS, POST, PUT, DELETE");
  assert.equal(response.headers.get("access-control-max-age"), String(PREFLIGHT_MAX_AGE_SECONDS));
  assert.equal(response.headers.get("access-control-allow-headers"), null, "none asked for");
  assert.equal(await response.text(), "");
});

Deno.test("preflightResponse grants asked-for headers to reads only, and only a valid token list", async (t) => {
  const CASES: [name: string, method: string, asked: string, want: string | null][] = [
    ["a read asking for one header", "GET", "x-token", "x-token"],
    ["a HEAD asking for a list", "HEAD", "x-a, x-b,x-c", "x-a, x-b,x-c"],
    ["padded method and list", " GET ", "  range ", "range"],
    ["a POST: withheld, so the browser stops", "POST", "content-type", null],
    ["a PUT: withheld", "PUT", "authorization", null],
    ["not a token list", "GET", "x-a;x-b", null],
    ["an empty list after a comma", "GET", "x-a,", null],
    ["a control character", "GET", "x-a\tb", null],
  ];
  for (const [name, method, asked, want] of CASES) {
    await t.step(name, () => {
      const request = new Request("http://x/", {
        method: "OPTIONS",
        headers: {
          origin: "https://o.example",
          "access-control-request-method": method,
          "access-control-request-headers": asked,
        },
      });
      const response = preflightResponse(request, "GET, HEAD, OPTIONS, POST, PUT");
      assert.equal(response.headers.get("access-control-allow-headers"), want);
    });
  }
});

Deno.test("preflightResponse offers nothing cross-origin for a write-only resource", () => {
  const response = preflightResponse(
    preflight({ "access-control-request-method": "POST" }),
    "POST",
  );
  assert.equal(response.headers.get("access-control-allow-methods"), "");
  assert.equal(response.headers.get("allow"), "POST");
});
