/**
 * fields_test.ts — HeadFields.get against the web `Headers.get` it stands in
 * for on the fast path: field names match whatever their case on the wire,
 * repeated fields are joined with ", " in arrival order (RFC 9110 §5.3), and
 * an absent field is null.
 *
 * Values are given as the head parser leaves them: without surrounding
 * whitespace (`Headers` would trim it; HeadFields relies on the parser).
 * Names are looked up in lower case, as `FieldSource` asks of its callers.
 */

import assert from "node:assert/strict";
import { HeadFields } from "../../lib/http/fields.ts";

interface FieldsCase {
  name: string;
  /** The head's fields, names as sent. */
  pairs: [string, string][];
  /** The lower-case name looked up. */
  get: string;
  /** What both `Headers.get` and `HeadFields.get` must answer. */
  want: string | null;
}

const CASES: FieldsCase[] = [
  { name: "no fields at all", pairs: [], get: "range", want: null },
  {
    name: "absent among others",
    pairs: [["Host", "a"], ["Accept", "*/*"]],
    get: "range",
    want: null,
  },
  {
    name: "lower-case name as sent",
    pairs: [["range", "bytes=0-4"]],
    get: "range",
    want: "bytes=0-4",
  },
  {
    name: "canonical case as sent",
    pairs: [["Range", "bytes=0-4"]],
    get: "range",
    want: "bytes=0-4",
  },
  {
    name: "upper-case name as sent",
    pairs: [["ACCEPT-ENCODING", "br"]],
    get: "accept-encoding",
    want: "br",
  },
  {
    name: "mixed-case name as sent",
    pairs: [["iF-nOnE-mAtCh", '"x"']],
    get: "if-none-match",
    want: '"x"',
  },
  {
    name: "two lines joined with comma and space",
    pairs: [["Accept-Encoding", "gzip"], ["Accept-Encoding", "br"]],
    get: "accept-encoding",
    want: "gzip, br",
  },
  {
    name: "repeated lines in different cases",
    pairs: [["accept", "text/html"], ["ACCEPT", "*/*;q=0.8"], ["Accept", "image/png"]],
    get: "accept",
    want: "text/html, */*;q=0.8, image/png",
  },
  {
    name: "repeated lines with other fields between them keep arrival order",
    pairs: [["If-None-Match", '"a"'], ["Host", "a"], ["If-None-Match", '"b", "c"']],
    get: "if-none-match",
    want: '"a", "b", "c"',
  },
  { name: "empty value", pairs: [["If-Range", ""]], get: "if-range", want: "" },
  {
    name: "empty value then a value",
    pairs: [["Accept-Encoding", ""], ["Accept-Encoding", "br"]],
    get: "accept-encoding",
    want: ", br",
  },
  {
    name: "a value then an empty value",
    pairs: [["Accept-Encoding", "br"], ["Accept-Encoding", ""]],
    get: "accept-encoding",
    want: "br, ",
  },
  {
    name: "inner whitespace and commas kept",
    pairs: [["Accept", "text/html ,  application/json;q=0.9"]],
    get: "accept",
    want: "text/html ,  application/json;q=0.9",
  },
  { name: "longer name with the same prefix", pairs: [["Range-X", "1"]], get: "range", want: null },
  {
    name: "shorter name, a prefix of the one asked",
    pairs: [["Rang", "1"]],
    get: "range",
    want: null,
  },
  { name: "same length, other name", pairs: [["Rangf", "1"]], get: "range", want: null },
  {
    name: "set-cookie lines are joined as Headers.get joins them",
    pairs: [["Set-Cookie", "a=1"], ["set-cookie", "b=2"]],
    get: "set-cookie",
    want: "a=1, b=2",
  },
];

Deno.test("HeadFields.get answers as Headers.get does", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, () => {
      const reference = new Headers(c.pairs).get(c.get);
      assert.equal(reference, c.want, "the table's expectation disagrees with Headers.get");
      assert.equal(new HeadFields(c.pairs).get(c.get), c.want);
    });
  }
});

Deno.test("HeadFields reads the pairs it was given, not a copy", () => {
  const pairs: [string, string][] = [["Range", "bytes=0-4"]];
  const fields = new HeadFields(pairs);
  pairs.push(["Range", "bytes=9-"]);
  assert.equal(fields.get("range"), "bytes=0-4, bytes=9-");
});
