#!/usr/bin/env node
// js-peers.mjs — the Cache API against what a JavaScript developer would otherwise use, in one run:
//   wasm-slab  heap.createCache({size: 64}): alloc/free return addresses in the heap's memory
//   MemPool    @thi.ng/malloc's MemPool (alloc/free over one ArrayBuffer; version pinned in package.json)
//   JS objects a class of eight number fields (~64 B of payload), allocated and dropped; the garbage
//              collector's time is part of the figure, and its share is reported beside it
// Workloads, each object written once after allocation (a u32 store; a field store for JS objects):
//   pair   allocate one object and free it again, in a loop (the fast path from JS)
//   churn  a live set of LIVE objects; each operation replaces a random one (free it, allocate anew)
//   bulk   1000 objects per call: allocBulk + freeBulk; MemPool and JS objects do 1000 single calls
// Every figure is the median of --runs samples, the peers interleaved sample by sample; ratios are per
// sample (peer ÷ Cache API of the same round), then the median. The GC is forced (--expose-gc: the
// script re-runs itself with it) before every sample of every peer, outside the timed window, so each
// sample starts from a collected heap; GC pauses inside a sample are counted from PerformanceObserver
// "gc" entries whose start falls inside it.
// Reference rows in the same run: two empty Wasm calls (the pair's floor) and one (the bulk's); for the
// pair also the raw ABI (cache_alloc / cache_free called directly: what the Cache API's JS pop and push
// save).
//
//   node bench/js-peers.mjs [--runs N] [--json]   (after npm run build; npm run bench runs it as "js-peers")
// With WASM_SLAB_BENCH_DIR set it writes js-peers.json there (bench results contract).
import { spawnSync } from "node:child_process";
import { PerformanceObserver, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { MemPool } from "@thi.ng/malloc";
import { createAllocator } from "../dist/index.js";
import { fmt, median, table, writeSection } from "./harness.mjs";

if (typeof globalThis.gc !== "function") {
  const r = spawnSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

const { values } = parseArgs({ options: { runs: { type: "string", default: "7" }, json: { type: "boolean", default: false } } });
const runs = Number(values.runs);
const WARMUP = 2;
const SIZE = 64;
const LIVE = 10_000;
const K = 1000;

// ---- the peers ------------------------------------------------------------------------------------------
const heap = await createAllocator();
const w = heap.wasm;
const cache = heap.createCache("js-peers-64", { size: SIZE });
const pool = new MemPool({ size: 32 << 20 });
class Rec {
  constructor(i) { this.a = i; this.b = 0; this.c = 0; this.d = 0; this.e = 0; this.f = 0; this.g = 0; this.h = 0; }
}
let sink = null; // where a JS object escapes to, so the engine must allocate it
let heapU32 = new Uint32Array(heap.memory.buffer);
const heapView = () => (heapU32.buffer === heap.memory.buffer ? heapU32 : (heapU32 = new Uint32Array(heap.memory.buffer)));
const poolU32 = new Uint32Array(pool.buf);

// One LCG for the churn's slot choices, the same sequence for every peer.
const lcg = (s) => (Math.imul(s, 1664525) + 1013904223) >>> 0;

// Each case: ops per sample, fn(ops), and an optional setup run before the first sample (untimed).
const cases = {
  pair: {
    "two empty Wasm calls": { ops: 2_000_000, fn: (n) => { for (let i = 0; i < n; i++) { w.bench_empty(); w.bench_empty(); } } },
    "wasm-slab Cache": {
      ops: 2_000_000,
      fn: (n) => { const u = heapView(); for (let i = 0; i < n; i++) { const p = cache.alloc(); u[p >>> 2] = i; cache.free(p); } },
    },
    "wasm-slab raw ABI": {
      ops: 2_000_000,
      fn: (n) => { const u = heapView(); const c = cache.addr; for (let i = 0; i < n; i++) { const p = w.cache_alloc(c) >>> 0; u[p >>> 2] = i; w.cache_free(c, p); } },
    },
    "MemPool": { ops: 2_000_000, fn: (n) => { for (let i = 0; i < n; i++) { const p = pool.malloc(SIZE); poolU32[p >>> 2] = i; pool.free(p); } } },
    "JS objects": { ops: 2_000_000, fn: (n) => { for (let i = 0; i < n; i++) { sink = new Rec(i); } } },
  },
  churn: {
    "wasm-slab Cache": (() => {
      const live = new Uint32Array(LIVE);
      return {
        ops: 1_000_000,
        setup: () => { for (let k = 0; k < LIVE; k++) live[k] = cache.alloc(); },
        fn: (n) => {
          const u = heapView();
          let s = 1;
          for (let i = 0; i < n; i++) { s = lcg(s); const k = s % LIVE; cache.free(live[k]); const p = cache.alloc(); u[p >>> 2] = i; live[k] = p; }
        },
      };
    })(),
    // MemPool's free walks its list of used blocks: O(live) per free, so it gets fewer operations
    "MemPool": (() => {
      const live = new Uint32Array(LIVE);
      return {
        ops: 20_000,
        setup: () => { for (let k = 0; k < LIVE; k++) live[k] = pool.malloc(SIZE); },
        fn: (n) => {
          let s = 1;
          for (let i = 0; i < n; i++) { s = lcg(s); const k = s % LIVE; pool.free(live[k]); const p = pool.malloc(SIZE); poolU32[p >>> 2] = i; live[k] = p; }
        },
      };
    })(),
    "JS objects": (() => {
      const live = new Array(LIVE);
      return {
        ops: 1_000_000,
        setup: () => { for (let k = 0; k < LIVE; k++) live[k] = new Rec(k); },
        fn: (n) => { let s = 1; for (let i = 0; i < n; i++) { s = lcg(s); live[s % LIVE] = new Rec(i); } },
      };
    })(),
  },
  bulk: {
    "one empty Wasm call": { ops: 2_000_000, fn: (n) => { for (let i = 0; i < n; i++) w.bench_empty(); } },
    "wasm-slab Cache": {
      ops: 200 * K,
      fn: (n) => { for (let i = 0; i < n; i += K) { const ptrs = cache.allocBulk(K); heapView()[ptrs[0] >>> 2] = i; cache.freeBulk(ptrs); } },
    },
    "MemPool": (() => {
      const ptrs = new Uint32Array(K);
      return {
        ops: 200 * K,
        fn: (n) => {
          for (let i = 0; i < n; i += K) {
            for (let j = 0; j < K; j++) ptrs[j] = pool.malloc(SIZE);
            poolU32[ptrs[0] >>> 2] = i;
            // free newest first: MemPool's used list is newest first, so each free finds its block at once
            for (let j = K - 1; j >= 0; j--) pool.free(ptrs[j]);
          }
        },
      };
    })(),
    "JS objects": {
      ops: 200 * K,
      fn: (n) => { for (let i = 0; i < n; i += K) { const a = new Array(K); for (let j = 0; j < K; j++) a[j] = new Rec(i + j); sink = a; } },
    },
  },
};

// ---- measuring ------------------------------------------------------------------------------------------
const gcEntries = [];
const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcEntries.push(e); });
obs.observe({ entryTypes: ["gc"] });

const samples = {}; // workload → peer → [{ ns, t0, t1 }]
for (const [wl, peers] of Object.entries(cases)) {
  samples[wl] = {};
  for (const [name, c] of Object.entries(peers)) {
    samples[wl][name] = [];
    c.setup?.();
  }
  for (let r = 0; r < WARMUP + runs; r++) {
    for (const [name, c] of Object.entries(peers)) {
      globalThis.gc();
      const t0 = performance.now();
      c.fn(c.ops);
      const t1 = performance.now();
      if (r >= WARMUP) samples[wl][name].push({ ns: ((t1 - t0) * 1e6) / c.ops, t0, t1 });
    }
  }
  if (!values.json) process.stderr.write(`${wl} done\n`);
}
await new Promise((res) => setTimeout(res, 200)); // let the observer deliver the last gc entries
obs.disconnect();
sink = null;

const gcShare = (xs) => {
  const within = (s) => gcEntries.filter((e) => e.startTime >= s.t0 && e.startTime < s.t1).reduce((a, e) => a + e.duration, 0);
  return median(xs.map((s) => within(s) / (s.t1 - s.t0)));
};

// ---- report ---------------------------------------------------------------------------------------------
const figures = [];
const rows = [];
for (const [wl, peers] of Object.entries(samples)) {
  const base = peers["wasm-slab Cache"];
  const floorName = wl === "pair" ? "two empty Wasm calls" : wl === "bulk" ? "one empty Wasm call" : null;
  for (const [name, xs] of Object.entries(peers)) {
    const ns = median(xs.map((s) => s.ns));
    const vsCache = median(xs.map((s, i) => s.ns / base[i].ns));
    const gc = name === "JS objects" ? gcShare(xs) : undefined;
    rows.push([wl, name, fmt(ns), fmt(vsCache) + "×", gc === undefined ? "-" : fmt(100 * gc, 1) + "%"]);
    if (name !== "wasm-slab Cache" && name !== floorName) {
      figures.push({ name: `${wl}: ${name} time ÷ Cache API's`, value: vsCache, unit: "×", baseline: "wasm-slab Cache API", ratio: vsCache, ns, ...(gc !== undefined ? { gcShare: gc } : {}) });
    }
  }
  if (floorName) {
    const f = peers[floorName];
    const x = median(base.map((s, i) => s.ns / f[i].ns));
    const goal = wl === "pair" ? 1.0 : 0.5;
    figures.push({ name: wl === "pair" ? "Cache API alloc+free pair from JS ÷ two empty Wasm calls" : "Cache API bulk alloc+free per object (1000 per call) ÷ one empty call", value: x, unit: "×", baseline: floorName, ratio: x, goal, better: "lower" });
  }
}
const result = { section: "js-peers", runs, objectBytes: SIZE, live: LIVE, bulk: K, node: process.version, thingMalloc: "6.1.150", figures };
writeSection("js-peers", result);

if (values.json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`JS peers, ${SIZE}-byte objects, median of ${runs} interleaved samples (Node ${process.version}); churn: ${LIVE} live`);
  table(["workload", "peer", "ns/op", "÷ Cache API", "GC share"], rows);
  console.log("");
  table(["figure", "ratio", "goal", "reached"], figures.filter((f) => f.goal !== undefined).map((f) => [f.name, fmt(f.ratio) + "×", `≤ ${f.goal}×`, f.ratio <= f.goal ? "reached" : "NOT reached"]));
}
