// kmclass.ts — malloc's class caches for the tests that look inside them (shared helper, not a test file:
// pairfloor.test.ts, mixfloor.test.ts). classCache(heap, "kmalloc-N") is the class cache's address (from
// the heap's cache walk); warm(heap, size) runs a class past its warm-up (kmalloc.ts KM_WARM_ALLOCS) so it
// has its cache and its per-CPU arrays, and malloc's fast path serves it.
import type { Heap } from "../bindings/index.js";

/** The address of malloc's class cache named `name` (kmalloc-N). */
export function classCache(heap: Heap, name: string): number {
  const c = heap.walkCaches().find((e) => e.name === name);
  if (!c) throw new Error(`no ${name}`);
  return c.addr;
}

/** Warm malloc's class of `size` past its warm-up: it gets its cache and its arrays. */
export function warm(heap: Heap, size: number): void {
  const held = Array.from({ length: 600 }, () => heap.malloc(size));
  for (const p of held) heap.free(p);
}
