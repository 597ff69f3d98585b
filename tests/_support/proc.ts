/**
 * proc.ts — what Linux's /proc says about another process: its open file
 * descriptors and its resident memory, for leak and memory tests of the
 * server subprocess.
 *
 * Deno asks for `--allow-all` before it reads `/proc/<pid>/…` of another
 * process, even with `--allow-read`. Tests run with `--allow-read
 * --allow-run`, so when the direct read is refused these helpers ask `ls`
 * and `cat` instead. Without /proc at all (macOS, Windows) they return
 * undefined and callers skip, saying why.
 */

/** PROC_MISSING is the reason callers print when they skip a /proc check. */
export const PROC_MISSING = "/proc/<pid> is not available on this system";

/** hasProc tells whether this system has a Linux-style /proc with per-process fd lists. */
export async function hasProc(): Promise<boolean> {
  try {
    return Deno.statSync("/proc/self/fd").isDirectory;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied)) {
      return false;
    }
  }
  return (await run("ls", ["-d", "/proc/self/fd"])) !== undefined;
}

/** openFdCount counts the entries of `/proc/<pid>/fd`; undefined without /proc or once `pid` is gone. */
export async function openFdCount(pid: number): Promise<number | undefined> {
  const names = await fdNames(pid);
  return names?.length;
}

/** fdTargets lists `N -> target` for each descriptor of `pid`, for a leak report. */
export async function fdTargets(pid: number): Promise<string[]> {
  const names = await fdNames(pid);
  if (names === undefined) return [];
  const out = await run("ls", ["-l", `/proc/${pid}/fd`]);
  if (out !== undefined) return out.split("\n").filter((l) => l.includes("->"));
  return names;
}

/** rssKiB reads VmRSS of `pid` in KiB from `/proc/<pid>/status`; undefined without /proc. */
export async function rssKiB(pid: number): Promise<number | undefined> {
  const status = await readProcText(`/proc/${pid}/status`);
  const match = status === undefined ? null : /^VmRSS:\s+([0-9]+) kB$/m.exec(status);
  return match === null ? undefined : Number(match[1]);
}

/** CLOCK_TICKS_PER_SECOND is USER_HZ, which Linux fixes at 100 for /proc. */
const CLOCK_TICKS_PER_SECOND = 100;

/** cpuSeconds reads the user plus system CPU time `pid` has used, from `/proc/<pid>/stat`. */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  const stat = await readProcText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // Fields after the parenthesised command name, which may itself hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime + stime) ? (utime + stime) / CLOCK_TICKS_PER_SECOND : undefined;
}

async function fdNames(pid: number): Promise<string[] | undefined> {
  const dir = `/proc/${pid}/fd`;
  try {
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    return names;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied)) {
      return undefined;
    }
  }
  const out = await run("ls", ["-1", dir]);
  return out?.split("\n").filter((l) => l !== "");
}

async function readProcText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied)) {
      return undefined;
    }
  }
  return await run("cat", [path]);
}

/** run returns the stdout of `cmd args`, or undefined if it fails or cannot be run. */
async function run(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}
