/**
 * resolve_path_test.ts — the hostile table for resolvePath (style rule 13).
 *
 * Every case is tried twice: on the raw string, as if it reached the
 * resolver untouched, and on `new URL("http://x" + raw).pathname`, which is
 * what the server really passes (the WHATWG parser has then already removed
 * literal and `%2e` dot segments and turned `\` into `/`). Both must be safe.
 */

import assert from "node:assert/strict";
import { join, sep } from "node:path";
import { HttpError } from "../../lib/http/http_error.ts";
import {
  claimOf,
  findTarget,
  isHiddenName,
  isInside,
  realPathInside,
  resolvePath,
  type Scope,
} from "../../lib/static/resolve_path.ts";
import { mulberry32 } from "../_support/random.ts";

/** REJECT: resolvePath throws a 400 HttpError. */
const REJECT = "REJECT";
/** SAME: the URL parser's pathname resolves as the raw string does. */
const SAME = "SAME";
/** NOT_A_TARGET: the raw string is not an origin-form target, so no URL case. */
const NOT_A_TARGET = "NOT_A_TARGET";

type Want = readonly string[] | typeof REJECT;
/** `[raw target, want for the raw string, want for the URL parser's pathname]`. */
type Case = readonly [raw: string, direct: Want, viaUrl: Want | typeof SAME | typeof NOT_A_TARGET];

/** tryResolve returns the segments, or REJECT when resolvePath throws its 400. */
function tryResolve(pathname: string): string[] | typeof REJECT {
  try {
    return resolvePath(pathname);
  } catch (err) {
    if (err instanceof HttpError && err.status === 400) return REJECT;
    throw err;
  }
}

/** urlPathname is the pathname the server would get for the request target `raw`. */
function urlPathname(raw: string): string {
  return new URL("http://x" + raw).pathname;
}

const CASES: readonly Case[] = [
  // The root and plain names.
  ["/", [], SAME],
  ["/hello.txt", ["hello.txt"], SAME],
  ["/a/b/c.txt", ["a", "b", "c.txt"], SAME],
  ["/sub/", ["sub"], SAME], // trailing slash: the directory itself
  ["//x", ["x"], SAME], // empty segments are dropped
  ["/a//b///", ["a", "b"], SAME],
  ["a", REJECT, NOT_A_TARGET], // no leading slash
  ["", REJECT, NOT_A_TARGET],
  ["hello.txt/", REJECT, NOT_A_TARGET],

  // Literal dot segments: the URL parser resolves them; raw, they are refused.
  ["/a/../b.txt", REJECT, ["b.txt"]],
  ["/..", REJECT, []],
  ["/../etc/passwd", REJECT, ["etc", "passwd"]],
  ["/a/b/../../../c", REJECT, ["c"]],
  ["/a/./b", REJECT, ["a", "b"]],
  ["/.", REJECT, []],
  ["/...", ["..."], SAME], // three dots are a name
  ["/..;/x", ["..;", "x"], SAME], // Tomcat's path-parameter trick: a literal name here
  ["/.hidden", [".hidden"], SAME], // allowed: dotfiles are the server's policy

  // Percent-encoded dots.
  ["/%2e%2e/etc/passwd", REJECT, ["etc", "passwd"]],
  ["/%2E%2E/", REJECT, []],
  ["/%2e./x", REJECT, ["x"]],
  ["/.%2E", REJECT, []],
  ["/%2e", REJECT, []],
  ["/a/%2e%2e", REJECT, []],
  ["/%252e%252e/", ["%2e%2e"], SAME], // double-encoded: decoded once, a literal name
  ["/..%252f", ["..%2f"], SAME],

  // Encoded slashes and backslashes never become separators.
  ["/..%2f..%2fetc", REJECT, SAME],
  ["/a%2fb", REJECT, SAME],
  ["/a%2F..%2F..", REJECT, SAME],
  ["/%2e%2e%2f", REJECT, SAME],
  ["/a%5c..%5cb", REJECT, SAME],
  ["/%5c", REJECT, SAME],
  ["/a\\..\\b", REJECT, ["b"]], // raw backslash: the URL parser treats it as "/"
  ["/..\\x", REJECT, ["x"]],
  ["/%ef%bc%8f", ["\uff0f"], SAME], // fullwidth solidus: a normal name, not a slash
  ["/%EF%BC%8E%EF%BC%8E", ["\uff0e\uff0e"], SAME], // fullwidth full stops: a name too

  // NUL and other control characters.
  ["/%00", REJECT, SAME],
  ["/a%00.txt", REJECT, SAME],
  ["/a%0ab", REJECT, SAME],
  ["/a%0d%0aSet-Cookie:x", REJECT, SAME],
  ["/a%09b", REJECT, SAME],
  ["/%1f", REJECT, SAME],
  ["/%7f", REJECT, SAME],

  // Invalid percent-encoding and invalid UTF-8.
  ["/%ff", REJECT, SAME],
  ["/%c0%ae%c0%ae/", REJECT, SAME], // overlong UTF-8 for ".."
  ["/%c1%9c", REJECT, SAME], // overlong UTF-8 for "\"
  ["/%e0%80%af", REJECT, SAME], // overlong UTF-8 for "/"
  ["/%ed%a0%80", REJECT, SAME], // a UTF-16 surrogate
  ["/%c3", REJECT, SAME], // truncated sequence
  ["/%u002e", REJECT, SAME], // IIS %u escape: not percent-encoding
  ["/%zz", REJECT, SAME],
  ["/%", REJECT, SAME],
  ["/%2", REJECT, SAME],
  ["/a/%/b", REJECT, SAME],

  // Names that are odd but harmless.
  ["/with%20space.txt", ["with space.txt"], SAME],
  ["/with space.txt", ["with space.txt"], SAME], // the URL parser encodes the space
  ["/unicode-%C3%BC.txt", ["unicode-\u00fc.txt"], SAME],
  ["/unicode-\u00fc.txt", ["unicode-\u00fc.txt"], SAME],
  ["/percent%2541.txt", ["percent%41.txt"], SAME],
  ["/percent%41.txt", ["percentA.txt"], SAME],
  ["/%3f", ["?"], SAME],
  ["/%23", ["#"], SAME],
  ["/a?b", ["a?b"], ["a"]], // the URL parser keeps the query out of the pathname
  ["/a#b", ["a#b"], ["a"]],
  ["/~user", ["~user"], SAME],
  ["/a%20", ["a "], SAME],
  ["/%e2%80%ae", ["\u202e"], SAME], // right-to-left override: a name, escaped on output
];

Deno.test("resolvePath: hostile table", async (t) => {
  assert.ok(CASES.length >= 40, `only ${CASES.length} cases`);
  for (const [raw, direct, viaUrl] of CASES) {
    await t.step(raw === "" ? "(empty)" : raw, () => {
      assert.deepEqual(tryResolve(raw), direct, `direct: ${JSON.stringify(raw)}`);
      if (viaUrl === NOT_A_TARGET) return;
      const pathname = urlPathname(raw);
      assert.deepEqual(
        tryResolve(pathname),
        viaUrl === SAME ? direct : viaUrl,
        `via URL: ${JSON.stringify(raw)} → ${JSON.stringify(pathname)}`,
      );
    });
  }
});

Deno.test("resolvePath: the rejection is a 400 HttpError that does not echo the input", () => {
  assert.throws(
    () => resolvePath("/%2e%2e/secret-name"),
    (err: unknown) => {
      assert.ok(err instanceof HttpError);
      assert.equal(err.status, 400);
      assert.ok(!err.message.includes("secret-name"), err.message);
      return true;
    },
  );
});

/** Pieces a random path is built from: path characters and the escapes that matter. */
const PIECES = [
  "a",
  "b",
  "Z",
  "0",
  "-",
  "_",
  "~",
  ";",
  " ",
  ".",
  ".",
  "..",
  "/",
  "/",
  "//",
  "\\",
  "%",
  "%2e",
  "%2E",
  "%2f",
  "%2F",
  "%5c",
  "%5C",
  "%00",
  "%0a",
  "%7f",
  "%25",
  "%252e",
  "%20",
  "%c0%ae",
  "%c3%bc",
  "%ff",
  "%e2%80%ae",
  "%ef%bc%8f",
  "%u002e",
  "%zz",
];

Deno.test("resolvePath: 2,000 random paths never resolve outside the root", () => {
  const random = mulberry32(0x5eed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const hex = "0123456789abcdefABCDEF";
  const root = join("/srv", "www");
  let accepted = 0;
  let rejected = 0;

  const check = (input: string, source: string) => {
    const result = tryResolve(input);
    if (result === REJECT) {
      rejected++;
      return;
    }
    accepted++;
    const where = `${source} ${JSON.stringify(input)} → ${JSON.stringify(result)}`;
    for (const segment of result) {
      assert.notEqual(segment, "", where);
      assert.notEqual(segment, ".", where);
      assert.notEqual(segment, "..", where);
      assert.ok(!/[/\\\0]/.test(segment), where);
    }
    const joined = join(root, ...result);
    assert.ok(joined === root || joined.startsWith(root + sep), `${where} joins to ${joined}`);
  };

  for (let i = 0; i < 2000; i++) {
    let path = "/";
    const length = 1 + Math.floor(random() * 12);
    for (let j = 0; j < length; j++) {
      // Mostly known pieces, sometimes an arbitrary (possibly invalid) escape.
      path += random() < 0.8 ? pick(PIECES) : `%${pick([...hex])}${pick([...hex])}`;
    }
    check(path, "direct");
    check(urlPathname(path), "via URL");
  }
  // The generator must exercise both verdicts, or the loop proves nothing.
  assert.ok(accepted > 200, `accepted only ${accepted}`);
  assert.ok(rejected > 200, `rejected only ${rejected}`);
});

// ---------------------------------------------------------------------------
// The rest of step ⑥: hidden names, the path under the root, claims, real paths.

const ROOT = join(sep, "srv", "www");
const REAL_ROOT = join(sep, "data", "site");
/** The claim rule of these tables: names ending in ".page.html" (the app's is templates). */
const isPage = (name: string) => name.endsWith(".page.html");
const SCOPE: Scope = { root: ROOT, realRoot: REAL_ROOT, dotfiles: false, claims: isPage };
const WITH_DOTFILES: Scope = { ...SCOPE, dotfiles: true };

/** NOT_FOUND: findTarget throws a 404 HttpError (a hidden name). */
const NOT_FOUND = "NOT_FOUND";

/** tryFind returns the target, or REJECT / NOT_FOUND for the status findTarget throws. */
function tryFind(pathname: string, scope: Scope) {
  try {
    return findTarget(pathname, scope);
  } catch (err) {
    if (err instanceof HttpError && err.status === 400) return REJECT;
    if (err instanceof HttpError && err.status === 404) return NOT_FOUND;
    throw err;
  }
}

Deno.test("findTarget: a URL path to the path below the root, or 400, or 404", async (t) => {
  const CASES: Array<[pathname: string, scope: Scope, want: unknown]> = [
    ["/", SCOPE, { segments: [], path: ROOT, directory: true }],
    ["/a/b.txt", SCOPE, {
      segments: ["a", "b.txt"],
      path: join(ROOT, "a", "b.txt"),
      directory: false,
    }],
    ["/a/", SCOPE, { segments: ["a"], path: join(ROOT, "a"), directory: true }],
    ["//a//b", SCOPE, { segments: ["a", "b"], path: join(ROOT, "a", "b"), directory: false }],
    ["/%2e%2e/x", SCOPE, REJECT],
    ["/a%2fb", SCOPE, REJECT],
    ["/.env", SCOPE, NOT_FOUND],
    ["/%2eenv", SCOPE, NOT_FOUND], // decoded first, then hidden
    ["/.git/config", SCOPE, NOT_FOUND], // a hidden folder hides what is in it
    ["/a/.b/c", SCOPE, NOT_FOUND],
    ["/.well-known/x", WITH_DOTFILES, {
      segments: [".well-known", "x"],
      path: join(ROOT, ".well-known", "x"),
      directory: false,
    }],
    // Claimed files are found: the store hands them to the caller's page.
    ["/x.page.html", SCOPE, {
      segments: ["x.page.html"],
      path: join(ROOT, "x.page.html"),
      directory: false,
    }],
  ];
  for (const [pathname, scope, want] of CASES) {
    await t.step(`${pathname}${scope.dotfiles ? " (dotfiles on)" : ""}`, () => {
      assert.deepEqual(tryFind(pathname, scope), want);
    });
  }
});

Deno.test("isHiddenName: dotfiles, unless the site serves them", async (t) => {
  const CASES: Array<[name: string, hidden: boolean, withDotfiles: boolean]> = [
    [".env", true, false],
    [".", true, false],
    ["..", true, false],
    ["a.txt", false, false],
    ["a.", false, false],
    ["x.page.html.br", false, false], // siblings of claims are the store's call (claimOf)
  ];
  for (const [name, hidden, withDotfiles] of CASES) {
    await t.step(name, () => {
      assert.equal(isHiddenName(name, SCOPE), hidden);
      assert.equal(isHiddenName(name, WITH_DOTFILES), withDotfiles);
    });
  }
});

Deno.test("claimOf: claimed by either name; compressed siblings too; nothing without a rule", async (t) => {
  const CASES: Array<[name: string, realName: string, want: "claimed" | "sibling" | undefined]> = [
    ["x.page.html", "x.page.html", "claimed"],
    ["alias.html", "x.page.html", "claimed"], // a link to a claimed file
    ["x.page.html", "plain.html", "claimed"], // a claimed name linking elsewhere
    ["x.page.html.br", "x.page.html.br", "sibling"],
    ["x.page.html.gz", "x.page.html.gz", "sibling"],
    ["x.page.html.GZ", "x.page.html.GZ", "sibling"],
    ["alias.br", "x.page.html.br", "sibling"],
    ["x.page.html.zst", "x.page.html.zst", undefined],
    ["x.page.html.br.br", "x.page.html.br.br", undefined],
    ["plain.html", "plain.html", undefined],
    ["plain.html.br", "plain.html.br", undefined],
  ];
  const unclaimed: Scope = { root: ROOT, realRoot: REAL_ROOT, dotfiles: false };
  for (const [name, realName, want] of CASES) {
    await t.step(`${name} → ${realName}`, () => {
      assert.equal(claimOf(name, realName, SCOPE), want);
      assert.equal(claimOf(name, realName, unclaimed), undefined);
    });
  }
});

Deno.test("isInside: the real path lies inside the root's real path, with no dot segment", async (t) => {
  const CASES: Array<[real: string, inside: boolean, withDotfiles: boolean]> = [
    [REAL_ROOT, true, true],
    [join(REAL_ROOT, "a.txt"), true, true],
    [join(REAL_ROOT, "a", "b", "c.txt"), true, true],
    [REAL_ROOT + "-other", false, false], // a sibling folder sharing the prefix
    [join(REAL_ROOT + "-other", "a.txt"), false, false],
    [join(sep, "data"), false, false],
    [join(sep, "etc", "passwd"), false, false],
    [join(REAL_ROOT, ".secret"), false, true], // a link to a dotfile
    [join(REAL_ROOT, ".git", "config"), false, true],
    [join(REAL_ROOT, "a", ".b", "c"), false, true],
    [join(REAL_ROOT, "a.", "b"), true, true],
    [ROOT, false, false], // the root as URLs reach it is not its real path
  ];
  for (const [real, inside, withDotfiles] of CASES) {
    await t.step(real, () => {
      assert.equal(isInside(real, SCOPE), inside);
      assert.equal(isInside(real, WITH_DOTFILES), withDotfiles);
    });
  }
});

Deno.test("realPathInside: links are followed, and refused when they lead out", async (t) => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "minserve_resolve_" }));
  try {
    const root = join(tmp, "root");
    await Deno.mkdir(join(root, "sub"), { recursive: true });
    await Deno.writeTextFile(join(root, "sub", "a.txt"), "a");
    await Deno.writeTextFile(join(root, ".secret"), "s");
    await Deno.writeTextFile(join(tmp, "outside.txt"), "o");
    await Deno.symlink(join(root, "sub", "a.txt"), join(root, "in.txt"));
    await Deno.symlink(join(tmp, "outside.txt"), join(root, "out.txt"));
    await Deno.symlink(join(root, ".secret"), join(root, "dot.txt"));
    await Deno.symlink(tmp, join(root, "up"));
    const scope: Scope = { root, realRoot: root, dotfiles: false };
    const CASES: Array<[path: string, want: string | undefined]> = [
      [join(root, "sub", "a.txt"), join(root, "sub", "a.txt")],
      [join(root, "in.txt"), join(root, "sub", "a.txt")],
      [join(root, "out.txt"), undefined],
      [join(root, "dot.txt"), undefined],
      [join(root, "up", "outside.txt"), undefined],
      [join(root, "up", "root", "sub", "a.txt"), join(root, "sub", "a.txt")],
    ];
    for (const [path, want] of CASES) {
      await t.step(path.slice(tmp.length), () => assert.equal(realPathInside(path, scope), want));
    }
    await t.step("a missing path throws NotFound", () => {
      assert.throws(() => realPathInside(join(root, "nope"), scope), Deno.errors.NotFound);
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
