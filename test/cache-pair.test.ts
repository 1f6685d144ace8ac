// cache-pair.test.ts — Cache.alloc()/free(): one Wasm call each (cache_alloc / cache_free; bindings/cache.ts),
// with exact counters (a hit counts alloc_fastpath / free_fastpath, a miss the slow path); every bad free
// (not ours, interior, wrong cache, double — parked or back in its slab —, 0, beyond memory) refused by
// that call with its typed error and nothing changed, a pointer that is not a u32 refused before it;
// a remote free goes to the alien array; memory growth (inside a call, through a raw export, and —
// shared — from another instance) needs nothing of the caller; pinning is honoured, by Heap.pin and by
// a raw pin_cpu; hardening state (free key cleared, in-use bit set) means no object is handed out
// twice; careful caches keep their checked path; a thread without a CPU gets NoCpuError; and the
// single-threaded build's last-handle memo (assembly/index.ts lastUserCache) trusts no destroyed cache.
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
  InvalidArgumentError,
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

describe("alloc", () => {
  it("makes one Wasm call; a hit counts alloc_fastpath exactly, a miss alloc_slowpath", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("hit", { magazine: false, size: 64 });
    const spy = vi.spyOn(heap.wasm, "cache_alloc");
    const first = c.alloc(); // empty main: a miss, the refill
    expect(spy).toHaveBeenCalledTimes(1);
    const parked = mainCount(heap, c, 0);
    expect(parked).toBeGreaterThan(3);
    const before = c.stats().counters;
    const got: number[] = [];
    for (let i = 0; i < parked; i++) got.push(c.alloc());
    expect(spy).toHaveBeenCalledTimes(1 + parked); // one call each, every one a hit
    const after = c.stats().counters;
    expect(after.alloc_fastpath - before.alloc_fastpath).toBe(parked);
    expect(after.alloc_slowpath).toBe(before.alloc_slowpath);
    expect(mainCount(heap, c, 0)).toBe(0);
    c.alloc(); // empty again: the next miss
    expect(spy).toHaveBeenCalledTimes(2 + parked);
    expect(c.stats().counters.alloc_slowpath).toBe(before.alloc_slowpath + 1);
    expect(new Set([first, ...got]).size).toBe(parked + 1);
    expect(heap.validate().ok).toBe(true);
  });

  it("carries the u64 counter into its high word", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("carry", { magazine: false, size: 32 });
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
    const c = heap.createCache("key", { magazine: false, size: 48 });
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
    const c = heap.createCache("inuse", { magazine: false, size: 24 });
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
    const a = heap.createCache("a", { magazine: false, size: 64 });
    const b = heap.createCache("b", { magazine: false, size: 64 });
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

describe("free", () => {
  /** What a bad free may not change: the cache's counters, its main sheaf, its live objects, the heap. */
  function state(heap: Heap, c: Cache): unknown {
    return { counters: c.stats().counters, main: mainCount(heap, c, heap.cpu), live: c.live, stats: heap.stats() };
  }

  it("makes one Wasm call, writes the key and counts free_fastpath exactly; a full sheaf takes the slow path", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("free-hit", { magazine: false, size: 64, arrayCapacity: 8 });
    const ps: number[] = [];
    for (let i = 0; i < 8; i++) ps.push(c.alloc());
    expect(mainCount(heap, c, 0)).toBe(0);
    const spy = vi.spyOn(heap.wasm, "cache_free");
    const before = c.stats().counters;
    for (const p of ps) {
      c.free(p);
      expect(heap.u32(p)).toBe((p ^ Abi.FREE_KEY) >>> 0); // hardenRelease's key
    }
    expect(spy).toHaveBeenCalledTimes(8); // 8 hits: the array had room for all
    expect(mainCount(heap, c, 0)).toBe(8);
    const mid = c.stats().counters;
    expect(mid.free_fastpath - before.free_fastpath).toBe(8);
    expect(mid.free_slowpath).toBe(before.free_slowpath);
    const q = c.alloc(); // a hit: the last one freed
    expect(q).toBe(ps[7]);
    c.free(q);
    expect(c.stats().counters.free_fastpath - before.free_fastpath).toBe(9);
    const extra = [c.alloc(), c.alloc()];
    for (let i = 0; i < 2; i++) c.free(c.alloc()); // hits both ways
    c.free(extra[0]!);
    c.free(extra[1]!);
    const r: number[] = [];
    for (let i = 0; i < 9; i++) r.push(c.alloc());
    for (const p of r) c.free(p); // the ninth finds the array full: the Wasm's slow path
    expect(c.stats().counters.free_slowpath).toBe(before.free_slowpath + 1);
    expect(heap.validate().ok).toBe(true);
  });

  it("carries free_fastpath into its high word", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("free-carry", { magazine: false, size: 32 });
    const p = c.alloc();
    const lo = c.addr + heap.u32(heap.hdr + Abi.H_CPU_OFF) + Abi.CC_STATS + 8 * Abi.FREE_FASTPATH;
    heap.dv.setUint32(lo, 0xffffffff, true);
    heap.dv.setUint32(lo + 4, 0x7fffffff, true);
    const spy = vi.spyOn(heap.wasm, "cache_free");
    c.free(p);
    expect(spy).toHaveBeenCalledTimes(1);
    expect([heap.dv.getUint32(lo, true), heap.dv.getUint32(lo + 4, true)]).toEqual([0, 0x80000000]);
  });

  it("refuses every bad free in its one Wasm call, with the raw ABI's error, nothing changed", async () => {
    const heap = await createAllocator({ reap: false });
    const a = heap.createCache("bad-a", { magazine: false, size: 64, arrayCapacity: 4 });
    const b = heap.createCache("bad-b", { magazine: false, size: 64 });
    const ps: number[] = [];
    for (let i = 0; i < 40; i++) ps.push(a.alloc());
    const gone = ps.slice(0, 20);
    for (const p of gone) a.free(p); // most go back to their slabs through flushes
    const parked = a.alloc();
    a.free(parked); // on top of the main sheaf: parked, with its key
    const live = ps[30]!;
    const other = b.alloc();
    const end = heap.memory.buffer.byteLength;
    const cases: [string, number, typeof DoubleFreeError | typeof InvalidFreeError][] = [
      ["double free of a parked object", parked, DoubleFreeError],
      ...gone.map((p, i): [string, number, typeof DoubleFreeError] => [`double free #${i} (parked or in its slab)`, p, DoubleFreeError]),
      ["interior", live + 4, InvalidFreeError],
      ["interior, last byte", live + 63, InvalidFreeError],
      ["wrong cache", other, InvalidFreeError],
      ["not ours: the heap header", heap.hdr, InvalidFreeError],
      ["pointer 0", 0, InvalidFreeError],
      ["beyond memory", end + 64, InvalidFreeError],
      ["far beyond memory", 0xfffffff8, InvalidFreeError],
    ];
    const spy = vi.spyOn(heap.wasm, "cache_free");
    for (const [what, p, kind] of cases) {
      const before = state(heap, a);
      const calls = spy.mock.calls.length;
      let err: unknown;
      try {
        a.free(p);
      } catch (e) {
        err = e;
      }
      expect([what, err instanceof kind]).toEqual([what, true]);
      expect([what, spy.mock.calls.length - calls]).toEqual([what, 1]); // one call: the Wasm refused
      expect([what, state(heap, a)]).toEqual([what, before]);
    }
    // the raw ABI gives the same codes (the Wasm is the one judge)
    const invalid: number[] = [Abi.E_NOT_OURS, Abi.E_WRONG_CACHE, Abi.E_NOT_OBJECT];
    for (const [what, p, kind] of cases) {
      const code = heap.wasm.cache_free(a.addr, p);
      if (kind === DoubleFreeError) expect([what, code]).toEqual([what, Abi.E_DOUBLE_FREE]);
      else expect([what, invalid.includes(code)]).toEqual([what, true]);
    }
    for (const bad of [-1, 1.5, 2 ** 32 + live, Number.NaN, "8", 8n, Symbol("p"), { valueOf: () => live }] as unknown as number[]) {
      const before = state(heap, a);
      const calls = spy.mock.calls.length;
      expect(() => a.free(bad)).toThrow(InvalidArgumentError);
      expect(spy.mock.calls.length).toBe(calls); // refused before the Wasm: 2^32 + live would free live
      expect(state(heap, a)).toEqual(before);
    }
    a.free(live); // the good free still goes through
    expect(heap.validate().ok).toBe(true);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const p = a.alloc();
      expect(seen.has(p)).toBe(false);
      seen.add(p);
    }
  });

  it("refuses objects free in their slab: never handed out, and back after a flush (their key: slabNew, the free)", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("in-slab", { magazine: false, size: 64, arrayCapacity: 4 });
    const p = c.alloc(); // the refill took a batch; the slab's other objects were never handed out
    const never = p + 40 * c.stride; // same slab (64 objects of 64 bytes), far past the batch
    expect(heap.u32(never)).toBe((never ^ Abi.FREE_KEY) >>> 0); // keyed by slabNew
    const before = state(heap, c);
    expect(() => c.free(never)).toThrow(DoubleFreeError); // the key; the Wasm's confirm: in its slab
    expect(state(heap, c)).toEqual(before);
    // objects freed and flushed back to their slab (they keep the key their free wrote)
    const ps: number[] = [];
    for (let i = 0; i < 12; i++) ps.push(c.alloc());
    for (const q of ps) c.free(q); // flushes: the first ones go back to their slab
    heap.shrink(); // every array flushed: all of them are free in their slab (p, live, keeps it)
    const t = c.alloc(); // shrink left no main array: this refill gives one with room
    const inSlab = ps.filter((q) => heap.wasm.object_check(c.addr, q) === Abi.E_DOUBLE_FREE);
    expect(inSlab.length).toBeGreaterThan(0);
    for (const q of inSlab) {
      expect(heap.u32(q)).toBe((q ^ Abi.FREE_KEY) >>> 0);
      const b = state(heap, c);
      expect(() => c.free(q)).toThrow(DoubleFreeError);
      expect(state(heap, c)).toEqual(b);
    }
    c.free(t);
    expect(heap.validate().ok).toBe(true);
  });

  it("a remote free (another node's object) goes to the alien array", async () => {
    const heap = await createAllocator({ reap: false, nodes: 2, cpusPerNode: 1 });
    const c = heap.createCache("free-remote", { magazine: false, size: 64 });
    heap.pin(0);
    const p = c.alloc();
    heap.pin(1);
    const spy = vi.spyOn(heap.wasm, "cache_free");
    c.free(p);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(c.stats().perCpu[1]!.alien_free).toBe(1);
    expect(c.stats().perCpu[1]!.free_fastpath).toBe(0);
    const q = c.alloc(); // node 1's own object
    c.free(q);
    expect(spy).toHaveBeenCalledTimes(2); // a hit
    expect(c.stats().perCpu[1]!.free_fastpath).toBe(1);
    expect(heap.validate().ok).toBe(true);
  });

  it("frees across growth made through a raw export: nothing to re-take on the JS side", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("free-grow", { magazine: false, size: 1024 });
    const p = c.alloc();
    const old = heap.memory.buffer;
    const big = heap.createCache("grower", { magazine: false, size: 4096 });
    const held: number[] = [];
    while (heap.memory.buffer === old) held.push(heap.wasm.cache_alloc(big.addr) >>> 0);
    c.free(p);
    expect(heap.u32(p)).toBe((p ^ Abi.FREE_KEY) >>> 0); // heap.u32 reads the new buffer
    const q = c.alloc();
    expect(q).toBe(p);
    c.free(q);
    for (const h of held) big.free(h);
    expect(heap.validate().ok).toBe(true);
  });

  it("an in-use-bit cache refuses a double free", async () => {
    const heap = await createAllocator({ reap: false, inUseBits: true });
    const c = heap.createCache("free-inuse", { magazine: false, size: 24 });
    const p = c.alloc();
    const spy = vi.spyOn(heap.wasm, "cache_free");
    c.free(p);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(() => c.free(p)).toThrow(DoubleFreeError);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("growth", () => {
  it("grows memory inside a miss; hits resume", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("grow", { magazine: false, size: 1024 });
    const before = heap.memory.buffer.byteLength;
    const ps: number[] = [];
    for (let i = 0; i < 4000; i++) ps.push(c.alloc()); // 4 MiB: several chunks, grown in misses
    expect(heap.memory.buffer.byteLength).toBeGreaterThan(before);
    expect(new Set(ps).size).toBe(ps.length);
    for (const p of ps) c.free(p);
    const n = mainCount(heap, c, 0);
    const hits = counter(heap, c, 0, Abi.ALLOC_FASTPATH);
    for (let i = 0; i < n; i++) c.alloc();
    expect(counter(heap, c, 0, Abi.ALLOC_FASTPATH)).toBe(hits + n);
    expect(heap.validate().ok).toBe(true);
  });

  it("survives a grow through a raw export between two hits", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("raw-grow", { magazine: false, size: 64 });
    c.free(c.alloc());
    const old = heap.memory.buffer;
    const big = heap.wasm.malloc(3 << 20) >>> 0; // a run of chunks: memory.grow
    expect(big).not.toBe(0);
    expect(old.byteLength).toBe(0); // detached
    const p = c.alloc(); // a hit
    expect(heap.u32(p)).toBe(0);
    c.free(p);
    heap.wasm.free(big);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("pinning", () => {
  it("pops from the current CPU's array: Heap.pin and a raw pin_cpu are both followed", async () => {
    const heap = await createAllocator({ reap: false, nodes: 2, cpusPerNode: 2 });
    const c = heap.createCache("pin", { magazine: false, size: 32 });
    for (const cpu of [0, 3, 1, 2]) {
      heap.pin(cpu);
      c.free(c.alloc()); // a miss (refill) on a fresh CPU, then a push
      const hits = counter(heap, c, cpu, Abi.ALLOC_FASTPATH);
      const p = c.alloc();
      expect(counter(heap, c, cpu, Abi.ALLOC_FASTPATH)).toBe(hits + 1);
      expect(heap.nodeOf(p)).toBe(heap.nodeOfCpu(cpu));
      c.free(p);
    }
    expect(heap.wasm.pin_cpu(2)).toBe(0); // raw: followed too
    const hits2 = counter(heap, c, 2, Abi.ALLOC_FASTPATH);
    const hits1 = counter(heap, c, 1, Abi.ALLOC_FASTPATH);
    c.free(c.alloc());
    expect(counter(heap, c, 2, Abi.ALLOC_FASTPATH)).toBe(hits2 + 1);
    expect(counter(heap, c, 1, Abi.ALLOC_FASTPATH)).toBe(hits1);
    expect(heap.cpu).toBe(2);
    expect(heap.validate().ok).toBe(true);
  });

  it("a remote free after a pop goes to the alien array and stays exact", async () => {
    const heap = await createAllocator({ reap: false, nodes: 2, cpusPerNode: 1 });
    const c = heap.createCache("remote", { magazine: false, size: 64 });
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

describe("careful caches and odd layouts", () => {
  it("constructor, debug and reclaimable caches work as before", async () => {
    const heap = await createAllocator({ reap: false });
    const built: number[] = [];
    const withCtor = heap.createCache("ctor", { magazine: false, size: 32, ctor: (p) => built.push(p) });
    const dbg = heap.createCache("dbg", { magazine: false, size: 32, debug: true });
    const rec = heap.createCache("rec", { magazine: false, size: 32, reclaim: { destructor: () => {} } });
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
    const odd = heap.createCache("odd", { magazine: false, size: 13, align: 1 });
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
  it("pops on a claimed CPU, refuses with NoCpuError without one, and follows another instance's grow", async () => {
    const a = (await createAllocator({ shared: true, nodes: 1, cpusPerNode: 2, maxBytes: 64 << 20, reap: false, cpu: 0 })) as SharedHeap;
    const c = a.createCache("shared", { magazine: false, size: 256 });
    c.free(c.alloc());
    const hits = c.stats().perCpu[0]!.alloc_fastpath;
    const p = c.alloc();
    expect(c.stats().perCpu[0]!.alloc_fastpath).toBe(hits + 1); // a hit
    c.free(p);
    const b = await attachAllocator(a.handle(), { cpu: 1 });
    const cb = b.cache("shared")!;
    const held: number[] = [];
    for (let i = 0; i < 20000; i++) held.push(cb.alloc()); // ~5 MiB: grown by b's instance
    const mine: number[] = [];
    for (let i = 0; i < 20000; i++) mine.push(c.alloc()); // refills in the new memory; pops past the old view
    expect(new Set([...mine, ...held]).size).toBe(40000);
    for (const q of mine) c.free(q);
    for (const q of held) cb.free(q);
    a.releaseCpu();
    expect(() => c.alloc()).toThrow(NoCpuError);
    expect(a.validate().ok).toBe(true);
    b.releaseCpu();
  });
});

describe("the last-handle memo (single-threaded build)", () => {
  it("trusts no destroyed cache: its handle is refused after cache_destroy, and every other handle is checked", async () => {
    const heap = await createAllocator({ reap: false });
    const w = heap.wasm;
    const c = heap.createCache("memo", { magazine: false, size: 32 });
    const p = w.cache_alloc(c.addr) >>> 0; // checked once, then remembered
    expect(p).not.toBe(0);
    expect(w.cache_free(c.addr, p)).toBe(0);
    const q = w.cache_alloc(c.addr) >>> 0;
    expect(w.cache_free(c.addr, q)).toBe(0);
    c.destroy();
    expect(w.cache_alloc(c.addr)).toBe(0);
    expect(w.last_error()).toBe(Abi.E_BAD_CACHE);
    expect(w.cache_free(c.addr, p)).toBe(Abi.E_BAD_CACHE);
    const d = heap.createCache("memo2", { magazine: false, size: 32 });
    const r = d.alloc(); // remembered now: d
    expect(w.cache_alloc(d.addr + 64)).toBe(0); // another handle: checked, refused
    expect(w.last_error()).toBe(Abi.E_BAD_CACHE);
    expect(w.cache_free(heap.hdr, r)).toBe(Abi.E_BAD_CACHE);
    d.free(r);
    expect(() => d.free(r)).toThrow(DoubleFreeError);
    expect(heap.validate().ok).toBe(true);
  });
});
