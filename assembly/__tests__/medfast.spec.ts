// medfast.spec.ts — a medium region that grows back below the heap's top (medium.ts growRegion, GROW_MORE):
// the pages it gave back (its trimmed tail) are free and below the high-water mark, and a block that does
// not fit takes them back in one step with up to GROW_MORE (47) pages to spare (as many as the free run
// after it has), not page by page; at the heap's top it takes what it did before.
import { freshHeap, takeMedium } from "./setup.include";
import { mediumAlloc, mediumBlockSize, mediumFree, mediumValidate, regionOf } from "../medium";
import { pageAddr, HEAP } from "../arena";
import { pagesAlloc, pagesFree } from "../page";
import { D_OBJECTS, E_OK, H_HIGH_WATER, PAGE_SIZE } from "../layout";
import { validate } from "../validate";

// Pages of the region holding p (its first descriptor's objects).
function regionPages(p: usize): u32 {
  return <u32>load<u16>(regionOf(p), D_OBJECTS);
}

describe("a region growing back below the heap's top", () => {
  test("takes up to GROW_MORE (47) pages past its need when the free run after it has them", () => {
    freshHeap();
    const a = takeMedium(9000);                                   // the home region
    const big = mediumAlloc(0, 200000);                           // grows it in place, at the top
    expect(big).not.toBe(0);
    expect(regionOf(big)).toBe(regionOf(a));
    const grownTo = regionPages(a);
    expect(mediumFree(big)).toBe(E_OK);                           // its tail goes back to page.ts
    const trimmed = regionPages(a);
    expect(trimmed).toBeLessThan(grownTo - 16);
    // the trimmed pages are free and below the high-water mark (handed out before)
    expect(pageAddr(regionOf(a)) + (<usize>grownTo << 12)).toBeLessThanOrEqual(<usize>load<u32>(HEAP, H_HIGH_WATER));
    const x = mediumAlloc(0, 30000);                              // no fit: the region grows back
    expect(x).not.toBe(0);
    expect(regionOf(x)).toBe(regionOf(a));
    const need = (mediumBlockSize(30000) + PAGE_SIZE - 1) >> 12;  // at most (a free tail before it counts)
    const grown = regionPages(a) - trimmed;
    expect(grown).toBeGreaterThan(need);                          // more than it needed...
    expect(grown).toBeLessThanOrEqual(need + 47);                 // ...by at most GROW_MORE
    expect(mediumValidate(0)).toBe(0);
    // the spare pages serve the next block without a grow
    const y = mediumAlloc(0, 12000);
    expect(regionOf(y)).toBe(regionOf(a));
    expect(regionPages(a) - trimmed).toBe(grown);
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFree(y)).toBe(E_OK);
    expect(mediumFree(x)).toBe(E_OK);
    expect(mediumFree(a)).toBe(E_OK);
    expect(validate()).toBe(0);
  });

  test("takes the whole free run after it when that run is shorter", () => {
    freshHeap();
    const a = takeMedium(9000);
    const big = mediumAlloc(0, 200000);
    expect(big).not.toBe(0);
    expect(mediumFree(big)).toBe(E_OK);
    const trimmed = regionPages(a);
    const end = pageAddr(regionOf(a)) + (<usize>trimmed << 12);
    const need = (mediumBlockSize(30000) + PAGE_SIZE - 1) >> 12;
    // a run of need + 2 pages right after the region, then a page in use: the run after it is shorter
    // than need + GROW_MORE, longer than need
    const gap = pagesAlloc(0, need + 2, PAGE_SIZE, false);       // (cut from the free run's start)
    expect(pageAddr(gap)).toBe(end);
    const fence = pagesAlloc(0, 1, PAGE_SIZE, false);
    expect(pageAddr(fence)).toBe(end + (<usize>(need + 2) << 12));
    pagesFree(gap, need + 2, false);
    const x = mediumAlloc(0, 30000);
    expect(x).not.toBe(0);
    expect(regionOf(x)).toBe(regionOf(a));
    expect(regionPages(a) - trimmed).toBe(need + 2);              // the whole run, up to the page in use
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFree(x)).toBe(E_OK);
    expect(mediumFree(a)).toBe(E_OK);
    pagesFree(fence, 1, false);
    expect(validate()).toBe(0);
  });
});
