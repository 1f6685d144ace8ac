#!/usr/bin/env node
// soak.mjs — the soak run (`npm run soak`, not part of `npm test`): the hostile mixed workload of
// test/hostile-workload.mjs for ≥ 1e7 operations — valid work on six caches and malloc across 2 nodes ×
// 2 CPUs, mixed with double frees, wild pointers, wrong caches, malformed arguments, bad bulk frees,
// destroyed caches, returned prefill handles and C bad frees — checking every live payload and
// validate() every phase. Stops at the first violation (exit 1) with the seed and operation.
// Prints its figures: operations, valid / invalid counts by class, phases, peak live objects, time.
//
// Usage: npm run build && node bench/soak.mjs [--ops 1e7] [--seed 1] [--phase 50000]
import { parseArgs } from "node:util";
import * as lib from "../dist/index.js";
import { runWorkload } from "../test/hostile-workload.mjs";

const { values } = parseArgs({
  options: { ops: { type: "string", default: "1e7" }, seed: { type: "string", default: "1" }, phase: { type: "string", default: "50000" } },
});
const ops = Number(values.ops);
const seed = Number(values.seed);
const phase = Number(values.phase);
const t0 = Date.now();
let last = t0;
console.log(`soak: ${ops.toExponential(1)} operations, seed ${seed}, validate + payloads every ${phase}`);
try {
  const r = await runWorkload(lib, {
    seed, ops, phase,
    onPhase: (c) => {
      const now = Date.now();
      if (now - last > 30_000) {
        last = now;
        console.log(`  ${c.ops.toExponential(2)} ops, ${c.phases} phases clean, ${c.live} live, ${((now - t0) / 1000).toFixed(0)} s`);
      }
    },
  });
  const s = (Date.now() - t0) / 1000;
  const c = r.counts;
  console.log(`clean: ${c.ops} operations in ${s.toFixed(1)} s (${(c.ops / s / 1000).toFixed(0)} k ops/s)`);
  console.log(`  valid ${c.valid}, invalid ${c.invalid} (each refused with its typed error), out of memory ${c.oom}`);
  console.log(`  invalid by class: ${Object.entries(r.byClass).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  console.log(`  ${c.phases} check phases (validate() + every live payload), peak ${c.peakLive} live objects, ${c.destroyed} caches destroyed`);
} catch (e) {
  console.error(`soak FAILED after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${e.message}`);
  process.exit(1);
}
