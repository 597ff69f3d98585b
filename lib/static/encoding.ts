/**
 * encoding.ts — content-coding negotiation (RFC 9110 §12.5.3). Pure.
 */

/** Coding is a content coding minserve can send. */
export type Coding = "br" | "gzip" | "identity";

/** CODING_PREFERENCE breaks ties between equal q-values: smaller first. */
export const CODING_PREFERENCE: readonly Coding[] = ["br", "gzip", "identity"];

/** FILE_SUFFIX is the precompressed sibling's suffix for each coding: "app.js" → "app.js.br". */
export const FILE_SUFFIX: Readonly<Record<Exclude<Coding, "identity">, string>> = {
  br: ".br",
  gzip: ".gz",
};

/** IMPLICIT_IDENTITY_Q is identity's rank when Accept-Encoding lists codings but not identity. */
const IMPLICIT_IDENTITY_Q = 0.001;

/**
 * codingQualities reads an Accept-Encoding header into the q-value of each
 * coding minserve has. No header means any coding is acceptable, but
 * identity is then preferred (q 1 against 0.5), since the client did not
 * ask for compression; an empty header means identity only; `*` covers the
 * codings not named; `x-gzip` is gzip (§8.4.1.3). Identity stays acceptable
 * unless excluded by `identity;q=0` or `*;q=0`, but when not named it ranks
 * below every coding the client did name.
 */
export function codingQualities(header: string | null): Readonly<Record<Coding, number>> {
  if (header === null) return NO_HEADER;
  let known = seen.get(header);
  if (known === undefined) {
    known = Object.freeze(readQualities(header));
    if (seen.size >= MAX_SEEN) seen.clear();
    seen.set(header, known);
  }
  return known;
}

const NO_HEADER: Readonly<Record<Coding, number>> = Object.freeze({
  br: 0.5,
  gzip: 0.5,
  identity: 1,
});
/** Accept-Encoding values already read: browsers send the same few on every request. */
const seen = new Map<string, Readonly<Record<Coding, number>>>();
const MAX_SEEN = 64;

function readQualities(header: string): Record<Coding, number> {
  const named = new Map<string, number>();
  for (const part of header.split(",")) {
    const [token, ...params] = part.split(";");
    const name = token!.trim().toLowerCase();
    if (name === "") continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/i.exec(p);
      if (m) q = Math.min(1, Number(m[1]));
    }
    named.set(name === "x-gzip" ? "gzip" : name, q);
  }
  const star = named.get("*");
  // An unnamed identity is acceptable but least preferred: "br;q=0.5" means
  // "br, please", not "identity (q=1) rather than br".
  const q = (c: Coding) => named.get(c) ?? star ?? (c === "identity" ? IMPLICIT_IDENTITY_Q : 0);
  return { br: q("br"), gzip: q("gzip"), identity: q("identity") };
}

/**
 * chooseCoding picks, among the `available` codings, the one the client
 * gives the highest q-value, ties broken by {@linkcode CODING_PREFERENCE}.
 * Identity is always available as a last resort, even when the client
 * excluded it: a response it may not like beats none (§12.5.3 allows either).
 */
export function chooseCoding(
  qualities: Record<Coding, number>,
  available: readonly Coding[],
): Coding {
  let best: Coding = "identity";
  let bestQ = -1;
  for (const coding of CODING_PREFERENCE) {
    if (coding !== "identity" && !available.includes(coding)) continue;
    const q = qualities[coding];
    if (q > 0 && q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  return best;
}
