/**
 * media_type.ts — file name to Content-Type, from the mime-db database
 * (the data `@std/media-types` is generated from), with source code and
 * other plain text served as `text/plain` so browsers show it.
 */

// The JSON itself, not the package's CommonJS entry: that would start
// Node compatibility for one require() and cost ~5 MiB of resident memory.
import db from "mime-db/db.json" with { type: "json" };

/** DEFAULT_MEDIA_TYPE is sent for names with no known extension (RFC 9110 §8.3). */
export const DEFAULT_MEDIA_TYPE = "application/octet-stream";

interface MimeEntry {
  source?: string;
  extensions?: string[];
  charset?: string;
}

// When two types claim an extension, prefer the better source (IANA over
// Apache over nginx), and on a tie a specific top-level type over
// "application/": .mp4 is video/mp4, not application/mp4.
const SOURCE_RANK: Record<string, number> = { nginx: 1, apache: 2, iana: 3 };

function buildTable(): Map<string, string> {
  const table = new Map<string, string>();
  const rank = new Map<string, number>();
  for (const [type, entry] of Object.entries(db as Record<string, MimeEntry>)) {
    const r = (SOURCE_RANK[entry.source ?? ""] ?? 0) * 2 +
      (type.startsWith("application/") ? 0 : 1);
    for (const ext of entry.extensions ?? []) {
      const current = rank.get(ext);
      if (current !== undefined && current >= r) continue;
      table.set(ext, withCharset(type, entry.charset));
      rank.set(ext, r);
    }
  }
  return table;
}

/** Text gets `charset=utf-8`: browsers otherwise guess (and guess windows-1252). */
function withCharset(type: string, charset: string | undefined): string {
  const textual = type.startsWith("text/") || charset?.toUpperCase() === "UTF-8" ||
    /[+/](json|xml)$/.test(type) || type === "application/javascript";
  return textual ? `${type}; charset=utf-8` : type;
}

const TEXT_PLAIN = "text/plain; charset=utf-8";

/** plainText maps each of `extensions` to `text/plain; charset=utf-8`. */
function plainText(extensions: string[]): [string, string][] {
  return extensions.map((ext) => [ext, TEXT_PLAIN]);
}

// A developer's server shows code and configuration as text. Every browser
// shows text/plain; most application/ types are downloaded, and so, in
// Firefox, are text/ subtypes it has no viewer for (Mozilla bug 1319262).
// These win over mime-db. Left alone on purpose: .ts stays video/mp2t, which
// HLS video segments depend on, and .md keeps text/markdown.
const EXTENSION_OVERRIDES = new Map<string, string>([
  // Not in mime-db at all, so application/octet-stream: a download.
  ...plainText(["py", "go", "cs", "rb", "kt", "swift", "scala", "r", "hpp"]), // languages
  ...plainText(["tsx", "vue", "svelte"]), // components
  ...plainText(["bash", "zsh", "ps1"]), // shells
  ...plainText(["cfg", "env", "properties", "gradle"]), // settings and builds
  ...plainText(["diff", "patch"]), // changes
  // Filed under application/ types: .rs is application/rls-services+xml, .sh
  // application/x-sh, .pl application/x-perl, .sql application/sql, .toml
  // application/toml, and .php application/x-httpd-php, the type that tells a
  // server to run it: a static server shows the source, never presents it as
  // something to execute.
  ...plainText(["rs", "sh", "pl", "sql", "toml", "php"]),
  // text/ subtypes Firefox has no viewer for: text/x-java-source, text/x-c,
  // text/x-lua, text/yaml, text/jsx.
  ...plainText(["java", "c", "h", "cpp", "cc", "lua", "yaml", "yml", "jsx"]),
  // Already text/plain in mime-db 1.54; pinned so an update cannot make them downloads.
  ...plainText(["ini", "conf", "log"]),
]);

// Files without an extension that nearly every project has, matched by their
// exact, case-sensitive name. A known extension still decides (README.pdf is
// a PDF, LICENSE.md Markdown); an unknown one does not hide the name, so
// Makefile.am, Makefile.bak and Dockerfile.dev are text too.
const TEXT_NAMES = new Set([
  "Makefile",
  "makefile",
  "GNUmakefile",
  "Dockerfile",
  "LICENSE",
  "README",
  "CHANGELOG",
  "Gemfile",
  "Rakefile",
  "Procfile",
  "Vagrantfile",
  "CODEOWNERS",
  "AUTHORS",
  "COPYING",
  "NOTICE",
]);

// Extension → Content-Type; in a Map built from entries, the later (the override) wins.
const TABLE = new Map([...buildTable(), ...EXTENSION_OVERRIDES]);

/**
 * contentType returns the Content-Type for the file at `path` (a path or a
 * bare name): by its extension, case-insensitively, and else by the
 * well-known names above. Only the last path segment counts, and a leading
 * dot (`.gitignore`) does not start an extension.
 */
export function contentType(path: string): string {
  const name = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  const dot = name.lastIndexOf(".");
  if (dot > 0) {
    const type = TABLE.get(name.slice(dot + 1).toLowerCase());
    if (type !== undefined) return type;
  }
  const stem = name.split(".", 1)[0]!;
  return TEXT_NAMES.has(stem) ? TEXT_PLAIN : DEFAULT_MEDIA_TYPE;
}

/**
 * isCompressible tells whether a response of Content-Type `type` is worth
 * compressing: mime-db's verdict, text/* when it has none, and never
 * application/octet-stream (unknown bytes are usually compressed already).
 */
export function isCompressible(type: string): boolean {
  const essence = type.split(";")[0]!.trim().toLowerCase();
  if (essence === DEFAULT_MEDIA_TYPE) return false;
  const entry = (db as Record<string, MimeEntry & { compressible?: boolean }>)[essence];
  return entry?.compressible ?? essence.startsWith("text/");
}
