/**
 * command_error.ts — the one error class of the command line: a failure the
 * user can act on, told in one line. Modules under `main.ts` throw it;
 * `main.ts` alone prints `minserve: MESSAGE` and exits with its code. Any
 * other error is a bug and keeps its stack trace.
 */

/** CommandError is a failure told as one line (`message`), ending the program with `code`. */
export class CommandError extends Error {
  /** The exit status: 1, or 130 when the user pressed Ctrl-C. */
  readonly code: number;

  /** Takes the line to print (empty: print nothing) and, optionally, the exit code and cause. */
  constructor(message: string, options: { code?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CommandError";
    this.code = options.code ?? 1;
  }
}

/** messageOf is the message of a thrown value, whatever was thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
