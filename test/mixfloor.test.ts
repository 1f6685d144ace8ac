// mixfloor.test.ts — what the session-10 changes to the fast paths must keep (bench/PROFILE.md, "mixfloor"):
// stats.ts statAt adds to a counter through the load's and the store's immediate offset (malloc's and
// cacheAlloc's fast counters, and every slow-path counter, still carry into their high word), and a
// malloc class with in-use bits sets its bit on the fast path's hand-out out of line (harden.ts
// handOutBits): a block handed out from the array is freed once, refused the second time; the merge
// target (dist/slab-merge.wasm, ONE_CPU=1) serves its one CPU with constants and refuses another shape or
// another heap base (its fast paths address the heap at env.__heap_base as constants: percpu.ts fastHeap).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DoubleFreeError, STAT_NAMES, createAllocator, type Heap } from "../bindings/index.js";
import { Abi } from "../bindings/generated/abi.js";
import { classCache, warm } from "./kmclass.js";

/** The address of the u64 counter `name` of the cache at `addr` on CPU 0, where the Wasm keeps it. */
function counterAt(heap: Heap, addr: number, name: string): number {
  const item = STAT_NAMES.indexOf(name as (typeof STAT_NAMES)[number]);
  if (item < 0) throw new Error(`no counter ${name}`);
  return addr + heap.u32(heap.hdr + Abi.H_CPU_OFF) + Abi.CC_STATS + 8 * item;
}

function words(heap: Heap, at: number): [number, number] {
  return [heap.dv.getUint32(at, true), heap.dv.getUint32(at + 4, true)];
}

function setWords(heap: Heap, at: number, lo: number, hi: number): void {
  heap.dv.setUint32(at, lo, true);
  heap.dv.setUint32(at + 4, hi, true);
}

describe("counters through statAt's immediate offsets", () => {
  it("malloc's fast alloc counter and kfree's fast free counter carry into their high words", async () => {
    const heap = await createAllocator({ reap: false });
    warm(heap, 64);
    const c = classCache(heap, "kmalloc-64");
    const a = counterAt(heap, c, "alloc_fastpath");
    const f = counterAt(heap, c, "free_fastpath");
    setWords(heap, a, 0xffffffff, 5);
    setWords(heap, f, 0xfffffffe, 0x7fffffff);
    const p = heap.malloc(64);
    expect(words(heap, a)).toEqual([0, 6]);
    heap.free(p);
    heap.free(heap.malloc(64));
    expect(words(heap, a)).toEqual([1, 6]);
    expect(words(heap, f)).toEqual([0, 0x80000000]);
    // the neighbours in the block are untouched (each counter is its own u64)
    expect(heap.u64(counterAt(heap, c, "alloc_slowpath"))).toBeLessThan(2 ** 32);
  });

  it("a cache's fast alloc and its slow-path counters carry too, and stats() reads them", async () => {
    const heap = await createAllocator({ reap: false });
    const cache = heap.createCache("carry", { magazine: false, size: 48, arrayCapacity: 4 });
    const a = counterAt(heap, cache.addr, "alloc_fastpath");
    const s = counterAt(heap, cache.addr, "alloc_slowpath");
    cache.free(cache.alloc()); // warm: the array holds objects
    setWords(heap, a, 0xffffffff, 0);
    setWords(heap, s, 0xffffffff, 1);
    const held = Array.from({ length: 12 }, () => cache.alloc()); // a fast pop, then misses
    expect(words(heap, a)[1]).toBe(1);
    expect(words(heap, s)[1]).toBe(2);
    const st = cache.stats();
    expect(st.counters.alloc_fastpath).toBe(heap.u64(a));
    expect(st.counters.alloc_slowpath).toBe(heap.u64(s));
    for (const p of held) cache.free(p);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("in-use bits on malloc's fast path (the hand-out out of line)", () => {
  it("a block popped from the array has its bit: one free accepted, the second refused", async () => {
    const heap = await createAllocator({ reap: false, inUseBits: true });
    warm(heap, 96);
    const c = classCache(heap, "kmalloc-96");
    const fast = () => heap.u64(counterAt(heap, c, "alloc_fastpath"));
    const before = fast();
    const ps = Array.from({ length: 8 }, () => heap.malloc(96));
    expect(fast()).toBe(before + 8); // every one from the fast path
    for (const p of ps) heap.free(p);
    for (const p of ps) expect(() => heap.free(p)).toThrow(DoubleFreeError);
    const q = heap.malloc(96); // LIFO: the last freed, its bit set again by the hand-out
    expect(q).toBe(ps[7]);
    heap.free(q);
    expect(() => heap.free(q)).toThrow(DoubleFreeError);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("the merge target's one-CPU fast paths (asconfig.json merge: ONE_CPU=1, percpu.ts SINGLE_CPU)", () => {
  async function merged() {
    const bytes = readFileSync(fileURLToPath(new URL("../dist/slab-merge.wasm", import.meta.url)));
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
    const { instance } = await WebAssembly.instantiate(bytes, {
      env: { memory, hook: () => 0, __heap_base: new WebAssembly.Global({ value: "i32", mutable: false }, 4096) },
    });
    return instance.exports as Record<string, (...a: number[]) => number>;
  }

  it("serves malloc and free on CPU 0 of its one node, checks kept", async () => {
    const w = await merged();
    const ps = Array.from({ length: 2000 }, (_, i) => w.malloc!(8 + (i % 64) * 8));
    expect(new Set(ps).size).toBe(ps.length);
    for (const p of ps) expect(w.km_free!(p)).toBe(0);
    expect(w.km_free!(ps[1999]!)).not.toBe(0); // a double free, refused (E_DOUBLE_FREE)
    const q = w.malloc!(64);
    expect(w.km_free!(q + 4)).not.toBe(0);   // interior, refused
    expect(w.km_free!(q)).toBe(0);
    expect(w.pin_cpu!(1)).not.toBe(0);      // no second CPU
  });

  it("refuses a heap of another shape (its constants are node 0's, CPU 0's): a code, no trap, the heap unchanged", async () => {
    const w = await merged();
    const held = Array.from({ length: 100 }, (_, i) => w.malloc!(16 + i * 8));
    expect(w.slab_init!(1 << 20, 2, 1, 0)).toBe(6); // E_INVALID
    expect(w.slab_init!(1 << 20, 1, 2, 0)).toBe(6);
    // its fast paths address the heap at env.__heap_base as constants (percpu.ts fastHeap): another base
    // of the right shape is refused too
    expect(w.slab_init!(1 << 20, 1, 1, 0)).toBe(6);
    expect(w.slab_init!(4096 + 64, 1, 1, 0)).toBe(6);
    expect(w.heap_validate!()).toBe(0); // the heap it had, untouched
    for (const p of held) expect(w.km_free!(p)).toBe(0);
    const q = w.malloc!(64);
    expect(q).not.toBe(0);
    expect(w.km_free!(q)).toBe(0);
  });
});
