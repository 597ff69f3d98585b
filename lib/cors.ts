/**
 * cors.ts — Cross-Origin Resource Sharing for a public server (Fetch
 * standard §3.2): any origin may read responses, and none may send
 * credentials, so `*` is always safe and `Access-Control-Allow-Credentials`
 * is never sent. Reading only: no other origin may write (post to the
 * board, upload), and preflights say so.
 */

/** Headers a cross-origin script may read besides the CORS-safelisted ones. */
const EXPOSED =
  "Content-Length, Content-Range, Content-Encoding, Accept-Ranges, ETag, Last-Modified";
/** PREFLIGHT_MAX_AGE_SECONDS: how long a browser may cache a preflight answer. */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** CORS_FIELDS are the fields that make a response readable from any origin. */
export const CORS_FIELDS: readonly (readonly [string, string])[] = [
  ["access-control-allow-origin", "*"],
  ["access-control-expose-headers", EXPOSED],
];

/**
 * addCorsHeaders marks `response` readable from any origin and returns it,
 * changed in place when its headers may change, else a copy with the same
 * body. Never throws.
 */
export function addCorsHeaders(response: Response): Response {
  try {
    for (const [name, value] of CORS_FIELDS) response.headers.set(name, value);
    return response;
  } catch {
    // Immutable headers (a Response from fetch): copy into a new Response.
    const copy = new Response(response.body, response);
    for (const [name, value] of CORS_FIELDS) copy.headers.set(name, value);
    return copy;
  }
}

/** isPreflight tells whether `request` is a CORS preflight (an OPTIONS with Origin and Access-Control-Request-Method). */
export function isPreflight(request: Request): boolean {
  return request.method === "OPTIONS" && request.headers.has("origin") &&
    request.headers.has("access-control-request-method");
}

const TOKEN_LIST = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*,[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+)*$/;

/**
 * CROSS_ORIGIN_METHODS are what a page of another origin may do here:
 * read. Writes (board posts, uploads) are refused cross-site by design
 * (`pages/same_origin.ts`), so a preflight never offers them, and the
 * browser stops before sending rather than sending and getting 403.
 */
const CROSS_ORIGIN_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * preflightResponse answers a preflight for a resource that allows
 * `allow` methods: 204 with a max age, the methods of `allow` another
 * origin may use (reads only: {@linkcode CROSS_ORIGIN_METHODS}), and, for
 * a read, the request headers the browser asked for (when they are a valid
 * token list). `Allow` still lists every method, for same-origin pages and
 * programs. `allow` is a list like `GET, HEAD, OPTIONS`. Never throws.
 */
export function preflightResponse(request: Request, allow: string): Response {
  const methods = allow.split(", ").filter((m) => CROSS_ORIGIN_METHODS.has(m)).join(", ");
  const headers = new Headers({
    "access-control-allow-origin": "*",
    "access-control-allow-methods": methods,
    "access-control-max-age": String(PREFLIGHT_MAX_AGE_SECONDS),
    allow,
  });
  // POST is a CORS-safelisted method: a browser sends it whatever the
  // allowed methods say, so only withholding the headers it asked for
  // (Authorization, a JSON Content-Type) stops it at the preflight (Fetch
  // standard, "CORS-preflight fetch": the method and header checks).
  const method = request.headers.get("access-control-request-method")?.trim() ?? "";
  const asked = request.headers.get("access-control-request-headers")?.trim() ?? "";
  if (CROSS_ORIGIN_METHODS.has(method) && asked !== "" && TOKEN_LIST.test(asked)) {
    headers.set("access-control-allow-headers", asked);
  }
  return new Response(null, { status: 204, headers });
}
