import assert from "node:assert/strict";
import {
  httpDate,
  MONTH_NAMES,
  monthIndex,
  monthName,
  parseHttpDate,
} from "../../lib/http/http_date.ts";

/** An IMF-fixdate (RFC 9110 §5.6.7). */
const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

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

Deno.test("httpDate is the current time as an IMF-fixdate", () => {
  const before = Math.floor(Date.now() / 1000) * 1000;
  const value = httpDate();
  const after = Date.now();
  assert.match(value, IMF_FIXDATE);
  const when = Date.parse(value);
  assert.ok(when >= before && when <= after, `${value} is now`);
  assert.equal(new Date(when).toUTCString(), value);
});

Deno.test("parseHttpDate: the three formats of RFC 9110 §5.6.7", async (t) => {
  const WANT = Date.UTC(1994, 10, 6, 8, 49, 37);
  const VALID: Array<[string, string]> = [
    ["IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT"],
    ["obsolete RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT"],
    ["obsolete asctime", "Sun Nov  6 08:49:37 1994"],
    ["IMF-fixdate with surrounding space", "  Sun, 06 Nov 1994 08:49:37 GMT "],
  ];
  for (const [name, value] of VALID) {
    await t.step(name, () => assert.equal(parseHttpDate(value), WANT));
  }
  await t.step("asctime with a two-digit day", () => {
    assert.equal(parseHttpDate("Wed Nov 16 08:49:37 1994"), Date.UTC(1994, 10, 16, 8, 49, 37));
  });

  const INVALID: Array<[string, string | null]> = [
    ["missing", null],
    ["empty", ""],
    ["lower case (HTTP-date is case-sensitive)", "sun, 06 nov 1994 08:49:37 gmt"],
    ["numeric zone", "Sun, 06 Nov 1994 08:49:37 +0000"],
    ["UTC instead of GMT", "Sun, 06 Nov 1994 08:49:37 UTC"],
    ["one-digit day in IMF-fixdate", "Sun, 6 Nov 1994 08:49:37 GMT"],
    ["hour 25", "Sun, 06 Nov 1994 25:00:00 GMT"],
    ["ISO 8601", "1994-11-06T08:49:37Z"],
    ["epoch seconds", "784111777"],
    ["words", "yesterday"],
  ];
  for (const [name, value] of INVALID) {
    await t.step(`invalid: ${name}`, () => assert.equal(parseHttpDate(value), undefined));
  }
});
