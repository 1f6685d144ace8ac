#!/usr/bin/env node
// profile-malloc.mjs — where the time goes in the malloc path: wasm-slab merged into bench/c/mbench.c
// against wasi-libc's dlmalloc, on mbench's mix and on every trace of ../shared/traces (bench/PROFILE.md
// holds the finding and how to read it).
//
// Owns: the profiling builds and their reading; nothing here is a timed test or a goal figure.
// Entry point: `node bench/profile-malloc.mjs [--runs N] [--only mix,expr-bal,...] [--interval US]
//   [--ops N] [--mix-ops N] [--cachegrind] [--callgrind] [--cg-reps N] [--cg-peers slab,dl] [--no-inline] [--json]` (after
//   `npm run build`; needs clang + wasi-libc like bench/malloc-peers.mjs, and valgrind for --cachegrind and
//   --callgrind). `--runs 0` skips the sampled time profile (the counted run always happens).
// Calls: bench/c/build.mjs (the peer builds), scripts/merge-c.mjs (mergeC, optimizeMerged),
//   bench/wasm-run.mjs (one run per process, wasmRunFlags),
//   asc (a build of assembly/merged.ts that keeps its function names), binaryen.js (the counted build).
//
// Measurements, all on the same C program and the same workloads as malloc-peers.mjs:
//   1. Time: V8's sampling profiler (--cpu-prof) on a build identical to the benchmarked one except that
//      it keeps function names (asc --debug, wasm-merge/wasm-opt -g: same inlining, same function count).
//      Self time per Wasm function, engine time (memory.grow, traps into the runtime) charged to the Wasm
//      function that called it, samples pooled over --runs runs (slab and dlmalloc interleaved). Each
//      function falls in one category (CATEGORIES below); a category's share of the replay's samples times
//      the replay's own clock (mbench's seconds) gives its ns per trace operation.
//   2. Counts: a second build whose every allocator function (and the shim's malloc/free/realloc)
//      increments its own exported global on entry, added with binaryen.js after wasm-merge and before
//      wasm-opt, so the counts are exact calls of the source functions whatever gets inlined later.
//      With mbench's realloc line (calls, moved, bytes copied) they say how often each path runs.
//   3. With --cachegrind (slow: minutes per trace): each peer's replay under valgrind's cachegrind, once
//      with 1 repetition and once with 1 + --cg-reps; the difference is --cg-reps replays alone (node's
//      start-up, compilation and the trace parsing cancel out): instructions executed (Ir) and simulated
//      D1 / last-level data misses per trace operation. Deterministic, so it holds on a loaded machine
//      where wall-clock time does not.
//   4. With --callgrind (slower still): the same difference of two runs under callgrind with --dump-instr,
//      V8 writing a jitdump (--perf-prof): every instruction is charged to the Wasm function whose
//      TurboFan code holds it, and a call from Wasm into the engine (builtins, the runtime) to its Wasm
//      caller with its inclusive cost; Wasm-to-Wasm calls go through the module's jump table at the start
//      of its code space (readJitdump, callgrindRun). Instructions per trace operation by function and by
//      category, for both peers (--cg-peers: which ones; one only for an A/B of a change).
// The benchmarked build inlines malloc and free into their C callers (scripts/merge-c.mjs inlineAllocator),
// so their fast paths count as the program's ("replay", "mix") and only what they call counts as the
// allocator's: compare the whole replay's instructions (`total`) with dlmalloc's. `--no-inline` profiles a
// build without that step (what bench/PROFILE.md's per-function tables before session 9's merge measured).
// The program's own work (replay loop, payload memset, head/tail checks) is the same for both
// allocators; when it costs more under one of them, that is the price of where that allocator put the
// blocks (cache and TLB misses, first touches of new memory): the "program" column is the locality proxy.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import binaryen from "binaryen";
import { fmt, table } from "./harness.mjs";
import { mergeC, optimizeMerged } from "../scripts/merge-c.mjs";
import { wasmRunFlags, wasmRunner } from "./wasm-run.mjs";
import { payloadPerReplay } from "./util-peers.mjs";
import { buildWasmPeers } from "./c/build.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    only: { type: "string" },
    interval: { type: "string", default: "50" },
    ops: { type: "string", default: "300000" },
    "mix-ops": { type: "string", default: "2000000" },
    traces: { type: "string" },
    json: { type: "boolean", default: false },
    cachegrind: { type: "boolean", default: false },
    callgrind: { type: "boolean", default: false },
    "cg-reps": { type: "string", default: "10" },
    "cg-peers": { type: "string", default: "slab,dl" },
    "no-inline": { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const traceDir = [values.traces, process.env.WASM_SLAB_TRACES, join(root, "..", "shared", "traces")].find((d) => d && existsSync(d));
if (!traceDir) throw new Error("profile-malloc: no trace directory (--traces DIR)");
const only = values.only ? values.only.split(",") : null;
const traceFiles = readdirSync(traceDir).filter((f) => f.endsWith(".rep") && (!only || only.includes(f.replace(".rep", "")))).sort();
const log = (...a) => { if (!values.json) console.error(...a); };

// ---- categories -----------------------------------------------------------------------------------------
// Function name (as the name section has it after wasm-merge) → category. First match wins.
const CATEGORIES = [
  ["setup", /^(strtol|__shgetc|__intscan|atoi|atol|read|open|close|printf|vfprintf|printf_core|pop_arg|pad|fwrite|__fwritex|__stdio_.*|__stdout_write|writev|frexp|wcrtomb|strlen|strcmp|strrchr|__clock_gettime|~start|assembly\/cache\/heapInit|assembly\/index\/slab_init|__wasi_.*|__wasilibc_.*|.*preopen.*|__wasm_call_ctors|main|__original_main|__main_void|exit|_Exit|__wasm_call_dtors)$/],
  ["program", /^(replay|mix|memset|memcpy|memcmp|check|fill)$/],
  // wasm-slab
  ["fast path", /^(assembly\/index\/(malloc|free)|malloc|free|calloc|assembly\/index\/calloc|assembly\/kmalloc\/(classFor|classCache))$/],
  ["medium heap", /^assembly\/(medium\/.*|kmalloc\/(mediumMalloc|blockPages))$/],
  ["refill/flush", /^assembly\/(cpu\/(allocSlow|freeSlow|allocSingle|freeSingle|freeRemote|dropSheaf)|sheaf\/.*|node\/(refillFromNode|refillBatch|freeToSlabs|freeOne|allocOne))$/],
  ["slab create/free", /^assembly\/(slab\/.*|node\/(discardEmpty|moveSlab)|cache\/(layoutSlab|setupCache))$/],
  ["large blocks", /^assembly\/(kmalloc\/(largeAlloc|freeRange|markLarge|kmallocSlow|kfreeSlow|classify|largeGrow|largeFree)|page\/(pageExtend|pagesExtend|pagesTrim))$/],
  ["page allocator", /^assembly\/(page\/.*|arena\/.*|reclaim\/.*)$/],
  ["realloc", /^(assembly\/(kmalloc\/krealloc|index\/realloc)|realloc)$/],
  // dlmalloc
  ["dlmalloc", /^(dlmalloc|dlfree|dlrealloc|dlcalloc|dispose_chunk|sbrk|try_realloc_chunk|prepend_alloc|tmalloc_.*|sys_alloc|sys_trim|release_unused_segments)$/],
];
const categoryOf = (name) => (CATEGORIES.find(([, re]) => re.test(name)) ?? ["other"])[0];

// ---- builds ---------------------------------------------------------------------------------------------
if (!existsSync(join(root, "dist", "slab-merge.wasm"))) throw new Error("profile-malloc: run `npm run build` first");
const dir = mkdtempSync(join(tmpdir(), "profile-malloc-"));
log("building ...");
// assembly/merged.ts with names: the merge target's options plus --debug (names only: same function count)
execFileSync(process.execPath, [join(root, "node_modules", "assemblyscript", "bin", "asc.js"), "assembly/merged.ts", "--target", "merge", "--debug", "--outFile", join(dir, "slab-merge-named.wasm")], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
const built = buildWasmPeers(dir, { slab: join(dir, "slab-merge-named.wasm"), names: true, inline: !values["no-inline"] });
const timed = built.slab;
const counted = join(dir, "slab-counted.wasm");
mergeC(built.own, counted, { slab: join(dir, "slab-merge-named.wasm"), names: true, opt: false });
instrument(counted, (name) => name.startsWith("assembly/") || ["malloc", "free", "realloc", "calloc"].includes(name));
optimizeMerged(counted, { names: true });

/** Give every function `want(name)` accepts an exported i32 global "prof:<name>" incremented on entry. */
function instrument(file, want) {
  const m = binaryen.readBinary(readFileSync(file));
  m.setFeatures(binaryen.Features.MVP | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt | binaryen.Features.MutableGlobals | binaryen.Features.SignExt | binaryen.Features.NontrappingFPToInt);
  const n = m.getNumFunctions();
  for (let i = 0; i < n; i++) {
    const f = m.getFunctionByIndex(i);
    const info = binaryen.getFunctionInfo(f);
    if (info.module || !want(info.name)) continue;
    const g = `prof$${i}`;
    m.addGlobal(g, binaryen.i32, true, m.i32.const(0));
    m.addGlobalExport(g, `prof:${info.name}`);
    const bump = m.global.set(g, m.i32.add(m.global.get(g, binaryen.i32), m.i32.const(1)));
    binaryen.Function.setBody(f, m.block(null, [bump, info.body], info.results));
  }
  if (!m.validate()) throw new Error("profile-malloc: the instrumented module does not validate");
  writeFileSync(file, m.emitBinary());
  m.dispose();
}

// ---- running --------------------------------------------------------------------------------------------
// A job is one workload of mbench: a trace (scale = repetitions) or the mix (scale = operations). `frame`
// is the mbench function whose samples are the timed region.
function runJob(file, job, scale, profileDir) {
  const prof = profileDir ? ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-interval", values.interval] : [];
  const r = spawnSync(process.execPath, [...wasmRunFlags, ...prof, wasmRunner, file, traceDir, "--", ...job.args(scale)], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${file} ${job.name} exited ${r.status}: ${r.stderr}`);
  const counts = {};
  for (const [, name, v] of r.stdout.matchAll(/^count (\S+) (\d+)$/gm)) counts[name] = Number(v);
  return { ...job.parse(r.stdout), counts };
}
const mixJob = {
  name: "mix",
  frame: "mix",
  args: (n) => ["mix", String(n)],
  parse: (out) => {
    const m = /^mix ops=(\d+) ns_per_op=([\d.]+)/m.exec(out);
    return { ops: +m[1], seconds: (+m[1] * +m[2]) / 1e9, errors: 0, realloc: null };
  },
};
const traceJob = (trace) => ({
  name: trace.split("/").pop().replace(".rep", ""),
  frame: "replay",
  args: (reps) => ["traces", String(reps), trace],
  parse: (out) => {
    const m = /^trace \S+ ops=(\d+) reps=(\d+) seconds=([\d.]+) cpu=[\d.]+ peak_live=(\d+) errors=(\d+)/m.exec(out);
    const re = /^realloc \S+ calls=(\d+) moved=(\d+) copied=(\d+)/m.exec(out);
    return { ops: +m[1] * +m[2], seconds: +m[3], errors: +m[5], realloc: re ? { calls: +re[1], moved: +re[2], copied: +re[3] } : null };
  },
});

/** Self time (µs) per category in a .cpuprofile, for the samples under mbench's `frame` (replay or mix:
 * the timed region); engine frames are charged to their nearest Wasm caller. */
function readProfile(path, frame, into) {
  const p = JSON.parse(readFileSync(path, "utf8"));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owner = new Map(); // node id → wasm function name or null
  const wasmOwner = (id) => {
    if (owner.has(id)) return owner.get(id);
    const n = byId.get(id);
    let o = null;
    if (n.callFrame.url.startsWith("wasm://")) o = n.callFrame.functionName;
    else if (parent.has(id)) o = wasmOwner(parent.get(id));
    owner.set(id, o);
    return o;
  };
  const timed = new Map(); // node id → is `frame` on its stack
  const underReplay = (id) => {
    if (!timed.has(id)) timed.set(id, byId.get(id).callFrame.functionName === frame || (parent.has(id) && underReplay(parent.get(id))));
    return timed.get(id);
  };
  p.samples.forEach((id, i) => {
    const fn = wasmOwner(id);
    if (fn === null || !underReplay(id)) return;
    const cat = categoryOf(fn);
    into.cat[cat] = (into.cat[cat] ?? 0) + p.timeDeltas[i];
    into.fn[fn] = (into.fn[fn] ?? 0) + p.timeDeltas[i];
  });
}

/** Cachegrind totals (instructions, D1 and LL data misses) of one run of a job. */
function cachegrind(file, job, scale) {
  const r = spawnSync("valgrind", ["--tool=cachegrind", "--cache-sim=yes", "--smc-check=all-non-file", "--cachegrind-out-file=/dev/null",
    process.execPath, ...wasmRunFlags, wasmRunner, file, traceDir, "--", ...job.args(scale)], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`cachegrind ${file} ${job.name} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  const num = (re) => Number(re.exec(r.stderr)[1].replace(/,/g, ""));
  return { ops: job.parse(r.stdout).ops, ir: num(/I\s+refs:\s+([\d,]+)/), d1: num(/D1\s+misses:\s+([\d,]+)/), ll: num(/LLd misses:\s+([\d,]+)/) };
}

/** The JIT code ranges V8 logged with --perf-prof (a jitdump file): sorted [start, end, name] with the
 * name as the Wasm name section has it ("assembly/medium/findFit"). */
function readJitdump(path) {
  const b = readFileSync(path);
  const ranges = [];
  let off = b.readUInt32LE(8);                                   // the header's own size
  while (off + 16 <= b.length) {
    const id = b.readUInt32LE(off);
    const size = b.readUInt32LE(off + 4);
    if (size < 16) break;
    if (id === 0) {                                              // JIT_CODE_LOAD
      const raw = b.toString("utf8", off + 56, b.indexOf(0, off + 56));
      // Wasm functions only ("<name>-<index>-turbofan"): builtins and the runtime are the engine, charged
      // to the Wasm function that called them
      if (!/-\d+-turbofan$/.test(raw) || raw.includes(" ")) { off += size; continue; }
      const addr = Number(b.readBigUInt64LE(off + 32));
      const len = Number(b.readBigUInt64LE(off + 40));
      const end = b.indexOf(0, off + 56);
      const name = b.toString("utf8", off + 56, end).replace(/^JS:/, "").replace(/-\d+-turbofan$/, "");
      ranges.push([addr, addr + len, name]);
    }
    off += size;
  }
  ranges.sort((x, y) => x[0] - y[0]);
  return ranges;
}

/** Instructions per JIT function of one run of a job under callgrind (--dump-instr: costs per
 * instruction address), attributed through the run's jitdump: a function's own instructions plus the
 * inclusive cost of its calls into the engine (memory.grow, memory.fill as a runtime call, ...). */
function callgrindRun(file, job, scale) {
  const cwd = mkdtempSync(join(dir, "cg-"));
  const out = join(cwd, "callgrind.out");
  const r = spawnSync("valgrind", ["--tool=callgrind", "--dump-instr=yes", "--smc-check=all-non-file", `--callgrind-out-file=${out}`,
    process.execPath, ...wasmRunFlags, "--perf-prof", wasmRunner, file, traceDir, "--", ...job.args(scale)], { cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`callgrind ${file} ${job.name} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  const dump = readdirSync(cwd).find((f) => f.startsWith("jit-") && f.endsWith(".dump"));
  if (!dump) throw new Error("profile-malloc: V8 wrote no jitdump (--perf-prof)");
  const ranges = readJitdump(join(cwd, dump));
  const starts = ranges.map((x) => x[0]);
  const jitFn = (a) => {
    let lo = 0, hi = starts.length - 1, k = -1;
    while (lo <= hi) { const m = (lo + hi) >> 1; if (starts[m] <= a) { k = m; lo = m + 1; } else hi = m - 1; }
    return k >= 0 && a < ranges[k][1] ? ranges[k][2] : null;
  };
  // Wasm calls go through the module's jump table, at the start of its code space (not a function): a
  // call target in the code space is Wasm, anything else (builtins, the runtime) is the engine
  const spaceLo = starts[0] - (1 << 20);
  const spaceHi = Math.max(...ranges.map((x) => x[1]));
  const fn = {};
  let last = 0, target = null;
  // callgrind's positions: "0x…" is hex, a bare number decimal, "+n" / "-n" relative to the last one, "*" the same
  const pos = (t, base) => (t === "*" ? base : t[0] === "+" ? base + Number(t.slice(1)) : t[0] === "-" ? base - Number(t.slice(1)) : Number(t));
  for (const line of readFileSync(out, "utf8").split("\n")) {
    const c = line.charCodeAt(0);
    if (line.startsWith("calls=")) { target = pos(line.split(" ")[1], last); continue; }
    if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42)) continue;
    const f = line.split(" ");
    last = pos(f[0], last);
    const cost = Number(f[f.length - 1]);
    const name = jitFn(last);
    if (target !== null) {                                       // a call's inclusive cost
      if (name !== null && (target < spaceLo || target >= spaceHi)) fn[name] = (fn[name] ?? 0) + cost;
      target = null;
    } else if (name !== null) fn[name] = (fn[name] ?? 0) + cost;
  }
  rmSync(cwd, { recursive: true, force: true });
  return { ops: job.parse(r.stdout).ops, fn };
}

// ---- measure --------------------------------------------------------------------------------------------
const peers = [
  { key: "slab", file: timed },
  { key: "dl", file: built.dl },
];
// The mix first (unless --only leaves it out), then every trace.
const jobs = [];
if (!only || only.includes("mix")) jobs.push({ job: mixJob, scale: Number(values["mix-ops"]), cgScale: (k) => k * 200_000 });
for (const f of traceFiles) {
  const trace = join(traceDir, f);
  const lines = readFileSync(trace, "utf8").split("\n").slice(4).filter(Boolean);
  const allocated = payloadPerReplay(lines);
  const reps = Math.max(1, Math.min(Math.ceil(Number(values.ops) / Math.max(1, lines.length)), Math.floor((512 << 20) / Math.max(1, allocated))));
  jobs.push({ job: traceJob(trace), scale: reps, cgScale: (k) => k });
}
const results = [];
for (const { job, scale, cgScale } of jobs) {
  const res = { trace: job.name, scale };
  for (const p of peers) res[p.key] = { seconds: 0, ops: 0, cat: {}, fn: {} };
  for (let r = 0; r < runs; r++) {
    for (const p of peers) {
      const pd = join(dir, `prof-${p.key}`);
      rmSync(pd, { recursive: true, force: true });
      const out = runJob(p.file, job, scale, pd);
      if (out.errors) throw new Error(`${p.key} ${job.name}: ${out.errors} payload errors`);
      res[p.key].seconds += out.seconds;
      res[p.key].ops += out.ops;
      for (const file of readdirSync(pd)) readProfile(join(pd, file), job.frame, res[p.key]);
    }
  }
  if (values.cachegrind) {
    const R = Number(values["cg-reps"]);
    for (const p of peers) {
      const one = cachegrind(p.file, job, cgScale(1));
      const more = cachegrind(p.file, job, cgScale(1 + R));
      const per = (k) => (more[k] - one[k]) / (more.ops - one.ops);
      res[p.key].cg = { ir: per("ir"), d1: per("d1"), ll: per("ll") };
    }
  }
  if (values.callgrind) {
    const R = Number(values["cg-reps"]);
    for (const p of peers.filter((q) => values["cg-peers"].split(",").includes(q.key))) {
      const one = callgrindRun(p.file, job, cgScale(1));
      const more = callgrindRun(p.file, job, cgScale(1 + R));
      const ir = {};
      for (const k of new Set([...Object.keys(one.fn), ...Object.keys(more.fn)])) ir[k] = ((more.fn[k] ?? 0) - (one.fn[k] ?? 0)) / (more.ops - one.ops);
      res[p.key].irFn = ir;
    }
  }
  const c = runJob(counted, job, scale, null);
  res.counts = c.counts;
  res.countedOps = c.ops;
  res.realloc = c.realloc;
  results.push(res);
  log(`${res.trace}: done`);
}

// ---- report ---------------------------------------------------------------------------------------------
const allocCats = ["fast path", "refill/flush", "slab create/free", "page allocator", "large blocks", "realloc", "other"];
function nsPerOp(peer, cats) {
  const timedUs = Object.entries(peer.cat).filter(([k]) => k !== "setup").reduce((s, [, v]) => s + v, 0);
  const nsOp = (peer.seconds * 1e9) / peer.ops;
  const share = (k) => (peer.cat[k] ?? 0) / timedUs;
  return { total: nsOp, ...Object.fromEntries(cats.map((k) => [k, nsOp * share(k)])) };
}
// Instructions per trace operation by category (callgrind), from the per-function figures.
const irCatNames = ["program", "fast path", "refill/flush", "slab create/free", "page allocator", "medium heap", "large blocks", "realloc", "other"];
function irCats(perFn) {
  const out = Object.fromEntries(irCatNames.map((k) => [k, 0]));
  for (const [name, v] of Object.entries(perFn)) {
    const k = categoryOf(name);
    if (k === "setup") continue;
    out[k in out ? k : "other"] += v;
  }
  out.allocator = irCatNames.filter((k) => k !== "program").reduce((t, k) => t + out[k], 0);
  out.total = out.allocator + out.program;
  return out;
}
const sum = (o, keys) => keys.reduce((s, k) => s + (o[k] ?? 0), 0);
const per1k = (c, names, ops) => (1000 * sum(c, names)) / ops;
const rows = results.map((r) => {
  const s = nsPerOp(r.slab, ["program", ...allocCats]);
  const d = nsPerOp(r.dl, ["program", "dlmalloc", "other", "fast path", "realloc"]);
  const c = r.counts;
  const ops = r.countedOps;
  return {
    trace: r.trace,
    scale: r.scale,
    slab: s,
    dl: d,
    slabAlloc: sum(s, allocCats),
    dlAlloc: d.dlmalloc + d.other + d["fast path"] + d.realloc,
    per1k: {
      mallocs: per1k(c, ["malloc"], ops),
      frees: per1k(c, ["free"], ops),
      reallocs: per1k(c, ["realloc"], ops),
      allocSlow: per1k(c, ["assembly/cpu/allocSlow"], ops),
      refillFromNode: per1k(c, ["assembly/node/refillFromNode"], ops),
      freeSlow: per1k(c, ["assembly/cpu/freeSlow"], ops),
      freeToSlabs: per1k(c, ["assembly/node/freeToSlabs"], ops),
      slabNew: per1k(c, ["assembly/slab/slabNew"], ops),
      slabFree: per1k(c, ["assembly/node/discardEmpty", "assembly/slab/slabDiscard"], ops),
      pageAlloc: per1k(c, ["assembly/page/pageAlloc", "assembly/page/pagesAlloc", "assembly/page/runAlloc"], ops),
      pageFree: per1k(c, ["assembly/page/pageFree", "assembly/page/pagesFree", "assembly/page/pagesTrim", "assembly/page/runFree"], ops),
      largeAlloc: per1k(c, ["assembly/kmalloc/largeAlloc"], ops),
      kmallocSlow: per1k(c, ["assembly/kmalloc/kmallocSlow"], ops),
      kfreeSlow: per1k(c, ["assembly/kmalloc/kfreeSlow"], ops),
      grow: per1k(c, ["assembly/arena/growChunks", "assembly/arena/commitTo"], ops),
      reallocMoved: r.realloc ? (1000 * r.realloc.moved) / ops : 0,
      copiedBytesPerOp: r.realloc ? r.realloc.copied / ops : 0,
    },
    counts: c,
    cg: r.slab.cg ? { slab: r.slab.cg, dl: r.dl.cg } : undefined,
    irRaw: r.slab.irFn || r.dl.irFn ? { slab: r.slab.irFn, dl: r.dl.irFn } : undefined,
    // Per peer: a peer left out by --cg-peers has no counts (null), the other still gets its categories.
    ir: r.slab.irFn || r.dl.irFn
      ? { slab: r.slab.irFn ? irCats(r.slab.irFn) : null, dl: r.dl.irFn ? irCats(r.dl.irFn) : null, slabFn: r.slab.irFn ?? null, dlFn: r.dl.irFn ?? null }
      : undefined,
    topSlab: Object.entries(r.slab.fn).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => [k, v / 1000]),
  };
});
const geomean = (xs) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

if (values.json) console.log(JSON.stringify({ runs, interval: Number(values.interval), rows }, null, 2));
else {
  console.log(`\ntime per trace operation, ns (sampled every ${values.interval} µs, ${runs} runs pooled; "program" = replay loop + payload fill/checks)`);
  table(
    ["trace", "slab", "dl", "slab÷dl", "prog slab", "prog dl", "alloc slab", "alloc dl", "fast", "refill", "slab new", "pages", "large", "realloc", "other"],
    rows.map((r) => [r.trace, fmt(r.slab.total, 0), fmt(r.dl.total, 0), fmt(r.slab.total / r.dl.total), fmt(r.slab.program, 0), fmt(r.dl.program, 0), fmt(r.slabAlloc, 1), fmt(r.dlAlloc, 1),
      ...allocCats.map((k) => fmt(r.slab[k], 1))]),
  );
  console.log(`geomean slab÷dl time: ${fmt(geomean(rows.map((r) => r.slab.total / r.dl.total)))}; allocator only: ${fmt(geomean(rows.map((r) => r.slabAlloc / r.dlAlloc)))}; program only: ${fmt(geomean(rows.map((r) => r.slab.program / r.dl.program)))}`);
  console.log("\nwasm-slab events per 1000 trace operations (counted build: exact calls)");
  const k = Object.keys(rows[0].per1k);
  table(["trace", ...k], rows.map((r) => [r.trace, ...k.map((x) => fmt(r.per1k[x], x === "copiedBytesPerOp" ? 0 : 1))]));
  if (values.cachegrind) {
    console.log(`\ncachegrind, per trace operation (${values["cg-reps"]} replays: run(1 + N) − run(1)); deterministic`);
    table(["trace", "Ir slab", "Ir dl", "Ir slab÷dl", "D1 miss slab", "D1 miss dl", "LLd miss slab", "LLd miss dl"],
      rows.map((r) => [r.trace, fmt(r.cg.slab.ir, 0), fmt(r.cg.dl.ir, 0), fmt(r.cg.slab.ir / r.cg.dl.ir), fmt(r.cg.slab.d1, 2), fmt(r.cg.dl.d1, 2), fmt(r.cg.slab.ll, 3), fmt(r.cg.dl.ll, 3)]));
  }
  if (values.callgrind && rows.every((r) => r.ir?.slab && r.ir?.dl)) {
    console.log(`\ncallgrind, instructions per trace operation by category (${values["cg-reps"]} replays: run(1 + N) − run(1); a function's own instructions plus its calls into the engine); deterministic`);
    const cats = irCatNames.filter((k) => k !== "program");
    table(["trace", "total slab", "total dl", "prog slab", "prog dl", "alloc slab", "alloc dl", "alloc slab÷dl", ...cats.map((k) => k.replace("slab create/free", "slab new/free"))],
      rows.map((r) => [r.trace, fmt(r.ir.slab.total, 0), fmt(r.ir.dl.total, 0), fmt(r.ir.slab.program, 0), fmt(r.ir.dl.program, 0), fmt(r.ir.slab.allocator, 0), fmt(r.ir.dl.allocator, 0),
        fmt(r.ir.slab.allocator / r.ir.dl.allocator), ...cats.map((k) => fmt(r.ir.slab[k], 1))]));
    const top = (fnIr) => Object.entries(fnIr).filter(([n]) => categoryOf(n) !== "setup" && categoryOf(n) !== "program").sort((a, b) => b[1] - a[1]).slice(0, 8)
      .map(([n, v]) => `${n.replace("assembly/", "")} ${fmt(v, 1)}`).join(", ");
    console.log("\nallocator functions by instructions per trace operation (callgrind)");
    for (const r of rows) console.log(`${r.trace}: slab: ${top(r.ir.slabFn)}\n${" ".repeat(r.trace.length)}  dl: ${top(r.ir.dlFn)}`);
  }
  console.log("\nhottest wasm-slab functions per trace (self ms, pooled)");
  for (const r of rows) console.log(`${r.trace}: ${r.topSlab.map(([n, v]) => `${n.replace("assembly/", "")} ${fmt(v, 0)}`).join(", ")}`);
}
rmSync(dir, { recursive: true, force: true });
