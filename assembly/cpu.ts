// cpu.ts — the per-CPU front end: main and spare arrays (sheaves), the node's barn, alien arrays.
//
// Owns: every per-CPU slot's CC_MAIN / CC_SPARE / CC_ALIEN / CC_GUARD fields, the sheaves, and the
// barn fields of the cache-node structs. Entry points: cacheAlloc(), cacheAllocNode(), cacheFree(),
// cacheAllocSlab()/cacheFreeSlab() (arrays bypassed), drainCpuArrays(), parkedObjects(), tuneArrays().
// Called by: index.ts, cache.ts, kmalloc, reclaim. Calls node.ts (the batch seam) and slab.ts.
//
// Call tree (the map before the code):
//   cacheAlloc ─ pop main ──────────────────────────────────────────────── (fast: a load, a test, a pop)
//       └ allocSlow ─ swap in spare ─ barn full array ─ refill a batch from slabs (refillFromNode)
//                      └ arrays off / re-entered: allocSingle (one object straight from the slabs)
//   cacheFree ─ checkObject (is it ours?) ─── same node: push main ─────── (fast)
//       ├ freeSlow ─ swap with empty spare ─ full array to the barn ─ flush a batch (freeToSlabs)
//       └ freeRemote ─ alien array of the object's node ─ full: one batch, one lock (alien_flush)
//
// Threads (sync.ts THREADED): the fast paths are unchanged (a CPU has one owner: no atomics). Every slow
// path starts with slowEntry: no CPU → E_NO_CPU; a pending request for this CPU (threads.ts) is honoured
// there. drainCpuArrays drains only the current CPU and asks the other owners; sheaf caches are created
// under the heap lock.
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
  ALIEN_CAP, BARN_MAX_EMPTY, BARN_MAX_FULL, C_ARRAY_CAP, C_BATCH, C_FLAGS, CC_ALIEN, CC_GUARD, CC_MAIN,
  CC_SCRATCH, CC_SPARE, CC_TOUCHED, CN_BARN_EMPTY, CN_BARN_FULL, CN_BARN_NR_EMPTY, CN_BARN_NR_FULL, CN_LOCK,
  E_INVALID, E_NOMEM, E_OK, F_INTERNAL, F_NO_ALIEN, H_CPU_NODE, H_EMPTY_SHEAF, H_NCPUS, H_NNODES,
  H_SHEAF_CACHES, MAX_ARRAY_CAP, MAX_NODES, SH_CAP, SH_COUNT, SH_HDR, SH_NEXT, SH_NODE, SHEAF_CLASSES,
  SHEAF_MIN_SHIFT, CC_SIZE, C_SIZE, H_FLAGS2, F_DEBUG_MASK, E_DOUBLE_FREE, F_KMALLOC,
} from "./layout";
import { HEAP, chunkByteOf, nodeOf } from "./arena";
import { cnAddr, freeToSlabs, lockNode, refillFromNode } from "./node";
import { checkObject } from "./slab";
import {
  ALIEN_FLUSH, ALIEN_FREE, ALLOC_FASTPATH, ALLOC_NODE_MISMATCH, ALLOC_SLOWPATH, BARN_GET, BARN_GET_FAIL,
  BARN_PUT, BARN_PUT_FAIL, CPU_OFF, FREE_FASTPATH, FREE_SLOWPATH, NUMA_FALLBACK, SHEAF_ALLOC, SHEAF_FLUSH,
  SHEAF_FREE, SHEAF_REFILL, cpuSlot, stat, statAt,
} from "./stats";
import { THREADED, currentCpu, heapLock, heapUnlock, publish, readShared, unlock } from "./sync";
import { REQ_DRAIN, E_NO_CPU } from "./layout";
import { noCpu, threadsHonour, threadsPending, threadsRequest } from "./threads";
import { setError, cacheCreateInternal } from "./cache";
import { debugAlloc, debugFree, freeFailed } from "./debug";
import { inuseMark, inuseRelease } from "./inuse";

// Node of the current CPU (per instance, set by pin).
export let currentNode: u32 = 0;
export function pinCpu(cpu: u32): void {
  currentNode = <u32>load<u8>(HEAP + H_CPU_NODE + cpu);
}

// Heap-wide switch (H_FLAGS2 bit 0): alien arrays off, so every remote free takes the remote lock.
export const FLAG2_NO_ALIEN: u32 = 1;

@inline function emptySheaf(): usize {
  return HEAP + H_EMPTY_SHEAF;
}
export function emptySheafAddr(): usize {
  return HEAP + H_EMPTY_SHEAF;
}

// ---- fast paths ---------------------------------------------------------------------------------------

// Allocate one object of `cache` on the current CPU. 0 on failure (error code set).
// Inlined into each caller so that the call is the caller's own; the slow paths stay out of line.
@inline export function cacheAlloc(cache: usize): usize {
  const slot = cpuSlot(cache);
  const main = <usize>load<u32>(slot, CC_MAIN);
  const n = load<u32>(main, SH_COUNT);
  if (n == 0) return inuseMark(cache, allocSlow(cache, slot));
  store<u32>(main, n - 1, SH_COUNT);
  statAt(slot, ALLOC_FASTPATH);
  return inuseMark(cache, <usize>load<u32>(main + SH_HDR + (<usize>(n - 1) << 2)));
}

// Free `ptr` to `cache`. Returns E_OK, or an error code and changes nothing.
// Hardening (inuse.ts, debug.ts): an F_INUSE cache refuses a pointer whose in-use bit is clear; every
// cache refuses the object on top of the CPU's main array (the last one freed here: SLUB's cheap
// "object == freelist head" check). Refusals go through freeFailed (cold), which reports them.
@inline export function cacheFree(cache: usize, ptr: usize): i32 {
  const b = chunkByteOf(ptr);                                   // node, or "not a slab chunk"
  const e = checkObject(cache, ptr, b);
  if (e != E_OK) return freeFailed(cache, ptr, e);
  if (!inuseRelease(cache, ptr)) return freeFailed(cache, ptr, E_DOUBLE_FREE);
  const slot = cpuSlot(cache);
  if (<u32>b != currentNode) return freeRemote(cache, slot, ptr);
  const main = <usize>load<u32>(slot, CC_MAIN);
  const n = load<u32>(main, SH_COUNT);
  // entries[n-1]; with n = 0 that is the SH_NODE word (a node number, never an object address)
  if (<usize>load<u32>(main + SH_HDR + (<usize>(n - 1) << 2)) == ptr) return freeFailed(cache, ptr, E_DOUBLE_FREE);
  if (n >= load<u32>(main, SH_CAP)) return freeSlow(cache, slot, ptr);
  store<u32>(main + SH_HDR + (<usize>n << 2), <u32>ptr);
  store<u32>(main, n + 1, SH_COUNT);
  statAt(slot, FREE_FASTPATH);
  return E_OK;
}

// ---- sheaves ------------------------------------------------------------------------------------------

function sheafClass(cap: u32): u32 {
  const bytes = SH_HDR + (cap << 2);
  let k: u32 = 0;
  while ((<u32>1 << (SHEAF_MIN_SHIFT + k)) < bytes) k++;
  return k;
}

function sheafCache(cap: u32): usize {
  const k = sheafClass(cap);
  const at = HEAP + H_SHEAF_CACHES + (k << 2);
  let c = <usize>readShared(at);
  if (c == 0) {
    heapLock();                                            // one sheaf cache per class, whoever asks first
    c = <usize>load<u32>(at);
    if (c == 0) {
      c = cacheCreateInternal(<u32>1 << (SHEAF_MIN_SHIFT + k));
      publish(at, <u32>c);
    }
    heapUnlock();
  }
  return c;
}

// A new empty sheaf of capacity `cap`, or 0.
export function sheafNew(cache: usize, cap: u32, node: u32): usize {
  const sc = sheafCache(cap);
  if (sc == 0) return 0;
  const s = allocSingle(sc, 0xffffffff);
  if (s == 0) return 0;
  store<u32>(s, 0, SH_COUNT);
  store<u32>(s, cap, SH_CAP);
  store<u32>(s, 0, SH_NEXT);
  store<u32>(s, node, SH_NODE);
  stat(cache, SHEAF_ALLOC);
  return s;
}

export function sheafDelete(cache: usize, s: usize): void {
  if (s == emptySheaf()) return;
  freeSingle(sheafCache(load<u32>(s, SH_CAP)), s);
  stat(cache, SHEAF_FREE);
}

// Flush the `k` oldest objects of sheaf s to their slabs in one batch; the rest slide down.
export function sheafFlush(cache: usize, s: usize, k: u32): void {
  const n = load<u32>(s, SH_COUNT);
  if (k > n) k = n;
  if (k == 0) return;
  freeToSlabs(cache, s + SH_HDR, k);
  memory.copy(s + SH_HDR, s + SH_HDR + (<usize>k << 2), <usize>(n - k) << 2);
  store<u32>(s, n - k, SH_COUNT);
  stat(cache, SHEAF_FLUSH);
}

// ---- objects straight from the slabs (arrays off, internal caches, re-entered slow paths) -------------

// One object from the slabs of `node` (0xffffffff: the current CPU's node), falling back to other nodes.
export function allocSingle(cache: usize, node: u32): usize {
  if ((load<u32>(cache, C_FLAGS) & F_DEBUG_MASK) != 0) return debugAlloc(cache, node); // checked, tracked
  const slot = cpuSlot(cache);
  const scratch = slot + CC_SCRATCH;
  if (refillBatch(cache, node == 0xffffffff ? currentNode : node, scratch, 1) == 0) {
    setError(E_NOMEM);
    return 0;
  }
  return <usize>load<u32>(scratch);
}

// Free one allocated object straight to its slab. E_OK, or a debug cache's error (already reported).
function freeSingle(cache: usize, ptr: usize): i32 {
  if ((load<u32>(cache, C_FLAGS) & F_DEBUG_MASK) != 0) return debugFree(cache, ptr); // checked, tracked
  const scratch = cpuSlot(cache) + CC_SCRATCH;
  store<u32>(scratch, <u32>ptr);
  freeToSlabs(cache, scratch, 1);
  return E_OK;
}

// Refill through the seam, from `node` first, then the other nodes in order (counted).
export function refillBatch(cache: usize, node: u32, dst: usize, want: u32): u32 {
  let got = refillFromNode(cache, node, dst, want);
  if (got != 0) return got;
  const nn = load<u32>(HEAP, H_NNODES);
  for (let k: u32 = 1; k < nn; k++) {
    got = refillFromNode(cache, (node + k) % nn, dst, want);
    if (got != 0) { stat(cache, NUMA_FALLBACK); return got; }
  }
  return 0;
}

// For the heap's own bookkeeping (kmem_caches, sheaves): no arrays. Callers check the pointer.
export function cacheAllocSlab(cache: usize, node: u32): usize {
  return allocSingle(cache, node);
}
export function cacheFreeSlab(cache: usize, ptr: usize): void {
  freeSingle(cache, ptr);
}

// ---- slow paths ---------------------------------------------------------------------------------------

// Threaded build, at every slow path's entry: an instance without a CPU stops here (E_NO_CPU), and the
// owner honours requests posted for its CPU (threads.ts) while no array of this cache is detached.
@inline function slowEntry(slot: usize): bool {
  if (THREADED) {
    if (noCpu()) { setError(E_NO_CPU); return false; }
    if (threadsPending() && load<u32>(slot, CC_GUARD) == 0) threadsHonour();
  }
  return true;
}

function allocSlow(cache: usize, slot: usize): usize {
  if (!slowEntry(slot)) return 0;
  statAt(slot, ALLOC_SLOWPATH);
  const cap = load<u32>(cache, C_ARRAY_CAP);
  if (cap == 0 || load<u32>(slot, CC_GUARD) != 0) return allocSingle(cache, 0xffffffff);
  store<u32>(slot, 1, CC_GUARD);
  store<u32>(slot, 1, CC_TOUCHED);
  let main = <usize>load<u32>(slot, CC_MAIN);
  store<u32>(slot, <u32>emptySheaf(), CC_MAIN);            // detached while we work (re-entrancy)
  const spare = <usize>load<u32>(slot, CC_SPARE);
  if (load<u32>(spare, SH_COUNT) != 0) {
    store<u32>(slot, <u32>main, CC_SPARE);                 // swap: the empty main becomes the spare
    main = spare;
  } else {
    main = takeFullFromBarn(cache, main);
    if (load<u32>(main, SH_COUNT) == 0) {
      if (main == emptySheaf()) main = sheafNew(cache, cap, currentNode);
      if (main == 0) { store<u32>(slot, <u32>emptySheaf(), CC_MAIN); return leaveSlow(slot, allocSingle(cache, 0xffffffff)); }
      const room = load<u32>(main, SH_CAP);
      let want = load<u32>(cache, C_BATCH);
      if (want > room) want = room;
      const got = refillBatch(cache, currentNode, main + SH_HDR, want);
      store<u32>(main, got, SH_COUNT);
      if (load<u32>(cache, C_FLAGS) & F_KMALLOC) warmBatch(cache); // kmalloc.ts: batches start at 1
      stat(cache, SHEAF_REFILL);
      if (got == 0) {
        store<u32>(slot, <u32>main, CC_MAIN);
        setError(E_NOMEM);
        return leaveSlow(slot, 0);
      }
    }
  }
  const n = load<u32>(main, SH_COUNT) - 1;
  store<u32>(main, n, SH_COUNT);
  store<u32>(slot, <u32>main, CC_MAIN);
  return leaveSlow(slot, <usize>load<u32>(main + SH_HDR + (<usize>n << 2)));
}

// Full arrays a node's barn keeps for `cache`: BARN_MAX_FULL, and for a kmalloc class at most what
// holds BARN_KMALLOC_BYTES of objects (at least one array): ten full arrays of 8 KiB objects would park
// 640 KiB in one of about 35 classes.
const BARN_KMALLOC_BYTES: u32 = 32768;
export function barnMaxFull(cache: usize): u32 {
  if ((load<u32>(cache, C_FLAGS) & F_KMALLOC) == 0) return BARN_MAX_FULL;
  const arrays = BARN_KMALLOC_BYTES / (load<u32>(cache, C_ARRAY_CAP) * load<u32>(cache, C_SIZE) + 1);
  return arrays < 1 ? 1 : arrays > BARN_MAX_FULL ? BARN_MAX_FULL : arrays;
}

// A kmalloc class starts with batches of one object (a class used a few times takes a few objects, not
// half an array's worth of slab memory); each refill doubles the batch up to the usual half array.
function warmBatch(cache: usize): void {
  const full = (load<u32>(cache, C_ARRAY_CAP) + 1) >> 1;
  const b = load<u32>(cache, C_BATCH);
  if (b < full) store<u32>(cache, b << 1 < full ? b << 1 : full, C_BATCH);
}

@inline function leaveSlow(slot: usize, ret: usize): usize {
  store<u32>(slot, 0, CC_GUARD);
  return ret;
}

// Trade the empty sheaf `empty` for a full one from the CPU node's barn; returns `empty` if none.
function takeFullFromBarn(cache: usize, empty: usize): usize {
  const cn = cnAddr(cache, currentNode);
  lockNode(cache, cn);
  const full = <usize>load<u32>(cn, CN_BARN_FULL);
  if (full == 0) {
    unlock(cn + CN_LOCK);
    stat(cache, BARN_GET_FAIL);
    return empty;
  }
  store<u32>(cn, load<u32>(full, SH_NEXT), CN_BARN_FULL);
  store<u32>(cn, load<u32>(cn, CN_BARN_NR_FULL) - 1, CN_BARN_NR_FULL);
  let drop: usize = 0;
  if (empty != emptySheaf()) {
    if (load<u32>(cn, CN_BARN_NR_EMPTY) < BARN_MAX_EMPTY) {
      store<u32>(empty, load<u32>(cn, CN_BARN_EMPTY), SH_NEXT);
      store<u32>(cn, <u32>empty, CN_BARN_EMPTY);
      store<u32>(cn, load<u32>(cn, CN_BARN_NR_EMPTY) + 1, CN_BARN_NR_EMPTY);
    } else drop = empty;
  }
  unlock(cn + CN_LOCK);
  if (drop != 0) sheafDelete(cache, drop);
  stat(cache, BARN_GET);
  return full;
}

// Hand the full sheaf to the barn and get an empty one back (from the barn, or new). Returns the empty
// sheaf, or 0 when the barn is full (the caller flushes instead).
function putFullToBarn(cache: usize, full: usize): usize {
  const cn = cnAddr(cache, currentNode);
  lockNode(cache, cn);
  if (load<u32>(cn, CN_BARN_NR_FULL) >= barnMaxFull(cache)) {
    unlock(cn + CN_LOCK);
    stat(cache, BARN_PUT_FAIL);
    return 0;
  }
  let empty = <usize>load<u32>(cn, CN_BARN_EMPTY);
  if (empty != 0) {
    store<u32>(cn, load<u32>(empty, SH_NEXT), CN_BARN_EMPTY);
    store<u32>(cn, load<u32>(cn, CN_BARN_NR_EMPTY) - 1, CN_BARN_NR_EMPTY);
  }
  store<u32>(full, load<u32>(cn, CN_BARN_FULL), SH_NEXT);
  store<u32>(cn, <u32>full, CN_BARN_FULL);
  store<u32>(cn, load<u32>(cn, CN_BARN_NR_FULL) + 1, CN_BARN_NR_FULL);
  unlock(cn + CN_LOCK);
  stat(cache, BARN_PUT);
  if (empty == 0) empty = sheafNew(cache, load<u32>(full, SH_CAP), currentNode);
  if (empty == 0) return emptySheaf(); // no memory for a new sheaf: the next free will flush
  return empty;
}

// A free refused for want of a CPU puts back the in-use bit cacheFree cleared: it changes nothing.
function freeRefused(cache: usize, ptr: usize): i32 {
  inuseMark(cache, ptr);
  return E_NO_CPU;
}

function freeSlow(cache: usize, slot: usize, ptr: usize): i32 {
  if (!slowEntry(slot)) return freeRefused(cache, ptr);
  statAt(slot, FREE_SLOWPATH);
  const cap = load<u32>(cache, C_ARRAY_CAP);
  if (cap == 0 || load<u32>(slot, CC_GUARD) != 0) return freeSingle(cache, ptr);
  store<u32>(slot, 1, CC_GUARD);
  store<u32>(slot, 1, CC_TOUCHED);
  let main = <usize>load<u32>(slot, CC_MAIN);
  store<u32>(slot, <u32>emptySheaf(), CC_MAIN);
  const spare = <usize>load<u32>(slot, CC_SPARE);
  if (main == emptySheaf()) {
    main = sheafNew(cache, cap, currentNode);
  } else if (spare != emptySheaf() && load<u32>(spare, SH_COUNT) == 0) {
    store<u32>(slot, <u32>main, CC_SPARE);                 // swap: the full main becomes the spare
    main = spare;
  } else if (spare == emptySheaf()) {
    const fresh = sheafNew(cache, cap, currentNode);
    if (fresh != 0) { store<u32>(slot, <u32>main, CC_SPARE); main = fresh; }
    else sheafFlush(cache, main, load<u32>(cache, C_BATCH));
  } else {
    const empty = putFullToBarn(cache, main);
    if (empty != 0) main = empty;
    else sheafFlush(cache, main, load<u32>(cache, C_BATCH));
  }
  if (main == 0 || main == emptySheaf()) {
    freeSingle(cache, ptr);
    if (main == 0) main = emptySheaf();
  } else {
    const n = load<u32>(main, SH_COUNT);
    store<u32>(main + SH_HDR + (<usize>n << 2), <u32>ptr);
    store<u32>(main, n + 1, SH_COUNT);
  }
  store<u32>(slot, <u32>main, CC_MAIN);
  store<u32>(slot, 0, CC_GUARD);
  return E_OK;
}

// A free of an object that lives on another node: into this CPU's alien array for that node.
function freeRemote(cache: usize, slot: usize, ptr: usize): i32 {
  if (!slowEntry(slot)) return freeRefused(cache, ptr);
  statAt(slot, FREE_SLOWPATH);
  if (load<u32>(cache, C_ARRAY_CAP) == 0 || (load<u32>(cache, C_FLAGS) & F_NO_ALIEN) != 0 ||
      (load<u32>(HEAP, H_FLAGS2) & FLAG2_NO_ALIEN) != 0 || load<u32>(slot, CC_GUARD) != 0) {
    return freeSingle(cache, ptr);                           // takes the remote node's lock
  }
  const node = nodeOf(ptr);
  const at = slot + CC_ALIEN + (<usize>node << 2);
  let a = <usize>load<u32>(at);
  if (a == 0) {
    a = sheafNew(cache, ALIEN_CAP, node);
    if (a == 0) { freeSingle(cache, ptr); return E_OK; }
    store<u32>(at, <u32>a);
  }
  const n = load<u32>(a, SH_COUNT);
  store<u32>(a + SH_HDR + (<usize>n << 2), <u32>ptr);
  store<u32>(a, n + 1, SH_COUNT);
  statAt(slot, ALIEN_FREE);
  if (n + 1 >= load<u32>(a, SH_CAP)) {
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
  return inuseMark(cache, allocSingle(cache, node));
}

// ---- whole-cache operations ---------------------------------------------------------------------------

@inline function slotOf(cache: usize, cpu: u32): usize {
  return cache + CPU_OFF + <usize>cpu * CC_SIZE;
}

// Objects sitting in arrays (all CPUs) and barns: allocated in their slabs, but not by any user.
export function parkedObjects(cache: usize): u32 {
  let total: u32 = 0;
  const ncpus = load<u32>(HEAP, H_NCPUS);
  const nn = load<u32>(HEAP, H_NNODES);
  for (let cpu: u32 = 0; cpu < ncpus; cpu++) {
    const slot = slotOf(cache, cpu);
    total += load<u32>(<usize>load<u32>(slot, CC_MAIN), SH_COUNT);
    total += load<u32>(<usize>load<u32>(slot, CC_SPARE), SH_COUNT);
    for (let n: u32 = 0; n < MAX_NODES; n++) {
      const a = <usize>load<u32>(slot + CC_ALIEN + (n << 2));
      if (a != 0) total += load<u32>(a, SH_COUNT);
    }
  }
  for (let n: u32 = 0; n < nn; n++) {
    let s = <usize>load<u32>(cnAddr(cache, n), CN_BARN_FULL);
    while (s != 0) { total += load<u32>(s, SH_COUNT); s = <usize>load<u32>(s, SH_NEXT); }
  }
  return total;
}

// Flush and free every array of `cache` on every CPU, and empty the barns. Returns objects flushed.
// The main and spare arrays of a CPU whose guard is set are left alone: that CPU is inside a slow path
// (this call re-entered from it, e.g. pressure reclaim during a refill) which holds them detached or
// mid-swap. Its alien arrays are drained (slow paths never use them while guarded).
//
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

// Threaded build: objects of `cache` in the arrays of CPUs other than the current one (read without their
// owners' cooperation: a snapshot, exact when they are quiescent). A cache is not destroyed while any.
export function othersHold(cache: usize): u32 {
  let n: u32 = 0;
  const ncpus = load<u32>(HEAP, H_NCPUS);
  for (let cpu: u32 = 0; cpu < ncpus; cpu++) {
    if (cpu == currentCpu) continue;
    const slot = slotOf(cache, cpu);
    n += load<u32>(<usize>load<u32>(slot, CC_MAIN), SH_COUNT) + load<u32>(<usize>load<u32>(slot, CC_SPARE), SH_COUNT);
    for (let k: u32 = 0; k < MAX_NODES; k++) {
      const a = <usize>load<u32>(slot + CC_ALIEN + (k << 2));
      if (a != 0) n += load<u32>(a, SH_COUNT);
    }
  }
  return n;
}

// Flush and free the arrays of one CPU's slot (main and spare unless guarded, and the alien arrays).
export function drainSlot(cache: usize, cpu: u32): u32 {
  let flushed: u32 = 0;
  const slot = slotOf(cache, cpu);
  if (load<u32>(slot, CC_GUARD) == 0) {                    // guarded: a slow path below us owns them
    flushed += dropSheaf(cache, slot + CC_MAIN);
    flushed += dropSheaf(cache, slot + CC_SPARE);
  }
  for (let n: u32 = 0; n < MAX_NODES; n++) {
    const at = slot + CC_ALIEN + (n << 2);
    if (load<u32>(at) != 0) {
      const k = load<u32>(<usize>load<u32>(at), SH_COUNT);
      if (k != 0) stat(cache, ALIEN_FLUSH);
      flushed += dropSheaf(cache, at);
      store<u32>(at, 0);
    }
  }
  return flushed;
}

// Flush and free the sheaf whose address is stored at `at`; leave the empty sheaf there.
function dropSheaf(cache: usize, at: usize): u32 {
  const s = <usize>load<u32>(at);
  store<u32>(at, <u32>emptySheaf());
  if (s == emptySheaf() || s == 0) return 0;
  const k = load<u32>(s, SH_COUNT);
  sheafFlush(cache, s, k);
  sheafDelete(cache, s);
  return k;
}

export function drainBarn(cache: usize, node: u32): u32 {
  const cn = cnAddr(cache, node);
  let flushed: u32 = 0;
  lockNode(cache, cn);
  let full = <usize>load<u32>(cn, CN_BARN_FULL);
  let empty = <usize>load<u32>(cn, CN_BARN_EMPTY);
  store<u32>(cn, 0, CN_BARN_FULL);
  store<u32>(cn, 0, CN_BARN_EMPTY);
  store<u32>(cn, 0, CN_BARN_NR_FULL);
  store<u32>(cn, 0, CN_BARN_NR_EMPTY);
  unlock(cn + CN_LOCK);
  while (full != 0) {
    const next = <usize>load<u32>(full, SH_NEXT);
    flushed += load<u32>(full, SH_COUNT);
    sheafFlush(cache, full, load<u32>(full, SH_COUNT));
    sheafDelete(cache, full);
    full = next;
  }
  while (empty != 0) {
    const next = <usize>load<u32>(empty, SH_NEXT);
    sheafDelete(cache, empty);
    empty = next;
  }
  return flushed;
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
