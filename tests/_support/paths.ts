/**
 * paths.ts — where the repository's files are, for tests that run main.ts.
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** REPO_ROOT is the repository root, where `main.ts` and `deno.json` live. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** MAIN_TS is the server's entry point. */
export const MAIN_TS = join(REPO_ROOT, "main.ts");
/** DENO_JSON is the project's configuration, passed as `--config`. */
export const DENO_JSON = join(REPO_ROOT, "deno.json");
/** FIXTURE_ROOT is the small fixture tree (hello.txt, index.html, …) tests copy. */
export const FIXTURE_ROOT = join(REPO_ROOT, "tests", "fixtures", "root");
/** WWW_ROOT is the repository's own site (templates, the board and upload pages), which tests copy. */
export const WWW_ROOT = join(REPO_ROOT, "www");
