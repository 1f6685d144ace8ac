// bench/reclaim.mjs — slab-oriented reclaim vs LRU object eviction on a dentry-like cache.
//
// The argument being measured (the "unified" allocator's): when memory must be given back, freeing
// objects in LRU order scatters the holes over many slabs, so few pages come back per object destroyed;
// reclaiming by slab (cache.reclaim(pages): destroy the unused objects of slabs that hold no busy one)
// gives whole pages back, and busy objects gather into fewer slabs over rounds.
//
// Workload, identical for both policies (same seed): a cache of 192-byte objects (Linux's dentry size),
// reclaimable; a JS Map index key → object holds one reference (count 1: unused but cached). Each round
// makes `lookups` uniform lookups over a key space of 1.5 × N: a hit bumps the object to the LRU's tail,
// a miss inserts a new object. The last `busy` × N objects looked up stay held (count 2) through the
// reclaim phase, as open files pin their dentries. Then each policy frees `target` of the cache's pages:
//   (a) LRU: evict unused objects from the LRU's head (the index drops them, they are freed), in batches
//       of 64, until cache.shrink() has given back the target (or nothing is left to evict);
//   (b) slab reclaim: cache.reclaim(targetPages); the destructor drops the index entry.
// Reported per policy (median over runs, each run a different seed):
//   pages freed per object destroyed (summed over rounds), objects destroyed, pages freed,
//   slab density after the last round = live objects / (slabs × objects per slab), after shrink.
//
// Run: npm run build && node bench/reclaim.mjs [--n 50000] [--rounds 6] [--runs 5] [--busy 0.05]
//      [--target 0.2] [--lookups 1.0]
import { parseArgs } from "node:util";
import { createAllocator } from "../dist/index.js";
import { rng } from "../cli/lib/workload.mjs";
import { fmt, median, progress, table, writeSection } from "./harness.mjs";

// Unknown options and stray arguments are usage errors (exit 2, bench/harness.mjs); each value must be a
// number in its range.
const { values: args } = parseArgs({
  options: Object.fromEntries(["n", "rounds", "runs", "busy", "target", "lookups"].map((k) => [k, { type: "string" }])),
});
function numArg(name, dflt, lo, hi, integer) {
  const v = args[name] === undefined ? dflt : Number(args[name]);
  if (!Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
    process.stderr.write(`reclaim.mjs: --${name} ${args[name]}: expected ${integer ? "a whole number" : "a number"} in ${lo}..${hi}\n`);
    process.exit(2);
  }
  return v;
}
const N = numArg("n", 50_000, 100, 10_000_000, true);
const ROUNDS = numArg("rounds", 6, 1, 1000, true);
const RUNS = numArg("runs", 5, 1, 1000, true);
const BUSY = numArg("busy", 0.05, 0, 1, false);
const TARGET = numArg("target", 0.2, 0.001, 1, false);
const LOOKUPS = numArg("lookups", 1.0, 0, 100, false); // per round, as a multiple of N


async function run(policy, seed) {
  const heap = await createAllocator({ reap: false });
  const dv = () => heap.dv;
  const index = new Map(); // key → ptr, in LRU order (oldest first): a hit re-inserts at the tail
  let destroyed = 0;
  const cache = heap.createCache("dentry", {
    size: 192,
    reclaim: {
      destructor: (p) => {
        index.delete(dv().getUint32(p + 4, true));
        destroyed++;
      },
    },
  });
  const rand = rng(seed);
  const keys = Math.floor(1.5 * N);
  const insert = (key) => {
    const p = cache.alloc();
    dv().setUint32(p, 1, true);
    dv().setUint32(p + 4, key, true);
    index.set(key, p);
    return p;
  };
  while (index.size < N) {
    const key = Math.floor(rand() * keys);
    if (!index.has(key)) insert(key);
  }
  let pagesFreed = 0;
  let objectsDestroyed = 0;
  let targetsMet = 0;
  const pagesNow = () => {
    const s = cache.stats();
    return s.slabs * s.pagesPerSlab;
  };
  for (let round = 0; round < ROUNDS; round++) {
    const lookups = Math.floor(LOOKUPS * N);
    const recent = [];
    for (let i = 0; i < lookups; i++) {
      const key = Math.floor(rand() * keys);
      let p = index.get(key);
      if (p === undefined) p = insert(key);
      else {
        index.delete(key); // LRU bump
        index.set(key, p);
      }
      recent.push(p);
    }
    const held = [...new Set(recent.slice(-Math.floor(BUSY * N)))];
    for (const p of held) dv().setUint32(p, dv().getUint32(p, true) + 1, true);
    cache.shrink(); // both policies start from the same state: no parked objects, no empty slabs
    const target = Math.max(1, Math.floor(TARGET * pagesNow()));
    const before = destroyed;
    let freed = 0;
    if (policy === "lru") {
      const it = index.entries();
      while (freed < target) {
        let n = 0;
        for (let e = it.next(); !e.done && n < 64; e = it.next()) {
          const [key, p] = e.value;
          if (dv().getUint32(p, true) !== 1) continue; // busy: LRU skips it
          index.delete(key);
          cache.free(p); // sets the count word to 0
          destroyed++;
          n++;
        }
        freed += cache.shrink();
        if (n === 0) break;
      }
    } else {
      freed = cache.reclaim(target);
    }
    pagesFreed += freed;
    if (freed >= target) targetsMet++;
    objectsDestroyed += destroyed - before;
    for (const p of held) dv().setUint32(p, dv().getUint32(p, true) - 1, true);
  }
  cache.shrink();
  const s = cache.stats();
  const density = s.activeObjects / (s.slabs * s.objectsPerSlab);
  if (!heap.validate().ok) throw new Error("heap corrupt");
  if (s.activeObjects !== index.size) throw new Error(`index ${index.size} vs live ${s.activeObjects}`);
  heap.close();
  return { pagesPerObject: pagesFreed / objectsDestroyed, objectsDestroyed, pagesFreed, density, targetsMet };
}

const results = { lru: [], slab: [] };
const bar = progress("LRU / slab reclaim", RUNS);
for (let r = 0; r < RUNS; r++) {
  const seed = 0x5eed + r * 7919;
  for (const policy of ["lru", "slab"]) results[policy].push(await run(policy, seed));
  bar.tick();
}
bar.done();
console.log(
  `N=${N} objects of 192 B (21 per 4 KiB slab), ${ROUNDS} rounds, median of ${RUNS} runs (seeds), ` +
    `busy ${BUSY * 100}%, target ${TARGET * 100}% of the cache's pages per round, ${LOOKUPS}×N lookups per round\n`,
);
const rows = [];
for (const policy of ["lru", "slab"]) {
  const rs = results[policy];
  const m = (f) => median(rs.map(f));
  rows.push([
    policy === "lru" ? "(a) LRU eviction" : "(b) cache.reclaim(pages)",
    fmt(m((x) => x.pagesPerObject), 4),
    fmt(m((x) => x.objectsDestroyed), 0),
    fmt(m((x) => x.pagesFreed), 0),
    fmt(m((x) => x.density), 3),
    `${m((x) => x.targetsMet)}/${ROUNDS}`,
  ]);
}
table(["policy", "pages / object destroyed", "objects destroyed", "pages freed", "slab density", "rounds on target"], rows);
const ratios = results.slab.map((s, i) => s.pagesPerObject / results.lru[i].pagesPerObject);
console.log(
  `\npages freed per object destroyed, (b) / (a): ${fmt(median(ratios))}× (per run: ${ratios.map((x) => fmt(x)).join(", ")}); ` +
    `at best 1/21 = ${fmt(1 / 21, 4)} (a whole slab per 21 objects)`,
);
const m = (policy, f) => median(results[policy].map(f));
writeSection("reclaim", {
  runs: RUNS,
  parameters: { n: N, rounds: ROUNDS, busy: BUSY, target: TARGET, lookups: LOOKUPS },
  figures: [
    { name: "pages freed per object destroyed, slab reclaim", value: m("slab", (x) => x.pagesPerObject), unit: "pages/object", baseline: "LRU eviction", baselineValue: m("lru", (x) => x.pagesPerObject), ratio: median(ratios) },
    ...["lru", "slab"].flatMap((p) => [
      { name: `objects destroyed, ${p}`, value: m(p, (x) => x.objectsDestroyed), unit: "objects" },
      { name: `pages freed, ${p}`, value: m(p, (x) => x.pagesFreed), unit: "pages" },
      { name: `slab density after the last round, ${p}`, value: m(p, (x) => x.density), unit: "live / capacity" },
    ]),
  ],
});
