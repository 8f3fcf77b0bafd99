// JavaScript expressions of a flow (input transforms, branch predicates, skip_if,
// stop_after_if), evaluated the way a Windmill worker does: the expression sees
// `flow_input`, `results` (by step id), `previous_result`, `params`, and where it
// applies `result` (stop_after_if) or `error` (the failure module). Each sees a copy of
// the engine's state, so an expression cannot change what later steps read.

export interface ExprContext {
  flow_input: Record<string, unknown>;
  results: Record<string, unknown>;
  previous_result: unknown;
  result?: unknown;
  error?: unknown;
  params?: Record<string, unknown>;
}

const NAMES = ["flow_input", "results", "previous_result", "result", "error", "params", "variable", "resource"] as const;

type Compiled = (...args: unknown[]) => Promise<unknown>;

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => Compiled;

const compiled = new Map<string, Compiled>();

/**
 * An expression is what Windmill stores in `expr`: usually one JavaScript expression;
 * a body with statements and an explicit `return` is accepted too.
 */
export function compileExpr(expr: string): Compiled {
  const hit = compiled.get(expr);
  if (hit) return hit;
  let fn: Compiled;
  try {
    fn = new AsyncFunction(...NAMES, `"use strict";\nreturn (\n${expr}\n);`);
  } catch (first) {
    try {
      fn = new AsyncFunction(...NAMES, `"use strict";\n${expr}`);
    } catch {
      throw first;
    }
  }
  compiled.set(expr, fn);
  return fn;
}

function copy(v: unknown): unknown {
  if (v === undefined) return undefined;
  return JSON.parse(JSON.stringify(v));
}

function serverOnly(name: string) {
  return (path: string) => {
    throw new Error(`${name}(${JSON.stringify(path)}) needs a Windmill server; the local runner has none`);
  };
}

export class ExprError extends Error {
  constructor(
    readonly expr: string,
    cause: unknown,
  ) {
    const c = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`${c} (in expression \`${expr.trim()}\`)`);
    this.name = "ExpressionError";
  }
}

/** Evaluate an expression against a context; errors come back as ExprError. */
export async function evalExpr(expr: string, ctx: ExprContext): Promise<unknown> {
  try {
    const fn = compileExpr(expr);
    const value = await fn(
      copy(ctx.flow_input),
      copy(ctx.results),
      copy(ctx.previous_result),
      copy(ctx.result),
      copy(ctx.error),
      copy(ctx.params ?? {}),
      serverOnly("variable"),
      serverOnly("resource"),
    );
    return value;
  } catch (err) {
    throw new ExprError(expr, err);
  }
}

/** A predicate (`skip_if`, `stop_after_if`, a branch's `expr`): read as `Boolean(expr)`. */
export async function evalPredicate(expr: string, ctx: ExprContext): Promise<boolean> {
  return Boolean(await evalExpr(expr, ctx));
}

/** The JSON a result is stored as: undefined becomes null, as a worker's result.json would. */
export function toJsonValue(v: unknown): unknown {
  if (v === undefined) return null;
  return JSON.parse(JSON.stringify(v, (_k, x) => (x === undefined ? null : x)) ?? "null");
}
