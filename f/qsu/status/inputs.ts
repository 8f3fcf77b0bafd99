// The inputs of f/qsu/status, declared once (the form is generated from them).
import { z } from "zod";
import { vmField } from "../lib/fields.ts";

export const Inputs = z.strictObject({ vm: vmField("The guest's name.") });
