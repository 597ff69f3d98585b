/**
 * fs.ts — file-tree helpers for tests that need a scratch document root or
 * look at what a server left in a directory.
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

/** namesIn lists the names of the entries directly in `dir`, sorted. Throws what `Deno.readDir` throws. */
export async function namesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}
