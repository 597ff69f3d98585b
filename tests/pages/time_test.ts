/**
 * time_test.ts — the `/time` page as a handler (no sockets), isoWithOffset's
 * formatting table, and the host-offset default under real time zones (a
 * child process per TZ, since a process cannot change its own zone).
 */

import assert from "node:assert/strict";
import { errorResponse } from "../../lib/error_page.ts";
import { HttpError } from "../../lib/http/http_error.ts";
import { writeResponse } from "../../lib/http/response_writer.ts";
import { isoWithOffset, timePage } from "../../lib/pages/time.ts";
import { ByteSink } from "../_support/bytes.ts";
import { parseResponses } from "../_support/server.ts";

const CAN_RUN = Deno.permissions.querySync({ name: "run" }).state === "granted";

/** A fixed instant: Monday 23 November 2026, 05:10:00.123 UTC. */
const NOW = new Date(Date.UTC(2026, 10, 23, 5, 10, 0, 123));

Deno.test("isoWithOffset formats fixed instants at fixed offsets", async (t) => {
  const CASES: { name: string; date: Date; offset: number; want: string }[] = [
    { name: "UTC is +00:00, not Z", date: NOW, offset: 0, want: "2026-11-23T05:10:00.123+00:00" },
    { name: "negative zero", date: NOW, offset: -0, want: "2026-11-23T05:10:00.123+00:00" },
    { name: "+01:00", date: NOW, offset: 60, want: "2026-11-23T06:10:00.123+01:00" },
    { name: "India +05:30", date: NOW, offset: 330, want: "2026-11-23T10:40:00.123+05:30" },
    { name: "Nepal +05:45", date: NOW, offset: 345, want: "2026-11-23T10:55:00.123+05:45" },
    { name: "Pacific -08:00", date: NOW, offset: -480, want: "2026-11-22T21:10:00.123-08:00" },
    { name: "Marquesas -09:30", date: NOW, offset: -570, want: "2026-11-22T19:40:00.123-09:30" },
    { name: "Kiribati +14:00", date: NOW, offset: 840, want: "2026-11-23T19:10:00.123+14:00" },
    { name: "largest offset", date: NOW, offset: 1439, want: "2026-11-24T05:09:00.123+23:59" },
    { name: "smallest offset", date: NOW, offset: -1439, want: "2026-11-22T05:11:00.123-23:59" },
    {
      name: "forward across a year",
      date: new Date(Date.UTC(2026, 11, 31, 23, 30)),
      offset: 60,
      want: "2027-01-01T00:30:00.000+01:00",
    },
    {
      name: "back across a year",
      date: new Date(Date.UTC(2027, 0, 1, 3, 0)),
      offset: -480,
      want: "2026-12-31T19:00:00.000-08:00",
    },
    {
      name: "onto a leap day",
      date: new Date(Date.UTC(2028, 1, 28, 20, 0)),
      offset: 330,
      want: "2028-02-29T01:30:00.000+05:30",
    },
    { name: "the epoch", date: new Date(0), offset: 0, want: "1970-01-01T00:00:00.000+00:00" },
    {
      name: "before the epoch",
      date: new Date(Date.UTC(1969, 6, 20, 20, 17, 40)),
      offset: -300,
      want: "1969-07-20T15:17:40.000-05:00",
    },
    {
      name: "fractional offset is rounded to a minute",
      date: NOW,
      offset: 19.5333,
      want: "2026-11-23T05:30:00.123+00:20",
    },
    {
      name: "offset rounding to zero stays +00:00",
      date: NOW,
      offset: -0.4,
      want: "2026-11-23T05:10:00.123+00:00",
    },
  ];
  for (const c of CASES) {
    await t.step(c.name, () => {
      const got = isoWithOffset(c.date, c.offset);
      assert.equal(got, c.want);
      // The string names the same instant (to the minute the offset was rounded to).
      const drift = Math.abs(Date.parse(got) - c.date.getTime());
      assert.ok(drift < 60_000, `${got} is ${drift} ms off`);
      assert.ok(!got.endsWith("Z"));
    });
  }
});

Deno.test("isoWithOffset round-trips through Date.parse at every quarter-hour offset", () => {
  const instants = [0, 951_782_400_000, NOW.getTime(), 4_102_444_799_999, -1];
  for (const ms of instants) {
    for (let offset = -1425; offset <= 1425; offset += 15) {
      const got = isoWithOffset(new Date(ms), offset);
      assert.match(got, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/, got);
      assert.equal(Date.parse(got), ms, `${got} at offset ${offset}`);
    }
  }
});

Deno.test("isoWithOffset defaults to the host's offset at that instant", () => {
  for (const date of [NOW, new Date(Date.UTC(2026, 6, 1, 12)), new Date(0)]) {
    const offset = -date.getTimezoneOffset();
    assert.equal(isoWithOffset(date), isoWithOffset(date, offset));
    assert.equal(Date.parse(isoWithOffset(date)), date.getTime());
  }
});

Deno.test("isoWithOffset refuses an invalid date and an impossible offset", async (t) => {
  const CASES: { name: string; date: Date; offset?: number }[] = [
    { name: "invalid date", date: new Date(NaN) },
    { name: "invalid date with offset", date: new Date("nope"), offset: 0 },
    { name: "24 hours east", date: NOW, offset: 1440 },
    { name: "24 hours west", date: NOW, offset: -1440 },
    { name: "NaN offset", date: NOW, offset: NaN },
    { name: "infinite offset", date: NOW, offset: Infinity },
  ];
  for (const c of CASES) {
    await t.step(c.name, () => {
      assert.throws(
        () => c.offset === undefined ? isoWithOffset(c.date) : isoWithOffset(c.date, c.offset),
        RangeError,
      );
    });
  }
});

/** get builds a request to /time; the handler needs no socket. */
function get(accept?: string, method = "GET"): Request {
  return new Request("http://localhost/time", {
    method,
    headers: accept === undefined ? {} : { accept },
  });
}

const EXPECTED_ISO = isoWithOffset(NOW);

Deno.test("timePage answers GET with an HTML page showing the time", async () => {
  const res = timePage(get(), NOW);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.equal(res.headers.get("vary"), "Accept");
  const bytes = new Uint8Array(await res.arrayBuffer());
  assert.equal(res.headers.get("content-length"), String(bytes.length));
  const body = new TextDecoder().decode(bytes);
  assert.match(body, /^<!doctype html>/);
  assert.ok(body.includes('<meta name="viewport"'), "responsive viewport");
  assert.ok(body.includes(`<time datetime="${EXPECTED_ISO}">`), body);
  assert.ok(body.includes(`<code>${EXPECTED_ISO}</code>`));
});

Deno.test("timePage's human-readable form follows the ISO fields", async () => {
  // The test host's zone is unknown, so check the words against its own offset.
  const body = await timePage(get(), NOW).text();
  const offset = -NOW.getTimezoneOffset();
  const local = new Date(NOW.getTime() + offset * 60_000);
  const day = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"][
    local.getUTCDay()
  ];
  const clock = EXPECTED_ISO.slice(11, 19);
  const wanted = `${day}, ${local.getUTCDate()} November 2026, ${clock} (UTC${
    EXPECTED_ISO.slice(-6)
  })`;
  assert.ok(body.includes(wanted), `missing "${wanted}"`);
});

Deno.test("timePage answers JSON when Accept prefers application/json", async () => {
  const res = timePage(get("application/json"), NOW);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  const text = await res.text();
  assert.equal(res.headers.get("content-length"), String(new TextEncoder().encode(text).length));
  assert.ok(text.endsWith("}\n"));
  assert.deepEqual(JSON.parse(text), {
    time: EXPECTED_ISO,
    unix_ms: NOW.getTime(),
    timezone_offset_minutes: -NOW.getTimezoneOffset() || 0,
  });
  assert.deepEqual(Object.keys(JSON.parse(text)), ["time", "unix_ms", "timezone_offset_minutes"]);
});

Deno.test("timePage negotiates by q-value, HTML on ties and for anything unknown", async (t) => {
  const CASES: [accept: string | undefined, type: string][] = [
    [undefined, "text/html"],
    ["", "text/html"],
    ["*/*", "text/html"],
    ["text/html", "text/html"],
    ["application/json", "application/json"],
    ["APPLICATION/JSON", "application/json"],
    ["application/*", "application/json"],
    ["application/json, text/html", "text/html"],
    ["text/html;q=0.9, application/json", "application/json"],
    ["application/json;q=0.5, text/html", "text/html"],
    ["application/json, */*;q=0.1", "application/json"],
    ["application/json;q=0", "text/html"],
    ["image/png", "text/html"],
    ["text/plain", "text/plain"],
    ["text/plain, application/json;q=0.8", "text/plain"],
    ["garbage;;;,,", "text/html"],
  ];
  for (const [accept, type] of CASES) {
    await t.step(accept ?? "(no Accept)", () => {
      const res = timePage(get(accept), NOW);
      assert.equal(res.headers.get("content-type"), `${type}; charset=utf-8`);
    });
  }
});

Deno.test("timePage answers text/plain with one ISO line", async () => {
  const res = timePage(get("text/plain"), NOW);
  assert.equal(await res.text(), `${EXPECTED_ISO}\n`);
});

Deno.test("timePage answers HEAD as GET: same headers, same Content-Length", async (t) => {
  // The writer sends a HEAD's head alone: see "timePage's HEAD reaches the wire…" below.
  for (const accept of [undefined, "application/json", "text/plain"]) {
    await t.step(accept ?? "html", async () => {
      const getRes = timePage(get(accept), NOW);
      const headRes = timePage(get(accept, "HEAD"), NOW);
      assert.equal(headRes.status, 200);
      assert.deepEqual([...headRes.headers], [...getRes.headers]);
      const length = (await getRes.arrayBuffer()).byteLength;
      assert.equal(headRes.headers.get("content-length"), String(length));
      assert.ok(length > 0);
      await headRes.body?.cancel();
    });
  }
});

Deno.test("timePage refuses other methods with 405 and Allow: GET, HEAD", async (t) => {
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"]) {
    await t.step(method, () => {
      assert.throws(
        () => timePage(get(undefined, method), NOW),
        (err) => {
          assert.ok(err instanceof HttpError);
          assert.equal(err.status, 405);
          assert.equal(new Headers(err.headers).get("allow"), "GET, HEAD");
          // And the one place that turns it into a reply keeps the header.
          const res = errorResponse(err);
          assert.equal(res.status, 405);
          assert.equal(res.headers.get("allow"), "GET, HEAD");
          return true;
        },
      );
    });
  }
});

Deno.test("timePage echoes nothing from the request", async () => {
  const request = new Request("http://localhost/time?<script>alert(1)</script>", {
    headers: { accept: "text/html", "x-evil": "<img src=x onerror=alert(1)>" },
  });
  const body = await timePage(request, NOW).text();
  assert.ok(!body.includes("<script"));
  assert.ok(!body.includes("onerror"));
  assert.ok(!body.includes("alert"));
});

Deno.test("timePage uses the current time when none is given", async () => {
  const before = Date.now();
  const json = await timePage(get("application/json")).json();
  const after = Date.now();
  assert.ok(json.unix_ms >= before && json.unix_ms <= after);
  assert.equal(Date.parse(json.time), json.unix_ms);
});

Deno.test({
  name: "timePage writes the host zone's offset, never Z, under real time zones",
  ignore: !CAN_RUN,
  async fn(t) {
    const module = new URL("../../lib/pages/time.ts", import.meta.url).href;
    const CASES: { tz: string; winter: string; summer: string; offset: number }[] = [
      { tz: "UTC", winter: "+00:00", summer: "+00:00", offset: 0 },
      { tz: "Asia/Kolkata", winter: "+05:30", summer: "+05:30", offset: 330 },
      { tz: "America/Los_Angeles", winter: "-08:00", summer: "-07:00", offset: -480 },
      { tz: "Europe/Amsterdam", winter: "+01:00", summer: "+02:00", offset: 60 },
    ];
    const script = `
      import { timePage } from ${JSON.stringify(module)};
      const at = (ms) => timePage(new Request("http://x/time", { headers: { accept: "application/json" } }), new Date(ms)).json();
      console.log(JSON.stringify([await at(${NOW.getTime()}), await at(${
      Date.UTC(2026, 6, 1, 12)
    })]));
    `;
    for (const c of CASES) {
      await t.step(c.tz, async () => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["eval", "--no-config", script],
          env: { TZ: c.tz },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 0, stderr);
        const [winter, summer] = JSON.parse(new TextDecoder().decode(out.stdout));
        assert.ok(winter.time.endsWith(c.winter), winter.time);
        assert.ok(summer.time.endsWith(c.summer), summer.time);
        assert.equal(winter.timezone_offset_minutes, c.offset);
        assert.equal(Date.parse(winter.time), NOW.getTime());
        assert.ok(!winter.time.endsWith("Z"));
      });
    }
  },
});

Deno.test("timePage's HEAD reaches the wire with GET's Content-Length and no body", async () => {
  const sink = new ByteSink();
  const options = { minor: 1 as const, keepAlive: true, server: "" };
  await writeResponse(sink, timePage(get(), NOW), { ...options, head: false });
  await writeResponse(sink, timePage(get(undefined, "HEAD"), NOW), { ...options, head: true });
  const [getRes, headRes] = parseResponses(sink.bytes(), { headMethods: ["GET", "HEAD"] });
  assert.ok(getRes && headRes);
  assert.equal(getRes.header("content-length"), String(getRes.body.length));
  assert.equal(headRes.header("content-length"), getRes.header("content-length"));
  assert.equal(headRes.body.length, 0);
  assert.equal(headRes.header("cache-control"), "no-store");
});
