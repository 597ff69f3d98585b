import assert from "node:assert/strict";
import { MONTH_NAMES, monthIndex, monthName } from "../../lib/http/http_date.ts";

Deno.test("http_date: the twelve tokens of RFC 9110 §5.6.7, January first", () => {
  assert.deepEqual(MONTH_NAMES, [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
  ]);
});

Deno.test("http_date: monthName and monthIndex agree with Date for every month", () => {
  for (let month = 0; month < 12; month++) {
    const date = new Date(Date.UTC(2026, month, 15));
    // toUTCString writes an IMF-fixdate: "Thu, 15 Jan 2026 00:00:00 GMT".
    const token = date.toUTCString().split(" ")[2]!;
    assert.equal(monthName(date.getUTCMonth()), token);
    assert.equal(monthIndex(token), month);
  }
});

Deno.test("http_date: monthIndex refuses what is not a token, case included", async (t) => {
  for (const input of ["", "jan", "JAN", "January", "Ja", " Jan", "Jan ", "Sept", "13"]) {
    await t.step(JSON.stringify(input), () => assert.equal(monthIndex(input), -1));
  }
});

Deno.test("http_date: monthName throws a RangeError outside 0 to 11", async (t) => {
  for (const month of [-1, 12, 1.5, Number.NaN]) {
    await t.step(String(month), () => assert.throws(() => monthName(month), RangeError));
  }
});
