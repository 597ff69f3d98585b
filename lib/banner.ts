/**
 * banner.ts — what minserve prints once it listens: where, what it serves,
 * and what it may do; in colour only on a terminal and never under NO_COLOR.
 * Reads the terminal and the network interfaces, never the environment:
 * `main.ts` passes NO_COLOR in.
 */

import { boardDbHost, type Config, hostPart, isWildcard } from "./config.ts";
import type { FreeDescriptors } from "./descriptor_budget.ts";
import { isGranted } from "./permissions.ts";
import { qrTerminal } from "./qr.ts";
import { perClientCapFor } from "./server.ts";
import { formatSize } from "./static/listing.ts";
import { VERSION } from "./version.ts";

/** Painter colours banner text, or leaves it plain. */
interface Painter {
  on: boolean;
  bold(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

/** painter colours only on a terminal, and never under NO_COLOR (https://no-color.org). */
function painter(noColor: string | undefined): Painter {
  const on = Deno.stdout.isTerminal() && (noColor ?? "") === "";
  return {
    on,
    bold: (s) => (on ? `\x1b[1m${s}\x1b[22m` : s),
    green: (s) => (on ? `\x1b[32m${s}\x1b[39m` : s),
    yellow: (s) => (on ? `\x1b[33m${s}\x1b[39m` : s),
  };
}

/** lanUrls are the network URLs for --lan, when --allow-sys=networkInterfaces lets us list them. */
function lanUrls(scheme: string, port: number): string[] {
  if (!isGranted({ name: "sys", kind: "networkInterfaces" })) {
    return ["(run with --allow-sys=networkInterfaces to list the network URLs)"];
  }
  return Deno.networkInterfaces()
    .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
    .map((i) => `${scheme}://${i.address}:${port}/`);
}

/**
 * localUrl is the URL to visit on this machine for a server of `config`
 * bound at `addr`: localhost for a server on every interface.
 */
export function localUrl(config: Pick<Config, "tls">, addr: Deno.NetAddr): string {
  const host = isWildcard(addr.hostname) ? "localhost" : hostPart(addr.hostname);
  return `${config.tls ? "https" : "http"}://${host}:${addr.port}/`;
}

/** BannerFacts is what the banner tells beyond the config: found at start, not configured. */
export interface BannerFacts {
  /** The root's real path. */
  realRoot: string;
  /** The address bound (the port resolved). */
  addr: Deno.NetAddr;
  /** What Deno granted of what minserve uses (grantedSummary). */
  permissions: string;
  /** The NO_COLOR environment variable. */
  noColor: string | undefined;
  /** The descriptors the connection cap was derived from. */
  free: FreeDescriptors | undefined;
  /** How many --auth users there are. */
  users: number;
  /** How many of them may write. */
  writers: number;
  /** Where --metrics listens. */
  metricsAddr: Deno.NetAddr | undefined;
}

/** descriptorNote says, for the banner, how many descriptors the cap was derived from. */
function descriptorNote(free: FreeDescriptors | undefined): string {
  if (free === undefined) return "";
  return ` (${free.atLeast ? "at least " : ""}${free.free} descriptors free)`;
}

/** uploadsLine is the banner's `uploads:` value. */
function uploadsLine(config: Config): string {
  if (config.uploadDir === undefined) return "off";
  const token = config.uploadToken ? " (token required)" : "";
  return `POST/PUT /uploads/NAME into ${config.uploadDir}${token}, ` +
    `${formatSize(config.maxUploadBytes)} per file, quota ${
      formatSize(config.uploadQuotaBytes)
    }, ` +
    `${formatSize(config.minFreeDiskBytes)} kept free`;
}

/** boardLine is the banner's `board:` value. */
function boardLine(config: Config): string {
  if (config.boardDb !== undefined) return `/board, stored in PostgreSQL at ${boardDbHost(config)}`;
  return config.dataDir === undefined ? "off" : `/board, stored in ${config.dataDir}`;
}

/** settingLines are the banner's lines about what is served and how. */
function settingLines(config: Config, facts: BannerFacts): string[] {
  const { realRoot, free, users, writers } = facts;
  const lines = [
    `  root:     ${realRoot}`,
    `  listing:  ${config.listing ? "on (directories without index.html)" : "off"}`,
    `  dotfiles: ${config.dotfiles ? "served" : "hidden (404)"}`,
    "  symlinks: followed only when they resolve inside the root",
    `  uploads:  ${uploadsLine(config)}`,
    `  board:    ${boardLine(config)}`,
    `  cors:     ${config.cors ? "any origin may read responses" : "off"}`,
  ];
  if (config.live) lines.push("  live:     on (pages reload when files under the root change)");
  const max = config.maxConnections ?? 0;
  const perClient = perClientCapFor(max, config.maxConnectionsPerClient);
  lines.push(
    `  conns:    at most ${max} at once, ${perClient} per client address${descriptorNote(free)}`,
  );
  if (users > 0) {
    const token = config.uploadToken ? "; uploads also take the token" : "";
    lines.push(
      `  auth:     HTTP Basic, ${users} user${
        users === 1 ? "" : "s"
      } (${writers} may write)${token}`,
    );
  }
  return lines;
}

/**
 * banner is what minserve prints once it listens, for `config` and what
 * was found at start (`facts`): the URL, the network URLs and a QR code
 * with --lan, the settings, and what Deno granted. Returns the lines joined.
 */
export function banner(config: Config, facts: BannerFacts): string {
  const { addr, permissions, metricsAddr } = facts;
  const paint = painter(facts.noColor);
  const lines = [
    `minserve ${VERSION} listening on ${paint.green(paint.bold(localUrl(config, addr)))}`,
  ];
  let shared = isWildcard(addr.hostname) ? undefined : localUrl(config, addr);
  if (isWildcard(addr.hostname)) {
    lines.push(paint.yellow(`  exposed on every interface (${addr.hostname}):`));
    for (const url of lanUrls(config.tls ? "https" : "http", addr.port)) {
      lines.push(`    ${url}`);
      if (shared === undefined && url.includes("://")) shared = url;
    }
  }
  lines.push(...settingLines(config, facts));
  lines.push("  health:   /healthz (alive), /readyz (root readable, board reachable)");
  if (metricsAddr !== undefined) {
    lines.push(`  metrics:  http://${hostPart(metricsAddr.hostname)}:${metricsAddr.port}/metrics`);
  }
  lines.push(`  deno:     ${permissions}`);
  // --lan is for phones on the network: the URL to give them, as a QR code.
  if (config.lan && shared !== undefined) {
    lines.push(`  scan to open ${shared}`, ...qrTerminal(shared, { color: paint.on }));
  }
  return lines.join("\n");
}

/** isLoopback tells whether `hostname` is a loopback address, where credentials never cross a network. */
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * authWarning is a line when --auth `users` sign in over plain HTTP off
 * loopback, where passwords cross the network readable; else undefined.
 */
export function authWarning(config: Config, addr: Deno.NetAddr, users: number): string | undefined {
  if (users === 0 || config.tls !== undefined || isLoopback(addr.hostname)) return undefined;
  return `warning: --auth over plain HTTP on ${addr.hostname}: passwords cross the network readable; ` +
    "use --cert and --key (HTTPS)";
}
