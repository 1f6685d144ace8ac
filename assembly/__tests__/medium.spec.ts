// medium.spec.ts — the medium heap's internals: block sizes, the home region and its control block,
// splitting and best fit, coalescing with both neighbours (absorbed headers read as freed), growing a
// region in place (at the heap's top, up to a 64 KiB boundary once the heap is large), trimming its free
// tail, giving a wholly free region back, in-place resize, and the
// header checks a hostile pointer meets.
import { freshHeap, takeMedium } from "./setup.include";
import {
  mediumAddRegion, mediumAlloc, mediumBlockSize, mediumCheck, mediumFree, mediumRegionPages, mediumResize,
  mediumUsable, mediumValidate, regionOf,
} from "../medium";
import { pagesAlloc, nodeAddr } from "../page";
import { pageAddr } from "../arena";
import {
  D_OBJECTS, E_DOUBLE_FREE, E_NOT_OBJECT, E_NOT_OURS, E_OK, MC_BLOCKS, MC_FREE_BYTES, MC_NREGIONS, MC_PAGES,
  N_LARGE_PAGES, N_MEDIUM, PAGE_SIZE,
} from "../layout";
import { validate } from "../validate";

function control(): usize {
  return <usize>load<u32>(nodeAddr(0) + N_MEDIUM);
}

// A block of `bytes` on node 0 the way kmalloc takes one, in one go (setup.include.ts takeMedium).
const take = takeMedium;

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

  test("a large heap's region at the heap's top grows past its need, up to a 64 KiB boundary", () => {
    freshHeap();
    const a = take(800000);                                       // two regions of ~196 pages, two chunks
    const b = take(800000);
    const c = control();
    expect(load<u32>(c, MC_NREGIONS)).toBe(2);
    const heapPages = load<u32>(c, MC_PAGES);
    expect(heapPages >> 8).toBeGreaterThan(0);                    // large enough for a page of slack
    const r = regionOf(b);                                        // the newest region, at the heap's top
    const pages0 = <u32>load<u16>(r, D_OBJECTS);
    const x = mediumAlloc(0, 20000);                              // no fit: b's region grows in place
    expect(regionOf(x)).toBe(r);
    const grown = <u32>load<u16>(r, D_OBJECTS) - pages0;
    const end = pageAddr(r) + (<usize>(pages0 + grown) << 12);
    const need = (mediumBlockSize(20000) + 4095) >> 12;           // at most: the tail before was < 20016
    expect(grown).toBeGreaterThan(need);                          // more than it needed...
    expect(grown).toBeLessThanOrEqual(need + (heapPages >> 8) + 1);
    const bound = (pageAddr(r) + (<usize>(pages0 + need) << 12) + 0xffff) & ~(<usize>0xffff);
    expect(end).toBeLessThanOrEqual(bound);                       // ...never past the 64 KiB boundary
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFree(x)).toBe(E_OK);
    expect(mediumFree(a)).toBe(E_OK);
    expect(mediumFree(b)).toBe(E_OK);
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
