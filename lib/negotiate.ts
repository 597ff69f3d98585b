/**
 * negotiate.ts — proactive negotiation on the Accept header (RFC 9110
 * §12.5.1), shared by listings, dynamic pages and error pages.
 */

/** ListingFormat is a representation minserve can produce for a page: HTML, JSON or plain text. */
export type ListingFormat = "html" | "text" | "json";

const FORMATS: ReadonlyArray<[ListingFormat, string]> = [
  ["html", "text/html"],
  ["json", "application/json"],
  ["text", "text/plain"],
];

/**
 * preferredFormat takes an Accept field value (or null) and returns the
 * format it prefers (RFC 9110 §12.5.1, q-values honoured; HTML on a tie,
 * without Accept, or when it accepts none of the three). Never throws.
 */
export function preferredFormat(accept: string | null): ListingFormat {
  if (accept === null || accept.trim() === "") return "html";
  let best: ListingFormat = "html";
  let bestQ = -1;
  for (const [format, type] of FORMATS) {
    const q = qualityOf(accept, type);
    if (q > bestQ) {
      best = format;
      bestQ = q;
    }
  }
  return bestQ > 0 ? best : "html";
}

/**
 * qualityOf returns the q-value, 0 to 1, that the Accept value `accept`
 * gives the media type `type` (lower case), the most specific range
 * deciding; 0 when unacceptable or unmentioned. Never throws.
 */
export function qualityOf(accept: string, type: string): number {
  const [major] = type.split("/");
  let specificity = -1;
  let quality = 0;
  for (const part of accept.split(",")) {
    const [rangeRaw, ...params] = part.split(";");
    const range = rangeRaw!.trim().toLowerCase();
    const level = range === type ? 2 : range === `${major}/*` ? 1 : range === "*/*" ? 0 : -1;
    if (level <= specificity) continue;
    specificity = level;
    quality = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) quality = Math.min(1, Number(m[1]) || 0);
    }
  }
  return quality;
}
