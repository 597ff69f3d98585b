/**
 * version.ts — the version, read from deno.json so it has one source.
 */

import meta from "../deno.json" with { type: "json" };

/** VERSION is minserve's version, as in deno.json. */
export const VERSION: string = meta.version;
