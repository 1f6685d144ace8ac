// fastpair.test.ts — the in-Wasm free fast paths after issue 11's "fastpair" change, through the raw ABI of
// build/release.wasm (no JS fast path in between): cpu.ts cacheFree makes the page test on its own
// branches, harden.ts hardenFree / hardenRelease answer bools and the refusal's code is found again cold
// (hardenFreeError), the bitmap test of a cache with neither a free key nor in-use bits moved from
// hardenFree to hardenRelease, and the current CPU's slot offset is one global kept by sync.ts setCpu.
// Pinned down here: every refusal keeps its exact code and changes nothing (the object is still freed
// once after it, counters and validate unchanged), for each double-free mechanism (free key, in-use bits,
// neither: a debug cache) and for free() of every malloc class; a refused double free is never handed
// out twice; and the counters land in the pinned CPU's slot after pin_cpu.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Abi } from "../bindings/generated/abi.js";

const E_OK = 0, E_NOT_OURS = 2, E_NOT_OBJECT = 3, E_WRONG_CACHE = 4, E_DOUBLE_FREE = 5;
const F_CHECKS = 1 << 5, F_INUSE = 1 << 8;
const ALLOC_FASTPATH = 0, FREE_FASTPATH = 2;
const bytes = readFileSync(join(__dirname, "..", "build", "release.wasm"));

type W = Record<string, (...a: number[]) => number>;

async function raw(cpus = 1): Promise<{ w: W; memory: WebAssembly.Memory }> {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory, hook: () => 0 } });
  const w = instance.exports as unknown as W;
  expect(w.slab_init!(w.data_end!(), 1, cpus, 0)).toBe(E_OK);
  expect(w.pin_cpu!(0)).toBe(E_OK);
  return { w, memory };
}

/** The u64 counter `item` of `cache` on `cpu`, read where the Wasm keeps it. */
function counter(w: W, memory: WebAssembly.Memory, cache: number, cpu: number, item: number): number {
  const u32 = new Uint32Array(memory.buffer);
  const slot = cache + u32[(w.heap_addr!() + Abi.H_CPU_OFF) >>> 2]! + cpu * Abi.CC_SIZE;
  return Number(new BigUint64Array(memory.buffer, slot + Abi.CC_STATS + item * 8, 1)[0]);
}

/** What a refused free must leave as it was. */
function state(w: W, memory: WebAssembly.Memory, cache: number): number[] {
  return [w.heap_validate!(), w.cache_live!(cache), w.cache_parked!(cache), counter(w, memory, cache, 0, FREE_FASTPATH)];
}

describe("cache_free: every refusal keeps its code and changes nothing, whatever the mechanism", () => {
  const kinds: [string, number][] = [["free key", 0], ["in-use bits", F_INUSE], ["neither (debug checks)", F_CHECKS]];
  for (const [kind, flags] of kinds) {
    for (const size of [16, 64, 72, 200, 1024]) {
      it(`${kind}, size ${size}`, async () => {
        const { w, memory } = await raw();
        const c = w.cache_create!(size, 8, flags, 0xffffffff);
        const other = w.cache_create!(size, 8, flags, 0xffffffff);
        expect(c).not.toBe(0);
        const live = Array.from({ length: 40 }, () => w.cache_alloc!(c) >>> 0);
        const q = w.cache_alloc!(other) >>> 0;
        const p = live[7]!;
        const before = state(w, memory, c);
        expect(before[0]).toBe(0);
        for (let d = 1; d < size; d++) expect(w.cache_free!(c, p + d)).toBe(E_NOT_OBJECT);     // interior
        expect(w.cache_free!(c, q)).toBe(E_WRONG_CACHE);                                      // another cache's
        expect(w.cache_free!(c, 16)).toBe(E_NOT_OURS);                                        // below the heap
        expect(w.cache_free!(c, w.heap_addr!())).toBe(E_NOT_OURS);                            // the heap header
        expect(w.cache_free!(c, 0xfffffff0)).toBe(E_NOT_OURS);                                // beyond memory
        expect(state(w, memory, c)).toEqual(before);
        expect(w.cache_free!(c, p)).toBe(E_OK);
        expect(w.cache_free!(c, p)).toBe(E_DOUBLE_FREE);                                      // parked now
        const after = state(w, memory, c);
        expect(w.cache_free!(c, p)).toBe(E_DOUBLE_FREE);
        expect(state(w, memory, c)).toEqual(after);
        // never handed out twice: every object taken again is distinct from the live ones and each other
        const again = Array.from({ length: 200 }, () => w.cache_alloc!(c) >>> 0);
        const all = [...live.filter((x) => x !== p), ...again];
        expect(new Set(all).size).toBe(all.length);
        for (const x of all) expect(w.cache_free!(c, x)).toBe(E_OK);
        expect(w.cache_free!(other, q)).toBe(E_OK);
        expect(w.heap_validate!()).toBe(0);
      });
    }
  }
});

describe("free(): every malloc class refuses interior, foreign and double frees with its code", () => {
  it("each size 1..8192 (step 7) of the fine set: interior offsets, a freed block twice", async () => {
    const { w } = await raw();
    expect(w.km_set_classes!(2)).toBe(E_OK);                      // KM_SET_FINE: class objects, no loans
    for (let n = 1; n <= 8192; n += 7) {
      const p = w.malloc!(n) >>> 0;
      const keep = w.malloc!(n) >>> 0;
      expect(p).not.toBe(0);
      const usable = w.malloc_usable_size!(p);
      for (const d of [1, 4, 8, usable - 8, usable - 1]) if (d > 0 && d < usable) expect(w.km_free!(p + d)).toBe(E_NOT_OBJECT);
      expect(w.km_free!(p)).toBe(E_OK);
      expect(w.km_free!(p)).toBe(E_DOUBLE_FREE);
      const q = w.malloc!(n) >>> 0;
      const r = w.malloc!(n) >>> 0;
      expect(new Set([q, r, keep]).size).toBe(3);                  // p comes back at most once
      for (const x of [q, r, keep]) expect(w.km_free!(x)).toBe(E_OK);
    }
    expect(w.km_free!(16)).toBe(E_NOT_OURS);
    expect(w.heap_validate!()).toBe(0);
  });
});

describe("the current CPU's slot (sync.ts currentSlotOff)", () => {
  it("follows pin_cpu: the fast paths count in the pinned CPU's slot", async () => {
    const { w, memory } = await raw(3);
    const c = w.cache_create!(64, 8, 0, 0xffffffff);
    for (const cpu of [2, 0, 1]) {
      expect(w.pin_cpu!(cpu)).toBe(E_OK);
      const p = w.cache_alloc!(c);
      expect(w.cache_free!(c, p)).toBe(E_OK);                    // the array now holds p: the next pair is fast
      const a = [0, 1, 2].map((k) => counter(w, memory, c, k, ALLOC_FASTPATH));
      const f = [0, 1, 2].map((k) => counter(w, memory, c, k, FREE_FASTPATH));
      expect(w.cache_free!(c, w.cache_alloc!(c))).toBe(E_OK);
      for (const k of [0, 1, 2]) {
        expect(counter(w, memory, c, k, ALLOC_FASTPATH)).toBe(a[k]! + (k === cpu ? 1 : 0));
        expect(counter(w, memory, c, k, FREE_FASTPATH)).toBe(f[k]! + (k === cpu ? 1 : 0));
      }
    }
    expect(w.heap_validate!()).toBe(0);
  });
});
