/**
 * resolve_path.ts — ⑥ a URL path to a path inside the document root, or an
 * error. Pure: no file system, so the whole hostile table runs without disk.
 *
 * The input is `new URL(request.url).pathname`: the WHATWG parser has
 * already removed literal and `%2e` dot segments and turned `\` into `/`
 * (and the engine refuses a raw `\` in a request target). What is left to
 * refuse is whatever only appears after percent-decoding.
 */

import { HttpError } from "../http/http_error.ts";

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

function invalidPath(): HttpError {
  return new HttpError(400, "Invalid path");
}
