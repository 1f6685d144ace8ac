// index.ts — the package entry: createAllocator() and the public types and errors (re-exports only).
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
export { FOOTPRINT_CATEGORIES, FOOTPRINT_LABELS, PAGE_OWNER, pageMap } from "./footprint.js";
export type { Footprint, FootprintCategory, FootprintOptions, PageMap, PageOwner } from "./footprint.js";
