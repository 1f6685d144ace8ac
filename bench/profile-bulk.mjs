#!/usr/bin/env node
// profile-bulk.mjs — bulk alloc and bulk free timed apart, per object, on one or more release builds of
// the module, interleaved in one process (an A/B of a change to assembly/bulk.ts; bench/PROFILE.md).
//
// Owns: nothing but the measurement. Entry point:
//   node bench/profile-bulk.mjs [--k N] [--flags F] [--rounds N] [A.wasm B.wasm ...]
//   (default: build/release.wasm; build another with `npx asc assembly/index.ts --target release
//    --outFile /tmp/b.wasm`). --flags: cache flags (256 = F_INUSE, the in-use bits).
// Calls profile-builds.mjs (loadBuild) and the raw ABI of each build (slab_init, cache_create, stage_alloc, cache_alloc_bulk,
// cache_free_bulk, bench_empty) on its own memory. For each build: ns per object of cache_alloc_bulk(k)
// and of cache_free_bulk(k), median over --rounds rounds (each 40 cycles), the builds taking turns
// round by round; and the same pair's ratio to one empty call, per round, then the median.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fmt, median, table } from "./harness.mjs";
import { loadBuild } from "./profile-builds.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { k: { type: "string", default: "1000" }, flags: { type: "string", default: "0" }, rounds: { type: "string", default: "25" } },
});
const K = Number(values.k);
const files = positionals.length ? positionals : [join(here, "..", "build", "release.wasm")];
const WARM = 5;
const CYCLES = 40;

const builds = [];
for (const file of files) {
  const b = await loadBuild(file, Number(values.flags));
  builds.push({ ...b, stage: b.w.stage_alloc(), alloc: [], free: [], ratio: [] });
}
for (let r = 0; r < WARM + Number(values.rounds); r++) {
  for (const b of builds) {
    const { w, cache, stage } = b;
    let ta = 0;
    let tf = 0;
    for (let i = 0; i < CYCLES; i++) {
      const t0 = performance.now();
      if (w.cache_alloc_bulk(cache, stage, K) !== K) throw new Error(`${b.file}: alloc_bulk failed`);
      const t1 = performance.now();
      if (w.cache_free_bulk(cache, stage, K) !== 0) throw new Error(`${b.file}: free_bulk failed`);
      ta += t1 - t0;
      tf += performance.now() - t1;
    }
    const t0 = performance.now();
    for (let i = 0; i < CYCLES * K; i++) w.bench_empty();
    const te = performance.now() - t0;
    if (r >= WARM) {
      b.alloc.push((ta * 1e6) / CYCLES / K);
      b.free.push((tf * 1e6) / CYCLES / K);
      b.ratio.push((ta + tf) / te);
    }
  }
}
console.log(`bulk of ${K}, 64-byte objects, flags ${values.flags}; median of ${values.rounds} rounds of ${CYCLES} cycles`);
table(
  ["build", "alloc ns/obj", "free ns/obj", "pair ÷ one empty call"],
  builds.map((b) => [b.file, fmt(median(b.alloc)), fmt(median(b.free)), fmt(median(b.ratio)) + "×"]),
);
