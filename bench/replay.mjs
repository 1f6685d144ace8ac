#!/usr/bin/env node
// replay.mjs — the bench's replay section: malloc-lab traces on wasm-slab's malloc (heap.malloc & co,
// from JS): whether the checks passed (no overlap, aligned, payload kept), throughput and utilization.
//
//   node bench/replay.mjs [--classes fine|kernel] [--runs N] [--json] FILE...
//   node bench/replay.mjs ../shared/traces/*.rep          (bench/run.mjs passes every trace)
//
// For each trace: one checked replay on a fresh heap (checks, peak live payload, footprint =
// bytes the heap took from the engine, utilization = peak live / footprint), then N timed replays without
// checks on fresh heaps (median ops/s; each timed sample repeats the trace until it lasts ≥ 20 ms). The
// replay itself is cli/lib/replay.mjs (shared with `wasm-slab replay`). The figures include the JS → Wasm
// call per operation; bench/malloc-peers.mjs replays in C instead. Exits 1 when a check failed.
import { parseArgs } from "node:util";
import { replayFiles, replayTable } from "../cli/lib/replay.mjs";
import { progress, table, writeSection } from "./harness.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { classes: { type: "string", default: "fine" }, runs: { type: "string", default: "5" }, json: { type: "boolean", default: false } },
});
if (positionals.length === 0 || !["fine", "kernel"].includes(values.classes) || !/^[1-9]\d*$/.test(values.runs)) {
  console.error("usage: node bench/replay.mjs [--classes fine|kernel] [--runs N] [--json] FILE...");
  process.exit(2);
}
const runs = Number(values.runs);
const bar = progress("replay", positionals.length, { unit: "trace" });
let last = null;
const results = await replayFiles(positionals, { classes: values.classes, runs, onFile: (i, n, name) => { if (last) bar.tick(last); last = name; } });
bar.tick(last);
bar.done();
const failed = results.some((r) => !r.ok);

if (values.json) console.log(JSON.stringify(results, null, 2));
else {
  const [header, rows] = replayTable(results);
  table(header, rows);
  console.log(`\nclasses: ${values.classes}; footprint = header + 1 MiB chunks grown; Mops/s = median of ${runs} runs`);
}
writeSection("replay", {
  runs,
  classes: values.classes,
  figures: results.flatMap((r) => [
    { name: `${r.trace}: Mops/s from JS`, value: r.opsPerSecond / 1e6, unit: "Mops/s" },
    { name: `${r.trace}: utilization`, value: 100 * r.utilization, unit: "%" },
    { name: `${r.trace}: checks passed`, value: r.ok ? 1 : 0, unit: "bool" },
  ]),
  results: results.map(({ file: _f, ...r }) => r),
  charts: [
    {
      id: "utilization", kind: "bars", title: "Utilization per trace: peak live payload / bytes taken from the engine (malloc from JS)",
      categories: results.map((r) => r.trace), series: [{ name: `wasm-slab (${values.classes} classes)`, values: results.map((r) => 100 * r.utilization) }],
      yLabel: "utilization", unit: "%", yMax: 100,
    },
  ],
});
process.exit(failed ? 1 : 0);
