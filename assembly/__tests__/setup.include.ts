// setup.include.ts — shared by every spec: builds a heap far above as-pect's own bump allocations.
import { heapInit } from "../cache";

export const SPEC_HEAP_BASE: usize = 32 << 20;

export function freshHeap(nodes: u32 = 1, cpusPerNode: u32 = 1, maxBytes: u64 = 64 << 20): void {
  const e = heapInit(SPEC_HEAP_BASE, nodes, cpusPerNode, maxBytes);
  assert(e == 0, "heapInit failed");
}
