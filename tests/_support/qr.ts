/**
 * qr.ts — reading QR codes back in tests: a module grid (dark = true) is
 * rasterised and decoded by jsQR, an independent decoder, so a test proves
 * that what minserve draws scans to the right text, not merely that it
 * looks like uqr's output. Readers for the two drawings minserve makes:
 * its SVG path and its terminal half blocks.
 */

import jsqr from "jsqr";

/** The decoder's signature (jsqr's index.d.ts, whose default export types do not resolve here). */
type Decode = (
  data: Uint8ClampedArray,
  width: number,
  height: number,
  options: { inversionAttempts: "dontInvert" | "attemptBoth" },
) => { data: string } | null;

/** jsQR's decoder: its CommonJS module's export is the function. */
const jsQR = jsqr as unknown as Decode;

/** PIXELS_PER_MODULE: how large each module is drawn for the decoder. */
const PIXELS_PER_MODULE = 4;

/**
 * decodeGrid draws `grid` (rows of modules, dark = true) as black on white,
 * each module 4×4 pixels, with `margin` light modules around it, and
 * decodes it. Returns the text, or null when it does not scan. `inverted`
 * lets the decoder try light-on-dark too, as phone cameras do.
 */
export function decodeGrid(
  grid: readonly (readonly boolean[])[],
  options: { margin?: number; inverted?: boolean } = {},
): string | null {
  const margin = options.margin ?? 0;
  const modules = grid.length + 2 * margin;
  const width = modules * PIXELS_PER_MODULE;
  const pixels = new Uint8ClampedArray(width * width * 4).fill(255);
  grid.forEach((row, y) =>
    row.forEach((dark, x) => {
      if (!dark) return;
      for (let dy = 0; dy < PIXELS_PER_MODULE; dy++) {
        for (let dx = 0; dx < PIXELS_PER_MODULE; dx++) {
          const px = (x + margin) * PIXELS_PER_MODULE + dx;
          const py = (y + margin) * PIXELS_PER_MODULE + dy;
          const at = (py * width + px) * 4;
          pixels[at] = pixels[at + 1] = pixels[at + 2] = 0;
        }
      }
    })
  );
  const code = jsQR(pixels, width, width, {
    inversionAttempts: options.inverted ? "attemptBoth" : "dontInvert",
  });
  return code?.data ?? null;
}

/** gridOfSvg reads the module grid back from minserve's QR SVG (its viewBox and `M x y h n v1 h-n z` runs). */
export function gridOfSvg(svg: string): boolean[][] {
  const box = /viewBox="0 0 (\d+) (\d+)"/.exec(svg);
  if (box === null || box[1] !== box[2]) throw new SyntaxError("Cannot read the SVG's viewBox");
  const n = Number(box[1]);
  const grid = Array.from({ length: n }, () => new Array<boolean>(n).fill(false));
  const d = /<path[^>]* d="([^"]*)"/.exec(svg)?.[1] ?? "";
  const rest = d.replace(/M(\d+) (\d+)h(\d+)v1h-\3z/g, (_, x, y, run) => {
    for (let i = 0; i < Number(run); i++) grid[Number(y)]![Number(x) + i] = true;
    return "";
  });
  if (rest !== "") throw new SyntaxError(`Cannot read the SVG's path at "${rest.slice(0, 20)}"`);
  return grid;
}

/** Half blocks to (top, bottom) modules; anything else is not part of a drawing. */
const HALF: Record<string, [boolean, boolean]> = {
  " ": [false, false],
  "\u2584": [false, true],
  "\u2580": [true, false],
  "\u2588": [true, true],
};

/**
 * gridOfTerminal reads the module grid back from terminal lines of half
 * blocks (SGR colour sequences ignored), two module rows per line.
 */
export function gridOfTerminal(lines: readonly string[]): boolean[][] {
  const grid: boolean[][] = [];
  for (const line of lines) {
    // deno-lint-ignore no-control-regex
    const cells = [...line.replace(/\x1b\[[0-9;]*m/g, "")];
    const top: boolean[] = [];
    const bottom: boolean[] = [];
    for (const cell of cells) {
      const modules = HALF[cell];
      if (modules === undefined) throw new SyntaxError(`Not a half block: "${cell}"`);
      top.push(modules[0]);
      bottom.push(modules[1]);
    }
    grid.push(top, bottom);
  }
  return grid;
}

/** decodePixels decodes RGBA `pixels` (`width` × `height`), as a canvas's getImageData gives them. */
export function decodePixels(
  pixels: Uint8ClampedArray,
  width: number,
  height: number,
): string | null {
  return jsQR(pixels, width, height, { inversionAttempts: "dontInvert" })?.data ?? null;
}
