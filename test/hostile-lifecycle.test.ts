// hostile-lifecycle.test.ts — lifecycle (destroy with a prefill handle out, use after destroy, 10,000
// caches, handles returned twice or to the wrong cache), memory pressure by every route (with shrinkers
// that throw or return nonsense), and the modes' guarantees for malloc (inUseBits, debug, alignment).
// Each case runs in a worker with a time limit.
import { describe, expect, it } from "vitest";
import { valueOf } from "./hostile-harness.js";

describe("lifecycle", () => {
  it.each([1, 20])("destroy() with a prefill handle out (%i taken and freed): refused, or nothing leaks", async (take) => {
    const r = await valueOf("lifePrefillDestroy", { take });
    expect(r.validate).toBe(true);
    if (r.destroyErr === "CacheBusyError") {
      expect(r.returnErr).toBe("none");
      expect(r.again).toBe("none");
    } else {
      expect(r.destroyErr).toBe("none");
    }
    expect(r.destroyed).toBe(true);
    expect(r.after).toEqual(r.before); // no sheaf and no slab page left behind
  });

  it("every call on a destroyed cache is CacheDestroyedError", async () => {
    const r = await valueOf("lifeAfterDestroy");
    expect(new Set(Object.values(r.out))).toEqual(new Set(["CacheDestroyedError"]));
    expect(r.validate).toBe(true);
  });

  it("10,000 caches created, used and destroyed: memory does not grow, no cache is left", async () => {
    const r = await valueOf("lifeManyCaches", { n: 10000 }, 120_000);
    expect(r.caches).toBe(0);
    expect(new Set(r.grownAfter).size).toBe(1);
    expect(r.validate).toBe(true);
  });

  it("prefill handles: returned to the wrong cache, returned twice, used after return", async () => {
    const r = await valueOf("lifeHandles");
    expect(r).toEqual({ wrong: "InvalidArgumentError", twice: "InvalidArgumentError", use: "InvalidArgumentError", validate: true, live: 0 });
  });
});

describe("memory pressure", () => {
  it.each(["none", "throws", "nan", "negative", "huge", "string"])("every route runs out cleanly and recovers (shrinker: %s)", async (shrinker) => {
    const r = await valueOf("pressureAll", { shrinker });
    expect(r.firstFail).toEqual([true, true, true, true, true, true, true]);
    expect(Object.keys(r.errs).every((k) => k === "OutOfMemoryError" || (shrinker === "throws" && k === "Error"))).toBe(true);
    expect(r).toMatchObject({ late: {}, twice: 0, validateFull: true, works: true, validate: true });
  });
});

describe("modes hold for malloc", () => {
  it.each(["default", "inuse", "debug"])("%s: every valid free of fresh blocks is accepted, every double free refused", async (mode) => {
    const r = await valueOf("modeMallocInuse", { mode });
    expect(r).toEqual({ frees: 60, accepted: 60, errs: {}, validate: true });
  });

  it.each(["default", "inuse", "debug"])("%s: alignedAlloc(a, n) is a-aligned up to 64 KiB", async (mode) => {
    const r = await valueOf("modeAligned", { mode });
    expect(r).toEqual({ bad: [], validate: true });
  });
});
