// fuzz.test.ts — model-based fuzzing of the cache API against a simple model: a Map of live blocks and
// their payload bytes. Random createCache / alloc / allocNode / free / destroy / pin over several caches
// on 2 nodes × 2 CPUs, plus bad frees that must change nothing. validate() runs after every phase.
import { describe, expect, it } from "vitest";
import {
  CacheBusyError,
  DoubleFreeError,
  InvalidFreeError,
  OutOfMemoryError,
  createAllocator,
  type Cache,
  type Heap,
} from "../bindings/index.js";
import { rng } from "./rng.js";


interface Block {
  cache: Cache;
  seed: number;
}

function fill(heap: Heap, p: number, size: number, seed: number): void {
  const u8 = heap.u8;
  for (let i = 0; i < size; i++) u8[p + i] = (seed + i * 31) & 0xff;
}

function check(heap: Heap, p: number, size: number, seed: number): boolean {
  const u8 = heap.u8;
  for (let i = 0; i < size; i++) if (u8[p + i] !== ((seed + i * 31) & 0xff)) return false;
  return true;
}

async function run(seed: number, ops: number, opts: { maxBytes?: number } = {}) {
  const rand = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const heap = await createAllocator({ nodes: 2, cpusPerNode: 2, maxBytes: opts.maxBytes });
  const live = new Map<number, Block>();
  const freed: { cache: Cache; ptr: number }[] = []; // recently freed through a cache without arrays
  const caches: Cache[] = [];
  const counts = { alloc: 0, free: 0, oom: 0, badFree: 0, destroy: 0, busy: 0, create: 0 };
  let nameSeq = 0;
  const sizes = [1, 8, 13, 24, 64, 100, 192, 256, 500, 1024, 1500, 4096, 9000];
  const newCache = () => {
    const size = pick(sizes);
    const cap = pick([undefined, undefined, 0, 1, 7]);
    try {
      const c = heap.createCache(`f${nameSeq++}-${size}`, { size, align: pick([1, 8, 16, 64]), arrayCapacity: cap });
      caches.push(c);
      counts.create++;
    } catch (e) {
      expect(e).toBeInstanceOf(OutOfMemoryError); // a kmem_cache is an object too
      counts.oom++;
    }
  };
  for (let i = 0; i < 4; i++) newCache();
  const phase = Math.max(1, Math.floor(ops / 20));
  for (let op = 0; op < ops; op++) {
    const r = rand();
    if (r < 0.45) {
      const c = pick(caches);
      let p = 0;
      try {
        p = rand() < 0.2 ? c.allocNode(Math.floor(rand() * 2)) : c.alloc();
      } catch (e) {
        expect(e).toBeInstanceOf(OutOfMemoryError);
        counts.oom++;
        continue;
      }
      expect(live.has(p)).toBe(false);
      expect(p % c.align).toBe(0);
      const s = Math.floor(rand() * 256);
      fill(heap, p, c.size, s);
      live.set(p, { cache: c, seed: s });
      counts.alloc++;
    } else if (r < 0.88) {
      if (live.size === 0) continue;
      // free a random live block (pick via iterator offset for cheap randomness)
      const k = Math.floor(rand() * Math.min(live.size, 64));
      const it = live.entries();
      let e = it.next();
      for (let j = 0; j < k; j++) e = it.next();
      const [p, b] = e.value!;
      expect(check(heap, p, b.cache.size, b.seed)).toBe(true);
      b.cache.free(p);
      live.delete(p);
      counts.free++;
      if (b.cache.arrayCapacity === 0) freed.push({ cache: b.cache, ptr: p });
      if (freed.length > 16) freed.shift();
    } else if (r < 0.93) {
      // bad frees: must throw a typed error and change nothing
      const c = pick(caches);
      const kind = rand();
      let bad: number;
      if (kind < 0.3 && live.size > 0) {
        const [p, b] = live.entries().next().value!;
        bad = p + 1 + Math.floor(rand() * Math.max(1, b.cache.stride - 1));
        if (bad - p >= b.cache.stride) bad = p + 1;
        expect(() => b.cache.free(bad)).toThrow(InvalidFreeError);
      } else if (kind < 0.5 && freed.length > 0) {
        const f = freed[freed.length - 1]!;
        if (!live.has(f.ptr) && !f.cache.destroyed) {
          // A double free, unless the emptied slab's pages went back (pressure reclaim, or more empty
          // slabs than the node keeps): then the pointer is in no slab of this cache. Either way: refused.
          let err: unknown;
          try { f.cache.free(f.ptr); } catch (e) { err = e; }
          expect(err instanceof DoubleFreeError || err instanceof InvalidFreeError).toBe(true);
        }
      } else if (kind < 0.7 && live.size > 0) {
        const [p, b] = live.entries().next().value!;
        const other = caches.find((x) => x !== b.cache);
        if (other) expect(() => other.free(p)).toThrow(InvalidFreeError);
      } else {
        bad = Math.floor(rand() * 2 ** 32);
        if (!live.has(bad)) {
          try {
            c.free(bad);
            throw new Error(`free(${bad}) of a random pointer succeeded`);
          } catch (e) {
            expect(e).toBeInstanceOf(InvalidFreeError);
          }
        }
      }
      counts.badFree++;
    } else if (r < 0.96) {
      heap.pin(Math.floor(rand() * 4));
    } else if (r < 0.985) {
      newCache();
    } else {
      if (caches.length <= 2) continue;
      const idx = Math.floor(rand() * caches.length);
      const c = caches[idx]!;
      const mine = [...live.values()].filter((b) => b.cache === c).length;
      if (mine > 0) {
        expect(() => c.destroy()).toThrow(CacheBusyError);
        expect(c.live).toBe(mine);
        counts.busy++;
      } else {
        c.destroy();
        caches.splice(idx, 1);
        counts.destroy++;
      }
    }
    if ((op + 1) % phase === 0) {
      const v = heap.validate();
      expect(v.problems).toEqual([]);
      for (const c of caches) expect(c.live).toBe([...live.values()].filter((b) => b.cache === c).length);
    }
  }
  // drain: every payload intact, everything freed, caches destroyed, heap consistent
  for (const [p, b] of live) {
    expect(check(heap, p, b.cache.size, b.seed)).toBe(true);
    b.cache.free(p);
  }
  for (const c of caches) c.destroy();
  expect(heap.validate().ok).toBe(true);
  return { counts, heap };
}

describe("model-based fuzz", () => {
  it("200k random operations on 2 nodes × 2 CPUs match the model", async () => {
    const { counts } = await run(0x5eed, 200_000);
    expect(counts.alloc).toBeGreaterThan(50_000);
    expect(counts.badFree).toBeGreaterThan(5_000);
    expect(counts.destroy).toBeGreaterThan(10);
  });

  it("under a tight budget, out-of-memory is clean and the model still matches", async () => {
    const { counts } = await run(0xb0d9e7, 40_000, { maxBytes: 3 << 20 });
    expect(counts.alloc).toBeGreaterThan(1_000);
    expect(counts.oom).toBeGreaterThan(100);
  });
});
