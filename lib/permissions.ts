/**
 * permissions.ts — the Deno permissions a {@linkcode Config} needs, computed
 * once from the options table (each row of `OPTIONS` says what it implies)
 * and used three ways: `main.ts` checks and asks for them at start and
 * prints the one command that grants them, `scripts/compile.ts` bakes them
 * into the binary, and a test holds `deno task serve` to them.
 *
 * Permissions are minserve's second wall: the resolver keeps requests inside
 * the root, and Deno stops whatever it might miss. So each grant is as narrow
 * as the options allow, and the banner says what was granted.
 */

import { dirname, isAbsolute, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Config, ENV_NAMES, type Grant, type GrantContext, OPTIONS } from "./config.ts";

export type { Grant, GrantContext } from "./config.ts";

/** grantsFor lists the permissions `config` needs, at their narrowest, in the order they are asked. */
export function grantsFor(config: Config, context: GrantContext): Grant[] {
  return OPTIONS.flatMap((row) => row.grants?.(config, context) ?? []);
}

/** The order of the `--allow-*` flags in the commands minserve prints and bakes. */
const FLAG_ORDER: readonly Grant["name"][] = ["net", "read", "write", "sys", "run", "env"];

/**
 * allowFlags writes `grants` as Deno's `--allow-NAME=VALUE,…` flags, each
 * value once, with `envNames` first in `--allow-env`. Returns no flag for a
 * kind that has no value.
 */
export function allowFlags(grants: readonly Grant[], envNames: readonly string[] = []): string[] {
  return FLAG_ORDER.flatMap((name) => {
    const values = grants.filter((g) => g.name === name).map((g) => g.value);
    if (name === "env") values.unshift(...envNames);
    const unique = [...new Set(values)];
    return unique.length === 0 ? [] : [`--allow-${name}=${unique.join(",")}`];
  });
}

/**
 * bakedFlags are the `--allow-*` flags a program that serves `config` runs
 * with when it cannot ask: `deno task compile` bakes them, and `deno task
 * serve` holds those of the defaults. Every variable of ENV_NAMES is
 * granted, since the environment is read when the program runs, not now.
 */
export function bakedFlags(config: Config, context: GrantContext): string[] {
  return allowFlags(grantsFor(config, context), ENV_NAMES);
}

/** descriptorOf is the `Deno.permissions` descriptor of `grant`. */
export function descriptorOf(grant: Grant): Deno.PermissionDescriptor {
  switch (grant.name) {
    case "read":
    case "write":
      return { name: grant.name, path: grant.value };
    case "net":
      return { name: "net", host: grant.value };
    case "sys":
      return {
        name: "sys",
        kind: grant.value as NonNullable<Deno.SysPermissionDescriptor["kind"]>,
      };
    case "run":
      return { name: "run", command: grant.value };
    case "env":
      return { name: "env", variable: grant.value };
  }
}

/** isGranted tells whether Deno holds `descriptor` now, without prompting. */
export function isGranted(descriptor: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(descriptor).state === "granted";
}

/**
 * missingGrant asks for each grant not yet held, through Deno's own prompt
 * and for exactly that permission, when `canAsk` (a person is at the
 * terminal). Returns the first required grant still missing, or undefined
 * when every required one is held; an optional one is left to the banner
 * and --open to explain.
 */
export async function missingGrant(
  grants: readonly Grant[],
  canAsk: boolean,
): Promise<Grant | undefined> {
  for (const grant of grants) {
    const descriptor = descriptorOf(grant);
    if (isGranted(descriptor)) continue;
    if (canAsk && (await Deno.permissions.request(descriptor)).state === "granted") continue;
    if (!grant.optional) return grant;
  }
  return undefined;
}

/** shellWord quotes `word` for a POSIX shell unless it is made of safe characters only. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * scriptPath is the module at `url` as a user would type it: relative to
 * the working directory when inside it, else absolute (or the URL itself
 * when it is not a file).
 */
export function scriptPath(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol !== "file:") return parsed.href;
  const path = fileURLToPath(parsed);
  try {
    const rel = relative(Deno.cwd(), path);
    return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
  } catch {
    return path;
  }
}

/** RerunOptions say how minserve was started, for {@linkcode rerunCommand}. */
export interface RerunOptions {
  /** The variables of ENV_NAMES that are set: they are granted too. */
  envNames: readonly string[];
  /** The entry module, as {@linkcode scriptPath} writes it. */
  script: string;
  /** Whether this is a compiled binary, whose permissions are baked in. */
  standalone: boolean;
}

/**
 * rerunCommand is the one command that runs minserve again with the same
 * `args` and every permission in `grants`: `deno run` with the flags, or for
 * a compiled binary `deno task compile`. Every word is quoted for a shell.
 */
export function rerunCommand(
  args: readonly string[],
  grants: readonly Grant[],
  options: RerunOptions,
): string {
  const words = options.standalone
    ? ["deno", "task", "compile", ...args]
    : ["deno", "run", ...allowFlags(grants, options.envNames), options.script, ...args];
  return words.map(shellWord).join(" ");
}

/** permissionState is Deno's state for a whole kind, or for one path of it. */
function permissionState(name: "read" | "write", path?: string): Deno.PermissionState {
  return Deno.permissions.querySync(path === undefined ? { name } : { name, path }).state;
}

/**
 * permissionWarnings returns a line for each way the process could read or
 * write more than `config` needs (permissions are the second wall), and for
 * a free-disk floor it cannot check. Empty when all is narrow.
 */
export function permissionWarnings(config: Config, realRoot: string): string[] {
  const warnings: string[] = [];
  if (permissionState("read") === "granted") {
    warnings.push("warning: this process may read any file (e.g. -A); run with --allow-read=ROOT");
  } else if (realRoot !== "/" && permissionState("read", dirname(realRoot)) === "granted") {
    warnings.push(`warning: this process may read outside its root (${dirname(realRoot)})`);
  }
  if (permissionState("write") === "granted") {
    warnings.push(
      "warning: this process may write any file; grant --allow-write only to the upload and data dirs",
    );
  } else if (
    config.uploadDir === undefined && config.dataDir === undefined &&
    permissionState("write", realRoot) === "granted"
  ) {
    warnings.push(
      "warning: this process may write into its root; minserve needs no write access there",
    );
  }
  if (
    config.uploadDir !== undefined && config.minFreeDiskBytes > 0 &&
    !isGranted({ name: "sys", kind: "statfs" })
  ) {
    warnings.push(
      "warning: free disk space cannot be read (grant --allow-sys=statfs); --min-free-disk is not enforced",
    );
  }
  return warnings;
}

/**
 * grantedSummary states, as Deno reports them now, the permissions minserve
 * holds among `grants` (`everything` or `any` when a whole kind is granted):
 * the banner's `deno:` line. The root (always the first grant) is shown as
 * `realRoot`, other paths absolute.
 */
export function grantedSummary(grants: readonly Grant[], realRoot: string): string {
  const shown = (g: Grant) =>
    g === grants[0]
      ? realRoot
      : g.name === "read" || g.name === "write"
      ? resolve(g.value)
      : g.value;
  const held = (name: Grant["name"]) =>
    grants.filter((g) => g.name === name && isGranted(descriptorOf(g))).map(shown);
  const parts = [
    `read: ${isGranted({ name: "read" }) ? "everything" : held("read").join(", ") || "none"}`,
    `write: ${isGranted({ name: "write" }) ? "everything" : held("write").join(", ") || "none"}`,
    `net: ${isGranted({ name: "net" }) ? "any" : held("net").join(", ") || "none"}`,
  ];
  for (const name of ["sys", "run"] as const) {
    const values = isGranted({ name }) ? ["any"] : held(name);
    if (values.length > 0 && grants.some((g) => g.name === name)) {
      parts.push(`${name}: ${values.join(", ")}`);
    }
  }
  return parts.join("; ");
}
