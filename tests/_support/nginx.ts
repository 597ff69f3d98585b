/**
 * nginx.ts — nginx as a round-robin load balancer on loopback, for tests:
 * its own prefix, configuration, pid and logs in a temporary directory (the
 * system's /etc/nginx is never read), in the foreground as a child of the
 * test, stopped and removed afterwards.
 *
 * Uses Debian's /usr/sbin/nginx (`apt-get install nginx`; `.ci/run`
 * installs it). Callers check {@linkcode nginxSkipReason} first.
 */

import { join } from "node:path";
import { freePort } from "./postgres.ts";
import { waitFor } from "./wait.ts";

/** NGINX is where Debian's nginx package puts the binary. */
export const NGINX = "/usr/sbin/nginx";
/** How long nginx may take to listen. */
const START_TIMEOUT_MS = 10_000;

/** Balancer is a running nginx. Dispose it to stop it (SIGQUIT, then SIGKILL) and delete its files. */
export interface Balancer extends AsyncDisposable {
  /** Its origin, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** errorLog returns nginx's error log so far (for failure messages). */
  errorLog(): Promise<string>;
}

/** nginxSkipReason says why nginx cannot run here, or undefined when it can. */
export async function nginxSkipReason(): Promise<string | undefined> {
  try {
    await Deno.stat(NGINX);
    return undefined;
  } catch {
    return `${NGINX} not found; apt-get install nginx`;
  }
}

/**
 * startBalancer starts nginx on a free loopback port, passing requests
 * round-robin to `upstreams` (origins such as `http://127.0.0.1:8001`). A
 * connection refused by one upstream is retried on the next, POSTs too
 * (nothing was sent yet); a request already sent is not (nginx's rule for
 * non-idempotent methods), so the client sees 502 for a post that may or
 * may not have been stored, and never a 303 that was not.
 */
export async function startBalancer(upstreams: readonly string[]): Promise<Balancer> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "minserve_nginx_" }));
  const port = freePort();
  const servers = upstreams.map((origin) => {
    const { host } = new URL(origin);
    return `    server ${host} max_fails=1 fail_timeout=2s;`;
  });
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((name) => `  ${name}_temp_path ${join(dir, name)};`);
  const config = [
    // As root, workers would switch to "nobody" and could not use the temp dirs.
    ...(Deno.uid() === 0 ? ["user root;"] : []),
    "worker_processes 1;",
    `pid ${join(dir, "nginx.pid")};`,
    `error_log ${join(dir, "error.log")} warn;`,
    "events { worker_connections 256; }",
    "http {",
    "  access_log off;",
    ...temp,
    "  upstream minserve {",
    ...servers,
    "  }",
    "  server {",
    `    listen 127.0.0.1:${port};`,
    "    location / {",
    "      proxy_pass http://minserve;",
    "      proxy_http_version 1.1;",
    '      proxy_set_header Connection "";',
    "      proxy_set_header Host $http_host;",
    "      proxy_connect_timeout 2s;",
    "      proxy_read_timeout 10s;",
    "      proxy_next_upstream error timeout;",
    "    }",
    "  }",
    "}",
  ].join("\n");
  await Deno.writeTextFile(join(dir, "nginx.conf"), config + "\n");
  const child = new Deno.Command(NGINX, {
    args: [
      "-p",
      dir,
      "-c",
      join(dir, "nginx.conf"),
      "-e",
      join(dir, "error.log"),
      "-g",
      "daemon off;",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const errorLog = () => Deno.readTextFile(join(dir, "error.log")).catch(() => "");
  const stop = async () => {
    if (!exited) {
      try {
        child.kill("SIGQUIT"); // graceful: finish requests, then exit
      } catch { /* gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5_000);
      await status;
      clearTimeout(timer);
    }
    await stderr;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const listening = await waitFor(async () => {
    if (exited) return true;
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch {
      return false;
    }
  }, START_TIMEOUT_MS);
  if (!listening || exited) {
    const log = await errorLog();
    await stop();
    throw new Error(`Cannot start nginx: ${await stderr}\n${log}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    errorLog,
    [Symbol.asyncDispose]: stop,
  };
}
