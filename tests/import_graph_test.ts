/**
 * import_graph_test.ts — the layers of `lib/` hold: no module imports from a
 * layer above it (issue 14).
 *
 * Read bottom-up, the tree is: `http/` (bytes, the parser, the writer,
 * `HttpError` and the handler contract), then the static layer and the
 * pages, then the app (the handler), and beside it the connection and the
 * server (which call a handler, but never know which); `main.ts` starts it
 * all. The two sides meet only at `http/handler.ts`.
 *
 * The graph comes from `deno info --json`, Deno's own module resolver, so
 * `import type`, `export … from`, multi-line imports and literal dynamic
 * `import("…")` all count, and import-like text in comments does not.
 */

import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { DENO_JSON, REPO_ROOT } from "./_support/paths.ts";

/**
 * A pattern names modules by repository-relative path: one ending in "/"
 * matches everything under that folder, any other matches that file (or an
 * external specifier such as "npm:…" or "node:…" exactly).
 */
type Pattern = string;

/**
 * A LayerRule says what the modules matching `from` may import: with `only`,
 * nothing outside those patterns (a leaf); with `never`, none of those.
 */
interface LayerRule {
  name: string;
  from: Pattern;
  only?: Pattern[];
  never?: Pattern[];
}

/** The layers, bottom-up. An import that breaks one of these is an upward import. */
const RULES: LayerRule[] = [
  {
    name: "http/ is a leaf: it imports only http/",
    from: "lib/http/",
    only: ["lib/http/"],
  },
  {
    name: "the static layer is below the pages, the app and the server",
    from: "lib/static/",
    never: [
      "lib/pages/",
      "lib/app.ts",
      "lib/connection.ts",
      "lib/server.ts",
      "lib/instance.ts",
      "lib/config.ts",
    ],
  },
  {
    name: "the pages are below the app and the server",
    from: "lib/pages/",
    never: ["lib/app.ts", "lib/connection.ts", "lib/server.ts", "lib/instance.ts", "lib/config.ts"],
  },
  {
    name: "the app knows the handler contract, not the connection that calls it",
    from: "lib/app.ts",
    never: ["lib/connection.ts", "lib/server.ts", "lib/instance.ts", "lib/config.ts"],
  },
  {
    name: "the connection calls a handler and knows no static files or pages",
    from: "lib/connection.ts",
    never: ["lib/app.ts", "lib/static/", "lib/pages/", "lib/server.ts", "lib/instance.ts"],
  },
  {
    name: "one exchange, like its connection, knows no static files or pages",
    from: "lib/exchange.ts",
    never: ["lib/app.ts", "lib/static/", "lib/pages/", "lib/server.ts", "lib/instance.ts"],
  },
  {
    name: "the server serves any handler and knows no static files or pages",
    from: "lib/server.ts",
    never: ["lib/app.ts", "lib/static/", "lib/pages/", "lib/instance.ts", "lib/config.ts"],
  },
  {
    name: "the defaults are a leaf: the options table and every layer below it may import them",
    from: "lib/defaults.ts",
    only: [],
  },
  {
    name: "lib/ never imports the entry point, tests or tools",
    from: "lib/",
    never: ["main.ts", "tests/", "bench/", "scripts/", "examples/"],
  },
];

/**
 * An Exception is an upward import today's tree still has. Each says why it
 * is there; the test fails when one is no longer needed, so the list only
 * shrinks.
 */
interface Exception {
  from: string;
  to: string;
  why: string;
}

const EXCEPTIONS: Exception[] = [];

/** An Edge is one import: module `from` imports `to`, both repository-relative (or external specifiers). */
interface Edge {
  from: string;
  to: string;
}

function matches(pattern: Pattern, path: string): boolean {
  return pattern.endsWith("/") ? path.startsWith(pattern) : path === pattern;
}

/** upwardImports lists each edge that breaks a rule, with the rule's name. */
function upwardImports(edges: Edge[], rules: LayerRule[]): Array<Edge & { rule: string }> {
  const found: Array<Edge & { rule: string }> = [];
  for (const edge of edges) {
    for (const rule of rules) {
      if (!matches(rule.from, edge.from)) continue;
      const outside = rule.only !== undefined && !rule.only.some((p) => matches(p, edge.to));
      const denied = (rule.never ?? []).some((p) => matches(p, edge.to));
      if (outside || denied) found.push({ ...edge, rule: rule.name });
    }
  }
  return found;
}

/** The modules the rules are about: every TypeScript file under lib/, and main.ts. */
async function modules(): Promise<string[]> {
  const found = ["main.ts"];
  async function walk(dir: string) {
    for await (const entry of Deno.readDir(join(REPO_ROOT, dir))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && entry.name.endsWith(".ts")) found.push(path);
    }
  }
  await walk("lib");
  return found.sort();
}

interface InfoDependency {
  specifier: string;
  code?: { specifier?: string; error?: string };
  type?: { specifier?: string; error?: string };
}

interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
}

/** A repository-relative path for a file: URL; any other specifier as it is. */
function nameOf(specifier: string): string {
  if (!specifier.startsWith("file:")) return specifier;
  return relative(REPO_ROOT, fileURLToPath(specifier)).replaceAll("\\", "/");
}

/** importsOf asks `deno info` what `module` imports (code and type-only, static and dynamic). */
async function importsOf(module: string): Promise<Edge[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", DENO_JSON, join(REPO_ROOT, module)],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.ok(output.success, `deno info ${module} failed: ${stderr}`);
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: InfoModule[] };
  const self = info.modules.find((m) => nameOf(m.specifier) === module);
  assert.ok(self, `deno info did not list ${module}`);
  const edges: Edge[] = [];
  for (const dep of self.dependencies ?? []) {
    for (const resolved of [dep.code, dep.type]) {
      if (resolved === undefined) continue;
      assert.equal(resolved.error, undefined, `${module}: ${dep.specifier}: ${resolved.error}`);
      if (resolved.specifier !== undefined) {
        edges.push({ from: module, to: nameOf(resolved.specifier) });
      }
    }
  }
  return edges;
}

/** The import graph of lib/ and main.ts, a few `deno info` runs at a time. */
async function importGraph(): Promise<Edge[]> {
  const pending = await modules();
  const edges: Edge[] = [];
  const workers = Array.from({ length: 4 }, async () => {
    for (let module = pending.pop(); module !== undefined; module = pending.pop()) {
      edges.push(...await importsOf(module));
    }
  });
  await Promise.all(workers);
  return edges;
}

function show(edges: Array<Edge & { rule?: string }>): string {
  return edges.map((e) => `  ${e.from} → ${e.to}${e.rule ? `  (${e.rule})` : ""}`).join("\n");
}

Deno.test("upwardImports flags what each kind of rule forbids, and only that", async (t) => {
  const CASES: Array<[name: string, edge: Edge, broken: string[]]> = [
    ["within http/", { from: "lib/http/body.ts", to: "lib/http/input.ts" }, []],
    ["http/ to a module above", { from: "lib/http/body.ts", to: "lib/error_page.ts" }, [
      "http/ is a leaf: it imports only http/",
    ]],
    ["http/ to a package", { from: "lib/http/body.ts", to: "npm:/fast-check@4.10.2" }, [
      "http/ is a leaf: it imports only http/",
    ]],
    ["static to http/", { from: "lib/static/range.ts", to: "lib/http/http_error.ts" }, []],
    ["static to pages", { from: "lib/static/range.ts", to: "lib/pages/page.ts" }, [
      "the static layer is below the pages, the app and the server",
    ]],
    ["pages to static", { from: "lib/pages/upload.ts", to: "lib/static/listing.ts" }, []],
    ["pages to the app", { from: "lib/pages/upload.ts", to: "lib/app.ts" }, [
      "the pages are below the app and the server",
    ]],
    ["app to the connection", { from: "lib/app.ts", to: "lib/connection.ts" }, [
      "the app knows the handler contract, not the connection that calls it",
    ]],
    ["app to the handler contract", { from: "lib/app.ts", to: "lib/http/handler.ts" }, []],
    ["the connection to the app", { from: "lib/connection.ts", to: "lib/app.ts" }, [
      "the connection calls a handler and knows no static files or pages",
    ]],
    ["lib to main.ts", { from: "lib/config.ts", to: "main.ts" }, [
      "lib/ never imports the entry point, tests or tools",
    ]],
    ["http/ to tests", { from: "lib/http/input.ts", to: "tests/_support/paths.ts" }, [
      "http/ is a leaf: it imports only http/",
      "lib/ never imports the entry point, tests or tools",
    ]],
    ["main.ts to anything", { from: "main.ts", to: "lib/instance.ts" }, []],
    ["a file named like a folder", { from: "lib/https.ts", to: "lib/pages/page.ts" }, []],
  ];
  for (const [name, edge, broken] of CASES) {
    await t.step(name, () => {
      assert.deepEqual(upwardImports([edge], RULES).map((v) => v.rule), broken);
    });
  }
});

Deno.test("no module in lib/ imports from a layer above it", async () => {
  const edges = await importGraph();
  // The graph is really read: these imports exist today, of each kind.
  for (
    const known of [
      { from: "lib/app.ts", to: "lib/http/handler.ts" }, // import type
      { from: "lib/server.ts", to: "lib/http/handler.ts" }, // export type … from
      { from: "lib/http/body.ts", to: "lib/http/http_error.ts" },
      { from: "main.ts", to: "lib/config.ts" },
    ]
  ) {
    assert.ok(
      edges.some((e) => e.from === known.from && e.to === known.to),
      `the graph misses ${known.from} → ${known.to}`,
    );
  }

  const upward = upwardImports(edges, RULES);
  const isException = (e: Edge) => EXCEPTIONS.some((x) => x.from === e.from && x.to === e.to);
  const unexpected = upward.filter((e) => !isException(e));
  assert.equal(
    unexpected.length,
    0,
    `upward imports (move the code down, or the import up):\n${show(unexpected)}`,
  );
  const stale = EXCEPTIONS.filter((x) => !upward.some((e) => e.from === x.from && e.to === x.to));
  assert.equal(
    stale.length,
    0,
    `exceptions no longer needed; remove them from EXCEPTIONS:\n${show(stale)}`,
  );
});
