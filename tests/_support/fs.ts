/**
 * fs.ts — file-tree helpers for tests that need a scratch document root.
 */

import { join } from "node:path";

/** copy copies the directory tree `from` to `to` (created), files and directories only. */
export async function copy(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory) await copy(source, target);
    else if (entry.isFile) await Deno.copyFile(source, target);
  }
}
