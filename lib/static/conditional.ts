/**
 * conditional.ts — conditional requests (RFC 9110 §13): If-Match,
 * If-Unmodified-Since, If-None-Match and If-Modified-Since, evaluated in the
 * order of §13.2.2, and If-Range (§13.1.5). Pure: fields and validators in,
 * a verdict out. Fields come through a {@linkcode FieldSource}, so a web
 * `Headers` and a parsed head are judged by the same code.
 */

import type { FieldSource } from "../http/fields.ts";

/** Validators are what a representation is compared by. */
export interface Validators {
  /** The strong entity tag, quotes included, e.g. `"1f-18b3c2"`. */
  etag: string;
  /** Last modification, in ms since the epoch; undefined when unknown. */
  lastModified: number | undefined;
}

/** Precondition is the outcome: serve normally, answer 304, or answer 412. */
export type Precondition = "pass" | "not-modified" | "failed";

/**
 * evaluatePreconditions applies the conditional headers of a request with
 * `method` and `headers` to a representation with `validators`.
 */
export function evaluatePreconditions(
  method: string,
  headers: FieldSource,
  validators: Validators,
): Precondition {
  const safe = method === "GET" || method === "HEAD";
  const lastModified = validators.lastModified === undefined
    ? undefined
    : Math.floor(validators.lastModified / 1000) * 1000; // HTTP dates have whole seconds

  // Step 1: If-Match, strong comparison (§13.1.1).
  const ifMatch = headers.get("if-match");
  if (ifMatch !== null) {
    if (!matches(ifMatch, validators.etag, "strong")) return "failed";
  } else {
    // Step 2: If-Unmodified-Since, only without If-Match (§13.1.4).
    const since = parseHttpDate(headers.get("if-unmodified-since"));
    if (since !== undefined && lastModified !== undefined && lastModified > since) return "failed";
  }

  // Step 3: If-None-Match, weak comparison (§13.1.2).
  const ifNoneMatch = headers.get("if-none-match");
  if (ifNoneMatch !== null) {
    if (matches(ifNoneMatch, validators.etag, "weak")) return safe ? "not-modified" : "failed";
    return "pass";
  }

  // Step 4: If-Modified-Since, only for GET and HEAD without If-None-Match (§13.1.3).
  if (safe) {
    const since = parseHttpDate(headers.get("if-modified-since"));
    if (since !== undefined && lastModified !== undefined && lastModified <= since) {
      return "not-modified";
    }
  }
  return "pass";
}

/**
 * ifRangeHolds applies If-Range (RFC 9110 §13.1.5): a Range is honoured only
 * when the validator it carries still matches, compared strongly; a date
 * works only if it is exactly Last-Modified. No If-Range: it holds.
 */
export function ifRangeHolds(headers: FieldSource, validators: Validators): boolean {
  const ifRange = headers.get("if-range");
  if (ifRange === null) return true;
  const value = ifRange.replace(/^[ \t]+|[ \t]+$/g, "");
  if (value.startsWith('"')) return value === validators.etag; // strong comparison only
  if (value.startsWith("W/")) return false;
  const date = parseHttpDate(value);
  return date !== undefined && validators.lastModified !== undefined &&
    date === Math.floor(validators.lastModified / 1000) * 1000;
}

/** matches tells whether the If-Match / If-None-Match list `field` names `etag` ("*" names any). */
export function matches(field: string, etag: string, comparison: "strong" | "weak"): boolean {
  if (field.trim() === "*") return true;
  const ours = parseEntityTag(etag);
  if (ours === undefined) return false;
  for (const candidate of splitEntityTags(field)) {
    const theirs = parseEntityTag(candidate);
    if (theirs === undefined) continue;
    if (comparison === "strong" && (theirs.weak || ours.weak)) continue;
    if (theirs.opaque === ours.opaque) return true;
  }
  return false;
}

/** Splits a list of entity tags on commas outside quotes (an opaque tag may contain a comma). */
function splitEntityTags(field: string): string[] {
  return field.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

function parseEntityTag(tag: string): { weak: boolean; opaque: string } | undefined {
  const match = /^\s*(W\/)?("[\x21\x23-\x7e\x80-\xff]*")\s*$/.exec(tag);
  return match ? { weak: match[1] !== undefined, opaque: match[2]! } : undefined;
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

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** dateFrom builds a UTC time, or undefined for an impossible date such as 31 Feb. */
function dateFrom(
  year: number,
  monthName: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
): number | undefined {
  const month = MONTHS.indexOf(monthName);
  const [d, h, mi, s] = [Number(day), Number(hour), Number(minute), Number(second)];
  if (month < 0 || h > 23 || mi > 59 || s > 60) return undefined;
  const time = Date.UTC(year, month, d, h, mi, Math.min(s, 59));
  return new Date(time).getUTCDate() === d ? time : undefined;
}
