// sound.ts — the soundness check the heap tests share: after a workload, validate() finds no problem and
// footprint() puts every byte of memory.buffer.byteLength − heapBase in exactly one category, none
// unexplained ("other") and none negative. Tests call expectSound(heap) where they used to repeat it.
import { expect } from "vitest";
import { FOOTPRINT_CATEGORIES, type Footprint, type Heap } from "../bindings/index.js";

/** The heap's base as its header records it (the first byte the allocator may write). */
export function heapBase(heap: Heap): number {
  return heap.dv.getUint32(heap.hdr + heap.L.H_HEAP_BASE, true);
}

/** The sum of a footprint's categories. */
export function footprintSum(f: Footprint): number {
  return FOOTPRINT_CATEGORIES.reduce((s, c) => s + f[c], 0);
}

/** validate() is clean and footprint() accounts for every byte; returns the footprint. */
export function expectSound(heap: Heap): Footprint {
  const v = heap.validate();
  expect(v.ok, JSON.stringify(v)).toBe(true);
  const f = heap.footprint();
  expect(footprintSum(f)).toBe(f.total);
  expect(f.total).toBe(heap.memory.buffer.byteLength - heapBase(heap));
  expect(f.other).toBe(0);
  for (const c of FOOTPRINT_CATEGORIES) expect(f[c], c).toBeGreaterThanOrEqual(0);
  return f;
}
