// footprint-small.test.ts — the start-up cost of a small malloc heap (issue 12, traces under 64 KiB live):
// a program that mallocs a few blocks of many sizes takes, besides the header and its alignment gap, one
// descriptor area and one slab per power-of-two lender — not a slab per class, not a sheaf cache, no
// objects parked in per-CPU arrays, and no kmem_cache slab while the gap's header cache slots last
// (assembly/cache.ts). Every bound is computed from the exported layout constants, for heap bases that
// give every size of the gap. Also: the loans themselves (assembly/kmalloc.ts borrow), the arrays'
// warm-up (classWarm), and refills that make no slab only to fill an array (node.ts refillFromNode).
import { describe, expect, it } from "vitest";
import { FOOTPRINT_CATEGORIES, createAllocator, type Footprint, type Heap } from "../bindings/index.js";

function heapBase(heap: Heap): number {
  return heap.dv.getUint32(heap.hdr + heap.L.H_HEAP_BASE, true);
}

/** Bytes handed out or kept for the heap's own use: everything but the header and memory never touched. */
function used(f: Footprint): number {
  return f.total - f.header - f.untouched - f.free;
}

// Sizes of eight different fine classes, every one at most KM_LEND_MIN (128 B: kmalloc.ts), none a
// power of two: each borrows from kmalloc-128.
const SMALL = [1, 24, 40, 56, 72, 88, 100, 120];

describe("a small malloc heap", () => {
  it("takes one descriptor area, one kmem_cache slab and one lender slab for eight small classes", async () => {
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
    // chunk 0's descriptors + the kmem_cache slab (internal) + the lender's slab (kmalloc-128 holds ≤ 64
    // objects: its bitmap is in the descriptor, so no in-slab metadata)
    expect(f.metadata).toBe(L.DESC_BYTES!);
    // kmem_caches: in the header's cache slots while they last (cache.ts), else one boot-cache slab; no
    // sheaf cache was made
    const kmemPage = heap.dv.getUint32(heap.hdr + L.H_SLOT_COUNT!, true) >= 1 ? 0 : L.PAGE_SIZE!;
    expect(f.internal).toBe(kmemPage);
    expect(f.parked).toBe(0);                               // per-CPU arrays still off (warm-up)
    expect(used(f)).toBe(L.DESC_BYTES! + kmemPage + L.PAGE_SIZE!);
    // a slab per class would have taken SMALL.length pages for the classes
    expect(used(f)).toBeLessThan(L.DESC_BYTES! + (1 + SMALL.length) * L.PAGE_SIZE!);
    for (const p of blocks) heap.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("lends at most KM_LEND_MAX blocks per class, then the class has its own cache", async () => {
    const heap = await createAllocator();
    const max = heap.L.KM_LEND_MAX!;
    const kept: number[] = [];
    for (let i = 0; i < max; i++) {
      kept.push(heap.malloc(100));
      expect(heap.usableSize(kept[i]!)).toBe(128);         // a loan: kmalloc-128's object
    }
    const own = heap.malloc(100);
    expect(heap.usableSize(own)).toBe(112);                 // kmalloc-112, the class of 100 B
    // a loan is an ordinary block: realloc in place within the lender's size, free, double free caught
    expect(heap.realloc(kept[0]!, 128)).toBe(kept[0]);
    for (const p of kept) heap.free(p);
    expect(() => heap.free(kept[1]!)).toThrow();
    heap.free(own);
    expect(heap.validate().ok).toBe(true);
  });

  it("a full lender lends no more: the next small class gets its own cache at once", async () => {
    const heap = await createAllocator();
    const L = heap.L;
    // fill kmalloc-128's first slab with loans to as many classes as it takes (KM_LEND_MAX each)
    const perSlab = L.PAGE_SIZE! / 128;
    const sizes = [1, 24, 40, 56, 72, 88, 100, 120];
    const kept: number[] = [];
    for (let i = 0; kept.length < perSlab; i++) kept.push(heap.malloc(sizes[Math.floor(i / L.KM_LEND_MAX!)]!));
    expect(kept.every((p) => heap.usableSize(p) === 128)).toBe(true);
    const next = heap.malloc(sizes[Math.floor(perSlab / L.KM_LEND_MAX!)]!);
    expect(heap.usableSize(next)).toBeLessThan(128);
    const line = heap.slabinfo().split("\n").find((l) => l.startsWith("kmalloc-128 "))!.trim().split(/\s+/);
    expect(line[14]).toBe("1");                             // the lender kept to its one slab
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
    // three classes of their own (4096, 2048 and the 128 lender of a 100-byte block) and one loan
    const sizes = [4000, 2000, 100];
    for (let k = 0; k < 16; k++) {
      const heap = await createAllocator({ heapBase: 1000 + k * 2111, reap: false });
      const L = heap.L;
      const s = slotInfo(heap);
      const blocks = sizes.map((n) => heap.malloc(n));
      const f = heap.footprint();
      expect(f.header).toBe(s.chunkBase - heapBase(heap));
      expect(f.header).toBeLessThan(L.H_BOOT! + s.bytes + 2 * L.CACHE_LINE! + L.CHUNK_BASE_ALIGN!);
      expect(f.metadata).toBe(L.DESC_BYTES!);
      // the kmem_caches: in slots while 3 fit, else on one boot-cache slab
      expect(f.internal).toBe(s.count >= sizes.length ? 0 : L.PAGE_SIZE!);
      expect(used(f)).toBe(L.DESC_BYTES! + f.internal + sizes.length * L.PAGE_SIZE!);
      if (s.count >= sizes.length) expect(slotInfo(heap).free).toBe(((s.count === 32 ? 0xffffffff : 2 ** s.count - 1) & ~0b111) >>> 0);
      for (const p of blocks) heap.free(p);
      expect(heap.validate().ok).toBe(true);
    }
  });

  it("slot caches are known to the handle checks; a free slot and a user cache's handle are not slots", async () => {
    const heap = await createAllocator({ reap: false });
    const s = slotInfo(heap);
    expect(s.count).toBeGreaterThanOrEqual(2);
    heap.free(heap.malloc(100));                             // kmalloc-128 (a lender) takes slot 0
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
