// The precondition language's public types: values, the scope names are resolved in, a compiled
// precondition, and the syntax error (see ../preconditions.ts for the language).
export type Value = number | string | boolean | null | readonly Value[];

/** Resolves a dotted name path (["agent","needs","hunger"]) to a value; unknown -> null. */
export interface PreconditionScope {
  lookup(path: readonly string[]): Value;
}

export interface CompiledPrecondition {
  readonly source: string;
  /** Every distinct name path the expression reads, in order of first appearance. */
  readonly names: readonly (readonly string[])[];
  /** True when the precondition holds; an evaluation error (or a throwing scope) gives false. */
  evaluate(scope: PreconditionScope): boolean;
}

export class PreconditionSyntaxError extends Error {
  override readonly name = "PreconditionSyntaxError";
  /** The whole precondition text. */
  readonly source: string;
  /** 0-based offset into `source` of the offending token. */
  readonly column: number;
  /** Why it was rejected, without the position ("calls are not allowed"). */
  readonly reason: string;

  constructor(source: string, column: number, found: string, reason: string) {
    super(`unexpected ${found} at column ${column}: ${reason}`);
    this.source = source;
    this.column = column;
    this.reason = reason;
  }
}
