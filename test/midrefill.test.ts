// midrefill.test.ts — refill and flush of malloc's mid-size classes (issue 11 item 4, helper midrefill):
// a warmed-up kmalloc class refills a whole per-CPU array and, past a full barn, flushes the whole array
// (assembly/cpu.ts allocSlow / freeSlow), its arrays hold up to 32 KiB of objects (kmalloc.ts
// KM_ARRAY_BYTES), an alloc miss with no full sheaf in the barn takes no barn lock (sheaf.ts
// barnReplaceEmptySheaf), and refill / flush keep the slab lists and counters exact (node.ts
// refillFromNode, freeToSlabs): after every workload the heap validates and each class's counters agree.
import { describe, expect, it } from "vitest";
import { createAllocator, type Heap } from "../bindings/index.js";
import { counters } from "../bindings/introspection.js";
import { rng } from "./rng.js";
import { expectSound } from "./sound.js";

function classAddr(heap: Heap, size: number): number {
  const c = heap.core.walkCaches().find((x) => x.name === `kmalloc-${size}`);
  if (!c) throw new Error(`no kmalloc-${size}`);
  return c.addr;
}

function stats(heap: Heap, addr: number) {
  return counters(heap.core, addr).sum;
}

// A heap whose kmalloc-4096 class is past its warm-up (arrays on, batch at half an array) and keeps
// empty slabs to refill from.
async function warmHeap(): Promise<{ heap: Heap; c: number; cap: number }> {
  const heap = await createAllocator();
  for (let round = 0; round < 4; round++) {
    const ps: number[] = [];
    for (let i = 0; i < Math.max(300, heap.L.KM_WARM_ALLOCS! + 1); i++) ps.push(heap.malloc(4000));
    for (const p of ps) heap.free(p);
  }
  const c = classAddr(heap, 4096);
  const cap = heap.core.u32(c + heap.L.C_ARRAY_CAP);
  expect(heap.core.u32(c + heap.L.C_BATCH)).toBe((cap + 1) >> 1);
  return { heap, c, cap };
}

describe("malloc mid-size classes: refill and flush", () => {
  it("a class's arrays hold up to 64 KiB of objects (16 of 4 KiB)", async () => {
    const { cap } = await warmHeap();
    expect(cap).toBe(16); // KM_BIG_ARRAY_BYTES (kmalloc.ts): 64 KiB of objects for classes of 2 KiB and more
  });

  it("a warmed-up class refills a whole array per miss", async () => {
    const { heap, c, cap } = await warmHeap();
    const before = stats(heap, c);
    const n = 96;
    const ps: number[] = [];
    for (let i = 0; i < n; i++) ps.push(heap.malloc(4000));
    const after = stats(heap, c);
    const refills = after.sheaf_refill - before.sheaf_refill;
    expect(refills).toBeGreaterThan(0);
    // half an array per refill would take about n / (cap / 2) refills
    expect(refills).toBeLessThanOrEqual(Math.ceil(n / cap) + 1);
    for (const p of ps) heap.free(p);
    expectSound(heap);
  });

  it("past a full barn a class flushes its whole array", async () => {
    const { heap, c, cap } = await warmHeap();
    const n = 240;
    const ps: number[] = [];
    for (let i = 0; i < n; i++) ps.push(heap.malloc(4000));
    const before = stats(heap, c);
    for (const p of ps) heap.free(p);
    const after = stats(heap, c);
    const flushes = after.sheaf_flush - before.sheaf_flush;
    expect(after.barn_put_fail - before.barn_put_fail).toBeGreaterThan(0);
    expect(flushes).toBeGreaterThan(0);
    // half an array per flush would take about n / (cap / 2) flushes
    expect(flushes).toBeLessThanOrEqual(Math.ceil(n / cap) + 1);
    expectSound(heap);
  });

  it("an alloc miss with no full sheaf in the barn takes only the refill's node lock", async () => {
    const { heap, c } = await warmHeap();
    const before = stats(heap, c);
    const ps: number[] = [];
    for (let i = 0; i < 96; i++) ps.push(heap.malloc(4000));
    const after = stats(heap, c);
    const d = (k: keyof typeof after) => after[k] - before[k];
    expect(d("barn_get_fail")).toBeGreaterThan(0);
    expect(d("alloc_slab")).toBe(0);                   // every refill from kept empty slabs
    // one lock per refill and per full sheaf taken from the barn; none for a barn seen empty
    expect(d("lock_acquire")).toBe(d("sheaf_refill") + d("barn_get"));
    for (const p of ps) heap.free(p);
    expectSound(heap);
  });

  it("runs of mallocs and frees across the 1–8 KiB classes keep lists and counters exact", async () => {
    const heap = await createAllocator();
    const next = rng(11);
    const live: number[] = [];
    for (let round = 0; round < 60; round++) {
      const grow = next() < 0.55;
      const run = 1 + Math.floor(next() * 60);
      for (let k = 0; k < run; k++) {
        if (grow || live.length === 0) {
          const size = 1024 + Math.floor(next() * 7 * 1024);
          const p = heap.malloc(size);
          expect(p).not.toBe(0);
          live.push(p);
        } else {
          const i = Math.floor(next() * live.length);
          heap.free(live[i]!);
          live[i] = live[live.length - 1]!;
          live.pop();
        }
      }
      if (round % 10 === 9) expectSound(heap);
    }
    for (const p of live) heap.free(p);
    expectSound(heap);
    // every class on every node: CN_TOTAL_OBJECTS = objects × (partial + full + empty slabs)
    const L = heap.L;
    for (const cache of heap.core.walkCaches().filter((x) => x.name.startsWith("kmalloc-"))) {
      const objects = heap.core.u32(cache.addr + L.C_OBJECTS);
      for (let node = 0; node < heap.nodes; node++) {
        const cn = cache.addr + L.C_HDR + node * L.CN_SIZE;
        const slabs = heap.core.u32(cn + L.CN_NR_PARTIAL) + heap.core.u32(cn + L.CN_NR_FULL) + heap.core.u32(cn + L.CN_NR_EMPTY);
        expect(heap.core.u32(cn + L.CN_TOTAL_OBJECTS)).toBe(objects * slabs);
      }
    }
  });
});
