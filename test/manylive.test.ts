// manylive.test.ts — a heap of many live small objects (issue 11 item 4, helper manylive): when a malloc
// class runs out of slabs while another class of the same slab order keeps empty slabs beyond its
// min_partial (binary-bal: the 448-byte blocks are freed, then 512-byte ones are allocated), one refill
// takes as many of those slabs as its batch has room for (assembly/node.ts refillFromNode, reuseKept),
// not one slab per refill; the heap grows no sooner for it. After it the heap validates, every class's
// list counts and object totals agree, and the slabs moved are counted on both sides.
import { describe, expect, it } from "vitest";
import { createAllocator, type Heap } from "../bindings/index.js";
import { counters } from "../bindings/introspection.js";

function classAddr(heap: Heap, size: number): number {
  const c = heap.core.walkCaches().find((x) => x.name === `kmalloc-${size}`);
  if (!c) throw new Error(`no kmalloc-${size}`);
  return c.addr;
}

// Slabs on `list` (CN_PARTIAL, CN_FULL, CN_EMPTY) of `cache` on node 0.
function nr(heap: Heap, cache: number, countOff: number): number {
  return heap.core.u32(cache + heap.L.C_HDR + countOff);
}

// Every kmalloc class on node 0: each list's count is its length, and the object total is objects × slabs.
function expectCounters(heap: Heap): void {
  const L = heap.L;
  expect(heap.validate().ok).toBe(true);
  for (const cache of heap.core.walkCaches().filter((x) => x.name.startsWith("kmalloc-"))) {
    const cn = cache.addr + L.C_HDR;
    let slabs = 0;
    for (const [head, count] of [[L.CN_PARTIAL, L.CN_NR_PARTIAL], [L.CN_FULL, L.CN_NR_FULL], [L.CN_EMPTY, L.CN_NR_EMPTY]] as const) {
      let n = 0;
      for (let d = heap.core.u32(cn + head!); d !== 0; d = heap.core.u32(d + L.D_NEXT)) n++;
      expect(heap.core.u32(cn + count!)).toBe(n);
      slabs += n;
    }
    expect(heap.core.u32(cn + L.CN_TOTAL_OBJECTS)).toBe(heap.core.u32(cache.addr + L.C_OBJECTS) * slabs);
  }
}

describe("many live small objects: refills from another class's kept empty slabs", () => {
  it("one refill takes several kept slabs of another class while its batch has room", async () => {
    const heap = await createAllocator();
    const L = heap.L;
    const warm = L.KM_WARM_ALLOCS! + 8;
    // both classes past their warm-up (arrays on), as in a long-running program
    for (const size of [448, 512]) {
      const ps: number[] = [];
      for (let i = 0; i < warm; i++) ps.push(heap.malloc(size));
      for (const p of ps) heap.free(p);
    }
    const a = classAddr(heap, 448);
    const b = classAddr(heap, 512);
    expect(heap.core.u32(a + L.C_ORDER)).toBe(heap.core.u32(b + L.C_ORDER));
    const perSlab = heap.core.u32(b + L.C_OBJECTS);
    // kmalloc-448 fills ~150 slabs, then frees them: they stay its empty slabs (kept beyond min_partial)
    const live448: number[] = [];
    for (let i = 0; i < 150 * heap.core.u32(a + L.C_OBJECTS); i++) live448.push(heap.malloc(448));
    for (const p of live448) heap.free(p);
    const kept448 = nr(heap, a, L.CN_NR_EMPTY);
    expect(kept448).toBeGreaterThan(100);
    const grown = heap.core.memory.buffer.byteLength;
    const freed448 = counters(heap.core, a).sum.free_slab;
    const made512 = counters(heap.core, b).sum.alloc_slab;
    // kmalloc-512 allocates until it has used its own slabs and ~100 of kmalloc-448's: the objects each
    // refill hands out (mallocs from one refill to the next, its own one included)
    const live512: number[] = [];
    const runs: number[] = [];
    let run = 0;
    while (nr(heap, a, L.CN_NR_EMPTY) > kept448 - 100) {
      const before = counters(heap.core, b).sum.sheaf_refill;
      live512.push(heap.malloc(512));
      if (counters(heap.core, b).sum.sheaf_refill !== before) {
        if (run !== 0) runs.push(run);
        run = 0;
      }
      run++;
    }
    // refills that found no slab of its own took several of kmalloc-448's (one slab each before)
    expect(Math.max(...runs)).toBeGreaterThan(perSlab);
    expect(runs.filter((r) => r > perSlab).length).toBeGreaterThan(runs.length / 2);
    // every slab that left kmalloc-448 is counted there as freed and here as made; no memory grew for it
    const took = kept448 - nr(heap, a, L.CN_NR_EMPTY);
    expect(counters(heap.core, a).sum.free_slab - freed448).toBe(took);
    expect(counters(heap.core, b).sum.alloc_slab - made512).toBeGreaterThanOrEqual(took);
    expect(heap.core.memory.buffer.byteLength).toBe(grown);
    expectCounters(heap);
    for (const p of live512) heap.free(p);
    expectCounters(heap);
  });
});
