/**
 * http_date.ts — HTTP dates (RFC 9110 §5.6.7) in one place: the writer's
 * `Date` field (httpDate), the parsing of `If-Modified-Since` and its kin
 * (parseHttpDate), and the month names, which the access log's common log
 * format (`10/Oct/2000:13:55:36 +0000`) shares.
 *
 * The names are spelled out rather than asked of `Intl`, whose output
 * varies with the host's locale data; HTTP's are fixed, English and
 * case-sensitive.
 */

/** MONTH_NAMES are the `month` tokens of an IMF-fixdate, January first (RFC 9110 §5.6.7). */
export const MONTH_NAMES: readonly string[] = [
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
];

/**
 * monthIndex takes a month token and returns its index, 0 for "Jan" to 11
 * for "Dec", or -1 when it is none of them (the match is case-sensitive, as
 * RFC 9110 §5.6.7 writes the grammar). It never throws.
 */
export function monthIndex(name: string): number {
  return MONTH_NAMES.indexOf(name);
}

/**
 * monthName takes a month number as `Date.getUTCMonth` returns it (0 to 11)
 * and returns its three-letter token. Throws a RangeError for any other
 * number.
 */
export function monthName(month: number): string {
  const name = MONTH_NAMES[month];
  if (name === undefined) {
    throw new RangeError(`Cannot name month "${month}": value must be an integer from 0 to 11`);
  }
  return name;
}

let dateSecond = -1;
let dateValue = "";

/** httpDate returns the current time as an IMF-fixdate (RFC 9110 §5.6.7), recomputed once a second. */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(second * 1000).toUTCString();
  }
  return dateValue;
}

/**
 * parseHttpDate reads an HTTP date (IMF-fixdate, or the obsolete RFC 850
 * and asctime forms a recipient must accept, RFC 9110 §5.6.7). Returns ms
 * since the epoch, or undefined for a missing or invalid value (which the
 * conditional headers then ignore).
 */
export function parseHttpDate(value: string | null): number | undefined {
  if (value === null) return undefined;
  const v = value.replace(/^[ \t]+|[ \t]+$/g, "");
  let m =
    /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/
      .exec(v);
  if (m) return dateFrom(Number(m[3]), m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  m =
    /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/
      .exec(v);
  if (m) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future
    // means the most recent past year with those digits.
    const thisYear = new Date().getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return dateFrom(year, m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  }
  m = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/
    .exec(v);
  if (m) return dateFrom(Number(m[6]), m[1]!, m[2]!.trim(), m[3]!, m[4]!, m[5]!);
  return undefined;
}

/** dateFrom builds a UTC time, or undefined for an impossible date such as 31 Feb. */
function dateFrom(
  year: number,
  monthName: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
): number | undefined {
  const month = monthIndex(monthName);
  const [d, h, mi, s] = [Number(day), Number(hour), Number(minute), Number(second)];
  if (month < 0 || h > 23 || mi > 59 || s > 60) return undefined;
  const time = Date.UTC(year, month, d, h, mi, Math.min(s, 59));
  return new Date(time).getUTCDate() === d ? time : undefined;
}
