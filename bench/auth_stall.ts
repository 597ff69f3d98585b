/**
 * auth_stall.ts — whether bcrypt checks stall other clients, and what the
 * bcrypt worker costs in resident memory.
 *
 *   deno run -A bench/auth_stall.ts [ROUNDS]
 *
 * Starts minserve with --auth (one user, cost 10 as hash-password makes).
 * A signed-in client asks for a file every 5 ms (its credentials verified
 * once, then cached) for 1.5 s with nothing else going on, then again while
 * another client sends 9 wrong passwords one after the other (each a full
 * bcrypt check). Prints the signed-in client's latency for both, per round,
 * and the server's RSS before the first check and after the last.
 */

import { join } from "node:path";
import bcrypt from "bcryptjs";
import { rssKiB } from "../tests/_support/proc.ts";
import { spawnServer, withTempDir } from "../tests/_support/server.ts";
import { delay } from "../tests/_support/wait.ts";

/** The pause between the signed-in client's requests. */
const PACE_MS = 5;
/** How long the quiet phase lasts. */
const QUIET_MS = 1_500;
/** Wrong passwords per round: under the 10 a minute that would lock the address out. */
const GUESSES = 9;

function basic(user: string, password: string): string {
  return "Basic " + btoa(`${user}:${password}`);
}

/** latencies asks for `url` every PACE_MS until `done` settles; returns each request's ms. */
async function latencies(url: string, authorization: string, done: Promise<unknown>) {
  let over = false;
  done.finally(() => over = true);
  const times: number[] = [];
  while (!over) {
    const start = performance.now();
    await (await fetch(url, { headers: { authorization } })).arrayBuffer();
    times.push(performance.now() - start);
    await delay(PACE_MS);
  }
  return times.sort((a, b) => a - b);
}

function summary(times: number[]): string {
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  return `n=${times.length} p50=${at(0.5).toFixed(1)} ms p99=${at(0.99).toFixed(1)} ms ` +
    `max=${(times.at(-1) ?? 0).toFixed(1)} ms`;
}

async function main() {
  const rounds = Number(Deno.args[0] ?? 3);
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    await Deno.mkdir(root);
    await Deno.writeTextFile(join(root, "a.txt"), "hello\n");
    const users = join(dir, "users");
    await Deno.writeTextFile(users, `alice:${bcrypt.hashSync("pw", 10)}\n`);
    await using server = await spawnServer({
      root,
      args: ["--auth", users, "--quiet"],
      allowRead: [users],
    });
    const url = `${server.url}/a.txt`;
    const good = basic("alice", "pw");
    await delay(500); // the dummy hash is made at start
    const idleRss = await rssKiB(server.pid);
    await (await fetch(url, { headers: { authorization: good } })).arrayBuffer();
    for (let round = 1; round <= rounds; round++) {
      const quiet = await latencies(url, good, delay(QUIET_MS));
      const guesses = (async () => {
        for (let i = 0; i < GUESSES; i++) {
          const wrong = basic("alice", `guess-${round}-${i}`);
          await (await fetch(url, { headers: { authorization: wrong } })).arrayBuffer();
        }
      })();
      const busy = await latencies(url, good, guesses);
      console.log(`round ${round}: quiet ${summary(quiet)}`);
      console.log(`round ${round}: during ${GUESSES} wrong passwords ${summary(busy)}`);
      // The failures of a round end their minute before the next round.
      if (round < rounds) await delay(61_000);
    }
    const afterRss = await rssKiB(server.pid);
    if (idleRss !== undefined && afterRss !== undefined) {
      console.log(
        `RSS: ${(idleRss / 1024).toFixed(1)} MiB before the first check, ` +
          `${(afterRss / 1024).toFixed(1)} MiB with the bcrypt worker running`,
      );
    }
  });
}

if (import.meta.main) await main();
