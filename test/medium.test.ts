// medium.test.ts — the medium heap (assembly/medium.ts) through malloc: blocks above the size classes
// in the default class set are 16-byte multiples inside page regions. A model of live blocks checks
// contents, no overlap, usable sizes (the request rounded up to 16 past an 8-byte header), validate() and
// footprint() after random malloc / realloc / free; hostile frees get typed errors and change nothing;
// an out-of-memory malloc fails cleanly and the heap keeps working; a chosen class set keeps page runs.
import { describe, expect, it } from "vitest";
import { createAllocator, type Heap } from "../bindings/index.js";
import { rng } from "./rng.js";
import { expectSound } from "./sound.js";

interface Block { size: number; tag: number }

const MEDIUM_MAX = 256 << 10;

function usableFor(n: number): number {
  return Math.max(32, (n + 8 + 15) & ~15) - 8;
}

function fill(heap: Heap, p: number, b: Block): void {
  heap.u8.fill(b.tag, p, p + b.size);
}

function checkBlock(heap: Heap, p: number, b: Block): void {
  const u8 = heap.u8;
  for (const at of [p, p + b.size - 1, p + (b.size >> 1), p + (b.size >> 2)]) {
    expect(u8[at], `byte ${at - p} of the block at ${p}`).toBe(b.tag);
  }
}

function checkHeap(heap: Heap, live: Map<number, Block>): void {
  const spans = [...live.keys()].map((p) => [p, p + heap.usableSize(p)] as const).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
  for (const [p, b] of live) checkBlock(heap, p, b);
  expectSound(heap);
}

function isMedium(heap: Heap, p: number): boolean {
  const L = heap.L;
  const chunkBase = heap.core.u32(heap.core.hdr + L.H_CHUNK_BASE!);
  const pre = heap.core.u32(heap.core.hdr + L.H_PRE_LO!);        // the pre-chunk medium region
  if (pre !== 0 && p >= pre && p < chunkBase) return true;
  const ch = chunkBase + Math.floor((p - chunkBase) / L.CHUNK_SIZE!) * L.CHUNK_SIZE!;
  const d = ch + Math.floor((p - ch) / L.PAGE_SIZE!) * L.DESC_SIZE!;
  const k = heap.u8[d + L.D_KIND!];
  return k === L.K_MEDIUM || k === L.K_MEDIUM_TAIL;
}

describe("medium blocks against a model", () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`malloc / realloc / free of 8 KiB .. 300 KiB keep contents and every invariant (seed ${seed})`, async () => {
      const r = rng(seed);
      const heap = await createAllocator();
      const live = new Map<number, Block>();
      const size = () => (r() < 0.8 ? 8193 + Math.floor(r() * 40_000) : 8193 + Math.floor(r() * 300_000));
      let tag = 1;
      for (let step = 0; step < 1200; step++) {
        const x = r();
        const ptrs = [...live.keys()];
        if (x < 0.5 || ptrs.length === 0) {
          const b = { size: size(), tag: (tag++ % 250) + 1 };
          const p = heap.malloc(b.size);
          expect(p).not.toBe(0);
          expect(p % 16).toBe(0);
          if (b.size <= MEDIUM_MAX) {
            expect(isMedium(heap, p)).toBe(true);
            expect(heap.usableSize(p) - usableFor(b.size)).toBeOneOf([0, 16]); // a remainder under 32 B stays
          }
          fill(heap, p, b);
          live.set(p, b);
        } else if (x < 0.75) {
          const p = ptrs[Math.floor(r() * ptrs.length)]!;
          const b = live.get(p)!;
          const n = r() < 0.5 ? Math.max(8193, b.size + Math.floor((r() - 0.7) * 20_000)) : size();
          const q = heap.realloc(p, n);
          expect(q).not.toBe(0);
          live.delete(p);
          const keep = Math.min(n, b.size);
          const u8 = heap.u8;
          expect(u8[q]).toBe(b.tag);
          expect(u8[q + keep - 1]).toBe(b.tag);
          const nb = { size: n, tag: (tag++ % 250) + 1 };
          fill(heap, q, nb);
          live.set(q, nb);
        } else {
          const p = ptrs[Math.floor(r() * ptrs.length)]!;
          checkBlock(heap, p, live.get(p)!);
          heap.free(p);
          live.delete(p);
        }
        if (step % 50 === 0) checkHeap(heap, live);
      }
      checkHeap(heap, live);
      for (const p of live.keys()) heap.free(p);
      live.clear();
      checkHeap(heap, live);
      // everything freed: the medium heap keeps its home region only, trimmed
      const f = heap.footprint();
      expect(f.mallocClassBytes).toBe(0);
    });
  }

  it("mixes with small classes and page runs (sizes 1 .. 400 KiB)", async () => {
    const r = rng(9);
    const heap = await createAllocator();
    const live = new Map<number, Block>();
    let tag = 1;
    for (let step = 0; step < 3000; step++) {
      const ptrs = [...live.keys()];
      if (r() < 0.55 || ptrs.length === 0) {
        const x = r();
        const b = { size: x < 0.5 ? 1 + Math.floor(r() * 4000) : x < 0.9 ? 4000 + Math.floor(r() * 60_000) : Math.floor(r() * 400_000) + 1, tag: (tag++ % 250) + 1 };
        const p = heap.malloc(b.size);
        expect(p).not.toBe(0);
        fill(heap, p, b);
        live.set(p, b);
      } else {
        const p = ptrs[Math.floor(r() * ptrs.length)]!;
        checkBlock(heap, p, live.get(p)!);
        heap.free(p);
        live.delete(p);
      }
      if (step % 250 === 0) checkHeap(heap, live);
    }
    checkHeap(heap, live);
  });

  it("realloc grows in place into the free block after it and shrinks by splitting", async () => {
    const heap = await createAllocator();
    const a = heap.malloc(14_000);
    const b = heap.malloc(14_000);
    const c = heap.malloc(14_000);
    heap.u8.fill(7, a, a + 14_000);
    heap.free(b);
    expect(heap.realloc(a, 27_000)).toBe(a);                 // into b's space
    expect(heap.usableSize(a) - usableFor(27_000)).toBeOneOf([0, 16]);
    expect(heap.u8[a + 13_999]).toBe(7);
    expect(heap.realloc(a, 9_000)).toBe(a);                  // shrink: the rest is free again
    expect(heap.usableSize(a) - usableFor(9_000)).toBeOneOf([0, 16]);
    const d = heap.malloc(14_000);                           // fits the space given back
    expect(d).toBeGreaterThan(a);
    expect(d).toBeLessThan(c);
    expect(heap.validate().ok).toBe(true);
    // the last block of its region grows by taking pages after the region; past 32 KiB it moves to a
    // page run, which grows in place after that (a region in a chunk: the pre-chunk region never grows,
    // so blocks are taken until one lies past it)
    const pre = heap.core.u32(heap.core.hdr + heap.L.H_PRE_LO!);
    const fillers: number[] = [];
    let e = heap.malloc(12_000);
    while (e >= pre && e < heap.core.u32(heap.core.hdr + heap.L.H_CHUNK_BASE!)) { fillers.push(e); e = heap.malloc(12_000); }
    expect(heap.realloc(e, 30_000)).toBe(e);
    const e2 = heap.realloc(e, 200_000);
    expect(e2).not.toBe(0);
    expect(isMedium(heap, e2)).toBe(false);
    expect(heap.validate().ok).toBe(true);
    for (const p of [a, c, d, e2, ...fillers]) expect(heap.free(p)).toBeUndefined();
    expect(heap.validate().ok).toBe(true);
  });

  it("calloc zeroes a reused medium block; aligned allocation still works", async () => {
    const heap = await createAllocator();
    const p = heap.malloc(30_000);
    heap.u8.fill(0xab, p, p + 30_000);
    heap.free(p);
    const q = heap.calloc(3, 10_000);
    expect(q).not.toBe(0);
    expect(heap.u8.subarray(q, q + 30_000).every((x) => x === 0)).toBe(true);
    for (const align of [16, 32, 64, 256, 4096, 8192, 65536]) {
      const a = heap.alignedAlloc(align, 20_000);
      expect(a % align, `align ${align}`).toBe(0);
      expect(heap.usableSize(a)).toBeGreaterThanOrEqual(20_000);
      heap.free(a);
    }
    expect(heap.validate().ok).toBe(true);
  });

  it("a page-tight size (8190) is a medium block of the pre-chunk region, which node 0's medium heap starts with", async () => {
    // (kmalloc.ts MEDIUM_TIGHT_PAGES serves such sizes as exact page runs only while a node's medium heap
    // is under 4 pages: node 0's starts with the pre-chunk region, so this applies to other nodes' heaps)
    const heap = await createAllocator();
    const pre = heap.core.u32(heap.core.hdr + heap.L.H_PRE_LO!);
    const tight = heap.malloc(8190);
    expect(isMedium(heap, tight)).toBe(true);
    expect(tight).toBeGreaterThanOrEqual(pre);
    expect(heap.usableSize(tight)).toBe(usableFor(8190));
    expect(heap.free(tight)).toBeUndefined();
    expect(heap.validate().ok).toBe(true);
  });

  it("a chosen class set keeps page runs (the lab's geometry)", async () => {
    for (const set of ["fine", "kernel"] as const) {
      const heap = await createAllocator();
      heap.setMallocClasses(set);
      const p = heap.malloc(20_000);
      expect(isMedium(heap, p)).toBe(false);
      expect(heap.usableSize(p)).toBe(5 * 4096);
      heap.free(p);
    }
  });
});

describe("hostile frees of medium blocks", () => {
  it("every byte offset inside a live block, double frees and frees inside free blocks are refused, changing nothing", async () => {
    const heap = await createAllocator();
    const L = heap.L;
    const a = heap.malloc(9000);
    const b = heap.malloc(9000);
    const c = heap.malloc(9000);
    heap.u8.fill(5, b, b + 9000);
    const before = heap.footprint();
    const codes = new Set<number>();
    for (let off = -24; off < 9000; off++) {
      if (off === 0) continue;
      const e = heap.core.w.km_free(b + off);
      expect(e, `offset ${off}`).not.toBe(0);
      codes.add(e);
    }
    for (const e of codes) expect([L.E_NOT_OBJECT, L.E_DOUBLE_FREE, L.E_NOT_OURS]).toContain(e);
    expect(codes.has(L.E_NOT_OBJECT!)).toBe(true);
    expect(heap.footprint()).toEqual(before);
    expect(heap.validate().ok).toBe(true);
    expect(heap.u8[b + 4500]).toBe(5);
    expect(heap.usableSize(b)).toBe(usableFor(9000));
    // a double free, then a free of the merged header, then inside the merged free block
    expect(heap.core.w.km_free(b)).toBe(0);
    expect(heap.core.w.km_free(b)).toBe(L.E_DOUBLE_FREE);
    expect(heap.core.w.km_free(a)).toBe(0);                  // a and b merge: b's header is absorbed
    expect(heap.core.w.km_free(b)).toBe(L.E_DOUBLE_FREE);
    expect(heap.core.w.km_free(a)).toBe(L.E_DOUBLE_FREE);
    for (let off = 16; off < 18000; off += 16) {
      const e = heap.core.w.km_free(a + off);
      expect(e).not.toBe(0);
    }
    expect(() => heap.realloc(b, 100)).toThrow();
    expect(heap.validate().ok).toBe(true);
    // the control block (the home region's first block) is not a block a caller may free
    expect(heap.core.w.km_free(a - 912)).not.toBe(0);
    expect(heap.core.w.km_free(c)).toBe(0);
    expect(heap.validate().ok).toBe(true);
    const d = heap.malloc(9000);
    expect(d).not.toBe(0);
    heap.free(d);
  });

  it("validate() names a broken medium block's problem 'medium' (every validate code has a name)", async () => {
    const heap = await createAllocator();
    const a = heap.malloc(10_000), b = heap.malloc(10_000);
    const check = a - 4;                                   // the header's check word (assembly/layout.ts)
    const saved = heap.dv.getUint32(check, true);
    heap.dv.setUint32(check, saved ^ 0x1000, true);
    const v = heap.validate();
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.kind)).toContain("medium");
    for (const p of v.problems) expect(p.kind).not.toMatch(/^code-/);
    heap.dv.setUint32(check, saved, true);
    expect(heap.validate().ok).toBe(true);
    heap.free(a); heap.free(b);
  });

  it("a forged header (an old header copied elsewhere) is refused", async () => {
    const heap = await createAllocator();
    const a = heap.malloc(40_000);
    const b = heap.malloc(9000);
    heap.u8.copyWithin(a + 1000 - 8, b - 8, b);              // b's header copied inside a
    expect(heap.core.w.km_free(a + 1000)).not.toBe(0);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("medium blocks out of memory", () => {
  it("malloc past maxBytes fails with E_NOMEM, changes nothing, and the heap keeps working", async () => {
    const heap = await createAllocator({ maxBytes: 4 << 20 });
    const L = heap.L;
    const live: number[] = [];
    for (;;) {
      const p = (heap.core.w.malloc(60_000) >>> 0);
      if (p === 0) {
        expect(heap.core.w.last_error()).toBe(L.E_NOMEM);
        break;
      }
      heap.u8.fill(live.length & 0xff, p, p + 60_000);
      live.push(p);
      expect(live.length).toBeLessThan(200);
    }
    expect(heap.validate().ok).toBe(true);
    const before = heap.footprint();
    expect((heap.core.w.malloc(200_000) >>> 0)).toBe(0);
    expect(heap.footprint()).toEqual(before);
    for (let i = 0; i < live.length; i += 2) heap.free(live[i]!);
    const p = heap.malloc(60_000);
    expect(p).not.toBe(0);
    for (let i = 1; i < live.length; i += 2) expect(heap.u8[live[i]! + 59_999]).toBe(i & 0xff);
    expect(heap.validate().ok).toBe(true);
  });
});
