/**
 * htpasswd.ts — the users of `--auth`, as htpasswd lines: `user:HASH`, as
 * Apache's `htpasswd -B` writes them, with an optional third field `rw`
 * that makes the user a writer. Pure: text in, users out, so the config and
 * `main.ts` can check them at start without loading bcrypt.
 *
 * Only bcrypt (`$2y$`, `$2b$`, `$2a$`) is accepted. The other htpasswd
 * schemes are weak or unsalted (apr1 MD5, {SHA}, DES crypt) or not hashes
 * at all (plain text); each is refused with a line that names the user and
 * how to make a bcrypt hash.
 */

/** Role is what a user may do: `r` reads (and posts to the board), `rw` also uploads and clears the board. */
export type Role = "r" | "rw";

/** AuthUser is one user as configured: a name, a bcrypt hash and a role. */
export interface AuthUser {
  user: string;
  hash: string;
  role: Role;
}

/** HASH_COMMAND is how users are told to make a hash. */
export const HASH_COMMAND = "minserve hash-password";

/** A bcrypt hash as htpasswd and bcrypt libraries write it: version, cost, 22 salt and 31 hash characters. */
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

/** weakScheme names the non-bcrypt htpasswd scheme of `hash`, for the refusal. */
function weakScheme(hash: string): string {
  if (hash.startsWith("$apr1$")) return "an apr1 (MD5) hash";
  if (hash.startsWith("{SHA}")) return "a {SHA} (SHA-1) hash";
  if (hash.startsWith("$1$")) return "an MD5-crypt hash";
  if (hash.startsWith("$5$") || hash.startsWith("$6$")) return "a SHA-crypt hash";
  if (/^\$2[aby]\$/.test(hash)) return "a malformed bcrypt hash";
  if (/^[./A-Za-z0-9]{13}$/.test(hash)) return "a crypt (DES) hash or a plain password";
  return "a plain password or an unknown hash";
}

/**
 * parseAuthEntry parses one `user:HASH` or `user:HASH:rw` (also `:r`)
 * entry. Throws a TypeError naming the user (never the hash) when the user
 * name is empty or has control characters, the role is unknown, or the hash
 * is not bcrypt.
 */
export function parseAuthEntry(entry: string): AuthUser {
  const colon = entry.indexOf(":");
  if (colon === -1) throw new TypeError('entry must be "user:HASH" or "user:HASH:rw"');
  const user = entry.slice(0, colon);
  if (user === "") throw new TypeError("user name must not be empty");
  // deno-lint-ignore no-control-regex -- control characters are what is refused
  if (/[\x00-\x1f\x7f-\x9f]/.test(user) || !user.isWellFormed()) {
    throw new TypeError("user name must not contain control characters");
  }
  const [hash = "", role = "r", ...rest] = entry.slice(colon + 1).split(":");
  if (rest.length > 0 || (role !== "r" && role !== "rw")) {
    throw new TypeError(`user "${user}": the field after the hash must be "rw" or "r"`);
  }
  if (!BCRYPT.test(hash)) {
    throw new TypeError(
      `user "${user}" has ${weakScheme(hash)}; only bcrypt ($2y$, $2b$, $2a$) is supported: ` +
        `make one with "${HASH_COMMAND}"`,
    );
  }
  return { user, hash, role };
}

/**
 * parseHtpasswd parses an htpasswd file's `text`: one entry per line as
 * {@linkcode parseAuthEntry} reads them; blank lines and lines starting with
 * `#` are skipped. Throws a TypeError whose message starts with the line
 * number.
 */
export function parseHtpasswd(text: string): AuthUser[] {
  const users: AuthUser[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    if (line.trim() === "" || line.startsWith("#")) continue;
    try {
      users.push(parseAuthEntry(line));
    } catch (err) {
      throw new TypeError(`line ${i + 1}: ${(err as Error).message}`);
    }
  }
  if (users.length === 0) throw new TypeError("no users in it");
  return users;
}

/**
 * isAuthEntry tells whether an `--auth` value is an inline `user:HASH`
 * rather than a file: it has a colon, with no path separator before it and
 * not as a Windows drive (`C:\`).
 */
export function isAuthEntry(value: string): boolean {
  const colon = value.indexOf(":");
  if (colon === -1) return false;
  if (/^[A-Za-z]:[\\/]/.test(value)) return false;
  return !/[\\/]/.test(value.slice(0, colon));
}

/** checkUnique throws a TypeError when a user name is given twice. */
export function checkUnique(users: readonly AuthUser[]): void {
  const seen = new Set<string>();
  for (const { user } of users) {
    if (seen.has(user)) throw new TypeError(`user "${user}" is given twice`);
    seen.add(user);
  }
}
