/**
 * examples_test.ts — the lessons' TCP prelude (examples/tcp_server.ts and
 * examples/tcp_client.ts): the exported functions in-process with scripted
 * readers and a real listener, then both scripts as subprocesses, the way a
 * learner runs them, with exactly the permissions they document.
 */

import assert from "node:assert/strict";
import {
  parseClientArgs,
  readReply,
  SEND_CHUNK_BYTES,
  sendAll,
  writeAll,
} from "../examples/tcp_client.ts";
import { countBytes, parsePort, READ_CHUNK_BYTES, serveCounts } from "../examples/tcp_server.ts";
import { ByteSink, concat, encode, ScriptedReader } from "./_support/bytes.ts";
import { REPO_ROOT } from "./_support/paths.ts";

const CAN_NET = Deno.permissions.querySync({ name: "net", host: "127.0.0.1" }).state ===
  "granted";
const CAN_RUN = CAN_NET && Deno.permissions.querySync({ name: "run" }).state === "granted";
/** How long the server script may take to print its "listening on" line. */
const START_TIMEOUT_MS = 15_000;

/** payload returns `length` bytes cycling through all 256 values, so nothing is text-only. */
function payload(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + 3) % 256);
}

// --- in-process: the exported functions -----------------------------------

Deno.test("countBytes reads in 4 KiB chunks to EOF and returns the total", async (t) => {
  const CASES: { name: string; chunks: (string | Uint8Array)[]; total: number; reads: number }[] = [
    { name: "nothing", chunks: [], total: 0, reads: 1 },
    { name: "one byte", chunks: ["x"], total: 1, reads: 2 },
    { name: "exactly one chunk", chunks: [payload(4096)], total: 4096, reads: 2 },
    { name: "one byte over a chunk", chunks: [payload(4097)], total: 4097, reads: 3 },
    { name: "many small writes", chunks: ["a", "bc", "def", "\r\n"], total: 8, reads: 5 },
    { name: "100 000 bytes", chunks: [payload(100_000)], total: 100_000, reads: 26 },
  ];
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const reader = new ScriptedReader(c.chunks);
      assert.equal(await countBytes(reader), c.total);
      assert.equal(reader.reads, c.reads, "reads, EOF included");
      assert.equal(reader.remaining, 0);
    });
  }
  assert.equal(READ_CHUNK_BYTES, 4096);
});

Deno.test("countBytes passes on a read error", async () => {
  const error = new Deno.errors.ConnectionReset("scripted reset");
  await assert.rejects(countBytes(new ScriptedReader(["abc"], { error })), (err) => err === error);
});

Deno.test("sendAll sends its source in 1 KiB chunks, in order", async (t) => {
  const CASES: { name: string; length: number; writes: number }[] = [
    { name: "nothing", length: 0, writes: 0 },
    { name: "one byte", length: 1, writes: 1 },
    { name: "exactly 1 KiB", length: 1024, writes: 1 },
    { name: "1 KiB and a byte", length: 1025, writes: 2 },
    { name: "100 000 bytes", length: 100_000, writes: 98 },
  ];
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const data = payload(c.length);
      const sink = new ByteSink();
      assert.equal(await sendAll(sink, new ScriptedReader([data])), c.length);
      assert.deepEqual(sink.bytes(), data);
      assert.equal(sink.writes, c.writes);
    });
  }
  assert.equal(SEND_CHUNK_BYTES, 1024);
});

Deno.test("sendAll loops over short writes and small reads", async () => {
  const data = payload(5000);
  const sink = new ByteSink({ maxPerWrite: 7 });
  const source = new ScriptedReader([data.slice(0, 3), data.slice(3, 2000), data.slice(2000)]);
  assert.equal(await sendAll(sink, source), 5000);
  assert.deepEqual(sink.bytes(), data);
});

Deno.test("sendAll passes on read and write errors", async () => {
  const readError = new Deno.errors.Interrupted("scripted");
  await assert.rejects(
    sendAll(new ByteSink(), new ScriptedReader(["ab"], { error: readError })),
    (err) => err === readError,
  );
  const writeError = new Deno.errors.BrokenPipe("scripted");
  const failing = { write: () => Promise.reject(writeError) };
  await assert.rejects(sendAll(failing, new ScriptedReader(["ab"])), (err) => err === writeError);
});

Deno.test("writeAll writes everything despite short writes", async () => {
  const sink = new ByteSink({ maxPerWrite: 1 });
  await writeAll(sink, encode("hello"));
  assert.equal(sink.text(), "hello");
  assert.equal(sink.writes, 5);
  await writeAll(sink, new Uint8Array(0));
  assert.equal(sink.writes, 5);
});

Deno.test("readReply joins reads and decodes a character split across them", async () => {
  assert.equal(await readReply(new ScriptedReader([])), "");
  assert.equal(
    await readReply(new ScriptedReader(["received ", "3 bytes\n"])),
    "received 3 bytes\n",
  );
  // "ü" is c3 bc in UTF-8; the two bytes arrive in different reads.
  assert.equal(await readReply(new ScriptedReader(["r\xc3", "\xbc"])), "rü");
});

Deno.test("parsePort accepts 0 to 65535 and names a bad value", async (t) => {
  assert.equal(parsePort([]), 9000);
  assert.equal(parsePort(["--port", "0"]), 0);
  assert.equal(parsePort(["--port=65535"]), 65535);
  assert.equal(parsePort(["-p", "8080"]), 8080);
  for (const bad of ["-1", "65536", "abc", "", "1.5", "0x10", " 80", "999999"]) {
    await t.step(JSON.stringify(bad), () => {
      assert.throws(() => parsePort([`--port=${bad}`]), (err) => {
        assert.ok(err instanceof RangeError);
        assert.ok(err.message.includes(`"${bad}"`), err.message);
        return true;
      });
    });
  }
  assert.throws(() => parsePort(["--bogus"]), TypeError);
  assert.throws(() => parsePort(["extra"]), TypeError);
});

Deno.test("parseClientArgs reads --host and --port and refuses bad ones", () => {
  assert.deepEqual(parseClientArgs([]), { host: "127.0.0.1", port: 9000 });
  assert.deepEqual(parseClientArgs(["--host", "localhost", "--port", "81"]), {
    host: "localhost",
    port: 81,
  });
  for (const bad of ["0", "65536", "x", ""]) {
    assert.throws(() => parseClientArgs(["--port", bad]), RangeError, bad);
  }
  assert.throws(() => parseClientArgs(["--host", ""]), RangeError);
  assert.throws(() => parseClientArgs(["--nope"]), TypeError);
});

/** exchange connects to `port`, sends `data`, half-closes and returns the reply. */
async function exchange(port: number, data: Uint8Array): Promise<string> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, data);
  await conn.closeWrite();
  return await readReply(conn);
}

Deno.test({
  name: "serveCounts answers each connection in turn and stops when the listener closes",
  ignore: !CAN_NET,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = serveCounts(listener);
    try {
      for (const length of [0, 1, 4095, 4096, 4097, 100_000]) {
        assert.equal(
          await exchange(listener.addr.port, payload(length)),
          `received ${length} bytes\n`,
        );
      }
    } finally {
      listener.close();
    }
    assert.equal(await serving, 6);
  },
});

Deno.test({
  name: "serveCounts survives a client that leaves without reading the answer",
  ignore: !CAN_NET,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = serveCounts(listener);
    try {
      {
        // Full close, not closeWrite: the server's answer goes to a closed socket.
        const rude = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
        await writeAll(rude, payload(10_000));
        rude.close();
      }
      assert.equal(await exchange(listener.addr.port, encode("still here")), "received 10 bytes\n");
    } finally {
      listener.close();
    }
    const answered = await serving;
    assert.ok(answered === 1 || answered === 2, `answered ${answered}`);
  },
});

Deno.test({
  name: "serveCounts returns at once for a listener that is already closed",
  ignore: !CAN_NET,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    listener.close();
    assert.equal(await serveCounts(listener), 0);
  },
});

// --- subprocesses: the scripts as a learner runs them ----------------------

/** ServerScript is examples/tcp_server.ts running as a child process. */
interface ServerScript extends AsyncDisposable {
  port: number;
  stderr(): string;
}

/**
 * startServerScript runs `deno run --allow-net=127.0.0.1 examples/tcp_server.ts
 * --port 0` and waits for its `listening on 127.0.0.1:PORT` line. Disposing it
 * sends SIGTERM and waits for the exit and both pipes.
 */
async function startServerScript(): Promise<ServerScript> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", "examples/tcp_server.ts", "--port", "0"],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const stderrDone = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) stderr += decoder.decode(chunk, { stream: true });
  })();
  const listening = Promise.withResolvers<number>();
  const stdoutDone = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk, { stream: true });
      const match = /^listening on 127\.0\.0\.1:(\d+)$/m.exec(text);
      if (match) listening.resolve(Number(match[1]));
    }
    listening.reject(new Error(`Cannot start tcp_server.ts: it printed ${JSON.stringify(text)}`));
  })();
  const timer = setTimeout(
    () => listening.reject(new Error(`Cannot start tcp_server.ts within ${START_TIMEOUT_MS} ms`)),
    START_TIMEOUT_MS,
  );
  const dispose = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await child.status;
    await Promise.all([stdoutDone, stderrDone]);
  };
  try {
    const port = await listening.promise;
    return { port, stderr: () => stderr, [Symbol.asyncDispose]: dispose };
  } catch (err) {
    await dispose();
    throw new Error(`${(err as Error).message}\n--- stderr ---\n${stderr}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/** runClient runs examples/tcp_client.ts with `input` on its stdin. */
async function runClient(
  args: string[],
  input: Uint8Array,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", "examples/tcp_client.ts", ...args],
    cwd: REPO_ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Write and close stdin while output() drains stdout and stderr, so a full
  // pipe on either side cannot deadlock the two processes.
  const writing = (async () => {
    const writer = child.stdin.getWriter();
    try {
      if (input.length > 0) await writer.write(input);
      await writer.close();
    } catch {
      // The client exited early (e.g. could not connect); its status says why.
    }
  })();
  const [output] = await Promise.all([child.output(), writing]);
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test({
  name: "tcp_client.ts piped into tcp_server.ts reports the bytes it sent",
  ignore: !CAN_RUN,
  async fn(t) {
    await using server = await startServerScript();
    // Sequential clients on one server: it handles many connections, one at a time.
    for (const length of [0, 1, 1024, 1025, 100_000]) {
      await t.step(`${length} bytes`, async () => {
        const got = await runClient(["--port", String(server.port)], payload(length));
        assert.equal(got.stderr, "");
        assert.equal(got.code, 0);
        assert.equal(got.stdout, `received ${length} bytes\n`);
      });
    }
    await t.step("--host is honoured", async () => {
      const args = ["--host", "127.0.0.1", "--port", String(server.port)];
      const got = await runClient(args, encode("hi\n"));
      assert.equal(got.stdout, "received 3 bytes\n");
    });
    await t.step("a raw connection counts too", async () => {
      const data = concat([payload(3000), encode("\r\n\x00")]);
      assert.equal(await exchange(server.port, data), `received ${data.length} bytes\n`);
    });
    assert.equal(server.stderr(), "");
  },
});

Deno.test({
  name: "tcp_client.ts says so and exits 1 when no server listens",
  ignore: !CAN_RUN,
  async fn() {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = probe.addr.port;
    probe.close(); // now, almost surely, nothing listens there
    const got = await runClient(["--port", String(port)], encode("lost"));
    assert.equal(got.code, 1);
    assert.equal(got.stdout, "");
    assert.match(got.stderr, new RegExp(`Cannot connect to 127\\.0\\.0\\.1:${port}`));
  },
});

Deno.test({
  name: "the example scripts refuse bad arguments with exit code 2",
  ignore: !CAN_RUN,
  async fn(t) {
    const CASES: { script: string; args: string[]; message: RegExp }[] = [
      { script: "tcp_server.ts", args: ["--port", "70000"], message: /Cannot use port "70000"/ },
      { script: "tcp_server.ts", args: ["--bogus"], message: /usage: tcp_server\.ts/ },
      { script: "tcp_client.ts", args: ["--port", "abc"], message: /Cannot use port "abc"/ },
      { script: "tcp_client.ts", args: ["positional"], message: /usage: tcp_client\.ts/ },
    ];
    for (const c of CASES) {
      await t.step(`${c.script} ${c.args.join(" ")}`, async () => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--allow-net=127.0.0.1", `examples/${c.script}`, ...c.args],
          cwd: REPO_ROOT,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(out.code, 2);
        assert.equal(new TextDecoder().decode(out.stdout), "");
        assert.match(new TextDecoder().decode(out.stderr), c.message);
      });
    }
  },
});
