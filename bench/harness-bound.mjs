#!/usr/bin/env node
// harness-bound.mjs — how fast a trace replay could be with an allocator that costs nothing: the ceiling of
// issue 11's trace rows (ours ÷ dlmalloc ops/s) on bench/malloc-peers.mjs's harness, measured in time.
//
// Owns: nothing shared; a standalone measurement (not a bench/run.mjs section).
// Usage: node bench/harness-bound.mjs [--runs N] [--only t1,t2,mix] [--mix-ops N] [--json]   (after `npm run build`; needs
//   clang + wasi-libc like malloc-peers.mjs)
// Calls: bench/c/build.mjs (the Wasm peers), bench/wasm-run.mjs (one process per run), util-peers.mjs
//   (traceReps: the same repetitions as malloc-peers).
//
// Per trace and run, four processes, their order rotated run by run: wasm-slab's and dlmalloc's replays as
// malloc-peers times them (`mbench traces`: a new heap, its first replay's growth and first touches of
// memory included), and each one's `mbench oracle` (bench/c/mbench.c): on a heap warmed by three untimed
// replays, the same replays timed through the allocator ("warm"), then at the addresses that allocator
// gave, with no allocator call at all ("oracle": malloc a load, free nothing, a moving realloc a memmove).
// Every time is the process's CPU time.
//   bound (dl layout)    dlmalloc's warm time ÷ the oracle at dlmalloc's layout: an allocator of zero cost
//                        that put every block where dlmalloc does would be this much faster than dlmalloc
//   bound (slab layout)  dlmalloc's warm time ÷ the oracle at wasm-slab's layout. It crosses builds: the
//                        merged build's program code is re-optimized with the allocator (merge-c), so its
//                        oracle is not dlmalloc's program code (±4% on expr-bal, bench/PROFILE.md "Where our
//                        layout costs the program time"); read the ceiling from the dl-layout column
//   ours, warm           dlmalloc's warm time ÷ wasm-slab's
//   ours, as the row     dlmalloc's time ÷ wasm-slab's as malloc-peers measures it (a new heap each sample)
//   outside its oracle   wasm-slab's warm time not in its oracle, as a share: the allocator's own time
//   allocator ÷ dl's     wasm-slab's warm time outside its oracle ÷ dlmalloc's: the two allocators' own
//                        time, each without the program's work at its layout
// Medians of the per-run ratios; the geomeans are over the traces. The bound answers whether a goal on
// this harness (geomean ≥ 1.3×) is within reach of any allocator, and how far ours is from it.
// The mix (issue 11's row "dlmalloc's time ÷ ours ≥ 3×"; unless --only names traces without "mix"): per run,
// `mbench mix` of wasm-slab's build, dlmalloc's and zero's (bench/c/zero.c: a malloc and free that cost
// nothing, LTO-inlined into the loop as merge-c inlines ours), order rotated; it prints dlmalloc ÷ zero (the
// ceiling of the row: no allocator passes it on this harness), dlmalloc ÷ ours, and ours ÷ zero.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fmt, median, progress, table } from "./harness.mjs";
import { buildWasmPeers, buildZeroPeer, ensurePeerTools } from "./c/build.mjs";
import { wasmRunFlags, wasmRunner } from "./wasm-run.mjs";
import { traceDir as findTraceDir, traceReps } from "./util-peers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const { values } = parseArgs({
  options: { runs: { type: "string", default: "5" }, only: { type: "string" }, "mix-ops": { type: "string", default: "5000000" }, json: { type: "boolean", default: false } },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 999) {
  console.error(`harness-bound: --runs ${values.runs}: expected a whole number from 1 to 999`);
  process.exit(2);
}
const traceDir = findTraceDir();
if (!traceDir) {
  console.error("harness-bound: no trace directory (../shared/traces or WASM_SLAB_TRACES)");
  process.exit(2);
}
if (ensurePeerTools(["wasm"], console.error).length) {
  console.error("harness-bound: clang, wasm-ld and wasi-libc are needed (see bench/c/build.mjs)");
  process.exit(2);
}
if (!existsSync(join(root, "dist", "slab-merge.wasm"))) {
  console.error("harness-bound: dist/slab-merge.wasm is missing (npm run build)");
  process.exit(2);
}
const only = values.only ? values.only.split(",") : null;
// corners fills 50 MiB a replay: its payload is all of it, as for every allocator; left out as in README's bound
const traces = readdirSync(traceDir).filter((f) => f.endsWith(".rep") && f !== "corners.rep" && (!only || only.includes(f.replace(".rep", "")))).sort()
  .map((f) => ({ name: f.replace(".rep", ""), file: join(traceDir, f), ...traceReps(readFileSync(join(traceDir, f), "utf8").split("\n").slice(4).filter(Boolean)) }));

const dir = mkdtempSync(join(tmpdir(), "harness-bound-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const builds = buildWasmPeers(dir);
const peers = [{ key: "slab", file: builds.slab }, { key: "dl", file: builds.dl }];
const withMix = !only || only.includes("mix");
const mixPeers = withMix ? [...peers, { key: "zero", file: buildZeroPeer(dir) }] : [];
const mixOps = values["mix-ops"];

/** One process: `mbench mix N`; its CPU ns per operation. */
function mixNs(file) {
  const r = spawnSync(process.execPath, [...wasmRunFlags, wasmRunner, file, "", "--", "mix", mixOps], { encoding: "utf8" });
  const m = /cpu_ns_per_op=([\d.]+)/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`${file} mix: exited ${r.status}: ${r.stderr}`);
  return +m[1];
}

/** One process: `mbench traces|oracle reps trace`; its CPU seconds: { cpu } or { warm, oracle }. */
function timesOf(file, mode, t) {
  const r = spawnSync(process.execPath, [...wasmRunFlags, wasmRunner, file, traceDir, "--", mode, String(t.reps), t.file], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${file} ${mode} ${t.name}: exited ${r.status}: ${r.stderr}`);
  const m = mode === "traces"
    ? /^trace \S+ ops=\d+ reps=\d+ seconds=[\d.]+ cpu=([\d.]+) peak_live=\d+ errors=(\d+)/m.exec(r.stdout)
    : /^oracle \S+ ops=\d+ reps=\d+ warm_seconds=[\d.]+ warm_cpu=([\d.]+) seconds=[\d.]+ cpu=([\d.]+) errors=(\d+)/m.exec(r.stdout);
  if (!m) throw new Error(`${t.name}: no ${mode} line in ${r.stdout}`);
  const errors = +m[m.length - 1];
  if (errors !== 0) throw new Error(`${t.name}: ${mode} of ${file} found ${errors} payload errors`);
  return mode === "traces" ? { cpu: +m[1] } : { warm: +m[1], oracle: +m[2] };
}

const jobs = [];
for (const p of peers) for (const mode of ["traces", "oracle"]) jobs.push({ p, mode });
const ratios = Object.fromEntries(traces.map((t) => [t.name, { dlBound: [], slabBound: [], warm: [], row: [], share: [], alloc: [] }]));
const mix = { bound: [], ours: [], overZero: [], ns: { slab: [], dl: [], zero: [] } };
const bar = progress("harness bound", runs * (traces.length + (withMix ? 1 : 0)), { unit: "run" });
for (let run = 0; run < runs; run++) {
  if (withMix) {
    const ns = {};
    for (let j = 0; j < mixPeers.length; j++) { const p = mixPeers[(j + run) % mixPeers.length]; ns[p.key] = mixNs(p.file); }
    for (const k of Object.keys(ns)) mix.ns[k].push(ns[k]);
    mix.bound.push(ns.dl / ns.zero);
    mix.ours.push(ns.dl / ns.slab);
    mix.overZero.push(ns.slab / ns.zero);
    bar.tick("mix");
  }
  for (const t of traces) {
    const time = {};
    for (let j = 0; j < jobs.length; j++) {
      const { p, mode } = jobs[(j + run) % jobs.length];
      time[`${p.key}.${mode}`] = timesOf(p.file, mode, t);
    }
    const dl = time["dl.oracle"], slab = time["slab.oracle"];
    const r = ratios[t.name];
    r.dlBound.push(dl.warm / dl.oracle);
    r.slabBound.push(dl.warm / slab.oracle);
    r.warm.push(dl.warm / slab.warm);
    r.row.push(time["dl.traces"].cpu / time["slab.traces"].cpu);
    r.share.push(1 - slab.oracle / slab.warm);
    r.alloc.push((slab.warm - slab.oracle) / (dl.warm - dl.oracle));
    bar.tick(t.name);
  }
}

const rows = traces.map((t) => {
  const r = ratios[t.name];
  return { trace: t.name, reps: t.reps, dlBound: median(r.dlBound), slabBound: median(r.slabBound), warm: median(r.warm), row: median(r.row), share: median(r.share), alloc: median(r.alloc) };
});
const geo = (k) => Math.exp(rows.reduce((s, r) => s + Math.log(r[k]), 0) / rows.length);
const summary = rows.length ? { dlBound: geo("dlBound"), slabBound: geo("slabBound"), warm: geo("warm"), row: geo("row"), alloc: geo("alloc") } : null;
const mixRow = withMix ? { ops: Number(mixOps), bound: median(mix.bound), ours: median(mix.ours), oursOverZero: median(mix.overZero), ns: { slab: median(mix.ns.slab), dl: median(mix.ns.dl), zero: median(mix.ns.zero) } } : null;
if (values.json) {
  console.log(JSON.stringify({ runs, clock: "cpu", rows, geomean: summary, mix: mixRow }, null, 2));
} else {
  if (mixRow) {
    console.log(`\nthe ceiling of the mix row: mbench mix ${mixOps}, CPU ns per operation and ratios per run, median of ${runs}`);
    table(["build", "ns/op", "dlmalloc ÷ it"], [["zero-cost malloc/free (bench/c/zero.c)", fmt(mixRow.ns.zero), `${fmt(mixRow.bound)}× (the ceiling)`],
      ["wasm-slab (merged)", fmt(mixRow.ns.slab), `${fmt(mixRow.ours)}× (ours ÷ zero-cost ${fmt(mixRow.oursOverZero)}×)`], ["dlmalloc", fmt(mixRow.ns.dl), "1.00×"]]);
  }
  if (summary) console.log(`\nthe ceiling of the trace rows: dlmalloc's time ÷ a zero-cost allocator's (mbench oracle), CPU time, median of ${runs}`);
  if (summary) table(["trace", "reps", "bound (dl layout)", "bound (slab layout)", "ours, warm", "ours, as the row", "slab outside its oracle", "allocator ÷ dl's"],
    [...rows.map((r) => [r.trace, r.reps, `${fmt(r.dlBound)}×`, `${fmt(r.slabBound)}×`, `${fmt(r.warm)}×`, `${fmt(r.row)}×`, `${(r.share * 100).toFixed(0)}%`, `${fmt(r.alloc)}×`]),
      ["geomean", "", `${fmt(summary.dlBound)}×`, `${fmt(summary.slabBound)}×`, `${fmt(summary.warm)}×`, `${fmt(summary.row)}×`, "", `${fmt(summary.alloc)}×`]]);
}
