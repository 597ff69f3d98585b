/**
 * library.ts — minserve's engine serving any Fetch-API handler, as
 * `Deno.serve` does: `(request) => Response`.
 *
 *   deno run --allow-net=127.0.0.1 examples/library.ts
 */

import { startServer } from "../lib/server.ts";

/** greet is an ordinary Fetch-API handler: it knows nothing of minserve. */
export function greet(request: Request): Response {
  const name = new URL(request.url).searchParams.get("name") ?? "world";
  return Response.json({ hello: name, method: request.method });
}

if (import.meta.main) {
  const server = startServer({ hostname: "127.0.0.1", port: 8000 }, greet);
  console.log(`listening on http://127.0.0.1:${server.addr.port}/?name=you`);
  Deno.addSignalListener("SIGINT", () => server.shutdown());
  await server.finished;
}
