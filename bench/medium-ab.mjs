#!/usr/bin/env node
// medium-ab.mjs — by hand: the medium heap (default class set) against page runs and the 4–8 KiB classes
// (setMallocClasses("fine"), today's geometry) in one process, interleaved run by run, median of 9:
// malloc/free of random sizes in three ranges with 200–400 blocks live, one byte written per page of each
// block (as a program touches its memory). Prints ns per operation and the speed ratio medium ÷ fine.
// Not part of bench/run.mjs (an A/B of one design choice, not a figure of the issue tables).
//   node bench/medium-ab.mjs
import { createAllocator } from "../dist/index.js";
const med = await createAllocator(); const pg = await createAllocator(); pg.setMallocClasses("fine");
function rng(seed) { let a = seed >>> 0; return () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }; }
function run(h, lo, hi, ops) {
  const r = rng(7); const w = h.core.w; const live = []; const t = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) {
    if (live.length < 200 || (r() < 0.5 && live.length < 400)) {
      const n = lo + Math.floor(r() * (hi - lo)); const q = w.malloc(n); const u8 = h.u8;
      for (let x = 0; x < n; x += 4096) u8[q + x] = 1;   // the program touches its block (one byte a page)
      u8[q + n - 1] = 1; live.push(q);
    }
    else { const k = Math.floor(r() * live.length); w.km_free(live[k]); live[k] = live[live.length - 1]; live.pop(); }
  }
  for (const p of live) w.km_free(p);
  return Number(process.hrtime.bigint() - t) / ops;
}
for (const [lo, hi] of [[4097, 8192], [8193, 65536], [65537, 262144]]) {
  const ratios = []; let m = [], p = [];
  for (let k = 0; k < 9; k++) { const a = run(med, lo, hi, 200000); const b = run(pg, lo, hi, 200000); m.push(a); p.push(b); ratios.push(b / a); }
  const med_ = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  console.log(`${lo}..${hi} B: medium ${med_(m).toFixed(1)} ns/op, page runs/classes ("fine") ${med_(p).toFixed(1)} ns/op, speed ratio medium ÷ fine ${med_(ratios).toFixed(2)}× (median of 9, interleaved)`);
}
