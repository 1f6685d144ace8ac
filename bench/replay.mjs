#!/usr/bin/env node
// replay.mjs — replay malloc-lab traces on wasm-slab's malloc (heap.malloc & co, from JS) and report
// whether the checks passed (no overlap, aligned, payload kept), throughput and utilization.
//
//   node bench/replay.mjs [--classes fine|kernel] [--runs N] [--json] FILE...
//   node bench/replay.mjs ../shared/traces/*.rep
//
// For each trace: one checked replay on a fresh heap (checks, peak live payload, footprint =
// bytes the heap took from the engine, utilization = peak live / footprint), then N timed replays without
// checks on fresh heaps (median ops/s; each timed sample repeats the trace until it lasts ≥ 20 ms).
// The figures include the JS → Wasm call per operation; bench/malloc-peers.mjs replays in C instead.
// Exits 1 when a check failed.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { createAllocator, parseTrace, replayTrace } from "../dist/index.js";
import { median, table } from "./harness.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { classes: { type: "string", default: "fine" }, runs: { type: "string", default: "5" }, json: { type: "boolean", default: false } },
});
if (positionals.length === 0) {
  console.error("usage: node bench/replay.mjs [--classes fine|kernel] [--runs N] [--json] FILE...");
  process.exit(2);
}
const runs = Number(values.runs);

async function freshHeap() {
  const heap = await createAllocator();
  heap.setMallocClasses(values.classes);
  return heap;
}

const results = [];
let failed = false;
for (const file of positionals) {
  const trace = parseTrace(readFileSync(file, "utf8"), basename(file, ".rep"));
  const heap = await freshHeap();
  const checked = replayTrace(heap, trace, { check: true });
  const valid = heap.validate().ok;
  if (checked.errors.length || !valid) failed = true;
  const samples = [];
  for (let r = 0; r < runs; r++) {
    const h = await freshHeap();
    let reps = 0;
    const t0 = performance.now();
    do {
      replayTrace(h, trace, { check: false, footprint: () => 0 });
      reps++;
    } while (performance.now() - t0 < 20);
    samples.push((reps * trace.count) / ((performance.now() - t0) / 1000));
  }
  results.push({
    trace: trace.name,
    ops: trace.count,
    checks: checked.errors.length === 0 && valid ? "ok" : `FAILED: ${checked.errors[0] ?? "validate"}`,
    opsPerSecond: median(samples),
    peakLive: checked.peakLive,
    footprint: checked.footprint,
    utilization: checked.utilization,
  });
}

if (values.json) console.log(JSON.stringify(results, null, 2));
else {
  table(
    ["trace", "ops", "checks", "Mops/s (JS)", "peak live B", "footprint B", "utilization"],
    results.map((r) => [r.trace, r.ops, r.checks, (r.opsPerSecond / 1e6).toFixed(2), r.peakLive, r.footprint, (100 * r.utilization).toFixed(1) + "%"]),
  );
  console.log(`\nclasses: ${values.classes}; footprint = header + 1 MiB chunks grown; Mops/s = median of ${runs} runs`);
}
process.exit(failed ? 1 : 0);
