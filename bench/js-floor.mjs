#!/usr/bin/env node
// js-floor.mjs — the floor of an alloc+free pair done in JS, built up one step at a time, each step's time
// as a ratio to two empty Wasm calls in the same process (the goal for the Cache pair: ≤ 1.0×).
//
// Owns: the step variants and their measurement. Steps 2–4 are plain JS classes over a WebAssembly.Memory
// of their own (grown once, so V8 cannot fold the views: the detach protector is gone, as in any heap):
//   1. empty                        two calls of the heap's exported bench_empty (assembly/bench.ts: the
//                                   baseline micro.mjs and js-peers.mjs use; there is no JS helper for it)
//   2. pop/push, no check           pop an entry off an Int32Array stack in linear memory, push it back; the
//                                   count a JS field (alloc tests it for 0, nothing else is tested)
//   3. + free key                   free reads the object's first word, refuses it if it is the free key
//                                   (p ^ FREE_KEY), writes the key; alloc clears it (harden.ts)
//   4. + every check                bindings/cache.ts's magazine hit path line for line, in a class with
//                                   public fields: free's u32 test, the chunk-table byte (the node), the
//                                   page descriptor's cache word, the object start (rotr(off × inv, shift)),
//                                   the view's length, room; and what the magazine stores besides: the
//                                   count word in the sheaf, the pop and push counters. A fake chunk table,
//                                   page descriptors and slab laid out with bindings/generated/abi.ts's
//                                   constants (module-level consts, as cache.ts) and the geometry of a real
//                                   64-byte cache of this heap
//   5. Cache API (magazine)         Cache.alloc() + Cache.free() of dist/, default options
//   6. Cache API (magazine: false)  the same with { magazine: false }: one Wasm call each
//   7. raw ABI pair                 cache_free(c, cache_alloc(c)) on a third cache (magazine: false; micro.mjs)
// A refused free in 3–4 throws (the real magazine would miss into the Wasm's cache_free, which reports).
// Each loop is `free(alloc())`, its own function literal (no shared call-site feedback). After every sample
// (untimed) each variant's end state is checked: the stack's count and entries back where they started, the
// keys in place, the counters (JS or the cache's own) advanced by exactly the pairs run — a loop the JIT
// dropped would fail it.
// Timing: process CPU time (bench/harness.mjs cpuNs); per round every variant is timed once, the order
// rotated round by round; a variant's figure is the median of its per-round ratios to the same round's
// `empty`. --processes K (default 5) runs the whole measurement in K child processes one after another and
// reports each variant's min – median – max across them (V8's JIT makes the per-process spread large).
//
//   node bench/js-floor.mjs [--processes K] [--runs N] [--n PAIRS] [--json FILE] [--help]
//     (after npm run build; section "js-floor" of bench/run.mjs. --processes 0 measures in this process.)
// With WASM_SLAB_BENCH_DIR set it writes js-floor.json there (the results contract of bench/harness.mjs).
// Exports (test/js-floor.test.ts): VARIANTS, abiConst, fakeLayout, PopPush, KeyedPopPush, CheckedPopPush,
// buildVariants, measureProcess. bench/harness.mjs is imported only when the script runs (its process-wide
// uncaughtException handler stays out of an importer's process).
import { writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createAllocator } from "../dist/index.js";

const SELF = fileURLToPath(import.meta.url);

/** The variants, in report order, with what each adds to the one before. */
export const VARIANTS = [
  ["empty", "two empty Wasm calls (the baseline)"],
  ["pop/push, no check", "Int32Array stack in linear memory, count in a JS field"],
  ["+ free key", "free: read the first word, refuse the key, write it; alloc: clear it"],
  ["+ every check", "u32, chunk byte, page descriptor, object start, view length, room; count word, counters"],
  ["Cache API (magazine)", "Cache.alloc + Cache.free, default options"],
  ["Cache API (magazine: false)", "one Wasm call each (cache_alloc / cache_free)"],
  ["raw ABI pair", "cache_free(c, cache_alloc(c)) from JS"],
];

// ---- the layout constants: the generated `Abi` (bindings/generated/abi.ts) as the package hands it to
// benches (heap.L, as overhead.mjs takes it), read once into module-level consts ---------------------------
const ABI = (await createAllocator({ reap: false })).L;
/** A constant of the generated `Abi` object (bindings/generated/abi.ts, through heap.L). */
export function abiConst(name) {
  const x = ABI[name];
  if (typeof x !== "number") throw new Error(`js-floor: no Abi.${name} in heap.L`);
  return x;
}
// As bindings/cache.ts takes them (a `const`: folded to its value where the step is inlined).
const CHUNK_SHIFT = abiConst("CHUNK_SHIFT");
const PAGE_SHIFT = abiConst("PAGE_SHIFT");
const CHUNK_MASK = abiConst("CHUNK_SIZE") - 1;
const DESC_W_SHIFT = abiConst("DESC_SHIFT") - 2;
const FREE_KEY = abiConst("FREE_KEY") | 0;
const L = Object.fromEntries(
  ["CHUNK_SIZE", "CHUNK_BASE_ALIGN", "CT_NO_CHUNK", "MAX_CHUNKS", "DESC_SIZE", "D_CACHE", "H_CHUNK_TABLE", "SH_COUNT", "SH_CAP", "SH_HDR",
    "C_SLAB_MASK", "C_OBJ_OFFSET", "C_OBJECTS", "C_DIV_INV", "C_DIV_SHIFT", "C_STRIDE"].map((k) => [k, abiConst(k)]),
);
if (L.D_CACHE !== 0) throw new Error("js-floor: the magazine reads the descriptor's cache as its word 0 (D_CACHE)");

// ---- the fake heap of steps 2–4 -------------------------------------------------------------------------
const SHEAF = 8192; // the stack (a sheaf: count word, capacity word, entries) at this address
const CAP = 32; // its capacity; it starts holding `objects` entries
const NODE = 0; // the chunk-table byte of the slab's chunk (a one-node heap's)

/** A WebAssembly.Memory laid out as a heap around one slab of a cache of geometry `geo` (read from a real
 *  cache: slabMask, objOffset, objects, inv, shift, stride): a chunk table (one byte a chunk, chunk 0 at
 *  chunkBase names NODE, the rest CT_NO_CHUNK), chunk 0's page descriptors (the slab's pages name `cache`),
 *  the slab's first `count` objects in the stack, each holding its free key (free objects). Grown once
 *  after it is laid out: the views must be re-taken (sync). */
export function fakeLayout(geo, cache, count = 16) {
  const chunkBase = Math.max(L.CHUNK_BASE_ALIGN, 65536);
  const slabBytes = geo.slabMask + 1;
  const descBytes = (L.CHUNK_SIZE >>> PAGE_SHIFT) * L.DESC_SIZE;
  const slabOff = Math.ceil(Math.max(descBytes, 65536) / slabBytes) * slabBytes;
  const slab = chunkBase + slabOff;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((chunkBase + L.CHUNK_SIZE) / 65536) });
  const u8 = new Uint8Array(memory.buffer);
  const dv = new DataView(memory.buffer);
  const table = L.H_CHUNK_TABLE; // the header at 0
  if (table + L.MAX_CHUNKS > SHEAF) throw new Error("js-floor: the chunk table runs into the stack");
  u8.fill(L.CT_NO_CHUNK, table, table + L.MAX_CHUNKS);
  u8[table] = NODE;
  for (let pg = slabOff >>> PAGE_SHIFT; pg < (slabOff + slabBytes) >>> PAGE_SHIFT; pg++) {
    dv.setUint32(chunkBase + pg * L.DESC_SIZE + L.D_CACHE, cache, true);
  }
  const n = Math.min(count, geo.objects, CAP);
  const objects = [];
  for (let i = 0; i < n; i++) {
    const p = slab + geo.objOffset + i * geo.stride;
    objects.push(p);
    dv.setInt32(SHEAF + L.SH_HDR + 4 * i, p, true);
    dv.setInt32(p, p ^ FREE_KEY, true);
  }
  dv.setInt32(SHEAF + L.SH_COUNT, n, true);
  dv.setInt32(SHEAF + L.SH_CAP, CAP, true);
  memory.grow(1); // the first buffer detached: V8's detach protector is gone, as in a real heap
  return { memory, chunkBase, table, slab, objects, cache, geo };
}

/** Step 2: pop an entry off the stack, push it back; the count in a JS field. */
export class PopPush {
  constructor(lay) {
    this.memory = lay.memory;
    this.eW = (SHEAF + L.SH_HDR) >>> 2;
    this.n = lay.objects.length;
    this.v32 = new Int32Array(0);
    this.sync();
  }
  sync() {
    this.v32 = new Int32Array(this.memory.buffer);
  }
  alloc() {
    const n = this.n;
    if (n !== 0) {
      const p = this.v32[this.eW + n - 1];
      this.n = n - 1;
      return p >>> 0;
    }
    return this.refuse("alloc from an empty stack");
  }
  free(p) {
    const n = this.n;
    this.v32[this.eW + n] = p;
    this.n = n + 1;
  }
  refuse(what) {
    throw new Error(`js-floor: ${what}`);
  }
}

/** Step 3: step 2 and the free key (harden.ts): free refuses an object holding its key and writes it;
 *  alloc clears it. (Step 2's fields, constructor and sync; its own alloc and free.) */
export class KeyedPopPush extends PopPush {
  alloc() {
    const n = this.n;
    if (n !== 0) {
      const v = this.v32;
      const p = v[this.eW + n - 1];
      v[p >>> 2] = 0;
      this.n = n - 1;
      return p >>> 0;
    }
    return this.refuse("alloc from an empty stack");
  }
  free(p) {
    const n = this.n;
    const v = this.v32;
    const at = p >>> 2;
    const key = p ^ FREE_KEY;
    if (v[at] !== key) {
      v[at] = key;
      v[this.eW + n] = p;
      this.n = n + 1;
      return;
    }
    this.refuse(`free of ${p}: its free key is there (a double free)`);
  }
}

/** Step 4: bindings/cache.ts's magazine hit path (alloc/free), line for line, with public fields; a free
 *  that any check refuses throws. */
export class CheckedPopPush {
  constructor(lay) {
    this.memory = lay.memory;
    this.addr = lay.cache;
    this.cW = (SHEAF + L.SH_COUNT) >>> 2;
    this.eW = (SHEAF + L.SH_HDR) >>> 2;
    this.n = lay.objects.length;
    this.cap = CAP;
    this.node = NODE;
    this.allocs = 0;
    this.frees = 0;
    this.v32 = new Int32Array(0);
    this.v8 = new Uint8Array(0);
    this.chunkBase = lay.chunkBase;
    this.table = lay.table;
    this.slabMask = lay.geo.slabMask;
    this.objOffset = lay.geo.objOffset;
    this.objects = lay.geo.objects;
    this.inv = lay.geo.inv | 0;
    this.shift = lay.geo.shift;
    this.sync();
  }
  sync() {
    const b = this.memory.buffer;
    this.v32 = new Int32Array(b, 0, Math.floor(b.byteLength / 4));
    this.v8 = new Uint8Array(b);
  }
  alloc() {
    const n = this.n;
    if (n !== 0) {
      const v = this.v32;
      const p = v[this.eW + n - 1];
      const at = p >>> 2;
      if (at < v.length) {
        v[at] = 0;
        v[this.cW] = n - 1;
        this.n = n - 1;
        this.allocs++;
        return p >>> 0;
      }
    }
    return this.refuse("alloc from an empty stack");
  }
  free(ptr) {
    const n = this.n;
    if (typeof ptr === "number" && n < this.cap) {
      const p = ptr | 0;
      const v = this.v32;
      const inHeap = (p - this.chunkBase) | 0;
      const inChunk = inHeap & CHUNK_MASK;
      const d = ((p - inChunk) >>> 2) + ((inChunk >>> PAGE_SHIFT) << DESC_W_SHIFT);
      const k = Math.imul((p & this.slabMask) - this.objOffset, this.inv);
      const i = ((k >>> this.shift) | (k << -this.shift)) >>> 0;
      const at = p >>> 2;
      const key = p ^ FREE_KEY;
      if (
        p >>> 0 === ptr &&
        this.v8[this.table + (inHeap >>> CHUNK_SHIFT)] === this.node &&
        v[d] === this.addr &&
        i < this.objects &&
        at < v.length &&
        v[at] !== key
      ) {
        v[at] = key;
        v[this.eW + n] = p;
        v[this.cW] = n + 1;
        this.n = n + 1;
        this.frees++;
        return;
      }
    }
    this.refuse(`free of ${ptr} refused`);
  }
  refuse(what) {
    throw new Error(`js-floor: ${what}`);
  }
}

/** Steps 2–4's end state after `pairs` pairs in all: the stack's count and entries as laid out, each entry
 *  holding its key (3, 4: and what 2 never touches), 4's count word and counters. Throws on a difference. */
function checkStack(s, lay, pairs, step) {
  const v = new Int32Array(lay.memory.buffer);
  const want = lay.objects;
  const bad = (what) => { throw new Error(`js-floor: ${step} after ${pairs} pairs: ${what}`); };
  if (s.n !== want.length) bad(`count ${s.n}, not ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    if (v[((SHEAF + L.SH_HDR) >>> 2) + i] >>> 0 !== want[i]) bad(`entry ${i} is ${v[((SHEAF + L.SH_HDR) >>> 2) + i] >>> 0}, not ${want[i]}`);
    if (v[want[i] >>> 2] !== (want[i] ^ FREE_KEY)) bad(`object ${want[i]} does not hold its free key`);
  }
  if (s instanceof CheckedPopPush) {
    if (v[(SHEAF + L.SH_COUNT) >>> 2] !== want.length) bad(`count word ${v[(SHEAF + L.SH_COUNT) >>> 2]}`);
    if (s.allocs !== pairs || s.frees !== pairs) bad(`counters ${s.allocs} / ${s.frees}`);
  }
}

/** Every variant, ready to run: { name: { run(n), check() } } (run: n pairs, timed by the caller; check:
 *  the end state after every pair run so far, untimed, throws on a difference). Also the heap, its caches
 *  and the fake layouts, for tests. */
export async function buildVariants() {
  const heap = await createAllocator();
  const w = heap.wasm;
  const mag = heap.createCache("js-floor-64", { size: 64 });
  const plain = heap.createCache("js-floor-64-plain", { size: 64, magazine: false });
  const raw = heap.createCache("js-floor-64-raw", { size: 64, magazine: false });
  const c = raw.addr;
  // the constants this module took from abi.ts are the ones the built module exports
  for (const k of ["CHUNK_SHIFT", "PAGE_SHIFT", "DESC_SHIFT", "FREE_KEY", "CHUNK_SIZE", ...Object.keys(L)]) {
    if (w[k]?.value >>> 0 !== abiConst(k)) throw new Error(`js-floor: Abi.${k} ${abiConst(k)} is not the Wasm's ${w[k]?.value}`);
  }
  const geo = {
    slabMask: heap.u32(mag.addr + L.C_SLAB_MASK),
    objOffset: heap.u32(mag.addr + L.C_OBJ_OFFSET),
    objects: heap.u32(mag.addr + L.C_OBJECTS),
    inv: heap.u32(mag.addr + L.C_DIV_INV),
    shift: heap.u32(mag.addr + L.C_DIV_SHIFT),
    stride: heap.u32(mag.addr + L.C_STRIDE),
  };
  const lays = { pop: fakeLayout(geo, mag.addr), keyed: fakeLayout(geo, mag.addr), checked: fakeLayout(geo, mag.addr) };
  const pop = new PopPush(lays.pop);
  const keyed = new KeyedPopPush(lays.keyed);
  const checked = new CheckedPopPush(lays.checked);
  // the Cache variants warmed: the magazine filled, the CPU's arrays taken; their counters from here on
  for (const k of [mag, plain]) k.free(k.alloc());
  w.cache_free(c, w.cache_alloc(c));
  const pairsOf = (k) => { const x = k.stats().counters; return [x.alloc_fastpath + x.alloc_slowpath, x.free_fastpath + x.free_slowpath]; };
  const cacheCheck = (k, name) => {
    const [a0, f0] = pairsOf(k);
    return (pairs) => {
      const [a, f] = pairsOf(k);
      if (a - a0 !== pairs || f - f0 !== pairs) throw new Error(`js-floor: ${name} after ${pairs} pairs: the cache counted ${a - a0} allocs, ${f - f0} frees`);
      if (k.live !== 0) throw new Error(`js-floor: ${name}: ${k.live} objects live`);
    };
  };
  const counted = (run, check) => {
    let pairs = 0;
    return { run: (n) => { run(n); pairs += n; }, check: () => check(pairs) };
  };
  const v = {
    "empty": counted((n) => { for (let i = 0; i < n; i++) { w.bench_empty(); w.bench_empty(); } }, () => {}),
    "pop/push, no check": counted((n) => { for (let i = 0; i < n; i++) pop.free(pop.alloc()); }, (p) => checkStack(pop, lays.pop, p, "pop/push")),
    "+ free key": counted((n) => { for (let i = 0; i < n; i++) keyed.free(keyed.alloc()); }, (p) => checkStack(keyed, lays.keyed, p, "+ free key")),
    "+ every check": counted((n) => { for (let i = 0; i < n; i++) checked.free(checked.alloc()); }, (p) => checkStack(checked, lays.checked, p, "+ every check")),
    "Cache API (magazine)": counted((n) => { for (let i = 0; i < n; i++) mag.free(mag.alloc()); }, cacheCheck(mag, "Cache API (magazine)")),
    "Cache API (magazine: false)": counted((n) => { for (let i = 0; i < n; i++) plain.free(plain.alloc()); }, cacheCheck(plain, "Cache API (magazine: false)")),
    "raw ABI pair": counted((n) => { for (let i = 0; i < n; i++) w.cache_free(c, w.cache_alloc(c)); }, cacheCheck(raw, "raw ABI pair")),
  };
  for (const [name] of VARIANTS) if (!v[name]) throw new Error(`js-floor: no variant ${name}`);
  return { variants: v, heap, caches: { mag, plain, raw }, lays, steps: { pop, keyed, checked } };
}

/** The whole measurement in this process: `warmup` + `runs` rounds, each timing every variant once over
 *  `n` pairs (CPU time, order rotated by one each round) and checking its end state. Returns
 *  { n, runs, variants: [{ name, ratio, ns, ratios }] }: ns the median ns per pair, ratio the median of
 *  the per-round ratios to `empty`. */
export async function measureProcess({ n = 1_000_000, runs = 9, warmup = 3 } = {}) {
  const { cpuNs, median } = await import("./harness.mjs");
  const { variants } = await buildVariants();
  const names = VARIANTS.map(([k]) => k);
  const ns = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < warmup + runs; r++) {
    const shift = r % names.length;
    const one = {};
    for (const k of names.slice(shift).concat(names.slice(0, shift))) {
      one[k] = cpuNs(() => variants[k].run(n)) / n;
      variants[k].check();
    }
    if (r >= warmup) for (const k of names) ns[k].push(one[k]);
  }
  return {
    n,
    runs,
    variants: names.map((k) => {
      const ratios = ns[k].map((x, i) => x / ns.empty[i]);
      return { name: k, ns: median(ns[k]), ratio: median(ratios), ratios };
    }),
  };
}

// ---- the script -----------------------------------------------------------------------------------------
const USAGE = `usage: node bench/js-floor.mjs [--processes K] [--runs N] [--n PAIRS] [--json FILE] [--help]
  --processes K  child processes, one after another, each doing the whole measurement (default 5; 0: this process)
  --runs N       timed rounds per process, after 3 warm-up rounds (default 9)
  --n PAIRS      alloc+free pairs per sample (default 1000000)
  --json FILE    also write the figures (per process and across processes) to FILE
Each variant's ratio: the median over rounds of its CPU time ÷ the same round's two empty Wasm calls;
reported as min – median – max across processes.`;

async function main() {
  const { fmt, median, progress, table, writeSection } = await import("./harness.mjs");
  const { values } = parseArgs({
    options: {
      processes: { type: "string", default: "5" },
      runs: { type: "string", default: "9" },
      n: { type: "string", default: "1000000" },
      json: { type: "string" },
      help: { type: "boolean", default: false },
      child: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const int = (name, min) => {
    const x = Number(values[name]);
    if (!Number.isInteger(x) || x < min) {
      process.stderr.write(`js-floor.mjs: --${name} wants an integer ≥ ${min}, got ${values[name]}\n`);
      process.exit(2);
    }
    return x;
  };
  const K = int("processes", 0);
  const runs = int("runs", 1);
  const n = int("n", 1);
  if (values.child) {
    process.stdout.write(JSON.stringify(await measureProcess({ n, runs })) + "\n");
    return;
  }
  const per = [];
  if (K === 0) per.push(await measureProcess({ n, runs }));
  else {
    const bar = progress(`js-floor: ${VARIANTS.length} variants × ${runs} rounds of ${n} pairs`, K, { unit: "process" });
    for (let k = 0; k < K; k++) {
      const r = spawnSync(process.execPath, [...process.execArgv, SELF, "--child", "--n", String(n), "--runs", String(runs)], { encoding: "utf8", maxBuffer: 1 << 24 });
      if (r.status !== 0) throw new Error(`js-floor: child process ${k + 1} failed (status ${r.status}):\n${r.stderr}`);
      per.push(JSON.parse(r.stdout));
      bar.tick();
    }
    bar.done();
  }
  const spread = (xs) => ({ min: Math.min(...xs), median: median(xs), max: Math.max(...xs) });
  const variants = VARIANTS.map(([name, adds], j) => ({
    name,
    adds,
    ratio: spread(per.map((p) => p.variants[j].ratio)),
    ns: spread(per.map((p) => p.variants[j].ns)),
    perProcess: per.map((p) => ({ ratio: p.variants[j].ratio, ns: p.variants[j].ns })),
  }));
  console.log(`alloc+free pair in JS, step by step: ratio to two empty Wasm calls (median of ${runs} rounds of ${n} pairs a process, CPU time), across ${per.length} process${per.length === 1 ? "" : "es"} (Node ${process.version})`);
  table(
    ["variant", "min", "median", "max", "ns/pair (median)", "adds"],
    variants.map((v) => [v.name, `${fmt(v.ratio.min)}×`, `${fmt(v.ratio.median)}×`, `${fmt(v.ratio.max)}×`, fmt(v.ns.median), v.adds]),
  );
  const { machineInfo } = await import("./report.mjs");
  const doc = { script: "bench/js-floor.mjs", n, runs, warmup: 3, processes: per.length, machine: machineInfo(new URL("..", import.meta.url).pathname), variants };
  if (values.json) writeFileSync(values.json, JSON.stringify(doc, null, 2) + "\n");
  const empty = variants[0].ns.median;
  writeSection("js-floor", {
    n,
    runs,
    processes: per.length,
    figures: variants.slice(1).map((v) => ({
      name: `${v.name} ÷ two empty Wasm calls (median of ${per.length} processes; min ${fmt(v.ratio.min)}, max ${fmt(v.ratio.max)})`,
      value: v.ns.median,
      unit: "ns/pair",
      baseline: "two empty Wasm calls",
      baselineValue: empty,
      ratio: v.ratio.median,
      ...(v.name.startsWith("Cache API") ? { goal: 1.0, better: "lower" } : {}),
    })),
    variants,
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
