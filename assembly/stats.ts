// stats.ts — per-CPU, per-cache event counters (SLUB's `enum stat_item`, plus this system's own).
//
// Owns: the counters[] block of every per-CPU struct (CC_STATS). Each counter only rises; a CPU writes
// only its own block, with plain loads and stores (no atomics: a CPU is owned by one instance at a time).
// Readers sum the blocks (cache.stats() in the TS layer reads them through the ABI).
// Entry points: stat(), statAt(), statAddAt(). Called by every layer above it. Calls percpu.ts (the slot).
import { CC_STATS } from "./layout";
import { cpuSlot } from "./percpu";

// One list, one line each. The index is the slot in the block; names are exported to TS in this order.
export const ALLOC_FASTPATH: u32 = 0;      // alloc served from the CPU's main array
export const ALLOC_SLOWPATH: u32 = 1;      // alloc that left the main array (spare, barn, slabs)
export const FREE_FASTPATH: u32 = 2;       // free pushed onto the CPU's main array
export const FREE_SLOWPATH: u32 = 3;       // free that left the main array (spare, barn, slabs)
export const ALLOC_SLAB: u32 = 4;          // new slab taken from the page allocator
export const FREE_SLAB: u32 = 5;           // slab returned to the page allocator
export const ALLOC_NODE_MISMATCH: u32 = 6; // allocNode(n) for a node other than the CPU's: arrays bypassed
export const SHEAF_REFILL: u32 = 7;        // an array refilled from the slabs in one batch
export const SHEAF_FLUSH: u32 = 8;         // an array flushed to the slabs in one batch
export const SHEAF_ALLOC: u32 = 9;         // an array allocated (to hold objects)
export const SHEAF_FREE: u32 = 10;         // an array freed
export const BARN_GET: u32 = 11;           // a full array taken from the node's barn
export const BARN_GET_FAIL: u32 = 12;      // the barn had no full array
export const BARN_PUT: u32 = 13;           // a full array handed to the barn
export const BARN_PUT_FAIL: u32 = 14;      // the barn was full: the array was flushed instead
export const SHEAF_PREFILL_FAST: u32 = 15; // prefill served by the CPU's spare array
export const SHEAF_PREFILL_SLOW: u32 = 16; // prefill that had to fill a new array
export const SHEAF_PREFILL_OVERSIZE: u32 = 17; // prefill larger than the capacity (oversize handle)
export const SHEAF_RETURN_FAST: u32 = 18;  // returned prefill kept as the CPU's spare
export const SHEAF_RETURN_SLOW: u32 = 19;  // returned prefill flushed to barn or slabs
export const ALIEN_FREE: u32 = 20;         // free of another node's object into an alien array
export const ALIEN_FLUSH: u32 = 21;        // an alien array flushed to its node in one batch
export const LOCK_ACQUIRE: u32 = 22;       // node-level lock taken (list, barn, remote slab)
export const NUMA_FALLBACK: u32 = 23;      // slab memory taken from a node other than the one asked
export const NR_STATS: u32 = 24;

// (The counter's offset as the load's and the store's immediate, the slot their one base: x86 then adds in
// place, 3 instructions; a shared address local made TurboFan compute the store's address apart: 4.)
@inline export function statAt(slot: usize, item: u32): void {
  store<u64>(slot + (<usize>item << 3), load<u64>(slot + (<usize>item << 3), CC_STATS) + 1, CC_STATS);
}

@inline export function statAddAt(slot: usize, item: u32, v: u64): void {
  const a = slot + CC_STATS + (<usize>item << 3);
  store<u64>(a, load<u64>(a) + v);
}

@inline export function statOf(slot: usize, item: u32): u64 {
  return load<u64>(slot + CC_STATS + (<usize>item << 3));
}

@inline export function stat(cache: usize, item: u32): void {
  statAt(cpuSlot(cache), item);
}
