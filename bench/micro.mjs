// micro.mjs — fast-path micro-benchmarks of the per-CPU front end (issue: per-CPU arrays).
//
//   1. an alloc+free pair called from JS        vs two empty Wasm calls          goal ≤ 1.5× (raw ABI),
//      ≤ 1.0× (Cache API: one Wasm call each, cache_alloc / cache_free: bindings/cache.ts)
//   2. bulk alloc+free, per object               vs one empty Wasm call           goal ≤ 0.5×
//      (raw ABI on a staging buffer; Cache API returning a new array, and filling the caller's: allocBulk(n, into))
//   3. an alloc+free pair inside Wasm            vs a toy LIFO pop/push in Wasm   goal ≤ 2×
//   4. builds side by side: the checked release build against the unchecked flavour (harden.ts: every
//      fast-path check compiled out; `npm run asbuild:unchecked`) and any other build named with
//      --build name=file.wasm (e.g. an older commit's release.wasm), each loaded in this process
//   5. bulk in the threaded build, side by side: build/threaded.wasm and any --threaded-build
//      name=file.wasm, each over its own shared memory (2 nodes, CPU 0 claimed): 1000-object alloc+free
//      bulk pairs of one node (the common batch: one cache-node lock) and of two nodes (half taken from
//      node 1: bulk.ts checks each node's objects under that node's lock), per object, as ratios to
//      build/threaded.wasm in the same run (the median of the per-round ratios, 8 rounds per run)
//   6. in-use bits (inuse.ts), every build of 4 and 5 side by side: a plain cache's and an in-use-bit
//      cache's alloc+free pair from JS (ratio to two empty calls into the same instance) and inside Wasm
//      (the in-use cache's ratio to the plain one's); the threaded build's in-use word is a compare-and-swap
// Each figure is the median of several interleaved runs with its baseline, in this process, timed by the
// process's CPU time (bench/harness.mjs measure, clock "cpu": every case here runs on this one thread).
// Usage: node bench/micro.mjs [--runs N] [--json] [--build name=file.wasm ...] [--builds-only]
//        [--threaded-build name=file.wasm ...]
import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createAllocator } from "../dist/index.js";
import { cpuNs, fmt, measure, median, table, writeSection } from "./harness.mjs";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "9" },
    json: { type: "boolean", default: false },
    build: { type: "string", multiple: true, default: [] },
    "threaded-build": { type: "string", multiple: true, default: [] },
    "builds-only": { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const ROOT = new URL("..", import.meta.url).pathname;

const buildsOnly = values["builds-only"];
const heap = await createAllocator();
const w = heap.wasm;
const cache = heap.createCache("bench-64", { size: 64 });
const c = cache.addr;

// warm the arrays so the pair runs on the fast path
cache.free(cache.alloc());

const N = buildsOnly ? 1 : 2_000_000;
const jsPair = measure(
  {
    "two empty calls": { ops: N, fn: (n) => { for (let i = 0; i < n; i++) { w.bench_empty(); w.bench_empty(); } } },
    "pair, raw ABI": { ops: N, fn: (n) => { for (let i = 0; i < n; i++) w.cache_free(c, w.cache_alloc(c)); } },
    "pair, Cache API": { ops: N, fn: (n) => { for (let i = 0; i < n; i++) cache.free(cache.alloc()); } },
  },
  { runs: buildsOnly ? 1 : runs, warmup: buildsOnly ? 0 : 2, clock: "cpu" },
);

// bulk: 1000 objects per call pair, through the staging buffer (raw) and through the Cache API
const K = 1000;
const stage = heap.stage();
const ptrs = cache.allocBulk(K);
cache.freeBulk(ptrs);
const into = new Uint32Array(K); // allocBulk(n, into): the caller's array, reused call after call
// Each run times every case once, interleaved; a bulk figure's ratio is the median over runs of its ratio
// to the same run's empty-call baseline (on a loaded machine the baseline itself moves between runs).
const bulkCases = {
  "one empty call": { ops: N, fn: (n) => { for (let i = 0; i < n; i++) w.bench_empty(); } },
  "bulk, raw ABI": { ops: 200 * K, fn: (n) => { for (let i = 0; i < n; i += K) { w.cache_alloc_bulk(c, stage, K); w.cache_free_bulk(c, stage, K); } } },
  "bulk, Cache API": { ops: 200 * K, fn: (n) => { for (let i = 0; i < n; i += K) cache.freeBulk(cache.allocBulk(K)); } },
  "bulk, Cache API into": { ops: 200 * K, fn: (n) => { for (let i = 0; i < n; i += K) cache.freeBulk(cache.allocBulk(K, into)); } },
  "bulk of 100, raw ABI": { ops: 200 * K, fn: (n) => { for (let i = 0; i < n; i += 100) { w.cache_alloc_bulk(c, stage, 100); w.cache_free_bulk(c, stage, 100); } } },
};
const bulkSamples = Object.fromEntries(Object.keys(bulkCases).map((k) => [k, []]));
for (let r = 0, bulkRuns = buildsOnly ? 1 : runs; r < (buildsOnly ? 0 : 2) + bulkRuns; r++) {
  const one = measure(bulkCases, { runs: 1, warmup: 0, label: `bulk run ${r + 1}`, clock: "cpu" });
  if (r >= (buildsOnly ? 0 : 2)) for (const k of Object.keys(one)) bulkSamples[k].push(one[k]);
}
const bulk = Object.fromEntries(Object.entries(bulkSamples).map(([k, xs]) => [k, median(xs)]));
const bulkRatio = (k) => median(bulkSamples[k].map((ns, i) => ns / bulkSamples["one empty call"][i]));

// inside Wasm: the real pair vs the toy LIFO
const toy = heap.stage(); // reuse the staging buffer as the toy's storage
const objs = cache.allocBulk(64);
w.bench_toy_init(toy, objs[0], 64, 64);
const M = buildsOnly ? 1 : 20_000_000;
const inside = measure(
  {
    "toy LIFO pair": { ops: M, fn: (n) => w.bench_toy_pairs(toy, n) },
    "pair in Wasm": { ops: M, fn: (n) => w.bench_pairs(c, n) },
  },
  { runs: buildsOnly ? 1 : runs, warmup: buildsOnly ? 0 : 2, clock: "cpu" },
);
cache.freeBulk(objs);

const results = [
  { what: "alloc+free pair from JS (raw ABI)", ns: jsPair["pair, raw ABI"], base: "two empty calls", baseNs: jsPair["two empty calls"], goal: 1.5 },
  { what: "alloc+free pair from JS (Cache API)", ns: jsPair["pair, Cache API"], base: "two empty calls", baseNs: jsPair["two empty calls"], goal: 1.0 },
  { what: "bulk alloc+free per object (raw ABI)", ns: bulk["bulk, raw ABI"], base: "one empty call", baseNs: bulk["one empty call"], goal: 0.5, ratio: bulkRatio("bulk, raw ABI") },
  { what: "bulk alloc+free per object (Cache API)", ns: bulk["bulk, Cache API"], base: "one empty call", baseNs: bulk["one empty call"], goal: 0.5, ratio: bulkRatio("bulk, Cache API") },
  { what: "bulk alloc+free per object (Cache API, into a reused array)", ns: bulk["bulk, Cache API into"], base: "one empty call", baseNs: bulk["one empty call"], goal: 0.5, ratio: bulkRatio("bulk, Cache API into") },
  { what: "bulk of 100 per object (raw ABI)", ns: bulk["bulk of 100, raw ABI"], base: "one empty call", baseNs: bulk["one empty call"], goal: 0.5, ratio: bulkRatio("bulk of 100, raw ABI") },
  { what: "alloc+free pair inside Wasm", ns: inside["pair in Wasm"], base: "toy LIFO pair", baseNs: inside["toy LIFO pair"], goal: 2 },
];
for (const r of results) r.ratio ??= r.ns / r.baseNs; // bulk rows: the median of per-run ratios

// ---- 4. builds side by side --------------------------------------------------------------------------
// Each build gets its own memory and heap (raw ABI, one node, one CPU) and a 64-byte cache; all cases of
// all builds are interleaved run by run in one measure() call. Ratios are against the checked release
// build (build/release.wasm, what dist/ embeds).
async function rawHeap(bytes) {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory, hook: () => 0 } });
  const x = instance.exports;
  if (x.slab_init(x.data_end(), 1, 1, 0) !== 0) throw new Error("slab_init failed");
  const cc = x.cache_create(64, 0, 0, 0xffffffff);
  if (cc === 0) throw new Error("cache_create failed");
  x.cache_free(cc, x.cache_alloc(cc));
  x.free(x.malloc(64));
  return { x, cc };
}
const uncheckedPath = join(ROOT, "build/unchecked.wasm");
if (!existsSync(uncheckedPath)) {
  const r = spawnSync("npm", ["run", "asbuild:unchecked"], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) throw new Error("npm run asbuild:unchecked failed");
}
const builds = [["checked", join(ROOT, "build/release.wasm")], ["unchecked", uncheckedPath]];
for (const b of values.build) {
  const k = b.indexOf("=");
  if (k <= 0) throw new Error(`--build wants name=file.wasm, got ${b}`);
  builds.push([b.slice(0, k), b.slice(k + 1)]);
}
const loaded = [];
for (const [name, file] of builds) loaded.push({ name, file, ...(await rawHeap(readFileSync(file))) });
const B = 10_000_000;
const J = 1_000_000;
const cases = {};
for (const { name, x, cc } of loaded) {
  cases[`${name}: pair in Wasm`] = { ops: B, fn: (n) => x.bench_pairs(cc, n) };
  cases[`${name}: pair from JS`] = { ops: J, fn: (n) => { for (let i = 0; i < n; i++) x.cache_free(cc, x.cache_alloc(cc)); } };
  cases[`${name}: malloc+free from JS`] = { ops: J, fn: (n) => { for (let i = 0; i < n; i++) x.free(x.malloc(64)); } };
}
const side = measure(cases, { runs, clock: "cpu" });
const kinds = ["pair in Wasm", "pair from JS", "malloc+free from JS"];
const flavours = [];
for (const { name, file } of loaded) {
  for (const kind of kinds) {
    const ns = side[`${name}: ${kind}`];
    const baseNs = side[`checked: ${kind}`];
    flavours.push({ what: `${kind} [${name}]`, build: name, file, ns, base: `${kind} [checked]`, baseNs, ratio: ns / baseNs });
  }
}

// Interleaved samples (sections 5 and 6): `count` rounds after `warm` warm-up rounds, each timing every
// case once (ns per op), each round's order rotated by `rotate` cases. Returns { case: [ns per round] }.
function rounds(cases, count, warm, rotate) {
  const keys = Object.keys(cases);
  const samples = Object.fromEntries(keys.map((k) => [k, []]));
  for (let r = 0; r < warm + count; r++) {
    const shift = (r * rotate) % keys.length;
    for (const k of keys.slice(shift).concat(keys.slice(0, shift))) {
      const ns = cpuNs(() => cases[k].fn(cases[k].ops));
      if (r >= warm) samples[k].push(ns / cases[k].ops);
    }
  }
  return samples;
}

// ---- 5. bulk in the threaded build, side by side ------------------------------------------------------
async function threadedHeap(bytes) {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4096, shared: true });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory, hook: () => 0 } });
  const x = instance.exports;
  if (x.slab_init(x.data_end(), 2, 1, 0) !== 0) throw new Error("slab_init failed (threaded)");
  x.thread_set_wait(1, 30000);
  if (x.cpu_claim(0) !== 0) throw new Error("cpu_claim(0) failed");
  const cc = x.cache_create(64, 0, 0, 0xffffffff);
  const stage = x.malloc(4 * K);
  if (cc === 0 || stage === 0) throw new Error("cache_create / malloc failed (threaded)");
  return { x, cc, stage, memory };
}
const threadedBuilds = [["threaded", join(ROOT, "build/threaded.wasm")]];
for (const b of values["threaded-build"]) {
  const k = b.indexOf("=");
  if (k <= 0) throw new Error(`--threaded-build wants name=file.wasm, got ${b}`);
  threadedBuilds.push([b.slice(0, k), b.slice(k + 1)]);
}
const tLoaded = [];
for (const [name, file] of threadedBuilds) tLoaded.push({ name, file, ...(await threadedHeap(readFileSync(file))) });
const TB = 100 * K;                 // objects per sample: many short samples, interleaved (the machine drifts)
const tCases = {};
for (const { name, x, cc, stage, memory } of tLoaded) {
  const half = K >> 1;
  tCases[`${name}: bulk of one node`] = { ops: TB, fn: (n) => { for (let i = 0; i < n; i += K) { x.cache_alloc_bulk(cc, stage, K); x.cache_free_bulk(cc, stage, K); } } };
  tCases[`${name}: bulk of two nodes`] = {
    ops: TB,
    fn: (n) => {
      for (let i = 0; i < n; i += K) {
        x.cache_alloc_bulk(cc, stage, half);
        const v = new Uint32Array(memory.buffer, stage, K);
        for (let j = half; j < K; j++) v[j] = x.cache_alloc_node(cc, 1);
        if (x.cache_free_bulk(cc, stage, K) !== 0) throw new Error("cache_free_bulk refused a good batch");
      }
    },
  };
}
// runs × 8 rounds of one short sample per case; each round starts with another build (the order within a
// round moves a few percent by itself); 5 warm-up rounds
const tSamples = rounds(tCases, buildsOnly ? 1 : runs * 8, buildsOnly ? 0 : 5, 2);
const threadedBulk = [];
for (const { name, file } of tLoaded) {
  for (const kind of ["bulk of one node", "bulk of two nodes"]) {
    const xs = tSamples[`${name}: ${kind}`];
    const bs = tSamples[`threaded: ${kind}`];
    threadedBulk.push({ what: `${kind}, per object [${name}]`, build: name, file, ns: median(xs), baseNs: median(bs), base: `${kind} [threaded]`, ratio: median(xs.map((v, i) => v / bs[i])) });
  }
}

// ---- 6. in-use bits, single-threaded and threaded builds side by side ---------------------------------
// A plain 64-byte cache (the free key) and one with in-use bits (F_INUSE: inUseBits, and every cache with
// a constructor), in each release build of section 4 and each threaded build of section 5 (CPU 0 claimed,
// one node). The in-use word is shared by 64 neighbouring objects: the threaded build updates it with a
// compare-and-swap, out of line (inuse.ts). Pair from JS: ratio to two empty calls into the same
// instance; pair inside Wasm: ratio to the plain cache's pair in the same instance, and for every build
// but build/release.wasm and build/threaded.wasm, each cache's pair to that one's. Each round times every
// case once (order rotated); a ratio is the median of the per-round ratios.
const F_INUSE = 1 << 8;
async function inuseHeap(bytes, threaded) {
  const memory = new WebAssembly.Memory(threaded ? { initial: 1, maximum: 4096, shared: true } : { initial: 1 });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory, hook: () => 0 } });
  const x = instance.exports;
  if (x.slab_init(x.data_end(), 1, 1, 0) !== 0) throw new Error("slab_init failed");
  if (threaded) {
    x.thread_set_wait(1, 30000);
    if (x.cpu_claim(0) !== 0) throw new Error("cpu_claim(0) failed");
  }
  const plain = x.cache_create(64, 0, 0, 0xffffffff);
  const inuse = x.cache_create(64, 0, F_INUSE, 0xffffffff);
  if (plain === 0 || inuse === 0) throw new Error("cache_create failed");
  for (const cc of [plain, inuse]) x.cache_free(cc, x.cache_alloc(cc));
  return { x, plain, inuse };
}
const iLoaded = [];
for (const { name, file } of loaded) iLoaded.push({ name, ref: "checked", ...(await inuseHeap(readFileSync(file), false)) });
for (const { name, file } of tLoaded) iLoaded.push({ name: name === "threaded" ? name : `${name}, threaded`, ref: "threaded", ...(await inuseHeap(readFileSync(file), true)) });
const IJ = buildsOnly ? 1 : 200_000;
const IW = buildsOnly ? 1 : 2_000_000;
const iCases = {};
for (const { name, x, plain, inuse } of iLoaded) {
  iCases[`${name}: two empty calls`] = { ops: IJ, fn: (n) => { for (let i = 0; i < n; i++) { x.bench_empty(); x.bench_empty(); } } };
  iCases[`${name}: pair from JS, plain cache`] = { ops: IJ, fn: (n) => { for (let i = 0; i < n; i++) x.cache_free(plain, x.cache_alloc(plain)); } };
  iCases[`${name}: pair from JS, in-use bits`] = { ops: IJ, fn: (n) => { for (let i = 0; i < n; i++) x.cache_free(inuse, x.cache_alloc(inuse)); } };
  iCases[`${name}: pair in Wasm, plain cache`] = { ops: IW, fn: (n) => x.bench_pairs(plain, n) };
  iCases[`${name}: pair in Wasm, in-use bits`] = { ops: IW, fn: (n) => x.bench_pairs(inuse, n) };
}
const iSamples = rounds(iCases, buildsOnly ? 1 : runs * 4, buildsOnly ? 0 : 3, 5);
const inuseRows = [];
for (const { name, ref } of iLoaded) {
  const row = (kind, base, baseBuild = name) => {
    const xs = iSamples[`${name}: ${kind}`];
    const bs = iSamples[`${baseBuild}: ${base}`];
    inuseRows.push({ what: `${kind} [${name}]`, build: name, ns: median(xs), base: `${base} [${baseBuild}]`, baseNs: median(bs), ratio: median(xs.map((v, i) => v / bs[i])) });
  };
  row("pair from JS, plain cache", "two empty calls");
  row("pair from JS, in-use bits", "two empty calls");
  row("pair in Wasm, in-use bits", "pair in Wasm, plain cache");
  if (name !== ref) {
    // the plain cache against the same kind of build (checked release / threaded) of this tree
    row("pair in Wasm, plain cache", "pair in Wasm, plain cache", ref);
    row("pair in Wasm, in-use bits", "pair in Wasm, in-use bits", ref);
  }
}

if (values.json) console.log(JSON.stringify(buildsOnly ? { flavours, threadedBulk, inuseRows } : { results, flavours, threadedBulk, inuseRows }, null, 2));
else {
  console.log(`micro-benchmarks, median of ${runs} runs (Node ${process.version})`);
  if (!buildsOnly) {
    table(
      ["benchmark", "ns/op", "baseline", "base ns", "ratio", "goal", "reached"],
      results.map((r) => [r.what, fmt(r.ns), r.base, fmt(r.baseNs), fmt(r.ratio), `≤ ${r.goal}×`, r.ratio <= r.goal ? "yes" : "not reached"]),
    );
    console.log("");
  }
  console.log("builds side by side (ratio: this build / the checked release build, same run):");
  for (const { name, file } of loaded) console.log(`  ${name}: ${file}`);
  table(["benchmark", "ns/op", "checked ns", "ratio"], flavours.map((f) => [f.what, fmt(f.ns), fmt(f.baseNs), fmt(f.ratio, 3)]));
  console.log("");
  console.log("bulk in the threaded build, side by side (ratio: this build / build/threaded.wasm, median of per-run ratios):");
  for (const { name, file } of tLoaded) console.log(`  ${name}: ${file}`);
  table(["benchmark", "ns/op", "threaded ns", "ratio"], threadedBulk.map((f) => [f.what, fmt(f.ns), fmt(f.baseNs), fmt(f.ratio, 3)]));
  console.log("");
  console.log("in-use bits, release and threaded builds side by side (ratio: median of per-round ratios, same instance):");
  table(["benchmark", "ns/op", "baseline", "base ns", "ratio"], inuseRows.map((f) => [f.what, fmt(f.ns), f.base, fmt(f.baseNs), fmt(f.ratio, 3)]));
}
// The bench results contract (bench/run.mjs): one write of micro.json with every table's figures (the goal
// rows, then the builds side by side, the threaded bulk and the in-use rows, each with its own baseline).
writeSection("micro", {
  runs,
  figures: [
    ...(buildsOnly ? [] : results.map((r) => ({ name: r.what, value: r.ns, unit: "ns/op", baseline: r.base, baselineValue: r.baseNs, ratio: r.ratio, goal: r.goal, better: "lower" }))),
    ...flavours.map((f) => ({ name: f.what, value: f.ns, unit: "ns/op", baseline: f.base, baselineValue: f.baseNs, ratio: f.ratio })),
    ...threadedBulk.map((f) => ({ name: `threaded build: ${f.what}`, value: f.ns, unit: "ns/op", baseline: f.base, baselineValue: f.baseNs, ratio: f.ratio })),
    ...inuseRows.map((f) => ({ name: `in-use bits: ${f.what}`, value: f.ns, unit: "ns/op", baseline: f.base, baselineValue: f.baseNs, ratio: f.ratio })),
  ],
});
