// footprint.test.ts — heap.footprint(): the categories sum exactly to memory.buffer.byteLength − heapBase
// after random workloads (caches and malloc, several seeds, several topologies), and each category
// moves the way its definition says.
import { describe, expect, it } from "vitest";
import { FOOTPRINT_CATEGORIES, InvalidArgumentError, createAllocator, type Footprint, type Heap } from "../bindings/index.js";
import { rng } from "./rng.js";

function sum(f: Footprint): number {
  return FOOTPRINT_CATEGORIES.reduce((s, c) => s + f[c], 0);
}

function heapBase(heap: Heap): number {
  return heap.dv.getUint32(heap.hdr + heap.L.H_HEAP_BASE, true);
}

function expectExact(heap: Heap, f: Footprint): void {
  expect(f.total).toBe(heap.memory.buffer.byteLength - heapBase(heap));
  expect(sum(f)).toBe(f.total);
  expect(f.other).toBe(0);
  for (const c of FOOTPRINT_CATEGORIES) expect(f[c], c).toBeGreaterThanOrEqual(0);
}

describe("heap.footprint()", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`sums exactly after a random cache + malloc workload (seed ${seed})`, async () => {
      const r = rng(seed);
      const heap = await createAllocator({ nodes: 1 + (seed % 2), cpusPerNode: 2 });
      const caches = [24, 100, 640, 3000].map((size, i) => heap.createCache(`c${i}`, { size }));
      const objs: { c: number; p: number }[] = [];
      const blocks = new Map<number, number>(); // pointer → requested bytes
      let requested = 0;
      for (let step = 0; step < 3000; step++) {
        heap.pin(Math.floor(r() * heap.cpus));
        const x = r();
        if (x < 0.3) {
          const c = Math.floor(r() * caches.length);
          objs.push({ c, p: caches[c]!.alloc() });
        } else if (x < 0.45 && objs.length) {
          const [o] = objs.splice(Math.floor(r() * objs.length), 1);
          caches[o!.c]!.free(o!.p);
        } else if (x < 0.75) {
          // small sizes mostly, some large blocks and an occasional chunk run
          const y = r();
          const n = y < 0.8 ? Math.floor(r() * 2000) : y < 0.98 ? 8193 + Math.floor(r() * 100_000) : 600_000 + Math.floor(r() * 2_000_000);
          const p = heap.malloc(n);
          blocks.set(p, n);
          requested += n;
        } else if (x < 0.9 && blocks.size) {
          const keys = [...blocks.keys()];
          const p = keys[Math.floor(r() * keys.length)]!;
          requested -= blocks.get(p)!;
          blocks.delete(p);
          heap.free(p);
        } else if (blocks.size) {
          const keys = [...blocks.keys()];
          const p = keys[Math.floor(r() * keys.length)]!;
          const n = Math.floor(r() * 20000) + 1;
          requested += n - blocks.get(p)!;
          blocks.delete(p);
          blocks.set(heap.realloc(p, n), n);
        }
        if (step % 500 === 499) {
          expectExact(heap, heap.footprint());
          const f = heap.footprint({ mallocRequested: requested });
          expectExact(heap, f);
          expect(f.requestedKnown).toBe(true);
        }
      }
      if (seed % 2) heap.shrink();
      const f = heap.footprint({ mallocRequested: requested });
      expectExact(heap, f);
      // live payload: what the caches hold plus what malloc's callers asked for, exactly
      const cacheLive = objs.reduce((s, o) => s + caches[o.c]!.size, 0);
      expect(f.live).toBe(cacheLive + requested);
      expect(heap.validate().ok).toBe(true);
    });
  }

  it("sums exactly with debug caches (red zones, poison, tracks, quarantine) and kernel classes", async () => {
    const heap = await createAllocator({ debug: true, nodes: 2, cpusPerNode: 1 });
    heap.setMallocClasses("kernel");
    const c = heap.createCache("d", { size: 100, debug: { redZone: true, poison: true, storeUser: true } });
    const ps = Array.from({ length: 300 }, () => c.alloc());
    for (const p of ps.slice(0, 100)) c.free(p);
    let requested = 0;
    for (let i = 0; i < 200; i++) { heap.pin(i % 2); heap.malloc(i * 37); requested += i * 37; }
    const f = heap.footprint({ mallocRequested: requested });
    expectExact(heap, f);
    expect(f.live).toBe(200 * 100 + requested);
  });

  it("a fresh heap is header, metadata and untouched memory; a freed block comes back as free pages", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("fine"); // page runs above 8 KiB, classes up to 8 KiB (the default set: medium.ts)
    const f0 = heap.footprint();
    expectExact(heap, f0);
    expect(f0.live + f0.rounding + f0.parked + f0.slabFree).toBe(0);
    // free: the pre-chunk medium region's one free block (below the high-water mark, which starts at
    // chunk 0: assembly/layout.ts "The pre-chunk region"), nothing else
    const L = heap.L;
    const pre = heap.core.u32(heap.core.hdr + L.H_PRE_LO!);
    const ctrl = (L.MC_SIZE! + L.MB_HDR! + L.MB_GRAIN! - 1) & ~(L.MB_GRAIN! - 1);
    expect(f0.free).toBe(pre === 0 ? 0 : heap.core.u32(heap.core.hdr + L.H_CHUNK_BASE!) - pre - 2 * L.MB_HDR! - ctrl);
    expect(f0.header).toBeGreaterThan(0);
    const p = heap.malloc(100_000);                              // 25 pages: a large block
    const f1 = heap.footprint({ mallocRequested: 100_000 });
    expectExact(heap, f1);
    expect(f1.live).toBe(100_000);
    expect(f1.largeTail).toBe(25 * 4096 - 100_000);
    heap.free(p);
    const f2 = heap.footprint();
    expectExact(heap, f2);
    expect(f2.live).toBe(0);
    expect(f2.free).toBeGreaterThanOrEqual(25 * 4096);          // handed out once: free, not untouched
  });

  it("class objects split into payload and rounding when the requested bytes are known", async () => {
    const heap = await createAllocator();
    const ps = [1000, 1000, 50].map((n) => heap.malloc(n));
    const usable = ps.reduce((s, p) => s + heap.usableSize(p), 0);
    const f = heap.footprint({ mallocRequested: 2050 });
    expectExact(heap, f);
    expect(f.mallocObjects).toBe(3);
    expect(f.mallocClassBytes).toBe(usable);
    expect(f.live).toBe(2050);
    expect(f.rounding).toBe(usable - 2050);
    const g = heap.footprint();
    expect(g.live).toBe(usable);
    expect(g.requestedKnown).toBe(false);
    heap.free(ps[0]!);
    const h = heap.footprint({ mallocRequested: 1050 });
    expectExact(heap, h);
    // a freed class object is parked or free in its slab; a cold class's loan (kmalloc.ts lend) is a
    // free medium block
    expect(h.parked + h.slabFree + h.free - (f.parked + f.slabFree + f.free)).toBeGreaterThanOrEqual(heap.usableSize(ps[1]!));
  });

  it("bad mallocRequested: a typed error", async () => {
    const heap = await createAllocator();
    heap.malloc(10);
    expect(() => heap.footprint({ mallocRequested: -1 })).toThrow(InvalidArgumentError);
    expect(() => heap.footprint({ mallocRequested: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => heap.footprint({ mallocRequested: 1 << 20 })).toThrow(InvalidArgumentError); // more than usable
  });
});
