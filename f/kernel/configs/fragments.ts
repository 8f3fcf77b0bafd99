// The config fragments kept in this project, by the name the `fragments` input takes.
// Each is a module beside this one exporting the fragment's text, so it is deployed
// with the steps. Add a fragment: write its module and name it here.

import { TINY_GUEST } from "./tiny_guest.ts";

export const PROJECT_FRAGMENTS: Readonly<Record<string, string>> = {
  "tiny-guest": TINY_GUEST,
};
