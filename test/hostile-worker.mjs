// hostile-worker.mjs — the worker side of test/hostile-harness.ts: runs one case of hostile-cases.mjs
// against the built package and posts its result (or its error) back.
import { parentPort, workerData } from "node:worker_threads";

const lib = await import(new URL("../dist/index.js", import.meta.url).href);
const { cases } = await import("./hostile-cases.mjs");
const { name, arg } = workerData;
try {
  if (!(name in cases)) throw new Error(`no case '${name}'`);
  const value = await cases[name](lib, arg, (p) => parentPort.postMessage({ progress: p }));
  parentPort.postMessage({ value });
} catch (e) {
  parentPort.postMessage({ error: { name: e?.name ?? "Error", message: String(e?.message ?? e) } });
}
