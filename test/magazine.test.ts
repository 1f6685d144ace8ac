// magazine.test.ts — the JS magazine of Cache.alloc()/free() (bindings/cache.ts, assembly/prefill.ts
// magRefill / magReturn, the cache's C_MAG): a hit makes no Wasm call and a miss one; the counters are
// exact whenever they are read; every bad free is refused with its typed error and changes nothing,
// whatever path judged it (JS or the Wasm behind a miss); an object in the magazine is parked (raw
// cache_live / cache_parked exact, a second free from any caller — Cache, raw ABI, freeBulk — is a
// double free); memory growth, pinning, shrink, tune and destroy give it back or re-take their views; a
// model-based fuzz never sees an object twice and validate() holds; magazine: false keeps one Wasm call
// per alloc and free; and raw cache_alloc(0) on a heap whose Cache API never called cache_alloc is refused
// (the last-handle memo's NO_CACHE).
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  CacheBusyError,
  DoubleFreeError,
  InvalidArgumentError,
  InvalidFreeError,
  Cache,
  createAllocator,
  type Heap,
} from "../bindings/index.js";
import { Abi } from "../bindings/generated/abi.js";

afterEach(() => {
  vi.restoreAllMocks();
});

/** The cache's magazine (C_MAG: 0 while it has none) and the count JS keeps in it. */
function magazine(heap: Heap, c: Cache): { h: number; n: number } {
  const h = heap.u32(c.addr + Abi.C_MAG);
  return { h, n: h === 0 ? 0 : heap.u32(h + Abi.SH_COUNT) };
}

/** Every figure a refused free must leave alone (read without settling: raw exports and memory). */
function state(heap: Heap, c: Cache): unknown {
  const w = heap.wasm;
  return { mag: magazine(heap, c), live: w.cache_live(c.addr), parked: w.cache_parked(c.addr), valid: w.heap_validate() };
}

/** Wasm calls made through the exports the magazine uses. */
function spyAll(heap: Heap) {
  return {
    alloc: vi.spyOn(heap.wasm, "cache_alloc"),
    free: vi.spyOn(heap.wasm, "cache_free"),
    mag: vi.spyOn(heap.wasm, "cache_mag"),
    total(): number {
      return this.alloc.mock.calls.length + this.free.mock.calls.length + this.mag.mock.calls.length;
    },
  };
}

describe("the JS magazine", () => {
  it("serves hits without a Wasm call, refills on a miss with one, and keeps the counters exact", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("m", { size: 64 }); // capacity 60: refills of 30
    const spy = spyAll(heap);
    const first = c.alloc(); // empty: one refill
    expect(spy.mag).toHaveBeenCalledTimes(1);
    expect(spy.alloc).not.toHaveBeenCalled();
    const { h, n } = magazine(heap, c);
    expect(h).not.toBe(0);
    expect(n).toBe(c.arrayCapacity / 2 - 1);
    const got = [first];
    for (let i = 0; i < n; i++) got.push(c.alloc());
    expect(spy.total()).toBe(1); // every one a hit
    expect(magazine(heap, c).n).toBe(0);
    got.push(c.alloc()); // empty again: the second refill
    expect(spy.mag).toHaveBeenCalledTimes(2);
    expect(new Set(got).size).toBe(got.length);
    for (const p of got) c.free(p); // 31 pushes: all hits (room for 59 after the pop)
    expect(spy.total()).toBe(2);
    expect(magazine(heap, c).n).toBe(got.length + c.arrayCapacity / 2 - 1);
    const s = c.stats().counters;
    expect(s.alloc_fastpath + s.alloc_slowpath).toBe(got.length);
    expect(s.alloc_slowpath).toBe(2); // the two refills
    expect(s.free_fastpath + s.free_slowpath).toBe(got.length);
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("a full magazine hands the free to the Wasm, which counts it; stats stay exact across both", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("full", { size: 32, arrayCapacity: 8 });
    const ps = Array.from({ length: 40 }, () => c.alloc());
    const spy = spyAll(heap);
    for (const p of ps) c.free(p);
    const mag = magazine(heap, c);
    expect(mag.n).toBe(8);
    expect(spy.free).toHaveBeenCalledTimes(40 - (8 - 0)); // the magazine was empty: 8 pushes, then calls
    const s = c.stats().counters;
    expect(s.free_fastpath + s.free_slowpath).toBe(40);
    expect(s.alloc_fastpath + s.alloc_slowpath).toBe(40);
    expect(heap.wasm.cache_live(c.addr)).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("clears the key of what it hands out and writes it on free; a second free from any caller is a double free", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("key", { size: 48 });
    const p = c.alloc();
    expect(heap.u32(p)).toBe(0);
    c.free(p);
    expect(heap.u32(p)).toBe((p ^ Abi.FREE_KEY) >>> 0);
    const before = state(heap, c);
    expect(() => c.free(p)).toThrow(DoubleFreeError);
    expect(heap.wasm.cache_free(c.addr, p)).toBe(Abi.E_DOUBLE_FREE); // the raw ABI finds it in C_MAG
    expect(() => c.freeBulk([p])).toThrow(DoubleFreeError);
    expect(state(heap, c)).toEqual(before);
    // the user's own value equal to the key: the Wasm's walk confirms it is not parked, and takes it
    const q = c.alloc();
    expect(q).toBe(p);
    heap.dv.setUint32(q, (q ^ Abi.FREE_KEY) >>> 0, true);
    c.free(q);
    expect(heap.wasm.cache_live(c.addr)).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("refuses every bad free with its typed error, nothing changed, and keeps working", async () => {
    const heap = await createAllocator({ reap: false });
    const a = heap.createCache("bad-a", { size: 64 });
    const b = heap.createCache("bad-b", { size: 64 });
    const ps = Array.from({ length: 100 }, () => a.alloc());
    const gone = ps.slice(0, 70);
    for (const p of gone) a.free(p); // the magazine (60), the rest to the Wasm's arrays
    const live = ps[90]!;
    const other = b.alloc();
    const m = heap.malloc(64);
    const end = heap.memory.buffer.byteLength;
    const cases: [string, unknown, Function][] = [
      ...gone.map((p, i): [string, number, Function] => [`double free #${i}`, p, DoubleFreeError]),
      ["interior", live + 4, InvalidFreeError],
      ["interior, last byte", live + 63, InvalidFreeError],
      ["wrong cache", other, InvalidFreeError],
      ["a malloc block", m, InvalidFreeError],
      ["the heap header", heap.hdr, InvalidFreeError],
      ["the cache struct", a.addr, InvalidFreeError],
      ["pointer 0", 0, InvalidFreeError],
      ["beyond memory", end + 64, InvalidFreeError],
      ["far beyond memory", 0xfffffff8, InvalidFreeError],
      ["negative", -64, InvalidArgumentError],
      ["fraction", live + 0.5, InvalidArgumentError],
      ["2^32 + live (would wrap to live)", 2 ** 32 + live, InvalidArgumentError],
      ["NaN", Number.NaN, InvalidArgumentError],
      ["a string", String(live), InvalidArgumentError],
      ["a bigint", BigInt(live), InvalidArgumentError],
      ["an object", { valueOf: () => live }, InvalidArgumentError],
    ];
    for (const [what, p, kind] of cases) {
      const before = state(heap, a);
      let err: unknown;
      try {
        a.free(p as number);
      } catch (e) {
        err = e;
      }
      expect([what, err instanceof kind]).toEqual([what, true]);
      expect([what, state(heap, a)]).toEqual([what, before]);
    }
    a.free(live); // the good free still goes through
    const seen = new Set<number>(ps.slice(70).filter((p) => p !== live));
    for (let i = 0; i < 300; i++) {
      const p = a.alloc();
      expect(seen.has(p)).toBe(false);
      seen.add(p);
    }
    expect(heap.validate().ok).toBe(true);
  });

  it("counts its objects as parked: raw cache_live and cache_parked are exact without asking JS", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("count", { size: 128 });
    const ps = Array.from({ length: 12 }, () => c.alloc());
    const w = heap.wasm;
    const parked0 = w.cache_parked(c.addr);
    for (let i = 0; i < 5; i++) c.free(ps[i]!);
    expect(w.cache_live(c.addr)).toBe(7);
    expect(w.cache_parked(c.addr)).toBe(parked0 + 5);
    expect(c.stats().activeObjects).toBe(7);
    expect(heap.stats().activeObjects).toBeGreaterThanOrEqual(7);
    expect(heap.footprint().total).toBeGreaterThan(0);
    for (let i = 5; i < 12; i++) c.free(ps[i]!);
    expect(w.cache_live(c.addr)).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("a remote free goes to the Wasm; heap.pin gives the magazine back, so the next objects are the new node's", async () => {
    const heap = await createAllocator({ reap: false, nodes: 2, cpusPerNode: 1 });
    const c = heap.createCache("numa", { size: 64 });
    const local = Array.from({ length: 10 }, () => c.alloc());
    for (const p of local) expect(heap.nodeOf(p)).toBe(0);
    heap.pin(1);
    expect(magazine(heap, c).h).toBe(0); // given back before the pin
    const remote = Array.from({ length: 10 }, () => c.alloc());
    for (const p of remote) expect(heap.nodeOf(p)).toBe(1);
    const spy = spyAll(heap);
    for (const p of local) c.free(p); // node 0's objects on CPU 1: remote frees, each a Wasm call
    expect(spy.free).toHaveBeenCalledTimes(10);
    expect(c.stats().counters.alien_free).toBeGreaterThan(0);
    for (const p of remote) c.free(p);
    expect(c.live).toBe(0);
    heap.pin(0);
    const again = new Set(Array.from({ length: 100 }, () => c.alloc()));
    expect(again.size).toBe(100);
    expect(heap.validate().ok).toBe(true);
  });

  it("re-takes its views after a grow made by another cache, malloc or a raw export, between two hits", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("grow", { size: 64 });
    const ps = Array.from({ length: 20 }, () => c.alloc());
    for (const p of ps.slice(0, 10)) c.free(p);
    const bytes = heap.memory.buffer.byteLength;
    const big = heap.malloc(8 << 20); // grows memory: every old view is detached
    expect(heap.memory.buffer.byteLength).toBeGreaterThan(bytes);
    const spy = spyAll(heap);
    const p = c.alloc(); // the stale view misses; the fresh one serves it
    expect(ps.slice(0, 10)).toContain(p);
    c.free(p);
    heap.memory.grow(1); // an embedder's grow
    c.free(ps[15]!);
    expect(() => c.free(ps[15]!)).toThrow(DoubleFreeError);
    expect(spy.alloc).not.toHaveBeenCalled();
    expect(spy.mag).not.toHaveBeenCalled();
    heap.free(big);
    for (const q of ps.slice(10)) if (q !== ps[15]) c.free(q);
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("shrink, tune and destroy give it back; a raw destroy refuses while it is out; cache_mag checks its handle", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("life", { size: 256 });
    const ps = Array.from({ length: 30 }, () => c.alloc());
    for (const p of ps) c.free(p);
    expect(magazine(heap, c).h).not.toBe(0);
    const w = heap.wasm;
    expect(w.cache_destroy(c.addr)).toBe(Abi.E_BUSY); // the magazine is out
    const before = state(heap, c);
    expect(w.cache_mag(c.addr, magazine(heap, c).h + 64, 0, 0, 1)).toBe(0); // not its magazine
    expect(w.last_error()).toBe(Abi.E_BAD_CACHE);
    expect(w.cache_mag(c.addr, 0, 0, 0, 0)).toBe(0); // a second magazine while one is out
    expect(w.cache_mag(c.addr, magazine(heap, c).h, 0, 0, 7)).toBe(0); // no such op
    expect(w.last_error()).toBe(Abi.E_INVALID);
    // not a prefill handle: a raw pop or return behind JS's back is refused
    expect(w.prefilled_alloc(magazine(heap, c).h)).toBe(0);
    expect(w.prefilled_count(magazine(heap, c).h)).toBe(0);
    expect(w.cache_return_prefilled(c.addr, magazine(heap, c).h)).toBe(Abi.E_BAD_CACHE);
    expect(state(heap, c)).toEqual(before);
    expect(c.shrink()).toBeGreaterThan(0); // every slab empty once the magazine is back
    expect(magazine(heap, c).h).toBe(0);
    expect(c.stats().slabs).toBe(0);
    const q = c.alloc();
    c.tune({ arrayCapacity: 0 });
    expect(magazine(heap, c).h).toBe(0);
    const spy = spyAll(heap);
    c.free(q);
    const r = c.alloc();
    expect(spy.mag).not.toHaveBeenCalled(); // no arrays: no magazine, for good
    expect(spy.alloc).toHaveBeenCalledTimes(1);
    c.free(r);
    c.tune({ arrayCapacity: 16 });
    c.free(c.alloc());
    expect(() => c.destroy()).not.toThrow();
    const d = heap.createCache("busy", { size: 64 });
    const x = d.alloc();
    d.free(d.alloc());
    expect(() => d.destroy()).toThrow(CacheBusyError); // x is live; the magazine was given back anyway
    d.free(x);
    d.destroy();
    expect(heap.validate().ok).toBe(true);
  });

  it("magazine: false makes one Wasm call per alloc and free", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("plain", { size: 64, magazine: false });
    expect(() => heap.createCache("bad", { size: 64, magazine: 1 as unknown as boolean })).toThrow(InvalidArgumentError);
    const spy = spyAll(heap);
    for (let i = 0; i < 10; i++) c.free(c.alloc());
    expect(spy.alloc).toHaveBeenCalledTimes(10);
    expect(spy.free).toHaveBeenCalledTimes(10);
    expect(spy.mag).not.toHaveBeenCalled();
    expect(magazine(heap, c).h).toBe(0);
  });

  it("every kind of cache is a Cache (the no-magazine subclass too), and turns careful with the rest", async () => {
    const heap = await createAllocator({ reap: false });
    const m = heap.createCache("mag", { size: 64 });
    const p = heap.createCache("plain", { size: 64, magazine: false });
    const k = heap.createCache("ctor", { size: 64, ctor: () => {} });
    for (const c of [m, p, k]) expect(c).toBeInstanceOf(Cache);
    expect(heap.caches()).toEqual([m, p, k]);
    const spy = spyAll(heap);
    const enter = vi.spyOn(heap.core, "enter");
    for (const c of [m, p]) for (let i = 0; i < 5; i++) c.free(c.alloc());
    expect(enter).not.toHaveBeenCalled(); // the plain paths: no checked call
    expect(spy.alloc).toHaveBeenCalledTimes(5); // the magazine's pairs made none (one refill: cache_mag)
    heap.onReport = () => {}; // arms the hooks: every cache takes the checked path from now on
    for (const c of [m, p, k]) {
      const x = c.alloc();
      c.free(x);
      const before = state(heap, c);
      expect(() => c.free(x)).toThrow(DoubleFreeError);
      expect(() => c.free(-4)).toThrow(InvalidArgumentError);
      expect(state(heap, c)).toEqual(before);
    }
    expect(enter).toHaveBeenCalledTimes(9); // per cache: a checked alloc, free and refused double free (-4: refused before any call)
    for (const c of [m, p, k]) expect(c.stats().counters.alloc_fastpath + c.stats().counters.alloc_slowpath).toBe(c === k ? 1 : 6);
    expect(heap.validate().ok).toBe(true);
  });

  it("raw cache_alloc(0) on a heap whose Cache API never called cache_alloc is refused (the memo's NO_CACHE)", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("memo", { size: 64 });
    c.free(c.alloc()); // through the magazine: no cache_alloc
    for (const h of [0, 1, 0xffffffff]) {
      expect(heap.wasm.cache_alloc(h)).toBe(0);
      expect(heap.wasm.last_error()).toBe(Abi.E_BAD_CACHE);
    }
    expect(heap.validate().ok).toBe(true);
  });

  it("model-based fuzz: two caches, good and bad frees, pins, grows and bulk calls; nothing handed out twice", async () => {
    const heap = await createAllocator({ reap: false, nodes: 2, cpusPerNode: 2 });
    const caches = [heap.createCache("f1", { size: 40, arrayCapacity: 12 }), heap.createCache("f2", { size: 96 })];
    const live: Set<number>[] = [new Set(), new Set()];
    const freed: number[][] = [[], []];
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const blocks: number[] = [];
    for (let step = 0; step < 20000; step++) {
      const k = rnd(2);
      const c = caches[k]!;
      const mine = live[k]!;
      const op = rnd(100);
      if (op < 45) {
        const p = c.alloc();
        for (const other of live) expect(other.has(p)).toBe(false);
        mine.add(p);
        heap.u8.fill(k + 1, p, p + 8);
      } else if (op < 85 && mine.size > 0) {
        const p = [...mine][rnd(mine.size)]!;
        expect(heap.u8[p + 5]).toBe(k + 1); // payload kept while live
        c.free(p);
        mine.delete(p);
        freed[k]!.push(p);
      } else if (op < 92 && freed[k]!.length > 0) {
        const p = freed[k]![rnd(freed[k]!.length)]!;
        if (!live[0]!.has(p) && !live[1]!.has(p)) {
          // freed before and not handed out again: a double free (or, once its slab went back and the
          // page serves something else, not an object of this cache)
          let err: unknown;
          try {
            c.free(p);
          } catch (e) {
            err = e;
          }
          expect(err instanceof DoubleFreeError || err instanceof InvalidFreeError).toBe(true);
        }
      } else if (op < 94 && live[1 - k]!.size > 0) {
        const p = [...live[1 - k]!][0]!;
        expect(() => c.free(p)).toThrow(InvalidFreeError);
      } else if (op < 95) {
        heap.pin(rnd(4));
      } else if (op < 96) {
        if (blocks.length > 3) heap.free(blocks.shift()!);
        blocks.push(heap.malloc(1 << (16 + rnd(5)))); // may grow memory
      } else if (op < 98) {
        const got = c.allocBulk(1 + rnd(20));
        for (const p of got) {
          for (const other of live) expect(other.has(p)).toBe(false);
          mine.add(p);
          heap.u8.fill(k + 1, p, p + 8);
        }
      } else if (mine.size > 0) {
        const some = [...mine].slice(0, 1 + rnd(10));
        c.freeBulk(some);
        for (const p of some) {
          mine.delete(p);
          freed[k]!.push(p);
        }
      }
      if (step % 2500 === 0) {
        expect(heap.validate().ok).toBe(true);
        expect(caches.map((x) => x.live)).toEqual(live.map((s) => s.size));
      }
    }
    expect(heap.validate().ok).toBe(true);
    for (let k = 0; k < 2; k++) {
      const s = caches[k]!.stats().counters;
      expect(caches[k]!.live).toBe(live[k]!.size);
      expect(s.alloc_fastpath + s.alloc_slowpath).toBeGreaterThan(0);
      for (const p of live[k]!) caches[k]!.free(p);
      expect(caches[k]!.live).toBe(0);
    }
    expect(heap.validate().ok).toBe(true);
  });
});
