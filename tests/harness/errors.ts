// The InputError a call throws, for tests that check a refusal's sentence: anything else
// thrown is rethrown, and a call that throws nothing fails the test.

import { InputError, isInputError } from "../../f/common/errors.ts";

export function inputErrorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    if (isInputError(err)) return err as InputError;
    throw err;
  }
  throw new Error("expected an InputError, nothing was thrown");
}
