/**
 * browser_test.ts — the pages as a person sees them: headless Chromium,
 * driven by playwright-core, against the real server started as a
 * subprocess (`spawnServer`) with narrow permissions on temp copies.
 *
 * Each scenario runs at a phone viewport (390×844, touch, mobile meta
 * viewport honoured) and a desktop one (1280×800), saves a full-page
 * screenshot to `tests/_screenshots/<name>-<viewport>.png` (gitignored) for a
 * human to look at, and fails on any console error, uncaught page error or
 * dialog. A last test checks the look of every page at both viewports: no
 * horizontal scrolling, body text of at least 14 px.
 *
 * Needs Debian's `chromium` at /usr/bin/chromium (apt-get install chromium)
 * and these permissions besides read, write, net, run and env:
 * `--allow-sys=homedir,osRelease,uid` (playwright's own use; uid comes from
 * fs.stat in setInputFiles) and
 * `--ignore-read=/proc/sys/fs/binfmt_misc/WSLInterop` (playwright's is-wsl
 * probe reads it when the module loads, and Deno treats /proc/sys as needing
 * --allow-all; ignoring the read makes the probe see "not found"). When the
 * browser is missing or playwright cannot load, every test here is
 * registered as ignored, with the reason in its name.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Locator, Page } from "playwright-core";
import { BOARD_PAGE_SIZE } from "../lib/pages/board.ts";
import { copy, namesIn } from "./_support/fs.ts";
import { WWW_ROOT } from "./_support/paths.ts";
import { decodePixels } from "./_support/qr.ts";
import { spawnServer, withTempDir } from "./_support/server.ts";
import { delay, waitFor } from "./_support/wait.ts";

/** Debian's chromium package puts its launcher here. */
const CHROMIUM_PATH = "/usr/bin/chromium";
/** Where screenshots go (listed in .gitignore). */
const SCREENSHOT_DIR = fileURLToPath(new URL("./_screenshots/", import.meta.url));
/** How long one playwright action or wait may take before the test fails. */
const ACTION_TIMEOUT_MS = 10_000;

/** Viewport is one screen size every scenario runs at. */
interface Viewport {
  name: "phone" | "desktop";
  width: number;
  height: number;
  /** Phone: the meta viewport is honoured and touch events are on, as on a real phone. */
  mobile: boolean;
}

const PHONE: Viewport = { name: "phone", width: 390, height: 844, mobile: true };
const DESKTOP: Viewport = { name: "desktop", width: 1280, height: 800, mobile: false };
const VIEWPORTS: readonly Viewport[] = [PHONE, DESKTOP];

/** A file name with non-ASCII letters (NFC) and a space. */
const UNICODE_NAME = "ünïcödé file.txt".normalize("NFC");
/** A file name made of the characters HTML escaping must handle. */
const MARKUP_NAME = "a&b <c>.txt";
/** A text typed into a form: markup that must stay text. */
const XSS_PAYLOAD = "<img src=x onerror=alert(1)>";

type Chromium = typeof import("playwright-core").chromium;

/** The sys permissions playwright uses: at import (homedir, osRelease) and in setInputFiles (uid). */
const SYS_KINDS = ["homedir", "osRelease", "uid"] as const;
/** Playwright's is-wsl probe reads this at import; Deno wants --allow-all for /proc/sys unless ignored. */
const WSL_PROBE = "/proc/sys/fs/binfmt_misc/WSLInterop";

/** loadChromium decides, once, whether the browser tests can run: the browser or a reason why not. */
async function loadChromium(): Promise<{ chromium: Chromium } | { skip: string }> {
  try {
    if (!Deno.statSync(CHROMIUM_PATH).isFile) {
      return { skip: `${CHROMIUM_PATH} is not a file; apt-get install chromium` };
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return { skip: `${CHROMIUM_PATH} not found; apt-get install chromium` };
    }
    return { skip: `cannot stat ${CHROMIUM_PATH}: ${messageOf(err)}` };
  }
  const missing = SYS_KINDS.filter((kind) =>
    Deno.permissions.querySync({ name: "sys", kind }).state !== "granted"
  );
  if (missing.length > 0) {
    return { skip: `playwright needs --allow-sys=${SYS_KINDS.join(",")}` };
  }
  try {
    const { chromium } = await import("playwright-core");
    return { chromium };
  } catch (err) {
    return {
      skip: `playwright-core did not load (run with --ignore-read=${WSL_PROBE}): ${messageOf(err)}`,
    };
  }
}

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
}

const loaded = await loadChromium();

/**
 * browserTest registers a test that gets a fresh headless Chromium, closed
 * on every path; or, when the browser is unavailable, an ignored test whose
 * name says why.
 */
function browserTest(
  name: string,
  fn: (browser: Browser, t: Deno.TestContext) => Promise<void>,
): void {
  if ("skip" in loaded) {
    Deno.test({ name: `browser: ${name} (skipped: ${loaded.skip})`, ignore: true, fn() {} });
    return;
  }
  const { chromium } = loaded;
  Deno.test(`browser: ${name}`, async (t) => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ["--no-sandbox"],
      headless: true,
    });
    try {
      await fn(browser, t);
    } finally {
      await browser.close();
    }
  });
}

/** Watch records what a page must not do: log errors, throw, open dialogs. */
interface Watch {
  /** Console messages of type "error" and uncaught exceptions, as text. */
  errors: string[];
  /** Messages of alert/confirm/prompt dialogs (each is dismissed). */
  dialogs: string[];
  /** Top-level navigations, as "METHOD /path STATUS", redirects included. */
  navigations: string[];
}

/**
 * withPage opens a page in a fresh browser context at `viewport`, watching
 * console errors, page errors, dialogs and navigations, runs `fn`, then
 * checks the page stayed clean. The context is closed on every path.
 */
async function withPage(
  browser: Browser,
  viewport: Viewport,
  fn: (page: Page, watch: Watch) => Promise<void>,
  options: {
    javaScriptEnabled?: boolean;
    httpCredentials?: { username: string; password: string };
  } = {},
): Promise<void> {
  const context = await browser.newContext({
    ...options,
    javaScriptEnabled: options.javaScriptEnabled ?? true,
    viewport: { width: viewport.width, height: viewport.height },
    isMobile: viewport.mobile,
    hasTouch: viewport.mobile,
    deviceScaleFactor: viewport.mobile ? 2 : 1,
    colorScheme: "light",
  });
  try {
    context.setDefaultTimeout(ACTION_TIMEOUT_MS);
    const page = await context.newPage();
    const watch: Watch = { errors: [], dialogs: [], navigations: [] };
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const where = message.location().url;
      // The browser asks for /favicon.ico by itself when a page names no
      // icon; a served folder without one answers 404. Not the page's error.
      if (new URL(where || "about:blank").pathname === "/favicon.ico") return;
      watch.errors.push(`console: ${message.text()}${where ? ` (${where})` : ""}`);
    });
    page.on("pageerror", (err) => watch.errors.push(`pageerror: ${err.message}`));
    page.on("dialog", (dialog) => {
      watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      dialog.dismiss().catch(() => {});
    });
    page.on("response", (response) => {
      const request = response.request();
      if (!request.isNavigationRequest() || request.frame() !== page.mainFrame()) return;
      const url = new URL(response.url());
      watch.navigations.push(
        `${request.method()} ${url.pathname}${url.search} ${response.status()}`,
      );
    });
    await fn(page, watch);
    assert.deepEqual(watch.errors, [], "console errors or uncaught page errors");
    assert.deepEqual(watch.dialogs, [], "dialogs opened");
  } finally {
    await context.close();
  }
}

/** eachViewport runs `fn` as one test step per viewport. */
async function eachViewport(
  t: Deno.TestContext,
  fn: (viewport: Viewport) => Promise<void>,
): Promise<void> {
  for (const viewport of VIEWPORTS) {
    await t.step(`${viewport.name} ${viewport.width}x${viewport.height}`, () => fn(viewport));
  }
}

/** screenshot saves the whole page as tests/_screenshots/<name>-<viewport>.png. */
async function screenshot(page: Page, name: string, viewport: Viewport): Promise<void> {
  await Deno.mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({
    path: join(SCREENSHOT_DIR, `${name}-${viewport.name}.png`),
    fullPage: true,
  });
}

/** pathOf is the path and query of the page's URL, still percent-encoded. */
function pathOf(page: Page): string {
  const url = new URL(page.url());
  return url.pathname + url.search;
}

/** clickTo clicks `link` and waits until the page's URL is `origin + path`. */
async function clickTo(
  page: Page,
  link: Locator,
  origin: string,
  path: string,
): Promise<void> {
  await Promise.all([page.waitForURL(origin + path), link.click()]);
  assert.equal(pathOf(page), path);
}

/** plainText is the text of a plain-text document as Chromium shows it (in one <pre>). */
async function plainText(page: Page): Promise<string> {
  assert.equal(await page.locator("body > pre").count(), 1, "a plain-text document");
  return await page.locator("body > pre").textContent() ?? "";
}

/** listingLinks returns the names and hrefs of a directory listing's entries. */
async function listingLinks(page: Page): Promise<{ text: string; href: string | null }[]> {
  const links = page.locator("tbody a");
  const out = [];
  for (let i = 0; i < await links.count(); i++) {
    const link = links.nth(i);
    out.push({ text: await link.textContent() ?? "", href: await link.getAttribute("href") });
  }
  return out;
}

/** makeListingTree writes the directory the listing test browses under `root`/`name`. */
async function makeListingTree(root: string, name: string): Promise<void> {
  const dir = join(root, name);
  await Deno.mkdir(join(dir, "sub dir"), { recursive: true });
  await Deno.writeTextFile(join(dir, "sub dir", "inside.txt"), "inside ok");
  await Deno.writeTextFile(join(dir, UNICODE_NAME), "unicode ok");
  await Deno.writeTextFile(join(dir, MARKUP_NAME), "markup ok");
}

browserTest("listing: escaped names, subdirectory, unicode file, parent and breadcrumbs", async (
  browser,
  t,
) => {
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    await makeListingTree(root, "docs");
    await using server = await spawnServer({ root, args: ["--quiet"] });
    const origin = server.url;

    await eachViewport(t, (viewport) =>
      withPage(browser, viewport, async (page) => {
        await page.goto(`${origin}/docs/`);
        assert.equal(await page.title(), "Index of /docs/");
        assert.equal(await page.locator("h1").textContent(), "Index of /docs/");
        // Directories first, then names in natural order; every name shown as text.
        assert.deepEqual(await listingLinks(page), [
          { text: "../", href: "/" },
          { text: "sub dir/", href: "/docs/sub%20dir/" },
          { text: MARKUP_NAME, href: "/docs/a%26b%20%3Cc%3E.txt" },
          { text: UNICODE_NAME, href: `/docs/${encodeURIComponent(UNICODE_NAME)}` },
        ]);
        assert.equal(await page.locator("c").count(), 0, "<c> must not become an element");
        assert.equal(
          await page.getByRole("link", { name: MARKUP_NAME, exact: true }).count(),
          1,
        );
        // Breadcrumbs: the root, then each segment.
        assert.deepEqual(await page.locator("nav a").allTextContents(), ["root", "docs"]);
        assert.deepEqual(
          await page.locator("nav a").evaluateAll((as) => as.map((a) => a.getAttribute("href"))),
          ["/", "/docs/"],
        );
        await screenshot(page, "listing", viewport);

        // Into the subdirectory: its URL is percent-encoded, its listing shows its file.
        await clickTo(
          page,
          page.getByRole("link", { name: "sub dir/", exact: true }),
          origin,
          "/docs/sub%20dir/",
        );
        assert.equal(await page.locator("h1").textContent(), "Index of /docs/sub dir/");
        assert.deepEqual(await listingLinks(page), [
          { text: "../", href: "/docs/" },
          { text: "inside.txt", href: "/docs/sub%20dir/inside.txt" },
        ]);
        assert.deepEqual(await page.locator("nav a").allTextContents(), [
          "root",
          "docs",
          "sub dir",
        ]);

        // Back, then the unicode file: its content is shown.
        await page.goBack();
        assert.equal(pathOf(page), "/docs/");
        await clickTo(
          page,
          page.getByRole("link", { name: UNICODE_NAME, exact: true }),
          origin,
          `/docs/${encodeURIComponent(UNICODE_NAME)}`,
        );
        assert.equal(await plainText(page), "unicode ok");

        // The name full of markup characters links to its file too.
        await page.goBack();
        await clickTo(
          page,
          page.getByRole("link", { name: MARKUP_NAME, exact: true }),
          origin,
          "/docs/a%26b%20%3Cc%3E.txt",
        );
        assert.equal(await plainText(page), "markup ok");

        // Parent links: sub dir → docs → root.
        await page.goto(`${origin}/docs/sub%20dir/`);
        await clickTo(page, page.getByRole("link", { name: "../", exact: true }), origin, "/docs/");
        await clickTo(page, page.getByRole("link", { name: "../", exact: true }), origin, "/");
        assert.equal(await page.locator("h1").textContent(), "Index of /");
        assert.deepEqual(await listingLinks(page), [{ text: "docs/", href: "/docs/" }]);

        // Breadcrumbs: from sub dir to docs, then to the root.
        await page.goto(`${origin}/docs/sub%20dir/`);
        await clickTo(
          page,
          page.locator("nav").getByRole("link", { name: "docs", exact: true }),
          origin,
          "/docs/",
        );
        await clickTo(
          page,
          page.locator("nav").getByRole("link", { name: "root", exact: true }),
          origin,
          "/",
        );
      }));
  });
});

/** The files of the listing-tools test, with the icon each must show and a size that orders them. */
const KINDS: readonly [name: string, kind: string, bytes: number][] = [
  ["photo.png", "image", 5000],
  ["song.mp3", "audio", 4000],
  ["movie.mp4", "video", 9000],
  ["notes.txt", "text", 300],
  ["paper.pdf", "pdf", 2000],
  ["backup.zip", "archive", 7000],
  ["blob.bin", "other", 100],
];

/** visibleNames lists the names of the listing rows the page shows (parent row left out). */
async function visibleNames(page: Page): Promise<string[]> {
  return await page.locator("tbody tr[data-name]:visible td:first-child a span").allTextContents();
}

/** smallTargets lists the visible links, buttons, summaries and inputs under 24×24 CSS px (WCAG 2.5.8). */
async function smallTargets(page: Page): Promise<string[]> {
  const small: string[] = [];
  const targets = page.locator("a:visible, button:visible, summary:visible, input:visible");
  for (let i = 0; i < await targets.count(); i++) {
    const box = await targets.nth(i).boundingBox();
    if (box === null || (box.width >= 24 && box.height >= 24)) continue;
    const text = (await targets.nth(i).textContent())?.trim() || "(input)";
    small.push(`${text}: ${Math.round(box.width)}x${Math.round(box.height)}`);
  }
  return small;
}

/** The QR code's SVG drawn on a canvas, as RGBA pixels: what a camera would see on screen. */
const QR_PIXELS = `(async () => {
  const svg = document.querySelector("details.qr svg");
  const size = 4 * svg.viewBox.baseVal.width;
  const image = new Image();
  image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg.outerHTML);
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = false;
  context.drawImage(image, 0, 0, size, size);
  return { size, pixels: Array.from(context.getImageData(0, 0, size, size).data) };
})()`;

browserTest("listing: icons, sorting, filter as you type, QR code and folder download", async (
  browser,
  t,
) => {
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    const docs = join(root, "docs");
    await Deno.mkdir(join(docs, "sub dir"), { recursive: true });
    for (const [name, , bytes] of KINDS) {
      await Deno.writeFile(join(docs, name), new Uint8Array(bytes));
    }
    await Deno.writeTextFile(join(docs, "sub dir", "inside.txt"), "inside");
    await Deno.writeTextFile(join(docs, LONG_FILE_NAME), "long");
    await using server = await spawnServer({ root, args: ["--quiet"] });
    const origin = server.url;

    await eachViewport(t, (viewport) =>
      withPage(browser, viewport, async (page) => {
        await page.goto(`${origin}/docs/`);
        // An icon of its kind on every row, drawn inline.
        for (const [name, kind] of [...KINDS, ["sub dir/", "folder"] as const]) {
          const use = page.locator("tbody a", { hasText: name }).locator("svg.i use");
          assert.equal(await use.getAttribute("href"), `#i-${kind}`, name);
          const box = await page.locator("tbody a", { hasText: name }).locator("svg.i")
            .boundingBox();
          assert.ok(box !== null && box.width >= 16, `${name}: icon not drawn`);
        }
        assert.deepEqual(await lookProblems(page, viewport, "listing"), []);
        assert.deepEqual(await smallTargets(page), [], "targets under 24x24 px");
        await screenshot(page, "listing-tools", viewport);

        // Sorting: the column headers are plain links.
        await clickTo(
          page,
          page.getByRole("link", { name: "Size" }),
          origin,
          "/docs/?sort=size&order=desc",
        );
        const bySize = [...KINDS].sort((a, b) => b[2] - a[2]).map(([name]) => name);
        assert.deepEqual((await visibleNames(page)).slice(0, 1), ["sub dir/"], "folders first");
        assert.deepEqual((await visibleNames(page)).slice(1, 1 + bySize.length), bySize);
        assert.equal(
          await page.locator("th[aria-sort]").getAttribute("aria-sort"),
          "descending",
        );
        await clickTo(
          page,
          page.getByRole("link", { name: "Size" }),
          origin,
          "/docs/?sort=size&order=asc",
        );
        assert.equal((await visibleNames(page))[1], LONG_FILE_NAME, "the smallest file first");
        await screenshot(page, "listing-sorted", viewport);

        // The filter hides rows as you type.
        await page.locator("#filter").fill("PDF");
        assert.deepEqual(await visibleNames(page), ["paper.pdf"]);
        assert.equal(await page.locator("#none").isVisible(), false);
        await screenshot(page, "listing-filter", viewport);
        await page.locator("#filter").fill("nothing like it");
        assert.deepEqual(await visibleNames(page), []);
        assert.equal(await page.locator("#none").isVisible(), true);
        await page.locator("#filter").fill("");
        assert.equal((await visibleNames(page)).length, KINDS.length + 2);
        // Enter sends the filter to the server, keeping the order.
        await page.locator("#filter").fill("o");
        await Promise.all([page.waitForURL(/filter=o/), page.locator("#filter").press("Enter")]);
        assert.equal(pathOf(page), "/docs/?filter=o&sort=size&order=asc");
        assert.deepEqual(
          (await visibleNames(page)).sort(),
          [
            "blob.bin",
            "movie.mp4",
            "notes.txt",
            "photo.png",
            "song.mp3",
            LONG_FILE_NAME,
          ]
            .sort(),
        );

        // The QR code: in a <details>, drawn on screen, scanning to this page.
        await page.goto(`${origin}/docs/`);
        assert.equal(await page.locator("details.qr svg").isVisible(), false);
        await page.locator("details.qr summary").click();
        assert.equal(await page.locator("details.qr svg").isVisible(), true);
        const box = await page.locator("details.qr svg").boundingBox();
        assert.ok(box !== null && box.width >= 120 && box.width <= viewport.width, "QR size");
        await screenshot(page, "listing-qr", viewport);
        const drawn = await page.evaluate(QR_PIXELS) as { size: number; pixels: number[] };
        assert.equal(
          decodePixels(new Uint8ClampedArray(drawn.pixels), drawn.size, drawn.size),
          `${origin}/docs/`,
        );

        // The folder as one ZIP.
        const [download] = await Promise.all([
          page.waitForEvent("download"),
          page.getByRole("link", { name: "Download this folder (.zip)" }).click(),
        ]);
        assert.equal(download.suggestedFilename(), "docs.zip");
        const saved = join(dir, `docs-${viewport.name}.zip`);
        await download.saveAs(saved);
        const bytes = await Deno.readFile(saved);
        assert.deepEqual([...bytes.subarray(0, 4)], [0x50, 0x4b, 0x03, 0x04], "a ZIP file");
      }));

    await t.step(
      "without script: the filter is a plain GET form, sorting plain links",
      () =>
        withPage(browser, DESKTOP, async (page) => {
          await page.goto(`${origin}/docs/?sort=date&order=desc`);
          await page.locator("#filter").fill("song");
          assert.equal((await visibleNames(page)).length, KINDS.length + 2, "no script ran");
          await Promise.all([
            page.waitForURL(/filter=song/),
            page.locator("#filter").press("Enter"),
          ]);
          assert.equal(pathOf(page), "/docs/?filter=song&sort=date&order=desc");
          assert.deepEqual(await visibleNames(page), ["song.mp3"]);
          await clickTo(
            page,
            page.getByRole("link", { name: "Name" }),
            origin,
            "/docs/?filter=song",
          );
          await screenshot(page, "listing-noscript", DESKTOP);
        }, { javaScriptEnabled: false }),
    );
  });
});

browserTest("404: a page with a link home, in a <main> landmark", async (browser, t) => {
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    await Deno.mkdir(root);
    await Deno.writeTextFile(join(root, "index.html"), "<!doctype html><title>home</title>");
    await using server = await spawnServer({ root, args: ["--quiet"] });
    await eachViewport(t, (viewport) =>
      withPage(browser, viewport, async (page, watch) => {
        const response = await page.goto(`${server.url}/no/such/page.html`);
        assert.equal(response?.status(), 404);
        assert.equal(await page.locator("main").count(), 1);
        assert.equal(await page.locator("main h1").textContent(), "404 Not Found");
        assert.deepEqual(await lookProblems(page, viewport, "404"), []);
        assert.deepEqual(await smallTargets(page), [], "targets under 24x24 px");
        await screenshot(page, "404", viewport);
        await clickTo(
          page,
          page.locator("main").getByRole("link", { name: "Go to the home page" }),
          server.url,
          "/",
        );
        assert.equal(await page.title(), "home");
        // The 404 itself is no console error of the page's own.
        watch.errors.splice(0, watch.errors.length, ...watch.errors.filter((e) => !/404/.test(e)));
      }));
  });
});

/** clearBoard empties the board with the same form post the confirmation page sends. */
async function clearBoard(origin: string): Promise<void> {
  const response = await fetch(`${origin}/board/clear`, {
    method: "POST",
    body: new URLSearchParams({ confirm: "yes" }),
    redirect: "manual",
  });
  await response.body?.cancel();
  assert.equal(response.status, 303);
}

/** A post's time as the board shows it: "YYYY-MM-DD HH:MM UTC". */
const BOARD_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/;

browserTest("board: post, markup stays text, newest first, clear", async (browser, t) => {
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    const data = join(dir, "data");
    await Deno.mkdir(root);
    await Deno.mkdir(data);
    await Deno.writeTextFile(join(root, "index.html"), "<!doctype html><title>home</title>");
    await using server = await spawnServer({
      root,
      args: ["--quiet", "--data-dir", data],
      allowRead: [data],
      allowWrite: [data],
    });
    const origin = server.url;
    const first = "Hello <b>bold</b> & friends 🎉";
    const second = "Second post ✓\nwith a line break";

    await eachViewport(t, async (viewport) => {
      await clearBoard(origin);
      await withPage(browser, viewport, async (page, watch) => {
        await page.goto(`${origin}/board`);
        assert.equal(await page.title(), "Message board · minserve");
        await page.getByText("No messages yet.").waitFor();
        const items = page.locator("ol.items > li");

        await page.locator("textarea#message").fill(first);
        await page.getByRole("button", { name: "Post", exact: true }).click();
        await page.getByRole("heading", { name: "Messages (1)", exact: true }).waitFor();
        assert.equal(pathOf(page), "/board");
        assert.deepEqual(watch.navigations.slice(-2), ["POST /board 303", "GET /board 200"]);
        assert.equal(await items.count(), 1);
        assert.equal(await items.locator(".body").textContent(), first);
        assert.equal(await page.locator("ol.items b").count(), 0, "<b> must stay text");
        const time = items.first().locator("time");
        assert.match(await time.textContent() ?? "", BOARD_TIME);
        const postedAt = Date.parse(await time.getAttribute("datetime") ?? "");
        assert.ok(Math.abs(Date.now() - postedAt) < 60_000, "posted just now");

        await page.locator("textarea#message").fill(second);
        await page.getByRole("button", { name: "Post", exact: true }).click();
        await page.getByRole("heading", { name: "Messages (2)", exact: true }).waitFor();
        assert.equal(pathOf(page), "/board");
        // Newest first; the textarea's CRLF comes back as one line break.
        assert.deepEqual(await items.locator(".body").allTextContents(), [second, first]);
        assert.equal(await page.locator("ol.items b").count(), 0);
        for (const text of await items.locator("time").allTextContents()) {
          assert.match(text, BOARD_TIME);
        }
        await screenshot(page, "board", viewport);

        // Clearing asks first; "No" keeps everything.
        // (A form with no fields asks for "/board/clear?".)
        await Promise.all([
          page.waitForURL(`${origin}/board/clear?`),
          page.getByRole("button", { name: "Clear all messages…" }).click(),
        ]);
        assert.equal(await page.title(), "Clear the board? · minserve");
        await page.getByText("This deletes all 2 messages on the board, for everyone.").waitFor();
        await screenshot(page, "board-clear", viewport);
        await clickTo(page, page.getByRole("link", { name: "No, keep them" }), origin, "/board");
        assert.equal(await items.count(), 2);

        await page.getByRole("button", { name: "Clear all messages…" }).click();
        await page.getByRole("button", { name: "Yes, delete all 2 messages" }).click();
        await page.getByRole("heading", { name: "Messages (0)", exact: true }).waitFor();
        assert.equal(pathOf(page), "/board");
        assert.deepEqual(watch.navigations.slice(-2), ["POST /board/clear 303", "GET /board 200"]);
        assert.equal(await items.count(), 0);
        assert.ok(await page.getByText("No messages yet.").isVisible());
        assert.equal(await page.getByRole("button", { name: "Clear all messages…" }).count(), 0);

        // More posts than a page: the newest page, then the older ones behind a link.
        const total = BOARD_PAGE_SIZE + 5;
        for (let i = 1; i <= total; i++) await postMessage(origin, `flood ${i}`);
        await page.goto(`${origin}/board`);
        assert.equal(await items.count(), BOARD_PAGE_SIZE);
        assert.equal(await items.first().locator(".body").textContent(), `flood ${total}`);
        await page.getByRole("heading", { name: `Messages (${total})`, exact: true }).waitFor();
        await page.getByRole("link", { name: "Older messages →" }).click();
        await page.getByRole("link", { name: "← Newest messages" }).waitFor();
        assert.match(pathOf(page), /^\/board\?before=\d+$/);
        assert.deepEqual(await items.locator(".body").allTextContents(), [
          "flood 5",
          "flood 4",
          "flood 3",
          "flood 2",
          "flood 1",
        ]);
        assert.equal(await page.getByRole("link", { name: "Older messages →" }).count(), 0);
        await screenshot(page, "board-older", viewport);
      });
    });
  });
});

/** uploadSite makes a root, an upload folder and a folder of files to upload under `dir`. */
async function uploadSite(dir: string): Promise<{ root: string; uploads: string; source: string }> {
  const root = join(dir, "root");
  const uploads = join(dir, "uploads");
  const source = join(dir, "source");
  for (const d of [root, uploads, source]) await Deno.mkdir(d);
  await Deno.writeTextFile(join(root, "index.html"), "<!doctype html><title>home</title>");
  return { root, uploads, source };
}

/** emptyDir removes everything in `dir`. */
async function emptyDir(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) await Deno.remove(join(dir, entry.name));
}

/** writePattern writes `bytes` bytes of a non-repeating-per-MiB pattern to `path`, 1 MiB at a time. */
async function writePattern(path: string, bytes: number): Promise<void> {
  const chunk = new Uint8Array(1024 * 1024);
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let written = 0, i = 0; written < bytes; i++) {
    chunk.fill(i & 0xff);
    const piece = chunk.subarray(0, Math.min(chunk.length, bytes - written));
    for (let off = 0; off < piece.length;) off += await file.write(piece.subarray(off));
    written += piece.length;
  }
}

/** queueItem is the upload page's row for the file `name`. */
function queueItem(page: Page, name: string): Locator {
  return page.locator("#queue li", { has: page.locator(".fname", { hasText: name }) });
}

browserTest(
  "upload without script: the plain form stores the files, a small page links back",
  async (
    browser,
    t,
  ) => {
    await withTempDir(async (dir) => {
      const { root, uploads, source } = await uploadSite(dir);
      const content = new TextEncoder().encode("hello from the browser test\nsecond line ✓\n");
      const hello = join(source, "hello.txt");
      await Deno.writeFile(hello, content);
      await using server = await spawnServer({
        root,
        args: ["--quiet", "--upload-dir", uploads],
        allowRead: [uploads],
        allowWrite: [uploads],
      });
      const origin = server.url;

      await eachViewport(t, async (viewport) => {
        await emptyDir(uploads);
        await withPage(browser, viewport, async (page, watch) => {
          await page.goto(`${origin}/uploads/`);
          assert.equal(await page.title(), "Uploads · minserve");
          await page.getByText("No files yet.").waitFor();
          assert.equal(await page.getByText("or drop them here").isVisible(), false);

          for (const round of [1, 2]) {
            await page.locator("input[type=file]").setInputFiles(hello);
            await Promise.all([
              page.waitForURL(`${origin}/uploads/`),
              page.getByRole("button", { name: "Upload", exact: true }).click(),
            ]);
            assert.equal(watch.navigations.at(-1), "POST /uploads/ 201");
            const stored = round === 1 ? "hello.txt" : "hello (1).txt";
            const link = page.getByRole("link", { name: stored, exact: true });
            assert.equal(await link.getAttribute("href"), `/uploads/${encodeURIComponent(stored)}`);
            if (round === 2) await page.getByText("renamed: that name was taken").waitFor();
            if (round === 1) await screenshot(page, "upload-noscript-result", viewport);
            await clickTo(
              page,
              page.getByRole("link", { name: "Back to the upload page" }),
              origin,
              "/uploads/",
            );
          }
          assert.deepEqual(await namesIn(uploads), ["hello (1).txt", "hello.txt"]);
          assert.deepEqual(await Deno.readFile(join(uploads, "hello (1).txt")), content);
          const row = page.locator("tbody tr", {
            has: page.getByRole("link", { name: "hello.txt", exact: true }),
          });
          assert.equal(await row.locator("td.n").textContent(), `${content.length} B`);
          await clickTo(page, row.getByRole("link"), origin, "/uploads/hello.txt");
          assert.equal(await plainText(page), new TextDecoder().decode(content));
        }, { javaScriptEnabled: false });
      });
    });
  },
);

browserTest(
  "upload with script: pick or drop files, a result per file, a taken name renamed",
  async (
    browser,
    t,
  ) => {
    await withTempDir(async (dir) => {
      const { root, uploads, source } = await uploadSite(dir);
      const hello = join(source, "hello.txt");
      await Deno.writeTextFile(hello, "hello\n");
      const other = join(source, "notes 2.md");
      await Deno.writeTextFile(other, "# notes\n");
      await using server = await spawnServer({
        root,
        args: ["--quiet", "--upload-dir", uploads],
        allowRead: [uploads],
        allowWrite: [uploads],
      });
      const origin = server.url;

      await eachViewport(t, async (viewport) => {
        await emptyDir(uploads);
        await withPage(browser, viewport, async (page, watch) => {
          await page.goto(`${origin}/uploads/`);
          await page.getByText("or drop them here").waitFor();
          await page.locator("input[type=file]").setInputFiles([hello, other]);
          await page.getByRole("button", { name: "Upload", exact: true }).click();
          for (const name of ["hello.txt", "notes 2.md"]) {
            const item = queueItem(page, name);
            await item.getByRole("link", { name, exact: true }).waitFor();
            assert.match(await item.locator(".info").textContent() ?? "", /^Stored as /);
          }
          assert.equal(pathOf(page), "/uploads/", "no navigation: the page stays usable");
          assert.deepEqual(watch.navigations, ["GET /uploads/ 200"]);

          // Dropping a file of a taken name: stored beside it, the page says so.
          // Page code as a string: this file is type-checked without the DOM library.
          await page.evaluate(`(() => {
            const transfer = new DataTransfer();
            transfer.items.add(new File(["dropped\\n"], "hello.txt", { type: "text/plain" }));
            const drop = document.getElementById("drop");
            for (const type of ["dragenter", "dragover", "drop"]) {
              drop.dispatchEvent(
                new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }),
              );
            }
          })()`);
          const renamed = page.locator("#queue").getByRole("link", { name: "hello (1).txt" });
          await renamed.waitFor();
          assert.equal(await renamed.getAttribute("href"), "/uploads/hello%20(1).txt");
          await page.getByText("renamed: that name was taken").waitFor();
          assert.equal(await Deno.readTextFile(join(uploads, "hello (1).txt")), "dropped\n");
          assert.equal(await Deno.readTextFile(join(uploads, "hello.txt")), "hello\n");
          // Once the queue is idle the file table below catches up, without a reload.
          await page.locator("#files tbody").getByRole("link", { name: "hello (1).txt" }).waitFor();
          assert.equal(await page.locator("#files tbody tr").count(), 3);
          await screenshot(page, "upload-results", viewport);

          // Targets are big enough for a thumb (WCAG 2.2 §2.5.8 asks 24 px).
          const button = await page.getByRole("button", { name: "Upload", exact: true })
            .boundingBox();
          assert.ok(button !== null && button.height >= 24, `Upload is ${button?.height} px`);
        });
      });
    });
  },
);

/** progressShare is how far a `<progress>` is, from 0 to 1 (its value attribute reflects the property). */
async function progressShare(bar: Locator): Promise<number> {
  const [value, max] = await Promise.all([bar.getAttribute("value"), bar.getAttribute("max")]);
  return Number(value ?? 0) / Number(max ?? 1);
}

/** BIG_BYTES is the throttled upload's size: 200 MB, as in the issue. */
const BIG_BYTES = 200 * 1000 * 1000;
/** UPLOAD_THROTTLE: bytes per second Chromium sends at (CDP Network.emulateNetworkConditions). */
const UPLOAD_THROTTLE = 25 * 1024 * 1024;
/** How long the whole throttled upload may take. */
const BIG_UPLOAD_TIMEOUT_MS = 120_000;

browserTest(
  "upload: 200 MB throttled shows progress, bytes and speed; cancel; too large; no room (507)",
  async (
    browser,
    t,
  ) => {
    await withTempDir(async (dir) => {
      const { root, uploads, source } = await uploadSite(dir);
      const big = join(source, "holiday video.mp4");
      await writePattern(big, BIG_BYTES);
      // Sparse files: sizes without the disk writes.
      const tooBig = join(source, "too big.iso");
      await Deno.writeFile(tooBig, new Uint8Array(0));
      await Deno.truncate(tooBig, 300 * 1024 * 1024);
      const noRoom = join(source, "no room.bin");
      await Deno.writeFile(noRoom, new Uint8Array(0));
      await Deno.truncate(noRoom, 270 * 1024 * 1024);
      await using server = await spawnServer({
        root,
        args: [
          "--quiet",
          "--upload-dir",
          uploads,
          "--max-upload",
          String(280 * 1024 * 1024),
          "--upload-quota",
          String(450 * 1024 * 1024),
        ],
        allowRead: [uploads],
        allowWrite: [uploads],
      });
      const origin = server.url;

      await eachViewport(t, async (viewport) => {
        await emptyDir(uploads);
        await withPage(browser, viewport, async (page, watch) => {
          const cdp = await page.context().newCDPSession(page);
          await cdp.send("Network.enable");
          await cdp.send("Network.emulateNetworkConditions", {
            offline: false,
            latency: 0,
            downloadThroughput: -1,
            uploadThroughput: UPLOAD_THROTTLE,
          });
          await page.goto(`${origin}/uploads/`);

          // The big one: progress with bytes and speed while it goes.
          await page.locator("input[type=file]").setInputFiles(big);
          await page.getByRole("button", { name: "Upload", exact: true }).click();
          const item = queueItem(page, "holiday video.mp4");
          const info = item.locator(".info");
          // Polled from here: the page's CSP forbids the eval waitForFunction needs.
          const bar = item.locator("progress");
          assert.ok(
            await waitFor(async () => {
              const share = await progressShare(bar);
              return share > 0.15 && share < 0.85;
            }, BIG_UPLOAD_TIMEOUT_MS),
            "the progress bar passes 15 % before the upload ends",
          );
          const during = await info.textContent() ?? "";
          assert.match(during, /^[0-9.]+ MiB of 191 MiB · [0-9.]+ (KiB|MiB)\/s$/, during);
          await screenshot(page, "upload-progress", viewport);
          await item.getByRole("link", { name: "holiday video.mp4", exact: true })
            .waitFor({ timeout: BIG_UPLOAD_TIMEOUT_MS });
          assert.match(await info.textContent() ?? "", /^Stored as holiday video.mp4 \(191 MiB\)$/);
          assert.equal((await Deno.stat(join(uploads, "holiday video.mp4"))).size, BIG_BYTES);
          assert.deepEqual(
            await Deno.readFile(join(uploads, "holiday video.mp4")),
            await Deno.readFile(big),
          );

          // Cancel mid-way: the page says so, the server keeps nothing.
          await page.locator("input[type=file]").setInputFiles(big);
          await page.getByRole("button", { name: "Upload", exact: true }).click();
          const second = page.locator("#queue li").nth(1);
          assert.ok(
            await waitFor(
              async () => await progressShare(second.locator("progress")) > 0.05,
              20_000,
            ),
            `the second upload gets going: ${await second.textContent()}`,
          );
          await second.getByRole("button", { name: "Cancel holiday video.mp4" }).click();
          await second.getByText("Cancelled", { exact: true }).waitFor();
          assert.equal(await second.getByRole("button").count(), 0, "no Cancel once finished");
          assert.ok(
            await waitFor(
              async () => (await namesIn(uploads)).join() === "holiday video.mp4",
              10_000,
            ),
            `after cancel: ${await namesIn(uploads)}`,
          );

          // Too large: refused by name and why, before anything is sent.
          // No room: the server's 507 says why. The page stays usable throughout.
          await page.locator("input[type=file]").setInputFiles([tooBig, noRoom]);
          await page.getByRole("button", { name: "Upload", exact: true }).click();
          await queueItem(page, "too big.iso").getByText(
            "Too large: the limit is 280 MiB per file (this one is 300 MiB)",
          ).waitFor();
          await queueItem(page, "no room.bin").getByText(
            "The upload folder is full: its quota is 450 MiB",
          ).waitFor({ timeout: BIG_UPLOAD_TIMEOUT_MS });
          assert.equal(await page.locator("#queue li.err").count(), 3);
          await screenshot(page, "upload-errors", viewport);
          assert.deepEqual(await namesIn(uploads), ["holiday video.mp4"]);
          // Chromium logs every error status an XHR gets; the 507 is the one this step asked for.
          const logged = watch.errors.filter((e) => /status of 507 .*\/uploads\/\)$/.test(e));
          assert.equal(logged.length, 1, watch.errors.join("\n"));
          watch.errors.splice(
            0,
            watch.errors.length,
            ...watch.errors.filter((e) => e !== logged[0]),
          );
        });
      });
    });
  },
);

browserTest("template: greets by name, typed markup shown as text, no script runs", async (
  browser,
  t,
) => {
  await withTempDir(async (dir) => {
    const root = join(dir, "www");
    await copy(WWW_ROOT, root);
    await using server = await spawnServer({ root, args: ["--quiet"] });
    const origin = server.url;

    await eachViewport(t, (viewport) =>
      withPage(browser, viewport, async (page, watch) => {
        await page.goto(`${origin}/greet.tmpl.html?name=Ada`);
        assert.equal(await page.locator("h1").textContent(), "Hello, Ada!");
        assert.equal(await page.title(), "Hello, Ada · minserve");
        const name = page.locator("input#name");
        assert.equal(await name.inputValue(), "Ada");

        await name.fill(XSS_PAYLOAD);
        await Promise.all([
          page.waitForURL((url) => url.searchParams.get("name") === XSS_PAYLOAD),
          page.getByRole("button", { name: "Greet me" }).click(),
        ]);
        // An <img> that failed to load would have fired onerror before "load".
        await page.waitForLoadState("load");
        assert.equal(await page.locator("h1").textContent(), `Hello, ${XSS_PAYLOAD}!`);
        assert.equal(await page.locator("h1 *").count(), 0, "the heading holds text only");
        assert.equal(await page.locator('img[src="x"]').count(), 0, "no injected <img>");
        assert.equal(await name.inputValue(), XSS_PAYLOAD);
        assert.deepEqual(watch.dialogs, [], "no dialog may open");
        await screenshot(page, "template", viewport);

        // The page's own example: markup in the name, a placeholder in the colour.
        await clickTo(
          page,
          page.getByRole("link", { name: "a name with markup" }),
          origin,
          "/greet.tmpl.html?name=%3Cb%3Eyou%3C%2Fb%3E&color=%7B%7Bname%7D%7D",
        );
        assert.equal(await page.locator("h1").textContent(), "Hello, <b>you</b>!");
        assert.equal(await page.locator("h1 b").count(), 0);
        assert.equal(await page.locator(".answer strong").textContent(), "{{name}}");
      }));
  });
});

/** Look is what the look tests measure on a page. */
interface Look {
  scrollWidth: number;
  innerWidth: number;
  bodyFontPx: number;
}

/** The little of a browser window the look tests read (this project type-checks without the DOM lib). */
interface BrowserWindow {
  innerWidth: number;
  document: { documentElement: { scrollWidth: number }; body: unknown };
  getComputedStyle(element: unknown): { fontSize: string };
}

/**
 * lookProblems measures the page at `viewport` and returns what is wrong
 * with it, as sentences: sideways scrolling, body text under 14 px.
 */
async function lookProblems(page: Page, viewport: Viewport, what: string): Promise<string[]> {
  const look: Look = await page.evaluate(() => {
    const window = globalThis as unknown as BrowserWindow;
    return {
      scrollWidth: window.document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      bodyFontPx: parseFloat(window.getComputedStyle(window.document.body).fontSize),
    };
  });
  const problems = [];
  // A phone zooms out of a page wider than the screen, and innerWidth grows
  // with it (to 715 for a 715 px wide page): the viewport's own width is the
  // bound that cannot move.
  const width = Math.min(look.innerWidth, viewport.width);
  if (look.scrollWidth > width + 1) {
    problems.push(`${what}: scrolls sideways (scrollWidth ${look.scrollWidth} > ${width})`);
  }
  if (look.bodyFontPx < 14) {
    problems.push(`${what}: body text is ${look.bodyFontPx}px, under 14px`);
  }
  return problems;
}

/** postMessage posts `message` to the board as a form would, without a browser. */
async function postMessage(origin: string, message: string): Promise<void> {
  const response = await fetch(`${origin}/board`, {
    method: "POST",
    body: new URLSearchParams({ message }),
    redirect: "manual",
  });
  await response.body?.cancel();
  assert.equal(response.status, 303);
}

browserTest("look: no sideways scrolling and readable text on every page", async (browser, t) => {
  await withTempDir(async (dir) => {
    const root = join(dir, "www");
    const data = join(dir, "data");
    const uploads = join(dir, "uploads");
    await copy(WWW_ROOT, root);
    await makeListingTree(root, "files");
    await Deno.mkdir(data);
    await Deno.mkdir(uploads);
    await Deno.writeTextFile(join(uploads, "hello.txt"), "hello\n");
    await using server = await spawnServer({
      root,
      args: ["--quiet", "--data-dir", data, "--upload-dir", uploads],
      allowRead: [data, uploads],
      allowWrite: [data, uploads],
    });
    const origin = server.url;
    await postMessage(origin, "Hello <b>bold</b> & friends 🎉");

    const pages: [string, string][] = [
      ["listing", "/files/"],
      ["board", "/board"],
      ["upload", "/uploads/"],
      ["template", `/greet.tmpl.html?name=${encodeURIComponent(XSS_PAYLOAD)}`],
    ];
    await eachViewport(t, (viewport) =>
      withPage(browser, viewport, async (page) => {
        const problems = [];
        for (const [what, path] of pages) {
          const response = await page.goto(origin + path);
          assert.equal(response?.status(), 200, `${what}: ${path}`);
          problems.push(...await lookProblems(page, viewport, what));
        }
        assert.deepEqual(problems, []);
      }));
  });
});

/** A camera's file name: long, and without a space to break at. */
const LONG_FILE_NAME = "IMG_20240101_123456789_HDR_panorama_final_version_2_edited.jpg";
/** A real surname of 35 letters, one word. */
const LONG_NAME = "Wolfeschlegelsteinhausenbergerdorff";
/** A link pasted into the board. */
const LONG_URL = "https://example.com/a/very/long/path/without/spaces/index.html?query=1234567890";

browserTest("look: long names and links wrap instead of scrolling sideways", async (
  browser,
  t,
) => {
  await withTempDir(async (dir) => {
    const root = join(dir, "www");
    const data = join(dir, "data");
    const uploads = join(dir, "uploads");
    await copy(WWW_ROOT, root);
    await Deno.mkdir(join(root, "photos"));
    await Deno.writeTextFile(join(root, "photos", LONG_FILE_NAME), "jpeg");
    await Deno.mkdir(data);
    await Deno.mkdir(uploads);
    await Deno.writeTextFile(join(uploads, LONG_FILE_NAME), "jpeg");
    await using server = await spawnServer({
      root,
      args: ["--quiet", "--data-dir", data, "--upload-dir", uploads],
      allowRead: [data, uploads],
      allowWrite: [data, uploads],
    });
    const origin = server.url;
    await postMessage(origin, `See ${LONG_URL}`);

    const pages: [string, string][] = [
      ["listing", "/photos/"],
      ["board", "/board"],
      ["upload", "/uploads/"],
      ["template", `/greet.tmpl.html?name=${LONG_NAME}`],
    ];
    await eachViewport(t, (viewport) =>
      withPage(browser, viewport, async (page) => {
        const problems = [];
        for (const [what, path] of pages) {
          const response = await page.goto(origin + path);
          assert.equal(response?.status(), 200, `${what}: ${path}`);
          await screenshot(page, `long-${what}`, viewport);
          problems.push(...await lookProblems(page, viewport, what));
        }
        assert.deepEqual(problems, []);
      }));
  });
});

/**
 * liveChange writes `file` and measures how long until `appeared` holds on
 * the page (ms), failing after `LIVE_LIMIT_MS`.
 */
async function liveChange(
  page: Page,
  write: () => Promise<void>,
  appeared: string,
): Promise<number> {
  const started = performance.now();
  await write();
  // Polled from here: a reload destroys the page's context under a wait.
  while (performance.now() - started < LIVE_LIMIT_MS) {
    const seen = await page.evaluate(appeared).catch(() => false);
    if (seen === true) return Math.round(performance.now() - started);
    await delay(10);
  }
  assert.fail(`not on screen within ${LIVE_LIMIT_MS} ms: ${appeared}`);
}

/** liveConnected waits until the page's live-reload script has heard the server's hello. */
async function liveConnected(page: Page): Promise<void> {
  const started = performance.now();
  while (performance.now() - started < ACTION_TIMEOUT_MS) {
    const connected = await page.evaluate(
      "globalThis.__minserveLive?.connected === true",
    ).catch(() => false);
    if (connected === true) return;
    await delay(10);
  }
  assert.fail("the page never connected to the live-reload stream");
}

/** How long a change may take to show with --live before the test fails (it takes ~100 ms). */
const LIVE_LIMIT_MS = 3_000;

browserTest(
  "live reload: a page, a stylesheet and an image change on screen",
  async (browser, t) => {
    await withTempDir(async (dir) => {
      const root = join(dir, "root");
      await Deno.mkdir(root);
      const page = (text: string) =>
        `<!doctype html><meta name="viewport" content="width=device-width">` +
        `<title>live</title><link rel="stylesheet" href="/style.css">` +
        `<h1 id="msg">${text}</h1><img id="pic" src="/pic.svg" alt="pic"></body>`;
      const svg = (width: number, fill: string) =>
        `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="40">` +
        `<rect width="${width}" height="40" fill="${fill}"/></svg>`;
      await using server = await spawnServer({ root, args: ["--quiet", "--live"] });
      const latencies: string[] = [];
      await eachViewport(t, async (viewport) => {
        await Deno.writeTextFile(join(root, "index.html"), page("first"));
        await Deno.writeTextFile(join(root, "style.css"), "h1 { color: rgb(200, 0, 0) }\n");
        await Deno.writeTextFile(join(root, "pic.svg"), svg(40, "red"));
        // A page with neither </body> nor </html>: the script still goes in.
        await Deno.writeTextFile(join(root, "bare.html"), "<!doctype html><p id=bare>one");
        await withPage(browser, viewport, async (p, watch) => {
          await p.goto(`${server.url}/`);
          await liveConnected(p);
          assert.equal(await p.locator("#msg").textContent(), "first");

          const pageMs = await liveChange(
            p,
            () => Deno.writeTextFile(join(root, "index.html"), page("second")),
            `document.getElementById("msg")?.textContent === "second"`,
          );
          await liveConnected(p); // the reloaded page listens again before the next change
          await screenshot(p, "live-page", viewport);

          const navigations = watch.navigations.length;
          const cssMs = await liveChange(
            p,
            () => Deno.writeTextFile(join(root, "style.css"), "h1 { color: rgb(0, 0, 200) }\n"),
            `getComputedStyle(document.getElementById("msg")).color === "rgb(0, 0, 200)"`,
          );
          assert.equal(watch.navigations.length, navigations, "a stylesheet is swapped, no reload");
          await screenshot(p, "live-style", viewport);

          const imageMs = await liveChange(
            p,
            () => Deno.writeTextFile(join(root, "pic.svg"), svg(120, "blue")),
            `document.getElementById("pic")?.naturalWidth === 120`,
          );
          await liveConnected(p);
          await screenshot(p, "live-image", viewport);

          await p.goto(`${server.url}/bare.html`);
          await liveConnected(p);
          const bareMs = await liveChange(
            p,
            () => Deno.writeTextFile(join(root, "bare.html"), "<!doctype html><p id=bare>two"),
            `document.getElementById("bare")?.textContent === "two"`,
          );
          latencies.push(
            `${viewport.name}: page ${pageMs} ms, stylesheet ${cssMs} ms, image ${imageMs} ms, ` +
              `page without </body> ${bareMs} ms`,
          );
        });
      });
      console.log(`live reload, from the write to the change on screen: ${latencies.join("; ")}`);
    });
  },
);

browserTest("live reload: the page reconnects after a restart and reloads", async (browser, t) => {
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    await Deno.mkdir(root);
    await Deno.writeTextFile(join(root, "index.html"), "<!doctype html><p id=v>before</p>");
    await withPage(browser, DESKTOP, async (p, watch) => {
      let port: number;
      {
        await using first = await spawnServer({ root, args: ["--quiet", "--live"] });
        port = first.port;
        await p.goto(`${first.url}/`);
        await liveConnected(p);
      }
      // Changed while no server ran; the next server on the same port is new.
      await Deno.writeTextFile(join(root, "index.html"), "<!doctype html><p id=v>after</p>");
      // The later --port wins over spawnServer's --port 0.
      await using _second = await spawnServer({
        root,
        args: ["--quiet", "--live", "--port", String(port)],
      });
      await p.waitForFunction(`document.getElementById("v")?.textContent === "after"`, undefined, {
        timeout: 10_000,
      });
      await t.step("reloaded with the new content", () => {});
      // While no server ran, the event stream's reconnects were refused: the
      // browser logs each; that is the restart this test makes, not a fault.
      const refused = /ERR_CONNECTION_REFUSED/;
      watch.errors.splice(0, watch.errors.length, ...watch.errors.filter((e) => !refused.test(e)));
    });
  });
});

browserTest(
  "--auth: a signed-in browser gets pages, stylesheets and live reload; a stranger the 401 page",
  async (browser, t) => {
    await withTempDir(async (dir) => {
      const root = join(dir, "root");
      await Deno.mkdir(root);
      const page = (text: string) =>
        `<!doctype html><meta name="viewport" content="width=device-width">` +
        `<title>private</title><link rel="stylesheet" href="/style.css">` +
        `<h1 id="msg">${text}</h1></body>`;
      await Deno.writeTextFile(join(root, "style.css"), "h1 { color: rgb(0, 128, 0) }\n");
      const users = join(dir, "users");
      const { default: bcrypt } = await import("bcryptjs");
      await Deno.writeTextFile(users, `zoë:${bcrypt.hashSync("pässword", 4)}:rw\n`);
      await using server = await spawnServer({
        root,
        args: ["--quiet", "--live", "--auth", users],
        allowRead: [users],
      });
      const credentials = { httpCredentials: { username: "zoë", password: "pässword" } };
      await eachViewport(t, async (viewport) => {
        await Deno.writeTextFile(join(root, "index.html"), page("first"));
        await withPage(browser, viewport, async (p) => {
          const response = await p.goto(`${server.url}/`);
          assert.equal(response?.status(), 200);
          const color = await p.evaluate(
            `getComputedStyle(document.getElementById("msg")).color`,
          );
          assert.equal(color, "rgb(0, 128, 0)", "the stylesheet came with the credentials");
          await liveConnected(p); // the event stream is protected too, and the browser signs in
          await liveChange(
            p,
            () => Deno.writeTextFile(join(root, "index.html"), page("second")),
            `document.getElementById("msg")?.textContent === "second"`,
          );
          await screenshot(p, "auth-signed-in", viewport);
        }, credentials);

        // A stranger: Chromium has no credentials to answer the challenge
        // with (a person would get the sign-in dialog), so the navigation
        // fails; the page a person sees after cancelling the dialog is the
        // 401's body, fetched without auth handling and shown as it is.
        const context = await browser.newContext({
          viewport: { width: viewport.width, height: viewport.height },
          isMobile: viewport.mobile,
          hasTouch: viewport.mobile,
        });
        try {
          const p = await context.newPage();
          await assert.rejects(p.goto(`${server.url}/`), /ERR_INVALID_AUTH_CREDENTIALS/);
          const response = await context.request.get(`${server.url}/`);
          assert.equal(response.status(), 401);
          assert.equal(
            response.headers()["www-authenticate"],
            'Basic realm="minserve", charset="UTF-8"',
          );
          const shown = await context.newPage();
          await shown.setContent(await response.text());
          const text = await shown.locator("body").textContent() ?? "";
          assert.match(text, /401/);
          assert.doesNotMatch(text, /first|second|private/);
          await screenshot(shown, "auth-401", viewport);
        } finally {
          await context.close();
        }
      });
    });
  },
);
