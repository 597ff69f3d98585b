/**
 * compile.ts — `deno task compile [ROOT] [minserve flags…]` builds `./minserve`,
 * a standalone executable with its permissions baked in at their narrowest
 * for those flags, exactly those `main.ts` asks for (lib/permissions.ts,
 * from the options table): read of the root (and of the upload and data
 * dirs, the certificate and key, the --auth files), write of the upload and
 * data dirs only when given, net for the listening address. The flags are
 * baked in too, so the binary serves that configuration when run without
 * arguments.
 *
 * Paths are baked as given: relative ones are resolved against the working
 * directory the binary runs in. `deno compile` downloads Deno's runtime
 * (denort) unless DENORT_BIN names a local copy; both are Deno's own rules.
 *
 * Errors are one line, `minserve: …`, as `serve` prints them: a bad flag, and
 * a runtime Deno could not download (with how to use DENORT_BIN instead).
 * Any other failure of `deno compile` is shown as Deno wrote it, without the
 * Rust backtrace.
 */

import { parseConfig, USAGE } from "../lib/config.ts";
import { openerFor } from "../lib/opener.ts";
import { bakedFlags } from "../lib/permissions.ts";

/**
 * CompileFailure sorts what a failed `deno compile` wrote to stderr: Deno
 * could not download its runtime (`url` is where it tried, when it said), or
 * anything else (`message`: Deno's text without colours or backtrace).
 */
export type CompileFailure =
  | { kind: "runtime-download"; url: string | undefined }
  | { kind: "other"; message: string };

// Deno wraps every error of fetching denort in "Setting up base binary."
// (cli/standalone/binary.rs): the request or the download failed, unless the
// cause is "Creating" or "Writing" its copy in Deno's cache.
const SETTING_UP_RUNTIME = /Setting up base binary/;
const CACHE_FAILED = /^\s*\d+: (?:Creating|Writing) /m;
// Older Deno logs this and exits on a 404 instead of returning an error.
const DOWNLOAD_NOT_FOUND = /Download could not be found/;
const RUNTIME_URL = /https?:\/\/[^\s)'"]*denort[^\s)'"]*/;
// deno-lint-ignore no-control-regex -- Deno colours its messages even into a pipe
const ANSI_SGR = /\x1b\[[0-9;]*m/g;

/** classifyCompileFailure reads the stderr of a failed `deno compile`. */
export function classifyCompileFailure(stderr: string): CompileFailure {
  const text = stderr.replace(ANSI_SGR, "");
  if (
    (SETTING_UP_RUNTIME.test(text) && !CACHE_FAILED.test(text)) || DOWNLOAD_NOT_FOUND.test(text)
  ) {
    return { kind: "runtime-download", url: RUNTIME_URL.exec(text)?.[0] };
  }
  // anyhow prints the backtrace last, after a "Stack backtrace:" line.
  const backtrace = text.search(/^Stack backtrace:/m);
  const message = (backtrace === -1 ? text : text.slice(0, backtrace)).trimEnd();
  return { kind: "other", message };
}

/** runtimeHint is the one line for a runtime Deno could not download (`url`, when known). */
export function runtimeHint(url: string | undefined, denoVersion: string): string {
  const from = url === undefined ? "" : ` from ${url}`;
  const unzipped = url === undefined ? "" : " (that zip, unzipped)";
  return `cannot compile: Deno could not download its runtime (denort)${from}; ` +
    `set DENORT_BIN to a denort binary for Deno ${denoVersion}${unzipped}, ` +
    "e.g. DENORT_BIN=/path/to/denort deno task compile";
}

/** fail prints one line and exits 1, as `serve` does: a user error never shows a stack trace. */
function fail(message: string): never {
  console.error(`minserve: ${message}`);
  Deno.exit(1);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** takeOutput removes `--output FILE` or `--output=FILE` from `args` and returns FILE. */
function takeOutput(args: string[]): string {
  const index = args.findIndex((a) => a === "--output" || a.startsWith("--output="));
  if (index === -1) return "minserve";
  const [flag] = args.splice(index, 1);
  const value = flag === "--output" ? args.splice(index, 1)[0] : flag!.slice("--output=".length);
  if (value === undefined || value === "" || value.startsWith("-")) {
    fail("Cannot use --output: value must be a file name (see --help)");
  }
  return value;
}

async function main() {
  const args = [...Deno.args];
  const output = takeOutput(args);

  let request;
  try {
    // MINSERVE_BOARD_DB is read only to learn the database's host for
    // --allow-net; the URL (and any password in it) is not baked in.
    request = parseConfig(args, { MINSERVE_BOARD_DB: Deno.env.get("MINSERVE_BOARD_DB") });
  } catch (err) {
    fail(`${messageOf(err)} (see --help)`);
  }
  if (request.kind !== "serve") {
    console.log("Usage: deno task compile [--output FILE] [ROOT] [minserve options]\n");
    console.log(USAGE);
    Deno.exit(request.kind === "help" ? 0 : 1);
  }
  const config = request.config;
  const opener = config.open ? openerFor(Deno.build.os) : undefined;
  // The same permissions `main.ts` asks for (lib/permissions.ts), with every
  // environment variable minserve reads and every port of each host: the
  // binary reads the environment, and may be given another --port, when it runs.
  const permissions = bakedFlags(config, {
    portMayMove: true,
    opener: opener?.command,
    anyPort: true,
  });
  const flags = [
    "compile",
    ...permissions,
    ...(config.workers > 1 ? ["--unstable-net"] : []),
    // A 1 MiB young generation: resident memory stays near idle after load.
    "--v8-flags=--max-semi-space-size=1",
    "--output",
    output,
    new URL("../main.ts", import.meta.url).pathname,
    ...args,
  ];
  console.log(`deno ${flags.join(" ")}`);
  // stderr is read whole so a failure can be told in one line; Deno's
  // progress lines are passed on once it succeeds. A failed compile is not a
  // bug in Deno: no Rust backtrace, whatever RUST_BACKTRACE says here.
  const result = await new Deno.Command(Deno.execPath(), {
    args: flags,
    stdout: "inherit",
    stderr: "piped",
    env: { RUST_BACKTRACE: "0", RUST_LIB_BACKTRACE: "0" },
  })
    .output();
  const stderr = new TextDecoder().decode(result.stderr);
  if (result.success) {
    if (stderr !== "") console.error(stderr.trimEnd());
    return;
  }
  const failure = classifyCompileFailure(stderr);
  if (failure.kind === "runtime-download") fail(runtimeHint(failure.url, Deno.version.deno));
  console.error(failure.message);
  Deno.exit(result.code);
}

if (import.meta.main) await main();
