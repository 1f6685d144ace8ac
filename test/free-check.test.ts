// free-check.test.ts — the free fast path's checks after issue 11's change (assembly/harden.ts hardenFree,
// slab.ts checkObjectStart, cpu.ts freeConfirm): the fast path no longer reads the slab bitmap. A free-key
// object free in its slab holds its key (slab.ts slabNew keys every object of a new slab; objects that go
// back to their slab keep theirs), so a free of it finds the key and the cold confirm reads the bitmap.
// These cases pin that down: objects that never left their slab, objects flushed back to it, objects
// destroyed by targeted reclaim, for a keyed cache, an in-use-bits cache and malloc; and the object-start
// test (the stride's inverse, rotated) against every byte of a slab for strides that are and are not
// powers of two.
import { describe, expect, it } from "vitest";
import { DoubleFreeError, InvalidFreeError, createAllocator, type Heap } from "../bindings/index.js";

const PAGE = 4096;

/** Free p expecting a typed error; returns its class name. */
function refused(f: () => void): string {
  try {
    f();
  } catch (e) {
    return (e as Error).constructor.name;
  }
  return "accepted";
}

async function heapWith(): Promise<Heap> {
  return createAllocator({ reap: false });
}

describe("free of an object that is free in its slab (the fast path reads no bitmap)", () => {
  for (const inUseBits of [false, true]) {
    it(`objects that never left their slab, and objects flushed back to it, are refused (inUseBits: ${inUseBits})`, async () => {
      const heap = await heapWith();
      const c = heap.createCache("fc", { size: 64, inUseBits });
      const p = c.alloc();
      const page = p - (p % PAGE);
      // every other object start on p's page: parked in the array (the refill batch) or free in the slab
      const others: number[] = [];
      for (let q = p - 64 * Math.floor((p - page) / 64); q + 64 <= page + PAGE; q += 64) if (q !== p) others.push(q);
      const before = heap.validate();
      expect(before.ok).toBe(true);
      const names: Record<string, number> = {};
      for (const q of others) {
        const n = refused(() => c.free(q));
        names[n] = (names[n] ?? 0) + 1;
      }
      expect(names.accepted ?? 0).toBe(0);
      expect(Object.keys(names).every((n) => n === "DoubleFreeError" || n === "InvalidFreeError")).toBe(true);
      expect(names.DoubleFreeError).toBeGreaterThan(0);
      // nothing changed: the next allocations are distinct, and p is still ours to free
      c.free(p);
      const got = Array.from({ length: 300 }, () => c.alloc());
      expect(new Set(got).size).toBe(got.length);
      // all back but every 8th (so no slab empties and goes back to the pages), flushed to their slabs:
      // now each freed one is free in its slab
      const kept = got.filter((_, i) => i % 8 === 0);
      const freed = got.filter((_, i) => i % 8 !== 0);
      for (const q of freed) c.free(q);
      c.shrink();
      for (const q of freed.slice(0, 50)) expect(() => c.free(q)).toThrow(DoubleFreeError);
      for (const q of kept) c.free(q);
      const again = Array.from({ length: 300 }, () => c.alloc());
      expect(new Set(again).size).toBe(again.length);
      expect(heap.validate().ok).toBe(true);
    });
  }

  it("malloc: a block freed, flushed back to its slab, then freed again is a double free", async () => {
    const heap = await heapWith();
    const ps = Array.from({ length: 400 }, (_, i) => heap.malloc(16 + (i % 5) * 40));
    const kept = ps.filter((_, i) => i % 10 < 5);            // every class keeps live blocks in its slabs
    const freed = ps.filter((_, i) => i % 10 >= 5);
    for (const p of freed) heap.free(p);
    heap.shrink();
    for (const p of freed.slice(0, 40)) expect(() => heap.free(p)).toThrow(DoubleFreeError);
    for (const p of kept) heap.free(p);
    const qs = Array.from({ length: 400 }, (_, i) => heap.malloc(16 + (i % 5) * 40));
    expect(new Set(qs).size).toBe(qs.length);
    expect(heap.validate().ok).toBe(true);
  });

  it("malloc(0) is served by the first class and freed like any block", async () => {
    const heap = await heapWith();
    heap.setMallocClasses("fine"); // chosen: served exactly, no loans (the default lends a class's first blocks)
    const zs = Array.from({ length: 100 }, () => heap.malloc(0));
    expect(new Set(zs).size).toBe(100);
    expect(zs.every((z) => z !== 0 && z % 8 === 0)).toBe(true);
    expect(heap.usableSize(zs[0]!)).toBe(8);
    for (const z of zs) heap.free(z);
    expect(() => heap.free(zs[0]!)).toThrow(DoubleFreeError);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("object start: the stride's inverse accepts exactly the object starts", () => {
  // strides: powers of two, odd multiples of 8, and odd sizes rounded to 8 by the cache
  for (const size of [8, 16, 24, 40, 48, 64, 72, 96, 100, 120, 136, 192, 200, 256, 328, 500, 1000, 1024, 1800, 3000]) {
    it(`size ${size}: every byte of a slab but the object starts is InvalidFreeError`, async () => {
      const heap = await heapWith();
      const c = heap.createCache(`s${size}`, { size });
      const live = Array.from({ length: 24 }, () => c.alloc());
      const p = live[0]!;
      const stride = Math.ceil(size / 8) * 8;                   // a plain cache: size rounded up to its 8-byte alignment
      for (const x of live) if (Math.floor(x / PAGE) === Math.floor(p / PAGE)) expect(Math.abs(x - p) % stride).toBe(0);
      const lo = p - (p % PAGE);
      for (let a = lo; a < lo + PAGE; a++) {                   // p's page lies inside p's slab
        if ((a - p) % stride === 0) continue; // another object start: parked or free, not this test's case
        const n = refused(() => c.free(a));
        if (n !== "InvalidFreeError") throw new Error(`free(${a}) of size ${size} (stride ${stride}, p ${p}): ${n}`);
      }
      for (const x of live) c.free(x);
      expect(heap.validate().ok).toBe(true);
    });
  }
  it("a wrong-cache object is InvalidFreeError, and the object is still live in its own cache", async () => {
    const heap = await heapWith();
    const a = heap.createCache("a", { size: 64 });
    const b = heap.createCache("b", { size: 64 });
    const p = a.alloc();
    expect(() => b.free(p)).toThrow(InvalidFreeError);
    a.free(p);
    expect(() => a.free(p)).toThrow(DoubleFreeError);
  });
});
