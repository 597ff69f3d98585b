/**
 * media_type.ts — file name to Content-Type, from the mime-db database
 * (the data `@std/media-types` is generated from).
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

const TABLE = buildTable();

/** contentType returns the Content-Type for a file `name` by its extension, case-insensitively. */
export function contentType(name: string): string {
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return DEFAULT_MEDIA_TYPE;
  return TABLE.get(name.slice(dot + 1).toLowerCase()) ?? DEFAULT_MEDIA_TYPE;
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
