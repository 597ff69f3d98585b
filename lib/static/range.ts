/**
 * range.ts — the Range header for bytes (RFC 9110 §14). Pure.
 */

/** ByteRange is an inclusive range of byte offsets, as in Content-Range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * RangeResult is the verdict on a Range header: ignore it (serve the whole
 * representation with 200), refuse it (416), or serve these ranges (206).
 */
export type RangeResult =
  | { kind: "ignore" }
  | { kind: "unsatisfiable" }
  | { kind: "ranges"; ranges: ByteRange[] };

/** MAX_RANGES: a Range header with more parts than this is ignored, so no request can ask for thousands of tiny parts. */
export const MAX_RANGES = 16;

/**
 * parseRange parses a Range header against a representation of `size`
 * bytes. A syntactically invalid header, another unit, or too many parts is
 * ignored (§14.2 lets a server ignore Range). Ranges keep the order they
 * were asked in (RFC 9110 §14.6: a client may want the index at the end of a
 * file first); only when some overlap or touch are they coalesced, which
 * §15.3.7.2 allows regardless of order, and then come in ascending order. An
 * empty representation is served whole: some clients send Range on every
 * request.
 */
export function parseRange(header: string, size: number): RangeResult {
  const match = /^bytes[ \t]*=[ \t]*(.*)$/i.exec(header.trim());
  if (match === null) return { kind: "ignore" };
  const parts = match[1]!.split(",").map((p) => p.trim()).filter((p) => p !== "");
  if (parts.length === 0 || parts.length > MAX_RANGES) return { kind: "ignore" };

  const ranges: ByteRange[] = [];
  for (const part of parts) {
    const m = /^(\d*)-(\d*)$/.exec(part);
    if (m === null || (m[1] === "" && m[2] === "")) return { kind: "ignore" };
    if (m[1] === "") {
      // suffix-range: the last N bytes (§14.1.1)
      const suffix = byteOffset(m[2]!);
      if (suffix > 0 && size > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = byteOffset(m[1]!);
    if (m[2] !== "" && byteOffset(m[2]!) < start) return { kind: "ignore" }; // invalid per §14.1.1
    const end = m[2] === "" ? size - 1 : Math.min(byteOffset(m[2]!), size - 1);
    if (start < size) ranges.push({ start, end });
  }
  if (size === 0) return { kind: "ignore" };
  if (ranges.length === 0) return { kind: "unsatisfiable" };
  const merged = coalesce(ranges);
  return { kind: "ranges", ranges: merged.length === ranges.length ? ranges : merged };
}

/**
 * byteOffset reads a run of digits as a byte offset. Numbers of any length
 * are valid (§14.1.1); one past 2^53 lies beyond every file, so it is
 * Infinity: a first-pos there is unsatisfiable, a last-pos is clamped, a
 * suffix takes the whole file. One rule, wherever the digits stand.
 */
export function byteOffset(digits: string): number {
  const trimmed = digits.replace(/^0+(?=[0-9])/, "");
  const value = trimmed.length > 15 ? Infinity : Number(trimmed);
  return value;
}

function coalesce(ranges: ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [{ ...sorted[0]! }];
  for (const r of sorted.slice(1)) {
    const last = out[out.length - 1]!;
    if (r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}
