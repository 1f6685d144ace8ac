// args.test.ts — arguments × methods (issue 10 item 3): every pointer and count is a non-negative integer
// in range or an InvalidArgumentError, and a refused call changes nothing (nothing is truncated or
// coerced: c.free(p + 0.5), c.free(String(p)), c.free(p + 2**32), c.free([p]) used to free p). CPU, node
// and u32 arguments are range-checked too, and pointers stay unsigned in a heap above 2 GiB.
import { describe, expect, it } from "vitest";
import { DoubleFreeError, InvalidArgumentError, InvalidFreeError, createAllocator, type Cache, type Heap } from "../bindings/index.js";

/** Values that are not a pointer, derived from a valid pointer p (each one used to reach p, or worse). */
function badPointers(p: number): [string, unknown][] {
  return [
    ["p + 0.5", p + 0.5],
    ["String(p)", String(p)],
    ["p + 2**32", p + 2 ** 32],
    ["[p]", [p]],
    ["-p", -p],
    ["-1", -1],
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["null", null],
    ["undefined", undefined],
    ["true", true],
    ["BigInt(p)", BigInt(p)],
    ["{ valueOf: () => p }", { valueOf: () => p }],
    ["new Number(p)", new Number(p)],
  ];
}

/** Values that are not a count (or a size). */
const BAD_COUNTS: [string, unknown][] = [
  ["-1", -1],
  ["1.5", 1.5],
  ["'3'", "3"],
  ["[3]", [3]],
  ["NaN", NaN],
  ["Infinity", Infinity],
  ["2**32", 2 ** 32],
  ["null", null],
  ["3n", 3n],
];

/** Everything a refused call must leave as it was. */
function fingerprint(heap: Heap): string {
  return JSON.stringify([heap.stats(), heap.slabinfo(), heap.caches().map((c) => [c.name, c.live, c.stats()]), heap.cpu]);
}

interface World {
  heap: Heap;
  /** A plain cache (fast path), a cache with a constructor (careful path), a reclaimable cache. */
  caches: Cache[];
  /** A live object of each cache, and a live malloc block. */
  objs: number[];
  block: number;
}

/** A heap with caches (and a malloc block). With a reclaimable cache, every cache of the heap takes the
 *  careful path (a destructor may run inside any allocation); without, "plain" takes the fast path. */
async function world(reclaimable = true): Promise<World> {
  const heap = await createAllocator({ reap: false, nodes: 2 });
  const caches = [heap.createCache("plain", { size: 64 }), heap.createCache("ctor", { size: 64, ctor: () => {} })];
  if (reclaimable) caches.push(heap.createCache("reclaimable", { size: 64, reclaim: { destructor: () => {} } }));
  const objs = caches.map((c) => c.alloc());
  return { heap, caches, objs, block: heap.malloc(100) };
}

/** `fn` throws InvalidArgumentError and the heap is as it was. */
function refusedUnchanged(w: World, fn: () => unknown): void {
  const before = fingerprint(w.heap);
  expect(fn).toThrow(InvalidArgumentError);
  expect(fingerprint(w.heap)).toBe(before);
}

describe("pointer arguments × methods", () => {
  const methods: [string, (w: World, bad: (p: number) => unknown) => unknown, boolean?][] = [
    ["Cache.free (plain: the fast path)", (w, b) => w.caches[0]!.free(b(w.objs[0]!) as number), false],
    ["Cache.free (plain, careful: hooks armed)", (w, b) => w.caches[0]!.free(b(w.objs[0]!) as number)],
    ["Cache.free (ctor: the careful path)", (w, b) => w.caches[1]!.free(b(w.objs[1]!) as number)],
    ["Cache.free (reclaimable)", (w, b) => w.caches[2]!.free(b(w.objs[2]!) as number)],
    ["Cache.freeBulk([x])", (w, b) => w.caches[0]!.freeBulk([b(w.objs[0]!) as number])],
    ["Cache.freeBulk([valid, x])", (w, b) => w.caches[0]!.freeBulk([w.objs[0]!, b(w.objs[0]!) as number])],
    ["Cache.tracks", (w, b) => w.caches[0]!.tracks(b(w.objs[0]!) as number)],
    ["heap.free", (w, b) => w.heap.free(b(w.block) as number)],
    ["heap.realloc", (w, b) => w.heap.realloc(b(w.block) as number, 16)],
    ["heap.usableSize", (w, b) => w.heap.usableSize(b(w.block) as number)],
    ["heap.nodeOf", (w, b) => w.heap.nodeOf(b(w.block) as number)],
  ];
  for (const [method, call, reclaimable] of methods) {
    it(`${method} refuses every non-pointer and changes nothing`, async () => {
      const w = await world(reclaimable);
      const probe = badPointers(1);
      for (let i = 0; i < probe.length; i++) {
        const [what] = probe[i]!;
        try {
          refusedUnchanged(w, () => call(w, (p) => badPointers(p)[i]![1]));
        } catch (e) {
          throw new Error(`${method}(${what}): ${(e as Error).message}`);
        }
      }
      // and everything is still live and freeable exactly once
      w.caches.forEach((c, i) => {
        expect(c.live).toBe(1);
        c.free(w.objs[i]!);
        expect(() => c.free(w.objs[i]!)).toThrow(DoubleFreeError);
      });
      w.heap.free(w.block);
      expect(w.heap.validate().ok).toBe(true);
    });
  }

  it("Cache.freeBulk refuses what is not an array of pointers", async () => {
    const w = await world();
    for (const x of [w.objs[0], String(w.objs[0]), null, undefined, new Set([w.objs[0]]), new Float64Array([w.objs[0]!])]) {
      refusedUnchanged(w, () => w.caches[0]!.freeBulk(x as never));
    }
  });

  it("a pointer in range that is not an object is still an InvalidFreeError (not an argument error)", async () => {
    const w = await world();
    expect(() => w.caches[0]!.free(w.objs[0]! + 1)).toThrow(InvalidFreeError);
    expect(() => w.caches[0]!.free(2 ** 32 - 1)).toThrow(InvalidFreeError);
    expect(() => w.heap.free(2 ** 32 - 8)).toThrow(InvalidFreeError);
    expect(w.heap.nodeOf(2 ** 32 - 1)).toBe(-1);
    w.heap.free(0); // C: free(NULL) does nothing
    expect(w.heap.usableSize(0)).toBe(0);
  });
});

describe("count and size arguments × methods", () => {
  const methods: [string, (w: World, x: unknown) => unknown][] = [
    ["Cache.allocBulk", (w, x) => w.caches[0]!.allocBulk(x as number)],
    ["Cache.prefill", (w, x) => w.caches[0]!.prefill(x as number)],
    ["Cache.reclaim", (w, x) => w.caches[2]!.reclaim(x as number)],
    ["heap.malloc", (w, x) => w.heap.malloc(x as number)],
    ["heap.calloc(x, 8)", (w, x) => w.heap.calloc(x as number, 8)],
    ["heap.calloc(8, x)", (w, x) => w.heap.calloc(8, x as number)],
    ["heap.realloc(block, x)", (w, x) => w.heap.realloc(w.block, x as number)],
    ["heap.alignedAlloc(16, x)", (w, x) => w.heap.alignedAlloc(16, x as number)],
    ["heap.alignedAlloc(x, 16)", (w, x) => w.heap.alignedAlloc(x as number, 16)],
  ];
  for (const [method, call] of methods) {
    it(`${method} refuses every non-count and changes nothing`, async () => {
      const w = await world();
      for (const [what, x] of BAD_COUNTS) {
        if (method === "Cache.reclaim" && (x === Infinity || x === 2 ** 32)) continue; // valid: "reclaim everything"
        try {
          refusedUnchanged(w, () => call(w, x));
        } catch (e) {
          throw new Error(`${method}(${what}): ${(e as Error).message}`);
        }
      }
    });
  }

  it("range limits: allocBulk above 2^28, prefill 0 or above the largest array, reclaim 0", async () => {
    const w = await world();
    refusedUnchanged(w, () => w.caches[0]!.allocBulk(2 ** 28 + 1));
    refusedUnchanged(w, () => w.caches[0]!.prefill(0));
    refusedUnchanged(w, () => w.caches[0]!.prefill(4093));
    refusedUnchanged(w, () => w.caches[2]!.reclaim(0));
    expect(w.caches[0]!.allocBulk(0)).toHaveLength(0);
  });
});

describe("CPU, node and u32 arguments × methods", () => {
  const badIndex = (n: number): [string, unknown][] => [
    ["-1", -1],
    [`${n} (one past the last)`, n],
    ["1.5", 1.5],
    ["'0'", "0"],
    ["NaN", NaN],
    ["null", null],
    ["[0]", [0]],
  ];
  it("heap.pin, heap.nodeOfCpu, heap.reap take a CPU number; Cache.allocNode a node number", async () => {
    const w = await world();
    w.heap.pin(1);
    for (const [what, x] of badIndex(w.heap.cpus)) {
      for (const [m, fn] of [
        ["pin", () => w.heap.pin(x as number)],
        ["nodeOfCpu", () => w.heap.nodeOfCpu(x as number)],
        ["reap", () => w.heap.reap(x as number)],
      ] as const) {
        try {
          refusedUnchanged(w, fn);
        } catch (e) {
          throw new Error(`${m}(${what}): ${(e as Error).message}`);
        }
      }
    }
    expect(w.heap.cpu).toBe(1);
    for (const [what, x] of badIndex(w.heap.nodes)) {
      try {
        refusedUnchanged(w, () => w.caches[0]!.allocNode(x as number));
      } catch (e) {
        throw new Error(`allocNode(${what}): ${(e as Error).message}`);
      }
    }
    expect(w.heap.nodeOfCpu(1)).toBe(1);
  });

  it("setCallerTag and setTimestamp take a u32", async () => {
    const w = await world();
    w.heap.setCallerTag(7);
    for (const x of [-1, 2 ** 32, 1.5, "1", null, NaN]) {
      expect(() => w.heap.setCallerTag(x as number)).toThrow(InvalidArgumentError);
      expect(() => w.heap.setTimestamp(x as number)).toThrow(InvalidArgumentError);
    }
    expect(w.heap.callerTag).toBe(7);
    w.heap.setCallerTag(2 ** 32 - 1);
    expect(w.heap.callerTag).toBe(2 ** 32 - 1);
  });
});

describe("pointers are unsigned up to 4 GiB", () => {
  it("a heap above 2 GiB hands out positive pointers from every method, and takes them back", async () => {
    const heap = await createAllocator({ heapBase: 2 ** 31 + 2 ** 20, reap: false });
    const c = heap.createCache("high", { size: 64 });
    const p = c.alloc();
    const q = c.allocNode(0);
    const bulk = c.allocBulk(10);
    const s = c.prefill(4);
    const r = s.alloc();
    const m = heap.malloc(100);
    const z = heap.calloc(4, 8);
    const a = heap.alignedAlloc(4096, 100);
    for (const x of [p, q, bulk[0]!, r, m, z, a]) {
      expect(x).toBeGreaterThan(2 ** 31);
      expect(x).toBeLessThan(2 ** 32);
      expect(heap.nodeOf(x)).toBe(0);
    }
    expect(a % 4096).toBe(0);
    const m2 = heap.realloc(m, 5000);
    expect(m2).toBeGreaterThan(2 ** 31);
    expect(heap.usableSize(m2)).toBeGreaterThanOrEqual(5000);
    c.free(p);
    c.free(q);
    c.free(r);
    c.freeBulk(bulk);
    c.returnPrefilled(s);
    for (const x of [m2, z, a]) heap.free(x);
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("a heap at the top of the address space (heapBase just below the limit) does not wrap", async () => {
    const heap = await createAllocator({ heapBase: 2 ** 32 - 2 ** 21, reap: false });
    const c = heap.createCache("top", { size: 64 });
    const p = c.alloc();
    expect(p).toBeGreaterThan(2 ** 32 - 2 ** 21);
    c.free(p);
    expect(heap.validate().ok).toBe(true);
  });
});
