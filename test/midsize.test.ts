// midsize.test.ts — malloc's mid-size classes (1–8 KiB) and the empty slabs a class keeps (issue 11
// item 4, issue 12): a class keeps its empty slabs up to C_KEEP_EMPTY bytes per node instead of giving
// each back to the page allocator at once (assembly/node.ts keepsEmpty), and gives them back on
// shrink, on reap, under memory pressure, and before memory grows (node.ts newSlab, releaseKeptEmpty,
// another class's kept slab reused); the kernel set keeps the kernel's count of empty slabs.
// After each step the heap validates and footprint()'s categories sum exactly.
import { describe, expect, it } from "vitest";
import { createAllocator, type Heap } from "../bindings/index.js";
import { expectSound } from "./sound.js";

// The kmalloc-N cache's address (malloc's class caches are the heap's own).
function classAddr(heap: Heap, size: number): number {
  const c = heap.core.walkCaches().find((x) => x.name === `kmalloc-${size}`);
  if (!c) throw new Error(`no kmalloc-${size}`);
  return c.addr;
}

function emptySlabs(heap: Heap, addr: number): number {
  const L = heap.L;
  let n = 0;
  for (let node = 0; node < heap.nodes; node++) n += heap.core.u32(addr + L.C_HDR + node * L.CN_SIZE + L.CN_NR_EMPTY);
  return n;
}

function u32(heap: Heap, addr: number, off: number): number {
  return heap.core.u32(addr + off);
}

// malloc `count` blocks of `size` bytes, then free them all (the arrays keep some: main + spare).
function churn(heap: Heap, size: number, count: number): void {
  const ps: number[] = [];
  for (let i = 0; i < count; i++) ps.push(heap.malloc(size));
  for (const p of ps) heap.free(p);
}

describe("malloc mid-size classes: empty slabs kept by bytes", () => {
  it("a class keeps its emptied slabs (more than the kernel's 2 × min_partial), up to C_KEEP_EMPTY", async () => {
    const heap = await createAllocator();
    heap.malloc(70_000);                                         // past the pre-chunk region: chunk 0 (kmalloc.ts borrow)
    churn(heap, 4000, Math.max(200, heap.L.KM_WARM_ALLOCS! + 1)); // past the warm-up: its arrays exist
    const c = classAddr(heap, 4096);
    const L = heap.L;
    const slabBytes = 4096 << u32(heap, c, L.C_ORDER);
    const keep = u32(heap, c, L.C_KEEP_EMPTY!);
    expect(keep).toBeGreaterThan(0);
    const empty = emptySlabs(heap, c);
    const minPartial = u32(heap, c, L.C_MIN_PARTIAL);
    expect(empty).toBeGreaterThan(2 * minPartial);
    expect(empty * slabBytes).toBeLessThanOrEqual(Math.max(keep, 2 * minPartial * slabBytes));
    // the footprint counts them as free objects in slabs
    const f = heap.footprint();
    expect(f.slabFree).toBeGreaterThanOrEqual(empty * u32(heap, c, L.C_OBJECTS) * u32(heap, c, L.C_STRIDE));
    expectSound(heap);
    // malloc again: served from the kept slabs, no new pages
    const slabPages = heap.stats().slabPages[0]!;
    const grown = heap.memory.buffer.byteLength;
    churn(heap, 4000, 150);
    expect(heap.stats().slabPages[0]).toBe(slabPages);
    expect(heap.memory.buffer.byteLength).toBe(grown);
    expectSound(heap);
  });

  it("shrink gives every kept empty slab back", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("fine"); // page runs above 8 KiB, classes up to 8 KiB (the default set: medium.ts)
    churn(heap, 6000, 100);
    const c = classAddr(heap, 6144);
    expect(emptySlabs(heap, c)).toBeGreaterThan(2);
    expect(heap.shrink()).toBeGreaterThan(0);
    expect(emptySlabs(heap, c)).toBe(0);
    expectSound(heap);
  });

  it("reap passes trim the kept empty slabs to min_partial", async () => {
    const heap = await createAllocator({ reap: false });
    churn(heap, 2000, 300);
    const c = classAddr(heap, 2048);
    const before = emptySlabs(heap, c);
    expect(before).toBeGreaterThan(2);
    let pages = 0;
    for (let i = 0; i < 20; i++) pages += heap.reap().pages;
    expect(pages).toBeGreaterThan(0);
    expect(emptySlabs(heap, c)).toBeLessThanOrEqual(u32(heap, c, heap.L.C_MIN_PARTIAL));
    expectSound(heap);
  });

  it("memory growth gives kept empty slabs back before more memory is taken", async () => {
    const heap = await createAllocator();
    churn(heap, 4000, 256);                            // ~1 MiB of 4 KiB slabs, kept empty
    const c = classAddr(heap, 4096);
    const kept = emptySlabs(heap, c);
    expect(kept).toBeGreaterThan(200);
    const before = heap.memory.buffer.byteLength;
    // ~1 MiB of 64-byte objects: another class needs the pages the 4 KiB class keeps
    const small: number[] = [];
    for (let i = 0; i < 16384; i++) small.push(heap.malloc(64));
    expect(emptySlabs(heap, c)).toBeLessThanOrEqual(2 * u32(heap, c, heap.L.C_MIN_PARTIAL));
    // at most one growth step (plus a new chunk's descriptors) before the kept slabs went back, not the
    // whole megabyte they hold
    expect(heap.memory.buffer.byteLength - before).toBeLessThanOrEqual(256 << 10);
    for (const p of small) heap.free(p);
    expectSound(heap);
  });

  it("memory pressure takes the kept empty slabs: a heap at its limit still serves a large block", async () => {
    const heap = await createAllocator({ maxBytes: 4 << 20 });
    heap.setMallocClasses("fine"); // page runs above 8 KiB, classes up to 8 KiB (the default set: medium.ts)
    churn(heap, 8000, 200);                            // 1.6 MiB kept in 8 KiB slabs (up to the limit)
    const c = classAddr(heap, 8192);
    expect(emptySlabs(heap, c)).toBeGreaterThan(2);
    const big: number[] = [];
    for (let i = 0; i < 12; i++) big.push(heap.malloc(256 << 10)); // 3 MiB: needs the kept slabs' pages
    expect(big.every((p) => p !== 0)).toBe(true);
    expect(emptySlabs(heap, c)).toBeLessThanOrEqual(2);
    for (const p of big) heap.free(p);
    expectSound(heap);
  });

  it("the kernel set keeps the kernel's count of empty slabs", async () => {
    const kernel = await createAllocator();
    kernel.setMallocClasses("kernel");
    churn(kernel, 4000, 100);
    const c = classAddr(kernel, 4096);
    expect(u32(kernel, c, kernel.L.C_KEEP_EMPTY!)).toBe(0);
    expect(emptySlabs(kernel, c)).toBeLessThanOrEqual(2 * u32(kernel, c, kernel.L.C_MIN_PARTIAL));
    expectSound(kernel);
  });
});
