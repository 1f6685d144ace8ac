// reclaim.spec.ts — reclaim at the page level: a run of chunks found by pressure reclaim, a shortage with
// nothing to reclaim, and the partial-list sort (order and links). The host hook of the specs answers 0.
import { freshHeap } from "./setup.include";
import { cacheCreateInternal } from "../cache";
import { allocSingle, cacheFreeSlab } from "../cpu";
import { pageAllocReclaiming, runAllocReclaiming, sortPartial } from "../reclaim";
import { pageAlloc, runAlloc, runFree } from "../page";
import { HEAP, chunkIndex, nchunks } from "../arena";
import { cnAddr } from "../node";
import { validate } from "../validate";
import { CN_NR_EMPTY, CN_NR_PARTIAL, CN_PARTIAL, D_INUSE, D_NEXT, D_PREV, H_RECLAIM_BUSY } from "../layout";

describe("pressure reclaim at the page level", () => {
  test("a run of whole chunks is found by freeing the empty slabs that held its chunk", () => {
    freshHeap(1, 1, 2 << 20);                     // a budget of two chunks
    const c = cacheCreateInternal(4096);          // order-3 slabs of 8 objects
    const objs = new Array<usize>();
    while (nchunks() < 2) objs.push(allocSingle(c, 0xffffffff));
    for (let i = 0; i < 8 * 9; i++) objs.push(allocSingle(c, 0xffffffff));
    expect<usize>(chunkIndex(objs[objs.length - 1])).toBe(1);
    // Free the newest first: the slabs in chunk 1 empty first and are the ones the node keeps.
    for (let i = objs.length - 1; i >= 0; i--) cacheFreeSlab(c, objs[i]);
    expect<u32>(load<u32>(cnAddr(c, 0), CN_NR_EMPTY)).toBeGreaterThan(0);
    expect<usize>(runAlloc(0, 1, 1000)).toBe(0);  // no free chunk, no growth
    const p = runAllocReclaiming(0, 1, 1000);     // step 1 frees the empty slabs: chunk 1 is free again
    // (and so is chunk 0: the cache's kmem_cache sits in a header slot, cache.ts, so no boot-cache slab
    // pins chunk 0; the run takes the first free chunk)
    expect<bool>(p != 0 && chunkIndex(p) < 2).toBe(true);
    expect<u32>(load<u32>(HEAP, H_RECLAIM_BUSY)).toBe(0);
    expect<u32>(validate()).toBe(0);
    runFree(p);
    expect<u32>(validate()).toBe(0);
  });

  test("with nothing to reclaim, the allocation fails and the heap is unchanged", () => {
    freshHeap(1, 1, 1 << 20);
    let n: u32 = 0;
    while (pageAlloc(0, 7) != 0) n++;
    while (pageAlloc(0, 0) != 0) n++;
    expect<u32>(n).toBeGreaterThan(0);
    expect<usize>(pageAllocReclaiming(0, 0)).toBe(0);
    expect<usize>(runAllocReclaiming(0, 1, 100)).toBe(0);
    expect<u32>(load<u32>(HEAP, H_RECLAIM_BUSY)).toBe(0);
  });
});

describe("shrink's sort", () => {
  test("orders partial slabs fullest first and keeps the links doubly consistent", () => {
    freshHeap();
    const c = cacheCreateInternal(64);            // 64 objects per one-page slab
    const objs = new Array<usize>();
    for (let i = 0; i < 64 * 6; i++) objs.push(allocSingle(c, 0xffffffff));
    // Free a different number from each slab: 7, 50, 1, 30, 63, 12.
    const gone: u32[] = [7, 50, 1, 30, 63, 12];
    for (let s = 0; s < 6; s++) for (let k: u32 = 0; k < gone[s]; k++) cacheFreeSlab(c, objs[s * 64 + k]);
    const cn = cnAddr(c, 0);
    expect<u32>(load<u32>(cn, CN_NR_PARTIAL)).toBe(6);
    sortPartial(c, 0);
    let d = <usize>load<u32>(cn, CN_PARTIAL);
    let prev: usize = 0;
    let last: u32 = 64;
    let count: u32 = 0;
    while (d != 0) {
      const inuse = <u32>load<u16>(d, D_INUSE);
      expect<bool>(inuse <= last).toBe(true);
      expect<usize>(<usize>load<u32>(d, D_PREV)).toBe(prev);
      last = inuse;
      prev = d;
      d = <usize>load<u32>(d, D_NEXT);
      count++;
    }
    expect<u32>(count).toBe(6);
    expect<u32>(last).toBe(1);                    // the slab that kept one object is last
    expect<u32>(validate()).toBe(0);
  });
});
