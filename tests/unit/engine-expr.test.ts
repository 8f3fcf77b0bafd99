// Flow expressions (cli/engine/expr.ts), the server's result shapes (cli/engine/outcome.ts),
// deadlines (cli/engine/deadline.ts) and retry timing (cli/engine/retry.ts). Pure.
// The expression context and value rules follow backend windmill-jseval/src/lib.rs
// (eval_timeout, the error setup, the results proxy) and windmill-worker/src/worker_flow.rs
// (transform_input, compute_bool_from_expr).

import { describe, expect, it } from "vitest";
import { hasPassed, jobLimit, within } from "../../cli/engine/deadline.ts";
import { errorFrom, evalExpr, evalPredicate, evalTransforms, exprValueToJson, type ExprContext } from "../../cli/engine/expr.ts";
import { errorOf, hasRecoverTrue, stopAfterIfOutcome } from "../../cli/engine/outcome.ts";
import { maxTries, retryDelaySeconds } from "../../cli/engine/retry.ts";

const ctx: ExprContext = {
  flow_input: { name: "linux", n: 3, tags: ["a", "b"] },
  results: { configure: { dir: "/b" }, skipped: { x: 41 } },
  previous_result: { x: 41 },
};

describe("evalExpr", () => {
  const cases: Array<[string, string, Partial<ExprContext>, unknown]> = [
    ["flow_input", "flow_input.name", {}, "linux"],
    ["results by id", "results.configure.dir", {}, "/b"],
    ["a step that has not run reads null, as a server's lookup that finds nothing", "results.nope", {}, null],
    ["previous_result", "previous_result.x + 1", {}, 42],
    ["template literal", "`${flow_input.name}-${flow_input.n}`", {}, "linux-3"],
    ["object literal", "({ a: flow_input.n })", {}, { a: 3 }],
    ["array method", "flow_input.tags.map((t) => t.toUpperCase())", {}, ["A", "B"]],
    ["a missing input is undefined (it arrives as null once stored)", "flow_input.nothing", {}, undefined],
    ["statement body with return", "const a = flow_input.n;\nreturn a * 2;", {}, 6],
    ["await works", "await Promise.resolve(flow_input.n)", {}, 3],
    ["error is previous_result.error (the failure module)", "error.step_id", { previous_result: { error: { step_id: "compile", message: "m" } } }, "compile"],
    ["params is empty", "Object.keys(params).length", {}, 0],
    ["multi-line expression", "flow_input.n >\n 2", {}, true],
  ];
  it.each(cases)("%s", async (_name, expr, extra, expected) => {
    expect(await evalExpr(expr, { ...ctx, ...extra })).toEqual(expected);
  });

  it("a predicate sees result, the value it judges (= previous_result)", async () => {
    expect(await evalExpr("result.x === previous_result.x", ctx, "predicate")).toBe(true);
  });

  it("a transform has no result (a worker gives it none)", async () => {
    await expect(evalExpr("result", ctx)).rejects.toThrow(/ReferenceError: result is not defined/);
  });

  it("cannot change the engine's state", async () => {
    const state: ExprContext = { flow_input: { a: 1 }, results: { s: { v: 1 } }, previous_result: { v: 1 } };
    await evalExpr("(results.s.v = 99, flow_input.a = 99, previous_result.v = 99)", state);
    expect(state).toEqual({ flow_input: { a: 1 }, results: { s: { v: 1 } }, previous_result: { v: 1 } });
  });

  it.each([
    ["a reference error", "nope.x", /^Error during evaluation of expression `nope\.x`:\nReferenceError: nope is not defined$/],
    ["a property of a step that has not run", "results.missing.dir", /^Error during evaluation of expression `results\.missing\.dir`:\nTypeError: /],
    ["a syntax error", "flow_input.(", /^Error during evaluation of expression `flow_input\.\(`:\nSyntaxError: /],
    ["a server-only helper", 'variable("u/x/y")', /variable\("u\/x\/y"\) needs a Windmill server; the local runner has none/],
  ])("reports %s with the expression", async (_name, expr, message) => {
    await expect(evalExpr(expr, ctx)).rejects.toThrow(message);
  });
});

describe("error, as jseval derives it from previous_result", () => {
  it.each([
    ["a failed result", { error: { name: "Error", message: "m" } }, { name: "Error", message: "m" }],
    ["a result with no error", { ok: 1 }, { name: "UnknownError", message: "Could not parse the error", error: { ok: 1 } }],
    ["nothing", null, { name: "UnknownError", message: "No error found" }],
    ["a list with one error", [{ ok: 1 }, { error: { message: "x" } }], { message: "x" }],
    ["a list with two errors", [{ error: { step_id: "a", message: "x" } }, { error: { name: "N" } }], { name: "MultipleErrors", message: "[a] x; [1] N", errors: [{ error: { step_id: "a", message: "x" } }, { error: { name: "N" } }] }],
  ])("%s", (_name, previous, expected) => {
    expect(errorFrom(previous)).toEqual(expected);
  });
});

describe("evalPredicate reads Boolean(expr)", () => {
  it.each([
    ["true", true],
    ["1", true],
    ["'x'", true],
    ["0", false],
    ["''", false],
    ["null", false],
    ["undefined", false],
    ["flow_input.n > 2", true],
    ["flow_input.name === 'qemu'", false],
  ])("%s", async (expr, expected) => {
    expect(await evalPredicate(expr, ctx)).toBe(expected);
  });
});

describe("values are stored as jseval returns them: JSON.stringify(x ?? null)", () => {
  it.each([
    [undefined, null],
    [1, 1],
    [{ a: undefined, b: 1 }, { b: 1 }],
    [[undefined, 2], [null, 2]],
    [{ d: new Date(0) }, { d: "1970-01-01T00:00:00.000Z" }],
  ])("%j", (value, expected) => {
    expect(exprValueToJson(value)).toEqual(expected);
  });

  it("input transforms: static as written (no value is null), an expression that gives undefined is null", async () => {
    const args = await evalTransforms(
      {
        fixed: { type: "static", value: { x: [1] } },
        bare: { type: "static" },
        unset: { type: "javascript", expr: "flow_input.nothing" },
        given: { type: "javascript", expr: "flow_input.n" },
      },
      ctx,
    );
    expect(args).toEqual({ fixed: { x: [1] }, bare: null, unset: null, given: 3 });
  });
});

describe("outcome shapes (windmill-worker/src/worker_flow.rs)", () => {
  it("errorOf reads {error: {...}} and nothing else", () => {
    expect(errorOf({ error: { name: "E" } })).toEqual({ name: "E" });
    expect(errorOf({ error: "text" })).toBeUndefined();
    expect(errorOf([{ error: {} }])).toBeUndefined();
    expect(errorOf(null)).toBeUndefined();
  });

  it("hasRecoverTrue: only recover === true (result_has_recover_true)", () => {
    expect(hasRecoverTrue({ recover: true })).toBe(true);
    expect(hasRecoverTrue({ recover: "yes" })).toBe(false);
    expect(hasRecoverTrue(null)).toBe(false);
  });

  it.each([
    ["no error_message: a clean stop", { expr: "true" }, { clean: true }],
    ["error_message null: a clean stop", { expr: "true", error_message: null }, { clean: true }],
    ["skip_if_stopped wins over error_message", { expr: "true", skip_if_stopped: true, error_message: "m" }, { clean: true }],
    ["an error_message: EarlyStopError", { expr: "true", error_message: "nothing to do" }, { clean: false, error: { name: "EarlyStopError", message: "nothing to do" } }],
    ["an empty error_message names the expression", { expr: "result.n > 5", error_message: "" }, { clean: false, error: { name: "EarlyStopError", message: "stop after if: result.n > 5" } }],
    ["error_include_result keeps the step's result", { expr: "true", error_message: "m", error_include_result: true }, { clean: false, error: { name: "EarlyStopError", message: "m", result: { n: 1 } } }],
  ])("stop_after_if (get_stop_after_if_data): %s", (_name, stop, expected) => {
    expect(stopAfterIfOutcome(stop, { n: 1 })).toEqual(expected);
  });
});

describe("deadlines", () => {
  it("a module's timeout starts a deadline; an earlier enclosing one wins", () => {
    expect(within(undefined, undefined, "m", 1000)).toBeUndefined();
    expect(within(undefined, 2, "own", 1000)).toEqual({ at: 3000, message: "own" });
    expect(within({ at: 2500, message: "outer" }, 2, "own", 1000)).toEqual({ at: 2500, message: "outer" });
    expect(within({ at: 9000, message: "outer" }, 2, "own", 1000)).toEqual({ at: 3000, message: "own" });
    expect(within({ at: 9000, message: "outer" }, undefined, "own", 1000)).toEqual({ at: 9000, message: "outer" });
  });

  it("a job gets what is left, at least 1 ms; a passed deadline stops the next module", () => {
    expect(jobLimit(undefined, 0)).toBeUndefined();
    expect(jobLimit({ at: 3000, message: "m" }, 1000)).toEqual({ timeoutMs: 2000, message: "m" });
    expect(jobLimit({ at: 3000, message: "m" }, 5000)).toEqual({ timeoutMs: 1, message: "m" });
    expect(hasPassed({ at: 3000, message: "m" }, 3000)).toBe(true);
    expect(hasPassed({ at: 3000, message: "m" }, 2999)).toBe(false);
    expect(hasPassed(undefined, 1e12)).toBe(false);
  });
});

describe("retryDelaySeconds", () => {
  const cases: Array<[string, Parameters<typeof retryDelaySeconds>[0], number[]]> = [
    ["no retry", undefined, []],
    ["constant 2 x 0 s", { constant: { attempts: 2, seconds: 0 } }, [0, 0]],
    ["constant 3 x 5 s", { constant: { attempts: 3, seconds: 5 } }, [5, 5, 5]],
    ["exponential 3, x2, base 3", { exponential: { attempts: 3, multiplier: 2, seconds: 3 } }, [6, 18, 54]],
    ["constant then exponential", { constant: { attempts: 1, seconds: 1 }, exponential: { attempts: 2, multiplier: 1, seconds: 2 } }, [1, 4, 8]],
    ["zero attempts", { constant: { attempts: 0, seconds: 9 } }, []],
    ["capped at six hours", { exponential: { attempts: 1, multiplier: 1, seconds: 100000 } }, [21600]],
  ];
  it.each(cases)("%s", (_name, retry, delays) => {
    const seen: number[] = [];
    for (let n = 0; ; n++) {
      const d = retryDelaySeconds(retry, n);
      if (d === null) break;
      seen.push(d);
    }
    expect(seen).toEqual(delays);
    expect(maxTries(retry)).toBe(delays.length + 1);
  });
});
