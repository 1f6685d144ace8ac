// medium-race.spec.ts — the interleavings of two threads' medium mallocs on one node, replayed step by
// step in one instance (kmalloc.ts mediumMalloc's steps: mediumAlloc misses, the pages come from page.ts
// without the medium lock held, then mediumAddRegion). Between thread A's miss and A's mediumAddRegion,
// thread B may add a region of its own or free a block that fits: A's block must still come from where
// the heap's invariants allow, so no region other than the home one is left wholly free (the failure
// scripts/stress-medium-threads.mjs found: validate's "wholly free region", in about 1 round of 100).
// Also a free racing the give-back of its region (classify read the descriptors without the lock; they
// may hold anything by the time the lock is taken): played by writing such values into them.
import { freshHeap, takeMedium } from "./setup.include";
import {
  mediumAddRegion, mediumAlloc, mediumFree, mediumFreeIn, mediumRegionAt, mediumRegionPages, mediumResizeIn, mediumValidate, regionOf,
} from "../medium";
import { nodeAddr, pagesAlloc } from "../page";
import { pageAddr } from "../arena";
import { DESC_SIZE, E_NOT_OBJECT, E_OK, MC_BLOCKS, MC_NREGIONS, N_LARGE_PAGES, N_MEDIUM, PAGE_SIZE } from "../layout";
import { PageDesc } from "../structs";
import { largeAlloc } from "../kmalloc";
import { validate } from "../validate";

function control(): usize {
  return <usize>load<u32>(nodeAddr(0) + N_MEDIUM);
}

// A block of `bytes` on node 0 the way kmalloc takes one, in one go (setup.include.ts takeMedium).
const take = takeMedium;

// A one-page large block right after the last region (the page allocator cuts the chunk's free run from
// its start), so that region cannot grow in place.
function fence(): void {
  expect(largeAlloc(PAGE_SIZE, PAGE_SIZE)).not.toBe(0);
}

// A heap whose node holds enough pages that new regions are larger than two 30000-byte blocks (a quarter
// of the node's region pages), with no free block of 30000 bytes (blocks that fill their regions exactly)
// and no region that can grow in place: a malloc of 30000 bytes misses. All in the first chunk (a fence
// is cut from the shortest free run).
function ballast(): void {
  freshHeap();
  for (let i = 0; i < 2; i++) {
    expect(take(262120)).not.toBe(0);
    fence();
  }
  expect(mediumRegionPages(0, 30000) << 12).toBeGreaterThan(2 * 30016 + 16);
}

describe("two threads' medium mallocs on one node", () => {
  test("both miss, B adds its region first: A takes the room left in B's region, A's pages go back", () => {
    ballast();
    expect(mediumAlloc(0, 30000)).toBe(0);                        // A misses
    const pa = mediumRegionPages(0, 30000);
    const da = pagesAlloc(0, pa, PAGE_SIZE, true);                // A's pages (no medium lock held)
    expect(mediumAlloc(0, 30000)).toBe(0);                        // B misses too
    const pb = mediumRegionPages(0, 30000);
    const db = pagesAlloc(0, pb, PAGE_SIZE, true);
    const b = mediumAddRegion(0, db, pb, 30000);                  // B adds its region first
    expect(regionOf(b)).toBe(db);
    const regions = load<u32>(control(), MC_NREGIONS);
    const large = load<u32>(nodeAddr(0) + N_LARGE_PAGES);
    const a = mediumAddRegion(0, da, pa, 30000);                  // then A
    expect(a).not.toBe(0);
    expect(mediumValidate(0)).toBe(0);                            // (before the fix: A's region wholly free)
    expect(validate()).toBe(0);
    expect(regionOf(a)).toBe(db);
    expect(load<u32>(control(), MC_NREGIONS)).toBe(regions);
    expect(load<u32>(nodeAddr(0) + N_LARGE_PAGES)).toBe(large - pa);
    expect(mediumFree(a)).toBe(E_OK);
    expect(mediumFree(b)).toBe(E_OK);
    expect(mediumValidate(0)).toBe(0);
    expect(validate()).toBe(0);
  });

  test("A misses, B frees a block that fits before A adds its region: the heap stays valid, no pages lost", () => {
    ballast();
    const px = mediumRegionPages(0, 30000);
    const x = take(30000);                                        // B's block, in a new region
    fence();
    const c = control();
    const regions = load<u32>(c, MC_NREGIONS);
    const y = take((<usize>px << 12) - 16 - 30016 - 8);           // fills that region's rest exactly: A misses
    expect(regionOf(y)).toBe(regionOf(x));
    expect(mediumAlloc(0, 30000)).toBe(0);                        // A misses
    const pa = mediumRegionPages(0, 30000);
    const da = pagesAlloc(0, pa, PAGE_SIZE, true);
    const large = load<u32>(nodeAddr(0) + N_LARGE_PAGES);
    expect(mediumFree(x)).toBe(E_OK);                             // B frees: a 30000-byte block fits now
    const a = mediumAddRegion(0, da, pa, 30000);                  // A adds its region
    expect(a).not.toBe(0);
    expect(mediumValidate(0)).toBe(0);
    expect(validate()).toBe(0);
    // A took the free block B left, and A's pages went back (the node's large pages as before A took them)
    expect(a).toBe(x);
    expect(load<u32>(c, MC_NREGIONS)).toBe(regions);
    expect(load<u32>(nodeAddr(0) + N_LARGE_PAGES)).toBe(large - pa);
    expect(pageAddr(da)).toBeGreaterThan(0);
    expect(mediumFree(a)).toBe(E_OK);
    expect(mediumFree(y)).toBe(E_OK);
    expect(validate()).toBe(0);
  });
});

// A free racing the give-back of its region (threads): kmalloc.ts classify reads the page descriptors
// without the medium lock, so by the time mediumFreeIn / mediumResizeIn run, the region's pages may have
// been given back and reused, and a descriptor may hold anything. Played here by writing into the
// descriptors what a reused page could hold there.
describe("a free whose region descriptors changed after classify read them", () => {
  test("a tail page whose aux points outside memory names no region (no load there)", () => {
    freshHeap();
    const p = take(20000);                                        // a region of several pages
    const d = regionOf(p);
    expect(d).not.toBe(0);
    const tail = d + DESC_SIZE;                                   // the region's second page
    expect(mediumRegionAt(tail)).toBe(d);
    const keep = changetype<PageDesc>(tail).aux;
    changetype<PageDesc>(tail).aux = 0xfffff000;                  // e.g. a large block's requested bytes
    expect(mediumRegionAt(tail)).toBe(0);
    changetype<PageDesc>(tail).aux = <u32>(d + 3 * PAGE_SIZE);     // inside memory, not a descriptor
    expect(mediumRegionAt(tail)).toBe(0);
    changetype<PageDesc>(tail).aux = keep;
    expect(mediumFree(p)).toBe(E_OK);
    expect(validate()).toBe(0);
  });

  test("a region whose aux no longer names its node's control block: the free and resize refuse, nothing changed", () => {
    freshHeap();
    const p = take(20000);
    const q = take(20000);
    const d = regionOf(p);
    const c = control();
    const blocks = load<u32>(c, MC_BLOCKS);
    changetype<PageDesc>(d).aux = <u32>(pageAddr(d) + 64);        // what a reused page's descriptor may hold
    expect(mediumFreeIn(d, p)).toBe(E_NOT_OBJECT);
    expect(mediumResizeIn(d, p, 100, false)).toBe(false);
    expect(load<u32>(c, MC_BLOCKS)).toBe(blocks);
    changetype<PageDesc>(d).aux = <u32>c;
    expect(mediumFreeIn(d, p)).toBe(E_OK);
    expect(mediumFree(q)).toBe(E_OK);
    expect(mediumValidate(0)).toBe(0);
    expect(validate()).toBe(0);
  });
});
