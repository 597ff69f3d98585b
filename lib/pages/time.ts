/**
 * time.ts — the `/time` page: the server's current time, the lessons'
 * first dynamic page.
 *
 * It is a plain handler, `Request → Response`, with the clock passed in so
 * tests can fix it. The time is written in ISO 8601 with the server's own
 * UTC offset (`2026-11-23T06:10:00.123+01:00`) rather than `Z`, because the
 * point of the page is the server's wall clock, and an offset keeps the
 * string an exact instant all the same. Browsers get HTML, programs that ask
 * for `application/json` get JSON, and `text/plain` gets one line.
 */

import { html, htmlDocument, NOTE_STYLE } from "../html.ts";
import { preferredFormat } from "../negotiate.ts";
import { jsonBody, onlyReads, type PageBody, pageResponse, textBody } from "./page.ts";

/** The widest UTC offset we accept, in minutes: RFC 3339 §5.6 has two digits of hours. */
const MAX_OFFSET_MINUTES = 23 * 60 + 59;

/**
 * TIME_HEADERS: the body depends on Accept, so a shared cache must key on it
 * (RFC 9110 §12.5.5); the page is static markup plus one inline style, so
 * nothing else may load or run.
 */
const TIME_HEADERS: Readonly<Record<string, string>> = {
  "vary": "Accept",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
};

/**
 * isoWithOffset formats `date` as ISO 8601 / RFC 3339 local time with a
 * numeric UTC offset and milliseconds, e.g. `2026-11-23T06:10:00.123+01:00`.
 * `offsetMinutes` is east of UTC, the opposite sign of `getTimezoneOffset`
 * (which answers "what to add to local time to get UTC"); it defaults to the
 * host's offset at that instant, so summer time is taken into account. A zero
 * offset is written `+00:00`, never `Z`, so every answer has the same shape.
 * A fractional offset (historical local mean time) is rounded to whole
 * minutes, since RFC 3339 offsets have no seconds; the result still names
 * the same instant. Throws a RangeError for an invalid date or an offset
 * beyond ±23:59.
 */
export function isoWithOffset(
  date: Date,
  offsetMinutes: number = -date.getTimezoneOffset(),
): string {
  const time = date.getTime();
  if (Number.isNaN(time)) throw new RangeError("Cannot format time: the date is invalid");
  if (!Number.isFinite(offsetMinutes) || Math.abs(offsetMinutes) > MAX_OFFSET_MINUTES) {
    throw new RangeError(
      `Cannot format time with offset "${offsetMinutes}": value must be minutes from -1439 to 1439`,
    );
  }
  const offset = Math.round(offsetMinutes) || 0; // `|| 0` turns -0 into 0, so it prints "+"
  // Shift the instant by the offset and read it back in UTC: its fields are
  // then the local wall-clock fields, without depending on the host's zone.
  const local = new Date(time + offset * 60_000).toISOString(); // "…T06:10:00.123Z"
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  const hours = String(Math.floor(abs / 60)).padStart(2, "0");
  const minutes = String(abs % 60).padStart(2, "0");
  return `${local.slice(0, -1)}${sign}${hours}:${minutes}`;
}

const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/**
 * humanTime writes the wall-clock time of `date` at `offsetMinutes` east of
 * UTC in words, e.g. "Monday, 23 November 2026, 06:10:00 (UTC+01:00)". It is
 * built from the ISO string's own fields, so the two forms on the page can
 * never disagree, and English names are spelled out here rather than asked of
 * Intl, whose output varies with the host's ICU data.
 */
function humanTime(date: Date, offsetMinutes: number): string {
  const iso = isoWithOffset(date, offsetMinutes);
  // The shifted instant read in UTC has the local fields (see isoWithOffset).
  const local = new Date(date.getTime() + (Math.round(offsetMinutes) || 0) * 60_000);
  const weekday = WEEKDAYS[local.getUTCDay()]!;
  const month = MONTHS[local.getUTCMonth()]!;
  const clock = iso.slice(iso.indexOf("T") + 1, iso.indexOf("T") + 9); // "06:10:00"
  return `${weekday}, ${local.getUTCDate()} ${month} ${local.getUTCFullYear()}, ${clock} ` +
    `(UTC${iso.slice(-6)})`;
}

/** TIME_STYLE: the reading itself, large and in figures that do not jump as they change. */
const TIME_STYLE = NOTE_STYLE + "h1{margin:0 0 1rem}" +
  "time{display:block;font-size:clamp(1.1rem,4.5vw,1.6rem);font-weight:600;" +
  "font-variant-numeric:tabular-nums;overflow-wrap:anywhere}" +
  "code{font:0.95em ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}";

/** timeHtml is the page's HTML body: the time in words, and as ISO 8601. */
function timeHtml(date: Date, offsetMinutes: number): PageBody {
  const iso = isoWithOffset(date, offsetMinutes);
  const body = htmlDocument(
    "Server time",
    TIME_STYLE,
    html`
      <h1>Server time</h1>
      <time datetime="${iso}">${humanTime(date, offsetMinutes)}</time>
      <p>ISO 8601: <code>${iso}</code></p>
      <p><a href="">Reload</a> for a new reading, or ask for JSON:
      <code>curl -H 'Accept: application/json' …/time</code></p>
    `,
  );
  return { body, type: "text/html; charset=utf-8" };
}

/**
 * timePage answers GET and HEAD for `/time` with the server's time at `now`:
 * HTML by default, JSON `{"time", "unix_ms", "timezone_offset_minutes"}` when
 * Accept prefers `application/json`, one line of text when it prefers
 * `text/plain` (q-values honoured, RFC 9110 §12.5.1). The response is never
 * cached (`no-store`): a stored copy would be wrong a second later. HEAD gets
 * the same answer, whose head alone the writer sends (RFC 9110 §9.3.2;
 * {@linkcode pageResponse}). Any other method throws a 405
 * `HttpError` with `Allow: GET, HEAD` ({@linkcode onlyReads}).
 */
export function timePage(request: Request, now: Date = new Date()): Response {
  onlyReads(request);
  const offsetMinutes = -now.getTimezoneOffset();
  const format = preferredFormat(request.headers.get("accept"));
  let page: PageBody;
  if (format === "json") {
    page = jsonBody({
      time: isoWithOffset(now, offsetMinutes),
      unix_ms: now.getTime(),
      timezone_offset_minutes: Math.round(offsetMinutes) || 0,
    });
  } else if (format === "text") {
    page = textBody(isoWithOffset(now, offsetMinutes) + "\n");
  } else {
    page = timeHtml(now, offsetMinutes);
  }
  return pageResponse(page, { headers: TIME_HEADERS });
}
