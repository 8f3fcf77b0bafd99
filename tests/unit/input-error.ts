// The InputError a call throws, for tests of a refusal's field and sentence; anything
// else thrown is rethrown, and no throw at all fails the test.

import { InputError } from "../../f/common/errors.ts";

export function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error("expected an InputError");
}
