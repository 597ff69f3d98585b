/**
 * same_origin_test.ts — lib/pages/same_origin.ts: which requests count as
 * sent by another site's page (Fetch Metadata first, then Origin, RFC 6454
 * §7), as a table of what browsers and programs send.
 */

import assert from "node:assert/strict";
import { HttpError } from "../../lib/http/http_error.ts";
import { assertSameOrigin } from "../../lib/pages/same_origin.ts";

/** post builds a POST to `url` with `headers`. */
function post(headers: Record<string, string>, url = "http://192.168.1.5:8080/board"): Request {
  return new Request(url, { method: "POST", headers });
}

/** verdict is "pass", or the status and message of the HttpError thrown. */
function verdict(request: Request): string {
  try {
    assertSameOrigin(request);
    return "pass";
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    return `${err.status} ${err.message}`;
  }
}

const REFUSED = "403 Cross-site request refused";

Deno.test("assertSameOrigin passes same-origin and program requests, refuses other sites", async (t) => {
  const CASES: [name: string, request: Request, want: string][] = [
    ["curl: neither field", post({}), "pass"],
    ["Sec-Fetch-Site: same-origin", post({ "sec-fetch-site": "same-origin" }), "pass"],
    ["Sec-Fetch-Site: none (typed by the user)", post({ "sec-fetch-site": "none" }), "pass"],
    ["Sec-Fetch-Site in capitals, padded", post({ "sec-fetch-site": " Same-Origin " }), "pass"],
    ["Sec-Fetch-Site: cross-site", post({ "sec-fetch-site": "cross-site" }), REFUSED],
    [
      "Sec-Fetch-Site: same-site (a sibling subdomain)",
      post({ "sec-fetch-site": "same-site" }),
      REFUSED,
    ],
    ["Sec-Fetch-Site: an unknown value", post({ "sec-fetch-site": "maybe" }), REFUSED],
    [
      "Sec-Fetch-Site decides over a matching Origin",
      post({ "sec-fetch-site": "cross-site", origin: "http://192.168.1.5:8080" }),
      REFUSED,
    ],
    [
      "Sec-Fetch-Site decides over a foreign Origin",
      post({ "sec-fetch-site": "same-origin", origin: "https://evil.example" }),
      "pass",
    ],
    ["Origin with the same host and port", post({ origin: "http://192.168.1.5:8080" }), "pass"],
    ["Origin with a trailing space", post({ origin: "http://192.168.1.5:8080 " }), "pass"],
    ["Origin of another site", post({ origin: "https://evil.example" }), REFUSED],
    ["Origin with another port", post({ origin: "http://192.168.1.5:8081" }), REFUSED],
    ["Origin without the port", post({ origin: "http://192.168.1.5" }), REFUSED],
    ["Origin: null (a sandboxed page)", post({ origin: "null" }), REFUSED],
    ["Origin that is not a URL", post({ origin: "not a url" }), REFUSED],
    ["Origin with no host", post({ origin: "file:///etc/passwd" }), REFUSED],
    [
      "Origin on the default port matches a URL without one",
      post({ origin: "http://localhost:80" }, "http://localhost/board"),
      "pass",
    ],
  ];
  for (const [name, request, want] of CASES) {
    await t.step(name, () => assert.equal(verdict(request), want));
  }
});

Deno.test("assertSameOrigin's refusal is a 403 that does not echo the origin", () => {
  try {
    assertSameOrigin(post({ origin: "https://evil.example/<script>" }));
    assert.fail("not refused");
  } catch (caught) {
    assert.ok(caught instanceof HttpError);
    assert.equal(caught.status, 403);
    assert.equal(caught.expose, true);
    assert.doesNotMatch(caught.message, /evil|script/);
  }
});
