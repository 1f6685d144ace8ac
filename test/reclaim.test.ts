// reclaim.test.ts — reaping, shrink, memory pressure (with shrinkers, and from inside a refill), targeted
// reclaim of refcounted objects (a cache indexed from outside), memory.discard and its fallback, the reap
// timer. Deterministic: simulated CPUs, reap timers off (or fake timers), exact page and object counts.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  InvalidArgumentError,
  OutOfMemoryError,
  createAllocator,
  type AllocatorOptions,
  type Cache,
  type Heap,
} from "../bindings/index.js";
import { rng } from "./rng.js";

const heaps: Heap[] = [];
/** A heap with the reap timer off unless asked; closed after each test. */
async function makeHeap(opts: AllocatorOptions = {}): Promise<Heap> {
  const h = await createAllocator({ reap: false, ...opts });
  heaps.push(h);
  return h;
}
afterEach(() => {
  for (const h of heaps.splice(0)) h.close();
  vi.useRealTimers();
});

// ---- reading per-CPU state through the module's own layout constants ----------------------------------
function slot(heap: Heap, c: Cache, cpu: number): number {
  const L = heap.L;
  return c.addr + heap.u32(heap.hdr + L.H_CPU_OFF!) + cpu * L.CC_SIZE!;
}
/** Objects in a CPU's main and spare arrays. */
function arrayObjects(heap: Heap, c: Cache, cpu: number): number {
  const L = heap.L;
  const s = slot(heap, c, cpu);
  return heap.u32(heap.u32(s + L.CC_MAIN!) + L.SH_COUNT!) + heap.u32(heap.u32(s + L.CC_SPARE!) + L.SH_COUNT!);
}
/** Objects in a CPU's alien array for `node`. */
function alienObjects(heap: Heap, c: Cache, cpu: number, node: number): number {
  const a = heap.u32(slot(heap, c, cpu) + heap.L.CC_ALIEN! + 4 * node);
  return a === 0 ? 0 : heap.u32(a + heap.L.SH_COUNT!);
}
function cn(heap: Heap, c: Cache, node: number): number {
  return c.addr + heap.L.C_HDR! + node * heap.L.CN_SIZE!;
}
function emptySlabs(heap: Heap, c: Cache, node = 0): number {
  return heap.u32(cn(heap, c, node) + heap.L.CN_NR_EMPTY!);
}
function barnFull(heap: Heap, c: Cache, node = 0): number {
  return heap.u32(cn(heap, c, node) + heap.L.CN_BARN_NR_FULL!);
}
function cacheSlabPages(c: Cache): number {
  return c.stats().slabs * c.stats().pagesPerSlab;
}
function slabPages(heap: Heap): number {
  return heap.stats().slabPages.reduce((a, b) => a + b, 0);
}
const u32 = (heap: Heap, p: number) => heap.dv.getUint32(p, true);
const setU32 = (heap: Heap, p: number, v: number) => heap.dv.setUint32(p, v, true);
const page = (p: number) => Math.floor(p / 4096);

/** Allocate objects of a cache with no arrays until the node has no free page left (no pressure has
 *  run yet: a shortage only happens when a page is needed and none is free). */
function fillToLastPage(heap: Heap, filler: Cache, out: number[]): void {
  while (heap.wasm.node_free_pages(0) > 0) out.push(filler.alloc());
  // use up the last slab's free objects too, so the next object of `filler` would need a page
  const per = filler.objectsPerSlab;
  while (out.length % per !== 0) out.push(filler.alloc());
}

describe("reap", () => {
  it("drains ~1/5 of idle arrays per pass, round robin over CPUs, and leaves touched ones", async () => {
    const heap = await makeHeap({ nodes: 1, cpusPerNode: 2 });
    const c = heap.createCache("x", { magazine: false, size: 64 }); // capacity 60: a pass drains (60 + 4) / 5 = 12
    for (const cpu of [0, 1]) {
      heap.pin(cpu);
      const ps = Array.from({ length: 60 }, () => c.alloc());
      for (const p of ps) c.free(p);
      expect(arrayObjects(heap, c, cpu)).toBe(60);
    }
    // First round: both CPUs were used since the start, so both count as touched.
    expect(heap.reap().cpu).toBe(0);
    expect(heap.reap().cpu).toBe(1);
    expect([arrayObjects(heap, c, 0), arrayObjects(heap, c, 1)]).toEqual([60, 60]);
    // CPU 1 stays busy (one fast-path alloc and free between its passes); CPU 0 is idle.
    const trace: number[][] = [];
    for (let round = 0; round < 6; round++) {
      heap.pin(1);
      c.free(c.alloc());
      heap.reap(); // CPU 0
      heap.reap(); // CPU 1
      trace.push([arrayObjects(heap, c, 0), arrayObjects(heap, c, 1)]);
    }
    expect(trace).toEqual([[48, 60], [36, 60], [24, 60], [12, 60], [0, 60], [0, 60]]);
    // CPU 1 goes idle: its last pass already took the snapshot, so the next one drains it.
    heap.reap(0);
    heap.reap(1);
    expect(arrayObjects(heap, c, 1)).toBe(48);
    heap.reap(1);
    expect(arrayObjects(heap, c, 1)).toBe(36);
    // Below 1/5 of the capacity, a pass drains half of what is left, rounded up.
    c.tune({ arrayCapacity: 60 }); // empties everything
    heap.pin(0);
    const some = Array.from({ length: 25 }, () => c.alloc()); // a refill of 30: 5 left in the array
    for (const p of some.slice(0, 5)) c.free(p);
    expect(arrayObjects(heap, c, 0)).toBe(10);
    heap.reap(0); // touched
    heap.reap(0);
    expect(arrayObjects(heap, c, 0)).toBe(5); // (10 + 1) / 2 drained
    expect(heap.stats().reclaim.reapPasses).toBe(2 + 12 + 3 + 2);
    expect(heap.validate().ok).toBe(true);
  });

  it("drains one alien array per pass, round robin", async () => {
    const heap = await makeHeap({ nodes: 3, cpusPerNode: 1 });
    const c = heap.createCache("x", { size: 64 });
    const remote: number[] = [];
    for (const cpu of [1, 2]) {
      heap.pin(cpu);
      for (let i = 0; i < 5; i++) remote.push(c.alloc());
    }
    heap.pin(0);
    for (const p of remote) c.free(p); // into CPU 0's alien arrays for nodes 1 and 2
    expect([alienObjects(heap, c, 0, 1), alienObjects(heap, c, 0, 2)]).toEqual([5, 5]);
    const flushes = () => c.stats().perCpu[0]!.alien_flush;
    const f0 = flushes();
    heap.reap(0);
    expect([alienObjects(heap, c, 0, 1), alienObjects(heap, c, 0, 2)]).toEqual([0, 5]);
    heap.reap(0);
    expect([alienObjects(heap, c, 0, 1), alienObjects(heap, c, 0, 2)]).toEqual([0, 0]);
    expect(flushes() - f0).toBe(2);
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("gives back ~80% of the empty slabs beyond min_partial per pass, on the CPU's node", async () => {
    const heap = await makeHeap();
    const c = heap.createCache("x", { size: 64, arrayCapacity: 0 }); // 64 per page; min_partial 5
    const ps = Array.from({ length: 64 * 12 }, () => c.alloc());
    for (const p of ps) c.free(p);
    expect(emptySlabs(heap, c)).toBe(10); // a node keeps 2 × min_partial; 2 went back at free time
    expect(heap.reap().pages).toBe(4); // ⌈0.8 × (10 − 5)⌉
    expect(emptySlabs(heap, c)).toBe(6);
    expect(heap.reap().pages).toBe(1); // ⌈0.8 × 1⌉
    expect(heap.reap().pages).toBe(0);
    expect(emptySlabs(heap, c)).toBe(5);
    expect(c.stats().counters.free_slab).toBe(2 + 4 + 1);
  });

  it("runs on an unref'd timer every 2000 ms by default; false disables it; close() stops it", async () => {
    vi.useFakeTimers();
    const heap = await createAllocator();
    heaps.push(heap);
    vi.advanceTimersByTime(1999);
    expect(heap.stats().reclaim.reapPasses).toBe(0);
    vi.advanceTimersByTime(1);
    expect(heap.stats().reclaim.reapPasses).toBe(1);
    vi.advanceTimersByTime(4000);
    expect(heap.stats().reclaim.reapPasses).toBe(3);
    heap.close();
    vi.advanceTimersByTime(10_000);
    expect(heap.stats().reclaim.reapPasses).toBe(3);

    const fast = await createAllocator({ reap: { intervalMs: 50 } });
    heaps.push(fast);
    vi.advanceTimersByTime(500);
    expect(fast.stats().reclaim.reapPasses).toBe(10);

    const off = await makeHeap({ reap: false });
    vi.advanceTimersByTime(10_000);
    expect(off.stats().reclaim.reapPasses).toBe(0);
    expect(off.reap().cpu).toBe(0); // a pass on demand still works

    await expect(createAllocator({ reap: { intervalMs: 0 } })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createAllocator({ reap: 5 as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => off.reap(7)).toThrow(InvalidArgumentError);
  });

  it("the timer's handle is unref'd (it never keeps the process alive)", async () => {
    const spy = vi.spyOn(globalThis, "setInterval");
    const heap = await createAllocator();
    heaps.push(heap);
    const handle = spy.mock.results.at(-1)!.value as NodeJS.Timeout;
    spy.mockRestore();
    expect(handle.hasRef()).toBe(false);
  });
});

describe("shrink", () => {
  it("flushes arrays and barns and returns every empty slab, with exact page counts", async () => {
    const heap = await makeHeap();
    const c = heap.createCache("x", { magazine: false, size: 64 });
    const ps = Array.from({ length: 64 * 20 }, () => c.alloc());
    for (const p of ps) c.free(p);
    const s = c.stats();
    expect(s.parkedObjects).toBe(60 + 60 + 10 * 60); // main, spare, 10 full sheaves in the barn
    expect(s.slabs).toBe(21);
    const pages = cacheSlabPages(c);
    const heapPages = slabPages(heap);
    const free = heap.stats().freePages[0]!;
    expect(c.shrink()).toBe(pages);
    expect(c.stats().slabs).toBe(0);
    expect(c.stats().parkedObjects).toBe(0);
    expect(slabPages(heap)).toBe(heapPages - pages);
    expect(heap.stats().freePages[0]).toBe(free + pages);
    expect(c.shrink()).toBe(0);
    // The sheaves went back to their internal cache; heap.shrink() frees its now-empty slab too, leaving
    // only the slab that holds the kmem_cache structs.
    const kmem = heap.slabinfo().split("\n").find((l) => l.startsWith("kmem_cache"))!.trim().split(/\s+/);
    const kmemPages = Number(kmem[14]) * Number(kmem[5]); // num_slabs × pagesperslab
    const all = slabPages(heap);
    expect(all).toBeGreaterThan(kmemPages);
    expect(heap.shrink()).toBe(all - kmemPages);
    expect(slabPages(heap)).toBe(kmemPages);
    // Any cache reuses the pages: no growth.
    const chunks = heap.stats().chunks;
    const other = heap.createCache("y", { size: 128 });
    const qs = Array.from({ length: 32 * pages }, () => other.alloc());
    expect(heap.stats().chunks).toBe(chunks);
    for (const q of qs) other.free(q);
    expect(heap.validate().ok).toBe(true);
  });

  it("orders partial slabs fullest first, so the next objects fill the fullest slab", async () => {
    const heap = await makeHeap();
    const c = heap.createCache("x", { size: 64, arrayCapacity: 0 });
    const ps = Array.from({ length: 256 }, () => c.alloc());
    const slabsOf = [...new Set(ps.map(page))]; // 4 one-page slabs, in allocation order
    expect(slabsOf.length).toBe(4);
    const inSlab = (k: number) => ps.filter((p) => page(p) === slabsOf[k]);
    const freeN = (k: number, n: number) => inSlab(k).slice(0, n).forEach((p) => c.free(p));
    freeN(1, 50); // in-use 14
    freeN(3, 5); // 59
    freeN(0, 10); // 54
    freeN(2, 30); // 34    partial list, head first: 2, 0, 3, 1
    expect(c.shrink()).toBe(0);
    const next = Array.from({ length: 6 }, () => c.alloc());
    expect(next.slice(0, 5).every((p) => page(p) === slabsOf[3])).toBe(true); // 59 → full
    expect(page(next[5]!)).toBe(slabsOf[0]); // then the 54
    expect(heap.validate().ok).toBe(true);
  });
});

describe("memory pressure", () => {
  it("runs registered shrinkers before failing; failure is clean; freeing memory makes alloc work again", async () => {
    const heap = await makeHeap({ maxBytes: 1 << 20 });
    const lru = heap.createCache("lru", { size: 512, arrayCapacity: 0 }); // 8 per page
    const other = heap.createCache("other", { size: 128, arrayCapacity: 0 });
    const held: number[] = [];
    expect(() => {
      for (;;) held.push(lru.alloc());
    }).toThrow(OutOfMemoryError);
    expect(() => other.alloc()).toThrow(OutOfMemoryError);
    expect(heap.validate().ok).toBe(true);

    const calls: [number, number][] = [];
    const unregister = heap.registerShrinker((node, wanted) => {
      calls.push([node, wanted]);
      let freed = 0;
      for (; freed < wanted * 8 && held.length > 0; freed++) lru.free(held.shift()!); // oldest first
      return Math.ceil(freed / 8);
    });
    const mine = [other.alloc()];
    expect(calls).toEqual([[0, 1]]); // one page for one new slab of `other`, node 0
    // Keep going: every new page of `other` costs the LRU one page, until the LRU is empty.
    expect(() => {
      for (;;) mine.push(other.alloc());
    }).toThrow(OutOfMemoryError);
    expect(held.length).toBe(0);
    expect(lru.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
    expect(heap.stats().chunks).toBe(1);
    // Memory freed: allocation works again, for any cache.
    unregister();
    for (const p of mine) other.free(p);
    const n = calls.length;
    expect(lru.alloc()).toBeGreaterThan(0);
    expect(calls.length).toBe(n);
    expect(heap.stats().reclaim.shrinkerCalls).toBe(n);
    expect(heap.validate().ok).toBe(true);
  });

  it("returns 0 with onOutOfMemory 'null', and a throwing shrinker surfaces its error", async () => {
    const heap = await makeHeap({ maxBytes: 1 << 20, onOutOfMemory: "null" });
    const c = heap.createCache("x", { size: 1024, arrayCapacity: 0 });
    let p: number;
    const all: number[] = [];
    while ((p = c.alloc()) !== 0) all.push(p);
    expect(c.alloc()).toBe(0);
    heap.registerShrinker(() => {
      throw new Error("shrinker bug");
    });
    expect(() => c.alloc()).toThrow("shrinker bug");
    expect(heap.validate().ok).toBe(true);
    for (const q of all) c.free(q);
  });

  it("reclaims empty slabs, then barns, then arrays, before it asks the shrinkers", async () => {
    const heap = await makeHeap({ maxBytes: 1 << 20 });
    const x = heap.createCache("x", { magazine: false, size: 256 }); // 16 per page, capacity 26, min_partial 5
    const xs = Array.from({ length: 16 * 40 }, () => x.alloc());
    for (const p of xs) x.free(p); // parked: main 26, spare 26, barn 10 × 26; 10 empty slabs kept
    expect(emptySlabs(heap, x)).toBe(10);
    expect(barnFull(heap, x)).toBe(10);
    expect(arrayObjects(heap, x, 0)).toBe(52);
    const z = heap.createCache("z", { size: 64, arrayCapacity: 0 });
    const zs: number[] = [];
    fillToLastPage(heap, z, zs);
    let shrinkerCalls = 0;
    heap.registerShrinker(() => {
      shrinkerCalls++;
      return 0;
    });
    const y = heap.createCache("y", { size: 512, arrayCapacity: 0 }); // 8 per page
    const ys: number[] = [];
    const state = () => [emptySlabs(heap, x), barnFull(heap, x), arrayObjects(heap, x, 0), shrinkerCalls];
    const seen: number[][] = [];
    for (;;) {
      try {
        ys.push(y.alloc());
      } catch (e) {
        expect(e).toBeInstanceOf(OutOfMemoryError);
        break;
      }
      const s = state();
      if (seen.length === 0 || s.join() !== seen.at(-1)!.join()) seen.push(s);
    }
    // Empties went first (barn and arrays untouched), then the barn, then the arrays, and only then,
    // with nothing left to reclaim, the shrinkers (asked once per failing allocation).
    // Empties went first (barn and arrays untouched), then the barn, then the arrays; the shrinkers
    // were asked only by the allocation that found nothing else left, and then it failed.
    expect(seen).toEqual([[0, 10, 52, 0], [0, 0, 52, 0], [0, 0, 0, 0]]);
    expect(shrinkerCalls).toBe(1);
    expect(x.stats().slabs).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("is safe when reached from inside a refill on a CPU whose arrays are detached (CC_GUARD)", async () => {
    const heap = await makeHeap({ nodes: 1, cpusPerNode: 2, maxBytes: 1 << 20 });
    const x = heap.createCache("x", { magazine: false, size: 64 }); // capacity 60, batch 30, 64 per page
    heap.pin(1);
    const xs = Array.from({ length: 120 }, () => x.alloc()); // two slabs, the second has 8 free objects
    for (const p of xs) x.free(p);
    expect(arrayObjects(heap, x, 1)).toBe(120);
    expect(barnFull(heap, x)).toBe(0);
    heap.pin(0);
    const z = heap.createCache("z", { size: 64, arrayCapacity: 0 });
    const zs: number[] = [];
    fillToLastPage(heap, z, zs);
    // CPU 0's first alloc: slow path (guard set, main detached), a new sheaf, a refill that takes the
    // second slab's 8 free objects and then needs a new slab: no page → pressure reclaim, which drains
    // CPU 1's arrays (CPU 0's are left alone) and frees the slab that became empty.
    const freeSlabs = x.stats().counters.free_slab;
    const p = x.alloc();
    expect(p).toBeGreaterThan(0);
    expect(arrayObjects(heap, x, 1)).toBe(0);
    expect(arrayObjects(heap, x, 0)).toBe(29);
    expect(x.stats().counters.free_slab).toBeGreaterThan(freeSlabs);
    expect(heap.validate().ok).toBe(true); // every array entry is an allocated object of x
    // Every object handed out from now on is distinct.
    const got = new Set([p]);
    for (let i = 0; i < 100; i++) {
      const q = x.alloc();
      expect(got.has(q)).toBe(false);
      got.add(q);
    }
    expect(x.live).toBe(101);
    for (const q of got) x.free(q);
    for (const q of zs) z.free(q);
    expect(heap.validate().ok).toBe(true);
  });

  it("objects that reclaim puts back on the slab lists serve the refill that needed a page", async () => {
    const heap = await makeHeap({ nodes: 1, cpusPerNode: 2, maxBytes: 1 << 20 });
    const x = heap.createCache("x", { magazine: false, size: 64 });
    heap.pin(1);
    const xs = x.allocBulk(128); // exactly two full slabs
    for (let i = 0; i < 128; i += 2) x.free(xs[i]!); // half of each slab parked in CPU 1's arrays
    expect(arrayObjects(heap, x, 1)).toBe(64);
    heap.pin(0);
    const z = heap.createCache("z", { size: 64, arrayCapacity: 0 });
    const zs: number[] = [];
    fillToLastPage(heap, z, zs);
    // No partial slab, no page: pressure drains CPU 1's arrays, which frees no page (every slab keeps
    // 32 live objects) but makes both slabs partial; the refill takes its batch from them.
    expect(x.alloc()).toBeGreaterThan(0);
    expect(arrayObjects(heap, x, 0)).toBe(29);
    expect(x.stats().slabs).toBe(2);
    expect(heap.validate().ok).toBe(true);
  });

  it("a constructor that allocates during a shortage is served, or fails cleanly", async () => {
    const heap = await makeHeap({ maxBytes: 1 << 20 });
    const x = heap.createCache("x", { size: 64, arrayCapacity: 0 });
    const inner: number[] = [];
    const y = heap.createCache("y", { size: 1024, ctor: () => inner.push(x.alloc()) });
    const ys: number[] = [];
    expect(() => {
      for (;;) ys.push(y.alloc());
    }).toThrow(OutOfMemoryError);
    expect(heap.validate().ok).toBe(true);
    for (const p of ys) y.free(p);
    for (const p of inner) x.free(p);
    heap.shrink();
    expect(y.alloc()).toBeGreaterThan(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("falls back to other nodes last, after reclaim on the node that asked", async () => {
    const heap = await makeHeap({ nodes: 2, cpusPerNode: 1, maxBytes: 2 << 20 });
    const x = heap.createCache("x", { size: 64, arrayCapacity: 0 });
    heap.pin(1);
    x.free(x.alloc()); // node 1 grows its chunk
    heap.shrink(); // ... which is wholly free again
    expect(heap.stats().freeChunkBytes).toBe(1 << 20);
    heap.pin(0);
    const calls: number[] = [];
    heap.registerShrinker((node) => {
      calls.push(node);
      return 0;
    });
    const xs: number[] = [];
    let p: number;
    do xs.push((p = x.alloc()));
    while (heap.nodeOf(p) === 0);
    expect(calls).toEqual([0]); // node 0 reclaimed (and asked its shrinkers) first
    expect(x.stats().counters.numa_fallback).toBe(1);
    expect(heap.stats().chunks).toBe(2);
    for (const q of xs) x.free(q);
    expect(heap.validate().ok).toBe(true);
  });
});

// ---- targeted reclaim --------------------------------------------------------------------------------

/** A dentry-like cache indexed from outside: object = [count u32][key u32][...]. The index (a JS Map,
 *  key → object) holds one reference; lookups that are in progress hold more. */
class Index {
  readonly map = new Map<number, number>();
  readonly destroyed: { p: number; key: number; count: number }[] = [];
  readonly cache: Cache;
  constructor(readonly heap: Heap, name: string, opts: { size?: number; arrayCapacity?: number; debug?: boolean; inUseBits?: boolean } = {}) {
    this.cache = heap.createCache(name, {
      size: opts.size ?? 64,
      arrayCapacity: opts.arrayCapacity,
      debug: opts.debug,
      inUseBits: opts.inUseBits,
      reclaim: {
        destructor: (p) => {
          const key = u32(heap, p + 4);
          this.destroyed.push({ p, key, count: u32(heap, p) });
          this.map.delete(key); // drop the index's reference
        },
      },
    });
  }
  insert(key: number): number {
    const p = this.cache.alloc();
    setU32(this.heap, p, 1);
    setU32(this.heap, p + 4, key);
    this.map.set(key, p);
    return p;
  }
  get(key: number): number | undefined {
    const p = this.map.get(key);
    if (p !== undefined) setU32(this.heap, p, u32(this.heap, p) + 1);
    return p;
  }
  put(p: number): void {
    setU32(this.heap, p, u32(this.heap, p) - 1);
  }
  /** No busy object destroyed, and no dangling pointer: every entry is an allocated object holding its
   *  key with a count ≥ 1; every destroyed object was freed. */
  check(): void {
    const bad: string[] = []; // collected, then one assertion (expect() per object is slow)
    for (const d of this.destroyed) if (d.count !== 1) bad.push(`destroyed 0x${d.p.toString(16)} with count ${d.count}`);
    const w = this.heap.wasm;
    for (const [key, p] of this.map) {
      if (w.object_check(this.cache.addr, p) !== 0) bad.push(`index entry ${key} → 0x${p.toString(16)} is not allocated`);
      else if (u32(this.heap, p + 4) !== key || u32(this.heap, p) < 1) bad.push(`index entry ${key} → 0x${p.toString(16)} holds another object`);
    }
    // Run right after a reclaim (which drained the arrays): a destroyed object's address is free now,
    // unless a later insert got it again.
    const live = new Set(this.map.values());
    for (const d of this.destroyed) {
      if (!live.has(d.p) && w.object_check(this.cache.addr, d.p) === 0) bad.push(`destroyed 0x${d.p.toString(16)} still allocated`);
    }
    expect(bad).toEqual([]);
  }
}


describe("targeted reclaim", () => {
  it("empties all-unused slabs from the oldest full slab on, and takes a few objects from mixed slabs", async () => {
    const heap = await makeHeap();
    const ix = new Index(heap, "dentry", { arrayCapacity: 0 });
    const c = ix.cache;
    expect(c.objectsPerSlab).toBe(64); // a mixed slab gives up 64 >> 3 = 8 per pass
    const ps = Array.from({ length: 256 }, (_, k) => ix.insert(k)); // slabs 0..3, full, 0 the oldest
    const held = [ix.get(0)!, ix.get(200)!]; // slab 0 and slab 3 have one busy object each
    expect(c.reclaim(1)).toBe(1);
    // slab 0 (mixed): objects 1..8 destroyed; slab 1 (all unused): emptied; that was 1 page: stop.
    expect(ix.destroyed.map((d) => d.key)).toEqual([...range(1, 9), ...range(64, 128)]);
    expect(c.stats().slabs).toBe(3);
    ix.check();
    const pages = cacheSlabPages(c);
    // Everything it can in one pass: slab 2 emptied, 8 from slab 3 (now partial), and 8 from slab 0
    // (partial before the pass; slab 3 gave its share already).
    expect(c.reclaim()).toBe(1);
    expect(ix.destroyed.length).toBe(72 + 64 + 8 + 8);
    expect(cacheSlabPages(c)).toBe(pages - 1);
    ix.check();
    for (const p of held) ix.put(p);
    expect(c.reclaim()).toBe(2); // now every object left is unused
    expect(c.stats().slabs).toBe(0);
    expect(ix.map.size).toBe(0);
    expect(heap.stats().reclaim.objectsReclaimed).toBe(256);
    ix.check();
    expect(ps.length).toBe(256);
    expect(heap.validate().ok).toBe(true);
  });

  it("a cache indexed from a JS Map: lookups change counts; no busy object is destroyed, no pointer dangles", async () => {
    const heap = await makeHeap({ nodes: 1, cpusPerNode: 2 });
    const ix = new Index(heap, "dentry", { size: 192 });
    const c = ix.cache;
    const rand = rng(0xdece);
    let nextKey = 0;
    const inUse: number[] = []; // objects with a lookup in progress
    for (let round = 0; round < 5; round++) {
      heap.pin(round & 1);
      for (let i = 0; i < 3000; i++) ix.insert(nextKey++);
      for (let i = 0; i < 4000; i++) {
        const r = rand();
        if (r < 0.5) {
          const p = ix.get(Math.floor(rand() * nextKey));
          if (p !== undefined) inUse.push(p);
        } else if (inUse.length > 0) {
          const k = Math.floor(rand() * inUse.length);
          ix.put(inUse[k]!);
          inUse[k] = inUse[inUse.length - 1]!;
          inUse.pop();
        }
      }
      const busy = new Set(inUse);
      for (const p of busy) expect(u32(heap, p)).toBeGreaterThan(1);
      const before = cacheSlabPages(c);
      const want = 1 + Math.floor(before / 3);
      const freed = c.reclaim(want);
      expect(freed).toBeGreaterThanOrEqual(want);
      expect(cacheSlabPages(c)).toBe(before - freed);
      ix.check();
      const indexed = new Set(ix.map.values());
      for (const p of busy) expect(indexed.has(p)).toBe(true);
      expect(heap.validate().ok).toBe(true);
    }
    expect(ix.destroyed.length).toBeGreaterThan(1000);
    expect(c.live).toBe(ix.map.size);
  });

  it("runs as step 5 of pressure: a shortage destroys unused objects of reclaimable caches", async () => {
    const heap = await makeHeap({ maxBytes: 1 << 20 });
    const ix = new Index(heap, "dentry", { arrayCapacity: 0 });
    const other = heap.createCache("other", { size: 64, arrayCapacity: 0 });
    let k = 0;
    while (heap.wasm.node_free_pages(0) > 0 || k % 64 !== 0) ix.insert(k++); // full, no shortage yet
    expect(ix.destroyed.length).toBe(0);
    // `other` needs a page: steps 1-4 find nothing; step 5 empties the oldest slab of unused dentries.
    expect(other.alloc()).toBeGreaterThan(0);
    expect(ix.destroyed.map((d) => d.key)).toEqual(range(0, 64));
    // Inserting more now recycles the oldest dentries a slab at a time.
    for (let i = 0; i < 64; i++) ix.insert(k++);
    expect(ix.destroyed.map((d) => d.key)).toEqual(range(0, 128));
    // With a busy object in every slab, nothing can be reclaimed: allocation fails cleanly.
    for (let j = 0; j < k; j += 64) ix.get(j + 63);
    expect(() => {
      for (;;) other.alloc();
    }).toThrow(OutOfMemoryError);
    ix.check();
    expect(heap.validate().ok).toBe(true);
  });

  it("frees through the checked path in debug caches and caches with in-use bits", async () => {
    for (const opts of [{ debug: true }, { inUseBits: true }, { inUseBits: true, arrayCapacity: 0 }]) {
      const heap = await makeHeap();
      const ix = new Index(heap, "dentry", opts);
      const per = ix.cache.objectsPerSlab;
      for (let k = 0; k < 3 * per; k++) ix.insert(k);
      const busy = ix.get(0)!; // the first slab is mixed
      const before = cacheSlabPages(ix.cache); // (with arrays, a 4th slab holds the last refill's rest)
      expect(ix.cache.reclaim()).toBe(before - ix.cache.stats().pagesPerSlab); // all but the first slab
      expect(ix.map.size).toBe(per - Math.max(1, per >> 3));
      ix.check();
      expect(heap.validate().ok).toBe(true); // red zones inactive, in-use bits clear on free objects
      ix.put(busy);
      expect(ix.cache.reclaim()).toBe(ix.cache.stats().pagesPerSlab);
      expect(ix.cache.live).toBe(0);
      expect(heap.validate().ok).toBe(true);
    }
  });

  it("accepts a destructor exported by a Wasm module", async () => {
    const heap = await makeHeap();
    // (module (import "env" "memory" (memory 1))
    //   (func (export "dtor") (param i32) (i32.store offset=8 (local.get 0) (i32.const 42))))
    const bytes = new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      0x01, 0x05, 0x01, 0x60, 0x01, 0x7f, 0x00,
      0x02, 0x0f, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x01,
      0x03, 0x02, 0x01, 0x00,
      0x07, 0x08, 0x01, 0x04, 0x64, 0x74, 0x6f, 0x72, 0x00, 0x00,
      0x0a, 0x0b, 0x01, 0x09, 0x00, 0x20, 0x00, 0x41, 0x2a, 0x36, 0x02, 0x08, 0x0b,
    ]);
    const { instance } = await WebAssembly.instantiate(bytes, { env: { memory: heap.memory } });
    const dtor = instance.exports.dtor as (p: number) => void;
    const c = heap.createCache("wasm-owned", { size: 32, arrayCapacity: 0, reclaim: { destructor: dtor } });
    const ps = Array.from({ length: 3 * c.objectsPerSlab }, () => c.alloc());
    for (const p of ps) setU32(heap, p, 1);
    expect(c.reclaim()).toBe(3 * c.stats().pagesPerSlab);
    expect(ps.every((p) => u32(heap, p + 8) === 42 && u32(heap, p) === 0)).toBe(true);
    expect(c.live).toBe(0);
  });

  it("a destructor that throws stops the walk; the object stays allocated and the error surfaces", async () => {
    const heap = await makeHeap();
    let calls = 0;
    const c = heap.createCache("d", {
      size: 64,
      arrayCapacity: 0,
      reclaim: {
        destructor: () => {
          if (++calls === 3) throw new Error("dtor bug");
        },
      },
    });
    const ps = Array.from({ length: 64 }, () => c.alloc());
    for (const p of ps) setU32(heap, p, 1);
    expect(() => c.reclaim()).toThrow("dtor bug");
    expect(c.live).toBe(62);
    expect(heap.wasm.object_check(c.addr, ps[2]!)).toBe(0);
    expect(u32(heap, ps[2]!)).toBe(1);
    expect(heap.validate().ok).toBe(true);
  });

  it("checks its arguments; free() sets the count word to 0", async () => {
    const heap = await makeHeap();
    const plain = heap.createCache("plain", { size: 64 });
    expect(() => plain.reclaim(1)).toThrow(InvalidArgumentError);
    expect(() => heap.createCache("r", { size: 64, flags: 2 })).toThrow(InvalidArgumentError);
    expect(() => heap.createCache("r", { size: 2, reclaim: { destructor: () => {} } })).toThrow(InvalidArgumentError);
    const c = heap.createCache("r", { size: 64, reclaim: { destructor: () => {} } });
    expect(c.reclaimable).toBe(true);
    expect(() => c.reclaim(0)).toThrow(InvalidArgumentError);
    expect(() => c.reclaim(1.5)).toThrow(InvalidArgumentError);
    const p = c.alloc();
    expect(u32(heap, p)).toBe(0); // new objects start free-counted
    setU32(heap, p, 7);
    c.free(p);
    expect(u32(heap, p)).toBe(0);
    const q = c.allocBulk(3);
    for (const x of q) setU32(heap, x, 1);
    c.freeBulk(q);
    expect([...q].map((x) => u32(heap, x))).toEqual([0, 0, 0]);
    // Every object is free (the arrays held them): nothing is destroyed; the empty slab goes back.
    const slabs = c.stats().slabs;
    expect(c.reclaim()).toBe(slabs);
    expect(heap.stats().reclaim.objectsReclaimed).toBe(0);
  });
});

describe("reclaim under random load", () => {
  it("reap, shrink, reclaim and pressure interleaved with re-entrant destructors and shrinkers keep every object intact", async () => {
    const heap = await makeHeap({ nodes: 2, cpusPerNode: 2, maxBytes: 2 << 20, onOutOfMemory: "null" });
    const rand = rng(0x7ec1a1);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
    // Plain objects, with a payload checked at free time.
    const plain = [heap.createCache("p24", { size: 24 }), heap.createCache("p300", { size: 300, arrayCapacity: 0 }), heap.createCache("p2k", { size: 2000 })];
    const live = new Map<number, { c: Cache; seed: number }>();
    const stamp = (p: number, c: Cache, seed: number) => {
      const u8 = heap.u8;
      for (let i = 0; i < Math.min(c.size, 32); i++) u8[p + i] = (seed + i * 7) & 0xff;
    };
    const intact = (p: number, c: Cache, seed: number) => {
      const u8 = heap.u8;
      for (let i = 0; i < Math.min(c.size, 32); i++) if (u8[p + i] !== ((seed + i * 7) & 0xff)) return false;
      return true;
    };
    const freePlain = (p: number) => {
      const b = live.get(p)!;
      expect(intact(p, b.c, b.seed)).toBe(true);
      b.c.free(p);
      live.delete(p);
    };
    // A reclaimable cache indexed from JS; its destructor sometimes frees a plain object (re-entrant
    // free) or allocates one (re-entrant alloc, which may meet a shortage inside reclaim).
    let nextKey = 0;
    const ix = new Index(heap, "dentry", { size: 96 });
    const baseDtor = ix.cache.destructor!;
    ix.cache.destructor = (p) => {
      baseDtor(p);
      const r = rand();
      if (r < 0.2 && live.size > 0) freePlain(live.keys().next().value!);
      else if (r < 0.3) {
        const c = pick(plain);
        const q = c.alloc();
        if (q !== 0) {
          const seed = Math.floor(rand() * 256);
          stamp(q, c, seed);
          live.set(q, { c, seed });
        }
      }
    };
    const held: number[] = [];
    heap.registerShrinker((_node, wanted) => {
      if (rand() < 0.5) return 0; // a shrinker with nothing to give, half of the time
      let n = 0;
      for (const p of live.keys()) {
        if (n >= wanted * 4) break;
        freePlain(p);
        n++;
      }
      return Math.floor(n / 4);
    });
    for (let op = 0; op < 30_000; op++) {
      const r = rand();
      if (r < 0.01) heap.pin(Math.floor(rand() * heap.cpus));
      else if (r < 0.35) {
        const c = pick(plain);
        const p = c.alloc();
        if (p === 0) continue;
        expect(live.has(p)).toBe(false);
        const seed = Math.floor(rand() * 256);
        stamp(p, c, seed);
        live.set(p, { c, seed });
      } else if (r < 0.55) {
        if (live.size > 0) freePlain(pick([...live.keys()].slice(0, 16)));
      } else if (r < 0.8) {
        const key = Math.floor(rand() * (nextKey + 10));
        const p = ix.get(key);
        if (p !== undefined) {
          if (rand() < 0.3) held.push(p);
          else ix.put(p);
        } else {
          const q = ix.cache.alloc();
          if (q === 0) continue;
          setU32(heap, q, 1);
          setU32(heap, q + 4, nextKey);
          ix.map.set(nextKey++, q);
        }
      } else if (r < 0.86) {
        if (held.length > 0) ix.put(held.splice(Math.floor(rand() * held.length), 1)[0]!);
      } else if (r < 0.9) heap.reap();
      else if (r < 0.92) heap.shrink();
      else if (r < 0.94) pick(plain).shrink();
      else if (r < 0.97) {
        ix.cache.reclaim(1 + Math.floor(rand() * 8));
        ix.check();
      }
      if (op % 3000 === 0) expect(heap.validate().ok).toBe(true);
    }
    // The budget was reached again and again: shrinkers ran, and targeted reclaim recycled dentries.
    expect(heap.stats().reclaim.shrinkerCalls).toBeGreaterThan(20);
    expect(heap.stats().chunks).toBe(2);
    expect(ix.destroyed.length).toBeGreaterThan(100);
    for (const p of held) expect(u32(heap, p)).toBeGreaterThan(1);
    for (const [p, b] of live) expect(intact(p, b.c, b.seed)).toBe(true);
    expect(plain.reduce((a, c) => a + c.live, 0)).toBe(live.size);
    expect(ix.cache.live).toBe(ix.map.size);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("memory.discard", () => {
  /** A heap whose second chunk is wholly free again (objects of 4 KiB, order-3 slabs, 40 of them). */
  async function freeSecondChunk(memory?: WebAssembly.Memory): Promise<{ heap: Heap; c: Cache }> {
    const heap = await makeHeap(memory ? { memory } : {});
    const c = heap.createCache("big", { size: 4096 });
    const ps = Array.from({ length: 8 * 40 }, () => c.alloc());
    expect(heap.stats().chunks).toBe(2);
    for (const p of ps) c.free(p);
    heap.shrink();
    return { heap, c };
  }

  it("without engine support: free chunks are reported free but committed", async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    expect((memory as unknown as { discard?: unknown }).discard).toBeUndefined(); // Node 20
    const { heap } = await freeSecondChunk(memory);
    const s = heap.stats();
    expect(s.discardSupported).toBe(false);
    expect(s.freeChunkBytes).toBe(1 << 20);
    expect(s.discardedBytes).toBe(0);
    // the top chunk is committed lazily: its never-used pages are free but not committed
    const uncommitted = s.headerBytes + s.bytesGrown - s.committedBytes;
    expect(s.freeCommittedBytes).toBe(s.freePages[0]! * 4096 - uncommitted);
    expect(s.reclaim.chunksDiscarded).toBe(0);
  });

  it("with a discard(byteOffset, byteLength) on the memory: whole free chunks are discarded once", async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const calls: [number, number][] = [];
    (memory as unknown as { discard: (o: number, n: number) => void }).discard = (o, n) => {
      calls.push([o, n]);
      new Uint8Array(memory.buffer, o, n).fill(0); // what the engine's discard guarantees
    };
    const { heap, c } = await freeSecondChunk(memory);
    const chunkBase = heap.u32(heap.hdr + heap.L.H_CHUNK_BASE!);
    // the second (top) chunk was committed only as far as its blocks were used: that part is discarded
    const committedEnd = memory.buffer.byteLength;
    // discard works in 64 KiB pages: from the first boundary past the chunk's descriptors to the last one
    const start = Math.ceil((chunkBase + (1 << 20) + 8192) / 65536) * 65536;
    const end = Math.min(committedEnd, Math.floor((chunkBase + (2 << 20)) / 65536) * 65536);
    expect(calls).toEqual([[start, end - start]]);
    let s = heap.stats();
    expect(s.discardSupported).toBe(true);
    expect(s.discardedBytes).toBe(calls[0]![1]);
    const uncommitted = s.headerBytes + s.bytesGrown - s.committedBytes;
    expect(s.freeCommittedBytes).toBe(s.freePages[0]! * 4096 - s.discardedBytes - uncommitted);
    heap.reap();
    expect(calls.length).toBe(1); // already discarded
    // Reused and freed again: discarded again.
    const ps = Array.from({ length: 8 * 40 }, () => c.alloc());
    expect(heap.stats().discardedBytes).toBe(0);
    for (const p of ps) c.free(p);
    heap.shrink();
    expect(calls.length).toBe(2);
    s = heap.stats();
    expect(s.reclaim.chunksDiscarded).toBe(2);
    expect(heap.validate().ok).toBe(true);
  });

  it("a shared heap never discards (another thread could take a chunk between the mark and the engine call)", async () => {
    const heap = await makeHeap({ shared: true, nodes: 1, cpusPerNode: 1, maxBytes: 64 << 20 });
    const calls: [number, number][] = [];
    (heap.memory as unknown as { discard: (o: number, n: number) => void }).discard = (o, n) => { calls.push([o, n]); };
    const c = heap.createCache("big", { size: 4096 });
    const ps = Array.from({ length: 8 * 40 }, () => c.alloc());
    expect(heap.stats().chunks).toBe(2);
    for (const p of ps) c.free(p);
    heap.shrink();
    heap.reap();
    const s = heap.stats();
    expect(calls).toEqual([]);
    expect(s.discardSupported).toBe(false);
    expect(s.discardedBytes).toBe(0);
    expect(s.freeChunkBytes).toBe(1 << 20);                 // the chunk is free, and stays committed
    expect(heap.validate().ok).toBe(true);
  });

  it.skipIf(typeof (WebAssembly.Memory.prototype as { discard?: unknown }).discard !== "function")(
    "with the engine's own WebAssembly.Memory#discard",
    async () => {
      const { heap } = await freeSecondChunk();
      expect(heap.stats().discardedBytes).toBe((1 << 20) - 65536);
      expect(heap.validate().ok).toBe(true);
    },
  );
});

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}
