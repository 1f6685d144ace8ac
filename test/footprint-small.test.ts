// footprint-small.test.ts — the start-up cost of a small malloc heap (issue 12, traces under 64 KiB live):
// a program that mallocs a few blocks of many small sizes takes, besides the header and its slots, only
// the pre-chunk medium region (no chunk), where cold classes borrow their first blocks (assembly/kmalloc.ts lend; test/cold-class.test.ts checks the loans themselves) — not a slab
// per class, no kmem_cache, no sheaf cache, no objects parked in per-CPU arrays; classes above
// KM_COLD_MAX share one slab per power-of-two lender (kmalloc.ts borrow), and caches take no kmem_cache
// slab while the gap's header cache slots last (assembly/cache.ts). Every bound is computed from the
// exported layout constants, for heap bases that give every size of the gap. Also: the arrays' warm-up
// (classWarm) and refills that make no slab only to fill an array (node.ts refillFromNode).
import { describe, expect, it } from "vitest";
import { FOOTPRINT_CATEGORIES, createAllocator, type Footprint, type Heap } from "../bindings/index.js";

function heapBase(heap: Heap): number {
  return heap.dv.getUint32(heap.hdr + heap.L.H_HEAP_BASE, true);
}

/** Bytes handed out or kept for the heap's own use: everything but the header and memory never touched. */
function used(f: Footprint): number {
  return f.total - f.header - f.untouched - f.free;
}
/** Pages' bytes the heap took: everything but the header and memory never touched (a medium region's
 *  free blocks included: its pages are taken). */
function taken(f: Footprint): number {
  return f.total - f.header - f.untouched;
}
/** Metadata of a medium heap of one region holding `blocks` live blocks (assembly/medium.ts): the 8
 *  bytes before its first block, its sentinel, the control block and a header per block. */
function mediumMeta(heap: Heap, blocks: number): number {
  const L = heap.L;
  const ctrl = (L.MC_SIZE! + L.MB_HDR! + L.MB_GRAIN! - 1) & ~(L.MB_GRAIN! - 1);
  return 2 * L.MB_HDR! + ctrl + blocks * L.MB_HDR!;
}

/** The pre-chunk medium region [lo, end) (assembly/layout.ts; lo 0: none). */
function region(heap: Heap): { lo: number; end: number } {
  const L = heap.L;
  return { lo: heap.dv.getUint32(heap.hdr + L.H_PRE_LO!, true), end: heap.dv.getUint32(heap.hdr + L.H_CHUNK_BASE!, true) };
}
/** Grow chunk 0 (a medium block larger than the pre-chunk region): from then on the classes take slabs
 *  and caches as before the region (kmalloc.ts lend / borrow serve from the region only while the heap
 *  has no chunk). The block stays live. */
function outgrowRegion(heap: Heap): number {
  const p = heap.malloc(70_000);
  expect(heap.dv.getUint32(heap.hdr + heap.L.H_NCHUNKS!, true)).toBeGreaterThan(0);
  return p;
}

// Sizes of eight different fine classes, every one cold (at most KM_COLD_MAX): each borrows medium blocks.
const SMALL = [1, 24, 40, 56, 72, 88, 100, 120];

describe("a small malloc heap", () => {
  it("eight small classes take blocks of the pre-chunk region: no chunk, no class cache, no kmem_cache, no sheaf", async () => {
    const heap = await createAllocator();
    const L = heap.L;
    const mem = heap.memory.buffer.byteLength;
    const blocks = SMALL.map((n) => heap.malloc(n));
    const f = heap.footprint();
    expect(FOOTPRINT_CATEGORIES.reduce((s, c) => s + f[c], 0)).toBe(f.total);
    expect(f.total).toBe(heap.memory.buffer.byteLength - heapBase(heap));
    expect(heap.memory.buffer.byteLength).toBe(mem);           // memory did not grow
    const { lo, end } = region(heap);
    expect(lo).toBeGreaterThan(0);
    for (const p of blocks) expect(p >= lo && p < end).toBe(true);
    // the header: the heap header with its boot cache (one node, one CPU) and the header cache slots, up
    // to the region's descriptor
    expect(f.header).toBe(lo - L.DESC_SIZE! - heapBase(heap));
    // the region's descriptor + its control block and block headers; no chunk's descriptors
    expect(f.metadata).toBe(L.DESC_SIZE! + mediumMeta(heap, SMALL.length));
    expect(f.internal).toBe(0);                             // no kmem_cache slab, no sheaf cache
    expect(f.parked).toBe(0);
    expect(f.slabFree).toBe(0);
    expect(f.mallocObjects).toBe(SMALL.length);
    expect(taken(f)).toBe(end - lo + L.DESC_SIZE!);          // the region, nothing in a chunk
    expect(heap.dv.getUint32(heap.hdr + L.H_NCHUNKS!, true)).toBe(0);
    expect(heap.slabinfo()).not.toMatch(/^kmalloc-/m);       // no class has a cache
    for (const p of blocks) heap.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("a class above KM_COLD_MAX borrows at most KM_LEND_MAX blocks from its power-of-two lender, then has its own cache", async () => {
    const heap = await createAllocator();
    outgrowRegion(heap);
    const max = heap.L.KM_LEND_MAX!;
    expect(1100).toBeGreaterThan(heap.L.KM_COLD_MAX!);
    // kmalloc-2048's slab holds 2 objects: one loan kept, the others freed at once (the lender keeps a
    // free object, so only the count stops the loans)
    const kept = heap.malloc(1100);
    expect(heap.usableSize(kept)).toBe(2048);               // a loan: kmalloc-2048's object
    for (let i = 1; i < max; i++) {
      const p = heap.malloc(1100);
      expect(heap.usableSize(p)).toBe(2048);
      heap.free(p);
    }
    const own = heap.malloc(1100);
    expect(heap.usableSize(own)).toBe(1152);                // kmalloc-1152, the class of 1100 B
    // a loan is an ordinary block: realloc in place within the lender's size, free, double free caught
    expect(heap.realloc(kept, 2048)).toBe(kept);
    heap.free(kept);
    expect(() => heap.free(kept)).toThrow();
    heap.free(own);
    expect(heap.validate().ok).toBe(true);
  });

  it("a full lender lends no more: the next mid class gets its own cache at once", async () => {
    const heap = await createAllocator();
    outgrowRegion(heap);
    const L = heap.L;
    const lenderLine = () => heap.slabinfo().split("\n").find((l) => l.startsWith("kmalloc-2048 "))?.trim().split(/\s+/);
    // classes between 1 and 2 KiB borrow kmalloc-2048's objects: fill its first slab with loans
    const sizes = [1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800];
    const kept: number[] = [heap.malloc(sizes[0]!)];
    const perSlab = Number(lenderLine()![4]);               // objperslab
    for (let i = 1; kept.length < perSlab; i++) kept.push(heap.malloc(sizes[Math.floor(i / L.KM_LEND_MAX!)]!));
    expect(kept.every((p) => heap.usableSize(p) === 2048)).toBe(true);
    const next = heap.malloc(sizes[Math.floor(perSlab / L.KM_LEND_MAX!)]!);
    expect(heap.usableSize(next)).toBeLessThan(2048);
    expect(lenderLine()![14]).toBe("1");                    // the lender kept to its one slab
    expect(heap.validate().ok).toBe(true);
  });

  it("the per-CPU arrays come after KM_WARM_ALLOCS slow-path allocations of a class", async () => {
    const heap = await createAllocator();
    outgrowRegion(heap);
    const limit = () => heap.slabinfo().split("\n").find((l) => l.startsWith("kmalloc-4096 "))!.trim().split(/\s+/)[8];
    heap.free(heap.malloc(4096));
    expect(limit()).toBe("0");
    for (let i = 0; i < heap.L.KM_WARM_ALLOCS!; i++) heap.free(heap.malloc(4096));
    expect(Number(limit())).toBeGreaterThan(0);
    expect(heap.validate().ok).toBe(true);
  });
});

// The header cache slots (assembly/cache.ts, layout.ts H_SLOTS): the bytes between the header's end and
// its next HEADER_SLOTS_ALIGN boundary hold the kmem_caches of the heap's own caches, so a small heap
// takes no boot-cache slab for malloc's classes; the rest of the gap in front of chunk 0 (64 KiB-aligned)
// is the pre-chunk medium region. Heap bases across half a CHUNK_BASE_ALIGN period give many sizes of
// that gap.
describe("a small malloc heap's fixed cost", () => {
  const slotInfo = (heap: Heap) => {
    const L = heap.L;
    const u32 = (off: number) => heap.dv.getUint32(heap.hdr + off, true);
    return { first: u32(L.H_SLOTS!), count: u32(L.H_SLOT_COUNT!), free: u32(L.H_SLOT_FREE!), bytes: u32(L.H_CACHE_BYTES!), chunkBase: u32(L.H_CHUNK_BASE!) };
  };

  it("the alignment gap behind the header is cut into as many kmem_cache slots as fit", async () => {
    for (let k = 0; k < 16; k++) {
      const heap = await createAllocator({ heapBase: 1000 + k * 2111, reap: false });
      const L = heap.L;
      const s = slotInfo(heap);
      const end = Math.ceil((heap.hdr + L.H_BOOT! + s.bytes) / L.CACHE_LINE!) * L.CACHE_LINE!; // header + boot cache
      expect(s.chunkBase - end).toBeLessThan(L.CHUNK_BASE_ALIGN!);
      // the slots fill the gap up to its next HEADER_SLOTS_ALIGN boundary; the pre-chunk region the rest
      const limit = Math.min(s.chunkBase, Math.ceil(end / L.HEADER_SLOTS_ALIGN!) * L.HEADER_SLOTS_ALIGN!);
      expect(s.count).toBe(Math.min(L.MAX_HEADER_CACHES!, Math.floor((limit - end) / s.bytes)));
      if (s.count > 0) expect(s.first).toBe(end);
      // no slot's worth of that part is left unused (unless every slot is there)
      if (s.count < L.MAX_HEADER_CACHES!) expect(limit - (end + s.count * s.bytes)).toBeLessThan(s.bytes);
      expect(s.free).toBe(s.count === 32 ? 0xffffffff : 2 ** s.count - 1);
      const { lo } = region(heap);
      if (lo !== 0) {
        expect(lo - L.DESC_SIZE!).toBeGreaterThanOrEqual(end + s.count * s.bytes);
        expect(s.chunkBase - lo).toBeGreaterThanOrEqual(L.PRE_MIN_BYTES!);
      } else expect(s.chunkBase - (end + s.count * s.bytes)).toBeLessThan(L.PRE_MIN_BYTES! + L.DESC_SIZE! + L.MB_GRAIN!);
    }
  });

  it("takes, above the header and its slots, the pre-chunk region only: blocks of two mid classes and a loan, no cache", async () => {
    // a 4000-byte and a 2000-byte block (classes 4096 and 2048, above KM_COLD_MAX: medium blocks of the
    // region while no chunk is grown, kmalloc.ts borrow) and a cold class's loan (a 100-byte block)
    const sizes = [4000, 2000, 100];
    let seen = 0;
    for (let k = 0; k < 16; k++) {
      const heap = await createAllocator({ heapBase: 1000 + k * 2111, reap: false });
      const L = heap.L;
      const s = slotInfo(heap);
      const { lo, end } = region(heap);
      const blocks = sizes.map((n) => heap.malloc(n));
      const f = heap.footprint();
      expect(FOOTPRINT_CATEGORIES.reduce((t, c) => t + f[c], 0)).toBe(f.total);
      expect(f.other).toBe(0);
      if (lo !== 0 && blocks.every((p) => p >= lo && p < end)) {
        seen++;
        expect(f.header).toBe(lo - L.DESC_SIZE! - heapBase(heap));
        expect(f.metadata).toBe(L.DESC_SIZE! + mediumMeta(heap, sizes.length));
        expect(f.internal).toBe(0);
        expect(taken(f)).toBe(end - lo + L.DESC_SIZE!);
        expect(slotInfo(heap).free).toBe(s.count === 32 ? 0xffffffff : 2 ** s.count - 1); // no cache made
        expect(heap.slabinfo()).not.toMatch(/^kmalloc-/m);
      } else {
        // no region, or one too small for them: chunk 0, whose kmem_caches take slots while 2 fit
        expect(f.internal).toBeLessThanOrEqual(s.count >= 2 ? 0 : L.PAGE_SIZE!);
      }
      for (const p of blocks) heap.free(p);
      expect(heap.validate().ok).toBe(true);
    }
    expect(seen).toBeGreaterThan(8);
  });

  it("slot caches are known to the handle checks; a free slot and a user cache's handle are not slots", async () => {
    const heap = await createAllocator({ reap: false });
    outgrowRegion(heap);
    const s = slotInfo(heap);
    expect(s.count).toBeGreaterThanOrEqual(2);
    heap.free(heap.malloc(4000));                            // kmalloc-4096 (never cold) takes slot 0
    expect(Boolean(heap.wasm.cache_valid(s.first))).toBe(true);
    expect(Boolean(heap.wasm.cache_valid(s.first + s.bytes))).toBe(false);       // a free slot: no magic
    expect(Boolean(heap.wasm.cache_valid(s.first + heap.L.CACHE_LINE!))).toBe(false); // inside a slot
    const user = heap.createCache("user", { size: 48 });
    expect(user.addr).toBeGreaterThanOrEqual(s.chunkBase);   // user caches live on boot-cache slabs
    expect(() => heap.wasm.cache_alloc(s.first)).not.toThrow();
    expect(heap.wasm.cache_alloc(s.first)).toBe(0);          // an internal cache: refused as a handle
    user.free(user.alloc());
    user.destroy();
    expect(heap.validate().ok).toBe(true);
  });

  it("per-CPU arrays park no slab made only to fill them: 4 KiB blocks taken two at a time keep two slabs", async () => {
    const heap = await createAllocator({ reap: false });
    outgrowRegion(heap);
    const slabs = () => Number(heap.slabinfo().split("\n").find((l) => l.startsWith("kmalloc-4096 "))!.trim().split(/\s+/)[14]);
    for (let i = 0; i < 4 * heap.L.KM_WARM_ALLOCS!; i++) {
      const a = heap.malloc(4095), b = heap.malloc(4095);
      heap.free(a); heap.free(b);
      heap.free(heap.malloc(8190));
    }
    expect(Number(heap.slabinfo().split("\n").find((l) => l.startsWith("kmalloc-4096 "))!.trim().split(/\s+/)[8])).toBeGreaterThan(0); // arrays on
    expect(slabs()).toBe(2);
    expect(heap.validate().ok).toBe(true);
  });
});
