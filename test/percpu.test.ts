// percpu.test.ts — the per-CPU front end: arrays and barn, alien arrays, allocNode, prefill, bulk,
// tune, and the counters that show them working. All deterministic (simulated CPUs).
import { describe, expect, it } from "vitest";
import {
  DoubleFreeError,
  InvalidArgumentError,
  InvalidFreeError,
  OutOfMemoryError,
  createAllocator,
  type Cache,
  type Heap,
} from "../bindings/index.js";

/** A maple-tree-like workload: bursts of node allocations (a tree growing), interleaved frees (nodes
 *  replaced by copy-on-write), alternating between 2 CPUs. */
function mapleWorkload(heap: Heap, c: Cache, rounds: number): void {
  const live: number[][] = [[], []];
  let x = 12345;
  const rand = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let r = 0; r < rounds; r++) {
    const cpu = r & 1;
    heap.pin(cpu);
    const mine = live[cpu]!;
    const burst = 8 + Math.floor(rand() * 40);
    for (let i = 0; i < burst; i++) {
      mine.push(c.alloc());
      if (rand() < 0.6 && mine.length > 4) {
        const k = Math.floor(rand() * mine.length);
        c.free(mine[k]!);
        mine[k] = mine[mine.length - 1]!;
        mine.pop();
      }
    }
    while (mine.length > 300) c.free(mine.pop()!);
  }
  for (let cpu = 0; cpu < 2; cpu++) {
    heap.pin(cpu);
    for (const p of live[cpu]!) c.free(p);
  }
}

describe("per-CPU arrays", () => {
  it("serve most allocs and frees of a maple-tree-like workload; capacity 0 serves none", async () => {
    const heap = await createAllocator({ nodes: 1, cpusPerNode: 2 });
    const on = heap.createCache("maple_node", { size: 256, magazine: false }); // the per-CPU arrays themselves
    mapleWorkload(heap, on, 2000);
    const s = on.stats().counters;
    expect(s.alloc_fastpath).toBeGreaterThan(10 * s.alloc_slowpath);
    expect(s.free_fastpath).toBeGreaterThan(10 * s.free_slowpath);
    expect(s.sheaf_refill).toBeGreaterThan(0);
    expect(on.live).toBe(0);

    const off = heap.createCache("maple_node_noarr", { size: 256, arrayCapacity: 0 });
    mapleWorkload(heap, off, 2000);
    const t = off.stats().counters;
    expect(t.alloc_fastpath).toBe(0);
    expect(t.free_fastpath).toBe(0);
    expect(t.alloc_slowpath).toBe(s.alloc_fastpath + s.alloc_slowpath);
    expect(t.lock_acquire).toBeGreaterThan(20 * s.lock_acquire);
    expect(heap.validate().ok).toBe(true);
  });

  it("use the barn: full arrays go to it on free and come back on alloc", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("b", { size: 64, arrayCapacity: 8, magazine: false });
    const ptrs = c.allocBulk(200);
    for (const p of ptrs) c.free(p);
    let s = c.stats().counters;
    expect(s.barn_put).toBeGreaterThan(0);
    expect(s.barn_put).toBeLessThanOrEqual(10);
    expect(s.barn_put_fail).toBeGreaterThan(0); // more than 10 full arrays: the rest was flushed
    const again = Array.from({ length: 100 }, () => c.alloc());
    s = c.stats().counters;
    expect(s.barn_get).toBeGreaterThan(0);
    for (const p of again) c.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("capacity starts from the object size and can be tuned at run time", async () => {
    const heap = await createAllocator();
    expect([8, 256, 1024, 4096].map((size) => heap.createCache(`c${size}`, { size }).arrayCapacity)).toEqual([60, 26, 12, 8]);
    const c = heap.createCache("t", { size: 64 });
    const a = Array.from({ length: 100 }, () => c.alloc());
    for (const p of a) c.free(p);
    expect(c.stats().parkedObjects).toBeGreaterThan(0);
    c.tune({ arrayCapacity: 0 });
    expect(c.arrayCapacity).toBe(0);
    expect(c.stats().parkedObjects).toBe(0); // drained
    const before = c.stats().counters.alloc_fastpath;
    c.free(c.alloc());
    expect(c.stats().counters.alloc_fastpath).toBe(before);
    c.tune({ arrayCapacity: 100 });
    for (let i = 0; i < 10; i++) c.free(c.alloc());
    expect(c.stats().counters.alloc_fastpath).toBeGreaterThan(before);
    expect(() => c.tune({ arrayCapacity: -1 })).toThrow(InvalidArgumentError);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("wrong-node frees", () => {
  async function producerConsumer(alienArrays: boolean) {
    const heap = await createAllocator({ nodes: 2, cpusPerNode: 1, alienArrays });
    const c = heap.createCache("msg", { size: 128 });
    let live = 0;
    let locksDuringFrees = 0;
    let frees = 0;
    for (let round = 0; round < 20; round++) {
      heap.pin(0); // producer on node 0
      const batch = Array.from({ length: 500 }, () => c.alloc());
      live += batch.length;
      expect(batch.every((p) => heap.nodeOf(p) === 0)).toBe(true);
      heap.pin(1); // consumer on node 1
      const before = c.stats().perCpu[1]!.lock_acquire;
      for (const p of batch) c.free(p);
      locksDuringFrees += c.stats().perCpu[1]!.lock_acquire - before;
      frees += batch.length;
      live -= batch.length;
    }
    expect(heap.validate().ok).toBe(true);
    expect(c.live).toBe(live);
    return { heap, c, locksPer1000: (1000 * locksDuringFrees) / frees };
  }

  it("alien arrays batch remote frees: ≥5× fewer lock acquisitions per 1000 frees", async () => {
    const on = await producerConsumer(true);
    const off = await producerConsumer(false);
    expect(off.locksPer1000).toBeGreaterThan(900);
    expect(off.locksPer1000 / on.locksPer1000).toBeGreaterThanOrEqual(5);
    const s = on.c.stats().counters;
    expect(s.alien_free).toBe(10_000);
    expect(s.alien_flush).toBeGreaterThan(0);
    expect(off.c.stats().counters.alien_free).toBe(0);
    // no object lost: drain everything and destroy cleanly
    on.heap.pin(0);
    on.c.destroy();
    expect(on.heap.validate().ok).toBe(true);
  });
});

describe("allocNode", () => {
  it("uses the arrays only for the CPU's own node; a mismatch bypasses them and is counted", async () => {
    const heap = await createAllocator({ nodes: 2, cpusPerNode: 1 });
    const c = heap.createCache("n", { size: 64, magazine: false });
    c.free(c.alloc()); // warm CPU 0's array
    const s0 = c.stats().counters;
    const local = c.allocNode(0);
    expect(c.stats().counters.alloc_fastpath).toBe(s0.alloc_fastpath + 1);
    const remote = c.allocNode(1);
    expect(heap.nodeOf(remote)).toBe(1);
    const s1 = c.stats().counters;
    expect(s1.alloc_node_mismatch).toBe(1);
    expect(s1.alloc_fastpath).toBe(s0.alloc_fastpath + 1);
    c.free(local);
    c.free(remote);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("prefill", () => {
  it("a handle cannot fail for n allocations, even once the heap is exhausted", async () => {
    const heap = await createAllocator({ maxBytes: 1 << 20 });
    const c = heap.createCache("pf", { size: 512 });
    const h = c.prefill(20);
    expect(h.remaining).toBeGreaterThanOrEqual(20);
    const filler: number[] = [];
    expect(() => {
      for (;;) filler.push(c.alloc());
    }).toThrow(OutOfMemoryError);
    const got = Array.from({ length: 20 }, () => h.alloc());
    expect(new Set([...got, ...filler]).size).toBe(20 + filler.length);
    c.returnPrefilled(h);
    expect(() => h.alloc()).toThrow(InvalidArgumentError);
    expect(() => c.returnPrefilled(h)).toThrow(InvalidArgumentError);
    for (const p of [...got, ...filler]) c.free(p);
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("fast (spare), slow (new array) and oversize handles; return fast and slow", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("pf2", { size: 64, arrayCapacity: 16 });
    const h1 = c.prefill(10); // no spare yet
    expect(c.stats().counters.sheaf_prefill_slow).toBe(1);
    c.returnPrefilled(h1); // spare slot is empty: becomes the spare
    expect(c.stats().counters.sheaf_return_fast).toBe(1);
    const h2 = c.prefill(12); // the spare (10 objects) is topped up
    expect(c.stats().counters.sheaf_prefill_fast).toBe(1);
    expect(h2.remaining).toBeGreaterThanOrEqual(12);
    const big = c.prefill(100); // more than the capacity
    expect(c.stats().counters.sheaf_prefill_oversize).toBe(1);
    const objs = Array.from({ length: 100 }, () => big.alloc());
    expect(new Set(objs).size).toBe(100);
    c.returnPrefilled(big); // oversize: flushed
    c.returnPrefilled(h2);
    expect(c.stats().counters.sheaf_return_slow).toBeGreaterThanOrEqual(1);
    for (const p of objs) c.free(p);
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
    expect(() => c.prefill(0)).toThrow(InvalidArgumentError);
  });

  it("fails cleanly when memory cannot supply n, and takes nothing", async () => {
    const heap = await createAllocator({ maxBytes: 1 << 20 });
    const c = heap.createCache("pf3", { size: 4096 });
    const live = c.live;
    expect(() => c.prefill(4000)).toThrow(OutOfMemoryError);
    expect(c.live).toBe(live);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("bulk", () => {
  it("allocBulk returns n distinct objects; freeBulk frees them", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("bulk", { size: 24 });
    c.free(c.alloc());
    const ptrs = c.allocBulk(10_000);
    expect(ptrs).toBeInstanceOf(Uint32Array);
    expect(new Set(ptrs).size).toBe(10_000);
    expect(c.live).toBe(10_000);
    const s = c.stats().counters;
    expect(s.alloc_fastpath + s.alloc_slowpath).toBe(10_001);
    c.freeBulk(ptrs);
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("allocBulk is all or nothing", async () => {
    const heap = await createAllocator({ maxBytes: 1 << 20 });
    const c = heap.createCache("aon", { size: 1024 });
    expect(() => c.allocBulk(100_000)).toThrow(OutOfMemoryError);
    expect(c.live).toBe(0);
    expect(c.allocBulk(50)).toHaveLength(50);
    expect(heap.validate().ok).toBe(true);
  });

  it("freeBulk checks every pointer first and frees nothing when one is bad", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("fb", { size: 64 });
    const ptrs = c.allocBulk(100);
    const bad = Uint32Array.from([...ptrs.subarray(0, 50), ptrs[0]! + 8, ...ptrs.subarray(50)]);
    expect(() => c.freeBulk(bad)).toThrowError(expect.objectContaining({ name: "InvalidFreeError", ptr: ptrs[0]! + 8 }));
    expect(c.live).toBe(100);
    const dup = Uint32Array.from([...ptrs, ptrs[7]!]);
    expect(() => c.freeBulk(dup)).toThrow(DoubleFreeError);
    expect(c.live).toBe(100);
    expect(heap.validate().ok).toBe(true);
    c.freeBulk(ptrs);
    expect(c.live).toBe(0);
    expect(() => c.freeBulk([16])).toThrow(InvalidFreeError);
    expect(heap.validate().ok).toBe(true);
  });
});
