// memory-4g.test.ts — a heap whose memory is the whole wasm32 address space: 65536 pages, 4 GiB.
//
// memory.size() << 16 is 2^32 there, which a 32-bit usize wraps to 0: every "is this below the end of
// memory" test written that way refuses everything (or accepts everything). The allocator compares in 64
// bits (arena.ts memoryEnd). An embedder (a C program's sbrk, JS) may grow the memory to its maximum
// itself; then the heap must go on: handles known, staging buffers accepted, new chunks added without
// a grow, a second thread attached. The engine reserves the 4 GiB lazily: the pages touched are few.
import { describe, expect, it } from "vitest";
import { attachAllocator, createAllocator, type SharedHeap } from "../dist/index.js";

const PAGES_4G = 65536;

function growToTop(memory: WebAssembly.Memory): void {
  const have = memory.buffer.byteLength / 65536;
  if (have < PAGES_4G) memory.grow(PAGES_4G - have);
  expect(memory.buffer.byteLength).toBe(2 ** 32);
}

describe("a 4 GiB memory (65536 pages): no 32-bit wrap of memory.size() << 16", () => {
  it("single-threaded: handles, bulk staging, new chunks, validate and footprint after the embedder grew memory to the top", async () => {
    const heap = await createAllocator({ reap: false });
    const cache = heap.createCache("w", { size: 64 });
    const early = Array.from({ length: 100 }, () => cache.alloc());
    growToTop(heap.memory);
    expect(heap.wasm.cache_valid(cache.addr)).toBeTruthy();    // index.ts knownCache
    expect(heap.wasm.cache_live(cache.addr)).toBe(100);
    expect(cache.stats().activeObjects).toBe(100);
    // allocBulk / freeBulk pass a staging buffer (index.ts callerRange)
    const bulk = cache.allocBulk(1000);
    expect(bulk.length).toBe(1000);
    cache.freeBulk(bulk);
    // more than a chunk of objects: new chunks (arena.ts growChunks → ensureMemory: memory is there)
    const many = Array.from({ length: 40000 }, () => cache.alloc());
    expect(new Set(many).size).toBe(40000);
    const big = heap.malloc(3 << 20);                          // a run of chunks
    expect(big).toBeGreaterThan(0);
    heap.u8[big + (3 << 20) - 1] = 9;
    expect(heap.validate().ok).toBe(true);
    const fp = heap.footprint();
    expect(fp.total).toBeGreaterThan(2 ** 32 - (1 << 20));     // footprint.ts: memory's end in 64 bits
    expect(fp.total).toBeLessThanOrEqual(2 ** 32);
    for (const p of many) cache.free(p);
    for (const p of early) cache.free(p);
    heap.free(big);
    expect(cache.stats().activeObjects).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("threaded: a second instance attaches and both allocate after memory reached 65536 pages", async () => {
    const a = (await createAllocator({ shared: true, nodes: 2, cpusPerNode: 1, reap: false })) as SharedHeap;
    const cache = a.createCache("w", { size: 64 });
    const p = cache.alloc();
    growToTop(a.memory);
    const b = await attachAllocator(a.handle());               // arena.ts arenaAttach: the header is in memory
    const bc = b.cache("w")!;
    const got = Array.from({ length: 40000 }, () => bc.alloc()); // new chunks for node 1 (commitTo, growChunks)
    expect(new Set(got).size).toBe(40000);
    bc.freeBulk(got);
    cache.free(p);
    b.releaseCpu();
    expect(cache.stats().activeObjects).toBe(0);
    expect(a.validate().ok).toBe(true);
  });
});
