// fastpath.ts — Cache.alloc()/free()'s hit paths in JS: pop or push the current CPU's main sheaf through
// the core's Int32Array view, so an alloc or a free that hits never crosses into Wasm.
//
// MIRROR — a change to any of these must change this file (test/fastpath-diff.test.ts replays random
// sequences through this path and through the raw exports on twin heaps, and fails on any difference):
//   assembly/cpu.ts      cacheAlloc, cacheFree (which case is a hit: a non-empty main; a free that passes
//                        every check, of this CPU's node, onto a main with room)
//   assembly/harden.ts   hardenHandOut, hardenFree, hardenRelease, at HARDEN_ALL (the module's HARDEN_LEVEL):
//                        a free-key cache's free reads no slab bitmap (slabNew keys every object: one
//                        free in its slab holds its key, and the Wasm's cold confirm decides)
//   assembly/slab.ts     checkObjectStart (table byte, descriptor's cache, object start: objectStartIndex,
//                        the stride's inverse C_DIV_INV and rotate C_DIV_SHIFT)
//   assembly/inuse.ts    keyOf / keyAddr (the free key: cleared on alloc, tested and written on free)
//   assembly/arena.ts    chunkByteOf, pageOf;  percpu.ts slotOf, currentNode (core's CPU mirror)
//   assembly/stats.ts    statAt (u64 counters)
// Every offset, flag and constant comes from generated/abi.ts (assembly/abi.ts), never a copied number.
//
// Owns: FastCache (one free-key cache's geometry, read once), NEVER, fastAlloc() / fastFree().
// Entry points: newFastCache(), fastAlloc(), fastFree(). Called by: cache.ts (Cache.alloc/free: a careful
// cache, or one this path declines, gets NEVER). Calls: core.ts (its views view32 / view8, the CPU
// mirror slotOff / node, table, chunkBase).
//
// Invariants:
//   - JS takes only the hit. alloc: a non-empty main sheaf. free: a pointer that passes every check of
//     cacheFree's fast path, of this CPU's node, onto a main sheaf with room. Anything else — a miss, a
//     full sheaf, another node (remote free), a failed check, the free key found (the Wasm's cold
//     confirm), a stale view, a ptr that is not a u32 — returns MISS / false having written nothing, and
//     the caller makes the Wasm call it always made, which re-checks and takes the slow path or reports
//     the typed error. So JS has no error logic, and accepts a free only where the Wasm fast path would
//     have (a subset, never more).
//   - Only free-key caches (F_FREEKEY: every cache without a constructor or in-use bits), with objects
//     4-aligned (the key word is one Int32Array element), in a module built with every check
//     (HARDEN_LEVEL = HARDEN_ALL). Others get NEVER: every call goes to the Wasm, as before this file.
//   - A hit writes exactly what the Wasm writes: the sheaf count (and entry on free), the free key
//     (cleared on alloc, written on free), +1 on the u64 counter ALLOC_FASTPATH / FREE_FASTPATH.
//   - Views are Int32Array / Uint8Array: every value read is an int32 or a byte (no u32 above 2^31 made a
//     double), addresses are int32 arithmetic turned into indices by `>>> 2`.
//   - Stale views (a grown memory: detached, length 0; a shared one grown elsewhere: too short). A read
//     past a view is undefined, which fails every equality test (table byte, descriptor's cache), so
//     only what undefined could pass is bounded: the slot's words (both paths), the sheaf entry, and on
//     free the key word (every other word free reads — table, descriptor — lies below it, and
//     every word it writes is one it bounded). Either path then misses, and cache.ts calls
//     core.syncViews() after the Wasm call it makes on any miss (memory.buffer is a call into the
//     engine: asked only then).
//   - No atomics: the current CPU's slot has one owner (this instance), as in the Wasm fast paths.
//     An instance without a CPU (a shared heap's parked slot) has the empty sheaf (count 0, capacity 0)
//     as its main: every call misses into the Wasm, whose slow path answers E_NO_CPU.
//   - Object start: off ↦ rotr(off × inv, shift), the Wasm's objectStartIndex with the cache's own
//     C_DIV_INV / C_DIV_SHIFT (read once): `index < objects` is its test, bit for bit.
//   - Size: fastFree ≤ 460 bytes of bytecode (V8's limit for inlining a function) and alloc + fastAlloc +
//     free + count + 1.2 × (fastFree + count) ≤ 920 (its budget for all a caller inlines): a fast path that
//     is not inlined into the caller's loop costs about one more empty-call pair. `var` for the
//     constants (a module-level const read in a function costs a hole check per use), `declare`d class
//     fields (an ES2022 field is first undefined, and V8 then stops treating it as a small integer).
//
// Measured: see "Measured" at the end of this file.
//
// Call tree: fastAlloc ─ pop ─ count ─ hardenAlloc's write.
//   fastFree ─ u32 ─ chunkByteOf ─ pageOf's cache ─ object start ─ key ─ push ─ count.
import { Abi as L } from "./generated/abi.js";
import type { Core } from "./core.js";

// The constants, taken out of generated/abi.ts's Abi once (Abi has hundreds of keys: V8 keeps it as a
// dictionary, so `Abi.X` on a hot path would be a hash lookup). `var`: see Invariants (size).
var { ALLOC_FASTPATH, CC_MAIN, CC_STATS, CHUNK_SHIFT, CHUNK_SIZE, C_FLAGS, C_OBJECTS, C_OBJ_OFFSET } = L;
var { C_SLAB_MASK, C_STRIDE, DESC_SHIFT, D_CACHE, FREE_FASTPATH, FREE_KEY, F_DEBUG_MASK } = L;
var { C_DIV_INV, C_DIV_SHIFT } = L;
var { F_FREEKEY, F_RECLAIMABLE, PAGE_SHIFT, SH_CAP, SH_COUNT, SH_HDR } = L;

/** fastAlloc's answer when the Wasm must do it (a miss or a stale view): 0 is never an object. */
export const MISS = 0;

/** The free's object-start product is exact in a double below 2^15 × 2^31 (slab bytes ≤ 2^15). */
const SLAB_LIMIT = 2 ** 15;
var CHUNK_MASK = CHUNK_SIZE - 1;
// Word offsets (the Int32Array's index units) of the fields the paths read.
var MAIN_W = CC_MAIN >>> 2;
var ALLOC_W = (CC_STATS >>> 2) + 2 * ALLOC_FASTPATH;
var FREE_W = (CC_STATS >>> 2) + 2 * FREE_FASTPATH;
var TOP_W = (CC_STATS >>> 2) + 2 * Math.max(ALLOC_FASTPATH, FREE_FASTPATH) + 1; // the highest counter word
var COUNT_W = SH_COUNT >>> 2;
var CAP_W = SH_CAP >>> 2;
var HDR_W = SH_HDR >>> 2;
var DCACHE_W = D_CACHE >>> 2;
var DESC_W_SHIFT = DESC_SHIFT - 2;
var KEY = FREE_KEY | 0;

/** One free-key cache's geometry as the fast paths need it (fixed for the cache's life). A class: one
 *  shape. Fields are `declare`d (see Invariants: size). */
export class FastCache {
  /** The kmem_cache's address. */
  declare readonly addr: number;
  /** The free key's offset from the object (inuse.ts keyAddr: 4 in a reclaimable cache, else 0). */
  declare readonly keyOff: number;
  declare readonly slabMask: number;
  declare readonly objOffset: number;
  declare readonly objects: number;
  /** C_DIV_INV (as an int32) and C_DIV_SHIFT: stride = odd << shift, inv = odd⁻¹ mod 2^32. */
  declare readonly inv: number;
  declare readonly shift: number;
  /** The slot's highest word used (TOP_W), or for NEVER a bound no view reaches: 2^30 − 1 words (a Smi;
   *  a view has at most 2^30 words), so both paths miss before they write. */
  declare readonly topW: number;

  /** The cache at `addr` (flags: its C_FLAGS), or, with core null, NEVER (the same shape: V8 sees one
   *  kind of object at every property read of the fast paths). */
  constructor(core: Core | null, addr: number, flags: number) {
    const u32 = (off: number): number => (core === null ? 0 : core.u32(addr + off));
    this.addr = addr;
    this.keyOff = (flags & F_RECLAIMABLE) << 1; // inuse.ts keyAddr
    this.slabMask = u32(C_SLAB_MASK);
    this.objOffset = u32(C_OBJ_OFFSET);
    this.objects = u32(C_OBJECTS);
    this.shift = u32(C_DIV_SHIFT);
    this.inv = u32(C_DIV_INV) | 0;
    this.topW = core === null ? 2 ** 30 - 1 : TOP_W;
  }
}

/** Both paths miss for this one before they write (topW past any view; objects 0): cache.ts uses it for
 *  careful caches and those this path declines, so alloc and free are one call with no test before it. */
export const NEVER = new FastCache(null, 0, 0);

/** The fast paths' view of the cache at `addr`, or undefined when JS must not take it for this cache:
 *  the module has checks off (HARDEN_LEVEL: the Wasm would check and write nothing), a debug cache, a
 *  cache without the free key (in-use bits: a constructor, or asked for), objects not 4-aligned (a
 *  stride like 13 with align 1: the key is an unaligned u32 store in the Wasm, which an Int32Array
 *  cannot make), or slabs above 2^15 bytes (the object-start product would not be exact). */
export function newFastCache(core: Core, addr: number): FastCache | undefined {
  const flags = core.u32(addr + C_FLAGS);
  const aligned = ((core.u32(addr + C_STRIDE) | core.u32(addr + C_OBJ_OFFSET)) & 3) === 0;
  const keyed = (flags & F_FREEKEY) !== 0 && (flags & F_DEBUG_MASK) === 0;
  if (!core.hardenAll || !keyed || !aligned || core.u32(addr + C_SLAB_MASK) >= SLAB_LIMIT) return undefined;
  return new FastCache(core, addr, flags);
}

/** Pop an object off the current CPU's main sheaf (cpu.ts cacheAlloc's hit). MISS: call the Wasm. */
export function fastAlloc(core: Core, c: FastCache): number {
  const v = core.view32;
  const len = v.length;
  const slot = ((c.addr + core.slotOff) | 0) >>> 2;
  const main = v[slot + MAIN_W]! >>> 2; // past the view: 0, and the bound below fails
  const n = v[main + COUNT_W]! | 0;
  const e = main + HDR_W + n - 1;
  if (n === 0 || slot + c.topW >= len || e >= len) return MISS; // empty: allocSlow (Wasm)
  const p = v[e]!;
  if ((p >>> 2) + 1 >= len) return MISS; // the key word, at p or p + 4
  v[main + COUNT_W] = n - 1;
  count(v, slot + ALLOC_W);
  v[(p + c.keyOff) >>> 2] = 0; // hardenAlloc: clear the free key
  return p >>> 0;
}

/** Push `ptr` (a u32) onto the current CPU's main sheaf if cacheFree's fast path would, with all of its
 *  checks. False: nothing was written; call the Wasm (it takes the slow path or reports the error).
 *  `ptr` may be anything (a non-u32 is declined). Only for a free-key cache (cache.ts passes no other:
 *  keyOff ≥ 0) or NEVER. */
export function fastFree(core: Core, c: FastCache, ptr: number): boolean {
  if (typeof ptr !== "number") return false; // (`|` would throw on a BigInt or a Symbol)
  const v = core.view32;
  const p = ptr | 0;
  const inHeap = (p - core.chunkBase) | 0; // below chunk 0 it wraps to a "no chunk" slot, as in the Wasm
  // not a u32 (cache.ts's careful path throws InvalidArgumentError); checkObject: the chunk-table byte is
  // this CPU's node (so a slab chunk; another node: a remote free)
  if (p >>> 0 !== ptr || core.view8[core.table + (inHeap >>> CHUNK_SHIFT)] !== core.node) return false;
  const inChunk = inHeap & CHUNK_MASK;
  const d = ((p - inChunk) >>> 2) + ((inChunk >>> PAGE_SHIFT) << DESC_W_SHIFT); // pageOf, in words
  const inSlab = p & c.slabMask;
  // object start (objectStartIndex): |off| < 2^15 and |inv| ≤ 2^31, so off × inv is exact in a double
  // and `| 0` takes it mod 2^32 (no Math.imul call: a smaller function)
  const k = ((inSlab - c.objOffset) * c.inv) | 0;
  // rotate right by shift (a JS shift count is taken mod 32: << -shift is << 32 - shift, and << 0 for 0)
  const i = ((k >>> c.shift) | (k << -c.shift)) >>> 0; // object index, or ≥ objects: not an object start
  if (v[d + DCACHE_W] !== c.addr || i >= c.objects) return false;
  const at = (p + c.keyOff) >>> 2;
  const key = p ^ KEY; // keyOf
  const len = v.length;
  // the key there: parked, free in its slab, or the user's value (the Wasm's cold confirm decides)
  if (at >= len || v[at] === key) return false;
  const slot = (c.addr + core.slotOff) >>> 2;
  const main = v[slot + MAIN_W]! >>> 2;
  const n = v[main + COUNT_W]!;
  const e = main + HDR_W + n;
  // full (or the empty sheaf): freeSlow (Wasm); a cap past the view is undefined and fails `n < cap`
  if (!(n < v[main + CAP_W]!) || slot + c.topW >= len || e >= len) return false;
  v[at] = key; // hardenRelease: write the key
  v[e] = p;
  v[main + COUNT_W] = n + 1;
  count(v, slot + FREE_W);
  return true;
}

// stats.ts statAt: +1 on the u64 counter whose low word is at index k.
// (An Int32Array store takes its value mod 2^32: the carry wraps as the Wasm's u64 add does.)
function count(v: Int32Array, k: number): void {
  if ((v[k] = (v[k]! + 1) | 0) === 0) v[k + 1] = v[k + 1]! + 1;
}

// Measured (Node 20, the shared 2-core machine; ratios to two empty Wasm calls in the same process,
// medians of 7; CPU time (process.cpuUsage), which the load distorts less than wall time; scratch copies
// of fastFree timed against each other: the report of branch jsfree has the script's cases):
//                                                 before wasmpair's merge    after it (this file)
//   the pair through the Cache API                  3.53× / 4.00×              3.93× / 4.17×
//   JS pop + the Wasm free (the design before)      3.93× / 4.06×              4.00× / 4.07×
//   the raw ABI pair (two Wasm calls)               3.92× / 4.16×              4.25× / 4.53×
//   fastFree called straight from the loop          3.38× / 3.44×              3.33× / 3.33×
//   JS pop + JS push with the u32 test, the key
//     and the counter, no checkObject test          2.28× / 2.23×              2.45× / 2.90×
//   JS pop + a bare push (no test at all)           1.45× / 1.72×
// `node bench/micro.mjs --runs 7` (wall time), after the merge: Cache API 3.60× where the raw ABI took
// 4.47× (before it: 4.02× / 5.33×). The goal (≤ 1.0×) is not reached: a JS pop and a bare push already
// cost 1.45–1.7× two empty calls here, a free with every check costs about what the (now cheaper) Wasm
// free call costs, and the rest is the field loads a caller's loop cannot fold.
// The Cache methods themselves cost nothing measurable (branch jswrap, `node bench/profile-fastpath.mjs 7`):
// "fastFree called straight from the loop" (3.1–3.5×) passed module-level constants (core, a FastCache),
// and TurboFan folds a constant object's never-reassigned fields (addr, inv, shift, objects, ...) into
// immediates; Cache.free reads them from this.#fast, as any caller holding a cache in a variable does.
// With the same three passed as arguments ("real direct (arg)") the straight call takes 4.8× where, in the
// same two runs, the API pair took 4.2× / 4.7× and the API pair with the cache an argument 4.3× / 3.7×. Alloc and free inline
// into the loop with fastAlloc / fastFree (--trace-turbo-inlining), so neither the call nor the miss
// handlers are in the way. Private (#) fields against public ones: the same, except with a constant
// receiver, where a public field is folded only until any instance's field is reassigned (Cache's
// beCareful / destroy do) — not a gain a user keeps.
// Why the first JS free (commit 8ef3f35) was slow: its bytecode (493 bytes) was above V8's inlining
// limit (460: `--trace-turbo-inlining` prints "Cannot consider fastFree for inlining (reason: 5)",
// kExceedsBytecodeLimit), so every free was a JS call that re-checked the maps of core and the cache and
// re-loaded the views; the same checks inlined cost about one empty-call pair less (scratch copies of
// this function, 2.7–2.9× inlined against 3.7–3.8× above the limit). Second, fields V8 no longer held as
// small integers (ES2022 class fields start undefined; Uint32Array values above 2^31 are doubles):
// `declare`d fields took the inlined free from 4.15× to 3.54×. Module-level `const`s cost a hole check
// per read (2 bytes of bytecode each, 30 in this function): `var` gave the room to inline. Now fastFree
// is 363 bytes, and alloc + fastAlloc + free + fastFree + count inline into a caller's loop.
