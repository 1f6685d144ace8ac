// fastpath.ts — Cache.alloc()/free()'s hit path in JS: pop or push the current CPU's main sheaf through
// the core's Uint32Array view, so a hit never crosses into Wasm.
//
// MIRROR — a change to any of these must change this file (test/fastpath-diff.test.ts replays random
// sequences through this path and through the raw exports on twin heaps, and fails on any difference):
//   assembly/cpu.ts      cacheAlloc, cacheFree (the fast paths: which case is a hit)
//   assembly/harden.ts   hardenAlloc, hardenFree, hardenRelease, at HARDENING = HARDEN_ALL
//   assembly/inuse.ts    keyOf, keyAddr (the free key), inuseMark / inuseRelease (the in-use bit)
//   assembly/slab.ts     checkObject (with structs.ts objectIndexAt: the reciprocal)
//   assembly/stats.ts    statAt (u64 counters);  percpu.ts slotOf, currentNode;  arena.ts chunkByteOf, pageOf
// Every offset, flag and constant comes from generated/abi.ts (assembly/abi.ts), never a copied number.
//
// Owns: FastCache (one cache's geometry and hardening mechanism, read once) and fastAlloc() / fastFree().
// Entry points: newFastCache(), fastAlloc(), fastFree(). Called by: cache.ts (Cache.alloc/free when the
// cache is not #careful). Calls: core.ts (view32/view8, syncViews, the CPU mirror slotOff/node).
//
// Invariants:
//   - JS takes only the hit: alloc pops a non-empty main sheaf; free pushes onto a main sheaf with room a
//     pointer that passes every check of cacheFree's fast path on this CPU's node. Anything else — a
//     miss, a full sheaf, another node, a failed check, the free key found, a stale view — returns MISS
//     having written nothing, and the caller makes the Wasm call it always made, which re-checks and
//     takes the slow path or reports the typed error. So JS reports nothing itself, and accepts a free
//     only where the Wasm fast path would have (a subset, never more).
//   - A hit writes exactly what the Wasm writes: the sheaf count and entry, the free key (cleared on
//     alloc, written on free) or the in-use bit (set on alloc, cleared on free), and +1 on the u64
//     counter ALLOC_FASTPATH / FREE_FASTPATH (lo/hi u32 halves, with carry).
//   - Every index is checked against the view's length before it is read: a view of a grown memory is
//     detached (length 0) or, shared, too short; then core.syncViews() re-takes it and the call retries.
//   - No atomics: the current CPU's slot has one owner (this instance), as in the Wasm fast paths.
//     An instance without a CPU (a shared heap's parked slot) has the empty sheaf (count 0, capacity 0)
//     as its main: every call misses into the Wasm, whose slow path answers E_NO_CPU.
//   - Object index = ⌊off × recip / 2^32⌋, the Wasm's u64 multiply bit for bit, computed in int32 halves
//     (objectIndex) for off < slab bytes ≤ 2^15 and recip < 2^30 (checked per cache by newFastCache).
//
// Call tree: fastAlloc ─ pop ─ hardenAlloc's writes ─ count;   fastFree ─ checkObject's tests ─
//   hardenRelease's test ─ push ─ its write ─ count;   either ─ stale view: core.syncViews ─ retry once.
import { Abi as L } from "./generated/abi.js";
import type { Core } from "./core.js";

// The constants, taken out of generated/abi.ts's Abi once: Abi has hundreds of keys, so V8 keeps it as a
// dictionary and every `Abi.X` on a hot path is a hash lookup (measured: it made this path 10× slower).
const {
  ALLOC_FASTPATH,
  CC_MAIN,
  CC_STATS,
  CHUNK_SHIFT,
  CHUNK_SIZE,
  C_FLAGS,
  C_INUSE_OFF,
  C_OBJECTS,
  C_OBJ_OFFSET,
  C_RECIP,
  C_SLAB_MASK,
  C_STRIDE,
  DESC_SHIFT,
  D_AUX,
  D_BITS,
  D_CACHE,
  FREE_FASTPATH,
  FREE_KEY,
  F_DEBUG_MASK,
  F_FREEKEY,
  F_INUSE,
  F_RECLAIMABLE,
  INLINE_BITMAP_OBJECTS,
  PAGE_SHIFT,
  SH_CAP,
  SH_COUNT,
  SH_HDR,
} = L;

/** fastAlloc's answer when the Wasm must do it (a miss or a stale view): 0 is never an object. */
export const MISS = 0;

/** objectIndex is exact for offsets below this and reciprocals below that. */
const INDEX_OFF_LIMIT = 2 ** 15;
const INDEX_RECIP_LIMIT = 2 ** 30;
/** The highest counter word either path touches, from the slot's counters (u64 = 2 words). */
const STAT_TOP = 2 * Math.max(ALLOC_FASTPATH, FREE_FASTPATH) + 1;
const CHUNK_MASK = CHUNK_SIZE - 1;

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
  readonly objects: number;
  readonly stride: number;
  /** The free bitmap is the head descriptor's D_BITS (≤ INLINE_BITMAP_OBJECTS objects); else at D_AUX. */
  readonly inlineBitmap: boolean;
}

/** The fast path's view of the cache at `addr`, or undefined when JS must not take it for this cache:
 *  the module has checks off (HARDEN_LEVEL), a debug cache (its slow checks live in the Wasm), or a
 *  geometry whose object index would not be exact. */
export function newFastCache(core: Core, addr: number): FastCache | undefined {
  const flags = core.u32(addr + C_FLAGS);
  const slabMask = core.u32(addr + C_SLAB_MASK);
  const recip = core.u32(addr + C_RECIP);
  if (!core.hardenAll || (flags & F_DEBUG_MASK) !== 0 || slabMask >= INDEX_OFF_LIMIT || recip >= INDEX_RECIP_LIMIT) return undefined;
  const objects = core.u32(addr + C_OBJECTS);
  return {
    addr,
    keyOff: (flags & F_FREEKEY) !== 0 ? (flags & F_RECLAIMABLE) << 1 : -1, // inuse.ts keyAddr
    inuseOff: (flags & F_FREEKEY) === 0 && (flags & F_INUSE) !== 0 ? core.u32(addr + C_INUSE_OFF) : -1,
    slabMask,
    objOffset: core.u32(addr + C_OBJ_OFFSET),
    recipHi: recip >>> 15,
    recipLo: recip & 0x7fff,
    objects,
    stride: core.u32(addr + C_STRIDE),
    inlineBitmap: objects <= INLINE_BITMAP_OBJECTS,
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

/** Push `ptr` (a u32) onto the current CPU's main sheaf if cacheFree would, with all of its checks.
 *  False: nothing was written; call the Wasm (it takes the slow path or reports the error).
 *  Addresses are computed as int32 (`| 0`: no double arithmetic) and taken mod 2^32 by `>>> 2`. */
export function fastFree(core: Core, c: FastCache, ptr: number): boolean {
  const v = core.view32;
  const len = v.length;
  const p = ptr | 0;
  const slot = (c.addr + core.slotOff) | 0;
  const st = (slot + CC_STATS) >>> 2;
  // p's words (its key at p or p + 4) in view: so are its descriptor, bitmap and in-use word (below it)
  if (st + STAT_TOP >= len || (p >>> 2) + 1 >= len) return staleFree(core, c, ptr);
  // checkObject: the chunk-table byte (a slab chunk, and this CPU's node: else the Wasm, remote free)
  const inHeap = (p - core.chunkBase) | 0; // below chunk 0 it wraps to a "no chunk" slot, as in the Wasm
  const t = (core.table + (inHeap >>> CHUNK_SHIFT)) | 0;
  if (((v[t >>> 2]! >>> ((t & 3) << 3)) & 0xff) !== core.node) return false;
  const inChunk = inHeap & CHUNK_MASK;
  const d = (p - inChunk + ((inChunk >>> PAGE_SHIFT) << DESC_SHIFT)) | 0; // arena.ts pageOf
  const inSlab = p & c.slabMask;
  const off = (inSlab - c.objOffset) | 0; // < 0 before object 0: the Wasm's wrapped offset fails too
  const i = objectIndex(c, off);
  if (v[(d + D_CACHE) >>> 2] !== c.addr || off < 0 || i >= c.objects || Math.imul(i, c.stride) !== off) return false;
  const head = (d - ((inSlab >>> PAGE_SHIFT) << DESC_SHIFT)) | 0;
  const bm = c.inlineBitmap ? head + D_BITS : v[(head + D_AUX) >>> 2]!;
  if ((v[(bm >>> 2) + (i >>> 5)]! >>> (i & 31)) & 1) return false; // free in its slab: a double free
  // hardenRelease's test: the free key there (parked, or the user's value: the Wasm's walk decides), or
  // the in-use bit clear (parked: a double free)
  let at = 0;
  let mark = 0;
  if (c.keyOff >= 0) {
    at = (p + c.keyOff) >>> 2;
    mark = p ^ FREE_KEY; // keyOf, as an int32
    if ((v[at]! | 0) === mark) return false;
  } else if (c.inuseOff >= 0) {
    at = ((((p & ~c.slabMask) + c.inuseOff) | 0) >>> 2) + (i >>> 5);
    mark = 1 << (i & 31);
    if ((v[at]! & mark) === 0) return false;
  }
  const main = v[(slot + CC_MAIN) >>> 2]! | 0;
  const e0 = (main + SH_HDR) >>> 2;
  if (e0 >= len) return staleFree(core, c, ptr);
  const n = v[(main + SH_COUNT) >>> 2]! | 0;
  if (n >= v[(main + SH_CAP) >>> 2]!) return false; // full (or the empty sheaf): freeSlow (Wasm)
  if (e0 + n >= len) return staleFree(core, c, ptr);
  if (c.keyOff >= 0) v[at] = mark; // hardenRelease: write the key
  else if (c.inuseOff >= 0) v[at] = v[at]! & ~mark; // ... or clear the in-use bit
  v[e0 + n] = p;
  v[(main + SH_COUNT) >>> 2] = n + 1;
  count(v, st + 2 * FREE_FASTPATH);
  return true;
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

function staleFree(core: Core, c: FastCache, ptr: number): boolean {
  return core.syncViews() ? fastFree(core, c, ptr) : false;
}
