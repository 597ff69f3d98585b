import assert from "node:assert/strict";
import { chooseCoding, type Coding, codingQualities } from "../../lib/static/encoding.ts";

Deno.test("codingQualities and chooseCoding: RFC 9110 §12.5.3", async (t) => {
  const BOTH: Coding[] = ["br", "gzip"];
  const CASES: Array<{ name: string; header: string | null; available?: Coding[]; want: Coding }> =
    [
      { name: "no header: identity preferred", header: null, want: "identity" },
      { name: "empty header: identity only", header: "", want: "identity" },
      { name: "gzip only", header: "gzip", want: "gzip" },
      { name: "browser list prefers br", header: "gzip, deflate, br, zstd", want: "br" },
      { name: "q-values decide", header: "br;q=0.5, gzip;q=0.9", want: "gzip" },
      { name: "tie broken by preference", header: "gzip;q=0.8, br;q=0.8", want: "br" },
      { name: "br refused", header: "br;q=0, gzip", want: "gzip" },
      { name: "star covers unnamed codings", header: "*", want: "br" },
      {
        name: "star with gzip excluded",
        header: "*, gzip;q=0",
        available: ["gzip"],
        want: "identity",
      },
      { name: "identity preferred by q", header: "gzip;q=0.5, identity", want: "identity" },
      { name: "x-gzip is gzip", header: "x-gzip", want: "gzip" },
      { name: "case-insensitive", header: "GZIP", want: "gzip" },
      { name: "only unknown codings", header: "zstd, deflate", want: "identity" },
      {
        name: "unavailable coding is skipped",
        header: "br",
        available: ["gzip"],
        want: "identity",
      },
      {
        name: "identity;q=0 still falls back to identity",
        header: "identity;q=0, zstd",
        want: "identity",
      },
      { name: "whitespace around q", header: "br ; q = 0.1 , gzip ; q=0.2", want: "gzip" },
      { name: "invalid q ignored (q=1)", header: "br;q=2, gzip;q=0.5", want: "br" },
    ];
  for (const c of CASES) {
    await t.step(c.name, () => {
      assert.equal(chooseCoding(codingQualities(c.header), c.available ?? BOTH), c.want);
    });
  }
});
