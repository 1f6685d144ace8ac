// index.ts — the package entry: createAllocator() and the public types and errors (re-exports, and
// attachAllocator's one-line loader of bindings/threads.ts).
export { createAllocator, Heap, Cache, CacheFlags, Prefilled } from "./heap.js";
export type { AllocatorOptions, CacheOptions, DebugOptions, TuneOptions, ValidateReport } from "./heap.js";
export * from "./errors.js";
export { STAT_NAMES } from "./stats.js";
export type { CacheStats, HeapStats, Counters, StatName } from "./stats.js";
export type { ReapOptions, ReapResult, Shrinker, Destructor, ReclaimCounters } from "./reclaim.js";
export { cHeapBase, dataEnd } from "./heap-base.js";
export { instanceForWasi } from "./wasi.js";
export type { MallocClasses } from "./malloc.js";
export { parseTrace, replayTrace, OP_ALLOC, OP_FREE, OP_REALLOC } from "./replay.js";
export type { Trace, ReplayHeap, ReplayOptions, ReplayResult } from "./replay.js";
export type { SharedHeap, SharedHandle, ThreadOptions } from "./threads.js";
import type { SharedHandle, SharedHeap, ThreadOptions } from "./threads.js";

/** Attach this thread to a shared heap another thread created (`heap.handle()`, postMessage-able): its
 *  own instance over the same memory, with one CPU claimed. bindings/threads.ts, loaded on first use (as
 *  by createAllocator({ shared: true })), so single-threaded programs do not carry it. */
export async function attachAllocator(handle: SharedHandle, options?: ThreadOptions): Promise<SharedHeap> {
  return (await import("./threads.js")).attachAllocator(handle, options);
}
export { FOOTPRINT_CATEGORIES, FOOTPRINT_LABELS, PAGE_OWNER, pageMap } from "./footprint.js";
export type { Footprint, FootprintCategory, FootprintOptions, PageMap, PageOwner } from "./footprint.js";
