/**
 * health.ts — `/healthz` and `/readyz`, for load balancers and container
 * platforms: no credentials needed, and nothing revealed but one word.
 *
 * - `/healthz`: the process is alive and its event loop answers: 200 `ok`.
 * - `/readyz`: it can do its work: the root can be read and, when the board
 *   is on, its store answers (within the store's own bounded wait). 200
 *   `ready`, or 503 `not ready` with `Retry-After`: a balancer then sends
 *   traffic to the other instances. Which check failed is not said; the
 *   server's error log is where an operator looks.
 */

import { pageResponse, textBody } from "./page.ts";

/** HEALTH_PATH answers while the process is alive. */
export const HEALTH_PATH = "/healthz";
/** READY_PATH answers 200 only while the instance can serve its root and board. */
export const READY_PATH = "/readyz";
/** NOT_READY_RETRY_S is the `Retry-After` of a 503 from `/readyz`. */
export const NOT_READY_RETRY_S = 5;

/** HealthOptions say what readiness depends on. */
export interface HealthOptions {
  /** The document root (its real path): it must be readable. */
  root: string;
  /** The board's store, when the board is on: it must answer a ping. */
  board?: { ping(): Promise<void> } | undefined;
}

/**
 * createHealth takes what readiness depends on and returns the handler of
 * `/healthz` and `/readyz` (GET and HEAD; the app answers OPTIONS and 405
 * for other methods). The handler never throws: a failed check is a 503.
 */
export function createHealth(options: HealthOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    const path = new URL(request.url).pathname;
    if (path === HEALTH_PATH) return word(200, "ok");
    return (await isReady(options))
      ? word(200, "ready")
      : word(503, "not ready", { "retry-after": String(NOT_READY_RETRY_S) });
  };
}

/** isReady tells whether the root can be listed and the board, when on, answers its ping. */
async function isReady(options: HealthOptions): Promise<boolean> {
  try {
    // Listing the root proves it exists, is a directory and may be read.
    for await (const _ of Deno.readDir(options.root)) break;
    await options.board?.ping();
    return true;
  } catch {
    return false;
  }
}

/** word answers with one word on a line of plain text, never cached. */
function word(status: number, text: string, headers: Record<string, string> = {}): Response {
  return pageResponse(textBody(`${text}\n`), { status, headers });
}
