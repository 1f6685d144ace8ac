// page.spec.ts — the buddy allocator: split and merge invariants, free-chunk release, runs, budget.
import { freshHeap } from "./setup.include";
import { pageAlloc, pageFree, nodeAddr, chunkHeaderOf, runAlloc, runFree, freePages } from "../page";
import { CHUNK_BASE, HEAP, nchunks, pageOf, pageAddr } from "../arena";
import {
  CH_FREE_PAGES, CH_STATE, CS_BUDDY, CS_FREE, D_KIND, D_ORDER, DESC_BYTES, DESC_SIZE, K_FREE, K_NONE,
  META_PAGES, N_FREE_LISTS, K_LARGE, K_TAIL, D_AUX, N_NR_FREE_CHUNKS, PAGE_SIZE, USABLE_PAGES, CHUNK_SIZE, H_GROW_FAILS, K_RUN,
} from "../layout";
import { validate } from "../validate";

// A raw block as the kmalloc layer would own it: K_LARGE head, K_TAIL tails (what validate expects).
function take(node: u32, order: u32): usize {
  const d = pageAlloc(node, order);
  if (d == 0) return 0;
  store<u8>(d, K_LARGE, D_KIND);
  for (let i: u32 = 1; i < (<u32>1 << order); i++) {
    store<u8>(d + i * DESC_SIZE, K_TAIL, D_KIND);
    store<u32>(d + i * DESC_SIZE, <u32>d, D_AUX);
  }
  return d;
}

function freeListLen(node: u32, order: u32): u32 {
  let n: u32 = 0;
  let d = <usize>load<u32>(nodeAddr(node) + N_FREE_LISTS + (order << 2));
  while (d != 0) { n++; d = <usize>load<u32>(d, 4); }
  return n;
}

describe("buddy page allocator", () => {
  test("a fresh chunk is seven maximal blocks after the descriptor pages", () => {
    freshHeap();
    const d = take(0, 7);
    expect<u32>(nchunks()).toBe(1);
    // order 7 is the block at page 128
    expect<usize>(pageAddr(d)).toBe(CHUNK_BASE + 128 * PAGE_SIZE);
    for (let o: u32 = 1; o < 7; o++) expect<u32>(freeListLen(0, o)).toBe(1);
    expect<u32>(freePages(0)).toBe(USABLE_PAGES - 128);
    pageFree(d);
    expect<u32>(validate()).toBe(0);
  });

  test("splitting takes the lowest block and leaves buddies on the lists", () => {
    freshHeap();
    const a = take(0, 0); // splits the order-1 block at page 2
    const b = take(0, 0); // its buddy, page 3
    expect<usize>(pageAddr(a)).toBe(CHUNK_BASE + META_PAGES * PAGE_SIZE);
    expect<usize>(pageAddr(b)).toBe(pageAddr(a) + PAGE_SIZE);
    const c = take(0, 0); // splits order 2 at page 4 → 4 (taken), 5 (o0), 6 (o1)
    expect<usize>(pageAddr(c)).toBe(CHUNK_BASE + 4 * PAGE_SIZE);
    expect<u32>(freeListLen(0, 0)).toBe(1);
    expect<u32>(freeListLen(0, 1)).toBe(1);
    expect<u32>(freePages(0)).toBe(USABLE_PAGES - 3);
    expect<u32>(validate()).toBe(0);
    pageFree(a); pageFree(b); pageFree(c);
    expect<u32>(validate()).toBe(0);
  });

  test("freeing merges buddies back; a wholly free chunk leaves the buddy lists", () => {
    freshHeap();
    const ds = new Array<usize>();
    for (let i = 0; i < 20; i++) ds.push(take(0, <u32>(i % 4)));
    expect<u32>(validate()).toBe(0);
    // free in an interleaved order
    for (let i = 0; i < 20; i += 2) pageFree(ds[i]);
    expect<u32>(validate()).toBe(0);
    for (let i = 1; i < 20; i += 2) pageFree(ds[i]);
    const ch = chunkHeaderOf(ds[0]);
    expect<u8>(load<u8>(ch, CH_STATE)).toBe(CS_FREE);
    expect<u32>(load<u32>(nodeAddr(0), N_NR_FREE_CHUNKS)).toBe(1);
    for (let o: u32 = 0; o <= 7; o++) expect<u32>(freeListLen(0, o)).toBe(0);
    expect<u32>(freePages(0)).toBe(USABLE_PAGES);
    expect<u32>(validate()).toBe(0);
    // the free chunk is reused, not a new one grown
    const again = take(0, 3);
    expect<u32>(nchunks()).toBe(1);
    expect<u8>(load<u8>(ch, CH_STATE)).toBe(CS_BUDDY);
    pageFree(again);
  });

  test("descriptors of a freed block are reset", () => {
    freshHeap();
    const d = take(0, 3);
    store<u8>(d + DESC_SIZE, 3, D_KIND); // pretend a tail
    pageFree(d);
    expect<u8>(load<u8>(d + DESC_SIZE, D_KIND)).toBe(K_NONE);
  });

  test("pageOf and pageAddr are inverse", () => {
    freshHeap();
    const d = take(0, 2);
    const p = pageAddr(d);
    expect<usize>(pageOf(p)).toBe(d);
    expect<usize>(pageOf(p + 4 * PAGE_SIZE - 1)).toBe(d + 3 * DESC_SIZE);
    pageFree(d);
  });

  test("the budget refuses growth cleanly and changes nothing", () => {
    freshHeap(1, 1, 2 << 20); // two chunks
    const a = take(0, 7);
    const b = take(0, 7);
    expect<usize>(a).not.toBe(0);
    expect<usize>(b).not.toBe(0);
    expect<u32>(nchunks()).toBe(2);
    const fails = load<u32>(HEAP, H_GROW_FAILS);
    const c = take(0, 7);
    expect<usize>(c).toBe(0);
    expect<u32>(load<u32>(HEAP, H_GROW_FAILS)).toBe(fails + 1);
    expect<u32>(nchunks()).toBe(2);
    expect<u32>(validate()).toBe(0);
    pageFree(a); pageFree(b);
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
