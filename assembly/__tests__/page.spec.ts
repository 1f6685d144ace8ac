// page.spec.ts — the page allocator: exact runs, best fit by size bin, splitting and coalescing with both
// neighbours, aligned runs for slabs, growing and shrinking in place, free-chunk release, runs of chunks,
// extending up to a bound (only at the heap's top), exhaustion and absurd sizes.
import { freshHeap, giveRun as give, takeRun } from "./setup.include";
import {
  binOf, chunkHeaderOf, freePages, nodeAddr, pageAlloc, pageFree, pagesAlloc, pagesExtend, pagesExtendUpTo,
  pagesTrim, runAlloc, runFree,
} from "../page";
import { CHUNK_BASE, HEAP, nchunks, pageOf, pageAddr } from "../arena";
import {
  CH_STATE, CS_BUDDY, CS_FREE, D_AUX, D_KIND, D_OBJECTS, DESC_BYTES, DESC_SIZE, K_FREE, K_FREE_TAIL,
  K_NONE, K_RUN, K_TAIL, META_PAGES, N_BIN_MAP, N_FREE_LISTS, N_LARGE_PAGES, N_NR_FREE_CHUNKS, N_TOP, NR_PAGE_BINS,
  PAGE_SIZE, USABLE_PAGES, CHUNK_SIZE, H_GROW_FAILS, H_HIGH_WATER,
} from "../layout";
import { validate } from "../validate";

// A raw run as the kmalloc layer would own it (setup.include.ts).
function take(node: u32, pages: u32, align: usize = PAGE_SIZE): usize {
  return takeRun(node, pages, align);
}

// Free runs of node 0: on its bins, and its top run (on no bin).
function freeRuns(): u32 {
  let n: u32 = load<u32>(nodeAddr(0), N_TOP) != 0 ? 1 : 0;
  for (let b: u32 = 0; b < NR_PAGE_BINS; b++) {
    let d = <usize>load<u32>(nodeAddr(0) + N_FREE_LISTS + (b << 2));
    while (d != 0) { n++; d = <usize>load<u32>(d, 4); }
  }
  return n;
}

@inline function pageIdx(d: usize): u32 {
  return <u32>((d - chunkHeaderOf(d)) / DESC_SIZE);
}

describe("size bins", () => {
  test("exact up to 8 pages, then ordered ranges up to a chunk, never past NR_PAGE_BINS", () => {
    for (let len: u32 = 1; len <= 8; len++) expect<u32>(binOf(len)).toBe(len - 1);
    expect<u32>(binOf(9)).toBe(8);
    expect<u32>(binOf(10)).toBe(8);
    expect<u32>(binOf(16)).toBe(11);
    expect<u32>(binOf(17)).toBe(12);
    expect<u32>(binOf(254)).toBe(NR_PAGE_BINS - 1);
    for (let len: u32 = 2; len <= 256; len++) {
      const b = binOf(len);
      expect<bool>(b == binOf(len - 1) || b == binOf(len - 1) + 1).toBe(true); // monotone, no gap
    }
  });
});

describe("page runs", () => {
  test("a fresh chunk is one free run; an exact run is cut from its bottom", () => {
    freshHeap();
    const d = take(0, 7);
    expect<u32>(nchunks()).toBe(1);
    expect<usize>(pageAddr(d)).toBe(CHUNK_BASE + META_PAGES * PAGE_SIZE);
    expect<u32>(freePages(0)).toBe(USABLE_PAGES - 7);
    expect<u32>(freeRuns()).toBe(1);
    expect<u32>(load<u32>(nodeAddr(0), N_LARGE_PAGES)).toBe(7);
    const rest = d + 7 * DESC_SIZE;
    expect<u8>(load<u8>(rest, D_KIND)).toBe(K_FREE);
    expect<u16>(load<u16>(rest, D_OBJECTS)).toBe(<u16>(USABLE_PAGES - 7));
    expect<u8>(load<u8>(chunkHeaderOf(d) + 255 * DESC_SIZE, D_KIND)).toBe(K_FREE_TAIL);
    expect<u32>(validate()).toBe(0);
    give(d);
    expect<u32>(load<u32>(nodeAddr(0), N_LARGE_PAGES)).toBe(0);
    expect<u32>(validate()).toBe(0);
  });

  test("a freed run merges with free runs below and above it", () => {
    freshHeap();
    const a = take(0, 3);
    const b = take(0, 5);
    const c = take(0, 2);
    const guard = take(0, 1);        // keeps the chunk from becoming wholly free
    expect<u32>(freeRuns()).toBe(1);
    give(a);
    expect<u32>(freeRuns()).toBe(2);
    give(c);
    expect<u32>(freeRuns()).toBe(3);
    expect<u32>(validate()).toBe(0);
    give(b);                          // merges a, b and c into one run of 10
    expect<u32>(freeRuns()).toBe(2);
    expect<u8>(load<u8>(a, D_KIND)).toBe(K_FREE);
    expect<u16>(load<u16>(a, D_OBJECTS)).toBe(10);
    expect<u8>(load<u8>(a + 9 * DESC_SIZE, D_KIND)).toBe(K_FREE_TAIL);
    expect<u32>(load<u32>(a + 9 * DESC_SIZE, D_AUX)).toBe(<u32>a);
    for (let t: u32 = 1; t < 9; t++) expect<u8>(load<u8>(a + t * DESC_SIZE, D_KIND)).toBe(K_NONE);
    expect<u32>(validate()).toBe(0);
    give(guard);                      // everything merges: the chunk leaves the bins
    const ch = chunkHeaderOf(a);
    expect<u8>(load<u8>(ch, CH_STATE)).toBe(CS_FREE);
    expect<u32>(load<u32>(nodeAddr(0), N_NR_FREE_CHUNKS)).toBe(1);
    expect<u32>(freeRuns()).toBe(0);
    expect<u32>(load<u32>(nodeAddr(0), N_BIN_MAP)).toBe(0);
    expect<u32>(freePages(0)).toBe(USABLE_PAGES);
    expect<u32>(validate()).toBe(0);
    const again = take(0, 3);          // the free chunk is reused, not a new one grown
    expect<u32>(nchunks()).toBe(1);
    expect<u8>(load<u8>(ch, CH_STATE)).toBe(CS_BUDDY);
    give(again);
  });

  test("runs on one bin: the rest of a cut, a merge with the run above that moves its head down", () => {
    freshHeap();
    const a = take(0, 3);                                         // the rest: 251 pages
    expect<u32>(freeRuns()).toBe(1);
    const rest = a + 3 * DESC_SIZE;
    expect<u8>(load<u8>(rest, D_KIND)).toBe(K_FREE);
    expect<u16>(load<u16>(rest, D_OBJECTS)).toBe(<u16>(USABLE_PAGES - 3));
    expect<u32>(load<u32>(chunkHeaderOf(a) + 255 * DESC_SIZE, D_AUX)).toBe(<u32>rest);
    expect<u32>(validate()).toBe(0);
    const b = take(0, 2);
    const c = take(0, 200);
    const g = take(0, 1);
    give(c);                                                      // a run of 200 between b and g
    const runs = freeRuns();
    give(b);                                                      // 202 pages, its head moved down to b
    expect<u32>(freeRuns()).toBe(runs);
    expect<u8>(load<u8>(b, D_KIND)).toBe(K_FREE);
    expect<u16>(load<u16>(b, D_OBJECTS)).toBe(202);
    expect<u8>(load<u8>(c, D_KIND)).toBe(K_NONE);
    expect<u8>(load<u8>(b + 201 * DESC_SIZE, D_KIND)).toBe(K_FREE_TAIL);
    expect<u32>(load<u32>(b + 201 * DESC_SIZE, D_AUX)).toBe(<u32>b);
    expect<u32>(validate()).toBe(0);
    const d = take(0, 202);                                       // that run, whole
    expect<usize>(d).toBe(b);
    give(d);
    give(a);                                                      // 3 + 202, the head moved down to a
    expect<u16>(load<u16>(a, D_OBJECTS)).toBe(205);
    expect<u8>(load<u8>(b, D_KIND)).toBe(K_NONE);
    expect<u8>(load<u8>(a + 204 * DESC_SIZE, D_KIND)).toBe(K_FREE_TAIL);
    expect<u32>(load<u32>(a + 204 * DESC_SIZE, D_AUX)).toBe(<u32>a);
    expect<u32>(validate()).toBe(0);
    give(g);                                                      // the chunk is wholly free again
    expect<u32>(freeRuns()).toBe(0);
    expect<u32>(freePages(0)).toBe(USABLE_PAGES);
    expect<u32>(validate()).toBe(0);
  });

  test("a freed range grows the run below it: a longer run, the old tail cleared, a new tail", () => {
    freshHeap();
    const a = take(0, 200);
    const b = take(0, 2);
    const g = take(0, 1);
    give(a);                                                      // 200 pages from the chunk's start
    const runs = freeRuns();
    give(b);                                                      // 202: a longer, a new tail
    expect<u32>(freeRuns()).toBe(runs);
    expect<u16>(load<u16>(a, D_OBJECTS)).toBe(202);
    expect<u8>(load<u8>(a + 199 * DESC_SIZE, D_KIND)).toBe(K_NONE); // the old tail lies inside now
    expect<u8>(load<u8>(a + 201 * DESC_SIZE, D_KIND)).toBe(K_FREE_TAIL);
    expect<u32>(load<u32>(a + 201 * DESC_SIZE, D_AUX)).toBe(<u32>a);
    expect<u32>(validate()).toBe(0);
    give(g);
    expect<u32>(freeRuns()).toBe(0);
    expect<u32>(validate()).toBe(0);
  });

  test("best fit: an exact hole is taken before a larger one", () => {
    freshHeap();
    const ds = new Array<usize>();
    for (let i = 0; i < 12; i++) ds.push(take(0, i % 2 == 0 ? 4 : 1)); // 4,1,4,1,... pages
    give(ds[0]);                      // holes of 4 (pages 2..5), 6 (merged below), 4
    give(ds[4]);
    give(ds[5]); give(ds[6]);          // 4 + 1 + 4 = 9 pages
    give(ds[8]);
    const e = take(0, 4);             // exact fits (either one: a perfect fit ends the scan)
    expect<bool>(e == ds[0] || e == ds[8]).toBe(true);
    const f = take(0, 4);
    expect<usize>(f).toBe(e == ds[0] ? ds[8] : ds[0]);
    const g = take(0, 9);             // the exact 9-page hole, not the large run above
    expect<usize>(g).toBe(ds[4]);
    expect<u32>(validate()).toBe(0);
  });

  test("slab runs are aligned to their size; the pages below the aligned start stay free", () => {
    freshHeap();
    const one = pageAlloc(0, 0);       // page 2
    const eight = pageAlloc(0, 3);     // pages 8..15: pages 3..7 stay a free run
    expect<u32>(pageIdx(eight)).toBe(8);
    expect<usize>(pageAddr(eight) & (8 * PAGE_SIZE - 1)).toBe(0);
    expect<u8>(load<u8>(one + DESC_SIZE, D_KIND)).toBe(K_FREE);
    expect<u16>(load<u16>(one + DESC_SIZE, D_OBJECTS)).toBe(5);
    const two = pageAlloc(0, 1);       // fits the hole, aligned: pages 4..5
    expect<u32>(pageIdx(two)).toBe(4);
    expect<u32>(freePages(0)).toBe(USABLE_PAGES - 11);
    pageFree(one); pageFree(eight); pageFree(two);
    expect<u32>(freePages(0)).toBe(USABLE_PAGES);
    expect<u32>(validate()).toBe(0);
  });

  test("extends up to a bound past what it needs only above the high-water mark", () => {
    freshHeap();
    const a = take(0, 3);                                     // the heap's top: nothing handed out after it
    const hw = <usize>load<u32>(HEAP, H_HIGH_WATER);
    expect<usize>(hw).toBe(pageAddr(a) + 3 * PAGE_SIZE);
    expect<u32>(pagesExtendUpTo(a, 3, 5, 9, true)).toBe(9);   // past the mark: up to the bound
    store<u16>(a, 9, D_OBJECTS);
    for (let t: u32 = 3; t < 9; t++) { store<u8>(a + t * DESC_SIZE, K_TAIL, D_KIND); store<u32>(a + t * DESC_SIZE, <u32>a, D_AUX); }
    expect<u32>(load<u32>(nodeAddr(0), N_LARGE_PAGES)).toBe(9);
    expect<u32>(validate()).toBe(0);
    const b = take(0, 4);                                     // after a; then freed: pages below the mark
    give(b);
    const free = freePages(0);
    expect<u32>(pagesExtendUpTo(a, 9, 10, 13, true)).toBe(10); // below the mark: only what it needs
    store<u16>(a, 10, D_OBJECTS);
    store<u8>(a + 9 * DESC_SIZE, K_TAIL, D_KIND); store<u32>(a + 9 * DESC_SIZE, <u32>a, D_AUX);
    expect<u32>(freePages(0)).toBe(free - 1);
    expect<u32>(validate()).toBe(0);
    const c = take(0, 1);                                     // right after a: nothing to extend into
    expect<u32>(pagesExtendUpTo(a, 10, 11, 20, true)).toBe(0);
    expect<u32>(validate()).toBe(0);
    give(a); give(c);
    expect<u32>(validate()).toBe(0);
  });

  test("absolute alignment up to 64 KiB", () => {
    freshHeap();
    take(0, 1);
    const d = take(0, 3, 65536);
    expect<usize>(pageAddr(d) & 65535).toBe(0);
    expect<u32>(validate()).toBe(0);
  });

  test("grows in place into the free run after it, and only into free pages; shrinks giving pages back", () => {
    freshHeap();
    const a = take(0, 3);
    const b = take(0, 2);
    give(b);                          // a free run of 2 pages... merged with the rest of the chunk
    expect<bool>(pagesExtend(a, 3, 10, true)).toBe(true);
    store<u16>(a, 10, D_OBJECTS);
    for (let t: u32 = 3; t < 10; t++) { store<u8>(a + t * DESC_SIZE, K_TAIL, D_KIND); store<u32>(a + t * DESC_SIZE, <u32>a, D_AUX); }
    expect<u32>(load<u32>(nodeAddr(0), N_LARGE_PAGES)).toBe(10);
    expect<u32>(validate()).toBe(0);
    const c = take(0, 1);             // right after a
    expect<usize>(c).toBe(a + 10 * DESC_SIZE);
    const free = freePages(0);
    expect<bool>(pagesExtend(a, 10, 11, true)).toBe(false); // c is in the way: nothing changes
    expect<u32>(freePages(0)).toBe(free);
    expect<u32>(validate()).toBe(0);
    pagesTrim(a, 10, 4, true);
    store<u16>(a, 4, D_OBJECTS);
    expect<u32>(freePages(0)).toBe(free + 6);
    expect<u32>(load<u32>(nodeAddr(0), N_LARGE_PAGES)).toBe(5);
    expect<u8>(load<u8>(a + 4 * DESC_SIZE, D_KIND)).toBe(K_FREE);
    expect<u32>(validate()).toBe(0);
    give(a); give(c);
    expect<u32>(validate()).toBe(0);
  });

  test("pageOf and pageAddr are inverse", () => {
    freshHeap();
    const d = take(0, 4);
    const p = pageAddr(d);
    expect<usize>(pageOf(p)).toBe(d);
    expect<usize>(pageOf(p + 4 * PAGE_SIZE - 1)).toBe(d + 3 * DESC_SIZE);
    give(d);
  });

  test("absurd sizes are refused and change nothing", () => {
    freshHeap();
    const a = take(0, 2);
    const free = freePages(0);
    expect<usize>(pagesAlloc(0, 0, PAGE_SIZE, true)).toBe(0);
    expect<usize>(pagesAlloc(0, USABLE_PAGES + 1, PAGE_SIZE, true)).toBe(0);
    expect<usize>(pagesAlloc(0, 0xffffffff, PAGE_SIZE, true)).toBe(0);
    expect<u32>(freePages(0)).toBe(free);
    expect<u32>(nchunks()).toBe(1);
    expect<u32>(validate()).toBe(0);
    give(a);
  });

  test("exhaustion: the budget refuses growth cleanly and changes nothing", () => {
    freshHeap(1, 1, 2 << 20); // two chunks
    const a = take(0, 200);
    const b = take(0, 200);
    expect<usize>(a).not.toBe(0);
    expect<usize>(b).not.toBe(0);
    expect<u32>(nchunks()).toBe(2);
    const fails = load<u32>(HEAP, H_GROW_FAILS);
    const free = freePages(0);
    const c = take(0, 100);
    expect<usize>(c).toBe(0);
    expect<u32>(load<u32>(HEAP, H_GROW_FAILS)).toBe(fails + 1);
    expect<u32>(nchunks()).toBe(2);
    expect<u32>(freePages(0)).toBe(free);
    expect<u32>(load<u32>(nodeAddr(0), N_LARGE_PAGES)).toBe(400);
    expect<u32>(validate()).toBe(0);
    give(a); give(b);
    expect<u32>(validate()).toBe(0);
  });

  test("random runs keep every invariant and give every page back", () => {
    freshHeap(1, 1, 16 << 20);
    const live = new Array<usize>();
    let x: u32 = 12345;
    for (let i = 0; i < 3000; i++) {
      x = x * 1103515245 + 12345;
      if (live.length > 0 && ((x >> 16) & 3) == 0) {
        const k = <i32>((x >> 8) % <u32>live.length);
        give(live[k]);
        live[k] = live[live.length - 1];
        live.pop();
      } else {
        const d = take(0, 1 + ((x >> 10) % 40));
        if (d != 0) live.push(d);
      }
      if (i % 500 == 0) expect<u32>(validate()).toBe(0);
    }
    expect<u32>(validate()).toBe(0);
    for (let i = 0; i < live.length; i++) give(live[i]);
    expect<u32>(freePages(0)).toBe(nchunks() * USABLE_PAGES);
    expect<u32>(load<u32>(nodeAddr(0), N_NR_FREE_CHUNKS)).toBe(nchunks());
    expect<u32>(validate()).toBe(0);
  });

  test("runs of chunks for huge blocks, and back to free chunks", () => {
    freshHeap(1, 1, 16 << 20);
    const p = runAlloc(0, 3, 3 * CHUNK_SIZE - DESC_BYTES);
    expect<usize>(p).toBe(CHUNK_BASE + DESC_BYTES);
    expect<u8>(load<u8>(pageOf(p), D_KIND)).toBe(K_RUN);
    memory.fill(p, 0xab, 3 * CHUNK_SIZE - DESC_BYTES); // the whole run is the user's
    expect<u32>(validate()).toBe(0);
    runFree(p);
    expect<u32>(load<u32>(nodeAddr(0), N_NR_FREE_CHUNKS)).toBe(3);
    expect<u32>(validate()).toBe(0);
    // a second run of the same size reuses the three free chunks
    const q = runAlloc(0, 3, 100);
    expect<usize>(q).toBe(p);
    expect<u32>(nchunks()).toBe(3);
    runFree(q);
    expect<u32>(validate()).toBe(0);
  });
});
