// parkloans.test.ts — parked blocks of the pre-chunk region (issue 11, helper smallheap2: medium.ts park /
// unpark / parkEvict / parkFlush, layout.ts "Parked blocks"): a freed small block of a chunkless heap is
// kept whole on the control block's park list and handed to the next request of exactly its size, with no
// free list, no merge and no fit search; at most PARK_DEPTH (8) are parked, and they go back to the free
// lists when a request finds no fit.
// Pinned down with exact call counts, as test/lendfast.test.ts does (test/counted.ts: build/debug.wasm with
// an exported counter per function, incremented on entry). Around the counts:
// a parked block reads as freed (free, realloc and malloc_usable_size say E_DOUBLE_FREE and change
// nothing), the footprint walk counts it as "parked", validate() checks the park list.
import { describe, expect, it } from "vitest";
import { chunklessChurn, countedHeap, type W } from "./counted.js";

const E_OK = 0, E_NOT_OBJECT = 3, E_DOUBLE_FREE = 5;
const FP_TOTAL = 0, FP_PARKED = 9, FP_OTHER = 13;
const COUNTED = [
  "assembly/medium/releaseBlock", "assembly/medium/findFit", "assembly/medium/linkFree", "assembly/medium/removeFree",
  "assembly/medium/park", "assembly/medium/unpark", "assembly/medium/parkFlush",
];

async function heap() {
  const { w, g, memory, count } = await countedHeap(COUNTED);
  const nchunks = () => new DataView(memory.buffer).getUint32(w.heap_addr!() + (g.H_NCHUNKS!.value as number), true);
  const footprint = (slot: number) => { w.heap_footprint!(); return w.footprint_result!(slot); };
  const bytes = () => new Uint8Array(memory.buffer).slice();
  return { w, g, count, nchunks, footprint, bytes };
}

function delta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(b).map((k) => [k, b[k]! - a[k]!]));
}

// short1-bal's replay: 2040 2040 f 48 4072 f 4072 f f 4072 f f (loans of kmalloc-2048, -48, -4096)
function short1(w: W): void {
  const p0 = w.malloc!(2040), p1 = w.malloc!(2040);
  expect(w.km_free!(p1)).toBe(E_OK);
  const p2 = w.malloc!(48), p3 = w.malloc!(4072);
  expect(w.km_free!(p3)).toBe(E_OK);
  const p4 = w.malloc!(4072);
  expect(w.km_free!(p0)).toBe(E_OK);
  expect(w.km_free!(p2)).toBe(E_OK);
  const p5 = w.malloc!(4072);
  expect(w.km_free!(p4)).toBe(E_OK);
  expect(w.km_free!(p5)).toBe(E_OK);
  for (const p of [p0, p1, p2, p3, p4, p5]) expect(p).not.toBe(0);
}

// coalescing-bal's replay: 4095 4095 f f 8190 f (two loans of kmalloc-4096, then a medium block of their
// joint size)
function coalescing(w: W): void {
  const p0 = w.malloc!(4095), p1 = w.malloc!(4095);
  expect(w.km_free!(p0)).toBe(E_OK);
  expect(w.km_free!(p1)).toBe(E_OK);
  const p2 = w.malloc!(8190);
  expect(w.km_free!(p2)).toBe(E_OK);
  for (const p of [p0, p1, p2]) expect(p).not.toBe(0);
}

describe("parked blocks of the pre-chunk region", () => {
  it("coalescing-bal's replay parks its 8 KiB block beside the 4 KiB loans: no split, no merge", async () => {
    const { w, count, nchunks, footprint } = await heap();
    coalescing(w);                                       // the first replay parks its blocks
    expect(footprint(FP_PARKED)).toBe(2 * (4096 + 16) + 8192 + 16); // two 4095-byte loans and the 8190-byte block
    const before = count();
    for (let r = 0; r < 50; r++) coalescing(w);
    const d = delta(before, count());
    expect(nchunks()).toBe(0);
    expect(d.unpark).toBe(150);
    expect(d.park).toBe(150);
    expect(d.findFit).toBe(0);                           // with PARK_MAX at 4 KiB + 16: a fit and a split per
    expect(d.releaseBlock).toBe(0);                      // 8 KiB malloc, a merge per free
    expect(d.linkFree! + d.removeFree!).toBe(0);
    expect(w.heap_validate!()).toBe(0);
  });

  it("a churning small heap (short1-bal's replay) takes its loans off the park list: no free list, no fit search", async () => {
    const { w, count, nchunks } = await heap();
    short1(w);                                           // the first replay parks its blocks
    const before = count();
    for (let r = 0; r < 50; r++) short1(w);
    const d = delta(before, count());
    expect(nchunks()).toBe(0);                           // still in the pre-chunk region
    expect(d.unpark).toBe(300);                          // every malloc looks at the park list first ...
    expect(d.park).toBe(300);                            // ... and every free parks
    expect(d.findFit).toBe(0);                           // before parking: one fit search per malloc
    expect(d.releaseBlock).toBe(0);                      // before parking: a merge per free
    expect(d.linkFree! + d.removeFree!).toBe(0);
    expect(w.heap_validate!()).toBe(0);
  });

  it("a parked block reads as freed: free, realloc and usable size say E_DOUBLE_FREE and change nothing", async () => {
    const { w, g, footprint, bytes } = await heap();
    const keep = w.malloc!(100);
    const p = w.malloc!(2040);
    expect(w.km_free!(p)).toBe(E_OK);
    expect(footprint(FP_PARKED)).toBe(2048 + 16);        // the whole block, header included
    const snap = bytes();
    expect(w.km_free!(p)).toBe(E_DOUBLE_FREE);
    expect(w.km_realloc!(p, 10)).toBe(0);
    expect(w.last_error!()).toBe(E_DOUBLE_FREE);
    expect(w.km_realloc!(p, 5000)).toBe(0);
    expect(w.last_error!()).toBe(E_DOUBLE_FREE);
    expect(w.km_usable!(p)).toBe(0);
    expect(w.last_error!()).toBe(E_DOUBLE_FREE);
    expect(w.km_free!(p + 16)).toBe(E_NOT_OBJECT);       // its inside: no block start
    // nothing changed but the error report (the last error in the heap header's first words, the
    // debug block's count of reports: layout.ts DB_REPORTS = 24)
    const now = bytes();
    const reports = w.heap_addr!() + (g.H_DEBUG!.value as number) + 24;
    const changed: number[] = [];
    for (let i = w.heap_addr!() + 128; i < now.length; i++) if (now[i] !== snap[i] && (i < reports || i >= reports + 4)) changed.push(i);
    expect(changed).toEqual([]);
    expect(w.heap_validate!()).toBe(0);
    expect(w.malloc!(2040)).toBe(p);                      // the next request of its size takes it back
    expect(footprint(FP_PARKED)).toBe(0);
    expect(w.km_free!(p)).toBe(E_OK);
    expect(w.km_free!(keep)).toBe(E_OK);
    expect(footprint(FP_PARKED)).toBe(2048 + 16 + 128);   // both parked (keep: class 112, a 128-byte block)
    w.heap_shrink!();                                      // shrink gives parked blocks back (reclaim.ts)
    expect(footprint(FP_PARKED)).toBe(0);
    expect(w.km_free!(p)).toBe(E_DOUBLE_FREE);            // merged back: still freed
    expect(footprint(FP_OTHER)).toBe(0);
    expect(w.heap_validate!()).toBe(0);
  });

  it("parks at most 8 blocks: the oldest goes back when a ninth comes", async () => {
    const { w, count, footprint } = await heap();
    const ps = Array.from({ length: 20 }, () => w.malloc!(48));
    const before = count();
    for (const p of ps) expect(w.km_free!(p)).toBe(E_OK);
    const d = delta(before, count());
    expect(d.park).toBe(20);
    expect(d.releaseBlock).toBe(12);                     // 12 evictions: 8 stay parked
    expect(footprint(FP_PARKED)).toBe(8 * 64);
    expect(w.heap_validate!()).toBe(0);
    for (const p of ps.slice(12)) expect(w.km_free!(p)).toBe(E_DOUBLE_FREE); // parked
    for (const p of ps.slice(0, 12)) expect(w.km_free!(p)).toBe(E_DOUBLE_FREE); // merged back
    // the 8 newest come back first, newest first
    for (let i = 19; i >= 12; i--) expect(w.malloc!(48)).toBe(ps[i]);
    expect(footprint(FP_PARKED)).toBe(0);
    expect(w.heap_validate!()).toBe(0);
  });

  it("a request with no fit gives the parked blocks back first, and random work keeps validate() clean", async () => {
    const { w, count, nchunks, footprint } = await heap();
    const before = count();
    const live = chunklessChurn(w, nchunks, { seed: 777, steps: 4000, mallocs: 6, frees: 9, bigOneIn: 3, bigMax: 4100, smallMax: 300 }, () => {
      expect(w.heap_validate!()).toBe(0);
      expect(footprint(FP_PARKED)).toBeLessThanOrEqual(8 * 4112);
      expect(footprint(FP_OTHER)).toBe(0);
    });
    const d = delta(before, count());
    expect(d.parkFlush).toBeGreaterThan(0);              // the region filled up: the parked blocks went back
    expect(nchunks()).toBe(1);                           // and the heap then grew its first chunk
    for (const p of live) expect(w.km_free!(p)).toBe(E_OK);
    expect(w.heap_validate!()).toBe(0);
    expect(footprint(FP_TOTAL)).toBeGreaterThan(0);
  });
});
