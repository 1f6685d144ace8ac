// pagetop.spec.ts — a node's top run (page.ts, NodeHdr.top: dlmalloc's top chunk): the free run a fresh
// chunk becomes stays off the size bins, is cut from below and grown downwards in place with no bin
// touched, is taken only when no bin holds a fit, goes on its bin when the node takes another chunk, and
// leaves with its chunk when that chunk is wholly free; and random large runs against a page-by-page model
// (free pages after every step, validate() every fourth).
import { freshHeap, giveRun as give, takeRun } from "./setup.include";
import {
  binOf, chunkHeaderOf, freePages, nodeAddr, pageAlloc, pageFree, pagesExtendUpTo,
} from "../page";
import { CHUNK_BASE, nchunks, pageAddr } from "../arena";
import {
  D_AUX, D_KIND, D_NEXT, D_OBJECTS, DESC_SIZE, K_FREE, K_NONE, K_TAIL, META_PAGES, N_BIN_MAP,
  N_FREE_LISTS, N_NR_FREE_CHUNKS, N_TOP, NR_PAGE_BINS, PAGE_SIZE, PAGES_PER_CHUNK, USABLE_PAGES,
} from "../layout";
import { validate } from "../validate";

// A run as the kmalloc layer owns it (setup.include.ts), on node 0.
function take(pages: u32, align: usize = PAGE_SIZE): usize {
  return takeRun(0, pages, align);
}

function top(): usize {
  return <usize>load<u32>(nodeAddr(0), N_TOP);
}

function binMap(): u32 {
  return load<u32>(nodeAddr(0), N_BIN_MAP);
}

// Every bin list head of node 0, summed with weights: any list operation changes it.
function binHeads(): u64 {
  let s: u64 = 0;
  for (let b: u32 = 0; b < NR_PAGE_BINS; b++) {
    s = s * 31 + <u64>load<u32>(nodeAddr(0) + N_FREE_LISTS + (b << 2));
  }
  return s;
}

// The page of descriptor d counted from the heap's first chunk (the model's index).
function modelPage(d: usize): i32 {
  return <i32>((pageAddr(d) - CHUNK_BASE) / PAGE_SIZE);
}

function pageIdx(d: usize): u32 {
  return <u32>((d - chunkHeaderOf(d)) / DESC_SIZE);
}

describe("the top run", () => {
  test("a fresh chunk's run is the top, on no bin; cuts and merges at its bottom touch no bin", () => {
    freshHeap();
    const a = take(2);
    expect<u32>(pageIdx(a)).toBe(META_PAGES);
    const t = top();
    expect<usize>(t).toBe(a + 2 * DESC_SIZE);                  // the rest, moved up in place
    expect<u8>(load<u8>(t, D_KIND)).toBe(K_FREE);
    expect<u16>(load<u16>(t, D_OBJECTS)).toBe(<u16>(USABLE_PAGES - 2));
    expect<u32>(load<u32>(t, D_NEXT)).toBe(0);
    expect<u32>(load<u32>(chunkHeaderOf(a) + (PAGES_PER_CHUNK - 1) * DESC_SIZE, D_AUX)).toBe(<u32>t);
    expect<u32>(binMap()).toBe(0);                              // not on a bin
    expect<u32>(freePages(0)).toBe(USABLE_PAGES - 2);
    expect<u32>(validate()).toBe(0);
    const heads = binHeads();
    for (let i = 0; i < 50; i++) {                              // coalescing-bal's pattern: cut, give back
      const b = take(2);
      expect<usize>(b).toBe(a + 2 * DESC_SIZE);
      expect<usize>(top()).toBe(b + 2 * DESC_SIZE);
      give(b);
      expect<usize>(top()).toBe(b);                             // grown downwards in place
      expect<u16>(load<u16>(b, D_OBJECTS)).toBe(<u16>(USABLE_PAGES - 2));
      expect<u8>(load<u8>(b + 2 * DESC_SIZE, D_KIND)).toBe(K_NONE); // the old first descriptor cleared
    }
    expect<u64>(binHeads()).toBe(heads);
    expect<u32>(binMap()).toBe(0);
    expect<u32>(validate()).toBe(0);
    give(a);                                                    // the chunk wholly free: no top left
    expect<usize>(top()).toBe(0);
    expect<u32>(load<u32>(nodeAddr(0), N_NR_FREE_CHUNKS)).toBe(1);
    expect<u32>(freePages(0)).toBe(USABLE_PAGES);
    expect<u32>(validate()).toBe(0);
  });

  test("a bin's fit before the top; a hole freed below the top goes on its bin", () => {
    freshHeap();
    const a = take(3);
    const g = take(1);
    give(a);                                                    // a hole of 3 below g: on bin 2
    expect<u32>(binMap()).toBe(1 << 2);
    const t = top();
    const b = take(3);                                          // the hole, not the top
    expect<usize>(b).toBe(a);
    expect<usize>(top()).toBe(t);
    expect<u32>(binMap()).toBe(0);
    give(b); give(g);
    expect<u32>(validate()).toBe(0);
  });

  test("the last page of the top, and the top cut whole", () => {
    freshHeap();
    const a = take(USABLE_PAGES - 1);
    const t = top();                                            // one page left: head and tail in one
    expect<u32>(pageIdx(t)).toBe(PAGES_PER_CHUNK - 1);
    expect<u16>(load<u16>(t, D_OBJECTS)).toBe(1);
    expect<u8>(load<u8>(t, D_KIND)).toBe(K_FREE);
    expect<u32>(load<u32>(t, D_AUX)).toBe(0);                   // it was the run's last descriptor
    expect<u32>(validate()).toBe(0);
    const b = take(1);
    expect<usize>(b).toBe(t);
    expect<usize>(top()).toBe(0);                                // used up
    expect<u32>(freePages(0)).toBe(0);
    expect<u32>(validate()).toBe(0);
    give(b);                                                    // one page after a: a run on its bin (no top)
    expect<usize>(top()).toBe(0);
    expect<u32>(binMap()).toBe(1);
    expect<u32>(validate()).toBe(0);
    give(a);
    expect<u32>(load<u32>(nodeAddr(0), N_NR_FREE_CHUNKS)).toBe(1);
    expect<u32>(validate()).toBe(0);
  });

  test("a new chunk's run becomes the top; the old top goes on its bin", () => {
    freshHeap(1, 1, 16 << 20);
    const a = take(200);
    const old = top();                                          // 54 pages
    const b = take(100);                                        // fits no bin nor the top: a second chunk
    expect<u32>(nchunks()).toBe(2);
    expect<usize>(chunkHeaderOf(b)).not.toBe(chunkHeaderOf(a));
    expect<usize>(top()).toBe(b + 100 * DESC_SIZE);
    expect<u32>(binMap()).toBe(<u32>1 << binOf(54));            // 54 pages left in the first chunk
    expect<u32>(load<u32>(nodeAddr(0) + N_FREE_LISTS + (binOf(54) << 2))).toBe(<u32>old);
    expect<u32>(validate()).toBe(0);
    const c = take(50);                                         // the old top's pages, from its bin
    expect<usize>(c).toBe(old);
    give(c); give(a); give(b);
    expect<u32>(freePages(0)).toBe(2 * USABLE_PAGES);
    expect<usize>(top()).toBe(0);
    expect<u32>(validate()).toBe(0);
  });

  test("an aligned cut leaves the pages below it on a bin and the rest the top", () => {
    freshHeap();
    const one = pageAlloc(0, 0);                                // page 2
    const eight = pageAlloc(0, 3);                              // pages 8..15, aligned: 3..7 go on bin 4
    expect<u32>(pageIdx(eight)).toBe(8);
    expect<u32>(binMap()).toBe(1 << 4);
    expect<u32>(pageIdx(top())).toBe(16);
    expect<u16>(load<u16>(top(), D_OBJECTS)).toBe(<u16>(PAGES_PER_CHUNK - 16));
    pageFree(one);                                              // merges with 3..7 on its bin: 2..7
    expect<u32>(binMap()).toBe(1 << 5);
    pageFree(eight);                                            // everything: the chunk is free
    expect<usize>(top()).toBe(0);
    expect<u32>(binMap()).toBe(0);
    expect<u32>(validate()).toBe(0);
  });

  test("a run grown in place into the top keeps the rest the top", () => {
    freshHeap();
    const a = take(3);
    expect<u32>(pagesExtendUpTo(a, 3, 5, 5, true)).toBe(5);
    store<u16>(a, 5, D_OBJECTS);
    for (let t: u32 = 3; t < 5; t++) {
      store<u8>(a + t * DESC_SIZE, K_TAIL, D_KIND);
      store<u32>(a + t * DESC_SIZE, <u32>a, D_AUX);
    }
    expect<usize>(top()).toBe(a + 5 * DESC_SIZE);
    expect<u32>(binMap()).toBe(0);
    expect<u32>(validate()).toBe(0);
    give(a);
    expect<u32>(validate()).toBe(0);
  });

  test("random large runs against a page model: no overlap, the same free pages, validate clean", () => {
    freshHeap(1, 1, 16 << 20);
    const used = new StaticArray<u8>(16 * PAGES_PER_CHUNK);     // the model: page in use, by chunk
    const live = new Array<usize>();
    let x: u32 = 777;
    let inUse: u32 = 0;
    for (let i = 0; i < 2000; i++) {
      x = x * 1103515245 + 12345;
      if (live.length > 0 && ((x >> 16) % 5) < 2) {
        const k = <i32>((x >> 8) % <u32>live.length);
        const d = live[k];
        const pages = <u32>load<u16>(d, D_OBJECTS);
        for (let p: u32 = 0; p < pages; p++) used[modelPage(d) + <i32>p] = 0;
        inUse -= pages;
        give(d);
        live[k] = live[live.length - 1];
        live.pop();
      } else {
        const pages: u32 = ((x >> 10) & 7) == 0 ? 1 + ((x >> 13) % 120) : 1 + ((x >> 13) % 6);
        const d = take(pages);
        if (d == 0) continue;
        for (let p: u32 = 0; p < pages; p++) {
          const at = modelPage(d) + <i32>p;
          expect<u8>(used[at]).toBe(0);                         // never handed out twice
          used[at] = 1;
        }
        inUse += pages;
        live.push(d);
      }
      expect<u32>(freePages(0)).toBe(nchunks() * USABLE_PAGES - inUse);
      if (i % 4 == 0) expect<u32>(validate()).toBe(0);
    }
    for (let i = 0; i < live.length; i++) give(live[i]);
    expect<u32>(freePages(0)).toBe(nchunks() * USABLE_PAGES);
    expect<u32>(load<u32>(nodeAddr(0), N_NR_FREE_CHUNKS)).toBe(nchunks());
    expect<usize>(top()).toBe(0);
    expect<u32>(validate()).toBe(0);
  });
});
