// setup.include.ts — shared by every spec: builds a heap far above as-pect's own bump allocations, takes
// a medium block as kmalloc does (a region from page.ts when the medium heap has no room), and takes and
// gives back a raw page run as a large block (page.spec.ts, pagetop.spec.ts).
import { heapInit } from "../cache";
import { mediumAddRegion, mediumAlloc, mediumRegionPages } from "../medium";
import { pagesAlloc, pagesFree } from "../page";
import { D_AUX, D_KIND, D_OBJECTS, DESC_SIZE, K_LARGE, K_TAIL, PAGE_SIZE } from "../layout";

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

// A raw run of `pages` pages on `node` as the kmalloc layer would own it: K_LARGE head, K_TAIL tails (what
// validate expects). Its first descriptor, or 0.
export function takeRun(node: u32, pages: u32, align: usize = PAGE_SIZE): usize {
  const d = pagesAlloc(node, pages, align, true);
  if (d == 0) return 0;
  store<u8>(d, K_LARGE, D_KIND);
  store<u16>(d, <u16>pages, D_OBJECTS);
  store<u32>(d, 1, D_AUX);
  for (let i: u32 = 1; i < pages; i++) {
    store<u8>(d + i * DESC_SIZE, K_TAIL, D_KIND);
    store<u32>(d + i * DESC_SIZE, <u32>d, D_AUX);
  }
  return d;
}

// Give back a run takeRun returned.
export function giveRun(d: usize): void {
  pagesFree(d, <u32>load<u16>(d, D_OBJECTS), true);
}
