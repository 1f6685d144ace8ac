// fastpath-diff.test.ts — alloc's JS hit path (bindings/fastpath.ts) against the Wasm it mirrors, on twin
// heaps: the same random sequence of allocs, frees (good and bad: double, wrong cache, interior, not
// ours, never handed out, back in its slab after a flush), user writes (the free key's word included, sometimes the key itself), pins
// and growth runs through the Cache API on one heap and through the raw exports (cache_alloc /
// cache_free) on the other. Every returned pointer, every error code, the counters, validate() and
// finally every byte of the two memories must be equal. A change to cpu.ts cacheAlloc, harden.ts
// hardenAlloc, inuse.ts (the key, the in-use bit) or stats.ts that fastpath.ts does not follow fails here.
import { describe, expect, it } from "vitest";
import { SlabError, createAllocator, type Cache, type Heap } from "../bindings/index.js";
import { Abi } from "../bindings/generated/abi.js";
import { rng } from "./rng.js";

interface Twin {
  heap: Heap;
  caches: Cache[];
}

type Mode = "default" | "inUseBits";

async function twin(mode: Mode): Promise<Twin> {
  const heap = await createAllocator({ nodes: 2, cpusPerNode: 2, inUseBits: mode === "inUseBits", reap: false });
  const caches = [
    heap.createCache("d-16", { size: 16 }),
    heap.createCache("d-64", { size: 64, arrayCapacity: 7 }),
    heap.createCache("d-200", { size: 200, align: 8 }),
    heap.createCache("d-1500", { size: 1500 }),
    heap.createCache("d-24-off", { size: 24, arrayCapacity: 0 }),
    heap.createCache("d-13-odd", { size: 13, align: 1 }), // objects not 4-aligned: the path declines it
  ];
  return { heap, caches };
}

/** expect(x).toEqual(y) for the hot loop (vitest's expect costs microseconds). */
function same(what: string, x: unknown, y: unknown): void {
  if (x !== y) expect([what, x]).toEqual([what, y]);
}

/** Outcome of one free: 0, or the error code (thrown by the Cache API, returned by the raw ABI). */
function freeApi(c: Cache, p: number): number {
  try {
    c.free(p);
    return 0;
  } catch (e) {
    if (!(e instanceof SlabError)) throw e;
    return e.code;
  }
}

async function run(seed: number, ops: number, mode: Mode): Promise<void> {
  const a = await twin(mode); // Cache API: the JS hit path
  const b = await twin(mode); // raw exports: the Wasm fast path
  const rand = rng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const live: { k: number; p: number }[] = [];
  const dead: { k: number; p: number }[] = [];
  let allocs = 0;
  for (let op = 0; op < ops; op++) {
    const r = rand();
    const k = int(a.caches.length);
    if (r < 0.42 || live.length === 0) {
      const pa = a.caches[k]!.alloc();
      const pb = b.heap.wasm.cache_alloc(b.caches[k]!.addr) >>> 0;
      same(`op ${op}: alloc from cache ${k}`, pa, pb);
      allocs++;
      live.push({ k, p: pa });
      if (rand() < 0.5) {
        // the user writes its object (its first words included: where the free key lives)
        const word = rand() < 0.05 ? (pa ^ Abi.FREE_KEY) >>> 0 : int(2 ** 32); // sometimes the key itself
        a.heap.dv.setUint32(pa, word, true);
        b.heap.dv.setUint32(pb, word, true);
      }
    } else if (r < 0.80) {
      const i = int(live.length);
      const { k: ck, p } = live[i]!;
      live[i] = live[live.length - 1]!;
      live.pop();
      const ea = freeApi(a.caches[ck]!, p);
      const eb = b.heap.wasm.cache_free(b.caches[ck]!.addr, p);
      same(`op ${op}: free`, ea, eb);
      same(`op ${op}: free`, ea, 0);
      dead.push({ k: ck, p });
      if (dead.length > 64) dead.shift();
    } else if (r < 0.93) {
      // a bad free: double, wrong cache, interior, header, anywhere, a never-handed-out neighbour, chunks
      let p: number;
      let ck = k;
      const kind = int(8);
      if (kind === 0 && dead.length > 0) ({ k: ck, p } = dead[int(dead.length)]!);
      else if (kind === 7 && live.length > 1) {
        // a double free of an object back in its slab: a live one whose slab holds another live one is
        // freed (both heaps), every array flushed (shrink), the CPU's array refilled; then freed again
        const x = live[int(live.length)]!;
        const mask = a.heap.u32(a.caches[x.k]!.addr + Abi.C_SLAB_MASK);
        const j = live.findIndex((y) => y !== x && y.k === x.k && (y.p & ~mask) === (x.p & ~mask));
        ck = x.k;
        p = x.p;
        if (j >= 0) {
          same(`op ${op}: free before a flush`, freeApi(a.caches[ck]!, p), b.heap.wasm.cache_free(b.caches[ck]!.addr, p));
          live.splice(live.indexOf(x), 1);
          dead.push({ k: ck, p });
          a.heap.shrink();
          b.heap.shrink(); // (which leaves the CPU without a main array: the next alloc refills it)
          const ta = a.caches[ck]!.alloc();
          same(`op ${op}: refill after shrink`, ta, b.heap.wasm.cache_alloc(b.caches[ck]!.addr) >>> 0);
          live.push({ k: ck, p: ta });
        }
      }
      else if (kind === 1 && live.length > 0) p = live[int(live.length)]!.p; // maybe another cache's
      else if (kind === 2 && live.length > 0) p = live[int(live.length)]!.p + 4 * (1 + int(4));
      else if (kind === 3) p = a.heap.hdr + 4 * int(64);
      else if (kind === 4) p = int(2 ** 32);
      else if (kind === 5 && live.length > 0) {
        // a neighbour of a live object: often one still free in its slab, never handed out (no key)
        const x = live[int(live.length)]!;
        ck = x.k;
        p = x.p + a.caches[ck]!.stride * (int(2) === 0 ? 1 + int(64) : -(1 + int(64)));
      }
      else p = (a.heap.u32(a.heap.hdr + Abi.H_CHUNK_BASE) + int(4 << 20)) & ~7;
      const ea = freeApi(a.caches[ck]!, p);
      const eb = b.heap.wasm.cache_free(b.caches[ck]!.addr, p);
      same(`op ${op}: bad free of ${p}`, ea, eb);
      if (ea === 0) {
        // a good free after all (a live object of this very cache): it left the live set
        const i = live.findIndex((x) => x.p === p);
        expect(i).toBeGreaterThanOrEqual(0);
        live.splice(i, 1);
        dead.push({ k: ck, p });
      }
    } else if (r < 0.97) {
      const cpu = int(a.heap.cpus);
      a.heap.pin(cpu);
      b.heap.pin(cpu);
    } else {
      // a burst: grows memory in a miss, then frees most of it back
      const burst: number[] = [];
      for (let j = 0; j < 300; j++) {
        const pa = a.caches[k]!.alloc();
        same(`op ${op}: burst alloc`, pa, b.heap.wasm.cache_alloc(b.caches[k]!.addr) >>> 0);
        burst.push(pa);
      }
      for (const p of burst.slice(50)) {
        same(`op ${op}: burst free`, freeApi(a.caches[k]!, p), b.heap.wasm.cache_free(b.caches[k]!.addr, p));
      }
      for (const p of burst.slice(0, 50)) live.push({ k, p });
    }
    if (op % 500 === 0) {
      expect(a.heap.validate().ok).toBe(true);
      expect(b.heap.validate().ok).toBe(true);
    }
  }
  for (let k = 0; k < a.caches.length; k++) expect(a.caches[k]!.stats()).toEqual(b.caches[k]!.stats());
  expect(a.heap.stats()).toEqual(b.heap.stats());
  expect(a.heap.validate()).toEqual(b.heap.validate());
  expect(a.heap.validate().ok).toBe(true);
  // the hit path really ran (most allocs), and both heaps hold the same bytes, every one of them
  const hits = a.caches.reduce((n, c) => n + c.stats().counters.alloc_fastpath, 0);
  expect(hits).toBeGreaterThan(allocs * 0.5);
  const ma = new Uint32Array(a.heap.memory.buffer);
  const mb = new Uint32Array(b.heap.memory.buffer);
  expect(ma.length).toBe(mb.length);
  let firstDiff = -1;
  for (let i = 0; i < ma.length; i++) if (ma[i] !== mb[i]) { firstDiff = 4 * i; break; }
  expect(firstDiff).toBe(-1);
}

describe("the JS hit path and the Wasm fast path leave identical heaps", () => {
  it.each([1, 2, 3])("default caches (free key), seed %i", async (seed) => {
    await run(seed, 6000, "default");
  });
  it.each([4, 5])("in-use bits, seed %i", async (seed) => {
    await run(seed, 6000, "inUseBits");
  });
});
