/**
 * to_request.ts — ⑤ a parsed request head to the web `Request` a handler
 * gets: the method checks the Fetch API would get wrong, the dot-segment
 * refusal, and the URL built from the target's form (RFC 9112 §3.2–§3.3).
 *
 * Pure: no socket, no clock. The connection passes the scheme and its own
 * address (for a request that names no authority at all).
 */

import { HttpError } from "./http_error.ts";
import type { RequestHead } from "./request_head.ts";

/** RequestOrigin is what a head alone does not say: how the request came, and to which address. */
export interface RequestOrigin {
  /** "https" on TLS connections: the scheme of the Request's URL. */
  scheme: "http" | "https";
  /** The address the connection was accepted on: the authority when the request names none (HTTP/1.0 without Host). */
  localAddr: Deno.Addr;
}

// Methods the Fetch API refuses to put in a Request (CONNECT, TRACE, TRACK),
// and the ones it would silently upper-case ("get" → "GET"): HTTP methods are
// case-sensitive (RFC 9110 §9.1), so "get" is an unknown method, not GET.
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
const NORMALIZED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);

/** A path segment that is "." or "..", literally or percent-encoded. */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

/**
 * toRequest turns `head` into the `Request` a handler gets, with `body` (null
 * for none) as its body and `origin` filling in what the head leaves out.
 * Throws an {@linkcode HttpError}: 501 for a method the Fetch API cannot
 * carry as sent (CONNECT, TRACE, TRACK, or a lower-case "get"), 400 for a
 * path with a "." or ".." segment, and 400 for a target the URL parser
 * refuses. The connection stays usable after each: the head was read whole.
 */
export function toRequest(
  head: RequestHead,
  body: ReadableStream<Uint8Array> | null,
  origin: RequestOrigin,
): Request {
  const upper = head.method.toUpperCase();
  if (FORBIDDEN_METHODS.has(upper) || (NORMALIZED_METHODS.has(upper) && upper !== head.method)) {
    throw new HttpError(501);
  }
  // The Fetch URL parser removes dot segments ("/a/../b" → "/b") before
  // any handler could see them, so a route like /uploads/NAME could not
  // refuse "/uploads/x/../y". Clients normalize paths before sending
  // (RFC 3986 §5.2.4); one that did not gets 400.
  if (DOT_SEGMENT.test(pathOf(head.target))) throw new HttpError(400, "Invalid path");
  try {
    return new Request(requestUrl(head, origin), {
      method: head.method,
      headers: head.headers,
      body,
    });
  } catch (err) {
    throw new HttpError(400, "Bad Request", { cause: err });
  }
}

/**
 * requestUrl is the absolute URL of the request `head` names: origin-form
 * and asterisk-form ("*" becomes "/") are completed with the scheme and the
 * authority (Host, or else the local address); absolute-form is taken as
 * sent (RFC 9112 §3.3).
 */
export function requestUrl(head: RequestHead, origin: RequestOrigin): string {
  const target = head.target;
  if (target.charCodeAt(0) === 0x2f) {
    return `${origin.scheme}://${head.authority || authorityOf(origin.localAddr)}${target}`;
  }
  if (target === "*") {
    return `${origin.scheme}://${head.authority || authorityOf(origin.localAddr)}/`;
  }
  return target;
}

/** pathOf is the path of a request target, without scheme, authority or query. */
export function pathOf(target: string): string {
  const start = target.charCodeAt(0) === 0x2f ? 0 : target.indexOf("/", target.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = target.indexOf("?", start);
  return target.slice(start, query === -1 ? undefined : query);
}

/** authorityOf is `host:port` of a network address, an IPv6 host in brackets. */
function authorityOf(addr: Deno.Addr): string {
  const net = addr as Deno.NetAddr;
  const host = net.hostname.includes(":") ? `[${net.hostname}]` : net.hostname;
  return `${host}:${net.port}`;
}
