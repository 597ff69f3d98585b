/**
 * fields.ts — reading request header fields by name, from a web `Headers`
 * or straight from a parsed head, so the RFC 9110 decisions of the static
 * layer (`conditional`, `range`, `encoding`) have one implementation for
 * both the `Request` path and the fast path that builds no `Request`.
 */

/** FieldSource is anything that answers a field by its lower-case name, like `Headers.get`. */
export interface FieldSource {
  /** The field's value, repeated lines joined with ", " (RFC 9110 §5.3); null when absent. */
  get(name: string): string | null;
}

/**
 * HeadFields is a {@linkcode FieldSource} over the `[name, value]` pairs of a
 * parsed head (names as sent). A lookup walks the pairs once (a browser
 * sends about a dozen, and most comparisons stop at the length) and its
 * answer is kept: a head parsed once may be answered many times
 * (`HeadParser`), and the pairs never change.
 */
export class HeadFields implements FieldSource {
  #pairs: readonly (readonly [string, string])[];
  #known = new Map<string, string | null>();

  /** Wraps `pairs` (not copied; they must not change). */
  constructor(pairs: readonly (readonly [string, string])[]) {
    this.#pairs = pairs;
  }

  /** The value of `name` (lower case), as `Headers.get` would give it. */
  get(name: string): string | null {
    let value = this.#known.get(name);
    if (value !== undefined) return value;
    value = null;
    for (const [field, v] of this.#pairs) {
      if (field.length !== name.length || field.toLowerCase() !== name) continue;
      value = value === null ? v : `${value}, ${v}`;
    }
    this.#known.set(name, value);
    return value;
  }
}
