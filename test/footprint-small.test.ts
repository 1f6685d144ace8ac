// footprint-small.test.ts — the start-up cost of a small malloc heap (issue 12, traces under 64 KiB live):
// a program that mallocs a few blocks of many small sizes takes, besides the header and its alignment
// gap, one descriptor area and the medium heap's first page, where cold classes borrow their first
// blocks (assembly/kmalloc.ts lend; test/cold-class.test.ts checks the loans themselves) — not a slab
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

// Sizes of eight different fine classes, every one cold (at most KM_COLD_MAX): each borrows medium blocks.
const SMALL = [1, 24, 40, 56, 72, 88, 100, 120];

describe("a small malloc heap", () => {
  it("eight small classes take the medium heap's first page: no class cache, no kmem_cache, no sheaf", async () => {
    const heap = await createAllocator();
    const L = heap.L;
    const blocks = SMALL.map((n) => heap.malloc(n));
    const f = heap.footprint();
    expect(FOOTPRINT_CATEGORIES.reduce((s, c) => s + f[c], 0)).toBe(f.total);
    expect(f.total).toBe(heap.memory.buffer.byteLength - heapBase(heap));
    // the header: the heap header with its boot cache (one node, one CPU), and at most the chunk base's
    // alignment in front of chunk 0
    const bootCache = L.C_HDR! + L.CN_SIZE! + L.CACHE_LINE! + L.CC_SIZE!;
    expect(f.header).toBeLessThan(L.H_BOOT! + bootCache + L.CACHE_LINE! + L.CHUNK_BASE_ALIGN!);
    // chunk 0's descriptors + the medium heap's control block and block headers
    expect(f.metadata).toBe(L.DESC_BYTES! + mediumMeta(heap, SMALL.length));
    expect(f.internal).toBe(0);                             // no kmem_cache slab, no sheaf cache
    expect(f.parked).toBe(0);
    expect(f.slabFree).toBe(0);
    expect(f.mallocObjects).toBe(SMALL.length);
    // chunk 0's descriptors and one page of medium heap (the loans and their free rest)
    expect(taken(f)).toBe(L.DESC_BYTES! + L.PAGE_SIZE!);
    expect(heap.slabinfo()).not.toMatch(/^kmalloc-/m);       // no class has a cache
    // before cold classes, the power-of-two lender took one slab and its kmem_cache (at best) as much;
    // a slab per class would have taken SMALL.length pages
    expect(taken(f)).toBeLessThan(L.DESC_BYTES! + SMALL.length * L.PAGE_SIZE!);
    for (const p of blocks) heap.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("a class above KM_COLD_MAX borrows at most KM_LEND_MAX blocks from its power-of-two lender, then has its own cache", async () => {
    const heap = await createAllocator();
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
    const limit = () => heap.slabinfo().split("\n").find((l) => l.startsWith("kmalloc-4096 "))!.trim().split(/\s+/)[8];
    heap.free(heap.malloc(4096));
    expect(limit()).toBe("0");
    for (let i = 0; i < heap.L.KM_WARM_ALLOCS!; i++) heap.free(heap.malloc(4096));
    expect(Number(limit())).toBeGreaterThan(0);
    expect(heap.validate().ok).toBe(true);
  });
});

// The header cache slots (assembly/cache.ts, layout.ts H_SLOTS): the bytes between the header's end and
// chunk 0 (the chunk base's 32 KiB alignment) hold the kmem_caches of the heap's own caches, so a small
// heap takes no boot-cache slab for malloc's classes. Heap bases across one CHUNK_BASE_ALIGN period give
// every size of that gap.
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
      expect(s.count).toBe(Math.min(L.MAX_HEADER_CACHES!, Math.floor((s.chunkBase - end) / s.bytes)));
      if (s.count > 0) expect(s.first).toBe(end);
      // no slot's worth of the gap is left unused (unless every slot is there)
      if (s.count < L.MAX_HEADER_CACHES!) expect(s.chunkBase - (end + s.count * s.bytes)).toBeLessThan(s.bytes);
      expect(s.free).toBe(s.count === 32 ? 0xffffffff : 2 ** s.count - 1);
    }
  });

  it("takes, above the header and its gap, chunk 0's descriptors and one slab per class in use — no kmem_cache slab", async () => {
    // two classes of their own (4096, 2048) and a cold class's loan (a 100-byte block: one page of medium
    // heap, no cache)
    const sizes = [4000, 2000, 100];
    for (let k = 0; k < 16; k++) {
      const heap = await createAllocator({ heapBase: 1000 + k * 2111, reap: false });
      const L = heap.L;
      const s = slotInfo(heap);
      const blocks = sizes.map((n) => heap.malloc(n));
      const f = heap.footprint();
      expect(f.header).toBe(s.chunkBase - heapBase(heap));
      expect(f.header).toBeLessThan(L.H_BOOT! + s.bytes + 2 * L.CACHE_LINE! + L.CHUNK_BASE_ALIGN!);
      expect(f.metadata).toBe(L.DESC_BYTES! + mediumMeta(heap, 1));
      // the kmem_caches: in slots while 2 fit, else on one boot-cache slab
      expect(f.internal).toBe(s.count >= 2 ? 0 : L.PAGE_SIZE!);
      expect(taken(f)).toBe(L.DESC_BYTES! + f.internal + sizes.length * L.PAGE_SIZE!);
      if (s.count >= 2) expect(slotInfo(heap).free).toBe(((s.count === 32 ? 0xffffffff : 2 ** s.count - 1) & ~0b11) >>> 0);
      for (const p of blocks) heap.free(p);
      expect(heap.validate().ok).toBe(true);
    }
  });

  it("slot caches are known to the handle checks; a free slot and a user cache's handle are not slots", async () => {
    const heap = await createAllocator({ reap: false });
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
