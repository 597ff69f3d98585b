/**
 * upload_page_test.ts — lib/pages/upload_page.ts: the upload queue's inline
 * script is allowed by its own hash (CSP Level 2 §4.2.2), so the page runs
 * it and nothing else; the script and style can be inlined as they are.
 * What the queue does in a browser is tested in tests/browser_test.ts.
 */

import assert from "node:assert/strict";
import { PAGE_HEADERS } from "../../lib/pages/page.ts";
import {
  UPLOAD_PAGE_POLICY,
  UPLOAD_PARALLEL,
  UPLOAD_SCRIPT,
  UPLOAD_STYLE,
} from "../../lib/pages/upload_page.ts";

/** sha256Base64 hashes `text` as UTF-8 with WebCrypto, not node:crypto as the module does. */
async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

Deno.test("UPLOAD_PAGE_POLICY is the pages' policy plus this script by hash and same-origin requests", async () => {
  const base = PAGE_HEADERS["content-security-policy"] ?? "";
  assert.ok(UPLOAD_PAGE_POLICY.startsWith(`${base}; `), "nothing of the base policy is lost");
  const hash = await sha256Base64(UPLOAD_SCRIPT);
  assert.ok(UPLOAD_PAGE_POLICY.includes(`script-src 'sha256-${hash}'`), UPLOAD_PAGE_POLICY);
  assert.ok(UPLOAD_PAGE_POLICY.endsWith("; connect-src 'self'"));
  assert.doesNotMatch(UPLOAD_PAGE_POLICY, /unsafe-eval|script-src[^;]*unsafe-inline/);
});

Deno.test("UPLOAD_PAGE_POLICY does not allow a changed script", async () => {
  const changed = await sha256Base64(UPLOAD_SCRIPT + " ");
  assert.ok(!UPLOAD_PAGE_POLICY.includes(changed));
});

Deno.test("UPLOAD_SCRIPT parses as strict JavaScript and cannot end its own <script> element", () => {
  // Parsing only: the function is never called, so no DOM is needed.
  new Function(UPLOAD_SCRIPT);
  assert.match(UPLOAD_SCRIPT, /^\(\(\) => \{\n\s+"use strict";/);
  assert.doesNotMatch(UPLOAD_SCRIPT, /<\/script/i);
  assert.doesNotMatch(UPLOAD_SCRIPT, /<!--/);
  assert.ok(UPLOAD_SCRIPT.includes("form.dataset.maxBytes"), "reads the limit from the form");
});

Deno.test("UPLOAD_STYLE is one line that cannot end its own <style> element", () => {
  assert.ok(!UPLOAD_STYLE.includes("\n"));
  assert.doesNotMatch(UPLOAD_STYLE, /<\/style/i);
  assert.equal(UPLOAD_STYLE.split("{").length, UPLOAD_STYLE.split("}").length, "balanced braces");
});

Deno.test("UPLOAD_PARALLEL is a small positive whole number", () => {
  assert.ok(Number.isInteger(UPLOAD_PARALLEL) && UPLOAD_PARALLEL >= 1 && UPLOAD_PARALLEL <= 6);
});
