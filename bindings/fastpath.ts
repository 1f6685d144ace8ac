// fastpath.ts — Cache.alloc()'s hit path in JS: pop the current CPU's main sheaf through the core's
// Uint32Array view, so an alloc that hits never crosses into Wasm. (free stays one Wasm call: its checks
// written here in JS measured slower than the call; see "Measured" below.)
//
// MIRROR — a change to any of these must change this file (test/fastpath-diff.test.ts replays random
// sequences through this path and through the raw exports on twin heaps, and fails on any difference):
//   assembly/cpu.ts      cacheAlloc (its hit: main sheaf not empty)
//   assembly/harden.ts   hardenAlloc, at HARDENING = HARDEN_ALL (the module's HARDEN_LEVEL, checked)
//   assembly/inuse.ts    keyAddr (the free key, cleared), inuseMark (the in-use bit, set)
//   assembly/structs.ts  objectIndexAt (the reciprocal)
//   assembly/stats.ts    statAt (u64 counters);  percpu.ts slotOf (core.slotOff mirrors currentCpu)
// Every offset, flag and constant comes from generated/abi.ts (assembly/abi.ts), never a copied number.
//
// Owns: FastCache (one cache's geometry and hardening mechanism, read once) and fastAlloc().
// Entry points: newFastCache(), fastAlloc(). Called by: cache.ts (Cache.alloc when the cache is not
// #careful). Calls: core.ts (view32, syncViews, the CPU mirror slotOff).
//
// Invariants:
//   - JS takes only the hit: a non-empty main sheaf. Anything else — empty, a stale view — returns MISS
//     having written nothing, and the caller makes the Wasm call it always made (cache_alloc: the slow
//     path, refill, E_NO_CPU for an instance without a CPU, whose main is the empty sheaf for ever).
//   - A hit writes exactly what the Wasm writes: the sheaf count, the free key cleared (F_FREEKEY) or the
//     in-use bit set (F_INUSE), and +1 on the u64 counter ALLOC_FASTPATH (lo/hi u32 halves, with carry).
//   - Every index is checked against the view's length before it is used: a view of a grown memory is
//     detached (length 0) or, shared, too short; then core.syncViews() re-takes it and the call retries.
//     (memory.buffer itself is a call into the engine, tens of ns: it is asked only then.)
//   - No atomics: the current CPU's slot has one owner (this instance), as in the Wasm fast path.
//   - Only caches whose objects start 4-aligned (newFastCache), so the key word is one Uint32Array element.
//   - Addresses are computed as int32 (`| 0`: no double arithmetic) and taken mod 2^32 by `>>> 2`; u32
//     fields are read little-endian through a Uint32Array (every engine that runs Wasm is little-endian).
//   - Object index = ⌊off × recip / 2^32⌋, the Wasm's u64 multiply bit for bit, computed in int32 halves
//     (objectIndex) for off < slab bytes ≤ 2^15 and recip < 2^30 (checked per cache by newFastCache).
//
// Measured (ratios to two empty Wasm calls in one process, medians of 7, on the shared 2-core machine
// while other helpers' builds ran — load average 13–20): `node bench/micro.mjs --runs 7`, three runs,
// Cache API pair 3.40× / 3.50× / 4.22× against the raw exports' 3.73× / 3.90× / 4.85× (in the issue,
// before this file, the Cache API paid more than the raw pair: 3.26× vs 2.76×). In one process, the old
// Cache API (both Wasm calls) took 4.49× / 4.97× / 4.66× where this one took 4.04× / 4.67× / 4.27×.
// A free in JS with every cacheFree check (commit 8ef3f35; test/fastpath-diff.test.ts ran it) cost
// more than the Wasm call it saved: JS pop + JS free 4.85–5.26×, JS pop + Wasm free 3.95–5.31×; that
// free alone was about three empty-call pairs (~200 machine instructions, too large to inline), the
// Wasm call with the same checks less. So free keeps its Wasm call, and the pair's remaining cost is
// mostly that call (its checks and the handle check), not the pop.
//
// Call tree: fastAlloc ─ pop ─ count ─ hardenAlloc's write;  stale view ─ core.syncViews ─ retry once.
import { Abi as L } from "./generated/abi.js";
import type { Core } from "./core.js";

// The constants this path reads, by their ABI names.
const { ALLOC_FASTPATH, CC_MAIN, CC_STATS, C_FLAGS, C_INUSE_OFF, C_OBJ_OFFSET, C_RECIP, C_SLAB_MASK, C_STRIDE } = L;
const { F_DEBUG_MASK, F_FREEKEY, F_INUSE, F_RECLAIMABLE, SH_COUNT, SH_HDR } = L;

/** fastAlloc's answer when the Wasm must do it (a miss or a stale view): 0 is never an object. */
export const MISS = 0;

/** objectIndex is exact for offsets below this and reciprocals below that. */
const INDEX_OFF_LIMIT = 2 ** 15;
const INDEX_RECIP_LIMIT = 2 ** 30;
/** The highest counter word the path touches, from the slot's counters (u64 = 2 words). */
const STAT_TOP = 2 * ALLOC_FASTPATH + 1;

/** One cache's geometry as the fast path needs it (fixed for the cache's life). */
export interface FastCache {
  /** The kmem_cache's address. */
  readonly addr: number;
  /** The free key's offset from the object (keyAddr: 4 in a reclaimable cache), or -1: no F_FREEKEY. */
  readonly keyOff: number;
  /** F_INUSE: the in-use bitmap's offset in the slab (C_INUSE_OFF), or -1. */
  readonly inuseOff: number;
  readonly slabMask: number;
  readonly objOffset: number;
  /** C_RECIP = recipHi · 2^15 + recipLo (objectIndex). */
  readonly recipHi: number;
  readonly recipLo: number;
}

/** The fast path's view of the cache at `addr`, or undefined when JS must not take it for this cache:
 *  the module has checks off (HARDEN_LEVEL: hardenAlloc would write nothing), a debug cache (careful
 *  anyway), objects not 4-aligned (a stride like 13 with align 1: the key is an unaligned u32 store in
 *  the Wasm, which a Uint32Array cannot make without clobbering the neighbour), or a geometry whose
 *  object index would not be exact. */
export function newFastCache(core: Core, addr: number): FastCache | undefined {
  const flags = core.u32(addr + C_FLAGS);
  const slabMask = core.u32(addr + C_SLAB_MASK);
  const recip = core.u32(addr + C_RECIP);
  const objOffset = core.u32(addr + C_OBJ_OFFSET);
  const aligned = ((core.u32(addr + C_STRIDE) | objOffset) & 3) === 0; // every object start is 4-aligned
  if (!core.hardenAll || (flags & F_DEBUG_MASK) !== 0 || !aligned || slabMask >= INDEX_OFF_LIMIT || recip >= INDEX_RECIP_LIMIT) {
    return undefined;
  }
  return {
    addr,
    keyOff: (flags & F_FREEKEY) !== 0 ? (flags & F_RECLAIMABLE) << 1 : -1, // inuse.ts keyAddr
    inuseOff: (flags & F_FREEKEY) === 0 && (flags & F_INUSE) !== 0 ? core.u32(addr + C_INUSE_OFF) : -1,
    slabMask,
    objOffset,
    recipHi: recip >>> 15,
    recipLo: recip & 0x7fff,
  };
}

/** Pop an object off the current CPU's main sheaf (cpu.ts cacheAlloc's hit). MISS: call the Wasm. */
export function fastAlloc(core: Core, c: FastCache): number {
  const v = core.view32;
  const len = v.length;
  const slot = (c.addr + core.slotOff) | 0;
  const st = (slot + CC_STATS) >>> 2;
  if (st + STAT_TOP >= len) return staleAlloc(core, c);
  const main = v[(slot + CC_MAIN) >>> 2]! | 0;
  const e0 = (main + SH_HDR) >>> 2; // entries[0]; the header's words are below it
  if (e0 >= len) return staleAlloc(core, c);
  const n = v[(main + SH_COUNT) >>> 2]! | 0;
  if (n === 0) return MISS; // allocSlow (Wasm)
  if (e0 + n > len) return staleAlloc(core, c);
  const p = v[e0 + n - 1]!;
  if ((p >>> 2) + 1 >= len) return staleAlloc(core, c); // the key word, at p or p + 4
  v[(main + SH_COUNT) >>> 2] = n - 1;
  count(v, st + 2 * ALLOC_FASTPATH);
  if (c.keyOff >= 0) v[(p + c.keyOff) >>> 2] = 0; // hardenAlloc: clear the free key
  else if (c.inuseOff >= 0) {
    const i = objectIndex(c, ((p & c.slabMask) - c.objOffset) | 0); // inuseMark: set the in-use bit
    const w = ((((p & ~c.slabMask) + c.inuseOff) | 0) >>> 2) + (i >>> 5);
    v[w] = v[w]! | (1 << (i & 31));
  }
  return p;
}

// structs.ts objectIndexAt: ⌊off × recip / 2^32⌋ for 0 ≤ off < 2^15, in int32 arithmetic: with recip =
// rHi·2^15 + rLo, ⌊off·recip / 2^32⌋ = ⌊(off·rHi + ⌊off·rLo / 2^15⌋) / 2^17⌋, and every term is < 2^31
// (newFastCache checked recip < 2^30 and slab bytes ≤ 2^15).
function objectIndex(c: FastCache, off: number): number {
  return (Math.imul(off, c.recipHi) + (Math.imul(off, c.recipLo) >>> 15)) >>> 17;
}

// stats.ts statAt: +1 on the u64 counter whose low word is at index k.
function count(v: Uint32Array, k: number): void {
  const lo = (v[k]! + 1) | 0;
  v[k] = lo;
  if (lo === 0) v[k + 1] = v[k + 1]! + 1;
}

// An index fell past the view: re-take the views if memory grew and try once more; else the Wasm.
function staleAlloc(core: Core, c: FastCache): number {
  return core.syncViews() ? fastAlloc(core, c) : MISS;
}
