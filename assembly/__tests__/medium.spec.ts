// medium.spec.ts — the medium heap's internals: block sizes, the home region and its control block,
// splitting and best fit, the designated victim (split from, merged into, given back, hostile frees at its
// edges), coalescing with both neighbours (absorbed headers read as freed), growing a
// region in place, trimming its free tail, giving a wholly free region back, in-place resize, and the
// header checks a hostile pointer meets.
import { freshHeap } from "./setup.include";
import {
  mediumAddRegion, mediumAlloc, mediumBlockSize, mediumCheck, mediumFree, mediumRegionPages, mediumResize,
  mediumUsable, mediumValidate, regionOf,
} from "../medium";
import { pagesAlloc, pagesFree, nodeAddr } from "../page";
import { pageAddr } from "../arena";
import {
  D_OBJECTS, E_DOUBLE_FREE, E_NOT_OBJECT, E_NOT_OURS, E_OK, MC_BLOCKS, MC_DV, MC_FREE_BYTES, MC_NREGIONS, MC_PAGES,
  N_LARGE_PAGES, N_MEDIUM, PAGE_SIZE,
} from "../layout";
import { validate } from "../validate";

function control(): usize {
  return <usize>load<u32>(nodeAddr(0) + N_MEDIUM);
}

// A block of `bytes` on node 0, taking a region from page.ts when the heap has no room (as kmalloc does).
function take(bytes: usize): usize {
  let p = mediumAlloc(0, bytes);
  if (p != 0) return p;
  const pages = mediumRegionPages(0, bytes);
  const d = pagesAlloc(0, pages, PAGE_SIZE, true);
  if (d == 0) return 0;
  return mediumAddRegion(0, d, pages, bytes);
}

describe("block sizes", () => {
  test("a request plus the 8-byte header, rounded up to 16, at least 32", () => {
    expect(mediumBlockSize(1)).toBe(32);
    expect(mediumBlockSize(24)).toBe(32);
    expect(mediumBlockSize(25)).toBe(48);
    expect(mediumBlockSize(4097)).toBe(4112);
    expect(mediumBlockSize(8192)).toBe(8208);
  });
});

describe("the home region", () => {
  test("the first block makes the home region, with the control block first", () => {
    freshHeap();
    expect(control()).toBe(0);
    expect(mediumAlloc(0, 10000)).toBe(0);                      // no heap yet: the caller takes a region
    const p = take(10000);
    expect(p).not.toBe(0);
    expect(p & 15).toBe(0);
    const c = control();
    expect(c).not.toBe(0);
    expect(p).toBeGreaterThan(c);
    expect(mediumUsable(p)).toBeGreaterThanOrEqual(10000);
    expect(mediumCheck(p)).toBe(E_OK);
    expect(mediumCheck(c)).toBe(E_NOT_OURS);                     // the control block is the heap's own
    expect(load<u32>(c, MC_NREGIONS)).toBe(1);
    expect(load<u32>(c, MC_BLOCKS)).toBe(1);
    expect(mediumValidate(0)).toBe(0);
    expect(validate()).toBe(0);
  });
});

describe("split, fit and coalesce", () => {
  test("blocks are cut from a free block; a freed block merges with both neighbours", () => {
    freshHeap();
    const a = take(9000);
    const b = take(9000);
    const c = take(9000);
    const guard = take(9000);
    expect(b).toBe(a + mediumBlockSize(9000));
    expect(c).toBe(b + mediumBlockSize(9000));
    const ctl = control();
    const free0 = load<u32>(ctl, MC_FREE_BYTES);
    expect(mediumFree(a)).toBe(E_OK);
    expect(mediumFree(c)).toBe(E_OK);
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFree(b)).toBe(E_OK);                            // a, b, c: one free block
    expect(load<u32>(ctl, MC_FREE_BYTES)).toBe(free0 + 3 * mediumBlockSize(9000));
    expect(mediumCheck(b)).toBe(E_DOUBLE_FREE);                  // an absorbed header reads as freed
    expect(mediumCheck(c)).toBe(E_DOUBLE_FREE);
    expect(mediumFree(b)).toBe(E_DOUBLE_FREE);
    expect(mediumValidate(0)).toBe(0);
    // the merged space serves a block of their total size at a's address
    const big = take(3 * mediumBlockSize(9000) - 8);
    expect(big).toBe(a);
    expect(mediumFree(big)).toBe(E_OK);
    expect(mediumFree(guard)).toBe(E_OK);
    expect(mediumValidate(0)).toBe(0);
    expect(validate()).toBe(0);
  });

  test("hostile pointers: interior, misaligned, inside a free block", () => {
    freshHeap();
    const a = take(20000);
    const b = take(20000);
    for (let off: usize = 1; off < 20000; off += 7) expect(mediumCheck(a + off)).not.toBe(E_OK);
    // (E_NOT_OBJECT, or E_DOUBLE_FREE where an absorbed header of an earlier block lies: memory reused)
    for (let off: usize = 16; off < 20000; off += 16) expect(mediumCheck(a + off)).not.toBe(E_OK);
    expect(mediumFree(a)).toBe(E_OK);
    for (let off: usize = 16; off < 20000; off += 16) expect(mediumFree(a + off)).not.toBe(E_OK);
    expect(mediumCheck(b)).toBe(E_OK);
    expect(mediumValidate(0)).toBe(0);
  });
});

describe("merges and splits near a large free block", () => {
  test("a freed block merges into the free block before it, or the one after it; its header then reads as freed", () => {
    freshHeap();
    const a = take(60000);                                       // 60016-byte block: list of 59392..61439
    const b = take(32);                                          // 48 bytes
    const g1 = take(32);
    expect(b).toBe(a + mediumBlockSize(60000));
    expect(g1).toBe(b + 48);
    const ctl = control();
    expect(mediumFree(a)).toBe(E_OK);
    const free0 = load<u32>(ctl, MC_FREE_BYTES);
    expect(mediumFree(b)).toBe(E_OK);                            // a's block grows to 60064
    expect(mediumValidate(0)).toBe(0);
    expect(load<u32>(ctl, MC_FREE_BYTES)).toBe(free0 + 48);
    expect(load<u32>(a - 8) & ~15).toBe(60064);
    expect(mediumCheck(b)).toBe(E_DOUBLE_FREE);                  // its header was absorbed
    expect(mediumFree(b)).toBe(E_DOUBLE_FREE);                   // refused, nothing changed
    expect(mediumCheck(b + 16)).not.toBe(E_OK);                  // inside a free block
    expect(load<u32>(ctl, MC_FREE_BYTES)).toBe(free0 + 48);
    expect(mediumValidate(0)).toBe(0);
    expect(take(60048)).toBe(a);                                 // the whole merged block, from its list

    const x = take(32);
    const y = take(60000);
    const g2 = take(32);
    expect(y).toBe(x + 48);
    expect(g2).toBe(y + mediumBlockSize(60000));
    expect(mediumFree(y)).toBe(E_OK);
    const free1 = load<u32>(ctl, MC_FREE_BYTES);
    expect(mediumFree(x)).toBe(E_OK);                            // x + y: one free block of 60064
    expect(mediumValidate(0)).toBe(0);
    expect(load<u32>(ctl, MC_FREE_BYTES)).toBe(free1 + 48);
    expect(load<u32>(x - 8) & ~15).toBe(60064);
    expect(mediumCheck(y)).toBe(E_DOUBLE_FREE);
    expect(mediumFree(x)).toBe(E_DOUBLE_FREE);
    expect(mediumFree(y)).toBe(E_DOUBLE_FREE);
    expect(mediumValidate(0)).toBe(0);
    expect(take(60048)).toBe(x);
    expect(validate()).toBe(0);
  });

  test("a small block split off a large free block: counts, lists and the merge back", () => {
    freshHeap();
    const a = take(60000);
    const g = take(32);
    expect(g).toBe(a + mediumBlockSize(60000));
    const ctl = control();
    expect(mediumFree(a)).toBe(E_OK);
    const free0 = load<u32>(ctl, MC_FREE_BYTES);
    const blocks = load<u32>(ctl, MC_BLOCKS);
    const p = mediumAlloc(0, 200);                               // 208 bytes; the smaller lists are empty
    expect(p).not.toBe(0);
    expect(mediumValidate(0)).toBe(0);
    expect(load<u32>(ctl, MC_FREE_BYTES)).toBe(free0 - 208);
    expect(load<u32>(ctl, MC_BLOCKS)).toBe(blocks + 1);
    expect(mediumFree(p)).toBe(E_OK);
    expect(mediumValidate(0)).toBe(0);
    expect(load<u32>(ctl, MC_FREE_BYTES)).toBe(free0);
    expect(validate()).toBe(0);
  });
});

describe("regions grow, shrink and go back", () => {
  test("a region grows in place for a block that does not fit, and its free tail is trimmed", () => {
    freshHeap();
    const a = take(9000);
    const c = control();
    const pages0 = load<u32>(c, MC_PAGES);
    const b = mediumAlloc(0, 100000);                             // no fit: the home region grows in place
    expect(b).not.toBe(0);
    expect(load<u32>(c, MC_NREGIONS)).toBe(1);
    expect(load<u32>(c, MC_PAGES)).toBeGreaterThan(pages0);
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFree(b)).toBe(E_OK);                             // the tail goes back to page.ts
    expect(load<u32>(c, MC_PAGES)).toBeLessThanOrEqual(pages0 + 1);
    expect(validate()).toBe(0);
    expect(mediumFree(a)).toBe(E_OK);
    expect(validate()).toBe(0);
  });

  test("a wholly free region other than the home one goes back to page.ts", () => {
    freshHeap();
    const a = take(9000);
    const d = pagesAlloc(0, 8, PAGE_SIZE, false);                 // pages after the home region: no growth
    expect(d).not.toBe(0);
    const large0 = load<u32>(nodeAddr(0) + N_LARGE_PAGES);
    const b = take(200000);                                       // a second region
    const c = control();
    expect(load<u32>(c, MC_NREGIONS)).toBe(2);
    expect(regionOf(b)).not.toBe(regionOf(a));
    expect(mediumFree(b)).toBe(E_OK);
    expect(load<u32>(c, MC_NREGIONS)).toBe(1);
    expect(load<u32>(nodeAddr(0) + N_LARGE_PAGES)).toBe(large0);
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFree(a)).toBe(E_OK);
    expect(pageAddr(d)).toBeGreaterThan(0);
  });

  test("resize in place: shrink by a split, grow into the next free block or the region's end", () => {
    freshHeap();
    const a = take(20000);
    const b = take(20000);
    expect(mediumResize(a, 10000)).toBe(true);
    expect(mediumUsable(a)).toBeLessThan(10016 + 16);
    expect(mediumResize(a, 20000)).toBe(true);                    // back into the split-off space
    expect(mediumResize(a, 30000)).toBe(false);                   // b follows: the caller moves it
    expect(mediumFree(b)).toBe(E_OK);
    expect(mediumResize(a, 100000)).toBe(true);                   // b's space and the region's growth
    expect(mediumUsable(a)).toBeGreaterThanOrEqual(100000);
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFree(a)).toBe(E_OK);
    expect(validate()).toBe(0);
    expect(load<u16>(regionOf(control()), D_OBJECTS)).toBeGreaterThan(0);
  });

  test("resize of a block its caller checked (krealloc) does the same, and an unchecked call still refuses", () => {
    freshHeap();
    const a = take(20000);
    const b = take(20000);
    expect(mediumCheck(a)).toBe(E_OK);
    expect(mediumResize(a, 10000, true)).toBe(true);
    expect(mediumUsable(a)).toBeLessThan(10016 + 16);
    expect(mediumResize(a, 20000, true)).toBe(true);
    expect(mediumResize(a, 30000, true)).toBe(false);             // b follows: nothing changed
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFree(b)).toBe(E_OK);
    expect(mediumResize(b, 100)).toBe(false);                     // freed: refused by its own check
    expect(mediumResize(a + 16, 100)).toBe(false);                // inside a block
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFree(a)).toBe(E_OK);
    expect(validate()).toBe(0);
  });
});

// The heap's designated victim (medium.ts): a free block on no list, 0 when none.
function victim(): usize {
  return <usize>load<u32>(control(), MC_DV);
}

describe("the designated victim", () => {
  test("the rest of a split is the victim; the next request that fits takes it, a free next to it merges into it", () => {
    freshHeap();
    const a = take(9000);
    const ctl = control();
    const v0 = victim();
    expect(v0).toBe(a - 8 + mediumBlockSize(9000));               // the region's rest, on no list
    const vs0 = load<u32>(v0) & ~15;
    expect(load<u32>(v0) & 1).toBe(1);                            // a free block
    expect(mediumValidate(0)).toBe(0);                            // counted as free, found on no list
    const free0 = load<u32>(ctl, MC_FREE_BYTES);
    const b = mediumAlloc(0, 1000);                               // the lists are empty: the victim serves
    expect(b).toBe(v0 + 8);
    expect(victim()).toBe(v0 + mediumBlockSize(1000));            // its rest stays the victim
    expect(load<u32>(victim()) & ~15).toBe(vs0 - mediumBlockSize(1000));
    expect(load<u32>(ctl, MC_FREE_BYTES)).toBe(free0 - mediumBlockSize(1000));
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFree(b)).toBe(E_OK);                             // merges into the victim after it
    expect(victim()).toBe(v0);
    expect(load<u32>(v0) & ~15).toBe(vs0);
    expect(load<u32>(ctl, MC_FREE_BYTES)).toBe(free0);
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFree(a)).toBe(E_OK);                             // the block before merges with it too
    expect(victim()).toBe(a - 8);
    expect(load<u32>(ctl, MC_BLOCKS)).toBe(0);
    expect(mediumValidate(0)).toBe(0);
    expect(validate()).toBe(0);
  });

  test("hostile frees at the victim's edges get their error and change nothing", () => {
    freshHeap();
    const a = take(9000);
    const ctl = control();
    const v = victim();
    const vs = load<u32>(v) & ~15;
    const free0 = load<u32>(ctl, MC_FREE_BYTES);
    expect(mediumFree(v + 8)).toBe(E_DOUBLE_FREE);                // the victim's own start: free already
    expect(mediumFree(a)).toBe(E_OK);                             // a merges into it: a's header is its header
    expect(mediumFree(a)).toBe(E_DOUBLE_FREE);
    expect(mediumFree(v + 8)).toBe(E_DOUBLE_FREE);                // v's header was absorbed
    expect(mediumFree(v + 24)).not.toBe(E_OK);                    // inside it
    expect(mediumFree(v + vs - 16)).not.toBe(E_OK);               // its last bytes (the footer)
    expect(mediumFree(v + vs + 8)).not.toBe(E_OK);                // past it: the sentinel
    expect(mediumFree(a - 16)).not.toBe(E_OK);                    // the control block's end before it
    expect(victim()).toBe(a - 8);
    expect(load<u32>(ctl, MC_FREE_BYTES)).toBe(free0 + mediumBlockSize(9000));
    expect(mediumValidate(0)).toBe(0);
    expect(validate()).toBe(0);
  });

  test("the victim serves only when it fits no worse than the lists' fit; a free away from it goes on a list", () => {
    freshHeap();
    const a = take(9000);
    const g = take(100);                                          // keeps a away from the victim
    const v = victim();
    expect(v).toBe(g - 8 + mediumBlockSize(100));
    expect(mediumFree(a)).toBe(E_OK);                             // on its list: the victim is taken
    expect(victim()).toBe(v);
    expect(mediumValidate(0)).toBe(0);
    expect(take(9000)).toBe(a);                                   // the exact list's block, not the victim
    expect(victim()).toBe(v);
    expect(mediumFree(a)).toBe(E_OK);
    expect(mediumFree(g)).toBe(E_OK);                             // a, g and the victim: one victim
    expect(victim()).toBe(a - 8);
    expect(mediumValidate(0)).toBe(0);
    expect(validate()).toBe(0);
  });

  test("the victim at a region's end grows with the region, is resized into, and goes back with it", () => {
    freshHeap();
    const a = take(9000);
    const ctl = control();
    const v = victim();
    const pages0 = load<u32>(ctl, MC_PAGES);
    expect(mediumResize(a, 9500)).toBe(true);                     // grows into the victim after it
    expect(victim()).toBe(a - 8 + mediumBlockSize(9500));
    expect(mediumValidate(0)).toBe(0);
    const b = mediumAlloc(0, 100000);                             // no fit: the region grows, the victim with it
    expect(b).toBe(a - 8 + mediumBlockSize(9500) + 8);            // where the victim started
    expect(load<u32>(ctl, MC_PAGES)).toBeGreaterThan(pages0);
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFree(b)).toBe(E_OK);                             // merged back and the free tail trimmed
    expect(load<u32>(ctl, MC_PAGES)).toBeLessThanOrEqual(pages0 + 1);
    expect(victim()).toBe(b - 8);
    expect(mediumValidate(0)).toBe(0);
    expect(validate()).toBe(0);
    expect(v).toBeGreaterThan(a);
  });

  test("a wholly free second region goes back to page.ts with the victim it held", () => {
    freshHeap();
    const a = take(9000);
    const d = pagesAlloc(0, 8, PAGE_SIZE, false);                 // pages after the home region: no growth
    expect(d).not.toBe(0);
    const y = mediumAlloc(0, (load<u32>(victim()) & ~15) - 8);    // the whole victim: none left
    expect(y).not.toBe(0);
    expect(victim()).toBe(0);
    const b = take(200000);                                       // a second region: its rest is the victim
    expect(regionOf(b)).not.toBe(regionOf(a));
    const ctl = control();
    expect(load<u32>(ctl, MC_NREGIONS)).toBe(2);
    expect(regionOf(victim())).toBe(regionOf(b));
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFree(b)).toBe(E_OK);                             // merges with it: the region goes back
    expect(load<u32>(ctl, MC_NREGIONS)).toBe(1);
    expect(victim()).toBe(0);
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFree(y)).toBe(E_OK);
    expect(mediumFree(a)).toBe(E_OK);
    expect(victim()).toBe(a - 8);
    expect(mediumValidate(0)).toBe(0);
    pagesFree(d, 8, false);
    expect(validate()).toBe(0);
  });
});
