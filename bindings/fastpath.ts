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
//   - Object index = ⌊off × recip / 2^32⌋ with off < slab bytes (≤ 2^15) and recip < 2^30: the product is
//     exact in a double, so this is the Wasm's u64 multiply bit for bit (checked per cache: EXACT_LIMIT).
//
// Call tree: fastAlloc ─ pop ─ hardenAlloc's writes ─ count;   fastFree ─ checkObject's tests ─
//   hardenRelease's test ─ push ─ its write ─ count;   either ─ stale view: core.syncViews ─ retry once.
import { Abi as L } from "./generated/abi.js";
import type { Core } from "./core.js";

/** fastAlloc's answer when the Wasm must do it (a miss or a stale view): 0 is never an object. */
export const MISS = 0;

const TWO_32 = 2 ** 32;
/** Products below this are exact in a double (the object index's multiply). */
const EXACT_LIMIT = 2 ** 53;
/** The highest counter word either path touches, from the slot's counters (u64 = 2 words). */
const STAT_TOP = 2 * Math.max(L.ALLOC_FASTPATH, L.FREE_FASTPATH) + 1;
const CHUNK_MASK = L.CHUNK_SIZE - 1;

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
  readonly recip: number;
  readonly objects: number;
  readonly stride: number;
  /** The free bitmap is the head descriptor's D_BITS (≤ INLINE_BITMAP_OBJECTS objects); else at D_AUX. */
  readonly inlineBitmap: boolean;
}

/** The fast path's view of the cache at `addr`, or undefined when JS must not take it for this cache:
 *  the module has checks off (HARDEN_LEVEL), a debug cache (its slow checks live in the Wasm), or a
 *  geometry whose object index would not be exact. */
export function newFastCache(core: Core, addr: number): FastCache | undefined {
  const flags = core.u32(addr + L.C_FLAGS);
  const slabMask = core.u32(addr + L.C_SLAB_MASK);
  const recip = core.u32(addr + L.C_RECIP);
  if (!core.hardenAll || (flags & L.F_DEBUG_MASK) !== 0 || slabMask * recip >= EXACT_LIMIT) return undefined;
  const objects = core.u32(addr + L.C_OBJECTS);
  return {
    addr,
    keyOff: (flags & L.F_FREEKEY) !== 0 ? (flags & L.F_RECLAIMABLE) << 1 : -1, // inuse.ts keyAddr
    inuseOff: (flags & L.F_FREEKEY) === 0 && (flags & L.F_INUSE) !== 0 ? core.u32(addr + L.C_INUSE_OFF) : -1,
    slabMask,
    objOffset: core.u32(addr + L.C_OBJ_OFFSET),
    recip,
    objects,
    stride: core.u32(addr + L.C_STRIDE),
    inlineBitmap: objects <= L.INLINE_BITMAP_OBJECTS,
  };
}

/** Pop an object off the current CPU's main sheaf (cpu.ts cacheAlloc's hit). MISS: call the Wasm. */
export function fastAlloc(core: Core, c: FastCache): number {
  const v = core.view32;
  const slot = c.addr + core.slotOff;
  const st = (slot + L.CC_STATS) >>> 2;
  if (st + STAT_TOP >= v.length) return staleAlloc(core, c);
  const main = v[(slot + L.CC_MAIN) >>> 2]!;
  const e0 = (main + L.SH_HDR) >>> 2; // entries[0]; the header's words are below it
  if (e0 >= v.length) return staleAlloc(core, c);
  const n = v[(main + L.SH_COUNT) >>> 2]!;
  if (n === 0) return MISS; // allocSlow (Wasm)
  const e = e0 + n - 1;
  if (e >= v.length) return staleAlloc(core, c);
  const p = v[e]!;
  if ((p >>> 2) + 1 >= v.length) return staleAlloc(core, c); // the key word, at p or p + 4
  v[(main + L.SH_COUNT) >>> 2] = n - 1;
  count(v, st + 2 * L.ALLOC_FASTPATH);
  if (c.keyOff >= 0) v[(p + c.keyOff) >>> 2] = 0; // hardenAlloc: clear the free key
  else if (c.inuseOff >= 0) {
    const i = objectIndex(c, (p & c.slabMask) - c.objOffset); // inuseMark: set the in-use bit
    const w = ((((p & ~c.slabMask) >>> 0) + c.inuseOff) >>> 2) + (i >>> 5);
    v[w] = v[w]! | (1 << (i & 31));
  }
  return p;
}

/** Push `ptr` (a u32) onto the current CPU's main sheaf if cacheFree would, with all of its checks.
 *  False: nothing was written; call the Wasm (it takes the slow path or reports the error). */
export function fastFree(core: Core, c: FastCache, ptr: number): boolean {
  const v = core.view32;
  const slot = c.addr + core.slotOff;
  const st = (slot + L.CC_STATS) >>> 2;
  // ptr's words (its key at ptr or ptr + 4) in view: so are its descriptor, bitmap and in-use word (below)
  if (st + STAT_TOP >= v.length || (ptr >>> 2) + 1 >= v.length) return staleFree(core, c, ptr);
  // checkObject: the chunk-table byte (a slab chunk, and this CPU's node: else the Wasm, remote free)
  if (core.view8[core.table + ((ptr - core.chunkBase) >>> L.CHUNK_SHIFT)] !== core.node) return false;
  const cs = ptr - ((ptr - core.chunkBase) & CHUNK_MASK); // arena.ts pageOf
  const d = cs + (((ptr - cs) >>> L.PAGE_SHIFT) << L.DESC_SHIFT);
  if (v[(d + L.D_CACHE) >>> 2] !== c.addr) return false; // not this cache's page
  const inSlab = ptr & c.slabMask;
  const off = inSlab - c.objOffset;
  if (off < 0) return false; // before object 0 (the Wasm's wrapped offset fails its index test)
  const i = objectIndex(c, off);
  if (i >= c.objects || i * c.stride !== off) return false; // not an object's start
  const head = d - ((inSlab >>> L.PAGE_SHIFT) << L.DESC_SHIFT);
  const bm = c.inlineBitmap ? head + L.D_BITS : v[(head + L.D_AUX) >>> 2]!;
  if ((v[(bm >>> 2) + (i >>> 5)]! >>> (i & 31)) & 1) return false; // free in its slab: a double free
  // hardenRelease's test: the free key there (parked, or the user's value: the Wasm's walk decides), or
  // the in-use bit clear (parked: a double free)
  let at = -1;
  let bit = 0;
  if (c.keyOff >= 0) {
    at = (ptr + c.keyOff) >>> 2;
    if (v[at] === (ptr ^ L.FREE_KEY) >>> 0) return false;
  } else if (c.inuseOff >= 0) {
    at = ((((ptr & ~c.slabMask) >>> 0) + c.inuseOff) >>> 2) + (i >>> 5);
    bit = 1 << (i & 31);
    if ((v[at]! & bit) === 0) return false;
  }
  const main = v[(slot + L.CC_MAIN) >>> 2]!;
  const e0 = (main + L.SH_HDR) >>> 2;
  if (e0 >= v.length) return staleFree(core, c, ptr);
  const n = v[(main + L.SH_COUNT) >>> 2]!;
  if (n >= v[(main + L.SH_CAP) >>> 2]!) return false; // full (or the empty sheaf): freeSlow (Wasm)
  if (e0 + n >= v.length) return staleFree(core, c, ptr);
  if (c.keyOff >= 0) v[at] = ptr ^ L.FREE_KEY; // hardenRelease: write the key (stored as a u32)
  else if (c.inuseOff >= 0) v[at] = v[at]! & ~bit; // ... or clear the in-use bit
  v[e0 + n] = ptr;
  v[(main + L.SH_COUNT) >>> 2] = n + 1;
  count(v, st + 2 * L.FREE_FASTPATH);
  return true;
}

// structs.ts objectIndexAt: ⌊off × recip / 2^32⌋, exact here (newFastCache checked the product's range).
function objectIndex(c: FastCache, off: number): number {
  return Math.floor((off * c.recip) / TWO_32);
}

// stats.ts statAt: +1 on the u64 counter whose low word is at index k.
function count(v: Uint32Array, k: number): void {
  const lo = (v[k]! + 1) >>> 0;
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
