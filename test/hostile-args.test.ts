// hostile-args.test.ts — arguments × methods as a table: every pointer, count, CPU and node argument of
// the public API given values that are not a non-negative integer in range (fractions, strings, arrays,
// NaN, ±Infinity, negatives, values past 2^32 that truncate to a valid pointer). Each must throw
// InvalidArgumentError and change nothing: the object the bad value truncates to stays allocated.
// (The checks themselves belong to the TS layer, issue 10 item 3; this table confirms them.)
// Also: heap bases near the top of the address space, and heaps above 2 GiB (pointers are unsigned).
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, createAllocator, type Cache, type Heap } from "../bindings/index.js";
import { valueOf } from "./hostile-harness.js";

const badPointers = (p: number): [string, unknown][] => [
  ["p + 0.5", p + 0.5],
  ["String(p)", String(p)],
  ["p + 2^32", p + 2 ** 32],
  ["[p]", [p]],
  ["-p", -p],
  ["p - 2^32", p - 2 ** 32],
  ["NaN", NaN],
  ["Infinity", Infinity],
  ["null", null],
  ["undefined", undefined],
  ["{valueOf: p}", { valueOf: () => p }],
];

const badCounts: [string, unknown][] = [
  ["0.5", 0.5], ["-1", -1], ["NaN", NaN], ["Infinity", Infinity], ["'4'", "4"], ["2^32 + 4", 2 ** 32 + 4], ["[4]", [4]], ["null", null],
];

type Env = { heap: Heap; c: Cache; p: number; m: number };
const POINTER_METHODS: [string, (e: Env, x: unknown) => unknown][] = [
  ["cache.free", (e, x) => e.c.free(x as number)],
  ["cache.freeBulk", (e, x) => e.c.freeBulk([x as number])],
  ["heap.free", (e, x) => e.heap.free(x as number)],
  ["heap.realloc", (e, x) => e.heap.realloc(x as number, 10)],
  ["heap.usableSize", (e, x) => e.heap.usableSize(x as number)],
];
const COUNT_METHODS: [string, (e: Env, x: unknown) => unknown][] = [
  ["cache.allocBulk", (e, x) => e.c.allocBulk(x as number)],
  ["cache.prefill", (e, x) => e.c.prefill(x as number)],
  ["heap.malloc", (e, x) => e.heap.malloc(x as number)],
  ["heap.calloc", (e, x) => e.heap.calloc(x as number, 4)],
  ["heap.realloc size", (e, x) => e.heap.realloc(e.m, x as number)],
  ["heap.alignedAlloc", (e, x) => e.heap.alignedAlloc(16, x as number)],
  ["heap.pin", (e, x) => e.heap.pin(x as number)],
  ["cache.allocNode", (e, x) => e.c.allocNode(x as number)],
  ["heap.reap", (e, x) => e.heap.reap(x as number)],
  ["cache.tune", (e, x) => e.c.tune({ arrayCapacity: x as number })],
];

async function env(): Promise<Env> {
  const heap = await createAllocator({ reap: false, nodes: 2 });
  const c = heap.createCache("args", { size: 64 });
  return { heap, c, p: c.alloc(), m: heap.malloc(24) };
}

describe("arguments × methods", () => {
  for (const [method, call] of POINTER_METHODS) {
    it(`${method} refuses every malformed pointer and frees nothing`, async () => {
      const e = await env();
      const target = method.startsWith("cache") ? e.p : e.m;
      const live = e.c.live;
      for (const [label, x] of badPointers(target)) {
        expect(() => call(e, x), `${method}(${label})`).toThrow(InvalidArgumentError);
      }
      expect(e.c.live).toBe(live);
      expect(e.heap.usableSize(e.m)).toBeGreaterThanOrEqual(24); // still allocated
      expect(e.heap.validate().ok).toBe(true);
    });
  }
  for (const [method, call] of COUNT_METHODS) {
    it(`${method} refuses every malformed count or number`, async () => {
      const e = await env();
      for (const [label, x] of badCounts) {
        expect(() => call(e, x), `${method}(${label})`).toThrow(InvalidArgumentError);
      }
      expect(e.heap.validate().ok).toBe(true);
    });
  }
});

describe("addresses at the top of the address space", () => {
  it("a heap base near 2^32 is refused without writing anything", async () => {
    for (const heapBase of [2 ** 32 - 4096, 2 ** 32 - 1, 2 ** 32 - 2 ** 20]) {
      const memory = new WebAssembly.Memory({ initial: 2 });
      new Uint8Array(memory.buffer).fill(0x5a);
      await expect(createAllocator({ memory, heapBase, reap: false })).rejects.toThrow();
      expect(new Uint8Array(memory.buffer).every((b) => b === 0x5a)).toBe(true);
    }
  });

  it("a heap above 2 GiB hands out positive pointers that work everywhere", async () => {
    const r = await valueOf("highHeap", undefined, 60_000);
    expect(r).toEqual({ positive: true, validate: true, freed: true });
  });
});
