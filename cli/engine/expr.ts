// The one evaluator of a flow's JavaScript: input transforms, skip_if, stop_after_if and
// branch predicates all go through evalExpr, as on a worker they all go through
// windmill-jseval (backend windmill-jseval/src/lib.rs, eval_timeout) with the context
// backend windmill-worker/src/worker_flow.rs builds for each:
//
//   input transform    flow_input, results, previous_result, params ({})   transform_input
//   predicate          flow_input, results, result = previous_result        compute_bool_from_expr
//
// and in every expression `error`, read from previous_result the way jseval sets it up
// (previous_result.error, else an UnknownError wrapping previous_result), and
// `variable()` / `resource()`, which need a server and fail here with a sentence saying so.
// `results.<id>` of a step that has not run is null (the server's result lookup finds
// nothing). A value is stored as jseval returns it: `JSON.stringify(x ?? null)`, so
// `undefined` becomes null and object keys whose value is undefined disappear. Each
// expression sees a copy of the engine's state, so it cannot change what later steps read.

import type { InputTransform } from "./flow.ts";

export type ExprKind = "transform" | "predicate";

export interface ExprContext {
  flow_input: unknown;
  /** Results of the steps run so far, by id. */
  results: Record<string, unknown>;
  previous_result: unknown;
}

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<unknown>;

/** The names an expression of this kind sees, in the order they are passed. */
function namesFor(kind: ExprKind): string[] {
  const own = kind === "transform" ? ["params"] : ["result"];
  return ["flow_input", "results", "previous_result", ...own, "error", "variable", "resource"];
}

/**
 * Windmill stores an expression in `expr`: usually one JavaScript expression; a body
 * with statements and an explicit `return` works too (jseval wraps it in an async
 * function either way, adding `return` only to a bare expression).
 */
function compile(expr: string, kind: ExprKind): (...a: unknown[]) => Promise<unknown> {
  const names = namesFor(kind);
  try {
    return new AsyncFunction(...names, `"use strict";\nreturn (\n${expr}\n);`);
  } catch (first) {
    try {
      return new AsyncFunction(...names, `"use strict";\n${expr}`);
    } catch {
      throw first;
    }
  }
}

function copy(v: unknown): unknown {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

/** `results`: the steps run so far; any other id reads as null, as a server lookup that finds nothing. */
function resultsView(results: Record<string, unknown>): Record<string, unknown> {
  const own = copy(results) as Record<string, unknown>;
  return new Proxy(own, {
    get: (target, name) => (typeof name === "symbol" || name in target ? Reflect.get(target, name) : null),
  });
}

/** `error` as jseval derives it from previous_result (windmill-jseval/src/lib.rs, the error setup). */
export function errorFrom(previous: unknown): unknown {
  const p = previous as { error?: unknown } | null | undefined;
  if (p && typeof p === "object" && !Array.isArray(p) && p.error) return p.error;
  if (Array.isArray(previous)) {
    const errors = previous.filter((item) => item && typeof item === "object" && "error" in item) as Array<{ error: { step_id?: string; message?: string; name?: string } }>;
    if (errors.length === 1) return errors[0]!.error;
    if (errors.length > 1) {
      const message = errors.map(({ error: e }, i) => `[${e.step_id || i}] ${e.message || e.name}`).join("; ");
      return { name: "MultipleErrors", message, errors: previous };
    }
    return { name: "MultipleErrors", message: "Could not parse errors", errors: previous };
  }
  if (previous) return { name: "UnknownError", message: "Could not parse the error", error: previous };
  return { name: "UnknownError", message: "No error found" };
}

function serverOnly(name: string) {
  return (path: string) => {
    throw new Error(`${name}(${JSON.stringify(path)}) needs a Windmill server; the local runner has none`);
  };
}

/** An expression that threw, or did not compile: the message names the expression, as a worker's does. */
export class ExprError extends Error {
  constructor(
    readonly expr: string,
    cause: unknown,
  ) {
    const c = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`Error during evaluation of expression \`${expr.trim()}\`:\n${c}`);
    this.name = "ExecutionErr";
  }
}

/** Evaluate an expression of a kind against a context; what it returns is the raw JavaScript value. */
export async function evalExpr(expr: string, ctx: ExprContext, kind: ExprKind = "transform"): Promise<unknown> {
  try {
    const fn = compile(expr, kind);
    const previous = copy(ctx.previous_result);
    const own = kind === "transform" ? {} : copy(ctx.previous_result);
    return await fn(copy(ctx.flow_input), resultsView(ctx.results), previous, own, errorFrom(copy(ctx.previous_result)), serverOnly("variable"), serverOnly("resource"));
  } catch (err) {
    throw new ExprError(expr, err);
  }
}

/** A predicate (`skip_if`, `stop_after_if`, a branch's `expr`): `Boolean(expr)` with result = previous_result. */
export async function evalPredicate(expr: string, ctx: ExprContext): Promise<boolean> {
  return Boolean(await evalExpr(expr, ctx, "predicate"));
}

/** The JSON an expression's value is stored as: `JSON.stringify(x ?? null)`, read back. */
export function exprValueToJson(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v ?? null) ?? "null");
}

/**
 * A module's arguments from its input transforms (worker_flow.rs, transform_input): a
 * static value as written (a missing `value` is null), an expression's value as jseval
 * returns it, so one that evaluates to undefined arrives as null.
 */
export async function evalTransforms(transforms: Record<string, InputTransform> | undefined, ctx: ExprContext): Promise<Record<string, unknown>> {
  const args: Record<string, unknown> = {};
  for (const [name, t] of Object.entries(transforms ?? {})) {
    if (t.type === "static") args[name] = t.value === undefined ? null : copy(t.value);
    else args[name] = exprValueToJson(await evalExpr(t.expr, ctx, "transform"));
  }
  return args;
}
