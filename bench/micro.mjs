// micro.mjs — fast-path micro-benchmarks of the per-CPU front end (issue: per-CPU arrays).
//
//   1. an alloc+free pair called from JS        vs two empty Wasm calls          goal ≤ 1.5×
//   2. bulk alloc+free, per object               vs one empty Wasm call           goal ≤ 0.5×
//   3. an alloc+free pair inside Wasm            vs a toy LIFO pop/push in Wasm   goal ≤ 2×
// Each figure is the median of several interleaved runs with its baseline, in this process.
// Usage: node bench/micro.mjs [--runs N] [--json]
import { parseArgs } from "node:util";
import { createAllocator } from "../dist/index.js";
import { fmt, measure, table, writeSection } from "./harness.mjs";

const { values } = parseArgs({ options: { runs: { type: "string", default: "9" }, json: { type: "boolean", default: false } } });
const runs = Number(values.runs);

const heap = await createAllocator();
const w = heap.wasm;
const cache = heap.createCache("bench-64", { size: 64 });
const c = cache.addr;

// warm the arrays so the pair runs on the fast path
cache.free(cache.alloc());

const N = 2_000_000;
const jsPair = measure(
  {
    "two empty calls": { ops: N, fn: (n) => { for (let i = 0; i < n; i++) { w.bench_empty(); w.bench_empty(); } } },
    "pair, raw ABI": { ops: N, fn: (n) => { for (let i = 0; i < n; i++) w.cache_free(c, w.cache_alloc(c)); } },
    "pair, Cache API": { ops: N, fn: (n) => { for (let i = 0; i < n; i++) cache.free(cache.alloc()); } },
  },
  { runs },
);

// bulk: 1000 objects per call pair, through the staging buffer (raw) and through the Cache API
const K = 1000;
const stage = heap.stage();
const ptrs = cache.allocBulk(K);
cache.freeBulk(ptrs);
const bulk = measure(
  {
    "one empty call": { ops: N, fn: (n) => { for (let i = 0; i < n; i++) w.bench_empty(); } },
    "bulk, raw ABI": { ops: 200 * K, fn: (n) => { for (let i = 0; i < n; i += K) { w.cache_alloc_bulk(c, stage, K); w.cache_free_bulk(c, stage, K); } } },
    "bulk, Cache API": { ops: 200 * K, fn: (n) => { for (let i = 0; i < n; i += K) cache.freeBulk(cache.allocBulk(K)); } },
    "bulk of 100, raw ABI": { ops: 200 * K, fn: (n) => { for (let i = 0; i < n; i += 100) { w.cache_alloc_bulk(c, stage, 100); w.cache_free_bulk(c, stage, 100); } } },
  },
  { runs },
);

// inside Wasm: the real pair vs the toy LIFO
const toy = heap.stage(); // reuse the staging buffer as the toy's storage
const objs = cache.allocBulk(64);
w.bench_toy_init(toy, objs[0], 64, 64);
const M = 20_000_000;
const inside = measure(
  {
    "toy LIFO pair": { ops: M, fn: (n) => w.bench_toy_pairs(toy, n) },
    "pair in Wasm": { ops: M, fn: (n) => w.bench_pairs(c, n) },
  },
  { runs },
);
cache.freeBulk(objs);

const results = [
  { what: "alloc+free pair from JS (raw ABI)", ns: jsPair["pair, raw ABI"], base: "two empty calls", baseNs: jsPair["two empty calls"], goal: 1.5 },
  { what: "alloc+free pair from JS (Cache API)", ns: jsPair["pair, Cache API"], base: "two empty calls", baseNs: jsPair["two empty calls"], goal: 1.5 },
  { what: "bulk alloc+free per object (raw ABI)", ns: bulk["bulk, raw ABI"], base: "one empty call", baseNs: bulk["one empty call"], goal: 0.5 },
  { what: "bulk alloc+free per object (Cache API)", ns: bulk["bulk, Cache API"], base: "one empty call", baseNs: bulk["one empty call"], goal: 0.5 },
  { what: "bulk of 100 per object (raw ABI)", ns: bulk["bulk of 100, raw ABI"], base: "one empty call", baseNs: bulk["one empty call"], goal: 0.5 },
  { what: "alloc+free pair inside Wasm", ns: inside["pair in Wasm"], base: "toy LIFO pair", baseNs: inside["toy LIFO pair"], goal: 2 },
];
for (const r of results) r.ratio = r.ns / r.baseNs;

if (values.json) console.log(JSON.stringify(results, null, 2));
else {
  console.log(`micro-benchmarks, median of ${runs} runs (Node ${process.version})`);
  table(
    ["benchmark", "ns/op", "baseline", "base ns", "ratio", "goal", "reached"],
    results.map((r) => [r.what, fmt(r.ns), r.base, fmt(r.baseNs), fmt(r.ratio), `≤ ${r.goal}×`, r.ratio <= r.goal ? "yes" : "not reached"]),
  );
}
writeSection("micro", {
  runs,
  figures: results.map((r) => ({ name: r.what, value: r.ns, unit: "ns/op", baseline: r.base, baselineValue: r.baseNs, ratio: r.ratio, goal: r.goal, better: "lower" })),
});
