/**
 * resolve_path.ts — ⑥ finding: a URL path to a file inside the document
 * root, or an error. All of step ⑥ is here, in the order a request meets it:
 *
 * 1. {@linkcode resolvePath}: percent-decoding and segments, refusing
 *    whatever decodes to a way out ("..", "/", "\", NUL, control characters).
 * 2. {@linkcode findTarget}: a hidden name (a dotfile, unless the site
 *    serves them) is not found, and the path is joined below the root.
 * 3. {@linkcode isInside}: after the file system has resolved symlinks, the
 *    real path must lie inside the root's real path, and without dotfiles
 *    name no dot segment; {@linkcode realPathInside} is that check with
 *    the one file-system call it needs.
 * 4. {@linkcode claimOf}: a file the caller claims (the app: templates) is
 *    found but handed back, and its compressed siblings are hidden.
 *
 * Everything but {@linkcode realPathInside} is pure, so the hostile tables
 * run without a disk.
 *
 * The input is `new URL(request.url).pathname`: the WHATWG parser has
 * already removed literal and `%2e` dot segments and turned `\` into `/`
 * (and the engine refuses a raw `\` in a request target). What is left to
 * refuse is whatever only appears after percent-decoding.
 */

import { join, relative, sep as SEPARATOR } from "node:path";
import { HttpError } from "../http/http_error.ts";

/** Scope says which files a lookup may reach and how it treats them. */
export interface Scope {
  /** The root as URLs reach it: paths looked up start with it, and a miss is watched no higher. */
  root: string;
  /** The root's real path: a file whose real path is outside it is hidden. */
  realRoot: string;
  /** Whether names starting with "." are served. */
  dotfiles: boolean;
  /**
   * Names the site finds but never sends as bytes: a file whose URL name or
   * real name this accepts is handed to the caller's page (the app passes
   * the template rule); its `.br` and `.gz` siblings are hidden. None when
   * absent (uploads: every file is bytes).
   */
  claims?: ((name: string) => boolean) | undefined;
}

/** Target is where a URL path points: below the root, not yet looked at on disk. */
export interface Target {
  /** The decoded segments below the root ([] for the root itself). */
  segments: string[];
  /** The root joined with the segments. */
  path: string;
  /** Whether the URL path ends in "/": it names a directory. */
  directory: boolean;
}

/**
 * resolvePath splits a URL pathname into decoded path segments below the
 * root ("/a/b%20c.txt" → ["a", "b c.txt"]; "/" → []). Empty segments ("//")
 * are dropped. Throws a 400 {@linkcode HttpError} for invalid
 * percent-encoding or UTF-8, and for a segment that decodes to "." or "..",
 * or contains "/", "\", NUL or another control character (C0, DEL or C1).
 */
export function resolvePath(pathname: string): string[] {
  if (pathname.charCodeAt(0) !== 0x2f) throw invalidPath();
  const segments: string[] = [];
  for (const raw of pathname.split("/")) {
    if (raw === "") continue;
    let segment: string;
    try {
      segment = raw.includes("%") ? decodeURIComponent(raw) : raw;
    } catch {
      throw invalidPath(); // "%zz", "%u002e", overlong or truncated UTF-8 like "%c0%ae"
    }
    // deno-lint-ignore no-control-regex
    if (segment === "." || segment === ".." || /[/\\\x00-\x1f\x7f-\x9f]/.test(segment)) {
      throw invalidPath();
    }
    segments.push(segment);
  }
  return segments;
}

/**
 * findTarget takes a URL pathname to the path it names below `scope.root`.
 * Throws a 400 {@linkcode HttpError} for what {@linkcode resolvePath}
 * refuses, and a 404 for a hidden name (see {@linkcode isHiddenName}) in any
 * segment: a hidden file is not there, as far as a client can tell.
 */
export function findTarget(pathname: string, scope: Scope): Target {
  const segments = resolvePath(pathname);
  for (const segment of segments) {
    if (isHiddenName(segment, scope)) throw new HttpError(404, "Not Found");
  }
  return {
    segments,
    path: join(scope.root, ...segments),
    directory: pathname.endsWith("/"),
  };
}

/**
 * isHiddenName tells whether a file or folder called `name` is kept from
 * clients under `scope`: a dotfile, unless `scope.dotfiles`.
 */
export function isHiddenName(name: string, scope: Scope): boolean {
  return !scope.dotfiles && name.startsWith(".");
}

/** Claim is how `scope.claims` treats a file: claimed, or the compressed sibling of a claimed name. */
export type Claim = "claimed" | "sibling" | undefined;

/**
 * claimOf tells whether a file reached by `name`, whose real path ends in
 * `realName`, is claimed by `scope.claims` (either name counts: a link
 * called `alias.html` to `page.tmpl.html` is claimed too), or is the
 * compressed sibling (`.br`, `.gz`, any letter case) of a claimed name,
 * whose bytes would give away what the claim keeps back. Undefined for a
 * plain file.
 */
export function claimOf(name: string, realName: string, scope: Scope): Claim {
  const claims = scope.claims;
  if (claims === undefined) return undefined;
  if (claims(name) || claims(realName)) return "claimed";
  const sibling = (n: string) => {
    const m = /^(.*)\.(?:br|gz)$/i.exec(n);
    return m !== null && claims(m[1]!);
  };
  return sibling(name) || sibling(realName) ? "sibling" : undefined;
}

/**
 * isInside tells whether the real path `real` (symlinks resolved) may be
 * served under `scope`: inside the root's real path and, without dotfiles,
 * with no segment below the root that starts with ".". Pure.
 */
export function isInside(real: string, scope: Scope): boolean {
  if (real !== scope.realRoot && !real.startsWith(scope.realRoot + SEPARATOR)) return false;
  if (scope.dotfiles) return true;
  // A link inside the root to a dotfile must not serve what its name would not.
  return !relative(scope.realRoot, real).split(SEPARATOR).some((s) => s.startsWith("."));
}

/**
 * realPathInside resolves `path` on disk (symlinks followed) and returns
 * its real path when {@linkcode isInside} allows it, or undefined when it
 * leads out of the root or to a dotfile. Throws what `Deno.realPathSync`
 * throws (NotFound for a missing path or a broken link).
 */
export function realPathInside(path: string, scope: Scope): string | undefined {
  const real = Deno.realPathSync(path);
  return isInside(real, scope) ? real : undefined;
}

function invalidPath(): HttpError {
  return new HttpError(400, "Invalid path");
}
