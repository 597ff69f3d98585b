/**
 * qr_test.ts — the QR codes minserve draws scan back to their text: the
 * SVG of listings and the terminal drawing of the --lan banner, read by
 * jsQR (an independent decoder), each with its quiet zone; the SVG is
 * well-formed, made of numbers only, and matches uqr's own matrix.
 */

import assert from "node:assert/strict";
import { encode } from "uqr";
import { QR_QUIET_ZONE, qrMatrix, qrSvg, qrTerminal } from "../lib/qr.ts";
import { decodeGrid, gridOfSvg, gridOfTerminal } from "./_support/qr.ts";
import { spawnServer, withTempDir } from "./_support/server.ts";
import { waitFor } from "./_support/wait.ts";

const URLS = [
  "http://192.168.1.20:8080/",
  "http://10.0.0.5:41234/photos/holiday%202024/",
  "https://[fe80::1]:8443/%C3%BCn%C3%AF/",
  "http://localhost:8080/" + "long-folder-name/".repeat(8),
];

Deno.test("qrSvg: well-formed, numbers only, and it scans to its text", async (t) => {
  for (const url of URLS) {
    await t.step(url, () => {
      const svg = qrSvg(url);
      assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
      assert.ok(svg.endsWith("</svg>"));
      // Nothing of the text is in the markup: only numbers and fixed words.
      assert.match(svg, /^[<>a-zA-Z0-9 ="/:.#\-,]+$/);
      assert.ok(!svg.includes("192.168") && !svg.includes("photos"));
      const grid = gridOfSvg(svg);
      // The same modules as uqr's own matrix, quiet zone included.
      assert.deepEqual(grid, encode(url, { ecc: "M", border: QR_QUIET_ZONE }).data);
      assert.equal(decodeGrid(grid), url);
    });
  }
});

Deno.test("qrMatrix: a quiet zone of 4 light modules on every side", () => {
  const grid = qrMatrix(URLS[0]!);
  const n = grid.length;
  for (let i = 0; i < n; i++) {
    for (let q = 0; q < QR_QUIET_ZONE; q++) {
      assert.equal(grid[q]![i], false);
      assert.equal(grid[n - 1 - q]![i], false);
      assert.equal(grid[i]![q], false);
      assert.equal(grid[i]![n - 1 - q], false);
    }
  }
  // Without its quiet zone, a code on a dark background does not scan: the zone matters.
  assert.ok(grid[QR_QUIET_ZONE]!.slice(QR_QUIET_ZONE, QR_QUIET_ZONE + 7).every((m) => m));
});

Deno.test("qrTerminal: half blocks that scan, in colour and plain", async (t) => {
  for (const url of URLS.slice(0, 2)) {
    await t.step(`colour: black on white whatever the terminal's theme (${url})`, () => {
      const lines = qrTerminal(url, { color: true });
      for (const line of lines) {
        assert.ok(line.startsWith("\x1b[30;107m") && line.endsWith("\x1b[0m"), line);
      }
      const grid = gridOfTerminal(lines);
      assert.equal(decodeGrid(grid.slice(0, qrMatrix(url).length)), url);
      // Two module rows per line: about half as many lines as modules.
      assert.equal(lines.length, Math.ceil(qrMatrix(url).length / 2));
    });
    await t.step(`plain: as printed in a light terminal, inverted in a dark one (${url})`, () => {
      const lines = qrTerminal(url, { color: false });
      // deno-lint-ignore no-control-regex
      assert.ok(lines.every((line) => !/\x1b/.test(line)), "escape sequences without colour");
      const grid = gridOfTerminal(lines).slice(0, qrMatrix(url).length);
      assert.equal(decodeGrid(grid), url, "a light terminal");
      // A dark terminal: light glyphs on a dark background that goes on past the code.
      const n = grid.length + 8;
      const dark = Array.from(
        { length: n },
        (_, y) => Array.from({ length: n }, (_, x) => !(grid[y - 4]?.[x - 4] ?? false)),
      );
      assert.equal(decodeGrid(dark, { inverted: true }), url, "a dark terminal");
    });
  }
});

Deno.test("the banner: a QR code of the URL to share with --lan, none without", async (t) => {
  await withTempDir(async (root) => {
    await t.step("--lan (here on the loopback: the listening URL)", async () => {
      await using server = await spawnServer({ root, args: ["--quiet", "--lan"] });
      await waitFor(() => server.stdoutText().includes("scan to open"), 5_000);
      const lines = server.stdoutText().split("\n");
      const at = lines.findIndex((l) => l.startsWith("  scan to open "));
      assert.ok(at !== -1, server.stdoutText());
      assert.equal(lines[at], `  scan to open ${server.url}/`);
      const block = lines.slice(at + 1).filter((l) => l !== "");
      const size = qrMatrix(`${server.url}/`).length;
      assert.equal(block.length, Math.ceil(size / 2), "the whole code, quiet zone included");
      const grid = gridOfTerminal(block).slice(0, size);
      assert.equal(decodeGrid(grid), `${server.url}/`);
    });
    await t.step("without --lan: no QR code", async () => {
      await using server = await spawnServer({ root, args: ["--quiet"] });
      await waitFor(() => server.stdoutText().includes("deno:"), 5_000);
      assert.ok(!server.stdoutText().includes("scan to open"));
      assert.ok(!/[\u2580\u2584\u2588]/.test(server.stdoutText()), "half blocks in the banner");
    });
  });
});
