// Form fields the guest flows share, declared once: the guest's name and how long a stop
// waits for the guest to power off.

import { z } from "zod";
import { checkedBy, field } from "../../common/inputs.ts";
import { checkName } from "../../common/layout.ts";

export const vmField = (description: string) =>
  field(z.string().superRefine(checkedBy((v: string) => checkName("vm", v))), { description });

export const stopTimeoutField = (seconds: number) =>
  field(z.number().int().min(1).max(3600).default(seconds), {
    description: "Seconds to wait for the guest to power off before its units are stopped (killed).",
    expected: "a whole number of seconds from 1 to 3600",
  });
