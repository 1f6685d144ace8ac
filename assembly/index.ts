// index.ts — the Wasm ABI of wasm-slab: exported functions only, no logic.
//
// Conventions: pointers and sizes are u32 byte offsets into the shared linear memory; 0 is "no memory".
// Functions that can fail return a pointer (0 on failure) or an error code (E_*, 0 = success); the last
// failure's code is readable with lastError(). Layout constants are exported as globals so the TS layer
// reads structures with the same offsets the Wasm uses.
//
// Hostile callers (a C program, a confused JS caller): no export traps, hangs or writes memory because
// of a garbage handle or pointer. Every cache handle is checked against the registry of caches before
// anything reads it (userCache / knownCache: a kmem_cache on a boot-cache slab page — or, knownCache
// only, in a header cache slot or an own medium block (cache.ts) — with the live magic and its own
// address, found by arithmetic from the address first, or the own block's checked header); every prefill handle likewise (prefill.ts prefillHandle:
// an allocated sheaf marked as a handle); every output or input pointer range must be memory a caller
// may hand over (callerRange: below the heap base, or inside one allocated block). A refused call returns
// 0 / E_BAD_CACHE / E_INVALID and changes nothing but the error code.
//
// Layers (bottom first; a file imports only files on lower lines: scripts/check-layers.mjs, in npm test):
//   0   structs
//   1   layout sync
//   2   arena list
//   3   page
//   4   percpu report inuse medium
//   5   stats debugslot threads
//   6   slab
//   7   node
//   8   cache
//   9   sheaf harden
//   10  debug
//   11  cpu
//   12  bulk prefill reclaim destroy validate kmalloc bench footprint threads-bench
//   13  abi threads-ops
//   14  index
//   15  merged
// Two ways up, neither an import: a page shortage (page.ts) calls the handler reclaim.ts registers, and a
// request honoured by a CPU's owner (threads.ts) calls the work handler threads-ops.ts registers.
import { C_MAG, E_INVALID, E_OK, H_CACHE_HEAD, H_NCPUS, H_NNODES, H_LAST_ERROR, H_CPU_NODE, H_FLAGS2 } from "./layout";
import { PageDesc, Sheaf } from "./structs";
import {
  C_FLAGS, C_MAGIC, C_OBJ_OFFSET, C_OBJECTS, C_RECIP, C_SIZE, C_STRIDE, CACHE_MAGIC, CT_RUN_TAIL, E_BAD_CACHE,
  F_INTERNAL, F_KMALLOC, H_HEAP_BASE, K_LARGE, K_MEDIUM, K_MEDIUM_TAIL, K_SLAB, K_TAIL, PAGE_SHIFT,
  CACHE_LINE, C_HDR, C_SELF, CHUNK_SIZE, DESC_SHIFT, C_OWN_BLOCK,
} from "./layout";
import { CHUNK_BASE, HEAP, nodeOf as arenaNodeOf, chunkByteOf, chunkIndex, inPre, memoryEnd, nchunks, pageAddr, pageOf } from "./arena";
import { checkObject } from "./slab";
import { mediumOwnAt, mediumRange, mediumUsable } from "./medium";
import { BOOT, cacheCreate, heapInit, inHeaderSlot, onOwnBlock } from "./cache";
import { cacheDestroy, liveAt, liveObjects } from "./destroy";
import { setError, freeFailed } from "./report";
import { fastHeap, fastViewsHold, pinCpu, SINGLE_CPU } from "./percpu";
import { cacheAlloc, cacheAllocNode, cacheFree, drainCpuArrays, parkedObjects, tuneArrays } from "./cpu";
import { setCpu, currentCpu } from "./sync";
import { validate as validateHeap } from "./validate";
import { freePages } from "./page";
import { H_ERR_ADDR, H_ERR_CACHE, H_DEBUG, DB_ERR_OFFSET, DB_ERR_FOUND, DB_ERR_EXPECTED, DB_REPORTS, F_DEBUG_MASK, F_INUSE, C_QUAR_COUNT } from "./layout";
import { debugClock, debugDefaults, debugSetDefaults, debugSetStamp, debugSetTag, debugTrackOf } from "./debug";

export * from "./abi";
export { NR_STATS } from "./stats";

// ---- handle and pointer checks ---------------------------------------------------------------------

// A cache the heap knows: the boot cache, a live kmem_cache in a header cache slot (the heap's own
// caches: cache.ts inHeaderSlot, arithmetic from the header's slot fields) or in an own medium block (a
// small heap's own caches past the slots: medium.ts mediumOwnAt checks the block header, then the
// magic and C_SELF, inside the block), or a live kmem_cache: a
// cache-line-aligned address (every kmem_cache is) on a page of a boot-cache slab (its page descriptor says so: arithmetic from the
// address, one byte and one word loaded) holding the live magic and, in C_SELF, its own address (both
// cleared by destroy). The handle's bytes are read only once its page is known to be the boot cache's,
// and C_SELF only within memory. Cheaper than checkObject(BOOT, ...) — no reciprocal, no bitmap — and as
// strict: a word inside a kmem_cache holding the magic could not also hold its own address there.
// Not @inline: the exports that call it are cold (one copy of it, not seven, in the bundle).
function knownCache(c: usize): bool {
  if (c == BOOT) return true;
  if (inHeaderSlot(c)) return load<u32>(c, C_MAGIC) == CACHE_MAGIC && <usize>load<u32>(c, C_SELF) == c;
  if (inPre(c)) return (c & (CACHE_LINE - 1)) == 0 && ownCache(c);  // the pre-chunk medium region
  if (chunkByteOf(c) >= CT_RUN_TAIL) return false;
  if ((c & (CACHE_LINE - 1)) != 0) return false;
  if (onOwnBlock(c)) return ownCache(c);
  if (<usize>changetype<PageDesc>(pageOf(c)).cache != BOOT || load<u32>(c, C_MAGIC) != CACHE_MAGIC) return false;
  return <u64>c + C_HDR <= memoryEnd() && <usize>load<u32>(c, C_SELF) == c;
}

// knownCache of a cache-line-aligned address on a medium region's page: a live kmem_cache in an own
// block (cache.ts cacheMemory: at the block's first cache-line boundary, the block's address in
// C_OWN_BLOCK): its header [c, c + C_HDR) inside memory, the block it names an own block (header checked)
// that starts less than a cache line before c and holds the whole header, then the magic and C_SELF.
function ownCache(c: usize): bool {
  if (<u64>c + C_HDR > memoryEnd()) return false;
  const b = <usize>load<u32>(c, C_OWN_BLOCK);
  return b <= c && c - b < <usize>CACHE_LINE && mediumOwnAt(b) && mediumUsable(b) >= c - b + <usize>C_HDR &&
    load<u32>(c, C_MAGIC) == CACHE_MAGIC && <usize>load<u32>(c, C_SELF) == c;
}

// A cache a caller may operate on: known, and not one of the heap's own (boot, sheaves, kmalloc-N...).
// The same tests as knownCache, written for the raw fast paths (cache_alloc / cache_free from JS or C pay
// it on every call). One branch, no load but the chunk-table byte, makes every later load safe: c is
// cache-line aligned, its table byte says it is in a grown chunk (the table covers all 4 GiB; below
// chunkBase the index wraps to a slot past the grown chunks), and its header [c, c + C_HDR) ends inside
// that chunk. A grown chunk lies inside memory (arena.ts invariant), so no memory.size() test is needed,
// and a live kmem_cache never crosses a chunk's end (a slab never does), so the offset test refuses none.
// Then the descriptor (the page's cache is BOOT), magic, self and flags tests in one branch. The boot
// cache is internal (F_INTERNAL), so it is refused without a test of its own.
@inline function userCache(c: usize): bool {
  const off = (c - CHUNK_BASE) & (CHUNK_SIZE - 1);               // c's offset in its chunk
  const bad = (c & (CACHE_LINE - 1)) | <usize>(off > CHUNK_SIZE - C_HDR) | <usize>(chunkByteOf(c) >= CT_RUN_TAIL);
  if (bad != 0) return false;
  const desc = c - off + ((off >> PAGE_SHIFT) << DESC_SHIFT);     // pageOf(c), reusing off
  const onBootPage = <u32>(<usize>changetype<PageDesc>(desc).cache == BOOT);
  const live = <u32>(load<u32>(c, C_MAGIC) == CACHE_MAGIC) & <u32>(<usize>load<u32>(c, C_SELF) == c);
  return (onBootPage & live & <u32>((load<u32>(c, C_FLAGS) & F_INTERNAL) == 0)) != 0;
}

// [p, p + bytes) is memory a caller may hand over for the allocator to read or write: below the heap
// base (the embedder's own memory; never address 0), or inside one allocated block: an object of a user
// cache, a malloc block (small or large), or a TS staging buffer.
function callerRange(p: usize, bytes: usize): bool {
  const end = p + bytes;
  if (p == 0 || end < p) return false;
  if (end <= <usize>load<u32>(HEAP, H_HEAP_BASE)) return true;
  if (<u64>end > memoryEnd()) return false;
  if (inPre(p)) return mediumRange(p, bytes);                     // the pre-chunk medium region
  const b = chunkByteOf(p);
  if (b >= CT_RUN_TAIL) return false;
  let d = pageOf(p);
  if (changetype<PageDesc>(d).kind == K_TAIL) d = <usize>changetype<PageDesc>(d).aux;
  const kind = changetype<PageDesc>(d).kind;
  if (kind == K_SLAB) {
    const cache = <usize>changetype<PageDesc>(d).cache;
    // a user cache's object, a malloc block, or a TS staging buffer: never the heap's own structures
    const f = load<u32>(cache, C_FLAGS);
    if ((f & F_INTERNAL) != 0 && (f & F_KMALLOC) == 0 && cache != stageCache) return false;
    const first = pageAddr(d) + load<u32>(cache, C_OBJ_OFFSET);
    if (p < first) return false;
    const i = <u32>((<u64>(p - first) * load<u32>(cache, C_RECIP)) >> 32);
    if (i >= load<u32>(cache, C_OBJECTS)) return false;
    const obj = first + <usize>i * load<u32>(cache, C_STRIDE);
    return end <= obj + load<u32>(cache, C_SIZE) && checkObject(cache, obj, b) == E_OK;
  }
  if (kind == K_LARGE && changetype<PageDesc>(d).aux != 0) {   // the first head of a large block
    return end <= pageAddr(d) + (<usize>changetype<PageDesc>(d).objects << PAGE_SHIFT);
  }
  if (kind == K_MEDIUM || kind == K_MEDIUM_TAIL) return mediumRange(p, bytes); // inside a live medium block
  return false;
}

// The internal cache of the TS layer's bulk staging buffers (stage_alloc), made on first use.
let stageCache: usize = 0;

@inline function badCache(): u32 {
  setError(E_BAD_CACHE);
  return 0;
}

// Set up the heap. maxBytes is a double so JS can pass any byte count (exact to 2^53).
export function slab_init(heapBase: u32, nodes: u32, cpusPerNode: u32, maxBytes: f64): i32 {
  // the one-CPU build (percpu.ts SINGLE_CPU, the merge target) serves one node of one CPU: another shape
  // is refused before anything changes (its heap, if any, keeps working); so is another heap base: its fast
  // paths address the heap from the C program's __heap_base as constants (percpu.ts fastHeap)
  if (SINGLE_CPU && (nodes != 1 || cpusPerNode != 1 || ((<usize>heapBase + 63) & ~63) != fastHeap())) return E_INVALID;
  lastUserCache = NO_CACHE;
  const e = heapInit(heapBase, nodes, cpusPerNode, maxBytes <= 0 ? <u64>0xffffffff : <u64>maxBytes);
  if (SINGLE_CPU) {
    if (e == E_OK && !fastViewsHold()) unreachable();   // (the constant views are heapInit's: an assertion)
  }
  return e;
}

export function heap_addr(): u32 { return <u32>HEAP; }
export function last_error(): i32 { return lastError(); }

export function pin_cpu(cpu: u32): i32 {
  if (cpu >= load<u32>(HEAP, H_NCPUS)) return E_INVALID;
  if (THREADED) return threadsPin(cpu);                  // shared heap: pinning is claiming (threads.ts)
  setCpu(cpu);
  pinCpu(cpu);
  return E_OK;
}
export function current_cpu(): u32 { return currentCpu; }
export function cpu_node(cpu: u32): u32 { return load<u8>(HEAP + H_CPU_NODE + cpu); }

// The node owning ptr, or -1 if ptr is not inside the heap.
export function node_of(ptr: u32): i32 {
  if (inPre(ptr)) return 0;                                     // the pre-chunk region belongs to node 0
  return chunkIndex(ptr) < nchunks() ? <i32>arenaNodeOf(ptr) : -1;
}

export function cache_create(size: u32, align: u32, flags: u32, arrayCap: u32): u32 {
  return <u32>cacheCreate(size, align, flags, arrayCap);
}

export function cache_destroy(cache: u32): i32 {
  if (!userCache(cache)) return E_BAD_CACHE;
  lastUserCache = NO_CACHE;                              // (a refusal below keeps it live: checked again once)
  return cacheDestroy(cache);
}

// The last handle userCache accepted for cache_alloc / cache_free, single-threaded build: a loop on one
// cache pays the handle check once, then one compare a call (the check is ~35 Wasm instructions: the
// raw pair from JS 290 → ~200 x86 instructions, bench/PROFILE.md "The raw pair's handle check").
// Invariant: NO_CACHE (above every u32: no handle equals it — a u32 0 did, and cache_alloc(0) on a heap
// whose Cache API never called cache_alloc passed the memo), or a live user cache — cache_destroy, the
// only export that kills one, resets it first, and slab_init (a new heap) starts it at NO_CACHE. The threaded build checks every call: another instance may
// destroy the cache, and this instance's global would not know.
const NO_CACHE: u64 = 0x100000000;
let lastUserCache: u64 = NO_CACHE;

@inline function userCacheFast(c: usize): bool {
  if (!THREADED && <u64>c == lastUserCache) return true;
  if (!userCache(c)) return false;
  if (!THREADED) lastUserCache = <u64>c;
  return true;
}

export function cache_alloc(cache: u32): u32 {
  if (!userCacheFast(cache)) return badCache();
  return <u32>cacheAlloc(cache);
}

export function cache_alloc_node(cache: u32, node: u32): u32 {
  if (!userCache(cache)) return badCache();
  return <u32>cacheAllocNode(cache, node);
}

export function cache_free(cache: u32, ptr: u32): i32 {
  if (!userCacheFast(cache)) { setError(E_BAD_CACHE); return E_BAD_CACHE; }
  const e = cacheFree(cache, ptr);
  if (e != E_OK) setError(e);
  return e;
}

// Queries accept any cache the heap knows (the TS layer reads its own caches' figures too).
export function cache_valid(cache: u32): bool { return knownCache(cache); }
export function cache_live(cache: u32): u32 { return knownCache(cache) ? liveObjects(cache) : 0; }
export function cache_parked(cache: u32): u32 { return knownCache(cache) ? parkedObjects(cache) : 0; }
export function cache_drain(cache: u32): u32 { return userCache(cache) ? drainCpuArrays(cache) : badCache(); }
export function cache_tune(cache: u32, cap: u32): i32 { return userCache(cache) ? tuneArrays(cache, cap) : E_BAD_CACHE; }
export function cache_head(): u32 { return load<u32>(HEAP, H_CACHE_HEAD); }
export function node_free_pages(node: u32): u32 { return node < load<u32>(HEAP, H_NNODES) ? freePages(node) : 0; }
export function heap_set_flags2(v: u32): void { store<u32>(HEAP, v, H_FLAGS2); }

export function heap_validate(): u32 { return validateHeap(); }

// End of the module's own static data: the lowest address a heap may use when the embedder has no data.
export function data_end(): u32 { return <u32>__heap_base; }

// ---- prefill and bulk (assembly/prefill.ts, assembly/bulk.ts) ----
import { cachePrefill, cacheReturnPrefilled, magCount, magRefill, magReturn, prefillHandle, prefilledAlloc } from "./prefill";
import { bulkBadIndex, cacheAllocBulk, cacheFreeBulk } from "./bulk";
import { cacheCreateInternal } from "./cache";
import { allocSingle } from "./cpu";

// Shared heaps: bulk calls and prefill handles use the CPU's arrays, so an instance without a CPU is
// refused (E_NO_CPU) before anything changes.
export function cache_prefill(cache: u32, n: u32): u32 {
  if (THREADED) { if (noCpu()) { setError(E_NO_CPU); return 0; } }
  return userCache(cache) ? <u32>cachePrefill(cache, n) : badCache();
}
export function prefilled_alloc(handle: u32): u32 { return prefillHandle(handle) ? <u32>prefilledAlloc(handle) : badCache(); }
export function prefilled_count(handle: u32): u32 { return prefillHandle(handle) ? changetype<Sheaf>(handle).count : 0; }
// E_OK; E_BAD_CACHE for a handle or cache that is not one; E_INVALID when the handle's objects are
// another cache's. Nothing changes unless E_OK.
export function cache_return_prefilled(cache: u32, handle: u32): i32 {
  if (!userCache(cache) || !prefillHandle(handle)) return E_BAD_CACHE;
  if (THREADED) { if (noCpu()) { setError(E_NO_CPU); return E_NO_CPU; } }
  return cacheReturnPrefilled(cache, handle);
}
// The JS magazine of a Cache (prefill.ts magRefill / magReturn): JS's pops and pushes since its last call
// are counted first; then op MAG_REFILL tops handle h up (0: a new handle) and returns it (0 and the
// error: nothing taken, h unchanged), MAG_RETURN takes h back (returns 0), MAG_COUNT only counts.
// Single-threaded build only (a shared heap's Cache makes its Wasm calls): E_INVALID in the threaded one.
// h must be the cache's magazine (C_MAG; 0 while it has none), else E_BAD_CACHE and nothing changes.
export function cache_mag(cache: u32, h: u32, allocs: u32, frees: u32, op: u32): u32 {
  if (THREADED || op > MAG_COUNT) { setError(E_INVALID); return 0; }
  if (!userCache(cache) || h != load<u32>(cache, C_MAG)) return badCache(); // h: the cache's magazine, or 0 if none
  magCount(cache, allocs, frees);
  if (op == MAG_REFILL) return <u32>magRefill(cache, h);
  if (op == MAG_RETURN && h != 0) magReturn(cache, h);
  return 0;
}
const MAG_REFILL: u32 = 0;
const MAG_RETURN: u32 = 1;
const MAG_COUNT: u32 = 2;
// n objects into dst (caller memory of 4 × n bytes), all or nothing.
export function cache_alloc_bulk(cache: u32, dst: u32, n: u32): u32 {
  if (!userCache(cache)) return badCache();
  if (THREADED) { if (noCpu()) { setError(E_NO_CPU); return 0; } }
  if (n == 0) return 0;
  if (n > (MAX_BULK_BYTES >> 2) || !callerRange(dst, <usize>n << 2)) { setError(E_INVALID); return 0; }
  return cacheAllocBulk(cache, dst, n);
}
// Free the n objects listed at src (caller memory of 4 × n bytes, which the call may reorder).
export function cache_free_bulk(cache: u32, src: u32, n: u32): i32 {
  let e = E_OK;
  if (!userCache(cache)) e = E_BAD_CACHE;
  else if (THREADED && noCpu()) e = E_NO_CPU;
  else if (n != 0 && (n > (MAX_BULK_BYTES >> 2) || !callerRange(src, <usize>n << 2))) e = E_INVALID;
  else e = cacheFreeBulk(cache, src, n);
  if (e != E_OK) setError(e);
  return e;
}
// Most bytes one bulk call's list may span (a 32-bit address space's worth of pointers).
const MAX_BULK_BYTES: u32 = 0x40000000;
export function bulk_bad_index(): u32 { return bulkBadIndex; }

// A staging buffer of STAGE_BYTES for the TS layer's bulk calls (an object of an internal cache, made
// on the first call; each call gives another buffer, so that nested bulk calls never share one).
export const STAGE_BYTES: u32 = 16384;
export function stage_alloc(): u32 {
  if (THREADED) { if (noCpu()) { setError(E_NO_CPU); return 0; } }   // (its allocation uses the CPU's slot)
  if (stageCache == 0) stageCache = cacheCreateInternal(STAGE_BYTES);
  if (stageCache == 0) return 0;
  return <u32>allocSingle(stageCache, 0xffffffff);
}

// ---- benchmark loops (bench/micro.mjs) ----
export { benchEmpty as bench_empty, benchPairs as bench_pairs, benchBursts as bench_bursts } from "./bench";
export { benchToyInit as bench_toy_init, benchToyPairs as bench_toy_pairs } from "./bench";

// ---- debugging and hardening (debug.ts, inuse.ts) -----------------------------------------------------
// Error detail of the last report (H_LAST_ERROR is last_error()): the object or pointer, its cache, the
// offset of the bad byte from the object's start (negative: left red zone), the byte found and expected.
export function last_error_addr(): u32 { return load<u32>(HEAP, H_ERR_ADDR); }
export function last_error_cache(): u32 { return load<u32>(HEAP, H_ERR_CACHE); }
export function last_error_offset(): i32 { return load<i32>(HEAP + H_DEBUG, DB_ERR_OFFSET); }
export function last_error_found(): u32 { return load<u8>(HEAP + H_DEBUG, DB_ERR_FOUND); }
export function last_error_expected(): u32 { return load<u8>(HEAP + H_DEBUG, DB_ERR_EXPECTED); }
// Debug flags (F_RED_ZONE | F_POISON | F_STORE_USER | F_CHECKS | F_INUSE) added to every user cache
// created from now on.
export function debug_set_defaults(flags: u32): i32 {
  if ((flags & ~(F_DEBUG_MASK | F_INUSE)) != 0) return E_INVALID;
  debugSetDefaults(flags);
  return E_OK;
}
export function debug_defaults(): u32 { return debugDefaults(); }
// The caller tag stored in the tracks of the following operations, and the host timestamp.
export function debug_set_tag(tag: u32): void { debugSetTag(tag); }
export function debug_set_stamp(stamp: u32): void { debugSetStamp(stamp); }
export function debug_clock(): u32 { return debugClock(); }
export function debug_reports(): u32 { return load<u32>(HEAP + H_DEBUG, DB_REPORTS); }
// Address of an object's alloc (which 0) or free (which 1) track, 0 when its cache keeps none.
export function debug_track(cache: u32, ptr: u32, which: u32): u32 {
  return knownCache(cache) && which < 2 ? <u32>debugTrackOf(cache, ptr, which) : 0;
}
export function cache_quarantined(cache: u32): u32 { return knownCache(cache) ? load<u32>(cache, C_QUAR_COUNT) : 0; }
// The k-th live object of a cache (0 when there are fewer): what a refused destroy names.
export function cache_live_at(cache: u32, k: u32): u32 { return knownCache(cache) ? <u32>liveAt(cache, k) : 0; }

// ---- reclaim (assembly/reclaim.ts): reap, shrink, targeted reclaim, memory.discard bookkeeping ----
import {
  cacheReclaim, cacheShrink, destroyedTotal, discardNext, discardUnmark, discardedChunks, heapShrink,
  objectCheck, reapPass, reclaimableFree,
} from "./reclaim";

// One reap pass for `cpu` (0xffffffff: the next CPU round robin). Pages freed; E_INVALID is never
// returned: a CPU out of range reaps nothing.
export function reap_pass(cpu: u32): u32 { return reapPass(cpu); }
// Flush arrays and barns, free every empty slab, sort partial slabs. Pages freed, or -E_BAD_CACHE.
export function cache_shrink(cache: u32): i32 { return userCache(cache) ? cacheShrink(cache) : -E_BAD_CACHE; }
export function heap_shrink(): u32 { return heapShrink(); }
// Targeted reclaim of at least `pages` pages (0xffffffff: all it can). Pages freed, or -E_* (a negative
// E_BAD_CACHE, or E_INVALID when the cache is not reclaimable).
export function cache_reclaim(cache: u32, pages: u32): i32 { return userCache(cache) ? cacheReclaim(cache, pages) : -E_BAD_CACHE; }
// Objects destroyed by targeted reclaim since the heap was set up (wraps at 2^32).
export function reclaim_destroyed(): u32 { return destroyedTotal; }
// Free with the refcount protocol: the object's first u32 is set to 0 before it is freed.
export function reclaim_free(cache: u32, ptr: u32): i32 {
  const e = userCache(cache) ? reclaimableFree(cache, ptr) : E_BAD_CACHE;
  if (e != E_OK) setError(e);
  return e;
}
// E_OK when ptr is an allocated object of cache (objects parked in per-CPU arrays count as allocated).
export function object_check(cache: u32, ptr: u32): i32 { return knownCache(cache) ? objectCheck(cache, ptr) : E_BAD_CACHE; }
// The next free chunk (index ≥ from) not yet discarded, now marked discarded; -1 when none.
export function discard_next(from: u32): i32 { return discardNext(from); }
export function discard_unmark(i: u32): void { discardUnmark(i); }
export function discarded_chunks(): u32 { return discardedChunks(); }
// ---- malloc for Wasm programs (assembly/kmalloc.ts) ----
// The C allocation functions under their C names, for a C module to import (heap.imports()) or to be
// merged with. A bad pointer changes nothing: its code goes to last_error() and to the host through
// env.hook(HOOK_REPORT, code, ptr, 0) (the C functions have no way to return it). The km_* exports
// are the same operations for the TS layer: they return codes instead of reporting.
import { kcalloc, kfree, kmalloc, kmallocAligned, kmallocSetClasses, krealloc, kreallocSlow, kusable } from "./kmalloc";
import { ERRNO_EINVAL, ERRNO_ENOMEM } from "./layout";

function reportBad(e: i32, ptr: usize): void {
  freeFailed(0, ptr, e); // last_error, its detail, and env.hook(HOOK_REPORT, e, ptr, 0)
}

export function malloc(size: usize): usize { return kmalloc(size); }
export function free(ptr: usize): void {
  kfree(ptr); // a bad pointer was reported where it was found
}
export function calloc(n: usize, size: usize): usize { return kcalloc(n, size); }
// (krealloc's front is inlined here: a block kept in place returns with no call; every other case is a
// call in tail position that reports a bad pointer itself: kreallocSlow / kreallocPre with report)
export function realloc(ptr: usize, size: usize): usize {
  return krealloc(ptr, size);
}
export function aligned_alloc(align: usize, size: usize): usize { return kmallocAligned(align, size); }
// posix_memalign: 0, or EINVAL / ENOMEM (wasi-libc's numbers); *memptr is written only on success.
export function posix_memalign(memptr: usize, align: usize, size: usize): i32 {
  if (align < 4 || (align & (align - 1)) != 0 || !callerRange(memptr, 4)) return ERRNO_EINVAL;
  const p = kmallocAligned(align, size);
  if (p == 0) return lastError() == E_INVALID ? ERRNO_EINVAL : ERRNO_ENOMEM;
  store<u32>(memptr, <u32>p);
  return 0;
}
export function malloc_usable_size(ptr: usize): usize {
  const n = kusable(ptr);
  if (n == 0 && ptr != 0) reportBad(lastError(), ptr);
  return n;
}

export function km_free(ptr: u32): i32 {
  return kfree(ptr); // reported where found; the TS layer throws the matching error
}
// (the TS layer's realloc: kreallocSlow, without the front's second inlined copy — the bundle's budget; a
// call from JS pays its crossing anyway)
export function km_realloc(ptr: u32, size: u32): u32 { return <u32>kreallocSlow(ptr, size, false); }
export function km_usable(ptr: u32): u32 { setError(E_OK); return <u32>kusable(ptr); }
export function km_set_classes(set: u32): i32 { return kmallocSetClasses(set); }
// n malloc+free pairs of `size` bytes through kmalloc's and kfree's inlined fast paths, inside Wasm (bench/
// profile-pair.mjs --count: the pair a C program pays, less its call into the module). Returns a checksum.
// Compiled in only with `asc --use BENCH_KMALLOC=1` (profile-pair builds it so): elsewhere it returns
// 0 at once, so the shipped builds do not carry a third inlined copy of both fast paths (~350 B gzipped).
export function bench_kmalloc_pairs(size: u32, n: u32): u32 {
  // @ts-ignore: BENCH_KMALLOC is defined by `asc --use BENCH_KMALLOC=1`
  if (!isDefined(BENCH_KMALLOC)) return 0;
  let sum: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const p = kmalloc(size);
    sum += <u32>p;
    kfree(p);
  }
  return sum;
}

// ---- threads (assembly/threads.ts, threads-ops.ts): shared heaps, one instance per Worker ----
// In the single-threaded build these answer "not a shared heap" (E_INVALID / 0) and compile to nothing.
import { THREADED, locksHeld, lockTimedOutWord, setWaitPolicy } from "./sync";
import { cpuClaim, cpuOwner, instanceToken, noCpu, requestsDone, threadBlock, threadsRequest } from "./threads";
import { cpuRecover, cpuRelease, threadsAttach, threadsPoll } from "./threads-ops";
import { benchLockedBursts } from "./threads-bench";
import { lastError } from "./report";
import { E_NO_CPU, REQ_DRAIN, REQ_REAP } from "./layout";

function threadsPin(cpu: u32): i32 {
  if (cpuOwner(cpu) == instanceToken()) return E_OK;
  const e = cpuRelease();
  if (e != E_OK && e != E_NO_CPU) return e;
  return cpuClaim(cpu);
}

export function threaded(): bool { return THREADED; }
// Attach a fresh instance to the shared heap whose header is at `heap` (heap_addr() of its creator).
export function thread_attach(heap: u32): i32 { if (THREADED) return threadsAttach(heap); return E_INVALID; }
export function thread_token(): u32 { if (THREADED) return instanceToken(); return 0; }
export function thread_block(): u32 { if (THREADED) return <u32>threadBlock(); return 0; }
// Claim a CPU (0xffffffff: any free one): E_OK, E_BUSY, E_INVALID.
export function cpu_claim(cpu: u32): i32 { if (THREADED) return cpuClaim(cpu); return E_INVALID; }
export function cpu_release(): i32 { if (THREADED) return cpuRelease(); return E_INVALID; }
export function cpu_recover(cpu: u32, dead: u32): i32 { if (THREADED) return cpuRecover(cpu, dead); return E_INVALID; }
export function cpu_owner(cpu: u32): u32 { if (THREADED) return cpuOwner(cpu); return 0; }
// Ask cpu's owner for REQ_DRAIN / REQ_REAP: the sequence to wait for (cpu_requests_done ≥ it), or 0.
export function cpu_request(cpu: u32, bits: u32): u32 {
  if (THREADED) return (bits & ~(REQ_DRAIN | REQ_REAP)) == 0 ? threadsRequest(cpu, bits) : 0;
  return 0;
}
export function cpu_requests_done(cpu: u32): u32 { if (THREADED) return requestsDone(cpu); return 0; }
// Honour requests for this instance's CPU now. E_OK, or E_NO_CPU.
export function thread_poll(): i32 { if (THREADED) return threadsPoll(); return E_INVALID; }
// May this thread block in atomic.wait (false on a browser's main thread), and how many 1 ms waits (or
// spin rounds) a lock waiter makes before it gives up and traps.
export function thread_set_wait(canWait: bool, timeout: u32): void { setWaitPolicy(canWait, timeout); }
// The lock word a waiter gave up on (0: none): after a trap, the TS layer names it.
export function thread_lock_timed_out(): u32 { return <u32>lockTimedOutWord; }
// Lock ranks this instance holds now (debug builds; sync.ts).
export function locks_held(): u32 { return locksHeld(); }
// bench/threads.mjs: benchBursts under one lock, run as an unowned CPU (the single-lock baseline).
export function bench_locked_bursts(cache: u32, n: u32, k: u32, scratch: u32, word: u32, cpu: u32): u32 {
  if (THREADED) return benchLockedBursts(cache, n, k, scratch, word, cpu);
  return 0;
}

// Where every byte above the heap base goes (assembly/footprint.ts): walk, then read FP_SLOTS results.
import { footprintResult, footprintWalk } from "./footprint";
export function heap_footprint(): void { footprintWalk(); }
export function footprint_result(slot: u32): f64 { return footprintResult(slot); }
