/**
 * opener.ts — the program that opens a URL in the default browser, per
 * platform: what `--open` runs, and what `deno task compile --open` grants
 * (`--allow-run` for that one program).
 */

/** Opener is the program that opens a URL in the default browser. */
export interface Opener {
  /** The program, as `--allow-run` names it. */
  command: string;
  /** Its arguments for `url`. */
  args(url: string): string[];
}

/** openerFor takes an OS name as `Deno.build.os` gives it and returns its URL opener, or undefined where there is none. */
export function openerFor(os: typeof Deno.build.os): Opener | undefined {
  switch (os) {
    case "darwin":
      return { command: "open", args: (url) => [url] };
    case "windows":
      // `start` is built into cmd, and its first quoted argument is a window title.
      return { command: "cmd", args: (url) => ["/c", "start", "", url] };
    case "android":
      return undefined;
    default:
      return { command: "xdg-open", args: (url) => [url] }; // freedesktop.org: Linux, the BSDs
  }
}
