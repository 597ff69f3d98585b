/**
 * board_store_test.ts — lib/pages/board_store.ts: what the board needs from
 * a database. The contract itself is one suite that every store passes
 * (tests/_support/board_store_suite.ts), run against SQLite in
 * board_sqlite_test.ts and against PostgreSQL in board_postgres_test.ts;
 * here, the error every store rejects with and the schema version.
 */

import assert from "node:assert/strict";
import { SCHEMA_VERSION, StoreUnavailable } from "../../lib/pages/board_store.ts";
import { BOARD_STORE_CASES } from "../_support/board_store_suite.ts";

Deno.test("StoreUnavailable is an Error with its own name that keeps its cause", () => {
  const cause = new Deno.errors.ConnectionRefused("connect ECONNREFUSED 127.0.0.1:5432");
  const err = new StoreUnavailable("PostgreSQL board store failed", { cause });
  assert.ok(err instanceof Error);
  assert.equal(err.name, "StoreUnavailable");
  assert.equal(err.message, "PostgreSQL board store failed");
  assert.equal(err.cause, cause);
  assert.match(String(err), /^StoreUnavailable: PostgreSQL board store failed$/);
  assert.equal(new StoreUnavailable("x").cause, undefined);
});

Deno.test("SCHEMA_VERSION is a positive whole number", () => {
  assert.ok(Number.isSafeInteger(SCHEMA_VERSION) && SCHEMA_VERSION >= 1);
});

Deno.test("the shared store suite covers every method of the contract", () => {
  const names = BOARD_STORE_CASES.map(([name]) => name).join("\n");
  for (const method of ["add", "newest", "clear", "count", "ping", "clos"]) {
    assert.match(names, new RegExp(`\\b${method}`), `no case names ${method}`);
  }
  assert.equal(new Set(BOARD_STORE_CASES.map(([name]) => name)).size, BOARD_STORE_CASES.length);
});
