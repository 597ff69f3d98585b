/**
 * errors.ts — matching the errors handlers throw, for `assert.throws` and
 * `assert.rejects`.
 */

import { HttpError } from "../../lib/http/http_error.ts";

/**
 * isStatus returns a predicate that holds for an {@linkcode HttpError} with
 * `status` and for nothing else, e.g. `assert.rejects(p, isStatus(413))`.
 */
export function isStatus(status: number): (err: unknown) => boolean {
  return (err) => err instanceof HttpError && err.status === status;
}
