// Errors a step raises on purpose. An InputError is bad input: it is raised before
// anything on disk changes, and its message is one sentence that names the field and
// says what was expected. The local runner maps it to exit status 2.

export class InputError extends Error {
  readonly field: string;
  readonly expected: string;
  /** The offending value, when one was named. */
  readonly got: unknown;

  constructor(field: string, expected: string, got?: unknown) {
    super(inputErrorMessage(field, expected, got));
    this.name = "InputError";
    this.field = field;
    this.expected = expected;
    this.got = got;
  }
}

/** One sentence: `<field>: expected <expected>, got <value>.` */
export function inputErrorMessage(field: string, expected: string, got?: unknown): string {
  const tail = got === undefined || got === NOT_SHOWN ? "" : `, got ${describeValue(got)}`;
  const sentence = `${field}: expected ${expected}${tail}`;
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

/** The `got` of a required field that was not given: the sentence says "got nothing". */
export const NOT_GIVEN: unique symbol = Symbol("not given");

/** The `got` of a value that must not be echoed (a pasted private key): the sentence names none. */
export const NOT_SHOWN: unique symbol = Symbol("not shown");

export function describeValue(value: unknown): string {
  if (value === NOT_GIVEN) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") {
    const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value;
}

/** True for errors that mean "the caller gave bad input" rather than "the work failed". */
export function isInputError(err: unknown): err is InputError {
  return err instanceof Error && err.name === "InputError";
}
