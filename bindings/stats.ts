// stats.ts — names and one-line meanings of the per-CPU counters, in the Wasm's slot order
// (assembly/stats.ts), and the shapes of the stats objects. A leaf: imports nothing.

/** Reclaim activity since the heap was created (heap.stats().reclaim; counted by reclaim.ts). */
export interface ReclaimCounters {
  reapPasses: number;
  shrinkerCalls: number;
  /** Pages the shrinkers said they freed. */
  shrinkerPages: number;
  /** Objects destroyed by targeted reclaim (destructor run, object freed). */
  objectsReclaimed: number;
  /** Chunks handed to memory.discard. */
  chunksDiscarded: number;
}

/** Counter names, in slot order. */
export const STAT_NAMES = [
  "alloc_fastpath", // alloc served from the CPU's main array
  "alloc_slowpath", // alloc that left the main array (spare, barn, slabs)
  "free_fastpath", // free pushed onto the CPU's main array
  "free_slowpath", // free that left the main array (spare, barn, slabs, remote node)
  "alloc_slab", // new slab taken from the page allocator
  "free_slab", // slab returned to the page allocator
  "alloc_node_mismatch", // allocNode(n) for a node other than the CPU's: arrays bypassed
  "sheaf_refill", // an array refilled from the slabs in one batch
  "sheaf_flush", // an array (or part of one) flushed to the slabs in one batch
  "sheaf_alloc", // an array allocated
  "sheaf_free", // an array freed
  "barn_get", // a full array taken from the node's barn
  "barn_get_fail", // the barn had no full array
  "barn_put", // a full array handed to the barn
  "barn_put_fail", // the barn was full: the array was flushed instead
  "sheaf_prefill_fast", // prefill served by the CPU's spare array
  "sheaf_prefill_slow", // prefill that had to fill a new array
  "sheaf_prefill_oversize", // prefill larger than the capacity (oversize handle)
  "sheaf_return_fast", // returned prefill kept as the CPU's spare
  "sheaf_return_slow", // returned prefill flushed to the barn or the slabs
  "alien_free", // free of another node's object into an alien array
  "alien_flush", // an alien array flushed to its node in one batch, under one lock
  "lock_acquire", // a node-level lock taken (cache-node lists, barn, remote slabs)
  "numa_fallback", // slab memory taken from a node other than the one asked for
] as const;

export type StatName = (typeof STAT_NAMES)[number];
export type Counters = Record<StatName, number>;

export interface CacheStats {
  name: string;
  /** Counters summed over CPUs. */
  counters: Counters;
  /** Counters of each CPU. */
  perCpu: Counters[];
  /** Objects handed to users. */
  activeObjects: number;
  /** Objects sitting in per-CPU arrays and barns. */
  parkedObjects: number;
  /** Objects in all slabs (free or not). */
  totalObjects: number;
  slabs: number;
  objectSize: number;
  objectsPerSlab: number;
  pagesPerSlab: number;
  arrayCapacity: number;
}

export interface HeapStats {
  /** Bytes of address space taken for chunks (chunks × 1 MiB). */
  bytesGrown: number;
  /** Bytes of linear memory the heap has committed above its base: the header, and the chunks' pages
   *  as far as they were handed out (the top chunk is committed lazily, block by block). */
  committedBytes: number;
  /** Bytes of the header in front of chunk 0. */
  headerBytes: number;
  chunks: number;
  /** Free pages per node (free page runs and whole free chunks). */
  freePages: number[];
  /** Pages in slabs, per node. */
  slabPages: number[];
  /** Pages in large blocks and chunk runs, per node. */
  largePages: number[];
  activeObjects: number;
  totalObjects: number;
  /** Bytes of wholly free chunks, all nodes (any cache or run of their node can reuse them). */
  freeChunkBytes: number;
  /** Bytes of free chunks handed back to the engine with memory.discard (0 where the engine has none). */
  discardedBytes: number;
  /** Free bytes (free pages and free chunks) still committed, i.e. not discarded. */
  freeCommittedBytes: number;
  /** Whether the engine can discard memory (WebAssembly.Memory#discard). */
  discardSupported: boolean;
  /** Reclaim activity: reap passes, shrinker calls, objects reclaimed, chunks discarded. */
  reclaim: ReclaimCounters;
}

export function zeroCounters(): Counters {
  const c = {} as Counters;
  for (const n of STAT_NAMES) c[n] = 0;
  return c;
}
