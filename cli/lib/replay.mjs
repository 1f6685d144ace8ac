// cli/lib/replay.mjs — replaying malloc-lab trace files on wasm-slab's malloc from JS, for
// `wasm-slab replay` (cli/replay.mjs) and the bench's replay section (bench/replay.mjs).
//
// Owns: one checked replay per file (checks, peak live payload, footprint, utilization, and the
// footprint breakdown when the heap has footprint()), then timed replays without checks (median ops/s).
// Entry points: replayFiles(files, opts) → results; replayTable(results) → [header, rows];
// breakdownRows(breakdown) → rows of a footprint breakdown. Calls: dist/index.js (parseTrace,
// replayTrace, createAllocator). heap.footprint() (bindings/footprint.ts) is feature-detected: heaps
// built before it existed give no breakdown.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { createAllocator, parseTrace, replayTrace } from "../../dist/index.js";
import { median } from "./format.mjs";

export const CLASS_SETS = ["fine", "kernel"];

async function freshHeap(classes) {
  const heap = await createAllocator({ reap: false });
  heap.setMallocClasses(classes);
  return heap;
}

/** Bytes the heap took from the engine (the header and the chunks grown). */
function taken(heap) {
  const s = heap.stats();
  return s.bytesGrown + s.headerBytes;
}

/**
 * Replay each file: one checked replay on a fresh heap, then `runs` timed replays (each repeats the trace
 * until it lasts ≥ minMs) on fresh heaps. onFile(i, n, name) is called before each file.
 * A file that cannot be read or parsed throws (with the file name).
 */
export async function replayFiles(files, { classes = "fine", runs = 5, minMs = 20, onFile } = {}) {
  if (!CLASS_SETS.includes(classes)) throw new RangeError(`classes '${classes}': expected ${CLASS_SETS.join(" or ")}`);
  const results = [];
  for (const [i, file] of files.entries()) {
    const name = basename(file).replace(/\.rep$/, "");
    onFile?.(i, files.length, name);
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new Error(`${file}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
    }
    const trace = parseTrace(text, name);
    const heap = await freshHeap(classes);
    let breakdown = null;
    const checked = replayTrace(heap, trace, {
      check: true,
      footprint: () => {
        // at the end of the trace, before the replayer frees what is still live
        if (typeof heap.footprint === "function") breakdown = heap.footprint();
        return taken(heap);
      },
    });
    const valid = heap.validate().ok;
    const samples = [];
    for (let r = 0; r < runs; r++) {
      const h = await freshHeap(classes);
      let reps = 0;
      const t0 = performance.now();
      do {
        replayTrace(h, trace, { check: false, footprint: () => 0 });
        reps++;
      } while (performance.now() - t0 < minMs);
      samples.push((reps * trace.count) / ((performance.now() - t0) / 1000));
    }
    results.push({
      trace: name,
      file,
      ops: trace.count,
      ok: checked.errors.length === 0 && valid,
      checks: checked.errors.length === 0 && valid ? "ok" : `FAILED: ${checked.errors[0] ?? "validate"}`,
      errors: checked.errors,
      opsPerSecond: runs > 0 ? median(samples) : null,
      peakLive: checked.peakLive,
      footprint: checked.footprint,
      utilization: checked.utilization,
      breakdown,
    });
  }
  return results;
}

/** The results as a table: [header, rows]. */
export function replayTable(results) {
  return [
    ["trace", "ops", "checks", "Mops/s (JS)", "peak live B", "footprint B", "utilization"],
    results.map((r) => [r.trace, r.ops, r.checks, r.opsPerSecond === null ? "-" : (r.opsPerSecond / 1e6).toFixed(2), r.peakLive, r.footprint, (100 * r.utilization).toFixed(1) + "%"]),
  ];
}

/** A footprint breakdown (any object of byte counts, nested one level) as rows [part, bytes, share]. The
 *  share is of `total` when the breakdown has one, else of the sum of the top-level numbers. */
export function breakdownRows(b) {
  const flat = [];
  for (const [k, v] of Object.entries(b ?? {})) {
    if (typeof v === "number") flat.push([k, v]);
    else if (v && typeof v === "object" && !Array.isArray(v)) for (const [k2, v2] of Object.entries(v)) if (typeof v2 === "number") flat.push([`${k}.${k2}`, v2]);
  }
  const total = typeof b?.total === "number" ? b.total : flat.filter(([k]) => !k.includes(".")).reduce((a, [, v]) => a + v, 0);
  return flat.map(([k, v]) => [k, v, total > 0 && k !== "total" ? ((100 * v) / total).toFixed(1) + "%" : ""]);
}
