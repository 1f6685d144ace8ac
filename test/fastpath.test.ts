// fastpath.test.ts — Cache.alloc()'s JS hit path (bindings/fastpath.ts): a hit pops in JS with no Wasm
// call and exact counters; a miss makes the one Wasm call; the views follow memory growth (inside a miss,
// through a raw export, and — shared — from another instance); pinning is honoured, by Heap.pin and by a
// raw pin_cpu; hardening state is the Wasm's (free key cleared, in-use bit set), so every bad free and
// double free is still refused and no object is handed out twice; careful caches and caches the path
// declines keep the Wasm call; a thread without a CPU still gets NoCpuError.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  DoubleFreeError,
  InvalidFreeError,
  NoCpuError,
  attachAllocator,
  createAllocator,
  type Cache,
  type Heap,
  type SharedHeap,
} from "../bindings/index.js";
import { Abi } from "../bindings/generated/abi.js";

afterEach(() => {
  vi.restoreAllMocks();
});

/** The u64 counter `item` of `cache` on `cpu`, read from memory as the Wasm keeps it. */
function counter(heap: Heap, cache: Cache, cpu: number, item: number): number {
  const slot = cache.addr + heap.u32(heap.hdr + Abi.H_CPU_OFF) + cpu * Abi.CC_SIZE;
  return heap.u64(slot + Abi.CC_STATS + 8 * item);
}

/** Count of the main sheaf of `cache` on `cpu`. */
function mainCount(heap: Heap, cache: Cache, cpu: number): number {
  const slot = cache.addr + heap.u32(heap.hdr + Abi.H_CPU_OFF) + cpu * Abi.CC_SIZE;
  return heap.u32(heap.u32(slot + Abi.CC_MAIN) + Abi.SH_COUNT);
}

describe("the JS hit path", () => {
  it("pops without a Wasm call and counts alloc_fastpath exactly; a miss makes one call", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("hit", { size: 64 });
    const spy = vi.spyOn(heap.wasm, "cache_alloc");
    const first = c.alloc(); // empty main: a miss, the refill
    expect(spy).toHaveBeenCalledTimes(1);
    const parked = mainCount(heap, c, 0);
    expect(parked).toBeGreaterThan(3);
    const before = c.stats().counters;
    const got: number[] = [];
    for (let i = 0; i < parked; i++) got.push(c.alloc());
    expect(spy).toHaveBeenCalledTimes(1); // every one a hit
    const after = c.stats().counters;
    expect(after.alloc_fastpath - before.alloc_fastpath).toBe(parked);
    expect(after.alloc_slowpath).toBe(before.alloc_slowpath);
    expect(mainCount(heap, c, 0)).toBe(0);
    c.alloc(); // empty again: the next miss
    expect(spy).toHaveBeenCalledTimes(2);
    expect(c.stats().counters.alloc_slowpath).toBe(before.alloc_slowpath + 1);
    expect(new Set([first, ...got]).size).toBe(parked + 1);
    expect(heap.validate().ok).toBe(true);
  });

  it("carries the u64 counter into its high word", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("carry", { size: 32 });
    c.free(c.alloc());
    const slot = c.addr + heap.u32(heap.hdr + Abi.H_CPU_OFF);
    const lo = slot + Abi.CC_STATS + 8 * Abi.ALLOC_FASTPATH;
    heap.dv.setUint32(lo, 0xffffffff, true);
    heap.dv.setUint32(lo + 4, 7, true);
    c.alloc();
    expect([heap.dv.getUint32(lo, true), heap.dv.getUint32(lo + 4, true)]).toEqual([0, 8]);
  });

  it("clears the free key of what it hands out, so the free goes through and a second free is refused", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("key", { size: 48 });
    expect(c.flags & Abi.F_FREEKEY).not.toBe(0);
    c.free(c.alloc());
    const p = c.alloc(); // a hit: the object the free just parked, its key was there
    expect(heap.u32(p)).toBe(0);
    c.free(p);
    expect(heap.u32(p)).toBe((p ^ Abi.FREE_KEY) >>> 0);
    expect(() => c.free(p)).toThrow(DoubleFreeError);
    expect(heap.validate().ok).toBe(true);
    // the user's own value equal to the key: the Wasm's walk confirms it is not parked
    const q = c.alloc();
    heap.dv.setUint32(q, (q ^ Abi.FREE_KEY) >>> 0, true);
    c.free(q);
    expect(heap.validate().ok).toBe(true);
  });

  it("sets the in-use bit (inUseBits): a double free of a parked object is refused", async () => {
    const heap = await createAllocator({ reap: false, inUseBits: true });
    const c = heap.createCache("inuse", { size: 24 });
    expect(c.flags & Abi.F_INUSE).not.toBe(0);
    const warm = c.alloc();
    c.free(warm);
    const ps: number[] = [];
    for (let i = 0; i < 20; i++) ps.push(c.alloc()); // hits (after the first refills)
    for (const p of ps) c.free(p);
    for (const p of ps) expect(() => c.free(p)).toThrow(DoubleFreeError);
    const again: number[] = [];
    for (let i = 0; i < 40; i++) again.push(c.alloc());
    expect(new Set(again).size).toBe(40);
    expect(heap.validate().ok).toBe(true);
  });

  it("never hands an object out twice, whatever bad frees came in between", async () => {
    const heap = await createAllocator({ reap: false, nodes: 2, cpusPerNode: 1 });
    const a = heap.createCache("a", { size: 64 });
    const b = heap.createCache("b", { size: 64 });
    const live = new Set<number>();
    for (let i = 0; i < 500; i++) live.add(a.alloc());
    const some = [...live].slice(0, 100);
    for (const p of some) {
      a.free(p);
      live.delete(p);
    }
    const stats = heap.stats();
    for (const p of some) expect(() => a.free(p)).toThrow(DoubleFreeError); // parked in arrays or slabs
    const one = [...live][0]!;
    expect(() => b.free(one)).toThrow(InvalidFreeError); // wrong cache
    expect(() => a.free(one + 8)).toThrow(InvalidFreeError); // interior
    expect(() => a.free(heap.hdr)).toThrow(InvalidFreeError); // not ours
    expect(heap.stats()).toEqual(stats); // nothing changed
    for (let i = 0; i < 1000; i++) {
      const p = a.alloc();
      expect(live.has(p)).toBe(false);
      live.add(p);
    }
    expect(heap.validate().ok).toBe(true);
  });
});

describe("views and growth", () => {
  it("follows memory growth inside a miss: the view is re-taken and hits resume", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("grow", { size: 1024 });
    const before = heap.memory.buffer.byteLength;
    const ps: number[] = [];
    for (let i = 0; i < 4000; i++) ps.push(c.alloc()); // 4 MiB: several chunks, grown in misses
    expect(heap.memory.buffer.byteLength).toBeGreaterThan(before);
    expect(new Set(ps).size).toBe(ps.length);
    expect(heap.core.view32.buffer).toBe(heap.memory.buffer);
    for (const p of ps) c.free(p);
    const spy = vi.spyOn(heap.wasm, "cache_alloc");
    const n = mainCount(heap, c, 0);
    for (let i = 0; i < n; i++) c.alloc();
    expect(spy).not.toHaveBeenCalled();
    expect(heap.validate().ok).toBe(true);
  });

  it("survives a grow through a raw export between two hits (the old view is detached)", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("raw-grow", { size: 64 });
    c.free(c.alloc());
    const old = heap.core.view32;
    expect(old.length).toBeGreaterThan(0);
    const big = heap.wasm.malloc(3 << 20) >>> 0; // a run of chunks: memory.grow
    expect(big).not.toBe(0);
    expect(old.length).toBe(0); // detached
    const p = c.alloc(); // stale view: re-taken, then a hit
    expect(heap.core.view32.length).toBeGreaterThan(0);
    expect(heap.u32(p)).toBe(0);
    c.free(p);
    heap.wasm.free(big);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("pinning", () => {
  it("pops from the current CPU's array: Heap.pin and a raw pin_cpu are both followed", async () => {
    const heap = await createAllocator({ reap: false, nodes: 2, cpusPerNode: 2 });
    const c = heap.createCache("pin", { size: 32 });
    for (const cpu of [0, 3, 1, 2]) {
      heap.pin(cpu);
      c.free(c.alloc()); // a miss (refill) on a fresh CPU, then a push
      const hits = counter(heap, c, cpu, Abi.ALLOC_FASTPATH);
      const p = c.alloc();
      expect(counter(heap, c, cpu, Abi.ALLOC_FASTPATH)).toBe(hits + 1);
      expect(heap.nodeOf(p)).toBe(heap.nodeOfCpu(cpu));
      c.free(p);
    }
    expect(heap.wasm.pin_cpu(2)).toBe(0); // raw: the mirror follows it too
    const hits2 = counter(heap, c, 2, Abi.ALLOC_FASTPATH);
    const hits1 = counter(heap, c, 1, Abi.ALLOC_FASTPATH);
    c.free(c.alloc());
    expect(counter(heap, c, 2, Abi.ALLOC_FASTPATH)).toBe(hits2 + 1);
    expect(counter(heap, c, 1, Abi.ALLOC_FASTPATH)).toBe(hits1);
    expect(heap.cpu).toBe(2);
    expect(heap.validate().ok).toBe(true);
  });

  it("a remote free after a JS pop goes to the alien array (Wasm) and stays exact", async () => {
    const heap = await createAllocator({ reap: false, nodes: 2, cpusPerNode: 1 });
    const c = heap.createCache("remote", { size: 64 });
    heap.pin(0);
    c.free(c.alloc());
    const p = c.alloc(); // a hit on node 0
    heap.pin(1);
    c.free(p); // remote: node 0's object freed on node 1's CPU
    expect(c.stats().perCpu[1]!.alien_free).toBe(1);
    expect(() => c.free(p)).toThrow(DoubleFreeError);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("caches that keep the Wasm call", () => {
  it("constructor, debug and reclaimable caches work as before", async () => {
    const heap = await createAllocator({ reap: false });
    const built: number[] = [];
    const withCtor = heap.createCache("ctor", { size: 32, ctor: (p) => built.push(p) });
    const dbg = heap.createCache("dbg", { size: 32, debug: true });
    const rec = heap.createCache("rec", { size: 32, reclaim: { destructor: () => {} } });
    for (const c of [withCtor, dbg, rec]) {
      const spy = vi.spyOn(heap.wasm, "cache_alloc");
      const p = c.alloc();
      expect(spy).toHaveBeenCalled();
      spy.mockRestore();
      c.free(p);
      expect(() => c.free(p)).toThrow(DoubleFreeError);
    }
    expect(built.length).toBeGreaterThan(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("a cache whose objects are not 4-aligned (size 13, align 1): neighbours survive the key's clear", async () => {
    const heap = await createAllocator({ reap: false });
    const odd = heap.createCache("odd", { size: 13, align: 1 });
    expect(odd.stride % 4).not.toBe(0);
    const first: number[] = [];
    for (let i = 0; i < 50; i++) first.push(odd.alloc());
    for (const p of first.sort((x, y) => y - x)) odd.free(p); // so the next pops come in rising order
    const ps: number[] = [];
    for (let i = 0; i < 50; i++) {
      const p = odd.alloc();
      heap.u8.fill(0xab, p, p + 13);
      ps.push(p);
    }
    for (const p of ps) expect([...heap.u8.subarray(p, p + 13)].every((x) => x === 0xab)).toBe(true);
    for (const p of ps) odd.free(p);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("shared heaps", () => {
  it("pops in JS on a claimed CPU, refuses with NoCpuError without one, and follows another instance's grow", async () => {
    const a = (await createAllocator({ shared: true, nodes: 1, cpusPerNode: 2, maxBytes: 64 << 20, reap: false, cpu: 0 })) as SharedHeap;
    const c = a.createCache("shared", { size: 256 });
    c.free(c.alloc());
    const spy = vi.spyOn(a.wasm, "cache_alloc");
    const p = c.alloc();
    expect(spy).not.toHaveBeenCalled(); // a hit
    spy.mockRestore();
    c.free(p);
    const b = await attachAllocator(a.handle(), { cpu: 1 });
    const cb = b.cache("shared")!;
    const held: number[] = [];
    for (let i = 0; i < 20000; i++) held.push(cb.alloc()); // ~5 MiB: grown by b's instance
    const aView = a.core.view32;
    expect(aView.buffer.byteLength).toBeLessThan(a.memory.buffer.byteLength); // a's view is too short now
    const mine: number[] = [];
    for (let i = 0; i < 20000; i++) mine.push(c.alloc()); // refills in the new memory; pops past the old view
    expect(new Set([...mine, ...held]).size).toBe(40000);
    expect(a.core.view32.length).toBeGreaterThan(aView.length); // re-taken when an index fell past it
    for (const q of mine) c.free(q);
    for (const q of held) cb.free(q);
    a.releaseCpu();
    expect(() => c.alloc()).toThrow(NoCpuError);
    expect(a.validate().ok).toBe(true);
    b.releaseCpu();
  });
});
