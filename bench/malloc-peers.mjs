#!/usr/bin/env node
// malloc-peers.mjs — wasm-slab's malloc against its peers on the same C workloads (bench/c/mbench.c):
//   (a) C in Wasm with wasm-slab merged in (wasm-merge + wasm-opt, scripts/merge-c.mjs)
//   (b) C in Wasm with wasi-libc's dlmalloc
//   (c) C in Wasm with AssemblyScript's own TLSF (bench/c/tlsf-peer.ts, merged the same way as (a))
//   (d) native gcc -O2 with glibc, and with jemalloc / mimalloc through LD_PRELOAD
//   (e) C in Wasm with a bump allocator that never frees (bench/c/bump.c): the cost floor, context only
// The tools and libraries the peers need are installed with apt-get when missing and running as root
// (bench/c/build.mjs, as .ci/run installs clang); otherwise the benchmark names exactly what is missing and
// stops (exit 2), unless --allow-missing, which runs without those peers and says so in the results.
// Workloads: "mix" (a malloc/free mix, no payload work) and every trace of ../shared/traces replayed
// with payload fill and checks. Time is each run's CPU time (mbench.c's cpu clock; every peer runs
// single-threaded), so a peer that the shared machine's other load descheduled is not charged for that:
// with three builds running beside it, the per-run ratio's spread (max ÷ min of 9) fell from 1.5-8.3 to
// 1.5-2.3 on the same traces; the wall clock of the same runs is reported beside it for context.
// Each figure is the median of --runs runs (default 9), the peers back to back per workload
// (so machine noise hits them alike); ratios are between peers of the same run set. Nine, not five: one
// build's CPU time on one trace spreads by up to 1.5x from process to process here (random2-bal, 42
// replays: 0.156-0.230 s for dlmalloc's build, 0.163-0.257 s for ours), and the lowest-trace figure is the
// minimum of 17 such medians, which a small run count biases low (bench/PROFILE.md, session 13). The Wasm peers run
// TurboFan-only (bench/wasm-run.mjs, wasmRunFlags: with V8's default tiering the replay loop never left
// the baseline compiler; bench/PROFILE.md).
// Utilization per trace (Wasm peers): peak live payload / (memory size − __heap_base) after one
// replay on a fresh instance, i.e. every byte the allocator took from the engine.
//
//   node bench/malloc-peers.mjs [--runs N] [--mix-ops N] [--traces DIR] [--only t1,t2] [--allow-missing] [--json]
//   (npm run bench runs it as "malloc"; with WASM_SLAB_BENCH_DIR set it writes malloc.json there)
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fmt, median, progress, table, writeSection } from "./harness.mjs";
import { buildNative, buildWasmPeers, ensurePeerTools, nativeLib } from "./c/build.mjs";
import { wasmRunFlags, wasmRunner } from "./wasm-run.mjs";
import { traceReps } from "./util-peers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "9" },
    "mix-ops": { type: "string", default: "5000000" },
    traces: { type: "string" },
    only: { type: "string" },
    "allow-missing": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const mixOps = Number(values["mix-ops"]);
const traceDir = [values.traces, process.env.WASM_SLAB_TRACES, join(root, "..", "shared", "traces"), join(root, "..", "..", "shared", "traces")].find(
  (d) => d && existsSync(d),
);
const only = values.only ? values.only.split(",") : null;
const traceFiles = traceDir ? readdirSync(traceDir).filter((f) => f.endsWith(".rep") && (!only || only.includes(f.replace(".rep", "")))).sort() : [];
const log = (...a) => { if (!values.json) console.log(...a); };

// ---- tools and builds -------------------------------------------------------------------------------------
const missing = ensurePeerTools(["wasm", "gcc", "jemalloc", "mimalloc"], (m) => log(m));
if (missing.length) {
  const pkgs = [...new Set(missing.flatMap((m) => m.pkgs))].join(" ");
  const why = process.getuid?.() === 0 ? "apt-get could not install them" : "not running as root, so the benchmark cannot install them";
  console.error(`malloc-peers: missing ${missing.map((m) => m.what).join("; ")} (${why}).\n  install with: apt-get install -y --no-install-recommends ${pkgs}`);
  if (!values["allow-missing"]) process.exit(2);
  console.error("  --allow-missing: running without those peers");
}
const lacks = (k) => missing.some((m) => m.key === k);
if (!existsSync(join(root, "dist", "slab-merge.wasm"))) {
  console.error("malloc-peers: dist/slab-merge.wasm is missing (npm run build)");
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), "malloc-peers-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true })); // every way out: end, process.exit, a throw
const peers = []; // { name, key, kind: "wasm"|"native", file, env? }
if (!lacks("wasm")) {
  const w = buildWasmPeers(dir);
  peers.push({ name: "wasm-slab (Wasm, merged)", key: "slab", kind: "wasm", file: w.slab });
  peers.push({ name: "dlmalloc (Wasm, wasi-libc)", key: "dl", kind: "wasm", file: w.dl });
  peers.push({ name: "AssemblyScript TLSF (Wasm, merged)", key: "tlsf", kind: "wasm", file: w.tlsf });
  peers.push({ name: "bump, never frees (Wasm)", key: "bump", kind: "wasm", file: w.bump });
}
if (!lacks("gcc")) {
  const exe = buildNative(dir);
  peers.push({ name: "glibc (native)", key: "glibc", kind: "native", file: exe });
  for (const [key, lib] of [["jemalloc", "libjemalloc.so.2"], ["mimalloc", "libmimalloc.so.2"]]) {
    if (!lacks(key)) peers.push({ name: `${key} (native, LD_PRELOAD)`, key, kind: "native", file: exe, env: { LD_PRELOAD: nativeLib(lib) } });
  }
}

// ---- running one peer -------------------------------------------------------------------------------
function runWasm(file, args) {
  const r = spawnSync(process.execPath, [...wasmRunFlags, wasmRunner, file, traceDir ?? "", "--", ...args], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${file} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  const m = /footprint (\d+)/.exec(r.stdout);
  return { text: r.stdout, footprint: Number(m[1]) };
}
function runNative(peer, args) {
  const r = spawnSync(peer.file, args, { encoding: "utf8", env: { ...process.env, ...(peer.env ?? {}) } });
  if (r.status !== 0) throw new Error(`${peer.name} ${args.join(" ")}: ${r.stderr}`);
  return { text: r.stdout, footprint: 0 };
}
const run = (peer, args) => (peer.kind === "wasm" ? runWasm(peer.file, args) : runNative(peer, args));
// Each Wasm run is its own process (wasmRunFlags, see wasm-run.mjs); native runs are processes too.

function parseTraceLines(text) {
  const out = {};
  for (const line of text.split("\n")) {
    const m = /^trace (\S+) ops=(\d+) reps=(\d+) seconds=([\d.]+) cpu=([\d.]+) peak_live=(\d+) errors=(\d+)/.exec(line);
    if (m) out[m[1]] = { ops: +m[2], reps: +m[3], wall: +m[4], cpu: +m[5], peakLive: +m[6], errors: +m[7] };
  }
  return out;
}

// Repetitions per trace (util-peers traceReps): about 200k operations per timed sample; the bump peer
// (which never frees) gets at most what keeps its memory under ~512 MiB.
const traceInfo = traceFiles.map((f) => {
  const lines = readFileSync(join(traceDir, f), "utf8").split("\n").slice(4).filter(Boolean);
  return { file: join(traceDir, f), name: f, ...traceReps(lines) };
});

// ---- measure ----------------------------------------------------------------------------------------
const mix = Object.fromEntries(peers.map((p) => [p.key, []]));
const tput = Object.fromEntries(peers.map((p) => [p.key, Object.fromEntries(traceInfo.map((t) => [t.name, []]))]));
// every figure is CPU time (mbench's cpu clock): a peer descheduled by other load is not charged for it;
// the wall clock of the same runs is kept for context (mixWall, tputWall: the JSON's "wall")
const mixWall = Object.fromEntries(peers.map((p) => [p.key, []]));
const tputWall = Object.fromEntries(peers.map((p) => [p.key, Object.fromEntries(traceInfo.map((t) => [t.name, []]))]));
const errors = [];
const bar = progress("peers × (mix + traces)", runs);
// Run r measures every workload once per peer, the peers back to back for each workload (their order
// rotated run by run), so the samples a ratio compares are a second apart, not the length of a whole
// peer's pass: the drift of this shared machine then hits both sides of a ratio alike.
for (let r = 0; r < runs; r++) {
  const order = peers.map((_, i) => peers[(i + r) % peers.length]);
  for (const peer of order) {
    const n = peer.key === "bump" ? Math.min(mixOps, 1_000_000) : mixOps;
    const m = /ns_per_op=([\d.]+) cpu_ns_per_op=([\d.]+)/.exec((run(peer, ["mix", String(n)])).text);
    mix[peer.key].push(Number(m[2]));
    mixWall[peer.key].push(Number(m[1]));
  }
  for (const t of traceInfo) {
    for (const peer of order) {
      const reps = peer.key === "bump" ? t.bumpReps : t.reps;
      const res = parseTraceLines((run(peer, ["traces", String(reps), t.file])).text)[t.name];
      if (!res) throw new Error(`${peer.name}: no result for ${t.name}`);
      if (res.errors) errors.push(`${peer.name} ${t.name}: ${res.errors} payload/alignment errors`);
      tput[peer.key][t.name].push((res.ops * res.reps) / res.cpu);
      tputWall[peer.key][t.name].push((res.ops * res.reps) / res.wall);
    }
  }
  bar.tick();
}
bar.done();
const util = {};
for (const peer of peers.filter((p) => p.kind === "wasm")) {
  util[peer.key] = {};
  for (const t of traceInfo) {
    const { text, footprint } = runWasm(peer.file, ["traces", "1", t.file]);
    const res = parseTraceLines(text)[t.name];
    util[peer.key][t.name] = { peakLive: res.peakLive, footprint, utilization: res.peakLive / footprint };
  }
}

// ---- report -----------------------------------------------------------------------------------------
// Every ratio is taken inside one run (the peers of run r were measured back to back), then the median
// over the runs: a drift of the machine between runs cancels out.
const geomean = (xs) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
const has = (k) => peers.some((p) => p.key === k);
const mixMed = Object.fromEntries(Object.entries(mix).map(([k, v]) => [k, median(v)]));
const traceMed = Object.fromEntries(Object.entries(tput).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([t, xs]) => [t, median(xs)]))]));
const geo = Object.fromEntries(Object.entries(traceMed).map(([k, v]) => [k, geomean(Object.values(v))]));
const perRun = (f) => median(Array.from({ length: runs }, (_, r) => f(r)));
// throughput ratio a ÷ b of one trace, and of the geomean over traces, per run
const traceRatio = (a, b, t) => perRun((r) => tput[a][t][r] / tput[b][t][r]);
const geoRatio = (a, b) => perRun((r) => geomean(traceInfo.map((t) => tput[a][t.name][r] / tput[b][t.name][r])));
const mixRatio = (a, b) => perRun((r) => mix[a][r] / mix[b][r]); // time a ÷ time b

const figures = [];
// a ratio figure (the contract of bench/harness.mjs): goal a number, better "higher" or "lower"
const figure = (name, ratio, baseline, goal, better) => figures.push({ name, value: ratio, unit: "×", baseline, ratio, ...(goal === undefined ? {} : { goal, better }) });
if (has("slab") && has("dl")) figure("malloc/free mix: dlmalloc's time ÷ ours", mixRatio("dl", "slab"), "dlmalloc (Wasm)", 3, "higher");
if (has("slab") && has("glibc")) figure("malloc/free mix: our time ÷ native glibc's", mixRatio("slab", "glibc"), "glibc (native)", 1, "lower");
if (has("slab") && has("tlsf")) figure("malloc/free mix: AS TLSF's time ÷ ours", mixRatio("tlsf", "slab"), "AS TLSF (Wasm)");
let worst = null;
if (has("slab") && has("dl") && traceInfo.length) {
  const per = traceInfo.map((t) => [t.name.replace(".rep", ""), traceRatio("slab", "dl", t.name)]);
  worst = per.reduce((a, b) => (b[1] < a[1] ? b : a));
  figure("trace replays: geomean ops/s ÷ dlmalloc's", geoRatio("slab", "dl"), "dlmalloc (Wasm)", 1.3, "higher");
  figure(`trace replays: lowest trace ops/s ÷ dlmalloc's (${worst[0]})`, worst[1], "dlmalloc (Wasm)", 0.9, "higher");
  for (const [t, x] of per) figures.push({ name: `trace ${t}: ops/s ÷ dlmalloc's`, value: x, unit: "×", baseline: "dlmalloc (Wasm)", ratio: x, perTrace: true });
}
if (has("slab") && has("tlsf") && traceInfo.length) figure("trace replays: geomean ops/s ÷ AS TLSF's", geoRatio("slab", "tlsf"), "AS TLSF (Wasm)");
if (util.slab && util.dl) {
  const within = traceInfo.filter((t) => util.slab[t.name].utilization >= util.dl[t.name].utilization - 0.05).length;
  figures.push({ name: "traces with utilization within 5 points of dlmalloc", value: within, unit: "traces", baseline: "all traces", baselineValue: traceInfo.length, goal: 1, better: "higher" });
}
// the wall clock of the same runs, for context: the same ratios taken with mbench's wall clock
const wall = has("slab") && has("dl")
  ? {
      mix: Object.fromEntries(Object.entries(mixWall).map(([k, v]) => [k, median(v)])),
      mixDlOverOurs: perRun((r) => mixWall.dl[r] / mixWall.slab[r]),
      ...(traceInfo.length ? { geomeanOursOverDl: perRun((r) => geomean(traceInfo.map((t) => tputWall.slab[t.name][r] / tputWall.dl[t.name][r]))) } : {}),
    }
  : null;
const result = { section: "malloc", runs, clock: "cpu", mixOps, peers: peers.map(({ key, name }) => ({ key, name })), missing, figures, mix: mixMed, traces: traceMed, geomean: geo, wall, utilization: util, errors };
const traceNames = traceInfo.map((t) => t.name.replace(".rep", ""));
writeSection("malloc", {
  ...result,
  charts: Object.keys(util).length
    ? [{
        id: "utilization", kind: "bars", title: "Utilization per trace: peak live payload / bytes taken from the engine (C in Wasm)",
        categories: traceNames, yLabel: "utilization", unit: "%", yMax: 100,
        series: Object.keys(util).map((k) => ({ name: peers.find((p) => p.key === k).name, values: traceInfo.map((t) => 100 * util[k][t.name].utilization) })),
      }]
    : [],
});

if (values.json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const goal = (ok) => (ok ? "reached" : "NOT reached");
  console.log(`\ntimes are each process's CPU time (mbench's cpu clock: time spent descheduled by other load on a shared machine is not in it)`);
  if (wall) console.log(`wall clock of the same runs, for context: mix dlmalloc ÷ ours ${fmt(wall.mixDlOverOurs)}×${wall.geomeanOursOverDl ? `, trace geomean ours ÷ dlmalloc ${fmt(wall.geomeanOursOverDl)}×` : ""}`);
  console.log(`\nmix: ${mixOps} malloc/free operations (bump: ≤ 1e6), CPU ns per operation, median of ${runs}`);
  table(["peer", "ns/op", "÷ wasm-slab (per run)"], peers.map((p) => [p.name, fmt(mixMed[p.key]), has("slab") ? fmt(mixRatio(p.key, "slab")) + "×" : "-"]));

  console.log(`\ntraces with payload fill and checks: million ops per CPU second, median of ${runs}; ratios per run, then median`);
  const vs = ["dl", "tlsf", "glibc"].filter(has);
  table(
    ["trace", ...peers.map((p) => p.key), ...vs.map((k) => `slab/${k}`)],
    [
      ...traceInfo.map((t) => [t.name.replace(".rep", ""), ...peers.map((p) => fmt(traceMed[p.key][t.name] / 1e6)), ...vs.map((k) => (has("slab") ? fmt(traceRatio("slab", k, t.name)) + "×" : "-"))]),
      ["geomean", ...peers.map((p) => fmt(geo[p.key] / 1e6)), ...vs.map((k) => (has("slab") ? fmt(geoRatio("slab", k)) + "×" : "-"))],
    ],
  );
  console.log("\ngoals");
  const ratioFigures = figures.filter((f) => f.unit === "×" && !f.perTrace);
  const reached = (f) => (f.better === "higher" ? f.ratio >= f.goal : f.ratio <= f.goal);
  table(["figure", "ratio", "goal", "reached"], ratioFigures.map((f) => [f.name, fmt(f.ratio) + "×", f.goal === undefined ? "(context)" : `${f.better === "higher" ? "≥" : "≤"} ${f.goal}×`, f.goal === undefined ? "-" : goal(reached(f))]));
  if (missing.length) console.log(`\nnot measured (missing): ${missing.map((m) => m.what).join("; ")}`);

  if (util.slab && util.dl) {
    console.log("\nutilization: peak live payload / bytes taken from the engine (memory − __heap_base), one replay");
    let met = 0;
    table(
      ["trace", "peak live B", "wasm-slab", "dlmalloc", "AS TLSF", "bump", "points vs dl", "within 5"],
      traceInfo.map((t) => {
        const a = util.slab[t.name].utilization;
        const b = util.dl[t.name].utilization;
        const pts = 100 * (a - b);
        if (pts >= -5) met++;
        const u = (k) => (util[k] ? fmt(100 * util[k][t.name].utilization, 1) + "%" : "-");
        return [t.name.replace(".rep", ""), util.slab[t.name].peakLive, u("slab"), u("dl"), u("tlsf"), u("bump"), fmt(pts, 1), pts >= -5 ? "yes" : "NO"];
      }),
    );
    console.log(`goal: utilization within 5 points of dlmalloc on every trace — ${goal(met === traceInfo.length)} (${met}/${traceInfo.length} traces)`);
  }
  if (errors.length) console.log("\nERRORS:\n" + errors.join("\n"));
}
process.exit(errors.length ? 1 : 0);
