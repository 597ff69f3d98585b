/**
 * qr.ts — QR codes of URLs, for pointing a phone at a shared folder: drawn
 * in the terminal for the `--lan` banner, and as inline SVG on listings.
 * The matrix comes from `uqr` (ISO/IEC 18004 encoding, masks, error
 * correction); here it is only drawn.
 */

import { encode } from "uqr";

/** QR_QUIET_ZONE: light modules around the code, as ISO/IEC 18004 §9.1 asks (4). */
export const QR_QUIET_ZONE = 4;

/**
 * qrMatrix encodes `text` at error-correction level M (15 % may be lost: a
 * phone's camera on a screen) and returns its rows of modules, quiet zone
 * included: `true` is dark. Throws what `uqr` throws for a text too long
 * for any QR version.
 */
export function qrMatrix(text: string): boolean[][] {
  return encode(text, { ecc: "M", border: QR_QUIET_ZONE }).data;
}

/**
 * qrSvg draws `text` as a small SVG: one module per unit, dark runs merged
 * into one path, on an opaque white square so it scans on a dark page too.
 * Made only of numbers and fixed markup: no part of `text` appears in it.
 * `options.size` is its width and height attributes (4 a module by
 * default); returns the markup. Throws as
 * {@linkcode qrMatrix} does.
 */
export function qrSvg(text: string, options: { size?: number } = {}): string {
  const matrix = qrMatrix(text);
  const n = matrix.length;
  let path = "";
  matrix.forEach((row, y) => {
    for (let x = 0; x < n; x++) {
      if (!row[x]) continue;
      let run = 1;
      while (row[x + run]) run++;
      path += `M${x} ${y}h${run}v1h-${run}z`;
      x += run - 1;
    }
  });
  const size = options.size ?? 4 * n;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n} ${n}" width="${size}" ` +
    `height="${size}" shape-rendering="crispEdges" role="img" aria-label="QR code">` +
    `<rect width="${n}" height="${n}" fill="#fff"/><path fill="#000" d="${path}"/></svg>`;
}

/** Half blocks: two modules (top, bottom) per character cell, which is about twice as tall as wide. */
const HALF_BLOCKS = [" ", "\u2584", "\u2580", "\u2588"] as const; // none, bottom, top, both dark

/**
 * qrTerminal draws `text` for a terminal, two rows of modules per line with
 * half blocks, dark modules drawn. With `color`, every line is black on
 * white (SGR 30;107), so it reads the same in a dark or a light terminal;
 * without (NO_COLOR, not a terminal), a light terminal shows it as printed
 * and a dark one inverted, which phone scanners read as well.
 */
export function qrTerminal(text: string, options: { color: boolean }): string[] {
  const matrix = qrMatrix(text);
  const lines: string[] = [];
  for (let y = 0; y < matrix.length; y += 2) {
    const top = matrix[y]!;
    const bottom = matrix[y + 1];
    let line = "";
    for (let x = 0; x < top.length; x++) {
      line += HALF_BLOCKS[(top[x] ? 2 : 0) + (bottom?.[x] ? 1 : 0)];
    }
    lines.push(options.color ? `\x1b[30;107m${line}\x1b[0m` : line);
  }
  return lines;
}
