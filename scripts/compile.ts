/**
 * compile.ts — `deno task compile [ROOT] [minserve flags…]` builds `./minserve`,
 * a standalone executable with its permissions baked in at their narrowest
 * for those flags: read of the root (and of the upload and data dirs, the
 * certificate and key), write of the upload and data dirs only when given,
 * net for the listening address. The flags are baked in too, so the binary
 * serves that configuration when run without arguments.
 *
 * Paths are baked as given: relative ones are resolved against the working
 * directory the binary runs in. `deno compile` downloads Deno's runtime
 * (denort) unless DENORT_BIN names a local copy; both are Deno's own rules.
 */

import { ENV_NAMES, parseConfig, USAGE } from "../lib/config.ts";

const args = [...Deno.args];
const outIndex = args.indexOf("--output");
const output = outIndex === -1 ? "minserve" : args.splice(outIndex, 2)[1] ?? "minserve";

const request = parseConfig(args, {});
if (request.kind !== "serve") {
  console.log("Usage: deno task compile [--output FILE] [ROOT] [minserve options]\n");
  console.log(USAGE);
  Deno.exit(request.kind === "help" ? 0 : 1);
}
const config = request.config;
const read = [
  config.root,
  config.uploadDir,
  config.dataDir,
  config.tls?.certFile,
  config.tls?.keyFile,
]
  .filter((p): p is string => p !== undefined);
const write = [config.uploadDir, config.dataDir].filter((p): p is string => p !== undefined);
const host = config.hostname.includes(":") ? `[${config.hostname}]` : config.hostname;

const flags = [
  "compile",
  `--allow-read=${read.join(",")}`,
  ...(write.length > 0 ? [`--allow-write=${write.join(",")}`] : []),
  `--allow-net=${host}`,
  `--allow-env=${ENV_NAMES.join(",")}`,
  ...(config.lan ? ["--allow-sys=networkInterfaces"] : []),
  ...(config.workers > 1 ? ["--unstable-net"] : []),
  // A 1 MiB young generation: resident memory stays near idle after load.
  "--v8-flags=--max-semi-space-size=1",
  "--output",
  output,
  new URL("../main.ts", import.meta.url).pathname,
  ...args,
];
console.log(`deno ${flags.join(" ")}`);
const { code } = await new Deno.Command(Deno.execPath(), {
  args: flags,
  stdout: "inherit",
  stderr: "inherit",
})
  .output();
Deno.exit(code);
