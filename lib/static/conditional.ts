/**
 * conditional.ts — conditional requests (RFC 9110 §13): If-Match,
 * If-Unmodified-Since, If-None-Match and If-Modified-Since, evaluated in the
 * order of §13.2.2, and If-Range (§13.1.5). Pure: fields and validators in,
 * a verdict out. Fields come through a {@linkcode FieldSource}, so a web
 * `Headers` and a parsed head are judged by the same code.
 */

import type { FieldSource } from "../http/fields.ts";
import { parseHttpDate } from "../http/http_date.ts";

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
