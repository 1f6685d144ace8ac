// large.test.ts — malloc / realloc / free of blocks above the size classes (page runs and chunk runs)
// against a model: every live block keeps its bytes, no two live blocks overlap, usable sizes are exact
// pages, the node's large-page count matches the model, footprint() sums exactly, and validate() passes
// throughout (free runs coalesced, bins and counts right). Also: in-place growth and shrinking of a run,
// and that every page comes back when everything is freed.
import { describe, expect, it } from "vitest";
import { createAllocator, type Heap } from "../bindings/index.js";
import { rng } from "./rng.js";
import { expectSound } from "./sound.js";

const PAGE = 4096;
const CHUNK = 1 << 20;

interface Block { size: number; tag: number }

function pagesOf(heap: Heap, size: number): number {
  return size <= heap.L.KMALLOC_MAX! ? 0 : size <= (CHUNK - 8192) && Math.ceil(size / PAGE) <= 254 ? Math.ceil(size / PAGE) : Math.ceil((size + 8192) / CHUNK) * 256;
}

function fillBlock(heap: Heap, p: number, b: Block): void {
  heap.u8.fill(b.tag, p, p + b.size);
}

function checkBlock(heap: Heap, p: number, b: Block): void {
  const u8 = heap.u8;
  expect(u8[p], `first byte of ${p}`).toBe(b.tag);
  expect(u8[p + b.size - 1], `last byte of ${p}`).toBe(b.tag);
  expect(u8[p + (b.size >> 1)], `middle byte of ${p}`).toBe(b.tag);
}

function checkModel(heap: Heap, live: Map<number, Block>): void {
  const spans = [...live].map(([p, b]) => [p, p + heap.usableSize(p)] as const).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
  for (const [p, b] of live) checkBlock(heap, p, b);
  let pages = 0;
  for (const b of live.values()) pages += pagesOf(heap, b.size);
  expect(heap.stats().largePages[0]).toBe(pages);
  expectSound(heap);
}

describe("large blocks against a model", () => {
  for (const seed of [1, 2, 3]) {
    it(`malloc / realloc / free of 8 KiB .. 1.5 MiB keep contents, exact pages and every invariant (seed ${seed})`, async () => {
      const r = rng(seed);
      const heap = await createAllocator();
      heap.setMallocClasses("fine"); // page runs above 8 KiB, classes up to 8 KiB (the default set: medium.ts)
      const live = new Map<number, Block>();
      const size = () => {
        const x = r();
        return x < 0.7 ? 8193 + Math.floor(r() * 60_000) : x < 0.95 ? 8193 + Math.floor(r() * 900_000) : 1_100_000 + Math.floor(r() * 500_000);
      };
      let tag = 1;
      for (let step = 0; step < 1500; step++) {
        const x = r();
        const ptrs = [...live.keys()];
        if (x < 0.45 || ptrs.length === 0) {
          const b = { size: size(), tag: (tag++ % 250) + 1 };
          const p = heap.malloc(b.size);
          expect(p % PAGE === 0 || b.size > 254 * PAGE).toBe(true);
          expect(heap.usableSize(p)).toBeGreaterThanOrEqual(b.size);
          fillBlock(heap, p, b);
          live.set(p, b);
        } else if (x < 0.75) {
          const p = ptrs[Math.floor(r() * ptrs.length)]!;
          const b = live.get(p)!;
          checkBlock(heap, p, b);
          heap.free(p);
          live.delete(p);
        } else {
          const p = ptrs[Math.floor(r() * ptrs.length)]!;
          const b = live.get(p)!;
          // grow or shrink by up to ±40%, sometimes by a few bytes
          const n = r() < 0.3 ? Math.max(8193, b.size + Math.floor((r() - 0.5) * 64)) : Math.max(8193, Math.floor(b.size * (0.6 + r() * 0.8)));
          const q = heap.realloc(p, n);
          const kept = Math.min(n, b.size);
          expect(heap.u8[q]).toBe(b.tag);
          expect(heap.u8[q + kept - 1]).toBe(b.tag);
          live.delete(p);
          const nb = { size: n, tag: (tag++ % 250) + 1 };
          fillBlock(heap, q, nb);
          live.set(q, nb);
        }
        if (step % 100 === 0) checkModel(heap, live);
      }
      checkModel(heap, live);
      for (const p of live.keys()) heap.free(p);
      const s = heap.stats();
      expect(s.largePages[0]).toBe(0);
      expect(s.freePages[0]).toBe(s.chunks * 254 - s.slabPages[0]!);
      expect(heap.validate().ok).toBe(true);
    });
  }

  it("a run shrinks in place giving pages back at once, and grows in place into the free pages after it", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("fine"); // page runs above 8 KiB, classes up to 8 KiB (the default set: medium.ts)
    const a = heap.malloc(10 * PAGE);
    heap.u8.fill(1, a, a + 10 * PAGE);
    const free0 = heap.stats().freePages[0]!;
    expect(heap.realloc(a, 3 * PAGE - 5)).toBe(a);        // shrinks: 7 pages back
    expect(heap.usableSize(a)).toBe(3 * PAGE);
    expect(heap.stats().freePages[0]).toBe(free0 + 7);
    expect(heap.stats().largePages[0]).toBe(3);
    expect(heap.validate().ok).toBe(true);
    expect(heap.realloc(a, 5 * PAGE)).toBe(a);            // the pages just given back are right after it
    expect(heap.stats().freePages[0]).toBe(free0 + 5);
    expect(heap.realloc(a, 5 * PAGE - 100)).toBe(a);      // same pages: nothing moves
    expect(heap.stats().freePages[0]).toBe(free0 + 5);
    expect(heap.u8.subarray(a, a + 3 * PAGE - 5).every((x) => x === 1)).toBe(true);
    expect(heap.validate().ok).toBe(true);
    const b = heap.malloc(2 * PAGE + 1);                  // best fit: some free run; a's neighbour or not
    const spanA = [a, a + 5 * PAGE];
    const grown = heap.realloc(a, 8 * PAGE);
    if (b >= spanA[1]! && b < spanA[1]! + 3 * PAGE) expect(grown).not.toBe(a); // b is in the way: moved
    expect(heap.u8.subarray(grown, grown + 3 * PAGE - 5).every((x) => x === 1)).toBe(true);
    heap.free(grown);
    heap.free(b);
    expect(heap.stats().largePages[0]).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("blocks up to a chunk's usable pages stay page runs (no whole-chunk rounding); larger ones are chunk runs", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("fine"); // page runs above 8 KiB, classes up to 8 KiB (the default set: medium.ts)
    const p = heap.malloc(600_000);
    expect(heap.usableSize(p)).toBe(Math.ceil(600_000 / PAGE) * PAGE);
    const q = heap.malloc(254 * PAGE);
    expect(heap.usableSize(q)).toBe(254 * PAGE);
    const r = heap.malloc(254 * PAGE + 1);
    // a run of 2 chunks, committed to the block's end rounded to a Wasm page (assembly/page.ts runUsable)
    expect(heap.usableSize(r)).toBe(Math.min(2 * CHUNK - 8192, Math.ceil((r + 254 * PAGE + 1) / 65536) * 65536 - r));
    heap.u8.fill(3, r, r + heap.usableSize(r));
    expect(heap.validate().ok).toBe(true);
    heap.free(p); heap.free(q); heap.free(r);
    expect(heap.stats().largePages[0]).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("a huge block asked for again after a chunk of its freed run was taken grows the heap by what it lacks, not by a new run", async () => {
    // bench's corners trace: malloc(50 MiB), free, a little else, again, every replay. The freed run's chunks
    // go on the free-chunk list lowest on top (page.ts runFree), so the chunk a page run takes next is the
    // run's lowest and the rest stays one stretch up to the top of the heap; runAlloc then grows only the
    // chunks that stretch lacks. Before, the page run took the run's highest chunk and the next huge block
    // grew a whole new run beside the free one (the heap doubled).
    const heap = await createAllocator();
    const big = 20 * CHUNK;
    const p = heap.malloc(big);
    heap.u8.fill(5, p, p + big);
    heap.free(p);
    const before = heap.u8.length;
    const q = heap.malloc(254 * PAGE);                    // a page run of a whole chunk's usable pages: a free chunk
    expect(q).toBeGreaterThanOrEqual(p - 8192);
    expect(q).toBeLessThan(p + 2 * CHUNK);                // the freed run's lowest chunk
    heap.u8.fill(6, q, q + 254 * PAGE);
    const r = heap.malloc(big);
    expect(r).not.toBe(0);
    expect(heap.u8.length - before).toBeLessThanOrEqual(2 * CHUNK);
    heap.u8.fill(7, r, r + big);
    expect(heap.u8.subarray(q, q + 254 * PAGE).every((x) => x === 6)).toBe(true);
    expect(heap.validate().ok).toBe(true);
    heap.free(r);
    heap.free(q);
    expect(heap.stats().largePages[0]).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("bad pointers into large blocks and free runs are refused and change nothing", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("fine"); // page runs above 8 KiB, classes up to 8 KiB (the default set: medium.ts)
    const p = heap.malloc(40_000);
    const before = heap.stats();
    expect(() => heap.free(p + PAGE)).toThrow();           // inside the block
    expect(() => heap.free(p + 16)).toThrow();
    heap.free(p);
    expect(() => heap.free(p)).toThrow();                  // a free run now
    expect(() => heap.free(p + 3 * PAGE)).toThrow();
    expect(heap.stats().largePages[0]).toBe(before.largePages[0]! - 10);
    expect(heap.validate().ok).toBe(true);
  });
});
