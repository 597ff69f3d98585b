import assert from "node:assert/strict";
import {
  connectionCapFor,
  countFreeDescriptors,
  DEFAULT_MAX_CONNECTIONS,
  ENOUGH_DESCRIPTORS,
  MIN_CONNECTIONS,
} from "../lib/descriptor_budget.ts";

Deno.test("connectionCapFor: two descriptors per connection after a reserve, bounded both ways", () => {
  const table: [free: number, workers: number, cap: number][] = [
    [1024, 1, 480], // the usual soft limit: 1024 would run out
    [160, 1, 48],
    [ENOUGH_DESCRIPTORS, 1, DEFAULT_MAX_CONNECTIONS],
    [1_000_000, 1, DEFAULT_MAX_CONNECTIONS],
    [1024, 2, 240], // workers share one process's table
    [64, 1, MIN_CONNECTIONS],
    [0, 1, MIN_CONNECTIONS],
  ];
  for (const [free, workers, cap] of table) {
    assert.equal(connectionCapFor(free, workers), cap, `${free} free, ${workers} workers`);
  }
});

Deno.test("countFreeDescriptors stops at enough, closes what it opened, and says when it cannot count", () => {
  const dir = Deno.makeTempDirSync();
  try {
    assert.deepEqual(countFreeDescriptors(dir, 50), { free: 50, atLeast: true });
    // Everything it opened was closed: a second count finds as many.
    assert.deepEqual(countFreeDescriptors(dir, 50), { free: 50, atLeast: true });
    assert.equal(countFreeDescriptors(`${dir}/missing`, 50), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
