// hostile-reentry.test.ts — callbacks re-entering every API: a constructor, a destructor (targeted
// reclaim), a shrinker (memory pressure) and onReport each call alloc, free, the bulk calls, prefill,
// create/destroy, shrink, reap, validate, malloc, stats and tune while the allocator is inside an
// operation. Nothing is handed out twice, payloads stay intact, validate() is clean; an exception from a
// callback propagates once and leaves nothing pending; an object whose ctor threw is never handed out; a
// cache destroyed from its own ctor fails cleanly with no orphan slab. Each case runs in a worker.
import { describe, expect, it } from "vitest";
import { valueOf } from "./hostile-harness.js";

const APIS = ["alloc", "free", "allocBulk", "freeBulk", "prefill", "createDestroy", "shrink", "reap", "validate", "malloc", "stats", "tune"];
const CALLBACKS = ["ctor", "destructor", "shrinker", "onReport"];

describe.each(CALLBACKS)("a %s that re-enters the allocator", (cb) => {
  it.each(APIS)("calling %s", async (api) => {
    const r = await valueOf("cbReenter", { cb, api });
    expect(r.calls).toBeGreaterThan(0);
    const errors = { ...r.errors };
    // A shrinker runs because memory is short: what it allocates may fail for the same reason. The
    // stress phase runs out of memory on purpose (counted as 0 there).
    if (cb === "shrinker") delete errors.OutOfMemoryError;
    delete errors["main OutOfMemoryError"];
    expect(errors).toEqual({});
    expect(r).toMatchObject({ invalid: 0, distinctOther: true, validate: true });
  });
});

describe("re-entrancy", () => {
  it("a shrinker calling freeBulk during allocBulk under pressure: every object handed out once", async () => {
    const r = await valueOf("reenterShrinkerBulk");
    expect(r.handed).toBeGreaterThan(1000);
    expect(r.distinct).toBe(r.handed);
    expect(r.validate).toBe(true);
  });

  it("an onReport that throws: the failing call throws it once, nothing stays pending", async () => {
    const r = await valueOf("reenterReportThrows");
    expect(r).toEqual({
      first: "Error", next: "none", m: "none", cfree: "none", bulk: "Error", after: "none",
      cfreePending: false, ctorAlloc: "none",
    });
  });

  it("an object whose constructor threw is never handed out", async () => {
    const r = await valueOf("reenterCtorThrows");
    expect(r.badSeen).toBeGreaterThan(5);
    expect(r.errs.Error).toBeGreaterThan(0);
    expect(r).toMatchObject({ handedBad: 0, bulkBad: 0, validate: true });
  });

  it("a cache destroyed from its own constructor: the destroy is refused or the alloc fails, and no slab is orphaned", async () => {
    const r = await valueOf("reenterCtorDestroys");
    expect(r.validate).toBe(true);
    expect(r.orphanPages).toBe(0);
    // either the destroy was refused while the cache is busy making a slab, or the alloc failed cleanly
    expect(r.destroyErr === "CacheBusyError" || r.allocErr !== "none").toBe(true);
  });
});
