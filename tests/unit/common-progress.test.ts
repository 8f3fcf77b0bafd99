// Progress: a local line when no Windmill server is there, windmill-client's
// setProgress on a worker (checked against a local HTTP server standing in for the
// Windmill API), and never an exception, even when the server cannot be reached.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { clampPercent, onWindmill, progressCounter, progressLine, setProgress } from "../../f/common/progress.ts";

const WM_VARS = ["WM_JOB_ID", "WM_TOKEN", "WM_BASE_URL", "WM_WORKSPACE", "WM_FLOW_JOB_ID", "BASE_INTERNAL_URL"];
const saved = Object.fromEntries(WM_VARS.map((k) => [k, process.env[k]]));
function restoreEnv() {
  for (const k of WM_VARS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
}

afterEach(() => {
  vi.restoreAllMocks();
  restoreEnv();
});

function captureConsole() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  return { out, err };
}

describe("pure parts", () => {
  it.each([
    [42, 42],
    [42.6, 43],
    [-5, 0],
    [150, 100],
    [Number.NaN, 0],
    [Number.POSITIVE_INFINITY, 0],
  ])("clampPercent(%d) = %d", (p, want) => {
    expect(clampPercent(p)).toBe(want);
  });

  it.each<[number, string | undefined, string]>([
    [42, "compile 1234/2900", "[progress  42%] compile 1234/2900"],
    [5, undefined, "[progress   5%]"],
    [100, "done", "[progress 100%] done"],
    [250, "", "[progress 100%]"],
  ])("progressLine(%d, %j)", (p, note, want) => {
    expect(progressLine(p, note)).toBe(want);
  });

  it.each([
    [{}, false],
    [{ WM_JOB_ID: "j" }, false],
    [{ WM_JOB_ID: "j", WM_TOKEN: "t" }, false],
    [{ WM_JOB_ID: "j", WM_TOKEN: "t", WM_BASE_URL: "http://wm" }, true],
    [{ WM_JOB_ID: "", WM_TOKEN: "t", WM_BASE_URL: "http://wm" }, false],
  ])("onWindmill(%j) = %s", (env, want) => {
    expect(onWindmill(env)).toBe(want);
  });
});

describe("setProgress locally", () => {
  it("prints a progress line, once per percent unless there is a note", async () => {
    for (const k of WM_VARS) delete process.env[k];
    const { out } = captureConsole();
    await setProgress(11);
    await setProgress(11);
    await setProgress(11, "with a note");
    await setProgress(12);
    expect(out).toEqual(["[progress  11%]", "[progress  11%] with a note", "[progress  12%]"]);
  });
});

describe("setProgress on a Windmill worker", () => {
  let server: Server;
  let base: string;
  const requests: { method?: string; url?: string; body: string; auth?: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        requests.push({ method: req.method, url: req.url, body, auth: req.headers.authorization });
        res.setHeader("content-type", "application/json");
        res.end("null");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("reports the percent to the job through the Windmill API, and prints no local line", async () => {
    // windmill-client reads its API address (BASE_INTERNAL_URL, set on workers) when it loads.
    Object.assign(process.env, { WM_JOB_ID: "job-1", WM_TOKEN: "tok", WM_BASE_URL: base, WM_WORKSPACE: "kdev", BASE_INTERNAL_URL: base });
    const { out, err } = captureConsole();
    await setProgress(37.4, "compile");
    expect(err).toEqual([]);
    expect(out).toEqual([]);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: "POST", url: "/api/w/kdev/job_metrics/set_progress/job-1", auth: "Bearer tok" });
    expect(JSON.parse(requests[0]!.body)).toMatchObject({ percent: 37 });
  });

  it("does not throw when the server is unreachable: it says so and prints the local line", async () => {
    await new Promise<void>((r) => server.close(() => r()));
    Object.assign(process.env, { WM_JOB_ID: "job-1", WM_TOKEN: "tok", WM_BASE_URL: base, WM_WORKSPACE: "kdev", BASE_INTERNAL_URL: base });
    const { out, err } = captureConsole();
    await expect(setProgress(64, "link")).resolves.toBeUndefined();
    expect(err.join("\n")).toMatch(/^progress: could not report to Windmill/);
    expect(out).toEqual(["[progress  64%] link"]);
    server.listen(0, "127.0.0.1"); // so afterAll's close has a server to close
  });
});

describe("progressCounter", () => {
  it("reports at most once per percent, rising, between lo and hi", async () => {
    for (const k of WM_VARS) delete process.env[k];
    const { out } = captureConsole();
    const tick = progressCounter(1000, "compile", 20, 80);
    for (let i = 1; i <= 1000; i++) tick(i);
    await new Promise((r) => setTimeout(r, 20));
    const percents = out.map((l) => Number(/\[progress\s+(\d+)%\]/.exec(l)![1]));
    expect(percents.length).toBeLessThanOrEqual(61);
    expect(percents[0]).toBe(20);
    expect(percents.at(-1)).toBe(80);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(out.at(-1)).toBe("[progress  80%] compile 1000/1000");
  });

  it("a zero total reports lo and does not divide by zero", async () => {
    for (const k of WM_VARS) delete process.env[k];
    const { out } = captureConsole();
    progressCounter(0, "nothing", 3, 9)(5);
    await new Promise((r) => setTimeout(r, 10));
    expect(out).toEqual(["[progress   3%] nothing 5/0"]);
  });
});
