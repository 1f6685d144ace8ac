// memend.spec.ts — the end of linear memory in 64 bits (arena.ts pagesBytes / memoryEnd / pagesToGrow).
// A 65536-page memory (all 4 GiB of wasm32) ends at 2^32: `<usize>memory.size() << 16` wraps that to 0,
// which made every "ends inside memory" test (index.ts knownCache and callerRange, arena.ts arenaAttach,
// ensureMemory and commitTo, report.ts safeIsCache, footprint.ts) wrong at the top. The spec's memory is
// small, so the arithmetic is checked here with page counts given; test/memory-4g.test.ts runs the heap
// itself over a 4 GiB memory.
import { memoryEnd, pagesBytes, pagesToGrow } from "../arena";

describe("the end of memory in u64", () => {
  it("counts 65536 pages as 2^32 bytes, not 0", () => {
    expect(pagesBytes(65536)).toBe(<u64>1 << 32);
    expect(pagesBytes(65535)).toBe((<u64>1 << 32) - 65536);
    expect(pagesBytes(1)).toBe(<u64>65536);
    expect(pagesBytes(0)).toBe(<u64>0);
    expect(memoryEnd()).toBe(<u64>memory.size() << 16);
    expect(memoryEnd()).toBeGreaterThan(<u64>0);
  });

  it("a 65536-page memory holds every 32-bit end: nothing to grow", () => {
    expect(pagesToGrow(0xffffffff, 65536)).toBe(0);
    expect(pagesToGrow(0xfffffff0, 65536)).toBe(0);
    expect(pagesToGrow(0, 65536)).toBe(0);
    // the knownCache test at the top of memory: a header ending at 2^32 exactly is inside
    expect(<u64>0xffffffc0 + 64 <= pagesBytes(65536)).toBe(true);
    expect(<u64>0xffffffc0 + 64 <= pagesBytes(65535)).toBe(false);
  });

  it("grows by whole pages, up to the last one", () => {
    expect(pagesToGrow(0xffffffff, 65535)).toBe(1);
    expect(pagesToGrow(0xffff0000, 65535)).toBe(0);
    expect(pagesToGrow(0xffff0001, 65535)).toBe(1);
    expect(pagesToGrow(65536, 1)).toBe(0);
    expect(pagesToGrow(65537, 1)).toBe(1);
    expect(pagesToGrow(0xffffffff, 1)).toBe(65535);
  });
});
