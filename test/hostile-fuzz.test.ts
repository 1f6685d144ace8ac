// hostile-fuzz.test.ts — property-based and random fuzzing with every invalid class mixed into valid work.
//   1. fast-check model-based commands (test/hostile-model.mjs): a failing sequence is shrunk to its core
//      and named in the failure.
//   2. the mixed workload (test/hostile-workload.mjs, the soak's core): valid work on six caches and
//      malloc across 2 nodes × 2 CPUs, with double frees, wild pointers, wrong caches, malformed
//      arguments, bad bulk frees, destroyed caches, returned handles and C bad frees; every payload and
//      validate() checked after each phase.
// Both run in a worker with a time limit (test/hostile-harness.ts). `npm run soak` runs (2) for 1e7 ops.
import { describe, expect, it } from "vitest";
import { valueOf } from "./hostile-harness.js";

describe("fuzz", () => {
  it.each([1, 2, 3])("model-based commands hold (fast-check seed %i)", async (seed) => {
    const r = await valueOf("fuzzModel", { seed, numRuns: 25, maxCommands: 250 }, 110_000);
    expect(r, `${r.counterexample}\n${r.error}`).toMatchObject({ ok: true });
  }, 120_000);

  it.each([11, 12])("the mixed valid/invalid workload stays clean (seed %i, 60k ops)", async (seed) => {
    const r = await valueOf("fuzzMix", { seed, ops: 60_000, phase: 3000 }, 110_000);
    expect(r.counts.phases).toBeGreaterThanOrEqual(20);
    expect(r.counts.invalid).toBeGreaterThan(3000);
    for (const cls of ["double free", "wild free", "wrong cache", "malformed", "bad bulk", "destroyed", "C bad free"]) {
      expect(r.byClass[cls], cls).toBeGreaterThan(0);
    }
  }, 120_000);
});
