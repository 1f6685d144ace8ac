// cache.ts — kmem_cache: creating and sizing object caches; the heap's list of caches (destroy.ts
// unlinks).
//
// Owns: the cache header fields (C_*), the boot cache (the kmem_cache whose objects are kmem_caches) and
// the first value of kmalloc's class table (every slot names the boot cache: heapInit; kmalloc.ts fills it),
// the header cache slots (layout.ts: kmem_caches of the heap's own caches in the alignment gap in front
// of chunk 0, up to its next HEADER_SLOTS_ALIGN boundary; heapInit hands the rest of the gap to
// medium.ts mediumPreInit, the pre-chunk region), and the heap's cache list. Entry points: heapInit(), cacheCreate(), cacheCreateInternal()
// (the heap's own caches: sheaves, quarantine arrays, staging buffers), cacheSetGeometry() (kmalloc),
// calcOrder(), cacheRelease() (destroy.ts: a cache header's memory back), inHeaderSlot() (index.ts),
// smallHeap() and onOwnBlock() (sheaf.ts).
// Called by: index.ts, kmalloc.ts, sheaf.ts, debug.ts; destroy.ts unlinks and releases a cache header.
// Invariant: a kmem_cache is the boot cache, an allocated object of the boot cache, a header slot
// whose slotFree bit is clear, or (a small heap's own cache past the slots) the first cache-line
// boundary inside an own block of the medium heap (medium.ts mediumAllocOwn; the block's address in
// C_OWN_BLOCK, 0 in every other kmem_cache); only a cache created as the heap's own (F_INTERNAL, or kmalloc's
// classes: cacheCreate's heapOwned) takes a slot or an own block, so every user cache lies on a
// boot-cache slab page.
// Small heap (smallHeap(): the high-water mark within SMALL_HEAP_BYTES of chunk 0): the heap's own
// small objects — a kmem_cache past the header slots here, a kmalloc class's sheaf (sheaf.ts) — are own
// blocks of the medium heap when one fits there (no new region), instead of an object of an internal
// cache's slab: a page of kmem_caches (boot cache) or of sheaves (a sheaf cache) holding two or three
// objects was a whole page of a small heap's footprint (perl: 8 KiB of 114.8). onOwnBlock() tells a
// free where such an object came from (its page is a medium region's).
// Calls node.ts (a kmem_cache is one object of the boot cache: allocOne/freeOne), medium.ts (own blocks:
// mediumAllocOwn, mediumFreeOwn(ptr)), debugslot.ts (the slot
// sizes of debug caches), percpu.ts (the slot offset, the first CPU), report.ts, inuse.ts (which
// double-free mechanism a new cache gets: hardenFlags), slab.ts (the stride's inverse: setObjectDivisor),
// threads.ts (init).
// Threaded build (sync.ts THREADED): creating a cache holds the heap lock (the cache list and the id
// counter are shared); a shared heap's caches have one per-CPU slot more than CPUs (the parked slot,
// layout.ts "threads") and the thread block follows the boot cache; cacheAttach() gives a second
// instance its views of a heap another set up.
//
// Sizing (as SLUB's calculate_order): with n CPUs, aim for min_objects = 4 × (fls(n) + 1) objects per
// slab; take the smallest order ≤ MAX_SLAB_ORDER, starting at the order that holds min_objects, whose
// waste (bytes not covered by objects, an in-slab bitmap included) is at most 1/16 of the slab; failing
// that, accept 1/8, then 1/4, then anything.
import {
  C_ALIGN, C_ARRAY_CAP, C_BATCH, C_BITMAP_WORDS, C_FLAGS, C_HDR, C_ID, C_MAGIC, C_MIN_PARTIAL, C_NEXT,
  C_OBJ_OFFSET, C_OBJECTS, C_ORDER, C_PREV, C_RECIP, C_SIZE, C_STRIDE, CACHE_LINE, CACHE_MAGIC,
  CC_SIZE, CN_SIZE, E_BAD_CACHE, E_BUSY, E_INVALID, E_NOMEM, E_OK, F_INTERNAL,
  H_BOOT, H_CACHE_BYTES, H_CACHE_HEAD, H_CPU_NODE, H_CPU_OFF, H_KMALLOC, H_NCACHES, H_NCPUS, H_NEXT_CACHE_ID,
  KM_CACHES, KM_SLOTS,
  H_NNODES, INLINE_BITMAP_OBJECTS, MAX_CPUS, MAX_NODES, MAX_SLAB_ORDER, PAGE_SIZE, CN_NR_PARTIAL,
  CN_NR_FULL, CN_NR_EMPTY, CN_PARTIAL, CN_FULL, CN_EMPTY, D_INUSE, D_NEXT, H_LAST_ERROR, H_EMPTY_SHEAF,
  MAX_OBJECT_SIZE, MAX_ARRAY_CAP, F_DEBUG_MASK, F_USER_MASK, C_DEBUG_OFF, C_TRACK_OFF, C_SLAB_MASK, C_INUSE_OFF,
  C_QUAR_COUNT, F_INUSE, C_SELF, H_SLOTS, H_SLOT_COUNT, H_SLOT_FREE, MAX_HEADER_CACHES,
  H_HIGH_WATER, K_MEDIUM, K_MEDIUM_TAIL, C_OWN_BLOCK, MB_GRAIN, HEADER_SLOTS_ALIGN,
} from "./layout";
import { CpuSlot, PageDesc } from "./structs";
import { CHUNK_BASE, HEAP, alignUp, arenaInit, inPre, pageOf } from "./arena";
import { mediumAllocOwn, mediumFreeOwn, mediumPreInit } from "./medium";
import { allocOne, freeOne } from "./node";
import { setObjectDivisor } from "./slab";
import { currentNode, emptySheaf, pinCpu, setCpuOff, slotOf } from "./percpu";
import { setError } from "./report";
import { hardenFlags } from "./inuse";
import { THREADED, heapLock, heapUnlock, setCpu } from "./sync";
import { MAX_SHARED_CPUS, THREAD_BYTES } from "./layout";
import { threadsInit } from "./threads";
import { debugFlags, debugLead, debugStride, debugTrackOff } from "./debugslot";

export let BOOT: usize = 0;

function fls(x: u32): u32 {
  return 32 - <u32>clz(x);
}

// Bytes of header + per-node + per-CPU areas of one kmem_cache for this topology.
function cacheBytes(nnodes: u32, ncpus: u32): u32 {
  return cpuOffset(nnodes) + ncpus * CC_SIZE;
}

function cpuOffset(nnodes: u32): u32 {
  return <u32>alignUp(C_HDR + nnodes * CN_SIZE, CACHE_LINE);
}

// Per-CPU slots of every cache: one per CPU, plus the parked slot in a shared heap.
@inline function cpuSlots(ncpus: u32): u32 {
  return THREADED ? ncpus + 1 : ncpus;
}

// Bytes needed in front of chunk 0: the heap header with the boot cache at its end (and, in a shared
// heap, the thread block after it, 64-aligned).
export function headerBytes(nnodes: u32, ncpus: u32): u32 {
  const b = H_BOOT + cacheBytes(nnodes, cpuSlots(ncpus));
  return THREADED ? <u32>alignUp(b, CACHE_LINE) + THREAD_BYTES : b;
}

// Objects a slab of `order` holds at `stride` bytes each, an in-slab bitmap (when > 64 objects) and an
// in-use bitmap (`inuse`, F_INUSE: inuse.ts) included; writes the object offset and bitmap words into
// the cache header. `lead` (a debug cache's left red zone, debug.ts) is the object's offset inside its
// slot: slots start after the bitmaps, and C_OBJ_OFFSET = slot 0 + lead.
function layoutSlab(cache: usize, order: u32, stride: u32, align: u32, lead: u32, inuse: bool): u32 {
  const slab = PAGE_SIZE << order;
  let objects = slab / stride;
  let off: u32 = 0;
  let freeBytes: u32 = 0;
  if (objects > INLINE_BITMAP_OBJECTS || inuse) {
    // The bitmaps take the front of the slab; shrink until objects and bitmaps all fit.
    for (;;) {
      const words = (objects + 63) >> 6;
      freeBytes = objects > INLINE_BITMAP_OBJECTS ? words << 3 : 0;
      off = <u32>alignUp(freeBytes + (inuse ? words << 3 : 0), align);
      if (off + objects * stride <= slab) break;
      objects--;
    }
  }
  if (cache != 0) {
    store<u32>(cache, objects, C_OBJECTS);
    store<u32>(cache, off + lead, C_OBJ_OFFSET);
    store<u32>(cache, (objects + 63) >> 6, C_BITMAP_WORDS);
    store<u32>(cache, freeBytes, C_INUSE_OFF);
  }
  return objects;
}

function wasteOk(order: u32, stride: u32, align: u32, fraction: u32, inuse: bool): bool {
  const slab = PAGE_SIZE << order;
  const objects = layoutSlab(0, order, stride, align, 0, inuse);
  return objects > 0 && slab - objects * stride <= slab / fraction;
}

export function calcOrder(stride: u32, align: u32, ncpus: u32, inuse: bool = false, minObjectsWanted: u32 = 0, firstFraction: u32 = 16): u32 {
  let minObjects: u32 = minObjectsWanted != 0 ? minObjectsWanted : 4 * (fls(ncpus) + 1);
  const maxObjects = (PAGE_SIZE << MAX_SLAB_ORDER) / stride;
  if (minObjects > maxObjects) minObjects = maxObjects;
  let minOrder: u32 = 0;
  while (minOrder < MAX_SLAB_ORDER && (PAGE_SIZE << minOrder) < minObjects * stride) minOrder++;
  for (let fraction = firstFraction; fraction >= 4; fraction >>= 1) {
    for (let order = minOrder; order <= MAX_SLAB_ORDER; order++) {
      if (wasteOk(order, stride, align, fraction, inuse)) return order;
    }
  }
  for (let order: u32 = 0; order <= MAX_SLAB_ORDER; order++) {
    if (layoutSlab(0, order, stride, align, 0, inuse) > 0) return order;
  }
  return MAX_SLAB_ORDER;
}

// Choose the slab order of cache c again, for at least `minObjects` objects per slab (SLUB's
// slub_min_objects knob: kmalloc's classes ask for fewer than the default, so that a class holding few
// objects takes fewer pages), accepting up to 1/`maxWaste` of a slab unused before a larger order (16 as
// SLUB; kmalloc's classes accept more for smaller slabs), and keep at most 2 × `minPartial` empty slabs
// per node. Only for a cache that has no slab yet (right after it was created).
export function cacheSetGeometry(c: usize, minObjects: u32, minPartial: u32, maxWaste: u32 = 16): void {
  const stride = load<u32>(c, C_STRIDE);
  const align = load<u32>(c, C_ALIGN);
  const inuse = (load<u32>(c, C_FLAGS) & F_INUSE) != 0;
  const order = calcOrder(stride, align, load<u32>(HEAP, H_NCPUS), inuse, minObjects, maxWaste);
  store<u32>(c, order, C_ORDER);
  layoutSlab(c, order, stride, align, load<u32>(c, C_DEBUG_OFF), inuse);
  store<u32>(c, (PAGE_SIZE << order) - 1, C_SLAB_MASK);
  store<u32>(c, minPartial, C_MIN_PARTIAL);
}

// SLUB's min_partial: ilog2(size) / 2, clamped to [5, 10].
function minPartial(size: u32): u32 {
  const m = (fls(size) - 1) >> 1;
  return m < 5 ? 5 : m > 10 ? 10 : m;
}

// Fill a cache header in place. Returns E_OK or E_INVALID.
function setupCache(c: usize, size: u32, align: u32, flags: u32, arrayCap: u32): i32 {
  if (align == 0) align = 8;
  if (size == 0 || size > MAX_OBJECT_SIZE || popcnt(align) != 1 || align > PAGE_SIZE) return E_INVALID;
  const ncpus = load<u32>(HEAP, H_NCPUS);
  const debug = (flags & F_DEBUG_MASK) != 0;                // debug.ts: slot layout drawn in layout.ts
  const inuse = (flags & F_INUSE) != 0;
  const stride = debug ? debugStride(size, align, flags) : <u32>alignUp(size < 8 ? 8 : size, align);
  const lead = debug ? debugLead(align, flags) : 0;
  const order = calcOrder(stride, align, ncpus, inuse);
  store<u32>(c, CACHE_MAGIC, C_MAGIC);
  store<u32>(c, <u32>c, C_SELF);                        // index.ts knownCache
  const id = load<u32>(HEAP, H_NEXT_CACHE_ID);
  store<u32>(HEAP, id + 1, H_NEXT_CACHE_ID);
  store<u32>(c, id, C_ID);
  store<u32>(c, size, C_SIZE);
  store<u32>(c, stride, C_STRIDE);
  store<u32>(c, align, C_ALIGN);
  store<u32>(c, flags, C_FLAGS);
  store<u32>(c, order, C_ORDER);
  layoutSlab(c, order, stride, align, lead, inuse);
  store<u32>(c, lead, C_DEBUG_OFF);
  store<u32>(c, debug ? debugTrackOff(size, flags) : 0, C_TRACK_OFF);
  store<u32>(c, (PAGE_SIZE << order) - 1, C_SLAB_MASK);
  store<u32>(c, <u32>((<u64>1 << 32) / stride + 1), C_RECIP);
  setObjectDivisor(c, stride);                          // slab.ts: the free fast path's object-start test
  store<u32>(c, minPartial(size), C_MIN_PARTIAL);
  store<u32>(c, arrayCap, C_ARRAY_CAP);
  store<u32>(c, arrayCap == 0 ? 1 : (arrayCap + 1) >> 1, C_BATCH);
  const empty = <u32>emptySheaf();
  for (let cpu: u32 = 0; cpu < cpuSlots(ncpus); cpu++) {
    const slot = slotOf(c, cpu);
    changetype<CpuSlot>(slot).main = empty;
    changetype<CpuSlot>(slot).spare = empty;
    for (let n: u32 = 0; n < MAX_NODES; n++) store<u32>(changetype<CpuSlot>(slot).alienAt(n), 0);
  }
  // link into the heap's list (tail), so walks see creation order
  let last = <usize>load<u32>(HEAP, H_CACHE_HEAD);
  if (last == 0) store<u32>(HEAP, <u32>c, H_CACHE_HEAD);
  else {
    while (load<u32>(last, C_NEXT) != 0) last = <usize>load<u32>(last, C_NEXT);
    store<u32>(last, <u32>c, C_NEXT);
  }
  store<u32>(c, <u32>last, C_PREV);
  store<u32>(c, 0, C_NEXT);
  store<u32>(HEAP, load<u32>(HEAP, H_NCACHES) + 1, H_NCACHES);
  return E_OK;
}

// Set up a heap over memory from `heapBase`. cpuNodes: 0 → CPU c is on node c / cpusPerNode.
// preRegion false: no pre-chunk region (the gap past the header cache slots stays unused; node 0's medium
// heap starts in a chunk, as every other node's): the specs that study a chunk region's own mechanics.
export function heapInit(heapBase: usize, nodes: u32, cpusPerNode: u32, maxBytes: u64, preRegion: bool = true): i32 {
  if (nodes == 0 || nodes > MAX_NODES || cpusPerNode == 0 || nodes * cpusPerNode > MAX_CPUS) return E_INVALID;
  if (THREADED && nodes * cpusPerNode > MAX_SHARED_CPUS) return E_INVALID;
  const ncpus = nodes * cpusPerNode;
  if (!arenaInit(heapBase, headerBytes(nodes, ncpus), maxBytes)) return E_NOMEM;
  store<u32>(HEAP, nodes, H_NNODES);
  store<u32>(HEAP, ncpus, H_NCPUS);
  for (let c: u32 = 0; c < ncpus; c++) store<u8>(HEAP + H_CPU_NODE + c, <u8>(c / cpusPerNode));
  const bytes = cacheBytes(nodes, cpuSlots(ncpus));
  store<u32>(HEAP, bytes, H_CACHE_BYTES);
  store<u32>(HEAP, cpuOffset(nodes), H_CPU_OFF);
  setCpuOff(cpuOffset(nodes));
  setCpu(0);
  pinCpu(0);
  BOOT = HEAP + H_BOOT;
  store<u32>(HEAP, <u32>BOOT, H_BOOT);
  // kmalloc's class table: every class reads as the boot cache until kmalloc.ts gives it a cache of its
  // own (its arrays are always empty: malloc's fast path misses into its slow path; layout.ts "kmalloc")
  for (let k: u32 = 0; k < KM_SLOTS; k++) store<u32>(HEAP + H_KMALLOC + KM_CACHES + (<usize>k << 2), <u32>BOOT);
  const e = setupCache(BOOT, bytes, CACHE_LINE, F_INTERNAL, 0);
  if (THREADED) {
    if (e == E_OK) threadsInit(<usize>alignUp(BOOT + bytes, CACHE_LINE)); // parks this instance
  }
  // The header cache slots: the room behind the header up to the next HEADER_SLOTS_ALIGN boundary (at
  // most chunkBase); the rest of the gap in front of chunk 0 is the pre-chunk medium region.
  const slots = alignUp(HEAP + headerBytes(nodes, ncpus), CACHE_LINE);
  let limit = alignUp(slots, HEADER_SLOTS_ALIGN);
  if (limit > CHUNK_BASE) limit = CHUNK_BASE;
  let count = slots < limit ? <u32>((limit - slots) / bytes) : 0;
  if (count > MAX_HEADER_CACHES) count = MAX_HEADER_CACHES;
  store<u32>(HEAP, count != 0 ? <u32>slots : 0, H_SLOTS);
  store<u32>(HEAP, count, H_SLOT_COUNT);
  store<u32>(HEAP, count == 32 ? 0xffffffff : (<u32>1 << count) - 1, H_SLOT_FREE);
  if (e == E_OK && preRegion) mediumPreInit(slots + <usize>count * bytes);
  return e;
}

// Is c a header cache slot (free or taken)? Arithmetic only: the slots are H_CACHE_BYTES apart.
export function inHeaderSlot(c: usize): bool {
  const first = <usize>load<u32>(HEAP, H_SLOTS);
  const bytes = <usize>load<u32>(HEAP, H_CACHE_BYTES);
  return c >= first && c < first + <usize>load<u32>(HEAP, H_SLOT_COUNT) * bytes && (c - first) % bytes == 0;
}

// A heap is small while the end of the highest block it ever handed out lies within this many bytes of
// chunk 0's start: its own small objects may then be own blocks of the medium heap (above). Every trace
// under 64 KiB live stays well inside; a large heap keeps its internal caches' slabs (its medium heap
// holds only malloc's blocks, and a page of kmem_caches or sheaves is a small part of it).
const SMALL_HEAP_BYTES: usize = 256 << 10;
// (Threads: a plain read of the mark; a stale one only moves the switch by the blocks since.)
export function smallHeap(): bool {
  return <usize>load<u32>(HEAP, H_HIGH_WATER) < CHUNK_BASE + SMALL_HEAP_BYTES;
}

// Is p (a live object of the heap's own: a kmem_cache, a sheaf) on a medium region's page or in the
// pre-chunk region, so an own block (mediumAllocOwn)? Arithmetic and at most one byte loaded.
export function onOwnBlock(p: usize): bool {
  if (inPre(p)) return true;                                    // the pre-chunk region (no chunk descriptor)
  const k = changetype<PageDesc>(pageOf(p)).kind;
  return k == K_MEDIUM || k == K_MEDIUM_TAIL;
}

// The own block of the kmem_cache cacheMemory returned last (0: none); createWith keeps it in C_OWN_BLOCK.
let ownBlock: usize = 0;

// Memory for one kmem_cache: a free header slot for the heap's own caches while one is left, then in a
// small heap an own block of the medium heap when one fits there (the cache at its first cache-line
// boundary, as every kmem_cache: a block 48 bytes larger, medium blocks being 16-aligned; ownBlock says
// where the block starts), else an object of the boot cache. 0 when there is no memory. Heap lock held
// (the medium heap's lock nests inside it: medium.ts Locking).
function cacheMemory(heapOwned: bool): usize {
  ownBlock = 0;
  const free = load<u32>(HEAP, H_SLOT_FREE);
  if (heapOwned && free != 0) {
    const i = <u32>ctz(free);
    store<u32>(HEAP, free & ~(<u32>1 << i), H_SLOT_FREE);
    return <usize>load<u32>(HEAP, H_SLOTS) + <usize>i * <usize>load<u32>(HEAP, H_CACHE_BYTES);
  }
  if (heapOwned && smallHeap()) {
    const m = mediumAllocOwn(currentNode, <usize>(load<u32>(HEAP, H_CACHE_BYTES) + CACHE_LINE - MB_GRAIN));
    if (m != 0) {
      ownBlock = m;
      return alignUp(m, CACHE_LINE);
    }
  }
  return allocOne(BOOT, 0xffffffff);
}

// Give back the memory of kmem_cache c (destroy.ts, after unlinking it; or a failed creation). Heap lock held.
export function cacheRelease(c: usize): void {
  if (inHeaderSlot(c)) {
    const i = <u32>((c - <usize>load<u32>(HEAP, H_SLOTS)) / <usize>load<u32>(HEAP, H_CACHE_BYTES));
    store<u32>(HEAP, load<u32>(HEAP, H_SLOT_FREE) | (<u32>1 << i), H_SLOT_FREE);
  } else if (onOwnBlock(c)) {
    const e = mediumFreeOwn(<usize>load<u32>(c, C_OWN_BLOCK));
    if (ASC_NO_ASSERT == false) assert(e == E_OK);             // an own block (cacheMemory)
  } else freeOne(BOOT, c);
}

// A second instance over a heap set up by another (threads-ops.ts attach): the per-instance views only.
export function cacheAttach(): void {
  BOOT = HEAP + H_BOOT;
  setCpuOff(load<u32>(HEAP, H_CPU_OFF));
}

// Default per-CPU array capacity by object size. SLAB's enable_cpucache starts from ≥4096 B: 4,
// ≥1024: 12, ≥256: 26, else 60. bench/capacity.mjs (2 CPUs, bursty alloc/free) shows hits and lock
// traffic flatten near those values for small objects, but for 4 KiB objects 4 leaves 86 lock
// acquisitions per 1000 operations where 8 leaves 34, for 12% more parked memory: so 8 there.
export function defaultArrayCap(size: u32): u32 {
  return size >= 4096 ? 8 : size >= 1024 ? 12 : size >= 256 ? 26 : 60;
}

// Create a cache. arrayCap = DEFAULT_CAP picks the capacity from the object size. 0 and an error code
// when the options are invalid or there is no memory. heapOwned: a cache the heap makes for itself that
// will be flagged internal (kmalloc.ts's classes): its kmem_cache may take a header slot.
export const DEFAULT_CAP: u32 = 0xffffffff;
export function cacheCreate(size: u32, align: u32, flags: u32, arrayCap: u32, heapOwned: bool = false): usize {
  if (arrayCap != DEFAULT_CAP && arrayCap > MAX_ARRAY_CAP) { setError(E_INVALID); return 0; }
  if ((flags & ~F_USER_MASK) != 0) { setError(E_INVALID); return 0; }
  if (arrayCap == DEFAULT_CAP) arrayCap = defaultArrayCap(size);
  flags = debugFlags(size, align, flags);                // heap-wide debug defaults, flag conflicts
  flags = hardenFlags(flags);                            // double-free hardening: free key or in-use bits
  if ((flags & F_DEBUG_MASK) != 0) arrayCap = 0;       // debug caches take the slow path, as the kernel's
  return createWith(size, align, flags, arrayCap, heapOwned);
}

// The heap's own caches (sheaves, quarantine, staging): no arrays unless asked, flagged internal.
export function cacheCreateInternal(size: u32): usize {
  return createWith(size, 0, F_INTERNAL, 0, true);
}

// Under the heap lock: the cache list, the id counter and the header slots are shared by every instance.
function createWith(size: u32, align: u32, flags: u32, arrayCap: u32, heapOwned: bool): usize {
  heapLock();
  const c = cacheMemory(heapOwned);
  if (c == 0) { heapUnlock(); setError(E_NOMEM); return 0; }
  memory.fill(c, 0, load<u32>(HEAP, H_CACHE_BYTES));
  store<u32>(c, <u32>ownBlock, C_OWN_BLOCK);            // (0 but for an own block: cacheRelease)
  const e = setupCache(c, size, align, flags, arrayCap);
  if (e != E_OK) {
    cacheRelease(c);
    heapUnlock();
    setError(e);
    return 0;
  }
  heapUnlock();
  return c;
}
