// The arguments a run starts with, by how it was started. Pure.
//
// - form (`kdevflow run FLOW`): what the Windmill web form sends: its defaults filled,
//   and input the form would refuse refused (schema.ts).
// - api (`kdevflow run --api FLOW`, and any script): what `wmill flow run -d` /
//   `wmill script run -d` and the API send: the object as given, nothing filled,
//   nothing checked (windmill-cli cli/src/commands/flow/flow.ts and
//   script/script.ts, run). Given no data at all, wmill refuses a form that has required
//   fields before it calls the server (cli/src/utils/utils.ts, validateRequiredArgs).
// - schedule (`kdevflow schedule run PATH`): the schedule's `args` exactly
//   (windmill-queue/src/schedule.rs, push_scheduled_job).

import { InputError } from "../../f/common/errors.ts";
import { applySets, validateInputs, type FormSchema } from "./schema.ts";

export type InputMode = "form" | "api";

export interface GivenInputs {
  /** The object from --input, or {}. */
  base: Record<string, unknown>;
  sets: ReadonlyArray<readonly [string, string]>;
  /** Whether --input or any --set was given at all (wmill's `-d`). */
  given: boolean;
}

/** What a run of a flow or script starts with, in this mode. */
export function runInputs(mode: InputMode, schema: FormSchema | undefined, inputs: GivenInputs): Record<string, unknown> {
  if (mode === "form") return validateInputs(schema, applySets(schema, inputs.base, inputs.sets));
  const required = schema?.required ?? [];
  if (!inputs.given && required.length > 0) {
    throw new InputError(required.join(", "), "a value: the form requires them, and with --api nothing fills them (give --input or --set, as wmill wants -d)");
  }
  return applySets(schema, inputs.base, inputs.sets, "allow");
}
