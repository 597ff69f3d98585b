/**
 * conditional_test.ts — evaluatePreconditions in the order of RFC 9110
 * §13.2.2, entity-tag comparison (§8.8.3.2) (HTTP dates: tests/http/http_date_test.ts).
 */

import assert from "node:assert/strict";
import {
  evaluatePreconditions,
  matches,
  type Precondition,
  type Validators,
} from "../../lib/static/conditional.ts";

const ETAG = '"1f-18b3c2"';
/** Last modification with a fraction of a second, which HTTP dates cannot carry. */
const MODIFIED_MS = Date.UTC(2024, 0, 2, 3, 4, 5) + 678;
const VALIDATORS: Validators = { etag: ETAG, lastModified: MODIFIED_MS };

/** httpDate formats whole seconds since MODIFIED_MS's second as an IMF-fixdate. */
function httpDate(offsetSeconds: number): string {
  return new Date(Date.UTC(2024, 0, 2, 3, 4, 5) + offsetSeconds * 1000).toUTCString();
}
const SAME = httpDate(0); // "Tue, 02 Jan 2024 03:04:05 GMT"
const OLDER = httpDate(-1);
const NEWER = httpDate(1);

interface PreconditionCase {
  name: string;
  method?: string;
  headers: Record<string, string>;
  validators?: Validators;
  want: Precondition;
}

const CASES: PreconditionCase[] = [
  { name: "no conditional headers", headers: {}, want: "pass" },
  { name: "no conditional headers, POST", method: "POST", headers: {}, want: "pass" },

  // Step 1: If-Match, strong comparison.
  { name: "If-Match: same tag", headers: { "if-match": ETAG }, want: "pass" },
  { name: "If-Match: other tag", headers: { "if-match": '"other"' }, want: "failed" },
  { name: "If-Match: *", headers: { "if-match": "*" }, want: "pass" },
  { name: "If-Match: weak form of our tag", headers: { "if-match": `W/${ETAG}` }, want: "failed" },
  {
    name: "If-Match: list containing our tag",
    headers: { "if-match": `"a", ${ETAG}, "b"` },
    want: "pass",
  },
  { name: "If-Match: list without our tag", headers: { "if-match": '"a", "b"' }, want: "failed" },
  { name: "If-Match: unquoted tag", headers: { "if-match": "1f-18b3c2" }, want: "failed" },
  {
    name: "If-Match: fails for POST too",
    method: "POST",
    headers: { "if-match": '"x"' },
    want: "failed",
  },
  { name: "If-Match: passes for PUT", method: "PUT", headers: { "if-match": ETAG }, want: "pass" },
  {
    name: "If-Match: our weak tag never matches strongly",
    headers: { "if-match": '"w"' },
    validators: { etag: 'W/"w"', lastModified: MODIFIED_MS },
    want: "failed",
  },

  // Step 2: If-Unmodified-Since, only without If-Match.
  { name: "IUS: equal date", headers: { "if-unmodified-since": SAME }, want: "pass" },
  { name: "IUS: later date", headers: { "if-unmodified-since": NEWER }, want: "pass" },
  { name: "IUS: earlier date", headers: { "if-unmodified-since": OLDER }, want: "failed" },
  {
    name: "IUS: invalid date ignored",
    headers: { "if-unmodified-since": "yesterday" },
    want: "pass",
  },
  {
    name: "IUS: ignored when If-Match is present",
    headers: { "if-match": ETAG, "if-unmodified-since": OLDER },
    want: "pass",
  },
  {
    name: "IUS: unknown modification time",
    headers: { "if-unmodified-since": OLDER },
    validators: { etag: ETAG, lastModified: undefined },
    want: "pass",
  },
  {
    name: "If-Match failure wins over If-None-Match",
    headers: { "if-match": '"x"', "if-none-match": ETAG },
    want: "failed",
  },

  // Step 3: If-None-Match, weak comparison.
  { name: "INM: same tag, GET", headers: { "if-none-match": ETAG }, want: "not-modified" },
  {
    name: "INM: same tag, HEAD",
    method: "HEAD",
    headers: { "if-none-match": ETAG },
    want: "not-modified",
  },
  {
    name: "INM: same tag, POST",
    method: "POST",
    headers: { "if-none-match": ETAG },
    want: "failed",
  },
  {
    name: "INM: weak form matches",
    headers: { "if-none-match": `W/${ETAG}` },
    want: "not-modified",
  },
  { name: "INM: other tag", headers: { "if-none-match": '"other"' }, want: "pass" },
  {
    name: "INM: list containing our tag",
    headers: { "if-none-match": `"a", W/"b", ${ETAG}` },
    want: "not-modified",
  },
  {
    name: "INM: list without spaces",
    headers: { "if-none-match": `"a",${ETAG}` },
    want: "not-modified",
  },
  { name: "INM: list without our tag", headers: { "if-none-match": '"a", "b"' }, want: "pass" },
  {
    name: "INM: tag containing a comma",
    headers: { "if-none-match": '"a,b"' },
    validators: { etag: '"a,b"', lastModified: MODIFIED_MS },
    want: "not-modified",
  },
  {
    name: "INM: a prefix of our tag does not match",
    headers: { "if-none-match": '"1f-18b3c"' },
    want: "pass",
  },
  { name: "INM: *, GET", headers: { "if-none-match": "*" }, want: "not-modified" },
  { name: "INM: *, HEAD", method: "HEAD", headers: { "if-none-match": "*" }, want: "not-modified" },
  { name: "INM: *, POST", method: "POST", headers: { "if-none-match": "*" }, want: "failed" },
  { name: "INM: *, PUT", method: "PUT", headers: { "if-none-match": "*" }, want: "failed" },
  {
    name: "INM mismatch wins over an IMS that would say 304",
    headers: { "if-none-match": '"other"', "if-modified-since": NEWER },
    want: "pass",
  },
  {
    name: "INM match wins over an IMS that would say 200",
    headers: { "if-none-match": ETAG, "if-modified-since": OLDER },
    want: "not-modified",
  },
  {
    name: "If-Match passes, then If-None-Match decides",
    headers: { "if-match": ETAG, "if-none-match": ETAG },
    want: "not-modified",
  },

  // Step 4: If-Modified-Since, GET and HEAD only, whole seconds.
  {
    name: "IMS: equal date (ms truncated)",
    headers: { "if-modified-since": SAME },
    want: "not-modified",
  },
  { name: "IMS: later date", headers: { "if-modified-since": NEWER }, want: "not-modified" },
  { name: "IMS: earlier date", headers: { "if-modified-since": OLDER }, want: "pass" },
  {
    name: "IMS: HEAD",
    method: "HEAD",
    headers: { "if-modified-since": SAME },
    want: "not-modified",
  },
  {
    name: "IMS: ignored for POST",
    method: "POST",
    headers: { "if-modified-since": SAME },
    want: "pass",
  },
  {
    name: "IMS: invalid date ignored",
    headers: { "if-modified-since": "not a date" },
    want: "pass",
  },
  {
    name: "IMS: ISO 8601 is not an HTTP date",
    headers: { "if-modified-since": "2024-01-02T03:04:05Z" },
    want: "pass",
  },
  {
    name: "IMS: lower-case date is not an HTTP date",
    headers: { "if-modified-since": SAME.toLowerCase() },
    want: "pass",
  },
  {
    name: "IMS: unknown modification time",
    headers: { "if-modified-since": NEWER },
    validators: { etag: ETAG, lastModified: undefined },
    want: "pass",
  },
  {
    name: "IMS: modified at the very end of the same second",
    headers: { "if-modified-since": SAME },
    validators: { etag: ETAG, lastModified: Date.UTC(2024, 0, 2, 3, 4, 5) + 999 },
    want: "not-modified",
  },
  {
    name: "IMS: modified at the start of the next second",
    headers: { "if-modified-since": SAME },
    validators: { etag: ETAG, lastModified: Date.UTC(2024, 0, 2, 3, 4, 6) },
    want: "pass",
  },
];

Deno.test("evaluatePreconditions", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, () => {
      const got = evaluatePreconditions(
        c.method ?? "GET",
        new Headers(c.headers),
        c.validators ?? VALIDATORS,
      );
      assert.equal(got, c.want);
    });
  }
});

Deno.test("matches: strong and weak comparison (RFC 9110 §8.8.3.2)", async (t) => {
  // The RFC's own table.
  const TABLE: Array<[string, string, boolean, boolean]> = [
    ['W/"1"', 'W/"1"', false, true],
    ['W/"1"', 'W/"2"', false, false],
    ['W/"1"', '"1"', false, true],
    ['"1"', '"1"', true, true],
  ];
  for (const [a, b, strong, weak] of TABLE) {
    await t.step(`${a} vs ${b}`, () => {
      assert.equal(matches(a, b, "strong"), strong);
      assert.equal(matches(b, a, "strong"), strong);
      assert.equal(matches(a, b, "weak"), weak);
      assert.equal(matches(b, a, "weak"), weak);
    });
  }
  await t.step("* matches any tag", () => {
    assert.equal(matches("*", '"x"', "strong"), true);
    assert.equal(matches(" * ", '"x"', "weak"), true);
  });
  await t.step("garbage matches nothing", () => {
    assert.equal(matches("", '"x"', "weak"), false);
    assert.equal(matches("x", '"x"', "weak"), false);
    assert.equal(matches('"x', '"x"', "weak"), false);
  });
});
