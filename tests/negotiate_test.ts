/**
 * negotiate_test.ts — lib/negotiate.ts: proactive negotiation on Accept
 * (RFC 9110 §12.5.1), the table of browsers', programs' and odd headers.
 */

import assert from "node:assert/strict";
import { type ListingFormat, preferredFormat, qualityOf } from "../lib/negotiate.ts";

Deno.test("preferredFormat picks HTML, JSON or text from Accept", async (t) => {
  const CASES: [accept: string | null, want: ListingFormat][] = [
    [null, "html"],
    ["", "html"],
    ["   ", "html"],
    ["*/*", "html"], // a tie: HTML
    ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "html"], // a browser
    ["application/json", "json"],
    ["APPLICATION/JSON", "json"],
    ["text/plain", "text"],
    ["text/*", "html"], // HTML and text tie at the same specificity: HTML
    ["text/*;q=0.5, application/json;q=0.6", "json"],
    ["application/json;q=0.4, text/plain;q=0.5", "text"],
    ["text/html;q=0, application/json;q=0.1", "json"],
    ["text/html;q=0, */*;q=0.5", "json"], // HTML refused; JSON is first of the rest
    ["image/png", "html"], // nothing acceptable: HTML anyway
    ["application/json;q=0", "html"],
    ["application/json; q=0.7; charset=utf-8, text/html; q=0.2", "json"],
  ];
  for (const [accept, want] of CASES) {
    await t.step(JSON.stringify(accept), () => assert.equal(preferredFormat(accept), want));
  }
});

Deno.test("qualityOf uses the most specific matching range, capped at 1", async (t) => {
  const CASES: [accept: string, type: string, want: number][] = [
    ["text/html", "text/html", 1],
    ["text/html;q=0.3", "text/html", 0.3],
    ["text/html; Q = 0.3", "text/html", 0.3],
    ["*/*;q=0.1, text/*;q=0.5, text/html;q=0.9", "text/html", 0.9],
    ["text/html;q=0.9, text/*;q=0.5, */*;q=0.1", "text/html", 0.9], // order does not matter
    ["*/*;q=0.1, text/*;q=0.5", "text/plain", 0.5],
    ["*/*;q=0.1", "application/json", 0.1],
    ["text/plain", "text/html", 0],
    ["text/html;q=2", "text/html", 1],
    ["text/html;q=abc", "text/html", 1], // not a q-value: the parameter is ignored
    ["text/html;q=", "text/html", 1],
    ["text/html;q=0.", "text/html", 0],
    ["", "text/html", 0],
    [",,;", "text/html", 0],
  ];
  for (const [accept, type, want] of CASES) {
    await t.step(`${JSON.stringify(accept)} for ${type}`, () => {
      assert.equal(qualityOf(accept, type), want);
    });
  }
});
