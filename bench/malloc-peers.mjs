#!/usr/bin/env node
// malloc-peers.mjs — wasm-slab's malloc against its peers on the same C workloads (bench/c/mbench.c):
//   (a) C in Wasm with wasm-slab merged in (wasm-merge + wasm-opt, scripts/merge-c.mjs)
//   (b) C in Wasm with wasi-libc's dlmalloc
//   (c) native gcc -O2 with glibc, and with jemalloc / mimalloc through LD_PRELOAD (when installed)
//   (d) C in Wasm with a bump allocator that never frees (bench/c/bump.c): the cost floor, context only
// Workloads: "mix" (a malloc/free mix, no payload work) and every trace of ../shared/traces replayed
// with payload fill and checks. Each figure is the median of --runs runs, the peers interleaved run by run
// (so machine noise hits them alike); ratios are between peers of the same run set.
// Utilization per trace (Wasm peers): peak live payload / (memory size − __heap_base) after one
// replay on a fresh instance, i.e. every byte the allocator took from the engine.
//
//   node bench/malloc-peers.mjs [--runs N] [--mix-ops N] [--traces DIR] [--json]
//   (npm run bench runs it as "malloc"; needs clang + wasi-libc for the Wasm peers, gcc for native)
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fmt, median, table } from "./harness.mjs";
import { mergeC } from "../scripts/merge-c.mjs";
import { wasmRunFlags, wasmRunner } from "./wasm-run.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    "mix-ops": { type: "string", default: "5000000" },
    traces: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const mixOps = Number(values["mix-ops"]);
const traceDir = [values.traces, process.env.WASM_SLAB_TRACES, join(root, "..", "shared", "traces"), join(root, "..", "..", "shared", "traces")].find(
  (d) => d && existsSync(d),
);
const traceFiles = traceDir ? readdirSync(traceDir).filter((f) => f.endsWith(".rep")).sort() : [];

const has = (cmd, args = ["--version"]) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
const log = (...a) => { if (!values.json) console.log(...a); };

// ---- build ----------------------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), "malloc-peers-"));
const src = join(here, "c", "mbench.c");
const peers = []; // { name, kind: "wasm"|"native", file, env? }
if (has("clang") && existsSync("/usr/lib/wasm32-wasi/libc.a")) {
  const wasi = ["--target=wasm32-wasi", "-O2", "-Wl,--export=__heap_base"];
  execFileSync("clang", [...wasi, `-I${join(root, "c")}`, src, join(root, "c", "slab_shim.c"), "-o", join(dir, "own.wasm")]);
  mergeC(join(dir, "own.wasm"), join(dir, "slab.wasm"));
  execFileSync("clang", [...wasi, src, "-o", join(dir, "dlmalloc.wasm")]);
  execFileSync("clang", [...wasi, src, join(here, "c", "bump.c"), "-o", join(dir, "bump.wasm")]);
  peers.push({ name: "wasm-slab (Wasm, merged)", key: "slab", kind: "wasm", file: join(dir, "slab.wasm") });
  peers.push({ name: "dlmalloc (Wasm, wasi-libc)", key: "dl", kind: "wasm", file: join(dir, "dlmalloc.wasm") });
} else log("(no clang / wasi-libc: Wasm peers skipped; apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)");
if (has("gcc")) {
  execFileSync("gcc", ["-O2", src, "-o", join(dir, "mbench")]);
  peers.push({ name: "glibc (native)", key: "glibc", kind: "native", file: join(dir, "mbench") });
  for (const [key, lib] of [["jemalloc", "libjemalloc.so.2"], ["mimalloc", "libmimalloc.so.2"]]) {
    const path = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"].map((d) => join(d, lib)).find(existsSync);
    if (path) peers.push({ name: `${key} (native, LD_PRELOAD)`, key, kind: "native", file: join(dir, "mbench"), env: { LD_PRELOAD: path } });
    else log(`(${lib} not installed: ${key} skipped; apt-get install libjemalloc2 libmimalloc2.0)`);
  }
} else log("(no gcc: native peers skipped)");
if (peers.some((p) => p.key === "slab")) peers.push({ name: "bump, never frees (Wasm)", key: "bump", kind: "wasm", file: join(dir, "bump.wasm") });

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
// Each Wasm run is its own process (node --single-threaded, see wasm-run.mjs); native runs are processes too.

function parseTraceLines(text) {
  const out = {};
  for (const line of text.split("\n")) {
    const m = /^trace (\S+) ops=(\d+) reps=(\d+) seconds=([\d.]+) peak_live=(\d+) errors=(\d+)/.exec(line);
    if (m) out[m[1]] = { ops: +m[2], reps: +m[3], seconds: +m[4], peakLive: +m[5], errors: +m[6] };
  }
  return out;
}

// Repetitions per trace: about 200k operations per timed sample; the bump peer (which never frees)
// gets at most what keeps its memory under ~512 MiB.
const traceInfo = traceFiles.map((f) => {
  const text = readFileSync(join(traceDir, f), "utf8");
  const lines = text.split("\n").slice(4).filter(Boolean);
  let allocated = 0;
  for (const l of lines) { const p = l.split(/\s+/); if (p[0] !== "f") allocated += Number(p[2]); }
  // ~200k operations, but at most ~256 MiB of payload filled per sample (corners allocates 50 MiB)
  const reps = Math.max(1, Math.min(Math.ceil(200_000 / Math.max(1, lines.length)), Math.floor((256 << 20) / Math.max(1, allocated))));
  return { file: join(traceDir, f), name: f, reps, bumpReps: Math.max(1, Math.min(reps, Math.floor((512 << 20) / Math.max(1, allocated)))) };
});

// ---- measure ----------------------------------------------------------------------------------------
const mix = Object.fromEntries(peers.map((p) => [p.key, []]));
const tput = Object.fromEntries(peers.map((p) => [p.key, Object.fromEntries(traceInfo.map((t) => [t.name, []]))]));
const errors = [];
for (let r = 0; r < runs; r++) {
  for (const peer of peers) {
    const n = peer.key === "bump" ? Math.min(mixOps, 1_000_000) : mixOps;
    const m = /ns_per_op=([\d.]+)/.exec((run(peer, ["mix", String(n)])).text);
    mix[peer.key].push(Number(m[1]));
    for (const t of traceInfo) {
      const reps = peer.key === "bump" ? t.bumpReps : t.reps;
      const res = parseTraceLines((run(peer, ["traces", String(reps), t.file])).text)[t.name];
      if (!res) throw new Error(`${peer.name}: no result for ${t.name}`);
      if (res.errors) errors.push(`${peer.name} ${t.name}: ${res.errors} payload/alignment errors`);
      tput[peer.key][t.name].push((res.ops * res.reps) / res.seconds);
    }
  }
  if (!values.json) process.stderr.write(`run ${r + 1}/${runs} done\n`);
}
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
const med = (xs) => median(xs);
const geomean = (xs) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
const mixMed = Object.fromEntries(Object.entries(mix).map(([k, v]) => [k, med(v)]));
const traceMed = Object.fromEntries(Object.entries(tput).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([t, xs]) => [t, med(xs)]))]));
const geo = Object.fromEntries(Object.entries(traceMed).map(([k, v]) => [k, geomean(Object.values(v))]));
const result = { runs, mixOps, mix: mixMed, traces: traceMed, geomean: geo, utilization: util, errors };

if (values.json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const goal = (ok) => (ok ? "reached" : "NOT reached");
  console.log(`\nmix: ${mixOps} malloc/free operations (bump: ≤ 1e6), ns per operation, median of ${runs}`);
  table(["peer", "ns/op", "vs wasm-slab"], peers.map((p) => [p.name, fmt(mixMed[p.key]), fmt(mixMed[p.key] / mixMed.slab) + "×"]));
  if (mixMed.slab && mixMed.dl) console.log(`goal (a) ≥ 3× faster than (b): ${fmt(mixMed.dl / mixMed.slab)}× — ${goal(mixMed.dl / mixMed.slab >= 3)}`);
  if (mixMed.slab && mixMed.glibc) console.log(`goal (a) no slower than native glibc: ${fmt(mixMed.slab / mixMed.glibc)}× glibc's time — ${goal(mixMed.slab <= mixMed.glibc)}`);

  console.log(`\ntraces with payload fill and checks: million ops/s, median of ${runs}`);
  table(
    ["trace", ...peers.map((p) => p.key), "slab/dl"],
    [
      ...traceInfo.map((t) => [t.name.replace(".rep", ""), ...peers.map((p) => fmt(traceMed[p.key][t.name] / 1e6)), traceMed.slab ? fmt(traceMed.slab[t.name] / traceMed.dl[t.name]) + "×" : "-"]),
      ["geomean", ...peers.map((p) => fmt(geo[p.key] / 1e6)), geo.slab ? fmt(geo.slab / geo.dl) + "×" : "-"],
    ],
  );
  if (geo.slab && geo.dl) console.log(`goal (a) geomean ≥ 1.3× (b): ${fmt(geo.slab / geo.dl)}× — ${goal(geo.slab / geo.dl >= 1.3)}`);

  if (util.slab && util.dl) {
    console.log("\nutilization: peak live payload / bytes taken from the engine (memory − __heap_base), one replay");
    let met = 0;
    table(
      ["trace", "peak live B", "wasm-slab", "dlmalloc", "bump", "points", "within 5"],
      traceInfo.map((t) => {
        const a = util.slab[t.name].utilization;
        const b = util.dl[t.name].utilization;
        const pts = 100 * (a - b);
        if (pts >= -5) met++;
        return [t.name.replace(".rep", ""), util.slab[t.name].peakLive, fmt(100 * a, 1) + "%", fmt(100 * b, 1) + "%", util.bump ? fmt(100 * util.bump[t.name].utilization, 1) + "%" : "-", fmt(pts, 1), pts >= -5 ? "yes" : "NO"];
      }),
    );
    console.log(`goal: utilization within 5 points of dlmalloc on every trace — ${goal(met === traceInfo.length)} (${met}/${traceInfo.length} traces)`);
  }
  if (errors.length) console.log("\nERRORS:\n" + errors.join("\n"));
}
process.exit(errors.length ? 1 : 0);
