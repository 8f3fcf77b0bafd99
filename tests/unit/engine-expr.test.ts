// Flow expressions (cli/engine/expr.ts) and retry timing (cli/engine/retry.ts).

import { describe, expect, it } from "vitest";
import { evalExpr, evalPredicate, toJsonValue, type ExprContext } from "../../cli/engine/expr.ts";
import { maxTries, retryDelaySeconds } from "../../cli/engine/retry.ts";

const ctx: ExprContext = {
  flow_input: { name: "linux", n: 3, tags: ["a", "b"] },
  results: { configure: { dir: "/b" }, skipped: null },
  previous_result: { x: 41 },
};

describe("evalExpr", () => {
  const cases: Array<[string, string, Partial<ExprContext>, unknown]> = [
    ["flow_input", "flow_input.name", {}, "linux"],
    ["results by id", "results.configure.dir", {}, "/b"],
    ["a skipped step's null result", "results.skipped", {}, null],
    ["previous_result", "previous_result.x + 1", {}, 42],
    ["template literal", "`${flow_input.name}-${flow_input.n}`", {}, "linux-3"],
    ["object literal", "({ a: flow_input.n })", {}, { a: 3 }],
    ["array method", "flow_input.tags.map((t) => t.toUpperCase())", {}, ["A", "B"]],
    ["a missing result is undefined", "results.nope", {}, undefined],
    ["statement body with return", "const a = flow_input.n;\nreturn a * 2;", {}, 6],
    ["await works", "await Promise.resolve(flow_input.n)", {}, 3],
    ["error in the failure module", "error.step_id", { error: { step_id: "compile", message: "m" } }, "compile"],
    ["result in stop_after_if", "result.ok", { result: { ok: true } }, true],
    ["params is empty", "Object.keys(params).length", {}, 0],
    ["multi-line expression", "flow_input.n >\n 2", {}, true],
  ];
  it.each(cases)("%s", async (_name, expr, extra, expected) => {
    expect(await evalExpr(expr, { ...ctx, ...extra })).toEqual(expected);
  });

  it("cannot change the engine's state", async () => {
    const state: ExprContext = { flow_input: { a: 1 }, results: { s: { v: 1 } }, previous_result: { v: 1 } };
    await evalExpr("(results.s.v = 99, flow_input.a = 99, previous_result.v = 99)", state);
    expect(state).toEqual({ flow_input: { a: 1 }, results: { s: { v: 1 } }, previous_result: { v: 1 } });
  });

  it.each([
    ["a reference error", "nope.x", /^ReferenceError: nope is not defined \(in expression `nope\.x`\)$/],
    ["a property of undefined", "results.missing.dir", /^TypeError: .+ \(in expression `results\.missing\.dir`\)$/],
    ["a syntax error", "flow_input.(", /^SyntaxError: .+ \(in expression `flow_input\.\(`\)$/],
    ["a server-only helper", 'variable("u/x/y")', /^Error: variable\("u\/x\/y"\) needs a Windmill server; the local runner has none/],
  ])("reports %s with the expression", async (_name, expr, message) => {
    await expect(evalExpr(expr, ctx)).rejects.toThrow(message);
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

describe("toJsonValue stores results as a worker's result.json would", () => {
  it.each([
    [undefined, null],
    [1, 1],
    [{ a: undefined, b: 1 }, { a: null, b: 1 }],
    [[undefined, 2], [null, 2]],
    [{ d: new Date(0) }, { d: "1970-01-01T00:00:00.000Z" }],
  ])("%j", (value, expected) => {
    expect(toJsonValue(value)).toEqual(expected);
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
