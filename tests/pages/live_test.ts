/**
 * Live reload without a browser: the script tag's place in a page, which
 * changes become events (debounced, hidden files left out), the event
 * stream itself, and what the static layer injects into (HTML, whole) and
 * leaves alone (ranges, `?bytes`, other types, everything when off).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../lib/app.ts";
import { writeResponse } from "../../lib/http/response_writer.ts";
import {
  injectLiveScript,
  LIVE_DEBOUNCE_MS,
  LIVE_PATH,
  LIVE_SCRIPT_PATH,
  LiveReload,
  MAX_LIVE_CLIENTS,
  urlPathOf,
} from "../../lib/pages/live.ts";
import { HttpError } from "../../lib/http/http_error.ts";
import { delay } from "../_support/wait.ts";

const TAG = `<script src="${LIVE_SCRIPT_PATH}"></script>`;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const INFO = { remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 } };

Deno.test("injectLiveScript puts the tag before the last </body>, else </html>, else at the end", async (t) => {
  const cases: [string, string, string][] = [
    ["before </body>", "<p>a</p></body></html>", `<p>a</p>${TAG}</body></html>`],
    ["upper case", "<P>a</P></BODY></HTML>", `<P>a</P>${TAG}</BODY></HTML>`],
    ["the last </body>", "<pre></body></pre></body>", `<pre></body></pre>${TAG}</body>`],
    ["no </body>: before </html>", "<p>a</html>", `<p>a${TAG}</html>`],
    ["neither: at the end", "<!doctype html><p>bare", `<!doctype html><p>bare${TAG}`],
    ["empty", "", TAG],
    ["not </bodyx> lookalikes of other tags", "<p></bod>", `<p></bod>${TAG}`],
  ];
  for (const [name, page, want] of cases) {
    await t.step(name, () => {
      assert.equal(decoder.decode(injectLiveScript(encoder.encode(page))), want);
    });
  }
  await t.step("UTF-8 around the tag is kept byte for byte", () => {
    const page = encoder.encode("<p>ünïcödé ✓</p></body>");
    const out = injectLiveScript(page);
    assert.equal(decoder.decode(out), `<p>ünïcödé ✓</p>${TAG}</body>`);
  });
});

Deno.test("urlPathOf: a changed file's URL path, or nothing for what no page shows", async (t) => {
  const root = "/srv/site";
  const cases: [string, string | undefined][] = [
    ["/srv/site/index.html", "/index.html"],
    ["/srv/site/css/a b.css", "/css/a%20b.css"],
    ["/srv/site", "/"],
    ["/srv/site/.git/index", undefined],
    ["/srv/site/.index.html.swp", undefined],
    ["/srv/site/index.html~", undefined],
    ["/srv/other/x.html", undefined],
  ];
  for (const [path, want] of cases) {
    await t.step(path, () => assert.equal(urlPathOf(root, path), want));
  }
});

/** A watcher the test drives by hand. */
class FakeWatcher {
  listeners = new Set<(paths: readonly string[] | "all") => void>();
  subscribe(listener: (paths: readonly string[] | "all") => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(paths: readonly string[] | "all") {
    for (const listener of this.listeners) listener(paths);
  }
}

/** Reads the event stream's text until `until` matches it or `ms` pass. */
async function readEvents(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  until: RegExp,
  ms = 2000,
): Promise<string> {
  let text = "";
  const deadline = Date.now() + ms;
  while (!until.test(text) && Date.now() < deadline) {
    const next = await Promise.race([
      reader.read(),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), deadline - Date.now())),
    ]);
    if (next === null || next.done) break;
    text += decoder.decode(next.value);
  }
  return text;
}

Deno.test("LiveReload: hello, one change event per burst, hidden files left out, close ends it", async () => {
  const watcher = new FakeWatcher();
  const live = new LiveReload("/srv/site", watcher);
  try {
    const response = live.handle(new Request(`http://a${LIVE_PATH}`));
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(response.headers.get("cache-control"), "no-store");
    const reader = response.body!.getReader();
    const hello = await readEvents(reader, /\n\n$/);
    assert.match(hello, /^retry: 1000\nevent: hello\ndata: [0-9a-f-]{36}\n\n$/);
    assert.equal(live.clients, 1);

    // An editor's save: a swap file, a backup, the file itself twice.
    watcher.emit(["/srv/site/.a.html.swp"]);
    watcher.emit(["/srv/site/a.html~", "/srv/site/a.html"]);
    watcher.emit(["/srv/site/a.html"]);
    watcher.emit(["/srv/site/css/s.css"]);
    const events = await readEvents(reader, /change[\s\S]*\n\n$/);
    assert.equal(events, 'event: change\ndata: {"paths":["/a.html","/css/s.css"]}\n\n');
    // Nothing more until something changes again.
    assert.equal(await readEvents(reader, /./, LIVE_DEBOUNCE_MS * 3), "");

    watcher.emit(["/srv/site/.git/HEAD"]);
    assert.equal(await readEvents(reader, /./, LIVE_DEBOUNCE_MS * 3), "", "hidden only: no event");

    live.close();
    assert.deepEqual(await reader.read(), { done: true, value: undefined });
    assert.equal(live.clients, 0);
  } finally {
    live.close();
  }
});

Deno.test("LiveReload: script, methods, HEAD, the client cap, a cancelled stream", async (t) => {
  const live = new LiveReload("/srv/site", new FakeWatcher());
  try {
    await t.step("the script is JavaScript that listens to the stream", async () => {
      const res = live.handle(new Request(`http://a${LIVE_SCRIPT_PATH}`));
      assert.equal(res.headers.get("content-type"), "text/javascript; charset=utf-8");
      const text = await res.text();
      assert.equal(res.headers.get("content-length"), String(encoder.encode(text).length));
      assert.ok(text.includes(`new EventSource("${LIVE_PATH}")`));
    });
    await t.step("POST: 405", () => {
      assert.throws(
        () => live.handle(new Request(`http://a${LIVE_PATH}`, { method: "POST" })),
        (err) => err instanceof HttpError && err.status === 405,
      );
    });
    await t.step("another reserved path: 404", () => {
      assert.throws(
        () => live.handle(new Request("http://a/__minserve/other")),
        (err) => err instanceof HttpError && err.status === 404,
      );
    });
    await t.step("HEAD of the stream: headers, no stream held", () => {
      const res = live.handle(new Request(`http://a${LIVE_PATH}`, { method: "HEAD" }));
      assert.equal(res.body, null);
      assert.equal(live.clients, 0);
    });
    await t.step("a cancelled stream is forgotten", async () => {
      const res = live.handle(new Request(`http://a${LIVE_PATH}`));
      assert.equal(live.clients, 1);
      await res.body!.cancel();
      assert.equal(live.clients, 0);
    });
    await t.step(`past ${MAX_LIVE_CLIENTS} streams: 503`, async () => {
      const open = Array.from(
        { length: MAX_LIVE_CLIENTS },
        () => live.handle(new Request(`http://a${LIVE_PATH}`)),
      );
      assert.throws(
        () => live.handle(new Request(`http://a${LIVE_PATH}`)),
        (err) => err instanceof HttpError && err.status === 503,
      );
      for (const res of open) await res.body!.cancel();
    });
  } finally {
    live.close();
  }
});

Deno.test("an event stream leaves at once, not buffered until it ends", async () => {
  const live = new LiveReload("/srv/site", new FakeWatcher());
  const written: string[] = [];
  let sawHello: () => void;
  const hello = new Promise<void>((resolve) => (sawHello = resolve));
  const sink = {
    write(p: Uint8Array) {
      written.push(decoder.decode(p));
      if (written.join("").includes("event: hello")) sawHello();
      return Promise.resolve(p.length);
    },
  };
  const response = live.handle(new Request(`http://a${LIVE_PATH}`));
  const writing = writeResponse(sink, response, {
    head: false,
    minor: 1,
    keepAlive: true,
    server: "",
  });
  await hello; // the stream is still open: it was written as it came
  const text = written.join("");
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(text, /Transfer-Encoding: chunked\r\n/);
  live.close();
  await writing;
  assert.ok(written.join("").endsWith("0\r\n\r\n"), "the stream ends cleanly on close");
});

Deno.test("the static layer injects into whole HTML pages, and only when live", async (t) => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "minserve_live_" }));
  try {
    const page = "<!doctype html><title>t</title><p>hello</p></body>";
    await Deno.writeTextFile(join(root, "index.html"), page);
    await Deno.writeTextFile(join(root, "a.css"), "p { color: red }\n".repeat(100));
    await Deno.writeTextFile(join(root, "t.tmpl.html"), "<p>{{name}}</p></body>");
    const anHourAgo = new Date(Date.now() - 3600_000);
    for (const name of ["index.html", "a.css", "t.tmpl.html"]) {
      await Deno.utime(join(root, name), anHourAgo, anHourAgo);
    }
    const live = new LiveReload(root, new FakeWatcher());
    const options = { root, realRoot: root, listing: true, dotfiles: false };
    const on = createApp({ ...options, live });
    const off = createApp(options);
    const get = (app: typeof on, path: string, headers: HeadersInit = {}, method = "GET") =>
      Promise.resolve(app(new Request(`http://a${path}`, { method, headers }), INFO));
    const injected = page.replace("</body>", `${TAG}</body>`);

    await t.step("a page: the tag, its length, an ETag of its own, no compression", async () => {
      const res = await get(on, "/", { "accept-encoding": "br, gzip" });
      assert.equal(await res.text(), injected);
      assert.equal(res.headers.get("content-length"), String(injected.length));
      assert.match(res.headers.get("etag")!, /-live"$/);
      assert.equal(res.headers.get("content-encoding"), null);
      const head = await get(on, "/", {}, "HEAD");
      assert.equal(head.headers.get("content-length"), String(injected.length));
      const again = await get(on, "/", { "if-none-match": res.headers.get("etag")! });
      assert.equal(again.status, 304);
    });
    await t.step("the fast path answers the same page", () => {
      const answer = on.fastPath({
        method: "GET",
        target: "/index.html",
        minor: 1,
        headers: [["Host", "a"]],
        authority: "a",
        framing: { kind: "none" },
        keepAlive: true,
        expectContinue: false,
      });
      assert.ok(answer !== undefined);
      assert.equal(decoder.decode(answer.body![0]), injected);
    });
    await t.step("a range and ?bytes get the file as it is", async () => {
      const ranged = await get(on, "/index.html", { range: "bytes=0-4" });
      assert.equal(ranged.status, 206);
      assert.equal(await ranged.text(), page.slice(0, 5));
      assert.doesNotMatch(ranged.headers.get("etag")!, /-live"$/);
      const prefix = await get(on, `/index.html?bytes=${page.length}`);
      assert.equal(await prefix.text(), page);
    });
    await t.step("other types are untouched", async () => {
      const css = await get(on, "/a.css");
      assert.equal(await css.text(), "p { color: red }\n".repeat(100));
    });
    await t.step("templates and listings get the tag too", async () => {
      const rendered = await get(on, "/t.tmpl.html?name=x");
      assert.equal(await rendered.text(), `<p>x</p>${TAG}</body>`);
      const listing = await get(on, "/", {}, "GET");
      await listing.body?.cancel();
      await Deno.remove(join(root, "index.html"));
      await delay(0); // the store looks again
      const dir = await get(on, "/");
      assert.ok((await dir.text()).includes(TAG), "the listing");
    });
    await t.step("off: nothing injected, and the reserved paths are files like any", async () => {
      const res = await get(off, "/t.tmpl.html?name=x");
      assert.equal(await res.text(), "<p>x</p></body>");
      const script = await get(off, LIVE_SCRIPT_PATH);
      assert.equal(script.status, 404);
      await script.body?.cancel();
    });
    live.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
