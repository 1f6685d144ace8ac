// kmalloc.ts — malloc for Wasm programs: size classes over kmalloc-N caches, large blocks of whole pages,
// huge blocks of whole chunks, and the C allocation functions built on them.
//
// Owns: the kmalloc tables in the heap header (layout.ts, "kmalloc"), the F_KMALLOC caches, and the
// descriptors of large blocks (K_LARGE heads, their K_TAIL pages). Entry points: kmalloc(), kfree(),
// krealloc(), kcalloc(), kmallocAligned(), kusable(), kmallocSetClasses(). The C ABI in index.ts wraps
// them (malloc, free, ... report bad pointers through env.hook; the km_* exports return codes for TS).
// Called by: index.ts. Calls medium.ts (medium blocks, default set), cpu.ts (per-CPU arrays), cache.ts (creating the classes), page.ts (pages and
// chunk runs; pageAllocReclaiming runs reclaim.ts's shortage handler), report.ts (refused frees), and
// slab.ts (the free-time object check), node.ts (kept empty slabs go back before a large block makes memory
// grow: keptHoldBegin / keptHoldEnd).
//
// Call tree:
//   kmalloc ─ class of n (index byte, then the class's cache address; n = 0 included) ─ pop the CPU's main
//           array (fast)
//       └ kmallocSlow ─ a class with its cache (the usual miss): classWarm while its arrays are off ─
//                     │   cacheAlloc (cpu.ts allocSlow)
//                     ├ [kmallocClass ─ fill tables (first call)] ─ classAlloc ─ no cache yet, default set: a class ≤
//                     │   KM_COLD_MAX is cold: lend (a medium block: mediumMalloc) while under its budgets;
//                     │   a larger class: borrow (an object of the power-of-two lender class)
//                     │   ├ create class cache (first use) ─ classWarm (arrays on after the warm-up)
//                     │   └ cacheAlloc (cpu.ts)
//                     ├ mediumMalloc (default set, 4 KiB < n ≤ MEDIUM_MAX; above KMALLOC_MAX with medium.ts
//                     │   INLINE_PATHS, the merge target: its body, mediumMallocIn, inlined) ─ mediumAlloc (medium.ts)
//                     │        ├ no fit: mediumMallocMiss ─ a region (pagesAlloc / pagesAllocReclaiming) ─
//                     │        │   mediumAddRegion; then the other nodes (mediumAllocWith, a region)
//                     │        └ a small medium heap (MEDIUM_TIGHT_PAGES) and a page-tight size (8190): largeAlloc
//                     └ largeAlloc ─ pagesAllocReclaiming: a run of exactly the pages (≤ USABLE_PAGES)
//                                  └ runAllocReclaiming (whole chunks)
//   kfree ─ table byte is the CPU's node, page descriptor → its cache ─ a kmalloc-N cache: cacheFreeLocal
//         (cpu.ts; the page test already done) ──────────────────────────────────────────────── (fast)
//       ├ another node's slab chunk: kfreeRemote ─ a kmalloc-N cache: cacheFreeOff (cpu.ts: its alien array)
//       ├ a page of no cache: kfreePage ─ kfreeSlow's dispatch from the descriptor already read
//       └ kfreeSlow ─ free(0) ─ a medium page (no cache, K_MEDIUM / K_MEDIUM_TAIL: mediumRegionAt) or the
//                              │   pre-chunk region → mediumFreeIn (checks the header under its lock, merges;
//                              │   a loan: lentFreed counts it back)
//                              └ classify: large block → largeFree; run → runFree; else an error code
//   krealloc (the front, inlined into index.ts realloc; km_realloc calls kreallocSlow) ─ a pre-chunk
//       │   block (mediumPreHolds: one compare) asked for a size in (MEDIUM_LOW, MEDIUM_REALLOC_MAX] that
//       │   still fits its block (mediumPreKeeps: its header read and checked in one test): in place, no
//       │   call, no lock, nothing written; every other exit a call in tail position that reports a bad
//       │   pointer itself (report.ts freeFailed)
//       │   ├ a live block (mediumPreHeader) that must split or grow: kreallocPre ─ (not a loan)
//       │   │   mediumResizeIn (split, or grow into what follows it); a loan, or mediumResizeIn said no:
//       │   │   reallocMedium (tried) ─ reallocMove
//       │   └ anything else: kreallocSlow (report)
//       └ kreallocSlow ─ ptr 0 / size 0: reallocEdge (kmalloc / kfree)
//            ├ a medium block (its region: the pre-chunk region's at once, else classify; its header read and
//            │   checked once: mediumLiveSize) ─ still fits its block: in place, no lock, nothing written
//            │   ├ the front's case (pre-chunk region, its sizes): kreallocPre, as above
//            │   └ reallocMedium ─ a loan: in place while it fits as a class object would
//            │       ├ else mediumResizeIn (split, or grow into what follows it) up to MEDIUM_REALLOC_MAX
//            │       └ a loan grows, or past MEDIUM_REALLOC_MAX: reallocMove (to a page run: largeAlloc)
//            └ classify, anything else: reallocOther ─ fits the block: in place (a large block gives back
//                │   or keeps pages: pagesTrim)
//                ├ a large block grows: in place when a free run follows it (pagesExtend)
//                ├ a run: in place within its chunks (runResize: commits what it grows into)
//                └ reallocMove ─ a class object or a loan grows: to a class ≥ 25% larger
//                                (REALLOC_GROWTH_SHIFT); kmalloc, copy the live bytes, kfree
//
// Size classes (the class set is chosen once, before the first allocation):
//   KM_SET_KERNEL: 8 16 32 64 96 128 192 256 512 1k 2k 4k 8k (the kernel's kmalloc caches)
//   KM_SET_FINE:   8 16 32 48 64 80 96 112 128, then 8 classes per doubling up to 8k
//                  (144 160 ... 256 288 320 ... 512 ... 4608 5120 ... 8k): from 128 B up, a request gets
//                  at most 12.5% more than it asked (test/classes.test.ts walks every size)
// Each class is a cache named kmalloc-N, with alignment = the lowest set bit of N (capped at a page): 16
// bytes or more for every class ≥ 16, N for a power of two (slabs are naturally aligned, so a
// power-of-two class is naturally aligned). A malloc heap holds up to 57 classes, so each class parks little
// memory (measured with bench/malloc-peers.mjs, utilization table):
//   slabs of at least 1 object (KM_MIN_OBJECTS; caches default to SLUB's 4 × (fls(ncpus) + 1)),
//   2 empty slabs kept per node (KM_MIN_PARTIAL = 1), and in the fine set up to KM_KEEP_EMPTY bytes of
//   them: a class that frees and allocates again reuses its slabs instead of the page allocator; they go
//   back before memory grows, on reap, shrink and memory pressure (node.ts newSlab / releaseKeptEmpty),
//   per-CPU arrays of the default capacity for its size but at most KM_ARRAY_BYTES of objects (fine set, from
//   KM_BIG_CLASS up: KM_BIG_ARRAY_BYTES of objects once warm),
//   refill batches that start at 2 objects and double per refill up to a whole array (cpu.ts allocSlow
//   takes twice C_BATCH, warmBatch doubles C_BATCH up to half an array), a flush past a full barn of the
//   whole array (cpu.ts freeSlow),
//   per-CPU arrays off for a class's first KM_WARM_ALLOCS slow-path allocations (classWarm),
//   with the default set, no cache at all while a class up to KM_COLD_MAX is cold: its first blocks are
//   medium blocks (lend, "cold classes" below), and a class above it borrows its first KM_LEND_MAX
//   blocks from the power-of-two class above it (borrow),
//   at most 32 KiB of objects in the barn's full arrays (sheaf.ts barnMaxFull).
// The kernel set (KM_SET_KERNEL) keeps the geometry it had: 2 empty slabs per node.
//
// Alignment and sizes promised: malloc(n) is 8-aligned for n ≤ 8 and 16-aligned otherwise; a large
// block is page-aligned. malloc(0) returns a unique pointer (as glibc does) that free() accepts.
// aligned_alloc supports alignments up to 4 KiB from the classes (a cache's own alignment, kept by debug
// and in-use layouts), up to MAX_LARGE_ALIGN (64 KiB) from the page allocator, and 8 KiB for huge
// (chunk-run) blocks; larger ones fail with E_INVALID.
//
// Bad pointers: every path checks before it changes anything, and returns an E_* code: a pointer outside
// the heap or into metadata (E_NOT_OURS), inside a block but not at its start (E_NOT_OBJECT), an object
// of a cache that is not kmalloc's (E_WRONG_CACHE), an object free in its slab, or a page-aligned
// pointer whose page is free (E_DOUBLE_FREE), and an object parked in an array or handle (E_DOUBLE_FREE:
// harden.ts, through checkObject + hardenCheck in classify, so realloc and malloc_usable_size refuse a
// freed block too, and cacheFree's hardenFree for free).
import {
  C_ARRAY_CAP, C_BATCH, C_FLAGS, C_KEEP_EMPTY, C_OBJECTS, C_SIZE, CH_RUN_BYTES, CH_RUN_CHUNKS, CH_STATE, CHUNK_SHIFT, CS_RUN,
  CT_NO_CHUNK, CT_RUN_TAIL, DESC_BYTES, DESC_SHIFT, E_BUSY, E_DOUBLE_FREE, E_INVALID, E_NOMEM, E_NOT_OBJECT,
  E_NOT_OURS, E_OK, E_WRONG_CACHE, F_FREEKEY, F_INTERNAL, F_KMALLOC, F_RECLAIMABLE, H_KMALLOC, H_NNODES, K_LARGE, K_META, K_RUN, K_TAIL,
  KM_CACHES, KM_INDEX, KM_INDEX_LEN, KM_NCLASSES, KM_SET, KM_SET_FINE, KM_SET_KERNEL, KM_SIZES, KM_SLOTS,
  KMALLOC_MAX, KM_CHUNKLESS, KM_CHUNKLESS_MAX, KM_COLD_ALLOCS, KM_COLD_BYTES, KM_COLD_LENT, KM_COLD_LIVE, KM_COLD_MAX, KM_COLD_WASTE, KM_LEND, KM_LEND_MAX, KM_WARM_ALLOCS, MAX_LARGE_ALIGN,
  MB_GRAIN, MB_HDR, MB_MIN, PAGE_SHIFT, PAGE_SIZE,
  USABLE_PAGES, K_MEDIUM, K_MEDIUM_TAIL, DESC_SIZE, F_DEBUG_MASK,
} from "./layout";
import { CacheNode, CpuSlot, PageDesc, Sheaf } from "./structs";
import { cnAddr } from "./node";
import { HEAP, PRE_LO, chunkByteOf, inPre, nchunks, pageAddr, pageOf } from "./arena";
import { BOOT, DEFAULT_CAP, cacheCreate, cacheSetGeometry, defaultArrayCap } from "./cache";
import { cacheAlloc, cacheFree, cacheFreeLocal, cacheFreeOff, parkedAnywhere } from "./cpu";
import { keptHoldBegin, keptHoldEnd } from "./node";
import { KM_HARDEN_FLAGS, hardenCheck, hardenHandOutKm } from "./harden";
import { sheafEntry } from "./sheaf";
import {
  chunkHeaderOf, pagesAlloc, pagesAllocReclaiming, pagesExtend, pagesFree, pagesTrim, runAllocReclaiming, runCapacity, runFree, runResize, runUsable,
} from "./page";
import { checkObject } from "./slab";
import { INLINE_PATHS, mediumAddRegion, mediumAlloc, mediumAllocIn, mediumAllocWith, mediumBlockBytes, mediumBlockSize, mediumCheckIn, mediumFreeIn, mediumLiveSize, mediumPreHeader, mediumPreHolds, mediumPreKeeps, mediumRegionAt, mediumRegionPages, mediumPages, mediumResizeIn, mediumUsable } from "./medium";
import { freeFailed, lastError, setError } from "./report";
import { ALLOC_FASTPATH, ALLOC_SLOWPATH, statAt, statOf } from "./stats";
import { cpuSlot, currentNode, fastChunkByteOf, fastHeap, fastNode, fastPageOf } from "./percpu";
import { THREADED, heapLock, heapUnlock, publish, readShared } from "./sync";
import { noCpu } from "./threads";

// The class set used when malloc runs before anyone chose one.
export const KM_SET_DEFAULT: u32 = KM_SET_FINE;

// Slab geometry of the class caches (cache.ts cacheSetGeometry): at least KM_MIN_OBJECTS objects per
// slab, and at most 2 × KM_MIN_PARTIAL empty slabs kept per node.
const KM_MIN_OBJECTS: u32 = 1;
const KM_MIN_PARTIAL: u32 = 1;
// Slab order: the smallest whose unused tail is at most 1/KM_MAX_WASTE of the slab (SLUB: 1/16; 1/8 and
// 1/4 measured: 1/4 is best on the traces, e.g. realloc-bal 67% → 78% in the JS replay). With
// classes 12.5% apart most classes hold few objects, and a class's first slab is its fixed cost.
const KM_MAX_WASTE: u32 = 4;
const KM_ARRAY_BYTES: u32 = 32768;
// Classes of KM_BIG_CLASS bytes and more (2–8 KiB: slabs of 1–3 objects) warm up into arrays of
// KM_BIG_ARRAY_BYTES of objects, past the default capacity for their size (16 × 4 KiB; was 8: the default
// capped it). The 1–4 KiB traces allocate and free their 4072-byte blocks in runs longer than 8: refills
// 226 → 148 and objects flushed 1050 → 810 per replay of amptjp-bal, cccp-bal's heap stops growing
// after its second replay; utilization byte-identical on every trace (bench/PROFILE.md, manylive). The
// kernel set keeps classArrayCap's (the lab's geometry).
const KM_BIG_CLASS: u32 = 2048;
const KM_BIG_ARRAY_BYTES: u32 = 65536;
// (32 KiB, was 16 KiB: arrays of 8 objects for the 4 KiB classes. Measured first without the rule that a
// refill makes a new slab only for an empty batch (node.ts refillFromNode), they pinned 1-object slabs
// all over the heap: cp-decl-bal replayed twice took 3.7 MiB against 3.4 MiB. With it, utilization is
// byte-identical on every trace and the slow paths of the 1–4 KiB classes fall by 40–60%; see
// bench/PROFILE.md, "Refill and flush of the mid-size classes".)
// Empty slabs a node keeps per class (node.ts keepLimit), in bytes, beyond the 2 × KM_MIN_PARTIAL slabs:
// a class that frees and allocates around a slab boundary reuses them instead of giving each back to the
// page allocator and taking it again. Reaping trims them, shrink and memory pressure give them all back
// (reclaim.ts). The fine set only: the kernel set keeps the kernel's count.
const KM_KEEP_EMPTY: u32 = 4 << 20;
// Warm-up (small heaps, issue 12): a class of the fine set starts with its per-CPU arrays off, so a class
// used a few times takes objects straight from its slabs and creates no sheaf (each sheaf size is an
// internal cache with a slab of its own) and parks nothing. After KM_WARM_ALLOCS (layout.ts) slow-path
// allocations on a CPU (the ALLOC_SLOWPATH counter of its slot) the class gets its arrays (classArrayCap),
// for good. The kernel set keeps its arrays from the start (the lab's geometry). KM_WARM_ALLOCS = 256
// (was 32): with cold classes, the classes that get a cache are the busy ones, and a sheaf size made for a
// class of a few hundred objects cost cccp-bal, expr-bal and cp-decl-bal a page each.

// realloc growth of a class object: to at least usable + usable >> REALLOC_GROWTH_SHIFT (25%).
const REALLOC_GROWTH_SHIFT: u32 = 2;

// Largest request served at all: a run of chunks must still fit the 32-bit address space.
const MAX_REQUEST: usize = 0x7fff0000;

// Medium blocks (medium.ts), default class set only: requests in (KMALLOC_MAX, MEDIUM_MAX] are blocks of
// a 16-byte multiple in a node's medium regions instead of runs of whole pages (a chosen set, "fine" or
// "kernel", keeps the page runs: the lab's geometry). Larger requests stay page runs and chunk runs.
const MEDIUM_MAX: usize = 256 << 10;
// A medium block grown by realloc past this size moves to a page run (which grows in place into the
// free pages after it: pagesExtend), rather than growing inside its region up to MEDIUM_MAX and then
// moving anyway, far up the heap.
const MEDIUM_REALLOC_MAX: usize = 32 << 10;
// Requests in (MEDIUM_LOW, KMALLOC_MAX] are medium blocks too in the default set (their index entries
// name KM_MEDIUM_SLOT, a class slot that never gets a cache: the fast path misses into kmallocSlow).
// KMALLOC_MAX: off (the classes serve every size up to 8 KiB).
const MEDIUM_LOW: usize = 4096;
const KM_MEDIUM_SLOT: u32 = KM_SLOTS - 1;
// A medium heap of fewer pages serves page-tight sizes with page runs (mediumMalloc).
const MEDIUM_TIGHT_PAGES: u32 = 4;

@inline function kmTable(): usize {
  return HEAP + H_KMALLOC;
}

// ---- the fast paths -----------------------------------------------------------------------------------

// malloc(size). Returns 0 with E_NOMEM set when memory runs out.
// The fast path is cacheAlloc's (cpu.ts) with the class lookup in front: a request of 1..KMALLOC_MAX
// bytes reads its class from the index, its cache's address from the class table (a class with no cache
// yet reads as the boot cache, whose arrays are always empty; cache.ts heapInit writes it in every slot),
// and pops the CPU's main array. Size 0 takes the
// same path: index[0] is the first class once the tables are filled (malloc(0) returns a unique
// pointer, as glibc's). Anything else — a miss, a large size, tables not yet filled — goes to kmallocSlow.
@inline export function kmalloc(size: usize): usize {
  if (size <= <usize>KMALLOC_MAX) {
    const k = <usize>load<u8>(fastHeap() + ((size + 7) >> 3), H_KMALLOC + KM_INDEX);   // (percpu.ts fastHeap:
    const cache = <usize>load<u32>(fastHeap() + (k << 2), H_KMALLOC + KM_CACHES);   // a constant when merged) its address (or BOOT's)
    const slot = cpuSlot(cache);
    const main = <usize>changetype<CpuSlot>(slot).main;
    const n = changetype<Sheaf>(main).count;
    if (n != 0) {
      changetype<Sheaf>(main).count = n - 1;
      statAt(slot, ALLOC_FASTPATH);
      return hardenHandOutKm(cache, <usize>load<u32>(sheafEntry(main, n - 1))); // harden.ts: key off
    }
  }
  return kmallocSlow(size);
}

// free(ptr): E_OK (free(0) included) or the reason ptr is not a live block, reported where it was found
// (report.ts freeFailed: last_error detail and env.hook(HOOK_REPORT, code, ptr, cache or 0)).
// Fast path: the chunk-table byte and the page descriptor name the cache of any slab page; a kmalloc-N
// cache's objects go to cacheFree (which checks the object and pushes it on the CPU's array).
// The chunk byte is compared with the CPU's node first (the fast path needs no node test after its calls:
// cacheFreeLocal); another node's slab chunk goes to kfreeRemote (cold).
@inline export function kfree(ptr: usize): i32 {
  const b = fastChunkByteOf(ptr);                    // (percpu.ts: constant views when merged)
  if (<u32>b == fastNode()) {
    const pd = fastPageOf(ptr);
    const cache = <usize>changetype<PageDesc>(pd).cache;
    if (cache != 0) {                                  // (nested ifs: a && here cost a phi and a test)
      const flags = load<u32>(cache, C_FLAGS);
      if ((flags & (F_KMALLOC | F_FREEKEY)) == (F_KMALLOC | F_FREEKEY)) return cacheFreeLocal(cache, KM_HARDEN_FLAGS, ptr);
      if ((flags & F_KMALLOC) != 0) return cacheFreeOff(cache, ptr, b);  // in-use bits or debug: cold
    } else return kfreePage(ptr, pd);                  // no cache: a medium page, or large / run / free
  } else if (b < CT_RUN_TAIL) return kfreeRemote(ptr, b);
  return kfreeSlow(ptr);
}

// Cold: kfree of a pointer in a slab chunk of another node (b): a kmalloc-N object goes to cpu.ts
// cacheFreeOff (checked, then its alien array), anything else to kfreeSlow.
function kfreeRemote(ptr: usize, b: u8): i32 {
  const cache = <usize>changetype<PageDesc>(pageOf(ptr)).cache;
  if (cache != 0 && (load<u32>(cache, C_FLAGS) & F_KMALLOC) != 0) return cacheFreeOff(cache, ptr, b);
  return kfreeSlow(ptr);
}

// ---- class tables -------------------------------------------------------------------------------------

@inline function classIndex(size: usize): u32 {
  return <u32>load<u8>(kmTable() + KM_INDEX + ((size + 7) >> 3));
}

@inline function classSize(k: u32): u32 {
  return <u32>load<u16>(kmTable() + KM_SIZES + (<usize>k << 1));
}

function addClass(k: u32, size: u32, prev: u32): void {
  const t = kmTable();
  store<u16>(t + KM_SIZES + (<usize>k << 1), <u16>size);
  for (let i = (prev >> 3) + 1; i <= (size >> 3); i++) store<u8>(t + KM_INDEX + i, <u8>k);
}

// Choose the class set. Only before any class cache exists (E_BUSY after), and only known sets.
export function kmallocSetClasses(set: u32): i32 {
  if (set != KM_SET_KERNEL && set != KM_SET_FINE) return E_INVALID;
  const t = kmTable();
  for (let k: u32 = 1; k < KM_SLOTS; k++) {
    if (<usize>load<u32>(t + KM_CACHES + (k << 2)) != BOOT || load<u8>(t + KM_COLD_LENT + k) != 0) return E_BUSY;
  }
  memory.fill(t + KM_SIZES, 0, KM_SLOTS << 1);
  memory.fill(t + KM_INDEX, 0, KM_INDEX_LEN);
  store<u32>(t + KM_LEND, 0);                      // a chosen set is served exactly (classFor: the default)
  let k: u32 = 0;
  let prev: u32 = 0;
  if (set == KM_SET_KERNEL) {
    // 8 16 32 64 96 128 192 256 512 1k 2k 4k 8k
    for (let s: u32 = 8; s <= KMALLOC_MAX; s <<= 1) {
      if (s == 128 || s == 256) { addClass(++k, s - (s >> 2), prev); prev = s - (s >> 2); } // 96, 192
      addClass(++k, s, prev);
      prev = s;
    }
  } else {
    addClass(++k, 8, 0);
    prev = 8;
    for (let s: u32 = 16; s <= 128; s += 16) { addClass(++k, s, prev); prev = s; }
    for (let base: u32 = 128; base < KMALLOC_MAX; base <<= 1) {
      for (let q: u32 = 9; q <= 16; q++) {            // base × 9/8 .. base × 2: 12.5% apart at most
        const s = (base * q) >> 3;
        addClass(++k, s, prev);
        prev = s;
      }
    }
  }
  store<u8>(t + KM_INDEX, 1);                          // malloc(0): the first class, on the fast path
  if (ASC_NO_ASSERT == false) assert(k < KM_SLOTS && prev == KMALLOC_MAX); // the tables must cover 1..KMALLOC_MAX
  store<u32>(t + KM_NCLASSES, k);
  store<u32>(t + KM_SET, set);
  return E_OK;
}

// The cache of class k, created on first use (0 with E_NOMEM when there is no memory for it).
// Threads: created under the heap lock, checked again there, and published in its slot last, so the
// lock-free fast path sees a whole cache or none.
function classCache(k: u32): usize {
  const at = kmTable() + KM_CACHES + (<usize>k << 2);
  const made = <usize>readShared(at);
  if (made != BOOT) return made;
  heapLock();
  const c = classCacheLocked(k, at);
  heapUnlock();
  return c;
}

function classCacheLocked(k: u32, at: usize): usize {
  const made = <usize>load<u32>(at);
  if (made != BOOT) return made;
  const size = classSize(k);
  let align = size & (~size + 1);
  if (align > PAGE_SIZE) align = PAGE_SIZE;
  const kernel = load<u32>(kmTable(), KM_SET) == KM_SET_KERNEL;
  const warm = load<u32>(kmTable(), KM_SET) == KM_SET_FINE;
  const c = cacheCreate(size, align, 0, warm ? 0 : classArrayCap(size), true); // warm-up: arrays off (above);
                                                // heap-owned: may take a header slot (cache.ts)
  if (c == 0) return 0;
  cacheSetGeometry(c, KM_MIN_OBJECTS, KM_MIN_PARTIAL, KM_MAX_WASTE);
  if (!kernel) store<u32>(c, KM_KEEP_EMPTY, C_KEEP_EMPTY);
  store<u32>(c, 1, C_BATCH);                    // warms up: cpu.ts warmBatch doubles it per refill
  store<u32>(c, load<u32>(c, C_FLAGS) | F_INTERNAL | F_KMALLOC, C_FLAGS);
  // the fast paths take a keyed class's hook flags for known (harden.ts KM_HARDEN_FLAGS, hardenHandOutKm):
  // its key at the object's first u32
  if (ASC_NO_ASSERT == false) assert((load<u32>(c, C_FLAGS) & F_RECLAIMABLE) == 0);
  publish(at, <u32>c);
  return c;
}

// The per-CPU array capacity of a class of `size` bytes: the default for its size, but arrays of at most
// KM_ARRAY_BYTES of objects (at least 2).
function classArrayCap(size: u32): u32 {
  const cap = defaultArrayCap(size);
  if (cap * size <= KM_ARRAY_BYTES) return cap;
  return KM_ARRAY_BYTES / size < 2 ? 2 : KM_ARRAY_BYTES / size;
}

// A class still warming up (arrays off, see KM_WARM_ALLOCS) whose current CPU has taken KM_WARM_ALLOCS
// objects through the slow path gets its arrays. No array of the cache exists while its capacity is 0
// (every alloc and free goes straight to the slabs), so there is nothing to drain. Threads: the
// capacity is published under the heap lock; a CPU that read 0 a moment earlier takes one more object
// straight from the slabs.
// A debug class (a heap made with debug) never does: its frees must reach the slab, where the debug
// checks and the bitmap's double-free test run (it has neither a free key nor in-use bits; with arrays,
// a second free of a block parked in one was taken, and the block handed out twice).
function classWarm(c: usize): void {
  if (statOf(cpuSlot(c), ALLOC_SLOWPATH) < <u64>KM_WARM_ALLOCS) return;
  if ((load<u32>(c, C_FLAGS) & F_DEBUG_MASK) != 0) return;
  heapLock();
  if (load<u32>(c, C_ARRAY_CAP) == 0) {
    store<u32>(c, 1, C_BATCH);                  // warms up further: cpu.ts warmBatch doubles it per refill
    const size = load<u32>(c, C_SIZE);
    publish(c + C_ARRAY_CAP, size >= KM_BIG_CLASS ? KM_BIG_ARRAY_BYTES / size : classArrayCap(size));
  }
  heapUnlock();
}

// ---- cold classes: medium blocks lent before a class has a cache ------------------------------------------
// A class of the default set up to KM_COLD_MAX starts cold: it has no cache, and a request of it gets a
// medium block (medium.ts) of the class's size (lend), so a class that only ever holds a handful of
// objects takes no slab, no kmem_cache and no per-CPU arrays: a small program's dozens of classes of a few
// objects each share the medium heap's pages, and a large one's rarely used classes leave no mostly empty
// slab (bash: 24 classes, 16 of them holding under a quarter of a slab). A class lends while
//   its live loans' blocks stay under KM_COLD_BYTES (a slab's worth: from there its own slab pays),
//   their bytes past the class size under KM_COLD_WASTE (a loan costs the block header and the 16-byte
//     steps: 8-byte objects take 32-byte blocks, so a busy small class stops lending early), and
//   it has lent fewer than KM_COLD_ALLOCS blocks in all (a class used that often gets the fast path
//     even with few objects live);
// then its next request creates its cache (classCache), for good; loans still out are freed as medium
// blocks. Larger classes never lend: lent blocks of 1–4 KiB among a random-size program's medium blocks
// fragment its medium heap (random2-bal: −2.3 points with KM_COLD_MAX = 4 KiB, none with 1 KiB).
// A lent block is a medium block for the class size: usable = class size + MB_HDR (class 8: 24 bytes, the
// MB_MIN block), or 16 bytes more when the free block it came from left a remainder too small to split
// (medium.ts takeBlock). Its rounding is the class's plus 8 (or 24) bytes: from 128 B at most
// 12.5% + 24 bytes, below 128 B less than 40 bytes. Medium blocks up to coldBlockMax() bytes are lent blocks
// and nothing else (medium sizes above MEDIUM_LOW make blocks over 4 KiB; krealloc never resizes a lent
// block in place, it moves it), so kfree knows a loan by its block size (lentFreed).
// Counters (layout.ts): live loans per block size (KM_COLD_LIVE, block / MB_GRAIN: exact, back to 0 when
// every loan is back), lent so far per class (KM_COLD_LENT). Class k's live loans are those of its block
// size and of the 16 bytes above (its loans with a remainder; a class 16 bytes above shares that count, so
// a class may count a neighbour's loans and stop lending a little early). Class 8 shares class 16's block
// size, so it goes by what it lent so far.
// While the heap has grown no chunk (a small heap living in the pre-chunk medium region, layout.ts), a
// class past its KM_COLD_ALLOCS loans still lends from the region's free blocks (the live budgets still
// apply), and a class above KM_COLD_MAX takes a medium block of its class size there instead of a
// lender's object (borrow): a small program then takes no slab page of chunk 0 while the region has room.
// Those blocks are counted (KM_CHUNKLESS): after KM_CHUNKLESS_MAX of them the heap stops, and its classes
// get caches and slabs as in a heap with chunks. A medium block costs a small class 3× a slab object's
// instructions (the malloc trace replayed 20 000 times: 1 086 against 345 x86 instructions per operation), so the region
// serves a short program's footprint and a program that keeps allocating gets the fast path for one more
// Wasm page (chunk 0).
// Threads: the counters are updated with atomic adds; two CPUs may both lend past a budget by a block.

// The largest block a loan can be: the largest cold class's block plus a remainder.
@inline function coldBlockMax(): u32 {
  return mediumBlockSize(KM_COLD_MAX) + MB_GRAIN;
}

function coldAdd(at: usize, delta: u32): void {
  if (THREADED) atomic.add<u8>(at, <u8>delta);
  else store<u8>(at, <u8>(<u32>load<u8>(at) + delta));
}

// A medium block for a request of class k (no cache yet, default set), or 0: the class is not cold any
// more (its next request creates its cache), or no memory (the caller's cache gets its chance too).
function lend(k: u32): usize {
  const t = kmTable();
  if (load<u32>(t, KM_LEND) == 0) return 0;
  if (THREADED) { if (noCpu()) return 0; }               // no CPU: the class cache's slow path says so
  const size = classSize(k);
  if (size > KM_COLD_MAX) return 0;
  const block = mediumBlockSize(size);
  const lent = <u32>load<u8>(t + KM_COLD_LENT + k);
  const at = t + KM_COLD_LIVE + (block >> 4);
  // class 8 (below MB_MIN's payload) has class 16's block size: it goes by what it lent so far
  const live = size < MB_MIN - 2 * MB_HDR ? lent : <u32>load<u8>(at) + <u32>load<u8>(at + 1);
  if (live * block >= KM_COLD_BYTES || live * (block - size) >= KM_COLD_WASTE) return 0;
  // past KM_COLD_ALLOCS loans, a class still lends while the heap has no chunk: from the pre-chunk
  // region only (its free blocks: mediumAlloc on node 0 grows no region), so a small program's busy
  // small class takes no slab page of chunk 0 while the region has room (realloc2-bal: kmalloc-16)
  let p: usize;
  if (lent < KM_COLD_ALLOCS) {
    p = mediumMalloc(size);
    if (p != 0) coldAdd(t + KM_COLD_LENT + k, 1);
  } else p = chunklessLoan(t, size);
  if (p == 0) return 0;
  coldAdd(t + KM_COLD_LIVE + ((mediumUsable(p) + MB_HDR) >> 4), 1);
  return p;
}

// A medium block of `size` bytes from the pre-chunk region for a class past its KM_COLD_ALLOCS loans
// (lend) or above KM_COLD_MAX (borrow), while the heap has no chunk and has handed out fewer than KM_CHUNKLESS_MAX of them; else 0 (the class goes on as
// in a heap with chunks). Threads: two CPUs may both take one past the limit.
function chunklessLoan(t: usize, size: u32): usize {
  if (nchunks() != 0) return 0;
  const at = t + KM_CHUNKLESS;
  if (load<u32>(at) >= KM_CHUNKLESS_MAX) return 0;
  const p = mediumAllocWith(0, size, 0);
  if (p != 0) {
    if (THREADED) atomic.add<u32>(at, 1);
    else store<u32>(at, load<u32>(at) + 1);
  }
  return p;
}

// A lent block of `usable` bytes went back to the medium heap: one loan fewer live of its block size.
function lentFreed(usable: usize): void {
  coldAdd(kmTable() + KM_COLD_LIVE + ((usable + MB_HDR) >> 4), 0xff);
}

// Is a medium block of `usable` bytes a lent block?
@inline function isLent(usable: usize): bool {
  return usable + MB_HDR <= <usize>coldBlockMax();
}

// A request of class k above KM_COLD_MAX, which has no cache yet, in the default set: an object of its
// lender — the power-of-two class above it, at most a page — for the first KM_LEND_MAX blocks of class
// k, while the lender holds at most one slab on this node and that slab has a free object (or the lender
// has no slab yet: this makes it). A program that mallocs a few blocks of many mid sizes fills one shared
// slab per power of two instead of taking a slab per class (the fine set has eight classes per doubling;
// a block grown by realloc through 1–4 KiB takes the 2 and 4 KiB lenders' slabs, not one per class:
// realloc-bal). After its loans, or once the lender's first slab is full, class k gets its own cache at
// its next malloc and keeps it. A loan's usable size is the lender's (under 2×: malloc_usable_size,
// realloc and free read the cache from the page); loans are counted in KM_COLD_LENT (the medium loans'
// count of the classes up to KM_COLD_MAX). 0: no loan (a power-of-two class, loans used up, a full
// lender, no memory); the caller goes on as usual.
// Threads: another CPU may take the last free object meanwhile (the lender then makes one more slab),
// and two may count one loan (a class then has one more).
function borrow(k: u32): usize {
  // While the heap has no chunk, a medium block of the class size from the pre-chunk region (when one
  // fits there), not an object of a lender's slab: a small program's mid-size blocks then take no page of
  // chunk 0 (realloc2-bal, short1-bal: kmalloc-2048, kmalloc-4096). Not a loan: its block is larger than
  // coldBlockMax, so kfree and krealloc treat it as any medium block.
  const t = kmTable();
  const m = chunklessLoan(t, classSize(k));
  if (m != 0) return m;
  const loans = <u32>load<u8>(t + KM_COLD_LENT + k);
  const size = classSize(k);
  const ls = <u32>1 << (32 - clz(size - 1));            // the next power of two
  if (loans >= KM_LEND_MAX || ls == size || ls > PAGE_SIZE) return 0;
  const lender = classCache(classIndex(ls));
  if (lender == 0) return 0;
  const cn = cnAddr(lender, currentNode);
  const total = changetype<CacheNode>(cn).totalObjects;
  if (total != 0 && (total > load<u32>(lender, C_OBJECTS) ||
      changetype<CacheNode>(cn).nrPartial + changetype<CacheNode>(cn).nrEmpty == 0)) return 0;
  const p = cacheAlloc(lender);
  if (p != 0) coldAdd(t + KM_COLD_LENT + k, 1);
  return p;
}

// The class serving `size` bytes (1..KMALLOC_MAX), filling the tables on the first call.
function classFor(size: usize): u32 {
  let k = classIndex(size);
  if (k == 0) {
    heapLock();                              // threads: one instance fills the tables
    if (classIndex(size) == 0) {
      kmallocSetClasses(KM_SET_DEFAULT);
      store<u32>(kmTable() + KM_LEND, 1);    // the default set lends (lend); a chosen one does not
      // the default set's mid sizes are medium blocks (MEDIUM_LOW)
      for (let i = (MEDIUM_LOW >> 3) + 1; i <= (KMALLOC_MAX >> 3); i++) store<u8>(kmTable() + KM_INDEX + i, <u8>KM_MEDIUM_SLOT);
    }
    heapUnlock();
    k = classIndex(size);
  }
  return k;
}

// ---- slow paths ---------------------------------------------------------------------------------------

function kmallocSlow(size: usize): usize {
  if (size <= KMALLOC_MAX) {
    // the usual miss: the class has its cache and its CPU array was empty — straight to its slow path
    // (one index byte, one table word: no classFor / classCache calls); a class still warming up (arrays
    // off: every malloc of it comes here) first counts towards its arrays (classWarm). Size 0 reads
    // index[0] (the first class once filled, as kmalloc does); the medium slot goes to the medium heap;
    // a class with no cache yet goes to classAlloc (a loan while it is cold); unfilled tables read 0
    // and take kmallocClass.
    const k = classIndex(size);
    const c = <usize>readShared(kmTable() + KM_CACHES + (<usize>k << 2));
    if (c != BOOT) {
      if (load<u32>(c, C_ARRAY_CAP) == 0) classWarm(c);
      return cacheAlloc(c);
    }
    if (k != KM_MEDIUM_SLOT) return k != 0 ? classAlloc(k) : kmallocClass(size);
  } else if (size > MEDIUM_MAX || (load<u32>(kmTable(), KM_LEND) == 0 && !mediumOn())) return largeAlloc(size, PAGE_SIZE);
  // the medium slot's sizes and those above KMALLOC_MAX up to MEDIUM_MAX (KM_LEND set: the default set's
  // tables are filled and medium blocks are on; mediumOn only before that) share one site: with medium.ts
  // INLINE_PATHS (the merge target) mediumMalloc's body here, one call level less for both
  return INLINE_PATHS ? mediumMallocIn(size) : mediumMalloc(size);
}

// kmallocSlow's case of unfilled tables (the first malloc): fill them, then the medium heap or class k.
function kmallocClass(size: usize): usize {
  if (size == 0) size = 1;                 // malloc(0): a unique pointer, as glibc
  const k = classFor(size);
  if (k == KM_MEDIUM_SLOT) return mediumMalloc(size);
  return classAlloc(k);
}

// An object of class k (tables filled) that had no cache when kmallocSlow looked: a loan (lend, borrow),
// else its cache, created now, or what the class got meanwhile (threads: a cache).
function classAlloc(k: u32): usize {
  if (<usize>readShared(kmTable() + KM_CACHES + (<usize>k << 2)) == BOOT) {
    const p = classSize(k) <= KM_COLD_MAX ? lend(k) : load<u32>(kmTable(), KM_LEND) != 0 ? borrow(k) : 0;
    if (p != 0) return p;
  }
  const c = classCache(k);
  if (c == 0) return 0;
  if (load<u32>(c, C_ARRAY_CAP) == 0) classWarm(c);
  return cacheAlloc(c);
}

// Medium blocks serve this heap: the default class set (filled by the first malloc, which may be this one).
function mediumOn(): bool {
  if (classIndex(8) == 0) classFor(8);
  return load<u32>(kmTable(), KM_LEND) != 0;
}

// A medium block of `size` bytes: a free block (or a region grown in place) of the current CPU's node,
// else a new region of that node (taken as a large block is: the heap's pages first while empty slabs
// are kept, then with growth and pressure reclaim), then the other nodes. 0 with E_NOMEM.
// A run of `pages` pages on `node`, aligned to `align`, for a large block or a medium region: the
// memory already there first (while empty slabs are kept, growth is held: node.ts keptHoldBegin /
// keptHoldEnd give them back before memory grows), then with growth and, on a shortage, reclaim first
// (page.ts pagesAllocReclaiming). 0: none on this node.
function blockPages(node: u32, pages: u32, align: usize): usize {
  let d: usize = 0;
  if (keptHoldBegin()) {
    d = pagesAlloc(node, pages, align, true);
    keptHoldEnd(d != 0);
  }
  if (d == 0) d = pagesAllocReclaiming(node, pages, align, true);
  return d;
}

function mediumMalloc(size: usize): usize {
  return mediumMallocIn(size);
}

// mediumMalloc's body (inlined into kmallocSlow's path above KMALLOC_MAX with INLINE_PATHS).
@inline function mediumMallocIn(size: usize): usize {
  // While the node's medium heap is small (none yet, or only lent blocks of cold classes in a few
  // pages: MEDIUM_TIGHT_PAGES), a size within a block header of a page multiple (8190, 8192) is an exact
  // page run: it wastes no more than the block would and takes no region (coalescing-bal: one Wasm page
  // instead of two). Once the heap is larger, such sizes join it (page runs among regions cost
  // random2-bal 2.3 points).
  if ((<usize>pagesFor(size) << PAGE_SHIFT) <= <usize>mediumBlockSize(size) && mediumPages(currentNode) < MEDIUM_TIGHT_PAGES) {
    return largeAlloc(size, PAGE_SIZE);
  }
  const p = INLINE_PATHS ? mediumAllocIn(currentNode, size) : mediumAlloc(currentNode, size); // the usual case: a fit on this CPU's node
  return p != 0 ? p : mediumMallocMiss(size);
}

// mediumMalloc when this CPU's node has no fit: a new region there, else the other nodes' heaps (their
// fit, then a new region), in node order from this CPU's.
function mediumMallocMiss(size: usize): usize {
  const nn = load<u32>(HEAP, H_NNODES);
  for (let k: u32 = 0; k < nn; k++) {
    const node = (currentNode + k) % nn;
    if (k != 0) {
      const p = mediumAllocWith(node, size, 0);          // (mediumAlloc keeps a single, inlined caller)
      if (p != 0) return p;
    }
    const pages = mediumRegionPages(node, size);
    const d = blockPages(node, pages, PAGE_SIZE);
    if (d == 0) continue;
    return mediumAddRegion(node, d, pages, size);
  }
  setError(E_NOMEM);
  return 0;
}

// What kind of live block ptr is: set by classify().
const KIND_SLAB: u32 = 1;
const KIND_LARGE: u32 = 2;
const KIND_RUN: u32 = 3;
const KIND_MEDIUM: u32 = 4;
let kKind: u32 = 0;
let kHead: usize = 0;   // the cache (slab), the first head descriptor (large), the chunk header (run), the
                        // region's first descriptor (medium)

// Classify ptr as a live block this allocator handed out, or say why it is not one. Changes nothing.
// checkMedium false: a pointer into a medium region is KIND_MEDIUM without its header checked (kfreeSlow:
// mediumFreeIn checks it itself, under its lock). A medium block's kHead is its region: the callers pass
// it on (mediumFreeIn, mediumResizeIn) instead of finding it again from the pointer.
function classify(ptr: usize, checkMedium: bool = true): i32 {
  const b = chunkByteOf(ptr);
  if (b >= CT_RUN_TAIL) {
    // outside every chunk: the pre-chunk medium region (layout.ts; its descriptor is before it), or not
    // ours; else a run's inside
    if (inPre(ptr)) return classifyMedium(PRE_LO - DESC_SIZE, ptr, checkMedium);
    return b == CT_NO_CHUNK ? E_NOT_OURS : E_NOT_OBJECT;
  }
  const d = pageOf(ptr);
  const cache = <usize>changetype<PageDesc>(d).cache;
  if (cache != 0) {
    if ((load<u32>(cache, C_FLAGS) & F_KMALLOC) == 0) return E_WRONG_CACHE;
    const e = checkObject(cache, ptr, b);
    if (e != E_OK) return e;
    // parked (its key, confirmed by the walk; or its in-use bit clear): freed already (harden.ts)
    const h = hardenCheck(cache, ptr);
    if (h != E_OK && (h == E_DOUBLE_FREE || parkedAnywhere(cache, ptr))) return E_DOUBLE_FREE;
    kKind = KIND_SLAB;
    kHead = cache;
    return E_OK;
  }
  const kind = changetype<PageDesc>(d).kind;
  if (kind == K_MEDIUM || kind == K_MEDIUM_TAIL) {
    const r = mediumRegionAt(d);                                 // the region's first descriptor
    if (r == 0) return E_NOT_OURS;
    return classifyMedium(r, ptr, checkMedium);
  }
  if (kind == K_LARGE) {
    if (ptr != pageAddr(d) || changetype<PageDesc>(d).aux == 0) return E_NOT_OBJECT;
    kKind = KIND_LARGE;
    kHead = d;
    return E_OK;
  }
  if (kind == K_RUN) {
    if (ptr != pageAddr(d)) return E_NOT_OBJECT;
    kKind = KIND_RUN;
    kHead = chunkHeaderOf(d);
    return E_OK;
  }
  if (kind == K_TAIL) return E_NOT_OBJECT;                        // inside a large block
  if (kind == K_META) return E_NOT_OURS;                          // the descriptor pages
  if (load<u8>(chunkHeaderOf(d), CH_STATE) == CS_RUN) return E_NOT_OBJECT; // inside a run's first chunk
  // A free page (in a free page run or a free chunk): a page-aligned pointer there was a large block, one
  // 2 × MB_HDR into it the first block of a medium region given back (medium.ts releaseBlock).
  const off = ptr & (PAGE_SIZE - 1);
  return off == 0 || off == 2 * MB_HDR ? E_DOUBLE_FREE : E_NOT_OURS;
}

// classify's end for a pointer in the medium region whose first descriptor is r.
@inline function classifyMedium(r: usize, ptr: usize, checkMedium: bool): i32 {
  if (checkMedium) {
    const e = mediumCheckIn(r, ptr);                             // a live block's header (medium.ts)
    if (e != E_OK) return e;
  }
  kKind = KIND_MEDIUM;
  kHead = r;
  return E_OK;
}

function kfreeSlow(ptr: usize): i32 {
  if (ptr == 0) return E_OK;
  // A medium block first (the usual slow free): its region from the page descriptor (a page of no cache,
  // K_MEDIUM or K_MEDIUM_TAIL: mediumRegionAt) or the pre-chunk region, straight to mediumFreeIn (which
  // checks the header under its lock: the codes classify + mediumCheck give, nothing changed on a bad
  // pointer). Anything else, and a medium page whose region is not found, goes through classify.
  let r: usize = 0;
  if (chunkByteOf(ptr) < CT_RUN_TAIL) {
    const d = pageOf(ptr);
    if (changetype<PageDesc>(d).cache == 0) r = mediumRegionAt(d);
  } else if (inPre(ptr)) r = PRE_LO - DESC_SIZE;
  if (r != 0) return kfreeMedium(r, ptr);
  return kfreeOther(ptr);
}

// kfreeSlow for kfree's fast path's pointer in a chunk of this CPU's node whose page descriptor pd (read
// there) names no cache: the same dispatch without reading the chunk byte and the descriptor again
// (session 12: a medium free's usual entry).
function kfreePage(ptr: usize, pd: usize): i32 {
  const r = mediumRegionAt(pd);
  if (r != 0) return kfreeMedium(r, ptr);
  return kfreeOther(ptr);
}

// kfreeSlow's medium free: ptr in the region whose first descriptor is r.
@inline function kfreeMedium(r: usize, ptr: usize): i32 {
  const usable = mediumUsable(ptr);                // read before the free; used only if it was a live block
  const m = mediumFreeIn(r, ptr);
  if (m != E_OK) return freeFailed(0, ptr, m);
  if (isLent(usable)) lentFreed(usable);
  return E_OK;
}

// kfreeSlow's end for anything but a medium block (ptr != 0).
function kfreeOther(ptr: usize): i32 {
  const e = classify(ptr, false);                  // (a medium block came first: kfreeSlow, kfreePage)
  if (e != E_OK) return freeFailed(0, ptr, e);     // reported here, as cacheFree reports its own
  if (kKind == KIND_SLAB) return cacheFree(kHead, ptr);
  if (kKind == KIND_LARGE) largeFree(kHead);
  else if (kKind == KIND_RUN) runFree(ptr);      // (KIND_MEDIUM: never here, the dispatch above took it)
  return E_OK;
}

// Bytes the block at ptr can hold (malloc_usable_size), or 0 with the error code set.
export function kusable(ptr: usize): usize {
  if (ptr == 0) return 0;
  const e = classify(ptr);
  if (e != E_OK) { setError(e); return 0; }
  return usableOf(ptr);
}

// Usable bytes of the block classify() just found.
function usableOf(ptr: usize): usize {
  if (kKind == KIND_SLAB) return <usize>load<u32>(kHead, C_SIZE);
  if (kKind == KIND_LARGE) return <usize>changetype<PageDesc>(kHead).objects << PAGE_SHIFT;
  if (kKind == KIND_MEDIUM) return mediumUsable(ptr);
  return runUsable(kHead, ptr);             // committed bytes only: a run's last chunk is committed lazily
}

// ---- large blocks: runs of exactly the pages needed, whole chunks above a chunk's usable pages ----------

@inline function pagesFor(size: usize): u32 {
  return <u32>((size + PAGE_SIZE - 1) >> PAGE_SHIFT);
}

// A block of `size` bytes aligned to `align` (a power of two; at least a page in any case).
// From the current CPU's node first, then the others. 0 with E_NOMEM or E_INVALID.
export function largeAlloc(size: usize, align: usize): usize {
  if (size > MAX_REQUEST) { setError(E_NOMEM); return 0; }
  const pages = pagesFor(size);
  const nn = load<u32>(HEAP, H_NNODES);
  const slack = align > PAGE_SIZE ? <u32>(align >> PAGE_SHIFT) - 1 : 0; // an aligned start may skip pages
  if (pages + slack <= USABLE_PAGES && align <= MAX_LARGE_ALIGN) {
    for (let k: u32 = 0; k < nn; k++) {
      const node = (currentNode + k) % nn;
      const d = blockPages(node, pages, align);
      if (d == 0) continue;
      if (ASC_NO_ASSERT == false) assert((pageAddr(d) & (align - 1)) == 0);
      markLarge(d, 0, pages, size);
      return pageAddr(d);
    }
    setError(E_NOMEM);
    return 0;
  }
  if (align > DESC_BYTES) {                 // a run's block starts DESC_BYTES into a 64 KiB-aligned chunk
    setError(E_INVALID);
    return 0;
  }
  const count = <u32>((size + DESC_BYTES + (<usize>1 << CHUNK_SHIFT) - 1) >> CHUNK_SHIFT);
  for (let k: u32 = 0; k < nn; k++) {
    const p = runAllocReclaiming((currentNode + k) % nn, count, size);
    if (p != 0) return p;
  }
  setError(E_NOMEM);
  return 0;
}

// Pages [from, to) of the large block whose first descriptor is d become its pages (their descriptors
// are zero): d is the K_LARGE head (pages kept, bytes requested), the others K_TAIL pointing at it.
function markLarge(d: usize, from: u32, to: u32, bytes: usize): void {
  changetype<PageDesc>(d).kind = K_LARGE;
  changetype<PageDesc>(d).objects = <u16>to;
  changetype<PageDesc>(d).aux = <u32>bytes;
  for (let t = from > 1 ? from : 1; t < to; t++) {
    const td = d + (<usize>t << DESC_SHIFT);
    changetype<PageDesc>(td).kind = K_TAIL;
    changetype<PageDesc>(td).aux = <u32>d;
  }
}

function largeFree(d: usize): void {
  pagesFree(d, <u32>changetype<PageDesc>(d).objects, true);
}

// ---- calloc, realloc, aligned allocation ----------------------------------------------------------------

// calloc(n, size): zeroed, and 0 (E_NOMEM) when n × size overflows 32 bits.
export function kcalloc(n: usize, size: usize): usize {
  const total = <u64>n * <u64>size;
  if (total > <u64>MAX_REQUEST) { setError(E_NOMEM); return 0; }
  const p = kmalloc(<usize>total);
  if (p != 0) memory.fill(p, 0, <usize>total);
  return p;
}

// realloc(ptr, size) for the C export (index.ts realloc; the TS layer's km_realloc calls kreallocSlow):
// a bad pointer's code is reported there (report.ts freeFailed), as free() reports its own. The front,
// inlined into the export: a pointer into the pre-chunk region (a small heap's home, its bounds known
// without a descriptor: mediumPreHolds, one compare) asked for a size in (MEDIUM_LOW, MEDIUM_REALLOC_MAX]
// whose block still holds it with less than a free block to spare (mediumPreKeeps: the header read and
// checked once, mediumLiveSize's test) answers here, with no call, no lock and nothing written but the
// error code. Every other exit is a call in tail position (kreallocPre: a split or a grow; kreallocSlow:
// anything else), which does the reporting itself, so the kept step keeps ptr and size in registers
// (no spill across a call). (realloc2-bal: 2 steps in 3 answer in the front; bench/PROFILE.md "realloc
// front" and "realloc front, session 10".)
@inline export function krealloc(ptr: usize, size: usize): usize {
  // (two early exits, the pointer's first: a block elsewhere — realloc-bal's page runs — pays one
  // compare before its call)
  if (!mediumPreHolds(ptr)) return kreallocSlow(ptr, size, true);
  if (size - (MEDIUM_LOW + 1) >= MEDIUM_REALLOC_MAX - MEDIUM_LOW) return kreallocSlow(ptr, size, true);
  // (size in (MEDIUM_LOW, MEDIUM_REALLOC_MAX]: its block is over 4 KiB, never a loan's, and ≥ MB_MIN)
  if (mediumPreKeeps(ptr, mediumBlockBytes(size))) { setError(E_OK); return ptr; }
  const have = mediumPreHeader(ptr);                 // ≥ MB_MIN: a live block; else kreallocSlow says why
  if (have < MB_MIN) return kreallocSlow(ptr, size, true);
  return kreallocPre(ptr, size, have, true);
}

// The front's case that does not keep its block (ptr passed mediumPreHolds, size in (MEDIUM_LOW,
// MEDIUM_REALLOC_MAX], its header checked: a live block of `have` bytes): a block that is no loan splits
// or grows in place (mediumResizeIn: the header was checked, it need not check it again), else
// reallocMedium (a loan, or mediumResizeIn said no: `tried`; a move that fails: reported when `report`,
// out of memory excepted). Also kreallocSlow's own way for such a block (report false: kreallocSlow
// reports), so both callers share one copy out of line and the front stays a leaf (its every exit a call
// in tail position).
function kreallocPre(ptr: usize, size: usize, have: u32, report: bool): usize {
  setError(E_OK);
  // (the loan first and the success return right after mediumResizeIn: nothing is reloaded on that path)
  if (isLent(<usize>(have - MB_HDR))) return reallocPreMove(ptr, size, have, false, report);
  if (mediumResizeIn(PRE_LO - DESC_SIZE, ptr, size, true)) return ptr;
  return reallocPreMove(ptr, size, have, true, report);
}

// kreallocPre's reallocMedium, and the report of a move that failed (out of memory excepted).
@inline function reallocPreMove(ptr: usize, size: usize, have: u32, tried: bool, report: bool): usize {
  const p = reallocMedium(PRE_LO - DESC_SIZE, ptr, size, have, tried);
  if (report && p == 0) reallocReport(ptr);
  return p;
}

// The C export's report of a realloc of ptr that failed (the code in the error word): a refused pointer
// (report.ts freeFailed: last_error detail, env.hook), as free() reports its own; out of memory is not
// reported.
function reallocReport(ptr: usize): void {
  const e = lastError();
  if (e != E_OK && e != E_NOMEM) freeFailed(0, ptr, e);
}

// krealloc past its front (and the TS layer's realloc): kept small (the medium blocks' in-place cases
// here; reallocOther inlined; out of line: reallocEdge, reallocMedium, reallocMove): a medium block is
// classified once, its header read once (mediumLiveSize, which checks it), and one that still fits its
// block answers with no lock and nothing written (bench/PROFILE.md "realloc in place"). `report` (the C
// export): a refused pointer's code goes to report.ts freeFailed (last_error detail, env.hook), as
// index.ts realloc did after its call before session 10; out of memory is not reported.
export function kreallocSlow(ptr: usize, size: usize, report: bool = false): usize {
  const p = kreallocIn(ptr, size);
  if (report && p == 0 && ptr != 0) reallocReport(ptr);
  return p;
}

// kreallocSlow's body (its only caller).
@inline function kreallocIn(ptr: usize, size: usize): usize {
  setError(E_OK);
  if (ptr == 0) return reallocEdge(ptr, size);       // (two tests: one OR of two compares costs more)
  if (size == 0) return reallocEdge(ptr, size);
  // its medium region d: the pre-chunk region (a small heap's home) holds medium blocks only, so a pointer
  // there needs no descriptor (classify finds the same); else classify
  let d: usize;
  if (inPre(ptr)) d = PRE_LO - DESC_SIZE;
  else {
    const e = classify(ptr, false);                  // a medium block: its region, its header read below
    if (e != E_OK) { setError(e); return 0; }
    if (kKind != KIND_MEDIUM) return reallocOther(ptr, size);
    d = kHead;
  }
  const have = mediumLiveSize(d, ptr);               // its block size: a live block (else 0: why not)
  if (have == 0) { setError(mediumCheckIn(d, ptr)); return 0; }
  // Its block still holds a medium size with less than a free block to spare: nothing changes (a block
  // of over 4 KiB is no loan).
  if (size > MEDIUM_LOW && size <= MAX_REQUEST) {
    const want = mediumBlockSize(size);
    if (want <= have && have - want < MB_MIN) return ptr;
  }
  // the front's case (the TS layer's realloc of a pre-chunk block): its way, kreallocPre (one copy of the
  // front's split and grow, out of line: a second caller)
  if (d == PRE_LO - DESC_SIZE && size - (MEDIUM_LOW + 1) < MEDIUM_REALLOC_MAX - MEDIUM_LOW) return kreallocPre(ptr, size, have, false); // (kreallocSlow reports)
  return reallocMedium(d, ptr, size, have);
}

// krealloc of the live medium block at ptr (region d, `have` bytes: mediumLiveSize said so) that does not
// simply keep its block (its callers answered that): a loan stays its class's size (lend) while it fits
// as a class object would; another block asked for a medium size shrinks by a split, or grows into what
// follows it up to MEDIUM_REALLOC_MAX (mediumResizeIn; the header was checked: it need not check it
// again; `tried`: the front's mediumResizeIn said no already); else it moves (reallocMove).
function reallocMedium(d: usize, ptr: usize, size: usize, have: u32, tried: bool = false): usize {
  setError(E_OK);
  const usable = <usize>(have - MB_HDR);
  if (isLent(usable)) {
    if (size <= usable && (size > (usable >> 1) || usable < MB_MIN)) return ptr;
  } else if (!tried && (size - (MEDIUM_LOW + 1) < MEDIUM_REALLOC_MAX - MEDIUM_LOW || (size > MEDIUM_LOW && size <= usable)) &&
      mediumResizeIn(d, ptr, size, true)) return ptr;
  if (size > MAX_REQUEST) { setError(E_NOMEM); return 0; }
  kKind = KIND_MEDIUM;                               // (the pre-chunk region's block: as classify says)
  kHead = d;
  return reallocMove(ptr, size, usable);
}

// krealloc with ptr = 0 (malloc) or size = 0 (free). (kmallocSlow and kfreeSlow serve every size and
// pointer as kmalloc and kfree do, without another inlined copy of their fast paths: the bundle's budget.)
function reallocEdge(ptr: usize, size: usize): usize {
  if (ptr == 0) return kmallocSlow(size);
  const e = kfreeSlow(ptr);
  if (e != E_OK) setError(e);
  return 0;
}

// krealloc of a live block classify() found that is not a medium block: a class object, a large block, a run.
// (Inlined: a call here cost realloc-bal ~11 instructions per realloc of its large block. The block's
// usable size is read only where it is used: a large block kept in place needs none.)
@inline function reallocOther(ptr: usize, size: usize): usize {
  if (size > MAX_REQUEST) { setError(E_NOMEM); return 0; }
  if (kKind == KIND_LARGE) {
    // In place: the same pages, fewer (the rest go back), or more taken from the free run right after.
    if (size > KMALLOC_MAX) {
      const d = kHead;
      const keep = pagesFor(size);
      const had = <u32>changetype<PageDesc>(d).objects;
      if (keep == had) { changetype<PageDesc>(d).aux = <u32>size; return ptr; }
      if (keep < had) {
        pagesTrim(d, had, keep, true);
        changetype<PageDesc>(d).objects = <u16>keep;
        changetype<PageDesc>(d).aux = <u32>size;
        return ptr;
      }
      if (pagesExtend(d, had, keep, true)) { markLarge(d, had, keep, size); return ptr; }
    }
  } else if (kKind == KIND_SLAB) {
    // In place while the class still fits and is not more than twice too big (then a smaller class).
    const usable = usableOf(ptr);
    if (size <= usable && (size > (usable >> 1) || usable <= 16)) return ptr;
  } else {
    // a run: in place while its chunks hold it and more than half of them is used (runResize commits
    // the bytes it grows into; the engine refusing that falls through to a move, which fails too; its
    // usable bytes are read before)
    const usable = usableOf(ptr);
    const cap = runCapacity(load<u32>(kHead, CH_RUN_CHUNKS));
    if (size <= cap && size > (cap >> 1) && runResize(kHead, ptr, size)) return ptr;
    return reallocMove(ptr, size, usable);
  }
  return reallocMove(ptr, size, usableOf(ptr));
}

// krealloc's move: a new block, the live bytes copied, the old block freed (kKind / kHead: the old block,
// of `usable` bytes, as classify() found it). 0 with E_NOMEM when no memory (ptr unchanged).
function reallocMove(ptr: usize, size: usize, usable: usize): usize {
  // A class object that outgrows its class moves to a class at least REALLOC_GROWTH larger: a block
  // grown step by step (the usual realloc pattern) then moves O(log) times, not once per class.
  let want = size;
  if ((kKind == KIND_SLAB || (kKind == KIND_MEDIUM && isLent(usable))) && size > usable) {
    let grown = usable + (usable >> REALLOC_GROWTH_SHIFT);
    if (grown > KMALLOC_MAX) grown = KMALLOC_MAX;
    if (grown > want) want = grown;
  }
  // Copy the live bytes only: a large block or a run knows what was asked for, a class object does not.
  let live = usable;
  if (kKind == KIND_LARGE) live = <usize>changetype<PageDesc>(kHead).aux;
  else if (kKind == KIND_RUN) live = <usize>load<u32>(kHead, CH_RUN_BYTES);
  // A medium block that must move to grow becomes a page run: a run grows in place into the free pages
  // after it (pagesExtend), so a block grown step by step stops moving (realloc-bal: 60% → 80%).
  const q = kKind == KIND_MEDIUM && size > MEDIUM_REALLOC_MAX ? largeAlloc(want, PAGE_SIZE) : kmallocSlow(want);
  if (q == 0) return 0;
  memory.copy(q, ptr, size < live ? size : live);
  kfreeSlow(ptr);                                    // (as reallocEdge: no inlined fast path)
  return q;
}

// aligned_alloc(align, size): align must be a power of two. 0 with E_INVALID for a bad or unsupported
// alignment, E_NOMEM when memory runs out.
export function kmallocAligned(align: usize, size: usize): usize {
  if (align == 0 || (align & (align - 1)) != 0) { setError(E_INVALID); return 0; }
  if (align <= 8 || (align <= 16 && size > 8)) return kmalloc(size);
  if (size == 0) size = 1;
  // A class serves alignments its cache guarantees in every mode (red zones and in-use bitmaps move
  // objects, but keep them C_ALIGN-aligned): caches align to at most a page. Larger: the page allocator.
  if (size <= KMALLOC_MAX && align <= PAGE_SIZE && classFor(size) != KM_MEDIUM_SLOT) {
    let k = classFor(size);
    const nclasses = load<u32>(kmTable() + KM_NCLASSES);
    for (; k <= nclasses; k++) {
      const s = classSize(k);
      if (<usize>(s & (~s + 1)) >= align) break;   // a class whose objects all have this alignment
    }
    if (ASC_NO_ASSERT == false) assert(k <= nclasses); // the top class is a power of two ≥ align
    const c = classCache(k);
    if (c == 0) return 0;
    return cacheAlloc(c);
  }
  return largeAlloc(size, align);
}
