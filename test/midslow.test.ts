// midslow.test.ts — what runs after a fast-path miss (issue 11, helper midslow): a refill takes whole
// empty slabs off the empty list as one chain and splices it onto the full list (assembly/node.ts
// takeEmptyRun, slab.ts slabCarve), and a flush frees the entries that share a slab and a bitmap word
// with one bitmap update (node.ts freeToSlabs, slab.ts slabPutRun). After every workload the heap
// validates (bitmaps against in-use counts, list membership) and each class's counters agree.
import { describe, expect, it } from "vitest";
import { createAllocator, type Heap } from "../bindings/index.js";
import { counters } from "../bindings/introspection.js";
import { rng } from "./rng.js";

function classAddr(heap: Heap, size: number): number {
  const c = heap.core.walkCaches().find((x) => x.name === `kmalloc-${size}`);
  if (!c) throw new Error(`no kmalloc-${size}`);
  return c.addr;
}

// The slabs of one list of `cache` on node 0, head first (at most `max`).
function listOf(heap: Heap, cache: number, head: number, max = 1 << 16): number[] {
  const L = heap.L;
  const out: number[] = [];
  for (let d = heap.core.u32(cache + L.C_HDR + head); d !== 0 && out.length < max; d = heap.core.u32(d + L.D_NEXT)) out.push(d);
  return out;
}

// Every kmalloc class on every node: CN_TOTAL_OBJECTS = objects × (partial + full + empty slabs), and
// each list's count is its length, every slab on it says so (D_LIST).
function expectCounters(heap: Heap): void {
  const L = heap.L;
  expect(heap.validate().ok).toBe(true);
  for (const cache of heap.core.walkCaches().filter((x) => x.name.startsWith("kmalloc-"))) {
    const objects = heap.core.u32(cache.addr + L.C_OBJECTS);
    for (let node = 0; node < heap.nodes; node++) {
      const cn = cache.addr + L.C_HDR + node * L.CN_SIZE;
      let slabs = 0;
      for (const [head, nr, list] of [[L.CN_PARTIAL, L.CN_NR_PARTIAL, L.L_PARTIAL], [L.CN_FULL, L.CN_NR_FULL, L.L_FULL], [L.CN_EMPTY, L.CN_NR_EMPTY, L.L_EMPTY]] as const) {
        let n = 0;
        for (let d = heap.core.u32(cn + head!); d !== 0; d = heap.core.u32(d + L.D_NEXT)) {
          expect(heap.core.u8[d + L.D_LIST]).toBe(list);
          n++;
        }
        expect(heap.core.u32(cn + nr!)).toBe(n);
        slabs += n;
      }
      expect(heap.core.u32(cn + L.CN_TOTAL_OBJECTS)).toBe(objects * slabs);
    }
  }
}

describe("after a miss: refill and flush", () => {
  it("a refill takes whole empty slabs as one chain, in list order, onto the full list", async () => {
    const heap = await createAllocator();
    const L = heap.L;
    // warm kmalloc-4096 (1-object slabs) up: arrays on, whole-array refills, empty slabs kept
    for (let round = 0; round < 4; round++) {
      const ps: number[] = [];
      for (let i = 0; i < Math.max(300, heap.L.KM_WARM_ALLOCS! + 1); i++) ps.push(heap.malloc(4000));
      for (const p of ps) heap.free(p);
    }
    const c = classAddr(heap, 4096);
    expect(heap.core.u32(c + L.C_OBJECTS)).toBe(1);
    let seen = 0;
    const live: number[] = [];
    for (let i = 0; i < 64; i++) {
      const empty = listOf(heap, c, L.CN_EMPTY);
      const partial = listOf(heap, c, L.CN_PARTIAL);
      const before = counters(heap.core, c).sum;
      live.push(heap.malloc(4000));
      const after = counters(heap.core, c).sum;
      if (after.sheaf_refill === before.sheaf_refill || after.alloc_slab !== before.alloc_slab || partial.length !== 0) continue;
      const taken = empty.filter((d) => heap.core.u8[d + L.D_LIST] !== L.L_EMPTY).length;
      if (taken < 2) continue;
      // the first `taken` slabs of the empty list left it, and now open the full list in the same order
      // (one move per slab would have pushed them one by one: reversed)
      expect(listOf(heap, c, L.CN_FULL, taken)).toEqual(empty.slice(0, taken));
      expect(listOf(heap, c, L.CN_EMPTY)).toEqual(empty.slice(taken));
      seen++;
    }
    expect(seen).toBeGreaterThan(0);
    for (const p of live) heap.free(p);
    expectCounters(heap);
  });

  it("flushes of a many-object class free runs across words and slabs exactly", async () => {
    const heap = await createAllocator();
    const next = rng(7);
    // 16-byte objects: 256 per 4 KiB slab, four bitmap words each, so runs end at words and at slabs
    for (const order of ["forward", "backward", "interleaved", "random"] as const) {
      const ps: number[] = [];
      for (let i = 0; i < 3000; i++) {
        const p = heap.malloc(16);
        expect(p).not.toBe(0);
        ps.push(p);
      }
      let frees = ps.slice();
      if (order === "backward") frees.reverse();
      if (order === "interleaved") frees = frees.filter((_, i) => i % 2 === 0).concat(frees.filter((_, i) => i % 2 === 1));
      if (order === "random") {
        for (let i = frees.length - 1; i > 0; i--) {
          const j = Math.floor(next() * (i + 1));
          [frees[i], frees[j]] = [frees[j]!, frees[i]!];
        }
      }
      // half now, checked in between: slabs go full → partial, partial → empty, across batches
      for (const p of frees.slice(0, 1500)) heap.free(p);
      expectCounters(heap);
      for (const p of frees.slice(1500)) heap.free(p);
      expectCounters(heap);
    }
    const c = classAddr(heap, 16);
    expect(heap.core.u32(c + heap.L.C_OBJECTS)).toBeGreaterThan(64);
  });
});
