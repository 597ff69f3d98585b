/**
 * permissions_test.ts — the permissions computed from the options table:
 * exactly what each option needs, written as `--allow-*` flags, the one
 * command that grants them, and `deno task serve` held to the defaults'.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type Config, DEFAULTS, ENV_NAMES, OPTIONS, parseConfig } from "../lib/config.ts";
import {
  allowFlags,
  bakedFlags,
  descriptorOf,
  type Grant,
  grantsFor,
  rerunCommand,
  scriptPath,
} from "../lib/permissions.ts";
import { DENO_JSON, REPO_ROOT } from "./_support/paths.ts";

/** configOf parses `args` as the command line would, failing on anything but serve. */
function configOf(args: string[], env: Record<string, string> = {}): Config {
  const request = parseConfig(args, env);
  assert.equal(request.kind, "serve");
  return (request as { kind: "serve"; config: Config }).config;
}

const MAY_MOVE = { portMayMove: true, opener: undefined };
const FIXED = { portMayMove: false, opener: undefined };
const HASH = "$2b$04$8iMPAy/y.CDb5i1Arz/xVuML07.twuMU0wN2kjFcdiXZew7Hzawx.";

Deno.test("grantsFor: exactly what the options need, as --allow-* flags", async (t) => {
  const CASES: Array<
    { name: string; args: string[]; fixed?: boolean; opener?: string; want: string[] }
  > = [
    {
      name: "the defaults: read of the root, the loopback on any port (it may move)",
      args: [],
      want: ["--allow-net=127.0.0.1", "--allow-read=./www"],
    },
    {
      name: "a port given: that port only",
      args: ["site", "--port", "9000"],
      fixed: true,
      want: ["--allow-net=127.0.0.1:9000", "--allow-read=site"],
    },
    {
      name: "port 0: any port, the OS picks",
      args: ["site", "--port", "0"],
      fixed: true,
      want: ["--allow-net=127.0.0.1", "--allow-read=site"],
    },
    {
      name: "upload and data dirs: read and write of each; statfs for the free-disk floor",
      args: ["site", "--upload-dir", "up", "--data-dir", "data"],
      want: [
        "--allow-net=127.0.0.1",
        "--allow-read=site,up,data",
        "--allow-write=up,data",
        "--allow-sys=statfs",
      ],
    },
    {
      name: "--min-free-disk 0: no statfs",
      args: ["site", "--upload-dir", "up", "--min-free-disk", "0"],
      want: ["--allow-net=127.0.0.1", "--allow-read=site,up", "--allow-write=up"],
    },
    {
      name: "--min-free-disk without uploads: nothing",
      args: ["site", "--min-free-disk", "5"],
      want: ["--allow-net=127.0.0.1", "--allow-read=site"],
    },
    {
      name: "--lan: every interface, and the interfaces for the URLs",
      args: ["site", "--lan"],
      want: ["--allow-net=0.0.0.0", "--allow-read=site", "--allow-sys=networkInterfaces"],
    },
    {
      name: "IPv6 in brackets, with its port",
      args: ["site", "--host", "::1", "-p", "8443"],
      fixed: true,
      want: ["--allow-net=[::1]:8443", "--allow-read=site"],
    },
    {
      name: "HTTPS: cert and key read; the TLS tunnel on loopback",
      args: ["site", "--cert", "c.pem", "--key", "k.pem", "-p", "8443"],
      fixed: true,
      want: ["--allow-net=127.0.0.1:8443,127.0.0.1", "--allow-read=site,c.pem,k.pem"],
    },
    {
      name: "--auth: the files read, an inline user needs nothing",
      args: ["site", "--auth", "users.htpasswd", "--auth", `bob:${HASH}`],
      want: ["--allow-net=127.0.0.1", "--allow-read=site,users.htpasswd"],
    },
    {
      name: "--board-db: the database's host and port, and what its client reads",
      args: ["site", "--board-db", "postgres://u:secret@db.example:5433/board"],
      want: [
        "--allow-net=127.0.0.1,db.example:5433",
        "--allow-read=site",
        "--allow-env=PGPASSWORD,PGAPPNAME",
      ],
    },
    {
      name: "--metrics: its own address",
      args: ["site", "--metrics", "9100"],
      want: ["--allow-net=127.0.0.1,127.0.0.1:9100", "--allow-read=site"],
    },
    {
      name: "--open: the opener, when the platform has one",
      args: ["site", "--open"],
      opener: "xdg-open",
      want: ["--allow-net=127.0.0.1", "--allow-read=site", "--allow-run=xdg-open"],
    },
    {
      name: "--open without an opener: nothing to run",
      args: ["site", "--open"],
      want: ["--allow-net=127.0.0.1", "--allow-read=site"],
    },
  ];
  for (const c of CASES) {
    await t.step(c.name, () => {
      const context = { portMayMove: !c.fixed, opener: c.opener };
      assert.deepEqual(allowFlags(grantsFor(configOf(c.args), context)), c.want);
    });
  }
});

Deno.test("grantsFor: the root comes first, and only the nice-to-haves are optional", () => {
  const grants = grantsFor(
    configOf(["site", "--lan", "--upload-dir", "up", "--open"]),
    { portMayMove: true, opener: "xdg-open" },
  );
  assert.deepEqual(grants[0], {
    name: "read",
    value: "site",
    action: 'read ROOT "site"',
    optional: false,
  });
  const optional = grants.filter((g) => g.optional).map((g) => `${g.name}=${g.value}`);
  assert.deepEqual(optional, ["sys=networkInterfaces", "run=xdg-open", "sys=statfs"]);
});

Deno.test("the options table: a flag that names a file or folder outside the root implies a grant", () => {
  for (const row of OPTIONS) {
    const names = /FILE|DIR|URL|ADDR/.test(`${row.arg ?? ""}${row.usage ?? ""}`);
    // --spa names a file under the root, which the root's grant covers.
    if (!names || row.name === "spa") continue;
    assert.ok(row.grants !== undefined, `--${row.name} implies no permission`);
  }
});

Deno.test("allowFlags: each value once, in a fixed order, the given env names first", () => {
  const grants: Grant[] = [
    { name: "env", value: "PGPASSWORD", action: "", optional: false },
    { name: "read", value: "a", action: "", optional: false },
    { name: "net", value: "h", action: "", optional: false },
    { name: "read", value: "a", action: "", optional: false },
    { name: "write", value: "w", action: "", optional: false },
  ];
  assert.deepEqual(allowFlags(grants, ["X", "PGPASSWORD"]), [
    "--allow-net=h",
    "--allow-read=a",
    "--allow-write=w",
    "--allow-env=X,PGPASSWORD",
  ]);
  assert.deepEqual(allowFlags([]), []);
});

Deno.test("descriptorOf: each kind of grant as Deno.permissions names it", () => {
  const grant = (name: Grant["name"], value: string): Grant => ({
    name,
    value,
    action: "",
    optional: false,
  });
  assert.deepEqual(descriptorOf(grant("read", "a")), { name: "read", path: "a" });
  assert.deepEqual(descriptorOf(grant("write", "a")), { name: "write", path: "a" });
  assert.deepEqual(descriptorOf(grant("net", "h:1")), { name: "net", host: "h:1" });
  assert.deepEqual(descriptorOf(grant("sys", "statfs")), { name: "sys", kind: "statfs" });
  assert.deepEqual(descriptorOf(grant("run", "open")), { name: "run", command: "open" });
  assert.deepEqual(descriptorOf(grant("env", "V")), { name: "env", variable: "V" });
});

Deno.test("rerunCommand: one command, quoted for a shell", async (t) => {
  const args = ["my site", "--upload-dir", "up", "--header", "X-A: it's"];
  const grants = grantsFor(configOf(args), MAY_MOVE);
  await t.step("deno run with the flags, the set env names first", () => {
    assert.equal(
      rerunCommand(args, grants, {
        envNames: ["MINSERVE_HOST"],
        script: "main.ts",
        standalone: false,
      }),
      "deno run --allow-net=127.0.0.1 '--allow-read=my site,up' --allow-write=up " +
        "--allow-sys=statfs --allow-env=MINSERVE_HOST main.ts 'my site' --upload-dir up " +
        `--header 'X-A: it'\\''s'`,
    );
  });
  await t.step("a compiled binary: deno task compile, whose permissions are baked", () => {
    assert.equal(
      rerunCommand(args, grants, { envNames: [], script: "main.ts", standalone: true }),
      `deno task compile 'my site' --upload-dir up --header 'X-A: it'\\''s'`,
    );
  });
});

Deno.test("scriptPath: relative inside the working directory, absolute outside it", () => {
  assert.equal(scriptPath(new URL("main.ts", `file://${Deno.cwd()}/`).href), "main.ts");
  assert.equal(scriptPath("file:///elsewhere/main.ts"), "/elsewhere/main.ts");
  assert.equal(scriptPath("https://example.com/main.ts"), "https://example.com/main.ts");
});

Deno.test("bakedFlags: every environment variable minserve reads, and what the options add", () => {
  const flags = bakedFlags(configOf(["site", "--board-db", "postgres://u@db/b"]), MAY_MOVE);
  assert.deepEqual(flags, [
    "--allow-net=127.0.0.1,db:5432",
    "--allow-read=site",
    `--allow-env=${[...ENV_NAMES, "PGPASSWORD", "PGAPPNAME"].join(",")}`,
  ]);
  // A compiled binary may be given another --port when it runs: every port of each host.
  const anyPort = { ...FIXED, anyPort: true };
  assert.deepEqual(
    bakedFlags(configOf(["site", "-p", "9000", "--metrics", "9100"]), anyPort)[0],
    "--allow-net=127.0.0.1",
  );
});

Deno.test("deno task serve grants what the defaults need, and nothing else", async () => {
  const deno = JSON.parse(await Deno.readTextFile(DENO_JSON));
  const words: string[] = deno.tasks.serve.split(" ");
  assert.equal(words.at(-1), "main.ts");
  const allow = words.filter((w) => w.startsWith("--allow-") || w === "-A");
  const want = bakedFlags(DEFAULTS, MAY_MOVE);
  const kind = (flag: string) => flag.slice(0, flag.indexOf("="));
  assert.deepEqual(allow.map(kind), want.map(kind), "the same kinds of permission");
  for (const flag of want) {
    const task = allow.find((w) => kind(w) === kind(flag))!;
    if (kind(flag) === "--allow-net") {
      // The task also grants localhost and [::1], so --host names them without a prompt.
      const values = task.slice("--allow-net=".length).split(",");
      for (const value of flag.slice("--allow-net=".length).split(",")) {
        assert.ok(values.includes(value), `${value} in ${task}`);
      }
      for (const value of values) {
        assert.ok(["127.0.0.1", "localhost", "[::1]"].includes(value), `${value} is loopback`);
      }
    } else {
      assert.equal(task, flag);
    }
  }
  // The script the task runs is the entry point, from the repository root.
  assert.ok((await Deno.stat(join(REPO_ROOT, words.at(-1)!))).isFile);
});
