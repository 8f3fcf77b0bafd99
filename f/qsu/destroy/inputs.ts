// The inputs of f/qsu/destroy, declared once (the form is generated from them).
import { z } from "zod";
import { stopTimeoutField, vmField } from "../lib/fields.ts";

export const Inputs = z.strictObject({ vm: vmField("The guest's name."), timeout_s: stopTimeoutField(10) });
