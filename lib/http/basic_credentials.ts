/**
 * basic_credentials.ts — what an `Authorization` field of the Basic scheme
 * (RFC 7617) carries: a user name and a password, base64 of their UTF-8
 * `user:password`. Pure; no verification, which is `auth.ts`'s.
 *
 * Two readers share it: the sign-in check (`auth.ts`), and the access log's
 * user column (`connection.ts`), which names the user the request gave, as
 * Apache's `%u` and nginx's `$remote_user` do.
 */

/** BasicCredentials are the user name and password a Basic `Authorization` value carries. */
export interface BasicCredentials {
  user: string;
  password: string;
}

/** The Basic scheme (case-insensitive, RFC 9110 §11.1) and a token68 of base64 (RFC 7617 §2). */
const BASIC = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * basicCredentials reads an `Authorization` value (a byte string, as field
 * values are): the Basic scheme, then base64 of UTF-8 `user:password`, the
 * user name not empty and without a colon. Null when absent, of another
 * scheme, or malformed (bad base64, bytes that are not UTF-8, no colon).
 */
export function basicCredentials(value: string | null | undefined): BasicCredentials | null {
  if (value === null || value === undefined) return null;
  const match = BASIC.exec(value);
  if (match === null) return null;
  let text: string;
  try {
    const bytes = Uint8Array.from(atob(match[1]!), (c) => c.charCodeAt(0));
    text = utf8.decode(bytes);
  } catch {
    return null;
  }
  const colon = text.indexOf(":");
  if (colon <= 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}
