/**
 * The dynamic pages as the app routes them: /time, and templates under the
 * root whose source must never be sent.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../lib/app.ts";

const INFO = { remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 } };
const SOURCE = "<!doctype html><title>t</title><p>Hi {{name|you}}</p>\n";

async function withRoot(
  fn: (get: (path: string, init?: RequestInit) => Promise<Response>) => Promise<void>,
) {
  const root = await Deno.makeTempDir({ prefix: "minserve_routes_" });
  try {
    await Deno.writeTextFile(join(root, "page.tmpl.html"), SOURCE);
    await Deno.writeFile(join(root, "page.tmpl.html.gz"), new Uint8Array([0x1f, 0x8b]));
    await Deno.symlink("page.tmpl.html", join(root, "alias.html"));
    await Deno.mkdir(join(root, "dir"));
    await Deno.writeTextFile(join(root, "dir", "index.html"), "<p>index</p>");
    const app = createApp({
      root,
      realRoot: await Deno.realPath(root),
      listing: true,
      dotfiles: false,
    });
    await fn((path, init) => Promise.resolve(app(new Request(`http://x${path}`, init), INFO)));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("templates: rendered, escaped, never sent as source", async (t) => {
  await withRoot(async (get) => {
    const CASES: Array<
      [name: string, path: string, headers: HeadersInit, status: number, body: string | RegExp]
    > = [
      ["rendered with a parameter", "/page.tmpl.html?name=Ann", {}, 200, "<p>Hi Ann</p>"],
      ["the default when missing", "/page.tmpl.html", {}, 200, "<p>Hi you</p>"],
      ["values escaped", "/page.tmpl.html?name=%3Cscript%3E", {}, 200, "<p>Hi &lt;script&gt;</p>"],
      ["a symlink with another name renders too", "/alias.html?name=Bo", {}, 200, "<p>Hi Bo</p>"],
      [
        "a Range header does not expose the source",
        "/page.tmpl.html",
        { range: "bytes=0-10" },
        200,
        /Hi you/,
      ],
      ["?bytes does not expose the source", "/page.tmpl.html?bytes=5", {}, 200, /Hi you/],
      ["a compressed sibling of a template is hidden", "/page.tmpl.html.gz", {}, 404, /Not Found/],
    ];
    for (const [name, path, headers, status, body] of CASES) {
      await t.step(name, async () => {
        const res = await get(path, { headers });
        assert.equal(res.status, status);
        const text = await res.text();
        if (typeof body === "string") assert.ok(text.includes(body), text);
        else assert.match(text, body);
        assert.ok(!text.includes("{{name"), "source leaked");
      });
    }
    await t.step("a listing shows the template's name only", async () => {
      const res = await get("/", { headers: { accept: "text/plain" } });
      const names = (await res.text()).trim().split("\n");
      assert.ok(names.includes("page.tmpl.html"));
    });
    await t.step("POST to a template: 405", async () => {
      const res = await get("/page.tmpl.html", { method: "POST", body: "x" });
      assert.equal(res.status, 405);
      await res.body?.cancel();
    });
  });
});

Deno.test("/time is routed for GET, HEAD and OPTIONS only", async (t) => {
  await withRoot(async (get) => {
    await t.step("GET: HTML, no-store", async () => {
      const res = await get("/time");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.match(await res.text(), /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}/);
    });
    await t.step("JSON when asked", async () => {
      const res = await get("/time", { headers: { accept: "application/json" } });
      const body = await res.json();
      assert.equal(typeof body.time, "string");
    });
    await t.step("OPTIONS: 204 with Allow", async () => {
      const res = await get("/time", { method: "OPTIONS" });
      assert.equal(res.status, 204);
      assert.equal(res.headers.get("allow"), "GET, HEAD, OPTIONS");
    });
    await t.step("POST: 405 with Allow", async () => {
      const res = await get("/time", { method: "POST", body: "x" });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), "GET, HEAD, OPTIONS");
      await res.body?.cancel();
    });
  });
});
