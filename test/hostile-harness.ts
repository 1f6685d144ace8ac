// hostile-harness.ts — runs a hostile case (test/hostile-cases.mjs) in a worker thread with a time limit,
// so that a call which never returns fails its test instead of hanging the run, and a trap or a corrupted
// heap stays inside that worker. Shared by the test/hostile*.test.ts files (not a test file itself).
//
// A case is an async function (lib, arg, progress) in hostile-cases.mjs; `lib` is the built package
// (dist/index.js, which `npm test` builds first). It returns a JSON-able result that the test checks;
// `progress(x)` records how far it got, so a hang names the call that hung.
import { Worker } from "node:worker_threads";

export type CaseResult<T = any> =
  | { kind: "value"; value: T; progress: unknown }
  | { kind: "error"; name: string; message: string; progress: unknown }
  | { kind: "hung"; progress: unknown };

const WORKER = new URL("./hostile-worker.mjs", import.meta.url);

/** Run case `name` with `arg` in a fresh worker; a case still running after `timeoutMs` is "hung". */
export function runCase<T = any>(name: string, arg: unknown = undefined, timeoutMs = 30_000): Promise<CaseResult<T>> {
  return new Promise((resolve) => {
    const w = new Worker(WORKER, { workerData: { name, arg } });
    let progress: unknown = undefined;
    let done = false;
    const finish = (r: CaseResult<T>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void w.terminate();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ kind: "hung", progress }), timeoutMs);
    w.on("message", (m: { progress?: unknown; value?: T; error?: { name: string; message: string } }) => {
      if ("progress" in m) progress = m.progress;
      else if (m.error) finish({ kind: "error", name: m.error.name, message: m.error.message, progress });
      else finish({ kind: "value", value: m.value as T, progress });
    });
    w.on("error", (e: Error) => finish({ kind: "error", name: e.name, message: e.message, progress }));
    w.on("exit", (code) => finish({ kind: "error", name: "WorkerExit", message: `worker exited with code ${code}`, progress }));
  });
}

/** The value of a case that must complete, or a failure that says what happened instead. */
export async function valueOf<T = any>(name: string, arg?: unknown, timeoutMs?: number): Promise<T> {
  const r = await runCase<T>(name, arg, timeoutMs);
  if (r.kind === "value") return r.value;
  if (r.kind === "hung") throw new Error(`case ${name}(${JSON.stringify(arg)}) hung; last progress: ${JSON.stringify(r.progress)}`);
  throw new Error(`case ${name}(${JSON.stringify(arg)}) threw ${r.name}: ${r.message}; last progress: ${JSON.stringify(r.progress)}`);
}
