/**
 * range_test.ts — parseRange against RFC 9110 §14: the examples of §14.1.2,
 * coalescing, clamping, unsatisfiable sets and the headers a server ignores.
 */

import assert from "node:assert/strict";
import { MAX_RANGES, parseRange, type RangeResult } from "../../lib/static/range.ts";

const IGNORE: RangeResult = { kind: "ignore" };
const UNSATISFIABLE: RangeResult = { kind: "unsatisfiable" };

/** ranges builds the expected verdict from `[start, end]` pairs. */
function ranges(...pairs: Array<[number, number]>): RangeResult {
  return { kind: "ranges", ranges: pairs.map(([start, end]) => ({ start, end })) };
}

interface RangeCase {
  name: string;
  header: string;
  /** Representation length; 10000 as in the RFC's examples unless given. */
  size?: number;
  want: RangeResult;
}

const CASES: RangeCase[] = [
  // RFC 9110 §14.1.2, for a representation of 10000 bytes.
  { name: "RFC: first 500 bytes", header: "bytes=0-499", want: ranges([0, 499]) },
  { name: "RFC: second 500 bytes", header: "bytes=500-999", want: ranges([500, 999]) },
  { name: "RFC: final 500 bytes (suffix)", header: "bytes=-500", want: ranges([9500, 9999]) },
  { name: "RFC: final 500 bytes (open end)", header: "bytes=9500-", want: ranges([9500, 9999]) },
  {
    name: "RFC: first and last bytes only",
    header: "bytes=0-0,-1",
    want: ranges([0, 0], [9999, 9999]),
  },
  {
    name: "RFC: other valid ranges for the second 500 bytes",
    header: "bytes=500-600,601-999",
    want: ranges([500, 999]),
  },
  {
    name: "RFC: overlapping second 500",
    header: "bytes=500-700,601-999",
    want: ranges([500, 999]),
  },

  // Coalescing and ordering.
  { name: "overlapping ranges merge", header: "bytes=0-499,400-999", want: ranges([0, 999]) },
  { name: "adjacent ranges merge", header: "bytes=0-4,5-9", want: ranges([0, 9]) },
  { name: "contained range merges", header: "bytes=0-999,100-200", want: ranges([0, 999]) },
  // RFC 9110 §14.6: parts come in the order asked for unless coalesced.
  { name: "out of order, kept", header: "bytes=500-999,0-4", want: ranges([500, 999], [0, 4]) },
  { name: "out of order and adjacent", header: "bytes=500-999,0-499", want: ranges([0, 999]) },
  {
    name: "suffix adjacent to a range",
    header: "bytes=-500,9000-9499",
    want: ranges([9000, 9999]),
  },
  { name: "gap of one byte kept apart", header: "bytes=0-4,6-9", want: ranges([0, 4], [6, 9]) },
  { name: "the same range twice", header: "bytes=1-2,1-2", want: ranges([1, 2]) },

  // Clamping and satisfiability (§14.1.1).
  { name: "end beyond size is clamped", header: "bytes=9500-20000", want: ranges([9500, 9999]) },
  { name: "whole file by a huge end", header: "bytes=0-999999999999999", want: ranges([0, 9999]) },
  { name: "suffix longer than the file", header: "bytes=-20000", want: ranges([0, 9999]) },
  { name: "last byte", header: "bytes=9999-9999", want: ranges([9999, 9999]) },
  { name: "start at size", header: "bytes=10000-", want: UNSATISFIABLE },
  { name: "start beyond size", header: "bytes=20000-30000", want: UNSATISFIABLE },
  { name: "suffix of zero bytes", header: "bytes=-0", want: UNSATISFIABLE },
  {
    name: "one satisfiable part is enough",
    header: "bytes=20000-,0-1",
    want: ranges([0, 1]),
  },
  { name: "small file, start beyond", header: "bytes=13-", size: 13, want: UNSATISFIABLE },
  { name: "one-byte file", header: "bytes=0-", size: 1, want: ranges([0, 0]) },

  // An empty representation is served whole.
  { name: "empty file, open range", header: "bytes=0-", size: 0, want: IGNORE },
  { name: "empty file, suffix", header: "bytes=-1", size: 0, want: IGNORE },
  { name: "empty file, closed range", header: "bytes=0-0", size: 0, want: IGNORE },

  // Whitespace and case (§5.6.1 lists allow OWS around commas; units are case-insensitive).
  { name: "spaces around commas", header: "bytes=0-4 , 6-8", want: ranges([0, 4], [6, 8]) },
  { name: "leading and trailing space", header: "  bytes=0-4  ", want: ranges([0, 4]) },
  { name: "tab after comma", header: "bytes=0-4,\t6-8", want: ranges([0, 4], [6, 8]) },
  { name: "empty list elements", header: "bytes=0-4,,6-8,", want: ranges([0, 4], [6, 8]) },
  { name: "unit in capitals", header: "BYTES=0-4", want: ranges([0, 4]) },
  { name: "unit in mixed case", header: "Bytes=0-4", want: ranges([0, 4]) },

  // Invalid syntax: ignored (§14.2 lets a server ignore Range).
  { name: "end before start", header: "bytes=5-2", want: IGNORE },
  { name: "end before start among valid ones", header: "bytes=0-1,5-2", want: IGNORE },
  { name: "other unit", header: "items=0-4", want: IGNORE },
  { name: "unit prefix only", header: "bytesx=0-4", want: IGNORE },
  { name: "no equals sign", header: "bytes 0-4", want: IGNORE },
  { name: "no ranges", header: "bytes=", want: IGNORE },
  { name: "only commas", header: "bytes=,,", want: IGNORE },
  { name: "lone dash", header: "bytes=-", want: IGNORE },
  { name: "no dash", header: "bytes=5", want: IGNORE },
  { name: "letters", header: "bytes=a-b", want: IGNORE },
  { name: "hex number", header: "bytes=0x10-0x20", want: IGNORE },
  { name: "decimal point", header: "bytes=1.5-2", want: IGNORE },
  { name: "negative start", header: "bytes=--5", want: IGNORE },
  { name: "plus sign", header: "bytes=+1-2", want: IGNORE },
  { name: "exponent", header: "bytes=1e3-2e3", want: IGNORE },
  { name: "two dashes", header: "bytes=1-2-3", want: IGNORE },
  { name: "parameter", header: "bytes=0-4;x=1", want: IGNORE },
  { name: "space inside a range", header: "bytes=0 -4", want: IGNORE },
  // Numbers of any length are valid (§14.1.1); past 2^53 they lie beyond any file.
  { name: "16-digit end: clamped", header: "bytes=0-1000000000000000", want: ranges([0, 9999]) },
  {
    name: "23-digit end: clamped",
    header: "bytes=5-99999999999999999999999",
    want: ranges([5, 9999]),
  },
  { name: "23-digit start: 416", header: "bytes=99999999999999999999999-", want: UNSATISFIABLE },
  {
    name: "23-digit suffix: whole file",
    header: "bytes=-99999999999999999999999",
    want: ranges([0, 9999]),
  },
  {
    name: "leading zeros are one number",
    header: "bytes=0000000000000000000005-6",
    want: ranges([5, 6]),
  },
  { name: "empty header", header: "", want: IGNORE },
];

Deno.test("parseRange", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, () => assert.deepEqual(parseRange(c.header, c.size ?? 10000), c.want));
  }
});

Deno.test("parseRange: MAX_RANGES parts are served, one more is ignored", () => {
  const parts = (n: number) => Array.from({ length: n }, (_, i) => `${i * 10}-${i * 10 + 1}`);
  const atLimit = parseRange(`bytes=${parts(MAX_RANGES).join(",")}`, 10000);
  assert.equal(atLimit.kind, "ranges");
  assert.equal(atLimit.kind === "ranges" && atLimit.ranges.length, MAX_RANGES);
  assert.deepEqual(parseRange(`bytes=${parts(MAX_RANGES + 1).join(",")}`, 10000), IGNORE);
  // Many tiny overlapping parts are still too many, even though they would coalesce.
  assert.deepEqual(parseRange(`bytes=${Array(MAX_RANGES + 1).fill("0-0").join(",")}`, 10), IGNORE);
});
