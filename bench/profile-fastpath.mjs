// profile-fastpath.mjs — what each part of the Cache API's JS alloc+free pair costs (bindings/fastpath.ts),
// as ratios to two empty Wasm calls in this process, medians of N runs of CPU time (process.cpuUsage: the
// shared machine's load distorts it less than wall time). Cases: the pair through the Cache API; JS pop +
// the Wasm free (the design before the JS free); the raw ABI pair; fastpath.ts's fastFree called straight
// from the loop (with module-level constants, then with arguments: see "(arg)"); then scratch copies of the free with one check or more left out (generated below, for
// measuring only: never a path the package takes), each noting whether V8 could inline it.
// Usage (after npm run build): node bench/profile-fastpath.mjs [runs] [case-prefix]
//   node --trace-turbo-inlining bench/profile-fastpath.mjs 1 | grep fastFree   (which copies inline)
// The scratch copies mirror the free check sequence of the time they were written (table byte,
// descriptor, object start, bitmap, key, push, counter); the Cache API rows are always the package's.
import { createAllocator } from "../build/tsc/index.js";
import { fastFree as realFree, newFastCache } from "../build/tsc/fastpath.js";
import { Abi as L } from "../build/tsc/generated/abi.js";
const runs = Number(process.argv[2] ?? 5);
const only = process.argv[3];
function measure(cases, { runs, warmup }) {
  const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let r = 0; r < warmup + runs; r++) for (const [name, { fn, ops }] of Object.entries(cases)) {
    const t0 = process.cpuUsage(); fn(ops, cache, core, rfc); const dt = process.cpuUsage(t0);
    if (r >= warmup) samples[name].push(((dt.user + dt.system) * 1000) / ops);
  }
  const med = (xs) => { const a = [...xs].sort((x, y) => x - y); return a[a.length >> 1]; };
  return Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, med(xs)]));
}
const heap = await createAllocator();
const w = heap.wasm;
const cache = heap.createCache("bench-64", { size: 64 });
cache.free(cache.alloc());
const core = heap.core;
var { CC_MAIN, CC_STATS, CHUNK_SHIFT, CHUNK_SIZE, DESC_SHIFT, D_AUX, D_CACHE, FREE_FASTPATH, FREE_KEY, PAGE_SHIFT, SH_CAP, SH_COUNT, SH_HDR } = L;
var CHUNK_MASK = CHUNK_SIZE - 1, MAIN_W = CC_MAIN >>> 2, FREE_W = (CC_STATS >>> 2) + 2 * FREE_FASTPATH, TOP_W = (CC_STATS >>> 2) + 7;
var COUNT_W = SH_COUNT >>> 2, CAP_W = SH_CAP >>> 2, HDR_W = SH_HDR >>> 2, DCACHE_W = D_CACHE >>> 2, DAUX_W = D_AUX >>> 2, DESC_W_SHIFT = DESC_SHIFT - 2, KEY = FREE_KEY | 0;
const src = (opts) => `
  const v = core.view32;
  const p = ptr | 0;
  const inHeap = (p - core.chunkBase) | 0;
  ${opts.u32 ? "if (p >>> 0 !== ptr) return false;" : ""}
  ${opts.table ? "if (core.view8[core.table + (inHeap >>> CHUNK_SHIFT)] !== core.node) return false;" : ""}
  const inChunk = inHeap & CHUNK_MASK;
  const d = ((p - inChunk) >>> 2) + ((inChunk >>> PAGE_SHIFT) << DESC_W_SHIFT);
  const inSlab = p & c.slabMask;
  const k = ((inSlab - c.objOffset) * c.inv) | 0;
  const i = ((k >>> c.shift) | (k << c.shiftBack)) >>> 0;
  ${opts.desc ? "if (v[d + DCACHE_W] !== c.addr) return false;" : ""}
  ${opts.index ? "if (i >= c.objects) return false;" : ""}
  const head = d - ((inSlab >>> PAGE_SHIFT) << DESC_W_SHIFT);
  const bm = ${opts.aux ? "v[head + DAUX_W] >>> 2" : "c.bitsW >= 0 ? head + c.bitsW : v[head + DAUX_W] >>> 2"};
  const at = (p + c.keyOff) >>> 2;
  const key = p ^ KEY;
  const len = v.length;
  if (at >= len ${opts.bitmap ? "|| (v[bm + (i >>> 5)] >>> (i & 31)) & 1" : ""} || v[at] === key) return false;
  const slot = (c.addr + core.slotOff) >>> 2;
  const main = v[slot + MAIN_W] >>> 2;
  const n = v[main + COUNT_W];
  const e = main + HDR_W + n;
  if (!(n < v[main + CAP_W]) || slot + TOP_W >= len || e >= len) return false;
  v[at] = key; v[e] = p; v[main + COUNT_W] = n + 1;
  ${opts.countfn ? "cnt(v, slot + FREE_W);" : ""}
  ${opts.count ? "const q = slot + FREE_W; const lo = (v[q] + 1) | 0; v[q] = lo; if (lo === 0) v[q + 1] = (v[q + 1] + 1) | 0;" : ""}
  return true;`;
function cnt(v, k) { const lo = (v[k] + 1) | 0; v[k] = lo; if (lo === 0) v[k + 1] = (v[k + 1] + 1) | 0; }
const consts = { cnt,  CHUNK_SHIFT, CHUNK_MASK, PAGE_SHIFT, DESC_W_SHIFT, DCACHE_W, DAUX_W, KEY, MAIN_W, COUNT_W, CAP_W, HDR_W, TOP_W, FREE_W };
function make(name, opts) {
  const g = new Function(...Object.keys(consts), `return function ff_${name}(core, c, ptr) {${src(opts)}}`)(...Object.values(consts));
  const loop = new Function("cache", "g", "core", "c", `return function loop_${name}(n) { for (let i = 0; i < n; i++) { const p = cache.alloc(); if (!g(core, c, p)) cache.free(p); } }`)(cache, g, core, fc);
  return loop;
}
// the FastCache: compute like fastpath.ts
const dv = new DataView(heap.memory.buffer); const u = (o) => dv.getUint32(cache.addr + o, true);
const stride = u(L.C_STRIDE); const shift = 31 - Math.clz32(stride & -stride); let odd = stride >>> shift, x = odd; for (let k = 0; k < 4; k++) x = Math.imul(x, (2 - Math.imul(odd, x)) | 0);
class FC { constructor() { this.addr = cache.addr; this.keyOff = 0; this.inuseOff = -1; this.slabMask = u(L.C_SLAB_MASK); this.objOffset = u(L.C_OBJ_OFFSET); this.objects = u(L.C_OBJECTS); this.inv = x; this.shift = shift; this.shiftBack = 32 - shift; this.bitsW = this.objects <= 64 ? L.D_BITS >>> 2 : -1; this.recipHi = 0; this.recipLo = 0; } }
const fc = new FC();
const rfc = newFastCache(core, cache.addr);
const all = { u32: 1, table: 1, desc: 1, index: 1, bitmap: 1, count: 1 };
const N = 2_000_000;
const cases = {
  "two empty calls": { ops: N, fn: (n) => { for (let i = 0; i < n; i++) { w.bench_empty(); w.bench_empty(); } } },
  "API pair": { ops: N, fn: function loop_api(n) { for (let i = 0; i < n; i++) cache.free(cache.alloc()); } },
  "old (JS alloc, Wasm free)": { ops: N, fn: function loop_old(n) { const c = cache.addr; for (let i = 0; i < n; i++) { const p = cache.alloc(); w.cache_free(c, p); } } },
  "raw pair": { ops: N, fn: function loop_raw(n) { const c = cache.addr; for (let i = 0; i < n; i++) w.cache_free(c, w.cache_alloc(c)); } },
  "real direct": { ops: N, fn: function loop_real(n) { for (let i = 0; i < n; i++) { const p = cache.alloc(); if (!realFree(core, rfc, p)) cache.free(p); } } },
  // the same two loops with the cache, core and FastCache passed in as arguments: TurboFan cannot fold them
  // (the rows above read module-level constants, so the FastCache's readonly fields become immediates —
  // which no caller holding a cache in a variable or a field gets)
  "API pair (arg)": { ops: N, fn: function loop_apiarg(n, cache) { for (let i = 0; i < n; i++) cache.free(cache.alloc()); } },
  "real direct (arg)": { ops: N, fn: function loop_realarg(n, cache, core, rfc) { for (let i = 0; i < n; i++) { const p = cache.alloc(); if (!realFree(core, rfc, p)) cache.free(p); } } },
  "real+FC": { ops: N, fn: function loop_realfc(n) { for (let i = 0; i < n; i++) { const p = cache.alloc(); if (!realFree(core, fc, p)) cache.free(p); } } },
  "all": { ops: N, fn: make("all", all) },
  "all aux": { ops: N, fn: make("aux", { ...all, aux: 1 }) },
  "-u32": { ops: N, fn: make("nou32", { ...all, u32: 0 }) },
  "-table": { ops: N, fn: make("notable", { ...all, table: 0 }) },
  "-desc": { ops: N, fn: make("nodesc", { ...all, desc: 0 }) },
  "-index": { ops: N, fn: make("noindex", { ...all, index: 0 }) },
  "-bitmap": { ops: N, fn: make("nobitmap", { ...all, bitmap: 0 }) },
  "-count": { ops: N, fn: make("nocount", { ...all, count: 0 }) },
  "-desc-index": { ops: N, fn: make("nodi", { ...all, desc: 0, index: 0 }) },
  "-desc-u32": { ops: N, fn: make("nodu", { ...all, desc: 0, u32: 0 }) },
  "-table cntfn": { ops: N, fn: make("ntcf", { ...all, table: 0, count: 0, countfn: 1 }) },
  "none": { ops: N, fn: make("none", {}) },
};
if (only) for (const k of Object.keys(cases)) if (k !== "two empty calls" && !k.startsWith(only)) delete cases[k];
const r = measure(cases, { runs, warmup: 2 });
const base = r["two empty calls"];
for (const [k, ns] of Object.entries(r)) console.log(k.padEnd(20), ns.toFixed(2), "ns", (ns / base).toFixed(2) + "×");
