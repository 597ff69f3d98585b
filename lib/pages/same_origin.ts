/**
 * same_origin.ts — refuse state-changing requests that another site's page
 * makes a visitor's browser send (cross-site request forgery).
 *
 * An HTML form may POST to any origin without a CORS preflight, so a page
 * elsewhere could post to the board, clear it, or upload a file, with the
 * visitor's network position (a server on a LAN or on localhost). Browsers
 * say where a request comes from: `Sec-Fetch-Site` (Fetch Metadata, sent by
 * every current browser) and, before it, `Origin` (RFC 6454 §7; sent with
 * every cross-origin POST). Requests with neither come from programs such
 * as curl, which no other site can drive, so they pass.
 */

import { HttpError } from "../http/http_error.ts";

/**
 * assertSameOrigin throws a 403 {@linkcode HttpError} when `request` was
 * sent by a page of another origin. When `Sec-Fetch-Site` is present it
 * must be `same-origin` or `none` (typed by the user); otherwise, when
 * `Origin` is present its host (name and port) must equal the host of the
 * request's URL, which the engine builds from the Host header. `Origin:
 * null` (sandboxed pages, some redirects) is refused.
 */
export function assertSameOrigin(request: Request): void {
  const site = request.headers.get("sec-fetch-site");
  if (site !== null) {
    const value = site.trim().toLowerCase();
    // "same-site" is refused too: a sibling subdomain is another party.
    if (value === "same-origin" || value === "none") return;
    throw crossSite();
  }
  const origin = request.headers.get("origin");
  if (origin === null) return;
  let host: string;
  try {
    host = new URL(origin.trim()).host;
  } catch {
    throw crossSite(); // "null", or not a URL at all
  }
  if (host === "" || host !== new URL(request.url).host) throw crossSite();
}

function crossSite(): HttpError {
  return new HttpError(403, "Cross-site request refused");
}
