/**
 * Micro-benchmarks of the engine's pure parts: `deno task bench:micro`.
 * The load benchmark against nginx and others is `deno task bench`
 * (bench/load.ts).
 *
 * `parseRequestHead` is pure: it checks the Host value every time. A
 * connection parses with a `HeadParser`, which remembers the last head's
 * bytes (a repeated head costs a comparison) and the last valid Host; the
 * "HeadParser" rows measure what the server does.
 */

import { HeadParser, parseRequestHead } from "../lib/http/request_head.ts";
import { writeResponse } from "../lib/http/response_writer.ts";
import { resolvePath } from "../lib/static/resolve_path.ts";

const encoder = new TextEncoder();
const CURL = encoder.encode(
  "GET /docs/index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
);
const BROWSER = encoder.encode(
  "GET /docs/http-basics.html?x=1 HTTP/1.1\r\nHost: localhost:8080\r\nConnection: keep-alive\r\n" +
    'sec-ch-ua: "Chromium";v="156", "Not)A;Brand";v="24"\r\nsec-ch-ua-mobile: ?0\r\n' +
    'sec-ch-ua-platform: "Linux"\r\nUpgrade-Insecure-Requests: 1\r\n' +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36\r\n" +
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n" +
    "Sec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\nSec-Fetch-Dest: document\r\n" +
    "Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n" +
    'If-None-Match: "bf8-1a206f2e8f7"\r\nIf-Modified-Since: Mon, 23 Nov 2026 05:48:32 GMT\r\n\r\n',
);

Deno.bench("parseRequestHead: curl GET", { group: "head" }, () => {
  parseRequestHead(CURL);
});
Deno.bench("parseRequestHead: browser GET (17 fields)", { group: "head" }, () => {
  parseRequestHead(BROWSER);
});

const parser = new HeadParser();
Deno.bench("HeadParser: the same browser head again (keep-alive)", { group: "head" }, () => {
  parser.parse(BROWSER);
});
// Two heads in turn: neither is the last one, so each is parsed; the Host is remembered.
const OTHER = encoder.encode(new TextDecoder().decode(BROWSER).replace("?x=1", "?x=2"));
const alternating = new HeadParser();
let turn = 0;
Deno.bench("HeadParser: browser heads that differ (17 fields)", { group: "head" }, () => {
  alternating.parse(turn++ % 2 === 0 ? BROWSER : OTHER);
});

Deno.bench("resolvePath: /docs/http-basics.html", { group: "path" }, () => {
  resolvePath("/docs/http-basics.html");
});
Deno.bench("resolvePath: percent-encoded unicode", { group: "path" }, () => {
  resolvePath("/files/unicode-%C3%BC%C3%B1%C3%AF/with%20space.txt");
});

const BODY = new Uint8Array(1024);
const sink = { write: (p: Uint8Array) => Promise.resolve(p.length) };
Deno.bench("writeResponse: 1 KiB with 3 headers", { group: "write" }, async () => {
  const response = new Response(BODY, {
    headers: {
      "content-type": "text/plain; charset=utf-8",
      etag: '"400-1"',
      "content-length": "1024",
    },
  });
  await writeResponse(sink, response, {
    head: false,
    minor: 1,
    keepAlive: true,
    server: "minserve",
  });
});
