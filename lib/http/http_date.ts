/**
 * http_date.ts — the month names of HTTP dates (RFC 9110 §5.6.7), in one
 * place for every reader and writer of dates: the preconditions that parse
 * `If-Modified-Since`, and the access log, whose common log format writes
 * `10/Oct/2000:13:55:36 +0000` with the same three-letter names.
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
