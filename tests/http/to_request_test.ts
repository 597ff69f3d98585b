/**
 * to_request_test.ts — a parsed head to the handler's `Request`: raw heads
 * in, URL and method out, or the status refused with.
 */

import assert from "node:assert/strict";
import { HttpError } from "../../lib/http/http_error.ts";
import { parseRequestHead, type RequestHead } from "../../lib/http/request_head.ts";
import { pathOf, type RequestOrigin, toRequest } from "../../lib/http/to_request.ts";
import { encode } from "../_support/bytes.ts";

const LOCAL: RequestOrigin = {
  scheme: "http",
  localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 8080 },
};

/** headOf parses one raw head, which must be complete and valid. */
function headOf(raw: string): RequestHead {
  const result = parseRequestHead(encode(raw));
  assert.equal(result.kind, "complete", `not a whole head: ${JSON.stringify(raw)}`);
  return (result as Extract<typeof result, { kind: "complete" }>).head;
}

interface Case {
  name: string;
  raw: string;
  origin?: RequestOrigin;
  /** The Request's URL and method, when it is built. */
  url?: string;
  method?: string;
  /** The status it is refused with, when it is not. */
  status?: number;
}

const CASES: Case[] = [
  {
    name: "origin-form",
    raw: "GET /a?b=1 HTTP/1.1\r\nHost: a.test\r\n\r\n",
    url: "http://a.test/a?b=1",
  },
  {
    name: "origin-form with a port in Host",
    raw: "GET / HTTP/1.1\r\nHost: a.test:81\r\n\r\n",
    url: "http://a.test:81/",
  },
  {
    name: "https scheme from the connection",
    raw: "GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n",
    origin: { ...LOCAL, scheme: "https" },
    url: "https://a.test/x",
  },
  {
    name: "HTTP/1.0 without Host: the local address",
    raw: "GET /x HTTP/1.0\r\n\r\n",
    url: "http://127.0.0.1:8080/x",
  },
  {
    name: "HTTP/1.0 without Host on IPv6: the address in brackets",
    raw: "GET /x HTTP/1.0\r\n\r\n",
    origin: { scheme: "http", localAddr: { transport: "tcp", hostname: "::1", port: 9 } },
    url: "http://[::1]:9/x",
  },
  {
    name: "asterisk-form OPTIONS: the root",
    raw: "OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n",
    url: "http://a.test/",
    method: "OPTIONS",
  },
  {
    name: "absolute-form: taken as sent, its authority wins over Host",
    raw: "GET http://b.test/y HTTP/1.1\r\nHost: a.test\r\n\r\n",
    url: "http://b.test/y",
  },
  {
    name: "an extension method keeps its case",
    raw: "patch /x HTTP/1.1\r\nHost: a\r\n\r\n",
    url: "http://a/x",
    method: "patch",
  },
  { name: "POST", raw: "POST /f HTTP/1.1\r\nHost: a\r\n\r\n", url: "http://a/f", method: "POST" },
  { name: "lower-case get: not GET", raw: "get / HTTP/1.1\r\nHost: a\r\n\r\n", status: 501 },
  { name: "mixed-case Post", raw: "Post / HTTP/1.1\r\nHost: a\r\n\r\n", status: 501 },
  { name: "TRACE", raw: "TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", status: 501 },
  { name: "TRACK", raw: "TRACK / HTTP/1.1\r\nHost: a\r\n\r\n", status: 501 },
  { name: "CONNECT", raw: "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n", status: 501 },
  { name: "dot-dot segment", raw: "GET /a/../b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400 },
  { name: "dot segment", raw: "GET /./b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400 },
  { name: "trailing dot-dot", raw: "GET /a/.. HTTP/1.1\r\nHost: a\r\n\r\n", status: 400 },
  { name: "encoded dot-dot", raw: "GET /a/%2e%2E/b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400 },
  { name: "half-encoded dot-dot", raw: "GET /.%2e HTTP/1.1\r\nHost: a\r\n\r\n", status: 400 },
  {
    name: "dot-dot in absolute-form",
    raw: "GET http://a/x/../y HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    name: "dots inside a name are not segments",
    raw: "GET /a/..b/c.../.x HTTP/1.1\r\nHost: a\r\n\r\n",
    url: "http://a/a/..b/c.../.x",
  },
  {
    name: "dot-dot in the query is not the path",
    raw: "GET /q?next=/../x HTTP/1.1\r\nHost: a\r\n\r\n",
    url: "http://a/q?next=/../x",
  },
  {
    name: "a target the URL parser refuses",
    raw: "GET http://a:99999/ HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
];

Deno.test("toRequest builds the handler's Request, or refuses with a status", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, () => {
      const head = headOf(c.raw);
      const build = () => toRequest(head, null, c.origin ?? LOCAL);
      if (c.status !== undefined) {
        assert.throws(build, (err) => err instanceof HttpError && err.status === c.status);
        return;
      }
      const request = build();
      assert.equal(request.url, c.url);
      assert.equal(request.method, c.method ?? "GET");
    });
  }
});

Deno.test("toRequest passes the header fields and the body through", async () => {
  const head = headOf("PUT /f HTTP/1.1\r\nHost: a\r\nX-One: 1\r\nContent-Length: 2\r\n\r\n");
  const request = toRequest(head, new Blob(["hi"]).stream(), LOCAL);
  assert.equal(request.headers.get("x-one"), "1");
  assert.equal(await request.text(), "hi");
});

Deno.test("pathOf is the path of every target form", async (t) => {
  for (
    const [target, want] of [
      ["/a/b?c", "/a/b"],
      ["/", "/"],
      ["*", "/"],
      ["http://h/x/y?z", "/x/y"],
      ["http://h", "/"],
      ["http://h?q", "/"],
    ] as const
  ) {
    await t.step(target, () => assert.equal(pathOf(target), want));
  }
});
