// cpu.ts — the per-CPU front end: main and spare arrays (sheaves), the node's barn, alien arrays.
//
// Owns: every per-CPU slot's CC_MAIN / CC_SPARE / CC_ALIEN / CC_GUARD / CC_TOUCHED fields (the sheaves
// and the barn are sheaf.ts's). Entry points: cacheAlloc(), cacheAllocNode(), cacheFree(), allocSingle() /
// cacheFreeLocal() (kfree's form) / cacheFreeOff() (any node, cold), cacheFreeSlab() (arrays bypassed), drainCpuArrays(), parkedObjects(), isParked(), tuneArrays().
// Called by: index.ts, kmalloc.ts, bench.ts, reclaim.ts, destroy.ts. Calls sheaf.ts (sheaves, the barn),
// node.ts (the batch seam), harden.ts (the fast paths' checks), slab.ts (freeConfirm's bitmap test),
// debug.ts (debug caches' single objects).
//
// Call tree (the map before the code):
//   cacheAlloc ─ pop main ──────────────────────────────────────────────── (fast: a load, a test, a pop)
//       └ allocSlow ─ swap in spare ─ barnReplaceEmptySheaf ─ refill a batch from slabs (refillBatch;
//                      │                                       a kmalloc class: twice the batch, a whole array)
//                      └ arrays off / re-entered: allocSingle (one object straight from the slabs)
//   cacheFree ─ chunk byte is the CPU's node? ─ page names the cache? ─ hardenFree (an object start?) ─
//       │        in a user's hands? (hardenKeyFound / hardenReleaseBits) ─ push main ──────────────── (fast)
//       │        └ key found: freeConfirm ─ free in its slab? (bitmap) ─ parkedAnywhere (arrays, guard
//       │                     sheaves, barns, handles) ─ (cold)
//       ├ another byte: cacheFreeOff ─ not a slab chunk, page of another cache: refused; the same checks ─
//       │                              freeRemote (cold; also kmalloc.ts kfreeRemote's)
//       ├ freeSlow ─ swap with empty spare ─ barnReplaceFullSheaf ─ flush a batch (sheafFlush; a kmalloc
//       │                                                            class: the whole array)
//       └ freeRemote ─ alien array of the object's node ─ full: one batch, one lock (alien_flush)
//
// Threads (sync.ts THREADED): the fast paths are unchanged (a CPU has one owner: no atomics). Every slow
// path starts with slowEntry: no CPU → E_NO_CPU; a pending request for this CPU (threads.ts) is honoured
// there. drainCpuArrays drains only the current CPU and asks the other owners.
//
// Re-entrancy: a slow path detaches the CPU's main array (the slot points at the empty sheaf) and sets
// CC_GUARD while it works, so a constructor that re-enters on this CPU sees no array, misses into its
// own slow path, finds the guard, and takes one object straight from the slabs.
//
// Invariants: an object in a sheaf is allocated in its slab (bit 0) and belongs to this cache;
//   main/spare hold objects of the CPU's node (or of another node after a counted NUMA fallback refill);
//   alien[n] holds objects of node n only;
//   0 ≤ count ≤ capacity for every sheaf; a barn's full list holds full sheaves, its empty list empty ones.
import {
  ALIEN_CAP, C_ARRAY_CAP, C_BATCH, C_FLAGS, C_MAG, CC_MAIN, CC_SPARE, CT_RUN_TAIL, E_DOUBLE_FREE, E_INVALID, E_NOMEM,
  E_OK, F_DEBUG_MASK, F_INTERNAL, F_KMALLOC, F_NO_ALIEN, H_FLAGS2, H_NCPUS, H_NNODES, MAX_ARRAY_CAP,
  MAX_NODES,
} from "./layout";
import { CacheNode, CpuSlot, PageDesc, Sheaf } from "./structs";
import { HEAP, chunkByteOf, nodeOf, pageOf } from "./arena";
import { allocOne, cnAddr, freeOne, refillBatch } from "./node";
import { freeInSlab } from "./slab";
import {
  barnReplaceEmptySheaf, barnReplaceFullSheaf, drainBarn, sheafDelete, sheafEntry, sheafFlush, sheafNew,
} from "./sheaf";
import {
  ALIEN_FLUSH, ALIEN_FREE, ALLOC_FASTPATH, ALLOC_NODE_MISMATCH, ALLOC_SLOWPATH, FREE_FASTPATH,
  FREE_SLOWPATH, SHEAF_REFILL, stat, statAt,
} from "./stats";
import { cpuSlot, currentNode, emptySheaf, fastChunkByteOf, fastNode, fastPageOf, slotOf } from "./percpu";
import { freeFailed, setError } from "./report";
import { debugAlloc, debugFree } from "./debug";
import { HARDEN_OBJECT, HARDENING, hardenAlloc, hardenFree, hardenFreeError, hardenHandOut, hardenKeyFound, hardenKeyed, hardenReleaseBits, hardenReleased } from "./harden";
import { handleHolds } from "./sheaf";
import { THREADED, currentCpu } from "./sync";
import { E_NO_CPU, REQ_DRAIN } from "./layout";
import { noCpu, threadsHonour, threadsPending, threadsRequest } from "./threads";

// Heap-wide switch (H_FLAGS2 bit 0): alien arrays off, so every remote free takes the remote lock.
export const FLAG2_NO_ALIEN: u32 = 1;

// ---- fast paths ---------------------------------------------------------------------------------------

// Allocate one object of `cache` on the current CPU. 0 on failure (error code set).
// Inlined into each caller so that the call is the caller's own; the slow paths stay out of line.
@inline export function cacheAlloc(cache: usize): usize {
  const slot = cpuSlot(cache);
  const main = <usize>changetype<CpuSlot>(slot).main;
  const n = changetype<Sheaf>(main).count;
  if (n == 0) return hardenAlloc(cache, allocSlow(cache, slot));
  changetype<Sheaf>(main).count = n - 1;
  statAt(slot, ALLOC_FASTPATH);
  return hardenHandOut(cache, <usize>load<u32>(sheafEntry(main, n - 1)));
}

// Free `ptr` to `cache`. Returns E_OK, or an error code and changes nothing.
// Hardening (harden.ts, named hooks): under HARDEN_OBJECT, ptr's chunk byte and page descriptor must name
// this cache (tested here, each refusal on its own branch: E_NOT_OURS, E_WRONG_CACHE), hardenFree that
// ptr is an object start, and whether it was in a user's hands — a parked one (in an array, a barn, an
// alien array or a prefill handle) is refused by its free key (hardenKeyFound), confirmed by a cold walk
// (freeConfirm), or by its in-use bit (hardenReleaseBits). Refusals go through freeFailed (cold).
// The chunk byte is compared with the CPU's node first: a byte that is not this node's (not a slab chunk
// at all: ≥ CT_RUN_TAIL, or another node's) goes to cacheFreeOff (cold), which makes the old tests in
// order; the fast path then no longer keeps the byte for a node test after its calls (bench/PROFILE.md,
// "pairfloor").
@inline export function cacheFree(cache: usize, ptr: usize): i32 {
  const b = fastChunkByteOf(ptr);                              // node, or "not a slab chunk" (percpu.ts: constant views when merged)
  if (<u32>b != fastNode()) return cacheFreeOff(cache, ptr, b);
  if ((HARDENING & HARDEN_OBJECT) != 0) {
    if (<usize>changetype<PageDesc>(fastPageOf(ptr)).cache != cache) return freeBadPointer(cache, ptr, b);
  }
  return freeChecked(cache, load<u32>(cache, C_FLAGS), ptr, b, true);
}

// Cold: cacheFree of a pointer whose chunk byte b is not the CPU's node: refused (E_NOT_OURS,
// E_WRONG_CACHE) or another node's object (freeRemote). Also kmalloc.ts kfreeRemote's (the page named a
// kmalloc-N cache of another node). One out-of-line copy of the checks for both.
export function cacheFreeOff(cache: usize, ptr: usize, b: u8): i32 {
  if ((HARDENING & HARDEN_OBJECT) != 0) {
    if (b >= CT_RUN_TAIL) return freeBadPointer(cache, ptr, b);
    if (<usize>changetype<PageDesc>(pageOf(ptr)).cache != cache) return freeBadPointer(cache, ptr, b);
  }
  return freeChecked(cache, load<u32>(cache, C_FLAGS), ptr, b, false);
}

// cacheFree once ptr's page is known to name `cache`, ptr's chunk byte is the CPU's node (or the build
// trusts its caller), with the cache's C_FLAGS already read: kmalloc.ts kfree found the cache that way.
// (Every test branches straight to its cold refusal: no code or bool is carried from one test to the
// next; bench/PROFILE.md, "fastpair".)
@inline export function cacheFreeLocal(cache: usize, flags: u32, ptr: usize): i32 {
  return freeChecked(cache, flags, ptr, <u8>fastNode(), true);
}

// The body of the fast and cold frees: `local` (a constant at every call) says b is the CPU's node.
@inline function freeChecked(cache: usize, flags: u32, ptr: usize, b: u8, local: bool): i32 {
  if (!hardenFree(cache, ptr)) return freeBadPointer(cache, ptr, b);
  if (hardenKeyed(flags)) {
    if (hardenKeyFound(flags, ptr)) {                          // (nested ifs: && cost a phi)
      if (!freeConfirm(cache, ptr)) return freeFailed(cache, ptr, E_DOUBLE_FREE);
    }
  } else if (!hardenReleaseBits(cache, flags, ptr)) return freeFailed(cache, ptr, E_DOUBLE_FREE);
  const slot = cpuSlot(cache);
  if (!local) {
    if (<u32>b != fastNode()) return freeRemote(cache, slot, ptr);
  }
  const main = <usize>changetype<CpuSlot>(slot).main;
  const n = changetype<Sheaf>(main).count;
  if (n >= changetype<Sheaf>(main).cap) return freeSlow(cache, slot, ptr);
  store<u32>(sheafEntry(main, n), <u32>ptr);
  changetype<Sheaf>(main).count = n + 1;
  statAt(slot, FREE_FASTPATH);
  return E_OK;
}

// Cold: a free refused by the page test or hardenFree, reported with its code (harden.ts hardenFreeError).
// Out of line, with its report: one call on each refusing branch of every inlined cacheFree.
function freeBadPointer(cache: usize, ptr: usize, b: u8): i32 {
  return freeFailed(cache, ptr, hardenFreeError(cache, ptr, b));
}

// Cold: a free-key cache's hardenKeyFound found ptr's key (a cache without a key: false).
// The key was there: a double free if ptr is free in its slab (every free object of a
// free-key cache holds its key: slab.ts slabNew; the fast path does not read the bitmap) or parked
// anywhere, else the user's own value — the free goes on (true, key written).
export function freeConfirm(cache: usize, ptr: usize): bool {
  if (!hardenKeyed(load<u32>(cache, C_FLAGS)) || freeInSlab(cache, ptr) || parkedAnywhere(cache, ptr)) return false;
  hardenReleased(cache, ptr);
  return true;
}

// ---- objects straight from the slabs (arrays off, internal caches, re-entered slow paths) -------------

// One object from the slabs of `node` (0xffffffff: the current CPU's node), falling back to other nodes.
export function allocSingle(cache: usize, node: u32): usize {
  if ((load<u32>(cache, C_FLAGS) & F_DEBUG_MASK) != 0) return debugAlloc(cache, node); // checked, tracked
  return allocOne(cache, node);
}

// Free one allocated object straight to its slab. E_OK, or a debug cache's error (already reported).
function freeSingle(cache: usize, ptr: usize): i32 {
  if ((load<u32>(cache, C_FLAGS) & F_DEBUG_MASK) != 0) return debugFree(cache, ptr); // checked, tracked
  freeOne(cache, ptr);
  return E_OK;
}

// For the heap's own bookkeeping and tests: free one object straight to its slab (no arrays).
export function cacheFreeSlab(cache: usize, ptr: usize): void {
  freeSingle(cache, ptr);
}

// ---- slow paths ---------------------------------------------------------------------------------------

// Threaded build, at every slow path's entry: an instance without a CPU stops here (E_NO_CPU), and the
// owner honours requests posted for its CPU (threads.ts) while no array of this cache is detached.
@inline function slowEntry(slot: usize): bool {
  if (THREADED) {
    if (noCpu()) { setError(E_NO_CPU); return false; }
    if (threadsPending() && changetype<CpuSlot>(slot).guard == 0) threadsHonour();
  }
  return true;
}

function allocSlow(cache: usize, slot: usize): usize {
  if (!slowEntry(slot)) return 0;
  statAt(slot, ALLOC_SLOWPATH);
  const cap = load<u32>(cache, C_ARRAY_CAP);
  if (cap == 0 || changetype<CpuSlot>(slot).guard != 0) return allocSingle(cache, 0xffffffff);
  changetype<CpuSlot>(slot).guard = 1;
  changetype<CpuSlot>(slot).touched = 1;
  let main = <usize>changetype<CpuSlot>(slot).main;
  changetype<CpuSlot>(slot).main = <u32>emptySheaf();      // detached while we work (re-entrancy)
  const spare = <usize>changetype<CpuSlot>(slot).spare;
  if (changetype<Sheaf>(spare).count != 0) {
    changetype<CpuSlot>(slot).spare = <u32>main;           // swap: the empty main becomes the spare
    main = spare;
  } else {
    main = barnReplaceEmptySheaf(cache, cnAddr(cache, currentNode), main);
    if (changetype<Sheaf>(main).count == 0) {
      if (main == emptySheaf()) main = sheafNew(cache, cap, currentNode);
      if (main == 0) { changetype<CpuSlot>(slot).main = <u32>emptySheaf(); return leaveSlow(slot, allocSingle(cache, 0xffffffff)); }
      const room = changetype<Sheaf>(main).cap;
      // a kmalloc class refills twice its batch (a whole array once warmed up, SLUB's sheaf refill):
      // its slabs hold 1–4 objects of 1–8 KiB, and half an array meant a miss every 2–4 mallocs
      const kmalloc = (load<u32>(cache, C_FLAGS) & F_KMALLOC) != 0;
      let want = load<u32>(cache, C_BATCH) << (kmalloc ? 1 : 0);
      if (want > room) want = room;
      const got = refillBatch(cache, currentNode, sheafEntry(main, 0), want);
      changetype<Sheaf>(main).count = got;
      if (kmalloc) warmBatch(cache);                          // kmalloc.ts: batches start at 1
      stat(cache, SHEAF_REFILL);
      if (got == 0) {
        changetype<CpuSlot>(slot).main = <u32>main;
        setError(E_NOMEM);
        return leaveSlow(slot, 0);
      }
    }
  }
  const n = changetype<Sheaf>(main).count - 1;
  changetype<Sheaf>(main).count = n;
  changetype<CpuSlot>(slot).main = <u32>main;
  return leaveSlow(slot, <usize>load<u32>(sheafEntry(main, n)));
}

// A kmalloc class starts with batches of one object (a class used a few times takes a few objects, not
// half an array's worth of slab memory); each refill doubles the batch up to the usual half array.
function warmBatch(cache: usize): void {
  const full = (load<u32>(cache, C_ARRAY_CAP) + 1) >> 1;
  const b = load<u32>(cache, C_BATCH);
  if (b < full) store<u32>(cache, b << 1 < full ? b << 1 : full, C_BATCH);
}

@inline function leaveSlow(slot: usize, ret: usize): usize {
  changetype<CpuSlot>(slot).guard = 0;
  return ret;
}

// A free refused for want of a CPU puts back the in-use bit cacheFree cleared (hardenReleaseBits): it changes
// nothing.
function freeRefused(cache: usize, ptr: usize): i32 {
  hardenAlloc(cache, ptr);
  return E_NO_CPU;
}

function freeSlow(cache: usize, slot: usize, ptr: usize): i32 {
  if (!slowEntry(slot)) return freeRefused(cache, ptr);
  statAt(slot, FREE_SLOWPATH);
  const cap = load<u32>(cache, C_ARRAY_CAP);
  if (cap == 0 || changetype<CpuSlot>(slot).guard != 0) return freeSingle(cache, ptr);
  changetype<CpuSlot>(slot).touched = 1;
  let main = <usize>changetype<CpuSlot>(slot).main;
  // guarded, the detached main in the guard word: a callback run by sheafNew (memory pressure) that
  // frees one of its objects again is found by parkedAnywhere
  changetype<CpuSlot>(slot).guard = <u32>main;
  changetype<CpuSlot>(slot).main = <u32>emptySheaf();
  const spare = <usize>changetype<CpuSlot>(slot).spare;
  if (main == emptySheaf()) {
    main = sheafNew(cache, cap, currentNode);
  } else if (spare != emptySheaf() && changetype<Sheaf>(spare).count == 0) {
    changetype<CpuSlot>(slot).spare = <u32>main;           // swap: the full main becomes the spare
    main = spare;
  } else if (spare == emptySheaf()) {
    const fresh = sheafNew(cache, cap, currentNode);
    if (fresh != 0) { changetype<CpuSlot>(slot).spare = <u32>main; main = fresh; }
    else sheafFlush(cache, main, load<u32>(cache, C_BATCH));
  } else {
    const empty = barnReplaceFullSheaf(cache, cnAddr(cache, currentNode), main);
    if (empty != 0) main = empty;
    // the barn is full: a kmalloc class flushes the whole array (the spare still holds objects for the
    // mallocs that follow), other caches their batch
    else sheafFlush(cache, main, (load<u32>(cache, C_FLAGS) & F_KMALLOC) != 0 ? changetype<Sheaf>(main).count : load<u32>(cache, C_BATCH));
  }
  if (main == 0 || main == emptySheaf()) {
    freeSingle(cache, ptr);
    if (main == 0) main = emptySheaf();
  } else {
    const n = changetype<Sheaf>(main).count;
    store<u32>(sheafEntry(main, n), <u32>ptr);
    changetype<Sheaf>(main).count = n + 1;
  }
  changetype<CpuSlot>(slot).main = <u32>main;
  changetype<CpuSlot>(slot).guard = 0;
  return E_OK;
}

// A free of an object that lives on another node: into this CPU's alien array for that node.
function freeRemote(cache: usize, slot: usize, ptr: usize): i32 {
  if (!slowEntry(slot)) return freeRefused(cache, ptr);
  statAt(slot, FREE_SLOWPATH);
  if (load<u32>(cache, C_ARRAY_CAP) == 0 || (load<u32>(cache, C_FLAGS) & F_NO_ALIEN) != 0 ||
      (load<u32>(HEAP, H_FLAGS2) & FLAG2_NO_ALIEN) != 0 || changetype<CpuSlot>(slot).guard != 0) {
    return freeSingle(cache, ptr);                           // takes the remote node's lock
  }
  const node = nodeOf(ptr);
  const at = changetype<CpuSlot>(slot).alienAt(node);
  let a = <usize>load<u32>(at);
  if (a == 0) {
    a = sheafNew(cache, ALIEN_CAP, node);
    if (a == 0) { freeSingle(cache, ptr); return E_OK; }
    store<u32>(at, <u32>a);
  }
  const n = changetype<Sheaf>(a).count;
  store<u32>(sheafEntry(a, n), <u32>ptr);
  changetype<Sheaf>(a).count = n + 1;
  statAt(slot, ALIEN_FREE);
  if (n + 1 >= changetype<Sheaf>(a).cap) {
    sheafFlush(cache, a, n + 1);                             // one batch, one lock acquisition
    stat(cache, ALIEN_FLUSH);
  }
  return E_OK;
}

// allocNode: the arrays serve only the CPU's own node; any other node bypasses them (counted).
export function cacheAllocNode(cache: usize, node: u32): usize {
  if (node >= load<u32>(HEAP, H_NNODES)) { setError(E_INVALID); return 0; }
  if (THREADED) {
    if (noCpu()) { setError(E_NO_CPU); return 0; }
  }
  if (node == currentNode) return cacheAlloc(cache);
  stat(cache, ALLOC_NODE_MISMATCH);
  return hardenAlloc(cache, allocSingle(cache, node));
}

// ---- whole-cache operations ---------------------------------------------------------------------------

// Objects sitting in the cache's arrays (all CPUs) and barns that equal p, or all of them when p is 0:
// allocated in their slabs, but not in any user's hands. The one walk over every parked object.
function countParked(cache: usize, p: usize): u32 {
  let total: u32 = 0;
  const ncpus = load<u32>(HEAP, H_NCPUS);
  const nn = load<u32>(HEAP, H_NNODES);
  for (let cpu: u32 = 0; cpu < ncpus; cpu++) {
    const slot = slotOf(cache, cpu);
    total += inSheaf(<usize>changetype<CpuSlot>(slot).main, p);
    total += inSheaf(<usize>changetype<CpuSlot>(slot).spare, p);
    for (let n: u32 = 0; n < MAX_NODES; n++) {
      const a = <usize>load<u32>(changetype<CpuSlot>(slot).alienAt(n));
      if (a != 0) total += inSheaf(a, p);
    }
  }
  for (let n: u32 = 0; n < nn; n++) {
    let s = <usize>changetype<CacheNode>(cnAddr(cache, n)).barnFull;
    while (s != 0) { total += inSheaf(s, p); s = <usize>changetype<Sheaf>(s).next; }
  }
  const mag = <usize>load<u32>(cache, C_MAG);            // the JS magazine (prefill.ts): JS keeps its count
  if (mag != 0) total += inSheaf(mag, p);
  return total;
}

// Entries of sheaf s equal to p (p = 0: all entries).
function inSheaf(s: usize, p: usize): u32 {
  const n = changetype<Sheaf>(s).count;
  if (p == 0) return n;
  let k: u32 = 0;
  for (let i: u32 = 0; i < n; i++) if (<usize>load<u32>(sheafEntry(s, i)) == p) k++;
  return k;
}

// Objects sitting in arrays (all CPUs) and barns: allocated in their slabs, but not by any user.
export function parkedObjects(cache: usize): u32 {
  return countParked(cache, 0);
}

// Is p (allocated in its slab) sitting in one of the cache's arrays or barns?
export function isParked(cache: usize, p: usize): bool {
  return countParked(cache, p) != 0;
}

// How many times p is parked in the cache's arrays and barns, and (withHandles: some are out) its prefill
// handles. validate: exactly once.
export function parkedTimes(cache: usize, p: usize, withHandles: bool): u32 {
  return countParked(cache, p) + (withHandles ? handleHolds(cache, p) : 0);
}

// Is p parked anywhere: an array or a barn, the sheaf a CPU's slow path holds detached (its guard word),
// or a prefill handle out in a caller's hands (sheaf.ts handleHolds)? The confirm walk of a free that
// found p's key (harden.ts). Cold, reads only.
export function parkedAnywhere(cache: usize, p: usize): bool {
  if (countParked(cache, p) != 0) return true;
  const ncpus = load<u32>(HEAP, H_NCPUS);
  for (let cpu: u32 = 0; cpu < ncpus; cpu++) {
    const g = <usize>changetype<CpuSlot>(slotOf(cache, cpu)).guard;
    if (g > 1 && inSheaf(g, p) != 0) return true;
  }
  return handleHolds(cache, p) != 0;
}

// Flush and free every array of `cache` on every CPU, and empty the barns. Returns objects flushed.
// The main and spare arrays of a CPU whose guard is set are left alone: that CPU is inside a slow path
// (this call re-entered from it, e.g. pressure reclaim during a refill) which holds them detached or
// mid-swap. Its alien arrays are drained (slow paths never use them while guarded).
// Threaded build: only the current CPU's arrays are drained here; every other CPU that has an owner gets
// a drain request (threads.ts), honoured by its owner at its next slow path or API call. A CPU without
// an owner has empty arrays (releasing and recovering a CPU drain it).
export function drainCpuArrays(cache: usize): u32 {
  let flushed: u32 = 0;
  const ncpus = load<u32>(HEAP, H_NCPUS);
  const nn = load<u32>(HEAP, H_NNODES);
  for (let cpu: u32 = 0; cpu < ncpus; cpu++) {
    if (THREADED) {
      if (cpu != currentCpu) { threadsRequest(cpu, REQ_DRAIN); continue; }
    }
    flushed += drainSlot(cache, cpu);
  }
  for (let n: u32 = 0; n < nn; n++) flushed += drainBarn(cache, n);
  return flushed;
}

// Flush and free the arrays of one CPU's slot (main and spare unless guarded, and the alien arrays).
export function drainSlot(cache: usize, cpu: u32): u32 {
  let flushed: u32 = 0;
  const slot = slotOf(cache, cpu);
  if (changetype<CpuSlot>(slot).guard == 0) {              // guarded: a slow path below us owns them
    flushed += dropSheaf(cache, slot + CC_MAIN);
    flushed += dropSheaf(cache, slot + CC_SPARE);
  }
  for (let n: u32 = 0; n < MAX_NODES; n++) {
    const at = changetype<CpuSlot>(slot).alienAt(n);
    if (load<u32>(at) != 0) {
      const k = changetype<Sheaf>(<usize>load<u32>(at)).count;
      if (k != 0) stat(cache, ALIEN_FLUSH);
      flushed += dropSheaf(cache, at);
      store<u32>(at, 0);
    }
  }
  return flushed;
}

// Threaded build: objects of `cache` in the arrays of CPUs other than the current one (read without their
// owners' cooperation: a snapshot, exact when they are quiescent). destroy.ts refuses while any.
export function othersHold(cache: usize): u32 {
  let n: u32 = 0;
  const ncpus = load<u32>(HEAP, H_NCPUS);
  for (let cpu: u32 = 0; cpu < ncpus; cpu++) {
    if (cpu == currentCpu) continue;
    const slot = slotOf(cache, cpu);
    n += changetype<Sheaf>(<usize>changetype<CpuSlot>(slot).main).count + changetype<Sheaf>(<usize>changetype<CpuSlot>(slot).spare).count;
    for (let k: u32 = 0; k < MAX_NODES; k++) {
      const a = <usize>load<u32>(changetype<CpuSlot>(slot).alienAt(k));
      if (a != 0) n += changetype<Sheaf>(a).count;
    }
  }
  return n;
}

// Flush and free the sheaf whose address is stored at `at`; leave the empty sheaf there.
function dropSheaf(cache: usize, at: usize): u32 {
  const s = <usize>load<u32>(at);
  store<u32>(at, <u32>emptySheaf());
  if (s == emptySheaf() || s == 0) return 0;
  const k = changetype<Sheaf>(s).count;
  sheafFlush(cache, s, k);
  sheafDelete(cache, s);
  return k;
}

// Change the array capacity at run time: drain everything, then new arrays get the new capacity.
export function tuneArrays(cache: usize, cap: u32): i32 {
  if (cap > MAX_ARRAY_CAP || (load<u32>(cache, C_FLAGS) & F_INTERNAL) != 0) return E_INVALID;
  if (cap != 0 && (load<u32>(cache, C_FLAGS) & F_DEBUG_MASK) != 0) return E_INVALID; // debug: no arrays
  drainCpuArrays(cache);
  store<u32>(cache, cap, C_ARRAY_CAP);
  store<u32>(cache, cap == 0 ? 1 : (cap + 1) >> 1, C_BATCH);
  return E_OK;
}
