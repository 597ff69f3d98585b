/**
 * board_store_suite.ts — the one suite every board store passes (the
 * contract of lib/pages/board_store.ts): run against SQLite by
 * tests/pages/board_sqlite_test.ts and against PostgreSQL by
 * tests/pages/board_postgres_test.ts, each with a {@linkcode StoreFixture}
 * that knows how to make an empty store and look inside it.
 */

import assert from "node:assert/strict";
import { PostgresBoardStore } from "../../lib/pages/board_postgres.ts";
import { type BoardStore, SCHEMA_VERSION, StoreUnavailable } from "../../lib/pages/board_store.ts";

/** StoreFixture is what the suite needs from one kind of store, beyond the interface. */
export interface StoreFixture {
  /** fresh makes an empty place for a store (a directory, a database) and returns its name. */
  fresh(): Promise<string>;
  /** open opens a store on `place`. */
  open(place: string): BoardStore;
  /** bulk inserts posts "post 1" … "post N" straight into `place`, in one transaction. */
  bulk(place: string, count: number): Promise<void>;
  /** plan is the query plan of the store's page query, `before` or not. */
  plan(place: string, before: boolean): Promise<string>;
  /** versions lists the rows of `schema_version`. */
  versions(place: string): Promise<number[]>;
}

/** A flood the page query must not read whole. */
export const FLOOD = 10_000;

/** BOARD_STORE_CASES are the shared suite: every store must pass each. */
export const BOARD_STORE_CASES: [name: string, fn: (fixture: StoreFixture) => Promise<void>][] = [
  ["an empty store: no posts, count 0, ping answers", async (f) => {
    const store = f.open(await f.fresh());
    try {
      assert.deepEqual(await store.newest(10), []);
      assert.equal(await store.count(), 0);
      await store.ping();
    } finally {
      await store.close();
    }
  }],
  ["add returns increasing ids; newest pages backwards from a cursor", async (f) => {
    const store = f.open(await f.fresh());
    try {
      const ids = [];
      for (let i = 1; i <= 7; i++) ids.push(await store.add(`post ${i}`, 1_700_000_000_000 + i));
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, "increasing");
      assert.equal(await store.count(), 7);
      const first = await store.newest(3);
      assert.deepEqual(first.map((p) => p.body), ["post 7", "post 6", "post 5"]);
      assert.deepEqual(first.map((p) => p.postedAt), [7, 6, 5].map((i) => 1_700_000_000_000 + i));
      const second = await store.newest(3, first.at(-1)!.id);
      assert.deepEqual(second.map((p) => p.body), ["post 4", "post 3", "post 2"]);
      const last = await store.newest(3, second.at(-1)!.id);
      assert.deepEqual(last.map((p) => p.body), ["post 1"]);
      assert.deepEqual(await store.newest(3, last[0]!.id), []);
    } finally {
      await store.close();
    }
  }],
  ["text comes back exactly: unicode, markup, line breaks, 2000 characters", async (f) => {
    const store = f.open(await f.fresh());
    try {
      const bodies = [
        "ünïcödé 😀 漢字",
        "<script>alert(1)</script> & 'q' \"",
        "a\nb\tc",
        "x".repeat(2000),
      ];
      for (const body of bodies) await store.add(body, 0);
      assert.deepEqual((await store.newest(10)).map((p) => p.body).toReversed(), bodies);
    } finally {
      await store.close();
    }
  }],
  ["clear deletes every post; posting goes on after it", async (f) => {
    const store = f.open(await f.fresh());
    try {
      for (let i = 0; i < 5; i++) await store.add(`p${i}`, i);
      await store.clear();
      assert.equal(await store.count(), 0);
      assert.deepEqual(await store.newest(10), []);
      await store.add("after", 9);
      assert.deepEqual((await store.newest(10)).map((p) => p.body), ["after"]);
    } finally {
      await store.close();
    }
  }],
  ["posts survive closing and reopening; the schema is versioned once", async (f) => {
    const place = await f.fresh();
    const first = f.open(place);
    await first.add("kept", 1);
    await first.close();
    await first.close(); // a second close does nothing
    const second = f.open(place);
    try {
      assert.deepEqual((await second.newest(5)).map((p) => p.body), ["kept"]);
      assert.deepEqual(await f.versions(place), [SCHEMA_VERSION]);
    } finally {
      await second.close();
    }
  }],
  ["concurrent adds all commit, each with its own id", async (f) => {
    const store = f.open(await f.fresh());
    try {
      const ids = await Promise.all(
        Array.from({ length: 25 }, (_, i) => store.add(`c${i}`, i)),
      );
      assert.equal(new Set(ids).size, 25);
      assert.equal(await store.count(), 25);
    } finally {
      await store.close();
    }
  }],
  [`${FLOOD} posts: a page reads LIMIT rows along the primary key`, async (f) => {
    const place = await f.fresh();
    const store = f.open(place);
    try {
      await store.ping(); // the schema exists
      await f.bulk(place, FLOOD);
      assert.equal(await store.count(), FLOOD);
      const page = await store.newest(51);
      assert.equal(page.length, 51);
      assert.equal(page[0]!.body, `post ${FLOOD}`);
      const older = await store.newest(51, page.at(-1)!.id);
      assert.equal(older[0]!.body, `post ${FLOOD - 51}`);
      for (const before of [false, true]) {
        const plan = await f.plan(place, before);
        assert.doesNotMatch(plan, /TEMP B-TREE|Sort|Seq Scan/, plan);
      }
    } finally {
      await store.close();
    }
  }],
  ["a closed store rejects; the board then answers 503", async (f) => {
    const store = f.open(await f.fresh());
    await store.close();
    await assert.rejects(store.add("late", 0));
    if (store instanceof PostgresBoardStore) {
      await assert.rejects(store.add("late", 0), StoreUnavailable);
    }
  }],
];

/** runBoardStoreSuite runs every case of {@linkcode BOARD_STORE_CASES} as a step of `t`. */
export async function runBoardStoreSuite(
  t: Deno.TestContext,
  fixture: StoreFixture,
): Promise<void> {
  for (const [name, fn] of BOARD_STORE_CASES) await t.step(name, () => fn(fixture));
}
