// small-own.test.ts — a small malloc heap's own objects (issue 12: perl's 8 KiB of internal pages): the
// kmem_caches past the header cache slots and a warm class's sheaves are own blocks of the medium heap
// (assembly/cache.ts smallHeap / cacheMemory, sheaf.ts sheafMemory, medium.ts mediumAllocOwn), not an
// internal cache's 4 KiB slab. Checked from outside: the footprint (internal bytes, exact sum), the
// handle checks, free / realloc / usableSize of such an address (a typed error, nothing changed),
// validate, and the sheaves going back when the heap shrinks.
import { describe, expect, it } from "vitest";
import { FOOTPRINT_CATEGORIES, InvalidFreeError, createAllocator, type Footprint, type Heap } from "../bindings/index.js";

const sum = (f: Footprint) => FOOTPRINT_CATEGORIES.reduce((s, c) => s + f[c], 0);

function slotInfo(heap: Heap) {
  const L = heap.L;
  const u32 = (off: number) => heap.dv.getUint32(heap.hdr + off, true);
  return { first: u32(L.H_SLOTS!), count: u32(L.H_SLOT_COUNT!), bytes: u32(L.H_CACHE_BYTES!) };
}

/** The kmalloc class caches' addresses (the heap's list). */
function classCaches(heap: Heap): number[] {
  return heap.walkCaches().filter((c) => c.name.startsWith("kmalloc-")).map((c) => c.addr);
}

/** Is a the address of a kmem_cache in a header slot? */
function inSlot(heap: Heap, a: number): boolean {
  const s = slotInfo(heap);
  return a >= s.first && a < s.first + s.count * s.bytes && (a - s.first) % s.bytes === 0;
}

/** Malloc blocks of class size n until one is a class object (the class's first blocks are medium loans). */
function warmClass(heap: Heap, n: number, keep: number[]): void {
  for (let i = 0; i < 1000; i++) {
    const p = heap.malloc(n);
    keep.push(p);
    if (heap.usableSize(p) === n) return;
  }
  throw new Error(`class ${n} never got its cache`);
}

function sheafCaches(heap: Heap): number[] {
  const L = heap.L;
  return Array.from({ length: L.SHEAF_CLASSES! }, (_, k) => heap.dv.getUint32(heap.hdr + L.H_SHEAF_CACHES! + 4 * k, true));
}

describe("a small heap's own objects", () => {
  it("kmem_caches past the header slots are own medium blocks: no boot-cache page, handles known, free refused", async () => {
    // the C build's heap base (bench/util-peers.mjs, perl): a gap of a few slots in front of chunk 0
    const heap = await createAllocator({ heapBase: 21728, reap: false });
    const L = heap.L;
    const s = slotInfo(heap);
    expect(s.count).toBeLessThan(10);
    const keep: number[] = [heap.malloc(100)];               // a loan: the medium heap's home region
    const sizes = [16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192].slice(0, s.count + 2);
    for (const n of sizes) warmClass(heap, n, keep);
    const caches = classCaches(heap);
    expect(caches.length).toBe(sizes.length);
    const own = caches.filter((a) => !inSlot(heap, a));
    expect(own.length).toBe(2);                              // the slots, then two own blocks
    const f = heap.footprint();
    expect(sum(f)).toBe(f.total);
    expect(f.other).toBe(0);
    // the two kmem_caches' blocks (the struct and up to a cache line to align it), not a page
    expect(f.internal).toBeGreaterThanOrEqual(2 * s.bytes);
    expect(f.internal).toBeLessThan(2 * (s.bytes + L.CACHE_LINE! + L.MB_GRAIN!));
    for (const a of own) {
      expect(Boolean(heap.wasm.cache_valid(a))).toBe(true);  // a known cache (index.ts knownCache)
      expect(Boolean(heap.wasm.cache_valid(a + 16))).toBe(false);
      expect(heap.wasm.cache_alloc(a)).toBe(0);              // an internal cache: refused as a handle
      // free / realloc / usable size of its address: a typed error, nothing changed
      // (the cache sits at its own block's first cache-line boundary: the block's address in C_OWN_BLOCK)
      expect(a % L.CACHE_LINE!).toBe(0);
      const block = heap.u32(a + L.C_OWN_BLOCK!);
      expect(a - block).toBeGreaterThanOrEqual(0);
      expect(a - block).toBeLessThan(L.CACHE_LINE!);
      for (const p of new Set([block, a])) {
        let err: unknown;
        try { heap.free(p); } catch (e) { err = e; }
        expect(err).toBeInstanceOf(InvalidFreeError);
        expect((err as InvalidFreeError).reason).toBe(p === block ? "not-ours" : "not-object");
        expect(() => heap.realloc(p, 8)).toThrow();
        expect(() => heap.usableSize(p)).toThrow();
      }
    }
    expect(heap.footprint()).toEqual(f);
    expect(heap.validate().ok).toBe(true);
    // the classes work on: their objects come and go
    for (const n of sizes) heap.free(heap.malloc(n));
    for (const p of keep) heap.free(p);
    expect(heap.validate().ok).toBe(true);
    expect(sum(heap.footprint())).toBe(heap.footprint().total);
  });

  it("a warm class's sheaves are own medium blocks (no sheaf cache) and go back on shrink", async () => {
    const heap = await createAllocator({ reap: false });
    const L = heap.L;
    const keep: number[] = [heap.malloc(100)];
    warmClass(heap, 32, keep);
    const before = heap.footprint().internal;
    // KM_WARM_ALLOCS slow-path allocations: the class gets its per-CPU arrays, so sheaves
    for (let i = 0; i < 2 * L.KM_WARM_ALLOCS!; i++) keep.push(heap.malloc(32));
    for (const p of keep.splice(2)) heap.free(p);
    expect(sheafCaches(heap).every((c) => c === 0)).toBe(true);  // no sheaf cache was made
    const f = heap.footprint();
    expect(sum(f)).toBe(f.total);
    expect(f.internal).toBeGreaterThan(before);               // the sheaves' bytes ...
    expect(f.internal - before).toBeLessThan(L.PAGE_SIZE!);   // ... not a page of them
    expect(f.parked).toBeGreaterThan(0);                      // objects in the arrays
    // the main sheaf's address: free() refuses it
    const c = classCaches(heap).find((a) => heap.u32(a + L.C_SIZE!) === 32)!;
    const slot = c + heap.dv.getUint32(heap.hdr + L.H_CPU_OFF!, true);
    const main = heap.u32(slot + L.CC_MAIN!);
    expect(main).not.toBe(heap.hdr + L.H_EMPTY_SHEAF!);
    expect(() => heap.free(main)).toThrow(InvalidFreeError);
    expect(heap.validate().ok).toBe(true);
    heap.shrink();                                            // arrays flushed, sheaves freed
    const g = heap.footprint();
    expect(sum(g)).toBe(g.total);
    expect(g.parked).toBe(0);
    expect(g.internal).toBe(before);
    expect(heap.validate().ok).toBe(true);
    for (const p of keep) heap.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("a heap past the small-heap bound keeps its sheaves in a sheaf cache", async () => {
    const heap = await createAllocator({ reap: false });
    const L = heap.L;
    const big = heap.malloc(300 << 10);                       // a page run: the high-water mark past 256 KiB
    const keep: number[] = [heap.malloc(100)];
    warmClass(heap, 32, keep);
    for (let i = 0; i < 2 * L.KM_WARM_ALLOCS!; i++) keep.push(heap.malloc(32));
    for (const p of keep.splice(2)) heap.free(p);
    expect(sheafCaches(heap).some((c) => c !== 0)).toBe(true);
    expect(heap.footprint().internal).toBeGreaterThanOrEqual(L.PAGE_SIZE!);
    heap.free(big);
    for (const p of keep) heap.free(p);
    expect(heap.validate().ok).toBe(true);
  });
});
