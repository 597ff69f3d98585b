/**
 * version_test.ts — lib/version.ts: the version has one source, deno.json.
 */

import assert from "node:assert/strict";
import { VERSION } from "../lib/version.ts";
import { DENO_JSON } from "./_support/paths.ts";

Deno.test("VERSION is deno.json's version, a semantic version", async () => {
  const meta = JSON.parse(await Deno.readTextFile(DENO_JSON)) as { version?: unknown };
  assert.equal(VERSION, meta.version);
  // Semantic Versioning 2.0.0 §2: MAJOR.MINOR.PATCH without leading zeros, then optional labels.
  assert.match(
    VERSION,
    /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/,
  );
});
