// prechunk.test.ts — the pre-chunk medium region (assembly/layout.ts "The pre-chunk region", medium.ts
// mediumPreInit): the bytes between the header cache slots and chunk 0 (64 KiB-aligned) are node 0's home
// medium region, in no chunk. A small heap's blocks (medium sizes, cold-class loans, mid-size classes
// while no chunk is grown) live there and memory does not grow; free / realloc / usable size work on its
// blocks; bad pointers into it (its descriptor, its control block, interiors, double frees) get typed
// errors and change nothing; validate() and footprint() (categories summing exactly) know it; a heap that
// outgrows it takes chunk 0 and keeps the region's blocks.
import { describe, expect, it } from "vitest";
import { createAllocator, type Heap } from "../bindings/index.js";
import { rng } from "./rng.js";
import { expectSound } from "./sound.js";

function region(heap: Heap): { lo: number; end: number } {
  const L = heap.L;
  return { lo: heap.core.u32(heap.core.hdr + L.H_PRE_LO!), end: heap.core.u32(heap.core.hdr + L.H_CHUNK_BASE!) };
}

function inRegion(heap: Heap, p: number): boolean {
  const { lo, end } = region(heap);
  return p >= lo && p < end;
}

function nchunks(heap: Heap): number {
  return heap.core.u32(heap.core.hdr + heap.L.H_NCHUNKS!);
}

describe("the pre-chunk medium region", () => {
  it("lies between the header and chunk 0, which starts on a Wasm page", async () => {
    const heap = await createAllocator();
    const { lo, end } = region(heap);
    expect(end % 65536).toBe(0);
    expect(lo).toBeGreaterThan(heap.core.hdr);
    expect(lo % 16).toBe(0);
    expect(end - lo).toBeGreaterThanOrEqual(heap.L.PRE_MIN_BYTES!);
    expect(nchunks(heap)).toBe(0);
    expectSound(heap);
  });

  it("holds a small heap's blocks: medium sizes, loans, mid-size classes; memory does not grow", async () => {
    const heap = await createAllocator();
    const mem = heap.memory.buffer.byteLength;
    const b = heap.malloc(16);                           // a cold class's loan
    const c = heap.malloc(3000);                         // a mid-size class, no chunk yet
    const d = heap.malloc(4096);
    const a = heap.malloc(5000);                         // a medium block
    for (const p of [a, b, c, d]) {
      expect(p).not.toBe(0);
      expect(inRegion(heap, p), `${p}`).toBe(true);
      expect(heap.nodeOf(p)).toBe(0);
    }
    heap.u8.fill(7, a, a + 5000);
    expect(heap.usableSize(a)).toBeGreaterThanOrEqual(5000);
    // realloc grows in place when free bytes follow (small blocks come from the free space's end)
    let q = a;
    for (let n = 5000; n < 12000; n += 500) {
      q = heap.realloc(q, n);
      expect(q).not.toBe(0);
      expect(heap.u8[q]).toBe(7);
    }
    expect(q).toBe(a);
    expect(heap.core.w.km_free(b)).toBe(0);
    expect(heap.core.w.km_free(c)).toBe(0);
    expect(heap.core.w.km_free(d)).toBe(0);
    expect(heap.core.w.km_free(q)).toBe(0);
    expect(heap.memory.buffer.byteLength).toBe(mem);
    expect(nchunks(heap)).toBe(0);
    expectSound(heap);
  });

  it("while no chunk is grown, a cold class lends past KM_COLD_ALLOCS from it; a mid class takes its blocks", async () => {
    const heap = await createAllocator({ reap: false });
    const L = heap.L;
    for (let i = 0; i < 2 * L.KM_COLD_ALLOCS!; i++) {
      const p = heap.malloc(300);
      expect(inRegion(heap, p), `loan ${i}`).toBe(true);
      heap.free(p);
    }
    const m = heap.malloc(1500);                           // above KM_COLD_MAX: a medium block, no lender
    expect(inRegion(heap, m)).toBe(true);
    expect(heap.usableSize(m)).toBeGreaterThanOrEqual(1536);
    expect(heap.slabinfo()).not.toMatch(/^kmalloc-/m);
    expect(nchunks(heap)).toBe(0);
    heap.free(m);
    expectSound(heap);
  });

  it("serves blocks past the cold budgets for KM_CHUNKLESS_MAX of them, then its classes get slabs in chunk 0", async () => {
    const heap = await createAllocator({ reap: false });
    const L = heap.L;
    const max = L.KM_CHUNKLESS_MAX!;
    const count = () => heap.core.u32(heap.core.hdr + L.H_KMALLOC! + L.KM_CHUNKLESS!);
    // a small class: its first KM_COLD_ALLOCS loans are cold loans, the rest count as chunkless blocks
    for (let i = 0; i < L.KM_COLD_ALLOCS!; i++) heap.free(heap.malloc(48));
    expect(count()).toBe(0);
    // a class above KM_COLD_MAX counts from its first block
    const m = heap.malloc(3000);
    expect(inRegion(heap, m)).toBe(true);
    expect(count()).toBe(1);
    heap.free(m);
    for (let i = 1; i < max; i++) {
      const p = heap.malloc(48);
      if (!inRegion(heap, p)) throw new Error(`block ${i} of ${max} left the region`);
      heap.free(p);
    }
    expect(count()).toBe(max);
    expect(nchunks(heap)).toBe(0);
    expect(heap.slabinfo()).not.toMatch(/^kmalloc-/m);
    // the next one: the class's cache, a slab in chunk 0 (memory grew), the region untouched
    const mem = heap.memory.buffer.byteLength;
    const p = heap.malloc(48);
    expect(inRegion(heap, p)).toBe(false);
    expect(nchunks(heap)).toBe(1);
    expect(heap.memory.buffer.byteLength).toBeGreaterThan(mem);
    expect(heap.slabinfo()).toMatch(/^kmalloc-48 /m);
    const q = heap.malloc(3000);                                  // and the mid class: no region block
    expect(inRegion(heap, q)).toBe(false);
    expect(count()).toBe(max);
    heap.free(p);
    heap.free(q);
    expectSound(heap);
  });

  it("refuses bad pointers into it with typed errors and changes nothing", async () => {
    const heap = await createAllocator();
    const L = heap.L;
    const { lo } = region(heap);
    const a = heap.malloc(6000);
    expect(inRegion(heap, a)).toBe(true);
    const before = heap.footprint();
    const w = heap.core.w;
    expect(w.km_free(lo - L.DESC_SIZE!)).toBe(L.E_NOT_OURS);       // its descriptor
    expect(w.km_free(lo - 64)).toBe(L.E_NOT_OURS);                 // the header slots
    expect(w.km_free(heap.core.hdr + 16)).toBe(L.E_NOT_OURS);     // the heap header
    expect(w.km_free(lo + 2 * L.MB_HDR!)).toBe(L.E_NOT_OURS);     // the control block
    expect(w.km_free(lo + 2 * L.MB_HDR! + 64)).toBe(L.E_NOT_OBJECT); // inside the control block
    expect(w.km_free(a + 16)).toBe(L.E_NOT_OBJECT);               // an interior pointer
    expect(w.km_free(a + 4)).toBe(L.E_NOT_OBJECT);                // unaligned
    expect(w.km_realloc(a + 32, 100)).toBe(0);
    expect(w.last_error()).toBe(L.E_NOT_OBJECT);
    expect(w.km_usable(lo + 2 * L.MB_HDR!)).toBe(0);
    expect(heap.footprint()).toEqual(before);
    expectSound(heap);
    expect(w.km_free(a)).toBe(L.E_OK);
    expect(w.km_free(a)).toBe(L.E_DOUBLE_FREE);
    const b = heap.malloc(100);                                    // a loan, and a block after it
    const c = heap.malloc(6000);
    expect(w.km_free(c)).toBe(L.E_OK);                             // coalesced with the free space
    expect(w.km_free(c)).toBe(L.E_DOUBLE_FREE);
    expect(w.km_free(b)).toBe(L.E_OK);
    expectSound(heap);
  });

  it("a heap that outgrows it takes chunk 0 and keeps its blocks; random work keeps every invariant", async () => {
    const heap = await createAllocator();
    const r = rng(12);
    const live = new Map<number, { size: number; tag: number }>();
    let tag = 1, inPre = 0;
    for (let step = 0; step < 3000; step++) {
      const ptrs = [...live.keys()];
      const x = r();
      if (x < 0.55 || ptrs.length === 0) {
        const size = r() < 0.5 ? 1 + Math.floor(r() * 200) : r() < 0.7 ? 1000 + Math.floor(r() * 4000) : 4097 + Math.floor(r() * 20000);
        const p = heap.malloc(size);
        expect(p).not.toBe(0);
        const t = (tag++ % 250) + 1;
        heap.u8.fill(t, p, p + size);
        live.set(p, { size, tag: t });
        if (inRegion(heap, p)) inPre++;
      } else if (x < 0.75) {
        const p = ptrs[Math.floor(r() * ptrs.length)]!;
        const b = live.get(p)!;
        const n = 1 + Math.floor(r() * 30000);
        const q = heap.realloc(p, n);
        expect(q).not.toBe(0);
        live.delete(p);
        const keep = Math.min(n, b.size);
        expect(heap.u8[q]).toBe(b.tag);
        expect(heap.u8[q + keep - 1]).toBe(b.tag);
        heap.u8.fill(b.tag, q, q + n);
        live.set(q, { size: n, tag: b.tag });
      } else {
        const p = ptrs[Math.floor(r() * ptrs.length)]!;
        const b = live.get(p)!;
        expect(heap.u8[p + b.size - 1]).toBe(b.tag);
        expect(heap.core.w.km_free(p)).toBe(0);
        live.delete(p);
      }
      if (step % 500 === 0) expectSound(heap);
    }
    expect(inPre).toBeGreaterThan(0);
    expect(nchunks(heap)).toBeGreaterThan(0);
    for (const [p, b] of live) {
      expect(heap.u8[p]).toBe(b.tag);
      expect(heap.core.w.km_free(p)).toBe(0);
    }
    expectSound(heap);
    heap.shrink();                                        // the region is never given back
    expectSound(heap);
    const p = heap.malloc(5000);
    expect(inRegion(heap, p)).toBe(true);
  });
});
