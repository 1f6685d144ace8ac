// bulk.test.ts — allocBulk / freeBulk (assembly/bulk.ts, the bulk methods of bindings/cache.ts): runs
// larger than the arrays and the barn, all or nothing when memory runs out halfway, a bad pointer or a
// duplicate anywhere in a batch changes nothing, the counters are exact, and a random mix of bulk and
// single calls on 2 nodes × 2 CPUs matches a model and validates. All deterministic (simulated CPUs).
import { describe, expect, it } from "vitest";
import {
  DoubleFreeError,
  InvalidArgumentError,
  InvalidFreeError,
  OutOfMemoryError,
  SlabError,
  createAllocator,
  type Cache,
  type Heap,
} from "../bindings/index.js";
import { rng } from "./rng.js";

/** Each live object holds two words of "user data" derived from its address. */
const STAMP = 0x5a17c0de;
function stamp(heap: Heap, ptrs: ArrayLike<number>): void {
  const dv = new DataView(heap.memory.buffer);
  for (let i = 0; i < ptrs.length; i++) {
    dv.setUint32(ptrs[i]!, (ptrs[i]! ^ STAMP) >>> 0, true);
    dv.setUint32(ptrs[i]! + 4, ptrs[i]!, true);
  }
}
function stamped(heap: Heap, ptrs: Iterable<number>): boolean {
  const dv = new DataView(heap.memory.buffer);
  for (const p of ptrs) if (dv.getUint32(p, true) !== ((p ^ STAMP) >>> 0) || dv.getUint32(p + 4, true) !== p) return false;
  return true;
}

/** Everything a refused call must leave as it was. */
function snapshot(c: Cache) {
  const s = c.stats();
  return { live: c.live, parked: s.parkedObjects, total: s.totalObjects, slabs: s.slabs, counters: s.counters };
}

const kinds = [
  ["free keys (the default)", {}],
  ["in-use bits", { inUseBits: true }],
] as const;

describe.each(kinds)("bulk runs, %s", (_name, opts) => {
  it("runs larger than the arrays and the barn go out and come back whole", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("runs", { size: 64, ...opts });
    // capacity 60, barn of 10 full arrays: 660 objects parked at most; 5000 overflow into the slabs
    for (let round = 0; round < 5; round++) {
      const ptrs = c.allocBulk(5000);
      expect(new Set(ptrs).size).toBe(5000);
      expect(c.live).toBe(5000);
      stamp(heap, ptrs);
      expect(heap.validate().ok).toBe(true);
      c.freeBulk(round & 1 ? Array.from(ptrs) : ptrs);
      expect(c.live).toBe(0);
      expect(c.stats().parkedObjects).toBe(660);
      expect(heap.validate().ok).toBe(true);
    }
    // objects from the arrays, the barn and the slabs in one run, then single frees and allocs mix in
    const a = c.allocBulk(1500);
    for (let i = 0; i < 100; i++) c.free(a[i]!);
    const b = Array.from({ length: 50 }, () => c.alloc());
    c.freeBulk(a.subarray(100));
    c.freeBulk(b);
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("a bad pointer in the middle of a freeBulk changes nothing", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("bad", { size: 64, ...opts });
    c.freeBulk(c.allocBulk(2000)); // arrays and barn full, slabs partly free
    const ptrs = c.allocBulk(1500);
    stamp(heap, ptrs);
    const before = snapshot(c);
    const other = heap.createCache("other", { size: 64, ...opts });
    const foreign = other.alloc();
    const free = c.allocBulk(1)[0]!;
    c.free(free);
    const cases: [number, abstract new (...args: never[]) => SlabError][] = [
      [ptrs[3]! + 8, InvalidFreeError], // not an object start
      [foreign, InvalidFreeError], // another cache's object
      [16, InvalidFreeError], // not a heap address
      [0, InvalidFreeError], // nor is 0, nor an address in the first slab-sized block of memory
      [64, InvalidFreeError],
      [4096 - 64, InvalidFreeError],
      [free, DoubleFreeError], // parked in the CPU's array
    ];
    const snap = snapshot(c);
    for (const [bad, type] of cases) {
      for (const at of [0, 700, 1499]) {
        const list = Array.from(ptrs);
        list.splice(at, 0, bad);
        let err: unknown;
        try {
          c.freeBulk(Uint32Array.from(list));
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(type);
        expect((err as { ptr?: number }).ptr).toBe(bad);
        expect(snapshot(c)).toEqual(snap);
        expect(stamped(heap, ptrs)).toBe(true);
      }
    }
    expect(() => c.freeBulk([...ptrs.subarray(0, 10), -1])).toThrow(InvalidArgumentError);
    expect(() => c.freeBulk([...ptrs.subarray(0, 10), 1.5])).toThrow(InvalidArgumentError);
    expect(snapshot(c)).toEqual(snap);
    expect(heap.validate().ok).toBe(true);
    c.freeBulk(ptrs);
    expect(c.live).toBe(before.live - 1500);
    expect(heap.validate().ok).toBe(true);
  });

  it("a duplicate inside one call is a double free, wherever the copies sit", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("dup", { size: 64, ...opts });
    c.freeBulk(c.allocBulk(1000));
    const ptrs = c.allocBulk(1200);
    stamp(heap, ptrs);
    const snap = snapshot(c);
    // adjacent; same slab far apart; first and last (one bound for the arrays, one for the slabs)
    for (const [i, at] of [[5, 6], [70, 1199], [0, 1200], [1100, 1150], [64, 3]] as const) {
      const list = Array.from(ptrs);
      list.splice(at, 0, ptrs[i]!);
      for (const form of [list, Uint32Array.from(list)]) {
        let err: unknown;
        try {
          c.freeBulk(form);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(DoubleFreeError);
        expect((err as { ptr?: number }).ptr).toBe(ptrs[i]);
        expect(snapshot(c)).toEqual(snap);
        expect(stamped(heap, ptrs)).toBe(true);
      }
    }
    // across the TS layer's staging chunks (more than one buffer's worth)
    const big = c.allocBulk(5000);
    const snap2 = snapshot(c);
    expect(() => c.freeBulk(Uint32Array.from([...big, big[10]!]))).toThrow(DoubleFreeError);
    expect(snapshot(c)).toEqual(snap2);
    c.freeBulk(big);
    c.freeBulk(ptrs);
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("allocBulk is all or nothing when memory runs out halfway, and leaks nothing", async () => {
    // The same heap twice, one with failed bulk calls: afterwards both hold exactly as many more objects.
    const room: number[] = [];
    for (const failing of [false, true]) {
      const heap = await createAllocator({ maxBytes: 2 << 20 });
      const c = heap.createCache("aon", { size: 512, ...opts });
      // objects parked in the arrays and the barn first, so the failed call takes from them too
      c.freeBulk(c.allocBulk(300));
      const keep = c.allocBulk(2000); // the heap holds about 4000 such objects: half of it stays live
      stamp(heap, keep);
      if (failing) {
        for (const n of [2100, 3000, 100_000]) {
          expect(() => c.allocBulk(n)).toThrow(OutOfMemoryError);
          expect(c.live).toBe(2000);
          expect(stamped(heap, keep)).toBe(true);
          expect(heap.validate().ok).toBe(true);
        }
      }
      const more: number[] = [];
      for (;;) {
        try {
          more.push(c.alloc());
        } catch (e) {
          expect(e).toBeInstanceOf(OutOfMemoryError);
          break;
        }
      }
      room.push(more.length);
      c.freeBulk(more);
      c.freeBulk(keep);
      c.shrink();
      expect(c.stats().slabs).toBe(0);
      expect(heap.validate().ok).toBe(true);
    }
    expect(room[1]).toBe(room[0]);
    expect(room[0]).toBeGreaterThan(1000);
  });

  it("counters are exact: what came from the arrays is fast, the rest slow, and the totals match single calls", async () => {
    const bulkHeap = await createAllocator();
    const singleHeap = await createAllocator();
    const b = bulkHeap.createCache("cb", { size: 64, ...opts });
    const s = singleHeap.createCache("cs", { size: 64, ...opts });
    let total = 0;
    for (const n of [1, 59, 60, 61, 700, 3000, 100]) {
      const parked = b.stats().parkedObjects;
      const c0 = b.stats().counters;
      const ptrs = b.allocBulk(n);
      const c1 = b.stats().counters;
      const fromArrays = Math.min(parked, n);
      expect(c1.alloc_fastpath - c0.alloc_fastpath).toBe(fromArrays);
      expect(c1.alloc_slowpath - c0.alloc_slowpath).toBe(n - fromArrays);
      expect(b.stats().parkedObjects).toBe(parked - fromArrays);
      b.freeBulk(ptrs);
      const c2 = b.stats().counters;
      const intoArrays = b.stats().parkedObjects - (parked - fromArrays);
      expect(c2.free_fastpath - c1.free_fastpath).toBe(intoArrays);
      expect(c2.free_slowpath - c1.free_slowpath).toBe(n - intoArrays);
      const single = Array.from({ length: n }, () => s.alloc());
      for (const p of single) s.free(p);
      total += n;
    }
    const cb = b.stats().counters;
    const cs = s.stats().counters;
    expect(cb.alloc_fastpath + cb.alloc_slowpath).toBe(total);
    expect(cs.alloc_fastpath + cs.alloc_slowpath).toBe(total);
    expect(cb.free_fastpath + cb.free_slowpath).toBe(cs.free_fastpath + cs.free_slowpath);
    expect(b.stats().activeObjects).toBe(s.stats().activeObjects);
  });
});

describe("allocBulk into the caller's array", () => {
  it("fills it, returns it (or its first n elements), and refuses what cannot hold n", async () => {
    const heap = await createAllocator({ maxBytes: 2 << 20 });
    const c = heap.createCache("into", { size: 256 });
    const buf = new Uint32Array(5000);
    for (let round = 0; round < 3; round++) {
      const got = c.allocBulk(5000, buf);
      expect(got).toBe(buf);
      expect(new Set(buf).size).toBe(5000);
      stamp(heap, got);
      c.freeBulk(got);
    }
    const part = c.allocBulk(100, buf);
    expect(part).toHaveLength(100);
    expect(part.buffer).toBe(buf.buffer);
    expect(c.live).toBe(100);
    c.freeBulk(part);
    expect(() => c.allocBulk(10, new Uint32Array(9))).toThrow(InvalidArgumentError);
    expect(() => c.allocBulk(10, [] as unknown as Uint32Array)).toThrow(InvalidArgumentError);
    expect(() => c.allocBulk(10, new Uint32Array(heap.memory.buffer, 0, 10))).toThrow(InvalidArgumentError);
    // out of memory with a caller's array: every object taken is given back
    const big = new Uint32Array(100_000);
    expect(() => c.allocBulk(100_000, big)).toThrow(OutOfMemoryError);
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("bulk and constructors, nodes, re-entry", () => {
  it("a cache with a constructor keeps its objects' constructed state through bulk runs", async () => {
    const heap = await createAllocator();
    let built = 0;
    const c = heap.createCache("ctor", {
      size: 48,
      ctor: (p) => {
        built++;
        new DataView(heap.memory.buffer).setUint32(p, 0xc0ffee, true);
      },
    });
    for (let round = 0; round < 3; round++) {
      const ptrs = c.allocBulk(3000);
      const dv = new DataView(heap.memory.buffer);
      for (const p of ptrs) expect(dv.getUint32(p, true)).toBe(0xc0ffee);
      c.freeBulk(ptrs);
    }
    const s = c.stats();
    expect(built).toBe(s.counters.alloc_slab * s.objectsPerSlab); // each new slab's objects, once
    expect(heap.validate().ok).toBe(true);
  });

  it("a batch that mixes nodes sends each object to its own node", async () => {
    const heap = await createAllocator({ nodes: 2, cpusPerNode: 1 });
    const c = heap.createCache("mix", { size: 64 });
    heap.pin(0);
    const a = c.allocBulk(900);
    heap.pin(1);
    const b = c.allocBulk(900);
    const mixed = new Uint32Array(1800);
    for (let i = 0; i < 900; i++) {
      mixed[2 * i] = a[i]!;
      mixed[2 * i + 1] = b[i]!;
    }
    expect(() => c.freeBulk(Uint32Array.from([...mixed, a[5]!]))).toThrow(DoubleFreeError);
    expect(c.live).toBe(1800);
    c.freeBulk(mixed); // on node 1: node 0's objects go to node 0's slabs
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
    for (const p of c.allocBulk(1000)) expect(heap.nodeOf(p)).toBe(1);
  });

  it("a constructor that re-enters with bulk calls on its own cache leaves the heap consistent", async () => {
    const heap = await createAllocator();
    let depth = 0;
    let calls = 0;
    const held: number[] = [];
    const c: Cache = heap.createCache("reenter", {
      size: 256,
      ctor: () => {
        if (depth > 0 || calls++ % 7 !== 0) return;
        depth++;
        const got = c.allocBulk(20); // inside the outer call's refill (bulk) or slow path (guarded)
        c.freeBulk(got.subarray(0, 10));
        held.push(...got.subarray(10));
        depth--;
      },
    });
    const ptrs = c.allocBulk(2000); // slabs made inside a bulk call
    const singles = Array.from({ length: 500 }, () => c.alloc()); // and inside the single slow path
    expect(new Set([...ptrs, ...singles, ...held]).size).toBe(2000 + 500 + held.length);
    expect(c.live).toBe(2000 + 500 + held.length);
    expect(heap.validate().ok).toBe(true);
    c.freeBulk(ptrs);
    c.freeBulk(singles);
    c.freeBulk(held);
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("bulk fuzz against a model", () => {
  for (const [name, opts] of kinds) {
    it(`random bulk and single calls on 2 nodes × 2 CPUs match the model and validate (${name})`, async () => {
      const heap = await createAllocator({ nodes: 2, cpusPerNode: 2 });
      const c = heap.createCache("fuzz", { size: 40, ...opts });
      const rand = rng(name.length * 7919 + 11);
      const pick = (n: number) => Math.floor(rand() * n);
      const live: number[] = [];
      const freed = new Set<number>();
      const take = (k: number): number[] => {
        const out: number[] = [];
        for (let i = 0; i < k && live.length > 0; i++) {
          const j = pick(live.length);
          out.push(live[j]!);
          live[j] = live[live.length - 1]!;
          live.pop();
        }
        return out;
      };
      for (let step = 0; step < 1500; step++) {
        const r = rand();
        if (r < 0.05) heap.pin(pick(4));
        else if (r < 0.25) {
          const got = c.allocBulk(1 + pick(r < 0.1 ? 3000 : 200));
          stamp(heap, got);
          for (const p of got) {
            freed.delete(p);
            live.push(p);
          }
        } else if (r < 0.45) {
          const out = take(1 + pick(r < 0.3 ? 2500 : 150));
          c.freeBulk(rand() < 0.5 ? out : Uint32Array.from(out));
          for (const p of out) freed.add(p);
        } else if (r < 0.55 && live.length > 2) {
          // a refused batch: a duplicate, a freed object or an interior pointer at a random place
          const out = take(1 + pick(Math.min(live.length - 1, 800)));
          const kind = pick(3);
          const bad = kind === 0 ? out[pick(out.length)]! : kind === 1 && freed.size > 0 ? [...freed][pick(freed.size)]! : out[0]! + 4;
          const list = [...out];
          list.splice(pick(list.length + 1), 0, bad);
          expect(() => c.freeBulk(list)).toThrow(SlabError);
          live.push(...out);
        } else if (r < 0.8) {
          const p = c.alloc();
          stamp(heap, [p]);
          freed.delete(p);
          live.push(p);
        } else if (live.length > 0) {
          const [p] = take(1);
          c.free(p!);
          freed.add(p!);
        }
        if (step % 100 === 0) {
          if (rand() < 0.3) c.shrink();
          expect(c.live).toBe(live.length);
          expect(stamped(heap, live)).toBe(true);
          expect(heap.validate().ok).toBe(true);
        }
      }
      expect(c.live).toBe(live.length);
      expect(stamped(heap, live)).toBe(true);
      c.freeBulk(live);
      expect(c.live).toBe(0);
      expect(heap.validate().ok).toBe(true);
    });
  }
});
