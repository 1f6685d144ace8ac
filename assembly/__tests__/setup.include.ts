// setup.include.ts — shared by every spec: builds a heap far above as-pect's own bump allocations, and
// takes a medium block as kmalloc does (a region from page.ts when the medium heap has no room).
import { heapInit } from "../cache";
import { mediumAddRegion, mediumAlloc, mediumRegionPages } from "../medium";
import { pagesAlloc } from "../page";
import { PAGE_SIZE } from "../layout";

export const SPEC_HEAP_BASE: usize = 32 << 20;

// preRegion: with the pre-chunk medium region (layout.ts); without it by default, so the specs of a
// node's medium heap see its home region made in a chunk (prechunk.spec.ts takes it).
export function freshHeap(nodes: u32 = 1, cpusPerNode: u32 = 1, maxBytes: u64 = 64 << 20, preRegion: bool = false): void {
  const e = heapInit(SPEC_HEAP_BASE, nodes, cpusPerNode, maxBytes, preRegion);
  assert(e == 0, "heapInit failed");
}

// A medium block of `bytes` on node 0, taking a region from page.ts when the heap has no room (as kmalloc does).
export function takeMedium(bytes: usize): usize {
  const p = mediumAlloc(0, bytes);
  if (p != 0) return p;
  const pages = mediumRegionPages(0, bytes);
  const d = pagesAlloc(0, pages, PAGE_SIZE, true);
  if (d == 0) return 0;
  return mediumAddRegion(0, d, pages, bytes);
}
