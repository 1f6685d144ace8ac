// run-commit.test.ts — a run of whole chunks (a block above a chunk's usable pages: assembly/page.ts
// runAlloc) is committed up to the end of its block, rounded up to memory.grow's 64 KiB, not to the end
// of its last chunk; what later reaches past that point commits first:
//   - realloc growing the block within its chunks (page.ts runResize), and writes to the new bytes;
//   - malloc_usable_size reports committed bytes only (page.ts runUsable): every usable byte is writable;
//   - the chunks freed and reused as a run, and as page runs for smaller blocks (the page allocator
//     commits each block it hands out), with a write to every byte handed out;
//   - a run of one chunk (aligned_alloc with an 8 KiB alignment);
//   - the budget (maxBytes) still counts a run's whole chunks;
//   - hostile frees inside a run, including its uncommitted part past the end of memory, are refused and
//     change nothing;
//   - the threaded build: Workers that grow, write and realloc runs at once (commitTo under the grow lock).
// After every step: validate() is ok and the footprint categories sum exactly to byteLength − heapBase.
import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import {
  FOOTPRINT_CATEGORIES, InvalidFreeError, OutOfMemoryError, createAllocator, type Footprint, type Heap, type SharedHeap,
} from "../dist/index.js";

const MiB = 1 << 20;
const WASM_PAGE = 65536;
const DESC_BYTES = 8192;
const roundUp = (x: number) => Math.ceil(x / WASM_PAGE) * WASM_PAGE;

function heapBase(heap: Heap): number {
  return heap.dv.getUint32(heap.hdr + heap.L.H_HEAP_BASE, true);
}

/** validate() ok, and the footprint sums exactly (nothing unnamed, nothing negative). */
function sound(heap: Heap): Footprint {
  expect(heap.validate().ok).toBe(true);
  const f = heap.footprint();
  expect(f.total).toBe(heap.memory.buffer.byteLength - heapBase(heap));
  expect(FOOTPRINT_CATEGORIES.reduce((s, c) => s + f[c], 0)).toBe(f.total);
  expect(f.other).toBe(0);
  for (const c of FOOTPRINT_CATEGORIES) expect(f[c], c).toBeGreaterThanOrEqual(0);
  const s = heap.stats();
  expect(s.freeCommittedBytes).toBeGreaterThanOrEqual(0);
  expect(s.committedBytes).toBeLessThanOrEqual(heap.memory.buffer.byteLength - heap.hdr);
  return f;
}

/** Write `tag` to every byte of [p, p + n) and read it back (a trap would throw here). */
function writeAll(heap: Heap, p: number, n: number, tag: number): void {
  expect(p + n).toBeLessThanOrEqual(heap.memory.buffer.byteLength);
  const u8 = heap.u8;
  u8.fill(tag, p, p + n);
  expect(u8[p]).toBe(tag);
  expect(u8[p + n - 1]).toBe(tag);
  expect(u8.subarray(p, p + n).every((x) => x === tag)).toBe(true);
}

/** The run's chunk count and capacity (page.ts runCapacity) for a block of `n` bytes. */
function runOf(n: number): { count: number; capacity: number } {
  const count = Math.ceil((n + DESC_BYTES) / MiB);
  return { count, capacity: count * MiB - DESC_BYTES };
}

function refused(op: () => unknown, reason: string): void {
  let err: unknown;
  try { op(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(InvalidFreeError);
  expect((err as InvalidFreeError).reason).toBe(reason);
}

describe("a run of chunks is committed to its block's end", () => {
  it("a 50 MiB block grows memory only to its end (64 KiB rounding); every byte is writable", async () => {
    const heap = await createAllocator({ reap: false });
    const small = [heap.malloc(100), heap.malloc(3000)];        // chunk 0: page runs, as a C program's start
    sound(heap);
    const n = 50 * MiB;
    const p = heap.malloc(n);
    expect(p).toBeGreaterThan(0);
    const { capacity } = runOf(n);
    expect(heap.memory.buffer.byteLength).toBe(roundUp(p + n));  // not the last chunk's end
    expect(heap.memory.buffer.byteLength).toBeLessThan(p - DESC_BYTES + runOf(n).count * MiB);
    const usable = heap.usableSize(p);
    expect(usable).toBe(Math.min(capacity, roundUp(p + n) - p));
    expect(usable).toBeGreaterThanOrEqual(n);
    writeAll(heap, p, usable, 0xa5);
    const f = sound(heap);
    expect(f.largeTail).toBe(usable - n);                        // < 64 KiB, not ~1 MiB
    expect(f.largeTail).toBeLessThan(WASM_PAGE);
    expect(f.untouched).toBe(0);
    heap.free(p);
    for (const s of small) heap.free(s);
    sound(heap);
  });

  it("realloc within the run's chunks commits the bytes it grows into; they are writable; the old bytes stay", async () => {
    const heap = await createAllocator({ reap: false });
    const n = 3 * MiB + 12_345;                                  // 4 chunks, ~1 MiB of the last one unused
    const p = heap.malloc(n);
    const { capacity } = runOf(n);
    writeAll(heap, p, n, 1);
    expect(heap.memory.buffer.byteLength).toBe(roundUp(p + n));
    sound(heap);
    // grow by 300 KB: in place, memory grows to the new end
    const n2 = n + 300_000;
    expect(heap.realloc(p, n2)).toBe(p);
    expect(heap.memory.buffer.byteLength).toBe(roundUp(p + n2));
    expect(heap.u8.subarray(p, p + n).every((x) => x === 1)).toBe(true);
    heap.u8.fill(2, p + n, p + n2);
    expect(heap.u8[p + n2 - 1]).toBe(2);
    expect(heap.usableSize(p)).toBe(Math.min(capacity, roundUp(p + n2) - p));
    writeAll(heap, p + n2, heap.usableSize(p) - n2, 3);
    let f = sound(heap);
    expect(f.live).toBeGreaterThanOrEqual(n2);
    // to the run's capacity exactly: the whole last chunk
    expect(heap.realloc(p, capacity)).toBe(p);
    expect(heap.usableSize(p)).toBe(capacity);
    expect(heap.memory.buffer.byteLength).toBeGreaterThanOrEqual(p + capacity);
    writeAll(heap, p + n2, capacity - n2, 4);
    f = sound(heap);
    expect(f.largeTail).toBe(0);
    // one byte more: moved to a larger run, the live bytes copied
    const q = heap.realloc(p, capacity + 1);
    expect(q).not.toBe(p);
    expect(heap.u8[q]).toBe(1);
    expect(heap.u8[q + n2 - 1]).toBe(2);
    expect(heap.u8[q + capacity - 1]).toBe(4);
    writeAll(heap, q, heap.usableSize(q), 5);
    sound(heap);
    // shrink in place (still more than half of its chunks): memory does not shrink, usable follows
    const before = heap.memory.buffer.byteLength;
    const keep = Math.floor(runOf(capacity + 1).capacity / 2) + 1;
    expect(heap.realloc(q, keep)).toBe(q);
    expect(heap.memory.buffer.byteLength).toBe(before);
    expect(heap.usableSize(q)).toBeGreaterThanOrEqual(keep);
    expect(heap.usableSize(q)).toBeLessThan(keep + WASM_PAGE);
    sound(heap);
    heap.free(q);
    sound(heap);
  });

  it("freed run chunks are reused whole as a run, then as page runs, each byte handed out writable", async () => {
    const heap = await createAllocator({ reap: false });
    const n = 5 * MiB + 100;                                     // 6 chunks, the last one barely begun
    const p = heap.malloc(n);
    const { count, capacity } = runOf(n);
    const first = heap.stats().chunks - count;
    writeAll(heap, p, heap.usableSize(p), 7);
    const grown = heap.memory.buffer.byteLength;
    expect(grown).toBe(roundUp(p + n));
    heap.free(p);
    let f = sound(heap);
    expect(heap.stats().freeChunkBytes).toBe(count * MiB);
    expect(f.largeTail).toBe(0);
    // the same chunks as a run again (findFreeRun), larger this time: commits past the old end
    const p2 = heap.malloc(capacity);
    expect(p2).toBe(p);
    expect(heap.stats().chunks).toBe(first + count);             // no chunk grown
    expect(heap.usableSize(p2)).toBe(capacity);
    writeAll(heap, p2, capacity, 8);
    sound(heap);
    heap.free(p2);
    sound(heap);
    // and again a short one, then freed: the chunks stay free, nothing grows
    const p3 = heap.malloc(count * MiB - MiB);
    expect(p3).toBe(p);
    writeAll(heap, p3, heap.usableSize(p3), 9);
    heap.free(p3);
    sound(heap);
  });

  it("a freed top run's partly committed chunk serves page runs: each block is committed before it is handed out", async () => {
    const heap = await createAllocator({ reap: false });
    heap.setMallocClasses("fine");                               // page runs above 8 KiB
    const n = 3 * MiB + 4096;                                    // 4 chunks; the last one committed to ~64 KiB
    const p = heap.malloc(n);
    const { count } = runOf(n);
    writeAll(heap, p, n, 1);
    const byteLength = heap.memory.buffer.byteLength;
    expect(byteLength).toBe(roundUp(p + n));
    heap.free(p);
    sound(heap);
    // every usable page of every freed chunk, as blocks of 127 pages (two per chunk)
    const blocks: number[] = [];
    for (let i = 0; i < 2 * count; i++) {
      const b = heap.malloc(127 * 4096);
      expect(b).toBeGreaterThanOrEqual(p - DESC_BYTES);
      expect(b).toBeLessThan(p - DESC_BYTES + count * MiB);      // inside the freed chunks
      writeAll(heap, b, 127 * 4096, 10 + i);
      blocks.push(b);
      sound(heap);
    }
    expect(heap.memory.buffer.byteLength).toBeGreaterThan(byteLength); // the top chunk was committed for them
    for (const [i, b] of blocks.entries()) expect(heap.u8[b + 127 * 4096 - 1]).toBe(10 + i);
    // a block right at the top grows in place into memory committed now (pagesExtend)
    for (const b of blocks.slice(0, -1)) heap.free(b);
    const top = blocks[blocks.length - 1]!;
    sound(heap);
    heap.free(top);
    sound(heap);
    expect(heap.stats().largePages[0]).toBe(0);
  });

  it("a run of one chunk (aligned_alloc 8 KiB) is committed to its end too", async () => {
    const heap = await createAllocator({ reap: false });
    const n = 1_040_000;                                         // 254 pages + an 8 KiB alignment: a run
    const p = heap.alignedAlloc(8192, n);
    expect(p % 8192).toBe(0);
    expect(heap.stats().largePages[0]).toBe(256);               // one whole chunk
    expect(heap.memory.buffer.byteLength).toBe(roundUp(p + n));
    writeAll(heap, p, heap.usableSize(p), 0x3c);
    sound(heap);
    expect(heap.realloc(p, runOf(n).capacity)).toBe(p);
    writeAll(heap, p, runOf(n).capacity, 0x3d);
    sound(heap);
    heap.free(p);
    sound(heap);
  });

  it("the budget (maxBytes) counts a run's whole chunks, committed or not", async () => {
    const heap = await createAllocator({ reap: false, maxBytes: 4 * MiB, onOutOfMemory: "throw" });
    const s = heap.malloc(70_000);                               // chunk 0 (more than the pre-chunk region holds)
    expect(heap.stats().chunks).toBe(1);
    // 3 MiB + 1: 4 chunks, its committed bytes would fit in the 4 MiB, its chunks do not
    expect(() => heap.malloc(3 * MiB + 1)).toThrow(OutOfMemoryError);
    sound(heap);
    const p = heap.malloc(3 * MiB - DESC_BYTES);                 // 3 chunks: fits
    expect(p).toBeGreaterThan(0);
    writeAll(heap, p, 3 * MiB - DESC_BYTES, 6);
    sound(heap);
    heap.free(p);
    heap.free(s);
    sound(heap);
  });

  it("hostile frees inside a run (its chunks, its uncommitted tail past the end of memory) are refused and change nothing", async () => {
    const heap = await createAllocator({ reap: false });
    const n = 4 * MiB + 10;
    const p = heap.malloc(n);
    const { count } = runOf(n);
    const end = p - DESC_BYTES + count * MiB;                    // the run's last chunk's end
    expect(heap.memory.buffer.byteLength).toBeLessThan(end - WASM_PAGE);
    const snap = heap.slabinfo();
    const stats = JSON.stringify(heap.stats());
    const byteLength = heap.memory.buffer.byteLength;
    for (const bad of [p + 8, p + 4096, p + MiB, p + 2 * MiB - DESC_BYTES, p + n, byteLength, end - 4096]) {
      for (const op of [() => heap.free(bad), () => heap.realloc(bad, 10), () => heap.usableSize(bad)]) refused(op, "not-object");
    }
    refused(() => heap.free(end + 64), "not-ours");              // past every chunk
    expect(heap.slabinfo()).toBe(snap);
    expect(JSON.stringify(heap.stats())).toBe(stats);
    expect(heap.memory.buffer.byteLength).toBe(byteLength);
    sound(heap);
    heap.free(p);
    expect(() => heap.free(p)).toThrow();                        // a double free of the run
    sound(heap);
  });
});

// One Worker of the threaded test: malloc runs, write every usable byte, grow them in place, check, free.
// Writes go through a view refreshed with memory.grow(0) when it is too short (another Worker's grow reaches
// this thread's memory.buffer late: test/workers/medium.mjs view).
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
(async () => {
  const { attachAllocator } = await import(workerData.dist);
  const heap = await attachAllocator(workerData.handle);
  const errors = [];
  let u8 = new Uint8Array(heap.memory.buffer);
  const view = (end) => {
    if (u8.length < end) { heap.memory.grow(0); u8 = new Uint8Array(heap.memory.buffer); }
    if (u8.length < end) errors.push("memory.buffer does not reach " + end);
    return u8;
  };
  const MiB = 1 << 20;
  for (let round = 0; round < workerData.rounds; round++) {
    const n = (1 + (round % 3)) * MiB + 777 * (workerData.id + 1) * (round + 1);
    const p = heap.malloc(n);
    const u = heap.usableSize(p);
    if (u < n) errors.push("usable " + u + " < " + n);
    view(p + u).fill(workerData.id + 1, p, p + u);
    const cap = Math.ceil((n + 8192) / MiB) * MiB - 8192;
    const n2 = Math.min(cap, n + 200000 + round * 1000);
    const q = heap.realloc(p, n2);
    if (q !== p) errors.push("realloc within the run moved it");
    const m = view(q + n2);
    m.fill(workerData.id + 101, q + u, q + n2);
    for (let i = 0; i < n2; i += 4093) {
      const want = i < u ? workerData.id + 1 : workerData.id + 101;
      if (m[q + i] !== want) { errors.push("byte " + i + " of round " + round + " is " + m[q + i]); break; }
    }
    if (m[q + n2 - 1] !== workerData.id + 101) errors.push("last byte of round " + round);
    heap.free(q);
  }
  heap.releaseCpu();
  parentPort.postMessage({ errors });
})().catch((e) => parentPort.postMessage({ errors: [String(e && e.stack || e)] }));
`;

describe("threaded build", () => {
  it("Workers grow, write, realloc and free runs at once: every byte writable, heap valid, footprint exact", async () => {
    const heap = (await createAllocator({ shared: true, nodes: 2, cpusPerNode: 1, maxBytes: 64 * MiB, reap: false })) as SharedHeap;
    const n = 2 * MiB + 1;
    const p = heap.malloc(n);                                    // the main thread first: committed to the end
    expect(heap.memory.buffer.byteLength).toBe(roundUp(p + n));
    writeAll(heap, p, heap.usableSize(p), 0x11);
    expect(heap.realloc(p, n + 500_000)).toBe(p);
    writeAll(heap, p, n + 500_000, 0x12);
    sound(heap);
    heap.releaseCpu();
    const dist = new URL("../dist/index.js", import.meta.url).href;
    const workers = [0, 1].map((id) => new Worker(WORKER, { eval: true, workerData: { dist, handle: heap.handle(), id, rounds: 12 } }));
    const msgs = await Promise.all(workers.map((w) => new Promise<{ errors: string[] }>((ok, ko) => { w.once("message", ok); w.once("error", ko); })));
    await Promise.all(workers.map((w) => w.terminate()));
    for (const m of msgs) expect(m.errors).toEqual([]);
    heap.claimCpu(0);
    heap.memory.grow(0);
    expect(heap.u8[p + n + 499_999]).toBe(0x12);
    sound(heap);
    heap.free(p);
    sound(heap);
  }, 120_000);
});
