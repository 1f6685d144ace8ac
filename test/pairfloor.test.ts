// pairfloor.test.ts — what the session-9 changes to the pair's fast paths must keep (bench/PROFILE.md,
// "pairfloor"): malloc's class table holds cache addresses (the boot cache's until a class has its own:
// cache.ts heapInit), a free whose chunk byte is not the CPU's node leaves the fast path for the cold one
// (cpu.ts cacheFreeOff, kmalloc.ts kfreeRemote) with the same checks and exact counters, and malloc's
// fast paths take a class's free key at the object's first u32 (harden.ts KM_HARDEN_FLAGS).
import { describe, expect, it } from "vitest";
import { DoubleFreeError, InvalidFreeError, STAT_NAMES, createAllocator, type Heap } from "../bindings/index.js";
import { Abi } from "../bindings/generated/abi.js";
import { classCache, warm } from "./kmclass.js";

/** The u64 counter `name` of the cache at `addr` on `cpu`, read where the Wasm keeps it (its index: its
 *  place in STAT_NAMES, the order stats.ts numbers them in). */
function counter(heap: Heap, addr: number, cpu: number, name: string): number {
  const item = STAT_NAMES.indexOf(name as (typeof STAT_NAMES)[number]);
  if (item < 0) throw new Error(`no counter ${name}`);
  const slot = addr + heap.u32(heap.hdr + Abi.H_CPU_OFF) + cpu * Abi.CC_SIZE;
  return heap.u64(slot + Abi.CC_STATS + 8 * item);
}

describe("malloc's class table", () => {
  it("names the boot cache in every slot until a class gets its cache, then that cache's address", async () => {
    const heap = await createAllocator({ reap: false });
    const table = heap.hdr + Abi.H_KMALLOC + Abi.KM_CACHES;
    const boot = heap.hdr + Abi.H_BOOT;
    const slots = () => Array.from({ length: Abi.KM_SLOTS }, (_, k) => heap.u32(table + 4 * k));
    expect(slots().every((a) => a === boot)).toBe(true);
    warm(heap, 64);
    warm(heap, 1000);
    const named = slots().filter((a) => a !== boot);
    const kmalloc = heap.walkCaches().filter((c) => c.name.startsWith("kmalloc-")).map((c) => c.addr);
    expect(named).toContain(classCache(heap, "kmalloc-64"));
    expect(new Set(named)).toEqual(new Set(kmalloc));
    expect(slots()[0]).toBe(boot); // slot 0 is never a class's
    // the class's pair now runs on its fast paths, counted exactly
    const c = classCache(heap, "kmalloc-64");
    const a0 = counter(heap, c, 0, "alloc_fastpath");
    const f0 = counter(heap, c, 0, "free_fastpath");
    for (let i = 0; i < 10; i++) heap.free(heap.malloc(64));
    expect(counter(heap, c, 0, "alloc_fastpath")).toBe(a0 + 10);
    expect(counter(heap, c, 0, "free_fastpath")).toBe(f0 + 10);
    expect(heap.validate().ok).toBe(true);
  });

  it("a handed-out block's key is cleared and a freed one's written at its first word", async () => {
    const heap = await createAllocator({ reap: false });
    warm(heap, 48);
    const p = heap.malloc(48);
    expect(heap.u32(p)).toBe(0);
    heap.free(p);
    expect(heap.u32(p)).not.toBe(0);
    expect(() => heap.free(p)).toThrow(DoubleFreeError);
    expect(heap.malloc(48)).toBe(p); // LIFO: the same block, key cleared again
    expect(heap.u32(p)).toBe(0);
    heap.free(p);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("malloc's classes without the key", () => {
  it("inUseBits: valid frees of a warmed class are accepted, a double free refused", async () => {
    const heap = await createAllocator({ reap: false, inUseBits: true });
    warm(heap, 64);
    const ps = Array.from({ length: 30 }, () => heap.malloc(64));
    for (const p of ps) heap.free(p);
    expect(() => heap.free(ps[7]!)).toThrow(DoubleFreeError);
    heap.free(heap.malloc(64));
    expect(heap.validate().ok).toBe(true);
  });

  it("debug: valid frees of a warmed class are accepted", async () => {
    const heap = await createAllocator({ reap: false, debug: true });
    warm(heap, 64);
    const ps = Array.from({ length: 30 }, () => heap.malloc(64));
    for (const p of ps) heap.free(p);
    heap.free(heap.malloc(64));
    expect(heap.validate().ok).toBe(true);
  });
});

describe("frees whose chunk byte is not the CPU's node", () => {
  it("malloc: a block freed on another node's CPU goes to its alien array, counted; a second free is refused, changing nothing", async () => {
    const heap = await createAllocator({ nodes: 2, cpusPerNode: 1, reap: false });
    heap.pin(0);
    warm(heap, 64);
    const ps = Array.from({ length: 40 }, () => heap.malloc(64));
    const c = classCache(heap, "kmalloc-64");
    heap.pin(1);
    const alien = counter(heap, c, 1, "alien_free");
    const fast = counter(heap, c, 1, "free_fastpath");
    heap.free(ps[0]!);
    expect(counter(heap, c, 1, "alien_free")).toBe(alien + 1);
    expect(counter(heap, c, 1, "free_fastpath")).toBe(fast);
    const before = heap.footprint();
    expect(() => heap.free(ps[0]!)).toThrow(DoubleFreeError);
    expect(() => heap.free(ps[1]! + 8)).toThrow(InvalidFreeError);
    expect(heap.footprint()).toEqual(before);
    expect(counter(heap, c, 1, "alien_free")).toBe(alien + 1);
    for (const p of ps.slice(1)) heap.free(p);
    expect(counter(heap, c, 1, "alien_free")).toBe(alien + 40);
    expect(heap.validate().ok).toBe(true);
    heap.pin(0); // node 0's own frees stay on its fast path
    const f0 = counter(heap, c, 0, "free_fastpath");
    heap.free(heap.malloc(64));
    expect(counter(heap, c, 0, "free_fastpath")).toBe(f0 + 1);
  });

  it("a cache: another node's object goes to the alien array; a pointer outside every slab chunk is refused", async () => {
    const heap = await createAllocator({ nodes: 2, cpusPerNode: 1, reap: false });
    const c = heap.createCache("pf", { size: 64 });
    heap.pin(0);
    const objs = Array.from({ length: 20 }, () => c.alloc());
    heap.pin(1);
    const alien = c.stats().perCpu[1]!.alien_free;
    c.free(objs[0]!);
    expect(c.stats().perCpu[1]!.alien_free).toBe(alien + 1);
    const big = heap.malloc(64 << 10);
    const before = heap.footprint();
    const live = c.live;
    expect(() => c.free(objs[0]!)).toThrow(DoubleFreeError);
    expect(() => c.free(heap.hdr + Abi.H_BOOT)).toThrow(InvalidFreeError); // the heap header: no chunk
    expect(() => c.free(big)).toThrow(InvalidFreeError); // a block of no slab page of this cache
    expect(heap.footprint()).toEqual(before);
    heap.free(big);
    expect(c.live).toBe(live);
    for (const p of objs.slice(1)) c.free(p);
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });
});
