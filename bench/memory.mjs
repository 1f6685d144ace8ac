#!/usr/bin/env node
// memory.mjs — the "memory" bench section (issue 12): where every byte goes, and how much wasm-slab takes
// against dlmalloc.
//
// Owns: the section's figures and pictures. Entry point: this script (bench/run.mjs runs it as "memory").
// Calls: dist/ (createAllocator, heap.footprint, pageMap), bench/util-peers.mjs (the C builds),
// bench/svg-memory.mjs (drawings).
//   1. every trace of ../shared/traces replayed through heap.malloc/free/realloc; heap.footprint() taken at
//      the peak of live bytes, with the trace's requested bytes → a table and memory-footprint.svg
//   2. the heap of one trace at its peak, page by page → memory-map.svg
//   3. worst class rounding over every size from 128 B to the large-block threshold
//   4. utilization (peak live ÷ memory − __heap_base) of wasm-slab merged into C and of wasi-libc's
//      dlmalloc, one replay each (needs clang + wasi-libc) → the goals
// With WASM_SLAB_BENCH_DIR set (bench/run.mjs), writes memory.json and memory-*.svg there; else prints.
//   node bench/memory.mjs [--map TRACE] [--no-peers]
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FOOTPRINT_CATEGORIES, FOOTPRINT_LABELS, createAllocator, pageMap, parseTrace } from "../dist/index.js";
import { footprintBars, memoryMap } from "./svg-memory.mjs";
import { buildPeers, traceDir, utilizationGoals, utilizationTable } from "./util-peers.mjs";
import { fmt, table } from "./harness.mjs";

const { values } = parseArgs({ options: { map: { type: "string", default: "amptjp-bal" }, "no-peers": { type: "boolean", default: false } } });
const outDir = process.env.WASM_SLAB_BENCH_DIR;
const dir = traceDir();
if (!dir) { console.log("(no ../shared/traces: memory section skipped)"); process.exit(0); }

// Replay `trace` without checks; call `atPeak(heap, liveBytes)` once, right after the op that reaches the
// peak of live bytes (found by a first pass over the sizes alone).
async function replayToPeak(trace, atPeak) {
  const ops = trace.ops;
  const size = new Map();
  let live = 0, peak = -1, peakAt = -1;
  for (let k = 0; k < ops.length; k += 3) {
    const [op, id, n] = [ops[k], ops[k + 1], ops[k + 2]];
    const old = size.get(id) ?? 0;
    if (op === 0) { size.set(id, n); live += n; }
    else if (op === 1) { size.delete(id); live -= old; }
    else { live += n - old; if (n === 0) size.delete(id); else size.set(id, n); }
    if (live > peak) { peak = live; peakAt = k; }
  }
  const heap = await createAllocator();
  const ptr = new Map();
  size.clear();
  live = 0;
  let result;
  for (let k = 0; k < ops.length; k += 3) {
    const [op, id, n] = [ops[k], ops[k + 1], ops[k + 2]];
    const p = ptr.get(id) ?? 0;
    const old = size.get(id) ?? 0;
    if (op === 0) { ptr.set(id, heap.malloc(n)); size.set(id, n); live += n; }
    else if (op === 1) { heap.free(p); ptr.delete(id); size.delete(id); live -= old; }
    else {
      const q = heap.realloc(p, n);
      live += n - old;
      if (n === 0) { ptr.delete(id); size.delete(id); } else { ptr.set(id, q); size.set(id, n); }
    }
    if (k === peakAt) result = atPeak(heap, live);
  }
  return { peak, result };
}

const figures = [];
const svgs = {};

// ---- 1. footprint at the peak, per trace -------------------------------------------------------------
const files = readdirSync(dir).filter((f) => f.endsWith(".rep")).sort();
const rows = [];
for (const f of files) {
  const trace = parseTrace(readFileSync(join(dir, f), "utf8"), f);
  const { peak, result } = await replayToPeak(trace, (heap, live) => heap.footprint({ mallocRequested: live }));
  rows.push({ name: f.replace(".rep", ""), peakLive: peak, footprint: result });
}
console.log("footprint at each trace's peak (JS heap, heap.footprint()), KiB");
const shown = FOOTPRINT_CATEGORIES.filter((c) => c !== "other");
table(["trace", "total", ...shown, "live %"], rows.map((r) => [r.name, fmt(r.footprint.total / 1024, 0), ...shown.map((c) => fmt(r.footprint[c] / 1024, 0)), fmt((100 * r.footprint.live) / r.footprint.total, 1)]));
for (const r of rows) {
  const sum = FOOTPRINT_CATEGORIES.reduce((s, c) => s + r.footprint[c], 0);
  if (sum !== r.footprint.total || r.footprint.other !== 0) throw new Error(`${r.name}: categories sum to ${sum}, total ${r.footprint.total}`);
}
svgs["memory-footprint.svg"] = footprintBars(rows, FOOTPRINT_CATEGORIES.filter((c) => c !== "other"), FOOTPRINT_LABELS);
for (const r of rows) figures.push({ name: `footprint ${r.name}`, value: r.footprint.total, unit: "B", categories: Object.fromEntries(FOOTPRINT_CATEGORIES.map((c) => [c, r.footprint[c]])) });

// ---- 2. a memory map at one heap's peak --------------------------------------------------------------
const mapName = values.map;
const mapFile = files.find((f) => f.startsWith(mapName));
if (mapFile) {
  const trace = parseTrace(readFileSync(join(dir, mapFile), "utf8"), mapFile);
  const { result: map } = await replayToPeak(trace, (heap) => pageMap(heap));
  svgs["memory-map.svg"] = memoryMap(map, `wasm-slab's heap at the peak of ${mapName} (${map.owner.length} pages)`);
}

// ---- 3. worst class rounding -------------------------------------------------------------------------
// The classes themselves: the fine set chosen explicitly, so no block is a loan from a larger class (the
// default set lends a class's first blocks: assembly/kmalloc.ts borrow).
{
  const heap = await createAllocator();
  heap.setMallocClasses("fine");
  let worst = 0, at = 0;
  for (let n = 128; n <= heap.L.KMALLOC_MAX; n++) {
    const p = heap.malloc(n);
    const r = (heap.usableSize(p) - n) / n;
    heap.free(p);
    if (r > worst) { worst = r; at = n; }
  }
  console.log(`\nworst class rounding from 128 B to ${heap.L.KMALLOC_MAX} B: ${fmt(100 * worst, 2)}% (at ${at} B) — goal ≤ 12.5%: ${worst <= 0.125 ? "reached" : "NOT reached"}`);
  figures.push({ name: "worst class rounding 128 B..threshold", value: 100 * worst, unit: "%", goal: "≤ 12.5", reached: worst <= 0.125 });
}

// ---- 4. utilization against dlmalloc ----------------------------------------------------------------
const peers = values["no-peers"] ? null : buildPeers();
if (peers) {
  const util = utilizationTable(peers, dir);
  console.log("\nutilization: peak live ÷ (memory − __heap_base), C program, one replay each");
  table(["trace", "peak live B", "wasm-slab", "dlmalloc", "points", "footprint ×dl"], util.map((r) => [r.trace, r.slab.peakLive, fmt(100 * r.slab.utilization, 1) + "%", fmt(100 * r.dl.utilization, 1) + "%", fmt(100 * (r.slab.utilization - r.dl.utilization), 1), fmt(r.slab.footprint / r.dl.footprint, 2)]));
  const g = utilizationGoals(util);
  const meanOk = g.slabMean >= g.dlMean;
  console.log(`mean utilization: ${fmt(100 * g.slabMean, 1)}% vs dlmalloc ${fmt(100 * g.dlMean, 1)}% — goal ≥ dlmalloc: ${meanOk ? "reached" : "NOT reached"}`);
  console.log(`traces ≥ 1 MiB live within 3 points of dlmalloc: ${g.bigOk}/${g.big} — ${g.bigOk === g.big ? "reached" : "NOT reached"}`);
  console.log(`traces < 64 KiB live with a footprint ≤ 1.5× dlmalloc's: ${g.smallOk}/${g.small} — ${g.smallOk === g.small ? "reached" : "NOT reached"}`);
  figures.push({ name: "mean utilization", value: 100 * g.slabMean, unit: "%", baseline: 100 * g.dlMean, ratio: g.slabMean / g.dlMean, goal: "≥ dlmalloc", reached: meanOk });
  figures.push({ name: "traces ≥ 1 MiB live within 3 points", value: g.bigOk, unit: "traces", baseline: g.big, goal: `${g.big}/${g.big}`, reached: g.bigOk === g.big });
  figures.push({ name: "traces < 64 KiB live, footprint ≤ 1.5× dlmalloc", value: g.smallOk, unit: "traces", baseline: g.small, goal: `${g.small}/${g.small}`, reached: g.smallOk === g.small });
  for (const r of util) figures.push({ name: `utilization ${r.trace}`, value: 100 * r.slab.utilization, unit: "%", baseline: 100 * r.dl.utilization, ratio: r.slab.utilization / r.dl.utilization });
} else console.log("\n(no clang / wasi-libc, or --no-peers: utilization against dlmalloc skipped)");

// ---- results -----------------------------------------------------------------------------------------
if (outDir) {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "memory.json"), JSON.stringify({ section: "memory", figures }, null, 2));
  for (const [name, svg] of Object.entries(svgs)) writeFileSync(join(outDir, name), svg);
  console.log(`\nwrote memory.json and ${Object.keys(svgs).join(", ")} to ${outDir}`);
}
